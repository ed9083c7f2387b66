//! An MCP client for a server on a child process's stdio: QEMU running the
//! kernel (UART0 on stdio), or `kingly qemu` itself.
//!
//! Messages are newline-delimited JSON-RPC 2.0. Every wait is bounded (a
//! per-response timeout and an optional limit for the whole session), every
//! byte the server writes is kept for inspection, and the child is killed and
//! reaped when the client is dropped, whatever path got us there.

mod pipes;

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::error::{Error, IoContext, Result};
use pipes::FromServer;

/// The MCP revision this client speaks by default.
pub const PROTOCOL_VERSION: &str = "2025-11-25";
/// How long a single response may take by default.
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);

pub struct QemuMcp {
    child: Child,
    /// `None` once stdin has been closed.
    to_server: Option<Sender<Vec<u8>>>,
    from_server: Receiver<FromServer>,
    stdout_log: Arc<Mutex<Vec<u8>>>,
    next_id: u64,
    /// Server-to-client notifications and requests, in arrival order.
    notifications: Vec<Value>,
    /// Lines that were not JSON, and responses nobody was waiting for.
    unexpected: Vec<Vec<u8>>,
    response_timeout: Duration,
    session_deadline: Option<Instant>,
    stdout_closed: bool,
}

impl QemuMcp {
    /// Starts `cmd` with piped stdin and stdout (stderr is left as the
    /// command has it: inherited unless set).
    pub fn spawn(mut cmd: Command) -> Result<Self> {
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped());
        let program = cmd.get_program().to_string_lossy().into_owned();
        let mut child = cmd.spawn().context(|| format!("start {program}"))?;
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        let stdout_log = Arc::new(Mutex::new(Vec::new()));
        Ok(Self {
            from_server: pipes::spawn_reader(stdout, Arc::clone(&stdout_log)),
            to_server: Some(pipes::spawn_writer(stdin)),
            child,
            stdout_log,
            next_id: 1,
            notifications: Vec::new(),
            unexpected: Vec::new(),
            response_timeout: DEFAULT_RESPONSE_TIMEOUT,
            session_deadline: None,
            stdout_closed: false,
        })
    }

    /// Boots `kernel` with `image` in QEMU (see [`crate::qemu::qemu_command`]).
    pub fn boot(kernel: &Path, image: &Path, extra: &[&str]) -> Result<Self> {
        Self::spawn(crate::qemu::qemu_command(kernel, image, extra))
    }

    pub fn set_response_timeout(&mut self, timeout: Duration) {
        self.response_timeout = timeout;
    }

    /// Bounds every later wait so the session as a whole ends within `limit`
    /// from now.
    pub fn set_session_limit(&mut self, limit: Duration) {
        self.session_deadline = Some(Instant::now() + limit);
    }

    /// The server's process id (QEMU's, also when started through an exec).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Writes bytes to the server's stdin as they are: no framing added.
    pub fn send_raw(&mut self, bytes: &[u8]) -> Result<()> {
        let sender = self
            .to_server
            .as_ref()
            .ok_or_else(|| Error::Protocol("stdin already closed".into()))?;
        sender.send(bytes.to_vec()).map_err(|_| {
            Error::Qemu(format!(
                "stopped reading its stdin ({})",
                self.exit_description()
            ))
        })
    }

    /// Sends one message as a line.
    pub fn send(&mut self, message: &Value) -> Result<()> {
        let mut line = serde_json::to_vec(message).expect("a Value serializes");
        line.push(b'\n');
        self.send_raw(&line)
    }

    /// Sends a request with the next id and returns the whole response
    /// message (with `result` or `error`).
    pub fn request(&mut self, method: &str, params: Option<Value>) -> Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        let mut message = json!({"jsonrpc": "2.0", "id": id, "method": method});
        if let Some(params) = params {
            message["params"] = params;
        }
        self.send(&message)?;
        self.wait_for_response(&json!(id), &format!("`{method}` (id {id})"))
    }

    /// Like [`Self::request`], returning `result`, or [`Error::Rpc`].
    pub fn call(&mut self, method: &str, params: Option<Value>) -> Result<Value> {
        let response = self.request(method, params)?;
        into_result(response)
    }

    pub fn notify(&mut self, method: &str, params: Option<Value>) -> Result<()> {
        let mut message = json!({"jsonrpc": "2.0", "method": method});
        if let Some(params) = params {
            message["params"] = params;
        }
        self.send(&message)
    }

    /// The MCP handshake: `initialize` asking for `protocol_version`, then
    /// `notifications/initialized`. Returns the initialize result.
    pub fn initialize(&mut self, protocol_version: &str, client_name: &str) -> Result<Value> {
        let params = json!({
            "protocolVersion": protocol_version,
            "capabilities": {},
            "clientInfo": {"name": client_name, "version": env!("CARGO_PKG_VERSION")},
        });
        let result = self.call("initialize", Some(params))?;
        self.notify("notifications/initialized", None)?;
        Ok(result)
    }

    /// `tools/list`, following `nextCursor` pages.
    pub fn list_tools(&mut self) -> Result<Vec<Value>> {
        let mut tools = Vec::new();
        let mut cursor: Option<Value> = None;
        loop {
            let params = cursor.take().map(|c| json!({"cursor": c}));
            let page = self.call("tools/list", params)?;
            let Some(list) = page.get("tools").and_then(Value::as_array) else {
                return Err(Error::Protocol(format!(
                    "tools/list result has no `tools` array: {page}"
                )));
            };
            tools.extend(list.iter().cloned());
            match page.get("nextCursor") {
                Some(next) if !next.is_null() => cursor = Some(next.clone()),
                _ => return Ok(tools),
            }
        }
    }

    /// `tools/call`; returns the CallToolResult (check its `isError`).
    pub fn call_tool(&mut self, name: &str, arguments: Value) -> Result<Value> {
        self.call(
            "tools/call",
            Some(json!({"name": name, "arguments": arguments})),
        )
    }

    /// The card path (8.3 names, as the kernel opens files) of the first
    /// `.gguf` file in `/MODELS`, if there is one.
    pub fn model_on_card(&mut self) -> Result<Option<String>> {
        let listing = self.call_tool("fs_list", json!({"path": "/MODELS"}))?;
        if listing["isError"] == true {
            return Ok(None);
        }
        let entries = &listing["structuredContent"]["entries"];
        Ok(entries
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| {
                e["long_name"]
                    .as_str()
                    .is_some_and(|n| n.to_ascii_lowercase().ends_with(".gguf"))
            })
            .and_then(|e| e["name"].as_str())
            .map(|name| format!("/MODELS/{name}")))
    }

    /// Waits for the response whose id equals `id` (`Value::Null` for errors
    /// about unreadable requests). Notifications that arrive meanwhile are
    /// kept; other lines are kept as unexpected.
    pub fn wait_for_response(&mut self, id: &Value, what: &str) -> Result<Value> {
        loop {
            let message = self.next_message(what)?;
            if is_response(&message) && message.get("id") == Some(id) {
                return Ok(message);
            }
            if is_response(&message) {
                self.unexpected.push(message.to_string().into_bytes());
            } else {
                self.notifications.push(message);
            }
        }
    }

    /// Waits for the next response, whatever its id (notifications are kept).
    pub fn next_response(&mut self, what: &str) -> Result<Value> {
        loop {
            let message = self.next_message(what)?;
            if is_response(&message) {
                return Ok(message);
            }
            self.notifications.push(message);
        }
    }

    /// Waits for the next line that parses as JSON; other lines are kept as
    /// unexpected.
    pub fn next_message(&mut self, what: &str) -> Result<Value> {
        loop {
            let line = self.next_line(what)?;
            match serde_json::from_slice::<Value>(&line) {
                Ok(message) => return Ok(message),
                Err(_) => self.unexpected.push(line),
            }
        }
    }

    fn next_line(&mut self, what: &str) -> Result<Vec<u8>> {
        if self.stdout_closed {
            return Err(self.closed_error(what));
        }
        let start = Instant::now();
        let mut wait = self.response_timeout;
        if let Some(deadline) = self.session_deadline {
            wait = wait.min(deadline.saturating_duration_since(start));
        }
        match self.from_server.recv_timeout(wait) {
            Ok(FromServer::Line(line)) => Ok(line),
            Ok(FromServer::Unterminated(bytes)) => {
                self.unexpected.push(bytes);
                self.next_line(what)
            }
            Ok(FromServer::ReadFailed(e)) => {
                Err(Error::Qemu(format!("reading its stdout failed: {e}")))
            }
            Ok(FromServer::Closed) | Err(RecvTimeoutError::Disconnected) => {
                self.stdout_closed = true;
                Err(self.closed_error(what))
            }
            Err(RecvTimeoutError::Timeout) => Err(Error::Timeout {
                what: format!("the response to {what}{}", self.silence_hint()),
                seconds: wait.as_secs_f64(),
            }),
        }
    }

    fn silence_hint(&self) -> &'static str {
        if self.stdout_bytes().is_empty() {
            " (QEMU has written nothing to stdout: is the kernel answering on UART0?)"
        } else {
            ""
        }
    }

    fn closed_error(&mut self, what: &str) -> Error {
        Error::Qemu(format!(
            "closed its stdout before the response to {what} ({})",
            self.exit_description()
        ))
    }

    /// "exited with …" or "still running", for error messages.
    fn exit_description(&mut self) -> String {
        // Give a dying process a moment so the message can say how it ended.
        for _ in 0..20 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return format!("QEMU {status}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        "QEMU still running".into()
    }

    /// Every byte the server has written to stdout so far.
    pub fn stdout_bytes(&self) -> Vec<u8> {
        self.stdout_log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Notifications (and server requests) received so far.
    pub fn notifications(&self) -> &[Value] {
        &self.notifications
    }

    pub fn take_notifications(&mut self) -> Vec<Value> {
        std::mem::take(&mut self.notifications)
    }

    /// Non-JSON lines and responses that matched no waiting request.
    pub fn unexpected_lines(&self) -> &[Vec<u8>] {
        &self.unexpected
    }

    /// Closes the server's stdin (after pending writes). QEMU keeps running.
    pub fn close_stdin(&mut self) {
        self.to_server = None;
    }

    /// How the server ended, if it has (without waiting).
    pub fn exit_status(&mut self) -> Result<Option<ExitStatus>> {
        self.child.try_wait().context(|| "check on QEMU".into())
    }

    /// Kills the server and reaps it.
    pub fn shutdown(mut self) -> Result<ExitStatus> {
        self.kill_and_reap()
    }

    fn kill_and_reap(&mut self) -> Result<ExitStatus> {
        self.to_server = None;
        if let Some(status) = self.child.try_wait().context(|| "check on QEMU".into())? {
            return Ok(status);
        }
        // An error here means it exited meanwhile; `wait` reaps it either way.
        let _ = self.child.kill();
        self.child.wait().context(|| "wait for QEMU".into())
    }
}

impl Drop for QemuMcp {
    fn drop(&mut self) {
        let _ = self.kill_and_reap();
    }
}

/// A response has an `id` and no `method` (a request has both).
pub fn is_response(message: &Value) -> bool {
    message.get("id").is_some() && message.get("method").is_none()
}

/// A response's `result`, or its `error` as [`Error::Rpc`].
pub fn into_result(mut response: Value) -> Result<Value> {
    if let Some(error) = response.get("error") {
        return Err(Error::Rpc {
            code: error.get("code").and_then(Value::as_i64).unwrap_or(0),
            message: error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            data: error.get("data").cloned(),
        });
    }
    match response.get_mut("result") {
        Some(result) => Ok(result.take()),
        None => Err(Error::Protocol(format!(
            "response without result or error: {response}"
        ))),
    }
}

/// Checks that `stdout` is nothing but `\n`-terminated lines, each a JSON
/// object with `"jsonrpc": "2.0"`, and returns them; or describes the first
/// offending line. What an MCP stdio server may write, and nothing else.
pub fn jsonrpc_lines(stdout: &[u8]) -> Result<Vec<Value>, String> {
    let Some(body) = stdout.strip_suffix(b"\n") else {
        return match stdout.is_empty() {
            true => Ok(Vec::new()),
            false => Err(format!(
                "output does not end with a newline: ...{}",
                tail(stdout)
            )),
        };
    };
    body.split(|&b| b == b'\n')
        .enumerate()
        .map(
            |(index, line)| match serde_json::from_slice::<Value>(line) {
                Ok(message) if message.get("jsonrpc") == Some(&json!("2.0")) => Ok(message),
                Ok(_) => Err(format!(
                    "line {} is JSON but not JSON-RPC 2.0: {}",
                    index + 1,
                    String::from_utf8_lossy(line)
                )),
                Err(e) => Err(format!(
                    "line {} is not JSON ({e}): {:?}",
                    index + 1,
                    String::from_utf8_lossy(line)
                )),
            },
        )
        .collect()
}

/// The last bytes of `bytes`, printable, for messages.
fn tail(bytes: &[u8]) -> String {
    let start = bytes.len().saturating_sub(80);
    format!("{:?}", String::from_utf8_lossy(&bytes[start..]))
}

#[cfg(all(test, unix))]
mod tests;
