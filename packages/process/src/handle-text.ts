import type { HandleEntry } from "./handles.js";

/** A `!handle` listing read from WinDbg text. */
export interface HandleText {
  /** Handles listed one by one (`!handle` or `!handle 0 f`), in order. */
  handles: (HandleEntry & { handle: number; line: number })[];
  /** The `Type Count` summary table `!handle` prints at its end, when present. */
  summary: { type: string; count: number }[];
  /** `N Handles` as printed, when present. */
  total?: number;
  /** Lines that started a handle block but could not be read. */
  problems: { line: number; text: string }[];
}

const HANDLE_LINE = /^\s*Handle\s+(?:0x)?([0-9a-fA-F`]+)\s*$/;
const FIELD_LINE = /^\s{1,8}(Type|Name|HandleCount|PointerCount|Attributes|GrantedAccess)\s+(.*?)\s*$/;
const TOTAL_LINE = /^\s*(\d+)\s+Handles\s*$/;
const SUMMARY_HEAD = /^\s*Type\s+Count\s*$/;
const SUMMARY_ROW = /^\s*(\S(?:.*\S)?)\s+(\d+)\s*$/;

/**
 * Read WinDbg `!handle` output: the per-handle blocks (`Handle 0000000000000004`, then
 * `Type`, `HandleCount`, `PointerCount`, `Name` lines as `!handle 0 f` prints them) and the
 * `Type Count` summary at the end. Lines of other commands in between are ignored, so a whole
 * session log can be passed. Never throws; lines it cannot read go to `problems`.
 */
export function parseHandleText(text: string): HandleText {
  const out: HandleText = { handles: [], summary: [], problems: [] };
  const lines = text.split(/\r?\n/);
  let cur: (HandleEntry & { handle: number; line: number }) | undefined;
  let inSummary = false;
  const close = (): void => {
    if (!cur) return;
    if (cur.typeName === undefined) out.problems.push({ line: cur.line, text: `handle 0x${cur.handle.toString(16)} has no Type line` });
    out.handles.push(cur);
    cur = undefined;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const h = HANDLE_LINE.exec(line);
    if (h) {
      close();
      inSummary = false;
      const value = Number.parseInt(h[1]!.replace(/`/g, ""), 16);
      if (!(value === value)) {
        out.problems.push({ line: i + 1, text: line.trim() });
        continue;
      }
      cur = { handle: value, line: i + 1 };
      continue;
    }
    const t = TOTAL_LINE.exec(line);
    if (t) {
      close();
      out.total = Number(t[1]);
      continue;
    }
    if (SUMMARY_HEAD.test(line)) {
      close();
      inSummary = true;
      continue;
    }
    if (inSummary) {
      const r = SUMMARY_ROW.exec(line);
      if (r) {
        out.summary.push({ type: r[1]!, count: Number(r[2]) });
        continue;
      }
      inSummary = false;
    }
    if (!cur) continue;
    const f = FIELD_LINE.exec(line);
    if (!f) {
      if (/^\S/.test(line) && line.trim().length > 0) close();
      continue;
    }
    const value = f[2]!;
    switch (f[1]) {
      case "Type":
        cur.typeName = value;
        break;
      case "Name":
        if (value !== "<none>" && value.length > 0) cur.objectName = value;
        break;
      case "HandleCount":
        cur.handleCount = Number.parseInt(value, 10) || 0;
        break;
      case "PointerCount":
        cur.pointerCount = Number.parseInt(value, 10) || 0;
        break;
      default:
        break;
    }
  }
  close();
  return out;
}

/**
 * The handles of a `!handle` text as entries for {@link summarizeHandles}: the listed handles,
 * or, when only the summary table was printed, one entry per counted handle of each type.
 */
export function handleEntriesFromText(parsed: HandleText, maxEntries = 1 << 20): HandleEntry[] {
  if (parsed.handles.length > 0) return parsed.handles;
  const out: HandleEntry[] = [];
  for (const row of parsed.summary) {
    const type = row.type === "None" ? undefined : row.type;
    for (let k = 0; k < row.count && out.length < maxEntries; k++) out.push({ typeName: type });
  }
  return out;
}
