#!/usr/bin/env bash
# Builds the IPVS test VM: Debian's kernel (IPVS as modules) and a small initramfs with
# busybox, ipvsadm, ipset, iptables (legacy), ip, the kernel modules they need, and the
# kpx-vm agent (Go, static). Output in .cache/ipvs-vm/ (git-ignored):
#   vmlinuz, base.cpio.gz, image.stamp
# Idempotent: does nothing when image.stamp matches the inputs (this script, the agent's
# sources, the kernel package version). Never installs a kernel into the host's /boot:
# the package is fetched with `apt-get download` and unpacked with `dpkg-deb -x`.
#
# Host packages (Debian): qemu-system-x86 busybox-static ipvsadm ipset iptables iproute2
# kmod cpio, and Go (for the agent; stdlib only).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="$ROOT/.cache/ipvs-vm"
mkdir -p "$OUT"

log() { echo "ipvs-vm: $*" >&2; }

source "$ROOT/scripts/lib/apt-need.sh"
apt_need qemu-system-x86_64:qemu-system-x86 busybox:busybox-static ipvsadm:ipvsadm ipset:ipset \
  xtables-legacy-multi:iptables ip:iproute2 depmod:kmod cpio:cpio
command -v go >/dev/null 2>&1 || { log "go is required (to build the agent)"; exit 1; }

# The kernel package the meta package linux-image-amd64 points at.
KPKG="$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')"
if [ -z "$KPKG" ]; then
  apt-get update -qq >&2
  KPKG="$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')"
fi
[ -n "$KPKG" ] || { log "cannot resolve linux-image-amd64"; exit 1; }
KVER="${KPKG#linux-image-}"

STAMP="$( (echo "$KPKG"; cat "$0" "$HERE"/agent/*.go "$HERE"/agent/go.mod) | sha256sum | cut -c1-16)"
if [ -f "$OUT/image.stamp" ] && [ "$(cat "$OUT/image.stamp")" = "$STAMP" ] && [ -f "$OUT/base.cpio.gz" ] && [ -f "$OUT/vmlinuz" ]; then
  exit 0
fi
t0=$(date +%s)

# Kernel: download + unpack (cached by package name).
KDIR="$OUT/kernel-$KVER"
if [ ! -f "$KDIR/boot/vmlinuz-$KVER" ]; then
  log "fetching $KPKG"
  mkdir -p "$OUT/debs" && rm -rf "$KDIR"
  (cd "$OUT/debs" && apt-get download "$KPKG" >&2 2>/dev/null || { apt-get update -qq >&2; apt-get download "$KPKG" >&2; })
  dpkg-deb -x "$OUT"/debs/"$KPKG"_*.deb "$KDIR"
fi
[ -f "$KDIR/lib/modules/$KVER/modules.dep" ] || depmod -b "$KDIR" "$KVER"
cp "$KDIR/boot/vmlinuz-$KVER" "$OUT/vmlinuz"

# Agent.
log "building agent"
(cd "$HERE/agent" && CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod go build -trimpath -ldflags='-s -w' -o "$OUT/kpx-vm" .)

ROOTFS="$OUT/rootfs"
rm -rf "$ROOTFS"
mkdir -p "$ROOTFS"/{bin,sbin,etc,proc,sys,dev,run,tmp,lib64,job,usr/lib/x86_64-linux-gnu/xtables,lib/x86_64-linux-gnu,var/run}
cp /usr/bin/busybox "$ROOTFS/bin/busybox"
for app in $("$ROOTFS/bin/busybox" --list); do
  [ -e "$ROOTFS/bin/$app" ] || ln -s busybox "$ROOTFS/bin/$app"
done
cp "$OUT/kpx-vm" "$ROOTFS/bin/kpx-vm"

