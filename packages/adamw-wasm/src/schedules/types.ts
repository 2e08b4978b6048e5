/**
 * A schedule maps the number of completed optimizer steps t (integer ≥ 0) to the multiplier η_t:
 * the (t+1)-th step() uses lr·η_t (and, in the paper's decay mode, η_t·λ). This is the lr a torch
 * scheduler stepped once per optimizer step shows after t scheduler.step() calls.
 */
export type Schedule = (completedSteps: number) => number;
