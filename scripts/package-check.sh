#!/usr/bin/env bash
# Builds the function bundles, packages the stack with osls exactly as a
# deploy would (stage "ci"), lints the CloudFormation template with
# cfn-lint, and lints every IAM policy in it with parliament
# (scripts/check-iam-policies.py). Fails when the build, the packaging or a
# lint has an error; cfn-lint's warnings are printed and allowed. Rules are
# ignored only in .cfnlintrc, and IAM findings accepted only in
# infra/serverless/iam-findings-allowed.yml, each with the reason next to it.
#
# Offline by construction: no AWS account, no credentials, no network.
# - osls itself has no telemetry or update checks (the v3 fork dropped them);
#   SLS_TELEMETRY_DISABLED and SLS_NOTIFICATIONS_MODE keep it that way should
#   a later version bring them back;
# - osls runs with dummy credentials and empty AWS config files, so no real
#   credentials can ever be picked up, and with the instance metadata
#   service disabled;
# - where the kernel lets us (unshare, user namespaces), it runs in a network
#   namespace with no interface but loopback: a request to anywhere fails
#   instead of leaving the machine, and packaging fails with it.
#
# Environment: PULLMEDIC_PACKAGE_STAGE (default ci),
# PULLMEDIC_NODE_ROLE_NAME_PATTERN (the required stack param
# nodeRoleNamePattern; default AmazonEKSNodeRole, the node role's name in
# the EKS user guide), PULLMEDIC_CFN_LINT_VERSION (what .venv gets when
# cfn-lint is missing; scripts/ensure-parliament.sh pins parliament).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# The project's Node (22, the Lambda runtime's) and its osls, as npm runs them.
export PATH="$root/node_modules/.bin:$PATH"

stage="${PULLMEDIC_PACKAGE_STAGE:-ci}"
node_role_name_pattern="${PULLMEDIC_NODE_ROLE_NAME_PATTERN:-AmazonEKSNodeRole}"
cfn_lint_version="${PULLMEDIC_CFN_LINT_VERSION:-1.51.0}"
template=".serverless/cloudformation-template-update-stack.json"

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'package-check: %s\n' "$*" >&2; exit 1; }

[ -f infra/ssm/prune-containerd.yml ] ||
  fail "infra/ssm/prune-containerd.yml is missing: the stack's prune document is read from it"

step "build (scripts/build-functions.mjs)"
node scripts/build-functions.mjs

step "package (osls package --stage $stage, offline)"
rm -rf .serverless
offline_env=(
  SLS_TELEMETRY_DISABLED=1
  SLS_NOTIFICATIONS_MODE=off
  AWS_ACCESS_KEY_ID=x
  AWS_SECRET_ACCESS_KEY=x
  AWS_REGION=us-east-1
  AWS_SHARED_CREDENTIALS_FILE=/dev/null
  AWS_CONFIG_FILE=/dev/null
  AWS_EC2_METADATA_DISABLED=true
)
# nodeRoleNamePattern has no default (serverless.yml): CI gives one, as a
# deploy must.
osls_cmd=(osls package --stage "$stage" --param="nodeRoleNamePattern=$node_role_name_pattern")
if unshare --user --map-root-user --net true 2>/dev/null; then
  # Root inside a new user namespace only to own the new network namespace;
  # files are written as the calling user.
  env -u AWS_PROFILE -u AWS_SESSION_TOKEN "${offline_env[@]}" \
    unshare --user --map-root-user --net "${osls_cmd[@]}"
else
  echo "package-check: no network namespace here (unshare refused); running osls with dummy credentials only" >&2
  env -u AWS_PROFILE -u AWS_SESSION_TOKEN "${offline_env[@]}" "${osls_cmd[@]}"
fi
[ -s "$template" ] || fail "osls wrote no $template"

# What the stack holds, by type (a quick look for reviewers and CI logs),
# and the SSM documents as packaged: each must be its source document, as
# osls's own YAML parser reads it, whatever osls made of the escaped copy in
# dist/ssm/.
node --input-type=module - "$template" <<'JS'
import { isDeepStrictEqual } from 'node:util';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const template = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const resources = Object.values(template.Resources ?? {});
const byType = new Map();
for (const r of resources) byType.set(r.Type, (byType.get(r.Type) ?? 0) + 1);
console.log(`${process.argv[2]}: ${resources.length} resources, ` +
  `${Object.keys(template.Outputs ?? {}).length} outputs`);
for (const [type, n] of [...byType].sort((a, b) => a[0].localeCompare(b[0]))) {
  console.log(`  ${String(n).padStart(3)}  ${type}`);
}
const yaml = createRequire(
  createRequire(import.meta.url).resolve('osls/package.json')
)('js-yaml');
let failed = false;
for (const [id, file] of [
  ['PruneContainerdDocument', 'infra/ssm/prune-containerd.yml'],
  ['PruneBottlerocketDocument', 'infra/ssm/prune-bottlerocket.yml'],
]) {
  if (!existsSync(file)) continue;
  const packaged = template.Resources?.[id]?.Properties?.Content;
  const source = JSON.parse(JSON.stringify(yaml.load(readFileSync(file, 'utf8'))));
  if (isDeepStrictEqual(packaged, source)) {
    console.log(`${id}: content is ${file}`);
  } else {
    console.error(`${id}: the packaged content differs from ${file}`);
    failed = true;
  }
}
process.exitCode = failed ? 1 : 0;
JS

step "lint (cfn-lint)"
cfn_lint=()
if cfn-lint --version >/dev/null 2>&1; then
  cfn_lint=(cfn-lint)
elif [ -x .venv/bin/cfn-lint ] && .venv/bin/cfn-lint --version >/dev/null 2>&1; then
  cfn_lint=(.venv/bin/cfn-lint)
else
  echo "package-check: installing cfn-lint==$cfn_lint_version into .venv" >&2
  [ -x .venv/bin/python ] || python3 -m venv --system-site-packages .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "cfn-lint==$cfn_lint_version"
  cfn_lint=(.venv/bin/cfn-lint)
fi
"${cfn_lint[@]}" --version
# Errors fail the check; warnings and informational findings are printed
# (the template passes when none are listed).
"${cfn_lint[@]}" --non-zero-exit-code error -- "$template" ||
  fail "cfn-lint found errors in $template"

step "iam (parliament, scripts/check-iam-policies.py)"
# parliament carries its own copy of the Service Authorization Reference:
# installing it (from PyPI, only when missing) is the only download.
iam_python="$(bash scripts/ensure-parliament.sh)"
"$iam_python" scripts/check-iam-policies.py "$template" \
  --allowances infra/serverless/iam-findings-allowed.yml ||
  fail "IAM policies in $template have findings (above)"
echo "package-check: $template packaged and linted"
