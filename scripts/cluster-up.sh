#!/usr/bin/env bash
# `npm run cluster:up`: a local etcd + kube-apiserver on 127.0.0.1 for trying kpx by hand.
# Idempotent: a running cluster is left as it is. Writes .cache/kubeconfig.
#   npm run cluster:up && npx kpx render --backend nftables --kubeconfig .cache/kubeconfig --node-name n1
set -euo pipefail
cd "$(dirname "$0")/.."
kubeconfig="$(bash test/apiserver/cluster.sh up .cache/cluster "$@")"
cp "$kubeconfig" .cache/kubeconfig
chmod 600 .cache/kubeconfig
server="$(sed -n 's/^ *server: //p' .cache/kubeconfig)"
echo "cluster: kube-apiserver $server (logs in .cache/cluster/); kubeconfig: .cache/kubeconfig" >&2
echo "cluster: try  KUBECONFIG=.cache/kubeconfig kubectl get --raw /version" >&2
