//! Prints, as JSON, what the TypeScript host must agree on with the kernels: the flags, the
//! norm block and the hyperparameter blocks' field offsets. scripts/build.mjs runs it and
//! generates the host's constants from it, so nothing is copied by hand.

use adamw_kernels::*;
use core::mem::{offset_of, size_of};

/// `"name":offset` pairs of a block's fields; panics if a field was left out (every field is 4 bytes).
macro_rules! fields {
    ($t:ty, [$($f:ident),* $(,)?]) => {{
        let fields: &[(&str, usize)] = &[$((stringify!($f), offset_of!($t, $f))),*];
        assert_eq!(fields.len() * 4, size_of::<$t>(), "{}: list every field", stringify!($t));
        let pairs: Vec<String> = fields.iter().map(|(name, offset)| format!("\"{name}\":{offset}")).collect();
        format!("{{\"bytes\":{},\"fields\":{{{}}}}}", size_of::<$t>(), pairs.join(","))
    }};
}

fn main() {
    let flags = [
        ("FLAG_AMSGRAD", FLAG_AMSGRAD),
        ("FLAG_COUPLED_L2", FLAG_COUPLED_L2),
        ("FLAG_DECAY_AFTER", FLAG_DECAY_AFTER),
        ("FLAG_USE_MOMENTUM", FLAG_USE_MOMENTUM),
        ("FLAG_NESTEROV", FLAG_NESTEROV),
        ("FLAG_FIRST_STEP", FLAG_FIRST_STEP),
    ];
    let flags: Vec<String> = flags.iter().map(|(name, bit)| format!("\"{name}\":{bit}")).collect();
    let adam = fields!(
        AdamHyper,
        [
            grad_scale,
            decay_factor,
            after_decay,
            l2,
            beta1,
            one_minus_beta1,
            beta2,
            one_minus_beta2,
            bias_correction2_sqrt,
            eps,
            neg_step_size,
            flags,
        ]
    );
    let sgd = fields!(SgdHyper, [grad_scale, decay_factor, l2, momentum, grad_coeff, neg_lr, flags]);
    println!(
        "{{\"normBlock\":{NORM_BLOCK},\"flags\":{{{}}},\"adamHyper\":{adam},\"sgdHyper\":{sgd}}}",
        flags.join(",")
    );
}
