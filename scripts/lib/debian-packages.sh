# shellcheck shell=bash
# Sourced by scripts/test-all and scripts/demo: installs the Debian packages a script needs, as root.
# Usage: need_packages <package>:<file it installs> ...; then install_needed (exits 1 when not root).

missing=()

# A Debian package, or where dpkg is absent the file it installs.
installed() {
  if command -v dpkg-query >/dev/null 2>&1; then
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
  else
    [ -x "$2" ]
  fi
}

need_packages() {
  local entry
  for entry in "$@"; do
    installed "${entry%%:*}" "${entry#*:}" || missing+=("${entry%%:*}")
  done
}

# Any Docker engine will do (a CI runner may ship Docker's own packages, which conflict with Debian's).
need_docker() {
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
}

# Installs what is missing as root; otherwise names it and returns 1.
install_needed() {
  local who="$1"
  [ ${#missing[@]} -gt 0 ] || return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "$who: missing Debian packages: ${missing[*]}" >&2
    echo "$who: install them as root (apt-get install ${missing[*]}), or run this script as root" >&2
    return 1
  fi
  echo "$who: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
}
