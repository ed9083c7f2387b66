//! The on-device agent's prompt and its model steps: from a plain-language
//! request, the model names one of the offered tools ([`Choice`] over the
//! real names) and writes its arguments ([`JsonArgs`] under the tool's
//! schema); after the caller ran the tool, the model answers from the
//! result ([`facts`], [`answer_prompt`]).
//!
//! The conversation is ChatML. The fixed part ([`Agent::prefix_ids`]: the
//! system text, one line per tool, and a few worked examples for the tools
//! that are offered) does not depend on the request, so the caller
//! evaluates it once and keeps its KV cache ([`crate::model::KvCache`]); a
//! request then costs its own tokens and the decoding. Each request adds:
//!
//! ```text
//! <|im_start|>user\n{request}<|im_end|>\n<|im_start|>assistant\ntool: {name}\narguments: {json}
//! ```
//!
//! The answer is a short conversation of its own ([`answer_prompt`]): the
//! result's facts in the system turn, the request as the user's.
//!
//! The request and the result are tokenized as plain text (a special
//! token written in them is not one), everything else with specials.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::constrain::{self, Choice, DecodeError, JsonArgs, ObjectSchema, TokenTexts};
use crate::model::Session;
use crate::tokenizer::{TokenId, Tokenizer};
use serde_json::Value;

/// A tool the agent may choose.
#[derive(Debug, Clone)]
pub struct ToolSpec {
    pub name: String,
    /// One line for the model (the tool's title).
    pub summary: String,
    pub arguments: ObjectSchema,
}

/// A worked example in the fixed prompt, shown when its tool is offered.
struct Example {
    request: &'static str,
    tool: &'static str,
    arguments: &'static str,
    /// The tool's result and the answer, for one example: it shows the
    /// model the answering turn.
    answer: Option<(&'static str, &'static str)>,
}

const SYSTEM: &str = "You operate a Raspberry Pi board through its tools. For each request, choose one tool \
                      and give its arguments as JSON, then answer in one short sentence from the tool's result.";

/// Requests unlike the ones a test asks, so that the test measures the
/// model and not a copy of its answer.
const EXAMPLES: &[Example] = &[
    Example {
        request: "How long has the board been running?",
        tool: "time_now",
        arguments: "{}",
        answer: Some((
            r#"{"uptime_ms":5230}"#,
            "The board has been running for 5.2 seconds.",
        )),
    },
    Example {
        request: "Switch pin 22 off.",
        tool: "gpio_write",
        arguments: r#"{"pin":22,"level":false}"#,
        answer: None,
    },
    Example {
        request: "Is GPIO 5 high?",
        tool: "gpio_read",
        arguments: r#"{"pin":5}"#,
        answer: None,
    },
    Example {
        request: "What files are on the SD card?",
        tool: "fs_list",
        arguments: r#"{"path":"/"}"#,
        answer: None,
    },
    Example {
        request: "How much memory is free?",
        tool: "sys_info",
        arguments: "{}",
        answer: None,
    },
    Example {
        request: "Is the chip overheating?",
        tool: "sys_info",
        arguments: "{}",
        answer: None,
    },
];

/// Longest arguments, in chosen tokens.
pub const MAX_ARGUMENT_TOKENS: usize = 64;

/// What a request came to before the tool runs.
#[derive(Debug, Clone)]
pub struct Call {
    /// Index into [`Agent::tools`].
    pub tool: usize,
    /// The arguments' JSON text (an object, compact).
    pub arguments: String,
    /// Tokens appended but not evaluated yet (see [`constrain::Decoded`]).
    pub pending: Vec<TokenId>,
}

#[derive(Debug)]
pub struct Agent {
    pub tools: Vec<ToolSpec>,
    /// `" {name}\n"` for each tool, as the choice writes it.
    names: Vec<Vec<u8>>,
    prefix_text: String,
    prefix_ids: Vec<TokenId>,
    texts: TokenTexts,
}

impl Agent {
    pub fn new(tokenizer: &Tokenizer, tools: Vec<ToolSpec>) -> Self {
        let prefix_text = prefix_text(&tools);
        let mut prefix_ids: Vec<TokenId> = Vec::new();
        if tokenizer.add_bos {
            prefix_ids.extend(tokenizer.bos);
        }
        prefix_ids.extend(constrain::encode_continuation(
            tokenizer,
            prefix_text.as_bytes(),
        ));
        Agent {
            names: tools
                .iter()
                .map(|t| format!(" {}\n", t.name).into_bytes())
                .collect(),
            tools,
            prefix_text,
            prefix_ids,
            texts: TokenTexts::new(tokenizer),
        }
    }

    /// The fixed part's text: an agent for other tools has another.
    pub fn prefix_text(&self) -> &str {
        &self.prefix_text
    }

    /// The fixed part's ids: a session starts with them.
    pub fn prefix_ids(&self) -> &[TokenId] {
        &self.prefix_ids
    }

