//! Deterministic fuzzing of the whole pipeline: mutated, truncated and
//! spliced messages must never panic, and every reply must be a well-formed
//! JSON-RPC response line.

use crate::{
    Contents, Frame, LineFramer, LogLevel, Prompt, PromptArgument, PromptResult, Resource,
    ResourceTemplate, Server, ServerInfo, Tool, ToolResult, Transport,
};
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
    r#"{"jsonrpc":"2.0","id":8,"method":"server/discover","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#,
    r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"slow","arguments":{"n":3},"_meta":{"progressToken":"t","io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/logLevel":"debug"}}}"#,
    r#"{"jsonrpc":"2.0","id":10,"method":"resources/read","params":{"uri":"kingly://gpio/17"}}"#,
    r#"{"jsonrpc":"2.0","id":11,"method":"resources/subscribe","params":{"uri":"kingly://metrics"}}"#,
    r#"{"jsonrpc":"2.0","id":12,"method":"resources/templates/list","params":{"cursor":"rt:16"}}"#,
    r#"{"jsonrpc":"2.0","id":13,"method":"prompts/get","params":{"name":"greet","arguments":{"name":"x"}}}"#,
    r#"{"jsonrpc":"2.0","id":14,"method":"completion/complete","params":{"ref":{"type":"ref/resource","uri":"kingly://gpio/{pin}"},"argument":{"name":"pin","value":"1"}}}"#,
    r#"{"jsonrpc":"2.0","id":15,"method":"subscriptions/listen","params":{"notifications":{"resourceSubscriptions":["kingly://metrics"]},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#,
    r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":9}}"#,
    r#"{"jsonrpc":"2.0","id":16,"method":"resources/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-29","io.modelcontextprotocol/clientCapabilities":{}}}}"#,
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
        handler: Box::new(|args, _| ToolResult::Structured(args.clone().into())),
    });
    s.add_tool(Tool {
        name: "fail",
        title: "Fail",
        description: "fail",
        input_schema: json!({"type":"object"}),
        output_schema: None,
        handler: Box::new(|_, _| ToolResult::Error("failed".into())),
    });
    s.add_tool(Tool {
        name: "slow",
        title: "Slow",
        description: "reports progress, logs and polls for cancellation",
        input_schema: json!({"type":"object"}),
        output_schema: None,
        handler: Box::new(|_, ctx| {
            for i in 0..4 {
                ctx.progress(f64::from(i), None, Some("step"));
                ctx.log(LogLevel::Info, "slow", json!(i));
                if ctx.cancelled() {
                    break;
                }
            }
            ToolResult::Text("done".into())
        }),
    });
    s.add_resource(Resource {
        uri: "kingly://metrics".into(),
        name: "metrics".into(),
        title: "Metrics",
        description: "m",
        mime_type: "application/json",
        subscribable: true,
        read: Box::new(|| Ok(Contents::Text("{}".into()))),
    });
    s.add_resource_template(ResourceTemplate {
        uri_template: "kingly://gpio/{pin}",
        name: "gpio",
        title: "GPIO",
        description: "g",
        mime_type: "text/plain",
        read: Box::new(|uri, _| Ok(Some(Contents::Blob(uri.as_bytes().to_vec())))),
        complete: Some(Box::new(|_, prefix| alloc::vec![prefix.into()])),
        subscribable: false,
    });
    s.add_prompt(Prompt {
        name: "greet",
        title: "Greet",
        description: "g",
        arguments: alloc::vec![PromptArgument {
            name: "name",
            description: "n",
            required: true
        }],
        get: Box::new(|_| {
            Ok(PromptResult {
                description: None,
                messages: alloc::vec![],
            })
        }),
        complete: None,
    });
    s
}

/// Feeds mutated frames to a running tool as it polls, and records what
/// is sent; every sent line must be well-formed.
struct FuzzTransport {
    rng: Rng,
    budget: usize,
    sent: usize,
}

impl Transport for FuzzTransport {
    fn poll_frame(&mut self) -> Option<Frame> {
        if self.budget == 0 || self.rng.below(3) == 0 {
            return None;
        }
        self.budget -= 1;
        let seed = SEEDS[self.rng.below(SEEDS.len())].as_bytes();
        Some(match self.rng.below(20) {
            0 => Frame::TooLong { len: 70_000 },
            _ => Frame::Line(mutate(&mut self.rng, seed)),
        })
    }

    fn send_line(&mut self, line: &str) {
        self.sent += 1;
        check_line(line);
    }
}

/// A reply or a notification: one well-formed JSON-RPC line.
fn check_line(line: &str) {
    let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    if v.get("method").is_some() {
        assert!(!line.contains('\n'), "{line}");
        assert_eq!(v["jsonrpc"], "2.0", "{line}");
        assert!(v.get("id").is_none(), "{line}");
    } else {
        check_reply(b"", line);
    }
}

#[test]
fn mutated_frames_through_handle_frame_with_mid_call_traffic() {
    let mut rng = Rng(0xC0FF_EE00_1234_5678);
    let mut server = fuzz_server();
    let mut transport = FuzzTransport {
        rng: Rng(7),
        budget: 0,
        sent: 0,
    };
    for i in 0..6_000 {
        let seed = SEEDS[i % SEEDS.len()].as_bytes();
        let input = if rng.below(4) == 0 {
            seed.to_vec()
        } else {
            mutate(&mut rng, seed)
        };
        transport.budget = rng.below(6);
        server.handle_frame(Frame::Line(input), &mut transport);
        while server.serve_queued(&mut transport) {}
        if rng.below(50) == 0 {
            server.resource_updated("kingly://metrics", &mut transport);
            server.log(LogLevel::Warning, "kernel", json!({"i": i}), &mut transport);
        }
        assert!(server.pending() <= crate::limits::MAX_PENDING_REQUESTS);
        assert!(server.listen_streams() <= crate::limits::MAX_LISTEN_STREAMS);
    }
    server.end_subscriptions(&mut transport);
    assert!(transport.sent > 3_000, "{}", transport.sent);
    let m = server.metrics();
    assert!(
        m.requests > 1_000 && m.notifications_received > 100,
        "{m:?}"
    );
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
