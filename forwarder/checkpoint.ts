import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { z } from 'zod';
import { KubeCallError, statusOf } from './errors.ts';

/**
 * What the forwarder needs to resume without re-sending or losing events:
 * per watch (field selector), the resourceVersion up to which everything
 * has settled; the most recent events sent, as [uid, count], so a replayed
 * or relisted event that was already sent is recognised; and when it was
 * saved, so a relist after 410 Gone forwards what happened while the
 * forwarder was down even when it is older than maxAge.
 */
export const checkpointSchema = z.object({
  version: z.literal(1),
  savedAt: z.iso.datetime(),
  api: z.enum(['core', 'events.k8s.io']),
  streams: z.record(z.string(), z.string()),
  sent: z.array(z.tuple([z.string(), z.number().int().nonnegative()])),
});

export type Checkpoint = z.infer<typeof checkpointSchema>;

/** Where checkpoints live. */
export interface CheckpointStore {
  load(): Promise<Checkpoint | undefined>;
  save(checkpoint: Checkpoint): Promise<void>;
}

const DATA_KEY = 'checkpoint.json';

/**
 * Keeps the checkpoint in a ConfigMap in the forwarder's namespace (one
 * small object; the Role allows get/create/update on it alone). Only the
 * Lease holder writes it, so a conflict means our cached copy is stale:
 * it re-reads and writes again.
 *
 * @example
 * ```ts
 * const store = new ConfigMapCheckpointStore(kc, 'pullmedic', 'pullmedic-forwarder-checkpoint');
 * const checkpoint = await store.load();
 * ```
 */
export class ConfigMapCheckpointStore implements CheckpointStore {
  readonly #api: CoreV1Api;
  readonly #namespace: string;
  readonly #name: string;
  #resourceVersion: string | undefined;
  #exists = false;

  constructor(kc: KubeConfig, namespace: string, name: string) {
    this.#api = kc.makeApiClient(CoreV1Api);
    this.#namespace = namespace;
    this.#name = name;
  }

  async load(): Promise<Checkpoint | undefined> {
    let data: string | undefined;
    try {
      const cm = await this.#api.readNamespacedConfigMap({
        name: this.#name,
        namespace: this.#namespace,
      });
      this.#exists = true;
      this.#resourceVersion = cm.metadata?.resourceVersion;
      data = cm.data?.[DATA_KEY];
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw new KubeCallError(
        `reading ConfigMap ${this.#namespace}/${this.#name}`,
        statusOf(err),
        { cause: err }
      );
    }
    if (!data) return undefined;
    try {
      return checkpointSchema.parse(JSON.parse(data));
    } catch {
      // A checkpoint we cannot read is no checkpoint: start over (maxAge
      // still bounds the relist), rather than crash-loop on it.
      return undefined;
    }
  }

  async save(checkpoint: Checkpoint): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#write(checkpoint);
        return;
      } catch (err) {
        const status = statusOf(err);
        if ((status === 409 || status === 404) && attempt < 3) {
          await this.load().catch(() => undefined);
          if (status === 404) this.#exists = false;
          continue;
        }
        throw new KubeCallError(
          `writing ConfigMap ${this.#namespace}/${this.#name}`,
          status,
          { cause: err }
        );
      }
    }
  }

  async #write(checkpoint: Checkpoint): Promise<void> {
    const body = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: this.#name,
        namespace: this.#namespace,
        labels: { 'app.kubernetes.io/name': 'pullmedic-forwarder' },
        ...(this.#resourceVersion
          ? { resourceVersion: this.#resourceVersion }
          : {}),
      },
      data: { [DATA_KEY]: JSON.stringify(checkpoint) },
    };
    const cm = this.#exists
      ? await this.#api.replaceNamespacedConfigMap({
          name: this.#name,
          namespace: this.#namespace,
          body,
        })
      : await this.#api.createNamespacedConfigMap({
          namespace: this.#namespace,
          body,
        });
    this.#exists = true;
    this.#resourceVersion = cm.metadata?.resourceVersion;
  }
}

/**
 * A checkpoint store in memory: for tests, and for `--checkpoint=false`.
 *
 * @example
 * ```ts
 * const store = new MemoryCheckpointStore();
 * ```
 */
export class MemoryCheckpointStore implements CheckpointStore {
  checkpoint: Checkpoint | undefined;
  saves = 0;
  async load(): Promise<Checkpoint | undefined> {
    return this.checkpoint;
  }
  async save(checkpoint: Checkpoint): Promise<void> {
    this.saves += 1;
    this.checkpoint = checkpoint;
  }
}
