#!/usr/bin/env bash
# Makes the local image mllab-test/python-sklearn:1 (Debian bookworm with python3 and python3-sklearn)
# exist, idempotently: when `docker image inspect` does not find it, a minimal root file system is
# made with debootstrap from the Debian mirror this machine's apt already uses, and imported with
# `docker import`. Nothing is pulled from an image registry. Installs debootstrap when missing.
# Needs a Docker Engine that answers (scripts/ensure-docker.sh starts one). About 1.2 GB.
set -euo pipefail
IMAGE=${MLLAB_SKLEARN_IMAGE:-mllab-test/python-sklearn:1}
SUITE=bookworm

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "ensure-sklearn-image: run as root or install sudo" >&2; exit 1; }
  sudo=(sudo)
fi

if "${sudo[@]}" docker image inspect "$IMAGE" >/dev/null 2>&1; then
  exit 0
fi

source "$(dirname "$0")/lib/debian-mirror.sh"
MIRROR=$(mirror | head -1)
if [[ -z $MIRROR ]]; then
  echo "ensure-sklearn-image: no Debian mirror found in /etc/apt/sources.list or /etc/apt/sources.list.d" >&2
  exit 1
fi

source "$(dirname "$0")/lib/apt.sh"
apt_install ensure-sklearn-image debootstrap

root=$(mktemp -d /var/tmp/mllab-sklearn-root.XXXXXX)
trap '"${sudo[@]}" rm -rf "$root"' EXIT
echo "ensure-sklearn-image: building $IMAGE with debootstrap from $MIRROR (a minute or two)" >&2
"${sudo[@]}" debootstrap --variant=minbase --include=python3,python3-sklearn "$SUITE" "$root" "$MIRROR" \
  >"$root.log" 2>&1 || { tail -30 "$root.log" >&2; rm -f "$root.log"; exit 1; }
rm -f "$root.log"
# apt's caches are not needed in the image
"${sudo[@]}" rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*
"${sudo[@]}" tar -C "$root" -c . | "${sudo[@]}" docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  - "$IMAGE" >/dev/null
"${sudo[@]}" docker run --rm --network none "$IMAGE" python3 -c 'import sklearn' ||
  { echo "ensure-sklearn-image: $IMAGE was built but cannot import sklearn" >&2; exit 1; }
echo "ensure-sklearn-image: built $IMAGE" >&2
