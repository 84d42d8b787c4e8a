import { describe, expect, it } from 'vitest';
import {
  classify,
  explain,
  MAX_SCAN_CHARS,
  stripKubeletWrappers,
} from '#core/classification/classify.ts';
import type {
  Classification,
  ClassifierInput,
  Explanation,
} from '#core/classification/types.ts';

const LAYER = `sha256:${'4231b33a0f9e54a7'.repeat(4)}`;
const CHAIN = `sha256:${'85b8e878ad28f1be'.repeat(4)}`;
const SNAPSHOTS =
  '/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots';
const ECR = '602401143452.dkr.ecr.us-west-2.amazonaws.com';

interface Case {
  name: string;
  input: ClassifierInput;
  expected: Partial<Classification>;
}

/** Asserts the verdict and the invariants every verdict must keep. */
function expectVerdict(
  input: ClassifierInput,
  expected: Partial<Classification>
) {
  const got = classify(input);
  expect(got).toMatchObject(expected);
  if (got.evidence !== null) expect(input.message).toContain(got.evidence);
  if (got.pullContext !== undefined) {
    expect(input.message).toContain(got.pullContext);
  }
  return got;
}

describe('Function: classify', () => {
  const diskFull: Case[] = [
    {
      name: 'containerd 2.x extract to overlayfs (the incident)',
      input: {
        reason: 'Failed',
        type: 'Warning',
        message: `Failed to pull image "478253497479.dkr.ecr.us-east-1.amazonaws.com/triton:resnet50": failed to pull and unpack image "478253497479.dkr.ecr.us-east-1.amazonaws.com/triton:resnet50": failed to extract layer (application/vnd.oci.image.layer.v1.tar+gzip ${LAYER}) to overlayfs as "extract-871885561-oknc ${CHAIN}": write ${SNAPSHOTS}/360/fs/opt/nvidia/nsight-compute/2023.3.1/docs/pdf/NsightCompute.pdf: no space left on device`,
      },
      expected: {
        class: 'disk_full',
        evidence: 'no space left on device',
        causeKnown: true,
        remedy: 'prune',
        image: '478253497479.dkr.ecr.us-east-1.amazonaws.com/triton:resnet50',
        registry: '478253497479.dkr.ecr.us-east-1.amazonaws.com',
        layerDigest: LAYER,
        path: `${SNAPSHOTS}/360/fs/opt/nvidia/nsight-compute/2023.3.1/docs/pdf/NsightCompute.pdf`,
        runtime: 'containerd',
        filesystem: 'containerd_root',
        pullContext: 'Failed to pull image',
      },
    },
    {
      name: 'containerd 1.x extract with the rpc error wrapper',
      input: {
        reason: 'Failed',
        message: `Failed to pull image "traefik:1.7.14": rpc error: code = Unknown desc = failed to pull and unpack image "docker.io/library/traefik:1.7.14": unpack: failed to extract layer ${LAYER}: write ${SNAPSHOTS}/27/fs/traefik: no space left on device: unknown`,
      },
      expected: {
        class: 'disk_full',
        remedy: 'prune',
        image: 'traefik:1.7.14',
        registry: 'docker.io',
        layerDigest: LAYER,
        path: `${SNAPSHOTS}/27/fs/traefik`,
        filesystem: 'containerd_root',
      },
    },
    {
      name: 'containerd mount callback in tmpmounts (k3s root)',
      input: {
        message: `failed to extract layer ${LAYER}: mount callback failed on /var/lib/rancher/k3s/agent/containerd/tmpmounts/containerd-mount252943319: write /var/lib/rancher/k3s/agent/containerd/tmpmounts/containerd-mount252943319/lib/libc.so: no space left on device: unknown`,
      },
      expected: {
        class: 'disk_full',
        pullContext: 'failed to extract layer',
        path: '/var/lib/rancher/k3s/agent/containerd/tmpmounts/containerd-mount252943319/lib/libc.so',
        filesystem: 'containerd_root',
      },
    },
    {
      name: 'containerd content ingest (blob download)',
      input: {
        message: `failed to pull and unpack image "docker.io/library/postgres:16": failed to copy: failed to send write: write /var/lib/containerd/io.containerd.content.v1.content/ingest/${'ab'.repeat(32)}/data: no space left on device: unknown`,
      },
      expected: {
        class: 'disk_full',
        remedy: 'prune',
        filesystem: 'content_store',
        image: 'docker.io/library/postgres:16',
      },
    },
    {
      name: 'containerd failed commit on ref',
      input: {
        message: `Failed to pull image "a/b:1": failed to pull and unpack image "docker.io/a/b:1": failed commit on ref "layer-${LAYER}": commit failed: no space left on device`,
      },
      expected: {
        class: 'disk_full',
        filesystem: 'content_store',
        layerDigest: LAYER,
      },
    },
    {
      name: 'containerd extraction snapshot preparation',
      input: {
        message: `Failed to pull image "a/b:1": rpc error: code = Unknown desc = failed to pull and unpack image "docker.io/a/b:1": failed to prepare extraction snapshot "extract-1-x ${CHAIN}": failed to create temp dir: mkdir ${SNAPSHOTS}/new-1: no space left on device`,
      },
      expected: {
        class: 'disk_full',
        path: `${SNAPSHOTS}/new-1`,
        filesystem: 'containerd_root',
      },
    },
    {
      name: 'FailedCreatePodSandBox pulling the pause image',
      input: {
        reason: 'FailedCreatePodSandBox',
        message: `Failed to create pod sandbox: rpc error: code = Unknown desc = failed to get sandbox image "${ECR}/eks/pause:3.5": failed to pull image "${ECR}/eks/pause:3.5": failed to pull and unpack image "${ECR}/eks/pause:3.5": failed to extract layer ${LAYER}: write ${SNAPSHOTS}/1/fs/pause: no space left on device: unknown`,
      },
      expected: {
        class: 'disk_full',
        remedy: 'prune',
        image: `${ECR}/eks/pause:3.5`,
        registry: ECR,
      },
    },
    {
      name: 'a BackOff that carries the cause (kubelet >= 1.32)',
      input: {
        reason: 'BackOff',
        type: 'Normal',
        message: `Back-off pulling image "nginx:1.27": ErrImagePull: failed to pull and unpack image "docker.io/library/nginx:1.27": failed to extract layer ${LAYER}: write ${SNAPSHOTS}/3/fs/x: no space left on device`,
      },
      expected: { class: 'disk_full', causeKnown: true, image: 'nginx:1.27' },
    },
    {
      name: 'an aggregated event',
      input: {
        reason: 'Failed',
        message: `(combined from similar events): Failed to pull image "nginx": rpc error: code = Unknown desc = failed to pull and unpack image "docker.io/library/nginx:latest": failed to extract layer ${LAYER}: write ${SNAPSHOTS}/9/fs/x: no space left on device: unknown`,
      },
      expected: { class: 'disk_full', image: 'nginx' },
    },
    {
      name: 'Docker register layer in an old FailedSync',
      input: {
        reason: 'FailedSync',
        message:
          'Error syncing pod, skipping: failed to "StartContainer" for "svc" with ErrImagePull: "failed to register layer: Untar re-exec error: exit status 1: output: open /srv/node_modules/x: no space left on device"',
      },
      expected: {
        class: 'disk_full',
        runtime: 'docker',
        filesystem: 'docker_root',
        path: '/srv/node_modules/x',
      },
    },
    {
      name: 'Docker register layer without a path',
      input: { message: 'failed to register layer: no space left on device' },
      expected: { class: 'disk_full', filesystem: 'docker_root' },
    },
    {
      name: 'Docker blob download to its tmp dir',
      input: {
        message:
          'Failed to pull image "x": rpc error: code = Unknown desc = Error response from daemon: write /var/lib/docker/tmp/GetImageBlob123: no space left on device',
      },
      expected: {
        class: 'disk_full',
        runtime: 'docker',
        filesystem: 'docker_root',
        path: '/var/lib/docker/tmp/GetImageBlob123',
      },
    },
    {
      name: 'CRI-O blob staging in /var/tmp (escalate, pruning does not help)',
      input: {
        message:
          'rpc error: code = Unknown desc = Error writing blob: error storing blob to file "/var/tmp/storage333619107/1": write /var/tmp/storage333619107/1: no space left on device',
      },
      expected: {
        class: 'disk_full',
        remedy: 'escalate',
        runtime: 'cri-o',
        filesystem: 'crio_tmp',
        path: '/var/tmp/storage333619107/1',
      },
    },
    {
      name: 'CRI-O blob staging, containers/image >= 5.x wording',
      input: {
        reason: 'Failed',
        message:
          'Failed to pull image "quay.io/x/y:1": rpc error: code = Unknown desc = writing blob: storing blob to file "/var/tmp/container_images_storage1234/1": write /var/tmp/container_images_storage1234/1: no space left on device',
      },
      expected: {
        class: 'disk_full',
        remedy: 'escalate',
        filesystem: 'crio_tmp',
        registry: 'quay.io',
      },
    },
    {
      name: 'CRI-O blob staging moved into the storage root',
      input: {
        message:
          'writing blob: storing blob to file "/var/lib/containers/storage/tmp/1": write /var/lib/containers/storage/tmp/1: no space left on device',
      },
      expected: { class: 'disk_full', remedy: 'prune', filesystem: 'unknown' },
    },
    {
      name: 'CRI-O staging file in /var/tmp named by the write only',
      input: {
        message:
          'writing blob: creating temporary file: open /var/tmp/container_images_storage9/2: no space left on device',
      },
      expected: { class: 'disk_full', filesystem: 'crio_tmp' },
    },
    {
      name: 'CRI-O layer apply into containers/storage',
      input: {
        message: `Failed to pull image "quay.io/x/y:1": copying system image from manifest list: writing blob: adding layer with blob "${LAYER}": processing tar file(write /usr/lib/x: no space left on device): exit status 1`,
      },
      expected: {
        class: 'disk_full',
        remedy: 'prune',
        filesystem: 'unknown',
        layerDigest: LAYER,
        path: '/usr/lib/x',
      },
    },
    {
      name: 'a layer file under /var/tmp is still the storage root',
      input: {
        message: `writing blob: adding layer with blob "${LAYER}": ApplyLayer exit status 1 stdout:  stderr: write /var/tmp/cache.db: no space left on device`,
      },
      expected: { class: 'disk_full', remedy: 'prune' },
    },
    {
      name: 'the errno name instead of its text',
      input: {
        message: `failed to pull and unpack image "a:1": failed to extract layer ${LAYER}: write ${SNAPSHOTS}/5/fs/x: ENOSPC`,
      },
      expected: { class: 'disk_full', evidence: 'ENOSPC' },
    },
    {
      name: 'Windows ERROR_DISK_FULL',
      input: {
        message: `failed to pull and unpack image "mcr.microsoft.com/windows/servercore:ltsc2022": failed to extract layer ${LAYER}: hcsshim::ImportLayer failed in Win32: There is not enough space on the disk. (0x70)`,
      },
      expected: {
        class: 'disk_full',
        evidence: 'not enough space on the disk',
      },
    },
    {
      name: 'Docker layer application without its register-layer wrapper',
      input: {
        message:
          'Error processing tar file(exit status 1): write /usr/lib/x86_64-linux-gnu/libicudata.so.66: no space left on device',
      },
      expected: {
        class: 'disk_full',
        pullContext: 'processing tar file',
        filesystem: 'unknown',
      },
    },
    {
      name: 'Docker untar re-exec inside a kubelet FailedSync',
      input: {
        reason: 'FailedSync',
        message:
          'Error syncing pod, skipping: failed to "StartContainer" for "app" with ErrImagePull: "Untar re-exec error: exit status 1: output: write /opt/app/lib.so: no space left on device"',
      },
      expected: { class: 'disk_full', remedy: 'prune', runtime: 'docker' },
    },
    {
      name: 'a pull word before the containerd metadata store (ctr import)',
      input: {
        message: `unpacking docker.io/library/app:1 (sha256:${'c'.repeat(64)})...time="2020-03-18T17:11:51Z" level=warning msg="failed to remove lease" error="write /var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db: no space left on device: unknown"`,
      },
      expected: {
        class: 'disk_full',
        remedy: 'prune',
        pullContext: 'unpack',
        path: '/var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db',
        filesystem: 'containerd_root',
      },
    },
    {
      name: "the unpacker's apply failure over the metadata store",
      input: {
        message:
          'level=info msg="apply failure, attempting cleanup" error="write /var/lib/rancher/rke2/agent/containerd/io.containerd.metadata.v1.bolt/meta.db: no space left on device: unknown" key="extract-1-x sha256:1"',
      },
      expected: {
        class: 'disk_full',
        pullContext: 'apply failure, attempting cleanup',
        filesystem: 'containerd_root',
      },
    },
    {
      name: 'the CRI call name before the RKE2 content store',
      input: {
        message:
          'PullImage "app:1" failed: write /var/lib/rancher/rke2/agent/containerd/io.containerd.content.v1.content/ingest/1/data: no space left on device',
      },
      expected: {
        class: 'disk_full',
        filesystem: 'content_store',
        pullContext: 'PullImage',
      },
    },
    {
      name: 'a pull word before containers/storage layers',
      input: {
        message:
          'error pulling blob: write /var/lib/containers/storage/overlay-layers/layers.json: no space left on device',
      },
      expected: { class: 'disk_full', pullContext: 'pull' },
    },
  ];

  it.each(diskFull)('classifies $name as disk_full', ({ input, expected }) => {
    // Prepare
    const message = input.message;

    // Act
    const got = expectVerdict(input, expected);

    // Assess
    expect(got.class).toBe('disk_full');
    expect(got.pullContext).toBeDefined();
    expect(message.indexOf(got.pullContext as string)).toBeLessThan(
      message.indexOf(got.evidence as string)
    );
  });

  const otherNoSpace: Case[] = [
    {
      name: 'an inotify watch',
      input: {
        message:
          'Failed to watch directory "/sys/fs/cgroup/pids/kubepods": inotify_add_watch /sys/fs/cgroup/pids/kubepods: no space left on device',
      },
      expected: { path: '/sys/fs/cgroup/pids/kubepods' },
    },
    {
      name: 'the CNI config watch',
      input: {
        message:
          'error configuring CNI network plugin: failed to add watch on "/etc/cni/net.d/": no space left on device',
      },
      expected: { path: '/etc/cni/net.d/' },
    },
    {
      name: 'the /dev/shm tmpfs',
      input: {
        message:
          'Error response from daemon: mounting shm tmpfs: no space left on device.',
      },
      expected: { runtime: 'docker' },
    },
    {
      name: 'a runc rootfs mount',
      input: {
        message:
          'container_linux.go:349: starting container process caused "process_linux.go:449: container init caused \\"rootfs_linux.go:58: mounting \\\\\\"/sys\\\\\\" to rootfs \\\\\\"/var/lib/containers/storage/overlay/a/merged\\\\\\" caused \\\\\\"no space left on device\\\\\\"\\""',
      },
      expected: {},
    },
    {
      name: 'a projected volume',
      input: {
        reason: 'FailedMount',
        message:
          'MountVolume.SetUp failed for volume "kube-api-access-x" : write /var/lib/kubelet/pods/f8/volumes/kubernetes.io~projected/kube-api-access-x/ca.crt: no space left on device',
      },
      expected: {
        path: '/var/lib/kubelet/pods/f8/volumes/kubernetes.io~projected/kube-api-access-x/ca.crt',
      },
    },
    {
      name: 'a sandbox whose network namespace cannot fork',
      input: {
        reason: 'FailedCreatePodSandBox',
        message:
          'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to create network namespace for sandbox "e4": failed to start noop process for unshare: fork/exec /proc/self/exe: no space left on device',
      },
      expected: { path: '/proc/self/exe' },
    },
    {
      name: 'a pull whose credential provider cannot fork',
      input: {
        reason: 'Failed',
        message: `Failed to pull image "${ECR}/a:1": rpc error: code = Unknown desc = error running credential provider plugin "ecr-credential-provider": fork/exec /etc/eks/image-credential-provider/ecr-credential-provider: no space left on device`,
      },
      expected: { image: `${ECR}/a:1` },
    },
    {
      name: 'a pull reporting a pod volume path (microk8s layout)',
      input: {
        message:
          'Failed to pull image "a": write /var/snap/microk8s/common/var/lib/kubelet/pods/x/volumes/data: no space left on device',
      },
      expected: {},
    },
    {
      name: 'a pull reporting /dev/shm',
      input: {
        message:
          'Failed to pull image "a": failed to pull and unpack image "a": write /dev/shm/x: no space left on device',
      },
      expected: {},
    },
    {
      name: 'containerd container creation (not a pull)',
      input: {
        message: `Error: failed to create containerd container: failed to prepare snapshot: mkdir ${SNAPSHOTS}/99: no space left on device`,
      },
      expected: { runtime: 'containerd' },
    },
    {
      name: 'CRI-O container creation (not a pull)',
      input: {
        message:
          'Error: container create failed: creating read-write layer with ID "abc": mkdir /var/lib/containers/storage/overlay/abc: no space left on device',
      },
      expected: { runtime: 'cri-o' },
    },
    {
      name: "an app's own volume",
      input: {
        message:
          'FATAL:  could not write lock file "postmaster.pid": No space left on device',
      },
      expected: { evidence: 'No space left on device' },
    },
    {
      name: 'git-sync failing to pull a repository',
      input: {
        message:
          'failed to pull: error: unable to write file: write /repo/.git/objects/pack/x: no space left on device',
      },
      expected: {},
    },
    {
      name: 'an ENOSPC that comes before the pull wording',
      input: {
        message:
          'mkdir /data/x: no space left on device (while pulling image "a")',
      },
      expected: {},
    },
    {
      name: 'the containerd metadata store while a plugin loads (no pull)',
      input: {
        message:
          'failed to load plugin io.containerd.service.v1.images-service  error="write /var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db: no space left on device"',
      },
      expected: { runtime: 'containerd' },
    },
    {
      name: 'a pull word only inside a quoted image name',
      input: {
        message:
          'failed to create containerd container: "acme/pull-through:1": write /var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db: no space left on device',
      },
      expected: {},
    },
    {
      name: 'a pull word only after the path that filled',
      input: {
        message:
          'write /var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db: no space left on device (pulling)',
      },
      expected: {},
    },
    {
      name: "a pull wording over the runtime's per-container state on /run",
      input: {
        message:
          'Failed to pull image "a:1": open /run/containerd/io.containerd.runtime.v2.task/k8s.io/c/config.json: no space left on device',
      },
      expected: { image: 'a:1' },
    },
    {
      name: "a pull word over Docker's container logs",
      input: {
        message: `error pulling image: failed to write /var/lib/docker/containers/${'ab'.repeat(32)}/x-json.log: no space left on device`,
      },
      expected: {},
    },
    {
      name: 'a docker build COPY step (tar wording, not a pull)',
      input: {
        message:
          'failed to copy files: failed to copy directory: Error processing tar file(exit status 1): write /app/data.bin: no space left on device',
      },
      expected: {},
    },
    {
      name: "an app's own tar",
      input: {
        message:
          'tar: geth/chaindata/38841535.ldb: Cannot open: No space left on device',
      },
      expected: {},
    },
    {
      name: 'a container created in containers/storage (no pull word)',
      input: {
        message: `mkdir /var/lib/containers/storage/overlay/${'ab'.repeat(32)}/merged.1: no space left on device`,
      },
      expected: { runtime: 'cri-o' },
    },
  ];

  it.each(otherNoSpace)(
    'classifies $name as other_no_space, never disk_full',
    ({ input, expected }) => {
      // Prepare
      const expectations = {
        class: 'other_no_space',
        remedy: 'notify',
        ...expected,
      } as const;

      // Act
      const got = expectVerdict(input, expectations);

      // Assess
      expect(got.pullContext).toBeUndefined();
      expect(got.filesystem).toBeUndefined();
    }
  );

  const otherClasses: Case[] = [
    {
      name: 'a Docker Hub 429',
      input: {
        message:
          'Failed to pull image "busybox": rpc error: code = Unknown desc = failed to pull and unpack image "docker.io/library/busybox:latest": failed to copy: httpReadSeeker: failed open: unexpected status code https://registry-1.docker.io/v2/library/busybox/manifests/sha256:50aa: 429 Too Many Requests - Server message: toomanyrequests: You have reached your pull rate limit.',
      },
      expected: { class: 'rate_limited', image: 'busybox' },
    },
    {
      name: 'a bare 429 status',
      input: { message: 'failed to fetch manifest: unexpected status: 429' },
      expected: { class: 'rate_limited', evidence: 'status: 429' },
    },
    {
      name: "the kubelet's pull QPS",
      input: { message: 'Failed to pull image "a:1": pull QPS exceeded' },
      expected: { class: 'rate_limited' },
    },
    {
      name: 'ECR without credentials',
      input: {
        message: `Failed to pull image "${ECR}/a:1": rpc error: code = Unknown desc = Error response from daemon: Get https://${ECR}/v2/a/manifests/1: no basic auth credentials`,
      },
      expected: { class: 'auth', evidence: 'no basic auth credentials' },
    },
    {
      name: 'a 401 from containerd 2.x',
      input: {
        message: `failed to resolve reference "${ECR}/a:1": pulling from host ${ECR} failed with status code [manifests 1]: 401 Unauthorized`,
      },
      expected: { class: 'auth', evidence: 'Unauthorized' },
    },
    {
      name: 'a 403 from a token endpoint',
      input: {
        message:
          'failed to authorize: failed to fetch oauth token: unexpected status from GET request to https://europe-docker.pkg.dev/v2/token: 403 Forbidden',
      },
      expected: { class: 'auth', evidence: 'Forbidden' },
    },
    {
      name: 'an expired ECR token',
      input: {
        message:
          'denied: Your authorization token has expired. Reauthenticate and try again.',
      },
      expected: { class: 'auth' },
    },
    {
      name: 'a bare 403 status',
      input: { message: 'fetching token: unexpected status code 403' },
      expected: { class: 'auth' },
    },
    {
      name: 'a missing tag (containerd NotFound)',
      input: {
        message:
          'Failed to pull image "nginx:1.99": rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/nginx:1.99": failed to resolve reference "docker.io/library/nginx:1.99": docker.io/library/nginx:1.99: not found',
      },
      expected: { class: 'not_found', image: 'nginx:1.99' },
    },
    {
      name: 'a missing manifest (Docker)',
      input: {
        message:
          'Error response from daemon: manifest for public.ecr.aws/p/w:v1 not found: manifest unknown: Requested image not found',
      },
      expected: {
        class: 'not_found',
        image: 'public.ecr.aws/p/w:v1',
        registry: 'public.ecr.aws',
      },
    },
    {
      name: 'a missing repository (old Docker)',
      input: {
        message:
          'Error response from daemon: repository docker.io/foo/bar not found: does not exist or no pull access',
      },
      expected: { class: 'not_found' },
    },
    {
      name: 'a missing ECR repository through CRI-O',
      input: {
        message: `reading manifest v1 in ${ECR}/app: name unknown: The repository with name 'app' does not exist in the registry with id '602401143452'`,
      },
      expected: {
        class: 'not_found',
        image: `${ECR}/app:v1`,
        runtime: 'cri-o',
      },
    },
    {
      name: 'a 404 from containerd 2.x',
      input: {
        message:
          'failed to resolve reference "docker.io/a/b:1": pulling from host registry-1.docker.io failed with status code [manifests 1]: 404 Not Found',
      },
      expected: { class: 'not_found' },
    },
    {
      name: 'an image pinned by digest that is gone',
      input: {
        message:
          'rpc error: code = Unknown desc = initializing source docker://quay.io/okd/scos@sha256:6371: reading manifest sha256:6371 in quay.io/okd/scos: manifest unknown',
      },
      expected: {
        class: 'not_found',
        image: 'quay.io/okd/scos@sha256:6371',
        registry: 'quay.io',
      },
    },
    {
      name: 'only the gRPC NotFound code',
      input: {
        message:
          'Failed to pull image "a": rpc error: code = NotFound desc = something went away',
      },
      expected: { class: 'not_found', evidence: 'code = NotFound' },
    },
    {
      name: 'only the gRPC Unauthenticated code',
      input: { message: 'rpc error: code = Unauthenticated desc = nope' },
      expected: { class: 'auth' },
    },
    {
      name: 'only the gRPC Unavailable code',
      input: { message: 'rpc error: code = Unavailable desc = nope' },
      expected: { class: 'network' },
    },
    {
      name: 'a DNS failure on the pause image',
      input: {
        reason: 'FailedCreatePodSandBox',
        message:
          'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to get sandbox image "registry.k8s.io/pause:3.10": failed to pull image "registry.k8s.io/pause:3.10": failed to pull and unpack image "registry.k8s.io/pause:3.10": failed to resolve reference "registry.k8s.io/pause:3.10": failed to do request: Head "https://registry.k8s.io/v2/pause/manifests/3.10": dial tcp: lookup registry.k8s.io on 192.168.98.2:53: no such host',
      },
      expected: { class: 'network', image: 'registry.k8s.io/pause:3.10' },
    },
    {
      name: 'an i/o timeout while fetching a token',
      input: {
        message:
          'failed to resolve reference "docker.ketches.cn/library/nginx:latest": failed to authorize: failed to fetch anonymous token: Get "https://auth.docker.io/token": dial tcp 1.2.3.4:443: i/o timeout',
      },
      expected: { class: 'network' },
    },
    {
      name: 'a bare EOF',
      input: {
        message:
          'failed to do request: Head "https://x.example.com/v2/a/manifests/1": EOF',
      },
      expected: { class: 'network', evidence: ': EOF' },
    },
    {
      name: 'an interrupted CRI-O blob copy (no ENOSPC)',
      input: {
        message:
          'rpc error: code = Unknown desc = writing blob: storing blob to file "/var/tmp/storage2866776745/3": happened during read: unexpected EOF',
      },
      expected: { class: 'network', runtime: 'cri-o' },
    },
    {
      name: 'a stalled pull',
      input: {
        message:
          'cancel pulling image registry.example.com/a/b:1 because of no progress in 1m0s',
      },
      expected: { class: 'network', image: 'registry.example.com/a/b:1' },
    },
    {
      name: 'a registry the kubelet marks unavailable',
      input: {
        message:
          'Back-off pulling image "a:1": RegistryUnavailable: image pull failed for a:1 because the registry is unavailable',
      },
      expected: { class: 'network' },
    },
    {
      name: 'a TLS handshake timeout (network, not tls)',
      input: {
        message:
          'Error response from daemon: Get "https://registry-1.docker.io/v2/": net/http: TLS handshake timeout',
      },
      expected: { class: 'network' },
    },
    {
      name: 'an unknown certificate authority',
      input: {
        message:
          'failed to do request: Head "https://r.example.com/v2/": tls: failed to verify certificate: x509: certificate signed by unknown authority',
      },
      expected: { class: 'tls' },
    },
    {
      name: 'a plain-HTTP registry',
      input: {
        message:
          'Error response from daemon: Get "https://10.0.0.5:5000/v2/": http: server gave HTTP response to HTTPS client',
      },
      expected: { class: 'tls', registry: '10.0.0.5:5000' },
    },
    {
      name: 'a TLS alert',
      input: { message: 'remote error: tls: handshake failure' },
      expected: { class: 'tls', evidence: 'tls: ' },
    },
    {
      name: 'a missing platform',
      input: {
        message:
          'Failed to pull image "ghcr.io/a/b:0.1.5": rpc error: code = NotFound desc = failed to pull and unpack image "ghcr.io/a/b:0.1.5": no match for platform in manifest: not found',
      },
      expected: { class: 'platform', registry: 'ghcr.io' },
    },
    {
      name: 'a binary for another architecture',
      input: { message: 'exec /app/entrypoint.sh: exec format error' },
      expected: { class: 'platform' },
    },
    {
      name: 'an unparseable reference',
      input: {
        reason: 'InspectFailed',
        message:
          'Failed to apply default image tag "Nginx:1": couldn\'t parse image reference "Nginx:1": invalid reference format: repository name must be lowercase',
      },
      expected: { class: 'invalid_name', image: 'Nginx:1' },
    },
    {
      name: 'a CRI-O short name',
      input: {
        reason: 'ImageInspectError',
        message:
          'Failed to inspect image "busybox": rpc error: code = Unknown desc = short-name "busybox:latest" did not resolve to an alias and no unqualified-search registries are defined in ""',
      },
      expected: { class: 'invalid_name', runtime: 'cri-o' },
    },
    {
      name: 'a podman 1.x short name without search registries',
      input: {
        message:
          'Error: unable to pull alpine: image name provided is a short name and no search registries are defined in the registries config file.',
      },
      expected: { class: 'invalid_name', runtime: 'cri-o' },
    },
    {
      name: 'a buildah short name without search registries',
      input: {
        message:
          'error creating build container: (image name "alpine:latest" is a short name and no search registries are defined in /etc/containers/registries.conf)',
      },
      expected: { class: 'invalid_name' },
    },
    {
      name: 'an old CRI-O without registries configured',
      input: {
        reason: 'Failed',
        message:
          'Failed to pull image "nginx": rpc error: code = Unknown desc = no registries configured while trying to pull an unqualified image',
      },
      expected: { class: 'invalid_name', runtime: 'cri-o' },
    },
    {
      name: 'a short name in enforcing mode without a TTY',
      input: {
        message:
          'Error: short-name resolution enforced but cannot prompt without a TTY',
      },
      expected: { class: 'invalid_name' },
    },
    {
      name: 'the InvalidImageName reason',
      input: { reason: 'InvalidImageName', message: 'Error: InvalidImageName' },
      expected: { class: 'invalid_name', evidence: 'InvalidImageName' },
    },
    {
      name: 'a never-pull policy',
      input: {
        reason: 'ErrImageNeverPull',
        message:
          'Container image "nginx:latest" is not present with pull policy of Never',
      },
      expected: { class: 'never_pull', image: 'nginx:latest' },
    },
    {
      name: 'an ephemeral-storage eviction',
      input: {
        reason: 'Evicted',
        message:
          'The node was low on resource: ephemeral-storage. Threshold quantity: 2146223340, available: 2072712Ki.',
      },
      expected: { class: 'disk_pressure_eviction' },
    },
    {
      name: 'an old DiskPressure eviction',
      input: {
        reason: 'Evicted',
        message: 'The node had condition: [DiskPressure]. ',
      },
      expected: { class: 'disk_pressure_eviction', evidence: 'DiskPressure' },
    },
    {
      name: 'the NodeHasDiskPressure reason with an empty message',
      input: { reason: 'NodeHasDiskPressure', message: '' },
      expected: { class: 'disk_pressure_eviction', evidence: null },
    },
    {
      name: 'the disk-pressure taint',
      input: {
        reason: 'FailedScheduling',
        message:
          '0/3 nodes are available: 3 node(s) had untolerated taint {node.kubernetes.io/disk-pressure: }.',
      },
      expected: { class: 'disk_pressure_eviction' },
    },
    {
      name: 'a memory eviction',
      input: {
        reason: 'Evicted',
        message:
          'The node was low on resource: memory. Threshold quantity: 100Mi.',
      },
      expected: { class: 'other' },
    },
    {
      name: 'a pod over its own ephemeral-storage limit',
      input: {
        reason: 'Evicted',
        message:
          'Pod ephemeral local storage usage exceeds the total limit of containers 7144Mi.',
      },
      expected: { class: 'other' },
    },
    {
      name: 'a kubelet 1.34 FreeDiskSpaceFailed',
      input: {
        reason: 'FreeDiskSpaceFailed',
        message:
          "Insufficient free disk space on the node's image filesystem (85% of 89.9 GiB used). Failed to free sufficient space by deleting unused images (freed 36018163 bytes).",
      },
      expected: {
        class: 'image_gc_failed',
        remedy: 'grow_volume',
        gcFreedBytes: 36018163,
      },
    },
    {
      name: 'an image GC failure without its reason',
      input: {
        message:
          'Image garbage collection failed multiple times in a row: failed to garbage collect required amount of images. Wanted to free 5487241625 bytes, but freed 0 bytes',
      },
      expected: {
        class: 'image_gc_failed',
        remedy: 'grow_volume',
        gcWantedBytes: 5487241625,
        gcFreedBytes: 0,
      },
    },
    {
      name: 'an ImageGCFailed about image stats',
      input: {
        reason: 'ImageGCFailed',
        message:
          'failed to get imageFs info: unable to find data in memory cache',
      },
      expected: {
        class: 'image_gc_failed',
        evidence:
          'failed to get imageFs info: unable to find data in memory cache',
      },
    },
    {
      name: 'a GC reason whose message names only the size',
      input: {
        reason: 'FreeDiskSpaceFailed',
        message:
          'wanted to free 10, but freed 2 space with errors in image deletion',
      },
      expected: {
        class: 'image_gc_failed',
        evidence: 'wanted to free 10, but',
        gcWantedBytes: 10,
        gcFreedBytes: 2,
      },
    },
  ];

  it.each(otherClasses)('classifies $name', ({ input, expected }) => {
    // Prepare
    const cls = expected.class;

    // Act
    const got = expectVerdict(input, expected);

    // Assess
    expect(cls).not.toBe('disk_full');
    expect(got.pullContext).toBeUndefined();
    expect(got.filesystem).toBeUndefined();
    expect(got.causeKnown).toBe(true);
  });

  const causeless: Case[] = [
    {
      name: 'Error: ErrImagePull',
      input: { message: 'Error: ErrImagePull' },
      expected: {},
    },
    {
      name: 'Error: ImagePullBackOff',
      input: { reason: 'Failed', message: 'Error: ImagePullBackOff' },
      expected: {},
    },
    {
      name: 'a bare BackOff',
      input: {
        reason: 'BackOff',
        type: 'Normal',
        message:
          'Back-off pulling image "478253497479.dkr.ecr.us-east-1.amazonaws.com/triton:resnet50"',
      },
      expected: {
        image: '478253497479.dkr.ecr.us-east-1.amazonaws.com/triton:resnet50',
      },
    },
    {
      name: 'an aggregated bare BackOff',
      input: {
        message: '(combined from similar events): Back-off pulling image "x"',
      },
      expected: { image: 'x' },
    },
    {
      name: 'a BackOff without quotes',
      input: { message: 'Back-off pulling image nginx' },
      expected: {},
    },
    {
      name: 'an old FailedSync BackOff',
      input: {
        reason: 'FailedSync',
        message:
          'Error syncing pod, skipping: failed to "StartContainer" for "nginx" with ImagePullBackOff: "Back-off pulling image \\"nginx\\""',
      },
      expected: { image: 'nginx' },
    },
    {
      name: 'a Pulling event',
      input: {
        reason: 'Pulling',
        type: 'Normal',
        message: 'Pulling image "nginx"',
      },
      expected: {},
    },
    {
      name: 'a Pulled event',
      input: {
        reason: 'Pulled',
        message:
          'Successfully pulled image "amazon/aws-cli:latest" in 5.419s (5.419s including waiting). Image size: 128976715 bytes.',
      },
      expected: {},
    },
    {
      name: 'an image already present',
      input: {
        message: 'Container image "nginx:1.27" already present on machine',
      },
      expected: {},
    },
    {
      name: 'a Pulled event',
      input: {
        reason: 'Pulled',
        type: 'Normal',
        message: 'Successfully pulled image "nginx:1.27" in 1.2s',
      },
      expected: { image: 'nginx:1.27' },
    },
    {
      name: 'the node recovering from disk pressure',
      input: {
        reason: 'NodeHasNoDiskPressure',
        type: 'Normal',
        message:
          'Node ip-10-0-1-1.ec2.internal status is now: NodeHasNoDiskPressure',
      },
      expected: {},
    },
    {
      name: 'a Normal Started event',
      input: {
        reason: 'Started',
        type: 'Normal',
        message: 'Started container sync-models',
      },
      expected: {},
    },
    { name: 'an empty message', input: { message: '' }, expected: {} },
    { name: 'whitespace', input: { message: ' \n\t ' }, expected: {} },
  ];

  it.each(causeless)(
    'gives $name no cause and no remedy',
    ({ input, expected }) => {
      // Prepare
      const expectations = {
        class: 'other',
        evidence: null,
        causeKnown: false,
        remedy: 'none',
        ...expected,
      } as const;

      // Act
      const got = classify(input);

      // Assess
      expect(got).toMatchObject(expectations);
    }
  );

  it('keeps the runtime error as evidence of an unrecognised cause', () => {
    // Prepare
    const input = {
      reason: 'Failed',
      message:
        'Error syncing pod, skipping: failed to "StartContainer" for "POD" with RunContainerError: "runContainer: API error (500): Cannot start container f0: [8] System error: too many open files in system\\n"',
    };

    // Act
    const got = classify(input);

    // Assess
    expect(got).toMatchObject({
      class: 'other',
      causeKnown: true,
      remedy: 'notify',
      evidence:
        'runContainer: API error (500): Cannot start container f0: [8] System error: too many open files in system',
    });
  });

  it('does not mistake task or local-content NotFound for a missing image', () => {
    // Prepare
    const messages = [
      'Error: failed to get sandbox container task: no running task found: task abc not found: not found',
      `failed to extract layer ${LAYER}: failed to get reader from content store: content digest ${LAYER}: not found`,
      'Error: failed to create containerd task: exec: "foo": executable file not found in $PATH: unknown',
    ];

    // Act
    const classes = messages.map((message) => classify({ message }).class);

    // Assess
    expect(classes).toEqual(['other', 'other', 'other']);
  });

  it('does not read phrases out of image names', () => {
    // Prepare
    const message = `Failed to pull image "acme/short-name-unauthorized:ENOSPC": failed to pull and unpack image "docker.io/acme/short-name-unauthorized:ENOSPC": failed to resolve reference "docker.io/acme/short-name-unauthorized:ENOSPC": docker.io/acme/short-name-unauthorized:ENOSPC: not found`;

    // Act
    const got = classify({ message });

    // Assess
    expect(got.class).toBe('not_found');
  });

  it('keeps the cause of a Normal BackOff that repeats an unrecognised error', () => {
    // Prepare
    const input = {
      reason: 'BackOff',
      type: 'Normal',
      message:
        'Back-off pulling image "a:1": SignatureValidationFailed: image pull failed for a:1 because the signature validation failed',
    };

    // Act
    const got = classify(input);

    // Assess
    expect(got).toMatchObject({
      class: 'other',
      causeKnown: true,
      remedy: 'notify',
      evidence:
        'image pull failed for a:1 because the signature validation failed',
    });
  });

  it('caps evidence of an unrecognised cause at 256 characters', () => {
    // Prepare
    const message = `Error: ${'z'.repeat(1000)}`;

    // Act
    const got = classify({ message });

    // Assess
    expect(got.evidence).toBe('z'.repeat(256));
  });

  it('caps evidence from a long pattern match at 256 characters', () => {
    // Prepare
    const message = `manifest for ${'r'.repeat(500)} not found`;

    // Act
    const got = classify({ message });

    // Assess
    expect(got.class).toBe('not_found');
    expect(got.evidence).toBe(message.slice(0, 256));
  });

  it('only reads the first MAX_SCAN_CHARS characters', () => {
    // Prepare
    const message = `failed to extract layer ${'x'.repeat(MAX_SCAN_CHARS)}: no space left on device`;

    // Act
    const got = classify({ message });

    // Assess
    expect(got.class).not.toBe('disk_full');
    expect(got.class).not.toBe('other_no_space');
  });

  it('reads hostile inputs only up to the scan cap (speed: bench/classify.bench.ts)', () => {
    // Prepare
    const inputs = [
      ': '.repeat(512 * 1024),
      `${'manifest for '.repeat(50_000)}x`,
      `failed to extract layer ${'/a b'.repeat(100_000)}: no space left on device`,
      `Failed to pull image "${'\\"'.repeat(100_000)}`,
      `${'layer ('.repeat(50_000)}`,
    ];

    // Act
    const whole = inputs.map((message) => classify({ message }).class);
    const capped = inputs.map(
      (message) => classify({ message: message.slice(0, MAX_SCAN_CHARS) }).class
    );

    // Assess: only the first MAX_SCAN_CHARS characters decide, so an ENOSPC
    // buried past the cap never makes a disk_full.
    expect(whole).toEqual(capped);
    expect(whole[2]).not.toBe('disk_full');
  });

  it('never throws on inputs that break the contract', () => {
    // Prepare
    const inputs = [
      null,
      undefined,
      {},
      { message: 42 },
      { message: null, reason: 7 },
    ] as unknown as ClassifierInput[];
    const garbage = {
      message: '\ud800\udfff\u0130\u212a\u0000',
      reason: '\u212a',
    };

    // Act
    const verdicts = inputs.map((input) => classify(input));
    const garbageVerdict = classify(garbage);

    // Assess
    for (const got of verdicts) {
      expect(got).toMatchObject({ class: 'other', remedy: 'none' });
    }
    expect(garbageVerdict).toMatchObject({
      class: 'other',
      causeKnown: true,
      evidence: garbage.message.trim(),
    });
  });

  it('returns a causeless verdict when reading the input itself throws', () => {
    // Prepare
    const input = {
      get message(): string {
        throw new Error('broken getter');
      },
    } as ClassifierInput;

    // Act
    const got = classify(input);

    // Assess
    expect(got).toEqual({
      class: 'other',
      evidence: null,
      causeKnown: false,
      remedy: 'none',
    });
  });

  it('matches phrases in any case but folds only ASCII letters', () => {
    // Prepare: the Kelvin sign lower-cases to "k" in full Unicode folding.
    const ascii =
      'FAILED TO EXTRACT LAYER sha: WRITE /X: NO SPACE LEFT ON DEVICE';
    const kelvin =
      'failed to register layer: \u212a no space left on device \u0130';
    const folded =
      'failed to unpac\u212a image: write /x: no space left on device';

    // Act
    const verdicts = [ascii, kelvin, folded].map(
      (message) => classify({ message }).class
    );

    // Assess
    expect(verdicts).toEqual(['disk_full', 'disk_full', 'other_no_space']);
  });
});

