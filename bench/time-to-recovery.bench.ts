/**
 * Time to recovery of the seed incident: from the kubelet's first Failed
 * event to the Started event of the pod (or of the pod its controller made
 * in its place), through the whole local runtime: the forwarder's
 * transform, the bus and its rules on moto, every function, the SSM agent
 * stand-in's prune, the cluster agent stand-in, and the kubelet stand-in.
 *
 * Two ways, each with the failure arriving at several points of the
 * kubelet's back-off (the seed's Failed event says it is the pod's n-th
 * failed attempt, so the kubelet's next try is 10·2^(n-1) s later, at most
 * 300 s):
 * - `restart`: the pipeline asks the cluster agent to restart the pod once
 *   the prune left room (the default);
 * - `kubelet`: PULLMEDIC_MAX_POD_RESTARTS=0, the pod waits for the
 *   kubelet's own next try.
 *
 * The seed node is the containerd lab where it runs (BENCH_NODE=auto, the
 * default: root and the lab installed; the pull is a real pull from the
 * local registry), simulated otherwise (an instant pull); the report says
 * which. The kubelet stand-in keeps the real back-off in the events' time.
 * Run with `npm run bench:ttr` (BENCH_RUNS=n per point, default 3). Goal: the seed
 * pod Started within 60 s of its first Failed event, worst case, with the
 * restart. A plain script, not a timed test.
 */
import { DEFAULT_FLEET } from '../cli/local/fleet.ts';
import { type InputItem, readEvents } from '../cli/local/input.ts';
import { type LocalRunResult, LocalSession } from '../cli/local/runner.ts';
import { DETAIL_TYPES } from '../events/detail-types.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const ATTEMPTS = [1, 2, 3, 4, 5, 6, 8];
const POD = 'triton-79569cfbbc-';

/**
 * The seed incident with its Failed event as the pod's n-th failed
 * attempt; the kubelet's next try (the seed's last event) is left out, so
 * the back-off runs from that Failed event.
 */
async function seedAt(attempts: number): Promise<InputItem[]> {
  const items = await readEvents('events/samples/seed-incident.jsonl');
  return items
    .filter(
      (i) =>
        !('event' in i) ||
        !(
          i.event.reason === 'Pulling' &&
          String(i.event.message).includes('triton')
        )
    )
    .map((i) =>
      'event' in i && String(i.event.message).startsWith('Failed to pull image')
        ? { ...i, event: { ...i.event, count: attempts } }
        : i
    );
}

/** Seconds from the first Failed pull to the Started of the pod or its replacement. */
function timeToRecovery(result: LocalRunResult): number | undefined {
  const kubelet = result.busEvents
    .filter((e) => e['detail-type'] === DETAIL_TYPES.kubernetesEvent)
    .map((e) => e.detail.event as Record<string, unknown>);
  const at = (e: Record<string, unknown>) =>
    Date.parse(String(e.lastTimestamp ?? e.eventTime));
  const failed = kubelet
    .filter((e) => String(e.message).startsWith('Failed to pull image'))
    .map(at);
  if (!failed.length) return undefined;
  const firstFailed = Math.min(...failed);
  // The triton container's Started after the failure (the init
  // container started before it).
  const started = kubelet
    .filter(
      (e) =>
        e.reason === 'Started' &&
        String((e.involvedObject as { name?: string }).name).startsWith(POD) &&
        at(e) >= firstFailed
    )
    .map(at);
  if (!started.length) return undefined;
  return (Math.min(...started) - firstFailed) / 1000;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2
    ? (s[m] as number)
    : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

// `auto`: the containerd lab for the seed node where it runs (root, the
// lab installed), simulated otherwise; the report says which.
const NODE = (process.env.BENCH_NODE ?? 'auto') as 'auto' | 'lab' | 'simulated';
const session = await LocalSession.start({
  fleet: DEFAULT_FLEET,
  node: NODE,
  verbose: false,
  deferRules: false,
  progress: () => {},
});
const rows: { way: string; attempts: number; seconds: number[] }[] = [];
const nodeKind = session.localNodes[0]?.kind ?? 'unknown';
process.stderr.write(`the seed node runs on: ${nodeKind}\n`);
try {
  for (const way of ['restart', 'kubelet'] as const) {
    for (const attempts of ATTEMPTS) {
      const seconds: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        await session.reset();
        const result = await session.run({
          items: await seedAt(attempts),
          ...(way === 'kubelet'
            ? { settings: { PULLMEDIC_MAX_POD_RESTARTS: '0' } }
            : {}),
        });
        const ttr = timeToRecovery(result);
        if (ttr === undefined) {
          throw new Error(
            `${way}, failure ${attempts}: the pod never Started (run ${run + 1})`
          );
        }
        seconds.push(ttr);
      }
      rows.push({ way, attempts, seconds });
      process.stderr.write(
        `${way.padEnd(8)} failure ${attempts}: ${seconds.map((s) => s.toFixed(1)).join(', ')} s\n`
      );
    }
  }
} finally {
  await session.stopNodes();
  await session.moto.stop();
}

console.log(
  `\nTime from the first Failed event to the pod's Started (seed incident, node: ${nodeKind}, ${RUNS} runs per point)\n`
);
console.log('| way | failure n (back-off after it) | median | worst |');
console.log('| --- | --- | --- | --- |');
for (const r of rows) {
  const backoff = Math.min(10 * 2 ** (r.attempts - 1), 300);
  console.log(
    `| ${r.way} | ${r.attempts} (${backoff} s) | ${median(r.seconds).toFixed(1)} s | ${Math.max(...r.seconds).toFixed(1)} s |`
  );
}
for (const way of ['restart', 'kubelet']) {
  const all = rows.filter((r) => r.way === way).flatMap((r) => r.seconds);
  console.log(
    `\n${way}: over every point, median ${median(all).toFixed(1)} s, worst ${Math.max(...all).toFixed(1)} s`
  );
}
