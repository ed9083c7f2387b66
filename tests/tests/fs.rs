//! The SD card's FAT32 volume through the `fs_*` tools: the real kernel8.img
//! in QEMU raspi4b, talking MCP over UART0, with images read back on the host
//! through fatfs (the crate `kingly image` writes them with).
//!
//! Durability: after `fs_write` reports success, QEMU is killed with SIGKILL
//! and the image must hold the exact bytes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use kingly::image::{self, ImageSpec};
use kingly_tests::{artifacts, boot, boot_image, boot_uninitialized_with_args, structured, Board};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// A tool call that must be refused: a tool error (isError) or, for
/// arguments the input schema rules out, a JSON-RPC error. Returns the
/// message.
fn refused(board: &mut Board, tool: &str, args: Value) -> String {
    let response = board
        .request(
            "tools/call",
            Some(json!({"name": tool, "arguments": args.clone()})),
        )
        .unwrap_or_else(|e| panic!("{tool} {args}: {e}"));
    if let Some(error) = response.get("error") {
        return error["message"].as_str().unwrap_or_default().to_string();
    }
    let result = &response["result"];
    assert_eq!(
        result["isError"], true,
        "{tool} {args} was not refused: {response}"
    );
    let text = result["content"][0]["text"].as_str().unwrap_or_default();
    assert!(!text.is_empty(), "refusal without a message: {response}");
    text.to_string()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(text: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text.as_str().expect("base64 text"))
        .expect("valid base64")
}

