//! Device drivers for the Raspberry Pi 4 (BCM2711) as Kingly OS uses them.
//!
//! Every driver follows the same shape: a `register_structs!` block with the
//! datasheet's names, an inner type that does the register work, and exactly
//! one `unsafe fn new(base)` whose `# Safety` section states what the caller
//! promises. After construction, using a driver is safe.
//!
//! What the hardware reports at run time (clock rates, counter frequency,
//! memory regions) is read, never assumed: the same code runs on a real Pi 4
//! and on `qemu-system-aarch64 -M raspi4b`.
//!
//! Pure arithmetic (baud divisors, mailbox message layout, GIC register
//! indexing) lives in plain functions so it is unit-tested on the host.
#![cfg_attr(not(test), no_std)]

pub mod board;
pub mod cache;
pub mod generic_timer;
pub mod gic400;
pub mod gpio;
pub mod mailbox;
pub mod mini_uart;
mod mmio;
pub mod pl011;
pub mod pm_watchdog;
pub mod rng200;
pub mod sdhci;
pub mod system_timer;
