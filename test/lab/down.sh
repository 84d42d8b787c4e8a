#!/usr/bin/env bash
# Tears the lab down: removes its pod, stops its containerd (and the shims and
# pause processes it started) and its registry, unmounts everything under the
# lab dir and deletes the dir. Safe to run twice, and after a half-done up.sh.
#
# Usage: bash test/lab/down.sh    (as root)
set -euo pipefail
LAB_SCRIPT=down
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

lab_require_root
if [[ ! -e $LAB_DIR ]]; then
  lab_log "nothing to do: $LAB_DIR does not exist"
  exit 0
fi
[[ -f $LAB_MARKER ]] || lab_die "$LAB_DIR is not a lab dir (no $LAB_MARKER): refusing to delete it"

# Stops PID (TERM, then KILL after ~5 s) if it still runs NEEDLE.
stop_pid() {
  local pid=$1 needle=$2 i
  lab_pid_matches "$pid" "$needle" || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 50; i++)); do
    lab_pid_matches "$pid" "$needle" || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

# Pods first, while containerd still runs: this stops the pause processes and
# unmounts their rootfs and /dev/shm the proper way.
if [[ -S $LAB_SOCKET && -x $LAB_BIN/crictl ]]; then
  lab_crictl rmp --all --force >/dev/null 2>&1 || lab_log "warning: crictl rmp failed; stopping processes directly"
fi
if [[ -f $LAB_DIR/containerd.pid ]]; then
  stop_pid "$(cat "$LAB_DIR/containerd.pid")" "$LAB_DIR/containerd.toml"
fi
# Whatever the lab's containerd started and left running: shims carry the lab
# socket on their command line, container processes have their root in the lab.
for proc in /proc/[0-9]*; do
  pid=${proc#/proc/}
  [[ $pid != "$$" ]] || continue
  if lab_pid_matches "$pid" "$LAB_SOCKET"; then
    stop_pid "$pid" "$LAB_SOCKET"
  elif [[ $(readlink "$proc/root" 2>/dev/null) == "$LAB_DIR"/* ]]; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
done
if [[ -f $LAB_DIR/registry.pid ]]; then
  stop_pid "$(cat "$LAB_DIR/registry.pid")" "$LAB_DIR/registry.yml"
fi

# containerd 1.6 puts shim sockets in /run/containerd/s/ whatever its state
# dir: sha256("<address>/<namespace>/<sandbox id>"). A shim that stopped
# cleanly removed its own; drop those of this lab's pods, then the dirs if the
# lab was the only one to use them (rmdir removes empty dirs only).
if [[ -f $LAB_ENV ]]; then
  pod_id=$(grep -o "^POD_ID='[0-9a-f]*'" "$LAB_ENV" | cut -d"'" -f2 || true)
  if [[ -n $pod_id ]]; then
    hash=$(printf '%s' "$LAB_SOCKET/$LAB_NAMESPACE/$pod_id" | sha256sum | cut -d' ' -f1)
    rm -f "/run/containerd/s/$hash"
  fi
fi
rmdir /run/containerd/s /run/containerd 2>/dev/null || true

# Unmount deepest first: rootfs overlays and shm mounts, then the tmpfs.
mapfile -t mounts < <(
  while read -r _ _ _ _ mountpoint _; do
    if [[ $mountpoint == "$LAB_DIR" || $mountpoint == "$LAB_DIR"/* ]]; then
      printf '%s\n' "$mountpoint"
    fi
  done </proc/self/mountinfo | sort -r
)
for mountpoint in ${mounts[@]+"${mounts[@]}"}; do
  umount "$mountpoint" 2>/dev/null || umount -l "$mountpoint" ||
    lab_die "could not unmount $mountpoint"
done

rm -rf -- "$LAB_DIR"
lab_log "lab removed: $LAB_DIR"
