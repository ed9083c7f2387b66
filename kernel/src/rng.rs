//! The hardware random number generator, if the machine has one.
//!
//! The RNG200's control register is read through the fault-tolerant probe
//! ([`probe::read32`]): on a Pi 4 it answers and the generator is started
//! (its warm-up runs while the rest of the kernel boots); on QEMU 10's
//! raspi4b the read takes an external abort, the probe says "absent", and
//! `random_bytes` reports that there is no hardware RNG. Numbers are never
//! made up.

use crate::probe;
use rpi4::board::RNG200_BASE;
use rpi4::rng200::{Rng200, RngError};
use spin::{Mutex, Once};

static RNG: Once<Option<Mutex<Rng200>>> = Once::new();

/// Probes for the RNG200 and starts it. Core 0, at boot.
pub fn init() -> bool {
    RNG.call_once(|| {
        probe::read32(RNG200_BASE)?;
        // SAFETY: the probe just read the RNG200's control register, so the
        // block exists at this identity-mapped Device address; `Once` makes
        // this the only instance.
        let mut rng = unsafe { Rng200::new(RNG200_BASE) };
        rng.init();
        Some(Mutex::new(rng))
    })
    .is_some()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    Absent,
    Timeout,
}

pub fn present() -> bool {
    matches!(RNG.get(), Some(Some(_)))
}

/// Fills `out` from the hardware.
pub fn fill(out: &mut [u8]) -> Result<(), Error> {
    let Some(Some(rng)) = RNG.get() else {
        return Err(Error::Absent);
    };
    rng.lock()
        .fill(out)
        .map_err(|RngError::Timeout| Error::Timeout)
}
