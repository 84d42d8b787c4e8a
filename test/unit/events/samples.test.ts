import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { DETAIL_CONTRACTS } from '../../../events/contracts.ts';
import { DETAIL_TYPES, type DetailType } from '../../../events/detail-types.ts';
import { Envelope } from '../../../events/schemas.ts';

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
  it('holds one sample of every detail-type that crosses the bus', async () => {
    // Act
    const types = (await samples()).map((s) => s['detail-type']).sort();

    // Assess
    expect(types).toEqual(Object.values(DETAIL_TYPES).sort());
  });

  it('keeps every sample to its envelope, source and detail contract', async () => {
    // Act
    const broken = (await samples()).flatMap((sample) => {
      const envelope = Envelope.safeParse(sample);
      if (!envelope.success) return [`envelope: ${envelope.error.message}`];
      const type = envelope.data['detail-type'];
      const contract = DETAIL_CONTRACTS[type as DetailType];
      if (contract === undefined) return [`${type}: no contract`];
      const detail = contract.schema.safeParse(envelope.data.detail);
      return [
        ...(envelope.data.source === contract.source
          ? []
          : [`${type}: source ${envelope.data.source}`]),
        ...(detail.success ? [] : [`${type}: ${detail.error.message}`]),
      ];
    });

    // Assess
    expect(broken).toEqual([]);
  });
});
