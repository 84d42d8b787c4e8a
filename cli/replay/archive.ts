import {
  DescribeArchiveCommand,
  DescribeReplayCommand,
  type EventBridgeClient,
  StartReplayCommand,
} from '@aws-sdk/client-eventbridge';
import { LIVE_REPLAY_PREFIX } from '../../core/context.ts';

/** How far a replay got. */
export interface ReplayProgress {
  state: string;
  reason?: string;
  percent?: number;
}

const DONE = new Set(['COMPLETED', 'CANCELLED', 'FAILED']);

/**
 * The name of a replay: it starts with the live prefix only when asked,
 * since the functions run a replay in dry-run unless its name does.
 *
 * @example
 * ```ts
 * replayNameOf(new Date('2026-11-20T10:00:00Z'), false); // 'pullmedic-20261120T100000Z'
 * ```
 */
export const replayNameOf = (now: Date, live: boolean): string =>
  `${live ? LIVE_REPLAY_PREFIX : 'pullmedic-'}${now.toISOString().replace(/[-:]|\.\d+/g, '')}`;

/**
 * Starts an EventBridge replay of the bus archive over a time window, back
 * onto the bus the archive belongs to, and follows it to its end.
 *
 * @example
 * ```ts
 * const name = await replayArchive(eventBridge, { archive: 'pullmedic-prod-archive', from, to, live: false },
 *   (p) => console.error(p.state));
 * ```
 */
export async function replayArchive(
  client: EventBridgeClient,
  request: { archive: string; from: Date; to: Date; live: boolean },
  onProgress: (progress: ReplayProgress) => void,
  options: { pollMs?: number; now?: () => Date } = {}
): Promise<{ name: string; final: ReplayProgress }> {
  const archive = await client.send(
    new DescribeArchiveCommand({ ArchiveName: request.archive })
  );
  const busArn = archive.EventSourceArn;
  if (!busArn) throw new Error(`archive ${request.archive} names no event bus`);
  const name = replayNameOf(
    (options.now ?? (() => new Date()))(),
    request.live
  );
  await client.send(
    new StartReplayCommand({
      ReplayName: name,
      Description: request.live
        ? 'pullmedic replay, live'
        : 'pullmedic replay, dry-run',
      EventSourceArn: archive.ArchiveArn,
      EventStartTime: request.from,
      EventEndTime: request.to,
      Destination: { Arn: busArn },
    })
  );
  const span = request.to.getTime() - request.from.getTime();
  for (;;) {
    const out = await client.send(
      new DescribeReplayCommand({ ReplayName: name })
    );
    const last = out.EventLastReplayedTime?.getTime();
    const progress: ReplayProgress = {
      state: out.State ?? 'UNKNOWN',
      ...(out.StateReason ? { reason: out.StateReason } : {}),
      ...(last !== undefined && span > 0
        ? {
            percent: Math.min(
              100,
              Math.max(
                0,
                Math.round((100 * (last - request.from.getTime())) / span)
              )
            ),
          }
        : {}),
    };
    onProgress(progress);
    if (DONE.has(progress.state)) return { name, final: progress };
    await new Promise((r) => setTimeout(r, options.pollMs ?? 5000));
  }
}
