//! Exception handling. `arch/vectors.s` saves the interrupted context and
//! calls [`rust_exception`] with the vector index. Exceptions from a lower
//! EL (an EL0 program's system calls, faults and the doorbell that stops
//! it) go to [`el0::trap`], which ends a faulting program with a report and
//! keeps the kernel running. Interrupts are served and return; a data abort
//! on the device probe's one load instruction resumes at the probe's
//! "absent" exit ([`probe::fixup`]); everything else is reported as an MCP
//! `notifications/message` at level `emergency` with ESR, ELR, FAR and the
//! core, and the core halts. Never silence.

use crate::{cpu, el0, irq, probe, report};
use aarch64_cpu::registers::{ESR_EL1, FAR_EL1};
use tock_registers::interfaces::Readable;

/// The register frame `vectors.s` pushes (FRAME_SIZE = 272 bytes).
#[repr(C)]
pub struct Frame {
    pub x: [u64; 31],
    pub elr: u64,
    pub spsr: u64,
    _pad: u64,
}

const _: () = assert!(core::mem::size_of::<Frame>() == 272);

/// What kind of exception a vector slot receives (index % 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Synchronous,
    Irq,
    Fiq,
    SError,
}

fn kind(index: u64) -> Kind {
    match index % 4 {
        0 => Kind::Synchronous,
        1 => Kind::Irq,
        2 => Kind::Fiq,
        _ => Kind::SError,
    }
}

/// Where the exception came from (index / 4).
fn origin(index: u64) -> &'static str {
    match index / 4 {
        0 => "current EL, SP_EL0",
        1 => "current EL, SP_ELx",
        2 => "lower EL, AArch64",
        _ => "lower EL, AArch32",
    }
}

/// Plain-language names of ESR_ELx.EC values (Arm ARM D17.2.37).
pub fn exception_class_name(ec: u64) -> &'static str {
    match ec {
        0x00 => "unknown reason (an undefined instruction, for example)",
        0x01 => "WFI/WFE trapped",
        0x07 => "SVE/SIMD/FP access trapped",
        0x0e => "illegal execution state",
        0x15 => "SVC from AArch64",
        0x18 => "MSR/MRS/system instruction trapped",
        0x20 => "instruction abort from a lower EL",
        0x21 => "instruction abort from the same EL",
        0x22 => "PC alignment fault",
        0x24 => "data abort from a lower EL",
        0x25 => "data abort from the same EL",
        0x26 => "SP alignment fault",
        0x2c => "floating-point exception",
        0x2f => "SError interrupt",
        0x30 | 0x31 => "breakpoint",
        0x32 | 0x33 => "software step",
        0x34 | 0x35 => "watchpoint",
        0x3c => "BRK instruction",
        _ => "other",
    }
}

/// Called by `vectors.s` with the saved frame and the vector index (0–15).
#[no_mangle]
extern "C" fn rust_exception(frame: &mut Frame, index: u64) {
    // Vectors 8-15: from EL0. With no program on this core that cannot
    // happen, and is reported like any unexpected exception.
    if index >= 8 && el0::trap::from_el0(frame, index) {
        return;
    }
    match kind(index) {
        Kind::Irq => irq::handle(),
        Kind::Synchronous => match probe::fixup(frame.elr, ESR_EL1.get() >> 26) {
            Some(resume) => frame.elr = resume,
            None => report_and_halt(frame, index, Kind::Synchronous),
        },
        k => report_and_halt(frame, index, k),
    }
}

fn report_and_halt(frame: &Frame, index: u64, kind: Kind) -> ! {
    let esr = ESR_EL1.get();
    let far = FAR_EL1.get();
    let ec = esr >> 26;
    let event = match kind {
        Kind::Synchronous => "synchronous exception",
        Kind::SError => "SError",
        Kind::Fiq => "FIQ",
        Kind::Irq => "IRQ",
    };
    report::emergency(|w| {
        write!(
            w,
            r#""event":"{event}","from":"{}","core":{},"exception_level":{},"esr":"{esr:#010x}","exception_class":"{ec:#04x}","description":"{}","elr":"{:#018x}","far":"{far:#018x}","spsr":"{:#010x}","halted":true"#,
            origin(index),
            cpu::core_id(),
            cpu::exception_level(),
            exception_class_name(ec),
            frame.elr,
            frame.spsr,
        )
    });
    cpu::halt()
}
