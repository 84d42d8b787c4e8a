import { beforeEach, describe, expect, it } from 'vitest';
import { notify } from '#core/notify.ts';
import type { Notification, Notifier } from '#core/ports.ts';
import { repeatKeyOf } from '#core/repeat-notices.ts';
import { DETAIL_TYPES } from '#events/detail-types.ts';
import type {
  IncidentEscalatedDetail,
  IncidentOpenedDetail,
  PodRestartSkipReason,
} from '#events/schemas.ts';
import { FixedClock } from '#test/fakes/fixed-clock.ts';
import { InMemoryRepeatNotices } from '#test/fakes/in-memory-repeat-notices.ts';
import { sampleDetail } from '#test/helpers/bus.ts';
import {
  aClassifiedDetail,
  CLUSTER,
  NODE_NAME,
} from '#test/helpers/fixtures.ts';

/** A hand-written Notifier that keeps what it was given (no SNS here). */
class RecordingNotifier implements Notifier {
  published: Notification[] = [];
  failNext = false;
  async publish(notification: Notification): Promise<string> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('SNS throttled');
    }
    this.published.push(notification);
    return `msg-${this.published.length}`;
  }
}

const auth = aClassifiedDetail({
  class: 'auth',
  evidence: 'pull access denied',
  remedy: 'notify',
});

const descriptionOf = (n: Notification | undefined): string =>
  (n?.chatbot.content as { description?: string } | undefined)?.description ??
  '';

describe('Function: notify', () => {
  const notices = new InMemoryRepeatNotices();
  const clock = new FixedClock();
  let notifier: RecordingNotifier;
  const deps = () => ({ notifier, notices, clock });

  beforeEach(() => {
    notices.reset();
    notifier = new RecordingNotifier();
    clock.set('2026-11-20T09:41:00Z');
  });

  it('posts a repeating notice once per quiet period, and the next post counts the rest', async () => {
    // Act
    const first = await notify(
      DETAIL_TYPES.imagePullFailureClassified,
      auth,
      deps(),
      3600
    );
    clock.set('2026-11-20T09:46:00Z');
    const second = await notify(
      DETAIL_TYPES.imagePullFailureClassified,
      auth,
      deps(),
      3600
    );
    clock.set('2026-11-20T10:41:00Z');
    const third = await notify(
      DETAIL_TYPES.imagePullFailureClassified,
      auth,
      deps(),
      3600
    );

    // Assess
    expect(first).toEqual({ posted: true, repeats: 0 });
    expect(second).toEqual({
      posted: false,
      key: `live/pull/${CLUSTER}/${NODE_NAME}/inference/triton-79569cfbbc-m2wcc/auth`,
    });
    expect(third).toEqual({ posted: true, repeats: 1 });
    expect(notifier.published).toHaveLength(2);
    expect(descriptionOf(notifier.published[0])).not.toContain('*Repeats:*');
    expect(descriptionOf(notifier.published[1])).toContain(
      '*Repeats:* 1 more like this since the last message, not posted'
    );
  });

  it("always posts an incident's steps", async () => {
    // Prepare
    const opened: IncidentOpenedDetail = {
      cluster: CLUSTER,
      node: { name: NODE_NAME },
      dryRun: false,
      incidentId: 'inc-1',
      openedAt: '2026-11-20T09:40:59Z',
      class: 'disk_full',
      evidence: 'no space left on device',
    };

    // Act
    await notify(DETAIL_TYPES.incidentOpened, opened, deps(), 3600);
    await notify(DETAIL_TYPES.incidentOpened, opened, deps(), 3600);

    // Assess
    expect(notifier.published).toHaveLength(2);
    expect(notices.callCount('record')).toBe(0);
  });

  it('gives the quiet period back when the post fails, so the redelivery posts it', async () => {
    // Prepare
    notifier.failNext = true;

    // Act
    const failed = notify(
      DETAIL_TYPES.imagePullFailureClassified,
      auth,
      deps(),
      3600
    );
    await expect(failed).rejects.toThrow('SNS throttled');
    const retried = await notify(
      DETAIL_TYPES.imagePullFailureClassified,
      auth,
      deps(),
      3600
    );

    // Assess
    expect(retried).toEqual({ posted: true, repeats: 0 });
    expect(notifier.published).toHaveLength(1);
  });

  it('still throws the post failure when giving the quiet period back fails too', async () => {
    // Prepare
    notifier.failNext = true;
    notices.failWith('forget', new Error('table gone'));

    // Act
    const failed = notify(
      DETAIL_TYPES.imagePullFailureClassified,
      auth,
      deps(),
      3600
    );

    // Assess
    await expect(failed).rejects.toThrow('SNS throttled');
  });
});

