//! ARM GIC-400 (GICv2) distributor and CPU interface.
//!
//! Register offsets follow the GICv2 architecture specification (IHI 0048B),
//! which the BCM2711's GIC-400 implements. The firmware (and QEMU's raspi4b)
//! leave every interrupt in the group that non-secure EL1 can configure, so
//! the same sequence works on the board and in QEMU.

use crate::mmio::Mmio;
use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::{
    register_structs, registers::ReadOnly, registers::ReadWrite, registers::WriteOnly,
};

register_structs! {
    DistributorRegisters {
        (0x000 => ctlr: ReadWrite<u32>),
        (0x004 => typer: ReadOnly<u32>),
        (0x008 => _reserved0),
        (0x100 => isenabler: [ReadWrite<u32>; 32]),
        (0x180 => icenabler: [ReadWrite<u32>; 32]),
        (0x200 => ispendr: [ReadWrite<u32>; 32]),
        (0x280 => icpendr: [ReadWrite<u32>; 32]),
        (0x300 => _reserved2),
        (0x400 => ipriorityr: [ReadWrite<u32>; 255]),
        (0x7fc => _reserved3),
        (0x800 => itargetsr: [ReadWrite<u32>; 255]),
        (0xbfc => _reserved4),
        (0xc00 => icfgr: [ReadWrite<u32>; 64]),
        (0xd00 => _reserved5),
        (0xf00 => sgir: WriteOnly<u32>),
        (0xf04 => @END),
    }
}

register_structs! {
    CpuInterfaceRegisters {
        (0x00 => ctlr: ReadWrite<u32>),
        (0x04 => pmr: ReadWrite<u32>),
        (0x08 => bpr: ReadWrite<u32>),
        (0x0c => iar: ReadOnly<u32>),
        (0x10 => eoir: WriteOnly<u32>),
        (0x14 => @END),
    }
}

/// INTIDs 1020–1023 are special; 1023 means "nothing pending".
pub const SPURIOUS_INTID: u32 = 1023;
/// Interrupt IDs below 32 are per-core (SGIs and PPIs).
const FIRST_SPI: u32 = 32;

/// Where an interrupt's bit or byte lives in the banked register arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// Index into a one-bit-per-interrupt array (ISENABLER, ICENABLER, ...).
    pub word: usize,
    pub bit: u32,
    /// Index into a one-byte-per-interrupt array (IPRIORITYR, ITARGETSR).
    pub byte_word: usize,
    pub byte_shift: u32,
    /// Index into ICFGR (two bits per interrupt).
    pub cfg_word: usize,
    pub cfg_shift: u32,
}

pub fn slot(intid: u32) -> Slot {
    Slot {
        word: (intid / 32) as usize,
        bit: intid % 32,
        byte_word: (intid / 4) as usize,
        byte_shift: (intid % 4) * 8,
        cfg_word: (intid / 16) as usize,
        cfg_shift: (intid % 16) * 2,
    }
}

/// How an interrupt line signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Level,
    Edge,
}

/// An acknowledged interrupt; pass it back to [`Gic400::end_of_interrupt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Acknowledged {
    raw: u32,
}

impl Acknowledged {
    pub fn intid(&self) -> u32 {
        self.raw & 0x3ff
    }
}

pub struct Gic400 {
    gicd: Mmio<DistributorRegisters>,
    gicc: Mmio<CpuInterfaceRegisters>,
}

