/**
 * State keyed by variable name: exclusions by name, skipping variables without a gradient as
 * PyTorch skips grad = None, variables joining mid-training, variables assigned from outside
 * between steps, and bad input refused with nothing changed.
 */
import { describe, expect, it } from 'vitest';
import { AdamW, init } from 'adamw-wasm';
import { adamw, sgd } from 'adamw-wasm-tfjs';
import { bits, data, mlp, optimizerWeights, record, tf, tfl, useBackend } from './helpers.js';

const variablesOf = (model: tfl.LayersModel) => model.weights.map((w) => tf.engine().registeredVariables[w.name]!);

/** Every variable's bits and every optimizer weight's bits, to prove a refusal changed nothing. */
async function snapshot(model: tfl.LayersModel, opt: { getWeights(): Promise<{ name: string; tensor: tf.Tensor }[]>; iterations: number }) {
  const state = await optimizerWeights(opt);
  return {
    variables: model.weights.map((w) => [w.name, Array.from(bits(w.read().dataSync() as Float32Array))]),
    state: [...state].map(([name, values]) => [name, Array.from(bits(values))]),
    iterations: opt.iterations,
  };
}

describe('exclusions by name', () => {
  it("strings exclude names containing them (Keras's rule), RegExps names they match; the rest decays by exactly (1 − lr·λ)", async () => {
    await init();
    await useBackend('cpu');
    const model = mlp('ex', { norm: true });
    const opt = adamw({ learningRate: 0.1, weightDecay: 0.5, excludeFromWeightDecay: ['bias', /layer_norm\/gamma$/] });
    const before = new Map(model.weights.map((w) => [w.name, Float32Array.from(w.read().dataSync() as Float32Array)]));
    // Zero gradients: m = v = 0, so the Adam update is 0 and only the decay moves a parameter.
    opt.applyGradients(model.weights.map((w) => ({ name: w.name, tensor: tf.zerosLike(w.read()) })));
    const factor = Math.fround(1 - 0.1 * 0.5);
    const excluded: string[] = [];
    for (const w of model.weights) {
      const now = w.read().dataSync() as Float32Array;
      const was = before.get(w.name)!;
      if (w.name.includes('bias') || /layer_norm\/gamma$/.test(w.name)) {
        excluded.push(w.name);
        expect(bits(now), w.name).toEqual(bits(was));
      } else {
        expect(bits(now), w.name).toEqual(bits(was.map((x) => Math.fround(x * factor))));
      }
    }
    expect(excluded).toEqual(['ex_hidden/bias', 'ex_layer_norm/gamma', 'ex_out/bias']);
    expect(model.weights.map((w) => w.name)).toContain('ex_layer_norm/beta');
  });
});

describe('variables without a gradient are skipped, as torch skips grad = None', () => {
  it('a skipped variable keeps its bits, moments and step count; the others step as if alone', async () => {
    await init();
    await useBackend('cpu');
    const model = mlp('sk');
    const [kernel, bias, outKernel, outBias] = variablesOf(model);
    const opt = adamw({ learningRate: 1e-2, weightDecay: 0.1 });
    const grads = (seed: number) => model.weights.map((w, i) => ({ name: w.name, tensor: tf.randomNormal(w.shape as number[], 0, 1, 'float32', seed + i + 1) }));
    opt.applyGradients(grads(0));
    const held = Float32Array.from(bias!.dataSync() as Float32Array);
    const heldState = await optimizerWeights(opt);
    // Step 2: the bias gets no gradient (an entry without a tensor, as minimize passes it).
    const second = grads(10).map((g) => (g.name === bias!.name ? { name: g.name, tensor: undefined as never } : g));
    opt.applyGradients(second);
    expect(bits(bias!.dataSync() as Float32Array)).toEqual(bits(held));
    const after = await optimizerWeights(opt);
    expect(bits(after.get(`${bias!.name}/m`)!)).toEqual(bits(heldState.get(`${bias!.name}/m`)!));
    expect(bits(after.get(`${bias!.name}/v`)!)).toEqual(bits(heldState.get(`${bias!.name}/v`)!));
    // Its own step count (1) differs from iter (2): saved as <name>/step so bias correction resumes exactly.
    expect(after.get(`${bias!.name}/step`)).toEqual(Float32Array.of(1));
    expect(after.has(`${kernel!.name}/step`)).toBe(false);
    // A name left out of a map is skipped the same way.
    const third = Object.fromEntries(grads(20).filter((g) => g.name !== outBias!.name).map((g) => [g.name, g.tensor]));
    const outBiasBefore = Float32Array.from(outBias!.dataSync() as Float32Array);
    opt.applyGradients(third);
    expect(bits(outBias!.dataSync() as Float32Array)).toEqual(bits(outBiasBefore));
    expect(opt.iterations).toBe(3);
    void outKernel;
  });

  it('model.fit with a frozen layer, then unfrozen: its variables join mid-training without disturbing the others', async () => {
    await init();
    await useBackend('cpu');
    const { xs, ys } = data(128);
    const model = mlp('un');
    const initial = new Map(model.weights.map((w) => [w.name, Float32Array.from(w.read().dataSync() as Float32Array)]));
    const first = model.layers[0]!;
    first.trainable = false;
    const opt = adamw({ learningRate: 1e-2, weightDecay: 0.1 });
    const steps = record(opt);
    model.compile({ optimizer: opt, loss: 'meanSquaredError' });
    await model.fit(xs, ys, { epochs: 2, batchSize: 32, shuffle: false, verbose: 0 });
    expect(opt.variableNames).toEqual(['un_out/kernel', 'un_out/bias']);
    first.trainable = true;
    model.compile({ optimizer: opt, loss: 'meanSquaredError' }); // tfjs collects the trainable weights again on compile
    await model.fit(xs, ys, { epochs: 1, batchSize: 32, shuffle: false, verbose: 0 });
    expect(opt.variableNames).toEqual(['un_out/kernel', 'un_out/bias', 'un_hidden/kernel', 'un_hidden/bias']);
    const weights = await optimizerWeights(opt);
    // The late joiners have 4 steps of their own, the others 12: per-variable bias correction.
    expect(weights.get('iter')).toEqual(Float32Array.of(12));
    expect(weights.get('un_hidden/kernel/step')).toEqual(Float32Array.of(4));
    expect(weights.has('un_out/kernel/step')).toBe(false);
    // The same gradients into adamw-wasm, variables added as they joined, give the same bits.
    const ref = new AdamW([], { lr: 1e-2, weightDecay: 0.1 });
    for (const grads of steps) {
      const joining = [...grads.keys()].filter((name) => !ref.tensors.some((t) => t.name === name));
      if (joining.length > 0) ref.addParamGroup({ tensors: joining.map((name) => ({ name, init: initial.get(name)! })) });
      for (const [name, g] of grads) ref.tensor(name).grads.set(g);
      ref.step({ tensors: [...grads.keys()] });
    }
    for (const w of model.weights) expect(bits(w.read().dataSync() as Float32Array), w.name).toEqual(bits(ref.tensor(w.name).params));
    tf.dispose([xs, ys]);
  });
});

