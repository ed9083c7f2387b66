// probe_read32(address: usize, out: *mut u32) -> bool
//
// Reads one 32-bit word from a device that may not exist. If the load at
// `probe_read32_load` takes a synchronous data abort, the exception handler
// (exceptions.rs) resumes at `probe_read32_absent` instead of halting, and
// the routine returns false. Nothing else is ever fixed up: the handler
// compares ELR with this one instruction's address.

.section .text.probe, "ax"
.global probe_read32
.global probe_read32_load
.global probe_read32_absent
probe_read32:
probe_read32_load:
    ldr     w2, [x0]
    str     w2, [x1]
    mov     x0, #1
    ret
probe_read32_absent:
    mov     x0, #0
    ret
