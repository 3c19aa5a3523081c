#!/usr/bin/env bash
# Installs what the API server tests need on a fresh Debian machine (run as root):
# etcd (Debian's etcd-server) and kube-apiserver built from test/apiserver/go.mod
# (cached in .cache/bin; the first build takes ~10 min on 2 cores, later runs < 1 s).
# Idempotent. Needs Go (the version go.mod names or newer).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/apt-need.sh
apt_need etcd:etcd-server openssl:openssl curl:curl
command -v go >/dev/null 2>&1 || { echo "install.sh: Go is required to build kube-apiserver (see test/apiserver/go.mod)" >&2; exit 1; }
bash test/apiserver/build.sh >/dev/null
