//! Keeping the OS alive, and resetting it on purpose.
//!
//! - **Heartbeat.** The MCP loop beats whenever it polls UART0 (waiting for
//!   input, or a running tool checking for cancellation); so do the SD card
//!   layer on every block transfer and ggml before every graph node, which
//!   are progress too. Core 0's timer
//!   interrupt ([`on_tick`]) resets the machine through PM_RSTC when the
//!   loop is busy but has not beaten for the heartbeat timeout (kernel
//!   command line `heartbeat_ms=`, default [`DEFAULT_HEARTBEAT_MS`]); an
//!   emergency `notifications/message` on UART0 says so first.
//! - **PM watchdog.** Where PM_WDOG counts down (the board), it is armed for
//!   [`HARDWARE_TIMEOUT_MS`] and fed from the tick while the heartbeat is
//!   healthy, so a core 0 that stops taking interrupts altogether is reset
//!   too. QEMU 10 has no countdown (only the immediate RSTC reset), so
//!   there the heartbeat is the watchdog.
//! - **Reboot.** `sys_reboot` asks for a reset after a delay; the MCP loop
//!   commits the request once the tool's response is on the wire
//!   ([`commit_reboot`]) and the tick carries it out.

use crate::{console, report};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use rpi4::board::PM_BASE;
use rpi4::generic_timer;
use rpi4::pm_watchdog::PmWatchdog;
use spin::Once;

pub const DEFAULT_HEARTBEAT_MS: u64 = 10_000;
/// The PM watchdog's countdown where it is armed (its maximum is ~16 s).
pub const HARDWARE_TIMEOUT_MS: u64 = 15_000;

static PM: Once<PmWatchdog> = Once::new();
static HARDWARE_ARMED: AtomicBool = AtomicBool::new(false);
static HEARTBEAT_MS: AtomicU64 = AtomicU64::new(DEFAULT_HEARTBEAT_MS);
/// Counter value of the last beat.
static LAST_BEAT: AtomicU64 = AtomicU64::new(0);
/// Counter value of the last PM_WDOG reload.
static LAST_FEED: AtomicU64 = AtomicU64::new(0);
/// A reboot `sys_reboot` asked for, in ms, not yet committed (u64::MAX: none).
static REQUESTED_DELAY_MS: AtomicU64 = AtomicU64::new(u64::MAX);
/// Counter value at which to reset (0: none).
static REBOOT_AT: AtomicU64 = AtomicU64::new(0);

/// Finds out whether PM_WDOG counts down and arms it if so. Core 0, before
/// the tick starts.
pub fn init(heartbeat_ms: u64) {
    HEARTBEAT_MS.store(heartbeat_ms, Ordering::Relaxed);
    beat();
    // SAFETY: PM_BASE is the BCM2711 power-management block, identity-mapped
    // as Device memory; `Once` makes this the only instance. Its registers
    // exist on the board and in QEMU (bcm2835_powermgt).
    let pm = PM.call_once(|| unsafe { PmWatchdog::new(PM_BASE) });
    if pm.counts_down() {
        pm.arm(HARDWARE_TIMEOUT_MS);
        LAST_FEED.store(generic_timer::ticks(), Ordering::Relaxed);
        HARDWARE_ARMED.store(true, Ordering::Relaxed);
    }
}

/// The MCP loop is making progress.
pub fn beat() {
    LAST_BEAT.store(generic_timer::ticks(), Ordering::Relaxed);
}

/// `sys_reboot`: reset `delay_ms` after the current response has been sent.
pub fn request_reboot(delay_ms: u64) {
    REQUESTED_DELAY_MS.store(delay_ms, Ordering::Relaxed);
}

/// Whether `sys_reboot` asked for a reset that [`commit_reboot`] has not
/// scheduled yet (the MCP loop saves the persistent state first).
pub fn reboot_requested() -> bool {
    REQUESTED_DELAY_MS.load(Ordering::Relaxed) != u64::MAX
}

