//! The model at start: the one loaded already, or the first `.gguf` in
//! `/MODELS` on the card, loaded with a progress bar.

use indicatif::{ProgressBar, ProgressStyle};
use rmcp::service::ServiceError;
use serde_json::{Map, Value};

use super::connection::{Connection, Interrupts, Reply};

/// Where `kingly image --model` puts models (the kernel's paths are 8.3).
const MODELS_DIR: &str = "/MODELS";

/// The loaded model's description, or `None` (said why) when there is none:
/// no llm tools, no model on the card, a failed or cancelled load. `Err` only
/// for errors of the connection itself.
pub async fn ensure_loaded(
    connection: &mut Connection,
    interrupts: &mut Interrupts,
) -> Result<Option<String>, ServiceError> {
    match connection.call_quietly("llm_info", Map::new()).await {
        Ok(info) if info.is_error != Some(true) => {
            return Ok(info.structured_content.as_ref().map(describe));
        }
        Ok(_) => {} // "no model loaded"
        Err(ServiceError::McpError(_)) => {
            println!("this kernel has no llm tools");
            return Ok(None);
        }
        Err(e) => return Err(e),
    }
    let Some(path) = find_model(connection).await? else {
        return Ok(None);
    };
    println!("loading {path} from the card (Ctrl-C skips it)");
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {eta}")
            .expect("a valid progress template"),
    );
    let arguments = Map::from_iter([("path".to_owned(), Value::from(path.as_str()))]);
    let reply = connection
        .call("llm_load", arguments, interrupts, |progress| {
            if let Some(total) = progress.total {
                bar.set_length(total as u64);
            }
            bar.set_position(progress.progress as u64);
        })
        .await;
    bar.finish_and_clear();
    match reply? {
        Reply::Cancelled => {
            println!("(loading cancelled; /call llm_load {{\"path\": \"{path}\"}} tries again)");
            Ok(None)
        }
        Reply::Done(result) if result.is_error == Some(true) => {
            let text = super::result_text(&result);
            println!("error: llm_load {path}: {text}");
            Ok(None)
        }
        Reply::Done(result) => Ok(result.structured_content.as_ref().map(describe)),
    }
}

/// The 8.3 path of the first `.gguf` in [`MODELS_DIR`], if any.
async fn find_model(connection: &mut Connection) -> Result<Option<String>, ServiceError> {
    let arguments = Map::from_iter([("path".to_owned(), Value::from(MODELS_DIR))]);
    let listing = connection.call_quietly("fs_list", arguments).await?;
    let entries = listing
        .structured_content
        .as_ref()
        .filter(|_| listing.is_error != Some(true))
        .and_then(|l| l["entries"].as_array().cloned())
        .unwrap_or_default();
    Ok(pick_model(&entries).map(|name| format!("{MODELS_DIR}/{name}")))
}

/// The short name of the first entry whose long (or short) name says GGUF.
fn pick_model(entries: &[Value]) -> Option<&str> {
    entries.iter().find_map(|entry| {
        let short = entry["name"].as_str()?;
        let long = entry["long_name"].as_str().unwrap_or(short);
        let is_gguf = long.to_ascii_lowercase().ends_with(".gguf")
            || short.to_ascii_uppercase().ends_with(".GGU");
        is_gguf.then_some(short)
    })
}

/// "SmolLM2 135M Instruct (llama, Q4_1, 134.5M parameters, context 2048,
/// /MODELS/SMOLLM~1.GGU)" from `llm_info`'s structured result.
fn describe(info: &Value) -> String {
    let text = |key: &str| info[key].as_str().unwrap_or("?").to_owned();
    let mut details = vec![text("architecture"), text("quantization")];
    if let Some(n) = info["n_params"].as_f64() {
        details.push(format!("{:.1}M parameters", n / 1e6));
    }
    if let Some(n) = info["context_length"].as_u64() {
        details.push(format!("context {n}"));
    }
    if let Some(path) = info["path"].as_str() {
        details.push(path.to_owned());
    }
    format!("{} ({})", text("model"), details.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_first_gguf_by_long_or_short_name() {
        let entries = json!([
            {"name": "README.TXT", "long_name": "readme.txt"},
            {"name": "SMOLLM~1.GGU", "long_name": "smollm2-135m-instruct-q4_1.gguf"},
            {"name": "OTHER.GGU"},
        ]);
        assert_eq!(
            pick_model(entries.as_array().unwrap()),
            Some("SMOLLM~1.GGU")
        );
        let short_only = json!([{"name": "MODEL.GGU"}]);
        assert_eq!(
            pick_model(short_only.as_array().unwrap()),
            Some("MODEL.GGU")
        );
        assert_eq!(pick_model(&[json!({"name": "A.BIN"})]), None);
    }

    #[test]
    fn a_model_in_one_line() {
        let info = json!({
            "model": "SmolLM2 135M Instruct", "path": "/MODELS/SMOLLM~1.GGU",
            "architecture": "llama", "quantization": "Q4_1",
            "n_params": 134_515_008u64, "context_length": 2048,
        });
        assert_eq!(
            describe(&info),
            "SmolLM2 135M Instruct (llama, Q4_1, 134.5M parameters, context 2048, /MODELS/SMOLLM~1.GGU)"
        );
    }
}
