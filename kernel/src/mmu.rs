//! The identity map: virtual address = physical address, on every core.
//!
//! 4 KiB granule, 39-bit address space (T0SZ = 25), so translation starts at
//! level 1 with 1 GiB blocks. The top gigabyte is split into 2 MiB blocks
//! because it holds both RAM (below 0xFC00_0000 on 4 GiB+ boards) and the
//! peripherals (0xFC00_0000 and up, Device-nGnRnE). Everything else —
//! including anything above 4 GiB — is unmapped, so a stray pointer there
//! faults instead of reading garbage.
//!
//! The tables start with the first gigabyte (where the kernel lives) and the
//! peripherals; [`map_ram`] adds the rest of the board's RAM once the mailbox
//! has said how much there is. Adding mappings where there were none needs no
//! break-before-make.

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::{ID_AA64MMFR0_EL1, MAIR_EL1, SCTLR_EL1, TCR_EL1, TTBR0_EL1};
use core::cell::UnsafeCell;
use rpi4::board::PERIPHERAL_BASE;
use tock_registers::interfaces::{ReadWriteable, Readable, Writeable};

const GIB: u64 = 1 << 30;
const BLOCK_2M: u64 = 1 << 21;
/// The 1 GiB slot that holds the peripherals (3–4 GiB).
const TOP_GIB: usize = 3;

// Descriptor bits (Arm ARM D8.3, VMSAv8-64 block and table descriptors).
const VALID: u64 = 1 << 0;
const TABLE: u64 = 1 << 1;
const ATTR_DEVICE: u64 = 0 << 2; // MAIR index 0
const ATTR_NORMAL: u64 = 1 << 2; // MAIR index 1
const INNER_SHAREABLE: u64 = 3 << 8;
const ACCESS_FLAG: u64 = 1 << 10;
const PXN: u64 = 1 << 53;
const UXN: u64 = 1 << 54;

const NORMAL_BLOCK: u64 = VALID | ATTR_NORMAL | INNER_SHAREABLE | ACCESS_FLAG | UXN;
const DEVICE_BLOCK: u64 = VALID | ATTR_DEVICE | ACCESS_FLAG | PXN | UXN;

#[repr(C, align(4096))]
struct Table([u64; 512]);

struct Tables {
    l1: Table,
    top_gib: Table,
}

/// Page tables shared by all cores. Written only by core 0: in
/// [`init_tables`] before any other core runs, and in [`map_ram`] before the
/// secondaries are released.
struct SharedTables(UnsafeCell<Tables>);

// SAFETY: see the type's comment: all writes happen on core 0 while no other
// core is running; afterwards the tables are only read by the MMU.
unsafe impl Sync for SharedTables {}

static TABLES: SharedTables = SharedTables(UnsafeCell::new(Tables {
    l1: Table([0; 512]),
    top_gib: Table([0; 512]),
}));

/// Fills the level-2 table for the top gigabyte: peripherals as Device memory,
/// the rest left unmapped until [`map_ram`] knows whether RAM is there.
pub fn init_tables() {
    // SAFETY: core 0, before the MMU is on and before other cores start: no
    // other reference to the tables exists.
    let tables = unsafe { &mut *TABLES.0.get() };
    tables.l1.0[0] = NORMAL_BLOCK; // 0–1 GiB: kernel, heap, mailbox buffers
    for (i, entry) in tables.top_gib.0.iter_mut().enumerate() {
        let addr = (TOP_GIB as u64) * GIB + (i as u64) * BLOCK_2M;
        *entry = if addr >= PERIPHERAL_BASE as u64 {
            addr | DEVICE_BLOCK
        } else {
            0
        };
    }
    let top = &tables.top_gib as *const Table as u64;
    tables.l1.0[TOP_GIB] = top | VALID | TABLE;
}

/// Maps RAM from 1 GiB up to `ram_bytes` (or the peripheral window) as Normal
/// memory. Core 0 only, before secondaries start.
pub fn map_ram(ram_bytes: u64) {
    // SAFETY: as in `init_tables`; the MMU reads these entries, so each is
    // written whole and the TLB is flushed afterwards.
    let tables = unsafe { &mut *TABLES.0.get() };
    for gib in 1..TOP_GIB {
        if (gib as u64) * GIB < ram_bytes {
            write_entry(&mut tables.l1.0[gib], ((gib as u64) * GIB) | NORMAL_BLOCK);
        }
    }
    for (i, entry) in tables.top_gib.0.iter_mut().enumerate() {
        let addr = (TOP_GIB as u64) * GIB + (i as u64) * BLOCK_2M;
        if addr < PERIPHERAL_BASE as u64 && addr < ram_bytes {
            write_entry(entry, addr | NORMAL_BLOCK);
        }
    }
    barrier::dsb(barrier::ISHST);
    // SAFETY: TLB maintenance has no memory-safety effect; it only drops
    // cached translations (none exist for the new entries, but be exact).
    unsafe { core::arch::asm!("tlbi vmalle1is", options(nostack, preserves_flags)) };
    barrier::dsb(barrier::ISH);
    barrier::isb(barrier::SY);
}

fn write_entry(entry: &mut u64, value: u64) {
    // SAFETY: `entry` is a valid, aligned u64 in the tables; a volatile write
    // keeps the compiler from splitting or eliding a store the MMU observes.
    unsafe { core::ptr::write_volatile(entry, value) };
}

/// Turns on translation and the caches on the calling core.
pub fn enable_on_this_core() {
    MAIR_EL1.write(
        MAIR_EL1::Attr0_Device::nonGathering_nonReordering_noEarlyWriteAck
            + MAIR_EL1::Attr1_Normal_Outer::WriteBack_NonTransient_ReadWriteAlloc
            + MAIR_EL1::Attr1_Normal_Inner::WriteBack_NonTransient_ReadWriteAlloc,
    );
    let l1 = {
        // SAFETY: only the address is taken; nothing is read or written.
        let tables = unsafe { &*TABLES.0.get() };
        &tables.l1 as *const Table as u64
    };
    TTBR0_EL1.set_baddr(l1);
    let pa_range = ID_AA64MMFR0_EL1.read(ID_AA64MMFR0_EL1::PARange);
    TCR_EL1.write(
        TCR_EL1::TBI0::Used
            + TCR_EL1::IPS.val(pa_range.min(0b101))
            + TCR_EL1::TG0::KiB_4
            + TCR_EL1::SH0::Inner
            + TCR_EL1::ORGN0::WriteBack_ReadAlloc_WriteAlloc_Cacheable
            + TCR_EL1::IRGN0::WriteBack_ReadAlloc_WriteAlloc_Cacheable
            + TCR_EL1::EPD0::EnableTTBR0Walks
            + TCR_EL1::EPD1::DisableTTBR1Walks
            + TCR_EL1::T0SZ.val(25),
    );
    barrier::dsb(barrier::ISH);
    // SAFETY: invalidating this core's stale TLB entries and instruction
    // cache before turning translation on only discards cached state.
    unsafe {
        core::arch::asm!(
            "tlbi vmalle1",
            "ic iallu",
            options(nostack, preserves_flags)
        )
    };
    barrier::dsb(barrier::ISH);
    barrier::isb(barrier::SY);
    // Unaligned accesses stay allowed (A = 0): NEON code relies on them.
    SCTLR_EL1.modify(
        SCTLR_EL1::M::Enable
            + SCTLR_EL1::C::Cacheable
            + SCTLR_EL1::I::Cacheable
            + SCTLR_EL1::A::Disable
            + SCTLR_EL1::SA::Enable,
    );
    barrier::isb(barrier::SY);
}
