import type { HeapDetailBlock, HeapRangeRow, HeapStatBlock, HeapSummaryBlock, NtHeapSummary } from "../model.js";
import { addr, type BlockInput, Ctx, dec, num } from "../util.js";

const A = "([0-9a-f`]{6,17})";
const NT_ROW = new RegExp(
  `^\\s*${A}\\s+([0-9a-f]{8})\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+([0-9a-f]+)(?:\\s+(LFH|L))?\\s*$`,
  "i",
);
const NT_ROW_PREFIX = new RegExp(`^\\s*${A}\\s+([0-9a-f]{8})(\\s+\\d+){1,7}\\s*$`, "i");
const SEG_ROW = new RegExp(`^\\s*${A}\\s+(ddeeddee)\\s+([0-9a-f]+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s*$`, "i");
const SUMMARY_LEGEND =
  /^\s*(-{5,}|\*{5,}|NT HEAP STATS BELOW|Heap\s+Flags\s+Reserv|\(k\)\s+\(k\)|Process\s+Total|Global\s+Heap\s+Reserved|Heap Address\s+Signature|Index\s+\(K\)|Affinity manager status|- (Virtual affinity limit|Current entries in use|Statistics:)|SEGMENT HEAP ERROR|NtGlobalFlag enables)/i;

/** `!heap -s` without `-h`. */
export function parseHeapSummary(input: BlockInput, ctx: Ctx): HeapSummaryBlock {
  const out: Omit<HeapSummaryBlock, keyof ReturnType<Ctx["base"]>> & { kind: "heapSummary" } = {
    kind: "heapSummary",
    debuggingAids: [],
    virtualBlocks: [],
    heaps: [],
    segmentHeaps: [],
  };
  let inAids = false;
  let last: NtHeapSummary | undefined;
  for (let i = 0; i < input.lines.length; i++) {
    const text = input.lines[i] ?? "";
    const line = input.first + i;
    if (inAids) {
      if (/^\s{2,}\S/.test(text) && !NT_ROW.test(text) && !/:/.test(text)) {
        out.debuggingAids.push(text.trim());
        continue;
      }
      inAids = false;
    }
    let m: RegExpExecArray | null;
    if ((m = NT_ROW.exec(text))) {
      last = {
        address: addr(m[1]),
        flags: num(m[2]),
        reservedK: dec(m[3]),
        committedK: dec(m[4]),
        virtualK: dec(m[5]),
        freeK: dec(m[6]),
        listLength: dec(m[7]),
        ucrs: dec(m[8]),
        virtualBlocks: dec(m[9]),
        lockContention: num(m[10]),
        fastHeap: m[11] ?? "",
        lfh: m[11] === "LFH",
        line,
      };
      out.heaps.push(last);
      continue;
    }
    if ((m = SEG_ROW.exec(text))) {
      out.segmentHeaps.push({
        address: addr(m[1]),
        signature: num(m[2]),
        globalFlags: num(m[3]),
        processHeapListIndex: dec(m[4]),
        reservedK: dec(m[5]),
        committedK: dec(m[6]),
        line,
      });
      continue;
    }
    if ((m = /^\s*External fragmentation\s+(\d+)\s*%\s*\((\d+) free blocks\)/i.exec(text))) {
      if (last) last.externalFragmentation = { percent: dec(m[1]), freeBlocks: dec(m[2]) };
      else ctx.unparsed(line, text);
      continue;
    }
    if ((m = /^\s*LFH Key\s*:\s*(\S+)/i.exec(text))) {
      out.lfhKey = m[1] ?? "";
      continue;
    }
    if ((m = /^\s*Termination on corruption\s*:\s*(ENABLED|DISABLED)/i.exec(text))) {
      out.terminationOnCorruption = (m[1] ?? "").toUpperCase() as "ENABLED" | "DISABLED";
      continue;
    }
    if ((m = /^\s*Virtual block:\s*([0-9a-f`]+)\s*-\s*([0-9a-f`]+)\s*\(size\s+([0-9a-f]+)\)/i.exec(text))) {
      out.virtualBlocks.push({ address: addr(m[1]), end: addr(m[2]), size: num(m[3]), line });
      continue;
    }
    if (/^\s*NtGlobalFlag enables/i.test(text)) {
      inAids = true;
      ctx.note(line, "legend", text);
      continue;
    }
    if (SUMMARY_LEGEND.test(text)) {
      ctx.note(line, "legend", text);
      continue;
    }
    if (ctx.noise(line, text)) continue;
    if (NT_ROW_PREFIX.test(text)) {
      ctx.report("WINDBG_TEXT_TRUNCATED_ROW", line, `!heap -s row ends early: ${text.trim()}`);
      continue;
    }
    ctx.unparsed(line, text);
  }
  return { ...ctx.base(input), ...out };
}

