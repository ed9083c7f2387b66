//! What an agent needs in its prompt about this machine, and what it keeps:
//!
//! - `kingly://context` — board state, the most used tools, this boot's
//!   recent calls and the agent's notes, assembled within
//!   [`DEFAULT_BUDGET_TOKENS`]; `kingly://context/{tokens}` the same within
//!   another budget. In-kernel callers (the agent) call [`assemble`].
//! - `memory_add`, `memory_list`, `memory_clear` — the agent's notes
//!   ([`crate::notes`]) over MCP.
//! - `bench_context` — guest instructions to assemble the context.
//!
//! The budget is counted in the loaded model's tokens when a model is loaded
//! (line by line, one more token for each newline) and estimated at one
//! token per [`BYTES_PER_TOKEN`] bytes otherwise. Lines come in order of
//! importance: board, model, most used tools, recent calls, notes. A section
//! stops at its first line that does not fit; the next section still gets
//! its chance, so one long note does not hide the others' sections.

use super::bench::Measurement;
use super::llm::count_tokens;
use super::KERNEL_VERSION;
use crate::{board, heap, notes, smp, timer, usage};
use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::fmt::Write;
use mcp::resources::{Contents, Resource, ResourceTemplate};
use mcp::{Context, Tool, ToolResult};
use rpi4::generic_timer;
use serde_json::{json, Map, Value};

pub const CONTEXT_URI: &str = "kingly://context";
/// `kingly://context`'s budget: room for the board, a handful of tools and
/// calls and a few notes, small beside a small model's context window.
pub const DEFAULT_BUDGET_TOKENS: usize = 256;
/// The budgets `kingly://context/{tokens}` accepts.
pub const BUDGET_RANGE: core::ops::RangeInclusive<usize> = 16..=4096;
/// The estimate without a model (English text and JSON-ish lines run at
/// about four bytes a token in BPE vocabularies).
pub const BYTES_PER_TOKEN: usize = 4;
/// Tools and recent calls listed at most.
const MOST_USED: usize = 8;
const RECENT: usize = 8;

/// Tokens a line costs, its newline included.
fn line_tokens(line: &str) -> usize {
    match count_tokens(line) {
        Some((_, tokens)) => tokens + 1,
        None => (line.len() + 1).div_ceil(BYTES_PER_TOKEN),
    }
}

/// Lines appended while they fit in a budget.
struct Budgeted {
    text: String,
    left: usize,
}

impl Budgeted {
    /// Appends `line` if it fits; says whether it did.
    fn push(&mut self, line: &str) -> bool {
        let cost = line_tokens(line);
        if cost > self.left {
            return false;
        }
        self.left -= cost;
        self.text.push_str(line);
        self.text.push('\n');
        true
    }

    /// A header and its items, stopping at the first item that does not fit
    /// (the header only with at least one item).
    fn section(&mut self, header: &str, items: impl IntoIterator<Item = String>) {
        let mut items = items.into_iter();
        let Some(first) = items.next() else {
            return;
        };
        let (text, left) = (self.text.len(), self.left);
        if !self.push(header) || !self.push(&first) {
            self.text.truncate(text);
            self.left = left;
            return;
        }
        for item in items {
            if !self.push(&item) {
                break;
            }
        }
    }
}

/// The context text within `budget_tokens`, most important lines first.
pub fn assemble(budget_tokens: usize) -> String {
    let mut out = Budgeted {
        text: String::new(),
        left: budget_tokens,
    };
    out.push(&board_line());
    out.push(&match count_tokens("") {
        Some((name, _)) => format!("model: {name} loaded (this text is counted in its tokens)"),
        None => String::from("model: none loaded"),
    });
    out.section(
        "most used tools (calls over all saved boots):",
        usage::most_used(MOST_USED)
            .into_iter()
            .map(|(tool, count)| {
                if count.errors > 0 {
                    format!("- {tool} {} ({} errors)", count.calls, count.errors)
                } else {
                    format!("- {tool} {}", count.calls)
                }
            }),
    );
    out.section(
        "recent calls (newest first, uptime):",
        usage::recent().into_iter().take(RECENT).map(|call| {
            let outcome = if call.ok { "ok" } else { "error" };
            format!("- {} {} {outcome}", seconds(call.uptime_ms), call.tool)
        }),
    );
    out.section(
        "notes (oldest first):",
        notes::notes()
            .into_iter()
            .map(|note| format!("- {}", note.replace('\n', " / "))),
    );
    out.text
}

fn seconds(ms: u64) -> String {
    format!("{}.{} s", ms / 1000, (ms % 1000) / 100)
}

fn board_line() -> String {
    let facts = board::facts();
    let mut line = format!("Kingly OS {KERNEL_VERSION} on a Raspberry Pi 4");
    if let Some(rev) = facts.board_revision {
        let _ = write!(line, " (rev {rev:#x})");
    }
    let _ = write!(
        line,
        ", {} cores, {} MiB RAM, up {}",
        smp::online_mask().count_ones(),
        facts.ram_bytes >> 20,
        seconds(timer::uptime_ms())
    );
    if let Ok(mc) = board::temperature_millicelsius() {
        let _ = write!(line, ", {}.{} C", mc / 1000, (mc % 1000) / 100);
    }
    let (used, free) = heap::usage();
    let _ = write!(
        line,
        ", heap {} KiB used, {} MiB free",
        used >> 10,
        free >> 20
    );
    line
}

