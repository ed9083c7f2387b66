// Kingly OS entry: the first instructions of kernel8.img.
//
// Core 0 arrives at _start (0x80000) from the firmware or QEMU, usually at
// EL2, with x0 = DTB address (only if its magic is 0xd00dfeed). Cores 1-3
// arrive at _start_secondary after core 0 writes that address into their
// spin-table slot. Every core: pick its stack, drop to EL1 with AArch64 at
// EL1, give EL1 the timer, enable FP/SIMD (Rust may use NEON registers
// anywhere), install the vectors, then call into Rust with x0 = core number.

.equ CPACR_FPEN_ALL,   (3 << 20)
.equ HCR_RW_AARCH64,   (1 << 31)
// SCR_EL3: NS | RES1(4,5) | SMD | HCE | RW
.equ SCR_EL3_VALUE,    0x5b1
// SPSR: D, A, I, F masked; EL2h / EL1h
.equ SPSR_EL2H_MASKED, 0x3c9
.equ SPSR_EL1H_MASKED, 0x3c5
// SCTLR_EL1 RES1 bits with the MMU and caches off (Rust turns them on).
.equ SCTLR_EL1_RESET,  0x30d00800
// CPTR_EL2 RES1 bits; TFP (bit 10) clear so FP/SIMD is not trapped.
.equ CPTR_EL2_VALUE,   0x33ff

.section .text.boot, "ax"
.global _start
_start:
    mrs     x1, mpidr_el1
    and     x1, x1, #0xff
    cbnz    x1, park                // only core 0 may take this path

    // Zero BSS before anything reads a static.
    adrp    x2, __bss_start
    add     x2, x2, :lo12:__bss_start
    adrp    x3, __bss_end
    add     x3, x3, :lo12:__bss_end
1:  cmp     x2, x3
    b.hs    2f
    stp     xzr, xzr, [x2], #16
    b       1b
2:
    // Keep the firmware's x0 for Rust (a DTB pointer, if its magic says so).
    adrp    x2, BOOT_X0
    str     x0, [x2, :lo12:BOOT_X0]
    mov     x0, #0
    b       common

.global _start_secondary
_start_secondary:
    mrs     x0, mpidr_el1
    and     x0, x0, #0xff

// x0 = core number (0..3) from here on.
common:
    cmp     x0, #4
    b.hs    park
    // sp = __stacks_end - core * 128 KiB (stacks grow down).
    adrp    x1, __stacks_end
    add     x1, x1, :lo12:__stacks_end
    sub     x1, x1, x0, lsl #17

    mrs     x2, CurrentEL
    lsr     x2, x2, #2
    cmp     x2, #3
    b.eq    from_el3
    cmp     x2, #2
    b.eq    from_el2
    b       at_el1

from_el3:
    ldr     x3, =SCR_EL3_VALUE
    msr     scr_el3, x3
    mov     x3, #SPSR_EL2H_MASKED
    msr     spsr_el3, x3
    adr     x3, from_el2
    msr     elr_el3, x3
    eret

from_el2:
    mov     x3, #HCR_RW_AARCH64
    msr     hcr_el2, x3
    // EL1 may read the physical counter and use the physical timer.
    mrs     x3, cnthctl_el2
    orr     x3, x3, #3
    msr     cnthctl_el2, x3
    msr     cntvoff_el2, xzr
    ldr     x3, =CPTR_EL2_VALUE
    msr     cptr_el2, x3
    msr     hstr_el2, xzr
    ldr     x3, =SCTLR_EL1_RESET
    msr     sctlr_el1, x3
    mov     x3, #SPSR_EL1H_MASKED
    msr     spsr_el2, x3
    adr     x3, at_el1
    msr     elr_el2, x3
    eret

at_el1:
    mov     sp, x1
    mov     x3, #CPACR_FPEN_ALL
    msr     cpacr_el1, x3
    adrp    x3, exception_vectors
    add     x3, x3, :lo12:exception_vectors
    msr     vbar_el1, x3
    isb
    cbnz    x0, 3f
    bl      kernel_main
    b       park
3:  bl      secondary_main

// Nothing to do, ever: sleep without spinning.
park:
    msr     daifset, #0xf
4:  wfe
    b       4b
