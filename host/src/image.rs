//! The bootable SD card image: an MBR with one FAT32 partition holding
//! `kernel8.img`, `config.txt` and `cmdline.txt`.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

pub use fatfs::FatType;
use fatfs::{FileSystem, FormatVolumeOptions, FsOptions};
use fscommon::StreamSlice;
use mbrman::{MBRPartitionEntry, BOOT_ACTIVE, CHS, MBR};

use crate::error::{Error, IoContext, Result};
use crate::files;

pub const SECTOR_BYTES: u64 = 512;
/// The partition starts at 1 MiB, as card vendors and `fdisk` align it.
pub const PARTITION_START_LBA: u32 = 2048;
/// MBR partition type "FAT32 with LBA addressing", which the Pi firmware reads.
pub const FAT32_LBA: u8 = 0x0c;
/// Smallest image: comfortably above FAT32's minimum cluster count with
/// 512-byte clusters. QEMU wants a power-of-two size for SD cards.
pub const MIN_IMAGE_BYTES: u64 = 64 << 20;
/// The FAT volume label. It has a space so that it can never be the 8.3
/// name of a file: the label is an entry of the root directory, and
/// `embedded-sdmmc` matches it by name like a file (a label `KINGLY` would
/// hide the kernel's `/KINGLY` directory).
pub const VOLUME_LABEL: &str = "KINGLY OS";
pub const DEFAULT_CMDLINE: &str = "console=uart0 baud=115200";
/// What the Pi firmware reads before loading the kernel (see its comments).
pub const CONFIG_TXT: &str = include_str!("../boot/config.txt");

/// FAT32 needs at least this many clusters, or readers take it for FAT16.
const FAT32_MIN_CLUSTERS: u64 = 65_525;
/// Fixed so that building the same files twice gives the same MBR.
const DISK_SIGNATURE: [u8; 4] = *b"KGLY";

/// What goes on the card.
#[derive(Debug, Clone)]
pub struct ImageSpec {
    /// The raw kernel image, stored as `kernel8.img`.
    pub kernel8: PathBuf,
    /// The kernel command line, stored as `cmdline.txt`.
    pub cmdline: String,
    /// More files, as (path on the card with `/` separators, contents): the
    /// firmware's `start4.elf`, `fixup4.dat` and `.dtb` for real hardware.
    pub extra_files: Vec<(String, Vec<u8>)>,
    /// Files streamed from the host, as (path on the card, host path):
    /// `kingly image --add SRC:DEST` and `--model` (large files never sit
    /// in memory whole).
    pub host_files: Vec<(String, PathBuf)>,
}

impl ImageSpec {
    /// The kernel with the default command line and no extra files.
    pub fn new(kernel8: impl Into<PathBuf>) -> Self {
        Self {
            kernel8: kernel8.into(),
            cmdline: DEFAULT_CMDLINE.to_string(),
            extra_files: Vec::new(),
            host_files: Vec::new(),
        }
    }

    /// Every file of the card, in the order they are written.
    fn files(&self) -> Result<Vec<(String, Vec<u8>)>> {
        let kernel = std::fs::read(&self.kernel8).path_context("read", &self.kernel8)?;
        let mut all = vec![
            ("kernel8.img".to_string(), kernel),
            ("config.txt".to_string(), CONFIG_TXT.as_bytes().to_vec()),
            (
                "cmdline.txt".to_string(),
                format!("{}\n", self.cmdline.trim_end()).into_bytes(),
            ),
        ];
        for (name, bytes) in &self.extra_files {
            if all
                .iter()
                .any(|(taken, _)| taken.eq_ignore_ascii_case(name))
            {
                return Err(Error::Image(format!("{name} is on the card twice")));
            }
            all.push((name.clone(), bytes.clone()));
        }
        let mut names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
        for (name, _) in &self.host_files {
            if names.iter().any(|taken| taken.eq_ignore_ascii_case(name)) {
                return Err(Error::Image(format!("{name} is on the card twice")));
            }
            names.push(name);
        }
        Ok(all)
    }

    /// Sizes of the host files, checked before anything is written.
    fn host_file_bytes(&self) -> Result<u64> {
        let mut total = 0;
        for (_, path) in &self.host_files {
            total += std::fs::metadata(path).path_context("stat", path)?.len();
        }
        Ok(total)
    }
}

/// Builds the image at `out` (through a temporary file and a rename).
pub fn build_image(out: &Path, spec: &ImageSpec) -> Result<()> {
    let card_files = spec.files()?;
    let payload: u64 = card_files
        .iter()
        .map(|(_, bytes)| bytes.len() as u64)
        .sum::<u64>()
        + spec.host_file_bytes()?;
    let size = image_bytes_for(payload);

    let dir = files::parent_dir(out);
    std::fs::create_dir_all(dir).path_context("create directory", dir)?;
    let mut temp =
        tempfile::NamedTempFile::new_in(dir).path_context("create a temporary file in", dir)?;
    let file = temp.as_file_mut();
    file.set_len(size).path_context("size", out)?;
    write_mbr(file, size)?;
    write_fat(file, size, &card_files, &spec.host_files).map_err(|e| match e {
        Error::Io { context, source } => {
            Error::Image(format!("writing the FAT32 partition: {context}: {source}"))
        }
        other => other,
    })?;
    file.sync_all().path_context("sync", out)?;
    files::persist(temp, out)
}

