//! The compact binary form of MCP messages: the same JSON-RPC messages the
//! UART carries, encoded with [postcard] instead of JSON.
//!
//! This is the encoding of the system-call ABI: in-kernel callers and EL0
//! programs (through `svc`) hand over a postcard-encoded [`Message`] and get
//! one back, reaching exactly the tools the UART serves. A [`Message`] carries
//! a JSON-RPC message losslessly: object members keep their order (duplicates
//! included), and numbers keep their kind (unsigned, negative, float).
//!
//! # Conversions
//!
//! ```text
//! JSON line ──Message::from_json_line──▶ Message ──encode──▶ postcard bytes
//! JSON line ◀──Message::to_json_line─── Message ◀──decode─── postcard bytes
//! ```
//!
//! [`handle_binary`] serves one binary request through a [`Server`].
//!
//! # Wire format
//!
//! Plain postcard of the types below (varint lengths and integers, zigzag
//! for signed ones, `f64` as 8 little-endian bytes, enum variants as a varint
//! of their index). Variant order is part of the ABI: new variants are only
//! ever appended.
//!
//! ```text
//! Message  = 0 Request      { id: Id, method: str, params: Option<BinValue> }
//!          | 1 Notification { method: str, params: Option<BinValue> }
//!          | 2 Response     { id: Id, result: BinValue }
//!          | 3 Error        { id: Option<Id>, code: i64, message: str, data: Option<BinValue> }
//! Id       = 0 U64(u64) | 1 I64(i64) | 2 Str(str)
//! BinValue = 0 Null | 1 Bool(bool) | 2 U64(u64) | 3 I64(i64) | 4 F64(f64) | 5 Str(str)
//!          | 6 Array(len, BinValue…) | 7 Object(len, (str, BinValue)…)
//! ```
//!
//! # Limits
//!
//! Decoding is bounded like the JSON path: input longer than
//! [`MAX_MESSAGE_BYTES`] or nested deeper than [`MAX_DEPTH`] (the envelope
//! counts as the first level, as in a JSON line) is refused with an
//! [`Error`], trailing bytes are refused, and no input makes it panic.
//! [`decode_with`] and [`Message::from_json_line_with`] take other [`Limits`].
//!
//! # Numbers
//!
//! Integers are kept exactly from `i64::MIN` to `u64::MAX`; JSON integers
//! outside that range become `F64`, as they do in the JSON path (so does
//! `-0`, which serde_json reads as a float). Canonically a non-negative
//! integer is `U64` and a negative one `I64` (what parsing JSON produces); a
//! non-finite `F64` has no JSON form and is written as `null`. Floats are
//! exact in the postcard form and written as the shortest text that reads
//! back as the same `f64`; reading JSON text is as exact as serde_json's
//! float parser, which the workspace builds with its `float_roundtrip`
//! feature so that it rounds correctly (without it, rare long mantissas land
//! one ULP off).

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::Cell;
use core::fmt;

use serde::de::{self, DeserializeSeed, EnumAccess, SeqAccess, VariantAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::object::Object;
use crate::server::Server;

/// Deepest nesting accepted in a decoded message, counting the envelope as
/// level 1 and every array or object inside it as one more, the same way a
/// JSON line is counted.
pub const MAX_DEPTH: usize = 32;

/// Longest postcard message [`decode`] accepts: the JSON line limit, which a
/// message's postcard form never exceeds.
pub const MAX_MESSAGE_BYTES: usize = crate::framing::MAX_LINE_BYTES;

/// JSON-RPC error codes used for refusals on the binary path.
const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const INTERNAL_ERROR: i64 = -32603;

/// A JSON-RPC request id (MCP allows strings and integers).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Id {
    /// A non-negative integer id.
    U64(u64),
    /// A negative integer id (non-negative ones are canonically `U64`).
    I64(i64),
    Str(String),
}

/// Any JSON value, in a form postcard can carry (postcard cannot decode
/// `serde_json::Value`, which needs a self-describing format).
///
/// Its `Serialize`/`Deserialize` implementations are the compact postcard
/// form (an enum), not JSON; use [`BinValue::from_json`] and
/// [`BinValue::to_json`] for JSON text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum BinValue {
    Null,
    Bool(bool),
    /// A non-negative integer.
    U64(u64),
    /// A negative integer (non-negative ones are canonically `U64`).
    I64(i64),
    F64(f64),
    Str(String),
    Array(Vec<BinValue>),
    /// Members in their original order; duplicates are kept.
    Object(Vec<(String, BinValue)>),
}

/// One JSON-RPC 2.0 message. See the module docs for its wire form.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Message {
    /// A call that expects an answer.
    Request {
        id: Id,
        method: String,
        /// `None` when the message has no `params` member.
        params: Option<BinValue>,
    },
    /// A call without an id; it gets no answer.
    Notification {
        method: String,
        params: Option<BinValue>,
    },
    /// A successful answer.
    Response { id: Id, result: BinValue },
    /// An error answer; `id` is `None` when it was `null` (the request's id
    /// could not be determined).
    Error {
        id: Option<Id>,
        code: i64,
        message: String,
        data: Option<BinValue>,
    },
}

/// Bounds applied while decoding untrusted input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest input, in bytes.
    pub max_bytes: usize,
    /// Deepest nesting, counting the envelope as level 1.
    pub max_depth: usize,
}

impl Limits {
    /// What [`decode`] and [`Message::from_json_line`] apply: the same bounds
    /// as the JSON path on the UART.
    pub const DEFAULT: Limits = Limits {
        max_bytes: MAX_MESSAGE_BYTES,
        max_depth: MAX_DEPTH,
    };

    /// For messages the kernel produced itself (its own replies), which may
    /// be longer and deeper than what it accepts. The depth bound is
    /// serde_json's own recursion limit, so recursion stays bounded.
    pub const TRUSTED: Limits = Limits {
        max_bytes: usize::MAX,
        max_depth: 128,
    };
}

/// Why bytes or a line could not be turned into a [`Message`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The input is longer than the limit.
    TooLong { len: usize, max: usize },
    /// Arrays/objects nest deeper than the limit.
    TooDeep { max: usize },
    /// The bytes are not a postcard-encoded [`Message`] (unknown variant,
    /// truncated, invalid UTF-8, ...).
    Malformed,
    /// A whole message decoded but `extra` bytes followed it.
    TrailingBytes { extra: usize },
    /// The line is not valid JSON.
    InvalidJson,
    /// Valid JSON, but not a JSON-RPC 2.0 message; says what is wrong.
    NotJsonRpc(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::TooLong { len, max } => {
                write!(f, "message of {len} bytes exceeds the limit of {max}")
            }
            Error::TooDeep { max } => write!(f, "nested deeper than {max} levels"),
            Error::Malformed => f.write_str("malformed postcard message"),
            Error::TrailingBytes { extra } => {
                write!(f, "{extra} unexpected bytes after the message")
            }
            Error::InvalidJson => f.write_str("invalid JSON"),
            Error::NotJsonRpc(why) => write!(f, "not a JSON-RPC 2.0 message: {why}"),
        }
    }
}

impl core::error::Error for Error {}

impl Error {
    /// The JSON-RPC error answering a request refused for this reason,
    /// worded like the JSON path's refusals.
    pub fn to_rpc_error(&self) -> Message {
        let (code, prefix) = match self {
            Error::TooLong { .. } | Error::TooDeep { .. } | Error::NotJsonRpc(_) => {
                (INVALID_REQUEST, "Invalid Request")
            }
            Error::Malformed | Error::TrailingBytes { .. } | Error::InvalidJson => {
                (PARSE_ERROR, "Parse error")
            }
        };
        let data = match self {
            Error::TooLong { len, max } => Some(BinValue::Object(alloc::vec![
                ("len".to_owned(), BinValue::U64(*len as u64)),
                ("max".to_owned(), BinValue::U64(*max as u64)),
            ])),
            _ => None,
        };
        Message::Error {
            id: None,
            code,
            message: alloc::format!("{prefix}: {self}"),
            data,
        }
    }
}

/// The postcard bytes of `message`.
pub fn encode(message: &Message) -> Vec<u8> {
    // Serializing these types into a growable buffer cannot fail: every
    // sequence length is known up front and there are no maps with non-string
    // keys. An empty buffer (which `decode` refuses) stands in regardless.
    postcard::to_allocvec(message).unwrap_or_default()
}