/// Deterministic, varied bytes (xorshift), so offset mistakes show.
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn names(listing: &Value) -> Vec<String> {
    listing["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn list_write_read_append_delete_mkdir() {
    let mut board = boot();
    let root = structured(&mut board, "fs_list", json!({"path": "/"}));
    for boot_file in ["KERNEL8.IMG", "CONFIG.TXT", "CMDLINE.TXT"] {
        assert!(names(&root).contains(&boot_file.to_string()), "{root}");
    }
    let kernel = &root["entries"].as_array().unwrap()[0];
    assert_eq!(kernel["long_name"], "kernel8.img", "{root}");
    assert_eq!(kernel["is_dir"], false);
    let built = std::fs::metadata(&artifacts().0).unwrap().len();
    assert_eq!(kernel["size"], built, "{root}");

    structured(&mut board, "fs_mkdir", json!({"path": "/data"}));
    assert!(refused(&mut board, "fs_mkdir", json!({"path": "/DATA"})).contains("exists"));
    let dir = structured(&mut board, "fs_stat", json!({"path": "/DATA"}));
    assert_eq!(dir["is_dir"], true, "{dir}");
    assert_eq!(
        structured(&mut board, "fs_list", json!({"path": "/data"}))["entries"],
        json!([])
    );

    let written = structured(
        &mut board,
        "fs_write",
        json!({"path": "/data/notes.txt", "data": "first line\n", "mode": "create"}),
    );
    assert_eq!(written["bytes_written"], 11, "{written}");
    assert_eq!(written["size"], 11, "{written}");
    assert!(refused(
        &mut board,
        "fs_write",
        json!({"path": "/DATA/NOTES.TXT", "data": "x", "mode": "create"})
    )
    .contains("exists"));

    let read = structured(&mut board, "fs_read", json!({"path": "/data/NOTES.txt"}));
    assert_eq!(read["data"], "first line\n", "{read}");
    assert_eq!(read["encoding"], "utf8");
    assert_eq!(read["eof"], true);

    let appended = structured(
        &mut board,
        "fs_write",
        json!({"path": "/DATA/NOTES.TXT", "data": "second line\n", "mode": "append"}),
    );
    assert_eq!(appended["size"], 23, "{appended}");
    let read = structured(&mut board, "fs_read", json!({"path": "/DATA/NOTES.TXT"}));
    assert_eq!(read["data"], "first line\nsecond line\n", "{read}");
    let part = structured(
        &mut board,
        "fs_read",
        json!({"path": "/DATA/NOTES.TXT", "offset": 6, "length": 4}),
    );
    assert_eq!(part["data"], "line", "{part}");
    assert_eq!(part["eof"], false);
    assert_eq!(part["size"], 23);

    let truncated = structured(
        &mut board,
        "fs_write",
        json!({"path": "/DATA/NOTES.TXT", "data": "replaced", "mode": "truncate"}),
    );
    assert_eq!(truncated["size"], 8, "{truncated}");
    assert_eq!(
        structured(&mut board, "fs_read", json!({"path": "/DATA/NOTES.TXT"}))["data"],
        "replaced"
    );

    // Binary data, across several clusters, base64 both ways.
    let bytes = pattern(12 * 1024, 7);
    structured(
        &mut board,
        "fs_write",
        json!({"path": "/DATA/BLOB.BIN", "data": b64(&bytes), "encoding": "base64", "mode": "create"}),
    );
    let back = structured(&mut board, "fs_read", json!({"path": "/DATA/BLOB.BIN"}));
    assert_eq!(back["encoding"], "base64", "binary comes back as base64");
    assert_eq!(unb64(&back["data"]), bytes);
    assert!(refused(
        &mut board,
        "fs_read",
        json!({"path": "/DATA/BLOB.BIN", "encoding": "utf8"})
    )
    .contains("UTF-8"));

    let listing = structured(&mut board, "fs_list", json!({"path": "/DATA"}));
    assert_eq!(names(&listing), ["NOTES.TXT", "BLOB.BIN"], "{listing}");
    assert_eq!(listing["entries"][1]["size"], 12 * 1024);
    assert!(listing["entries"][0]["modified"].as_str().unwrap().len() == 19);

    // Files as resources: text and blob.
    let templates = board.call("resources/templates/list", None).unwrap();
    assert!(
        templates["resourceTemplates"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["uriTemplate"] == "file:///{path}"),
        "{templates}"
    );
    let config = board
        .call("resources/read", Some(json!({"uri": "file:///config.txt"})))
        .unwrap();
    assert_eq!(
        config["contents"][0]["text"].as_str().unwrap().as_bytes(),
        image::CONFIG_TXT.as_bytes()
    );
    let blob = board
        .call(
            "resources/read",
            Some(json!({"uri": "file:///DATA%2FBLOB.BIN"})),
        )
        .unwrap();
    assert_eq!(unb64(&blob["contents"][0]["blob"]), bytes);
    let missing = board
        .request("resources/read", Some(json!({"uri": "file:///NOPE.TXT"})))
        .unwrap();
    assert!(missing.get("error").is_some(), "{missing}");

    assert!(refused(&mut board, "fs_delete", json!({"path": "/DATA"})).contains("not empty"));
    structured(&mut board, "fs_delete", json!({"path": "/DATA/NOTES.TXT"}));
    assert!(
        refused(&mut board, "fs_stat", json!({"path": "/DATA/NOTES.TXT"})).contains("no such file")
    );
    structured(&mut board, "fs_delete", json!({"path": "/DATA/BLOB.BIN"}));
    structured(&mut board, "fs_delete", json!({"path": "/DATA"}));
    assert!(
        !names(&structured(&mut board, "fs_list", json!({"path": "/"})))
            .contains(&"DATA".to_string())
    );
    assert!(refused(&mut board, "fs_read", json!({"path": "/NOPE.TXT"})).contains("no such file"));
    assert!(refused(&mut board, "fs_list", json!({"path": "/NOPE"})).contains("no such file"));
}

#[test]
fn refused_paths_and_protected_boot_files() {
    let mut board = boot();
    let long = format!("/{}", "A/".repeat(130));
    let bad_paths = [
        ("relative.txt", "absolute"),
        ("", "absolute"),
        ("/../x.txt", ".."),
        ("/./x.txt", ".."),
        ("/a/../b.txt", ".."),
        ("//x.txt", "empty"),
        ("/a//b.txt", "empty"),
        ("/dir/", "empty"),
        ("/averylongname.txt", "8.3"),
        ("/name.text", "8.3"),
        ("/a.b.c", "8.3"),
        ("/.hidden", "8.3"),
        ("/with space.txt", "character"),
        ("/a+b.txt", "character"),
        ("/star*.txt", "character"),
        ("/caf\u{e9}.txt", "character"),
        (long.as_str(), "255"),
    ];
    for (path, why) in bad_paths {
        for (tool, extra) in [
            ("fs_write", json!({"data": "x", "mode": "create"})),
            ("fs_read", json!({})),
            ("fs_mkdir", json!({})),
            ("fs_stat", json!({})),
        ] {
            let mut args = extra.clone();
            args["path"] = json!(path);
            let message = refused(&mut board, tool, args);
            // The schema's minLength/maxLength refuse "" and the long path
            // before the tool sees them.
            if !path.is_empty() && path.len() <= 255 {
                assert!(message.contains(why), "{tool} {path:?}: {message}");
            }
        }
    }
    // More than 1 MiB in one read: the input schema's maximum.
    refused(
        &mut board,
        "fs_read",
        json!({"path": "/CONFIG.TXT", "length": (1 << 20) + 1}),
    );
    assert!(refused(&mut board, "fs_delete", json!({"path": "/"})).contains("root"));

    let kernel_before = structured(&mut board, "fs_stat", json!({"path": "/KERNEL8.IMG"}));
    assert_eq!(kernel_before["read_only"], true);
    for path in [
        "/kernel8.img",
        "/CONFIG.TXT",
        "/cmdline.txt",
        "/start4.elf",
        "/fixup4.dat",
        "/bcm2711.dtb",
        "/overlays/x.dtb",
    ] {
        for mode in ["create", "truncate", "append"] {
            let message = refused(
                &mut board,
                "fs_write",
                json!({"path": path, "data": "x", "mode": mode}),
            );
            assert!(message.contains("read-only"), "{path} {mode}: {message}");
        }
        assert!(refused(&mut board, "fs_delete", json!({"path": path})).contains("read-only"));
    }
    assert!(refused(&mut board, "fs_mkdir", json!({"path": "/overlays"})).contains("read-only"));
    assert_eq!(
        structured(&mut board, "fs_stat", json!({"path": "/KERNEL8.IMG"}))["size"],
        kernel_before["size"]
    );
    let cmdline = structured(&mut board, "fs_read", json!({"path": "/CMDLINE.TXT"}));
    assert_eq!(cmdline["data"], format!("{}\n", image::DEFAULT_CMDLINE));
    // The next good request is served.
    structured(&mut board, "fs_list", json!({"path": "/"}));
}

#[test]
fn fs_protect_off_allows_boot_files() {
    let mut board = boot_uninitialized_with_args(&["-append", "fs_protect=off"]);
    board
        .initialize(kingly::client::PROTOCOL_VERSION, "fs-test")
        .unwrap();
    assert_eq!(
        structured(&mut board, "fs_stat", json!({"path": "/CMDLINE.TXT"}))["read_only"],
        false
    );
    structured(
        &mut board,
        "fs_write",
        json!({"path": "/CMDLINE.TXT", "data": "baud=115200 fs_protect=off\n", "mode": "truncate"}),
    );
    assert_eq!(
        structured(&mut board, "fs_read", json!({"path": "/CMDLINE.TXT"}))["data"],
        "baud=115200 fs_protect=off\n"
    );
}

/// An image of our own: the built kernel plus `files`.
fn image_with(dir: &Path, files: Vec<(String, Vec<u8>)>) -> PathBuf {
    let mut spec = ImageSpec::new(&artifacts().0);
    spec.extra_files = files;
    let out = dir.join("sd.img");
    image::build_image(&out, &spec).expect("build the test image");
    out
}

#[test]
fn a_64_mib_file_reads_back_with_the_hosts_sha256() {
    const SIZE: usize = 64 << 20;
    const CHUNK: usize = 1 << 20;
    let dir = tempfile::tempdir().unwrap();
    let big = pattern(SIZE, 64);
    let expected = Sha256::digest(&big);
    let img = image_with(dir.path(), vec![("BIG.BIN".into(), big)]);
    let mut board = boot_image(&img);
    board.set_session_limit(Duration::from_secs(900));
    let stat = structured(&mut board, "fs_stat", json!({"path": "/BIG.BIN"}));
    assert_eq!(stat["size"], SIZE, "{stat}");
    let mut hasher = Sha256::new();
    let mut offset = 0;
    while offset < SIZE {
        let chunk = structured(
            &mut board,
            "fs_read",
            json!({"path": "/BIG.BIN", "offset": offset, "length": CHUNK, "encoding": "base64"}),
        );
        let bytes = unb64(&chunk["data"]);
        assert_eq!(bytes.len(), CHUNK, "short read at {offset}");
        hasher.update(&bytes);
        offset += bytes.len();
        assert_eq!(chunk["eof"], offset == SIZE);
    }
    assert_eq!(
        hasher.finalize(),
        expected,
        "SHA-256 of the file read over MCP"
    );
}

/// Kills the QEMU under `kingly qemu` with SIGKILL (no chance to flush
/// anything) and waits until it is gone.
fn sigkill(board: Board) {
    let qemu = kingly_tests::qemu_pid(board.pid()).expect("kingly qemu runs QEMU");
    // SAFETY: kill(2) on QEMU, the child of our child `kingly qemu`, which
    // reaps it only after it dies: the pid names QEMU until then.
    let rc = unsafe { libc::kill(qemu as libc::pid_t, libc::SIGKILL) };
    assert_eq!(rc, 0, "kill QEMU");
    // `kingly qemu` notices, reaps QEMU and exits; no byte can reach the
    // image after that.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while Path::new(&format!("/proc/{qemu}")).exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "QEMU {qemu} still exists"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(board);
}

#[test]
fn reported_writes_survive_sigkill() {
    let before = b"contents before the write\n".to_vec();
    for mode in ["create", "truncate", "append"] {
        let dir = tempfile::tempdir().unwrap();
        let img = image_with(dir.path(), vec![("KEEP.TXT".into(), before.clone())]);
        let mut board = boot_image(&img);
        let data = pattern(5000 + mode.len(), mode.len() as u64);
        let path = if mode == "create" {
            "/NEW.BIN"
        } else {
            "/KEEP.TXT"
        };
        let result = structured(
            &mut board,
            "fs_write",
            json!({"path": path, "data": b64(&data), "encoding": "base64", "mode": mode}),
        );
        sigkill(board);
        let expected = match mode {
            "append" => [before.clone(), data].concat(),
            _ => data,
        };
        assert_eq!(result["size"], expected.len());
        let found = image::read_file(&img, &path[1..])
            .unwrap_or_else(|e| panic!("{mode}: {path} after SIGKILL: {e}"));
        assert!(found == expected, "{mode}: {path} differs after SIGKILL");
        if mode == "create" {
            assert_eq!(image::read_file(&img, "KEEP.TXT").unwrap(), before);
        }
    }
}

#[test]
fn kill_during_a_large_write_keeps_the_volume_and_earlier_writes() {
    const PIECE: usize = 12_000;
    const PIECES: usize = 16;
    let dir = tempfile::tempdir().unwrap();
    let img = image_with(dir.path(), vec![]);
    let mut board = boot_image(&img);
    let small: Vec<(String, Vec<u8>)> = (0..4)
        .map(|i| {
            (
                format!("SMALL{i}.BIN"),
                pattern(700 * (i + 1), 100 + i as u64),
            )
        })
        .collect();
    for (name, bytes) in &small {
        structured(
            &mut board,
            "fs_write",
            json!({"path": format!("/{name}"), "data": b64(bytes), "encoding": "base64", "mode": "create"}),
        );
    }
    // A large write in flight: append pieces back to back without waiting,
    // then kill after a few have been answered.
    let pieces: Vec<Vec<u8>> = (0..PIECES)
        .map(|i| pattern(PIECE, 1000 + i as u64))
        .collect();
    for (i, piece) in pieces.iter().enumerate() {
        let request = json!({"jsonrpc": "2.0", "id": 10_000 + i, "method": "tools/call",
            "params": {"name": "fs_write", "arguments":
                {"path": "/LARGE.BIN", "data": b64(piece), "encoding": "base64", "mode": "append"}}});
        board.send(&request).unwrap();
    }
    let mut reported = 0;
    while reported < 3 {
        let response = board
            .wait_for_response(&json!(10_000 + reported), "append")
            .unwrap();
        assert_eq!(response["result"]["isError"], false, "{response}");
        reported += 1;
    }
    sigkill(board);

    // The volume mounts, and every reported write is there.
    let fs = image::open_partition(&img).expect("the volume mounts after SIGKILL");
    drop(fs);
    for (name, bytes) in &small {
        assert!(&image::read_file(&img, name).unwrap() == bytes, "{name}");
    }
    let large = image::read_file(&img, "LARGE.BIN").expect("LARGE.BIN");
    assert!(
        large.len() >= reported * PIECE && large.len().is_multiple_of(PIECE),
        "LARGE.BIN has {} bytes after {reported} reported appends",
        large.len()
    );
    for (i, chunk) in large.chunks(PIECE).enumerate() {
        assert!(
            chunk == pieces[i].as_slice(),
            "piece {i} of LARGE.BIN differs"
        );
    }
}

#[test]
fn a_high_capacity_card_uses_block_addresses() {
    // QEMU presents cards over 2 GiB as SDHC (block-addressed commands):
    // the default image, its file grown (sparsely) to 4 GiB.
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("sdhc.img");
    std::fs::copy(&artifacts().1, &img).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&img)
        .unwrap()
        .set_len(4 << 30)
        .unwrap();
    let mut board = boot_image(&img);
    let log = board
        .call("resources/read", Some(json!({"uri": "kingly://log"})))
        .unwrap();
    let text = log["contents"][0]["text"].as_str().unwrap();
    assert!(text.contains("4096 MiB, SDHC/SDXC"), "{text}");
    let data = pattern(70_000, 9);
    structured(
        &mut board,
        "fs_write",
        json!({"path": "/SDHC.BIN", "data": b64(&data[..12_000]), "encoding": "base64", "mode": "create"}),
    );
    let back = structured(
        &mut board,
        "fs_read",
        json!({"path": "/SDHC.BIN", "encoding": "base64"}),
    );
    assert!(unb64(&back["data"]) == data[..12_000]);
    let config = structured(&mut board, "fs_read", json!({"path": "/CONFIG.TXT"}));
    assert_eq!(config["data"], image::CONFIG_TXT);
    sigkill(board);
    assert!(image::read_file(&img, "SDHC.BIN").unwrap() == data[..12_000]);
}

