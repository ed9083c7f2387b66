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
use alloc::collections::VecDeque;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use mcp::{Context, Tool, ToolResult};
use rpi4::generic_timer;
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
    /// When it returned: the generic timer's counter (converted only when
    /// read: the division is a tenth of a trivial call's cost).
    ticks: u64,
}

impl Call {
    /// When it returned, in milliseconds since boot.
    pub fn uptime_ms(&self) -> u64 {
        let elapsed = self.ticks.saturating_sub(crate::timer::boot_ticks());
        generic_timer::ticks_to_ms(elapsed, generic_timer::frequency_hz())
    }
}

struct Usage {
    /// Every tool's count by name: the registered tools' and those only
    /// known from the saved state. A registered tool's handler keeps its
    /// index (entries are never removed), so a call counts without a
    /// lookup by name: the cost of `svc` round trips and every other call.
    counts: Vec<(String, Count)>,
    recent: VecDeque<Call>,
}

impl Usage {
    /// The index of `name`'s count, added (zero) if new; `None` when
    /// [`MAX_TOOLS`] are kept already.
    fn slot(&mut self, name: &str) -> Option<usize> {
        match self.counts.iter().position(|(n, _)| n == name) {
            Some(slot) => Some(slot),
            None if self.counts.len() < MAX_TOOLS => {
                self.counts.push((name.to_string(), Count::default()));
                Some(self.counts.len() - 1)
            }
            None => None,
        }
    }
}

static USAGE: Mutex<Usage> = Mutex::new(Usage {
    counts: Vec::new(),
    recent: VecDeque::new(),
});
/// Calls recorded this boot: the persistence layer saves when it moved.
static RECORDED: AtomicU64 = AtomicU64::new(0);

/// `tool` with its handler wrapped so that each call is recorded once it
/// returns (the lock is not held while the handler runs, so a handler may
/// call other tools).
pub fn counted(mut tool: Tool) -> Tool {
    let name = tool.name;
    let slot = USAGE.lock().slot(name);
    let inner = tool.handler;
    tool.handler = Box::new(move |args: &Map<String, Value>, ctx: &mut dyn Context| {
        let result = inner(args, ctx);
        record(name, slot, !matches!(result, ToolResult::Error(_)));
        result
    });
    tool
}

/// Records one call of `tool` (its count at `slot`) that just returned.
fn record(tool: &'static str, slot: Option<usize>, ok: bool) {
    let call = Call {
        tool,
        ok,
        ticks: generic_timer::ticks(),
    };
    let mut usage = USAGE.lock();
    if let Some((_, count)) = slot.and_then(|slot| usage.counts.get_mut(slot)) {
        count.calls += 1;
        count.errors += u64::from(!ok);
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

/// The count of every tool that was called, by name.
pub fn counts() -> Vec<(String, Count)> {
    let mut counts: Vec<(String, Count)> = USAGE
        .lock()
        .counts
        .iter()
        .filter(|(_, count)| count.calls > 0)
        .cloned()
        .collect();
    counts.sort_by(|a, b| a.0.cmp(&b.0));
    counts
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
        let Some(slot) = usage.slot(name) else {
            break;
        };
        let entry = &mut usage.counts[slot].1;
        entry.calls = entry.calls.saturating_add(count.calls);
        entry.errors = entry.errors.saturating_add(count.errors);
    }
}
