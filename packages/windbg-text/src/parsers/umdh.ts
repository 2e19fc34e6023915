import type { StackFrame, UmdhDiffBlock, UmdhLogBlock } from "../model.js";
import { addr, type BlockInput, Ctx, dec, MAX_FRAMES, num, parseFrame } from "../util.js";

const DIFF_ROW = /^\s*([+-])\s*([0-9a-f]+)\s*\(\s*([0-9a-f]+)\s*-\s*([0-9a-f]+)\s*\)\s*(?:([0-9a-f]+)\s+allocs)?\s*BackTrace([0-9a-f]+)\s*$/i;
const DIFF_COUNT = /^\s*([+-])\s*([0-9a-f]+)\s*\(\s*([0-9a-f]+)\s*-\s*([0-9a-f]+)\s*\)\s*BackTrace([0-9a-f]+)\s+allocations\s*$/i;
const RESOLVED = /^\s*([0-9a-f]+) bytes in (0x[0-9a-f]+|\d+) allocations\s*(?:\(@\s*([0-9a-fx`]+)\))?\s*by:\s*BackTrace([0-9a-f]+)\s*$/i;
const ALLOC = /^\s*([0-9a-f]+) bytes \+ ([0-9a-f]+) at ([0-9a-f`]+) by BackTrace([0-9a-f]+)\s*$/i;

/** True when the lines look like UMDH comparison output rather than a raw snapshot log. */
export function looksLikeUmdhDiff(lines: readonly string[]): boolean {
  for (const l of lines.slice(0, 2000)) {
    if (DIFF_ROW.test(l) || RESOLVED.test(l) || /^\s*Total (increase|decrease) ==/i.test(l)) return true;
    if (ALLOC.test(l) || /^\/\/ UMDH:/.test(l)) return false;
  }
  return false;
}

const UMDH_LEGEND = /^\s*(\*- - -|REQUESTED bytes \+ OVERHEAD|STACK if not already dumped|\/\/)/i;

/** A raw UMDH snapshot log. */
export function parseUmdhLog(input: BlockInput, ctx: Ctx): UmdhLogBlock {
  const out: UmdhLogBlock = { ...ctx.base(input), kind: "umdhLog", header: {}, modules: [], heaps: [], allocations: [], stacks: {} };
  let heap = Number.NaN;
  let stack: StackFrame[] | undefined;
  let afterDbghelp = false;
  let m: RegExpExecArray | null;
  for (let i = 0; i < input.lines.length; i++) {
    const text = input.lines[i] ?? "";
    const line = input.first + i;
    if ((m = /^\/\/ UMDH: version (\S+): Logtime (.+?) - Machine=(\S+) - PID=(\d+)/.exec(text))) {
      out.header = { version: m[1] ?? "", logTime: m[2] ?? "", machine: m[3] ?? "", pid: dec(m[4]) };
      continue;
    }
    if ((m = /^\/\/ OS version (\S+)/.exec(text))) {
      out.header.osVersion = m[1] ?? "";
      continue;
    }
    if ((m = /^\/\/\s+([0-9a-f]+)\s+([0-9a-f]+)\s+(\S.*?)\s*$/i.exec(text))) {
      out.modules.push({ base: addr(m[1]), size: num(m[2]), path: m[3] ?? "", line });
      continue;
    }
    if ((m = /Start of data for heap @ ([0-9a-f`]+)/i.exec(text))) {
      heap = addr(m[1]);
      out.heaps.push({ address: heap, line });
      stack = undefined;
      continue;
    }
    if ((m = ALLOC.exec(text))) {
      const id = m[4] ?? "";
      out.allocations.push({ requested: num(m[1]), overhead: num(m[2]), address: addr(m[3]), backtraceId: id, heap, line });
      if (out.stacks[id] === undefined) {
        stack = [];
        out.stacks[id] = stack;
      } else stack = undefined;
      continue;
    }
    if (UMDH_LEGEND.test(text)) {
      afterDbghelp = false;
      continue;
    }
    if (/^DBGHELP:/.test(text)) {
      afterDbghelp = true;
      ctx.note(line, "debugger", text);
      continue;
    }
    if (afterDbghelp && /^\s+\S+\.pdb\s*$/i.test(text)) {
      ctx.note(line, "debugger", text);
      continue;
    }
    if (/^\s*$/.test(text)) continue;
    const f = /^\s/.test(text) ? parseFrame(text) : undefined;
    if (f && stack) {
      if (stack.length < MAX_FRAMES) stack.push(f);
      continue;
    }
    if (!ctx.noise(line, text)) ctx.unparsed(line, text);
  }
  out.elided = ctx.elided;
  return out;
}

/**
 * Radix of a comparison's figures: `umdh -d` prints decimals. Decimal when the command says
 * `-d`, or when no figure holds a hex letter and the rows add up in decimal but not in hex.
 */
function diffRadix(input: BlockInput): 10 | 16 {
  if (/(^|\s)[-/]d(\s|$)/i.test(input.args)) return 10;
  let hexOk = true;
  let decOk = true;
  let rows = 0;
  for (const l of input.lines) {
    const m = DIFF_ROW.exec(l);
    if (!m) continue;
    if (/[a-f]/i.test(`${m[2]}${m[3]}${m[4]}${m[5] ?? ""}`)) return 16;
    rows++;
    if (num(m[3]) - num(m[4]) !== num(m[2])) hexOk = false;
    if (dec(m[3]) - dec(m[4]) !== dec(m[2])) decOk = false;
  }
  return rows > 0 && decOk && !hexOk ? 10 : 16;
}

/** UMDH comparison output (`umdh log1 log2`, `umdh -v log`) and resolved records. */
export function parseUmdhDiff(input: BlockInput, ctx: Ctx): UmdhDiffBlock {
  const out: UmdhDiffBlock = { ...ctx.base(input), kind: "umdhDiff", records: [], resolved: [], stacks: {} };
  let stack: StackFrame[] | undefined;
  let m: RegExpExecArray | null;
  const radix = diffRadix(input);
  for (let i = 0; i < input.lines.length; i++) {
    const text = input.lines[i] ?? "";
    const line = input.first + i;
    if ((m = DIFF_ROW.exec(text))) {
      const sign = m[1] === "-" ? -1 : 1;
      const r: UmdhDiffBlock["records"][number] = { bytesDelta: sign * num(m[2], radix), newBytes: num(m[3], radix), oldBytes: num(m[4], radix), backtraceId: m[6] ?? "", line };
      if (m[5] !== undefined) r.allocs = num(m[5], radix);
      if (r.newBytes - r.oldBytes !== r.bytesDelta) ctx.report("WINDBG_TEXT_INCONSISTENT", line, "UMDH record: new - old != delta");
      out.records.push(r);
      stack = out.stacks[r.backtraceId] ??= [];
      continue;
    }
    if ((m = DIFF_COUNT.exec(text))) {
      const id = m[5] ?? "";
      const r = out.records.findLast((x) => x.backtraceId === id);
      if (r) {
        r.countDelta = (m[1] === "-" ? -1 : 1) * num(m[2], radix);
        r.newCount = num(m[3], radix);
        r.oldCount = num(m[4], radix);
      } else ctx.unparsed(line, text);
      continue;
    }
    if ((m = /^\s*Total (increase|decrease) ==\s*([0-9a-f]+)/i.exec(text))) {
      if (m[1] === "increase") out.totalIncrease = num(m[2], radix);
      else out.totalDecrease = num(m[2], radix);
      continue;
    }
    if ((m = RESOLVED.exec(text))) {
      const s: StackFrame[] = [];
      const rec: UmdhDiffBlock["resolved"][number] = { bytes: num(m[1]), count: num(m[2]), backtraceId: m[4] ?? "", stack: s, line };
      if (m[3] !== undefined) rec.at = addr(m[3]);
      out.resolved.push(rec);
      stack = s;
      continue;
    }
    if (/^\s*$/.test(text)) continue;
    if (/^\s*\/\//.test(text)) {
      ctx.note(line, "legend", text);
      continue;
    }
    const f = parseFrame(text);
    if (f && stack) {
      if (stack.length < MAX_FRAMES) stack.push(f);
      continue;
    }
    if (!ctx.noise(line, text)) ctx.unparsed(line, text);
  }
  out.elided = ctx.elided;
  return out;
}
