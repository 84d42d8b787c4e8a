#!/usr/bin/env bash
# Brings up the lab "node": a containerd of its own whose root is a small tmpfs,
# fed by a local docker-registry, with an image cache filled so that pulling the
# big image fails the way the seed incident did ("failed to extract layer ...
# no space left on device"), and succeeds once the unused images are pruned.
#
# Usage: bash test/lab/up.sh     (as root, after test/lab/install.sh)
# Environment (all optional):
#   PULLMEDIC_LAB_DIR         lab directory (default <repo>/.cache/lab)
#   PULLMEDIC_LAB_TMPFS_MB    size of containerd's root tmpfs (default 128)
#   PULLMEDIC_LAB_BIG_MB      random layer of the big image (default 40)
#   PULLMEDIC_LAB_SMALL_MB    random layer of each unused image (default 8)
#   PULLMEDIC_LAB_SMALL_COUNT number of unused images (default 3)
#   PULLMEDIC_LAB_IN_USE_MB   random layer of the in-use image (default 4)
# Writes $PULLMEDIC_LAB_DIR/lab.env (KEY='value' lines) for the other scripts.
set -euo pipefail
LAB_SCRIPT=up
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

tmpfs_mb=${PULLMEDIC_LAB_TMPFS_MB:-128}
big_mb=${PULLMEDIC_LAB_BIG_MB:-40}
small_mb=${PULLMEDIC_LAB_SMALL_MB:-8}
small_count=${PULLMEDIC_LAB_SMALL_COUNT:-3}
in_use_mb=${PULLMEDIC_LAB_IN_USE_MB:-4}
for n in "$tmpfs_mb" "$big_mb" "$small_mb" "$small_count" "$in_use_mb"; do
  [[ $n =~ ^[1-9][0-9]{0,4}$ ]] || lab_die "sizes must be positive integers, got '$n'"
done
readonly MIB=1048576

lab_require_root
for tool in containerd ctr docker-registry skopeo tar gzip sha256sum ss curl; do
  command -v "$tool" >/dev/null || lab_die "$tool is missing: run test/lab/install.sh"
done
[[ -x $LAB_BIN/crictl && -x $LAB_BIN/lab-pause ]] ||
  lab_die "crictl or lab-pause missing in $LAB_BIN: run test/lab/install.sh"
