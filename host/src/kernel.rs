//! Building the kernel and turning its ELF into the raw `kernel8.img`.
//!
//! The Pi firmware (and QEMU's `-kernel` for a non-ELF file) copies
//! `kernel8.img` byte for byte to 0x80000 and jumps there, so the image is the
//! loadable segments laid out by address, nothing else.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use object::elf::{FileHeader64, EM_AARCH64, PT_LOAD};
use object::read::elf::{FileHeader, ProgramHeader};
use object::Endianness;

use crate::error::{Error, IoContext, Result};
use crate::{files, workspace};

/// Where the firmware loads a 64-bit kernel and where it jumps.
pub const LOAD_ADDRESS: u64 = 0x80000;

/// Refuse images larger than this: a bigger span means a segment was linked
/// somewhere far from the kernel (a linker-script bug), not a big kernel.
const MAX_IMAGE_BYTES: u64 = 64 << 20;

/// Variables a parent cargo (or the user's shell) may set that would change
/// how the nested kernel build compiles: RUSTFLAGS in any form would replace
/// the kernel's `[target.aarch64-unknown-none] rustflags` from
/// .cargo/config.toml, a build target would fight `--target`, and a
/// jobserver we do not own must not be used.
const ENV_BREAKING_NESTED_BUILD: &[&str] = &[
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "CARGO_BUILD_TARGET",
    "CARGO_MAKEFLAGS",
    "MAKEFLAGS",
    "MFLAGS",
];

/// Builds the kernel with cargo and writes `<target>/kingly/kernel8.img`
/// (only when its contents change). Returns the path of `kernel8.img`.
///
/// Cargo's output goes to our stderr: our stdout may be an MCP channel.
pub fn build_kernel() -> Result<PathBuf> {
    run_cargo_build()?;
    let elf_path = workspace::kernel_elf();
    let elf = std::fs::read(&elf_path).path_context("read the kernel ELF", &elf_path)?;
    let raw = elf_to_raw(&elf).map_err(|e| match e {
        Error::Elf(msg) => Error::Elf(format!("{}: {msg}", elf_path.display())),
        other => other,
    })?;
    let out = workspace::default_kernel8();
    files::write_if_changed(&out, &raw)?;
    Ok(out)
}

fn run_cargo_build() -> Result<()> {
    cargo_build_for_target("kernel")
}

/// `cargo build -p PACKAGE --target aarch64-unknown-none --release` in the
/// workspace root, with our target directory and without the environment
/// that would change a nested build (see [`ENV_BREAKING_NESTED_BUILD`]).
pub(crate) fn cargo_build_for_target(package: &str) -> Result<()> {
    // `CARGO` is the cargo that is running us, if any: same toolchain.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "-p",
        package,
        "--target",
        "aarch64-unknown-none",
        "--release",
    ])
    .current_dir(workspace::root())
    .env("CARGO_TARGET_DIR", workspace::target_dir())
    .stdin(Stdio::null())
    .stdout(Stdio::from(std::io::stderr()))
    .stderr(Stdio::inherit());
    for var in ENV_BREAKING_NESTED_BUILD {
        cmd.env_remove(var);
    }
    let status = cmd
        .status()
        .context(|| format!("run cargo to build {package}"))?;
    if !status.success() {
        return Err(Error::KernelBuild(format!(
            "`cargo build -p {package} --target aarch64-unknown-none --release` exited with {status}"
        )));
    }
    Ok(())
}

/// Converts a kernel ELF into the raw image loaded at [`LOAD_ADDRESS`].
///
/// The file bytes of every PT_LOAD segment are placed at its physical address
/// minus the lowest one; gaps are zero. The zero-filled tail of a segment
/// (memsz beyond filesz: .bss) is left out, because the kernel clears its
/// own BSS and shipping zeros only makes the image bigger.
pub fn elf_to_raw(elf: &[u8]) -> Result<Vec<u8>> {
    let bad = |msg: String| Error::Elf(msg);
    let header = FileHeader64::<Endianness>::parse(elf)
        .map_err(|e| bad(format!("not an ELF64 file ({e})")))?;
    let endian = header.endian().map_err(|e| bad(e.to_string()))?;
    if header.e_machine(endian) != EM_AARCH64 {
        return Err(bad(format!(
            "machine is {}, expected AArch64 ({EM_AARCH64})",
            header.e_machine(endian)
        )));
    }
    let entry = header.e_entry(endian);
    if entry != LOAD_ADDRESS {
        return Err(bad(format!(
            "entry point is {entry:#x}, expected {LOAD_ADDRESS:#x} (`_start` first)"
        )));
    }

    let mut segments = Vec::new();
    for ph in header
        .program_headers(endian, elf)
        .map_err(|e| bad(e.to_string()))?
    {
        if ph.p_type(endian) != PT_LOAD || ph.p_filesz(endian) == 0 {
            continue;
        }
        let bytes = ph
            .data(endian, elf)
            .map_err(|_| bad("a PT_LOAD segment lies outside the file".into()))?;
        segments.push((ph.p_paddr(endian), bytes));
    }
    segments.sort_by_key(|&(addr, _)| addr);

    let Some(&(lowest, _)) = segments.first() else {
        return Err(bad("no PT_LOAD segment with file contents".into()));
    };
    if lowest != LOAD_ADDRESS {
        return Err(bad(format!(
            "lowest PT_LOAD address is {lowest:#x}, expected {LOAD_ADDRESS:#x}"
        )));
    }
    let end = segments
        .iter()
        .map(|&(addr, bytes)| addr + bytes.len() as u64)
        .max()
        .unwrap_or(lowest);
    if end - lowest > MAX_IMAGE_BYTES {
        return Err(bad(format!(
            "segments span {lowest:#x}..{end:#x}, more than {} MiB: is a section linked at the wrong address?",
            MAX_IMAGE_BYTES >> 20
        )));
    }

    let mut raw = vec![0u8; (end - lowest) as usize];
    let mut filled_to = lowest;
    for (addr, bytes) in segments {
        if addr < filled_to {
            return Err(bad(format!(
                "PT_LOAD segment at {addr:#x} overlaps the one before it"
            )));
        }
        let start = (addr - lowest) as usize;
        raw[start..start + bytes.len()].copy_from_slice(bytes);
        filled_to = addr + bytes.len() as u64;
    }
    Ok(raw)
}

#[cfg(test)]
mod tests;