function rangeNumbers(m: RegExpExecArray, from: number): Omit<HeapRangeRow, "from" | "to" | "line"> {
  return {
    defaultBusy: dec(m[from]),
    defaultFree: dec(m[from + 1]),
    frontBusy: dec(m[from + 2]),
    frontFree: dec(m[from + 3]),
    unusedTotal: dec(m[from + 4]),
    unusedAverage: dec(m[from + 5]),
  };
}

/** `!heap -s -h <heap>` (the detail view). */
export function parseHeapDetail(input: BlockInput, ctx: Ctx): HeapDetailBlock {
  const out: HeapDetailBlock = { ...ctx.base(input), kind: "heapDetail", heap: Number.NaN, flags: Number.NaN, flagNames: [], ranges: [] };
  let m: RegExpExecArray | null;
  for (let i = 0; i < input.lines.length; i++) {
    const text = input.lines[i] ?? "";
    const line = input.first + i;
    if ((m = /^\s*\d+:\s*Heap\s+([0-9a-f`]+)\s*$/i.exec(text))) out.heap = addr(m[1]);
    else if ((m = /^\s*Flags\s+([0-9a-f]{8})\s*-?\s*(.*)$/i.exec(text))) {
      out.flags = num(m[1]);
      out.flagNames = (m[2] ?? "").split(/[\s|]+/).filter((s) => s !== "");
    } else if ((m = /^\s*Reserved memory in segments\s+(\d+)\s*\(k\)/i.exec(text))) out.reservedK = dec(m[1]);
    else if ((m = /^\s*Commit+ed memory in segments\s+(\d+)\s*\(k\)/i.exec(text))) out.committedK = dec(m[1]);
    else if ((m = /^\s*Virtual bytes \(correction for large UCR\)\s+(\d+)\s*\(k\)/i.exec(text))) out.virtualK = dec(m[1]);
    else if ((m = /^\s*Free space\s+(\d+)\s*\(k\)\s*\((\d+) blocks\)/i.exec(text))) {
      out.freeK = dec(m[1]);
      out.freeBlocks = dec(m[2]);
    } else if ((m = /^\s*External fragmentation\s+(\d+)\s*%/i.exec(text))) out.externalFragmentationPercent = dec(m[1]);
    else if ((m = /^\s*Virtual address fragmentation\s+(\d+)\s*%\s*\((\d+) uncommit+ed ranges\)/i.exec(text))) {
      out.virtualAddressFragmentationPercent = dec(m[1]);
      out.uncommittedRanges = dec(m[2]);
    } else if ((m = /^\s*Virtual blocks\s+(\d+)\s*-\s*total\s+(\d+)\s*KBytes/i.exec(text))) {
      out.virtualBlocks = dec(m[1]);
      out.virtualBlocksK = dec(m[2]);
    } else if ((m = /^\s*Lock contention\s+(\d+)/i.exec(text))) out.lockContention = dec(m[1]);
    else if ((m = /^\s*Segments\s+(\d+)\s*$/i.exec(text))) out.segments = dec(m[1]);
    else if ((m = /^\s*Low fragmentation heap\s+([0-9a-f`]+)/i.exec(text))) out.lfh = { address: addr(m[1]), blockCache: [], buckets: [] };
    else if ((m = /^\s*Metadata usage\s+(\d+)\s*bytes/i.exec(text)) && out.lfh) out.lfh.metadataUsageBytes = dec(m[1]);
    else if ((m = /^\s*Segments (created|deleted|reused)\s+(\d+)/i.exec(text)) && out.lfh) {
      const v = dec(m[2]);
      if (m[1] === "created") out.lfh.segmentsCreated = v;
      else if (m[1] === "deleted") out.lfh.segmentsDeleted = v;
      else out.lfh.segmentsReused = v;
    } else if ((m = /^\s*(\d+):\s+(\d+) bytes \(\s*(\d+),\s*(\d+)\)\s*$/.exec(text)) && out.lfh) {
      out.lfh.blockCache.push({ index: dec(m[1]), size: dec(m[2]), first: dec(m[3]), second: dec(m[4]), line });
    } else if ((m = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+\(([\d,\s-]*)\)\s*$/.exec(text)) && out.lfh) {
      const distribution: [number, number][] = [];
      for (const pair of (m[6] ?? "").split(",")) {
        const p = /^\s*(\d+)-(\d+)\s*$/.exec(pair);
        if (p && distribution.length < 64) distribution.push([dec(p[1]), dec(p[2])]);
      }
      out.lfh.buckets.push({ size: dec(m[1]), blocks: dec(m[2]), segments: dec(m[3]), empty: dec(m[4]), affinity: dec(m[5]), distribution, line });
    } else if ((m = /^\s*(\d+)\s*-\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$/.exec(text))) {
      out.ranges.push({ from: dec(m[1]), to: dec(m[2]), ...rangeNumbers(m, 3), line });
    } else if ((m = /^\s*Total\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$/.exec(text))) {
      out.rangeTotal = { ...rangeNumbers(m, 1), line };
    } else if (
      /^\s*(-{5,}\s*$|Statistics:|Block cache:|Buckets info:|Size\s+Blocks\s+Seg|Default heap\s+Front heap|Range \(bytes\)\s+Busy)/i.test(text)
    )
      ctx.note(line, "legend", text);
    else if (!ctx.noise(line, text)) ctx.unparsed(line, text);
  }
  out.elided = ctx.elided;
  return out;
}

