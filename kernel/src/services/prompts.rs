//! The kernel's MCP prompts: ready-made requests a client can hand a model,
//! filled in with what the board says right now.

use super::tools::sys_info_now;
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use mcp::prompts::{Prompt, PromptArgument, PromptMessage, PromptResult, Role};
use serde_json::{Map, Value};

const FOCUS: [&str; 5] = ["all", "memory", "cores", "thermal", "clocks"];

pub fn all() -> Vec<Prompt> {
    vec![board_report(), explain_fault()]
}

fn board_report() -> Prompt {
    Prompt {
        name: "board_report",
        title: "Board report",
        description: "Asks for a short health report of the board from its current facts.",
        arguments: vec![PromptArgument {
            name: "focus",
            description: "what to concentrate on: all, memory, cores, thermal or clocks",
            required: false,
        }],
        get: Box::new(|args: &Map<String, Value>| {
            let focus = args.get("focus").and_then(Value::as_str).unwrap_or("all");
            if !FOCUS.contains(&focus) {
                return Err(format!(
                    "unknown focus \"{focus}\" (one of {})",
                    FOCUS.join(", ")
                ));
            }
            let facts = mcp::json_out::object_to_string(&sys_info_now());
            let text = format!(
                "Here are the current facts of my Kingly OS board (a Raspberry Pi 4 or QEMU raspi4b), as JSON:\n\n\
                 {facts}\n\nWrite a short health report{}. Point out anything unusual \
                 (cores offline, low free heap, high temperature, unexpected clock rates).",
                if focus == "all" { String::new() } else { format!(" focusing on {focus}") }
            );
            Ok(PromptResult {
                description: Some(format!("Board report ({focus})")),
                messages: vec![PromptMessage {
                    role: Role::User,
                    text,
                }],
            })
        }),
        complete: Some(Box::new(|arg: &str, prefix: &str| {
            if arg != "focus" {
                return Vec::new();
            }
            FOCUS
                .iter()
                .filter(|f| f.starts_with(prefix))
                .map(|f| String::from(*f))
                .collect()
        })),
    }
}

fn explain_fault() -> Prompt {
    Prompt {
        name: "explain_fault",
        title: "Explain a kernel fault",
        description: "Asks for an explanation of an emergency report the kernel sent (notifications/message at \
                      level emergency: ESR, ELR, FAR, core).",
        arguments: vec![PromptArgument {
            name: "report",
            description: "the report's data object, as JSON text",
            required: true,
        }],
        get: Box::new(|args: &Map<String, Value>| {
            let report = args.get("report").and_then(Value::as_str).unwrap_or_default();
            let text = format!(
                "My Kingly OS kernel (bare-metal AArch64 on a Raspberry Pi 4, EL1, identity-mapped, 4 KiB pages) \
                 halted with this fault report:\n\n{report}\n\nDecode the ESR (exception class, ISS fields such as \
                 DFSC/IFSC and WnR), say what the faulting access was, and suggest where to look in the kernel."
            );
            Ok(PromptResult {
                description: Some(String::from("Explain a kernel fault")),
                messages: vec![PromptMessage { role: Role::User, text }],
            })
        }),
        complete: None,
    }
}
