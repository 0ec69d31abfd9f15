import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildWithoutEngine, type BuiltImage } from "../../dev/testing/dockerBuild.js";
import { GENERAL_GROUP, type TestEmulator, testEmulator } from "../../dev/testing/emulator.js";
import { tempDir } from "../../dev/testing/tempDir.js";
import { repoRoot } from "../../scaler/tools/paths.js";

const run = promisify(execFile);
const BUILD_ARGS = { VERSION: "1.2.3-test", COMMIT: "c0ffee123456", BUILD_DATE: "2026-11-24T00:00:00Z" };
const AARCH64 = 0xb7;
const X86_64 = 0x3e;

async function elfMachine(path: string): Promise<number> {
  const head = await readFile(path);
  expect(head.subarray(0, 4).toString("latin1")).toBe("\x7fELF");
  return head.readUInt16LE(18);
}

/**
 * The Dockerfile built stage by stage on this machine (no container engine here; see
 * test/support/dockerBuild.ts), then its runtime stage's contents run as the image would run them:
 * the entrypoint, with only the image's environment, and a real Pulumi update from what it holds.
 */
describe("the image, built from the Dockerfile without a container engine", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let image: BuiltImage;
  let app: string;
  let imageEnv: NodeJS.ProcessEnv;
  const entrypoint = (...args: string[]) => {
    const [, script = ""] = image.entrypoint;
    // /nodejs/bin/node, the distroless Node.js 24, is the one running the tests.
    return run(process.execPath, [join(image.roots.runtime ?? "", script), ...args], { env: imageEnv });
  };

  beforeAll(async () => {
    dir = await tempDir("image-build");
    image = await buildWithoutEngine({ dir: dir.path, args: { ...BUILD_ARGS, TARGETARCH: "amd64" } });
    app = join(image.roots.runtime ?? "", "app");
    imageEnv = {
      ...image.env,
      PATH: (image.env.PATH ?? "").replace("/nodejs/bin", join(process.execPath, "..")),
      HOME: join(dir.path, "home"),
    };
  }, 900_000);

  afterAll(async () => {
    await dir?.remove();
  });

  it("prints the version, commit and build date it was built with, and its help", async () => {
    expect((await entrypoint("--version")).stdout).toBe(
      `vpsie-autoscaler ${BUILD_ARGS.VERSION} (commit ${BUILD_ARGS.COMMIT}, built ${BUILD_ARGS.BUILD_DATE})\n`,
    );
    expect((await entrypoint("--help")).stdout).toMatch(/Usage: vpsie-autoscaler[\s\S]*\brun\b/);
    expect(image.cmd[0]).toBe("run");
  });

  it("lists only the product's commands, and holds no development code (emulator, local cluster, tool builds, demo, benchmarks)", async () => {
    const help = (await entrypoint("--help")).stdout;
    const commands = [...help.split("Commands:")[1]!.matchAll(/^ {2}([a-z-]+)/gm)].map((m) => m[1]);
    expect(commands.sort()).toEqual([
      "approvals",
      "console",
      "doctor",
      "help",
      "history",
      "plan",
      "preview",
      "run",
      "scale",
      "shadow",
      "vpsie",
    ]);
    expect(existsSync(join(app, "dist", "dev"))).toBe(false);
    const built = await readdir(join(app, "dist"), { recursive: true });
    expect(built.filter((f) => f.endsWith(".js")).length).toBeGreaterThan(40);
    for (const file of built.filter((f) => f.endsWith(".js"))) {
      const text = await readFile(join(app, "dist", file), "utf8");
      for (const dev of ["VpsieEmulator", "attachJoinHook", "clusterUp", "goBuild", "runDemo"])
        expect(text.includes(dev), `${dev} in dist/${file}`).toBe(false);
    }
  });

  it("holds the CLI and its plugins for the target architecture, and no development dependencies", async () => {
    for (const binary of ["pulumi", "pulumi-language-nodejs", "pulumi-resource-pulumi-nodejs"])
      expect(await elfMachine(join(app, "pulumi", "bin", binary)), binary).toBe(X86_64);
    // (@pulumi/pulumi keeps its vendored TypeScript, which the scaler never loads: scaler/pulumi/leanSdk.ts.)
    // Every development dependency npm installs for development alone, as the lock marks it. Two are
    // also wanted by the product's own dependencies, so npm keeps them: @types/node (a dependency of
    // @kubernetes/client-node and protobufjs) and typescript (an optional peer of @pulumi/pulumi, which the
    // scaler never loads: test/unit/leanSdk.test.ts).
    const manifest = JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8")) as {
      devDependencies: Record<string, string>;
    };
    const lock = JSON.parse(await readFile(join(repoRoot, "package-lock.json"), "utf8")) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const names = Object.keys(manifest.devDependencies);
    const devOnly = names.filter((name) => lock.packages[`node_modules/${name}`]?.dev === true);
    expect(names.filter((name) => !devOnly.includes(name)).sort()).toEqual(["@types/node", "typescript"]);
    for (const dev of devOnly) expect(existsSync(join(app, "node_modules", dev)), dev).toBe(false);
    expect(existsSync(join(app, "dist", "dev", "bench"))).toBe(false);
    expect(existsSync(join(app, "dist", "scaler", "cli", "main.js"))).toBe(true);
  });

  describe("a scale action from the image's contents", () => {
    let sim: TestEmulator;
    beforeAll(async () => {
      sim = await testEmulator();
    });
    afterAll(async () => {
      await sim?.stop();
    });

    it("runs a Pulumi update as 65532:65532 with the image's pulumi and plugins, writing only to its volume", async () => {
      if (process.getuid?.() !== 0)
        throw new Error(
          "running the image's contents as user 65532 needs root (setpriv), as CI runs the tests",
        );
      // The pod's volume, as the Deployment mounts it, is the only place the user may write; the
      // image's own files stay root's (its read-only root filesystem), and so does HOME.
      const volume = join(image.roots.runtime ?? "", "var", "lib", "vpsie-autoscaler");
      const project = join(volume, "project");
      const state = join(volume, "state");
      await mkdir(join(project, "stacks"), { recursive: true });
      await mkdir(state, { recursive: true });
      // A fresh volume, as in the pod: the command prepares the project directory itself.
      await writeFile(
        join(project, "stacks", "Pulumi.general.yaml"),
        stringify({ config: { "vpsie-autoscaler:nodeGroups": [{ ...GENERAL_GROUP, minNodes: 0 }] } }),
      );
      await run("chown", ["-R", "65532:65532", volume]);
      await chmod(dir.path, 0o755);
      const home = join(dir.path, "home");
      await mkdir(home, { recursive: true });
      const scale = await run(
        "setpriv",
        [
          "--reuid=65532",
          "--regid=65532",
          "--clear-groups",
          process.execPath,
          join(image.roots.runtime ?? "", image.entrypoint[1] ?? ""),
          "scale",
          "--group",
          "general",
          "--add",
          "1",
          "--reason",
          "from the image",
          "--project-dir",
          project,
          "--backend",
          `file://${state}`,
        ],
        {
          env: {
            ...imageEnv,
            HOME: home,
            VPSIE_API_URL: sim.url,
            VPSIE_TOKEN: "demo-token",
            PULUMI_CONFIG_PASSPHRASE: "image",
          },
        },
      );
      expect(scale.stdout).toMatch(
        /^scale-up general 0 → 1 \(\+general-[0-9a-f]{4}\): from the image \(\+\$0\.0667\/h, group \$0\.0667\/h\)$/m,
      );
      const workers = (await sim.client().getCluster(GENERAL_GROUP.cluster))?.nodes.filter(
        (n) => n.nodeType === "slave",
      );
      expect(workers).toHaveLength(1);
    }, 180_000);
  });
});

describe("the Go stage for linux/arm64", () => {
  it("cross-compiles pulumi and the plugin launcher for AArch64 with cgo off, on this amd64 machine", async () => {
    const dir = await tempDir("image-arm64");
    try {
      const image = await buildWithoutEngine({
        dir: dir.path,
        args: { ...BUILD_ARGS, TARGETARCH: "arm64" },
        target: "pulumi",
      });
      for (const binary of ["pulumi", "nodeplugin"])
        expect(await elfMachine(join(image.roots.pulumi ?? "", "out", binary)), binary).toBe(AARCH64);
    } finally {
      await dir.remove();
    }
  }, 1_200_000);
});
