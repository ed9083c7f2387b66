//! ARM PrimeCell PL011 UART (UART0 on the BCM2711), the MCP channel.
//!
//! Register names and bits follow the "PL011 UART" chapter of the BCM2711
//! ARM Peripherals datasheet and ARM's PL011 TRM (DDI 0183).

use crate::mmio::Mmio;
use tock_registers::interfaces::{ReadWriteable, Readable, Writeable};
use tock_registers::{
    register_bitfields, register_structs, registers::ReadOnly, registers::ReadWrite,
    registers::WriteOnly,
};

register_bitfields! {u32,
    /// Data register: reading pops the receive FIFO, with error flags above
    /// the byte.
    DR [
        OE OFFSET(11) NUMBITS(1) [],
        BE OFFSET(10) NUMBITS(1) [],
        PE OFFSET(9) NUMBITS(1) [],
        FE OFFSET(8) NUMBITS(1) [],
        DATA OFFSET(0) NUMBITS(8) []
    ],
    /// Flag register.
    FR [
        /// Transmit FIFO empty.
        TXFE OFFSET(7) NUMBITS(1) [],
        /// Transmit FIFO full.
        TXFF OFFSET(5) NUMBITS(1) [],
        /// Receive FIFO empty.
        RXFE OFFSET(4) NUMBITS(1) [],
        /// UART busy transmitting.
        BUSY OFFSET(3) NUMBITS(1) []
    ],
    IBRD [BAUD_DIVINT OFFSET(0) NUMBITS(16) []],
    FBRD [BAUD_DIVFRAC OFFSET(0) NUMBITS(6) []],
    /// Line control.
    LCRH [
        WLEN OFFSET(5) NUMBITS(2) [FiveBit = 0, SixBit = 1, SevenBit = 2, EightBit = 3],
        /// Enable FIFOs.
        FEN OFFSET(4) NUMBITS(1) [],
        /// Two stop bits.
        STP2 OFFSET(3) NUMBITS(1) [],
        /// Parity enable.
        PEN OFFSET(1) NUMBITS(1) []
    ],
    /// Control.
    CR [
        RXE OFFSET(9) NUMBITS(1) [],
        TXE OFFSET(8) NUMBITS(1) [],
        UARTEN OFFSET(0) NUMBITS(1) []
    ],
    /// Interrupt FIFO level select.
    IFLS [
        RXIFLSEL OFFSET(3) NUMBITS(3) [OneEighth = 0, OneQuarter = 1, OneHalf = 2],
        TXIFLSEL OFFSET(0) NUMBITS(3) [OneEighth = 0]
    ],
    /// Interrupt mask set/clear, raw and masked status, and clear: same bits.
    INT [
        OE OFFSET(10) NUMBITS(1) [],
        BE OFFSET(9) NUMBITS(1) [],
        PE OFFSET(8) NUMBITS(1) [],
        FE OFFSET(7) NUMBITS(1) [],
        /// Receive timeout: data sits in the FIFO below the trigger level.
        RT OFFSET(6) NUMBITS(1) [],
        TX OFFSET(5) NUMBITS(1) [],
        RX OFFSET(4) NUMBITS(1) []
    ]
}

register_structs! {
    Registers {
        (0x00 => dr: ReadWrite<u32, DR::Register>),
        (0x04 => _rsrecr),
        (0x18 => fr: ReadOnly<u32, FR::Register>),
        (0x1c => _reserved1),
        (0x24 => ibrd: WriteOnly<u32, IBRD::Register>),
        (0x28 => fbrd: WriteOnly<u32, FBRD::Register>),
        (0x2c => lcrh: ReadWrite<u32, LCRH::Register>),
        (0x30 => cr: ReadWrite<u32, CR::Register>),
        (0x34 => ifls: ReadWrite<u32, IFLS::Register>),
        (0x38 => imsc: ReadWrite<u32, INT::Register>),
        (0x3c => ris: ReadOnly<u32, INT::Register>),
        (0x40 => mis: ReadOnly<u32, INT::Register>),
        (0x44 => icr: WriteOnly<u32, INT::Register>),
        (0x48 => @END),
    }
}

