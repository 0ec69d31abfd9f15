import { resolvePulumi } from "../../scaler/toolchain/pulumi.js";

/**
 * The engine tests need the real Pulumi CLI. A missing CLI fails the run with the way to get it,
 * rather than letting those tests skip.
 */
export default async function setup(): Promise<void> {
  await resolvePulumi();
}
