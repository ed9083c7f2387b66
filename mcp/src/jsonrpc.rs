//! JSON-RPC 2.0 envelopes: turning one framed line into a validated call, and
//! building the response / notification lines we send back.
//!
//! Everything here is strict on purpose: the peer is an arbitrary program on
//! the other end of a wire, so every malformed input maps to a well-defined
//! JSON-RPC error instead of a guess (or a panic).

use alloc::borrow::Cow;
use alloc::format;
use alloc::string::{String, ToString};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::json_out;
use crate::limits::MAX_ID_BYTES;
use crate::params::{ParamsSlot, Shape, Text};
use crate::scan::{self, Scan};

/// The only protocol version we speak (the `"jsonrpc"` member).
pub const VERSION: &str = "2.0";

/// Re-exported from [`crate::limits`], where every bound is documented.
pub use crate::limits::MAX_DEPTH;

/// Standard JSON-RPC 2.0 error codes.
pub mod code {
    pub const PARSE_ERROR: i64 = -32700;
    pub const INVALID_REQUEST: i64 = -32600;
    pub const METHOD_NOT_FOUND: i64 = -32601;
    pub const INVALID_PARAMS: i64 = -32602;
    pub const INTERNAL_ERROR: i64 = -32603;
    /// Implementation-defined server error: the pending-request queue is full.
    pub const SERVER_BUSY: i64 = -32000;
    /// MCP: `resources/read` (or a subscription) named an unknown URI.
    pub const RESOURCE_NOT_FOUND: i64 = -32002;
    /// MCP 2026-07-28: the request's `_meta` protocol version is not served.
    pub const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;
}

/// A JSON-RPC error object (`{"code", "message", "data"?}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl RpcError {
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        RpcError {
            code,
            message: message.into(),
            data: None,
        }
    }

    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    pub fn parse_error(detail: &str) -> Self {
        Self::new(code::PARSE_ERROR, format!("Parse error: {detail}"))
    }

    pub fn invalid_request(detail: &str) -> Self {
        Self::new(code::INVALID_REQUEST, format!("Invalid Request: {detail}"))
    }

    pub fn method_not_found(method: &str) -> Self {
        Self::new(
            code::METHOD_NOT_FOUND,
            format!("Method not found: {method}"),
        )
    }

    pub fn invalid_params(detail: &str) -> Self {
        Self::new(code::INVALID_PARAMS, format!("Invalid params: {detail}"))
    }

    pub fn internal_error(detail: &str) -> Self {
        Self::new(code::INTERNAL_ERROR, format!("Internal error: {detail}"))
    }
}

/// A validated request (`id` is `Some`) or notification, borrowing from the
/// line it came from: parsing it allocates nothing unless the method name
/// contains escapes. The `params` members MCP methods use are captured as
/// raw JSON slices in the same pass (see [`crate::params`]).
#[derive(Debug, Clone)]
pub struct Envelope<'a> {
    /// JSON text of the id: a string literal or an integer, never `null`.
    pub id: Option<&'a str>,
    pub method: Cow<'a, str>,
    pub params: ParamsSlot<'a>,
}

/// What a well-formed line turned out to be (borrowed form).
// Boxing the envelope would cost an allocation per message; it lives on
// the stack for the duration of one dispatch.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Incoming<'a> {
    Call(Envelope<'a>),
    /// A response from the peer (`result`/`error`, no `method`). We never send
    /// requests, so there is nothing to match it against; it is ignored.
    Response,
}

/// A request (`id` is `Some`) or notification (`id` is `None`) whose envelope
/// has been validated, in owned form. `params` is untouched: its shape is the
/// method's business.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// Always a string or an integer when present.
    pub id: Option<Value>,
    pub method: String,
    pub params: Option<Value>,
}

impl Call {
    pub fn is_notification(&self) -> bool {
        self.id.is_none()
    }
}

/// What a well-formed incoming line turned out to be (owned form).
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Call(Call),
    /// See [`Incoming::Response`].
    Response,
}

/// An incoming line we must refuse, and the id to address the error to
/// (`Value::Null` when the request's id could not be determined).
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub id: Value,
    pub error: RpcError,
}

