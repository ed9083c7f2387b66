//! Resources, prompts, completion, pagination, the 2026-07-28 era,
//! subscriptions, progress, cancellation and the pending queue, driven
//! through a scripted transport.

use super::*;
use crate::context::Context;
use crate::jsonrpc::code;
use crate::limits::{MAX_LISTEN_STREAMS, MAX_PENDING_REQUESTS, PAGE_SIZE};
use crate::prompts::{PromptArgument, PromptMessage, PromptResult, Role};
use crate::registry::ToolResult;
use crate::resources::Contents;
use alloc::boxed::Box;
use alloc::string::ToString;
use alloc::vec;
use serde_json::json;

/// Frames to hand out when polled, and every line sent.
#[derive(Default)]
pub(super) struct Script {
    pub(super) incoming: VecDeque<Frame>,
    pub(super) sent: Vec<Value>,
}

impl Transport for Script {
    fn poll_frame(&mut self) -> Option<Frame> {
        self.incoming.pop_front()
    }
    fn send_line(&mut self, line: &str) {
        assert!(!line.contains('\n'), "{line}");
        self.sent
            .push(serde_json::from_str(line).expect("sent lines are JSON"));
    }
}

impl Script {
    fn feed(&mut self, line: &str) {
        self.incoming
            .push_back(Frame::Line(line.as_bytes().to_vec()));
    }
    pub(super) fn take(&mut self) -> Vec<Value> {
        core::mem::take(&mut self.sent)
    }
}

const MODERN_META: &str = r#"{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#;

pub(super) fn modern_meta() -> Value {
    serde_json::from_str(MODERN_META).unwrap()
}

pub(super) fn req(id: Value, method: &str, params: Value) -> String {
    serde_json::to_string(&json!({"jsonrpc":"2.0","id":id,"method":method,"params":params}))
        .unwrap()
}

/// A 2026-era request: `params` plus the envelope in `_meta`.
pub(super) fn modern(id: Value, method: &str, mut params: Value) -> String {
    params["_meta"] = modern_meta();
    req(id, method, params)
}

const INIT: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;

fn line(s: &mut Server, l: &str) -> Value {
    let out = s
        .handle_line(l.as_bytes())
        .unwrap_or_else(|| panic!("no reply to {l}"));
    serde_json::from_str(&out).unwrap()
}

pub(super) fn ok(s: &mut Server, l: &str) -> Value {
    let v = line(s, l);
    assert!(v.get("error").is_none(), "{l} -> {v}");
    v["result"].clone()
}

fn err(s: &mut Server, l: &str) -> Value {
    let v = line(s, l);
    assert!(v.get("result").is_none(), "{l} -> {v}");
    v["error"].clone()
}

pub(super) fn server() -> Server {
    let mut s = Server::new(ServerInfo {
        name: "kingly-os",
        title: "Kingly OS",
        version: "0.1.0",
        instructions: Some("Drive the Pi."),
    });
    s.add_tool(Tool {
        name: "echo",
        title: "Echo",
        description: "Echo.",
        input_schema: json!({"type":"object"}),
        output_schema: None,
        handler: Box::new(|args, _| ToolResult::Structured(args.clone().into())),
    });
    s.add_tool(Tool {
        name: "gpio",
        title: "GPIO",
        description: "Sets a pin.",
        input_schema: json!({"type":"object","properties":{"pin":{"type":"integer","minimum":0,"maximum":53}},"required":["pin"]}),
        output_schema: None,
        handler: Box::new(|args, _| ToolResult::Text(alloc::format!("pin {}", args["pin"]))),
    });
    // Reports progress 1, 2, 2 (dropped), 1.5 (dropped), 3; logs at every
    // level; polls for cancellation `polls` times.
    s.add_tool(Tool {
        name: "slow",
        title: "Slow",
        description: "Takes a while.",
        input_schema: json!({"type":"object"}),
        output_schema: None,
        handler: Box::new(|args, ctx: &mut dyn Context| {
            for p in [1.0, 2.0, 2.0, 1.5, f64::NAN, 3.0] {
                ctx.progress(p, Some(3.0), Some("step"));
            }
            for level in LogLevel::ALL {
                ctx.log(level, "slow", json!(level.as_str()));
            }
            let polls = args.get("polls").and_then(Value::as_u64).unwrap_or(1);
            for _ in 0..polls {
                if ctx.cancelled() {
                    return ToolResult::Text("stopped".into());
                }
            }
            ToolResult::Text("done".into())
        }),
    });
    s.add_resource(Resource {
        uri: "kingly://metrics".into(),
        name: "metrics".into(),
        title: "Metrics",
        description: "Counters.",
        mime_type: "application/json",
        subscribable: true,
        read: Box::new(|| Ok(Contents::Text("{\"requests\":1}".into()))),
    });
    s.add_resource(Resource {
        uri: "kingly://blob".into(),
        name: "blob".into(),
        title: "Blob",
        description: "Bytes.",
        mime_type: "application/octet-stream",
        subscribable: false,
        read: Box::new(|| Ok(Contents::Blob(vec![0xff, 0, 1]))),
    });
    s.add_resource(Resource {
        uri: "kingly://broken".into(),
        name: "broken".into(),
        title: "Broken",
        description: "Fails.",
        mime_type: "text/plain",
        subscribable: false,
        read: Box::new(|| Err("sensor offline".into())),
    });
    s.add_resource_template(ResourceTemplate {
        uri_template: "kingly://gpio/{pin}",
        name: "gpio-pin",
        title: "GPIO pin",
        description: "One pin's level.",
        mime_type: "text/plain",
        read: Box::new(|_, vars| {
            let pin: u32 = vars["pin"]
                .as_str()
                .unwrap()
                .parse()
                .map_err(|_| "not a number".to_string())?;
            Ok((pin < 54).then(|| Contents::Text(alloc::format!("pin {pin}: low"))))
        }),
        complete: Some(Box::new(|var, prefix| {
            assert_eq!(var, "pin");
            (0..54)
                .map(|n| n.to_string())
                .filter(|n| n.starts_with(prefix))
                .collect()
        })),
        subscribable: true,
    });
    s.add_prompt(Prompt {
        name: "greet",
        title: "Greet",
        description: "Greets someone.",
        arguments: vec![
            PromptArgument {
                name: "name",
                description: "Who",
                required: true,
            },
            PromptArgument {
                name: "style",
                description: "How",
                required: false,
            },
        ],
        get: Box::new(|args| {
            Ok(PromptResult {
                description: Some("A greeting".into()),
                messages: vec![PromptMessage {
                    role: Role::User,
                    text: alloc::format!("Say hello to {}", args["name"].as_str().unwrap()),
                }],
            })
        }),
        complete: Some(Box::new(|_, prefix| {
            (0..150).map(|n| alloc::format!("{prefix}{n}")).collect()
        })),
    });
    s
}

