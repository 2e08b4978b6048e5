//! Native tests: the 4-lane loop (portable lanes) must equal the scalar reference bit for bit,
//! on every length, flag combination and misalignment; the reference must follow the maths.

use crate::chunked;
use crate::hyper::*;
use crate::lanes::Portable;
use crate::scalar;

/// xorshift32: deterministic test data without dependencies.
struct Rng(u32);
impl Rng {
    fn next_u32(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
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

fn hyper(step: i32, flags: u32) -> AdamHyper {
    let (lr, b1, b2, wd) = (1e-3f64, 0.9f64, 0.999f64, 1e-2f64);
    AdamHyper {
        decay_factor: (1.0 - lr * wd) as f32,
        l2: wd as f32,
        beta1: b1 as f32,
        one_minus_beta1: (1.0 - b1) as f32,
        beta2: b2 as f32,
        one_minus_beta2: (1.0 - b2) as f32,
        bias_correction2_sqrt: (1.0 - b2.powi(step)).sqrt() as f32,
        eps: 1e-8,
        neg_step_size: (-lr / (1.0 - b1.powi(step))) as f32,
        flags,
    }
}

#[derive(Clone, PartialEq, Debug)]
struct State {
    params: Vec<f32>,
    m: Vec<f32>,
    v: Vec<f32>,
    vmax: Vec<f32>,
}

fn same_bits(a: &[f32], b: &[f32]) -> Option<usize> {
    a.iter()
        .zip(b)
        .position(|(x, y)| !(x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())))
}

type Kernel = unsafe fn(&AdamHyper, *mut f32, *const f32, *mut f32, *mut f32, *mut f32, usize);

fn arrays(p: *mut f32, g: *const f32, m: *mut f32, v: *mut f32, x: *mut f32) -> AdamArrays {
    AdamArrays { params: p, grads: g, exp_avg: m, exp_avg_sq: v, max_exp_avg_sq: x }
}

unsafe fn scalar_kernel(hp: &AdamHyper, p: *mut f32, g: *const f32, m: *mut f32, v: *mut f32, x: *mut f32, n: usize) {
    scalar::adam_range(hp, &arrays(p, g, m, v, x), 0, n)
}

unsafe fn chunked_kernel(hp: &AdamHyper, p: *mut f32, g: *const f32, m: *mut f32, v: *mut f32, x: *mut f32, n: usize) {
    chunked::adam::<Portable>(hp, &arrays(p, g, m, v, x), n)
}

/// Runs `steps` updates on arrays that start `offset` elements into their buffers, so the
/// vector loop also sees addresses that are not 16-byte aligned.
fn run(kernel: Kernel, len: usize, offset: usize, flags: u32, steps: i32, seed: u32) -> State {
    let mut rng = Rng(seed | 1);
    let buf = |fill: bool, rng: &mut Rng| -> Vec<f32> {
        (0..len + offset).map(|_| if fill { rng.value() } else { 0.0 }).collect()
    };
    let mut params = buf(true, &mut rng);
    let mut m = buf(false, &mut rng);
    let mut v = buf(false, &mut rng);
    let mut vmax = buf(false, &mut rng);
    for step in 1..=steps {
        let grads = buf(true, &mut rng);
        let hp = hyper(step, flags);
        unsafe {
            kernel(
                &hp,
                params.as_mut_ptr().add(offset),
                grads.as_ptr().add(offset),
                m.as_mut_ptr().add(offset),
                v.as_mut_ptr().add(offset),
                vmax.as_mut_ptr().add(offset),
                len,
            );
        }
    }
    State { params, m, v, vmax }
}

fn all_flags() -> impl Iterator<Item = u32> {
    0..8u32
}

#[test]
fn chunked_equals_scalar_bitwise_on_many_lengths_flags_and_offsets() {
    let lengths = (0..=67).chain([127, 128, 129, 1000, 1023, 4099]);
    for len in lengths {
        for flags in all_flags() {
            for offset in [0, 1, 3] {
                let seed = (len as u32) * 31 + flags * 7 + offset as u32;
                let a = run(scalar_kernel, len, offset, flags, 4, seed);
                let b = run(chunked_kernel, len, offset, flags, 4, seed);
                for (name, x, y) in [
                    ("params", &a.params, &b.params),
                    ("exp_avg", &a.m, &b.m),
                    ("exp_avg_sq", &a.v, &b.v),
                    ("max_exp_avg_sq", &a.vmax, &b.vmax),
                ] {
                    if let Some(i) = same_bits(x, y) {
                        panic!("{name} differs at {i}: len {len} flags {flags:#b} offset {offset}: {} vs {}", x[i], y[i]);
                    }
                }
            }
        }
    }
}

#[test]
fn elements_outside_the_range_are_untouched() {
    for kernel in [scalar_kernel as Kernel, chunked_kernel as Kernel] {
        let sentinel = 42.5f32;
        let (mut p, g) = ([sentinel; 12], [1.0f32; 12]);
        let (mut m, mut v, mut x) = ([sentinel; 12], [sentinel; 12], [sentinel; 12]);
        let hp = hyper(1, FLAG_AMSGRAD | FLAG_L2);
        unsafe { kernel(&hp, p.as_mut_ptr().add(2), g.as_ptr().add(2), m.as_mut_ptr().add(2), v.as_mut_ptr().add(2), x.as_mut_ptr().add(2), 9) };
        for arr in [&p, &m, &v, &x] {
            assert_eq!(arr[..2], [sentinel; 2]);
            assert_eq!(arr[11], sentinel);
        }
        // max(42.5, v) keeps the sentinel in v̄, so only these three must change in range.
        for arr in [&p, &m, &v] {
            assert!(arr[2..11].iter().all(|&e| e != sentinel), "every element in range is updated");
        }
    }
}

#[test]
fn non_finite_values_propagate_identically() {
    for flags in all_flags() {
        let mut out = Vec::new();
        for kernel in [scalar_kernel as Kernel, chunked_kernel as Kernel] {
            let mut p = vec![1.0f32, -2.0, 0.5, 3.0, 1.0, 1.0, 7.0];
            let g = vec![f32::NAN, 1.0, f32::INFINITY, -0.0, f32::NEG_INFINITY, 1e-30, 2.0];
            let mut m = vec![0.0f32; 7];
            let mut v = vec![0.0f32; 7];
            let mut x = vec![0.0f32, 0.0, 0.0, 0.0, 0.0, f32::NAN, 0.0];
            let hp = hyper(1, flags);
            unsafe { kernel(&hp, p.as_mut_ptr(), g.as_ptr(), m.as_mut_ptr(), v.as_mut_ptr(), x.as_mut_ptr(), 7) };
            out.push((p, m, v, x));
        }
        let (a, b) = (&out[0], &out[1]);
        assert_eq!(same_bits(&a.0, &b.0), None, "params, flags {flags:#b}");
        assert_eq!(same_bits(&a.3, &b.3), None, "vmax, flags {flags:#b}");
        assert!(a.0[0].is_nan(), "a NaN gradient must poison its parameter");
        if flags & FLAG_AMSGRAD != 0 {
            assert!(a.3[5].is_nan(), "max(NaN, v) must stay NaN");
        }
    }
}

/// Known answer: from zero state the first AdamW step is θ(1−lr·wd) − lr·g/(|g| + ε·sqrt(bc2)/1)
/// up to rounding, i.e. about lr·sign(g) for |g| ≫ ε. Checked against an f64 evaluation.
#[test]
fn first_step_matches_f64_formula() {
    let (lr, b1, b2, wd, eps) = (1e-3f64, 0.9f64, 0.999f64, 1e-2f64, 1e-8f64);
    let theta0 = [0.5f32, -1.5, 2.0, 1e-3];
    let grads = [0.25f32, -3.0, 1e-9, 0.0];
    let mut p = theta0;
    let (mut m, mut v, mut x) = ([0.0f32; 4], [0.0f32; 4], [0.0f32; 4]);
    let hp = hyper(1, 0);
    unsafe { scalar_kernel(&hp, p.as_mut_ptr(), grads.as_ptr(), m.as_mut_ptr(), v.as_mut_ptr(), x.as_mut_ptr(), 4) };
    for i in 0..4 {
        let (t, g) = (theta0[i] as f64, grads[i] as f64);
        let mhat = (1.0 - b1) * g / (1.0 - b1);
        let vhat = (1.0 - b2) * g * g / (1.0 - b2);
        let expected = t * (1.0 - lr * wd) - lr * mhat / (vhat.sqrt() + eps);
        let err = (p[i] as f64 - expected).abs() / expected.abs();
        assert!(err < 4.0 * f32::EPSILON as f64, "element {i}: {} vs {expected} (rel {err:e})", p[i]);
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
