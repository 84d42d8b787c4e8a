// Every detail-type of the bus in words, once: the local runtime's
// timeline and the postmortem both read these, each the view it needs (a
// line of the run's timeline; a row, a decision and an action of the
// report). Keyed by detail-type: a new one without words fails tsc.

import { cut, duration, formatBytes } from '../core/words.ts';
import {
  type DetailOf,
  isDetailType,
  parseDetail,
} from '../events/contracts.ts';
import { DETAIL_TYPES, type DetailType } from '../events/detail-types.ts';
import { namespacedName } from '../events/kubernetes-event-facts.ts';
import type { VolumeRollRequestedDetail } from '../events/schemas.ts';
import { percent, type RowKind } from './postmortem/model.ts';

/** What one bus event says, in both views. */
export interface Described {
  /** The local timeline's stage column (`kubelet`, `prune result`). */
  stage: string;
  /** The local timeline's line. */
  line: string;
  /** The report's marker colour. */
  kind: RowKind;
  /** A few words, for the report's picture. */
  label: string;
  /** The report's sentence. */
  text: string;
  dryRun: boolean;
  /** A decision pullmedic took here, and why. */
  decision?: { decision: string; why: string };
  /** What pullmedic did here, for the report's list of actions. */
  action?: string;
}

type Describer<K extends DetailType> = (detail: DetailOf<K>) => Described;

const dryTag = (dryRun: boolean | undefined) => (dryRun ? '[dry-run] ' : '');

const OUTCOME_WORDS = {
  recovering: "wait for the kubelet's retry (recovering)",
  roll: 'roll the node group to a bigger volume',
  escalate: 'escalate to on-call',
} as const;

const rollRequested =
  (approved: boolean) =>
  (v: VolumeRollRequestedDetail): Described => {
    const sizes = `volume ${v.currentSizeGiB ?? '?'} GiB, group minimum ${v.minimumSizeGiB} GiB`;
    const by = v.approvedBy ? `, approved by ${v.approvedBy}` : '';
    return {
      stage: 'roll',
      line: approved
        ? `${dryTag(v.dryRun)}approved for ${v.node.name}${by}: ${v.reason}`
        : `${dryTag(v.dryRun)}requested for ${v.node.name}: ${v.reason}`,
      kind: 'roll',
      label: approved
        ? `roll approved${v.approvedBy ? ` by ${cut(v.approvedBy, 30)}` : ''}`
        : `roll requested (${v.cause})`,
      text: `${dryTag(v.dryRun)}volume roll ${approved ? 'approved' : 'requested'} (${v.cause}): ${v.reason} (${sizes}${by})`,
      dryRun: v.dryRun,
      decision: {
        decision: approved
          ? 'roll, as on-call approved'
          : `request a volume roll (${v.cause})`,
        why: `${v.reason} (${sizes}${by})`,
      },
    };
  };

/**
 * The words of each detail-type. Each describer gets a detail its schema
 * parsed; {@link describeBusEvent} parses it.
 */
