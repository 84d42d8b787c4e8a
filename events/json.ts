/**
 * Whether a value is a JSON object (not null, not an array): how every
 * reader of untrusted JSON (a Kubernetes object, an exporter's detail, a
 * line of input) tells an object from the rest before it looks inside.
 *
 * @example
 * ```ts
 * isRecord({ kind: 'Event' }); // true
 * isRecord([1]); // false
 * ```
 */
export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A string that says something, or undefined: Kubernetes leaves unset
 * fields out, or empty.
 *
 * @example
 * ```ts
 * text(''); // undefined
 * ```
 */
export const text = (v: unknown): string | undefined =>
  typeof v === 'string' && v !== '' ? v : undefined;
