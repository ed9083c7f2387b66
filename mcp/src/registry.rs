//! Tools: what the kernel registers, and how a handler's outcome becomes an
//! MCP `CallToolResult`.
//!
//! Handlers return a small [`ToolResult`] rather than raw JSON so that every
//! tool gets the same, spec-conformant result shape (text content for older
//! clients, `structuredContent` for newer ones, `isError` for failures the
//! model should see) without each driver re-implementing it.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec;
use core::fmt;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::catalog::{Catalog, Keyed};
use crate::context::{Context, NoContext};
use crate::json_out;
use crate::object::Object;

/// The signature of a tool implementation: it receives the call's
/// `arguments` object (empty when the client sent none; already checked
/// against `input_schema`) and the running request's [`Context`].
///
/// `Fn + Send + Sync` because the server's tools are shared
/// ([`crate::Toolbox`]): a handler may be called from inside another tool,
/// and from another core. State a handler keeps lives in statics or atomics.
pub type Handler = Box<dyn Fn(&Map<String, Value>, &mut dyn Context) -> ToolResult + Send + Sync>;

/// One callable tool.
pub struct Tool {
    /// Unique, stable identifier the client calls the tool by.
    pub name: &'static str,
    /// Human-readable display name.
    pub title: &'static str,
    /// What the tool does, written for the model that decides to call it.
    pub description: &'static str,
    /// JSON Schema of `arguments` (an object schema).
    pub input_schema: Value,
    /// JSON Schema of `structuredContent`, for tools that return it.
    pub output_schema: Option<Value>,
    pub handler: Handler,
}

impl Tool {
    /// The entry for this tool in a `tools/list` result.
    pub fn descriptor(&self) -> ToolDescriptor<'_> {
        ToolDescriptor {
            name: self.name,
            title: self.title,
            description: self.description,
            input_schema: &self.input_schema,
            output_schema: self.output_schema.as_ref(),
        }
    }

    /// Runs the handler outside any request and shapes its outcome as a
    /// `CallToolResult`.
    pub fn call(&mut self, arguments: &Map<String, Value>) -> Value {
        (self.handler)(arguments, &mut NoContext).into_call_result()
    }
}

impl Keyed for Tool {
    fn key(&self) -> &str {
        self.name
    }
}

impl fmt::Debug for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tool")
            .field("name", &self.name)
            .field("title", &self.title)
            .finish_non_exhaustive()
    }
}

/// Serialized form of a tool in `tools/list` (field names per the MCP schema).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolDescriptor<'a> {
    pub name: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    pub input_schema: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<&'a Value>,
}

/// What a handler produced.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolResult {
    /// Machine-readable output (`structuredContent`); JSON answers also
    /// mirror it as text for clients that only read `content`.
    Structured(Object),
    /// Plain text output.
    Text(String),
    /// The tool ran but failed (bad argument values, hardware refused, ...).
    /// Reported in-band with `isError: true` so the model can react to it,
    /// unlike protocol errors which are JSON-RPC errors.
    Error(String),
}

impl ToolResult {
    /// The MCP `CallToolResult` object for this outcome.
    pub fn into_call_result(self) -> Value {
        match self {
            ToolResult::Structured(v) => {
                let text = json_out::object_to_string(&v);
                json!({
                    "content": vec![text_block(text)],
                    "structuredContent": v,
                    "isError": false,
                })
            }
            ToolResult::Text(s) => json!({ "content": vec![text_block(s)], "isError": false }),
            ToolResult::Error(msg) => json!({ "content": vec![text_block(msg)], "isError": true }),
        }
    }
}

impl ToolResult {
    /// Appends this outcome as a `CallToolResult` object without building a
    /// `Value` tree (the `tools/call` hot path). `extra` is written verbatim
    /// before the closing brace (e.g. `,"resultType":"complete"`).
    pub fn write_call_result(&self, out: &mut String, extra: &str) {
        out.push_str("{\"content\":[{\"type\":\"text\",\"text\":");
        match self {
            ToolResult::Structured(v) => {
                json_out::write_object_as_str(out, v);
                out.push_str("}],\"structuredContent\":");
                json_out::write_object(out, v);
                out.push_str(",\"isError\":false");
            }
            ToolResult::Text(t) => {
                json_out::write_str(out, t);
                out.push_str("}],\"isError\":false");
            }
            ToolResult::Error(t) => {
                json_out::write_str(out, t);
                out.push_str("}],\"isError\":true");
            }
        }
        out.push_str(extra);
        out.push('}');
    }
}

fn text_block(text: String) -> Value {
    json!({ "type": "text", "text": text })
}

/// Tools in registration order, indexed by name.
pub type Registry = Catalog<Tool>;

#[cfg(test)]
mod tests {
    use super::*;

    fn tool(name: &'static str, reply: &'static str) -> Tool {
        Tool {
            name,
            title: "T",
            description: "d",
            input_schema: json!({"type":"object"}),
            output_schema: None,
            handler: Box::new(move |_, _| ToolResult::Text(reply.to_string())),
        }
    }

    #[test]
    fn structured_result_mirrors_json_text() {
        let r = ToolResult::Structured(crate::object! {"b": [1, 2], "a": "x"}).into_call_result();
        assert_eq!(
            r,
            json!({
                "content":[{"type":"text","text":"{\"b\":[1,2],\"a\":\"x\"}"}],
                "structuredContent":{"a":"x","b":[1,2]},
                "isError":false
            })
        );
    }

    #[test]
    fn written_results_equal_the_value_form() {
        for r in [
            ToolResult::Structured(crate::object! {"b": [1, 2], "a": "x\n"}),
            ToolResult::Text("hi \"there\"".into()),
            ToolResult::Error("no".into()),
        ] {
            let mut out = String::new();
            r.write_call_result(&mut out, "");
            let back: Value = serde_json::from_str(&out).unwrap();
            assert_eq!(back, r.into_call_result());
        }
    }

    #[test]
    fn text_and_error_results() {
        assert_eq!(
            ToolResult::Text("hi".into()).into_call_result(),
            json!({"content":[{"type":"text","text":"hi"}],"isError":false})
        );
        assert_eq!(
            ToolResult::Error("no".into()).into_call_result(),
            json!({"content":[{"type":"text","text":"no"}],"isError":true})
        );
    }

    #[test]
    fn descriptor_uses_camel_case_and_omits_missing_output_schema() {
        let mut t = tool("a", "x");
        assert_eq!(
            serde_json::to_value(t.descriptor()).unwrap(),
            json!({"name":"a","title":"T","description":"d","inputSchema":{"type":"object"}})
        );
        t.output_schema = Some(json!({"type":"object"}));
        assert_eq!(
            serde_json::to_value(t.descriptor()).unwrap()["outputSchema"],
            json!({"type":"object"})
        );
    }

    #[test]
    fn duplicate_names_replace_in_place() {
        let mut r = Registry::default();
        r.add(tool("a", "1"));
        r.add(tool("b", "2"));
        r.add(tool("a", "3"));
        assert_eq!(r.len(), 2);
        let names: Vec<_> = r.items().iter().map(|t| t.name).collect();
        assert_eq!(names, ["a", "b"]);
        let out = r.get_mut("a").unwrap().call(&Map::new());
        assert_eq!(out["content"][0]["text"], "3");
        assert!(r.get_mut("c").is_none());
    }
}