/// Decodes one message under [`Limits::DEFAULT`].
pub fn decode(bytes: &[u8]) -> Result<Message, Error> {
    decode_with(bytes, Limits::DEFAULT)
}

/// Decodes one message; the whole of `bytes` must be that message.
pub fn decode_with(bytes: &[u8], limits: Limits) -> Result<Message, Error> {
    if bytes.len() > limits.max_bytes {
        return Err(Error::TooLong {
            len: bytes.len(),
            max: limits.max_bytes,
        });
    }
    let guard = DepthGuard::new(limits.max_depth);
    let mut de = postcard::Deserializer::from_bytes(bytes);
    let message = MessageSeed { guard: &guard }
        .deserialize(&mut de)
        .map_err(|_| guard.error(Error::Malformed))?;
    match de.finalize() {
        Ok([]) => Ok(message),
        Ok(rest) => Err(Error::TrailingBytes { extra: rest.len() }),
        Err(_) => Err(Error::Malformed),
    }
}

/// A `tools/call` request in its commonest postcard form, read in place:
/// an integer id, `params` absent or an object with at most a string
/// `name` and an empty `arguments`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PeekedCall<'a> {
    pub(crate) id: Id,
    pub(crate) has_params: bool,
    /// The name's bytes, not checked for UTF-8: they are only compared with
    /// the registered tool names, and a name that matches none takes the
    /// full path, whose decoding checks them.
    pub(crate) name: Option<&'a [u8]>,
    pub(crate) empty_arguments: bool,
}

/// Reads `bytes` as a [`PeekedCall`] without decoding a [`Message`]; `None`
/// for anything else (which [`decode`] then handles, errors included).
/// Accepts only what [`decode`] accepts (except that the name's UTF-8 is
/// left to whoever reads it, see [`PeekedCall::name`]) and reads the same
/// way: canonical varints, nothing trailing, within [`Limits::DEFAULT`].
pub(crate) fn peek_tools_call(bytes: &[u8]) -> Option<PeekedCall<'_>> {
    struct Reader<'a>(&'a [u8]);
    impl<'a> Reader<'a> {
        fn byte(&mut self) -> Option<u8> {
            let (&b, rest) = self.0.split_first()?;
            self.0 = rest;
            Some(b)
        }
        /// A minimal-length varint.
        // Inlined, like `bytes`: the reader is a handful of instructions
        // per field, and calls (with the reader spilled to the stack) were
        // a third of the peek's cost.
        #[inline(always)]
        fn varint(&mut self) -> Option<u64> {
            // Every varint of a peeked call is one byte but an id or a
            // length from 128 on: that case alone skips the loop.
            match self.0.first() {
                Some(&b) if b < 0x80 => {
                    self.0 = &self.0[1..];
                    return Some(u64::from(b));
                }
                _ => {}
            }
            let mut n = 0u64;
            for shift in (0..64).step_by(7) {
                let b = self.byte()?;
                if shift == 63 && b > 1 {
                    return None;
                }
                n |= u64::from(b & 0x7f) << shift;
                if b & 0x80 == 0 {
                    return (b != 0 || shift == 0).then_some(n);
                }
            }
            None
        }
        #[inline(always)]
        fn bytes(&mut self) -> Option<&'a [u8]> {
            let len = usize::try_from(self.varint()?).ok()?;
            if len > self.0.len() {
                return None;
            }
            let (head, rest) = self.0.split_at(len);
            self.0 = rest;
            Some(head)
        }
    }
    if bytes.len() > Limits::DEFAULT.max_bytes {
        return None;
    }
    let mut r = Reader(bytes);
    if r.byte()? != 0 {
        return None; // not a Request
    }
    let id = match r.byte()? {
        0 => Id::U64(r.varint()?),
        1 => {
            let z = r.varint()?;
            let n = (z >> 1) as i64 ^ -((z & 1) as i64);
            if n >= 0 {
                return None;
            }
            Id::I64(n)
        }
        _ => return None,
    };
    if r.bytes()? != b"tools/call" {
        return None;
    }
    let mut call = PeekedCall {
        id,
        has_params: false,
        name: None,
        empty_arguments: false,
    };
    match r.byte()? {
        0 => {}
        1 => {
            if r.byte()? != BinTag::Object as u8 {
                return None;
            }
            call.has_params = true;
            let mut seen_arguments = false;
            for _ in 0..r.varint()? {
                // `==` on the keys, not a slice pattern: the pattern is
                // compiled a byte at a time, `==` a word at a time.
                let key = r.bytes()?;
                if key == b"name" && call.name.is_none() {
                    if r.byte()? != BinTag::Str as u8 {
                        return None;
                    }
                    call.name = Some(r.bytes()?);
                } else if key == b"arguments" && !seen_arguments {
                    if r.byte()? != BinTag::Object as u8 || r.varint()? != 0 {
                        return None;
                    }
                    seen_arguments = true;
                } else {
                    return None;
                }
            }
            call.empty_arguments = seen_arguments;
        }
        _ => return None,
    }
    r.0.is_empty().then_some(call)
}

/// Postcard's primitives written straight into a buffer: the bytes
/// [`encode`] produces for the same [`Message`], without building one (how
/// the direct `tools/call` path answers). Checked against [`encode`] by the
/// tests.
#[derive(Debug, Default)]
pub(crate) struct PostcardOut(pub(crate) Vec<u8>);

// The primitives are inlined: a trivial call's answer is a dozen of them,
// and encoding it is about a quarter of an EL0 program's `svc` round trip;
// inlined they take ~10 instructions off it (959 → 947).
impl PostcardOut {
    #[inline]
    pub(crate) fn varint(&mut self, mut n: u64) {
        while n >= 0x80 {
            self.0.push(n as u8 | 0x80);
            n >>= 7;
        }
        self.0.push(n as u8);
    }

    #[inline]
    fn zigzag(&mut self, n: i64) {
        self.varint(((n << 1) ^ (n >> 63)) as u64);
    }

    #[inline]
    pub(crate) fn str(&mut self, s: &str) {
        self.varint(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }

    #[inline]
    pub(crate) fn id(&mut self, id: &Id) {
        match id {
            Id::U64(n) => {
                self.varint(0);
                self.varint(*n);
            }
            Id::I64(n) => {
                self.varint(1);
                self.zigzag(*n);
            }
            Id::Str(s) => {
                self.varint(2);
                self.str(s);
            }
        }
    }

    /// A [`BinValue`] tag (its variant index).
    #[inline]
    pub(crate) fn tag(&mut self, tag: BinTag) {
        self.varint(tag as u64);
    }

    /// `value` as the [`BinValue`] `BinValue::from(value)` gives.
    pub(crate) fn value(&mut self, value: &serde_json::Value) {
        use serde_json::Value;
        match value {
            Value::Null => self.tag(BinTag::Null),
            Value::Bool(b) => {
                self.tag(BinTag::Bool);
                self.0.push(u8::from(*b));
            }
            Value::Number(n) => match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => {
                    self.tag(BinTag::U64);
                    self.varint(u);
                }
                (None, Some(i)) => {
                    self.tag(BinTag::I64);
                    self.zigzag(i);
                }
                _ => match n.as_f64() {
                    Some(f) => {
                        self.tag(BinTag::F64);
                        self.0.extend_from_slice(&f.to_le_bytes());
                    }
                    None => self.tag(BinTag::Null),
                },
            },
            Value::String(s) => {
                self.tag(BinTag::Str);
                self.str(s);
            }
            Value::Array(items) => {
                self.tag(BinTag::Array);
                self.varint(items.len() as u64);
                for item in items {
                    self.value(item);
                }
            }
            Value::Object(map) => {
                self.tag(BinTag::Object);
                self.varint(map.len() as u64);
                for (key, item) in map {
                    self.str(key);
                    self.value(item);
                }
            }
        }
    }

    /// A structured tool result, members in order.
    pub(crate) fn object(&mut self, object: &Object) {
        self.tag(BinTag::Object);
        self.varint(object.len() as u64);
        for (key, item) in object.iter() {
            self.str(key);
            self.value(item);
        }
    }
}

