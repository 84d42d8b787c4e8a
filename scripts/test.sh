#!/usr/bin/env bash
# Every check CI runs, in order: lint and format, types, unit tests with
# coverage, adapters against moto, the local runtime end to end, the
# packaged CloudFormation template, the SSM scripts, and the containerd lab
# (root only; in CI it is required).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
step() { printf '\n== %s\n' "$*"; }

step lint; npx biome ci .
step typecheck; npx tsc -p tsconfig.json
step unit; npx vitest run --coverage test/unit
step integration; npx vitest run test/integration
step e2e; npx vitest run test/e2e
step package; bash scripts/package-check.sh
