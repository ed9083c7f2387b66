//! [`Object`]: a tool's structured result, the JSON object that becomes
//! `structuredContent`.
//!
//! Why not `serde_json::Map`: without `std` it is a `BTreeMap<String, _>`,
//! so even `{"ok": true}` costs an allocated key, a tree node, and a tree
//! walk to print it and another to drop it — on the postcard path that was
//! a third of a whole trivial `tools/call` (docs/performance.md) — and it
//! prints members sorted by name rather than in the order a tool lists them.
//! An `Object` is a plain vector of members: keys are usually `'static`
//! literals (no allocation), and members print in the order they were given.
//! Member values are ordinary `serde_json::Value`s.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

/// A JSON object whose members keep their order; see the module docs.
/// Build one with [`crate::object!`] or [`Object::insert`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Object(Vec<(Cow<'static, str>, Value)>);

impl Object {
    pub const fn new() -> Self {
        Object(Vec::new())
    }

    /// What [`crate::object!`] builds: `members` in order, their keys
    /// distinct (the macro checks that at compile time).
    #[doc(hidden)]
    pub fn from_distinct_members(members: Vec<(Cow<'static, str>, Value)>) -> Self {
        Object(members)
    }

    /// Sets `key` to `value`: in place if the key is there, else appended.
    pub fn insert(&mut self, key: impl Into<Cow<'static, str>>, value: impl Into<Value>) {
        let key = key.into();
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some((_, slot)) => *slot = value,
            None => self.0.push((key, value)),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The members in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), v))
    }
}

/// Builds an [`Object`] from `"key": value` pairs, in that order; each value
/// is any `Serialize` expression (nested objects and arrays with
/// `serde_json::json!`):
///
/// ```
/// let done = true;
/// let o = mcp::object! {"ok": done, "ids": vec![1, 2], "sub": serde_json::json!({"a": 1})};
/// assert_eq!(mcp::json_out::object_to_string(&o), r#"{"ok":true,"ids":[1,2],"sub":{"a":1}}"#);
/// ```
///
/// A key given twice does not compile:
///
/// ```compile_fail
/// let o = mcp::object! {"a": 1, "a": 2};
/// ```
#[macro_export]
macro_rules! object {
    ($($key:literal : $value:expr),* $(,)?) => {{
        const _: () = assert!(
            $crate::object::keys_are_distinct(&[$($key),*]),
            "a key appears twice in object!"
        );
        $crate::Object::from_distinct_members($crate::__private::vec![
            $(($crate::__private::Cow::Borrowed($key), $crate::__private::json!($value))),*
        ])
    }};
}

/// Whether no two of `keys` are equal; [`crate::object!`] evaluates this at
/// compile time, so a literal object costs no check when it runs.
#[doc(hidden)]
pub const fn keys_are_distinct(keys: &[&str]) -> bool {
    let mut i = 0;
    while i < keys.len() {
        let mut j = 0;
        while j < i {
            if same_bytes(keys[i].as_bytes(), keys[j].as_bytes()) {
                return false;
            }
            j += 1;
        }
        i += 1;
    }
    true
}

const fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

impl From<Map<String, Value>> for Object {
    fn from(map: Map<String, Value>) -> Self {
        Object(map.into_iter().map(|(k, v)| (Cow::Owned(k), v)).collect())
    }
}

impl From<Object> for Value {
    fn from(object: Object) -> Self {
        Value::Object(
            object
                .0
                .into_iter()
                .map(|(k, v)| (k.into_owned(), v))
                .collect(),
        )
    }
}

/// An object value's members; anything else is handed back.
impl TryFrom<Value> for Object {
    type Error = Value;
    fn try_from(value: Value) -> Result<Self, Value> {
        match value {
            Value::Object(map) => Ok(map.into()),
            other => Err(other),
        }
    }
}

/// As a JSON object, members in order (so `json!` can nest an `Object`).
impl Serialize for Object {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key.as_ref(), value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn members_keep_their_order() {
        let o = crate::object! {"b": 1, "a": "x", "c": json!([true])};
        let keys: Vec<_> = o.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["b", "a", "c"]);
        assert_eq!(
            serde_json::to_string(&o).unwrap(),
            r#"{"b":1,"a":"x","c":[true]}"#
        );
        assert_eq!(Value::from(o), json!({"a":"x","b":1,"c":[true]}));
    }

    #[test]
    fn keys_are_checked_for_repeats() {
        assert!(keys_are_distinct(&[]));
        assert!(keys_are_distinct(&["a", "ab", "b"]));
        assert!(!keys_are_distinct(&["a", "b", "a"]));
    }

    #[test]
    fn inserting_a_present_key_replaces_its_value_in_place() {
        let mut o = crate::object! {"k": 0, "z": 1};
        o.insert("k", 2);
        assert_eq!(serde_json::to_string(&o).unwrap(), r#"{"k":2,"z":1}"#);
        let mut o = Object::new();
        o.insert("k", 1);
        o.insert(alloc::string::String::from("k"), 2);
        assert_eq!(o.len(), 1);
        assert_eq!(o.get("k"), Some(&json!(2)));
    }

    #[test]
    fn converts_from_and_to_values() {
        let v = json!({"x": {"y": null}, "n": -1});
        let o = Object::try_from(v.clone()).unwrap();
        assert_eq!(o.get("n"), Some(&json!(-1)));
        assert_eq!(Value::from(o), v);
        assert_eq!(Object::try_from(json!([1])), Err(json!([1])));
        assert!(crate::object! {}.is_empty());
    }
}
