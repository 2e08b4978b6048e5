/**
 * The numerics smoke test every runtime runs against the installed tarball: replay ONE
 * PyTorch golden trajectory (test/fixtures/torch-nofma/adamw-default, no FMA) through the
 * public API and require every checkpoint to match bit for bit, on every backend.
 *
 * Plain ES2022 with no imports, so Node (ESM and, through import(), CommonJS), Deno and the
 * browser load this same file. Each runtime reads the fixture its own way and passes
 * `{ manifest, data }` (the .json parsed, the .bin as a Float32Array). The package itself is
 * passed in as a module namespace (`import * as pkg from 'adamw-wasm'` or `require(...)`).
 *
 * Threads: `runSmoke(..., { threads: 2 })` adds a threaded variant that steps with
 * `await opt.stepAsync()`; a build without `opt.threads` fails it.
 */

// ------------------------------------------------------------ inputs (test/fixtures/README.md)

/** Counter-based hash, arithmetic mod 2^32 (the twin of generate.py's hash32). */
export function hash32(seed, stream, t, i) {
  let x =
    (Math.imul(seed, 0x9e3779b1) + Math.imul(stream, 0x85ebca77) + Math.imul(t, 0xc2b2ae3d) + Math.imul(i, 0x27d4eb2f)) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** In [-1, 1), exactly representable in float32. */
export const uniform = (seed, stream, t, i) => (hash32(seed, stream, t, i) >>> 8) * 2 ** -24 * 2 - 1;

const SCALES = Float32Array.from([1, 1e-3, 30, 1e-6, 0, 0.1, 3]);

/** init[i] = f32(f32(uniform(seed, 0, 0, i)) * f32(initScale)). */
export function initParams({ size, seed, initScale }) {
  const out = new Float32Array(size);
  const scale = Math.fround(initScale);
  for (let i = 0; i < size; i++) out[i] = Math.fround(Math.fround(uniform(seed, 0, 0, i)) * scale);
  return out;
}

/** g_t[i] = f32(f32(0.5 + uniform(seed, 1, t, i)) * SCALES[i % 7]), t = 1..steps. */
export function fillGradient({ size, seed }, t, out) {
  for (let i = 0; i < size; i++) out[i] = Math.fround(Math.fround(0.5 + uniform(seed, 1, t, i)) * SCALES[i % 7]);
}

// ------------------------------------------------------------ checks

class SmokeError extends Error {}

function assert(cond, message) {
  if (!cond) throw new SmokeError(message);
}

/** Bitwise comparison (so -0 ≠ +0 and NaN payloads count); throws on the first difference. */
function expectBits(what, actual, expected) {
  assert(actual instanceof Float32Array, `${what}: not a Float32Array`);
  assert(actual.length === expected.length, `${what}: length ${actual.length}, expected ${expected.length}`);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== e[i]) {
      let count = 0;
      for (let j = i; j < a.length; j++) if (a[j] !== e[j]) count++;
      throw new SmokeError(`${what}[${i}] = ${actual[i]}, PyTorch: ${expected[i]} (${count} of ${a.length} elements differ)`);
    }
  }
}

/** Whether the built package has the thread feature (`opt.threads`, `opt.stepAsync`). */
export async function detectThreads(pkg) {
  const probe = await pkg.AdamW.create([{ size: 1 }]);
  try {
    return probe.threads !== undefined && typeof probe.stepAsync === 'function';
  } finally {
    probe.dispose();
  }
}

/**
 * Replays the fixture. `backend`: what to ask for ('auto' by default); `threads`: a number to
 * step with `stepAsync()` on that many threads (only call this when detectThreads() is true).
 * Returns what ran and how much was compared.
 */
export async function replay(pkg, { manifest, data }, { backend = 'auto', threads, sync = false } = {}) {
  const ref = ([offset, length]) => data.subarray(offset, offset + length);
  const options = { ...manifest.options, backend };
  if (threads !== undefined) options.threads = threads;
  const groups = manifest.groups.map((g) => ({ init: initParams(g), ...g.overrides }));
  // `sync`: one `await init()`, then the synchronous constructor (workers join as they boot).
  const Optimizer = pkg[manifest.optimizer];
  const opt = sync ? (await pkg.init(), new Optimizer(groups, options)) : await Optimizer.create(groups, options);
  let arrays = 0;
  try {
    const byStep = new Map(manifest.checkpoints.map((c) => [c.step, c]));
    const check = (step) => {
      const cp = byStep.get(step);
      if (!cp) return;
      cp.groups.forEach((g, k) => {
        const group = opt.groups[k];
        expectBits(`step ${step} groups[${k}].params`, group.params, ref(g.params));
        arrays++;
        for (const name of ['expAvg', 'expAvgSq', 'maxExpAvgSq']) {
          if (!g[name]) continue;
          expectBits(`step ${step} groups[${k}].state.${name}`, group.state[name], ref(g[name]));
          arrays++;
        }
      });
    };
    check(0); // the copied generator reproduces torch's initial parameters
    for (let t = 1; t <= manifest.steps; t++) {
      manifest.groups.forEach((g, k) => fillGradient(g, t, opt.groups[k].grads));
      if (threads !== undefined || (opt.threads ?? 1) > 1) await opt.stepAsync();
      else opt.step();
      check(t);
    }
    assert(opt.stepCount === manifest.steps, `stepCount ${opt.stepCount}, expected ${manifest.steps}`);
    return { backend: opt.backend, threads: opt.threads, steps: manifest.steps, arrays };
  } finally {
    opt.dispose();
  }
}

