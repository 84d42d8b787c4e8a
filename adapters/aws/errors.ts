import { AwsCallError } from '../../core/errors.ts';

/**
 * Classifies AWS SDK errors by their `name` and the SDK's own fault
 * marks, never by message text.
 *
 * @example
 * ```ts
 * if (isConditionalCheckFailed(err)) return { outcome: 'joined' };
 * ```
 */
export const hasName = (err: unknown, ...names: string[]): boolean =>
  err instanceof Error && names.includes(err.name);

export const isConditionalCheckFailed = (err: unknown): boolean =>
  hasName(err, 'ConditionalCheckFailedException');

export const isNotFound = (err: unknown): boolean =>
  hasName(
    err,
    'ParameterNotFound',
    'ResourceNotFoundException',
    'InvocationDoesNotExist',
    'InvalidInstanceID.NotFound',
    'InvalidLaunchTemplateId.NotFound',
    'InvalidLaunchTemplateId.VersionNotFound'
  );

/** Errors AWS answers when a caller goes too fast: they pass with time. */
const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'EC2ThrottledException',
  'SlowDown',
  'PriorRequestNotComplete',
  'TransactionInProgressException',
  'RequestTimeout',
  'RequestTimeoutException',
]);

/** Network failures below the SDK (Node's error codes): they pass too. */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ECONNABORTED',
]);

interface SdkErrorShape {
  name?: string;
  code?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

/**
 * Whether an AWS call's failure will never pass by retrying it: AccessDenied,
 * a missing instance, template or document, a validation error, any other
 * client fault that is not throttling. Throttling, 5xx, timeouts and
 * network errors pass with time; so do errors that carry no mark at all
 * (retrying costs a delivery, escalating wrongly costs a page).
 *
 * @example
 * ```ts
 * isPermanent(accessDenied); // true
 * isPermanent(throttled);    // false
 * ```
 */
export function isPermanent(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const e = err as Error & SdkErrorShape;
  if (THROTTLING.has(e.name) || e.$retryable) return false;
  if (e.code !== undefined && NETWORK_CODES.has(e.code)) return false;
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return false;
  const status = e.$metadata?.httpStatusCode;
  if (e.$fault === 'server' || (status !== undefined && status >= 500)) {
    return false;
  }
  return e.$fault === 'client' || (status !== undefined && status >= 400);
}

/**
 * An AwsCallError for a failed call: what was being done, the SDK error as
 * its cause, and whether retrying can help.
 *
 * @example
 * ```ts
 * throw wrapAwsError(`sending the prune to ${instanceId}`, err);
 * ```
 */
export function wrapAwsError(action: string, err: unknown): AwsCallError {
  if (err instanceof AwsCallError) return err;
  return new AwsCallError(action, { cause: err, permanent: isPermanent(err) });
}