/// Baud rate divisor as the PL011 wants it: a 16-bit integer part and a 6-bit
/// fraction of `uart_clock / (16 * baud)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Divisor {
    pub integer: u32,
    pub fraction: u32,
}

/// Computes the divisor for `baud` from the UART reference clock, rounding
/// the fraction to the nearest 1/64 as the TRM prescribes. Returns `None`
/// when the rate cannot be produced (zero, or outside the 16-bit range).
pub fn divisor(uart_clock_hz: u32, baud: u32) -> Option<Divisor> {
    if baud == 0 || uart_clock_hz == 0 {
        return None;
    }
    // clock / (16 * baud) in units of 1/64, rounded: clock * 4 / baud.
    let scaled = (u64::from(uart_clock_hz) * 4 + u64::from(baud) / 2) / u64::from(baud);
    let integer = (scaled >> 6) as u32;
    let fraction = (scaled & 0x3f) as u32;
    if integer == 0 || integer > 0xffff {
        return None;
    }
    Some(Divisor { integer, fraction })
}

/// The baud rate a divisor actually produces (for reporting).
pub fn actual_baud(uart_clock_hz: u32, d: Divisor) -> u32 {
    let scaled = u64::from(d.integer) * 64 + u64::from(d.fraction);
    ((u64::from(uart_clock_hz) * 4) / scaled.max(1)) as u32
}

/// Why a line configuration was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigError {
    /// No divisor reaches the requested baud rate from this UART clock.
    UnreachableBaud,
}

pub struct Pl011 {
    regs: Mmio<Registers>,
}

impl Pl011 {
    /// # Safety
    /// `base` must be the identity-mapped address of a PL011 (UART0 is
    /// [`crate::board::UART0_BASE`]), and only one `Pl011` may exist for it.
    pub const unsafe fn new(base: usize) -> Self {
        // SAFETY: forwarded from this function's contract.
        let regs = unsafe { Mmio::new(base) };
        Self { regs }
    }

    /// Programs 8N1 at `baud`, unmasks the receive interrupts (FIFO level and
    /// receive timeout) and enables the UART.
    ///
    /// The FIFO is left as the firmware left it. Switching it on or off
    /// empties it, and a client may already be talking while the board boots
    /// (an MCP client sends `initialize` the moment it starts the server):
    /// any toggle races with an arriving byte and can drop it. After a reset
    /// (QEMU) the FIFO is off and the one-byte holding register gives flow
    /// control on its own; the Pi 4 firmware leaves it on.
    pub fn init(&mut self, uart_clock_hz: u32, baud: u32) -> Result<(), ConfigError> {
        let d = divisor(uart_clock_hz, baud).ok_or(ConfigError::UnreachableBaud)?;
        let fifo = if self.regs.lcrh.is_set(LCRH::FEN) {
            LCRH::FEN::SET
        } else {
            LCRH::FEN::CLEAR
        };
        // The TRM's sequence: disable, let the transmitter drain, program,
        // then re-enable. Receive interrupt status is not cleared: bytes may
        // already be waiting.
        self.regs.cr.set(0);
        while self.regs.fr.is_set(FR::BUSY) {}
        self.regs.ibrd.write(IBRD::BAUD_DIVINT.val(d.integer));
        self.regs.fbrd.write(FBRD::BAUD_DIVFRAC.val(d.fraction));
        // LCRH must be written after IBRD/FBRD: that write latches them.
        self.regs.lcrh.write(LCRH::WLEN::EightBit + fifo);
        self.regs
            .ifls
            .write(IFLS::RXIFLSEL::OneEighth + IFLS::TXIFLSEL::OneEighth);
        self.regs
            .imsc
            .write(INT::RX::SET + INT::RT::SET + INT::OE::SET);
        self.regs
            .cr
            .write(CR::UARTEN::SET + CR::TXE::SET + CR::RXE::SET);
        Ok(())
    }

    /// Whether the receive/transmit FIFOs are on (see [`Pl011::init`]).
    pub fn fifo_enabled(&self) -> bool {
        self.regs.lcrh.is_set(LCRH::FEN)
    }

