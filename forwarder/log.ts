/** Log levels, least to most severe. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** A structured logger: one JSON object a line. */
export interface Log {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/**
 * A JSON-lines logger on stdout (the container runtime collects it), with
 * errors flattened to name, message and cause so they survive JSON.
 *
 * @example
 * ```ts
 * const log = jsonLog('info');
 * log.warn('shed events', { count: 3 });
 * ```
 */
export function jsonLog(
  level: LogLevel,
  write: (line: string) => void = (line) => process.stdout.write(line),
  service = 'pullmedic-forwarder'
): Log {
  const at =
    (lvl: LogLevel) =>
    (msg: string, fields: Record<string, unknown> = {}) => {
      if (RANK[lvl] < RANK[level]) return;
      write(
        `${JSON.stringify(
          {
            time: new Date().toISOString(),
            level: lvl,
            service,
            msg,
            ...fields,
          },
          (_key, v: unknown) => (v instanceof Error ? flatten(v) : v)
        )}\n`
      );
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
  };
}

/**
 * A logger that drops everything: for tests and benchmarks.
 *
 * @example
 * ```ts
 * new Forwarder({ log: silentLog, … });
 * ```
 */
export const silentLog: Log = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};

function flatten(err: Error): Record<string, unknown> {
  return {
    name: err.name,
    message: err.message,
    ...(err.cause instanceof Error ? { cause: flatten(err.cause) } : {}),
  };
}
