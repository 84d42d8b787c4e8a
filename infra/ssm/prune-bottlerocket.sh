#!/usr/bin/env bash
# pullmedic: run prune-containerd.sh on a Bottlerocket node.
#
# On Bottlerocket the SSM agent runs in the control container, not on the host.
# The host has containerd, ctr, coreutils and grep but no shell, and the images
# live on the data volume (/dev/xvdb, mounted at /local; /var/lib/containerd is
# on it). So this wrapper, run by the SSM document prune-bottlerocket.yml:
#   1. makes sure the admin container runs (only enables it when the document's
#      EnableAdminContainer parameter is true, and disables it again after);
#   2. checks that the admin container's sheltie runs the command it is
#      given: it does from bottlerocket-admin-container v0.7.3 on; before,
#      it ignores its arguments and opens a shell on the host;
#   3. runs `apiclient exec admin bash -c 'sheltie <admin bash> -c "$1"' - <script>`:
#      sheltie enters the host's namespaces (`nsenter -t 1 -a`) and runs the
#      admin container's static bash (/opt/bin/bash, reached through
#      /proc/<pid>/root) on the host, with prune-containerd.sh as its program;
#   4. prints the prune's result line, or one of its own on failure.
#
# Inputs (set by the SSM document, validated again here):
#   DRY_RUN                 true|false (default false)
#   ENABLE_ADMIN_CONTAINER  true|false (default false)
#   PULLMEDIC_PRUNE_SCRIPT  text of prune-containerd.sh (the document embeds
#                           it; when unset, the file next to this one is read)
# Exit status: the prune's, or 3 when the host cannot be reached.
set -euo pipefail
export LC_ALL=C

readonly RESULT_PREFIX='PULLMEDIC_PRUNE_RESULT '
readonly HOST_CONTAINERD_ADDRESS=/run/containerd/containerd.sock
readonly HOST_CONTAINERD_ROOT=/var/lib/containerd
# The admin container's statically linked bash, which runs on the host.
readonly ADMIN_BASH=/opt/bin/bash
readonly ADMIN_WAIT_SECONDS=120
# The first admin container whose sheltie passes its arguments on to
# nsenter ("Add support for passing single commands through sheltie",
# bottlerocket-admin-container 0.7.3, 2021-11).
readonly SHELTIE_MIN_ADMIN_VERSION=v0.7.3

started_ms=$(date +%s%3N)
log() { printf 'pullmedic-prune-bottlerocket: %s\n' "$*" >&2; }

