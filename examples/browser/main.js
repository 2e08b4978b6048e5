// The demo: train the MLP of model.js with adamw-wasm, draw the loss curve and the decision
// boundary, then time one AdamW step at 1M parameters on each backend.
//
// Query parameters: ?backend=auto|wasm-simd|wasm|js (training backend, default auto),
// &steps=N (default 600), &threads=N (also time a threaded step, when the package has threads).
// When done, `window.demo` resolves to a summary (the browser test reads it).
import { AdamW, isBackendAvailable } from 'adamw-wasm';
import { Mlp, spirals } from './model.js';

const q = new URLSearchParams(location.search);
const backend = q.get('backend') ?? 'auto';
const steps = Number(q.get('steps') ?? 600);
const threads = q.has('threads') ? Number(q.get('threads')) : 2;
const $ = (id) => document.getElementById(id);

const data = spirals(150);
const model = new Mlp([2, 24, 24, 1]);
const losses = [];

/** Whether this build of adamw-wasm has worker threads (`threads` option, `stepAsync()`). */
async function hasThreads() {
  const probe = await AdamW.create([{ size: 1 }]);
  const yes = probe.threads !== undefined && typeof probe.stepAsync === 'function';
  probe.dispose();
  return yes;
}
// One thread unless asked (set before training): with worker threads, a browser main thread
// must `await opt.stepAsync()` instead of calling `step()`.
let single = {};

async function train() {
  const opt = await AdamW.create([{ init: model.init(1) }], { lr: 0.02, weightDecay: 1e-4, backend, ...single });
  $('backend').textContent = opt.backend;
  const { params, grads } = opt.groups[0]; // the model's weights and gradients, in place
  let last = { loss: NaN, accuracy: 0 };
  let stepMs = 0;
  for (let s = 0; s < steps; ) {
    const t0 = performance.now();
    for (let k = 0; k < 20 && s < steps; k++, s++) {
      last = model.lossAndGrad(params, grads, data);
      losses.push(last.loss);
      const t1 = performance.now();
      opt.step();
      stepMs += performance.now() - t1;
    }
    drawLoss();
    if (s % 100 === 0 || s === steps) drawBoundary(params);
    $('train-status').textContent = `step ${s} / ${steps} · accuracy ${(100 * last.accuracy).toFixed(1)}% · ${(performance.now() - t0).toFixed(0)} ms for the last 20 steps`;
    await new Promise((r) => setTimeout(r, 0)); // let the page paint
  }
  const final = model.lossAndGrad(params, grads, data);
  $('loss-status').textContent = `loss ${losses[0].toFixed(3)} → ${final.loss.toFixed(4)} after ${steps} steps; ${model.paramCount} parameters, ${((1000 * stepMs) / steps).toFixed(1)} µs per opt.step()`;
  const result = { backend: opt.backend, params: model.paramCount, steps, firstLoss: losses[0], finalLoss: final.loss, accuracy: final.accuracy };
  opt.dispose();
  return result;
}

/** Median over blocks of the mean time of one step (blocks: browsers coarsen the clock). */
async function timeStep(options, size = 1 << 20) {
  const opt = await AdamW.create([{ size }], { lr: 1e-3, ...options });
  try {
    const { params, grads } = opt.groups[0];
    for (let i = 0; i < size; i++) {
      params[i] = ((i % 97) - 48) / 64;
      grads[i] = ((i % 31) - 15) / 128;
    }
    const step = (opt.threads ?? 1) > 1 ? () => opt.stepAsync() : async () => opt.step();
    for (let i = 0; i < 3; i++) await step();
    const n = opt.backend === 'js' ? 4 : 16;
    const means = [];
    for (let b = 0; b < 5; b++) {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await step();
      means.push((performance.now() - t0) / n);
    }
    means.sort((a, b) => a - b);
    return { backend: opt.backend, threads: opt.threads, ms: means[2], nsPerParam: (means[2] * 1e6) / size };
  } finally {
    opt.dispose();
  }
}

