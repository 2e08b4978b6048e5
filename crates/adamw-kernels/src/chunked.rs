//! The vector loop: 4 lanes at a time, the scalar reference for the remaining 0–3 elements.
//!
//! Same operations in the same order as `scalar::adam_range`, lane for lane, so results are
//! bit-identical to it. Flags are const generics so each variant is a branch-free loop.

use crate::hyper::AdamHyper;
use crate::lanes::F32x4;
use crate::scalar;

/// # Safety
/// Every pointer must be valid for `len` elements (`max_exp_avg_sq` only if `AMSGRAD`);
/// the arrays must not overlap. No alignment is required.
#[inline(always)]
pub unsafe fn adam<V: F32x4, const AMSGRAD: bool, const MAXIMIZE: bool, const L2: bool>(
    hp: &AdamHyper,
    params: *mut f32,
    grads: *const f32,
    exp_avg: *mut f32,
    exp_avg_sq: *mut f32,
    max_exp_avg_sq: *mut f32,
    len: usize,
) {
    let decay = V::splat(hp.decay_factor);
    let l2 = V::splat(hp.l2);
    let beta1 = V::splat(hp.beta1);
    let one_minus_beta1 = V::splat(hp.one_minus_beta1);
    let beta2 = V::splat(hp.beta2);
    let one_minus_beta2 = V::splat(hp.one_minus_beta2);
    let bc2_sqrt = V::splat(hp.bias_correction2_sqrt);
    let eps = V::splat(hp.eps);
    let neg_step = V::splat(hp.neg_step_size);

    let vector_end = len & !3;
    let mut i = 0;
    while i < vector_end {
        let theta = V::load(params.add(i)).mul(decay);
        let mut g = V::load(grads.add(i));
        if MAXIMIZE {
            g = g.neg();
        }
        if L2 {
            g = g.add(l2.mul(theta));
        }
        let m = V::load(exp_avg.add(i)).mul(beta1).add(one_minus_beta1.mul(g));
        let v = V::load(exp_avg_sq.add(i)).mul(beta2).add(one_minus_beta2.mul(g).mul(g));
        m.store(exp_avg.add(i));
        v.store(exp_avg_sq.add(i));
        let second = if AMSGRAD {
            let vmax = V::load(max_exp_avg_sq.add(i)).max(v);
            vmax.store(max_exp_avg_sq.add(i));
            vmax
        } else {
            v
        };
        let denom = second.sqrt().div(bc2_sqrt).add(eps);
        theta.add(neg_step.mul(m).div(denom)).store(params.add(i));
        i += 4;
    }
    scalar::adam_range(hp, params, grads, exp_avg, exp_avg_sq, max_exp_avg_sq, vector_end, len);
}
