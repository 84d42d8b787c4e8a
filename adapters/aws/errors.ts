/**
 * Classifies AWS SDK errors by their `name`, never by message text.
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
