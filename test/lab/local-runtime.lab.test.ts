// The local runtime on the containerd lab: the seed incident end to end with
// the prune document's own script run against a real containerd whose disk
// is full, and the kubelet's retried pull done for real through CRI.
// Runs with PULLMEDIC_LAB=1 as root, after test/lab/install.sh.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseEvents } from '../../cli/local/input.ts';
import { runLocal } from '../../cli/local/runner.ts';
import { DETAIL_TYPES } from '../../events/detail-types.ts';
import type { PruneReport } from '../../events/schemas.ts';

const LAB_ENABLED = process.env.PULLMEDIC_LAB === '1';
const REPO = new URL('../..', import.meta.url).pathname;

/** The command line of every live process (a zombie's is empty). */
async function commandLines(): Promise<string[]> {
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name));
  const lines = await Promise.all(
    pids.map((pid) =>
      readFile(`/proc/${pid}/cmdline`, 'utf8').then(
        (text) => text.replaceAll('\0', ' '),
        () => ''
      )
    )
  );
  return lines.filter((line) => line !== '');
}
const SEED = new URL(
  '../../events/samples/seed-incident.jsonl',
  import.meta.url
);

describe.runIf(LAB_ENABLED)(
  'Feature: npm run demo on the containerd lab',
  () => {
    it('prunes the real containerd, the real pull then succeeds, and the incident resolves', async () => {
      // Prepare
      const items = parseEvents(await readFile(SEED, 'utf8'));

      // Act
      const result = await runLocal({ items, node: 'lab' });

      // Assess
      const of = (type: string) =>
        result.busEvents.filter((e) => e['detail-type'] === type);
      const completed = of(DETAIL_TYPES.nodePruneCompleted)[0]?.detail;
      const report = completed?.report as PruneReport;
      expect(completed?.status).toBe('Success');
      expect(report.method).toBe('crictl-rmi-prune');
      expect(report.bytesFreed).toBeGreaterThan(40 * 1024 * 1024);
      expect(report.pauseImageIntact).toBe(true);
      expect(report.fsBytesTotal).toBeLessThan(1024 ** 3);
      expect(
        result.notes.some(
          (n) => n.who === 'lab' && /no space left on device/.test(n.text)
        )
      ).toBe(true);
      // The stuck pod is restarted once the prune left room: the new pod
      // its ReplicaSet made pulls on the real containerd at once.
      expect(
        result.notes.some(
          (n) =>
            n.who === 'lab' &&
            /pulled .* for the new pod inference\/triton-79569cfbbc-[a-z0-9]{5} .* at once: it started/.test(
              n.text
            )
        )
      ).toBe(true);
      expect(of(DETAIL_TYPES.podRestarted)).toHaveLength(1);
      expect(of(DETAIL_TYPES.volumeRollStarted)).toHaveLength(1);
      expect(of(DETAIL_TYPES.incidentResolved)).toHaveLength(1);
    }, 240_000);
  }
);

describe.runIf(LAB_ENABLED)(
  'Feature: npm run demo when the containerd lab cannot start',
  () => {
    afterEach(() => {
      vi.unstubAllEnvs();
    });

    it('runs the incident on a simulated node, says why, and leaves nothing mounted', async () => {
      // Prepare: a tmpfs so big the seed's image would fit without a prune;
      // up.sh finds that out late, with its registry and containerd up.
      vi.stubEnv('PULLMEDIC_LAB_TMPFS_MB', '1024');
      const items = parseEvents(await readFile(SEED, 'utf8'));

      // Act
      const result = await runLocal({ items, node: 'auto' });

      // Assess
      expect(result.notes.map((n) => n.text)).toContainEqual(
        expect.stringMatching(
          /is a simulated node: the containerd lab did not start: .* the big image would fit without pruning/
        )
      );
      expect(
        result.busEvents.filter(
          (e) => e['detail-type'] === DETAIL_TYPES.incidentResolved
        )
      ).toHaveLength(1);
      const labDir = join(REPO, '.cache/lab-local');
      expect(await readFile('/proc/self/mounts', 'utf8')).not.toContain(labDir);
      expect(await commandLines()).not.toContainEqual(
        expect.stringContaining(labDir)
      );
    }, 240_000);

    it('fails when the lab was asked for by name', async () => {
      // Prepare
      vi.stubEnv('PULLMEDIC_LAB_TMPFS_MB', 'lots');
      const items = parseEvents(await readFile(SEED, 'utf8'));

      // Act
      const running = runLocal({ items, node: 'lab' });

      // Assess
      await expect(running).rejects.toThrow(
        /sizes must be positive integers, got 'lots'/
      );
    }, 240_000);
  }
);
