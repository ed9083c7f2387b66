//! The SD card: which controller has it, the FAT32 volume on it, and the
//! file operations the `fs_*` tools offer.
//!
//! - The card is found at boot ([`init`]) and again on the next call after
//!   any device error (a removed and reinserted card): EMMC2 first (the Pi
//!   4's slot), then the legacy EMMC (QEMU's `-drive if=sd`). Both controllers
//!   exist in QEMU 10 (reads never fault); the one whose present-state
//!   register reports a card, and that then initialises, wins.
//! - FAT32 is `embedded-sdmmc`'s. Each operation opens the volume, works, and
//!   closes every handle before it returns: `close` writes the directory
//!   entry and FSInfo, and every data block was already written by the
//!   driver (which returns only once the controller reports the transfer
//!   complete). A write reported done is therefore on the card.
//! - Names are FAT short names (8.3: up to 8 characters, a dot, up to 3;
//!   letters, digits and `! # $ % & ' ( ) - @ ^ _ \` { } ~`), matched without
//!   regard to case and stored in upper case; embedded-sdmmc cannot create
//!   long names. Listings also show an existing long name.
//! - Files the firmware boots from are read-only unless the command line
//!   says `fs_protect=off`.

pub mod changes;
mod readahead;

use crate::{board, cmdline, klog};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cell::RefCell;
use core::ops::ControlFlow;
use embedded_sdmmc::{
    Block, BlockCount, BlockDevice, BlockIdx, DirEntry, LfnBuffer, Mode, TimeSource, Timestamp,
    VolumeIdx, VolumeManager,
};
use rpi4::board::{EMMC2_BASE, EMMC_BASE};
use rpi4::mailbox::Clock;
use rpi4::sdhci::{CardInfo, SdError, Sdhci, BLOCK_BYTES};
use spin::Mutex;

/// The card behind `embedded_sdmmc::BlockDevice`, through a write-through
/// read-ahead cache ([`readahead`]).
pub struct SdCard {
    sd: RefCell<Sdhci>,
    cache: RefCell<readahead::ReadAhead>,
}

impl BlockDevice for SdCard {
    type Error = SdError;

    fn read(&self, blocks: &mut [Block], start: BlockIdx) -> Result<(), SdError> {
        // The card answering is progress: a tool reading a large file is not
        // wedged, and in a QEMU starved of host CPU one MiB (one fs_read)
        // has taken longer than the heartbeat (every SD wait is bounded, so
        // a card that stops answering still ends in an error).
        crate::watchdog::beat();
        let mut sd = self.sd.borrow_mut();
        let mut cache = self.cache.borrow_mut();
        for (i, block) in blocks.iter_mut().enumerate() {
            cache.read(&mut sd, start.0 + i as u32, &mut block.contents)?;
        }
        Ok(())
    }

    fn write(&self, blocks: &[Block], start: BlockIdx) -> Result<(), SdError> {
        crate::watchdog::beat();
        let mut sd = self.sd.borrow_mut();
        let mut cache = self.cache.borrow_mut();
        for (i, block) in blocks.iter().enumerate() {
            cache.write(&mut sd, start.0 + i as u32, &block.contents)?;
        }
        Ok(())
    }

    fn num_blocks(&self) -> Result<BlockCount, SdError> {
        let card = self.sd.borrow().card().ok_or(SdError::NoCard)?;
        Ok(BlockCount(card.blocks))
    }
}

/// There is no real-time clock: files the kernel writes carry this date.
pub struct FixedClock;

impl TimeSource for FixedClock {
    fn get_timestamp(&self) -> Timestamp {
        Timestamp {
            year_since_1970: 10, // 1980-01-01, the FAT epoch
            zero_indexed_month: 0,
            zero_indexed_day: 0,
            hours: 0,
            minutes: 0,
            seconds: 0,
        }
    }
}

type Volumes = VolumeManager<SdCard, FixedClock, 8, 2, 1>;

struct Mounted {
    vm: Volumes,
    controller: &'static str,
    card: CardInfo,
    /// ADMA2 in use (else PIO).
    dma: bool,
}

static MOUNTED: Mutex<Option<Mounted>> = Mutex::new(None);

