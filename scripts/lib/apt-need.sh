# Sourced, not run. apt_need CMD:PACKAGE...: installs (Debian, as root) the packages
# whose command is missing; nothing is fetched when every command is there.
apt_need() {
  local need=() pair
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair##*:}")
  done
  [ ${#need[@]} -eq 0 ] && return 0
  echo "setup: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
}
