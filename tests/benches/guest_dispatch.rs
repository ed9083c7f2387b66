//! Guest instructions per trivial MCP `tools/call` dispatch, measured inside
//! the real kernel under `qemu -icount shift=0,align=off,sleep=off`, where one
//! guest instruction is one nanosecond of virtual time and the generic timer
//! ticks once per 16 instructions, exactly, run after run.
//!
//! The kernel's `bench_mcp_dispatch` tool runs parse + dispatch + serialize
//! of a trivial call through a private server instance (no UART) and reports
//! `ns_per_iteration`, which under this icount setting is instructions per
//! dispatch. Idle cores sleep in `wfi`, so they add nothing to the count.
//!
//!     cargo bench -p kingly-tests --bench guest_dispatch

use kingly::client::{QemuMcp, PROTOCOL_VERSION};
use kingly::qemu::ICOUNT_ARGS;
use serde_json::json;

const ITERATIONS: u64 = 5000;

fn main() {
    let (kernel8, image) = kingly_tests::artifacts();
    let dir = tempfile::tempdir().expect("temporary directory");
    let copy = dir.path().join("sd.img");
    std::fs::copy(image, &copy).expect("copy the SD image");
    let mut qemu = QemuMcp::boot(kernel8, &copy, &ICOUNT_ARGS).expect("start QEMU with -icount");
    qemu.initialize(PROTOCOL_VERSION, "guest-dispatch-bench")
        .expect("initialize");
    println!(
        "guest instructions per trivial tools/call dispatch (qemu {} {}), {ITERATIONS} iterations",
        ICOUNT_ARGS[0], ICOUNT_ARGS[1]
    );
    println!(
        "{:<10} {:<11} {:>14} {:>10}",
        "encoding", "request", "instructions", "goal"
    );
    for (encoding, request, goal) in [
        ("json", "tools/call", "5000"),
        ("postcard", "tools/call", "1000"),
        ("json", "ping", "-"),
    ] {
        let result = qemu
            .call_tool(
                "bench_mcp_dispatch",
                json!({"iterations": ITERATIONS, "encoding": encoding, "request": request}),
            )
            .expect("bench_mcp_dispatch");
        let measured = &result["structuredContent"];
        let per = measured["ns_per_iteration"]
            .as_f64()
            .unwrap_or_else(|| panic!("no figure in {result}"));
        println!("{encoding:<10} {request:<11} {per:>14.0} {goal:>10}");
    }
}
