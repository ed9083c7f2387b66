//! EL0 programs: an ELF from the card, mapped in the user window and run at
//! EL0 on a free secondary core, whose only way out is `svc #0` into the
//! kernel's MCP dispatch (see `trap`, `abi` and docs/architecture.md).
//!
//! One program runs at a time (there is one user window). Core 0's
//! `app_run` handler waits for it in `wfe`, polling its request context
//! (cancellation, which also feeds the watchdog) and the program's time
//! limit; either ends the program through the doorbell interrupt.

pub mod abi;
pub mod elf;
mod pmu;
pub mod space;
pub mod trap;

use crate::{cpu, mmu, smp};
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, Ordering};
use mcp::{Context, LogLevel, Toolbox};
use rpi4::generic_timer::{self, Deadline};
use serde_json::Value;
use space::AddressSpace;
use trap::{Ending, Run, StopReason};

core::arch::global_asm!(include_str!("switch.s"));

/// How long a stopped program may take to notice (it may be inside a tool
/// call, which runs with interrupts masked) before `run` gives up on it.
const STOP_GRACE_MS: u64 = 2000;
/// How often core 0 looks at its request context while waiting.
const POLL_MS: u64 = 5;

/// Set while a program owns the user window.
static WINDOW_IN_USE: AtomicBool = AtomicBool::new(false);

/// What `run` reports about a program that ended.
#[derive(Debug)]
pub struct Outcome {
    pub ending: Ending,
    pub core: usize,
    pub tool_calls: u64,
    /// Instructions at EL0 only, and at EL0 + EL1 on the program's core.
    pub instructions: (Option<u64>, Option<u64>),
    /// Whether the PMU counted instructions (else see `ticks`).
    pub counted_instructions: bool,
    pub ticks: u64,
}

/// The context of a tool a program calls: never sends anything, is
/// cancelled when core 0 asks the program to stop, and offers no toolbox
/// (so `app_run` cannot be called from a program).
pub struct AppContext {
    core: usize,
}

impl AppContext {
    fn here() -> Self {
        AppContext {
            core: cpu::core_id(),
        }
    }
}

impl Context for AppContext {
    fn progress(&mut self, _: f64, _: Option<f64>, _: Option<&str>) {}
    fn cancelled(&mut self) -> bool {
        trap::stop_requested(self.core).is_some()
    }
    fn log(&mut self, _: LogLevel, _: &str, _: Value) {}
}

/// Whether the calling code runs inside a program's system call.
pub fn in_program() -> bool {
    cpu::core_id() != 0
}

/// Runs `space`'s program on a free secondary core and waits for it (at
/// most `timeout_ms`, and only while `ctx` is not cancelled).
pub fn run(
    space: AddressSpace,
    toolbox: Arc<Toolbox>,
    timeout_ms: u64,
    ctx: &mut dyn Context,
) -> Result<Outcome, String> {
    if WINDOW_IN_USE.swap(true, Ordering::AcqRel) {
        return Err("another program is running (one at a time)".into());
    }
    space.map();
    let run = Box::into_raw(Box::new(Run::new(space, toolbox)));
    let Some(core) = post(run) else {
        mmu::unmap_user();
        // SAFETY: no core took the job: the Box is still only ours.
        drop(unsafe { Box::from_raw(run) });
        WINDOW_IN_USE.store(false, Ordering::Release);
        return Err("no free core: cores 1-3 are all busy (the language model's workers?)".into());
    };
    let deadline = Deadline::after_ms(timeout_ms);
    let mut stop_sent: Option<Deadline> = None;
    loop {
        if smp::wait(core, POLL_MS).is_some() {
            break;
        }
        // Also the watchdog's heartbeat: keep calling it while waiting.
        let cancelled = ctx.cancelled();
        match stop_sent {
            None => {
                let reason = if cancelled {
                    Some(StopReason::Cancelled)
                } else if deadline.expired() {
                    Some(StopReason::Timeout)
                } else {
                    None
                };
                if let Some(reason) = reason {
                    trap::request_stop(core, reason);
                    stop_sent = Some(Deadline::after_ms(STOP_GRACE_MS));
                }
            }
            // The program still runs (stuck in a tool call): its memory and
            // the window stay as they are; the core stays busy.
            Some(grace) if grace.expired() => {
                return Err(format!(
                    "the program on core {core} did not stop within {STOP_GRACE_MS} ms of being told to; \
                     it keeps the user window and the core"
                ));
            }
            Some(_) => {}
        }
    }
    mmu::unmap_user();
    // SAFETY: the job has finished (smp::wait saw DONE): the Box is ours again.
    let run = unsafe { Box::from_raw(run) };
    WINDOW_IN_USE.store(false, Ordering::Release);
    let ending = run.ending.unwrap_or_else(|| {
        Ending::Fault(String::from(
            "the program ended without a reason (kernel bug)",
        ))
    });
    Ok(Outcome {
        ending,
        core,
        tool_calls: run.tool_calls,
        instructions: run.instructions,
        counted_instructions: pmu::counts_instructions(),
        ticks: run.ticks,
    })
}

/// Posts the program to the first free core, highest first (the language
/// model's workers start from core 1).
fn post(run: *mut Run) -> Option<usize> {
    (1..smp::CORES).rev().find(|&core| {
        trap::clear_stop(core);
        smp::post(
            core,
            smp::Job {
                run: trap::enter,
                arg: run as usize,
            },
        )
        .is_ok()
    })
}

/// Generic-timer ticks in nanoseconds (for runs without instruction counts).
pub fn ticks_to_ns(ticks: u64) -> u64 {
    (u128::from(ticks) * 1_000_000_000 / u128::from(generic_timer::frequency_hz().max(1))) as u64
}