export const DESCRIBERS: { [K in DetailType]: Describer<K> } = {
  [DETAIL_TYPES.kubernetesEvent]: (k) => {
    const { event } = k;
    const o = event.involvedObject;
    const object = `${o.kind.toLowerCase()} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`;
    const times =
      event.count && event.count > 1 ? ` (${event.count} times)` : '';
    return {
      stage: 'kubelet',
      line: `${event.type} ${event.reason} ${object}: ${cut(event.message, 110)}`,
      kind: 'kubernetes',
      label: `${event.type === 'Warning' ? 'Warning ' : ''}${event.reason}: ${cut(event.message, 60)}`,
      text: `Kubernetes ${event.type} ${event.reason} on ${object}${times}: ${cut(event.message, 1000)}`,
      dryRun: false,
    };
  },
  [DETAIL_TYPES.imagePullFailureClassified]: (c) => {
    const dry = dryTag(c.dryRun);
    const k = c.kubernetesEvent;
    const of = c.pod ? `pod ${namespacedName(c.pod)}` : `node ${c.node.name}`;
    if (!c.causeKnown) {
      return {
        stage: 'classified',
        line: `${dry}${k.reason} "${cut(k.message, 60)}": no cause in the message (joins the incident)`,
        kind: 'classified',
        label: `classified: ${k.reason} (${cut(k.message, 30)}) names no cause`,
        text: `${dry}${k.reason} of ${of} names no cause (${cut(k.message, 200)}): it only joins the node's open incident`,
        dryRun: c.dryRun,
      };
    }
    const facts = [
      c.image ? `image ${c.image}` : '',
      c.runtime ? `runtime ${c.runtime}` : '',
      c.filesystem ? `filesystem ${c.filesystem}` : '',
      c.path ? `path ${cut(c.path, 160)}` : '',
    ].filter(Boolean);
    return {
      stage: 'classified',
      line: `${dry}${c.class} on ${c.node.name}, evidence "${cut(c.evidence ?? '', 60)}"${c.runtime ? ` (${c.runtime}${c.filesystem ? `, ${c.filesystem}` : ''})` : ''} → remedy ${c.remedy}`,
      kind: 'classified',
      label: `classified ${c.class} (remedy ${c.remedy})`,
      text: `${dry}${k.reason} of ${of} on ${c.node.name} classified ${c.class}, evidence "${c.evidence ?? ''}"${facts.length ? ` (${facts.join(', ')})` : ''}; remedy: ${c.remedy}`,
      dryRun: c.dryRun,
    };
  },
  [DETAIL_TYPES.incidentOpened]: (o) => ({
    stage: 'incident',
    line: `${dryTag(o.dryRun)}opened ${o.incidentId}`,
    kind: 'incident',
    label: 'incident opened',
    text: `${dryTag(o.dryRun)}incident opened: ${o.class} on ${o.node.name}${o.pod ? `, pod ${namespacedName(o.pod)}` : ''}`,
    dryRun: o.dryRun,
  }),
  [DETAIL_TYPES.nodePruneRequested]: (p) => {
    const target = p.node.instanceId ?? p.node.name;
    const params = Object.entries(p.parameters)
      .map(([k, v]) => `${k}=${v.join(',')}`)
      .join(' ');
    return {
      stage: 'prune',
      line: `${dryTag(p.dryRun)}SSM SendCommand document ${p.documentName} → instance ${p.node.instanceId}, parameters ${JSON.stringify(p.parameters)}; command ${p.commandId}`,
      kind: 'prune',
      label: `prune sent (SSM ${cut(p.documentName, 40)})`,
      text: `${dryTag(p.dryRun)}SSM SendCommand ${p.documentName} to ${target} (${params}), command ${p.commandId}`,
      dryRun: p.dryRun,
      decision: {
        decision: `prune the image cache of ${p.node.name} (SSM ${p.documentName})`,
        why: 'the failure is disk_full and its remedy is prune: the image cache holds what the pull needs',
      },
      action: `${p.dryRun ? 'Would have sent' : 'Sent'} the prune (SSM document ${p.documentName}) to ${target}`,
    };
  },
  [DETAIL_TYPES.ssmCommandInvocationStatusChange]: (s) => ({
    stage: 'ssm',
    line: `command ${s['command-id']} on ${s['instance-id']}: ${s.status}`,
    kind: 'ssm',
    label: `SSM command ${s.status}`,
    text: `SSM reports command ${s['command-id']} (${s['document-name']}) on ${s['instance-id']}: ${s.status}`,
    dryRun: false,
  }),
  [DETAIL_TYPES.nodePruneCompleted]: (p) => {
    const r = p.report;
    const numbers = r
      ? `used ${formatBytes(r.bytesBefore)} → ${formatBytes(r.bytesAfter)} of ${formatBytes(r.fsBytesTotal)} (${percent(r.bytesAfter, r.fsBytesTotal)} after), freed ${formatBytes(r.bytesFreed)}, ${r.imagesRemoved} images removed, pause image ${r.pauseImageIntact ? 'intact' : 'MISSING'}; `
      : '';
    const error = p.commandError
      ? `; command error: ${cut(p.commandError, 300)}`
      : '';
    // The local line: the disk, the containerd volume (and the rule that
    // said which it is), the decision.
    const disk = r
      ? `freed ${formatBytes(r.bytesFreed)} (used ${formatBytes(r.bytesBefore)} → ${formatBytes(r.bytesAfter)}, free ${formatBytes(r.freeBytesAfter)} of ${formatBytes(r.fsBytesTotal)}), ${r.imagesRemoved} images removed, pause image ${r.pauseImageIntact ? 'intact' : 'MISSING'}; `
      : '';
    const volume = p.volumeDeviceName
      ? `containerd volume ${p.volumeDeviceName}${p.volumeSizeGiB ? ` ${p.volumeSizeGiB} GiB` : ''} (${p.volumeRule ?? 'rule unknown'}); `
      : '';
    return {
      stage: 'prune result',
      line: `${dryTag(p.dryRun)}${p.status}: ${disk}${volume}decision: ${p.outcome}: ${p.reason}${p.commandError ? `; error: ${cut(p.commandError, 200)}` : ''}`,
      kind: 'prune',
      label: `prune ${p.status}${r ? `: freed ${formatBytes(r.bytesFreed)}` : ''} → ${p.outcome}`,
      text: `${dryTag(p.dryRun)}prune ${p.status}: ${numbers}decision: ${p.outcome}: ${p.reason}${error}`,
      dryRun: p.dryRun,
      decision: {
        decision: OUTCOME_WORDS[p.outcome],
        why: `${p.reason}${error}`,
      },
      action: `The prune ended ${p.status}${r ? `: freed ${formatBytes(r.bytesFreed)} (used ${formatBytes(r.bytesBefore)} → ${formatBytes(r.bytesAfter)} of ${formatBytes(r.fsBytesTotal)}), ${r.imagesRemoved} images removed` : ''}`,
    };
  },
  [DETAIL_TYPES.volumeRollRequested]: rollRequested(false),
  [DETAIL_TYPES.volumeRollApproved]: rollRequested(true),
  [DETAIL_TYPES.volumeRollProposed]: (v) => ({
    stage: 'roll',
    line: `proposed, waiting for approval: ${v.nodegroup.name} ${v.deviceName} ${v.oldSizeGiB} GiB → ${v.newSizeGiB} GiB`,
    kind: 'roll',
    label: `roll proposed: ${v.deviceName} ${v.oldSizeGiB} → ${v.newSizeGiB} GiB`,
    text: `${dryTag(v.dryRun)}volume roll proposed, waiting for approval: ${v.nodegroup.kind} node group ${v.nodegroup.name}, ${v.deviceName} ${v.oldSizeGiB} → ${v.newSizeGiB} GiB`,
    dryRun: v.dryRun,
    decision: {
      decision: 'propose the roll and wait for on-call',
      why: `rolls need approval here; approve with: ${cut(v.approve, 600)}`,
    },
    action: `Proposed a roll of node group ${v.nodegroup.name}: ${v.deviceName} ${v.oldSizeGiB} → ${v.newSizeGiB} GiB (waiting for approval)`,
  }),
  [DETAIL_TYPES.volumeRollStarted]: (v) => {
    const lt = v.launchTemplate;
    const versions = `${lt.oldVersion} → ${lt.newVersion ?? '(none, dry-run)'}`;
    const group = `${v.nodegroup.kind} node group ${v.nodegroup.name}`;
    return {
      stage: 'roll',
      line: `${dryTag(v.dryRun)}launch template ${lt.id} version ${versions}: ${v.deviceName} ${v.oldSizeGiB} GiB → ${v.newSizeGiB} GiB; ${v.rollout.kind} of ${group} started (${v.rollout.id ?? 'not started'})`,
      kind: 'roll',
      label: `roll started: ${v.deviceName} ${v.oldSizeGiB} → ${v.newSizeGiB} GiB`,
      text: `${dryTag(v.dryRun)}volume roll started: launch template ${lt.name ?? lt.id} version ${versions}, ${v.deviceName} ${v.oldSizeGiB} → ${v.newSizeGiB} GiB; ${v.rollout.kind} ${v.rollout.id ?? '(not started)'} of ${group}`,
      dryRun: v.dryRun,
      decision: {
        decision: `roll ${group}: ${v.deviceName} ${v.oldSizeGiB} → ${v.newSizeGiB} GiB`,
        why: `the roll passed the guardrails (allowlist, cooldown, hourly budget); undo: ${v.undo}`,
      },
      action: `${v.dryRun ? 'Would have rolled' : 'Rolled'} ${group}: ${v.deviceName} ${v.oldSizeGiB} → ${v.newSizeGiB} GiB (launch template ${lt.id} version ${versions}, ${v.rollout.kind})`,
    };
  },
  [DETAIL_TYPES.volumeRollCompleted]: (v) => {
    const errors = v.errors.length ? `; errors: ${v.errors.join('; ')}` : '';
    return {
      stage: 'roll',
      line: `${v.rollout.kind} ${v.rollout.id} of ${v.nodegroup.name} ended ${v.status} after ${v.checks} looks`,
      kind: 'roll',
      label: `roll ${v.succeeded ? 'completed' : 'FAILED'}: ${v.status}`,
      text: `${v.rollout.kind} ${v.rollout.id} of ${v.nodegroup.name} ended ${v.status} after ${v.checks} checks${errors}`,
      dryRun: v.dryRun,
      decision: {
        decision: v.succeeded ? 'roll completed' : 'roll failed: tell on-call',
        why: `${v.rollout.kind} reported ${v.status}${errors}`,
      },
      action: `The rollout of ${v.nodegroup.name} ended ${v.status}`,
    };
  },
  [DETAIL_TYPES.incidentResolved]: (r) => ({
    stage: 'resolved',
    line: `${dryTag(r.dryRun)}${r.incidentId}: time to recovery ${duration(r.mttrSeconds)} (${r.resolvedBy.reason}: ${cut(r.resolvedBy.message, 80)})${restartWords(r)}`,
    kind: 'resolved',
    label: `resolved (${r.resolvedBy.reason}) after ${duration(r.mttrSeconds)}`,
    text: `${dryTag(r.dryRun)}${r.resolvedBy.reason}: ${cut(r.resolvedBy.message, 200)}: incident resolved, time to recovery ${duration(r.mttrSeconds)}${restartWords(r)}`,
    dryRun: r.dryRun,
    action: `Saw the pull succeed (${r.resolvedBy.reason}) and resolved the incident`,
  }),
  [DETAIL_TYPES.incidentEscalated]: (x) => {
    const steps = x.nextSteps.map((s, i) => `${i + 1}. ${s}`).join(' ');
    return {
      stage: 'ESCALATED',
      line: `${dryTag(x.dryRun)}${x.reason}`,
      kind: 'escalated',
      label: `ESCALATED: ${cut(x.reason, 60)}`,
      text: `${dryTag(x.dryRun)}escalated to on-call: ${x.reason}. Next steps: ${steps}`,
      dryRun: x.dryRun,
      decision: { decision: 'escalate to on-call', why: x.reason },
      action: `Escalated to on-call: ${x.reason}`,
    };
  },
  [DETAIL_TYPES.podRestartRequested]: (p) => {
    const pods = p.pods.map(namespacedName).join(', ');
    return {
      stage: 'restart',
      line: `${dryTag(p.dryRun)}after the ${p.after}, asked the cluster agent to restart ${cut(pods, 110)} (at most ${p.maxPods})`,
      kind: 'restart',
      label: `restart requested (${p.pods.length} pods)`,
      text: `${dryTag(p.dryRun)}after the ${p.after}, asked the cluster agent to restart ${cut(pods, 400)} (at most ${p.maxPods})`,
      dryRun: p.dryRun,
      decision: {
        decision: 'restart the pods still stuck pulling',
        why: `the node has room again after the ${p.after}; the kubelet's back-off would wait up to five minutes`,
      },
    };
  },
  [DETAIL_TYPES.podRestarted]: (p) => ({
    stage: 'restart',
    line: `agent deleted ${namespacedName(p.pod)}; its ${p.owner.kind} ${p.owner.name} makes a new pod`,
    kind: 'restart',
    label: `restarted ${cut(namespacedName(p.pod), 40)}`,
    text: `the cluster agent deleted ${namespacedName(p.pod)}; its ${p.owner.kind} ${p.owner.name} makes a new pod, which pulls now`,
    dryRun: false,
    action: `Restarted pod ${namespacedName(p.pod)}`,
  }),
  [DETAIL_TYPES.podRestartSkipped]: (p) => ({
    stage: 'restart',
    line: `${dryTag(p.dryRun)}agent left ${namespacedName(p.pod)} alone (${p.reason}): ${cut(p.why, 110)}`,
    kind: 'restart',
    label: `restart skipped (${p.reason})`,
    text: `${dryTag(p.dryRun)}the cluster agent left ${namespacedName(p.pod)} alone (${p.reason}): ${cut(p.why, 400)}`,
    dryRun: p.dryRun === true,
  }),
};

/** How long the restarted pod's replacement took to start, when that proved the recovery. */
const restartWords = (
  r: DetailOf<typeof DETAIL_TYPES.incidentResolved>
): string =>
  r.restart
    ? `; ${namespacedName(r.restart.replacement)} Started ${duration(r.restart.startedAfterSeconds)} after the restart of ${namespacedName(r.restart.pod)}`
    : '';

/**
 * A bus event in words, when its detail matches its detail-type's
 * contract; undefined otherwise (each view shows such an event as it is).
 *
 * @example
 * ```ts
 * describeBusEvent({ 'detail-type': 'Incident Opened', detail })?.line;
 * // 'opened prod/ip-10-0-1-149.ec2.internal/20261120T094059Z'
 * ```
 */
export function describeBusEvent(e: {
  'detail-type': string;
  detail: unknown;
}): Described | undefined {
  const type = e['detail-type'];
  if (!isDetailType(type)) return undefined;
  const parsed = parseDetail(type, e.detail);
  return parsed.success ? describe(parsed.data) : undefined;
}

const describe = <K extends DetailType>(e: {
  detailType: K;
  detail: DetailOf<K>;
}): Described => DESCRIBERS[e.detailType](e.detail);
