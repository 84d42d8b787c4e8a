/**
 * The failure classes pullmedic tells apart. Only `disk_full` is remediated
 * by a prune and a volume roll; every other class is reported to on-call.
 * Part of the bus contract (`Image Pull Failure Classified`, `Incident
 * Opened`, `Incident Escalated` carry one), so it lives with the schemas.
 *
 * @example
 * ```ts
 * const c: FailureClass = 'disk_full';
 * ```
 */
export const FAILURE_CLASSES = [
  'disk_full',
  'auth',
  'not_found',
  'rate_limited',
  'network',
  'tls',
  'platform',
  'invalid_name',
  'never_pull',
  'disk_pressure_eviction',
  'image_gc_failed',
  'other_no_space',
  'other',
] as const;

export type FailureClass = (typeof FAILURE_CLASSES)[number];