pub fn resource() -> Resource {
    Resource {
        uri: CONTEXT_URI.to_string(),
        name: "context".to_string(),
        title: "Context for an agent's prompt",
        description: "Board state, the most used tools, recent tool calls and the agent's notes, most \
                      important first, within 256 tokens (the loaded model's, else 4 bytes a token).",
        mime_type: "text/plain",
        subscribable: false,
        read: Box::new(|| Ok(Contents::Text(assemble(DEFAULT_BUDGET_TOKENS)))),
    }
}

/// `kingly://context/{tokens}`.
pub fn by_budget() -> ResourceTemplate {
    ResourceTemplate {
        uri_template: "kingly://context/{tokens}",
        name: "context-by-budget",
        title: "Context for an agent's prompt, within a budget",
        description: "kingly://context within this many tokens (16 to 4096).",
        mime_type: "text/plain",
        read: Box::new(|_uri: &str, vars: &Map<String, Value>| {
            let tokens = vars
                .get("tokens")
                .and_then(Value::as_str)
                .and_then(|t| t.parse::<usize>().ok())
                .filter(|t| BUDGET_RANGE.contains(t));
            Ok(tokens.map(|t| Contents::Text(assemble(t))))
        }),
        complete: None,
        subscribable: false,
    }
}

pub fn all() -> Vec<Tool> {
    vec![memory_add(), memory_list(), memory_clear(), bench_context()]
}

fn no_arguments() -> Value {
    json!({"type": "object", "properties": {}, "additionalProperties": false})
}

fn memory_add() -> Tool {
    Tool {
        name: "memory_add",
        title: "Remember a note",
        description:
            "Keeps a short note (up to 256 bytes) for later: notes survive reboots and appear in \
                      kingly://context. At 16 notes the oldest is forgotten to make room.",
        input_schema: json!({
            "type": "object",
            "properties": {"text": {"type": "string", "minLength": 1, "maxLength": notes::MAX_NOTE_BYTES}},
            "required": ["text"],
            "additionalProperties": false
        }),
        output_schema: Some(json!({
            "type": "object",
            "properties": {
                "notes": {"type": "integer", "description": "notes kept now"},
                "forgot": {"type": ["string", "null"], "description": "the oldest note, forgotten to make room"}
            },
            "required": ["notes", "forgot"]
        })),
        handler: Box::new(|args: &Map<String, Value>, _: &mut dyn Context| {
            let text = args.get("text").and_then(Value::as_str).unwrap_or_default();
            match notes::remember(text) {
                Ok(done) => ToolResult::Structured(mcp::object! {
                    "notes": done.count,
                    "forgot": done.forgot,
                }),
                Err(why) => ToolResult::Error(why),
            }
        }),
    }
}

fn memory_list() -> Tool {
    Tool {
        name: "memory_list",
        title: "List notes",
        description: "The notes memory_add kept, oldest first.",
        input_schema: no_arguments(),
        output_schema: Some(json!({
            "type": "object",
            "properties": {"notes": {"type": "array", "items": {"type": "string"}}},
            "required": ["notes"]
        })),
        handler: Box::new(|_: &Map<String, Value>, _: &mut dyn Context| {
            ToolResult::Structured(mcp::object! {"notes": notes::notes()})
        }),
    }
}

fn memory_clear() -> Tool {
    Tool {
        name: "memory_clear",
        title: "Forget all notes",
        description: "Forgets every note memory_add kept (on the card too, at the next save).",
        input_schema: no_arguments(),
        output_schema: Some(json!({
            "type": "object",
            "properties": {"forgot": {"type": "integer"}},
            "required": ["forgot"]
        })),
        handler: Box::new(|_: &Map<String, Value>, _: &mut dyn Context| {
            ToolResult::Structured(mcp::object! {"forgot": notes::clear()})
        }),
    }
}

fn bench_context() -> Tool {
    Tool {
        name: "bench_context",
        title: "Benchmark kingly://context",
        description: "Assembles the context text `iterations` times within `budget_tokens` (default 256) \
                      and reports generic-timer ticks; under qemu -icount shift=0 ns_per_iteration is guest \
                      instructions.",
        input_schema: json!({
            "type": "object",
            "properties": {
                "iterations": {"type": "integer", "minimum": 1, "maximum": 10000},
                "budget_tokens": {"type": "integer", "minimum": *BUDGET_RANGE.start(), "maximum": *BUDGET_RANGE.end()}
            },
            "additionalProperties": false
        }),
        output_schema: None,
        handler: Box::new(|args: &Map<String, Value>, _: &mut dyn Context| {
            let iterations = args.get("iterations").and_then(Value::as_u64).unwrap_or(100) as u32;
            let budget = args
                .get("budget_tokens")
                .and_then(Value::as_u64)
                .map_or(DEFAULT_BUDGET_TOKENS, |b| b as usize);
            let bytes = assemble(budget).len();
            let start = generic_timer::ticks();
            for _ in 0..iterations {
                core::hint::black_box(assemble(core::hint::black_box(budget)));
            }
            let ticks = generic_timer::ticks() - start;
            let measured = Measurement {
                iterations,
                ticks,
                cntfrq_hz: generic_timer::frequency_hz(),
            };
            let mut result = measured.to_object("kingly://context assembled");
            result.insert("budget_tokens", budget);
            result.insert("bytes", bytes);
            ToolResult::Structured(result)
        }),
    }
}
