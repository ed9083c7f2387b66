//! Host tokens per second of the `llm` crate, one thread, greedy: the
//! prompt evaluated in one batch, then `KINGLY_BENCH_TOKENS` tokens
//! generated one at a time, `KINGLY_BENCH_REPS` times; the medians are
//! printed. A measurement, never a check. `scripts/bench-host-llm` runs it
//! beside llama.cpp (`llm/benches/llama_cpp_peer.py`) with the same
//! model, prompt and token count, and prints the ratios.
//!
//! Alone: `cargo bench -p llm --bench tokens_per_second`.
//! Model: `KINGLY_MODEL`, else target/models/smollm2-135m-instruct-q4_1.gguf
//! (scripts/fetch-model). Prompt: `KINGLY_BENCH_PROMPT`, tokenized without
//! a BOS token, as llama.cpp's reference outputs are.

use std::io::Read;
use std::path::PathBuf;
use std::time::Instant;

use llm::model::{argmax_with_margin, Model, Session};

const DEFAULT_PROMPT: &str =
    "The capital of France is Paris. The capital of Germany is Berlin. The capital of Italy is";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v}: not a number")),
        Err(_) => default,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn main() {
    let path = match std::env::var_os("KINGLY_MODEL") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../target/models/smollm2-135m-instruct-q4_1.gguf"),
    };
    let mut file = std::fs::File::open(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run scripts/fetch-model (or set KINGLY_MODEL)",
            path.display()
        )
    });
    let len = file.metadata().expect("the model's size").len() as usize;
    let mut arena = llm::arena::Arena::new(len);
    file.read_exact(arena.bytes_mut())
        .expect("reading the model");
    let model = Model::load(arena.bytes()).expect("loading the model");

    let text = std::env::var("KINGLY_BENCH_PROMPT").unwrap_or_else(|_| DEFAULT_PROMPT.into());
    let n_gen: usize = env_or("KINGLY_BENCH_TOKENS", 64);
    let reps: usize = env_or("KINGLY_BENCH_REPS", 5).max(1);
    let prompt = model.tokenizer.encode(&text, false);
    let mut s = Session::new(&model, prompt.len() + n_gen + 1).expect("a session");

    let (mut prompt_rates, mut gen_rates) = (Vec::new(), Vec::new());
    let mut generated = Vec::new();
    // One warm-up pass (page faults, caches), not counted.
    for rep in 0..=reps {
        s.reset();
        generated.clear();
        let t = Instant::now();
        let mut logits = s.eval(&prompt).expect("the prompt");
        let prompt_secs = t.elapsed().as_secs_f64();
        let t = Instant::now();
        for _ in 0..n_gen {
            let next = argmax_with_margin(&logits).0;
            generated.push(next);
            logits = s.eval(&[next]).expect("a decode step");
        }
        let gen_secs = t.elapsed().as_secs_f64();
        let (p, g) = (prompt.len() as f64 / prompt_secs, n_gen as f64 / gen_secs);
        if rep == 0 {
            println!("ours: warm-up: prompt {p:.1} tok/s, generation {g:.1} tok/s (not counted)");
            continue;
        }
        println!("ours: run {rep}/{reps}: prompt {} tokens {p:.1} tok/s, generation {n_gen} tokens {g:.1} tok/s", prompt.len());
        prompt_rates.push(p);
        gen_rates.push(g);
    }
    let ids = |v: &[u32]| v.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
    // The line scripts/bench-host-llm reads.
    println!(
        "RESULT ours {} {:.2} {n_gen} {:.2} prompt_ids={} generated_ids={}",
        prompt.len(),
        median(prompt_rates),
        median(gen_rates),
        ids(&prompt),
        ids(&generated)
    );
}
