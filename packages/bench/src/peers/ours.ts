import { AdamW, isBackendAvailable } from 'adamw-wasm';
import { randomFill } from '../stats.js';
import type { Check, OurBackend, Prepared, Runner } from '../types.js';
import { bytesPerParam, errorMessage, type Peer, type PeerContext } from './peer.js';

/** Optimizer options for each `--checks` row. Default: the non-finite guard on (nonFinite 'throw'). */
const CHECK_OPTIONS: Record<Check, Record<string, unknown>> = {
  default: {},
  'no-guard': { nonFinite: 'ignore' },
  clip: { clipGradNorm: 1 },
};

type Created = Awaited<ReturnType<typeof AdamW.create>>;

/**
 * Whether this adamw-wasm has the `threads` option: an optimizer created without it exposes
 * `threads` (the number of threads it actually uses) once the option exists.
 */
let threadSupport: Promise<boolean> | undefined;
export function supportsThreads(): Promise<boolean> {
  threadSupport ??= (async () => {
    const opt = await AdamW.create([{ size: 64 }], { backend: isBackendAvailable('wasm-simd') ? 'wasm-simd' : 'js' });
    try {
      return 'threads' in opt;
    } finally {
      opt.dispose();
    }
  })();
  return threadSupport;
}

/** Thread counts to run wasm-simd with: --threads, else 1 and the core count. */
export async function threadCounts(requested: readonly number[] | undefined, cores: number, ctx: Pick<PeerContext, 'note'>): Promise<number[]> {
  const supported = await supportsThreads();
  if (!supported) {
    if (requested && requested.some((n) => n !== 1)) {
      ctx.note(`threads: this adamw-wasm has no 'threads' option (the optimizer has no .threads); ran wasm-simd with 1 thread only`);
    }
    return [1];
  }
  return requested ? [...requested] : [...new Set([1, cores])];
}

function stepRunner(opt: Created, backend: OurBackend, threads: number, checks: Check, size: number, bytes: number): Runner {
  return {
    key: { backend, threads, checks },
    size,
    bytesPerParam: bytes,
    run(steps) {
      const t0 = performance.now();
      for (let s = 0; s < steps; s++) opt.step();
      return performance.now() - t0;
    },
    dispose: () => opt.dispose(),
  };
}

export function oursPeer(backend: OurBackend, ctx: PeerContext, threads: readonly number[]): Peer {
  return {
    backend,
    async prepare(size): Promise<Prepared> {
      if (!isBackendAvailable(backend)) return { skip: `${backend}: not available in this runtime` };
      const supported = await supportsThreads();
      const counts = backend === 'wasm-simd' ? threads : [1];
      const init = new Float32Array(size);
      randomFill(init, 1);
      const runners: Runner[] = [];
      const seen = new Set<string>();
      for (const n of counts) {
        for (const checks of ctx.config.checks) {
          const options = { backend, amsgrad: ctx.config.amsgrad, ...CHECK_OPTIONS[checks], ...(supported ? { threads: n } : {}) };
          let opt: Created;
          try {
            opt = await AdamW.create([{ init }], options as Parameters<typeof AdamW.create>[1]);
          } catch (error) {
            ctx.note(`${backend} with ${n} thread${n > 1 ? 's' : ''} (${checks}) at ${size} params: ${errorMessage(error)}`);
            continue;
          }
          randomFill(opt.groups[0]!.grads, 2);
          const used = supported ? Number((opt as unknown as { threads: unknown }).threads) : 1;
          if (used !== n) ctx.note(`${backend}: asked for ${n} threads at ${size} params, the optimizer uses ${used}`);
          if (seen.has(`${used} ${checks}`)) {
            opt.dispose();
            continue;
          }
          seen.add(`${used} ${checks}`);
          runners.push(stepRunner(opt, backend, used, checks, size, bytesPerParam(ctx.config.amsgrad)));
        }
      }
      if (runners.length === 0) return { skip: `${backend}: no optimizer could be created at ${size} params` };
      return { runners };
    },
  };
}
