import { cut, duration } from '../../core/words.ts';
import { DETAIL_TYPES } from '../../events/detail-types.ts';
import type { KubernetesEventDetail } from '../../events/schemas.ts';
import { describeBusEvent as inWords } from '../bus-event-words.ts';
import { containerdDiskOf } from './fleet.ts';
import type { Note } from './gaps.ts';
import type { BusEvent, LocalRunResult, NotificationCopy } from './runner.ts';

const hhmmss = (t: string) => new Date(t).toISOString().slice(11, 19);

/**
 * A forwarded Event its contract refuses (classify dead-letters it), in
 * what words it has: the timeline still shows what reached the bus.
 */
const describeKubernetesEvent = (d: Record<string, unknown>): string => {
  const k = d as Partial<KubernetesEventDetail>;
  const o: Partial<KubernetesEventDetail['event']['involvedObject']> =
    k.event?.involvedObject ?? {};
  const what =
    typeof o.kind === 'string' && typeof o.name === 'string'
      ? `${o.kind.toLowerCase()} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`
      : '(no involvedObject)';
  return `${String(k.event?.type)} ${String(k.event?.reason)} ${what}: ${cut(String(k.event?.message ?? ''), 110)}`;
};

/**
 * One line per bus event, in words: what happened at this step (the
 * words of cli/bus-event-words.ts, which the postmortem shares).
 *
 * @example
 * ```ts
 * describeBusEvent(event); // ['classified', 'disk_full …']
 * ```
 */
export function describeBusEvent(e: BusEvent): [string, string] {
  const described = inWords(e);
  if (described) return [described.stage, described.line];
  if (e['detail-type'] === DETAIL_TYPES.kubernetesEvent)
    return ['kubelet', describeKubernetesEvent(e.detail)];
  return [e['detail-type'], cut(JSON.stringify(e.detail), 120)];
}

/**
 * {@link describeBusEvent}, or the event's own JSON when it does not have
 * the shape its detail-type promises: one odd event never costs the
 * timeline of the whole run.
 */
const describeSafely = (e: BusEvent): [string, string] => {
  try {
    return describeBusEvent(e);
  } catch {
    return [e['detail-type'], cut(JSON.stringify(e.detail), 120)];
  }
};

/** The Slack message as on-call sees it, from the SQS copy of the SNS message. */
export function renderSlack(n: NotificationCopy): string {
  let body: {
    content?: { title?: string; description?: string; nextSteps?: string[] };
    metadata?: { threadId?: string };
    AlarmName?: string;
    AlarmDescription?: string;
    NewStateReason?: string;
  };
  try {
    body = JSON.parse(n.message);
  } catch {
    return `  ${n.message}`;
  }
  if (body.AlarmName !== undefined) {
    // A CloudWatch alarm's own message: Chatbot shows its name and reason.
    return [
      `  ┌ ALARM: ${body.AlarmName}    [CloudWatch alarm]`,
      `  │ ${body.AlarmDescription ?? ''}`,
      `  │ ${body.NewStateReason ?? ''}`,
      '  └',
    ].join('\n');
  }
  const c = body.content ?? {};
  const unescapeSlack = (s: string) =>
    s
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&')
      .replace(/\\([*_~`])/g, '$1');
  return [
    `  ┌ ${unescapeSlack(c.title ?? '')}    [thread ${body.metadata?.threadId ?? '?'}, severity ${n.attributes.severity ?? '?'}]`,
    ...(c.description ?? '').split('\n').map((l) => `  │ ${unescapeSlack(l)}`),
    ...(c.nextSteps ?? []).map((s) => `  │ → ${unescapeSlack(s)}`),
    '  └',
  ].join('\n');
}

/**
 * The readable report of a local run: setup, then the timeline (bus events
 * and what the runtime did in AWS's place, in order), then the
 * notifications as on-call receives them.
 */
export function renderTimeline(result: LocalRunResult, source: string): string {
  const lines: string[] = [];
  lines.push(
    `pullmedic local: ${source}, on a local AWS (moto at ${result.endpoint})`
  );
  for (const n of result.nodes) {
    const s = n.spec;
    const disk = containerdDiskOf(s);
    const size = `containerd on ${disk.deviceName} ${disk.sizeGiB} GiB`;
    lines.push(
      `  node     ${s.name} = ${n.instanceId} (${s.amiFamily}, ${s.nodegroup.kind} node group ${s.nodegroup.name}, launch template ${n.launchTemplateId} v1, ${size})`
    );
  }
  const kinds = [...new Set(result.localNodes.map((n) => n.kind))];
  lines.push(
    `  commands run on: ${kinds.map((k) => (k === 'lab' ? 'the containerd lab (real containerd on a tmpfs)' : 'a SIMULATED node (modelled disk; the containerd lab was not used)')).join(', ')}`
  );
  if (result.shiftMs)
    lines.push(
      `  times    the events are replayed as if now (moved by ${duration(result.shiftMs / 1000)}; --keep-times keeps them)`
    );
  lines.push('');

  type Row = { order: number; text: string };
  const rows: Row[] = [
    ...result.busEvents.map((e) => {
      const [stage, text] = describeSafely(e);
      return {
        order: e.order ?? 0,
        text: `${hhmmss(e.time)}  ${stage.padEnd(13)} ${text}`,
      };
    }),
    ...result.notes.map((n: Note) => ({
      order: n.order ?? 0,
      text: `          [${n.who}] ${n.text}`,
    })),
  ];
  rows.sort((a, b) => a.order - b.order);
  lines.push(...rows.map((r) => r.text));

  if (result.deadLetters.length) {
    lines.push('', 'Dead-lettered (kept with the reason, nothing dropped):');
    for (const d of result.deadLetters) lines.push(`  ${d.queue}: ${d.reason}`);
  }
  lines.push(
    '',
    `Notifications (${result.notifications.length}), as on-call sees them in Slack (AWS Chatbot custom notifications via SNS):`
  );
  for (const n of result.notifications) lines.push(renderSlack(n));
  return lines.join('\n');
}

/**
 * `--json`: every event that crossed the bus, in order, then every SNS
 * notification on-call received, then every dead letter (an input line
 * or a record kept with its reason); one JSON object a line.
 *
 * @example
 * ```ts
 * process.stdout.write(`${renderJson(result)}\n`);
 * ```
 */
export function renderJson(result: LocalRunResult): string {
  const events = result.busEvents.map((e) =>
    JSON.stringify({
      time: e.time,
      source: e.source,
      'detail-type': e['detail-type'],
      ...(e['replay-name'] ? { 'replay-name': e['replay-name'] } : {}),
      detail: e.detail,
    })
  );
  // Then what on-call received: the SNS messages, as the topic's
  // subscribers get them (the Chatbot JSON parsed, its attributes).
  const notifications = result.notifications.map((n) =>
    JSON.stringify({
      time: n.time,
      notification: {
        ...(n.subject ? { subject: n.subject } : {}),
        attributes: n.attributes,
        message: parsedOrText(n.message),
      },
    })
  );
  // Last, what was kept instead of processed: never dropped, and told
  // apart from events and notifications by its key.
  const deadLetters = result.deadLetters.map((d) =>
    JSON.stringify({
      deadLetter: { queue: d.queue, reason: d.reason, body: d.body },
    })
  );
  return [...events, ...notifications, ...deadLetters].join('\n');
}

const parsedOrText = (message: string): unknown => {
  try {
    return JSON.parse(message);
  } catch {
    return message;
  }
};
