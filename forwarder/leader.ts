import {
  CoordinationV1Api,
  type KubeConfig,
  type V1Lease,
  V1MicroTime,
} from '@kubernetes/client-node';
import { statusOf } from './errors.ts';
import type { Log } from './log.ts';

export interface LeaderElectorOptions {
  namespace: string;
  name: string;
  identity: string;
  /** How long a holder's claim lasts without renewal. */
  leaseDurationMs?: number;
  /** Renew this often while leading. */
  renewMs?: number;
  /** Try this often while standing by. */
  retryMs?: number;
  log: Log;
}

// client-node types MicroTime as a Date but may hand back the string.
const stamp = (v: unknown): string =>
  v instanceof Date ? v.toISOString() : String(v ?? '');

/**
 * Leader election on a coordination.k8s.io Lease, the way client-go does
 * it: a replica takes the Lease when it is free or its holder has not
 * renewed it for a lease duration as measured by this replica's own clock
 * (so clock skew between nodes does not matter), renews it while it leads,
 * and releases it on shutdown so a standby takes over at once. Writes use
 * the Lease's resourceVersion, so two replicas never both win.
 *
 * @example
 * ```ts
 * const elector = new LeaderElector(kc, { namespace, name: 'pullmedic-forwarder', identity, log });
 * await elector.acquire(signal);            // resolves once leading
 * elector.keepRenewing(() => shutdown(1));  // called if the lease is lost
 * await elector.release();
 * ```
 */
export class LeaderElector {
  readonly #api: CoordinationV1Api;
  readonly #o: Required<LeaderElectorOptions>;
  #observed: { holder: string; renew: string; at: number } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #leading = false;

  constructor(kc: KubeConfig, options: LeaderElectorOptions) {
    this.#api = kc.makeApiClient(CoordinationV1Api);
    this.#o = {
      leaseDurationMs: 15_000,
      renewMs: 5_000,
      retryMs: 2_000,
      ...options,
    };
  }

  get leading(): boolean {
    return this.#leading;
  }

  /** Resolves once this replica holds the Lease (or the signal aborts). */
  async acquire(signal: AbortSignal): Promise<boolean> {
    while (!signal.aborted) {
      if (await this.#tryAcquireOrRenew()) {
        this.#leading = true;
        this.#o.log.info('leading', { lease: this.#o.name });
        return true;
      }
      await new Promise((r) => setTimeout(r, this.#o.retryMs));
    }
    return false;
  }

  /** Renews until stopped; calls `onLost` once if a renewal window passes. */
  keepRenewing(onLost: () => void): void {
    let lastRenew = Date.now();
    const tick = async () => {
      const ok = await this.#tryAcquireOrRenew();
      if (!this.#leading) return;
      if (ok) lastRenew = Date.now();
      else if (Date.now() - lastRenew > this.#o.leaseDurationMs * (2 / 3)) {
        this.#leading = false;
        this.#o.log.error('lost the lease', { lease: this.#o.name });
        onLost();
        return;
      }
      this.#timer = setTimeout(tick, this.#o.renewMs);
    };
    this.#timer = setTimeout(tick, this.#o.renewMs);
  }

  /** Stops renewing and frees the Lease for a standby. */
  async release(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    if (!this.#leading) return;
    this.#leading = false;
    try {
      const lease = await this.#read();
      if (lease?.spec?.holderIdentity !== this.#o.identity) return;
      lease.spec.holderIdentity = undefined;
      lease.spec.leaseDurationSeconds = 1;
      lease.spec.renewTime = new V1MicroTime();
      await this.#api.replaceNamespacedLease({
        name: this.#o.name,
        namespace: this.#o.namespace,
        body: lease,
      });
    } catch (err) {
      this.#o.log.warn('could not release the lease', { error: err });
    }
  }

  async #read(): Promise<V1Lease | undefined> {
    try {
      return await this.#api.readNamespacedLease({
        name: this.#o.name,
        namespace: this.#o.namespace,
      });
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  async #tryAcquireOrRenew(): Promise<boolean> {
    const { name, namespace, identity } = this.#o;
    const now = new V1MicroTime();
    const durationSeconds = Math.ceil(this.#o.leaseDurationMs / 1000);
    try {
      const lease = await this.#read();
      if (!lease) {
        await this.#api.createNamespacedLease({
          namespace,
          body: {
            metadata: { name, namespace },
            spec: {
              holderIdentity: identity,
              leaseDurationSeconds: durationSeconds,
              acquireTime: now,
              renewTime: now,
              leaseTransitions: 0,
            },
          },
        });
        return true;
      }
      const spec = lease.spec ?? {};
      const holder = spec.holderIdentity ?? '';
      const renew = stamp(spec.renewTime);
      if (
        !this.#observed ||
        this.#observed.holder !== holder ||
        this.#observed.renew !== renew
      ) {
        this.#observed = { holder, renew, at: Date.now() };
      }
      const held = holder !== '' && holder !== identity;
      const duration = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
      if (held && Date.now() - this.#observed.at < duration) return false;
      lease.spec = {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds: durationSeconds,
        renewTime: now,
        ...(holder === identity
          ? {}
          : {
              acquireTime: now,
              leaseTransitions: (spec.leaseTransitions ?? 0) + 1,
            }),
      };
      await this.#api.replaceNamespacedLease({ name, namespace, body: lease });
      return true;
    } catch (err) {
      // 409: another replica wrote first. Anything else: try again later.
      if (statusOf(err) !== 409) {
        this.#o.log.warn('lease call failed', { error: err });
      }
      return false;
    }
  }
}