    /// Evaluates the request's turn after the prefix (the session holds
    /// exactly the prefix) and lets the model choose a tool. Returns the
    /// tool's index and the tokens not yet evaluated.
    pub fn choose_tool(
        &self,
        session: &mut Session<'_, '_>,
        request: &str,
        poll: &mut dyn FnMut() -> bool,
    ) -> Result<(usize, Vec<TokenId>), DecodeError> {
        let t = &session.model().tokenizer;
        let mut ids = constrain::encode_continuation(t, b"<|im_start|>user\n");
        ids.extend(plain(t, request));
        ids.extend(constrain::encode_continuation(
            t,
            b"<|im_end|>\n<|im_start|>assistant\ntool:",
        ));
        let logits = session.eval(&ids)?;
        let decoded = constrain::decode(
            session,
            &self.texts,
            logits,
            Choice::new(&self.names),
            MAX_ARGUMENT_TOKENS,
            poll,
        )?;
        let tool = self
            .names
            .iter()
            .position(|n| *n == decoded.text)
            .ok_or(DecodeError::NoToken)?;
        Ok((tool, decoded.pending))
    }

    /// Evaluates `pending` and the arguments' lead, then lets the model
    /// write `tool`'s arguments under its schema.
    pub fn arguments(
        &self,
        session: &mut Session<'_, '_>,
        tool: usize,
        mut pending: Vec<TokenId>,
        poll: &mut dyn FnMut() -> bool,
    ) -> Result<Call, DecodeError> {
        let t = &session.model().tokenizer;
        pending.extend(constrain::encode_continuation(t, b"arguments:"));
        if poll() {
            return Err(DecodeError::Cancelled);
        }
        let logits = session.eval(&pending)?;
        let decoded = constrain::decode(
            session,
            &self.texts,
            logits,
            JsonArgs::new(&self.tools[tool].arguments),
            MAX_ARGUMENT_TOKENS,
            poll,
        )?;
        let text = String::from_utf8_lossy(&decoded.text);
        Ok(Call {
            tool,
            arguments: String::from(text.trim_start()),
            pending: decoded.pending,
        })
    }
}

/// The answer's prompt: a conversation of its own, not a continuation of
/// the agent's. The system message gives the tool's result as `facts` (one
/// "name: value" per line reads better to this small model than JSON) and
/// the user asks the request. Continuing the agent's conversation instead
/// (a `tool` turn, then the assistant's) had the model repeat the
/// `tool: …` pattern of its worked examples rather than answer.
pub fn answer_prompt(tokenizer: &Tokenizer, request: &str, facts: &str) -> Vec<TokenId> {
    let mut ids = constrain::encode_continuation(
        tokenizer,
        format!("<|im_start|>system\n{ANSWER_SYSTEM}\n").as_bytes(),
    );
    ids.extend(plain(tokenizer, facts));
    ids.extend(constrain::encode_continuation(
        tokenizer,
        b"<|im_end|>\n<|im_start|>user\n",
    ));
    ids.extend(plain(tokenizer, request));
    ids.extend(constrain::encode_continuation(
        tokenizer,
        b"<|im_end|>\n<|im_start|>assistant\n",
    ));
    ids
}

/// The tool's result as the answer's facts, at most `max_bytes` of whole
/// lines: one `name: value` line per scalar member (a nested one named by
/// its path, a list by its items' values or names), in words (`heap.free`
/// → `heap free`) and, where the name gives the unit, in units a reader
/// uses: `temperature_millicelsius: 47236` → `temperature: 47.2 °C`
/// (likewise `_ms`, `_bytes`, `_hz`). This small model quotes such a value
/// but does not convert one. The lines whose name shares words with the
/// request come first, so that "temperature" finds its line among
/// `sys_info`'s thirty.
pub fn facts(request: &str, result: &Value, is_error: bool, max_bytes: usize) -> String {
    let mut found = Vec::new();
    scalar_lines("", result, &mut found);
    let words: Vec<String> = request
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| w.len() >= 3)
        .map(|w| w.to_ascii_lowercase())
        .collect();
    // The lines naming most of the request's words first, and among those
    // the plainest (`temperature` before `max_temperature`); the rest in
    // the result's order (the sort is stable).
    let rank = |path: &str| {
        let matched = words.iter().filter(|w| path.contains(w.as_str())).count();
        let length = if matched > 0 {
            path.split(['.', '_']).count()
        } else {
            0
        };
        (core::cmp::Reverse(matched), length)
    };
    found.sort_by_key(|(path, _)| rank(path));
    let mut out = String::from(if is_error { "error: " } else { "" });
    for (path, value) in found {
        let (name, text) = readable(&path, &value);
        let line = match name.as_str() {
            "" => format!("{text}\n"),
            _ => format!("{name}: {text}\n"),
        };
        if out.len() + line.len() > max_bytes {
            break;
        }
        out.push_str(&line);
    }
    String::from(out.trim_end())
}

