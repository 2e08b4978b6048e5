/**
 * Saving and restoring like tfjs's own optimizers: getConfig/fromConfig, getWeights/setWeights
 * in tfjs Adam's layout, and model.save(…, { includeOptimizer: true }) → tf.loadLayersModel, each
 * continuing bit for bit; weights from tf.train.adam load too.
 */
import { describe, expect, it } from 'vitest';
import { init, schedules } from 'adamw-wasm';
import { AdamWOptimizer, SGDOptimizer, adamw, sgd, sgdw, type WasmOptimizer } from 'adamw-wasm-tfjs';
import { matchName } from '../src/names.js';
import { bits, data, mlp, optimizerWeights, tf, tfl, useBackend, weightsOf } from './helpers.js';

/** Saves `model` (with its optimizer) to memory and loads it back through JSON text, as a file would. */
async function saveAndLoad(model: tfl.LayersModel): Promise<tfl.LayersModel> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
    { includeOptimizer: true },
  );
  const text = JSON.parse(JSON.stringify({ modelTopology: saved!.modelTopology, trainingConfig: saved!.trainingConfig, weightSpecs: saved!.weightSpecs }));
  return tfl.loadLayersModel(tf.io.fromMemory({ ...text, weightData: saved!.weightData }));
}

const sameBits = (a: Map<string, Float32Array>, b: Map<string, Float32Array>) => {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  for (const [name, values] of a) expect(bits(b.get(name)!), name).toEqual(bits(values));
};

describe('getConfig / fromConfig', () => {
  it('round-trip every option; exclusions and schedules are saved in forms tfjs-layers leaves intact', async () => {
    await init();
    const schedule = schedules.sequence([{ schedule: schedules.linearWarmup({ steps: 5 }), steps: 5 }, { schedule: schedules.cosine({ steps: 50 }) }]);
    const opt = adamw({ learningRate: 3e-3, beta2: 0.99, weightDecay: 0.05, amsgrad: true, preset: 'transformers', excludeFromWeightDecay: ['bias', /layer_norm\/(gamma|beta)$/i], schedule, clipGradNorm: 1, nonFinite: 'skip', backend: 'js' });
    const config = opt.getConfig() as Record<string, unknown>;
    expect(config).toEqual({
      learningRate: 3e-3, beta1: 0.9, beta2: 0.99, epsilon: 1e-6, weightDecay: 0.05, amsgrad: true, maximize: false,
      epsMode: 'hat', weightDecayScale: 'lr', decayOrder: 'after',
      excludeFromWeightDecay: [{ name: 'bias' }, { name: 'layer_norm\\/(gamma|beta)$', regexpFlags: 'i' }],
      schedule: schedules.toJSON(schedule), clipGradNorm: 1, nonFinite: 'skip', backend: 'js', threads: 'auto',
    });
    const back = AdamWOptimizer.fromConfig(AdamWOptimizer, JSON.parse(JSON.stringify(config))) as AdamWOptimizer;
    expect(back).toBeInstanceOf(AdamWOptimizer);
    expect(back.getConfig()).toEqual(config);
    for (let t = 0; t < 60; t++) expect(back.schedule!(t)).toBe(schedule(t));
    expect(tf.serialization.SerializationMap.getMap().classNameMap['adamw-wasm/AdamW']![0]).toBe(AdamWOptimizer);
    expect(opt.getClassName()).toBe('adamw-wasm/AdamW');
    // tfjs-layers adds customObjects to the configuration it hands fromConfig.
    expect(() => AdamWOptimizer.fromConfig(AdamWOptimizer, { ...config, customObjects: {} } as never)).not.toThrow();
  });

  it('a hand-written schedule is saved as "custom": the rebuilt optimizer refuses to train until it is given one', async () => {
    await init();
    await useBackend('cpu');
    const mine = (t: number) => 1 / (1 + t);
    const config = sgdw({ schedule: mine }).getConfig();
    expect(config.schedule).toBe('custom');
    const back = new (sgdw().constructor as new (o: object) => WasmOptimizer)(config);
    const v = tf.variable(tf.ones([3]), true, 'custom_schedule_v');
    const step = () => back.applyGradients({ custom_schedule_v: tf.ones([3]) });
    expect(step).toThrow(/SGDW\.applyGradients: this optimizer was saved with a schedule function.*set optimizer\.schedule/);
    expect(Array.from(v.dataSync())).toEqual([1, 1, 1]);
    expect(() => back.nextLr).toThrow(/^SGDW\.nextLr: this optimizer was saved with a schedule function/);
    back.schedule = mine;
    expect(back.nextLr).toBe(back.learningRate);
    step();
    expect(back.iterations).toBe(1);
    expect(back.lastLr).toBe(back.learningRate);
    expect(back.nextLr).toBe(back.learningRate / 2);
  });
});

