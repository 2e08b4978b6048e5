// One tfjs backend in this worker: cpu, or wasm with its .wasm files read from the package and
// one thread (like every other row). Shared by the step peer's worker and the fit scenario's.
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

export type Tf = typeof import('@tensorflow/tfjs-core');
export type TfjsBackendName = 'cpu' | 'wasm';

export interface TfjsBackendInfo {
  readonly version: string;
  readonly simd: boolean | null;
  readonly multithread: boolean;
}

export async function useTfjsBackend(tf: Tf, backend: TfjsBackendName): Promise<TfjsBackendInfo> {
  if (backend === 'cpu') {
    await import('@tensorflow/tfjs-backend-cpu');
  } else {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // The .wasm files ship in the package; a directory path with a trailing slash makes the
    // Emscripten loader read them with fs in Node.
    const require = createRequire(import.meta.url);
    wasm.setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))}/`);
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  }
  if (!(await tf.setBackend(backend)) || tf.getBackend() !== backend) {
    throw new Error(`tf.setBackend('${backend}') failed (active backend: ${tf.getBackend()})`);
  }
  await tf.ready();
  if (backend === 'wasm' && tf.backend().constructor.name !== 'BackendWasm') {
    throw new Error(`expected the wasm backend to execute, got ${tf.backend().constructor.name}`);
  }
  return {
    version: tf.version_core,
    simd: backend === 'wasm' ? Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) : null,
    multithread: backend === 'wasm' ? Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) : false,
  };
}
