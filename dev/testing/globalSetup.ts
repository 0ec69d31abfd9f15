import { resolveControlPlane } from "../toolchain/kube.js";
import { resolvePulumi } from "../../scaler/tools/pulumi.js";
import { HELM, KARPENTER, PROMTOOL, resolveGoTool } from "../toolchain/goTools.js";

/**
 * The engine and cluster tests need the real Pulumi CLI and control plane, the install tests helm and
 * promtool, the peer benchmark's test Karpenter. A missing tool fails the
 * run with the way to get it, rather than letting those tests skip.
 */
export default async function setup(): Promise<void> {
  await resolvePulumi();
  await resolveControlPlane();
  await resolveGoTool(HELM);
  await resolveGoTool(PROMTOOL);
  await resolveGoTool(KARPENTER);
}
