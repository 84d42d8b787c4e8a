import type { DetailOf } from '../events/contracts.ts';
import type { DetailType } from '../events/detail-types.ts';
import { renderNotification } from './notification.ts';
import type { Clock, Notifier, RepeatNotices } from './ports.ts';
import { repeatKeyOf } from './repeat-notices.ts';

export interface NotifyDeps {
  notifier: Notifier;
  notices: RepeatNotices;
  clock: Clock;
}

/** What became of one pipeline event: posted (with the repeats it sums up), or counted. */
export type NotifyResult =
  | { posted: true; repeats: number }
  | { posted: false; key: string };

/**
 * Posts one pipeline event to on-call. An incident's steps are always
 * posted; a notice that repeats (the same pod's failure, an escalation no
 * incident holds) is posted once per quiet period, and the next one says
 * how many were counted in between.
 *
 * @example
 * ```ts
 * const result = await notify('Image Pull Failure Classified', detail, deps, 3600);
 * ```
 */
export async function notify<K extends DetailType>(
  detailType: K,
  detail: DetailOf<K>,
  deps: NotifyDeps,
  quietSeconds: number
): Promise<NotifyResult> {
  const key = repeatKeyOf(detailType, detail);
  if (key === undefined) {
    await deps.notifier.publish(renderNotification(detailType, detail));
    return { posted: true, repeats: 0 };
  }
  const verdict = await deps.notices.record(
    key,
    deps.clock.now(),
    quietSeconds
  );
  if (!verdict.post) return { posted: false, key };
  try {
    await deps.notifier.publish(
      renderNotification(detailType, detail, verdict.repeats)
    );
  } catch (err) {
    // Not posted: the quiet period goes back, so the redelivery posts it.
    await deps.notices.forget(key).catch(() => undefined);
    throw err;
  }
  return { posted: true, repeats: verdict.repeats };
}
