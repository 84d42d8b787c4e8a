import { describe, expect, it } from 'vitest';
import {
  asciiLower,
  detectRuntime,
  enospcClause,
  extractImage,
  extractLayerDigest,
  fullFilesystem,
  parseGcBytes,
  registryFromUrl,
  registryOf,
  storageArea,
} from '#core/classification/extract.ts';

const DIGEST = 'ab12'.repeat(16);
const ENOSPC = 'no space left on device';

/** Runs enospcClause the way classify does, at the first ENOSPC phrase. */
function clauseOf(text: string) {
  return enospcClause(text, asciiLower(text), text.indexOf(ENOSPC));
}

describe('Function: asciiLower', () => {
  it('lower-cases ASCII text', () => {
    // Prepare
    const text = 'Failed To PULL';

    // Act
    const lower = asciiLower(text);

    // Assess
    expect(lower).toBe('failed to pull');
  });

  it('keeps the length and leaves non-ASCII letters alone', () => {
    // Prepare: İ lower-cases to two code units, the Kelvin sign to "k".
    const text = 'İ\u212aNO SPACE';

    // Act
    const lower = asciiLower(text);

    // Assess
    expect(lower).toBe('İ\u212ano space');
    expect(lower).toHaveLength(text.length);
  });
});

describe('Function: extractImage', () => {
  it.each([
    ['Failed to pull image "nginx:1.27": boom', 'nginx:1.27'],
    ['Back-off pulling image \\"nginx\\"', 'nginx'],
    ['Pulling image "a/b@sha256:1"', 'a/b@sha256:1'],
    [
      'failed to get sandbox image "registry.k8s.io/pause:3.10": x',
      'registry.k8s.io/pause:3.10',
    ],
    [
      'Container image "nginx:latest" is not present with pull policy of Never',
      'nginx:latest',
    ],
    ['Failed to apply default image tag "None:None": x', 'None:None'],
    ['failed to resolve reference "ghcr.io/a/b:1": x', 'ghcr.io/a/b:1'],
    [
      'Failed to pull image "": Error response from daemon: manifest for r.example.com/a:1 not found',
      'r.example.com/a:1',
    ],
    [
      'Error response from daemon: pull access denied for acme/app, repository does not exist',
      'acme/app',
    ],
    [
      'initializing source docker://datawiseio/fio:latest: reading manifest latest in docker.io/datawiseio/fio: toomanyrequests',
      'datawiseio/fio:latest',
    ],
    ['reading manifest v1 in quay.io/a/b: manifest unknown', 'quay.io/a/b:v1'],
    [
      'reading manifest sha256:abc in quay.io/a/b: manifest unknown',
      'quay.io/a/b@sha256:abc',
    ],
    [
      'Error pulling image (latest) from docker.io/shippable/minv2, Untar re-exec error',
      'docker.io/shippable/minv2:latest',
    ],
    ['image pull failed for gcr.io/a/b:1, this may be because', 'gcr.io/a/b:1'],
    [
      'cancel pulling image r.example/a:1 because of no progress',
      'r.example/a:1',
    ],
  ])('finds the image in %j', (message, expected) => {
    // Prepare
    const text = message;

    // Act
    const image = extractImage(text);

    // Assess
    expect(image).toBe(expected);
  });

  it('finds nothing in a message that names no image', () => {
    // Prepare
    const text = 'failed to register layer: no space left on device';

    // Act
    const image = extractImage(text);

    // Assess
    expect(image).toBeUndefined();
  });
});

describe('Function: registryOf', () => {
  it.each([
    ['nginx', 'docker.io'],
    ['library/nginx:1', 'docker.io'],
    ['docker.io/library/nginx', 'docker.io'],
    [
      '602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.9',
      '602401143452.dkr.ecr.us-west-2.amazonaws.com',
    ],
    ['Registry.Example.com/a', 'registry.example.com'],
    ['registry.local:5000/app:1', 'registry.local:5000'],
    ['localhost/app', 'localhost'],
    ['docker://quay.io/a/b', 'quay.io'],
    ['/cloudfoundry/abc:1', undefined],
    [`${'a'.repeat(250)}.com/app`, undefined],
  ])('gives %j the registry %j', (image, expected) => {
    // Prepare
    const ref = image;

    // Act
    const registry = registryOf(ref);

    // Assess
    expect(registry).toBe(expected);
  });
});