impl Rejection {
    fn anonymous(error: RpcError) -> Self {
        Rejection {
            id: Value::Null,
            error,
        }
    }
}

/// A member that was present, as raw JSON text (valid JSON, as the
/// scanner checked). Unlike a missing member, an explicit `null` is
/// `Some("null")`, which is how `"id": null` is told apart from no id.
#[derive(Debug, Default, Clone, Copy)]
pub struct Member<'a>(pub Option<&'a str>);

impl<'de: 'a, 'a> Deserialize<'de> for Member<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <&'a RawValue>::deserialize(d).map(|raw| Member(Some(raw.get())))
    }
}

/// The envelope members we look at, as raw text.
#[derive(Default)]
struct RawEnvelope<'a> {
    jsonrpc: Member<'a>,
    id: Member<'a>,
    method: Member<'a>,
    result: bool,
    error: bool,
    /// One of the above appeared twice.
    repeated: bool,
}

impl<'a> RawEnvelope<'a> {
    fn take(&mut self, key: &str, value: &'a str) {
        let slot = match key {
            "jsonrpc" => &mut self.jsonrpc,
            "id" => &mut self.id,
            "method" => &mut self.method,
            "result" | "error" => {
                let seen = if key == "result" {
                    &mut self.result
                } else {
                    &mut self.error
                };
                self.repeated |= *seen;
                *seen = true;
                return;
            }
            _ => return,
        };
        self.repeated |= slot.0.is_some();
        slot.0 = Some(value);
    }
}

/// Parses and validates one line (without its newline), borrowing from it.
pub fn parse_borrowed(line: &[u8]) -> Result<Incoming<'_>, Rejection> {
    let text = core::str::from_utf8(line)
        .map_err(|_| Rejection::anonymous(RpcError::parse_error("invalid UTF-8")))?;
    if nesting_exceeds(text.as_bytes(), MAX_DEPTH) {
        let detail = format!("nested deeper than {MAX_DEPTH} levels");
        return Err(Rejection::anonymous(RpcError::invalid_request(&detail)));
    }
    let mut scanner = Scan::new(text);
    let first = scanner.first();
    if first != Some(b'{') {
        if !scan::is_valid(text) {
            return Err(Rejection::anonymous(RpcError::parse_error("invalid JSON")));
        }
        let detail = if first == Some(b'[') {
            "batches are not supported"
        } else {
            "expected a JSON object"
        };
        return Err(Rejection::anonymous(RpcError::invalid_request(detail)));
    }
    let mut raw = RawEnvelope::default();
    let mut params = ParamsSlot::default();
    scanner
        .object(|key, scan| {
            let name = key.name();
            if name == "params" {
                raw.repeated |= params.shape != Shape::Absent;
                params = ParamsSlot::read(scan)?;
            } else {
                raw.take(&name, scan.value()?);
            }
            Ok(())
        })
        .and_then(|()| scanner.end())
        .map_err(|_| Rejection::anonymous(RpcError::parse_error("invalid JSON")))?;
    if raw.repeated {
        return Err(Rejection::anonymous(RpcError::invalid_request(
            "a JSON-RPC member appears twice",
        )));
    }

    if raw.method.0.is_none() && (raw.result || raw.error) {
        return Ok(Incoming::Response);
    }

    let id = raw.id.0;
    let id_ok = id.is_none_or(is_valid_id);
    let reject = |detail: &str| Rejection {
        id: match id {
            Some(r) if id_ok => serde_json::from_str(r).unwrap_or(Value::Null),
            _ => Value::Null,
        },
        error: RpcError::invalid_request(detail),
    };

    if !matches!(Text::of(raw.jsonrpc), Text::Str(v) if v == VERSION) {
        return Err(reject("\"jsonrpc\" must be \"2.0\""));
    }
    let method = match Text::of(raw.method) {
        Text::Str(m) => m,
        Text::Other => return Err(reject("\"method\" must be a string")),
        Text::Absent => return Err(reject("missing \"method\"")),
    };
    if !id_ok {
        return Err(reject("\"id\" must be a string or an integer"));
    }
    if id.is_some_and(|r| r.len() > MAX_ID_BYTES) {
        return Err(Rejection::anonymous(RpcError::invalid_request(&format!(
            "\"id\" longer than {MAX_ID_BYTES} bytes"
        ))));
    }
    Ok(Incoming::Call(Envelope { id, method, params }))
}

