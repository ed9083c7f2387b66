//! Data-cache maintenance by address, for memory another bus master reads or
//! writes without snooping the ARM caches (the VideoCore's mailbox buffer,
//! the SD controllers' DMA). Lines are the smallest data cache line
//! CTR_EL0 reports; every operation ends with a full-system DSB so the
//! maintenance is complete before the device is told to go.

/// Writes dirty lines of `[addr, addr + len)` back to the point of
/// coherency (before a device reads the memory).
pub fn clean(addr: usize, len: usize) {
    #[cfg(target_arch = "aarch64")]
    for line in lines(addr, len) {
        // SAFETY: DC CVAC on an address of the caller's buffer only writes
        // a cache line back; it cannot fault on mapped RAM.
        unsafe { core::arch::asm!("dc cvac, {}", in(reg) line, options(nostack, preserves_flags)) };
    }
    barrier();
    let _ = (addr, len);
}

/// Writes back and discards the lines of `[addr, addr + len)`, so the next
/// reads come from memory (before and after a device writes the memory).
/// Clean-and-invalidate rather than invalidate alone: a line shared with a
/// neighbouring object keeps that object's data.
pub fn clean_invalidate(addr: usize, len: usize) {
    #[cfg(target_arch = "aarch64")]
    for line in lines(addr, len) {
        // SAFETY: DC CIVAC on an address of the caller's buffer only writes
        // back/discards a cache line; it cannot fault on mapped RAM.
        unsafe {
            core::arch::asm!("dc civac, {}", in(reg) line, options(nostack, preserves_flags))
        };
    }
    barrier();
    let _ = (addr, len);
}

#[cfg(target_arch = "aarch64")]
fn lines(addr: usize, len: usize) -> impl Iterator<Item = usize> {
    let ctr: u64;
    // SAFETY: reading CTR_EL0 (cache type) has no side effects and is
    // permitted at EL1.
    unsafe {
        core::arch::asm!("mrs {}, ctr_el0", out(reg) ctr, options(nomem, nostack, preserves_flags))
    };
    // CTR_EL0.DminLine (bits 16..19): log2 of the smallest data cache line
    // in 4-byte words.
    let line = 4usize << ((ctr >> 16) & 0xf);
    let start = addr & !(line - 1);
    (start..addr + len).step_by(line)
}

fn barrier() {
    #[cfg(target_arch = "aarch64")]
    aarch64_cpu::asm::barrier::dsb(aarch64_cpu::asm::barrier::SY);
}
