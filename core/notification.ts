import type { DetailOf } from '../events/contracts.ts';
import { DETAIL_TYPES, type DetailType } from '../events/detail-types.ts';
import type { FailureClass } from '../events/failure-classes.ts';
import type { VolumeRollCompletedDetail } from '../events/schemas.ts';
import { MalformedEventError } from './errors.ts';
import type { Notification } from './ports.ts';
import { cut, duration, formatBytes } from './words.ts';

/** Slack's limit for a message section is 3000 characters; stay under it. */
const MAX_DESCRIPTION = 2800;
/** Chatbot's title and summary; the rest is cut. */
const MAX_TITLE = 250;
const MAX_FIELD = 300;

/**
 * Escapes text taken from an event for Slack mrkdwn: the three characters
 * Slack itself requires escaped, and the formatting characters, so a
 * hostile image name cannot mention @channel, link, or restyle a message.
 * The text is cut first, to `max` characters on one line (words.ts `cut`).
 *
 * @example
 * ```ts
 * slackEscape('<!channel> *bold*'); // '&lt;!channel&gt; \\*bold\\*'
 * ```
 */
export function slackEscape(text: string, max = MAX_FIELD): string {
  // Cut before escaping: the maximum counts what people read.
  return cut(text, max)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([*_~`])/g, '\\$1');
}

/**
 * Cuts escaped text to `max` characters without leaving half of an escape
 * behind: a `&amp;` cut to `&am` would be a raw `&`, and a `\*` cut after
 * its backslash a stray one.
 */
const cutEscaped = (text: string, max: number): string =>
  text.length <= max ? text : text.slice(0, max).replace(/(&[a-z]*|\\)$/, '');

/**
 * A keyword is a label, not prose: it keeps the characters of Kubernetes
 * and AWS names, and `_` inside a word (`rate_limited`, which Slack never
 * reads as italics); anything else becomes `-`, so no text from an event
 * can mention, link or restyle there.
 */
const keyword = (text: string): string =>
  text
    .slice(0, 64)
    .replace(/[^A-Za-z0-9_.:/-]/g, '-')
    .replace(/(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])/g, '-');

/** A title is one line: Slack shows no more, and e-mail needs no more. */
const oneLine = (text: string): string => text.replace(/\s+/g, ' ').trim();

/**
 * An SNS subject: printable ASCII on one line, under 100 characters (SNS
 * refuses any other). What is not ASCII becomes `?`.
 */
const subjectOf = (text: string): string =>
  oneLine(text)
    .replace(/[^\x20-\x7e]/g, '?')
    .slice(0, 99);

/** What a person should check for each class pullmedic does not remediate. */
export const NEXT_STEP_BY_CLASS: Record<FailureClass, string> = {
  disk_full: 'pullmedic prunes the node and rolls its volume.',
  auth: "Check the pull secret or the node role's ECR permissions (ecr:GetAuthorizationToken, ecr:BatchGetImage).",
  not_found:
    'Check the image name and tag: the registry says it does not exist.',
  rate_limited:
    'The registry throttles pulls: use a mirror or pull-through cache (ECR), or authenticate.',
  network:
    'Check DNS, routes and security groups from the node to the registry, or VPC endpoints for ECR.',
  tls: "Check the registry certificate and the node's trust store, or the registry's scheme (HTTP vs HTTPS).",
  platform:
    "The image has no variant for the node's architecture: build a multi-arch image or schedule on matching nodes.",
  invalid_name: 'Fix the image reference in the pod spec.',
  never_pull:
    'imagePullPolicy is Never and the image is not on the node: preload it or change the policy.',
  disk_pressure_eviction:
    'The node evicts pods for disk pressure: find what fills it (logs, emptyDir) and grow the volume.',
  image_gc_failed:
    "The images in use no longer fit the disk: grow the node group's volume.",
  other_no_space:
    "A non-image filesystem is full (inotify, /dev/shm, a volume): check the pod's mounts and node limits. pullmedic does not prune for this.",
  other: "Read the kubelet message and the pod's events.",
};

const SEVERITY: Record<string, string> = {
  [DETAIL_TYPES.incidentEscalated]: 'critical',
  [DETAIL_TYPES.volumeRollProposed]: 'warning',
  [DETAIL_TYPES.incidentOpened]: 'warning',
  [DETAIL_TYPES.imagePullFailureClassified]: 'warning',
};

interface Rendered {
  title: string;
  lines: string[];
  nextSteps: string[];
  threadId: string;
  className?: string;
}

/**
 * Renders one pipeline event as the notification on-call receives: an AWS
 * Chatbot custom notification (Slack), a plain-text body (e-mail), and
 * message attributes for subscription filters. Every update of an incident
 * shares one threadId, so Slack keeps them in one thread.
 *
 * @example
 * ```ts
 * const n = renderNotification('Incident Opened', detail);
 * await notifier.publish(n);
 * ```
 */
export function renderNotification<K extends DetailType>(
  detailType: K,
  detail: DetailOf<K>,
  /** Repeats of this notice counted, not posted, since the last one. */
  repeats = 0
): Notification {
  const rendered = render(detailType, detail);
  // The fields every decision carries, read defensively: a renderer's
  // detail passed its contract, but the message must not fail on one.
  const fields: Readonly<Record<string, unknown>> = detail;
  const r =
    repeats > 0
      ? {
          ...rendered,
          lines: [
            ...rendered.lines,
            `*Repeats:* ${repeats} more like this since the last message, not posted`,
          ],
        }
      : rendered;
  const cluster = String(fields.cluster ?? 'unknown');
  const dryRun = fields.dryRun === true;
  // A replay's incident is another incident (its own scope in the table):
  // its posts get their own thread, not the live incident's.
  const threadId =
    typeof fields.replayName === 'string'
      ? `replay/${fields.replayName}/${r.threadId}`
      : r.threadId;
  const title = cutEscaped(
    oneLine(`${dryRun ? '[dry-run] ' : ''}${r.title}`),
    MAX_TITLE
  );
  const description = cutEscaped(r.lines.join('\n'), MAX_DESCRIPTION);
  const severity = SEVERITY[detailType] ?? 'info';
  const chatbot = {
    version: '1.0',
    source: 'custom',
    content: {
      textType: 'client-markdown',
      title,
      description,
      ...(r.nextSteps.length ? { nextSteps: r.nextSteps.slice(0, 5) } : {}),
      keywords: [
        'pullmedic',
        severity,
        keyword(cluster),
        ...(r.className ? [keyword(r.className)] : []),
      ].slice(0, 5),
    },
    metadata: {
      threadId,
      summary: title,
      eventType: detailType,
      additionalContext: { cluster, dryRun: String(dryRun) },
    },
  };
  const text = [
    plain(title),
    '',
    ...r.lines.map(plain),
    ...(r.nextSteps.length
      ? ['', 'Next steps:', ...r.nextSteps.map((s) => `- ${plain(s)}`)]
      : []),
    '',
    `Incident: ${threadId}`,
  ].join('\n');
  return {
    subject: subjectOf(plain(title)),
    chatbot,
    text,
    attributes: {
      severity,
      cluster,
      detailType,
      ...(r.className ? { class: r.className } : {}),
      ...(typeof fields.nodegroup === 'object' && fields.nodegroup !== null
        ? { nodegroup: String((fields.nodegroup as { name: unknown }).name) }
        : {}),
      dryRun: String(dryRun),
    },
  };
}

/**
 * Undoes the Slack escaping for the plain-text body. Bold markers go first
 * and only unescaped ones: text from an event keeps its own asterisks.
 */
const plain = (s: string): string =>
  s
    .replace(/(?<!\\)\*([^*\n]+)(?<!\\)\*/g, '$1')
    .replace(/\\([*_~`])/g, '$1')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

