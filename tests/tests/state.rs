//! Tool usage, agent notes and their persistence on the card, in the real
//! kernel: calls are counted and shown in `kingly://context` within its
//! token budget; counts and notes survive a hard stop (SIGKILL to QEMU);
//! a stop in the middle of a save leaves the previous state, not a torn one
//! (`state_stall=N` makes the kernel stop halfway through its N-th save and
//! say so on the log mirror, so the kill lands there every time); a corrupt
//! state file is reported and replaced while the kernel keeps serving.

use std::path::Path;
use std::time::{Duration, Instant};

use kingly::image;
use kingly_tests::{artifacts, boot, boot_image, boot_image_with, image_copy, structured, Board};
use serde_json::json;

fn read_resource(board: &mut Board, uri: &str) -> String {
    let result = board
        .call("resources/read", Some(json!({"uri": uri})))
        .unwrap_or_else(|e| panic!("resources/read {uri}: {e}"));
    result["contents"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("{uri}: no text in {result}"))
        .to_string()
}

fn context(board: &mut Board) -> String {
    read_resource(board, "kingly://context")
}

fn log(board: &mut Board) -> String {
    read_resource(board, "kingly://log")
}

/// The kernel's uptime now, by a `time_now` call (which is itself counted).
fn uptime_ms(board: &mut Board) -> u64 {
    structured(board, "time_now", json!({}))["uptime_ms"]
        .as_u64()
        .expect("uptime_ms")
}

/// The uptime (ms) of a `kingly://log` line, `[seconds.millis] level message`.
fn line_uptime_ms(line: &str) -> Option<u64> {
    let stamp = line.strip_prefix('[')?.split(']').next()?;
    let (s, ms) = stamp.trim().split_once('.')?;
    Some(s.parse::<u64>().ok()? * 1000 + ms.parse::<u64>().ok()?)
}

