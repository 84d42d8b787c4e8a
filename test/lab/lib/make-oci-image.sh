#!/usr/bin/env bash
# Writes a single-platform OCI image layout from scratch, with nothing but tar,
# gzip and sha256sum, so the lab needs no image builder and no network.
#
# Usage: make-oci-image.sh OUT_DIR TAG LAYER_SPEC...
#   LAYER_SPEC is one of
#     random:BYTES         a layer with one file of BYTES random (incompressible) bytes
#     file:SRC:DEST        a layer with the file SRC copied to DEST (absolute, in the image)
#   Each spec becomes one layer, in order. The config's Entrypoint is the DEST of
#   the last file: spec, if any.
#
# Example:
#   make-oci-image.sh /tmp/big big random:41943040
#   skopeo copy oci:/tmp/big:big docker://127.0.0.1:5000/lab/big:v1
set -euo pipefail

die() {
  printf 'make-oci-image: %s\n' "$*" >&2
  exit 1
}

[[ $# -ge 3 ]] || die "usage: make-oci-image.sh OUT_DIR TAG LAYER_SPEC..."
out=$1
tag=$2
shift 2
[[ $tag =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "bad tag: $tag"

# OCI platform names match Debian's for the two architectures EKS runs on.
case "$(uname -m)" in
  x86_64) arch=amd64 ;;
  aarch64) arch=arm64 ;;
  *) die "unsupported machine $(uname -m)" ;;
esac

rm -rf "$out"
mkdir -p "$out/blobs/sha256"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }
size_of() { stat -c %s "$1"; }

# Moves FILE into the blob store and prints "digest size".
store_blob() {
  local file=$1 digest size
  digest=$(sha256_of "$file")
  size=$(size_of "$file")
  mv "$file" "$out/blobs/sha256/$digest"
  printf '%s %s\n' "$digest" "$size"
}

layers_json=''
diff_ids_json=''
history_json=''
entrypoint=''
n=0
for spec in "$@"; do
  n=$((n + 1))
  stage="$work/layer-$n"
  mkdir -p "$stage"
  case "$spec" in
    random:*)
      bytes=${spec#random:}
      [[ $bytes =~ ^[0-9]+$ ]] || die "bad size in $spec"
      mkdir -p "$stage/data"
      head -c "$bytes" /dev/urandom >"$stage/data/random-$n.bin"
      created_by="random $bytes bytes"
      ;;
    file:*)
      rest=${spec#file:}
      src=${rest%%:*}
      dest=${rest#*:}
      [[ -f $src && $dest == /* ]] || die "bad file spec $spec"
      mkdir -p "$stage$(dirname "$dest")"
      cp "$src" "$stage$dest"
      entrypoint=$dest
      created_by="file $dest"
      ;;
    *) die "unknown layer spec: $spec" ;;
  esac
  # Fixed owner and mtime: the same content gives the same digest.
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
    -C "$stage" -cf "$work/layer-$n.tar" .
  diff_id=$(sha256_of "$work/layer-$n.tar")
  gzip -n -1 "$work/layer-$n.tar"
  read -r digest size < <(store_blob "$work/layer-$n.tar.gz")
  sep=${layers_json:+,}
  layers_json+="$sep{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$digest\",\"size\":$size}"
  diff_ids_json+="$sep\"sha256:$diff_id\""
  history_json+="$sep{\"created\":\"1970-01-01T00:00:00Z\",\"created_by\":\"$created_by\"}"
  rm -rf "$stage"
done

config_body=''
if [[ -n $entrypoint ]]; then
  config_body="\"Entrypoint\":[\"$entrypoint\"]"
fi
printf '{"architecture":"%s","os":"linux","created":"1970-01-01T00:00:00Z","config":{%s},"rootfs":{"type":"layers","diff_ids":[%s]},"history":[%s]}' \
  "$arch" "$config_body" "$diff_ids_json" "$history_json" >"$work/config.json"
read -r config_digest config_size < <(store_blob "$work/config.json")

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
  "$config_digest" "$config_size" "$layers_json" >"$work/manifest.json"
read -r manifest_digest manifest_size < <(store_blob "$work/manifest.json")

printf '{"imageLayoutVersion":"1.0.0"}' >"$out/oci-layout"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"%s"},"platform":{"architecture":"%s","os":"linux"}}]}' \
  "$manifest_digest" "$manifest_size" "$tag" "$arch" >"$out/index.json"
