import { describe, expect, it } from 'vitest';
import { classifyKubernetesEvent } from '#core/classify-event.ts';
import { remediate } from '#core/remediate.ts';
import { DETAIL_TYPES } from '#events/detail-types.ts';
import {
  EVENT_TIME_FIELDS,
  eventTimeMs,
  eventTimeOf,
  imageOf,
  instanceIdOf,
  namespacedName,
  nodeNameOf,
  nodeNameOfEvent,
  podOf,
  shiftEventTimes,
} from '#events/kubernetes-event-facts.ts';
import { KubernetesEventDetail } from '#events/schemas.ts';
import { createFakeEnvironment } from '#test/fakes/environment.ts';
import { detailOf } from '#test/helpers/bus.ts';
import {
  aKubernetesEvent,
  aKubernetesEventDetail,
  anIncident,
  anOrigin,
  INSTANCE_ID,
  LIVE,
  NODE_NAME,
  SEED_POD,
} from '#test/helpers/fixtures.ts';

// Each time field, in the order a recorder writes them: the later in a
// series' life, the higher. A recorder never writes a later field with an
// earlier time, so "the latest observation" is the oracle: whichever of
// these an event holds, its time is the latest of them.
const TIMES = {
  creationTimestamp: '2026-11-20T09:00:00Z',
  deprecatedFirstTimestamp: '2026-11-20T09:01:00Z',
  firstTimestamp: '2026-11-20T09:02:00Z',
  eventTime: '2026-11-20T09:03:00.000001Z',
  deprecatedLastTimestamp: '2026-11-20T09:04:00Z',
  lastTimestamp: '2026-11-20T09:05:00Z',
  lastObservedTime: '2026-11-20T09:06:00.000001Z',
} as const;
type TimeField = keyof typeof TIMES;
const FIELDS = Object.keys(TIMES) as TimeField[];

/** An event holding exactly `fields`, each at its time in {@link TIMES}. */
const withTimes = (fields: readonly TimeField[]): Record<string, unknown> => {
  const event: Record<string, unknown> = { metadata: { name: 'e' } };
  for (const f of fields) {
    if (f === 'creationTimestamp')
      event.metadata = { name: 'e', creationTimestamp: TIMES[f] };
    else if (f === 'lastObservedTime')
      event.series = { count: 3, lastObservedTime: TIMES[f] };
    else event[f] = TIMES[f];
  }
  return event;
};

/** Every subset of the time fields: 2^7 of them. */
const subsets: TimeField[][] = Array.from(
  { length: 2 ** FIELDS.length },
  (_, bits) => FIELDS.filter((_, i) => bits & (1 << i))
);

describe('Function: eventTimeOf', () => {
  it('reads every time field the precedence names, and only those', () => {
    // Assess: the precedence covers each field a recorder writes.
    expect(EVENT_TIME_FIELDS.map((p) => p[p.length - 1]).sort()).toEqual(
      [...FIELDS].sort()
    );
  });

  it.each(subsets.map((s) => [s.join(', ') || '(none)', s] as const))(
    'takes the latest observation of an event with %s',
    (_, fields) => {
      // Act
      const at = eventTimeOf(withTimes(fields));

      // Assess: the latest of the times present, or none at all.
      const latest = fields
        .map((f) => TIMES[f])
        .sort((a, b) => Date.parse(a) - Date.parse(b))
        .pop();
      expect(at).toBe(latest);
    }
  );

  it("takes a series' last observation, not its eventTime (the first)", () => {
    // Prepare: events.k8s.io/v1 as the API server serves it to a core/v1
    // reader: no lastTimestamp from the new recorder, a series.
    const event = aKubernetesEvent({
      eventTime: '2026-11-20T08:00:00.000000Z',
      firstTimestamp: null,
      lastTimestamp: null,
      series: { count: 12, lastObservedTime: '2026-11-20T09:41:00.000000Z' },
    });

    // Act
    const at = eventTimeOf(
      KubernetesEventDetail.parse(aKubernetesEventDetail(event)).event
    );

    // Assess: the schema keeps the series, and its last observation wins.
    expect(at).toBe('2026-11-20T09:41:00.000000Z');
  });

  it('passes over a field that holds no time', () => {
    // Act
    const at = eventTimeOf({
      series: { lastObservedTime: 'yesterday' },
      lastTimestamp: '',
      eventTime: null,
      firstTimestamp: '2026-11-20T09:40:00Z',
    });

    // Assess
    expect(at).toBe('2026-11-20T09:40:00Z');
  });

  it('reads the exporter shape (the core/v1 fields inline) like core/v1', () => {
    // Act
    const at = eventTimeOf({
      clusterName: 'prod',
      firstTimestamp: '2026-11-20T09:40:00Z',
      lastTimestamp: '2026-11-20T09:45:00Z',
      eventTime: null,
    });

    // Assess
    expect(at).toBe('2026-11-20T09:45:00Z');
  });

  it('says nothing for what is not an object', () => {
    // Assess
    expect([eventTimeOf(null), eventTimeOf('x'), eventTimeMs([])]).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
  });
});