/// The variant indexes of [`BinValue`] (part of the ABI).
#[derive(Debug, Clone, Copy)]
pub(crate) enum BinTag {
    Null = 0,
    Bool = 1,
    U64 = 2,
    I64 = 3,
    F64 = 4,
    Str = 5,
    Array = 6,
    Object = 7,
}

/// The variant index of [`Message::Response`].
pub(crate) const RESPONSE_TAG: u64 = 2;

/// Serves one postcard-encoded request: decodes it, dispatches it through
/// the same JSON path as the UART ([`Server::handle_line`]) and encodes the
/// answer. Returns `None` when the message needs no answer (notifications,
/// responses). Bytes that do not decode get an encoded JSON-RPC error
/// (`id: None`), as a bad line does on the UART.
///
/// `tools/call`, the hot path, is served directly: its `params` are laid
/// out as the JSON path reads them and go through the same checks and tool
/// registry, and the `CallToolResult` is encoded without JSON in between.
/// Everything else goes through JSON, which keeps one dispatcher and one set
/// of checks for both encodings.
pub fn handle_binary(server: &mut Server, request: &[u8]) -> Option<Vec<u8>> {
    if let Some(call) = peek_tools_call(request) {
        if let Some(reply) = server.serve_peeked_call(&call) {
            return reply;
        }
    }
    let message = match decode(request) {
        Ok(message) => message,
        Err(err) => return Some(encode(&err.to_rpc_error())),
    };
    if let Message::Request { id, method, params } = &message {
        if let Some(reply) = server.serve_binary_call(id, method, params.as_ref()) {
            return reply;
        }
    }
    let reply = server.handle_line(message.to_json_line().as_bytes())?;
    let mut reply =
        Message::from_json_line_with(reply.as_bytes(), Limits::TRUSTED).unwrap_or_else(|err| {
            Message::Error {
                id: message.id().cloned(),
                code: INTERNAL_ERROR,
                message: alloc::format!("Internal error: unencodable reply ({err})"),
                data: None,
            }
        });
    if let (Message::Request { method, .. }, Message::Response { result, .. }) =
        (&message, &mut reply)
    {
        if method == "tools/call" {
            drop_text_mirror(result);
        }
    }
    Some(encode(&reply))
}

/// Leaves the text mirror of `structuredContent` out of a `CallToolResult`
/// (`content` becomes `[]`): how every binary answer to `tools/call` comes.
///
/// A JSON answer repeats a structured result as JSON text in `content`
/// because the specification asks it for clients that only read `content`.
/// Binary callers are the kernel's own and EL0 programs, which read
/// `structuredContent`; printing and escaping the mirror was a fifth of a
/// trivial postcard `tools/call` (docs/performance.md).
pub fn drop_text_mirror(result: &mut BinValue) {
    let BinValue::Object(members) = result else {
        return;
    };
    if !members.iter().any(|(key, _)| key == "structuredContent") {
        return;
    }
    for (key, value) in members.iter_mut() {
        if key == "content" {
            *value = BinValue::Array(Vec::new());
        }
    }
}

impl Message {
    /// Parses one JSON-RPC line (without its newline) under
    /// [`Limits::DEFAULT`]. Members other than `jsonrpc`, `id`, `method`,
    /// `params`, `result` and `error` are not carried; any of those six
    /// appearing twice is refused, as the JSON path refuses it. (Inside
    /// `params`, `result` and `data`, repeated members are kept in order.)
    pub fn from_json_line(line: &[u8]) -> Result<Message, Error> {
        Message::from_json_line_with(line, Limits::DEFAULT)
    }

    /// [`Message::from_json_line`] with other limits.
    pub fn from_json_line_with(line: &[u8], limits: Limits) -> Result<Message, Error> {
        match BinValue::from_json_with(line, limits)? {
            BinValue::Object(members) => Message::from_members(members),
            BinValue::Array(_) => Err(Error::NotJsonRpc("batches are not supported")),
            _ => Err(Error::NotJsonRpc("expected a JSON object")),
        }
    }

    /// The compact JSON line (no trailing newline) for this message.
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(&JsonMessage(self)).unwrap_or_else(|_| {
            String::from(
                r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Internal error: message serialization failed"}}"#,
            )
        })
    }

    /// The id of a request, response or error, if it has one.
    pub fn id(&self) -> Option<&Id> {
        match self {
            Message::Request { id, .. } | Message::Response { id, .. } => Some(id),
            Message::Error { id, .. } => id.as_ref(),
            Message::Notification { .. } => None,
        }
    }

    fn from_members(members: Vec<(String, BinValue)>) -> Result<Message, Error> {
        let (mut version, mut id, mut method, mut params, mut result, mut error) =
            (None, None, None, None, None, None);
        for (key, value) in members {
            let slot = match key.as_str() {
                "jsonrpc" => &mut version,
                "id" => &mut id,
                "method" => &mut method,
                "params" => &mut params,
                "result" => &mut result,
                "error" => &mut error,
                _ => continue,
            };
            if slot.replace(value).is_some() {
                return Err(Error::NotJsonRpc("a JSON-RPC member appears twice"));
            }
        }
        if !matches!(&version, Some(BinValue::Str(v)) if v == "2.0") {
            return Err(Error::NotJsonRpc("\"jsonrpc\" must be \"2.0\""));
        }
        if let Some(method) = method {
            let BinValue::Str(method) = method else {
                return Err(Error::NotJsonRpc("\"method\" must be a string"));
            };
            return Ok(match id {
                None => Message::Notification { method, params },
                Some(id) => Message::Request {
                    id: Id::from_value(id)?,
                    method,
                    params,
                },
            });
        }
        match (result, error) {
            (Some(result), None) => {
                let id = id.ok_or(Error::NotJsonRpc("a response needs an \"id\""))?;
                Ok(Message::Response {
                    id: Id::from_value(id)?,
                    result,
                })
            }
            (None, Some(BinValue::Object(fields))) => {
                let id = match id {
                    None | Some(BinValue::Null) => None,
                    Some(id) => Some(Id::from_value(id)?),
                };
                let (mut code, mut message, mut data) = (None, None, None);
                for (key, value) in fields {
                    match key.as_str() {
                        "code" => code = Some(value),
                        "message" => message = Some(value),
                        "data" => data = Some(value),
                        _ => {}
                    }
                }
                let code = match code {
                    Some(BinValue::I64(c)) => c,
                    Some(BinValue::U64(c)) => i64::try_from(c)
                        .map_err(|_| Error::NotJsonRpc("error \"code\" out of range"))?,
                    _ => return Err(Error::NotJsonRpc("error \"code\" must be an integer")),
                };
                let Some(BinValue::Str(message)) = message else {
                    return Err(Error::NotJsonRpc("error \"message\" must be a string"));
                };
                Ok(Message::Error {
                    id,
                    code,
                    message,
                    data,
                })
            }
            (None, Some(_)) => Err(Error::NotJsonRpc("\"error\" must be an object")),
            (Some(_), Some(_)) => Err(Error::NotJsonRpc("both \"result\" and \"error\"")),
            (None, None) => Err(Error::NotJsonRpc(
                "expected \"method\", \"result\" or \"error\"",
            )),
        }
    }
}

impl Id {
    fn from_value(value: BinValue) -> Result<Id, Error> {
        match value {
            BinValue::U64(n) => Ok(Id::U64(n)),
            BinValue::I64(n) if n >= 0 => Ok(Id::U64(n as u64)),
            BinValue::I64(n) => Ok(Id::I64(n)),
            BinValue::Str(s) => Ok(Id::Str(s)),
            _ => Err(Error::NotJsonRpc("\"id\" must be a string or an integer")),
        }
    }
}

impl BinValue {
    /// Parses one JSON document under [`Limits::DEFAULT`] (the document's
    /// outermost array or object is level 1).
    pub fn from_json(json: &[u8]) -> Result<BinValue, Error> {
        BinValue::from_json_with(json, Limits::DEFAULT)
    }

    /// [`BinValue::from_json`] with other limits.
    pub fn from_json_with(json: &[u8], limits: Limits) -> Result<BinValue, Error> {
        if json.len() > limits.max_bytes {
            return Err(Error::TooLong {
                len: json.len(),
                max: limits.max_bytes,
            });
        }
        let guard = DepthGuard::new(limits.max_depth);
        let mut de = serde_json::Deserializer::from_slice(json);
        let value = JsonSeed {
            guard: &guard,
            depth: 0,
        }
        .deserialize(&mut de)
        .and_then(|value| de.end().map(|()| value))
        .map_err(|_| guard.error(Error::InvalidJson))?;
        Ok(value)
    }

