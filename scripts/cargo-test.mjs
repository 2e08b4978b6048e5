// Native tests of the kernel crate (scalar reference vs the 4-lane loop) and the native bench. Any host Rust works:
// rustup's cargo if present, else Debian's, which needs its own rustc named explicitly.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

function works(cmd) {
  try {
    execFileSync(cmd, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const env = { ...process.env };
let cargo = 'cargo';
if (!works('cargo')) {
  if (!existsSync('/usr/bin/cargo')) throw new Error('cargo-test: no cargo found; run scripts/setup.sh');
  cargo = '/usr/bin/cargo';
  env.RUSTC = '/usr/bin/rustc';
}
execFileSync(cargo, ['test', '--release', '-p', 'adamw-kernels', '-p', 'adamw-native-bench', '--quiet'], { stdio: 'inherit', env });
