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
