//! EL0 programs (`app_run`, `app_list`): the real kernel8.img in QEMU
//! raspi4b runs the ELF files `kingly image` puts in /APPS (apps/programs)
//! at EL0 on a secondary core; their only system call is `svc #0` with a
//! postcard `tools/call`. Faulting, misbehaving and looping programs are
//! ended with a report, and the kernel keeps serving.

use std::time::Duration;

use kingly_tests::{assert_ping, boot, send_line, structured, Board};
use serde_json::{json, Value};

/// Runs a program that must exit; returns app_run's structuredContent.
fn run(board: &mut Board, path: &str, args: Value) -> Value {
    structured(board, "app_run", json!({"path": path, "args": args}))
}

/// Runs a program that must be refused or ended (isError); returns the text.
fn run_refused(board: &mut Board, arguments: Value) -> String {
    let result = board
        .call_tool("app_run", arguments.clone())
        .unwrap_or_else(|e| panic!("app_run {arguments}: {e}"));
    assert_eq!(result["isError"], true, "app_run {arguments}: {result}");
    result["content"][0]["text"]
        .as_str()
        .expect("a text report")
        .to_string()
}

fn output(result: &Value) -> &str {
    result["output"].as_str().expect("output text")
}

/// The good program still runs: the kernel and the core came back whole.
fn still_serving(board: &mut Board) {
    assert_ping(board);
    let done = run(board, "FAULTS", json!({"kind": "exit"}));
    assert_eq!(done["exit_code"], 7, "{done}");
    assert_eq!(output(&done), "faults: exit\nexit 7\n", "{done}");
}

#[test]
fn app_list_shows_the_programs_on_the_card() {
    let mut board = boot();
    let list = structured(&mut board, "app_list", json!({}));
    let names: Vec<&str> = list["programs"]
        .as_array()
        .expect("programs")
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for name in ["SENSOR.ELF", "FAULTS.ELF", "BENCH.ELF"] {
        assert!(names.contains(&name), "{name} missing from {list}");
    }
    for program in list["programs"].as_array().unwrap() {
        assert!(program["size"].as_u64().unwrap() > 1000, "{program}");
        assert_eq!(
            program["path"],
            format!("/APPS/{}", program["name"].as_str().unwrap())
        );
    }
}

#[test]
fn sensor_reads_the_temperature_toggles_a_gpio_and_appends_to_a_file() {
    let mut board = boot();
    let pin = 21;
    let file = "/SENSOR.LOG";
    let mut level = structured(&mut board, "gpio_read", json!({"pin": pin}))["level"] == true;
    for round in 1..=2 {
        let done = run(
            &mut board,
            "/APPS/SENSOR.ELF",
            json!({"pin": pin, "file": file}),
        );
        assert_eq!(done["exit_code"], 0, "{done}");
        assert_eq!(done["tool_calls"], 5, "{done}");
        let text = output(&done);
        let temperature: i64 = text
            .lines()
            .find_map(|l| l.strip_prefix("temperature_millicelsius: "))
            .unwrap_or_else(|| panic!("no temperature in {text:?}"))
            .parse()
            .unwrap_or_else(|_| panic!("temperature is not a number in {text:?}"));
        assert!(
            (0..150_000).contains(&temperature),
            "{temperature} in {text:?}"
        );
        assert!(
            text.contains(&format!("gpio {pin}: {level} -> {}", !level)),
            "{text:?}"
        );
        let pin_now = structured(&mut board, "gpio_read", json!({"pin": pin}));
        assert_eq!(pin_now["mode"], "output", "{pin_now}");
        assert_eq!(pin_now["level"], !level, "{pin_now}");
        level = !level;

        let read = structured(&mut board, "fs_read", json!({"path": file}));
        let lines: Vec<&str> = read["data"].as_str().unwrap().lines().collect();
        assert_eq!(lines.len(), round, "{read}");
        let last = lines[round - 1];
        assert!(
            last.contains(&format!("temperature_millicelsius={temperature}"))
                && last.ends_with(&format!("gpio{pin}={level}")),
            "{last:?}"
        );
        assert!(done["core"].as_u64().unwrap() >= 1, "{done}");
        assert!(done["run_ns"].as_u64().unwrap() > 0, "{done}");
    }
}

#[test]
fn faulting_programs_are_ended_with_a_report_and_the_kernel_keeps_serving() {
    let mut board = boot();
    for (kind, expected) in [
        ("undefined", "undefined instruction"),
        ("unmapped", "data abort from a lower EL"),
        ("kernel", "data abort from a lower EL"),
        ("write_text", "data abort from a lower EL"),
        ("exec_stack", "instruction abort from a lower EL"),
        ("bad_svc", "bad pointer: the request 0x80000"),
        ("oversized_svc", "oversized request: 65537 bytes"),
        ("svc_number", "svc #1 does not exist"),
    ] {
        let report = run_refused(
            &mut board,
            json!({"path": "FAULTS", "args": {"kind": kind}}),
        );
        assert!(
            report.contains("faulted and was ended") && report.contains(expected),
            "{kind}: {report}"
        );
        still_serving(&mut board);
    }
}

#[test]
fn a_too_small_response_buffer_is_an_error_the_program_sees() {
    let mut board = boot();
    let done = run(&mut board, "FAULTS", json!({"kind": "small_buffer"}));
    assert_eq!(done["exit_code"], 0, "{done}");
    let text = output(&done);
    let needed: u64 = text
        .split("small_buffer: ret -1 needed ")
        .nth(1)
        .unwrap_or_else(|| panic!("{text:?}"))
        .trim()
        .parse()
        .unwrap();
    assert!(needed > 4, "{text:?}");
}

