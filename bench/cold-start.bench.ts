/**
 * What each function bundle costs a cold start: the time to load and
 * evaluate dist/functions/<name>/index.mjs, and the process's RSS after.
 *
 * Run with `npm run bench:cold-start` (it builds the bundles first). Each
 * load is a new Node process, as a Lambda cold start is; the figures leave
 * out what Lambda adds (downloading the package, starting the runtime) and
 * the first invocation's own work (building the SDK clients, TLS).
 *
 * A plain script, not a timed test: CI machines are too noisy to assert a
 * time, and a benchmark that fails at random teaches people to ignore it.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const repoRoot = path.resolve(import.meta.dirname, '..');
const bundles = path.join(repoRoot, 'dist', 'functions');
const LOADS = Number(process.env.BENCH_LOADS ?? 7);

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

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

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

console.log(
  `cold start of each bundle, ${LOADS} loads each (Node ${process.version})`
);
console.log('function        size KiB  load ms (median, min–max)  RSS MiB');
for (const name of names) {
  const file = path.join(bundles, name, 'index.mjs');
  const loads = Array.from({ length: LOADS }, () => loadOnce(file));
  const ms = loads.map((l) => l.loadMs);
  const rss = median(loads.map((l) => l.rssBytes)) / 1024 / 1024;
  const size = statSync(file).size / 1024;
  console.log(
    `${name.padEnd(15)} ${size.toFixed(0).padStart(8)}  ${median(ms).toFixed(0).padStart(7)} (${Math.min(...ms).toFixed(0)}–${Math.max(...ms).toFixed(0)})${' '.repeat(14)}${rss.toFixed(0).padStart(7)}`
  );
}
