//! What the fuzz targets share: a server with a few tools, and the checks
//! every reply must pass.

use mcp::binary::{self, Limits, Message};
use mcp::{Server, ServerInfo, Tool, ToolResult};
use serde_json::{json, Map, Value};

pub const INITIALIZE: &[u8] = br#"{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"fuzz","version":"1"}}}"#;
pub const INITIALIZED: &[u8] = br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

/// Like [`Limits::DEFAULT`] without the length bound: for checking that what
/// one encoding accepts the other accepts too, whatever escapes cost.
pub const DEPTH_ONLY: Limits = Limits {
    max_bytes: usize::MAX,
    max_depth: binary::MAX_DEPTH,
};

fn tool(
    name: &'static str,
    input_schema: Value,
    run: fn(&Map<String, Value>) -> ToolResult,
) -> Tool {
    Tool {
        name,
        title: name,
        description: "A tool for the fuzzer.",
        input_schema,
        output_schema: None,
        handler: Box::new(move |arguments, _context| run(arguments)),
    }
}

/// A server with three tools (structured, error and text results), fresh or
/// past the `initialize` handshake.
pub fn server(initialized: bool) -> Server {
    let mut server = Server::new(ServerInfo {
        name: "fuzz",
        title: "Fuzz",
        version: "0",
        instructions: None,
    });
    server.add_tool(tool(
        "echo",
        json!({
            "type": "object",
            "properties": {
                "s": { "type": "string", "maxLength": 16 },
                "n": { "type": "integer", "minimum": 0 },
                "a": { "type": "array", "items": { "type": "number" } }
            }
        }),
        |arguments| ToolResult::Structured(json!({ "args": arguments })),
    ));
    server.add_tool(tool(
        "fail",
        json!({
            "type": "object",
            "properties": { "why": { "type": "string" } },
            "required": ["why"]
        }),
        |_| ToolResult::Error("refused".into()),
    ));
    server.add_tool(tool("text", json!({ "type": "object" }), |arguments| {
        ToolResult::Text(format!("{} arguments", arguments.len()))
    }));
    if initialized {
        let reply = server
            .handle_line(INITIALIZE)
            .expect("initialize is answered");
        assert!(check_reply(&reply).get("result").is_some(), "{reply}");
        assert!(server.handle_line(INITIALIZED).is_none());
    }
    server
}

/// Every reply is one line holding one JSON-RPC 2.0 response: `jsonrpc`,
/// an `id` that is a string, an integer or null, and exactly one of `result`
/// and `error` (an object with an integer `code` and a string `message`).
/// The line also converts to the binary form and back unchanged. Returns the
/// parsed reply.
pub fn check_reply(line: &str) -> Value {
    assert!(!line.contains(['\n', '\r']), "reply spans lines: {line:?}");
    let value: Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("reply is not JSON ({e}): {line:?}"));
    let object = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {line}"));
    assert_eq!(object.get("jsonrpc"), Some(&json!("2.0")), "{line}");
    match object.get("id") {
        Some(Value::String(_) | Value::Null) => {}
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => {}
        other => panic!("bad id {other:?}: {line}"),
    }
    match (object.get("result"), object.get("error")) {
        (Some(_), None) => {}
        (None, Some(Value::Object(error))) => {
            assert!(error.get("code").is_some_and(|c| c.is_i64()), "{line}");
            assert!(error.get("message").is_some_and(Value::is_string), "{line}");
            assert!(
                error
                    .keys()
                    .all(|k| ["code", "message", "data"].contains(&k.as_str())),
                "{line}"
            );
        }
        _ => panic!("not exactly one of result/error: {line}"),
    }
    assert!(
        object
            .keys()
            .all(|k| ["jsonrpc", "id", "result", "error"].contains(&k.as_str())),
        "extra members: {line}"
    );

    let message = Message::from_json_line_with(line.as_bytes(), Limits::TRUSTED)
        .unwrap_or_else(|e| panic!("binary form refuses the reply ({e}): {line}"));
    assert!(
        matches!(message, Message::Response { .. } | Message::Error { .. }),
        "{line}"
    );
    let bytes = binary::encode(&message);
    assert_eq!(
        binary::decode_with(&bytes, Limits::TRUSTED).as_ref(),
        Ok(&message)
    );
    assert_eq!(
        serde_json::from_str::<Value>(&message.to_json_line())
            .ok()
            .as_ref(),
        Some(&value),
        "{line}"
    );
    value
}

/// A decoded binary reply: valid postcard whose JSON form passes
/// [`check_reply`].
pub fn check_binary_reply(bytes: &[u8]) -> Message {
    let message = binary::decode_with(bytes, Limits::TRUSTED)
        .unwrap_or_else(|e| panic!("binary reply does not decode ({e}): {bytes:?}"));
    check_reply(&message.to_json_line());
    message
}