#[test]
fn programs_cannot_call_app_run() {
    let mut board = boot();
    let done = run(
        &mut board,
        "FAULTS",
        json!({"kind": "call", "tool": "app_run", "arguments": {"path": "FAULTS"}}),
    );
    assert!(
        output(&done).contains("app_run cannot be called from a program"),
        "{done}"
    );
    // Other tools work, and their arguments are checked as on the UART.
    let done = run(
        &mut board,
        "FAULTS",
        json!({"kind": "call", "tool": "gpio_read", "arguments": {"pin": 99}}),
    );
    assert!(output(&done).contains("Invalid arguments"), "{done}");
}

#[test]
fn a_looping_program_is_stopped_by_its_timeout_and_by_cancel() {
    let mut board = boot();
    let report = run_refused(
        &mut board,
        json!({"path": "FAULTS", "args": {"kind": "loop"}, "timeout_ms": 500}),
    );
    assert!(report.contains("ran past timeout_ms (500 ms)"), "{report}");
    still_serving(&mut board);

    send_line(
        &mut board,
        br#"{"jsonrpc":"2.0","id":"spin","method":"tools/call","params":{"name":"app_run","arguments":{"path":"FAULTS","args":{"kind":"loop"},"timeout_ms":600000}}}"#,
    );
    std::thread::sleep(Duration::from_secs(1));
    send_line(
        &mut board,
        br#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"spin"}}"#,
    );
    still_serving(&mut board);
    let stdout = String::from_utf8_lossy(&board.stdout_bytes()).to_string();
    assert!(
        !stdout.contains(r#""id":"spin""#),
        "the cancelled app_run must get no response:\n{stdout}"
    );
}

#[test]
fn files_that_are_not_programs_are_refused() {
    let mut board = boot();
    for (path, expected) in [
        ("/config.txt", "not an ELF64 file"),
        ("/kernel8.img", "programs may have at most 1048576"),
        ("/APPS/NONE.ELF", "NONE.ELF"),
    ] {
        let report = run_refused(&mut board, json!({"path": path}));
        assert!(report.contains(expected), "{path}: {report}");
    }
    for (name, elf, expected) in [
        (
            "WX.ELF",
            tiny_elf(0x10_0001_0000, 7),
            "both writable and executable",
        ),
        ("LOW.ELF", tiny_elf(0x8_0000, 5), "outside the program area"),
    ] {
        let path = format!("/APPS/{name}");
        structured(
            &mut board,
            "fs_write",
            json!({"path": path, "data": b64(&elf), "encoding": "base64", "mode": "truncate"}),
        );
        let report = run_refused(&mut board, json!({"path": path}));
        assert!(report.contains(expected), "{name}: {report}");
    }
    still_serving(&mut board);
}

/// A minimal AArch64 ELF64 executable: one PT_LOAD of one page at `address`
/// with flags `flags` (PF_X = 1, PF_W = 2, PF_R = 4), entry at its start.
fn tiny_elf(address: u64, flags: u32) -> Vec<u8> {
    let mut elf = Vec::new();
    elf.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
    elf.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    elf.extend_from_slice(&183u16.to_le_bytes()); // EM_AARCH64
    elf.extend_from_slice(&1u32.to_le_bytes());
    elf.extend_from_slice(&address.to_le_bytes()); // e_entry
    elf.extend_from_slice(&64u64.to_le_bytes()); // e_phoff
    elf.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    elf.extend_from_slice(&0u32.to_le_bytes());
    for v in [64u16, 56, 1, 64, 0, 0] {
        elf.extend_from_slice(&v.to_le_bytes()); // ehsize phentsize phnum shentsize shnum shstrndx
    }
    elf.extend_from_slice(&1u32.to_le_bytes()); // PT_LOAD
    elf.extend_from_slice(&flags.to_le_bytes());
    for v in [0u64, address, address, 128, 4096, 4096] {
        elf.extend_from_slice(&v.to_le_bytes()); // offset vaddr paddr filesz memsz align
    }
    elf.resize(128, 0);
    elf
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Under `-icount` QEMU's PMU counts retired instructions: app_run reports
/// them (EL0 alone and EL0 + EL1), and one more svc round trip costs a
/// bounded number of them (`kingly bench` reports the exact figure).
#[test]
fn instructions_are_counted_under_icount() {
    let (_dir, image) = kingly_tests::image_copy(&kingly_tests::artifacts().1);
    let mut board =
        kingly_tests::boot_image_with(&image, &["--icount", "--append", "test_tools=1"]);
    let calls = 200;
    let counted = |board: &mut Board, n: u64, tool: &str| {
        let done = run(board, "BENCH", json!({"n": n, "tool": tool}));
        assert_eq!(done["exit_code"], 0, "{done}");
        assert_eq!(done["tool_calls"], n, "{done}");
        let all = done["instructions"]
            .as_u64()
            .unwrap_or_else(|| panic!("{done}"));
        let user = done["user_instructions"]
            .as_u64()
            .unwrap_or_else(|| panic!("{done}"));
        assert!(0 < user && user < all, "{done}");
        all
    };
    for tool in ["app_echo", "time_now"] {
        let none = counted(&mut board, 0, tool);
        let some = counted(&mut board, calls, tool);
        let per_call = (some - none) as f64 / calls as f64;
        eprintln!(
            "svc round trip, {tool}: {per_call:.0} instructions per call ({none} for no call)"
        );
        assert!((100.0..20_000.0).contains(&per_call), "{per_call}");
    }
}
