//! `kingly://metrics`: the MCP server's counters (a snapshot the MCP loop
//! publishes after every frame, since resource readers run inside the
//! server and cannot borrow it) plus what only the kernel sees: UART0
//! bytes, log records, uptime, timer interrupts, temperature and clocks.

use crate::services::tools::{clocks_json, temperature_json};
use crate::{console, klog, timer};
use mcp::metrics::Metrics;
use serde_json::{json, Value};
use spin::Mutex;

static SNAPSHOT: Mutex<Option<Metrics>> = Mutex::new(None);

/// Stores the server's counters; returns whether they changed.
pub fn publish(server: &Metrics) -> bool {
    let mut snapshot = SNAPSHOT.lock();
    let changed = snapshot.as_ref() != Some(server);
    if changed {
        *snapshot = Some(server.clone());
    }
    changed
}

pub fn to_json() -> Value {
    let server = SNAPSHOT
        .lock()
        .as_ref()
        .map_or(Value::Null, Metrics::to_json);
    let (bytes_in, bytes_out, rx_lost) = console::counters();
    let (log_records, log_dropped) = klog::counts();
    json!({
        "mcp": server,
        "uart0": {"bytes_in": bytes_in, "bytes_out": bytes_out, "rx_bytes_lost": rx_lost},
        "log": {"records": log_records, "dropped": log_dropped},
        "uptime_ms": timer::uptime_ms(),
        "timer_interrupts": timer::interrupts(),
        "temperature": temperature_json(),
        "clocks_hz": clocks_json(),
    })
}
