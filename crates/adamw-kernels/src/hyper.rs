//! The blocks the host writes into linear memory before each call.
//!
//! Every scalar is already rounded to f32 by the host (PyTorch computes them in f64 and
//! rounds when the tensor op reads them), so every backend sees identical operands.
//! Layouts are mirrored in packages/adamw-wasm/src/kernels/hyper.ts.

/// Adam family: v̄ ← max(v̄, v) and use v̄.
pub const FLAG_AMSGRAD: u32 = 1 << 0;
/// Coupled L2 decay (torch Adam / SGD `weight_decay`): g ← g + l2·θ before the moments.
pub const FLAG_L2: u32 = 1 << 1;
/// Adam family: decoupled decay after the update, θ ← θ + after_decay·θ (Hugging Face).
pub const FLAG_DECAY_AFTER: u32 = 1 << 2;
/// SGD family: keep a momentum buffer.
pub const FLAG_MOMENTUM: u32 = 1 << 3;
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
    /// Coupled L2 coefficient, read only with `FLAG_L2`.
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
    /// Coupled L2 coefficient (SGD), read only with `FLAG_L2`.
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

/// The arrays one update works on, each `len` f32s in the caller's memory. `state_a`/`state_b`
/// /`state_c` are expAvg, expAvgSq, maxExpAvgSq for Adam and momentumBuffer (a) for SGD;
/// arrays a flag does not ask for are never touched (they may dangle).
#[derive(Clone, Copy, Debug)]
pub struct Arrays {
    pub params: *mut f32,
    pub grads: *const f32,
    pub state_a: *mut f32,
    pub state_b: *mut f32,
    pub state_c: *mut f32,
}

/// Sums of squares are formed per block of this many elements and the block sums added in
/// order, so a threaded kernel that splits work at block boundaries gets the same bits.
pub const NORM_BLOCK: usize = 4096;
