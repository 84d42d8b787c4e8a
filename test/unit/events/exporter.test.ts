import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import {
  fromExporterDetail,
  KubernetesEventInput,
} from '../../../events/exporter.ts';

const SEED = new URL(
  '../../../events/samples/seed-incident.jsonl',
  import.meta.url
);
const seedFailed = async () =>
  JSON.parse((await readFile(SEED, 'utf8')).split('\n')[5] as string);

describe('Function: fromExporterDetail', () => {
  it('reads the whole EnhancedEvent the exporter sends without a template', async () => {
    // Prepare: what ev.ToJSON() sends: the Event inline, clusterName, and
    // an involvedObject with labels, annotations and owners.
    const event = await seedFailed();
    const enhanced = {
      ...event,
      clusterName: 'gpu-inference',
      involvedObject: {
        ...event.involvedObject,
        labels: { app: 'triton' },
        annotations: { a: 'b' },
        ownerReferences: [{ kind: 'ReplicaSet', name: 'triton-79569cfbbc' }],
        deleted: false,
      },
    };

    // Act
    const detail = KubernetesEventInput.parse(enhanced);

    // Assess
    expect(detail.cluster).toBe('gpu-inference');
    expect(detail.node).toEqual({ name: 'ip-10-0-1-149.ec2.internal' });
    expect(detail.event.message).toBe(event.message);
    const { apiVersion: _, ...ref } = event.involvedObject;
    expect(detail.event.involvedObject).toEqual(ref);
  });

  it('reads a templated detail with the keys the README recommends', () => {
    // Prepare
    const templated = {
      cluster: 'gpu-inference',
      reason: 'Failed',
      type: 'Warning',
      message: 'Failed to pull image "x": no space left on device',
      namespace: 'inference',
      kind: 'Pod',
      name: 'triton-79569cfbbc-m2wcc',
      host: 'ip-10-0-1-149.ec2.internal',
      count: '3',
    };

    // Act
    const detail = KubernetesEventInput.parse(templated);

    // Assess
    expect(detail).toMatchObject({
      cluster: 'gpu-inference',
      node: { name: 'ip-10-0-1-149.ec2.internal' },
      event: {
        reason: 'Failed',
        count: 3,
        involvedObject: {
          kind: 'Pod',
          namespace: 'inference',
          name: 'triton-79569cfbbc-m2wcc',
        },
        source: { host: 'ip-10-0-1-149.ec2.internal' },
      },
    });
  });

  it('says clusterName is missing when the exporter was not given one', async () => {
    // Prepare
    const event = await seedFailed();

    // Act
    const parsed = KubernetesEventInput.safeParse(event);

    // Assess
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.path.join('.'))).toContain(
      'cluster'
    );
  });

  it('leaves our own detail and unknown shapes as they are', () => {
    // Prepare
    const ours = { cluster: 'c', event: { reason: 'Failed' } };

    // Act / Assess
    expect(fromExporterDetail(ours)).toBe(ours);
    expect(fromExporterDetail('text')).toBe('text');
    expect(fromExporterDetail({ foo: 1 })).toEqual({ foo: 1 });
  });
});
