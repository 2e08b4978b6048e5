//! Fused optimizer update loops (Adam/AdamW, SGD/SGDW) and gradient reductions for WebAssembly.
//!
//! `scalar` is the specification; `chunked` holds the 4-lane loops, instantiated with wasm
//! `simd128` lanes in the SIMD build and with portable lanes in native tests. The exported
//! C ABI sees only pointers into linear memory and `#[repr(C)]` hyperparameter blocks;
//! nothing allocates.
// `std` (off by default) only adds host-side helpers for tests and the native bench.
#![cfg_attr(not(any(test, feature = "std")), no_std)]
// f32.sqrt as an intrinsic; the wasm build needs a nightly-capable compiler anyway (build-std).
#![cfg_attr(target_arch = "wasm32", feature(wasm_numeric_instr))]

pub mod chunked;
pub mod hyper;
pub mod lanes;
pub mod scalar;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod simd128;
#[cfg(target_arch = "x86_64")]
pub mod sse2;

pub use hyper::*;

/// The widest implementation this build has (the exports' only dependency).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod best {
    use super::*;
    pub unsafe fn adam(hp: &AdamHyper, a: &AdamArrays, len: usize) {
        chunked::adam::<simd128::Wasm>(hp, a, len)
    }
    pub unsafe fn sgd(hp: &SgdHyper, a: &SgdArrays, len: usize) {
        chunked::sgd::<simd128::Wasm>(hp, a, len)
    }
    pub unsafe fn sum_squares(x: *const f32, len: usize) -> f64 {
        chunked::sum_squares::<simd128::Wasm>(x, len)
    }
    pub unsafe fn all_finite(x: *const f32, len: usize) -> bool {
        chunked::all_finite::<simd128::Wasm>(x, len)
    }
    pub unsafe fn block_sums(x: *const f32, len: usize, out: *mut f64) {
        chunked::block_sums::<simd128::Wasm>(x, len, out)
    }
}

#[cfg(all(target_arch = "wasm32", not(target_feature = "simd128")))]
mod best {
    use super::*;
    pub unsafe fn adam(hp: &AdamHyper, a: &AdamArrays, len: usize) {
        scalar::adam_range(hp, a, 0, len)
    }
    pub unsafe fn sgd(hp: &SgdHyper, a: &SgdArrays, len: usize) {
        scalar::sgd_range(hp, a, 0, len)
    }
    pub use scalar::{all_finite, block_sums, sum_squares};
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
        let arrays = AdamArrays {
            params,
            grads,
            exp_avg,
            exp_avg_sq,
            max_exp_avg_sq,
        };
        best::adam(&*hp, &arrays, len);
    }

    /// # Safety
    /// `hp` points at an `SgdHyper`; the arrays are `len` f32s each, inside linear memory.
    #[no_mangle]
    pub unsafe extern "C" fn sgd_step(hp: *const SgdHyper, params: *mut f32, grads: *const f32, momentum_buffer: *mut f32, len: usize) {
        let arrays = SgdArrays {
            params,
            grads,
            momentum_buffer,
        };
        best::sgd(&*hp, &arrays, len);
    }

    /// # Safety
    /// `x` is `len` f32s inside linear memory.
    #[no_mangle]
    pub unsafe extern "C" fn sum_squares(x: *const f32, len: usize) -> f64 {
        best::sum_squares(x, len)
    }

    /// # Safety
    /// `x` is `len` f32s, `out` `ceil(len / NORM_BLOCK)` f64s, inside linear memory.
    #[no_mangle]
    pub unsafe extern "C" fn sum_squares_blocks(x: *const f32, len: usize, out: *mut f64) {
        best::block_sums(x, len, out)
    }

    /// # Safety
    /// `x` is `len` f32s inside linear memory.
    #[no_mangle]
    pub unsafe extern "C" fn all_finite(x: *const f32, len: usize) -> u32 {
        best::all_finite(x, len) as u32
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
