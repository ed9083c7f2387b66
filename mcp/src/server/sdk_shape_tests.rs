//! Every result and notification, checked member by member against the
//! wire models of the official MCP Python SDK (`mcp_types`, 2.3): required
//! members present, nothing the model does not know. The table is
//! transcribed from the SDK's pydantic models (aliases as on the wire).

use super::era_tests::{modern, ok, ready, req, Script};
use super::*;
use alloc::collections::BTreeSet;
use serde_json::json;

/// (era, model, required members, optional members)
type Model = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);

const LEGACY: &str = "2025-11-25";
const MODERN: &str = "2026-07-28";

const MODELS: &[Model] = &[
    (
        LEGACY,
        "InitializeResult",
        &["capabilities", "protocolVersion", "serverInfo"],
        &["_meta", "instructions"],
    ),
    (
        LEGACY,
        "ListToolsResult",
        &["tools"],
        &["_meta", "nextCursor"],
    ),
    (
        LEGACY,
        "CallToolResult",
        &["content"],
        &["_meta", "isError", "structuredContent"],
    ),
    (
        LEGACY,
        "ListResourcesResult",
        &["resources"],
        &["_meta", "nextCursor"],
    ),
    (LEGACY, "ReadResourceResult", &["contents"], &["_meta"]),
    (
        LEGACY,
        "ListResourceTemplatesResult",
        &["resourceTemplates"],
        &["_meta", "nextCursor"],
    ),
    (
        LEGACY,
        "ListPromptsResult",
        &["prompts"],
        &["_meta", "nextCursor"],
    ),
    (
        LEGACY,
        "GetPromptResult",
        &["messages"],
        &["_meta", "description"],
    ),
    (LEGACY, "CompleteResult", &["completion"], &["_meta"]),
    (
        MODERN,
        "ListToolsResult",
        &["cacheScope", "resultType", "tools", "ttlMs"],
        &["_meta", "nextCursor"],
    ),
    (
        MODERN,
        "CallToolResult",
        &["content", "resultType"],
        &["_meta", "isError", "structuredContent"],
    ),
    (
        MODERN,
        "ListResourcesResult",
        &["cacheScope", "resources", "resultType", "ttlMs"],
        &["_meta", "nextCursor"],
    ),
    (
        MODERN,
        "ReadResourceResult",
        &["cacheScope", "contents", "resultType", "ttlMs"],
        &["_meta"],
    ),
    (
        MODERN,
        "ListResourceTemplatesResult",
        &["cacheScope", "resourceTemplates", "resultType", "ttlMs"],
        &["_meta", "nextCursor"],
    ),
    (
        MODERN,
        "ListPromptsResult",
        &["cacheScope", "prompts", "resultType", "ttlMs"],
        &["_meta", "nextCursor"],
    ),
    (
        MODERN,
        "GetPromptResult",
        &["messages", "resultType"],
        &["_meta", "description"],
    ),
    (
        MODERN,
        "CompleteResult",
        &["completion", "resultType"],
        &["_meta"],
    ),
    (
        MODERN,
        "DiscoverResult",
        &[
            "cacheScope",
            "capabilities",
            "resultType",
            "supportedVersions",
            "ttlMs",
        ],
        &["_meta", "instructions"],
    ),
    (
        MODERN,
        "SubscriptionsListenResult",
        &["_meta", "resultType"],
        &[],
    ),
    (
        MODERN,
        "SubscriptionsAcknowledgedNotificationParams",
        &["notifications"],
        &["_meta"],
    ),
    (
        LEGACY,
        "ProgressNotificationParams",
        &["progress", "progressToken"],
        &["_meta", "message", "total"],
    ),
    (
        LEGACY,
        "LoggingMessageNotificationParams",
        &["data", "level"],
        &["_meta", "logger"],
    ),
    (
        LEGACY,
        "ResourceUpdatedNotificationParams",
        &["uri"],
        &["_meta"],
    ),
    (
        LEGACY,
        "Tool",
        &["inputSchema", "name"],
        &[
            "_meta",
            "annotations",
            "description",
            "execution",
            "icons",
            "outputSchema",
            "title",
        ],
    ),
    (
        LEGACY,
        "Resource",
        &["name", "uri"],
        &[
            "_meta",
            "annotations",
            "description",
            "icons",
            "mimeType",
            "size",
            "title",
        ],
    ),
    (
        LEGACY,
        "ResourceTemplate",
        &["name", "uriTemplate"],
        &[
            "_meta",
            "annotations",
            "description",
            "icons",
            "mimeType",
            "title",
        ],
    ),
    (
        LEGACY,
        "Prompt",
        &["name"],
        &["_meta", "arguments", "description", "icons", "title"],
    ),
    (
        LEGACY,
        "PromptArgument",
        &["name"],
        &["description", "required", "title"],
    ),
    (
        LEGACY,
        "TextResourceContents",
        &["text", "uri"],
        &["_meta", "mimeType"],
    ),
    (
        LEGACY,
        "BlobResourceContents",
        &["blob", "uri"],
        &["_meta", "mimeType"],
    ),
    (
        LEGACY,
        "ServerCapabilities",
        &[],
        &[
            "completions",
            "experimental",
            "logging",
            "prompts",
            "resources",
            "tasks",
            "tools",
        ],
    ),
    (
        LEGACY,
        "Implementation",
        &["name", "version"],
        &["description", "icons", "title", "websiteUrl"],
    ),
    (
        MODERN,
        "ServerCapabilities",
        &[],
        &[
            "completions",
            "experimental",
            "extensions",
            "logging",
            "prompts",
            "resources",
            "tools",
        ],
    ),
    (
        MODERN,
        "Implementation",
        &["name", "version"],
        &["description", "icons", "title", "websiteUrl"],
    ),
];

