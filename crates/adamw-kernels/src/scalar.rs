//! The portable reference loops: the specification every other implementation is diffed against.
//!
//! Operation order follows PyTorch 1.13 (`_single_tensor_adamw`, `_single_tensor_adam`,
//! `_single_tensor_sgd`, `clip_grad_norm_`), with one rounding per operation and no fused
//! multiply-add, so a host doing f32 arithmetic (wasm, or JavaScript with `Math.fround` after
//! each operation) reproduces it bit for bit.

use crate::hyper::*;

/// `x`, with any NaN replaced by the canonical quiet NaN (`0x7fc00000`). Every value the kernels
/// write goes through it: which NaN an operation yields depends on operand order, which
/// compilers and JITs may swap, so without it backends (and one backend over time) would
/// disagree on NaN bits.
#[inline(always)]
pub fn canonical(x: f32) -> f32 {
    if x.is_nan() {
        f32::NAN
    } else {
        x
    }
}

/// IEEE max that returns NaN when either operand is NaN, like `torch.maximum`, wasm's
/// `f32x4.max` and JavaScript's `Math.max` (core's `f32::max` would drop the NaN).
#[inline(always)]
pub fn max_propagating(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() {
        f32::NAN
    } else if a > b {
        a
    } else {
        b
    }
}

/// Adam / AdamW on elements `start..end`:
///
/// ```text
/// θ₀ ← θ; θ ← θ·decay                       (decoupled decay before; decay = 1 otherwise)
/// g ← grad·grad_scale                        (clip coefficient, sign for maximize)
/// g ← g + l2·θ₀                              (L2)
/// m ← m·β1 + (1−β1)·g
/// v ← v·β2 + ((1−β2)·g)·g
/// v̄ ← max(v̄, v) (NaN-propagating)           (amsgrad; v̄ replaces v below)
/// θ ← θ + (−step·m) / (sqrt(v)/bc2 + ε)
/// θ ← θ + after_decay·θ                      (decay after)
/// ```
///
/// # Safety
/// The arrays the flags use must be valid for `end` elements and must not overlap.
pub unsafe fn adam_range(hp: &AdamHyper, a: &AdamArrays, start: usize, end: usize) {
    let amsgrad = hp.has(FLAG_AMSGRAD);
    let l2 = hp.has(FLAG_COUPLED_L2);
    let after = hp.has(FLAG_DECAY_AFTER);
    let AdamArrays {
        params,
        grads,
        exp_avg,
        exp_avg_sq,
        max_exp_avg_sq,
    } = *a;
    for i in start..end {
        let theta0 = *params.add(i);
        let theta = theta0 * hp.decay_factor;
        let mut g = *grads.add(i) * hp.grad_scale;
        if l2 {
            g = g + hp.l2 * theta0;
        }
        let m = *exp_avg.add(i) * hp.beta1 + hp.one_minus_beta1 * g;
        let v = *exp_avg_sq.add(i) * hp.beta2 + (hp.one_minus_beta2 * g) * g;
        *exp_avg.add(i) = canonical(m);
        *exp_avg_sq.add(i) = canonical(v);
        let second = if amsgrad {
            let vmax = max_propagating(*max_exp_avg_sq.add(i), v);
            *max_exp_avg_sq.add(i) = canonical(vmax);
            vmax
        } else {
            v
        };
        let denom = sqrt(second) / hp.bias_correction2_sqrt + hp.eps;
        let mut next = theta + (hp.neg_step_size * m) / denom;
        if after {
            next = next + hp.after_decay * next;
        }
        *params.add(i) = canonical(next);
    }
}

/// SGD / SGDW on elements `start..end`:
///
/// ```text
/// θ₀ ← θ; θ ← θ·decay                       (SGDW; decay = 1 for SGD)
/// g ← grad·grad_scale;  g ← g + l2·θ₀       (L2)
/// buf ← first ? g : buf·μ + grad_coeff·g    (momentum)
/// d ← nesterov ? g + μ·buf : buf            (momentum; d = g without)
/// θ ← θ + neg_lr·d
/// ```
///
/// # Safety
/// As [`adam_range`].
pub unsafe fn sgd_range(hp: &SgdHyper, a: &SgdArrays, start: usize, end: usize) {
    let l2 = hp.has(FLAG_COUPLED_L2);
    let momentum = hp.has(FLAG_USE_MOMENTUM);
    let nesterov = hp.has(FLAG_NESTEROV);
    let first = hp.has(FLAG_FIRST_STEP);
    let SgdArrays {
        params,
        grads,
        momentum_buffer: buffer,
    } = *a;
    for i in start..end {
        let theta0 = *params.add(i);
        let theta = theta0 * hp.decay_factor;
        let mut g = *grads.add(i) * hp.grad_scale;
        if l2 {
            g = g + hp.l2 * theta0;
        }
        let d = if momentum {
            let buf = if first {
                g
            } else {
                *buffer.add(i) * hp.momentum + hp.grad_coeff * g
            };
            *buffer.add(i) = canonical(buf);
            if nesterov {
                g + hp.momentum * buf
            } else {
                buf
            }
        } else {
            g
        };
        *params.add(i) = canonical(theta + hp.neg_lr * d);
    }
}