/// Every scalar in `value` as (its path, its value), in order; a list of
/// scalars (or of objects with a `name`) as one string.
fn scalar_lines(path: &str, value: &Value, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(members) => {
            for (key, value) in members {
                let path = match path {
                    "" => key.clone(),
                    _ => format!("{path}.{key}"),
                };
                scalar_lines(&path, value, out);
            }
        }
        Value::Array(items) => {
            let items: Vec<String> = items
                .iter()
                .filter_map(|item| match item {
                    Value::Object(_) => item.get("name").and_then(plain_text),
                    _ => plain_text(item),
                })
                .collect();
            out.push((path.into(), Value::String(items.join(", "))));
        }
        Value::Null => {}
        _ => out.push((path.into(), value.clone())),
    }
}

fn plain_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(_) | Value::Bool(_) => Some(value.to_string()),
        _ => None,
    }
}

/// How a number reads in a unit.
type Reading = fn(f64) -> String;

/// Units a member's name may end in, and how its number reads.
const UNITS: &[(&str, Reading)] = &[
    ("_millicelsius", |v| format!("{:.1} °C", v / 1000.0)),
    ("_ms", |v| {
        if v >= 1000.0 {
            format!("{:.1} s", v / 1000.0)
        } else {
            format!("{v} ms")
        }
    }),
    ("_bytes", |v| {
        scaled(v, 1024.0, &["bytes", "KiB", "MiB", "GiB"])
    }),
    ("_hz", |v| scaled(v, 1000.0, &["Hz", "kHz", "MHz", "GHz"])),
];

/// `v` in the largest of `units` (each `step` times the last) it reaches.
fn scaled(v: f64, step: f64, units: &[&str]) -> String {
    let mut v = v;
    let mut unit = 0;
    while v >= step && unit + 1 < units.len() {
        v /= step;
        unit += 1;
    }
    match unit {
        0 => format!("{v} {}", units[0]),
        _ => format!("{v:.1} {}", units[unit]),
    }
}

/// A member's path and value as a line reads them: the path in words, and
/// a number in the unit its path names (the unit's suffix dropped).
fn readable(path: &str, value: &Value) -> (String, String) {
    let mut format: Option<Reading> = None;
    let mut words = Vec::new();
    for segment in path.split('.') {
        let mut segment = segment;
        if let Some(&(suffix, f)) = UNITS.iter().find(|(suffix, _)| segment.ends_with(suffix)) {
            if format.is_none() && value.is_number() {
                format = Some(f);
                segment = &segment[..segment.len() - suffix.len()];
            }
        }
        words.push(segment.replace('_', " "));
    }
    let text = match (format, value.as_f64()) {
        (Some(f), Some(v)) => f(v),
        _ => plain_text(value).unwrap_or_default(),
    };
    (words.join(" "), text)
}

const ANSWER_SYSTEM: &str =
    "You answer questions about a Raspberry Pi board. Facts from the board:";

/// `text`'s ids as plain text (specials not parsed), without a BOS.
fn plain(tokenizer: &Tokenizer, text: &str) -> Vec<TokenId> {
    let mut ids = tokenizer.encode(text, false);
    if tokenizer.add_bos && ids.first() == tokenizer.bos.as_ref() {
        ids.remove(0);
    }
    ids
}

/// The fixed part's text for `tools` (what [`Agent::prefix_text`] is for
/// an agent of these tools).
pub fn prefix_text(tools: &[ToolSpec]) -> String {
    let mut out = format!("<|im_start|>system\n{SYSTEM}\nTools:\n");
    for t in tools {
        out.push_str(&format!(
            "{} {}: {}\n",
            t.name,
            t.arguments.signature(),
            t.summary
        ));
    }
    out.push_str("<|im_end|>\n");
    for e in EXAMPLES {
        if !tools.iter().any(|t| t.name == e.tool) {
            continue;
        }
        out.push_str(&format!(
            "<|im_start|>user\n{}<|im_end|>\n<|im_start|>assistant\ntool: {}\narguments: {}<|im_end|>\n",
            e.request, e.tool, e.arguments
        ));
        if let Some((result, answer)) = e.answer {
            out.push_str(&format!(
                "<|im_start|>tool\n{result}<|im_end|>\n<|im_start|>assistant\n{answer}<|im_end|>\n"
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn facts_read_in_words_and_units_the_request_first() {
        let result = json!({
            "uptime_ms": 93_412,
            "ram_bytes": 2_013_265_920u64,
            "heap": {"used": 5, "free": 7},
            "temperature_millicelsius": 47_236,
            "board_serial": null,
            "clocks_hz": {"arm": 1_500_000_000},
            "entries": [{"name": "APPS"}, {"name": "config.txt"}],
            "ok": true,
        });
        assert_eq!(
            facts("what is the board temperature?", &result, false, 1000),
            "temperature: 47.2 °C\nclocks arm: 1.5 GHz\nentries: APPS, config.txt\nheap free: 7\n\
             heap used: 5\nok: true\nram: 1.9 GiB\nuptime: 93.4 s"
        );
        // (serde_json's map keeps its members sorted.) Whole lines only,
        // within the limit; an error says so.
        assert_eq!(
            facts(
                "what is the uptime?",
                &json!({"uptime_ms": 250, "level": false}),
                true,
                30
            ),
            "error: uptime: 250 ms"
        );
        assert_eq!(facts("x", &json!("plain text"), false, 100), "plain text");
    }
}
