import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { messageOf } from '../../core/errors.ts';
import { eventTimeMs } from '../../events/kubernetes-event-facts.ts';
import { toPutEventsEntry } from '../../forwarder/transform.ts';
import { type Note, nextOrder } from './gaps.ts';
import type { InputItem } from './input.ts';

/** SQS's limit on a message body, in bytes (UTF-8). */
const SQS_MAX_BODY_BYTES = 256 * 1024;
/** What SQS refuses in a message: #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000+ are allowed. */
const SQS_REFUSED = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/**
 * A dead line as an SQS message can carry it: the characters SQS refuses
 * (NUL, lone surrogates…) become U+FFFD, and the text is cut to SQS's size
 * limit. The run's own dead letters keep the line as it was.
 */
export const sqsBody = (raw: string): string => {
  const text = raw.replace(SQS_REFUSED, '\uFFFD') || '(empty)';
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= SQS_MAX_BODY_BYTES) return text;
  // Cut on a character boundary: a partial UTF-8 sequence decodes as U+FFFD.
  return `${bytes.subarray(0, SQS_MAX_BODY_BYTES - 64).toString('utf8')} …[cut]`;
};

/** One line or entry the runtime could not use, kept with its reason. */
export interface DeadLetter {
  queue: string;
  body: string;
  reason: string;
}

/**
 * The in-cluster forwarder's part in the local runtime: each input event
 * goes through the forwarder's own transform onto the bus (batches of 10,
 * as PutEvents takes them), with its own time; what is not an event, or
 * what EventBridge refuses, is dead-lettered with its reason.
 *
 * @example
 * ```ts
 * const forwarder = new ForwarderStandIn({ eventBridge, sqs, busName, cluster, nodes, ingestDlqUrl, notes, deadLetters });
 * await forwarder.forward(events, rejects);
 * ```
 */
/** What the forwarder stand-in works with. */
export interface ForwarderOptions {
  eventBridge: EventBridgeClient;
  sqs: SQSClient;
  busName: string;
  cluster: string;
  nodes: Map<string, { providerID: string }>;
  ingestDlqUrl: string;
  notes: Note[];
  deadLetters: DeadLetter[];
  /** Sees each event as it goes (the kubelet stand-in learns from them). */
  observe?: (event: Record<string, unknown>) => void;
}

export class ForwarderStandIn {
  readonly #o: ForwarderOptions;

  constructor(options: ForwarderOptions) {
    this.#o = options;
  }

  async forward(
    events: Record<string, unknown>[],
    rejects: InputItem[] = []
  ): Promise<void> {
    for (const bad of rejects) {
      if ('error' in bad) await this.#deadLetter(bad);
    }
    const entries: PutEventsRequestEntry[] = events.map((e) => {
      this.#o.observe?.(e);
      const entry = toPutEventsEntry(e, {
        cluster: this.#o.cluster,
        busName: this.#o.busName,
        nodes: this.#o.nodes,
      });
      const t = eventTimeMs(e);
      return t === undefined ? entry : { ...entry, Time: new Date(t) };
    });
    for (let i = 0; i < entries.length; i += 10) {
      const batch = entries.slice(i, i + 10);
      const out = await this.#o.eventBridge.send(
        new PutEventsCommand({ Entries: batch })
      );
      out.Entries?.forEach((e, j) => {
        if (e.ErrorCode) {
          this.#o.deadLetters.push({
            queue: 'forwarder',
            body: String(batch[j]?.Detail),
            reason: `${e.ErrorCode}: ${e.ErrorMessage ?? ''}`,
          });
        }
      });
    }
  }

  async #deadLetter(bad: Extract<InputItem, { error: string }>) {
    const reason = `line ${bad.line}: ${bad.error}`;
    this.#o.deadLetters.push({ queue: 'forwarder', body: bad.raw, reason });
    try {
      await this.#o.sqs.send(
        new SendMessageCommand({
          QueueUrl: this.#o.ingestDlqUrl,
          MessageBody: sqsBody(bad.raw),
          MessageAttributes: {
            reason: { DataType: 'String', StringValue: sqsBody(reason) },
          },
        })
      );
    } catch (err) {
      // The line is kept in the run's dead letters all the same; a queue
      // that refuses its copy must not stop the run.
      this.#o.notes.push({
        at: new Date(),
        order: nextOrder(),
        who: 'local',
        text: `line ${bad.line} is dead-lettered in this run, but the dead-letter queue refused its copy: ${messageOf(err)}`,
      });
    }
  }
}
