import { beforeEach, describe, expect, it } from 'vitest';
import type {
  IncidentKey,
  IncidentRecord,
  IncidentStore,
  RepeatNotices,
  RollLocks,
} from '#core/ports.ts';
import { sampleDetail } from '#test/helpers/bus.ts';

/**
 * The contract of the ports that have both an in-memory fake and a
 * DynamoDB adapter: the same cases run against each (test/unit/contracts
 * against the fakes, test/integration/adapters against moto), so the fake
 * the core's unit tests trust cannot drift from what the adapter does.
 */

export const KEY: IncidentKey = {
  cluster: 'prod',
  node: 'ip-10-0-1-149.ec2.internal',
  scope: 'live',
};

const T0 = '2026-11-20T09:40:59.000Z';

/** An incident as remediate opens it. */
export const candidate = (
  overrides: Partial<IncidentRecord> = {}
): IncidentRecord => ({
  key: KEY,
  incidentId: `prod/ip-10-0-1-149.ec2.internal/${(overrides.openedAt ?? T0).replace(/[-:.]/g, '')}`,
  status: 'open',
  openedAt: T0,
  node: { name: KEY.node, instanceId: 'i-0123456789abcdef0' },
  class: 'disk_full',
  evidence: 'no space left on device',
  step: 'opened',
  stepBy: 'event-open',
  due: '2026-11-20T09:46:00.000Z',
  timeline: [{ at: T0, step: 'classified', detail: 'disk_full' }],
  ...overrides,
});

const intent = {
  intentId: 'event-a',
  instanceId: 'i-0123456789abcdef0',
  amiFamily: 'al2023' as const,
  documentName: 'pullmedic-test-prune-containerd',
  claimedAt: '2026-11-20T09:41:00.000Z',
};

