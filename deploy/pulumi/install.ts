/**
 * vpsie-autoscaler's in-cluster install as @pulumi/kubernetes resources: the objects the Helm chart
 * renders with its default values (deploy/base), from typed inputs. A test compares them object by object.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import { NODE_GROUP_LABEL } from "../../scaler/decision/types.js";

export interface InstallArgs {
  /** The image, e.g. registry.example.com/vpsie-autoscaler:0.1.0. */
  image: string;
  /** Where the scaler, its Lease and its ConfigMaps live (default kube-system; another is created). */
  namespace?: string;
  /** Default 2: one leads, one waits. */
  replicas?: number;
  /** The Secret you create with the VPSie credentials, PULUMI_BACKEND_URL and PULUMI_CONFIG_PASSPHRASE. */
  secretName?: string;
  /** `run --config` settings beyond the paths, lease and stack ConfigMap this install sets. */
  settings?: Record<string, unknown>;
}

const NAME = "vpsie-autoscaler";
const STATE_DIR = "/var/lib/vpsie-autoscaler";
const LABELS = { "app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": NAME };
const SELECTOR = { "app.kubernetes.io/name": NAME };

/** The planner settings deploy/base ships; cluster-autoscaler's defaults. */
export const DEFAULT_SETTINGS = {
  metricsAddress: "0.0.0.0:8085",
  scanInterval: 10,
  expanders: ["least-waste"],
  scaleDown: { utilizationThreshold: 0.5, unneededTime: "10m", delayAfterAdd: "10m" },
};

