//! The LLM engine (the `llm` crate: ggml under the kernel's C shim,
//! `crate::llm_shim`) as MCP tools: `llm_load`, `llm_info`, `llm_tokenize`,
//! `llm_generate` and `llm_chat` (in [`generation`]), `llm_unload`, and with
//! `test_tools=1` `llm_selftest` (one ggml matrix product checked against
//! Rust, on 1–4 threads).
//!
//! The model file is read from the SD card into one 64-byte-aligned
//! allocation (`llm::arena`) and used in place: ggml's weight tensors point
//! into it. One model is loaded at a time: [`Weights`] owns the arena and
//! the model that borrows it, and frees both together when the model is
//! unloaded or replaced.

use crate::{heap, klog, storage};
use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::mem::ManuallyDrop;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicUsize, Ordering};
use llm::arena::{Arena, ALIGN};
use llm::chat::ChatTemplate;
use llm::gguf::Gguf;
use llm::model::Model;
use mcp::{Context, Tool, ToolResult};
use rpi4::generic_timer;
use serde_json::{json, Map, Value};
use spin::Mutex;

mod generation;

/// Heap a generation needs beside the weights (KV cache for
/// [`MAX_CONTEXT`] tokens, ggml's graph and work buffers): a model is
/// refused unless this much would stay free.
const HEADROOM: usize = 96 << 20;
/// The longest context a session gets (the model's trained context may be
/// longer; its KV cache would not fit comfortably).
const MAX_CONTEXT: usize = 2048;
/// Largest `top_logits`.
const MAX_TOP_LOGITS: u64 = 20;
/// ggml threads per graph unless the call asks for more (the extra ones
/// run on cores 1–3 through the shim's pthread_create).
const N_THREADS: usize = 1;

/// A model and the arena its weights live in, freed together.
struct Weights {
    /// Borrows `*arena`. The `'static` is this type's promise, kept by
    /// handing out only borrows no longer than its own
    /// ([`Loaded::model`]) and by dropping the model before the arena.
    model: ManuallyDrop<Model<'static>>,
    /// From `Box::into_raw`; owned here, freed in `drop`.
    arena: NonNull<Arena>,
}

// SAFETY: `Weights` owns the arena outright (no other pointer to it
// exists), so moving it to another core moves that ownership; the model's
// borrows go with it.
unsafe impl Send for Weights {}

impl Drop for Weights {
    fn drop(&mut self) {
        // SAFETY: the model is dropped exactly once, here, and before the
        // arena it borrows; nothing else borrows the arena (borrows of the
        // model end with `Loaded::model`'s), so the box is reclaimed once.
        unsafe {
            ManuallyDrop::drop(&mut self.model);
            drop(Box::from_raw(self.arena.as_ptr()));
        }
    }
}

pub(super) struct Loaded {
    path: String,
    name: String,
    architecture: String,
    quantization: &'static str,
    weights: Weights,
    /// The file's chat template, when it is ChatML (`llm_chat` needs it).
    chat: Option<ChatTemplate>,
    arena_bytes: usize,
    /// Generic-timer ticks from the start of the read to a usable model.
    load_ticks: u64,
    /// `agent_ask`'s prompt prefix and its evaluated KV cache, kept with
    /// the model they were made for.
    pub(super) agent: Mutex<Option<super::agent::Kept>>,
}

impl Loaded {
    /// The model, for no longer than this borrow: nothing taken from it may
    /// outlive the weights.
    pub(super) fn model(&self) -> &Model<'_> {
        &self.weights.model
    }
}

pub(super) static LOADED: Mutex<Option<Loaded>> = Mutex::new(None);
/// Highest heap use seen by these tools (after a load, during generation).
static HIGH_WATER: AtomicUsize = AtomicUsize::new(0);

fn note_heap() {
    HIGH_WATER.fetch_max(heap::usage().0, Ordering::Relaxed);
}

pub fn all(test_tools: bool) -> Vec<Tool> {
    let mut tools = vec![
        llm_load(),
        llm_info(),
        llm_tokenize(),
        generation::llm_generate(),
        generation::llm_chat(),
        llm_unload(),
    ];
    if test_tools {
        tools.push(llm_selftest());
    }
    tools
}

