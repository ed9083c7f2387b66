//! The kernel command line (QEMU's `-append`, `cmdline.txt` on the board)
//! reaches the kernel through the mailbox, and the exception path turns
//! faults into MCP `notifications/message` lines at level `emergency`.

use kingly::client::PROTOCOL_VERSION;
use kingly::qemu::append_args;
use kingly_tests::boot_uninitialized_with_args;
use serde_json::{json, Value};

/// Boots with `selftest=<which>` and returns the first message the kernel
/// writes (it faults right after boot, before reading anything).
fn emergency_report(which: &str) -> Value {
    let cmdline = format!("selftest={which}");
    let mut board = boot_uninitialized_with_args(&append_args(&cmdline));
    let message = board
        .next_message("the emergency report")
        .unwrap_or_else(|e| panic!("no report for selftest={which}: {e}"));
    assert_eq!(message["jsonrpc"], "2.0");
    assert_eq!(message["method"], "notifications/message", "{message}");
    assert!(
        message.get("id").is_none(),
        "a notification has no id: {message}"
    );
    assert_eq!(message["params"]["level"], "emergency");
    assert_eq!(message["params"]["logger"], "kernel");
    message["params"]["data"].clone()
}

#[test]
fn data_abort_is_reported_with_esr_elr_far_and_core() {
    let data = emergency_report("data_abort");
    assert_eq!(data["event"], "synchronous exception", "{data}");
    assert_eq!(data["core"], 0);
    assert_eq!(data["exception_level"], 1);
    // EC 0x25: data abort taken without a change of EL.
    assert_eq!(data["exception_class"], "0x25", "{data}");
    assert_eq!(
        data["far"], "0x0000000100000000",
        "the faulting address is the first unmapped byte: {data}"
    );
    let esr =
        u64::from_str_radix(data["esr"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    assert_eq!(esr >> 26, 0x25);
    let elr =
        u64::from_str_radix(data["elr"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    assert!(elr >= 0x80000, "ELR points into the kernel: {data}");
    assert_eq!(data["halted"], true);
}

#[test]
fn undefined_instruction_is_reported() {
    let data = emergency_report("undefined");
    assert_eq!(data["event"], "synchronous exception", "{data}");
    assert_eq!(
        data["exception_class"], "0x00",
        "UDF is EC 0 (unknown reason): {data}"
    );
}

#[test]
fn panic_is_reported_with_message_and_location() {
    let data = emergency_report("panic");
    assert_eq!(data["event"], "panic", "{data}");
    assert!(
        data["message"]
            .as_str()
            .unwrap()
            .contains("deliberate panic"),
        "{data}"
    );
    assert!(
        data["location"]
            .as_str()
            .unwrap()
            .starts_with("kernel/src/"),
        "{data}"
    );
}

#[test]
fn baud_rate_and_command_line_come_from_the_mailbox() {
    let mut board = boot_uninitialized_with_args(&append_args("console=uart0 baud=57600"));
    board
        .initialize(PROTOCOL_VERSION, "kingly-tests")
        .expect("initialize");
    let result = board.call_tool("sys_info", json!({})).expect("sys_info");
    let info = &result["structuredContent"];
    assert_eq!(info["uart_baud"], 57600, "{info}");
    // raspi4b.args starts the command line; the test's words follow.
    assert_eq!(
        info["cmdline"], "log_uart=mini console=uart0 baud=57600",
        "{info}"
    );
    // QEMU's PL011 reference clock, as its mailbox reports it.
    assert_eq!(info["clocks_hz"]["uart"], 3_000_000, "{info}");
}

/// A minimal flattened device tree: a root node with #address-cells and
/// #size-cells, which QEMU extends with /memory and /chosen before boot.
fn minimal_fdt() -> Vec<u8> {
    let be = |v: u32| v.to_be_bytes();
    let strings = b"#address-cells\0#size-cells\0";
    let prop = |name_offset: u32, value: u32| [be(3), be(4), be(name_offset), be(value)].concat();
    let structure = [
        be(1).to_vec(),
        vec![0; 4],
        prop(0, 1),
        prop(15, 1),
        be(2).to_vec(),
        be(9).to_vec(),
    ]
    .concat();
    let (header, reserve) = (40u32, 16u32);
    let off_struct = header + reserve;
    let off_strings = off_struct + structure.len() as u32;
    let total = off_strings + strings.len() as u32;
    let fields = [
        0xd00d_feed,
        total,
        off_struct,
        off_strings,
        header,
        17,
        16,
        0,
        strings.len() as u32,
        structure.len() as u32,
    ];
    [
        fields.iter().flat_map(|f| be(*f)).collect(),
        vec![0; reserve as usize],
        structure,
        strings.to_vec(),
    ]
    .concat()
}

#[test]
fn device_tree_address_is_reported_only_when_x0_points_at_one() {
    let dir = tempfile::tempdir().unwrap();
    let dtb = dir.path().join("min.dtb");
    std::fs::write(&dtb, minimal_fdt()).unwrap();
    let mut with = boot_uninitialized_with_args(&["-dtb", dtb.to_str().unwrap()]);
    with.initialize(PROTOCOL_VERSION, "kingly-tests")
        .expect("initialize");
    let info =
        with.call_tool("sys_info", json!({})).expect("sys_info")["structuredContent"].clone();
    let address = info["dtb_address"]
        .as_str()
        .unwrap_or_else(|| panic!("no dtb_address: {info}"));
    assert!(address.starts_with("0x") && address != "0x0", "{info}");
    drop(with);

    let mut without = boot_uninitialized_with_args(&[]);
    without
        .initialize(PROTOCOL_VERSION, "kingly-tests")
        .expect("initialize");
    let info =
        without.call_tool("sys_info", json!({})).expect("sys_info")["structuredContent"].clone();
    assert_eq!(info["dtb_address"], Value::Null, "{info}");
}
