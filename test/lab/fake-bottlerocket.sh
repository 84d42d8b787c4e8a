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
#     in the host's namespaces, which here are already the ones in use. An
#     admin container older than v0.7.3 (PULLMEDIC_FAKE_ADMIN_VERSION) gets
#     the sheltie it had then, which ignores its arguments and runs the
#     admin bash (`nsenter -t 1 -a /proc/$PPID/root/opt/bin/bash`), and
#     `apiclient -u` reports that version in host-containers.admin.source.
#
# Usage: [PULLMEDIC_FAKE_ADMIN_VERSION=v0.7.2] \
#   bash test/lab/fake-bottlerocket.sh <admin enabled: true|false> COMMAND...
set -euo pipefail
LAB_SCRIPT='fake-bottlerocket'
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

[[ $# -ge 2 && $1 =~ ^(true|false)$ ]] ||
  lab_die "usage: fake-bottlerocket.sh <admin enabled: true|false> COMMAND..."
admin_enabled=$1
shift
admin_version=${PULLMEDIC_FAKE_ADMIN_VERSION:-v0.11.6}
[[ $admin_version =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
  lab_die "PULLMEDIC_FAKE_ADMIN_VERSION must look like v0.7.3, not $admin_version"
lab_require_root
lab_load_env

fake="$LAB_DIR/bottlerocket"
rm -rf "$fake"
mkdir -p "$fake/bin"
printf '%s\n' "$admin_enabled" >"$fake/admin-enabled"
printf 'public.ecr.aws/bottlerocket/bottlerocket-admin:%s\n' "$admin_version" >"$fake/admin-source"
: >"$fake/apiclient.log"

cat >"$fake/bin/apiclient" <<'EOF'
#!/usr/bin/env bash
# Stub of Bottlerocket's apiclient (see test/lab/fake-bottlerocket.sh).
set -euo pipefail
state="$PULLMEDIC_FAKE_BOTTLEROCKET/admin-enabled"
printf '%s\n' "${*:1:3}" >>"$PULLMEDIC_FAKE_BOTTLEROCKET/apiclient.log"
case "${1:-}" in
  -u)
    case $2 in
      '/settings?keys=settings.host-containers.admin.enabled')
        printf '{"host-containers":{"admin":{"enabled":%s}}}\n' "$(cat "$state")"
        ;;
      '/settings?keys=settings.host-containers.admin.source')
        printf '{"host-containers":{"admin":{"source":"%s"}}}\n' \
          "$(cat "$PULLMEDIC_FAKE_BOTTLEROCKET/admin-source")"
        ;;
      *) exit 1 ;;
    esac
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
if [[ $(printf '%s\n' "$admin_version" v0.7.3 | sort -V | head -n1) == v0.7.3 ]]; then
  cat >"$fake/bin/sheltie" <<'EOF'
#!/usr/bin/env bash
# Stub of the admin container's sheltie (v0.7.3 on): the real one runs "$@"
# through `nsenter -t 1 -a --` in the host's namespaces.
[[ $EUID -eq 0 ]] || { echo "sheltie must be run as root" >&2; exit 1; }
exec "$@"
EOF
else
  cat >"$fake/bin/sheltie" <<'EOF'
#!/usr/bin/env bash
# Stub of the admin container's sheltie before v0.7.3: its arguments are
# ignored, and the admin bash runs on the host (the real one:
# `exec nsenter -t 1 -a "/proc/${PPID}/root/opt/bin/bash"`).
[[ $EUID -eq 0 ]] || { echo "sheltie must be run as root" >&2; exit 1; }
exec "/proc/${PPID}/root/opt/bin/bash"
EOF
fi
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
