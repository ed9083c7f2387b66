//! The example program (/APPS/SENSOR.ELF): reads the SoC temperature
//! (`sys_info`), toggles a GPIO output (`gpio_mode`, `gpio_read`,
//! `gpio_write`) and appends a line about both to a file on the card
//! (`fs_write` in append mode), all through `svc`.
//!
//! args (all optional): {"pin": BCM number (default 21), "file": path
//! (default /SENSOR.LOG)}.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use kingly_app::{call_tool, json, println, serde_json, Error, Value};

kingly_app::entry!(main);

const DEFAULT_PIN: u64 = 21;
const DEFAULT_FILE: &str = "/SENSOR.LOG";

fn main(args: &str) -> i32 {
    let args: Value = serde_json::from_str(args).unwrap_or(Value::Null);
    let pin = args["pin"].as_u64().unwrap_or(DEFAULT_PIN);
    let file = args["file"].as_str().unwrap_or(DEFAULT_FILE);
    match run(pin, file) {
        Ok(()) => 0,
        Err(e) => {
            println!("error: {e}");
            1
        }
    }
}

fn run(pin: u64, file: &str) -> Result<(), Error> {
    let info = call_tool("sys_info", json!({}))?;
    let temperature = &info["temperature_millicelsius"];
    println!("temperature_millicelsius: {temperature}");

    call_tool("gpio_mode", json!({"pin": pin, "mode": "output"}))?;
    let before = call_tool("gpio_read", json!({"pin": pin}))?["level"] == true;
    let after = call_tool("gpio_write", json!({"pin": pin, "level": !before}))?["level"] == true;
    println!("gpio {pin}: {before} -> {after}");

    let uptime = &info["uptime_ms"];
    let line =
        format!("uptime_ms={uptime} temperature_millicelsius={temperature} gpio{pin}={after}\n");
    let written = call_tool(
        "fs_write",
        json!({"path": file, "data": line, "mode": "append"}),
    )?;
    println!("appended to {file}: size {}", written["size"]);
    Ok(())
}