describe('getWeights / setWeights', () => {
  it("list iter, every m, every v (tfjs Adam's layout), vhat with amsgrad, and <name>/step only where a variable's count differs", async () => {
    await init();
    await useBackend('cpu');
    const model = mlp('gw');
    const opt = adamw({ amsgrad: true });
    const grads = (skip?: string) => model.weights.map((w, i) => ({ name: w.name, tensor: w.name === skip ? (undefined as never) : tf.mul(tf.ones(w.shape as number[]), i + 1) }));
    opt.applyGradients(grads());
    opt.applyGradients(grads('gw_out/bias'));
    const names = (await opt.getWeights()).map((w) => w.name);
    const vars = model.weights.map((w) => w.name);
    expect(names).toEqual(['iter', ...vars.map((n) => `${n}/m`), ...vars.map((n) => `${n}/v`), ...vars.map((n) => `${n}/vhat`), 'gw_out/bias/step']);
    const list = await opt.getWeights();
    expect(list[1]!.tensor.shape).toEqual(model.weights[0]!.shape);
    expect(list[0]!.tensor.dtype).toBe('int32');
  });

  it('another optimizer given them continues bit for bit (state waits for variables it has not met)', async () => {
    await init();
    await useBackend('cpu');
    const { xs, ys } = data(128);
    const model = mlp('cw');
    const opt = adamw({ learningRate: 1e-2, weightDecay: 0.1 });
    model.compile({ optimizer: opt, loss: 'meanSquaredError' });
    await model.fit(xs, ys, { epochs: 1, batchSize: 32, shuffle: false, verbose: 0 });
    const twin = mlp('cw2');
    twin.setWeights(model.getWeights());
    const other = adamw({ learningRate: 1e-2, weightDecay: 0.1 });
    // Renamed variables: cw_* → cw2_*, so move the saved state to the twin's names.
    await other.setWeights((await opt.getWeights()).map((w) => ({ name: w.name.replace(/^cw_/, 'cw2_'), tensor: w.tensor })));
    expect(other.iterations).toBe(4);
    expect(other.variableNames).toEqual([]);
    twin.compile({ optimizer: other, loss: 'meanSquaredError' });
    await model.fit(xs, ys, { epochs: 2, batchSize: 32, shuffle: false, verbose: 0 });
    await twin.fit(xs, ys, { epochs: 2, batchSize: 32, shuffle: false, verbose: 0 });
    const a = weightsOf(model);
    const b = new Map([...weightsOf(twin)].map(([name, v]) => [name.replace(/^cw2_/, 'cw_'), v]));
    sameBits(a, b);
    tf.dispose([xs, ys]);
  });

  it("tf.train.adam's weights load: switching from tfjs's Adam mid-training keeps its moments", async () => {
    await init();
    await useBackend('cpu');
    const { xs, ys } = data(128);
    const run = async (switchTo: (() => tf.Optimizer) | undefined) => {
      const model = mlp(switchTo ? 'sw' : 'st');
      const theirs = tf.train.adam(1e-2);
      model.compile({ optimizer: theirs, loss: 'meanSquaredError' });
      await model.fit(xs, ys, { epochs: 2, batchSize: 32, shuffle: false, verbose: 0 });
      if (switchTo) {
        const ours = switchTo();
        await ours.setWeights(await theirs.getWeights());
        model.compile({ optimizer: ours, loss: 'meanSquaredError' });
      }
      await model.fit(xs, ys, { epochs: 2, batchSize: 32, shuffle: false, verbose: 0 });
      return [...weightsOf(model).values()];
    };
    const stayed = await run(undefined);
    const switched = await run(() => adamw({ learningRate: 1e-2, weightDecay: 0, epsilon: 1e-7 }));
    // The control: the same switch with the moments dropped (a fresh start) must land outside the tolerance.
    const fresh = await run(() => {
      const opt = adamw({ learningRate: 1e-2, weightDecay: 0, epsilon: 1e-7 });
      opt.setWeights = async () => {};
      return opt;
    });
    const worst = (a: Float32Array[], b: Float32Array[]) => Math.max(...a.map((x, i) => Math.max(...x.map((v, k) => Math.abs(v - b[i]![k]!)))));
    // Within the tolerance of equivalence.test.ts (1e-4·lr·T, T = 16 here), unlike a restart without the moments.
    expect(worst(stayed, switched)).toBeLessThan(1e-4 * 1e-2 * 16);
    expect(worst(stayed, fresh)).toBeGreaterThan(1e-4 * 1e-2 * 16);
    tf.dispose([xs, ys]);
  });

  it('refuse malformed or mismatched lists, leaving the state as it was', async () => {
    await init();
    await useBackend('cpu');
    const model = mlp('rf');
    const opt = adamw();
    opt.applyGradients(model.weights.map((w) => ({ name: w.name, tensor: tf.onesLike(w.read()) })));
    const good = await opt.getWeights();
    const [iter, km, ...rest] = good;
    const kv = good.find((w) => w.name === 'rf_hidden/kernel/v')!;
    const cases: [string, unknown, RegExp][] = [
      ['iter not first', [km, iter, ...rest], /AdamW\.setWeights: weights\[0\]\.name must be 'iter'/],
      ['unknown suffix', [iter, km, ...rest, { name: 'rf_hidden/kernel/q', tensor: km!.tensor }], /weights\[\d+\]\.name must be one of <variable>\/m, <variable>\/v, <variable>\/vhat, <variable>\/step/],
      ['a v missing', good.filter((w) => w !== kv), /missing rf_hidden\/kernel\/v/],
      ['vhat without amsgrad', [...good, { name: 'rf_hidden/kernel/vhat', tensor: kv.tensor }], /unexpected rf_hidden\/kernel\/vhat/],
      ['int32 moments', good.map((w) => (w === kv ? { name: w.name, tensor: tf.cast(w.tensor, 'int32') } : w)), /weights\[\d+\]\.tensor must be a float32 tensor/],
      ['shapes disagree', good.map((w) => (w === kv ? { name: w.name, tensor: tf.zeros([32, 16]) } : w)), /must be of the shape of rf_hidden\/kernel's other state, \[16, 32\]/],
      ['a step beyond iter', [...good, { name: 'rf_out/bias/step', tensor: tf.scalar(9, 'int32') }], /must be at most iter \(1\)/],
      ['a variable met but not in the list', good.filter((w) => !w.name.startsWith('rf_out/bias/')), /to hold the state of every variable this optimizer has met \(got "none for \\"rf_out\/bias\\""\)/],
      ['a size that differs', good.map((w) => (w.name.startsWith('rf_out/bias/') ? { name: w.name, tensor: tf.zeros([3]) } : w)), /the state of "rf_out\/bias" must be 4 values, as variable "rf_out\/bias" has \(got 3\)/],
      ['not a list', 'weights', /weights must be an array of \{ name, tensor \}/],
      ['not a tensor', [iter, { name: 'rf_hidden/kernel/m', tensor: [1, 2] }], /weights\[1\]\.tensor must be a tf\.Tensor/],
    ];
    const before = await optimizerWeights(opt);
    for (const [label, weights, message] of cases) {
      await expect(opt.setWeights(weights as never), label).rejects.toThrow(message);
      sameBits(await optimizerWeights(opt), before);
      expect(opt.iterations).toBe(1);
    }
  });
});

describe('model.save(…, { includeOptimizer: true }) and tf.loadLayersModel', () => {
  it('restore the optimizer and training continues bit for bit (schedule, exclusions with "_", per-variable steps, amsgrad)', async () => {
    await init();
    await useBackend('cpu');
    const { xs, ys } = data(128);
    const model = mlp('sv', { norm: true });
    model.layers[0]!.trainable = false; // joins later: per-variable step counts
    const opt = adamw({
      learningRate: 1e-2, weightDecay: 0.1, amsgrad: true, excludeFromWeightDecay: ['bias', /layer_norm/],
      schedule: schedules.sequence([{ schedule: schedules.linearWarmup({ steps: 4 }), steps: 4 }, { schedule: schedules.cosineWarmRestarts({ t0: 6 }) }]),
    });
    model.compile({ optimizer: opt, loss: 'meanSquaredError' });
    await model.fit(xs, ys, { epochs: 1, batchSize: 32, shuffle: false, verbose: 0 });
    model.layers[0]!.trainable = true;
    model.compile({ optimizer: opt, loss: 'meanSquaredError' });
    await model.fit(xs, ys, { epochs: 1, batchSize: 32, shuffle: false, verbose: 0 });

    const loaded = await saveAndLoad(model);
    const restored = loaded.optimizer as AdamWOptimizer;
    expect(restored).toBeInstanceOf(AdamWOptimizer);
    expect(restored.getConfig()).toEqual(opt.getConfig());
    expect(restored.iterations).toBe(8);
    // Same process: tfjs-layers renamed the loaded variables (sv_hidden/kernel → sv_hidden/kernel_1).
    expect(loaded.weights[0]!.name).toBe('sv_hidden/kernel_1');
    await model.fit(xs, ys, { epochs: 2, batchSize: 32, shuffle: false, verbose: 0 });
    await loaded.fit(xs, ys, { epochs: 2, batchSize: 32, shuffle: false, verbose: 0 });
    sameBits(weightsOf(model), weightsOf(loaded));
    const theirs = await optimizerWeights(restored);
    const ours = await optimizerWeights(opt);
    sameBits(ours, new Map([...theirs].map(([name, v]) => [name.replace(/_1(?=\/)/, ''), v])));
    expect(ours.get('sv_hidden/kernel/step')).toEqual(Float32Array.of(12));
    tf.dispose([xs, ys]);
  });

  it('sgd: the same through the momentum layout', async () => {
    await init();
    await useBackend('cpu');
    const { xs, ys } = data(64);
    const model = mlp('sg');
    model.compile({ optimizer: sgd({ learningRate: 0.05, momentum: 0.9, useNesterov: true }), loss: 'meanSquaredError' });
    await model.fit(xs, ys, { epochs: 1, batchSize: 16, shuffle: false, verbose: 0 });
    const loaded = await saveAndLoad(model);
    expect(loaded.optimizer).toBeInstanceOf(SGDOptimizer);
    await model.fit(xs, ys, { epochs: 1, batchSize: 16, shuffle: false, verbose: 0 });
    await loaded.fit(xs, ys, { epochs: 1, batchSize: 16, shuffle: false, verbose: 0 });
    sameBits(weightsOf(model), weightsOf(loaded));
    tf.dispose([xs, ys]);
  });
});

describe('matching saved state to variables by name', () => {
  it("exactly, else without tfjs-layers' _<n> suffix (either side) when one candidate shares the base; ambiguity is an error", () => {
    expect(matchName('t', 'd/kernel', ['d/kernel_1', 'd/kernel'])).toBe('d/kernel');
    expect(matchName('t', 'd/kernel_1', ['d/bias', 'd/kernel'])).toBe('d/kernel');
    expect(matchName('t', 'd/kernel', ['d/bias_2', 'd/kernel_2'])).toBe('d/kernel_2');
    expect(matchName('t', 'd/kernel', ['d/bias'])).toBeUndefined();
    expect(() => matchName('t', 'd/kernel', ['d/kernel_1', 'd/kernel_2'])).toThrow(/t: variable "d\/kernel" could be the state saved as "d\/kernel_1" or "d\/kernel_2"/);
  });
});
