//! The board as MCP tools, over the real UART0 in QEMU raspi4b: GPIO, time
//! and sleeping, hardware randomness, rebooting, the heartbeat watchdog and
//! the kernel log mirror on the second serial port.

use std::time::{Duration, Instant};

use kingly::client::{jsonrpc_lines, PROTOCOL_VERSION};
use kingly::qemu::append_args;
use kingly_tests::{assert_ping, boot, boot_uninitialized_with_args, send_line, structured, Board};
use serde_json::{json, Value};

/// Calls a tool and returns its whole CallToolResult.
fn call(board: &mut Board, name: &str, arguments: Value) -> Value {
    board
        .call_tool(name, arguments)
        .unwrap_or_else(|e| panic!("tools/call {name}: {e}"))
}

/// The text of a failed call, which must have `isError: true`.
fn error_text(result: &Value) -> String {
    assert_eq!(result["isError"], true, "expected a refusal: {result}");
    result["content"][0]["text"].as_str().unwrap().to_string()
}

fn u64_of(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no integer {key} in {v}"))
}

#[test]
fn board_tools_are_listed_with_output_schemas() {
    let mut board = boot();
    let tools = board.list_tools().expect("tools/list");
    for name in [
        "gpio_mode",
        "gpio_read",
        "gpio_write",
        "time_now",
        "sleep_ms",
        "random_bytes",
        "sys_reboot",
    ] {
        let tool = tools
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {tools:?}"));
        assert_eq!(tool["outputSchema"]["type"], "object", "{tool}");
    }
    assert!(
        !tools.iter().any(|t| t["name"] == "debug_hang"),
        "the test-only tool needs test_tools=1"
    );
    let info = structured(&mut board, "sys_info", json!({}));
    for clock in ["arm", "core", "uart", "emmc", "emmc2"] {
        assert!(info["clocks_hz"][clock].is_u64(), "{clock} in {info}");
    }
    assert!(info["throttled"]["raw"].is_string(), "{info}");
    assert_eq!(info["watchdog"]["heartbeat_timeout_ms"], 10_000, "{info}");
    assert!(info["max_temperature_millicelsius"].is_u64(), "{info}");
    // The resources carry temperature and clocks too.
    for uri in ["kingly://board", "kingly://metrics"] {
        let read = board
            .call("resources/read", Some(json!({"uri": uri})))
            .unwrap_or_else(|e| panic!("read {uri}: {e}"));
        let text: Value =
            serde_json::from_str(read["contents"][0]["text"].as_str().unwrap()).unwrap();
        assert!(text["clocks_hz"]["arm"].is_u64(), "{uri}: {text}");
        let temperature = match uri {
            "kingly://board" => &text["temperature_millicelsius"],
            _ => &text["temperature"]["millicelsius"],
        };
        assert!(temperature.is_u64(), "{uri}: {text}");
    }
}

#[test]
fn gpio_output_reads_back_what_was_written() {
    let mut board = boot();
    let set = structured(
        &mut board,
        "gpio_mode",
        json!({"pin": 17, "mode": "output", "pull": "up"}),
    );
    assert_eq!(set["mode"], "output", "{set}");
    assert_eq!(set["pull"], "up", "{set}");
    for level in [true, false, true] {
        let written = structured(&mut board, "gpio_write", json!({"pin": 17, "level": level}));
        assert_eq!(written["level"], level, "{written}");
        let read = structured(&mut board, "gpio_read", json!({"pin": 17}));
        assert_eq!(
            read,
            json!({"pin": 17, "mode": "output", "pull": "up", "level": level, "event_detected": false})
        );
    }
    // Back to an input: writing is refused, the latch is not the level.
    structured(&mut board, "gpio_mode", json!({"pin": 17, "mode": "input"}));
    let refused = error_text(&call(
        &mut board,
        "gpio_write",
        json!({"pin": 17, "level": true}),
    ));
    assert!(refused.contains("not an output"), "{refused}");
}

#[test]
fn pins_the_os_needs_are_refused_and_it_keeps_serving() {
    let mut board = boot();
    for pin in [14, 15] {
        let why = error_text(&call(
            &mut board,
            "gpio_mode",
            json!({"pin": pin, "mode": "alt5"}),
        ));
        assert!(why.contains("UART0"), "{why}");
    }
    for pin in [34, 39, 48, 53] {
        let why = error_text(&call(
            &mut board,
            "gpio_mode",
            json!({"pin": pin, "mode": "output"}),
        ));
        assert!(why.contains(&format!("GPIO {pin} is refused")), "{why}");
        error_text(&call(
            &mut board,
            "gpio_write",
            json!({"pin": pin, "level": false}),
        ));
    }
    // Above 57 the input schema refuses it before the handler runs.
    let result = call(&mut board, "gpio_mode", json!({"pin": 58, "mode": "input"}));
    assert_eq!(result["isError"], true, "{result}");
    // UART0's pins are untouched and reading them is allowed.
    let tx = structured(&mut board, "gpio_read", json!({"pin": 14}));
    assert_eq!(tx["mode"], "alt0", "{tx}");
    assert_ping(&mut board);
}

