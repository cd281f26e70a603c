#!/usr/bin/env bash
# The metrics test checks /metrics with Prometheus's own linter: Debian's prometheus package has promtool.
set -euo pipefail
if command -v promtool >/dev/null; then exit 0; fi
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
echo "installing Debian's prometheus for promtool"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
