//! What happens while a handler runs: frames that arrive meanwhile
//! (cancellations, queued requests, errors answered at once) and the
//! [`Context`] the handler uses to report progress and log.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use serde_json::Value;

use super::request::{self, Era, EraRule};
use super::{lifecycle, Method, Pending, State, Transport};
use crate::context::Context;
use crate::framing::Frame;
use crate::json_out;
use crate::jsonrpc::{self, code, Envelope, Incoming, RequestId, RpcError};
use crate::limits::MAX_PENDING_REQUESTS;
use crate::logging::LogLevel;
use crate::toolbox::Toolbox;

/// The request a handler is running for.
pub(crate) struct Running<'a> {
    /// JSON text of its id (empty when `id` was known from the start).
    id_raw: &'a str,
    /// Its id in comparable form, computed only when something needs it.
    id: Option<RequestId>,
    /// Set when `notifications/cancelled` named it.
    pub cancelled: bool,
}

impl<'a> Running<'a> {
    pub fn new(id_raw: &'a str) -> Self {
        Running {
            id_raw,
            id: None,
            cancelled: false,
        }
    }

    /// A request whose id is already known in comparable form (a binary
    /// request's number: no text to print and read back).
    pub fn with_id(id: RequestId) -> Running<'static> {
        Running {
            id_raw: "",
            id: Some(id),
            cancelled: false,
        }
    }

    fn is(&mut self, other: &RequestId) -> bool {
        let id_raw = self.id_raw;
        self.id
            .get_or_insert_with(|| RequestId::from_raw(id_raw).unwrap_or(RequestId::Int(i128::MIN)))
            == other
    }
}

impl State {
    /// Sends a notification line and counts it.
    pub(crate) fn notify(&mut self, transport: &mut dyn Transport, line: &str) {
        self.metrics.notifications_sent += 1;
        transport.send_line(line);
    }

    /// An error response line, counted.
    pub(crate) fn error_line(&mut self, id_raw: &str, err: &RpcError) -> String {
        self.metrics.count_error(err.code);
        jsonrpc::error_raw(id_raw, err)
    }

    /// A notification from the client. Never answered.
    pub(crate) fn on_notification(
        &mut self,
        env: &Envelope<'_>,
        running: Option<&mut Running<'_>>,
    ) {
        self.metrics.notifications_received += 1;
        match &*env.method {
            "notifications/initialized" if self.protocol_version.is_some() => {
                self.initialized = true;
            }
            "notifications/cancelled" => {
                let Some(target) = cancelled_id(env) else {
                    return;
                };
                if let Some(r) = running {
                    if r.is(&target) {
                        r.cancelled = true;
                        return;
                    }
                }
                // A queued request is dropped unanswered; a listen stream
                // ends without a result (the client went away).
                self.pending.retain(|p| p.id != target);
                self.streams.retain(|s| s.id != target);
            }
            _ => {}
        }
    }

    /// Whether a request with this id is still in flight (running, queued or
    /// an open listen stream); a second request with it is refused.
    pub(crate) fn in_flight(&self, id: &RequestId, running: Option<&mut Running<'_>>) -> bool {
        running.is_some_and(|r| r.is(id))
            || self.pending.iter().any(|p| &p.id == id)
            || self.streams.iter().any(|s| &s.id == id)
    }

    /// Queues a request that cannot be served now, or returns the error
    /// line refusing it (duplicate id, queue full).
    pub(crate) fn enqueue(
        &mut self,
        id_raw: &str,
        line: Vec<u8>,
        running: Option<&mut Running<'_>>,
    ) -> Option<String> {
        let Some(id) = RequestId::from_raw(id_raw) else {
            return Some(self.error_line(id_raw, &RpcError::internal_error("unreadable id")));
        };
        if self.in_flight(&id, running) {
            self.metrics.requests += 1;
            return Some(self.error_line(id_raw, &duplicate_id()));
        }
        if self.pending.len() >= MAX_PENDING_REQUESTS {
            self.metrics.requests += 1;
            let err = RpcError::new(
                code::SERVER_BUSY,
                format!("Server busy: more than {MAX_PENDING_REQUESTS} requests waiting"),
            )
            .with_data(serde_json::json!({ "maxPending": MAX_PENDING_REQUESTS }));
            return Some(self.error_line(id_raw, &err));
        }
        self.pending.push_back(Pending { id, line });
        None
    }

    /// Takes in one frame that arrived while `running` runs.
    pub(crate) fn absorb(
        &mut self,
        frame: Frame,
        transport: &mut dyn Transport,
        running: &mut Running<'_>,
    ) {
        let line = match frame {
            Frame::TooLong { len } => {
                self.metrics.count_error(code::INVALID_REQUEST);
                self.metrics.responses += 1;
                transport.send_line(&super::Server::too_long_response(len));
                return;
            }
            Frame::Line(line) => line,
        };
        let reply = match jsonrpc::parse_borrowed(&line) {
            Err(rejection) => Some(self.rejection_line(&rejection)),
            Ok(Incoming::Response) => None,
            Ok(Incoming::Call(env)) => match env.id {
                None => {
                    self.on_notification(&env, Some(running));
                    None
                }
                Some(id) => {
                    let id_raw = String::from(id);
                    match self.answer_now(&env, &id_raw, Some(&mut *running)) {
                        Some(reply) => Some(reply),
                        None => {
                            drop(env);
                            self.enqueue(&id_raw, line, Some(running))
                        }
                    }
                }
            },
        };
        if let Some(reply) = reply {
            self.metrics.responses += 1;
            transport.send_line(&reply);
        }
    }

