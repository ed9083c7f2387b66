//! `kingly bench`: the kernel's own measurements, counted in guest
//! instructions. QEMU runs under `-icount shift=0,align=off,sleep=off`, where
//! one guest instruction is one nanosecond of virtual time and the generic
//! timer (62.5 MHz) ticks once per 16 instructions, so the kernel's
//! nanosecond figures are instruction counts, the same run after run.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use crate::client::{QemuMcp, PROTOCOL_VERSION};
use crate::error::{Error, Result};
use crate::plot::Series;
use crate::qemu::ICOUNT_ARGS;

/// Dispatches per `bench_mcp_dispatch` measurement.
pub const DISPATCH_ITERATIONS: u64 = 5000;
/// Bytes per SD card read measurement.
pub const SD_READ_BYTES: u64 = 8 << 20;
/// The raw prompt the per-token figures generate from, and how many tokens.
pub const LLM_PROMPT: &str = "The Raspberry Pi is a small computer that";
pub const LLM_TOKENS: u64 = 8;
/// The agent's request for its figures (docs/performance.md).
pub const AGENT_REQUEST: &str = "what is the board temperature?";
/// Notes of [`CONTEXT_NOTE_BYTES`] kept before `kingly://context` is
/// measured, so that the text fills its token budget.
pub const CONTEXT_NOTES: usize = 16;
pub const CONTEXT_NOTE_BYTES: usize = 200;
/// The seed's claim for assembling the context: 50 ms, i.e. 50 M
/// instructions at one a nanosecond.
const CONTEXT_GOAL: f64 = 50e6;
/// How long one LLM measurement may take (QEMU's wall clock).
const LLM_RESPONSE_TIMEOUT: Duration = Duration::from_secs(900);

/// One measured figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// Stable machine-readable name (the `--json` key).
    pub name: &'static str,
    pub what: &'static str,
    pub value: f64,
    pub unit: &'static str,
    /// The project's goal for it, if it has one (lower is better).
    pub goal: Option<f64>,
}

/// What `kingly bench` measured.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    pub figures: Vec<Figure>,
    /// Guest instructions against tokens generated, per thread count (empty
    /// without a model on the card): what `--plot` draws.
    pub tokens: Vec<Series>,
}

/// Boots `kernel8` from a private copy of `image` under icount and takes
/// every measurement the kernel offers: boot, MCP dispatch and SD card reads
/// always; a file read through FAT, the model load and the per-token
/// figures (one core and four) when the card has a model in `/MODELS`,
/// and with `with_agent` the agent's (its fixed prompt alone is ~77 G
/// instructions: minutes of QEMU time).
pub fn measure(kernel8: &Path, image: &Path, with_agent: bool) -> Result<Report> {
    let dir = tempfile::tempdir().map_err(|e| Error::Io {
        context: "creating a temporary directory".into(),
        source: e,
    })?;
    let copy = dir.path().join("sd.img");
    std::fs::copy(image, &copy).map_err(|e| Error::Io {
        context: format!("copying {}", image.display()),
        source: e,
    })?;
    let mut qemu = QemuMcp::boot(kernel8, &copy, &ICOUNT_ARGS)?;
    qemu.initialize(PROTOCOL_VERSION, "kingly-bench")?;

    let mut figures = Vec::new();
    let now = structured(qemu.call_tool("time_now", json!({}))?)?;
    let ready = number(&now, "ready_counter")?;
    let hz = number(&now, "cntfrq_hz")?;
    figures.push(Figure {
        name: "boot_to_ready_instructions",
        what: "reset to the MCP loop ready, all cores",
        value: ready * 1e9 / hz,
        unit: "instructions",
        goal: None,
    });
    for (name, what, encoding, request, goal) in [
        (
            "mcp_dispatch_json_instructions",
            "trivial tools/call, JSON (parse + dispatch + serialize)",
            "json",
            "tools/call",
            Some(5000.0),
        ),
        (
            "mcp_dispatch_postcard_instructions",
            "trivial tools/call, postcard",
            "postcard",
            "tools/call",
            Some(1000.0),
        ),
        (
            "mcp_ping_json_instructions",
            "ping, JSON: the envelope alone",
            "json",
            "ping",
            None,
        ),
    ] {
        let result = structured(qemu.call_tool(
            "bench_mcp_dispatch",
            json!({"iterations": DISPATCH_ITERATIONS, "encoding": encoding, "request": request}),
        )?)?;
        figures.push(Figure {
            name,
            what,
            value: number(&result, "ns_per_iteration")?,
            unit: "instructions/call",
            goal,
        });
    }
    for i in 0..CONTEXT_NOTES {
        let note = format!("{i:02} {}", "n".repeat(CONTEXT_NOTE_BYTES - 3));
        structured(qemu.call_tool("memory_add", json!({ "text": note }))?)?;
    }
    figures.push(context_figure(
        &mut qemu,
        50,
        "context_instructions",
        "kingly://context, 256-token budget full, 4 bytes a token",
    )?);
    let raw = structured(qemu.call_tool("bench_sd_read", json!({"bytes": SD_READ_BYTES}))?)?;
    figures.push(Figure {
        name: "sd_raw_read_instructions_per_byte",
        what: "SD card, raw multi-block PIO reads through the driver",
        value: number(&raw, "ns_per_byte")?,
        unit: "instructions/byte",
        goal: Some(2.0),
    });
    let mut report = Report {
        figures,
        tokens: Vec::new(),
    };
    if let Some(model) = qemu.model_on_card()? {
        llm_figures(&mut qemu, &model, &mut report)?;
        if with_agent {
            agent_figures(&mut qemu, &mut report)?;
        }
    }
    qemu.shutdown()?;
    report.figures.extend(svc_round_trip(kernel8, &copy)?);
    Ok(report)
}

