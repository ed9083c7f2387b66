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
        let line = line.map_err(|e| Error::Io {
            context: "read stdin".into(),
            source: e,
        })?;
        let (command, rest) = line
            .trim()
            .split_once(char::is_whitespace)
            .unwrap_or((line.trim(), ""));
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
    let Some(facts) = result.get("structuredContent").and_then(Value::as_object) else {
        return print_tool_result(&result);
    };
    println!("board");
    for (key, value) in facts {
        let (label, shown) = describe(key, value);
        println!("  {label:<20} {shown}");
    }
    Ok(())
}

/// A board fact as (label, value in human units), where the key's suffix or
/// the value's shape says what the unit is.
fn describe(key: &str, value: &Value) -> (String, String) {
    let label = |suffix: &str| key.trim_end_matches(suffix).replace('_', " ");
    let n = value.as_f64();
    let u = |field: &str| value.get(field).and_then(Value::as_u64);
    match n {
        Some(ms) if key.ends_with("_ms") => (label("_ms"), format!("{:.3} s", ms / 1000.0)),
        Some(mc) if key.ends_with("_millicelsius") => {
            (label("_millicelsius"), format!("{:.1} °C", mc / 1000.0))
        }
        Some(hz) if key.ends_with("_hz") => (label("_hz"), format!("{} MHz", hz / 1e6)),
        Some(b) if key.ends_with("_bytes") => (label("_bytes"), bytes(b as u64)),
        _ if key.ends_with("_hz") && value.is_object() => {
            let rates = value.as_object().into_iter().flatten();
            let shown: Vec<String> = rates
                .map(|(name, hz)| format!("{name} {} MHz", hz.as_f64().unwrap_or(0.0) / 1e6))
                .collect();
            (label("_hz"), shown.join(", "))
        }
        _ => match (u("base"), u("size"), u("used"), u("free")) {
            (Some(base), Some(size), _, _) => (label(""), format!("{base:#010x}, {}", bytes(size))),
            (_, _, Some(used), Some(free)) => (
                label(""),
                format!("{} used, {} free", bytes(used), bytes(free)),
            ),
            _ => (label(""), text(value)),
        },
    }
}

/// A byte count in the largest binary unit that keeps it at least 1.
fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["bytes", "KiB", "MiB", "GiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    match unit {
        0 => format!("{n} bytes"),
        _ => format!("{value:.1} {}", UNITS[unit]),
    }
}

fn show_tools(mcp: &mut QemuMcp) -> Result<()> {
    let tools = mcp.list_tools()?;
    println!("tools");
    for tool in &tools {
        let description = tool["description"]
            .as_str()
            .unwrap_or("")
            .lines()
            .next()
            .unwrap_or("");
        println!("  {:<20} {description}", text(&tool["name"]));
    }
    Ok(())
}

fn call(mcp: &mut QemuMcp, rest: &str) -> Result<()> {
    let (name, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    if name.is_empty() {
        println!("usage: call NAME [JSON arguments]");
        return Ok(());
    }
    let args = if args.trim().is_empty() {
        json!({})
    } else {
        parse(args)?
    };
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
    serde_json::from_str(json_text)
        .map_err(|e| Error::Protocol(format!("arguments are not JSON: {e}")))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn board_facts_read_in_human_units() {
        let show = |key: &str, value: Value| describe(key, &value);
        assert_eq!(
            show("uptime_ms", json!(1500)),
            ("uptime".into(), "1.500 s".into())
        );
        assert_eq!(
            show("cntfrq_hz", json!(62_500_000)),
            ("cntfrq".into(), "62.5 MHz".into())
        );
        assert_eq!(
            show("temperature_millicelsius", json!(25_000)),
            ("temperature".into(), "25.0 °C".into())
        );
        assert_eq!(
            show("ram_bytes", json!(2u64 << 30)),
            ("ram".into(), "2.0 GiB".into())
        );
        assert_eq!(
            show(
                "vc_memory",
                json!({"base": 0x3c00_0000u64, "size": 64u64 << 20})
            ),
            ("vc memory".into(), "0x3c000000, 64.0 MiB".into())
        );
        assert_eq!(
            show("heap", json!({"used": 512, "free": 2048})),
            ("heap".into(), "512 bytes used, 2.0 KiB free".into())
        );
        assert_eq!(
            show("kernel_version", json!("0.1.0")),
            ("kernel version".into(), "0.1.0".into())
        );
        assert_eq!(
            show("clocks_hz", json!({"arm": 700_000_000})),
            ("clocks".into(), "arm 700 MHz".into())
        );
    }
}
