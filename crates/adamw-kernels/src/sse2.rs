//! x86-64 SSE2 lanes for the chunked loops: the same 128-bit width as wasm `simd128`, so a
//! native build with them measures what the shipped loop could reach at that width (the
//! benchmark's `native 128-bit` row). Not shipped; diffed against the scalar reference in tests.

use crate::lanes::F32x4;
use core::arch::x86_64::*;

#[derive(Clone, Copy)]
pub struct Sse2(__m128);

impl Sse2 {
    #[inline(always)]
    fn nan() -> __m128 {
        unsafe { _mm_set1_ps(f32::NAN) }
    }
    /// Lanes of `nan_mask` take `nan`, the others `x`.
    #[inline(always)]
    fn select_nan(nan_mask: __m128, x: __m128) -> __m128 {
        unsafe { _mm_or_ps(_mm_and_ps(nan_mask, Self::nan()), _mm_andnot_ps(nan_mask, x)) }
    }
}

impl F32x4 for Sse2 {
    /// f64 sums of lanes (0, 1) and (2, 3).
    type Squares = (__m128d, __m128d);

    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        Sse2(_mm_loadu_ps(p))
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        _mm_storeu_ps(p, self.0)
    }
    #[inline(always)]
    fn splat(x: f32) -> Self {
        Sse2(unsafe { _mm_set1_ps(x) })
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        Sse2(unsafe { _mm_add_ps(self.0, o.0) })
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        Sse2(unsafe { _mm_mul_ps(self.0, o.0) })
    }
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        Sse2(unsafe { _mm_div_ps(self.0, o.0) })
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        Sse2(unsafe { _mm_sqrt_ps(self.0) })
    }
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        // maxps is `a > b ? a : b` lane-wise, as the reference for numbers (ties and ±0 give
        // b); where either lane is NaN the reference gives NaN.
        unsafe { Sse2(Self::select_nan(_mm_cmpunord_ps(self.0, o.0), _mm_max_ps(self.0, o.0))) }
    }
    #[inline(always)]
    fn nan_lanes(self) -> Self {
        Sse2(unsafe { _mm_cmpunord_ps(self.0, self.0) })
    }
    #[inline(always)]
    fn or(self, o: Self) -> Self {
        Sse2(unsafe { _mm_or_ps(self.0, o.0) })
    }
    #[inline(always)]
    fn any_set(self) -> bool {
        unsafe { _mm_movemask_epi8(_mm_cmpeq_epi32(_mm_castps_si128(self.0), _mm_setzero_si128())) != 0xffff }
    }
    #[inline(always)]
    fn canonical(self) -> Self {
        unsafe { Sse2(Self::select_nan(_mm_cmpunord_ps(self.0, self.0), self.0)) }
    }
    #[inline(always)]
    fn to_array(self) -> [f32; 4] {
        let mut out = [0f32; 4];
        unsafe { _mm_storeu_ps(out.as_mut_ptr(), self.0) };
        out
    }
    #[inline(always)]
    fn squares_zero() -> (__m128d, __m128d) {
        unsafe { (_mm_setzero_pd(), _mm_setzero_pd()) }
    }
    #[inline(always)]
    fn squares_add(acc: (__m128d, __m128d), x: Self) -> (__m128d, __m128d) {
        unsafe {
            let low = _mm_cvtps_pd(x.0);
            let high = _mm_cvtps_pd(_mm_movehl_ps(x.0, x.0));
            (_mm_add_pd(acc.0, _mm_mul_pd(low, low)), _mm_add_pd(acc.1, _mm_mul_pd(high, high)))
        }
    }
    #[inline(always)]
    fn squares_lanes(acc: (__m128d, __m128d)) -> [f64; 4] {
        let mut out = [0f64; 4];
        unsafe {
            _mm_storeu_pd(out.as_mut_ptr(), acc.0);
            _mm_storeu_pd(out.as_mut_ptr().add(2), acc.1);
        }
        out
    }
}