fn str_arg<'a>(args: &'a Map<String, Value>, key: &str) -> &'a str {
    args.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn llm_load() -> Tool {
    Tool {
        name: "llm_load",
        title: "Load a language model",
        description: "Reads a GGUF model (llama architecture, e.g. SmolLM2) from the SD card into memory and \
                      prepares it for llm_generate and llm_chat. Refused before reading if it would not fit. \
                      One model is loaded at a time: loading the same path again is a no-op, another path \
                      replaces the model (which stays loaded if the new one fails, unless its memory was \
                      needed). Sends progress while reading when the request has a progressToken.",
        input_schema: json!({
            "type": "object",
            "properties": {"path": {"type": "string", "minLength": 1,
                "description": "absolute 8.3 path on the card, e.g. /MODELS/SMOLLM~1.GGU (fs_list shows short names)"}},
            "required": ["path"],
            "additionalProperties": false
        }),
        output_schema: Some(info_schema()),
        handler: Box::new(|args: &Map<String, Value>, ctx: &mut dyn Context| {
            let path = str_arg(args, "path");
            match load(path, ctx) {
                Ok(()) => info(),
                Err(e) => ToolResult::Error(e),
            }
        }),
    }
}

fn load(path: &str, ctx: &mut dyn Context) -> Result<(), String> {
    // The same path again is a no-op; another path replaces the model, which
    // stays loaded (and in use if this load fails) unless its memory is
    // needed for the new one.
    let current = LOADED
        .lock()
        .as_ref()
        .map(|l| (l.path.clone(), l.arena_bytes));
    if let Some((loaded, _)) = &current {
        if loaded.eq_ignore_ascii_case(path) {
            return Ok(());
        }
    }
    let reclaimable = current.map_or(0, |(_, bytes)| bytes + ALIGN);
    let started = generic_timer::ticks();
    let mut arena: Option<Box<Arena>> = None;
    let slot = &mut arena;
    let total = &core::cell::Cell::new(0usize);
    storage::read_whole(
        path,
        move |size| {
            let size = size as usize;
            let need = size + ALIGN + HEADROOM;
            let free = heap::usage().1;
            if need > free + reclaimable {
                return Err(storage::FsError(format!(
                    "{path}: {size} bytes do not fit ({} bytes of heap free with no model loaded, {HEADROOM} kept for generation)",
                    free + reclaimable
                )));
            }
            if need > free {
                klog!(Info, "llm: unloading the current model to make room for {path}");
                unload();
            }
            total.set(size);
            Ok(slot.insert(Box::new(Arena::new(size))).bytes_mut())
        },
        |got| {
            ctx.progress(got as f64, Some(total.get() as f64), None);
            // Polling for cancellation is also the MCP loop's heartbeat
            // (watchdog): reading ~100 MB takes longer than its timeout.
            // A cancelled load still finishes (the card is mid-read); its
            // result is discarded.
            ctx.cancelled();
        },
    )
    .map_err(|e| e.0)?;
    let arena = arena.ok_or("no model was read")?;
    let arena_bytes = arena.len();
    let (weights, meta) = Weights::parse(arena).map_err(|e| format!("{path}: {e}"))?;
    let replaced = LOADED.lock().replace(Loaded {
        path: path.into(),
        name: meta.name,
        architecture: meta.architecture,
        quantization: meta.quantization,
        weights,
        chat: meta.chat,
        arena_bytes,
        load_ticks: generic_timer::ticks() - started,
        agent: Mutex::new(None),
    });
    if let Some(old) = replaced {
        klog!(Info, "llm: {} replaced {}", path, old.path);
    }
    note_heap();
    Ok(())
}

/// What `llm_info` reports besides the model itself.
struct Meta {
    name: String,
    architecture: String,
    quantization: &'static str,
    chat: Option<ChatTemplate>,
}

