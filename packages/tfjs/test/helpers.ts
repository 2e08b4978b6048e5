/** Shared by the adapter's tests: tfjs backends, a small model and its data, bit-level comparisons. */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';

export { tf, tfl };

/** tfjs backends the adapter is tested on in Node. */
export const TFJS_BACKENDS = ['cpu', 'wasm'] as const;
export type TfjsBackend = (typeof TFJS_BACKENDS)[number];

let wasmLoaded = false;

/** Makes `name` tfjs's backend (loading tfjs-backend-wasm and its .wasm files from the package the first time). */
export async function useBackend(name: TfjsBackend): Promise<void> {
  if (name === 'wasm' && !wasmLoaded) {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const require = createRequire(import.meta.url);
    wasm.setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))}/`);
    wasmLoaded = true;
  }
  if (!(await tf.setBackend(name)) || tf.getBackend() !== name) throw new Error(`tf.setBackend('${name}') failed`);
}

/** A two-layer MLP with seeded initial weights, so that two builds start identical; `prefix` keeps layer names apart. */
export function mlp(prefix: string, options: { inputs?: number; hidden?: number; outputs?: number; norm?: boolean } = {}): tfl.Sequential {
  const { inputs = 16, hidden = 32, outputs = 4, norm = false } = options;
  const layers: tfl.layers.Layer[] = [
    tfl.layers.dense({ name: `${prefix}_hidden`, units: hidden, inputShape: [inputs], activation: 'tanh', kernelInitializer: tfl.initializers.glorotUniform({ seed: 7 }) }),
  ];
  if (norm) layers.push(tfl.layers.layerNormalization({ name: `${prefix}_layer_norm` }));
  layers.push(tfl.layers.dense({ name: `${prefix}_out`, units: outputs, kernelInitializer: tfl.initializers.glorotUniform({ seed: 8 }) }));
  return tfl.sequential({ layers });
}

/** Seeded inputs and targets: `samples` rows. */
export function data(samples: number, inputs = 16, outputs = 4): { xs: tf.Tensor; ys: tf.Tensor } {
  return { xs: tf.randomNormal([samples, inputs], 0, 1, 'float32', 1), ys: tf.randomNormal([samples, outputs], 0, 1, 'float32', 2) };
}

/** Every weight of `model` (copies), by its original name. */
export function weightsOf(model: tfl.LayersModel): Map<string, Float32Array> {
  return new Map(model.weights.map((w) => [w.originalName, Float32Array.from(w.read().dataSync() as Float32Array)]));
}

/** Bit patterns of a Float32Array, for exact comparison (NaN payloads and -0 included). */
export const bits = (a: Float32Array): Uint32Array => new Uint32Array(Float32Array.from(a).buffer);

/** The values of the weights an optimizer reports (name → copy), awaiting them as tfjs does. */
export async function optimizerWeights(opt: { getWeights(): Promise<{ name: string; tensor: tf.Tensor }[]> }): Promise<Map<string, Float32Array>> {
  const list = await opt.getWeights();
  return new Map(list.map((w) => [w.name, Float32Array.from(w.tensor.dataSync() as Float32Array)]));
}

/** Every step's gradients, by variable name (copies). */
export type Recorded = Map<string, Float32Array>[];

/** Wraps `opt.applyGradients` to keep a copy of every gradient it receives, for replaying into adamw-wasm. */
export function record(opt: { applyGradients(g: tf.NamedTensorMap | { name: string; tensor: tf.Tensor }[]): void }): Recorded {
  const steps: Recorded = [];
  const apply = opt.applyGradients.bind(opt);
  opt.applyGradients = (given) => {
    const entries = Array.isArray(given) ? given.map((g) => [g.name, g.tensor] as const) : Object.entries(given);
    steps.push(new Map(entries.filter(([, g]) => g != null).map(([name, g]) => [name, Float32Array.from(g!.dataSync() as Float32Array)])));
    apply(given);
  };
  return steps;
}
