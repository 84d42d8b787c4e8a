import {
  CoreV1Api,
  type Informer,
  type KubeConfig,
  makeInformer,
  type V1Node,
} from '@kubernetes/client-node';
import type { Log } from './log.ts';
import type { NodeInfo } from './transform.ts';

/**
 * Every Node's providerID, kept current by a list-and-watch informer, so
 * each forwarded event carries the EC2 instance id and the Lambdas need no
 * DescribeInstances call. On an informer error it restarts with backoff
 * and counts the restart (the informer itself stops on error).
 *
 * @example
 * ```ts
 * const nodes = new NodeCache(kc, log, (reason) => metrics.watchRestarts.inc({ reason }));
 * await nodes.start();
 * toPutEventsEntry(event, { cluster, busName, nodes: nodes.nodes });
 * await nodes.stop();
 * ```
 */
export class NodeCache {
  readonly nodes = new Map<string, NodeInfo>();
  readonly #informer: Informer<V1Node>;
  readonly #log: Log;
  readonly #onRestart: (reason: string) => void;
  #stopped = false;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    kc: KubeConfig,
    log: Log,
    onRestart: (reason: string) => void = () => {}
  ) {
    const core = kc.makeApiClient(CoreV1Api);
    this.#log = log;
    this.#onRestart = onRestart;
    this.#informer = makeInformer<V1Node>(kc, '/api/v1/nodes', () =>
      core.listNode()
    );
    const put = (node: V1Node) => {
      const name = node.metadata?.name;
      if (!name) return;
      this.nodes.set(
        name,
        node.spec?.providerID ? { providerID: node.spec.providerID } : {}
      );
    };
    this.#informer.on('add', put);
    this.#informer.on('update', put);
    this.#informer.on('delete', (node) => {
      if (node.metadata?.name) this.nodes.delete(node.metadata.name);
    });
    this.#informer.on('error', (err) => this.#restart(err));
    this.#informer.on('connect', () => {
      this.#failures = 0;
    });
  }

  /** Lists the nodes once (the first events then find them) and watches. */
  async start(): Promise<void> {
    try {
      await this.#informer.start();
    } catch (err) {
      // Events still flow without node enrichment; keep trying.
      this.#restart(err);
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#informer.stop();
  }

  #restart(err: unknown): void {
    if (this.#stopped || this.#timer) return;
    this.#failures += 1;
    this.#onRestart('node_informer_error');
    const delay = Math.random() * Math.min(30_000, 500 * 2 ** this.#failures);
    this.#log.warn('node informer failed, restarting', {
      failures: this.#failures,
      delayMs: Math.round(delay),
      error: err,
    });
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#stopped) return;
      this.#informer.start().catch((e: unknown) => this.#restart(e));
    }, delay);
  }
}
