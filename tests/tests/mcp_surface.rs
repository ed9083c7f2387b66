//! The kernel's MCP surface beyond the handshake, over the real UART0 in
//! QEMU: resources, templates, prompts, completion, progress, cancellation,
//! subscriptions, logging and the 2026-07-28 stateless era.

use std::time::Duration;

use kingly_tests::{boot, expect_error, send_line, structured};
use serde_json::{json, Value};

fn text_of(read_result: &Value) -> String {
    read_result["contents"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no text contents: {read_result}"))
        .to_string()
}

#[test]
fn resources_are_listed_and_read() {
    let mut board = boot();
    let list = board.call("resources/list", None).expect("resources/list");
    let uris: Vec<&str> = list["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["uri"].as_str().unwrap())
        .collect();
    for uri in ["kingly://log", "kingly://board", "kingly://metrics"] {
        assert!(uris.contains(&uri), "{uri} missing from {list}");
    }
    let log = text_of(
        &board
            .call("resources/read", Some(json!({"uri": "kingly://log"})))
            .unwrap(),
    );
    assert!(log.contains("booted at EL1"), "{log}");
    assert!(log.contains("cores online: 4"), "{log}");

    let board_json: Value = serde_json::from_str(&text_of(
        &board
            .call("resources/read", Some(json!({"uri": "kingly://board"})))
            .unwrap(),
    ))
    .unwrap();
    assert_eq!(board_json["board_revision"], "0xb03115");

    let metrics: Value = serde_json::from_str(&text_of(
        &board
            .call("resources/read", Some(json!({"uri": "kingly://metrics"})))
            .unwrap(),
    ))
    .unwrap();
    assert!(
        metrics["mcp"]["requests"].as_u64().unwrap() >= 3,
        "{metrics}"
    );
    assert!(
        metrics["uart0"]["bytes_in"].as_u64().unwrap() > 0,
        "{metrics}"
    );

    let missing = board
        .request("resources/read", Some(json!({"uri": "kingly://nope"})))
        .unwrap();
    expect_error(&missing, -32002);
}

#[test]
fn log_template_filters_and_completes_levels() {
    let mut board = boot();
    let templates = board.call("resources/templates/list", None).unwrap();
    assert_eq!(
        templates["resourceTemplates"][0]["uriTemplate"], "kingly://log/{level}",
        "{templates}"
    );
    let errors_only = text_of(
        &board
            .call("resources/read", Some(json!({"uri": "kingly://log/error"})))
            .unwrap(),
    );
    assert!(
        !errors_only.contains("booted"),
        "info records are filtered out: {errors_only}"
    );
    let completion = board
        .call(
            "completion/complete",
            Some(json!({"ref": {"type": "ref/resource", "uri": "kingly://log/{level}"}, "argument": {"name": "level", "value": "e"}})),
        )
        .unwrap();
    let values = completion["completion"]["values"].as_array().unwrap();
    assert!(
        values.contains(&json!("error")) && values.contains(&json!("emergency")),
        "{completion}"
    );
    assert!(!values.contains(&json!("info")), "{completion}");
}

#[test]
fn prompts_are_listed_filled_in_and_completed() {
    let mut board = boot();
    let list = board.call("prompts/list", None).unwrap();
    let names: Vec<&str> = list["prompts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"board_report") && names.contains(&"explain_fault"),
        "{list}"
    );
    let prompt = board
        .call(
            "prompts/get",
            Some(json!({"name": "board_report", "arguments": {"focus": "memory"}})),
        )
        .unwrap();
    let text = prompt["messages"][0]["content"]["text"].as_str().unwrap();
    assert!(
        text.contains("0xb03115") && text.contains("memory"),
        "{prompt}"
    );
    let missing = board
        .request(
            "prompts/get",
            Some(json!({"name": "explain_fault", "arguments": {}})),
        )
        .unwrap();
    expect_error(&missing, -32602);
    let completion = board
        .call(
            "completion/complete",
            Some(json!({"ref": {"type": "ref/prompt", "name": "board_report"}, "argument": {"name": "focus", "value": "c"}})),
        )
        .unwrap();
    assert_eq!(
        completion["completion"]["values"],
        json!(["cores", "clocks"]),
        "{completion}"
    );
}

#[test]
fn long_call_reports_monotonic_progress_before_its_response() {
    let mut board = boot();
    board.take_notifications();
    let response = board
        .request(
            "tools/call",
            Some(json!({"name": "mem_test", "arguments": {"bytes": 4 << 20}, "_meta": {"progressToken": "mt-1"}})),
        )
        .unwrap();
    assert_eq!(response["result"]["isError"], false, "{response}");
    assert_eq!(
        response["result"]["structuredContent"]["errors"], 0,
        "{response}"
    );
    let progress: Vec<f64> = board
        .take_notifications()
        .iter()
        .filter(|n| n["method"] == "notifications/progress")
        .map(|n| {
            assert_eq!(n["params"]["progressToken"], "mt-1", "{n}");
            n["params"]["progress"].as_f64().unwrap()
        })
        .collect();
    assert!(
        progress.len() >= 4,
        "expected progress per MiB, got {progress:?}"
    );
    assert!(
        progress.windows(2).all(|w| w[1] > w[0]),
        "not increasing: {progress:?}"
    );
}

#[test]
fn cancelled_call_gets_no_response_and_the_server_goes_on() {
    let mut board = boot();
    send_line(
        &mut board,
        br#"{"jsonrpc":"2.0","id":"long","method":"tools/call","params":{"name":"mem_test","arguments":{"bytes":67108864,"passes":16},"_meta":{"progressToken":7}}}"#,
    );
    // Wait until it is really running, then cancel it.
    loop {
        let message = board.next_message("progress from mem_test").unwrap();
        if message["method"] == "notifications/progress" {
            break;
        }
    }
    send_line(&mut board, br#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"long","reason":"test"}}"#);
    let pong = board.request("ping", None).expect("ping after cancelling");
    assert_eq!(pong["result"], json!({}));
    let stdout = String::from_utf8_lossy(&board.stdout_bytes()).to_string();
    assert!(
        !stdout.contains(r#""id":"long""#),
        "the cancelled request must get no response:\n{stdout}"
    );
}

#[test]
fn kernel_log_records_reach_log_level_and_subscription_listeners() {
    let mut board = boot();
    board
        .call("logging/setLevel", Some(json!({"level": "debug"})))
        .unwrap();
    board
        .call("resources/subscribe", Some(json!({"uri": "kingly://log"})))
        .unwrap();
    board.take_notifications();
    // mem_test writes a kernel log record when it finishes.
    let result = board
        .call_tool("mem_test", json!({"bytes": 1 << 20}))
        .unwrap();
    assert_eq!(result["isError"], false, "{result}");
    board.request("ping", None).unwrap();
    let notes = board.take_notifications();
    let log = notes
        .iter()
        .find(|n| n["method"] == "notifications/message")
        .unwrap_or_else(|| panic!("no notifications/message in {notes:?}"));
    assert_eq!(log["params"]["logger"], "kernel", "{log}");
    assert!(
        log["params"]["data"]["message"]
            .as_str()
            .unwrap()
            .contains("mem_test"),
        "{log}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n["method"] == "notifications/resources/updated"
                && n["params"]["uri"] == "kingly://log"),
        "no update for the subscribed log: {notes:?}"
    );
}

#[test]
fn files_and_log_levels_can_be_watched_through_their_template_uris() {
    let mut board = boot();
    // Any case and a percent-encoded directory: FAT names ignore case.
    let watched = "file:///notes%2Fsub.txt";
    for uri in [
        watched,
        "file:///OTHER.TXT",
        "kingly://log/info",
        "kingly://log/error",
    ] {
        let result = board.call("resources/subscribe", Some(json!({ "uri": uri })));
        assert_eq!(result.unwrap(), json!({}), "{uri}");
    }
    let unknown = board
        .request(
            "resources/subscribe",
            Some(json!({"uri": "kingly://nope/x"})),
        )
        .unwrap();
    expect_error(&unknown, -32002);
    board.take_notifications();

    structured(&mut board, "fs_mkdir", json!({"path": "/NOTES"}));
    let text = "written while watched";
    structured(
        &mut board,
        "fs_write",
        json!({"path": "/NOTES/SUB.TXT", "data": text, "mode": "create"}),
    );
    // mem_test logs its outcome at info.
    board
        .call_tool("mem_test", json!({"bytes": 1 << 20}))
        .unwrap();
    board.request("ping", None).unwrap();
    let updated: Vec<String> = board
        .take_notifications()
        .iter()
        .filter(|n| n["method"] == "notifications/resources/updated")
        .map(|n| n["params"]["uri"].as_str().unwrap().to_string())
        .collect();
    for uri in [watched, "kingly://log/info"] {
        assert_eq!(
            updated.iter().filter(|u| *u == uri).count(),
            1,
            "{uri}: {updated:?}"
        );
    }
    for uri in ["file:///OTHER.TXT", "kingly://log/error"] {
        assert!(
            !updated.iter().any(|u| u == uri),
            "{uri} did not change: {updated:?}"
        );
    }
    let read = board
        .call("resources/read", Some(json!({ "uri": watched })))
        .unwrap();
    assert_eq!(text_of(&read), text);
}

/// Every message the board sends until it has been quiet for `quiet`.
fn until_quiet(board: &mut kingly_tests::Board, quiet: Duration) -> Vec<Value> {
    board.set_response_timeout(quiet);
    let mut messages = board.take_notifications();
    loop {
        match board.next_message("more messages") {
            Ok(message) => messages.push(message),
            Err(kingly::Error::Timeout { .. }) => return messages,
            Err(e) => panic!("{e}"),
        }
    }
}

#[test]
fn metrics_updates_come_without_more_traffic_and_only_for_real_changes() {
    let mut board = boot();
    let is_metrics_update = |m: &Value| {
        m["method"] == "notifications/resources/updated" && m["params"]["uri"] == "kingly://metrics"
    };
    board
        .call(
            "resources/subscribe",
            Some(json!({"uri": "kingly://metrics"})),
        )
        .unwrap();
    until_quiet(&mut board, Duration::from_secs(3));
    // Two requests in a row: the kernel announces a change at most once a
    // second, so the second one's update is due later, and must come with
    // nothing more sent to the kernel.
    board.call("ping", None).unwrap();
    board.call("ping", None).unwrap();
    // What came before the second answer (the first request's update).
    board.take_notifications();
    let after = until_quiet(&mut board, Duration::from_secs(3));
    // (until_quiet returning at all shows the updates stop: sending one is
    // not itself a change to announce.)
    assert_eq!(
        after.iter().filter(|m| is_metrics_update(m)).count(),
        1,
        "the second request's update, by itself, once: {after:?}"
    );
}

#[test]
fn stateless_era_discover_and_meta_requests() {
    let mut board = boot();
    let discover = board
        .call(
            "server/discover",
            Some(json!({"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}})),
        )
        .unwrap();
    assert!(
        discover["supportedVersions"]
            .as_array()
            .unwrap()
            .contains(&json!("2026-07-28")),
        "{discover}"
    );
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}});
    let listed = board
        .call("tools/list", Some(json!({"_meta": meta})))
        .unwrap();
    assert_eq!(listed["resultType"], "complete", "{listed}");
    assert!(listed.get("ttlMs").is_some(), "{listed}");
    let unknown = board
        .request(
            "tools/list",
            Some(json!({"_meta": {"io.modelcontextprotocol/protocolVersion": "2099-01-01", "io.modelcontextprotocol/clientCapabilities": {}}})),
        )
        .unwrap();
    let error = expect_error(&unknown, -32022);
    assert_eq!(error["data"]["requested"], "2099-01-01", "{unknown}");
    assert!(
        error["data"]["supported"]
            .as_array()
            .unwrap()
            .contains(&json!("2026-07-28")),
        "{unknown}"
    );
}