export function describeIncidentStoreContract(
  name: string,
  make: () => Promise<IncidentStore>
) {
  describe(`Contract: IncidentStore (${name})`, () => {
    let store: IncidentStore;
    beforeEach(async () => {
      store = await make();
    });

    const open = async (overrides: Partial<IncidentRecord> = {}) => {
      const c = candidate(overrides);
      await store.openOrJoin(c, c.openedAt);
      return c;
    };

    /** Resolves the incident, and a newer one opens on the node at 10:00. */
    const replace = async (incidentId: string) => {
      await store.resolve(KEY, incidentId, '2026-11-20T09:45:00Z', {
        at: '2026-11-20T09:45:00Z',
        step: 'resolved',
        detail: 'Pulled',
      });
      await store.openOrJoin(
        candidate({ openedAt: '2026-11-20T10:00:00.000Z' }),
        '2026-11-20T10:00:00.000Z'
      );
    };

    it('opens once, joins while open, and calls events older than the resolution stale', async () => {
      const first = await store.openOrJoin(candidate(), T0);
      const second = await store.openOrJoin(
        candidate({ openedAt: '2026-11-20T09:41:30.000Z' }),
        '2026-11-20T09:41:30.000Z'
      );
      await store.resolve(
        KEY,
        first.incident.incidentId,
        '2026-11-20T09:45:00Z',
        {
          at: '2026-11-20T09:45:00Z',
          step: 'resolved',
          detail: 'Pulled',
        }
      );
      const stale = await store.openOrJoin(
        candidate({ openedAt: '2026-11-20T09:44:00.000Z' }),
        '2026-11-20T09:44:00.000Z'
      );
      const reopened = await store.openOrJoin(
        candidate({ openedAt: '2026-11-20T10:00:00.000Z' }),
        '2026-11-20T10:00:00.000Z'
      );
      expect([
        first.outcome,
        second.outcome,
        stale.outcome,
        reopened.outcome,
      ]).toEqual(['opened', 'joined', 'stale', 'opened']);
      expect(second.incident.incidentId).toBe(first.incident.incidentId);
    });

    it('moves along the arrows of the steps only, with the state, the entry and the deadline in one write', async () => {
      const c = await open();
      const moved = await store.advance(KEY, c.incidentId, {
        to: 'prune-claimed',
        by: 'event-a',
        due: '2026-11-20T09:46:00.000Z',
        prune: intent,
        entry: {
          at: '2026-11-20T09:41:00Z',
          step: 'prune-claimed',
          detail: 'claimed',
        },
      });
      const skipped = await store.advance(KEY, c.incidentId, {
        to: 'roll-started',
        by: 'event-a',
        due: null,
      });
      expect(moved.outcome).toBe('moved');
      expect(moved.incident).toMatchObject({
        step: 'prune-claimed',
        stepBy: 'event-a',
        prune: intent,
        due: '2026-11-20T09:46:00.000Z',
      });
      expect(moved.incident?.timeline.map((t) => t.step)).toEqual([
        'classified',
        'prune-claimed',
      ]);
      // Not an arrow from prune-claimed; the same request, so `mine`.
      expect(skipped.outcome).toBe('mine');
      expect((await store.get(KEY))?.step).toBe('prune-claimed');
    });

    it('gives the same request `mine` and any other `refused`, at the step and after it', async () => {
      const c = await open();
      await store.advance(KEY, c.incidentId, {
        to: 'prune-claimed',
        by: 'event-a',
        due: null,
        prune: intent,
      });
      await store.advance(KEY, c.incidentId, {
        to: 'prune-sent',
        by: 'event-a',
        due: null,
      });
      const retry = await store.advance(KEY, c.incidentId, {
        to: 'prune-claimed',
        by: 'event-a',
        due: null,
      });
      const twin = await store.advance(KEY, c.incidentId, {
        to: 'prune-claimed',
        by: 'event-b',
        due: null,
      });
      const old = await store.advance(KEY, 'another-incident', {
        to: 'escalated',
        by: 'event-a',
        due: null,
      });
      expect(retry.outcome).toBe('mine');
      expect(retry.incident?.step).toBe('prune-sent');
      expect(twin.outcome).toBe('refused');
      expect(old.outcome).toBe('refused');
    });

    it('refuses to move a resolved incident', async () => {
      const c = await open();
      await store.resolve(KEY, c.incidentId, '2026-11-20T09:45:00Z', {
        at: '2026-11-20T09:45:00Z',
        step: 'resolved',
        detail: 'Pulled',
      });
      const moved = await store.advance(KEY, c.incidentId, {
        to: 'escalated',
        by: 'event-a',
        due: null,
      });
      expect(moved.outcome).toBe('refused');
      expect(moved.incident?.status).toBe('resolved');
    });

    it('records progress only for the request that holds the step', async () => {
      const c = await open();
      await store.advance(KEY, c.incidentId, {
        to: 'prune-claimed',
        by: 'event-a',
        due: null,
        prune: intent,
      });
      const mine = await store.progress(KEY, c.incidentId, 'event-a', {
        prune: { ...intent, commandId: 'cmd-1' },
        due: '2026-11-20T10:10:00.000Z',
        outbox: [
          {
            detailType: 'Incident Escalated',
            detail: { ...sampleDetail('Incident Escalated'), reason: 'x' },
          },
        ],
      });
      const theirs = await store.progress(KEY, c.incidentId, 'event-b', {
        due: null,
      });
      const cleared = await store.progress(KEY, c.incidentId, 'event-a', {
        outbox: null,
      });
      expect([mine, theirs, cleared]).toEqual([true, false, true]);
      const record = await store.get(KEY);
      expect(record?.prune?.commandId).toBe('cmd-1');
      expect(record?.due).toBe('2026-11-20T10:10:00.000Z');
      expect(record?.outbox).toBeUndefined();
    });

    it('finds the incident by its intent and by its command, and not once replaced', async () => {
      const c = await open();
      await store.advance(KEY, c.incidentId, {
        to: 'prune-claimed',
        by: 'event-a',
        due: null,
        prune: intent,
      });
      await store.pointIntent(KEY, c.incidentId, 'event-a');
      await store.pointCommand(KEY, c.incidentId, 'cmd-1');
      expect((await store.findByIntent('event-a'))?.incidentId).toBe(
        c.incidentId
      );
      expect((await store.findByCommand('cmd-1'))?.incidentId).toBe(
        c.incidentId
      );
      expect(await store.findByIntent('event-zzz')).toBeUndefined();
      expect(await store.findByCommand('cmd-zzz')).toBeUndefined();
      await replace(c.incidentId);
      expect(await store.findByCommand('cmd-1')).toBeUndefined();
    });

    it('appends to the timeline of the incident named, and no other', async () => {
      const c = await open();
      await store.appendTimeline(KEY, c.incidentId, {
        at: '2026-11-20T09:42:00Z',
        step: 'joined',
        detail: 'BackOff',
      });
      await store.appendTimeline(KEY, 'another-incident', {
        at: '2026-11-20T09:42:00Z',
        step: 'joined',
        detail: 'lost',
      });
      const record = await store.get(KEY);
      expect(record?.timeline.map((t) => t.detail)).toEqual([
        'disk_full',
        'BackOff',
      ]);
      expect(record?.timeline[1]?.at).toBe('2026-11-20T09:42:00.000Z');
    });

    it('appends a step of one event once, however often the event comes', async () => {
      const c = await open();
      const entry = {
        at: '2026-11-20T09:42:00Z',
        step: 'joined',
        eventId: 'event-backoff',
        detail: 'BackOff',
      };
      await store.appendTimeline(KEY, c.incidentId, entry);
      await store.appendTimeline(KEY, c.incidentId, entry);
      await store.appendTimeline(KEY, c.incidentId, {
        ...entry,
        eventId: 'event-backoff-2',
      });
      const record = await store.get(KEY);
      expect(record?.timeline.slice(1).map((t) => t.eventId)).toEqual([
        'event-backoff',
        'event-backoff-2',
      ]);
    });

    it('appends with the incident the caller read, and drops the step when a newer incident replaced it since', async () => {
      const c = await open();
      const read = await store.get(KEY);
      if (read === undefined) throw new Error('the incident was not opened');
      await store.appendTimeline(
        KEY,
        c.incidentId,
        { at: '2026-11-20T09:42:00Z', step: 'joined', detail: 'BackOff' },
        read
      );
      // A newer incident opened on the node: the old read still names the
      // first one.
      await replace(c.incidentId);
      await store.appendTimeline(
        KEY,
        c.incidentId,
        { at: '2026-11-20T10:01:00Z', step: 'joined', detail: 'late' },
        read
      );
      const record = await store.get(KEY);
      expect(record?.incidentId).not.toBe(c.incidentId);
      expect(record?.timeline.map((t) => t.detail)).not.toContain('late');
      expect(read.timeline.map((t) => t.detail)).toEqual(['disk_full']);
    });

    it("notes the incident's other pods once each, up to the most a restart request names", async () => {
      const c = await open();
      const pod = (n: number) => ({
        namespace: 'inference',
        name: `triton-${n}`,
      });
      await store.notePod(KEY, c.incidentId, pod(0));
      await store.notePod(KEY, 'another-incident', pod(1));
      for (let n = 2; n < 60; n++)
        await store.notePod(KEY, c.incidentId, pod(n));
      const pods = (await store.get(KEY))?.pods ?? [];
      expect(pods).toHaveLength(50);
      expect(pods[0]).toEqual(pod(0));
      expect(pods.map((p) => p.name)).not.toContain('triton-1');
    });

    it('notes a pod once, however many joins note it at the same moment', async () => {
      const c = await open();
      const pod = { namespace: 'inference', name: 'triton-7' };
      await Promise.all(
        Array.from({ length: 8 }, () => store.notePod(KEY, c.incidentId, pod))
      );
      await store.notePod(KEY, c.incidentId, pod);
      expect((await store.get(KEY))?.pods).toEqual([pod]);
    });

    it('resolves once', async () => {
      const c = await open();
      const entry = {
        at: '2026-11-20T09:45:00Z',
        step: 'resolved',
        detail: 'Pulled',
      };
      expect(await store.resolve(KEY, c.incidentId, entry.at, entry)).toBe(
        true
      );
      expect(await store.resolve(KEY, c.incidentId, entry.at, entry)).toBe(
        false
      );
      expect(await store.get(KEY)).toMatchObject({
        status: 'resolved',
        step: 'resolved',
      });
    });

    it('lists the live incidents past their deadline, earliest first, and none that wait on a person, ended, or are not live', async () => {
      const late = await open({ due: '2026-11-20T09:50:00.000Z' });
      const other = { ...KEY, node: 'ip-10-0-1-150.ec2.internal' };
      await store.openOrJoin(
        candidate({
          key: other,
          incidentId: 'b',
          due: '2026-11-20T09:45:00.000Z',
        }),
        T0
      );
      const third = { ...KEY, node: 'ip-10-0-1-151.ec2.internal' };
      await store.openOrJoin(
        candidate({
          key: third,
          incidentId: 'c',
          due: '2026-11-20T11:00:00.000Z',
        }),
        T0
      );
      const dry = { ...KEY, scope: 'dry-run' };
      await store.openOrJoin(
        candidate({
          key: dry,
          incidentId: 'd',
          due: '2026-11-20T09:45:00.000Z',
        }),
        T0
      );
      const escalated = { ...KEY, node: 'ip-10-0-1-152.ec2.internal' };
      await store.openOrJoin(
        candidate({
          key: escalated,
          incidentId: 'e',
          due: '2026-11-20T09:45:00.000Z',
        }),
        T0
      );
      await store.advance(escalated, 'e', {
        to: 'escalated',
        by: 'x',
        due: null,
      });
      const resolved = { ...KEY, node: 'ip-10-0-1-153.ec2.internal' };
      await store.openOrJoin(
        candidate({
          key: resolved,
          incidentId: 'f',
          due: '2026-11-20T09:45:00.000Z',
        }),
        T0
      );
      await store.resolve(resolved, 'f', '2026-11-20T09:46:00Z', {
        at: '2026-11-20T09:46:00Z',
        step: 'resolved',
        detail: 'Pulled',
      });

      const due = await store.due('2026-11-20T10:00:00Z', 10);
      const first = await store.due('2026-11-20T10:00:00Z', 1);

      expect(due.map((r) => r.incidentId)).toEqual(['b', late.incidentId]);
      expect(first.map((r) => r.incidentId)).toEqual(['b']);
    });
  });
}

