import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LAZY_SDK_MODULES } from "../../scaler/pulumi/leanSdk.js";
import { repoRoot } from "../../scaler/tools/paths.js";

describe("the SDK modules loaded lazily", () => {
  it("export exactly what the real modules export, so the SDK sees no difference", () => {
    const require = createRequire(import.meta.url);
    for (const [specifier, names] of Object.entries(LAZY_SDK_MODULES)) {
      const path = require.resolve(specifier);
      delete require.cache[path];
      const real = require(path) as Record<string, unknown>;
      expect(Object.keys(real).sort(), specifier).toEqual([...names].sort());
      for (const name of names) expect(typeof real[name], `${specifier} ${name}`).toBe("function");
    }
  });

  it("keep the compiler and npm's Arborist out of a process that loads the SDK, and only then", () => {
    const probe = (lean: boolean) => {
      const script = [
        lean ? `await import(${JSON.stringify(join(repoRoot, "scaler", "pulumi", "leanSdk.ts"))});` : "",
        'await import("@pulumi/pulumi/automation/index.js");',
        'const { createRequire } = await import("node:module");',
        "const loaded = Object.keys(createRequire(import.meta.url).cache);",
        'console.log(JSON.stringify(["/typescript/lib/", "/@npmcli/arborist/"].map((p) => loaded.some((k) => k.includes(p)))));',
      ].join("\n");
      const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: repoRoot });
      return JSON.parse(out.toString()) as boolean[];
    };
    expect(probe(true)).toEqual([false, false]);
    expect(probe(false)).toEqual([true, true]);
  });
});
