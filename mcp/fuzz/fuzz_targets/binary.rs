//! Arbitrary bytes as a postcard request: `binary::decode` never panics,
//! what decodes re-encodes stably and has an equivalent JSON form, and
//! `handle_binary` answers requests (and only requests) with a valid reply
//! addressed to the request.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp::binary::{self, Id, Message};
use mcp_fuzz::{check_binary_reply, server, DEPTH_ONLY};

/// Ids that are the same in JSON (`I64(2)` is a non-canonical `U64(2)`).
fn same_id(a: &Id, b: &Id) -> bool {
    let number = |id: &Id| match *id {
        Id::U64(n) => Some(i128::from(n)),
        Id::I64(n) => Some(i128::from(n)),
        Id::Str(_) => None,
    };
    match (number(a), number(b)) {
        (Some(x), Some(y)) => x == y,
        (None, None) => a == b,
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, request)) = data.split_first() else {
        return;
    };
    let mut server = server(mode & 1 == 1);

    let decoded = binary::decode(request);
    if let Ok(message) = &decoded {
        // Compared as bytes: a NaN is not equal to itself.
        let bytes = binary::encode(message);
        assert_eq!(
            binary::decode(&bytes).map(|m| binary::encode(&m)),
            Ok(bytes)
        );
        // The JSON form is one line that the JSON side accepts and writes
        // back identically.
        let line = message.to_json_line();
        assert!(!line.contains('\n'));
        let back = Message::from_json_line_with(line.as_bytes(), DEPTH_ONLY)
            .unwrap_or_else(|e| panic!("JSON form refused ({e}): {line}"));
        assert_eq!(back.to_json_line(), line);
    }

    let reply = binary::handle_binary(&mut server, request);
    match (&decoded, reply) {
        (Err(_), Some(reply)) => {
            let reply = check_binary_reply(&reply);
            assert!(
                matches!(reply, Message::Error { id: None, .. }),
                "{reply:?}"
            );
        }
        (Ok(Message::Request { id, .. }), Some(reply)) => {
            let reply = check_binary_reply(&reply);
            // Addressed to the request, or to nobody when the server could
            // not accept its id.
            match &reply {
                Message::Response { id: got, .. } => assert!(same_id(got, id), "{reply:?}"),
                Message::Error { id: got, .. } => {
                    assert!(got.as_ref().is_none_or(|got| same_id(got, id)), "{reply:?}")
                }
                other => panic!("not a reply: {other:?}"),
            }
        }
        (Ok(Message::Request { .. }) | Err(_), None) => panic!("no answer to {decoded:?}"),
        (Ok(_), None) => {}
        (Ok(other), Some(reply)) => panic!("{other:?} was answered with {reply:?}"),
    }

    let ping = Message::Request {
        id: Id::Str("last".into()),
        method: "ping".into(),
        params: None,
    };
    let reply = binary::handle_binary(&mut server, &binary::encode(&ping));
    let reply = check_binary_reply(&reply.expect("the closing ping is answered"));
    assert_eq!(reply.id(), Some(&Id::Str("last".into())), "{reply:?}");
});
