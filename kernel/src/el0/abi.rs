//! The EL0 program ABI: where things are in the user window and what the
//! registers mean. The program side's copy is `apps/kingly-app/src/abi.rs`;
//! docs/architecture.md ("EL0 programs") describes the whole contract.
//!
//! ```text
//! USER_BASE + 0        .. + 64 KiB   never mapped: null pointers fault, and
//!                                    EXIT_ADDRESS (= USER_BASE) is the exit
//! USER_BASE + 64 KiB   .. IMAGE_END  the ELF's PT_LOAD segments (apps/user.ld)
//! IMAGE_END            .. + 4 KiB    guard page, never mapped
//! STACK_BASE           .. USER_END   the stack (256 KiB, read-write); the
//!                                    call's args (JSON) sit at its top
//! ```

use crate::mmu::{PAGE_BYTES, USER_BASE, USER_PAGES};

pub const USER_END: u64 = USER_BASE + USER_PAGES as u64 * PAGE_BYTES;
/// Lowest address a segment may use.
pub const IMAGE_START: u64 = USER_BASE + 0x1_0000;
pub const STACK_BYTES: u64 = 256 * 1024;
pub const STACK_BASE: u64 = USER_END - STACK_BYTES;
/// End of the segments' room: one unmapped guard page below the stack.
pub const IMAGE_END: u64 = STACK_BASE - PAGE_BYTES;
/// A program that jumps (or returns, x30 points here at entry) to this
/// address has exited: x0 = exit code, x1/x2 = its output text.
pub const EXIT_ADDRESS: u64 = USER_BASE;
/// Most output bytes taken at exit (more is cut, with a note).
pub const OUTPUT_MAX: u64 = 16 * 1024;
/// Longest `args` JSON text handed to a program.
pub const ARGS_MAX: usize = 16 * 1024;
/// `svc #0` error: the response does not fit; x1 = the bytes it needs.
pub const ERR_BUFFER_TOO_SMALL: i64 = -1;
