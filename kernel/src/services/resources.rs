//! The kernel's MCP resources.
//!
//! - `kingly://log` — the kernel log ring as text (subscribable: updated when
//!   records are added).
//! - `kingly://log/{level}` — the same, at a minimum severity (subscribable:
//!   updated when a record that severe is added).
//! - `kingly://board` — what `sys_info` reports, as JSON.
//! - `kingly://metrics` — counters: requests, errors by code, bytes in/out,
//!   uptime (subscribable: updated at most once a second while they change).

use super::tools::sys_info_now;
use crate::storage::changes::Changes;
use crate::{klog, metrics};
use alloc::boxed::Box;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use mcp::resources::{Contents, Resource, ResourceTemplate};
use mcp::{LogLevel, Server};
use serde_json::{Map, Value};

pub const LOG_URI: &str = "kingly://log";
pub const BOARD_URI: &str = "kingly://board";
pub const METRICS_URI: &str = "kingly://metrics";
const LOG_LEVEL_URI_PREFIX: &str = "kingly://log/";

pub fn all() -> Vec<Resource> {
    vec![
        Resource {
            uri: LOG_URI.to_string(),
            name: "log".to_string(),
            title: "Kernel log",
            description: "The kernel log ring, oldest first: [seconds.millis] level message.",
            mime_type: "text/plain",
            subscribable: true,
            read: Box::new(|| Ok(Contents::Text(klog::render(LogLevel::Debug)))),
        },
        Resource {
            uri: BOARD_URI.to_string(),
            name: "board".to_string(),
            title: "Board facts",
            description:
                "Board revision, memory, cores, clocks, temperature, heap: what sys_info reports.",
            mime_type: "application/json",
            subscribable: false,
            read: Box::new(|| {
                Ok(Contents::Text(mcp::json_out::object_to_string(
                    &sys_info_now(),
                )))
            }),
        },
        Resource {
            uri: METRICS_URI.to_string(),
            name: "metrics".to_string(),
            title: "MCP and UART counters",
            description:
                "Requests served, notifications, errors by JSON-RPC code, bytes in/out on UART0, \
                          receive bytes lost, kernel log records, uptime.",
            mime_type: "application/json",
            subscribable: true,
            read: Box::new(|| Ok(Contents::Text(metrics::to_json().to_string()))),
        },
    ]
}

/// `kingly://log/{level}`: the log at `level` and above.
pub fn log_by_level() -> ResourceTemplate {
    ResourceTemplate {
        uri_template: "kingly://log/{level}",
        name: "log-by-level",
        title: "Kernel log at a minimum level",
        description: "The kernel log, only records at this MCP log level or more severe \
                      (debug, info, notice, warning, error, critical, alert, emergency).",
        mime_type: "text/plain",
        read: Box::new(|_uri: &str, vars: &Map<String, Value>| {
            let name = vars
                .get("level")
                .and_then(Value::as_str)
                .unwrap_or_default();
            Ok(LogLevel::parse(name).map(|level| Contents::Text(klog::render(level))))
        }),
        complete: Some(Box::new(|var: &str, prefix: &str| {
            complete_level(var, prefix)
        })),
        subscribable: true,
    }
}

fn complete_level(var: &str, prefix: &str) -> Vec<String> {
    if var != "level" {
        return Vec::new();
    }
    LogLevel::ALL
        .iter()
        .map(|l| l.as_str())
        .filter(|n| n.starts_with(prefix))
        .map(String::from)
        .collect()
}

/// The subscribed template URIs that just changed: `kingly://log/{level}`
/// when a record at least that severe was logged (`most_severe_logged`),
/// `file:///{path}` when that path is among `files`.
pub fn changed_template_uris(
    server: &Server,
    most_severe_logged: Option<LogLevel>,
    files: Option<&Changes>,
) -> Vec<String> {
    server
        .subscribed_uris()
        .into_iter()
        .filter(|uri| {
            let log_level = uri
                .strip_prefix(LOG_LEVEL_URI_PREFIX)
                .and_then(LogLevel::parse);
            match (log_level, super::fs::path_of_file_uri(uri)) {
                (Some(level), _) => most_severe_logged.is_some_and(|logged| logged >= level),
                (None, Some(path)) => files.is_some_and(|files| files.affects(&path)),
                (None, None) => false,
            }
        })
        .map(String::from)
        .collect()
}
