#!/usr/bin/env bash
# Installs the Debian packages the tests and the demo need, when they are missing: Chromium (the
# browser the integration tests drive), the toolchain that builds code-server's native modules, Info-ZIP
# (tests check our zips with it; the benchmark compares with it), openssl (the team-lab tests make
# their TLS certificates with it) and python3 for the Python client. With --tests, also what only the
# tests need: nginx and Caddy (a served lab is tested behind each as a reverse proxy that terminates
# TLS) and openssh-server (an ssh:// target is tested through an sshd), which the tests run themselves
# on free ports of 127.0.0.1: installing them starts no system service; and Optuna, scikit-learn and
# cmaes for Debian's python3 (the sweep tests).
# Idempotent; needs root (or sudo) only when something is missing.
set -euo pipefail
source "$(dirname "$0")/lib/apt.sh"
packages=(chromium build-essential pkg-config libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev zip unzip openssl)
# the Python client's tests need a python3; any one on PATH will do
command -v python3 >/dev/null || packages+=(python3)
apt_install ensure-system-deps "${packages[@]}"
if [[ ${1:-} == --tests ]]; then
  apt_install_quiet_services ensure-system-deps nginx caddy openssh-server
  # the sweep tests: Optuna (samplers, pruners), scikit-learn (its parameter importances), cmaes (CMA-ES)
  apt_install ensure-system-deps python3-optuna python3-sklearn python3-cmaes
fi
# the jobs and services tests need a running Docker Engine and the local busybox test image
bash "$(dirname "$0")/ensure-docker.sh"
# the model tests deploy to a Python + scikit-learn image made from Debian packages (about 75 s once)
bash "$(dirname "$0")/ensure-sklearn-image.sh"
