//! The ARM generic timer: the per-core physical counter and its frequency.
//!
//! CNTFRQ_EL0 is read, never assumed: 54 MHz on a Pi 4, 62.5 MHz in QEMU.

use aarch64_cpu::registers::{CNTFRQ_EL0, CNTPCT_EL0};
use tock_registers::interfaces::Readable;

/// The counter frequency in Hz as the firmware programmed it.
pub fn frequency_hz() -> u64 {
    CNTFRQ_EL0.get()
}

/// The physical counter; it starts near zero at power-on and never wraps in
/// practice (64 bits at 62.5 MHz last nine thousand years).
pub fn ticks() -> u64 {
    // ISB so the read is not hoisted above earlier instructions.
    aarch64_cpu::asm::barrier::isb(aarch64_cpu::asm::barrier::SY);
    CNTPCT_EL0.get()
}

/// Converts a tick count to whole milliseconds at `freq_hz`.
pub fn ticks_to_ms(ticks: u64, freq_hz: u64) -> u64 {
    if freq_hz == 0 {
        return 0;
    }
    ((u128::from(ticks) * 1000) / u128::from(freq_hz)) as u64
}

/// A point in time `ms` milliseconds from now, for polling loops that must
/// not spin forever.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    at: u64,
}

impl Deadline {
    pub fn after_ms(ms: u64) -> Self {
        let freq = frequency_hz();
        Self {
            at: ticks().saturating_add(freq.saturating_mul(ms) / 1000),
        }
    }

    pub fn expired(&self) -> bool {
        ticks() >= self.at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_conversion() {
        assert_eq!(ticks_to_ms(62_500_000, 62_500_000), 1000);
        assert_eq!(ticks_to_ms(54_000, 54_000_000), 1);
        assert_eq!(ticks_to_ms(u64::MAX, 54_000_000), 341_606_371_735_362);
        assert_eq!(ticks_to_ms(5, 0), 0);
    }
}
