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
/// written by another kernel version cannot grow the table without bound.
pub const MAX_TOOLS: usize = 256;
/// How many of those the saved state may fill: it is loaded before the
/// tools register, and the rest is kept for them.
const MAX_SAVED_TOOLS: usize = MAX_TOOLS - 64;

/// One tool's calls, over every boot whose state was saved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    pub calls: u64,
    /// Calls whose result had `isError: true`.
    pub errors: u64,
}

/// One call of this boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub tool: String,
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

// Recording a call takes no lock: it is part of every call's cost (an
// `svc` round trip's included), and calls come from several cores. Each
// tool has a slot, given when it registers (or when the saved state names
// it); the slot's counts are atomics, and the recent calls are a ring of
// words packing (time, slot, outcome), so a reader never sees half a call.

/// One slot's counts.
struct Counts {
    calls: AtomicU64,
    errors: AtomicU64,
}

static COUNTS: [Counts; MAX_TOOLS] = [const {
    Counts {
        calls: AtomicU64::new(0),
        errors: AtomicU64::new(0),
    }
}; MAX_TOOLS];
/// Each slot's tool name, by slot (slots are never given back).
static NAMES: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// The last calls, packed by [`pack`]; 0 = none yet.
static RECENT: [AtomicU64; RECENT_CALLS] = [const { AtomicU64::new(0) }; RECENT_CALLS];
/// Calls recorded this boot: the ring's next place, and what the
/// persistence layer compares to see whether to save.
static RECORDED: AtomicU64 = AtomicU64::new(0);

const SLOT_BITS: u32 = 8;
const _: () = assert!(MAX_TOOLS <= 1 << SLOT_BITS);

/// A call as one word: the timer's ticks (55 bits: two decades at 54 MHz),
/// the slot, whether it succeeded.
fn pack(ticks: u64, slot: usize, ok: bool) -> u64 {
    ticks << (SLOT_BITS + 1) | (slot as u64) << 1 | u64::from(ok)
}

fn unpack(word: u64) -> (u64, usize, bool) {
    (
        word >> (SLOT_BITS + 1),
        (word >> 1) as usize & ((1 << SLOT_BITS) - 1),
        word & 1 == 1,
    )
}

/// `name`'s slot, taken if new while fewer than `limit` are; `None` when
/// the table is that full.
fn slot(name: &str, limit: usize) -> Option<usize> {
    let mut names = NAMES.lock();
    match names.iter().position(|n| n == name) {
        Some(slot) => Some(slot),
        None if names.len() < limit => {
            names.push(name.to_string());
            Some(names.len() - 1)
        }
        None => None,
    }
}

/// `tool` with its handler wrapped so that each call is recorded once it
/// returns (nothing is locked while the handler runs, so a handler may call
/// other tools). A tool that finds no slot is left uncounted, and said so
/// in the log.
pub fn counted(mut tool: Tool) -> Tool {
    let Some(slot) = slot(tool.name, MAX_TOOLS) else {
        crate::klog!(Warning, "usage: no slot left to count {}", tool.name);
        return tool;
    };
    let inner = tool.handler;
    tool.handler = Box::new(move |args: &Map<String, Value>, ctx: &mut dyn Context| {
        let result = inner(args, ctx);
        record(slot, !matches!(result, ToolResult::Error(_)));
        result
    });
    tool
}

/// Records one call of the tool at `slot` that just returned.
fn record(slot: usize, ok: bool) {
    let counts = &COUNTS[slot];
    counts.calls.fetch_add(1, Ordering::Relaxed);
    if !ok {
        counts.errors.fetch_add(1, Ordering::Relaxed);
    }
    let place = RECORDED.fetch_add(1, Ordering::Relaxed) as usize % RECENT_CALLS;
    RECENT[place].store(pack(generic_timer::ticks(), slot, ok), Ordering::Relaxed);
}

/// Changes since boot (only ever grows): what [`crate::state`] compares.
pub fn generation() -> u64 {
    RECORDED.load(Ordering::Relaxed)
}

/// The count of every tool that was called, by name.
pub fn counts() -> Vec<(String, Count)> {
    let names = NAMES.lock();
    let mut counts: Vec<(String, Count)> = names
        .iter()
        .zip(&COUNTS)
        .map(|(name, counts)| {
            let count = Count {
                calls: counts.calls.load(Ordering::Relaxed),
                errors: counts.errors.load(Ordering::Relaxed),
            };
            (name.clone(), count)
        })
        .filter(|(_, count)| count.calls > 0)
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
    let mut calls: Vec<(u64, usize, bool)> = RECENT
        .iter()
        .map(|word| word.load(Ordering::Relaxed))
        .filter(|&word| word != 0)
        .map(unpack)
        .collect();
    // By time: the ring's order is only the order the calls took places.
    calls.sort_by(|a, b| b.0.cmp(&a.0));
    let names = NAMES.lock();
    calls
        .into_iter()
        .map(|(ticks, slot, ok)| Call {
            tool: names.get(slot).cloned().unwrap_or_default(),
            ok,
            ticks,
        })
        .collect()
}

/// Adds counts loaded from the card (at boot, before any call and before
/// the tools register).
pub fn restore(saved: &[(String, Count)]) {
    for (name, count) in saved {
        let Some(slot) = slot(name, MAX_SAVED_TOOLS) else {
            break;
        };
        let counts = &COUNTS[slot];
        let add = |counter: &AtomicU64, n: u64| {
            counter.store(
                counter.load(Ordering::Relaxed).saturating_add(n),
                Ordering::Relaxed,
            )
        };
        add(&counts.calls, count.calls);
        add(&counts.errors, count.errors);
    }
}
