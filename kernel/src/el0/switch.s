// Entering an EL0 program and coming back from it (el0/trap.rs).
//
// el0_enter(context, entry, user_sp, arg0, arg1, exit_address) -> u64
//   saves what the C ABI says a callee preserves (x19-x30, sp, d8-d15) plus
//   DAIF in `context` (struct KernelContext, 176 bytes), clears every other
//   register so no kernel value reaches the program, and erets to `entry`
//   at EL0t with interrupts unmasked (core 0 stops a program with the
//   doorbell interrupt), x0/x1 = arg0/arg1 and x30 = exit_address.
// el0_leave(context, result) -> !
//   called from an exception taken from the program: restores the saved
//   state, which makes el0_enter return `result` to its caller. The
//   exception's frame below the saved sp is abandoned.

.section .text.el0, "ax"
.balign 16
.global el0_enter
el0_enter:
    stp     x19, x20, [x0, #0]
    stp     x21, x22, [x0, #16]
    stp     x23, x24, [x0, #32]
    stp     x25, x26, [x0, #48]
    stp     x27, x28, [x0, #64]
    stp     x29, x30, [x0, #80]
    mov     x9, sp
    str     x9, [x0, #96]
    mrs     x9, daif
    str     x9, [x0, #104]
    stp     d8, d9, [x0, #112]
    stp     d10, d11, [x0, #128]
    stp     d12, d13, [x0, #144]
    stp     d14, d15, [x0, #160]

    msr     elr_el1, x1
    msr     sp_el0, x2
    msr     spsr_el1, xzr           // EL0t, D/A/I/F clear
    mov     x30, x5
    mov     x0, x3
    mov     x1, x4
    .irp n, 2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29
    mov     x\n, xzr
    .endr
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    movi    v\n\().2d, #0
    .endr
    eret

.balign 16
.global el0_leave
el0_leave:
    ldp     x19, x20, [x0, #0]
    ldp     x21, x22, [x0, #16]
    ldp     x23, x24, [x0, #32]
    ldp     x25, x26, [x0, #48]
    ldp     x27, x28, [x0, #64]
    ldp     x29, x30, [x0, #80]
    ldr     x9, [x0, #96]
    mov     sp, x9
    ldr     x9, [x0, #104]
    msr     daif, x9
    ldp     d8, d9, [x0, #112]
    ldp     d10, d11, [x0, #128]
    ldp     d12, d13, [x0, #144]
    ldp     d14, d15, [x0, #160]
    mov     x0, x1
    ret
