//! The token loop (`llm::generate`) with the sampler on the reference
//! model, as the kernel's `llm_chat` runs it: the rendered chat greedy
//! gives llama.cpp's reply and ends at `<|im_end|>`; a stop string cuts
//! the text; a seeded sampled run repeats; max_tokens and a full context
//! end it.
mod common;

use llm::chat::{ChatTemplate, Message};
use llm::generate::{Ends, Generation, StopReason};
use llm::gguf::Gguf;
use llm::model::{Model, Session};
use llm::sample::{Options, Sampler};
use llm::tokenizer::TokenId;

/// What one run came to.
struct Run {
    ids: Vec<TokenId>,
    text: String,
    reason: StopReason,
}

/// Generates from the chat prompt of reference case 0 ("What is 2+2?"),
/// the prompt evaluated in pieces of 4 tokens as the kernel does, or
/// (`in_pieces` false) all at once by the first step.
fn chat(
    model: &Model<'_>,
    template: &ChatTemplate,
    options: Options,
    stop: &[&str],
    max_tokens: usize,
    n_ctx: usize,
    in_pieces: bool,
) -> Run {
    let case = &common::reference().chat[0];
    let t = &model.tokenizer;
    let rendered = template.render(
        &[Message {
            role: "user",
            content: case.user.as_deref().unwrap(),
        }],
        true,
    );
    let prompt = t.encode(&rendered, true);
    assert_eq!(prompt, case.prompt_ids);
    let mut session = Session::new(model, n_ctx.min(prompt.len() + max_tokens)).unwrap();
    let ends = Ends {
        max_tokens,
        end_ids: vec![t.token_id("<|im_end|>").unwrap()],
        stop: stop.iter().map(|s| s.to_string()).collect(),
    };
    let mut g = Generation::new(
        &mut session,
        Sampler::new(options).unwrap(),
        &prompt,
        ends,
        Some(2),
    );
    while in_pieces && g.feed_prompt(4).unwrap() {}
    while g.step().unwrap().is_some() {}
    assert_eq!(g.top_logits().len(), g.ids().len());
    Run {
        ids: g.ids().to_vec(),
        text: g.text(),
        reason: g.finished().unwrap(),
    }
}

#[test]
fn the_generation_loop_on_the_reference_model() {
    let arena = common::model_bytes();
    let model = Model::load(arena.bytes()).unwrap();
    let template = ChatTemplate::from_gguf(&Gguf::parse(arena.bytes()).unwrap()).unwrap();
    let case = &common::reference().chat[0];
    let greedy = Options::default();

    let r = chat(&model, &template, greedy, &[], 32, 1024, true);
    assert_eq!(r.ids, case.gen_ids);
    assert_eq!(r.text, "The answer to this classic math problem is 4.");
    assert_eq!(r.reason, StopReason::Eos);

    // " math" is the sixth token: the text stops before "math".
    let r = chat(
        &model,
        &template,
        greedy,
        &["problem", "math"],
        32,
        1024,
        true,
    );
    assert_eq!(
        (r.text.as_str(), r.reason, r.ids.len()),
        ("The answer to this classic ", StopReason::Stop, 6)
    );

    let r = chat(&model, &template, greedy, &[], 3, 1024, false);
    assert_eq!(
        (r.ids.as_slice(), r.reason),
        (&case.gen_ids[..3], StopReason::MaxTokens)
    );
    assert_eq!(r.text, "The answer to");

    // Room for the prompt and two more tokens: the third is chosen but
    // cannot be evaluated.
    let r = chat(
        &model,
        &template,
        greedy,
        &[],
        10,
        case.prompt_ids.len() + 2,
        true,
    );
    assert_eq!(
        (r.ids.as_slice(), r.reason),
        (&case.gen_ids[..3], StopReason::Context)
    );

    let sampled = Options {
        temperature: 0.8,
        top_k: 40,
        top_p: 0.9,
        seed: 42,
        ..Options::default()
    };
    let a = chat(&model, &template, sampled, &[], 12, 1024, true);
    let b = chat(&model, &template, sampled, &[], 12, 1024, true);
    println!("seed 42: {:?} {:?}", a.text, a.ids);
    assert_eq!(a.ids, b.ids);
    assert_eq!(a.text, b.text);
}
