//! The MCP server proper: session state, the method table and the paths a
//! message takes through it.
//!
//! The kernel owns the UART. It frames bytes with [`crate::LineFramer`] and
//! hands each frame to [`Server::handle_frame`] with a [`Transport`] that
//! writes lines back and can be polled for more frames while a tool runs
//! (that is how `notifications/cancelled` reaches a running call). Requests
//! read meanwhile are queued; the kernel drains them with
//! [`Server::serve_queued`]. [`Server::handle_line`] is the same dispatch for
//! one request and one response, without a transport.
//!
//! Era rule (see [`crate::protocol`]): a request whose
//! `params._meta` holds `io.modelcontextprotocol/protocolVersion` (or whose
//! method exists only in 2026-07-28) is served statelessly in the 2026-07-28
//! era; anything else belongs to the `initialize` session. Before
//! `initialize`, a session request other than `ping` is refused with -32600.

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use serde_json::{json, Map, Value};

use crate::catalog::Catalog;
use crate::framing::{Frame, MAX_LINE_BYTES};
use crate::json_out;
use crate::jsonrpc::{self, Envelope, Incoming, RequestId, RpcError};
use crate::logging::LogLevel;
use crate::metrics::Metrics;
use crate::pagination::{self, Listed};
use crate::params::{Params, ParamsSlot};
use crate::prompts::Prompt;
use crate::protocol;
use crate::registry::Tool;
use crate::resources::{Resource, ResourceTemplate};
use crate::toolbox::Toolbox;

pub(crate) mod binary_call;
mod inflight;
mod lifecycle;
mod prompts;
pub(crate) mod request;
mod resources;
mod tools;

use request::{Era, EraRule, RequestMeta};

/// Where lines come from and go to (the kernel's UART0).
pub trait Transport {
    /// Non-blocking: the next complete frame from the client, if one has arrived.
    fn poll_frame(&mut self) -> Option<Frame>;
    /// Writes one JSON-RPC line; the transport adds the `\n`.
    fn send_line(&mut self, line: &str);
}

/// A transport with nothing to read that discards what is sent: what
/// [`Server::handle_line`] runs handlers with.
#[derive(Debug, Default, Clone, Copy)]
pub struct NullTransport;

impl Transport for NullTransport {
    fn poll_frame(&mut self) -> Option<Frame> {
        None
    }
    fn send_line(&mut self, _: &str) {}
}

/// How the server introduces itself in `initialize` / `server/discover`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerInfo {
    /// Programmatic name, e.g. `"kingly-os"`.
    pub name: &'static str,
    /// Display name.
    pub title: &'static str,
    pub version: &'static str,
    /// Optional hints for the model on how to use this server.
    pub instructions: Option<&'static str>,
}

/// The threshold before a client calls `logging/setLevel`.
pub const DEFAULT_LOG_LEVEL: LogLevel = LogLevel::Info;

/// One MCP server over one transport.
#[derive(Debug)]
pub struct Server {
    info: ServerInfo,
    /// Shared with running handlers ([`crate::Context::toolbox`]).
    tools: Arc<Toolbox>,
    resources: Catalog<Resource>,
    templates: Catalog<ResourceTemplate>,
    prompts: Catalog<Prompt>,
    state: State,
}

/// Everything a frame arriving mid-call may change, kept apart from the
/// registries so that a running handler (borrowed from a registry) and its
/// [`crate::Context`] (borrowing this) can coexist.
#[derive(Debug)]
pub(crate) struct State {
    /// The revision agreed in the latest `initialize`, if any.
    protocol_version: Option<&'static str>,
    /// Set when the client confirms with `notifications/initialized`.
    initialized: bool,
    /// The least severe `notifications/message` the session wants.
    log_level: LogLevel,
    /// URIs subscribed with `resources/subscribe` (handshake era).
    subscriptions: Vec<String>,
    /// Open `subscriptions/listen` streams (2026-07-28 era).
    streams: Vec<ListenStream>,
    /// Requests read while a handler ran, served in order afterwards.
    pending: VecDeque<Pending>,
    metrics: Metrics,
}

/// A request waiting to be served.
#[derive(Debug)]
pub(crate) struct Pending {
    id: RequestId,
    line: Vec<u8>,
}

/// An open `subscriptions/listen` stream.
#[derive(Debug)]
pub(crate) struct ListenStream {
    id: RequestId,
    /// JSON text of the listen request's id (the subscription id).
    id_raw: String,
    /// Resource URIs it asked for and we honoured.
    uris: Vec<String>,
}

