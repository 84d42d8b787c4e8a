// A Lambda bundle carries the function and what it calls, nothing of the
// local runtime or the CLI: the local runtime steers the functions through
// wire(ports, overrides), never through code in their bundles. Read from
// esbuild's metafile of each bundle, as scripts/build-functions.mjs
// writes it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '../../..');

/** What esbuild's metafile of one function's bundle says. */
interface Metafile {
  inputs: Record<string, unknown>;
  outputs: Record<
    string,
    { entryPoint?: string; inputs: Record<string, { bytesInOutput: number }> }
  >;
}

const metafileOf = (out: string, name: string): Metafile =>
  JSON.parse(readFileSync(join(out, 'functions', name, 'meta.json'), 'utf8'));

/** The first-party inputs of every bundle, by function name. */
function inputsByFunction(out: string): Record<string, string[]> {
  return Object.fromEntries(
    readdirSync(join(out, 'functions')).map((name) => [
      name,
      Object.keys(metafileOf(out, name).inputs),
    ])
  );
}

/** The inputs that left bytes in one function's bundle. */
function bundledInputs(out: string, name: string): string[] {
  const output = Object.values(metafileOf(out, name).outputs).find(
    (o) => o.entryPoint
  );
  return Object.entries(output?.inputs ?? {})
    .filter(([, { bytesInOutput }]) => bytesInOutput > 0)
    .map(([path]) => path);
}

describe('Feature: the function bundles', () => {
  let out: string;
  let inputs: Record<string, string[]>;

  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'pullmedic-bundles-'));
    const build = spawnSync(
      process.execPath,
      ['scripts/build-functions.mjs', '--out', out],
      { cwd: repo, encoding: 'utf8' }
    );
    if (build.status !== 0) throw new Error(build.stderr || build.stdout);
    inputs = inputsByFunction(out);
  }, 120_000);
  afterAll(() => {
    rmSync(out, { recursive: true, force: true });
  });

  it('builds every function, from its own entry point', () => {
    // Assess: the metafile is read right (an empty reading proves nothing).
    expect(Object.keys(inputs).sort()).toEqual(
      readdirSync(join(repo, 'functions'))
        .filter((f) => f.endsWith('.ts'))
        .map((f) => f.replace(/\.ts$/, ''))
        .sort()
    );
    for (const [name, paths] of Object.entries(inputs)) {
      expect(paths).toContain(`functions/${name}.ts`);
    }
  });

  it('carries nothing of cli/ in any bundle', () => {
    // Act
    const fromCli = Object.entries(inputs).flatMap(([name, paths]) =>
      paths.filter((p) => p.startsWith('cli/')).map((p) => `${name}: ${p}`)
    );

    // Assess
    expect(fromCli).toEqual([]);
  });

  it("carries zod's English messages and no other locale", () => {
    // Act: what left bytes in each bundle (esbuild reads every locale of
    // zod's namespace; tree shaking leaves them out).
    const locales = Object.keys(inputs).map((name) => [
      name,
      bundledInputs(out, name).filter((p) =>
        /^node_modules\/zod\/v4\/locales\/[^/]+\.js$/.test(p)
      ),
    ]);

    // Assess: every bundle uses zod, so each must hold en.js.
    expect(locales).toEqual(
      Object.keys(inputs).map((name) => [
        name,
        ['node_modules/zod/v4/locales/en.js'],
      ])
    );
  });

  it('carries classic zod in no bundle: the contracts are zod/mini', () => {
    // Act
    const classic = Object.keys(inputs).flatMap((name) =>
      bundledInputs(out, name)
        .filter((p) => p.startsWith('node_modules/zod/v4/classic/'))
        .map((p) => `${name}: ${p}`)
    );

    // Assess
    expect(classic).toEqual([]);
  });

  it('carries Powertools idempotency only where decisions are kept', () => {
    // Act: which bundles keep decisions, and which carry idempotency or
    // its JMESPath engine.
    const names = Object.keys(inputs).sort();
    const keeping = names.filter((name) =>
      bundledInputs(out, name).includes('functions/_shared/kept-decisions.ts')
    );
    const carrying = names.filter((name) =>
      bundledInputs(out, name).some((p) =>
        /^node_modules\/@aws-lambda-powertools\/(idempotency|jmespath)\//.test(
          p
        )
      )
    );

    // Assess
    expect(keeping).toEqual([
      'notify',
      'prune-result',
      'roll-volume',
      'watch-rollout',
    ]);
    expect(carrying).toEqual(keeping);
  });
});
