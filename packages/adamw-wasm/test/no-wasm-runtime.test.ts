/** A runtime with no WebAssembly at all (simulated): 'auto' must fall back to the TS loop. */
import { expect, it, vi } from 'vitest';

vi.stubGlobal('WebAssembly', undefined);
const { AdamW, isBackendAvailable } = await import('adamw-wasm');

it("'auto' picks js and explicit wasm backends are refused", async () => {
  expect(isBackendAvailable('wasm')).toBe(false);
  const opt = await AdamW.create([{ init: Float32Array.of(1, 2, 3) }]);
  expect(opt.backend).toBe('js');
  opt.groups[0]!.grads.set([1, -1, 0]);
  opt.step();
  expect(Array.from(opt.groups[0]!.params)).not.toEqual([1, 2, 3]);
  opt.dispose();
  await expect(AdamW.create([{ size: 1 }], { backend: 'wasm' })).rejects.toThrow(
    /options\.backend 'wasm' is not available: this runtime has no usable WebAssembly/,
  );
});
