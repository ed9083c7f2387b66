//! Time since boot, and core 0's timer interrupt (the EL1 physical timer,
//! GIC INTID 30).
//!
//! While the kernel works (a request is being served, a tool runs, a sleep
//! waits) the timer interrupts every [`TICK_MS`]: it ends `wfi` sleeps and
//! lets the watchdog check the heartbeat. While the MCP loop waits for
//! input, the timer is armed only for the watchdog's own deadlines (a
//! scheduled reboot, feeding the board's PM watchdog) and is otherwise off,
//! so an idle machine really sleeps (also under `-icount … sleep=off`, where
//! a periodic tick would make QEMU race through virtual time).

use crate::{cpu, watchdog};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use rpi4::board::{SYSTEM_TIMER_BASE, SYSTEM_TIMER_C1_INTID};
use rpi4::generic_timer::{self, Deadline};
use rpi4::system_timer::SystemTimer;

/// The tick period while the kernel is busy.
pub const TICK_MS: u64 = 10;

/// The counter value when `kernel_main` started. QEMU's counter does not
/// restart when the machine resets, so uptime is measured from here.
static BOOT_TICKS: AtomicU64 = AtomicU64::new(0);
/// The counter value when the MCP loop started serving (0 until then).
static READY_TICKS: AtomicU64 = AtomicU64::new(0);
static INTERRUPTS: AtomicU64 = AtomicU64::new(0);
/// When the idle MCP loop wants to be woken besides the watchdog's
/// deadlines (counter value; 0: never).
static WAKE_AT: AtomicU64 = AtomicU64::new(0);
static IDLE: AtomicBool = AtomicBool::new(false);
static STARTED: AtomicBool = AtomicBool::new(false);

/// Called first thing on core 0.
pub fn record_boot() {
    BOOT_TICKS.store(generic_timer::ticks(), Ordering::Relaxed);
}

/// The counter value at boot.
pub fn boot_ticks() -> u64 {
    BOOT_TICKS.load(Ordering::Relaxed)
}

/// Called by the MCP loop once, before it first waits for input.
pub fn record_ready() {
    READY_TICKS.store(generic_timer::ticks(), Ordering::Relaxed);
}

/// The counter value when the MCP loop became ready: in a fresh QEMU under
/// `-icount shift=0` (the counter starts at 0 with the machine), 16 × this
/// is the guest instructions from reset to ready (`kingly bench`).
pub fn ready_ticks() -> u64 {
    READY_TICKS.load(Ordering::Relaxed)
}

pub fn uptime_ms() -> u64 {
    let elapsed = generic_timer::ticks().saturating_sub(boot_ticks());
    generic_timer::ticks_to_ms(elapsed, generic_timer::frequency_hz())
}

/// Timer interrupts taken since boot.
pub fn interrupts() -> u64 {
    INTERRUPTS.load(Ordering::Relaxed)
}

/// Starts the tick on core 0 (its INTID 30 must be enabled at the GIC).
pub fn start() {
    STARTED.store(true, Ordering::Relaxed);
    reprogram();
}

/// The MCP loop is about to wait for input (`true`) or has work (`false`).
pub fn set_idle(idle: bool) {
    if !STARTED.load(Ordering::Relaxed) || IDLE.load(Ordering::Relaxed) == idle {
        return;
    }
    let was_unmasked = cpu::mask_irqs();
    IDLE.store(idle, Ordering::Relaxed);
    reprogram();
    if was_unmasked {
        cpu::unmask_irqs();
    }
}

/// Asks for the idle loop to be woken at counter value `at` (`None`: only
/// input or the watchdog wake it).
pub fn set_wake(at: Option<u64>) {
    let was_unmasked = cpu::mask_irqs();
    WAKE_AT.store(at.unwrap_or(0), Ordering::Relaxed);
    if IDLE.load(Ordering::Relaxed) {
        reprogram();
    }
    if was_unmasked {
        cpu::unmask_irqs();
    }
}

/// Sets the next compare value: one tick ahead while busy, the earlier of
/// the watchdog's next deadline and the requested wake-up (or nothing)
/// while idle.
fn reprogram() {
    let now = generic_timer::ticks();
    let next = if IDLE.load(Ordering::Relaxed) {
        let wake = WAKE_AT.load(Ordering::Relaxed);
        // A wake-up that has come has done its job (the loop sees the time).
        let wake = (wake > now).then_some(wake);
        match (watchdog::next_deadline(), wake) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    } else {
        Some(now + generic_timer::ms_to_ticks(TICK_MS, generic_timer::frequency_hz()))
    };
    match next {
        Some(at) => generic_timer::interrupt_at(at.max(now + 1)),
        None => generic_timer::stop_interrupt(),
    }
}

/// INTID 30 on core 0.
pub fn on_interrupt() {
    INTERRUPTS.fetch_add(1, Ordering::Relaxed);
    watchdog::on_tick(generic_timer::ticks(), IDLE.load(Ordering::Relaxed));
    reprogram();
}

/// Sleeps in `wfi` until `deadline` or until `stop()` says so; the tick
/// wakes the core at least every [`TICK_MS`]. Returns whether the whole
/// time was slept.
pub fn sleep_until(deadline: Deadline, mut stop: impl FnMut() -> bool) -> bool {
    while !deadline.expired() {
        if stop() {
            return false;
        }
        cpu::wait_for_interrupt();
    }
    true
}

/// The BCM system timer, the second clock, and whether its compare
/// interrupt reaches the GIC (found out at boot by [`probe_system_timer`]).
static SYSTEM_TIMER: spin::Once<SystemTimer> = spin::Once::new();
static SYSTEM_TIMER_IRQ_AT_GIC: AtomicBool = AtomicBool::new(false);

/// Sets compare 1 a millisecond ahead, waits for the match, and looks at the
/// GIC's pending bit for INTID 129 (a line that is asserted becomes pending
/// even while disabled). On the board it is; QEMU raspi4b wires the system
/// timer only to the legacy interrupt controller. Returns that finding.
pub fn probe_system_timer() -> bool {
    // SAFETY: SYSTEM_TIMER_BASE is the BCM2711 system timer, identity-mapped
    // as Device memory, present on the board and in QEMU; `Once` makes this
    // the only instance, and only core 0 programs compare 1.
    let st = SYSTEM_TIMER.call_once(|| unsafe { SystemTimer::new(SYSTEM_TIMER_BASE) });
    st.set_compare(1, 1000);
    let give_up = Deadline::after_ms(5);
    while !st.matched(1) && !give_up.expired() {
        core::hint::spin_loop();
    }
    let wired = crate::irq::is_pending(SYSTEM_TIMER_C1_INTID);
    st.clear_match(1);
    crate::irq::clear_pending(SYSTEM_TIMER_C1_INTID);
    SYSTEM_TIMER_IRQ_AT_GIC.store(wired, Ordering::Relaxed);
    wired
}

/// The system timer's microsecond counter, once probed.
pub fn system_timer_us() -> Option<u64> {
    SYSTEM_TIMER.get().map(SystemTimer::micros)
}

pub fn system_timer_irq_at_gic() -> bool {
    SYSTEM_TIMER_IRQ_AT_GIC.load(Ordering::Relaxed)
}
