#!/usr/bin/env bash
# Regenerates bench/RESULTS.md, bench/results.json and bench/results.svg from a full run of
# adamw-bench on this machine: every backend (torch via /usr/bin/python3, tfjs, the native
# ceiling built with cargo), the default sizes 4K…16M, wasm-simd with 1 and N threads, and the
# --checks rows (non-finite guard off, gradient clipping on). Takes a few minutes.
# Extra arguments go to the CLI (e.g. --reps 15).
set -euo pipefail
cd "$(dirname "$0")/.."
node scripts/build.mjs
node packages/bench/dist/cli.js --reps 9 --budget 60 --checks "$@" \
  --json bench/results.json --plot bench/results.svg --markdown bench/RESULTS.md
