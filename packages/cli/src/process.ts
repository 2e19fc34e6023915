import type { Report } from "@leakscope/core";
import { vmCounterParts } from "@leakscope/format";
import { addr, bytesHuman, dec, hex, table } from "./text.js";

type ProcessSection = NonNullable<Report["process"]>;

/**
 * The `process` section as text, printed at the top of `info` (`detail`: every table) and
 * `analyze` (the triage and one line per kind). Empty when the report has no such section.
 */
export function renderProcess(report: Report, options: { detail: boolean }): string {
  const p = report.process;
  if (!p) return report.diff?.process ? renderProcessDiff(report.diff.process) : "";
  const out: string[] = [triage(p)];
  const c = p.composition;
  out.push(
    `Memory:   ${dec(c.regions)} regions (${c.source === "memory-info-list" ? "MemoryInfoList" : "captured ranges only"}); committed ${hex(c.committed)} bytes (${bytesHuman(c.committed)}): ` +
      `image ${hex(c.committedByType.image)}, mapped ${hex(c.committedByType.mapped)}, private ${hex(c.committedByType.private)}; reserved ${hex(c.reserved)}`,
  );
  const heaps = c.heaps.filter((h) => h.allocations > 0);
  if (heaps.length > 0) {
    const hc = heaps.reduce((s, h) => s + h.committed, 0);
    out.push(
      `Heaps:    ${bytesHuman(hc)} committed in ${heaps.length} heap(s), ${pct(hc, c.committedByType.private + c.committedByType.mapped)} of private+mapped: ` +
        heaps.map((h) => `${h.heap}${h.label ? ` (${h.label})` : ""} ${bytesHuman(h.committed)}`).join(", "),
    );
  }
  if (c.vmCounters) out.push(`Counters: ${vmCounterParts(c.vmCounters).join(", ")}`);
  if (c.systemMemory) {
    const s = c.systemMemory;
    out.push(
      `System:   commit ${bytesHuman(s.committedBytes ?? 0)} of ${bytesHuman(s.commitLimitBytes ?? 0)} limit, physical ${bytesHuman(s.physicalBytes ?? 0)} (${bytesHuman(s.availableBytes ?? 0)} available), ${s.processors ?? 0} processors`,
    );
  }
  const h = p.handles;
  out.push(
    h.source === "none"
      ? "Handles:  not in the dump (no HandleData stream)"
      : `Handles:  ${dec(h.total)} (${h.source})${h.byType.length ? `: ${h.byType.map((t) => `${t.type} ${dec(t.count)}`).join(", ")}` : ""}`,
  );
  out.push(`GDI:      ${p.gdi.status === "present" ? `${dec(p.gdi.total)} objects${p.gdi.byType.length ? `: ${p.gdi.byType.map((t) => `${t.type} ${dec(t.count)}`).join(", ")}` : ""} (quota ${dec(p.gdi.quota)})` : p.gdi.note}`);
  const g = p.threads.groups[0];
  out.push(`Threads:  ${dec(p.threads.count)}${g ? `; largest group ${dec(g.count)} started at ${g.start}, at ${g.top}` : ""}`);
  let text = `${out.join("\n")}\n`;
  if (!options.detail) return `${text}\n`;

  const rows = (list: ProcessSection["composition"]["usage"]) =>
    list.map((r) => [r.name, dec(r.regions), hex(r.bytes), hex(r.committed), r.percent.toFixed(2)]);
  const cols = (first: string, pctLabel: string) => [
    { header: first, align: "left" as const },
    { header: "Regions (dec)" },
    { header: "Size (hex)" },
    { header: "Committed (hex)" },
    { header: pctLabel },
  ];
  text += `\nUsage summary (like !address -summary):\n${table(cols("Usage", "%Busy"), rows(c.usage))}`;
  text += `\nType summary:\n${table(cols("Type", "%Busy"), rows(c.type))}`;
  text += `\nState summary:\n${table(cols("State", "%Total"), rows(c.state))}`;
  if (c.protect.length > 0) text += `\nProtect summary (committed):\n${table(cols("Protect", "%Committed"), rows(c.protect))}`;
  if (c.heaps.length > 0) {
    text += `\nHeaps:\n${table(
      [
        { header: "Heap" },
        { header: "Label", align: "left" },
        { header: "Allocs (dec)" },
        { header: "Committed (hex)" },
        { header: "Reserved (hex)" },
        { header: "Busy (hex)" },
        { header: "Free (hex)" },
        { header: "Overhead (hex)" },
      ],
      c.heaps.map((x) => [
        addr(x.heap),
        x.label ?? "",
        dec(x.allocations),
        hex(x.committed),
        hex(x.reserved),
        x.busy !== undefined ? hex(x.busy) : "",
        x.free !== undefined ? hex(x.free) : "",
        x.overhead !== undefined ? hex(x.overhead) : "",
      ]),
    )}`;
  }
  if (c.privateGroups.length > 0) {
    text += `\nPrivate allocations in no heap, stack or TEB, by size:\n${table(
      [{ header: "Size (hex)" }, { header: "Count (dec)" }, { header: "Committed (hex)" }, { header: "Bases", align: "left" }, { header: "Pointed at from", align: "left" }],
      c.privateGroups.map((r) => [hex(r.size), dec(r.count), hex(r.committed), r.samples.join(" "), r.referrers.join(", ")]),
    )}`;
  }
  if (h.byType.length > 0) {
    text += `\nHandles by type:\n${table(
      [{ header: "Type", align: "left" }, { header: "Count (dec)" }, { header: "HandleCount (dec)" }, { header: "PointerCount (dec)" }, { header: "Typical", align: "left" }],
      h.byType.map((t) => [t.type, dec(t.count), dec(t.handleCount), dec(t.pointerCount), t.typical !== undefined ? `above ${dec(t.typical)}` : ""]),
    )}`;
  }
  if (h.names.length > 0) {
    text += `\nMost repeated handle names:\n${table(
      [{ header: "Count (dec)" }, { header: "Type", align: "left" }, { header: "Name", align: "left" }],
      h.names.map((n) => [dec(n.count), n.type, n.name]),
    )}`;
  }
  if (p.threads.groups.length > 1 || (g && g.count > 1)) {
    text += `\nThreads by start address and top frames:\n${table(
      [{ header: "Count (dec)" }, { header: "Start", align: "left" }, { header: "Top frames", align: "left" }],
      p.threads.groups.map((x) => [dec(x.count), x.start, x.top]),
    )}`;
  }
  const notes = [...c.notes, ...h.notes, ...p.threads.notes];
  if (notes.length > 0) text += `\n${notes.map((n) => `Note: ${n}`).join("\n")}\n`;
  return `${text}\n`;
}

