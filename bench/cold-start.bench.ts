/**
 * What each function bundle costs a cold start: the time to load and
 * evaluate dist/functions/<name>/index.mjs, and the process's RSS after,
 * beside its floor: a bare middy + Powertools handler importing the same
 * SDK clients and commands (scripts/build-floors.mjs, built into a
 * temporary directory). The ratio of the two medians is what the
 * function's own code and its other dependencies add; the goal is 1.2 at
 * most.
 *
 * Run with `npm run bench:cold-start` (it builds the bundles first;
 * `BENCH_LOADS=<n>` loads each side n times, 15 by default). Each
 * load is a new Node process, as a Lambda cold start is; the figures leave
 * out what Lambda adds (downloading the package, starting the runtime) and
 * the first invocation's own work (building the SDK clients, TLS, and
 * the schema of each detail-type it reads: events/schemas.ts).
 *
 * A plain script, not a timed test: CI machines are too noisy to assert a
 * time, and a benchmark that fails at random teaches people to ignore it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';

const repoRoot = path.resolve(import.meta.dirname, '..');
const bundles = path.join(repoRoot, 'dist', 'functions');
const LOADS = Number(process.env.BENCH_LOADS ?? 15);

// Runs in the child: loads the bundle once and reports in one JSON line.
const probe = `
const started = performance.now();
await import(process.argv[1]);
const loadMs = performance.now() - started;
console.log(JSON.stringify({ loadMs, rssBytes: process.memoryUsage().rss }));
`;

interface Load {
  loadMs: number;
  rssBytes: number;
}

function loadOnce(file: string): Load {
  const out = execFileSync(
    process.execPath,
    ['--input-type=module', '-e', probe, file],
    { encoding: 'utf8', env: { ...process.env, NODE_NO_WARNINGS: '1' } }
  );
  return JSON.parse(out.trim().split('\n').at(-1) as string) as Load;
}

/** The value below which a share q of the values lie (nearest rank). */
const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[
    Math.min(sorted.length - 1, Math.floor(q * sorted.length))
  ] as number;
};

const median = (values: number[]) => quantile(values, 0.5);

const names = readdirSync(bundles).filter((name) =>
  statSync(path.join(bundles, name, 'index.mjs'), {
    throwIfNoEntry: false,
  })?.isFile()
);
if (names.length === 0) {
  console.error(
    `no bundles in ${bundles}: run node scripts/build-functions.mjs first`
  );
  process.exit(1);
}

// The floors: never in dist/functions, which serverless.yml packages.
const floors = mkdtempSync(path.join(tmpdir(), 'pullmedic-floors-'));
try {
  execFileSync(
    process.execPath,
    [
      path.join(repoRoot, 'scripts', 'build-floors.mjs'),
      '--out',
      floors,
      '--from',
      bundles,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] }
  );
  report(floors);
} finally {
  rmSync(floors, { recursive: true, force: true });
}

function report(floorRoot: string) {
  console.log(
    `cold start of each bundle beside its floor, ${LOADS} loads each ` +
      `(Node ${process.version}, load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')})`
  );
  console.log(
    'function        size KiB  load ms (median, min–max)  RSS MiB' +
      '  floor KiB  floor ms (median, min–max)  ratio  pairs p25–p75'
  );
  const ratios: number[] = [];
  for (const name of names) {
    const file = path.join(bundles, name, 'index.mjs');
    const floorFile = path.join(floorRoot, name, 'index.mjs');
    // Interleaved, so a burst of load on a shared machine falls on both,
    // and each goes first in every other pair, so neither always starts
    // right after the other.
    const loads: Load[] = [];
    const floorLoads: Load[] = [];
    for (let i = 0; i < LOADS; i++) {
      if (i % 2 === 0) {
        loads.push(loadOnce(file));
        floorLoads.push(loadOnce(floorFile));
      } else {
        floorLoads.push(loadOnce(floorFile));
        loads.push(loadOnce(file));
      }
    }
    const ms = loads.map((l) => l.loadMs);
    const floorMs = floorLoads.map((l) => l.loadMs);
    const rss = median(loads.map((l) => l.rssBytes)) / 1024 / 1024;
    const size = statSync(file).size / 1024;
    const floorSize = statSync(floorFile).size / 1024;
    const ratio = median(ms) / median(floorMs);
    ratios.push(ratio);
    // How noisy the machine was: the spread of each pair's own ratio.
    const pairs = ms.map((m, i) => m / (floorMs[i] as number));
    console.log(
      `${name.padEnd(15)} ${size.toFixed(0).padStart(8)}  ${median(ms).toFixed(0).padStart(7)} (${Math.min(...ms).toFixed(0)}–${Math.max(...ms).toFixed(0)})${' '.repeat(14)}${rss.toFixed(0).padStart(7)}` +
        `  ${floorSize.toFixed(0).padStart(9)}  ${median(floorMs).toFixed(0).padStart(8)} (${Math.min(...floorMs).toFixed(0)}–${Math.max(...floorMs).toFixed(0)})${' '.repeat(14)}${ratio.toFixed(2).padStart(5)}  ${quantile(pairs, 0.25).toFixed(2)}–${quantile(pairs, 0.75).toFixed(2)}`
    );
  }
  const over = names.filter((_, i) => (ratios[i] as number) > 1.2);
  console.log(
    over.length === 0
      ? 'every function within 1.2 of its floor'
      : `above 1.2 of the floor: ${over.join(', ')}`
  );
}