/// Called by the MCP loop after it has written its responses.
pub fn commit_reboot() {
    let delay = REQUESTED_DELAY_MS.swap(u64::MAX, Ordering::Relaxed);
    if delay != u64::MAX {
        let freq = generic_timer::frequency_hz();
        let at = generic_timer::ticks() + generic_timer::ms_to_ticks(delay, freq);
        // The loop is busy right now, so the tick runs and sees this.
        REBOOT_AT.store(at.max(1), Ordering::Relaxed);
    }
}

/// When the timer must fire even though the MCP loop is idle.
pub fn next_deadline() -> Option<u64> {
    let reboot = REBOOT_AT.load(Ordering::Relaxed);
    let reboot = (reboot != 0).then_some(reboot);
    let feed = HARDWARE_ARMED.load(Ordering::Relaxed).then(|| {
        let freq = generic_timer::frequency_hz();
        LAST_FEED.load(Ordering::Relaxed)
            + generic_timer::ms_to_ticks(HARDWARE_TIMEOUT_MS / 3, freq)
    });
    match (reboot, feed) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Core 0's timer interrupt, with the counter value `now`. `idle` says the
/// MCP loop is waiting for input (which counts as progress).
pub fn on_tick(now: u64, idle: bool) {
    let freq = generic_timer::frequency_hz();
    let reboot_at = REBOOT_AT.load(Ordering::Relaxed);
    if reboot_at != 0 && now >= reboot_at {
        reset();
    }
    if idle {
        beat();
    }
    let silent_ms =
        generic_timer::ticks_to_ms(now.saturating_sub(LAST_BEAT.load(Ordering::Relaxed)), freq);
    let limit_ms = HEARTBEAT_MS.load(Ordering::Relaxed);
    if silent_ms > limit_ms {
        report::emergency(|w| {
            write!(
                w,
                r#""event":"watchdog","core":0,"description":"the MCP loop made no progress for {silent_ms} ms (heartbeat limit {limit_ms} ms)","resetting":true"#
            )
        });
        reset();
    }
    if HARDWARE_ARMED.load(Ordering::Relaxed) {
        if let Some(pm) = PM.get() {
            pm.feed(HARDWARE_TIMEOUT_MS);
            LAST_FEED.store(now, Ordering::Relaxed);
        }
    }
}

/// Resets the machine through PM_RSTC after UART0 has sent what it holds.
fn reset() -> ! {
    console::flush();
    if let Some(pm) = PM.get() {
        pm.reset();
    }
    // The reset takes effect within microseconds (QEMU: at its next main
    // loop iteration); nothing runs meanwhile.
    crate::cpu::halt()
}

/// What `sys_info` reports about the watchdog.
#[derive(Debug, Clone, Copy)]
pub struct State {
    pub hardware_armed: bool,
    pub hardware_timeout_ms: u64,
    pub heartbeat_timeout_ms: u64,
    pub ms_since_beat: u64,
    pub reboot_pending: bool,
    pub reset_status: Option<u32>,
}

pub fn state() -> State {
    let freq = generic_timer::frequency_hz();
    let since = generic_timer::ticks().saturating_sub(LAST_BEAT.load(Ordering::Relaxed));
    State {
        hardware_armed: HARDWARE_ARMED.load(Ordering::Relaxed),
        hardware_timeout_ms: HARDWARE_TIMEOUT_MS,
        heartbeat_timeout_ms: HEARTBEAT_MS.load(Ordering::Relaxed),
        ms_since_beat: generic_timer::ticks_to_ms(since, freq),
        reboot_pending: REBOOT_AT.load(Ordering::Relaxed) != 0
            || REQUESTED_DELAY_MS.load(Ordering::Relaxed) != u64::MAX,
        reset_status: PM.get().map(PmWatchdog::reset_status),
    }
}
