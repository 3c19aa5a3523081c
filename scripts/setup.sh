#!/usr/bin/env bash
# Installs everything kpx and its tests need on a fresh Debian machine (run as root).
# Idempotent: packages already present are not fetched again.
#   --tests  also what the test suites need: etcd + a kube-apiserver built from source,
#            and the qemu VM image with an IPVS kernel (test/ipvs-vm).
set -euo pipefail
tests=false
[ "${1:-}" = "--tests" ] && tests=true
cd "$(dirname "$0")/.."

source scripts/lib/apt-need.sh
apt_need nft:nftables iptables:iptables ipset:ipset ip:iproute2 conntrack:conntrack

# npm install (not npm ci: the registry serves Linux builds only, see DESIGN.md);
# its `prepare` step compiles src/ to dist/ so that `npx kpx` works.
if [ ! -d node_modules ] || [ package.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund >&2
else
  npm run --silent build >&2
fi
# The first `npx kpx` run from a fresh clone makes npm 11 install the local package into
# its npx cache (~/.npm/_npx/<hash of this path>): 15-27 s measured here, against ~3 s for
# every later run. Pay it now, so the first real `npx --no-install kpx run` starts at once.
npx --no-install kpx --help >/dev/null

if $tests; then
  # etcd (Debian) and kube-apiserver (go build, cached in .cache/bin: ~10 min cold).
  bash test/apiserver/install.sh
  # qemu + Debian's kernel (unpacked, never installed) + an initramfs for the IPVS tests.
  bash test/ipvs-vm/build-image.sh
fi
