import type { Report } from "@leakscope/core";
import { addr, bytesHuman, dec, hex, table } from "./text.js";
import { renderProcess } from "./process.js";
import { archText, countsLine, driverSummary, factLines, memoryText, osText, threadNote, unloadedSection } from "./info-text.js";

function diagnosticsFooter(report: Report): string {
  const d = report.diagnostics;
  if (d.length === 0) return "";
  const lines = d.slice(0, 20).map((x) => {
    const where = x.location?.address ?? (x.location?.fileOffset !== undefined ? `file+0x${x.location.fileOffset.toString(16)}` : x.location?.where ?? "");
    return `  ${x.severity.padEnd(7)} ${x.code}${where ? ` @ ${where}` : ""}: ${x.message}`;
  });
  if (d.length > 20) lines.push(`  ... ${d.length - 20} more (use --json for all)`);
  return `\nDiagnostics (${d.length}):\n${lines.join("\n")}\n`;
}

export function renderInfo(report: Report, options: { modules?: boolean } = {}): string {
  const t = report.target;
  if (!t) return diagnosticsFooter(report);
  const out: string[] = [
    `Input:    ${report.input.path} (${bytesHuman(report.input.size)})`,
    `Kind:     ${t.kind} (${t.format})`,
    `Arch:     ${archText(t)}`,
    `OS:       ${osText(t)}`,
    ...factLines(t),
    `Memory:   ${memoryText(t)}`,
    countsLine(t),
  ];
  for (const v of t.views) {
    out.push(`View:     ${v.bitness}-bit ${v.role}${v.peb ? `, PEB ${v.peb}` : ""}${v.tebs.length ? `, TEB ${v.tebs.slice(0, 4).join(" ")}${v.tebs.length > 4 ? " ..." : ""}` : ""}`);
  }
  let text = `${renderProcess(report, { detail: true })}${out.join("\n")}\n`;
  const drivers = driverSummary(t, options.modules === true);
  if (drivers) text += drivers;
  else if (t.modules && t.modules.length > 0) {
    text += `\nModules:\n${table(
      [{ header: "Base" }, { header: "Size (hex)" }, { header: "Bits" }, { header: "Version", align: "left" }, { header: "Path", align: "left" }],
      t.modules.map((m) => [addr(m.base), hex(m.size), String(m.bitness), m.version ?? "", m.path]),
    )}`;
  }
  if (t.threads && t.threads.length > 0) {
    text += `\nThreads:\n${table(
      [{ header: "Id (hex)" }, { header: "TEB" }, { header: "Stack (base+size, hex)" }, { header: "IP", align: "left" }, { header: "", align: "left" }],
      t.threads.map((th) => [hex(th.id), addr(th.teb), `${addr(th.stack.address)}+${hex(th.stack.size)}`, th.ip ? addr(th.ip) : "", threadNote(t, th.id, th.name)]),
    )}`;
  }
  text += unloadedSection(t);
  return text + diagnosticsFooter(report);
}

/** `!heap -s`-like table. */
export function renderHeaps(report: Report): string {
  const heaps = report.heaps ?? [];
  if (heaps.length === 0) return `No heaps found.\n${diagnosticsFooter(report)}`;
  // Columns only a `!heap -s` table prints (logs): shown when some heap has them.
  const logColumns = heaps.some((h) => typeof h.summary.freeListLength === "number" || typeof h.summary.lockContention === "number");
  const rows = heaps.map((h) => {
    const s = h.summary;
    const num = (k: string): string => (typeof s[k] === "number" ? dec(s[k] as number) : "");
    return [
      addr(h.address),
      String(h.bitness),
      h.kind,
      h.flags ? addr(h.flags) : "",
      hex(h.reserved),
      hex(h.committed),
      dec(h.busy.count),
      hex(h.busy.bytes),
      dec(h.free.count),
      // A log's `!heap -s` prints the free KB of heaps whose free blocks it does not list.
      h.free.bytes === 0 && typeof s.freeK === "number" ? hex(s.freeK * 1024) : hex(h.free.bytes),
      num("ucrs"),
      num("virtualBlocks"),
      ...(logColumns
        ? [typeof s.virtualK === "number" ? hex(s.virtualK * 1024) : "", num("freeListLength"), typeof s.lockContention === "number" ? hex(s.lockContention) : ""]
        : []),
      s.lfh === true ? "LFH" : typeof s.fastHeap === "string" ? s.fastHeap : "",
      h.foundBy.join(",") + (h.incomplete ? " (incomplete)" : ""),
    ];
  });
  return (
    table(
      [
        { header: "Heap" },
        { header: "Bits" },
        { header: "Kind", align: "left" },
        { header: "Flags" },
        { header: "Reserved (hex)" },
        { header: "Committed (hex)" },
        { header: "Busy (dec)" },
        { header: "Busy bytes (hex)" },
        { header: "Free (dec)" },
        { header: "Free bytes (hex)" },
        { header: "UCRs (dec)" },
        { header: "Virtual (dec)" },
        ...(logColumns ? [{ header: "Virtual bytes (hex)" }, { header: "List (dec)" }, { header: "Lock (hex)" }] : []),
        { header: "Fast", align: "left" },
        { header: "Found by", align: "left" },
      ],
      rows,
    ) +
    "Busy = live user allocations (LFH blocks counted, their host blocks not); busy bytes are requested bytes.\n" +
    diagnosticsFooter(report)
  );
}

