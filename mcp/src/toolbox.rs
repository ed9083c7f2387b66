//! The server's tools, callable from inside a running tool: the on-device
//! agent calls the tool its model chose, and EL0 programs' `svc` requests
//! are served here. Both go through the same checks as a client's
//! `tools/call` (unknown tool, arguments against the input schema), so an
//! in-kernel caller cannot do anything a client could not.
//!
//! The server keeps its tools in an `Arc<Toolbox>`; a handler gets it from
//! [`Context::toolbox`]. Handlers are `Fn + Send + Sync`, so the toolbox can
//! be shared with another core (an EL0 program's `svc` is served on the core
//! it runs on).

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use serde_json::{Map, Value};

use crate::binary::{self, BinValue, Message};
use crate::catalog::{Catalog, Keyed};
use crate::context::Context;
use crate::jsonrpc::{code, RpcError};
use crate::pagination::{ListKind, Listed};
use crate::params::Text;
use crate::registry::{Tool, ToolResult};
use crate::schema;
use crate::server::binary_call::{error_message, write_call_response};
use crate::server::request::{required_str, Era};
use alloc::borrow::Cow;

/// Every registered tool, by name.
#[derive(Debug, Default)]
pub struct Toolbox {
    catalog: Catalog<Registered>,
}

/// A tool as the toolbox keeps it, with what its calls need worked out once.
#[derive(Debug)]
pub(crate) struct Registered {
    pub(crate) tool: Tool,
    /// The input schema accepts every arguments object (it is
    /// `{"type": "object"}` alone, as for tools without parameters), so
    /// calls skip the schema check: a tenth of a trivial postcard call.
    any_arguments: bool,
}

impl Keyed for Registered {
    fn key(&self) -> &str {
        self.tool.name
    }
}

impl Listed for Registered {
    const KIND: ListKind = ListKind::Tools;
    fn list_entry(&self) -> Value {
        self.tool.list_entry()
    }
}

impl Toolbox {
    /// Registers a tool; one with the same name is replaced in place.
    pub(crate) fn add(&mut self, tool: Tool) {
        let any_arguments = schema::accepts_any_object(&tool.input_schema);
        self.catalog.add(Registered {
            tool,
            any_arguments,
        });
    }

    pub(crate) fn catalog(&self) -> &Catalog<Registered> {
        &self.catalog
    }

    /// The tool called `name`.
    pub fn get(&self, name: &str) -> Option<&Tool> {
        self.catalog.get(name).map(|r| &r.tool)
    }

    /// Every tool, in registration order.
    pub fn iter(&self) -> impl Iterator<Item = &Tool> {
        self.catalog.items().iter().map(|r| &r.tool)
    }

    /// Runs the `index`-th tool as `tools/call` does once the request is
    /// read: `arguments` are checked against its input schema (a mismatch is
    /// a tool error, as the specification asks), then its handler runs.
    // Inlined into the server's `tools/call` path, where it is most of the
    // work of a trivial call (docs/performance.md).
    #[inline(always)]
    pub(crate) fn run(
        &self,
        index: usize,
        arguments: &Map<String, Value>,
        ctx: &mut dyn Context,
    ) -> ToolResult {
        let Registered {
            tool,
            any_arguments,
        } = &self.catalog.items()[index];
        if !any_arguments {
            if let Err(why) = schema::validate_arguments(&tool.input_schema, arguments) {
                return ToolResult::Error(format!("Invalid arguments: {why}"));
            }
        }
        (tool.handler)(arguments, ctx)
    }

    /// Calls tool `name` with `arguments`, `ctx` being the handler's
    /// context. An unknown tool or arguments its schema refuses are a tool
    /// error.
    pub fn call(
        &self,
        name: &str,
        arguments: &Map<String, Value>,
        ctx: &mut dyn Context,
    ) -> ToolResult {
        match self.index(name) {
            Ok(index) => self.run(index, arguments, ctx),
            Err(err) => ToolResult::Error(err.message),
        }
    }

    /// Where tool `name` is; -32602 "Unknown tool: NAME" for a tool we
    /// lack (what `tools/call` answers).
    pub(crate) fn index(&self, name: &str) -> Result<usize, RpcError> {
        self.catalog
            .position(name.as_bytes())
            .ok_or_else(|| RpcError::new(code::INVALID_PARAMS, format!("Unknown tool: {name}")))
    }

