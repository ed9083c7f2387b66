//! Prompts: message templates the client can list, fill in and complete.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use serde_json::{json, Map, Value};

use crate::catalog::Keyed;
use crate::resources::CompleteFn;

/// One argument a prompt takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptArgument {
    pub name: &'static str,
    pub description: &'static str,
    /// `prompts/get` without it is refused with -32602.
    pub required: bool,
}

/// Who says a prompt message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Assistant,
}

/// One text message of a filled-in prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptMessage {
    pub role: Role,
    pub text: String,
}

/// What `prompts/get` returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptResult {
    pub description: Option<String>,
    pub messages: Vec<PromptMessage>,
}

impl PromptResult {
    /// The `GetPromptResult` object.
    pub fn to_json(&self) -> Value {
        let messages: Vec<Value> = self
            .messages
            .iter()
            .map(|m| {
                let role = match m.role {
                    Role::User => "user",
                    Role::Assistant => "assistant",
                };
                json!({"role": role, "content": {"type": "text", "text": m.text}})
            })
            .collect();
        let mut out = json!({ "messages": messages });
        if let (Some(d), Value::Object(map)) = (&self.description, &mut out) {
            map.insert("description".into(), Value::String(d.clone()));
        }
        out
    }
}

/// Fills in a prompt from its (string) arguments; `Err` is reported as -32603.
pub type GetFn = Box<dyn FnMut(&Map<String, Value>) -> Result<PromptResult, String> + Send>;

/// A prompt template.
pub struct Prompt {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub arguments: Vec<PromptArgument>,
    pub get: GetFn,
    /// Suggests values for an argument (`completion/complete`).
    pub complete: Option<CompleteFn>,
}

impl Prompt {
    /// The entry in a `prompts/list` result.
    pub fn descriptor(&self) -> Value {
        let args: Vec<Value> = self
            .arguments
            .iter()
            .map(|a| json!({"name": a.name, "description": a.description, "required": a.required}))
            .collect();
        json!({
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "arguments": args,
        })
    }
}

impl Keyed for Prompt {
    fn key(&self) -> &str {
        self.name
    }
}

impl fmt::Debug for Prompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prompt")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}