/// Every method we serve, and the era(s) it exists in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Initialize,
    Ping,
    SetLevel,
    ToolsList,
    ToolsCall,
    ResourcesList,
    ResourcesRead,
    TemplatesList,
    Subscribe,
    Unsubscribe,
    PromptsList,
    PromptsGet,
    Complete,
    Discover,
    Listen,
}

impl Method {
    fn lookup(name: &str) -> Option<Method> {
        Some(match name {
            "tools/call" => Method::ToolsCall,
            "tools/list" => Method::ToolsList,
            "ping" => Method::Ping,
            "initialize" => Method::Initialize,
            "logging/setLevel" => Method::SetLevel,
            "resources/list" => Method::ResourcesList,
            "resources/read" => Method::ResourcesRead,
            "resources/templates/list" => Method::TemplatesList,
            "resources/subscribe" => Method::Subscribe,
            "resources/unsubscribe" => Method::Unsubscribe,
            "prompts/list" => Method::PromptsList,
            "prompts/get" => Method::PromptsGet,
            "completion/complete" => Method::Complete,
            "server/discover" => Method::Discover,
            "subscriptions/listen" => Method::Listen,
            _ => return None,
        })
    }

    fn era_rule(self) -> EraRule {
        match self {
            Method::Initialize => EraRule::AlwaysLegacy,
            Method::SetLevel | Method::Subscribe | Method::Unsubscribe => EraRule::LegacyOnly,
            Method::Discover | Method::Listen => EraRule::ModernOnly,
            _ => EraRule::Either,
        }
    }
}

/// What serving a request produced.
type Outcome = Result<Option<String>, RpcError>;

impl Server {
    pub fn new(info: ServerInfo) -> Server {
        Server {
            info,
            tools: Arc::default(),
            resources: Catalog::default(),
            templates: Catalog::default(),
            prompts: Catalog::default(),
            state: State {
                protocol_version: None,
                initialized: false,
                log_level: DEFAULT_LOG_LEVEL,
                subscriptions: Vec::new(),
                streams: Vec::new(),
                pending: VecDeque::new(),
                metrics: Metrics::default(),
            },
        }
    }

    /// Registers a tool; one with the same name is replaced in place.
    /// Tools are registered before serving: panics if a handler still holds
    /// the toolbox (none runs between requests).
    pub fn add_tool(&mut self, tool: Tool) {
        Arc::get_mut(&mut self.tools)
            .expect("tools are registered while no handler holds the toolbox")
            .add(tool);
    }

    /// The registered tools, as handlers see them through
    /// [`crate::Context::toolbox`].
    pub fn toolbox(&self) -> Arc<Toolbox> {
        Arc::clone(&self.tools)
    }

    /// Registers a resource; one with the same URI is replaced in place.
    pub fn add_resource(&mut self, resource: Resource) {
        self.resources.add(resource);
    }

    /// Registers a resource template; one with the same template is replaced.
    pub fn add_resource_template(&mut self, template: ResourceTemplate) {
        self.templates.add(template);
    }

    /// Registers a prompt; one with the same name is replaced in place.
    pub fn add_prompt(&mut self, prompt: Prompt) {
        self.prompts.add(prompt);
    }

    /// True once the client has sent `notifications/initialized` after a
    /// successful `initialize`.
    pub fn initialized(&self) -> bool {
        self.state.initialized
    }

    /// Whether the session's `logging/setLevel` threshold admits `level`.
    pub fn wants_log(&self, level: LogLevel) -> bool {
        level >= self.state.log_level
    }

