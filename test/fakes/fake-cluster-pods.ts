import { ClusterCallError } from '#core/errors.ts';
import type { ClusterPods, LiveNamespace, LivePod } from '#core/ports.ts';

type Method = 'getPod' | 'getNamespace' | 'deletePod' | 'listPods';

/**
 * A hand-written ClusterPods over maps of pods and namespaces, answering
 * as the API server does: an unknown pod or namespace is a 404, a delete
 * whose uid precondition does not hold a 409; `failNext(method, status)`
 * makes the next call of a method fail with that status. Deleted pods are
 * recorded and removed.
 *
 * @example
 * ```ts
 * const pods = new FakeClusterPods();
 * pods.addPod(aStuckPod());
 * pods.failNext('deletePod', 403);
 * ```
 */
export class FakeClusterPods implements ClusterPods {
  #pods = new Map<string, LivePod>();
  #namespaces = new Map<string, LiveNamespace>();
  #failures = new Map<Method, number>();

  calls: Record<Method, string[]> = {
    getPod: [],
    getNamespace: [],
    deletePod: [],
    listPods: [],
  };
  /** `namespace/name@uid` of every pod deleted, in order. */
  deleted: string[] = [];

  addPod(pod: LivePod): void {
    this.#pods.set(`${pod.namespace}/${pod.name}`, structuredClone(pod));
    if (!this.#namespaces.has(pod.namespace)) {
      this.#namespaces.set(pod.namespace, {
        name: pod.namespace,
        labels: {},
        annotations: {},
      });
    }
  }

  setNamespace(ns: LiveNamespace): void {
    this.#namespaces.set(ns.name, structuredClone(ns));
  }

  removeNamespace(name: string): void {
    this.#namespaces.delete(name);
  }

  failNext(method: Method, status: number | undefined): void {
    this.#failures.set(method, status ?? 0);
  }

  reset(): void {
    this.#pods.clear();
    this.#namespaces.clear();
    this.#failures.clear();
    this.calls = { getPod: [], getNamespace: [], deletePod: [], listPods: [] };
    this.deleted = [];
  }

  #fail(method: Method, what: string): void {
    const status = this.#failures.get(method);
    if (status === undefined) return;
    this.#failures.delete(method);
    throw new ClusterCallError(what, status === 0 ? undefined : status, {
      cause: new Error(`injected ${status || 'network'} failure`),
    });
  }

  async getPod(namespace: string, name: string): Promise<LivePod> {
    const key = `${namespace}/${name}`;
    this.calls.getPod.push(key);
    this.#fail('getPod', `GET pod ${key}`);
    const pod = this.#pods.get(key);
    if (pod === undefined) throw new ClusterCallError(`GET pod ${key}`, 404);
    return structuredClone(pod);
  }

  async getNamespace(name: string): Promise<LiveNamespace> {
    this.calls.getNamespace.push(name);
    this.#fail('getNamespace', `GET namespace ${name}`);
    const ns = this.#namespaces.get(name);
    if (ns === undefined)
      throw new ClusterCallError(`GET namespace ${name}`, 404);
    return structuredClone(ns);
  }

  async deletePod(namespace: string, name: string, uid: string): Promise<void> {
    const key = `${namespace}/${name}`;
    this.calls.deletePod.push(`${key}@${uid}`);
    this.#fail('deletePod', `DELETE pod ${key}`);
    const pod = this.#pods.get(key);
    if (pod === undefined) throw new ClusterCallError(`DELETE pod ${key}`, 404);
    if (pod.uid !== uid)
      throw new ClusterCallError(`DELETE pod ${key}`, 409, {
        cause: new Error(
          `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${pod.uid}`
        ),
      });
    this.#pods.delete(key);
    this.deleted.push(`${key}@${uid}`);
  }

  async listPods(): Promise<LivePod[]> {
    this.calls.listPods.push('*');
    this.#fail('listPods', 'LIST pods');
    return [...this.#pods.values()].map((p) => structuredClone(p));
  }
}
