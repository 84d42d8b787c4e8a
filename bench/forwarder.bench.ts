/**
 * The forwarder under a burst of 100,000 Kubernetes events.
 *
 * Run with `node bench/forwarder.bench.ts` (Node ≥ 22.18 strips the types).
 * Each scenario runs in its own child process so that its peak RSS is its
 * own:
 *
 * - `local`: the forwarder's real path (dedupe, bounded queue, transform
 *   with node enrichment, EventBridgeSink batching) to an in-process
 *   PutEvents client that accepts every entry: the forwarder's own cost.
 * - `moto`: the same to moto's EventBridge over HTTP with the real SDK.
 * - `exporter`: for comparison, the same to moto one entry a call, one
 *   call at a time, as kubernetes-event-exporter's EventBridge sink does
 *   (10,000 events: at its pace 100,000 take minutes).
 * - `storm`: all 100,000 pushed at once, faster than any sink drains,
 *   with the default queue of 10,000: memory stays bounded, and what is
 *   shed is counted, least useful first.
 *
 * The scenarios run the bundle the image runs (esbuild, as
 * forwarder/build.mjs makes it, into .cache/bench/), so peak RSS is the
 * deployed process's and not the TypeScript loader's; BENCH_BUNDLE=0 runs
 * the sources instead.
 *
 * The events arrive as JSON lines parsed one at a time, as the watch
 * stream delivers them; `local` and `moto` feed while the queue is under
 * half full (a watch stream's pace is the API server's, not an instant),
 * `storm` does not wait. A script, not a timed test: CI machines are too
 * noisy to assert a rate.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  type PutEventsCommand,
  type PutEventsCommandOutput,
} from '@aws-sdk/client-eventbridge';
import { startMoto } from '../cli/local/moto.ts';
import { Forwarder } from '../forwarder/forwarder.ts';
import { silentLog } from '../forwarder/log.ts';
import { ForwarderMetrics } from '../forwarder/metrics.ts';
import { EventBridgeSink } from '../forwarder/sinks/eventbridge.ts';
import type { NodeInfo } from '../forwarder/transform.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 100_000);
const NODES = 200;
const REASONS = [
  ['Warning', 'Failed'],
  ['Warning', 'Failed'],
  ['Normal', 'BackOff'],
  ['Normal', 'Pulled'],
  ['Warning', 'FailedScheduling'],
] as const;

type Scenario = 'local' | 'moto' | 'exporter' | 'storm';

interface Result {
  scenario: Scenario;
  events: number;
  forwarded: number;
  shed: number;
  shedByClass: string;
  failed: number;
  putCalls: number;
  seconds: number;
  peakRssMb: number;
  node: string;
}

/** One watch notification's line, as the API server would send it. */
function eventLine(i: number, at: string): string {
  const [type, reason] = REASONS[i % REASONS.length] as readonly [
    string,
    string,
  ];
  const node = `ip-10-0-${(i % NODES) >> 8}-${i % 256}.ec2.internal`;
  return JSON.stringify({
    metadata: {
      name: `web-${i}.18c2f0a1b2c3d4e5`,
      namespace: 'default',
      uid: `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
      resourceVersion: String(1000 + i),
      creationTimestamp: at,
    },
    involvedObject: {
      kind: 'Pod',
      namespace: 'default',
      name: `web-${i}`,
      uid: `pod-${i}`,
      apiVersion: 'v1',
      fieldPath: 'spec.containers{app}',
    },
    reason,
    message: `Failed to pull image "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:${i}": failed to extract layer sha256:${i.toString(16).padStart(64, '0')}: write /var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/${i}/fs/usr/lib/libfoo.so: no space left on device`,
    source: { component: 'kubelet', host: node },
    firstTimestamp: at,
    lastTimestamp: at,
    count: 1,
    type,
    eventTime: null,
    reportingComponent: 'kubelet',
    reportingInstance: node,
  });
}

// An EventBridge that accepts everything at once: the forwarder's own cost.
class LocalEventBus {
  calls = 0;
  async send(command: PutEventsCommand): Promise<PutEventsCommandOutput> {
    this.calls += 1;
    const entries = command.input.Entries ?? [];
    return {
      $metadata: {},
      FailedEntryCount: 0,
      Entries: entries.map((_, i) => ({ EventId: `${this.calls}-${i}` })),
    };
  }
}

async function runScenario(scenario: Scenario): Promise<Result> {
  const events = scenario === 'exporter' ? Math.min(EVENTS, 10_000) : EVENTS;
  const metrics = new ForwarderMetrics();
  const nodes = new Map<string, NodeInfo>();
  for (let n = 0; n < NODES; n++) {
    const id = (0xabc000000 + n).toString(16).padStart(17, '0');
    nodes.set(`ip-10-0-${n >> 8}-${n % 256}.ec2.internal`, {
      providerID: `aws:///us-east-1a/i-${id}`,
    });
  }
  let stop = async () => {};
  let client: { send: LocalEventBus['send'] } = new LocalEventBus();
  if (scenario === 'moto' || scenario === 'exporter') {
    const moto = await startMoto();
    const sdk = new EventBridgeClient({
      endpoint: moto.endpoint,
      region: 'us-east-1',
      maxAttempts: 1,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    await sdk.send(new CreateEventBusCommand({ Name: 'pullmedic' }));
    client = sdk;
    stop = async () => {
      sdk.destroy();
      await moto.stop();
    };
  }
  const exporter = scenario === 'exporter';
  const sink = new EventBridgeSink(client, {
    flushMs: 200,
    concurrency: exporter ? 1 : 4,
    batchSize: exporter ? 1 : 10,
    metrics,
  });
  const capacity = 10_000; // The default --queue-capacity.
  const forwarder = new Forwarder({
    cluster: 'bench',
    busName: 'pullmedic',
    sink,
    metrics,
    log: silentLog,
    nodes,
    api: 'core',
    maxAgeSeconds: 600,
    queueCapacity: capacity,
    maxInFlight: 200,
    checkpointKeys: 5000,
  });
  const handler = forwarder.handlerFor('type=Warning');
  const at = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const started = performance.now();
  for (let i = 0; i < events; i++) {
    handler.onEvent(JSON.parse(eventLine(i, at)), String(1000 + i), 'watch');
    if (scenario !== 'storm' && forwarder.queued > capacity / 2) {
      while (forwarder.queued > capacity / 4) {
        await new Promise((r) => setTimeout(r, 1));
      }
    }
    // A watch stream hands over a chunk at a time; the storm does not.
    if (scenario !== 'storm' && i % 1000 === 999) {
      await new Promise((r) => setImmediate(r));
    }
  }
  await forwarder.drain(600_000);
  const seconds = (performance.now() - started) / 1000;
  await stop();
  return {
    scenario,
    events,
    forwarded: metrics.forwarded.total(),
    shed: metrics.shed.total(),
    shedByClass: ['normal', 'warning', 'pipeline']
      .map((priority) => `${priority} ${metrics.shed.get({ priority })}`)
      .join(', '),
    failed: metrics.failed.total(),
    putCalls: metrics.putCalls.total(),
    seconds,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    node: process.version,
  };
}

const child = process.argv[2] as Scenario | undefined;
if (child) {
  const result = await runScenario(child);
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  const scenarios = (
    process.env.BENCH_SCENARIOS ?? 'local,moto,exporter,storm'
  ).split(',') as Scenario[];
  const cpu = execFileSync('sh', [
    '-c',
    "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2",
  ])
    .toString()
    .trim();
  // The flags infra/k8s/deployment.yaml runs the forwarder with.
  const nodeFlags = (
    process.env.BENCH_NODE_OPTIONS ??
    '--max-old-space-size=96 --max-semi-space-size=2'
  )
    .split(' ')
    .filter(Boolean);
  let script = import.meta.filename;
  if (process.env.BENCH_BUNDLE !== '0') {
    // Two folders deep, like bench/, so the bundled cli/local/moto.ts
    // still finds the repository root from its own location.
    script = resolve(import.meta.dirname, '../.cache/bench/forwarder.mjs');
    execFileSync(process.execPath, [
      resolve(import.meta.dirname, '../forwarder/build.mjs'),
      `--entry=${import.meta.filename}`,
      `--outfile=${script}`,
    ]);
  }
  console.log(
    `forwarder benchmark: ${EVENTS} events, ${cpu}, ${process.version}, ${nodeFlags.join(' ')}`
  );
  console.log(
    '| scenario | events | events/s | forwarded | shed | PutEvents calls/event | peak RSS |'
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const scenario of scenarios) {
    const run = spawnSync(process.execPath, [...nodeFlags, script, scenario], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    });
    if (run.status !== 0) {
      console.error(run.stderr);
      process.exitCode = 1;
      continue;
    }
    const r = JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as Result;
    const perCall = r.forwarded ? r.putCalls / r.forwarded : 0;
    console.log(
      `| ${r.scenario} | ${r.events.toLocaleString('en-US')} | ${Math.round(r.events / r.seconds).toLocaleString('en-US')} | ${r.forwarded.toLocaleString('en-US')} | ${r.shed.toLocaleString('en-US')} | ${perCall.toFixed(3)} | ${r.peakRssMb.toFixed(0)} MB |`
    );
    if (r.failed) console.log(`  (${r.failed} failed)`);
    if (r.shed) console.log(`  (shed by class: ${r.shedByClass})`);
  }
}