describe('variables changed outside the optimizer', () => {
  it('a variable assigned between steps (model.setWeights, a loaded checkpoint) is read again before the next step', async () => {
    await init();
    await useBackend('cpu');
    const model = mlp('ext');
    const names = model.weights.map((w) => w.name);
    const opt = adamw({ learningRate: 1e-2, weightDecay: 0.1 });
    const grads = (seed: number) => names.map((name, i) => ({ name, tensor: tf.randomNormal(model.weights[i]!.shape as number[], 0, 1, 'float32', seed + i + 1) }));
    opt.applyGradients(grads(0));
    const replaced = model.weights.map((w, i) => tf.randomNormal(w.shape as number[], 0, 1, 'float32', 100 + i));
    model.setWeights(replaced);
    const g2 = grads(50);
    opt.applyGradients(g2);
    // Reference: the first step, then the second from the replaced values (tfjs seeds must be > 0: 0 means unseeded).
    const oneStep = new AdamW([{ tensors: names.map((name, i) => ({ name, size: model.weights[i]!.read().size })) }], { lr: 1e-2, weightDecay: 0.1 });
    grads(0).forEach(({ name, tensor }) => oneStep.tensor(name).grads.set(tensor.dataSync() as Float32Array));
    oneStep.step();
    names.forEach((name, i) => oneStep.tensor(name).params.set(replaced[i]!.dataSync() as Float32Array));
    g2.forEach(({ name, tensor }) => oneStep.tensor(name).grads.set(tensor.dataSync() as Float32Array));
    oneStep.step();
    names.forEach((name, i) => expect(bits(model.weights[i]!.read().dataSync() as Float32Array), name).toEqual(bits(oneStep.tensor(name).params)));
  });
});

