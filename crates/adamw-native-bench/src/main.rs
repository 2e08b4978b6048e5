//! The native ceiling for `adamw-bench`: one AdamW step over `size` f32 parameters with
//! `adamw_kernels::scalar::adam_range`, the portable reference loop the wasm kernels are diffed
//! against, compiled for this CPU (build with `RUSTFLAGS="-C target-cpu=native"` and LLVM
//! auto-vectorizes it with AVX2/AVX-512). Single thread; same operations, no FMA, so the
//! results are the same bits as the wasm backends'.
//!
//! Two modes, both printing JSON lines on stdout:
//!
//! ```text
//! adamw-native-bench [--sizes 4096,1048576] [--reps 9] [--min-rep-ms 25] [--amsgrad]
//!     one line per size: {"size","medianMs","minMs","runs","stepsPerRep","nsPerParam"}
//!     (milliseconds per step; each repetition runs ≥ min-rep-ms of back-to-back steps)
//! adamw-native-bench --serve --size N [--amsgrad]
//!     prints {"ready":true,...}, then for each stdin line holding a step count k runs k steps
//!     and prints {"ms": <total milliseconds of the k steps>}; exits at end of input.
//!     Lets the CLI interleave this backend with the others repetition by repetition.
//! ```
//!
//! `--loop chunked` (x86-64) runs `chunked::adam` over `sse2::Sse2` lanes instead: the 4-lane
//! loop the wasm SIMD kernel is built from, at the same 128-bit width, so it measures what our
//! code generation could reach at that width.
//!
//! `--info` prints the target features this binary was compiled with and exits.
use std::hint::black_box;
use std::io::{BufRead, Write};
use std::time::Instant;

use adamw_kernels::{chunked, scalar, xorshift32, AdamArrays, AdamHyper, FLAG_AMSGRAD};

/// The 4-lane chunked loop at 128 bits: SSE2 lanes on x86-64, portable lanes elsewhere.
#[inline(always)]
fn chunked_adam(hp: &AdamHyper, arrays: &AdamArrays, size: usize) {
    #[cfg(target_arch = "x86_64")]
    unsafe {
        chunked::adam::<adamw_kernels::sse2::Sse2>(black_box(hp), black_box(arrays), size)
    };
    #[cfg(not(target_arch = "x86_64"))]
    unsafe {
        chunked::adam::<adamw_kernels::lanes::Portable>(black_box(hp), black_box(arrays), size)
    };
}

/// f32 buffers starting on a 64-byte boundary, like the wasm arena's regions (so vector loads
/// never straddle cache lines for alignment reasons alone).
struct Aligned {
    storage: Vec<f32>,
    offset: usize,
}

impl Aligned {
    fn new(len: usize) -> Self {
        let mut storage = vec![0f32; len + 16];
        let misalign = (storage.as_mut_ptr() as usize % 64) / 4;
        let offset = if misalign == 0 { 0 } else { 16 - misalign };
        Aligned { storage, offset }
    }
    fn ptr(&mut self) -> *mut f32 {
        unsafe { self.storage.as_mut_ptr().add(self.offset) }
    }
    fn slice(&mut self, len: usize) -> &mut [f32] {
        &mut self.storage[self.offset..self.offset + len]
    }
}

/// xorshift32 values in [-1, 1), as the TypeScript CLI fills its buffers.
fn random_fill(x: &mut [f32], seed: u32) {
    let mut s = seed;
    for e in x.iter_mut() {
        s = xorshift32(s);
        *e = ((s as f64 / 4294967296.0) * 2.0 - 1.0) as f32;
    }
}

/// One optimizer's memory: θ, g, m, v (and v̄ with amsgrad).
struct Problem {
    size: usize,
    hp: AdamHyper,
    buffers: Vec<Aligned>,
    /// Run the 4-lane chunked loop rather than the scalar reference.
    chunked: bool,
}

impl Problem {
    fn new(size: usize, amsgrad: bool, chunked: bool) -> Self {
        let mut buffers: Vec<Aligned> = (0..if amsgrad { 5 } else { 4 }).map(|_| Aligned::new(size)).collect();
        random_fill(buffers[0].slice(size), 1);
        random_fill(buffers[1].slice(size), 2);
        // torch.optim.AdamW defaults (lr 1e-3, betas (0.9, 0.999), eps 1e-8, wd 1e-2), with the
        // bias corrections of step 10.
        let hp = AdamHyper::adamw(1e-3, (0.9, 0.999), 1e-8, 1e-2, 10, if amsgrad { FLAG_AMSGRAD } else { 0 });
        Problem {
            size,
            hp,
            buffers,
            chunked,
        }
    }

    fn arrays(&mut self) -> AdamArrays {
        let p: Vec<*mut f32> = self.buffers.iter_mut().map(Aligned::ptr).collect();
        AdamArrays {
            params: p[0],
            grads: p[1],
            exp_avg: p[2],
            exp_avg_sq: p[3],
            max_exp_avg_sq: *p.get(4).unwrap_or(&p[3]),
        }
    }

    /// Runs `steps` steps back to back; returns the elapsed milliseconds.
    fn run(&mut self, steps: u64) -> f64 {
        let arrays = self.arrays();
        let hp = self.hp;
        let size = self.size;
        let t0 = Instant::now();
        for _ in 0..steps {
            if self.chunked {
                chunked_adam(&hp, &arrays, size);
            } else {
                unsafe { scalar::adam_range(black_box(&hp), black_box(&arrays), 0, size) };
            }
        }
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        black_box(self.buffers[0].slice(size)[size / 2]);
        ms
    }
}

