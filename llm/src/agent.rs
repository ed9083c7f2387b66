//! The on-device agent's prompt and its model steps: from a plain-language
//! request, the model names one of the offered tools ([`Choice`] over the
//! real names) and writes its arguments ([`JsonArgs`] under the tool's
//! schema); after the caller ran the tool, the model answers from the
//! result.
//!
//! The conversation is ChatML. The fixed part ([`Agent::prefix_ids`]: the
//! system text, one line per tool, and a few worked examples for the tools
//! that are offered) does not depend on the request, so the caller
//! evaluates it once and keeps its KV cache ([`crate::model::KvCache`]); a
//! request then costs its own tokens and the decoding. Each request adds:
//!
//! ```text
//! <|im_start|>user\n{request}<|im_end|>\n<|im_start|>assistant\ntool: {name}\narguments: {json}
//! <|im_end|>\n<|im_start|>tool\n{result}<|im_end|>\n<|im_start|>assistant\n{answer}
//! ```
//!
//! The request and the result are tokenized as plain text (a special
//! token written in them is not one), everything else with specials.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::constrain::{self, Choice, DecodeError, JsonArgs, ObjectSchema, TokenTexts};
use crate::model::Session;
use crate::tokenizer::{TokenId, Tokenizer};

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
