#!/bin/sh
# npm run doorcode -- <command>: the operator's command, built once into dist/operator/ when missing.
# Run through scripts/node24.sh (npm run doorcode does that).
set -eu
cd "$(dirname "$0")/.."
if [ ! -f dist/operator/doorcode.js ]; then
  vite build --config vite.operator.config.ts --logLevel warn >&2
fi
exec node dist/operator/doorcode.js "$@"
