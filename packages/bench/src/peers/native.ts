import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Prepared } from '../types.js';
import { LineProcess, runSteps } from './child.js';
import { bytesPerParam, errorMessage, type Peer, type PeerContext } from './peer.js';

/** The repository root, seen from packages/bench/dist/cli.js. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CRATE = join(ROOT, 'crates/adamw-native-bench/Cargo.toml');
const TARGET_DIR = join(ROOT, 'target/native');
const BINARY = join(TARGET_DIR, 'release/adamw-native-bench');

function works(cmd: string, env: NodeJS.ProcessEnv): string | undefined {
  try {
    return execFileSync(cmd, ['--version'], { env, stdio: ['ignore', 'pipe', 'ignore'], encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

/** rustup's or any cargo on PATH; else Debian's, which needs its own rustc named (as scripts/cargo-test.mjs). */
function findCargo(): { cargo: string; env: NodeJS.ProcessEnv; rustc: string } | undefined {
  const env = { ...process.env };
  if (works('cargo', env)) return { cargo: 'cargo', env, rustc: 'rustc' };
  if (existsSync('/usr/bin/cargo') && existsSync('/usr/bin/rustc')) {
    const debian = { ...env, RUSTC: '/usr/bin/rustc' };
    if (works('/usr/bin/cargo', debian)) return { cargo: '/usr/bin/cargo', env: debian, rustc: '/usr/bin/rustc' };
  }
  return undefined;
}

/**
 * Builds (when allowed) crates/adamw-native-bench with -C target-cpu=native into target/native.
 * Resolves to a reason when there is no binary to run.
 */
function build(ctx: PeerContext): string | undefined {
  if (!existsSync(CRATE)) return `native: ${CRATE} not found (run from the adamw-wasm repository)`;
  if (!ctx.build) return existsSync(BINARY) ? undefined : `native: no binary at ${BINARY} and --no-build given`;
  const tool = findCargo();
  if (!tool) {
    return existsSync(BINARY) ? undefined : 'native: no cargo found to build crates/adamw-native-bench (install Rust, or Debian cargo + rustc)';
  }
  ctx.log('adamw-bench: building the native ceiling (cargo build --release, -C target-cpu=native)');
  try {
    execFileSync(tool.cargo, ['build', '--release', '--quiet', '-p', 'adamw-native-bench'], {
      cwd: ROOT,
      env: { ...tool.env, RUSTFLAGS: '-C target-cpu=native', CARGO_TARGET_DIR: TARGET_DIR },
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
    });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? errorMessage(error);
    return `native: cargo build failed: ${stderr.trim().split('\n').slice(-3).join(' | ')}`;
  }
  ctx.machine.peers['rustc'] = /\d+\.\d+\.\d+\S*/.exec(works(tool.rustc, tool.env) ?? '')?.[0] ?? '?';
  return undefined;
}

/** adamw-kernels' scalar reference loop compiled for this CPU, one thread (the ceiling). */
export function nativePeer(ctx: PeerContext): Peer {
  let built: string | undefined | null = null; // null: not tried yet
  return {
    backend: 'native',
    async prepare(size): Promise<Prepared> {
      if (built === null) built = build(ctx);
      if (built !== undefined) return { skip: built };
      const child = new LineProcess('native', BINARY, ['--serve', '--size', String(size), ...(ctx.config.amsgrad ? ['--amsgrad'] : [])]);
      try {
        const ready = await child.next();
        const features = Array.isArray(ready['features']) ? (ready['features'] as string[]) : [];
        const widest = features.includes('avx512f') ? 'AVX-512' : features.includes('avx2') ? 'AVX2' : features.includes('neon') ? 'NEON' : 'SSE';
        ctx.machine.peers['native'] = `target-cpu=native (${widest})`;
      } catch (error) {
        await child.close();
        return { skip: `native: ${errorMessage(error)}` };
      }
      return {
        runners: [{
          key: { backend: 'native', threads: 1 },
          size,
          bytesPerParam: bytesPerParam(ctx.config.amsgrad),
          run: (steps) => runSteps(child, steps),
          dispose: () => child.close(),
        }],
      };
    },
  };
}
