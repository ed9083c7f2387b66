//! The program's output: text kept in its own memory and handed to the
//! kernel at exit (no system call writes it).

use crate::abi::OUTPUT_MAX;
use alloc::string::String;
use core::fmt::{self, Write};
use spin::Mutex;

static OUTPUT: Mutex<String> = Mutex::new(String::new());

struct Capped<'a>(&'a mut String);

impl Write for Capped<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = OUTPUT_MAX.saturating_sub(self.0.len());
        let mut cut = s.len().min(room);
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        self.0.push_str(&s[..cut]);
        Ok(())
    }
}

/// Appends formatted text (what `print!` does); beyond
/// [`OUTPUT_MAX`] bytes the rest is dropped.
pub fn write_output(args: fmt::Arguments<'_>) {
    let mut out = OUTPUT.lock();
    let _ = Capped(&mut out).write_fmt(args);
}

/// Bytes of output so far.
pub fn output_len() -> usize {
    OUTPUT.lock().len()
}

/// Where the output is, for the exit.
pub(crate) fn bytes() -> (*const u8, usize) {
    let out = OUTPUT.lock();
    (out.as_ptr(), out.len())
}
