// Which volume holds containerd's root, as prune-containerd.sh reports it,
// on real filesystems: a tmpfs (the lab's, no block device), a whole disk
// and a partition of one (loop devices standing in for EBS disks), and a
// bind mount of the partition (as Bottlerocket binds /var/lib/containerd
// from /local). A private mount namespace gives each run its own /dev with
// the udev link an EBS NVMe disk has:
// /dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol<hex> -> the disk.
//
// Runs only with PULLMEDIC_LAB=1, as root (loop devices, mounts):
// `PULLMEDIC_LAB=1 npx vitest run test/lab/volume.lab.test.ts`. No containerd
// is needed: the script looks for the volume before it asks containerd, and
// prints its result line when containerd is not there (exit 3).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePruneReport } from '#core/prune-report.ts';

const LAB_ENABLED = process.env.PULLMEDIC_LAB === '1';
const repo = resolve(import.meta.dirname, '../..');
const PRUNE = join(repo, 'infra/ssm/prune-containerd.sh');
const VOLUME_ID = 'vol-0123456789abcdef0';
const EBS_LINK = `nvme-Amazon_Elastic_Block_Store_${VOLUME_ID.replace('-', '')}`;

const sh = (script: string, ...args: string[]) => {
  const r = spawnSync('bash', ['-c', script, 'lab', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0) {
    throw new Error(`exited ${r.status}: ${script}\n${r.stderr}`);
  }
  return r.stdout.trim();
};

/**
 * Runs the prune script on `root` in a private mount namespace whose /dev
 * holds only /dev/null and, when `disk` is given, the EBS link to it.
 */
const pruneOn = (root: string, disk?: string) => {
  const r = spawnSync(
    'unshare',
    [
      '--mount',
      '--propagation',
      'private',
      'bash',
      '-c',
      `set -e
      mount -t tmpfs -o size=1m pullmedic-dev /dev
      mknod -m 666 /dev/null c 1 3
      mkdir -p /dev/disk/by-id
      if [ -n "$2" ]; then
        ln -s "../../$2" "/dev/disk/by-id/${EBS_LINK}"
        ln -s "../../$2-part9" "/dev/disk/by-id/${EBS_LINK}-part9"
      fi
      CONTAINERD_ROOT="$1" CONTAINERD_ADDRESS=/run/pullmedic-lab-none.sock bash "$3"`,
      'pullmedic-volume',
      root,
      disk ?? '',
      PRUNE,
    ],
    { encoding: 'utf8', timeout: 60_000 }
  );
  return {
    status: r.status,
    stderr: r.stderr,
    report: parsePruneReport(r.stdout),
  };
};

describe.runIf(LAB_ENABLED)(
  'prune-containerd.sh: the volume behind containerd’s root',
  () => {
    let dir: string;
    let disk: string;
    let partition: string;
    const mounts: string[] = [];
    const loops: string[] = [];

    beforeAll(() => {
      if (process.getuid?.() !== 0) {
        throw new Error('PULLMEDIC_LAB=1 needs root: loop devices and mounts');
      }
      dir = mkdtempSync(join(tmpdir(), 'pullmedic-volume-'));
      // A 64 MiB disk with one MBR partition from sector 2048 to the end.
      const wholeImage = join(dir, 'whole.img');
      const partedImage = join(dir, 'parted.img');
      sh('truncate -s 64M "$1" "$2"', wholeImage, partedImage);
      const mbr = Buffer.alloc(512);
      mbr.writeUInt8(0x83, 446 + 4);
      mbr.writeUInt32LE(2048, 446 + 8);
      mbr.writeUInt32LE((64 << 11) - 2048, 446 + 12);
      mbr.writeUInt16LE(0xaa55, 510);
      writeFileSync(join(dir, 'mbr'), mbr);
      sh(
        'dd if="$1" of="$2" conv=notrunc status=none',
        join(dir, 'mbr'),
        partedImage
      );

      disk = sh('losetup --find --show "$1"', wholeImage).replace('/dev/', '');
      loops.push(disk);
      const parted = sh(
        'losetup --find --show --partscan "$1"',
        partedImage
      ).replace('/dev/', '');
      loops.push(parted);
      // Without udev, the kernel's partition needs a node of its own.
      sh(
        'partx -a "/dev/$1" 2>/dev/null || true; [ -e "/dev/$1p1" ] || mknod "/dev/$1p1" b $(tr : " " < "/sys/class/block/$1p1/dev")',
        parted
      );
      partition = `${parted}p1`;
      for (const [dev, at] of [
        [disk, 'whole'],
        [partition, 'part'],
      ] as const) {
        sh(
          'mkfs.ext4 -q -F "/dev/$1" && mkdir -p "$2" && mount "/dev/$1" "$2"',
          dev,
          join(dir, at)
        );
        mounts.push(join(dir, at));
      }
      sh(
        'mkdir -p "$1/local/var-lib-containerd" "$2" && mount --bind "$1/local/var-lib-containerd" "$2"',
        join(dir, 'part'),
        join(dir, 'bound')
      );
      mounts.unshift(join(dir, 'bound'));
      sh(
        'mkdir -p "$1" && mount -t tmpfs -o size=8m pullmedic-lab "$1"',
        join(dir, 'tmpfs')
      );
      mounts.unshift(join(dir, 'tmpfs'));
    }, 60_000);

    afterAll(() => {
      for (const m of mounts) sh('umount "$1" || true', m);
      for (const l of loops) sh('losetup -d "/dev/$1" || true', l);
      if (partition)
        sh('[ -b "/dev/$1" ] && rm -f "/dev/$1" || true', partition);
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('reports null for both on a tmpfs, as the lab runs containerd, and still prints its line', () => {
      // Act
      const run = pruneOn(join(dir, 'tmpfs'));

      // Assess
      expect(run.status).toBe(3);
      expect(run.report?.volume).toEqual({ id: null, device: null });
      expect(run.report?.errors.join()).toMatch(/no containerd socket/);
    });

    it('names the EBS volume and its disk when the root is on a whole disk', () => {
      // Act
      const run = pruneOn(join(dir, 'whole'), disk);

      // Assess
      expect(run.report?.volume).toEqual({
        id: VOLUME_ID,
        device: `/dev/${disk}`,
      });
      expect(run.stderr).toContain(
        `containerd's root is on /dev/${disk} (EBS ${VOLUME_ID})`
      );
    });

    it('names the disk, not the partition, when the root is on a partition', () => {
      // Act
      const run = pruneOn(join(dir, 'part'), partition.replace(/p1$/, ''));

      // Assess
      expect(run.report?.volume).toEqual({
        id: VOLUME_ID,
        device: `/dev/${partition.replace(/p1$/, '')}`,
      });
    });

    it('follows a bind mount to the volume it sits on, as on Bottlerocket', () => {
      // Act
      const run = pruneOn(join(dir, 'bound'), partition.replace(/p1$/, ''));

      // Assess
      expect(run.report?.volume?.id).toBe(VOLUME_ID);
    });

    it('reports the device and no id when no link names the volume (Xen, or not EBS)', () => {
      // Act
      const run = pruneOn(join(dir, 'whole'));

      // Assess
      expect(run.report?.volume).toEqual({ id: null, device: `/dev/${disk}` });
    });
  }
);
