#!/usr/bin/env node
// Bundles each Lambda entry point, functions/<name>.ts, into
// dist/functions/<name>/index.mjs with esbuild, and prints what each bundle
// weighs. serverless.yml packages these directories as they are: no plugin
// rebuilds anything behind our back.
//
// It also stages the SSM documents (infra/ssm/<name>.yml) for osls as
// dist/ssm/<name>.json, the parsed document with every `${` escaped: osls
// resolves variables inside whatever a `${file()}` returns, and a shell
// script's `${work:-}` reads to it as a variable of a source named "work".
//
// Why these options (scripts/bundle-options.mjs, shared with the floor
// bundles of the cold-start benchmark):
// - format esm, platform node, target node22: the Lambda runtime
//   (nodejs22.x) loads `index.mjs` as a native ES module.
// - The AWS SDK v3 is bundled, not left to the runtime's copy: the version
//   we test against (package-lock.json) is the version that runs, and an
//   SDK update in the runtime cannot change our behaviour under us.
// - mainFields module,main: the SDK and Powertools ship ES module builds,
//   which esbuild can tree-shake; CommonJS builds are a last resort.
// - The banner defines `require` (and __filename/__dirname): a CommonJS
//   dependency bundled into an ES module still calls them, and an ES module
//   has none of its own.
// - No minification, an external source map: stack traces in CloudWatch
//   stay readable, and the map stays next to the bundle for `node
//   --enable-source-maps` locally without weighing on the zip (serverless.yml
//   leaves *.map out of the package).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import { BUNDLE_OPTIONS } from './bundle-options.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const sourceDir = join(root, 'functions');
// `--out <dir>` builds somewhere else than dist/ (a test that must not
// race the packaging checks for dist/).
const outFlag = process.argv.indexOf('--out');
const distDir =
  outFlag === -1
    ? join(root, 'dist')
    : resolve(process.argv[outFlag + 1] ?? '');
const outRoot = join(distDir, 'functions');
const documentsDir = join(root, 'infra', 'ssm');
const documentsOut = join(distDir, 'ssm');
/** The SSM documents serverless.yml creates; the second one is optional. */
const DOCUMENTS = ['prune-containerd', 'prune-bottlerocket'];
/** SSM's limit on a document's content. */
const MAX_DOCUMENT_BYTES = 64 * 1024;

/** Every Lambda entry point: functions/*.ts, not the shared wiring. */
function entryPoints() {
  return readdirSync(sourceDir, { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .filter((e) => !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => basename(e.name, '.ts'))
    .sort();
}

const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;

/** The package (or first-party directory) a bundled input came from. */
function ownerOf(input) {
  const parts = input.split('/');
  const at = parts.lastIndexOf('node_modules');
  if (at === -1) return parts[0] ?? input;
  const name = parts[at + 1] ?? '';
  return name.startsWith('@') ? `${name}/${parts[at + 2]}` : name;
}

async function build(name) {
  const outfile = join(outRoot, name, 'index.mjs');
  const result = await esbuild.build({
    ...BUNDLE_OPTIONS,
    absWorkingDir: root,
    entryPoints: [join(sourceDir, `${name}.ts`)],
    outfile,
  });
  // The metafile stays beside the bundle for size investigations
  // (https://esbuild.github.io/analyze/); it is not packaged.
  await writeFile(
    join(outRoot, name, 'meta.json'),
    JSON.stringify(result.metafile)
  );
  const output = result.metafile.outputs[relative(root, outfile)];
  const byOwner = new Map();
  for (const [input, { bytesInOutput }] of Object.entries(
    output?.inputs ?? {}
  )) {
    const owner = ownerOf(input);
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + bytesInOutput);
  }
  const biggest = [...byOwner.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([owner, bytes]) => `${owner} ${kib(bytes)}`);
  return {
    name,
    bytes: output?.bytes ?? 0,
    gzipBytes: gzipSync(readFileSync(outfile)).length,
    biggest,
  };
}

/**
 * Escapes a string for osls's variable parser, so that it resolves to the
 * string itself: a `${` after k backslashes becomes a `${` after 2k+1 (osls
 * reads an odd run as "k backslashes, then a literal `${`").
 */
const escapeForOsls = (text) =>
  text.replace(
    /(\\*)\$\{/g,
    (_, slashes) => `${'\\'.repeat(slashes.length * 2 + 1)}\${`
  );

/** escapeForOsls on every string of a parsed document. */
function escapeDeep(value, path) {
  if (typeof value === 'string') return escapeForOsls(value);
  if (Array.isArray(value)) {
    return value.map((item, i) => escapeDeep(item, `${path}[${i}]`));
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => {
        if (key.includes('${')) throw new Error(`${path}: key "${key}"`);
        return [key, escapeDeep(item, `${path}.${key}`)];
      })
    );
  }
  return value;
}

