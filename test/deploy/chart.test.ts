import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { parse, parseAllDocuments } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { BASE_FILE, CHART_DIR, helmTemplate, renderBase } from "../../dev/deploy/renderBase.js";
import { HELM, resolveGoTool } from "../../dev/toolchain/goTools.js";
import { parseRunConfig } from "../../scaler/config/runConfig.js";
import { NODE_GROUP_LABEL } from "../../scaler/decision/types.js";

const run = promisify(execFile);

interface KubeObject {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

async function rendered(...set: string[]): Promise<KubeObject[]> {
  const text = await helmTemplate(set.flatMap((s) => ["--set", s]));
  return parseAllDocuments(text)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);
}

const find = (objects: KubeObject[], kind: string, name = "vpsie-autoscaler") =>
  objects.find((o) => o.kind === kind && o.metadata.name === name);

// The parts of a Deployment these tests read.
interface PodSpec {
  nodeSelector?: Record<string, string>;
  tolerations?: unknown[];
  affinity?: {
    nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms: unknown[] } };
  };
  topologySpreadConstraints?: unknown[];
  priorityClassName?: string;
  serviceAccountName?: string;
  containers: Array<{ image: string; env: Array<{ name: string; value?: string }> }>;
  volumes: Array<{ name: string; secret?: { secretName: string } }>;
}
const podSpec = (objects: KubeObject[]) =>
  (find(objects, "Deployment")?.spec as { template: { spec: PodSpec } }).template.spec;
const settings = (objects: KubeObject[]) =>
  parseRunConfig(
    find(objects, "ConfigMap", "vpsie-autoscaler-config")?.data?.["config.yaml"] ?? "",
    "the chart",
  );

