//! MCP protocol revisions, how one is chosen, and the reserved `_meta`
//! keys and cache hints of the 2026-07-28 era.
//!
//! Two eras are served side by side:
//! - the handshake ("legacy") era: `initialize` negotiates one of
//!   [`SUPPORTED_VERSIONS`] for the session;
//! - the stateless era ([`MODERN_VERSIONS`]): every request names its
//!   revision in `params._meta["io.modelcontextprotocol/protocolVersion"]`.
//!
//! A request belongs to the stateless era exactly when that `_meta` key is
//! present (or its method exists only there: `server/discover`,
//! `subscriptions/listen`); `initialize` always belongs to the handshake
//! era. This is the reference SDK's rule, applied per request rather than
//! per connection, so a client of either era is served without a mode switch.

/// Revisions we can speak, newest first. The tool surface we use is the same
/// in all of them, so supporting older ones costs nothing and lets older
/// clients connect.
pub const SUPPORTED_VERSIONS: [&str; 4] = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

/// What we answer when the client asks for a revision we don't know: our
/// newest. The client then decides whether it can live with that.
pub const LATEST_VERSION: &str = SUPPORTED_VERSIONS[0];

/// Revisions served through the per-request `_meta` envelope.
pub const MODERN_VERSIONS: [&str; 1] = ["2026-07-28"];

/// `_meta` key naming a stateless request's revision (its presence makes the
/// request a 2026-era one).
pub const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// `_meta` key with the client's capabilities (required with the above).
pub const META_CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
/// `_meta` key with the log level wanted during one request (optional;
/// absent means no `notifications/message` for that request).
pub const META_LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";
/// `_meta` key tying a notification or result to a `subscriptions/listen`.
pub const META_SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";
/// `_meta` key with the server's identity on a 2026-era result.
pub const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";

/// Cache hint for list results and `server/discover`: registries are filled
/// at boot and never change afterwards, and they hold no per-user data.
pub const LIST_TTL_MS: u64 = 60_000;
pub const LIST_CACHE_SCOPE: &str = "public";
/// Cache hint for `resources/read`: resources are live device state.
pub const READ_TTL_MS: u64 = 0;
pub const READ_CACHE_SCOPE: &str = "private";

/// The revision to answer for a client that requested `requested`.
pub fn negotiate(requested: &str) -> &'static str {
    SUPPORTED_VERSIONS
        .iter()
        .copied()
        .find(|v| *v == requested)
        .unwrap_or(LATEST_VERSION)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supported_versions_are_echoed() {
        for v in SUPPORTED_VERSIONS {
            assert_eq!(negotiate(v), v);
        }
    }

    #[test]
    fn unknown_versions_get_the_latest() {
        for v in ["", "2099-01-01", "2024-11-5", "2025-06-18 "] {
            assert_eq!(negotiate(v), "2025-11-25");
        }
    }
}
