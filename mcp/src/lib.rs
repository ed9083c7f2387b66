//! Kingly OS's MCP server: the whole service interface of the OS.
//!
//! The Model Context Protocol is spoken as newline-delimited JSON-RPC 2.0 over
//! the UART. This crate holds everything between the raw bytes and the tool
//! implementations, with no I/O and no hardware access, so that it builds for
//! `aarch64-unknown-none` and is tested on the host:
//!
//! - [`framing`] cuts the byte stream into bounded lines,
//! - [`jsonrpc`] validates envelopes and builds response lines,
//! - [`registry`] holds tools and shapes their results,
//! - [`logging`] names the severities of `notifications/message`,
//! - [`server`] runs the MCP lifecycle and dispatches methods.
//!
//! Typical kernel loop:
//!
//! ```
//! use mcp::{Frame, LineFramer, Server, ServerInfo};
//! let mut server = Server::new(ServerInfo {
//!     name: "kingly-os", title: "Kingly OS", version: "0.1.0", instructions: None,
//! });
//! let mut framer = LineFramer::new();
//! let mut sent = Vec::new();
//! for &byte in b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n" {
//!     let reply = match framer.push(byte) {
//!         Some(Frame::Line(line)) => server.handle_line(&line),
//!         Some(Frame::TooLong { len }) => Some(Server::too_long_response(len)),
//!         None => None,
//!     };
//!     if let Some(line) = reply {
//!         sent.push(line + "\n");
//!     }
//! }
//! assert_eq!(sent, ["{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n"]);
//! ```
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
extern crate alloc;

pub mod binary;
pub mod framing;
pub mod jsonrpc;
pub mod logging;
pub mod protocol;
pub mod registry;
pub mod server;

pub use framing::{Frame, LineFramer, MAX_LINE_BYTES};
pub use logging::LogLevel;
pub use registry::{Tool, ToolResult};
pub use server::{Server, ServerInfo};

#[cfg(test)]
mod fuzz_tests;