    /// Serves one postcard-encoded `tools/call` request (a
    /// [`crate::binary`] message, without framing) and writes the encoded
    /// response into `answer` (cleared first; its capacity is reused, so a
    /// caller serving many calls allocates once): the `CallToolResult` a
    /// binary client of the server gets (text mirror left out, see
    /// [`binary::drop_text_mirror`]), or a JSON-RPC error for a request that
    /// is not a well-formed `tools/call` of a known tool. There is no
    /// session here: the answer is in the handshake era's shape, and nothing
    /// but `tools/call` is served.
    pub fn call_binary(&self, request: &[u8], ctx: &mut dyn Context, answer: &mut Vec<u8>) {
        answer.clear();
        // The shape EL0 programs send every time (numeric id, a name, no
        // arguments) is read in place.
        if let Some(call) = binary::peek_tools_call(request) {
            // (no or empty `arguments`: that is all a peeked call has)
            if let Some(index) = call.name.and_then(|n| self.catalog.position(n)) {
                let result = self.run(index, &Map::new(), ctx);
                write_call_response(answer, &call.id, &result, Era::Legacy);
                return;
            }
        }
        let refusal = match binary::decode(request) {
            Err(err) => err.to_rpc_error(),
            Ok(Message::Request { id, method, params }) => {
                match self.serve_decoded(&method, params.as_ref(), ctx) {
                    Ok(result) => {
                        write_call_response(answer, &id, &result, Era::Legacy);
                        return;
                    }
                    Err(err) => error_message(&id, err),
                }
            }
            Ok(_) => Message::Error {
                id: None,
                code: code::INVALID_REQUEST,
                message: "Invalid Request: expected a tools/call request".to_string(),
                data: None,
            },
        };
        answer.extend_from_slice(&binary::encode(&refusal));
    }