pub(super) fn ready() -> Server {
    let mut s = server();
    ok(&mut s, INIT);
    s
}

// ---------------------------------------------------------------- resources

#[test]
fn resources_list_read_and_templates() {
    let mut s = ready();
    let r = ok(&mut s, &req(json!(1), "resources/list", json!({})));
    assert_eq!(r["resources"].as_array().unwrap().len(), 3);
    assert_eq!(
        r["resources"][0],
        json!({"uri":"kingly://metrics","name":"metrics","title":"Metrics","description":"Counters.","mimeType":"application/json"})
    );
    assert!(r.get("nextCursor").is_none() && r.get("resultType").is_none());
    let r = ok(
        &mut s,
        &req(
            json!(2),
            "resources/read",
            json!({"uri":"kingly://metrics"}),
        ),
    );
    assert_eq!(
        r,
        json!({"contents":[{"uri":"kingly://metrics","mimeType":"application/json","text":"{\"requests\":1}"}]})
    );
    let r = ok(
        &mut s,
        &req(json!(3), "resources/read", json!({"uri":"kingly://blob"})),
    );
    assert_eq!(r["contents"][0]["blob"], "/wAB");
    let r = ok(
        &mut s,
        &req(
            json!(4),
            "resources/read",
            json!({"uri":"kingly://gpio/17"}),
        ),
    );
    assert_eq!(
        r["contents"][0],
        json!({"uri":"kingly://gpio/17","mimeType":"text/plain","text":"pin 17: low"})
    );
    let r = ok(
        &mut s,
        &req(json!(5), "resources/templates/list", json!({})),
    );
    assert_eq!(
        r,
        json!({"resourceTemplates":[{"uriTemplate":"kingly://gpio/{pin}","name":"gpio-pin","title":"GPIO pin","description":"One pin's level.","mimeType":"text/plain"}]})
    );
}

#[test]
fn resources_read_errors() {
    let mut s = ready();
    for uri in [
        "kingly://nope",
        "kingly://gpio/99",
        "kingly://gpio/",
        "kingly://gpio/1/2",
        "",
    ] {
        let e = err(
            &mut s,
            &req(json!(1), "resources/read", json!({"uri": uri})),
        );
        assert_eq!(e["code"], code::RESOURCE_NOT_FOUND, "{uri}");
        assert_eq!(e["message"], "Resource not found");
        assert_eq!(e["data"], json!({"uri": uri}));
    }
    let e = err(
        &mut s,
        &req(json!(1), "resources/read", json!({"uri":"kingly://broken"})),
    );
    assert_eq!(e["code"], code::INTERNAL_ERROR);
    assert!(e["message"].as_str().unwrap().contains("sensor offline"));
    let e = err(
        &mut s,
        &req(json!(1), "resources/read", json!({"uri":"kingly://gpio/x"})),
    );
    assert_eq!(e["code"], code::INTERNAL_ERROR);
    for params in [
        json!({}),
        json!({"uri":5}),
        json!({"uri":null}),
        json!({"uri":["a"]}),
        json!([]),
        json!("u"),
    ] {
        assert_eq!(
            err(&mut s, &req(json!(1), "resources/read", params.clone()))["code"],
            code::INVALID_PARAMS,
            "{params}"
        );
    }
}

#[test]
fn template_uris_can_be_subscribed() {
    let mut s = ready();
    s.add_resource_template(ResourceTemplate {
        uri_template: "kingly://fixed/{name}",
        name: "fixed",
        title: "Fixed",
        description: "Never changes.",
        mime_type: "text/plain",
        read: Box::new(|_, _| Ok(None)),
        complete: None,
        subscribable: false,
    });
    let mut t = Script::default();
    // A pin that does not read yet may still be watched.
    for (id, uri) in [(1, "kingly://gpio/7"), (2, "kingly://gpio/99")] {
        assert_eq!(
            ok(
                &mut s,
                &req(json!(id), "resources/subscribe", json!({ "uri": uri }))
            ),
            json!({})
        );
    }
    assert_eq!(
        err(
            &mut s,
            &req(
                json!(3),
                "resources/subscribe",
                json!({"uri":"kingly://fixed/x"})
            )
        )["code"],
        code::INVALID_PARAMS
    );
    assert_eq!(
        err(
            &mut s,
            &req(
                json!(4),
                "resources/subscribe",
                json!({"uri":"kingly://gpio/"})
            )
        )["code"],
        code::RESOURCE_NOT_FOUND
    );
    assert_eq!(s.subscribed_uris(), ["kingly://gpio/7", "kingly://gpio/99"]);
    s.resource_updated("kingly://gpio/7", &mut t);
    s.resource_updated("kingly://gpio/8", &mut t);
    assert_eq!(
        t.take(),
        [
            json!({"jsonrpc":"2.0","method":"notifications/resources/updated","params":{"uri":"kingly://gpio/7"}})
        ]
    );
    ok(
        &mut s,
        &req(
            json!(5),
            "resources/unsubscribe",
            json!({"uri":"kingly://gpio/7"}),
        ),
    );
    assert_eq!(s.subscribed_uris(), ["kingly://gpio/99"]);
}

