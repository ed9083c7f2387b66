//! `prompts/list`, `prompts/get` and `completion/complete` (which completes
//! prompt arguments and resource-template variables).

use alloc::borrow::Cow;
use alloc::format;
use serde::Deserialize;
use serde_json::{json, Map};

use super::request::{required_str, RequestMeta};
use super::tools::read_arguments;
use super::{object, Outcome, Server};
use crate::jsonrpc::{code, RpcError};
use crate::limits::{MAX_COMPLETION_VALUES, MAX_STRING_BYTES};
use crate::params::Params;

/// `ref` of `completion/complete`: a `PromptReference` or a
/// `ResourceTemplateReference`.
#[derive(Deserialize)]
struct Reference<'a> {
    #[serde(borrow, rename = "type")]
    kind: Cow<'a, str>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    uri: Option<Cow<'a, str>>,
}

/// `argument` of `completion/complete`.
#[derive(Deserialize)]
struct CompletionArgument<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow)]
    value: Cow<'a, str>,
}

/// A required object member parsed into `T`; shape errors are -32602.
fn member<'a, T: Deserialize<'a>>(raw: Option<&'a str>, name: &str) -> Result<T, RpcError> {
    let raw = raw.ok_or_else(|| RpcError::invalid_params(&format!("missing \"{name}\"")))?;
    if !raw.starts_with('{') {
        return Err(RpcError::invalid_params(&format!(
            "\"{name}\" must be an object"
        )));
    }
    serde_json::from_str(raw).map_err(|_| {
        RpcError::invalid_params(&format!("\"{name}\" has missing or mistyped members"))
    })
}

impl Server {
    /// Arguments are strings (MCP's `{[key: string]: string}`); every
    /// declared required one must be there.
    pub(super) fn get_prompt(
        &mut self,
        id: &str,
        params: &Params<'_>,
        meta: &RequestMeta<'_>,
    ) -> Outcome {
        let name = required_str(&params.name, "name")?;
        let arguments = read_arguments(params.arguments.0)?;
        let Some(prompt) = self.prompts.get_mut(&name) else {
            return Err(RpcError::new(
                code::INVALID_PARAMS,
                format!("Unknown prompt: {name}"),
            ));
        };
        if let Some((key, _)) = arguments.iter().find(|(_, v)| !v.is_string()) {
            return Err(RpcError::invalid_params(&format!(
                "argument \"{key}\" must be a string"
            )));
        }
        if let Some(missing) = prompt
            .arguments
            .iter()
            .find(|a| a.required && !arguments.contains_key(a.name))
        {
            return Err(RpcError::invalid_params(&format!(
                "missing required argument \"{}\"",
                missing.name
            )));
        }
        let result = (prompt.get)(&arguments)
            .map_err(|why| RpcError::internal_error(&format!("prompt {name} failed: {why}")))?;
        Ok(Some(self.reply(id, meta, None, object(result.to_json()))))
    }

    /// `CompleteResult`: at most 100 values, `total` of all matches and
    /// `hasMore` when some were cut. An item without a completer completes
    /// to nothing.
    pub(super) fn complete(
        &mut self,
        id: &str,
        params: &Params<'_>,
        meta: &RequestMeta<'_>,
    ) -> Outcome {
        let reference: Reference<'_> = member(params.reference.0, "ref")?;
        let argument: CompletionArgument<'_> = member(params.argument.0, "argument")?;
        if argument.value.len() > MAX_STRING_BYTES || argument.name.len() > MAX_STRING_BYTES {
            return Err(RpcError::invalid_params("completion argument too long"));
        }
        let mut values = match &*reference.kind {
            "ref/prompt" => {
                let name = reference
                    .name
                    .ok_or_else(|| RpcError::invalid_params("\"ref\" needs \"name\""))?;
                let prompt = self
                    .prompts
                    .get_mut(&name)
                    .ok_or_else(|| RpcError::invalid_params(&format!("Unknown prompt: {name}")))?;
                if !prompt.arguments.iter().any(|a| a.name == argument.name) {
                    return Err(RpcError::invalid_params(&format!(
                        "prompt {name} has no argument \"{}\"",
                        argument.name
                    )));
                }
                prompt
                    .complete
                    .as_mut()
                    .map(|f| f(&argument.name, &argument.value))
                    .unwrap_or_default()
            }
            "ref/resource" => {
                let uri = reference
                    .uri
                    .ok_or_else(|| RpcError::invalid_params("\"ref\" needs \"uri\""))?;
                let template = self.templates.get_mut(&uri).ok_or_else(|| {
                    RpcError::invalid_params(&format!("Unknown resource template: {uri}"))
                })?;
                if !template.variables().any(|v| v == argument.name) {
                    return Err(RpcError::invalid_params(&format!(
                        "template {uri} has no variable \"{}\"",
                        argument.name
                    )));
                }
                template
                    .complete
                    .as_mut()
                    .map(|f| f(&argument.name, &argument.value))
                    .unwrap_or_default()
            }
            other => {
                return Err(RpcError::invalid_params(&format!(
                    "unknown reference type \"{other}\""
                )))
            }
        };
        let total = values.len();
        values.truncate(MAX_COMPLETION_VALUES);
        let completion =
            json!({ "values": values, "total": total, "hasMore": total > MAX_COMPLETION_VALUES });
        let mut result = Map::new();
        result.insert("completion".into(), completion);
        Ok(Some(self.reply(id, meta, None, result)))
    }
}
