// The tfjs page (index.html), bundled by Vite from the installed tarballs: trains a tfjs-layers
// model with adamw-wasm-tfjs's adamw() on the tfjs backends 'cpu' and 'wasm' (tfjs-backend-wasm's
// .wasm files are copied next to the built page), then checks threads on a page's main thread:
// tfjs steps synchronously and a page's main thread may not block, so `adamw({ threads: 2 })`
// must refuse at construction ("cannot run here") while 'auto' stays on one thread. The result is
// window.tfjsResult (a promise).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import * as pkg from 'adamw-wasm-tfjs';
import { runTfjsSmoke } from '../smoke/tfjs-smoke.mjs';

const out = document.getElementById('log');
const lines = [];
const log = (line) => {
  lines.push(line);
  out.textContent = lines.join('\n');
};

/** The message `adamw({ threads: 2 })` throws here ('' if it does not throw). */
function threadedRefusal() {
  try {
    pkg.adamw({ threads: 2 }).dispose();
    return '';
  } catch (error) {
    return String(error?.message ?? error);
  }
}

async function main() {
  setWasmPaths('./'); // relative to the page: the .wasm files sit beside index.html
  const report = await runTfjsSmoke({ tf, tfl, pkg }, {
    runtime: `browser (${crossOriginIsolated ? 'cross-origin isolated' : 'plain'})`,
    log,
  });
  report.crossOriginIsolated = crossOriginIsolated;
  report.notes.push(`tfjs-backend-wasm: SIMD ${await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')}, multithread ${await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')}, threads ${getThreadsCount()}`);
  report.registeredBackends = Object.keys(tf.engine().registryFactory);
  report.threadsRefusal = threadedRefusal();
  log(`adamw({ threads: 2 }) on the main thread: ${report.threadsRefusal || 'no error'}`);
  const single = report.runs.map((r) => r.threads);
  if (single.some((t) => t !== 1)) throw new Error(`'auto' ran ${single.join(', ')} threads on a page's main thread`);
  log('PASS');
  return report;
}

window.tfjsResult = main().catch((err) => {
  log(`FAIL: ${err?.stack ?? err}`);
  return { ok: false, error: String(err?.message ?? err) };
});
