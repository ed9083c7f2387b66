//! Writing JSON straight into a `String` (or the byte vector of a binary
//! message).
//!
//! serde_json's `to_writer` needs `std::io`, which a `no_std` kernel lacks,
//! and building a `Value` tree only to print it costs allocations on the hot
//! path. These helpers append compact JSON (the same text serde_json would
//! produce) to an existing buffer instead.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::{self, Write};
use serde_json::Value;

use crate::object::Object;

/// A buffer JSON text is appended to.
pub trait Buffer {
    fn push_str(&mut self, s: &str);
    /// Appends one ASCII byte.
    fn push_ascii(&mut self, b: u8);
}

impl Buffer for String {
    fn push_str(&mut self, s: &str) {
        String::push_str(self, s);
    }
    fn push_ascii(&mut self, b: u8) {
        self.push(char::from(b));
    }
}

/// The UTF-8 bytes of the text (a postcard string's body is written this
/// way, in place: [`crate::binary`]).
impl Buffer for Vec<u8> {
    fn push_str(&mut self, s: &str) {
        self.extend_from_slice(s.as_bytes());
    }
    fn push_ascii(&mut self, b: u8) {
        self.push(b);
    }
}

/// `core::fmt` output into a [`Buffer`] (numbers are printed with it).
struct Formatted<'a, B: ?Sized>(&'a mut B);

impl<B: Buffer + ?Sized> Write for Formatted<'_, B> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.push_str(s);
        Ok(())
    }
}

/// Appends `s` as a JSON string literal, quotes included.
pub fn write_str<B: Buffer + ?Sized>(out: &mut B, s: &str) {
    out.push_ascii(b'"');
    escape_into(out, s);
    out.push_ascii(b'"');
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
fn escape_into<B: Buffer + ?Sized>(out: &mut B, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let letter = ESCAPES[usize::from(b)];
        if letter == 0 {
            continue;
        }
        out.push_str(&s[start..i]);
        out.push_ascii(b'\\');
        out.push_ascii(letter);
        if letter == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("00");
            out.push_ascii(HEX[usize::from(b >> 4)]);
            out.push_ascii(HEX[usize::from(b & 15)]);
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
    type Out: Buffer + ?Sized;
    fn buf(&mut self) -> &mut Self::Out;
    fn string(&mut self, s: &str);
}

struct Plain<'a, B: ?Sized>(&'a mut B);

impl<B: Buffer + ?Sized> Sink for Plain<'_, B> {
    type Out = B;
    fn buf(&mut self) -> &mut B {
        self.0
    }
    fn string(&mut self, s: &str) {
        write_str(self.0, s);
    }
}

struct Escaped<'a, B: ?Sized>(&'a mut B);

impl<B: Buffer + ?Sized> Sink for Escaped<'_, B> {
    type Out = B;
    fn buf(&mut self) -> &mut B {
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
pub fn write_value<B: Buffer + ?Sized>(out: &mut B, v: &Value) {
    emit(&mut Plain(out), v);
}

/// Appends `o` as compact JSON, members in order.
pub fn write_object<B: Buffer + ?Sized>(out: &mut B, o: &Object) {
    emit_members(&mut Plain(out), o.iter());
}

/// Appends the JSON text of `o` as a JSON string literal, quotes included
/// (a structured tool result's text mirror).
pub fn write_object_as_str<B: Buffer + ?Sized>(out: &mut B, o: &Object) {
    out.push_ascii(b'"');
    emit_members(&mut Escaped(&mut *out), o.iter());
    out.push_ascii(b'"');
}

/// `o` as compact JSON text.
pub fn object_to_string(o: &Object) -> String {
    let mut out = String::with_capacity(64);
    write_object(&mut out, o);
    out
}

fn emit_members<'a>(sink: &mut impl Sink, members: impl Iterator<Item = (&'a str, &'a Value)>) {
    sink.buf().push_ascii(b'{');
    for (i, (k, item)) in members.enumerate() {
        if i > 0 {
            sink.buf().push_ascii(b',');
        }
        sink.string(k);
        sink.buf().push_ascii(b':');
        emit(sink, item);
    }
    sink.buf().push_ascii(b'}');
}

fn emit(sink: &mut impl Sink, v: &Value) {
    match v {
        Value::Null => sink.buf().push_str("null"),
        Value::Bool(true) => sink.buf().push_str("true"),
        Value::Bool(false) => sink.buf().push_str("false"),
        Value::Number(n) => {
            let _ = write!(Formatted(sink.buf()), "{n}");
        }
        Value::String(s) => sink.string(s),
        Value::Array(items) => {
            sink.buf().push_ascii(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    sink.buf().push_ascii(b',');
                }
                emit(sink, item);
            }
            sink.buf().push_ascii(b']');
        }
        Value::Object(map) => emit_members(sink, map.iter().map(|(k, v)| (k.as_str(), v))),
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
    fn objects_print_in_order_as_serde_json_would() {
        let o = crate::object! {"z": json!({"k\"ey": [1, null]}), "a": "é\n"};
        assert_eq!(object_to_string(&o), serde_json::to_string(&o).unwrap());
        let mut out = String::new();
        write_object_as_str(&mut out, &o);
        let expected = serde_json::to_string(&serde_json::to_string(&o).unwrap()).unwrap();
        assert_eq!(out, expected);
    }
}
