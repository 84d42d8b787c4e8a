import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Execution, LocalNode } from './simulated-node.ts';
import { renderRunShellScript } from './ssm-document.ts';

const run = promisify(execFile);
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DOCUMENT = resolve(repoRoot, 'infra/ssm/prune-containerd.yml');

/** The tools the lab needs: test/lab/install.sh installs them. */
const TOOLS = [
  '/usr/bin/containerd',
  '/usr/bin/skopeo',
  '.cache/bin/crictl',
  '.cache/bin/lab-pause',
];

/**
 * Why the lab cannot run here, or undefined when it can: it needs root (a
 * tmpfs mount, a containerd) and the tools test/lab/install.sh installs.
 */
export function labUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'the containerd lab needs root';
  const missing = TOOLS.filter(
    (t) => !existsSync(t.startsWith('/') ? t : resolve(repoRoot, t))
  );
  if (missing.some((t) => t.startsWith('/'))) {
    return `the lab's tools are not installed (${missing.join(', ')}): run npm run test:lab or bash test/lab/install.sh`;
  }
  if (missing.length)
    return `the lab's tools are not built (${missing.join(', ')}): run bash test/lab/install.sh`;
  return undefined;
}

const parseEnv = (text: string): Record<string, string> =>
  Object.fromEntries(
    text
      .split('\n')
      .map((l) => l.match(/^([A-Z_]+)='(.*)'$/))
      .filter((m): m is RegExpMatchArray => m !== null)
      .map((m) => [m[1] as string, m[2] as string])
  );

/**
 * A real node: the lab's containerd on a small tmpfs, its image cache full,
 * the seed's pull failing for real. The prune is the SSM document's own
 * script, rendered with the node's parameters and run by bash as the agent
 * would; the kubelet's retried pull is a real CRI pull of the lab's big
 * image (which stands in for the incident's image).
 *
 * @example
 * ```ts
 * const node = await LabNode.start('ip-10-0-1-149.ec2.internal');
 * await node.prune(false);
 * await node.stop();
 * ```
 */
export class LabNode implements LocalNode {
  readonly kind = 'lab';
  readonly name: string;
  readonly #env: Record<string, string>;
  readonly #dir: string;
  /** The failure `reproduce.sh` saw, verbatim. */
  readonly reproduced: string;

  private constructor(
    name: string,
    dir: string,
    env: Record<string, string>,
    reproduced: string
  ) {
    this.name = name;
    this.#dir = dir;
    this.#env = env;
    this.reproduced = reproduced;
  }

  static async start(
    name: string,
    dir = resolve(repoRoot, '.cache/lab-local')
  ): Promise<LabNode> {
    const env = { ...process.env, PULLMEDIC_LAB_DIR: dir };
    // A lab left over from an interrupted run is taken down first.
    await run('bash', [resolve(repoRoot, 'test/lab/down.sh')], { env }).catch(
      () => undefined
    );
    let reproduced: { stdout: string };
    try {
      await run('bash', [resolve(repoRoot, 'test/lab/up.sh')], {
        env,
        maxBuffer: 16 << 20,
      });
      reproduced = await run(
        'bash',
        [resolve(repoRoot, 'test/lab/reproduce.sh')],
        { env, maxBuffer: 16 << 20 }
      );
    } catch (err) {
      // What came up before the failure (the tmpfs, the registry, a
      // containerd) goes down with it, not left for the next run.
      await run('bash', [resolve(repoRoot, 'test/lab/down.sh')], {
        env,
      }).catch(() => undefined);
      throw err;
    }
    const labEnv = parseEnv(await readFile(resolve(dir, 'lab.env'), 'utf8'));
    return new LabNode(
      name,
      dir,
      labEnv,
      reproduced.stdout.trim().split('\n').slice(-1)[0] ?? ''
    );
  }

  async prune(dryRun: boolean): Promise<Execution> {
    const script = await renderRunShellScript(DOCUMENT, {
      DryRun: [String(dryRun)],
      // This node's containerd lives in the lab, not at the EKS defaults.
      ContainerdAddress: [this.#env.CONTAINERD_ADDRESS as string],
      ContainerdRoot: [this.#env.CONTAINERD_ROOT as string],
    });
    try {
      const out = await run('bash', ['-c', script], {
        env: {
          PATH: `${resolve(repoRoot, '.cache/bin')}:/usr/sbin:/usr/bin:/sbin:/bin`,
        },
        maxBuffer: 16 << 20,
      });
      return {
        status: 'Success',
        responseCode: 0,
        stdout: out.stdout,
        stderr: out.stderr,
      };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return {
        status: 'Failed',
        responseCode: e.code ?? 1,
        stdout: e.stdout ?? '',
        stderr: e.stderr ?? '',
      };
    }
  }

  async pull(
    _image: string
  ): Promise<{ ok: true } | { ok: false; message: string }> {
    try {
      await run(
        this.#env.CRICTL ?? resolve(repoRoot, '.cache/bin/crictl'),
        [
          '--config',
          '/dev/null',
          '-r',
          `unix://${this.#env.CONTAINERD_ADDRESS}`,
          '-i',
          `unix://${this.#env.CONTAINERD_ADDRESS}`,
          'pull',
          this.#env.IMAGE_BIG as string,
        ],
        { maxBuffer: 16 << 20 }
      );
      return { ok: true };
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      return {
        ok: false,
        message:
          (e.stderr || e.message).trim().split('\n').slice(-1)[0] ??
          'pull failed',
      };
    }
  }

  async stop(): Promise<void> {
    await run('bash', [resolve(repoRoot, 'test/lab/down.sh')], {
      env: { ...process.env, PULLMEDIC_LAB_DIR: this.#dir },
    }).catch(() => undefined);
  }
}
