import { describe, expect, it } from 'vitest';
import { NEXT_STEP_BY_CLASS, slackEscape } from '#core/notification.ts';
import { DETAIL_TYPES } from '#events/detail-types.ts';
import type {
  IncidentEscalatedDetail,
  IncidentOpenedDetail,
  IncidentResolvedDetail,
  NodePruneCompletedDetail,
  NodePruneRequestedDetail,
  VolumeRollStartedDetail,
} from '#events/schemas.ts';
import { renderUnchecked } from '#test/helpers/bus.ts';
import {
  aClassifiedDetail,
  anIncident,
  aPruneReport,
  CLUSTER,
  INSTANCE_ID,
  LAUNCH_TEMPLATE_ID,
  NODE_NAME,
  NODEGROUP,
  SEED_IMAGE,
  SEED_POD,
} from '#test/helpers/fixtures.ts';
import { steps } from '../../helpers/notification-steps.ts';

const INCIDENT_ID = anIncident().incidentId;
const NODE = { name: NODE_NAME, instanceId: INSTANCE_ID };
const HOSTILE = 'evil<!channel>*x*';

const opened = (
  overrides: Partial<IncidentOpenedDetail> = {}
): IncidentOpenedDetail => ({
  cluster: CLUSTER,
  node: NODE,
  dryRun: false,
  incidentId: INCIDENT_ID,
  openedAt: '2026-11-20T09:40:59.000Z',
  class: 'disk_full',
  evidence: 'no space left on device',
  pod: SEED_POD,
  image: SEED_IMAGE,
  ...overrides,
});

const pruneRequested: NodePruneRequestedDetail = {
  cluster: CLUSTER,
  node: NODE,
  dryRun: false,
  incidentId: INCIDENT_ID,
  commandId: 'cmd-0001',
  documentName: 'pullmedic-test-prune-containerd',
  parameters: { DryRun: ['false'] },
  requestedAt: '2026-11-20T09:41:00.000Z',
};

const pruneCompleted = (
  overrides: Partial<NodePruneCompletedDetail> = {}
): NodePruneCompletedDetail => ({
  cluster: CLUSTER,
  node: NODE,
  dryRun: false,
  incidentId: INCIDENT_ID,
  commandId: 'cmd-0001',
  status: 'Success',
  report: aPruneReport(),
  outcome: 'roll',
  reason: 'the volume is 20 GiB, below the group minimum of 100 GiB',
  volumeSizeGiB: 20,
  ...overrides,
});

const rollStarted = (
  overrides: Partial<VolumeRollStartedDetail> = {}
): VolumeRollStartedDetail => ({
  cluster: CLUSTER,
  node: NODE,
  dryRun: false,
  incidentId: INCIDENT_ID,
  nodegroup: { kind: 'managed', name: NODEGROUP },
  launchTemplate: { id: LAUNCH_TEMPLATE_ID, oldVersion: 3, newVersion: 4 },
  deviceName: '/dev/xvda',
  oldSizeGiB: 20,
  newSizeGiB: 100,
  rollout: { kind: 'eks-nodegroup-update', id: 'update-0001' },
  undo: `aws eks update-nodegroup-version --cluster-name ${CLUSTER} --nodegroup-name ${NODEGROUP} --launch-template id=${LAUNCH_TEMPLATE_ID},version=3`,
  ...overrides,
});

/** How an instance refresh of NODEGROUP ended. */
const completed = (succeeded: boolean) => ({
  cluster: CLUSTER,
  node: NODE,
  dryRun: false,
  incidentId: INCIDENT_ID,
  nodegroup: { kind: 'self-managed', name: NODEGROUP },
  rollout: { kind: 'asg-instance-refresh', id: 'ir-1' },
  status: succeeded ? 'Successful' : 'Failed',
  succeeded,
  errors: succeeded ? [] : ['instance i-1 failed health checks'],
  checks: 3,
});