#[test]
fn no_card_is_an_error_not_a_hang() {
    let _turn = kingly_tests::exclusive();
    // The usual QEMU command without its -drive: an empty SD slot.
    let dir = tempfile::tempdir().unwrap();
    let usual = kingly::qemu::qemu_command(&artifacts().0, &dir.path().join("none.img"), &[]);
    let mut args: Vec<_> = usual.get_args().map(|a| a.to_os_string()).collect();
    let drive = args.iter().position(|a| a == "-drive").expect("-drive");
    args.drain(drive..drive + 2);
    let mut cmd = std::process::Command::new(usual.get_program());
    cmd.args(args);
    let mut qemu = kingly::client::QemuMcp::spawn(cmd).expect("start QEMU");
    qemu.set_response_timeout(Duration::from_secs(30));
    qemu.initialize(kingly::client::PROTOCOL_VERSION, "fs-test")
        .unwrap();
    for (tool, args) in [
        ("fs_list", json!({"path": "/"})),
        ("fs_read", json!({"path": "/CONFIG.TXT"})),
        (
            "fs_write",
            json!({"path": "/X.TXT", "data": "x", "mode": "create"}),
        ),
    ] {
        let result = qemu.call_tool(tool, args).unwrap();
        assert_eq!(result["isError"], true, "{result}");
        let text = result["content"][0]["text"].as_str().unwrap();
        assert!(text.contains("no usable SD card"), "{text}");
    }
    // Still serving.
    assert_eq!(qemu.call("ping", None).unwrap(), json!({}));
}