const STAT_ROW = /^\s*([0-9a-f]+)\s+([0-9a-f]+)\s+-\s+([0-9a-f]+)\s+\(\s*([\d.]+)\s*\)\s*$/i;

/** `!heap -stat [-h heap]`. */
export function parseHeapStat(input: BlockInput, ctx: Ctx): HeapStatBlock {
  const out: HeapStatBlock = { ...ctx.base(input), kind: "heapStat", tables: [] };
  let table: HeapStatBlock["tables"][number] | undefined;
  // A table pasted without its `heap @` line belongs to the heap the command names (`-h <heap>`, not `-h 0`).
  const named = /(?:^|\s)-h\s+([0-9a-f`x]+)/i.exec(input.args);
  const commandHeap = named && addr(named[1]) !== 0 ? addr(named[1]) : Number.NaN;
  let m: RegExpExecArray | null;
  const lines = input.lines;
  for (let i = 0; i < lines.length; i++) {
    let text = lines[i] ?? "";
    const line = input.first + i;
    if ((m = /^\s*heap @ ([0-9a-f`]+)\s*$/i.exec(text))) {
      table = { heap: addr(m[1]), groups: [], line };
      out.tables.push(table);
      continue;
    }
    if ((m = /^\s*group-by:\s*(\S+)\s+max-display:\s*(\d+)/i.exec(text))) {
      if (!table) {
        table = { heap: commandHeap, groups: [], line };
        out.tables.push(table);
      }
      table.groupBy = m[1] ?? "";
      table.maxDisplay = dec(m[2]);
      continue;
    }
    if (/^\s*(Allocations statistics for|size\s+#blocks\s+total)/i.test(text)) {
      ctx.note(line, "legend", text);
      continue;
    }
    m = STAT_ROW.exec(text);
    // A row wrapped onto the next line.
    if (!m && i + 1 < lines.length && /^\s*[0-9a-f]+\s+[0-9a-f]+\s*(-\s*)?([0-9a-f]+\s*)?$/i.test(text)) {
      const joined = text + " " + (lines[i + 1] ?? "");
      const j = STAT_ROW.exec(joined);
      if (j) {
        m = j;
        text = joined;
        i++;
      }
    }
    if (m) {
      if (!table) {
        table = { heap: commandHeap, groups: [], line };
        out.tables.push(table);
      }
      const g = { size: num(m[1]), count: num(m[2]), total: num(m[3]), percent: Number(m[4]), line };
      if (g.size * g.count !== g.total) ctx.report("WINDBG_TEXT_INCONSISTENT", line, `!heap -stat row: 0x${m[1]} x 0x${m[2]} != 0x${m[3]}`);
      table.groups.push(g);
      continue;
    }
    if (ctx.noise(line, text)) continue;
    if (/^\s*[0-9a-f]+\s+[0-9a-f]+(\s+-)?\s*$/i.test(text)) {
      ctx.report("WINDBG_TEXT_TRUNCATED_ROW", line, `!heap -stat row ends early: ${text.trim()}`);
      continue;
    }
    ctx.unparsed(line, text);
  }
  out.elided = ctx.elided;
  return out;
}
