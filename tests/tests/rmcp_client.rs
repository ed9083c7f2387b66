//! rmcp 3.11 — the official Rust MCP SDK, which nobody on this project wrote —
//! drives `kingly qemu` over its child-process stdio transport.
//!
//! - The `kingly` binary is the one `scripts/test` built (`KINGLY_BIN`), or
//!   `cargo build -p kingly` is run once per test process to make it.
//! - Each test boots its own `kingly qemu --image <private copy>` (QEMU locks
//!   the image it boots), one at a time, on a fresh tokio runtime; the whole
//!   test is bounded by [`TEST_LIMIT`] and every request by
//!   [`REQUEST_TIMEOUT`].
//! - The child is shut down through rmcp (close stdin, SIGTERM, kill); a
//!   [`Reaper`] kills and reaps it anyway if the test failed or timed out.
//! - A wiretap transport ([`Tapped`]) keeps every message the server sent, so
//!   a test can tell that a cancelled request never got its response (rmcp
//!   drops responses nobody waits for).

use std::future::Future;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::{
    CallToolRequest, CallToolRequestParams, CallToolResult, ClientRequest, GetPromptRequestParams,
    ProgressNotificationParam, ProgressToken, ProtocolVersion, ReadResourceRequestParams,
    ReadResourceResult, ResourceUpdatedNotificationParam, SubscribeRequestParams,
};
use rmcp::service::{
    ClientLifecycleMode, ClientServiceExt, NotificationContext, PeerRequestOptions, RoleClient,
    RunningService, RxJsonRpcMessage, TxJsonRpcMessage,
};
use rmcp::transport::{TokioChildProcess, Transport};
use rmcp::ClientHandler;
use serde_json::{json, Value};

const TEST_LIMIT: Duration = Duration::from_secs(150);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
const MIB: u64 = 1 << 20;
const BOARD_REVISION: &str = "0xb03115";
const LEGACY_VERSIONS: [&str; 4] = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];
const LOG_LEVELS: [&str; 8] = [
    "debug",
    "info",
    "notice",
    "warning",
    "error",
    "critical",
    "alert",
    "emergency",
];

// --- harness -------------------------------------------------------------------

/// What the client saw arrive on its own: progress and resource updates.
#[derive(Clone, Default)]
struct Recorder {
    progress: Arc<Mutex<Vec<ProgressNotificationParam>>>,
    updated: Arc<Mutex<Vec<String>>>,
}

impl Recorder {
    fn progress_for(&self, token: &ProgressToken) -> Vec<(f64, Option<f64>)> {
        self.progress
            .lock()
            .unwrap()
            .iter()
            .filter(|p| &p.progress_token == token)
            .map(|p| (p.progress, p.total))
            .collect()
    }
}

impl ClientHandler for Recorder {
    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.progress.lock().unwrap().push(params);
    }

    async fn on_resource_updated(
        &self,
        params: ResourceUpdatedNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.updated.lock().unwrap().push(params.uri);
    }
}

/// A transport that keeps a JSON copy of every message the server sent.
struct Tapped {
    inner: TokioChildProcess,
    received: Arc<Mutex<Vec<Value>>>,
}

impl Transport<RoleClient> for Tapped {
    type Error = std::io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleClient>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        self.inner.send(item)
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleClient>> {
        let message = self.inner.receive().await?;
        let copy = serde_json::to_value(&message).unwrap_or(Value::Null);
        self.received.lock().unwrap().push(copy);
        Some(message)
    }

    fn close(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.inner.close()
    }
}

/// Kills and reaps the server if it is still our running child when the
/// test ends (a panic or a timeout skips rmcp's orderly shutdown).
struct Reaper(Option<i32>);

impl Drop for Reaper {
    fn drop(&mut self) {
        let Some(pid) = self.0 else { return };
        let mut status = 0;
        // SAFETY: plain syscalls on a pid this process spawned; WNOHANG
        // first, so a child someone already reaped (ECHILD) is never signalled.
        unsafe {
            // Anything but 0: it had exited (now reaped) or is not ours any more.
            if libc::waitpid(pid, &mut status, libc::WNOHANG) == 0 {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
        }
    }
}

struct Conn {
    client: RunningService<RoleClient, Recorder>,
    recorder: Recorder,
    received: Arc<Mutex<Vec<Value>>>,
    _reaper: Reaper,
    _image_dir: tempfile::TempDir,
}

impl Conn {
    fn responses_for(&self, id: &Value) -> Vec<Value> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.get("method").is_none() && m.get("id") == Some(id))
            .cloned()
            .collect()
    }

    fn protocol_version(&self) -> String {
        self.client
            .peer_info()
            .map(|info| info.protocol_version.to_string())
            .unwrap_or_default()
    }
}