describe('Function: eventTimeMs', () => {
  it('gives the time in ms since the epoch', () => {
    // Assess
    expect(eventTimeMs({ lastTimestamp: '2026-11-28T10:00:00Z' })).toBe(
      Date.parse('2026-11-28T10:00:00Z')
    );
  });
});

describe('Function: shiftEventTimes', () => {
  it('moves every time field the precedence reads, and leaves the event', () => {
    // Prepare
    const event = withTimes(FIELDS);

    // Act
    const moved = shiftEventTimes(event, 60_000);

    // Assess
    expect(eventTimeOf(moved)).toBe('2026-11-20T09:07:00Z');
    expect(moved).toMatchObject({
      metadata: { creationTimestamp: '2026-11-20T09:01:00Z' },
      firstTimestamp: '2026-11-20T09:03:00Z',
      lastTimestamp: '2026-11-20T09:06:00Z',
      series: { count: 3 },
    });
    expect(event).toEqual(withTimes(FIELDS));
  });
});

describe('Function: nodeNameOf', () => {
  it("returns the forwarder's node when the detail carries one", () => {
    // Act
    const node = nodeNameOf(
      aKubernetesEventDetail(aKubernetesEvent(), {
        node: { name: 'ip-10-0-9-9.ec2.internal' },
      })
    );

    // Assess
    expect(node).toBe('ip-10-0-9-9.ec2.internal');
  });

  it("returns the kubelet's host when the detail carries no node", () => {
    // Act
    const node = nodeNameOf(aKubernetesEventDetail());

    // Assess
    expect(node).toBe(NODE_NAME);
  });

  it('returns the involved object when the event is about a Node', () => {
    // Act
    const node = nodeNameOf(
      aKubernetesEventDetail(
        aKubernetesEvent({
          involvedObject: { kind: 'Node', name: 'ip-10-0-3-3.ec2.internal' },
          source: { component: 'kubelet' },
        })
      )
    );

    // Assess
    expect(node).toBe('ip-10-0-3-3.ec2.internal');
  });

  it('returns undefined when nothing names a node', () => {
    // Act
    const node = nodeNameOf(
      aKubernetesEventDetail(aKubernetesEvent({ source: undefined }))
    );

    // Assess
    expect(node).toBeUndefined();
  });
});

describe('Function: nodeNameOfEvent', () => {
  it.each([
    ['core/v1', { source: { host: NODE_NAME } }],
    ['events.k8s.io/v1', { deprecatedSource: { host: NODE_NAME } }],
    ['a Node (core/v1)', { involvedObject: { kind: 'Node', name: NODE_NAME } }],
    [
      'a Node (events.k8s.io/v1)',
      { regarding: { kind: 'Node', name: NODE_NAME } },
    ],
  ])('reads the node of %s', (_, event) => {
    // Assess
    expect(nodeNameOfEvent(event)).toBe(NODE_NAME);
  });

  it('takes no name from a Node that is not a node name', () => {
    // Assess
    expect(
      nodeNameOfEvent({ involvedObject: { kind: 'Node', name: 'Not_A_Node' } })
    ).toBeUndefined();
  });
});

