//! Writing JSON straight into a `String`.
//!
//! serde_json's `to_writer` needs `std::io`, which a `no_std` kernel lacks,
//! and building a `Value` tree only to print it costs allocations on the hot
//! path. These helpers append compact JSON (the same text serde_json would
//! produce) to an existing buffer instead.

use alloc::string::String;
use core::fmt::Write;
use serde_json::Value;

/// Appends `s` as a JSON string literal, quotes included.
pub fn write_str(out: &mut String, s: &str) {
    out.push('"');
    escape_into(out, s);
    out.push('"');
}

/// For each byte, the letter of its escape (`\\n` → `n`; `u` for `\\u00XX`),
/// or 0 when it stands for itself.
const ESCAPES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b'u';
        b += 1;
    }
    table[b'\n' as usize] = b'n';
    table[b'\r' as usize] = b'r';
    table[b'\t' as usize] = b't';
    table[0x08] = b'b';
    table[0x0c] = b'f';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

/// Appends `s` escaped for use inside a JSON string literal (no quotes).
fn escape_into(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let letter = ESCAPES[usize::from(b)];
        if letter == 0 {
            continue;
        }
        out.push_str(&s[start..i]);
        out.push('\\');
        out.push(char::from(letter));
        if letter == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

fn needs_escape(s: &str) -> bool {
    s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\')
}

/// Where JSON text goes: as is, or escaped as the body of a JSON string
/// (how a tool's structured result is mirrored as text without printing it
/// into a temporary `String` first). Punctuation, numbers and literals need
/// no escaping in either; only strings differ.
trait Sink {
    fn buf(&mut self) -> &mut String;
    fn string(&mut self, s: &str);
}

struct Plain<'a>(&'a mut String);

impl Sink for Plain<'_> {
    fn buf(&mut self) -> &mut String {
        self.0
    }
    fn string(&mut self, s: &str) {
        write_str(self.0, s);
    }
}

struct Escaped<'a>(&'a mut String);

impl Sink for Escaped<'_> {
    fn buf(&mut self) -> &mut String {
        self.0
    }
    fn string(&mut self, s: &str) {
        if needs_escape(s) {
            let mut literal = String::with_capacity(s.len() + 8);
            write_str(&mut literal, s);
            escape_into(self.0, &literal);
        } else {
            self.0.push_str("\\\"");
            self.0.push_str(s);
            self.0.push_str("\\\"");
        }
    }
}

/// Appends `v` as compact JSON (object members in the map's order).
pub fn write_value(out: &mut String, v: &Value) {
    emit(&mut Plain(out), v);
}

/// Appends the JSON text of `v` as a JSON string literal, quotes included:
/// the same as `write_str(out, &to_string(v))`, without the temporary.
pub fn write_value_as_str(out: &mut String, v: &Value) {
    out.push('"');
    emit(&mut Escaped(&mut *out), v);
    out.push('"');
}

fn emit(sink: &mut impl Sink, v: &Value) {
    match v {
        Value::Null => sink.buf().push_str("null"),
        Value::Bool(true) => sink.buf().push_str("true"),
        Value::Bool(false) => sink.buf().push_str("false"),
        Value::Number(n) => {
            let _ = write!(sink.buf(), "{n}");
        }
        Value::String(s) => sink.string(s),
        Value::Array(items) => {
            sink.buf().push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    sink.buf().push(',');
                }
                emit(sink, item);
            }
            sink.buf().push(']');
        }
        Value::Object(map) => {
            sink.buf().push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    sink.buf().push(',');
                }
                sink.string(k);
                sink.buf().push(':');
                emit(sink, item);
            }
            sink.buf().push('}');
        }
    }
}

/// `v` as compact JSON text.
pub fn to_string(v: &Value) -> String {
    let mut out = String::with_capacity(64);
    write_value(&mut out, v);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn samples() -> [Value; 8] {
        [
            json!(null),
            json!({"a":[1,-2,3.5,1e300,true,false,null],"b":{"c":"\"\\\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f}é😀"}}),
            json!(u64::MAX),
            json!(i64::MIN),
            json!([]),
            json!({}),
            json!(0.1),
            json!({"k\"ey":"v\\al","plain":"x"}),
        ]
    }

    #[test]
    fn matches_serde_json() {
        for v in samples() {
            assert_eq!(to_string(&v), serde_json::to_string(&v).unwrap());
        }
    }

    #[test]
    fn value_as_str_is_the_escaped_text() {
        for v in samples() {
            let mut out = String::new();
            write_value_as_str(&mut out, &v);
            let expected = serde_json::to_string(&serde_json::to_string(&v).unwrap()).unwrap();
            assert_eq!(out, expected);
        }
    }
}
