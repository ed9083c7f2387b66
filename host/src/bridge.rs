//! Stdio bridges: what makes `kingly qemu` and `kingly serial` MCP stdio
//! servers. Bytes are relayed exactly as they come (MCP's newline framing is
//! the other side's business); when stdin closes, the bridge ends, as an MCP
//! client expects of a server it started.

use std::io::{self, Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::error::{Error, IoContext, Result};

/// How long QEMU gets to exit after SIGTERM before it is killed.
const QEMU_TERM_GRACE: Duration = Duration::from_secs(5);
/// How often the supervisor looks at QEMU and at stdin's state.
const POLL: Duration = Duration::from_millis(20);

/// Runs QEMU (`cmd`, UART0 on its stdio) as this process's stdio server:
/// QEMU writes straight to our stdout; our stdin is copied to QEMU's. When
/// stdin closes, QEMU is stopped (SIGTERM, then SIGKILL) and reaped; if QEMU
/// exits first (a `-no-reboot` reset, an error), its status is returned.
/// QEMU also dies with this process (`PR_SET_PDEATHSIG`), so a client that
/// kills `kingly qemu` leaves no QEMU behind.
pub fn serve_qemu(mut cmd: Command) -> Result<ExitStatus> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit());
    die_with_parent(&mut cmd);
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::Qemu(format!("could not run {program}: {e}")))?;
    let to_qemu = child.stdin.take().expect("stdin was piped");
    let stdin_closed = relay_in_background(io::stdin(), to_qemu);
    loop {
        if let Some(status) = child
            .try_wait()
            .context(|| format!("waiting for {program}"))?
        {
            return Ok(status);
        }
        match stdin_closed.recv_timeout(POLL) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => return stop(&mut child),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
    }
}

/// SIGTERM (QEMU exits cleanly on it), then SIGKILL after a grace period;
/// always reaps.
fn stop(child: &mut Child) -> Result<ExitStatus> {
    signal(child, libc::SIGTERM);
    let deadline = Instant::now() + QEMU_TERM_GRACE;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().context(|| "waiting for QEMU".into())? {
            return Ok(status);
        }
        thread::sleep(POLL);
    }
    let _ = child.kill();
    child.wait().context(|| "reaping QEMU".into())
}

fn signal(child: &Child, signal: libc::c_int) {
    let Ok(pid) = libc::pid_t::try_from(child.id()) else {
        return;
    };
    // SAFETY: kill(2) on our own child's pid, which is not reaped yet (we
    // hold the `Child` and have not waited on it), so it names that process.
    unsafe { libc::kill(pid, signal) };
}

/// Asks the kernel to SIGTERM the child when this process dies, however it
/// dies (Linux; elsewhere a no-op).
fn die_with_parent(cmd: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: the closure runs in the forked child before exec and only
        // calls prctl(2), which is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cmd;
}

/// Copies `from` to `to` on a thread, flushing after every read so a line
/// goes out as soon as it is complete; the returned channel fires (or
/// disconnects) when `from` reaches its end or either side fails.
fn relay_in_background(
    mut from: impl Read + Send + 'static,
    mut to: impl Write + Send + 'static,
) -> mpsc::Receiver<()> {
    let (done, closed) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match from.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).and_then(|()| to.flush()).is_err() {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let _ = done.send(());
    });
    closed
}

/// Bridges stdio to a real board's UART0 on `device` (a USB-serial adapter)
/// at `baud`, raw 8N1 without flow control, until stdin closes.
pub fn serve_serial(device: &str, baud: u32) -> Result<()> {
    let port = serialport::new(device, baud)
        .data_bits(serialport::DataBits::Eight)
        .parity(serialport::Parity::None)
        .stop_bits(serialport::StopBits::One)
        .flow_control(serialport::FlowControl::None)
        // Reads wake up this often to notice that stdin has closed.
        .timeout(POLL)
        .open()
        .map_err(|e| Error::Serial(format!("cannot open {device}: {e}")))?;
    let mut from_board = port
        .try_clone()
        .map_err(|e| Error::Serial(format!("{device}: {e}")))?;
    let stdin_closed = relay_in_background(io::stdin(), port);
    let mut stdout = io::stdout().lock();
    let mut buf = [0u8; 8192];
    loop {
        match stdin_closed.try_recv() {
            Ok(()) | Err(mpsc::TryRecvError::Disconnected) => return Ok(()),
            Err(mpsc::TryRecvError::Empty) => {}
        }
        match from_board.read(&mut buf) {
            Ok(0) => return Err(Error::Serial(format!("{device} closed"))),
            Ok(n) => stdout
                .write_all(&buf[..n])
                .and_then(|()| stdout.flush())
                .context(|| "writing to stdout".into())?,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(Error::Serial(format!("reading {device}: {e}"))),
        }
    }
}
