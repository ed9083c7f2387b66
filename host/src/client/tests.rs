//! The client against small `sh` scripts standing in for QEMU.

use super::*;

fn fake_server(script: &str) -> QemuMcp {
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(script);
    let mut mcp = QemuMcp::spawn(cmd).unwrap();
    mcp.set_response_timeout(Duration::from_secs(10));
    mcp
}

#[test]
fn initialize_sends_the_handshake() {
    // Answers initialize with the request it got, then reports the next line.
    let mut mcp = fake_server(
        r#"read -r l; printf '{"jsonrpc":"2.0","id":1,"result":{"echo":%s}}\n' "$l"
           read -r l; printf '{"jsonrpc":"2.0","method":"seen","params":%s}\n' "$l"
           read -r l; printf '{"jsonrpc":"2.0","id":2,"result":{}}\n'; sleep 5"#,
    );
    let result = mcp.initialize("2025-11-25", "unit-test").unwrap();
    let sent = &result["echo"];
    assert_eq!(sent["jsonrpc"], "2.0");
    assert_eq!(sent["method"], "initialize");
    assert_eq!(sent["params"]["protocolVersion"], "2025-11-25");
    assert_eq!(sent["params"]["clientInfo"]["name"], "unit-test");
    assert_eq!(mcp.call("ping", None).unwrap(), json!({}));
    let notification = &mcp.notifications()[0];
    assert_eq!(
        notification["params"],
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
    );
}

#[test]
fn responses_are_matched_by_id_and_stray_lines_kept() {
    let mut mcp = fake_server(
        r#"read -r l; printf 'booting...\n{"jsonrpc":"2.0","id":99,"result":{}}\n{"jsonrpc":"2.0","id":1,"result":{"ok":true}}\n'; sleep 5"#,
    );
    assert_eq!(mcp.call("ping", None).unwrap(), json!({"ok": true}));
    assert_eq!(mcp.unexpected_lines().len(), 2);
    assert_eq!(mcp.unexpected_lines()[0], b"booting...");
    assert!(mcp.stdout_bytes().starts_with(b"booting...\n{\"jsonrpc\""));
}

#[test]
fn error_responses_become_rpc_errors() {
    let mut mcp = fake_server(
        r#"read -r l; printf '{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"nope"}}\n'; sleep 5"#,
    );
    match mcp.call("no/such", None) {
        Err(Error::Rpc {
            code: -32601,
            message,
            ..
        }) => assert_eq!(message, "nope"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn tool_lists_follow_cursors() {
    let mut mcp = fake_server(
        r#"read -r l; printf '{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a"}],"nextCursor":"c"}}\n'
           read -r l; printf '{"jsonrpc":"2.0","id":2,"result":{"tools":[{"name":"b"}]}}\n'; sleep 5"#,
    );
    let names: Vec<Value> = mcp
        .list_tools()
        .unwrap()
        .iter()
        .map(|t| t["name"].clone())
        .collect();
    assert_eq!(names, [json!("a"), json!("b")]);
}

#[test]
fn silence_times_out_with_a_hint() {
    let mut mcp = fake_server("sleep 30");
    mcp.set_response_timeout(Duration::from_millis(200));
    let start = Instant::now();
    let err = mcp.call("ping", None).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert!(err.to_string().contains("written nothing"), "{err}");
}

#[test]
fn the_session_limit_bounds_every_wait() {
    let mut mcp = fake_server("sleep 30");
    mcp.set_session_limit(Duration::from_millis(300));
    let start = Instant::now();
    assert!(mcp.call("ping", None).is_err());
    assert!(mcp.call("ping", None).is_err());
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_server_that_never_reads_does_not_block_sends() {
    let mut mcp = fake_server("sleep 30");
    mcp.set_response_timeout(Duration::from_millis(200));
    let start = Instant::now();
    mcp.send_raw(&vec![b'x'; 1 << 20]).unwrap();
    assert!(mcp.next_message("anything").is_err());
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn an_exited_server_is_reported() {
    let mut mcp = fake_server("printf 'partial'; exit 3");
    let err = mcp.call("ping", None).unwrap_err();
    assert!(err.to_string().contains("exit status: 3"), "{err}");
    assert_eq!(mcp.unexpected_lines(), [b"partial".to_vec()]);
}

#[test]
fn drop_kills_and_reaps() {
    let mcp = fake_server("sleep 30");
    let pid = mcp.pid();
    drop(mcp);
    // Reaped: no process, not even a zombie, has this id any more.
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
}

#[test]
fn only_newline_terminated_jsonrpc_objects_pass_the_hygiene_check() {
    let good =
        b"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n{\"jsonrpc\":\"2.0\",\"method\":\"m\"}\n";
    assert_eq!(jsonrpc_lines(good).unwrap().len(), 2);
    assert_eq!(jsonrpc_lines(b"").unwrap().len(), 0);
    for bad in [
        &b"Kingly OS booting\n{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n"[..],
        b"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}",
        b"{\"jsonrpc\":\"1.0\",\"id\":1,\"result\":{}}\n",
        b"[1,2]\n",
        b"\n",
        b"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\r\n\x00",
    ] {
        assert!(
            jsonrpc_lines(bad).is_err(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}
