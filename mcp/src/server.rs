//! The MCP server proper: lifecycle state and method dispatch.
//!
//! The kernel owns the UART; it frames bytes with [`crate::LineFramer`], hands
//! each line to [`Server::handle_line`] and writes back whatever line it gets.
//! The server never does I/O itself, which keeps it testable on the host.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use serde_json::{json, Map, Value};

use crate::framing::MAX_LINE_BYTES;
use crate::jsonrpc::{self, Call, Message, RpcError};
use crate::logging::LogLevel;
use crate::protocol;
use crate::registry::{Registry, Tool, ToolDescriptor};

/// How the server introduces itself in `initialize`.
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

/// One MCP session over one transport.
#[derive(Debug)]
pub struct Server {
    info: ServerInfo,
    tools: Registry,
    /// The revision agreed in the latest `initialize`, if any.
    protocol_version: Option<&'static str>,
    /// Set when the client confirms with `notifications/initialized`.
    initialized: bool,
    /// The least severe `notifications/message` the client wants.
    log_level: LogLevel,
}

/// The threshold before a client calls `logging/setLevel`.
pub const DEFAULT_LOG_LEVEL: LogLevel = LogLevel::Info;

impl Server {
    pub fn new(info: ServerInfo) -> Server {
        Server {
            info,
            tools: Registry::new(),
            protocol_version: None,
            initialized: false,
            log_level: DEFAULT_LOG_LEVEL,
        }
    }

    /// Registers a tool; a tool with the same name is replaced.
    pub fn add_tool(&mut self, tool: Tool) {
        self.tools.add(tool);
    }

    /// True once the client has sent `notifications/initialized` after a
    /// successful `initialize`, i.e. the session is in MCP's operation phase
    /// and the kernel may send notifications of its own.
    pub fn initialized(&self) -> bool {
        self.initialized
    }

    /// Whether a `notifications/message` at `level` should be sent, per the
    /// client's `logging/setLevel`.
    pub fn wants_log(&self, level: LogLevel) -> bool {
        level >= self.log_level
    }

    /// The protocol revision negotiated by the latest `initialize`.
    pub fn protocol_version(&self) -> Option<&'static str> {
        self.protocol_version
    }

    /// Handles one framed line (without its newline). Returns the response
    /// line to send (without a trailing newline), or `None` when the message
    /// requires no answer (notifications, responses from the client).
    pub fn handle_line(&mut self, line: &[u8]) -> Option<String> {
        match jsonrpc::parse(line) {
            Err(rejection) => Some(jsonrpc::error(&rejection.id, &rejection.error)),
            Ok(Message::Response) => None,
            Ok(Message::Call(call)) => self.handle_call(call),
        }
    }

    /// The error line to send when the framer reports [`crate::Frame::TooLong`].
    pub fn too_long_response(len: usize) -> String {
        let err = RpcError::invalid_request(&format!(
            "line of {len} bytes exceeded MAX_LINE_BYTES ({MAX_LINE_BYTES})"
        ))
        .with_data(json!({ "len": len, "max": MAX_LINE_BYTES }));
        jsonrpc::error(&Value::Null, &err)
    }

    fn handle_call(&mut self, call: Call) -> Option<String> {
        let Call { id, method, params } = call;
        let Some(id) = id else {
            self.handle_notification(&method);
            return None;
        };
        let outcome = match method.as_str() {
            "initialize" => self.initialize(params),
            "ping" => jsonrpc::params_object(params).map(|_| json!({})),
            "logging/setLevel" => self.set_log_level(params),
            "tools/list" => self.list_tools(params),
            "tools/call" => self.call_tool(params),
            other => Err(RpcError::method_not_found(other)),
        };
        Some(match outcome {
            Ok(result) => jsonrpc::success(&id, result),
            Err(err) => jsonrpc::error(&id, &err),
        })
    }

    /// Notifications never get an answer; unknown ones are ignored, as MCP
    /// allows clients to send e.g. `notifications/cancelled` at any time.
    fn handle_notification(&mut self, method: &str) {
        if method == "notifications/initialized" && self.protocol_version.is_some() {
            self.initialized = true;
        }
    }

    /// A repeated `initialize` is answered like the first and renegotiates
    /// the revision: bridges that reconnect send one without us knowing.
    fn initialize(&mut self, params: Option<Value>) -> Result<Value, RpcError> {
        let params = jsonrpc::params_object(params)?;
        let requested = match params.get("protocolVersion") {
            Some(Value::String(v)) => v.as_str(),
            Some(_) => {
                return Err(RpcError::invalid_params(
                    "\"protocolVersion\" must be a string",
                ))
            }
            None => return Err(RpcError::invalid_params("missing \"protocolVersion\"")),
        };
        let version = protocol::negotiate(requested);
        self.protocol_version = Some(version);
        let mut result = json!({
            "protocolVersion": version,
            "capabilities": { "logging": {}, "tools": { "listChanged": false } },
            "serverInfo": {
                "name": self.info.name,
                "title": self.info.title,
                "version": self.info.version,
            },
        });
        if let (Some(text), Value::Object(map)) = (self.info.instructions, &mut result) {
            map.insert("instructions".into(), Value::from(text));
        }
        Ok(result)
    }

    fn set_log_level(&mut self, params: Option<Value>) -> Result<Value, RpcError> {
        let params = jsonrpc::params_object(params)?;
        let level = match params.get("level") {
            Some(Value::String(name)) => LogLevel::parse(name).ok_or_else(|| {
                RpcError::invalid_params(&format!(
                    "unknown log level \"{name}\" (expected one of debug, info, notice, warning, error, critical, alert, emergency)"
                ))
            })?,
            Some(_) => return Err(RpcError::invalid_params("\"level\" must be a string")),
            None => return Err(RpcError::invalid_params("missing \"level\"")),
        };
        self.log_level = level;
        Ok(json!({}))
    }

    /// All tools fit in one page, so we never hand out a cursor, and any
    /// cursor the client sends can only be invalid.
    fn list_tools(&self, params: Option<Value>) -> Result<Value, RpcError> {
        let params = jsonrpc::params_object(params)?;
        if params.contains_key("cursor") {
            return Err(RpcError::invalid_params("unknown cursor"));
        }
        let tools: Vec<ToolDescriptor<'_>> = self.tools.iter().map(Tool::descriptor).collect();
        let tools = serde_json::to_value(tools)
            .map_err(|_| RpcError::internal_error("could not serialize the tool list"))?;
        Ok(json!({ "tools": tools }))
    }

    fn call_tool(&mut self, params: Option<Value>) -> Result<Value, RpcError> {
        let mut params = jsonrpc::params_object(params)?;
        let name = match params.get("name") {
            Some(Value::String(n)) => n.as_str(),
            Some(_) => return Err(RpcError::invalid_params("\"name\" must be a string")),
            None => return Err(RpcError::invalid_params("missing \"name\"")),
        };
        let Some(tool) = self.tools.get_mut(name) else {
            return Err(RpcError::new(
                jsonrpc::code::INVALID_PARAMS,
                format!("Unknown tool: {name}"),
            ));
        };
        let arguments = match params.remove("arguments") {
            None => Map::new(),
            Some(Value::Object(args)) => args,
            Some(_) => return Err(RpcError::invalid_params("\"arguments\" must be an object")),
        };
        Ok(tool.call(&arguments))
    }
}

#[cfg(test)]
mod tests;
