//! The SD card's FAT32 volume as MCP tools and a resource template:
//! `fs_list`, `fs_stat`, `fs_read`, `fs_write`, `fs_delete`, `fs_mkdir`,
//! `file:///{path}`, and `bench_sd_read`. The work is in [`crate::storage`];
//! this module turns arguments into calls and results into JSON.
//!
//! A write is answered only after the file is closed on the card, so a
//! success survives an immediate power cut (see `storage`).

use crate::storage::{self, Entry, WriteMode};
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use base64::Engine;
use mcp::resources::{Contents, ResourceTemplate};
use mcp::{Context, Object, Tool, ToolResult};
use rpi4::generic_timer;
use serde_json::{json, Map, Value};

/// Largest `fs_read` length and `file:///` resource.
pub const MAX_READ_BYTES: u64 = 1 << 20;
const DEFAULT_READ_BYTES: u64 = 64 * 1024;

pub fn all() -> Vec<Tool> {
    vec![
        fs_list(),
        fs_stat(),
        fs_read(),
        fs_write(),
        fs_delete(),
        fs_mkdir(),
        bench_sd_read(),
    ]
}

const PATH_DESCRIPTION: &str = "absolute path on the card's FAT32 volume, e.g. /NOTES/TODO.TXT; \
     components are FAT 8.3 short names (1-8 characters, optionally a dot and 1-3 more), case-insensitive";

fn path_schema() -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": storage::MAX_PATH_BYTES, "description": PATH_DESCRIPTION})
}

fn entry_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "the short (8.3) name, as paths use it"},
            "long_name": {"type": ["string", "null"], "description": "the long name another system gave the entry, if any"},
            "size": {"type": "integer"},
            "is_dir": {"type": "boolean"},
            "modified": {"type": "string", "description": "YYYY-MM-DDTHH:MM:SS as stored; the board has no real-time clock, so the kernel writes 1980-01-01T00:00:00"}
        },
        "required": ["name", "size", "is_dir", "modified"]
    })
}

fn entry_object(e: &Entry) -> Object {
    mcp::object! {"name": e.name, "long_name": e.long_name, "size": e.size, "is_dir": e.is_dir, "modified": e.modified}
}

fn path_arg(args: &Map<String, Value>) -> &str {
    args.get("path").and_then(Value::as_str).unwrap_or_default()
}

fn fs_list() -> Tool {
    Tool {
        name: "fs_list",
        title: "List a directory",
        description: "Lists a directory of the SD card's FAT32 volume: name, size, is_dir, modified for each entry.",
        input_schema: json!({
            "type": "object",
            "properties": {"path": path_schema()},
            "required": ["path"],
            "additionalProperties": false
        }),
        output_schema: Some(json!({
            "type": "object",
            "properties": {"path": {"type": "string"}, "entries": {"type": "array", "items": entry_schema()}},
            "required": ["path", "entries"]
        })),
        handler: Box::new(|args: &Map<String, Value>, _: &mut dyn Context| {
            let path = path_arg(args);
            match storage::list(path) {
                Ok(entries) => ToolResult::Structured(mcp::object! {
                    "path": path,
                    "entries": entries.iter().map(entry_object).collect::<Vec<_>>(),
                }),
                Err(e) => ToolResult::Error(e.0),
            }
        }),
    }
}

fn fs_stat() -> Tool {
    let mut schema = entry_schema();
    schema["properties"]["path"] = json!({"type": "string"});
    schema["properties"]["read_only"] = json!({"type": "boolean", "description": "a boot file the tools will not change (see fs_protect)"});
    Tool {
        name: "fs_stat",
        title: "Describe a file or directory",
        description: "Size, type and modification time of one path on the SD card, and whether it is a protected boot file.",
        input_schema: json!({
            "type": "object",
            "properties": {"path": path_schema()},
            "required": ["path"],
            "additionalProperties": false
        }),
        output_schema: Some(schema),
        handler: Box::new(|args: &Map<String, Value>, _: &mut dyn Context| {
            let path = path_arg(args);
            match storage::stat(path) {
                Ok(e) => {
                    let mut o = entry_object(&e);
                    o.insert("path", path);
                    let parts = storage::parse_path(path).unwrap_or_default();
                    o.insert("read_only", storage::protected() && storage::is_boot_file(&parts));
                    ToolResult::Structured(o)
                }
                Err(e) => ToolResult::Error(e.0),
            }
        }),
    }
}