describe('Function: instanceIdOf', () => {
  it.each([
    ['the id itself', { instanceId: INSTANCE_ID }, INSTANCE_ID],
    [
      'the providerID',
      { providerID: `aws:///us-east-1a/${INSTANCE_ID}` },
      INSTANCE_ID,
    ],
    ['a providerID of another cloud', { providerID: 'gce://p/z/n' }, undefined],
    ['nothing', undefined, undefined],
  ])('reads %s', (_, node, expected) => {
    // Assess
    expect(instanceIdOf(node)).toBe(expected);
  });
});

describe('Function: podOf', () => {
  it.each([
    [
      'a Pod (core/v1)',
      { involvedObject: { kind: 'Pod', ...SEED_POD } },
      SEED_POD,
    ],
    [
      'a Pod (events.k8s.io/v1)',
      { regarding: { kind: 'Pod', ...SEED_POD } },
      SEED_POD,
    ],
    [
      'a Pod without a namespace',
      { involvedObject: { kind: 'Pod', name: 'p' } },
      undefined,
    ],
    [
      'a Node',
      { involvedObject: { kind: 'Node', name: NODE_NAME } },
      undefined,
    ],
  ])('reads %s', (_, event, expected) => {
    // Assess
    expect(podOf(event)).toEqual(expected);
  });

  it('writes a pod as namespace/name', () => {
    // Assess
    expect(namespacedName(SEED_POD)).toBe(
      `${SEED_POD.namespace}/${SEED_POD.name}`
    );
  });
});

describe('Function: imageOf', () => {
  it.each([
    ['the extracted image first', 'image "a:1"', 'b:2', 'b:2'],
    [
      'the image the kubelet names',
      'Failed to pull image "nginx:1.25": x',
      undefined,
      'nginx:1.25',
    ],
    [
      'no image that has characters no image uses',
      'image "a;rm"',
      undefined,
      undefined,
    ],
    ['no image where none is named', 'Back-off', undefined, undefined],
  ])('takes %s', (_, message, extracted, expected) => {
    // Assess
    expect(imageOf(message, extracted)).toBe(expected);
  });
});

describe('Feature: a recurring series after the last incident was resolved', () => {
  it('opens a new incident: the series first observed before the resolution recurs after it', async () => {
    // Prepare: the node's last incident resolved at 09:30; the failure's
    // series began at 09:00 and was last observed at 09:41.
    const env = createFakeEnvironment();
    env.nodes.addNode(NODE_NAME, anOrigin());
    env.incidents.seed(
      anIncident({
        status: 'resolved',
        resolvedAt: '2026-11-20T09:30:00.000Z',
        incidentId: 'prod/ip-10-0-1-149.ec2.internal/20261120T090000Z',
      })
    );
    const detail = KubernetesEventDetail.parse(
      aKubernetesEventDetail(
        aKubernetesEvent({
          eventTime: '2026-11-20T09:00:00.000000Z',
          firstTimestamp: null,
          lastTimestamp: null,
          count: undefined,
          series: { count: 7, lastObservedTime: '2026-11-20T09:41:00.000000Z' },
        })
      )
    );

    // Act
    const [classified] = await classifyKubernetesEvent(
      detail,
      '2026-11-20T09:41:01Z',
      LIVE,
      env
    );
    const emitted = await remediate(
      detailOf(classified, DETAIL_TYPES.imagePullFailureClassified),
      LIVE,
      env
    );

    // Assess: not stale; the recurrence opened an incident of its own.
    expect(
      detailOf(classified, DETAIL_TYPES.imagePullFailureClassified)
        .kubernetesEvent.time
    ).toBe('2026-11-20T09:41:00.000000Z');
    expect(emitted.map((e) => e.detailType)).toContain(
      DETAIL_TYPES.incidentOpened
    );
  });
});
