#!/usr/bin/env bash
# The cluster suite (out/test/cluster/**/*.test.js) against a real 3-node Docker Swarm made on this
# machine by scripts/test-cluster.sh: started here, torn down after (also when a test fails). Where
# nested Docker Engines cannot run, the suite is skipped with the reason.
#   MLLAB_SWARM_KEEP=1   keep the cluster up afterwards (and reuse one that is up)
#   MLLAB_TEST_OUT=DIR   the compiled tests (default: out, as `npm run compile-tests` makes them)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-docker.sh
status=0
bash scripts/test-cluster.sh check || status=$?
if [[ $status -eq 3 ]]; then
  echo "cluster tests SKIPPED: nested Docker Engines cannot run on this machine (reason above)" >&2
  exit 0
elif [[ $status -ne 0 ]]; then
  exit "$status"
fi
if [[ ${MLLAB_SWARM_KEEP:-} == 1 ]] && DOCKER_HOST=tcp://127.0.0.1:${MLLAB_SWARM_API_PORT:-23750} docker node ls >/dev/null 2>&1; then
  echo "run-cluster-tests: reusing the cluster that is up" >&2
else
  bash scripts/test-cluster.sh up
fi
[[ ${MLLAB_SWARM_KEEP:-} == 1 ]] || trap 'bash scripts/test-cluster.sh down' EXIT
export MLLAB_SWARM_API="tcp://127.0.0.1:${MLLAB_SWARM_API_PORT:-23750}"
export MLLAB_SWARM_REGISTRY=127.0.0.1:5000
export MLLAB_SWARM_WEB_PORT=${MLLAB_SWARM_WEB_PORT:-18080}
export MLLAB_SWARM_LAB_PORT=${MLLAB_SWARM_LAB_PORT:-18443}
MLLAB_SWARM_GATEWAY=$(bash scripts/test-cluster.sh gateway)
export MLLAB_SWARM_GATEWAY
out=${MLLAB_TEST_OUT:-out}
npx mocha --no-config --reporter spec --timeout 180000 --exit --require "$out/test/unit/root-hooks.js" \
  "$out/test/cluster/**/*.test.js"
