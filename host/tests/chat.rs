//! `kingly chat` as a person uses it: on a terminal (a pty), booting QEMU
//! with the model on the card. Commands work, a reply streams in before the
//! turn ends, Ctrl-C stops a reply and the REPL goes on, `/quit` leaves with
//! status 0 and no QEMU left behind.
//!
//! The reply of a 135M model is not checked for sense, only for arriving.
//! Every wait is bounded; a failed test kills what it started.

#![cfg(target_os = "linux")]

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kingly::image::{self, ImageSpec};

mod common;
use common::{qemu_pids_on, qemu_runs_on};

const PROMPT: &str = "you> ";
/// Building the kernel if needed, booting, loading ~94 MiB from the card.
const START_LIMIT: Duration = Duration::from_secs(400);
/// A short reply under QEMU's TCG (a token takes about half a second alone,
/// several on a busy machine).
const TURN_LIMIT: Duration = Duration::from_secs(180);
const QUIT_LIMIT: Duration = Duration::from_secs(40);

#[test]
fn chat_on_a_terminal_streams_cancels_and_quits() {
    let dir = tempfile::tempdir().unwrap();
    let card = model_image(dir.path());
    let mut chat = Chat::start(&card);

    let greeting = chat.wait_for(PROMPT, START_LIMIT);
    for expected in [
        "connected to kingly-os",
        "board 0xb03115",
        "model ",
        "/help",
    ] {
        assert!(
            greeting.contains(expected),
            "no {expected:?} in {greeting:?}"
        );
    }

    chat.type_line("/call sys_info {}");
    let info = chat.wait_for(PROMPT, TURN_LIMIT);
    assert!(info.contains("\"cores_online\": 4"), "{info:?}");

    // A reply streams: its first text comes well before the turn's end.
    chat.type_line("/max 8");
    chat.wait_for(PROMPT, TURN_LIMIT);
    chat.type_line("What is the capital of France?");
    let (first, first_at) = chat.wait_for_text(TURN_LIMIT);
    assert!(!first.contains(PROMPT), "the turn ended at once: {first:?}");
    let reply = chat.wait_for(PROMPT, TURN_LIMIT);
    let ended_at = Instant::now();
    assert!(!reply.contains("error"), "{reply:?}");
    assert!(
        ended_at - first_at > Duration::from_millis(200),
        "the reply came all at once ({:?} between its first text and the prompt): {reply:?}",
        ended_at - first_at
    );

    // Ctrl-C during a long reply stops it, and the REPL goes on.
    chat.type_line("/max 400");
    chat.wait_for(PROMPT, TURN_LIMIT);
    chat.type_line("Tell me a long story about a dragon and a castle.");
    chat.wait_for_text(TURN_LIMIT);
    let interrupted_at = Instant::now();
    chat.write(b"\x03");
    let stopped = chat.wait_for(PROMPT, TURN_LIMIT);
    assert!(stopped.contains("(stopped"), "{stopped:?}");
    assert!(
        interrupted_at.elapsed() < Duration::from_secs(60),
        "stopping took {:?}",
        interrupted_at.elapsed()
    );
    // The kernel serves one call at a time: this reply comes within
    // TURN_LIMIT only if the 400-token one really stopped.
    chat.type_line("/max 4");
    chat.wait_for(PROMPT, TURN_LIMIT);
    chat.type_line("Say hello.");
    chat.wait_for_text(TURN_LIMIT);
    let after = chat.wait_for(PROMPT, TURN_LIMIT);
    assert!(!after.contains("error"), "{after:?}");

    chat.type_line("/quit");
    let status = chat.wait_exit(QUIT_LIMIT);
    assert!(status.success(), "kingly chat exited with {status}");
    assert!(
        !qemu_runs_on(&card),
        "QEMU still runs on {} after /quit",
        card.display()
    );
}

/// An SD image with the kernel and the reference model at /models, as
/// `kingly image --model` makes it.
fn model_image(dir: &Path) -> PathBuf {
    let model = std::env::var_os("KINGLY_MODEL").map_or_else(
        || kingly::workspace::root().join("target/models/smollm2-135m-instruct-q4_1.gguf"),
        PathBuf::from,
    );
    assert!(
        model.is_file(),
        "the model is missing at {}: run scripts/fetch-model (or set KINGLY_MODEL)",
        model.display()
    );
    let (kernel8, _) = kingly::ensure_default_artifacts().expect("build kernel8.img");
    let mut spec = ImageSpec::new(&kernel8);
    spec.host_files
        .push(image::model_entry(&model).expect("model entry"));
    let card = dir.join("sd.img");
    image::build_image(&card, &spec).expect("build the model image");
    card
}

