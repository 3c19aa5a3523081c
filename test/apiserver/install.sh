#!/usr/bin/env bash
# Installs what the API server tests need on a fresh Debian machine (run as root):
# etcd (Debian's etcd-server) and kube-apiserver built from test/apiserver/go.mod
# (cached in .cache/bin; the first build takes ~10 min on 2 cores, later runs < 1 s).
# Idempotent. Needs Go (the version go.mod names or newer).
set -euo pipefail
cd "$(dirname "$0")/../.."
need=()
for pair in etcd:etcd-server openssl:openssl curl:curl; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair##*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "install.sh: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
command -v go >/dev/null 2>&1 || { echo "install.sh: Go is required to build kube-apiserver (see test/apiserver/go.mod)" >&2; exit 1; }
bash test/apiserver/build.sh >/dev/null
