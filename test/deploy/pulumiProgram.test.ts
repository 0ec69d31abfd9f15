import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import * as pulumi from "@pulumi/pulumi";
import { parseAllDocuments, parse } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../scaler/tools/paths.js";
import { parseRunConfig } from "../../scaler/config/runConfig.js";
import { resolveControlPlane } from "../../dev/toolchain/kube.js";

const run = promisify(execFile);

interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

const identity = (o: KubeObject) => `${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name}`;

/** The settings file is compared as data: the two installs write the same YAML in different styles. */
function normalise(object: KubeObject): KubeObject {
  const copy = structuredClone(object);
  const data = copy.data as Record<string, string> | undefined;
  if (copy.kind === "ConfigMap" && data?.["config.yaml"] !== undefined)
    copy.data = { ...data, "config.yaml": parse(data["config.yaml"]) as string };
  return copy;
}

async function kustomize(dir: string): Promise<KubeObject[]> {
  const { kubectl } = await resolveControlPlane();
  const [command = "kubectl", ...args] = kubectl;
  const { stdout } = await run(command, [...args, "kustomize", join(repoRoot, "deploy", dir)]);
  return parseAllDocuments(stdout).map((d) => d.toJS() as KubeObject);
}

/**
 * deploy/pulumi under Pulumi's mocks (its provider plugin cannot be built here; README says why): the
 * objects it declares must be those of `kubectl kustomize`, field by field, for deploy/base and for the
 * overlay that installs into a namespace of its own.
 */
describe("the @pulumi/kubernetes install program", () => {
  const declared: KubeObject[] = [];
  let install: typeof import("../../deploy/pulumi/install.js").installVpsieAutoscaler;

  /** What one call of the program declares; resources reach the mock monitor asynchronously. */
  const objectsOf = async (args: Parameters<typeof install>[0]) => {
    const before = declared.length;
    install(args);
    await new Promise((r) => setTimeout(r, 500));
    return declared.slice(before);
  };

  const expectSameObjects = (mine: KubeObject[], theirs: KubeObject[]) => {
    expect(mine.map(identity).sort()).toEqual(theirs.map(identity).sort());
    for (const object of theirs) {
      const counterpart = mine.find((d) => identity(d) === identity(object));
      expect(normalise(counterpart ?? ({} as KubeObject)), identity(object)).toEqual(normalise(object));
    }
  };

  beforeAll(async () => {
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          if (args.type.startsWith("kubernetes:")) declared.push(args.inputs as KubeObject);
          return { id: `${args.name}-id`, state: args.inputs };
        },
        call: () => ({}),
      },
      "vpsie-autoscaler-install",
      "test",
      true,
    );
    install = (await import("../../deploy/pulumi/install.js")).installVpsieAutoscaler;
  });

  it("declares exactly the objects of deploy/base, field by field", async () => {
    expectSameObjects(await objectsOf({ image: "vpsie-autoscaler:0.1.0" }), await kustomize("base"));
  });

  it("declares those of deploy/overlays/dedicated-namespace when told to install into its own namespace", async () => {
    const mine = await objectsOf({ image: "vpsie-autoscaler:0.1.0", namespace: "vpsie-autoscaler" });
    expectSameObjects(mine, await kustomize("overlays/dedicated-namespace"));
    const settings = mine.find((o) => o.metadata.name === "vpsie-autoscaler-config")?.data as Record<
      string,
      string
    >;
    expect(parse(settings["config.yaml"] ?? "")).toMatchObject({
      stackConfigMap: "vpsie-autoscaler/vpsie-autoscaler-stacks",
      lease: { namespace: "vpsie-autoscaler" },
    });
  });

  it("deploy/overlays/gitops changes only the settings: the stack files from a Git repository, and settings run accepts", async () => {
    const base = await kustomize("base");
    const gitops = await kustomize("overlays/gitops");
    const isConfig = (o: KubeObject) => o.metadata.name === "vpsie-autoscaler-config";
    expectSameObjects(
      gitops.filter((o) => !isConfig(o)),
      base.filter((o) => !isConfig(o)),
    );
    const text = (gitops.find(isConfig)?.data as Record<string, string>)["config.yaml"] ?? "";
    const settings = parseRunConfig(text, "deploy/overlays/gitops");
    expect(settings.stackConfigMap).toBeUndefined();
    expect(settings.git).toMatchObject({
      repo: "https://git.example.com/platform/cluster.git",
      branch: "main",
    });
    // Everything else as in the base.
    const baseSettings = parseRunConfig(
      (base.find(isConfig)?.data as Record<string, string>)["config.yaml"] ?? "",
      "deploy/base",
    );
    expect({ ...settings, git: undefined }).toEqual({ ...baseSettings, stackConfigMap: undefined });
  });
});
