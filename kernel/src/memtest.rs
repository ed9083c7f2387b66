//! A RAM test over a freshly allocated buffer: the `mem_test` tool.
//!
//! Each pass writes a pattern derived from the address (so stuck or aliased
//! address lines show up, not just stuck bits), reads it back, then does the
//! same with the pattern inverted. It reports progress per chunk and stops
//! between chunks when asked to.

use alloc::vec::Vec;

/// Work between progress reports / cancellation checks: 1 MiB of u64s.
pub const CHUNK_WORDS: usize = (1 << 20) / 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub bytes: usize,
    pub passes_done: u32,
    pub errors: u64,
    /// Address of the first word that read back wrong.
    pub first_error: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemTestError {
    /// The heap could not provide the buffer.
    OutOfMemory,
    /// `on_chunk` asked to stop; carries what was done so far.
    Stopped(Outcome),
}

fn pattern(addr: usize, pass: u32, inverted: bool) -> u64 {
    // Mix address and pass so neighbouring words and passes differ.
    let v = (addr as u64).rotate_left(pass % 64)
        ^ 0x9e37_79b9_7f4a_7c15u64.wrapping_mul(u64::from(pass) + 1);
    if inverted {
        !v
    } else {
        v
    }
}

/// Tests `bytes` (rounded down to whole words) for `passes` passes.
/// `on_chunk(done, total)` is called after every chunk; returning `false`
/// stops the test.
pub fn run(
    bytes: usize,
    passes: u32,
    mut on_chunk: impl FnMut(u64, u64) -> bool,
) -> Result<Outcome, MemTestError> {
    let words = bytes / 8;
    let mut buf: Vec<u64> = Vec::new();
    buf.try_reserve_exact(words)
        .map_err(|_| MemTestError::OutOfMemory)?;
    // The words are used uninitialized-until-written rather than zero-filled
    // first: every verify sweep reads only what the write sweep before it
    // wrote, and zeroing 256 MiB cost QEMU seconds before the first progress.
    let words_mem = &mut buf.spare_capacity_mut()[..words];
    let chunks_per_sweep = words.div_ceil(CHUNK_WORDS) as u64;
    // Two sweeps (write, verify) for each of two patterns per pass.
    let total = chunks_per_sweep * 4 * u64::from(passes);
    let mut done = 0;
    let mut outcome = Outcome {
        bytes: words * 8,
        passes_done: 0,
        errors: 0,
        first_error: None,
    };
    for pass in 0..passes {
        for inverted in [false, true] {
            for chunk in words_mem.chunks_mut(CHUNK_WORDS) {
                for w in chunk.iter_mut() {
                    let addr = w.as_ptr() as usize;
                    // Volatile so the compiler cannot fold the write into the
                    // later read: the point is to go through RAM.
                    // SAFETY: `w` is a valid, aligned word of `buf`'s capacity.
                    unsafe {
                        core::ptr::write_volatile(w.as_mut_ptr(), pattern(addr, pass, inverted))
                    };
                }
                done += 1;
                if !on_chunk(done, total) {
                    return Err(MemTestError::Stopped(outcome));
                }
            }
            for chunk in words_mem.chunks(CHUNK_WORDS) {
                for w in chunk {
                    let addr = w.as_ptr() as usize;
                    // SAFETY: `w` is a valid, aligned word of `buf`'s
                    // capacity, written by the sweep just before this one.
                    let got = unsafe { core::ptr::read_volatile(w.as_ptr()) };
                    if got != pattern(addr, pass, inverted) {
                        outcome.errors += 1;
                        outcome.first_error.get_or_insert(addr);
                    }
                }
                done += 1;
                if !on_chunk(done, total) {
                    return Err(MemTestError::Stopped(outcome));
                }
            }
        }
        outcome.passes_done = pass + 1;
    }
    Ok(outcome)
}
