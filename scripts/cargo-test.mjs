// Native tests of the kernel crate (scalar reference vs the 4-lane loop) and the native bench,
// after checking that the Rust sources are formatted (cargo fmt --check). Any host Rust works.
import { execFileSync } from 'node:child_process';
import { hostCargo } from './wasm-toolchain.mjs';

const { cargo, env } = hostCargo();
const options = { stdio: 'inherit', env: { ...process.env, ...env } };
try {
  execFileSync(cargo, ['fmt', '--all', '--check'], options);
} catch (error) {
  throw new Error('cargo-test: Rust sources are not formatted (run `cargo fmt --all`), or rustfmt is missing (scripts/setup.sh installs it)', { cause: error });
}
execFileSync(cargo, ['test', '--release', '-p', 'adamw-kernels', '-p', 'adamw-native-bench', '--quiet'], options);