/** What a roll changed, as Volume Roll Completed repeats it. */
const change = (newVersion: number | null) => ({
  launchTemplate: { id: LAUNCH_TEMPLATE_ID, oldVersion: 3, newVersion },
  deviceName: '/dev/xvda',
  oldSizeGiB: 20,
  newSizeGiB: 100,
  undo: `aws eks update-nodegroup-version --cluster-name ${CLUSTER} --nodegroup-name ${NODEGROUP} --launch-template id=${LAUNCH_TEMPLATE_ID},version=3`,
});

const resolved: IncidentResolvedDetail = {
  cluster: CLUSTER,
  node: NODE,
  dryRun: false,
  incidentId: INCIDENT_ID,
  openedAt: '2026-11-20T09:40:59.000Z',
  resolvedAt: '2026-11-20T09:42:34.000Z',
  mttrSeconds: 95,
  resolvedBy: {
    reason: 'Pulled',
    pod: SEED_POD,
    message: `Successfully pulled image "${SEED_IMAGE}"`,
  },
  timeline: anIncident().timeline,
};

const escalated = (
  overrides: Partial<IncidentEscalatedDetail> = {}
): IncidentEscalatedDetail => ({
  cluster: CLUSTER,
  node: NODE,
  dryRun: false,
  incidentId: INCIDENT_ID,
  reason: 'the kill switch is on: pullmedic did nothing',
  nextSteps: ['Prune the node by hand.'],
  ...overrides,
});

const render = (type: string, detail: object) => renderUnchecked(type, detail);

