//! A whole session through the transport API the kernel uses
//! (`Server::handle_frame` + `serve_queued`): frames keep arriving while a
//! tool runs (it reports progress, logs, and polls for cancellation, which
//! reads them), so requests get queued and calls get cancelled. Every line
//! the server writes is one valid JSON-RPC response or notification, the
//! queue stays bounded, and the session still answers a ping at the end.
#![no_main]

use std::collections::VecDeque;

use libfuzzer_sys::fuzz_target;
use mcp::limits::MAX_PENDING_REQUESTS;
use mcp::{Frame, LineFramer, Transport};
use mcp_fuzz::{check_notification, check_reply, server};
use serde_json::Value;

/// Frames waiting to be read, and every line written.
#[derive(Default)]
struct Wire {
    incoming: VecDeque<Frame>,
    sent: Vec<Value>,
}

impl Transport for Wire {
    fn poll_frame(&mut self) -> Option<Frame> {
        self.incoming.pop_front()
    }

    fn send_line(&mut self, line: &str) {
        // Responses always carry an id (null at worst); notifications never.
        let value = match serde_json::from_str::<Value>(line) {
            Ok(v) if v.get("id").is_none() => check_notification(line),
            _ => check_reply(line),
        };
        self.sent.push(value);
    }
}

fuzz_target!(|data: &[u8]| {
    // First byte: bit 0 picks a fresh or initialized session, bits 1..=7 how
    // many frames arrive before the server starts (the rest arrive one per
    // served frame, so some are read by running tools).
    let Some((&mode, bytes)) = data.split_first() else {
        return;
    };
    let mut server = server(mode & 1 == 1);
    let mut framer = LineFramer::new();
    let mut frames = VecDeque::new();
    framer.push_slice(bytes, &mut |frame| frames.push_back(frame));
    framer.push_slice(
        b"\n{\"jsonrpc\":\"2.0\",\"id\":\"last\",\"method\":\"ping\"}\n",
        &mut |frame| frames.push_back(frame),
    );

    let mut wire = Wire::default();
    let head = usize::from(mode >> 1).min(frames.len());
    wire.incoming.extend(frames.drain(..head));
    loop {
        if let Some(frame) = frames.pop_front() {
            wire.incoming.push_back(frame);
        }
        let Some(frame) = wire.incoming.pop_front() else {
            if frames.is_empty() {
                break;
            }
            continue;
        };
        server.handle_frame(frame, &mut wire);
        while server.serve_queued(&mut wire) {}
        assert!(
            server.pending() <= MAX_PENDING_REQUESTS,
            "{} requests queued",
            server.pending()
        );
    }
    assert_eq!(server.pending(), 0);

    // The ping may be answered before a call that was running, so look for
    // its answer anywhere: exactly one.
    let answers = wire.sent.iter().filter(|v| v["id"] == "last").count();
    assert_eq!(answers, 1, "{:?}", wire.sent);
});
