#!/usr/bin/env bash
# Builds upstream kube-proxy (the release pinned in ./go.mod, the same as the test API
# server's) into .cache/bin/kube-proxy, once (scripts/lib/k8s-build.sh; cached afterwards).
# Bench/dev only: the e2e suites run against it with KPX_E2E_PROXY=upstream
# (test/e2e/README.md); npm test and .ci/run never build or run it.
#
#   bash bench/upstream/build.sh          # build if missing or stale, print the path
#   FORCE=1 bash bench/upstream/build.sh  # rebuild anyway
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="$(bash "$here/../../scripts/lib/k8s-build.sh" "$here" kube-proxy)"
echo "$dir/kube-proxy"