describe('bad input is refused before anything changes', () => {
  it('unknown variables, wrong shapes or dtypes, repeated names, non-tensors; checksums before and after', async () => {
    await init();
    await useBackend('cpu');
    const model = mlp('bad');
    const opt = sgd({ learningRate: 0.1, momentum: 0.9 });
    const good = () => model.weights.map((w) => ({ name: w.name, tensor: tf.onesLike(w.read()) }));
    opt.applyGradients(good());
    const [k, b] = model.weights.map((w) => w.name);
    const cases: [string, unknown, ErrorConstructor, RegExp][] = [
      ['unknown variable', [...good(), { name: 'nope/kernel', tensor: tf.ones([2]) }], RangeError, /SGD\.applyGradients: the gradient for "nope\/kernel" must be for a variable registered with tfjs/],
      ['wrong shape', good().map((g) => (g.name === k ? { name: k, tensor: tf.ones([3]) } : g)), RangeError, /the gradient for "bad_hidden\/kernel" must be of the variable's shape \[16, 32\] \(got "shape \[3\]"\)/],
      ['wrong dtype', good().map((g) => (g.name === b ? { name: b, tensor: tf.ones([32], 'int32') } : g)), TypeError, /must be float32, for a float32 variable/],
      ['a name twice', [...good(), good()[0]], RangeError, /variableGradients must be naming each variable once/],
      ['not a tensor', good().map((g) => (g.name === b ? { name: b, tensor: new Float32Array(32) } : g)), TypeError, /the gradient for "bad_hidden\/bias" must be a tf\.Tensor/],
      ['not a map or list', 5, TypeError, /variableGradients must be a \{ name: gradient \} map or an array of \{ name, tensor \}/],
      ['an entry without a name', [{ tensor: tf.ones([1]) }], TypeError, /variableGradients\[0\]\.name must be a variable name/],
      [
        'a tensor whose data is shorter than its shape',
        good().map((g) => (g.name === b ? { name: b, tensor: new Proxy(g.tensor, { get: (t, key) => (key === 'dataSync' ? () => new Float32Array(3) : Reflect.get(t, key)) }) } : g)),
        RangeError,
        /the gradient for "bad_hidden\/bias" must be 32 values \(got 3\)/,
      ],
    ];
    for (const [label, input, kind, message] of cases) {
      const before = await snapshot(model, opt);
      expect(() => opt.applyGradients(input as never), label).toThrow(kind);
      expect(() => opt.applyGradients(input as never), label).toThrow(message);
      expect(await snapshot(model, opt), label).toEqual(before);
    }
  });

  it('options: tfjs names checked here, the rest by adamw-wasm, each error naming the option', async () => {
    await init();
    const cases: [() => unknown, ErrorConstructor, RegExp][] = [
      [() => adamw({ learningRate: -1 }), RangeError, /^AdamW: options\.learningRate must be >= 0 \(got -1\)/],
      [() => adamw({ beta2: 1 }), RangeError, /^AdamW: options\.beta2 must be in \[0, 1\) \(got 1\)/],
      [() => adamw({ epsilon: '1e-8' as never }), TypeError, /^AdamW: options\.epsilon must be a number/],
      [() => adamw({ weightDecay: -0.1 }), RangeError, /^AdamW: options\.weightDecay must be >= 0/],
      [() => adamw({ lr: 1e-3 } as never), TypeError, /^AdamW: unknown option options\.lr; known options are learningRate, epsilon, beta1, beta2/],
      [() => adamw({ excludeFromWeightDecay: 'bias' as never }), TypeError, /options\.excludeFromWeightDecay must be an array of name parts/],
      [() => adamw({ excludeFromWeightDecay: [''] }), RangeError, /options\.excludeFromWeightDecay\[0\] must be a non-empty string/],
      [() => adamw({ schedule: 5 as never }), TypeError, /options\.schedule must be a schedule function, a saved schedule/],
      [() => sgd({ useNesterov: true }), RangeError, /^SGD: options\.nesterov must be used with momentum > 0/],
      [() => sgd({ useNesterov: 1 as never }), TypeError, /^SGD: options\.useNesterov must be true or false/],
      [() => adamw({ preset: 'paper' }), TypeError, /preset 'paper' needs weightDecay to be given/],
    ];
    for (const [make, kind, message] of cases) {
      expect(make).toThrow(kind);
      expect(make).toThrow(message);
    }
    const opt = adamw();
    expect(() => (opt.learningRate = -1)).toThrow(/^AdamW: learningRate must be >= 0/);
    expect(() => (opt.weightDecay = NaN)).toThrow(/^AdamW: weightDecay must be a number, not NaN/);
    expect(() => (opt.schedule = 'custom' as never)).toThrow(/^AdamW: schedule must be a schedule function, a saved schedule/);
    expect(opt.learningRate).toBe(1e-3);
  });
});

describe('the effective learning rate', () => {
  it('nextLr is learningRate × the schedule at iterations, lastLr what the last step used; a skipped step keeps it', async () => {
    await init();
    await useBackend('cpu');
    const v = tf.variable(tf.tensor1d([1, 2, 3]), true, 'lr/v');
    const opt = adamw({ learningRate: 0.1, schedule: (t: number) => 1 / (t + 1), nonFinite: 'skip' });
    expect(opt.lastLr).toBeUndefined();
    expect(opt.nextLr).toBe(0.1);
    opt.applyGradients([{ name: 'lr/v', tensor: tf.tensor1d([1, 1, 1]) }]);
    expect(opt.lastLr).toBe(0.1);
    expect(opt.nextLr).toBe(0.1 / 2);
    opt.learningRate = 0.4;
    expect(opt.nextLr).toBe(0.4 / 2);
    opt.applyGradients([{ name: 'lr/v', tensor: tf.tensor1d([NaN, 1, 1]) }]);
    expect(opt.lastLr).toBe(0.1);
    opt.applyGradients([{ name: 'lr/v', tensor: tf.tensor1d([1, 1, 1]) }]);
    expect(opt.lastLr).toBe(0.4 / 2);
    opt.dispose();
    v.dispose();
  });
});
