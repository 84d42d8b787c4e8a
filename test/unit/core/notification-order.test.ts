import { describe, expect, it } from 'vitest';
import { incidentOrder } from '#core/notification-order.ts';
import { DETAIL_TYPES } from '#events/detail-types.ts';

const at = (time: string, detailType: string) => ({ time, detailType });

describe('Function: incidentOrder', () => {
  it('orders by time first', () => {
    // Prepare
    const events = [
      at('2026-11-20T09:42:34Z', DETAIL_TYPES.incidentOpened),
      at('2026-11-20T09:41:00Z', DETAIL_TYPES.incidentResolved),
    ];

    // Act
    const sorted = [...events].sort(incidentOrder);

    // Assess
    expect(sorted.map((e) => e.detailType)).toEqual([
      DETAIL_TYPES.incidentResolved,
      DETAIL_TYPES.incidentOpened,
    ]);
  });

  it('orders steps that share a second as an incident runs', () => {
    // Prepare
    const second = '2026-11-20T09:41:06Z';
    const events = [
      DETAIL_TYPES.incidentResolved,
      DETAIL_TYPES.volumeRollCompleted,
      DETAIL_TYPES.volumeRollStarted,
      DETAIL_TYPES.incidentEscalated,
      DETAIL_TYPES.nodePruneCompleted,
      DETAIL_TYPES.nodePruneRequested,
      DETAIL_TYPES.incidentOpened,
      DETAIL_TYPES.imagePullFailureClassified,
    ].map((type) => at(second, type));

    // Act
    const sorted = [...events].sort(incidentOrder);

    // Assess
    expect(sorted.map((e) => e.detailType)).toEqual([
      DETAIL_TYPES.imagePullFailureClassified,
      DETAIL_TYPES.incidentOpened,
      DETAIL_TYPES.nodePruneRequested,
      DETAIL_TYPES.nodePruneCompleted,
      DETAIL_TYPES.volumeRollStarted,
      DETAIL_TYPES.volumeRollCompleted,
      DETAIL_TYPES.incidentEscalated,
      DETAIL_TYPES.incidentResolved,
    ]);
  });

  it('puts unreadable times and unknown steps last, in their own order', () => {
    // Prepare
    const events = [
      at('', 'first unreadable'),
      at('2026-11-20T09:41:06Z', 'an unknown step'),
      at('not a time', 'second unreadable'),
      at('2026-11-20T09:41:06Z', DETAIL_TYPES.incidentOpened),
    ];

    // Act
    const sorted = [...events].sort(incidentOrder);

    // Assess
    expect(sorted.map((e) => e.detailType)).toEqual([
      DETAIL_TYPES.incidentOpened,
      'an unknown step',
      'first unreadable',
      'second unreadable',
    ]);
  });
});
