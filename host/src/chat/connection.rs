//! The MCP connection of `kingly chat`: rmcp's client over the stdio of this
//! same executable run as `kingly qemu` or `kingly serial`, so the bridges
//! (QEMU's supervision, the byte-exact serial relay) are the ones every other
//! MCP client uses.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use rmcp::model::{
    CallToolRequest, CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig,
    ClientRequest, Implementation, JsonRpcMessage, ProgressNotificationParam,
    ReadResourceRequestParams, ReadResourceResult, ServerNotification, ServerResult, Tool,
};
use rmcp::service::{
    PeerRequestOptions, RoleClient, RunningService, RxJsonRpcMessage, ServiceError,
    TxJsonRpcMessage,
};
use rmcp::transport::{TokioChildProcess, Transport};
use rmcp::ServiceExt;
use serde_json::{Map, Value};
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::mpsc;

/// Where the board is.
#[derive(Debug, Clone)]
pub enum Target {
    /// QEMU raspi4b booting this image (`None`: the default, built if needed).
    Qemu { image: Option<PathBuf> },
    /// A real Pi 4's UART0 through a serial adapter.
    Serial { device: String, baud: u32 },
}

impl Target {
    /// The `kingly` command that serves this target's MCP on its stdio.
    fn command(&self) -> std::io::Result<tokio::process::Command> {
        let mut cmd = tokio::process::Command::new(std::env::current_exe()?);
        match self {
            Target::Qemu { image } => {
                cmd.arg("qemu");
                if let Some(image) = image {
                    cmd.arg("--image").arg(image);
                }
            }
            Target::Serial { device, baud } => {
                cmd.arg("serial")
                    .arg(device)
                    .arg("--baud")
                    .arg(baud.to_string());
            }
        }
        // Its own process group: Ctrl-C on the terminal is for the REPL (it
        // cancels a reply), not a signal that would stop QEMU with it.
        cmd.process_group(0);
        Ok(cmd)
    }

    pub fn describe(&self) -> String {
        match self {
            Target::Qemu { image: Some(image) } => format!("{} in QEMU", image.display()),
            Target::Qemu { image: None } => "the default SD image in QEMU".into(),
            Target::Serial { device, baud } => format!("the board on {device} at {baud} baud"),
        }
    }
}

/// How a tool call ended.
pub enum Reply {
    Done(CallToolResult),
    /// Ctrl-C: `notifications/cancelled` was sent; the server sends no response.
    Cancelled,
}

pub struct Connection {
    client: RunningService<RoleClient, ClientConfig>,
    /// Every progress notification, in the order the server sent them.
    progress: mpsc::UnboundedReceiver<ProgressNotificationParam>,
}

