/**
 * Errors a fake throws on purpose, by method: once (a throttled call, a
 * 5xx) or on every call (AccessDenied), as the fault sweep does to the
 * real clients.
 *
 * @example
 * ```ts
 * const plan = new FailurePlan<'send'>();
 * plan.once('send', throttled());
 * plan.take('send'); // the error, then undefined
 * ```
 */
export class FailurePlan<M extends string> {
  readonly #once = new Map<M, Error[]>();
  readonly #always = new Map<M, Error>();

  /** The next call of `method` throws `error`; later calls do not. */
  once(method: M, error: Error): void {
    this.#once.set(method, [...(this.#once.get(method) ?? []), error]);
  }

  /** Every call of `method` throws `error`. */
  always(method: M, error: Error): void {
    this.#always.set(method, error);
  }

  /** The error the next call of `method` throws, if any. */
  take(method: M): Error | undefined {
    const queued = this.#once.get(method);
    if (queued?.length) return queued.shift();
    return this.#always.get(method);
  }

  reset(): void {
    this.#once.clear();
    this.#always.clear();
  }
}

/** An error shaped as the AWS SDK v3 throws it. */
const sdkError = (
  name: string,
  fault: 'client' | 'server',
  status: number,
  message: string
): Error =>
  Object.assign(new Error(message), {
    name,
    $fault: fault,
    $metadata: { httpStatusCode: status },
  });

/** ThrottlingException, as AWS answers a caller going too fast. */
export const throttled = (): Error =>
  sdkError('ThrottlingException', 'client', 400, 'Rate exceeded');

/** A 5xx from the service. */
export const serverError = (): Error =>
  sdkError(
    'InternalServerError',
    'server',
    500,
    'We encountered an internal error'
  );

/** AccessDenied: the role does not allow the call. */
export const accessDenied = (): Error =>
  sdkError(
    'AccessDeniedException',
    'client',
    403,
    'User is not authorized to perform this action'
  );

/** A NotFound of the EC2 kind. */
export const notFound = (
  name = 'InvalidInstanceID.NotFound',
  message = 'The instance ID does not exist'
): Error => sdkError(name, 'client', 400, message);
