//! What the fuzz targets share: a server with a few tools, and the checks
//! every reply must pass.

use mcp::binary::{self, Limits, Message};
use mcp::{
    Contents, Context, LogLevel, Prompt, PromptArgument, PromptMessage, PromptResult, Resource,
    ResourceTemplate, Role, Server, ServerInfo, Tool, ToolResult,
};
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
    run: fn(&Map<String, Value>, &mut dyn Context) -> ToolResult,
) -> Tool {
    Tool {
        name,
        title: name,
        description: "A tool for the fuzzer.",
        input_schema,
        output_schema: None,
        // The one line that follows the handler signature.
        handler: Box::new(move |arguments, context| run(arguments, context)),
    }
}

/// Reports progress (rising, then once falling), logs, and checks for
/// cancellation `n` times (at most 8).
fn slow(arguments: &Map<String, Value>, context: &mut dyn Context) -> ToolResult {
    let steps = arguments
        .get("n")
        .and_then(Value::as_u64)
        .unwrap_or(2)
        .min(8);
    for step in 0..steps {
        context.progress(step as f64, Some(steps as f64), Some("step"));
        context.log(LogLevel::Debug, "fuzz", json!({ "step": step }));
        if context.cancelled() {
            return ToolResult::Error("cancelled".into());
        }
    }
    context.progress(0.5, None, None);
    ToolResult::Structured(mcp::object! { "steps": steps })
}

/// A server with tools (structured, error, text and a slow one that uses
/// its context), two resources, a resource template and a prompt (both
/// with completion), fresh or past the `initialize` handshake.
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
        |arguments, _| ToolResult::Structured(mcp::object! { "args": arguments }),
    ));
    server.add_tool(tool(
        "fail",
        json!({
            "type": "object",
            "properties": { "why": { "type": "string" } },
            "required": ["why"]
        }),
        |_, _| ToolResult::Error("refused".into()),
    ));
    server.add_tool(tool("text", json!({ "type": "object" }), |arguments, _| {
        ToolResult::Text(format!("{} arguments", arguments.len()))
    }));
    server.add_tool(tool(
        "slow",
        json!({ "type": "object", "properties": { "n": { "type": "integer" } } }),
        slow,
    ));
    server.add_resource(Resource {
        uri: "kingly://fuzz/text".into(),
        name: "text".into(),
        title: "Text",
        description: "A text resource.",
        mime_type: "text/plain",
        subscribable: true,
        read: Box::new(|| Ok(Contents::Text("hello \u{e9}\n".into()))),
    });
    server.add_resource(Resource {
        uri: "kingly://fuzz/blob".into(),
        name: "blob".into(),
        title: "Blob",
        description: "A binary resource.",
        mime_type: "application/octet-stream",
        subscribable: false,
        read: Box::new(|| Ok(Contents::Blob(vec![0, 1, 2, 0xff]))),
    });
    server.add_resource_template(ResourceTemplate {
        uri_template: "kingly://fuzz/item/{id}",
        name: "item",
        title: "Item",
        description: "Items by id.",
        mime_type: "application/json",
        read: Box::new(|_uri, vars| {
            Ok(match vars.get("id").and_then(Value::as_str) {
                Some("none") => None,
                Some("fail") => return Err("refused".into()),
                id => Some(Contents::Text(json!({ "id": id }).to_string())),
            })
        }),
        complete: Some(Box::new(|_name, prefix| {
            ["1", "2", "none", "fail"]
                .iter()
                .filter(|v| v.starts_with(prefix))
                .map(|v| v.to_string())
                .collect()
        })),
        subscribable: false,
    });
    server.add_prompt(Prompt {
        name: "greet",
        title: "Greet",
        description: "Says hello.",
        arguments: vec![PromptArgument {
            name: "who",
            description: "Whom to greet.",
            required: true,
        }],
        get: Box::new(
            |arguments| match arguments.get("who").and_then(Value::as_str) {
                Some("fail") => Err("refused".into()),
                who => Ok(PromptResult {
                    description: None,
                    messages: vec![PromptMessage {
                        role: Role::User,
                        text: format!("hello {}", who.unwrap_or("?")),
                    }],
                }),
            },
        ),
        complete: Some(Box::new(|_name, prefix| vec![format!("{prefix}x")])),
    });
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

/// A line the server sends unprompted: one JSON-RPC notification (a
/// `method` string, no `id`, `params` an object if present) on one line.
pub fn check_notification(line: &str) -> Value {
    assert!(
        !line.contains(['\n', '\r']),
        "notification spans lines: {line:?}"
    );
    let value: Value = serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("notification is not JSON ({e}): {line:?}"));
    let object = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {line}"));
    assert_eq!(object.get("jsonrpc"), Some(&json!("2.0")), "{line}");
    assert!(object.get("method").is_some_and(Value::is_string), "{line}");
    assert!(object.get("id").is_none(), "{line}");
    assert!(object.get("params").is_none_or(Value::is_object), "{line}");
    assert!(
        object
            .keys()
            .all(|k| ["jsonrpc", "method", "params"].contains(&k.as_str())),
        "extra members: {line}"
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
