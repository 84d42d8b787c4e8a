#!/usr/bin/env bash
# Every check CI runs, in order: lint and format, types, unit tests with
# coverage, adapters against moto, the local runtime end to end, the
# packaged CloudFormation template, the SSM documents and shell scripts,
# and the containerd lab (it needs root; in CI it is required).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
step() { printf '\n== %s\n' "$*"; }

step lint; npx biome ci .
step typecheck; npx tsc -p tsconfig.json
step unit; npx vitest run --coverage test/unit
step integration; npx vitest run test/integration
step e2e; npx vitest run test/e2e
step package; bash scripts/package-check.sh
step ssm; npm run --silent check:ssm
# Builds kube-apiserver and etcd from Go modules the first time (minutes),
# cached under .cache/k8s-bin afterwards.
step forwarder; npm run --silent test:forwarder
if [ "$(id -u)" -eq 0 ]; then
  # The lab installs shellcheck with its other Debian packages.
  step lab; npm run --silent test:lab
  step shellcheck; npm run --silent lint:sh
elif [ "${CI:-}" = true ]; then
  echo "the containerd lab needs root, and CI must run it" >&2
  exit 1
else
  echo "skipping the containerd lab and shellcheck: run as root (npm run test:lab)"
fi