/// `kingly chat` on the slave side of a pty, its controlling terminal, so
/// that a 0x03 written to the master is Ctrl-C: SIGINT from the line
/// discipline, as a person's keyboard makes it.
struct Chat {
    child: Option<Child>,
    master: File,
    /// Everything the terminal showed, and how far the test has read.
    screen: Arc<Mutex<Vec<u8>>>,
    read: usize,
    card: PathBuf,
}

impl Chat {
    fn start(card: &Path) -> Self {
        let (master, slave) = open_pty();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kingly"));
        cmd.args(["chat", "--image"]).arg(card);
        cmd.stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        // SAFETY: runs in the forked child before exec; setsid(2) and
        // ioctl(2) are async-signal-safe. A new session, then fd 0 (the
        // slave) as its controlling terminal, makes it the foreground
        // process group the line discipline signals.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("start kingly chat");
        let screen = Arc::new(Mutex::new(Vec::new()));
        let mut reader = master.try_clone().unwrap();
        let shown = Arc::clone(&screen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // EIO once the last process holding the slave has exited.
            while let Ok(n @ 1..) = reader.read(&mut buf) {
                shown.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Self {
            child: Some(child),
            master,
            screen,
            read: 0,
            card: card.to_path_buf(),
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        self.master.write_all(bytes).unwrap();
    }

    fn type_line(&mut self, line: &str) {
        self.write(format!("{line}\n").as_bytes());
    }

    /// What the terminal shows from where the test last read up to and
    /// including `needle`; fails after `limit`.
    fn wait_for(&mut self, needle: &str, limit: Duration) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen.lock().unwrap().clone();
            let unread = String::from_utf8_lossy(&screen[self.read..]).into_owned();
            if let Some(at) = unread.find(needle) {
                let end = at + needle.len();
                self.read += unread[..end].len();
                return unread[..end].to_owned();
            }
            self.fail_after(start, limit, &format!("{needle:?}"), &unread);
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits for the first non-blank output since the last read: (it, when).
    /// Reads nothing past it.
    fn wait_for_text(&mut self, limit: Duration) -> (String, Instant) {
        let start = Instant::now();
        loop {
            let screen = self.screen.lock().unwrap().clone();
            let unread = String::from_utf8_lossy(&screen[self.read..]).into_owned();
            if !unread.trim().is_empty() {
                return (unread, Instant::now());
            }
            self.fail_after(start, limit, "output", &unread);
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn fail_after(&mut self, start: Instant, limit: Duration, what: &str, unread: &str) {
        let exited = self
            .child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten());
        if start.elapsed() > limit || exited.is_some() {
            panic!(
                "no {what} after {:?} (kingly chat {}); the terminal shows since the last step:\n{unread}",
                start.elapsed(),
                exited.map_or("still runs".into(), |s| format!("exited with {s}"))
            );
        }
    }

    fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        let start = Instant::now();
        let mut child = self.child.take().expect("waited for once");
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if start.elapsed() > limit {
                self.child = Some(child);
                panic!("kingly chat did not exit within {limit:?} of /quit");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Chat {
    /// After a failure: kill kingly chat (its bridge then sees stdin close
    /// and stops QEMU), and any QEMU still on this test's private image.
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let start = Instant::now();
        while qemu_runs_on(&self.card) && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(100));
        }
        for pid in qemu_pids_on(&self.card) {
            // SAFETY: kill(2) on a QEMU this test started (its command line
            // names the test's own temporary image).
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

/// A pty pair with echo off (the test knows what it typed; the screen then
/// holds only what kingly chat wrote), canonical mode and signals on.
fn open_pty() -> (File, OwnedFd) {
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty(3) writes two new descriptors into the two ints; the
    // optional name, termios and winsize pointers may be null.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened by openpty and are owned
    // by nobody else.
    let (master, slave) = unsafe { (File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    // SAFETY: fcntl(2) and tcgetattr/tcsetattr(3) on descriptors we own;
    // `termios` is plain data that tcgetattr fills in completely.
    unsafe {
        // The child gets the slave as 0, 1 and 2 only, never the master.
        libc::fcntl(master.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC);
        let mut termios: libc::termios = std::mem::zeroed();
        assert_eq!(libc::tcgetattr(slave.as_raw_fd(), &mut termios), 0);
        termios.c_lflag &= !(libc::ECHO | libc::ECHONL);
        termios.c_lflag |= libc::ICANON | libc::ISIG;
        assert_eq!(
            libc::tcsetattr(slave.as_raw_fd(), libc::TCSANOW, &termios),
            0
        );
    }
    (master, slave)
}