async fn connect(lifecycle: ClientLifecycleMode) -> Conn {
    let (_, image) = kingly_tests::artifacts();
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let copy = dir.path().join("sd.img");
    std::fs::copy(image, &copy).expect("copy the SD image");
    let stderr = std::fs::File::create(dir.path().join("server-stderr.txt")).expect("stderr file");

    let mut cmd = tokio::process::Command::new(kingly_tests::kingly_bin());
    cmd.arg("qemu").arg("--image").arg(&copy);
    let (child, _) = TokioChildProcess::builder(cmd)
        .stderr(Stdio::from(stderr))
        .spawn()
        .expect("spawn kingly qemu");
    let reaper = Reaper(child.id().map(|pid| pid as i32));
    let received = Arc::new(Mutex::new(Vec::new()));
    let transport = Tapped {
        inner: child,
        received: Arc::clone(&received),
    };
    let recorder = Recorder::default();
    let client = recorder
        .clone()
        .serve_with_lifecycle(transport, lifecycle)
        .await
        .unwrap_or_else(|e| panic!("rmcp could not connect to kingly qemu: {e}"));
    Conn {
        client,
        recorder,
        received,
        _reaper: reaper,
        _image_dir: dir,
    }
}

fn legacy() -> ClientLifecycleMode {
    ClientLifecycleMode::Initialize
}

fn auto() -> ClientLifecycleMode {
    ClientLifecycleMode::Auto {
        preferred_versions: vec![ProtocolVersion::V_2026_07_28],
        legacy_version: None,
    }
}

/// Boots, connects with `lifecycle`, runs `body`, closes; all within TEST_LIMIT.
fn run<F, Fut>(lifecycle: ClientLifecycleMode, body: F)
where
    F: FnOnce(Conn) -> Fut,
    Fut: Future<Output = Conn>,
{
    let _turn = kingly_tests::exclusive();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let work = async {
            let conn = body(connect(lifecycle).await).await;
            let Conn {
                mut client,
                _reaper,
                ..
            } = conn;
            // rmcp's own shutdown: close stdin, wait, SIGTERM, kill.
            let _ = client.close_with_timeout(Duration::from_secs(15)).await;
        };
        tokio::time::timeout(TEST_LIMIT, work)
            .await
            .unwrap_or_else(|_| panic!("test took over {TEST_LIMIT:?}"));
    });
}

async fn call(conn: &Conn, name: &'static str, arguments: Value) -> CallToolResult {
    let params = CallToolRequestParams::new(name).with_arguments(
        arguments
            .as_object()
            .cloned()
            .expect("arguments are an object"),
    );
    tokio::time::timeout(REQUEST_TIMEOUT, conn.client.call_tool(params))
        .await
        .unwrap_or_else(|_| panic!("tools/call {name} timed out"))
        .unwrap_or_else(|e| panic!("tools/call {name}: {e}"))
}

async fn read(conn: &Conn, uri: &str) -> ReadResourceResult {
    tokio::time::timeout(
        REQUEST_TIMEOUT,
        conn.client
            .read_resource(ReadResourceRequestParams::new(uri)),
    )
    .await
    .unwrap_or_else(|_| panic!("resources/read {uri} timed out"))
    .unwrap_or_else(|e| panic!("resources/read {uri}: {e}"))
}

/// The first content of a read as (mimeType, text).
fn resource_text(result: &ReadResourceResult, uri: &str) -> (String, String) {
    let contents = serde_json::to_value(&result.contents).unwrap();
    let first = &contents[0];
    assert_eq!(first["uri"], json!(uri), "{contents}");
    let text = first["text"]
        .as_str()
        .unwrap_or_else(|| panic!("{uri} is not text: {contents}"));
    (
        first["mimeType"].as_str().unwrap_or_default().to_owned(),
        text.to_owned(),
    )
}

fn check_sys_info(result: &CallToolResult) -> Value {
    assert_ne!(result.is_error, Some(true), "{result:?}");
    let info = result
        .structured_content
        .clone()
        .unwrap_or_else(|| panic!("no structuredContent in {result:?}"));
    assert_eq!(info["board_revision"], json!(BOARD_REVISION), "{info}");
    assert_eq!(info["cores_online"], json!(4), "{info}");
    assert_eq!(info["exception_level"], json!(1), "{info}");
    assert!(info["heap"]["free"].as_u64().unwrap_or(0) > 0, "{info}");
    info
}

