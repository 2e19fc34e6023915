/** The version of @leakscope/core (kept in sync with package.json by a test). */
export const VERSION = "0.0.0";
