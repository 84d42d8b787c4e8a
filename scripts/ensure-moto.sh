#!/usr/bin/env bash
# Makes sure the project-local virtualenv .venv has moto[server] and
# waitress (the HTTP server the launcher serves it with) at their pinned
# versions, and prints the python that runs them. The venv sees the system
# site-packages, so a machine that already has them installs nothing; any
# other machine gets them from PyPI.
set -euo pipefail
MOTO_VERSION="${PULLMEDIC_MOTO_VERSION:-5.2.1}"
# The HTTP server the launcher serves moto with (scripts/moto-launcher.py).
WAITRESS_VERSION=3.0.2
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
python="$venv/bin/python"

have_pinned() {
  [ -x "$python" ] && "$python" - "$MOTO_VERSION" "$WAITRESS_VERSION" <<'PY' 2>/dev/null
import sys
import importlib.metadata as metadata
import moto, flask, flask_cors  # noqa: F401  (the server extras)
pinned = moto.__version__ == sys.argv[1] and metadata.version("waitress") == sys.argv[2]
sys.exit(0 if pinned else 1)
PY
}

if ! have_pinned; then
  echo "pullmedic: installing moto[server]==$MOTO_VERSION and waitress==$WAITRESS_VERSION into .venv" >&2
  python3 -m venv --system-site-packages "$venv"
  "$python" -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" "waitress==$WAITRESS_VERSION" >&2
  have_pinned || { echo "pullmedic: moto $MOTO_VERSION or waitress $WAITRESS_VERSION is still not importable from $venv" >&2; exit 1; }
fi
echo "$python"
