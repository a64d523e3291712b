#!/bin/sh -e
# The entry of a test cluster node (scripts/test-cluster.sh): makes /sys and the cgroup mounts
# writable (no --privileged on these machines), clears stale pid files, forwards the node's own
# loopback ports to the registry and the lab on this machine (Docker trusts loopback registries
# without TLS; a job on host networking reaches the lab at 127.0.0.1), then runs the engine.
mount -o remount,rw /sys
awk '$9=="cgroup" {print $5}' /proc/self/mountinfo | while read -r m; do mount -o remount,rw,bind "$m"; done
rm -f /var/run/docker.pid /var/run/docker/containerd/containerd.pid
if [ -n "$REGISTRY_UPSTREAM" ]; then
  socat TCP-LISTEN:5000,fork,reuseaddr,bind=127.0.0.1 "TCP:$REGISTRY_UPSTREAM" &
fi
if [ -n "$LAB_UPSTREAM" ]; then
  socat "TCP-LISTEN:$LAB_PORT,fork,reuseaddr,bind=127.0.0.1" "TCP:$LAB_UPSTREAM" &
fi
exec dockerd "$@"
