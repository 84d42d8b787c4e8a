#!/usr/bin/env node
// Builds, for each function bundle in dist/functions, its floor: a bare
// middy handler with Powertools' logger, metrics and tracer middlewares
// (as every function has them), importing the AWS SDK clients and commands
// the function's bundle carries, and doing nothing. What a function's cold
// start costs above its floor is its own code and its other dependencies
// (zod, the parser, the contracts); the SDK and Powertools are the floor.
//
// What the bundle carries is read from its metafile (meta.json beside it,
// written by scripts/build-functions.mjs): every @aws-sdk/client-* and
// lib-* input that left bytes in the output and is a client class
// (dist-es/<X>Client.js) or a command (dist-es/commands/<Y>Command.js),
// both exported from the package's root under the file's name. The floor
// keeps them referenced without building them, as the functions build
// their clients on first use, not at load.
//
// Usage: node scripts/build-floors.mjs --out <dir> [--from dist/functions]
// The floors go to <dir>/<name>/index.mjs, never into dist/functions
// (serverless.yml packages that directory as it is).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';
import { BUNDLE_OPTIONS } from './bundle-options.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: { out: { type: 'string' }, from: { type: 'string' } },
});
if (!values.out) throw new Error('usage: build-floors.mjs --out <dir>');
const out = resolve(values.out);
const from = resolve(values.from ?? join(root, 'dist', 'functions'));

const SDK_EXPORT =
  /node_modules\/(@aws-sdk\/(?:client|lib)-[^/]+)\/dist-es\/(?:commands\/)?(\w+(?:Client|Command))\.js$/;

/** The SDK exports a function's bundle carries, by package. */
function sdkExportsOf(name) {
  const meta = JSON.parse(readFileSync(join(from, name, 'meta.json'), 'utf8'));
  const output = Object.values(meta.outputs).find((o) => o.entryPoint);
  const byPackage = new Map();
  for (const [input, { bytesInOutput }] of Object.entries(
    output?.inputs ?? {}
  )) {
    const match = input.match(SDK_EXPORT);
    if (!match || bytesInOutput === 0) continue;
    const [, pkg, exported] = match;
    byPackage.set(pkg, [...(byPackage.get(pkg) ?? []), exported].sort());
  }
  return new Map([...byPackage].sort(([a], [b]) => a.localeCompare(b)));
}

/** The floor's source: Powertools and middy as functions/_shared has them. */
function floorSource(sdk) {
  // Aliased: lib-dynamodb's QueryCommand is not client-dynamodb's.
  let n = 0;
  const imports = [...sdk].map(([pkg, exported]) => ({
    pkg,
    bindings: exported.map((name) => ({ name, alias: `sdk${n++}` })),
  }));
  const aliases = imports.flatMap((i) => i.bindings.map((b) => b.alias));
  return [
    "import { Logger } from '@aws-lambda-powertools/logger';",
    "import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';",
    "import { Metrics } from '@aws-lambda-powertools/metrics';",
    "import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';",
    "import { Tracer } from '@aws-lambda-powertools/tracer';",
    "import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';",
    "import middy from '@middy/core';",
    ...imports.map(
      ({ pkg, bindings }) =>
        `import { ${bindings.map((b) => `${b.name} as ${b.alias}`).join(', ')} } from '${pkg}';`
    ),
    "const logger = new Logger({ serviceName: 'pullmedic' });",
    "const metrics = new Metrics({ namespace: 'pullmedic', serviceName: 'pullmedic', logger });",
    "const tracer = new Tracer({ serviceName: 'pullmedic' });",
    `export const sdk = [${aliases.join(', ')}];`,
    'export const handler = middy(async () => [])',
    '  .use(injectLambdaContext(logger, { clearState: true }))',
    '  .use(logMetrics(metrics))',
    '  .use(captureLambdaHandler(tracer));',
  ].join('\n');
}

const names = readdirSync(from).sort();
const built = await Promise.all(
  names.map(async (name) => {
    const sdk = sdkExportsOf(name);
    await esbuild.build({
      ...BUNDLE_OPTIONS,
      absWorkingDir: root,
      stdin: { contents: floorSource(sdk), resolveDir: root, loader: 'js' },
      outfile: join(out, name, 'index.mjs'),
      metafile: false,
    });
    return {
      name,
      packages: [...sdk.keys()],
      exports: [...sdk.values()].flat().length,
    };
  })
);
// One JSON line: what each floor imports, for the benchmark to print.
console.log(JSON.stringify(built));
