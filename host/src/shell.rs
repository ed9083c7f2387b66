//! `kingly shell`: a friendly, interactive MCP client for people.

use std::io::{BufRead, Write};
use std::path::Path;

use kingly::client::{into_result, QemuMcp, PROTOCOL_VERSION};
use kingly::error::{Error, Result};
use serde_json::{json, Value};

const HELP: &str = "\
commands:
  help                    this text
  info                    call sys_info and show the board facts
  tools                   list the kernel's tools
  call NAME [JSON]        call a tool, e.g.  call sys_info {}
  raw JSON                send one JSON-RPC line as typed and show the answer
  quit                    stop QEMU and leave (so does end of input)";

pub fn run(kernel8: &Path, image: &Path) -> Result<()> {
    eprintln!("kingly: booting {} in QEMU", image.display());
    // Dropping `mcp` (on any return below) kills and reaps QEMU.
    let mut mcp = QemuMcp::boot(kernel8, image, &[])?;
    let init = mcp.initialize(PROTOCOL_VERSION, "kingly-shell")?;
    let server = &init["serverInfo"];
    println!(
        "connected to {} {} (MCP {})",
        text(&server["name"]),
        text(&server["version"]),
        text(&init["protocolVersion"])
    );
    if let Some(instructions) = init.get("instructions").and_then(Value::as_str) {
        println!("{instructions}");
    }
    report(show_info(&mut mcp))?;
    report(show_tools(&mut mcp))?;
    println!("type `help` for commands");

    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    loop {
        print!("kingly> ");
        std::io::stdout().flush().ok();
        let Some(line) = lines.next() else {
            println!();
            break;
        };
        let line = line.map_err(|e| Error::Io { context: "read stdin".into(), source: e })?;
        let (command, rest) = line.trim().split_once(char::is_whitespace).unwrap_or((line.trim(), ""));
        let outcome = match command {
            "" => Ok(()),
            "help" | "?" => {
                println!("{HELP}");
                Ok(())
            }
            "quit" | "exit" => break,
            "info" => show_info(&mut mcp),
            "tools" => show_tools(&mut mcp),
            "call" => call(&mut mcp, rest.trim()),
            "raw" => raw(&mut mcp, rest.trim()),
            other => {
                println!("unknown command `{other}`; type `help`");
                Ok(())
            }
        };
        report(outcome)?;
        for notification in mcp.take_notifications() {
            println!("notification: {notification}");
        }
    }
    mcp.shutdown().map(drop)
}

/// Prints a failed command and carries on, unless QEMU is gone.
fn report(outcome: Result<()>) -> Result<()> {
    match outcome {
        Err(e @ Error::Qemu(_)) => Err(e),
        Err(e) => {
            println!("error: {e}");
            Ok(())
        }
        Ok(()) => Ok(()),
    }
}

fn show_info(mcp: &mut QemuMcp) -> Result<()> {
    let result = mcp.call_tool("sys_info", json!({}))?;
    let facts = result.get("structuredContent").cloned().unwrap_or(Value::Null);
    if !facts.is_object() {
        return print_tool_result(&result);
    }
    println!("board");
    for (key, value) in facts.as_object().into_iter().flatten() {
        println!("  {:<26} {}", key.replace('_', " "), describe(key, value));
    }
    Ok(())
}

/// One board fact in human units where the name says what the unit is.
fn describe(key: &str, value: &Value) -> String {
    let n = value.as_f64();
    match (key, n) {
        (k, Some(ms)) if k.ends_with("_ms") => format!("{:.3} s", ms / 1000.0),
        (k, Some(hz)) if k.ends_with("_hz") => format!("{:.3} MHz", hz / 1e6),
        (k, Some(mc)) if k.ends_with("_millicelsius") => format!("{:.1} °C", mc / 1000.0),
        (_, _) if value.get("base").is_some() && value.get("size").is_some() => {
            let base = value["base"].as_u64().unwrap_or(0);
            let size = value["size"].as_u64().unwrap_or(0);
            format!("{base:#010x} + {} MiB", size >> 20)
        }
        (_, _) if value.get("used").is_some() && value.get("free").is_some() => {
            let used = value["used"].as_u64().unwrap_or(0);
            let free = value["free"].as_u64().unwrap_or(0);
            format!("{} KiB used, {} KiB free", used >> 10, free >> 10)
        }
        _ => text(value),
    }
}

fn show_tools(mcp: &mut QemuMcp) -> Result<()> {
    let tools = mcp.list_tools()?;
    println!("tools");
    for tool in &tools {
        let description = tool["description"].as_str().unwrap_or("").lines().next().unwrap_or("");
        println!("  {:<26} {description}", text(&tool["name"]));
    }
    Ok(())
}

fn call(mcp: &mut QemuMcp, rest: &str) -> Result<()> {
    let (name, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    if name.is_empty() {
        println!("usage: call NAME [JSON arguments]");
        return Ok(());
    }
    let args = if args.trim().is_empty() { json!({}) } else { parse(args)? };
    let result = mcp.call_tool(name, args)?;
    print_tool_result(&result)
}

fn print_tool_result(result: &Value) -> Result<()> {
    if result["isError"] == json!(true) {
        println!("the tool reported an error:");
    }
    if let Some(structured) = result.get("structuredContent") {
        println!("{}", pretty(structured));
        return Ok(());
    }
    for block in result["content"].as_array().into_iter().flatten() {
        match block["type"].as_str() {
            Some("text") => println!("{}", text(&block["text"])),
            _ => println!("{}", pretty(block)),
        }
    }
    Ok(())
}

/// Sends the line as typed: invalid JSON is sent too (the kernel's answer to
/// it is the point), and then the answer with id null is awaited.
fn raw(mcp: &mut QemuMcp, line: &str) -> Result<()> {
    let mut bytes = line.as_bytes().to_vec();
    bytes.push(b'\n');
    mcp.send_raw(&bytes)?;
    let id = match serde_json::from_str::<Value>(line) {
        Ok(message) => match message.get("id") {
            Some(id) => id.clone(),
            None => {
                println!("sent (a notification: no answer expected)");
                return Ok(());
            }
        },
        Err(_) => Value::Null,
    };
    let response = mcp.wait_for_response(&id, "the raw request")?;
    println!("{}", pretty(&response));
    if let Err(e @ Error::Rpc { .. }) = into_result(response) {
        println!("({e})");
    }
    Ok(())
}

fn parse(json_text: &str) -> Result<Value> {
    serde_json::from_str(json_text).map_err(|e| Error::Protocol(format!("arguments are not JSON: {e}")))
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// A JSON string without quotes; anything else as JSON.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "?".into(),
        other => other.to_string(),
    }
}
