//! Splitting the UART byte stream into newline-delimited messages.
//!
//! MCP's stdio transport sends one JSON-RPC message per line. The UART hands
//! us one byte at a time, so the framer accumulates bytes until `\n` and then
//! yields the line. Because the buffer lives in a kernel heap, it is bounded:
//! a line longer than [`MAX_LINE_BYTES`] is not stored but skipped up to its
//! newline, and reported once as [`Frame::TooLong`] so the server can answer
//! with an error instead of silently dropping the request.

use alloc::vec::Vec;

/// Re-exported from [`crate::limits`], where every bound is documented.
pub use crate::limits::MAX_LINE_BYTES;

/// One unit of output from the framer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A complete, non-blank line without its `\n` (nor a trailing `\r`).
    Line(Vec<u8>),
    /// A line exceeded [`MAX_LINE_BYTES`] and was discarded. `len` is the
    /// number of bytes that arrived before its `\n`.
    TooLong { len: usize },
}

/// Accumulates bytes into lines. See the module docs.
#[derive(Debug, Default)]
pub struct LineFramer {
    buf: Vec<u8>,
    /// `Some(n)` while skipping the rest of an oversized line; `n` counts
    /// the bytes of that line seen so far.
    discarding: Option<usize>,
}

impl LineFramer {
    pub const fn new() -> Self {
        LineFramer {
            buf: Vec::new(),
            discarding: None,
        }
    }

    /// Feeds one byte; returns a frame when this byte completed one.
    pub fn push(&mut self, byte: u8) -> Option<Frame> {
        if let Some(seen) = self.discarding {
            if byte == b'\n' {
                self.discarding = None;
                return Some(Frame::TooLong { len: seen });
            }
            self.discarding = Some(seen.saturating_add(1));
            return None;
        }

        if byte == b'\n' {
            return self.finish_line();
        }

        // Room is kept for one byte beyond the limit so that a line of exactly
        // MAX_LINE_BYTES followed by "\r\n" is still accepted.
        if self.buf.len() > MAX_LINE_BYTES {
            let seen = self.buf.len() + 1;
            self.buf = Vec::new(); // give the memory back, not just clear
            self.discarding = Some(seen);
            return None;
        }
        self.buf.push(byte);
        None
    }

    /// Feeds a run of bytes, calling `out` for every frame they complete.
    pub fn push_slice(&mut self, bytes: &[u8], out: &mut impl FnMut(Frame)) {
        for &b in bytes {
            if let Some(frame) = self.push(b) {
                out(frame);
            }
        }
    }

    fn finish_line(&mut self) -> Option<Frame> {
        let mut line = core::mem::take(&mut self.buf);
        let raw_len = line.len();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if line.len() > MAX_LINE_BYTES {
            return Some(Frame::TooLong { len: raw_len });
        }
        if line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r')) {
            return None;
        }
        Some(Frame::Line(line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn frames(framer: &mut LineFramer, bytes: &[u8]) -> Vec<Frame> {
        let mut out = Vec::new();
        framer.push_slice(bytes, &mut |f| out.push(f));
        out
    }

    fn line(s: &str) -> Frame {
        Frame::Line(s.as_bytes().to_vec())
    }

    #[test]
    fn splits_on_newline() {
        let mut f = LineFramer::new();
        assert_eq!(
            frames(&mut f, b"{\"a\":1}\n{}\n"),
            vec![line("{\"a\":1}"), line("{}")]
        );
    }

    #[test]
    fn strips_trailing_cr_only() {
        let mut f = LineFramer::new();
        assert_eq!(frames(&mut f, b"ab\r\n"), vec![line("ab")]);
        assert_eq!(frames(&mut f, b"a\rb\n"), vec![line("a\rb")]);
    }

    #[test]
    fn skips_blank_lines() {
        let mut f = LineFramer::new();
        assert_eq!(frames(&mut f, b"\n\r\n  \t \r\n\n x \n"), vec![line(" x ")]);
    }

    #[test]
    fn line_split_across_pushes() {
        let mut f = LineFramer::new();
        assert!(frames(&mut f, b"{\"jsonrpc\":").is_empty());
        assert!(frames(&mut f, b"\"2.0\"}").is_empty());
        assert!(frames(&mut f, b"\r").is_empty());
        assert_eq!(
            frames(&mut f, b"\nnext"),
            vec![line("{\"jsonrpc\":\"2.0\"}")]
        );
        assert_eq!(frames(&mut f, b"\n"), vec![line("next")]);
    }

    #[test]
    fn push_returns_frame_on_newline_only() {
        let mut f = LineFramer::new();
        assert_eq!(f.push(b'x'), None);
        assert_eq!(f.push(b'\n'), Some(line("x")));
        assert_eq!(f.push(b'\n'), None);
    }

    #[test]
    fn exactly_max_is_accepted_with_and_without_cr() {
        let mut f = LineFramer::new();
        let mut data = vec![b'a'; MAX_LINE_BYTES];
        data.push(b'\n');
        let out = frames(&mut f, &data);
        assert_eq!(out, vec![Frame::Line(vec![b'a'; MAX_LINE_BYTES])]);

        let mut data = vec![b'b'; MAX_LINE_BYTES];
        data.extend_from_slice(b"\r\n");
        let out = frames(&mut f, &data);
        assert_eq!(out, vec![Frame::Line(vec![b'b'; MAX_LINE_BYTES])]);
    }

    #[test]
    fn one_over_max_is_too_long() {
        let mut f = LineFramer::new();
        let mut data = vec![b'a'; MAX_LINE_BYTES + 1];
        data.push(b'\n');
        assert_eq!(
            frames(&mut f, &data),
            vec![Frame::TooLong {
                len: MAX_LINE_BYTES + 1
            }]
        );
    }

    #[test]
    fn too_long_line_is_reported_once_then_framing_resumes() {
        let mut f = LineFramer::new();
        let long = 3 * MAX_LINE_BYTES + 17;
        let mut data = vec![b'{'; long];
        data.extend_from_slice(b"\n{\"ok\":true}\r\n");
        let out = frames(&mut f, &data);
        assert_eq!(
            out,
            vec![Frame::TooLong { len: long }, line("{\"ok\":true}")]
        );
    }

    #[test]
    fn too_long_line_is_not_buffered() {
        let mut f = LineFramer::new();
        for _ in 0..(2 * MAX_LINE_BYTES) {
            assert_eq!(f.push(b'x'), None);
            assert!(f.buf.len() <= MAX_LINE_BYTES + 1);
        }
        assert!(f.buf.capacity() <= 2 * (MAX_LINE_BYTES + 1));
        assert_eq!(
            f.push(b'\n'),
            Some(Frame::TooLong {
                len: 2 * MAX_LINE_BYTES
            })
        );
        assert_eq!(frames(&mut f, b"ok\n"), vec![line("ok")]);
    }
}