/// Parses and validates one line into owned form (see [`parse_borrowed`]).
/// Not on the hot path: `params` is taken from a second, full parse.
pub fn parse(line: &[u8]) -> Result<Message, Rejection> {
    Ok(match parse_borrowed(line)? {
        Incoming::Response => Message::Response,
        Incoming::Call(env) => {
            let params = serde_json::from_slice::<Map<String, Value>>(line)
                .ok()
                .and_then(|mut obj| obj.remove("params"));
            Message::Call(Call {
                id: env
                    .id
                    .map(|r| serde_json::from_str(r).unwrap_or(Value::Null)),
                method: env.method.into_owned(),
                params,
            })
        }
    })
}

/// The string a raw JSON value holds, borrowed when it has no escapes;
/// `None` when the value is not a string.
pub fn str_of(text: &str) -> Option<Cow<'_, str>> {
    if !text.starts_with('"') {
        return None;
    }
    match serde_json::from_str::<&str>(text) {
        Ok(s) => Some(Cow::Borrowed(s)),
        Err(_) => serde_json::from_str::<String>(text).ok().map(Cow::Owned),
    }
}

/// MCP narrows JSON-RPC ids to strings and integers (no null, no fractions).
/// `text` is the id's JSON text, already known to be valid JSON.
/// A string id must also decode: `"\udddd"` (an unpaired surrogate) is
/// valid JSON text but no string, so it could neither be compared nor
/// echoed to clients that decode it. `-0` is refused like `1.0`: Rust
/// parses it as the integer 0, but serde_json (and so most clients) reads it
/// as the float -0.0, and echoing it would hand them a fractional id
/// ([`crate::binary`] has no `-0` integer either).
pub(crate) fn is_valid_id(text: &str) -> bool {
    if text.starts_with('"') {
        return scan::plain_str(text).is_some() || serde_json::from_str::<String>(text).is_ok();
    }
    is_integer_text(text)
}

/// An integer from `i64::MIN` to `u64::MAX` written without a sign on zero.
fn is_integer_text(text: &str) -> bool {
    text != "-0" && (text.parse::<i64>().is_ok() || text.parse::<u64>().is_ok())
}

/// True when `bytes` nest arrays/objects deeper than `max`. A linear scan run
/// before the real parser, so depth is bounded no matter what the parser
/// does. Brackets inside strings (including after escaped quotes) don't count.
/// Garbage in gives an arbitrary answer, which is fine: the parser rejects it.
pub fn nesting_exceeds(bytes: &[u8], max: usize) -> bool {
    // Fast path: with no more opening brackets than `max` in all, no
    // nesting can exceed it (typical requests have three or four). This
    // count vectorizes; the precise scan below does not.
    // (`b | 0x20` maps `[` onto `{` and nothing else onto it.)
    // Counted per 255-byte chunk in a `u8`, which the compiler vectorizes.
    let openings: usize = bytes
        .chunks(255)
        .map(|chunk| {
            let n = chunk
                .iter()
                .fold(0u8, |n, &b| n + u8::from(b | 0x20 == b'{'));
            usize::from(n)
        })
        .sum();
    if openings <= max {
        return false;
    }
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// A request id in comparable form: `1` and `"1"` differ, `"\u0041"` and
/// `"A"` are the same. Used to match `notifications/cancelled` and to spot a
/// duplicate of a request still in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestId {
    Int(i128),
    Str(String),
}

impl RequestId {
    /// From an id's JSON text; `None` unless it is a string or an integer
    /// (`-0` is neither, see [`is_valid_id`]).
    pub fn from_raw(text: &str) -> Option<RequestId> {
        if text.starts_with('"') {
            serde_json::from_str::<String>(text)
                .ok()
                .map(RequestId::Str)
        } else if text == "-0" {
            None
        } else if let Ok(n) = text.parse::<i64>() {
            Some(RequestId::Int(n.into()))
        } else {
            text.parse::<u64>().ok().map(|n| RequestId::Int(n.into()))
        }
    }

