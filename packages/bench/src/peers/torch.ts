import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Prepared, Runner } from '../types.js';
import { LineProcess, runSteps } from './child.js';
import { bytesPerParam, errorMessage, type Peer, type PeerContext } from './peer.js';

/** Debian's python3-torch installs for the system interpreter. */
export const PYTHON = process.env['ADAMW_BENCH_PYTHON'] ?? '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../python/torch_bench.py', import.meta.url));
const VARIANTS = [
  { variant: 'foreach', flag: '--foreach' },
  { variant: 'for-loop', flag: '--for-loop' },
  { variant: 'fused', flag: '--fused' },
] as const;

/**
 * torch.optim.AdamW on CPU as rows (`variant`, `threads`): foreach and for-loop on one thread;
 * foreach on every other thread count the run measures (all cores by default); fused on each
 * where the installed torch has a fused CPU kernel (2.4+). Each row is its own Python process
 * speaking JSON lines (python/torch_bench.py).
 */
export function torchPeer(ctx: PeerContext): Peer {
  let unavailable: string | undefined;
  let fusedMissing = false;
  return {
    backend: 'torch',
    async prepare(size): Promise<Prepared> {
      if (unavailable) return { skip: unavailable };
      if (!existsSync(PYTHON)) return { skip: (unavailable = `torch: ${PYTHON} not found`) };
      if (!existsSync(SCRIPT)) return { skip: (unavailable = `torch: ${SCRIPT} not found`) };
      const runners: Runner[] = [];
      const rows = ctx.config.threads.flatMap((threads) =>
        VARIANTS.filter(({ variant }) => threads === 1 || variant !== 'for-loop')
          .filter(({ variant }) => !(variant === 'fused' && fusedMissing))
          .map((v) => ({ ...v, threads })),
      );
      try {
        for (const { variant, flag, threads } of rows) {
          const args = [SCRIPT, '--size', String(size), flag, '--threads', String(threads), ...(ctx.config.amsgrad ? ['--amsgrad'] : [])];
          const t = String(threads);
          const child = new LineProcess(`torch ${variant}`, PYTHON, args, { ...process.env, OMP_NUM_THREADS: t, MKL_NUM_THREADS: t });
          const ready = await child.next().catch(async (error: unknown) => {
            await child.close();
            throw error;
          });
          if (ready['ready'] !== true) {
            await child.close();
            fusedMissing = true;
            ctx.note(`torch: ${String(ready['why'] ?? `no ${variant} row`)}`);
            continue;
          }
          runners.push({
            key: { backend: 'torch', threads, variant },
            size,
            bytesPerParam: bytesPerParam(ctx.config.amsgrad),
            run: (steps) => runSteps(child, steps),
            dispose: () => child.close(),
          });
          if (ready['threads'] !== threads) ctx.note(`torch: asked for ${threads} threads, runs with ${String(ready['threads'])}`);
          ctx.machine.peers['torch'] = `${String(ready['torch'])} (${String(ready['capability'])})`;
        }
      } catch (error) {
        for (const r of runners) await r.dispose();
        const message = errorMessage(error);
        unavailable = /No module named/.test(message)
          ? `torch: ${PYTHON} cannot import torch (on Debian: apt-get install python3-torch)`
          : `torch: ${message}`;
        return { skip: unavailable };
      }
      return { runners };
    },
  };
}
