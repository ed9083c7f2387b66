//! MCP over UART0: the real kernel8.img, booted from a real SD image in QEMU
//! raspi4b, answering newline-delimited JSON-RPC 2.0 on QEMU's stdio.

use kingly::client::jsonrpc_lines;
use kingly_tests::{assert_ping, boot, boot_with, expect_error, send_line, sys_info};
use serde_json::{json, Value};

// --- lifecycle ---------------------------------------------------------------

fn check_initialize_result(result: &Value, expected_version: &str) {
    assert_eq!(
        result["protocolVersion"],
        json!(expected_version),
        "negotiated version in {result}"
    );
    let name = result["serverInfo"]["name"].as_str().unwrap_or_default();
    assert!(!name.is_empty(), "serverInfo.name missing in {result}");
    assert!(
        result["capabilities"]["tools"].is_object(),
        "capabilities.tools missing in {result}"
    );
}

#[test]
fn initialize_answers_2025_11_25_when_asked_for_it() {
    let (_board, result) = boot_with("2025-11-25");
    check_initialize_result(&result, "2025-11-25");
}

#[test]
fn initialize_answers_2025_06_18_when_asked_for_it() {
    let (_board, result) = boot_with("2025-06-18");
    check_initialize_result(&result, "2025-06-18");
}

// --- tools -------------------------------------------------------------------

#[test]
fn tools_list_describes_sys_info() {
    let mut board = boot();
    let tools = board.list_tools().unwrap();
    let sys_info = tools
        .iter()
        .find(|tool| tool["name"] == "sys_info")
        .unwrap_or_else(|| panic!("no sys_info in {tools:?}"));
    assert_eq!(
        sys_info["inputSchema"]["type"], "object",
        "inputSchema of {sys_info}"
    );
    assert_eq!(
        sys_info["outputSchema"]["type"], "object",
        "outputSchema of {sys_info}"
    );
}

fn number(facts: &Value, key: &str) -> f64 {
    facts[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number in {facts}"))
}

fn region(facts: &Value, key: &str, first: &str, second: &str) -> (f64, f64) {
    let region = &facts[key];
    let get = |field: &str| {
        region[field]
            .as_f64()
            .unwrap_or_else(|| panic!("{key}.{field} is not a number in {facts}"))
    };
    (get(first), get(second))
}

#[test]
fn sys_info_reports_the_board() {
    let mut board = boot();
    let result = sys_info(&mut board);
    assert!(
        matches!(result.get("isError"), None | Some(Value::Bool(false))),
        "isError in {result}"
    );
    let facts = &result["structuredContent"];
    assert!(facts.is_object(), "no structuredContent in {result}");

    assert_eq!(
        facts["board_revision"], "0xb03115",
        "the raspi4b's revision code (Pi 4B 2 GB)"
    );
    assert_eq!(facts["cores_online"], 4);
    assert_eq!(facts["exception_level"], 1);
    assert_eq!(facts["cntfrq_hz"], 62_500_000);
    let (_, arm_size) = region(facts, "arm_memory", "base", "size");
    assert!(arm_size > 0.0, "arm_memory.size in {facts}");
    region(facts, "vc_memory", "base", "size");
    region(facts, "heap", "used", "free");
    number(facts, "uptime_ms");
    number(facts, "temperature_millicelsius");
    for present in ["board_serial", "firmware_revision"] {
        assert!(!facts[present].is_null(), "{present} missing in {facts}");
    }
    assert!(
        facts["kernel_version"].is_string(),
        "kernel_version in {facts}"
    );

    let text = result["content"]
        .as_array()
        .and_then(|blocks| blocks.iter().find(|b| b["type"] == "text"))
        .and_then(|b| b["text"].as_str())
        .unwrap_or_else(|| panic!("no text content block in {result}"));
    let parsed: Value = serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("text block is not JSON ({e}): {text}"));
    assert_eq!(
        &parsed, facts,
        "the text block and structuredContent differ"
    );
}

