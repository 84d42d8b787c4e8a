#!/usr/bin/env bash
# Installs what the lab needs, idempotently: Debian's containerd, docker-registry,
# skopeo and shellcheck, plus two binaries built from Go sources and cached in
# <repo>/.cache/bin (git-ignored): crictl (cri-tools, from the Go module proxy)
# and the lab's stand-in pause binary (test/lab/pause/pause.go).
#
# Usage: bash test/lab/install.sh        (as root; safe to run again)
#
# CNI is not installed or configured on purpose: the lab only pulls images and
# runs one host-network pod sandbox, for which the CRI plugin never calls CNI
# (checked with containerd 1.6.20; see test/lab/README.md).
set -euo pipefail

readonly CRICTL_VERSION=v1.37.0
readonly DEBIAN_PACKAGES=(containerd docker-registry skopeo shellcheck)

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin_dir="$repo/.cache/bin"

log() { printf 'lab/install: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

[[ $(id -u) -eq 0 ]] || die "run as root (the lab mounts a tmpfs and runs containerd)"

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done
if [[ ${#missing[@]} -gt 0 ]]; then
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # The packages' services are never started: the lab runs its own containerd
  # and registry, and no system daemon must claim /run/containerd.
  apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  log "Debian packages present: ${DEBIAN_PACKAGES[*]}"
fi

command -v go >/dev/null || die "go is needed to build crictl and the pause binary"
mkdir -p "$bin_dir"

if [[ -x $bin_dir/crictl ]] && "$bin_dir/crictl" --version 2>/dev/null | grep -q -- "$CRICTL_VERSION"; then
  log "crictl $CRICTL_VERSION cached in $bin_dir"
else
  log "building crictl $CRICTL_VERSION from the Go module proxy"
  # The version is stamped the way cri-tools' Makefile does, so the prune
  # script reports a real crictl version instead of "unknown".
  GOBIN="$bin_dir" GOFLAGS=-buildvcs=false go install \
    -ldflags "-X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION" \
    "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION"
fi

pause_src="$repo/test/lab/pause/pause.go"
if [[ -x $bin_dir/lab-pause && $bin_dir/lab-pause -nt $pause_src ]]; then
  log "lab-pause cached in $bin_dir"
else
  log "building the lab's pause binary"
  (cd "$(dirname "$pause_src")" &&
    CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -ldflags '-s -w' \
      -o "$bin_dir/lab-pause" "$pause_src")
fi

log "ready: $(containerd --version), $("$bin_dir/crictl" --version), skopeo $(skopeo --version | cut -d' ' -f3)"
