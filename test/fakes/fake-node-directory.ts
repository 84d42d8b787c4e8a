import type { AmiFamily, NodeDirectory, NodeOrigin } from '#core/ports.ts';
import { instanceIdInNodeName } from '../../adapters/aws/ec2-node-directory.ts';
import { wrapAwsError } from '../../adapters/aws/errors.ts';
import { FailurePlan, notFound } from './failure-plan.ts';

/**
 * A hand-written NodeDirectory over two maps: node name → instance id and
 * instance id → origin. It answers as the EC2 directory does (held to the
 * same contract, test/contracts/node-directory.contract.ts): a name of the
 * resource-name kind is read without a lookup, and an instance EC2 does
 * not know fails with EC2's own InvalidInstanceID.NotFound.
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
  /** Failures to inject, by method (wrapped as the EC2 directory wraps them). */
  readonly failures = new FailurePlan<
    'instanceIdOf' | 'amiFamilyOf' | 'origin'
  >();

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

  /**
   * The instance terminated, as EC2 keeps it for a while: its name no
   * longer resolves (the directory looks up pending and running instances
   * only) and its volumes are gone, but it is still described.
   */
  terminate(instanceId: string): void {
    for (const [name, id] of this.#instanceIds) {
      if (id === instanceId) this.#instanceIds.delete(name);
    }
    const origin = this.#origins.get(instanceId);
    if (origin) origin.volumes = [];
  }

  /** Every method throws `error` as it is, unwrapped. */
  failWith(error: Error): void {
    this.#raw = error;
  }
  #raw: Error | undefined;

  #throwIfFailing(method: 'instanceIdOf' | 'amiFamilyOf' | 'origin'): void {
    if (this.#raw) throw this.#raw;
    const error = this.failures.take(method);
    if (error) throw wrapAwsError(`${method} (in memory)`, error);
  }

  callCount(method: keyof FakeNodeDirectory['calls']): number {
    return this.calls[method].length;
  }

  reset(): void {
    this.#instanceIds.clear();
    this.#origins.clear();
    this.#raw = undefined;
    this.failures.reset();
    this.calls = { instanceIdOf: [], amiFamilyOf: [], origin: [] };
  }

  async instanceIdOf(nodeName: string): Promise<string | undefined> {
    this.calls.instanceIdOf.push(nodeName);
    this.#throwIfFailing('instanceIdOf');
    return instanceIdInNodeName(nodeName) ?? this.#instanceIds.get(nodeName);
  }

  /** The registered origin's family; 'unknown' for an instance it does not know, as EC2's directory. */
  async amiFamilyOf(instanceId: string): Promise<AmiFamily> {
    this.calls.amiFamilyOf.push(instanceId);
    this.#throwIfFailing('amiFamilyOf');
    return this.#origins.get(instanceId)?.amiFamily ?? 'unknown';
  }

  async origin(instanceId: string): Promise<NodeOrigin> {
    this.calls.origin.push(instanceId);
    this.#throwIfFailing('origin');
    const origin = this.#origins.get(instanceId);
    if (origin === undefined) {
      // What EC2 answers for an id it does not know, wrapped as the EC2
      // directory wraps it: a permanent AwsCallError of that code.
      throw wrapAwsError(
        `describing ${instanceId}`,
        notFound(
          'InvalidInstanceID.NotFound',
          `The instance ID '${instanceId}' does not exist`
        )
      );
    }
    return structuredClone(origin);
  }
}
