//! The blocks the host writes into linear memory before each call.
//!
//! Every scalar is already rounded to f32 by the host (PyTorch computes them in f64 and
//! rounds when the tensor op reads them), so every backend sees identical operands.
//! The TypeScript side never copies these layouts: the build reads them (and the flags and
//! NORM_BLOCK) from `examples/abi.rs` and generates its constants.

/// Adam family: v̄ ← max(v̄, v) and use v̄.
pub const FLAG_AMSGRAD: u32 = 1 << 0;
/// Coupled L2 decay (torch Adam / SGD `weight_decay`): g ← g + l2·θ before the moments.
pub const FLAG_COUPLED_L2: u32 = 1 << 1;
/// Adam family: decoupled decay after the update, θ ← θ + after_decay·θ (Hugging Face).
pub const FLAG_DECAY_AFTER: u32 = 1 << 2;
/// SGD family: keep a momentum buffer.
pub const FLAG_USE_MOMENTUM: u32 = 1 << 3;
/// SGD family: Nesterov momentum, d = g + μ·buf.
pub const FLAG_NESTEROV: u32 = 1 << 4;
/// SGD family: the group's first step, where torch initialises buf = g.
pub const FLAG_FIRST_STEP: u32 = 1 << 5;

/// Adam / AdamW, 12 × 4 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamHyper {
    /// g ← grad·grad_scale first: the clipping coefficient, negated for `maximize`
    /// (−(g·s) = g·(−s) exactly), 1 otherwise.
    pub grad_scale: f32,
    /// θ multiplier applied before the update: f32(1 − c_t) for decoupled decay, else 1.
    pub decay_factor: f32,
    /// f32(−c_t), read only with `FLAG_DECAY_AFTER`.
    pub after_decay: f32,
    /// Coupled L2 coefficient, read only with `FLAG_COUPLED_L2`.
    pub l2: f32,
    pub beta1: f32,
    pub one_minus_beta1: f32,
    pub beta2: f32,
    pub one_minus_beta2: f32,
    /// f32(sqrt(1 − β2^t)) for torch's ε placement, 1 for the ε̂ form (division by 1 is exact).
    pub bias_correction2_sqrt: f32,
    pub eps: f32,
    /// f32(−lr_t / (1 − β1^t)), or f32(−lr_t·sqrt(1 − β2^t) / (1 − β1^t)) for the ε̂ form.
    pub neg_step_size: f32,
    pub flags: u32,
}

/// SGD (torch.optim.SGD) and SGDW (the paper's Algorithm 1), 7 × 4 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdHyper {
    /// As in [`AdamHyper::grad_scale`].
    pub grad_scale: f32,
    /// SGDW: f32(1 − c_t); SGD: 1.
    pub decay_factor: f32,
    /// Coupled L2 coefficient (SGD), read only with `FLAG_COUPLED_L2`.
    pub l2: f32,
    /// μ (β1 in the paper).
    pub momentum: f32,
    /// Weight of g in the buffer: SGD f32(1 − dampening); SGDW f32(η_t·α).
    pub grad_coeff: f32,
    /// SGD: f32(−lr_t); SGDW: −1 (θ ← θ − m).
    pub neg_lr: f32,
    pub flags: u32,
}

macro_rules! has_flag {
    ($t:ty) => {
        impl $t {
            pub const fn has(&self, flag: u32) -> bool {
                self.flags & flag != 0
            }
        }
    };
}
has_flag!(AdamHyper);
has_flag!(SgdHyper);

#[cfg(any(test, feature = "std"))]
impl AdamHyper {
    /// torch.optim.AdamW's scalars for step `step` (bias corrections included), computed in f64
    /// and rounded to f32 once, as the host does; `after_decay` and `l2` carry the same decay so
    /// that any `flags` combination has meaningful operands. Shared by tests and the native bench.
    pub fn adamw(lr: f64, betas: (f64, f64), eps: f64, weight_decay: f64, step: i32, flags: u32) -> Self {
        let (b1, b2) = betas;
        AdamHyper {
            grad_scale: 1.0,
            decay_factor: (1.0 - lr * weight_decay) as f32,
            after_decay: (-lr * weight_decay) as f32,
            l2: weight_decay as f32,
            beta1: b1 as f32,
            one_minus_beta1: (1.0 - b1) as f32,
            beta2: b2 as f32,
            one_minus_beta2: (1.0 - b2) as f32,
            bias_correction2_sqrt: (1.0 - b2.powi(step)).sqrt() as f32,
            eps: eps as f32,
            neg_step_size: (-lr / (1.0 - b1.powi(step))) as f32,
            flags,
        }
    }
}

/// The arrays one Adam-family update works on, each `len` f32s in the caller's memory;
/// `max_exp_avg_sq` is touched only with `FLAG_AMSGRAD` (it may dangle otherwise).
#[derive(Clone, Copy, Debug)]
pub struct AdamArrays {
    pub params: *mut f32,
    pub grads: *const f32,
    pub exp_avg: *mut f32,
    pub exp_avg_sq: *mut f32,
    pub max_exp_avg_sq: *mut f32,
}

/// The arrays one SGD-family update works on; `momentum_buffer` is touched only with
/// `FLAG_USE_MOMENTUM`.
#[derive(Clone, Copy, Debug)]
pub struct SgdArrays {
    pub params: *mut f32,
    pub grads: *const f32,
    pub momentum_buffer: *mut f32,
}

/// xorshift32: deterministic data for tests and benchmarks without dependencies (the
/// TypeScript tests' `xorshift32` in test/helpers.ts is the same generator).
pub fn xorshift32(x: u32) -> u32 {
    let mut x = if x == 0 { 1 } else { x };
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    x
}

/// Sums of squares are formed per block of this many elements and the block sums added in
/// order, so a threaded kernel that splits work at block boundaries gets the same bits.
pub const NORM_BLOCK: usize = 4096;
