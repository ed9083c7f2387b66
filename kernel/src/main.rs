//! # The Kingly OS kernel
//!
//! A unikernel for the Raspberry Pi 4 (and `qemu-system-aarch64 -M raspi4b`)
//! whose only service interface is the Model Context Protocol on UART0.
//!
//! Boot order (see `docs/architecture.md`):
//! 1. `arch/boot.s`: stack, BSS, EL2 → EL1, FP/SIMD, vectors (per core).
//! 2. [`kernel_main`] on core 0: MMU + caches ([`mmu`]), the board's facts
//!    from the mailbox ([`board`]), RAM mapped and the heap over it
//!    ([`heap`]), UART0 and its receive interrupt ([`console`], [`irq`]),
//!    cores 1–3 released ([`smp`]), then the MCP loop ([`server`]).
//! 3. [`secondary_main`] on cores 1–3: MMU, then park on a work slot.
//!
//! Module map: `arch/` holds the assembly; [`exceptions`] turns every fault
//! into an MCP `notifications/message` at level `emergency` ([`report`]) and
//! a controlled halt; [`services`] registers the OS's MCP tools, resources
//! and prompts; [`klog`] is the kernel log they expose.
#![no_std]
#![no_main]

extern crate alloc;

mod board;
mod cmdline;
mod console;
mod cpu;
mod exceptions;
mod heap;
mod irq;
mod klog;
mod memtest;
mod metrics;
mod mmu;
mod panic;
mod report;
mod server;
mod services;
mod smp;
mod storage;
mod transport;

core::arch::global_asm!(include_str!("arch/boot.s"));
core::arch::global_asm!(include_str!("arch/vectors.s"));

/// Core 0's Rust entry point, called by `boot.s` at EL1 with FP enabled.
#[no_mangle]
pub extern "C" fn kernel_main() -> ! {
    mmu::init_tables();
    mmu::enable_on_this_core();
    cpu::enable_event_stream();

    let facts = board::probe();
    mmu::map_ram(facts.ram_bytes);
    heap::init(facts.arm_memory);

    let cmdline = cmdline::Options::parse(&facts.cmdline);
    console::init(facts.uart_clock_hz, cmdline.baud);
    irq::init();

    smp::start_secondaries();
    log_boot(facts);
    storage::init();

    if let Some(selftest) = cmdline.selftest {
        cpu::run_selftest(selftest);
    }
    server::run(services::registry())
}

/// What the boot found, for `kingly://log`.
fn log_boot(facts: &board::Facts) {
    klog!(
        Info,
        "Kingly OS {} booted at EL{}",
        services::KERNEL_VERSION,
        cpu::exception_level()
    );
    match facts.board_revision {
        Some(rev) => klog!(
            Info,
            "board revision {rev:#x}, {} MiB RAM",
            facts.ram_bytes >> 20
        ),
        None => klog!(Warning, "the firmware did not report a board revision"),
    }
    klog!(
        Info,
        "ARM memory {:#x}+{:#x}, heap {} KiB used / {} MiB free",
        facts.arm_memory.base,
        facts.arm_memory.size,
        heap::usage().0 >> 10,
        heap::usage().1 >> 20
    );
    klog!(
        Info,
        "UART0 at {} baud from a {} Hz clock",
        console::baud(),
        facts.uart_clock_hz
    );
    let online = smp::online_mask();
    if online == (1 << smp::CORES) - 1 {
        klog!(Info, "cores online: {}", online.count_ones());
    } else {
        klog!(
            Error,
            "cores online mask {online:#06b}: a secondary core did not start"
        );
    }
    if !facts.cmdline.is_empty() {
        klog!(Info, "command line: {}", facts.cmdline);
    }
}

/// Cores 1–3 land here from `boot.s`.
#[no_mangle]
pub extern "C" fn secondary_main(core: u64) -> ! {
    mmu::enable_on_this_core();
    smp::park(core as usize)
}
