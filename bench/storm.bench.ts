/**
 * A storm through the local runtime: 3 GPU nodes of one managed node group
 * run out of disk at once, 40 pods each, and every pod fails again every
 * ten seconds (the kubelet's Failed, ErrImagePull and BackOff, five times
 * over): 1,800 Kubernetes events. The whole pipeline runs on them, as in
 * `pullmedic local`: the forwarder's transform, the bus and its rules on
 * moto, every function, the SSM agent and kubelet stand-ins, until the
 * pipeline is quiet.
 *
 * Run with `npm run bench:storm` (BENCH_RUNS=n for more runs). Reports the
 * wall time, events per second and what the pipeline did. Goal: the
 * storm ends in under a minute. A plain script, not a timed test.
 */
import { DEFAULT_FLEET, FleetFile } from '../cli/local/fleet.ts';
import type { InputItem } from '../cli/local/input.ts';
import { runLocal } from '../cli/local/runner.ts';
import { DETAIL_TYPES } from '../events/detail-types.ts';

const NODES = ['ip-10-0-1-149', 'ip-10-0-2-37', 'ip-10-0-3-88'].map(
  (n) => `${n}.ec2.internal`
);
const PODS = Number(process.env.BENCH_PODS ?? 40);
const CYCLES = Number(process.env.BENCH_CYCLES ?? 5);
const IMAGE = '478253497479.dkr.ecr.us-east-1.amazonaws.com/triton:resnet50';
const RUNS = Number(process.env.BENCH_RUNS ?? 1);

/** The three kubelet events of one failed pull, as core/v1 Events. */
export function stormEvents(start: number): InputItem[] {
  const items: { event: Record<string, unknown> }[] = [];
  let version = 1_000_000;
  for (const [n, node] of NODES.entries()) {
    for (let p = 0; p < PODS; p++) {
      const pod = `triton-${n}-${String(p).padStart(2, '0')}`;
      for (let c = 0; c < CYCLES; c++) {
        const at = new Date(start + c * 10_000 + p * 50).toISOString();
        const first = new Date(start + p * 50).toISOString();
        const event = (
          suffix: string,
          reason: string,
          type: string,
          message: string
        ) => ({
          apiVersion: 'v1',
          kind: 'Event',
          metadata: {
            // The kubelet aggregates a repeat into the same Event: one
            // name per pod and message, its count going up.
            name: `${pod}.${suffix}`,
            namespace: 'inference',
            uid: `storm-${pod}-${suffix}`,
            resourceVersion: String(version++),
          },
          involvedObject: {
            kind: 'Pod',
            namespace: 'inference',
            name: pod,
            uid: `uid-${pod}`,
            apiVersion: 'v1',
            fieldPath: 'spec.containers{triton}',
          },
          reason,
          message,
          type,
          count: c + 1,
          firstTimestamp: first,
          lastTimestamp: at,
          source: { component: 'kubelet', host: node },
          reportingComponent: 'kubelet',
          reportingInstance: node,
        });
        items.push(
          {
            event: event(
              'failed',
              'Failed',
              'Warning',
              `Failed to pull image "${IMAGE}": failed to pull and unpack image "${IMAGE}": failed to extract layer sha256:9f1c6d7e2b3a4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5: write /var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/${100 + p}/fs/opt/tritonserver/lib/libtritonserver.so: no space left on device: unknown`
            ),
          },
          {
            event: event(
              'errimagepull',
              'Failed',
              'Warning',
              'Error: ErrImagePull'
            ),
          },
          {
            event: event(
              'backoff',
              'BackOff',
              'Normal',
              `Back-off pulling image "${IMAGE}"`
            ),
          }
        );
      }
    }
  }
  return items.map((item, i) => ({ line: i + 1, ...item }));
}

export const fleet = FleetFile.parse({
  ...DEFAULT_FLEET,
  nodes: NODES.map((name) => ({
    ...DEFAULT_FLEET.nodes[0],
    name,
  })),
});

const count = (types: string[], type: string) =>
  types.filter((t) => t === type).length;

for (let run = 1; run <= (process.env.BENCH_WRITE ? 0 : RUNS); run++) {
  const items = stormEvents(Date.now() - 60_000);
  const started = performance.now();
  const result = await runLocal({ items, fleet, node: 'simulated' });
  const seconds = (performance.now() - started) / 1000;
  const types = result.busEvents.map((e) => e['detail-type']);
  console.log(
    JSON.stringify({
      run,
      events: items.length,
      seconds: Number(seconds.toFixed(1)),
      eventsPerSecond: Math.round(items.length / seconds),
      busEvents: result.busEvents.length,
      incidentsOpened: count(types, DETAIL_TYPES.incidentOpened),
      prunes: count(types, DETAIL_TYPES.nodePruneRequested),
      rollsStarted: count(types, DETAIL_TYPES.volumeRollStarted),
      resolved: count(types, DETAIL_TYPES.incidentResolved),
      escalated: count(types, DETAIL_TYPES.incidentEscalated),
      notifications: result.notifications.length,
      deadLetters: result.deadLetters.length,
      reconcilerPasses: result.reconcilerPasses,
      awsCalls: result.callSites.length,
    })
  );
  if (process.env.BENCH_CALLS) {
    const byCall = new Map<string, number>();
    for (const c of result.callSites) {
      const key = `${c.fn} ${c.action}`;
      byCall.set(key, (byCall.get(key) ?? 0) + 1);
    }
    console.log([...byCall].sort((a, b) => b[1] - a[1]));
  }
}

if (process.env.BENCH_WRITE) {
  const { writeFileSync } = await import('node:fs');
  writeFileSync(
    `${process.env.BENCH_WRITE}.jsonl`,
    stormEvents(Date.now() - 60_000)
      .map((i) => JSON.stringify('event' in i ? i.event : {}))
      .join('\n')
  );
  writeFileSync(`${process.env.BENCH_WRITE}-fleet.json`, JSON.stringify(fleet));
}
