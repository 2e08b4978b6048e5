import type { AdamScalars } from './kernel.js';

/** Mirrors `AdamHyper` in crates/adamw-kernels/src/hyper.rs: nine f32 then a u32 of flags. */
export const HYPER_BYTES = 40;
const FLAG_AMSGRAD = 1 << 0;
const FLAG_MAXIMIZE = 1 << 1;
const FLAG_L2 = 1 << 2;

/** Writes `s` at `byteOffset` in the little-endian layout the kernel reads. */
export function writeAdamHyper(view: DataView, byteOffset: number, s: AdamScalars): void {
  const floats = [
    s.decayFactor,
    s.l2,
    s.beta1,
    s.oneMinusBeta1,
    s.beta2,
    s.oneMinusBeta2,
    s.biasCorrection2Sqrt,
    s.eps,
    s.negStepSize,
  ];
  floats.forEach((x, i) => view.setFloat32(byteOffset + 4 * i, x, true));
  const flags =
    (s.amsgrad ? FLAG_AMSGRAD : 0) | (s.maximize ? FLAG_MAXIMIZE : 0) | (s.coupledL2 ? FLAG_L2 : 0);
  view.setUint32(byteOffset + 4 * floats.length, flags, true);
}
