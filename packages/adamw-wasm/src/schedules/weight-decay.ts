/** The paper's normalized weight decay (Loshchilov & Hutter 2019, Appendix B.1). */
import { checkInteger, checkNonNegative, checkOptions, checkPositive, F32_MAX } from '../validate.js';

export interface NormalizedWeightDecayOptions {
  /** λ_norm: the decay expressed per unit of "total batch passes"; the paper's tuned values are ~0.025–0.05. */
  readonly lambdaNorm: number;
  /** b: batch size. */
  readonly batchSize: number;
  /** B: number of training points. */
  readonly trainingSize: number;
  /** T: number of epochs (fractional allowed). */
  readonly epochs: number;
}

/**
 * λ = λ_norm · sqrt(b / (B·T)). The best raw λ shrinks as a run has more weight updates
 * (B·T/b of them); normalizing makes one λ_norm transfer across budgets and batch sizes.
 */
export function normalizedWeightDecay(o: NormalizedWeightDecayOptions): number {
  const who = 'normalizedWeightDecay';
  const opts = checkOptions(who, o, ['lambdaNorm', 'batchSize', 'trainingSize', 'epochs']);
  const lambdaNorm = checkNonNegative(who, 'lambdaNorm', opts['lambdaNorm']);
  const b = checkInteger(who, 'batchSize', opts['batchSize'], 1);
  const n = checkInteger(who, 'trainingSize', opts['trainingSize'], 1);
  const epochs = checkPositive(who, 'epochs', opts['epochs']);
  const lambda = lambdaNorm * Math.sqrt(b / (n * epochs));
  // Each input can be in range while λ is not (a vanishing epochs): refuse what no optimizer takes.
  if (!(lambda <= F32_MAX)) {
    throw new RangeError(`${who}: λ_norm·sqrt(batchSize / (trainingSize·epochs)) = ${lambda} is not a usable weight decay (finite, at most ${F32_MAX}); check epochs and batchSize`);
  }
  return lambda;
}
