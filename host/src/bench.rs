//! `kingly bench`: the kernel's own measurements, counted in guest
//! instructions. QEMU runs under `-icount shift=0,align=off,sleep=off`, where
//! one guest instruction is one nanosecond of virtual time and the generic
//! timer (62.5 MHz) ticks once per 16 instructions, so the kernel's
//! nanosecond figures are instruction counts, the same run after run.

use std::path::Path;

use serde_json::{json, Value};

use crate::client::{QemuMcp, PROTOCOL_VERSION};
use crate::error::{Error, Result};
use crate::qemu::ICOUNT_ARGS;

/// Dispatches per `bench_mcp_dispatch` measurement.
pub const DISPATCH_ITERATIONS: u64 = 5000;

/// One measured figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// Stable machine-readable name (the `--json` key).
    pub name: &'static str,
    pub what: &'static str,
    pub value: f64,
    pub unit: &'static str,
    /// The project's goal for it, if it has one (lower is better).
    pub goal: Option<f64>,
}

/// Boots `kernel8` from a private copy of `image` under icount and takes
/// every measurement the kernel offers.
pub fn measure(kernel8: &Path, image: &Path) -> Result<Vec<Figure>> {
    let dir = tempfile::tempdir().map_err(|e| Error::Io {
        context: "creating a temporary directory".into(),
        source: e,
    })?;
    let copy = dir.path().join("sd.img");
    std::fs::copy(image, &copy).map_err(|e| Error::Io {
        context: format!("copying {}", image.display()),
        source: e,
    })?;
    let mut qemu = QemuMcp::boot(kernel8, &copy, &ICOUNT_ARGS)?;
    qemu.initialize(PROTOCOL_VERSION, "kingly-bench")?;

    let mut figures = Vec::new();
    let now = structured(qemu.call_tool("time_now", json!({}))?)?;
    let ready = number(&now, "ready_counter")?;
    let hz = number(&now, "cntfrq_hz")?;
    figures.push(Figure {
        name: "boot_to_ready_instructions",
        what: "reset to the MCP loop ready, all cores",
        value: ready * 1e9 / hz,
        unit: "instructions",
        goal: None,
    });
    for (name, what, encoding, request, goal) in [
        (
            "mcp_dispatch_json_instructions",
            "trivial tools/call, JSON (parse + dispatch + serialize)",
            "json",
            "tools/call",
            Some(5000.0),
        ),
        (
            "mcp_dispatch_postcard_instructions",
            "trivial tools/call, postcard",
            "postcard",
            "tools/call",
            Some(1000.0),
        ),
        (
            "mcp_ping_json_instructions",
            "ping, JSON: the envelope alone",
            "json",
            "ping",
            None,
        ),
    ] {
        let result = structured(qemu.call_tool(
            "bench_mcp_dispatch",
            json!({"iterations": DISPATCH_ITERATIONS, "encoding": encoding, "request": request}),
        )?)?;
        figures.push(Figure {
            name,
            what,
            value: number(&result, "ns_per_iteration")?,
            unit: "instructions/call",
            goal,
        });
    }
    qemu.shutdown()?;
    Ok(figures)
}

fn structured(result: Value) -> Result<Value> {
    if result["isError"] == true {
        return Err(Error::Protocol(format!("measurement failed: {result}")));
    }
    Ok(result["structuredContent"].clone())
}

fn number(object: &Value, key: &str) -> Result<f64> {
    object[key]
        .as_f64()
        .ok_or_else(|| Error::Protocol(format!("no number {key:?} in {object}")))
}

/// The figures as a table for people.
pub fn table(figures: &[Figure]) -> String {
    let mut out = format!(
        "guest instructions under qemu {} {}\n{:<36} {:>14}  {:<18} {:>8}  {}\n",
        ICOUNT_ARGS[0], ICOUNT_ARGS[1], "figure", "value", "unit", "goal", "what"
    );
    for f in figures {
        let goal = f.goal.map_or_else(|| "-".to_string(), |g| format!("{g:.0}"));
        out.push_str(&format!(
            "{:<36} {:>14.0}  {:<18} {:>8}  {}\n",
            f.name, f.value, f.unit, goal, f.what
        ));
    }
    out
}

/// The figures as one JSON object for machines: name → {value, unit, goal, what}.
pub fn to_json(figures: &[Figure]) -> Value {
    let map = figures
        .iter()
        .map(|f| {
            (
                f.name.to_string(),
                json!({"value": f.value, "unit": f.unit, "goal": f.goal, "what": f.what}),
            )
        })
        .collect::<serde_json::Map<_, _>>();
    Value::Object(map)
}