    /// Requests that touch no state are answered without waiting behind a
    /// running call: an unknown method (-32601) and `ping` (so a client can
    /// tell a busy server from a dead one). Others return `None` (queue it).
    pub(crate) fn answer_now(
        &mut self,
        env: &Envelope<'_>,
        id_raw: &str,
        running: Option<&mut Running<'_>>,
    ) -> Option<String> {
        let method = Method::lookup(&env.method);
        if !matches!(method, None | Some(Method::Ping)) {
            return None;
        }
        self.metrics.requests += 1;
        if RequestId::from_raw(id_raw).is_some_and(|id| self.in_flight(&id, running)) {
            return Some(self.error_line(id_raw, &duplicate_id()));
        }
        let outcome = match method {
            None => Err(RpcError::method_not_found(&env.method)),
            Some(_) => request::parse_params(&env.params)
                .and_then(|params| request::read_meta(params, EraRule::Either, &env.method))
                .map(|meta| {
                    let result = match meta.era {
                        Era::Modern => serde_json::json!({ "resultType": "complete" }),
                        Era::Legacy => serde_json::json!({}),
                    };
                    lifecycle::success(id_raw, &result)
                }),
        };
        Some(match outcome {
            Ok(line) => line,
            Err(err) => self.error_line(id_raw, &err),
        })
    }

    /// The error line for an envelope-level rejection, counted.
    pub(crate) fn rejection_line(&mut self, rejection: &jsonrpc::Rejection) -> String {
        self.metrics.count_error(rejection.error.code);
        jsonrpc::error(&rejection.id, &rejection.error)
    }
}

/// The error for a request reusing the id of one still in flight.
pub(crate) fn duplicate_id() -> RpcError {
    RpcError::invalid_request("a request with this id is still in flight")
}

/// `params.requestId` of a `notifications/cancelled`.
fn cancelled_id(env: &Envelope<'_>) -> Option<RequestId> {
    RequestId::from_raw(env.params.members.request_id.0?)
}

/// The [`Context`] of one running request.
pub(crate) struct RequestContext<'a, 'r> {
    pub state: &'a mut State,
    pub toolbox: &'a Arc<Toolbox>,
    pub transport: &'a mut dyn Transport,
    pub running: Running<'r>,
    pub progress_token: Option<&'r str>,
    pub last_progress: Option<f64>,
    /// The least severe level this request may log (`None`: nothing).
    pub log_level: Option<LogLevel>,
}

impl Context for RequestContext<'_, '_> {
    fn progress(&mut self, progress: f64, total: Option<f64>, message: Option<&str>) {
        let Some(token) = self.progress_token else {
            return;
        };
        if !progress.is_finite() || self.last_progress.is_some_and(|last| progress <= last) {
            return;
        }
        self.last_progress = Some(progress);
        let mut line = String::with_capacity(128);
        line.push_str("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":");
        line.push_str(token);
        line.push_str(",\"progress\":");
        json_out::write_value(&mut line, &Value::from(progress));
        if let Some(total) = total.filter(|t| t.is_finite()) {
            line.push_str(",\"total\":");
            json_out::write_value(&mut line, &Value::from(total));
        }
        if let Some(message) = message {
            line.push_str(",\"message\":");
            json_out::write_str(&mut line, message);
        }
        line.push_str("}}");
        self.state.notify(self.transport, &line);
    }

    fn cancelled(&mut self) -> bool {
        while !self.running.cancelled {
            let Some(frame) = self.transport.poll_frame() else {
                break;
            };
            self.state.absorb(frame, self.transport, &mut self.running);
        }
        self.running.cancelled
    }

    fn log(&mut self, level: LogLevel, logger: &str, data: Value) {
        if self.log_level.is_some_and(|min| level >= min) {
            let line = log_line(level, logger, &data);
            self.state.notify(self.transport, &line);
        }
    }

    fn toolbox(&self) -> Option<Arc<Toolbox>> {
        Some(Arc::clone(self.toolbox))
    }
}

/// A `notifications/message` line.
pub(crate) fn log_line(level: LogLevel, logger: &str, data: &Value) -> String {
    let mut line = String::with_capacity(96);
    line.push_str(
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"",
    );
    line.push_str(level.as_str());
    line.push_str("\",\"logger\":");
    json_out::write_str(&mut line, logger);
    line.push_str(",\"data\":");
    json_out::write_value(&mut line, data);
    line.push_str("}}");
    line
}