    fn serve_decoded(
        &self,
        method: &str,
        params: Option<&BinValue>,
        ctx: &mut dyn Context,
    ) -> Result<ToolResult, RpcError> {
        if method != "tools/call" {
            return Err(RpcError::new(
                code::METHOD_NOT_FOUND,
                format!("Method not found: {method} (only tools/call is served here)"),
            ));
        }
        let Some(BinValue::Object(members)) = params else {
            return Err(RpcError::invalid_params("params must be an object"));
        };
        let member = |key: &str| members.iter().find(|(k, _)| k == key).map(|(_, v)| v);
        let name = match member("name") {
            None => Text::Absent,
            Some(BinValue::Str(name)) => Text::Str(Cow::Borrowed(name)),
            Some(_) => Text::Other,
        };
        let name = required_str(&name, "name")?;
        let index = self.index(&name)?;
        let arguments = match member("arguments") {
            None => Map::new(),
            Some(value @ BinValue::Object(_)) => match Value::from(value) {
                Value::Object(map) => map,
                _ => unreachable!("an object converts to an object"),
            },
            Some(_) => return Err(RpcError::invalid_params("\"arguments\" must be an object")),
        };
        Ok(self.run(index, &arguments, ctx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binary::{decode_with, encode, handle_binary, Id, Limits};
    use crate::{NoContext, Server, ServerInfo};
    use alloc::boxed::Box;
    use serde_json::json;

    fn server() -> Server {
        let mut server = Server::new(ServerInfo {
            name: "t",
            title: "T",
            version: "0",
            instructions: None,
        });
        server.add_tool(Tool {
            name: "echo",
            title: "Echo",
            description: "Its arguments back.",
            input_schema: json!({"type": "object"}),
            output_schema: None,
            handler: Box::new(|args, _| ToolResult::Structured(args.clone().into())),
        });
        server.add_tool(Tool {
            name: "hello",
            title: "Hello",
            description: "Says hello.",
            input_schema: json!({"type": "object"}),
            output_schema: None,
            handler: Box::new(|_, _| ToolResult::Text("hello".into())),
        });
        server.add_tool(Tool {
            name: "square",
            title: "Square",
            description: "n squared.",
            input_schema: json!({"type": "object", "properties": {"n": {"type": "integer"}},
                                 "required": ["n"], "additionalProperties": false}),
            output_schema: None,
            handler: Box::new(|args, _| {
                let n = args["n"].as_i64().unwrap_or_default();
                ToolResult::Structured(crate::object! {"square": n * n})
            }),
        });
        server.add_tool(Tool {
            name: "relay",
            title: "Relay",
            description: "Calls the tool it is given with the arguments it is given.",
            input_schema: json!({"type": "object"}),
            output_schema: None,
            handler: Box::new(|args, ctx| {
                let Some(toolbox) = ctx.toolbox() else {
                    return ToolResult::Error("no toolbox".into());
                };
                let name = args["name"].as_str().unwrap_or_default();
                let arguments = args["arguments"].as_object().cloned().unwrap_or_default();
                toolbox.call(name, &arguments, ctx)
            }),
        });
        let initialize = br#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}"#;
        assert!(server.handle_line(initialize).is_some());
        assert!(server
            .handle_line(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
            .is_none());
        server
    }

    fn text(result: &ToolResult) -> &str {
        match result {
            ToolResult::Text(t) | ToolResult::Error(t) => t,
            ToolResult::Structured(_) => panic!("structured"),
        }
    }

    #[test]
    fn a_running_tool_calls_another_through_its_context() {
        let mut server = server();
        let reply = server
            .handle_line(
                br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"relay","arguments":{"name":"square","arguments":{"n":7}}}}"#,
            )
            .unwrap();
        let reply: Value = serde_json::from_str(&reply).unwrap();
        assert_eq!(reply["result"]["structuredContent"], json!({"square": 49}));
        assert_eq!(reply["result"]["isError"], false);
    }

    #[test]
    fn calls_are_checked_as_tools_call_checks_them() {
        let toolbox = server().toolbox();
        let unknown = toolbox.call("nope", &Map::new(), &mut NoContext);
        assert!(matches!(unknown, ToolResult::Error(_)));
        assert_eq!(text(&unknown), "Unknown tool: nope");
        let args = json!({"n": "seven"});
        let bad = toolbox.call("square", args.as_object().unwrap(), &mut NoContext);
        assert!(matches!(bad, ToolResult::Error(_)));
        assert!(text(&bad).starts_with("Invalid arguments: "), "{bad:?}");
        assert!(toolbox.get("echo").is_some() && toolbox.get("nope").is_none());
        assert_eq!(
            toolbox.iter().map(|t| t.name).collect::<Vec<_>>(),
            ["echo", "hello", "square", "relay"]
        );
    }

    /// `call_binary` answers exactly as a binary client of the server is
    /// answered (in the handshake era, which `server()` negotiated).
    #[test]
    fn binary_calls_are_answered_as_the_server_answers_them() {
        let mut server = server();
        let toolbox = server.toolbox();
        let requests = [
            // The shape EL0 programs send: read in place.
            r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"hello"}}"#,
            r#"{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"hello","arguments":{}}}"#,
            // Arguments, a string id, errors.
            r#"{"jsonrpc":"2.0","id":"s","method":"tools/call","params":{"name":"square","arguments":{"n":-3}}}"#,
            r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"square","arguments":{"n":1.5}}}"#,
            r#"{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"nope"}}"#,
            r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"echo","arguments":[1]}}"#,
            r#"{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{}}"#,
        ];
        for request in requests {
            let bytes = encode(&Message::from_json_line(request.as_bytes()).unwrap());
            let want = handle_binary(&mut server, &bytes).unwrap();
            let mut got = vec![0xaa; 3]; // cleared first
            toolbox.call_binary(&bytes, &mut NoContext, &mut got);
            assert_eq!(
                decode_with(&got, Limits::TRUSTED).unwrap(),
                decode_with(&want, Limits::TRUSTED).unwrap(),
                "{request}"
            );
        }
    }

    #[test]
    fn anything_but_a_tools_call_is_refused() {
        let toolbox = server().toolbox();
        let refused = |bytes: &[u8]| {
            let mut answer = Vec::new();
            toolbox.call_binary(bytes, &mut NoContext, &mut answer);
            match decode_with(&answer, Limits::TRUSTED).unwrap() {
                Message::Error { code, .. } => code,
                other => panic!("{other:?}"),
            }
        };
        let ping = encode(&Message::Request {
            id: Id::U64(1),
            method: "ping".into(),
            params: None,
        });
        assert_eq!(refused(&ping), code::METHOD_NOT_FOUND);
        assert_eq!(refused(&[0xff, 0xff, 0xff]), code::PARSE_ERROR);
        assert_eq!(refused(&[]), code::PARSE_ERROR);
        let response = encode(&Message::Response {
            id: Id::U64(1),
            result: BinValue::Null,
        });
        assert_eq!(refused(&response), code::INVALID_REQUEST);
    }
}
