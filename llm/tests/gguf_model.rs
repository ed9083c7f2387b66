//! The GGUF parser on the reference model.
mod common;

use llm::gguf::{Gguf, Value};
use llm::types::GgmlType;

#[test]
fn reads_the_reference_model() {
    let arena = common::model_bytes();
    let reference = common::reference();
    assert_eq!(arena.len() as u64, reference.model.size_bytes);
    let g = Gguf::parse(arena.bytes()).unwrap();
    assert_eq!(g.version, 3);
    for (k, v) in &g.metadata {
        let shown = match v {
            Value::Array(items) => {
                format!("[{} items] {:?}", items.len(), &items[..items.len().min(3)])
            }
            v => format!("{v:?}"),
        };
        println!("{k} = {shown}");
    }
    let count = |ty| g.tensors.iter().filter(|t| t.ty == ty).count();
    // "210 Q4_1, 1 Q8_0 (token_embd, tied output), 61 F32"
    assert_eq!(
        (
            count(GgmlType::Q4_1),
            count(GgmlType::Q8_0),
            count(GgmlType::F32)
        ),
        (210, 1, 61)
    );
    assert_eq!(g.tensors.len(), 272);
    assert_eq!(g.tensor("token_embd.weight").unwrap().ty, GgmlType::Q8_0);
    assert_eq!(
        g.tensor("token_embd.weight").unwrap().dims,
        [576, 49152, 1, 1]
    );
    assert!(
        g.tensor("output.weight").is_none(),
        "the output is tied to token_embd"
    );
    let u = |k| g.get(k).and_then(Value::as_u64).unwrap();
    assert_eq!(u("llama.block_count"), 30);
    assert_eq!(u("llama.embedding_length"), 576);
    assert_eq!(u("llama.feed_forward_length"), 1536);
    assert_eq!(u("llama.attention.head_count"), 9);
    assert_eq!(u("llama.attention.head_count_kv"), 3);
    assert_eq!(u("llama.context_length"), 8192);
    assert_eq!(
        g.get("llama.rope.freq_base").and_then(Value::as_f32),
        Some(100000.0)
    );
    assert_eq!(
        g.get("tokenizer.ggml.pre").and_then(Value::as_str),
        Some("smollm")
    );
    let last = g
        .tensors
        .iter()
        .map(|t| g.data_offset as u64 + t.offset + t.n_bytes)
        .max()
        .unwrap();
    assert!(last <= arena.len() as u64);
}

/// Cut and damage the real header (metadata + tensor table, a few MB) at
/// many places: always an Err or Ok, never a panic.
#[test]
fn truncated_or_corrupt_real_headers_are_errors() {
    let arena = common::model_bytes();
    let bytes = arena.bytes();
    let header_len = Gguf::parse(bytes).unwrap().data_offset;
    let header = &bytes[..header_len];
    // Every cut inside the first 256 bytes, then 200 more spread over the rest.
    let cuts = (0..256).chain((0..200).map(|i| 256 + i * (header_len - 256) / 200));
    for len in cuts {
        assert!(
            Gguf::parse(&header[..len]).is_err(),
            "a {len}-byte prefix parsed"
        );
    }
    let mut damaged = header.to_vec();
    for i in 0..150 {
        let at = (i * 7919 + i * i * 131) % header_len;
        let old = damaged[at];
        for v in [0x00, 0xff, 0x80, old ^ 0x01] {
            damaged[at] = v;
            let _ = Gguf::parse(&damaged);
        }
        damaged[at] = old;
    }
}
