/**
 * Loading @pulumi/pulumi loads its closure serializer at module load, and with it the TypeScript
 * compiler and npm's Arborist: about 60 MiB and 0.6 s in every process. This project never serializes
 * closures (its providers are a few lines of text, see provider/pulumi/resources.ts), so those two SDK
 * modules are replaced, before the SDK loads, by facades that load the real ones on first call.
 * test/unit/leanSdk.test.ts checks that the facades export exactly what the real modules do.
 */
import { createRequire, Module } from "node:module";

const require = createRequire(import.meta.url);

/** The SDK modules made lazy, and the functions they export. */
export const LAZY_SDK_MODULES: Record<string, readonly string[]> = {
  "@pulumi/pulumi/runtime/closure/serializeClosure.js": ["serializeFunction", "serializeFunctionAsync"],
  "@pulumi/pulumi/runtime/closure/codePaths.js": [
    "computeCodePaths",
    "findWorkspaceRoot",
    "packageArchivePath",
  ],
};

function lazyModule(specifier: string, names: readonly string[]): void {
  let path: string;
  try {
    path = require.resolve(specifier);
  } catch {
    return;
  }
  if (require.cache[path]) return;
  const facade = new Module(path);
  let real: Record<string, (...args: unknown[]) => unknown> | undefined;
  const load = () => {
    if (!real) {
      delete require.cache[path];
      real = require(path) as Record<string, (...args: unknown[]) => unknown>;
      require.cache[path] = facade;
    }
    return real;
  };
  facade.filename = path;
  facade.loaded = true;
  facade.exports = Object.fromEntries(
    names.map((name) => [name, (...args: unknown[]) => load()[name]?.(...args)]),
  );
  require.cache[path] = facade;
}

for (const [specifier, names] of Object.entries(LAZY_SDK_MODULES)) lazyModule(specifier, names);
