#!/usr/bin/env bash
# `npm run cluster:down`: stops what `npm run cluster:up` started and removes its data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash test/apiserver/cluster.sh down .cache/cluster
rm -f .cache/kubeconfig
echo "cluster: stopped" >&2