fn assert_log_has_booted(text: &str) {
    assert!(
        text.lines().any(|line| line.contains("booted")),
        "no 'booted' line in the log:\n{text}"
    );
}

// --- handshake, tools, sys_info ----------------------------------------------------

#[test]
fn legacy_handshake_names_the_server() {
    run(legacy(), |conn| async move {
        let info = conn
            .client
            .peer_info()
            .expect("server info after initialize");
        let server = info.server_info.as_ref().expect("serverInfo");
        assert_eq!(server.name, "kingly-os");
        assert!(
            LEGACY_VERSIONS.contains(&info.protocol_version.to_string().as_str()),
            "negotiated {}",
            info.protocol_version
        );
        assert!(info.capabilities.tools.is_some(), "no tools capability");
        conn
    });
}

#[test]
fn list_tools_has_sys_info() {
    run(legacy(), |conn| async move {
        let tools = conn.client.list_all_tools().await.expect("tools/list");
        let sys_info = tools
            .iter()
            .find(|t| t.name == "sys_info")
            .unwrap_or_else(|| panic!("no sys_info in {tools:?}"));
        assert_eq!(sys_info.input_schema.get("type"), Some(&json!("object")));
        let output = sys_info.output_schema.as_ref().expect("outputSchema");
        assert_eq!(output.get("type"), Some(&json!("object")));
        conn
    });
}

#[test]
fn call_sys_info() {
    run(legacy(), |conn| async move {
        let result = call(&conn, "sys_info", json!({})).await;
        let info = check_sys_info(&result);
        // The text block carries the same JSON.
        let content = serde_json::to_value(&result.content).unwrap();
        let text: Value = serde_json::from_str(content[0]["text"].as_str().unwrap()).unwrap();
        assert_eq!(text, info);
        conn
    });
}

#[test]
fn auto_mode_probes_discover_then_calls_sys_info() {
    // rmcp's Auto lifecycle sends `server/discover` and falls back to
    // `initialize` when the server answers -32601.
    run(auto(), |conn| async move {
        let version = conn.protocol_version();
        assert!(
            version == "2026-07-28" || LEGACY_VERSIONS.contains(&version.as_str()),
            "negotiated {version}"
        );
        check_sys_info(&call(&conn, "sys_info", json!({})).await);
        conn
    });
}

#[test]
fn unknown_tool_is_an_error_not_a_hang() {
    run(legacy(), |conn| async move {
        let params = CallToolRequestParams::new("no_such_tool");
        let outcome = tokio::time::timeout(REQUEST_TIMEOUT, conn.client.call_tool(params))
            .await
            .expect("no answer for an unknown tool");
        match outcome {
            Err(e) => assert!(e.to_string().contains("no_such_tool"), "{e}"),
            Ok(result) => assert_eq!(result.is_error, Some(true), "{result:?}"),
        }
        conn
    });
}

// --- the 2026-07-28 era ------------------------------------------------------------

#[test]
fn auto_mode_negotiates_2026_07_28() {
    run(auto(), |conn| async move {
        let version = conn.protocol_version();
        assert_eq!(version, "2026-07-28", "auto mode settled on {version}");
        check_sys_info(&call(&conn, "sys_info", json!({})).await);
        let tools = conn.client.list_all_tools().await.expect("tools/list");
        assert!(tools.iter().any(|t| t.name == "sys_info"));
        conn
    });
}

// --- mem_test: progress and cancellation -------------------------------------------

