//! Persistent state: the tool usage counts ([`crate::usage`]) and the agent's
//! notes ([`crate::notes`]), saved on the SD card as postcard and loaded at
//! boot.
//!
//! # Why two slots, not a temporary file and a rename
//!
//! `embedded-sdmmc` 0.10 cannot rename a file, and a rename done by hand
//! would mean writing FAT directory entries behind the crate's back. The
//! same guarantee — a hard stop at any moment leaves the old state or the
//! new one, never a torn one — comes from two files, [`SLOTS`], written
//! alternately. Each holds one record: a header (magic, format version,
//! sequence number, payload length, CRC-32 over all of it but the magic
//! and the CRC) and the postcard payload. A save always overwrites the slot
//! that does *not* hold the newest valid record, so the newest valid record
//! is untouched while it is written. At boot both are read; the valid one
//! with the higher sequence number wins; a torn write fails its length or
//! CRC check and is discarded.
//!
//! - No file: fresh state. A file that fails its checks while the other
//!   holds valid state and it looks like an interrupted save (empty, or a
//!   good header for the next sequence number) is logged at info; any other
//!   bad file is logged as a warning ("corrupt") in `kingly://log`. Either
//!   way the next save replaces it. Nothing here panics on what it reads.
//! - Saves happen from the MCP loop ([`save_if_due`]) when a call or a note
//!   changed the state, at most every `state_save_ms` (command line, default
//!   [`DEFAULT_SAVE_MS`]), and before `sys_reboot` takes effect.
//! - `state_stall=N` (tests only, with `test_tools=1`) makes the N-th save
//!   of the boot write half its record, log that, and stop there with the
//!   watchdog fed, so a test can kill QEMU in the middle of a write.

use crate::cmdline::Options;
use crate::storage::{self, WriteMode};
use crate::usage::Count;
use crate::{klog, notes, usage, watchdog};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use rpi4::generic_timer;
use serde::{Deserialize, Serialize};
use spin::Mutex;

/// The directory and the two slots (8.3 names: FAT stores them in upper
/// case). On a card whose volume label is `KINGLY` (made by `kingly image`
/// before its label became `KINGLY OS`) the directory cannot be made:
/// `embedded-sdmmc` matches the label entry by name as if it were a file.
/// Saves then fail with a warning in the log, and the kernel runs on.
pub const DIR: &str = "/KINGLY";
pub const SLOTS: [&str; 2] = ["/KINGLY/STATE.BIN", "/KINGLY/STATE2.BIN"];
/// Default for `state_save_ms`: the longest a changed state waits.
pub const DEFAULT_SAVE_MS: u64 = 2000;
/// After a failed save, the next try waits this long (and is not logged
/// again unless the reason changes).
const RETRY_MS: u64 = 30_000;

const MAGIC: [u8; 4] = *b"KGST";
/// The payload's layout ([`Saved`]); a record of another version is not
/// read (it is replaced by the next save).
const FORMAT_VERSION: u32 = 1;
/// magic 4, crc 4, version 4, sequence 8, length 4.
const HEADER_BYTES: usize = 24;
/// Larger files are not state files (the real payload is a few KiB).
const MAX_RECORD_BYTES: usize = 64 * 1024;

/// What a record's payload holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Saved {
    tools: Vec<(String, Count)>,
    notes: Vec<String>,
}

/// One record, as written to a slot.
fn encode(seq: u64, saved: &Saved) -> Result<Vec<u8>, String> {
    let payload =
        postcard::to_allocvec(saved).map_err(|e| format!("cannot encode the state: {e}"))?;
    if HEADER_BYTES + payload.len() > MAX_RECORD_BYTES {
        return Err(format!(
            "the state needs {} bytes, more than a record holds ({MAX_RECORD_BYTES})",
            HEADER_BYTES + payload.len()
        ));
    }
    let mut record = Vec::with_capacity(HEADER_BYTES + payload.len());
    record.extend_from_slice(&MAGIC);
    record.extend_from_slice(&[0; 4]);
    record.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    record.extend_from_slice(&seq.to_le_bytes());
    record.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    record.extend_from_slice(&payload);
    let crc = crc32fast::hash(&record[8..]);
    record[4..8].copy_from_slice(&crc.to_le_bytes());
    Ok(record)
}

/// Why a slot's bytes are not a record.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Invalid {
    why: String,
    /// The header's sequence number, when the header itself is whole.
    seq: Option<u64>,
    empty: bool,
}

fn invalid(why: String, seq: Option<u64>) -> Invalid {
    Invalid {
        why,
        seq,
        empty: false,
    }
}

