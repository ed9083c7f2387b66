//! A llama-architecture model over ggml: hyper-parameters and weights from a
//! GGUF file whose bytes stay where they are (the weight arena), and a
//! [`Session`] with a KV cache that evaluates tokens and generates greedily.
//!
//! The graph is llama.cpp's for `llama` (b2757, `build_llama`), per layer:
//! RMSNorm → Q/K/V projections → RoPE (normal mode, base from the file) →
//! K and V appended to the cache (V transposed) → attention over the cache
//! with grouped K/V heads, scaled softmax with a causal mask → output
//! projection → residual; RMSNorm → SwiGLU FFN → residual. Then a final
//! RMSNorm and the output matrix (the token embedding when the file has no
//! `output.weight`, i.e. tied). ggml computes the matrix products with the
//! weights and the norms; softmax, SiLU and the two attention products over
//! the f16 cache are [`crate::vecmath`]'s, so that they round as llama.cpp
//! does today.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use crate::ffi::{self, Context, Tensor, TensorSet};
use crate::gguf::{self, Gguf, Value};
use crate::tokenizer::{self, TokenId, Tokenizer};
use crate::types::GgmlType;

#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    Gguf(gguf::Error),
    Tokenizer(tokenizer::Error),
    /// The file is not a llama model.
    Architecture(String),
    /// A hyper-parameter is missing or out of range.
    HParam(&'static str),
    MissingTensor(String),
    /// A tensor with the wrong shape or type for its role.
    BadTensor(String),
    /// ggml could not get memory for a context.
    OutOfMemory,
    /// The tokens do not fit in what is left of the context.
    ContextFull {
        n_ctx: usize,
        needed: usize,
    },
    /// A token id past the vocabulary.
    BadToken(TokenId),
    /// A kept KV cache made for a model of another shape.
    ForeignCache,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Gguf(e) => write!(f, "GGUF: {e}"),
            Error::Tokenizer(e) => write!(f, "tokenizer: {e}"),
            Error::Architecture(a) => write!(f, "architecture {a:?} is not supported (llama is)"),
            Error::HParam(k) => write!(f, "hyper-parameter {k} is missing or out of range"),
            Error::MissingTensor(t) => write!(f, "tensor {t} is missing"),
            Error::BadTensor(t) => write!(f, "tensor {t} has the wrong shape or type"),
            Error::OutOfMemory => f.write_str("out of memory for a ggml context"),
            Error::ContextFull { n_ctx, needed } => {
                write!(f, "{needed} tokens do not fit in a context of {n_ctx}")
            }
            Error::BadToken(id) => write!(f, "token {id} is not in the vocabulary"),
            Error::ForeignCache => f.write_str("the KV cache was made for another model"),
        }
    }
}

impl From<gguf::Error> for Error {
    fn from(e: gguf::Error) -> Self {
        Error::Gguf(e)
    }
}

impl From<tokenizer::Error> for Error {
    fn from(e: tokenizer::Error) -> Self {
        Error::Tokenizer(e)
    }
}

/// The numbers that shape the graph, from `llama.*` keys.
#[derive(Debug, Clone, PartialEq)]
pub struct HParams {
    pub n_vocab: usize,
    pub n_embd: usize,
    pub n_layer: usize,
    pub n_ff: usize,
    pub n_head: usize,
    pub n_head_kv: usize,
    pub n_ctx_train: usize,
    pub n_rot: usize,
    pub rope_freq_base: f32,
    pub rms_eps: f32,
}

/// Bounds that keep every derived size far from overflow on 32 or 64 bits.
const MAX_DIM: u64 = 1 << 20;
const MAX_LAYERS: u64 = 1024;

