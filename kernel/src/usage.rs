//! Tool usage: how often each tool was called and how often it failed, and
//! the last [`RECENT_CALLS`] calls of this boot.
//!
//! Every tool's handler is wrapped where the registry is built
//! ([`counted`]), so every call is recorded whichever way it came: a client
//! on UART0, the agent, an EL0 program (nested calls run the same handlers).
//! The per-tool counts persist on the card ([`crate::state`]); the recent
//! calls are this boot's only (their uptimes would mean nothing after a
//! reboot).

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use mcp::{Context, Tool, ToolResult};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use spin::Mutex;

/// How many of this boot's calls [`recent`] keeps.
pub const RECENT_CALLS: usize = 16;
/// Tools whose counts are kept: more than the kernel has, so a state file
/// written by another kernel version cannot grow the map without bound.
pub const MAX_TOOLS: usize = 256;

/// One tool's calls, over every boot whose state was saved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    pub calls: u64,
    /// Calls whose result had `isError: true`.
    pub errors: u64,
}

/// One call of this boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call {
    pub tool: &'static str,
    pub ok: bool,
    /// When it returned.
    pub uptime_ms: u64,
}

struct Usage {
    counts: BTreeMap<String, Count>,
    recent: VecDeque<Call>,
}

static USAGE: Mutex<Usage> = Mutex::new(Usage {
    counts: BTreeMap::new(),
    recent: VecDeque::new(),
});
/// Calls recorded this boot: the persistence layer saves when it moved.
static RECORDED: AtomicU64 = AtomicU64::new(0);

/// `tool` with its handler wrapped so that each call is recorded once it
/// returns (the lock is not held while the handler runs, so a handler may
/// call other tools).
pub fn counted(mut tool: Tool) -> Tool {
    let name = tool.name;
    let inner = tool.handler;
    tool.handler = Box::new(move |args: &Map<String, Value>, ctx: &mut dyn Context| {
        let result = inner(args, ctx);
        record(name, !matches!(result, ToolResult::Error(_)));
        result
    });
    tool
}

/// Records one call of `tool` that just returned.
pub fn record(tool: &'static str, ok: bool) {
    let call = Call {
        tool,
        ok,
        uptime_ms: crate::timer::uptime_ms(),
    };
    let mut usage = USAGE.lock();
    if let Some(count) = usage.counts.get_mut(tool) {
        count.calls += 1;
        count.errors += u64::from(!ok);
    } else if usage.counts.len() < MAX_TOOLS {
        let count = Count {
            calls: 1,
            errors: u64::from(!ok),
        };
        usage.counts.insert(tool.to_string(), count);
    }
    if usage.recent.len() == RECENT_CALLS {
        usage.recent.pop_front();
    }
    usage.recent.push_back(call);
    drop(usage);
    RECORDED.fetch_add(1, Ordering::Relaxed);
}

/// Changes since boot (only ever grows): what [`crate::state`] compares.
pub fn generation() -> u64 {
    RECORDED.load(Ordering::Relaxed)
}

/// Every tool's count, by name.
pub fn counts() -> Vec<(String, Count)> {
    USAGE
        .lock()
        .counts
        .iter()
        .map(|(name, count)| (name.clone(), *count))
        .collect()
}

/// The `n` most called tools, most calls first (ties by name).
pub fn most_used(n: usize) -> Vec<(String, Count)> {
    let mut all = counts();
    all.sort_by(|a, b| b.1.calls.cmp(&a.1.calls).then_with(|| a.0.cmp(&b.0)));
    all.truncate(n);
    all
}

/// This boot's last calls, newest first.
pub fn recent() -> Vec<Call> {
    USAGE.lock().recent.iter().rev().copied().collect()
}

/// Adds counts loaded from the card (at boot, before any call).
pub fn restore(saved: &[(String, Count)]) {
    let mut usage = USAGE.lock();
    for (name, count) in saved {
        if usage.counts.len() >= MAX_TOOLS && !usage.counts.contains_key(name) {
            break;
        }
        let entry = usage.counts.entry(name.clone()).or_default();
        entry.calls = entry.calls.saturating_add(count.calls);
        entry.errors = entry.errors.saturating_add(count.errors);
    }
}
