//! # The Kingly OS kernel
//!
//! A unikernel for the Raspberry Pi 4 (and `qemu-system-aarch64 -M raspi4b`)
//! whose only service interface is the Model Context Protocol on UART0.
//!
//! Boot order (see `docs/architecture.md`):
//! 1. `arch/boot.s`: stack, BSS, EL2 → EL1, FP/SIMD, vectors (per core).
//! 2. [`kernel_main`] on core 0: MMU + caches ([`mmu`]), the board's facts
//!    from the mailbox ([`board`]), RAM mapped and the heap over it
//!    ([`heap`]), UART0 ([`console`]), the log mirror ([`log_uart`]), the
//!    watchdog ([`watchdog`]), the GIC with UART0's receive interrupt and
//!    the timer tick ([`irq`], [`timer`]), devices that may be absent
//!    probed ([`probe`], [`rng`]), cores 1–3 released ([`smp`]), then the
//!    MCP loop ([`server`]).
//! 3. [`secondary_main`] on cores 1–3: MMU, then park on a work slot.
//!
//! Module map: `arch/` holds the assembly; [`exceptions`] turns every fault
//! into an MCP `notifications/message` at level `emergency` ([`report`]) and
//! a controlled halt; [`services`] registers the OS's MCP tools, resources
//! and prompts; [`klog`] is the kernel log they expose; [`storage`] is the
//! SD card and its FAT32 volume behind the `fs_*` tools; [`usage`] counts
//! tool calls and [`notes`] keeps the agent's notes, which [`state`] saves
//! on the card.
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
mod llm_shim;
mod log_uart;
mod memtest;
mod metrics;
mod mmu;
mod notes;
mod panic;
mod pins;
mod probe;
mod report;
mod rng;
mod server;
mod services;
mod smp;
mod state;
mod storage;
mod timer;
mod transport;
mod usage;
mod watchdog;

core::arch::global_asm!(include_str!("arch/boot.s"));
core::arch::global_asm!(include_str!("arch/vectors.s"));
core::arch::global_asm!(include_str!("arch/probe.s"));

/// Core 0's Rust entry point, called by `boot.s` at EL1 with FP enabled.
#[no_mangle]
pub extern "C" fn kernel_main() -> ! {
    timer::record_boot();
    mmu::init_tables();
    mmu::enable_on_this_core();
    cpu::enable_event_stream();

    let facts = board::probe();
    mmu::map_ram(facts.ram_bytes);
    heap::init(facts.arm_memory);

    let cmdline = cmdline::Options::parse(&facts.cmdline);
    console::init(facts.uart_clock_hz, cmdline.baud);
    let mirror = log_uart::init(cmdline.log_uart, facts.uart_clock_hz, facts.core_clock_hz);
    watchdog::init(cmdline.heartbeat_ms);
    irq::init();
    let system_timer_irq = timer::probe_system_timer();
    let rng = rng::init();

    smp::start_secondaries();
    // One ggml graph (a batch of prompt tokens) can outlast the heartbeat
    // while the MCP loop waits for it: each node computed counts as progress.
    llm::ffi::set_node_hook(watchdog::beat);
    log_boot(facts);
    log_devices(&cmdline, mirror, system_timer_irq, rng);
    storage::init();
    // Usage counts and agent notes from the card, before the first call.
    state::load(&cmdline);

    if let Some(selftest) = cmdline.selftest {
        cpu::run_selftest(selftest);
    }
    server::run(services::registry(cmdline.test_tools))
}

/// What the device probes found, for `kingly://log`.
fn log_devices(
    cmdline: &cmdline::Options,
    mirror: Result<(), &str>,
    system_timer_irq: bool,
    rng: bool,
) {
    match mirror {
        Ok(()) => klog!(Info, "log mirror: {}", cmdline.log_uart.name()),
        Err(why) => klog!(
            Warning,
            "log mirror {} is off: {why}",
            cmdline.log_uart.name()
        ),
    }
    let wd = watchdog::state();
    if wd.hardware_armed {
        klog!(
            Info,
            "PM watchdog armed ({} ms), heartbeat {} ms",
            wd.hardware_timeout_ms,
            wd.heartbeat_timeout_ms
        );
    } else {
        klog!(
            Info,
            "PM_WDOG does not count down: heartbeat watchdog only ({} ms, resets through PM_RSTC)",
            wd.heartbeat_timeout_ms
        );
    }
    klog!(
        Info,
        "system timer compare interrupt {} the GIC",
        if system_timer_irq {
            "reaches"
        } else {
            "does not reach"
        }
    );
    if rng {
        klog!(Info, "RNG200 found and started");
    } else {
        klog!(Warning, "no hardware RNG: the RNG200 probe read faulted");
    }
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
