import { DETAIL_TYPES, SOURCES } from '../../events/detail-types.ts';
import {
  envelopeOf,
  type PodRestartRequestedDetail,
  PodRestartRequestedDetail as RequestSchema,
} from '../../events/schemas.ts';

const RequestEnvelope = envelopeOf(RequestSchema);

/** A message read as a restart request, or why it cannot be one. */
export type ParsedRequest =
  | { ok: true; eventId: string; detail: PodRestartRequestedDetail }
  | { ok: false; reason: string };

/**
 * Reads one SQS message of the agent's queue: the EventBridge envelope the
 * rule delivers, whose detail must hold to the `Pod Restart Requested`
 * contract (names of the shapes Kubernetes allows, 1 to 50 pods). A
 * replayed envelope (`replay-name`) is marked as the replay's, so it can
 * never delete, whatever its detail says. Anything else is refused with a
 * reason that names the field.
 *
 * @example
 * ```ts
 * const parsed = parseRestartRequest(message.body);
 * if (!parsed.ok) await queue.deadLetter(message, parsed.reason);
 * ```
 */
export function parseRestartRequest(body: string): ParsedRequest {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (err) {
    return { ok: false, reason: `the message is not JSON: ${String(err)}` };
  }
  const parsed = RequestEnvelope.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    return {
      ok: false,
      reason: `the message is not a Pod Restart Requested envelope: ${issues}`,
    };
  }
  const envelope = parsed.data;
  if (envelope['detail-type'] !== DETAIL_TYPES.podRestartRequested) {
    return {
      ok: false,
      reason: `detail-type "${envelope['detail-type'].slice(0, 64)}" is not ${DETAIL_TYPES.podRestartRequested}`,
    };
  }
  if (envelope.source !== SOURCES.pipeline) {
    return {
      ok: false,
      reason: `source "${envelope.source.slice(0, 64)}" is not ${SOURCES.pipeline}: only the pipeline requests restarts`,
    };
  }
  const replayName = envelope['replay-name'] ?? envelope.detail.replayName;
  return {
    ok: true,
    eventId: envelope.id,
    detail:
      replayName === undefined
        ? envelope.detail
        : { ...envelope.detail, replayName: replayName.slice(0, 64) },
  };
}
