#!/usr/bin/env bash
# A real 3-node Docker Swarm on this machine, for the cluster tests: three containers from a Debian
# image with docker.io, each running its own Docker Engine (Docker in Docker), on a Docker network
# of their own, node 1 the manager; plus a local image registry (Debian's docker-registry). Nothing is
# pulled from a registry on the internet. Needs a Docker Engine that answers (scripts/ensure-docker.sh).
#   test-cluster.sh up       build the node image (once, 1-4 min), start the registry and the nodes, form the swarm
#   test-cluster.sh down     remove everything it made (only objects named mllab-swarm*)
#   test-cluster.sh status   the nodes as the manager sees them
#   test-cluster.sh check    exit 0 when nested engines can run here, 3 (with the reason) when not
# From this machine the cluster is reached only through 127.0.0.1:
#   the manager's Engine API   tcp://127.0.0.1:$MLLAB_SWARM_API_PORT (23750)
#   the registry               127.0.0.1:5000/NAME:TAG, the same name here and on every node
#                              (each node forwards its own 127.0.0.1:5000 to the registry)
#   port 8080 of node i        127.0.0.1:$((MLLAB_SWARM_WEB_PORT + i - 1)) (18080, 18081, 18082) (publish services
#                              there in host mode)
#   the lab, for the nodes     each node forwards its own 127.0.0.1:$MLLAB_SWARM_LAB_PORT (18443) to the
#                              same port on 127.0.0.1 of this machine (through the network's gateway,
#                              where a test forwards it to the lab): a job on host networking reaches the
#                              lab as https://127.0.0.1:18443
# What this kind of machine allows: no --privileged (the capability, seccomp, system-paths and
# device-cgroup flags below give the nested engine what it needs), no IPVS (no ingress routing mesh
# or service VIPs: ports are published in host mode).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
W=${MLLAB_SWARM_DIR:-${TMPDIR:-/tmp}/mllab-swarm} NET=mllab-swarm-net IMG=mllab-test/swarm-node:1
API_PORT=${MLLAB_SWARM_API_PORT:-23750} WEB_PORT=${MLLAB_SWARM_WEB_PORT:-18080} REGISTRY_PORT=5000
LAB_PORT=${MLLAB_SWARM_LAB_PORT:-18443}
NODES=(1 2 3)

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "test-cluster: run as root or install sudo" >&2; exit 1; }
  sudo=(sudo)
fi
docker() { "${sudo[@]}" command docker "$@"; }
mgr() { docker exec mllab-swarm-node1 docker "$@"; }
node_ip() { docker inspect -f "{{(index .NetworkSettings.Networks \"$NET\").IPAddress}}" "mllab-swarm-node$1"; }

# A registry process listening on $1; both listeners share one storage folder.
registry() {
  printf 'version: 0.1\nstorage: {filesystem: {rootdirectory: %s}, delete: {enabled: true}}\nhttp: {addr: "%s"}\n' \
    "$W/registry" "$1" >"$W/reg-$2.yml"
  nohup docker-registry serve "$W/reg-$2.yml" >"$W/reg-$2.log" 2>&1 &
  echo $! >"$W/reg-$2.pid"
  for _ in $(seq 1 100); do
    curl -sf "http://$1/v2/" >/dev/null && return 0
    sleep 0.2
  done
  echo "test-cluster: the registry on $1 did not start (see $W/reg-$2.log)" >&2
  return 1
}

install_tools() {
  source "$HERE/lib/apt.sh"
  apt_install test-cluster docker-registry debootstrap curl
}

