/**
 * Synchronous construction after one asynchronous init(): `new AdamW(…)`, `fromStateDict` and
 * `addParamGroup` need no await once init() has compiled the modules (frameworks construct
 * optimizers in synchronous code); without it they say what to do. Threads too: workers start
 * synchronously and join once booted, the calling thread taking their slices until then.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Adam, AdamW, init, SGD, SGDW } from 'adamw-wasm';
import { fillVaried, firstBitDifference, varied } from './helpers.js';

/** Runs `body` (ESM, with the package's exports in scope) in a fresh Node process. */
function fresh(body: string): { stdout: string; stderr: string; status: number | null } {
  const entry = fileURLToPath(import.meta.resolve('adamw-wasm'));
  const script = `const { AdamW, SGD, init } = await import(${JSON.stringify(entry)});\n${body}`;
  return spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
}

describe('before init()', () => {
  it('synchronous construction says to call await init() first; create() and the js backend need nothing', () => {
    const result = fresh(`
      const dict = new SGD([{ size: 4 }], { backend: 'js' }).stateDict();
      const tries = [
        () => new AdamW([{ size: 4 }]),
        () => new AdamW([{ size: 4 }], { backend: 'wasm' }),
        () => AdamW.fromStateDict({}),
        () => SGD.fromStateDict(dict),
      ];
      for (const t of tries) { try { t(); console.log('built'); } catch (e) { console.log(e.message); } }
      const js = new SGD([{ size: 4 }], { backend: 'js' });
      console.log('js', js.backend);
      const created = await AdamW.create([{ size: 4 }]);
      console.log('create', created.backend);
      console.log('after', new AdamW([{ size: 4 }]).backend);`);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim().split('\n')).toEqual([
      'AdamW: call await init() once before building optimizers synchronously (or use the async create()); it compiles the WebAssembly modules',
      'AdamW: call await init() once before building optimizers synchronously (or use the async create()); it compiles the WebAssembly modules',
      // A dict is checked first, whatever init() has done.
      'AdamW.fromStateDict: state.version must be 2 (STATE_FORMAT_VERSION) (got undefined)',
      'SGD: call await init() once before building optimizers synchronously (or use the async create()); it compiles the WebAssembly modules',
      'js js',
      'create wasm-simd',
      'after wasm-simd',
    ]);
  });
});

describe('after init()', () => {
  it('reports what it can run, and is idempotent', async () => {
    const first = await init();
    expect(first).toEqual({ backend: 'wasm-simd', threads: true, cores: expect.any(Number) });
    expect(await init()).toEqual(first);
  });

  it.each([
    ['AdamW', () => new AdamW([{ init: varied(5000, 1) }], { backend: 'wasm' }), () => AdamW.create([{ init: varied(5000, 1) }], { backend: 'wasm' })],
    ['Adam', () => new Adam([{ init: varied(5000, 1) }]), () => Adam.create([{ init: varied(5000, 1) }])],
    ['SGD', () => new SGD([{ init: varied(5000, 1) }], { momentum: 0.9 }), () => SGD.create([{ init: varied(5000, 1) }], { momentum: 0.9 })],
    ['SGDW', () => new SGDW([{ init: varied(5000, 1) }]), () => SGDW.create([{ init: varied(5000, 1) }])],
  ] as const)('new %s(…) is synchronous and steps exactly as create() does', async (_name, build, create) => {
    await init();
    const sync = build();
    const awaited = await create();
    for (const opt of [sync, awaited]) {
      for (let t = 0; t < 3; t++) {
        fillVaried(opt.groups[0]!.grads, t);
        opt.step();
      }
    }
    expect(firstBitDifference(sync.groups[0]!.params, awaited.groups[0]!.params, true)).toBe(-1);
    sync.dispose();
    awaited.dispose();
  });

  it('threads: built synchronously, stepped at once (workers join when booted), bit-identical to one thread', async () => {
    await init();
    const threaded = new AdamW([{ init: varied(50_000, 1) }], { threads: 4 });
    const single = new AdamW([{ init: varied(50_000, 1) }], { threads: 1 });
    expect(threaded.threads).toBe(4);
    for (let t = 0; t < 20; t++) {
      for (const opt of [threaded, single]) {
        fillVaried(opt.groups[0]!.grads, t);
        opt.step();
      }
    }
    expect(firstBitDifference(threaded.groups[0]!.params, single.groups[0]!.params, true)).toBe(-1);
    threaded.dispose();
    single.dispose();
  });

  it('addParamGroup and fromStateDict are synchronous too', async () => {
    await init();
    const opt = new AdamW([{ size: 3 }]);
    const group = opt.addParamGroup({ tensors: [{ name: 'head', size: 2 }], lr: 0.1 });
    expect(group.tensors[0]!.name).toBe('head');
    const copy = AdamW.fromStateDict(opt.stateDict());
    expect(copy.tensors.map((t) => t.name)).toEqual(['groups[0]', 'head']);
    opt.dispose();
    copy.dispose();
  });
});
