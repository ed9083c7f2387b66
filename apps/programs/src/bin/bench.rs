//! A measurement program (/APPS/BENCH.ELF): calls a trivial tool `n` times
//! through `svc` with one request encoded up front, so `app_run`'s
//! instruction count for n calls minus that for 0 calls, over n, is the
//! cost of one round trip EL0 → kernel → tool → EL0 (docs/performance.md).
//!
//! args: {"n": calls (default 100), "tool": name (default "time_now", a
//! tool without arguments that reads two counters), "arguments": object
//! (default {}), "decode": also decode each answer with mcp::binary
//! (default false)}.
#![no_std]
#![no_main]

use kingly_app::{encode_call, json, println, serde_json, svc, Value};

kingly_app::entry!(main);

fn main(args: &str) -> i32 {
    let args: Value = serde_json::from_str(args).unwrap_or(Value::Null);
    let n = args["n"].as_u64().unwrap_or(100);
    let tool = args["tool"].as_str().unwrap_or("time_now");
    let arguments = args.get("arguments").cloned().unwrap_or(json!({}));
    let decode = args["decode"] == true;
    let request = encode_call(1, tool, &arguments);
    let mut response = [0u8; 1024];
    let mut ok = 0u64;
    for _ in 0..n {
        let (len, _) = svc(&request, &mut response);
        if len > 0 && (!decode || kingly_app::decode_ok(&response[..len as usize])) {
            ok += 1;
        }
    }
    println!("calls {n} ok {ok} request_bytes {}", request.len());
    if ok == n {
        0
    } else {
        1
    }
}
