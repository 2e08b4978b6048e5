#!/usr/bin/env bash
# One-time set-up on a fresh Debian machine (idempotent; fast when everything is present):
# Debian packages for the wasm toolchain, the browser tests, the paper reproduction's data and PyTorch, pnpm at the
# pinned version, the workspace's npm deps. `--bench` (scripts/run.sh bench) adds nothing: PyTorch, the benchmark's
# peer, is installed for the tests anyway.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(rustc-web cargo-web rust-web-src lld-19)
# cargo fmt --check runs with the tests: Debian's rustfmt where the machine has none (rustup's is fine).
command -v rustfmt >/dev/null || APT_PACKAGES+=(rustfmt)
# Headless browser for the tarball tests (test/tarball/run.mjs browser), driven by playwright-core;
# a font so the demo's screenshot has text.
APT_PACKAGES+=(chromium fonts-dejavu-core)
# Fashion-MNIST for the paper reproduction (examples/paper-repro) and its test.
APT_PACKAGES+=(dataset-fashion-mnist)
# PyTorch CPU (Debian's 1.13): the tests that move runs between JS and PyTorch (test/node/torch-safetensors.test.ts,
# python/test_adamw_wasm_torch.py), adamw-bench's torch rows, and regenerating test fixtures.
APT_PACKAGES+=(python3-torch python3-numpy)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then SUDO=(); elif command -v sudo >/dev/null; then SUDO=(sudo); else
    echo "setup: need root (or sudo) to run: apt-get install -y ${missing[*]}" >&2; exit 1
  fi
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PNPM_VERSION=$(node -p "require('./package.json').packageManager.split('@')[1]")
if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  echo "setup: installing pnpm $PNPM_VERSION from the npm registry"
  npm install -g --silent "pnpm@$PNPM_VERSION"
fi

pnpm install --frozen-lockfile --reporter=append-only
