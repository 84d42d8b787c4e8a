/**
 * The forwarder's errors. Every class sets `name`, keeps `cause` and carries
 * the context an operator needs.
 *
 * @example
 * ```ts
 * throw new ForwarderConfigError('--flush-ms must be a positive integer');
 * ```
 */
export class ForwarderError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ForwarderError';
  }
}

/** A flag or environment variable is missing or malformed. */
export class ForwarderConfigError extends ForwarderError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ForwarderConfigError';
  }
}

/**
 * The API server no longer holds the resourceVersion a watch or a list
 * asked for (HTTP 410 Gone, or an ERROR watch event with code 410): relist.
 */
export class ResourceExpiredError extends ForwarderError {
  readonly resourceVersion: string;
  constructor(resourceVersion: string, options?: ErrorOptions) {
    super(`resourceVersion ${resourceVersion} is too old (410 Gone)`, options);
    this.name = 'ResourceExpiredError';
    this.resourceVersion = resourceVersion;
  }
}

/** A list or watch call to the API server failed; `action` says which. */
export class KubeCallError extends ForwarderError {
  readonly action: string;
  readonly status: number | undefined;
  constructor(action: string, status?: number, options?: ErrorOptions) {
    const cause = options?.cause;
    const why = cause instanceof Error ? `: ${cause.message}` : '';
    super(`${action} failed${status ? ` (${status})` : ''}${why}`, options);
    this.name = 'KubeCallError';
    this.action = action;
    this.status = status;
  }
}

/** EventBridge error codes that fail the same way however often they are sent. */
export const PERMANENT_CODES: ReadonlySet<string> = new Set([
  'MalformedDetail',
  'InvalidArgument',
  'ValidationException',
  'EntryTooLarge',
  'AccessDeniedException',
]);

/**
 * An entry could not be put on the bus: `code` is EventBridge's per-entry
 * ErrorCode (or the SDK error's name) after the last attempt. `retryable`
 * says whether sending it again later may work (throttling, an outage).
 */
export class SinkDeliveryError extends ForwarderError {
  readonly code: string;
  readonly attempts: number;
  readonly retryable: boolean;
  constructor(
    message: string,
    code: string,
    attempts: number,
    options?: ErrorOptions
  ) {
    super(message, options);
    this.name = 'SinkDeliveryError';
    this.code = code;
    this.attempts = attempts;
    this.retryable = !PERMANENT_CODES.has(code);
  }
}

/** The sink was closed, or the send aborted, before the entry went out. */
export class SinkClosedError extends ForwarderError {
  constructor(message = 'sink closed before the entry was sent') {
    super(message);
    this.name = 'SinkClosedError';
  }
}

/**
 * The HTTP status of an error from @kubernetes/client-node (`ApiException`
 * has `code`, `Watch` sets `statusCode`), or undefined.
 *
 * @example
 * ```ts
 * if (statusOf(err) === 410) relist();
 * ```
 */
export function statusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { code, statusCode } = err as { code?: unknown; statusCode?: unknown };
  if (typeof code === 'number') return code;
  if (typeof statusCode === 'number') return statusCode;
  return undefined;
}
