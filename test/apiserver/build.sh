#!/usr/bin/env bash
# Builds the Kubernetes binaries the tests run — kube-apiserver, kube-controller-manager,
# kube-scheduler, kubelet and kubectl — from the release pinned in test/apiserver/go.mod, in ONE
# `go build` (scripts/lib/k8s-build.sh), into .cache/bin, once; cached afterwards.
#
#   bash test/apiserver/build.sh          # build if missing or stale, print kube-apiserver's path
#   FORCE=1 bash test/apiserver/build.sh  # rebuild anyway
#
# Cold on 2 cores: ~10 min (module download + compile); cached: well under 1 s.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="$(bash "$here/../../scripts/lib/k8s-build.sh" "$here" \
  kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl)"
echo "$dir/kube-apiserver"
