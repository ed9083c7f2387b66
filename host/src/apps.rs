//! The EL0 programs that go on the card in /APPS (the `kingly-programs`
//! crate in apps/programs): built like the kernel, copied as 8.3 names.

use std::path::PathBuf;

use crate::error::{IoContext, Result};
use crate::image::ImageSpec;
use crate::{kernel, workspace};

/// (cargo binary name, path on the card) of every program.
pub const PROGRAMS: &[(&str, &str)] = &[
    ("sensor", "APPS/SENSOR.ELF"),
    ("faults", "APPS/FAULTS.ELF"),
    ("bench", "APPS/BENCH.ELF"),
];

/// Builds the programs (cargo decides what is stale); returns (path on the
/// card, ELF on the host) for each.
pub fn build_apps() -> Result<Vec<(String, PathBuf)>> {
    kernel::cargo_build_for_target("kingly-programs")?;
    let dir = workspace::target_dir().join("aarch64-unknown-none/release");
    Ok(PROGRAMS
        .iter()
        .map(|(bin, card)| (card.to_string(), dir.join(bin)))
        .collect())
}

/// Builds the programs and adds them to `spec`'s files; returns their host
/// paths (for staleness checks).
pub fn add_apps(spec: &mut ImageSpec) -> Result<Vec<PathBuf>> {
    let apps = build_apps()?;
    for (card, elf) in &apps {
        let bytes = std::fs::read(elf).path_context("read the program", elf)?;
        spec.extra_files.push((card.clone(), bytes));
    }
    Ok(apps.into_iter().map(|(_, elf)| elf).collect())
}
