//! Emergency reports: MCP `notifications/message` lines at level
//! `emergency`, written without the heap (which may be what broke).

use crate::console;
use core::fmt::{self, Write};

/// Escapes text for a JSON string body.
pub struct JsonEscaped<'a>(pub &'a mut dyn Write);

impl Write for JsonEscaped<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            match c {
                '"' => self.0.write_str("\\\"")?,
                '\\' => self.0.write_str("\\\\")?,
                '\n' => self.0.write_str("\\n")?,
                '\r' => self.0.write_str("\\r")?,
                '\t' => self.0.write_str("\\t")?,
                c if (c as u32) < 0x20 => write!(self.0, "\\u{:04x}", c as u32)?,
                c => self.0.write_char(c)?,
            }
        }
        Ok(())
    }
}

/// Writes `{"jsonrpc":"2.0","method":"notifications/message","params":
/// {"level":"emergency","logger":"kernel","data":{ <fields> }}}` as one line.
/// `fields` writes the members of `data` (without braces).
pub fn emergency(fields: impl FnOnce(&mut dyn Write) -> fmt::Result) {
    console::write_line_emergency(|w| {
        let _ = w.write_str(
            r#"{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"emergency","logger":"kernel","data":{"#,
        );
        let _ = fields(w);
        let _ = w.write_str("}}}");
    });
}
