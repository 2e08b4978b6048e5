import type { Prepared, Runner } from '../types.js';
import { BANDWIDTH_MODULE_BASE64 } from './bandwidth-module.generated.js';
import type { Peer } from './peer.js';

/** Bytes one AdamW parameter moves (read θ g m v, write θ m v): the probes move as much. */
const BYTES = 28;
const PAGE = 65536;

interface StreamExports {
  stream(p: number, g: number, m: number, v: number, bytes: number): void;
}

let compiled: Promise<WebAssembly.Module> | undefined;
const probeModule = (): Promise<WebAssembly.Module> =>
  (compiled ??= WebAssembly.compile(Buffer.from(BANDWIDTH_MODULE_BASE64, 'base64')));

/**
 * stream: AdamW's access pattern over four arrays of `size` f32 (θ += g, m += g, v += g as
 * 16-byte integer lanes) in a wasm memory, as our kernel sees memory: 28 bytes/param, 64-byte
 * aligned, nothing else to compute. This is the limit the "% bw" column is relative to.
 */
async function streamRunner(size: number): Promise<Runner> {
  const n = Math.ceil(size / 8) * 8; // whole 32-byte blocks
  const bytes = n * 4;
  const memory = new WebAssembly.Memory({ initial: Math.ceil((4 * bytes) / PAGE) + 1, maximum: 65536 });
  const instance = await WebAssembly.instantiate(await probeModule(), { env: { memory } });
  const { stream } = instance.exports as unknown as StreamExports;
  const all = new Int32Array(memory.buffer, 0, 4 * n);
  for (let i = 0; i < all.length; i++) all[i] = i & 0xff; // touch every page before timing
  return {
    key: { backend: 'bandwidth', threads: 1, variant: 'stream' },
    size: n,
    bytesPerParam: BYTES,
    run(steps) {
      const t0 = performance.now();
      for (let s = 0; s < steps; s++) stream(0, bytes, 2 * bytes, 3 * bytes, bytes);
      return performance.now() - t0;
    },
    dispose() {},
  };
}

/** copy: TypedArray.set (memmove) of 14 bytes/param between two buffers; read + write counted. */
function copyRunner(size: number): Runner {
  const half = (BYTES / 2) * size;
  const src = new Uint8Array(half).fill(1);
  const dst = new Uint8Array(half).fill(2);
  return {
    key: { backend: 'bandwidth', threads: 1, variant: 'copy' },
    size,
    bytesPerParam: BYTES,
    run(steps) {
      const t0 = performance.now();
      for (let s = 0; s < steps; s++) dst.set(src);
      return performance.now() - t0;
    },
    dispose() {},
  };
}

export function bandwidthPeer(): Peer {
  return {
    backend: 'bandwidth',
    async prepare(size): Promise<Prepared> {
      return { runners: [await streamRunner(size), copyRunner(size)] };
    },
  };
}
