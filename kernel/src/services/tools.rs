//! The OS's MCP tools. Every value a tool reports is read from the hardware
//! at the time of the call or at boot; none is hard-coded.

use crate::{board, console, cpu, heap, smp};
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use mcp::{Server, ServerInfo, Tool, ToolResult};
use rpi4::generic_timer;
use serde_json::{json, Map, Value};

pub const KERNEL_VERSION: &str = env!("CARGO_PKG_VERSION");

pub fn registry() -> Server {
    let mut server = Server::new(ServerInfo {
        name: "kingly-os",
        title: "Kingly OS",
        version: KERNEL_VERSION,
        instructions: Some(
            "Kingly OS is a bare-metal OS on a Raspberry Pi 4 (or QEMU raspi4b). Every OS service is an MCP tool; \
             call sys_info for the board, memory, cores and temperature.",
        ),
    });
    server.add_tool(sys_info());
    server
}

fn region_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"base": {"type": "integer"}, "size": {"type": "integer"}},
        "required": ["base", "size"]
    })
}

fn sys_info() -> Tool {
    Tool {
        name: "sys_info",
        title: "System information",
        description: "Board revision and serial, firmware, memory regions, cores online, exception level, \
                      timer frequency, uptime, SoC temperature, heap usage and clock rates, all read from the hardware.",
        input_schema: json!({"type": "object", "properties": {}, "additionalProperties": false}),
        output_schema: Some(json!({
            "type": "object",
            "properties": {
                "board_revision": {"type": ["string", "null"], "description": "revision code, hex; null if the firmware did not answer"},
                "board_serial": {"type": ["string", "null"], "description": "64-bit serial, hex"},
                "firmware_revision": {"type": ["integer", "null"]},
                "arm_memory": region_schema(),
                "vc_memory": {"anyOf": [region_schema(), {"type": "null"}]},
                "ram_bytes": {"type": "integer"},
                "cores_online": {"type": "integer"},
                "exception_level": {"type": "integer"},
                "cntfrq_hz": {"type": "integer"},
                "uptime_ms": {"type": "integer"},
                "temperature_millicelsius": {"type": ["integer", "null"]},
                "heap": {
                    "type": "object",
                    "properties": {"used": {"type": "integer"}, "free": {"type": "integer"}},
                    "required": ["used", "free"]
                },
                "clocks_hz": {
                    "type": "object",
                    "description": "clock rates the firmware reports; null where it did not answer",
                    "properties": {
                        "arm": {"type": ["integer", "null"]},
                        "core": {"type": ["integer", "null"]},
                        "uart": {"type": "integer"},
                        "emmc": {"type": ["integer", "null"]}
                    }
                },
                "uart_baud": {"type": "integer"},
                "cmdline": {"type": "string"},
                "dtb_address": {"type": ["string", "null"], "description": "device tree the firmware passed in x0, if any"},
                "kernel_version": {"type": "string"}
            },
            "required": [
                "board_revision", "board_serial", "firmware_revision", "arm_memory", "vc_memory",
                "cores_online", "exception_level", "cntfrq_hz", "uptime_ms", "temperature_millicelsius",
                "heap", "kernel_version"
            ]
        })),
        handler: Box::new(|args: &Map<String, Value>| {
            if let Some(key) = args.keys().next() {
                return ToolResult::Error(format!("sys_info takes no arguments (got \"{key}\")"));
            }
            ToolResult::Structured(sys_info_now())
        }),
    }
}

fn hex(v: Option<impl core::fmt::LowerHex>) -> Value {
    v.map_or(Value::Null, |v| Value::String(format!("{v:#x}")))
}

fn sys_info_now() -> Value {
    let f = board::facts();
    let freq = generic_timer::frequency_hz();
    let (heap_used, heap_free) = heap::usage();
    let region = |r: board::Region| json!({"base": r.base, "size": r.size});
    json!({
        "board_revision": hex(f.board_revision),
        "board_serial": f.board_serial.map_or(Value::Null, |s| Value::String(format!("{s:#018x}"))),
        "firmware_revision": f.firmware_revision,
        "arm_memory": region(f.arm_memory),
        "vc_memory": f.vc_memory.map_or(Value::Null, region),
        "ram_bytes": f.ram_bytes,
        "cores_online": smp::cores_responding(),
        "exception_level": cpu::exception_level(),
        "cntfrq_hz": freq,
        "uptime_ms": generic_timer::ticks_to_ms(generic_timer::ticks(), freq),
        "temperature_millicelsius": board::temperature_millicelsius().ok(),
        "heap": {"used": heap_used, "free": heap_free},
        "clocks_hz": {"arm": f.arm_clock_hz, "core": f.core_clock_hz, "uart": f.uart_clock_hz, "emmc": f.emmc_clock_hz},
        "uart_baud": console::baud(),
        "cmdline": f.cmdline.as_str(),
        "dtb_address": hex(f.dtb_address),
        "kernel_version": KERNEL_VERSION,
    })
}
