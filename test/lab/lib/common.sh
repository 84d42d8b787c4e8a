# shellcheck shell=bash
# Shared by the lab scripts (sourced, never run). Defines the lab's paths and
# small helpers; touches nothing by itself. The variables are read by the
# scripts that source this file.
# shellcheck disable=SC2034

LAB_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
LAB_DIR=${PULLMEDIC_LAB_DIR:-$LAB_REPO/.cache/lab}
LAB_BIN="$LAB_REPO/.cache/bin"
# Written first by up.sh: down.sh deletes only a directory that carries it.
LAB_MARKER="$LAB_DIR/.pullmedic-lab"
LAB_ENV="$LAB_DIR/lab.env"
LAB_SOCKET="$LAB_DIR/state/containerd.sock"
LAB_ROOT="$LAB_DIR/root"
LAB_NAMESPACE=k8s.io

lab_log() { printf 'lab/%s: %s\n' "${LAB_SCRIPT:-lab}" "$*" >&2; }
lab_die() {
  lab_log "error: $*"
  exit 1
}

lab_require_root() {
  [[ $(id -u) -eq 0 ]] || lab_die "run as root: the lab mounts a tmpfs and runs containerd"
}

# ctr and crictl against the lab's containerd only, never the system one.
lab_ctr() { ctr --address "$LAB_SOCKET" --namespace "$LAB_NAMESPACE" "$@"; }
lab_crictl() {
  "$LAB_BIN/crictl" --config /dev/null --timeout 60s \
    --runtime-endpoint "unix://$LAB_SOCKET" --image-endpoint "unix://$LAB_SOCKET" "$@"
}

# Used bytes and available bytes of the filesystem holding $1: "used avail".
lab_df() {
  local _fs _size used avail _rest
  { read -r _ && read -r _fs _size used avail _rest; } < <(df -P -B1 -- "$1")
  printf '%s %s\n' "$used" "$avail"
}

lab_load_env() {
  [[ -f $LAB_ENV ]] || lab_die "no lab at $LAB_DIR (run test/lab/up.sh first)"
  # shellcheck source=/dev/null
  source "$LAB_ENV"
}

# True when PID is alive and its command line contains NEEDLE: a pid file
# never makes us signal a process that reused the number.
lab_pid_matches() {
  local pid=$1 needle=$2 cmdline
  [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *"$needle"* ]]
}

# True while a child this script just started in the background is alive.
# Not lab_pid_matches: until the child has exec'd, its command line is
# still this script's, and a check in that moment saw a live daemon as
# "exited". A child is ours until we reap it, so its pid cannot be reused.
lab_child_alive() {
  [[ $1 =~ ^[0-9]+$ ]] && kill -0 "$1" 2>/dev/null
}
