//! One JSON line, served both ways: straight through `handle_line`, and
//! converted to a `binary::Message` and served through `handle_binary`. Both
//! paths must give the same answer (but for the text mirror of a structured
//! `tools/call` result, which binary answers leave out), and the line's
//! binary form must round-trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp::binary::{self, Limits, Message};
use mcp_fuzz::{check_binary_reply, check_reply, server};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, line)) = data.split_first() else {
        return;
    };
    // What the framer would hand on: no newline, no trailing CR.
    if line.contains(&b'\n') || line.last() == Some(&b'\r') {
        return;
    }
    let initialized = mode & 1 == 1;
    let mut json_side = server(initialized);
    let json_reply = json_side.handle_line(line);
    let json_reply = json_reply.map(|reply| {
        check_reply(&reply);
        Message::from_json_line_with(reply.as_bytes(), Limits::TRUSTED).unwrap()
    });

    let Ok(message) = Message::from_json_line(line) else {
        return;
    };
    let canonical = message.to_json_line();
    assert_eq!(
        Message::from_json_line(canonical.as_bytes()).as_ref(),
        Ok(&message),
        "{canonical}"
    );
    let mut json_reply = json_reply;
    if let (Message::Request { method, .. }, Some(Message::Response { result, .. })) =
        (&message, json_reply.as_mut())
    {
        if method == "tools/call" {
            binary::drop_text_mirror(result);
        }
    }
    let bytes = binary::encode(&message);
    assert_eq!(binary::decode(&bytes).as_ref(), Ok(&message));

    let mut binary_side = server(initialized);
    let binary_reply =
        binary::handle_binary(&mut binary_side, &bytes).map(|r| check_binary_reply(&r));
    assert_eq!(
        json_reply,
        binary_reply,
        "the two paths disagree on {:?}",
        String::from_utf8_lossy(line)
    );
});