    /// The protocol revision negotiated by the latest `initialize`.
    pub fn protocol_version(&self) -> Option<&'static str> {
        self.state.protocol_version
    }

    /// Counters for the `kingly://metrics` resource.
    pub fn metrics(&self) -> &Metrics {
        &self.state.metrics
    }

    /// Requests read while a handler ran and not yet served.
    pub fn pending(&self) -> usize {
        self.state.pending.len()
    }

    /// Handles one frame, writing every response and notification through
    /// `transport`; handlers run with a [`crate::Context`] bound to this
    /// request and transport.
    pub fn handle_frame(&mut self, frame: Frame, transport: &mut dyn Transport) {
        let reply = match frame {
            Frame::Line(line) => self.process(line, transport),
            Frame::TooLong { len } => {
                self.state
                    .metrics
                    .count_error(jsonrpc::code::INVALID_REQUEST);
                Some(Self::too_long_response(len))
            }
        };
        if let Some(reply) = reply {
            self.state.metrics.responses += 1;
            transport.send_line(&reply);
        }
    }

    /// Serves the oldest request queued while a handler ran. Returns false
    /// when there was none; the kernel calls it after `handle_frame` until
    /// it does.
    pub fn serve_queued(&mut self, transport: &mut dyn Transport) -> bool {
        let Some(next) = self.state.pending.pop_front() else {
            return false;
        };
        let reply = match jsonrpc::parse_borrowed(&next.line) {
            Ok(Incoming::Call(env)) if env.id.is_some() => self.serve(env, transport),
            // Only valid requests are queued; anything else is a bug, and
            // silence is the safe answer to it.
            _ => None,
        };
        if let Some(reply) = reply {
            self.state.metrics.responses += 1;
            transport.send_line(&reply);
        }
        true
    }

    /// Handles one framed line (without its newline) and returns the
    /// response line, or `None` when none is due (notifications, responses
    /// from the client, cancelled or long-lived requests). The same dispatch
    /// as [`Self::handle_frame`], without a transport: notifications sent
    /// while handling are discarded.
    pub fn handle_line(&mut self, line: &[u8]) -> Option<String> {
        let reply = self.process_borrowed(line, &mut NullTransport)?;
        self.state.metrics.responses += 1;
        Some(reply)
    }

    /// The error line to send when the framer reports [`Frame::TooLong`].
    pub fn too_long_response(len: usize) -> String {
        let err = RpcError::invalid_request(&format!(
            "line of {len} bytes exceeded MAX_LINE_BYTES ({MAX_LINE_BYTES})"
        ))
        .with_data(json!({ "len": len, "max": MAX_LINE_BYTES }));
        jsonrpc::error(&Value::Null, &err)
    }

    /// A kernel log record: `notifications/message` to an `initialize`d
    /// session whose level admits it. (2026-era clients only receive log
    /// messages during their own requests, at the level they asked for.)
    pub fn log(
        &mut self,
        level: LogLevel,
        logger: &str,
        data: Value,
        transport: &mut dyn Transport,
    ) {
        if self.state.protocol_version.is_some() && level >= self.state.log_level {
            let line = inflight::log_line(level, logger, &data);
            self.state.notify(transport, &line);
        }
    }

    /// Owned-line entry: like [`Self::process_borrowed`], but a request that
    /// must wait keeps its bytes without a copy.
    fn process(&mut self, line: Vec<u8>, transport: &mut dyn Transport) -> Option<String> {
        if self.state.pending.is_empty() {
            return self.process_borrowed(&line, transport);
        }
        self.process_behind_queue(line)
    }

    fn process_borrowed(&mut self, line: &[u8], transport: &mut dyn Transport) -> Option<String> {
        if !self.state.pending.is_empty() {
            return self.process_behind_queue(line.to_vec());
        }
        match jsonrpc::parse_borrowed(line) {
            Err(rejection) => Some(self.state.rejection_line(&rejection)),
            Ok(Incoming::Response) => None,
            Ok(Incoming::Call(env)) if env.id.is_none() => {
                self.state.on_notification(&env, None);
                None
            }
            Ok(Incoming::Call(env)) => {
                let id_raw = env.id.unwrap_or("null");
                if !self.state.streams.is_empty() {
                    if let Some(id) = RequestId::from_raw(id_raw) {
                        if self.state.in_flight(&id, None) {
                            self.state.metrics.requests += 1;
                            return Some(self.state.error_line(id_raw, &inflight::duplicate_id()));
                        }
                    }
                }
                self.serve(env, transport)
            }
        }
    }

    /// Requests wait behind those already queued, so order is kept;
    /// notifications, errors, `ping` and unknown methods are dealt with at once.
    fn process_behind_queue(&mut self, line: Vec<u8>) -> Option<String> {
        let id_raw = match jsonrpc::parse_borrowed(&line) {
            Err(rejection) => return Some(self.state.rejection_line(&rejection)),
            Ok(Incoming::Response) => return None,
            Ok(Incoming::Call(env)) => match env.id {
                None => {
                    self.state.on_notification(&env, None);
                    return None;
                }
                Some(id) => {
                    let id_raw = String::from(id);
                    if let Some(reply) = self.state.answer_now(&env, &id_raw, None) {
                        return Some(reply);
                    }
                    id_raw
                }
            },
        };
        self.state.enqueue(&id_raw, line, None)
    }

    /// Serves one request (its envelope already valid, its id present).
    fn serve(&mut self, env: Envelope<'_>, transport: &mut dyn Transport) -> Option<String> {
        self.state.metrics.requests += 1;
        let id = env.id.unwrap_or("null");
        match self.route(id, &env, transport) {
            Ok(Some(line)) => Some(line),
            Ok(None) => None,
            Err(err) => Some(self.state.error_line(id, &err)),
        }
    }

    fn route(&mut self, id: &str, env: &Envelope<'_>, transport: &mut dyn Transport) -> Outcome {
        let (method, params, meta) = self.prepare(&env.method, &env.params)?;
        match method {
            Method::Initialize => self.initialize(id, params),
            Method::Ping => Ok(Some(self.reply(id, &meta, None, Map::new()))),
            Method::SetLevel => self.set_log_level(id, params),
            Method::Discover => Ok(Some(self.discover(id))),
            Method::ToolsList => self.list_page(id, params, &meta, self.tools.catalog()),
            Method::ToolsCall => self.call_tool(id, params, &meta, transport),
            Method::ResourcesList => self.list_page(id, params, &meta, &self.resources),
            Method::TemplatesList => self.list_page(id, params, &meta, &self.templates),
            Method::ResourcesRead => self.read_resource(id, params, &meta),
            Method::Subscribe => self.subscribe(id, params),
            Method::Unsubscribe => self.unsubscribe(id, params),
            Method::Listen => self.listen(id, params, transport),
            Method::PromptsList => self.list_page(id, params, &meta, &self.prompts),
            Method::PromptsGet => self.get_prompt(id, params, &meta),
            Method::Complete => self.complete(id, params, &meta),
        }
    }

    /// The checks every request passes before its method runs, whichever
    /// encoding it came in: a known method, `params` an object, `_meta`
    /// valid for the era, and `initialize` done for the handshake era.
    #[inline(always)]
    fn prepare<'p, 'a>(
        &self,
        method_name: &str,
        slot: &'p ParamsSlot<'a>,
    ) -> Result<(Method, &'p Params<'a>, RequestMeta<'a>), RpcError> {
        let Some(method) = Method::lookup(method_name) else {
            return Err(RpcError::method_not_found(method_name));
        };
        let params = request::parse_params(slot)?;
        let meta = request::read_meta(params, method.era_rule(), method_name)?;
        if meta.era == Era::Legacy
            && self.state.protocol_version.is_none()
            && !matches!(method, Method::Initialize | Method::Ping)
        {
            return Err(RpcError::invalid_request(
                "not initialized: send initialize first (or use the 2026-07-28 _meta envelope)",
            ));
        }
        Ok((method, params, meta))
    }

    /// A success line for `result`, with what the 2026-07-28 era adds:
    /// `resultType`, and `ttlMs`/`cacheScope` for cacheable results.
    fn reply(
        &self,
        id: &str,
        meta: &RequestMeta<'_>,
        cache: Option<(u64, &str)>,
        mut result: Map<String, Value>,
    ) -> String {
        if meta.era == Era::Modern {
            result.insert("resultType".into(), Value::from("complete"));
            if let Some((ttl, scope)) = cache {
                result.insert("ttlMs".into(), Value::from(ttl));
                result.insert("cacheScope".into(), Value::from(scope));
            }
        }
        let mut out = String::with_capacity(64);
        jsonrpc::begin_result(&mut out, id);
        json_out::write_value(&mut out, &Value::Object(result));
        jsonrpc::end_response(&mut out);
        out
    }
}

impl Server {
    /// One page of a `*/list` result: `T`'s result member holds the entries
    /// of the catalog items the client's cursor selects, `nextCursor`
    /// follows when more remain, and stateless-era replies carry the list
    /// cache hints.
    fn list_page<T: Listed>(
        &self,
        id: &str,
        params: &Params<'_>,
        meta: &RequestMeta<'_>,
        catalog: &Catalog<T>,
    ) -> Outcome {
        let cursor = request::optional_str(&params.cursor, "cursor")?;
        let page = pagination::page(T::KIND, cursor.as_deref(), catalog.len())?;
        let entries = catalog.items()[page.range]
            .iter()
            .map(Listed::list_entry)
            .collect();
        let mut result = Map::new();
        result.insert(T::KIND.result_key().into(), Value::Array(entries));
        if let Some(next) = page.next_cursor {
            result.insert("nextCursor".into(), Value::String(next));
        }
        Ok(Some(self.reply(
            id,
            meta,
            Some((protocol::LIST_TTL_MS, protocol::LIST_CACHE_SCOPE)),
            result,
        )))
    }
}

/// `value` (built with `json!`) as the map `reply` takes.
fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod era_tests;
#[cfg(test)]
mod sdk_shape_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod throughput;
