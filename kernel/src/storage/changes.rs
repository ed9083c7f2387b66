//! Which paths the card's files changed at since the MCP loop last looked,
//! so that it can tell the subscribers of their `file:///` URIs
//! (`notifications/resources/updated`).
//!
//! Writers record the path they changed (after the change is on the card);
//! the loop takes the whole set at once. The set is bounded: past
//! [`MAX_TRACKED`] distinct paths it only remembers that it overflowed, and
//! then every watched file counts as changed — a spurious update is
//! harmless (the client reads again), a missed one is not.

use super::parse_path;
use alloc::string::String;
use alloc::vec::Vec;
use spin::Mutex;

const MAX_TRACKED: usize = 32;

/// Paths changed since the last [`take`].
#[derive(Debug, Default)]
pub struct Changes {
    /// Canonical paths (`/DIR/FILE.TXT`: FAT names are case-insensitive).
    paths: Vec<String>,
    overflowed: bool,
}

static CHANGES: Mutex<Changes> = Mutex::new(Changes {
    paths: Vec::new(),
    overflowed: false,
});

/// The canonical form of validated path components.
fn canonical(parts: &[&str]) -> String {
    let mut path = String::new();
    for part in parts {
        path.push('/');
        path.extend(part.chars().map(|c| c.to_ascii_uppercase()));
    }
    if path.is_empty() {
        path.push('/');
    }
    path
}

/// Notes that the file or directory at `parts` changed (was written,
/// created, deleted); its directory's listing changed with it.
pub(super) fn record(parts: &[&str]) {
    let mut changes = CHANGES.lock();
    if changes.overflowed {
        return;
    }
    let path = canonical(parts);
    if changes.paths.contains(&path) {
        return;
    }
    if changes.paths.len() == MAX_TRACKED {
        changes.paths = Vec::new();
        changes.overflowed = true;
    } else {
        changes.paths.push(path);
    }
}

/// Everything changed since the last call, or `None` if nothing did.
pub fn take() -> Option<Changes> {
    let mut changes = CHANGES.lock();
    if changes.paths.is_empty() && !changes.overflowed {
        return None;
    }
    Some(core::mem::take(&mut *changes))
}

impl Changes {
    /// Whether the file at `path` (any case) may have changed.
    pub fn affects(&self, path: &str) -> bool {
        if self.overflowed {
            return true;
        }
        match parse_path(path) {
            Ok(parts) => self.paths.contains(&canonical(&parts)),
            Err(_) => false,
        }
    }
}
