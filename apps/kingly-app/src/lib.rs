//! The library every Kingly OS EL0 program links: its entry point, heap,
//! output, exit and the one system call there is.
//!
//! A program is a static aarch64 ELF linked at the user window
//! (`apps/user.ld`). The kernel (`app_run`) maps it at EL0 and jumps to
//! [`_start`] with the call's `args` as JSON text; `_start` sets up the heap,
//! runs the program's `main` (named by [`entry!`]) and leaves through
//! [`exit`].
//!
//! # The system call
//!
//! `svc #0` with x0/x1 = a postcard-encoded MCP `tools/call` request
//! (`mcp::binary`, the same bytes a binary MCP client sends) and x2/x3 = the
//! response buffer. x0 comes back as the response's length, or
//! [`abi::ERR_BUFFER_TOO_SMALL`] with x1 = the length needed (nothing was
//! written; [`call_tool`] retries with a bigger buffer). A pointer outside
//! the program's memory, or a request longer than
//! `mcp::binary::MAX_MESSAGE_BYTES`, is a fault: the kernel ends the
//! program. There is no other system call.
//!
//! # Leaving
//!
//! [`exit`] jumps to [`abi::EXIT_ADDRESS`], an address the kernel keeps
//! unmapped, with x0 = the exit code and x1/x2 = the output text
//! ([`print!`] appends to it, at most [`abi::OUTPUT_MAX`] bytes). The kernel
//! recognises the fault at that address as the exit, not as a crash.
//!
//! ```ignore
//! #![no_std]
//! #![no_main]
//! use kingly_app::{call_tool, json, println};
//!
//! kingly_app::entry!(main);
//!
//! fn main(_args: &str) -> i32 {
//!     let now = call_tool("time_now", json!({})).unwrap();
//!     println!("uptime {} ms", now["uptime_ms"]);
//!     0
//! }
//! ```
#![no_std]

extern crate alloc;

pub mod abi;
mod output;
mod syscall;

use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use mcp::binary::{self, BinValue, Id, Message};

pub use output::{output_len, write_output};
pub use serde_json::{self, json, Value};
pub use syscall::svc;

/// Names the program's `main(args: &str) -> i32`; its return value is the
/// exit code `app_run` reports.
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[no_mangle]
        fn __kingly_app_main(args: &str) -> i32 {
            let main: fn(&str) -> i32 = $main;
            main(args)
        }
    };
}

/// Appends to the program's output (returned by `app_run` as `output`).
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::write_output(format_args!($($arg)*)) };
}

/// [`print!`] with a newline.
#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => {{ $crate::print!($($arg)*); $crate::print!("\n"); }};
}

/// Why a [`call_tool`] failed.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// The tool ran and reported a failure (`isError: true`): its text.
    Tool(String),
    /// The server refused the request with a JSON-RPC error.
    Rpc { code: i64, message: String },
    /// The system call returned this negative error.
    Syscall(isize),
    /// The kernel's answer was not a postcard message of the expected shape.
    Malformed(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Tool(text) => write!(f, "tool error: {text}"),
            Error::Rpc { code, message } => write!(f, "JSON-RPC error {code}: {message}"),
            Error::Syscall(code) => write!(f, "system call error {code}"),
            Error::Malformed(why) => write!(f, "malformed answer: {why}"),
        }
    }
}

/// The postcard bytes of a `tools/call` request for `name` with `arguments`
/// (an object), as [`call_raw`] takes them.
pub fn encode_call(id: u64, name: &str, arguments: &Value) -> Vec<u8> {
    binary::encode(&Message::Request {
        id: Id::U64(id),
        method: "tools/call".to_string(),
        params: Some(BinValue::Object(vec![
            ("name".to_string(), BinValue::Str(name.to_string())),
            ("arguments".to_string(), BinValue::from(arguments)),
        ])),
    })
}

/// One system call with an encoded request; returns the encoded answer
/// (growing the buffer once if the kernel says it is too small).
pub fn call_raw(request: &[u8]) -> Result<Vec<u8>, Error> {
    let mut response = vec![0u8; 4096];
    loop {
        let (ret, needed) = svc(request, &mut response);
        if ret >= 0 {
            response.truncate(ret as usize);
            return Ok(response);
        }
        if ret == abi::ERR_BUFFER_TOO_SMALL && needed > response.len() {
            response.resize(needed, 0);
            continue;
        }
        return Err(Error::Syscall(ret));
    }
}

