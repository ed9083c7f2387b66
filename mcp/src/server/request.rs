//! Reading a request's `params` once into borrowed slices, and deciding its
//! era from `params._meta` (see [`crate::protocol`] for the rule).

use alloc::format;
use serde::Deserialize;

use crate::jsonrpc::{code, str_of, Member, RpcError};
use crate::logging::LogLevel;
use crate::params::{Params, ParamsSlot, Shape, Text};
use crate::protocol::{self, META_CLIENT_CAPABILITIES, META_LOG_LEVEL, META_PROTOCOL_VERSION};
use alloc::borrow::Cow;

/// The reserved `_meta` members.
#[derive(Deserialize, Default)]
struct Meta<'a> {
    #[serde(borrow, default, rename = "progressToken")]
    progress_token: Member<'a>,
    #[serde(borrow, default, rename = "io.modelcontextprotocol/protocolVersion")]
    protocol_version: Member<'a>,
    #[serde(borrow, default, rename = "io.modelcontextprotocol/clientCapabilities")]
    client_capabilities: Member<'a>,
    #[serde(borrow, default, rename = "io.modelcontextprotocol/logLevel")]
    log_level: Member<'a>,
}

/// The captured `params` members (absent `params`: all absent). Anything
/// but an object is -32602, as every MCP method takes named parameters.
pub(crate) fn parse_params<'s, 'a>(slot: &'s ParamsSlot<'a>) -> Result<&'s Params<'a>, RpcError> {
    match slot.shape {
        Shape::Absent | Shape::Object => Ok(&slot.members),
        Shape::Array => Err(RpcError::invalid_params("expected an object, not an array")),
        Shape::Scalar => Err(RpcError::invalid_params("\"params\" must be an object")),
        Shape::Duplicate => Err(RpcError::invalid_params(
            "a member of \"params\" appears twice",
        )),
    }
}

/// Which protocol era a request is served in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Era {
    /// 2024-11-05 … 2025-11-25: session state from `initialize`.
    Legacy,
    /// 2026-07-28: everything the request needs is in its own `_meta`.
    Modern,
}

/// What a method's era rule is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EraRule {
    /// Decided by the presence of the `_meta` protocol-version key.
    Either,
    /// Only exists in the handshake era (`initialize`): the key is ignored.
    AlwaysLegacy,
    /// Removed in 2026-07-28: with the key present it is -32601.
    LegacyOnly,
    /// Only exists in 2026-07-28: always classified modern.
    ModernOnly,
}

/// The request-level facts taken from `_meta`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestMeta<'a> {
    pub era: Era,
    /// JSON text of `_meta.progressToken` (a string or an integer).
    pub progress_token: Option<&'a str>,
    /// 2026-era `_meta` log level; `None` means none was asked for.
    pub log_level: Option<LogLevel>,
}

