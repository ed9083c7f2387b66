//! The LLM engine on one core and on four, measured: figures are printed,
//! never asserted (docs/performance.md quotes them). What is asserted is
//! correctness — four threads give the same ids as one — and that a long
//! prompt, evaluated in graphs that each outlast the heartbeat watchdog's
//! budget, does not reset the machine.
//!
//! Under `-icount shift=0,align=off,sleep=off` the generic timer advances one
//! tick per 16 guest instructions (CNTFRQ 62.5 MHz, so 1 ns = 1 instruction),
//! counted over all four cores together: a figure for four threads includes
//! whatever the waiting cores execute.

#[path = "../../llm/tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use kingly_tests::{boot_image_with, model_image, model_on_card, structured, Board};
use serde_json::{json, Value};

/// Tokens generated per run: enough for a per-token figure after the first.
const STEPS: usize = 4;

/// Prompt tokens for the heartbeat check: under icount one prompt token is
/// ≈ 0.1 s of guest time, so the prompt takes ≈ 30 s (three heartbeat
/// budgets) while the MCP loop does not poll UART0 at all.
const LONG_PROMPT_WORDS: usize = 300;

fn u64_of(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no integer {key} in {v}"))
}

/// Loads the model; returns (file bytes, the kernel's timer ns from the
/// first read to a usable model, timer ticks between the `time_now` calls
/// around the `llm_load` call).
fn load(board: &mut Board) -> (u64, u64, u64) {
    let path = model_on_card(board);
    let before = structured(board, "time_now", json!({}));
    let loaded = structured(board, "llm_load", json!({"path": path}));
    let after = structured(board, "time_now", json!({}));
    let ticks = u64_of(&after, "counter") - u64_of(&before, "counter");
    let load = &loaded["load"];
    (u64_of(load, "bytes"), u64_of(load, "ns"), ticks)
}

/// One greedy generation of [`STEPS`] tokens on `n_threads`.
struct Run {
    ids: Vec<u32>,
    prompt_tokens: u64,
    prompt_ns: u64,
    generation_ns: u64,
    wall: Duration,
}

impl Run {
    /// Timer ns per generated token after the first (the first one's step
    /// is inside prompt_ns' successor; see services/llm.rs).
    fn ns_per_token(&self) -> f64 {
        self.generation_ns as f64 / (self.ids.len() as f64 - 1.0).max(1.0)
    }
}

fn generate(board: &mut Board, prompt: &str, n_threads: usize) -> Run {
    let start = Instant::now();
    let r = structured(
        board,
        "llm_generate",
        json!({"prompt": prompt, "max_tokens": STEPS, "n_threads": n_threads}),
    );
    Run {
        ids: serde_json::from_value(r["ids"].clone()).unwrap(),
        prompt_tokens: u64_of(&r, "prompt_tokens"),
        prompt_ns: u64_of(&r["timing"], "prompt_ns"),
        generation_ns: u64_of(&r["timing"], "generation_ns"),
        wall: start.elapsed(),
    }
}

/// Guest instructions (icount) for a model load and per token with one and
/// four threads; then the heartbeat during a long prompt.
#[test]
fn one_and_four_threads_under_icount() {
    let dir = tempfile::tempdir().unwrap();
    let img = model_image(dir.path());
    let mut board = boot_image_with(&img, &["--icount"]);
    board.set_response_timeout(Duration::from_secs(600));
    board.set_session_limit(Duration::from_secs(1800));

    let (bytes, ns, ticks) = load(&mut board);
    // 1 ns = 1 instruction, and 16 per tick, at shift=0. The bracket of
    // time_now calls also holds the guest's idle waits for the next
    // request, where the virtual clock does not follow instructions (it
    // varied by ±10 % between runs): the kernel's own figure is the steady one.
    println!(
        "icount: llm_load of {bytes} bytes: {:.2}G instructions, {:.1} per byte \
         ({:.2}G between the time_now calls around the call)",
        ns as f64 / 1e9,
        ns as f64 / bytes as f64,
        (ticks * 16) as f64 / 1e9
    );

    let prompt = common::reference().raw[0].prompt.clone().unwrap();
    let [one, four] = [1, 4].map(|n| {
        let run = generate(&mut board, &prompt, n);
        println!(
            "icount: {n} thread(s): prompt of {} tokens {:.1}M instructions; \
             {:.1}M instructions per generated token ({:.1}s wall)",
            run.prompt_tokens,
            run.prompt_ns as f64 / 1e6,
            run.ns_per_token() / 1e6,
            run.wall.as_secs_f64()
        );
        run
    });
    println!(
        "icount: 4 threads / 1 thread, instructions per generated token: {:.3}x; prompt: {:.3}x",
        four.ns_per_token() / one.ns_per_token(),
        four.prompt_ns as f64 / one.prompt_ns as f64
    );
    assert_eq!(four.ids, one.ids, "4 threads must generate what 1 does");

    long_prompt_keeps_the_heartbeat(&mut board);
}

