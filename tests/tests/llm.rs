//! The LLM engine in the kernel: ggml cross-built for aarch64-unknown-none,
//! its C runtime (kernel/src/llm_shim.rs), and the reference model read
//! from a real SD image, answering over MCP in QEMU raspi4b.
//!
//! The expectations are llama.cpp's (../shared/reference), compared as the
//! llm crate's host test `close_to_llama_cpp` compares them: the reference
//! loading and the greedy-agreement rule come from llm/tests/common.
//! Under QEMU's TCG a token takes seconds, so only a few are generated.

#[path = "../../llm/tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use kingly_tests::{boot_image_with, model_image, model_on_card, structured, Board};
use serde_json::json;

/// Greedy steps generated per reference case.
const STEPS: usize = 8;

#[test]
fn ggml_runs_in_the_kernel_and_the_model_answers_like_llama_cpp() {
    let dir = tempfile::tempdir().unwrap();
    let img = model_image(dir.path());
    let mut board = boot_image_with(&img, &["--append", "test_tools=1"]);
    board.set_response_timeout(Duration::from_secs(240));
    board.set_session_limit(Duration::from_secs(600));

    // ggml itself, through the shim: one thread, then four (three of them
    // on cores 1-3 through pthread_create).
    for n_threads in [1, 4] {
        let r = structured(&mut board, "llm_selftest", json!({"n_threads": n_threads}));
        assert_eq!(r["elements"], 48 * 8, "{r}");
        assert!(r["max_abs_diff"].as_f64().unwrap() < 1e-3, "{r}");
    }

    let path = model_on_card(&mut board);
    let start = Instant::now();
    let loaded = structured(&mut board, "llm_load", json!({"path": path}));
    println!(
        "llm_load {path}: {:.1}s {loaded}",
        start.elapsed().as_secs_f64()
    );
    let reference = common::reference();
    let info = structured(&mut board, "llm_info", json!({}));
    assert_eq!(info["architecture"], "llama", "{info}");
    assert_eq!(info["quantization"], "Q4_1", "{info}");
    assert_eq!(info["arena"]["used"], reference.model.size_bytes, "{info}");
    assert!(info["n_params"].as_u64().unwrap() > 100_000_000, "{info}");

    for case in &reference.tokenize {
        let r = structured(&mut board, "llm_tokenize", json!({"text": case.text}));
        let ids: Vec<u32> = serde_json::from_value(r["ids"].clone()).unwrap();
        assert_eq!(ids, case.ids, "tokenize {:?}", case.text);
    }

    for (i, case) in reference.raw.iter().enumerate() {
        let prompt = case.prompt.as_deref().unwrap();
        let steps = STEPS.min(case.gen_ids.len());
        let start = Instant::now();
        let r = structured(
            &mut board,
            "llm_generate",
            json!({"prompt": prompt, "max_tokens": steps, "top_logits": 2}),
        );
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(r["prompt_tokens"], case.prompt_ids.len(), "raw {i}: {r}");
        let ids: Vec<u32> = serde_json::from_value(r["ids"].clone()).unwrap();
        let (equal, required) = common::greedy_agreement(&ids, case, 0.1);
        println!(
            "raw {i}: {} prompt + {} generated in {secs:.1}s, {equal}/{steps} equal: {:?}",
            case.prompt_ids.len(),
            ids.len(),
            r["text"]
        );
        assert!(
            equal >= required.min(ids.len()),
            "raw {i}: ids {ids:?} vs llama.cpp {:?}",
            case.gen_ids
        );
        assert_eq!(r["top_logits"].as_array().unwrap().len(), ids.len(), "{r}");
    }

    // llm_chat: the reference's chat cases through the model's template,
    // greedy, by the same rule. The first ("What is 2+2?") runs to its
    // <|im_end|>.
    for (i, case) in reference.chat.iter().enumerate() {
        let user = case.user.as_deref().unwrap();
        let steps = if i == 0 {
            case.gen_ids.len() + 4
        } else {
            STEPS.min(case.gen_ids.len())
        };
        let start = Instant::now();
        let r = structured(
            &mut board,
            "llm_chat",
            json!({"messages": [{"role": "user", "content": user}], "max_tokens": steps}),
        );
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(r["prompt_tokens"], case.prompt_ids.len(), "chat {i}: {r}");
        let ids: Vec<u32> = serde_json::from_value(r["ids"].clone()).unwrap();
        let (equal, required) = common::greedy_agreement(&ids, case, 0.1);
        println!(
            "chat {i}: {} prompt + {} generated in {secs:.1}s (prompt {} ns), {equal} equal: {:?} ({})",
            case.prompt_ids.len(),
            ids.len(),
            r["timing"]["prompt_ns"],
            r["text"],
            r["stop_reason"]
        );
        assert!(
            equal >= required.min(ids.len()),
            "chat {i}: ids {ids:?} vs llama.cpp {:?}",
            case.gen_ids
        );
        if i == 0 {
            assert_eq!(
                r["text"], "The answer to this classic math problem is 4.",
                "{r}"
            );
            assert_eq!(r["stop_reason"], "eos", "{r}");
        }
    }

    // A stop string ends the text before it (raw 0 continues " Paris.").
    let raw0 = reference.raw[0].prompt.as_deref().unwrap();
    let r = structured(
        &mut board,
        "llm_generate",
        json!({"prompt": raw0, "max_tokens": 6, "stop": [".", "never"]}),
    );
    assert_eq!(r["text"], " Paris", "{r}");
    assert_eq!(r["stop_reason"], "stop", "{r}");

    // Sampling: the same seed and options give the same ids; a run without
    // a seed reports the one it drew, and that seed repeats it.
    let sampled = |board: &mut Board, seed: Option<u64>| {
        let mut args = json!({"prompt": "Once upon a time", "max_tokens": 4,
            "temperature": 0.8, "top_k": 40, "top_p": 0.9});
        if let Some(seed) = seed {
            args["seed"] = json!(seed);
        }
        structured(board, "llm_generate", args)
    };
    let a = sampled(&mut board, Some(42));
    let b = sampled(&mut board, Some(42));
    println!("seed 42: {:?} {}", a["text"], a["ids"]);
    assert_eq!(a["ids"], b["ids"], "{a} vs {b}");
    assert_eq!(a["seed"], 42, "{a}");
    let drawn = sampled(&mut board, None);
    let seed = drawn["seed"]
        .as_u64()
        .unwrap_or_else(|| panic!("no seed: {drawn}"));
    let again = sampled(&mut board, Some(seed));
    assert_eq!(
        drawn["ids"], again["ids"],
        "seed {seed}: {drawn} vs {again}"
    );

    // Refused before any evaluation: no messages, an unknown role, a bad
    // option, and a conversation longer than the context.
    for (args, why) in [
        (json!({"messages": [], "max_tokens": 1}), "messages"),
        (
            json!({"messages": [{"role": "robot", "content": "hi"}], "max_tokens": 1}),
            "role",
        ),
        (
            json!({"messages": [{"role": "user"}], "max_tokens": 1}),
            "content",
        ),
        (
            json!({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1, "top_p": 0}),
            "top_p",
        ),
        (
            json!({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1, "temperature": -1}),
            "temperature",
        ),
        (
            json!({"messages": [{"role": "user", "content": " a".repeat(2100)}], "max_tokens": 1}),
            "context",
        ),
    ] {
        let r = board.call_tool("llm_chat", args.clone()).unwrap();
        assert_eq!(r["isError"], true, "{args}: {r}");
        let text = r["content"][0]["text"].as_str().unwrap_or_default();
        assert!(text.contains(why), "{why}: {r}");
    }

    // More tokens than the context holds: refused before any evaluation.
    let long = " a".repeat(2100);
    let r = board
        .call_tool("llm_generate", json!({"prompt": long, "max_tokens": 1}))
        .unwrap();
    assert_eq!(r["isError"], true, "{r}");

    // Cancelled after its first token: no response, at most one more
    // token. llm_chat's prompt is evaluated in pieces before that token.
    cancel_after_first_token(
        &mut board,
        "gen",
        "llm_generate",
        json!({"prompt": "Once upon a time", "max_tokens": 200}),
    );
    let first = cancel_after_first_token(
        &mut board,
        "chat",
        "llm_chat",
        json!({"messages": [{"role": "user", "content": "What is 2+2?"}], "max_tokens": 200}),
    );
    assert_eq!(first["params"]["message"], "The", "{first}");
}

