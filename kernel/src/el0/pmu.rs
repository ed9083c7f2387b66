//! Counting a program's instructions with the core's PMU: event counter 0
//! counts INST_RETIRED at EL0 only, counter 1 at EL0 and EL1 (the program
//! plus the kernel's work for its system calls and interrupts). QEMU
//! implements INST_RETIRED only with `-icount` (precise); PMCEID0_EL0 says
//! whether it is there, and without it `app_run` reports generic-timer time
//! instead, saying so.

/// ARM PMUv3 common event 0x08.
const INST_RETIRED: u64 = 0x08;
/// PMEVTYPER<n>_EL0.P: do not count at EL1.
const EXCLUDE_EL1: u64 = 1 << 31;
/// PMCR_EL0: E (enable) and P (reset the event counters).
const PMCR_ENABLE_AND_RESET: u64 = 0b11;
const COUNTERS: u64 = 0b11;

/// Whether this core's PMU counts retired instructions.
pub fn counts_instructions() -> bool {
    let ceid: u64;
    // SAFETY: reading an identification register has no side effect.
    unsafe { core::arch::asm!("mrs {}, pmceid0_el0", out(reg) ceid, options(nomem, nostack)) };
    ceid & (1 << INST_RETIRED) != 0
}

/// Zeroes and starts counters 0 (EL0) and 1 (EL0 + EL1) on this core.
pub fn start() {
    // SAFETY: programming this core's PMU changes only what it counts; no
    // other code on this core uses the event counters.
    unsafe {
        core::arch::asm!(
            "msr pmcntenclr_el0, {counters}",
            "msr pmovsclr_el0, {counters}",
            "msr pmevtyper0_el0, {user}",
            "msr pmevtyper1_el0, {all}",
            "msr pmcr_el0, {pmcr}",
            "isb",
            "msr pmcntenset_el0, {counters}",
            "isb",
            counters = in(reg) COUNTERS,
            user = in(reg) INST_RETIRED | EXCLUDE_EL1,
            all = in(reg) INST_RETIRED,
            pmcr = in(reg) PMCR_ENABLE_AND_RESET,
            options(nomem, nostack)
        );
    }
}

/// Stops the counters; returns (EL0, EL0 + EL1) instructions, `None` for a
/// counter that overflowed its 32 bits.
pub fn stop() -> (Option<u64>, Option<u64>) {
    let (user, all, overflow): (u64, u64, u64);
    // SAFETY: as in `start`.
    unsafe {
        core::arch::asm!(
            "msr pmcntenclr_el0, {counters}",
            "isb",
            "mrs {user}, pmevcntr0_el0",
            "mrs {all}, pmevcntr1_el0",
            "mrs {overflow}, pmovsclr_el0",
            counters = in(reg) COUNTERS,
            user = out(reg) user,
            all = out(reg) all,
            overflow = out(reg) overflow,
            options(nomem, nostack)
        );
    }
    let unless = |bit: u64, v: u64| (overflow & bit == 0).then_some(v);
    (unless(1, user), unless(2, all))
}