/// The controllers, in the order they are tried, with their firmware clock
/// and, for DMA, what to add to an ARM physical address to get the address
/// the controller uses. EMMC2 sits on a bus that sees the ARM's RAM below
/// 0xFC00_0000 at the same addresses (the BCM2711 device tree's `emmc2bus`
/// dma-ranges); the legacy EMMC sees RAM through the VideoCore's bus
/// aliases, so it stays on PIO.
const CONTROLLERS: [(&str, usize, Clock, Option<u64>); 2] = [
    ("EMMC2", EMMC2_BASE, Clock::Emmc2, Some(0)),
    ("EMMC", EMMC_BASE, Clock::Emmc, None),
];

/// Finds the card and checks that its first partition mounts; logs what
/// it found. Safe to call again after a failure.
pub fn init() {
    let mut slot = MOUNTED.lock();
    match probe(&mut slot) {
        Ok(m) => klog!(
            Info,
            "SD card on {} ({} MiB, {}, {} Hz, {}-bit, {})",
            m.controller,
            (u64::from(m.card.blocks) * BLOCK_BYTES as u64) >> 20,
            if m.card.block_addressed {
                "SDHC/SDXC"
            } else {
                "SDSC"
            },
            m.card.clock_hz,
            m.card.bus_width,
            if m.dma { "ADMA2" } else { "PIO" }
        ),
        Err(e) => klog!(Warning, "SD card: {e}"),
    }
}

fn probe(slot: &mut Option<Mounted>) -> Result<&Mounted, String> {
    // Drop the old driver instance before a new one is made.
    *slot = None;
    let mut why = Vec::new();
    for (name, base, clock, dma_bus_offset) in CONTROLLERS {
        // SAFETY: `base` is one of the BCM2711's two SDHCI blocks, mapped
        // as Device memory and present in QEMU 10 too (reads answer); the
        // lock on MOUNTED is held and the previous instance was dropped
        // above, so this is the only driver for the controller.
        let mut sd = unsafe { Sdhci::new(base) };
        if !sd.card_present() {
            why.push(format!("{name}: no card"));
            continue;
        }
        let clock_hz = board::clock_rate_hz(clock).unwrap_or(0);
        match sd.init(clock_hz) {
            Ok(card) => {
                if let Some(offset) = dma_bus_offset {
                    sd.enable_dma(offset);
                }
                let dma = sd.dma_enabled();
                let vm = VolumeManager::new_with_limits(
                    SdCard {
                        sd: RefCell::new(sd),
                        cache: RefCell::new(readahead::ReadAhead::new()),
                    },
                    FixedClock,
                    1,
                );
                // Check the volume now, so a card without FAT32 is reported
                // here rather than at the first tool call.
                vm.open_volume(VolumeIdx(0))
                    .map_err(|e| format!("{name}: the card's first partition: {e}"))?
                    .close()
                    .map_err(|e| format!("{name}: {e}"))?;
                return Ok(slot.insert(Mounted {
                    vm,
                    controller: name,
                    card,
                    dma,
                }));
            }
            Err(e) => why.push(format!("{name}: {e}")),
        }
    }
    Err(format!("no usable SD card ({})", why.join("; ")))
}

/// Why a file operation failed; the message is what the tool reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsError(pub String);

impl core::fmt::Display for FsError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

type SdmmcError = embedded_sdmmc::Error<SdError>;

fn fs_error(path: &str, e: SdmmcError) -> FsError {
    FsError(match e {
        SdmmcError::NotFound => format!("{path}: no such file or directory"),
        SdmmcError::FileAlreadyExists | SdmmcError::DirAlreadyExists => {
            format!("{path}: already exists")
        }
        SdmmcError::OpenedDirAsFile => format!("{path}: is a directory"),
        SdmmcError::OpenedFileAsDir => format!("{path}: a path component is not a directory"),
        SdmmcError::DeleteNonEmptyDir => format!("{path}: directory not empty"),
        SdmmcError::DiskFull | SdmmcError::NotEnoughSpace => format!("{path}: the volume is full"),
        SdmmcError::DeviceError(d) => format!("{path}: SD card error: {d}"),
        other => format!("{path}: {other}"),
    })
}

/// Runs `f` on the mounted card, mounting it first if needed. After a
/// device error the card is forgotten, so the next call probes again.
fn with_volumes<R>(
    f: impl FnOnce(&Volumes) -> Result<R, SdmmcError>,
    path: &str,
) -> Result<R, FsError> {
    let mut slot = MOUNTED.lock();
    if slot.is_none() {
        probe(&mut slot).map_err(FsError)?;
    }
    let mounted = slot.as_ref().expect("mounted above");
    match f(&mounted.vm) {
        Ok(r) => Ok(r),
        Err(e) => {
            if matches!(e, SdmmcError::DeviceError(_)) {
                klog!(Error, "SD card: {e}; will probe again");
                *slot = None;
            }
            Err(fs_error(path, e))
        }
    }
}

