//! The vector loops: 4 lanes at a time, the scalar reference for the remaining 0–3 elements.
//!
//! Same operations in the same order as `scalar`, lane for lane, so results are bit-identical
//! to it. Flags become const generics so each variant is a branch-free loop.

use crate::hyper::*;
use crate::lanes::F32x4;
use crate::scalar;

/// Expands to a `match` over the given flags that calls `$f::<V, ...bools>($args)`.
macro_rules! dispatch3 {
    ($f:ident::<$v:ty>($($arg:expr),*), $a:expr, $b:expr, $c:expr) => {
        match ($a, $b, $c) {
            (false, false, false) => $f::<$v, false, false, false>($($arg),*),
            (false, false, true) => $f::<$v, false, false, true>($($arg),*),
            (false, true, false) => $f::<$v, false, true, false>($($arg),*),
            (false, true, true) => $f::<$v, false, true, true>($($arg),*),
            (true, false, false) => $f::<$v, true, false, false>($($arg),*),
            (true, false, true) => $f::<$v, true, false, true>($($arg),*),
            (true, true, false) => $f::<$v, true, true, false>($($arg),*),
            (true, true, true) => $f::<$v, true, true, true>($($arg),*),
        }
    };
}

/// Adam / AdamW, see [`scalar::adam_range`].
///
/// # Safety
/// The arrays the flags use must be valid for `len` elements and must not overlap. No
/// alignment is required.
pub unsafe fn adam<V: F32x4>(hp: &AdamHyper, a: &AdamArrays, len: usize) {
    dispatch3!(
        adam_variant::<V>(hp, a, len),
        hp.has(FLAG_AMSGRAD),
        hp.has(FLAG_COUPLED_L2),
        hp.has(FLAG_DECAY_AFTER)
    )
}

#[inline(always)]
unsafe fn adam_variant<V: F32x4, const AMSGRAD: bool, const L2: bool, const AFTER: bool>(hp: &AdamHyper, a: &AdamArrays, len: usize) {
    let AdamArrays {
        params,
        grads,
        exp_avg,
        exp_avg_sq,
        max_exp_avg_sq,
    } = *a;
    let grad_scale = V::splat(hp.grad_scale);
    let decay = V::splat(hp.decay_factor);
    let after_decay = V::splat(hp.after_decay);
    let l2 = V::splat(hp.l2);
    let beta1 = V::splat(hp.beta1);
    let one_minus_beta1 = V::splat(hp.one_minus_beta1);
    let beta2 = V::splat(hp.beta2);
    let one_minus_beta2 = V::splat(hp.one_minus_beta2);
    let bc2_sqrt = V::splat(hp.bias_correction2_sqrt);
    let eps = V::splat(hp.eps);
    let neg_step = V::splat(hp.neg_step_size);

    let vector_end = len & !3;
    let mut nans = V::splat(0.0);
    let mut i = 0;
    while i < vector_end {
        let theta0 = V::load(params.add(i));
        let theta = theta0.mul(decay);
        let mut g = V::load(grads.add(i)).mul(grad_scale);
        if L2 {
            g = g.add(l2.mul(theta0));
        }
        let m = V::load(exp_avg.add(i)).mul(beta1).add(one_minus_beta1.mul(g));
        let v = V::load(exp_avg_sq.add(i)).mul(beta2).add(one_minus_beta2.mul(g).mul(g));
        let second = if AMSGRAD { V::load(max_exp_avg_sq.add(i)).max(v) } else { v };
        let denom = second.sqrt().div(bc2_sqrt).add(eps);
        let mut next = theta.add(neg_step.mul(m).div(denom));
        if AFTER {
            next = next.add(after_decay.mul(next));
        }
        m.store(exp_avg.add(i));
        v.store(exp_avg_sq.add(i));
        if AMSGRAD {
            second.store(max_exp_avg_sq.add(i));
        }
        next.store(params.add(i));
        nans = nans.or(next.nan_lanes());
        i += 4;
    }
    // A NaN in m, v or v̄ reaches θ, so θ's lanes tell whether any was written; only then
    // (rarely) is the range rewritten with canonical NaNs, as the scalar reference writes them.
    if nans.any_set() {
        let outputs = [params, exp_avg, exp_avg_sq, max_exp_avg_sq];
        canonicalize::<V>(if AMSGRAD { &outputs } else { &outputs[..3] }, vector_end);
    }
    scalar::adam_range(hp, a, vector_end, len);
}

/// SGD / SGDW, see [`scalar::sgd_range`].
///
/// # Safety
/// As [`adam`].
pub unsafe fn sgd<V: F32x4>(hp: &SgdHyper, a: &SgdArrays, len: usize) {
    if hp.has(FLAG_USE_MOMENTUM) {
        dispatch3!(
            sgd_momentum::<V>(hp, a, len),
            hp.has(FLAG_COUPLED_L2),
            hp.has(FLAG_NESTEROV),
            hp.has(FLAG_FIRST_STEP)
        )
    } else if hp.has(FLAG_COUPLED_L2) {
        sgd_variant::<V, false, true, false, false>(hp, a, len)
    } else {
        sgd_variant::<V, false, false, false, false>(hp, a, len)
    }
}

#[inline(always)]
unsafe fn sgd_momentum<V: F32x4, const L2: bool, const NESTEROV: bool, const FIRST: bool>(hp: &SgdHyper, a: &SgdArrays, len: usize) {
    sgd_variant::<V, true, L2, NESTEROV, FIRST>(hp, a, len)
}

