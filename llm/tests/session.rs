//! The KV cache and the session's bookkeeping on the reference model.
mod common;

use llm::model::{Error, Model, Session};

/// Evaluating a prompt at once, in pieces, or token by token fills the
/// cache alike: the last logits agree (up to the rounding of activations
/// quantized per batch, which is per row and so identical).
#[test]
fn one_batch_or_token_by_token_agree() {
    let arena = common::model_bytes();
    let model = Model::load(arena.bytes()).unwrap();
    let prompt = model.tokenizer.encode("The quick brown fox jumps over the lazy dog because", false);
    let whole = Session::new(&model, 64).unwrap().eval(&prompt).unwrap();
    let mut s = Session::new(&model, 64).unwrap();
    let mut stepwise = Vec::new();
    for &t in &prompt {
        stepwise = s.eval(&[t]).unwrap();
    }
    assert_eq!(s.n_past(), prompt.len());
    let max = whole.iter().zip(&stepwise).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    println!("max |Δlogit| one batch vs token by token: {max}");
    assert!(max < 1e-3, "{max}");
    // Reset starts over: the same prompt gives the same logits.
    s.reset();
    assert_eq!(s.eval(&prompt).unwrap(), whole);
}

#[test]
fn context_and_vocabulary_are_enforced() {
    let arena = common::model_bytes();
    let model = Model::load(arena.bytes()).unwrap();
    assert_eq!(model.n_params, 134_515_008, "SmolLM2-135M's parameter count");
    let mut s = Session::new(&model, 8).unwrap();
    assert_eq!(s.eval(&[1; 9]), Err(Error::ContextFull { n_ctx: 8, needed: 9 }));
    assert_eq!(s.eval(&[49152]), Err(Error::BadToken(49152)));
    assert_eq!(s.eval(&[]), Err(Error::ContextFull { n_ctx: 8, needed: 0 }));
    s.eval(&[1; 8]).unwrap();
    assert_eq!(s.eval(&[1]), Err(Error::ContextFull { n_ctx: 8, needed: 9 }));
}
