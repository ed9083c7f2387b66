//! The OS's MCP tools. Every value a tool reports is read from the hardware
//! at the time of the call or at boot; none is hard-coded. Arguments arrive
//! already checked against each tool's `inputSchema` by the `mcp` server.

use super::{bench, KERNEL_VERSION};
use crate::memtest::{self, MemTestError};
use crate::{board, console, cpu, heap, klog, log_uart, rng, smp, timer, watchdog};
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use mcp::{Context, LogLevel, Object, Tool, ToolResult};
use rpi4::generic_timer;
use serde_json::{json, Map, Value};

/// The tools every kernel offers (the board's own are in `board_tools`).
pub fn all() -> Vec<Tool> {
    vec![sys_info(), mem_test(), bench_mcp_dispatch()]
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
                      timer frequency, uptime, SoC temperature and its limit, heap usage, clock rates, throttling, \
                      device power, watchdog, RNG and log-mirror state, all read from the hardware.",
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
                "max_temperature_millicelsius": {"type": ["integer", "null"]},
                "clocks_hz": clocks_schema(),
                "throttled": {
                    "anyOf": [{"type": "null"}, {
                        "type": "object",
                        "description": "firmware throttling flags (mailbox tag 0x00030046)",
                        "properties": {
                            "raw": {"type": "string"},
                            "under_voltage": {"type": "boolean"},
                            "arm_frequency_capped": {"type": "boolean"},
                            "throttled": {"type": "boolean"},
                            "soft_temperature_limit": {"type": "boolean"},
                            "occurred_since_boot": {"type": "boolean"}
                        },
                        "required": ["raw"]
                    }]
                },
                "power": {
                    "type": "object",
                    "description": "device power as the firmware reports it: true on, false off, null unknown",
                    "additionalProperties": {"type": ["boolean", "null"]}
                },
                "watchdog": {
                    "type": "object",
                    "properties": {
                        "hardware_armed": {"type": "boolean", "description": "PM_WDOG counts down and is armed (board); false where only PM_RSTC works (QEMU 10)"},
                        "hardware_timeout_ms": {"type": "integer"},
                        "heartbeat_timeout_ms": {"type": "integer"},
                        "ms_since_heartbeat": {"type": "integer"},
                        "reboot_pending": {"type": "boolean"},
                        "pm_rsts": {"type": ["string", "null"]}
                    },
                    "required": ["hardware_armed", "heartbeat_timeout_ms"]
                },
                "hardware_rng": {"type": "boolean"},
                "log_uart": {
                    "type": "object",
                    "properties": {"choice": {"type": "string"}, "running": {"type": "boolean"}},
                    "required": ["choice", "running"]
                },
                "system_timer": {
                    "type": "object",
                    "properties": {
                        "counter_us": {"type": ["integer", "null"]},
                        "compare_irq_reaches_gic": {"type": "boolean"}
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
                "heap", "clocks_hz", "throttled", "watchdog", "hardware_rng", "kernel_version"
            ]
        })),
        handler: Box::new(|_: &Map<String, Value>, _: &mut dyn Context| ToolResult::Structured(sys_info_now())),
    }
}

const MIB: u64 = 1 << 20;
const MEM_TEST_DEFAULT_BYTES: u64 = 16 * MIB;
const MEM_TEST_MAX_BYTES: u64 = 256 * MIB;
const MEM_TEST_MAX_PASSES: u64 = 16;

