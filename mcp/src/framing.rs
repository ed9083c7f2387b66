//! Splitting the UART byte stream into newline-delimited messages.
//!
//! MCP's stdio transport sends one JSON-RPC message per line. The framer
//! takes bytes as they come ([`LineFramer::feed`] for a chunk,
//! [`LineFramer::push`] for one byte), accumulates them until `\n` and then
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
        self.feed(&[byte]).1
    }

    /// Feeds a run of bytes, calling `out` for every frame they complete.
    pub fn push_slice(&mut self, mut bytes: &[u8], out: &mut impl FnMut(Frame)) {
        while !bytes.is_empty() {
            let (used, frame) = self.feed(bytes);
            if let Some(frame) = frame {
                out(frame);
            }
            bytes = &bytes[used..];
        }
    }

    /// The bulk path: consumes `bytes` up to and including the `\n` that
    /// completes the next frame, and returns how many bytes it consumed with
    /// that frame; or consumes them all and returns `(bytes.len(), None)`.
    /// Feeding the unconsumed rest again (until it is empty) gives exactly
    /// the frames [`Self::push`] would give byte by byte.
    ///
    /// Newlines are found a word at a time, and a line that arrives whole
    /// within `bytes` is copied once, straight into its frame; partial lines
    /// wait in a buffer whose capacity is kept from line to line.
    pub fn feed(&mut self, bytes: &[u8]) -> (usize, Option<Frame>) {
        let mut pos = 0;
        while pos < bytes.len() {
            let rest = &bytes[pos..];
            let newline = find_newline(rest);
            let run = &rest[..newline.unwrap_or(rest.len())];
            pos += run.len();
            let direct = match self.discarding {
                Some(seen) => {
                    self.discarding = Some(seen.saturating_add(run.len()));
                    false
                }
                // Room is kept for one byte beyond the limit so that a line
                // of exactly MAX_LINE_BYTES followed by "\r\n" is accepted.
                None if self.buf.len() + run.len() > MAX_LINE_BYTES + 1 => {
                    self.discarding = Some(self.buf.len() + run.len());
                    self.buf = Vec::new(); // give the memory back, not just clear
                    false
                }
                None if self.buf.is_empty() && newline.is_some() => true,
                None => {
                    self.buf.extend_from_slice(run);
                    false
                }
            };
            if newline.is_none() {
                break;
            }
            pos += 1;
            let frame = if let Some(seen) = self.discarding.take() {
                Some(Frame::TooLong { len: seen })
            } else if direct {
                finish_line(run)
            } else {
                let frame = finish_line(&self.buf);
                self.buf.clear();
                frame
            };
            if frame.is_some() {
                return (pos, frame);
            }
        }
        (pos, None)
    }
}

/// The frame for a line's bytes (before its `\n`): `None` when blank.
fn finish_line(raw: &[u8]) -> Option<Frame> {
    let line = raw.strip_suffix(b"\r").unwrap_or(raw);
    if line.len() > MAX_LINE_BYTES {
        return Some(Frame::TooLong { len: raw.len() });
    }
    if line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r')) {
        return None;
    }
    Some(Frame::Line(line.to_vec()))
}

