//! The numbers the kernel and programs agree on (the kernel's copy is in
//! `kernel/src/el0/abi.rs`; docs/architecture.md describes the ABI).

/// Start of the user window, where `apps/user.ld` links programs (+64 KiB).
pub const USER_BASE: u64 = 0x10_0000_0000;
/// Jumping here ends the program: x0 = exit code, x1/x2 = output.
pub const EXIT_ADDRESS: u64 = USER_BASE;
/// `svc #0` result: the response buffer is too small; x1 = bytes needed.
pub const ERR_BUFFER_TOO_SMALL: isize = -1;
/// Most output bytes the kernel takes at exit.
pub const OUTPUT_MAX: usize = 16 * 1024;
