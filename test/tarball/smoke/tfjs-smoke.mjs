/**
 * The smoke test of adamw-wasm-tfjs (the TensorFlow.js adapter) against the installed tarballs:
 * on one tfjs backend, train a small tfjs-layers model with `model.fit` and `adamw(...)`, and
 * require that
 *   - the loss falls clearly (the last epoch's mean below half the first's);
 *   - `opt.iterations` counts the batches;
 *   - a further epoch leaves `tf.memory().numTensors` as it was (no tensor leaks per step);
 *   - `model.save(…, { includeOptimizer: true })` → `tf.loadLayersModel` restores the optimizer
 *     (the registered class, its step count) and one more epoch of both, unshuffled, ends with
 *     bit-identical model weights and optimizer state.
 *
 * Plain ES2022 with no imports, so Node (ESM and, through import(), CommonJS) and the Vite-built
 * page (test/tarball/tfjs-page) load this same file. Each consumer imports tfjs its own way and
 * passes the modules in: `{ tf, tfl, pkg }` = tfjs-core, tfjs-layers, adamw-wasm-tfjs. It must
 * have registered the tfjs backends it asks for and awaited `pkg.init()`.
 */

class SmokeError extends Error {}

function assert(cond, message) {
  if (!cond) throw new SmokeError(message);
}

const SAMPLES = 256;
const BATCH = 32;
const INPUTS = 8;
const HIDDEN = 16;

/** Seeded data (tfjs seeds must be > 0: 0 means unseeded): y = tanh(x·w) + 0.1·x₀², a smooth regression. */
function dataset(tf) {
  return tf.tidy(() => {
    const xs = tf.randomNormal([SAMPLES, INPUTS], 0, 1, 'float32', 11);
    const w = tf.randomNormal([INPUTS, 1], 0, 0.5, 'float32', 12);
    const x0 = tf.slice(xs, [0, 0], [SAMPLES, 1]);
    const ys = tf.add(tf.tanh(tf.matMul(xs, w)), tf.mul(tf.square(x0), 0.1));
    return { xs, ys };
  });
}

/** A two-layer MLP with seeded initial weights; `prefix` keeps layer names apart. */
function mlp(tfl, prefix) {
  return tfl.sequential({
    layers: [
      tfl.layers.dense({ name: `${prefix}_hidden`, units: HIDDEN, inputShape: [INPUTS], activation: 'tanh', kernelInitializer: tfl.initializers.glorotUniform({ seed: 7 }) }),
      tfl.layers.dense({ name: `${prefix}_out`, units: 1, kernelInitializer: tfl.initializers.glorotUniform({ seed: 8 }) }),
    ],
  });
}

/** Bitwise comparison of two lists of tensors (names may differ: tfjs-layers renames loaded variables `…_1`). */
function expectSameBits(what, a, b) {
  assert(a.length === b.length, `${what}: ${a.length} tensors vs ${b.length}`);
  a.forEach((t, k) => {
    const x = t.dataSync();
    const y = b[k].dataSync();
    assert(x.length === y.length, `${what}[${k}]: ${x.length} values vs ${y.length}`);
    const xb = new Uint32Array(Float32Array.from(x).buffer);
    const yb = new Uint32Array(Float32Array.from(y).buffer);
    const i = xb.findIndex((bits, j) => bits !== yb[j]);
    assert(i < 0, `${what}[${k}][${i}]: ${x[i]} vs ${y[i]} after save/load and one more epoch`);
  });
}

/** Saves `model` with its optimizer to memory and loads it back, the JSON parts through JSON text as a file would carry them. */
async function saveAndLoad(tf, tfl, model) {
  let saved;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
    { includeOptimizer: true },
  );
  assert(saved?.weightData && saved.trainingConfig?.optimizer_config, 'model.save wrote no weights or no optimizer configuration');
  const json = JSON.parse(JSON.stringify({ modelTopology: saved.modelTopology, trainingConfig: saved.trainingConfig, weightSpecs: saved.weightSpecs }));
  return { loaded: await tfl.loadLayersModel(tf.io.fromMemory({ ...json, weightData: saved.weightData })), className: saved.trainingConfig.optimizer_config.class_name };
}

/**
 * One tfjs backend: train, check, save, load, continue. `backend`: a registered tfjs backend
 * ('cpu', 'wasm'). Returns a JSON-able run: what trained, the losses, the optimizer's backend
 * and threads, and model.fit's time per batch (of the further epoch).
 */
