//! Agent memory: a short list of notes (text) the agent keeps across
//! reboots.
//!
//! The API is two calls: [`remember`] adds a note, [`notes`] lists them,
//! oldest first. The list is bounded: at [`MAX_NOTES`] the oldest note goes
//! to make room. Notes persist on the card with the usage counts
//! ([`crate::state`]) and appear in `kingly://context`; the `memory_add`,
//! `memory_list` and `memory_clear` tools expose the same calls over MCP.

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use spin::Mutex;

/// Notes kept; adding one more forgets the oldest.
pub const MAX_NOTES: usize = 16;
/// The longest note, in bytes of UTF-8.
pub const MAX_NOTE_BYTES: usize = 256;

static NOTES: Mutex<VecDeque<String>> = Mutex::new(VecDeque::new());
/// Changes since boot (only ever grows): what [`crate::state`] compares.
static CHANGES: AtomicU64 = AtomicU64::new(0);

/// What [`remember`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remembered {
    /// Notes kept now, this one included.
    pub count: usize,
    /// The oldest note, forgotten to make room.
    pub forgot: Option<String>,
}

/// Keeps `text` (trimmed) as the newest note. Refuses an empty note, one
/// longer than [`MAX_NOTE_BYTES`], and one with control characters other
/// than newlines or tabs (notes go into prompts).
pub fn remember(text: &str) -> Result<Remembered, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("a note needs some text".to_string());
    }
    if text.len() > MAX_NOTE_BYTES {
        return Err(format!(
            "a note is at most {MAX_NOTE_BYTES} bytes; this one has {}",
            text.len()
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(
            "a note may not hold control characters other than newline and tab".to_string(),
        );
    }
    let mut notes = NOTES.lock();
    let forgot = if notes.len() >= MAX_NOTES {
        notes.pop_front()
    } else {
        None
    };
    notes.push_back(text.to_string());
    let count = notes.len();
    drop(notes);
    CHANGES.fetch_add(1, Ordering::Relaxed);
    Ok(Remembered { count, forgot })
}

/// Every note, oldest first.
pub fn notes() -> Vec<String> {
    NOTES.lock().iter().cloned().collect()
}

/// Forgets every note; returns how many there were.
pub fn clear() -> usize {
    let forgotten = core::mem::take(&mut *NOTES.lock()).len();
    if forgotten > 0 {
        CHANGES.fetch_add(1, Ordering::Relaxed);
    }
    forgotten
}

/// Changes since boot.
pub fn generation() -> u64 {
    CHANGES.load(Ordering::Relaxed)
}

/// Notes loaded from the card (at boot): the same checks as [`remember`],
/// so a state file cannot smuggle in what the API refuses; returns how many
/// were dropped.
pub fn restore(saved: &[String]) -> usize {
    let before = CHANGES.load(Ordering::Relaxed);
    let mut dropped = 0;
    for note in saved {
        if remember(note).is_err() {
            dropped += 1;
        }
    }
    // Loading is not a change to save again.
    CHANGES.store(before, Ordering::Relaxed);
    dropped
}
