//! A tool's `inputSchema` (JSON Schema) as the [`ObjectSchema`] the
//! agent's constrained decoding writes under. What the registry's tools
//! use is supported: an object of properties each of type string (with
//! minLength/maxLength), integer or number (with minimum/maximum), boolean,
//! or an `enum` of strings, numbers and booleans; `required`. A schema with
//! anything else (nested objects, arrays, several types, patterns, …) is
//! refused with the reason, and its tool is not offered to the model:
//! nothing is constrained half-way.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use llm::constrain::{Kind, ObjectSchema, Property, Unsupported};
use serde_json::{Map, Value};

/// Longest string the model may write when the schema sets no maxLength.
const DEFAULT_MAX_LEN: usize = 255;

/// Keywords that only describe and do not constrain.
const ANNOTATIONS: &[&str] = &["description", "title", "default", "examples"];

pub fn object_schema(schema: &Value) -> Result<ObjectSchema, Unsupported> {
    let schema = schema
        .as_object()
        .ok_or_else(|| refuse("the schema is not an object"))?;
    if schema.get("type").and_then(Value::as_str) != Some("object") {
        return Err(refuse("the arguments are not an object"));
    }
    for key in schema.keys() {
        if !matches!(
            key.as_str(),
            "type" | "properties" | "required" | "additionalProperties"
        ) && !ANNOTATIONS.contains(&key.as_str())
        {
            return Err(refuse(&format!("keyword {key:?}")));
        }
    }
    if schema
        .get("additionalProperties")
        .is_some_and(|v| *v != Value::Bool(false))
    {
        return Err(refuse("additionalProperties other than false"));
    }
    let required: Vec<&str> = match schema.get("required") {
        None => Vec::new(),
        Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).collect(),
        Some(_) => return Err(refuse("required is not a list")),
    };
    let empty = Map::new();
    let properties = match schema.get("properties") {
        None => &empty,
        Some(Value::Object(p)) => p,
        Some(_) => return Err(refuse("properties is not an object")),
    };
    if let Some(missing) = required.iter().find(|r| !properties.contains_key(**r)) {
        return Err(refuse(&format!("required {missing:?} has no schema")));
    }
    let properties = properties
        .iter()
        .map(|(name, p)| {
            Ok(Property {
                name: name.clone(),
                kind: kind(name, p)?,
                required: required.contains(&name.as_str()),
            })
        })
        .collect::<Result<Vec<_>, Unsupported>>()?;
    ObjectSchema::new(properties)
}

fn kind(name: &str, p: &Value) -> Result<Kind, Unsupported> {
    let p = p
        .as_object()
        .ok_or_else(|| refuse(&format!("{name}: not a schema object")))?;
    let allowed: &[&str] = if p.contains_key("enum") {
        &["enum"]
    } else {
        match p.get("type").and_then(Value::as_str) {
            Some("string") => &["type", "minLength", "maxLength"],
            Some("integer" | "number") => &["type", "minimum", "maximum"],
            Some("boolean") => &["type"],
            _ => return Err(refuse(&format!("{name}: type {:?}", p.get("type")))),
        }
    };
    if let Some(key) = p
        .keys()
        .find(|k| !allowed.contains(&k.as_str()) && !ANNOTATIONS.contains(&k.as_str()))
    {
        return Err(refuse(&format!("{name}: keyword {key:?}")));
    }
    let uint = |key: &str| p.get(key).and_then(Value::as_u64).map(|v| v as usize);
    let int = |key: &str| p.get(key).and_then(Value::as_i64);
    let float = |key: &str| p.get(key).and_then(Value::as_f64);
    Ok(match p.get("type").and_then(Value::as_str) {
        _ if p.contains_key("enum") => Kind::Enum(enum_literals(name, &p["enum"])?),
        Some("string") => Kind::String {
            min_len: uint("minLength").unwrap_or(0),
            max_len: uint("maxLength").unwrap_or(DEFAULT_MAX_LEN),
        },
        Some("integer") => Kind::Integer {
            min: int("minimum"),
            // A bound past i64 (u64::MAX) is no bound the model can reach.
            max: int("maximum"),
        },
        Some("number") => Kind::Number {
            min: float("minimum"),
            max: float("maximum"),
        },
        _ => Kind::Boolean,
    })
}

/// The enum's values as JSON texts; strings must need no escapes.
fn enum_literals(name: &str, values: &Value) -> Result<Vec<String>, Unsupported> {
    let values = values
        .as_array()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| refuse(&format!("{name}: enum is not a non-empty list")))?;
    values
        .iter()
        .map(|v| match v {
            Value::String(s)
                if s.bytes()
                    .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\') =>
            {
                Ok(format!("\"{s}\""))
            }
            Value::Number(_) | Value::Bool(_) => Ok(v.to_string()),
            _ => Err(refuse(&format!("{name}: enum value {v}"))),
        })
        .collect()
}

fn refuse(why: &str) -> Unsupported {
    Unsupported(why.into())
}