describe("the Helm chart", () => {
  let defaults: KubeObject[];
  beforeAll(async () => {
    defaults = await rendered();
  });

  it("passes helm lint --strict", async () => {
    const [helm = "helm", ...pre] = (await resolveGoTool(HELM)).command;
    const { stdout } = await run(helm, [...pre, "lint", "--strict", CHART_DIR]);
    expect(stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it("is what deploy/base installs: the committed render is the chart's render now", async () => {
    const committed = await readFile(BASE_FILE, "utf8");
    expect(
      committed === (await renderBase()),
      "deploy/base/vpsie-autoscaler.yaml is not the chart's render: run `npm run render:deploy` and commit it",
    ).toBe(true);
  });

  it("keeps the scaler off the nodes it manages by default, and takes the operator's affinity instead", async () => {
    expect(podSpec(defaults).affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution).toEqual({
      nodeSelectorTerms: [{ matchExpressions: [{ key: NODE_GROUP_LABEL, operator: "DoesNotExist" }] }],
    });
    const custom = podSpec(
      await rendered(
        "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=pool",
        "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator=In",
        "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values[0]=system",
      ),
    );
    expect(custom.affinity).toEqual({
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: "pool", operator: "In", values: ["system"] }] }],
        },
      },
    });
  });

  it("takes the values operators set in cluster-autoscaler's and Karpenter's charts", async () => {
    const objects = await rendered(
      "replicaCount=3",
      "image.repository=registry.example.com/vpsie-autoscaler",
      "image.tag=0.2.0",
      "nodeSelector.pool=system",
      "tolerations[0].key=dedicated",
      "tolerations[0].operator=Exists",
      "topologySpreadConstraints[0].maxSkew=1",
      "topologySpreadConstraints[0].topologyKey=topology.kubernetes.io/zone",
      "topologySpreadConstraints[0].whenUnsatisfiable=ScheduleAnyway",
      "priorityClassName=platform",
      "podDisruptionBudget.enabled=false",
      "serviceAccount.create=false",
      "serviceAccount.name=scaler",
      "secretName=vpsie-credentials",
      "stateBackend.url=s3://state-bucket/vpsie",
    );
    const spec = podSpec(objects);
    expect((find(objects, "Deployment")?.spec as { replicas: number }).replicas).toBe(3);
    expect(spec.containers[0]?.image).toBe("registry.example.com/vpsie-autoscaler:0.2.0");
    expect(spec.nodeSelector).toEqual({ pool: "system" });
    expect(spec.tolerations).toEqual([{ key: "dedicated", operator: "Exists" }]);
    expect(spec.topologySpreadConstraints).toEqual([
      { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway" },
    ]);
    expect(spec.priorityClassName).toBe("platform");
    expect(find(objects, "PodDisruptionBudget")).toBeUndefined();
    expect(find(objects, "ServiceAccount", "scaler")).toBeUndefined();
    expect(spec.serviceAccountName).toBe("scaler");
    expect(find(objects, "ClusterRoleBinding")?.["subjects" as keyof KubeObject]).toEqual([
      { kind: "ServiceAccount", name: "scaler", namespace: "kube-system" },
    ]);
    expect(spec.volumes.find((v) => v.name === "secrets")?.secret?.secretName).toBe("vpsie-credentials");
    // A backend URL without a secret goes into the settings, and the Secret's key is not read.
    expect(settings(objects).backend).toBe("s3://state-bucket/vpsie");
    expect(spec.containers[0]?.env.map((e) => e.name)).not.toContain("PULUMI_BACKEND_URL");

    const noRbac = await rendered("rbac.create=false");
    expect(noRbac.filter((o) => /Role/.test(o.kind))).toEqual([]);
  });

  it("writes run settings the scaler's own config loader accepts, the operator's merged over the defaults", async () => {
    expect(settings(defaults)).toMatchObject({
      stackConfigMap: "kube-system/vpsie-autoscaler-stacks",
      lease: { namespace: "kube-system", name: "vpsie-autoscaler" },
      scaleDown: { utilizationThreshold: 0.5, unneededTime: 600_000 },
    });
    const merged = settings(
      await rendered(
        "config.logLevel=debug",
        "config.scaleDown.unneededTime=5m",
        "config.limits.maxNodesTotal=50",
      ),
    );
    expect(merged).toMatchObject({
      logLevel: "debug",
      scaleDown: { utilizationThreshold: 0.5, unneededTime: 300_000, delayAfterAdd: 600_000 },
      limits: { maxNodesTotal: 50 },
    });
  });

  it("keeps the stack files in a Git repository with gitops.repo, its token from the Secret and never in the settings", async () => {
    const objects = await rendered(
      "gitops.repo=https://git.example.com/platform/cluster.git",
      "gitops.path=clusters/prod/node-groups",
    );
    const git = settings(objects);
    expect(git.stackConfigMap).toBeUndefined();
    expect(git.git).toEqual({
      repo: "https://git.example.com/platform/cluster.git",
      branch: "main",
      path: "clusters/prod/node-groups",
      author: { name: "vpsie-autoscaler", email: "vpsie-autoscaler@localhost" },
    });
    const env = podSpec(objects).containers[0]?.env ?? [];
    expect(env).toContainEqual({
      name: "VPSIE_AUTOSCALER_GIT_TOKEN",
      valueFrom: {
        secretKeyRef: { name: "vpsie-autoscaler", key: "VPSIE_AUTOSCALER_GIT_TOKEN", optional: true },
      },
    });
    expect(settings(defaults).git).toBeUndefined();
  });

  it("renders the Service, ServiceMonitor, PrometheusRule and dashboard from the files promtool and the metrics test check", async () => {
    expect(find(defaults, "ServiceMonitor")).toBeUndefined();
    expect(find(defaults, "PrometheusRule")).toBeUndefined();
    expect(find(defaults, "Service")?.spec).toMatchObject({
      ports: [{ name: "metrics", port: 8085, targetPort: "metrics" }],
    });
    const objects = await rendered(
      "serviceMonitor.enabled=true",
      "serviceMonitor.labels.release=prometheus",
      "prometheusRule.enabled=true",
      "dashboard.enabled=true",
    );
    const monitor = find(objects, "ServiceMonitor");
    expect(monitor?.metadata.labels?.release).toBe("prometheus");
    expect(monitor?.spec).toMatchObject({
      selector: { matchLabels: find(objects, "Service")?.spec?.selector },
      endpoints: [{ port: "metrics", path: "/metrics" }],
    });
    const alerts = parse(await readFile(join(CHART_DIR, "files", "alerts.yaml"), "utf8")) as unknown;
    expect(find(objects, "PrometheusRule")?.spec).toEqual(alerts);
    const dashboard = find(objects, "ConfigMap", "vpsie-autoscaler-dashboard");
    expect(dashboard?.metadata.labels?.grafana_dashboard).toBe("1");
    expect(JSON.parse(dashboard?.data?.["vpsie-autoscaler.json"] ?? "")).toEqual(
      JSON.parse(await readFile(join(CHART_DIR, "files", "dashboard.json"), "utf8")),
    );
  });
});
