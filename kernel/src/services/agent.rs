//! `agent_ask`: the on-device agent. A plain-language request goes to the
//! loaded model (`llm_load`), which chooses one of the server's tools and
//! writes its arguments (`llm::agent`: constrained decoding over the real
//! tool names, then JSON under the tool's input schema); the call goes
//! through the same dispatch as a client's `tools/call` ([`mcp::Toolbox`]),
//! and the model answers from the result. Each step is a progress
//! notification (`tool: …`, `arguments: …`, `result: …`, then the answer's
//! pieces) and cancellation is polled at every step, the tool's own run
//! included (its context forwards `cancelled()`).
//!
//! The prompt's fixed part (system text, tool list, examples) is evaluated
//! once per model and tool list and its KV cache kept in the loaded model's
//! `agent` slot ([`Kept`]), dropped with the model; a request costs its own
//! tokens and the decoding.
//!
//! Tools the model may choose: every registered tool whose input schema
//! [`schema`] can constrain, except
//! - `agent_ask` itself and `app_run` (no recursion; an agent does not
//!   start programs),
//! - the `llm_*` tools (the agent's own engine: loading or generating from
//!   inside it would wait on the model it holds),
//! - what changes the board beyond a pin: `sys_reboot`, `fs_write`,
//!   `fs_delete`, `fs_mkdir`,
//! - what only measures or tests: `mem_test`, `bench_*`, `debug_*`, `echo`,
//! - the client's notes, `memory_*` (kept for `kingly://context`: an agent
//!   guessing at them would write or clear what the client keeps).
//!
//! The agent does not load a model itself: without one it says so (loading
//! ~100 MB is the client's decision, with `llm_load`).

use super::llm::{Loaded, LOADED};
use crate::services::llm::ticks_to_ns;
use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use llm::agent::{self, Agent, ToolSpec};
use llm::constrain::DecodeError;
use llm::generate::{Ends, Generation};
use llm::model::{KvCache, Session};
use llm::sample::{Options, Sampler};
use mcp::{Context, LogLevel, Object, Tool, ToolResult, Toolbox};
use rpi4::generic_timer;
use serde_json::{json, Map, Value};

mod schema;

/// Longest request, in bytes.
const MAX_REQUEST_BYTES: usize = 400;
/// Positions a request may add after the fixed part: its turn (at most
/// ~MAX_REQUEST_BYTES/2 tokens) and the call.
const REQUEST_ROOM: usize = 640;
/// The tool's result in the `result:` progress step, at most (bytes; a
/// longer one is cut, the structured result keeps all of it).
const MAX_RESULT_BYTES: usize = 160;
/// Most of the result the answer's prompt gives the model, as facts.
const MAX_FACTS_BYTES: usize = 240;
/// Longest answer, in tokens.
const MAX_ANSWER_TOKENS: usize = 20;
/// Prompt tokens evaluated between two polls for cancellation.
const PROMPT_PIECE: usize = llm::model::MAX_BATCH;

/// Tools never offered to the model (see the module docs).
const EXCLUDED: &[&str] = &[
    "agent_ask",
    "app_run",
    "sys_reboot",
    "fs_write",
    "fs_delete",
    "fs_mkdir",
    "mem_test",
    "echo",
];
const EXCLUDED_PREFIXES: &[&str] = &["llm_", "bench", "debug_", "memory_"];

/// The agent of the loaded model: its prompt, and the KV cache of the
/// prompt's fixed part once evaluated.
pub(crate) struct Kept {
    agent: Agent,
    /// Holds at least the fixed part (`agent.prefix_ids()`), evaluated.
    cache: Option<KvCache>,
}

pub fn all() -> Vec<Tool> {
    vec![agent_ask()]
}

