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
//!
//! Every identity mapping is EL1-only (AP[1] = 0) and never executable at
//! EL0 (UXN), so an EL0 program touching kernel memory faults. EL0 programs
//! live in the one user window ([`USER_BASE`], [`USER_PAGES`] 4 KiB pages,
//! far above any RAM), mapped page by page with [`map_user`]: W^X on every
//! page, PXN on all of them (the kernel never runs user code), and the
//! window unmapped again with [`unmap_user`] when the program ends.

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
/// A level-3 (4 KiB page) descriptor has bits [1:0] = 0b11.
const PAGE_DESCRIPTOR: u64 = 0b11;
/// AP[2:1] = 0b01: read-write at EL1 and EL0.
const AP_EL0_RW: u64 = 0b01 << 6;
/// AP[2:1] = 0b11: read-only at EL1 and EL0.
const AP_EL0_RO: u64 = 0b11 << 6;

const NORMAL_BLOCK: u64 = VALID | ATTR_NORMAL | INNER_SHAREABLE | ACCESS_FLAG | UXN;
const DEVICE_BLOCK: u64 = VALID | ATTR_DEVICE | ACCESS_FLAG | PXN | UXN;

#[repr(C, align(4096))]
struct Table([u64; 512]);

struct Tables {
    l1: Table,
    top_gib: Table,
    /// The gigabyte that holds the user window: its first 2 MiB entry
    /// points at `user_pages`.
    user_gib: Table,
    /// The user window's 4 KiB pages.
    user_pages: Table,
}

/// Where EL0 programs are mapped (64 GiB: no RAM is there on any Pi 4, so
/// the window never aliases the identity map). `apps/user.ld` links
/// programs here; `el0::abi` holds the rest of the layout.
pub const USER_BASE: u64 = 0x10_0000_0000;
pub const PAGE_BYTES: u64 = 4096;
/// Pages in the user window: one level-3 table, 2 MiB.
pub const USER_PAGES: usize = 512;
const USER_L1: usize = (USER_BASE / GIB) as usize;

/// What an EL0 program may do with one page of the user window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserAccess {
    /// Not mapped: any access faults.
    None,
    /// Read-only data.
    Read,
    /// Code: read and execute at EL0, never written.
    ReadExecute,
    /// Data and stack: read and write, never executed.
    ReadWrite,
}

impl UserAccess {
    fn descriptor(self, phys: u64) -> u64 {
        let base = phys | PAGE_DESCRIPTOR | ATTR_NORMAL | INNER_SHAREABLE | ACCESS_FLAG | PXN;
        match self {
            UserAccess::None => 0,
            UserAccess::Read => base | AP_EL0_RO | UXN,
            UserAccess::ReadExecute => base | AP_EL0_RO,
            UserAccess::ReadWrite => base | AP_EL0_RW | UXN,
        }
    }
}

/// Page tables shared by all cores. Written only by core 0: in
/// [`init_tables`] before any other core runs, and in [`map_ram`] before the
/// secondaries are released; the user window's page table also by
/// [`map_user`]/[`unmap_user`], which `USER_WINDOW` serializes.
struct SharedTables(UnsafeCell<Tables>);

// SAFETY: see the type's comment: all writes happen on core 0 while no other
// core is running, or (user pages) under the `USER_WINDOW` lock; otherwise
// the tables are only read by the MMU.
unsafe impl Sync for SharedTables {}

static TABLES: SharedTables = SharedTables(UnsafeCell::new(Tables {
    l1: Table([0; 512]),
    top_gib: Table([0; 512]),
    user_gib: Table([0; 512]),
    user_pages: Table([0; 512]),
}));

/// Held while the user window's page table is rewritten.
static USER_WINDOW: spin::Mutex<()> = spin::Mutex::new(());

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
    // The user window: table entries only; its pages stay invalid until a
    // program is mapped.
    let pages = &tables.user_pages as *const Table as u64;
    tables.user_gib.0[0] = pages | VALID | TABLE;
    let gib = &tables.user_gib as *const Table as u64;
    tables.l1.0[USER_L1] = gib | VALID | TABLE;
}

/// Maps the user window: page `i` (at `USER_BASE + i * 4 KiB`) to physical
/// `base + i * 4 KiB` with `access[i]`. `base` must be 4 KiB aligned and
/// the `access.len()` pages behind it reserved for the program (the caller
/// owns them until [`unmap_user`]).
pub fn map_user(base: u64, access: &[UserAccess]) {
    let _window = USER_WINDOW.lock();
    // SAFETY: the USER_WINDOW lock makes this the only writer of the user
    // page table; each entry is written whole (volatile) and the TLBs are
    // flushed before the program runs.
    let tables = unsafe { &mut *TABLES.0.get() };
    for (i, entry) in tables.user_pages.0.iter_mut().enumerate() {
        let access = access.get(i).copied().unwrap_or(UserAccess::None);
        write_entry(entry, access.descriptor(base + i as u64 * PAGE_BYTES));
    }
    flush_tlbs();
}

/// Unmaps the whole user window (after the program has stopped running).
pub fn unmap_user() {
    let _window = USER_WINDOW.lock();
    // SAFETY: as in `map_user`.
    let tables = unsafe { &mut *TABLES.0.get() };
    for entry in tables.user_pages.0.iter_mut() {
        write_entry(entry, 0);
    }
    flush_tlbs();
}

/// Makes page-table writes visible to every core's table walker and drops
/// cached translations everywhere (inner shareable).
fn flush_tlbs() {
    barrier::dsb(barrier::ISHST);
    // SAFETY: TLB maintenance has no memory-safety effect; it only drops
    // cached translations.
    unsafe { core::arch::asm!("tlbi vmalle1is", options(nostack, preserves_flags)) };
    barrier::dsb(barrier::ISH);
    barrier::isb(barrier::SY);
}

/// Cleans the data cache to the point of unification and invalidates every
/// core's instruction cache, so code just copied into `bytes` is what the
/// instruction fetches of another core see.
pub fn sync_code(bytes: &[u8]) {
    const LINE: usize = 64;
    let start = bytes.as_ptr() as usize & !(LINE - 1);
    let end = bytes.as_ptr() as usize + bytes.len();
    for line in (start..end).step_by(LINE) {
        // SAFETY: cleaning a cache line by address writes dirty data back;
        // it changes no memory contents.
        unsafe { core::arch::asm!("dc cvau, {}", in(reg) line, options(nostack, preserves_flags)) };
    }
    barrier::dsb(barrier::ISH);
    // SAFETY: invalidating instruction caches only discards cached state.
    unsafe { core::arch::asm!("ic ialluis", options(nostack, preserves_flags)) };
    barrier::dsb(barrier::ISH);
    barrier::isb(barrier::SY);
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
    flush_tlbs();
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