// ---------------------------------------------------------------- paths

pub const MAX_PATH_BYTES: usize = 255;
const SHORT_NAME_SPECIALS: &str = "!#$%&'()-@^_`{}~";

/// An absolute path split into validated short-name components (empty for
/// the root).
pub fn parse_path(path: &str) -> Result<Vec<&str>, FsError> {
    let refuse = |why: &str| Err(FsError(format!("{path:?}: {why}")));
    if path.len() > MAX_PATH_BYTES {
        return refuse("path longer than 255 bytes");
    }
    let Some(rest) = path.strip_prefix('/') else {
        return refuse("paths are absolute: they start with /");
    };
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    let mut parts = Vec::new();
    for part in rest.split('/') {
        match part {
            "" => return refuse("empty path component (// or a trailing /)"),
            "." | ".." => return refuse(". and .. are not allowed"),
            _ => {
                if let Err(why) = check_short_name(part) {
                    return Err(FsError(format!("{path:?}: {part:?} {why}")));
                }
                parts.push(part);
            }
        }
    }
    Ok(parts)
}

/// FAT short (8.3) names: what embedded-sdmmc can create and open.
pub fn check_short_name(name: &str) -> Result<(), &'static str> {
    let (base, ext) = match name.split_once('.') {
        Some((b, e)) => (b, Some(e)),
        None => (name, None),
    };
    let valid = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_alphanumeric() || SHORT_NAME_SPECIALS.contains(c))
    };
    if base.is_empty() || base.len() > 8 {
        return Err("is not a FAT short name: the part before the dot must be 1 to 8 characters (8.3 names only)");
    }
    if let Some(ext) = ext {
        if ext.is_empty() || ext.len() > 3 || ext.contains('.') {
            return Err(
                "is not a FAT short name: one dot, then 1 to 3 characters (8.3 names only)",
            );
        }
    }
    if !valid(base) || !ext.is_none_or(valid) {
        return Err("has a character FAT short names cannot hold (letters, digits and !#$%&'()-@^_`{}~ only)");
    }
    Ok(())
}

/// Whether `parts` names a file the firmware reads to boot: kernel*.img,
/// config.txt, cmdline.txt, bootcode.bin, start*.elf, fixup*.dat, *.dtb in
/// the root, and everything under /overlays.
pub fn is_boot_file(parts: &[&str]) -> bool {
    let upper = |s: &str| s.to_ascii_uppercase();
    match parts {
        [first, _, ..] => upper(first) == "OVERLAYS",
        [name] => {
            let name = upper(name);
            let (base, ext) = name.split_once('.').unwrap_or((&name, ""));
            matches!(name.as_str(), "CONFIG.TXT" | "CMDLINE.TXT" | "BOOTCODE.BIN")
                || ext == "DTB"
                || (ext == "IMG" && base.starts_with("KERNEL"))
                || (ext == "ELF" && base.starts_with("START"))
                || (ext == "DAT" && base.starts_with("FIXUP"))
                || name == "OVERLAYS"
        }
        [] => false,
    }
}

/// Whether boot files are protected (`fs_protect=off` lifts it).
pub fn protected() -> bool {
    cmdline::Options::parse(&board::facts().cmdline).fs_protect
}

fn check_writable(path: &str, parts: &[&str]) -> Result<(), FsError> {
    if parts.is_empty() {
        return Err(FsError(format!(
            "{path}: the root directory cannot be changed"
        )));
    }
    if protected() && is_boot_file(parts) {
        return Err(FsError(format!(
            "{path}: read-only: the firmware boots from it (boot with fs_protect=off on the kernel command line to change it)"
        )));
    }
    Ok(())
}

// ---------------------------------------------------------- operations

/// A directory entry as the tools report it.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The short name, as paths use it.
    pub name: String,
    /// The long name, where the entry has one (written by another system).
    pub long_name: Option<String>,
    pub size: u32,
    pub is_dir: bool,
    /// `YYYY-MM-DDTHH:MM:SS`, as stored (no time zone).
    pub modified: String,
}

