#!/usr/bin/env bash
# Starts a real etcd and kube-apiserver on loopback for the forwarder tests,
# in the background, with everything in DIR: self-signed certificates, the
# service-account keys, a static-token file, a kubeconfig, the logs and an
# env file the tests source:
#
#   KUBECONFIG=DIR/kubeconfig  APISERVER_URL=https://127.0.0.1:PORT
#   ETCD_ENDPOINT=http://127.0.0.1:PORT  ETCD_PID=…  APISERVER_PID=…
#
# Usage: bash test/k8s/start.sh DIR      # returns once /readyz answers ok
#        bash test/k8s/stop.sh DIR
# Extra kube-apiserver flags: KUBE_APISERVER_EXTRA_ARGS="--flag=value …".
# Builds the binaries first when they are not cached (test/k8s/build.sh).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="${1:?usage: start.sh DIR}"
mkdir -p "${dir}"
dir="$(cd "${dir}" && pwd)"
bin="$(bash "${here}/build.sh")"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

etcd_port="$(free_port)"
peer_port="$(free_port)"
api_port="$(free_port)"

# Certificates: a CA, the apiserver's serving certificate for 127.0.0.1,
# and the service-account signing key pair.
pki="${dir}/pki"
mkdir -p "${pki}"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=pullmedic-test-ca" \
  -keyout "${pki}/ca.key" -out "${pki}/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" \
  -keyout "${pki}/apiserver.key" -out "${pki}/apiserver.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"${pki}/san.ext"
openssl x509 -req -in "${pki}/apiserver.csr" -CA "${pki}/ca.crt" \
  -CAkey "${pki}/ca.key" -CAcreateserial -days 2 -extfile "${pki}/san.ext" \
  -out "${pki}/apiserver.crt" 2>/dev/null
openssl genrsa -out "${pki}/sa.key" 2048 2>/dev/null
openssl rsa -in "${pki}/sa.key" -pubout -out "${pki}/sa.pub" 2>/dev/null

# Static tokens: an admin (system:masters) for the tests, and one for the
# forwarder that only the RBAC in infra/k8s grants anything to.
admin_token="$(openssl rand -hex 16)"
forwarder_token="$(openssl rand -hex 16)"
{
  printf '%s,admin,admin-uid,"system:masters"\n' "${admin_token}"
  printf '%s,system:serviceaccount:pullmedic:pullmedic-forwarder,forwarder-uid,"system:serviceaccounts,system:serviceaccounts:pullmedic"\n' \
    "${forwarder_token}"
} >"${pki}/tokens.csv"

# No fsync: a test database, thrown away after the run.
setsid "${bin}/etcd" \
  --name default \
  --data-dir "${dir}/etcd-data" \
  --listen-client-urls "http://127.0.0.1:${etcd_port}" \
  --advertise-client-urls "http://127.0.0.1:${etcd_port}" \
  --listen-peer-urls "http://127.0.0.1:${peer_port}" \
  --initial-advertise-peer-urls "http://127.0.0.1:${peer_port}" \
  --initial-cluster "default=http://127.0.0.1:${peer_port}" \
  --unsafe-no-fsync \
  --log-level warn \
  >"${dir}/etcd.log" 2>&1 </dev/null &
etcd_pid=$!

for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:${etcd_port}/health" >/dev/null 2>&1; then
    break
  fi
  if ! kill -0 "${etcd_pid}" 2>/dev/null; then
    echo "etcd exited; see ${dir}/etcd.log" >&2
    tail -20 "${dir}/etcd.log" >&2
    exit 1
  fi
  sleep 0.1
done

read -r -a extra <<<"${KUBE_APISERVER_EXTRA_ARGS:-}"
setsid "${bin}/kube-apiserver" \
  --etcd-servers "http://127.0.0.1:${etcd_port}" \
  --bind-address 127.0.0.1 \
  --advertise-address 127.0.0.1 \
  --secure-port "${api_port}" \
  --tls-cert-file "${pki}/apiserver.crt" \
  --tls-private-key-file "${pki}/apiserver.key" \
  --client-ca-file "${pki}/ca.crt" \
  --token-auth-file "${pki}/tokens.csv" \
  --authorization-mode RBAC \
  --service-account-issuer https://kubernetes.default.svc \
  --service-account-key-file "${pki}/sa.pub" \
  --service-account-signing-key-file "${pki}/sa.key" \
  --service-cluster-ip-range 10.96.0.0/24 \
  --endpoint-reconciler-type none \
  --profiling=false \
  --v 1 \
  "${extra[@]}" \
  >"${dir}/apiserver.log" 2>&1 </dev/null &
api_pid=$!

cat >"${dir}/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: test
    cluster:
      server: https://127.0.0.1:${api_port}
      certificate-authority: ${pki}/ca.crt
users:
  - name: admin
    user:
      token: ${admin_token}
  - name: forwarder
    user:
      token: ${forwarder_token}
contexts:
  - name: admin
    context: { cluster: test, user: admin }
  - name: forwarder
    context: { cluster: test, user: forwarder }
current-context: admin
EOF

cat >"${dir}/env" <<EOF
KUBECONFIG=${dir}/kubeconfig
APISERVER_URL=https://127.0.0.1:${api_port}
ETCD_ENDPOINT=http://127.0.0.1:${etcd_port}
ETCD_PID=${etcd_pid}
APISERVER_PID=${api_pid}
EOF

ready=""
for _ in $(seq 1 600); do
  if curl -fsS --cacert "${pki}/ca.crt" \
    -H "Authorization: Bearer ${admin_token}" \
    "https://127.0.0.1:${api_port}/readyz" >/dev/null 2>&1; then
    ready=yes
    break
  fi
  if ! kill -0 "${api_pid}" 2>/dev/null; then
    break
  fi
  sleep 0.1
done
if [[ -z "${ready}" ]]; then
  echo "kube-apiserver did not become ready; see ${dir}/apiserver.log" >&2
  tail -30 "${dir}/apiserver.log" >&2
  kill "${api_pid}" "${etcd_pid}" 2>/dev/null || true
  exit 1
fi
cat "${dir}/env"
