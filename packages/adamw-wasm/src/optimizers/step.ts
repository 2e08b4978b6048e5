/**
 * One optimizer step as a plan of kernel jobs: the guard or the gradient norm over the tensors
 * being stepped, every tensor's scalars (so a bad schedule or an overflow throws before any
 * write), then one fused update per tensor. `step()` waits for each job blocking, `stepAsync()`
 * without blocking: one plan, two drivers.
 */
import type { GroupRegions, Job, Kernel, StateName } from '../kernels/kernel.js';
import { alignUp } from '../memory/arena.js';
import type { CommonHyper, Family, StepContext } from './family.js';
import { clipCoefficient, firstNonFinite, NonFiniteGradientError, tensorLabel } from './gradient-check.js';
import type { StateViews, TensorCore } from './param-group.js';
import type { GlobalOptions } from './plan.js';
import { scheduleMultiplier } from './schedule-multiplier.js';

/** What `step()` did. */
export interface StepResult {
  /** ‖g‖₂ over the stepped tensors before clipping, when clipping is on. */
  readonly gradNorm?: number;
  /** True when `nonFinite: 'skip'` skipped the step (step counts unchanged). */
  readonly skipped: boolean;
}

export type StepPlan = Generator<Job<unknown>, StepResult, unknown>;

export interface StepInputs<H extends CommonHyper, S extends StateViews, Scalars> {
  readonly family: Family<H, Scalars>;
  /** The tensors to update, in the optimizer's order. */
  readonly tensors: readonly TensorCore<H, S>[];
  /** Every kernel of the optimizer (a failed one refuses the step before it writes). */
  readonly kernels: readonly Kernel[];
  /** Completed steps of the optimizer: what schedules see. */
  readonly stepCount: number;
  readonly global: GlobalOptions;
  /** Records that a job failed after writing began: the state may be partly updated. */
  readonly broke: (why: Error) => Error;
}

/** Throws, before anything is written, if a kernel can no longer run (a worker failed or stopped). */
function assertKernelsHealthy(who: string, kernels: readonly Kernel[]): void {
  for (const kernel of kernels) {
    if (kernel.fault) {
      throw new Error(
        `${who}: a worker thread failed earlier (${kernel.fault.message}); parameters and state are intact, so saveState() still works: recreate the optimizer`,
        { cause: kernel.fault },
      );
    }
  }
}

/**
 * One kernel job of a step, and what its failure means: before the first write the state is
 * intact; once writing began it may be partly updated, and the optimizer refuses everything.
 */
function* call<T>(who: string, start: () => Job<T>, writing: false | ((why: Error) => Error)): Generator<Job<unknown>, T, unknown> {
  try {
    return (yield start()) as T;
  } catch (error) {
    const why = error instanceof Error ? error : new Error(String(error));
    if (writing) throw writing(why);
    throw new Error(`${who}: the step failed before writing anything (${why.message}); parameters and state are intact, so saveState() still works: recreate the optimizer`, {
      cause: error,
    });
  }
}

/** Whether `b`'s arrays directly follow `a`'s in every array (a group's layout, see layoutArena). */
function follows(a: GroupRegions, b: GroupRegions): boolean {
  const size = alignUp(a.length * 4);
  if (b.params !== a.params + size || b.grads !== a.grads + size) return false;
  let names = 0;
  for (const name in a.state) {
    names++;
    if (b.state[name as StateName] !== a.state[name as StateName]! + size) return false;
  }
  for (const _ in b.state) names--;
  return names === 0;
}

/**
 * The tensors as runs of consecutive ones on one kernel whose arrays follow one another and
 * that `together` allows (the same scalars, for updates): one kernel call each, so a model of
 * many small tensors costs about what one tensor of the same total does.
 */
function runs<T extends { readonly kernel: Kernel; readonly regions: GroupRegions }>(
  tensors: readonly T[],
  together: (a: number, b: number) => boolean,
): { kernel: Kernel; regions: GroupRegions; first: number }[] {
  const out: { kernel: Kernel; regions: GroupRegions; first: number }[] = [];
  for (let first = 0; first < tensors.length; ) {
    const head = tensors[first]!;
    let last = first;
    while (last + 1 < tensors.length) {
      const next = tensors[last + 1]!;
      if (next.kernel !== head.kernel || !follows(tensors[last]!.regions, next.regions) || !together(first, last + 1)) break;
      last++;
    }
    // The run spans to the end of its last tensor, padding between tensors included (zeros, which every rule keeps zero).
    const end = tensors[last]!.regions;
    const regions = last === first ? head.regions : { ...head.regions, length: (end.params - head.regions.params) / 4 + end.length };
    out.push({ kernel: head.kernel, regions, first });
    first = last + 1;
  }
  return out;
}

