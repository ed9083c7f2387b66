//! `tools/call` straight from a decoded [`crate::binary`] request to a
//! binary answer, without the JSON round trip [`crate::binary::handle_binary`]
//! takes for everything else.
//!
//! Only the encoding differs: the request's `params` are laid out as the
//! JSON path's [`Params`], and then the same [`Server::prepare`] checks and
//! [`Server::run_tool`] serve it, with the same metrics. A request the
//! layout cannot express exactly as the JSON path would see it (other
//! captured `params` members, a repeated one, a queue or open streams to
//! respect) returns `None` and takes the JSON path instead.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use super::inflight::Running;
use super::{NullTransport, Server};
use crate::binary::{BinTag, BinValue, Id, Message, PeekedCall, PostcardOut, RESPONSE_TAG};
use crate::json_out;
use crate::jsonrpc::{Member, RequestId, RpcError};
use crate::limits::MAX_ID_BYTES;
use crate::params::{ParamsSlot, Shape, Text};
use crate::registry::ToolResult;
use crate::server::request::{required_str, Era, RequestMeta};

impl Server {
    /// Serves a binary `tools/call` request directly. `None` when it must
    /// take the JSON path; otherwise the encoded answer (`Some(None)`: none
    /// is due).
    pub(crate) fn serve_binary_call(
        &mut self,
        id: &Id,
        method: &str,
        params: Option<&BinValue>,
    ) -> Option<Option<Vec<u8>>> {
        if method != "tools/call"
            || !self.state.pending.is_empty()
            || !self.state.streams.is_empty()
        {
            return None;
        }
        // The `params` members `tools/call` reads; any other member the JSON
        // path captures could make its `params` a duplicate: leave those to it.
        let (mut name, mut arguments, mut meta) = (None, None, None);
        let mut slot = ParamsSlot::default();
        match params {
            None => {}
            Some(BinValue::Object(members)) => {
                slot.shape = Shape::Object;
                for (key, value) in members {
                    let seen = match key.as_str() {
                        "name" => name.replace(value),
                        "arguments" => arguments.replace(value),
                        "_meta" => meta.replace(value),
                        "uri" | "cursor" | "level" | "protocolVersion" | "ref" | "argument"
                        | "notifications" | "requestId" => return None,
                        _ => None,
                    };
                    if seen.is_some() {
                        return None;
                    }
                }
            }
            Some(_) => return None,
        }
        let arguments_text = arguments.map(json_text);
        let meta_text = meta.map(json_text);
        slot.members.name = match name {
            None => Text::Absent,
            Some(BinValue::Str(s)) => Text::Str(Cow::Borrowed(s)),
            Some(_) => Text::Other,
        };
        slot.members.arguments = Member(arguments_text.as_deref());
        slot.members.meta = Member(meta_text.as_deref());

        self.serve_call_slot(id, &slot)
    }

    /// A `tools/call` whose postcard form [`crate::binary::peek_tools_call`]
    /// read in place (no decoded [`Message`]): the shape in-kernel callers
    /// send every time, a numeric id, a tool name, no or empty `arguments`,
    /// no `_meta`. Only the path that succeeds is taken here: a handshake-era
    /// session that has been initialized and a registered tool. Anything
    /// else returns `None` and takes the full path, which words the error
    /// exactly as the JSON path does.
    pub(crate) fn serve_peeked_call(&mut self, call: &PeekedCall<'_>) -> Option<Option<Vec<u8>>> {
        if !self.state.pending.is_empty()
            || !self.state.streams.is_empty()
            || self.state.protocol_version.is_none()
        {
            return None;
        }
        let tool = self.tools.catalog().position(call.name?)?;
        let running = Running::with_id(numeric_id(&call.id)?);
        // No `_meta`: the handshake era, no progress token, the session's
        // log level (what `read_meta` gives such a request).
        let meta = RequestMeta {
            era: Era::Legacy,
            progress_token: None,
            log_level: None,
        };
        let arguments = call.empty_arguments.then_some("{}");
        self.state.metrics.requests += 1;
        let outcome = self.run_tool(
            running,
            tool,
            arguments,
            &meta,
            &mut NullTransport,
            |result| call_response(&call.id, result, Era::Legacy),
        );
        Some(self.binary_reply(&call.id, outcome))
    }