describe('Function: registryFromUrl', () => {
  it('reads the host of a registry API URL', () => {
    // Prepare
    const text =
      'Get https://XXXX.dkr.ecr.ap-southeast-1.amazonaws.com/v2/webbook/manifests/latest: no basic auth credentials';

    // Act
    const registry = registryFromUrl(text);

    // Assess
    expect(registry).toBe('xxxx.dkr.ecr.ap-southeast-1.amazonaws.com');
  });

  it('ignores a host longer than a DNS name', () => {
    // Prepare
    const text = `Get https://${'a'.repeat(250)}.com/v2/: EOF`;

    // Act
    const registry = registryFromUrl(text);

    // Assess
    expect(registry).toBeUndefined();
  });

  it('ignores URLs that are not registry API calls', () => {
    // Prepare
    const text = 'Get "https://auth.docker.io/token?scope=x": i/o timeout';

    // Act
    const registry = registryFromUrl(text);

    // Assess
    expect(registry).toBeUndefined();
  });
});

describe('Function: extractLayerDigest', () => {
  it.each([
    [`failed to extract layer sha256:${DIGEST}: write /x`, DIGEST],
    [
      `failed to extract layer (application/vnd.oci.image.layer.v1.tar+gzip sha256:${DIGEST}) to overlayfs as "extract-1 sha256:${'c'.repeat(64)}"`,
      DIGEST,
    ],
    [`failed commit on ref "layer-sha256:${DIGEST}": x`, DIGEST],
    [`error adding layer with blob "sha256:${DIGEST}": x`, DIGEST],
    [`reading blob sha256:${DIGEST}: fetching blob: x`, DIGEST],
    [`failed to extract layer sha256:${DIGEST.toUpperCase()}: x`, DIGEST],
  ])('finds the layer digest in %j', (text, digest) => {
    // Prepare
    const message = text;

    // Act
    const layer = extractLayerDigest(message);

    // Assess
    expect(layer).toBe(`sha256:${digest}`);
  });

  it("does not take the image's own digest for a layer", () => {
    // Prepare
    const text = `unexpected status code https://registry-1.docker.io/v2/library/busybox/manifests/sha256:${DIGEST}: 429 Too Many Requests`;

    // Act
    const layer = extractLayerDigest(text);

    // Assess
    expect(layer).toBeUndefined();
  });
});

describe('Function: enospcClause', () => {
  it.each([
    [
      `write /var/lib/containerd/x/y.so: ${ENOSPC}`,
      '/var/lib/containerd/x/y.so',
    ],
    [
      `mount callback failed on /var/lib/containerd/tmpmounts/m1: write /var/lib/containerd/tmpmounts/m1/lib/a: ${ENOSPC}: unknown`,
      '/var/lib/containerd/tmpmounts/m1/lib/a',
    ],
    [
      `storing blob to file "/var/tmp/storage1/1": write /var/tmp/storage1/1: ${ENOSPC}`,
      '/var/tmp/storage1/1',
    ],
    [
      `processing tar file(write /usr/lib/x: ${ENOSPC}): exit status 1`,
      '/usr/lib/x',
    ],
    [`write /opt/My App/lib.so: ${ENOSPC}`, '/opt/My App/lib.so'],
    [`/data/db: ${ENOSPC}`, '/data/db'],
    [`write /data/x ${ENOSPC}`, '/data/x'],
    [`write /data/y:${ENOSPC}`, '/data/y'],
  ])('reads the path out of %j', (text, path) => {
    // Prepare
    const message = text;

    // Act
    const clause = clauseOf(message);

    // Assess
    expect(clause).toMatchObject({ path, vetoed: false });
    expect(clause.vetoedBy).toBeUndefined();
    expect(message.slice(clause.pathAt)).toMatch(new RegExp(`^${path}`));
  });

  it.each([
    [
      `failed to start noop process for unshare: fork/exec /proc/self/exe: ${ENOSPC}`,
      'fork/exec',
    ],
    [`inotify_add_watch /sys/fs/cgroup/pids/x: ${ENOSPC}`, 'inotify'],
    [`failed to add watch on "/etc/cni/net.d/": ${ENOSPC}`, 'watch'],
    [`Error response from daemon: mounting shm tmpfs: ${ENOSPC}`, 'shm'],
    [`write /dev/shm/sem.x: ${ENOSPC}`, 'shared_memory'],
    [
      `write /var/lib/kubelet/pods/u/volumes/kubernetes.io~projected/t/ca.crt: ${ENOSPC}`,
      'kubelet',
    ],
    [
      `mkdir /var/snap/microk8s/common/var/lib/kubelet/pods/u/etc-hosts: ${ENOSPC}`,
      'kubelet',
    ],
    [
      `open /run/containerd/io.containerd.runtime.v2.task/k8s.io/c/rootfs/etc/resolv.conf: ${ENOSPC}`,
      'runtime_state',
    ],
    [
      `mkdir /var/lib/docker/overlay2/${'ab'.repeat(32)}-init: ${ENOSPC}`,
      'runtime_state',
    ],
  ])('vetoes disk_full for %j (%s)', (text, by) => {
    // Prepare
    const message = text;

    // Act
    const clause = clauseOf(message);

    // Assess
    expect(clause).toMatchObject({ vetoed: true, vetoedBy: by });
  });

  it('does not veto on words inside the path itself', () => {
    // Prepare: a layer may well ship inotify.h or a libshm.
    const text = `failed to extract layer sha256:1: write /var/lib/containerd/s/1/fs/usr/include/linux/inotify.h: ${ENOSPC}`;

    // Act
    const clause = clauseOf(text);

    // Assess
    expect(clause.vetoed).toBe(false);
  });

  it('gives no path when the clause names none', () => {
    // Prepare
    const text = `failed to register layer: ${ENOSPC}`;

    // Act
    const clause = clauseOf(text);

    // Assess
    expect(clause).toEqual({ vetoed: false });
  });

  it('names the clause word when a pathless clause vetoes', () => {
    // Prepare
    const text = `Error response from daemon: mounting shm tmpfs: ${ENOSPC}`;

    // Act
    const clause = clauseOf(text);

    // Assess
    expect(clause).toEqual({ vetoed: true, vetoedBy: 'shm' });
  });

  it('gives no path for a bare slash', () => {
    // Prepare
    const text = `write /: ${ENOSPC}`;

    // Act
    const clause = clauseOf(text);

    // Assess
    expect(clause.path).toBeUndefined();
  });

  it('reads at most 2 KiB before the errno', () => {
    // Prepare
    const text = `write /early: ${'x'.repeat(4096)} ${ENOSPC}`;

    // Act
    const clause = clauseOf(text);

    // Assess
    expect(clause.path).toBeUndefined();
  });

  it('caps a path at 1 KiB', () => {
    // Prepare
    const text = `write /${'p'.repeat(1500)}: ${ENOSPC}`;

    // Act
    const clause = clauseOf(text);

    // Assess
    expect(clause.path).toHaveLength(1024);
  });
});

