import type { PoolmonBlock, PoolmonRow, PoolTagRow, PoolUsedBlock } from "../model.js";
import { type BlockInput, Ctx, dec } from "../util.js";

function describe(row: { description: string; binary?: string; unknownTag: boolean }, text: string): void {
  const d = text.replace(/\s+$/, "").trim();
  const b = /^(.*?)\s*, Binary:\s*(.*)$/.exec(d);
  if (b) {
    row.description = (b[1] ?? "").trim();
    row.binary = (b[2] ?? "").trim();
  } else row.description = d;
  row.unknownTag = /^UNKNOWN pooltag '/.test(d);
}

/**
 * Old kdexts row numbers (`" %-4s %8d %8d %9d %8d%s"`, description glued to the last number):
 * read field by field, each field ending a fixed width after the previous one, so a description
 * that starts with digits stays out of the number and a row one column short still parses.
 */
function oldNumbers(rest: string): { values: number[]; description: string } | undefined {
  const widths = [9, 9, 10, 9];
  const values: number[] = [];
  let pos = 0;
  for (let k = 0; k < 4; k++) {
    const m = /^( *)(\d+)/.exec(rest.slice(pos));
    if (!m) return undefined;
    const spaces = (m[1] ?? "").length;
    let digits = (m[2] ?? "").length;
    if (k === 3) {
      const expected = Math.max(1, (widths[k] ?? 9) - Math.max(1, spaces));
      if (digits > expected) digits = expected;
    }
    values.push(dec((m[2] ?? "").slice(0, digits)));
    pos += spaces + digits;
  }
  return { values, description: rest.slice(pos) };
}

/** `!poolused [flags] [tag]`, old and modern layouts, verbose or not. */
export function parsePoolUsed(input: BlockInput, ctx: Ctx): PoolUsedBlock {
  const argv = input.args.split(" ").filter((s) => s !== "");
  const flags = argv[0] !== undefined && /^\d+$/.test(argv[0]) ? dec(argv[0]) : 0;
  const out: PoolUsedBlock = { ...ctx.base(input), kind: "poolUsed", flags, layout: "modern", verbose: (flags & 1) !== 0, rows: [] };
  const tagArg = argv[0] !== undefined && /^\d+$/.test(argv[0]) ? argv[1] : argv[0];
  if (tagArg !== undefined) out.tagFilter = tagArg;
  let tagCol = 1;
  let oldLayout = false;
  let m: RegExpExecArray | null;
  for (let i = 0; i < input.lines.length; i++) {
    const text = input.lines[i] ?? "";
    const line = input.first + i;
    if ((m = /^\s*Sorting by\s+(.*?)\s*$/i.exec(text))) {
      const s = (m[1] ?? "").toLowerCase();
      out.sortedBy = s === "tag" ? "tag" : s.startsWith("nonpaged") ? "nonpaged" : s.startsWith("paged") ? "paged" : "other";
      if (/Sorting by {2}Tag/.test(text)) oldLayout = true;
      ctx.note(line, "legend", text);
      continue;
    }
    if (/^\s*Pool Used:\s*$/i.test(text)) {
      oldLayout = true;
      ctx.note(line, "legend", text);
      continue;
    }
    if (/^\s*NonPaged\s+Paged\s*$/i.test(text)) {
      ctx.note(line, "legend", text);
      continue;
    }
    if ((m = /^(\s*)Tag\s+Allocs\s+(Frees\s+Diff\s+)?Used/i.exec(text))) {
      tagCol = (m[1] ?? "").length;
      out.verbose = m[2] !== undefined;
      if (/^\s*Tag {4}Allocs {5}Used/.test(text)) oldLayout = true;
      ctx.note(line, "legend", text);
      continue;
    }
    if ((m = /^\s*TOTAL((?:\s+\d+)+)\s*$/.exec(text))) {
      const v = (m[1] ?? "").trim().split(/\s+/).map(dec);
      if (v.length === 8)
        out.total = {
          nonPagedAllocs: v[0] ?? 0, nonPagedFrees: v[1] ?? 0, nonPagedDiff: v[2] ?? 0, nonPagedBytes: v[3] ?? 0,
          pagedAllocs: v[4] ?? 0, pagedFrees: v[5] ?? 0, pagedDiff: v[6] ?? 0, pagedBytes: v[7] ?? 0, line,
        };
      else if (v.length === 4) out.total = { nonPagedAllocs: v[0] ?? 0, nonPagedBytes: v[1] ?? 0, pagedAllocs: v[2] ?? 0, pagedBytes: v[3] ?? 0, line };
      else ctx.unparsed(line, text);
      continue;
    }
    if (ctx.noise(line, text)) continue;
    // A data row: the tag takes 4 columns at the header's Tag column.
    if (text.length >= tagCol + 5 && /^\s*$/.test(text.slice(0, tagCol))) {
      const tag = text.slice(tagCol, tagCol + 4);
      const rest = text.slice(tagCol + 4);
      const row: PoolTagRow = { tag, nonPagedAllocs: 0, nonPagedBytes: 0, pagedAllocs: 0, pagedBytes: 0, description: "", unknownTag: false, line };
      const tab = rest.indexOf("\t");
      const numeric = tab >= 0 ? rest.slice(0, tab) : rest;
      const tokens = numeric.trim().split(/\s+/);
      const allDigits = tokens.every((t) => /^\d+$/.test(t));
      if (out.verbose && allDigits && tokens.length === 8) {
        const v = tokens.map(dec);
        row.nonPagedAllocs = v[0] ?? 0;
        row.nonPagedFrees = v[1] ?? 0;
        row.nonPagedDiff = v[2] ?? 0;
        row.nonPagedBytes = v[3] ?? 0;
        row.pagedAllocs = v[4] ?? 0;
        row.pagedFrees = v[5] ?? 0;
        row.pagedDiff = v[6] ?? 0;
        row.pagedBytes = v[7] ?? 0;
        if (tab >= 0) describe(row, rest.slice(tab + 1));
        out.rows.push(row);
        continue;
      }
      if (!out.verbose && tab >= 0 && allDigits && tokens.length === 4) {
        const v = tokens.map(dec);
        [row.nonPagedAllocs, row.nonPagedBytes, row.pagedAllocs, row.pagedBytes] = [v[0] ?? 0, v[1] ?? 0, v[2] ?? 0, v[3] ?? 0];
        describe(row, rest.slice(tab + 1));
        out.rows.push(row);
        continue;
      }
      if (!out.verbose && tab < 0) {
        const o = oldNumbers(rest);
        if (o) {
          oldLayout = true;
          [row.nonPagedAllocs, row.nonPagedBytes, row.pagedAllocs, row.pagedBytes] = [o.values[0] ?? 0, o.values[1] ?? 0, o.values[2] ?? 0, o.values[3] ?? 0];
          describe(row, o.description);
          out.rows.push(row);
          continue;
        }
      }
      if (allDigits && tokens.length > 0 && tokens.length < (out.verbose ? 8 : 4)) {
        ctx.report("WINDBG_TEXT_TRUNCATED_ROW", line, `!poolused row ends early: ${text.trim()}`);
        continue;
      }
    }
    ctx.unparsed(line, text);
  }
  out.layout = oldLayout ? "old" : "modern";
  out.elided = ctx.elided;
  return out;
}

