//! The `kingly` binary as MCP clients start it: `kingly qemu` ends when its
//! client closes stdin (and takes QEMU with it, also when killed), and
//! `kingly serial` bridges stdio to a board's UART0 — here QEMU's UART0 on a
//! pty, standing in for a Pi 4 on a USB-serial adapter.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use kingly_tests::{artifacts, exclusive, image_copy, kingly_bin, model_image};
use serde_json::{json, Value};

const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);
/// `kingly` stops QEMU with SIGTERM and waits up to 5 s before SIGKILL.
const EXIT_TIMEOUT: Duration = Duration::from_secs(15);

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"host-companion-test","version":"1"}}}"#;

/// Lines from a child's stdout, as they arrive.
fn lines_of(stdout: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// The next line that is the response with `id`, skipping notifications.
fn response(lines: &mpsc::Receiver<String>, id: i64) -> Value {
    let deadline = Instant::now() + ANSWER_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = lines
            .recv_timeout(left)
            .unwrap_or_else(|e| panic!("no response {id} within {ANSWER_TIMEOUT:?}: {e}"));
        let message: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("stdout carries only JSON-RPC, got {line:?}: {e}"));
        if message["id"] == json!(id) {
            return message;
        }
        assert!(
            message.get("method").is_some(),
            "only notifications may come before the response: {message}"
        );
    }
}

/// Waits for `child` to exit by itself.
fn exits_within(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{:?} did not exit within {limit:?}", child.id());
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// Processes (other than zombies) whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let zombie = stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z'));
        if !zombie && String::from_utf8_lossy(&cmdline).contains(needle) {
            found.push(pid);
        }
    }
    found
}

fn assert_no_qemu_left(image: &Path) {
    let needle = image.to_string_lossy().into_owned();
    let deadline = Instant::now() + EXIT_TIMEOUT;
    while !processes_mentioning(&needle).is_empty() {
        assert!(
            Instant::now() < deadline,
            "QEMU still runs on {needle}: pids {:?}",
            processes_mentioning(&needle)
        );
        thread::sleep(Duration::from_millis(100));
    }
}

/// `kingly qemu --image IMAGE`, stdio piped, answering `initialize`.
fn start_kingly_qemu(image: &Path) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new(kingly_bin())
        .arg("qemu")
        .arg("--image")
        .arg(image)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start kingly qemu");
    let lines = lines_of(child.stdout.take().expect("piped stdout"));
    let stdin = child.stdin.as_mut().expect("piped stdin");
    writeln!(stdin, "{INITIALIZE}").expect("write initialize");
    let answer = response(&lines, 1);
    assert_eq!(
        answer["result"]["protocolVersion"], "2025-11-25",
        "{answer}"
    );
    (child, lines)
}

