#!/usr/bin/env bash
# Stops the etcd and kube-apiserver that start.sh started in DIR (by the
# process ids it recorded, nothing else), and removes DIR unless KEEP=1.
set -euo pipefail

dir="${1:?usage: stop.sh DIR}"
[[ -f "${dir}/env" ]] || exit 0
# shellcheck disable=SC1091
source "${dir}/env"
for pid in "${APISERVER_PID:-}" "${ETCD_PID:-}"; do
  [[ -n "${pid}" ]] || continue
  kill "${pid}" 2>/dev/null || continue
  for _ in $(seq 1 50); do
    kill -0 "${pid}" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "${pid}" 2>/dev/null || true
done
if [[ "${KEEP:-0}" != "1" ]]; then
  rm -rf "${dir}"
fi
