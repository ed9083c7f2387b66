//! Harness for the integration tests: boots the real kernel8.img from a real
//! SD image in QEMU raspi4b and speaks MCP over its UART, through
//! [`kingly::client::QemuMcp`].
//!
//! - Artifacts are built once per test process (`kingly::ensure_default_artifacts`).
//! - Each boot gets its own copy of the SD image, since QEMU locks the image
//!   file it opens.
//! - Boots take turns (a global lock): the machine has two cores, and a test's
//!   time limits should measure the kernel, not contention.
//! - Each response must come within [`RESPONSE_TIMEOUT`] and the whole
//!   session within [`SESSION_LIMIT`]; QEMU is killed and reaped when the
//!   [`Board`] is dropped, also when a test panics.
//! - After [`SILENT_BOOTS_BEFORE_GIVING_UP`] boots in a row whose
//!   `initialize` got no answer at all, later boots in the same process fail
//!   at once instead of each waiting out its timeout: a dead kernel fails the
//!   suite in about a minute, while a single flaky boot does not fail the rest.

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use kingly::client::{QemuMcp, PROTOCOL_VERSION};
use kingly::Error;
use serde_json::{json, Value};

pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);
pub const SESSION_LIMIT: Duration = Duration::from_secs(120);
pub const SILENT_BOOTS_BEFORE_GIVING_UP: u32 = 2;

/// (kernel8.img, sd.img), built on first use.
pub fn artifacts() -> &'static (PathBuf, PathBuf) {
    static BUILT: OnceLock<Result<(PathBuf, PathBuf), String>> = OnceLock::new();
    match BUILT.get_or_init(|| kingly::ensure_default_artifacts().map_err(|e| e.to_string())) {
        Ok(paths) => paths,
        Err(e) => panic!("building kernel8.img and the SD image failed: {e}"),
    }
}

/// A running QEMU with the kernel, and what it needs to stay running.
/// Derefs to the MCP client.
pub struct Board {
    // Fields drop in order: QEMU is killed before its image is deleted and
    // before the next test may boot.
    mcp: QemuMcp,
    image_dir: tempfile::TempDir,
    turn: MutexGuard<'static, Silence>,
}

/// Boots in a row that got no answer to `initialize`, and why the last did not.
struct Silence {
    in_a_row: u32,
    last_reason: String,
}

impl Deref for Board {
    type Target = QemuMcp;
    fn deref(&self) -> &QemuMcp {
        &self.mcp
    }
}

impl DerefMut for Board {
    fn deref_mut(&mut self) -> &mut QemuMcp {
        &mut self.mcp
    }
}

/// Boots QEMU without saying anything to the kernel yet.
pub fn boot_uninitialized() -> Board {
    boot_uninitialized_with_args(&[])
}

/// Boots QEMU with extra arguments (for example `-append` for the kernel
/// command line) without saying anything to the kernel yet.
pub fn boot_uninitialized_with_args(extra: &[&str]) -> Board {
    let (kernel8, image) = artifacts();
    let (dir, copy) = image_copy(image);
    start(kingly::qemu::qemu_command(kernel8, &copy, extra), dir)
}

/// Boots take turns (see the module docs).
static TURN: Mutex<Silence> = Mutex::new(Silence {
    in_a_row: 0,
    last_reason: String::new(),
});

/// Starts `command` (QEMU on stdio, directly or through `kingly qemu`) in turn.
fn start(command: std::process::Command, dir: tempfile::TempDir) -> Board {
    // A test that panicked while booted poisons the lock; the next may go on.
    let turn = TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if turn.in_a_row >= SILENT_BOOTS_BEFORE_GIVING_UP {
        panic!(
            "not booting again: {} boots in a row got no answer to initialize; the last: {}",
            turn.in_a_row, turn.last_reason
        );
    }
    let mut mcp = QemuMcp::spawn(command).unwrap_or_else(|e| panic!("start QEMU: {e}"));
    mcp.set_response_timeout(RESPONSE_TIMEOUT);
    mcp.set_session_limit(SESSION_LIMIT);
    Board {
        mcp,
        image_dir: dir,
        turn,
    }
}

/// Boots `kingly qemu --image IMAGE` with the image itself as the SD card
/// (not a copy: the test inspects it afterwards) and initializes.
/// `kingly qemu` supervises QEMU: [`qemu_pid`] finds QEMU's process.
pub fn boot_image(image: &Path) -> Board {
    boot_image_with(image, &[])
}

/// [`boot_image`] with more `kingly qemu` options (`--append WORDS`,
/// `--icount`).
pub fn boot_image_with(image: &Path, options: &[&str]) -> Board {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let mut command = std::process::Command::new(kingly_bin());
    command.arg("qemu").arg("--image").arg(image).args(options);
    let mut board = start(command, dir);
    initialize(&mut board, PROTOCOL_VERSION);
    board
}

/// The process id of the QEMU that `kingly qemu` (process `parent`) runs:
/// its child, from /proc.
pub fn qemu_pid(parent: u32) -> Option<u32> {
    let children =
        std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children")).ok()?;
    children.split_whitespace().next()?.parse().ok()
}

