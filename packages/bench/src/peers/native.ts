import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Prepared, Runner } from '../types.js';
import { LineProcess, runSteps } from './child.js';
import { bytesPerParam, errorMessage, type Peer, type PeerContext } from './peer.js';

/** The repository root, seen from packages/bench/dist/cli.js. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CRATE = join(ROOT, 'crates/adamw-native-bench/Cargo.toml');

/**
 * Two builds: the scalar reference for this CPU, which LLVM vectorizes with the widest vectors
 * it has (the hardware's ceiling), and, on x86-64, our 4-lane chunked loop over SSE2 lanes for
 * baseline x86-64 (the 128-bit width of wasm SIMD: what our code generation could reach there;
 * LLVM does not vectorize the scalar reference at that width).
 */
const FLAVOURS = [
  { variant: 'widest', rustflags: '-C target-cpu=native', dir: 'target/native', args: [] },
  ...(process.arch === 'x64' ? [{ variant: '128-bit', rustflags: '-C target-cpu=x86-64', dir: 'target/native-128', args: ['--loop', 'chunked'] }] : []),
] as const;
type Flavour = (typeof FLAVOURS)[number];
const binaryOf = (f: Flavour) => join(ROOT, f.dir, 'release/adamw-native-bench');

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
 * Builds (when allowed) crates/adamw-native-bench with the flavour's flags into its own target
 * directory. Resolves to a reason when there is no binary to run.
 */
function build(ctx: PeerContext, flavour: Flavour): string | undefined {
  const binary = binaryOf(flavour);
  if (!existsSync(CRATE)) return `native: ${CRATE} not found (run from the adamw-wasm repository)`;
  if (!ctx.build) return existsSync(binary) ? undefined : `native: no binary at ${binary} and --no-build given`;
  const tool = findCargo();
  if (!tool) {
    return existsSync(binary) ? undefined : 'native: no cargo found to build crates/adamw-native-bench (install Rust, or Debian cargo + rustc)';
  }
  ctx.log(`adamw-bench: building the native ceiling (cargo build --release, ${flavour.rustflags})`);
  try {
    execFileSync(tool.cargo, ['build', '--release', '--quiet', '-p', 'adamw-native-bench'], {
      cwd: ROOT,
      env: { ...tool.env, RUSTFLAGS: flavour.rustflags, CARGO_TARGET_DIR: join(ROOT, flavour.dir) },
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

/**
 * adamw-kernels' scalar reference loop compiled natively, one thread: one row per flavour
 * (`native widest`, and `native 128-bit` on x86-64).
 */
export function nativePeer(ctx: PeerContext): Peer {
  const built = new Map<Flavour, string | undefined>();
  return {
    backend: 'native',
    async prepare(size): Promise<Prepared> {
      const runners: Runner[] = [];
      const skipped: string[] = [];
      for (const flavour of FLAVOURS) {
        if (!built.has(flavour)) built.set(flavour, build(ctx, flavour));
        const why = built.get(flavour);
        if (why !== undefined) {
          skipped.push(why);
          continue;
        }
        const child = new LineProcess(`native ${flavour.variant}`, binaryOf(flavour), ['--serve', '--size', String(size), ...flavour.args, ...(ctx.config.amsgrad ? ['--amsgrad'] : [])]);
        try {
          const ready = await child.next();
          if (flavour.variant === 'widest') {
            const features = Array.isArray(ready['features']) ? (ready['features'] as string[]) : [];
            const widest = features.includes('avx512f') ? 'AVX-512' : features.includes('avx2') ? 'AVX2' : features.includes('neon') ? 'NEON' : 'SSE';
            ctx.machine.peers['native'] = `target-cpu=native (${widest})${FLAVOURS.length > 1 ? '; 128-bit: the chunked loop on SSE2 lanes, target-cpu=x86-64' : ''}`;
          }
        } catch (error) {
          await child.close();
          skipped.push(`native ${flavour.variant}: ${errorMessage(error)}`);
          continue;
        }
        runners.push({
          key: { backend: 'native', threads: 1, variant: flavour.variant },
          size,
          bytesPerParam: bytesPerParam(ctx.config.amsgrad),
          run: (steps) => runSteps(child, steps),
          dispose: () => child.close(),
        });
      }
      if (!runners.length) return { skip: skipped.join('; ') };
      for (const why of skipped) ctx.note(why);
      return { runners };
    },
  };
}
