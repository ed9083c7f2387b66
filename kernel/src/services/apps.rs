//! EL0 programs as tools: `app_run` loads an ELF from the card and runs it
//! at EL0 on a free secondary core (see `el0`); `app_list` lists /APPS.

use crate::el0::{self, space::AddressSpace, trap::Ending, trap::StopReason};
use crate::klog;
use crate::storage::{self, FsError};
use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use mcp::{Context, Tool, ToolResult};
use serde_json::{json, Map, Value};

/// Where programs live on the card.
pub const APPS_DIR: &str = "/APPS";
/// Largest ELF file `app_run` reads (the user window is 2 MiB).
const MAX_ELF_BYTES: u32 = 1 << 20;
const DEFAULT_TIMEOUT_MS: u64 = 10_000;
const MAX_TIMEOUT_MS: u64 = 600_000;

/// The tools; `test_tools` adds `app_echo`.
pub fn all(test_tools: bool) -> Vec<Tool> {
    let mut tools = vec![app_run(), app_list()];
    if test_tools {
        tools.push(app_echo());
    }
    tools
}

/// The trivial tool the svc round-trip measurement calls (the same result
/// as `bench_mcp_dispatch`'s private `echo`, so the two figures compare).
fn app_echo() -> Tool {
    Tool {
        name: "app_echo",
        title: "Echo (test)",
        description: "Returns {\"ok\": true}. Test-only (test_tools=1): the trivial tool EL0 programs call to measure \
                      one svc round trip.",
        // `{"type": "object"}` alone, as `echo`'s: calls skip the schema check.
        input_schema: json!({"type": "object"}),
        output_schema: None,
        handler: Box::new(|_: &Map<String, Value>, _: &mut dyn Context| {
            ToolResult::Structured(mcp::object! {"ok": true})
        }),
    }
}

/// `SENSOR` → `/APPS/SENSOR.ELF`; an absolute path stays as it is.
fn resolve(path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else if path.contains('.') {
        format!("{APPS_DIR}/{path}")
    } else {
        format!("{APPS_DIR}/{path}.ELF")
    }
}

fn read_elf(path: &str) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    storage::read_whole(
        path,
        |size| {
            if size > MAX_ELF_BYTES {
                return Err(FsError(format!(
                    "{path}: {size} bytes, programs may have at most {MAX_ELF_BYTES}"
                )));
            }
            bytes = vec![0u8; size as usize];
            Ok(&mut bytes[..])
        },
        |_| {},
    )
    .map_err(|e| e.0)?;
    Ok(bytes)
}

