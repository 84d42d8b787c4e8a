import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SweepRun, sweep } from '../../cli/local/fault-sweep.ts';
import { DEFAULT_FLEET } from '../../cli/local/fleet.ts';
import { parseEvents } from '../../cli/local/input.ts';
import { LocalSession } from '../../cli/local/runner.ts';

const SEED = new URL(
  '../../events/samples/seed-incident.jsonl',
  import.meta.url
);

/**
 * The quick fault sweep of the seed on the default fleet: every AWS call
 * the pipeline makes fails once (throttled, a 5xx, or denied from then on,
 * the three in turn), and every SSM status event is dropped once. The
 * whole sweep (each call with each fault, and other fleets) is
 * `npx pullmedic fault-sweep`; bench/RESULTS.md holds its results.
 */
describe('Feature: an incident is never stranded (the quick fault sweep)', () => {
  const sessions: LocalSession[] = [];
  let result: Awaited<ReturnType<typeof sweep>>;

  beforeAll(async () => {
    for (let i = 0; i < 2; i++) {
      sessions.push(
        await LocalSession.start({
          fleet: DEFAULT_FLEET,
          node: 'simulated',
          verbose: false,
          deferRules: false,
          progress: () => {},
        })
      );
    }
    const items = parseEvents(await readFile(SEED, 'utf8'));
    result = await sweep({ sessions, items, quick: true });
  }, 1_800_000);
  afterAll(async () => {
    for (const s of sessions) await s.moto.stop();
  });

  const show = (runs: SweepRun[]) =>
    runs.map((r) => `${r.call} ${r.fault}: ${r.outcome} ${r.problems}`);

  it('fails every call site once and drops every status event once', () => {
    // Assess
    const sites = result.calls.map((c) => `${c.fn} ${c.action} #${c.ordinal}`);
    expect(result.calls.length).toBeGreaterThan(50);
    expect(result.statusEvents).toBeGreaterThanOrEqual(1);
    expect(result.runs.map((r) => r.call)).toEqual([
      ...sites,
      ...Array.from(
        { length: result.statusEvents },
        (_, i) => `SSM status event #${i + 1}`
      ),
    ]);
    expect(new Set(result.runs.map((r) => r.fault))).toEqual(
      new Set(['throttled', 'server-error', 'access-denied', 'dropped'])
    );
  });

  it('strands no run: each heals, or on-call is told', () => {
    // Assess
    expect(show(result.runs.filter((r) => r.outcome === 'stranded'))).toEqual(
      []
    );
  });

  it('heals every run whose fault passes with time (throttled, 5xx, a lost status event)', () => {
    // Assess
    const transient = result.runs.filter((r) => r.fault !== 'access-denied');
    expect(show(transient.filter((r) => r.outcome !== 'healed'))).toEqual([]);
  });

  it('never prunes twice, rolls twice, posts a step twice or dead-letters without a reason and an alarm', () => {
    // Assess
    expect(show(result.runs.filter((r) => r.problems.length > 0))).toEqual([]);
    expect(result.summary.maxPrunes).toBe(1);
    expect(result.summary.maxRollouts).toBe(1);
    expect(result.summary.maxTemplateVersions).toBe(1);
  });

  it('escalates when a call is denied and the incident cannot heal without it', () => {
    // Assess: a denied call either did not stand in the way, or on-call
    // heard (an escalation or an alarm).
    const denied = result.runs.filter((r) => r.fault === 'access-denied');
    expect(denied.length).toBeGreaterThan(10);
    expect(
      denied.every((r) => r.outcome === 'healed' || r.outcome === 'escalated')
    ).toBe(true);
    expect(denied.some((r) => r.outcome === 'escalated')).toBe(true);
  });
});