impl Weights {
    /// The model in `arena` (a GGUF file's bytes), with its metadata. On an
    /// error the arena is freed.
    fn parse(arena: Box<Arena>) -> Result<(Weights, Meta), String> {
        let arena = NonNull::from(Box::leak(arena));
        // SAFETY: the arena stays allocated and unwritten until
        // `Weights::drop` or the error path below frees it.
        let bytes: &'static [u8] = unsafe { arena.as_ref() }.bytes();
        let parsed = Gguf::parse(bytes).map_err(|e| e.to_string()).and_then(|g| {
            let meta = |key: &str| {
                g.get(key)
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_string()
            };
            let meta = Meta {
                name: meta("general.name"),
                architecture: meta("general.architecture"),
                quantization: dominant_type(&g),
                chat: ChatTemplate::from_gguf(&g),
            };
            let model = Model::load(bytes).map_err(|e| e.to_string())?;
            Ok((model, meta))
        });
        match parsed {
            Ok((model, meta)) => Ok((
                Weights {
                    model: ManuallyDrop::new(model),
                    arena,
                },
                meta,
            )),
            Err(e) => {
                // SAFETY: the parse failed, so no borrow of the arena
                // survives (the error owns its text); the box is reclaimed
                // once.
                drop(unsafe { Box::from_raw(arena.as_ptr()) });
                Err(e)
            }
        }
    }
}

/// Drops the loaded model and its arena; the path it had, if any.
fn unload() -> Option<String> {
    let unloaded = LOADED.lock().take();
    unloaded.map(|l| l.path)
}

fn llm_unload() -> Tool {
    Tool {
        name: "llm_unload",
        title: "Unload the language model",
        description: "Frees the loaded model and the memory its weights take. Unloading when no model is loaded \
                      is not an error (unloaded is null).",
        input_schema: json!({"type": "object", "properties": {}, "additionalProperties": false}),
        output_schema: Some(json!({
            "type": "object",
            "properties": {
                "unloaded": {"type": ["string", "null"], "description": "the path of the model that was loaded"},
                "free": {"type": "integer", "description": "kernel heap bytes free afterwards"}
            },
            "required": ["unloaded", "free"]
        })),
        handler: Box::new(|_: &Map<String, Value>, _: &mut dyn Context| {
            let unloaded = unload();
            ToolResult::Structured(mcp::object! {"unloaded": unloaded, "free": heap::usage().1})
        }),
    }
}

/// The tensor type holding most of the weights' bytes ("q4_1", …).
fn dominant_type(g: &Gguf<'_>) -> &'static str {
    let mut by_type: Vec<(&'static str, u64)> = Vec::new();
    for t in &g.tensors {
        let name = t.ty.name();
        match by_type.iter_mut().find(|(n, _)| *n == name) {
            Some(entry) => entry.1 += t.n_bytes,
            None => by_type.push((name, t.n_bytes)),
        }
    }
    by_type
        .iter()
        .max_by_key(|(_, b)| *b)
        .map_or("unknown", |(n, _)| n)
}

fn info_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "model": {"type": "string"}, "path": {"type": "string"},
            "architecture": {"type": "string"}, "n_params": {"type": "integer"},
            "quantization": {"type": "string"}, "context_length": {"type": "integer"},
            "n_vocab": {"type": "integer"},
            "arena": {"type": "object", "properties": {
                "used": {"type": "integer", "description": "bytes of the weight arena (the model file)"},
                "free": {"type": "integer", "description": "kernel heap bytes free"},
                "high_water": {"type": "integer", "description": "most kernel heap bytes in use seen by the llm tools"}
            }},
            "load": {"type": "object", "description": "the load: bytes read from the card, and ns of the generic timer from the first read to a usable model (under QEMU -icount shift=0: guest instructions)",
                "properties": {"bytes": {"type": "integer"}, "ns": {"type": "integer"}}}
        },
        "required": ["model", "architecture", "n_params", "quantization", "context_length", "arena"]
    })
}

fn info() -> ToolResult {
    let guard = LOADED.lock();
    let Some(l) = guard.as_ref() else {
        return ToolResult::Error("no model loaded (llm_load)".into());
    };
    ToolResult::Structured(mcp::object! {
        "model": l.name,
        "path": l.path,
        "architecture": l.architecture,
        "n_params": l.model().n_params,
        "quantization": l.quantization,
        "context_length": l.model().hparams.n_ctx_train.min(MAX_CONTEXT),
        "n_vocab": l.model().hparams.n_vocab,
        "arena": json!({"used": l.arena_bytes, "free": heap::usage().1, "high_water": HIGH_WATER.load(Ordering::Relaxed)}),
        "load": json!({"bytes": l.arena_bytes, "ns": ticks_to_ns(l.load_ticks)}),
    })
}

pub(crate) fn ticks_to_ns(ticks: u64) -> u64 {
    (u128::from(ticks) * 1_000_000_000 / u128::from(generic_timer::frequency_hz().max(1))) as u64
}

