//! The two NEON pieces of [`crate::vecmath`] on aarch64: a fused
//! multiply-add, and fused multiply-adds of an f16 row into f32
//! accumulators four lanes at a time (attention over the f16 KV cache runs
//! this for every cache element it reads). Both give exactly what the
//! portable code gives: an FMA rounds once, lane by lane, and the f16 to
//! f32 conversion is exact.
//!
//! Why `unsafe` here: the `core::arch` intrinsics are `unsafe` to call from
//! code without `#[target_feature(enable = "neon")]`, although NEON is in
//! the baseline of every aarch64 target this crate builds for
//! (aarch64-unknown-none, never its -softfloat variant; the hosts' Linux
//! and macOS targets). The loads stay inside the slices given.
#![allow(unsafe_code)]

use core::arch::aarch64::*;

/// `a * b + c` rounded once: one `fmla`.
#[inline(always)]
pub fn fma(a: f32, b: f32, c: f32) -> f32 {
    // SAFETY: NEON is in the target's baseline (module comment); registers only.
    unsafe { vget_lane_f32::<0>(vfma_f32(vdup_n_f32(c), vdup_n_f32(a), vdup_n_f32(b))) }
}

/// acc[i] = fma(f16 a[i] as f32, b[i], acc[i]) for i below the shortest
/// length.
#[inline]
pub fn fma_f16_lanes(acc: &mut [f32], a: &[u16], b: &[f32]) {
    let n = acc.len().min(a.len()).min(b.len());
    let quads = n / 4 * 4;
    let mut i = 0;
    while i < quads {
        // SAFETY: NEON is in the target's baseline; i + 4 <= n, so the
        // four-element loads and the store stay inside acc, a and b.
        unsafe {
            let h = vmovl_u16(vld1_u16(a.as_ptr().add(i)));
            let x = f16x4_to_f32(h);
            let p = acc.as_mut_ptr().add(i);
            vst1q_f32(p, vfmaq_f32(vld1q_f32(p), x, vld1q_f32(b.as_ptr().add(i))));
        }
        i += 4;
    }
    for j in quads..n {
        acc[j] = fma(crate::vecmath::f16_to_f32(a[j]), b[j], acc[j]);
    }
}

/// Four IEEE halves (zero-extended to 32 bits) to single, exactly as
/// [`crate::vecmath::f16_to_f32`]: normals by shift and rebias, zero and
/// subnormals as man * 2^-24 (exact, and normal in f32), inf and NaN with
/// the all-ones exponent.
///
/// # Safety
/// NEON (in the target's baseline).
#[inline(always)]
unsafe fn f16x4_to_f32(h: uint32x4_t) -> float32x4_t {
    // SAFETY: per this function's contract; registers only.
    unsafe {
        let sign = vshlq_n_u32::<16>(vandq_u32(h, vdupq_n_u32(0x8000)));
        let em = vandq_u32(h, vdupq_n_u32(0x7fff));
        let normal = vaddq_u32(vshlq_n_u32::<13>(em), vdupq_n_u32(112 << 23));
        let special = vorrq_u32(
            vshlq_n_u32::<13>(vandq_u32(em, vdupq_n_u32(0x3ff))),
            vdupq_n_u32(0x7f80_0000),
        );
        let small = vreinterpretq_u32_f32(vmulq_f32(
            vcvtq_f32_u32(em),
            vdupq_n_f32(1.0 / 16_777_216.0),
        ));
        let bits = vbslq_u32(vcltq_u32(em, vdupq_n_u32(0x0400)), small, normal);
        let bits = vbslq_u32(vcgeq_u32(em, vdupq_n_u32(0x7c00)), special, bits);
        vreinterpretq_f32_u32(vorrq_u32(bits, sign))
    }
}