fn mem_test() -> Tool {
    Tool {
        name: "mem_test",
        title: "RAM test",
        description: "Allocates a buffer from the kernel heap and tests it: each pass writes an address-derived \
                      pattern and its inverse and reads both back. Reports progress per MiB (send a progressToken) \
                      and can be cancelled.",
        input_schema: json!({
            "type": "object",
            "properties": {
                "bytes": {"type": "integer", "minimum": MIB, "maximum": MEM_TEST_MAX_BYTES,
                          "description": "buffer size in bytes (default 16 MiB)"},
                "passes": {"type": "integer", "minimum": 1, "maximum": MEM_TEST_MAX_PASSES,
                           "description": "number of passes (default 1)"}
            },
            "additionalProperties": false
        }),
        output_schema: Some(json!({
            "type": "object",
            "properties": {
                "bytes": {"type": "integer"},
                "passes_done": {"type": "integer"},
                "errors": {"type": "integer"},
                "first_error_address": {"type": ["string", "null"]},
                "ms": {"type": "integer"}
            },
            "required": ["bytes", "passes_done", "errors", "first_error_address", "ms"]
        })),
        handler: Box::new(|args: &Map<String, Value>, ctx: &mut dyn Context| {
            let bytes = args.get("bytes").and_then(Value::as_u64).unwrap_or(MEM_TEST_DEFAULT_BYTES);
            let passes = args.get("passes").and_then(Value::as_u64).unwrap_or(1) as u32;
            let freq = generic_timer::frequency_hz();
            let start = generic_timer::ticks();
            let result = memtest::run(bytes as usize, passes, |done, total| {
                ctx.progress(done as f64, Some(total as f64), None);
                !ctx.cancelled()
            });
            let ms = generic_timer::ticks_to_ms(generic_timer::ticks() - start, freq);
            match result {
                Ok(o) => {
                    if o.errors > 0 {
                        klog!(Error, "mem_test: {} bad words in {} bytes, first at {:#x}", o.errors, o.bytes, o.first_error.unwrap_or(0));
                    } else {
                        klog!(Info, "mem_test: {} bytes, {} passes, no errors ({ms} ms)", o.bytes, o.passes_done);
                    }
                    ToolResult::Structured(mcp::object! {
                        "bytes": o.bytes,
                        "passes_done": o.passes_done,
                        "errors": o.errors,
                        "first_error_address": o.first_error.map(|a| format!("{a:#x}")),
                        "ms": ms,
                    })
                }
                Err(MemTestError::OutOfMemory) => {
                    let (_, free) = heap::usage();
                    ToolResult::Error(format!("the heap cannot provide {bytes} bytes ({free} bytes free)"))
                }
                Err(MemTestError::Stopped(o)) => {
                    ctx.log(LogLevel::Notice, "mem_test", json!({"stopped_after_passes": o.passes_done}));
                    ToolResult::Error(format!("stopped after {} of {passes} passes", o.passes_done))
                }
            }
        }),
    }
}

fn bench_mcp_dispatch() -> Tool {
    Tool {
        name: "bench_mcp_dispatch",
        title: "Measure MCP dispatch",
        description: "Runs a trivial tools/call through a private instance of the MCP server (parse, dispatch, \
                      serialize; no UART) `iterations` times and reports generic-timer ticks. Under \
                      qemu -icount shift=0, ns_per_iteration equals guest instructions per dispatch.",
        input_schema: json!({
            "type": "object",
            "properties": {
                "iterations": {"type": "integer", "minimum": 1, "maximum": 100000},
                "encoding": {"enum": ["json", "postcard"]},
                "request": {"enum": ["tools/call", "ping"],
                            "description": "JSON only: the trivial tools/call (default) or ping, the envelope alone"}
            },
            "additionalProperties": false
        }),
        output_schema: Some(json!({
            "type": "object",
            "properties": {
                "what": {"type": "string"},
                "iterations": {"type": "integer"},
                "ticks": {"type": "integer"},
                "cntfrq_hz": {"type": "integer"},
                "ns_per_iteration": {"type": "number"},
                "note": {"type": "string"}
            },
            "required": ["what", "iterations", "ticks", "cntfrq_hz", "ns_per_iteration"]
        })),
        handler: Box::new(|args: &Map<String, Value>, _: &mut dyn Context| {
            let iterations = args.get("iterations").and_then(Value::as_u64).unwrap_or(1000) as u32;
            let encoding = args.get("encoding").and_then(Value::as_str).unwrap_or("json");
            let request = args.get("request").and_then(Value::as_str).unwrap_or("tools/call");
            let measured = match (encoding, request) {
                ("postcard", "tools/call") => {
                    bench::postcard_dispatch(iterations).map(|m| m.to_object("postcard tools/call dispatch"))
                }
                ("postcard", _) => Err(String::from("the postcard measurement sends tools/call only")),
                (_, "ping") => bench::json_dispatch(iterations, bench::Request::Ping).map(|m| m.to_object("JSON ping dispatch")),
                _ => bench::json_dispatch(iterations, bench::Request::ToolsCall).map(|m| m.to_object("JSON tools/call dispatch")),
            };
            match measured {
                Ok(v) => ToolResult::Structured(v),
                Err(e) => ToolResult::Error(e),
            }
        }),
    }
}

