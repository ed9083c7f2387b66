//! The MCP loop on core 0: UART0 frames → the `mcp` server → UART0, and
//! what the kernel itself has to say in between (new log records, changed
//! resources).

use crate::services::resources::{changed_template_uris, LOG_URI, METRICS_URI};
use crate::transport::UartTransport;
use crate::{klog, metrics, state, storage, watchdog};
use mcp::Server;
use rpi4::generic_timer;
use serde_json::json;

/// `kingly://metrics` changes with every request; subscribers hear about it
/// at most this often, and at the latest this long after the change (the
/// loop waits for input with this deadline while an update is due).
const METRICS_UPDATE_INTERVAL_MS: u64 = 1000;

pub fn run(mut server: Server) -> ! {
    let mut transport = UartTransport::new();
    // Boot records are in kingly://log; only what happens from now on is
    // pushed as notifications/message.
    let mut forwarded = klog::last_seq();
    let interval =
        generic_timer::ms_to_ticks(METRICS_UPDATE_INTERVAL_MS, generic_timer::frequency_hz());
    let mut metrics_notified_at = 0;
    let mut metrics_changed = false;
    crate::timer::record_ready();
    loop {
        let metrics_due = metrics_changed.then(|| metrics_notified_at + interval);
        // A changed persistent state is saved at its own deadline, not only
        // when a request arrives.
        let due = match (metrics_due, state::next_due()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(frame) = transport.wait_until(due) {
            server.handle_frame(frame, &mut transport);
        }
        metrics_changed |= metrics::publish(server.metrics());
        while server.serve_queued(&mut transport) {
            metrics_changed |= metrics::publish(server.metrics());
        }
        // Usage counts and notes to the card when due, and before a
        // `sys_reboot` answered above takes effect (from now on).
        state::save_if_due(watchdog::reboot_requested());
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
        // Subscribed template URIs: a log level, a file on the card.
        let most_severe_logged = new.iter().map(|record| record.level).max();
        let files = storage::changes::take();
        if most_severe_logged.is_some() || files.is_some() {
            for uri in changed_template_uris(&server, most_severe_logged, files.as_ref()) {
                server.resource_updated(&uri, &mut transport);
            }
        }
        let now = generic_timer::ticks();
        if metrics_changed && now.saturating_sub(metrics_notified_at) >= interval {
            metrics_notified_at = now;
            server.resource_updated(METRICS_URI, &mut transport);
            // The notification just sent counts in the metrics; it is not a
            // change to announce (or subscribers would hear one a second
            // forever).
            metrics::publish(server.metrics());
            metrics_changed = false;
        }
    }
}