    /// Compact JSON text for this value.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&JsonValue(self)).unwrap_or_else(|_| String::from("null"))
    }
}

impl From<&serde_json::Value> for BinValue {
    /// Converts a `serde_json::Value` (whose objects may already have lost
    /// their member order, depending on serde_json's features).
    fn from(value: &serde_json::Value) -> BinValue {
        use serde_json::Value;
        match value {
            Value::Null => BinValue::Null,
            Value::Bool(b) => BinValue::Bool(*b),
            Value::Number(n) => match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => BinValue::U64(u),
                (None, Some(i)) => BinValue::I64(i),
                _ => n.as_f64().map_or(BinValue::Null, BinValue::F64),
            },
            Value::String(s) => BinValue::Str(s.clone()),
            Value::Array(items) => BinValue::Array(items.iter().map(BinValue::from).collect()),
            Value::Object(map) => BinValue::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), BinValue::from(v)))
                    .collect(),
            ),
        }
    }
}

impl From<&BinValue> for serde_json::Value {
    /// Converts to a `serde_json::Value`; a non-finite float becomes `null`
    /// and duplicate members collapse to the last one.
    fn from(value: &BinValue) -> serde_json::Value {
        use serde_json::Value;
        match value {
            BinValue::Null => Value::Null,
            BinValue::Bool(b) => Value::Bool(*b),
            BinValue::U64(n) => Value::from(*n),
            BinValue::I64(n) => Value::from(*n),
            BinValue::F64(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            BinValue::Str(s) => Value::String(s.clone()),
            BinValue::Array(items) => Value::Array(items.iter().map(Value::from).collect()),
            BinValue::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::from(v)))
                    .collect(),
            ),
        }
    }
}

// ---------------------------------------------------------------------------
// Bounded decoding. serde's derived `Deserialize` for a recursive type
// recurses once per nesting level with no limit, so the recursive parts are
// decoded through seeds that carry the depth and stop at the limit.

/// Records that the depth limit, rather than malformed input, stopped a
/// decode (both surface as the format's opaque error).
struct DepthGuard {
    max_depth: usize,
    exceeded: Cell<bool>,
}

impl DepthGuard {
    fn new(max_depth: usize) -> Self {
        DepthGuard {
            max_depth,
            exceeded: Cell::new(false),
        }
    }

    /// Opens one more level of nesting below `depth`; fails past the limit.
    fn enter<E: de::Error>(&self, depth: usize) -> Result<usize, E> {
        let inner = depth + 1;
        if inner > self.max_depth {
            self.exceeded.set(true);
            return Err(E::custom("nested too deep"));
        }
        Ok(inner)
    }

    fn error(&self, otherwise: Error) -> Error {
        if self.exceeded.get() {
            Error::TooDeep {
                max: self.max_depth,
            }
        } else {
            otherwise
        }
    }
}

/// Never reserve more than this many elements up front on the strength of a
/// length prefix: the input decides how many actually follow.
const MAX_PREALLOC: usize = 64;

/// The `BinValue` variant names, in wire order.
const BIN_VALUE_VARIANTS: &[&str] = &[
    "Null", "Bool", "U64", "I64", "F64", "Str", "Array", "Object",
];
const MESSAGE_VARIANTS: &[&str] = &["Request", "Notification", "Response", "Error"];

impl<'de> Deserialize<'de> for BinValue {
    /// Decodes the compact (postcard) form under [`Limits::DEFAULT`]'s depth,
    /// counting this value as inside one envelope.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let guard = DepthGuard::new(MAX_DEPTH);
        ValueSeed {
            guard: &guard,
            depth: 1,
        }
        .deserialize(deserializer)
    }
}

impl<'de> Deserialize<'de> for Message {
    /// Decodes the compact (postcard) form under [`Limits::DEFAULT`]'s depth.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let guard = DepthGuard::new(MAX_DEPTH);
        MessageSeed { guard: &guard }.deserialize(deserializer)
    }
}

fn missing<E: de::Error>(index: usize) -> E {
    E::invalid_length(index, &"all fields of the variant")
}

#[derive(Clone, Copy)]
struct MessageSeed<'g> {
    guard: &'g DepthGuard,
}

impl<'de> DeserializeSeed<'de> for MessageSeed<'_> {
    type Value = Message;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Message, D::Error> {
        deserializer.deserialize_enum("Message", MESSAGE_VARIANTS, self)
    }
}

impl<'de> Visitor<'de> for MessageSeed<'_> {
    type Value = Message;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Message")
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Message, A::Error> {
        let (tag, variant) = data.variant::<u32>()?;
        let fields = match tag {
            0 => 3,
            1 => 2,
            2 => 2,
            3 => 4,
            _ => {
                return Err(de::Error::invalid_value(
                    de::Unexpected::Unsigned(tag.into()),
                    &"a Message variant index (0..=3)",
                ))
            }
        };
        variant.tuple_variant(
            fields,
            MessageFields {
                guard: self.guard,
                tag,
            },
        )
    }
}

/// The fields of one `Message` variant, in declaration order.
struct MessageFields<'g> {
    guard: &'g DepthGuard,
    tag: u32,
}

impl<'de> Visitor<'de> for MessageFields<'_> {
    type Value = Message;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the fields of a Message variant")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Message, A::Error> {
        // Values inside a message sit below the envelope: depth 1.
        let value = ValueSeed {
            guard: self.guard,
            depth: 1,
        };
        let optional = OptionalValueSeed(value);
        Ok(match self.tag {
            0 => Message::Request {
                id: seq.next_element()?.ok_or_else(|| missing(0))?,
                method: seq.next_element()?.ok_or_else(|| missing(1))?,
                params: seq.next_element_seed(optional)?.ok_or_else(|| missing(2))?,
            },
            1 => Message::Notification {
                method: seq.next_element()?.ok_or_else(|| missing(0))?,
                params: seq.next_element_seed(optional)?.ok_or_else(|| missing(1))?,
            },
            2 => Message::Response {
                id: seq.next_element()?.ok_or_else(|| missing(0))?,
                result: seq.next_element_seed(value)?.ok_or_else(|| missing(1))?,
            },
            _ => Message::Error {
                id: seq.next_element()?.ok_or_else(|| missing(0))?,
                code: seq.next_element()?.ok_or_else(|| missing(1))?,
                message: seq.next_element()?.ok_or_else(|| missing(2))?,
                data: seq.next_element_seed(optional)?.ok_or_else(|| missing(3))?,
            },
        })
    }
}

/// A compact `BinValue` nested inside `depth` arrays/objects (the envelope
/// included).
#[derive(Clone, Copy)]
struct ValueSeed<'g> {
    guard: &'g DepthGuard,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = BinValue;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<BinValue, D::Error> {
        deserializer.deserialize_enum("BinValue", BIN_VALUE_VARIANTS, self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = BinValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a BinValue")
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<BinValue, A::Error> {
        let (tag, variant) = data.variant::<u32>()?;
        Ok(match tag {
            0 => {
                variant.unit_variant()?;
                BinValue::Null
            }
            1 => BinValue::Bool(variant.newtype_variant()?),
            2 => BinValue::U64(variant.newtype_variant()?),
            3 => BinValue::I64(variant.newtype_variant()?),
            4 => BinValue::F64(variant.newtype_variant()?),
            5 => BinValue::Str(variant.newtype_variant()?),
            6 | 7 => {
                let inner = ValueSeed {
                    guard: self.guard,
                    depth: self.guard.enter(self.depth)?,
                };
                if tag == 6 {
                    BinValue::Array(variant.newtype_variant_seed(ArraySeed(inner))?)
                } else {
                    BinValue::Object(variant.newtype_variant_seed(ObjectSeed(inner))?)
                }
            }
            _ => {
                return Err(de::Error::invalid_value(
                    de::Unexpected::Unsigned(tag.into()),
                    &"a BinValue variant index (0..=7)",
                ))
            }
        })
    }
}

