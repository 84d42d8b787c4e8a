import { describe, expect, it } from 'vitest';
import {
  loadAgentConfig,
  redactAgentConfig,
} from '../../../forwarder/agent/config.ts';
import { ForwarderConfigError } from '../../../forwarder/errors.ts';

const QUEUE =
  'https://sqs.us-east-1.amazonaws.com/123456789012/pullmedic-prod-agent';
const REQUIRED = {
  CLUSTER_NAME: 'gpu-inference',
  QUEUE_URL: QUEUE,
  EVENT_BUS_NAME: 'pullmedic-prod',
};

describe('Function: loadAgentConfig', () => {
  it('has the defaults the README states', () => {
    // Act
    const config = loadAgentConfig([], REQUIRED);

    // Assess
    expect(config).toEqual({
      cluster: 'gpu-inference',
      queueUrl: QUEUE,
      bus: 'pullmedic-prod',
      region: 'us-east-1',
      sweepIntervalSeconds: 120,
      sweepQuietSeconds: 900,
      optedOutNamespaces: ['kube-system'],
      maxPodsPerIncident: 10,
      dryRun: false,
      receiveWaitSeconds: 20,
      host: '0.0.0.0',
      port: 8080,
      drainTimeoutMs: 20_000,
      logLevel: 'info',
    });
  });

  it('takes flags over environment variables, and reads lists and switches', () => {
    // Act
    const config = loadAgentConfig(
      [
        '--sweep-interval-seconds=0',
        '--opted-out-namespaces=kube-system, batch',
      ],
      { ...REQUIRED, DRY_RUN: 'yes', SWEEP_INTERVAL_SECONDS: '60' }
    );

    // Assess
    expect(config.sweepIntervalSeconds).toBe(0);
    expect(config.optedOutNamespaces).toEqual(['kube-system', 'batch']);
    expect(config.dryRun).toBe(true);
  });

  it('takes an empty OPTED_OUT_NAMESPACES as "none": only the labels count', () => {
    // Act
    const config = loadAgentConfig([], {
      ...REQUIRED,
      OPTED_OUT_NAMESPACES: '',
    });

    // Assess
    expect(config.optedOutNamespaces).toEqual([]);
  });

  it('names the variable of every bad or missing setting', () => {
    // Act
    const act = () =>
      loadAgentConfig([], {
        QUEUE_URL: 'not a url',
        DRY_RUN: 'maybe',
        MAX_PODS_PER_INCIDENT: '0',
        OPTED_OUT_NAMESPACES: 'kube-system,Bad_Name',
      });

    // Assess
    expect(act).toThrow(ForwarderConfigError);
    expect(act).toThrow(/CLUSTER_NAME \(--cluster\): .*\(not set\)/);
    expect(act).toThrow(/QUEUE_URL \(--queue-url\)/);
    expect(act).toThrow(/EVENT_BUS_NAME \(--bus\)/);
    expect(act).toThrow(/OPTED_OUT_NAMESPACES \(--opted-out-namespaces\)/);
    expect(act).toThrow(/MAX_PODS_PER_INCIDENT/);
    expect(act).toThrow(/DRY_RUN \(--dry-run\)/);
  });

  it('refuses a flag it does not know', () => {
    // Act & Assess
    expect(() => loadAgentConfig(['--sweep=1'], REQUIRED)).toThrow(/bad flags/);
  });
});

describe('Function: redactAgentConfig', () => {
  it('hides credentials in URLs', () => {
    // Prepare
    const config = loadAgentConfig([], {
      ...REQUIRED,
      AWS_ENDPOINT_URL: 'http://user:secret@127.0.0.1:5000',
      DEAD_LETTER_QUEUE_URL: `${QUEUE}-dlq`,
    });

    // Act
    const shown = JSON.stringify(redactAgentConfig(config));

    // Assess
    expect(shown).not.toContain('secret');
    expect(shown).toContain('REDACTED@127.0.0.1:5000');
    expect(shown).toContain(`${QUEUE}-dlq`);
  });
});
