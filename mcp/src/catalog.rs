//! An ordered, name-indexed collection: the shape shared by the tool,
//! resource, template and prompt registries.
//!
//! Listing must follow registration order (so pages are deterministic) while
//! calls look an item up by name; a `BTreeMap` index beside the `Vec` gives
//! both without a linear scan of strings per call.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// Something registered under a unique key (a tool name, a resource URI...).
pub trait Keyed {
    fn key(&self) -> &str;
}

/// Items in registration order, with an index by key.
#[derive(Debug)]
pub struct Catalog<T> {
    items: Vec<T>,
    index: BTreeMap<String, usize>,
}

impl<T> Default for Catalog<T> {
    fn default() -> Self {
        Catalog {
            items: Vec::new(),
            index: BTreeMap::new(),
        }
    }
}

impl<T: Keyed> Catalog<T> {
    /// Adds an item; one with the same key is replaced in place, so keys
    /// stay unique and the listing order stays stable.
    pub fn add(&mut self, item: T) {
        match self.index.get(item.key()) {
            Some(&i) => self.items[i] = item,
            None => {
                self.index.insert(item.key().to_string(), self.items.len());
                self.items.push(item);
            }
        }
    }

    pub fn get(&self, key: &str) -> Option<&T> {
        self.index.get(key).map(|&i| &self.items[i])
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut T> {
        self.index.get(key).map(|&i| &mut self.items[i])
    }

    pub fn items(&self) -> &[T] {
        &self.items
    }

    pub fn items_mut(&mut self) -> &mut [T] {
        &mut self.items
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}
