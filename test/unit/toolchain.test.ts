import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ToolMissingError } from "../../scaler/tools/errors.js";
import { cacheRoot, repoRoot } from "../../scaler/tools/paths.js";
import { controlPlaneVersions, resolveControlPlane } from "../../dev/toolchain/kube.js";
import { PULUMI_MODULE, requiredPulumiVersion, resolvePulumi } from "../../scaler/tools/pulumi.js";

const committed = async (goMod: string, module: string) =>
  new RegExp(`^\\s*(?:require\\s+)?${module.replaceAll(".", "\\.")} v(\\S+)`, "m").exec(
    await readFile(join(repoRoot, goMod), "utf8"),
  )?.[1];

describe("the tool resolver", () => {
  it("keeps built tools outside the checkout, in the user's cache unless told otherwise", () => {
    expect(cacheRoot({ HOME: "/home/u" })).toMatch(/\/\.cache\/vpsie-autoscaler$/);
    expect(cacheRoot({ XDG_CACHE_HOME: "/xdg" })).toBe("/xdg/vpsie-autoscaler");
    expect(cacheRoot({ VPSIE_AUTOSCALER_CACHE: "/ci/cache", XDG_CACHE_HOME: "/xdg" })).toBe("/ci/cache");
  });

  it("wants the CLI at exactly the version of the installed SDK, the one the Go module pins", async () => {
    const sdk = JSON.parse(
      await readFile(join(repoRoot, "node_modules", "@pulumi", "pulumi", "package.json"), "utf8"),
    ) as { version: string };
    expect(requiredPulumiVersion()).toBe(sdk.version);
    expect(await committed(`${PULUMI_MODULE}/go.mod`, "github.com/pulumi/pulumi/pkg/v3")).toBe(sdk.version);
  });

  it("passes over a pulumi on PATH of another version", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vpsie-autoscaler-otherpulumi-"));
    try {
      await writeFile(join(dir, "pulumi"), "#!/bin/sh\necho v3.1.0\n");
      await chmod(join(dir, "pulumi"), 0o755);
      const attempt = resolvePulumi({ PATH: dir, VPSIE_AUTOSCALER_CACHE: dir });
      await expect(attempt).rejects.toBeInstanceOf(ToolMissingError);
      await expect(attempt).rejects.toThrow(
        new RegExp(`pulumi CLI v${requiredPulumiVersion().replaceAll(".", "\\.")}`),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("takes the control plane's versions from the committed wrapper modules", async () => {
    expect(await controlPlaneVersions()).toEqual({
      kubernetesVersion: await committed("dev/go/kube/go.mod", "k8s.io/kubernetes"),
      etcdVersion: await committed("dev/go/kube/go.mod", "go.etcd.io/etcd/server/v3"),
      kwokVersion: await committed("dev/go/kwok/go.mod", "sigs.k8s.io/kwok"),
    });
  });

  it("fails, saying how to get them, when neither PATH nor the cache has the tools", async () => {
    const empty = await mkdtemp(join(tmpdir(), "vpsie-autoscaler-nocache-"));
    try {
      const env = { PATH: empty, VPSIE_AUTOSCALER_CACHE: empty };
      for (const attempt of [resolvePulumi(env), resolveControlPlane(env)]) {
        await expect(attempt).rejects.toBeInstanceOf(ToolMissingError);
        await expect(attempt).rejects.toThrow(/npm run tools/);
      }
      await expect(resolveControlPlane(env)).rejects.toThrow(
        /missing kube-apiserver, kube-scheduler, kube-controller-manager, etcd, kwok/,
      );
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
