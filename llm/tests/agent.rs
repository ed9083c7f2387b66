//! The agent's steps on the reference model, natively: the fixed prompt
//! evaluated once and its KV cache reused, then plain-language requests
//! that must come to the right tool and arguments. The tools mirror the
//! kernel's agent-choosable ones (names, titles, schemas with properties in
//! serde_json's order, as the kernel converts them); the kernel's own test
//! (tests/tests/agent.rs) asks the same through MCP.
mod common;

use llm::agent::{Agent, ToolSpec};
use llm::constrain::{Kind, ObjectSchema, Property};
use llm::model::{Model, Session};

fn prop(name: &str, kind: Kind, required: bool) -> Property {
    Property {
        name: name.into(),
        kind,
        required,
    }
}

fn int(min: i64, max: i64) -> Kind {
    Kind::Integer {
        min: Some(min),
        max: Some(max),
    }
}

fn path() -> Kind {
    Kind::String {
        min_len: 1,
        max_len: 255,
    }
}

fn tool(name: &str, summary: &str, properties: Vec<Property>) -> ToolSpec {
    ToolSpec {
        name: name.into(),
        summary: summary.into(),
        arguments: ObjectSchema::new(properties).unwrap(),
    }
}

fn enum_of(values: &[&str]) -> Kind {
    Kind::Enum(values.iter().map(|v| format!("\"{v}\"")).collect())
}

fn kernel_tools() -> Vec<ToolSpec> {
    vec![
        tool("sys_info", "System information", vec![]),
        tool(
            "gpio_mode",
            "Set a GPIO pin's function",
            vec![
                prop(
                    "mode",
                    enum_of(&[
                        "input", "output", "alt0", "alt1", "alt2", "alt3", "alt4", "alt5",
                    ]),
                    true,
                ),
                prop("pin", int(0, 57), true),
                prop("pull", enum_of(&["none", "up", "down"]), false),
            ],
        ),
        tool(
            "gpio_read",
            "Read a GPIO pin",
            vec![prop("pin", int(0, 57), true)],
        ),
        tool(
            "gpio_write",
            "Drive a GPIO output",
            vec![
                prop("level", Kind::Boolean, true),
                prop("pin", int(0, 57), true),
            ],
        ),
        tool("time_now", "Current time", vec![]),
        tool("sleep_ms", "Sleep", vec![prop("ms", int(0, 600_000), true)]),
        tool(
            "random_bytes",
            "Hardware random bytes",
            vec![prop("count", int(1, 4096), true)],
        ),
        tool(
            "fs_list",
            "List a directory",
            vec![prop("path", path(), true)],
        ),
        tool(
            "fs_stat",
            "Describe a file or directory",
            vec![prop("path", path(), true)],
        ),
        tool(
            "fs_read",
            "Read a file",
            vec![
                prop("encoding", enum_of(&["utf8", "base64"]), false),
                prop("length", int(0, 1 << 20), false),
                prop("offset", int(0, u32::MAX.into()), false),
                prop("path", path(), true),
            ],
        ),
    ]
}

/// (request, tool, arguments as JSON)
const CASES: &[(&str, &str, &str)] = &[
    ("what is the board temperature?", "sys_info", "{}"),
    (
        "set GPIO pin 17 high",
        "gpio_write",
        r#"{"pin":17,"level":true}"#,
    ),
    (
        "list the files in the root directory",
        "fs_list",
        r#"{"path":"/"}"#,
    ),
];

#[test]
fn requests_come_to_the_right_tool_and_arguments() {
    let arena = common::model_bytes();
    let model = Model::load(arena.bytes()).unwrap();
    let t = &model.tokenizer;
    let agent = Agent::new(t, kernel_tools());
    let prefix = agent.prefix_ids();
    println!("prefix: {} tokens", prefix.len());
    let mut session = Session::new(&model, prefix.len() + 512).unwrap();
    let start = std::time::Instant::now();
    session.eval(prefix).unwrap();
    println!("prefix evaluated in {:.2}s", start.elapsed().as_secs_f64());
    let mut cache = Some(session.into_cache());
    let never = &mut || false;
    let mut wrong = Vec::new();
    for &(request, want_tool, want_args) in CASES {
        let mut session = Session::resume(&model, cache.take().unwrap()).unwrap();
        session.truncate(prefix.len());
        let start = std::time::Instant::now();
        let (tool, pending) = agent.choose_tool(&mut session, request, never).unwrap();
        let chose = start.elapsed();
        let call = agent.arguments(&mut session, tool, pending, never).unwrap();
        let name = &agent.tools[tool].name;
        println!(
            "{request:?} -> {name} {} ({:.2}s to the tool, {:.2}s with arguments)",
            call.arguments,
            chose.as_secs_f64(),
            start.elapsed().as_secs_f64()
        );
        let prompt = llm::agent::answer_prompt(t, request, "ok: true");
        let mut answering = Session::new(&model, prompt.len() + 24).unwrap();
        let answer = answering
            .generate_greedy(&prompt, 24, &[t.token_id("<|im_end|>").unwrap()])
            .unwrap();
        println!("    answer: {:?}", t.decode(&answer.ids));
        let got: serde_json::Value = serde_json::from_str(&call.arguments).unwrap();
        let want: serde_json::Value = serde_json::from_str(want_args).unwrap();
        if name != want_tool || got != want {
            wrong.push(format!("{request:?}: {name} {got}, not {want_tool} {want}"));
        }
        cache = Some(session.into_cache());
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn a_kept_prefix_gives_the_logits_of_a_fresh_evaluation() {
    let arena = common::model_bytes();
    let model = Model::load(arena.bytes()).unwrap();
    let t = &model.tokenizer;
    let prefix = t.encode("The Raspberry Pi is a small", false);
    let more = t.encode(" computer that", false);
    let other = t.encode(" board with", false);
    let mut fresh = Session::new(&model, 64).unwrap();
    fresh.eval(&prefix).unwrap();
    let want = fresh.eval(&more).unwrap();
    let mut kept = Session::new(&model, 64).unwrap();
    kept.eval(&prefix).unwrap();
    kept.eval(&other).unwrap();
    let mut kept = Session::resume(&model, kept.into_cache()).unwrap();
    kept.truncate(prefix.len());
    assert_eq!(kept.n_past(), prefix.len());
    assert_eq!(kept.eval(&more).unwrap(), want);
}
