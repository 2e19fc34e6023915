import { defineCodes } from "@leakscope/core";

/**
 * Every diagnostic code raised by `@leakscope/symbols`. Codes never change meaning once released.
 * All are prefixed `PE_`, `PDB_` or `SYMBOLS_` so they cannot collide with other packages.
 */
export const symbolsCodes = defineCodes("symbols", {
  // ---- PE images ------------------------------------------------------------------------------
  PE_IMAGE_NOT_CAPTURED: {
    severity: "info",
    description: "The module's image is not in the dump (normal for dumps without module memory); frames in it are named module+offset.",
  },
  PE_NOT_AN_IMAGE: {
    severity: "warning",
    description: "No MZ/PE signature at the module base or file start: the header page is missing or not a PE image; symbolization falls back to module+offset.",
  },
  PE_HEADER_TRUNCATED: {
    severity: "warning",
    description: "A PE header, section table or data directory lies outside the captured or file bytes; what could be read was kept.",
  },
  PE_BAD_OPTIONAL_HEADER: {
    severity: "warning",
    description: "The optional header magic is neither PE32 (0x10b) nor PE32+ (0x20b), or its sizes are inconsistent; the image is ignored.",
  },
  PE_RVA_OUT_OF_IMAGE: {
    severity: "warning",
    description: "A data directory or table entry points outside the image; that entry was skipped.",
  },
  PE_COUNT_LIMIT: {
    severity: "warning",
    description: "A count in the image (sections, exports, debug entries, resources) exceeds a sane limit; only the first entries were read.",
  },
  PE_EXPORTS_UNREADABLE: {
    severity: "info",
    description: "The export directory is not in the dump (pages not captured) or is damaged; exported names are unavailable for this module.",
  },
  PE_CODEVIEW_UNREADABLE: {
    severity: "info",
    description: "The debug directory has no readable CodeView (RSDS/NB10) record, so no PDB can be matched to this image.",
  },
  PE_RESOURCE_CYCLE: {
    severity: "warning",
    description: "The resource directory tree loops or nests too deep; the version resource was not read.",
  },
  // ---- MSF / PDB ------------------------------------------------------------------------------
  PDB_NOT_MSF: {
    severity: "warning",
    description: "The file is not an MSF 7.0 PDB (bad superblock magic or block size); only PDB 7.0 files (link /debug, lld-link /debug) are read.",
  },
  PDB_TRUNCATED: {
    severity: "warning",
    description: "A stream or the stream directory refers to blocks past the end of the PDB file: the file is truncated; what could be read was kept.",
  },
  PDB_BAD_DIRECTORY: {
    severity: "warning",
    description: "The stream directory is inconsistent (absurd stream count or size, block index out of range); the PDB is not used.",
  },
  PDB_BAD_STREAM: {
    severity: "warning",
    description: "A PDB stream (info, DBI, publics, globals, module symbols, section headers) has an inconsistent header or record; the rest of that stream was skipped.",
  },
  PDB_SYMBOL_LIMIT: {
    severity: "warning",
    description: "A PDB stream holds more records than the reader's limit; only the first ones were kept.",
  },
  // ---- symbolizer -----------------------------------------------------------------------------
  SYMBOLS_PDB_MISMATCH: {
    severity: "warning",
    description: "A PDB found on the symbol path has another GUID or age than the module's CodeView record: it belongs to another build and was not used; point --symbols at the matching PDB.",
  },
  SYMBOLS_PDB_NOT_FOUND: {
    severity: "info",
    description: "No PDB for the module was found in the symbol directories (tried <dir>/<pdb> and <dir>/<pdb>/<GUIDAGE>/<pdb>); names come from exports or module+offset.",
  },
  SYMBOLS_PDB_UNREADABLE: {
    severity: "warning",
    description: "A PDB on the symbol path could not be opened or parsed; it was not used.",
  },
});

export type SymbolsCode = keyof typeof symbolsCodes;