#[test]
fn mem_test_reports_progress() {
    run(legacy(), |conn| async move {
        let params = CallToolRequestParams::new("mem_test").with_arguments(
            json!({"bytes": 16 * MIB, "passes": 1})
                .as_object()
                .cloned()
                .unwrap(),
        );
        let handle = conn
            .client
            .send_cancellable_request(
                ClientRequest::CallToolRequest(CallToolRequest::new(params)),
                PeerRequestOptions::with_timeout(REQUEST_TIMEOUT),
            )
            .await
            .expect("send mem_test");
        let token = handle.progress_token.clone();
        let response = handle.await_response().await.expect("mem_test answered");
        let result: CallToolResult =
            serde_json::from_value(serde_json::to_value(&response).unwrap())
                .unwrap_or_else(|e| panic!("not a CallToolResult ({e}): {response:?}"));
        assert_ne!(result.is_error, Some(true), "{result:?}");
        let out = result.structured_content.expect("structuredContent");
        assert_eq!(out["bytes"], json!(16 * MIB), "{out}");
        assert_eq!(out["passes_done"], json!(1), "{out}");
        assert_eq!(out["errors"], json!(0), "{out}");
        assert_eq!(out["first_error_address"], Value::Null, "{out}");

        // Notifications may trail the response by a moment on the client side.
        tokio::time::sleep(Duration::from_millis(200)).await;
        // rmcp runs each notification handler on its own task, so the order
        // `on_progress` sees is not the order they came in: check the order
        // on the wire, and that the handler got every one of them.
        let token_json = serde_json::to_value(&token).unwrap();
        let on_wire: Vec<(f64, Option<f64>)> = conn
            .received
            .lock()
            .unwrap()
            .iter()
            .filter(|m| {
                m["method"] == "notifications/progress"
                    && m["params"]["progressToken"] == token_json
            })
            .map(|m| {
                (
                    m["params"]["progress"].as_f64().unwrap(),
                    m["params"]["total"].as_f64(),
                )
            })
            .collect();
        assert!(
            on_wire.len() >= 2,
            "progress for a 16 MiB test: {on_wire:?}"
        );
        assert!(
            on_wire.windows(2).all(|w| w[1].0 > w[0].0),
            "progress not increasing on the wire: {on_wire:?}"
        );
        let total = on_wire[0].1.expect("progress without total");
        assert!(on_wire.iter().all(|u| u.1 == Some(total)), "{on_wire:?}");
        assert!(on_wire.last().unwrap().0 <= total, "{on_wire:?}");
        let mut handled = conn.recorder.progress_for(&token);
        handled.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert_eq!(handled, on_wire, "what ClientHandler::on_progress got");
        conn
    });
}

