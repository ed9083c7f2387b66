//! Resources (fixed URIs) and resource templates (RFC 6570 level-1 URI
//! templates such as `kingly://log/{level}`): what the kernel registers, how
//! they are listed, and how a URI is matched to a template.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use serde_json::{json, Map, Value};

use crate::base64;
use crate::catalog::Keyed;

/// What reading a resource produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contents {
    /// UTF-8 text, sent as `text`.
    Text(String),
    /// Binary data, sent base64-encoded as `blob`.
    Blob(Vec<u8>),
}

impl Contents {
    /// The `TextResourceContents` / `BlobResourceContents` object.
    pub fn to_json(&self, uri: &str, mime_type: &str) -> Value {
        match self {
            Contents::Text(text) => json!({"uri": uri, "mimeType": mime_type, "text": text}),
            Contents::Blob(bytes) => {
                json!({"uri": uri, "mimeType": mime_type, "blob": base64::encode(bytes)})
            }
        }
    }
}

/// Reads a fixed resource; `Err` is a failure reported as -32603.
pub type ReadFn = Box<dyn FnMut() -> Result<Contents, String> + Send>;
/// Reads a URI matching a template, given the template's variables;
/// `Ok(None)` means no such resource (-32002).
pub type TemplateReadFn =
    Box<dyn FnMut(&str, &Map<String, Value>) -> Result<Option<Contents>, String> + Send>;
/// Completes the value of a variable / prompt argument (`name`, `prefix`).
pub type CompleteFn = Box<dyn FnMut(&str, &str) -> Vec<String> + Send>;

/// A resource at a fixed URI.
pub struct Resource {
    pub uri: String,
    pub name: String,
    pub title: &'static str,
    pub description: &'static str,
    pub mime_type: &'static str,
    /// Whether clients may subscribe to `notifications/resources/updated`
    /// for it (the kernel then calls [`crate::Server::resource_updated`]).
    pub subscribable: bool,
    pub read: ReadFn,
}

impl Resource {
    /// The entry in a `resources/list` result.
    pub fn descriptor(&self) -> Value {
        json!({
            "uri": self.uri,
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "mimeType": self.mime_type,
        })
    }
}

impl Keyed for Resource {
    fn key(&self) -> &str {
        &self.uri
    }
}

impl fmt::Debug for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resource")
            .field("uri", &self.uri)
            .finish_non_exhaustive()
    }
}

/// A family of resources whose URIs follow a template.
pub struct ResourceTemplate {
    /// RFC 6570 level 1: literal text and `{var}` expansions only.
    pub uri_template: &'static str,
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub mime_type: &'static str,
    pub read: TemplateReadFn,
    /// Suggests values for a variable (`completion/complete`).
    pub complete: Option<CompleteFn>,
    /// Whether clients may subscribe to the URIs it matches; the kernel
    /// then reports their changes with [`crate::Server::resource_updated`],
    /// finding them among [`crate::Server::subscribed_uris`].
    pub subscribable: bool,
}

impl ResourceTemplate {
    /// The entry in a `resources/templates/list` result.
    pub fn descriptor(&self) -> Value {
        json!({
            "uriTemplate": self.uri_template,
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "mimeType": self.mime_type,
        })
    }

    /// The names of the template's variables, in order.
    pub fn variables(&self) -> impl Iterator<Item = &'static str> {
        let t: &'static str = self.uri_template;
        t.split('{')
            .skip(1)
            .filter_map(|part| part.split_once('}').map(|(name, _)| name))
    }

    /// The variables `uri` assigns, or `None` if it does not match. A
    /// level-1 expansion percent-encodes reserved characters, so a value is
    /// a non-empty run without `/`, `?` or `#`; it extends to the next
    /// literal text of the template.
    pub fn match_uri(&self, uri: &str) -> Option<Map<String, Value>> {
        let mut vars = Map::new();
        let mut rest = uri;
        let mut template = self.uri_template;
        loop {
            match template.find('{') {
                None => return (rest == template).then_some(vars),
                Some(open) => {
                    let literal = &template[..open];
                    rest = rest.strip_prefix(literal)?;
                    let close = template[open..].find('}')? + open;
                    let name = &template[open + 1..close];
                    template = &template[close + 1..];
                    let next_literal = &template[..template.find('{').unwrap_or(template.len())];
                    let limit = rest.find(['/', '?', '#']).unwrap_or(rest.len());
                    let end = if next_literal.is_empty() {
                        limit
                    } else {
                        rest[..limit].find(next_literal).or_else(|| {
                            // The next literal may itself start with a delimiter.
                            rest[limit..].starts_with(next_literal).then_some(limit)
                        })?
                    };
                    if end == 0 {
                        return None;
                    }
                    vars.insert(name.into(), Value::String(rest[..end].into()));
                    rest = &rest[end..];
                }
            }
        }
    }
}

impl Keyed for ResourceTemplate {
    fn key(&self) -> &str {
        self.uri_template
    }
}

impl fmt::Debug for ResourceTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceTemplate")
            .field("uri_template", &self.uri_template)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn template(t: &'static str) -> ResourceTemplate {
        ResourceTemplate {
            uri_template: t,
            name: "t",
            title: "T",
            description: "d",
            mime_type: "text/plain",
            read: Box::new(|_, _| Ok(None)),
            complete: None,
            subscribable: false,
        }
    }

    #[test]
    fn matches_level_one_templates() {
        let t = template("kingly://gpio/{pin}/level");
        assert_eq!(
            t.match_uri("kingly://gpio/17/level"),
            Some(json!({"pin":"17"}).as_object().unwrap().clone())
        );
        assert_eq!(t.match_uri("kingly://gpio//level"), None);
        assert_eq!(t.match_uri("kingly://gpio/1/7/level"), None);
        assert_eq!(t.match_uri("kingly://gpio/17/levels"), None);
        let t = template("file:///{dir}/{name}.{ext}");
        let m = t.match_uri("file:///models/smol.gguf").unwrap();
        assert_eq!(
            Value::Object(m),
            json!({"dir":"models","name":"smol","ext":"gguf"})
        );
        let t = template("kingly://log/{level}");
        assert_eq!(
            Value::Object(t.match_uri("kingly://log/info").unwrap()),
            json!({"level":"info"})
        );
        assert_eq!(t.match_uri("kingly://log/"), None);
        assert_eq!(t.match_uri("kingly://log/a/b"), None);
        assert_eq!(t.variables().collect::<Vec<_>>(), vec!["level"]);
    }

    #[test]
    fn contents_shapes() {
        assert_eq!(
            Contents::Text("hi".into()).to_json("u", "text/plain"),
            json!({"uri":"u","mimeType":"text/plain","text":"hi"})
        );
        assert_eq!(
            Contents::Blob(vec![1, 2, 3]).to_json("u", "application/octet-stream"),
            json!({"uri":"u","mimeType":"application/octet-stream","blob":"AQID"})
        );
    }
}