build_image() {
  docker image inspect "$IMG" >/dev/null 2>&1 && return 0
  source "$HERE/lib/debian-mirror.sh"
  local mirror_url root
  mirror_url=$(mirror | head -1)
  [[ -n $mirror_url ]] || { echo "test-cluster: no Debian mirror in apt's configuration" >&2; return 1; }
  root=$(mktemp -d /var/tmp/mllab-swarm-root.XXXXXX)
  echo "test-cluster: building $IMG with debootstrap from $mirror_url (once, 1-4 minutes)" >&2
  "${sudo[@]}" debootstrap --variant=minbase --include=docker.io,iproute2,ca-certificates,socat,netcat-openbsd \
    bookworm "$root" "$mirror_url" >"$root.log" 2>&1 || {
    tail -30 "$root.log" >&2
    "${sudo[@]}" rm -rf "$root" "$root.log"
    return 1
  }
  "${sudo[@]}" rm -rf "$root.log" "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
    "$root"/var/lib/apt/lists/* "$root"/usr/share/{doc,man,locale}/*
  "${sudo[@]}" tar -C "$root" -c . | docker import - "$IMG" >/dev/null
  "${sudo[@]}" rm -rf "$root"
}

start_node() {
  local i=$1 gw=$2 extra=(-p "127.0.0.1:$((WEB_PORT + i - 1)):8080")
  [[ $i == 1 ]] && extra+=(-p "127.0.0.1:$API_PORT:2375")
  # --tls=false: a TCP API without TLS otherwise makes dockerd wait 15 s at start
  docker run -d --name "mllab-swarm-node$i" --hostname "mllab-swarm-node$i" --network "$NET" -v /var/lib/docker \
    --label dev.mllab.test=swarm --cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined \
    --security-opt systempaths=unconfined --device-cgroup-rule 'a *:* rwm' "${extra[@]}" \
    -e "REGISTRY_UPSTREAM=$gw:$REGISTRY_PORT" -e "LAB_UPSTREAM=$gw:$LAB_PORT" -e "LAB_PORT=$LAB_PORT" \
    -v "$HERE/lib/swarm-node-entry.sh:/entry:ro" --entrypoint /entry \
    "$IMG" -H unix:///var/run/docker.sock -H tcp://0.0.0.0:2375 --tls=false --storage-driver overlay2 >/dev/null
}

wait_engine() {
  local i=$1 deadline=$((SECONDS + 60))
  until docker exec "mllab-swarm-node$i" docker info >/dev/null 2>&1; do
    if ((SECONDS > deadline)); then
      echo "test-cluster: the engine of node $i did not start; its log:" >&2
      docker logs --tail 30 "mllab-swarm-node$i" >&2 || true
      return 1
    fi
    sleep 0.5
  done
}

up() {
  install_tools
  mkdir -p "$W/registry"
  build_image
  down >/dev/null
  mkdir -p "$W/registry"
  registry "127.0.0.1:$REGISTRY_PORT" local
  docker network create --label dev.mllab.test=swarm "$NET" >/dev/null
  local gw start=$SECONDS i token
  gw=$(docker network inspect -f '{{(index .IPAM.Config 0).Gateway}}' "$NET")
  registry "$gw:$REGISTRY_PORT" nodes
  echo "$gw" >"$W/gateway"
  for i in "${NODES[@]}"; do start_node "$i" "$gw"; done
  for i in "${NODES[@]}"; do wait_engine "$i"; done
  mgr swarm init --advertise-addr "$(node_ip 1)" >/dev/null
  token=$(mgr swarm join-token -q worker)
  for i in "${NODES[@]:1}"; do
    docker exec "mllab-swarm-node$i" docker swarm join --token "$token" "$(node_ip 1):2377" >/dev/null
  done
  echo "test-cluster: a swarm of ${#NODES[@]} nodes is up in $((SECONDS - start)) s: DOCKER_HOST=tcp://127.0.0.1:$API_PORT; images are pushed and run as 127.0.0.1:$REGISTRY_PORT/NAME:TAG" >&2
}

down() {
  set +e
  docker rm -f -v "${NODES[@]/#/mllab-swarm-node}" >/dev/null 2>&1
  docker network rm "$NET" >/dev/null 2>&1
  for f in "$W"/reg-*.pid; do [[ -f $f ]] && kill "$(cat "$f")" 2>/dev/null; done
  rm -rf "$W/registry" "$W"/reg-* "$W/gateway"
  set -e
  echo "test-cluster: removed (the node image $IMG is kept; docker rmi $IMG removes it)" >&2
}

status() { mgr node ls; }

# The gateway address of the cluster's network: a test listens there (only there) for the nodes'
# forwarded lab port, and forwards to the lab on 127.0.0.1.
gateway() { cat "$W/gateway"; }

# Whether a nested engine can run here: a short-lived container from the node image starts dockerd.
check() {
  install_tools >/dev/null
  build_image
  local name=mllab-swarm-check out
  docker rm -f "$name" >/dev/null 2>&1 || true
  if ! out=$(docker run -d --name "$name" --cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined \
    --security-opt systempaths=unconfined --device-cgroup-rule 'a *:* rwm' -v /var/lib/docker \
    -v "$HERE/lib/swarm-node-entry.sh:/entry:ro" --entrypoint /entry "$IMG" -H unix:///var/run/docker.sock --storage-driver overlay2 2>&1); then
    echo "test-cluster: nested Docker Engines cannot run on this machine: $out" >&2
    exit 3
  fi
  local deadline=$((SECONDS + 30)) ok=1
  until docker exec "$name" docker info >/dev/null 2>&1; do
    if ((SECONDS > deadline)) || [[ $(docker inspect -f '{{.State.Running}}' "$name") != true ]]; then
      ok=0
      break
    fi
    sleep 0.5
  done
  if ((ok == 0)); then
    echo "test-cluster: nested Docker Engines cannot run on this machine: $(docker logs --tail 5 "$name" 2>&1 | tr '\n' ' ')" >&2
    docker rm -f -v "$name" >/dev/null 2>&1
    exit 3
  fi
  docker rm -f -v "$name" >/dev/null 2>&1
}

"${1:-up}"