fn fs_read() -> Tool {
    Tool {
        name: "fs_read",
        title: "Read a file",
        description: "Reads up to `length` bytes (default 64 KiB, at most 1 MiB) of a file from `offset`. \
                      encoding utf8 returns text (an error if the bytes are not UTF-8), base64 returns any bytes; \
                      without it, text when the bytes are UTF-8 and base64 otherwise. Read large files in chunks.",
        input_schema: json!({
            "type": "object",
            "properties": {
                "path": path_schema(),
                "offset": {"type": "integer", "minimum": 0, "maximum": u32::MAX},
                "length": {"type": "integer", "minimum": 0, "maximum": MAX_READ_BYTES},
                "encoding": {"enum": ["utf8", "base64"]}
            },
            "required": ["path"],
            "additionalProperties": false
        }),
        output_schema: Some(json!({
            "type": "object",
            "properties": {
                "path": {"type": "string"},
                "offset": {"type": "integer"},
                "length": {"type": "integer", "description": "bytes returned"},
                "size": {"type": "integer", "description": "the file's size"},
                "eof": {"type": "boolean", "description": "the read reached the end of the file"},
                "encoding": {"enum": ["utf8", "base64"]},
                "data": {"type": "string"}
            },
            "required": ["path", "offset", "length", "size", "eof", "encoding", "data"]
        })),
        handler: Box::new(|args: &Map<String, Value>, _: &mut dyn Context| {
            let path = path_arg(args);
            let offset = args.get("offset").and_then(Value::as_u64).unwrap_or(0) as u32;
            let length = args.get("length").and_then(Value::as_u64).unwrap_or(DEFAULT_READ_BYTES);
            let encoding = args.get("encoding").and_then(Value::as_str);
            let (bytes, size) = match storage::read(path, offset, length as usize) {
                Ok(r) => r,
                Err(e) => return ToolResult::Error(e.0),
            };
            let (encoding, data) = match (encoding, String::from_utf8(bytes)) {
                (Some("base64"), r) => ("base64", encode(&r.map_or_else(|e| e.into_bytes(), String::into_bytes))),
                (_, Ok(text)) => ("utf8", text),
                (Some(_), Err(e)) => {
                    return ToolResult::Error(format!(
                        "{path}: bytes {offset}.. are not UTF-8 (at byte {}); read them with encoding base64",
                        u64::from(offset) + e.utf8_error().valid_up_to() as u64
                    ))
                }
                (None, Err(e)) => ("base64", encode(e.as_bytes())),
            };
            let returned = if encoding == "utf8" { data.len() } else { decoded_len(&data) };
            ToolResult::Structured(mcp::object! {
                "path": path,
                "offset": offset,
                "length": returned,
                "size": size,
                "eof": u64::from(offset) + returned as u64 >= u64::from(size),
                "encoding": encoding,
                "data": data,
            })
        }),
    }
}

fn encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn decoded_len(b64: &str) -> usize {
    let pad = b64.bytes().rev().take_while(|&b| b == b'=').count();
    b64.len() / 4 * 3 - pad
}

