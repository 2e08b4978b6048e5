/**
 * No leaked tensors: a step creates and frees its own, getWeights() reuses the optimizer's
 * variables, and dispose() frees them and the wasm memory, after which every call says so.
 */
import { describe, expect, it } from 'vitest';
import { init } from 'adamw-wasm';
import { adamw, AdamWOptimizer } from 'adamw-wasm-tfjs';
import { data, mlp, tf, tfl, useBackend, TFJS_BACKENDS } from './helpers.js';

describe('tensors', () => {
  it.each(TFJS_BACKENDS)('%s: tf.memory().numTensors is the same after 100 more steps of model.fit', async (backend) => {
    await init();
    await useBackend(backend);
    const { xs, ys } = data(200);
    const model = mlp(`leak_${backend}`);
    const opt = adamw({ learningRate: 1e-3, amsgrad: true });
    model.compile({ optimizer: opt, loss: 'meanSquaredError' });
    await model.fit(xs, ys, { epochs: 1, batchSize: 20, verbose: 0 });
    const before = tf.memory().numTensors;
    await model.fit(xs, ys, { epochs: 10, batchSize: 20, verbose: 0 });
    expect(opt.iterations).toBe(110);
    expect(tf.memory().numTensors).toBe(before);
    // applyGradients alone, with gradients the caller owns and disposes.
    const grads = model.weights.map((w) => ({ name: w.name, tensor: tf.onesLike(w.read()) }));
    const held = tf.memory().numTensors;
    for (let k = 0; k < 100; k++) opt.applyGradients(grads);
    expect(tf.memory().numTensors).toBe(held);
    tf.dispose(grads.map((g) => g.tensor));
    tf.dispose([xs, ys]);
  });

  it("getWeights() returns the optimizer's own variables, refreshed by each call; dispose() frees them and the memory", async () => {
    await init();
    await useBackend('cpu');
    const model = mlp('own');
    const opt = adamw();
    const grads = model.weights.map((w) => ({ name: w.name, tensor: tf.onesLike(w.read()) }));
    opt.applyGradients(grads);
    const first = await opt.getWeights();
    const withWeights = tf.memory().numTensors;
    expect(first).toHaveLength(1 + 2 * 4);
    for (let k = 0; k < 10; k++) await opt.getWeights();
    expect(tf.memory().numTensors).toBe(withWeights);
    const m = first[1]!.tensor;
    const was = Float32Array.from(m.dataSync() as Float32Array);
    opt.applyGradients(grads);
    const again = await opt.getWeights();
    expect(again[1]!.tensor).toBe(m); // the same variable, now holding the new state
    expect(Array.from(m.dataSync())).not.toEqual(Array.from(was));
    expect((again[0]!.tensor.dataSync() as Int32Array)[0]).toBe(2);
    opt.dispose();
    expect(tf.memory().numTensors).toBe(withWeights - first.length);
    expect(m.isDisposed).toBe(true);
    expect(() => opt.applyGradients(grads)).toThrow(/^AdamW\.applyGradients\(\) called after dispose\(\)/);
    await expect(opt.getWeights()).rejects.toThrow(/AdamW\.getWeights\(\) called after dispose\(\)/);
    expect(() => (opt.learningRate = 1)).toThrow(/called after dispose\(\)/);
    expect(() => opt.dispose()).not.toThrow();
  });

  it('a model never owns an optimizer object, even one it was loaded with (tfjs-layers compiles with it): dispose it yourself', async () => {
    await init();
    await useBackend('cpu');
    const { xs, ys } = data(32);
    const model = mlp('owned');
    model.compile({ optimizer: adamw(), loss: 'meanSquaredError' });
    await model.fit(xs, ys, { epochs: 1, batchSize: 16, verbose: 0 });
    let saved: tf.io.ModelArtifacts | undefined;
    await model.save(tf.io.withSaveHandler(async (a) => ((saved = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })), { includeOptimizer: true });
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(saved!));
    const opt = loaded.optimizer as AdamWOptimizer;
    await loaded.fit(xs, ys, { epochs: 1, batchSize: 16, verbose: 0 });
    loaded.dispose();
    expect(opt.iterations).toBe(4);
    await expect(opt.getWeights()).resolves.toHaveLength(1 + 2 * 4);
    opt.dispose();
    expect(() => opt.applyGradients({})).toThrow(/called after dispose\(\)/);
    tf.dispose([xs, ys]);
  });
});
