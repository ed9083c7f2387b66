//! The tokenizer on the reference model against llama.cpp's token ids.
mod common;

use llm::gguf::Gguf;
use llm::tokenizer::Tokenizer;

fn tokenizer() -> Tokenizer {
    let arena = common::model_bytes();
    Tokenizer::from_gguf(&Gguf::parse(arena.bytes()).unwrap()).unwrap()
}

#[test]
fn reference_tokenize_cases() {
    let t = tokenizer();
    assert!(!t.add_bos, "the file says add_bos_token false");
    for case in common::reference().tokenize {
        let ids = t.encode(&case.text, false);
        assert_eq!(ids, case.ids, "ids of {:?}", case.text);
        let pieces: Vec<String> = ids.iter().map(|&id| t.decode(&[id])).collect();
        assert_eq!(pieces, case.pieces, "pieces of {:?}", case.text);
        assert_eq!(t.decode(&ids), case.text);
    }
}

#[test]
fn reference_prompt_ids() {
    let t = tokenizer();
    let reference = common::reference();
    for case in &reference.raw {
        let prompt = case.prompt.as_deref().unwrap();
        assert_eq!(t.encode(prompt, false), case.prompt_ids, "{prompt:?}");
    }
    for case in &reference.chat {
        let prompt = case.rendered_prompt.as_deref().unwrap();
        assert_eq!(t.encode(prompt, true), case.prompt_ids, "{prompt:?}");
    }
}

#[test]
fn special_tokens_are_whole_only_when_asked() {
    let t = tokenizer();
    assert_eq!(t.encode("<|im_start|>user", true), [1, 4093]);
    let plain = t.encode("<|im_start|>", false);
    assert!(plain.len() > 1 && !plain.contains(&1));
    assert_eq!(t.decode(&plain), "<|im_start|>");
    assert_eq!((t.bos, t.eos), (Some(1), Some(2)));
}
