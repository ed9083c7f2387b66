//! Bytes off the wire, cut into arbitrary chunks, through `LineFramer` and
//! `Server::handle_line`: every reply is one valid JSON-RPC line, and after
//! any input the next good request is still served.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp::{Frame, LineFramer, Server};
use mcp_fuzz::{check_reply, server};

fuzz_target!(|data: &[u8]| {
    // First byte: bit 0 picks a fresh or initialized session, the rest the
    // size of the chunks the bytes arrive in (1..=128).
    let Some((&mode, wire)) = data.split_first() else {
        return;
    };
    let mut server = server(mode & 1 == 1);
    let mut framer = LineFramer::new();
    let serve = |server: &mut Server, frame: Frame| {
        let reply = match frame {
            Frame::Line(line) => server.handle_line(&line),
            Frame::TooLong { len } => Some(Server::too_long_response(len)),
        };
        reply.map(|line| check_reply(&line))
    };
    for chunk in wire.chunks(1 + usize::from(mode >> 1)) {
        framer.push_slice(chunk, &mut |frame| {
            serve(&mut server, frame);
        });
    }

    // The newline ends whatever partial line is pending (which may get an
    // answer of its own); then the ping must be answered.
    let mut last = Vec::new();
    framer.push_slice(
        b"\n{\"jsonrpc\":\"2.0\",\"id\":\"last\",\"method\":\"ping\"}\n",
        &mut |frame| last.extend(serve(&mut server, frame)),
    );
    assert!(matches!(last.len(), 1 | 2), "the closing ping got {last:?}");
    assert_eq!(last[last.len() - 1]["id"], "last", "{last:?}");
});