async function benchmark() {
  const rows = [];
  const body = $('timings');
  body.innerHTML = '';
  const render = () => {
    const worst = Math.max(...rows.map((r) => r.ms));
    body.innerHTML = rows
      .map((r) => `<tr><td>${r.label}</td><td class="num">${r.ms.toFixed(2)}</td><td class="num">${r.nsPerParam.toFixed(2)}</td><td><div class="bar" style="width:${(100 * r.ms) / worst}%"></div></td></tr>`)
      .join('');
  };
  for (const b of ['wasm-simd', 'wasm', 'js']) {
    if (!isBackendAvailable(b)) {
      rows.push({ label: `${b} (not available here)`, backend: b, ms: 0, nsPerParam: 0 });
      continue;
    }
    rows.push({ label: b, ...(await timeStep({ backend: b, ...single })) });
    render();
    await new Promise((r) => setTimeout(r, 0));
  }
  let note = 'single-threaded';
  if (single.threads) {
    if (crossOriginIsolated) {
      const r = await timeStep({ backend: 'wasm-simd', threads });
      rows.push({ label: `${r.backend}, ${r.threads} threads (stepAsync)`, ...r });
      note = `threads: ${r.threads}`;
    } else {
      note = 'threads need a cross-origin-isolated page (COOP/COEP headers)';
    }
  }
  render();
  $('env').textContent = `${navigator.userAgent} · crossOriginIsolated: ${crossOriginIsolated} · ${note}`;
  return rows;
}

// ------------------------------------------------------------------ drawing

function drawLoss() {
  const c = $('loss');
  const g = c.getContext('2d');
  const { width: w, height: h } = c;
  const pad = 34;
  g.clearRect(0, 0, w, h);
  g.strokeStyle = '#d5dae0';
  g.fillStyle = '#4a5562';
  g.font = '11px system-ui, sans-serif';
  // log-scale y axis from 1e-3 to 1
  const y = (v) => pad / 2 + ((h - pad - pad / 2) * -Math.log10(Math.max(v, 1e-3))) / 3;
  for (const v of [1, 0.1, 0.01, 0.001]) {
    g.beginPath();
    g.moveTo(pad, y(v));
    g.lineTo(w - 6, y(v));
    g.stroke();
    g.fillText(String(v), 2, y(v) + 4);
  }
  g.fillText(`${steps} steps`, w - 60, h - 8);
  g.strokeStyle = '#3b82f6';
  g.lineWidth = 2;
  g.beginPath();
  losses.forEach((v, i) => {
    const x = pad + ((w - pad - 6) * i) / Math.max(1, steps - 1);
    if (i === 0) g.moveTo(x, y(v));
    else g.lineTo(x, y(v));
  });
  g.stroke();
  g.lineWidth = 1;
}

function drawBoundary(params) {
  const c = $('boundary');
  const g = c.getContext('2d');
  const { width: w, height: h } = c;
  const cells = 80;
  const img = g.createImageData(cells, cells);
  for (let j = 0; j < cells; j++) {
    for (let i = 0; i < cells; i++) {
      const p = model.predict(params, -1.1 + (2.2 * (i + 0.5)) / cells, 1.1 - (2.2 * (j + 0.5)) / cells);
      const k = 4 * (j * cells + i);
      img.data[k] = 255 - 70 * p;
      img.data[k + 1] = 225 - 40 * Math.abs(p - 0.5);
      img.data[k + 2] = 185 + 70 * p;
      img.data[k + 3] = 255;
    }
  }
  const off = new OffscreenCanvas(cells, cells);
  off.getContext('2d').putImageData(img, 0, 0);
  g.imageSmoothingEnabled = true;
  g.drawImage(off, 0, 0, w, h);
  for (let k = 0; k < data.count; k++) {
    const px = ((data.x[2 * k] + 1.1) / 2.2) * w;
    const py = ((1.1 - data.x[2 * k + 1]) / 2.2) * h;
    g.fillStyle = data.y[k] === 1 ? '#1d4ed8' : '#c2410c';
    g.beginPath();
    g.arc(px, py, 3, 0, 2 * Math.PI);
    g.fill();
  }
}

// ------------------------------------------------------------------ run

window.demo = (async () => {
  if (await hasThreads()) single = { threads: 1 };
  const training = await train();
  const timings = await benchmark();
  document.body.dataset.state = 'done';
  return { ...training, timings, crossOriginIsolated, userAgent: navigator.userAgent };
})().catch((err) => {
  document.body.dataset.state = 'failed';
  $('train-status').textContent = `failed: ${err?.stack ?? err}`;
  return { error: String(err?.stack ?? err) };
});