#[test]
fn legacy_subscriptions() {
    let mut s = ready();
    let mut t = Script::default();
    assert_eq!(
        ok(
            &mut s,
            &req(
                json!(1),
                "resources/subscribe",
                json!({"uri":"kingly://metrics"})
            )
        ),
        json!({})
    );
    // Subscribing twice is harmless.
    ok(
        &mut s,
        &req(
            json!(2),
            "resources/subscribe",
            json!({"uri":"kingly://metrics"}),
        ),
    );
    assert_eq!(
        err(
            &mut s,
            &req(
                json!(3),
                "resources/subscribe",
                json!({"uri":"kingly://nope"})
            )
        )["code"],
        code::RESOURCE_NOT_FOUND
    );
    assert_eq!(
        err(
            &mut s,
            &req(
                json!(4),
                "resources/subscribe",
                json!({"uri":"kingly://blob"})
            )
        )["code"],
        code::INVALID_PARAMS
    );
    assert_eq!(
        err(
            &mut s,
            &req(json!(5), "resources/subscribe", json!({"uri":1}))
        )["code"],
        code::INVALID_PARAMS
    );
    s.resource_updated("kingly://metrics", &mut t);
    s.resource_updated("kingly://blob", &mut t);
    assert_eq!(
        t.take(),
        [
            json!({"jsonrpc":"2.0","method":"notifications/resources/updated","params":{"uri":"kingly://metrics"}})
        ]
    );
    ok(
        &mut s,
        &req(
            json!(6),
            "resources/unsubscribe",
            json!({"uri":"kingly://metrics"}),
        ),
    );
    ok(
        &mut s,
        &req(
            json!(7),
            "resources/unsubscribe",
            json!({"uri":"kingly://other"}),
        ),
    );
    s.resource_updated("kingly://metrics", &mut t);
    assert!(t.take().is_empty());
    // Not in the 2026 era.
    assert_eq!(
        err(
            &mut s,
            &modern(
                json!(8),
                "resources/subscribe",
                json!({"uri":"kingly://metrics"})
            )
        )["code"],
        code::METHOD_NOT_FOUND
    );
}

// ------------------------------------------------------------------ prompts

#[test]
fn prompts_list_get_and_errors() {
    let mut s = ready();
    let r = ok(&mut s, &req(json!(1), "prompts/list", json!({})));
    assert_eq!(
        r,
        json!({"prompts":[{"name":"greet","title":"Greet","description":"Greets someone.","arguments":[
            {"name":"name","description":"Who","required":true},
            {"name":"style","description":"How","required":false}]}]})
    );
    let r = ok(
        &mut s,
        &req(
            json!(2),
            "prompts/get",
            json!({"name":"greet","arguments":{"name":"Ada"}}),
        ),
    );
    assert_eq!(
        r,
        json!({"description":"A greeting","messages":[{"role":"user","content":{"type":"text","text":"Say hello to Ada"}}]})
    );
    for params in [
        json!({"name":"greet"}),
        json!({"name":"greet","arguments":{"style":"warm"}}),
        json!({"name":"greet","arguments":{"name":5}}),
        json!({"name":"greet","arguments":[]}),
        json!({"name":"nope","arguments":{"name":"x"}}),
        json!({"name":7}),
        json!({}),
    ] {
        assert_eq!(
            err(&mut s, &req(json!(3), "prompts/get", params.clone()))["code"],
            code::INVALID_PARAMS,
            "{params}"
        );
    }
}

#[test]
fn completion_of_prompt_arguments_and_template_variables() {
    let mut s = ready();
    let r = ok(
        &mut s,
        &req(
            json!(1),
            "completion/complete",
            json!({"ref":{"type":"ref/resource","uri":"kingly://gpio/{pin}"},"argument":{"name":"pin","value":"4"}}),
        ),
    );
    assert_eq!(
        r,
        json!({"completion":{"values":["4","40","41","42","43","44","45","46","47","48","49"],"total":11,"hasMore":false}})
    );
    let r = ok(
        &mut s,
        &req(
            json!(2),
            "completion/complete",
            json!({"ref":{"type":"ref/prompt","name":"greet"},"argument":{"name":"name","value":"A"},"context":{"arguments":{}}}),
        ),
    );
    assert_eq!(r["completion"]["values"].as_array().unwrap().len(), 100);
    assert_eq!(r["completion"]["values"][0], "A0");
    assert_eq!(r["completion"]["total"], 150);
    assert_eq!(r["completion"]["hasMore"], true);
    for params in [
        json!({"ref":{"type":"ref/prompt","name":"nope"},"argument":{"name":"name","value":""}}),
        json!({"ref":{"type":"ref/prompt","name":"greet"},"argument":{"name":"nope","value":""}}),
        json!({"ref":{"type":"ref/resource","uri":"kingly://x/{y}"},"argument":{"name":"y","value":""}}),
        json!({"ref":{"type":"ref/resource","uri":"kingly://gpio/{pin}"},"argument":{"name":"x","value":""}}),
        json!({"ref":{"type":"ref/other"},"argument":{"name":"x","value":""}}),
        json!({"ref":{"type":"ref/prompt"},"argument":{"name":"x","value":""}}),
        json!({"ref":{"type":"ref/prompt","name":"greet"},"argument":{"name":"name"}}),
        json!({"ref":{"type":"ref/prompt","name":"greet"},"argument":{"name":"name","value":3}}),
        json!({"ref":"greet","argument":{"name":"name","value":""}}),
        json!({"ref":{"type":"ref/prompt","name":"greet"}}),
        json!({"argument":{"name":"name","value":""}}),
    ] {
        assert_eq!(
            err(
                &mut s,
                &req(json!(3), "completion/complete", params.clone())
            )["code"],
            code::INVALID_PARAMS,
            "{params}"
        );
    }
}

// --------------------------------------------------------------- pagination