    /// Appends the id as JSON.
    pub fn write(&self, out: &mut String) {
        match self {
            RequestId::Int(n) => {
                let _ = core::fmt::Write::write_fmt(out, format_args!("{n}"));
            }
            RequestId::Str(s) => json_out::write_str(out, s),
        }
    }
}

/// Appends `{"jsonrpc":"2.0","id":<id>,"result":` — the caller writes the
/// result object and then [`end_response`].
pub fn begin_result(out: &mut String, id: &str) {
    out.push_str("{\"jsonrpc\":\"2.0\",\"id\":");
    out.push_str(id);
    out.push_str(",\"result\":");
}

/// Closes what [`begin_result`] opened.
pub fn end_response(out: &mut String) {
    out.push('}');
}

/// An error response line addressed to the id whose JSON text is `id`.
pub fn error_raw(id: &str, err: &RpcError) -> String {
    let mut out = String::with_capacity(96 + err.message.len());
    out.push_str("{\"jsonrpc\":\"2.0\",\"id\":");
    out.push_str(id);
    out.push_str(",\"error\":{\"code\":");
    let _ = core::fmt::Write::write_fmt(&mut out, format_args!("{}", err.code));
    out.push_str(",\"message\":");
    json_out::write_str(&mut out, &err.message);
    if let Some(data) = &err.data {
        out.push_str(",\"data\":");
        json_out::write_value(&mut out, data);
    }
    out.push_str("}}");
    out
}

#[derive(Serialize)]
struct ResponseLine<'a, T: Serialize> {
    jsonrpc: &'static str,
    id: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a RpcError>,
}

#[derive(Serialize)]
struct NotificationLine<'a> {
    jsonrpc: &'static str,
    method: &'a str,
    #[serde(skip_serializing_if = "Value::is_null")]
    params: Value,
}

/// Last-resort line if serialization itself fails (it cannot for the types
/// used here, but the kernel must never be left without an answer).
const SERIALIZE_FAILED: &str = r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Internal error: response serialization failed"}}"#;

/// A success response line (compact JSON, no trailing newline).
pub fn success(id: &Value, result: impl Serialize) -> String {
    let line = ResponseLine {
        jsonrpc: VERSION,
        id,
        result: Some(result),
        error: None,
    };
    serde_json::to_string(&line).unwrap_or_else(|_| SERIALIZE_FAILED.to_string())
}

/// An error response line (compact JSON, no trailing newline).
pub fn error(id: &Value, err: &RpcError) -> String {
    let line: ResponseLine<'_, ()> = ResponseLine {
        jsonrpc: VERSION,
        id,
        result: None,
        error: Some(err),
    };
    serde_json::to_string(&line).unwrap_or_else(|_| SERIALIZE_FAILED.to_string())
}

/// A notification line for the kernel to send unprompted (compact JSON, no
/// trailing newline). `params` is omitted when it is `Value::Null`.
pub fn notification(method: &str, params: Value) -> String {
    let line = NotificationLine {
        jsonrpc: VERSION,
        method,
        params,
    };
    serde_json::to_string(&line).unwrap_or_else(|_| SERIALIZE_FAILED.to_string())
}

