import { CoreV1Api } from "@kubernetes/client-node";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Applier } from "../../scaler/apply/applier.js";
import { runCli } from "../../dev/testing/cli.js";
import { startCluster, type TestCluster } from "../../dev/testing/cluster.js";
import { DEMO_CLUSTER, type TestEmulator, testEmulator } from "../../dev/testing/emulator.js";
import { testProject, type TestProject } from "../../dev/testing/project.js";

interface DoctorReport {
  blocking: number;
  findings: Array<{ area: string; check: string; status: string; detail: string }>;
}

describe("vpsie-autoscaler doctor, read-only, against the emulator and a real API server", () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startCluster("doctor");
  });
  afterAll(() => cluster?.stop());

  for (const profile of ["default", "evidence"] as const) {
    describe(`${profile} profile`, () => {
      let sim: TestEmulator;
      let project: TestProject;

      beforeAll(async () => {
        sim = await testEmulator((c) => {
          c.behaviour = { profile, provisionDelayMs: 0 };
        });
        project = await testProject(`doctor-${profile}`);
        await project.writeGroup({
          name: "general",
          cluster: DEMO_CLUSTER,
          kubeSizeId: 2,
          minNodes: 0,
          maxNodes: 3,
          nodes: [],
        });
        process.env.VPSIE_API_URL = sim.url;
        process.env.VPSIE_TOKEN = "demo-token";
        await new Applier({ ...project.engine, client: sim.client() }).apply({
          group: "general",
          add: 1,
          remove: [],
          reason: "a node to look at",
        });
      });
      afterAll(async () => {
        await sim?.stop();
        await project?.remove();
      });

      const doctor = (env: Record<string, string> = {}, args: string[] = []) =>
        runCli(["doctor", ...project.flags, "--kubeconfig", cluster.record.kubeconfig, ...args], {
          ...process.env,
          VPSIE_API_URL: sim.url,
          VPSIE_TOKEN: "demo-token",
          PULUMI_CONFIG_PASSPHRASE: project.engine.passphrase,
          ...env,
        });
      const finding = (report: DoctorReport, check: string) => report.findings.find((f) => f.check === check);

      it("finds nothing blocking, reports the API's shapes, and changes nothing", async () => {
        const requests = () => sim.requests();
        const before = (await requests()).filter(
          (r) => r.method !== "GET" && !r.path.endsWith("/offers"),
        ).length;
        const result = await doctor({}, ["--output", "json"]);
        expect(result.code, result.stderr).toBe(0);
        const report = JSON.parse(result.stdout) as DoctorReport;
        expect(report.blocking).toBe(0);
        expect(finding(report, "access token at " + sim.url)?.status).toBe("ok");
        expect(finding(report, "group general (size 2)")?.detail).toMatch(
          /^exists at VPSie \(id \d+, 1 node\(s\)\)/,
        );
        expect(finding(report, "stack general and the passphrase")?.status).toBe("ok");
        expect(finding(report, "create pods/eviction")?.status).toBe("ok");
        expect(finding(report, "VM list at /api/v2/vm")?.detail).toMatch(/^answers/);
        if (profile === "default") {
          expect(finding(report, "nodes[].identifier")?.detail).toBe("2 of 2 node(s) carry one");
          expect(finding(report, "node_type values (→ as read)")?.detail).toBe(
            "master → master, slave → worker",
          );
        } else {
          expect(finding(report, "nodes[].identifier")?.detail).toBe(
            "0 of 2 node(s) carry one (the VM list by hostname stands in)",
          );
          expect(finding(report, "node_type values (→ as read)")?.detail).toBe("1 → master, 2 → worker");
          expect(finding(report, "hostname case")?.detail).toMatch(/^2 of 2 hostname\(s\) in mixed case/);
        }
        const after = (await requests()).filter(
          (r) => r.method !== "GET" && !r.path.endsWith("/offers"),
        ).length;
        expect(after).toBe(before);
      });

      it("exits 1 with a table naming each blocking finding", async () => {
        const token = (
          await cluster.kubeconfig.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
            name: "default",
            namespace: "default",
            body: { spec: { expirationSeconds: 600 } },
          })
        ).status?.token;
        const kubeconfig = join(project.workDir, "no-rights.kubeconfig");
        await writeFile(
          kubeconfig,
          JSON.stringify({
            apiVersion: "v1",
            kind: "Config",
            clusters: [
              { name: "c", cluster: { server: cluster.record.server, "insecure-skip-tls-verify": true } },
            ],
            users: [{ name: "u", user: { token } }],
            contexts: [{ name: "x", context: { cluster: "c", user: "u" } }],
            "current-context": "x",
          }),
        );
        const result = await doctor({ PULUMI_CONFIG_PASSPHRASE: "not the passphrase" }, [
          "--kubeconfig",
          kubeconfig,
        ]);
        expect(result.code, result.stdout).toBe(1);
        expect(result.stdout).toMatch(/^state +stack general and the passphrase +BLOCKING .*passphrase/m);
        expect(result.stdout).toMatch(/^kubernetes +delete nodes +BLOCKING +denied/m);
        expect(result.stdout).toMatch(/\d+ blocking finding\(s\): run would fail/);
        expect(result.stdout).not.toContain("demo-token");
      });
    });
  }
});
