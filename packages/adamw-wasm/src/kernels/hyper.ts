import type { AdamScalars, SgdScalars } from './kernel.js';
import { ADAM_HYPER, FLAGS, SGD_HYPER } from './modules.generated.js';

/** Bytes the larger block takes: where the host reserves room for either. */
export const HYPER_BYTES = Math.max(ADAM_HYPER.bytes, SGD_HYPER.bytes);

type Layout = { readonly floats: Readonly<Record<string, number>>; readonly flags: number };

/**
 * Writes a hyperparameter block at `at` from the layout the build read off the crate: each f32
 * field from the scalar of the same name, and the flags from the booleans named as the flags.
 */
function write(view: DataView, at: number, layout: Layout, scalars: object): void {
  const values = scalars as Record<string, number | boolean>;
  for (const [name, offset] of Object.entries(layout.floats)) view.setFloat32(at + offset, values[name] as number, true);
  let flags = 0;
  for (const [name, bit] of Object.entries(FLAGS)) if (values[name] === true) flags |= bit;
  view.setUint32(at + layout.flags, flags, true);
}

export const writeAdamHyper = (view: DataView, at: number, s: AdamScalars): void => write(view, at, ADAM_HYPER, s);
export const writeSgdHyper = (view: DataView, at: number, s: SgdScalars): void => write(view, at, SGD_HYPER, s);
