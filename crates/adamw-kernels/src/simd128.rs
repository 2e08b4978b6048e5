//! wasm32 `simd128` lanes for the chunked loop. Loads and stores are unaligned-safe
//! (`v128.load`/`v128.store` take any address).

use crate::lanes::F32x4;
use core::arch::wasm32::*;

#[derive(Clone, Copy)]
pub struct Wasm(v128);

impl F32x4 for Wasm {
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        Wasm(v128_load(p as *const v128))
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        v128_store(p as *mut v128, self.0)
    }
    #[inline(always)]
    fn splat(x: f32) -> Self {
        Wasm(f32x4_splat(x))
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        Wasm(f32x4_add(self.0, o.0))
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        Wasm(f32x4_mul(self.0, o.0))
    }
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        Wasm(f32x4_div(self.0, o.0))
    }
    #[inline(always)]
    fn neg(self) -> Self {
        Wasm(f32x4_neg(self.0))
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        Wasm(f32x4_sqrt(self.0))
    }
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        // f32x4.max returns NaN if either lane is NaN, as the scalar reference does.
        Wasm(f32x4_max(self.0, o.0))
    }
}
