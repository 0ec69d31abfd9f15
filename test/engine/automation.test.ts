import { existsSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { EngineEvent, Stack } from "@pulumi/pulumi/automation/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selectInlineStack } from "../../scaler/pulumi/workspace.js";
import { resolvePulumi } from "../../scaler/tools/pulumi.js";
import { tempDir } from "../../dev/testing/tempDir.js";

interface MarkerInputs {
  path: string;
  text: string;
}

/**
 * A dynamic provider whose create and delete leave traces on disk, so the test sees the engine ran them.
 * It is serialized into the state and run by the dynamic-provider plugin, a CommonJS process: `require`
 * is that process's, resolved when the provider runs, not captured from this module.
 */
const markerProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: MarkerInputs) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- runs in the plugin's CommonJS process
    const fs = require("node:fs/promises") as typeof import("node:fs/promises");
    await fs.writeFile(inputs.path, inputs.text);
    return { id: `marker-${inputs.text}`, outs: inputs };
  },
  async delete(_id: string, props: MarkerInputs) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- runs in the plugin's CommonJS process
    const fs = require("node:fs/promises") as typeof import("node:fs/promises");
    await fs.rm(props.path, { force: true });
  },
};

class Marker extends pulumi.dynamic.Resource {
  constructor(name: string, args: { path: string; text: string }) {
    super(markerProvider, name, args);
  }
}

const DYNAMIC_TYPE = "pulumi-nodejs:dynamic:Resource";

function creates(events: EngineEvent[]): string[] {
  return events.flatMap((e) =>
    e.resourcePreEvent?.metadata.op === "create" && e.resourcePreEvent.metadata.type === DYNAMIC_TYPE
      ? [e.resourcePreEvent.metadata.urn]
      : [],
  );
}

describe("the real Pulumi engine runs an inline program with a dynamic resource on a file:// backend", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let stack: Stack;
  let marker: string;

  beforeAll(async () => {
    dir = await tempDir("engine");
    marker = join(dir.path, "marker.txt");
    const { mkdir } = await import("node:fs/promises");
    await mkdir(join(dir.path, "state"));
    stack = await selectInlineStack({
      tools: await resolvePulumi(),
      projectName: "engine-check",
      stackName: "test",
      program: async () => {
        new Marker("greeting", { path: marker, text: "hello" });
      },
      backendUrl: `file://${join(dir.path, "state")}`,
      pulumiHome: join(dir.path, "home"),
      passphrase: "engine-test-passphrase",
    });
  });

  afterAll(async () => {
    await dir?.remove();
  });

  it("previews one create without touching anything", async () => {
    const events: EngineEvent[] = [];
    const preview = await stack.preview({ onEvent: (e) => events.push(e) });
    expect(creates(events)).toEqual([expect.stringMatching(/::greeting$/)]);
    expect(preview.changeSummary.create).toBeGreaterThanOrEqual(1);
    expect(existsSync(marker)).toBe(false);
  });

  it("creates the resource with a message that the stack history keeps", async () => {
    const message = "engine check: create the greeting marker";
    const up = await stack.up({ message });
    expect(up.summary.result).toBe("succeeded");
    expect(up.summary.message).toBe(message);
    expect(up.summary.resourceChanges?.create).toBe(2); // the stack itself and the marker
    expect(existsSync(marker)).toBe(true);

    const history = await stack.history();
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ kind: "update", result: "succeeded", message });
  });

  it("destroys what it created", async () => {
    const destroy = await stack.destroy({ message: "engine check: remove the marker" });
    expect(destroy.summary.result).toBe("succeeded");
    expect(existsSync(marker)).toBe(false);
    const state = await stack.exportStack();
    expect((state.deployment as { resources?: unknown[] }).resources ?? []).toEqual([]);
  });
});