/// `bench_context`: instructions to assemble `kingly://context` once.
fn context_figure(
    qemu: &mut QemuMcp,
    iterations: u64,
    name: &'static str,
    what: &'static str,
) -> Result<Figure> {
    let result = structured(qemu.call_tool("bench_context", json!({ "iterations": iterations }))?)?;
    Ok(Figure {
        name,
        what,
        value: number(&result, "ns_per_iteration")?,
        unit: "instructions",
        goal: Some(CONTEXT_GOAL),
    })
}

/// Calls per EL0 measurement (`/APPS/BENCH.ELF`).
pub const SVC_CALLS: u64 = 1000;

/// One `svc` round trip from an EL0 program (EL0 → kernel → trivial tool →
/// EL0): `app_run` of /APPS/BENCH.ELF calling the test-only `app_echo`
/// (`{"ok": true}`, like `bench_mcp_dispatch`'s tool) SVC_CALLS times,
/// minus a run with no call, over SVC_CALLS. The program's core counts
/// retired instructions in its PMU (QEMU has INST_RETIRED under -icount).
/// Its own boot, with `test_tools=1`, so the other figures keep the
/// default tool set. `None` (said on stderr) for a card without the program
/// (one built before /APPS existed: `kingly image` makes a new one).
fn svc_round_trip(kernel8: &Path, image: &Path) -> Result<Option<Figure>> {
    let mut args = ICOUNT_ARGS.to_vec();
    args.extend(["-append", "test_tools=1"]);
    let mut qemu = QemuMcp::boot(kernel8, image, &args)?;
    qemu.initialize(PROTOCOL_VERSION, "kingly-bench")?;
    let list = structured(qemu.call_tool("app_list", json!({}))?)?;
    let on_card = list["programs"]
        .as_array()
        .is_some_and(|p| p.iter().any(|p| p["name"] == "BENCH.ELF"));
    if !on_card {
        eprintln!(
            "kingly bench: no /APPS/BENCH.ELF on {}: no svc figure",
            image.display()
        );
        qemu.shutdown()?;
        return Ok(None);
    }
    let mut instructions = |n: u64| -> Result<f64> {
        let done = structured(qemu.call_tool(
            "app_run",
            json!({"path": "/APPS/BENCH.ELF", "args": {"n": n, "tool": "app_echo"}}),
        )?)?;
        if done["exit_code"] != 0 || done["tool_calls"] != n {
            return Err(Error::Protocol(format!("BENCH.ELF failed: {done}")));
        }
        number(&done, "instructions")
    };
    let none = instructions(0)?;
    let calls = instructions(SVC_CALLS)?;
    qemu.shutdown()?;
    Ok(Some(Figure {
        name: "app_svc_round_trip_instructions",
        what: "trivial tool from an EL0 program: svc + postcard, EL0 -> kernel -> tool -> EL0",
        value: (calls - none) / SVC_CALLS as f64,
        unit: "instructions/call",
        goal: Some(1000.0),
    }))
}

