import type { AddressInfoBlock, AddressSummaryBlock, AddressSummaryRow, EvaluateBlock, GflagBlock, ModuleListBlock } from "../model.js";
import { addr, type BlockInput, Ctx, dec, num } from "../util.js";

/** `!gflag`. */
export function parseGflag(input: BlockInput, ctx: Ctx): GflagBlock {
  const out: GflagBlock = { ...ctx.base(input), kind: "gflag", enabled: [] };
  let m: RegExpExecArray | null;
  for (let i = 0; i < input.lines.length; i++) {
    const text = input.lines[i] ?? "";
    const line = input.first + i;
    if ((m = /^\s*Current NtGlobalFlag(2)? contents:\s*(0x[0-9a-f]+)/i.exec(text))) {
      if (m[1] === "2") out.flags2 = num(m[2]);
      else out.flags = num(m[2]);
    } else if ((m = /^\s+([a-z0-9]{2,5}) - (\S.*?)\s*$/i.exec(text))) {
      out.enabled.push({ abbreviation: m[1] ?? "", description: m[2] ?? "", line });
    } else if (!ctx.noise(line, text)) ctx.unparsed(line, text);
  }
  out.elided = ctx.elided;
  return out;
}

function sizeWithUnit(value: string, unit: string): number {
  const v = Number(value);
  const u = unit.toLowerCase();
  const f = u === "kb" ? 1024 : u === "mb" ? 1024 ** 2 : u === "gb" ? 1024 ** 3 : u === "tb" ? 1024 ** 4 : 1;
  return Math.round(v * f);
}

