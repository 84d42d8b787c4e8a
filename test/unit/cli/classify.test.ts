import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  CLASSIFY_HELP,
  classifyCommand,
  classifyStream,
} from '../../../cli/commands/classify.ts';

const META = '/var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db';

describe('Function: classifyStream (pullmedic classify)', () => {
  it('answers every input line on its own line, in order, errors included', async () => {
    // Prepare
    const lines = [
      JSON.stringify({
        reason: 'Failed',
        message:
          'Failed to pull image "r/triton:1": failed to pull and unpack image "r/triton:1": failed to extract layer sha256:08e14ec5b7497da231d70d47d1d80440ba7d9997d43c0796a8394923bbc98183: write /var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/631/fs/x: no space left on device',
      }),
      '{not json',
      '',
      '[1, 2]',
      JSON.stringify({ reason: 'Failed' }),
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Event',
        reason: 'BackOff',
        type: 'Normal',
        message: 'Back-off pulling image "r/triton:1"',
      }),
    ];
    const out: string[] = [];

    // Act
    const count = await classifyStream(Readable.from(lines.join('\n')), (l) =>
      out.push(l)
    );

    // Assess
    const parsed = out.map((l) => JSON.parse(l));
    expect(count).toBe(5);
    expect(parsed[0]).toMatchObject({
      class: 'disk_full',
      evidence: 'no space left on device',
      remedy: 'prune',
    });
    expect(parsed[1].error).toMatch(/^not JSON/);
    expect(parsed[2]).toEqual({ error: 'not a JSON object' });
    expect(parsed[3]).toEqual({ error: 'no "message" string in the object' });
    expect(parsed[4]).toMatchObject({
      class: 'other',
      causeKnown: false,
      remedy: 'none',
    });
  });
});

describe('Function: classifyStream --explain', () => {
  it('explains every line by its line number: verdict, rule and evidence', async () => {
    // Prepare
    const lines = [
      JSON.stringify({
        message: `unpacking app:1...level=warning msg="failed to remove lease" error="write ${META}: no space left on device"`,
      }),
      '',
      JSON.stringify({
        reason: 'Failed',
        message:
          'Failed to pull image "a": write /dev/shm/x: no space left on device',
      }),
      JSON.stringify({ message: 'Failed to pull image "a": 401 Unauthorized' }),
      '{not json',
      JSON.stringify({ message: 'Error: ErrImagePull' }),
    ];
    const out: string[] = [];

    // Act
    const count = await classifyStream(
      Readable.from(lines.join('\n')),
      (l) => out.push(l),
      { explain: true }
    );

    // Assess
    expect(count).toBe(5);
    expect(out[0]).toBe(
      [
        'line 1: disk_full (prune), rule enospc/runtime-storage',
        `  pull evidence: "unpack" (a pull word before a path in a runtime's image store)`,
        '  ENOSPC:        "no space left on device"',
        `  write failed:  ${META} (containerd metadata store)`,
        '',
      ].join('\n')
    );
    expect(out[1]).toBe(
      [
        'line 3: other_no_space (notify), rule enospc/veto-path',
        '  pull evidence: "Failed to pull image" (a pull wording)',
        '  ENOSPC:        "no space left on device"',
        '  write failed:  /dev/shm/x (shared memory)',
        '  ruled out by:  shared_memory',
        '',
      ].join('\n')
    );
    expect(out[2]).toBe(
      'line 4: auth (notify), rule auth\n  evidence:      "Unauthorized"\n'
    );
    expect(out[3]).toMatch(/^line 5: error: not JSON: /);
    expect(out[4]).toBe('line 6: other (none), rule fallback/no-cause\n');
  });
});

describe('Function: classifyCommand', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('explains a file given with --input, and keeps JSON Lines without --explain', async () => {
    // Prepare
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'classify-')), 'e');
    writeFileSync(
      file,
      `${JSON.stringify({ message: `write ${META}: no space left on device` })}\n`
    );
    const written: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });

    // Act
    const explained = await classifyCommand(['--input', file, '--explain']);
    const explainedText = written.splice(0).join('');
    const plain = await classifyCommand(['--input', file]);

    // Assess
    expect(explained).toBe(0);
    expect(plain).toBe(0);
    expect(explainedText).toContain(
      'line 1: other_no_space (notify), rule enospc/not-a-pull'
    );
    expect(explainedText).toContain(
      `write failed:  ${META} (containerd metadata store)`
    );
    expect(JSON.parse(written.join(''))).toMatchObject({
      class: 'other_no_space',
      path: META,
    });
  });

  it('documents --explain with an example in its help', async () => {
    // Prepare
    const written: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });

    // Act
    const code = await classifyCommand(['--help']);

    // Assess
    expect(code).toBe(0);
    expect(written.join('')).toBe(CLASSIFY_HELP);
    expect(CLASSIFY_HELP).toContain('--explain');
    expect(CLASSIFY_HELP).toContain('pullmedic classify --explain --input');
  });
});