fn timestamp(t: &Timestamp) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        1970 + u32::from(t.year_since_1970),
        t.zero_indexed_month + 1,
        t.zero_indexed_day + 1,
        t.hours,
        t.minutes,
        t.seconds
    )
}

fn entry(de: &DirEntry, long_name: Option<&str>) -> Entry {
    Entry {
        name: de.name.to_string(),
        long_name: long_name.map(String::from),
        size: de.size,
        is_dir: de.attributes.is_directory(),
        modified: timestamp(&de.mtime),
    }
}

/// Opens the volume, walks to the directory `dirs` names, and runs `f` there.
fn in_dir<R>(
    vm: &Volumes,
    dirs: &[&str],
    f: impl FnOnce(&embedded_sdmmc::Directory<'_, SdCard, FixedClock, 8, 2, 1>) -> Result<R, SdmmcError>,
) -> Result<R, SdmmcError> {
    let volume = vm.open_volume(VolumeIdx(0))?;
    let mut dir = volume.open_root_dir()?;
    for name in dirs {
        dir.change_dir(*name)?;
    }
    let result = f(&dir);
    dir.close()?;
    volume.close()?;
    result
}

pub fn list(path: &str) -> Result<Vec<Entry>, FsError> {
    let parts = parse_path(path)?;
    with_volumes(
        |vm| {
            in_dir(vm, &parts, |dir| {
                let mut entries = Vec::new();
                let mut storage = [0u8; 256];
                let mut lfn = LfnBuffer::new(&mut storage);
                dir.iterate_dir_lfn(&mut lfn, |de, long| {
                    let hidden = de.attributes.is_volume()
                        || de.name == embedded_sdmmc::ShortFileName::this_dir()
                        || de.name == embedded_sdmmc::ShortFileName::parent_dir();
                    if !hidden {
                        entries.push(entry(de, long));
                    }
                    ControlFlow::Continue(())
                })?;
                Ok(entries)
            })
        },
        path,
    )
}

pub fn stat(path: &str) -> Result<Entry, FsError> {
    let parts = parse_path(path)?;
    let Some((name, dirs)) = parts.split_last() else {
        return Ok(Entry {
            name: String::from("/"),
            long_name: None,
            size: 0,
            is_dir: true,
            modified: String::new(),
        });
    };
    with_volumes(
        |vm| {
            in_dir(vm, dirs, |dir| {
                dir.find_directory_entry(*name).map(|de| entry(&de, None))
            })
        },
        path,
    )
}

/// Reads up to `length` bytes from `offset`; returns them and the file size.
pub fn read(path: &str, offset: u32, length: usize) -> Result<(Vec<u8>, u32), FsError> {
    let parts = parse_path(path)?;
    let Some((name, dirs)) = parts.split_last() else {
        return Err(FsError(format!("{path}: is a directory")));
    };
    with_volumes(
        |vm| {
            in_dir(vm, dirs, |dir| {
                let file = dir.open_file_in_dir(*name, Mode::ReadOnly)?;
                let size = file.length();
                let want = length.min(size.saturating_sub(offset) as usize);
                let mut bytes = alloc::vec![0u8; want];
                let mut got = 0;
                if want > 0 {
                    file.seek_from_start(offset)?;
                    while got < want {
                        let n = file.read(&mut bytes[got..])?;
                        if n == 0 {
                            break;
                        }
                        got += n;
                    }
                }
                bytes.truncate(got);
                file.close()?;
                Ok((bytes, size))
            })
        },
        path,
    )
}

/// The size of the file at `path`, then (if `fits(size)` returns a buffer
/// of exactly `size` bytes) the whole file read into it in one pass, with
/// `progress(bytes_so_far)` after each chunk. For large files (an LLM's
/// weights): one open and a sequential read, where `read` seeks from the
/// start on every call.
pub fn read_whole<'b>(
    path: &str,
    fits: impl FnOnce(u32) -> Result<&'b mut [u8], FsError>,
    mut progress: impl FnMut(usize),
) -> Result<(), FsError> {
    let parts = parse_path(path)?;
    let Some((name, dirs)) = parts.split_last() else {
        return Err(FsError(format!("{path}: is a directory")));
    };
    // The callback's refusal is returned as is, not as a storage error.
    let mut refused = None;
    let result = with_volumes(
        |vm| {
            in_dir(vm, dirs, |dir| {
                let file = dir.open_file_in_dir(*name, Mode::ReadOnly)?;
                let buf = match fits(file.length()) {
                    Ok(buf) => buf,
                    Err(e) => {
                        refused = Some(e);
                        file.close()?;
                        return Ok(());
                    }
                };
                let mut got = 0;
                while got < buf.len() {
                    let end = (got + (1 << 20)).min(buf.len());
                    let n = file.read(&mut buf[got..end])?;
                    if n == 0 {
                        break;
                    }
                    got += n;
                    progress(got);
                }
                file.close()?;
                if got < buf.len() {
                    refused = Some(FsError(format!("{path}: ended after {got} bytes")));
                }
                Ok(())
            })
        },
        path,
    );
    match refused {
        Some(e) => Err(e),
        None => result,
    }
}

