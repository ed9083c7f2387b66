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
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{:04x}", b);
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Appends `v` as compact JSON (object members in the map's order).
pub fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, k);
                out.push(':');
                write_value(out, item);
            }
            out.push('}');
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

    #[test]
    fn matches_serde_json() {
        for v in [
            json!(null),
            json!({"a":[1,-2,3.5,1e300,true,false,null],"b":{"c":"\"\\\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f}é😀"}}),
            json!(u64::MAX),
            json!(i64::MIN),
            json!([]),
            json!({}),
            json!(0.1),
        ] {
            assert_eq!(to_string(&v), serde_json::to_string(&v).unwrap());
        }
    }
}