impl HParams {
    pub fn from_gguf(g: &Gguf<'_>) -> Result<Self, Error> {
        let arch = g
            .get("general.architecture")
            .and_then(Value::as_str)
            .unwrap_or("");
        if arch != "llama" {
            return Err(Error::Architecture(arch.into()));
        }
        let int = |key: &'static str, max: u64| -> Result<usize, Error> {
            match g.get(key).and_then(Value::as_u64) {
                Some(v) if v > 0 && v <= max => Ok(v as usize),
                _ => Err(Error::HParam(key)),
            }
        };
        let n_embd = int("llama.embedding_length", MAX_DIM)?;
        let n_head = int("llama.attention.head_count", MAX_DIM)?;
        let n_head_kv = match g.get("llama.attention.head_count_kv") {
            None => n_head,
            Some(_) => int("llama.attention.head_count_kv", MAX_DIM)?,
        };
        if n_embd % n_head != 0 || n_head % n_head_kv != 0 {
            return Err(Error::HParam("llama.attention.head_count"));
        }
        let head_dim = n_embd / n_head;
        let n_rot = match g.get("llama.rope.dimension_count") {
            None => head_dim,
            Some(_) => int("llama.rope.dimension_count", MAX_DIM)?,
        };
        if n_rot != head_dim {
            // llama.cpp requires the same for llama (partial RoPE is other
            // architectures').
            return Err(Error::HParam("llama.rope.dimension_count"));
        }
        let float = |key: &'static str, default: f32| -> Result<f32, Error> {
            match g.get(key) {
                None => Ok(default),
                Some(v) => v
                    .as_f32()
                    .filter(|f| f.is_finite() && *f > 0.0)
                    .ok_or(Error::HParam(key)),
            }
        };
        let n_vocab_tokens = g
            .get("tokenizer.ggml.tokens")
            .and_then(Value::as_array)
            .map(<[_]>::len);
        let n_vocab = match g.get("llama.vocab_size") {
            Some(_) => int("llama.vocab_size", MAX_DIM)?,
            None => n_vocab_tokens.ok_or(Error::HParam("llama.vocab_size"))?,
        };
        Ok(HParams {
            n_vocab,
            n_embd,
            n_layer: int("llama.block_count", MAX_LAYERS)?,
            n_ff: int("llama.feed_forward_length", MAX_DIM)?,
            n_head,
            n_head_kv,
            n_ctx_train: int("llama.context_length", MAX_DIM)?,
            n_rot,
            rope_freq_base: float("llama.rope.freq_base", 10000.0)?,
            rms_eps: float("llama.attention.layer_norm_rms_epsilon", 1e-5)?,
        })
    }

    pub fn head_dim(&self) -> usize {
        self.n_embd / self.n_head
    }

    /// Width of K and V: all KV heads together.
    pub fn n_embd_kv(&self) -> usize {
        self.head_dim() * self.n_head_kv
    }
}

/// Indices into the weight [`TensorSet`] for one layer.
#[derive(Debug, Clone, Copy)]
struct Layer {
    attn_norm: usize,
    wq: usize,
    wk: usize,
    wv: usize,
    wo: usize,
    ffn_norm: usize,
    gate: usize,
    up: usize,
    down: usize,
}

/// A loaded model: weights in place in the file's bytes (`'a`).
#[derive(Debug)]
pub struct Model<'a> {
    pub hparams: HParams,
    pub tokenizer: Tokenizer,
    weights: TensorSet<'a>,
    tok_embd: usize,
    output_norm: usize,
    output: usize,
    layers: Vec<Layer>,
    /// Number of weights (elements of all tensors).
    pub n_params: u64,
}

