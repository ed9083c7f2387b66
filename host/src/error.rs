//! The one error type of the host library.

use std::io;
use std::path::Path;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O error, with what we were doing when it happened.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    #[error("kernel build failed: {0}")]
    KernelBuild(String),
    #[error("kernel ELF: {0}")]
    Elf(String),
    #[error("SD image: {0}")]
    Image(String),
    #[error("QEMU: {0}")]
    Qemu(String),
    #[error("serial port: {0}")]
    Serial(String),
    #[error("chart: {0}")]
    Plot(String),
    #[error("timed out after {seconds:.1} s waiting for {what}")]
    Timeout { what: String, seconds: f64 },
    /// The server sent something that is not what MCP says it should.
    #[error("MCP protocol: {0}")]
    Protocol(String),
    /// `kingly chat` cannot go on (no session, the connection closed): the
    /// message says what happened to whom.
    #[error("{0}")]
    Chat(String),
    /// The server answered a request with a JSON-RPC error object.
    #[error("JSON-RPC error {code}: {message}")]
    Rpc {
        code: i64,
        message: String,
        data: Option<serde_json::Value>,
    },
}

/// Adds "what were we doing" to I/O errors, so messages name the file.
pub trait IoContext<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T>;
    fn path_context(self, verb: &str, path: &Path) -> Result<T>
    where
        Self: Sized,
    {
        self.context(|| format!("{verb} {}", path.display()))
    }
}

impl<T> IoContext<T> for io::Result<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| Error::Io {
            context: what(),
            source,
        })
    }
}
