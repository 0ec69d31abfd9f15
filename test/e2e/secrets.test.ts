import { randomUUID } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { CoordinationV1Api, CoreV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attachJoinHook } from "../../dev/emulator/joinHook.js";
import { runCli, spawnCliToLog } from "../../dev/testing/cli.js";
import { filesUnder, readText as text } from "../../dev/testing/files.js";
import { eventually, startCluster, type TestCluster } from "../../dev/testing/cluster.js";
import { DEMO_CLUSTER, GENERAL_GROUP, type TestEmulator, testEmulator } from "../../dev/testing/emulator.js";
import { testProject, type TestProject } from "../../dev/testing/project.js";
import { deployWeb } from "../../dev/testing/workload.js";

const TOKEN = `tok-${randomUUID()}`;
const CLIENT = { id: "secrets-client", secret: `sec-${randomUUID()}` };
const PASSPHRASE = `pass-${randomUUID()}`;

/**
 * The VPSie token, the client secret, every access token VPSie issued for it, and the Pulumi passphrase
 * never appear in what real runs leave behind: `run` at debug level through a scale-up with token
 * renewals and a forced re-login, the CLI's commands (one failing on an API error), the process
 * arguments of every process meanwhile, every file in the project, work and state directories
 * (decompressed), and what the scaler wrote to Kubernetes (events, status, Lease).
 */
describe("secrets stay secret in real runs", () => {
  let cluster: TestCluster;
  let sim: TestEmulator;
  let project: TestProject;
  const outputs: string[] = [];
  const argv = new Set<string>();
  const issued = new Set<string>();
  let sampler: NodeJS.Timeout | undefined;

  const remember = () => {
    for (const token of Object.keys(sim.emulator.world.data.issuedTokens)) issued.add(token);
  };
  const withClient = () => ({
    ...process.env,
    VPSIE_TOKEN: undefined,
    VPSIE_API_URL: sim.url,
    VPSIE_CLIENT_ID: CLIENT.id,
    VPSIE_CLIENT_SECRET: CLIENT.secret,
    PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
  });
  const withToken = () => ({
    ...process.env,
    VPSIE_API_URL: sim.url,
    VPSIE_TOKEN: TOKEN,
    PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
  });
  const cli = async (args: string[], env: NodeJS.ProcessEnv) => {
    const result = await runCli(args, env);
    outputs.push(`$ ${args.join(" ")}\n${result.stdout}\n${result.stderr}`);
    return result;
  };

  beforeAll(async () => {
    cluster = await startCluster("secrets");
    sim = await testEmulator((c) => {
      const account = c.accounts[0]!;
      account.tokens = [TOKEN];
      account.clients = [{ clientId: CLIENT.id, clientSecret: CLIENT.secret }];
      // Short-lived access tokens: the client renews them during the run.
      c.behaviour = { provisionDelayMs: 300, tokenLifetimeSeconds: 5 };
    });
    attachJoinHook(sim.emulator.world, cluster.record.kubeconfig, () => undefined);
    project = await testProject("secrets");
    await project.writeGroup(GENERAL_GROUP);
    sampler = setInterval(() => {
      void readdir("/proc").then(async (entries) => {
        for (const pid of entries.filter((e) => /^\d+$/.test(e)))
          argv.add((await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).replaceAll("\0", " "));
      });
    }, 100);
  });

  afterAll(async () => {
    clearInterval(sampler);
    await sim?.stop();
    await cluster?.stop();
    await project?.remove();
  });

  it(
    "leaves none of them in logs, errors, arguments, files, or Kubernetes objects",
    { timeout: 400_000 },
    async () => {
      expect(
        (
          await cli(
            ["scale", "--group", "general", "--add", "1", "--reason", "first node", ...project.flags],
            withClient(),
          )
        ).code,
      ).toBe(0);

      const log = join(project.workDir, "run.log");
      const run = spawnCliToLog(
        [
          "run",
          "--kubeconfig",
          cluster.record.kubeconfig,
          ...project.flags,
          "--scan-interval",
          "2",
          "--log-level",
          "debug",
          "--metrics-address",
          "127.0.0.1:0",
        ],
        log,
        withClient(),
      );
      try {
        await eventually(
          "run to lead",
          async () => ((await text(log)).includes("became the leader") ? true : undefined),
          60_000,
        );
        // Every token so far stops working: the next call is refused and the client logs in again.
        remember();
        sim.emulator.world.data.issuedTokens = {};
        await deployWeb(cluster.kubeconfig);
        await eventually(
          "the scale-up to finish",
          async () => ((await text(log)).includes("done: scale-up general 1 → 2") ? true : undefined),
          90_000,
        ).catch(async (e: Error) => {
          throw new Error(`${e.message}; the run's log ends:\n${(await text(log)).slice(-3000)}`);
        });
        await new Promise((r) => setTimeout(r, 6_000)); // past one token lifetime: a renewal
      } finally {
        run.kill("SIGTERM");
        await new Promise((r) => run.once("exit", r));
      }
      remember();
      outputs.push(await text(log));

      // VPSie refuses every listing for a while: the command fails and prints VPSie's answer.
      await sim.addFaults({ kind: "error", status: 500, path: "/apps/v2/k8s/cluster/all" });
      const failed = await cli(["vpsie", "clusters"], withToken());
      await sim.clearFaults();
      expect(failed.code).not.toBe(0);
      for (const args of [
        ["history", "--output", "json", ...project.flags],
        ["preview", ...project.flags],
        ["vpsie", "nodes", "--cluster", DEMO_CLUSTER, "--output", "json"],
        ["doctor", "--output", "json", "--kubeconfig", cluster.record.kubeconfig, ...project.flags],
      ])
        await cli(args, withToken());
      await cli(["vpsie", "clusters"], withClient());
      remember();

      const core = cluster.kubeconfig.makeApiClient(CoreV1Api);
      const written = [
        JSON.stringify((await core.listEventForAllNamespaces()).items),
        JSON.stringify((await core.listNamespacedConfigMap({ namespace: "kube-system" })).items),
        JSON.stringify(
          (
            await cluster.kubeconfig
              .makeApiClient(CoordinationV1Api)
              .listNamespacedLease({ namespace: "kube-system" })
          ).items,
        ),
      ];
      const files = [
        ...(await filesUnder(project.dir)).filter((f) => !f.includes("node_modules")),
        ...(await filesUnder(project.workDir)),
        ...(await filesUnder(project.backendDir)),
      ];
      const contents = await Promise.all(
        files.map(async (f) => ((await stat(f)).size < 50e6 ? text(f) : "")),
      );

      // The search is not vacuous: the runs happened, logged at debug, and renewed their tokens.
      expect(outputs.join("\n")).toMatch(/"level":"?(debug|20)/);
      expect(files.some((f) => f.includes("history"))).toBe(true);
      expect(issued.size).toBeGreaterThanOrEqual(3);
      const haystacks: Array<[string, string]> = [
        ["command output and logs", outputs.join("\n")],
        ["process arguments", [...argv].join("\n")],
        ["objects in Kubernetes", written.join("\n")],
        ...files.map((f, i): [string, string] => [f, contents[i] ?? ""]),
      ];
      const secrets: Array<[string, string]> = [
        ["the VPSie token", TOKEN],
        ["the client secret", CLIENT.secret],
        ["the passphrase", PASSPHRASE],
        ...[...issued].map((t): [string, string] => ["an access token VPSie issued", t]),
      ];
      for (const [where, haystack] of haystacks)
        for (const [what, secret] of secrets)
          expect(haystack.includes(secret), `${what} in ${where}`).toBe(false);
    },
  );
});
