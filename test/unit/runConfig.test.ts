import { describe, expect, it } from "vitest";
import { parseRunConfig, plannerOptions, RunConfigError } from "../../scaler/config/runConfig.js";

describe("run's configuration file", () => {
  it("reads the planner's settings with Go-style durations and quantities", () => {
    const config = parseRunConfig(
      [
        "scanInterval: 5",
        "lease: {namespace: autoscaling, durationSeconds: 20}",
        "expanders: [priority, least-waste]",
        "scaleUp: {newPodDelay: 0s, initialBackoff: 20s, maxBackoff: 2m, lostAnswerWait: 30s}",
        "scaleDown: {utilizationThreshold: 0.6, unneededTime: 5m, delayAfterAdd: 1h30m}",
        "limits: {maxCores: 64, maxMemory: 256Gi}",
      ].join("\n"),
      "config.yaml",
    );
    expect(config.lease).toEqual({ namespace: "autoscaling", durationSeconds: 20 });
    // Not the planner's: the apply layer's, how long a lost add's worker is looked for.
    expect(config.scaleUp?.lostAnswerWait).toBe(30_000);
    expect(plannerOptions(config)).toEqual({
      expanders: ["priority", "least-waste"],
      newPodScaleUpDelayMs: 0,
      initialBackoffMs: 20_000,
      maxBackoffMs: 120_000,
      scaleDownUtilizationThreshold: 0.6,
      scaleDownUnneededTimeMs: 300_000,
      scaleDownDelayAfterAddMs: 5_400_000,
      limits: {
        maxNodesTotal: undefined,
        maxCores: 64,
        maxMemoryBytes: 256 * 2 ** 30,
        maxCostPerHour: undefined,
      },
    });
    expect(plannerOptions(parseRunConfig("", "empty.yaml"))).toEqual({});
  });

  it("reads the review settings: the mode, a limit in money, the approval policy", () => {
    const config = parseRunConfig(
      [
        "mode: shadow",
        "limits: {maxCostPerHour: 12.5}",
        "approvals: {scaleUpNodesOver: 10, nonEmptyScaleDown: true, groups: [gpu], expireAfter: 30m}",
        "reviewConfigMap: kube-system/vpsie-autoscaler-reviews",
        "consoleAddress: 127.0.0.1:8086",
      ].join("\n"),
      "config.yaml",
    );
    expect(config.mode).toBe("shadow");
    expect(config.approvals).toEqual({
      scaleUpNodesOver: 10,
      nonEmptyScaleDown: true,
      groups: ["gpu"],
      expireAfter: 1_800_000,
    });
    expect(plannerOptions(config).limits?.maxCostPerHour).toBe(12.5);
    expect(() => parseRunConfig("mode: dry-run", "c.yaml")).toThrow(/^c\.yaml: mode: /);
    expect(() => parseRunConfig("approvals: {scaleUpNodesOver: -1}", "c.yaml")).toThrow(
      /^c\.yaml: approvals\.scaleUpNodesOver: /,
    );
    expect(() => parseRunConfig("approvals: {everything: true}", "c.yaml")).toThrow(
      /^c\.yaml: approvals: .*everything/,
    );
    expect(() => parseRunConfig("limits: {maxCostPerHour: -5}", "c.yaml")).toThrow(/limits\.maxCostPerHour/);
  });

  it("names the field that is wrong", () => {
    expect(() => parseRunConfig("scaleDown: {unneededTime: ten minutes}", "c.yaml")).toThrow(
      'c.yaml: scaleDown.unneededTime: "ten minutes" is not a duration (e.g. 10m, 90s, 1h30m)',
    );
    expect(() => parseRunConfig("expanders: [cheapest]", "c.yaml")).toThrow(/^c\.yaml: expanders\.0: /);
    expect(() => parseRunConfig("scanInterval: 90", "c.yaml")).toThrow(/^c\.yaml: scanInterval: /);
    expect(() => parseRunConfig("limits: {maxMemory: lots}", "c.yaml")).toThrow(
      /limits\.maxMemory: "lots" is not a Kubernetes quantity/,
    );
    expect(() => parseRunConfig("surprise: 1", "c.yaml")).toThrow(RunConfigError);
  });
});
