//! Probing devices that may be absent. QEMU 10's raspi4b has nothing at
//! some BCM2711 addresses (the RNG200, the extra PL011s), and a load there
//! takes a synchronous external abort. [`read32`] turns exactly that fault
//! into `None`: the exception vector, seeing ELR at the probe's single load
//! instruction, resumes at its "absent" exit instead of reporting and
//! halting (see [`fixup`]).

extern "C" {
    fn probe_read32(address: usize, out: *mut u32) -> bool;
    static probe_read32_load: u8;
    static probe_read32_absent: u8;
}

/// Reads the 32-bit register at `address`, or `None` if the read faults.
///
/// Only for addresses in the identity-mapped peripheral window; a fault
/// other than a data abort on that one load is still reported and halts.
pub fn read32(address: usize) -> Option<u32> {
    assert!(
        address >= rpi4::board::PERIPHERAL_BASE && address.is_multiple_of(4),
        "probe::read32 is for aligned device registers"
    );
    let mut value = 0;
    // SAFETY: the address is an aligned register in the Device-mapped
    // peripheral window, so the load has no effect on memory Rust owns; if
    // it faults, the fixup resumes at the routine's exit with `false`.
    let present = unsafe { probe_read32(address, &mut value) };
    present.then_some(value)
}

/// Called by the synchronous exception handler: if `elr` is the probe's
/// load and the exception is a data abort from EL1 (EC 0x25), returns where
/// to resume.
pub fn fixup(elr: u64, exception_class: u64) -> Option<u64> {
    const DATA_ABORT_SAME_EL: u64 = 0x25;
    // Only the labels' addresses are taken, never their contents.
    let load = core::ptr::addr_of!(probe_read32_load) as u64;
    let absent = core::ptr::addr_of!(probe_read32_absent) as u64;
    (elr == load && exception_class == DATA_ABORT_SAME_EL).then_some(absent)
}