describe('Function: stripKubeletWrappers', () => {
  it.each([
    ['Failed to pull image "a": rpc error: code = Unknown desc = boom', 'boom'],
    ['(combined from similar events): Error: ErrImagePull', 'ErrImagePull'],
    ['Back-off pulling image "a"', ''],
    ['Back-off pulling image "a": ErrImagePull: boom', 'boom'],
    [
      'Error syncing pod, skipping: failed to "StartContainer" for "c" with ErrImagePull: "boom\\n"',
      'boom',
    ],
    [
      'Failed to create pod sandbox: rpc error: code = Unknown desc = boom',
      'boom',
    ],
    ['boom', 'boom'],
  ])('peels %j down to %j', (message, expected) => {
    // Prepare
    const input = message;

    // Act
    const cause = stripKubeletWrappers(input);

    // Assess
    expect(cause).toBe(expected);
    expect(input).toContain(cause);
  });
});

describe('Function: explain', () => {
  const META = '/var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db';
  const cases: [string, ClassifierInput, Explanation][] = [
    [
      'a pull phrase',
      {
        message: `failed to extract layer ${LAYER}: write ${SNAPSHOTS}/1/fs/x: no space left on device`,
      },
      {
        rule: 'enospc/pull-phrase',
        pull: { text: 'failed to extract layer', kind: 'phrase' },
        enospc: 'no space left on device',
        path: `${SNAPSHOTS}/1/fs/x`,
        area: 'containerd_snapshots',
      },
    ],
    [
      'a pull word before an image store path',
      {
        message: `unpacking app:1...level=warning msg="failed to remove lease" error="write ${META}: no space left on device"`,
      },
      {
        rule: 'enospc/runtime-storage',
        pull: { text: 'unpack', kind: 'pull-word' },
        enospc: 'no space left on device',
        path: META,
        area: 'containerd_metadata',
      },
    ],
    [
      'a clause about a watch',
      {
        message:
          'Failed to pull image "a": inotify_add_watch /sys/fs/cgroup/x: no space left on device',
      },
      {
        rule: 'enospc/veto-clause',
        pull: { text: 'Failed to pull image', kind: 'phrase' },
        enospc: 'no space left on device',
        path: '/sys/fs/cgroup/x',
        area: 'kernel',
        veto: 'inotify',
      },
    ],
    [
      'a path that is never the image store',
      {
        message:
          'Failed to pull image "a": write /dev/shm/x: no space left on device',
      },
      {
        rule: 'enospc/veto-path',
        pull: { text: 'Failed to pull image', kind: 'phrase' },
        enospc: 'no space left on device',
        path: '/dev/shm/x',
        area: 'shared_memory',
        veto: 'shared_memory',
      },
    ],
    [
      'a build step',
      {
        message:
          'failed to copy files: Error processing tar file(exit status 1): write /x/y: no space left on device',
      },
      {
        rule: 'enospc/veto-context',
        pull: { text: 'processing tar file', kind: 'phrase' },
        enospc: 'no space left on device',
        path: '/x/y',
        area: 'other',
        veto: 'failed to copy files',
      },
    ],
    [
      'no pull at all',
      { message: `write ${META}: no space left on device` },
      {
        rule: 'enospc/not-a-pull',
        enospc: 'no space left on device',
        path: META,
        area: 'containerd_metadata',
      },
    ],
    [
      'an ENOSPC whose clause names no path',
      { message: 'Error response from daemon: mounting shm tmpfs: ENOSPC' },
      { rule: 'enospc/veto-clause', enospc: 'ENOSPC', veto: 'shm' },
    ],
    [
      'a row of the rule table',
      { message: 'Failed to pull image "a": 401 Unauthorized' },
      { rule: 'auth' },
    ],
    [
      'an early row',
      { message: 'short-name "a" did not resolve to an alias' },
      { rule: 'invalid-name' },
    ],
    [
      'the gRPC code',
      { message: 'rpc error: code = NotFound desc = gone' },
      { rule: 'grpc-not-found' },
    ],
    [
      'the reason alone',
      { reason: 'ImageGCFailed', message: 'something odd' },
      { rule: 'reason' },
    ],
    [
      'an unrecognised cause',
      { message: 'Error: something odd' },
      { rule: 'fallback/cause' },
    ],
    [
      'no cause',
      { message: 'Error: ErrImagePull' },
      { rule: 'fallback/no-cause' },
    ],
  ];

  it.each(cases)('explains %s', (_name, input, expected) => {
    // Prepare
    const plain = classify(input);

    // Act
    const { verdict, explanation } = explain(input);

    // Assess
    expect(verdict).toEqual(plain);
    expect(explanation).toEqual(expected);
    for (const text of [explanation.pull?.text, explanation.enospc]) {
      if (text !== undefined) expect(input.message).toContain(text);
    }
  });

  it('gives a causeless verdict when reading the input itself throws', () => {
    // Prepare
    const input = {
      get message(): string {
        throw new Error('broken getter');
      },
    } as ClassifierInput;

    // Act
    const got = explain(input);

    // Assess
    expect(got).toEqual({
      verdict: {
        class: 'other',
        evidence: null,
        causeKnown: false,
        remedy: 'none',
      },
      explanation: { rule: 'fallback/no-cause' },
    });
  });
});