function pct(part: number, whole: number): string {
  return whole > 0 ? `${((part / whole) * 100).toFixed(1)}%` : "0%";
}

function triage(p: ProcessSection): string {
  const lines = ["Which kind of leak:"];
  for (const r of p.triage) {
    lines.push(`  ${r.abnormal ? "!" : " "} ${r.kind.padEnd(14)} ${r.text}`);
    if (r.abnormal) lines.push(`    ${" ".repeat(14)} next: ${r.nextStep}`);
  }
  return lines.join("\n");
}

/** `diff`: the process figures that changed, before the heap growth rows. */
function renderProcessDiff(rows: NonNullable<NonNullable<Report["diff"]>["process"]>): string {
  if (rows.length === 0) return "Process figures (memory, handles, GDI objects, threads): unchanged.\n\n";
  // memory in bytes (hex), the others counts (decimal)
  const num = (r: (typeof rows)[number], n: number): string => (r.kind === "memory" ? hex(n) : dec(n));
  return `Process figures that changed (memory in hex bytes, the others in decimal counts):\n${table(
    [{ header: "Figure", align: "left" }, { header: "Before" }, { header: "After" }, { header: "Delta" }],
    rows.map((r) => [r.key, num(r, r.before), num(r, r.after), `${r.delta > 0 ? "+" : ""}${num(r, r.delta)}`]),
  )}\n`;
}
