//! A test program (/APPS/FAULTS.ELF) that misbehaves on request, so the
//! tests can check that the kernel ends it with a report and keeps serving.
//!
//! args: {"kind": one of
//! - "undefined": an undefined instruction,
//! - "unmapped": a load from the user window's unmapped first page,
//! - "kernel": a load from kernel memory (EL1-only),
//! - "write_text": a store into the program's own code,
//! - "exec_stack": a jump to its stack (never executable),
//! - "bad_svc": `svc` with the request pointer in kernel memory,
//! - "oversized_svc": `svc` with a request longer than the kernel takes,
//! - "svc_number": `svc #1`, a system call that does not exist,
//! - "small_buffer": `svc` with a 4-byte response buffer (an error, not a
//!   fault: prints what came back and exits 0),
//! - "loop": spins forever (app_run's timeout or a cancel ends it),
//! - "call": calls args.tool with args.arguments and prints the outcome
//!   (e.g. app_run, which a program may not call),
//! - "exit": prints and exits with code 7 (the control case).
//!
//! }
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec;
use kingly_app::{abi, call_tool, encode_call, json, println, serde_json, svc, Value};

kingly_app::entry!(main);

/// An address in the kernel's image (loaded at 0x80000), EL1-only.
const KERNEL_ADDRESS: u64 = 0x80000;

fn main(args: &str) -> i32 {
    let args: Value = serde_json::from_str(args).unwrap_or(Value::Null);
    let kind = args["kind"].as_str().unwrap_or("exit");
    println!("faults: {kind}");
    // Each unsafe block below deliberately breaks a rule so that the kernel
    // ends this program; none returns to code that relies on its result.
    match kind {
        // SAFETY: see above: faults at once.
        "undefined" => unsafe { core::arch::asm!("udf #0x1") },
        "unmapped" => {
            // SAFETY: see above: the window's first page is never mapped.
            let v = unsafe { core::ptr::read_volatile((abi::USER_BASE + 0x100) as *const u64) };
            println!("read {v}");
        }
        "kernel" => {
            // SAFETY: see above: kernel memory is EL1-only.
            let v = unsafe { core::ptr::read_volatile(KERNEL_ADDRESS as *const u64) };
            println!("read {v}");
        }
        "write_text" => {
            let code = main as fn(&str) -> i32 as *const () as *mut u32;
            // SAFETY: see above: code pages are read-only.
            unsafe { core::ptr::write_volatile(code, 0xd503_201f) };
        }
        "exec_stack" => {
            let nop_ret: [u32; 2] = [0xd503_201f, 0xd65f_03c0];
            // SAFETY: see above: the stack is never executable.
            let f: extern "C" fn() = unsafe { core::mem::transmute(nop_ret.as_ptr()) };
            f();
        }
        "bad_svc" => {
            let mut response = [0u8; 64];
            // SAFETY: see above: the slice is never read here, only its
            // (kernel) address handed to the kernel, which refuses it.
            let request = unsafe { core::slice::from_raw_parts(KERNEL_ADDRESS as *const u8, 64) };
            let (ret, _) = svc(request, &mut response);
            println!("svc returned {ret}");
        }
        "oversized_svc" => {
            let request = vec![0u8; 64 * 1024 + 1];
            let mut response = [0u8; 64];
            let (ret, _) = svc(&request, &mut response);
            println!("svc returned {ret}");
        }
        // SAFETY: see above: a system call that does not exist.
        "svc_number" => unsafe { core::arch::asm!("svc #1", clobber_abi("C")) },
        "small_buffer" => {
            let request = encode_call(1, "time_now", &json!({}));
            let mut response = [0u8; 4];
            let (ret, needed) = svc(&request, &mut response);
            println!("small_buffer: ret {ret} needed {needed}");
            return 0;
        }
        "call" => {
            let tool = args["tool"].as_str().unwrap_or("ping");
            match call_tool(tool, args["arguments"].clone()) {
                Ok(value) => println!("call: ok {value}"),
                Err(e) => println!("call: {e}"),
            }
            return 0;
        }
        "loop" => loop {
            core::hint::spin_loop();
        },
        _ => {
            println!("exit 7");
            return 7;
        }
    }
    println!("still running after {kind}");
    3
}