#[test]
fn random_bytes_are_hardware_bytes_or_a_clear_error() {
    let mut board = boot();
    let first = call(&mut board, "random_bytes", json!({"count": 32}));
    if first["isError"] == true {
        let why = error_text(&first);
        assert!(why.contains("no hardware RNG"), "{why}");
        let info = structured(&mut board, "sys_info", json!({}));
        assert_eq!(info["hardware_rng"], false, "{info}");
        assert_ping(&mut board);
        return;
    }
    let second = structured(&mut board, "random_bytes", json!({"count": 32}));
    let (a, b) = (
        first["structuredContent"]["hex"].as_str().unwrap(),
        second["hex"].as_str().unwrap(),
    );
    assert_eq!(a.len(), 64);
    assert_eq!(b.len(), 64);
    assert!(a.chars().all(|c| c.is_ascii_hexdigit()), "{a}");
    assert_ne!(a, b, "two draws of 256 bits were equal");
}

#[test]
fn time_advances_across_a_sleep_with_progress() {
    let mut board = boot();
    let before = structured(&mut board, "time_now", json!({}));
    board.take_notifications();
    let response = board
        .request(
            "tools/call",
            Some(json!({"name": "sleep_ms", "arguments": {"ms": 500}, "_meta": {"progressToken": "zz"}})),
        )
        .unwrap();
    let slept = &response["result"]["structuredContent"];
    assert!(u64_of(slept, "slept_ms") >= 500, "{response}");
    let after = structured(&mut board, "time_now", json!({}));
    let freq = u64_of(&before, "cntfrq_hz");
    assert_eq!(freq, u64_of(&after, "cntfrq_hz"));
    assert!(
        u64_of(&after, "counter") - u64_of(&before, "counter") >= freq / 2,
        "the counter moved less than 500 ms: {before} → {after}"
    );
    assert!(u64_of(&after, "uptime_ms") >= u64_of(&before, "uptime_ms") + 500);
    assert!(
        u64_of(&after, "system_timer_us") >= u64_of(&before, "system_timer_us") + 500_000,
        "the system timer is the second clock: {before} → {after}"
    );
    assert!(
        u64_of(&after, "timer_interrupts") > u64_of(&before, "timer_interrupts"),
        "the sleep was woken by the timer interrupt"
    );
    let progress: Vec<f64> = board
        .take_notifications()
        .iter()
        .filter(|n| n["method"] == "notifications/progress")
        .map(|n| n["params"]["progress"].as_f64().unwrap())
        .collect();
    assert!(progress.len() >= 3, "{progress:?}");
    assert!(progress.windows(2).all(|w| w[1] > w[0]), "{progress:?}");
}

#[test]
fn cancelled_sleep_gets_no_response_and_the_next_request_is_served() {
    let mut board = boot();
    send_line(
        &mut board,
        br#"{"jsonrpc":"2.0","id":"nap","method":"tools/call","params":{"name":"sleep_ms","arguments":{"ms":600000},"_meta":{"progressToken":1}}}"#,
    );
    loop {
        let message = board.next_message("progress from sleep_ms").unwrap();
        if message["method"] == "notifications/progress" {
            break;
        }
    }
    send_line(
        &mut board,
        br#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"nap"}}"#,
    );
    let now = structured(&mut board, "time_now", json!({}));
    assert!(u64_of(&now, "uptime_ms") < 600_000, "{now}");
    let stdout = String::from_utf8_lossy(&board.stdout_bytes()).to_string();
    assert!(
        !stdout.contains(r#""id":"nap""#),
        "the cancelled sleep must get no response:\n{stdout}"
    );
}

/// After a reset, requests go unanswered for a moment and the new kernel
/// refuses tools before `initialize`. Sends `time_now` until an answer says
/// "not initialized" (a fresh kernel) — the old kernel, if it still runs,
/// answers with its own boot counter, which is checked too.
fn wait_for_fresh_kernel(board: &mut Board, old_boot_counter: u64) {
    board.set_response_timeout(Duration::from_secs(3));
    let give_up = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < give_up, "no fresh kernel within a minute");
        let Ok(response) = board.request(
            "tools/call",
            Some(json!({"name": "time_now", "arguments": {}})),
        ) else {
            continue; // lost in the reset
        };
        if let Some(result) = response.get("result") {
            assert_eq!(
                u64_of(&result["structuredContent"], "boot_counter"),
                old_boot_counter,
                "a new kernel answered a tool call before initialize: {response}"
            );
            std::thread::sleep(Duration::from_millis(100));
            continue;
        }
        assert_eq!(response["error"]["code"], -32600, "{response}");
        break;
    }
    board.set_response_timeout(kingly_tests::RESPONSE_TIMEOUT);
    board
        .initialize(PROTOCOL_VERSION, "kingly-tests")
        .expect("initialize the rebooted kernel");
    let now = structured(board, "time_now", json!({}));
    assert_ne!(
        u64_of(&now, "boot_counter"),
        old_boot_counter,
        "the kernel started again: {now}"
    );
    assert!(
        u64_of(&now, "uptime_ms")
            < (u64_of(&now, "counter") - old_boot_counter) * 1000 / u64_of(&now, "cntfrq_hz"),
        "uptime counts from the new boot: {now}"
    );
}

