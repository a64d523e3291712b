#!/usr/bin/env bash
# Installs the Debian packages the tests and the demo need, when they are missing: Chromium (the
# browser the integration tests drive), the toolchain that builds code-server's native modules, Info-ZIP
# (tests check our zips with it; the benchmark compares with it) and python3 for the Python client.
# Idempotent; needs root (or sudo) only when something is missing.
set -euo pipefail
packages=(chromium build-essential pkg-config libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev zip unzip)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# the Python client's tests need a python3; any one on PATH will do
command -v python3 >/dev/null || missing+=(python3)
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "Installing Debian packages: ${missing[*]}" >&2
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "Run as root: apt-get install -y ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >&2
fi
# the jobs and services tests need a running Docker Engine and the local busybox test image
bash "$(dirname "$0")/ensure-docker.sh"
# the model tests deploy to a Python + scikit-learn image made from Debian packages (about 75 s once)
bash "$(dirname "$0")/ensure-sklearn-image.sh"