/// Collects (type, dims, bytes) for TensorSet::bind, checking each shape.
struct Binder<'g, 'a> {
    g: &'g Gguf<'a>,
    specs: Vec<(GgmlType, Vec<i64>, &'a [u8])>,
}

impl<'a> Binder<'_, 'a> {
    /// The tensor `name` of shape `dims`; norms (1-D) must be F32.
    fn tensor(&mut self, name: &str, dims: &[usize]) -> Result<usize, Error> {
        let info = self
            .g
            .tensor(name)
            .ok_or_else(|| Error::MissingTensor(name.into()))?;
        let same_shape =
            info.n_dims == dims.len() && dims.iter().zip(info.dims).all(|(&d, f)| d as u64 == f);
        let type_ok = dims.len() > 1 || info.ty == GgmlType::F32;
        if !same_shape || !type_ok {
            return Err(Error::BadTensor(name.into()));
        }
        let dims = dims.iter().map(|&d| d as i64).collect();
        self.specs.push((info.ty, dims, self.g.tensor_data(info)));
        Ok(self.specs.len() - 1)
    }
}

impl<'a> Model<'a> {
    /// Reads the hyper-parameters, vocabulary and weights of a llama GGUF
    /// file held in `bytes` (aligned to at least 32 bytes; see
    /// [`crate::arena`]). The weights are used in place.
    pub fn load(bytes: &'a [u8]) -> Result<Self, Error> {
        let g = Gguf::parse(bytes)?;
        let hp = HParams::from_gguf(&g)?;
        let tokenizer = Tokenizer::from_gguf(&g)?;
        if tokenizer.vocab_size() != hp.n_vocab {
            return Err(Error::HParam("llama.vocab_size"));
        }
        let (e, kv, ff) = (hp.n_embd, hp.n_embd_kv(), hp.n_ff);
        let mut b = Binder {
            g: &g,
            specs: Vec::new(),
        };
        let tok_embd = b.tensor("token_embd.weight", &[e, hp.n_vocab])?;
        let output_norm = b.tensor("output_norm.weight", &[e])?;
        let output = match g.tensor("output.weight") {
            Some(_) => b.tensor("output.weight", &[e, hp.n_vocab])?,
            None => tok_embd,
        };
        let mut layers = Vec::with_capacity(hp.n_layer);
        for i in 0..hp.n_layer {
            let mut t =
                |what: &str, dims: &[usize]| b.tensor(&format!("blk.{i}.{what}.weight"), dims);
            layers.push(Layer {
                attn_norm: t("attn_norm", &[e])?,
                wq: t("attn_q", &[e, e])?,
                wk: t("attn_k", &[e, kv])?,
                wv: t("attn_v", &[e, kv])?,
                wo: t("attn_output", &[e, e])?,
                ffn_norm: t("ffn_norm", &[e])?,
                gate: t("ffn_gate", &[e, ff])?,
                up: t("ffn_up", &[e, ff])?,
                down: t("ffn_down", &[ff, e])?,
            });
        }
        let n_params = g.tensors.iter().map(|t| t.n_elements()).sum();
        let weights = TensorSet::bind(&b.specs)
            .ok_or_else(|| Error::BadTensor("(misaligned data)".into()))?;
        Ok(Model {
            hparams: hp,
            tokenizer,
            weights,
            tok_embd,
            output_norm,
            output,
            layers,
            n_params,
        })
    }
}

/// Type of the KV cache, as llama.cpp's default.
const KV_TYPE: GgmlType = GgmlType::F16;
/// Prompt tokens evaluated per graph: bounds the step's memory (activations
/// grow with it) without changing results (every op here is per row).
pub const MAX_BATCH: usize = 32;
/// Nodes in one step's graph: about 35 per layer.
fn graph_nodes(hp: &HParams) -> usize {
    64 * hp.n_layer + 256
}

/// One conversation's state: the KV cache and how much of it is filled.
#[derive(Debug)]
pub struct Session<'m, 'a> {
    model: &'m Model<'a>,
    /// Per layer: K at 2*i, V (transposed) at 2*i + 1.
    kv: TensorSet<'static>,
    n_ctx: usize,
    n_past: usize,
    pub n_threads: usize,
}

/// A session's KV cache kept apart from its model ([`Session::into_cache`]).
#[derive(Debug)]
pub struct KvCache {
    kv: TensorSet<'static>,
    /// (layers, K/V width) of the model it was made for.
    shape: (usize, usize),
    n_ctx: usize,
    n_past: usize,
}

