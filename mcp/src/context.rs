//! What a running handler may do while it runs: report progress, notice a
//! cancellation, log. The server implements [`Context`] for each request;
//! handlers never see the transport or the server itself.

use crate::logging::LogLevel;
use crate::toolbox::Toolbox;
use alloc::sync::Arc;
use serde_json::Value;

/// The running request, as a handler sees it.
pub trait Context {
    /// Sends `notifications/progress` if the request carried a
    /// `_meta.progressToken`. Values must increase: a value not above the
    /// last one sent (or NaN) is dropped, as MCP requires progress to grow.
    fn progress(&mut self, progress: f64, total: Option<f64>, message: Option<&str>);
    /// Reads what has arrived on the transport meanwhile and returns true
    /// once `notifications/cancelled` for this request came in; the handler
    /// should then stop (its result is discarded, no response is sent).
    /// Requests that arrive meanwhile are queued (bounded) and served after
    /// this request.
    fn cancelled(&mut self) -> bool;
    /// Sends `notifications/message` if this request's log level (2026-07-28
    /// `_meta`) or the session's (`logging/setLevel`) wants `level`.
    fn log(&mut self, level: LogLevel, logger: &str, data: Value);
    /// The server's tools, for a handler that calls other tools (the
    /// on-device agent, EL0 programs' `svc`). `None` outside a request.
    fn toolbox(&self) -> Option<Arc<Toolbox>> {
        None
    }
}

/// A context that sends nothing and is never cancelled: for calling a
/// handler outside a request (tests, in-kernel callers).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoContext;

impl Context for NoContext {
    fn progress(&mut self, _: f64, _: Option<f64>, _: Option<&str>) {}
    fn cancelled(&mut self) -> bool {
        false
    }
    fn log(&mut self, _: LogLevel, _: &str, _: Value) {}
}
