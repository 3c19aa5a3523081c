#!/usr/bin/env bash
# Builds kube-apiserver from the Go module pinned in test/apiserver/go.mod into
# .cache/bin/kube-apiserver, once. A stamp next to the binary records the inputs
# (go.mod, go.sum, this script, `go version`); the build reruns only when they change.
#
#   bash test/apiserver/build.sh          # build if missing or stale, print the path
#   FORCE=1 bash test/apiserver/build.sh  # rebuild anyway
#
# Cold on 2 cores: several minutes (module download + compile); cached: well under 1 s.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin_dir="$root/.cache/bin"
out="$bin_dir/kube-apiserver"
stamp="$out.stamp"

command -v go >/dev/null 2>&1 || {
  echo "build.sh: Go is required (go.mod asks for $(sed -n 's/^go //p' "$here/go.mod"))" >&2
  exit 1
}

k8s_version="$(sed -n 's/^[[:space:]]*k8s.io\/kubernetes \(v[0-9.]*\).*$/\1/p' "$here/go.mod")"
[ -n "$k8s_version" ] || { echo "build.sh: no 'k8s.io/kubernetes vX.Y.Z' requirement in go.mod" >&2; exit 1; }
major="${k8s_version#v}"; major="${major%%.*}"
minor="${k8s_version#v*.}"; minor="${minor%%.*}"

want="$( { cat "$here/go.mod" "$here/go.sum" "$0"; go version; } | sha256sum | cut -d' ' -f1)"
if [ -z "${FORCE:-}" ] && [ -x "$out" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "$out"
  exit 0
fi

mkdir -p "$bin_dir"
echo "build.sh: building kube-apiserver $k8s_version (cold: several minutes)" >&2
start=$(date +%s)
# The version variables are the ones Kubernetes' own build (hack/lib/version.sh) sets,
# so /version reports the release instead of v0.0.0-master.
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
ldflags="$ldflags -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
(
  cd "$here"
  go mod download
  CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out.tmp" k8s.io/kubernetes/cmd/kube-apiserver
)
mv "$out.tmp" "$out"
echo "$want" > "$stamp"
echo "build.sh: built $out in $(( $(date +%s) - start )) s" >&2
echo "$out"