fn agent_ask() -> Tool {
    Tool {
        name: "agent_ask",
        title: "Ask the on-device agent",
        description: "Hands a plain-language request to the loaded model (llm_load first), which chooses one of \
                      the OS's tools and its arguments (constrained to the real tool names and each tool's \
                      input schema), calls it through the same dispatch as tools/call, and answers from the \
                      result. With a progressToken each step is a progress notification (tool, arguments, \
                      result, then the answer's text); notifications/cancelled stops it at any step. Tools \
                      that reboot, write or delete files, load models or only measure are not offered.",
        input_schema: json!({
            "type": "object",
            "properties": {"request": {"type": "string", "minLength": 1, "maxLength": MAX_REQUEST_BYTES,
                "description": "what to do, e.g. \"what is the board temperature?\""}},
            "required": ["request"],
            "additionalProperties": false
        }),
        output_schema: Some(json!({
            "type": "object",
            "properties": {
                "tool": {"type": "string", "description": "the tool the model chose"},
                "arguments": {"type": "object", "description": "the arguments it wrote"},
                "result": {"description": "the tool's result: its structured content, or text"},
                "is_error": {"type": "boolean", "description": "the tool reported an error"},
                "answer": {"type": "string"},
                "timing": {"type": "object", "description": "ns of the generic timer (under QEMU -icount shift=0: guest instructions)",
                    "properties": {
                        "prefix_ns": {"type": "integer", "description": "evaluating the fixed part (0 when its cache was reused)"},
                        "prefix_tokens": {"type": "integer"},
                        "choose_ns": {"type": "integer", "description": "from the request to the chosen tool (the request's tokens and the name's decoding)"},
                        "arguments_ns": {"type": "integer"},
                        "call_ns": {"type": "integer"},
                        "answer_ns": {"type": "integer"}
                    }}
            },
            "required": ["tool", "arguments", "result", "is_error", "answer", "timing"]
        })),
        handler: Box::new(|args: &Map<String, Value>, ctx: &mut dyn Context| {
            let request = args
                .get("request")
                .and_then(Value::as_str)
                .unwrap_or_default();
            match ask(request.trim(), ctx) {
                Ok(out) => ToolResult::Structured(out),
                Err(e) => ToolResult::Error(e),
            }
        }),
    }
}

/// Progress notifications numbered 1, 2, … (MCP wants them growing).
struct Steps<'c> {
    ctx: &'c mut dyn Context,
    sent: u32,
}

impl Steps<'_> {
    fn say(&mut self, message: &str) {
        self.sent += 1;
        self.ctx.progress(f64::from(self.sent), None, Some(message));
    }
}

/// The context a chosen tool runs with: the request's cancellation (which
/// also beats the heartbeat) and log, not its progress (the agent reports
/// its own steps) nor the toolbox (no nested agents).
struct Nested<'c> {
    outer: &'c mut dyn Context,
}

impl Context for Nested<'_> {
    fn progress(&mut self, _: f64, _: Option<f64>, _: Option<&str>) {}
    fn cancelled(&mut self) -> bool {
        self.outer.cancelled()
    }
    fn log(&mut self, level: LogLevel, logger: &str, data: Value) {
        self.outer.log(level, logger, data);
    }
}

fn cancelled() -> String {
    // The server sends no response to a cancelled request.
    "cancelled".into()
}

fn decode_error(e: DecodeError) -> String {
    match e {
        DecodeError::Cancelled => cancelled(),
        e => format!("the model could not write a call: {e}"),
    }
}

/// The tools offered to the model, from the server's registry.
fn offered(toolbox: &Toolbox) -> Vec<ToolSpec> {
    toolbox
        .iter()
        .filter(|t| {
            !EXCLUDED.contains(&t.name) && !EXCLUDED_PREFIXES.iter().any(|p| t.name.starts_with(p))
        })
        .filter_map(|t| {
            // Tools whose schema cannot be constrained are left out.
            let arguments = schema::object_schema(&t.input_schema).ok()?;
            Some(ToolSpec {
                name: t.name.to_string(),
                summary: t.title.to_string(),
                arguments,
            })
        })
        .collect()
}

