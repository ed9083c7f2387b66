//! The ChatML chat template, as SmolLM2's file writes it in
//! `tokenizer.chat_template`:
//!
//! ```text
//! <|im_start|>{role}\n{content}<|im_end|>\n     for each message
//! <|im_start|>assistant\n                       to ask for the reply
//! ```
//!
//! with a default system message first when the conversation does not start
//! with one. Only ChatML is rendered; the default system message is read
//! from the file's template (the text of its `system` turn), so a ChatML
//! model with another default, or none, is rendered right too.

use alloc::string::String;
use alloc::vec::Vec;

use crate::gguf::{Gguf, Value};
use crate::tokenizer::{TokenId, Tokenizer};

#[derive(Debug, Clone, PartialEq)]
pub struct ChatTemplate {
    pub default_system: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Message<'a> {
    pub role: &'a str,
    pub content: &'a str,
}

const START: &str = "<|im_start|>";
const END: &str = "<|im_end|>";

/// The ids that end a ChatML reply: the model's end of text and
/// `<|im_end|>` (once each).
pub fn end_ids(tokenizer: &Tokenizer) -> Vec<TokenId> {
    let mut ids: Vec<TokenId> = tokenizer
        .eos
        .into_iter()
        .chain(tokenizer.token_id(END))
        .collect();
    ids.dedup();
    ids
}

impl ChatTemplate {
    /// ChatML, when the file's template is ChatML (or there is none).
    pub fn from_gguf(g: &Gguf<'_>) -> Option<Self> {
        match g.get("tokenizer.chat_template").and_then(Value::as_str) {
            None => Some(ChatTemplate {
                default_system: None,
            }),
            Some(t) if t.contains(START) => Some(ChatTemplate {
                default_system: default_system(t),
            }),
            Some(_) => None,
        }
    }

    pub fn render(&self, messages: &[Message<'_>], add_generation_prompt: bool) -> String {
        let mut out = String::new();
        let turn = |out: &mut String, role: &str, content: &str| {
            for part in [START, role, "\n", content, END, "\n"] {
                out.push_str(part);
            }
        };
        if let Some(system) = &self.default_system {
            if messages.first().is_none_or(|m| m.role != "system") {
                turn(&mut out, "system", system);
            }
        }
        for m in messages {
            turn(&mut out, m.role, m.content);
        }
        if add_generation_prompt {
            out.push_str(START);
            out.push_str("assistant\n");
        }
        out
    }
}

/// The text between `<|im_start|>system` + newline and `<|im_end|>` in the
/// template source, with `\n` escapes (if the source has them) unescaped.
fn default_system(template: &str) -> Option<String> {
    let marker = "<|im_start|>system";
    let rest = &template[template.find(marker)? + marker.len()..];
    let rest = rest
        .strip_prefix('\n')
        .or_else(|| rest.strip_prefix("\\n"))?;
    let text = &rest[..rest.find(END)?];
    Some(text.replace("\\n", "\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_chatml_with_the_default_system() {
        let t = ChatTemplate {
            default_system: Some("Be brief.".into()),
        };
        let user = [Message {
            role: "user",
            content: "Hi",
        }];
        assert_eq!(
            t.render(&user, true),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        );
        let own = [
            Message {
                role: "system",
                content: "S",
            },
            Message {
                role: "user",
                content: "Hi",
            },
        ];
        assert_eq!(
            t.render(&own, false),
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
        );
    }

    #[test]
    fn reads_the_default_from_a_template() {
        let src = "{{ '<|im_start|>system\\nYou are X<|im_end|>\\n' }}";
        assert_eq!(default_system(src).as_deref(), Some("You are X"));
        assert_eq!(default_system("{{ messages }}"), None);
    }
}
