#!/usr/bin/env bash
# Installs what pullmedic's commands need on a fresh clone, and nothing
# when it is already there: the npm packages (with Node 22 among them) and
# the pinned moto in .venv.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
stamp=node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ ! -x node_modules/.bin/node ]; then
  echo "pullmedic: installing npm packages (npm ci)" >&2
  npm ci --no-audit --no-fund >&2
fi
bash scripts/ensure-moto.sh >/dev/null
