//! JSON-RPC 2.0 envelopes: turning one framed line into a validated call, and
//! building the response / notification lines we send back.
//!
//! Everything here is strict on purpose: the peer is an arbitrary program on
//! the other end of a wire, so every malformed input maps to a well-defined
//! JSON-RPC error instead of a guess (or a panic).

use alloc::format;
use alloc::string::{String, ToString};
use serde::Serialize;
use serde_json::{Map, Value};

/// The only protocol version we speak (the `"jsonrpc"` member).
pub const VERSION: &str = "2.0";

/// Deepest `[`/`{` nesting accepted in an incoming document. Real MCP traffic
/// is shallow; the limit keeps a hostile line from costing deep recursion.
pub const MAX_DEPTH: usize = 32;

/// Standard JSON-RPC 2.0 error codes.
pub mod code {
    pub const PARSE_ERROR: i64 = -32700;
    pub const INVALID_REQUEST: i64 = -32600;
    pub const METHOD_NOT_FOUND: i64 = -32601;
    pub const INVALID_PARAMS: i64 = -32602;
    pub const INTERNAL_ERROR: i64 = -32603;
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

/// A request (`id` is `Some`) or notification (`id` is `None`) whose envelope
/// has been validated. `params` is untouched: its shape is the method's business.
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

/// What a well-formed incoming line turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Call(Call),
    /// A response from the peer (`result`/`error`, no `method`). We never send
    /// requests, so there is nothing to match it against; it is ignored.
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

/// Parses and validates one line (without its newline).
pub fn parse(line: &[u8]) -> Result<Message, Rejection> {
    let text = core::str::from_utf8(line)
        .map_err(|_| Rejection::anonymous(RpcError::parse_error("invalid UTF-8")))?;
    if nesting_exceeds(text.as_bytes(), MAX_DEPTH) {
        let detail = format!("nested deeper than {MAX_DEPTH} levels");
        return Err(Rejection::anonymous(RpcError::invalid_request(&detail)));
    }
    let value: Value = serde_json::from_str(text)
        .map_err(|_| Rejection::anonymous(RpcError::parse_error("invalid JSON")))?;
    let Value::Object(mut obj) = value else {
        let detail = if value.is_array() {
            "batches are not supported"
        } else {
            "expected a JSON object"
        };
        return Err(Rejection::anonymous(RpcError::invalid_request(detail)));
    };

    if !obj.contains_key("method") && (obj.contains_key("result") || obj.contains_key("error")) {
        return Ok(Message::Response);
    }

    let id = obj.remove("id");
    let id_ok = id.as_ref().is_none_or(is_valid_id);
    let reply_id = match &id {
        Some(v) if id_ok => v.clone(),
        _ => Value::Null,
    };
    let reject = |detail: &str| Rejection {
        id: reply_id.clone(),
        error: RpcError::invalid_request(detail),
    };

    if obj.get("jsonrpc").and_then(Value::as_str) != Some(VERSION) {
        return Err(reject("\"jsonrpc\" must be \"2.0\""));
    }
    let method = match obj.remove("method") {
        Some(Value::String(m)) => m,
        Some(_) => return Err(reject("\"method\" must be a string")),
        None => return Err(reject("missing \"method\"")),
    };
    if !id_ok {
        return Err(reject("\"id\" must be a string or an integer"));
    }
    Ok(Message::Call(Call {
        id,
        method,
        params: obj.remove("params"),
    }))
}

/// MCP narrows JSON-RPC ids to strings and integers (no null, no fractions).
fn is_valid_id(id: &Value) -> bool {
    match id {
        Value::String(_) => true,
        Value::Number(n) => n.is_i64() || n.is_u64(),
        _ => false,
    }
}

/// True when `bytes` nest arrays/objects deeper than `max`. A linear scan run
/// before the real parser, so depth is bounded no matter what the parser
/// does. Brackets inside strings (including after escaped quotes) don't count.
/// Garbage in gives an arbitrary answer, which is fine: the parser rejects it.
pub fn nesting_exceeds(bytes: &[u8], max: usize) -> bool {
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
            (
                r#"{"jsonrpc":"2.0","id":18446744073709551616,"method":"ping"}"#,
                Value::Null,
            ),
            (r#"{"jsonrpc":"2.0","method":7}"#, Value::Null),
        ];
        for (line, id) in cases {
            let r = rejected(line);
            assert_eq!(r.error.code, code::INVALID_REQUEST, "{line}");
            assert_eq!(&r.id, id, "{line}");
        }
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
