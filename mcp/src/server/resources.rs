//! Resources in both eras: listing, reading, templates, handshake-era
//! `resources/subscribe`, 2026-era `subscriptions/listen` streams, and the
//! `notifications/resources/updated` the kernel triggers.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use serde::Deserialize;
use serde_json::{json, Value};

use super::lifecycle::success;
use super::request::{required_str, RequestMeta};
use super::{object, ListenStream, Outcome, Server, Transport};
use crate::json_out;
use crate::jsonrpc::{self, code, RequestId, RpcError};
use crate::limits::{MAX_LISTEN_STREAMS, MAX_STRING_BYTES, MAX_SUBSCRIPTIONS};
use crate::params::Params;
use crate::protocol::{META_SUBSCRIPTION_ID, READ_CACHE_SCOPE, READ_TTL_MS};

/// The MCP error for an unknown URI, with the URI in `data`.
fn not_found(uri: &str) -> RpcError {
    RpcError::new(code::RESOURCE_NOT_FOUND, "Resource not found").with_data(json!({ "uri": uri }))
}

/// `SubscriptionFilter` of a `subscriptions/listen` request.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SubscriptionFilter {
    #[serde(default)]
    resource_subscriptions: Option<Vec<String>>,
    #[serde(default)]
    tools_list_changed: Option<bool>,
    #[serde(default)]
    prompts_list_changed: Option<bool>,
    #[serde(default)]
    resources_list_changed: Option<bool>,
}

impl Server {
    /// A fixed resource first, then the templates in registration order.
    pub(super) fn read_resource(
        &mut self,
        id: &str,
        params: &Params<'_>,
        meta: &RequestMeta<'_>,
    ) -> Outcome {
        let uri = required_str(&params.uri, "uri")?;
        let failed = |why: String| {
            RpcError::internal_error(&format!("reading {uri} failed: {why}"))
                .with_data(json!({ "uri": &*uri }))
        };
        let contents = if let Some(resource) = self.resources.get_mut(&uri) {
            let contents = (resource.read)().map_err(failed)?;
            contents.to_json(&uri, resource.mime_type)
        } else {
            let mut found = None;
            for template in self.templates.items_mut() {
                if let Some(vars) = template.match_uri(&uri) {
                    if let Some(contents) = (template.read)(&uri, &vars).map_err(&failed)? {
                        found = Some(contents.to_json(&uri, template.mime_type));
                        break;
                    }
                }
            }
            found.ok_or_else(|| not_found(&uri))?
        };
        let result = object(json!({ "contents": [contents] }));
        Ok(Some(self.reply(
            id,
            meta,
            Some((READ_TTL_MS, READ_CACHE_SCOPE)),
            result,
        )))
    }

    /// Whether `uri` may be subscribed to: a subscribable resource, or a
    /// URI a subscribable template matches (which need not exist yet: a
    /// file can be watched before it is written). Unknown URIs are -32002.
    fn check_subscribable(&self, uri: &str) -> Result<(), RpcError> {
        let subscribable = match self.resources.get(uri) {
            Some(resource) => resource.subscribable,
            None => {
                let mut matching = self
                    .templates
                    .items()
                    .iter()
                    .filter(|t| t.match_uri(uri).is_some())
                    .peekable();
                if matching.peek().is_none() {
                    return Err(not_found(uri));
                }
                matching.any(|t| t.subscribable)
            }
        };
        if subscribable {
            Ok(())
        } else {
            Err(RpcError::invalid_params(&format!(
                "{uri} does not support subscriptions"
            )))
        }
    }

    pub(super) fn subscribe(&mut self, id: &str, params: &Params<'_>) -> Outcome {
        let uri = required_str(&params.uri, "uri")?;
        if uri.len() > MAX_STRING_BYTES {
            return Err(RpcError::invalid_params("a subscribed URI is too long"));
        }
        self.check_subscribable(&uri)?;
        let subs = &mut self.state.subscriptions;
        if !subs.iter().any(|s| *s == *uri) {
            if subs.len() >= MAX_SUBSCRIPTIONS {
                return Err(RpcError::invalid_params(&format!(
                    "at most {MAX_SUBSCRIPTIONS} subscriptions per session"
                )));
            }
            subs.push(uri.into_owned());
        }
        Ok(Some(success(id, &json!({}))))
    }

    /// Unsubscribing from something not subscribed is not an error: the
    /// outcome the client wants holds either way.
    pub(super) fn unsubscribe(&mut self, id: &str, params: &Params<'_>) -> Outcome {
        let uri = required_str(&params.uri, "uri")?;
        self.state.subscriptions.retain(|s| *s != *uri);
        Ok(Some(success(id, &json!({}))))
    }

