#!/usr/bin/env bash
# Makes sure the project-local virtualenv .venv has moto[server] at the
# pinned version, and prints the python that runs it. The venv sees the
# system site-packages, so a machine that already has the pinned moto
# installs nothing; any other machine gets it from PyPI.
set -euo pipefail
MOTO_VERSION="${PULLMEDIC_MOTO_VERSION:-5.2.1}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
python="$venv/bin/python"

have_pinned() {
  [ -x "$python" ] && "$python" - "$MOTO_VERSION" <<'PY' 2>/dev/null
import sys
import moto, flask, flask_cors  # noqa: F401  (the server extras)
sys.exit(0 if moto.__version__ == sys.argv[1] else 1)
PY
}

if ! have_pinned; then
  echo "pullmedic: installing moto[server]==$MOTO_VERSION into .venv" >&2
  python3 -m venv --system-site-packages "$venv"
  "$python" -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" >&2
  have_pinned || { echo "pullmedic: moto $MOTO_VERSION is still not importable from $venv" >&2; exit 1; }
fi
echo "$python"
