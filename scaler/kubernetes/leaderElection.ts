/**
 * Leader election on a coordination.k8s.io Lease, as client-go does it: acquire the Lease when it is
 * free or expired, renew it every retry period, and give up leadership at once when a renewal has not
 * succeeded within the renew deadline. Writes carry the resourceVersion read, so two replicas can never
 * both believe they hold it. Renewal runs on its own timer, so a long Pulumi update does not starve it.
 */
import { CoordinationV1Api, type KubeConfig, V1MicroTime, type V1Lease } from "@kubernetes/client-node";

export interface LeaderElectionOptions {
  kubeconfig: KubeConfig;
  namespace: string;
  name: string;
  /** Who we are: unique per replica (the pod name in a cluster). */
  identity: string;
  /** Defaults as cluster-autoscaler: 15 s lease, 10 s renew deadline, 2 s retry period. */
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  log: (message: string) => void;
}

function status(err: unknown): number | undefined {
  return (err as { code?: number }).code;
}

export class LeaderElector {
  readonly #o: Required<Omit<LeaderElectionOptions, "kubeconfig">>;
  readonly #api: CoordinationV1Api;
  #timer?: NodeJS.Timeout;
  #leading = false;
  #lastRenewal = 0;
  /** When the lease another replica holds runs out, as of the last read. */
  #othersExpiry?: number;
  #stopped = false;
  #cycling?: Promise<void>;

  constructor(options: LeaderElectionOptions) {
    this.#o = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, ...options };
    this.#api = options.kubeconfig.makeApiClient(CoordinationV1Api);
  }

  get leading(): boolean {
    return this.#leading;
  }

  start(): void {
    this.#cycling = this.#cycle();
  }

  async #cycle(): Promise<void> {
    if (this.#stopped) return;
    try {
      const ok = await this.#tryAcquireOrRenew();
      if (ok && !this.#stopped) {
        this.#lastRenewal = Date.now();
        if (!this.#leading) {
          this.#leading = true;
          this.#o.log(
            `became the leader (lease ${this.#o.namespace}/${this.#o.name}, identity ${this.#o.identity})`,
          );
          this.#o.onStartedLeading();
        }
      }
    } catch (err) {
      this.#o.log(`lease ${this.#o.namespace}/${this.#o.name}: ${(err as Error).message}`);
    }
    if (this.#leading && Date.now() - this.#lastRenewal > this.#o.renewDeadlineMs)
      this.#lose("the lease was not renewed in time");
    if (!this.#stopped) {
      // A follower tries again the moment the holder's lease runs out, not up to a retry period later.
      const untilExpiry = this.#othersExpiry === undefined ? Infinity : this.#othersExpiry - Date.now() + 1;
      this.#timer = setTimeout(
        () => {
          this.#cycling = this.#cycle();
        },
        Math.max(0, Math.min(this.#o.retryPeriodMs, untilExpiry)),
      );
    }
  }

  #lose(why: string): void {
    if (!this.#leading) return;
    this.#leading = false;
    this.#o.log(`stopped leading: ${why}`);
    this.#o.onStoppedLeading();
  }

  #spec(acquireTime?: Date) {
    const now = new V1MicroTime();
    return {
      holderIdentity: this.#o.identity,
      leaseDurationSeconds: Math.ceil(this.#o.leaseDurationMs / 1000),
      acquireTime: acquireTime ? new V1MicroTime(acquireTime) : now,
      renewTime: now,
    };
  }

  async #tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.#o;
    let lease: V1Lease;
    try {
      lease = await this.#api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (status(err) !== 404) throw err;
      try {
        await this.#api.createNamespacedLease({
          namespace,
          body: { metadata: { name, namespace }, spec: this.#spec() },
        });
        return true;
      } catch (createErr) {
        if (status(createErr) === 409) return false; // another replica created it first
        throw createErr;
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? "";
    const renewed = spec.renewTime ? new Date(spec.renewTime).getTime() : 0;
    const expiry = renewed + (spec.leaseDurationSeconds ?? 0) * 1000;
    this.#othersExpiry = undefined;
    if (holder !== identity && holder !== "" && expiry >= Date.now()) {
      if (this.#leading) this.#lose(`${holder} holds the lease`);
      this.#othersExpiry = expiry;
      return false;
    }
    try {
      await this.#api.replaceNamespacedLease({
        name,
        namespace,
        body: {
          ...lease,
          spec: this.#spec(holder === identity && spec.acquireTime ? new Date(spec.acquireTime) : undefined),
        },
      });
      return true;
    } catch (err) {
      if (status(err) === 409) return false; // someone wrote it since we read it
      throw err;
    }
  }

  /**
   * Stops renewing and, when leading, releases the lease so another replica takes over at once
   * (`release: false` leaves it to expire, as a crash would).
   */
  async stop(options: { release?: boolean } = {}): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    // A renewal under way must not take the lease back after it is released.
    await this.#cycling;
    this.#leading = false;
    if (options.release === false) return;
    try {
      const lease = await this.#api.readNamespacedLease({ name: this.#o.name, namespace: this.#o.namespace });
      if (lease.spec?.holderIdentity === this.#o.identity) {
        await this.#api.replaceNamespacedLease({
          name: this.#o.name,
          namespace: this.#o.namespace,
          body: { ...lease, spec: { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1 } },
        });
      }
    } catch (err) {
      this.#o.log(`could not release the lease: ${(err as Error).message}`);
    }
  }
}
