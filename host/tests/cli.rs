//! The `kingly` binary itself.

#[cfg(target_os = "linux")]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kingly::client::{jsonrpc_lines, QemuMcp, PROTOCOL_VERSION};
use kingly::{image, workspace};

fn kingly() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kingly"))
}

/// Builds the kernel and default image here first, so that a `kingly qemu`
/// started afterwards finds them up to date and does not spend a response
/// timeout compiling; returns a private copy of the image, because QEMU locks
/// the image it boots and these tests run in parallel.
fn prebuilt_image_copy() -> (tempfile::TempDir, PathBuf) {
    let (_, image) = kingly::ensure_default_artifacts().expect("build kernel8.img and sd.img");
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("sd.img");
    std::fs::copy(image, &copy).unwrap();
    (dir, copy)
}

#[test]
fn kingly_image_writes_a_card_holding_the_built_kernel8() {
    let dir = tempfile::tempdir().unwrap();
    let card = dir.path().join("card.img");
    let output = kingly()
        .args([
            "image",
            "--cmdline",
            "console=uart0 baud=115200 test=cli",
            "-o",
        ])
        .arg(&card)
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "kingly image failed: {}",
        output.status
    );
    let summary = String::from_utf8_lossy(&output.stdout);
    assert!(
        summary.contains("kernel8.img") && summary.contains("cmdline.txt"),
        "summary: {summary}"
    );

    let built = std::fs::read(workspace::default_kernel8()).unwrap();
    assert_eq!(image::read_file(&card, "kernel8.img").unwrap(), built);
    assert_eq!(
        image::read_file(&card, "cmdline.txt").unwrap(),
        b"console=uart0 baud=115200 test=cli\n"
    );
    assert_eq!(
        image::inspect(&card).unwrap().fat_type,
        image::FatType::Fat32
    );
}

/// `kingly qemu` writes nothing of the build to stdout: the kernel only
/// speaks when spoken to, so stdout stays empty once QEMU runs.
#[cfg(target_os = "linux")]
#[test]
fn kingly_qemu_keeps_stdout_clean() {
    let (_dir, image) = prebuilt_image_copy();
    let mcp = QemuMcp::spawn(kingly_qemu(&image)).unwrap();
    let start = Instant::now();
    while !common::qemu_runs_on(&image) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "kingly qemu did not start QEMU on {}",
            image.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(1));
    let stdout = mcp.stdout_bytes();
    assert!(
        stdout.is_empty(),
        "stdout before any request: {:?}",
        String::from_utf8_lossy(&stdout)
    );
    mcp.shutdown().unwrap();
}

#[test]
fn kingly_qemu_serves_mcp_on_stdio() {
    let (_dir, image) = prebuilt_image_copy();
    let mut mcp = QemuMcp::spawn(kingly_qemu(&image)).unwrap();
    mcp.set_session_limit(Duration::from_secs(120));
    let init = mcp.initialize(PROTOCOL_VERSION, "kingly-cli-test").unwrap();
    assert_eq!(init["protocolVersion"], PROTOCOL_VERSION);
    assert!(init["serverInfo"]["name"].is_string(), "{init}");
    let tools = mcp.list_tools().unwrap();
    assert!(tools.iter().any(|t| t["name"] == "sys_info"), "{tools:?}");
    // (That closing stdin ends it: tests/tests/host_companion.rs.)
    mcp.close_stdin();
    let stdout = mcp.stdout_bytes();
    jsonrpc_lines(&stdout).unwrap_or_else(|e| panic!("stdout is not clean JSON-RPC: {e}"));
    mcp.shutdown().unwrap();
}

fn kingly_qemu(image: &Path) -> Command {
    let mut cmd = kingly();
    cmd.args(["qemu", "--image"])
        .arg(image)
        .stderr(Stdio::inherit());
    cmd
}