impl KvCache {
    pub fn n_past(&self) -> usize {
        self.n_past
    }

    pub fn n_ctx(&self) -> usize {
        self.n_ctx
    }

    /// Bytes of the cache (K and V of every layer).
    pub fn bytes(&self) -> usize {
        self.kv.context_bytes()
    }
}

/// What [`Session::generate_greedy`] produced.
#[derive(Debug, Clone)]
pub struct Generation {
    pub ids: Vec<TokenId>,
    /// Logits at the first generated position (after the prompt).
    pub first_logits: Vec<f32>,
    /// For each step, best logit minus second best.
    pub margins: Vec<f32>,
}

impl<'m, 'a> Session<'m, 'a> {
    /// A session with room for `n_ctx` tokens (at most the trained context).
    pub fn new(model: &'m Model<'a>, n_ctx: usize) -> Result<Self, Error> {
        let hp = &model.hparams;
        let n_ctx = n_ctx.clamp(1, hp.n_ctx_train);
        let mut specs = Vec::with_capacity(2 * hp.n_layer);
        for _ in 0..hp.n_layer {
            specs.push((KV_TYPE, vec![hp.n_embd_kv() as i64, n_ctx as i64]));
            specs.push((KV_TYPE, vec![n_ctx as i64, hp.n_embd_kv() as i64]));
        }
        let kv = TensorSet::alloc(&specs).ok_or(Error::OutOfMemory)?;
        Ok(Session {
            model,
            kv,
            n_ctx,
            n_past: 0,
            n_threads: 1,
        })
    }

    pub fn n_past(&self) -> usize {
        self.n_past
    }

    pub fn n_ctx(&self) -> usize {
        self.n_ctx
    }

    pub fn model(&self) -> &'m Model<'a> {
        self.model
    }

    /// Forgets the conversation (the cache is overwritten from position 0).
    pub fn reset(&mut self) {
        self.n_past = 0;
    }

    /// Forgets every position from `n_past` on, keeping the first ones:
    /// a conversation goes back to a prefix evaluated once (the next eval
    /// overwrites the rest of the cache).
    pub fn truncate(&mut self, n_past: usize) {
        self.n_past = self.n_past.min(n_past);
    }

    /// The KV cache and its filled length, without the borrow of the
    /// model, to keep between requests ([`Session::resume`]).
    pub fn into_cache(self) -> KvCache {
        let hp = &self.model.hparams;
        KvCache {
            shape: (hp.n_layer, hp.n_embd_kv()),
            kv: self.kv,
            n_ctx: self.n_ctx,
            n_past: self.n_past,
        }
    }

    /// A session over a kept cache, from where it was left. The cache must
    /// come from a session of a model of the same shape (the caller keeps
    /// it with the model it was made with).
    pub fn resume(model: &'m Model<'a>, cache: KvCache) -> Result<Self, Error> {
        let hp = &model.hparams;
        if cache.shape != (hp.n_layer, hp.n_embd_kv()) || cache.n_ctx > hp.n_ctx_train {
            return Err(Error::ForeignCache);
        }
        Ok(Session {
            model,
            kv: cache.kv,
            n_ctx: cache.n_ctx,
            n_past: cache.n_past,
            n_threads: 1,
        })
    }

    /// Appends `tokens` to the context and returns the logits after the
    /// last of them.
    pub fn eval(&mut self, tokens: &[TokenId]) -> Result<Vec<f32>, Error> {
        let needed = self.n_past + tokens.len();
        if tokens.is_empty() || needed > self.n_ctx {
            return Err(Error::ContextFull {
                n_ctx: self.n_ctx,
                needed,
            });
        }
        if let Some(&bad) = tokens
            .iter()
            .find(|&&t| t as usize >= self.model.hparams.n_vocab)
        {
            return Err(Error::BadToken(bad));
        }
        let mut logits = Vec::new();
        for batch in tokens.chunks(MAX_BATCH) {
            logits = self.eval_batch(batch)?;
        }
        Ok(logits)
    }

