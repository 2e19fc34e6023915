/**
 * @leakscope/symbols — offline symbolization for leakscope: PE images read from dump memory or
 * files (sections, exports, CodeView, version), a from-scratch MSF/PDB 7.0 reader (info, DBI,
 * modules, section headers, publics, globals, module procedures) and a {@link Symbolizer} that
 * turns addresses into WinDbg-style `module!symbol+0xoff` text.
 */
export { symbolsCodes, type SymbolsCode } from "./codes.js";
export { formatGuid, parseCodeView, symbolStoreKey } from "./codeview.js";
export {
  PeImage,
  type PeSection,
  type DataDirectory,
  type PeExport,
  type PeExports,
  type PeDebugEntry,
  type PeReadOptions,
  MAX_SECTIONS,
  MAX_EXPORTS,
  MAX_DEBUG_ENTRIES,
  IMAGE_DEBUG_TYPE_CODEVIEW,
} from "./pe.js";
export { MsfFile, MsfStream, MAX_DIRECTORY_BYTES, MAX_STREAMS } from "./msf.js";
export {
  PdbFile,
  type PdbInfo,
  type DbiHeader,
  type PdbModule,
  type PdbPublic,
  type PdbGlobal,
  type PdbProc,
  type PdbOpenOptions,
  SYMBOL_KIND_NAMES,
  MAX_RECORDS,
  S_PUB32,
  S_GPROC32,
  S_LPROC32,
  S_GPROC32_ID,
  S_LPROC32_ID,
  S_THUNK32,
  S_PROCREF,
  S_LPROCREF,
  S_GDATA32,
  S_LDATA32,
  S_SEPCODE,
} from "./pdb.js";
export {
  Symbolizer,
  type SymbolizerOptions,
  type SymbolizedFrame,
  type SymbolSource,
  type ModuleSymbolStatus,
  moduleShortName,
  toFrameText,
  pdbMatches,
  undecorateX86,
} from "./symbolizer.js";
export { symbols, SymbolsOptions, STAGE_SYMBOLIZE, symbolizeStacks } from "./plugin.js";
