//! Every bound the server enforces, in one place.
//!
//! The peer is an arbitrary program on the far end of a UART and the kernel
//! heap is small, so each input that makes the server allocate or recurse is
//! capped. Each violation is answered with a JSON-RPC error (never a panic,
//! never silence), and the next message is served normally.

/// Longest line (bytes, without `\n` or a trailing `\r`) the framer buffers.
/// Longer lines are skipped to their newline and answered with -32600.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Deepest `[`/`{` nesting accepted in a message (-32600 beyond). Checked by
/// a linear scan before parsing, so recursion in the parser stays bounded.
pub const MAX_DEPTH: usize = 32;

/// Longest request id, in bytes of its JSON text (-32600 beyond). Ids are
/// kept while a request waits in the queue, so they are bounded too.
pub const MAX_ID_BYTES: usize = 256;

/// Largest `arguments` object of `tools/call` / `prompts/get`, in bytes of
/// its JSON text (-32602 beyond). It is the one part of a request turned into
/// an owned tree on the heap.
pub const MAX_ARGUMENTS_BYTES: usize = 32 * 1024;

/// Longest string value (bytes, after unescaping) anywhere inside
/// `arguments`, and longest `uri`, `name`, cursor or completion prefix
/// (-32602 beyond).
pub const MAX_STRING_BYTES: usize = 16 * 1024;

/// Requests that may wait while a handler runs. They are read off the wire
/// (so that a `notifications/cancelled` behind them is seen) and served in
/// order afterwards; one more is refused at once with [`crate::jsonrpc::code::SERVER_BUSY`].
pub const MAX_PENDING_REQUESTS: usize = 16;

/// Items per page of `tools/list`, `resources/list`,
/// `resources/templates/list` and `prompts/list`.
pub const PAGE_SIZE: usize = 16;

/// Most values in one `completion/complete` answer (the MCP maximum).
pub const MAX_COMPLETION_VALUES: usize = 100;

/// Resources a legacy session may subscribe to with `resources/subscribe`.
pub const MAX_SUBSCRIPTIONS: usize = 64;

/// Open `subscriptions/listen` streams (2026-07-28 era) at once; another
/// one is refused with -32603, as the reference SDK does.
pub const MAX_LISTEN_STREAMS: usize = 8;
