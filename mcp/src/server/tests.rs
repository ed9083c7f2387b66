//! Server behaviour, driven through `handle_line` exactly as the kernel does.

use super::*;
use crate::jsonrpc::code;
use crate::registry::ToolResult;
use alloc::boxed::Box;
use alloc::string::ToString;
use alloc::vec;
use serde_json::json;

const INFO: ServerInfo = ServerInfo {
    name: "kingly-os",
    title: "Kingly OS",
    version: "0.1.0",
    instructions: Some("Call tools to drive the Pi."),
};

fn server() -> Server {
    let mut s = Server::new(INFO);
    s.add_tool(Tool {
        name: "echo",
        title: "Echo",
        description: "Returns its arguments as structured content.",
        input_schema: json!({"type":"object"}),
        output_schema: Some(json!({"type":"object"})),
        handler: Box::new(|args, _| ToolResult::Structured(args.clone().into())),
    });
    s.add_tool(Tool {
        name: "hello",
        title: "Hello",
        description: "Says hello.",
        input_schema: json!({"type":"object","properties":{}}),
        output_schema: None,
        handler: Box::new(|_, _| ToolResult::Text("hello".to_string())),
    });
    s.add_tool(Tool {
        name: "fail",
        title: "Fail",
        description: "Always fails.",
        input_schema: json!({"type":"object"}),
        output_schema: None,
        handler: Box::new(|args, _| match args.get("why").and_then(Value::as_str) {
            Some(why) => ToolResult::Error(why.to_string()),
            None => ToolResult::Error("no reason".to_string()),
        }),
    });
    s
}

/// A server whose handshake-era session is initialized.
fn ready() -> Server {
    let mut s = server();
    result(&mut s, INIT);
    s
}

/// Sends a line and parses the reply, checking the invariants every reply has.
fn send(s: &mut Server, line: &str) -> Value {
    let out = s
        .handle_line(line.as_bytes())
        .unwrap_or_else(|| panic!("no reply to {line}"));
    assert!(!out.contains('\n') && !out.contains('\r'), "{out}");
    let v: Value = serde_json::from_str(&out).expect("reply is JSON");
    assert_eq!(v["jsonrpc"], "2.0");
    assert!(v.get("id").is_some(), "{out}");
    assert!(
        v.get("result").is_some() != v.get("error").is_some(),
        "{out}"
    );
    v
}

fn result(s: &mut Server, line: &str) -> Value {
    let v = send(s, line);
    assert!(v.get("error").is_none(), "{line} -> {v}");
    v["result"].clone()
}

fn error_code(s: &mut Server, line: &str) -> i64 {
    let v = send(s, line);
    v["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("{line} -> {v}"))
}

fn request(id: Value, method: &str, params: Value) -> String {
    serde_json::to_string(&json!({"jsonrpc":"2.0","id":id,"method":method,"params":params}))
        .unwrap()
}

fn call(name: &str, arguments: Value) -> String {
    request(
        json!(1),
        "tools/call",
        json!({"name":name,"arguments":arguments}),
    )
}

const INIT: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;

#[test]
fn initialize_result_shape() {
    let mut s = server();
    assert_eq!(s.protocol_version(), None);
    let r = result(&mut s, INIT);
    assert_eq!(
        r,
        json!({
            "protocolVersion": "2025-06-18",
            "capabilities": {
                "tools": {"listChanged": false},
                "resources": {"subscribe": true, "listChanged": false},
                "prompts": {"listChanged": false},
                "logging": {},
                "completions": {}
            },
            "serverInfo": {"name": "kingly-os", "title": "Kingly OS", "version": "0.1.0"},
            "instructions": "Call tools to drive the Pi."
        })
    );
    assert_eq!(s.protocol_version(), Some("2025-06-18"));
}

#[test]
fn instructions_omitted_when_none() {
    let mut s = Server::new(ServerInfo {
        instructions: None,
        ..INFO
    });
    let r = result(&mut s, INIT);
    assert!(r.get("instructions").is_none());
}

#[test]
fn version_negotiation() {
    for v in ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"] {
        let mut s = server();
        let r = result(
            &mut s,
            &request(json!(1), "initialize", json!({"protocolVersion": v})),
        );
        assert_eq!(r["protocolVersion"], v);
    }
    for v in ["2023-01-01", "2099-12-31", "latest", ""] {
        let mut s = server();
        let r = result(
            &mut s,
            &request(json!(1), "initialize", json!({"protocolVersion": v})),
        );
        assert_eq!(r["protocolVersion"], "2025-11-25");
    }
}

