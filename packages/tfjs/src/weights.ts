/**
 * The optimizer's weights as tfjs lists them (`getWeights` / `setWeights`, and the optimizer part
 * of `model.save(…, { includeOptimizer: true })`): `iter`, then `<variable>/m` for every variable,
 * then every `<variable>/v` (tfjs's Adam layout), then `<variable>/vhat` with amsgrad; SGD with
 * momentum lists `<variable>/momentum` (tfjs's momentum optimizer). A variable whose own step
 * count differs from `iter` (it was skipped, or joined later) adds `<variable>/step`, so that
 * bias correction resumes exactly; without such entries the list is tfjs's own.
 */
import type { Tensor } from '@tensorflow/tfjs-core';
import { checkPlainObject, rangeError, typeError } from '../../adamw-wasm/src/validate.js';
import type { Slot } from './families.js';

/** One variable's saved state, read out of the weight tensors (copies). */
export interface SavedVariable {
  readonly name: string;
  /** From the arrays; undefined when the family keeps none (SGD without momentum). */
  readonly shape: readonly number[] | undefined;
  /** Its own step count: `<variable>/step`, else `iter`. */
  readonly step: number;
  readonly arrays: Readonly<Partial<Record<Slot['state'], Float32Array>>>;
}

export interface SavedWeights {
  readonly iterations: number;
  readonly variables: readonly SavedVariable[];
}

const STEP = 'step';

const isTensor = (value: unknown): value is Tensor =>
  typeof value === 'object' && value !== null && typeof (value as Tensor).dataSync === 'function' && Array.isArray((value as Tensor).shape);

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/** A count read from a scalar weight: an integer ≥ 0 that a float64 holds exactly. */
async function readCount(who: string, path: string, tensor: Tensor): Promise<number> {
  if (tensor.size !== 1) rangeError(who, `${path}.tensor`, 'a scalar', `a tensor of shape [${tensor.shape.join(', ')}]`);
  const value = (await tensor.data())[0] as number;
  if (!Number.isSafeInteger(value) || value < 0) rangeError(who, path, 'an integer >= 0', value);
  return value;
}

/**
 * Reads and checks a weight list before anything changes: `iter` first, then for every variable
 * exactly the slots the hyperparameters keep (`slots`), all of one shape, and at most one step
 * entry no larger than `iter`. Values are copied, so the caller's tensors stay theirs.
 */
export async function readWeights(who: string, weights: unknown, slots: readonly Slot[], allSlots: readonly Slot[]): Promise<SavedWeights> {
  if (!Array.isArray(weights)) typeError(who, 'weights', 'an array of { name, tensor }', weights);
  const entries = Array.from(weights as unknown[], (raw, i) => {
    const entry = checkPlainObject(who, `weights[${i}]`, raw);
    if (typeof entry.name !== 'string') typeError(who, `weights[${i}].name`, 'a string', entry.name);
    if (!isTensor(entry.tensor)) typeError(who, `weights[${i}].tensor`, 'a tf.Tensor', entry.tensor);
    return { name: entry.name, tensor: entry.tensor, path: `weights[${i}]` };
  });
  if (entries[0]?.name !== 'iter') {
    rangeError(who, 'weights[0].name', "'iter' (the step count comes first, as tfjs lists it)", entries[0]?.name ?? 'an empty list');
  }
  const iterations = await readCount(who, 'weights[0]', entries[0].tensor);
  const bySuffix = new Map(allSlots.map((slot) => [slot.suffix, slot]));
  const found = new Map<string, { shape?: readonly number[]; step?: number; arrays: Partial<Record<Slot['state'], Float32Array>> }>();
  for (const { name, tensor, path } of entries.slice(1)) {
    const cut = name.lastIndexOf('/');
    const suffix = name.slice(cut + 1);
    const slot = bySuffix.get(suffix);
    if (cut <= 0 || (slot === undefined && suffix !== STEP)) {
      const expected = [...allSlots.map((s) => `<variable>/${s.suffix}`), `<variable>/${STEP}`].join(', ');
      rangeError(who, `${path}.name`, `one of ${expected}`, name);
    }
    const variable = name.slice(0, cut);
    const saved = found.get(variable) ?? { arrays: {} };
    found.set(variable, saved);
    if (slot === undefined) {
      if (saved.step !== undefined) rangeError(who, `${path}.name`, 'given once', name);
      saved.step = await readCount(who, path, tensor);
      if (saved.step > iterations) rangeError(who, path, `at most iter (${iterations})`, saved.step);
      continue;
    }
    if (saved.arrays[slot.state] !== undefined) rangeError(who, `${path}.name`, 'given once', name);
    if (tensor.dtype !== 'float32') typeError(who, `${path}.tensor`, 'a float32 tensor', `a ${tensor.dtype} tensor`);
    if (saved.shape !== undefined && !sameShape(saved.shape, tensor.shape)) {
      rangeError(who, `${path}.tensor`, `of the shape of ${variable}'s other state, [${saved.shape.join(', ')}]`, `[${tensor.shape.join(', ')}]`);
    }
    saved.shape = tensor.shape;
    // A copy: data() may hand out the backend's own array.
    saved.arrays[slot.state] = new Float32Array((await tensor.data()) as Float32Array);
  }
  const variables = [...found].map(([name, saved]): SavedVariable => {
    const missing = slots.filter((s) => saved.arrays[s.state] === undefined).map((s) => `${name}/${s.suffix}`);
    const extra = allSlots.filter((s) => !slots.includes(s) && saved.arrays[s.state] !== undefined).map((s) => `${name}/${s.suffix}`);
    if (missing.length > 0) rangeError(who, 'weights', `to hold every state array of each variable under these hyperparameters; missing ${missing.join(', ')}`, `${entries.length} weights`);
    if (extra.length > 0) rangeError(who, 'weights', `to hold only the state arrays these hyperparameters keep (amsgrad, momentum); unexpected ${extra.join(', ')}`, `${entries.length} weights`);
    return { name, shape: saved.shape, step: saved.step ?? iterations, arrays: saved.arrays };
  });
  return { iterations, variables };
}