    /// Serves a `tools/call` whose `params` are laid out; `None` when the
    /// id cannot be written as the JSON path would, else the encoded answer
    /// (`Some(None)`: none is due).
    fn serve_call_slot(&mut self, id: &Id, slot: &ParamsSlot<'_>) -> Option<Option<Vec<u8>>> {
        let mut id_string = String::new();
        let running = match numeric_id(id) {
            Some(number) => Running::with_id(number),
            None => {
                let Id::Str(s) = id else { return None };
                json_out::write_str(&mut id_string, s);
                if id_string.len() > MAX_ID_BYTES {
                    return None;
                }
                Running::new(&id_string)
            }
        };

        self.state.metrics.requests += 1;
        let outcome = self
            .prepare("tools/call", slot)
            .and_then(|(_, params, meta)| {
                let era = meta.era;
                let tool = self.tools.index(&required_str(&params.name, "name")?)?;
                self.run_tool(
                    running,
                    tool,
                    params.arguments.0,
                    &meta,
                    &mut NullTransport,
                    |result| call_response(id, result, era),
                )
            });
        Some(self.binary_reply(id, outcome))
    }

    /// The encoded answer to a served binary `tools/call` (`None`: it was
    /// cancelled), counted in the metrics as the JSON path counts it.
    fn binary_reply(
        &mut self,
        id: &Id,
        outcome: Result<Option<Vec<u8>>, RpcError>,
    ) -> Option<Vec<u8>> {
        let reply = match outcome {
            Ok(None) => return None,
            Ok(Some(reply)) => reply,
            Err(err) => {
                self.state.metrics.count_error(err.code);
                crate::binary::encode(&error_message(id, err))
            }
        };
        self.state.metrics.responses += 1;
        Some(reply)
    }
}

/// The JSON text of a `params` member, as the JSON path sees it after
/// [`Message::to_json_line`].
fn json_text(value: &BinValue) -> Cow<'static, str> {
    match value {
        BinValue::Object(members) if members.is_empty() => Cow::Borrowed("{}"),
        _ => Cow::Owned(value.to_json()),
    }
}

/// A numeric id as the JSON path compares ids (`None` for a string).
fn numeric_id(id: &Id) -> Option<RequestId> {
    match *id {
        Id::U64(n) => Some(RequestId::Int(i128::from(n))),
        Id::I64(n) => Some(RequestId::Int(i128::from(n))),
        Id::Str(_) => None,
    }
}

/// The encoded response carrying the `CallToolResult` the JSON path writes
/// (see [`ToolResult::write_call_result`]), member for member, except that a
/// structured result's text mirror is left out (`content` is empty; see
/// [`crate::binary::drop_text_mirror`]).
pub(crate) fn call_response(id: &Id, result: &ToolResult, era: Era) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    write_call_response(&mut out, id, result, era);
    out
}

/// [`call_response`] appended to `out`, for a caller that reuses one
/// buffer ([`crate::Toolbox::call_binary`]).
pub(crate) fn write_call_response(buffer: &mut Vec<u8>, id: &Id, result: &ToolResult, era: Era) {
    let mut out = PostcardOut(core::mem::take(buffer));
    out.varint(RESPONSE_TAG);
    out.id(id);
    out.tag(BinTag::Object);
    let structured = matches!(result, ToolResult::Structured(_));
    out.varint(2 + u64::from(structured) + u64::from(era == Era::Modern));
    let is_error = match result {
        ToolResult::Structured(object) => {
            out.0.extend_from_slice(&STRUCTURED);
            out.object(object);
            false
        }
        ToolResult::Text(text) => {
            out.0.extend_from_slice(&CONTENT_TEXT);
            out.str(text);
            false
        }
        ToolResult::Error(text) => {
            out.0.extend_from_slice(&CONTENT_TEXT);
            out.str(text);
            true
        }
    };
    out.0.extend_from_slice(&IS_ERROR[usize::from(is_error)]);
    if era == Era::Modern {
        out.str("resultType");
        out.tag(BinTag::Str);
        out.str("complete");
    }
    *buffer = out.0;
}

