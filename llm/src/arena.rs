//! The weight arena: one allocation holding a model file, its start aligned
//! for ggml (tensor data is used in place, and GGUF aligns tensors to 32
//! bytes from the data section, so the file's start must be aligned at
//! least as much).
//!
//! Safe Rust: the Vec is over-allocated by the alignment and the aligned
//! window inside it is found with `align_offset`; the Vec never grows after
//! that, so the window never moves.

use alloc::vec;
use alloc::vec::Vec;

/// Alignment of the arena's first byte (a cache line).
pub const ALIGN: usize = 64;

#[derive(Debug)]
pub struct Arena {
    buf: Vec<u8>,
    start: usize,
    len: usize,
}

impl Arena {
    /// `len` zeroed bytes starting at a multiple of [`ALIGN`].
    pub fn new(len: usize) -> Self {
        let buf = vec![0u8; len + ALIGN];
        let start = buf.as_ptr().align_offset(ALIGN);
        assert!(start < ALIGN, "align_offset on u8 always succeeds");
        Arena { buf, start, len }
    }

    pub fn bytes(&self) -> &[u8] {
        &self.buf[self.start..self.start + self.len]
    }

    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.start..self.start + self.len]
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}
