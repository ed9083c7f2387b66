//! The BCM2711's RNG200 hardware random number generator.
//!
//! Register offsets are those of the Broadcom iProc RNG200 block that the
//! BCM2711 carries: RNG_CTRL 0x00, RNG_TOTAL_BIT_COUNT 0x0c and its
//! threshold 0x10, RNG_FIFO_DATA 0x20, RNG_FIFO_COUNT 0x24. The first bits
//! the generator produces after it is enabled are less random, so it is
//! started with a total-bit-count threshold and words are only taken once
//! the FIFO reports them (the warm-up).
//!
//! QEMU 10's raspi4b has no device at this address at all (an access takes
//! a synchronous external abort); the kernel therefore probes the block
//! through its exception fixup before creating this driver.

use crate::generic_timer::Deadline;
use crate::mmio::Mmio;
use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::{register_structs, registers::ReadOnly, registers::ReadWrite};

register_structs! {
    Registers {
        (0x00 => ctrl: ReadWrite<u32>),
        (0x04 => _reserved0),
        (0x0c => total_bit_count: ReadOnly<u32>),
        (0x10 => total_bit_count_threshold: ReadWrite<u32>),
        (0x14 => _reserved1),
        (0x20 => fifo_data: ReadOnly<u32>),
        (0x24 => fifo_count: ReadWrite<u32>),
        (0x28 => @END),
    }
}

/// RNG_CTRL: the generator-enable field (RBGEN) and the sample-rate
/// divider above it.
const CTRL_RBGEN_MASK: u32 = 0x1fff;
const CTRL_RBGEN_ENABLE: u32 = 1;
const CTRL_DIV_SHIFT: u32 = 13;
/// Divider 3: the 1 MHz sample rate the Raspberry Pi firmware's users pick.
const CTRL_DIV: u32 = 3;
/// Bits to discard after enabling before the output counts as random.
const WARM_UP_BITS: u32 = 0x40000;
/// RNG_FIFO_COUNT: words available (bits 0..7), interrupt threshold above.
const FIFO_COUNT_MASK: u32 = 0xff;
const FIFO_THRESHOLD_SHIFT: u32 = 8;
/// How long a read may wait for the FIFO (the warm-up takes well under a
/// second on the board).
const WORD_TIMEOUT_MS: u64 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RngError {
    /// The FIFO stayed empty for [`WORD_TIMEOUT_MS`].
    Timeout,
}

pub struct Rng200 {
    regs: Mmio<Registers>,
}

impl Rng200 {
    /// # Safety
    /// `base` must be the identity-mapped RNG200 ([`crate::board::RNG200_BASE`])
    /// of a machine that has one (probe it first: on QEMU raspi4b the address
    /// faults), and only one `Rng200` may exist.
    pub const unsafe fn new(base: usize) -> Self {
        // SAFETY: forwarded from this function's contract.
        let regs = unsafe { Mmio::new(base) };
        Self { regs }
    }

    /// Starts the generator unless something (the firmware) already did.
    pub fn init(&mut self) {
        if self.regs.ctrl.get() & CTRL_RBGEN_MASK != 0 {
            return;
        }
        self.regs.total_bit_count_threshold.set(WARM_UP_BITS);
        self.regs.fifo_count.set(2 << FIFO_THRESHOLD_SHIFT);
        self.regs
            .ctrl
            .set((CTRL_DIV << CTRL_DIV_SHIFT) | CTRL_RBGEN_ENABLE);
    }

    /// Whether the warm-up threshold has been passed.
    pub fn warmed_up(&self) -> bool {
        self.regs.total_bit_count.get() > WARM_UP_BITS
    }

    /// Words waiting in the FIFO.
    pub fn available(&self) -> u32 {
        self.regs.fifo_count.get() & FIFO_COUNT_MASK
    }

    /// The next 32 random bits, waiting (bounded) for the FIFO.
    pub fn next_word(&mut self) -> Result<u32, RngError> {
        let deadline = Deadline::after_ms(WORD_TIMEOUT_MS);
        while !self.warmed_up() || self.available() == 0 {
            if deadline.expired() {
                return Err(RngError::Timeout);
            }
            core::hint::spin_loop();
        }
        Ok(self.regs.fifo_data.get())
    }

    /// Fills `out` with random bytes.
    pub fn fill(&mut self, out: &mut [u8]) -> Result<(), RngError> {
        for chunk in out.chunks_mut(4) {
            let word = self.next_word()?.to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_offsets() {
        use core::mem::offset_of;
        assert_eq!(offset_of!(Registers, total_bit_count), 0x0c);
        assert_eq!(offset_of!(Registers, total_bit_count_threshold), 0x10);
        assert_eq!(offset_of!(Registers, fifo_data), 0x20);
        assert_eq!(offset_of!(Registers, fifo_count), 0x24);
    }
}