/// The smallest power of two of at least [`MIN_IMAGE_BYTES`] holding the
/// partition offset, `payload` bytes and room for FATs, directories, and
/// cluster rounding.
pub fn image_bytes_for(payload: u64) -> u64 {
    let partition_offset = u64::from(PARTITION_START_LBA) * SECTOR_BYTES;
    // FATs cost 8 bytes (two copies) per 512-byte cluster, ~1.6%; an eighth
    // more plus a MiB covers them and per-file cluster rounding generously.
    let needed = partition_offset + payload + payload / 8 + (1 << 20);
    needed.next_power_of_two().max(MIN_IMAGE_BYTES)
}

/// The largest cluster size that still leaves FAT32's minimum cluster count
/// (with 5% to spare for reserved sectors and FATs); bigger clusters mean
/// smaller FATs.
fn bytes_per_cluster_for(partition_bytes: u64) -> u32 {
    [4096, 2048, 1024, 512]
        .into_iter()
        .find(|&cluster| partition_bytes / u64::from(cluster) >= FAT32_MIN_CLUSTERS * 105 / 100)
        .unwrap_or(512)
}

fn write_mbr(file: &mut File, size: u64) -> Result<()> {
    let mbr_error = |e: mbrman::Error| Error::Image(format!("writing the MBR: {e}"));
    let mut mbr = MBR::new_from(file, SECTOR_BYTES as u32, DISK_SIGNATURE).map_err(mbr_error)?;
    let total_sectors = u32::try_from(size / SECTOR_BYTES)
        .map_err(|_| Error::Image("image too large for an MBR".into()))?;
    mbr[1] = MBRPartitionEntry {
        boot: BOOT_ACTIVE,
        // Type 0x0c is addressed by LBA; CHS fields are unused.
        first_chs: CHS::empty(),
        sys: FAT32_LBA,
        last_chs: CHS::empty(),
        starting_lba: PARTITION_START_LBA,
        sectors: total_sectors - PARTITION_START_LBA,
    };
    mbr.write_into(file).map_err(mbr_error)
}

fn write_fat(
    file: &mut File,
    size: u64,
    files: &[(String, Vec<u8>)],
    host_files: &[(String, PathBuf)],
) -> Result<()> {
    let start = u64::from(PARTITION_START_LBA) * SECTOR_BYTES;
    let mut label = [b' '; 11];
    label[..VOLUME_LABEL.len()].copy_from_slice(VOLUME_LABEL.as_bytes());
    let options = FormatVolumeOptions::new()
        .fat_type(FatType::Fat32)
        .bytes_per_cluster(bytes_per_cluster_for(size - start))
        .volume_label(label);
    let slice =
        StreamSlice::new(&mut *file, start, size).context(|| "open the partition".into())?;
    fatfs::format_volume(slice, options).context(|| "format FAT32".into())?;

    let slice =
        StreamSlice::new(&mut *file, start, size).context(|| "open the partition".into())?;
    let fs = FileSystem::new(slice, FsOptions::new()).context(|| "mount the new FAT32".into())?;
    let root = fs.root_dir();
    let create = |name: &str| {
        // fatfs's create_dir opens a directory that exists already.
        let mut dir_path = String::new();
        for part in name
            .split('/')
            .rev()
            .skip(1)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
        {
            if !dir_path.is_empty() {
                dir_path.push('/');
            }
            dir_path.push_str(part);
            root.create_dir(&dir_path)
                .context(|| format!("create {dir_path}"))?;
        }
        let mut out = root
            .create_file(name)
            .context(|| format!("create {name}"))?;
        out.truncate().context(|| format!("truncate {name}"))?;
        Ok::<_, Error>(out)
    };
    for (name, bytes) in files {
        let mut out = create(name)?;
        out.write_all(bytes).context(|| format!("write {name}"))?;
        out.flush().context(|| format!("flush {name}"))?;
    }
    for (name, path) in host_files {
        let mut out = create(name)?;
        let mut input = File::open(path).path_context("open", path)?;
        let len = input.metadata().path_context("stat", path)?.len();
        let bar = progress_bar(name, len);
        std::io::copy(&mut input, &mut bar.wrap_write(&mut out))
            .context(|| format!("copy {} to {name}", path.display()))?;
        bar.finish_and_clear();
        out.flush().context(|| format!("flush {name}"))?;
    }
    drop(root);
    fs.unmount().context(|| "unmount the FAT32".into())
}

/// Files from this size up get a progress bar (on a terminal only).
pub const PROGRESS_BAR_BYTES: u64 = 16 << 20;

