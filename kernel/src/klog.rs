//! The kernel log: a bounded ring of records in RAM.
//!
//! UART0 carries only MCP, so the log is read as the `kingly://log` resource
//! and forwarded as `notifications/message` at the levels the client asked
//! for (the MCP loop does that, see `server.rs`), and mirrored as text on the
//! second UART the command line chose (`log_uart`). When the ring is full
//! the oldest records go first; `dropped` counts them.
//!
//! Interrupt handlers never log (the ring's and the mirror's locks are not
//! interrupt-safe).

use crate::log_uart;
use alloc::collections::VecDeque;
use alloc::string::String;
use core::fmt::{self, Write};
use mcp::LogLevel;
use spin::Mutex;

/// Bytes of message text the ring keeps.
const CAPACITY_BYTES: usize = 64 * 1024;
/// The longest single message; longer ones are cut (and say so).
const MAX_MESSAGE: usize = 1024;

#[derive(Debug, Clone)]
pub struct Record {
    /// 1, 2, 3, … across the whole boot, so readers can ask for "after n".
    pub seq: u64,
    pub uptime_ms: u64,
    pub level: LogLevel,
    pub message: String,
}

struct Ring {
    records: VecDeque<Record>,
    bytes: usize,
    last_seq: u64,
    dropped: u64,
}

static LOG: Mutex<Ring> = Mutex::new(Ring {
    records: VecDeque::new(),
    bytes: 0,
    last_seq: 0,
    dropped: 0,
});

/// Appends a record. Needs the heap; called only after `heap::init`.
pub fn log(level: LogLevel, args: fmt::Arguments) {
    let mut message = String::new();
    let _ = message.write_fmt(args);
    if message.len() > MAX_MESSAGE {
        let mut cut = MAX_MESSAGE;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push_str(" [truncated]");
    }
    let uptime_ms = crate::timer::uptime_ms();
    log_uart::write_line(&line(uptime_ms, level, &message));
    let mut ring = LOG.lock();
    ring.last_seq += 1;
    let seq = ring.last_seq;
    ring.bytes += message.len();
    ring.records.push_back(Record {
        seq,
        uptime_ms,
        level,
        message,
    });
    while ring.bytes > CAPACITY_BYTES {
        let Some(old) = ring.records.pop_front() else {
            break;
        };
        ring.bytes -= old.message.len();
        ring.dropped += 1;
    }
}

/// `klog!(Info, "cores online: {}", n)`.
#[macro_export]
macro_rules! klog {
    ($level:ident, $($arg:tt)*) => {
        $crate::klog::log(mcp::LogLevel::$level, format_args!($($arg)*))
    };
}

/// The sequence number of the newest record (0 before the first).
pub fn last_seq() -> u64 {
    LOG.lock().last_seq
}

/// Records newer than `seq`, oldest first. Walks back from the newest only
/// as far as needed (records are in `seq` order): the MCP loop asks after
/// every frame and usually gets nothing.
pub fn after(seq: u64) -> VecDeque<Record> {
    let ring = LOG.lock();
    let newer = ring
        .records
        .iter()
        .rev()
        .take_while(|r| r.seq > seq)
        .count();
    ring.records
        .range(ring.records.len() - newer..)
        .cloned()
        .collect()
}

/// The log as text, one record a line, at `min` level and above:
/// `[   12.345] warning  message`.
pub fn render(min: LogLevel) -> String {
    let ring = LOG.lock();
    let mut out = String::new();
    if ring.dropped > 0 {
        let _ = writeln!(
            out,
            "[         ] notice     {} older records dropped",
            ring.dropped
        );
    }
    for r in ring.records.iter().filter(|r| r.level >= min) {
        out.push_str(&line(r.uptime_ms, r.level, &r.message));
        out.push('\n');
    }
    out
}

/// One record as text: `[   12.345] warning    message`.
fn line(uptime_ms: u64, level: LogLevel, message: &str) -> String {
    alloc::format!(
        "[{:5}.{:03}] {:<10} {}",
        uptime_ms / 1000,
        uptime_ms % 1000,
        level.as_str(),
        message
    )
}

/// (records kept, records dropped)
pub fn counts() -> (usize, u64) {
    let ring = LOG.lock();
    (ring.records.len(), ring.dropped)
}