/// `"content":[{"type":"text","text":` and the tag of the string that
/// follows, encoded: how a text or error `CallToolResult` starts, written
/// with one copy.
const CONTENT_TEXT: [u8; 29] = [
    7,
    b'c',
    b'o',
    b'n',
    b't',
    b'e',
    b'n',
    b't', // "content"
    BinTag::Array as u8,
    1,
    BinTag::Object as u8,
    2,
    4,
    b't',
    b'y',
    b'p',
    b'e', // "type"
    BinTag::Str as u8,
    4,
    b't',
    b'e',
    b'x',
    b't', // "text"
    4,
    b't',
    b'e',
    b'x',
    b't', // "text"
    BinTag::Str as u8,
];

/// `"content":[]`, encoded: how a structured `CallToolResult` starts.
const NO_CONTENT: [u8; 10] = [
    7,
    b'c',
    b'o',
    b'n',
    b't',
    b'e',
    b'n',
    b't', // "content"
    BinTag::Array as u8,
    0,
];

/// `bytes` one after the other (for the constants below).
const fn concat<const N: usize>(parts: &[&[u8]]) -> [u8; N] {
    let mut out = [0; N];
    let (mut at, mut part) = (0, 0);
    while part < parts.len() {
        let mut i = 0;
        while i < parts[part].len() {
            out[at] = parts[part][i];
            at += 1;
            i += 1;
        }
        part += 1;
    }
    assert!(at == N, "the parts fill the array exactly");
    out
}

/// `"content":[],"structuredContent":` encoded: how a structured
/// `CallToolResult` starts, written with one copy.
const STRUCTURED: [u8; 28] = concat(&[&NO_CONTENT, &[17], b"structuredContent"]);

/// `"isError":false` and `"isError":true`, encoded.
const IS_ERROR: [[u8; 10]; 2] = [
    concat(&[&[7], b"isError", &[BinTag::Bool as u8, 0]]),
    concat(&[&[7], b"isError", &[BinTag::Bool as u8, 1]]),
];

pub(crate) fn error_message(id: &Id, err: RpcError) -> Message {
    Message::Error {
        id: Some(id.clone()),
        code: err.code,
        message: err.message,
        data: err.data.as_ref().map(BinValue::from),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_content_is_what_the_encoder_writes() {
        let mut out = PostcardOut(Vec::new());
        out.str("content");
        out.tag(BinTag::Array);
        out.varint(0);
        assert_eq!(out.0, NO_CONTENT);
    }

    #[test]
    fn structured_and_is_error_are_what_the_encoder_writes() {
        let mut out = PostcardOut(Vec::new());
        out.str("content");
        out.tag(BinTag::Array);
        out.varint(0);
        out.str("structuredContent");
        assert_eq!(out.0, STRUCTURED);
        for is_error in [false, true] {
            let mut out = PostcardOut(Vec::new());
            out.str("isError");
            out.tag(BinTag::Bool);
            out.0.push(u8::from(is_error));
            assert_eq!(out.0, IS_ERROR[usize::from(is_error)]);
        }
    }

    #[test]
    fn content_text_is_what_the_encoder_writes() {
        let mut out = PostcardOut(Vec::new());
        out.str("content");
        out.tag(BinTag::Array);
        out.varint(1);
        out.tag(BinTag::Object);
        out.varint(2);
        out.str("type");
        out.tag(BinTag::Str);
        out.str("text");
        out.str("text");
        out.tag(BinTag::Str);
        assert_eq!(out.0, CONTENT_TEXT);
    }
}
