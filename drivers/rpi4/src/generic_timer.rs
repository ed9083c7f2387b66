//! The ARM generic timer: the per-core physical counter, its frequency, and
//! the EL1 physical timer that raises PPI 14 (GIC INTID 30) when the counter
//! reaches a compare value.
//!
//! CNTFRQ_EL0 is read, never assumed: 54 MHz on a Pi 4, 62.5 MHz in QEMU.

use aarch64_cpu::registers::{CNTFRQ_EL0, CNTPCT_EL0, CNTP_CTL_EL0, CNTP_CVAL_EL0};
use tock_registers::interfaces::{Readable, Writeable};

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

/// Arms this core's EL1 physical timer to interrupt when the counter reaches
/// `at` (CNTP_CVAL_EL0). The interrupt stays asserted until the next call
/// moves the compare value past the counter, or [`stop_interrupt`].
pub fn interrupt_at(at: u64) {
    CNTP_CVAL_EL0.set(at);
    CNTP_CTL_EL0.write(CNTP_CTL_EL0::ENABLE::SET + CNTP_CTL_EL0::IMASK::CLEAR);
}

pub fn stop_interrupt() {
    CNTP_CTL_EL0.write(CNTP_CTL_EL0::ENABLE::CLEAR);
}

/// The compare value last set with [`interrupt_at`].
pub fn compare_value() -> u64 {
    CNTP_CVAL_EL0.get()
}

/// Counter ticks in `ms` milliseconds at `freq_hz`.
pub fn ms_to_ticks(ms: u64, freq_hz: u64) -> u64 {
    ((u128::from(ms) * u128::from(freq_hz)) / 1000).min(u128::from(u64::MAX)) as u64
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
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
        assert_eq!(ms_to_ticks(10, 62_500_000), 625_000);
        assert_eq!(ms_to_ticks(u64::MAX, 54_000_000), u64::MAX);
    }
}