/// The index of the first `\n` in `bytes`, eight bytes at a time.
fn find_newline(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const NEWLINES: u64 = ONES * b'\n' as u64;
    let mut words = bytes.chunks_exact(8);
    let mut base = 0;
    for word in &mut words {
        let mut le = [0u8; 8];
        le.copy_from_slice(word);
        let x = u64::from_le_bytes(le) ^ NEWLINES;
        // Nonzero exactly when some byte of `x` is zero (the classic
        // has-zero-byte test; it may misflag bytes above a true zero, so the
        // lowest flag, the one used, is always a real match).
        let found = x.wrapping_sub(ONES) & !x & HIGHS;
        if found != 0 {
            return Some(base + found.trailing_zeros() as usize / 8);
        }
        base += 8;
    }
    words
        .remainder()
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| base + i)
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

    /// The framer as it was written first, byte by byte: the reference
    /// `feed` must agree with.
    fn reference(bytes: &[u8]) -> Vec<Frame> {
        let mut out = Vec::new();
        let mut buf = Vec::new();
        let mut discarding: Option<usize> = None;
        for &byte in bytes {
            if let Some(seen) = discarding {
                if byte == b'\n' {
                    discarding = None;
                    out.push(Frame::TooLong { len: seen });
                } else {
                    discarding = Some(seen + 1);
                }
            } else if byte == b'\n' {
                out.extend(finish_line(&buf));
                buf.clear();
            } else if buf.len() > MAX_LINE_BYTES {
                discarding = Some(buf.len() + 1);
                buf.clear();
            } else {
                buf.push(byte);
            }
        }
        out
    }

    #[test]
    fn feed_agrees_with_bytewise_framing_for_any_chunking() {
        let mut stream = Vec::new();
        for (i, len) in [0, 1, 7, 8, 9, 90, MAX_LINE_BYTES - 1, MAX_LINE_BYTES]
            .into_iter()
            .chain([
                MAX_LINE_BYTES + 1,
                MAX_LINE_BYTES + 2,
                2 * MAX_LINE_BYTES,
                3,
            ])
            .enumerate()
        {
            stream.extend((0..len).map(|j| b"{a\r \t\"}"[(i + j) % 7]));
            stream.extend_from_slice(if i % 3 == 0 { b"\r\n" } else { b"\n" });
        }
        stream.extend_from_slice(b"\n\n  \n\r\r\ntail without newline");
        let want = reference(&stream);
        assert!(want.len() > 8);
        for chunk in [1, 2, 3, 7, 8, 9, 64, 511, 4096, stream.len()] {
            let mut f = LineFramer::new();
            let mut got = Vec::new();
            for piece in stream.chunks(chunk) {
                let mut rest = piece;
                while !rest.is_empty() {
                    let (used, frame) = f.feed(rest);
                    assert!(used > 0 && used <= rest.len());
                    // A frame ends the call right after its newline.
                    if frame.is_some() {
                        assert_eq!(rest[used - 1], b'\n');
                    } else {
                        assert_eq!(used, rest.len());
                    }
                    got.extend(frame);
                    rest = &rest[used..];
                }
            }
            assert_eq!(got, want, "chunks of {chunk}");
            let mut f = LineFramer::new();
            assert_eq!(frames(&mut f, &stream), want);
        }
    }

    #[test]
    fn feed_stops_after_each_frame_and_reuses_its_buffer() {
        let mut f = LineFramer::new();
        let input = b"one\n\ntwo\nthr";
        assert_eq!(f.feed(input), (4, Some(line("one"))));
        assert_eq!(f.feed(&input[4..]), (5, Some(line("two"))));
        assert_eq!(f.feed(&input[9..]), (3, None));
        let cap = f.buf.capacity();
        assert!(cap >= 3);
        assert_eq!(f.feed(b"ee\nfour"), (3, Some(line("three"))));
        assert_eq!(f.feed(b"four"), (4, None));
        assert_eq!(f.buf.capacity(), cap, "capacity kept between lines");
        assert_eq!(f.feed(b"\n"), (1, Some(line("four"))));
    }

    #[test]
    fn newline_search_finds_the_first() {
        for len in 0..40 {
            for at in 0..len {
                let mut bytes = vec![b'x'; len];
                bytes[at] = b'\n';
                if at + 3 < len {
                    bytes[at + 3] = b'\n';
                }
                assert_eq!(find_newline(&bytes), Some(at));
            }
            assert_eq!(find_newline(&vec![0x8a; len]), None);
            assert_eq!(find_newline(&vec![0x0b; len]), None);
        }
    }
}