impl Gic400 {
    /// # Safety
    /// `gicd_base`/`gicc_base` must be the identity-mapped distributor and CPU
    /// interface of a GICv2 ([`crate::board::GICD_BASE`], [`crate::board::GICC_BASE`]).
    /// Several instances may exist (one per core uses the banked CPU
    /// interface), but distributor set-up must only be done by one core.
    pub const unsafe fn new(gicd_base: usize, gicc_base: usize) -> Self {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            Self {
                gicd: Mmio::new(gicd_base),
                gicc: Mmio::new(gicc_base),
            }
        }
    }

    /// Number of interrupt lines the distributor implements (GICD_TYPER.ITLinesNumber).
    pub fn lines(&self) -> u32 {
        32 * ((self.gicd.typer.get() & 0x1f) + 1)
    }

    /// Disables and clears every shared interrupt and enables the distributor.
    pub fn init_distributor(&self) {
        self.gicd.ctlr.set(0);
        let words = (self.lines() / 32) as usize;
        for w in (FIRST_SPI / 32) as usize..words.min(32) {
            self.gicd.icenabler[w].set(u32::MAX);
            self.gicd.icpendr[w].set(u32::MAX);
        }
        self.gicd.ctlr.set(1);
    }

    /// Opens this core's CPU interface to every priority.
    pub fn init_cpu_interface(&self) {
        self.gicc.pmr.set(0xff);
        self.gicc.bpr.set(0);
        self.gicc.ctlr.set(1);
    }

    /// Routes `intid` to `core` with `priority` (lower is more urgent) and
    /// enables it.
    pub fn enable(&self, intid: u32, core: u32, priority: u8, trigger: Trigger) {
        let s = slot(intid);
        let prio = &self.gicd.ipriorityr[s.byte_word];
        prio.set((prio.get() & !(0xff << s.byte_shift)) | (u32::from(priority) << s.byte_shift));
        if intid >= FIRST_SPI {
            // Targets of SGIs/PPIs are fixed to the local core.
            let targets = &self.gicd.itargetsr[s.byte_word];
            targets.set((targets.get() & !(0xff << s.byte_shift)) | ((1 << core) << s.byte_shift));
            let cfg = &self.gicd.icfgr[s.cfg_word];
            let edge = match trigger {
                Trigger::Level => 0,
                Trigger::Edge => 2,
            };
            cfg.set((cfg.get() & !(3 << s.cfg_shift)) | (edge << s.cfg_shift));
        }
        self.gicd.isenabler[s.word].set(1 << s.bit);
    }

    /// Raises software-generated interrupt `intid` (0–15) on `core` only
    /// (GICD_SGIR, TargetListFilter = "the cores in the list").
    pub fn send_sgi(&self, intid: u32, core: u32) {
        self.gicd
            .sgir
            .set(((1 << core) & 0xff) << 16 | (intid & 0xf));
    }

    /// Whether `intid` is pending at the distributor. A line that is
    /// asserted becomes pending even while disabled, which tells whether a
    /// device's interrupt is wired to this GIC at all.
    pub fn is_pending(&self, intid: u32) -> bool {
        let s = slot(intid);
        self.gicd.ispendr[s.word].get() & (1 << s.bit) != 0
    }

    /// Clears a pending (edge) interrupt.
    pub fn clear_pending(&self, intid: u32) {
        let s = slot(intid);
        self.gicd.icpendr[s.word].set(1 << s.bit);
    }

    pub fn disable(&self, intid: u32) {
        let s = slot(intid);
        self.gicd.icenabler[s.word].set(1 << s.bit);
    }

    /// Takes the highest-priority pending interrupt, if any.
    pub fn acknowledge(&self) -> Option<Acknowledged> {
        let raw = self.gicc.iar.get();
        if raw & 0x3ff >= 1020 {
            None
        } else {
            Some(Acknowledged { raw })
        }
    }

    pub fn end_of_interrupt(&self, irq: Acknowledged) {
        self.gicc.eoir.set(irq.raw);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uart0_slot() {
        let s = slot(153);
        assert_eq!((s.word, s.bit), (4, 25));
        assert_eq!((s.byte_word, s.byte_shift), (38, 8));
        assert_eq!((s.cfg_word, s.cfg_shift), (9, 18));
    }

    #[test]
    fn register_offsets_match_the_gicv2_spec() {
        use core::mem::offset_of;
        assert_eq!(offset_of!(DistributorRegisters, isenabler), 0x100);
        assert_eq!(offset_of!(DistributorRegisters, ispendr), 0x200);
        assert_eq!(offset_of!(DistributorRegisters, ipriorityr), 0x400);
        assert_eq!(offset_of!(DistributorRegisters, itargetsr), 0x800);
        assert_eq!(offset_of!(DistributorRegisters, icfgr), 0xc00);
        assert_eq!(offset_of!(DistributorRegisters, sgir), 0xf00);
        assert_eq!(offset_of!(CpuInterfaceRegisters, eoir), 0x10);
    }
}