describe('Function: repeatKeyOf', () => {
  it('keys a classification by scope, pod and class', () => {
    // Act
    const keys = [
      repeatKeyOf(DETAIL_TYPES.imagePullFailureClassified, auth),
      repeatKeyOf(DETAIL_TYPES.imagePullFailureClassified, {
        ...auth,
        dryRun: true,
      }),
      repeatKeyOf(DETAIL_TYPES.imagePullFailureClassified, {
        ...auth,
        replayName: 'pm-1',
        dryRun: true,
      }),
      repeatKeyOf(DETAIL_TYPES.imagePullFailureClassified, {
        ...auth,
        pod: undefined,
      }),
    ];

    // Assess
    expect(keys).toEqual([
      `live/pull/${CLUSTER}/${NODE_NAME}/inference/triton-79569cfbbc-m2wcc/auth`,
      `dry-run/pull/${CLUSTER}/${NODE_NAME}/inference/triton-79569cfbbc-m2wcc/auth`,
      `replay:pm-1/pull/${CLUSTER}/${NODE_NAME}/inference/triton-79569cfbbc-m2wcc/auth`,
      `live/pull/${CLUSTER}/${NODE_NAME}/-/-/auth`,
    ]);
  });

  it('keys an escalation no incident holds by node and reason, and never an incident step', () => {
    // Prepare
    const escalation: IncidentEscalatedDetail = {
      cluster: CLUSTER,
      node: { name: NODE_NAME },
      dryRun: false,
      reason: 'the kill switch is on: pullmedic did nothing',
      nextSteps: ['Turn it back on'],
    };

    // Act
    const keys = [
      repeatKeyOf(DETAIL_TYPES.incidentEscalated, escalation),
      repeatKeyOf(DETAIL_TYPES.incidentEscalated, {
        ...escalation,
        incidentId: 'inc-1',
      }),
      repeatKeyOf(
        DETAIL_TYPES.incidentResolved,
        sampleDetail(DETAIL_TYPES.incidentResolved)
      ),
    ];

    // Assess
    expect(keys).toEqual([
      `live/escalation/${CLUSTER}/${NODE_NAME}/the kill switch is on: pullmedic did nothing`,
      undefined,
      undefined,
    ]);
  });

  it('counts the pods a storm leaves over the restart limit under one key per incident, and posts every other skip', () => {
    // Prepare
    const skipped = (reason: PodRestartSkipReason, name: string) => ({
      cluster: CLUSTER,
      node: { name: NODE_NAME },
      incidentId: 'inc-1',
      pod: { namespace: 'batch', name },
      reason,
      why: 'x',
    });

    // Act
    const keys = [
      repeatKeyOf(DETAIL_TYPES.podRestartSkipped, skipped('over-limit', 'a')),
      repeatKeyOf(DETAIL_TYPES.podRestartSkipped, skipped('over-limit', 'b')),
      repeatKeyOf(DETAIL_TYPES.podRestartSkipped, skipped('bare-pod', 'c')),
    ];

    // Assess
    expect(keys).toEqual([
      'live/restart-over-limit/inc-1',
      'live/restart-over-limit/inc-1',
      undefined,
    ]);
  });
});
