//! The GPIO block, shared by the kernel (UART0's pins, the log mirror's)
//! and the `gpio_*` tools, and the rule for which pins the tools may change.
//!
//! Pins the OS cannot lose are refused with a reason (see
//! `docs/hardware.md` for the sources):
//! - 14/15: UART0, the MCP channel;
//! - the log mirror's transmit pin, when the mirror uses one;
//! - 34–39: the legacy EMMC/SDIO bank (the Pi 4's Wi-Fi SDIO; the SD
//!   controller QEMU attaches `-drive if=sd` to can be muxed there);
//! - 48–53: the SD card bank (SD_CLK_R, SD_CMD_R, SD_DATA0_R..3_R on the Pi
//!   4; in QEMU their function select moves the card between controllers).
//!
//! Reading a pin is always allowed.

use core::sync::atomic::{AtomicU64, Ordering};
use rpi4::board::{GPIO_BASE, UART0_RX_PIN, UART0_TX_PIN};
use rpi4::gpio::{Gpio, MAX_PIN};
use spin::Mutex;

// SAFETY: GPIO_BASE is the BCM2711 GPIO block, identity-mapped as Device
// memory by `mmu`; this is the only `Gpio`, and the mutex serialises it.
static GPIO: Mutex<Gpio> = Mutex::new(unsafe { Gpio::new(GPIO_BASE) });

/// Pins claimed at run time (bit n: GPIO n), beyond the fixed ones.
static CLAIMED: AtomicU64 = AtomicU64::new(0);

/// Runs `f` with the GPIO driver.
pub fn with<R>(f: impl FnOnce(&mut Gpio) -> R) -> R {
    f(&mut GPIO.lock())
}

/// The kernel takes `pin` for itself (the log mirror's transmit pin).
pub fn claim(pin: u32) {
    CLAIMED.fetch_or(1 << pin, Ordering::Relaxed);
}

/// Why the tools may not change `pin`, or `None` if they may.
pub fn refusal(pin: u32) -> Option<&'static str> {
    if pin > MAX_PIN {
        return Some("the BCM2711 has GPIO 0-57 only");
    }
    if pin == UART0_TX_PIN || pin == UART0_RX_PIN {
        return Some("GPIO 14/15 carry UART0, the MCP channel this request arrived on");
    }
    if CLAIMED.load(Ordering::Relaxed) & (1 << pin) != 0 {
        return Some("the pin carries the kernel log mirror (log_uart=)");
    }
    if (34..=39).contains(&pin) {
        return Some("GPIO 34-39 are the SDIO bank (the Pi 4's Wi-Fi, the legacy EMMC controller)");
    }
    if (48..=53).contains(&pin) {
        return Some("GPIO 48-53 carry the SD card the OS boots and reads from");
    }
    None
}
