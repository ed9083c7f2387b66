//! Softmax and SiLU rows and f16 dot products, rounded the way llama.cpp's
//! CPU backend rounds them today (its x86 AVX2 build), in safe Rust.
//!
//! Why: ggml b2757 computes both through f16 lookup tables, and this small
//! model is sensitive to rounding — a one-ulp change in a few activations
//! moves its logits by up to ~0.3 after 30 layers, more than the 0.1 the
//! reference comparison allows. llama.cpp now computes `exp` with a
//! vectorised polynomial (`expf_lane`, one lane of it: Arm's optimized-routines algorithm,
//! ≤ 1.5 ulp) on groups of 8 and libm's `expf` on the rest, and sums a
//! softmax row group by group in double precision; and its f16 matrix
//! products (attention over the f16 KV cache) go through llamafile's
//! tinyBLAS, one 8-lane fused multiply-add accumulator per result
//! ([`dot_f16`]). [`crate::ffi`] runs these as ggml custom ops.

/// `a * b + c` rounded once, as an FMA instruction does, in software for
/// targets other than aarch64 (the host tests). Without std there is no
/// `mul_add`. The product of two f32 is exact in f64; the sum
/// is rounded to f64 and its rounding error kept (TwoSum). Rounding that
/// f64 to f32 can only go wrong when it lies exactly halfway between two
/// f32 values and the error is not zero: then the true sum is above or
/// below the midpoint, and one f64 step in that direction decides.
#[cfg_attr(target_arch = "aarch64", allow(dead_code))]
fn soft_fma(a: f32, b: f32, c: f32) -> f32 {
    let (p, c) = (f64::from(a) * f64::from(b), f64::from(c));
    let s = p + c;
    let bb = s - p;
    let err = (p - (s - bb)) + (c - bb);
    // An f64 halfway between two f32 has its 29 low mantissa bits 1000…0.
    let halfway = s.to_bits() & ((1 << 29) - 1) == 1 << 28;
    if halfway && err != 0.0 && s.is_finite() {
        let toward = if (err > 0.0) == (s > 0.0) {
            s.to_bits() + 1
        } else {
            s.to_bits() - 1
        };
        return f64::from_bits(toward) as f32;
    }
    s as f32
}

/// `a * b + c` rounded once: the FMA instruction on aarch64 (many times
/// cheaper than [`soft_fma`], and the same result: both round once).
#[cfg(target_arch = "aarch64")]
use crate::neon::{fma, fma_f16_lanes};
#[cfg(not(target_arch = "aarch64"))]
use soft_fma as fma;

/// acc[i] = fma(a[i] as f32, b[i], acc[i]) for i below the shortest length
/// (four lanes at a time with NEON on aarch64: `crate::neon`).
#[cfg(not(target_arch = "aarch64"))]
fn fma_f16_lanes(acc: &mut [f32], a: &[u16], b: &[f32]) {
    for ((acc, &x), &y) in acc.iter_mut().zip(a).zip(b) {
        *acc = fma(f16_to_f32(x), y, *acc);
    }
}

/// `c - a * b` rounded once.
fn fnma(a: f32, b: f32, c: f32) -> f32 {
    fma(-a, b, c)
}

fn f(bits: u32) -> f32 {
    f32::from_bits(bits)
}

/// e^x for one lane of the 8-lane routine (`ggml_v_expf`, AVX2): split x
/// into n·ln2 + b, a degree-5 polynomial in b, scale by 2^n; inputs whose
/// |n| > 126 take the careful path (overflow to inf, underflow to 0).
fn expf_lane(x: f32) -> f32 {
    let r = f(0x4b40_0000); // 0x1.8p23: adding it rounds to an integer
    let z = fma(x, f(0x3fb8_aa3b), r); // x·log2(e) + r
    let n = z - r;
    let b = fnma(n, f(0x35bf_be8e), fnma(n, f(0x3f31_7200), x)); // x - n·ln2 (in two parts)
    let e = z.to_bits() << 23;
    let k = f(e.wrapping_add(1f32.to_bits()));
    let u = b * b;
    let j = fma(
        fma(
            fma(f(0x3c07_2010), b, f(0x3d2b_9f17)),
            u,
            fma(f(0x3e2a_af33), b, f(0x3eff_fedb)),
        ),
        u,
        f(0x3f7f_fff6) * b,
    );
    if n.abs() <= 126.0 {
        return fma(j, k, k);
    }
    let g: u32 = if n <= 0.0 { 0x8200_0000 } else { 0 };
    let s1 = f(g.wrapping_add(0x7f00_0000));
    let s2 = f(e.wrapping_sub(g));
    if n.abs() > 192.0 {
        s1 * s1
    } else {
        fma(s2, j, s2) * s1
    }
}