/** `!address -summary`, old and modern layouts. */
export function parseAddressSummary(input: BlockInput, ctx: Ctx): AddressSummaryBlock {
  const out: AddressSummaryBlock = { ...ctx.base(input), kind: "addressSummary", layout: "modern", rows: [] };
  let section: AddressSummaryRow["section"] = "usage";
  let m: RegExpExecArray | null;
  for (let i = 0; i < input.lines.length; i++) {
    const text = input.lines[i] ?? "";
    const line = input.first + i;
    if ((m = /^\s*-{3,}\s*(Usage|Type|State|Protect|Largest)\b/i.exec(text))) {
      section = (m[1] ?? "usage").toLowerCase() as AddressSummaryRow["section"];
      if (/SUMMARY -/.test(text)) out.layout = "old";
      ctx.note(line, "legend", text);
      continue;
    }
    // Old: `    11c4000 (   18192) : 00.87%    02.27%    : RegionUsageIsVAD`
    if ((m = /^\s*([0-9a-f]+)\s+\(\s*(\d+)\)\s*:\s*([\d.]+)%\s+(?:([\d.]+)%\s+)?:\s*(\S+)\s*$/i.exec(text))) {
      out.layout = "old";
      const row: AddressSummaryRow = { section, name: m[5] ?? "", size: num(m[1]), percentTotal: Number(m[3]), line };
      if (m[4] !== undefined) row.percentBusy = Number(m[4]);
      out.rows.push(row);
      continue;
    }
    if ((m = /^\s*Tot:\s*([0-9a-f]+)\s*\(\s*\d+ KB\)\s*Busy:\s*([0-9a-f]+)/i.exec(text))) {
      out.total = num(m[1]);
      out.busy = num(m[2]);
      continue;
    }
    if ((m = /^\s*Largest free region:\s*Base\s+([0-9a-f`]+)\s*-\s*Size\s+([0-9a-f`]+)/i.exec(text))) {
      out.largestFree = { base: addr(m[1]), size: num(m[2]) };
      continue;
    }
    // Modern: `Heap   340   3c876000 ( 968.461 Mb)  48.38%   47.29%`; Largest: `Heap  7f30000  fd0000 ( 15.813 Mb)`
    if ((m = /^(\S.*?)\s+([0-9a-f`]+)\s+([0-9a-f`]+)\s+\(\s*([\d.]+)\s*(kb|Mb|Gb|Tb|b)\)\s*(?:([\d.]+)%\s*)?(?:([\d.]+)%)?\s*$/i.exec(text))) {
      const name = m[1] ?? "";
      const row: AddressSummaryRow = { section, name, size: num(m[3]), line };
      if (section === "largest") row.base = addr(m[2]);
      else row.regionCount = dec(m[2]);
      if (m[6] !== undefined && m[7] !== undefined) {
        row.percentBusy = Number(m[6]);
        row.percentTotal = Number(m[7]);
      } else if (m[6] !== undefined) row.percentTotal = Number(m[6]);
      if (!(row.size === row.size)) row.size = sizeWithUnit(m[4] ?? "", m[5] ?? "");
      out.rows.push(row);
      continue;
    }
    if (/^\s*(TotSize \(|ProcessParametrs .* in range|Environment .* in range)/i.test(text)) {
      ctx.note(line, "legend", text);
      continue;
    }
    if (!ctx.noise(line, text)) ctx.unparsed(line, text);
  }
  out.elided = ctx.elided;
  return out;
}

/** `!address <addr>`: key/value lines (both layouts). */
export function parseAddressInfo(input: BlockInput, ctx: Ctx): AddressInfoBlock {
  const out: AddressInfoBlock = { ...ctx.base(input), kind: "addressInfo", fields: {} };
  let m: RegExpExecArray | null;
  const set = (k: string, v: string): void => {
    const old = Object.hasOwn(out.fields, k) ? out.fields[k] : undefined;
    if (old !== undefined) out.fields[k] = old + "; " + v;
    else if (Object.keys(out.fields).length < 64) out.fields[k] = v;
  };
  for (let i = 0; i < input.lines.length; i++) {
    const text = input.lines[i] ?? "";
    const line = input.first + i;
    if ((m = /^\s*([A-Za-z][A-Za-z ]*?):\s+(\S.*?)\s*$/.exec(text))) set(m[1] ?? "", (m[2] ?? "").replace(/\t/g, " "));
    else if ((m = /^\s*([0-9a-f`]+)\s*:\s*([0-9a-f`]+)\s*-\s*([0-9a-f`]+)\s*$/i.exec(text))) {
      set("Base Address", m[2] ?? "");
      set("Region Size", m[3] ?? "");
    } else if ((m = /^\s*(Type|Protect|State|Usage|Handle)\s+(\S.*?)\s*$/.exec(text))) set(m[1] ?? "", m[2] ?? "");
    else if (/^\s*(ProcessParametrs|Environment) .* in range/i.test(text)) ctx.note(line, "legend", text);
    else if (!ctx.noise(line, text)) ctx.unparsed(line, text);
  }
  out.elided = ctx.elided;
  return out;
}

/** `lm`. */
export function parseModuleList(input: BlockInput, ctx: Ctx): ModuleListBlock {
  const out: ModuleListBlock = { ...ctx.base(input), kind: "moduleList", modules: [] };
  let m: RegExpExecArray | null;
  for (let i = 0; i < input.lines.length; i++) {
    const text = input.lines[i] ?? "";
    const line = input.first + i;
    if (/^\s*start\s+end\s+module name/i.test(text) || /^\s*Unloaded modules:/i.test(text)) ctx.note(line, "legend", text);
    else if ((m = /^\s*([0-9a-f`]{8,17})\s+([0-9a-f`]{8,17})\s+(\S+)\s*(.*?)\s*$/i.exec(text)))
      out.modules.push({ start: addr(m[1]), end: addr(m[2]), name: m[3] ?? "", symbols: m[4] ?? "", line });
    else if (!ctx.noise(line, text)) ctx.unparsed(line, text);
  }
  out.elided = ctx.elided;
  return out;
}

/** `? expr`. */
export function parseEvaluate(input: BlockInput, ctx: Ctx): EvaluateBlock {
  const out: EvaluateBlock = { ...ctx.base(input), kind: "evaluate" };
  for (let i = 0; i < input.lines.length; i++) {
    const text = input.lines[i] ?? "";
    const line = input.first + i;
    const m = /^\s*Evaluate expression:\s*(-?\d+)\s*=/i.exec(text);
    if (m) out.value = dec(m[1]);
    else if (!ctx.noise(line, text)) ctx.unparsed(line, text);
  }
  return out;
}
