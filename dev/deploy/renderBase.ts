/**
 * deploy/base is the chart's default render: `npm run render:deploy` writes it, and
 * test/deploy/chart.test.ts fails when the committed file is not what the chart renders now. Helm's
 * bookkeeping (release labels, the config checksum, keep-on-uninstall) is left out: Kustomize and
 * kubectl apply have no release.
 */
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { isMap, isScalar, parseAllDocuments, visit } from "yaml";
import { repoRoot } from "../../scaler/tools/paths.js";
import { HELM, resolveGoTool } from "../toolchain/goTools.js";

const run = promisify(execFile);

export const CHART_DIR = join(repoRoot, "deploy", "helm", "vpsie-autoscaler");
export const BASE_FILE = join(repoRoot, "deploy", "base", "vpsie-autoscaler.yaml");

const HELM_ONLY = new Set([
  "helm.sh/chart",
  "helm.sh/resource-policy",
  "app.kubernetes.io/managed-by",
  "app.kubernetes.io/instance",
  "app.kubernetes.io/version",
  "checksum/config",
]);

const HEADER = `# Generated from deploy/helm/vpsie-autoscaler (its default values, release vpsie-autoscaler in
# kube-system) by \`npm run render:deploy\`: change the chart, then render again.
`;

/** `helm template` of the chart, as one string of YAML documents. */
export async function helmTemplate(args: string[] = []): Promise<string> {
  const [helm = "helm", ...pre] = (await resolveGoTool(HELM)).command;
  const { stdout } = await run(
    helm,
    [...pre, "template", "vpsie-autoscaler", CHART_DIR, "--namespace", "kube-system", ...args],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  return stdout;
}

export async function renderBase(): Promise<string> {
  const documents = parseAllDocuments(await helmTemplate());
  const out: string[] = [];
  for (const doc of documents) {
    if (doc.contents === null) continue;
    visit(doc, {
      Pair(_, pair) {
        if (isScalar(pair.key) && HELM_ONLY.has(String(pair.key.value))) return visit.REMOVE;
      },
    });
    visit(doc, {
      Pair(_, pair) {
        if (
          isScalar(pair.key) &&
          pair.key.value === "annotations" &&
          isMap(pair.value) &&
          !pair.value.items.length
        )
          return visit.REMOVE;
      },
    });
    // Helm's "# Source: <template>" line says nothing outside the chart.
    const withoutSource = (comment: string | null | undefined) =>
      (comment ?? "")
        .split("\n")
        .filter((line) => !line.startsWith(" Source: "))
        .join("\n") || null;
    doc.commentBefore = withoutSource(doc.commentBefore);
    if (doc.contents) doc.contents.commentBefore = withoutSource(doc.contents.commentBefore);
    out.push(doc.toString({ lineWidth: 0, flowCollectionPadding: false }).replace(/^---\n/, ""));
  }
  return `${HEADER}---\n${out.join("---\n")}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await writeFile(BASE_FILE, await renderBase());
  process.stdout.write(`wrote ${BASE_FILE}\n`);
}
