import { readFile } from 'node:fs/promises';
import {
  DescribeLaunchTemplateVersionsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { ListCommandsCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEvents } from '../../cli/local/input.ts';
import { renderJson } from '../../cli/local/output.ts';
import { type LocalRunResult, runLocal } from '../../cli/local/runner.ts';
import { DETAIL_TYPES, SOURCES } from '../../events/detail-types.ts';

const SEED = new URL(
  '../../events/samples/seed-incident.jsonl',
  import.meta.url
);

describe('Feature: a replay of the seed incident through the archive decides, and touches nothing', () => {
  let result: LocalRunResult;

  beforeAll(async () => {
    const items = parseEvents(await readFile(SEED, 'utf8'));
    result = await runLocal({
      items,
      replay: true,
      keepMoto: true,
      node: 'simulated',
    });
  });
  afterAll(async () => {
    await result.moto?.stop();
  });

  const config = () => ({
    endpoint: result.endpoint,
    region: 'us-east-1',
    maxAttempts: 1,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });

  it('takes the decisions of the live run, each marked dry-run with the replay name', () => {
    // Assess
    const decisions = result.busEvents.filter(
      (e) => e.source === SOURCES.pipeline
    );
    const types = decisions.map((e) => e['detail-type']);
    expect(types).toContain(DETAIL_TYPES.incidentOpened);
    expect(types).toContain(DETAIL_TYPES.nodePruneRequested);
    expect(types).toContain(DETAIL_TYPES.volumeRollRequested);
    expect(types).toContain(DETAIL_TYPES.volumeRollStarted);
    for (const d of decisions) {
      expect(d.detail.dryRun, d['detail-type']).toBe(true);
      expect(d.detail.replayName, d['detail-type']).toMatch(
        /^pullmedic-local-/
      );
    }
    const replayed = result.busEvents.filter(
      (e) => e.source === SOURCES.forwarder
    );
    expect(replayed.every((e) => typeof e['replay-name'] === 'string')).toBe(
      true
    );
    const prune = decisions.find(
      (e) => e['detail-type'] === DETAIL_TYPES.nodePruneRequested
    );
    expect(prune?.detail.commandId).toMatch(/^dry-run-/);
    const roll = decisions.find(
      (e) => e['detail-type'] === DETAIL_TYPES.volumeRollStarted
    );
    expect(roll?.detail).toMatchObject({
      oldSizeGiB: 20,
      newSizeGiB: 100,
      launchTemplate: { newVersion: null },
    });
  });

  it('sent no SSM command and created no launch template version', async () => {
    // Act
    const commands = await new SSMClient(config()).send(
      new ListCommandsCommand({})
    );
    const versions = await new EC2Client(config()).send(
      new DescribeLaunchTemplateVersionsCommand({
        LaunchTemplateId: result.nodes[0]?.launchTemplateId,
      })
    );

    // Assess
    expect(commands.Commands ?? []).toEqual([]);
    expect(versions.LaunchTemplateVersions).toHaveLength(1);
    expect(result.gaps.nodegroupUpdates).toEqual([]);
    expect(result.gaps.pruned).toEqual([]);
  });

  it('says "dryRun": true in the JSON of every decision', () => {
    // Act
    const lines = renderJson(result)
      .split('\n')
      .map((l) => JSON.parse(l));

    // Assess
    const decisions = lines.filter((l) => l.source === SOURCES.pipeline);
    expect(decisions.length).toBeGreaterThan(0);
    expect(decisions.every((l) => l.detail.dryRun === true)).toBe(true);
    // And what on-call would have got says it was a dry run.
    const notifications = lines.filter((l) => 'notification' in l);
    expect(notifications.length).toBeGreaterThan(0);
    expect(
      notifications.every((l) =>
        /dry.run/i.test(JSON.stringify(l.notification.message))
      )
    ).toBe(true);
  });
});
