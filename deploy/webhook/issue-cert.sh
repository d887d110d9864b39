#!/usr/bin/env bash
# Issues the webhook's serving certificate with openssl, for clusters without
# cert-manager. A private CA (kept in --out-dir and reused on later runs)
# signs a certificate for <service>.<namespace>.svc.
#
#   issue-cert.sh [--namespace NS] [--service NAME] [--days N] [--out-dir DIR] [--apply]
#
# Without --apply it only writes ca.crt, ca.key, tls.crt and tls.key into the
# out dir and prints the kubectl commands that install them. With --apply it
# runs them: the Secret the Deployment mounts, and the caBundle of the
# MutatingWebhookConfiguration.
#
# Rotation: run it again before the certificate expires. The CA is reused, so
# the caBundle stays valid; the new Secret reaches the Pods within a minute or
# so and the webhook serves it without a restart.
set -euo pipefail

namespace=vault-csi
service=vault-csi-webhook
days=365
out_dir=./vault-csi-webhook-certs
apply=false

usage() {
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --namespace) namespace=${2:?--namespace needs a value}; shift 2 ;;
    --service) service=${2:?--service needs a value}; shift 2 ;;
    --days) days=${2:?--days needs a value}; shift 2 ;;
    --out-dir) out_dir=${2:?--out-dir needs a value}; shift 2 ;;
    --apply) apply=true; shift ;;
    -h|--help) usage 0 ;;
    *) echo "unknown argument: $1" >&2; usage 2 >&2 ;;
  esac
done

command -v openssl >/dev/null || { echo "openssl is not installed" >&2; exit 1; }
umask 077
mkdir -p "$out_dir"
cd "$out_dir"

host="${service}.${namespace}.svc"

if [ ! -s ca.key ] || [ ! -s ca.crt ]; then
  echo "creating a new CA in $(pwd)" >&2
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key 2>/dev/null
  openssl req -x509 -new -key ca.key -sha256 -days 3650 \
    -subj "/CN=${service}-ca" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out ca.crt
else
  echo "reusing the CA in $(pwd)" >&2
fi

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out tls.key.new 2>/dev/null
openssl req -new -key tls.key.new -subj "/CN=${host}" -out tls.csr
cat > tls.ext <<EOF
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:${host},DNS:${host}.cluster.local
EOF
openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key \
  -set_serial "0x$(openssl rand -hex 16)" -days "$days" -sha256 \
  -extfile tls.ext -out tls.crt.new 2>/dev/null
rm -f tls.csr tls.ext
# Key first, then certificate: a reader never sees a certificate without its key.
mv tls.key.new tls.key
mv tls.crt.new tls.crt
echo "issued $(pwd)/tls.crt for ${host}, valid ${days} days" >&2

ca_bundle=$(base64 < ca.crt | tr -d '\n')
secret_cmd="kubectl -n ${namespace} create secret generic ${service}-tls --type=kubernetes.io/tls --from-file=tls.crt=$(pwd)/tls.crt --from-file=tls.key=$(pwd)/tls.key --from-file=ca.crt=$(pwd)/ca.crt --dry-run=client -o yaml | kubectl apply -f -"
annotate_cmd="kubectl annotate mutatingwebhookconfiguration ${service} cert-manager.io/inject-ca-from-"
patch_cmd="kubectl patch mutatingwebhookconfiguration ${service} --type=json -p '[{\"op\":\"add\",\"path\":\"/webhooks/0/clientConfig/caBundle\",\"value\":\"${ca_bundle}\"}]'"

if [ "$apply" = true ]; then
  command -v kubectl >/dev/null || { echo "kubectl is not installed" >&2; exit 1; }
  sh -c "$secret_cmd"
  sh -c "$annotate_cmd"
  sh -c "$patch_cmd"
else
  printf 'to install:\n  %s\n  %s\n  %s\n' "$secret_cmd" "$annotate_cmd" "$patch_cmd"
fi