export function* stepPlan<H extends CommonHyper, S extends StateViews, Scalars>(inputs: StepInputs<H, S, Scalars>): StepPlan {
  const { family, tensors, global } = inputs;
  const who = family.name;
  assertKernelsHealthy(who, inputs.kernels);
  const { clipGradNorm, nonFinite } = global;
  let gradNorm: number | undefined;
  let finite = true;
  if (clipGradNorm !== undefined) {
    // ‖g‖₂ over the stepped tensors: canonical per-tensor sums of squares in f64, added in order.
    let total = 0;
    for (const { kernel: k, regions: r } of tensors) total += yield* call(who, () => k.sumSquares(r.grads, r.length), false);
    gradNorm = Math.sqrt(total);
    finite = Number.isFinite(gradNorm);
  } else if (nonFinite !== 'ignore') {
    for (const { kernel: k, regions: r } of runs(tensors, () => true)) {
      finite = yield* call(who, () => k.allFinite(r.grads, r.length), false);
      if (!finite) break;
    }
  }
  if (!finite && nonFinite !== 'ignore') {
    if (nonFinite === 'skip') return gradNorm === undefined ? { skipped: true } : { gradNorm, skipped: true };
    const { tensor, index, value } = firstNonFinite(tensors.map((t) => t.views!.grads));
    throw new NonFiniteGradientError(who, tensors[tensor]!.group.index, tensors[tensor]!.name, index, value);
  }
  const clipCoef = clipGradNorm === undefined || gradNorm === undefined ? 1 : clipCoefficient(gradNorm, clipGradNorm);
  // Every tensor's scalars first (each group's schedule once): a schedule that returns garbage,
  // or scalars that overflow float32, throw before any write.
  const etas = new Map<number, number>();
  // Tensors sharing their group's hyperparameters (no exclusion) and step count share scalars:
  // computed and checked once, so a model of many small tensors pays for them once.
  const shared = new Map<H, Map<number, Scalars>>();
  const scalars = tensors.map((t) => {
    const g = t.group;
    if (!etas.has(g.index)) etas.set(g.index, scheduleMultiplier(who, g.index, g.hyper.schedule, inputs.stepCount));
    const ctx: StepContext = { step: t.stepsTaken + 1, eta: etas.get(g.index)!, clipCoef };
    let byStep = shared.get(t.hyper);
    if (byStep === undefined) shared.set(t.hyper, (byStep = new Map()));
    const known = byStep.get(ctx.step);
    if (known !== undefined) return known;
    const s = family.scalars(t.hyper, ctx);
    byStep.set(ctx.step, s);
    for (const [name, value] of Object.entries(s as Record<string, unknown>)) {
      if (typeof value === 'number' && !Number.isFinite(value)) {
        const whose = t.group.tensors.length === 1 ? `groups[${g.index}]'s hyperparameters give` : `groups[${g.index}]'s hyperparameters give ${tensorLabel(t.name)}`;
        throw new RangeError(
          `${who}: ${whose} a step scalar that overflows float32 at step ${ctx.step} ` +
            `(${name} = ${value}, with schedule multiplier ${ctx.eta}); nothing was changed: lower lr, weightDecay or the schedule`,
        );
      }
    }
    return s;
  });
  // A worker that stopped since the guard ran is refused here, before the first write; one that
  // stops later, between jobs, costs nothing (its slices are taken by the others).
  assertKernelsHealthy(who, inputs.kernels);
  for (const { kernel, regions, first } of runs(tensors, (a, b) => scalars[a] === scalars[b])) {
    const s = scalars[first]!;
    yield* call(who, () => family.run(kernel, regions, s), inputs.broke);
  }
  for (const t of tensors) t.stepsTaken += 1;
  for (const t of tensors) t.group.lastLr = t.group.hyper.lr * etas.get(t.group.index)!;
  return gradNorm === undefined ? { skipped: false } : { gradNorm, skipped: false };
}

/** Runs a plan, blocking on each job; a job's failure goes back into the plan. */
export function runSync(plan: StepPlan): StepResult {
  let next = plan.next();
  while (!next.done) {
    let result: unknown;
    try {
      result = next.value.wait();
    } catch (error) {
      next = plan.throw(error);
      continue;
    }
    next = plan.next(result);
  }
  return next.value;
}

/** Runs a plan without blocking. */
export async function runAsync(plan: StepPlan): Promise<StepResult> {
  let next = plan.next();
  while (!next.done) {
    let result: unknown;
    try {
      result = await next.value.waitAsync();
    } catch (error) {
      next = plan.throw(error);
      continue;
    }
    next = plan.next(result);
  }
  return next.value;
}