/// A private copy of `image` (QEMU locks the image it boots) in a temporary
/// directory that lives as long as the returned guard: (guard, the copy).
pub fn image_copy(image: &Path) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let copy = dir.path().join("sd.img");
    std::fs::copy(image, &copy)
        .unwrap_or_else(|e| panic!("copy {} to {}: {e}", image.display(), copy.display()));
    (dir, copy)
}

/// An SD image in `dir` with the kernel and the reference model at
/// /models/<file name>, as `kingly image --model` makes it.
pub fn model_image(dir: &Path) -> PathBuf {
    let model = kingly::workspace::model_path();
    assert!(
        model.is_file(),
        "the reference model is missing at {}: run scripts/fetch-model (or set KINGLY_MODEL)",
        model.display()
    );
    let mut spec = kingly::image::ImageSpec::new(&artifacts().0);
    spec.host_files
        .push(kingly::image::model_entry(&model).expect("model entry"));
    let out = dir.join("sd.img");
    kingly::image::build_image(&out, &spec).expect("build the model image");
    out
}

/// The model's path on the card (8.3 names: the kernel opens short names).
pub fn model_on_card(board: &mut Board) -> String {
    board
        .model_on_card()
        .expect("fs_list /MODELS")
        .expect("a .gguf in /MODELS")
}

/// The `kingly` binary: `KINGLY_BIN` (scripts/test sets it), or built here
/// once with `cargo build -p kingly`.
pub fn kingly_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("KINGLY_BIN") {
            return PathBuf::from(bin);
        }
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args(["build", "-p", "kingly"])
            .current_dir(kingly::workspace::root())
            .status()
            .expect("run cargo build -p kingly");
        assert!(status.success(), "cargo build -p kingly failed: {status}");
        kingly::workspace::target_dir().join("debug/kingly")
    })
}

/// For tests that run QEMU through `kingly` rather than through a [`Board`]:
/// one at a time, as boots are.
pub fn exclusive() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Board {
    /// What the kernel has written to QEMU's second serial port (the mini
    /// UART, the log mirror) so far.
    pub fn log_uart_text(&self) -> String {
        let path = kingly::qemu::log_uart_path(&self.image_dir.path().join("sd.img"));
        String::from_utf8_lossy(&std::fs::read(&path).unwrap_or_default()).into_owned()
    }
}

/// Boots and initializes asking for `protocol_version`; returns the board and
/// the initialize result.
pub fn boot_with(protocol_version: &str) -> (Board, Value) {
    let mut board = boot_uninitialized();
    let result = initialize(&mut board, protocol_version);
    (board, result)
}

fn initialize(board: &mut Board, protocol_version: &str) -> Value {
    match board.initialize(protocol_version, "kingly-tests") {
        Ok(result) => {
            board.turn.in_a_row = 0;
            result
        }
        Err(e) => {
            if matches!(e, Error::Timeout { .. } | Error::Qemu(_)) {
                board.turn.in_a_row += 1;
                board.turn.last_reason = e.to_string();
            } else {
                board.turn.in_a_row = 0;
            }
            panic!(
                "initialize failed: {e}\nQEMU stdout so far: {:?}",
                String::from_utf8_lossy(&board.stdout_bytes())
            );
        }
    }
}

/// Boots and initializes with this client's protocol version.
pub fn boot() -> Board {
    boot_with(PROTOCOL_VERSION).0
}

/// Sends one line exactly as given (a `\n` is added).
pub fn send_line(board: &mut Board, line: &[u8]) {
    let mut bytes = line.to_vec();
    bytes.push(b'\n');
    board
        .send_raw(&bytes)
        .unwrap_or_else(|e| panic!("send: {e}"));
}

/// The `error` object of a response, which must have one with `code`.
pub fn expect_error(response: &Value, code: i64) -> &Value {
    let error = response
        .get("error")
        .unwrap_or_else(|| panic!("expected error {code}, got {response}"));
    assert_eq!(error["code"], json!(code), "wrong error code in {response}");
    assert!(
        error["message"].is_string(),
        "error without message: {response}"
    );
    assert!(
        response.get("result").is_none(),
        "response with both error and result: {response}"
    );
    error
}

/// Calls `sys_info`; returns the whole CallToolResult.
pub fn sys_info(board: &mut Board) -> Value {
    board
        .call_tool("sys_info", json!({}))
        .unwrap_or_else(|e| panic!("tools/call sys_info: {e}"))
}

/// Calls a tool that must succeed (`isError: false`); returns its
/// structuredContent.
pub fn structured(board: &mut Board, tool: &str, arguments: Value) -> Value {
    let result = board
        .call_tool(tool, arguments.clone())
        .unwrap_or_else(|e| panic!("tools/call {tool} {arguments}: {e}"));
    assert_eq!(result["isError"], false, "{tool} {arguments}: {result}");
    result["structuredContent"].clone()
}

/// `ping` must answer with an empty result.
pub fn assert_ping(board: &mut Board) {
    let result = board
        .call("ping", None)
        .unwrap_or_else(|e| panic!("ping: {e}"));
    assert_eq!(result, json!({}), "ping result");
}
