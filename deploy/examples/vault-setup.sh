#!/usr/bin/env bash
# Sets up Vault or OpenBao for the examples in this directory:
#   1. kubernetes auth that checks this cluster's ServiceAccount tokens;
#   2. KV version 2 at secret/ with the secrets the examples read;
#   3. a policy and a role per example ServiceAccount, bound to the token
#      audience the CSIDriver requests ("vault").
#
# Run it with an admin token and kubectl pointed at the cluster:
#   VAULT_ADDR=https://vault.example.com:8200 VAULT_TOKEN=... ./vault-setup.sh
# OpenBao: VAULT_BIN=bao (the bao CLI reads VAULT_ADDR and VAULT_TOKEN too).
#
# Settings (environment):
#   VAULT_BIN         vault or bao                          (vault)
#   AUTH_PATH         auth mount; Pods name it in vault.hashicorp.com/auth-path
#                                                           (kubernetes)
#   AUDIENCE          the CSIDriver's tokenRequests audience (vault)
#   APP_NAMESPACE     namespace of the example Pods         (shop)
#   K8S_HOST          API server URL as Vault reaches it    (kubectl's server;
#                     use https://kubernetes.default.svc for a Vault inside the cluster)
#   K8S_CA_FILE       CA of the API server's certificate    (ConfigMap kube-root-ca.crt)
#   K8S_ISSUER        `iss` of ServiceAccount tokens        (the cluster's OIDC discovery)
#   VAULT_IN_CLUSTER  true: Vault runs in this cluster and reviews tokens with
#                     its own ServiceAccount, which must be bound to
#                     system:auth-delegator (the Vault Helm chart does this)
#   REVIEWER_JWT      token Vault reviews Pod tokens with; when unset (and
#                     VAULT_IN_CLUSTER is not true) a reviewer ServiceAccount
#                     is created in kube-system
set -euo pipefail

VAULT_BIN="${VAULT_BIN:-vault}"
AUTH_PATH="${AUTH_PATH:-kubernetes}"
AUDIENCE="${AUDIENCE:-vault}"
APP_NAMESPACE="${APP_NAMESPACE:-shop}"

v() { "$VAULT_BIN" "$@"; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# --- 1. kubernetes auth --------------------------------------------------

K8S_HOST="${K8S_HOST:-$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')}"
if [[ -z "${K8S_CA_FILE:-}" ]]; then
  K8S_CA_FILE="$work/kubernetes-ca.crt"
  kubectl -n default get configmap kube-root-ca.crt -o jsonpath='{.data.ca\.crt}' >"$K8S_CA_FILE"
fi
if [[ -z "${K8S_ISSUER:-}" ]]; then
  K8S_ISSUER="$(kubectl get --raw /.well-known/openid-configuration |
    sed -n 's/.*"issuer":"\([^"]*\)".*/\1/p')"
fi

# Vault checks every Pod token with the API server's TokenReview. The tokens
# the driver sends are bound to the audience "vault", so the API server does
# not accept them as credentials: Vault needs its own reviewer token.
reviewer=()
if [[ "${VAULT_IN_CLUSTER:-false}" != true ]]; then
  if [[ -z "${REVIEWER_JWT:-}" ]]; then
    kubectl apply -f - <<'EOF'
apiVersion: v1
kind: ServiceAccount
metadata:
  name: vault-token-reviewer
  namespace: kube-system
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: vault-token-reviewer
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:auth-delegator
subjects:
  - kind: ServiceAccount
    name: vault-token-reviewer
    namespace: kube-system
---
apiVersion: v1
kind: Secret
metadata:
  name: vault-token-reviewer
  namespace: kube-system
  annotations:
    kubernetes.io/service-account.name: vault-token-reviewer
type: kubernetes.io/service-account-token
EOF
    for _ in $(seq 30); do
      REVIEWER_JWT="$(kubectl -n kube-system get secret vault-token-reviewer \
        -o jsonpath='{.data.token}' | base64 -d)"
      [[ -n "$REVIEWER_JWT" ]] && break
      sleep 1
    done
    [[ -n "$REVIEWER_JWT" ]] || { echo "no token in secret kube-system/vault-token-reviewer" >&2; exit 1; }
  fi
  printf '%s' "$REVIEWER_JWT" >"$work/reviewer.jwt"
  reviewer=(token_reviewer_jwt=@"$work/reviewer.jwt" disable_local_ca_jwt=true)
fi

# (Listed first, then searched: grep -q under pipefail would fail on SIGPIPE.)
auth_mounts="$(v auth list -format=json)"
if ! grep -q "\"${AUTH_PATH}/\"" <<<"$auth_mounts"; then
  v auth enable -path="$AUTH_PATH" kubernetes
fi
v write "auth/${AUTH_PATH}/config" \
  kubernetes_host="$K8S_HOST" \
  kubernetes_ca_cert=@"$K8S_CA_FILE" \
  issuer="$K8S_ISSUER" \
  ${reviewer[@]+"${reviewer[@]}"}

# --- 2. secrets ------------------------------------------------------------

secret_mounts="$(v secrets list -format=json)"
if ! grep -q '"secret/"' <<<"$secret_mounts"; then
  v secrets enable -path=secret -version=2 kv
fi
random() { head -c 24 /dev/urandom | base64 | tr -d '\n/+='; }
v kv put secret/web/db username=web password="$(random)"
v kv put secret/web/api api-key="$(random)"

# --- 3. policies and roles -------------------------------------------------

# KV v2 keeps data under secret/data/; Pods still write secret/web/db in
# their annotations, as under the injector.
v policy write web - <<'EOF'
path "secret/data/web/*" {
  capabilities = ["read"]
}
EOF
v policy write db-migrate - <<'EOF'
path "secret/data/web/db" {
  capabilities = ["read"]
}
EOF

# One role per ServiceAccount. `audience` makes Vault refuse tokens minted
# for anything but the driver's logins.
v write "auth/${AUTH_PATH}/role/web" \
  bound_service_account_names=web \
  bound_service_account_namespaces="$APP_NAMESPACE" \
  audience="$AUDIENCE" \
  token_policies=web \
  token_ttl=1h
v write "auth/${AUTH_PATH}/role/db-migrate" \
  bound_service_account_names=db-migrate \
  bound_service_account_namespaces="$APP_NAMESPACE" \
  audience="$AUDIENCE" \
  token_policies=db-migrate \
  token_ttl=15m

echo "Vault is ready for deploy/examples: kubectl apply -f deploy/examples/namespace.yaml, then the workloads."
