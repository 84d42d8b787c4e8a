// The prune documents against a real containerd whose disk is full: the lab
// (test/lab/*.sh) reproduces the seed incident, the SSM documents' commands
// run the way the SSM agent runs them, and the same pull must then succeed.
//
// Runs only with PULLMEDIC_LAB=1, as root (it mounts a tmpfs and runs
// containerd): `bash test/lab/install.sh && PULLMEDIC_LAB=1 npx vitest run test/lab`.
// With PULLMEDIC_LAB=1 and no root, or a lab that does not come up, it fails.
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRUNE_RESULT_PREFIX, parsePruneReport } from '#core/prune-report.ts';

const LAB_ENABLED = process.env.PULLMEDIC_LAB === '1';
const repo = resolve(import.meta.dirname, '../..');
const labDir = process.env.PULLMEDIC_LAB_DIR ?? join(repo, '.cache/lab');
const script = (name: string) => join(repo, 'test/lab', name);
const ssm = (name: string) => join(repo, 'infra/ssm', name);
const cacheBin = join(repo, '.cache/bin');
// The SSM agent's PATH, without the lab's crictl unless a test adds it.
const systemPath =
  '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const STALE_LEASE_MIN_AGE_S = 61;
const SCENARIO_TIMEOUT = 240_000;

const require = createRequire(import.meta.url);
const yaml = require('js-yaml') as { load(text: string): unknown };

type LabEnv = Record<string, string>;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

const toRun = (r: SpawnSyncReturns<string>): Run => ({
  status: r.status,
  stdout: r.stdout,
  stderr: r.stderr,
});

const run = (
  command: string,
  args: string[],
  env: Record<string, string> = {}
): Run =>
  toRun(
    spawnSync(command, args, {
      encoding: 'utf8',
      env: { ...process.env, ...env },
      timeout: 180_000,
      maxBuffer: 64 * 1024 * 1024,
    })
  );

const mustRun = (command: string, args: string[], env = {}): Run => {
  const result = run(command, args, env);
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.status}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`
    );
  }
  return result;
};

const tail = (path: string) => {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '(none)';
  }
};

/** down (leftovers of an earlier run), then up: fails loudly when it cannot. */
const labUp = (): LabEnv => {
  if (process.getuid?.() !== 0) {
    throw new Error(
      'PULLMEDIC_LAB=1 needs root: the lab mounts a tmpfs and runs containerd'
    );
  }
  mustRun('bash', [script('down.sh')]);
  const up = run('bash', [script('up.sh')]);
  if (up.status !== 0) {
    throw new Error(
      `test/lab/up.sh failed (tmpfs mount, containerd or registry):\n${up.stderr}\n--- containerd.log\n${tail(join(labDir, 'containerd.log'))}`
    );
  }
  return labEnv();
};

const labDown = () => mustRun('bash', [script('down.sh')]);

const labEnv = (): LabEnv => {
  const env: LabEnv = {};
  for (const line of readFileSync(join(labDir, 'lab.env'), 'utf8').split(
    '\n'
  )) {
    const match = /^([A-Z_]+)='(.*)'$/.exec(line);
    if (match?.[1] && match[2] !== undefined) env[match[1]] = match[2];
  }
  return env;
};

const need = (env: LabEnv, key: string): string => {
  const value = env[key];
  if (value === undefined) throw new Error(`lab.env has no ${key}`);
  return value;
};

const ctr = (env: LabEnv, ...args: string[]) =>
  mustRun('ctr', [
    '--address',
    need(env, 'CONTAINERD_ADDRESS'),
    '--namespace',
    'k8s.io',
    ...args,
  ]).stdout;

const crictl = (env: LabEnv, ...args: string[]) =>
  run(join(cacheBin, 'crictl'), [
    '--config',
    '/dev/null',
    '--runtime-endpoint',
    `unix://${need(env, 'CONTAINERD_ADDRESS')}`,
    '--image-endpoint',
    `unix://${need(env, 'CONTAINERD_ADDRESS')}`,
    ...args,
  ]);

const imageNames = (env: LabEnv) =>
  ctr(env, 'images', 'ls', '-q').split('\n').filter(Boolean);

const extractSnapshots = (env: LabEnv) =>
  ctr(env, 'snapshots', 'ls')
    .split('\n')
    .filter((line) => line.startsWith('extract-'));

const smallImages = (env: LabEnv) => need(env, 'IMAGES_SMALL').split(' ');

/**
 * Runs an SSM document's runCommand the way the agent does: parameters
 * substituted into the text, written to an executable file, run by `sh -c`.
 */