impl Connection {
    /// Starts the target's `kingly` bridge and does the MCP handshake.
    pub async fn open(target: &Target) -> Result<Self, String> {
        let command = target
            .command()
            .map_err(|e| format!("cannot find this program to run it as a bridge: {e}"))?;
        let child = TokioChildProcess::new(command)
            .map_err(|e| format!("cannot start the bridge to {}: {e}", target.describe()))?;
        let (sender, progress) = mpsc::unbounded_channel();
        let transport = InOrder {
            inner: child,
            progress: sender,
        };
        let info = ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("kingly-chat", env!("CARGO_PKG_VERSION")),
        );
        let client = info
            .serve(transport)
            .await
            .map_err(|e| format!("no MCP session with {}: {e}", target.describe()))?;
        Ok(Self { client, progress })
    }

    /// "kingly-os 0.1.0 (MCP 2025-11-25)".
    pub fn server_description(&self) -> String {
        let Some(info) = self.client.peer_info() else {
            return "the board".into();
        };
        match &info.server_info {
            Some(server) => format!(
                "{} {} (MCP {})",
                server.name, server.version, info.protocol_version
            ),
            None => format!("the board (MCP {})", info.protocol_version),
        }
    }

    /// Calls a tool, handing its progress notifications to `on_progress` as
    /// they arrive, until the result comes or Ctrl-C cancels the call.
    pub async fn call(
        &mut self,
        name: &str,
        arguments: Map<String, Value>,
        interrupts: &mut Interrupts,
        mut on_progress: impl FnMut(&ProgressNotificationParam),
    ) -> Result<Reply, ServiceError> {
        // Progress of an earlier, cancelled call may still be queued.
        while self.progress.try_recv().is_ok() {}
        interrupts.forget();
        let params = CallToolRequestParams::new(name.to_owned()).with_arguments(arguments);
        let mut handle = self
            .client
            .send_cancellable_request(
                ClientRequest::CallToolRequest(CallToolRequest::new(params)),
                PeerRequestOptions::no_options(),
            )
            .await?;
        let token = handle.progress_token.clone();
        let response = loop {
            tokio::select! {
                response = &mut handle.rx => break Some(response),
                Some(progress) = self.progress.recv() => {
                    if progress.progress_token == token {
                        on_progress(&progress);
                    }
                }
                () = interrupts.next() => break None,
            }
        };
        let Some(response) = response else {
            handle
                .cancel(Some("interrupted by the user".into()))
                .await?;
            return Ok(Reply::Cancelled);
        };
        let result = response.map_err(|_| ServiceError::TransportClosed)??;
        // Progress the server sent before the response is queued already.
        while let Ok(progress) = self.progress.try_recv() {
            if progress.progress_token == token {
                on_progress(&progress);
            }
        }
        match result {
            ServerResult::CallToolResult(result) => Ok(Reply::Done(result)),
            _ => Err(ServiceError::UnexpectedResponse),
        }
    }

    /// Calls a tool that needs no progress and no cancelling.
    pub async fn call_quietly(
        &mut self,
        name: &str,
        arguments: Map<String, Value>,
    ) -> Result<CallToolResult, ServiceError> {
        let params = CallToolRequestParams::new(name.to_owned()).with_arguments(arguments);
        self.client.call_tool(params).await
    }

    pub async fn tools(&self) -> Result<Vec<Tool>, ServiceError> {
        self.client.list_all_tools().await
    }

    pub async fn read(&self, uri: &str) -> Result<ReadResourceResult, ServiceError> {
        self.client
            .read_resource(ReadResourceRequestParams::new(uri))
            .await
    }

    /// Closes stdin; the bridge then stops QEMU (or the serial relay) and
    /// exits, and rmcp waits for it (SIGTERM, then SIGKILL, if it lingers).
    pub async fn close(mut self) {
        let _ = self
            .client
            .close_with_timeout(Duration::from_secs(20))
            .await;
    }
}

/// Whether an error means the connection is gone (nothing more will work).
pub fn is_closed(error: &ServiceError) -> bool {
    matches!(
        error,
        ServiceError::TransportClosed | ServiceError::TransportSend(_)
    )
}

/// An error as a sentence for the user.
pub fn describe_error(error: &ServiceError) -> String {
    match error {
        ServiceError::McpError(e) => format!("{} (JSON-RPC error {})", e.message, e.code.0),
        e if is_closed(e) => "the connection to the board is closed".into(),
        ServiceError::UnexpectedResponse => "the board's answer is not a tool result".into(),
        other => other.to_string(),
    }
}

/// The child's transport, also sending a copy of every progress notification,
/// in arrival order, to the connection. rmcp hands notifications to
/// `ClientHandler::on_progress` on separate tasks, whose order is not the
/// wire's, and a reply's tokens must print in order.
struct InOrder {
    inner: TokioChildProcess,
    progress: mpsc::UnboundedSender<ProgressNotificationParam>,
}

impl Transport<RoleClient> for InOrder {
    type Error = std::io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleClient>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        self.inner.send(item)
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleClient>> {
        let message = self.inner.receive().await?;
        if let JsonRpcMessage::Notification(n) = &message {
            if let ServerNotification::ProgressNotification(p) = &n.notification {
                // The receiver is gone only when the connection is.
                let _ = self.progress.send(p.params.clone());
            }
        }
        Some(message)
    }

    fn close(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.inner.close()
    }
}

/// Ctrl-C (SIGINT from the terminal) as an event instead of the end of the
/// process.
pub struct Interrupts(Signal);

impl Interrupts {
    pub fn install() -> std::io::Result<Self> {
        signal(SignalKind::interrupt()).map(Self)
    }

    /// The next Ctrl-C.
    pub async fn next(&mut self) {
        // `None` only if the signal driver is gone; never wake then.
        if self.0.recv().await.is_none() {
            std::future::pending::<()>().await;
        }
    }

    /// Drops a Ctrl-C that came while nobody was waiting (say, just as a
    /// reply ended), so that it does not end what comes next.
    pub fn forget(&mut self) {
        use std::task::{Context, Poll, Waker};
        let mut cx = Context::from_waker(Waker::noop());
        while let Poll::Ready(Some(())) = self.0.poll_recv(&mut cx) {}
    }
}