/// Waits until the kernel has saved its state at or after uptime `since_ms`
/// (a `state: saved record` log line that late); returns that line.
fn wait_for_save(board: &mut Board, since_ms: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = log(board);
        let saved = text.lines().find(|line| {
            line.contains("state: saved record")
                && line_uptime_ms(line).is_some_and(|at| at >= since_ms)
        });
        if let Some(line) = saved {
            return line.to_string();
        }
        assert!(
            Instant::now() < deadline,
            "no state save after {since_ms} ms in:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Kills the QEMU under `kingly qemu` with SIGKILL (nothing gets flushed)
/// and waits until it is gone.
fn sigkill(board: Board) {
    let qemu = kingly_tests::qemu_pid(board.pid()).expect("kingly qemu runs QEMU");
    // SAFETY: kill(2) on QEMU, the child of our child `kingly qemu`, which
    // reaps it only after it dies: the pid names QEMU until then.
    let rc = unsafe { libc::kill(qemu as libc::pid_t, libc::SIGKILL) };
    assert_eq!(rc, 0, "kill QEMU");
    let deadline = Instant::now() + Duration::from_secs(10);
    while Path::new(&format!("/proc/{qemu}")).exists() {
        assert!(Instant::now() < deadline, "QEMU {qemu} still exists");
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(board);
}

/// The section of `context` under the line starting with `header`.
fn section<'a>(context: &'a str, header: &str) -> Vec<&'a str> {
    context
        .lines()
        .skip_while(|line| !line.starts_with(header))
        .skip(1)
        .take_while(|line| line.starts_with("- "))
        .collect()
}

#[test]
fn calls_are_counted_and_shown_in_the_context_within_its_budget() {
    let mut board = boot();
    for _ in 0..3 {
        structured(&mut board, "sys_info", json!({}));
    }
    let missing = board
        .call_tool("fs_read", json!({"path": "/NOPE.TXT"}))
        .unwrap();
    assert_eq!(missing["isError"], true, "{missing}");
    let added = structured(
        &mut board,
        "memory_add",
        json!({"text": "the fan is on GPIO 14"}),
    );
    assert_eq!(added, json!({"notes": 1, "forgot": null}));
    let blank = board
        .call_tool("memory_add", json!({"text": "   "}))
        .unwrap();
    assert_eq!(blank["isError"], true, "a blank note: {blank}");

    let text = context(&mut board);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("Kingly OS "), "{text}");
    assert!(
        lines[0].contains(" cores, ") && lines[0].contains(" up "),
        "{text}"
    );
    assert_eq!(lines[1], "model: none loaded", "{text}");
    let tools = section(&text, "most used tools");
    assert_eq!(tools[0], "- sys_info 3", "{text}");
    assert!(tools.contains(&"- fs_read 1 (1 errors)"), "{text}");
    assert!(tools.contains(&"- memory_add 2 (1 errors)"), "{text}");
    let recent = section(&text, "recent calls");
    assert!(recent[0].ends_with(" memory_add error"), "{text}");
    assert!(recent[1].ends_with(" memory_add ok"), "{text}");
    assert!(recent[2].ends_with(" fs_read error"), "{text}");
    assert!(recent[3].ends_with(" sys_info ok"), "{text}");
    assert_eq!(
        section(&text, "notes"),
        ["- the fan is on GPIO 14"],
        "{text}"
    );

    // More notes than 256 tokens hold: the default context stays within its
    // budget (4 bytes a token without a model), a larger budget shows all.
    for i in 0..15 {
        let note = format!("note {i:02}: {}", "x".repeat(180));
        structured(&mut board, "memory_add", json!({"text": note}));
    }
    let listed = structured(&mut board, "memory_list", json!({}));
    assert_eq!(listed["notes"].as_array().unwrap().len(), 16);
    let forgot = structured(&mut board, "memory_add", json!({"text": "the newest"}));
    assert_eq!(forgot["forgot"], "the fan is on GPIO 14");
    let text = context(&mut board);
    let tokens: usize = text.lines().map(|line| (line.len() + 1).div_ceil(4)).sum();
    assert!(tokens <= 256, "{tokens} tokens:\n{text}");
    assert!(text.starts_with("Kingly OS "), "{text}");
    assert!(section(&text, "notes").len() < 16, "{text}");
    let wide = read_resource(&mut board, "kingly://context/4096");
    let notes = section(&wide, "notes");
    assert_eq!(notes.len(), 16, "{wide}");
    assert_eq!(*notes.last().unwrap(), "- the newest");
    let tiny = board
        .request("resources/read", Some(json!({"uri": "kingly://context/5"})))
        .unwrap();
    assert!(tiny.get("error").is_some(), "a budget below 16: {tiny}");
    assert_eq!(
        structured(&mut board, "memory_clear", json!({}))["forgot"],
        16
    );
    assert!(section(&context(&mut board), "notes").is_empty());
}

#[test]
fn counts_and_notes_survive_a_hard_stop() {
    let (_dir, img) = image_copy(&artifacts().1);
    // state_stall without test_tools=1 is ignored: this boot saves normally.
    let mut board = boot_image_with(&img, &["--append", "state_save_ms=300 state_stall=1"]);
    let text = log(&mut board);
    assert!(
        text.contains("state: nothing saved yet in /KINGLY"),
        "{text}"
    );
    assert!(
        text.contains("state: state_stall ignored: it needs test_tools=1"),
        "{text}"
    );
    structured(&mut board, "sys_info", json!({}));
    structured(&mut board, "sys_info", json!({}));
    structured(
        &mut board,
        "memory_add",
        json!({"text": "kept across reboots"}),
    );
    let last_call = uptime_ms(&mut board);
    wait_for_save(&mut board, last_call);
    sigkill(board);

    let mut board = boot_image(&img);
    let text = log(&mut board);
    assert!(text.contains("state: loaded record"), "{text}");
    assert!(!text.contains("corrupt"), "{text}");
    let text = context(&mut board);
    let tools = section(&text, "most used tools");
    for expected in ["- sys_info 2", "- memory_add 1", "- time_now 1"] {
        assert!(tools.contains(&expected), "{expected} in {text}");
    }
    assert!(
        section(&text, "recent calls").is_empty(),
        "a new boot: {text}"
    );
    assert_eq!(section(&text, "notes"), ["- kept across reboots"], "{text}");
}

