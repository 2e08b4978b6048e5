//! wasm32 `simd128` lanes for the chunked loops. Loads and stores are unaligned-safe
//! (`v128.load`/`v128.store` take any address).

use crate::lanes::F32x4;
use core::arch::wasm32::*;

#[derive(Clone, Copy)]
pub struct Wasm(v128);

impl F32x4 for Wasm {
    /// f64x2 sums of lanes (0, 1) and (2, 3).
    type Squares = (v128, v128);

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
    fn sqrt(self) -> Self {
        Wasm(f32x4_sqrt(self.0))
    }
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        // f32x4.max returns NaN if either lane is NaN, as the scalar reference does.
        Wasm(f32x4_max(self.0, o.0))
    }
    #[inline(always)]
    fn nan_lanes(self) -> Self {
        // NaN lanes are the only ones unequal to themselves.
        Wasm(f32x4_ne(self.0, self.0))
    }
    #[inline(always)]
    fn or(self, o: Self) -> Self {
        Wasm(v128_or(self.0, o.0))
    }
    #[inline(always)]
    fn any_set(self) -> bool {
        v128_any_true(self.0)
    }
    #[inline(always)]
    fn canonical(self) -> Self {
        Wasm(v128_bitselect(f32x4_splat(f32::NAN), self.0, f32x4_ne(self.0, self.0)))
    }
    #[inline(always)]
    fn to_array(self) -> [f32; 4] {
        [
            f32x4_extract_lane::<0>(self.0),
            f32x4_extract_lane::<1>(self.0),
            f32x4_extract_lane::<2>(self.0),
            f32x4_extract_lane::<3>(self.0),
        ]
    }
    #[inline(always)]
    fn squares_zero() -> (v128, v128) {
        (f64x2_splat(0.0), f64x2_splat(0.0))
    }
    #[inline(always)]
    fn squares_add(acc: (v128, v128), x: Self) -> (v128, v128) {
        let low = f64x2_promote_low_f32x4(x.0);
        let high = f64x2_promote_low_f32x4(i32x4_shuffle::<2, 3, 2, 3>(x.0, x.0));
        (f64x2_add(acc.0, f64x2_mul(low, low)), f64x2_add(acc.1, f64x2_mul(high, high)))
    }
    #[inline(always)]
    fn squares_lanes(acc: (v128, v128)) -> [f64; 4] {
        let (a, b) = acc;
        [
            f64x2_extract_lane::<0>(a),
            f64x2_extract_lane::<1>(a),
            f64x2_extract_lane::<0>(b),
            f64x2_extract_lane::<1>(b),
        ]
    }
}