export function installVpsieAutoscaler(args: InstallArgs, opts: pulumi.ComponentResourceOptions = {}) {
  const namespace = args.namespace ?? "kube-system";
  const secretName = args.secretName ?? NAME;
  const parent = new pulumi.ComponentResource("vpsie:install:VpsieAutoscaler", NAME, {}, opts);
  const child = { parent };
  const metadata = (name: string) => ({ name, namespace, labels: LABELS });

  const ns =
    namespace === "kube-system"
      ? undefined
      : new k8s.core.v1.Namespace(namespace, { metadata: { name: namespace, labels: LABELS } }, child);
  const inNamespace = { parent, dependsOn: ns ? [ns] : [] };

  const serviceAccount = new k8s.core.v1.ServiceAccount(NAME, { metadata: metadata(NAME) }, inNamespace);
  const clusterRole = new k8s.rbac.v1.ClusterRole(
    NAME,
    {
      metadata: { name: NAME, labels: LABELS },
      rules: [
        { apiGroups: [""], resources: ["nodes"], verbs: ["get", "list", "watch", "update", "delete"] },
        { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] },
        { apiGroups: [""], resources: ["pods/eviction"], verbs: ["create"] },
        { apiGroups: ["policy"], resources: ["poddisruptionbudgets"], verbs: ["list", "watch"] },
        { apiGroups: [""], resources: ["events"], verbs: ["create"] },
      ],
    },
    child,
  );
  const subjects = [{ kind: "ServiceAccount", name: NAME, namespace }];
  new k8s.rbac.v1.ClusterRoleBinding(
    NAME,
    {
      metadata: { name: NAME, labels: LABELS },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: NAME },
      subjects,
    },
    { parent, dependsOn: [clusterRole, serviceAccount] },
  );
  const role = new k8s.rbac.v1.Role(
    NAME,
    {
      metadata: metadata(NAME),
      rules: [
        {
          apiGroups: ["coordination.k8s.io"],
          resources: ["leases"],
          resourceNames: [NAME],
          verbs: ["get", "update"],
        },
        {
          apiGroups: [""],
          resources: ["configmaps"],
          resourceNames: [`${NAME}-status`, `${NAME}-stacks`],
          verbs: ["get", "update"],
        },
        {
          apiGroups: [""],
          resources: ["configmaps"],
          resourceNames: [`${NAME}-intents`, `${NAME}-reviews`],
          verbs: ["get", "patch"],
        },
      ],
    },
    inNamespace,
  );
  new k8s.rbac.v1.RoleBinding(
    NAME,
    {
      metadata: metadata(NAME),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: NAME },
      subjects,
    },
    { parent, dependsOn: [role, serviceAccount] },
  );

  const settings = {
    projectDir: `${STATE_DIR}/project`,
    workDir: `${STATE_DIR}/work`,
    stackConfigMap: `${namespace}/${NAME}-stacks`,
    intentConfigMap: `${namespace}/${NAME}-intents`,
    reviewConfigMap: `${namespace}/${NAME}-reviews`,
    ...DEFAULT_SETTINGS,
    lease: { namespace, name: NAME, durationSeconds: 15 },
    ...args.settings,
  };
  const config = new k8s.core.v1.ConfigMap(
    `${NAME}-config`,
    { metadata: metadata(`${NAME}-config`), data: { "config.yaml": stringify(settings) } },
    inNamespace,
  );
  // Their keys are the scaler's and people's, never this program's: it declares none.
  const scalersConfigMap = (suffix: string) =>
    new k8s.core.v1.ConfigMap(
      `${NAME}-${suffix}`,
      { metadata: metadata(`${NAME}-${suffix}`) },
      { ...inNamespace, ignoreChanges: ["data"] },
    );
  const stacks = scalersConfigMap("stacks");
  const intents = scalersConfigMap("intents");
  const reviews = scalersConfigMap("reviews");
  const status = scalersConfigMap("status");
  // Shipped, so the Role needs no `create`; the replicas fill in its holder.
  const lease = new k8s.coordination.v1.Lease(
    NAME,
    { metadata: metadata(NAME), spec: {} },
    { ...inNamespace, ignoreChanges: ["spec"] },
  );

  const secretEnv = (key: string, optional: boolean) => ({
    name: key,
    valueFrom: { secretKeyRef: { name: secretName, key, ...(optional ? { optional } : {}) } },
  });
  const deployment = new k8s.apps.v1.Deployment(
    NAME,
    {
      metadata: metadata(NAME),
      spec: {
        replicas: args.replicas ?? 2,
        revisionHistoryLimit: 5,
        strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
        selector: { matchLabels: SELECTOR },
        template: {
          metadata: {
            labels: SELECTOR,
            annotations: {
              "cluster-autoscaler.kubernetes.io/safe-to-evict": "false",
              "prometheus.io/scrape": "true",
              "prometheus.io/port": "8085",
            },
          },
          spec: {
            serviceAccountName: NAME,
            priorityClassName: "system-cluster-critical",
            terminationGracePeriodSeconds: 120,
            securityContext: {
              runAsNonRoot: true,
              runAsUser: 65532,
              runAsGroup: 65532,
              fsGroup: 65532,
              seccompProfile: { type: "RuntimeDefault" },
            },
            affinity: {
              // Never on a node this scaler manages: removing it would mean draining itself.
              nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                  nodeSelectorTerms: [
                    { matchExpressions: [{ key: NODE_GROUP_LABEL, operator: "DoesNotExist" }] },
                  ],
                },
              },
              podAntiAffinity: {
                preferredDuringSchedulingIgnoredDuringExecution: [
                  {
                    weight: 100,
                    podAffinityTerm: {
                      topologyKey: "kubernetes.io/hostname",
                      labelSelector: { matchLabels: SELECTOR },
                    },
                  },
                ],
              },
            },
            tolerations: [{ key: "CriticalAddonsOnly", operator: "Exists" }],
            containers: [
              {
                name: NAME,
                image: args.image,
                imagePullPolicy: "IfNotPresent",
                args: ["run", "--config=/etc/vpsie-autoscaler/config/config.yaml"],
                env: [
                  secretEnv("VPSIE_TOKEN", true),
                  secretEnv("VPSIE_CLIENT_ID", true),
                  secretEnv("VPSIE_CLIENT_SECRET", true),
                  secretEnv("VPSIE_API_URL", true),
                  secretEnv("VPSIE_AUTOSCALER_GIT_USERNAME", true),
                  secretEnv("VPSIE_AUTOSCALER_GIT_TOKEN", true),
                  secretEnv("VPSIE_AUTOSCALER_CONSOLE_TOKEN", true),
                  secretEnv("PULUMI_BACKEND_URL", false),
                  {
                    name: "PULUMI_CONFIG_PASSPHRASE_FILE",
                    value: "/etc/vpsie-autoscaler/secrets/pulumi-passphrase",
                  },
                ],
                ports: [{ name: "metrics", containerPort: 8085 }],
                livenessProbe: {
                  httpGet: { path: "/healthz", port: "metrics" },
                  initialDelaySeconds: 30,
                  periodSeconds: 20,
                  timeoutSeconds: 5,
                  failureThreshold: 3,
                },
                readinessProbe: {
                  httpGet: { path: "/readyz", port: "metrics" },
                  periodSeconds: 10,
                  timeoutSeconds: 5,
                },
                resources: {
                  requests: { cpu: "100m", memory: "256Mi" },
                  limits: { cpu: "200m", memory: "1Gi" },
                },
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  privileged: false,
                  capabilities: { drop: ["ALL"] },
                },
                volumeMounts: [
                  { name: "state", mountPath: STATE_DIR },
                  { name: "tmp", mountPath: "/tmp" },
                  { name: "config", mountPath: "/etc/vpsie-autoscaler/config", readOnly: true },
                  { name: "secrets", mountPath: "/etc/vpsie-autoscaler/secrets", readOnly: true },
                ],
              },
            ],
            volumes: [
              { name: "state", emptyDir: { sizeLimit: "1Gi" } },
              { name: "tmp", emptyDir: { sizeLimit: "256Mi" } },
              { name: "config", configMap: { name: `${NAME}-config` } },
              {
                name: "secrets",
                secret: {
                  secretName,
                  items: [{ key: "PULUMI_CONFIG_PASSPHRASE", path: "pulumi-passphrase" }],
                },
              },
            ],
          },
        },
      },
    },
    { parent, dependsOn: [config, stacks, intents, reviews, status, lease, serviceAccount] },
  );
  new k8s.core.v1.Service(
    NAME,
    {
      metadata: metadata(NAME),
      spec: {
        type: "ClusterIP",
        selector: SELECTOR,
        ports: [{ name: "metrics", port: 8085, targetPort: "metrics", protocol: "TCP" }],
      },
    },
    inNamespace,
  );
  new k8s.policy.v1.PodDisruptionBudget(
    NAME,
    { metadata: metadata(NAME), spec: { minAvailable: 1, selector: { matchLabels: SELECTOR } } },
    inNamespace,
  );
  return { namespace, deploymentName: deployment.metadata.name };
}
