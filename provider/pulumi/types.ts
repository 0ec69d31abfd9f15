/**
 * The type tokens of the VPSie resources: dynamic resources, so the engine runs them through the
 * `pulumi-nodejs` dynamic-provider plugin; `vpsie` is their module.
 */
export const RESOURCE_TYPES = {
  nodeGroup: "pulumi-nodejs:dynamic/vpsie:NodeGroup",
  node: "pulumi-nodejs:dynamic/vpsie:Node",
} as const;

/** The package whose provider plugin runs them (what PULUMI_DEBUG_PROVIDERS names to attach to one). */
export const DYNAMIC_PROVIDER_PACKAGE = "pulumi-nodejs";

/** Where a process that hosts the providers itself registers them for the state's provider text. */
export const HOSTED_PROVIDERS = Symbol.for("vpsie-autoscaler.providers");

/** The variable naming this installation's providers module, for a plugin that hosts none. */
export const PROVIDERS_ENV = "VPSIE_AUTOSCALER_PROVIDERS";