#[test]
fn every_list_paginates() {
    let mut s = Server::new(ServerInfo {
        name: "p",
        title: "P",
        version: "0",
        instructions: None,
    });
    let n = 2 * PAGE_SIZE + 5;
    for i in 0..n {
        let name: &'static str = Box::leak(alloc::format!("t{i:03}").into_boxed_str());
        s.add_tool(Tool {
            name,
            title: "T",
            description: "d",
            input_schema: json!({"type":"object"}),
            output_schema: None,
            handler: Box::new(|_, _| ToolResult::Text(String::new())),
        });
        s.add_resource(Resource {
            uri: alloc::format!("kingly://r/{i}"),
            name: name.into(),
            title: "R",
            description: "d",
            mime_type: "text/plain",
            subscribable: false,
            read: Box::new(|| Ok(Contents::Text(String::new()))),
        });
        s.add_resource_template(ResourceTemplate {
            uri_template: Box::leak(alloc::format!("kingly://t{i}/{{x}}").into_boxed_str()),
            name,
            title: "T",
            description: "d",
            mime_type: "text/plain",
            read: Box::new(|_, _| Ok(None)),
            complete: None,
            subscribable: false,
        });
        s.add_prompt(Prompt {
            name,
            title: "P",
            description: "d",
            arguments: vec![],
            get: Box::new(|_| {
                Ok(PromptResult {
                    description: None,
                    messages: vec![],
                })
            }),
            complete: None,
        });
    }
    ok(&mut s, INIT);
    for (method, key) in [
        ("tools/list", "tools"),
        ("resources/list", "resources"),
        ("resources/templates/list", "resourceTemplates"),
        ("prompts/list", "prompts"),
    ] {
        for era_modern in [false, true] {
            let mut seen = 0;
            let mut cursor: Option<String> = None;
            let mut pages = 0;
            loop {
                let params = match &cursor {
                    Some(c) => json!({"cursor": c}),
                    None => json!({}),
                };
                let l = if era_modern {
                    modern(json!(1), method, params)
                } else {
                    req(json!(1), method, params)
                };
                let r = ok(&mut s, &l);
                let items = r[key].as_array().unwrap();
                assert!(items.len() <= PAGE_SIZE);
                seen += items.len();
                pages += 1;
                if era_modern {
                    assert_eq!(r["resultType"], "complete");
                    assert_eq!(r["ttlMs"], crate::protocol::LIST_TTL_MS);
                    assert_eq!(r["cacheScope"], "public");
                }
                match r.get("nextCursor") {
                    Some(c) => cursor = Some(c.as_str().unwrap().into()),
                    None => break,
                }
            }
            assert_eq!((seen, pages), (n, 3), "{method}");
        }
        let first = ok(&mut s, &req(json!(1), method, json!({})));
        let c = first["nextCursor"].as_str().unwrap();
        let other = if method == "tools/list" {
            "prompts/list"
        } else {
            "tools/list"
        };
        assert_eq!(
            err(&mut s, &req(json!(2), other, json!({"cursor": c})))["code"],
            code::INVALID_PARAMS
        );
        for bad in [json!("zzz"), json!(""), json!(3), json!(null), json!({})] {
            assert_eq!(
                err(&mut s, &req(json!(2), method, json!({"cursor": bad})))["code"],
                code::INVALID_PARAMS
            );
        }
    }
}

// ------------------------------------------------------------ 2026-07-28 era

#[test]
fn discover_shape() {
    let mut s = server();
    let r = ok(
        &mut s,
        &req(
            json!("d"),
            "server/discover",
            json!({"_meta": modern_meta()}),
        ),
    );
    assert_eq!(
        r,
        json!({
            "supportedVersions": ["2026-07-28"],
            "capabilities": {
                "tools": {"listChanged": false},
                "resources": {"subscribe": true, "listChanged": false},
                "prompts": {"listChanged": false},
                "logging": {},
                "completions": {}
            },
            "_meta": {"io.modelcontextprotocol/serverInfo": {"name":"kingly-os","title":"Kingly OS","version":"0.1.0"}},
            "instructions": "Drive the Pi.",
            "resultType": "complete",
            "ttlMs": crate::protocol::LIST_TTL_MS,
            "cacheScope": "public"
        })
    );
    // Stateless: no session was created.
    assert_eq!(s.protocol_version(), None);
}

#[test]
fn modern_requests_need_no_initialize_and_say_result_type() {
    let mut s = server();
    assert_eq!(
        ok(&mut s, &modern(json!(1), "ping", json!({}))),
        json!({"resultType":"complete"})
    );
    let r = ok(
        &mut s,
        &modern(
            json!(2),
            "tools/call",
            json!({"name":"echo","arguments":{"a":1}}),
        ),
    );
    assert_eq!(r["resultType"], "complete");
    assert_eq!(r["structuredContent"], json!({"a":1}));
    let r = ok(
        &mut s,
        &modern(
            json!(3),
            "resources/read",
            json!({"uri":"kingly://metrics"}),
        ),
    );
    assert_eq!(
        (
            r["resultType"].clone(),
            r["ttlMs"].clone(),
            r["cacheScope"].clone()
        ),
        (json!("complete"), json!(0), json!("private"))
    );
    let r = ok(
        &mut s,
        &modern(
            json!(4),
            "prompts/get",
            json!({"name":"greet","arguments":{"name":"x"}}),
        ),
    );
    assert_eq!(r["resultType"], "complete");
    assert!(r.get("ttlMs").is_none());
    let r = ok(
        &mut s,
        &modern(
            json!(5),
            "completion/complete",
            json!({"ref":{"type":"ref/prompt","name":"greet"},"argument":{"name":"name","value":""}}),
        ),
    );
    assert_eq!(r["resultType"], "complete");
    // ...while a legacy request on the same line still needs initialize.
    assert_eq!(
        err(&mut s, &req(json!(6), "tools/list", json!({})))["code"],
        code::INVALID_REQUEST
    );
}