json_escape() {
  local s=${1:0:300}
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  s=${s//$'\t'/\\t}
  s=${s//[$'\001'-$'\037']/}
  printf '%s' "$s"
}

# The result line when the prune never ran: same fields as prune-containerd.sh.
fail() { # fail <exit code> <message>
  local code=$1 message=$2 dry=false
  [[ ${DRY_RUN:-} == true ]] && dry=true
  log "error: $message"
  printf '%s{"v":1,"dryRun":%s,"fsBytesTotal":0,"bytesBefore":0,"bytesAfter":0,"bytesFreed":0,"freeBytesBefore":0,"freeBytesAfter":0,"rootDuBytesBefore":null,"rootDuBytesAfter":null,"imagesRemoved":0,"imagesRemovedRefs":[],"imagesRemovedRefsTruncated":false,"pauseImage":null,"pauseImageIntact":false,"pauseImageRestored":false,"leftoverSnapshotsRemoved":0,"leasesRemoved":0,"tools":{"crictl":null,"ctr":null,"containerd":null},"method":"none","containerdRoot":"%s","durationMs":%s,"errors":["%s"],"warnings":[]}\n' \
    "$RESULT_PREFIX" "$dry" "$HOST_CONTAINERD_ROOT" "$(($(date +%s%3N) - started_ms))" "$(json_escape "$message")"
  exit "$code"
}
# Not in $(...) subshells: a result line printed there would be captured.
trap '((BASH_SUBSHELL > 0)) || fail 1 "unexpected failure at line $LINENO: $BASH_COMMAND"' ERR

DRY_RUN=${DRY_RUN:-false}
ENABLE_ADMIN_CONTAINER=${ENABLE_ADMIN_CONTAINER:-false}
[[ $DRY_RUN =~ ^(true|false)$ ]] || fail 2 "DRY_RUN must be true or false"
[[ $ENABLE_ADMIN_CONTAINER =~ ^(true|false)$ ]] || fail 2 "ENABLE_ADMIN_CONTAINER must be true or false"
if [[ -z ${PULLMEDIC_PRUNE_SCRIPT:-} ]]; then
  script_file="$(dirname "${BASH_SOURCE[0]}")/prune-containerd.sh"
  [[ -r $script_file ]] || fail 2 "PULLMEDIC_PRUNE_SCRIPT is empty and $script_file is missing"
  PULLMEDIC_PRUNE_SCRIPT=$(<"$script_file")
fi
command -v apiclient >/dev/null || fail 3 "apiclient not found: this is not a Bottlerocket control container"

admin_enabled() {
  local out
  out=$(apiclient -u '/settings?keys=settings.host-containers.admin.enabled' 2>/dev/null) || return 1
  [[ $out =~ \"enabled\"[[:space:]]*:[[:space:]]*true ]]
}
admin_answers() { apiclient exec admin true >/dev/null 2>&1; }

enabled_here=false
# shellcheck disable=SC2317 # runs from the EXIT trap
restore_admin() {
  if $enabled_here; then
    log "disabling the admin container again"
    apiclient set host-containers.admin.enabled=false >/dev/null 2>&1 ||
      log "warning: could not disable the admin container"
  fi
}
trap restore_admin EXIT

if ! admin_enabled; then
  $ENABLE_ADMIN_CONTAINER ||
    fail 3 "the admin container is disabled (set EnableAdminContainer=true, or enable it in the node's settings)"
  log "enabling the admin container"
  apiclient set host-containers.admin.enabled=true >/dev/null ||
    fail 3 "could not enable the admin container"
  enabled_here=true
fi
for ((waited = 0; ; waited += 2)); do
  admin_answers && break
  ((waited < ADMIN_WAIT_SECONDS)) ||
    fail 3 "the admin container did not answer within ${ADMIN_WAIT_SECONDS}s (on a full data volume it may not start)"
  sleep 2
done

# The admin container's image, for the error message (its tag is its
# version when it comes from Bottlerocket's registry); empty if unknown.
admin_image() {
  local out
  out=$(apiclient -u '/settings?keys=settings.host-containers.admin.source' 2>/dev/null) || return 0
  if [[ $out =~ \"source\"[[:space:]]*:[[:space:]]*\"([A-Za-z0-9./:@_-]{1,200})\" ]]; then
    printf '%s' "${BASH_REMATCH[1]}"
  fi
}

# Before v0.7.3, sheltie ignores its arguments and opens an interactive
# shell on the host: the prune would not run, and the command would end
# with nothing to say why. So ask sheltie to print a token first. An old
# one runs a shell on an empty stdin instead, which prints nothing.
probe_token="pullmedic-sheltie-probe-$$"
# shellcheck disable=SC2016 # expanded by the admin container's bash
probe_command='sheltie "/proc/$$/root'"$ADMIN_BASH"'" -c "echo $1"; exit $?'
probe_rc=0
probe=$(apiclient exec admin bash -c "$probe_command" pullmedic-probe "$probe_token" </dev/null 2>&1) || probe_rc=$?
if [[ $probe != *"$probe_token"* ]]; then
  [[ -z $probe ]] || printf '%s\n' "$probe" >&2
  ((probe_rc == 0)) ||
    fail 3 "could not run a command through the admin container's sheltie (apiclient exec exited $probe_rc)"
  image=$(admin_image)
  fail 3 "the admin container is too old: sheltie opens a shell and ignores its arguments; needs bottlerocket-admin-container $SHELTIE_MIN_ADMIN_VERSION or later${image:+ (host-containers.admin.source is $image)}"
fi

# Bottlerocket's paths are fixed; DRY_RUN is the only choice passed on.
payload="export DRY_RUN=$DRY_RUN CONTAINERD_ADDRESS=$HOST_CONTAINERD_ADDRESS CONTAINERD_ROOT=$HOST_CONTAINERD_ROOT NAMESPACE=k8s.io
$PULLMEDIC_PRUNE_SCRIPT"
# In the admin container: $$ is that bash, alive while sheltie runs (no exec,
# hence "; exit"), so /proc/$$/root/opt/bin/bash is its static bash, which
# sheltie runs in the host's namespaces.
# shellcheck disable=SC2016 # expanded by the admin container's bash
host_command='sheltie "/proc/$$/root'"$ADMIN_BASH"'" -c "$1"; exit $?'
log "running the prune on the host (dry run: $DRY_RUN)"
rc=0
output=$(apiclient exec admin bash -c "$host_command" pullmedic-prune "$payload" </dev/null) || rc=$?
if [[ $output == *"$RESULT_PREFIX"* ]]; then
  # Pass on the prune's own result line, and only that, on stdout.
  while IFS= read -r line; do
    if [[ $line == "$RESULT_PREFIX"* ]]; then
      printf '%s\n' "$line"
    else
      printf '%s\n' "$line" >&2
    fi
  done <<<"$output"
  exit "$rc"
fi
[[ -z $output ]] || printf '%s\n' "$output" >&2
fail 3 "the prune did not run on the host (apiclient exec exited $rc)"
