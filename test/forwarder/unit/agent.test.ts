import { afterEach, describe, expect, it } from 'vitest';
import type { LivePod } from '../../../core/ports.ts';
import {
  type RunningAgent,
  startAgent,
} from '../../../forwarder/agent/agent.ts';
import { loadAgentConfig } from '../../../forwarder/agent/config.ts';
import type {
  QueueMessage,
  RequestQueue,
} from '../../../forwarder/agent/queue.ts';
import { parseRestartRequest } from '../../../forwarder/agent/request.ts';
import { silentLog } from '../../../forwarder/log.ts';
import { InMemorySink } from '../../../forwarder/sinks/in-memory.ts';
import { FakeClusterPods } from '../../fakes/fake-cluster-pods.ts';

const NODE = 'ip-10-0-1-149.ec2.internal';
const IMAGE = 'registry.local/triton:resnet50';
const UID = '5f1c2a9e-8d4b-4e0f-9a63-2b7c1d0e4f18';

/** A queue in memory: what it holds, what was deleted and dead-lettered. */
class FakeQueue implements RequestQueue {
  messages: QueueMessage[] = [];
  deleted: string[] = [];
  deadLettered: { id: string; reason: string }[] = [];
  #next = 0;

  add(body: string): string {
    const id = `m-${++this.#next}`;
    this.messages.push({ id, receiptHandle: id, body, receiveCount: 1 });
    return id;
  }

  async receive(signal: AbortSignal): Promise<QueueMessage[]> {
    const out = this.messages.splice(0, 10);
    if (out.length === 0) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, 20);
        signal.addEventListener('abort', () => {
          clearTimeout(t);
          r();
        });
      });
    }
    return out;
  }

  async delete(m: QueueMessage): Promise<void> {
    this.deleted.push(m.id);
  }

  async deadLetter(m: QueueMessage, reason: string): Promise<boolean> {
    this.deadLettered.push({ id: m.id, reason });
    return true;
  }

  /** Hands a message back, as SQS does after the visibility timeout. */
  redeliver(id: string, body: string): void {
    this.messages.push({ id, receiptHandle: `${id}-2`, body, receiveCount: 2 });
  }
}

const stuckPod = (over: Partial<LivePod> = {}): LivePod => ({
  namespace: 'inference',
  name: 'triton-79569cfbbc-m2wcc',
  uid: UID,
  nodeName: NODE,
  owners: [
    {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      name: 'triton-79569cfbbc',
      controller: true,
    },
  ],
  containers: [
    {
      name: 'triton',
      init: false,
      image: IMAGE,
      waiting: {
        reason: 'ImagePullBackOff',
        message: `Back-off pulling image "${IMAGE}": ErrImagePull: write /var/lib/containerd/x: no space left on device`,
      },
    },
  ],
  ...over,
});

const request = (detail: Record<string, unknown> = {}, envelope = {}) =>
  JSON.stringify({
    version: '0',
    id: 'ev-1',
    'detail-type': 'Pod Restart Requested',
    source: 'pullmedic',
    time: '2026-11-20T09:45:00Z',
    resources: [],
    detail: {
      cluster: 'gpu-inference',
      node: { name: NODE },
      dryRun: false,
      incidentId: `gpu-inference/${NODE}/20261120T094059Z`,
      image: IMAGE,
      pods: [
        { namespace: 'inference', name: 'triton-79569cfbbc-m2wcc', uid: UID },
      ],
      after: 'prune',
      maxPods: 5,
      requestedAt: '2026-11-20T09:45:00Z',
      ...detail,
    },
    ...envelope,
  });

