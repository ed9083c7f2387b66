//! UART0: the MCP channel.
//!
//! Output: whole lines under a lock, so messages from different contexts
//! never interleave. Input: the receive interrupt drains the PL011 FIFO into
//! a ring buffer; the MCP loop sleeps in `wfi` until bytes arrive.
//!
//! Nothing but JSON-RPC lines is ever written here. The emergency path
//! ([`write_line_emergency`]) starts a fresh line if it interrupts one.

use crate::cpu;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use rpi4::board::{UART0_BASE, UART0_RX_PIN, UART0_TX_PIN};
use rpi4::gpio::{Function, Pull};
use rpi4::pl011::Pl011;
use spin::{Mutex, Once};

/// Bytes received but not yet read by the MCP loop. Large enough to hold a
/// maximal MCP line while a tool runs.
const RX_CAPACITY: usize = 64 * 1024;

static UART: Once<Pl011> = Once::new();
/// Serialises writers; the receive interrupt never takes it.
static TX: Mutex<()> = Mutex::new(());
static RX: Mutex<heapless::Deque<u8, RX_CAPACITY>> = Mutex::new(heapless::Deque::new());
/// Whether the last byte written was a newline (or nothing was written).
static AT_LINE_START: AtomicBool = AtomicBool::new(true);

static BYTES_IN: AtomicU64 = AtomicU64::new(0);
static BYTES_OUT: AtomicU64 = AtomicU64::new(0);
/// Bytes lost because the PL011's FIFO overran.
static RX_DROPPED: AtomicU64 = AtomicU64::new(0);

static BAUD: AtomicU64 = AtomicU64::new(0);
/// Whether the receive interrupt is masked because the ring is full.
static RX_THROTTLED: AtomicBool = AtomicBool::new(false);

/// Puts GPIO 14/15 in ALT0 (so a real board needs no device-tree overlay)
/// and programs UART0 for `baud` 8N1 from the firmware's UART clock.
pub fn init(uart_clock_hz: u32, baud: u32) {
    UART.call_once(|| bring_up(uart_clock_hz, baud));
}

fn bring_up(uart_clock_hz: u32, baud: u32) -> Pl011 {
    // Pins 14/15 exist on every BCM2711, so these cannot fail.
    crate::pins::with(|gpio| {
        let _ = gpio.set_pull(UART0_TX_PIN, Pull::None);
        let _ = gpio.set_pull(UART0_RX_PIN, Pull::Up);
        let _ = gpio.set_function(UART0_TX_PIN, Function::Alt0);
        let _ = gpio.set_function(UART0_RX_PIN, Function::Alt0);
    });

    // SAFETY: UART0_BASE is the PL011, identity-mapped as Device memory;
    // callers store the result in `UART`'s `Once`, the only instance.
    let mut uart = unsafe { Pl011::new(UART0_BASE) };
    let baud = match uart.init(uart_clock_hz, baud) {
        Ok(()) => baud,
        Err(_) => {
            // An unreachable rate on the command line must not cut the OS
            // off: fall back to the default every client expects.
            let fallback = crate::cmdline::DEFAULT_BAUD;
            uart.init(uart_clock_hz, fallback)
                .expect("115200 baud is reachable from any PL011 clock");
            fallback
        }
    };
    BAUD.store(u64::from(baud), Ordering::Relaxed);
    uart
}

/// UART0 for a fault report. A fault before [`init`] (in early boot) brings
/// UART0 up with the firmware's default clock rather than staying silent.
fn uart_for_emergency() -> &'static Pl011 {
    UART.call_once(|| {
        bring_up(
            crate::board::DEFAULT_UART_CLOCK_HZ,
            crate::cmdline::DEFAULT_BAUD,
        )
    })
}

/// (bytes received, bytes sent, received bytes lost to FIFO overruns).
pub fn counters() -> (u64, u64, u64) {
    (
        BYTES_IN.load(Ordering::Relaxed),
        BYTES_OUT.load(Ordering::Relaxed),
        RX_DROPPED.load(Ordering::Relaxed),
    )
}

pub fn baud() -> u64 {
    BAUD.load(Ordering::Relaxed)
}

fn uart() -> Option<&'static Pl011> {
    UART.get()
}