fn progress_bar(name: &str, len: u64) -> indicatif::ProgressBar {
    if len < PROGRESS_BAR_BYTES {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    bar.set_message(name.to_string());
    bar
}

/// `SRC:DEST` of `kingly image --add`: a host file and its path on the card
/// (split at the last colon; a leading `/` on DEST is dropped).
pub fn parse_add(arg: &str) -> Result<(String, PathBuf)> {
    let (src, dest) = arg
        .rsplit_once(':')
        .ok_or_else(|| Error::Image(format!("--add {arg}: expected SRC:DEST")))?;
    let dest = dest.trim_start_matches('/');
    if src.is_empty() || dest.is_empty() || dest.ends_with('/') {
        return Err(Error::Image(format!(
            "--add {arg}: expected SRC:DEST with a file name in DEST"
        )));
    }
    Ok((dest.to_string(), PathBuf::from(src)))
}

/// `--model PATH.gguf`: stored as `models/<file name>`.
pub fn model_entry(path: &Path) -> Result<(String, PathBuf)> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| Error::Image(format!("--model {}: not a file", path.display())))?;
    Ok((format!("models/{name}"), path.to_path_buf()))
}

/// The FAT short (8.3) name fatfs gave each path, for the kernel, which
/// opens files by short name only: (path as given, `/SHORT/PATH`).
pub fn short_paths(image: &Path, paths: &[String]) -> Result<Vec<(String, String)>> {
    let fs = open_partition(image)?;
    let mut out = Vec::new();
    for path in paths {
        let mut dir = fs.root_dir();
        let mut short = String::new();
        let parts: Vec<&str> = path.split('/').collect();
        for (i, part) in parts.iter().enumerate() {
            let entry = dir
                .iter()
                .filter_map(|e| e.ok())
                .find(|e| e.file_name().eq_ignore_ascii_case(part))
                .ok_or_else(|| Error::Image(format!("{path} is not on the card")))?;
            short.push('/');
            short.push_str(&String::from_utf8_lossy(entry.short_file_name_as_bytes()));
            if i + 1 < parts.len() {
                dir = entry.to_dir();
            }
        }
        out.push((path.clone(), short));
    }
    Ok(out)
}

/// A look inside a built image, for summaries and tests.
#[derive(Debug, Clone)]
pub struct ImageSummary {
    pub size: u64,
    pub partition: MBRPartitionEntry,
    pub fat_type: FatType,
    pub volume_label: String,
    pub cluster_bytes: u32,
    /// Files in the root directory: (name, size in bytes).
    pub files: Vec<(String, u64)>,
}

/// The FAT partition of an image, as fatfs sees it.
pub type Partition = FileSystem<StreamSlice<File>>;

/// Finds the first partition in the image's MBR and mounts it.
pub fn open_partition(image: &Path) -> Result<Partition> {
    let mut file = File::open(image).path_context("open", image)?;
    let mbr = MBR::read_from(&mut file, SECTOR_BYTES as u32)
        .map_err(|e| Error::Image(format!("{}: reading the MBR: {e}", image.display())))?;
    let part = &mbr[1];
    let start = u64::from(part.starting_lba) * SECTOR_BYTES;
    let end = start + u64::from(part.sectors) * SECTOR_BYTES;
    let slice = StreamSlice::new(file, start, end).path_context("seek in", image)?;
    FileSystem::new(slice, FsOptions::new()).path_context("mount the FAT partition of", image)
}

/// Reads one file (path with `/` separators) from the image's FAT partition.
pub fn read_file(image: &Path, name: &str) -> Result<Vec<u8>> {
    let fs = open_partition(image)?;
    let mut file = fs
        .root_dir()
        .open_file(name)
        .context(|| format!("open {name} in {}", image.display()))?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut file, &mut bytes)
        .context(|| format!("read {name} in {}", image.display()))?;
    Ok(bytes)
}

/// Describes an image: its MBR entry, its file system, its root files.
pub fn inspect(image: &Path) -> Result<ImageSummary> {
    let size = std::fs::metadata(image).path_context("stat", image)?.len();
    let mut file = File::open(image).path_context("open", image)?;
    let partition = MBR::read_from(&mut file, SECTOR_BYTES as u32)
        .map_err(|e| Error::Image(format!("{}: reading the MBR: {e}", image.display())))?[1]
        .clone();
    let fs = open_partition(image)?;
    let mut files = Vec::new();
    for entry in fs.root_dir().iter() {
        let entry = entry.path_context("list the root directory of", image)?;
        if entry.is_file() {
            files.push((entry.file_name(), entry.len()));
        }
    }
    Ok(ImageSummary {
        size,
        partition,
        fat_type: fs.fat_type(),
        volume_label: fs.volume_label().trim_end().to_string(),
        cluster_bytes: fs.cluster_size(),
        files,
    })
}

#[cfg(test)]
mod tests;

/// Every file under `dir`, as (path relative to `dir` with `/`, contents),
/// for [`ImageSpec::extra_files`].
pub fn files_in_dir(dir: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).path_context("list", &current)? {
            let path = entry.path_context("list", &current)?.path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let relative = path.strip_prefix(dir).expect("found under dir");
            let name = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            found.push((name, std::fs::read(&path).path_context("read", &path)?));
        }
    }
    found.sort();
    Ok(found)
}
