//! The vector loop: 4 lanes at a time, the scalar reference for the remaining 0–3 elements.
//!
//! Same operations in the same order as `scalar::adam_range`, lane for lane, so results are
//! bit-identical to it. Flags are const generics so each variant is a branch-free loop.

use crate::hyper::{AdamArrays, AdamHyper, FLAG_AMSGRAD, FLAG_L2, FLAG_MAXIMIZE};
use crate::lanes::F32x4;
use crate::scalar;

/// Picks the monomorphized loop for `hp.flags`.
///
/// # Safety
/// Every array must be valid for `len` elements (`max_exp_avg_sq` only with amsgrad); the
/// arrays must not overlap. No alignment is required.
pub unsafe fn adam<V: F32x4>(hp: &AdamHyper, a: &AdamArrays, len: usize) {
    macro_rules! variant {
        ($amsgrad:literal, $maximize:literal, $l2:literal) => {
            adam_variant::<V, $amsgrad, $maximize, $l2>(hp, a, len)
        };
    }
    match (hp.has(FLAG_AMSGRAD), hp.has(FLAG_MAXIMIZE), hp.has(FLAG_L2)) {
        (false, false, false) => variant!(false, false, false),
        (false, false, true) => variant!(false, false, true),
        (false, true, false) => variant!(false, true, false),
        (false, true, true) => variant!(false, true, true),
        (true, false, false) => variant!(true, false, false),
        (true, false, true) => variant!(true, false, true),
        (true, true, false) => variant!(true, true, false),
        (true, true, true) => variant!(true, true, true),
    }
}

#[inline(always)]
unsafe fn adam_variant<V: F32x4, const AMSGRAD: bool, const MAXIMIZE: bool, const L2: bool>(
    hp: &AdamHyper,
    a: &AdamArrays,
    len: usize,
) {
    let AdamArrays { params, grads, exp_avg, exp_avg_sq, max_exp_avg_sq } = *a;
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
    scalar::adam_range(hp, a, vector_end, len);
}
