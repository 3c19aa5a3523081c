#!/usr/bin/env bash
# A throwaway Kubernetes control plane on loopback: etcd + kube-apiserver, nothing else
# (no controller-manager, no scheduler, no kubelet). For kpx's tests and for trying
# `kpx render` against a real API server by hand.
#
#   cluster.sh up DIR [--no-watch-cache] [--listen-address IP]
#                                         start (idempotent); prints DIR/kubeconfig
#   cluster.sh down DIR                   stop both, remove etcd's data
#   cluster.sh restart-apiserver DIR      stop and start kube-apiserver with the same flags
#   cluster.sh stop-apiserver DIR         stop kube-apiserver only (etcd keeps running)
#   cluster.sh start-apiserver DIR        start it again; returns when it is ready
#   cluster.sh status DIR                 exit 0 when the API server answers /readyz
#
# Everything binds to 127.0.0.1 on free ports chosen at first start and kept in DIR/env.
# --listen-address IP: kube-apiserver binds every address of its network namespace
# instead (0.0.0.0), its certificate also names IP, and DIR/kubeconfig-listen points at
# https://IP:PORT. Only for a control plane started inside a private namespace
# (`ip netns exec NS cluster.sh up ...`, as test/e2e does); etcd stays on 127.0.0.1.
# Auth: a bearer token (static token file, user in system:masters), RBAC authorization,
# a CA and serving certificate made with openssl, a service-account signing key.
# etcd's data lives in /dev/shm (it fsyncs every write; tmpfs keeps tests fast).
# kube-apiserver comes from build.sh (built once, cached in .cache/bin).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

usage() { sed -n '5,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 2 ] || usage
cmd="$1"; dir="$2"; shift 2
cli_watch_cache=true
cli_listen_address=
while [ $# -gt 0 ]; do
  case "$1" in
    --no-watch-cache) cli_watch_cache=false ;;
    --listen-address) [ $# -ge 2 ] || usage; cli_listen_address="$2"; shift ;;
    *) usage ;;
  esac
  shift
done
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"

log() { echo "cluster.sh: $*" >&2; }

# A pid from DIR/NAME.pid that is alive and still runs a command line naming DIR
# (a recycled pid of some other program is never signalled).
live_pid() {
  local f="$dir/$1.pid" pid
  [ -f "$f" ] || return 1
  pid="$(cat "$f")"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF -- "$dir" || return 1
  echo "$pid"
}

stop_one() {
  local name="$1" pid i
  pid="$(live_pid "$name")" || { rm -f "$dir/$name.pid"; return 0; }
  kill -CONT "$pid" 2>/dev/null || true   # a frozen (SIGSTOP) process cannot act on TERM
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 200); do
    [ -d "/proc/$pid" ] && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null || break
    sleep 0.1
  done
  if [ -d "/proc/$pid" ] && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; then
    log "$name ($pid) ignored SIGTERM for 20 s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/$name.pid"
}

free_ports() {
  node -e '
    const net = require("node:net");
    const n = Number(process.argv[1]); const servers = []; const ports = [];
    const next = () => {
      if (servers.length === n) { servers.forEach((s) => s.close()); console.log(ports.join(" ")); return; }
      const s = net.createServer(); servers.push(s);
      s.listen(0, "127.0.0.1", () => { ports.push(s.address().port); next(); });
    };
    next();' "$1"
}