export function renderBlocks(report: Report): string {
  const b = report.blocks;
  if (!b) return diagnosticsFooter(report);
  const rows = b.rows.map((r) => [
    addr(r.heap),
    addr(r.entry),
    addr(r.user),
    hex(r.blockSize),
    hex(r.requestedSize),
    r.state,
    r.flags.join(","),
  ]);
  return (
    table(
      [
        { header: "Heap" },
        { header: "Entry" },
        { header: "UserPtr" },
        { header: "Size (hex)" },
        { header: "UserSize (hex)" },
        { header: "State", align: "left" },
        { header: "Kind", align: "left" },
      ],
      rows,
    ) +
    `${dec(b.total)} block(s)${b.truncated ? `, first ${dec(b.rows.length)} shown (--limit)` : ""}. UserSize is the requested size.\n` +
    diagnosticsFooter(report)
  );
}

export function renderStat(report: Report): string {
  const s = report.stat;
  if (!s) return diagnosticsFooter(report);
  const head = ` heap @ ${s.heap ?? "all heaps"}\ngroup-by: requested size, top ${dec(s.rows.length)}; ${dec(s.busy.count)} busy blocks, ${hex(s.busy.bytes)} bytes\n`;
  return (
    head +
    table(
      [{ header: "size (hex)" }, { header: "blocks (dec)" }, { header: "total bytes (hex)" }, { header: "% of busy bytes" }],
      s.rows.map((r) => [hex(r.size), dec(r.count), hex(r.total), r.percent.toFixed(2)]),
      "    ",
    ) +
    diagnosticsFooter(report)
  );
}

export function renderBlock(report: Report): string {
  const b = report.block;
  if (!b) return diagnosticsFooter(report);
  if (!b.found || !b.block) return `No heap block contains ${b.query}.\n${diagnosticsFooter(report)}`;
  const rowsOf = (r: NonNullable<typeof b.block>, label: string): string[] => [
    label,
    addr(r.entry),
    addr(r.user),
    addr(r.heap),
    hex(r.blockSize),
    hex(r.requestedSize),
    r.state + (r.flags.length ? ` ${r.flags.join(",")}` : ""),
  ];
  const rows = [rowsOf(b.block, "block")];
  if (b.host) rows.push(rowsOf(b.host, "host"));
  let text = table(
    [
      { header: "", align: "left" },
      { header: "Entry" },
      { header: "User" },
      { header: "Heap" },
      { header: "Size (hex)" },
      { header: "UserSize (hex)" },
      { header: "State", align: "left" },
    ],
    rows,
  );
  if (b.stack && b.stack.length > 0) {
    text += `\nAllocation stack:\n${b.stack.map((f) => `    ${addr(f.address)} ${f.text}`).join("\n")}\n`;
  } else if (b.stackNote) {
    text += `\n${b.stackNote}\n`;
  }
  return text + diagnosticsFooter(report);
}

export function renderStacks(report: Report): string {
  const s = report.stacks;
  if (!s) return diagnosticsFooter(report);
  if (s.status !== "present") return `No allocation stacks: ${s.note}\n${diagnosticsFooter(report)}`;
  const out: string[] = [`${dec(s.distinct)} distinct stacks; largest first.`, ""];
  for (const g of s.groups) {
    // UMDH records of a log have no sizes, samples or return addresses: say only what is known.
    const sizes = g.sizes.length > 0 ? `, sizes ${g.sizes.map(hex).join(" ")}` : "";
    const samples = g.samples.length > 0 ? `; e.g. ${g.samples.join(" ")}` : "";
    out.push(`${dec(g.count)} allocations, ${hex(g.bytes)} bytes${sizes}${samples}`);
    for (const f of g.frames) out.push(`    ${(f.address === "0x0" ? "" : addr(f.address)).padStart(18)} ${f.text}`);
    out.push("");
  }
  return out.join("\n") + diagnosticsFooter(report);
}
