//! The GPIO tools: `gpio_mode`, `gpio_read`, `gpio_write`. Pins the OS
//! cannot lose (UART0, the log mirror, the SD banks: see `pins`) are
//! refused with the reason; reading any pin is allowed.

use crate::pins;
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use mcp::{Context, Object, Tool, ToolResult};
use rpi4::gpio::{Function, Pull, MAX_PIN};
use serde_json::{json, Map, Value};

pub fn all() -> Vec<Tool> {
    vec![gpio_mode(), gpio_read(), gpio_write()]
}

const MODES: [(&str, Function); 8] = [
    ("input", Function::Input),
    ("output", Function::Output),
    ("alt0", Function::Alt0),
    ("alt1", Function::Alt1),
    ("alt2", Function::Alt2),
    ("alt3", Function::Alt3),
    ("alt4", Function::Alt4),
    ("alt5", Function::Alt5),
];

const PULLS: [(&str, Pull); 3] = [("none", Pull::None), ("up", Pull::Up), ("down", Pull::Down)];

fn mode_name(f: Function) -> &'static str {
    MODES
        .iter()
        .find(|(_, m)| *m == f)
        .map_or("input", |(n, _)| n)
}

fn pull_name(p: Option<Pull>) -> Value {
    p.and_then(|p| PULLS.iter().find(|(_, q)| *q == p))
        .map_or(Value::Null, |(n, _)| json!(n))
}

fn pin_schema() -> Value {
    json!({"type": "integer", "minimum": 0, "maximum": MAX_PIN, "description": "BCM GPIO number"})
}

fn pin_arg(args: &Map<String, Value>) -> u32 {
    // The schema guarantees an integer in 0..=57.
    args.get("pin").and_then(Value::as_u64).unwrap_or(0) as u32
}

/// {pin, mode, pull, level, event_detected} as the hardware reads now.
fn pin_state(pin: u32) -> Object {
    pins::with(|gpio| {
        mcp::object! {
            "pin": pin,
            "mode": gpio.function(pin).map(mode_name).unwrap_or("input"),
            "pull": pull_name(gpio.pull(pin).ok().flatten()),
            "level": gpio.level(pin).unwrap_or(false),
            "event_detected": gpio.event_detected(pin).unwrap_or(false),
        }
    })
}

fn state_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "pin": {"type": "integer"},
            "mode": {"enum": MODES.map(|(n, _)| n)},
            "pull": {"type": ["string", "null"], "enum": ["none", "up", "down", null]},
            "level": {"type": "boolean", "description": "GPLEV: the pin's level now"},
            "event_detected": {"type": "boolean", "description": "GPEDS: an enabled edge/level detector fired"}
        },
        "required": ["pin", "mode", "pull", "level", "event_detected"]
    })
}

fn refuse(pin: u32) -> Option<ToolResult> {
    pins::refusal(pin).map(|why| ToolResult::Error(format!("GPIO {pin} is refused: {why}")))
}

fn gpio_mode() -> Tool {
    Tool {
        name: "gpio_mode",
        title: "Set a GPIO pin's function",
        description: "Sets a pin's function (input, output, alt0..alt5) and optionally its pull resistor \
                      (BCM2711 GPIO_PUP_PDN_CNTRL). Pins the OS needs (UART0 on 14/15, the log mirror, \
                      the SD banks 34-39 and 48-53) are refused.",
        input_schema: json!({
            "type": "object",
            "properties": {
                "pin": pin_schema(),
                "mode": {"enum": MODES.map(|(n, _)| n)},
                "pull": {"enum": PULLS.map(|(n, _)| n)}
            },
            "required": ["pin", "mode"],
            "additionalProperties": false
        }),
        output_schema: Some(state_schema()),
        handler: Box::new(|args: &Map<String, Value>, _: &mut dyn Context| {
            let pin = pin_arg(args);
            if let Some(refused) = refuse(pin) {
                return refused;
            }
            let mode = args.get("mode").and_then(Value::as_str).unwrap_or_default();
            let Some(&(_, function)) = MODES.iter().find(|(n, _)| *n == mode) else {
                return ToolResult::Error(format!("unknown mode {mode}"));
            };
            let pull = args
                .get("pull")
                .and_then(Value::as_str)
                .and_then(|p| PULLS.iter().find(|(n, _)| *n == p))
                .map(|&(_, pull)| pull);
            let done = pins::with(|gpio| {
                if let Some(pull) = pull {
                    gpio.set_pull(pin, pull)?;
                }
                gpio.set_function(pin, function)
            });
            match done {
                Ok(()) => ToolResult::Structured(pin_state(pin)),
                Err(_) => ToolResult::Error(format!("GPIO {pin} does not exist")),
            }
        }),
    }
}

fn gpio_read() -> Tool {
    Tool {
        name: "gpio_read",
        title: "Read a GPIO pin",
        description: "Reads a pin's level (GPLEV) with its function, pull and event-detect status. Any pin may be read.",
        input_schema: json!({
            "type": "object",
            "properties": {"pin": pin_schema()},
            "required": ["pin"],
            "additionalProperties": false
        }),
        output_schema: Some(state_schema()),
        handler: Box::new(|args: &Map<String, Value>, _: &mut dyn Context| {
            ToolResult::Structured(pin_state(pin_arg(args)))
        }),
    }
}

fn gpio_write() -> Tool {
    Tool {
        name: "gpio_write",
        title: "Drive a GPIO output",
        description: "Drives an output pin high (level true, GPSET) or low (false, GPCLR) and reads the level back. \
                      The pin must be an output (gpio_mode); the OS's own pins are refused.",
        input_schema: json!({
            "type": "object",
            "properties": {"pin": pin_schema(), "level": {"type": "boolean"}},
            "required": ["pin", "level"],
            "additionalProperties": false
        }),
        output_schema: Some(state_schema()),
        handler: Box::new(|args: &Map<String, Value>, _: &mut dyn Context| {
            let pin = pin_arg(args);
            if let Some(refused) = refuse(pin) {
                return refused;
            }
            let level = args.get("level").and_then(Value::as_bool).unwrap_or(false);
            let written = pins::with(|gpio| match gpio.function(pin) {
                Ok(Function::Output) => gpio.write(pin, level).map_err(|_| "no such pin"),
                Ok(_) => Err("the pin is not an output: set it with gpio_mode first"),
                Err(_) => Err("no such pin"),
            });
            match written {
                Ok(()) => ToolResult::Structured(pin_state(pin)),
                Err(why) => ToolResult::Error(format!("GPIO {pin}: {why}")),
            }
        }),
    }
}
