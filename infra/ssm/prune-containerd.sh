#!/usr/bin/env bash
# pullmedic: prune containerd's image cache on a node whose image pull failed
# with "no space left on device".
#
# Run by the SSM document infra/ssm/prune-containerd.yml (aws:runShellScript) on
# Amazon Linux 2/2023 EKS nodes, and on the Bottlerocket host through
# prune-bottlerocket.sh. It reads only these variables, set by the document
# from its parameters (allowedPattern there, validated again here):
#   DRY_RUN             true|false (default false): report, change nothing
#   CONTAINERD_ADDRESS  containerd's socket (default /run/containerd/containerd.sock)
#   CONTAINERD_ROOT     containerd's root dir (default /var/lib/containerd)
#   NAMESPACE           containerd namespace (default k8s.io, the CRI's)
#
# It never removes the sandbox (pause) image, an image used by any container,
# or a pinned image; it removes what a failed unpack leaves behind; then it
# checks the sandbox image is present and restores it if not.
#
# Output: human-readable progress on stderr, and exactly one line on stdout:
#   PULLMEDIC_PRUNE_RESULT {"v":1,...}     (infra/ssm/README.md has the fields)
# Exit status: 0 done, 1 done with errors, 2 invalid input, 3 containerd or ctr
# unavailable. The result line is printed in every case.
#
# Needs bash (4.2+), coreutils, grep and ctr; crictl, systemctl, flock and
# containerd's own binary are used when present. No awk, sed or jq: the
# Bottlerocket host has none of them.
set -Eeuo pipefail
umask 077
export LC_ALL=C
PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin${PATH:+:$PATH}"

readonly RESULT_PREFIX='PULLMEDIC_PRUNE_RESULT '
# A temporary lease (gc.expire label) is only removed when no pull is in flight
# and it is at least this old: leases of finished pulls that containerd could
# not delete (its database sat on the full disk) keep their blobs for 24 h.
readonly LEASE_MIN_AGE_SECONDS=60
# Keep the result line far below SSM's 24,000-character stdout excerpt.
readonly MAX_REPORTED_REFS=50
readonly MAX_REPORTED_MESSAGES=10
readonly MAX_MESSAGE_CHARS=300
readonly GC_TIMEOUT=600s

started_ms=$(date +%s%3N)

# ---------------------------------------------------------------- result state
errors=()
warnings=()
removed_refs=()
images_removed=0
leftover_removed=0
leases_removed=0
fs_total=0
used_before=0
used_after=0
free_before=0
free_after=0
du_before=null
du_after=null
measured_after=false
pause_image=''
pause_intact=false
pause_restored=false
tool_crictl=''
tool_ctr=''
tool_containerd=''
# Which removal ran: crictl-rmi-prune or ctr-images-rm-sync; none before it is known.
method=none
# CONTAINERD_ROOT once it is known to be valid: input is never echoed unchecked.
reported_root=''
# The block device and EBS volume behind the root, once found and checked.
volume_device=''
volume_id=''
exit_code=0
result_emitted=false

log() { printf 'pullmedic-prune: %s\n' "$*" >&2; }
add_error() {
  log "error: $*"
  errors+=("$*")
}
add_warning() {
  log "warning: $*"
  warnings+=("$*")
}
die() { # die <exit code> <message>
  exit_code=$1
  shift
  add_error "$*"
  exit "$exit_code"
}

