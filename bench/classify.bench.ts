/**
 * Throughput of the pure classifier on one core.
 *
 * Run with `node bench/classify.bench.ts` (Node ≥ 22.18 strips the types);
 * pin it with `taskset -c 0 node bench/classify.bench.ts` for steadier
 * numbers. The workload is the labelled corpora (the shared one and the
 * lines this repository added, or `PULLMEDIC_CORPUS`), cycled, so the mix of
 * classes and lengths is the real one; a second pass adds adversarial
 * inputs (64 KiB messages, backtracking bait) to show the scan cap holds.
 *
 * A plain script, not a timed test: CI machines are too noisy to assert a
 * rate, and a benchmark that fails at random teaches people to ignore it.
 */
import { classify } from '../core/classification/classify.ts';
import type { ClassifierInput } from '../core/classification/types.ts';
import { loadCorpora } from '../test/helpers/corpus.ts';

const REPEATS = Number(process.env.BENCH_REPEATS ?? 9);
const MESSAGES_PER_REPEAT = Number(process.env.BENCH_MESSAGES ?? 300_000);

/** Every corpus file (the shared one first), as the classifier reads them. */
function loadCorpus(): ClassifierInput[] {
  return loadCorpora().flatMap(({ rows }) =>
    rows.map(({ message, reason }) => ({ message, reason }))
  );
}

function adversarial(): ClassifierInput[] {
  const colonRun = ': '.repeat(32 * 1024);
  return [
    { message: 'x'.repeat(64 * 1024), reason: 'Failed' },
    { message: `Failed to pull image "${'a'.repeat(60_000)}"`, reason: null },
    { message: colonRun, reason: null },
    { message: `${'manifest for '.repeat(2000)}x`, reason: null },
    {
      message: `failed to extract layer ${'/a b'.repeat(8000)}: no space left on device`,
      reason: null,
    },
    { message: '\u0130\u212a'.repeat(20_000), reason: null },
  ];
}

/**
 * Messages per second for one pass of `count` classifications, by the wall
 * clock and by the CPU time the process got. On a shared box the core is
 * also lent to others; CPU time counts only what this process ran (its
 * garbage collector's threads included, so it is the stricter figure).
 */
function run(
  inputs: readonly ClassifierInput[],
  count: number
): { wall: number; cpu: number } {
  let sink = 0;
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    const input = inputs[i % inputs.length] as ClassifierInput;
    // Read the result so the call cannot be optimised away.
    sink += classify(input).class.length;
  }
  const cpu = process.cpuUsage(cpuStart);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (sink === 0) throw new Error('benchmark produced no results');
  return {
    wall: count / seconds,
    cpu: count / ((cpu.user + cpu.system) / 1e6),
  };
}

function summary(rates: number[], unit: string): string {
  const sorted = [...rates].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] as number;
  const min = sorted[0] as number;
  const max = sorted[sorted.length - 1] as number;
  const spread = ((max - min) / median) * 100;
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  return `median ${fmt(median)} ${unit}, min ${fmt(min)}, max ${fmt(max)}, spread ${spread.toFixed(1)}% (n=${rates.length})`;
}

function bench(
  label: string,
  inputs: readonly ClassifierInput[],
  count: number
) {
  run(inputs, Math.min(count, 50_000)); // warm-up: let the JIT settle
  const runs: { wall: number; cpu: number }[] = [];
  for (let r = 0; r < REPEATS; r++) runs.push(run(inputs, count));
  console.log(
    `${label}: ${summary(
      runs.map((r) => r.wall),
      'msg/s'
    )}\n  by CPU time: ${summary(
      runs.map((r) => r.cpu),
      'msg per CPU-second'
    )}`
  );
}

const corpus = loadCorpus();
console.log(
  `node ${process.version}, ${corpus.length} corpus messages, ${REPEATS} repeats × ${MESSAGES_PER_REPEAT.toLocaleString('en-US')} messages`
);
bench('corpus mix', corpus, MESSAGES_PER_REPEAT);
bench('adversarial (≤64 KiB inputs)', adversarial(), 3_000);
