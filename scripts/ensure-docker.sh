#!/usr/bin/env bash
# Makes a Docker Engine answer for the tests and benchmarks, idempotently: installs Debian's docker.io
# and busybox-static when missing, starts dockerd in the background when the socket does not answer
# (log in $MLLAB_DOCKERD_LOG, default /tmp/mllab-dockerd.log), and builds the local test image
# mllab-test/busybox:1 from busybox-static when it is missing. Nothing is pulled from a registry.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE=mllab-test/busybox:1
log=${MLLAB_DOCKERD_LOG:-/tmp/mllab-dockerd.log}

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "ensure-docker: run as root or install sudo" >&2; exit 1; }
  sudo=(sudo)
fi

source scripts/lib/apt.sh
apt_install ensure-docker docker.io busybox-static

docker_ok() { "${sudo[@]}" docker info >/dev/null 2>&1; }

if ! docker_ok; then
  echo "ensure-docker: starting dockerd (log: $log)" >&2
  # setsid: the daemon outlives this script and the test run that started it
  "${sudo[@]}" setsid dockerd >"$log" 2>&1 </dev/null &
  for _ in $(seq 1 120); do
    docker_ok && break
    sleep 0.5
  done
  docker_ok || { echo "ensure-docker: dockerd did not answer within 60 s; see $log" >&2; tail -20 "$log" >&2; exit 1; }
  # the tests run as this user: let it use the socket without sudo
  if [[ $(id -u) -ne 0 ]]; then
    "${sudo[@]}" chmod a+rw /var/run/docker.sock
  fi
fi

if ! "${sudo[@]}" docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "ensure-docker: building $IMAGE from busybox-static" >&2
  ctx=$(mktemp -d)
  trap 'rm -rf "$ctx"' EXIT
  cp test/docker/busybox/Dockerfile "$ctx/"
  cp /bin/busybox "$ctx/busybox"
  # the output only matters when the build fails (the legacy builder also warns about itself)
  "${sudo[@]}" docker build -q -t "$IMAGE" "$ctx" >"$ctx/build.log" 2>&1 || { cat "$ctx/build.log" >&2; exit 1; }
fi
