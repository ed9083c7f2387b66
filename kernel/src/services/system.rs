//! Time, randomness and the machine's life: `time_now`, `sleep_ms`,
//! `random_bytes`, `sys_reboot`, and the test-only `debug_hang`.

use crate::{rng, timer, watchdog};
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt::Write;
use mcp::{Context, Tool, ToolResult};
use rpi4::generic_timer::{self, Deadline};
use serde_json::{json, Map, Value};

pub fn all(test_tools: bool) -> Vec<Tool> {
    let mut tools = vec![time_now(), sleep_ms(), random_bytes(), sys_reboot()];
    if test_tools {
        tools.push(debug_hang());
    }
    tools
}

fn time_now() -> Tool {
    Tool {
        name: "time_now",
        title: "Current time",
        description: "Milliseconds since the kernel started, the raw generic-timer counter (CNTPCT_EL0) and its \
                      frequency (CNTFRQ_EL0), the BCM system timer's microsecond counter, and timer interrupts taken.",
        input_schema: json!({"type": "object", "properties": {}, "additionalProperties": false}),
        output_schema: Some(json!({
            "type": "object",
            "properties": {
                "uptime_ms": {"type": "integer", "description": "since the kernel started (this boot)"},
                "counter": {"type": "integer", "description": "CNTPCT_EL0 now"},
                "cntfrq_hz": {"type": "integer"},
                "boot_counter": {"type": "integer", "description": "CNTPCT_EL0 when the kernel started"},
                "ready_counter": {"type": "integer", "description": "CNTPCT_EL0 when the MCP loop started serving"},
                "system_timer_us": {"type": ["integer", "null"], "description": "BCM system timer, 1 MHz"},
                "timer_interrupts": {"type": "integer"}
            },
            "required": ["uptime_ms", "counter", "cntfrq_hz"]
        })),
        handler: Box::new(|_: &Map<String, Value>, _: &mut dyn Context| {
            ToolResult::Structured(mcp::object! {
                "uptime_ms": timer::uptime_ms(),
                "counter": generic_timer::ticks(),
                "cntfrq_hz": generic_timer::frequency_hz(),
                "boot_counter": timer::boot_ticks(),
                "ready_counter": timer::ready_ticks(),
                "system_timer_us": timer::system_timer_us(),
                "timer_interrupts": timer::interrupts(),
            })
        }),
    }
}

const SLEEP_MAX_MS: u64 = 600_000;
/// How often a sleep reports progress and checks for cancellation.
const SLEEP_SLICE_MS: u64 = 100;

fn sleep_ms() -> Tool {
    Tool {
        name: "sleep_ms",
        title: "Sleep",
        description: "Waits `ms` milliseconds in wfi (woken by the timer interrupt), reporting progress every 100 ms \
                      when asked (progressToken) and stopping when cancelled.",
        input_schema: json!({
            "type": "object",
            "properties": {"ms": {"type": "integer", "minimum": 0, "maximum": SLEEP_MAX_MS}},
            "required": ["ms"],
            "additionalProperties": false
        }),
        output_schema: Some(json!({
            "type": "object",
            "properties": {"slept_ms": {"type": "integer"}},
            "required": ["slept_ms"]
        })),
        handler: Box::new(|args: &Map<String, Value>, ctx: &mut dyn Context| {
            let ms = args.get("ms").and_then(Value::as_u64).unwrap_or(0);
            let start = timer::uptime_ms();
            let end = Deadline::after_ms(ms);
            while !end.expired() {
                let slice = Deadline::after_ms(SLEEP_SLICE_MS).min(end);
                if !timer::sleep_until(slice, || ctx.cancelled()) {
                    return ToolResult::Error(format!("cancelled after {} ms", timer::uptime_ms() - start));
                }
                let slept = (timer::uptime_ms() - start).min(ms);
                ctx.progress(slept as f64, Some(ms as f64), None);
            }
            ToolResult::Structured(mcp::object! {"slept_ms": timer::uptime_ms() - start})
        }),
    }
}

