/**
 * A runtime without WebAssembly SIMD, simulated: WebAssembly.validate refuses the simd128
 * module (identified by asking the module itself) before the package is first imported.
 */
import { expect, it, vi } from 'vitest';

const realValidate = WebAssembly.validate.bind(WebAssembly);
function isSimdModule(bytes: BufferSource): boolean {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
  return (instance.exports as { simd_lanes(): number }).simd_lanes() === 4;
}
vi.spyOn(WebAssembly, 'validate').mockImplementation((bytes) => realValidate(bytes) && !isSimdModule(bytes));
const instantiate = vi.spyOn(WebAssembly, 'instantiate');
const { AdamW, isBackendAvailable } = await import('adamw-wasm');

it('reports SIMD as unavailable and the baseline module as available', () => {
  expect(isBackendAvailable('wasm-simd')).toBe(false);
  expect(isBackendAvailable('wasm')).toBe(true);
  expect(isBackendAvailable('js')).toBe(true);
});

it('refuses an explicit wasm-simd backend with a clear error, instantiating nothing', async () => {
  await expect(AdamW.create([{ size: 8 }], { backend: 'wasm-simd' })).rejects.toThrow(
    /^AdamW: options\.backend 'wasm-simd' is not available: this runtime does not support WebAssembly SIMD \(simd128\); use 'auto' to fall back$/,
  );
  expect(instantiate).not.toHaveBeenCalled();
});

it("'auto' falls back to the baseline module", async () => {
  const opt = await AdamW.create([{ size: 8 }]);
  expect(opt.backend).toBe('wasm');
  opt.dispose();
});
