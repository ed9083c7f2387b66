//! Kingly OS's MCP server: the whole service interface of the OS.
//!
//! The Model Context Protocol is spoken as newline-delimited JSON-RPC 2.0 over
//! the UART. This crate holds everything between the raw bytes and the tool,
//! resource and prompt implementations, with no I/O and no hardware access,
//! so that it builds for `aarch64-unknown-none` and is tested on the host:
//!
//! - [`framing`] cuts the byte stream into bounded lines,
//! - [`jsonrpc`] validates envelopes (borrowing from the line) and builds
//!   response lines; [`scan`] finds the envelope's and [`params`]' members
//!   in one strict pass; [`json_out`] writes JSON into a `String`,
//! - [`limits`] lists every bound the server enforces,
//! - [`protocol`] names the revisions of both eras and the era rule,
//! - [`registry`], [`resources`], [`prompts`] hold what the kernel offers
//!   (a tool's structured result is an [`object::Object`]),
//!   kept in a [`catalog`], listed in [`pagination`] pages, with tool
//!   arguments checked by [`schema`],
//! - [`context`] is what a running tool may do (progress, cancellation, log),
//! - [`server`] runs both eras' lifecycles and dispatches methods,
//! - [`metrics`] counts what happened, [`logging`] names severities.
//!
//! Typical kernel loop:
//!
//! ```
//! use mcp::{Frame, LineFramer, Server, ServerInfo, Transport};
//!
//! /// The kernel's UART, here a byte string in and lines out.
//! struct Uart { input: &'static [u8], framer: LineFramer, sent: Vec<String> }
//! impl Transport for Uart {
//!     fn poll_frame(&mut self) -> Option<Frame> {
//!         while let Some((&byte, rest)) = self.input.split_first() {
//!             self.input = rest;
//!             if let Some(frame) = self.framer.push(byte) {
//!                 return Some(frame);
//!             }
//!         }
//!         None
//!     }
//!     fn send_line(&mut self, line: &str) {
//!         self.sent.push(format!("{line}\n"));
//!     }
//! }
//!
//! let mut server = Server::new(ServerInfo {
//!     name: "kingly-os", title: "Kingly OS", version: "0.1.0", instructions: None,
//! });
//! let mut uart = Uart {
//!     input: b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n",
//!     framer: LineFramer::new(),
//!     sent: Vec::new(),
//! };
//! while let Some(frame) = uart.poll_frame() {
//!     server.handle_frame(frame, &mut uart);
//!     while server.serve_queued(&mut uart) {}
//! }
//! assert_eq!(uart.sent, ["{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n"]);
//! ```
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
extern crate alloc;

pub mod base64;
pub mod binary;
pub mod catalog;
pub mod context;
pub mod framing;
pub mod json_out;
pub mod jsonrpc;
pub mod limits;
pub mod logging;
pub mod metrics;
pub mod object;
pub mod pagination;
pub mod params;
pub mod prompts;
pub mod protocol;
pub mod registry;
pub mod resources;
pub mod scan;
pub mod schema;
pub mod server;
pub mod toolbox;

pub use context::{Context, NoContext};
pub use framing::{Frame, LineFramer, MAX_LINE_BYTES};
pub use logging::LogLevel;
pub use metrics::Metrics;
pub use object::Object;
pub use prompts::{Prompt, PromptArgument, PromptMessage, PromptResult, Role};
pub use registry::{Tool, ToolResult};
pub use resources::{Contents, Resource, ResourceTemplate};
pub use server::{NullTransport, Server, ServerInfo, Transport};
pub use toolbox::Toolbox;

/// What [`object!`] expands to needs, reachable from any crate.
#[doc(hidden)]
pub mod __private {
    pub use alloc::borrow::Cow;
    pub use alloc::vec;
    pub use serde_json::json;
}

#[cfg(test)]
mod fuzz_tests;
