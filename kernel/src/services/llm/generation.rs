//! `llm_generate` (a raw prompt) and `llm_chat` (messages through the
//! model's ChatML template). Both parse the same sampling options, run the
//! same loop (`llm::generate::Generation`, one token per step with a
//! cancellation check and a progress notification between steps) and
//! answer with the same result shape; they differ only in how the prompt's
//! ids and the end ids are made.

use super::{
    note_heap, str_arg, ticks_to_ns, Loaded, LOADED, MAX_CONTEXT, MAX_TOP_LOGITS, N_THREADS,
};
use crate::rng;
use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use llm::chat::Message;
use llm::generate::{Ends, Generation};
use llm::model::Session;
use llm::sample::{Options, Sampler};
use llm::tokenizer::TokenId;
use mcp::{Context, Object, Tool, ToolResult};
use rpi4::generic_timer;
use serde_json::{json, Map, Value};

/// Most stop strings per call, and the longest (in characters).
const MAX_STOPS: usize = 4;
const MAX_STOP_LEN: usize = 64;
/// Prompt tokens evaluated between two polls for cancellation: one ggml
/// graph (`llm::model::MAX_BATCH`). The heartbeat does not depend on it:
/// ggml's per-node hook beats during a graph (`llm::ffi::set_node_hook`).
const PROMPT_PIECE: usize = llm::model::MAX_BATCH;
/// Ids the repetition penalty looks back over (llama.cpp's default).
const REPEAT_LAST_N: usize = 64;
/// Default seeds are kept below 2^53 so that every JSON client (a
/// JavaScript number included) can send the reported seed back exactly.
const SEED_MASK: u64 = (1 << 53) - 1;

/// A prompt's ids, and the ids that end the generation.
type PromptIds = (Vec<TokenId>, Vec<TokenId>);

/// A call's options, checked.
struct Request {
    max_tokens: usize,
    options: Options,
    stop: Vec<String>,
    top_logits: Option<usize>,
    n_threads: usize,
}

/// The input schema's properties for the options both tools take.
fn option_properties() -> Map<String, Value> {
    let v = json!({
        "max_tokens": {"type": "integer", "minimum": 1, "maximum": MAX_CONTEXT},
        "temperature": {"type": "number", "minimum": 0,
            "description": "0 (default) is greedy: the most likely token, the lowest id among equals"},
        "top_k": {"type": "integer", "minimum": 0,
            "description": "sample from the k most likely tokens only; 0 (default) is all"},
        "top_p": {"type": "number", "exclusiveMinimum": 0, "maximum": 1,
            "description": "sample from the most likely tokens up to this total probability; 1 (default) is all"},
        "repeat_penalty": {"type": "number", "exclusiveMinimum": 0,
            "description": "divides the positive logits (multiplies the negative) of the tokens among the last 64, prompt included; 1 (default) is off"},
        "seed": {"type": "integer", "minimum": 0,
            "description": "PRNG seed (u64) for the draws; default from the hardware RNG, else the timer. The result reports the seed used"},
        "stop": {"type": "array", "maxItems": MAX_STOPS,
            "items": {"type": "string", "minLength": 1, "maxLength": MAX_STOP_LEN},
            "description": "stop when the text ends with one of these; it is removed from text"},
        "top_logits": {"type": "integer", "minimum": 1, "maximum": MAX_TOP_LOGITS,
            "description": "also return the k best (id, logit) at each step, before sampling"},
        "n_threads": {"type": "integer", "minimum": 1, "maximum": 4,
            "description": "ggml threads (cores); default 1, experimental above"}
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn output_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "text": {"type": "string", "description": "the generated text, without the end token or the stop string"},
            "ids": {"type": "array", "items": {"type": "integer"}, "description": "the generated ids, end token included"},
            "prompt_tokens": {"type": "integer"},
            "generated_tokens": {"type": "integer"},
            "stop_reason": {"enum": ["max_tokens", "eos", "stop", "context"]},
            "seed": {"type": "integer", "description": "the PRNG seed used; pass it back to repeat the run"},
            "top_logits": {"type": "array", "items": {"type": "array"}},
            "timing": {"type": "object", "description": "prompt evaluation and generation (after the prompt) in ns of the generic timer; under QEMU -icount shift=0 these are guest instructions",
                "properties": {"prompt_ns": {"type": "integer"}, "generation_ns": {"type": "integer"},
                    "step_ns": {"type": "array", "items": {"type": "integer"}, "description": "each generation step, in order"}}}
        },
        "required": ["text", "ids", "prompt_tokens", "generated_tokens", "stop_reason", "seed"]
    })
}

/// The descriptions' common part (a macro: `concat!` takes only literals).
macro_rules! sampling_doc {
    () => {
        "Greedy by default (temperature 0); with a temperature it samples after the repetition penalty, \
         top_k and top_p (llama.cpp's order), from a PRNG seeded by seed (reported in the result). With a \
         progressToken each token is sent as a progress notification; notifications/cancelled stops it \
         within one token."
    };
}