/// Calls `tool` with a progressToken (= `id`), cancels it after the first
/// token's progress, and checks that no response came and at most one
/// more token did. Returns the first progress notification.
fn cancel_after_first_token(
    board: &mut Board,
    id: &str,
    tool: &str,
    arguments: serde_json::Value,
) -> serde_json::Value {
    board
        .send(
            &json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {
            "name": tool, "arguments": arguments, "_meta": {"progressToken": id}}}),
        )
        .unwrap();
    let first = loop {
        let m = board.next_message("the first token's progress").unwrap();
        assert!(
            m.get("id").is_none(),
            "{tool}: a response before any progress: {m}"
        );
        if m["method"] == "notifications/progress" {
            assert_eq!(m["params"]["progress"].as_f64(), Some(1.0), "{m}");
            break m;
        }
    };
    board
        .notify(
            "notifications/cancelled",
            Some(json!({"requestId": id, "reason": "test"})),
        )
        .unwrap();
    let r = structured(board, "llm_tokenize", json!({"text": "still here"}));
    assert!(!r["ids"].as_array().unwrap().is_empty(), "{r}");
    let later = board
        .take_notifications()
        .into_iter()
        .filter(|m| m["params"]["progressToken"] == id)
        .count();
    assert!(later <= 1, "{tool}: {later} tokens after the cancellation");
    let stdout = String::from_utf8_lossy(&board.stdout_bytes()).to_string();
    assert!(
        !stdout.contains(&format!(r#""id":"{id}""#)),
        "the cancelled {tool} got a response"
    );
    first
}

/// Guest instructions per generated token: under `-icount shift=0` the
/// generic timer counts instructions (1 ns each), so llm_generate's timing
/// is an instruction count. One thread; a print, not an assert.
#[test]
fn instructions_per_token_under_icount() {
    let dir = tempfile::tempdir().unwrap();
    let img = model_image(dir.path());
    let mut board = boot_image_with(&img, &["--icount"]);
    board.set_response_timeout(Duration::from_secs(400));
    board.set_session_limit(Duration::from_secs(900));
    let path = model_on_card(&mut board);
    structured(&mut board, "llm_load", json!({"path": path}));
    let case = &common::reference().raw[0];
    let steps = STEPS.min(case.gen_ids.len());
    let start = Instant::now();
    let r = structured(
        &mut board,
        "llm_generate",
        json!({"prompt": case.prompt, "max_tokens": steps}),
    );
    let generated = r["generated_tokens"].as_u64().unwrap();
    let prompt_ns = r["timing"]["prompt_ns"].as_u64().unwrap();
    let gen_ns = r["timing"]["generation_ns"].as_u64().unwrap();
    println!(
        "icount: prompt of {} tokens {:.1}M instructions ({:.1}M per token); {generated} generated, \
         {:.1}M instructions per token after the first ({:.1}s wall)",
        r["prompt_tokens"],
        prompt_ns as f64 / 1e6,
        prompt_ns as f64 / 1e6 / r["prompt_tokens"].as_f64().unwrap(),
        gen_ns as f64 / 1e6 / (generated - 1).max(1) as f64,
        start.elapsed().as_secs_f64()
    );
}

/// One model at a time, and nothing leaked: a model can be replaced (a
/// failed replacement keeps the loaded one), unloaded (its arena comes back
/// to the heap) and loaded again, answering the same each time.
#[test]
fn models_can_be_replaced_and_unloaded() {
    let dir = tempfile::tempdir().unwrap();
    let model = kingly::workspace::model_path();
    let mut spec = kingly::image::ImageSpec::new(&kingly_tests::artifacts().0);
    spec.host_files
        .push(kingly::image::model_entry(&model).expect("model entry"));
    // The same model again under another name, and a file that is no model.
    spec.host_files
        .push(("models/COPY.BIN".into(), model.clone()));
    spec.extra_files.push((
        "models/BAD.BIN".into(),
        b"GGUF\x03\0\0\0 and then nothing".to_vec(),
    ));
    let img = dir.path().join("sd.img");
    kingly::image::build_image(&img, &spec).expect("build the image");
    let mut board = boot_image_with(&img, &[]);
    board.set_response_timeout(Duration::from_secs(600));
    board.set_session_limit(Duration::from_secs(1200));
    let first = model_on_card(&mut board);

    let nothing = structured(&mut board, "llm_unload", json!({}));
    assert_eq!(nothing["unloaded"], serde_json::Value::Null, "{nothing}");
    let free_without_model = nothing["free"].as_u64().unwrap();

    let greedy = json!({"prompt": "The capital of France is", "max_tokens": 3});
    structured(&mut board, "llm_load", json!({"path": first}));
    let answer = structured(&mut board, "llm_generate", greedy.clone());

    let bad = board
        .call_tool("llm_load", json!({"path": "/MODELS/BAD.BIN"}))
        .unwrap();
    assert_eq!(bad["isError"], true, "{bad}");
    let info = structured(&mut board, "llm_info", json!({}));
    assert_eq!(
        info["path"],
        first.as_str(),
        "a failed load keeps the model: {info}"
    );

    structured(&mut board, "llm_load", json!({"path": "/MODELS/COPY.BIN"}));
    let info = structured(&mut board, "llm_info", json!({}));
    assert_eq!(info["path"], "/MODELS/COPY.BIN", "{info}");
    let again = structured(&mut board, "llm_generate", greedy.clone());
    assert_eq!(again["ids"], answer["ids"], "{again} against {answer}");

    let unloaded = structured(&mut board, "llm_unload", json!({}));
    assert_eq!(unloaded["unloaded"], "/MODELS/COPY.BIN", "{unloaded}");
    // Everything the two loads and generations took is back, but for
    // allocator slack (the arena alone is ~100 MB).
    let free = unloaded["free"].as_u64().unwrap();
    assert!(
        free + (1 << 20) >= free_without_model,
        "{free} bytes free after unloading, {free_without_model} before loading"
    );
    for (tool, args) in [("llm_info", json!({})), ("llm_generate", greedy)] {
        let r = board.call_tool(tool, args).unwrap();
        assert_eq!(r["isError"], true, "{tool} with no model: {r}");
        assert!(
            r["content"][0]["text"]
                .as_str()
                .unwrap()
                .contains("no model loaded"),
            "{r}"
        );
    }
}