json_escape() {
  local s=${1:0:$MAX_MESSAGE_CHARS}
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  s=${s//$'\t'/\\t}
  s=${s//[$'\001'-$'\037']/}
  printf '%s' "$s"
}
json_string() { printf '"%s"' "$(json_escape "$1")"; }
json_nullable_string() {
  if [[ -n $1 ]]; then json_string "$1"; else printf 'null'; fi
}
json_array() { # json_array <max> <item>...
  local max=$1 first=true item n=0
  shift
  printf '['
  for item in "$@"; do
    ((n < max)) || break
    $first || printf ','
    first=false
    json_string "$item"
    n=$((n + 1))
  done
  printf ']'
}

emit_result() {
  $result_emitted && return 0
  result_emitted=true
  local freed=0 duration=$(($(date +%s%3N) - started_ms))
  if $measured_after && ((used_before > used_after)); then freed=$((used_before - used_after)); fi
  local dry=false truncated=false
  [[ ${DRY_RUN:-} == true ]] && dry=true
  ((${#removed_refs[@]} > MAX_REPORTED_REFS)) && truncated=true
  printf '%s{"v":1,"dryRun":%s,"fsBytesTotal":%s,"bytesBefore":%s,"bytesAfter":%s,"bytesFreed":%s,"freeBytesBefore":%s,"freeBytesAfter":%s,"rootDuBytesBefore":%s,"rootDuBytesAfter":%s,"imagesRemoved":%s,"imagesRemovedRefs":%s,"imagesRemovedRefsTruncated":%s,"pauseImage":%s,"pauseImageIntact":%s,"pauseImageRestored":%s,"leftoverSnapshotsRemoved":%s,"leasesRemoved":%s,"tools":{"crictl":%s,"ctr":%s,"containerd":%s},"method":%s,"containerdRoot":%s,"volume":{"id":%s,"device":%s},"durationMs":%s,"errors":%s,"warnings":%s}\n' \
    "$RESULT_PREFIX" "$dry" "$fs_total" "$used_before" "$used_after" "$freed" \
    "$free_before" "$free_after" "$du_before" "$du_after" "$images_removed" \
    "$(json_array "$MAX_REPORTED_REFS" ${removed_refs[@]+"${removed_refs[@]}"})" \
    "$truncated" \
    "$(json_nullable_string "$pause_image")" "$pause_intact" "$pause_restored" \
    "$leftover_removed" "$leases_removed" \
    "$(json_nullable_string "$tool_crictl")" "$(json_nullable_string "$tool_ctr")" \
    "$(json_nullable_string "$tool_containerd")" "$(json_string "$method")" \
    "$(json_nullable_string "$reported_root")" \
    "$(json_nullable_string "$volume_id")" "$(json_nullable_string "$volume_device")" "$duration" \
    "$(json_array "$MAX_REPORTED_MESSAGES" ${errors[@]+"${errors[@]}"})" \
    "$(json_array "$MAX_REPORTED_MESSAGES" ${warnings[@]+"${warnings[@]}"})"
}

on_err() { # an unexpected failure under set -e: say where, then exit
  # errtrace also fires this in $(...) subshells, whose state is thrown away.
  ((BASH_SUBSHELL == 0)) || return 0
  add_error "unexpected failure at line $1: $2"
}
on_exit() {
  local status=$?
  trap - ERR
  if ((status != 0 && exit_code == 0)); then exit_code=$status; fi
  if ((exit_code == 0 && ${#errors[@]} > 0)); then exit_code=1; fi
  if ((exit_code != 0 && ${#errors[@]} == 0)); then add_error "exited with status $exit_code"; fi
  [[ -n ${work:-} && -d ${work:-} ]] && rm -rf -- "$work"
  emit_result
  exit "$exit_code"
}
trap on_exit EXIT
trap 'on_err "$LINENO" "$BASH_COMMAND"' ERR

# ------------------------------------------------------------------- inputs
DRY_RUN=${DRY_RUN:-false}
CONTAINERD_ADDRESS=${CONTAINERD_ADDRESS:-/run/containerd/containerd.sock}
CONTAINERD_ROOT=${CONTAINERD_ROOT:-/var/lib/containerd}
NAMESPACE=${NAMESPACE:-k8s.io}

readonly PATH_RE='^/[A-Za-z0-9._/-]{1,200}$'
[[ $DRY_RUN =~ ^(true|false)$ ]] || die 2 "DRY_RUN must be true or false"
[[ $CONTAINERD_ADDRESS =~ $PATH_RE && $CONTAINERD_ADDRESS != *..* ]] ||
  die 2 "CONTAINERD_ADDRESS must be an absolute path of [A-Za-z0-9._/-] without '..'"
[[ $CONTAINERD_ROOT =~ $PATH_RE && $CONTAINERD_ROOT != *..* ]] ||
  die 2 "CONTAINERD_ROOT must be an absolute path of [A-Za-z0-9._/-] without '..'"
CONTAINERD_ROOT=${CONTAINERD_ROOT%/}
[[ -n $CONTAINERD_ROOT ]] || die 2 "CONTAINERD_ROOT must not be /"
[[ $NAMESPACE =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,75}$ ]] || die 2 "NAMESPACE is not a containerd namespace name"
reported_root=$CONTAINERD_ROOT
[[ -d $CONTAINERD_ROOT ]] || die 2 "CONTAINERD_ROOT $CONTAINERD_ROOT is not a directory"

# ------------------------------------------------ the volume behind the root
# Which block device holds containerd's root, and which EBS volume it is, so
# pullmedic grows that volume (a nodeadm layout mounts /var/lib/containerd on
# a volume of its own) and says which. The device comes from the root's
# st_dev through /sys/dev/block (which also covers a /dev/root or a bind
# mount, as on Bottlerocket); a partition or a device-mapper device on one
# disk stands for that disk. On Nitro an EBS volume is an NVMe disk whose
# udev link /dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol<hex>, or its
# controller's serial number vol<hex>, names the volume; on Xen the disk's
# name is the block device mapping's (/dev/xvdb). A filesystem on no block
# device (tmpfs, overlay) leaves both null. Only what matches its pattern is
# ever reported.
readonly KERNEL_NAME_RE='^[a-z][a-z0-9-]{0,30}[a-z0-9]$'
readonly VOLUME_HEX_RE='^vol([0-9a-f]{8,17})$'
# disk_of <kernel name>: the whole disk under it, through partitions and a
# device-mapper device with one slave.
disk_of() {
  local name=$1 sys slaves i
  for ((i = 0; i < 4; i++)); do
    [[ $name =~ $KERNEL_NAME_RE && -e /sys/class/block/$name ]] || return 1
    if [[ -e /sys/class/block/$name/partition ]]; then
      sys=$(readlink -f -- "/sys/class/block/$name") || return 1
      sys=${sys%/*}
      name=${sys##*/}
      continue
    fi
    slaves=()
    [[ -d /sys/class/block/$name/slaves ]] && slaves=("/sys/class/block/$name/slaves/"*)
    if ((${#slaves[@]} == 1)) && [[ -e ${slaves[0]} ]]; then
      name=${slaves[0]##*/}
      continue
    fi
    printf '%s' "$name"
    return 0
  done
  return 1
}
# ebs_volume_of <disk>: vol-… of an NVMe EBS disk, from its udev link or serial.
ebs_volume_of() {
  local disk=$1 link id='' serial='' model=''
  for link in /dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol*; do
    [[ -L $link && $(readlink -f -- "$link" 2>/dev/null) == "/dev/$disk" ]] || continue
    id=${link##*_Store_}
    id=${id%_[0-9]*} # the namespace suffix of newer udev rules: vol…_1
    break
  done
  if [[ -z $id && -r /sys/class/block/$disk/device/serial ]]; then
    read -r serial <"/sys/class/block/$disk/device/serial" || true
    read -r model 2>/dev/null <"/sys/class/block/$disk/device/model" || true
    [[ $model == "Amazon Elastic Block Store" ]] && id=$serial
  fi
  [[ $id =~ $VOLUME_HEX_RE ]] || return 1
  printf 'vol-%s' "${BASH_REMATCH[1]}"
}
find_volume() {
  local dev major minor sys disk
  dev=$(stat -c %d -- "$CONTAINERD_ROOT" 2>/dev/null) || return 0
  [[ $dev =~ ^[0-9]{1,20}$ ]] || return 0
  # st_dev as the kernel encodes it (new_encode_dev): major and minor.
  major=$((((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfff)))
  minor=$(((dev & 0xff) | ((dev >> 12) & ~0xff)))
  sys=$(readlink -f -- "/sys/dev/block/$major:$minor" 2>/dev/null) || return 0
  [[ -e $sys ]] || return 0
  disk=$(disk_of "${sys##*/}") || return 0
  volume_device=/dev/$disk
  volume_id=$(ebs_volume_of "$disk") || volume_id=''
  log "containerd's root is on $volume_device${volume_id:+ (EBS $volume_id)}"
}
find_volume
[[ -S $CONTAINERD_ADDRESS ]] || die 3 "no containerd socket at $CONTAINERD_ADDRESS"
$DRY_RUN && log "dry run: nothing will be changed"

# Scratch space on a tmpfs: the disk we are here to clean may be full.
work=''
for dir in /run /dev/shm "${TMPDIR:-/tmp}" /tmp; do
  if [[ -d $dir && -w $dir ]] && work=$(mktemp -d "$dir/pullmedic-prune.XXXXXX" 2>/dev/null); then
    break
  fi
done
[[ -n $work ]] || die 1 "no writable directory for scratch files"
export TMPDIR=$work

# One prune at a time per containerd: a lock on its root directory itself,
# which leaves no lock file behind.
if command -v flock >/dev/null; then
  exec 9<"$CONTAINERD_ROOT"
  flock -n 9 || die 1 "another prune is running on $CONTAINERD_ROOT"
else
  add_warning "flock not found: running without a lock"
fi

# ------------------------------------------------------------------ helpers
ctr_() { ctr --timeout 120s --address "$CONTAINERD_ADDRESS" --namespace "$NAMESPACE" "$@"; }
# The same, for calls that wait for containerd's garbage collection.
ctr_gc_() { ctr --timeout "$GC_TIMEOUT" --address "$CONTAINERD_ADDRESS" --namespace "$NAMESPACE" "$@"; }
crictl_() {
  crictl --runtime-endpoint "unix://$CONTAINERD_ADDRESS" \
    --image-endpoint "unix://$CONTAINERD_ADDRESS" --timeout 60s "$@"
}

# capture <var> <command...>: stdout into <var>, stderr kept in $last_stderr
# (one line, trimmed) so crictl's config warnings do not flood SSM's stderr.
last_stderr=''
# shellcheck disable=SC2034 # output of commands run for their effect only
discard=''
# Filled by capture (declared for readers and shellcheck).
version_out='' crictl_version='' config_dump='' sandbox_out='' containers_out=''
ps_json='' images_json='' active_out='' snapshots_out='' leases_out=''
capture() {
  local __var=$1 __out __rc=0
  shift
  __out=$("$@" 2>"$work/stderr") || __rc=$?
  printf -v "$__var" '%s' "$__out"
  last_stderr=$(tail -c 600 "$work/stderr" | tr '\n\t' '  ')
  return "$__rc"
}

# measure <prefix>: df of the filesystem holding the root, then du of the root.
measure() {
  local out _fs size used avail _rest du_out
  capture out df -P -B1 -- "$CONTAINERD_ROOT" || die 1 "df $CONTAINERD_ROOT failed: $last_stderr"
  { read -r _ && read -r _fs size used avail _rest; } <<<"$out"
  [[ $size =~ ^[0-9]+$ && $used =~ ^[0-9]+$ && $avail =~ ^[0-9]+$ ]] ||
    die 1 "cannot read df output for $CONTAINERD_ROOT"
  fs_total=$size
  printf -v "used_$1" '%s' "$used"
  printf -v "free_$1" '%s' "$avail"
  # du walks every file: bounded, and allowed to fail (files vanish mid-walk).
  du_out=$(timeout 300 du -sxb -- "$CONTAINERD_ROOT" 2>/dev/null) || true
  du_out=${du_out%%[[:space:]]*}
  if [[ $du_out =~ ^[0-9]+$ ]]; then
    printf -v "du_$1" '%s' "$du_out"
  else
    add_warning "du of $CONTAINERD_ROOT did not finish"
  fi
}

# Normalises an image reference the way the CRI names images:
# pause:3.9 -> docker.io/library/pause:3.9, and adds :latest when untagged.
normalize_ref() {
  local ref=$1 first rest last
  if [[ $ref != */* ]]; then
    ref="docker.io/library/$ref"
  else
    first=${ref%%/*}
    rest=${ref#*/}
    if [[ $first != *.* && $first != *:* && $first != localhost ]]; then
      ref="docker.io/$first/$rest"
    fi
  fi
  last=${ref##*/}
  [[ $last == *:* || $last == *@* ]] || ref="$ref:latest"
  printf '%s' "$ref"
}

# Version "major.minor" of a version string such as v1.7.11 or 1.6.20~ds1.
version_major_minor() {
  local re='([0-9]+)\.([0-9]+)'
  if [[ $1 =~ $re ]]; then
    printf '%s %s\n' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
  else
    printf '0 0\n'
  fi
}

# ------------------------------------------------------------------- tools
command -v ctr >/dev/null || die 3 "ctr not found"
capture version_out ctr --timeout 60s --address "$CONTAINERD_ADDRESS" version ||
  die 3 "containerd does not answer on $CONTAINERD_ADDRESS: $last_stderr"
n=0
while IFS= read -r line; do
  if [[ $line =~ ^[[:space:]]*Version:[[:space:]]*([^[:space:]]+) ]]; then
    n=$((n + 1))
    if ((n == 1)); then tool_ctr=${BASH_REMATCH[1]}; else tool_containerd=${BASH_REMATCH[1]}; fi
  fi
done <<<"$version_out"
[[ -n $tool_containerd ]] || die 3 "cannot read containerd's version from 'ctr version'"
read -r cd_major cd_minor < <(version_major_minor "$tool_containerd")
# `ctr images prune --all` exists from containerd 1.7 on. It is not used: it
# keeps only images whose exact name a container uses, and ignores the CRI's
# pinned label, so it can drop the sandbox image or the ID/digest names of
# images in use. The per-image removal below is the same on every version.
if ((cd_major > 1 || (cd_major == 1 && cd_minor >= 7))); then ctr_prune=yes; else ctr_prune=no; fi
log "containerd $tool_containerd, ctr $tool_ctr (ctr images prune: $ctr_prune, not used)"

cri_info=''
use_crictl=false
if command -v crictl >/dev/null; then
  capture crictl_version crictl --version || true
  tool_crictl=${crictl_version##* }
  [[ -n $tool_crictl ]] || tool_crictl=unknown
  if capture cri_info crictl_ info; then
    use_crictl=true
    log "crictl $tool_crictl, CRI reachable"
  else
    add_warning "crictl $tool_crictl cannot reach the CRI ($last_stderr): using ctr"
  fi
else
  log "crictl not found: using ctr"
fi
if $use_crictl; then method=crictl-rmi-prune; else method=ctr-images-rm-sync; fi

snapshotter=''
snapshotter_re='"snapshotter"[[:space:]]*:[[:space:]]*"([^"]+)"'
[[ $cri_info =~ $snapshotter_re ]] && snapshotter=${BASH_REMATCH[1]}
snapshots_() {
  if [[ -n $snapshotter ]]; then ctr_ snapshots --snapshotter "$snapshotter" "$@"; else ctr_ snapshots "$@"; fi
}

# ------------------------------------------------------------------ measure
measure before
log "before: $used_before bytes used, $free_before free of $fs_total on the filesystem of $CONTAINERD_ROOT"

# ---------------------------------------------------- containerd's images
# Image names by target digest: name_digest[name]=digest, digest_names[digest]=
# "name name ...", and pinned digests (CRI label io.cri-containerd.pinned).
declare -A name_digest=() digest_names=() digest_pinned=()
load_ctr_images() {
  local out ref _type digest rest labels
  name_digest=()
  digest_names=()
  digest_pinned=()
  capture out ctr_ images ls || die 1 "ctr images ls failed: $last_stderr"
  while read -r ref _type digest rest; do
    [[ $ref == REF || -z $ref || $digest != sha256:* ]] && continue
    name_digest[$ref]=$digest
    digest_names[$digest]="${digest_names[$digest]:-}${digest_names[$digest]:+ }$ref"
    labels=${rest##* }
    if [[ ,$labels, == *,io.cri-containerd.pinned=pinned,* ]]; then digest_pinned[$digest]=1; fi
  done <<<"$out"
}
load_ctr_images

# The names a human would use for the image with this digest: tags, else
# repo@digest names, else the ID name.
display_refs() {
  local ref tags=() digests=() ids=()
  for ref in ${digest_names[$1]:-}; do
    if [[ $ref == sha256:* ]]; then
      ids+=("$ref")
    elif [[ $ref == *@sha256:* ]]; then
      digests+=("$ref")
    else
      tags+=("$ref")
    fi
  done
  if ((${#tags[@]})); then
    printf '%s\n' "${tags[@]}"
  elif ((${#digests[@]})); then
    printf '%s\n' "${digests[@]}"
  elif ((${#ids[@]})); then
    printf '%s\n' "${ids[@]}"
  fi
}

# ------------------------------------------------- the sandbox (pause) image
# Protected references: the configured sandbox image, the images of the pod
# sandboxes that exist, and, when no configuration names one, "/pause:" refs.
declare -A protected_refs=()
sandbox_re='"sandboxImage"[[:space:]]*:[[:space:]]*"([^"]+)"'
pinned_sandbox_re='"sandbox"[[:space:]]*:[[:space:]]*"([^"]+)"'
if [[ $cri_info =~ $sandbox_re ]]; then
  pause_image=${BASH_REMATCH[1]}
elif [[ $cri_info =~ $pinned_sandbox_re ]]; then
  pause_image=${BASH_REMATCH[1]}
fi

# Without the CRI, ask the running containerd's own configuration.
containerd_config_path() {
  local proc arg prev config='' address='' comm
  for proc in /proc/[0-9]*; do
    comm=''
    read -r comm 2>/dev/null <"$proc/comm" || continue
    [[ $comm == containerd ]] || continue
    config='' address='' prev=''
    while IFS= read -r -d '' arg; do
      case "$prev" in
        --config | -c) config=$arg ;;
        --address | -a) address=$arg ;;
      esac
      case "$arg" in
        --config=*) config=${arg#--config=} ;;
        --address=*) address=${arg#--address=} ;;
      esac
      prev=$arg
    done <"$proc/cmdline"
    config=${config:-/etc/containerd/config.toml}
    if [[ $address == "$CONTAINERD_ADDRESS" ]] ||
      { [[ -z $address ]] && grep -qs -- "\"$CONTAINERD_ADDRESS\"" "$config"; } ||
      { [[ -z $address && $CONTAINERD_ADDRESS == /run/containerd/containerd.sock ]] &&
        ! grep -qs '^[[:space:]]*address[[:space:]]*=' "$config"; }; then
      printf '%s' "$config"
      return 0
    fi
  done
  return 1
}
if [[ -z $pause_image ]] && command -v containerd >/dev/null; then
  if config_path=$(containerd_config_path); then
    if capture config_dump containerd --config "$config_path" config dump; then
      # 1.6/1.7: sandbox_image = "..."; 2.x: [...images'.pinned_images] sandbox = '...'
      config_re='^[[:space:]]*(sandbox_image|sandbox)[[:space:]]*=[[:space:]]*["'\'']([^"'\'']+)["'\'']'
      while IFS= read -r line; do
        if [[ $line =~ $config_re ]]; then
          pause_image=${BASH_REMATCH[2]}
          break
        fi
      done <<<"$config_dump"
    else
      add_warning "containerd config dump failed: $last_stderr"
    fi
  fi
fi
if [[ -n $pause_image ]]; then protected_refs[$(normalize_ref "$pause_image")]=1; fi

if capture sandbox_out ctr_ containers ls 'labels."io.cri-containerd.kind"==sandbox'; then
  while read -r _id image _runtime; do
    [[ $_id == CONTAINER || -z $image || $image == - ]] && continue
    protected_refs[$image]=1
    [[ -n $pause_image ]] || pause_image=$image
  done <<<"$sandbox_out"
else
  add_warning "cannot list pod sandboxes: $last_stderr"
fi

# (Size checks before "${!map[@]}": bash 4.2, on AL2, calls an empty one unbound.)
if [[ -z $pause_image ]] && ((${#name_digest[@]} > 0)); then
  for ref in "${!name_digest[@]}"; do
    if [[ $ref == */pause:* ]]; then
      protected_refs[$ref]=1
      pause_image=$ref
    fi
  done
fi
if [[ -n $pause_image ]]; then
  log "sandbox image: $pause_image (protected)"
else
  add_warning "no sandbox image configured or found"
fi

pause_present() {
  local out want
  [[ -n $pause_image ]] || return 1
  want=$(normalize_ref "$pause_image")
  capture out ctr_ images ls -q || return 1
  grep -qxF -- "$want" <<<"$out" || grep -qxF -- "$pause_image" <<<"$out"
}

# ------------------------------------------------------ what to remove
# Protected digests: pinned, named by a protected ref, or used by a container.
declare -A protected_digests=()
if ((${#digest_pinned[@]} > 0)); then
  for digest in "${!digest_pinned[@]}"; do protected_digests[$digest]=1; done
fi
if ((${#protected_refs[@]} > 0)); then
  for ref in "${!protected_refs[@]}"; do
    if [[ -n ${name_digest[$ref]:-} ]]; then protected_digests[${name_digest[$ref]}]=1; fi
  done
fi
capture containers_out ctr_ containers ls || die 1 "ctr containers ls failed: $last_stderr"
while read -r _id image _runtime; do
  [[ $_id == CONTAINER || -z $image ]] && continue
  if [[ -n ${name_digest[$image]:-} ]]; then protected_digests[${name_digest[$image]}]=1; fi
done <<<"$containers_out"

candidates=() # digests (ctr path) or image IDs (crictl path)
declare -A candidate_refs=()
if $use_crictl; then
  # The CRI's view, the rule of `crictl rmi --prune`: every image that no
  # container uses and that is not pinned; plus, unlike crictl, never the
  # sandbox image (containerd 1.6 does not pin it: containerd#9793).
  capture images_json crictl_ images -o json || die 1 "crictl images failed: $last_stderr"
  capture ps_json crictl_ ps -a -o json || die 1 "crictl ps failed: $last_stderr"
  declare -A cri_in_use=()
  ref_value_re='^[[:space:]]*"(image|imageRef|imageId|userSpecifiedImage)"[[:space:]]*:[[:space:]]*"([^"]+)"'
  while IFS= read -r line; do
    if [[ $line =~ $ref_value_re ]]; then cri_in_use[${BASH_REMATCH[2]}]=1; fi
  done <<<"$ps_json"

  # One image per "id" line; repoTags/repoDigests arrays follow, then pinned.
  id_re='^[[:space:]]*"id"[[:space:]]*:[[:space:]]*"([^"]+)"'
  array_re='^[[:space:]]*"(repoTags|repoDigests)"[[:space:]]*:[[:space:]]*\[(.*)$'
  item_re='^[[:space:]]*"([^"]+)"'
  pinned_re='^[[:space:]]*"pinned"[[:space:]]*:[[:space:]]*true'
  ids=()
  declare -A id_refs=() id_keep=()
  current='' in_array=false
  while IFS= read -r line; do
    if $in_array; then
      if [[ $line =~ $item_re ]]; then
        id_refs[$current]="${id_refs[$current]:-}${id_refs[$current]:+ }${BASH_REMATCH[1]}"
      fi
      [[ $line == *']'* ]] && in_array=false
      continue
    fi
    if [[ $line =~ $id_re ]]; then
      current=${BASH_REMATCH[1]}
      ids+=("$current")
    elif [[ -n $current && $line =~ $array_re ]]; then
      [[ ${BASH_REMATCH[2]} == *']'* ]] || in_array=true
    elif [[ -n $current && $line =~ $pinned_re ]]; then
      id_keep[$current]=pinned
    fi
  done <<<"$images_json"
  if ((${#ids[@]} == 0 && ${#digest_names[@]} > 0)); then
    add_warning "crictl images listed no image that ctr sees: nothing removed"
  fi

  for id in ${ids[@]+"${ids[@]}"}; do
    [[ -n ${id_keep[$id]:-} ]] && continue
    if [[ -n ${cri_in_use[$id]:-} ]]; then
      id_keep[$id]=in-use
      continue
    fi
    read -r -a refs <<<"$id ${id_refs[$id]:-}"
    for ref in "${refs[@]}"; do
      if [[ -n ${cri_in_use[$ref]:-} ]]; then
        id_keep[$id]=in-use
      elif [[ -n ${protected_refs[$ref]:-} || -n ${protected_digests[${name_digest[$ref]:-none}]:-} ]]; then
        id_keep[$id]=${id_keep[$id]:-protected}
      fi
    done
    if [[ -z ${id_keep[$id]:-} ]]; then
      candidates+=("$id")
      tag_list='' digest_list=''
      for ref in "${refs[@]}"; do
        [[ $ref == "$id" ]] && continue
        if [[ $ref == *@sha256:* ]]; then
          digest_list+="${digest_list:+ }$ref"
        else
          tag_list+="${tag_list:+ }$ref"
        fi
      done
      candidate_refs[$id]=${tag_list:-${digest_list:-$id}}
    fi
  done
elif ((${#digest_names[@]} > 0)); then
  # containerd's view: every image record whose target digest no container,
  # pin or protected name holds, with all the names it has.
  for digest in "${!digest_names[@]}"; do
    [[ -n ${protected_digests[$digest]:-} ]] && continue
    candidates+=("$digest")
    candidate_refs[$digest]=$(display_refs "$digest" | tr '\n' ' ')
    candidate_refs[$digest]=${candidate_refs[$digest]% }
  done
fi
# In a stable order, by name, for the log and the result line.
if ((${#candidates[@]} > 1)); then
  mapfile -t candidates < <(
    for c in "${candidates[@]}"; do printf '%s\t%s\n' "${candidate_refs[$c]}" "$c"; done | sort | cut -f2
  )
fi
log "${#candidates[@]} unused image(s) by $method; ${#protected_digests[@]} image(s) in use, pinned or sandbox kept"

# -------------------------------------------- leftovers of failed unpacks
# A pull is in flight while content is being written (active ingests) or a
# layer is being unpacked (temporary mounts under <root>/tmpmounts). Then the
# extract-* snapshots and leases may be live, and are left alone.
in_flight=''
root_real=$(readlink -f -- "$CONTAINERD_ROOT" 2>/dev/null || printf '%s' "$CONTAINERD_ROOT")
tmpmounts=0
while read -r _ _ _ _ mountpoint _; do
  if [[ $mountpoint == "$CONTAINERD_ROOT/tmpmounts/"* || $mountpoint == "$root_real/tmpmounts/"* ]]; then
    tmpmounts=$((tmpmounts + 1))
  fi
done </proc/self/mountinfo
((tmpmounts == 0)) || in_flight="$tmpmounts layer(s) being unpacked"
if capture active_out ctr_ content active; then
  ingests=0
  while read -r ref _rest; do
    [[ -z $ref || $ref == REF ]] || ingests=$((ingests + 1))
  done <<<"$active_out"
  ((ingests == 0)) || in_flight="${in_flight:+$in_flight, }$ingests download(s) active"
else
  in_flight="cannot list active downloads"
fi

extract_keys=()
if capture snapshots_out snapshots_ ls; then
  while read -r first second rest; do
    # Keys of unpack snapshots contain a space: "extract-<n>-<rand> <chainID>".
    [[ $first == extract-* && $second == sha256:* && ${rest##* } == Active ]] &&
      extract_keys+=("$first $second")
  done <<<"$snapshots_out"
else
  add_warning "cannot list snapshots: $last_stderr"
fi

stale_leases=()
if capture leases_out ctr_ leases ls; then
  now=$(date +%s)
  while read -r id created labels; do
    [[ -z $id || $id == ID ]] && continue
    [[ ,$labels, == *,containerd.io/gc.expire=* ]] || continue
    created_s=$(date -d "$created" +%s 2>/dev/null) || continue
    if ((now - created_s >= LEASE_MIN_AGE_SECONDS)); then stale_leases+=("$id"); fi
  done <<<"$leases_out"
else
  add_warning "cannot list leases: $last_stderr"
fi

if [[ -n $in_flight ]] && ((${#extract_keys[@]} + ${#stale_leases[@]} > 0)); then
  add_warning "pull in flight ($in_flight): ${#extract_keys[@]} extract snapshot(s) and ${#stale_leases[@]} lease(s) kept"
elif $DRY_RUN; then
  leftover_removed=${#extract_keys[@]}
  leases_removed=${#stale_leases[@]}
  for key in ${extract_keys[@]+"${extract_keys[@]}"}; do log "would remove snapshot '$key'"; done
  for id in ${stale_leases[@]+"${stale_leases[@]}"}; do log "would remove lease $id"; done
else
  for key in ${extract_keys[@]+"${extract_keys[@]}"}; do
    if capture discard snapshots_ rm "$key"; then
      leftover_removed=$((leftover_removed + 1))
      log "removed leftover snapshot '$key'"
    else
      add_error "snapshot rm '$key' failed: $last_stderr"
    fi
  done
  for id in ${stale_leases[@]+"${stale_leases[@]}"}; do
    if capture discard ctr_ leases rm "$id"; then
      leases_removed=$((leases_removed + 1))
      log "removed stale lease $id"
    else
      add_error "lease rm $id failed: $last_stderr"
    fi
  done
fi

# ----------------------------------------------------------- remove images
if $DRY_RUN; then
  for c in ${candidates[@]+"${candidates[@]}"}; do
    log "would remove ${candidate_refs[$c]}"
    read -r -a refs <<<"${candidate_refs[$c]}"
    removed_refs+=(${refs[@]+"${refs[@]}"})
  done
  images_removed=${#candidates[@]}
elif $use_crictl; then
  for id in ${candidates[@]+"${candidates[@]}"}; do
    if capture discard crictl_ rmi "$id"; then
      images_removed=$((images_removed + 1))
      read -r -a refs <<<"${candidate_refs[$id]}"
      removed_refs+=(${refs[@]+"${refs[@]}"})
      log "removed ${candidate_refs[$id]}"
    else
      add_error "crictl rmi $id failed: $last_stderr"
    fi
  done
elif ((${#candidates[@]} > 0)); then
  last_index=$((${#candidates[@]} - 1))
  for i in "${!candidates[@]}"; do
    digest=${candidates[$i]}
    read -r -a names <<<"${digest_names[$digest]}"
    # --sync on the last call: containerd collects garbage before answering.
    sync_flag=()
    if ((i == last_index)); then sync_flag=(--sync); fi
    if capture discard ctr_gc_ images rm ${sync_flag[@]+"${sync_flag[@]}"} "${names[@]}"; then
      images_removed=$((images_removed + 1))
      read -r -a refs <<<"${candidate_refs[$digest]}"
      removed_refs+=(${refs[@]+"${refs[@]}"})
      log "removed ${candidate_refs[$digest]}"
    else
      add_error "ctr images rm ${names[*]} failed: $last_stderr"
    fi
  done
fi

# Deletions above are collected lazily; a synchronous lease deletion makes
# containerd collect garbage now (snapshots of removed images, leftover
# snapshots, unreferenced blobs) without touching anything referenced.
if ! $DRY_RUN; then
  gc_lease="pullmedic-gc-$$-$(date +%s)"
  if capture discard ctr_ leases create --id "$gc_lease" --expires 10m &&
    capture discard ctr_gc_ leases rm --sync "$gc_lease"; then
    log "garbage collected"
  else
    add_error "garbage collection failed: $last_stderr"
  fi
fi

# ------------------------------------------- the sandbox image afterwards
restore_pause() {
  local ref=$pause_image
  # AL2023 EKS AMIs ship the sandbox image as a tarball (check-sandbox-image.service).
  if [[ -f /etc/eks/pause.tar ]] && capture discard ctr_ images import /etc/eks/pause.tar; then
    capture discard ctr_ images label "$(normalize_ref "$ref")" io.cri-containerd.pinned=pinned || true
    pause_present && return 0
  fi
  # AL2 EKS AMIs pull it from ECR with the node's credentials (sandbox-image.service).
  if command -v systemctl >/dev/null && systemctl cat sandbox-image.service >/dev/null 2>&1; then
    capture discard systemctl restart sandbox-image.service || true
    pause_present && return 0
  fi
  if $use_crictl && capture discard crictl_ pull "$ref"; then
    pause_present && return 0
  fi
  return 1
}
if [[ -n $pause_image ]]; then
  if pause_present; then
    pause_intact=true
  elif $DRY_RUN; then
    add_warning "sandbox image $pause_image is missing (dry run: not restored)"
  else
    add_warning "sandbox image $pause_image is missing: restoring it"
    if restore_pause; then
      pause_intact=true
      pause_restored=true
      log "sandbox image $pause_image restored"
    else
      add_error "sandbox image $pause_image is missing and could not be restored: new pods will fail (FailedCreatePodSandBox)"
    fi
  fi
fi

# ------------------------------------------------------------------- after
measure after
measured_after=true
log "after: $used_after bytes used, $free_after free; freed $((used_before - used_after)) bytes"
