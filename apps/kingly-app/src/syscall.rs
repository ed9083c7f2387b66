//! `svc #0`, the one system call.

/// Hands `request` (a postcard `tools/call` message) to the kernel and lets
/// it write the answer into `response`. Returns (x0, x1): the answer's
/// length, or a negative error with x1 = the length needed for
/// [`crate::abi::ERR_BUFFER_TOO_SMALL`].
pub fn svc(request: &[u8], response: &mut [u8]) -> (isize, usize) {
    let ret: isize;
    let needed: usize;
    // SAFETY: the kernel reads `request` and writes at most `response.len()`
    // bytes into `response`, both of which this function borrows for the
    // call. It preserves the registers the C ABI says a call preserves
    // (`clobber_abi("C")` tells the compiler the rest may change).
    unsafe {
        core::arch::asm!(
            "svc #0",
            inlateout("x0") request.as_ptr() => ret,
            inlateout("x1") request.len() => needed,
            in("x2") response.as_mut_ptr(),
            in("x3") response.len(),
            clobber_abi("C"),
            options(nostack)
        );
    }
    (ret, needed)
}
