import { defineConfig } from "vitest/config";

/**
 * Two projects: `unit` (pure logic, no tools needed: `npx vitest run --project unit`) and `integration`
 * (the real Pulumi engine, control plane, PostgreSQL, browser; its global setup fails, never skips,
 * when a tool is missing). `npm test` runs both.
 */
export default defineConfig({
  test: {
    // Engine and cluster tests start real processes; one file per worker keeps 2 cores from thrashing.
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    projects: [
      { extends: true, test: { name: "unit", include: ["test/unit/**/*.test.ts"] } },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["test/**/*.test.ts"],
          exclude: ["test/unit/**"],
          globalSetup: ["dev/testing/globalSetup.ts"],
        },
      },
    ],
  },
});