#[test]
fn sys_reboot_answers_then_the_same_qemu_boots_again() {
    let mut board = boot();
    let before = structured(&mut board, "time_now", json!({}));
    let answer = structured(&mut board, "sys_reboot", json!({"delay_ms": 0}));
    assert_eq!(answer["rebooting"], true, "{answer}");
    wait_for_fresh_kernel(&mut board, u64_of(&before, "boot_counter"));
    assert_ping(&mut board);
}

#[test]
fn sys_reboot_with_no_reboot_makes_qemu_exit_cleanly() {
    let mut board = boot_uninitialized_with_args(&["-no-reboot"]);
    board
        .initialize(PROTOCOL_VERSION, "kingly-tests")
        .expect("initialize");
    let answer = structured(&mut board, "sys_reboot", json!({}));
    assert_eq!(answer["rebooting"], true, "{answer}");
    // QEMU turns the guest's reset into an exit: stdout closes after, at
    // most, the log records the kernel forwarded after its answer.
    while let Ok(message) = board.next_message("the end of QEMU's output") {
        assert_eq!(
            message["method"], "notifications/message",
            "only log notifications may follow the answer: {message}"
        );
    }
    let give_up = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = board.exit_status().expect("check on QEMU") {
            break status;
        }
        assert!(Instant::now() < give_up, "QEMU did not exit");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "QEMU {status}");
}

#[test]
fn heartbeat_watchdog_resets_a_wedged_kernel() {
    let mut board = boot_uninitialized_with_args(&append_args("test_tools=1 heartbeat_ms=2000"));
    board
        .initialize(PROTOCOL_VERSION, "kingly-tests")
        .expect("initialize");
    let before = structured(&mut board, "time_now", json!({}));
    send_line(
        &mut board,
        br#"{"jsonrpc":"2.0","id":"wedge","method":"tools/call","params":{"name":"debug_hang","arguments":{}}}"#,
    );
    let report = loop {
        let message = board
            .next_message("the watchdog's emergency report")
            .expect("the watchdog reports before resetting");
        if message["params"]["level"] == "emergency" {
            break message["params"]["data"].clone();
        }
    };
    assert_eq!(report["event"], "watchdog", "{report}");
    assert_eq!(report["resetting"], true, "{report}");
    wait_for_fresh_kernel(&mut board, u64_of(&before, "boot_counter"));
    let stdout = String::from_utf8_lossy(&board.stdout_bytes()).to_string();
    assert!(
        !stdout.contains(r#""id":"wedge""#),
        "the wedged call never answered:\n{stdout}"
    );
}

#[test]
fn kernel_log_is_mirrored_on_the_second_serial_and_uart0_stays_json_rpc() {
    let mut board = boot();
    let info = structured(&mut board, "sys_info", json!({}));
    assert_eq!(info["log_uart"], json!({"choice": "mini", "running": true}));
    // mem_test logs a record when it finishes.
    structured(&mut board, "mem_test", json!({"bytes": 1 << 20}));
    let give_up = Instant::now() + Duration::from_secs(30);
    let mirror = loop {
        let text = board.log_uart_text();
        if text.contains("mem_test:") {
            break text;
        }
        assert!(
            Instant::now() < give_up,
            "no mem_test record on the mirror: {text:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(mirror.contains("booted at EL1"), "{mirror}");
    assert!(mirror.contains("log mirror: mini"), "{mirror}");
    // A request answered after the record: UART0's output so far ends at a
    // line boundary (its notification may still have been on the way).
    board.call("ping", None).unwrap();
    let uart0 = board.stdout_bytes();
    let lines =
        jsonrpc_lines(&uart0).unwrap_or_else(|e| panic!("UART0 carried something else: {e}"));
    assert!(lines.iter().all(|m| m["jsonrpc"] == "2.0"), "{lines:?}");
    assert!(
        !String::from_utf8_lossy(&uart0).contains("booted at EL1"),
        "boot records stay off UART0"
    );
}