#[test]
fn sys_info_uptime_advances() {
    let mut board = boot();
    let first = number(&sys_info(&mut board)["structuredContent"], "uptime_ms");
    std::thread::sleep(std::time::Duration::from_millis(50));
    let second = number(&sys_info(&mut board)["structuredContent"], "uptime_ms");
    assert!(second > first, "uptime_ms went from {first} to {second}");
}

// --- malformed input ---------------------------------------------------------

#[test]
fn unparsable_line_gets_32700_with_null_id_and_the_server_recovers() {
    let mut board = boot();
    send_line(&mut board, b"{not json");
    let response = board
        .wait_for_response(&Value::Null, "the parse error")
        .unwrap();
    expect_error(&response, -32700);
    assert_eq!(response["id"], Value::Null);
    assert_ping(&mut board);
}

#[test]
fn unknown_method_gets_32601_with_its_id() {
    let mut board = boot();
    send_line(
        &mut board,
        br#"{"jsonrpc":"2.0","id":7,"method":"no/such"}"#,
    );
    let response = board
        .wait_for_response(&json!(7), "no/such (id 7)")
        .unwrap();
    expect_error(&response, -32601);
}

#[test]
fn unknown_tool_gets_32602() {
    let mut board = boot();
    let response = board
        .request(
            "tools/call",
            Some(json!({"name": "no_such_tool", "arguments": {}})),
        )
        .unwrap();
    expect_error(&response, -32602);
}

/// For a request the server could not read as valid, the id may be unknown.
fn assert_id_is_null_or(response: &Value, id: Value) {
    assert!(
        response["id"].is_null() || response["id"] == id,
        "id of {response}"
    );
}

#[test]
fn wrong_jsonrpc_version_gets_32600() {
    let mut board = boot();
    send_line(&mut board, br#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#);
    let response = board
        .next_response("the answer to a JSON-RPC 1.0 request")
        .unwrap();
    expect_error(&response, -32600);
    assert_id_is_null_or(&response, json!(1));
    assert_ping(&mut board);
}

#[test]
fn oversized_line_gets_32600_and_the_server_recovers() {
    let mut board = boot();
    let prefix = br#"{"jsonrpc":"2.0","id":8,"method":"ping","params":{"pad":""#;
    let suffix = br#""}}"#;
    let mut line = prefix.to_vec();
    line.resize(70 * 1024 - suffix.len(), b'a');
    line.extend_from_slice(suffix);
    assert_eq!(line.len(), 70 * 1024);
    send_line(&mut board, &line);
    let response = board.next_response("the answer to a 70 KiB line").unwrap();
    expect_error(&response, -32600);
    assert_id_is_null_or(&response, json!(8));
    assert_ping(&mut board);
}

// --- the channel itself ------------------------------------------------------

#[test]
fn stdout_carries_only_json_rpc_lines() {
    let mut board = boot();
    assert_ping(&mut board);
    board.call("tools/list", None).unwrap();
    sys_info(&mut board);
    send_line(&mut board, b"{not json");
    board
        .wait_for_response(&Value::Null, "the parse error")
        .unwrap();
    send_line(
        &mut board,
        br#"{"jsonrpc":"1.0","id":"old","method":"ping"}"#,
    );
    board
        .next_response("the answer to a JSON-RPC 1.0 request")
        .unwrap();
    board.request("no/such", None).unwrap();
    board
        .request("tools/call", Some(json!({"name": "no_such_tool"})))
        .unwrap();
    board.notify("notifications/no_such_thing", None).unwrap();
    // The last answer comes after everything above has been handled.
    assert_ping(&mut board);

    let stdout = board.stdout_bytes();
    let messages = jsonrpc_lines(&stdout)
        .unwrap_or_else(|e| panic!("QEMU's stdout is not clean JSON-RPC: {e}"));
    let responses = messages.iter().filter(|m| m.get("id").is_some()).count();
    // initialize, ping, tools/list, sys_info, the four bad requests, ping.
    assert_eq!(
        responses, 9,
        "one response per request, none for notifications: {messages:?}"
    );
    assert!(
        board.unexpected_lines().is_empty(),
        "unexpected lines: {:?}",
        board.unexpected_lines()
    );
}
