//! The hyperparameter block the host writes into linear memory before each call.
//!
//! Every scalar is already rounded to f32 by the host (PyTorch computes them in f64 and
//! rounds when the tensor op reads them), so every backend sees identical operands.

/// Bit flags in [`AdamHyper::flags`].
pub const FLAG_AMSGRAD: u32 = 1 << 0;
pub const FLAG_MAXIMIZE: u32 = 1 << 1;
/// Coupled L2 decay (torch.optim.Adam's `weight_decay`): g ← g + l2·θ before the moments.
pub const FLAG_L2: u32 = 1 << 2;

/// Layout shared with the TypeScript side (`src/kernels/hyper.ts`): 10 × 4 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamHyper {
    /// θ multiplier applied first: f32(1 − lr·wd) for AdamW, 1 for Adam.
    pub decay_factor: f32,
    /// Coupled L2 coefficient, read only when `FLAG_L2` is set.
    pub l2: f32,
    pub beta1: f32,
    pub one_minus_beta1: f32,
    pub beta2: f32,
    pub one_minus_beta2: f32,
    /// f32(sqrt(1 − β2^t)).
    pub bias_correction2_sqrt: f32,
    pub eps: f32,
    /// f32(−lr / (1 − β1^t)).
    pub neg_step_size: f32,
    pub flags: u32,
}

impl AdamHyper {
    pub const fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }
}

/// The arrays one update works on, each `len` f32s in the caller's memory.
/// `max_exp_avg_sq` is read only when `FLAG_AMSGRAD` is set (it may dangle otherwise).
#[derive(Clone, Copy, Debug)]
pub struct AdamArrays {
    pub params: *mut f32,
    pub grads: *const f32,
    pub exp_avg: *mut f32,
    pub exp_avg_sq: *mut f32,
    pub max_exp_avg_sq: *mut f32,
}