#[test]
fn second_initialize_is_answered_and_renegotiates() {
    let mut s = server();
    result(&mut s, INIT);
    assert_eq!(
        s.handle_line(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
        None
    );
    assert!(s.initialized());
    let r = result(
        &mut s,
        &request(
            json!(9),
            "initialize",
            json!({"protocolVersion":"2024-11-05"}),
        ),
    );
    assert_eq!(r["protocolVersion"], "2024-11-05");
    assert_eq!(r["serverInfo"]["name"], "kingly-os");
    assert_eq!(s.protocol_version(), Some("2024-11-05"));
    assert!(s.initialized());
}

#[test]
fn initialize_param_errors() {
    let mut s = server();
    for params in [
        json!({}),
        json!({"protocolVersion": 20250618}),
        json!({"protocolVersion": null}),
        json!([]),
        json!("2025-06-18"),
    ] {
        assert_eq!(
            error_code(&mut s, &request(json!(1), "initialize", params)),
            code::INVALID_PARAMS
        );
    }
    assert_eq!(
        error_code(&mut s, r#"{"jsonrpc":"2.0","id":1,"method":"initialize"}"#),
        code::INVALID_PARAMS
    );
    assert_eq!(s.protocol_version(), None);
}

#[test]
fn initialized_tracks_the_notification() {
    let mut s = server();
    // Before initialize the notification is meaningless and changes nothing.
    assert_eq!(
        s.handle_line(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
        None
    );
    assert!(!s.initialized());
    result(&mut s, INIT);
    assert!(!s.initialized());
    assert_eq!(
        s.handle_line(br#"{"jsonrpc":"2.0","method":"notifications/initialized","params":{}}"#),
        None
    );
    assert!(s.initialized());
}

#[test]
fn notifications_never_get_a_reply() {
    let mut s = server();
    for line in [
        r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}"#,
        r#"{"jsonrpc":"2.0","method":"no/such/thing"}"#,
        r#"{"jsonrpc":"2.0","method":"ping"}"#,
        r#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"nope"}}"#,
        r#"{"jsonrpc":"2.0","method":"initialize","params":7}"#,
    ] {
        assert_eq!(s.handle_line(line.as_bytes()), None, "{line}");
    }
    // A notification-shaped initialize does not initialize.
    assert_eq!(s.protocol_version(), None);
}

#[test]
fn responses_from_the_client_are_ignored() {
    let mut s = server();
    for line in [
        r#"{"jsonrpc":"2.0","id":1,"result":{}}"#,
        r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}"#,
    ] {
        assert_eq!(s.handle_line(line.as_bytes()), None, "{line}");
    }
}

#[test]
fn ping() {
    let mut s = server();
    assert_eq!(
        result(&mut s, r#"{"jsonrpc":"2.0","id":"p","method":"ping"}"#),
        json!({})
    );
    assert_eq!(
        result(
            &mut s,
            r#"{"jsonrpc":"2.0","id":"p","method":"ping","params":{"_meta":{}}}"#
        ),
        json!({})
    );
    assert_eq!(
        error_code(
            &mut s,
            r#"{"jsonrpc":"2.0","id":"p","method":"ping","params":3}"#
        ),
        code::INVALID_PARAMS
    );
    assert_eq!(
        error_code(
            &mut s,
            r#"{"jsonrpc":"2.0","id":"p","method":"ping","params":[]}"#
        ),
        code::INVALID_PARAMS
    );
}

#[test]
fn exact_response_line() {
    let mut s = server();
    assert_eq!(
        s.handle_line(br#"{"jsonrpc":"2.0","id":42,"method":"ping"}"#)
            .unwrap(),
        r#"{"jsonrpc":"2.0","id":42,"result":{}}"#
    );
}

#[test]
fn id_echo() {
    let mut s = server();
    for (raw, id) in [
        ("\"abc\"", json!("abc")),
        ("\"\\u00e9\\ud83d\\ude00\"", json!("é\u{1F600}")),
        ("\"\"", json!("")),
        ("0", json!(0)),
        ("-7", json!(-7)),
        ("18446744073709551615", json!(u64::MAX)),
        ("-9223372036854775808", json!(i64::MIN)),
        ("9007199254740993", json!(9007199254740993u64)),
    ] {
        let line = alloc::format!(r#"{{"jsonrpc":"2.0","id":{raw},"method":"ping"}}"#);
        let out = s.handle_line(line.as_bytes()).unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["id"], id, "{out}");
        if !raw.starts_with('"') {
            assert!(out.contains(&alloc::format!("\"id\":{raw},")), "{out}");
        }
        // Errors echo the id too.
        let line = alloc::format!(r#"{{"jsonrpc":"2.0","id":{raw},"method":"nope"}}"#);
        assert_eq!(send(&mut s, &line)["id"], id);
    }
}

#[test]
fn unknown_method() {
    let mut s = server();
    let v = send(
        &mut s,
        r#"{"jsonrpc":"2.0","id":3,"method":"resources/lists"}"#,
    );
    assert_eq!(v["id"], 3);
    assert_eq!(v["error"]["code"], code::METHOD_NOT_FOUND);
    assert_eq!(v["error"]["message"], "Method not found: resources/lists");
    // Notification method names sent as requests are not methods either.
    assert_eq!(
        error_code(
            &mut s,
            r#"{"jsonrpc":"2.0","id":4,"method":"notifications/initialized"}"#
        ),
        code::METHOD_NOT_FOUND
    );
    // Method lookup comes before params checks.
    assert_eq!(
        error_code(
            &mut s,
            r#"{"jsonrpc":"2.0","id":5,"method":"x","params":1}"#
        ),
        code::METHOD_NOT_FOUND
    );
}

#[test]
fn envelope_errors() {
    let mut s = server();
    let cases: &[(&[u8], i64, Value)] = &[
        (b"{", code::PARSE_ERROR, Value::Null),
        (
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"",
            code::PARSE_ERROR,
            Value::Null,
        ),
        (b"\xc0\xaf", code::PARSE_ERROR, Value::Null),
        (
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"p\xffing\"}",
            code::PARSE_ERROR,
            Value::Null,
        ),
        (b"[]", code::INVALID_REQUEST, Value::Null),
        (
            b"[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]",
            code::INVALID_REQUEST,
            Value::Null,
        ),
        (b"17", code::INVALID_REQUEST, Value::Null),
        (b"{}", code::INVALID_REQUEST, Value::Null),
        (
            b"{\"id\":1,\"method\":\"ping\"}",
            code::INVALID_REQUEST,
            json!(1),
        ),
        (
            b"{\"jsonrpc\":\"3.0\",\"id\":\"q\",\"method\":\"ping\"}",
            code::INVALID_REQUEST,
            json!("q"),
        ),
        (
            b"{\"jsonrpc\":\"2.0\",\"id\":2}",
            code::INVALID_REQUEST,
            json!(2),
        ),
        (
            b"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":null}",
            code::INVALID_REQUEST,
            json!(2),
        ),
        (
            b"{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}",
            code::INVALID_REQUEST,
            Value::Null,
        ),
        (
            b"{\"jsonrpc\":\"2.0\",\"id\":false,\"method\":\"ping\"}",
            code::INVALID_REQUEST,
            Value::Null,
        ),
        (
            b"{\"jsonrpc\":\"2.0\",\"id\":{\"a\":1},\"method\":\"ping\"}",
            code::INVALID_REQUEST,
            Value::Null,
        ),
        (
            b"{\"jsonrpc\":\"2.0\",\"id\":[],\"method\":\"ping\"}",
            code::INVALID_REQUEST,
            Value::Null,
        ),
        (
            b"{\"jsonrpc\":\"2.0\",\"id\":2.5,\"method\":\"ping\"}",
            code::INVALID_REQUEST,
            Value::Null,
        ),
        // Invalid even without an id: JSON-RPC answers these with id null.
        (b"{\"method\":\"ping\"}", code::INVALID_REQUEST, Value::Null),
    ];
    for (line, c, id) in cases {
        let out = s.handle_line(line).unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["error"]["code"], *c, "{out}");
        assert_eq!(&v["id"], id, "{out}");
        assert!(v["error"]["message"].is_string());
    }
}

#[test]
fn depth_limit() {
    let mut s = ready();
    let nest = |n: usize| alloc::format!("{}{}", "[".repeat(n), "]".repeat(n));
    // 31 nested arrays inside the params object: 33 levels in all, rejected.
    let deep = request(json!(1), "ping", json!({})).replace(
        "\"params\":{}",
        &alloc::format!("\"params\":{{\"a\":{}}}", nest(31)),
    );
    assert_eq!(error_code(&mut s, &deep), code::INVALID_REQUEST);
    // 29 inside: 31 levels, accepted (and ping ignores the extra member).
    let ok = request(json!(1), "ping", json!({})).replace(
        "\"params\":{}",
        &alloc::format!("\"params\":{{\"a\":{}}}", nest(29)),
    );
    assert_eq!(result(&mut s, &ok), json!({}));
    // Bare nested arrays: 33 rejected by the depth check, 31 by "not an object".
    let v = send(&mut s, &nest(33));
    assert_eq!(v["error"]["code"], code::INVALID_REQUEST);
    assert!(v["error"]["message"].as_str().unwrap().contains("nested"));
    let v = send(&mut s, &nest(31));
    assert!(!v["error"]["message"].as_str().unwrap().contains("nested"));
    // Tool arguments nested to the limit reach the handler intact.
    let args = serde_json::from_str::<Value>(&alloc::format!("{{\"x\":{}}}", nest(29))).unwrap();
    let r = result(&mut s, &call("echo", args.clone()));
    assert_eq!(r["structuredContent"], args);
}

#[test]
fn tools_list_shape_and_order() {
    let mut s = ready();
    let r = result(&mut s, r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#);
    assert_eq!(
        r,
        json!({"tools": [
            {"name":"echo","title":"Echo","description":"Returns its arguments as structured content.",
             "inputSchema":{"type":"object"},"outputSchema":{"type":"object"}},
            {"name":"hello","title":"Hello","description":"Says hello.",
             "inputSchema":{"type":"object","properties":{}}},
            {"name":"fail","title":"Fail","description":"Always fails.","inputSchema":{"type":"object"}},
        ]})
    );
    assert!(r.get("nextCursor").is_none());
    assert_eq!(
        result(&mut s, &request(json!(2), "tools/list", json!({}))),
        r
    );
}

#[test]
fn tools_list_without_tools() {
    let mut s = Server::new(INFO);
    result(&mut s, INIT);
    assert_eq!(
        result(&mut s, &request(json!(1), "tools/list", json!({}))),
        json!({"tools": []})
    );
}

#[test]
fn tools_list_cursor_and_params_errors() {
    let mut s = ready();
    for params in [
        json!({"cursor":"abc"}),
        json!({"cursor":""}),
        json!({"cursor":5}),
        json!({"cursor":null}),
        json!([]),
        json!(1),
    ] {
        assert_eq!(
            error_code(&mut s, &request(json!(1), "tools/list", params)),
            code::INVALID_PARAMS
        );
    }
}

#[test]
fn refused_before_initialize_except_ping() {
    let mut s = server();
    for line in [
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#.to_string(),
        call("hello", json!({})),
        request(json!(2), "resources/list", json!({})),
        request(json!(3), "logging/setLevel", json!({"level":"debug"})),
    ] {
        let v = send(&mut s, &line);
        assert_eq!(v["error"]["code"], code::INVALID_REQUEST, "{line}");
        assert!(v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not initialized"));
    }
    assert_eq!(
        result(&mut s, r#"{"jsonrpc":"2.0","id":4,"method":"ping"}"#),
        json!({})
    );
    // Unknown methods are still -32601 at once.
    assert_eq!(
        error_code(&mut s, &request(json!(5), "no/such", json!({}))),
        code::METHOD_NOT_FOUND
    );
}

#[test]
fn tools_call_structured() {
    let mut s = ready();
    let r = result(&mut s, &call("echo", json!({"pin": 17, "on": true})));
    assert_eq!(
        r,
        json!({
            "content":[{"type":"text","text":"{\"on\":true,\"pin\":17}"}],
            "structuredContent":{"pin":17,"on":true},
            "isError":false
        })
    );
}

#[test]
fn tools_call_text_and_missing_arguments() {
    let mut s = ready();
    let r = result(
        &mut s,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"hello"}}"#,
    );
    assert_eq!(
        r,
        json!({"content":[{"type":"text","text":"hello"}],"isError":false})
    );
    // The handler sees an empty map when arguments are absent.
    let r = result(
        &mut s,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}"#,
    );
    assert_eq!(r["structuredContent"], json!({}));
}

#[test]
fn tools_call_error_result_is_not_a_protocol_error() {
    let mut s = ready();
    let r = result(
        &mut s,
        &call("fail", json!({"why":"pin 99 does not exist"})),
    );
    assert_eq!(
        r,
        json!({"content":[{"type":"text","text":"pin 99 does not exist"}],"isError":true})
    );
}

#[test]
fn tools_call_param_errors() {
    let mut s = ready();
    let v = send(&mut s, &call("nope", json!({})));
    assert_eq!(v["error"]["code"], code::INVALID_PARAMS);
    assert_eq!(v["error"]["message"], "Unknown tool: nope");
    for params in [
        json!({}),
        json!({"name": 5}),
        json!({"name": null}),
        json!({"arguments": {}}),
        json!({"name":"echo","arguments":[1]}),
        json!({"name":"echo","arguments":"x"}),
        json!({"name":"echo","arguments":null}),
        json!(["echo"]),
        json!("echo"),
    ] {
        assert_eq!(
            error_code(&mut s, &request(json!(1), "tools/call", params.clone())),
            code::INVALID_PARAMS,
            "{params}"
        );
    }
    assert_eq!(
        error_code(&mut s, r#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#),
        code::INVALID_PARAMS
    );
}

#[test]
fn handlers_keep_state() {
    let mut s = Server::new(INFO);
    result(&mut s, INIT);
    let count = core::sync::atomic::AtomicU32::new(0);
    s.add_tool(Tool {
        name: "count",
        title: "Count",
        description: "Counts calls.",
        input_schema: json!({"type":"object"}),
        output_schema: None,
        handler: Box::new(move |_, _| {
            let count = count.fetch_add(1, core::sync::atomic::Ordering::Relaxed) + 1;
            ToolResult::Structured(crate::object! { "count": count })
        }),
    });
    for n in 1..=3 {
        assert_eq!(
            result(&mut s, &call("count", json!({})))["structuredContent"]["count"],
            n
        );
    }
}

#[test]
fn too_long_response_shape() {
    let out = Server::too_long_response(70_000);
    assert!(!out.contains('\n'));
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["jsonrpc"], "2.0");
    assert_eq!(v["id"], Value::Null);
    assert_eq!(v["error"]["code"], code::INVALID_REQUEST);
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("MAX_LINE_BYTES") && msg.contains("70000"),
        "{msg}"
    );
    assert_eq!(
        v["error"]["data"],
        json!({"len":70_000,"max":crate::MAX_LINE_BYTES})
    );
}

#[test]
fn framer_and_server_together() {
    let mut s = server();
    let mut framer = crate::LineFramer::new();
    let mut input = vec![];
    input.extend_from_slice(INIT.as_bytes());
    input.extend_from_slice(
        b"\r\n\r\n{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n",
    );
    input.extend(core::iter::repeat_n(b'x', crate::MAX_LINE_BYTES + 10));
    input.extend_from_slice(b"\n{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"hello\"}}\n");
    let mut replies = vec![];
    framer.push_slice(&input, &mut |frame| {
        let reply = match frame {
            crate::Frame::Line(line) => s.handle_line(&line),
            crate::Frame::TooLong { len } => Some(Server::too_long_response(len)),
        };
        replies.extend(reply);
    });
    assert_eq!(replies.len(), 3, "{replies:?}");
    let ids: Vec<Value> = replies
        .iter()
        .map(|r| serde_json::from_str::<Value>(r).unwrap()["id"].clone())
        .collect();
    assert_eq!(ids, [json!(0), Value::Null, json!(2)]);
    assert!(s.initialized());
}

#[test]
fn set_level_changes_which_log_messages_are_wanted() {
    let mut s = ready();
    assert!(s.wants_log(LogLevel::Info) && !s.wants_log(LogLevel::Debug));
    let r = send(
        &mut s,
        r#"{"jsonrpc":"2.0","id":1,"method":"logging/setLevel","params":{"level":"error"}}"#,
    );
    assert_eq!(r["result"], json!({}));
    assert!(!s.wants_log(LogLevel::Warning));
    assert!(s.wants_log(LogLevel::Error) && s.wants_log(LogLevel::Emergency));
}

#[test]
fn set_level_rejects_bad_levels() {
    let mut s = ready();
    for params in [r#"{"level":"loud"}"#, r#"{"level":3}"#, r#"{}"#] {
        let line =
            format!(r#"{{"jsonrpc":"2.0","id":2,"method":"logging/setLevel","params":{params}}}"#);
        let r = send(&mut s, &line);
        assert_eq!(
            r["error"]["code"],
            json!(code::INVALID_PARAMS),
            "{params}: {r}"
        );
    }
    assert!(
        s.wants_log(LogLevel::Info),
        "a rejected call changes nothing"
    );
}
