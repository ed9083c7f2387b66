//! The kernel command line (`cmdline.txt` on the board, `-append` in QEMU).
//!
//! Space-separated `key=value` words; words the kernel does not know are
//! ignored, since the Pi firmware prepends its own (for Linux) to ours.

use crate::cpu::Selftest;
use crate::log_uart;
use crate::watchdog::DEFAULT_HEARTBEAT_MS;

pub const DEFAULT_BAUD: u32 = 115_200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// UART0 baud rate (`baud=`).
    pub baud: u32,
    /// A deliberate fault to take once booted (`selftest=`).
    pub selftest: Option<Selftest>,
    /// Boot files on the SD card are read-only to the `fs_*` tools
    /// (`fs_protect=off` lifts it).
    pub fs_protect: bool,
    /// Where the kernel log is mirrored (`log_uart=mini|uart2..uart5|none`).
    pub log_uart: log_uart::Choice,
    /// How long the MCP loop may stay busy without progress before the
    /// watchdog resets the machine (`heartbeat_ms=`, at least 100).
    pub heartbeat_ms: u64,
    /// Registers test-only tools such as `debug_hang` (`test_tools=1`).
    pub test_tools: bool,
    /// The longest a changed persistent state waits before it is saved to
    /// the card (`state_save_ms=`, at least 100; see `state`).
    pub state_save_ms: u64,
    /// Tests only: the N-th state save of this boot writes half its record
    /// and stops there, so a test can kill the machine mid-write
    /// (`state_stall=N`, N from 1; only with `test_tools=1`).
    pub state_stall: Option<u32>,
}

impl Options {
    pub fn parse(cmdline: &str) -> Self {
        let mut opts = Options {
            baud: DEFAULT_BAUD,
            selftest: None,
            fs_protect: true,
            log_uart: log_uart::Choice::None,
            heartbeat_ms: DEFAULT_HEARTBEAT_MS,
            test_tools: false,
            state_save_ms: crate::state::DEFAULT_SAVE_MS,
            state_stall: None,
        };
        for word in cmdline.split_ascii_whitespace() {
            let Some((key, value)) = word.split_once('=') else {
                continue;
            };
            match key {
                "baud" => {
                    if let Ok(b) = value.parse::<u32>() {
                        if b > 0 {
                            opts.baud = b;
                        }
                    }
                }
                "selftest" => {
                    opts.selftest = match value {
                        "data_abort" => Some(Selftest::DataAbort),
                        "undefined" => Some(Selftest::Undefined),
                        "panic" => Some(Selftest::Panic),
                        _ => None,
                    }
                }
                "fs_protect" => opts.fs_protect = value != "off",
                "log_uart" => {
                    if let Some(choice) = log_uart::Choice::parse(value) {
                        opts.log_uart = choice;
                    }
                }
                "heartbeat_ms" => {
                    if let Ok(ms) = value.parse::<u64>() {
                        opts.heartbeat_ms = ms.max(100);
                    }
                }
                "test_tools" => opts.test_tools = value == "1",
                "state_save_ms" => {
                    if let Ok(ms) = value.parse::<u64>() {
                        opts.state_save_ms = ms.max(100);
                    }
                }
                "state_stall" => opts.state_stall = value.parse::<u32>().ok().filter(|&n| n > 0),
                _ => {}
            }
        }
        opts
    }
}
