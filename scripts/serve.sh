#!/usr/bin/env bash
# Installs what trident needs, builds it, and runs `trident serve` with the
# demo routes: HTTPS on 127.0.0.1:8443 (development CA printed at start-up)
# and plaintext HTTP/1.1 + h2c on 127.0.0.1:8080. Extra arguments are passed on.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh release
exec build/trident serve --listen 127.0.0.1:8443 --plaintext 127.0.0.1:8080 "$@"
