//! The mini UART (UART1) in the BCM2711's auxiliary block, transmit only:
//! Kingly OS uses it for the kernel log mirror in QEMU, where it is the
//! second `-serial`.
//!
//! Registers per "BCM2711 ARM Peripherals" §2.2: AUX_ENABLES (0x04) turns
//! the block on; AUX_MU_IO (0x40) is the data register, AUX_MU_LSR (0x54)
//! bit 5 says the transmitter can take a byte, AUX_MU_CNTL (0x60) enables
//! receiver/transmitter, AUX_MU_BAUD (0x68) divides the *core* clock:
//! baud = core_clock / (8 × (divisor + 1)).
//!
//! On a Pi 4 the mini UART reaches the 40-pin header only on GPIO 14/15,
//! which UART0 (the MCP channel) owns, so this driver never touches pins;
//! on the board the log mirror uses one of the extra PL011s instead.

use crate::mmio::Mmio;
use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::{register_structs, registers::ReadWrite};

register_structs! {
    Registers {
        (0x00 => _irq),
        (0x04 => enables: ReadWrite<u32>),
        (0x08 => _reserved0),
        (0x40 => io: ReadWrite<u32>),
        (0x44 => ier: ReadWrite<u32>),
        (0x48 => iir: ReadWrite<u32>),
        (0x4c => lcr: ReadWrite<u32>),
        (0x50 => mcr: ReadWrite<u32>),
        (0x54 => lsr: ReadWrite<u32>),
        (0x58 => _reserved1),
        (0x60 => cntl: ReadWrite<u32>),
        (0x64 => _stat),
        (0x68 => baud: ReadWrite<u32>),
        (0x6c => @END),
    }
}

const ENABLES_MINI_UART: u32 = 1;
/// AUX_MU_LCR: 8-bit mode (both bits, per the datasheet's erratum).
const LCR_8BIT: u32 = 0b11;
/// AUX_MU_IIR write: clear both FIFOs.
const IIR_CLEAR_FIFOS: u32 = 0b110;
const CNTL_TX_ENABLE: u32 = 1 << 1;
const LSR_TX_EMPTY: u32 = 1 << 5;
/// LSR bit 6: transmitter idle (FIFO empty and the last bit sent).
const LSR_TX_IDLE: u32 = 1 << 6;

/// The AUX_MU_BAUD value for `baud` from the core clock, if representable.
pub fn divisor(core_clock_hz: u32, baud: u32) -> Option<u32> {
    if baud == 0 {
        return None;
    }
    let d = (u64::from(core_clock_hz) + 4 * u64::from(baud)) / (8 * u64::from(baud));
    (1..=0x1_0000).contains(&d).then(|| (d - 1) as u32)
}

pub struct MiniUart {
    regs: Mmio<Registers>,
}

impl MiniUart {
    /// # Safety
    /// `base` must be the identity-mapped auxiliary block
    /// ([`crate::board::AUX_BASE`]) and only one `MiniUart` may exist.
    pub const unsafe fn new(base: usize) -> Self {
        // SAFETY: forwarded from this function's contract.
        let regs = unsafe { Mmio::new(base) };
        Self { regs }
    }

    /// Enables the mini UART, transmitter only, 8N1 at `baud` from the core
    /// clock. Returns `false` (and leaves it off) when the rate cannot be
    /// produced.
    pub fn init(&mut self, core_clock_hz: u32, baud: u32) -> bool {
        let Some(div) = divisor(core_clock_hz, baud) else {
            return false;
        };
        // The other AUX_ENABLES bits switch SPI1/SPI2: leave them as found.
        let enables = self.regs.enables.get();
        self.regs.enables.set(enables | ENABLES_MINI_UART);
        self.regs.cntl.set(0);
        self.regs.ier.set(0);
        self.regs.lcr.set(LCR_8BIT);
        self.regs.mcr.set(0);
        self.regs.iir.set(IIR_CLEAR_FIFOS);
        self.regs.baud.set(div);
        self.regs.cntl.set(CNTL_TX_ENABLE);
        true
    }

    pub fn write_byte(&self, byte: u8) {
        while self.regs.lsr.get() & LSR_TX_EMPTY == 0 {
            core::hint::spin_loop();
        }
        self.regs.io.set(u32::from(byte));
    }

    /// Waits until everything written has left the transmitter.
    pub fn flush(&self) {
        while self.regs.lsr.get() & LSR_TX_IDLE == 0 {
            core::hint::spin_loop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baud_divisor() {
        // The Pi 4's 500 MHz core clock: 542 gives 115 101 baud (0.1 % off).
        assert_eq!(divisor(500_000_000, 115_200), Some(542));
        assert_eq!(divisor(250_000_000, 115_200), Some(270));
        assert_eq!(divisor(0, 115_200), None);
        assert_eq!(divisor(500_000_000, 0), None);
    }

    #[test]
    fn register_offsets() {
        use core::mem::offset_of;
        assert_eq!(offset_of!(Registers, io), 0x40);
        assert_eq!(offset_of!(Registers, lsr), 0x54);
        assert_eq!(offset_of!(Registers, cntl), 0x60);
        assert_eq!(offset_of!(Registers, baud), 0x68);
    }
}
