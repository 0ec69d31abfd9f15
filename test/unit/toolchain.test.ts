import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ToolMissingError } from "../../scaler/tools/errors.js";
import { cacheRoot } from "../../scaler/tools/paths.js";
import { controlPlaneVersions, resolveControlPlane } from "../../dev/toolchain/kube.js";
import { requiredPulumiVersion, resolvePulumi } from "../../scaler/tools/pulumi.js";

describe("the tool resolver", () => {
  it("keeps built tools outside the checkout, in the user's cache unless told otherwise", () => {
    expect(cacheRoot({ HOME: "/home/u" })).toMatch(/\/\.cache\/vpsie-autoscaler$/);
    expect(cacheRoot({ XDG_CACHE_HOME: "/xdg" })).toBe("/xdg/vpsie-autoscaler");
    expect(cacheRoot({ VPSIE_AUTOSCALER_CACHE: "/ci/cache", XDG_CACHE_HOME: "/xdg" })).toBe("/ci/cache");
  });

  it("wants the CLI at exactly the version of the installed SDK", () => {
    expect(requiredPulumiVersion()).toMatch(/^3\.\d+\.\d+$/);
  });

  it("takes the control plane's versions from the committed wrapper modules", async () => {
    expect(await controlPlaneVersions()).toEqual({
      kubernetesVersion: expect.stringMatching(/^1\.\d+\.\d+$/),
      etcdVersion: expect.stringMatching(/^3\.\d+\.\d+$/),
      kwokVersion: expect.stringMatching(/^0\.\d+\.\d+$/),
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