    /// Bytes a step's context needs for `n` tokens attending to `n_kv`.
    fn step_bytes(&self, n: usize, n_kv: usize) -> usize {
        let hp = &self.model.hparams;
        // (attention products take a second result-sized tensor: mul_mat_f16)
        let per_layer = 14 * hp.n_embd + 3 * hp.n_embd_kv() + 4 * hp.n_ff + 3 * hp.n_head * n_kv;
        let floats = hp.n_layer * per_layer * n + 4 * hp.n_embd * n + n_kv * n + hp.n_vocab + 2 * n;
        let headers = (hp.n_layer * 48 + 32) * (ffi::tensor_overhead() + 16);
        4 * floats + floats / 8 + headers + ffi::graph_overhead(graph_nodes(hp)) + (1 << 20)
    }

    fn eval_batch(&mut self, tokens: &[TokenId]) -> Result<Vec<f32>, Error> {
        let m = self.model;
        let hp = &m.hparams;
        let w = &m.weights;
        let (n, n_past) = (tokens.len(), self.n_past);
        let n_kv = n_past + n;
        let (e, hd, kvw) = (
            hp.n_embd as i64,
            hp.head_dim() as i64,
            hp.n_embd_kv() as i64,
        );
        let (n_head, n_head_kv) = (hp.n_head as i64, hp.n_head_kv as i64);
        let n_i = n as i64;

        let ctx = Context::new(self.step_bytes(n, n_kv), false).ok_or(Error::OutOfMemory)?;
        let ids: Vec<i32> = tokens.iter().map(|&t| t as i32).collect();
        let positions: Vec<i32> = (n_past..n_kv).map(|p| p as i32).collect();
        let mut mask = vec![0f32; n_kv * n];
        for (i, row) in mask.chunks_mut(n_kv).enumerate() {
            row[n_past + i + 1..].fill(f32::NEG_INFINITY);
        }
        let inp_ids = ctx.input_i32(&ids);
        let inp_pos = ctx.input_i32(&positions);
        let kq_mask = ctx.input_f32(&[n_kv as i64, n_i], &mask);
        let kq_scale = (1.0 / sqrt(hp.head_dim() as f64)) as f32;

        let mut outputs: Vec<Tensor<'_>> = Vec::new();
        let mut x = ctx.get_rows(w.get(m.tok_embd), inp_ids);
        for (il, l) in m.layers.iter().enumerate() {
            let (k_cache, v_cache) = (self.kv.get(2 * il), self.kv.get(2 * il + 1));
            let cur = ctx.mul(ctx.rms_norm(x, hp.rms_eps), w.get(l.attn_norm));

            let q = ctx.mul_mat(w.get(l.wq), cur);
            let k = ctx.mul_mat(w.get(l.wk), cur);
            let v = ctx.mul_mat(w.get(l.wv), cur);
            let rope = |t, heads| {
                ctx.rope(
                    ctx.reshape_3d(t, hd, heads, n_i),
                    inp_pos,
                    hd as i32,
                    0,
                    hp.n_ctx_train as i32,
                    hp.rope_freq_base,
                )
            };
            let q = rope(q, n_head);
            let k = rope(k, n_head_kv);

            // Append this batch's K (rows of kvw) and V (columns) to the cache.
            let k_dst = ctx.view_1d(k_cache, n_i * kvw, k_cache.row_size(kvw) * n_past);
            outputs.push(ctx.cpy(k, k_dst));
            let v_es = v_cache.element_size();
            let v_dst = ctx.view_2d(v_cache, n_i, kvw, self.n_ctx * v_es, n_past * v_es);
            outputs.push(ctx.cpy(ctx.transpose(ctx.reshape_2d(v, kvw, n_i)), v_dst));

            // Attention over positions 0..n_kv; heads share K/V in groups.
            let q = ctx.permute(q, 0, 2, 1, 3);
            let k_all = ctx.view_3d(
                k_cache,
                hd,
                n_kv as i64,
                n_head_kv,
                k_cache.row_size(kvw),
                k_cache.row_size(hd),
                0,
            );
            let kq = ctx.soft_max_ext(ctx.mul_mat_f16(k_all, q), kq_mask, kq_scale);
            let v_all = ctx.view_3d(
                v_cache,
                n_kv as i64,
                hd,
                n_head_kv,
                self.n_ctx * v_es,
                self.n_ctx * v_es * hd as usize,
                0,
            );
            let kqv = ctx.mul_mat_f16(v_all, kq);
            let merged = ctx.cont_2d(ctx.permute(kqv, 0, 2, 1, 3), e, n_i);
            x = ctx.add(x, ctx.mul_mat(w.get(l.wo), merged));

            let cur = ctx.mul(ctx.rms_norm(x, hp.rms_eps), w.get(l.ffn_norm));
            let gate = ctx.silu(ctx.mul_mat(w.get(l.gate), cur));
            let up = ctx.mul_mat(w.get(l.up), cur);
            x = ctx.add(x, ctx.mul_mat(w.get(l.down), ctx.mul(gate, up)));
        }
        // Only the last position's logits are wanted.
        let last = ctx.view_1d(x, e, x.nb()[1] * (n - 1));
        let last = ctx.mul(ctx.rms_norm(last, hp.rms_eps), w.get(m.output_norm));
        let logits = ctx.mul_mat(w.get(m.output), last);
        outputs.push(logits);

        ctx.compute(&outputs, graph_nodes(hp), self.n_threads);
        self.n_past = n_kv;
        Ok(logits.to_f32_vec())
    }

