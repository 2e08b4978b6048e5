//! The portable reference loop: the specification every other implementation is diffed against.
//!
//! Operation order follows PyTorch 1.13 `_single_tensor_adamw` / `_single_tensor_adam`, with one
//! rounding per operation and no fused multiply-add, so a host doing f32 arithmetic (wasm, or
//! JavaScript with `Math.fround` after each operation) reproduces it bit for bit:
//!
//! ```text
//! θ ← θ·decay                       (AdamW; decay = 1 for Adam)
//! g ← −g                            (maximize)
//! g ← g + l2·θ                      (Adam's coupled L2)
//! m ← m·β1 + (1−β1)·g
//! v ← v·β2 + ((1−β2)·g)·g
//! v̄ ← max(v̄, v) (NaN-propagating)  (amsgrad; v̄ replaces v below)
//! θ ← θ + (−step_size·m) / (sqrt(v)/sqrt(bc2) + ε)
//! ```

use crate::hyper::{AdamArrays, AdamHyper, FLAG_AMSGRAD, FLAG_L2, FLAG_MAXIMIZE};

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

/// Updates elements `start..end` in place.
///
/// # Safety
/// Every array must be valid for `end` elements; `max_exp_avg_sq` only when amsgrad is set.
pub unsafe fn adam_range(hp: &AdamHyper, a: &AdamArrays, start: usize, end: usize) {
    let AdamArrays { params, grads, exp_avg, exp_avg_sq, max_exp_avg_sq } = *a;
    let amsgrad = hp.has(FLAG_AMSGRAD);
    let maximize = hp.has(FLAG_MAXIMIZE);
    let l2 = hp.has(FLAG_L2);
    for i in start..end {
        let theta = *params.add(i) * hp.decay_factor;
        let mut g = *grads.add(i);
        if maximize {
            g = -g;
        }
        if l2 {
            g = g + hp.l2 * theta;
        }
        let m = *exp_avg.add(i) * hp.beta1 + hp.one_minus_beta1 * g;
        let v = *exp_avg_sq.add(i) * hp.beta2 + (hp.one_minus_beta2 * g) * g;
        *exp_avg.add(i) = m;
        *exp_avg_sq.add(i) = v;
        let second = if amsgrad {
            let vmax = max_propagating(*max_exp_avg_sq.add(i), v);
            *max_exp_avg_sq.add(i) = vmax;
            vmax
        } else {
            v
        };
        let denom = sqrt(second) / hp.bias_correction2_sqrt + hp.eps;
        *params.add(i) = theta + (hp.neg_step_size * m) / denom;
    }
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
        use core::arch::aarch64::{vdups_lane_f32, vdup_n_f32, vsqrt_f32};
        vdups_lane_f32::<0>(vsqrt_f32(vdup_n_f32(x)))
    }
}

#[cfg(not(any(target_arch = "wasm32", target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("adamw-kernels needs a correctly rounded f32 sqrt: wasm32, x86_64 or aarch64");