fn check(era: &str, model: &str, value: &Value) {
    let (_, _, required, optional) = MODELS
        .iter()
        .find(|(e, m, _, _)| {
            *m == model
                && (*e == era
                    || !MODELS
                        .iter()
                        .any(|(e2, m2, _, _)| *m2 == model && *e2 == era))
        })
        .unwrap_or_else(|| panic!("no model {model}"));
    let keys: BTreeSet<&str> = value
        .as_object()
        .unwrap_or_else(|| panic!("{model} is not an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect();
    for r in *required {
        assert!(keys.contains(r), "{era} {model} lacks \"{r}\": {value}");
    }
    for k in &keys {
        assert!(
            required.contains(k) || optional.contains(k),
            "{era} {model} has unknown \"{k}\": {value}"
        );
    }
}

fn check_each(era: &str, model: &str, items: &Value) {
    for item in items.as_array().unwrap() {
        check(era, model, item);
    }
}

#[test]
fn every_result_matches_the_sdk_models() {
    let mut s = ready();
    let init = ok(
        &mut s,
        &req(
            json!(0),
            "initialize",
            json!({"protocolVersion": "2025-11-25"}),
        ),
    );
    check(LEGACY, "InitializeResult", &init);
    check(LEGACY, "ServerCapabilities", &init["capabilities"]);
    check(LEGACY, "Implementation", &init["serverInfo"]);
    for era in [LEGACY, MODERN] {
        let line = |id: i64, method: &str, params: Value| {
            if era == MODERN {
                modern(json!(id), method, params)
            } else {
                req(json!(id), method, params)
            }
        };
        let r = ok(&mut s, &line(1, "tools/list", json!({})));
        check(era, "ListToolsResult", &r);
        check_each(LEGACY, "Tool", &r["tools"]);
        for (name, args) in [
            ("echo", json!({"a": 1})),
            ("gpio", json!({"pin": 99})),
            ("gpio", json!({"pin": 1})),
        ] {
            let r = ok(
                &mut s,
                &line(2, "tools/call", json!({"name": name, "arguments": args})),
            );
            check(era, "CallToolResult", &r);
        }
        let r = ok(&mut s, &line(3, "resources/list", json!({})));
        check(era, "ListResourcesResult", &r);
        check_each(LEGACY, "Resource", &r["resources"]);
        for (uri, model) in [
            ("kingly://metrics", "TextResourceContents"),
            ("kingly://blob", "BlobResourceContents"),
            ("kingly://gpio/3", "TextResourceContents"),
        ] {
            let r = ok(&mut s, &line(4, "resources/read", json!({"uri": uri})));
            check(era, "ReadResourceResult", &r);
            check_each(LEGACY, model, &r["contents"]);
        }
        let r = ok(&mut s, &line(5, "resources/templates/list", json!({})));
        check(era, "ListResourceTemplatesResult", &r);
        check_each(LEGACY, "ResourceTemplate", &r["resourceTemplates"]);
        let r = ok(&mut s, &line(6, "prompts/list", json!({})));
        check(era, "ListPromptsResult", &r);
        check_each(LEGACY, "Prompt", &r["prompts"]);
        check_each(LEGACY, "PromptArgument", &r["prompts"][0]["arguments"]);
        let r = ok(
            &mut s,
            &line(
                7,
                "prompts/get",
                json!({"name": "greet", "arguments": {"name": "x"}}),
            ),
        );
        check(era, "GetPromptResult", &r);
        let r = ok(
            &mut s,
            &line(
                8,
                "completion/complete",
                json!({"ref": {"type": "ref/prompt", "name": "greet"}, "argument": {"name": "name", "value": ""}}),
            ),
        );
        check(era, "CompleteResult", &r);
    }
    let r = ok(&mut s, &modern(json!(9), "server/discover", json!({})));
    check(MODERN, "DiscoverResult", &r);
    check(MODERN, "ServerCapabilities", &r["capabilities"]);
    check(
        MODERN,
        "Implementation",
        &r["_meta"]["io.modelcontextprotocol/serverInfo"],
    );
}

#[test]
fn every_notification_matches_the_sdk_models() {
    let mut s = ready();
    let mut t = Script::default();
    ok(
        &mut s,
        &req(
            json!(1),
            "resources/subscribe",
            json!({"uri": "kingly://metrics"}),
        ),
    );
    let mut call = json!({"name": "slow", "_meta": {"progressToken": "p"}});
    s.handle_frame(
        Frame::Line(req(json!(2), "tools/call", call.clone()).into_bytes()),
        &mut t,
    );
    call["_meta"] = super::era_tests::modern_meta();
    call["_meta"]["progressToken"] = json!(3);
    call["_meta"]["io.modelcontextprotocol/logLevel"] = json!("debug");
    s.handle_frame(
        Frame::Line(req(json!(3), "tools/call", call).into_bytes()),
        &mut t,
    );
    let listen = modern(
        json!("l"),
        "subscriptions/listen",
        json!({"notifications": {"resourceSubscriptions": ["kingly://metrics"]}}),
    );
    s.handle_frame(Frame::Line(listen.into_bytes()), &mut t);
    s.resource_updated("kingly://metrics", &mut t);
    s.log(LogLevel::Error, "kernel", json!("x"), &mut t);
    s.end_subscriptions(&mut t);
    let mut seen = BTreeSet::new();
    for m in t.take() {
        let model = match m.get("method").and_then(Value::as_str) {
            Some("notifications/progress") => "ProgressNotificationParams",
            Some("notifications/message") => "LoggingMessageNotificationParams",
            Some("notifications/resources/updated") => "ResourceUpdatedNotificationParams",
            Some("notifications/subscriptions/acknowledged") => {
                "SubscriptionsAcknowledgedNotificationParams"
            }
            Some(other) => panic!("unexpected notification {other}"),
            None if m["id"] == "l" => {
                check(MODERN, "SubscriptionsListenResult", &m["result"]);
                continue;
            }
            None => continue,
        };
        seen.insert(model);
        check(MODERN, model, &m["params"]);
    }
    assert_eq!(seen.len(), 4, "{seen:?}");
}
