import { defineProject } from "vitest/config";

export default defineProject({
  ssr: { resolve: { conditions: ["@leakscope/source"] } },
  test: { name: "process", environment: "node", include: ["test/**/*.test.ts"], testTimeout: 60000 },
});
