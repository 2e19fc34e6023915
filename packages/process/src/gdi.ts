import { type Diagnostics, type MinidumpFile, type ProcessSection, type Target, formatAddress } from "@leakscope/core";

export type GdiSummary = ProcessSection["gdi"];

/** The per-process GDI object quota's default (HKLM\...\Windows\GDIProcessHandleQuota). */
export const GDI_QUOTA = 10000;
/** Cells of the GDI shared handle table (GDI_HANDLE_COUNT, Windows 2000 to 11). */
export const GDI_TABLE_CELLS = 0x10000;
/** `PEB.GdiSharedHandleTable`. */
export const PEB_GDI_TABLE = { 32: 0x94, 64: 0xf8 } as const;

/** Names by the type bits of a GDI handle (bits 16..22), then by base type (bits 16..20). */
const FULL_TYPES: Record<number, string> = {
  0x01: "DC",
  0x04: "Region",
  0x05: "Bitmap",
  0x08: "Palette",
  0x0a: "Font",
  0x10: "Brush",
  0x21: "EnhMetafile",
  0x26: "Metafile",
  0x30: "Pen",
  0x46: "EnhMetafileDC",
  0x50: "ExtPen",
  0x66: "MetafileDC",
};
const BASE_TYPES: Record<number, string> = {
  0x01: "DC",
  0x04: "Region",
  0x05: "Bitmap",
  0x07: "Path",
  0x08: "Palette",
  0x09: "ColorSpace",
  0x0a: "Font",
  0x10: "Brush",
  0x15: "Metafile",
};

export function gdiTypeName(fullType: number): string {
  return FULL_TYPES[fullType] ?? BASE_TYPES[fullType & 0x1f] ?? `type 0x${fullType.toString(16)}`;
}

/**
 * Count the GDI objects of the dump's process in the GDI shared handle table that every GUI
 * process maps (`PEB.GdiSharedHandleTable`): cells of 24 bytes (64-bit) or 16 bytes (32-bit):
 * kernel address, process id (16 bits), count, upper handle word, type, user address. Cells
 * owned by the process id of MiscInfo are counted by type. Reads at most the 65,536 cells of the
 * table, only from captured memory.
 */
export function summarizeGdi(target: Target, md: MinidumpFile | undefined, diagnostics: Diagnostics): GdiSummary {
  const base = { total: 0, quota: GDI_QUOTA, byType: [] as GdiSummary["byType"] };
  // the native view: WoW64 processes share the 64-bit table
  const view = target.views.find((v) => v.role === "native") ?? target.views[0];
  if (!view || view.peb === undefined || !(view.peb === view.peb)) {
    return { ...base, status: "unknown", note: "The PEB is not in the dump: GDI objects cannot be counted." };
  }
  const space = view.space;
  const table = space.ptr(view.peb + PEB_GDI_TABLE[view.bitness]);
  if (!(table === table)) {
    return { ...base, status: "unknown", note: "PEB.GdiSharedHandleTable is not in the dump: GDI objects cannot be counted." };
  }
  if (table === 0) {
    return { ...base, status: "not-gui", note: "PEB.GdiSharedHandleTable is 0: the process has not loaded GDI (not a GUI process), so it holds no GDI objects." };
  }
  const pid = md?.miscInfo?.processId;
  const cell = view.bitness === 64 ? 24 : 16;
  const ps = view.bitness / 8;
  const CHUNK = 1024;
  const counts = new Map<number, number>();
  let read = 0;
  let total = 0;
  for (let first = 0; first < GDI_TABLE_CELLS; first += CHUNK) {
    const bytes = space.read(table + first * cell, CHUNK * cell);
    if (!bytes) continue;
    read += CHUNK;
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let k = 0; k < CHUNK; k++) {
      const at = k * cell;
      const owner = dv.getUint16(at + ps, true);
      const upper = dv.getUint16(at + ps + 4, true);
      const type = dv.getUint16(at + ps + 6, true);
      if ((type & 0x7f) === 0 && (upper & 0x7f) === 0) continue;
      if (pid !== undefined && owner !== (pid & 0xffff)) continue;
      const full = (upper & 0x7f) !== 0 ? upper & 0x7f : type & 0x7f;
      counts.set(full, (counts.get(full) ?? 0) + 1);
      total++;
    }
  }
  if (read === 0) {
    const note = `The GDI shared handle table at ${formatAddress(table)} is not in the dump: GDI objects cannot be counted (take a full-memory dump).`;
    diagnostics.report("process", "PROCESS_GDI_TABLE_NOT_CAPTURED", "info", note, { address: formatAddress(table), where: "PEB.GdiSharedHandleTable" });
    return { ...base, status: "not-captured", table: formatAddress(table), note };
  }
  const notes: string[] = [];
  if (read < GDI_TABLE_CELLS) {
    const msg = `Only ${read} of the ${GDI_TABLE_CELLS} cells of the GDI shared handle table at ${formatAddress(table)} are in the dump: the counts are a lower bound.`;
    notes.push(msg);
    diagnostics.report("process", "PROCESS_GDI_TABLE_NOT_CAPTURED", "info", msg, { address: formatAddress(table), where: "PEB.GdiSharedHandleTable" });
  }
  if (pid === undefined) notes.push("The process id is unknown (no MiscInfo): the counts include every process's objects.");
  const byType = new Map<string, number>();
  for (const [t, n] of counts) byType.set(gdiTypeName(t), (byType.get(gdiTypeName(t)) ?? 0) + n);
  return {
    status: "present",
    table: formatAddress(table),
    ...(pid !== undefined ? { processId: pid } : {}),
    total,
    quota: GDI_QUOTA,
    byType: [...byType.entries()].map(([type, count]) => ({ type, count })).sort((a, b) => b.count - a.count || a.type.localeCompare(b.type)),
    note: [`${total} GDI objects of the process in the shared handle table (quota ${GDI_QUOTA}).`, ...notes].join(" "),
  };
}
