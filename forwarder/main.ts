#!/usr/bin/env node
// The forwarder's entry point: read the configuration once, log it with
// secrets redacted, run until SIGTERM (kubelet's stop) or SIGINT, then
// drain and exit. Bundled by forwarder/build.mjs into dist/forwarder/.
// `main.mjs agent …` runs the cluster agent instead (forwarder/agent/),
// from the same image.
import { hostname } from 'node:os';
import { runAgent } from './agent/main.ts';
import { startForwarder } from './app.ts';
import { loadConfig, redactConfig } from './config.ts';
import { ForwarderConfigError } from './errors.ts';
import { jsonLog } from './log.ts';

async function main(): Promise<number> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.argv.slice(2), process.env, hostname());
  } catch (err) {
    if (err instanceof ForwarderConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const log = jsonLog(config.logLevel);
  log.info('starting', { config: redactConfig(config) });
  const running = await startForwarder(config, { log });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      log.info('signal received', { signal });
      void running.stop();
    });
  }
  return running.exited;
}

const [command, ...rest] = process.argv.slice(2);
const run =
  command === 'agent' ? () => runAgent(rest, process.env) : () => main();

run().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const who = command === 'agent' ? 'agent' : 'forwarder';
    process.stderr.write(`${who} crashed: ${String(err)}\n`);
    process.exitCode = 1;
  }
);
