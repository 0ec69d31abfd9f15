import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LeaderElector } from "../../scaler/kubernetes/leaderElection.js";
import { eventually, startCluster, type TestCluster } from "../../dev/testing/cluster.js";

describe("leader election on a Lease, against the local control plane", () => {
  let cluster: TestCluster;
  const electors: LeaderElector[] = [];

  beforeAll(async () => {
    cluster = await startCluster("leader");
  });
  afterAll(async () => {
    for (const e of electors) await e.stop({ release: false });
    await cluster?.stop();
  });

  function elector(identity: string, name: string, events: string[]) {
    const e = new LeaderElector({
      kubeconfig: cluster.kubeconfig,
      namespace: "kube-system",
      name,
      identity,
      leaseDurationMs: 3_000,
      renewDeadlineMs: 2_000,
      retryPeriodMs: 300,
      onStartedLeading: () => events.push(`${identity} leads`),
      onStoppedLeading: () => events.push(`${identity} stopped`),
      log: () => undefined,
    });
    electors.push(e);
    return e;
  }

  it("lets one replica lead while the other waits, and hands over at once when the leader releases", async () => {
    const events: string[] = [];
    const a = elector("replica-a", "release-test", events);
    const b = elector("replica-b", "release-test", events);
    a.start();
    await eventually("replica-a to lead", async () => (a.leading ? true : undefined));
    b.start();
    await new Promise((r) => setTimeout(r, 1_500));
    expect(b.leading).toBe(false);
    await a.stop();
    const started = Date.now();
    await eventually("replica-b to lead", async () => (b.leading ? true : undefined));
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(events).toEqual(["replica-a leads", "replica-b leads"]);
  });

  it("hands over within the lease duration when the leader dies without releasing", async () => {
    const events: string[] = [];
    const a = elector("replica-c", "crash-test", events);
    const b = elector("replica-d", "crash-test", events);
    a.start();
    await eventually("replica-c to lead", async () => (a.leading ? true : undefined));
    b.start();
    await a.stop({ release: false });
    const died = Date.now();
    await eventually("replica-d to lead", async () => (b.leading ? true : undefined));
    expect(Date.now() - died).toBeLessThan(3_000 + 1_000);
    expect(b.leading && !a.leading).toBe(true);
  });
});