const runDocument = (
  file: string,
  parameters: Record<string, string>,
  options: { path: string; wrap?: string[] }
): Run => {
  const document = yaml.load(readFileSync(ssm(file), 'utf8')) as {
    mainSteps: { inputs: { runCommand: string[] } }[];
  };
  const body = document.mainSteps
    .flatMap((step) => step.inputs.runCommand)
    .join('\n')
    .replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name: string) => {
      const value = parameters[name];
      if (value === undefined) throw new Error(`no value for {{ ${name} }}`);
      return value;
    });
  const dir = mkdtempSync(join(tmpdir(), 'pullmedic-ssm-'));
  try {
    const path = join(dir, '_script.sh');
    writeFileSync(path, body, { mode: 0o700 });
    const [command, ...args] = [...(options.wrap ?? []), 'sh', '-c', path];
    return run(command as string, args, { PATH: options.path });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

/** The result line: exactly one, parsed by the pipeline's own parser. */
const reportOf = (result: Run) => {
  const lines = result.stdout
    .split('\n')
    .filter((line) => line.startsWith(PRUNE_RESULT_PREFIX));
  expect(
    lines,
    `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`
  ).toHaveLength(1);
  const report = parsePruneReport(result.stdout);
  expect(report, `the pipeline's parser rejected:\n${lines[0]}`).toBeDefined();
  const raw = JSON.parse(
    (lines[0] as string).slice(PRUNE_RESULT_PREFIX.length)
  ) as Record<string, unknown>;
  console.info(`${lines[0]}`);
  return { report: report as NonNullable<typeof report>, raw };
};

const reproduce = () => {
  const result = mustRun('bash', [script('reproduce.sh')]);
  return `${result.stdout}\n${result.stderr}`;
};

describe.runIf(LAB_ENABLED)(
  'Lab: a node whose image pull failed for lack of disk',
  () => {
    describe('Document: prune-containerd.yml, crictl on the node', () => {
      let env: LabEnv;
      beforeAll(() => {
        env = labUp();
      }, SCENARIO_TIMEOUT);
      afterAll(() => {
        labDown();
      }, SCENARIO_TIMEOUT);

      const prune = (dryRun: boolean) =>
        runDocument(
          'prune-containerd.yml',
          {
            DryRun: String(dryRun),
            ContainerdAddress: need(env, 'CONTAINERD_ADDRESS'),
            ContainerdRoot: need(env, 'CONTAINERD_ROOT'),
          },
          { path: `${cacheBin}:${systemPath}` }
        );

      it('reproduces the seed failure through the CRI', () => {
        // Act
        const output = reproduce();

        // Assess
        expect(output).toContain('failed to extract layer');
        expect(output).toContain('no space left on device');
        expect(extractSnapshots(env)).toHaveLength(1);
      });

      it('reports in a dry run what it would remove, and changes nothing', () => {
        // Prepare
        const before = imageNames(env);

        // Act
        const result = prune(true);

        // Assess
        expect(result.status).toBe(0);
        const { report } = reportOf(result);
        expect(report.dryRun).toBe(true);
        expect(report.bytesFreed).toBe(0);
        expect(report.imagesRemoved).toBe(smallImages(env).length);
        expect(report.imagesRemovedRefs).toEqual(smallImages(env));
        expect(report.leftoverSnapshotsRemoved).toBe(1);
        expect(imageNames(env)).toEqual(before);
        expect(extractSnapshots(env)).toHaveLength(1);
      });

      it(
        'frees the unused images and the leftovers of the failed pull, and keeps the pause and in-use images',
        async () => {
          // Prepare: the stale lease must be older than the script's minimum age.
          const ageS =
            Date.now() / 1000 - Number(need(env, 'STALE_LEASE_CREATED'));
          const waitMs = Math.max(0, (STALE_LEASE_MIN_AGE_S - ageS) * 1000);
          await new Promise((done) => setTimeout(done, waitMs));

          // Act
          const started = Date.now();
          const result = prune(false);
          const tookMs = Date.now() - started;

          // Assess
          expect(result.status, result.stderr).toBe(0);
          const { report, raw } = reportOf(result);
          console.info(
            `prune took ${tookMs} ms (tmpfs ${need(env, 'TMPFS_BYTES')} bytes)`
          );
          expect(report.dryRun).toBe(false);
          expect(report.method).toBe('crictl-rmi-prune');
          expect(report.tools).toMatchObject({ crictl: 'v1.37.0' });
          expect(report.errors).toEqual([]);
          expect(report.fsBytesTotal).toBe(Number(need(env, 'TMPFS_BYTES')));
          expect(report.bytesFreed).toBeGreaterThan(0);
          expect(report.bytesFreed).toBe(
            report.bytesBefore - report.bytesAfter
          );
          expect(report.freeBytesAfter).toBeGreaterThan(
            Number(need(env, 'BIG_BLOB_BYTES')) +
              Number(need(env, 'BIG_UNPACKED_BYTES'))
          );
          expect(report.imagesRemovedRefs).toEqual(smallImages(env));
          expect(report.pauseImage).toBe(need(env, 'IMAGE_PAUSE'));
          expect(report.pauseImageIntact).toBe(true);
          expect(report.leftoverSnapshotsRemoved).toBe(1);
          expect(raw.leasesRemoved).toBe(1);
          // The lab's root is a tmpfs: no block device, no EBS volume.
          expect(report.volume).toEqual({ id: null, device: null });
          const names = imageNames(env);
          expect(names).toContain(need(env, 'IMAGE_PAUSE'));
          expect(names).toContain(need(env, 'IMAGE_IN_USE'));
          for (const image of smallImages(env))
            expect(names).not.toContain(image);
          expect(extractSnapshots(env)).toEqual([]);
          expect(ctr(env, 'leases', 'ls')).not.toContain(
            need(env, 'STALE_LEASE_ID')
          );
        },
        SCENARIO_TIMEOUT
      );

      it('lets the same pull succeed', () => {
        // Act
        const pull = crictl(env, 'pull', need(env, 'IMAGE_BIG'));

        // Assess
        expect(pull.status, pull.stderr).toBe(0);
        expect(imageNames(env)).toContain(need(env, 'IMAGE_BIG'));
      });

      it('restores the sandbox image that a plain `crictl rmi --prune` deletes on containerd 1.6', () => {
        // Prepare: the pitfall of containerd#9793, for real.
        const plain = crictl(env, 'rmi', '--prune');
        expect(plain.status).toBe(0);
        expect(imageNames(env)).not.toContain(need(env, 'IMAGE_PAUSE'));

        // Act
        const result = prune(false);

        // Assess
        expect(result.status, result.stderr).toBe(0);
        const { report, raw } = reportOf(result);
        expect(report.pauseImageIntact).toBe(true);
        expect(raw.pauseImageRestored).toBe(true);
        expect(imageNames(env)).toContain(need(env, 'IMAGE_PAUSE'));
        expect(imageNames(env)).toContain(need(env, 'IMAGE_IN_USE'));
      });
    });

    describe('Script: prune-containerd.sh, ctr only (no crictl, as on AL2023)', () => {
      let env: LabEnv;
      beforeAll(() => {
        env = labUp();
        reproduce();
      }, SCENARIO_TIMEOUT);
      afterAll(() => {
        labDown();
      }, SCENARIO_TIMEOUT);

      it('frees the space with ctr images rm --sync and keeps a lease too young to judge', () => {
        // Act
        const result = run('bash', [ssm('prune-containerd.sh')], {
          PATH: systemPath,
          DRY_RUN: 'false',
          CONTAINERD_ADDRESS: need(env, 'CONTAINERD_ADDRESS'),
          CONTAINERD_ROOT: need(env, 'CONTAINERD_ROOT'),
          NAMESPACE: 'k8s.io',
        });

        // Assess
        expect(result.status, result.stderr).toBe(0);
        const { report, raw } = reportOf(result);
        expect(report.method).toBe('ctr-images-rm-sync');
        expect(report.tools).toMatchObject({
          crictl: null,
          ctr: expect.any(String),
        });
        expect(report.bytesFreed).toBeGreaterThan(0);
        expect(report.imagesRemovedRefs).toEqual(smallImages(env));
        expect(report.pauseImage).toBe(need(env, 'IMAGE_PAUSE'));
        expect(report.pauseImageIntact).toBe(true);
        expect(report.leftoverSnapshotsRemoved).toBe(1);
        expect(raw.leasesRemoved).toBe(0);
        const names = imageNames(env);
        expect(names).toContain(need(env, 'IMAGE_PAUSE'));
        expect(names).toContain(need(env, 'IMAGE_IN_USE'));
        for (const image of smallImages(env)) {
          expect(
            names.some((name) => name.startsWith(image.replace(/:v1$/, '')))
          ).toBe(false);
        }
        expect(ctr(env, 'leases', 'ls')).toContain(need(env, 'STALE_LEASE_ID'));
        expect(crictl(env, 'pull', need(env, 'IMAGE_BIG')).status).toBe(0);
      });

      it('rejects a parameter that is not a path, before touching anything', () => {
        // Act
        const result = run('bash', [ssm('prune-containerd.sh')], {
          PATH: systemPath,
          CONTAINERD_ADDRESS: need(env, 'CONTAINERD_ADDRESS'),
          CONTAINERD_ROOT: '/var/lib/containerd; rm -rf /',
        });

        // Assess
        expect(result.status).toBe(2);
        const { report } = reportOf(result);
        expect(report.errors.join()).toContain(
          'CONTAINERD_ROOT must be an absolute path'
        );
        expect(report.method).toBe('none');
      });
    });

    describe('Document: prune-bottlerocket.yml, in a stand-in control container', () => {
      let env: LabEnv;
      beforeAll(() => {
        env = labUp();
        reproduce();
      }, SCENARIO_TIMEOUT);
      afterAll(() => {
        labDown();
      }, SCENARIO_TIMEOUT);

      const prune = (
        adminEnabled: boolean,
        enableAdminContainer: boolean,
        adminVersion = 'v0.11.6'
      ) =>
        runDocument(
          'prune-bottlerocket.yml',
          {
            DryRun: 'false',
            EnableAdminContainer: String(enableAdminContainer),
          },
          {
            path: systemPath,
            wrap: [
              'env',
              `PULLMEDIC_FAKE_ADMIN_VERSION=${adminVersion}`,
              'bash',
              script('fake-bottlerocket.sh'),
              String(adminEnabled),
            ],
          }
        );
      const apiclientCalls = () =>
        readFileSync(join(labDir, 'bottlerocket/apiclient.log'), 'utf8')
          .split('\n')
          .filter(Boolean);

      it('stops when the admin container is disabled and may not be enabled', () => {
        // Act
        const result = prune(false, false);

        // Assess
        expect(result.status).toBe(3);
        const { report } = reportOf(result);
        expect(report.errors.join()).toContain(
          'the admin container is disabled'
        );
        expect(imageNames(env)).toEqual(
          expect.arrayContaining(smallImages(env))
        );
        expect(apiclientCalls().some((call) => call.startsWith('exec'))).toBe(
          false
        );
      });

      it("stops, saying so, when the admin container's sheltie ignores its arguments (before v0.7.3)", () => {
        // Act
        const result = prune(false, true, 'v0.7.2');

        // Assess: one probe through sheltie, no prune, the container
        // disabled again.
        expect(result.status).toBe(3);
        const { report } = reportOf(result);
        expect(report.errors).toEqual([
          'the admin container is too old: sheltie opens a shell and ignores its arguments; ' +
            'needs bottlerocket-admin-container v0.7.3 or later ' +
            '(host-containers.admin.source is public.ecr.aws/bottlerocket/bottlerocket-admin:v0.7.2)',
        ]);
        expect(report.method).toBe('none');
        expect(imageNames(env)).toEqual(
          expect.arrayContaining(smallImages(env))
        );
        expect(apiclientCalls()).toEqual([
          '-u /settings?keys=settings.host-containers.admin.enabled',
          'set host-containers.admin.enabled=true',
          'exec admin true',
          'exec admin bash',
          '-u /settings?keys=settings.host-containers.admin.source',
          'set host-containers.admin.enabled=false',
        ]);
      });

      it('enables the admin container, prunes the host through sheltie, and disables it again', () => {
        // Act
        const result = prune(false, true);

        // Assess
        expect(result.status, result.stderr).toBe(0);
        const { report } = reportOf(result);
        expect(report.bytesFreed).toBeGreaterThan(0);
        expect(report.pauseImageIntact).toBe(true);
        expect(report.leftoverSnapshotsRemoved).toBe(1);
        // The sheltie probe, then the prune.
        expect(apiclientCalls()).toEqual([
          '-u /settings?keys=settings.host-containers.admin.enabled',
          'set host-containers.admin.enabled=true',
          'exec admin true',
          'exec admin bash',
          'exec admin bash',
          'set host-containers.admin.enabled=false',
        ]);
        expect(crictl(env, 'pull', need(env, 'IMAGE_BIG')).status).toBe(0);
      });
    });

    describe('Script: build-documents.mjs', () => {
      it('finds the SSM documents up to date with the scripts', () => {
        // Act
        const result = run('node', [ssm('build-documents.mjs'), '--check']);

        // Assess
        expect(result.status, result.stderr).toBe(0);
      });
    });
  }
);