fn fs_write() -> Tool {
    Tool {
        name: "fs_write",
        title: "Write a file",
        description: "Writes `data` to a file: mode create makes a new file (an error if it exists), truncate \
                      replaces the contents, append adds at the end (both create a missing file). The answer comes \
                      after the file is closed on the card: a reported write survives a power cut. One call carries \
                      at most 16 KiB of data text (the server's string limit); append in pieces for more. \
                      Boot files (kernel8.img, config.txt, cmdline.txt, firmware, *.dtb, /overlays) are read-only \
                      unless the kernel command line says fs_protect=off.",
        input_schema: json!({
            "type": "object",
            "properties": {
                "path": path_schema(),
                "data": {"type": "string"},
                "encoding": {"enum": ["utf8", "base64"], "description": "how data is given (default utf8)"},
                "mode": {"enum": ["create", "truncate", "append"]}
            },
            "required": ["path", "data", "mode"],
            "additionalProperties": false
        }),
        output_schema: Some(json!({
            "type": "object",
            "properties": {
                "path": {"type": "string"},
                "mode": {"type": "string"},
                "bytes_written": {"type": "integer"},
                "size": {"type": "integer", "description": "the file's size afterwards"}
            },
            "required": ["path", "mode", "bytes_written", "size"]
        })),
        handler: Box::new(|args: &Map<String, Value>, _: &mut dyn Context| {
            let path = path_arg(args);
            let data = args.get("data").and_then(Value::as_str).unwrap_or_default();
            let bytes = match args.get("encoding").and_then(Value::as_str) {
                Some("base64") => match base64::engine::general_purpose::STANDARD.decode(data) {
                    Ok(b) => b,
                    Err(e) => return ToolResult::Error(format!("data is not valid base64: {e}")),
                },
                _ => data.as_bytes().to_vec(),
            };
            let mode_name = args.get("mode").and_then(Value::as_str).unwrap_or_default();
            let mode = match mode_name {
                "create" => WriteMode::Create,
                "truncate" => WriteMode::Truncate,
                _ => WriteMode::Append,
            };
            match storage::write(path, &bytes, mode) {
                Ok(size) => ToolResult::Structured(mcp::object! {
                    "path": path,
                    "mode": mode_name,
                    "bytes_written": bytes.len(),
                    "size": size,
                }),
                Err(e) => ToolResult::Error(e.0),
            }
        }),
    }
}

fn simple_tool(
    name: &'static str,
    title: &'static str,
    description: &'static str,
    done: &'static str,
    op: fn(&str) -> Result<(), storage::FsError>,
) -> Tool {
    Tool {
        name,
        title,
        description,
        input_schema: json!({
            "type": "object",
            "properties": {"path": path_schema()},
            "required": ["path"],
            "additionalProperties": false
        }),
        output_schema: Some(json!({
            "type": "object",
            "properties": {"path": {"type": "string"}, done: {"type": "boolean"}},
            "required": ["path", done]
        })),
        handler: Box::new(move |args: &Map<String, Value>, _: &mut dyn Context| {
            let path = path_arg(args);
            match op(path) {
                Ok(()) => {
                    let mut o = mcp::object! {"path": path};
                    o.insert(done, true);
                    ToolResult::Structured(o)
                }
                Err(e) => ToolResult::Error(e.0),
            }
        }),
    }
}

fn fs_delete() -> Tool {
    simple_tool(
        "fs_delete",
        "Delete a file or empty directory",
        "Deletes a file or an empty directory on the SD card. Boot files are protected (see fs_write).",
        "deleted",
        storage::delete,
    )
}

fn fs_mkdir() -> Tool {
    simple_tool(
        "fs_mkdir",
        "Make a directory",
        "Creates a directory (its parent must exist) on the SD card.",
        "created",
        storage::mkdir,
    )
}

/// `file:///{path}`: a file as a resource, text when its bytes are UTF-8,
/// a blob otherwise. `{path}` is one URI segment (RFC 6570 level 1), so a
/// path below the root is written with `%2F` between its components:
/// `file:///MODELS%2FSMOL.GGU`.
pub fn file_template() -> ResourceTemplate {
    ResourceTemplate {
        uri_template: "file:///{path}",
        name: "sd-file",
        title: "A file on the SD card",
        description: "Reads a file of the SD card's FAT32 volume (at most 1 MiB; use fs_read for more): text when \
                      its bytes are UTF-8, base64 blob otherwise. Separate directories with %2F (the {path} variable \
                      is one URI segment), e.g. file:///CONFIG.TXT or file:///NOTES%2FTODO.TXT.",
        mime_type: "application/octet-stream",
        read: Box::new(|_uri: &str, vars: &Map<String, Value>| {
            let raw = vars.get("path").and_then(Value::as_str).unwrap_or_default();
            let Some(path) = path_of_segment(raw) else {
                return Err(format!("{raw}: bad percent-encoding"));
            };
            match storage::stat(&path) {
                Ok(e) if e.is_dir => return Err(format!("{path}: is a directory (use fs_list)")),
                Ok(e) if u64::from(e.size) > MAX_READ_BYTES => {
                    return Err(format!("{path}: {} bytes, more than a resource carries (1 MiB); use fs_read", e.size))
                }
                Ok(_) => {}
                Err(e) if e.0.ends_with("no such file or directory") => return Ok(None),
                Err(e) => return Err(e.0),
            }
            match storage::read(&path, 0, MAX_READ_BYTES as usize) {
                Ok((bytes, _)) => Ok(Some(match String::from_utf8(bytes) {
                    Ok(text) => Contents::Text(text),
                    Err(e) => Contents::Blob(e.into_bytes()),
                })),
                Err(e) => Err(e.0),
            }
        }),
        complete: None,
        subscribable: true,
    }
}

