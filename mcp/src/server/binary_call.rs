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

use super::{NullTransport, Server};
use crate::binary::{BinTag, BinValue, Id, Message, PeekedCall, PostcardOut, RESPONSE_TAG};
use crate::json_out;
use crate::jsonrpc::{Member, RpcError};
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
        let tool = self.tools.position(call.name?)?;
        let mut id_buf = [0u8; 20];
        let id_raw = match call.id {
            Id::U64(n) => decimal(&mut id_buf, n, false),
            Id::I64(n) => decimal(&mut id_buf, n.unsigned_abs(), n < 0),
            Id::Str(_) => return None,
        };
        // No `_meta`: the handshake era, no progress token, the session's
        // log level (what `read_meta` gives such a request).
        let meta = RequestMeta {
            era: Era::Legacy,
            progress_token: None,
            log_level: None,
        };
        let arguments = call.empty_arguments.then_some("{}");
        self.state.metrics.requests += 1;
        let outcome = self.run_tool(id_raw, tool, arguments, &meta, &mut NullTransport, |result| {
            call_response(&call.id, result, Era::Legacy)
        });
        Some(self.binary_reply(&call.id, outcome))
    }

    /// Serves a `tools/call` whose `params` are laid out; `None` when the
    /// id cannot be written as the JSON path would, else the encoded answer
    /// (`Some(None)`: none is due).
    fn serve_call_slot(&mut self, id: &Id, slot: &ParamsSlot<'_>) -> Option<Option<Vec<u8>>> {
        let mut id_buf = [0u8; 20];
        let mut id_string = String::new();
        let id_raw = match id {
            Id::U64(n) => decimal(&mut id_buf, *n, false),
            Id::I64(n) => decimal(&mut id_buf, n.unsigned_abs(), *n < 0),
            Id::Str(s) => {
                json_out::write_str(&mut id_string, s);
                if id_string.len() > MAX_ID_BYTES {
                    return None;
                }
                &id_string
            }
        };

        self.state.metrics.requests += 1;
        let outcome = self
            .prepare("tools/call", slot)
            .and_then(|(_, params, meta)| {
                let era = meta.era;
                let tool = self.tool_named(&required_str(&params.name, "name")?)?;
                self.run_tool(id_raw, tool, params.arguments.0, &meta, &mut NullTransport, |result| {
                    call_response(id, result, era)
                })
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

/// `n` in decimal (after a `-` when `negative`), in `buf`.
fn decimal(buf: &mut [u8; 20], mut n: u64, negative: bool) -> &str {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if negative {
        // i64::MIN's 19 digits and the sign still fit in 20 bytes.
        at -= 1;
        buf[at] = b'-';
    }
    core::str::from_utf8(&buf[at..]).unwrap_or("0")
}

/// The encoded response carrying the `CallToolResult` the JSON path writes
/// (see [`ToolResult::write_call_result`]), member for member, with the
/// structured result printed once, in place, for its text mirror and
/// encoded from the value itself.
fn call_response(id: &Id, result: &ToolResult, era: Era) -> Vec<u8> {
    let mut out = PostcardOut(Vec::with_capacity(96));
    out.varint(RESPONSE_TAG);
    out.id(id);
    out.tag(BinTag::Object);
    let structured = matches!(result, ToolResult::Structured(_));
    out.varint(2 + u64::from(structured) + u64::from(era == Era::Modern));
    out.0.extend_from_slice(&CONTENT_TEXT);
    let is_error = match result {
        ToolResult::Structured(value) => {
            out.str_in_place(|text| json_out::write_value(text, value));
            out.str("structuredContent");
            out.value(value);
            false
        }
        ToolResult::Text(text) => {
            out.str(text);
            false
        }
        ToolResult::Error(text) => {
            out.str(text);
            true
        }
    };
    out.str("isError");
    out.tag(BinTag::Bool);
    out.0.push(u8::from(is_error));
    if era == Era::Modern {
        out.str("resultType");
        out.tag(BinTag::Str);
        out.str("complete");
    }
    out.0
}

/// `"content":[{"type":"text","text":` and the tag of the string that
/// follows, encoded: how every `CallToolResult` starts, written with one copy.
const CONTENT_TEXT: [u8; 29] = [
    7, b'c', b'o', b'n', b't', b'e', b'n', b't', // "content"
    BinTag::Array as u8,
    1,
    BinTag::Object as u8,
    2,
    4, b't', b'y', b'p', b'e', // "type"
    BinTag::Str as u8,
    4, b't', b'e', b'x', b't', // "text"
    4, b't', b'e', b'x', b't', // "text"
    BinTag::Str as u8,
];

fn error_message(id: &Id, err: RpcError) -> Message {
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

    #[test]
    fn strings_written_in_place_decode_at_every_length() {
        for len in [0, 1, 127, 128, 129, 16_383, 16_384, 70_000] {
            let text = "é".repeat(len / 2) + &"x".repeat(len % 2);
            let mut out = PostcardOut(alloc::vec![9]);
            out.str_in_place(|buf| buf.extend_from_slice(text.as_bytes()));
            let mut expected = PostcardOut(alloc::vec![9]);
            expected.str(&text);
            assert_eq!(out.0, expected.0, "{len}");
            let decoded: String = postcard::from_bytes(&out.0[1..]).unwrap();
            assert_eq!(decoded, text);
        }
    }
}