fn median(xs: &[f64]) -> f64 {
    let mut s = xs.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let mid = s.len() / 2;
    if s.len() % 2 == 1 {
        s[mid]
    } else {
        (s[mid - 1] + s[mid]) / 2.0
    }
}

fn features() -> String {
    let mut list = Vec::new();
    if cfg!(target_feature = "sse4.2") {
        list.push("\"sse4.2\"");
    }
    if cfg!(target_feature = "avx") {
        list.push("\"avx\"");
    }
    if cfg!(target_feature = "avx2") {
        list.push("\"avx2\"");
    }
    if cfg!(target_feature = "fma") {
        list.push("\"fma\"");
    }
    if cfg!(target_feature = "avx512f") {
        list.push("\"avx512f\"");
    }
    if cfg!(target_feature = "neon") {
        list.push("\"neon\"");
    }
    format!("[{}]", list.join(","))
}

struct Options {
    sizes: Vec<usize>,
    reps: usize,
    min_rep_ms: f64,
    amsgrad: bool,
    serve: bool,
    info: bool,
    chunked: bool,
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        sizes: vec![4096, 65536, 1 << 20, 1 << 24],
        reps: 9,
        min_rep_ms: 25.0,
        amsgrad: false,
        serve: false,
        info: false,
        chunked: false,
    };
    let mut args = std::env::args().skip(1);
    let positive = |name: &str, v: Option<String>| -> Result<usize, String> {
        let v = v.ok_or(format!("{name} needs a value"))?;
        match v.parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("{name} must be a positive integer (got {v})")),
        }
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "--sizes" => {
                let v = args.next().ok_or("--sizes needs a value")?;
                o.sizes = v
                    .split(',')
                    .map(|s| positive("--sizes", Some(s.to_string())))
                    .collect::<Result<_, _>>()?;
            }
            "--size" => o.sizes = vec![positive("--size", args.next())?],
            "--reps" => o.reps = positive("--reps", args.next())?,
            "--min-rep-ms" => o.min_rep_ms = positive("--min-rep-ms", args.next())? as f64,
            "--amsgrad" => o.amsgrad = true,
            "--serve" => o.serve = true,
            "--info" => o.info = true,
            "--loop" => match args.next().as_deref() {
                Some("chunked") => o.chunked = true,
                Some("scalar") => o.chunked = false,
                other => return Err(format!("--loop must be scalar or chunked (got {other:?})")),
            },
            "--help" | "-h" => {
                println!("usage: adamw-native-bench [--sizes N,N,...] [--reps N] [--min-rep-ms MS] [--amsgrad] [--loop scalar|chunked] | --serve --size N [--amsgrad] [--loop scalar|chunked] | --info");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if o.serve && o.sizes.len() != 1 {
        return Err("--serve needs exactly one --size".into());
    }
    Ok(o)
}

fn serve(size: usize, amsgrad: bool, chunked: bool) -> Result<(), String> {
    let mut problem = Problem::new(size, amsgrad, chunked);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let io = |e: std::io::Error| e.to_string();
    writeln!(
        out,
        "{{\"ready\":true,\"size\":{size},\"amsgrad\":{amsgrad},\"features\":{}}}",
        features()
    )
    .map_err(io)?;
    out.flush().map_err(io)?;
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(io)?;
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        let steps: u64 = text.parse().map_err(|_| format!("expected a step count, got {text:?}"))?;
        let ms = problem.run(steps);
        writeln!(out, "{{\"ms\":{ms}}}").map_err(io)?;
        out.flush().map_err(io)?;
    }
    Ok(())
}

fn batch(o: &Options) {
    for &size in &o.sizes {
        let mut problem = Problem::new(size, o.amsgrad, o.chunked);
        // Warm-up (page faults, caches, clocks), then calibrate steps per repetition.
        problem.run(3);
        let one = problem.run(1).max(1e-6);
        let steps = ((o.min_rep_ms / one).ceil() as u64).max(1);
        let per_step: Vec<f64> = (0..o.reps).map(|_| problem.run(steps) / steps as f64).collect();
        let med = median(&per_step);
        let min = per_step.iter().cloned().fold(f64::INFINITY, f64::min);
        println!(
            "{{\"size\":{size},\"medianMs\":{med},\"minMs\":{min},\"runs\":{},\"stepsPerRep\":{steps},\"nsPerParam\":{}}}",
            o.reps,
            med * 1e6 / size as f64
        );
    }
}

fn main() {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("adamw-native-bench: {e}");
            std::process::exit(2);
        }
    };
    if o.info {
        println!("{{\"features\":{}}}", features());
    } else if o.serve {
        if let Err(e) = serve(o.sizes[0], o.amsgrad, o.chunked) {
            eprintln!("adamw-native-bench: {e}");
            std::process::exit(1);
        }
    } else {
        batch(&o);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_aligned_and_steps_move_the_parameters() {
        let mut problem = Problem::new(1003, false, false);
        for b in problem.buffers.iter_mut() {
            assert_eq!(b.ptr() as usize % 64, 0);
        }
        let before = problem.buffers[0].slice(1003).to_vec();
        assert!(problem.run(2) >= 0.0);
        let after = problem.buffers[0].slice(1003).to_vec();
        assert!(before.iter().zip(&after).all(|(a, b)| a != b || *a == 0.0));
        assert!(after.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
    }
}
