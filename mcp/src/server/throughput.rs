//! A local check of the `tools/call` hot path (the real benchmark lives
//! elsewhere): `cargo test -p mcp --release -- --ignored --nocapture`.

use super::*;
use crate::registry::ToolResult;
use alloc::boxed::Box;

#[test]
#[ignore = "timing; run explicitly in release mode"]
fn trivial_tools_call_throughput() {
    extern crate std;
    let mut s = Server::new(ServerInfo {
        name: "b",
        title: "B",
        version: "0",
        instructions: None,
    });
    s.add_tool(Tool {
        name: "echo",
        title: "Echo",
        description: "Echo.",
        input_schema: json!({"type":"object"}),
        output_schema: None,
        handler: Box::new(|_, _| ToolResult::Structured(crate::object! {"ok": true})),
    });
    s.handle_line(br#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25"}}"#);
    let line = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{}}}"#;
    // MCP_BENCH_N=… picks the count (small under callgrind).
    let n: u32 = std::env::var("MCP_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000_000);
    let start = std::time::Instant::now();
    let mut bytes = 0usize;
    for _ in 0..n {
        bytes += s.handle_line(line).map_or(0, |r| r.len());
    }
    let secs = start.elapsed().as_secs_f64();
    std::println!(
        "tools/call via handle_line: {:.0} req/s ({:.0} ns/req, {} bytes/reply)",
        f64::from(n) / secs,
        secs * 1e9 / f64::from(n),
        bytes / n as usize
    );
}
