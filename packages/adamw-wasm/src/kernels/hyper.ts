import type { AdamScalars, SgdScalars } from './kernel.js';

// Mirrors crates/adamw-kernels/src/hyper.rs: f32 fields then a u32 of flags, little-endian.
const FLAG_AMSGRAD = 1 << 0;
const FLAG_L2 = 1 << 1;
const FLAG_DECAY_AFTER = 1 << 2;
const FLAG_MOMENTUM = 1 << 3;
const FLAG_NESTEROV = 1 << 4;
const FLAG_FIRST_STEP = 1 << 5;

/** Bytes the larger block (AdamHyper) takes. */
export const HYPER_BYTES = 48;

function write(view: DataView, at: number, floats: readonly number[], flags: number): void {
  floats.forEach((x, i) => view.setFloat32(at + 4 * i, x, true));
  view.setUint32(at + 4 * floats.length, flags, true);
}

export function writeAdamHyper(view: DataView, at: number, s: AdamScalars): void {
  const floats = [s.gradScale, s.decayFactor, s.afterDecay, s.l2, s.beta1, s.oneMinusBeta1, s.beta2, s.oneMinusBeta2, s.biasCorrection2Sqrt, s.eps, s.negStepSize];
  const flags = (s.amsgrad ? FLAG_AMSGRAD : 0) | (s.coupledL2 ? FLAG_L2 : 0) | (s.decayAfter ? FLAG_DECAY_AFTER : 0);
  write(view, at, floats, flags);
}

export function writeSgdHyper(view: DataView, at: number, s: SgdScalars): void {
  const floats = [s.gradScale, s.decayFactor, s.l2, s.momentum, s.gradCoeff, s.negLr];
  const flags =
    (s.coupledL2 ? FLAG_L2 : 0) | (s.useMomentum ? FLAG_MOMENTUM : 0) | (s.nesterov ? FLAG_NESTEROV : 0) | (s.firstStep ? FLAG_FIRST_STEP : 0);
  write(view, at, floats, flags);
}
