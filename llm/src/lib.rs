//! Kingly OS's LLM engine.
//!
//! - [`gguf`] parses a model file (untrusted input: bounds-checked, never
//!   panics), [`types`] knows ggml's tensor types,
//! - [`tokenizer`] is GPT-2 byte-level BPE with the file's vocabulary and
//!   merges, after the file's [`pretokenize`]r,
//! - [`chat`] renders ChatML conversations,
//! - [`constrain`] is grammar-constrained greedy decoding (a choice of
//!   names, JSON under a flat object schema), and [`agent`] the on-device
//!   agent's prompt and steps over it,
//! - [`model`] is the llama graph over ggml with a KV cache and greedy
//!   generation,
//! - [`sample`] chooses tokens (temperature, top-k, top-p, repetition
//!   penalty, seeded), and [`generate`] is the token-by-token loop with
//!   its ends (EOS, stop strings, `max_tokens`, a full context),
//! - [`vecmath`] is softmax, SiLU and the f16 attention products, rounded
//!   as llama.cpp rounds them (run as ggml custom ops),
//! - [`arena`] holds the model file's bytes, aligned, used in place,
//! - [`ffi`] is ggml (built by build.rs from `ggml-sys-bleedingedge`'s
//!   sources) and the only module with `unsafe`.
//!
//! no_std + alloc, so the kernel can link it; the host tests use std. The
//! tests need the reference model: `scripts/fetch-model` (or
//! `KINGLY_MODEL=path`).
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]

extern crate alloc;

pub mod agent;
pub mod arena;
pub mod chat;
pub mod constrain;
#[allow(unsafe_code)]
pub mod ffi;
pub mod generate;
pub mod gguf;
pub mod model;
#[cfg(target_arch = "aarch64")]
mod neon;
pub mod pretokenize;
pub mod sample;
pub mod tokenizer;
pub mod types;
pub mod vecmath;