/// `params` as an object map: absent means empty; anything but an object is
/// refused (every MCP method takes named parameters).
pub fn params_object(params: Option<Value>) -> Result<Map<String, Value>, RpcError> {
    match params {
        None => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map),
        Some(Value::Array(_)) => Err(RpcError::invalid_params("expected an object, not an array")),
        Some(_) => Err(RpcError::invalid_params("\"params\" must be an object")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use serde_json::json;

    fn rejected(line: &str) -> Rejection {
        match parse(line.as_bytes()) {
            Err(r) => r,
            Ok(m) => panic!("{line} was accepted as {m:?}"),
        }
    }

    fn call(line: &str) -> Call {
        match parse(line.as_bytes()) {
            Ok(Message::Call(c)) => c,
            other => panic!("{line} gave {other:?}"),
        }
    }

    fn nested(depth: usize) -> String {
        let mut s = String::new();
        for _ in 0..depth {
            s.push('[');
        }
        for _ in 0..depth {
            s.push(']');
        }
        s
    }

    #[test]
    fn parses_request_and_notification() {
        let c = call(r#"{"jsonrpc":"2.0","id":7,"method":"ping","params":{}}"#);
        assert_eq!(c.id, Some(json!(7)));
        assert_eq!(c.method, "ping");
        assert_eq!(c.params, Some(json!({})));
        assert!(!c.is_notification());

        let n = call(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        assert!(n.is_notification());
        assert_eq!(n.params, None);
    }

    #[test]
    fn response_from_peer_is_recognised() {
        for line in [
            r#"{"jsonrpc":"2.0","id":1,"result":{}}"#,
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}}"#,
            r#"{"id":"a","result":null}"#,
        ] {
            assert_eq!(parse(line.as_bytes()), Ok(Message::Response), "{line}");
        }
    }

    #[test]
    fn parse_errors_have_null_id() {
        for line in [
            &b"{"[..],
            b"{\"jsonrpc\":\"2.0\",}",
            b"nope",
            b"\xff\xfe",
            b"{\"a\":\"\xc3\"}",
        ] {
            let r = parse(line).unwrap_err();
            assert_eq!(r.error.code, code::PARSE_ERROR);
            assert_eq!(r.id, Value::Null);
        }
    }

    #[test]
    fn invalid_request_cases() {
        let cases: &[(&str, Value)] = &[
            (r#"[]"#, Value::Null),
            (r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#, Value::Null),
            (r#""ping""#, Value::Null),
            (r#"42"#, Value::Null),
            (r#"null"#, Value::Null),
            (r#"{"id":1,"method":"ping"}"#, json!(1)),
            (r#"{"jsonrpc":"1.0","id":"x","method":"ping"}"#, json!("x")),
            (r#"{"jsonrpc":2.0,"id":2,"method":"ping"}"#, json!(2)),
            (r#"{"jsonrpc":"2.0","id":3}"#, json!(3)),
            (r#"{"jsonrpc":"2.0","id":4,"method":5}"#, json!(4)),
            (
                r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#,
                Value::Null,
            ),
            (
                r#"{"jsonrpc":"2.0","id":true,"method":"ping"}"#,
                Value::Null,
            ),
            (r#"{"jsonrpc":"2.0","id":{},"method":"ping"}"#, Value::Null),
            (r#"{"jsonrpc":"2.0","id":[1],"method":"ping"}"#, Value::Null),
            (r#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#, Value::Null),
            (r#"{"jsonrpc":"2.0","id":1e3,"method":"ping"}"#, Value::Null),
            (r#"{"jsonrpc":"2.0","id":1.0,"method":"ping"}"#, Value::Null),
            // Found by cargo-fuzz: `-0` parses as an i64 but serde_json
            // clients read it back as the float -0.0.
            (r#"{"jsonrpc":"2.0","id":-0,"method":"ping"}"#, Value::Null),
            (
                r#"{"jsonrpc":"2.0","id":-0.0,"method":"ping"}"#,
                Value::Null,
            ),
            (
                r#"{"jsonrpc":"2.0","id":18446744073709551616,"method":"ping"}"#,
                Value::Null,
            ),
            (r#"{"jsonrpc":"2.0","method":7}"#, Value::Null),
            // Found by cargo-fuzz: an id that is no string once decoded.
            (
                r#"{"jsonrpc":"2.0","id":"\uDDDD","method":"ping"}"#,
                Value::Null,
            ),
            (
                r#"{"jsonrpc":"2.0","id":"a\ud800b","method":"ping"}"#,
                Value::Null,
            ),
        ];
        for (line, id) in cases {
            let r = rejected(line);
            assert_eq!(r.error.code, code::INVALID_REQUEST, "{line}");
            assert_eq!(&r.id, id, "{line}");
        }
    }

    #[test]
    fn minus_zero_is_no_id() {
        for text in ["-0", "-0.0", "-0e0", "1.0"] {
            assert!(!is_valid_id(text), "{text}");
            assert_eq!(RequestId::from_raw(text), None, "{text}");
        }
        for text in [
            "0",
            "-1",
            "10",
            "-9223372036854775808",
            "18446744073709551615",
        ] {
            assert!(is_valid_id(text), "{text}");
            assert!(RequestId::from_raw(text).is_some(), "{text}");
        }
        let r = rejected(r#"{"jsonrpc":"2.0","id":-0,"method":"tools/call"}"#);
        assert_eq!(r.error.code, code::INVALID_REQUEST);
        assert_eq!(r.id, Value::Null);
    }

    #[test]
    fn ids_round_trip_exactly() {
        for id in [
            json!(0),
            json!(-1),
            json!(i64::MIN),
            json!(u64::MAX),
            json!(""),
            json!("é\u{1F600}\"\\\n"),
        ] {
            let line =
                serde_json::to_string(&json!({"jsonrpc":"2.0","id":id,"method":"m"})).unwrap();
            let c = call(&line);
            assert_eq!(c.id.as_ref(), Some(&id));
            let out = success(c.id.as_ref().unwrap(), json!({}));
            let back: Value = serde_json::from_str(&out).unwrap();
            assert_eq!(back["id"], id);
        }
        let out = success(&json!(u64::MAX), json!({}));
        assert!(out.contains("18446744073709551615"));
        let out = success(
            &call(r#"{"jsonrpc":"2.0","id":"\u00e9x","method":"m"}"#)
                .id
                .unwrap(),
            1,
        );
        assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["id"], "éx");
    }

    #[test]
    fn depth_scan_counts_only_structure() {
        assert!(!nesting_exceeds(nested(MAX_DEPTH).as_bytes(), MAX_DEPTH));
        assert!(nesting_exceeds(nested(MAX_DEPTH + 1).as_bytes(), MAX_DEPTH));
        let mut in_string = String::from("{\"a\":\"");
        in_string.push_str(&"[".repeat(100));
        in_string.push_str("\\\"{{{{\"}");
        assert!(!nesting_exceeds(in_string.as_bytes(), 2));
        // Closing brackets in excess must not let later opening ones slip by.
        let tricky = alloc::format!("]]]]{}", nested(3));
        assert!(nesting_exceeds(tricky.as_bytes(), 2));
    }

    #[test]
    fn deep_documents_are_rejected_before_parsing() {
        let deep = alloc::format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"m","params":{}}}"#,
            nested(32)
        );
        assert_eq!(rejected(&deep).error.code, code::INVALID_REQUEST);
        let ok = alloc::format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"m","params":{}}}"#,
            nested(31)
        );
        assert!(call(&ok).params.is_some());
        // Far beyond serde_json's own recursion limit: still a clean refusal.
        let huge = "[".repeat(100_000);
        assert_eq!(rejected(&huge).error.code, code::INVALID_REQUEST);
    }

    #[test]
    fn builders_emit_compact_single_lines() {
        let e = error(
            &json!("a\nb"),
            &RpcError::method_not_found("x\ny").with_data(json!({"k":"\n"})),
        );
        assert!(!e.contains('\n'));
        assert_eq!(
            serde_json::from_str::<Value>(&e).unwrap(),
            json!({"jsonrpc":"2.0","id":"a\nb","error":{"code":-32601,"message":"Method not found: x\ny","data":{"k":"\n"}}})
        );
        assert_eq!(
            success(&json!(1), json!({})),
            r#"{"jsonrpc":"2.0","id":1,"result":{}}"#
        );
        assert_eq!(
            notification("notifications/message", json!({"level":"info"})),
            r#"{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info"}}"#
        );
        assert_eq!(
            notification("notifications/tools/list_changed", Value::Null),
            r#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#
        );
    }

    #[test]
    fn params_object_shapes() {
        assert_eq!(params_object(None), Ok(Map::new()));
        assert!(params_object(Some(json!({"a":1}))).is_ok());
        let bad: Vec<Value> =
            alloc::vec![json!([]), json!(1), json!("s"), json!(null), json!(true)];
        for p in bad {
            assert_eq!(
                params_object(Some(p)).unwrap_err().code,
                code::INVALID_PARAMS
            );
        }
    }
}