export function describeRollLocksContract(
  name: string,
  make: () => Promise<RollLocks>
) {
  describe(`Contract: RollLocks (${name})`, () => {
    let locks: RollLocks;
    const now = new Date('2026-11-20T09:43:00Z');
    beforeEach(async () => {
      locks = await make();
    });

    it('holds a group for one holder within the cooldown, again for the same, and releases it for the next', async () => {
      const first = await locks.acquire('prod/gpu', 'incident-1', now, 3600);
      const again = await locks.acquire('prod/gpu', 'incident-1', now, 3600);
      const other = await locks.acquire('prod/gpu', 'incident-2', now, 3600);
      await locks.release('prod/gpu', 'incident-2', now);
      const stillHeld = await locks.acquire(
        'prod/gpu',
        'incident-3',
        now,
        3600
      );
      await locks.release('prod/gpu', 'incident-1', now);
      const after = await locks.acquire('prod/gpu', 'incident-2', now, 3600);
      const later = await locks.acquire('prod/cpu', 'incident-9', now, 3600);
      expect(first).toEqual({ acquired: true });
      expect(again).toEqual({ acquired: true });
      expect(other).toEqual({ acquired: false, heldBy: 'incident-1' });
      expect(stillHeld).toEqual({ acquired: false, heldBy: 'incident-1' });
      expect(after).toEqual({ acquired: true });
      expect(later).toEqual({ acquired: true });
    });

    it('lets the lock lapse after the cooldown', async () => {
      await locks.acquire('prod/gpu', 'incident-1', now, 60);
      const later = new Date(now.getTime() + 61_000);
      expect(await locks.acquire('prod/gpu', 'incident-2', later, 60)).toEqual({
        acquired: true,
      });
    });

    it('counts each holder once per hour, up to the limit', async () => {
      const a = await locks.countRoll(now, 2, 'roll-a');
      const aAgain = await locks.countRoll(now, 2, 'roll-a');
      const b = await locks.countRoll(now, 2, 'roll-b');
      const c = await locks.countRoll(now, 2, 'roll-c');
      const nextHour = await locks.countRoll(
        new Date('2026-11-20T10:00:00Z'),
        2,
        'roll-c'
      );
      expect([a, aAgain, b]).toEqual([
        { allowed: true },
        { allowed: true },
        { allowed: true },
      ]);
      expect(c).toEqual({ allowed: false, count: 2 });
      expect(nextHour).toEqual({ allowed: true });
    });
  });
}

export function describeRepeatNoticesContract(
  name: string,
  make: () => Promise<RepeatNotices>
) {
  describe(`Contract: RepeatNotices (${name})`, () => {
    let notices: RepeatNotices;
    const now = new Date('2026-11-20T09:43:00Z');
    beforeEach(async () => {
      notices = await make();
    });

    it('posts the first of a quiet period, counts the rest, and says how many at the next post', async () => {
      const first = await notices.record('auth/prod/web', now, 60);
      const second = await notices.record('auth/prod/web', now, 60);
      const third = await notices.record('auth/prod/web', now, 60);
      const next = await notices.record(
        'auth/prod/web',
        new Date(now.getTime() + 61_000),
        60
      );
      expect([first, second, third, next]).toEqual([
        { post: true, repeats: 0 },
        { post: false },
        { post: false },
        { post: true, repeats: 2 },
      ]);
    });

    it('forgets a notice that could not be posted, so the next is posted', async () => {
      await notices.record('auth/prod/web', now, 60);
      await notices.forget('auth/prod/web');
      expect(await notices.record('auth/prod/web', now, 60)).toEqual({
        post: true,
        repeats: 0,
      });
    });
  });
}
