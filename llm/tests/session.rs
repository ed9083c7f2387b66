//! The KV cache and the session's bookkeeping on the reference model.
mod common;

use llm::model::{Error, Model, Session};

/// Evaluating a prompt at once or in pieces of two or more tokens fills
/// the cache alike: the last logits are identical (every op is per row;
/// attention products of several columns sum in one order). Token by token
/// the attention products have one column and sum in another order, as in
/// llama.cpp, so the logits differ by rounding only.
#[test]
fn batches_fill_the_cache_alike() {
    let arena = common::model_bytes();
    let model = Model::load(arena.bytes()).unwrap();
    let prompt = model
        .tokenizer
        .encode("The quick brown fox jumps over the lazy dog because", false);
    assert!(prompt.len() >= 6);
    let whole = Session::new(&model, 64).unwrap().eval(&prompt).unwrap();

    let mut s = Session::new(&model, 64).unwrap();
    s.eval(&prompt[..3]).unwrap();
    let pieces = s.eval(&prompt[3..]).unwrap();
    assert_eq!(pieces, whole);
    assert_eq!(s.n_past(), prompt.len());
    // Reset starts over: the same prompt gives the same logits.
    s.reset();
    assert_eq!(s.eval(&prompt).unwrap(), whole);

    let mut s = Session::new(&model, 64).unwrap();
    let mut stepwise = Vec::new();
    for &t in &prompt {
        stepwise = s.eval(&[t]).unwrap();
    }
    let max = whole
        .iter()
        .zip(&stepwise)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    println!("max |Δlogit| one batch vs token by token: {max}");
    // This model amplifies rounding: llama.cpp's own logits move by up to
    // ~0.2 between n_batch 512 and 1 on the reference prompts.
    assert!(max < 1.5, "{max}");
}

#[test]
fn context_and_vocabulary_are_enforced() {
    let arena = common::model_bytes();
    let model = Model::load(arena.bytes()).unwrap();
    assert_eq!(
        model.n_params, 134_515_008,
        "SmolLM2-135M's parameter count"
    );
    let mut s = Session::new(&model, 8).unwrap();
    assert_eq!(
        s.eval(&[1; 9]),
        Err(Error::ContextFull {
            n_ctx: 8,
            needed: 9
        })
    );
    assert_eq!(s.eval(&[49152]), Err(Error::BadToken(49152)));
    assert_eq!(
        s.eval(&[]),
        Err(Error::ContextFull {
            n_ctx: 8,
            needed: 0
        })
    );
    s.eval(&[1; 8]).unwrap();
    assert_eq!(
        s.eval(&[1]),
        Err(Error::ContextFull {
            n_ctx: 8,
            needed: 9
        })
    );
}

// Host tokens per second: llm/benches/tokens_per_second.rs, run beside
// llama.cpp by scripts/bench-host-llm.