/// e^x as llama.cpp computes it for element `i` of a row of `n`: the
/// polynomial for whole groups of 8, libm for the tail.
fn expf_at(x: f32, i: usize, n: usize) -> f32 {
    if i < n / 8 * 8 {
        expf_lane(x)
    } else {
        libm_expf(x)
    }
}

fn libm_expf(x: f32) -> f32 {
    crate::ffi::expf(x)
}

/// IEEE half to single (exact). Normal halves are a shift and an
/// exponent rebias, without branches: it runs for every cache element an
/// attention product reads.
pub fn f16_to_f32(h: u16) -> f32 {
    let h = u32::from(h);
    let sign = (h & 0x8000) << 16;
    let em = h & 0x7fff;
    let bits = if em >= 0x7c00 {
        0x7f80_0000 | ((em & 0x3ff) << 13) // inf and NaN
    } else if em >= 0x0400 {
        (em << 13) + (112 << 23)
    } else {
        // zero and subnormals: man * 2^-24, exact in f32
        (em as f32 * (1.0 / 16_777_216.0)).to_bits()
    };
    f32::from_bits(sign | bits)
}

/// Single to IEEE half, rounding to nearest, ties to even (what F16C's
/// `vcvtps2ph` with mode 0 and ggml's software path do).
pub fn f32_to_f16(x: f32) -> u16 {
    let bits = x.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exp = ((bits >> 23) & 0xff) as i32;
    let man = bits & 0x7f_ffff;
    if exp == 0xff {
        let nan = if man != 0 { 0x200 } else { 0 };
        return sign | 0x7c00 | nan;
    }
    let e = exp - 127 + 15;
    if e >= 0x1f {
        return sign | 0x7c00;
    }
    if e <= 0 {
        if e < -10 {
            return sign;
        }
        // A subnormal half: the 24-bit significand shifted into 10 bits.
        let m = man | 0x80_0000;
        let shift = (14 - e) as u32;
        let (kept, rest, halfway) = (m >> shift, m & ((1 << shift) - 1), 1 << (shift - 1));
        let round_up = rest > halfway || (rest == halfway && kept & 1 == 1);
        return sign | (kept + u32::from(round_up)) as u16;
    }
    let kept = ((e as u32) << 10) | (man >> 13);
    let rest = man & 0x1fff;
    let round_up = rest > 0x1000 || (rest == 0x1000 && kept & 1 == 1);
    // A carry out of the mantissa correctly bumps the exponent (to inf at
    // the top).
    sign | (kept + u32::from(round_up)) as u16
}

/// Σ a·b with `a` an f16 row and `b` an f32 row whose values are f16
/// (rounded by the caller once per row, not once per product), as tinyBLAS
/// (AVX2) computes one element of a product: lane l accumulates the
/// products at l, l+8, l+16, … with fused multiply-adds; the lanes are then
/// summed as i + 4, then pairs, then the two halves. llama.cpp pads its KV
/// cache with zeros to a multiple of 32 or more; a padding product adds +0
/// to an accumulator that started at +0, which changes nothing, so the rows
/// here are not padded.
pub fn dot_f16(a: &[u16], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    for (ca, cb) in a.chunks(8).zip(b.chunks(8)) {
        fma_f16_lanes(&mut acc, ca, cb);
    }
    let r = [
        acc[4] + acc[0],
        acc[5] + acc[1],
        acc[6] + acc[2],
        acc[7] + acc[3],
    ];
    (r[0] + r[2]) + (r[1] + r[3])
}

/// Σ a·b (as [`dot_f16`] takes them) as ggml's `ggml_vec_dot_f16` (AVX2)
/// computes it, which llama.cpp uses instead of tinyBLAS when the product
/// has a single column (one token): four 8-lane FMA accumulators over
/// blocks of 32 (element i goes to accumulator lane i % 32), then the
/// accumulators added (0+2, 1+3, 0+1), the lanes (l + l+4, then pairwise),
/// in double precision. llama.cpp's rows are padded with zeros to a
/// multiple of 32, so it has no elements past the last block, and the
/// padding adds nothing (see [`dot_f16`]).
pub fn dot_f16_single(a: &[u16], b: &[f32]) -> f32 {
    let mut acc = [0f32; 32];
    for (ca, cb) in a.chunks(32).zip(b.chunks(32)) {
        fma_f16_lanes(&mut acc, ca, cb);
    }
    let v: [f32; 8] = core::array::from_fn(|l| (acc[l] + acc[16 + l]) + (acc[8 + l] + acc[24 + l]));
    let t0 = [v[0] + v[4], v[1] + v[5], v[2] + v[6], v[3] + v[7]];
    f64::from((t0[0] + t0[1]) + (t0[2] + t0[3])) as f32
}

/// SiLU, x / (1 + e^-x), for a row.
pub fn silu_row(x: &[f32], y: &mut [f32]) {
    let n = x.len();
    for (i, (y, &x)) in y.iter_mut().zip(x).enumerate() {
        *y = x / (1.0 + expf_at(-x, i, n));
    }
}