describe('Function: renderNotification', () => {
  it.each<[string, object, string, string]>([
    [
      DETAIL_TYPES.imagePullFailureClassified,
      aClassifiedDetail({ class: 'auth', remedy: 'notify' }),
      `Image pull failing on ${NODE_NAME}: auth`,
      `pull/${CLUSTER}/${NODE_NAME}/${SEED_POD.namespace}/${SEED_POD.name}/auth`,
    ],
    [
      DETAIL_TYPES.incidentOpened,
      opened(),
      `Disk full on ${NODE_NAME}: image pulls fail, pullmedic is pruning`,
      INCIDENT_ID,
    ],
    [
      DETAIL_TYPES.nodePruneRequested,
      pruneRequested,
      `Pruning images on ${NODE_NAME}`,
      INCIDENT_ID,
    ],
    [
      DETAIL_TYPES.nodePruneCompleted,
      pruneCompleted(),
      `Prune on ${NODE_NAME} freed 16.0 GiB`,
      INCIDENT_ID,
    ],
    [
      DETAIL_TYPES.volumeRollStarted,
      rollStarted(),
      `Rolling node group ${NODEGROUP} to 100 GiB volumes`,
      INCIDENT_ID,
    ],
    [
      DETAIL_TYPES.incidentResolved,
      resolved,
      `Resolved: ${NODE_NAME} pulls images again (time to recovery 1m 35s)`,
      INCIDENT_ID,
    ],
    [
      DETAIL_TYPES.incidentEscalated,
      escalated(),
      `Needs a person: ${NODE_NAME}`,
      INCIDENT_ID,
    ],
  ])(
    'renders a Chatbot custom notification when the detail-type is %s',
    (type, detail, title, threadId) => {
      // Act
      const n = render(type, detail);

      // Assess
      expect(n.subject).toBe(title);
      expect(n.chatbot).toMatchObject({
        version: '1.0',
        source: 'custom',
        content: { textType: 'client-markdown', title },
        metadata: {
          threadId,
          summary: title,
          eventType: type,
          additionalContext: { cluster: CLUSTER, dryRun: 'false' },
        },
      });
      expect(n.text.startsWith(`${title}\n\n`)).toBe(true);
      expect(n.text.endsWith(`\nIncident: ${threadId}`)).toBe(true);
      expect(n.text).toContain(
        `Node: ${NODE_NAME} (${INSTANCE_ID}) in cluster ${CLUSTER}`
      );
      expect(n.attributes).toMatchObject({
        cluster: CLUSTER,
        detailType: type,
        dryRun: 'false',
      });
    }
  );

  it('escapes a hostile image name in Slack and keeps it verbatim in the e-mail text', () => {
    // Prepare
    const detail = opened({ image: HOSTILE as string });

    // Act
    const n = render(DETAIL_TYPES.incidentOpened, detail);

    // Assess
    const content = n.chatbot.content as { description: string };
    expect(content.description).toContain(
      '*Image:* `evil&lt;!channel&gt;\\*x\\*`'
    );
    expect(content.description).not.toContain('<!channel>');
    expect(n.text).toContain('Image: `evil<!channel>*x*`');
  });

  it('rates escalations critical, openings and classifications warning, the rest info', () => {
    // Act
    const severities = [
      render(DETAIL_TYPES.incidentEscalated, escalated()),
      render(DETAIL_TYPES.incidentOpened, opened()),
      render(
        DETAIL_TYPES.imagePullFailureClassified,
        aClassifiedDetail({ class: 'auth' })
      ),
      render(DETAIL_TYPES.nodePruneRequested, pruneRequested),
      render(DETAIL_TYPES.incidentResolved, resolved),
    ].map((n) => n.attributes.severity);

    // Assess
    expect(severities).toEqual([
      'critical',
      'warning',
      'warning',
      'info',
      'info',
    ]);
  });

  it('renders the class, its next step and keywords when the detail is a classification', () => {
    // Act
    const n = render(
      DETAIL_TYPES.imagePullFailureClassified,
      aClassifiedDetail({
        class: 'rate_limited',
        evidence: 'toomanyrequests',
        remedy: 'notify',
      })
    );

    // Assess
    expect(n.attributes).toEqual({
      severity: 'warning',
      cluster: CLUSTER,
      detailType: DETAIL_TYPES.imagePullFailureClassified,
      class: 'rate_limited',
      dryRun: 'false',
    });
    expect(n.chatbot.content).toMatchObject({
      nextSteps: [NEXT_STEP_BY_CLASS.rate_limited],
      keywords: ['pullmedic', 'warning', CLUSTER, 'rate_limited'],
    });
    expect(
      (n.chatbot.content as { description: string }).description
    ).toContain('*Class:* rate\\_limited (evidence: "toomanyrequests")');
  });

  it('threads a classification without a pod by node and class', () => {
    // Act
    const n = render(
      DETAIL_TYPES.imagePullFailureClassified,
      aClassifiedDetail({ class: 'tls', pod: undefined, image: undefined })
    );

    // Assess
    expect((n.chatbot.metadata as { threadId: string }).threadId).toBe(
      `pull/${CLUSTER}/${NODE_NAME}///tls`
    );
    expect(n.text).not.toContain('Pod:');
    expect(n.text).not.toContain('Image:');
  });

  it('adds the node group attribute when the detail names a node group', () => {
    // Act
    const n = render(DETAIL_TYPES.volumeRollStarted, rollStarted());

    // Assess
    expect(n.attributes).toEqual({
      severity: 'info',
      cluster: CLUSTER,
      detailType: DETAIL_TYPES.volumeRollStarted,
      class: 'disk_full',
      nodegroup: NODEGROUP,
      dryRun: 'false',
    });
    expect(n.text).toContain(
      `Launch template: ${LAUNCH_TEMPLATE_ID} version 3 → 4`
    );
    expect(n.text).toContain('Rollout: eks-nodegroup-update update-0001');
  });

  it('leaves the node group attribute out when the node group is null', () => {
    // Act
    const n = render(DETAIL_TYPES.incidentEscalated, {
      ...escalated(),
      nodegroup: null,
    });

    // Assess
    expect(n.attributes).not.toHaveProperty('nodegroup');
  });

  it('says no version was created when the roll was a dry run', () => {
    // Act
    const n = render(
      DETAIL_TYPES.volumeRollStarted,
      rollStarted({
        dryRun: true,
        launchTemplate: {
          id: LAUNCH_TEMPLATE_ID,
          oldVersion: 3,
          newVersion: null,
        },
        rollout: { kind: 'asg-instance-refresh', id: null },
      })
    );

    // Assess
    expect(n.subject).toBe(
      `[dry-run] Rolling node group ${NODEGROUP} to 100 GiB volumes`
    );
    expect(n.attributes.dryRun).toBe('true');
    expect(n.text).toContain('version 3 → (not created: dry-run)');
    expect(n.text).toContain('Rollout: asg-instance-refresh (none)');
  });

  it('says what would change and how to approve when a roll is proposed', () => {
    // Act
    const n = render(DETAIL_TYPES.volumeRollProposed, {
      cluster: CLUSTER,
      node: NODE,
      dryRun: false,
      incidentId: INCIDENT_ID,
      nodegroup: { kind: 'managed', name: NODEGROUP },
      launchTemplate: { id: LAUNCH_TEMPLATE_ID, version: 3 },
      deviceName: '/dev/xvda',
      oldSizeGiB: 20,
      newSizeGiB: 100,
      approve: "aws events put-events --entries '[]'",
    });

    // Assess
    expect(n.subject).toBe(
      `Approve? Roll node group ${NODEGROUP} to 100 GiB volumes`
    );
    expect(n.attributes.severity).toBe('warning');
    expect(n.text).toContain('/dev/xvda 20 GiB → 100 GiB');
    expect(n.text).toContain("aws events put-events --entries '[]'");
    expect(n.chatbot.metadata).toMatchObject({ threadId: INCIDENT_ID });
  });

  it('tells how a rollout ended, and what to look at when it failed', () => {
    // Act
    const ok = render(DETAIL_TYPES.volumeRollCompleted, completed(true));
    const failed = render(DETAIL_TYPES.volumeRollCompleted, completed(false));
    const eks = render(DETAIL_TYPES.volumeRollCompleted, {
      ...completed(false),
      rollout: { kind: 'eks-nodegroup-update', id: 'u-1' },
    });

    // Assess
    expect(ok.subject).toBe(
      `Node group ${NODEGROUP} rolled to its new volumes`
    );
    expect(failed.subject).toBe(`Roll of node group ${NODEGROUP} ended Failed`);
    expect(failed.text).toContain('Error: instance i-1 failed health checks');
    expect(failed.text).toContain('describe-instance-refreshes');
    expect(eks.text).toContain('aws eks describe-update');
    expect(ok.text).not.toContain('Undo:');
  });

  it('says again, when a rollout ends, what it changed and how to undo it', () => {
    // Act
    const n = render(DETAIL_TYPES.volumeRollCompleted, {
      ...completed(true),
      change: change(4),
    });

    // Assess
    expect(n.text).toContain('Volume: /dev/xvda 20 GiB → 100 GiB');
    expect(n.text).toContain(
      `Launch template: ${LAUNCH_TEMPLATE_ID} version 3 → 4`
    );
    expect(n.text).toContain(
      `Undo: \`aws eks update-nodegroup-version --cluster-name ${CLUSTER}`
    );
  });

  it('says no version was made when the change it repeats made none', () => {
    // Act
    const n = render(DETAIL_TYPES.volumeRollCompleted, {
      ...completed(true),
      change: change(null),
    });

    // Assess
    expect(n.text).toContain(
      `Launch template: ${LAUNCH_TEMPLATE_ID} version 3 → (none)`
    );
  });

  it('reports the disk, the removed images and the roll next when a prune succeeded on a small volume', () => {
    // Act
    const n = render(DETAIL_TYPES.nodePruneCompleted, pruneCompleted());

    // Assess
    const content = n.chatbot.content as { description: string };
    expect(content.description).toContain(
      '*Disk:* 19.5 GiB used before, 3.5 GiB after, 16.5 GiB free of 20.0 GiB'
    );
    expect(content.description).toContain(
      '*Images removed:* 7; pause image intact'
    );
    expect(content).toMatchObject({
      nextSteps: ['pullmedic rolls the node group to a bigger volume next.'],
    });
  });

  it('says the kubelet retries when the prune is recovering', () => {
    // Act
    const n = render(
      DETAIL_TYPES.nodePruneCompleted,
      pruneCompleted({ outcome: 'recovering' })
    );

    // Assess
    expect(n.chatbot.content).toMatchObject({
      nextSteps: [
        'The kubelet retries the pull by itself; pullmedic closes the incident when it succeeds.',
      ],
    });
  });

  it('flags a missing pause image', () => {
    // Act
    const n = render(
      DETAIL_TYPES.nodePruneCompleted,
      pruneCompleted({ report: aPruneReport({ pauseImageIntact: false }) })
    );

    // Assess
    expect(
      (n.chatbot.content as { description: string }).description
    ).toContain('pause image *MISSING*');
    expect(n.text).toContain('Images removed: 7; pause image MISSING');
  });

  it('names the status and the command error when the prune failed', () => {
    // Act
    const n = render(
      DETAIL_TYPES.nodePruneCompleted,
      pruneCompleted({
        status: 'Failed',
        report: null,
        commandError: 'crictl: <nil> *boom*',
      })
    );

    // Assess
    expect(n.subject).toBe(`Prune on ${NODE_NAME} Failed`);
    const content = n.chatbot.content as { description: string };
    expect(content.description).toContain(
      '*Command error:* crictl: &lt;nil&gt; \\*boom\\*'
    );
    expect(content.description).not.toContain('*Disk:*');
    expect(n.text).toContain('Command error: crictl: <nil> *boom*');
  });

  it('says nothing was freed when a successful prune has no report', () => {
    // Act
    const n = render(
      DETAIL_TYPES.nodePruneCompleted,
      pruneCompleted({ report: null })
    );

    // Assess
    expect(n.subject).toBe(`Prune on ${NODE_NAME} freed 0 B`);
  });

  it('renders the proof and the time to recovery when the incident is resolved', () => {
    // Act
    const n = render(DETAIL_TYPES.incidentResolved, resolved);

    // Assess
    expect(n.text).toContain(`Pod: ${SEED_POD.namespace}/${SEED_POD.name}`);
    expect(n.text).toContain(
      `Proof: Pulled: Successfully pulled image "${SEED_IMAGE}"`
    );
    expect(n.text).toContain('Time to recovery: 1m 35s');
    expect(n.chatbot.content).not.toHaveProperty('nextSteps');
    expect(n.text).not.toContain('Next steps:');
  });

  it('says which pod was restarted and when its replacement Started, when that proved the recovery', () => {
    // Act
    const n = render(DETAIL_TYPES.incidentResolved, {
      ...resolved,
      resolvedBy: {
        reason: 'Started',
        pod: { namespace: 'inference', name: 'triton-79569cfbbc-x7k2p' },
        message: 'Started container triton',
      },
      restart: {
        pod: SEED_POD,
        replacement: {
          namespace: 'inference',
          name: 'triton-79569cfbbc-x7k2p',
        },
        startedAfterSeconds: 4,
      },
    });

    // Assess
    expect(n.text).toContain(
      'Restart: inference/triton-79569cfbbc-m2wcc deleted; inference/triton-79569cfbbc-x7k2p Started 4s after'
    );
  });

  describe('the restart of stuck pods', () => {
    const request = {
      cluster: CLUSTER,
      node: NODE,
      dryRun: false,
      incidentId: INCIDENT_ID,
      image: SEED_IMAGE,
      pods: [
        SEED_POD,
        { namespace: 'inference', name: 'vllm-5d9c7b6f4-x2k8q' },
      ],
      after: 'prune' as const,
      maxPods: 1,
      requestedAt: '2026-11-20T09:42:10.000Z',
    };

    it("names the pods and the limit in the incident's thread, and says a dry run deletes nothing", () => {
      // Act
      const live = render(DETAIL_TYPES.podRestartRequested, request);
      const dry = render(DETAIL_TYPES.podRestartRequested, {
        ...request,
        dryRun: true,
        after: 'rollout',
      });

      // Assess
      expect(live.chatbot.metadata).toMatchObject({ threadId: INCIDENT_ID });
      expect(live.text).toContain('Restarting the stuck 2 pods on');
      expect(live.text).toContain(
        'Pods: inference/triton-79569cfbbc-m2wcc, inference/vllm-5d9c7b6f4-x2k8q (the first 1 at most)'
      );
      expect(live.text).toContain('the prune left room');
      expect(dry.text).toContain('[dry-run] Would restart');
      expect(dry.text).toContain('the rollout replaced the node');
      expect(dry.text).toContain('Nothing is deleted');
    });

    it('says what the agent deleted, and what it left alone and why, with the way by hand when it failed', () => {
      // Act
      const restarted = render(DETAIL_TYPES.podRestarted, {
        cluster: CLUSTER,
        node: NODE,
        incidentId: INCIDENT_ID,
        pod: { ...SEED_POD, uid: '7b1e2c3d-4f5a-4b6c-8d7e-9f0a1b2c3d4e' },
        owner: { kind: 'ReplicaSet', name: 'triton-79569cfbbc' },
        deletedAt: '2026-11-20T09:42:11.000Z',
      });
      const skipped = (reason: string) =>
        render(DETAIL_TYPES.podRestartSkipped, {
          cluster: CLUSTER,
          node: NODE,
          incidentId: INCIDENT_ID,
          pod: SEED_POD,
          reason,
          why: 'the API server refused the delete',
        });

      // Assess
      expect(restarted.chatbot.metadata).toMatchObject({
        threadId: INCIDENT_ID,
      });
      expect(restarted.text).toContain(
        'its ReplicaSet triton-79569cfbbc makes a new pod'
      );
      expect(skipped('forbidden').text).toContain(
        'kubectl delete pod -n inference triton-79569cfbbc-m2wcc'
      );
      expect(skipped('bare-pod').text).not.toContain('Next steps:');
      expect(skipped('bare-pod').text).toContain('alone: bare-pod');
    });
  });

  it('escapes the next steps and lists them in the text when the detail is an escalation', () => {
    // Act
    const n = render(
      DETAIL_TYPES.incidentEscalated,
      escalated({
        nextSteps: ['Run *sudo crictl rmi --prune* on <node>'],
        class: 'disk_full',
      })
    );

    // Assess
    expect(n.chatbot.content).toMatchObject({
      nextSteps: ['Run \\*sudo crictl rmi --prune\\* on &lt;node&gt;'],
      keywords: ['pullmedic', 'critical', CLUSTER, 'disk_full'],
    });
    expect(n.attributes.class).toBe('disk_full');
    expect(n.text).toContain(
      'Next steps:\n- Run *sudo crictl rmi --prune* on <node>'
    );
  });

  it('threads an escalation without an incident by cluster and node', () => {
    // Act
    const n = render(
      DETAIL_TYPES.incidentEscalated,
      escalated({ incidentId: undefined, node: { name: NODE_NAME } })
    );

    // Assess
    expect((n.chatbot.metadata as { threadId: string }).threadId).toBe(
      `escalation/${CLUSTER}/${NODE_NAME}`
    );
    expect(n.text).toContain(`Node: ${NODE_NAME} in cluster ${CLUSTER}`);
  });

  // A detail-type reaches the renderers only through its contract; one
  // from outside it is refused, not dressed up as an escalation.
  it('refuses a detail-type outside the contract', () => {
    // Act
    const rendering = () => render('Something New', escalated());

    // Assess
    expect(rendering).toThrow(
      'Something New is not posted to on-call: notify does not handle it'
    );
  });

  it("says the cluster is unknown when the detail doesn't name one", () => {
    // Act
    const { cluster: _cluster, ...detail } = escalated();
    const n = render(DETAIL_TYPES.incidentEscalated, detail);

    // Assess
    expect(n.attributes.cluster).toBe('unknown');
    expect(n.chatbot.metadata).toMatchObject({
      additionalContext: { cluster: 'unknown' },
    });
  });

  it('keeps the notification within the limits of Slack, Chatbot and SNS', () => {
    // Act
    const n = render(
      DETAIL_TYPES.incidentEscalated,
      escalated({
        node: { name: `${'a'.repeat(240)}.ec2.internal` },
        reason: 'r'.repeat(5000),
        nextSteps: ['1', '2', '3', '4', '5', '6', '7'],
        class: 'disk_full',
      })
    );

    // Assess
    const content = n.chatbot.content as {
      title: string;
      description: string;
      nextSteps: string[];
      keywords: string[];
    };
    expect(content.title).toHaveLength(250);
    expect(content.description.length).toBeLessThanOrEqual(2800);
    expect(content.nextSteps).toEqual(['1', '2', '3', '4', '5']);
    expect(content.keywords.length).toBeLessThanOrEqual(5);
    expect(n.subject).toHaveLength(99);
  });
});