#[test]
fn a_stop_in_the_middle_of_a_save_leaves_the_previous_state() {
    let (_dir, img) = image_copy(&artifacts().1);
    let mut board = boot_image_with(
        &img,
        &["--append", "test_tools=1 state_save_ms=300 state_stall=2"],
    );
    structured(&mut board, "sys_info", json!({}));
    let first = uptime_ms(&mut board);
    let saved = wait_for_save(&mut board, first);
    assert!(
        saved.contains("saved record 1 to /KINGLY/STATE.BIN"),
        "{saved}"
    );
    // The second save writes STATE2.BIN and stops halfway.
    structured(
        &mut board,
        "memory_add",
        json!({"text": "lost with the torn save"}),
    );
    let mirror = kingly::qemu::log_uart_path(&img);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text =
            String::from_utf8_lossy(&std::fs::read(&mirror).unwrap_or_default()).into_owned();
        if text.contains("state: stalled halfway through writing record 2 to /KINGLY/STATE2.BIN") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no stall on the log mirror:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    sigkill(board);
    let torn = image::read_file(&img, "KINGLY/STATE2.BIN").expect("the torn slot");
    let whole = image::read_file(&img, "KINGLY/STATE.BIN").expect("the first slot");
    assert!(
        !torn.is_empty() && torn.len() < whole.len() + 20,
        "STATE2.BIN holds half a record: {} bytes",
        torn.len()
    );

    let mut board = boot_image(&img);
    let text = log(&mut board);
    assert!(
        text.contains("state: loaded record 1 from /KINGLY/STATE.BIN"),
        "{text}"
    );
    assert!(
        text.contains("state: /KINGLY/STATE2.BIN holds an interrupted save"),
        "{text}"
    );
    assert!(!text.contains("corrupt"), "{text}");
    let text = context(&mut board);
    let tools = section(&text, "most used tools");
    assert!(tools.contains(&"- sys_info 1"), "{text}");
    assert!(tools.contains(&"- time_now 1"), "{text}");
    assert!(
        !tools.iter().any(|line| line.contains("memory_add")),
        "{text}"
    );
    assert!(section(&text, "notes").is_empty(), "{text}");

    // The next save goes to the torn slot and becomes the newest state.
    let now = uptime_ms(&mut board);
    let saved = wait_for_save(&mut board, now);
    assert!(
        saved.contains("saved record 2 to /KINGLY/STATE2.BIN"),
        "{saved}"
    );
}