/// Reading the model file, loading it, and generating on one core and four.
fn llm_figures(qemu: &mut QemuMcp, model: &str, report: &mut Report) -> Result<()> {
    // Reading 94 MiB and evaluating tokens take minutes of QEMU time.
    qemu.set_response_timeout(LLM_RESPONSE_TIMEOUT);
    let figures = &mut report.figures;
    let file = structured(qemu.call_tool(
        "bench_sd_read",
        json!({"bytes": SD_READ_BYTES, "path": model}),
    )?)?;
    figures.push(Figure {
        name: "sd_file_read_instructions_per_byte",
        what: "SD card, a file read through the FAT layer (embedded-sdmmc)",
        value: number(&file, "ns_per_byte")?,
        unit: "instructions/byte",
        goal: None,
    });
    let loaded = structured(qemu.call_tool("llm_load", json!({"path": model}))?)?;
    let load = &loaded["load"];
    figures.push(Figure {
        name: "llm_load_instructions_per_byte",
        what: "model load: SD card to a usable model, per byte of the file",
        value: number(load, "ns")? / number(load, "bytes")?.max(1.0),
        unit: "instructions/byte",
        goal: None,
    });
    figures.push(context_figure(
        qemu,
        5,
        "context_model_tokens_instructions",
        "kingly://context, counted in the loaded model's tokens",
    )?);
    let mut per_token = Vec::new();
    for (threads, prompt_figure, generate_figure, goal) in [
        (
            1,
            (
                "llm_prompt_instructions_per_token_1core",
                "prompt evaluation per token, one core",
            ),
            (
                "llm_generate_instructions_per_token_1core",
                "generation per token, one core",
            ),
            Some(133e6),
        ),
        (
            4,
            (
                "llm_prompt_instructions_per_token_4core",
                "prompt evaluation per token, four cores (all cores counted)",
            ),
            (
                "llm_generate_instructions_per_token_4core",
                "generation per token, four cores (all cores counted)",
            ),
            None,
        ),
    ] {
        let run = structured(qemu.call_tool(
            "llm_generate",
            json!({"prompt": LLM_PROMPT, "max_tokens": LLM_TOKENS, "n_threads": threads}),
        )?)?;
        let timing = &run["timing"];
        // The first generated token comes from the prompt's evaluation;
        // generation_ns covers the ones after it.
        let generated = number(&run, "generated_tokens")?;
        let generate = number(timing, "generation_ns")? / (generated - 1.0).max(1.0);
        figures.push(Figure {
            name: prompt_figure.0,
            what: prompt_figure.1,
            value: number(timing, "prompt_ns")? / number(&run, "prompt_tokens")?.max(1.0),
            unit: "instructions/token",
            goal: None,
        });
        figures.push(Figure {
            name: generate_figure.0,
            what: generate_figure.1,
            value: generate,
            unit: "instructions/token",
            goal,
        });
        per_token.push(generate);
        report.tokens.push(Series {
            label: format!("{threads} core{}", if threads == 1 { "" } else { "s" }),
            points: cumulative(number(timing, "prompt_ns")?, &timing["step_ns"]),
        });
    }
    figures.push(Figure {
        name: "llm_four_core_overhead",
        what: "generation per token, four cores against one (total instructions)",
        value: per_token[1] / per_token[0],
        unit: "ratio",
        goal: Some(1.1),
    });
    Ok(())
}

/// `agent_ask` twice: the first evaluates the fixed prompt, the second
/// reuses its KV cache.
fn agent_figures(qemu: &mut QemuMcp, report: &mut Report) -> Result<()> {
    let figures = &mut report.figures;
    let ask = json!({"request": AGENT_REQUEST});
    let first = structured(qemu.call_tool("agent_ask", ask.clone())?)?;
    let second = structured(qemu.call_tool("agent_ask", ask)?)?;
    figures.push(Figure {
        name: "agent_prefix_instructions",
        what: "agent_ask's fixed prompt (system, tools, examples), evaluated once per model",
        value: number(&first["timing"], "prefix_ns")?,
        unit: "instructions",
        goal: None,
    });
    figures.push(Figure {
        name: "agent_request_to_tool_instructions",
        what: "agent_ask \"what is the board temperature?\": request to chosen tool, prefix cached",
        value: number(&second["timing"], "choose_ns")?,
        unit: "instructions",
        goal: None,
    });
    Ok(())
}

/// (tokens, instructions so far): the prompt at 0, then each step's cost added.
fn cumulative(prompt: f64, steps: &Value) -> Vec<(f64, f64)> {
    let mut total = prompt;
    let mut points = vec![(0.0, total)];
    for (i, step) in steps.as_array().into_iter().flatten().enumerate() {
        total += step.as_f64().unwrap_or(0.0);
        points.push(((i + 1) as f64, total));
    }
    points
}

fn structured(result: Value) -> Result<Value> {
    if result["isError"] == true {
        return Err(Error::Protocol(format!("measurement failed: {result}")));
    }
    Ok(result["structuredContent"].clone())
}

fn number(object: &Value, key: &str) -> Result<f64> {
    object[key]
        .as_f64()
        .ok_or_else(|| Error::Protocol(format!("no number {key:?} in {object}")))
}

/// The figures as a table for people.
pub fn table(figures: &[Figure]) -> String {
    let mut out = format!(
        "guest instructions under qemu {} {}\n{:<42} {:>14}  {:<18} {:>11}  {}\n",
        ICOUNT_ARGS[0], ICOUNT_ARGS[1], "figure", "value", "unit", "goal", "what"
    );
    for f in figures {
        // Ratios and per-byte figures need decimals; counts do not.
        let decimals = if f.value < 100.0 { 2 } else { 0 };
        let goal = f
            .goal
            .map_or_else(|| "-".to_string(), |g| format!("{g:.decimals$}"));
        out.push_str(&format!(
            "{:<42} {:>14}  {:<18} {:>11}  {}\n",
            f.name,
            format!("{:.decimals$}", f.value),
            f.unit,
            goal,
            f.what
        ));
    }
    out
}

/// The figures as one JSON object for machines: name → {value, unit, goal, what}.
pub fn to_json(figures: &[Figure]) -> Value {
    let map = figures
        .iter()
        .map(|f| {
            (
                f.name.to_string(),
                json!({"value": f.value, "unit": f.unit, "goal": f.goal, "what": f.what}),
            )
        })
        .collect::<serde_json::Map<_, _>>();
    Value::Object(map)
}
