//! Threads that move bytes to and from the server's stdio, so that every wait
//! can time out and no write can block the caller (QEMU stops reading stdin
//! while the guest's UART receive FIFO is full).

use std::io::{Read, Write};
use std::process::{ChildStdin, ChildStdout};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread;

/// What the reader thread saw on the server's stdout.
#[derive(Debug)]
pub(crate) enum FromServer {
    /// One line, without its `\n`.
    Line(Vec<u8>),
    /// Bytes after the last `\n` when stdout closed.
    Unterminated(Vec<u8>),
    /// Stdout closed (the server exited or was killed).
    Closed,
    ReadFailed(String),
}

/// Reads `stdout` into lines for `Receiver`, appending every byte to `log`.
pub(crate) fn spawn_reader(
    mut stdout: ChildStdout,
    log: Arc<Mutex<Vec<u8>>>,
) -> Receiver<FromServer> {
    let (tx, rx) = mpsc::channel();
    thread::Builder::new()
        .name("mcp-stdout".into())
        .spawn(move || {
            let mut pending = Vec::new();
            let mut chunk = [0u8; 4096];
            loop {
                let n = match stdout.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        let _ = tx.send(FromServer::ReadFailed(e.to_string()));
                        return;
                    }
                };
                log.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend_from_slice(&chunk[..n]);
                pending.extend_from_slice(&chunk[..n]);
                while let Some(end) = pending.iter().position(|&b| b == b'\n') {
                    let mut line: Vec<u8> = pending.drain(..=end).collect();
                    line.pop();
                    if tx.send(FromServer::Line(line)).is_err() {
                        return;
                    }
                }
            }
            if !pending.is_empty() {
                let _ = tx.send(FromServer::Unterminated(pending));
            }
            let _ = tx.send(FromServer::Closed);
        })
        .expect("spawn the stdout reader thread");
    rx
}

/// Writes whatever is sent to the returned `Sender` to `stdin`, in order.
/// Dropping the sender closes the server's stdin once pending writes finish.
pub(crate) fn spawn_writer(mut stdin: ChildStdin) -> Sender<Vec<u8>> {
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    thread::Builder::new()
        .name("mcp-stdin".into())
        .spawn(move || {
            for bytes in rx {
                if stdin
                    .write_all(&bytes)
                    .and_then(|()| stdin.flush())
                    .is_err()
                {
                    // The server is gone; dropping `rx` makes later sends fail.
                    return;
                }
            }
        })
        .expect("spawn the stdin writer thread");
    tx
}
