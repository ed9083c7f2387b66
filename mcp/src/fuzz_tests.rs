//! Deterministic fuzzing of the whole pipeline: mutated, truncated and
//! spliced messages must never panic, and every reply must be a well-formed
//! JSON-RPC response line.

use crate::{Frame, LineFramer, Server, ServerInfo, Tool, ToolResult};
use alloc::boxed::Box;
use alloc::vec::Vec;
use serde_json::{json, Value};

/// xorshift64*: tiny, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const SEEDS: &[&str] = &[
    r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}"#,
    r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
    r#"{"jsonrpc":"2.0","id":"a\u00e9\"b","method":"ping"}"#,
    r#"{"jsonrpc":"2.0","id":18446744073709551615,"method":"tools/list","params":{"cursor":"x"}}"#,
    r#"{"jsonrpc":"2.0","id":-3,"method":"tools/call","params":{"name":"echo","arguments":{"a":[1,{"b":null}],"c":"\\n"}}}"#,
    r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"fail"}}"#,
    r#"{"jsonrpc":"2.0","id":6,"result":{"ok":true}}"#,
    r#"[{"jsonrpc":"2.0","id":7,"method":"ping"},{"jsonrpc":"2.0","method":"x"}]"#,
    r#"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"#,
];

/// Bytes that tend to matter to a JSON parser.
const INTERESTING: &[u8] = b"{}[]\",:\\0123456789-.eEtrufalsn \t\r\n\x00\x7f\xc3\xa9\xff\xf0";

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..=rng.below(4) {
        let pos = rng.below(v.len() + 1);
        match rng.below(7) {
            0 => v.truncate(pos),
            1 if pos < v.len() => v[pos] = INTERESTING[rng.below(INTERESTING.len())],
            2 => v.insert(pos, INTERESTING[rng.below(INTERESTING.len())]),
            3 if pos < v.len() => {
                v.remove(pos);
            }
            4 if pos < v.len() => v[pos] = rng.next() as u8,
            5 => {
                let other = SEEDS[rng.below(SEEDS.len())].as_bytes();
                let cut = rng.below(other.len() + 1);
                v.splice(pos..pos, other[..cut].iter().copied());
            }
            6 => {
                let open = if rng.below(2) == 0 { b'[' } else { b'{' };
                for _ in 0..rng.below(40) {
                    v.insert(pos.min(v.len()), open);
                }
            }
            _ => {}
        }
    }
    v
}

fn fuzz_server() -> Server {
    let mut s = Server::new(ServerInfo {
        name: "f",
        title: "F",
        version: "0",
        instructions: None,
    });
    s.add_tool(Tool {
        name: "echo",
        title: "Echo",
        description: "echo",
        input_schema: json!({"type":"object"}),
        output_schema: None,
        handler: Box::new(|args, _| ToolResult::Structured(Value::Object(args.clone()))),
    });
    s.add_tool(Tool {
        name: "fail",
        title: "Fail",
        description: "fail",
        input_schema: json!({"type":"object"}),
        output_schema: None,
        handler: Box::new(|_, _| ToolResult::Error("failed".into())),
    });
    s
}

fn check_reply(input: &[u8], reply: &str) {
    assert!(!reply.contains('\n'), "newline in reply to {input:?}");
    let v: Value = serde_json::from_str(reply).unwrap_or_else(|e| panic!("{e}: {reply}"));
    let obj = v.as_object().expect("reply is an object");
    assert_eq!(obj.get("jsonrpc"), Some(&json!("2.0")), "{reply}");
    assert!(obj.contains_key("id"), "{reply}");
    assert!(
        obj.contains_key("result") ^ obj.contains_key("error"),
        "{reply}"
    );
    if let Some(err) = obj.get("error") {
        assert!(
            err["code"].is_i64() && err["message"].is_string(),
            "{reply}"
        );
    }
}

#[test]
fn mutated_lines_never_panic_and_replies_are_well_formed() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut server = fuzz_server();
    let mut replies = 0usize;
    for i in 0..20_000 {
        let seed = SEEDS[i % SEEDS.len()].as_bytes();
        let input = mutate(&mut rng, seed);
        if let Some(reply) = server.handle_line(&input) {
            check_reply(&input, &reply);
            replies += 1;
        }
    }
    // Sanity: the loop really exercised the reply path.
    assert!(replies > 10_000, "{replies}");
}

#[test]
fn every_prefix_of_every_seed_is_handled() {
    let mut server = fuzz_server();
    for seed in SEEDS {
        let bytes = seed.as_bytes();
        for end in 0..=bytes.len() {
            if let Some(reply) = server.handle_line(&bytes[..end]) {
                check_reply(&bytes[..end], &reply);
            }
        }
    }
}

#[test]
fn random_byte_stream_through_the_framer() {
    let mut rng = Rng(42);
    let mut server = fuzz_server();
    let mut framer = LineFramer::new();
    let mut stream = Vec::new();
    for i in 0..3_000 {
        stream.extend(mutate(&mut rng, SEEDS[i % SEEDS.len()].as_bytes()));
        if rng.below(3) != 0 {
            stream.push(b'\n');
        }
    }
    framer.push_slice(&stream, &mut |frame| match frame {
        Frame::Line(line) => {
            assert!(!line.contains(&b'\n'));
            if let Some(reply) = server.handle_line(&line) {
                check_reply(&line, &reply);
            }
        }
        Frame::TooLong { len } => check_reply(b"", &Server::too_long_response(len)),
    });
}