fn app_run() -> Tool {
    Tool {
        name: "app_run",
        title: "Run a program",
        description: "Runs an AArch64 ELF program from the card at EL0 on a free secondary core, with its own stack and \
                      memory (W^X, kernel memory out of reach). The program's only system call is `svc #0`: a \
                      postcard-encoded MCP tools/call, so it can call every tool the OS offers (except app_run). \
                      Returns its exit code, output and the instructions it took; a program that faults is ended and \
                      reported (isError), one that runs past timeout_ms is stopped. Programs live in /APPS (app_list).",
        input_schema: json!({
            "type": "object",
            "properties": {
                "path": {"type": "string", "minLength": 1, "maxLength": storage::MAX_PATH_BYTES,
                         "description": "the ELF on the card, e.g. /APPS/SENSOR.ELF, or just SENSOR for /APPS/SENSOR.ELF"},
                "args": {"type": "object", "description": "handed to the program as JSON text (default {})"},
                "timeout_ms": {"type": "integer", "minimum": 1, "maximum": MAX_TIMEOUT_MS,
                               "description": "stop the program after this long (default 10000)"}
            },
            "required": ["path"],
            "additionalProperties": false
        }),
        output_schema: Some(json!({
            "type": "object",
            "properties": {
                "path": {"type": "string"},
                "exit_code": {"type": "integer", "description": "the program's main's return value"},
                "output": {"type": "string", "description": "what the program printed (at most 16 KiB)"},
                "instructions": {"type": ["integer", "null"], "description": "instructions retired on the program's core while it ran, at EL0 and EL1 (its system calls included); null without a PMU that counts them (QEMU needs -icount)"},
                "user_instructions": {"type": ["integer", "null"], "description": "the same at EL0 only"},
                "run_ns": {"type": "integer", "description": "generic-timer time the program ran"},
                "tool_calls": {"type": "integer"},
                "core": {"type": "integer"}
            },
            "required": ["path", "exit_code", "output", "instructions", "tool_calls", "core"]
        })),
        handler: Box::new(|args: &Map<String, Value>, ctx: &mut dyn Context| {
            if el0::in_program() {
                return ToolResult::Error("app_run cannot be called from a program".into());
            }
            let Some(toolbox) = ctx.toolbox() else {
                return ToolResult::Error("app_run needs the server's toolbox, which this caller does not offer".into());
            };
            let path = resolve(args.get("path").and_then(Value::as_str).unwrap_or_default());
            let timeout_ms = args.get("timeout_ms").and_then(Value::as_u64).unwrap_or(DEFAULT_TIMEOUT_MS);
            let program_args = args
                .get("args")
                .map_or_else(|| String::from("{}"), |v| serde_json::to_string(v).unwrap_or_default());
            let file = match read_elf(&path) {
                Ok(file) => file,
                Err(why) => return ToolResult::Error(why),
            };
            let space = el0::elf::parse(&file).and_then(|program| AddressSpace::load(&program, program_args.as_bytes()));
            let space = match space {
                Ok(space) => space,
                Err(why) => return ToolResult::Error(format!("{path}: not a program this kernel runs: {why}")),
            };
            drop(file);
            let outcome = match el0::run(space, toolbox, timeout_ms, ctx) {
                Ok(outcome) => outcome,
                Err(why) => return ToolResult::Error(format!("{path}: {why}")),
            };
            let (code, output) = match outcome.ending {
                Ending::Exited { code, output } => (code, output),
                Ending::Fault(report) => {
                    let message = format!(
                        "{path} faulted and was ended (the kernel keeps serving): {report}; {} tool calls",
                        outcome.tool_calls
                    );
                    klog!(Warning, "{message}");
                    return ToolResult::Error(message);
                }
                Ending::Stopped(StopReason::Timeout) => {
                    return ToolResult::Error(format!("{path} ran past timeout_ms ({timeout_ms} ms) and was stopped"))
                }
                Ending::Stopped(StopReason::Cancelled) => {
                    return ToolResult::Error(format!("{path} was stopped: the call was cancelled"))
                }
            };
            let (user, all) = if outcome.counted_instructions { outcome.instructions } else { (None, None) };
            ToolResult::Structured(mcp::object! {
                "path": path,
                "exit_code": code,
                "output": output,
                "instructions": all,
                "user_instructions": user,
                "run_ns": el0::ticks_to_ns(outcome.ticks),
                "tool_calls": outcome.tool_calls,
                "core": outcome.core,
            })
        }),
    }
}

fn app_list() -> Tool {
    Tool {
        name: "app_list",
        title: "List programs",
        description:
            "The programs app_run can run: the .ELF files in /APPS on the card, with their sizes.",
        input_schema: json!({"type": "object", "properties": {}, "additionalProperties": false}),
        output_schema: Some(json!({
            "type": "object",
            "properties": {
                "programs": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"name": {"type": "string"}, "path": {"type": "string"}, "size": {"type": "integer"}},
                        "required": ["name", "path", "size"]
                    }
                }
            },
            "required": ["programs"]
        })),
        handler: Box::new(|_: &Map<String, Value>, _: &mut dyn Context| {
            let entries = match storage::list(APPS_DIR) {
                Ok(entries) => entries,
                Err(e) if !storage::stat(APPS_DIR).is_ok_and(|d| d.is_dir) => {
                    klog!(Debug, "app_list: {}", e.0);
                    Vec::new()
                }
                Err(e) => return ToolResult::Error(e.0),
            };
            let programs: Vec<Value> = entries
                .iter()
                .filter(|e| !e.is_dir && e.name.to_ascii_uppercase().ends_with(".ELF"))
                .map(|e| json!({"name": e.name, "path": format!("{APPS_DIR}/{}", e.name), "size": e.size}))
                .collect();
            ToolResult::Structured(mcp::object! {"programs": programs})
        }),
    }
}
