#!/bin/sh
# Every test: types, lint and format, unit tests, the build, then API and browser tests against the build.
# Run through scripts/node24.sh (npm test does that).
set -eu
cd "$(dirname "$0")/.."
echo "== svelte-check (types)"
svelte-kit sync
svelte-check --tsconfig ./tsconfig.json --fail-on-warnings --output human
echo "== eslint and prettier (lint)"
eslint .
prettier --check .
echo "== vitest (modules)"
vitest run
echo "== build"
vite build >/dev/null
vite build --config vite.operator.config.ts --logLevel warn
echo "== bench smoke (npm run bench -- --quick)"
node scripts/bench.mjs --quick
echo "== playwright (API and browser, against the build)"
playwright test
