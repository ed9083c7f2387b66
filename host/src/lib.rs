//! Kingly OS host companion library.
//!
//! Everything the `kingly` binary and the integration tests do on the host
//! lives here, once: locating the workspace, building `kernel8.img`, building
//! the SD image, the QEMU command line, the stdio bridges that make QEMU or a
//! board's serial port an MCP stdio server, and the MCP client that talks to
//! the kernel over QEMU's stdio.

pub mod apps;
pub mod artifacts;
pub mod bench;
pub mod bridge;
pub mod client;
pub mod error;
mod files;
pub mod image;
pub mod kernel;
pub mod plot;
pub mod qemu;
pub mod workspace;

pub use artifacts::{ensure_default_artifacts, ensure_model_artifacts};
pub use error::{Error, Result};