#[derive(Clone, Copy)]
struct OptionalValueSeed<'g>(ValueSeed<'g>);

impl<'de> DeserializeSeed<'de> for OptionalValueSeed<'_> {
    type Value = Option<BinValue>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for OptionalValueSeed<'_> {
    type Value = Option<BinValue>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an optional BinValue")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        self.0.deserialize(deserializer).map(Some)
    }
}

/// The elements of an array; the seed is for each element.
struct ArraySeed<'g>(ValueSeed<'g>);

impl<'de> DeserializeSeed<'de> for ArraySeed<'_> {
    type Value = Vec<BinValue>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ArraySeed<'_> {
    type Value = Vec<BinValue>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence of BinValues")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX_PREALLOC));
        while let Some(item) = seq.next_element_seed(self.0)? {
            items.push(item);
        }
        Ok(items)
    }
}

/// The members of an object; the seed is for each member's value.
struct ObjectSeed<'g>(ValueSeed<'g>);

impl<'de> DeserializeSeed<'de> for ObjectSeed<'_> {
    type Value = Vec<(String, BinValue)>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ObjectSeed<'_> {
    type Value = Vec<(String, BinValue)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence of (name, BinValue) members")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut members = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX_PREALLOC));
        while let Some(member) = seq.next_element_seed(MemberSeed(self.0))? {
            members.push(member);
        }
        Ok(members)
    }
}

/// One `(name, value)` member, a 2-tuple on the wire.
struct MemberSeed<'g>(ValueSeed<'g>);

impl<'de> DeserializeSeed<'de> for MemberSeed<'_> {
    type Value = (String, BinValue);

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_tuple(2, self)
    }
}

impl<'de> Visitor<'de> for MemberSeed<'_> {
    type Value = (String, BinValue);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a (name, BinValue) member")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let name = seq.next_element()?.ok_or_else(|| missing(0))?;
        let value = seq.next_element_seed(self.0)?.ok_or_else(|| missing(1))?;
        Ok((name, value))
    }
}

// ---------------------------------------------------------------------------
// JSON text ⇄ BinValue, member order and number kinds preserved.

