//! Cursor pagination for the `*/list` methods.
//!
//! A cursor is opaque to the client; ours names the list it belongs to and
//! the offset of the next page (`"t:16"`), so a cursor from another list, a
//! made-up offset or anything else is refused with -32602 as MCP asks.
//! Registries only grow at boot, so offsets stay meaningful between pages.

use alloc::format;
use alloc::string::String;
use core::ops::Range;

use serde_json::Value;

use crate::catalog::Keyed;
use crate::jsonrpc::RpcError;
use crate::limits::PAGE_SIZE;
use crate::prompts::Prompt;
use crate::registry::Tool;
use crate::resources::{Resource, ResourceTemplate};

/// What a `*/list` method lists: which list it is, and each item's entry.
pub trait Listed: Keyed {
    const KIND: ListKind;
    fn list_entry(&self) -> Value;
}

impl Listed for Tool {
    const KIND: ListKind = ListKind::Tools;
    fn list_entry(&self) -> Value {
        serde_json::to_value(self.descriptor()).unwrap_or(Value::Null)
    }
}

impl Listed for Resource {
    const KIND: ListKind = ListKind::Resources;
    fn list_entry(&self) -> Value {
        self.descriptor()
    }
}

impl Listed for ResourceTemplate {
    const KIND: ListKind = ListKind::Templates;
    fn list_entry(&self) -> Value {
        self.descriptor()
    }
}

impl Listed for Prompt {
    const KIND: ListKind = ListKind::Prompts;
    fn list_entry(&self) -> Value {
        self.descriptor()
    }
}

/// Which list a cursor belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Tools,
    Resources,
    Templates,
    Prompts,
}

impl ListKind {
    /// The member of the list result that holds the items.
    pub fn result_key(self) -> &'static str {
        match self {
            ListKind::Tools => "tools",
            ListKind::Resources => "resources",
            ListKind::Templates => "resourceTemplates",
            ListKind::Prompts => "prompts",
        }
    }

    fn tag(self) -> &'static str {
        match self {
            ListKind::Tools => "t:",
            ListKind::Resources => "r:",
            ListKind::Templates => "rt:",
            ListKind::Prompts => "p:",
        }
    }
}

/// One page: the items to list and the cursor of the next page, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub range: Range<usize>,
    pub next_cursor: Option<String>,
}

/// The page `cursor` (absent: the first) selects from a list of `len` items.
pub fn page(kind: ListKind, cursor: Option<&str>, len: usize) -> Result<Page, RpcError> {
    let start = match cursor {
        None => 0,
        Some(c) => c
            .strip_prefix(kind.tag())
            .filter(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|digits| digits.parse::<usize>().ok())
            .filter(|&n| n > 0 && n < len && n % PAGE_SIZE == 0)
            .ok_or_else(|| RpcError::invalid_params("invalid cursor"))?,
    };
    let end = (start + PAGE_SIZE).min(len);
    Ok(Page {
        range: start..end,
        next_cursor: (end < len).then(|| format!("{}{end}", kind.tag())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_walk_the_whole_list() {
        let len = 2 * PAGE_SIZE + 3;
        let first = page(ListKind::Tools, None, len).unwrap();
        assert_eq!(first.range, 0..PAGE_SIZE);
        let second = page(ListKind::Tools, first.next_cursor.as_deref(), len).unwrap();
        assert_eq!(second.range, PAGE_SIZE..2 * PAGE_SIZE);
        let third = page(ListKind::Tools, second.next_cursor.as_deref(), len).unwrap();
        assert_eq!(third.range, 2 * PAGE_SIZE..len);
        assert_eq!(third.next_cursor, None);
        assert_eq!(page(ListKind::Tools, None, 0).unwrap().range, 0..0);
    }

    #[test]
    fn bad_cursors() {
        let len = 3 * PAGE_SIZE;
        let ok = format!("t:{PAGE_SIZE}");
        assert!(page(ListKind::Tools, Some(&ok), len).is_ok());
        for c in [
            "",
            "t:",
            "t:0",
            "t:1",
            "t:+16",
            "x",
            "p:16",
            "t:999999999999999999999999",
            "t:48",
        ] {
            assert!(page(ListKind::Tools, Some(c), len).is_err(), "{c}");
        }
        assert!(page(ListKind::Prompts, Some(&ok), len).is_err());
    }
}
