//! The core running a program: entering it, and every exception it takes
//! (`exceptions::rust_exception` sends lower-EL vectors here).
//!
//! - `svc #0`: the request is read from the program's memory and dispatched
//!   through `Toolbox::call_binary` into the run's answer buffer, which is
//!   copied back (x0 = length, or `ERR_BUFFER_TOO_SMALL` with x1 = length
//!   needed) and the program goes on.
//! - an instruction abort at `EXIT_ADDRESS`: the program exited.
//! - an interrupt: the doorbell; if core 0 asked this program to stop
//!   (cancel, timeout), it ends here.
//! - anything else (data/instruction aborts, undefined instructions, a bad
//!   pointer or oversized request in `svc`, another `svc` number, ...): the
//!   program ends with a fault report.
//!
//! Ending = `el0_leave` back into `enter`, on this core's kernel stack.

use super::abi::{ERR_BUFFER_TOO_SMALL, EXIT_ADDRESS, OUTPUT_MAX};
use super::space::AddressSpace;
use super::{pmu, AppContext};
use crate::exceptions::{exception_class_name, Frame};
use crate::{cpu, irq, smp};
use aarch64_cpu::registers::{ESR_EL1, FAR_EL1};
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::ptr::{addr_of_mut, null_mut};
use core::sync::atomic::{AtomicPtr, AtomicU8, Ordering};
use mcp::Toolbox;
use rpi4::generic_timer;
use tock_registers::interfaces::Readable;

/// What `el0_enter` saves (switch.s: x19-x30, sp, daif, d8-d15).
#[repr(C)]
#[derive(Default)]
pub struct KernelContext([u64; 22]);

extern "C" {
    fn el0_enter(
        context: *mut KernelContext,
        entry: u64,
        sp: u64,
        arg0: u64,
        arg1: u64,
        exit: u64,
    ) -> u64;
    fn el0_leave(context: *const KernelContext, result: u64) -> !;
}

/// Why core 0 wants a program stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum StopReason {
    Cancelled = 1,
    Timeout = 2,
}

/// How a program ended.
#[derive(Debug)]
pub enum Ending {
    Exited { code: i64, output: String },
    Fault(String),
    Stopped(StopReason),
}

/// One run, shared by `enter` and the exception handler on the same core.
pub struct Run {
    context: KernelContext,
    pub space: AddressSpace,
    pub toolbox: Arc<Toolbox>,
    /// The last `svc` answer's buffer, reused: one allocation per run, not
    /// per call.
    answer: Vec<u8>,
    pub ending: Option<Ending>,
    pub tool_calls: u64,
    /// (EL0, EL0 + EL1) instructions, if the PMU counts them.
    pub instructions: (Option<u64>, Option<u64>),
    pub ticks: u64,
}

impl Run {
    pub fn new(space: AddressSpace, toolbox: Arc<Toolbox>) -> Self {
        Run {
            context: KernelContext::default(),
            space,
            toolbox,
            answer: Vec::new(),
            ending: None,
            tool_calls: 0,
            instructions: (None, None),
            ticks: 0,
        }
    }
}

/// The run on each core, while its program runs there.
static CURRENT: [AtomicPtr<Run>; smp::CORES] = [const { AtomicPtr::new(null_mut()) }; smp::CORES];
/// A stop request for each core's program (0 = none, else a StopReason).
static STOP: [AtomicU8; smp::CORES] = [const { AtomicU8::new(0) }; smp::CORES];

pub fn clear_stop(core: usize) {
    STOP[core].store(0, Ordering::Release);
}

/// Asks `core`'s program to stop and rings the core's doorbell.
pub fn request_stop(core: usize, reason: StopReason) {
    STOP[core].store(reason as u8, Ordering::Release);
    irq::wake(core);
}

pub fn stop_requested(core: usize) -> Option<StopReason> {
    match STOP[core].load(Ordering::Acquire) {
        1 => Some(StopReason::Cancelled),
        2 => Some(StopReason::Timeout),
        _ => None,
    }
}

/// The `smp::Job` that runs a program: `arg` is a `*mut Run` that core 0
/// keeps alive (and does not touch) until this returns.
pub fn enter(arg: usize) -> usize {
    let run = arg as *mut Run;
    let core = cpu::core_id();
    // SAFETY: core 0 handed this Run over for the job's duration; the
    // exception handler reaches it only through CURRENT, on this core,
    // while `el0_enter` below runs.
    let (entry, sp, args) = unsafe {
        (
            (*run).space.entry,
            (*run).space.stack_pointer,
            (*run).space.args,
        )
    };
    CURRENT[core].store(run, Ordering::Release);
    let start = generic_timer::ticks();
    pmu::start();
    // SAFETY: the context lives in the Run for the whole call; el0_leave
    // restores exactly what el0_enter saved, so this behaves as a call
    // that returns.
    unsafe {
        el0_enter(
            addr_of_mut!((*run).context),
            entry,
            sp,
            args.0,
            args.1,
            EXIT_ADDRESS,
        )
    };
    let instructions = pmu::stop();
    CURRENT[core].store(null_mut(), Ordering::Release);
    // SAFETY: the program has ended; this core is the Run's only user.
    unsafe {
        (*run).instructions = instructions;
        (*run).ticks = generic_timer::ticks() - start;
    }
    0
}

