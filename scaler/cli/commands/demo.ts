import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { resolvePulumi } from "../../toolchain/pulumi.js";
import { formatTable } from "../output.js";
import { progressPrinter } from "../progress.js";

export function demoCommand(): Command {
  return new Command("demo")
    .description(
      "run the local demo; until the cluster, the VPSie emulator and the scaler exist, it puts the Pulumi engine through preview, up, history and destroy",
    )
    .option("--keep", "keep the temporary state directory and print where it is")
    .action(async (opts: { keep?: boolean }) => {
      const progress = progressPrinter();
      // Pulumi takes most of a second to load: only the commands that use it pay for it.
      const pulumi = await import("@pulumi/pulumi");
      const { selectInlineStack } = await import("../../pulumi/workspace.js");
      /** A resource that only records its text: enough to put the engine through a whole update cycle. */
      const noteProvider: import("@pulumi/pulumi").dynamic.ResourceProvider = {
        async create(inputs: { text: string }) {
          return { id: `note-${Date.now()}`, outs: inputs };
        },
      };
      class Note extends pulumi.dynamic.Resource {
        constructor(name: string, props: { text: string }) {
          super(noteProvider, name, props);
        }
      }
      progress(
        "the full demo (local Kubernetes control plane, VPSie emulator, scaler) is not built yet: running what exists, the Pulumi engine on a file:// backend",
      );
      const dir = await mkdtemp(join(tmpdir(), "vpsie-autoscaler-demo-"));
      try {
        await mkdir(join(dir, "state"));
        const stack = await selectInlineStack({
          tools: await resolvePulumi(),
          projectName: "vpsie-autoscaler-demo",
          stackName: "demo",
          program: async () => {
            new Note("hello", { text: "every change is a Pulumi update" });
          },
          backendUrl: `file://${join(dir, "state")}`,
          pulumiHome: join(dir, "pulumi-home"),
          passphrase: randomBytes(24).toString("base64url"),
        });
        progress("preview: what would change");
        const preview = await stack.preview();
        progress(`preview: ${JSON.stringify(preview.changeSummary)}`);
        progress("up: applying, with a message saying why");
        await stack.up({ message: "demo: create a note" });
        progress("destroy: removing it again");
        await stack.destroy({ message: "demo: remove the note" });
        const history = await stack.history();
        progress("done; the stack history:");
        process.stdout.write(
          formatTable(
            ["TIME", "KIND", "RESULT", "MESSAGE"],
            history.map((h) => [new Date(h.startTime).toISOString(), h.kind, h.result, h.message]),
          ),
        );
      } finally {
        if (opts.keep) progress(`state kept in ${dir}`);
        else await rm(dir, { recursive: true, force: true });
      }
    });
}