/// softmax(x * scale + mask) for a row of attention scores. llama.cpp
/// pads its KV cache's length to a multiple of 8 (32 or 256), masking the
/// padding with -inf, so every element goes through the 8-lane `exp`; the
/// sum is taken per group of 8 (lanes i and i+4 first, then pairs, then
/// the two halves; padding adds zeros), each group's sum added in double
/// precision.
pub fn soft_max_row(x: &[f32], mask: &[f32], scale: f32, y: &mut [f32]) {
    let mut max = f32::NEG_INFINITY;
    for ((y, &x), &m) in y.iter_mut().zip(x).zip(mask) {
        *y = x * scale + m;
        max = max.max(*y);
    }
    for y in y.iter_mut() {
        *y = expf_lane(*y - max);
    }
    let mut sum = 0f64;
    for group in y.chunks(8) {
        let v: [f32; 8] = core::array::from_fn(|l| group.get(l).copied().unwrap_or(0.0));
        let r = [v[4] + v[0], v[5] + v[1], v[6] + v[2], v[7] + v[3]];
        sum += f64::from((r[0] + r[2]) + (r[1] + r[3]));
    }
    let inv = (1.0 / sum) as f32;
    for y in y.iter_mut() {
        *y *= inv;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expf_lane_is_close_to_libm() {
        let mut x = -110.0f32;
        while x < 90.0 {
            let (ours, libm) = (expf_lane(x), libm_expf(x));
            let ulp = (ours.to_bits() as i64 - libm.to_bits() as i64).abs();
            assert!(
                ulp <= 2 || (libm == 0.0 && ours < 1e-37),
                "e^{x}: {ours} vs {libm}"
            );
            x += 0.0137;
        }
        assert_eq!(expf_lane(f32::NEG_INFINITY), 0.0);
        assert_eq!(expf_lane(100.0), f32::INFINITY);
    }

    #[test]
    fn fma_rounds_once() {
        // (1 + 2^-23) + 2^-24·(1 - 2^-46) lies just below the midpoint
        // between 1 + 2^-23 and 1 + 2^-22; in f64 it rounds onto the
        // midpoint, and a second rounding would go to the even 1 + 2^-22.
        let e = |k| 2f32.powi(k);
        let (a, b, c) = (
            e(-12) * (1.0 + e(-23)),
            e(-12) * (1.0 - e(-23)),
            1.0 + e(-23),
        );
        assert_eq!(
            ((a as f64) * (b as f64) + c as f64) as f32,
            1.0 + e(-22),
            "the naive way"
        );
        assert_eq!(fma(a, b, c), 1.0 + e(-23));
        assert_eq!(fma(a, b, c), a.mul_add(b, c));
        assert_eq!(soft_fma(a, b, c), 1.0 + e(-23));
        let mut x = 0x1234_5678u32;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            f32::from_bits((x & 0x807f_ffff) | 0x3f00_0000) // ±[0.5, 1)
        };
        for _ in 0..100_000 {
            let (a, b, c) = (next(), next(), next() * 1e-3);
            assert_eq!(fma(a, b, c), a.mul_add(b, c), "{a} {b} {c}");
            assert_eq!(soft_fma(a, b, c), a.mul_add(b, c), "{a} {b} {c}");
        }
    }

    #[test]
    fn f16_round_trips_every_half() {
        for h in 0..=u16::MAX {
            let v = f16_to_f32(h);
            if !v.is_nan() {
                assert_eq!(f32_to_f16(v), h, "{h:#06x}");
            }
        }
        // Ties go to even.
        assert_eq!(f32_to_f16(1.0 + 1.0 / 2048.0), 0x3c00);
        assert_eq!(f32_to_f16(1.0 + 3.0 / 2048.0), 0x3c02);
        assert_eq!(f32_to_f16(65520.0), 0x7c00);
    }

    #[test]
    fn f16_dot_is_the_dot() {
        let a: alloc::vec::Vec<u16> = (0..13).map(|i| f32_to_f16(i as f32 * 0.5)).collect();
        let b = [2.0f32; 13];
        assert_eq!(dot_f16(&a, &b), (0..13).map(|i| i as f32).sum::<f32>());
        assert_eq!(
            dot_f16_single(&a, &b),
            (0..13).map(|i| i as f32).sum::<f32>()
        );
    }

    #[test]
    fn soft_max_sums_to_one() {
        let x: alloc::vec::Vec<f32> = (0..21).map(|i| (i as f32 * 0.37).sin() * 4.0).collect();
        let mut mask = alloc::vec![0.0; 21];
        mask[20] = f32::NEG_INFINITY;
        let mut y = alloc::vec![0.0; 21];
        soft_max_row(&x, &mask, 0.5, &mut y);
        assert_eq!(y[20], 0.0);
        assert!((y.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }
}