const until = async (done: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('Function: startAgent (with fakes)', () => {
  let agent: RunningAgent | undefined;
  const pods = new FakeClusterPods();
  const queue = new FakeQueue();
  // A new one each test: stopping the agent closes its sink.
  let sink = new InMemorySink();

  const start = async (env: Record<string, string> = {}) => {
    agent = await startAgent(
      loadAgentConfig(['--host=127.0.0.1', '--port=0'], {
        CLUSTER_NAME: 'gpu-inference',
        QUEUE_URL: 'http://127.0.0.1:1/queue/agent',
        EVENT_BUS_NAME: 'pullmedic',
        SWEEP_INTERVAL_SECONDS: '0',
        ...env,
      }),
      { pods, queue, sink, log: silentLog }
    );
    return agent;
  };

  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
    pods.reset();
    sink = new InMemorySink();
    queue.messages = [];
    queue.deleted = [];
    queue.deadLettered = [];
  });

  it('restarts the pod, puts Pod Restarted on the bus as pullmedic.agent, then deletes the message', async () => {
    // Prepare
    pods.addPod(stuckPod());
    const id = queue.add(request());

    // Act
    const running = await start();
    await until(() => queue.deleted.includes(id));

    // Assess
    expect(pods.deleted).toEqual([`inference/triton-79569cfbbc-m2wcc@${UID}`]);
    expect(
      sink.events.map((e) => [e.entry.Source, e.entry.DetailType])
    ).toEqual([['pullmedic.agent', 'Pod Restarted']]);
    expect(running.metrics.restarts.get({ outcome: 'restarted' })).toBe(1);
    expect(running.metrics.requests.get({ outcome: 'done' })).toBe(1);
  });

  it('dead-letters a message that is not a restart request, with the reason', async () => {
    // Prepare
    pods.addPod(stuckPod());
    queue.add('{"not json');
    queue.add(
      request({ pods: [{ namespace: 'inference', name: 'x;reboot' }] })
    );
    queue.add(request({}, { source: 'pullmedic.agent' }));
    queue.add(request({ cluster: 'other-cluster' }));

    // Act
    const running = await start();
    await until(() => queue.deadLettered.length === 4);

    // Assess
    expect(queue.deadLettered.map((d) => d.reason)).toEqual([
      expect.stringMatching(/^the message is not JSON/),
      expect.stringMatching(
        /^the message is not a Pod Restart Requested envelope: detail\.pods\.0\.name: object name must be/
      ),
      'source "pullmedic.agent" is not pullmedic: only the pipeline requests restarts',
      "the request is for cluster other-cluster, and this agent serves gpu-inference: each cluster's agent needs its own queue",
    ]);
    expect(pods.calls.deletePod).toEqual([]);
    expect(running.metrics.requests.get({ outcome: 'malformed' })).toBe(3);
  });

  it('keeps a message whose events did not reach the bus, and on its return sends them without acting again', async () => {
    // Prepare
    pods.addPod(stuckPod());
    sink.failNext(1, 'ThrottlingException');
    const body = request();
    const id = queue.add(body);

    // Act
    const running = await start();
    await until(
      () => running.metrics.requests.get({ outcome: 'unpublished' }) === 1
    );
    const deletedBefore = [...queue.deleted];
    queue.redeliver(id, body);
    await until(() => queue.deleted.includes(id));

    // Assess
    expect(deletedBefore).toEqual([]);
    expect(pods.calls.deletePod).toHaveLength(1);
    expect(pods.calls.getPod).toHaveLength(1);
    expect(sink.events.map((e) => e.entry.DetailType)).toEqual([
      'Pod Restarted',
    ]);
  });

  it('sweeps: reports a stuck pull once per quiet period, as a Kubernetes Event found by the sweep', async () => {
    // Prepare
    pods.addPod(stuckPod({ owners: [] }));
    const running = await start();

    // Act
    const first = await running.sweepNow();
    const second = await running.sweepNow();

    // Assess
    expect(first).toEqual({ stuck: 1, reported: 1, failed: 0 });
    expect(second).toEqual({ stuck: 1, reported: 0, failed: 0 });
    const [entry] = sink.events;
    expect(entry?.entry.Source).toBe('pullmedic.agent');
    expect(entry?.entry.DetailType).toBe('Kubernetes Event');
    expect(JSON.parse(entry?.entry.Detail ?? '{}')).toMatchObject({
      foundBy: 'sweep',
      event: {
        reason: 'Failed',
        message: `Failed to pull image "${IMAGE}": write /var/lib/containerd/x: no space left on device`,
      },
    });
  });

  it('reports again at the next sweep an entry the bus did not take', async () => {
    // Prepare
    pods.addPod(stuckPod());
    sink.failNext(1, 'ThrottlingException');
    const running = await start();

    // Act
    const first = await running.sweepNow();
    const second = await running.sweepNow();

    // Assess
    expect(first).toEqual({ stuck: 1, reported: 0, failed: 1 });
    expect(second).toEqual({ stuck: 1, reported: 1, failed: 0 });
  });

  it('sweeps on its own every interval, and a failed sweep does not stop the next', async () => {
    // Prepare
    pods.addPod(stuckPod());
    pods.failNext('listPods', 500);

    // Act
    const running = await start({ SWEEP_INTERVAL_SECONDS: '1' });
    await until(() => running.metrics.sweeps.get({ outcome: 'ok' }) >= 1, 5000);

    // Assess
    expect(running.metrics.sweeps.get({ outcome: 'error' })).toBe(1);
    expect(sink.events).toHaveLength(1);
  });

  it('serves health, readiness and metrics, and stops cleanly', async () => {
    // Prepare
    const running = await start();
    const get = (path: string) =>
      fetch(`http://127.0.0.1:${running.port}${path}`).then(async (r) => [
        r.status,
        await r.text(),
      ]);

    // Act
    const ready = await get('/readyz');
    const health = await get('/healthz');
    const metrics = await get('/metrics');
    await running.stop();

    // Assess
    expect(ready).toEqual([200, 'running\n']);
    expect(health).toEqual([200, 'ok\n']);
    expect(metrics[1]).toContain('pullmedic_agent_requests_total');
    expect(running.state).toBe('stopped');
    await expect(running.exited).resolves.toBe(0);
  });
});

describe('Function: parseRestartRequest', () => {
  it('marks a replayed request as the replay, so it never deletes', () => {
    // Act
    const parsed = parseRestartRequest(
      request({}, { 'replay-name': 'pullmedic-live-2026' })
    );

    // Assess
    expect(parsed).toMatchObject({
      ok: true,
      detail: { replayName: 'pullmedic-live-2026' },
    });
  });

  it('refuses another detail-type, and more than 50 pods', () => {
    // Act
    const other = parseRestartRequest(
      request({}, { 'detail-type': 'Pod Restarted' })
    );
    const many = parseRestartRequest(
      request({
        pods: Array.from({ length: 51 }, (_, i) => ({
          namespace: 'a',
          name: `p-${i}`,
        })),
      })
    );

    // Assess
    expect(other).toEqual({
      ok: false,
      reason: 'detail-type "Pod Restarted" is not Pod Restart Requested',
    });
    expect(many).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/detail\.pods: Too big/),
    });
  });
});
