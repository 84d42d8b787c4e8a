#!/usr/bin/env bash
# Makes sure the project-local virtualenv .venv has parliament (the IAM
# policy linter scripts/check-iam-policies.py uses) at the pinned version,
# and prints the python that runs it. The venv sees the system
# site-packages, so a machine that already has the pinned parliament
# installs nothing; any other machine gets it from PyPI. parliament brings
# its own copy of the Service Authorization Reference: nothing else is
# downloaded, then or when it runs.
set -euo pipefail
PARLIAMENT_VERSION="${PULLMEDIC_PARLIAMENT_VERSION:-1.6.4}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
python="$venv/bin/python"

have_pinned() {
  [ -x "$python" ] && "$python" - "$PARLIAMENT_VERSION" <<'PY' 2>/dev/null
import sys
import parliament
sys.exit(0 if parliament.__version__ == sys.argv[1] else 1)
PY
}

if ! have_pinned; then
  echo "pullmedic: installing parliament==$PARLIAMENT_VERSION into .venv" >&2
  [ -x "$python" ] || python3 -m venv --system-site-packages "$venv"
  "$python" -m pip install --quiet --disable-pip-version-check "parliament==$PARLIAMENT_VERSION" >&2
  have_pinned || { echo "pullmedic: parliament $PARLIAMENT_VERSION is still not importable from $venv" >&2; exit 1; }
fi
echo "$python"
