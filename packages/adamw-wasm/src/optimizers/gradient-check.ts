/**
 * Gradient clipping and the non-finite guard, both decided before any parameter or state is
 * written, so a refused or skipped step leaves the optimizer bitwise as it was.
 */
const f32 = Math.fround;

/** How errors name a tensor: a one-tensor group's by its group (`groups[1]`), others as `tensor("name")`. */
export const tensorLabel = (name: string): string => (/^groups\[\d+\]$/.test(name) ? name : `tensor(${JSON.stringify(name)})`);

/** Thrown by `step()` under `nonFinite: 'throw'`; nothing was modified. */
export class NonFiniteGradientError extends Error {
  constructor(
    who: string,
    /** Index of the tensor's group. */
    readonly group: number,
    /** The tensor's name. */
    readonly tensor: string,
    readonly index: number,
    readonly value: number,
  ) {
    super(
      `${who}: non-finite gradient ${tensorLabel(tensor)}.grads[${index}] = ${value}; the step was not taken ` +
        `(parameters and state unchanged). Use options.nonFinite 'skip' to skip such steps or 'ignore' to apply them`,
    );
    this.name = 'NonFiniteGradientError';
  }
}

/**
 * torch.nn.utils.clip_grad_norm_'s coefficient in its f32 arithmetic:
 * clamp(max_norm · reciprocal(total + 1e-6), max = 1) (Python's `max_norm / t` is
 * `t.reciprocal() * max_norm`). NaN stays NaN, as in torch.
 */
export function clipCoefficient(norm: number, maxNorm: number): number {
  const coef = f32(f32(1 / f32(f32(norm) + f32(1e-6))) * f32(maxNorm));
  return Number.isNaN(coef) ? coef : Math.min(coef, 1);
}

/** The first non-finite gradient, for the error message (only run when there is one). */
export function firstNonFinite(gradients: readonly Float32Array[]): { tensor: number; index: number; value: number } {
  for (let k = 0; k < gradients.length; k++) {
    const grads = gradients[k]!;
    for (let i = 0; i < grads.length; i++) {
      if (!Number.isFinite(grads[i]!)) return { tensor: k, index: i, value: grads[i]! };
    }
  }
  throw new Error('adamw-wasm: a kernel reported a non-finite gradient that a scan did not find');
}
