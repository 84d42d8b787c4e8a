// The local runtime on the containerd lab: the seed incident end to end with
// the prune document's own script run against a real containerd whose disk
// is full, and the kubelet's retried pull done for real through CRI.
// Runs with PULLMEDIC_LAB=1 as root, after test/lab/install.sh.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parseEvents } from '../../cli/local/input.ts';
import { runLocal } from '../../cli/local/runner.ts';
import { DETAIL_TYPES } from '../../events/detail-types.ts';
import type { PruneReport } from '../../events/schemas.ts';

const LAB_ENABLED = process.env.PULLMEDIC_LAB === '1';
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
      expect(
        result.notes.some((n) =>
          /retried the pull .*: it succeeded/.test(n.text)
        )
      ).toBe(true);
      expect(of(DETAIL_TYPES.volumeRollStarted)).toHaveLength(1);
      expect(of(DETAIL_TYPES.incidentResolved)).toHaveLength(1);
    }, 240_000);
  }
);