const e = (s: unknown): string => slackEscape(String(s ?? ''));

const nodeLine = (d: {
  node: { name: string; instanceId?: string };
  cluster: string;
}) =>
  `*Node:* ${e(d.node.name)}${d.node.instanceId ? ` (${e(d.node.instanceId)})` : ''} in cluster ${e(d.cluster)}`;

const podLine = (pod?: { namespace: string; name: string }) =>
  pod ? [`*Pod:* ${e(pod.namespace)}/${e(pod.name)}`] : [];

const imageLine = (image?: string) =>
  image ? [`*Image:* \`${e(image)}\``] : [];

type Renderer<K extends DetailType> = (detail: DetailOf<K>) => Rendered;

/** What a roll changed, and its undo: told again when it ends. */
const changeLines = (
  c: NonNullable<VolumeRollCompletedDetail['change']>
): string[] => [
  `*Volume:* ${e(c.deviceName)} ${c.oldSizeGiB} GiB → ${c.newSizeGiB} GiB`,
  `*Launch template:* ${e(c.launchTemplate.id)} version ${c.launchTemplate.oldVersion} → ${c.launchTemplate.newVersion ?? '(none)'}`,
  `*Undo:* \`${slackEscape(c.undo, 600)}\``,
];

/** A pull failure no incident holds is threaded by node, pod and class. */
const pullThreadId = (
  d: DetailOf<typeof DETAIL_TYPES.imagePullFailureClassified>
): string =>
  `pull/${d.cluster}/${d.node.name}/${d.pod?.namespace ?? ''}/${d.pod?.name ?? ''}/${d.class}`;