    /// Opens a long-lived stream: acknowledged at once with the honoured
    /// subset of the filter, answered only when it ends
    /// ([`Server::end_subscriptions`]); cancelling it ends it unanswered.
    /// List-changed kinds are never honoured: our lists never change.
    pub(super) fn listen(
        &mut self,
        id: &str,
        params: &Params<'_>,
        transport: &mut dyn Transport,
    ) -> Outcome {
        let filter: SubscriptionFilter = match params.notifications.0 {
            None => return Err(RpcError::invalid_params("missing \"notifications\"")),
            Some(raw) if raw.starts_with('{') => serde_json::from_str(raw).map_err(|_| {
                RpcError::invalid_params("\"notifications\" is not a valid subscription filter")
            })?,
            Some(_) => {
                return Err(RpcError::invalid_params(
                    "\"notifications\" must be an object",
                ))
            }
        };
        let _ = (
            filter.tools_list_changed,
            filter.prompts_list_changed,
            filter.resources_list_changed,
        );
        if self.state.streams.len() >= MAX_LISTEN_STREAMS {
            return Err(RpcError::internal_error("Subscription limit reached"));
        }
        let mut uris: Vec<String> = Vec::new();
        for uri in filter.resource_subscriptions.unwrap_or_default() {
            if uri.len() > MAX_STRING_BYTES {
                return Err(RpcError::invalid_params("a subscribed URI is too long"));
            }
            if self.check_subscribable(&uri).is_ok() && !uris.contains(&uri) {
                uris.push(uri);
            }
        }
        let Some(sub_id) = RequestId::from_raw(id) else {
            return Err(RpcError::invalid_request("unreadable id"));
        };
        let mut honoured = serde_json::Map::new();
        if !uris.is_empty() {
            honoured.insert("resourceSubscriptions".into(), json!(uris));
        }
        let mut line = String::from(
            "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/subscriptions/acknowledged\",\"params\":{\"notifications\":",
        );
        json_out::write_value(&mut line, &Value::Object(honoured));
        push_subscription_meta(&mut line, id);
        line.push_str("}}");
        self.state.notify(transport, &line);
        self.state.streams.push(ListenStream {
            id: sub_id,
            id_raw: String::from(id),
            uris,
        });
        Ok(None)
    }

    /// Server-initiated: resource `uri` changed. Sends
    /// `notifications/resources/updated` to a handshake-era subscriber and
    /// on every open listen stream that asked for it.
    pub fn resource_updated(&mut self, uri: &str, transport: &mut dyn Transport) {
        let state = &mut self.state;
        let mut base = String::from("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/resources/updated\",\"params\":{\"uri\":");
        json_out::write_str(&mut base, uri);
        if state.protocol_version.is_some() && state.subscriptions.iter().any(|s| s == uri) {
            let line = format!("{base}}}}}");
            state.metrics.notifications_sent += 1;
            transport.send_line(&line);
        }
        for stream in &state.streams {
            if stream.uris.iter().any(|s| s == uri) {
                let mut line = base.clone();
                push_subscription_meta(&mut line, &stream.id_raw);
                line.push_str("}}");
                state.metrics.notifications_sent += 1;
                transport.send_line(&line);
            }
        }
    }

    /// Every URI someone is subscribed to (handshake-era subscriptions and
    /// open listen streams), each once: how the kernel finds which template
    /// URIs (a file, a log level) to report changes of.
    pub fn subscribed_uris(&self) -> Vec<&str> {
        let mut uris: Vec<&str> = Vec::new();
        let handshake = self
            .state
            .protocol_version
            .is_some()
            .then_some(&self.state.subscriptions);
        let streams = self.state.streams.iter().map(|s| &s.uris);
        for uri in handshake.into_iter().chain(streams).flatten() {
            if !uris.contains(&uri.as_str()) {
                uris.push(uri);
            }
        }
        uris
    }

    /// Ends every open listen stream gracefully (e.g. before a reboot): each
    /// gets its `SubscriptionsListenResult`.
    pub fn end_subscriptions(&mut self, transport: &mut dyn Transport) {
        for stream in core::mem::take(&mut self.state.streams) {
            let mut line = String::new();
            jsonrpc::begin_result(&mut line, &stream.id_raw);
            line.push_str("{\"resultType\":\"complete\"");
            push_subscription_meta(&mut line, &stream.id_raw);
            line.push('}');
            jsonrpc::end_response(&mut line);
            self.state.metrics.responses += 1;
            transport.send_line(&line);
        }
    }

    /// Open `subscriptions/listen` streams.
    pub fn listen_streams(&self) -> usize {
        self.state.streams.len()
    }
}

/// Appends `,"_meta":{"io.modelcontextprotocol/subscriptionId":<id>}`.
fn push_subscription_meta(line: &mut String, id_raw: &str) {
    line.push_str(",\"_meta\":{\"");
    line.push_str(META_SUBSCRIPTION_ID);
    line.push_str("\":");
    line.push_str(id_raw);
    line.push('}');
}
