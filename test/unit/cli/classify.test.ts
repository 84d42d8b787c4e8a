import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { classifyStream } from '../../../cli/commands/classify.ts';

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
