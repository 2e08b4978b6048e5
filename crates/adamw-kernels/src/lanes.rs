//! A 4-lane f32 vector abstraction, so the chunked loops are written once and run either on
//! wasm `v128` (the shipped SIMD kernel) or on a portable `[f32; 4]` (native tests diff it
//! against the scalar reference).

use crate::scalar;

pub trait F32x4: Copy {
    /// Four f64 accumulators for sums of squares.
    type Squares: Copy;
    /// The four accumulators as plain lanes (0..4).
    fn squares_lanes(acc: Self::Squares) -> [f64; 4];

    /// # Safety
    /// `p` must be valid for reading 4 f32s; no alignment is required.
    unsafe fn load(p: *const f32) -> Self;
    /// # Safety
    /// `p` must be valid for writing 4 f32s; no alignment is required.
    unsafe fn store(self, p: *mut f32);
    fn splat(x: f32) -> Self;
    fn add(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    fn div(self, o: Self) -> Self;
    fn sqrt(self) -> Self;
    /// NaN-propagating lane-wise max.
    fn max(self, o: Self) -> Self;
    /// All bits set in the lanes that are NaN, none in the others.
    fn nan_lanes(self) -> Self;
    /// Bitwise or.
    fn or(self, o: Self) -> Self;
    /// Whether any bit of any lane is set.
    fn any_set(self) -> bool;
    /// NaN lanes replaced by the canonical quiet NaN (see [`scalar::canonical`]).
    fn canonical(self) -> Self;
    fn to_array(self) -> [f32; 4];

    fn squares_zero() -> Self::Squares;
    /// acc[l] += (x[l] as f64)², exactly as the scalar reference's lane sums.
    fn squares_add(acc: Self::Squares, x: Self) -> Self::Squares;
}

/// Plain-array lanes with exactly the scalar reference's per-lane semantics.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Portable(pub [f32; 4]);

impl Portable {
    #[inline(always)]
    fn map2(self, o: Self, f: impl Fn(f32, f32) -> f32) -> Self {
        let (a, b) = (self.0, o.0);
        Portable([f(a[0], b[0]), f(a[1], b[1]), f(a[2], b[2]), f(a[3], b[3])])
    }
}

impl F32x4 for Portable {
    type Squares = [f64; 4];

    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        Portable(core::ptr::read_unaligned(p as *const [f32; 4]))
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        core::ptr::write_unaligned(p as *mut [f32; 4], self.0)
    }
    #[inline(always)]
    fn splat(x: f32) -> Self {
        Portable([x; 4])
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self.map2(o, |a, b| a + b)
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        self.map2(o, |a, b| a * b)
    }
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        self.map2(o, |a, b| a / b)
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        Portable(self.0.map(scalar::sqrt))
    }
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        self.map2(o, scalar::max_propagating)
    }
    #[inline(always)]
    fn nan_lanes(self) -> Self {
        Portable(self.0.map(|x| f32::from_bits(if x.is_nan() { u32::MAX } else { 0 })))
    }
    #[inline(always)]
    fn or(self, o: Self) -> Self {
        self.map2(o, |a, b| f32::from_bits(a.to_bits() | b.to_bits()))
    }
    #[inline(always)]
    fn any_set(self) -> bool {
        self.0.iter().any(|x| x.to_bits() != 0)
    }
    #[inline(always)]
    fn canonical(self) -> Self {
        Portable(self.0.map(scalar::canonical))
    }
    #[inline(always)]
    fn to_array(self) -> [f32; 4] {
        self.0
    }
    #[inline(always)]
    fn squares_zero() -> [f64; 4] {
        [0.0; 4]
    }
    #[inline(always)]
    fn squares_add(mut acc: [f64; 4], x: Self) -> [f64; 4] {
        for l in 0..4 {
            let e = x.0[l] as f64;
            acc[l] += e * e;
        }
        acc
    }
    #[inline(always)]
    fn squares_lanes(acc: [f64; 4]) -> [f64; 4] {
        acc
    }
}
