import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** A running moto server on a loopback port. */
export interface MotoServer {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * A free TCP port on 127.0.0.1, as the kernel hands it out.
 *
 * @example
 * ```ts
 * const port = await freePort();
 * ```
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * The python that runs the pinned moto: scripts/ensure-moto.sh installs it
 * into .venv when it is missing.
 */
export async function motoPython(): Promise<string> {
  const { stdout } = await promisify(execFile)('bash', [
    resolve(repoRoot, 'scripts/ensure-moto.sh'),
  ]);
  return stdout.trim();
}

/**
 * Starts moto in server mode on a free loopback port and waits until it
 * answers. `amisPath` pins the AMIs (and their root device names). moto
 * runs through the project's launcher (scripts/moto-launcher.py), which
 * serves one request at a time, so that a conditional write is atomic as
 * on AWS, and memoises EventBridge's template parsing, so that a storm of
 * events does not stall it.
 *
 * @example
 * ```ts
 * const moto = await startMoto({ amisPath: 'infra/local/amis.json' });
 * process.env.AWS_ENDPOINT_URL = moto.endpoint;
 * await moto.stop();
 * ```
 */
export async function startMoto(
  options: {
    amisPath?: string;
    timeoutMs?: number;
    /**
     * moto's own server, without the launcher: only the benchmark that
     * shows what the launcher changes uses it.
     */
    unpatched?: boolean;
  } = {}
): Promise<MotoServer> {
  const python = await motoPython();
  const port = await freePort();
  const child: ChildProcess = spawn(
    python,
    [
      ...(options.unpatched
        ? ['-m', 'moto.server']
        : [resolve(repoRoot, 'scripts/moto-launcher.py')]),
      '-H',
      '127.0.0.1',
      '-p',
      String(port),
    ],
    {
      env: {
        ...process.env,
        ...(options.amisPath ? { MOTO_AMIS_PATH: options.amisPath } : {}),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    }
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`moto exited with ${child.exitCode}: ${stderr}`);
    }
    try {
      const res = await fetch(`${endpoint}/moto-api/`);
      if (res.ok) break;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  if (Date.now() >= deadline) {
    child.kill('SIGKILL');
    throw new Error(`moto did not answer on ${endpoint} in time: ${stderr}`);
  }
  return {
    endpoint,
    port,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await Promise.race([
        once(child, 'exit'),
        new Promise((r) => setTimeout(r, 3000)),
      ]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
