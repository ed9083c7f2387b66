//! `initialize`, `logging/setLevel` (handshake era) and `server/discover`
//! (2026-07-28): how the server introduces itself and what it declares.

use alloc::format;
use alloc::string::String;
use serde_json::{json, Value};

use super::request::required_str;
use super::{object, Outcome, Server};
use crate::json_out;
use crate::jsonrpc::{self, RpcError};
use crate::logging::LogLevel;
use crate::params::Params;
use crate::protocol::{self, LIST_CACHE_SCOPE, LIST_TTL_MS, META_SERVER_INFO};

impl Server {
    /// Exactly what is implemented: every method family is served (lists
    /// may be empty); registries never change after boot, so no
    /// `list_changed` notifications are ever sent.
    fn capabilities() -> Value {
        json!({
            "tools": { "listChanged": false },
            "resources": { "subscribe": true, "listChanged": false },
            "prompts": { "listChanged": false },
            "logging": {},
            "completions": {},
        })
    }

    fn server_info(&self) -> Value {
        json!({ "name": self.info.name, "title": self.info.title, "version": self.info.version })
    }

    /// A repeated `initialize` is answered like the first and renegotiates
    /// the revision (bridges that reconnect send one without us knowing);
    /// session state of the old session (subscriptions, level) is reset.
    pub(super) fn initialize(&mut self, id: &str, params: &Params<'_>) -> Outcome {
        let requested = required_str(&params.protocol_version, "protocolVersion")?;
        let version = protocol::negotiate(&requested);
        let state = &mut self.state;
        if state.protocol_version.is_some() {
            state.subscriptions.clear();
            state.log_level = super::DEFAULT_LOG_LEVEL;
        }
        state.protocol_version = Some(version);
        let mut result = json!({
            "protocolVersion": version,
            "capabilities": Self::capabilities(),
            "serverInfo": self.server_info(),
        });
        if let (Some(text), Value::Object(map)) = (self.info.instructions, &mut result) {
            map.insert("instructions".into(), Value::from(text));
        }
        Ok(Some(success(id, &result)))
    }

    pub(super) fn set_log_level(&mut self, id: &str, params: &Params<'_>) -> Outcome {
        let name = required_str(&params.level, "level")?;
        let level = LogLevel::parse(&name).ok_or_else(|| {
            RpcError::invalid_params(&format!(
                "unknown log level \"{name}\" (expected one of debug, info, notice, warning, error, critical, alert, emergency)"
            ))
        })?;
        self.state.log_level = level;
        Ok(Some(success(id, &json!({}))))
    }

    /// `DiscoverResult`: the revisions served statelessly, capabilities,
    /// instructions, cache hints, and our identity in `_meta`.
    pub(super) fn discover(&self, id: &str) -> String {
        let mut result = object(json!({
            "supportedVersions": protocol::MODERN_VERSIONS,
            "capabilities": Self::capabilities(),
            "_meta": { META_SERVER_INFO: self.server_info() },
            "resultType": "complete",
            "ttlMs": LIST_TTL_MS,
            "cacheScope": LIST_CACHE_SCOPE,
        }));
        if let Some(text) = self.info.instructions {
            result.insert("instructions".into(), Value::from(text));
        }
        success(id, &Value::Object(result))
    }
}

/// A success line with `result` as is.
pub(super) fn success(id: &str, result: &Value) -> String {
    let mut out = String::with_capacity(64);
    jsonrpc::begin_result(&mut out, id);
    json_out::write_value(&mut out, result);
    jsonrpc::end_response(&mut out);
    out
}