# Tools and their libraries (ldd), plus iptables' extension libraries.
copy_with_libs() {
  local f dest lib
  for f in "$@"; do
    dest="$ROOTFS$f"
    mkdir -p "$(dirname "$dest")"
    cp -L "$f" "$dest"
    for lib in $(ldd "$f" 2>/dev/null | awk '/=>/ {print $3} /^[ \t]*\/lib64\// {print $1}'); do
      [ -e "$ROOTFS$lib" ] || { mkdir -p "$(dirname "$ROOTFS$lib")"; cp -L "$lib" "$ROOTFS$lib"; }
    done
  done
}
copy_with_libs /usr/sbin/ipvsadm /usr/sbin/ipset /usr/sbin/xtables-legacy-multi /usr/bin/ip \
  /usr/lib/x86_64-linux-gnu/xtables/*.so
ln -sf /usr/bin/ip "$ROOTFS/sbin/ip"
rm -f "$ROOTFS/bin/ip"
ln -s /usr/bin/ip "$ROOTFS/bin/ip"
for t in iptables iptables-restore iptables-save ip6tables ip6tables-restore ip6tables-save; do
  ln -sf xtables-legacy-multi "$ROOTFS/usr/sbin/$t"
done
for t in ipvsadm ipset; do ln -sf "/usr/sbin/$t" "$ROOTFS/sbin/$t"; done
cp /usr/sbin/ipvsadm-restore "$ROOTFS/usr/sbin/" 2>/dev/null || true
cat > "$ROOTFS/etc/protocols" <<'PROTO'
ip	0	IP
icmp	1	ICMP
tcp	6	TCP
udp	17	UDP
ipv6-icmp	58	IPv6-ICMP
sctp	132	SCTP
PROTO
cat > "$ROOTFS/etc/services" <<'SVC'
SVC
echo 'root:x:0:0:root:/:/bin/sh' > "$ROOTFS/etc/passwd"
echo 'root:x:0:' > "$ROOTFS/etc/group"

# Kernel modules: the closure of what IPVS mode needs, in load order (deps first).
WANT="crc32c_generic ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_sh ip_vs_dh ip_vs_sed ip_vs_nq ip_vs_mh
 nf_conntrack nf_nat nf_defrag_ipv4 nf_defrag_ipv6 nf_reject_ipv4 nf_reject_ipv6
 ip_set ip_set_hash_ip ip_set_hash_ipport ip_set_hash_ipportip ip_set_hash_ipportnet ip_set_hash_net ip_set_bitmap_port
 x_tables ip_tables iptable_filter iptable_nat ip6_tables ip6table_filter ip6table_nat
 xt_set xt_comment xt_addrtype xt_physdev xt_mark xt_MASQUERADE xt_conntrack xt_ipvs xt_tcpudp xt_nat
 ipt_REJECT ip6t_REJECT veth dummy"
MODDIR="$KDIR/lib/modules/$KVER"
declare -A seen=()
order=()
resolve() { # $1 = path relative to MODDIR
  local rel="$1" dep
  [ -n "${seen[$rel]:-}" ] && return
  seen[$rel]=1
  for dep in $(awk -v m="$rel:" '$1 == m { for (i = 2; i <= NF; i++) print $i }' "$MODDIR/modules.dep"); do
    resolve "$dep"
  done
  order+=("$rel")
}
for m in $WANT; do
  rel="$(awk -v n="/$m.ko" -F: 'index($1, n) && substr($1, length($1) - length(n) + 1) == n {print $1; exit}' "$MODDIR/modules.dep")"
  if [ -z "$rel" ]; then
    grep -q "/$m.ko" "$MODDIR/modules.builtin" 2>/dev/null && continue
    log "module $m not found"; exit 1
  fi
  resolve "$rel"
done
mkdir -p "$ROOTFS/lib/modules/$KVER"
: > "$ROOTFS/etc/modules.load"
for rel in "${order[@]}"; do
  mkdir -p "$ROOTFS/lib/modules/$KVER/$(dirname "$rel")"
  case "$rel" in
    *.xz) xz -dc "$MODDIR/$rel" > "$ROOTFS/lib/modules/$KVER/${rel%.xz}"; rel="${rel%.xz}" ;;
    *) cp "$MODDIR/$rel" "$ROOTFS/lib/modules/$KVER/$rel" ;;
  esac
  echo "/lib/modules/$KVER/$rel" >> "$ROOTFS/etc/modules.load"
done
log "${#order[@]} modules"

cat > "$ROOTFS/init" <<'INIT'
#!/bin/sh
# kpx IPVS test VM: load modules, run the job from the per-run initramfs, power off.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t tmpfs tmp /run
mkdir -p /run/netns /var/run
echo "KPX-BOOT {\"uptime\":\"$(cut -d' ' -f1 /proc/uptime)\"}"
while read -r m; do insmod "$m" || echo "KPX-WARN {\"insmod\":\"$m\"}"; done < /etc/modules.load
echo "KPX-MODULES {\"uptime\":\"$(cut -d' ' -f1 /proc/uptime)\"}"
if [ -f /job/job.json ]; then
  /bin/kpx-vm run /job/job.json
else
  echo 'KPX-DONE {"ok":false,"error":"no /job/job.json"}'
fi
sync
poweroff -f
INIT
chmod +x "$ROOTFS/init"

(cd "$ROOTFS" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -1 > "$OUT/base.cpio.gz")
echo "$STAMP" > "$OUT/image.stamp"
log "image built in $(( $(date +%s) - t0 ))s: $(du -h "$OUT/base.cpio.gz" | cut -f1) initramfs, kernel $KVER"