describe('Function: storageArea', () => {
  const HEX = 'ab'.repeat(32);
  it.each([
    // containerd's stores under every root it is found at
    [
      '/var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db',
      'containerd_metadata',
    ],
    [
      '/var/lib/rancher/rke2/agent/containerd/io.containerd.metadata.v1.bolt/meta.db',
      'containerd_metadata',
    ],
    [
      `/var/lib/rancher/k3s/agent/containerd/io.containerd.content.v1.content/ingest/${HEX}/data`,
      'containerd_content',
    ],
    [
      '/var/lib/desktop-containerd/daemon/io.containerd.content.v1.content/blobs/sha256/1',
      'containerd_content',
    ],
    [
      '/var/snap/microk8s/common/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/7/fs/x',
      'containerd_snapshots',
    ],
    [
      '/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/new-3844284403',
      'containerd_snapshots',
    ],
    [
      '/var/lib/rancher/k3s/agent/containerd/tmpmounts/containerd-mount571813358/usr/bin/helm_v3',
      'containerd_unpack',
    ],
    // Docker's layer store under any data-root
    [
      '/var/lib/docker/image/overlay2/layerdb/tmp/write-set-1/diff',
      'docker_layers',
    ],
    ['/mnt/sda1/var/lib/docker/tmp/GetImageBlob365327721', 'docker_layers'],
    ['/opt/tmp/GetImageBlob4170682285', 'docker_layers'],
    [`/data1/docker/overlay2/${HEX}/diff/usr/lib/x.so`, 'docker_layers'],
    // containers/storage, root and rootless
    [
      '/var/lib/containers/storage/overlay-layers/layers.json',
      'storage_layers',
    ],
    [
      `/home/u/.local/share/containers/storage/overlay/${HEX}/diff/usr/x`,
      'storage_layers',
    ],
    ['/var/lib/containers/storage/tmp/1', 'storage_layers'],
    ['/var/tmp/container_images_storage1881483067/5', 'blob_staging'],
    ['/var/tmp/storage333619107/1', 'blob_staging'],
    // a layer that ships an -init or merged directory is still a layer
    [
      '/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/5/fs/etc/cloud-init/cloud.cfg',
      'containerd_snapshots',
    ],
    // never the image store
    ['/proc/self/exe', 'kernel'],
    ['/sys/fs/cgroup/cpu,cpuacct', 'kernel'],
    ['/dev/shm/sem.x', 'shared_memory'],
    [
      '/mnt/ephemeral/kubernetes/kubelet/pods/u/volumes/kubernetes.io~secret/t',
      'kubelet',
    ],
    ['/var/lib/kubelet/pods/u/etc-hosts', 'kubelet'],
    [
      '/run/containerd/io.containerd.runtime.v2.task/k8s.io/c/rootfs/etc/resolv.conf',
      'runtime_state',
    ],
    [
      '/var/lib/containerd/io.containerd.grpc.v1.cri/containers/c/volumes/v',
      'runtime_state',
    ],
    [`/var/lib/docker/containers/${HEX}/${HEX}-json.log`, 'runtime_state'],
    ['/var/lib/docker/volumes/db/_data/x', 'runtime_state'],
    [`/var/lib/docker/overlay2/${HEX}-init`, 'runtime_state'],
    [`/var/lib/docker/overlay2/${HEX}/merged/dev/shm`, 'runtime_state'],
    [`/var/lib/containers/storage/overlay/${HEX}/merged.1`, 'runtime_state'],
    ['/var/run/docker/libcontainerd/x', 'runtime_state'],
    // anything else: often a path inside the layer being written
    ['/usr/share/vim/vim74/syntax/sisu.vim', 'other'],
    ['/srv/colouring-london/downloads/data-extract-1.zip', 'other'],
  ] as const)('puts %j in %j', (path, area) => {
    // Prepare
    const input = path;

    // Act
    const got = storageArea(input);

    // Assess
    expect(got).toBe(area);
  });
});