describe('Function: slackEscape', () => {
  it("escapes Slack's control characters and the formatting characters", () => {
    // Act
    const text = slackEscape('<!channel> & *bold* _it_ ~del~ `code`');

    // Assess
    expect(text).toBe(
      '&lt;!channel&gt; &amp; \\*bold\\* \\_it\\_ \\~del\\~ \\`code\\`'
    );
  });

  it('cuts the text with an ellipsis when it is longer than the maximum', () => {
    // Act
    const text = slackEscape('a'.repeat(400));

    // Assess
    expect(text).toBe(`${'a'.repeat(299)}…`);
  });

  it('keeps the text whole when it is exactly the maximum', () => {
    // Act
    const text = slackEscape('b'.repeat(10), 10);

    // Assess
    expect(text).toBe('b'.repeat(10));
  });

  it('cuts on one line and never through a character', () => {
    // Act: a newline would break the field; half an emoji shows as '�'.
    const text = slackEscape('pull failed:\n  🐳🐳🐳 *layer*', 16);

    // Assess
    expect(text).toBe('pull failed: 🐳🐳…');
  });
});

describe('Constant: NEXT_STEP_BY_CLASS', () => {
  it('says that pullmedic does not prune when the class is other_no_space', () => {
    // Assess
    expect(NEXT_STEP_BY_CLASS.other_no_space).toContain(
      'pullmedic does not prune for this'
    );
  });

  it('gives every step of an incident the class attribute, so a filter on class gets the whole thread', () => {
    // Act
    const classes = steps.map(
      ([type, detail]) => render(type, detail).attributes.class
    );

    // Assess
    expect(classes).toEqual(steps.map(() => 'disk_full'));
  });

  it("threads a replay's posts apart from the live incident they replay", () => {
    // Prepare
    const [type, detail] = steps[0] as [string, Record<string, unknown>];

    // Act
    const live = render(type, detail);
    const replayed = render(type, {
      ...detail,
      dryRun: true,
      replayName: 'postmortem-20261120',
    });

    // Assess
    const threadOf = (n: typeof live) =>
      (n.chatbot.metadata as { threadId: string }).threadId;
    expect(threadOf(replayed)).toBe(
      `replay/postmortem-20261120/${threadOf(live)}`
    );
    expect(replayed.text).toContain(
      `Incident: replay/postmortem-20261120/${threadOf(live)}`
    );
  });

  it('tells image GC that cannot free enough as a volume to grow, with the bytes', () => {
    // Act
    const n = render(
      DETAIL_TYPES.imagePullFailureClassified,
      aClassifiedDetail({
        class: 'image_gc_failed',
        remedy: 'grow_volume',
        evidence: 'wanted to free',
        gcWantedBytes: 8 * 1024 ** 3,
        gcFreedBytes: 512 * 1024 ** 2,
        pod: undefined,
        image: undefined,
      })
    );

    // Assess
    expect(n.subject).toBe(
      `Image GC on ${NODE_NAME} cannot free enough: grow its volume`
    );
    expect(n.text).toContain(
      'Image GC: wanted to free 8.0 GiB, freed 512.0 MiB'
    );
    expect(n.text).toContain('pullmedic does not prune here');
    expect(n.attributes.class).toBe('image_gc_failed');
    expect(n.chatbot.content).toMatchObject({
      nextSteps: [
        expect.stringContaining('node group (a new launch template version'),
      ],
    });
  });

  it('quotes the kubelet when image GC gave no byte counts', () => {
    // Act
    const n = render(
      DETAIL_TYPES.imagePullFailureClassified,
      aClassifiedDetail({
        class: 'image_gc_failed',
        remedy: 'grow_volume',
        evidence: 'failed to garbage collect required amount of images',
        pod: undefined,
        image: undefined,
      })
    );

    // Assess
    expect(n.text).toMatch(/Kubelet: /);
    expect(n.text).not.toContain('Image GC: wanted');
  });
});