/**
 * Median time of one step at `size` parameters (default 1M = 2^20), from `blocks` blocks of
 * `perBlock` steps each (blocks, not single steps: browsers coarsen performance.now()).
 * `threads`: passed through (give 1 for a single-threaded time in a build with threads, whose
 * 'auto' may use workers at this size); threaded optimizers step with stepAsync().
 */
export async function timeStep(pkg, { backend, threads, size = 1 << 20, blocks = 5, perBlock } = {}) {
  const options = { backend, lr: 1e-3 };
  if (threads !== undefined) options.threads = threads;
  const opt = await pkg.AdamW.create([{ size }], options);
  try {
    const { params, grads } = opt.groups[0];
    for (let i = 0; i < size; i++) {
      params[i] = ((i % 97) - 48) / 64;
      grads[i] = ((i % 31) - 15) / 128;
    }
    const step = (opt.threads ?? 1) > 1 ? () => opt.stepAsync() : async () => opt.step();
    for (let i = 0; i < 3; i++) await step();
    const n = perBlock ?? (opt.backend === 'js' ? 4 : 16);
    const means = [];
    for (let b = 0; b < blocks; b++) {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await step();
      means.push((performance.now() - t0) / n);
    }
    means.sort((x, y) => x - y);
    return { backend: opt.backend, threads: opt.threads, size, ms: means[means.length >> 1] };
  } finally {
    opt.dispose();
  }
}

/**
 * The whole smoke test of one runtime: the fixture with `backend` ('auto' by default, which
 * must pick `expectBackend`), then each of `forced` ('wasm' and 'js' by default: a runtime
 * without SIMD, or without wasm), then with `threads` (on `backend`) when requested and the
 * build has threads; optionally (`timing`) the step time at 1M params per backend.
 * Throws on any failure; returns a JSON-able report.
 */
export async function runSmoke(pkg, fixture, { runtime, backend = 'auto', expectBackend = backend === 'auto' ? 'wasm-simd' : backend, forced = ['wasm', 'js'], threads, timing = false, log = () => {} } = {}) {
  const report = { runtime, ok: false, fixture: fixture.manifest.name, runs: [], timings: [], notes: [] };
  assert(typeof pkg.AdamW?.create === 'function', 'the package does not export AdamW');
  const first = await replay(pkg, fixture, { backend });
  assert(first.backend === expectBackend, `backend '${backend}' ran '${first.backend}', expected '${expectBackend}'`);
  report.runs.push({ asked: backend, ...first });
  log(`${backend} -> ${first.backend}: ${first.steps} steps, ${first.arrays} arrays bit-identical to PyTorch`);
  const built = await replay(pkg, fixture, { backend, sync: true });
  assert(built.backend === expectBackend, `init() + new with backend '${backend}' ran '${built.backend}'`);
  report.runs.push({ asked: `${backend}, init() + new`, ...built });
  log(`init() + new, ${backend}: ${built.steps} steps, ${built.arrays} arrays bit-identical to PyTorch`);
  for (const b of forced) {
    const r = await replay(pkg, fixture, { backend: b });
    assert(r.backend === b, `backend '${b}' ran '${r.backend}'`);
    report.runs.push({ asked: b, ...r });
    log(`${b}: ${r.steps} steps, ${r.arrays} arrays bit-identical to PyTorch`);
  }
  const hasThreads = await detectThreads(pkg);
  let threaded = false;
  if (threads !== undefined) {
    // The package has threads now: a build without them is a failure, not a skip.
    assert(hasThreads, 'threads: the built package has no opt.threads/stepAsync');
    const r = await replay(pkg, fixture, { backend, threads });
    assert(r.threads === threads, `asked for threads: ${threads}, opt.threads is ${r.threads}`);
    report.runs.push({ asked: `${backend}, threads: ${threads}`, threaded: true, ...r });
    log(`threads: ${threads} (opt.threads = ${r.threads}), stepAsync(): ${r.steps} steps, ${r.arrays} arrays bit-identical to PyTorch`);
    const s = await replay(pkg, fixture, { backend, threads, sync: true });
    assert(s.threads === threads, `init() + new with threads: ${threads}: opt.threads is ${s.threads}`);
    report.runs.push({ asked: `${backend}, threads: ${threads}, init() + new`, threaded: true, ...s });
    log(`threads: ${threads}, init() + new: ${s.steps} steps, ${s.arrays} arrays bit-identical to PyTorch`);
    threaded = true;
  }
  if (timing) {
    const single = hasThreads ? 1 : undefined; // 'auto' could use workers at 1M params
    for (const b of [expectBackend, ...forced]) report.timings.push(await timeStep(pkg, { backend: b, threads: single }));
    if (threaded) report.timings.push(await timeStep(pkg, { backend: expectBackend, threads }));
    for (const t of report.timings) log(`step at ${t.size} params: ${t.backend}${t.threads > 1 ? ` x${t.threads}` : ''} ${t.ms.toFixed(3)} ms`);
  }
  report.ok = true;
  return report;
}