[[ ! -e $LAB_DIR ]] || lab_die "$LAB_DIR exists: run test/lab/down.sh first"
# sockaddr_un holds 108 bytes; containerd adds ".ttrpc" to the socket path.
((${#LAB_SOCKET} < 100)) || lab_die "lab path too long for a unix socket: $LAB_SOCKET"

started=$(date +%s)
mkdir -p "$LAB_DIR"
: >"$LAB_MARKER"
mkdir -p "$LAB_ROOT" "$LAB_DIR"/{state,registry,certs.d,oci,opt,cni/bin,cni/conf,cri/logs}

# --- containerd's root: a small tmpfs -----------------------------------------
mount -t tmpfs -o "size=${tmpfs_mb}m,mode=0711" pullmedic-lab "$LAB_ROOT" ||
  lab_die "mount -t tmpfs failed on $LAB_ROOT (is this a privileged root shell?)"

# overlayfs on tmpfs works on most kernels (upper and work dirs on tmpfs); fall
# back to the native snapshotter where it does not.
snapshotter=native
check="$LAB_ROOT/.overlay-check"
mkdir -p "$check"/{lower,upper,work,merged}
if mount -t overlay overlay \
  -o "lowerdir=$check/lower,upperdir=$check/upper,workdir=$check/work" "$check/merged" 2>/dev/null; then
  umount "$check/merged"
  snapshotter=overlayfs
fi
rm -rf "$check"
lab_log "tmpfs ${tmpfs_mb} MiB on $LAB_ROOT, snapshotter $snapshotter"

# --- registry on a free loopback port -----------------------------------------
port_is_free() { [[ -z $(ss -Htln "sport = :$1") ]]; }
start_registry() {
  local port=$1
  cat >"$LAB_DIR/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $LAB_DIR/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
EOF
  setsid docker-registry serve "$LAB_DIR/registry.yml" \
    </dev/null >"$LAB_DIR/registry.log" 2>&1 &
  echo $! >"$LAB_DIR/registry.pid"
  local i
  for ((i = 0; i < 50; i++)); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/v2/" 2>/dev/null; then
      return 0
    fi
    lab_child_alive "$(cat "$LAB_DIR/registry.pid")" || return 1
    sleep 0.1
  done
  return 1
}
port=''
for _ in 1 2 3 4 5; do
  candidate=$((20000 + RANDOM % 40000))
  port_is_free "$candidate" || continue
  if start_registry "$candidate"; then
    port=$candidate
    break
  fi
done
[[ -n $port ]] || lab_die "docker-registry did not start (see $LAB_DIR/registry.log)"
registry="127.0.0.1:$port"
lab_log "docker-registry on $registry (pid $(cat "$LAB_DIR/registry.pid"))"

image_pause="$registry/lab/pause:3.9"
image_in_use="$registry/lab/in-use:v1"
image_big="$registry/lab/big:v1"
images_small=()
for ((i = 1; i <= small_count; i++)); do images_small+=("$registry/lab/small-$i:v1"); done

# Plain HTTP for the lab registry only, through the CRI's hosts.toml directory.
mkdir -p "$LAB_DIR/certs.d/$registry"
cat >"$LAB_DIR/certs.d/$registry/hosts.toml" <<EOF
server = "http://$registry"

[host."http://$registry"]
  capabilities = ["pull", "resolve"]
EOF

# --- containerd, separate from any system one ---------------------------------
# Every path (root, state, sockets, runc state, opt dir, CNI dirs) lives under
# the lab dir. restrict_oom_score_adj: sandboxes ask for oom_score_adj -998,
# which needs CAP_SYS_RESOURCE; without it runc's init dies ("can't get final
# child's PID from pipe"), so the score is clamped to containerd's own instead.
cat >"$LAB_DIR/containerd.toml" <<EOF
version = 2
root = "$LAB_ROOT"
state = "$LAB_DIR/state"
disabled_plugins = [
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
]

[grpc]
  address = "$LAB_SOCKET"

[ttrpc]
  address = "$LAB_SOCKET.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "$LAB_DIR/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$image_pause"
  restrict_oom_score_adj = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "$snapshotter"
    default_runtime_name = "runc"

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = "$LAB_DIR/state/runc"

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$LAB_DIR/cni/bin"
    conf_dir = "$LAB_DIR/cni/conf"

  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$LAB_DIR/certs.d"
EOF
setsid containerd --config "$LAB_DIR/containerd.toml" \
  </dev/null >"$LAB_DIR/containerd.log" 2>&1 &
echo $! >"$LAB_DIR/containerd.pid"
for ((i = 0; i < 100; i++)); do
  if [[ -S $LAB_SOCKET ]] && lab_ctr version >/dev/null 2>&1 && lab_crictl info >/dev/null 2>&1; then
    break
  fi
  lab_child_alive "$(cat "$LAB_DIR/containerd.pid")" ||
    lab_die "containerd exited (see $LAB_DIR/containerd.log)"
  sleep 0.1
done
lab_crictl info >/dev/null 2>&1 || lab_die "containerd's CRI did not come up (see $LAB_DIR/containerd.log)"
lab_log "containerd $(containerd --version | cut -d' ' -f3) on $LAB_SOCKET (pid $(cat "$LAB_DIR/containerd.pid"))"

# A lease like the one a pull leaves behind when containerd cannot delete it
# (its bolt database was on the full disk): temporary (gc.expire label), and
# old enough by the time the prune runs for it to be removed.
stale_lease=pullmedic-lab-stale-pull
lab_ctr leases create --id "$stale_lease" --expires 24h pullmedic.lab=stale-pull >/dev/null
stale_lease_created=$(date +%s)

# --- images: generated OCI layouts pushed with skopeo -------------------------
cat >"$LAB_DIR/policy.json" <<'EOF'
{"default":[{"type":"insecureAcceptAnything"}]}
EOF
make_and_push() { # name tag layer-spec...
  local name=$1 tag=$2
  shift 2
  bash "$LAB_REPO/test/lab/lib/make-oci-image.sh" "$LAB_DIR/oci/$name" "$tag" "$@"
  skopeo --policy "$LAB_DIR/policy.json" copy --quiet --dest-tls-verify=false \
    "oci:$LAB_DIR/oci/$name:$tag" "docker://$registry/lab/$name:$tag"
}
make_and_push pause 3.9 "file:$LAB_BIN/lab-pause:/pause"
make_and_push in-use v1 "random:$((in_use_mb * MIB))"
for ((i = 1; i <= small_count; i++)); do
  make_and_push "small-$i" v1 "random:$((small_mb * MIB))"
done
make_and_push big v1 "random:$((big_mb * MIB))"
big_blob_bytes=$(find "$LAB_DIR/oci/big/blobs/sha256" -type f -size +1M -printf '%s\n')
lab_log "pushed pause, in-use, ${small_count} small and big (layer blob $big_blob_bytes bytes)"

# --- fill the cache through the CRI, as the kubelet would ---------------------
lab_crictl pull "$image_pause" >/dev/null
lab_crictl pull "$image_in_use" >/dev/null
read -r used_before_small _ < <(lab_df "$LAB_ROOT")
for image in "${images_small[@]}"; do lab_crictl pull "$image" >/dev/null; done
read -r used_after_small avail < <(lab_df "$LAB_ROOT")
small_total=$((used_after_small - used_before_small))

# "In use": a CRI container (created, never started) references the image, in a
# host-network pod sandbox, so the CRI never calls CNI. `crictl rmi --prune`
# keeps images of containers; the pod's pause image it does not (containerd 1.6).
cat >"$LAB_DIR/cri/pod.json" <<EOF
{
  "metadata": {"name": "lab-in-use", "namespace": "pullmedic-lab", "uid": "pullmedic-lab-in-use", "attempt": 0},
  "log_directory": "$LAB_DIR/cri/logs",
  "linux": {"security_context": {"namespace_options": {"network": 2}}}
}
EOF
cat >"$LAB_DIR/cri/container.json" <<EOF
{
  "metadata": {"name": "app"},
  "image": {"image": "$image_in_use"},
  "command": ["/data/never-started"],
  "log_path": "app.log",
  "linux": {}
}
EOF
pod_id=$(lab_crictl runp "$LAB_DIR/cri/pod.json" 2>>"$LAB_DIR/crictl.log") ||
  lab_die "crictl runp failed (see $LAB_DIR/crictl.log and $LAB_DIR/containerd.log)"
container_id=$(lab_crictl create "$pod_id" "$LAB_DIR/cri/container.json" "$LAB_DIR/cri/pod.json" 2>>"$LAB_DIR/crictl.log") ||
  lab_die "crictl create failed (see $LAB_DIR/crictl.log)"

# --- the scenario must hold: blob fits, unpacking does not, pruning makes room -
big_unpacked=$((big_mb * MIB))
need_to_unpack=$((big_blob_bytes + big_unpacked))
((avail > big_blob_bytes + 2 * MIB)) ||
  lab_die "only $avail bytes free: the big blob would not even download (raise PULLMEDIC_LAB_TMPFS_MB)"
((avail < need_to_unpack - 2 * MIB)) ||
  lab_die "$avail bytes free: the big image would fit without pruning (lower PULLMEDIC_LAB_TMPFS_MB)"
((avail + small_total > need_to_unpack + 4 * MIB)) ||
  lab_die "pruning $small_total bytes would not make room for $need_to_unpack bytes (raise PULLMEDIC_LAB_TMPFS_MB)"

{
  q() { printf "%s='%s'\n" "$1" "$2"; }
  q LAB_DIR "$LAB_DIR"
  q CONTAINERD_ADDRESS "$LAB_SOCKET"
  q CONTAINERD_ROOT "$LAB_ROOT"
  q CONTAINERD_NAMESPACE "$LAB_NAMESPACE"
  q CONTAINER_RUNTIME_ENDPOINT "unix://$LAB_SOCKET"
  q IMAGE_SERVICE_ENDPOINT "unix://$LAB_SOCKET"
  q CRICTL "$LAB_BIN/crictl"
  q REGISTRY "$registry"
  q SNAPSHOTTER "$snapshotter"
  q IMAGE_PAUSE "$image_pause"
  q IMAGE_IN_USE "$image_in_use"
  q IMAGE_BIG "$image_big"
  q IMAGES_SMALL "${images_small[*]}"
  q POD_ID "$pod_id"
  q CONTAINER_ID "$container_id"
  q STALE_LEASE_ID "$stale_lease"
  q STALE_LEASE_CREATED "$stale_lease_created"
  q TMPFS_BYTES "$((tmpfs_mb * MIB))"
  q BIG_BLOB_BYTES "$big_blob_bytes"
  q BIG_UNPACKED_BYTES "$big_unpacked"
  q SMALL_TOTAL_BYTES "$small_total"
  q FREE_BYTES_AFTER_UP "$avail"
} >"$LAB_ENV"

lab_log "up in $(($(date +%s) - started))s: $avail bytes free of $((tmpfs_mb * MIB)); the big image needs ~$need_to_unpack; the unused images hold $small_total"
lab_log "env: $LAB_ENV"
