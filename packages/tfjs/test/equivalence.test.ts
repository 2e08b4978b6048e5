/**
 * The adapter computes what adamw-wasm computes, and what tfjs's own optimizers compute.
 *
 * Against plain adamw-wasm: the gradients model.fit hands the adapter are recorded and replayed
 * into an adamw-wasm optimizer built from the same initial weights; parameters and state must
 * match bit for bit, for every family, adamw-wasm backend and thread count, on tfjs's cpu and
 * wasm backends.
 *
 * Against tf.train.adam (weightDecay 0, tfjs's epsilon 1e-7): not bit for bit, and it cannot
 * be. tfjs keeps β1^t, β2^t as float32 variables multiplied once per step, and uses float32(β);
 * PyTorch (and we) compute 1 − β^t in float64 from the decimal β. For β2 = 0.999 the first
 * differs by up to t·2^-24 absolutely, the second by t·1.3e-8, both against 1 − β2^t ≈ t·1e-3:
 * relative errors up to ~6e-5 in the second-moment correction, ~3e-5 in the update after the
 * square root, plus a few float32 roundings of a differently ordered formula. An Adam update is
 * at most ~3·lr in size (m̂/√v̂ ≤ (1 − β1)/√(1 − β2) per element), so after T steps the
 * trajectories may differ by ~3e-5 · 3·lr · T before any feedback through the gradients. We
 * allow 1e-4 · lr · T per element (4e-5 for lr = 1e-2, T = 40); measured: 1.7e-6 (cpu and wasm). A
 * control with weightDecay 1e-2 must exceed it, so the check can fail.
 */
import { describe, expect, it } from 'vitest';
import { Adam, AdamW, SGD, SGDW, init, type TensorSpec } from 'adamw-wasm';
import { adam, adamw, sgd, sgdw, type WasmOptimizer } from 'adamw-wasm-tfjs';
import { bits, data, mlp, optimizerWeights, record, tf, TFJS_BACKENDS, useBackend, weightsOf, type TfjsBackend } from './helpers.js';

const FAMILIES = [
  {
    label: 'adamw (amsgrad, exclusions)',
    adapter: () => adamw({ learningRate: 1e-2, weightDecay: 0.1, amsgrad: true, excludeFromWeightDecay: ['bias'] }),
    core: (tensors: TensorSpec[], backend: object) => new AdamW([{ tensors }], { lr: 1e-2, weightDecay: 0.1, amsgrad: true, excludeFromWeightDecay: [/bias/], ...backend }),
  },
  {
    label: 'adam (coupled L2, keras preset)',
    adapter: () => adam({ learningRate: 3e-3, weightDecay: 1e-3, preset: 'keras' }),
    core: (tensors: TensorSpec[], backend: object) => new Adam([{ tensors }], { lr: 3e-3, weightDecay: 1e-3, preset: 'keras', ...backend }),
  },
  {
    label: 'sgd (Nesterov momentum, coupled decay)',
    adapter: () => sgd({ learningRate: 5e-2, momentum: 0.9, useNesterov: true, weightDecay: 1e-3 }),
    core: (tensors: TensorSpec[], backend: object) => new SGD([{ tensors }], { lr: 5e-2, momentum: 0.9, nesterov: true, weightDecay: 1e-3, ...backend }),
  },
  {
    label: 'sgdw (paper decay)',
    adapter: () => sgdw({ learningRate: 5e-2, momentum: 0.9, weightDecay: 1e-2 }),
    core: (tensors: TensorSpec[], backend: object) => new SGDW([{ tensors }], { lr: 5e-2, momentum: 0.9, weightDecay: 1e-2, ...backend }),
  },
];

const RUNS: { tfjs: TfjsBackend; ours: { backend?: string; threads?: number } }[] = [
  { tfjs: 'cpu', ours: {} },
  { tfjs: 'cpu', ours: { backend: 'js' } },
  { tfjs: 'cpu', ours: { backend: 'wasm-simd', threads: 3 } },
  { tfjs: 'wasm', ours: { backend: 'wasm' } },
];