/**
 * The kubelet's image GC could not free enough: the images in use no
 * longer fit the disk. Not a pull failure to prune: a volume to grow.
 */
function renderImageGcFailed(
  d: DetailOf<typeof DETAIL_TYPES.imagePullFailureClassified>
): Rendered {
  const wanted = d.gcWantedBytes;
  const freed = d.gcFreedBytes;
  return {
    title: `Image GC on ${e(d.node.name)} cannot free enough: grow its volume`,
    lines: [
      nodeLine(d),
      wanted !== undefined && freed !== undefined
        ? `*Image GC:* wanted to free ${formatBytes(wanted)}, freed ${formatBytes(freed)}`
        : `*Kubelet:* ${e(d.kubernetesEvent.message)}`,
      "The images the node's pods use no longer fit its disk. pullmedic does not prune here: the images are in use, and a prune would free nothing.",
    ],
    nextSteps: [
      `Grow the volume of ${e(d.node.name)}'s node group (a new launch template version, then roll it), or run fewer large images per node.`,
    ],
    threadId: pullThreadId(d),
    className: d.class,
  };
}

/**
 * What on-call is told of each detail-type, or `null` where nothing is
 * posted (the notify rule does not route it). Keyed by every detail-type:
 * a new one that says neither fails tsc.
 */
