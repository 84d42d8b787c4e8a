import { describe, expect, it } from 'vitest';
import { DEFAULT_FLEET } from '../../../cli/local/fleet.ts';
import {
  describeBusEvent,
  renderJson,
  renderTimeline,
} from '../../../cli/local/output.ts';
import type { BusEvent, LocalRunResult } from '../../../cli/local/runner.ts';
import { DETAIL_TYPES, SOURCES } from '../../../events/detail-types.ts';
import { sampleDetail } from '../../helpers/bus.ts';

/** A run's result with only what the renderers read. */
const aResult = (over: Partial<LocalRunResult>): LocalRunResult =>
  ({
    fleet: DEFAULT_FLEET,
    nodes: [],
    localNodes: [],
    busEvents: [],
    notes: [],
    notifications: [],
    deadLetters: [],
    endpoint: 'http://127.0.0.1:1',
    shiftMs: 0,
    ...over,
  }) as LocalRunResult;

const busEvent = (detailType: string, detail: object): BusEvent => ({
  id: 'e-1',
  time: '2026-11-20T09:40:59Z',
  source: SOURCES.forwarder,
  'detail-type': detailType,
  detail: detail as Record<string, unknown>,
  order: 1,
});

describe('Function: renderTimeline', () => {
  it('renders a Kubernetes Event without involvedObject instead of crashing', () => {
    // Prepare
    const result = aResult({
      busEvents: [
        busEvent(DETAIL_TYPES.kubernetesEvent, {
          cluster: 'gpu-inference',
          event: { reason: 'Failed', type: 'Warning', message: 'no object' },
        }),
      ],
    });

    // Act
    const text = renderTimeline(result, 'input');

    // Assess
    expect(text).toContain(
      'kubelet       Warning Failed (no involvedObject): no object'
    );
  });

  it('shows the JSON of an event that does not have the shape its detail-type promises', () => {
    // Prepare
    const result = aResult({
      busEvents: [busEvent(DETAIL_TYPES.volumeRollStarted, { odd: true })],
    });

    // Act
    const text = renderTimeline(result, 'input');

    // Assess
    expect(text).toContain(`${DETAIL_TYPES.volumeRollStarted} {"odd":true}`);
  });
});

describe('Function: describeBusEvent', () => {
  it('says which volume holds containerd after a prune, and the rule that said so', () => {
    // Act
    const [stage, text] = describeBusEvent(
      busEvent(DETAIL_TYPES.nodePruneCompleted, {
        ...sampleDetail(DETAIL_TYPES.nodePruneCompleted),
        dryRun: false,
        commandError: undefined,
        status: 'Success',
        report: null,
        outcome: 'roll',
        reason: 'below the group minimum',
        volumeSizeGiB: 20,
        volumeDeviceName: '/dev/xvdb',
        volumeRule: 'prune-report',
      })
    );

    // Assess
    expect(stage).toBe('prune result');
    expect(text).toBe(
      'Success: containerd volume /dev/xvdb 20 GiB (prune-report); decision: roll: below the group minimum'
    );
  });
});

describe('Function: renderJson', () => {
  it('prints every dead letter after the events, under its own key', () => {
    // Prepare
    const result = aResult({
      busEvents: [
        busEvent(DETAIL_TYPES.kubernetesEvent, {
          cluster: 'c',
          event: { involvedObject: { kind: 'Pod', name: 'p' } },
        }),
      ],
      deadLetters: [
        { queue: 'forwarder', reason: 'line 2: line is not JSON', body: '{x' },
        { queue: 'classify', reason: 'contract', body: '{"a":1}' },
      ],
    });

    // Act
    const lines = renderJson(result)
      .split('\n')
      .map((l) => JSON.parse(l));

    // Assess
    expect(lines).toHaveLength(3);
    expect(lines.slice(1)).toEqual([
      {
        deadLetter: {
          queue: 'forwarder',
          reason: 'line 2: line is not JSON',
          body: '{x',
        },
      },
      {
        deadLetter: { queue: 'classify', reason: 'contract', body: '{"a":1}' },
      },
    ]);
  });
});
