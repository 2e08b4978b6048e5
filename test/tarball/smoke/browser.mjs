// Browser consumer (smoke.html). Query: ?backend=auto|wasm-simd|wasm|js (default auto, which
// must pick wasm-simd), &threads=N for the threaded variant (cross-origin-isolated pages),
// &timing=1 for step times at 1M params. The result is window.smokeResult (a promise).
import * as pkg from 'adamw-wasm';
import { runSmoke } from './core.mjs';

const q = new URLSearchParams(location.search);
const backend = q.get('backend') ?? 'auto';
const threads = q.has('threads') ? Number(q.get('threads')) : undefined;
const out = document.getElementById('log');
const lines = [];
const log = (line) => {
  lines.push(line);
  out.textContent = lines.join('\n');
};

/**
 * A page's main thread may not block: 'auto' must stay single-threaded even for a large model
 * (so existing step() code keeps working when a site turns on COOP/COEP), and an explicit
 * thread count must refuse step() with a pointer to stepAsync().
 */
async function checkMainThread() {
  const big = await pkg.AdamW.create([{ size: 1 << 20 }]);
  if (big.threads !== 1) throw new Error(`'auto' picked ${big.threads} threads on a page's main thread`);
  big.step();
  big.dispose();
  if (!crossOriginIsolated) return;
  const threaded = await pkg.AdamW.create([{ size: 1 << 20 }], { threads: 2 });
  let message = '';
  try {
    threaded.step();
  } catch (error) {
    message = String(error?.message ?? error);
  }
  if (!/use await opt\.stepAsync\(\)/.test(message)) {
    throw new Error(`step() with threads on the main thread should point to stepAsync(), got: "${message}"`);
  }
  if ((await threaded.stepAsync()).skipped !== false) throw new Error('stepAsync() did not step');
  threaded.dispose();
  log("main thread: 'auto' stays at 1 thread for 1M params; with threads: 2, step() refuses and points to stepAsync()");
}

async function main() {
  const [manifest, bin] = await Promise.all([
    fetch('/fixture/adamw-default.json').then((r) => r.json()),
    fetch('/fixture/adamw-default.bin').then((r) => r.arrayBuffer()),
  ]);
  const report = await runSmoke(pkg, { manifest, data: new Float32Array(bin) }, {
    runtime: `browser (${crossOriginIsolated ? 'cross-origin isolated' : 'plain'}, backend ${backend})`,
    backend, // 'auto' must pick wasm-simd; a forced backend must run as asked
    forced: [], // each backend is its own page load (?backend=wasm, ?backend=js)
    threads,
    timing: q.get('timing') === '1',
    log,
  });
  report.crossOriginIsolated = crossOriginIsolated;
  report.userAgent = navigator.userAgent;
  await checkMainThread();
  log('PASS');
  return report;
}

window.smokeResult = main().catch((err) => {
  log(`FAIL: ${err?.stack ?? err}`);
  return { ok: false, error: String(err?.message ?? err) };
});
