// Finds a Rust toolchain that can build wasm32-unknown-unknown with `-Z build-std=core`.
// rustup's stable toolchains have no wasm32 std and cannot download one here, so we use
// Debian's rustc-web (see ../shared/DESIGN.md) or, elsewhere, rustup nightly + rust-src.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const DEBIAN_SRC = '/usr/lib/rustlib/src/rust/library';
export const DEBIAN_PACKAGES = ['rustc-web', 'cargo-web', 'rust-web-src', 'lld-19'];

function which(cmd) {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

function debian() {
  if (!existsSync('/usr/bin/rustc') || !existsSync('/usr/bin/cargo') || !existsSync(`${DEBIAN_SRC}/core`)) return undefined;
  const linker = which('wasm-ld-19') ?? which('wasm-ld');
  if (!linker) return undefined;
  return {
    name: 'debian rustc-web',
    cargo: ['/usr/bin/cargo'],
    // Without RUSTC, Debian's cargo would pick rustup's rustc (first on PATH) and build-std fails.
    env: { RUSTC: '/usr/bin/rustc', RUSTC_BOOTSTRAP: '1' },
    rustflags: [`-C`, `linker=${linker}`],
    config: [
      '--config', 'source.crates-io.replace-with="std-vendor"',
      '--config', `source.std-vendor.directory="${DEBIAN_SRC}/vendor"`,
    ],
  };
}

function rustupNightly() {
  if (!which('rustup')) return undefined;
  try {
    const sysroot = execFileSync('rustup', ['run', 'nightly', 'rustc', '--print', 'sysroot'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (!existsSync(`${sysroot}/lib/rustlib/src/rust/library/core`)) return undefined;
  } catch {
    return undefined;
  }
  return { name: 'rustup nightly', cargo: ['rustup', 'run', 'nightly', 'cargo'], env: {}, rustflags: [], config: [] };
}

export function findWasmToolchain() {
  const found = debian() ?? rustupNightly();
  if (found) return found;
  throw new Error(
    'No Rust toolchain that can build wasm32-unknown-unknown with -Z build-std=core was found.\n' +
      `  Debian: apt-get install -y --no-install-recommends ${DEBIAN_PACKAGES.join(' ')}\n` +
      '  rustup: rustup toolchain install nightly --component rust-src\n' +
      '  (scripts/setup.sh installs the Debian packages when run as root.)',
  );
}

/**
 * A cargo for native (host) builds: rustup's if present, else Debian's, which needs its own rustc
 * named explicitly (rustup's is first on PATH).
 */
export function hostCargo() {
  if (which('cargo')) return { cargo: 'cargo', env: {} };
  if (existsSync('/usr/bin/cargo')) return { cargo: '/usr/bin/cargo', env: { RUSTC: '/usr/bin/rustc' } };
  throw new Error('build: no cargo found; run scripts/setup.sh');
}
