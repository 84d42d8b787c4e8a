#!/usr/bin/env bash
# Runs a command in a stand-in for a Bottlerocket node's control container, so
# infra/ssm/prune-bottlerocket.sh (and its SSM document) can run against the
# lab's containerd. Nothing outside a private mount namespace changes:
#   - /run/containerd/containerd.sock and /var/lib/containerd are bind mounts
#     of the lab's socket and root (Bottlerocket's fixed paths);
#   - /opt/bin/bash is a copy of this machine's bash (the admin container's
#     static bash, which sheltie runs on the host);
#   - `apiclient` is a stub: `-u /settings?keys=...` and `set` read and write
#     the admin container's "enabled" setting in a file, `exec admin CMD...`
#     runs CMD (refusing while the admin container is disabled); every call is
#     logged to $PULLMEDIC_LAB_DIR/bottlerocket/apiclient.log;
#   - `sheltie CMD...` runs CMD: the real one runs it through `nsenter -t 1 -a`
#     in the host's namespaces, which here are already the ones in use.
#
# Usage: bash test/lab/fake-bottlerocket.sh <admin enabled: true|false> COMMAND...
set -euo pipefail
LAB_SCRIPT='fake-bottlerocket'
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

[[ $# -ge 2 && $1 =~ ^(true|false)$ ]] ||
  lab_die "usage: fake-bottlerocket.sh <admin enabled: true|false> COMMAND..."
admin_enabled=$1
shift
lab_require_root
lab_load_env

fake="$LAB_DIR/bottlerocket"
rm -rf "$fake"
mkdir -p "$fake/bin"
printf '%s\n' "$admin_enabled" >"$fake/admin-enabled"
: >"$fake/apiclient.log"

cat >"$fake/bin/apiclient" <<'EOF'
#!/usr/bin/env bash
# Stub of Bottlerocket's apiclient (see test/lab/fake-bottlerocket.sh).
set -euo pipefail
state="$PULLMEDIC_FAKE_BOTTLEROCKET/admin-enabled"
printf '%s\n' "${*:1:3}" >>"$PULLMEDIC_FAKE_BOTTLEROCKET/apiclient.log"
case "${1:-}" in
  -u)
    [[ $2 == '/settings?keys=settings.host-containers.admin.enabled' ]] || exit 1
    printf '{"host-containers":{"admin":{"enabled":%s}}}\n' "$(cat "$state")"
    ;;
  set)
    [[ $2 =~ ^host-containers\.admin\.enabled=(true|false)$ ]] || exit 1
    printf '%s\n' "${BASH_REMATCH[1]}" >"$state"
    ;;
  exec)
    [[ $2 == admin && $(cat "$state") == true ]] || {
      echo "apiclient exec: host container $2 is not running" >&2
      exit 1
    }
    shift 2
    exec "$@"
    ;;
  *) exit 1 ;;
esac
EOF
cat >"$fake/bin/sheltie" <<'EOF'
#!/usr/bin/env bash
# Stub of the admin container's sheltie: the real one runs "$@" through
# `nsenter -t 1 -a --` in the host's namespaces.
[[ $EUID -eq 0 ]] || { echo "sheltie must be run as root" >&2; exit 1; }
exec "$@"
EOF
chmod +x "$fake/bin/apiclient" "$fake/bin/sheltie"

export PULLMEDIC_FAKE_BOTTLEROCKET=$fake LAB_BIN CONTAINERD_ADDRESS CONTAINERD_ROOT
# shellcheck disable=SC2016 # expanded by the inner bash
exec unshare --mount --propagation private bash -c '
  set -euo pipefail
  mount -t tmpfs fake-opt /opt
  mkdir -p /opt/bin
  cp "$(command -v bash)" /opt/bin/bash
  mount -t tmpfs fake-run /run
  mkdir -p /run/containerd
  : >/run/containerd/containerd.sock
  mount --bind "$CONTAINERD_ADDRESS" /run/containerd/containerd.sock
  if [[ ! -d /var/lib/containerd ]]; then
    mount -t tmpfs fake-var-lib /var/lib
    mkdir -p /var/lib/containerd
  fi
  mount --bind "$CONTAINERD_ROOT" /var/lib/containerd
  export PATH="$PULLMEDIC_FAKE_BOTTLEROCKET/bin:$LAB_BIN:$PATH"
  exec "$@"
' fake-bottlerocket "$@"
