//! Native tests: the 4-lane loops (portable lanes) must equal the scalar reference bit for
//! bit, on every length, flag combination and misalignment; the reference must follow the maths.

use crate::chunked;
use crate::hyper::*;
use crate::lanes::Portable;
use crate::scalar;

/// Deterministic test data without dependencies (the crate's xorshift32).
struct Rng(u32);
impl Rng {
    fn next_u32(&mut self) -> u32 {
        self.0 = xorshift32(self.0);
        self.0
    }
    /// Values spanning many binades, with exact zeros and sign changes.
    fn value(&mut self) -> f32 {
        let r = self.next_u32();
        if r % 13 == 0 {
            return 0.0;
        }
        let mantissa = (r >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0;
        let exponent = (r % 17) as i32 - 10;
        mantissa * 2f32.powi(exponent)
    }
}

fn adam_hyper(step: i32, flags: u32, grad_scale: f32) -> AdamHyper {
    AdamHyper {
        grad_scale,
        ..AdamHyper::adamw(1e-3, (0.9, 0.999), 1e-8, 1e-2, step, flags)
    }
}

fn sgd_hyper(step: i32, flags: u32, grad_scale: f32) -> SgdHyper {
    let first = if step == 1 { FLAG_FIRST_STEP } else { 0 };
    SgdHyper {
        grad_scale,
        decay_factor: 0.999,
        l2: 1e-2,
        momentum: 0.9,
        grad_coeff: 0.75,
        neg_lr: -0.05,
        flags: flags | first,
    }
}

struct State {
    params: Vec<f32>,
    a: Vec<f32>,
    b: Vec<f32>,
    c: Vec<f32>,
}

/// The first index whose bits differ, NaN payloads included: the kernels write one NaN only.
fn same_bits(x: &[f32], y: &[f32]) -> Option<usize> {
    x.iter().zip(y).position(|(p, q)| p.to_bits() != q.to_bits())
}

/// Five arrays: θ, g, and three state arrays, read as Adam's (m, v, v̄) or SGD's (buffer = a).
#[derive(Clone, Copy)]
struct Ptrs {
    params: *mut f32,
    grads: *const f32,
    a: *mut f32,
    b: *mut f32,
    c: *mut f32,
}
impl Ptrs {
    fn adam(&self) -> AdamArrays {
        AdamArrays {
            params: self.params,
            grads: self.grads,
            exp_avg: self.a,
            exp_avg_sq: self.b,
            max_exp_avg_sq: self.c,
        }
    }
    fn sgd(&self) -> SgdArrays {
        SgdArrays {
            params: self.params,
            grads: self.grads,
            momentum_buffer: self.a,
        }
    }
}

/// One update over `len` elements starting at `arrays`.
type Kernel = unsafe fn(step: i32, flags: u32, grad_scale: f32, arrays: &Ptrs, len: usize);

unsafe fn adam_scalar(step: i32, flags: u32, s: f32, a: &Ptrs, n: usize) {
    scalar::adam_range(&adam_hyper(step, flags, s), &a.adam(), 0, n)
}
unsafe fn adam_chunked(step: i32, flags: u32, s: f32, a: &Ptrs, n: usize) {
    chunked::adam::<Portable>(&adam_hyper(step, flags, s), &a.adam(), n)
}
#[cfg(target_arch = "x86_64")]
unsafe fn adam_sse2(step: i32, flags: u32, s: f32, a: &Ptrs, n: usize) {
    chunked::adam::<crate::sse2::Sse2>(&adam_hyper(step, flags, s), &a.adam(), n)
}
#[cfg(target_arch = "x86_64")]
unsafe fn sgd_sse2(step: i32, flags: u32, s: f32, a: &Ptrs, n: usize) {
    chunked::sgd::<crate::sse2::Sse2>(&sgd_hyper(step, flags, s), &a.sgd(), n)
}
unsafe fn sgd_scalar(step: i32, flags: u32, s: f32, a: &Ptrs, n: usize) {
    scalar::sgd_range(&sgd_hyper(step, flags, s), &a.sgd(), 0, n)
}
unsafe fn sgd_chunked(step: i32, flags: u32, s: f32, a: &Ptrs, n: usize) {
    chunked::sgd::<Portable>(&sgd_hyper(step, flags, s), &a.sgd(), n)
}

/// Runs `steps` updates on arrays that start `offset` elements into their buffers, so the
/// vector loop also sees addresses that are not 16-byte aligned.
fn run(kernel: Kernel, len: usize, offset: usize, flags: u32, grad_scale: f32, steps: i32, seed: u32) -> State {
    let mut rng = Rng(seed | 1);
    let buf = |fill: bool, rng: &mut Rng| -> Vec<f32> { (0..len + offset).map(|_| if fill { rng.value() } else { 0.0 }).collect() };
    let mut st = State {
        params: buf(true, &mut rng),
        a: buf(false, &mut rng),
        b: buf(false, &mut rng),
        c: buf(false, &mut rng),
    };
    for step in 1..=steps {
        let grads = buf(true, &mut rng);
        let arrays = unsafe {
            Ptrs {
                params: st.params.as_mut_ptr().add(offset),
                grads: grads.as_ptr().add(offset),
                a: st.a.as_mut_ptr().add(offset),
                b: st.b.as_mut_ptr().add(offset),
                c: st.c.as_mut_ptr().add(offset),
            }
        };
        unsafe { kernel(step, flags, grad_scale, &arrays, len) };
    }
    st
}

fn assert_same(x: &State, y: &State, what: &str) {
    for (name, p, q) in [
        ("params", &x.params, &y.params),
        ("a", &x.a, &y.a),
        ("b", &x.b, &y.b),
        ("c", &x.c, &y.c),
    ] {
        if let Some(i) = same_bits(p, q) {
            panic!("{what}: {name} differs at {i}: {} vs {}", p[i], q[i]);
        }
    }
}

fn lengths() -> impl Iterator<Item = usize> {
    (0..=67).chain([127, 128, 129, 1000, 1023, 4099])
}

#[test]
fn adam_chunked_equals_scalar_bitwise() {
    let flag_sets = (0..8u32).map(|k| {
        (if k & 1 != 0 { FLAG_AMSGRAD } else { 0 })
            | (if k & 2 != 0 { FLAG_COUPLED_L2 } else { 0 })
            | (if k & 4 != 0 { FLAG_DECAY_AFTER } else { 0 })
    });
    for flags in flag_sets {
        for len in lengths() {
            for (offset, scale) in [(0, 1.0f32), (1, -1.0), (3, 0.37)] {
                let seed = (len as u32) * 31 + flags * 7 + offset as u32;
                let x = run(adam_scalar, len, offset, flags, scale, 4, seed);
                let y = run(adam_chunked, len, offset, flags, scale, 4, seed);
                assert_same(&x, &y, &format!("adam len {len} flags {flags:#b} offset {offset} scale {scale}"));
                #[cfg(target_arch = "x86_64")]
                assert_same(
                    &x,
                    &run(adam_sse2, len, offset, flags, scale, 4, seed),
                    &format!("adam sse2 len {len} flags {flags:#b} offset {offset}"),
                );
            }
        }
    }
}

#[test]
fn sgd_chunked_equals_scalar_bitwise() {
    let flag_sets = [
        0,
        FLAG_COUPLED_L2,
        FLAG_USE_MOMENTUM,
        FLAG_USE_MOMENTUM | FLAG_COUPLED_L2,
        FLAG_USE_MOMENTUM | FLAG_NESTEROV,
        FLAG_USE_MOMENTUM | FLAG_NESTEROV | FLAG_COUPLED_L2,
    ];
    for flags in flag_sets {
        for len in lengths() {
            for (offset, scale) in [(0, 1.0f32), (1, -1.0), (2, 0.5)] {
                let seed = (len as u32) * 17 + flags + offset as u32;
                let x = run(sgd_scalar, len, offset, flags, scale, 4, seed);
                let y = run(sgd_chunked, len, offset, flags, scale, 4, seed);
                assert_same(&x, &y, &format!("sgd len {len} flags {flags:#b} offset {offset}"));
                #[cfg(target_arch = "x86_64")]
                assert_same(
                    &x,
                    &run(sgd_sse2, len, offset, flags, scale, 4, seed),
                    &format!("sgd sse2 len {len} flags {flags:#b} offset {offset}"),
                );
            }
        }
    }
}

#[test]
fn elements_outside_the_range_are_untouched() {
    for kernel in [adam_scalar as Kernel, adam_chunked, sgd_scalar, sgd_chunked] {
        let sentinel = 42.5f32;
        let (mut p, g) = ([sentinel; 12], [1.0f32; 12]);
        let (mut a, mut b, mut c) = ([sentinel; 12], [sentinel; 12], [sentinel; 12]);
        let arrays = unsafe {
            Ptrs {
                params: p.as_mut_ptr().add(2),
                grads: g.as_ptr().add(2),
                a: a.as_mut_ptr().add(2),
                b: b.as_mut_ptr().add(2),
                c: c.as_mut_ptr().add(2),
            }
        };
        unsafe { kernel(2, FLAG_AMSGRAD | FLAG_COUPLED_L2 | FLAG_USE_MOMENTUM, 1.0, &arrays, 9) };
        for arr in [&p, &a, &b, &c] {
            assert_eq!(arr[..2], [sentinel; 2]);
            assert_eq!(arr[11], sentinel);
        }
        assert!(p[2..11].iter().all(|&e| e != sentinel), "every parameter in range is updated");
    }
}

#[test]
fn non_finite_values_propagate_identically() {
    // NaNs with payloads and either sign, as user data or earlier steps may hold them.
    let nan_a = f32::from_bits(0xffc1_2345);
    let nan_b = f32::from_bits(0x7fc0_0001);
    for flags in [
        0,
        FLAG_AMSGRAD,
        FLAG_COUPLED_L2 | FLAG_DECAY_AFTER,
        FLAG_AMSGRAD | FLAG_COUPLED_L2 | FLAG_DECAY_AFTER,
    ] {
        let mut out = Vec::new();
        #[cfg(target_arch = "x86_64")]
        let kernels = [adam_scalar as Kernel, adam_chunked, adam_sse2];
        #[cfg(not(target_arch = "x86_64"))]
        let kernels = [adam_scalar as Kernel, adam_chunked];
        for kernel in kernels {
            let mut p = vec![1.0f32, -2.0, 0.5, 3.0, 1.0, 1.0, 7.0, nan_a, nan_b];
            let g = vec![f32::NAN, 1.0, f32::INFINITY, -0.0, f32::NEG_INFINITY, 1e-30, 2.0, nan_b, -0.0];
            let (mut m, mut v) = (vec![0.0f32; 9], vec![0.0f32; 9]);
            m[6] = nan_a;
            let mut x = vec![0.0f32, 0.0, 0.0, 0.0, 0.0, f32::NAN, nan_a, 0.0, nan_b];
            let arrays = Ptrs {
                params: p.as_mut_ptr(),
                grads: g.as_ptr(),
                a: m.as_mut_ptr(),
                b: v.as_mut_ptr(),
                c: x.as_mut_ptr(),
            };
            unsafe { kernel(1, flags, 1.0, &arrays, 9) };
            out.push([p, m, v, x]);
        }
        for (k, name) in ["params", "m", "v", "vmax"].iter().enumerate() {
            for other in &out[1..] {
                assert_eq!(same_bits(&out[0][k], &other[k]), None, "{name}, flags {flags:#b}");
            }
            if k < 3 || flags & FLAG_AMSGRAD != 0 {
                for (i, x) in out[0][k].iter().enumerate() {
                    assert!(
                        !x.is_nan() || x.to_bits() == 0x7fc0_0000,
                        "{name}[{i}] is NaN {:#x}, not the canonical one",
                        x.to_bits()
                    );
                }
            }
        }
        assert!(out[0][0][0].is_nan(), "a NaN gradient must poison its parameter");
        if flags & FLAG_AMSGRAD != 0 {
            assert!(out[0][3][5].is_nan(), "max(NaN, v) must stay NaN");
        }
    }
}

#[test]
fn sgd_writes_only_the_canonical_nan() {
    for flags in [
        0,
        FLAG_USE_MOMENTUM,
        FLAG_USE_MOMENTUM | FLAG_NESTEROV,
        FLAG_USE_MOMENTUM | FLAG_COUPLED_L2,
    ] {
        let mut out = Vec::new();
        for kernel in [sgd_scalar as Kernel, sgd_chunked] {
            let mut p = vec![f32::from_bits(0xffc1_2345), 1.0, 2.0, 3.0, f32::INFINITY];
            let g = vec![1.0, f32::from_bits(0xff80_0001), f32::NAN, 0.0, f32::NEG_INFINITY];
            let mut buf = vec![0.0f32, 0.0, 0.0, f32::from_bits(0x7fc0_0042), 0.0];
            let arrays = Ptrs {
                params: p.as_mut_ptr(),
                grads: g.as_ptr(),
                a: buf.as_mut_ptr(),
                b: buf.as_mut_ptr(),
                c: buf.as_mut_ptr(),
            };
            unsafe { kernel(2, flags, 1.0, &arrays, 5) };
            out.push([p, buf]);
        }
        for k in 0..2 {
            assert_eq!(same_bits(&out[0][k], &out[1][k]), None, "array {k}, flags {flags:#b}");
            // Without momentum the buffer is not written (its NaN stays as it was).
            if k == 0 || flags & FLAG_USE_MOMENTUM != 0 {
                let bits: Vec<u32> = out[0][k].iter().map(|x| x.to_bits()).collect();
                assert!(
                    out[0][k].iter().all(|x| !x.is_nan() || x.to_bits() == 0x7fc0_0000),
                    "array {k}, flags {flags:#b}: {bits:x?}"
                );
            }
        }
    }
}

/// Known answer: from zero state the first AdamW step is θ(1−lr·wd) − lr·g/(|g| + ε) up to
/// rounding (bias correction makes m̂ = g, v̂ = g²). Checked against an f64 evaluation.
#[test]
fn first_adamw_step_matches_f64_formula() {
    let (lr, wd, eps) = (1e-3f64, 1e-2f64, 1e-8f64);
    let theta0 = [0.5f32, -1.5, 2.0, 1e-3];
    let grads = [0.25f32, -3.0, 1e-9, 0.0];
    for after in [false, true] {
        let mut p = theta0;
        let (mut m, mut v, mut x) = ([0.0f32; 4], [0.0f32; 4], [0.0f32; 4]);
        let mut hp = adam_hyper(1, if after { FLAG_DECAY_AFTER } else { 0 }, 1.0);
        if after {
            hp.decay_factor = 1.0;
        }
        let arrays = Ptrs {
            params: p.as_mut_ptr(),
            grads: grads.as_ptr(),
            a: m.as_mut_ptr(),
            b: v.as_mut_ptr(),
            c: x.as_mut_ptr(),
        };
        unsafe { scalar::adam_range(&hp, &arrays.adam(), 0, 4) };
        for i in 0..4 {
            let (t, g) = (theta0[i] as f64, grads[i] as f64);
            let update = lr * g / (g.abs() + eps);
            let expected = if after {
                (t - update) * (1.0 - lr * wd)
            } else {
                t * (1.0 - lr * wd) - update
            };
            let err = (p[i] as f64 - expected).abs() / expected.abs();
            assert!(
                err < 4.0 * f32::EPSILON as f64,
                "after={after} element {i}: {} vs {expected} (rel {err:e})",
                p[i]
            );
        }
    }
}

/// Known answer: SGD with momentum, first step buf = g, second buf = μ·g₁ + (1−τ)·g₂.
#[test]
fn sgd_momentum_matches_hand_computation() {
    let mut p = [1.0f32];
    let mut buf = [0.0f32];
    let g1 = [0.5f32];
    let g2 = [0.25f32];
    let hp = |first: bool| SgdHyper {
        grad_scale: 1.0,
        decay_factor: 1.0,
        l2: 0.0,
        momentum: 0.5,
        grad_coeff: 1.0,
        neg_lr: -0.1,
        flags: FLAG_USE_MOMENTUM | if first { FLAG_FIRST_STEP } else { 0 },
    };
    for (g, first) in [(&g1, true), (&g2, false)] {
        let arrays = Ptrs {
            params: p.as_mut_ptr(),
            grads: g.as_ptr(),
            a: buf.as_mut_ptr(),
            b: buf.as_mut_ptr(),
            c: buf.as_mut_ptr(),
        };
        unsafe { scalar::sgd_range(&hp(first), &arrays.sgd(), 0, 1) };
    }
    // buf: 0.5, then 0.5·0.5 + 0.25 = 0.5; θ: 1 − 0.05 − 0.05 = 0.9 (all exact in f32 but 0.05).
    assert_eq!(buf[0], 0.5);
    assert!((p[0] - 0.9).abs() < 1e-7);
}

#[test]
fn sum_squares_chunked_equals_scalar_and_f64() {
    let mut rng = Rng(7);
    for len in (0..=40).chain([4095, 4096, 4097, 8191, 12289, 20000]) {
        for offset in [0usize, 1, 3] {
            let x: Vec<f32> = (0..len + offset).map(|_| rng.value() * 1e3).collect();
            let (a, b) = unsafe {
                (
                    scalar::sum_squares(x.as_ptr().add(offset), len),
                    chunked::sum_squares::<Portable>(x.as_ptr().add(offset), len),
                )
            };
            assert_eq!(a.to_bits(), b.to_bits(), "len {len} offset {offset}");
            let naive: f64 = x[offset..].iter().map(|&e| (e as f64) * (e as f64)).sum();
            assert!((a - naive).abs() <= 1e-12 * naive.max(1e-300), "len {len}: {a} vs {naive}");
        }
    }
}

#[test]
fn block_sums_add_up_to_sum_squares_for_any_block_aligned_split() {
    let mut rng = Rng(11);
    for len in [0usize, 1, 4095, 4096, 4097, 3 * 4096 + 17, 9 * 4096] {
        let x: Vec<f32> = (0..len).map(|_| rng.value()).collect();
        let blocks = len.div_ceil(NORM_BLOCK);
        let reference = unsafe { scalar::sum_squares(x.as_ptr(), len) };
        // Split at every block boundary, as threads would, and add the partials in order.
        for split in 0..=blocks {
            let cut = core::cmp::min(split * NORM_BLOCK, len);
            let mut out = vec![f64::NAN; blocks];
            unsafe {
                chunked::block_sums::<Portable>(x.as_ptr(), cut, out.as_mut_ptr());
                scalar::block_sums(x.as_ptr().add(cut), len - cut, out.as_mut_ptr().add(cut / NORM_BLOCK));
            }
            let total = out.iter().fold(0f64, |t, b| t + b);
            assert_eq!(total.to_bits(), reference.to_bits(), "len {len} split {split}");
        }
    }
}

#[test]
fn all_finite_detects_every_non_finite_position() {
    for len in [1usize, 3, 4, 5, 17, 64] {
        let clean = vec![1.5f32; len];
        assert!(unsafe { scalar::all_finite(clean.as_ptr(), len) });
        assert!(unsafe { chunked::all_finite::<Portable>(clean.as_ptr(), len) });
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            for pos in 0..len {
                let mut x = clean.clone();
                x[pos] = bad;
                assert!(!unsafe { scalar::all_finite(x.as_ptr(), len) }, "scalar len {len} pos {pos}");
                assert!(
                    !unsafe { chunked::all_finite::<Portable>(x.as_ptr(), len) },
                    "chunked len {len} pos {pos}"
                );
            }
        }
        let big = vec![f32::MAX; len];
        assert!(unsafe { chunked::all_finite::<Portable>(big.as_ptr(), len) }, "f32::MAX is finite");
        assert!(
            unsafe { scalar::sum_squares(big.as_ptr(), len) }.is_finite(),
            "squares of f32 cannot overflow f64"
        );
    }
}

#[test]
fn max_propagating_follows_torch_maximum() {
    assert!(scalar::max_propagating(f32::NAN, 1.0).is_nan());
    assert!(scalar::max_propagating(1.0, f32::NAN).is_nan());
    assert_eq!(scalar::max_propagating(1.0, 2.0), 2.0);
    assert_eq!(scalar::max_propagating(3.0, 2.0), 3.0);
}

#[test]
fn sqrt_is_correctly_rounded() {
    let mut rng = Rng(12345);
    for _ in 0..100_000 {
        let x = f32::from_bits(rng.next_u32() & 0x7fff_ffff);
        if !x.is_finite() {
            continue;
        }
        assert_eq!(scalar::sqrt(x).to_bits(), ((x as f64).sqrt() as f32).to_bits(), "sqrt({x:e})");
    }
}
