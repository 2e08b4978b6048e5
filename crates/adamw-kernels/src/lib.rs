//! Fused AdamW / Adam update loops for WebAssembly.
//!
//! `scalar` is the specification; `chunked` is the 4-lane loop, instantiated with wasm
//! `simd128` lanes in the SIMD build and with portable lanes in native tests. The exported
//! C ABI sees only pointers into linear memory and a [`AdamHyper`] block; nothing allocates.
#![cfg_attr(not(test), no_std)]
// f32.sqrt as an intrinsic; the wasm build needs a nightly-capable compiler anyway (build-std).
#![cfg_attr(target_arch = "wasm32", feature(wasm_numeric_instr))]

pub mod chunked;
pub mod hyper;
pub mod lanes;
pub mod scalar;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod simd128;

pub use hyper::{AdamArrays, AdamHyper, FLAG_AMSGRAD, FLAG_L2, FLAG_MAXIMIZE};

/// Bumped whenever the exported signatures or `AdamHyper`'s layout change.
pub const ABI_VERSION: u32 = 1;

/// Runs one update with the widest implementation this build has.
///
/// # Safety
/// As [`chunked::adam`]: arrays valid for `len` f32s, not overlapping.
pub unsafe fn adam_step_dispatch(hp: &AdamHyper, arrays: &AdamArrays, len: usize) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    chunked::adam::<simd128::Wasm>(hp, arrays, len);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    scalar::adam_range(hp, arrays, 0, len);
}

#[cfg(target_arch = "wasm32")]
mod exports {
    use super::*;

    /// # Safety
    /// `hp` points at an `AdamHyper`; the arrays are `len` f32s each, inside linear memory.
    #[no_mangle]
    pub unsafe extern "C" fn adam_step(
        hp: *const AdamHyper,
        params: *mut f32,
        grads: *const f32,
        exp_avg: *mut f32,
        exp_avg_sq: *mut f32,
        max_exp_avg_sq: *mut f32,
        len: usize,
    ) {
        let arrays = AdamArrays { params, grads, exp_avg, exp_avg_sq, max_exp_avg_sq };
        adam_step_dispatch(&*hp, &arrays, len);
    }

    #[no_mangle]
    pub extern "C" fn abi_version() -> u32 {
        ABI_VERSION
    }

    /// 4 in the simd128 build, 1 in the baseline build: lets the host confirm what it loaded.
    #[no_mangle]
    pub extern "C" fn simd_lanes() -> u32 {
        if cfg!(target_feature = "simd128") {
            4
        } else {
            1
        }
    }

    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo) -> ! {
        core::arch::wasm32::unreachable()
    }
}

#[cfg(test)]
mod tests;