fn decode(bytes: &[u8]) -> Result<(u64, Saved), Invalid> {
    if bytes.is_empty() {
        return Err(Invalid {
            why: String::from("empty"),
            seq: None,
            empty: true,
        });
    }
    if bytes.len() < HEADER_BYTES {
        return Err(invalid(
            format!("{} bytes, shorter than a header", bytes.len()),
            None,
        ));
    }
    if bytes[..4] != MAGIC {
        return Err(invalid(
            String::from("not a state record (bad magic)"),
            None,
        ));
    }
    let word =
        |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    let crc = word(4);
    let version = word(8);
    let mut seq_bytes = [0; 8];
    seq_bytes.copy_from_slice(&bytes[12..20]);
    let seq = u64::from_le_bytes(seq_bytes);
    let len = word(20) as usize;
    if bytes.len() != HEADER_BYTES + len {
        return Err(invalid(
            format!(
                "{} bytes where the header says {}",
                bytes.len(),
                HEADER_BYTES + len
            ),
            Some(seq),
        ));
    }
    if crc32fast::hash(&bytes[8..]) != crc {
        return Err(invalid(String::from("CRC mismatch"), Some(seq)));
    }
    if version != FORMAT_VERSION {
        return Err(invalid(
            format!("format version {version}, this kernel reads {FORMAT_VERSION}"),
            Some(seq),
        ));
    }
    match postcard::from_bytes::<Saved>(&bytes[HEADER_BYTES..]) {
        Ok(saved) => Ok((seq, saved)),
        Err(e) => Err(invalid(format!("undecodable payload: {e}"), Some(seq))),
    }
}

/// What a slot held at boot.
enum Slot {
    Missing,
    Valid(u64, Saved),
    Bad(Invalid),
    Unreadable(String),
}

fn read_slot(path: &str) -> Slot {
    match storage::stat(path) {
        // storage reports a missing file (or directory) in these words.
        Err(e) if e.0.ends_with("no such file or directory") => return Slot::Missing,
        Err(e) => return Slot::Unreadable(e.0),
        Ok(entry) if entry.is_dir => return Slot::Bad(invalid(String::from("a directory"), None)),
        Ok(entry) if entry.size as usize > MAX_RECORD_BYTES => {
            return Slot::Bad(invalid(format!("{} bytes, too large", entry.size), None))
        }
        Ok(_) => {}
    }
    match storage::read(path, 0, MAX_RECORD_BYTES) {
        Ok((bytes, _)) => match decode(&bytes) {
            Ok((seq, saved)) => Slot::Valid(seq, saved),
            Err(why) => Slot::Bad(why),
        },
        Err(e) => Slot::Unreadable(e.0),
    }
}

struct Writer {
    /// Sequence number of the next record.
    next_seq: u64,
    /// The slot the next save overwrites.
    target: usize,
    /// `usage::generation() + notes::generation()` when last saved.
    saved_generation: u64,
    /// Generic-timer ticks of the last save (or failed try).
    last_try: u64,
    interval: u64,
    retry: u64,
    failed: Option<String>,
    saves: u32,
    stall_on: Option<u32>,
}

static WRITER: Mutex<Writer> = Mutex::new(Writer {
    next_seq: 1,
    target: 0,
    saved_generation: 0,
    last_try: 0,
    interval: 0,
    retry: 0,
    failed: None,
    saves: 0,
    stall_on: None,
});

fn generation() -> u64 {
    usage::generation() + notes::generation()
}