/// Called for vectors 8-15 (from a lower EL). Returns false when no program
/// runs on this core (the caller reports and halts as for any fault).
pub fn from_el0(frame: &mut Frame, index: u64) -> bool {
    let core = cpu::core_id();
    let run = CURRENT[core].load(Ordering::Acquire);
    if run.is_null() {
        return false;
    }
    // SAFETY: `enter` on this core set CURRENT to a Run it keeps alive while
    // the program runs, and the program is stopped in this exception.
    let run = unsafe { &mut *run };
    let ending = match index {
        8 => synchronous(run, frame, core),
        9 => {
            irq::handle();
            stop_requested(core).map(Ending::Stopped)
        }
        _ => Some(unexpected(frame)),
    };
    if let Some(ending) = ending {
        run.ending = Some(ending);
        // SAFETY: the context was saved by el0_enter on this core for this
        // run; nothing on the abandoned exception frame needs dropping
        // (every value above was moved or is plain data).
        unsafe { el0_leave(&run.context, 0) };
    }
    true
}

fn synchronous(run: &mut Run, frame: &mut Frame, core: usize) -> Option<Ending> {
    let esr = ESR_EL1.get();
    if esr >> 26 == 0x15 && esr & 0xffff == 0 {
        return match system_call(run, frame) {
            Ok(()) => stop_requested(core).map(Ending::Stopped),
            Err(why) => Some(bad_system_call(why, frame)),
        };
    }
    Some(not_a_system_call(run, frame, esr))
}

/// Why an `svc #0` ends the program.
enum BadCall {
    Oversized(u64),
    Request(u64, u64),
    Response(u64, u64),
}

/// `svc #0`: x0/x1 request, x2/x3 response buffer.
fn system_call(run: &mut Run, frame: &mut Frame) -> Result<(), BadCall> {
    let [request, request_len, response, response_cap] =
        [frame.x[0], frame.x[1], frame.x[2], frame.x[3]];
    if request_len > mcp::binary::MAX_MESSAGE_BYTES as u64 {
        return Err(BadCall::Oversized(request_len));
    }
    if !run.space.allows(response, response_cap, true) {
        return Err(BadCall::Response(response, response_cap));
    }
    let Some(request) = run.space.user_bytes(request, request_len, false) else {
        return Err(BadCall::Request(request, request_len));
    };
    let answer = &mut run.answer;
    run.toolbox
        .call_binary(request, &mut AppContext::here(), answer);
    run.tool_calls += 1;
    if answer.len() as u64 > response_cap {
        frame.x[0] = ERR_BUFFER_TOO_SMALL as u64;
        frame.x[1] = answer.len() as u64;
        return Ok(());
    }
    // SAFETY: `allows` accepted response_cap ≥ answer.len() writable bytes
    // there.
    unsafe { run.space.bytes_at(response, answer.len() as u64) }.copy_from_slice(answer);
    frame.x[0] = answer.len() as u64;
    frame.x[1] = 0;
    Ok(())
}

/// Everything but `svc #0`: the exit, or a fault. Kept out of the system
/// call's path (it formats reports).
#[cold]
#[inline(never)]
fn not_a_system_call(run: &mut Run, frame: &Frame, esr: u64) -> Ending {
    match esr >> 26 {
        0x15 => Ending::Fault(format!(
            "svc #{} does not exist (only svc #0) {}",
            esr & 0xffff,
            fault_report(frame, "svc")
        )),
        0x20 if frame.elr == EXIT_ADDRESS => exit(run, frame),
        ec => Ending::Fault(fault_report(frame, exception_class_name(ec))),
    }
}

#[cold]
#[inline(never)]
fn bad_system_call(why: BadCall, frame: &Frame) -> Ending {
    let why = match why {
        BadCall::Oversized(len) => format!(
            "oversized request: {len} bytes, the limit is {}",
            mcp::binary::MAX_MESSAGE_BYTES
        ),
        BadCall::Request(at, len) => format!(
            "bad pointer: the request {at:#x}+{len:#x} is not the program's readable memory"
        ),
        BadCall::Response(at, len) => format!(
            "bad pointer: the response buffer {at:#x}+{len:#x} is not the program's writable memory"
        ),
    };
    Ending::Fault(format!("{why} {}", fault_report(frame, "svc")))
}

#[cold]
#[inline(never)]
fn unexpected(frame: &Frame) -> Ending {
    Ending::Fault(fault_report(frame, "FIQ/SError/AArch32 exception"))
}

/// The program jumped to EXIT_ADDRESS: x0 = code, x1/x2 = output.
fn exit(run: &mut Run, frame: &Frame) -> Ending {
    let code = frame.x[0] as i64;
    let (address, len) = (frame.x[1], frame.x[2]);
    let taken = len.min(OUTPUT_MAX);
    let output = match run.space.user_bytes(address, taken, false) {
        Some(bytes) => {
            let mut text = String::from_utf8_lossy(bytes).into_owned();
            if taken < len {
                text.push_str(&format!("\n[output cut at {OUTPUT_MAX} of {len} bytes]"));
            }
            text
        }
        None if len == 0 => String::new(),
        None => format!("[the output pointer {address:#x}+{len:#x} is not the program's memory]"),
    };
    Ending::Exited { code, output }
}

fn fault_report(frame: &Frame, what: &str) -> String {
    let esr = ESR_EL1.get();
    format!(
        "({what}; esr {esr:#010x}, exception class {:#04x}, pc {:#x}, fault address {:#x}, core {})",
        esr >> 26,
        frame.elr,
        FAR_EL1.get(),
        cpu::core_id()
    )
}
