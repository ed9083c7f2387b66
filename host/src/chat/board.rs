//! `sys_info` for people: one compact line at start, a table for `/info`.

use serde_json::{Map, Value};

/// The facts that say which board this is and how it is doing, on one line:
/// "board 0xb03115 · 4 cores · EL1 · 25.0 °C · heap 958.7 MiB free · kernel 0.1.0".
/// Facts the kernel did not report are left out.
pub fn summary(facts: &Map<String, Value>) -> String {
    let get = |key: &str| facts.get(key).filter(|v| !v.is_null());
    let mut parts = Vec::new();
    if let Some(revision) = get("board_revision") {
        parts.push(format!("board {}", text(revision)));
    }
    if let Some(cores) = get("cores_online") {
        parts.push(format!("{} cores", text(cores)));
    }
    if let Some(el) = get("exception_level") {
        parts.push(format!("EL{}", text(el)));
    }
    if let Some(size) = get("arm_memory").and_then(|m| m.get("size")?.as_u64()) {
        parts.push(format!("{} ARM memory", bytes(size)));
    }
    if let Some(mc) = get("temperature_millicelsius").and_then(Value::as_f64) {
        parts.push(format!("{:.1} °C", mc / 1000.0));
    }
    if let Some(free) = get("heap").and_then(|h| h.get("free")?.as_u64()) {
        parts.push(format!("heap {} free", bytes(free)));
    }
    if let Some(version) = get("kernel_version") {
        parts.push(format!("kernel {}", text(version)));
    }
    parts.join(" · ")
}

/// Every fact as (label, value in human units), for `/info`.
pub fn table(facts: &Map<String, Value>) -> String {
    facts
        .iter()
        .map(|(key, value)| {
            let (label, shown) = describe(key, value);
            format!("  {label:<20} {shown}\n")
        })
        .collect()
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
pub fn bytes(n: u64) -> String {
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

/// A JSON string without quotes; anything else as JSON.
pub fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "?".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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

    #[test]
    fn the_summary_is_one_line_of_what_was_reported() {
        let facts = json!({
            "board_revision": "0xb03115",
            "cores_online": 4,
            "exception_level": 1,
            "arm_memory": {"base": 0, "size": 960u64 << 20},
            "temperature_millicelsius": 25_000,
            "heap": {"used": 1024, "free": 2048},
            "kernel_version": "0.1.0",
            "uptime_ms": 12,
        });
        assert_eq!(
            summary(facts.as_object().unwrap()),
            "board 0xb03115 · 4 cores · EL1 · 960.0 MiB ARM memory · 25.0 °C · heap 2.0 KiB free · kernel 0.1.0"
        );
        let partial = json!({"cores_online": 1, "temperature_millicelsius": null});
        assert_eq!(summary(partial.as_object().unwrap()), "1 cores");
    }
}