pub(super) fn llm_generate() -> Tool {
    let mut properties = option_properties();
    properties.insert("prompt".into(), json!({"type": "string", "minLength": 1}));
    Tool {
        name: "llm_generate",
        title: "Continue a text",
        description: concat!(
            "Continues a raw prompt (no chat template) with the loaded model until max_tokens, end of text \
             or a stop string. ",
            sampling_doc!()
        ),
        input_schema: json!({
            "type": "object",
            "properties": properties,
            "required": ["prompt", "max_tokens"],
            "additionalProperties": false
        }),
        output_schema: Some(output_schema()),
        handler: Box::new(|args: &Map<String, Value>, ctx: &mut dyn Context| {
            let prompt = str_arg(args, "prompt");
            respond(request(args).and_then(|r| {
                run(&r, ctx, |l| {
                    let t = &l.model().tokenizer;
                    Ok((t.encode(prompt, false), t.eos.into_iter().collect()))
                })
            }))
        }),
    }
}

pub(super) fn llm_chat() -> Tool {
    let mut properties = option_properties();
    properties.insert(
        "messages".into(),
        json!({"type": "array", "minItems": 1, "items": {
            "type": "object",
            "properties": {"role": {"enum": ["system", "user", "assistant"]}, "content": {"type": "string"}},
            "required": ["role", "content"],
            "additionalProperties": false
        }, "description": "the conversation so far; the model writes the assistant's next turn"}),
    );
    Tool {
        name: "llm_chat",
        title: "Chat with the model",
        description: concat!(
            "Answers a conversation with the loaded model: the messages go through the model's ChatML \
             template (with its default system message unless the first is a system message), and the \
             reply ends at <|im_end|> (not in text), max_tokens or a stop string. ",
            sampling_doc!()
        ),
        input_schema: json!({
            "type": "object",
            "properties": properties,
            "required": ["messages", "max_tokens"],
            "additionalProperties": false
        }),
        output_schema: Some(output_schema()),
        handler: Box::new(|args: &Map<String, Value>, ctx: &mut dyn Context| {
            respond(messages(args).and_then(|messages| {
                let r = request(args)?;
                run(&r, ctx, |l| chat_prompt(l, &messages))
            }))
        }),
    }
}

fn respond(result: Result<Option<Object>, String>) -> ToolResult {
    match result {
        Ok(Some(v)) => ToolResult::Structured(v),
        // Cancelled: the server sends no response.
        Ok(None) => ToolResult::Error("cancelled".into()),
        Err(e) => ToolResult::Error(e),
    }
}

/// The messages, checked (the schema says the same; this gives the reason
/// for callers that skip it).
fn messages(args: &Map<String, Value>) -> Result<Vec<Message<'_>>, String> {
    let list = args
        .get("messages")
        .and_then(Value::as_array)
        .ok_or("messages must be an array of {role, content}")?;
    if list.is_empty() {
        return Err("messages is empty: give at least one {role, content}".into());
    }
    list.iter()
        .enumerate()
        .map(|(i, m)| {
            let role = m.get("role").and_then(Value::as_str).unwrap_or_default();
            if !matches!(role, "system" | "user" | "assistant") {
                return Err(format!(
                    "messages[{i}].role must be system, user or assistant, not {role:?}"
                ));
            }
            let content = m
                .get("content")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("messages[{i}].content must be a string"))?;
            Ok(Message { role, content })
        })
        .collect()
}

