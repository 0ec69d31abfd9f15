import { Command } from "commander";
import { ExitCode } from "../exitCodes.js";
import { helpText } from "../help.js";
import { loadKubeconfig } from "../kubernetesFlags.js";
import { formatTable, type OutputFormat, outputOption } from "../output.js";
import { addStackOptions, engine, type StackFlags } from "./stacks.js";

export function doctorCommand(): Command {
  return addStackOptions(
    new Command("doctor")
      .description(
        "a read-only preflight against your VPSie account and cluster: credentials, each node group's cluster and size, the API's answer shapes, the Kubernetes permissions run needs, the state backend and passphrase, the tools",
      )
      .option(
        "--kubeconfig <file>",
        "kubeconfig whose account run will use (default: in-cluster, $KUBECONFIG or ~/.kube/config)",
      )
      .option("--namespace <ns>", "where run keeps its Lease and ConfigMaps", "kube-system")
      .addOption(outputOption()),
  )
    .addHelpText(
      "after",
      helpText({
        examples: [
          "vpsie-autoscaler doctor",
          "vpsie-autoscaler doctor --kubeconfig ~/.kube/prod --output json > doctor.json",
        ],
        environment: [
          "VPSIE_API_URL, VPSIE_TOKEN or VPSIE_CLIENT_ID and VPSIE_CLIENT_SECRET",
          "PULUMI_BACKEND_URL, PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE",
          "KUBECONFIG",
        ],
        exitCodes: ["0 no blocking finding", "1 a blocking finding (see the table)", "2 bad flags"],
      }),
    )
    .action(async (opts: StackFlags & { kubeconfig?: string; namespace: string; output: OutputFormat }) => {
      const { credentialsFromEnv } = await import("../../../provider/vpsie/credentials.js");
      const { kubernetesFindings, vpsieFindings } = await import("../../doctor/checks.js");
      const { configuredGroups } = await import("../../controller/catalog.js");
      const { resolvePulumi } = await import("../../tools/pulumi.js");
      type Finding = Awaited<ReturnType<typeof vpsieFindings>>[number];
      const findings: Finding[] = [];
      const problem = (err: unknown) => (err instanceof Error ? err.message : String(err));

      try {
        const tools = await resolvePulumi();
        findings.push({
          area: "tools",
          check: "pulumi CLI and plugins",
          status: "ok",
          detail: `v${tools.version} at ${tools.pulumi}`,
        });
      } catch (err) {
        findings.push({
          area: "tools",
          check: "pulumi CLI and plugins",
          status: "blocking",
          detail: problem(err),
        });
      }

      const groups = await configuredGroups(opts.projectDir).catch((err: unknown) => {
        findings.push({
          area: "node groups",
          check: `stack config in ${opts.projectDir}`,
          status: "blocking",
          detail: problem(err),
        });
        return [];
      });
      if (groups.length === 0)
        findings.push({
          area: "node groups",
          check: "managed node groups",
          status: "warning",
          detail: `none declared in ${opts.projectDir}/stacks`,
        });

      try {
        const { credentials, apiUrl } = credentialsFromEnv();
        findings.push(...(await vpsieFindings({ credentials, apiUrl, groups })));
      } catch (err) {
        findings.push({
          area: "credentials",
          check: "VPSie credentials",
          status: "blocking",
          detail: problem(err),
        });
      }

      try {
        const settings = await engine(opts);
        const { selectProjectStack } = await import("../../pulumi/workspace.js");
        const { hostProviders } = await import("../../pulumi/hostedProviders.js");
        const env = await hostProviders(settings.projectDir);
        findings.push({
          area: "state",
          check: "backend",
          status: "ok",
          detail: settings.backendUrl.replace(/\/\/[^@/]*@/, "//…@"),
        });
        for (const group of groups) {
          try {
            const stack = await selectProjectStack({ ...settings, stackName: group.name, env });
            // A preview opens the stack's secrets with the passphrase (reading it does not), and says
            // whether the stack matches its config; it changes nothing.
            const { changeSummary } = await stack.preview();
            const pending = Object.entries(changeSummary)
              .filter(([op, n]) => op !== "same" && n > 0)
              .map(([op, n]) => `${n} to ${op}`);
            findings.push({
              area: "state",
              check: `stack ${group.name} and the passphrase`,
              status: pending.length ? "info" : "ok",
              detail: pending.length ? `previews ${pending.join(", ")}` : "previews no change",
            });
          } catch (err) {
            findings.push({
              area: "state",
              check: `stack ${group.name} and the passphrase`,
              status: "blocking",
              detail: problem(err).split("\n").slice(-3).join(" "),
            });
          }
        }
      } catch (err) {
        findings.push({
          area: "state",
          check: "backend and passphrase",
          status: "blocking",
          detail: problem(err),
        });
      }

      try {
        const kubeconfig = await loadKubeconfig(opts.kubeconfig);
        findings.push(...(await kubernetesFindings(kubeconfig, opts.namespace)));
      } catch (err) {
        findings.push({
          area: "kubernetes",
          check: "permissions run needs",
          status: "blocking",
          detail: problem(err),
        });
      }

      const blocking = findings.filter((f) => f.status === "blocking").length;
      if (opts.output === "json") {
        process.stdout.write(`${JSON.stringify({ blocking, findings }, null, 2)}\n`);
      } else {
        process.stdout.write(
          formatTable(
            ["AREA", "CHECK", "STATUS", "DETAIL"],
            findings.map((f) => [f.area, f.check, f.status.toUpperCase(), f.detail]),
          ),
        );
        process.stdout.write(
          blocking
            ? `\n${blocking} blocking finding(s): run would fail; fix them first\n`
            : "\nno blocking finding\n",
        );
      }
      if (blocking) process.exitCode = ExitCode.failure;
    });
}
