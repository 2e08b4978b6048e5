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
] as const;

/**
 * torch.optim.AdamW on CPU, one thread, foreach=True and foreach=False as two rows (`variant`),
 * each in its own Python process speaking JSON lines (python/torch_bench.py).
 */
export function torchPeer(ctx: PeerContext): Peer {
  let unavailable: string | undefined;
  return {
    backend: 'torch',
    async prepare(size): Promise<Prepared> {
      if (unavailable) return { skip: unavailable };
      if (!existsSync(PYTHON)) return { skip: (unavailable = `torch: ${PYTHON} not found`) };
      if (!existsSync(SCRIPT)) return { skip: (unavailable = `torch: ${SCRIPT} not found`) };
      const runners: Runner[] = [];
      try {
        for (const { variant, flag } of VARIANTS) {
          const args = [SCRIPT, '--size', String(size), flag, ...(ctx.config.amsgrad ? ['--amsgrad'] : [])];
          const child = new LineProcess(`torch ${variant}`, PYTHON, args, { ...process.env, OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' });
          runners.push({
            key: { backend: 'torch', threads: 1, variant },
            size,
            bytesPerParam: bytesPerParam(ctx.config.amsgrad),
            run: (steps) => runSteps(child, steps),
            dispose: () => child.close(),
          });
          const ready = await child.next();
          if (ready['threads'] !== 1) ctx.note(`torch: runs with ${String(ready['threads'])} threads`);
          ctx.machine.peers['torch'] = `${String(ready['torch'])} (${String(ready['capability'])}, 1 thread)`;
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
