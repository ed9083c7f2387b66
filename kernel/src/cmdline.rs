//! The kernel command line (`cmdline.txt` on the board, `-append` in QEMU).
//!
//! Space-separated `key=value` words; words the kernel does not know are
//! ignored, since the Pi firmware prepends its own (for Linux) to ours.

use crate::cpu::Selftest;

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
}

impl Options {
    pub fn parse(cmdline: &str) -> Self {
        let mut opts = Options {
            baud: DEFAULT_BAUD,
            selftest: None,
            fs_protect: true,
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
                _ => {}
            }
        }
        opts
    }
}
