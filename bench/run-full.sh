#!/usr/bin/env bash
# Regenerates bench/RESULTS.md, bench/results.json and bench/results.svg from a full run of
# adamw-bench on this machine: every backend (torch via /usr/bin/python3, tfjs, the native
# ceiling built with cargo), the default sizes 4K…16M, wasm-simd with 1 and N threads, and the
# --checks rows (non-finite guard off, gradient clipping on); then the TensorFlow.js scenario
# (one model.fit epoch, tf.train.adam vs adamw-wasm-tfjs), added to RESULTS.md as a section of
# its own, raw numbers in bench/tfjs-fit.json; --targets keeps the project's targets section. Takes a few minutes.
# Extra arguments go to the step run (e.g. --reps 15).
set -euo pipefail
cd "$(dirname "$0")/.."
node scripts/build.mjs
node packages/bench/dist/cli.js --reps 9 --budget 60 --checks --targets "$@" \
  --json bench/results.json --plot bench/results.svg --markdown bench/RESULTS.md
node packages/bench/dist/cli.js --scenario tfjs --reps 9 --json bench/tfjs-fit.json --markdown bench/RESULTS.md