/// How `write` opens the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// A new file; an existing one is an error.
    Create,
    /// Replace the contents (creating the file if needed).
    Truncate,
    /// Add at the end (creating the file if needed).
    Append,
}

/// Writes `data` and closes the file; returns the new size. When this
/// returns `Ok`, data and directory entry are on the card.
pub fn write(path: &str, data: &[u8], mode: WriteMode) -> Result<u32, FsError> {
    let mode = match mode {
        WriteMode::Create => Mode::ReadWriteCreate,
        WriteMode::Truncate => Mode::ReadWriteCreateOrTruncate,
        WriteMode::Append => Mode::ReadWriteCreateOrAppend,
    };
    change(path, |dir, name| {
        let file = dir.open_file_in_dir(name, mode)?;
        file.write(data)?;
        let size = file.length();
        // Writes the directory entry (size, first cluster) and FSInfo.
        file.close()?;
        Ok(size)
    })
}

pub fn delete(path: &str) -> Result<(), FsError> {
    change(path, |dir, name| dir.delete_entry_in_dir(name))
}

pub fn mkdir(path: &str) -> Result<(), FsError> {
    change(path, |dir, name| dir.make_dir_in_dir(name))
}

/// Runs `f` on the directory holding `path` and its last component, once
/// the path is checked writable, and records the change for subscribers
/// ([`changes`]) whatever the outcome: even a failed write may have changed
/// part of a file.
fn change<R>(
    path: &str,
    f: impl FnOnce(
        &embedded_sdmmc::Directory<'_, SdCard, FixedClock, 8, 2, 1>,
        &str,
    ) -> Result<R, SdmmcError>,
) -> Result<R, FsError> {
    let parts = parse_path(path)?;
    check_writable(path, &parts)?;
    let (name, dirs) = parts.split_last().expect("not the root: checked");
    let changed = with_volumes(|vm| in_dir(vm, dirs, |dir| f(dir, name)), path);
    changes::record(&parts);
    changed
}

/// Reads `bytes` (rounded down to whole blocks) from the start of the card
/// straight through the driver in transfers of `chunk` bytes, into one
/// buffer; returns (bytes read, generic-timer ticks). `between(done, total)`
/// runs after each MiB (progress, and the MCP loop's heartbeat through
/// cancellation polling); returning false stops the read.
pub fn raw_read(
    bytes: usize,
    chunk: usize,
    mut between: impl FnMut(usize, usize) -> bool,
) -> Result<(usize, u64), FsError> {
    let chunk = (chunk / BLOCK_BYTES).max(1) * BLOCK_BYTES;
    let mut buffer = alloc::vec![0u8; chunk];
    with_volumes(
        |vm| {
            vm.device(|card| {
                let mut sd = card.sd.borrow_mut();
                let blocks = sd.card().map_or(0, |c| c.blocks) as usize;
                let total = (bytes / BLOCK_BYTES).min(blocks) * BLOCK_BYTES;
                let start = rpi4::generic_timer::ticks();
                let mut done = 0;
                while done < total {
                    let n = chunk.min(total - done);
                    sd.read_blocks((done / BLOCK_BYTES) as u32, &mut buffer[..n])?;
                    done += n;
                    // At most once a MiB, so small transfers are measured
                    // without it.
                    let new_mib = done >> 20 != (done - n) >> 20;
                    if (new_mib || done == total) && !between(done, total) {
                        break;
                    }
                }
                let ticks = rpi4::generic_timer::ticks() - start;
                core::hint::black_box(&buffer);
                Ok((total, ticks))
            })
            .map_err(SdmmcError::DeviceError)
        },
        "raw read",
    )
}
