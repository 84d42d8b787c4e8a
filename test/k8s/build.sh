#!/usr/bin/env bash
# Builds the real kube-apiserver and etcd that the forwarder tests run on
# loopback, from Go modules (test/k8s/go/go.mod pins k8s.io/kubernetes and
# every k8s.io staging module), and caches them under
# <repo>/.cache/k8s-bin/<hash of go.mod and go.sum>/ so a second run, or a
# CI run on the same machine, is instant. Prints the binary folder.
#
# Usage: bash test/k8s/build.sh            # build when absent, print folder
#        bash test/k8s/build.sh --check    # exit 1 when not built yet
#
# A cold build takes about 15 minutes on 2 cores (go build -p 2), most of
# it compiling kube-apiserver; the module download is about 300 MB.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/../.." && pwd)"
mod="${here}/go"
key="$(cat "${mod}/go.mod" "${mod}/go.sum" | sha256sum | cut -c1-16)"
out="${PULLMEDIC_K8S_BIN:-${repo}/.cache/k8s-bin/${key}}"

if [[ -x "${out}/kube-apiserver" && -x "${out}/etcd" ]]; then
  echo "${out}"
  exit 0
fi
if [[ "${1:-}" == "--check" ]]; then
  echo "kube-apiserver and etcd are not built yet: bash test/k8s/build.sh" >&2
  exit 1
fi

command -v go >/dev/null || {
  echo "go is needed to build kube-apiserver and etcd" >&2
  exit 1
}

k8s_version="$(cd "${mod}" && go list -m -f '{{.Version}}' k8s.io/kubernetes)"
minor="$(echo "${k8s_version}" | cut -d. -f2)"
pkg="k8s.io/component-base/version"
ldflags="-s -w"
ldflags+=" -X ${pkg}.gitVersion=${k8s_version}"
ldflags+=" -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${minor}"
ldflags+=" -X ${pkg}.gitTreeState=clean"

tmp="${out}.partial.$$"
rm -rf "${tmp}"
mkdir -p "${tmp}"
trap 'rm -rf "${tmp}"' EXIT

started=${SECONDS}
echo "building kube-apiserver ${k8s_version} and etcd into ${out}" >&2
(
  cd "${mod}"
  # Two compile jobs: the box has two cores and others share it.
  GOFLAGS="-mod=mod -buildvcs=false" GOMAXPROCS="${GOMAXPROCS:-2}" \
    go build -p "${GO_BUILD_JOBS:-2}" -trimpath -ldflags "${ldflags}" \
    -o "${tmp}/" k8s.io/kubernetes/cmd/kube-apiserver
  GOFLAGS="-mod=mod -buildvcs=false" GOMAXPROCS="${GOMAXPROCS:-2}" \
    go build -p "${GO_BUILD_JOBS:-2}" -trimpath -ldflags "-s -w" \
    -o "${tmp}/etcd" go.etcd.io/etcd/server/v3
)
rm -rf "${out}"
mv "${tmp}" "${out}"
trap - EXIT
echo "built in $((SECONDS - started)) s" >&2
echo "${out}"
