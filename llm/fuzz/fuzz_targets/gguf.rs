//! Arbitrary bytes as a GGUF file: parsing returns (Ok or Err) and never
//! panics; whatever parses is read as a model's hyper-parameters and
//! tokenizer, which must not panic either, and a tokenizer that loads must
//! encode and decode text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use llm::gguf::Gguf;
use llm::model::HParams;
use llm::tokenizer::Tokenizer;

fuzz_target!(|data: &[u8]| {
    let Ok(g) = Gguf::parse(data) else { return };
    for t in &g.tensors {
        // Checked by the parser: in bounds.
        assert_eq!(g.tensor_data(t).len() as u64, t.n_bytes);
    }
    let _ = HParams::from_gguf(&g);
    if let Ok(tokenizer) = Tokenizer::from_gguf(&g) {
        let ids = tokenizer.encode("Hello, world! 2024 <|im_start|>naïve", true);
        let _ = tokenizer.decode(&ids);
    }
});
