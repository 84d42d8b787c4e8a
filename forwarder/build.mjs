#!/usr/bin/env node
// Bundles the in-cluster forwarder, forwarder/main.ts, into
// dist/forwarder/main.mjs with esbuild: one file the container runs with
// `node main.mjs`, no node_modules in the image.
//
// Why these options (as scripts/build-functions.mjs, for the same reasons):
// - format esm, platform node, target node22: the image's runtime.
// - Everything bundled, @kubernetes/client-node and the AWS SDK included:
//   the versions in package-lock.json are the versions that run.
// - mainFields module,main: ES module builds tree-shake; CommonJS is a
//   last resort.
// - The banner defines `require`, __filename and __dirname for the
//   CommonJS dependencies bundled into an ES module.
// - No minification, an external source map: readable stack traces.
//
// Usage: node forwarder/build.mjs [--outfile path]
import { statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';
import { ESM_BANNER as banner } from '../scripts/esm-banner.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    outfile: { type: 'string' },
    entry: { type: 'string' },
  },
});
const outfile = resolve(
  values.outfile ?? join(root, 'dist', 'forwarder', 'main.mjs')
);
const entry = resolve(values.entry ?? join(root, 'forwarder', 'main.ts'));

await esbuild.build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  mainFields: ['module', 'main'],
  sourcemap: 'external',
  legalComments: 'none',
  banner: { js: banner },
  logLevel: 'warning',
});

const kib = (statSync(outfile).size / 1024).toFixed(0);
console.log(`${relative(root, outfile)}  ${kib} KiB`);
