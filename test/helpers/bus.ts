import { readFileSync } from 'node:fs';
import { renderNotification } from '../../core/notification.ts';
import type { Emitted, Notification } from '../../core/ports.ts';
import { DETAIL_CONTRACTS, type DetailOf } from '../../events/contracts.ts';
import type { DetailType } from '../../events/detail-types.ts';

const SAMPLES = new URL('../../events/samples/bus/', import.meta.url);

/**
 * The detail of a detail-type's sample in events/samples/bus, parsed by
 * its schema: a whole, valid detail that a test changes only where it
 * matters.
 *
 * @example
 * ```ts
 * const opened = sampleDetail(DETAIL_TYPES.incidentOpened);
 * ```
 */
export function sampleDetail<K extends DetailType>(type: K): DetailOf<K> {
  const file = `${type.toLowerCase().replace(/\s+/g, '-')}.json`;
  const sample = JSON.parse(readFileSync(new URL(file, SAMPLES), 'utf8'));
  return DETAIL_CONTRACTS[type].schema.parse(sample.detail) as DetailOf<K>;
}

/**
 * The detail of an emitted event, checked to be of `type`: a test reads
 * the fields of the detail-type it expects, and fails plainly when the
 * event is another.
 *
 * @example
 * ```ts
 * detailOf(emitted[0], DETAIL_TYPES.incidentOpened).incidentId;
 * ```
 */
export function detailOf<K extends DetailType>(
  emitted: Emitted | undefined,
  type: K
): DetailOf<K> {
  if (emitted?.detailType !== type) {
    throw new Error(`expected ${type}, got ${emitted?.detailType}`);
  }
  return emitted.detail as DetailOf<K>;
}

/**
 * Whether an emitted decision was taken in dry-run; undefined for a
 * detail-type that carries no such flag (a Kubernetes Event).
 *
 * @example
 * ```ts
 * emitted.map(dryRunOf); // [true, true]
 * ```
 */
export const dryRunOf = (emitted: Emitted): boolean | undefined =>
  'dryRun' in emitted.detail ? emitted.detail.dryRun : undefined;

/**
 * renderNotification on a detail read as plain JSON, which the test
 * vouches for: the hostile-text tests feed details no schema would pass,
 * to show the renderers hold even then.
 *
 * @example
 * ```ts
 * renderUnchecked('Volume Roll Started', filled(sample.detail));
 * ```
 */
export const renderUnchecked = (
  detailType: string,
  detail: unknown,
  repeats?: number
): Notification =>
  renderNotification(detailType as DetailType, detail as never, repeats);