/**
 * infra/ssm/<name>.yml → dist/ssm/<name>.json: the document parsed with the
 * YAML parser osls itself uses, every string escaped for osls, with its
 * source and digest. It is checked for the shape of a Command document and
 * for SSM's size limit. A missing optional document is skipped: the stack
 * creates its resource only when its JSON exists.
 */
async function stageDocuments() {
  const requireFromOsls = createRequire(
    createRequire(import.meta.url).resolve('osls/package.json')
  );
  const yaml = requireFromOsls('js-yaml');
  await rm(documentsOut, { recursive: true, force: true });
  await mkdir(documentsOut, { recursive: true });
  const staged = [];
  for (const name of DOCUMENTS) {
    const source = join(documentsDir, `${name}.yml`);
    if (!existsSync(source)) {
      if (name === DOCUMENTS[0]) throw new Error(`${source} is missing`);
      continue;
    }
    const text = readFileSync(source, 'utf8');
    const doc = yaml.load(text, { filename: source });
    if (
      !doc ||
      typeof doc.schemaVersion !== 'string' ||
      !Array.isArray(doc.mainSteps)
    ) {
      throw new Error(
        `${source}: not a Command document (schemaVersion, mainSteps)`
      );
    }
    // What SSM receives: CloudFormation serialises the object as JSON.
    const bytes = Buffer.byteLength(JSON.stringify(doc));
    if (bytes > MAX_DOCUMENT_BYTES) {
      throw new Error(
        `${source}: ${bytes} bytes as JSON, SSM takes ${MAX_DOCUMENT_BYTES}`
      );
    }
    const staging = {
      source: relative(root, source),
      sha256: createHash('sha256').update(text).digest('hex'),
      content: escapeDeep(doc, name),
    };
    await writeFile(
      join(documentsOut, `${name}.json`),
      `${JSON.stringify(staging, null, 2)}\n`
    );
    staged.push(`${name} ${kib(bytes)}`);
  }
  return staged;
}

async function main() {
  const names = entryPoints();
  if (names.length === 0) throw new Error(`no entry points in ${sourceDir}`);
  // A stale bundle of a removed function must not be packaged.
  await rm(outRoot, { recursive: true, force: true });
  const started = performance.now();
  const results = await Promise.all(names.map(build));
  const width = Math.max(...names.map((n) => n.length));
  console.log('pullmedic: function bundles (dist/functions/<name>/index.mjs)');
  for (const r of results) {
    console.log(
      `  ${r.name.padEnd(width)}  ${kib(r.bytes).padStart(11)}  ` +
        `gzip ${kib(r.gzipBytes).padStart(10)}  largest: ${r.biggest.join(', ')}`
    );
  }
  const total = results.reduce((sum, r) => sum + r.bytes, 0);
  console.log(
    `  ${results.length} bundles, ${kib(total)} in all, ` +
      `${Math.round(performance.now() - started)} ms`
  );
  const documents = await stageDocuments();
  console.log(`pullmedic: SSM documents (dist/ssm/): ${documents.join(', ')}`);
}

main().catch((err) => {
  // esbuild has already printed its own errors with file and line.
  console.error(`pullmedic: build failed: ${err.message}`);
  process.exitCode = 1;
});