/// Classifies the request and validates its `_meta`: for the 2026 era the
/// reference SDK's ladder (both envelope keys present → else -32602; the
/// version a string → else -32602; a served version → else -32022 with
/// `{supported, requested}`).
pub(crate) fn read_meta<'a>(
    params: &Params<'a>,
    rule: EraRule,
    method: &str,
) -> Result<RequestMeta<'a>, RpcError> {
    let meta: Meta<'a> = match params.meta.0 {
        None => Meta::default(),
        Some(raw) if raw.starts_with('{') => serde_json::from_str(raw)
            .map_err(|_| RpcError::invalid_params("a member of \"_meta\" appears twice"))?,
        Some(_) => return Err(RpcError::invalid_params("\"_meta\" must be an object")),
    };
    let has_version = meta.protocol_version.0.is_some();
    let era = match rule {
        EraRule::AlwaysLegacy => Era::Legacy,
        EraRule::ModernOnly => Era::Modern,
        EraRule::LegacyOnly if has_version => {
            return Err(RpcError::new(
                code::METHOD_NOT_FOUND,
                format!("Method not found: {method} does not exist in protocol 2026-07-28"),
            ))
        }
        EraRule::LegacyOnly => Era::Legacy,
        EraRule::Either if has_version => Era::Modern,
        EraRule::Either => Era::Legacy,
    };
    let progress_token = match meta.progress_token.0 {
        Some(raw) if is_token(raw) => Some(raw),
        Some(_) => {
            return Err(RpcError::invalid_params(
                "\"progressToken\" must be a string or an integer",
            ))
        }
        None => None,
    };
    let mut log_level = None;
    if era == Era::Modern {
        check_envelope(&meta)?;
        if let Some(raw) = meta.log_level.0 {
            log_level = Some(
                str_of(raw)
                    .and_then(|name| LogLevel::parse(&name))
                    .ok_or_else(|| {
                        RpcError::invalid_params(&format!(
                            "\"{META_LOG_LEVEL}\" must be a log level name"
                        ))
                    })?,
            );
        }
    }
    Ok(RequestMeta {
        era,
        progress_token,
        log_level,
    })
}

fn check_envelope(meta: &Meta<'_>) -> Result<(), RpcError> {
    let (Some(version), Some(caps)) = (meta.protocol_version.0, meta.client_capabilities.0) else {
        let missing = match (meta.protocol_version.0, meta.client_capabilities.0) {
            (None, None) => format!("{META_PROTOCOL_VERSION}, {META_CLIENT_CAPABILITIES}"),
            (None, _) => META_PROTOCOL_VERSION.into(),
            _ => META_CLIENT_CAPABILITIES.into(),
        };
        return Err(RpcError::invalid_params(&format!(
            "params._meta is missing the required envelope key(s): {missing}"
        )));
    };
    let Some(requested) = str_of(version) else {
        return Err(RpcError::invalid_params(
            "the protocol-version envelope value must be a string",
        ));
    };
    if !protocol::MODERN_VERSIONS.contains(&&*requested) {
        return Err(RpcError::new(
            code::UNSUPPORTED_PROTOCOL_VERSION,
            "Unsupported protocol version",
        )
        .with_data(
            serde_json::json!({ "supported": protocol::MODERN_VERSIONS, "requested": &*requested }),
        ));
    }
    if !caps.starts_with('{') {
        return Err(RpcError::invalid_params(&format!(
            "\"{META_CLIENT_CAPABILITIES}\" must be an object"
        )));
    }
    Ok(())
}

/// Progress tokens, like ids, are strings or integers (and are echoed).
fn is_token(text: &str) -> bool {
    crate::jsonrpc::is_valid_id(text)
}

/// A required string member, bounded by [`crate::limits::MAX_STRING_BYTES`].
pub(crate) fn required_str<'a>(text: &Text<'a>, name: &str) -> Result<Cow<'a, str>, RpcError> {
    match text {
        Text::Absent => Err(RpcError::invalid_params(&format!("missing \"{name}\""))),
        Text::Other => Err(RpcError::invalid_params(&format!(
            "\"{name}\" must be a string"
        ))),
        Text::Str(s) => bounded(s.clone(), name),
    }
}

/// An optional string member (absent is `None`; `null` is a type error).
pub(crate) fn optional_str<'a>(
    text: &Text<'a>,
    name: &str,
) -> Result<Option<Cow<'a, str>>, RpcError> {
    match text {
        Text::Absent => Ok(None),
        _ => required_str(text, name).map(Some),
    }
}

fn bounded<'a>(s: Cow<'a, str>, name: &str) -> Result<alloc::borrow::Cow<'a, str>, RpcError> {
    if s.len() > crate::limits::MAX_STRING_BYTES {
        return Err(RpcError::invalid_params(&format!(
            "\"{name}\" is longer than {} bytes",
            crate::limits::MAX_STRING_BYTES
        )));
    }
    Ok(s)
}
