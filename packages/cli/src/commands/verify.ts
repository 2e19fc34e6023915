import { Command } from "@commander-js/extra-typings";
import { AllocFlags, EXIT_FINDINGS, UsageError, formatAddress, isUserAllocation } from "@leakscope/core";
import { RttiResolver } from "@leakscope/analyze";
import { type FoundAllocation, formatVerifyResult, parseManifest, verifyManifest } from "@leakscope/groundtruth";
import { buildTraceTable } from "@leakscope/stacks";
import { readFileSync } from "node:fs";
import type { CommandContext } from "../context.js";
import { jsonOption, symbolsOption } from "../options.js";

export function verifyCommand(ctx: CommandContext) {
  return new Command("verify")
    .description("check leakscope against a ground-truth manifest written by tools/groundtruth (gtalloc)")
    .argument("<dump>", "the dump gtalloc wrote")
    .argument("<manifest>", "its manifest.json")
    .addOption(jsonOption())
    .option("--require-stacks", "fail allocations whose expected top frame is missing")
    .option("--require-types", "fail objects whose C++ type is not recovered")
    .option("--verbose", "also list passing allocations with notes")
    .addOption(symbolsOption())
    .action(async (file, manifestPath, flags) => {
      let text: string;
      try {
        text = readFileSync(manifestPath, "utf8");
      } catch (e) {
        throw new UsageError(`cannot read manifest ${manifestPath}: ${(e as Error).message}`);
      }
      const manifest = parseManifest(text, manifestPath);
      let result: ReturnType<typeof verifyManifest> | undefined;
      const report = await ctx.execute({ file, depth: "walk", command: "verify", symbols: flags.symbols }, (r, run) => {
        const want = manifest.pointerSize === 8 ? 64 : 32;
        const view = run.target.views.find((v) => v.bitness === want) ?? run.target.views.at(-1);
        const traces = run.data.traces ?? (run.target.kind === "user" ? buildTraceTable(run) : undefined);
        const rtti = new Map<unknown, RttiResolver>();
        const set = run.allocations;
        const found: FoundAllocation[] = [];
        for (let i = 0; i < set.count; i++) {
          const f = set.flags(i);
          if (!isUserAllocation(f)) continue;
          const heap = run.heaps[set.heap(i)];
          if (!heap) continue;
          let resolver = rtti.get(heap.view);
          if (!resolver) rtti.set(heap.view, (resolver = new RttiResolver(heap.view.space, heap.view.modules.length ? heap.view.modules : run.target.modules)));
          const sid = traces?.stackOf[i] ?? -1;
          const stack = traces && sid >= 0 ? traces.stacks[sid]!.frames.map((a, k) => traces.stacks[sid]!.text?.[k]?.text ?? formatAddress(a)) : undefined;
          const type = set.requestedSize(i) >= heap.view.space.pointerSize ? resolver.typeOfObject(set.userAddress(i)) : undefined;
          found.push({
            userAddress: set.userAddress(i),
            requestedSize: set.requestedSize(i),
            busy: true,
            heapAddress: heap.address,
            sizeInexact: (f & AllocFlags.SIZE_INEXACT) !== 0,
            ...(stack ? { stack } : {}),
            ...(type ? { typeName: type.name } : {}),
          });
        }
        result = verifyManifest(manifest, found, {
          ...(view ? { space: view.space } : {}),
          requireStacks: flags.requireStacks === true,
          requireTypes: flags.requireTypes === true,
        });
        return {
          ...r,
          verify: {
            ok: result.ok,
            label: result.label,
            summary: result.summary,
            failures: result.allocations
              .filter((c) => c.status === "fail")
              .slice(0, 1000)
              .map((c) => ({ address: c.expected.address, size: c.expected.size, differences: c.differences.map((d) => ({ code: d.code, field: d.field, expected: d.expected, actual: d.actual })) })),
          },
        };
      });
      if (result && !result.ok) ctx.setExitCode(EXIT_FINDINGS);
      ctx.emit(report, flags, () => (result ? formatVerifyResult(result, { verbose: flags.verbose === true }) : ""));
    });
}
