import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SELECTORS,
  loadConfig,
  redactConfig,
} from '../../../forwarder/config.ts';
import { ForwarderConfigError } from '../../../forwarder/errors.ts';
import {
  eventCount,
  fromEventsV1,
  priorityOf,
} from '../../../forwarder/event.ts';

describe('Function: loadConfig', () => {
  it('takes flags over environment variables over defaults', () => {
    // Prepare
    const env = {
      CLUSTER_NAME: 'from-env',
      EVENT_BUS_NAME: 'pullmedic-prod',
      FLUSH_MS: '500',
      LEADER_ELECTION: 'false',
    };

    // Act
    const config = loadConfig(['--cluster=prod-eu', '--batch-size=5'], env);

    // Assess
    expect(config.cluster).toBe('prod-eu');
    expect(config.bus).toBe('pullmedic-prod');
    expect(config.flushMs).toBe(500);
    expect(config.batchSize).toBe(5);
    expect(config.leaderElection).toBe(false);
    expect(config.selectors).toEqual([...DEFAULT_SELECTORS]);
  });

  it('names every bad field at once', () => {
    // Prepare
    const argv = [
      '--cluster=has spaces',
      '--batch-size=11',
      '--checkpoint=maybe',
    ];

    // Act
    const act = () => loadConfig(argv, { EVENT_BUS_NAME: 'b' });

    // Assess
    expect(act).toThrow(ForwarderConfigError);
    expect(act).toThrow(/cluster.*batchSize.*checkpoint/);
  });

  it('rejects an unknown flag', () => {
    // Act
    const act = () => loadConfig(['--clutser=prod'], {});

    // Assess
    expect(act).toThrow(ForwarderConfigError);
  });
});

describe('Function: redactConfig', () => {
  it('hides credentials in the endpoint URL', () => {
    // Prepare
    const config = loadConfig(
      [
        '--cluster=prod',
        '--bus=b',
        '--endpoint-url=http://user:secret@127.0.0.1:5000',
      ],
      {}
    );

    // Act
    const logged = JSON.stringify(redactConfig(config));

    // Assess
    expect(logged).not.toContain('secret');
    expect(logged).toContain('REDACTED');
  });
});

describe('Function: fromEventsV1', () => {
  it('maps an events.k8s.io/v1 series event to the core/v1 shape', () => {
    // Prepare
    const v1 = {
      metadata: { uid: 'u', name: 'web.1', namespace: 'default' },
      regarding: { kind: 'Pod', name: 'web', namespace: 'default' },
      note: 'Back-off pulling image "app:1"',
      reason: 'BackOff',
      type: 'Normal',
      eventTime: '2026-11-28T10:00:00.000000Z',
      series: { count: 7, lastObservedTime: '2026-11-28T10:05:00.000000Z' },
      reportingController: 'kubelet',
      reportingInstance: 'node-1',
    };

    // Act
    const core = fromEventsV1(v1);

    // Assess
    expect(core).toMatchObject({
      involvedObject: v1.regarding,
      message: v1.note,
      count: 7,
      lastTimestamp: '2026-11-28T10:05:00.000000Z',
      source: { component: 'kubelet', host: 'node-1' },
    });
    expect(eventCount(core)).toBe(7);
    expect(priorityOf(core)).toBe(2);
  });
});