const RENDERERS: { [K in DetailType]: Renderer<K> | null } = {
  // The kubelet's own words reach on-call classified, not raw.
  [DETAIL_TYPES.kubernetesEvent]: null,
  [DETAIL_TYPES.imagePullFailureClassified]: (d) => {
    if (d.class === 'image_gc_failed') return renderImageGcFailed(d);
    return {
      title: `Image pull failing on ${e(d.node.name)}: ${e(d.class)}`,
      lines: [
        nodeLine(d),
        ...podLine(d.pod),
        ...imageLine(d.image),
        `*Class:* ${e(d.class)} (evidence: "${e(d.evidence)}")`,
        `*Kubelet:* ${e(d.kubernetesEvent.message)}`,
        'pullmedic does not remediate this class.',
      ],
      // A class this build does not know gets the general advice.
      nextSteps: [NEXT_STEP_BY_CLASS[d.class] ?? NEXT_STEP_BY_CLASS.other],
      threadId: pullThreadId(d),
      className: d.class,
    };
  },
  [DETAIL_TYPES.incidentOpened]: (d) => {
    return {
      title: `Disk full on ${e(d.node.name)}: image pulls fail, pullmedic is pruning`,
      lines: [
        nodeLine(d),
        ...podLine(d.pod),
        ...imageLine(d.image),
        `*Evidence:* "${e(d.evidence)}"`,
        `*Opened:* ${e(d.openedAt)}`,
      ],
      nextSteps: [
        'pullmedic prunes unused images on the node now; no action needed unless it escalates.',
      ],
      threadId: d.incidentId,
      className: d.class,
    };
  },
  [DETAIL_TYPES.nodePruneRequested]: (d) => {
    return {
      title: `Pruning images on ${e(d.node.name)}`,
      lines: [
        nodeLine(d),
        `*SSM command:* ${e(d.commandId)} (document ${e(d.documentName)})`,
        `*Parameters:* ${e(JSON.stringify(d.parameters))}`,
      ],
      nextSteps: [],
      threadId: d.incidentId,
    };
  },
  [DETAIL_TYPES.nodePruneCompleted]: (d) => {
    const r = d.report;
    return {
      title:
        d.status === 'Success'
          ? `Prune on ${e(d.node.name)} freed ${formatBytes(r?.bytesFreed ?? 0)}`
          : `Prune on ${e(d.node.name)} ${e(d.status)}`,
      lines: [
        nodeLine(d),
        `*SSM command:* ${e(d.commandId)}: ${e(d.status)}`,
        ...(r
          ? [
              `*Disk:* ${formatBytes(r.bytesBefore)} used before, ${formatBytes(r.bytesAfter)} after, ${formatBytes(r.freeBytesAfter)} free of ${formatBytes(r.fsBytesTotal)}`,
              `*Images removed:* ${r.imagesRemoved}; pause image ${r.pauseImageIntact ? 'intact' : '*MISSING*'}`,
            ]
          : []),
        ...(d.commandError ? [`*Command error:* ${e(d.commandError)}`] : []),
        // Which volume holds containerd, and what said so: the roll grows it.
        ...(d.volumeDeviceName && d.volumeRule
          ? [
              `*Containerd volume:* ${e(d.volumeDeviceName)} (${e(d.volumeRule)})`,
            ]
          : []),
        `*Decision:* ${e(d.reason)}`,
      ],
      nextSteps:
        d.outcome === 'recovering'
          ? [
              'The kubelet retries the pull by itself; pullmedic closes the incident when it succeeds.',
            ]
          : ['pullmedic rolls the node group to a bigger volume next.'],
      threadId: d.incidentId,
    };
  },
  [DETAIL_TYPES.volumeRollStarted]: (d) => {
    return {
      title: `Rolling node group ${e(d.nodegroup.name)} to ${d.newSizeGiB} GiB volumes`,
      lines: [
        nodeLine(d),
        `*Node group:* ${e(d.nodegroup.name)} (${e(d.nodegroup.kind)})`,
        `*Volume:* ${e(d.deviceName)} ${d.oldSizeGiB} GiB → ${d.newSizeGiB} GiB`,
        `*Launch template:* ${e(d.launchTemplate.id)} version ${d.launchTemplate.oldVersion} → ${d.launchTemplate.newVersion ?? '(not created: dry-run)'}`,
        `*Rollout:* ${e(d.rollout.kind)} ${e(d.rollout.id ?? '(none)')}`,
        `*Undo:* \`${slackEscape(d.undo, 600)}\``,
      ],
      nextSteps: [
        d.rollout.kind === 'eks-nodegroup-update'
          ? 'EKS replaces the nodes a few at a time, draining each and respecting PodDisruptionBudgets.'
          : 'An instance refresh replaces the instances and keeps most of the group healthy, but it does not drain nodes: without aws-node-termination-handler or a lifecycle hook, cordon and drain each old node first.',
      ],
      threadId: d.incidentId,
    };
  },
  [DETAIL_TYPES.volumeRollProposed]: (d) => {
    return {
      title: `Approve? Roll node group ${e(d.nodegroup.name)} to ${d.newSizeGiB} GiB volumes`,
      lines: [
        nodeLine(d),
        `*Node group:* ${e(d.nodegroup.name)} (${e(d.nodegroup.kind)})`,
        `*Would change:* ${e(d.deviceName)} ${d.oldSizeGiB} GiB → ${d.newSizeGiB} GiB in a new version of ${e(d.launchTemplate.id)} (from version ${d.launchTemplate.version}), then roll every node of the group`,
        'pullmedic runs in approval mode: nothing changes until someone approves.',
      ],
      nextSteps: [
        `To approve, put your name in and run: ${slackEscape(d.approve, 1500)}`,
        'To decline, do nothing.',
      ],
      threadId: d.incidentId,
    };
  },
  [DETAIL_TYPES.volumeRollCompleted]: (d) => {
    return {
      title: d.succeeded
        ? `Node group ${e(d.nodegroup.name)} rolled to its new volumes`
        : `Roll of node group ${e(d.nodegroup.name)} ended ${e(d.status)}`,
      lines: [
        nodeLine(d),
        `*Rollout:* ${e(d.rollout.kind)} ${e(d.rollout.id)}: ${e(d.status)}`,
        ...d.errors.map((x) => `*Error:* ${e(x)}`),
        ...(d.change ? changeLines(d.change) : []),
      ],
      nextSteps: d.succeeded
        ? []
        : [
            `Look at the ${d.rollout.kind === 'eks-nodegroup-update' ? 'node group update (aws eks describe-update)' : 'instance refresh (aws autoscaling describe-instance-refreshes)'} and the nodes that did not come up.`,
          ],
      threadId: d.incidentId,
    };
  },
  [DETAIL_TYPES.incidentResolved]: (d) => {
    return {
      title: `Resolved: ${e(d.node.name)} pulls images again (time to recovery ${duration(d.mttrSeconds)})`,
      lines: [
        nodeLine(d),
        ...podLine(d.resolvedBy.pod),
        `*Proof:* ${e(d.resolvedBy.reason)}: ${e(d.resolvedBy.message)}`,
        ...(d.restart
          ? [
              `*Restart:* ${e(podName(d.restart.pod))} deleted; ${e(podName(d.restart.replacement))} Started ${duration(d.restart.startedAfterSeconds)} after`,
            ]
          : []),
        `*Opened:* ${e(d.openedAt)}  *Resolved:* ${e(d.resolvedAt)}`,
        `*Time to recovery:* ${duration(d.mttrSeconds)}`,
      ],
      nextSteps: [],
      threadId: d.incidentId,
    };
  },
  [DETAIL_TYPES.incidentEscalated]: (d) => renderEscalation(d),
  // The prune's result says a roll comes next; the roll's start says what
  // it changed.
  [DETAIL_TYPES.volumeRollRequested]: null,
  [DETAIL_TYPES.volumeRollApproved]: null,
  [DETAIL_TYPES.podRestartRequested]: (d) => {
    const acts = !d.dryRun && d.replayName === undefined;
    const pods = d.pods.map(podName);
    return {
      title: `${acts ? 'Restarting' : 'Would restart'} the stuck ${pods.length === 1 ? 'pod' : `${pods.length} pods`} on ${e(d.node.name)}: the node has room again`,
      lines: [
        nodeLine(d),
        `*Pods:* ${e(pods.join(', '))}${pods.length > d.maxPods ? ` (the first ${d.maxPods} at most)` : ''}`,
        ...imageLine(d.image),
        d.after === 'prune'
          ? '*Why now:* the prune left room; the kubelet would retry only after its back-off (up to five minutes)'
          : '*Why now:* the rollout replaced the node; pods that waited it out restart at once',
        acts
          ? 'The cluster agent deletes each pod still stuck pulling, if a controller owns it; its controller makes a new one, which pulls now.'
          : 'Nothing is deleted: the cluster agent takes no dry-run or replay request.',
      ],
      nextSteps: [],
      threadId: d.incidentId,
    };
  },
  [DETAIL_TYPES.podRestarted]: (d) => {
    return {
      title: `Restarted ${e(podName(d.pod))} on ${e(d.node.name)}`,
      lines: [
        nodeLine(d),
        `*Deleted:* ${e(podName(d.pod))} at ${e(d.deletedAt)}; its ${e(d.owner.kind)} ${e(d.owner.name)} makes a new pod, which pulls now`,
        ...imageLine(d.image),
      ],
      nextSteps: [],
      threadId: d.incidentId,
    };
  },
  [DETAIL_TYPES.podRestartSkipped]: (d) => {
    const byHand = d.reason === 'forbidden' || d.reason === 'error';
    return {
      title: `Left ${e(podName(d.pod))} on ${e(d.node.name)} alone: ${e(d.reason)}`,
      lines: [nodeLine(d), `*Why:* ${e(d.why)}`, ...imageLine(d.image)],
      nextSteps: byHand
        ? [
            `If it still waits in ImagePullBackOff, restart it by hand: kubectl delete pod -n ${d.pod.namespace} ${d.pod.name}`,
            "Then look at the cluster agent's logs and its RBAC (infra/k8s/agent).",
          ]
        : [],
      threadId: d.incidentId,
    };
  },
  // SSM's own status change: the prune's result is told instead.
  [DETAIL_TYPES.ssmCommandInvocationStatusChange]: null,
};