    /// Blocks until the transmit FIFO has room, then queues `byte`.
    pub fn write_byte(&self, byte: u8) {
        while self.regs.fr.is_set(FR::TXFF) {
            core::hint::spin_loop();
        }
        self.regs.dr.set(u32::from(byte));
    }

    /// Waits until every queued byte has left the shift register.
    pub fn flush(&self) {
        while self.regs.fr.is_set(FR::BUSY) || !self.regs.fr.is_set(FR::TXFE) {
            core::hint::spin_loop();
        }
    }

    /// Pops one received byte, if any. Bytes that arrived with a framing,
    /// parity or break error are still returned (the MCP layer rejects the
    /// damaged line); `overrun` reports whether the FIFO overflowed.
    pub fn read_byte(&self) -> Option<ReceivedByte> {
        if self.regs.fr.is_set(FR::RXFE) {
            return None;
        }
        let v = self.regs.dr.extract();
        Some(ReceivedByte {
            byte: v.read(DR::DATA) as u8,
            overrun: v.is_set(DR::OE),
        })
    }

    /// Acknowledges every receive-side interrupt. Call *before* draining the
    /// FIFO with [`Pl011::read_byte`]: a byte that lands after the drain then
    /// raises a fresh interrupt instead of having its status cleared.
    pub fn clear_rx_interrupts(&self) {
        self.regs.icr.write(
            INT::RX::SET + INT::RT::SET + INT::OE::SET + INT::BE::SET + INT::PE::SET + INT::FE::SET,
        );
    }

    /// Unmasks or masks the receive interrupts (FIFO level, receive timeout,
    /// overrun). Masking them while the consumer is full leaves bytes in the
    /// FIFO instead of dropping them.
    pub fn set_receive_interrupts(&self, enabled: bool) {
        let rx = INT::RX::SET + INT::RT::SET + INT::OE::SET;
        if enabled {
            self.regs.imsc.modify(rx);
        } else {
            self.regs
                .imsc
                .modify(INT::RX::CLEAR + INT::RT::CLEAR + INT::OE::CLEAR);
        }
    }

    /// Masked interrupt status, for the handler to tell why it was called.
    pub fn pending_interrupts(&self) -> u32 {
        self.regs.mis.get()
    }

    /// The raw interrupt status (unmasked), for diagnostics.
    pub fn raw_interrupts(&self) -> u32 {
        self.regs.ris.get()
    }

    pub fn base(&self) -> usize {
        self.regs.base()
    }
}

/// One byte taken from the receive FIFO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceivedByte {
    pub byte: u8,
    pub overrun: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn divisor_for_the_pi4_48mhz_clock() {
        // 48 MHz / (16 * 115200) = 26.0417 → 26 + 3/64.
        assert_eq!(
            divisor(48_000_000, 115_200),
            Some(Divisor {
                integer: 26,
                fraction: 3
            })
        );
    }

    #[test]
    fn divisor_for_qemus_3mhz_clock() {
        // 3 MHz / (16 * 115200) = 1.6276 → 1 + 40/64.
        assert_eq!(
            divisor(3_000_000, 115_200),
            Some(Divisor {
                integer: 1,
                fraction: 40
            })
        );
    }

    #[test]
    fn actual_baud_is_close_to_requested() {
        for &(clk, baud) in &[
            (48_000_000, 115_200),
            (48_000_000, 921_600),
            (3_000_000, 9_600),
        ] {
            let d = divisor(clk, baud).unwrap();
            let got = actual_baud(clk, d);
            let err = (i64::from(got) - i64::from(baud)).abs() * 1000 / i64::from(baud);
            assert!(err <= 20, "{clk} Hz / {baud} baud gives {got} baud");
        }
    }

    #[test]
    fn unreachable_rates_are_refused() {
        assert_eq!(divisor(3_000_000, 0), None);
        assert_eq!(divisor(0, 115_200), None);
        // 3 MHz cannot produce 4 Mbaud (divisor below 1).
        assert_eq!(divisor(3_000_000, 4_000_000), None);
        // 48 MHz / (16 * 1 baud) does not fit the 16-bit integer part.
        assert_eq!(divisor(48_000_000, 1), None);
    }
}
