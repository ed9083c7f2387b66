//! The kernel log mirror: every `klog!` record is also written, as a text
//! line, to a second UART that never shares pins with UART0. The kernel
//! command line picks it (`log_uart=`):
//!
//! - `mini`: the mini UART (AUX UART1). QEMU connects it to its second
//!   `-serial`; on a Pi 4 its header pins are UART0's 14/15, so no pin is
//!   muxed and on the board it reaches nothing.
//! - `uart2` … `uart5`: the BCM2711's extra PL011s, transmit pin in ALT4 on
//!   GPIO 0, 4, 8 or 12 (header pins 27, 7, 24, 32). QEMU 10 does not model
//!   them; the block is probed first and the mirror stays off if absent.
//! - `none` (the default): no mirror.
//!
//! UART0 stays MCP-only whatever is chosen.

use crate::{pins, probe};
use rpi4::board::{AUX_BASE, UART2_BASE, UART3_BASE, UART4_BASE, UART5_BASE};
use rpi4::gpio::Function;
use rpi4::mini_uart::MiniUart;
use rpi4::pl011::Pl011;
use spin::{Mutex, Once};

/// The mirror's fixed rate.
pub const BAUD: u32 = 115_200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    None,
    Mini,
    /// One of UART2..UART5.
    Pl011(u8),
}

impl Choice {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "none" => Some(Choice::None),
            "mini" => Some(Choice::Mini),
            "uart2" => Some(Choice::Pl011(2)),
            "uart3" => Some(Choice::Pl011(3)),
            "uart4" => Some(Choice::Pl011(4)),
            "uart5" => Some(Choice::Pl011(5)),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Choice::None => "none",
            Choice::Mini => "mini",
            Choice::Pl011(2) => "uart2",
            Choice::Pl011(3) => "uart3",
            Choice::Pl011(4) => "uart4",
            Choice::Pl011(_) => "uart5",
        }
    }
}

enum Port {
    Mini(MiniUart),
    Pl011(Pl011),
}

static PORT: Once<Mutex<Port>> = Once::new();
static CHOSEN: Once<Choice> = Once::new();

/// Brings the chosen UART up. Returns why not, if it could not be.
pub fn init(
    choice: Choice,
    uart_clock_hz: u32,
    core_clock_hz: Option<u32>,
) -> Result<(), &'static str> {
    CHOSEN.call_once(|| choice);
    let port = match choice {
        Choice::None => return Ok(()),
        Choice::Mini => {
            // SAFETY: AUX_BASE is the BCM2711 auxiliary block, identity-mapped
            // as Device memory; `PORT`'s `Once` makes this the only instance.
            let mut mini = unsafe { MiniUart::new(AUX_BASE) };
            let clock = core_clock_hz.ok_or("the firmware did not report the core clock")?;
            if !mini.init(clock, BAUD) {
                return Err("the core clock cannot produce 115200 baud");
            }
            Port::Mini(mini)
        }
        Choice::Pl011(n) => {
            let (base, tx_pin) = match n {
                2 => (UART2_BASE, 0),
                3 => (UART3_BASE, 4),
                4 => (UART4_BASE, 8),
                _ => (UART5_BASE, 12),
            };
            // The PL011's flag register; absent blocks fault (QEMU 10).
            probe::read32(base + 0x18).ok_or("no PL011 answers at that address")?;
            // SAFETY: `base` is one of the BCM2711's extra PL011s, which the
            // probe just read; `PORT`'s `Once` makes this the only instance.
            let mut uart = unsafe { Pl011::new(base) };
            uart.init(uart_clock_hz, BAUD)
                .map_err(|_| "the UART clock cannot produce 115200 baud")?;
            pins::with(|gpio| gpio.set_function(tx_pin, Function::Alt4))
                .map_err(|_| "no such pin")?;
            pins::claim(tx_pin);
            Port::Pl011(uart)
        }
    };
    PORT.call_once(|| Mutex::new(port));
    Ok(())
}

/// What `log_uart=` chose (and whether it is running).
pub fn status() -> (Choice, bool) {
    (*CHOSEN.get().unwrap_or(&Choice::None), PORT.get().is_some())
}

/// Writes one line (a `\r\n` is added). Interrupts stay enabled: at
/// 115200 baud a line takes milliseconds, longer than UART0's receive FIFO
/// lasts. Interrupt handlers never log, so none can wait on a writer it
/// interrupted.
pub fn write_line(line: &str) {
    let Some(port) = PORT.get() else { return };
    let port = port.lock();
    for &b in line.as_bytes().iter().chain(b"\r\n") {
        match &*port {
            Port::Mini(m) => m.write_byte(b),
            Port::Pl011(u) => u.write_byte(b),
        }
    }
}