#[test]
fn modern_envelope_ladder() {
    let mut s = server();
    let with_meta = |meta: Value| req(json!(1), "tools/list", json!({"_meta": meta}));
    // Missing pieces: -32602 naming them.
    for (meta, missing) in [
        (
            json!({"io.modelcontextprotocol/protocolVersion":"2026-07-28"}),
            "clientCapabilities",
        ),
        (
            json!({"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":null}),
            "",
        ),
        (
            json!({"io.modelcontextprotocol/protocolVersion":5,"io.modelcontextprotocol/clientCapabilities":{}}),
            "string",
        ),
        (
            json!({"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/logLevel":"loud"}),
            "logLevel",
        ),
        (
            json!({"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"progressToken":1.5}),
            "progressToken",
        ),
    ] {
        let e = err(&mut s, &with_meta(meta.clone()));
        assert_eq!(e["code"], code::INVALID_PARAMS, "{meta}");
        assert!(e["message"].as_str().unwrap().contains(missing), "{e}");
    }
    // discover / listen without any envelope are 2026-only: -32602 too.
    for m in ["server/discover", "subscriptions/listen"] {
        let e = err(&mut s, &req(json!(1), m, json!({})));
        assert_eq!(e["code"], code::INVALID_PARAMS);
        assert!(e["message"]
            .as_str()
            .unwrap()
            .contains("io.modelcontextprotocol/protocolVersion"));
        assert_eq!(
            err(
                &mut s,
                &format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{m}"}}"#)
            )["code"],
            code::INVALID_PARAMS
        );
    }
    // Unknown versions: -32022 with {supported, requested}.
    for v in ["2025-11-25", "2099-01-01", ""] {
        let e = err(
            &mut s,
            &with_meta(
                json!({"io.modelcontextprotocol/protocolVersion": v, "io.modelcontextprotocol/clientCapabilities": {}}),
            ),
        );
        assert_eq!(e["code"], code::UNSUPPORTED_PROTOCOL_VERSION);
        assert_eq!(
            e["data"],
            json!({"supported":["2026-07-28"],"requested": v})
        );
    }
    // `_meta` must be an object.
    assert_eq!(
        err(&mut s, &with_meta(json!(3)))["code"],
        code::INVALID_PARAMS
    );
    // Unknown methods stay -32601 whatever the envelope says.
    assert_eq!(
        err(&mut s, &modern(json!(1), "nope/nope", json!({})))["code"],
        code::METHOD_NOT_FOUND
    );
    assert_eq!(
        err(
            &mut s,
            &modern(json!(1), "logging/setLevel", json!({"level":"info"}))
        )["code"],
        code::METHOD_NOT_FOUND
    );
    // initialize is always the handshake, even when stamped.
    let r = ok(
        &mut s,
        &req(
            json!(1),
            "initialize",
            json!({"protocolVersion":"2025-06-18","_meta": modern_meta()}),
        ),
    );
    assert_eq!(r["protocolVersion"], "2025-06-18");
}

#[test]
fn listen_streams_ack_then_deliver_then_end() {
    let mut s = server();
    let mut t = Script::default();
    let listen = modern(
        json!("sub-1"),
        "subscriptions/listen",
        json!({"notifications":{
            "resourceSubscriptions":["kingly://metrics","kingly://blob","kingly://nope"],
            "toolsListChanged": true
        }}),
    );
    s.handle_frame(Frame::Line(listen.clone().into_bytes()), &mut t);
    assert_eq!(
        t.take(),
        [
            json!({"jsonrpc":"2.0","method":"notifications/subscriptions/acknowledged","params":{
            "notifications":{"resourceSubscriptions":["kingly://metrics"]},
            "_meta":{"io.modelcontextprotocol/subscriptionId":"sub-1"}}})
        ]
    );
    assert_eq!(s.listen_streams(), 1);
    s.resource_updated("kingly://metrics", &mut t);
    s.resource_updated("kingly://blob", &mut t);
    assert_eq!(
        t.take(),
        [
            json!({"jsonrpc":"2.0","method":"notifications/resources/updated","params":{
            "uri":"kingly://metrics","_meta":{"io.modelcontextprotocol/subscriptionId":"sub-1"}}})
        ]
    );
    // Its id is in flight: reusing it is refused.
    s.handle_frame(Frame::Line(listen.into_bytes()), &mut t);
    let sent = t.take();
    assert_eq!(sent[0]["error"]["code"], code::INVALID_REQUEST);
    assert_eq!(sent[0]["id"], "sub-1");
    // A second stream, then a graceful end answers both.
    s.handle_frame(
        Frame::Line(
            modern(
                json!(9),
                "subscriptions/listen",
                json!({"notifications":{}}),
            )
            .into_bytes(),
        ),
        &mut t,
    );
    assert_eq!(t.take()[0]["params"]["notifications"], json!({}));
    s.end_subscriptions(&mut t);
    assert_eq!(
        t.take(),
        [
            json!({"jsonrpc":"2.0","id":"sub-1","result":{"resultType":"complete","_meta":{"io.modelcontextprotocol/subscriptionId":"sub-1"}}}),
            json!({"jsonrpc":"2.0","id":9,"result":{"resultType":"complete","_meta":{"io.modelcontextprotocol/subscriptionId":9}}}),
        ]
    );
    assert_eq!(s.listen_streams(), 0);
}

#[test]
fn listen_cancel_limit_and_filter_errors() {
    let mut s = server();
    let mut t = Script::default();
    for i in 0..MAX_LISTEN_STREAMS {
        s.handle_frame(
            Frame::Line(
                modern(
                    json!(i),
                    "subscriptions/listen",
                    json!({"notifications":{"resourceSubscriptions":["kingly://metrics"]}}),
                )
                .into_bytes(),
            ),
            &mut t,
        );
    }
    assert_eq!(s.listen_streams(), MAX_LISTEN_STREAMS);
    s.handle_frame(
        Frame::Line(
            modern(
                json!(99),
                "subscriptions/listen",
                json!({"notifications":{}}),
            )
            .into_bytes(),
        ),
        &mut t,
    );
    assert_eq!(
        t.sent.last().unwrap()["error"]["code"],
        code::INTERNAL_ERROR
    );
    t.take();
    // Cancelling a stream ends it without a response.
    s.handle_frame(
        Frame::Line(
            br#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":0}}"#
                .to_vec(),
        ),
        &mut t,
    );
    assert_eq!(s.listen_streams(), MAX_LISTEN_STREAMS - 1);
    assert!(t.take().is_empty());
    s.resource_updated("kingly://metrics", &mut t);
    assert_eq!(t.take().len(), MAX_LISTEN_STREAMS - 1);
    for params in [
        json!({}),
        json!({"notifications":5}),
        json!({"notifications":{"resourceSubscriptions":"x"}}),
        json!({"notifications":{"toolsListChanged":"yes"}}),
    ] {
        s.handle_frame(
            Frame::Line(modern(json!("e"), "subscriptions/listen", params.clone()).into_bytes()),
            &mut t,
        );
        assert_eq!(
            t.take()[0]["error"]["code"],
            code::INVALID_PARAMS,
            "{params}"
        );
    }
}

// ------------------------------------------------------- progress and logging

#[test]
fn progress_is_monotonic_and_precedes_the_response() {
    let mut s = ready();
    let mut t = Script::default();
    let l = req(
        json!(7),
        "tools/call",
        json!({"name":"slow","_meta":{"progressToken":"tok"}}),
    );
    s.handle_frame(Frame::Line(l.into_bytes()), &mut t);
    let sent = t.take();
    let progress: Vec<&Value> = sent
        .iter()
        .filter(|m| m["method"] == "notifications/progress")
        .collect();
    assert_eq!(
        progress,
        [
            &json!({"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"tok","progress":1.0,"total":3.0,"message":"step"}}),
            &json!({"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"tok","progress":2.0,"total":3.0,"message":"step"}}),
            &json!({"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"tok","progress":3.0,"total":3.0,"message":"step"}}),
        ]
    );
    let last = sent.last().unwrap();
    assert_eq!(last["id"], 7);
    assert_eq!(last["result"]["content"][0]["text"], "done");
    // Integer tokens are echoed as integers; without a token, no progress.
    s.handle_frame(
        Frame::Line(
            req(
                json!(8),
                "tools/call",
                json!({"name":"slow","_meta":{"progressToken":42}}),
            )
            .into_bytes(),
        ),
        &mut t,
    );
    assert_eq!(t.take()[0]["params"]["progressToken"], 42);
    s.handle_frame(
        Frame::Line(req(json!(9), "tools/call", json!({"name":"slow"})).into_bytes()),
        &mut t,
    );
    assert!(t
        .take()
        .iter()
        .all(|m| m["method"] != "notifications/progress"));
}

#[test]
fn log_levels_per_session_and_per_request() {
    let mut s = ready();
    let mut t = Script::default();
    let levels = |sent: &[Value]| -> Vec<String> {
        sent.iter()
            .filter(|m| m["method"] == "notifications/message")
            .map(|m| m["params"]["level"].as_str().unwrap().to_string())
            .collect()
    };
    // Session default: info and up.
    s.handle_frame(
        Frame::Line(req(json!(1), "tools/call", json!({"name":"slow"})).into_bytes()),
        &mut t,
    );
    assert_eq!(
        levels(&t.take()),
        [
            "info",
            "notice",
            "warning",
            "error",
            "critical",
            "alert",
            "emergency"
        ]
    );
    ok(
        &mut s,
        &req(json!(2), "logging/setLevel", json!({"level":"critical"})),
    );
    s.handle_frame(
        Frame::Line(req(json!(3), "tools/call", json!({"name":"slow"})).into_bytes()),
        &mut t,
    );
    let sent = t.take();
    assert_eq!(levels(&sent), ["critical", "alert", "emergency"]);
    assert_eq!(
        sent[0]["params"],
        json!({"level":"critical","logger":"slow","data":"critical"})
    );
    // 2026 era: only with a `_meta` level, and that level alone decides.
    s.handle_frame(
        Frame::Line(modern(json!(4), "tools/call", json!({"name":"slow"})).into_bytes()),
        &mut t,
    );
    assert!(levels(&t.take()).is_empty());
    let mut p = json!({"name":"slow","_meta": modern_meta()});
    p["_meta"]["io.modelcontextprotocol/logLevel"] = json!("debug");
    s.handle_frame(
        Frame::Line(req(json!(5), "tools/call", p).into_bytes()),
        &mut t,
    );
    assert_eq!(levels(&t.take()).len(), 8);
    // Kernel records follow the session level.
    s.log(LogLevel::Error, "kernel", json!("x"), &mut t);
    s.log(LogLevel::Alert, "kernel", json!({"k":1}), &mut t);
    assert_eq!(
        t.take(),
        [
            json!({"jsonrpc":"2.0","method":"notifications/message","params":{"level":"alert","logger":"kernel","data":{"k":1}}})
        ]
    );
    // ...and need a session.
    let mut fresh = server();
    fresh.log(LogLevel::Emergency, "kernel", json!("x"), &mut t);
    assert!(t.take().is_empty());
}

// ------------------------------------------- cancellation and the pending queue

#[test]
fn cancelled_call_gets_no_response_and_queued_requests_follow() {
    let mut s = ready();
    let mut t = Script::default();
    t.feed(&req(json!(11), "prompts/list", json!({})));
    t.feed(r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":10,"reason":"user"}}"#);
    t.feed(&req(
        json!(12),
        "tools/call",
        json!({"name":"echo","arguments":{"n":1}}),
    ));
    s.handle_frame(
        Frame::Line(
            req(
                json!(10),
                "tools/call",
                json!({"name":"slow","arguments":{"polls":5}}),
            )
            .into_bytes(),
        ),
        &mut t,
    );
    let sent = t.take();
    assert!(sent.iter().all(|m| m["id"] != 10), "{sent:?}");
    assert_eq!(s.pending(), 1, "polling stops at the cancellation");
    // What followed is still on the wire; the queue is served in order.
    assert!(s.serve_queued(&mut t));
    assert!(!s.serve_queued(&mut t));
    let sent = t.take();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["id"], 11);
    assert!(sent[0]["result"]["prompts"].is_array());
    let next = t.incoming.pop_front().unwrap();
    s.handle_frame(next, &mut t);
    assert_eq!(t.take()[0]["result"]["structuredContent"], json!({"n":1}));
}

#[test]
fn frames_during_a_call_errors_duplicates_and_overflow() {
    let mut s = ready();
    let mut t = Script::default();
    t.feed("{nope");
    t.incoming.push_back(Frame::TooLong { len: 70_000 });
    t.feed(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#);
    t.feed(&req(json!(20), "tools/list", json!({}))); // duplicate of the running id
    for i in 0..MAX_PENDING_REQUESTS {
        t.feed(&req(json!(100 + i), "tools/list", json!({})));
    }
    t.feed(&req(json!(100), "tools/list", json!({}))); // duplicate of a queued id
    t.feed(&req(json!("over"), "tools/list", json!({}))); // queue full
                                                          // Cancelling a queued request drops it unanswered.
    t.feed(r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":101}}"#);
    // Unknown ids in a cancellation are ignored.
    t.feed(
        r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"nobody"}}"#,
    );
    s.handle_frame(
        Frame::Line(
            req(
                json!(20),
                "tools/call",
                json!({"name":"slow","arguments":{"polls":1}}),
            )
            .into_bytes(),
        ),
        &mut t,
    );
    let sent: Vec<Value> = t
        .take()
        .into_iter()
        .filter(|m| m.get("method").is_none())
        .collect();
    let codes: Vec<(Value, Value)> = sent
        .iter()
        .map(|m| (m["id"].clone(), m["error"]["code"].clone()))
        .collect();
    assert_eq!(
        codes,
        [
            (Value::Null, json!(code::PARSE_ERROR)),
            (Value::Null, json!(code::INVALID_REQUEST)),
            (json!(20), json!(code::INVALID_REQUEST)),
            (json!(100), json!(code::INVALID_REQUEST)),
            (json!("over"), json!(code::SERVER_BUSY)),
            (json!(20), Value::Null),
        ]
    );
    assert_eq!(sent.last().unwrap()["result"]["content"][0]["text"], "done");
    assert_eq!(s.pending(), MAX_PENDING_REQUESTS - 1);
    // A request arriving now waits behind the queue, keeping order.
    s.handle_frame(
        Frame::Line(req(json!("late"), "tools/list", json!({})).into_bytes()),
        &mut t,
    );
    assert!(t.take().is_empty());
    while s.serve_queued(&mut t) {}
    let ids: Vec<Value> = t.take().iter().map(|m| m["id"].clone()).collect();
    let mut expected: Vec<Value> = (0..MAX_PENDING_REQUESTS)
        .filter(|&i| i != 1)
        .map(|i| json!(100 + i))
        .collect();
    expected.push(json!("late"));
    assert_eq!(ids, expected);
}

#[test]
fn ping_and_unknown_methods_are_answered_while_a_call_runs() {
    let mut s = ready();
    let mut t = Script::default();
    t.feed(&req(json!("p"), "ping", json!({})));
    t.feed(&modern(json!("mp"), "ping", json!({})));
    t.feed(&req(json!("u"), "no/such", json!({})));
    t.feed(&req(json!(30), "ping", json!({}))); // the running id: duplicate
    let call = req(
        json!(30),
        "tools/call",
        json!({"name":"slow","arguments":{"polls":5}}),
    );
    s.handle_frame(Frame::Line(call.into_bytes()), &mut t);
    let replies: Vec<Value> = t
        .take()
        .into_iter()
        .filter(|m| m.get("id").is_some())
        .collect();
    assert_eq!(
        replies,
        [
            json!({"jsonrpc":"2.0","id":"p","result":{}}),
            json!({"jsonrpc":"2.0","id":"mp","result":{"resultType":"complete"}}),
            json!({"jsonrpc":"2.0","id":"u","error":{"code":-32601,"message":"Method not found: no/such"}}),
            json!({"jsonrpc":"2.0","id":30,"error":{"code":-32600,"message":"Invalid Request: a request with this id is still in flight"}}),
            json!({"jsonrpc":"2.0","id":30,"result":{"content":[{"type":"text","text":"done"}],"isError":false}}),
        ]
    );
    assert_eq!(s.pending(), 0);
}

#[test]
fn string_and_integer_ids_are_distinct_and_unescaped() {
    let mut s = ready();
    let mut t = Script::default();
    // "10" is not 10; "\u0031\u0030" is "10".
    t.feed(r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":10}}"#);
    s.handle_frame(
        Frame::Line(req(json!("10"), "tools/call", json!({"name":"slow"})).into_bytes()),
        &mut t,
    );
    assert_eq!(t.take().last().unwrap()["id"], "10");
    t.feed(r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"\u0031\u0030"}}"#);
    s.handle_frame(
        Frame::Line(req(json!("10"), "tools/call", json!({"name":"slow"})).into_bytes()),
        &mut t,
    );
    assert!(t.take().iter().all(|m| m.get("id").is_none()));
}

// ------------------------------------------------------------- tools/call

#[test]
fn argument_validation_failures_are_tool_errors() {
    let mut s = ready();
    assert_eq!(
        ok(
            &mut s,
            &req(
                json!(1),
                "tools/call",
                json!({"name":"gpio","arguments":{"pin":17}})
            )
        )["content"][0]["text"],
        "pin 17"
    );
    for args in [
        json!({}),
        json!({"pin":"17"}),
        json!({"pin":54}),
        json!({"pin":1.5}),
    ] {
        let r = ok(
            &mut s,
            &req(
                json!(1),
                "tools/call",
                json!({"name":"gpio","arguments":args.clone()}),
            ),
        );
        assert_eq!(r["isError"], true, "{args}");
        assert!(r["content"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Invalid arguments: "));
    }
}

#[test]
fn argument_size_limits() {
    let mut s = ready();
    let long = "x".repeat(crate::limits::MAX_STRING_BYTES + 1);
    let e = err(
        &mut s,
        &req(
            json!(1),
            "tools/call",
            json!({"name":"echo","arguments":{"s": long}}),
        ),
    );
    assert_eq!(e["code"], code::INVALID_PARAMS);
    let e = err(
        &mut s,
        &req(
            json!(1),
            "tools/call",
            json!({"name":"echo","arguments":{"s":[long]}}),
        ),
    );
    assert_eq!(e["code"], code::INVALID_PARAMS);
    let many: Map<String, Value> = (0..4000)
        .map(|i| (alloc::format!("k{i}"), json!("0123456789")))
        .collect();
    let e = err(
        &mut s,
        &req(
            json!(1),
            "tools/call",
            json!({"name":"echo","arguments": many}),
        ),
    );
    assert_eq!(e["code"], code::INVALID_PARAMS);
    assert!(e["message"].as_str().unwrap().contains("larger than"));
    let e = err(
        &mut s,
        &req(json!(1), "tools/call", json!({"name": "x".repeat(20_000)})),
    );
    assert_eq!(e["code"], code::INVALID_PARAMS);
    // Oversized ids are refused without being echoed.
    let e = line(&mut s, &req(json!("i".repeat(300)), "ping", json!({})));
    assert_eq!(
        (e["id"].clone(), e["error"]["code"].clone()),
        (Value::Null, json!(code::INVALID_REQUEST))
    );
    // The server goes on.
    assert_eq!(ok(&mut s, &req(json!(2), "ping", json!({}))), json!({}));
}

/// Wrong JSON types in every member of every method: always -32602, and
/// the server answers the next request.
#[test]
fn wrong_types_everywhere() {
    let mut s = ready();
    let bad_values = [
        json!(null),
        json!(1),
        json!(true),
        json!([]),
        json!({"a":1}),
        json!("s"),
    ];
    let members: &[(&str, &[&str], &[&str])] = &[
        // method, string members, object members
        ("initialize", &["protocolVersion"], &[]),
        ("logging/setLevel", &["level"], &[]),
        ("tools/list", &["cursor"], &[]),
        ("tools/call", &["name"], &["arguments"]),
        ("resources/list", &["cursor"], &[]),
        ("resources/templates/list", &["cursor"], &[]),
        ("resources/read", &["uri"], &[]),
        ("resources/subscribe", &["uri"], &[]),
        ("resources/unsubscribe", &["uri"], &[]),
        ("prompts/list", &["cursor"], &[]),
        ("prompts/get", &["name"], &["arguments"]),
        ("completion/complete", &[], &["ref", "argument"]),
        ("subscriptions/listen", &[], &["notifications"]),
    ];
    let valid = |method: &str| -> Value {
        match method {
            "initialize" => json!({"protocolVersion":"2025-11-25"}),
            "logging/setLevel" => json!({"level":"info"}),
            "tools/call" => json!({"name":"echo","arguments":{}}),
            "resources/read" | "resources/subscribe" | "resources/unsubscribe" => {
                json!({"uri":"kingly://metrics"})
            }
            "prompts/get" => json!({"name":"greet","arguments":{"name":"x"}}),
            "completion/complete" => {
                json!({"ref":{"type":"ref/prompt","name":"greet"},"argument":{"name":"name","value":""}})
            }
            "subscriptions/listen" => json!({"notifications":{}, "_meta": modern_meta()}),
            _ => json!({}),
        }
    };
    for (method, strings, objects) in members {
        for member in strings.iter().chain(objects.iter()) {
            for bad in &bad_values {
                if (strings.contains(member) && bad.is_string())
                    || (objects.contains(member) && bad.is_object())
                {
                    continue;
                }
                let mut params = valid(method);
                params[*member] = bad.clone();
                let l = req(json!(1), method, params.clone());
                assert_eq!(err(&mut s, &l)["code"], code::INVALID_PARAMS, "{l}");
            }
        }
        for bad_params in [json!([]), json!(1), json!("x"), json!(null)] {
            let l = req(json!(1), method, bad_params);
            assert_eq!(err(&mut s, &l)["code"], code::INVALID_PARAMS, "{l}");
        }
        let mut with_bad_meta = valid(method);
        with_bad_meta["_meta"] = json!([1]);
        assert_eq!(
            err(&mut s, &req(json!(1), method, with_bad_meta))["code"],
            code::INVALID_PARAMS,
            "{method}"
        );
        // Duplicate members are refused rather than guessed at.
        let dup = alloc::format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":{{"cursor":"a","cursor":"b","name":"x","name":"y"}}}}"#
        );
        assert_eq!(err(&mut s, &dup)["code"], code::INVALID_PARAMS, "{dup}");
        if *method != "subscriptions/listen" {
            assert!(ok(&mut s, &req(json!(2), method, valid(method))).is_object());
        }
    }
}

// ------------------------------------------------------------------ metrics

#[test]
fn metrics_count_what_happened() {
    let mut s = server();
    let mut t = Script::default();
    for l in [
        INIT.to_string(),
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.to_string(),
        req(json!(1), "nope", json!({})),
        req(
            json!(2),
            "tools/call",
            json!({"name":"slow","_meta":{"progressToken":1}}),
        ),
        "garbage".to_string(),
    ] {
        s.handle_frame(Frame::Line(l.into_bytes()), &mut t);
    }
    s.handle_frame(Frame::TooLong { len: 1 << 20 }, &mut t);
    let m = s.metrics();
    assert_eq!(m.requests, 3);
    assert_eq!(m.notifications_received, 1);
    assert_eq!(m.responses, 5);
    assert_eq!(m.errors_with(code::METHOD_NOT_FOUND), 1);
    assert_eq!(m.errors_with(code::PARSE_ERROR), 1);
    assert_eq!(m.errors_with(code::INVALID_REQUEST), 1);
    assert_eq!(m.notifications_sent, 3 + 7);
    assert_eq!(
        m.to_json(),
        json!({"requests":3,"notificationsReceived":1,"notificationsSent":10,"responses":5,
               "errorsByCode":{"-32700":1,"-32601":1,"-32600":1}})
    );
    let _ = Contents::Text(String::new());
}
