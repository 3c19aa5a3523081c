#!/usr/bin/env bash
# Builds upstream kube-proxy (the release pinned in ./go.mod, the same as the test API
# server's) into .cache/bin/kube-proxy, once; a stamp of the inputs triggers a rebuild
# only when go.mod, go.sum, this script or `go version` change. Dev/bench only: the e2e
# suite runs against it with KPX_E2E_PROXY=upstream (test/e2e/README.md); npm test and
# .ci/run never build or run it.
#
#   bash bench/upstream/build.sh          # build if missing or stale, print the path
#   FORCE=1 bash bench/upstream/build.sh  # rebuild anyway
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/.cache/bin/kube-proxy"
stamp="$out.stamp"

command -v go >/dev/null 2>&1 || { echo "build.sh: Go is required" >&2; exit 1; }
k8s_version="$(sed -n 's/^[[:space:]]*k8s.io\/kubernetes \(v[0-9.]*\).*$/\1/p' "$here/go.mod" | head -1)"
[ -n "$k8s_version" ] || { echo "build.sh: no k8s.io/kubernetes vX.Y.Z requirement in go.mod" >&2; exit 1; }
major="${k8s_version#v}"; major="${major%%.*}"
minor="${k8s_version#v*.}"; minor="${minor%%.*}"

want="$( { cat "$here/go.mod" "$here/go.sum" "$0"; go version; } | sha256sum | cut -d' ' -f1)"
if [ -z "${FORCE:-}" ] && [ -x "$out" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "$out"
  exit 0
fi
mkdir -p "$(dirname "$out")"
echo "build.sh: building kube-proxy $k8s_version (a few minutes with a warm module cache)" >&2
start=$(date +%s)
# Same version stamping as Kubernetes' own build (hack/lib/version.sh).
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
ldflags="$ldflags -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
(
  cd "$here"
  go mod download
  CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out.tmp" k8s.io/kubernetes/cmd/kube-proxy
)
mv "$out.tmp" "$out"
echo "$want" > "$stamp"
echo "build.sh: built $out in $(( $(date +%s) - start )) s" >&2
echo "$out"
