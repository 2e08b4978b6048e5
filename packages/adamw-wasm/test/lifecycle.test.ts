/**
 * dispose(): afterwards every method, setter and view throws, views over non-shared memory are
 * detached, and the memory goes even while the caller still holds the optimizer and its groups.
 * A create() that fails after its kernel started leaves no workers behind.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { AdamW, type BackendName } from 'adamw-wasm';
import { AdamW as SourceAdamW } from '../src/index.js';
import { ThreadedKernel } from '../src/kernels/threaded.js';

const BACKENDS: readonly BackendName[] = ['wasm-simd', 'wasm', 'js'];

describe.each(BACKENDS)('after dispose() (%s)', (backend) => {
  it('every method, setter and view getter throws, naming itself', async () => {
    const opt = await AdamW.create([{ size: 100 }], { backend });
    const group = opt.groups[0]!;
    const saved = opt.saveState();
    opt.dispose();
    const calls: [string, () => unknown][] = [
      ['step()', () => opt.step()],
      ['stepAsync()', () => opt.stepAsync()],
      ['addParamGroup()', () => opt.addParamGroup({ size: 1 })],
      ['saveState()', () => opt.saveState()],
      ['loadState()', () => opt.loadState(saved)],
      ['zeroGrad()', () => opt.zeroGrad()],
      ['saveStateToFile()', () => opt.saveStateToFile('/nonexistent/x')],
      ['loadStateFromFile()', () => opt.loadStateFromFile('/nonexistent/x')],
      ['groups[0].lr (setter)', () => (group.lr = 0.1)],
      ['groups[0].set()', () => group.set({ lr: 0.1 })],
    ];
    for (const [name, call] of calls) {
      let error: unknown;
      try {
        await call();
      } catch (e) {
        error = e;
      }
      expect((error as Error)?.message, name).toBe(`AdamW: ${name} called after dispose()`);
    }
    for (const view of ['params', 'grads', 'state'] as const) expect(() => group[view]).toThrow(`AdamW: groups[0].${view} read after dispose()`);
    expect(() => opt.dispose()).not.toThrow();
    // Still readable: what it was.
    expect([opt.backend, group.size, group.lr]).toEqual([backend, 100, 1e-3]);
  });

  it('views taken before dispose() are detached: they no longer hold the memory', async () => {
    const opt = await AdamW.create([{ size: 100 }], { backend });
    const { params, grads } = opt.groups[0]!;
    const { expAvg } = opt.groups[0]!.state;
    opt.dispose();
    expect([params.length, grads.length, expAvg!.length]).toEqual([0, 0, 0]);
  });
});

describe('memory', () => {
  /** Creates, steps and disposes `count` 1M-parameter optimizers, holding on to each and its group; prints RSS growth in MiB after GC. */
  function rssGrowth(count: number, options: object): number {
    const entry = fileURLToPath(import.meta.resolve('adamw-wasm'));
    const script = `
      const { AdamW } = await import(${JSON.stringify(entry)});
      const held = [];
      const rss = () => process.memoryUsage().rss;
      const start = rss();
      for (let i = 0; i < ${count}; i++) {
        const opt = await AdamW.create([{ size: 1_000_000 }], ${JSON.stringify(options)});
        opt.groups[0].grads.fill(1);
        opt.step();
        held.push(opt, opt.groups[0]);
        opt.dispose();
      }
      for (let k = 0; k < 3; k++) { gc(); await new Promise((r) => setTimeout(r, 50)); }
      console.log(Math.round((rss() - start) / 2 ** 20));`;
    const result = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(result.stderr).toBe('');
    return Number(result.stdout.trim());
  }

  it.each([
    ['wasm-simd', { backend: 'wasm-simd' }, 100],
    ['js', { backend: 'js' }, 100],
    ['2 threads (shared memory)', { threads: 2 }, 30],
  ])('disposed optimizers still referenced by the caller do not keep their memory (%s)', (_name, options, count) => {
    // Each holds 16 MiB of params, grads and moments: kept, they would add count × 16 MiB.
    const growth = rssGrowth(count, options);
    expect(growth).toBeLessThan((count * 16) / 4);
  });
});

describe('a create() that fails after its kernel started', () => {
  it('disposes the kernel, stopping its workers', async () => {
    const dispose = vi.spyOn(ThreadedKernel.prototype, 'dispose');
    const reserve = vi.spyOn(ThreadedKernel.prototype, 'reserve').mockImplementation(() => {
      throw new RangeError('adamw-wasm: could not grow shared WebAssembly memory (simulated)');
    });
    await expect(SourceAdamW.create([{ size: 100 }], { threads: 2 })).rejects.toThrow(/simulated/);
    expect(dispose).toHaveBeenCalledTimes(1);
    reserve.mockRestore();
    dispose.mockRestore();
  });
});
