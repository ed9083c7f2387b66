//! The power-management watchdog and reset control of the BCM2711.
//!
//! PM_WDOG (0x24) counts down in ticks of 1/65536 s (20 bits, about 16 s at
//! most); when it reaches zero with PM_RSTC's WRCFG field (0x1c, bits 4..5)
//! set to "full reset", the chip resets. Every write carries the password
//! 0x5a in the top byte or is ignored. Writing WRCFG = full reset with a
//! short WDOG is also how the chip is reset on purpose.
//!
//! QEMU 10 implements only that last part: a write to PM_RSTC with the
//! full-reset bit resets the machine at once, and PM_WDOG is plain storage
//! that never counts. [`PmWatchdog::counts_down`] finds out which one we
//! are on, so the countdown is armed only where it exists (arming it in
//! QEMU 10 would reset the machine on the spot).

use crate::generic_timer::Deadline;
use crate::mmio::Mmio;
use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::{register_structs, registers::ReadWrite};

register_structs! {
    Registers {
        (0x00 => _reserved0),
        (0x1c => rstc: ReadWrite<u32>),
        (0x20 => rsts: ReadWrite<u32>),
        (0x24 => wdog: ReadWrite<u32>),
        (0x28 => @END),
    }
}

const PASSWORD: u32 = 0x5a00_0000;
const PASSWORD_MASK: u32 = 0xff00_0000;
/// PM_RSTC.WRCFG: what happens when the watchdog expires.
const RSTC_WRCFG_MASK: u32 = 0x30;
const RSTC_WRCFG_FULL_RESET: u32 = 0x20;
/// PM_RSTC value that disarms the watchdog (clears WRCFG, resets the timer
/// logic), as the firmware documents it.
const RSTC_DISARM: u32 = 0x102;
const WDOG_TIME_MASK: u32 = 0xf_ffff;
/// PM_WDOG ticks per second.
pub const TICKS_PER_SECOND: u64 = 1 << 16;
/// The longest watchdog timeout, in milliseconds (20-bit counter).
pub const MAX_TIMEOUT_MS: u64 = (WDOG_TIME_MASK as u64) * 1000 / TICKS_PER_SECOND;
/// Ticks written before a deliberate reset: about 150 µs.
const RESET_TICKS: u32 = 10;

/// PM_WDOG ticks for `ms` milliseconds, clamped to the counter's range.
pub fn ticks_for_ms(ms: u64) -> u32 {
    (ms.saturating_mul(TICKS_PER_SECOND) / 1000).min(u64::from(WDOG_TIME_MASK)) as u32
}

/// Methods take `&self`: each is one or two register writes, and the
/// kernel uses the driver from its timer interrupt and from tools at once;
/// any interleaving of a reload and a reset still ends in one of the two.
pub struct PmWatchdog {
    regs: Mmio<Registers>,
}

impl PmWatchdog {
    /// # Safety
    /// `base` must be the identity-mapped power-management block
    /// ([`crate::board::PM_BASE`]) and only one `PmWatchdog` may exist.
    pub const unsafe fn new(base: usize) -> Self {
        // SAFETY: forwarded from this function's contract.
        let regs = unsafe { Mmio::new(base) };
        Self { regs }
    }

    /// Loads PM_WDOG and checks, within a few milliseconds, whether it
    /// counts down. Leaves WRCFG alone, so nothing resets either way.
    pub fn counts_down(&self) -> bool {
        self.regs.wdog.set(PASSWORD | WDOG_TIME_MASK);
        let before = self.remaining_ticks();
        // 5 ms is about 330 ticks of the 65536 Hz counter.
        let wait = Deadline::after_ms(5);
        while !wait.expired() {
            core::hint::spin_loop();
        }
        self.remaining_ticks() < before
    }

    /// Arms the watchdog: the chip resets unless [`Self::feed`] comes
    /// within `timeout_ms`.
    pub fn arm(&self, timeout_ms: u64) {
        self.feed(timeout_ms);
        let rstc = self.regs.rstc.get() & !RSTC_WRCFG_MASK;
        self.regs
            .rstc
            .set(PASSWORD | (rstc & !PASSWORD_MASK) | RSTC_WRCFG_FULL_RESET);
    }

    /// Reloads the countdown.
    pub fn feed(&self, timeout_ms: u64) {
        self.regs.wdog.set(PASSWORD | ticks_for_ms(timeout_ms));
    }

    pub fn disarm(&self) {
        self.regs.rstc.set(PASSWORD | RSTC_DISARM);
    }

    /// Ticks left on the countdown, as PM_WDOG reads.
    pub fn remaining_ticks(&self) -> u32 {
        self.regs.wdog.get() & WDOG_TIME_MASK
    }

    /// PM_RSTS: the firmware's record of why the chip last reset.
    pub fn reset_status(&self) -> u32 {
        self.regs.rsts.get()
    }

    /// Resets the whole chip now: a short countdown and WRCFG = full reset.
    /// On QEMU the RSTC write alone resets the machine. Returns only if the
    /// reset has not happened yet (the caller should wait for it).
    pub fn reset(&self) {
        self.regs.wdog.set(PASSWORD | RESET_TICKS);
        let rstc = self.regs.rstc.get() & !RSTC_WRCFG_MASK;
        self.regs
            .rstc
            .set(PASSWORD | (rstc & !PASSWORD_MASK) | RSTC_WRCFG_FULL_RESET);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_conversion_clamps_to_twenty_bits() {
        assert_eq!(ticks_for_ms(1000), 65536);
        assert_eq!(ticks_for_ms(1), 65);
        assert_eq!(ticks_for_ms(60_000), WDOG_TIME_MASK);
        assert_eq!(MAX_TIMEOUT_MS, 15_999);
    }

    #[test]
    fn register_offsets() {
        use core::mem::offset_of;
        assert_eq!(offset_of!(Registers, rstc), 0x1c);
        assert_eq!(offset_of!(Registers, rsts), 0x20);
        assert_eq!(offset_of!(Registers, wdog), 0x24);
    }
}