/// Σ x² over one block (≤ `NORM_BLOCK` elements) in f64: eight lane sums over whole groups
/// of 8 (element i to lane i mod 8; eight independent chains keep a SIMD loop busy), combined
/// as ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7)), then the 0–7 trailing elements in
/// order. Squares of f32 are exact in f64 and cannot overflow, so the sum is finite iff every
/// element is.
///
/// # Safety
/// `x` must be valid for `n` elements.
pub unsafe fn block_sum_squares(x: *const f32, n: usize) -> f64 {
    let mut lanes = [0f64; 8];
    let groups = n / 8;
    for q in 0..groups {
        for (l, acc) in lanes.iter_mut().enumerate() {
            let e = *x.add(8 * q + l) as f64;
            *acc += e * e;
        }
    }
    let mut sum = combine_lanes(&lanes);
    for i in 8 * groups..n {
        let e = *x.add(i) as f64;
        sum += e * e;
    }
    sum
}

/// ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7)).
#[inline(always)]
pub fn combine_lanes(l: &[f64; 8]) -> f64 {
    ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]))
}

/// Σ x² over `len` elements: block sums added in order from 0.
///
/// # Safety
/// `x` must be valid for `len` elements.
pub unsafe fn sum_squares(x: *const f32, len: usize) -> f64 {
    let mut total = 0f64;
    let mut start = 0;
    while start < len {
        let n = core::cmp::min(NORM_BLOCK, len - start);
        total += block_sum_squares(x.add(start), n);
        start += n;
    }
    total
}

/// Writes each block's Σ x² to `out[k]` (see [`crate::chunked::block_sums`]).
///
/// # Safety
/// `x` valid for `len` elements, `out` for `ceil(len / NORM_BLOCK)` f64s.
pub unsafe fn block_sums(x: *const f32, len: usize, out: *mut f64) {
    let mut start = 0;
    while start < len {
        let n = core::cmp::min(NORM_BLOCK, len - start);
        *out.add(start / NORM_BLOCK) = block_sum_squares(x.add(start), n);
        start += n;
    }
}

/// Whether every element is finite (no NaN, no ±Inf).
///
/// # Safety
/// `x` must be valid for `len` elements.
pub unsafe fn all_finite(x: *const f32, len: usize) -> bool {
    // Branch-free: the largest magnitude bit pattern reaches the exponent-all-ones range
    // exactly when some element is NaN or ±Inf.
    let mut largest = 0u32;
    for i in 0..len {
        largest = largest.max((*x.add(i)).to_bits() & 0x7fff_ffff);
    }
    largest < 0x7f80_0000
}

/// Correctly rounded f32 square root without std (wasm has `f32.sqrt`; native uses the
/// hardware instruction through the intrinsic).
#[inline(always)]
pub fn sqrt(x: f32) -> f32 {
    #[cfg(target_arch = "wasm32")]
    {
        core::arch::wasm32::f32_sqrt(x)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        // `core` has no sqrt for f32 on stable; the intrinsic lowers to sqrtss.
        unsafe { core_sqrt(x) }
    }
}

#[cfg(not(target_arch = "wasm32"))]
#[inline(always)]
unsafe fn core_sqrt(x: f32) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_mm_cvtss_f32, _mm_set_ss, _mm_sqrt_ss};
        _mm_cvtss_f32(_mm_sqrt_ss(_mm_set_ss(x)))
    }
    #[cfg(target_arch = "aarch64")]
    {
        use core::arch::aarch64::{vdup_n_f32, vdups_lane_f32, vsqrt_f32};
        vdups_lane_f32::<0>(vsqrt_f32(vdup_n_f32(x)))
    }
}

#[cfg(not(any(target_arch = "wasm32", target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("adamw-kernels needs a correctly rounded f32 sqrt: wasm32, x86_64 or aarch64");