#[inline(always)]
unsafe fn sgd_variant<V: F32x4, const MOMENTUM: bool, const L2: bool, const NESTEROV: bool, const FIRST: bool>(
    hp: &SgdHyper,
    a: &SgdArrays,
    len: usize,
) {
    let SgdArrays {
        params,
        grads,
        momentum_buffer: buffer,
    } = *a;
    let (grad_scale, decay, l2, neg_lr) = (
        V::splat(hp.grad_scale),
        V::splat(hp.decay_factor),
        V::splat(hp.l2),
        V::splat(hp.neg_lr),
    );
    let (momentum, grad_coeff) = (V::splat(hp.momentum), V::splat(hp.grad_coeff));
    let vector_end = len & !3;
    let mut nans = V::splat(0.0);
    let mut i = 0;
    while i < vector_end {
        let theta0 = V::load(params.add(i));
        let mut g = V::load(grads.add(i)).mul(grad_scale);
        if L2 {
            g = g.add(l2.mul(theta0));
        }
        let buf = if FIRST || !MOMENTUM {
            g
        } else {
            V::load(buffer.add(i)).mul(momentum).add(grad_coeff.mul(g))
        };
        let d = if MOMENTUM && NESTEROV { g.add(momentum.mul(buf)) } else { buf };
        let next = theta0.mul(decay).add(neg_lr.mul(d));
        if MOMENTUM {
            buf.store(buffer.add(i));
        }
        next.store(params.add(i));
        nans = nans.or(next.nan_lanes());
        i += 4;
    }
    // A NaN in the buffer reaches θ (see `adam_variant`).
    if nans.any_set() {
        let outputs = [params, buffer];
        canonicalize::<V>(if MOMENTUM { &outputs } else { &outputs[..1] }, vector_end);
    }
    scalar::sgd_range(hp, a, vector_end, len);
}

/// Rewrites elements `0..end` (a multiple of 4) of each array with canonical NaNs.
#[cold]
#[inline(never)]
unsafe fn canonicalize<V: F32x4>(arrays: &[*mut f32], end: usize) {
    for &p in arrays {
        for i in (0..end).step_by(4) {
            V::load(p.add(i)).canonical().store(p.add(i));
        }
    }
}

/// Σ x² over one block in the canonical order of [`scalar::block_sum_squares`]: two 4-lane
/// accumulators hold lanes 0–3 and 4–7 of each group of 8.
///
/// # Safety
/// `x` must be valid for `n` elements.
#[inline(always)]
pub unsafe fn block_sum_squares<V: F32x4>(x: *const f32, n: usize) -> f64 {
    let groups = n / 8;
    let (mut low, mut high) = (V::squares_zero(), V::squares_zero());
    for q in 0..groups {
        low = V::squares_add(low, V::load(x.add(8 * q)));
        high = V::squares_add(high, V::load(x.add(8 * q + 4)));
    }
    let (l, h) = (V::squares_lanes(low), V::squares_lanes(high));
    let mut sum = scalar::combine_lanes(&[l[0], l[1], l[2], l[3], h[0], h[1], h[2], h[3]]);
    for i in 8 * groups..n {
        let e = *x.add(i) as f64;
        sum += e * e;
    }
    sum
}

/// Σ x²: block sums added in order from 0, as [`scalar::sum_squares`].
///
/// # Safety
/// `x` must be valid for `len` elements.
pub unsafe fn sum_squares<V: F32x4>(x: *const f32, len: usize) -> f64 {
    let mut total = 0f64;
    for_each_block(len, |start, n| total += block_sum_squares::<V>(x.add(start), n));
    total
}

/// Writes each block's Σ x² to `out[k]`, so threads that own whole blocks can produce the
/// same partial sums the single-threaded loop adds up.
///
/// # Safety
/// `x` valid for `len` elements, `out` for `ceil(len / NORM_BLOCK)` f64s.
pub unsafe fn block_sums<V: F32x4>(x: *const f32, len: usize, out: *mut f64) {
    for_each_block(len, |start, n| {
        *out.add(start / NORM_BLOCK) = block_sum_squares::<V>(x.add(start), n)
    });
}

#[inline(always)]
fn for_each_block(len: usize, mut f: impl FnMut(usize, usize)) {
    let mut start = 0;
    while start < len {
        let n = core::cmp::min(NORM_BLOCK, len - start);
        f(start, n);
        start += n;
    }
}

/// Whether every element is finite: x·0 is 0 for finite x and NaN for NaN/±Inf. Four
/// accumulators so the adds do not wait on each other (the answer does not depend on order).
///
/// # Safety
/// `x` must be valid for `len` elements.
pub unsafe fn all_finite<V: F32x4>(x: *const f32, len: usize) -> bool {
    let zero = V::splat(0.0);
    let mut acc = [zero; 4];
    let unrolled_end = len & !15;
    let mut i = 0;
    while i < unrolled_end {
        for (k, a) in acc.iter_mut().enumerate() {
            *a = a.add(V::load(x.add(i + 4 * k)).mul(zero));
        }
        i += 16;
    }
    let sum = acc[0].add(acc[1]).add(acc[2].add(acc[3]));
    sum.to_array().iter().all(|&l| l == 0.0) && scalar::all_finite(x.add(unrolled_end), len - unrolled_end)
}
