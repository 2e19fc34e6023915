// Read from package.json at build time: tsup (esbuild) inlines the one field, and tests running
// from sources read the same file, so `changeset version` needs no second edit here.
import { version } from "../package.json";

/** The version of @leakscope/core, as published (the report's `tool.version`). */
export const VERSION: string = version;