#[test]
fn kingly_qemu_exits_when_stdin_closes_and_reaps_qemu() {
    let _turn = exclusive();
    let (_dir, image) = image_copy(&artifacts().1);
    let (mut child, lines) = start_kingly_qemu(&image);
    let stdin = child.stdin.as_mut().expect("piped stdin");
    writeln!(stdin, r#"{{"jsonrpc":"2.0","id":2,"method":"ping"}}"#).unwrap();
    assert_eq!(response(&lines, 2)["result"], json!({}));

    drop(child.stdin.take());
    let status = exits_within(&mut child, EXIT_TIMEOUT);
    assert!(
        status.success(),
        "a client closing stdin is a clean end: {status}"
    );
    assert_no_qemu_left(&image);
}

#[test]
fn killing_kingly_qemu_takes_qemu_with_it() {
    let _turn = exclusive();
    let (_dir, image) = image_copy(&artifacts().1);
    let (mut child, _lines) = start_kingly_qemu(&image);
    assert!(
        !processes_mentioning(&image.to_string_lossy()).is_empty(),
        "QEMU runs while kingly does"
    );
    child.kill().expect("SIGKILL kingly");
    child.wait().expect("reap kingly");
    assert_no_qemu_left(&image);
}

/// QEMU with UART0 on a pty: the path it prints (on stdout, since UART0
/// is not there).
fn qemu_on_a_pty(image: &Path) -> (Child, String) {
    let mut qemu = kingly::qemu::qemu_command_with_uart0(&artifacts().0, image, "pty", &[])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start QEMU");
    let lines = lines_of(qemu.stdout.take().expect("piped stdout"));
    // QEMU: "char device redirected to /dev/pts/N (label serial0)".
    let pty = loop {
        let line = lines
            .recv_timeout(ANSWER_TIMEOUT)
            .expect("QEMU names the pty of serial0");
        if let Some(rest) = line.split("redirected to ").nth(1) {
            if line.contains("serial0") {
                break rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string();
            }
        }
    };
    (qemu, pty)
}

#[test]
fn kingly_serial_bridges_stdio_to_a_uart() {
    let _turn = exclusive();
    let (_dir, image) = image_copy(&artifacts().1);
    let (mut qemu, pty) = qemu_on_a_pty(&image);
    let mut bridge = Command::new(kingly_bin())
        .args(["serial", &pty, "--baud", "115200"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start kingly serial");
    let stdout: ChildStdout = bridge.stdout.take().expect("piped stdout");
    let lines = lines_of(stdout);
    let stdin = bridge.stdin.as_mut().expect("piped stdin");
    // A request split over two writes arrives as one line.
    let (head, tail) = INITIALIZE.split_at(40);
    stdin.write_all(head.as_bytes()).unwrap();
    stdin.flush().unwrap();
    thread::sleep(Duration::from_millis(200));
    writeln!(stdin, "{tail}").unwrap();
    let answer = response(&lines, 1);
    assert_eq!(
        answer["result"]["serverInfo"]["name"], "kingly-os",
        "{answer}"
    );
    writeln!(
        stdin,
        r#"{{"jsonrpc":"2.0","method":"notifications/initialized"}}"#
    )
    .unwrap();
    writeln!(
        stdin,
        r#"{{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{{"name":"sys_info","arguments":{{}}}}}}"#
    )
    .unwrap();
    let info = response(&lines, 2);
    assert_eq!(info["result"]["isError"], false, "{info}");
    assert_eq!(
        info["result"]["structuredContent"]["cores_online"], 4,
        "{info}"
    );

    drop(bridge.stdin.take());
    let status = exits_within(&mut bridge, EXIT_TIMEOUT);
    assert!(
        status.success(),
        "kingly serial ends cleanly on EOF: {status}"
    );
    let _ = qemu.kill();
    let _ = qemu.wait();
}

#[test]
fn kingly_serial_names_a_missing_device() {
    let output = Command::new(kingly_bin())
        .args(["serial", "/dev/kingly-no-such-tty"])
        .stdin(Stdio::null())
        .output()
        .expect("run kingly serial");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("/dev/kingly-no-such-tty"),
        "the error names the device: {stderr}"
    );
}

#[test]
fn kingly_bench_json_reports_every_figure_and_plots_tokens() {
    let _turn = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let image = model_image(dir.path());
    let chart = dir.path().join("tokens.png");
    let output = Command::new(kingly_bin())
        // The agent's figures take minutes; its test covers agent_ask.
        .args(["bench", "--json", "--no-agent", "--image"])
        .arg(&image)
        .arg("--plot")
        .arg(&chart)
        .stderr(Stdio::inherit())
        .output()
        .expect("run kingly bench");
    assert!(output.status.success(), "kingly bench: {}", output.status);
    let figures: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("--json prints one JSON object: {e}"));
    for name in [
        "boot_to_ready_instructions",
        "mcp_dispatch_json_instructions",
        "mcp_dispatch_postcard_instructions",
        "mcp_ping_json_instructions",
        "sd_raw_read_instructions_per_byte",
        "sd_file_read_instructions_per_byte",
        "llm_load_instructions_per_byte",
        "llm_prompt_instructions_per_token_1core",
        "llm_generate_instructions_per_token_1core",
        "llm_prompt_instructions_per_token_4core",
        "llm_generate_instructions_per_token_4core",
        "llm_four_core_overhead",
    ] {
        let value = figures[name]["value"]
            .as_f64()
            .unwrap_or_else(|| panic!("{name} missing in {figures}"));
        assert!(value > 0.0, "{name} = {value}");
        assert!(figures[name]["unit"].is_string(), "{figures}");
    }
    // A token costs millions of instructions, on any number of cores.
    for name in [
        "llm_generate_instructions_per_token_1core",
        "llm_generate_instructions_per_token_4core",
    ] {
        assert!(figures[name]["value"].as_f64() > Some(1e6), "{figures}");
    }
    let png = std::fs::read(&chart).expect("--plot writes the chart");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    // A ping is part of every request: it cannot cost more than a tools/call.
    assert!(
        figures["mcp_ping_json_instructions"]["value"].as_f64()
            < figures["mcp_dispatch_json_instructions"]["value"].as_f64(),
        "{figures}"
    );
}
