import { NodeNotFoundError } from '#core/errors.ts';
import type { AmiFamily, NodeDirectory, NodeOrigin } from '#core/ports.ts';

/**
 * A hand-written NodeDirectory over two maps: node name → instance id and
 * instance id → origin. An unknown instance throws NodeNotFoundError, as
 * the EC2 directory does.
 *
 * @example
 * ```ts
 * const nodes = new FakeNodeDirectory();
 * nodes.addNode('ip-10-0-1-149.ec2.internal', origin);
 * ```
 */
export class FakeNodeDirectory implements NodeDirectory {
  #instanceIds = new Map<string, string>();
  #origins = new Map<string, NodeOrigin>();
  #error: Error | undefined;

  calls: { instanceIdOf: string[]; amiFamilyOf: string[]; origin: string[] } = {
    instanceIdOf: [],
    amiFamilyOf: [],
    origin: [],
  };

  /** Registers a node: its name resolves to the origin's instance. */
  addNode(nodeName: string, origin: NodeOrigin): void {
    this.#instanceIds.set(nodeName, origin.instanceId);
    this.#origins.set(origin.instanceId, structuredClone(origin));
  }

  /** Registers an origin that no node name resolves to. */
  addOrigin(origin: NodeOrigin): void {
    this.#origins.set(origin.instanceId, structuredClone(origin));
  }

  failWith(error: Error): void {
    this.#error = error;
  }

  callCount(method: keyof FakeNodeDirectory['calls']): number {
    return this.calls[method].length;
  }

  reset(): void {
    this.#instanceIds.clear();
    this.#origins.clear();
    this.#error = undefined;
    this.calls = { instanceIdOf: [], amiFamilyOf: [], origin: [] };
  }

  async instanceIdOf(nodeName: string): Promise<string | undefined> {
    this.calls.instanceIdOf.push(nodeName);
    if (this.#error) throw this.#error;
    return this.#instanceIds.get(nodeName);
  }

  /** The registered origin's family; 'unknown' for an instance it does not know, as EC2's directory. */
  async amiFamilyOf(instanceId: string): Promise<AmiFamily> {
    this.calls.amiFamilyOf.push(instanceId);
    if (this.#error) throw this.#error;
    return this.#origins.get(instanceId)?.amiFamily ?? 'unknown';
  }

  async origin(instanceId: string): Promise<NodeOrigin> {
    this.calls.origin.push(instanceId);
    if (this.#error) throw this.#error;
    const origin = this.#origins.get(instanceId);
    if (origin === undefined) throw new NodeNotFoundError(instanceId);
    return structuredClone(origin);
  }
}
