#!/usr/bin/env bash
# Installs everything kpx and its tests need on a fresh Debian machine (run as root).
# Idempotent: packages already present are not fetched again.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pair in nft:nftables iptables:iptables ipset:ipset ip:iproute2 conntrack:conntrack; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair##*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

# npm install (not npm ci: the registry serves Linux builds only, see DESIGN.md);
# its `prepare` step compiles src/ to dist/ so that `npx kpx` works.
if [ ! -d node_modules ] || [ package.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund >&2
else
  npm run --silent build >&2
fi