/// The card path a `file:///{path}` URI names (its one segment
/// percent-decoded), or `None` for another URI or a bad encoding.
pub fn path_of_file_uri(uri: &str) -> Option<String> {
    path_of_segment(uri.strip_prefix("file:///")?)
}

fn path_of_segment(segment: &str) -> Option<String> {
    Some(format!("/{}", percent_decode(segment)?))
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = core::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn bench_sd_read() -> Tool {
    Tool {
        name: "bench_sd_read",
        title: "Measure SD card reads",
        description: "Reads `bytes` from the SD card and reports generic-timer ticks: without `path`, raw blocks from \
                      the start of the card through the driver in `chunk_bytes` multi-block transfers; with `path`, \
                      a file through the FAT layer in 1 MiB fs_read-sized pieces. Under qemu -icount shift=0 \
                      ns_per_byte equals guest instructions per byte.",
        input_schema: json!({
            "type": "object",
            "properties": {
                "bytes": {"type": "integer", "minimum": 512, "maximum": 1u64 << 32},
                "chunk_bytes": {"type": "integer", "minimum": 512, "maximum": 32u64 << 20},
                "path": path_schema()
            },
            "additionalProperties": false
        }),
        output_schema: Some(json!({
            "type": "object",
            "properties": {
                "what": {"type": "string"},
                "bytes": {"type": "integer"},
                "ticks": {"type": "integer"},
                "cntfrq_hz": {"type": "integer"},
                "ns_per_byte": {"type": "number"},
                "mb_per_s": {"type": "number", "description": "in the counter's time (virtual time under icount)"}
            },
            "required": ["what", "bytes", "ticks", "cntfrq_hz", "ns_per_byte", "mb_per_s"]
        })),
        handler: Box::new(|args: &Map<String, Value>, ctx: &mut dyn Context| {
            let bytes = args.get("bytes").and_then(Value::as_u64).unwrap_or(16 << 20) as usize;
            let chunk = args.get("chunk_bytes").and_then(Value::as_u64).unwrap_or(1 << 20) as usize;
            // Progress, and a poll for cancellation, which is also the MCP
            // loop's heartbeat (the watchdog resets a loop that stops beating).
            let mut between = |done: usize, total: usize| {
                ctx.progress(done as f64, Some(total as f64), None);
                !ctx.cancelled()
            };
            let measured = match args.get("path").and_then(Value::as_str) {
                None => storage::raw_read(bytes, chunk, &mut between)
                    .map(|(n, t)| ("raw multi-block read", n, t)),
                Some(path) => file_read(path, bytes, &mut between)
                    .map(|(n, t)| ("file read through embedded-sdmmc", n, t)),
            };
            match measured {
                Ok((what, n, ticks)) => {
                    let freq = generic_timer::frequency_hz();
                    let ns = ticks as f64 * 1e9 / freq as f64;
                    ToolResult::Structured(mcp::object! {
                        "what": what,
                        "bytes": n,
                        "ticks": ticks,
                        "cntfrq_hz": freq,
                        "ns_per_byte": if n > 0 { ns / n as f64 } else { 0.0 },
                        "mb_per_s": if ns > 0.0 { n as f64 / ns * 1e3 } else { 0.0 },
                    })
                }
                Err(e) => ToolResult::Error(e.0),
            }
        }),
    }
}

fn file_read(
    path: &str,
    bytes: usize,
    between: &mut impl FnMut(usize, usize) -> bool,
) -> Result<(usize, u64), storage::FsError> {
    let start = generic_timer::ticks();
    let mut done = 0usize;
    while done < bytes {
        let want = (bytes - done).min(MAX_READ_BYTES as usize);
        let (chunk, _) = storage::read(path, done as u32, want)?;
        if chunk.is_empty() {
            break;
        }
        done += chunk.len();
        core::hint::black_box(&chunk);
        if !between(done, bytes) {
            break;
        }
    }
    Ok((done, generic_timer::ticks() - start))
}
