//! Small CPU-level operations: which core and EL we run on, interrupt
//! masking, sleeping, and the deliberate faults of `selftest=`.

use aarch64_cpu::asm;
use aarch64_cpu::registers::{CurrentEL, CNTKCTL_EL1, DAIF, MPIDR_EL1};
use tock_registers::interfaces::{ReadWriteable, Readable, Writeable};

/// This core's number (MPIDR_EL1.Aff0; the BCM2711 has one cluster).
pub fn core_id() -> usize {
    (MPIDR_EL1.get() & 0xff) as usize
}

pub fn exception_level() -> u64 {
    CurrentEL.read(CurrentEL::EL)
}

/// Masks IRQs on this core and returns whether they were unmasked before.
pub fn mask_irqs() -> bool {
    let was_unmasked = !DAIF.is_set(DAIF::I);
    DAIF.modify(DAIF::I::Masked);
    was_unmasked
}

pub fn unmask_irqs() {
    DAIF.modify(DAIF::I::Unmasked);
}

/// Sleeps until an interrupt is pending (even a masked one).
pub fn wait_for_interrupt() {
    asm::wfi();
}

/// Sleeps until an event (`sev` from another core, or the event stream).
pub fn wait_for_event() {
    asm::wfe();
}

pub fn send_event() {
    asm::barrier::dsb(asm::barrier::ISH);
    asm::sev();
}

/// Makes the generic timer emit an event about every millisecond (counter
/// bit 15 rises once every 2^16 ticks: 1.05 ms at 62.5 MHz, 1.2 ms at
/// 54 MHz), so no `wfe` on this core sleeps longer than that: core 0's
/// waits re-check their deadlines even if the core they wait for never
/// signals, and ggml's barrier waits (`llm_shim::kingly_ggml_poll`) cannot
/// miss a wake-up for good. Every core enables it; parked cores sleep in
/// `wfi`, which events do not end, so they still sleep until given work.
pub fn enable_event_stream() {
    CNTKCTL_EL1.modify(
        CNTKCTL_EL1::EVNTEN::SET + CNTKCTL_EL1::EVNTI.val(15) + CNTKCTL_EL1::EVNTDIR::CLEAR,
    );
}

/// Stops this core for good with every exception masked.
pub fn halt() -> ! {
    DAIF.write(DAIF::D::Masked + DAIF::A::Masked + DAIF::I::Masked + DAIF::F::Masked);
    loop {
        asm::wfe();
    }
}

/// Faults the kernel can be asked to take at boot (`selftest=` on the
/// command line) to prove that the exception path reports over MCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selftest {
    /// A load from an address the page tables leave unmapped.
    DataAbort,
    /// An undefined instruction.
    Undefined,
    /// A Rust panic.
    Panic,
}

/// The first address above the identity map (the tables cover 4 GiB).
const UNMAPPED_ADDRESS: usize = 0x1_0000_0000;

pub fn run_selftest(test: Selftest) {
    match test {
        Selftest::DataAbort => {
            // SAFETY: deliberately faulting; the synchronous exception handler
            // reports the data abort and halts, so the read never completes.
            let v = unsafe { core::ptr::read_volatile(UNMAPPED_ADDRESS as *const u64) };
            core::hint::black_box(v);
        }
        Selftest::Undefined => {
            // SAFETY: UDF raises an undefined-instruction exception, which is
            // reported and halts; nothing after it runs.
            unsafe { core::arch::asm!("udf #0x4b1d") };
        }
        Selftest::Panic => {
            panic!("selftest: deliberate panic requested on the kernel command line")
        }
    }
}