fn llm_info() -> Tool {
    Tool {
        name: "llm_info",
        title: "Describe the loaded model",
        description: "Name, architecture, parameter count, quantization and context length of the loaded model, \
                      and the memory it uses.",
        input_schema: json!({"type": "object", "properties": {}, "additionalProperties": false}),
        output_schema: Some(info_schema()),
        handler: Box::new(|_: &Map<String, Value>, _: &mut dyn Context| info()),
    }
}

fn llm_tokenize() -> Tool {
    Tool {
        name: "llm_tokenize",
        title: "Tokenize text",
        description: "The loaded model's token ids for a text, and each token's text.",
        input_schema: json!({
            "type": "object",
            "properties": {"text": {"type": "string"},
                "special": {"type": "boolean", "description": "parse special tokens such as <|im_start|> (default false)"}},
            "required": ["text"],
            "additionalProperties": false
        }),
        output_schema: Some(json!({
            "type": "object",
            "properties": {"ids": {"type": "array", "items": {"type": "integer"}},
                           "pieces": {"type": "array", "items": {"type": "string"}}},
            "required": ["ids", "pieces"]
        })),
        handler: Box::new(|args: &Map<String, Value>, _: &mut dyn Context| {
            let guard = LOADED.lock();
            let Some(l) = guard.as_ref() else {
                return ToolResult::Error("no model loaded (llm_load)".into());
            };
            let special = args
                .get("special")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let t = &l.model().tokenizer;
            let ids = t.encode(str_arg(args, "text"), special);
            let pieces: Vec<String> = ids.iter().map(|&id| t.decode(&[id])).collect();
            ToolResult::Structured(mcp::object! {"ids": ids, "pieces": pieces})
        }),
    }
}

fn llm_selftest() -> Tool {
    Tool {
        name: "llm_selftest",
        title: "ggml smoke test",
        description: "Multiplies two small f32 matrices with ggml on n_threads threads (the extra ones on cores \
                      1-3 through the C shim's pthread_create) and compares with Rust. Test-only.",
        input_schema: json!({
            "type": "object",
            "properties": {"n_threads": {"type": "integer", "minimum": 1, "maximum": 4}},
            "additionalProperties": false
        }),
        output_schema: None,
        handler: Box::new(|args: &Map<String, Value>, _: &mut dyn Context| {
            let n_threads = args.get("n_threads").and_then(Value::as_u64).unwrap_or(1).clamp(1, 4) as usize;
            selftest(n_threads)
        }),
    }
}

fn selftest(n_threads: usize) -> ToolResult {
    const K: usize = 64;
    const M: usize = 48;
    const N: usize = 8;
    let a: Vec<f32> = (0..K * M)
        .map(|i| ((i * 7 % 13) as f32 - 6.0) / 8.0)
        .collect();
    let b: Vec<f32> = (0..K * N)
        .map(|i| ((i * 5 % 11) as f32 - 5.0) / 4.0)
        .collect();
    let Some(ctx) = llm::ffi::Context::new(4 << 20, false) else {
        return ToolResult::Error("ggml_init failed".into());
    };
    let ta = ctx.input_f32(&[K as i64, M as i64], &a);
    let tb = ctx.input_f32(&[K as i64, N as i64], &b);
    let c = ctx.mul_mat(ta, tb);
    ctx.compute(&[c], 16, n_threads);
    let got = c.to_f32_vec();
    let mut max_diff = 0f32;
    for n in 0..N {
        for m in 0..M {
            let want: f32 = (0..K).map(|k| a[m * K + k] * b[n * K + k]).sum();
            max_diff = max_diff.max((got[n * M + m] - want).abs());
        }
    }
    ToolResult::Structured(
        mcp::object! {"n_threads": n_threads, "elements": got.len(), "max_abs_diff": max_diff},
    )
}

/// The loaded model's name and the number of tokens `text` encodes to with
/// its tokenizer, or `None` without a model — or while another caller holds
/// the model (`try_lock`: a tool running under a generation must not wait on
/// it). `services::context` counts its token budget with this.
pub fn count_tokens(text: &str) -> Option<(String, usize)> {
    let guard = LOADED.try_lock()?;
    let loaded = guard.as_ref()?;
    Some((
        loaded.name.clone(),
        loaded.model().tokenizer.encode(text, false).len(),
    ))
}
