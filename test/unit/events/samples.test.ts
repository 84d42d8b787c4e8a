import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import {
  DETAIL_CONTRACTS,
  type DetailContract,
} from '../../../events/contracts.ts';
import { DETAIL_TYPES } from '../../../events/detail-types.ts';
import { Envelope } from '../../../events/schemas.ts';

// Read as the general shape: a sample's detail-type is only known at run
// time, and a missing contract must show as a failure, not a type error.
const CONTRACTS: Record<string, DetailContract | undefined> = DETAIL_CONTRACTS;

const SAMPLES = new URL('../../../events/samples/bus/', import.meta.url);

async function samples(): Promise<Record<string, unknown>[]> {
  const files = (await readdir(SAMPLES)).filter((f) => f.endsWith('.json'));
  return Promise.all(
    files.map(async (f) =>
      JSON.parse(await readFile(new URL(f, SAMPLES), 'utf8'))
    )
  );
}

describe('events/samples/bus', () => {
  it('holds a sample of every detail-type that crosses the bus, and of each of its sources', async () => {
    // Act
    const all = await samples();
    const types = [...new Set(all.map((s) => s['detail-type']))].sort();
    const bySource = all.map((s) => `${s['detail-type']} from ${s.source}`);

    // Assess
    expect(types).toEqual(Object.values(DETAIL_TYPES).sort());
    expect(bySource).toEqual(
      expect.arrayContaining(
        Object.entries(CONTRACTS).flatMap(([type, c]) =>
          [c?.source, ...(c?.alsoFrom ?? [])].map((s) => `${type} from ${s}`)
        )
      )
    );
  });

  it('keeps every sample to its envelope, source and detail contract', async () => {
    // Act
    const broken = (await samples()).flatMap((sample) => {
      const envelope = Envelope.safeParse(sample);
      if (!envelope.success) return [`envelope: ${envelope.error.message}`];
      const type = envelope.data['detail-type'];
      const contract = CONTRACTS[type];
      if (contract === undefined) return [`${type}: no contract`];
      const detail = contract.schema.safeParse(envelope.data.detail);
      const sources: string[] = [contract.source, ...(contract.alsoFrom ?? [])];
      return [
        ...(sources.includes(envelope.data.source)
          ? []
          : [`${type}: source ${envelope.data.source}`]),
        ...(detail.success ? [] : [`${type}: ${detail.error.message}`]),
      ];
    });

    // Assess
    expect(broken).toEqual([]);
  });
});
