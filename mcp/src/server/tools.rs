//! `tools/list` and `tools/call`, the hot path: the call's `arguments` are
//! the only part of the request turned into an owned tree, and the result is
//! written straight into the response line.

use alloc::format;
use alloc::string::String;
use serde_json::{Map, Value};

use super::inflight::{RequestContext, Running};
use super::request::{required_str, Era, RequestMeta};
use super::{Outcome, Server, Transport};
use crate::jsonrpc::{self, RpcError};
use crate::limits::{MAX_ARGUMENTS_BYTES, MAX_STRING_BYTES};
use crate::params::Params;
use crate::registry::ToolResult;

impl Server {
    pub(super) fn call_tool(
        &mut self,
        id: &str,
        params: &Params<'_>,
        meta: &RequestMeta<'_>,
        transport: &mut dyn Transport,
    ) -> Outcome {
        let tool = self.tools.index(&required_str(&params.name, "name")?)?;
        let running = Running::new(id);
        self.run_tool(
            running,
            tool,
            params.arguments.0,
            meta,
            transport,
            |result| {
                let mut out = String::with_capacity(256);
                jsonrpc::begin_result(&mut out, id);
                let extra = if meta.era == Era::Modern {
                    ",\"resultType\":\"complete\""
                } else {
                    ""
                };
                result.write_call_result(&mut out, extra);
                jsonrpc::end_response(&mut out);
                out
            },
        )
    }

    /// `tools/call` whichever encoding the request came in and its answer
    /// goes out in: checks `arguments` (the JSON text of the request's
    /// `arguments` member, if any) for the `tool`-th tool, runs its handler
    /// and hands its outcome to `write` (which encodes the answer before the
    /// outcome is dropped). `Ok(None)` when the call was cancelled (it gets
    /// no answer).
    #[inline(always)]
    pub(super) fn run_tool<T>(
        &mut self,
        running: Running<'_>,
        tool: usize,
        arguments: Option<&str>,
        meta: &RequestMeta<'_>,
        transport: &mut dyn Transport,
        write: impl FnOnce(&ToolResult) -> T,
    ) -> Result<Option<T>, RpcError> {
        let arguments = read_arguments(arguments)?;
        let session_level = self.state.log_level;
        let mut ctx = RequestContext {
            state: &mut self.state,
            toolbox: &self.tools,
            transport,
            running,
            progress_token: meta.progress_token,
            last_progress: None,
            log_level: match meta.era {
                Era::Modern => meta.log_level,
                Era::Legacy => Some(session_level),
            },
        };
        let result = self.tools.run(tool, &arguments, &mut ctx);
        if ctx.running.cancelled {
            return Ok(None);
        }
        Ok(Some(write(&result)))
    }
}

/// `arguments`: absent is an empty object; anything but an object, or an
/// object over the size limits, is -32602.
pub(super) fn read_arguments(raw: Option<&str>) -> Result<Map<String, Value>, RpcError> {
    let Some(raw) = raw else {
        return Ok(Map::new());
    };
    let text = raw;
    if text == "{}" {
        return Ok(Map::new());
    }
    if !text.starts_with('{') {
        return Err(RpcError::invalid_params("\"arguments\" must be an object"));
    }
    if text.len() > MAX_ARGUMENTS_BYTES {
        return Err(RpcError::invalid_params(&format!(
            "\"arguments\" is larger than {MAX_ARGUMENTS_BYTES} bytes"
        )));
    }
    let map: Map<String, Value> = serde_json::from_str(text)
        .map_err(|_| RpcError::invalid_params("\"arguments\" is not a valid object"))?;
    if map
        .iter()
        .any(|(k, v)| k.len() > MAX_STRING_BYTES || has_long_string(v))
    {
        return Err(RpcError::invalid_params(&format!(
            "a string in \"arguments\" is longer than {MAX_STRING_BYTES} bytes"
        )));
    }
    Ok(map)
}

fn has_long_string(v: &Value) -> bool {
    match v {
        Value::String(s) => s.len() > MAX_STRING_BYTES,
        Value::Array(items) => items.iter().any(has_long_string),
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k.len() > MAX_STRING_BYTES || has_long_string(v)),
        _ => false,
    }
}