/// Calls the OS tool `name` with `arguments` (a JSON object) through the
/// kernel's MCP dispatch. Returns the tool's `structuredContent`, or its
/// text as a JSON string for tools that answer in text.
pub fn call_tool(name: &str, arguments: Value) -> Result<Value, Error> {
    let answer = call_raw(&encode_call(1, name, &arguments))?;
    match binary::decode(&answer) {
        Ok(Message::Response { result, .. }) => call_result(Value::from(&result)),
        Ok(Message::Error { code, message, .. }) => Err(Error::Rpc { code, message }),
        Ok(other) => Err(Error::Malformed(alloc::format!(
            "expected a response, got {other:?}"
        ))),
        Err(e) => Err(Error::Malformed(e.to_string())),
    }
}

/// A `CallToolResult` as [`call_tool`] returns it.
fn call_result(mut result: Value) -> Result<Value, Error> {
    let text = result["content"][0]["text"].as_str().map(String::from);
    if result["isError"] == Value::Bool(true) {
        return Err(Error::Tool(text.unwrap_or_default()));
    }
    match result.get_mut("structuredContent") {
        Some(structured) => Ok(structured.take()),
        None => Ok(text.map_or(Value::Null, Value::String)),
    }
}

/// Ends the program with `code`, handing the kernel the output so far.
pub fn exit(code: i32) -> ! {
    let (ptr, len) = output::bytes();
    // SAFETY: jumping to EXIT_ADDRESS leaves the program for good (the
    // kernel takes the instruction abort there as the exit); x1/x2 describe
    // the output buffer, which lives in a static and is not freed.
    unsafe {
        core::arch::asm!(
            "br {exit}",
            exit = in(reg) abi::EXIT_ADDRESS,
            in("x0") i64::from(code),
            in("x1") ptr,
            in("x2") len,
            options(noreturn, nostack)
        )
    }
}

mod start {
    use linked_list_allocator::LockedHeap;

    /// The program's heap: a static area in its .bss (part of the ELF's
    /// memory size, mapped read-write, never executable).
    const HEAP_BYTES: usize = 256 * 1024;

    // Only its address is used (handed to the allocator).
    #[allow(dead_code)]
    #[repr(align(16))]
    struct HeapArea([u8; HEAP_BYTES]);

    static mut HEAP_AREA: HeapArea = HeapArea([0; HEAP_BYTES]);

    #[global_allocator]
    static ALLOCATOR: LockedHeap = LockedHeap::empty();

    extern "Rust" {
        /// Defined by [`crate::entry!`] in the program.
        fn __kingly_app_main(args: &str) -> i32;
    }

    /// Where the kernel enters the program: x0/x1 = the call's `args` as
    /// JSON text in the program's memory (`{}` when none were given).
    #[no_mangle]
    #[link_section = ".text.start"]
    extern "C" fn _start(args: *const u8, args_len: usize) -> ! {
        // SAFETY: the one initialization of the heap, before any allocation;
        // HEAP_AREA is used by nothing else.
        unsafe {
            ALLOCATOR
                .lock()
                .init(core::ptr::addr_of_mut!(HEAP_AREA).cast(), HEAP_BYTES);
        }
        // SAFETY: the kernel copied `args_len` bytes of JSON to `args` in
        // this program's stack area, which stays mapped while it runs.
        let bytes = unsafe { core::slice::from_raw_parts(args, args_len) };
        let args = core::str::from_utf8(bytes).unwrap_or("{}");
        // SAFETY: `entry!` defines the symbol with this exact signature.
        let code = unsafe { __kingly_app_main(args) };
        crate::exit(code)
    }

    #[panic_handler]
    fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
        crate::println!("panic: {info}");
        crate::exit(101)
    }
}

/// Whether `answer` decodes as a successful, non-error `tools/call` answer.
pub fn decode_ok(answer: &[u8]) -> bool {
    matches!(binary::decode(answer), Ok(Message::Response { result: BinValue::Object(members), .. })
        if members.iter().any(|(k, v)| k == "isError" && *v == BinValue::Bool(false)))
}