/// What the first phase (model locked) hands to the call.
struct Chosen {
    tool: String,
    arguments: Map<String, Value>,
    arguments_text: String,
    timing: Object,
}

fn ask(request: &str, ctx: &mut dyn Context) -> Result<Object, String> {
    if request.is_empty() {
        return Err(
            "request is empty: say what to do, e.g. \"what is the board temperature?\"".into(),
        );
    }
    if request.len() > MAX_REQUEST_BYTES {
        return Err(format!("request is longer than {MAX_REQUEST_BYTES} bytes"));
    }
    let toolbox: Arc<Toolbox> = ctx
        .toolbox()
        .ok_or("agent_ask runs inside an MCP request (no toolbox here)")?;
    let tools = offered(&toolbox);
    if tools.is_empty() {
        return Err("no tool can be offered to the model".into());
    }
    let mut steps = Steps { ctx, sent: 0 };
    let chosen = choose(request, tools, &mut steps)?;

    // The call, with the model unlocked: the tool may take long, and the
    // model's lock is not the tool's business.
    let started = generic_timer::ticks();
    let tool = toolbox
        .get(&chosen.tool)
        .ok_or_else(|| format!("{} is no longer registered", chosen.tool))?;
    // The grammar wrote what the schema allows; checked all the same, as
    // tools/call checks (Toolbox::call checks again).
    mcp::schema::validate_arguments(&tool.input_schema, &chosen.arguments)
        .map_err(|e| format!("the model's arguments {}: {e}", chosen.arguments_text))?;
    let result = toolbox.call(
        &chosen.tool,
        &chosen.arguments,
        &mut Nested { outer: steps.ctx },
    );
    if steps.ctx.cancelled() {
        return Err(cancelled());
    }
    let call_ns = ticks_to_ns(generic_timer::ticks() - started);
    let (result, is_error) = match result {
        ToolResult::Structured(o) => (Value::from(o), false),
        ToolResult::Text(t) => (Value::String(t), false),
        ToolResult::Error(e) => (Value::String(e), true),
    };
    let result_text = match &result {
        Value::String(s) if is_error => format!("error: {s}"),
        Value::String(s) => s.clone(),
        v => v.to_string(),
    };
    let result_text = cut(&result_text, MAX_RESULT_BYTES);
    steps.say(&format!("result: {result_text}"));

    let started = generic_timer::ticks();
    let answer = answer(
        request,
        &agent::facts(request, &result, is_error, MAX_FACTS_BYTES),
        &mut steps,
    )?;
    let mut timing = chosen.timing;
    timing.insert("call_ns", call_ns);
    timing.insert("answer_ns", ticks_to_ns(generic_timer::ticks() - started));
    Ok(mcp::object! {
        "tool": chosen.tool,
        "arguments": Value::Object(chosen.arguments),
        "result": result,
        "is_error": is_error,
        "answer": answer,
        "timing": Value::from(timing),
    })
}

