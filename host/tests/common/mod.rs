//! Shared by the `kingly` binary's tests: finding the QEMU a test started.

use std::path::Path;

/// QEMU processes whose command line names `image` (each test boots its own
/// private image, so these are the test's own).
pub fn qemu_pids_on(image: &Path) -> Vec<i32> {
    let needle = image.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
            let exe = std::fs::read_link(entry.path().join("exe")).ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let ours = exe.to_string_lossy().contains("qemu")
                && String::from_utf8_lossy(&cmdline).contains(&needle);
            ours.then_some(pid)
        })
        .collect()
}

/// Whether a QEMU process has `image` on its command line.
pub fn qemu_runs_on(image: &Path) -> bool {
    !qemu_pids_on(image).is_empty()
}
