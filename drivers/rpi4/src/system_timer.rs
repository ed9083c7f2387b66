//! The BCM system timer: a free-running 64-bit microsecond counter
//! (CLO 0x04 / CHI 0x08) and four compare registers (C0..C3, 0x0c..0x18)
//! whose matches set bits in CS (0x00). C0 and C2 belong to the VideoCore;
//! the ARM may use C1 and C3.
//!
//! The kernel reads it as a second clock beside the generic timer. QEMU
//! models the counter and the compare matches, but raises the compare
//! interrupts only on the legacy interrupt controller, not on the GIC-400:
//! whether the GIC sees them is found out at run time, never assumed.

use crate::mmio::Mmio;
use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::{register_structs, registers::ReadOnly, registers::ReadWrite};

register_structs! {
    Registers {
        (0x00 => cs: ReadWrite<u32>),
        (0x04 => clo: ReadOnly<u32>),
        (0x08 => chi: ReadOnly<u32>),
        (0x0c => compare: [ReadWrite<u32>; 4]),
        (0x1c => @END),
    }
}

/// Methods take `&self`: reads are side-effect free and each compare
/// channel has a single owner (the constructor's contract).
pub struct SystemTimer {
    regs: Mmio<Registers>,
}

impl SystemTimer {
    /// # Safety
    /// `base` must be the identity-mapped system timer
    /// ([`crate::board::SYSTEM_TIMER_BASE`]), only one `SystemTimer` may
    /// exist, and only one core may program compare channels through it.
    pub const unsafe fn new(base: usize) -> Self {
        // SAFETY: forwarded from this function's contract.
        let regs = unsafe { Mmio::new(base) };
        Self { regs }
    }

    /// Microseconds since the counter started. CHI is read before and after
    /// CLO so a carry between the two reads is never mixed up.
    pub fn micros(&self) -> u64 {
        loop {
            let hi = self.regs.chi.get();
            let lo = self.regs.clo.get();
            if self.regs.chi.get() == hi {
                return u64::from(hi) << 32 | u64::from(lo);
            }
        }
    }

    /// Sets compare `channel` (1 or 3, the ARM's) to match `after_us` from
    /// now, clearing an earlier match first.
    pub fn set_compare(&self, channel: usize, after_us: u32) {
        self.regs.cs.set(1 << channel);
        let now = self.regs.clo.get();
        self.regs.compare[channel].set(now.wrapping_add(after_us));
    }

    /// Whether compare `channel` has matched since it was last set.
    pub fn matched(&self, channel: usize) -> bool {
        self.regs.cs.get() & (1 << channel) != 0
    }

    pub fn clear_match(&self, channel: usize) {
        self.regs.cs.set(1 << channel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_offsets() {
        use core::mem::offset_of;
        assert_eq!(offset_of!(Registers, clo), 0x04);
        assert_eq!(offset_of!(Registers, chi), 0x08);
        assert_eq!(offset_of!(Registers, compare), 0x0c);
    }
}