describe('the adapter equals plain adamw-wasm on the same gradients, bit for bit', () => {
  for (const family of FAMILIES) {
    it.each(RUNS)(`${family.label}: tfjs $tfjs, adamw-wasm $ours`, async ({ tfjs, ours }) => {
      await init();
      await useBackend(tfjs);
      const model = mlp('m');
      const names = model.weights.map((w) => w.name);
      const start = model.weights.map((w) => Float32Array.from(w.read().dataSync() as Float32Array));
      // The family's options; the adamw-wasm backend and threads are the run's.
      const adapter = rebuild(family.adapter(), ours);
      const steps = record(adapter);
      model.compile({ optimizer: adapter, loss: 'meanSquaredError' });
      const { xs, ys } = data(256);
      await model.fit(xs, ys, { epochs: 3, batchSize: 32, shuffle: false, verbose: 0 });
      expect(steps).toHaveLength(24);
      expect(adapter.iterations).toBe(24);
      if ('backend' in ours) expect(adapter.backend).toBe(ours.backend);
      if ('threads' in ours) expect(adapter.threads).toBe(ours.threads);

      const reference = family.core(names.map((name, i) => ({ name, init: start[i]! })), {});
      for (const grads of steps) {
        for (const [name, g] of grads) reference.tensor(name).grads.set(g);
        reference.step();
      }
      const trained = model.weights.map((w) => w.read().dataSync() as Float32Array);
      names.forEach((name, i) => expect(bits(trained[i]!), name).toEqual(bits(reference.tensor(name).params)));
      const saved = await optimizerWeights(adapter);
      for (const t of reference.tensors) {
        const state = t.state as Record<string, Float32Array | undefined>;
        const slots = { m: state.expAvg, v: state.expAvgSq, vhat: state.maxExpAvgSq, momentum: state.momentumBuffer };
        for (const [suffix, values] of Object.entries(slots)) {
          if (values === undefined) expect(saved.has(`${t.name}/${suffix}`)).toBe(false);
          else expect(bits(saved.get(`${t.name}/${suffix}`)!), `${t.name}/${suffix}`).toEqual(bits(values));
        }
      }
      adapter.dispose();
      reference.dispose();
      tf.dispose([xs, ys]);
      model.dispose();
    });
  }
});

/** The same optimizer built again with a different adamw-wasm backend or thread count. */
function rebuild(opt: WasmOptimizer, runtime: object): WasmOptimizer {
  const Cls = opt.constructor as new (options: object) => WasmOptimizer;
  const config = { ...opt.getConfig(), ...runtime };
  opt.dispose();
  return new Cls(config);
}

describe('adamw with weightDecay 0 against tf.train.adam through model.fit', () => {
  const lr = 1e-2;
  const T = 40;
  const tolerance = 1e-4 * lr * T;

  async function fitWith(make: () => tf.Optimizer): Promise<Map<string, Float32Array>> {
    const model = mlp('cmp');
    model.compile({ optimizer: make(), loss: 'meanSquaredError' });
    const { xs, ys } = data(256);
    await model.fit(xs, ys, { epochs: 5, batchSize: 32, shuffle: false, verbose: 0 });
    expect(model.optimizer.iterations).toBe(T);
    const out = weightsOf(model);
    tf.dispose([xs, ys]);
    model.dispose();
    return out;
  }

  const worst = (a: Map<string, Float32Array>, b: Map<string, Float32Array>): number => {
    let m = 0;
    for (const [name, x] of a) x.forEach((v, i) => (m = Math.max(m, Math.abs(v - b.get(name)![i]!))));
    return m;
  };

  it.each(TFJS_BACKENDS)('%s: within 1e-4·lr·T per element after 40 steps; a decay of 1e-2 is not', async (backend) => {
    await init();
    await useBackend(backend);
    const theirs = await fitWith(() => tf.train.adam(lr));
    const ours = await fitWith(() => adamw({ learningRate: lr, weightDecay: 0, epsilon: 1e-7 }));
    const decayed = await fitWith(() => adamw({ learningRate: lr, weightDecay: 1e-2, epsilon: 1e-7 }));
    expect(worst(theirs, ours)).toBeLessThan(tolerance);
    expect(worst(theirs, ours)).toBeGreaterThan(0);
    expect(worst(theirs, decayed)).toBeGreaterThan(tolerance);
  });

  it.each(TFJS_BACKENDS)('%s: sgd with momentum equals tf.train.momentum bit for bit (same float32 operations)', async (backend) => {
    await init();
    await useBackend(backend);
    const theirs = await fitWith(() => tf.train.momentum(5e-2, 0.9));
    const ours = await fitWith(() => sgd({ learningRate: 5e-2, momentum: 0.9 }));
    for (const [name, values] of theirs) expect(bits(ours.get(name)!), name).toEqual(bits(values));
  });
});
