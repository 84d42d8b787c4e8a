import { PRUNE_RESULT_PREFIX } from '../../core/prune-report.ts';
import { containerdDiskOf, EKS_PAUSE_IMAGE, type FleetNode } from './fleet.ts';

const GiB = 1024 ** 3;

/** What running the prune document on a node produced. */
export interface Execution {
  status: 'Success' | 'Failed';
  responseCode: number;
  stdout: string;
  stderr: string;
}

/** A node whose disk the local runtime models, when the lab is not used. */
export interface LocalNode {
  readonly kind: 'simulated' | 'lab';
  readonly name: string;
  /** Runs the prune document's logic on the node. */
  prune(dryRun: boolean): Promise<Execution>;
  /** The kubelet retries a pull: true when it now succeeds. */
  pull(image: string): Promise<{ ok: true } | { ok: false; message: string }>;
  /** Releases what the node holds (the lab's containerd, tmpfs, registry). */
  stop?(): Promise<void>;
}

const isPause = (image: { ref: string }): boolean =>
  /\/pause:[^/]+$/.test(image.ref);

/**
 * A simulated node: a containerd filesystem of the fleet's size holding the
 * fleet's images. Its prune prints the same result line as the document's
 * script and frees what `crictl rmi --prune` would: unused images and what
 * the failed unpack left behind. Its containerd filesystem is the volume
 * that holds containerd (the root, or /dev/xvdb: Bottlerocket's data volume
 * or the nodeadm layout's), and its result line names that volume as a
 * Nitro node's script would: the EBS volume id EC2 gave it, and its NVMe
 * disk. It is labelled "simulated" wherever the local runtime reports it.
 *
 * @example
 * ```ts
 * const node = new SimulatedNode(DEFAULT_FLEET.nodes[0], { '/dev/xvda': 'vol-…' });
 * await node.prune(false);
 * ```
 */
export class SimulatedNode implements LocalNode {
  readonly kind = 'simulated';
  readonly name: string;
  readonly #sizeBytes: number;
  readonly #systemBytes: number;
  #images: { ref: string; bytes: number; inUse: boolean }[];
  #leftoverBytes: number;
  readonly #pullingBytes: number;
  readonly #volume: { id: string | null; device: string };

  /** `volumeIds`: the EBS volume id of each device, as EC2 attached them. */
  constructor(spec: FleetNode, volumeIds: Record<string, string> = {}) {
    this.name = spec.name;
    const disk = containerdDiskOf(spec);
    this.#sizeBytes = disk.sizeGiB * GiB;
    // On Nitro the root is the first NVMe disk, the data volume the second.
    this.#volume = {
      id: volumeIds[disk.deviceName] ?? null,
      device: disk.deviceName === '/dev/xvda' ? '/dev/nvme0n1' : '/dev/nvme1n1',
    };
    const sim = spec.simulation;
    this.#systemBytes = sim.systemGiB * GiB;
    this.#images = sim.images.map((i) => ({
      ref: i.ref,
      bytes: Math.round(i.sizeGiB * GiB),
      inUse: i.inUse,
    }));
    // Every EKS node has its sandbox image, whether or not a fleet file
    // lists it: without one, the prune would report it missing and page.
    if (!this.#images.some(isPause)) {
      this.#images.unshift({
        ref: EKS_PAUSE_IMAGE,
        bytes: 300_000,
        inUse: true,
      });
    }
    this.#leftoverBytes = sim.failedPullLeftoverGiB * GiB;
    this.#pullingBytes = sim.pullingImageGiB * GiB;
  }

  #used(): number {
    return (
      this.#systemBytes +
      this.#leftoverBytes +
      this.#images.reduce((s, i) => s + i.bytes, 0)
    );
  }

  async prune(dryRun: boolean): Promise<Execution> {
    const before = this.#used();
    // As the prune document: images no container uses, never the sandbox
    // image (an EKS node cannot pull it again by itself).
    const removable = this.#images.filter((i) => !i.inUse && !isPause(i));
    const pause = this.#images.find(isPause);
    if (!dryRun) {
      this.#images = this.#images.filter((i) => !removable.includes(i));
      this.#leftoverBytes = 0;
    }
    const after = this.#used();
    const report = {
      v: 1,
      dryRun,
      fsBytesTotal: this.#sizeBytes,
      bytesBefore: before,
      bytesAfter: after,
      bytesFreed: before - after,
      freeBytesAfter: this.#sizeBytes - after,
      imagesRemoved: dryRun ? 0 : removable.length,
      imagesRemovedRefs: dryRun ? [] : removable.map((i) => i.ref),
      pauseImage: pause?.ref ?? null,
      pauseImageIntact: pause !== undefined,
      leftoverSnapshotsRemoved: dryRun ? 0 : 1,
      tools: { crictl: 'simulated', ctr: 'simulated', containerd: 'simulated' },
      method: 'simulated',
      errors: [],
      volume: this.#volume,
    };
    return {
      status: 'Success',
      responseCode: 0,
      stdout: `simulated node ${this.name}: removed ${removable.length} unused images\n${PRUNE_RESULT_PREFIX}${JSON.stringify(report)}\n`,
      stderr: '',
    };
  }

  async pull(
    image: string
  ): Promise<{ ok: true } | { ok: false; message: string }> {
    // An image the node already holds needs no room: the kubelet finds
    // it present (another pod on the node pulled it).
    if (this.#images.some((i) => i.ref === image)) return { ok: true };
    const free = this.#sizeBytes - this.#used();
    if (free < this.#pullingBytes) {
      this.#leftoverBytes += Math.min(free, 2.5 * GiB);
      return {
        ok: false,
        message: `failed to pull and unpack image "${image}": failed to extract layer (application/vnd.oci.image.layer.v1.tar+gzip sha256:573e602e6564cb45ecb9743e909c510eec7a78e6db1a3a1a7c343c091705bce1) to overlayfs as "extract-102938475-simu sha256:85b8e878ad28f1bea36973f8a98ff4df41b8cf62db7583f9edce5fca0b9e582f": write /var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/361/fs/opt/tritonserver/lib/libtritonserver.so: no space left on device`,
      };
    }
    this.#images.push({ ref: image, bytes: this.#pullingBytes, inUse: true });
    return { ok: true };
  }
}
