import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { DETAIL_TYPES, SOURCES } from '../../../events/detail-types.ts';
import {
  Envelope,
  ImagePullFailureClassifiedDetail,
  IncidentEscalatedDetail,
  IncidentOpenedDetail,
  IncidentResolvedDetail,
  KubernetesEventDetail,
  NodePruneCompletedDetail,
  NodePruneRequestedDetail,
  SsmCommandInvocationDetail,
  VolumeRollCompletedDetail,
  VolumeRollProposedDetail,
  VolumeRollRequestedDetail,
  VolumeRollStartedDetail,
} from '../../../events/schemas.ts';

const SAMPLES = new URL('../../../events/samples/bus/', import.meta.url);

/** Each detail-type's contract, and the source that puts it on the bus. */
const CONTRACTS: Record<string, { schema: z.ZodType; source: string }> = {
  [DETAIL_TYPES.kubernetesEvent]: {
    schema: KubernetesEventDetail,
    source: SOURCES.forwarder,
  },
  [DETAIL_TYPES.imagePullFailureClassified]: {
    schema: ImagePullFailureClassifiedDetail,
    source: SOURCES.pipeline,
  },
  [DETAIL_TYPES.incidentOpened]: {
    schema: IncidentOpenedDetail,
    source: SOURCES.pipeline,
  },
  [DETAIL_TYPES.nodePruneRequested]: {
    schema: NodePruneRequestedDetail,
    source: SOURCES.pipeline,
  },
  [DETAIL_TYPES.nodePruneCompleted]: {
    schema: NodePruneCompletedDetail,
    source: SOURCES.pipeline,
  },
  [DETAIL_TYPES.volumeRollRequested]: {
    schema: VolumeRollRequestedDetail,
    source: SOURCES.pipeline,
  },
  [DETAIL_TYPES.volumeRollProposed]: {
    schema: VolumeRollProposedDetail,
    source: SOURCES.pipeline,
  },
  // An approval carries the request it approves, and who approved it.
  [DETAIL_TYPES.volumeRollApproved]: {
    schema: VolumeRollRequestedDetail,
    source: SOURCES.operator,
  },
  [DETAIL_TYPES.volumeRollStarted]: {
    schema: VolumeRollStartedDetail,
    source: SOURCES.pipeline,
  },
  [DETAIL_TYPES.volumeRollCompleted]: {
    schema: VolumeRollCompletedDetail,
    source: SOURCES.pipeline,
  },
  [DETAIL_TYPES.incidentResolved]: {
    schema: IncidentResolvedDetail,
    source: SOURCES.pipeline,
  },
  [DETAIL_TYPES.incidentEscalated]: {
    schema: IncidentEscalatedDetail,
    source: SOURCES.pipeline,
  },
  [DETAIL_TYPES.ssmCommandInvocationStatusChange]: {
    schema: SsmCommandInvocationDetail,
    source: SOURCES.ssm,
  },
};

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
      const contract = CONTRACTS[type];
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
