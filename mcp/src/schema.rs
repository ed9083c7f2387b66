//! Checking tool arguments against the tool's `inputSchema`.
//!
//! MCP servers must validate tool inputs; a mismatch is reported to the
//! model as a `CallToolResult` with `isError: true` so it can correct the
//! call. Tool schemas are written by us, so this covers the subset of JSON
//! Schema they use: `type` (a name or a list), `properties`, `required`,
//! `additionalProperties: false`, `enum`, `const`, `minimum`/`maximum`,
//! `minLength`/`maxLength`, `items`, `minItems`/`maxItems`. Other keywords
//! are ignored (accepting rather than rejecting what we cannot check).

use alloc::format;
use alloc::string::String;
use serde_json::{Map, Value};

/// `Ok` when `value` satisfies `schema`; otherwise a message naming the
/// offending location, e.g. `arguments.pin: expected integer`.
pub fn validate(schema: &Value, value: &Value) -> Result<(), String> {
    check(schema, value, "arguments")
}

/// [`validate`] for a tool's `arguments` object, without wrapping it in a
/// `Value` (tool input schemas are object schemas).
pub fn validate_arguments(schema: &Value, arguments: &Map<String, Value>) -> Result<(), String> {
    match schema.as_object() {
        Some(schema) => check_object(schema, arguments, "arguments"),
        None => Ok(()),
    }
}

/// Whether [`validate_arguments`] passes every arguments object: the
/// schema is `{"type": "object"}` alone (a tool without parameters) or not
/// an object schema at all. The server works this out once per tool.
pub fn accepts_any_object(schema: &Value) -> bool {
    match schema.as_object() {
        Some(schema) => schema.len() == 1 && schema.get("type") == Some(&Value::from("object")),
        None => true,
    }
}

fn check(schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let Some(schema) = schema.as_object() else {
        // `true` / missing schema accepts anything; `false` nothing.
        return if schema == &Value::Bool(false) {
            Err(format!("{at}: not allowed"))
        } else {
            Ok(())
        };
    };
    if let Some(t) = schema.get("type") {
        let ok = match t {
            Value::String(name) => has_type(value, name),
            Value::Array(names) => names
                .iter()
                .filter_map(Value::as_str)
                .any(|n| has_type(value, n)),
            _ => true,
        };
        if !ok {
            return Err(format!("{at}: expected {}", type_names(t)));
        }
    }
    if let Some(Value::Array(options)) = schema.get("enum") {
        if !options.contains(value) {
            return Err(format!(
                "{at}: must be one of {}",
                crate::json_out::to_string(&Value::Array(options.clone()))
            ));
        }
    }
    if let Some(c) = schema.get("const") {
        if c != value {
            return Err(format!("{at}: must be {}", crate::json_out::to_string(c)));
        }
    }
    match value {
        Value::Number(n) => check_number(schema, n.as_f64().unwrap_or(f64::NAN), at)?,
        Value::String(s) => {
            let len = s.chars().count() as u64;
            if schema
                .get("minLength")
                .and_then(Value::as_u64)
                .is_some_and(|m| len < m)
            {
                return Err(format!("{at}: too short"));
            }
            if schema
                .get("maxLength")
                .and_then(Value::as_u64)
                .is_some_and(|m| len > m)
            {
                return Err(format!("{at}: too long"));
            }
        }
        Value::Array(items) => {
            let len = items.len() as u64;
            if schema
                .get("minItems")
                .and_then(Value::as_u64)
                .is_some_and(|m| len < m)
            {
                return Err(format!("{at}: too few items"));
            }
            if schema
                .get("maxItems")
                .and_then(Value::as_u64)
                .is_some_and(|m| len > m)
            {
                return Err(format!("{at}: too many items"));
            }
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(item_schema, item, &format!("{at}[{i}]"))?;
                }
            }
        }
        Value::Object(map) => check_object(schema, map, at)?,
        _ => {}
    }
    Ok(())
}

fn check_number(schema: &Map<String, Value>, n: f64, at: &str) -> Result<(), String> {
    if let Some(min) = schema.get("minimum").and_then(Value::as_f64) {
        if n < min {
            return Err(format!("{at}: must be at least {min}"));
        }
    }
    if let Some(max) = schema.get("maximum").and_then(Value::as_f64) {
        if n > max {
            return Err(format!("{at}: must be at most {max}"));
        }
    }
    Ok(())
}

fn check_object(
    schema: &Map<String, Value>,
    map: &Map<String, Value>,
    at: &str,
) -> Result<(), String> {
    if let Some(Value::Array(required)) = schema.get("required") {
        for name in required.iter().filter_map(Value::as_str) {
            if !map.contains_key(name) {
                return Err(format!("{at}: missing required property \"{name}\""));
            }
        }
    }
    let props = schema.get("properties").and_then(Value::as_object);
    let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
    for (key, item) in map {
        match props.and_then(|p| p.get(key)) {
            Some(prop_schema) => check(prop_schema, item, &format!("{at}.{key}"))?,
            None if closed => return Err(format!("{at}: unexpected property \"{key}\"")),
            None => {}
        }
    }
    Ok(())
}

fn has_type(value: &Value, name: &str) -> bool {
    match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        "number" => value.is_number(),
        "integer" => {
            value.is_i64()
                || value.is_u64()
                || value
                    .as_f64()
                    .is_some_and(|f| f.is_finite() && f as i64 as f64 == f)
        }
        _ => true,
    }
}

fn type_names(t: &Value) -> String {
    match t {
        Value::String(s) => s.clone(),
        other => crate::json_out::to_string(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn open_schemas_are_recognized() {
        assert!(accepts_any_object(&json!({"type": "object"})));
        assert!(!accepts_any_object(
            &json!({"type": "object", "required": ["a"]})
        ));
        assert!(!accepts_any_object(&json!({"type": "string"})));
        assert!(!accepts_any_object(&json!({"properties": {}})));
    }

    #[test]
    fn accepts_and_rejects() {
        let schema = json!({
            "type":"object",
            "properties":{
                "pin":{"type":"integer","minimum":0,"maximum":53},
                "mode":{"enum":["in","out"]},
                "name":{"type":"string","maxLength":3},
                "list":{"type":"array","items":{"type":"number"},"maxItems":2},
                "opt":{"type":["string","null"]}
            },
            "required":["pin"],
            "additionalProperties":false
        });
        assert!(validate(&schema, &json!({"pin":3})).is_ok());
        assert!(validate(
            &schema,
            &json!({"pin":3,"mode":"in","name":"abc","list":[1,2.5],"opt":null})
        )
        .is_ok());
        for bad in [
            json!({}),
            json!({"pin":"3"}),
            json!({"pin":3.5}),
            json!({"pin":-1}),
            json!({"pin":54}),
            json!({"pin":1,"mode":"x"}),
            json!({"pin":1,"name":"abcd"}),
            json!({"pin":1,"list":[1,"x"]}),
            json!({"pin":1,"list":[1,2,3]}),
            json!({"pin":1,"opt":5}),
            json!({"pin":1,"extra":true}),
            json!([1]),
        ] {
            assert!(validate(&schema, &bad).is_err(), "{bad}");
        }
        let e = validate(&schema, &json!({"pin":"3"})).unwrap_err();
        assert_eq!(e, "arguments.pin: expected integer");
        assert!(validate(&json!({"type":"object"}), &json!({"anything":[1]})).is_ok());
        assert!(validate(&json!(true), &json!(1)).is_ok());
    }
}