export async function trainOnBackend({ tf, tfl, pkg }, { backend, epochs = 8, learningRate = 0.01, log = () => {} }) {
  assert(typeof pkg.adamw === 'function' && typeof pkg.init === 'function', 'adamw-wasm-tfjs does not export adamw and init');
  assert((await tf.setBackend(backend)) && tf.getBackend() === backend, `tf.setBackend('${backend}') failed`);
  await tf.ready();
  const { xs, ys } = dataset(tf);
  const model = mlp(tfl, `smoke_${backend}`);
  const opt = pkg.adamw({ learningRate, weightDecay: 0.01, excludeFromWeightDecay: ['bias'] });
  assert(opt instanceof tf.Optimizer && opt instanceof pkg.AdamWOptimizer, 'adamw() is not a tf.Optimizer (two copies of tfjs-core?)');
  model.compile({ optimizer: opt, loss: 'meanSquaredError' });
  const fit = (m, n) => m.fit(xs, ys, { epochs: n, batchSize: BATCH, shuffle: false, verbose: 0 });
  const perEpoch = Math.ceil(SAMPLES / BATCH);
  const losses = (await fit(model, epochs)).history.loss.map(Number);
  const [first, last] = [losses[0], losses[losses.length - 1]];
  assert(Number.isFinite(last) && last < 0.5 * first, `the loss did not fall clearly: ${losses.map((l) => l.toFixed(4)).join(' → ')}`);
  assert(opt.iterations === epochs * perEpoch, `opt.iterations is ${opt.iterations}, expected ${epochs * perEpoch} (batches)`);
  assert(opt.variableNames.length === model.weights.length, `the optimizer holds ${opt.variableNames.length} variables, the model has ${model.weights.length}`);
  log(`tfjs ${backend}: loss ${first.toFixed(4)} → ${last.toFixed(4)} in ${opt.iterations} steps of AdamW on ${opt.backend}`);

  const tensors = tf.memory().numTensors;
  const t0 = performance.now();
  await fit(model, 1);
  const msPerBatch = (performance.now() - t0) / perEpoch;
  assert(tf.memory().numTensors === tensors, `tf.memory().numTensors went from ${tensors} to ${tf.memory().numTensors} in one more epoch`);
  log(`tfjs ${backend}: one more epoch keeps ${tensors} tensors (${msPerBatch.toFixed(2)} ms per batch)`);

  const { loaded, className } = await saveAndLoad(tf, tfl, model);
  const restored = loaded.optimizer;
  assert(restored instanceof pkg.AdamWOptimizer, `the loaded model's optimizer is ${restored?.constructor?.name} (saved as ${className})`);
  assert(restored.iterations === opt.iterations, `the restored optimizer is at step ${restored.iterations}, expected ${opt.iterations}`);
  assert(JSON.stringify(restored.getConfig()) === JSON.stringify(opt.getConfig()), 'the restored configuration differs');
  await fit(model, 1);
  await fit(loaded, 1);
  expectSameBits('model weights', model.weights.map((w) => w.read()), loaded.weights.map((w) => w.read()));
  const [ours, theirs] = [await opt.getWeights(), await restored.getWeights()];
  expectSameBits('optimizer weights', ours.map((w) => w.tensor), theirs.map((w) => w.tensor));
  log(`tfjs ${backend}: saved as ${className}, loaded, one more epoch each: ${model.weights.length} weights and ${ours.length} optimizer tensors bit-identical`);

  const run = {
    tfjsBackend: backend,
    backend: opt.backend,
    threads: opt.threads,
    steps: epochs * perEpoch, // to lastLoss
    finalSteps: restored.iterations, // after the further epoch and the one after save/load
    firstLoss: first,
    lastLoss: last,
    tensors,
    weights: model.weights.length,
    optimizerWeights: ours.length,
    className,
    msPerBatch,
  };
  model.dispose();
  loaded.dispose();
  opt.dispose(); // a model never owns its optimizer
  restored.dispose();
  tf.dispose([xs, ys]);
  return run;
}

/** The whole smoke of one runtime: `backends` in turn. Throws on any failure; returns a JSON-able report. */
export async function runTfjsSmoke(modules, { runtime, backends = ['cpu', 'wasm'], log = () => {} } = {}) {
  const report = { runtime, ok: false, tfjs: modules.tf.version_core, runs: [], notes: [] };
  await modules.pkg.init();
  for (const backend of backends) report.runs.push(await trainOnBackend(modules, { backend, log }));
  report.ok = true;
  return report;
}
