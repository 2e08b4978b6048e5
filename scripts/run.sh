#!/usr/bin/env bash
# The two entry points of the README, each doing all set-up first:
#   bash scripts/run.sh bench [adamw-bench options]   – the benchmark CLI (default: every backend, 4K…16M)
#   bash scripts/run.sh test                          – the whole test suite
set -euo pipefail
cd "$(dirname "$0")/.."
job=${1:-}
shift || true
case "$job" in
  bench) bash scripts/setup.sh --bench && pnpm run bench "$@" ;;
  test) bash scripts/setup.sh && pnpm run test ;;
  *) echo "usage: bash scripts/run.sh bench [options] | test" >&2; exit 2 ;;
esac
