//! The conversation so far, as `llm_chat` takes it.

use serde_json::{json, Map, Value};

#[derive(Debug, Default)]
pub struct Conversation {
    /// (role, content) of every finished turn, oldest first.
    turns: Vec<(&'static str, String)>,
}

impl Conversation {
    /// `llm_chat`'s arguments for a new user message after the turns so far.
    /// The message joins the history only with its reply ([`Self::push`]),
    /// so a failed or cancelled turn leaves no question without an answer.
    pub fn arguments(&self, user: &str, max_tokens: u32) -> Map<String, Value> {
        let messages: Vec<Value> = self
            .turns
            .iter()
            .map(|(role, content)| (*role, content.as_str()))
            .chain([("user", user)])
            .map(|(role, content)| json!({"role": role, "content": content}))
            .collect();
        Map::from_iter([
            ("messages".to_owned(), Value::from(messages)),
            ("max_tokens".to_owned(), Value::from(max_tokens)),
        ])
    }

    /// Keeps a finished exchange.
    pub fn push(&mut self, user: String, assistant: String) {
        self.turns.push(("user", user));
        self.turns.push(("assistant", assistant));
    }

    pub fn clear(&mut self) {
        self.turns.clear();
    }

    /// Finished exchanges.
    pub fn len(&self) -> usize {
        self.turns.len() / 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_then_the_new_message() {
        let mut c = Conversation::default();
        assert_eq!(
            Value::Object(c.arguments("hi", 8)),
            json!({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 8})
        );
        c.push("hi".into(), "Hello!".into());
        assert_eq!(
            c.arguments("and you?", 16)["messages"],
            json!([
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "Hello!"},
                {"role": "user", "content": "and you?"},
            ])
        );
        assert_eq!(c.len(), 1);
        c.clear();
        assert_eq!(c.len(), 0);
        assert_eq!(c.arguments("x", 1)["messages"].as_array().unwrap().len(), 1);
    }
}