const RANDOM_MAX_BYTES: u64 = 4096;

fn random_bytes() -> Tool {
    Tool {
        name: "random_bytes",
        title: "Hardware random bytes",
        description:
            "Bytes from the BCM2711's RNG200, as hex. Where the machine has no hardware RNG \
                      (QEMU raspi4b) this is an error: numbers are never made up.",
        input_schema: json!({
            "type": "object",
            "properties": {"count": {"type": "integer", "minimum": 1, "maximum": RANDOM_MAX_BYTES}},
            "required": ["count"],
            "additionalProperties": false
        }),
        output_schema: Some(json!({
            "type": "object",
            "properties": {
                "count": {"type": "integer"},
                "hex": {"type": "string", "description": "2 × count lowercase hex digits"},
                "source": {"type": "string"}
            },
            "required": ["count", "hex", "source"]
        })),
        handler: Box::new(|args: &Map<String, Value>, _: &mut dyn Context| {
            let count = args.get("count").and_then(Value::as_u64).unwrap_or(1) as usize;
            let mut bytes = vec![0u8; count];
            match rng::fill(&mut bytes) {
                Ok(()) => {
                    let mut hex = String::with_capacity(count * 2);
                    for b in &bytes {
                        let _ = write!(hex, "{b:02x}");
                    }
                    ToolResult::Structured(
                        mcp::object! {"count": count, "hex": hex, "source": "RNG200"},
                    )
                }
                Err(rng::Error::Absent) => ToolResult::Error(String::from(
                    "no hardware RNG: the RNG200 at 0xfe104000 did not answer the boot probe",
                )),
                Err(rng::Error::Timeout) => ToolResult::Error(String::from(
                    "the hardware RNG produced no data within a second",
                )),
            }
        }),
    }
}

const REBOOT_MAX_DELAY_MS: u64 = 60_000;

fn sys_reboot() -> Tool {
    Tool {
        name: "sys_reboot",
        title: "Reboot",
        description: "Answers, then resets the whole machine through the PM reset controller (PM_RSTC full reset) \
                      after `delay_ms` (default 0). Under QEMU the same process boots the kernel again, or exits \
                      if started with -no-reboot.",
        input_schema: json!({
            "type": "object",
            "properties": {"delay_ms": {"type": "integer", "minimum": 0, "maximum": REBOOT_MAX_DELAY_MS}},
            "additionalProperties": false
        }),
        output_schema: Some(json!({
            "type": "object",
            "properties": {
                "rebooting": {"type": "boolean"},
                "delay_ms": {"type": "integer"},
                "method": {"type": "string"}
            },
            "required": ["rebooting", "delay_ms", "method"]
        })),
        handler: Box::new(|args: &Map<String, Value>, _: &mut dyn Context| {
            let delay_ms = args.get("delay_ms").and_then(Value::as_u64).unwrap_or(0);
            watchdog::request_reboot(delay_ms);
            crate::klog!(Notice, "sys_reboot: resetting in {delay_ms} ms");
            ToolResult::Structured(mcp::object! {
                "rebooting": true,
                "delay_ms": delay_ms,
                "method": "PM_RSTC full reset",
            })
        }),
    }
}

fn debug_hang() -> Tool {
    Tool {
        name: "debug_hang",
        title: "Hang the MCP loop (test only)",
        description: "Spins forever with interrupts enabled and never polls UART0, so the heartbeat watchdog must \
                      reset the machine. Registered only with test_tools=1 on the kernel command line.",
        input_schema: json!({"type": "object", "properties": {}, "additionalProperties": false}),
        output_schema: Some(json!({"type": "object", "properties": {}})),
        handler: Box::new(|_: &Map<String, Value>, _: &mut dyn Context| loop {
            core::hint::spin_loop();
        }),
    }
}
