#!/usr/bin/env bash
# Reproduces the seed incident on the lab node: pulls the big image through the
# CRI (`crictl pull`, the kubelet's path) and prints the failure. Exits 0 only
# when the pull failed with "failed to extract layer" and "no space left on
# device", as in the seed's kubelet event.
#
# Then, unless --no-leftover is given, it leaves behind what a second failed
# unpack leaves when containerd cannot even write its metadata: an active
# "extract-..." snapshot holding a partly written layer. (A real one needs the
# bolt database to fail mid-cleanup, which is timing-dependent: the lab creates
# it with `ctr snapshots prepare` under the same key scheme instead, so the
# prune's leftover cleanup is exercised every run.)
#
# Usage: bash test/lab/reproduce.sh [--no-leftover]
# Environment: PULLMEDIC_LAB_LEFTOVER_MB (default 8)
set -euo pipefail
LAB_SCRIPT=reproduce
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

leftover=true
case "${1:-}" in
  '') ;;
  --no-leftover) leftover=false ;;
  *) lab_die "usage: reproduce.sh [--no-leftover]" ;;
esac
leftover_mb=${PULLMEDIC_LAB_LEFTOVER_MB:-8}
[[ $leftover_mb =~ ^[1-9][0-9]{0,3}$ ]] || lab_die "bad PULLMEDIC_LAB_LEFTOVER_MB: $leftover_mb"

lab_require_root
lab_load_env

read -r used_before avail_before < <(lab_df "$CONTAINERD_ROOT")
lab_log "crictl pull $IMAGE_BIG ($avail_before bytes free)"
rc=0
output=$(lab_crictl pull "$IMAGE_BIG" 2>&1) || rc=$?
printf '%s\n' "$output"
if ((rc == 0)); then
  lab_die "the pull succeeded: the lab did not reproduce the incident"
fi
if [[ $output != *"failed to extract layer"* || $output != *"no space left on device"* ]]; then
  lab_die "the pull failed for another reason than a full disk"
fi

# The failed pull's lease goes away and containerd's GC then drops the blob it
# downloaded, a moment later: wait for the filesystem to settle.
previous=-1
for ((i = 0; i < 50; i++)); do
  read -r used _ < <(lab_df "$CONTAINERD_ROOT")
  [[ $used != "$previous" ]] || break
  previous=$used
  sleep 0.2
done

if [[ $leftover == true ]]; then
  layer_re='failed to extract layer (sha256:[0-9a-f]{64})'
  [[ $output =~ $layer_re ]] || lab_die "no layer digest in the error"
  # For a first layer the chain ID is the layer's diff ID; containerd names the
  # active snapshot "extract-<nanoseconds>-<random> <chain ID>".
  key="extract-$(date +%N)-lab0 ${BASH_REMATCH[1]}"
  lab_ctr snapshots --snapshotter "$SNAPSHOTTER" prepare "$key" >/dev/null
  mount_re='^mount -t [a-z]+ ([^ ]+) '
  mounts=$(lab_ctr snapshots --snapshotter "$SNAPSHOTTER" mounts /unused "$key")
  [[ $mounts =~ $mount_re ]] || lab_die "cannot find the snapshot's directory in: $mounts"
  dir=${BASH_REMATCH[1]}
  mkdir -p "$dir/data"
  head -c "$((leftover_mb * 1048576))" /dev/urandom >"$dir/data/partial-layer.bin"
  lab_log "left a partly extracted layer behind: snapshot '$key' ($leftover_mb MiB)"
fi

read -r used_after avail_after < <(lab_df "$CONTAINERD_ROOT")
lab_log "reproduced: used $used_before -> $used_after bytes, free $avail_before -> $avail_after"
