import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Engine and cluster tests start real processes; one file per worker keeps 2 cores from thrashing.
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    globalSetup: ["test/support/globalSetup.ts"],
  },
});
