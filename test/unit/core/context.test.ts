import { describe, expect, it } from 'vitest';
import {
  decisionBase,
  incidentIdOf,
  incidentKey,
  LIVE_REPLAY_PREFIX,
  runModeOf,
} from '#core/context.ts';
import { FakeControlSwitch } from '#test/fakes/fake-control-switch.ts';
import { CLUSTER, NODE_NAME } from '#test/helpers/fixtures.ts';

describe('Function: runModeOf', () => {
  it('carries the event id for the incident timeline, live and in a replay', async () => {
    // Act
    const live = await runModeOf({ id: 'ev-1' }, new FakeControlSwitch('live'));
    const replay = await runModeOf(
      { id: 'ev-2', 'replay-name': 'postmortem-1' },
      new FakeControlSwitch('live')
    );

    // Assess
    expect(live.eventId).toBe('ev-1');
    expect(replay.eventId).toBe('ev-2');
  });

  it('runs a decision that came from a replay as that replay, in dry-run', async () => {
    // Act: EventBridge put no replay-name on what a function emitted.
    const run = await runModeOf(
      { id: 'ev-1', detail: { dryRun: true, replayName: 'postmortem-1' } },
      new FakeControlSwitch('live')
    );

    // Assess
    expect(run).toEqual({
      mode: 'dry-run',
      dryRun: true,
      replayName: 'postmortem-1',
      scope: 'replay:postmortem-1',
      eventId: 'ev-1',
    });
  });

  it('keeps a decision taken in dry-run in dry-run, though the switch is live now', async () => {
    // Act
    const run = await runModeOf(
      { id: 'ev-1', detail: { dryRun: true } },
      new FakeControlSwitch('live')
    );

    // Assess
    expect(run).toEqual({
      mode: 'dry-run',
      dryRun: true,
      scope: 'dry-run',
      eventId: 'ev-1',
    });
  });

  it('does not act on a live replay whose decision was taken in dry-run', async () => {
    // Act
    const run = await runModeOf(
      { id: 'ev-1', detail: { dryRun: true, replayName: 'pullmedic-live-1' } },
      new FakeControlSwitch('live')
    );

    // Assess
    expect(run.dryRun).toBe(true);
  });

  it('returns a live run in the live scope when the switch is live and the event is not replayed', async () => {
    // Prepare
    const control = new FakeControlSwitch('live');

    // Act
    const run = await runModeOf({ id: 'ev-1' }, control);

    // Assess
    expect(run).toEqual({
      mode: 'live',
      dryRun: false,
      scope: 'live',
      eventId: 'ev-1',
    });
    expect(control.calls).toBe(1);
  });

  it('returns a dry run in its own scope when the switch is dry-run', async () => {
    // Act
    const run = await runModeOf(
      { id: 'ev-1' },
      new FakeControlSwitch('dry-run')
    );

    // Assess: a later switch to live still finds no incident, and prunes.
    expect(run).toEqual({
      mode: 'dry-run',
      dryRun: true,
      scope: 'dry-run',
      eventId: 'ev-1',
    });
  });

  it('returns off, not acting, when the kill switch is on', async () => {
    // Act
    const run = await runModeOf({ id: 'ev-1' }, new FakeControlSwitch('off'));

    // Assess
    expect(run).toEqual({
      mode: 'off',
      dryRun: true,
      scope: 'dry-run',
      eventId: 'ev-1',
    });
  });

  it('returns a dry run in the replay scope when a replay has no live marker', async () => {
    // Act
    const run = await runModeOf(
      { id: 'ev-1', 'replay-name': 'postmortem-20261120' },
      new FakeControlSwitch('live')
    );

    // Assess
    expect(run).toEqual({
      mode: 'dry-run',
      dryRun: true,
      replayName: 'postmortem-20261120',
      scope: 'replay:postmortem-20261120',
      eventId: 'ev-1',
    });
  });

  it('returns a live run in the live scope when a replay carries the live marker and the switch is live', async () => {
    // Prepare
    const name = `${LIVE_REPLAY_PREFIX}20261120`;

    // Act
    const run = await runModeOf(
      { id: 'ev-1', 'replay-name': name },
      new FakeControlSwitch('live')
    );

    // Assess
    expect(name).toBe('pullmedic-live-20261120');
    expect(run).toEqual({
      mode: 'live',
      dryRun: false,
      replayName: name,
      scope: 'live',
      eventId: 'ev-1',
    });
  });

  // Finding 10: a replay named postmortem-not-live-2026 acted live.
  it.each([
    'postmortem-not-live-2026',
    'x-pullmedic-live-1',
    'PULLMEDIC-LIVE-1',
  ])(
    'keeps the replay %s in dry-run: only a name that starts with pullmedic-live- acts',
    async (name) => {
      // Act
      const run = await runModeOf(
        { id: 'ev-1', 'replay-name': name },
        new FakeControlSwitch('live')
      );

      // Assess
      expect(run).toMatchObject({ dryRun: true, scope: `replay:${name}` });
    }
  );

  it('returns a dry run in the replay scope when a live replay meets a dry-run switch', async () => {
    // Act
    const run = await runModeOf(
      { id: 'ev-1', 'replay-name': 'pullmedic-live-20261120' },
      new FakeControlSwitch('dry-run')
    );

    // Assess
    expect(run).toEqual({
      mode: 'dry-run',
      dryRun: true,
      replayName: 'pullmedic-live-20261120',
      scope: 'replay:pullmedic-live-20261120',
      eventId: 'ev-1',
    });
  });

  it('returns off when the kill switch is on during a replay', async () => {
    // Act
    const run = await runModeOf(
      { id: 'ev-1', 'replay-name': 'pullmedic-live-20261120' },
      new FakeControlSwitch('off')
    );

    // Assess
    expect(run).toEqual({
      mode: 'off',
      dryRun: true,
      replayName: 'pullmedic-live-20261120',
      scope: 'replay:pullmedic-live-20261120',
      eventId: 'ev-1',
    });
  });
});

describe('Function: incidentKey', () => {
  it("returns the cluster, the node and the run's scope", () => {
    // Act
    const key = incidentKey(CLUSTER, NODE_NAME, { scope: 'replay:x' });

    // Assess
    expect(key).toEqual({
      cluster: CLUSTER,
      node: NODE_NAME,
      scope: 'replay:x',
    });
  });
});

describe('Function: incidentIdOf', () => {
  it('returns cluster/node/compact time when the time is UTC', () => {
    // Act
    const id = incidentIdOf(CLUSTER, NODE_NAME, '2026-11-20T09:40:59Z');

    // Assess
    expect(id).toBe('prod/ip-10-0-1-149.ec2.internal/20261120T094059Z');
  });

  it('drops the fraction of a second when the time has milliseconds', () => {
    // Act
    const id = incidentIdOf(CLUSTER, NODE_NAME, '2026-11-20T09:40:59.123Z');

    // Assess
    expect(id).toBe('prod/ip-10-0-1-149.ec2.internal/20261120T094059Z');
  });
});

describe('Function: decisionBase', () => {
  it("returns the cluster, the node and the run's dry-run flag and replay name", () => {
    // Act
    const base = decisionBase(
      CLUSTER,
      { name: NODE_NAME },
      { dryRun: true, replayName: 'postmortem' }
    );

    // Assess
    expect(base).toEqual({
      cluster: CLUSTER,
      node: { name: NODE_NAME },
      dryRun: true,
      replayName: 'postmortem',
    });
  });
});
