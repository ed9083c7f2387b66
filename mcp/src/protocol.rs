//! MCP protocol revisions and how one is chosen during `initialize`.

/// Revisions we can speak, newest first. The tool surface we use is the same
/// in all of them, so supporting older ones costs nothing and lets older
/// clients connect.
pub const SUPPORTED_VERSIONS: [&str; 4] = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

/// What we answer when the client asks for a revision we don't know: our
/// newest. The client then decides whether it can live with that.
pub const LATEST_VERSION: &str = SUPPORTED_VERSIONS[0];

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