/// Reads both slots and restores the newest valid state; reports what it
/// found in the kernel log. Call once, after `storage::init`.
pub fn load(options: &Options) {
    let freq = generic_timer::frequency_hz();
    let slots = SLOTS.map(read_slot);
    let newest = slots
        .iter()
        .enumerate()
        .filter_map(|(i, slot)| match slot {
            Slot::Valid(seq, saved) => Some((i, *seq, saved)),
            _ => None,
        })
        .max_by_key(|&(_, seq, _)| seq);
    for (i, slot) in slots.iter().enumerate() {
        match slot {
            Slot::Bad(bad) => {
                let interrupted =
                    newest.is_some_and(|(_, seq, _)| bad.empty || bad.seq == Some(seq + 1));
                if interrupted {
                    klog!(
                        Info,
                        "state: {} holds an interrupted save ({}): discarded, the next save replaces it",
                        SLOTS[i],
                        bad.why
                    );
                } else {
                    klog!(
                        Warning,
                        "state: {} is corrupt ({}): ignored, the next save replaces it",
                        SLOTS[i],
                        bad.why
                    );
                }
            }
            Slot::Unreadable(why) => klog!(Warning, "state: cannot read {}: {why}", SLOTS[i]),
            Slot::Missing | Slot::Valid(..) => {}
        }
    }
    let mut writer = WRITER.lock();
    match newest {
        Some((i, seq, saved)) => {
            usage::restore(&saved.tools);
            let dropped = notes::restore(&saved.notes);
            klog!(
                Info,
                "state: loaded record {seq} from {} ({} tools, {} notes)",
                SLOTS[i],
                saved.tools.len(),
                saved.notes.len() - dropped
            );
            if dropped > 0 {
                klog!(
                    Warning,
                    "state: {dropped} saved notes were refused (too long or not text)"
                );
            }
            writer.next_seq = seq + 1;
            writer.target = 1 - i;
        }
        None => {
            if slots.iter().all(|slot| matches!(slot, Slot::Missing)) {
                klog!(Info, "state: nothing saved yet in {DIR}: starting fresh");
            } else {
                klog!(Warning, "state: no valid saved state: starting fresh");
            }
        }
    }
    writer.saved_generation = generation();
    writer.last_try = generic_timer::ticks();
    writer.interval = generic_timer::ms_to_ticks(options.state_save_ms, freq);
    writer.retry = generic_timer::ms_to_ticks(RETRY_MS.max(options.state_save_ms), freq);
    // A deliberate stall wedges the MCP loop: only where test tools are on.
    writer.stall_on = options.state_stall.filter(|_| options.test_tools);
    if options.state_stall.is_some() && !options.test_tools {
        klog!(Warning, "state: state_stall ignored: it needs test_tools=1");
    }
}

/// When the MCP loop should next call [`save_if_due`]: `None` while
/// nothing changed.
pub fn next_due() -> Option<u64> {
    let writer = WRITER.lock();
    (generation() != writer.saved_generation).then(|| {
        let wait = if writer.failed.is_some() {
            writer.retry
        } else {
            writer.interval
        };
        writer.last_try + wait
    })
}

/// Saves if the state changed and the interval since the last save has
/// passed, or at once (when changed) with `now_anyway` (before a reboot).
pub fn save_if_due(now_anyway: bool) {
    let due = next_due();
    let now = generic_timer::ticks();
    if due.is_some_and(|at| now_anyway || now >= at) {
        save();
    }
}

/// Writes the current state to the target slot.
fn save() {
    let mut writer = WRITER.lock();
    let generation = generation();
    let saved = Saved {
        tools: usage::counts(),
        notes: notes::notes(),
    };
    let seq = writer.next_seq;
    let path = SLOTS[writer.target];
    writer.saves += 1;
    writer.last_try = generic_timer::ticks();
    let stall = writer.stall_on == Some(writer.saves);
    let mut bytes = 0;
    let written = encode(seq, &saved).and_then(|record| {
        bytes = record.len();
        ensure_dir()?;
        if stall {
            stall_halfway(path, seq, &record)
        } else {
            storage::write(path, &record, WriteMode::Truncate).map_err(|e| e.0)
        }
    });
    match written {
        Ok(_) => {
            klog!(Debug, "state: saved record {seq} to {path} ({bytes} bytes)");
            writer.saved_generation = generation;
            writer.next_seq += 1;
            writer.target = 1 - writer.target;
            writer.failed = None;
        }
        Err(why) => {
            if writer.failed.as_ref() != Some(&why) {
                klog!(
                    Warning,
                    "state: saving to {path} failed: {why}; retrying every {RETRY_MS} ms"
                );
            }
            writer.failed = Some(why);
        }
    }
}

fn ensure_dir() -> Result<(), String> {
    match storage::stat(DIR) {
        Ok(entry) if entry.is_dir => Ok(()),
        Ok(_) => Err(format!("{DIR} is a file, not a directory")),
        Err(_) => storage::mkdir(DIR).map_err(|e| e.0),
    }
}

/// `state_stall`: the first half of `record`, then wait (watchdog fed) for
/// the test to kill the machine.
fn stall_halfway(path: &str, seq: u64, record: &[u8]) -> Result<u32, String> {
    let half = record.len() / 2;
    storage::write(path, &record[..half], WriteMode::Truncate).map_err(|e| e.0)?;
    klog!(
        Warning,
        "state: stalled halfway through writing record {seq} to {path} ({half} of {} bytes), as state_stall asked",
        record.len()
    );
    loop {
        watchdog::beat();
        crate::cpu::wait_for_interrupt();
    }
}