/// A prompt of ≈ 300 tokens is evaluated in batches (one ggml graph each)
/// without the MCP loop polling UART0: only ggml's per-node callback beats.
/// Under icount the guest time is exact, so the prompt provably outlasts the
/// heartbeat budget (asserted: otherwise this proves nothing).
fn long_prompt_keeps_the_heartbeat(board: &mut Board) {
    let before = structured(board, "time_now", json!({}));
    let info = structured(board, "sys_info", json!({}));
    let heartbeat_ms = u64_of(&info["watchdog"], "heartbeat_timeout_ms");
    let prompt = "Once upon a time".repeat(LONG_PROMPT_WORDS / 4);
    let r = structured(
        board,
        "llm_generate",
        json!({"prompt": prompt, "max_tokens": 1}),
    );
    let prompt_ms = u64_of(&r["timing"], "prompt_ns") / 1_000_000;
    println!(
        "icount: long prompt of {} tokens in {prompt_ms} ms of guest time (heartbeat {heartbeat_ms} ms)",
        r["prompt_tokens"]
    );
    assert!(
        prompt_ms > heartbeat_ms,
        "the prompt ({prompt_ms} ms) must outlast the heartbeat ({heartbeat_ms} ms)"
    );
    let after = structured(board, "time_now", json!({}));
    assert_eq!(
        u64_of(&after, "boot_counter"),
        u64_of(&before, "boot_counter"),
        "the kernel was reset: {after}"
    );
    let watchdog = board
        .take_notifications()
        .into_iter()
        .find(|m| m.to_string().contains(r#""event":"watchdog""#));
    assert!(watchdog.is_none(), "the watchdog spoke: {watchdog:?}");
}

/// Wall-clock seconds per token with one and four threads in normal
/// (multi-threaded TCG) QEMU. Host-dependent: a print, not an assert.
/// Ignored because four threads are still slow here (≈ 155 s against 6 s,
/// docs/performance.md): with a host thread per vCPU, QEMU's `wfe` is a
/// no-op, so waiting vCPUs keep two host cores busy for four threads.
#[test]
#[ignore = "4 threads take minutes in MTTCG QEMU on a 2-core host; run with --ignored"]
fn one_and_four_threads_wall_clock() {
    let dir = tempfile::tempdir().unwrap();
    let img = model_image(dir.path());
    let mut board = boot_image_with(&img, &[]);
    board.set_response_timeout(Duration::from_secs(600));
    board.set_session_limit(Duration::from_secs(1200));
    let start = Instant::now();
    let (bytes, ns, _) = load(&mut board);
    println!(
        "wall: llm_load of {bytes} bytes in {:.1}s ({:.1}s of guest time)",
        start.elapsed().as_secs_f64(),
        ns as f64 / 1e9
    );
    let prompt = common::reference().raw[0].prompt.clone().unwrap();
    let [one, four] = [1, 4].map(|n| {
        let run = generate(&mut board, &prompt, n);
        println!(
            "wall: {n} thread(s): {} prompt + {} generated tokens in {:.2}s \
             (guest timer: prompt {:.2}s, {:.3}s per generated token)",
            run.prompt_tokens,
            run.ids.len(),
            run.wall.as_secs_f64(),
            run.prompt_ns as f64 / 1e9,
            run.ns_per_token() / 1e9
        );
        run
    });
    assert_eq!(four.ids, one.ids, "4 threads must generate what 1 does");
}
