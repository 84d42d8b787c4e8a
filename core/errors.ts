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

/**
 * An AWS call failed; `action` says which, the cause keeps the SDK error,
 * and `permanent` says whether a retry can ever succeed (AccessDenied, a
 * vanished instance or template, a validation error) or may (throttling,
 * 5xx, a timeout). The adapters decide it from the SDK's error.
 */
export class AwsCallError extends PullmedicError {
  readonly action: string;
  readonly permanent: boolean;
  /** The SDK error's name, e.g. `AccessDeniedException`. */
  readonly code: string;
  constructor(
    action: string,
    options?: ErrorOptions & { permanent?: boolean; code?: string }
  ) {
    const cause = options?.cause;
    const why =
      cause instanceof Error ? `: ${cause.name}: ${cause.message}` : '';
    super(`${action} failed${why}`, options);
    this.name = 'AwsCallError';
    this.action = action;
    this.permanent = options?.permanent ?? false;
    this.code =
      options?.code ?? (cause instanceof Error ? cause.name : 'Error');
  }
}

/**
 * EC2 describes no instance by that id (it answered, with nothing): the
 * node is gone, and asking again will not bring it back.
 */
export class NodeNotFoundError extends AwsCallError {
  readonly instanceId: string;
  constructor(instanceId: string, options?: ErrorOptions) {
    super(`describing ${instanceId}`, {
      ...options,
      permanent: true,
      code: 'InvalidInstanceID.NotFound',
    });
    this.message = `no EC2 instance ${instanceId} found: it is gone`;
    this.name = 'NodeNotFoundError';
    this.instanceId = instanceId;
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
 * Whether an error will never pass by retrying: the use case escalates it
 * at once instead of letting the queue retry it into the dead-letter
 * queue.
 *
 * @example
 * ```ts
 * if (isPermanentFailure(err)) return [escalation(...)];
 * ```
 */
export const isPermanentFailure = (err: unknown): err is AwsCallError =>
  err instanceof AwsCallError && err.permanent;

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

/**
 * The message of whatever was thrown, for a report or a log line.
 *
 * @example
 * ```ts
 * messageOf(new Error('Rate exceeded')); // 'Rate exceeded'
 * messageOf('oops'); // 'oops'
 * ```
 */
export const messageOf = (thrown: unknown): string =>
  thrown instanceof Error ? thrown.message : String(thrown);
