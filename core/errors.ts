/**
 * One error hierarchy for the domain. Every class sets `name`, keeps `cause`
 * and carries the context an operator needs to act on it.
 *
 * @example
 * ```ts
 * throw new MalformedEventError('detail.node.name: not a DNS subdomain', {
 *   cause: zodError,
 * });
 * ```
 */
export class PullmedicError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PullmedicError';
  }
}

/**
 * The event cannot be processed as sent: wrong shape, bad JSON, a name that
 * is not a Kubernetes name. Acknowledge it, dead-letter it with this
 * message as the reason, never retry it.
 */
export class MalformedEventError extends PullmedicError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MalformedEventError';
  }
}

/** A node named in an event has no EC2 instance we can find. */
export class NodeNotFoundError extends PullmedicError {
  readonly nodeName: string;
  constructor(nodeName: string, options?: ErrorOptions) {
    super(`no EC2 instance found for node ${nodeName}`, options);
    this.name = 'NodeNotFoundError';
    this.nodeName = nodeName;
  }
}

/** An AWS call failed; `action` says which, the cause keeps the SDK error. */
export class AwsCallError extends PullmedicError {
  readonly action: string;
  constructor(action: string, options?: ErrorOptions) {
    const cause = options?.cause;
    const why =
      cause instanceof Error ? `: ${cause.name}: ${cause.message}` : '';
    super(`${action} failed${why}`, options);
    this.name = 'AwsCallError';
    this.action = action;
  }
}

/**
 * A Kubernetes API call failed; `action` says which, `status` is the HTTP
 * status the API server answered (undefined when none came back). Callers
 * decide on the status, never on the message: 404 the object is gone, 403
 * RBAC refused, 409 a precondition (the uid) no longer holds.
 *
 * @example
 * ```ts
 * throw new ClusterCallError('DELETE pods inference/triton-0', 409, { cause });
 * ```
 */
export class ClusterCallError extends PullmedicError {
  readonly action: string;
  readonly status: number | undefined;
  constructor(action: string, status?: number, options?: ErrorOptions) {
    const cause = options?.cause;
    const why = cause instanceof Error ? `: ${cause.message}` : '';
    super(`${action} failed${status ? ` (${status})` : ''}${why}`, options);
    this.name = 'ClusterCallError';
    this.action = action;
    this.status = status;
  }
}

/**
 * Narrows an unknown caught value to an Error.
 *
 * @example
 * ```ts
 * try { … } catch (err) { assertIsError(err); log(err.message); }
 * ```
 */
export function assertIsError(value: unknown): asserts value is Error {
  if (!(value instanceof Error)) {
    throw new PullmedicError(`non-error thrown: ${String(value)}`);
  }
}
