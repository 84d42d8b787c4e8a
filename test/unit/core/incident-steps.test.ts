import { describe, expect, it } from 'vitest';
import {
  DEFAULT_DEADLINES,
  dueAfter,
  INCIDENT_STEPS,
  NEXT_STEPS,
  stepsBefore,
  WAITING_FOR,
} from '#core/incident-steps.ts';

const NOW = new Date('2026-11-20T09:41:00.000Z');

describe('Constant: NEXT_STEPS', () => {
  it('lets every step but resolved end in escalated and resolved, and nothing follow resolved', () => {
    for (const step of INCIDENT_STEPS) {
      if (step === 'resolved') {
        expect(NEXT_STEPS[step]).toEqual([]);
        continue;
      }
      expect(NEXT_STEPS[step]).toContain('resolved');
      if (step !== 'escalated') expect(NEXT_STEPS[step]).toContain('escalated');
    }
  });

  it('keeps the prune before any roll, and the roll claimed before it starts', () => {
    expect(stepsBefore('prune-sent')).toEqual(['prune-claimed']);
    expect(stepsBefore('roll-started')).toEqual(['roll-starting']);
    expect(stepsBefore('roll-starting')).toEqual([
      'roll-requested',
      'roll-proposed',
      'escalated',
    ]);
    expect(stepsBefore('opened')).toEqual([]);
  });
});

describe('Function: dueAfter', () => {
  it.each([
    ['opened', '2026-11-20T09:46:00.000Z'],
    ['prune-claimed', '2026-11-20T09:46:00.000Z'],
    ['prune-sent', '2026-11-20T10:08:00.000Z'],
    ['recovering', '2026-11-20T09:56:00.000Z'],
    ['roll-requested', '2026-11-20T09:56:00.000Z'],
    ['roll-starting', '2026-11-20T09:56:00.000Z'],
    ['roll-started', '2026-11-20T09:56:00.000Z'],
    ['roll-completed', '2026-11-20T09:56:00.000Z'],
  ] as const)('gives a live incident at %s until %s', (step, due) => {
    expect(dueAfter(step, NOW, DEFAULT_DEADLINES, 'live')).toBe(due);
  });

  it.each(['roll-proposed', 'escalated', 'resolved'] as const)(
    'gives no deadline at %s: a person is told, or it ended',
    (step) => {
      expect(dueAfter(step, NOW, DEFAULT_DEADLINES, 'live')).toBeNull();
    }
  );

  it('gives no deadline to dry-run or a replay: they wait for nothing', () => {
    expect(
      dueAfter('prune-sent', NOW, DEFAULT_DEADLINES, 'dry-run')
    ).toBeNull();
    expect(
      dueAfter('prune-sent', NOW, DEFAULT_DEADLINES, 'replay:postmortem')
    ).toBeNull();
  });
});

describe('Constant: WAITING_FOR', () => {
  it('says in words what every step waits for', () => {
    for (const step of INCIDENT_STEPS) {
      expect(WAITING_FOR[step].length).toBeGreaterThan(3);
    }
  });
});