/// At most `max` bytes of `text`, cut at a character boundary.
fn cut(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The loaded model and its agent slot, or why not.
fn with_agent<T>(
    f: impl FnOnce(&Loaded, &mut Option<Kept>) -> Result<T, String>,
) -> Result<T, String> {
    let guard = LOADED.lock();
    let loaded = guard
        .as_ref()
        .ok_or("no model loaded: load one with llm_load first")?;
    let mut kept = loaded.agent.lock();
    f(loaded, &mut kept)
}

/// The first phase: the fixed part (evaluated unless its cache is kept),
/// the request, the tool's name and its arguments.
fn choose(request: &str, tools: Vec<ToolSpec>, steps: &mut Steps<'_>) -> Result<Chosen, String> {
    with_agent(|loaded, kept| {
        let model = loaded.model();
        if kept
            .as_ref()
            .is_none_or(|k| k.agent.prefix_text() != agent::prefix_text(&tools))
        {
            *kept = Some(Kept {
                agent: Agent::new(&model.tokenizer, tools),
                cache: None,
            });
        }
        let Some(k) = kept.as_mut() else {
            return Err("no agent".into());
        };
        let agent = &k.agent;
        let prefix_len = agent.prefix_ids().len();
        let started = generic_timer::ticks();
        let (mut session, prefix_ns) = match k.cache.take() {
            Some(cache) => {
                let mut s = Session::resume(model, cache).map_err(|e| e.to_string())?;
                s.truncate(prefix_len);
                (s, 0)
            }
            None => {
                let n_ctx = (prefix_len + REQUEST_ROOM).min(model.hparams.n_ctx_train);
                let mut s = Session::new(model, n_ctx).map_err(|e| e.to_string())?;
                for piece in agent.prefix_ids().chunks(PROMPT_PIECE) {
                    if steps.ctx.cancelled() {
                        // (a half-evaluated prefix is not kept)
                        return Err(cancelled());
                    }
                    s.eval(piece).map_err(|e| e.to_string())?;
                }
                (s, ticks_to_ns(generic_timer::ticks() - started))
            }
        };
        let from_request = generic_timer::ticks();
        let outcome = (|| {
            let (tool, pending) = agent
                .choose_tool(&mut session, request, &mut || steps.ctx.cancelled())
                .map_err(decode_error)?;
            let choose_ns = ticks_to_ns(generic_timer::ticks() - from_request);
            let name = agent.tools[tool].name.clone();
            steps.say(&format!("tool: {name}"));
            let started = generic_timer::ticks();
            let call = agent
                .arguments(&mut session, tool, pending, &mut || steps.ctx.cancelled())
                .map_err(decode_error)?;
            let arguments: Map<String, Value> = serde_json::from_str(&call.arguments)
                .map_err(|e| format!("the model's arguments {}: {e}", call.arguments))?;
            steps.say(&format!("arguments: {}", call.arguments));
            Ok(Chosen {
                tool: name,
                arguments,
                arguments_text: call.arguments,
                timing: mcp::object! {
                    "prefix_ns": prefix_ns,
                    "prefix_tokens": prefix_len,
                    "choose_ns": choose_ns,
                    "arguments_ns": ticks_to_ns(generic_timer::ticks() - started),
                },
            })
        })();
        // The fixed part stays evaluated whatever became of the request.
        k.cache = Some(session.into_cache());
        outcome
    })
}

/// The last phase: the result to the model, and its answer, streamed. A
/// short conversation of its own (`llm::agent::answer_prompt`); the
/// agent's kept prefix is not touched.
fn answer(request: &str, facts: &str, steps: &mut Steps<'_>) -> Result<String, String> {
    with_agent(|loaded, _| {
        let model = loaded.model();
        let t = &model.tokenizer;
        let prompt = agent::answer_prompt(t, request, facts);
        let mut session =
            Session::new(model, prompt.len() + MAX_ANSWER_TOKENS).map_err(|e| e.to_string())?;
        let end_ids = llm::chat::end_ids(t);
        let sampler = Sampler::new(Options::default()).map_err(|e| e.to_string())?;
        let ends = Ends {
            max_tokens: MAX_ANSWER_TOKENS,
            end_ids: end_ids.clone(),
            // No stop at a line's end: a list answers over several.
            stop: Vec::new(),
        };
        let mut generation = Generation::new(&mut session, sampler, &prompt, ends, None);
        while generation
            .feed_prompt(PROMPT_PIECE)
            .map_err(|e| e.to_string())?
        {
            if steps.ctx.cancelled() {
                return Err(cancelled());
            }
        }
        while generation.finished().is_none() {
            if steps.ctx.cancelled() {
                return Err(cancelled());
            }
            match generation.step().map_err(|e| e.to_string())? {
                Some(id) if !end_ids.contains(&id) => steps.say(&t.decode(&[id])),
                _ => {}
            }
        }
        Ok(String::from(generation.text().trim()))
    })
}
