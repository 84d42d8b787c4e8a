import { describe, expect, it } from 'vitest';
import { QUEUE_FUNCTIONS } from '#cli/local/functions.ts';
import { RouteWatch } from '#cli/local/route-watch.ts';
import { DETAIL_TYPES } from '#events/detail-types.ts';

const holding = (watch: RouteWatch) =>
  QUEUE_FUNCTIONS.filter((fn) => watch.mayHold(fn));

describe('Class: RouteWatch', () => {
  it('suspects every queue until it is found empty', () => {
    // Prepare
    const watch = new RouteWatch(QUEUE_FUNCTIONS);

    // Act
    for (const fn of QUEUE_FUNCTIONS) watch.polled(fn, 0);

    // Assess
    expect(holding(new RouteWatch(QUEUE_FUNCTIONS))).toEqual(QUEUE_FUNCTIONS);
    expect(holding(watch)).toEqual([]);
  });

  it('suspects the queues whose rules could route what crossed the bus', () => {
    // Prepare
    const watch = new RouteWatch(QUEUE_FUNCTIONS);
    for (const fn of QUEUE_FUNCTIONS) watch.polled(fn, 0);

    // Act & Assess: a kubelet event goes to classify and, were it a
    // Pulled, to resolve; the pattern's other fields are not looked at.
    watch.crossedBus('pullmedic.kubernetes', 'Kubernetes Event');
    expect(holding(watch)).toEqual(['classify', 'resolve']);
    for (const fn of QUEUE_FUNCTIONS) watch.polled(fn, 0);

    // A classification goes to remediate, and to notify when its class
    // is one pullmedic does not act on (loosely: both); a roll start to
    // watch-rollout and notify ($or branches are each looked at).
    watch.crossedBus('pullmedic', DETAIL_TYPES.imagePullFailureClassified);
    expect(holding(watch)).toEqual(['remediate', 'notify']);
    for (const fn of QUEUE_FUNCTIONS) watch.polled(fn, 0);
    watch.crossedBus('pullmedic', DETAIL_TYPES.volumeRollStarted);
    expect(holding(watch)).toEqual(['watch-rollout', 'notify']);
    for (const fn of QUEUE_FUNCTIONS) watch.polled(fn, 0);

    // An SSM status change, whatever its document: prune-result.
    watch.crossedBus(
      'aws.ssm',
      'EC2 Command Invocation Status-change Notification'
    );
    expect(holding(watch)).toEqual(['prune-result']);
  });

  it('keeps suspecting a queue that held messages: its function may have put some back', () => {
    // Prepare
    const watch = new RouteWatch(QUEUE_FUNCTIONS);
    for (const fn of QUEUE_FUNCTIONS) watch.polled(fn, 0);

    // Act
    watch.polled('remediate', 3);

    // Assess
    expect(holding(watch)).toEqual(['remediate']);
  });
});