const POOLMON_ROW =
  /^\s+(Nonp|Paged|Page|Both)\s+(\d+)(?:\s*\(\s*(-?\d+)\s*\))?\s+(\d+)(?:\s*\(\s*(-?\d+)\s*\))?\s+(-?\d+)\s+(\d+)(?:\s*\(\s*(-?\d+)\s*\))?\s+(\d+)\s*(.*)$/i;

/** A poolmon text snapshot (`poolmon -n`, or a copied poolmon screen). */
export function parsePoolmon(input: BlockInput, ctx: Ctx): PoolmonBlock {
  const out: PoolmonBlock = { ...ctx.base(input), kind: "poolmon", header: {}, rows: [] };
  for (let i = 0; i < input.lines.length; i++) {
    const text = input.lines[i] ?? "";
    const line = input.first + i;
    if (/^\s*(Memory|Commit):/i.test(text)) {
      const re = /([A-Za-z][A-Za-z ]*?):\s*(\S+)/g;
      let m: RegExpExecArray | null;
      let n = 0;
      while ((m = re.exec(text)) && n++ < 32) out.header[(m[1] ?? "").trim()] = m[2] ?? "";
      continue;
    }
    if (/^\s*(Tag\s+Type\s+Allocs|System pool information|Pool\s+N:)/i.test(text)) {
      ctx.note(line, "legend", text);
      continue;
    }
    if (ctx.noise(line, text)) continue;
    const col = text.startsWith(" ") ? 1 : 0;
    const m = text.length > col + 4 ? POOLMON_ROW.exec(text.slice(col + 4)) : null;
    if (m) {
      const type = m[1] ?? "";
      const row: PoolmonRow = {
        tag: text.slice(col, col + 4),
        type,
        paged: /^pag/i.test(type),
        allocs: dec(m[2]),
        frees: dec(m[4]),
        diff: dec(m[6]),
        bytes: dec(m[7]),
        perAlloc: dec(m[9]),
        line,
      };
      if (m[3] !== undefined) row.allocsDelta = dec(m[3]);
      if (m[5] !== undefined) row.freesDelta = dec(m[5]);
      if (m[8] !== undefined) row.bytesDelta = dec(m[8]);
      const rest = (m[10] ?? "").trim();
      if (rest !== "") row.mappedDriver = rest;
      if (row.allocs - row.frees !== row.diff) ctx.report("WINDBG_TEXT_INCONSISTENT", line, "poolmon row: allocs - frees != diff");
      out.rows.push(row);
      continue;
    }
    ctx.unparsed(line, text);
  }
  out.elided = ctx.elided;
  return out;
}
