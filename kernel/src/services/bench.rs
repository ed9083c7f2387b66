//! In-kernel measurements, exposed as tools so `kingly bench` and people can
//! run them through MCP like everything else.
//!
//! Times come from the generic timer. Under
//! `qemu … -icount shift=0,align=off,sleep=off` one guest instruction is one
//! nanosecond of virtual time, so the nanosecond figures below *are* guest
//! instruction counts there (the counter runs at 62.5 MHz: one tick = 16
//! instructions). On a board they are plain nanoseconds.

use alloc::boxed::Box;
use alloc::string::String;
use mcp::binary;
use mcp::{Context, Object, Server, ServerInfo, Tool, ToolResult};
use rpi4::generic_timer;
use serde_json::Map;
use serde_json::{json, Value};

/// The request every dispatch measurement sends: a trivial `tools/call`.
pub const TRIVIAL_CALL: &[u8] =
    br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{}}}"#;

/// A private server with one trivial tool, so the measurement exercises the
/// same parse + dispatch + serialize path as UART requests without touching
/// the live session.
fn bench_server() -> Server {
    let mut server = Server::new(ServerInfo {
        name: "bench",
        title: "bench",
        version: "0",
        instructions: None,
    });
    server.add_tool(Tool {
        name: "echo",
        title: "Echo",
        description: "Returns a constant.",
        input_schema: json!({"type": "object"}),
        output_schema: None,
        handler: Box::new(|_: &Map<String, Value>, _: &mut dyn Context| {
            ToolResult::Structured(mcp::object! {"ok": true})
        }),
    });
    // A handshake-era session, as a client would have set up.
    server.handle_line(br#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}}"#);
    server.handle_line(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    server
}

#[derive(Debug, Clone, Copy)]
pub struct Measurement {
    pub iterations: u32,
    pub ticks: u64,
    pub cntfrq_hz: u64,
}

impl Measurement {
    pub fn ns_per_iteration(&self) -> f64 {
        (self.ticks as f64) * 1e9 / (self.cntfrq_hz as f64) / f64::from(self.iterations.max(1))
    }

    pub fn to_object(self, what: &str) -> Object {
        mcp::object! {
            "what": what,
            "iterations": self.iterations,
            "ticks": self.ticks,
            "cntfrq_hz": self.cntfrq_hz,
            "ns_per_iteration": self.ns_per_iteration(),
            "note": "under qemu -icount shift=0 one guest instruction is 1 ns: ns_per_iteration is instructions per iteration",
        }
    }
}

/// `ping`: the envelope alone (scan, method lookup, reply), the floor under
/// every request.
pub const PING: &[u8] = br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;

/// Which request a JSON measurement sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// [`TRIVIAL_CALL`].
    ToolsCall,
    /// [`PING`].
    Ping,
}

impl Request {
    fn line(self) -> &'static [u8] {
        match self {
            Request::ToolsCall => TRIVIAL_CALL,
            Request::Ping => PING,
        }
    }

    /// A piece of the correct answer, checked during the warm-up.
    fn expected(self) -> &'static str {
        match self {
            Request::ToolsCall => "\"ok\":true",
            Request::Ping => "\"result\":{}",
        }
    }
}

/// Runs `handle_line` on `request`'s line `iterations` times (after a short
/// warm-up that also checks the answer) and measures the whole loop.
pub fn json_dispatch(iterations: u32, request: Request) -> Result<Measurement, String> {
    let mut server = bench_server();
    let line = request.line();
    for _ in 0..8 {
        let reply = server.handle_line(line).ok_or("the request got no reply")?;
        if !reply.contains(request.expected()) {
            return Err(alloc::format!("unexpected reply: {reply}"));
        }
    }
    let start = generic_timer::ticks();
    for _ in 0..iterations {
        core::hint::black_box(server.handle_line(core::hint::black_box(line)));
    }
    let ticks = generic_timer::ticks() - start;
    Ok(Measurement {
        iterations,
        ticks,
        cntfrq_hz: generic_timer::frequency_hz(),
    })
}

/// The same measurement for the postcard form (`mcp::binary`), the encoding
/// in-kernel callers and EL0 programs use.
pub fn postcard_dispatch(iterations: u32) -> Result<Measurement, String> {
    let mut server = bench_server();
    let request = binary::Message::from_json_line(TRIVIAL_CALL)
        .map(|m| binary::encode(&m))
        .map_err(|e| alloc::format!("cannot encode the trivial call: {e:?}"))?;
    for _ in 0..8 {
        let reply =
            binary::handle_binary(&mut server, &request).ok_or("the trivial call got no reply")?;
        let line = binary::decode(&reply)
            .map_err(|e| alloc::format!("undecodable reply: {e:?}"))?
            .to_json_line();
        if !line.contains("\"ok\":true") {
            return Err(alloc::format!(
                "unexpected reply to the trivial call: {line}"
            ));
        }
    }
    let start = generic_timer::ticks();
    for _ in 0..iterations {
        core::hint::black_box(binary::handle_binary(
            &mut server,
            core::hint::black_box(&request),
        ));
    }
    let ticks = generic_timer::ticks() - start;
    Ok(Measurement {
        iterations,
        ticks,
        cntfrq_hz: generic_timer::frequency_hz(),
    })
}