describe('Function: detectRuntime', () => {
  it.each([
    ['error response from daemon: failed to extract layer x', 'docker'],
    ['failed to pull and unpack image "x": y', 'containerd'],
    ['write /var/lib/rancher/k3s/agent/containerd/x', 'containerd'],
    ['error writing blob: error storing blob to file "/var/tmp/s/1"', 'cri-o'],
    ['reading manifest v1 in quay.io/a: manifest unknown', 'cri-o'],
    ['failed to register layer: applylayer exit status 1', 'docker'],
    ['the node was low on resource: ephemeral-storage.', undefined],
  ])('reads %j as %j', (lower, runtime) => {
    // Prepare
    const text = lower;

    // Act
    const got = detectRuntime(text);

    // Assess
    expect(got).toBe(runtime);
  });
});

describe('Function: fullFilesystem', () => {
  it.each([
    ['storing blob to file', '/var/tmp/storage1/1', 'cri-o', 'crio_tmp'],
    ['storing blob to file', undefined, 'cri-o', 'crio_tmp'],
    [
      'storing blob to file',
      '/var/lib/containers/storage/tmp/1',
      'cri-o',
      'unknown',
    ],
    [
      'writing blob: creating temporary file',
      '/var/tmp/c/1',
      'cri-o',
      'crio_tmp',
    ],
    [
      'writing blob: adding layer with blob',
      '/var/tmp/c/1',
      'cri-o',
      'unknown',
    ],
    ['writing blob: x', '/usr/lib/x', 'cri-o', 'unknown'],
    [
      'failed to extract layer',
      '/var/lib/containerd/io.containerd.content.v1.content/ingest/1/data',
      'containerd',
      'content_store',
    ],
    [
      'failed commit on ref "layer-sha256:1"',
      undefined,
      'containerd',
      'content_store',
    ],
    ['failed to register layer', '/usr/bin/x', 'docker', 'docker_root'],
    ['x', '/var/lib/docker/tmp/getimageblob1', undefined, 'docker_root'],
    ['failed to extract layer', '/usr/lib/x', 'containerd', 'containerd_root'],
    [
      'x',
      '/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/s/1',
      undefined,
      'containerd_root',
    ],
    [
      'x',
      '/var/lib/rancher/k3s/agent/containerd/tmpmounts/m/1',
      undefined,
      'containerd_root',
    ],
    ['x', '/usr/bin/chsh', undefined, 'unknown'],
  ] as const)('reads (%j, %j, %j) as %j', (lower, path, runtime, expected) => {
    // Prepare
    const text = lower;

    // Act
    const filesystem = fullFilesystem(text, path, runtime);

    // Assess
    expect(filesystem).toBe(expected);
  });
});

describe('Function: parseGcBytes', () => {
  it.each([
    [
      'failed to garbage collect required amount of images. Wanted to free 9528868044 bytes, but freed 25951436 bytes',
      { wanted: 9528868044, freed: 25951436 },
    ],
    [
      'Failed to garbage collect required amount of images. Attempted to free 3077055283 bytes, but only found 0 bytes eligible to free.',
      { wanted: 3077055283, freed: 0 },
    ],
    [
      'failed to garbage collect required amount of images. Wanted to free 3832631296, but freed 0',
      { wanted: 3832631296, freed: 0 },
    ],
    [
      "Insufficient free disk space on the node's image filesystem (85% of 89.9 GiB used). Failed to free sufficient space by deleting unused images (freed 36018163 bytes).",
      { freed: 36018163 },
    ],
    ['failed to get imageFs info: unable to find data in memory cache', {}],
  ])('reads the sizes in %j', (text, expected) => {
    // Prepare
    const message = text;

    // Act
    const sizes = parseGcBytes(message);

    // Assess
    expect(sizes).toEqual(expected);
  });
});