const podName = (pod: { namespace: string; name: string }): string =>
  `${pod.namespace}/${pod.name}`;

function renderEscalation(
  d: DetailOf<typeof DETAIL_TYPES.incidentEscalated>
): Rendered {
  return {
    title: `Needs a person: ${e(d.node.name)}`,
    lines: [nodeLine(d), `*What failed:* ${e(d.reason)}`],
    nextSteps: d.nextSteps.map((s) => slackEscape(s, 600)),
    threadId: d.incidentId ?? `escalation/${d.cluster}/${d.node.name}`,
    className: d.class,
  };
}

/**
 * Whether on-call is told of a detail-type: the ones the notify rule
 * routes to the notify function.
 *
 * @example
 * ```ts
 * isNotified('Incident Opened'); // true
 * isNotified('Kubernetes Event'); // false
 * ```
 */
export const isNotified = (detailType: DetailType): boolean =>
  RENDERERS[detailType] !== null;

function render<K extends DetailType>(
  detailType: K,
  detail: DetailOf<K>
): Rendered {
  // A detail-type from outside the contract has no entry at all.
  const renderer = RENDERERS[detailType] ?? null;
  if (renderer === null) {
    throw new MalformedEventError(
      `${detailType} is not posted to on-call: notify does not handle it`
    );
  }
  const rendered = renderer(detail);
  // pullmedic opens incidents for disk_full only, so every step of one is
  // of that class: a subscription filtered on class=disk_full gets the
  // whole thread, not only its first message.
  const fields: Readonly<Record<string, unknown>> = detail;
  return rendered.className === undefined &&
    typeof fields.incidentId === 'string'
    ? { ...rendered, className: 'disk_full' }
    : rendered;
}
