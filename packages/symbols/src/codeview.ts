import type { CodeViewInfo } from "@leakscope/core";

export { formatGuid, parseCodeView } from "@leakscope/core";

/**
 * Symbol-store key for a PDB: GUID without dashes, uppercase, followed by the age in uppercase hex
 * (`D861A9A702890971...` + `1`), as used by `<dir>/<pdb>/<KEY>/<pdb>` layouts.
 */
export function symbolStoreKey(cv: Pick<CodeViewInfo, "guid" | "age">): string {
  return cv.guid.replace(/-/g, "").toUpperCase() + cv.age.toString(16).toUpperCase();
}
