import { ForwarderConfigError } from '../errors.ts';
import { jsonLog } from '../log.ts';
import { startAgent } from './agent.ts';
import { loadAgentConfig, redactAgentConfig } from './config.ts';

/**
 * The agent's entry point in the forwarder's image (`node main.mjs
 * agent …`): read the settings once, log them redacted, run until SIGTERM
 * or SIGINT, then finish what is in hand and exit. Returns the exit code:
 * 2 for bad settings.
 *
 * @example
 * ```ts
 * process.exitCode = await runAgent(process.argv.slice(3), process.env);
 * ```
 */
export async function runAgent(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>
): Promise<number> {
  let config: ReturnType<typeof loadAgentConfig>;
  try {
    config = loadAgentConfig(argv, env);
  } catch (err) {
    if (err instanceof ForwarderConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const log = jsonLog(config.logLevel, undefined, 'pullmedic-agent');
  log.info('starting', { config: redactAgentConfig(config) });
  const agent = await startAgent(config, { log });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      log.info('signal received', { signal });
      void agent.stop();
    });
  }
  return agent.exited;
}