/// A JSON value nested inside `depth` arrays/objects.
#[derive(Clone, Copy)]
struct JsonSeed<'g> {
    guard: &'g DepthGuard,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for JsonSeed<'_> {
    type Value = BinValue;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<BinValue, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for JsonSeed<'_> {
    type Value = BinValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<BinValue, E> {
        Ok(BinValue::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<BinValue, E> {
        Ok(BinValue::Null)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<BinValue, E> {
        Ok(BinValue::Bool(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<BinValue, E> {
        Ok(BinValue::U64(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<BinValue, E> {
        Ok(if v >= 0 {
            BinValue::U64(v as u64)
        } else {
            BinValue::I64(v)
        })
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<BinValue, E> {
        Ok(BinValue::F64(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<BinValue, E> {
        Ok(BinValue::Str(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<BinValue, E> {
        Ok(BinValue::Str(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<BinValue, A::Error> {
        let inner = JsonSeed {
            guard: self.guard,
            depth: self.guard.enter(self.depth)?,
        };
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(inner)? {
            items.push(item);
        }
        Ok(BinValue::Array(items))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<BinValue, A::Error> {
        let inner = JsonSeed {
            guard: self.guard,
            depth: self.guard.enter(self.depth)?,
        };
        let mut members = Vec::new();
        while let Some(name) = map.next_key::<String>()? {
            let value = map.next_value_seed(inner)?;
            members.push((name, value));
        }
        Ok(BinValue::Object(members))
    }
}

/// Serializes a `BinValue` as JSON, members in order.
struct JsonValue<'a>(&'a BinValue);

impl Serialize for JsonValue<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            BinValue::Null => serializer.serialize_unit(),
            BinValue::Bool(b) => serializer.serialize_bool(*b),
            BinValue::U64(n) => serializer.serialize_u64(*n),
            BinValue::I64(n) => serializer.serialize_i64(*n),
            // serde_json writes a non-finite float as `null`.
            BinValue::F64(f) => serializer.serialize_f64(*f),
            BinValue::Str(s) => serializer.serialize_str(s),
            BinValue::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&JsonValue(item))?;
                }
                seq.end()
            }
            BinValue::Object(members) => {
                let mut map = serializer.serialize_map(Some(members.len()))?;
                for (name, value) in members {
                    map.serialize_entry(name, &JsonValue(value))?;
                }
                map.end()
            }
        }
    }
}

struct JsonId<'a>(&'a Id);

impl Serialize for JsonId<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Id::U64(n) => serializer.serialize_u64(*n),
            Id::I64(n) => serializer.serialize_i64(*n),
            Id::Str(s) => serializer.serialize_str(s),
        }
    }
}

/// Serializes a `Message` as a JSON-RPC envelope.
struct JsonMessage<'a>(&'a Message);

impl Serialize for JsonMessage<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("jsonrpc", "2.0")?;
        match self.0 {
            Message::Request { id, method, params } => {
                map.serialize_entry("id", &JsonId(id))?;
                map.serialize_entry("method", method)?;
                if let Some(params) = params {
                    map.serialize_entry("params", &JsonValue(params))?;
                }
            }
            Message::Notification { method, params } => {
                map.serialize_entry("method", method)?;
                if let Some(params) = params {
                    map.serialize_entry("params", &JsonValue(params))?;
                }
            }
            Message::Response { id, result } => {
                map.serialize_entry("id", &JsonId(id))?;
                map.serialize_entry("result", &JsonValue(result))?;
            }
            Message::Error {
                id,
                code,
                message,
                data,
            } => {
                map.serialize_entry("id", &id.as_ref().map(JsonId))?;
                map.serialize_entry(
                    "error",
                    &JsonErrorObject {
                        code: *code,
                        message,
                        data: data.as_ref(),
                    },
                )?;
            }
        }
        map.end()
    }
}

struct JsonErrorObject<'a> {
    code: i64,
    message: &'a str,
    data: Option<&'a BinValue>,
}

impl Serialize for JsonErrorObject<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("code", &self.code)?;
        map.serialize_entry("message", self.message)?;
        if let Some(data) = self.data {
            map.serialize_entry("data", &JsonValue(data))?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ServerInfo, Tool, ToolResult};
    use alloc::boxed::Box;
    use alloc::string::ToString;
    use alloc::vec;
    use serde_json::json;

    /// Lines already in canonical form: compact, envelope members in the
    /// order `to_json_line` writes them, serde_json's escapes and floats.
    const CANONICAL: &[&str] = &[
        r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
        r#"{"jsonrpc":"2.0","id":"abc","method":"tools/call","params":{"name":"echo","arguments":{}}}"#,
        r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":7,"reason":"x"}}"#,
        r#"{"jsonrpc":"2.0","id":2,"method":"m","params":null}"#,
        r#"{"jsonrpc":"2.0","id":3,"method":"m","params":[1,"two",[3]]}"#,
        r#"{"jsonrpc":"2.0","id":4,"result":{}}"#,
        r#"{"jsonrpc":"2.0","id":5,"result":{"content":[{"type":"text","text":"hi"}],"isError":false}}"#,
        r#"{"jsonrpc":"2.0","id":-6,"result":null}"#,
        r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error: invalid JSON"}}"#,
        r#"{"jsonrpc":"2.0","id":"e","error":{"code":-32602,"message":"Invalid params","data":{"len":70000,"max":65536}}}"#,
        // Unicode and escapes, in ids, names and values.
        r#"{"jsonrpc":"2.0","id":"é😀\"\\\n\u0000","method":"π/✓","params":{"ключ":"値","\t":"\u001f"}}"#,
        // Integer extremes keep their kind and value.
        r#"{"jsonrpc":"2.0","id":18446744073709551615,"method":"m","params":{"min":-9223372036854775808,"max":18446744073709551615,"zero":0,"neg":-1}}"#,
        r#"{"jsonrpc":"2.0","id":-9223372036854775808,"result":[9223372036854775807,9223372036854775808]}"#,
        // Floats, including ones that look like integers.
        r#"{"jsonrpc":"2.0","id":9,"result":[0.1,-2.5,1.0,-0.0,1e+300,5e-324,1.7976931348623157e+308,123456.789]}"#,
        // Member order is kept, duplicates included.
        r#"{"jsonrpc":"2.0","id":10,"method":"m","params":{"z":1,"a":2,"m":{"y":true,"b":false},"z":3}}"#,
        // Nesting.
        r#"{"jsonrpc":"2.0","id":11,"method":"m","params":{"a":[{"b":[{"c":[[],{}]}]}],"d":[[[[[[null]]]]]]}}"#,
    ];

    fn round_trip(line: &str) -> Message {
        let message =
            Message::from_json_line(line.as_bytes()).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(message.to_json_line(), line);
        let bytes = encode(&message);
        assert_eq!(decode(&bytes), Ok(message.clone()), "{line}");
        assert!(
            bytes.len() <= line.len(),
            "{line}: postcard is larger than JSON"
        );
        message
    }

    #[test]
    fn canonical_lines_round_trip_exactly() {
        for line in CANONICAL {
            round_trip(line);
        }
    }

    #[test]
    fn messages_have_the_expected_shape() {
        assert_eq!(
            round_trip(CANONICAL[0]),
            Message::Request {
                id: Id::U64(1),
                method: "ping".into(),
                params: None
            }
        );
        assert_eq!(
            round_trip(CANONICAL[3]),
            Message::Notification {
                method: "notifications/initialized".into(),
                params: None
            }
        );
        assert_eq!(
            round_trip(CANONICAL[10]),
            Message::Error {
                id: None,
                code: -32700,
                message: "Parse error: invalid JSON".into(),
                data: None
            }
        );
        let Message::Request { params, .. } = round_trip(CANONICAL[16]) else {
            panic!()
        };
        let Some(BinValue::Object(members)) = params else {
            panic!()
        };
        let names: Vec<&str> = members.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["z", "a", "m", "z"]);
    }

    #[test]
    fn number_kinds_are_kept() {
        let line = r#"{"jsonrpc":"2.0","id":1,"result":[1,1.0,-1,-1.0,18446744073709551615,-9223372036854775808,18446744073709551616]}"#;
        let Message::Response { result, .. } = Message::from_json_line(line.as_bytes()).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            result,
            BinValue::Array(vec![
                BinValue::U64(1),
                BinValue::F64(1.0),
                BinValue::I64(-1),
                BinValue::F64(-1.0),
                BinValue::U64(u64::MAX),
                BinValue::I64(i64::MIN),
                // Beyond u64, as in the JSON path: a float.
                BinValue::F64(18446744073709551616.0),
            ])
        );
        let back = decode(&encode(&Message::Response {
            id: Id::U64(1),
            result: result.clone(),
        }))
        .unwrap();
        assert_eq!(
            back,
            Message::Response {
                id: Id::U64(1),
                result
            }
        );
    }

    #[test]
    fn json_form_matches_serde_json() {
        // Whatever the member order, the JSON written means what was read.
        for line in CANONICAL {
            let ours: serde_json::Value = serde_json::from_str(
                &Message::from_json_line(line.as_bytes())
                    .unwrap()
                    .to_json_line(),
            )
            .unwrap();
            let theirs: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(ours, theirs, "{line}");
        }
        // Members in another order, whitespace, and ignored extras.
        let m = Message::from_json_line(
            br#" { "params" : {"b":1} , "method":"m", "x":[1], "id":"7", "jsonrpc":"2.0" } "#,
        )
        .unwrap();
        assert_eq!(
            m.to_json_line(),
            r#"{"jsonrpc":"2.0","id":"7","method":"m","params":{"b":1}}"#
        );
    }

    #[test]
    fn value_conversions() {
        let v = json!({"a":[1,-2,2.5,"s",null,true],"b":{}});
        let bin = BinValue::from(&v);
        assert_eq!(serde_json::Value::from(&bin), v);
        assert_eq!(BinValue::from_json(bin.to_json().as_bytes()), Ok(bin));
        assert_eq!(BinValue::F64(f64::NAN).to_json(), "null");
        assert_eq!(
            serde_json::Value::from(&BinValue::F64(f64::INFINITY)),
            serde_json::Value::Null
        );
    }

    #[test]
    fn wire_format_is_pinned() {
        let ping = Message::Request {
            id: Id::U64(1),
            method: "ping".into(),
            params: None,
        };
        assert_eq!(encode(&ping), [0, 0, 1, 4, b'p', b'i', b'n', b'g', 0]);
        let value = Message::Response {
            id: Id::I64(-1),
            result: BinValue::Object(vec![
                (
                    "k".into(),
                    BinValue::Array(vec![BinValue::Null, BinValue::Bool(true)]),
                ),
                ("s".into(), BinValue::Str("é".into())),
            ]),
        };
        assert_eq!(
            encode(&value),
            [2, 1, 1, 7, 2, 1, b'k', 6, 2, 0, 1, 1, 1, b's', 5, 2, 0xc3, 0xa9]
        );
        let error = Message::Error {
            id: None,
            code: -32601,
            message: "m".into(),
            data: Some(BinValue::F64(1.5)),
        };
        assert_eq!(
            encode(&error),
            [3, 0, 0xb1, 0xfd, 0x03, 1, b'm', 1, 4, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f]
        );
        // serde's own entry points agree with encode/decode.
        assert_eq!(postcard::from_bytes::<Message>(&encode(&value)), Ok(value));
    }

    #[test]
    fn not_json_rpc_is_refused() {
        let cases: &[(&str, Error)] = &[
            ("", Error::InvalidJson),
            ("{", Error::InvalidJson),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"m"} x"#,
                Error::InvalidJson,
            ),
            ("\u{feff}{}", Error::InvalidJson),
            ("[]", Error::NotJsonRpc("batches are not supported")),
            ("7", Error::NotJsonRpc("expected a JSON object")),
            (
                r#"{"id":1,"method":"m"}"#,
                Error::NotJsonRpc("\"jsonrpc\" must be \"2.0\""),
            ),
            (
                r#"{"jsonrpc":"1.0","id":1,"method":"m"}"#,
                Error::NotJsonRpc("\"jsonrpc\" must be \"2.0\""),
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":5}"#,
                Error::NotJsonRpc("\"method\" must be a string"),
            ),
            (
                r#"{"jsonrpc":"2.0","id":1.5,"method":"m"}"#,
                Error::NotJsonRpc("\"id\" must be a string or an integer"),
            ),
            (
                r#"{"jsonrpc":"2.0","id":null,"method":"m"}"#,
                Error::NotJsonRpc("\"id\" must be a string or an integer"),
            ),
            (
                r#"{"jsonrpc":"2.0","result":1}"#,
                Error::NotJsonRpc("a response needs an \"id\""),
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"result":1,"error":{}}"#,
                Error::NotJsonRpc("both \"result\" and \"error\""),
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"error":"x"}"#,
                Error::NotJsonRpc("\"error\" must be an object"),
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"error":{"code":1.5,"message":"m"}}"#,
                Error::NotJsonRpc("error \"code\" must be an integer"),
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"error":{"code":9223372036854775808,"message":"m"}}"#,
                Error::NotJsonRpc("error \"code\" out of range"),
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"error":{"code":1}}"#,
                Error::NotJsonRpc("error \"message\" must be a string"),
            ),
            (
                r#"{"jsonrpc":"2.0","id":1}"#,
                Error::NotJsonRpc("expected \"method\", \"result\" or \"error\""),
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"m"}"#,
                Error::NotJsonRpc("a JSON-RPC member appears twice"),
            ),
            (
                r#"{"jsonrpc":"2.0","jsonrpc":"2.0","method":"m"}"#,
                Error::NotJsonRpc("a JSON-RPC member appears twice"),
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"result":1,"result":2}"#,
                Error::NotJsonRpc("a JSON-RPC member appears twice"),
            ),
            // serde_json reads -0 as a float.
            (
                r#"{"jsonrpc":"2.0","id":-0,"method":"m"}"#,
                Error::NotJsonRpc("\"id\" must be a string or an integer"),
            ),
        ];
        for (line, err) in cases {
            assert_eq!(
                Message::from_json_line(line.as_bytes()).as_ref(),
                Err(err),
                "{line}"
            );
        }
        assert_eq!(
            Message::from_json_line(b"{\"a\":\"\xff\"}"),
            Err(Error::InvalidJson)
        );
    }

    fn nested_json(levels: usize) -> String {
        let mut s = "[".repeat(levels);
        s.push_str(&"]".repeat(levels));
        s
    }

    fn nested_value(levels: usize) -> BinValue {
        let mut v = BinValue::Null;
        for _ in 0..levels {
            v = BinValue::Array(vec![v]);
        }
        v
    }

    #[test]
    fn depth_is_bounded_like_the_json_path() {
        // The envelope is level 1, so params may nest 31 more levels.
        let line = |n| {
            alloc::format!(
                r#"{{"jsonrpc":"2.0","id":1,"method":"m","params":{}}}"#,
                nested_json(n)
            )
        };
        assert!(Message::from_json_line(line(31).as_bytes()).is_ok());
        assert_eq!(
            Message::from_json_line(line(32).as_bytes()),
            Err(Error::TooDeep { max: MAX_DEPTH })
        );
        assert_eq!(
            Message::from_json_line_with(
                "[".repeat(100_000).as_bytes(),
                Limits {
                    max_bytes: usize::MAX,
                    max_depth: MAX_DEPTH
                }
            ),
            Err(Error::TooDeep { max: MAX_DEPTH })
        );

        let request = |n| Message::Request {
            id: Id::U64(1),
            method: "m".into(),
            params: Some(nested_value(n)),
        };
        assert_eq!(decode(&encode(&request(31))), Ok(request(31)));
        assert_eq!(
            decode(&encode(&request(32))),
            Err(Error::TooDeep { max: MAX_DEPTH })
        );
        // A decodable message always passes the JSON path's depth check.
        let json = request(31).to_json_line();
        assert!(!crate::jsonrpc::nesting_exceeds(
            json.as_bytes(),
            crate::jsonrpc::MAX_DEPTH
        ));

        // A hostile encoding: 60,000 nested one-element arrays.
        let mut bytes = vec![0, 0, 1, 1, b'm', 1];
        for _ in 0..30_000 {
            bytes.extend_from_slice(&[6, 1]);
        }
        bytes.push(0);
        assert_eq!(decode(&bytes), Err(Error::TooDeep { max: MAX_DEPTH }));
        // Objects count too.
        let mut bytes = vec![1, 1, b'm', 1];
        for _ in 0..40 {
            bytes.extend_from_slice(&[7, 1, 0]);
        }
        bytes.push(0);
        assert_eq!(decode(&bytes), Err(Error::TooDeep { max: MAX_DEPTH }));
        // Deeper limits for trusted input.
        assert_eq!(
            decode_with(&encode(&request(40)), Limits::TRUSTED),
            Ok(request(40))
        );
    }

    #[test]
    fn length_trailing_bytes_and_truncation() {
        let big = Message::Notification {
            method: "m".into(),
            params: Some(BinValue::Str("x".repeat(MAX_MESSAGE_BYTES))),
        };
        let bytes = encode(&big);
        assert_eq!(
            decode(&bytes),
            Err(Error::TooLong {
                len: bytes.len(),
                max: MAX_MESSAGE_BYTES
            })
        );
        assert_eq!(decode_with(&bytes, Limits::TRUSTED), Ok(big));

        for line in CANONICAL {
            let bytes = encode(&Message::from_json_line(line.as_bytes()).unwrap());
            for cut in 0..bytes.len() {
                assert!(decode(&bytes[..cut]).is_err(), "{line} cut at {cut}");
            }
            let mut longer = bytes.clone();
            longer.extend_from_slice(&[0, 0]);
            assert_eq!(decode(&longer), Err(Error::TrailingBytes { extra: 2 }));
        }
        // Unknown variants, bad option tags, invalid UTF-8, huge lengths.
        for bad in [
            &[4u8][..],
            &[0, 3, 0, 0, 0],
            &[1, 0, 2],
            &[1, 2, 0xff, 0xfe, 0],
            &[1, 1, b'm', 1, 8],
            &[1, 1, b'm', 1, 6, 0xff, 0xff, 0xff, 0xff, 0x0f],
            &[
                1, 1, b'm', 1, 5, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
            ],
            &[1, 1, b'm', 1, 7, 0xff, 0xff, 0xff, 0x7f, 0, 0],
        ] {
            assert_eq!(decode(bad), Err(Error::Malformed), "{bad:?}");
        }
        assert_eq!(decode(&[]), Err(Error::Malformed));
    }

    /// xorshift64*: deterministic, tiny.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        /// Mostly small bytes: they are valid tags and lengths, which gets
        /// the decoder deeper than uniform noise does.
        fn byte(&mut self) -> u8 {
            match self.below(4) {
                0 => self.next() as u8,
                _ => self.below(9) as u8,
            }
        }
    }

    /// Whatever decodes must re-encode to something that decodes to the
    /// same message, and have a JSON form that parses.
    fn check_decoded(bytes: &[u8]) {
        if let Ok(message) = decode(bytes) {
            // Compared as bytes: a NaN is not equal to itself.
            let again = encode(&message);
            assert_eq!(decode(&again).map(|m| encode(&m)), Ok(again));
            let line = message.to_json_line();
            assert!(!line.contains('\n'));
            serde_json::from_str::<serde_json::Value>(&line).unwrap();
        }
    }

    #[test]
    fn random_and_mutated_bytes_never_panic() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let seeds: Vec<Vec<u8>> = CANONICAL
            .iter()
            .map(|l| encode(&Message::from_json_line(l.as_bytes()).unwrap()))
            .collect();
        let mut decoded = 0;
        for _ in 0..50_000 {
            let len = rng.below(48);
            let bytes: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
            decoded += usize::from(decode(&bytes).is_ok());
            check_decoded(&bytes);
        }
        for _ in 0..50_000 {
            let mut bytes = seeds[rng.below(seeds.len())].clone();
            for _ in 0..=rng.below(3) {
                let pos = rng.below(bytes.len() + 1);
                match rng.below(4) {
                    0 => bytes.truncate(pos),
                    1 => bytes.insert(pos, rng.byte()),
                    2 if pos < bytes.len() => bytes[pos] = rng.byte(),
                    _ if pos < bytes.len() => {
                        bytes.remove(pos);
                    }
                    _ => {}
                }
            }
            decoded += usize::from(decode(&bytes).is_ok());
            check_decoded(&bytes);
        }
        // The loops reach past the first byte often enough to mean something.
        assert!(decoded > 1_000, "only {decoded} inputs decoded");
    }

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
            description: "Returns its arguments.",
            input_schema: json!({"type":"object"}),
            output_schema: None,
            handler: Box::new(|args, _context| {
                ToolResult::Structured(crate::object! { "args": args })
            }),
        });
        let initialize = br#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}"#;
        assert!(server.handle_line(initialize).is_some());
        let initialized = br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
        assert!(server.handle_line(initialized).is_none());
        server
    }

    fn call(server: &mut Server, message: &Message) -> Option<Message> {
        handle_binary(server, &encode(message))
            .map(|reply| decode_with(&reply, Limits::TRUSTED).unwrap())
    }

    #[test]
    fn handle_binary_serves_the_same_tools() {
        let mut server = server();
        let request = Message::from_json_line(
            br#"{"jsonrpc":"2.0","id":"q","method":"tools/call","params":{"name":"echo","arguments":{"n":-1}}}"#,
        )
        .unwrap();
        let reply = call(&mut server, &request).unwrap();
        let json = server
            .handle_line(request.to_json_line().as_bytes())
            .unwrap();
        // The same answer, but for the text mirror of the structured result.
        let mut want = Message::from_json_line(json.as_bytes()).unwrap();
        let Message::Response { result, .. } = &mut want else {
            panic!("{want:?}")
        };
        assert_eq!(
            serde_json::Value::from(&*result)["content"][0]["text"],
            r#"{"args":{"n":-1}}"#
        );
        drop_text_mirror(result);
        assert_eq!(reply, want);
        let Message::Response { id, result } = reply else {
            panic!("{reply:?}")
        };
        assert_eq!(id, Id::Str("q".into()));
        assert_eq!(
            serde_json::Value::from(&result)["structuredContent"],
            json!({"args":{"n":-1}})
        );

        let ping = Message::Request {
            id: Id::I64(-5),
            method: "ping".into(),
            params: None,
        };
        assert_eq!(
            call(&mut server, &ping),
            Some(Message::Response {
                id: Id::I64(-5),
                result: BinValue::Object(vec![])
            })
        );
        let unknown = Message::Request {
            id: Id::U64(u64::MAX),
            method: "nope".into(),
            params: None,
        };
        match call(&mut server, &unknown) {
            Some(Message::Error {
                id: Some(Id::U64(u64::MAX)),
                code: -32601,
                ..
            }) => {}
            other => panic!("{other:?}"),
        }
        let note = Message::Notification {
            method: "notifications/initialized".into(),
            params: None,
        };
        assert_eq!(call(&mut server, &note), None);
        let response = Message::Response {
            id: Id::U64(1),
            result: BinValue::Null,
        };
        assert_eq!(call(&mut server, &response), None);
    }

    /// The direct `tools/call` path against the JSON path: the same
    /// answers and the same metrics, on fresh and initialized servers.
    #[test]
    fn direct_tools_call_agrees_with_the_json_path() {
        fn with_tools(initialized: bool) -> Server {
            let mut server = if initialized {
                server()
            } else {
                Server::new(ServerInfo {
                    name: "t",
                    title: "T",
                    version: "0",
                    instructions: None,
                })
            };
            server.add_tool(Tool {
                name: "text",
                title: "Text",
                description: "Text.",
                input_schema: json!({"type":"object","properties":{"s":{"type":"string"}},"required":["s"]}),
                output_schema: None,
                handler: Box::new(|args, _| ToolResult::Text(args["s"].to_string())),
            });
            server.add_tool(Tool {
                name: "fail",
                title: "Fail",
                description: "Fails.",
                input_schema: json!({"type":"object"}),
                output_schema: None,
                handler: Box::new(|_, _| ToolResult::Error("no\n\"way\"".into())),
            });
            server
        }
        let modern = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#;
        let lines = [
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{}}}"#.to_string(),
            r#"{"jsonrpc":"2.0","id":-9223372036854775808,"method":"tools/call","params":{"name":"echo","arguments":{"a":[1,-2,0.5,"\u00e9\n",null,true,{}]}}}"#.to_string(),
            r#"{"jsonrpc":"2.0","id":"s\"x","method":"tools/call","params":{"arguments":{},"name":"echo"}}"#.to_string(),
            r#"{"jsonrpc":"2.0","id":0,"method":"tools/call","params":{"name":"echo"}}"#.to_string(),
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/call"}"#.to_string(),
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"nope"}}"#.to_string(),
            r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":7}}"#.to_string(),
            r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","arguments":[1]}}"#.to_string(),
            r#"{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"text","arguments":{"s":"hi"}}}"#.to_string(),
            r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"text","arguments":{"s":1}}}"#.to_string(),
            r#"{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"fail","x":1}}"#.to_string(),
            r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"echo","name":"echo"}}"#.to_string(),
            r#"{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"name":"echo","uri":"x"}}"#.to_string(),
            r#"{"jsonrpc":"2.0","id":11,"method":"tools/call","params":[]}"#.to_string(),
            r#"{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":"echo","_meta":{"progressToken":1.5}}}"#.to_string(),
            r#"{"jsonrpc":"2.0","id":13,"method":"tools/call","params":{"name":"echo","_meta":{"progressToken":"p"}}}"#.to_string(),
            format!(r#"{{"jsonrpc":"2.0","id":14,"method":"tools/call","params":{{"name":"echo",{modern}}}}}"#),
            r#"{"jsonrpc":"2.0","id":15,"method":"tools/call","params":{"name":"echo","_meta":{"io.modelcontextprotocol/protocolVersion":"1999-01-01"}}}"#.to_string(),
            r#"{"jsonrpc":"2.0","id":16,"method":"tools/call","params":{"name":"echo","_meta":[]}}"#.to_string(),
        ];
        for initialized in [true, false] {
            let mut json_side = with_tools(initialized);
            let mut binary_side = with_tools(initialized);
            for line in &lines {
                let want = json_side.handle_line(line.as_bytes()).map(|reply| {
                    let mut reply =
                        Message::from_json_line_with(reply.as_bytes(), Limits::TRUSTED).unwrap();
                    if let Message::Response { result, .. } = &mut reply {
                        drop_text_mirror(result);
                    }
                    reply
                });
                let request = Message::from_json_line(line.as_bytes()).unwrap();
                assert_eq!(call(&mut binary_side, &request), want, "{line}");
                assert_eq!(binary_side.metrics(), json_side.metrics(), "{line}");
            }
            assert!(json_side.metrics().requests >= lines.len() as u64);
        }
    }

    #[test]
    fn peeked_calls_are_what_decode_reads() {
        /// The peeked call, with its name owned, and the decoded message.
        type Peeked = (Id, bool, Option<String>, bool, Message);
        let peeked = |line: &str| -> Option<Peeked> {
            let message = Message::from_json_line(line.as_bytes()).unwrap();
            let bytes = encode(&message);
            let call = peek_tools_call(&bytes)?;
            let name = call.name.map(|n| String::from_utf8(n.to_vec()).unwrap());
            Some((
                call.id,
                call.has_params,
                name,
                call.empty_arguments,
                message,
            ))
        };
        let (id, has_params, name, empty_arguments, _) = peeked(
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{}}}"#,
        )
        .unwrap();
        assert_eq!(
            (id, has_params, name.as_deref(), empty_arguments),
            (Id::U64(1), true, Some("echo"), true)
        );
        for line in [
            r#"{"jsonrpc":"2.0","id":-3,"method":"tools/call","params":{"arguments":{},"name":"é"}}"#,
            r#"{"jsonrpc":"2.0","id":18446744073709551615,"method":"tools/call"}"#,
            r#"{"jsonrpc":"2.0","id":0,"method":"tools/call","params":{}}"#,
        ] {
            let (call_id, has_params, _, _, message) = peeked(line).unwrap();
            let Message::Request { id, params, .. } = message else {
                panic!()
            };
            assert_eq!(call_id, id, "{line}");
            assert_eq!(has_params, params.is_some(), "{line}");
        }
        for line in [
            r#"{"jsonrpc":"2.0","id":"s","method":"tools/call","params":{"name":"echo"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
            r#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"echo"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"a":1}}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","name":"echo"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":1}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"e","_meta":{}}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":[]}"#,
        ] {
            assert!(peeked(line).is_none(), "{line}");
        }
        // Trailing bytes, truncation and non-minimal varints are left to `decode`.
        let bytes = encode(
            &Message::from_json_line(br#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#).unwrap(),
        );
        assert!(peek_tools_call(&bytes).is_some());
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(peek_tools_call(&longer), None);
        assert_eq!(peek_tools_call(&bytes[..bytes.len() - 1]), None);
        let mut padded = vec![bytes[0], bytes[1], 0x81, 0x00];
        padded.extend_from_slice(&bytes[3..]);
        assert_eq!(peek_tools_call(&padded), None);
    }

    #[test]
    fn handle_binary_refuses_bad_bytes_with_an_error() {
        let mut server = server();
        for (bytes, code) in [
            (vec![], -32700),
            (vec![9, 9, 9], -32700),
            (vec![0, 0, 1, 1, b'm', 0, 0], -32700),
            (vec![0u8; MAX_MESSAGE_BYTES + 1], -32600),
        ] {
            let reply = decode(&handle_binary(&mut server, &bytes).unwrap()).unwrap();
            match reply {
                Message::Error {
                    id: None, code: c, ..
                } if c == code => {}
                other => panic!("{bytes:?}: {other:?}"),
            }
        }
        // Requests the server refuses are answered like on the UART.
        let bad_params = Message::Request {
            id: Id::U64(3),
            method: "tools/call".into(),
            params: Some(BinValue::Str("x".into())),
        };
        match call(&mut server, &bad_params) {
            Some(Message::Error {
                id: Some(Id::U64(3)),
                code: -32602,
                ..
            }) => {}
            other => panic!("{other:?}"),
        }
        // And the server still serves the next good request.
        let ping = Message::Request {
            id: Id::U64(4),
            method: "ping".into(),
            params: None,
        };
        assert!(matches!(
            call(&mut server, &ping),
            Some(Message::Response { .. })
        ));
        assert_eq!(Error::Malformed.to_string(), "malformed postcard message");
    }
}
