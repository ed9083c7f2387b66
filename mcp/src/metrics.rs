//! Counters the kernel publishes as the `kingly://metrics` resource (it
//! adds bytes in/out and uptime, which only it can see).

use alloc::vec::Vec;
use serde_json::{json, Value};

/// What the server has done since boot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metrics {
    /// Requests answered or being answered (everything with an id that
    /// passed envelope validation), including those answered with an error.
    pub requests: u64,
    /// Notifications received from the client.
    pub notifications_received: u64,
    /// Notifications the server sent (progress, log, resource updates...).
    pub notifications_sent: u64,
    /// Response lines sent (results and errors).
    pub responses: u64,
    /// Error responses by JSON-RPC code, sorted by code.
    pub errors: Vec<(i64, u64)>,
}

impl Metrics {
    pub(crate) fn count_error(&mut self, code: i64) {
        match self.errors.binary_search_by_key(&code, |&(c, _)| c) {
            Ok(i) => self.errors[i].1 += 1,
            Err(i) => self.errors.insert(i, (code, 1)),
        }
    }

    /// Errors sent with `code` so far.
    pub fn errors_with(&self, code: i64) -> u64 {
        self.errors
            .iter()
            .find(|&&(c, _)| c == code)
            .map_or(0, |&(_, n)| n)
    }

    /// The counters as a JSON object (error codes as string keys).
    pub fn to_json(&self) -> Value {
        let mut errors = serde_json::Map::new();
        for &(code, n) in &self.errors {
            errors.insert(alloc::format!("{code}"), json!(n));
        }
        json!({
            "requests": self.requests,
            "notificationsReceived": self.notifications_received,
            "notificationsSent": self.notifications_sent,
            "responses": self.responses,
            "errorsByCode": errors,
        })
    }
}