init_dir() {
  [ -f "$dir/env" ] && return 0
  local pki="$dir/pki"
  mkdir -p "$pki"
  read -r etcd_port etcd_peer_port api_port < <(free_ports 3)
  token="$(openssl rand -hex 24)"
  # CA, serving certificate for 127.0.0.1/localhost, service-account key pair.
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=kpx-test-ca \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj /CN=kube-apiserver \
    -keyout "$pki/apiserver.key" -out "$pki/apiserver.csr" 2>/dev/null
  printf '%s\n' 'basicConstraints=CA:FALSE' 'keyUsage=critical,digitalSignature,keyEncipherment' \
    'extendedKeyUsage=serverAuth' \
    "subjectAltName=IP:127.0.0.1,${cli_listen_address:+IP:$cli_listen_address,}DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc" > "$pki/apiserver.ext"
  openssl x509 -req -in "$pki/apiserver.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 3650 -extfile "$pki/apiserver.ext" -out "$pki/apiserver.crt" 2>/dev/null
  openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  printf '%s,kpx-admin,kpx-admin,"system:masters"\n' "$token" > "$dir/tokens.csv"
  chmod 600 "$dir/tokens.csv" "$pki"/*.key
  local etcd_data
  if [ -d /dev/shm ] && [ -w /dev/shm ]; then etcd_data="$(mktemp -d /dev/shm/kpx-etcd.XXXXXX)"
  else etcd_data="$dir/etcd"; mkdir -p "$etcd_data"; fi
  cat > "$dir/env" <<EOF
etcd_port=$etcd_port
etcd_peer_port=$etcd_peer_port
api_port=$api_port
token=$token
etcd_data=$etcd_data
watch_cache=$cli_watch_cache
listen_address=$cli_listen_address
EOF
  write_kubeconfig "$dir/kubeconfig" 127.0.0.1
  [ -z "$cli_listen_address" ] || write_kubeconfig "$dir/kubeconfig-listen" "$cli_listen_address"
}

write_kubeconfig() {
  local out="$1" host="$2" ca_data
  ca_data="$(base64 -w0 < "$dir/pki/ca.crt")"
  cat > "$out" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: kpx-test
  cluster:
    server: https://$host:$api_port
    certificate-authority-data: $ca_data
users:
- name: kpx-admin
  user:
    token: $token
contexts:
- name: kpx-test
  context: {cluster: kpx-test, user: kpx-admin}
current-context: kpx-test
EOF
  chmod 600 "$out"
}

start_etcd() {
  live_pid etcd >/dev/null && return 0
  command -v etcd >/dev/null || { log "etcd not found: apt-get install etcd-server"; exit 1; }
  mkdir -p "$etcd_data"
  # --name carries DIR so that live_pid recognises this etcd by its command line.
  nohup etcd --name "kpx@$dir" --data-dir "$etcd_data" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
    --initial-cluster "kpx@$dir=http://127.0.0.1:$etcd_peer_port" --initial-cluster-state new \
    --log-level warn >>"$dir/etcd.log" 2>&1 </dev/null &
  echo $! > "$dir/etcd.pid"
  local i
  for i in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$etcd_port/health" 2>/dev/null | grep -q '"health":"true"' && return 0
    live_pid etcd >/dev/null || { tail -20 "$dir/etcd.log" >&2; log "etcd exited"; exit 1; }
    sleep 0.1
  done
  tail -20 "$dir/etcd.log" >&2; log "etcd not healthy after 10 s"; exit 1
}

start_apiserver() {
  live_pid apiserver >/dev/null && return 0
  local bin pki="$dir/pki" bind=127.0.0.1
  [ -z "${listen_address:-}" ] || bind=0.0.0.0
  bin="$(bash "$here/build.sh")"
  nohup "$bin" \
    --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address "$bind" --advertise-address 127.0.0.1 --secure-port "$api_port" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --token-auth-file "$dir/tokens.csv" --authorization-mode RBAC \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --service-cluster-ip-range 10.96.0.0/16,fd00:10:96::/112 \
    --endpoint-reconciler-type none \
    --enable-priority-and-fairness=false --profiling=false \
    --watch-cache="$watch_cache" \
    -v 1 >>"$dir/apiserver.log" 2>&1 </dev/null &
  echo $! > "$dir/apiserver.pid"
}

wait_ready() {
  local i
  for i in $(seq 1 1200); do
    ready && return 0
    live_pid apiserver >/dev/null || { tail -30 "$dir/apiserver.log" >&2; log "kube-apiserver exited"; exit 1; }
    sleep 0.1
  done
  tail -30 "$dir/apiserver.log" >&2; log "kube-apiserver not ready after 120 s"; exit 1
}

ready() {
  curl -sf --max-time 2 --cacert "$dir/pki/ca.crt" -H "Authorization: Bearer $token" \
    "https://127.0.0.1:$api_port/readyz" >/dev/null 2>&1
}

load_env() { [ -f "$dir/env" ] || { log "$dir is not a cluster directory (no env)"; exit 1; }; . "$dir/env"; }

case "$cmd" in
  up)
    init_dir; load_env
    start_etcd; start_apiserver; wait_ready
    echo "$dir/kubeconfig" ;;
  down)
    [ -f "$dir/env" ] || exit 0
    load_env
    stop_one apiserver; stop_one etcd
    case "$etcd_data" in /dev/shm/kpx-etcd.*) rm -rf "$etcd_data" ;; esac
    rm -f "$dir/env" ;;
  restart-apiserver)
    load_env; stop_one apiserver; start_apiserver; wait_ready ;;
  stop-apiserver)
    load_env; stop_one apiserver ;;
  start-apiserver)
    load_env; start_apiserver; wait_ready ;;
  status)
    load_env; ready ;;
  *) usage ;;
esac
