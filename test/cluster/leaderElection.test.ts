import { CoordinationV1Api, V1MicroTime } from "@kubernetes/client-node";
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

  const coordination = () => cluster.kubeconfig.makeApiClient(CoordinationV1Api);
  const readLease = (name: string) => coordination().readNamespacedLease({ name, namespace: "kube-system" });

  it("renews the lease while leading, and a second replica is refused meanwhile", async () => {
    const events: string[] = [];
    const a = elector("replica-a", "renew-test", events);
    const b = elector("replica-b", "renew-test", events);
    a.start();
    await eventually("replica-a to lead", async () => (a.leading ? true : undefined));
    b.start();
    const first = (await readLease("renew-test")).spec;
    expect(first?.holderIdentity).toBe("replica-a");
    await new Promise((r) => setTimeout(r, 1_500));
    const later = (await readLease("renew-test")).spec;
    expect(later?.holderIdentity).toBe("replica-a");
    expect(new Date(later?.renewTime ?? 0).getTime()).toBeGreaterThan(
      new Date(first?.renewTime ?? 0).getTime(),
    );
    expect(later?.acquireTime).toEqual(first?.acquireTime);
    expect(b.leading).toBe(false);
    expect(events).toEqual(["replica-a leads"]);
  });

  it("stops leading at once when another holder takes the lease, and says so", async () => {
    const events: string[] = [];
    const a = elector("replica-e", "lost-test", events);
    a.start();
    await eventually("replica-e to lead", async () => (a.leading ? true : undefined));
    // Someone else holds it now (a replica that saw it expire during a network partition, a person).
    const lease = await readLease("lost-test");
    await coordination().replaceNamespacedLease({
      name: "lost-test",
      namespace: "kube-system",
      body: {
        ...lease,
        spec: {
          ...lease.spec,
          holderIdentity: "intruder",
          renewTime: new V1MicroTime(),
          leaseDurationSeconds: 60,
        },
      },
    });
    const taken = Date.now();
    await eventually("replica-e to stop leading", async () => (a.leading ? undefined : true));
    // Within one retry period (300 ms) and its request, not at the end of the lease.
    expect(Date.now() - taken).toBeLessThan(1_000);
    expect(events).toEqual(["replica-e leads", "replica-e stopped"]);
    expect((await readLease("lost-test")).spec?.holderIdentity).toBe("intruder");
  });

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
    const lastRenewal = new Date((await readLease("crash-test")).spec?.renewTime ?? 0).getTime();
    await eventually("replica-d to lead", async () => (b.leading ? true : undefined), 5_000, 5);
    const led = Date.now();
    // Not before the lease runs out, and within it plus one round trip to the API server.
    expect(led).toBeGreaterThanOrEqual(lastRenewal + 3_000);
    expect(led - lastRenewal).toBeLessThan(3_000 + 250);
    expect(b.leading && !a.leading).toBe(true);
  });
});