/// The rendered conversation's ids (special tokens parsed, as llama.cpp
/// does with a chat template) and the ids that end the reply.
fn chat_prompt(l: &Loaded, messages: &[Message<'_>]) -> Result<PromptIds, String> {
    let template = l
        .chat
        .as_ref()
        .ok_or("the model's chat template is not ChatML; use llm_generate")?;
    let t = &l.model().tokenizer;
    let ids = t.encode(&template.render(messages, true), true);
    Ok((ids, llm::chat::end_ids(t)))
}

fn request(args: &Map<String, Value>) -> Result<Request, String> {
    let number = |key: &str, default: f32| {
        args.get(key)
            .and_then(Value::as_f64)
            .map_or(default, |v| v as f32)
    };
    let options = Options {
        temperature: number("temperature", 0.0),
        top_k: args
            .get("top_k")
            .and_then(Value::as_u64)
            .map_or(0, |k| usize::try_from(k).unwrap_or(usize::MAX)),
        top_p: number("top_p", 1.0),
        repeat_penalty: number("repeat_penalty", 1.0),
        repeat_last_n: REPEAT_LAST_N,
        seed: args
            .get("seed")
            .and_then(Value::as_u64)
            .unwrap_or_else(default_seed),
    };
    options.validate().map_err(|e| e.to_string())?;
    let stop: Vec<String> = match args.get("stop") {
        None => Vec::new(),
        Some(Value::Array(list)) => list
            .iter()
            .map(|s| match s.as_str() {
                Some(s) if (1..=MAX_STOP_LEN).contains(&s.chars().count()) => Ok(s.to_string()),
                _ => Err(format!(
                    "each stop string must be text of 1 to {MAX_STOP_LEN} characters"
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("stop must be an array of strings".into()),
    };
    if stop.len() > MAX_STOPS {
        return Err(format!("at most {MAX_STOPS} stop strings"));
    }
    Ok(Request {
        max_tokens: args.get("max_tokens").and_then(Value::as_u64).unwrap_or(1) as usize,
        options,
        stop,
        top_logits: args
            .get("top_logits")
            .and_then(Value::as_u64)
            .map(|k| k.min(MAX_TOP_LOGITS) as usize),
        n_threads: args
            .get("n_threads")
            .and_then(Value::as_u64)
            .map_or(N_THREADS, |n| n.clamp(1, 4) as usize),
    })
}

/// From the hardware RNG where there is one (a Pi 4), else the counter.
fn default_seed() -> u64 {
    let mut bytes = [0u8; 8];
    let seed = match rng::fill(&mut bytes) {
        Ok(()) => u64::from_le_bytes(bytes),
        Err(_) => generic_timer::ticks(),
    };
    seed & SEED_MASK
}

/// The generation loop both tools share. `prompt` gives the prompt's ids
/// and the end ids for the loaded model. `Ok(None)`: cancelled.
fn run(
    r: &Request,
    ctx: &mut dyn Context,
    prompt: impl FnOnce(&Loaded) -> Result<PromptIds, String>,
) -> Result<Option<Object>, String> {
    let guard = LOADED.lock();
    let l = guard.as_ref().ok_or("no model loaded (llm_load)")?;
    let t = &l.model().tokenizer;
    let (prompt_ids, end_ids) = prompt(l)?;
    let context = l.model().hparams.n_ctx_train.min(MAX_CONTEXT);
    if prompt_ids.is_empty() {
        return Err("the prompt has no tokens".into());
    }
    if prompt_ids.len() > context {
        return Err(format!(
            "the prompt has {} tokens; the context holds {context}",
            prompt_ids.len()
        ));
    }
    let n_ctx = (prompt_ids.len() + r.max_tokens).min(context);
    let mut session = Session::new(l.model(), n_ctx).map_err(|e| e.to_string())?;
    session.n_threads = r.n_threads;
    let sampler = Sampler::new(r.options).map_err(|e| e.to_string())?;
    let ends = Ends {
        max_tokens: r.max_tokens,
        end_ids: end_ids.clone(),
        stop: r.stop.clone(),
    };
    let started = generic_timer::ticks();
    let mut generation = Generation::new(&mut session, sampler, &prompt_ids, ends, r.top_logits);
    // The prompt in pieces of one graph, polling for cancellation between
    // them.
    while generation
        .feed_prompt(PROMPT_PIECE)
        .map_err(|e| e.to_string())?
    {
        note_heap();
        if ctx.cancelled() {
            return Ok(None);
        }
    }
    let prompt_done = generic_timer::ticks();
    // When each step ended (the cost of each token, for `timing`).
    let mut step_ends = Vec::with_capacity(r.max_tokens);
    let stop_reason = loop {
        note_heap();
        if let Some(reason) = generation.finished() {
            break reason;
        }
        if ctx.cancelled() {
            return Ok(None);
        }
        let stepped = generation.step().map_err(|e| e.to_string())?;
        step_ends.push(generic_timer::ticks());
        let Some(id) = stepped else {
            continue;
        };
        // The end token adds no text.
        let piece = (!end_ids.contains(&id)).then(|| t.decode(&[id]));
        let n = generation.ids().len();
        ctx.progress(n as f64, Some(r.max_tokens as f64), piece.as_deref());
    };
    let ids = generation.ids();
    let step_ns: Vec<u64> = core::iter::once(prompt_done)
        .chain(step_ends.iter().copied())
        .zip(step_ends.iter())
        .map(|(from, &to)| ticks_to_ns(to - from))
        .collect();
    let mut out = mcp::object! {
        "text": generation.text(),
        "ids": ids,
        "prompt_tokens": prompt_ids.len(),
        "generated_tokens": ids.len(),
        "stop_reason": stop_reason.as_str(),
        "seed": r.options.seed,
        "timing": json!({
            "prompt_ns": ticks_to_ns(prompt_done - started),
            "generation_ns": ticks_to_ns(generic_timer::ticks() - prompt_done),
            "step_ns": step_ns,
        }),
    };
    if r.top_logits.is_some() {
        let tops: Vec<Vec<Value>> = generation
            .top_logits()
            .iter()
            .map(|step| step.iter().map(|(id, l)| json!([id, l])).collect())
            .collect();
        out.insert("top_logits", json!(tops));
    }
    Ok(Some(out))
}
