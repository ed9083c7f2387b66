//! What the board says about itself, asked once at boot through the
//! VideoCore mailbox (and again for values that change, like temperature).

use core::sync::atomic::{AtomicU64, Ordering};
use rpi4::board::MAILBOX_BASE;
use rpi4::mailbox::{Clock, Device, Mailbox, MailboxError, PowerState, COMMAND_LINE_MAX};
use spin::{Mutex, Once};

/// The firmware's x0 at entry, stored by `boot.s` after BSS is cleared (an
/// atomic so the plain `str` from assembly needs no `static mut`).
#[no_mangle]
static BOOT_X0: AtomicU64 = AtomicU64::new(0);

/// The flattened device tree header's magic, big-endian.
const FDT_MAGIC: u32 = 0xd00d_feed;
/// Mapped when `probe` runs (the MMU maps the first gigabyte at boot).
const MAPPED_AT_PROBE: u64 = 1 << 30;

/// The one mailbox driver. The VideoCore reads its buffer by physical
/// address, so it lives in the kernel image's statics (low RAM).
// SAFETY: MAILBOX_BASE is the BCM2711 mailbox, identity-mapped as Device
// memory by `mmu`, and this is the only instance.
static MAILBOX: Mutex<Mailbox> = Mutex::new(unsafe { Mailbox::new(MAILBOX_BASE) });

/// A memory region as the firmware reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub base: u64,
    pub size: u64,
}

/// Facts read once at boot. Fields the firmware would not answer are `None`
/// rather than made up.
#[derive(Debug, Clone)]
pub struct Facts {
    pub board_revision: Option<u32>,
    pub board_serial: Option<u64>,
    pub firmware_revision: Option<u32>,
    pub arm_memory: Region,
    pub vc_memory: Option<Region>,
    /// Total RAM from the revision code's memory-size field.
    pub ram_bytes: u64,
    pub uart_clock_hz: u32,
    /// The VPU clock at boot, which the mini UART's divisor needs (the
    /// current rates of all clocks: [`clock_rates_hz`]).
    pub core_clock_hz: Option<u32>,
    pub cmdline: heapless::String<COMMAND_LINE_MAX>,
    /// Where the firmware left a device tree, if x0 pointed at one.
    pub dtb_address: Option<u64>,
}

static FACTS: Once<Facts> = Once::new();

/// The PL011 reference clock when the firmware does not say: the Pi 4
/// firmware's default `init_uart_clock`.
pub const DEFAULT_UART_CLOCK_HZ: u32 = 48_000_000;

/// Asks the firmware everything the kernel needs before the heap exists.
/// Core 0 only; called once.
pub fn probe() -> &'static Facts {
    let mut mb = MAILBOX.lock();
    let board_revision = mb.board_revision().ok();
    let arm_memory = match mb.arm_memory() {
        Ok((base, size)) if size > 0 => Region {
            base: base.into(),
            size: size.into(),
        },
        // Without the ARM memory tag we know only that the kernel's own
        // gigabyte exists; the heap then stays inside the first 256 MiB.
        _ => Region {
            base: 0,
            size: 256 << 20,
        },
    };
    let ram_bytes = board_revision
        .and_then(ram_from_revision)
        .unwrap_or(arm_memory.base + arm_memory.size);
    let mut cmdline_bytes = [0u8; COMMAND_LINE_MAX];
    let cmdline = match mb.command_line(&mut cmdline_bytes) {
        Ok(len) => lossy_string(&cmdline_bytes[..len]),
        Err(_) => heapless::String::new(),
    };
    let facts = Facts {
        board_revision,
        board_serial: mb.board_serial().ok(),
        firmware_revision: mb.firmware_revision().ok(),
        arm_memory,
        vc_memory: mb.vc_memory().ok().map(|(base, size)| Region {
            base: base.into(),
            size: size.into(),
        }),
        ram_bytes,
        uart_clock_hz: mb
            .clock_rate_hz(Clock::Uart)
            .ok()
            .filter(|&hz| hz > 0)
            .unwrap_or(DEFAULT_UART_CLOCK_HZ),
        core_clock_hz: mb.clock_rate_hz(Clock::Core).ok(),
        cmdline,
        dtb_address: device_tree(BOOT_X0.load(Ordering::Relaxed)),
    };
    drop(mb);
    FACTS.call_once(|| facts)
}

pub fn facts() -> &'static Facts {
    FACTS
        .get()
        .expect("board::probe runs before anything asks for board facts")
}

pub fn temperature_millicelsius() -> Result<u32, MailboxError> {
    MAILBOX.lock().temperature_millicelsius()
}

/// A clock's rate as the firmware reports it now (`None` if it does not
/// answer).
pub fn clock_rate_hz(clock: Clock) -> Option<u32> {
    MAILBOX
        .lock()
        .clock_rate_hz(clock)
        .ok()
        .filter(|&hz| hz > 0)
}

/// The firmware's thermal limit, in thousandths of a degree Celsius.
pub fn max_temperature_millicelsius() -> Result<u32, MailboxError> {
    MAILBOX.lock().max_temperature_millicelsius()
}

/// Current rates of the clocks in [`Clock::ALL`] (they change at run time on
/// the board: the ARM clock follows load and temperature).
pub fn clock_rates_hz() -> [(Clock, Option<u32>); 5] {
    let mut mb = MAILBOX.lock();
    Clock::ALL.map(|clock| (clock, mb.clock_rate_hz(clock).ok()))
}

/// The throttling flags (see `Mailbox::throttled`).
pub fn throttled() -> Result<u32, MailboxError> {
    MAILBOX.lock().throttled()
}

/// Power state of each device in [`Device::ALL`].
pub fn power_states() -> [(Device, Option<PowerState>); 4] {
    let mut mb = MAILBOX.lock();
    Device::ALL.map(|device| (device, mb.power_state(device).ok()))
}

/// x0 at entry is a device tree only if it points at the FDT magic (QEMU
/// without `-dtb` passes 0; the Pi firmware passes one unless told not to).
fn device_tree(x0: u64) -> Option<u64> {
    if x0 == 0 || !x0.is_multiple_of(8) || x0 >= MAPPED_AT_PROBE - 4 {
        return None;
    }
    // SAFETY: x0 is 8-byte aligned and inside the first gigabyte, which is
    // mapped as normal RAM; reading four bytes there cannot fault.
    let magic = unsafe { core::ptr::read_volatile(x0 as *const u32) };
    (u32::from_be(magic) == FDT_MAGIC).then_some(x0)
}

/// Total RAM encoded in a new-style revision code (bit 23 set): bits 20–22
/// are log2(size / 256 MiB).
pub fn ram_from_revision(revision: u32) -> Option<u64> {
    if revision & (1 << 23) == 0 {
        return None;
    }
    let code = (revision >> 20) & 0x7;
    if code > 5 {
        return None;
    }
    Some((256u64 << 20) << code)
}

fn lossy_string(bytes: &[u8]) -> heapless::String<COMMAND_LINE_MAX> {
    let mut s = heapless::String::new();
    for chunk in bytes.utf8_chunks() {
        let _ = s.push_str(chunk.valid());
        if !chunk.invalid().is_empty() {
            let _ = s.push('\u{fffd}');
        }
    }
    s
}
