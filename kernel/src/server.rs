//! The MCP loop on core 0: UART0 frames → the `mcp` server → UART0, and
//! what the kernel itself has to say in between (new log records, changed
//! resources).

use crate::services::resources::{LOG_URI, METRICS_URI};
use crate::transport::UartTransport;
use crate::{klog, metrics, watchdog};
use mcp::Server;
use serde_json::json;

/// `kingly://metrics` changes with every request; subscribers hear about it
/// at most this often (checked after each frame: the loop has no timer yet).
const METRICS_UPDATE_INTERVAL_MS: u64 = 1000;

pub fn run(mut server: Server) -> ! {
    let mut transport = UartTransport::new();
    // Boot records are in kingly://log; only what happens from now on is
    // pushed as notifications/message.
    let mut forwarded = klog::last_seq();
    let mut metrics_notified_at = 0;
    let mut metrics_changed = false;
    crate::timer::record_ready();
    loop {
        let frame = transport.wait();
        server.handle_frame(frame, &mut transport);
        metrics_changed |= metrics::publish(server.metrics());
        while server.serve_queued(&mut transport) {
            metrics_changed |= metrics::publish(server.metrics());
        }
        // A `sys_reboot` answered above takes effect from now on.
        watchdog::commit_reboot();

        let new = klog::after(forwarded);
        if let Some(last) = new.back() {
            forwarded = last.seq;
            for record in &new {
                let data = json!({"message": record.message, "uptime_ms": record.uptime_ms, "seq": record.seq});
                server.log(record.level, "kernel", data, &mut transport);
            }
            server.resource_updated(LOG_URI, &mut transport);
        }
        let now_ms = crate::timer::uptime_ms();
        if metrics_changed
            && now_ms.saturating_sub(metrics_notified_at) >= METRICS_UPDATE_INTERVAL_MS
        {
            metrics_notified_at = now_ms;
            metrics_changed = false;
            server.resource_updated(METRICS_URI, &mut transport);
        }
    }
}