/// Writes `line` and a terminating `\n` atomically with respect to other
/// writers.
pub fn write_line(line: &str) {
    let Some(uart) = uart() else { return };
    let _guard = TX.lock();
    send(uart, line.as_bytes());
    send(uart, b"\n");
}

fn send(uart: &Pl011, bytes: &[u8]) {
    for &b in bytes {
        uart.write_byte(b);
    }
    if let Some(&last) = bytes.last() {
        AT_LINE_START.store(last == b'\n', Ordering::Relaxed);
    }
    BYTES_OUT.fetch_add(bytes.len() as u64, Ordering::Relaxed);
}

/// Waits until UART0 has sent everything written so far.
pub fn flush() {
    if let Some(uart) = uart() {
        uart.flush();
    }
}

/// For the fault path: takes the writer lock if it can within a bounded
/// wait (the faulting core may be the one holding it), ends any half-written
/// line so the report is a line of its own, and writes `write_body`'s output
/// followed by `\n`.
pub fn write_line_emergency(write_body: impl FnOnce(&mut dyn core::fmt::Write)) {
    let uart = uart_for_emergency();
    let mut guard = None;
    for _ in 0..1_000_000 {
        if let Some(g) = TX.try_lock() {
            guard = Some(g);
            break;
        }
        core::hint::spin_loop();
    }
    if !AT_LINE_START.load(Ordering::Relaxed) {
        send(uart, b"\n");
    }
    struct Raw<'a>(&'a Pl011);
    impl core::fmt::Write for Raw<'_> {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            send(self.0, s.as_bytes());
            Ok(())
        }
    }
    write_body(&mut Raw(uart));
    send(uart, b"\n");
    uart.flush();
    drop(guard);
}

/// The UART0 receive interrupt: move everything in the FIFO to the ring.
pub fn on_receive_interrupt() {
    let Some(uart) = uart() else { return };
    uart.clear_rx_interrupts();
    drain_fifo(uart);
}

/// Moves the bytes waiting in the PL011's FIFO into the ring. Called with
/// IRQs masked or from the interrupt handler itself.
///
/// When the ring is full the rest stay in the FIFO and the receive
/// interrupt is masked until [`read`] makes room: QEMU then holds further
/// input back rather than anything being dropped (on the board the FIFO
/// overruns instead, which is counted).
fn drain_fifo(uart: &Pl011) {
    let mut rx = RX.lock();
    while !rx.is_full() {
        let Some(received) = uart.read_byte() else {
            break;
        };
        if received.overrun {
            RX_DROPPED.fetch_add(1, Ordering::Relaxed);
        }
        // Cannot fail: the loop only runs while there is room.
        let _ = rx.push_back(received.byte);
    }
    let full = rx.is_full();
    if full != RX_THROTTLED.load(Ordering::Relaxed) {
        uart.set_receive_interrupts(!full);
        RX_THROTTLED.store(full, Ordering::Relaxed);
    }
}

/// Moves as many received bytes as fit into `buf` without waiting; returns
/// how many. The FIFO itself is polled too, so bytes that arrived before the
/// interrupt was wired up (or while it was throttled) are never stranded.
pub fn try_read(buf: &mut [u8]) -> usize {
    let Some(uart) = uart() else { return 0 };
    let was_unmasked = cpu::mask_irqs();
    drain_fifo(uart);
    let n = {
        let mut rx = RX.lock();
        let mut n = 0;
        while n < buf.len() {
            let Some(b) = rx.pop_front() else { break };
            buf[n] = b;
            n += 1;
        }
        n
    };
    if was_unmasked {
        cpu::unmask_irqs();
    }
    BYTES_IN.fetch_add(n as u64, Ordering::Relaxed);
    n
}

/// Sleeps in `wfi` until input may have arrived (or any other interrupt).
pub fn wait_for_input() {
    let Some(uart) = uart() else { return };
    // Check and sleep with IRQs masked: an interrupt that arrives after the
    // check still ends the `wfi`, and is taken once unmasked.
    cpu::mask_irqs();
    drain_fifo(uart);
    if RX.lock().is_empty() {
        cpu::wait_for_interrupt();
    }
    cpu::unmask_irqs();
}