#[test]
fn cancel_mem_test_then_keep_serving() {
    run(legacy(), |conn| async move {
        let params = CallToolRequestParams::new("mem_test").with_arguments(
            json!({"bytes": 256 * MIB, "passes": 4})
                .as_object()
                .cloned()
                .unwrap(),
        );
        let handle = conn
            .client
            .send_cancellable_request(
                ClientRequest::CallToolRequest(CallToolRequest::new(params)),
                PeerRequestOptions::with_timeout(REQUEST_TIMEOUT),
            )
            .await
            .expect("send mem_test");
        let token = handle.progress_token.clone();
        let id = serde_json::to_value(&handle.id).unwrap();
        // Wait until it is really running: its first progress notification.
        tokio::time::timeout(REQUEST_TIMEOUT, async {
            while conn.recorder.progress_for(&token).is_empty() {
                let answered = conn.responses_for(&id);
                assert!(
                    answered.is_empty(),
                    "mem_test answered before any progress: {answered:?}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await
        .expect("no progress from a 1 GiB mem_test");
        handle
            .cancel(Some("test: cancel mem_test".into()))
            .await
            .expect("send notifications/cancelled");

        // The server keeps serving.
        let pong = tokio::time::timeout(
            REQUEST_TIMEOUT,
            conn.client
                .send_request(ClientRequest::PingRequest(Default::default())),
        )
        .await
        .expect("ping after cancel timed out")
        .expect("ping after cancel");
        drop(pong);
        check_sys_info(&call(&conn, "sys_info", json!({})).await);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let late = conn.responses_for(&id);
        assert!(
            late.is_empty(),
            "the cancelled request {id} got a response: {late:?}"
        );
        conn
    });
}

// --- resources ---------------------------------------------------------------------

#[test]
fn list_resources() {
    run(legacy(), |conn| async move {
        let subscribe = conn
            .client
            .peer_info()
            .and_then(|i| i.capabilities.resources.as_ref().and_then(|r| r.subscribe));
        assert_eq!(subscribe, Some(true), "resources.subscribe capability");
        let resources = conn
            .client
            .list_all_resources()
            .await
            .expect("resources/list");
        let listed = serde_json::to_value(&resources).unwrap();
        for (uri, mime) in [
            ("kingly://log", "text/plain"),
            ("kingly://board", "application/json"),
            ("kingly://metrics", "application/json"),
        ] {
            let found = listed
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["uri"] == json!(uri))
                .unwrap_or_else(|| panic!("{uri} missing from {listed}"));
            assert_eq!(found["mimeType"], json!(mime), "{found}");
        }
        conn
    });
}

#[test]
fn read_log() {
    run(legacy(), |conn| async move {
        let (mime, text) = resource_text(&read(&conn, "kingly://log").await, "kingly://log");
        assert_eq!(mime, "text/plain");
        assert_log_has_booted(&text);
        conn
    });
}

#[test]
fn read_board_and_metrics() {
    run(legacy(), |conn| async move {
        let (mime, text) = resource_text(&read(&conn, "kingly://board").await, "kingly://board");
        assert_eq!(mime, "application/json");
        let board: Value = serde_json::from_str(&text).expect("kingly://board is JSON");
        assert_eq!(board["board_revision"], json!(BOARD_REVISION), "{board}");

        let (mime, text) =
            resource_text(&read(&conn, "kingly://metrics").await, "kingly://metrics");
        assert_eq!(mime, "application/json");
        let metrics: Value = serde_json::from_str(&text).expect("kingly://metrics is JSON");
        assert!(metrics["uptime_ms"].is_u64(), "{metrics}");
        conn
    });
}

#[test]
fn log_template_and_level_completion() {
    run(legacy(), |conn| async move {
        let templates = conn
            .client
            .list_all_resource_templates()
            .await
            .expect("resources/templates/list");
        assert!(
            templates
                .iter()
                .any(|t| t.uri_template == "kingly://log/{level}"),
            "{templates:?}"
        );
        let values = conn
            .client
            .complete_resource_simple("kingly://log/{level}", "level", "")
            .await
            .expect("completion/complete on level");
        for level in LOG_LEVELS {
            assert!(
                values.iter().any(|v| v == level),
                "{level} not in {values:?}"
            );
        }
        let (_, text) = resource_text(&read(&conn, "kingly://log/info").await, "kingly://log/info");
        assert_log_has_booted(&text);
        conn
    });
}

#[test]
#[allow(deprecated)] // resources/subscribe is legacy-only in rmcp 3.11, and this is a legacy session
fn subscribe_metrics_gets_updates() {
    run(legacy(), |conn| async move {
        conn.client
            .subscribe(SubscribeRequestParams::new("kingly://metrics"))
            .await
            .expect("resources/subscribe");
        tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                // Every request served changes the metrics.
                let _ = conn
                    .client
                    .send_request(ClientRequest::PingRequest(Default::default()))
                    .await;
                if conn
                    .recorder
                    .updated
                    .lock()
                    .unwrap()
                    .iter()
                    .any(|u| u == "kingly://metrics")
                {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
        .await
        .expect("no notifications/resources/updated for kingly://metrics");
        conn
    });
}

// --- prompts -----------------------------------------------------------------------

#[test]
fn get_board_report_prompt() {
    run(legacy(), |conn| async move {
        let prompts = conn.client.list_all_prompts().await.expect("prompts/list");
        let names: Vec<_> = prompts.iter().map(|p| p.name.as_str()).collect();
        assert!(
            names.contains(&"board_report") && names.contains(&"explain_fault"),
            "{names:?}"
        );

        let result = conn
            .client
            .get_prompt(GetPromptRequestParams::new("board_report"))
            .await
            .expect("prompts/get board_report");
        let messages = serde_json::to_value(&result.messages).unwrap();
        assert_eq!(messages[0]["role"], json!("user"), "{messages}");
        let text = messages[0]["content"]["text"].as_str().unwrap_or_default();
        assert!(
            text.contains(BOARD_REVISION),
            "board_report without the board facts: {messages}"
        );

        let focus = conn
            .client
            .complete_prompt_simple("board_report", "focus", "")
            .await
            .expect("completion/complete on focus");
        for value in ["all", "memory", "cores", "thermal", "clocks"] {
            assert!(focus.iter().any(|v| v == value), "{value} not in {focus:?}");
        }
        conn
    });
}

#[test]
fn explain_fault_prompt_needs_a_report() {
    run(legacy(), |conn| async move {
        let report = "synchronous exception at ELR 0x80abc, ESR 0x96000045 (data abort)";
        let with = conn
            .client
            .get_prompt(
                GetPromptRequestParams::new("explain_fault")
                    .with_arguments(json!({"report": report}).as_object().cloned().unwrap()),
            )
            .await
            .expect("prompts/get explain_fault");
        let messages = serde_json::to_value(&with.messages).unwrap();
        assert!(messages.to_string().contains("0x96000045"), "{messages}");
        let without = conn
            .client
            .get_prompt(GetPromptRequestParams::new("explain_fault"))
            .await;
        assert!(
            without.is_err(),
            "explain_fault without a report: {without:?}"
        );
        conn
    });
}