fn hex(v: Option<impl core::fmt::LowerHex>) -> Value {
    v.map_or(Value::Null, |v| Value::String(format!("{v:#x}")))
}

fn clocks_schema() -> Value {
    let rate = json!({"type": ["integer", "null"]});
    json!({
        "type": "object",
        "description": "clock rates the firmware reports now; null where it did not answer",
        "properties": {"arm": rate, "core": rate, "uart": rate, "emmc": rate, "emmc2": rate}
    })
}

/// Current clock rates, by name.
pub fn clocks_json() -> Value {
    let mut clocks = Map::new();
    for (clock, hz) in board::clock_rates_hz() {
        clocks.insert(clock.name().into(), json!(hz));
    }
    Value::Object(clocks)
}

/// SoC temperature and the firmware's limit, in m°C (null if unanswered).
pub fn temperature_json() -> Value {
    json!({
        "millicelsius": board::temperature_millicelsius().ok(),
        "max_millicelsius": board::max_temperature_millicelsius().ok(),
    })
}

fn throttled_json() -> Value {
    match board::throttled() {
        Ok(raw) => json!({
            "raw": format!("{raw:#x}"),
            "under_voltage": raw & 1 != 0,
            "arm_frequency_capped": raw & 2 != 0,
            "throttled": raw & 4 != 0,
            "soft_temperature_limit": raw & 8 != 0,
            "occurred_since_boot": raw & 0xf_0000 != 0,
        }),
        Err(_) => Value::Null,
    }
}

fn power_json() -> Value {
    let mut power = Map::new();
    for (device, state) in board::power_states() {
        let on = state.filter(|s| s.exists).map(|s| s.on);
        power.insert(device.name().into(), json!(on));
    }
    Value::Object(power)
}

fn watchdog_json() -> Value {
    let w = watchdog::state();
    json!({
        "hardware_armed": w.hardware_armed,
        "hardware_timeout_ms": w.hardware_timeout_ms,
        "heartbeat_timeout_ms": w.heartbeat_timeout_ms,
        "ms_since_heartbeat": w.ms_since_beat,
        "reboot_pending": w.reboot_pending,
        "pm_rsts": hex(w.reset_status),
    })
}

/// What `sys_info` and `kingly://board` report.
pub fn sys_info_now() -> Object {
    let f = board::facts();
    let freq = generic_timer::frequency_hz();
    let (heap_used, heap_free) = heap::usage();
    let region = |r: board::Region| json!({"base": r.base, "size": r.size});
    let (mirror, mirror_running) = log_uart::status();
    mcp::object! {
        "board_revision": hex(f.board_revision),
        "board_serial": f.board_serial.map_or(Value::Null, |s| Value::String(format!("{s:#018x}"))),
        "firmware_revision": f.firmware_revision,
        "arm_memory": region(f.arm_memory),
        "vc_memory": f.vc_memory.map_or(Value::Null, region),
        "ram_bytes": f.ram_bytes,
        "cores_online": smp::cores_responding(),
        "exception_level": cpu::exception_level(),
        "cntfrq_hz": freq,
        "uptime_ms": timer::uptime_ms(),
        "temperature_millicelsius": board::temperature_millicelsius().ok(),
        "max_temperature_millicelsius": board::max_temperature_millicelsius().ok(),
        "heap": json!({"used": heap_used, "free": heap_free}),
        "clocks_hz": clocks_json(),
        "throttled": throttled_json(),
        "power": power_json(),
        "watchdog": watchdog_json(),
        "hardware_rng": rng::present(),
        "log_uart": json!({"choice": mirror.name(), "running": mirror_running}),
        "system_timer": json!({
                "counter_us": timer::system_timer_us(),
                "compare_irq_reaches_gic": timer::system_timer_irq_at_gic(),
            }),
        "uart_baud": console::baud(),
        "cmdline": f.cmdline.as_str(),
        "dtb_address": hex(f.dtb_address),
        "kernel_version": KERNEL_VERSION,
    }
}
