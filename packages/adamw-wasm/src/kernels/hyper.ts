import type { AdamScalars, SgdScalars } from './kernel.js';
import { ADAM_HYPER, FLAGS, SGD_HYPER } from './modules.generated.js';

/** Bytes the larger block takes: where the host reserves room for either. */
export const HYPER_BYTES = Math.max(ADAM_HYPER.bytes, SGD_HYPER.bytes);

type Layout = { readonly floats: Readonly<Record<string, number>>; readonly flags: number };
type Fields = { readonly floats: readonly (readonly [string, number])[]; readonly flags: number };

const fieldsOf = (layout: Layout): Fields => ({ floats: Object.entries(layout.floats), flags: layout.flags });
const ADAM_FIELDS = fieldsOf(ADAM_HYPER);
const SGD_FIELDS = fieldsOf(SGD_HYPER);
const FLAG_BITS = Object.entries(FLAGS);

/**
 * The scalars last written to each block: a step writes the same scalars for every tensor of a
 * group, so only the first write of a run does anything (the block is written nowhere else).
 */
const lastWritten = new WeakMap<DataView, { at: number; scalars: object }>();

/**
 * Writes a hyperparameter block at `at` from the layout the build read off the crate: each f32
 * field from the scalar of the same name, and the flags from the booleans named as the flags.
 */
function write(view: DataView, at: number, fields: Fields, scalars: object): void {
  const last = lastWritten.get(view);
  if (last !== undefined && last.at === at && last.scalars === scalars) return;
  const values = scalars as Record<string, number | boolean>;
  for (const [name, offset] of fields.floats) view.setFloat32(at + offset, values[name] as number, true);
  let flags = 0;
  for (const [name, bit] of FLAG_BITS) if (values[name] === true) flags |= bit;
  view.setUint32(at + fields.flags, flags, true);
  lastWritten.set(view, { at, scalars });
}

export const writeAdamHyper = (view: DataView, at: number, s: AdamScalars): void => write(view, at, ADAM_FIELDS, s);
export const writeSgdHyper = (view: DataView, at: number, s: SgdScalars): void => write(view, at, SGD_FIELDS, s);
