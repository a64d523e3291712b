# Shared by the ensure-*.sh scripts (sourced): installs missing Debian packages as root or through
# sudo, waiting for another apt or dpkg process (unattended upgrades at boot, a second install) to
# release its locks instead of failing at once.

# Debian installs system programs (dockerd, debootstrap, nginx, sshd) into /usr/sbin and /sbin, which
# a user's PATH (or a clean environment's) may not name: the scripts that source this find them too.
case ":$PATH:" in
  *:/usr/sbin:*) ;;
  *) export PATH="$PATH:/usr/sbin:/sbin" ;;
esac

# how long to wait for apt's and dpkg's locks, in seconds
APT_LOCK_WAIT=${MLLAB_APT_LOCK_WAIT:-900}

# "sudo" when not root (empty when root); fails with what to do when neither works
apt_sudo() {
  if [[ $(id -u) -eq 0 ]]; then
    return 0
  fi
  command -v sudo >/dev/null || { echo "$1: run as root or install sudo" >&2; return 1; }
  echo sudo
}

# The packages of "$@" (after the caller's name in $1) that dpkg does not have installed.
apt_missing() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}

# Runs one apt-get command, waiting for the locks another process holds (with a line saying so).
# apt's own DPkg::Lock::Timeout covers dpkg's lock; the lists lock of `apt-get update` is retried here.
apt_run() {
  local who=$1 sudo
  shift
  sudo=$(apt_sudo "$who") || return 1
  local deadline=$((SECONDS + APT_LOCK_WAIT)) said=0 out status
  while :; do
    status=0
    out=$(DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout="$APT_LOCK_WAIT" "$@" 2>&1) || status=$?
    if [[ $status -eq 0 ]]; then
      return 0
    fi
    if grep -qiE 'could not get lock|unable to acquire|is another process using it' <<<"$out" && ((SECONDS < deadline)); then
      if ((said == 0)); then
        echo "$who: another apt or dpkg process holds its lock (an upgrade at boot?): waiting up to ${APT_LOCK_WAIT} s for it" >&2
        said=1
      fi
      sleep 3
      continue
    fi
    echo "$out" >&2
    echo "$who: apt-get $* failed (exit code $status)" >&2
    return "$status"
  done
}

# apt_install WHO PACKAGE...: installs those of the packages that are missing (apt-get update first).
apt_install() {
  local who=$1
  shift
  local missing
  mapfile -t missing < <(apt_missing "$@")
  if [[ ${#missing[@]} -eq 0 ]]; then
    return 0
  fi
  echo "$who: installing Debian packages: ${missing[*]}" >&2
  apt_run "$who" update -qq
  apt_run "$who" install -y -qq "${missing[@]}"
}

# apt_install_quiet_services WHO PACKAGE...: as apt_install, for server packages the tests run by
# themselves (nginx, Caddy, sshd on free ports of 127.0.0.1): installing them does not start the
# system's own service (no web server on port 80, no sshd on port 22 as a side effect), through
# Debian's policy-rc.d, which both invoke-rc.d and systemd's deb-systemd-invoke honour.
apt_install_quiet_services() {
  local who=$1
  shift
  local missing sudo policy=/usr/sbin/policy-rc.d
  mapfile -t missing < <(apt_missing "$@")
  if [[ ${#missing[@]} -eq 0 ]]; then
    return 0
  fi
  if [[ -e $policy ]]; then
    apt_install "$who" "${missing[@]}" # a policy of the machine's own decides
    return
  fi
  sudo=$(apt_sudo "$who") || return 1
  printf '#!/bin/sh\n# installing packages for tests: start no service\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod 755 "$policy"
  local status=0
  apt_install "$who" "${missing[@]}" || status=$?
  $sudo rm -f "$policy"
  return "$status"
}
