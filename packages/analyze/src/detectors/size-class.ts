import { type Evidence, callSiteOf, formatAddress } from "@leakscope/core";
import {
  type AnalysisContext,
  type AnalysisDetector,
  EVIDENCE_FLOORS,
  causeKey,
  classKey,
  countRamp,
  heapAddress,
  hex,
  pct,
  ramp,
  stackFrames,
} from "./context.js";

/** Most a size class's share of the process can give on its own: below "worth a look". */
export const DOMINANCE_MAX = 0.2;

/**
 * Keys and card facts a size class shares with its dominant stack and type: a class whose blocks
 * mostly (half or more) come from one stack or are one C++ type is linked to that stack or type,
 * so the combiner shows them on one card.
 */
export function classLinks(ctx: AnalysisContext, heap: number, size: number, count: number): Pick<Evidence, "keys" | "stack" | "callSite" | "typeName"> & { notes: string[] } {
  const key = classKey(heap, size);
  const out: ReturnType<typeof classLinks> = { keys: [causeKey.sizeClass(heapAddress(ctx.run, heap), size)], notes: [] };
  const dom = ctx.dominantStack.get(key);
  if (dom && ctx.traces && dom.count * 2 >= count) {
    const frames = stackFrames(ctx.traces, dom.stack);
    const site = callSiteOf(frames);
    out.keys.push(causeKey.stack(dom.stack));
    out.stack = frames;
    if (site) out.callSite = site.text;
    out.notes.push(
      dom.count === count
        ? `All of them were allocated by the same stack${site ? ` (${site.text})` : ""}.`
        : `${dom.count} of the ${count} blocks were allocated by the same stack${site ? ` (${site.text})` : ""}.`,
    );
  }
  const ty = ctx.dominantType.get(key);
  if (ty && ty.count * 2 >= count) {
    out.keys.push(causeKey.type(ty.type.name));
    out.typeName = ty.type.name;
    out.notes.push(`${pct(ty.count, count)}% of them are C++ objects of ${ty.type.name} (vtable ${formatAddress(ty.type.vtable)} in ${ty.type.module}).`);
  }
  return out;
}

/**
 * Size-class dominance (the heart of `!heap -stat`): busy blocks of one requested size in one
 * heap holding a share of the process above the floors. Strength: 0.2 × ramp(share of the
 * process's busy bytes, 1% → 50%) × (0.5 + 0.5 × ramp(log2 count, 16 → 256 blocks)).
 */
export const sizeClassDetector: AnalysisDetector = {
  name: "size-class",
  detect(run, ctx, sink) {
    const total = ctx.table.busy.bytes;
    if (total <= 0) return;
    for (const cls of ctx.table.classes) {
      const share = cls.bytes / total;
      if (cls.count < EVIDENCE_FLOORS.minBlocks || share < EVIDENCE_FLOORS.minShare) continue;
      const heapBusy = ctx.table.heapBusy[cls.heap]?.bytes ?? 0;
      const heap = heapAddress(run, cls.heap);
      const links = classLinks(ctx, cls.heap, cls.size, cls.count);
      const src = ctx.sources.get(classKey(cls.heap, cls.size));
      const text =
        `${cls.count} busy blocks of requested size ${hex(cls.size)} hold ${hex(cls.bytes)} bytes: ${pct(cls.bytes, heapBusy)}% of the busy bytes of heap ${heap}` +
        ` and ${pct(cls.bytes, total)}% of all busy bytes${src ? ` (figures from the input's ${src})` : ""}.`;
      const e: Evidence = {
        detector: "size-class",
        signal: "dominance",
        keys: links.keys,
        strength: DOMINANCE_MAX * ramp(share, EVIDENCE_FLOORS.minShare, 0.5) * (0.5 + 0.5 * countRamp(cls.count)),
        count: cls.count,
        bytes: cls.bytes,
        text: [text, ...links.notes].join(" "),
        leakKind: "heap",
        heap,
        size: cls.size,
        samples: cls.samples.slice(0, 5).map((i) => formatAddress(run.allocations.userAddress(i))),
      };
      if (links.stack) e.stack = links.stack;
      if (links.callSite) e.callSite = links.callSite;
      if (links.typeName) e.typeName = links.typeName;
      if (!links.stack && ctx.traces && run.target.kind === "text") {
        // Logs often hold the `!heap -p -a` of one block from another session of the same program.
        const alt = ctx.stackBySize.get(cls.size);
        if (alt) {
          const frames = stackFrames(ctx.traces, alt.stack);
          const site = callSiteOf(frames);
          e.stack = frames;
          if (site) e.callSite = site.text;
          e.text += ` The log's stack for block ${formatAddress(alt.address)} of the same size in heap ${heapAddress(run, alt.heap)} shows where such blocks are allocated${site ? ` (${site.text})` : ""}.`;
        }
      }
      sink.add(e);
    }
  },
};