    /// Greedy decoding: evaluates `prompt`, then takes the best token at
    /// each step until `max_tokens` or a token in `stop` (which is kept).
    pub fn generate_greedy(
        &mut self,
        prompt: &[TokenId],
        max_tokens: usize,
        stop: &[TokenId],
    ) -> Result<Generation, Error> {
        let mut logits = self.eval(prompt)?;
        let first_logits = logits.clone();
        let mut ids = Vec::new();
        let mut margins = Vec::new();
        while ids.len() < max_tokens {
            let (best, margin) = argmax_with_margin(&logits);
            ids.push(best);
            margins.push(margin);
            if stop.contains(&best) || ids.len() == max_tokens {
                break;
            }
            logits = self.eval(&[best])?;
        }
        Ok(Generation {
            ids,
            first_logits,
            margins,
        })
    }
}

/// Square root without std (core has none on stable): Newton's method in
/// f64, exact to well below f32's precision for the small integers here.
fn sqrt(x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    let mut r = if x > 1.0 { x / 2.0 } else { 1.0 };
    for _ in 0..64 {
        r = 0.5 * (r + x / r);
    }
    r
}

/// The best token (the lowest id among equals, as llama.cpp's greedy
/// sampler) and its lead over the second best.
pub fn argmax_with_margin(logits: &[f32]) -> (TokenId, f32) {
    let mut best = (0usize, f32::NEG_INFINITY);
    let mut second = f32::NEG_INFINITY;
    for (i, &l) in logits.iter().enumerate() {
        if l > best.1 {
            second = best.1;
            best = (i, l);
        } else if l > second {
            second = l;
        }
    }
    (best.0 as TokenId, best.1 - second)
}

/// The `k` best (id, logit) pairs, best first.
pub fn top_k(logits: &[f32], k: usize) -> Vec<(TokenId, f32)> {
    let mut all: Vec<(TokenId, f32)> = logits
        .iter()
        .enumerate()
        .map(|(i, &l)| (i as TokenId, l))
        .collect();
    all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    all.truncate(k);
    all
}
