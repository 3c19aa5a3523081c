#!/usr/bin/env bash
# Builds Kubernetes commands from one Go tools module with ONE `go build`, into
# .cache/bin, once. A stamp per module records the inputs (go.mod, go.sum, this script,
# `go version`, the command list); the build reruns only when they change.
#
#   bash scripts/lib/k8s-build.sh MODULE_DIR CMD [CMD...]   # e.g. test/apiserver kube-apiserver kubelet
#   FORCE=1 ...                                              # rebuild anyway
#
# Prints the binaries' directory. The version variables are the ones Kubernetes' own build
# (hack/lib/version.sh) sets, so /version and the kubelet report the pinned release
# (kubelet must, or the API server's version-skew checks fail).
set -euo pipefail
[ $# -ge 2 ] || { echo "k8s-build.sh: usage: k8s-build.sh MODULE_DIR CMD [CMD...]" >&2; exit 2; }
root="$(cd "$(dirname "$0")/../.." && pwd)"
mod="$(cd "$1" && pwd)"; shift
cmds=("$@")
bin_dir="$root/.cache/bin"
stamp="$bin_dir/.stamp-$(echo "$mod" | sed "s|^$root/||; s|/|-|g")"

command -v go >/dev/null 2>&1 || {
  echo "k8s-build.sh: Go is required (go.mod asks for $(sed -n 's/^go //p' "$mod/go.mod"))" >&2
  exit 1
}
k8s_version="$(sed -n 's/^[[:space:]]*k8s.io\/kubernetes \(v[0-9.]*\).*$/\1/p' "$mod/go.mod" | head -1)"
[ -n "$k8s_version" ] || { echo "k8s-build.sh: no 'k8s.io/kubernetes vX.Y.Z' requirement in $mod/go.mod" >&2; exit 1; }
major="${k8s_version#v}"; major="${major%%.*}"
minor="${k8s_version#v*.}"; minor="${minor%%.*}"

want="$( { cat "$mod/go.mod" "$mod/go.sum" "$0"; go version; echo "${cmds[*]}"; } | sha256sum | cut -d' ' -f1)"
all_there=true
for c in "${cmds[@]}"; do [ -x "$bin_dir/$c" ] || all_there=false; done
if [ -z "${FORCE:-}" ] && $all_there && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "$bin_dir"
  exit 0
fi

mkdir -p "$bin_dir"
echo "k8s-build.sh: building ${cmds[*]} $k8s_version in one go build (cold: ~10 min on 2 cores)" >&2
start=$(date +%s)
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
ldflags="$ldflags -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
tmp="$(mktemp -d "$bin_dir/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
pkgs=()
for c in "${cmds[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
(
  cd "$mod"
  go mod download
  CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tmp/" "${pkgs[@]}"
)
for c in "${cmds[@]}"; do mv "$tmp/$c" "$bin_dir/$c"; done
echo "$want" > "$stamp"
echo "k8s-build.sh: built ${cmds[*]} in $(( $(date +%s) - start )) s" >&2
echo "$bin_dir"
