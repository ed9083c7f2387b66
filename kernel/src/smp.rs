//! Cores 1–3: released through the spin table, then parked in `wfi` on a
//! per-core work slot until core 0 posts a job and rings the core's doorbell
//! (a GIC software-generated interrupt, see `irq`).
//!
//! A slot goes EMPTY → POSTED (core 0 stores the job, rings) → DONE (the
//! owner ran it, stored the result, `sev`) → EMPTY (core 0 took the result).

use crate::{cpu, irq};
use aarch64_cpu::registers::MPIDR_EL1;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use rpi4::board::SPIN_TABLE;
use rpi4::generic_timer::Deadline;
use spin::Mutex;
use tock_registers::interfaces::Readable;

pub const CORES: usize = 4;

const EMPTY: u32 = 0;
const POSTED: u32 = 1;
const DONE: u32 = 2;

/// A unit of work for a parked core.
#[derive(Clone, Copy)]
pub struct Job {
    pub run: fn(usize) -> usize,
    pub arg: usize,
}

struct Slot {
    state: AtomicU32,
    job: Mutex<Option<Job>>,
    result: AtomicUsize,
}

impl Slot {
    const fn new() -> Self {
        Self {
            state: AtomicU32::new(EMPTY),
            job: Mutex::new(None),
            result: AtomicUsize::new(0),
        }
    }
}

static SLOTS: [Slot; CORES] = [Slot::new(), Slot::new(), Slot::new(), Slot::new()];
/// Bit n set once core n runs Rust with its MMU on.
static ONLINE: AtomicU32 = AtomicU32::new(1);

extern "C" {
    /// Secondary entry point in `arch/boot.s`.
    fn _start_secondary();
}

/// Writes `_start_secondary` into each secondary's spin-table slot and wakes
/// them; waits (bounded) until each reports in.
pub fn start_secondaries() {
    let entry = _start_secondary as *const () as u64;
    for &slot in &SPIN_TABLE[1..] {
        // SAFETY: the spin-table words at 0xe0/0xe8/0xf0 belong to the
        // firmware's parking stub, which polls them for an entry address;
        // writing one is the documented way to release a core. The line is
        // cleaned to memory because the waiting core reads with its MMU and
        // caches off.
        unsafe {
            core::ptr::write_volatile(slot as *mut u64, entry);
            core::arch::asm!("dc civac, {}", in(reg) slot, options(nostack, preserves_flags));
        }
    }
    cpu::send_event();
    let deadline = Deadline::after_ms(1000);
    while ONLINE.load(Ordering::Acquire) != (1 << CORES) - 1 && !deadline.expired() {
        cpu::wait_for_event();
    }
}

/// Bitmask of cores that came up.
pub fn online_mask() -> u32 {
    ONLINE.load(Ordering::Acquire)
}

/// A secondary core's life after boot: report in, then run posted jobs.
pub fn park(core: usize) -> ! {
    irq::init_secondary();
    // ggml's threads wait for each other in `wfe` on these cores too.
    cpu::enable_event_stream();
    ONLINE.fetch_or(1 << core, Ordering::AcqRel);
    cpu::send_event();
    let slot = &SLOTS[core];
    loop {
        // A doorbell rung between the check and `wfi` stays pending, so
        // `wfi` returns at once: no lost wake-up.
        while slot.state.load(Ordering::Acquire) != POSTED {
            cpu::wait_for_interrupt();
            irq::acknowledge_all();
        }
        let job = slot.job.lock().take();
        if let Some(job) = job {
            slot.result.store((job.run)(job.arg), Ordering::Relaxed);
        }
        slot.state.store(DONE, Ordering::Release);
        cpu::send_event();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotError {
    /// Not a secondary core, or it never came online.
    Offline,
    /// The core is still running an earlier job.
    Busy,
}

/// Hands `job` to a parked core.
pub fn post(core: usize, job: Job) -> Result<(), SlotError> {
    if core == 0 || core >= CORES || online_mask() & (1 << core) == 0 {
        return Err(SlotError::Offline);
    }
    let slot = &SLOTS[core];
    if slot.state.load(Ordering::Acquire) != EMPTY {
        return Err(SlotError::Busy);
    }
    *slot.job.lock() = Some(job);
    slot.state.store(POSTED, Ordering::Release);
    irq::wake(core);
    Ok(())
}

/// Waits up to `timeout_ms` for `core`'s job to finish and returns its result.
pub fn wait(core: usize, timeout_ms: u64) -> Option<usize> {
    let slot = SLOTS.get(core)?;
    let deadline = Deadline::after_ms(timeout_ms);
    while slot.state.load(Ordering::Acquire) != DONE {
        if deadline.expired() {
            return None;
        }
        // Woken by the worker's `sev` or, at worst, core 0's event stream.
        cpu::wait_for_event();
    }
    let result = slot.result.load(Ordering::Relaxed);
    slot.state.store(EMPTY, Ordering::Release);
    Some(result)
}

fn report_core_number(_: usize) -> usize {
    (MPIDR_EL1.get() & 0xff) as usize
}

/// Counts the cores that are online *and* answer a job through their work
/// slot right now (core 0, the caller, counts itself).
pub fn cores_responding() -> usize {
    let mut count = 1;
    for core in 1..CORES {
        if post(
            core,
            Job {
                run: report_core_number,
                arg: 0,
            },
        )
        .is_ok()
            && wait(core, 100) == Some(core)
        {
            count += 1;
        }
    }
    count
}
