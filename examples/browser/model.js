// A tiny multilayer perceptron with hand-written gradients, and a 2-D toy data set (two
// interleaved spirals). No dependencies: the parameters live in whatever Float32Array the
// caller passes (here, adamw-wasm's zero-copy `params` view), and the gradients are written
// into another (its `grads` view), so the optimizer steps the model in place.

/** Deterministic PRNG (mulberry32). */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Two interleaved spirals, `n` points each, in about [-1, 1]²; labels 0 and 1. */
export function spirals(n, { turns = 1.25, noise = 0.04, seed = 7 } = {}) {
  const rand = rng(seed);
  const x = new Float32Array(4 * n);
  const y = new Float32Array(2 * n);
  for (let c = 0; c < 2; c++) {
    for (let i = 0; i < n; i++) {
      const k = c * n + i;
      const r = 0.08 + (0.92 * i) / n;
      const a = 2 * Math.PI * turns * (i / n) + c * Math.PI;
      x[2 * k] = r * Math.cos(a) + noise * (rand() * 2 - 1);
      x[2 * k + 1] = r * Math.sin(a) + noise * (rand() * 2 - 1);
      y[k] = c;
    }
  }
  return { x, y, count: 2 * n };
}

/**
 * Fully connected network sizes[0] → … → sizes[last] (= 1 logit), tanh hidden layers,
 * sigmoid output, mean binary cross-entropy. Parameters, per layer: W (out × in, row-major)
 * then b (out).
 */
export class Mlp {
  constructor(sizes) {
    this.sizes = sizes;
    this.layers = [];
    let offset = 0;
    for (let l = 0; l + 1 < sizes.length; l++) {
      const inputs = sizes[l];
      const outputs = sizes[l + 1];
      this.layers.push({ inputs, outputs, w: offset, b: offset + inputs * outputs });
      offset += inputs * outputs + outputs;
    }
    this.paramCount = offset;
    this.acts = sizes.map((s) => new Float64Array(s)); // activations of one sample
    this.deltas = sizes.map((s) => new Float64Array(s));
  }

  /** Glorot-uniform weights, zero biases. */
  init(seed = 1) {
    const rand = rng(seed);
    const p = new Float32Array(this.paramCount);
    for (const { inputs, outputs, w } of this.layers) {
      const limit = Math.sqrt(6 / (inputs + outputs));
      for (let i = 0; i < inputs * outputs; i++) p[w + i] = (rand() * 2 - 1) * limit;
    }
    return p;
  }

  /** The output logit for one input (leaves the activations in this.acts). */
  forward(params, x0, x1) {
    const { acts, layers } = this;
    acts[0][0] = x0;
    acts[0][1] = x1;
    for (let l = 0; l < layers.length; l++) {
      const { inputs, outputs, w, b } = layers[l];
      const a = acts[l];
      const z = acts[l + 1];
      const last = l === layers.length - 1;
      for (let o = 0; o < outputs; o++) {
        let s = params[b + o];
        const row = w + o * inputs;
        for (let i = 0; i < inputs; i++) s += params[row + i] * a[i];
        z[o] = last ? s : Math.tanh(s);
      }
    }
    return acts[layers.length][0];
  }

  /** Probability of class 1. */
  predict(params, x0, x1) {
    return 1 / (1 + Math.exp(-this.forward(params, x0, x1)));
  }

  /**
   * Mean binary cross-entropy over the data set; writes its gradient into `grads` (which is
   * overwritten). Returns { loss, accuracy }.
   */
  lossAndGrad(params, grads, { x, y, count }) {
    const { acts, deltas, layers } = this;
    grads.fill(0);
    const g = new Float64Array(this.paramCount); // accumulate in f64, store once
    let loss = 0;
    let correct = 0;
    const L = layers.length;
    for (let k = 0; k < count; k++) {
      const z = this.forward(params, x[2 * k], x[2 * k + 1]);
      const label = y[k];
      // BCE with logits: softplus(z) − y·z, stable for both signs of z
      loss += Math.max(z, 0) - z * label + Math.log1p(Math.exp(-Math.abs(z)));
      if (z > 0 === (label === 1)) correct++;
      deltas[L][0] = 1 / (1 + Math.exp(-z)) - label; // dLoss/dz
      for (let l = L - 1; l >= 0; l--) {
        const { inputs, outputs, w, b } = layers[l];
        const a = acts[l];
        const d = deltas[l + 1];
        const prev = deltas[l];
        if (l > 0) prev.fill(0);
        for (let o = 0; o < outputs; o++) {
          const dz = d[o];
          g[b + o] += dz;
          const row = w + o * inputs;
          for (let i = 0; i < inputs; i++) {
            g[row + i] += dz * a[i];
            if (l > 0) prev[i] += dz * params[row + i];
          }
        }
        if (l > 0) for (let i = 0; i < inputs; i++) prev[i] *= 1 - a[i] * a[i]; // tanh'
      }
    }
    for (let i = 0; i < g.length; i++) grads[i] = g[i] / count;
    return { loss: loss / count, accuracy: correct / count };
  }
}