#[test]
fn a_corrupt_state_file_is_reported_and_replaced() {
    let (_dir, img) = image_copy(&artifacts().1);
    // No save in this boot: the garbage written below stays as it is.
    let mut board = boot_image_with(&img, &["--append", "state_save_ms=600000"]);
    structured(&mut board, "fs_mkdir", json!({"path": "/KINGLY"}));
    structured(
        &mut board,
        "fs_write",
        json!({"path": "/KINGLY/STATE.BIN", "data": "this is not a state record", "mode": "create"}),
    );
    sigkill(board);

    let mut board = boot_image(&img);
    let text = log(&mut board);
    let corrupt = text
        .lines()
        .find(|line| line.contains("state: /KINGLY/STATE.BIN is corrupt"))
        .unwrap_or_else(|| panic!("no corruption reported:\n{text}"));
    assert!(corrupt.contains("] warning "), "{corrupt}");
    assert!(
        corrupt.ends_with("(not a state record (bad magic)): ignored, the next save replaces it"),
        "{corrupt}"
    );
    // The kernel serves on, from a fresh state.
    let text = context(&mut board);
    assert!(section(&text, "most used tools").is_empty(), "{text}");
    structured(&mut board, "sys_info", json!({}));
    let now = uptime_ms(&mut board);
    let saved = wait_for_save(&mut board, now);
    assert!(
        saved.contains("saved record 1 to /KINGLY/STATE.BIN"),
        "{saved}"
    );
    sigkill(board);
    let replaced = image::read_file(&img, "KINGLY/STATE.BIN").unwrap();
    assert_eq!(&replaced[..4], b"KGST", "the replaced file is a record");

    let mut board = boot_image_with(&img, &["--append", "state_save_ms=600000"]);
    let text = log(&mut board);
    assert!(!text.contains("corrupt"), "{text}");
    assert!(
        text.contains("state: loaded record 1 from /KINGLY/STATE.BIN"),
        "{text}"
    );
    let text = context(&mut board);
    assert!(
        section(&text, "most used tools").contains(&"- sys_info 1"),
        "{text}"
    );

    // One flipped bit in the payload: the CRC catches it.
    let mut flipped = replaced.clone();
    *flipped.last_mut().unwrap() ^= 1;
    structured(
        &mut board,
        "fs_write",
        json!({"path": "/KINGLY/STATE.BIN", "data": b64(&flipped), "encoding": "base64", "mode": "truncate"}),
    );
    sigkill(board);
    let mut board = boot_image(&img);
    let text = log(&mut board);
    assert!(
        text.contains("state: /KINGLY/STATE.BIN is corrupt (CRC mismatch): ignored"),
        "{text}"
    );
    let text = context(&mut board);
    assert!(section(&text, "most used tools").is_empty(), "{text}");
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn sys_reboot_saves_the_state_first() {
    let (_dir, img) = image_copy(&artifacts().1);
    // No periodic save in this boot: only the one before the reset.
    let mut board = boot_image_with(&img, &["--append", "state_save_ms=600000"]);
    structured(
        &mut board,
        "memory_add",
        json!({"text": "saved by the reboot"}),
    );
    let answer = structured(&mut board, "sys_reboot", json!({"delay_ms": 0}));
    assert_eq!(answer["rebooting"], true, "{answer}");
    // The same QEMU boots the kernel again; the new kernel refuses a call
    // before initialize (-32600), the old one answered it.
    board.set_response_timeout(Duration::from_secs(3));
    let give_up = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < give_up, "no fresh kernel within a minute");
        match board.request("ping", None) {
            Ok(response) if response.get("result").is_some() => {
                // The old kernel, or the new one (ping is allowed before
                // initialize): ask something only the old one answers.
                let call = board.request(
                    "tools/call",
                    Some(json!({"name": "memory_list", "arguments": {}})),
                );
                if let Ok(response) = call {
                    if response["error"]["code"] == -32600 {
                        break;
                    }
                }
            }
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    board.set_response_timeout(kingly_tests::RESPONSE_TIMEOUT);
    board
        .initialize(kingly::client::PROTOCOL_VERSION, "kingly-tests")
        .expect("initialize the new kernel");
    let text = log(&mut board);
    assert!(
        text.contains("state: loaded record 1 from /KINGLY/STATE.BIN"),
        "{text}"
    );
    let text = context(&mut board);
    assert_eq!(section(&text, "notes"), ["- saved by the reboot"], "{text}");
    let tools = section(&text, "most used tools");
    assert!(tools.contains(&"- memory_add 1"), "{text}");
    assert!(tools.contains(&"- sys_reboot 1"), "{text}");
}

#[test]
fn with_a_model_the_budget_is_counted_in_its_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let img = kingly_tests::model_image(dir.path());
    let mut board = boot_image_with(&img, &["--append", "state_save_ms=600000"]);
    board.set_response_timeout(Duration::from_secs(600));
    board.set_session_limit(Duration::from_secs(900));
    let path = kingly_tests::model_on_card(&mut board);
    structured(&mut board, "llm_load", json!({ "path": path }));
    for i in 0..16 {
        let note = format!(
            "note {i:02}: the pump on GPIO {i} ran for {i} minutes today, {}",
            "ok ".repeat(40)
        );
        structured(&mut board, "memory_add", json!({ "text": note }));
    }
    let text = context(&mut board);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[1].starts_with("model: ")
            && lines[1].ends_with(" loaded (this text is counted in its tokens)"),
        "{text}"
    );
    // The model's own count, one more token for each newline, as the kernel counts.
    let tokens: usize = lines
        .iter()
        .map(|line| {
            let ids = structured(&mut board, "llm_tokenize", json!({ "text": line }));
            ids["ids"].as_array().unwrap().len() + 1
        })
        .sum();
    assert!(tokens <= 256, "{tokens} tokens:\n{text}");
    assert!(
        tokens > 128,
        "the notes fill most of the budget: {tokens} tokens:\n{text}"
    );
    assert!(section(&text, "notes").len() < 16, "{text}");
}
