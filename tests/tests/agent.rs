//! `agent_ask` in QEMU with the reference model on the card: plain-language
//! requests must come to the right tool with the right arguments, through
//! the kernel's own dispatch (the tool's effect is checked: the pin is
//! driven, the directory listed); every step arrives as progress; a
//! cancelled request sends no response and leaves the agent usable; bad
//! input is a tool error.

use std::time::{Duration, Instant};

use kingly_tests::{boot_image_with, model_image, model_on_card, structured, Board};
use serde_json::{json, Value};

/// Calls agent_ask with a progressToken; returns the result and the
/// progress messages, in order.
fn ask(board: &mut Board, id: &str, request: &str) -> (Value, Vec<String>) {
    board.take_notifications();
    board
        .send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {
            "name": "agent_ask", "arguments": {"request": request}, "_meta": {"progressToken": id}}}))
        .unwrap();
    let response = board.wait_for_response(&json!(id), request).unwrap();
    let messages = board
        .take_notifications()
        .into_iter()
        .filter(|m| m["method"] == "notifications/progress" && m["params"]["progressToken"] == id)
        .map(|m| {
            m["params"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    (response["result"].clone(), messages)
}

/// A request that must succeed and call `tool`; returns its structured
/// result after checking that the steps came as progress, in order.
fn ask_ok(board: &mut Board, id: &str, request: &str, tool: &str) -> Value {
    let start = Instant::now();
    let (result, messages) = ask(board, id, request);
    let r = &result["structuredContent"];
    println!(
        "{request:?}: {:.1}s -> {} {} = {:.80} | {:?} | timing {}",
        start.elapsed().as_secs_f64(),
        r["tool"],
        r["arguments"],
        r["result"].to_string(),
        r["answer"],
        r["timing"]
    );
    assert_eq!(result["isError"], false, "{request}: {result}");
    assert_eq!(r["tool"], tool, "{request}: {r}");
    assert_eq!(messages[0], format!("tool: {tool}"), "{messages:?}");
    let written = messages[1]
        .strip_prefix("arguments: ")
        .expect("the arguments step");
    assert_eq!(
        serde_json::from_str::<Value>(written).unwrap(),
        r["arguments"],
        "{messages:?}"
    );
    assert!(messages[2].starts_with("result: "), "{messages:?}");
    assert_eq!(messages[3..].concat().trim(), r["answer"], "{messages:?}");
    r.clone()
}

fn tool_error(board: &mut Board, arguments: Value) -> String {
    let result = board.call_tool("agent_ask", arguments.clone()).unwrap();
    assert_eq!(result["isError"], true, "{arguments}: {result}");
    result["content"][0]["text"].as_str().unwrap().to_string()
}

#[test]
fn the_agent_chooses_and_calls_the_right_tool() {
    let dir = tempfile::tempdir().unwrap();
    let img = model_image(dir.path());
    let mut board = boot_image_with(&img, &[]);
    // The first request evaluates the fixed prompt (~450 tokens): minutes
    // under TCG on a busy host.
    board.set_response_timeout(Duration::from_secs(900));
    board.set_session_limit(Duration::from_secs(1800));

    // Bad input, and no model yet.
    let empty = tool_error(&mut board, json!({"request": ""}));
    assert!(empty.contains("Invalid arguments"), "{empty}");
    let blank = tool_error(&mut board, json!({"request": "   "}));
    assert!(blank.contains("request is empty"), "{blank}");
    let none = tool_error(&mut board, json!({"request": "what time is it?"}));
    assert!(none.contains("llm_load"), "{none}");

    let path = model_on_card(&mut board);
    let start = Instant::now();
    structured(&mut board, "llm_load", json!({"path": path}));
    println!("llm_load: {:.1}s", start.elapsed().as_secs_f64());
    let start = Instant::now();

    // Cancelled once it named its tool: no response, and the agent (its
    // fixed prompt evaluated by this first request) keeps working.
    board
        .send(
            &json!({"jsonrpc": "2.0", "id": "c", "method": "tools/call", "params": {
            "name": "agent_ask", "arguments": {"request": "what is the board temperature?"},
            "_meta": {"progressToken": "c"}}}),
        )
        .unwrap();
    let first = loop {
        let m = board.next_message("the agent's first step").unwrap();
        assert!(m.get("id").is_none(), "a response before any step: {m}");
        if m["method"] == "notifications/progress" {
            break m;
        }
    };
    println!(
        "first step (fixed prompt evaluated): {:.1}s",
        start.elapsed().as_secs_f64()
    );
    assert_eq!(first["params"]["message"], "tool: sys_info", "{first}");
    board
        .notify(
            "notifications/cancelled",
            Some(json!({"requestId": "c", "reason": "test"})),
        )
        .unwrap();
    structured(&mut board, "time_now", json!({}));
    let after = board
        .take_notifications()
        .into_iter()
        .filter(|m| m["params"]["progressToken"] == "c")
        .count();
    assert!(after <= 1, "{after} steps after the cancellation");
    let stdout = String::from_utf8_lossy(&board.stdout_bytes()).to_string();
    assert!(
        !stdout.contains(r#""id":"c""#),
        "the cancelled request got a response"
    );

    let r = ask_ok(
        &mut board,
        "t",
        "what is the board temperature?",
        "sys_info",
    );
    assert_eq!(r["arguments"], json!({}));
    // The answer quotes the temperature as the facts give it (°C, one
    // decimal: the model reads `temperature: 47.2 °C`).
    let millicelsius = r["result"]["temperature_millicelsius"]
        .as_f64()
        .expect("sys_info's temperature");
    let celsius = format!("{:.1}", millicelsius / 1000.0);
    let answer = r["answer"].as_str().unwrap();
    assert!(answer.contains(&celsius), "{celsius} °C not in {answer:?}");
    assert_eq!(
        r["timing"]["prefix_ns"], 0,
        "the fixed part was evaluated again: {r}"
    );

    // The pin must be an output for gpio_write to drive it.
    structured(
        &mut board,
        "gpio_mode",
        json!({"pin": 17, "mode": "output"}),
    );
    structured(&mut board, "gpio_write", json!({"pin": 17, "level": false}));
    let r = ask_ok(&mut board, "g", "set GPIO pin 17 high", "gpio_write");
    assert_eq!(r["arguments"], json!({"pin": 17, "level": true}));
    let pin = structured(&mut board, "gpio_read", json!({"pin": 17}));
    assert_eq!(pin["level"], true, "{pin}");

    let r = ask_ok(
        &mut board,
        "f",
        "list the files in the root directory",
        "fs_list",
    );
    assert_eq!(r["arguments"], json!({"path": "/"}));
    let names: Vec<&str> = r["result"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"MODELS"), "{names:?}");
}
