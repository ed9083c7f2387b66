//! Where things are: the repository root and cargo's target directory.

use std::path::{Path, PathBuf};

/// The repository root: the parent of this crate's directory.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent directory")
        .to_path_buf()
}

/// Cargo's target directory: `CARGO_TARGET_DIR` when set, else `<root>/target`.
///
/// A relative `CARGO_TARGET_DIR` is resolved against the current directory,
/// as cargo does, and returned absolute so the nested kernel build (which runs
/// in the root) and we agree on where the ELF lands.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                std::env::current_dir()
                    .map(|cwd| cwd.join(&dir))
                    .unwrap_or(dir)
            }
        }
        _ => root().join("target"),
    }
}

/// Where `kingly` keeps what it makes: `<target>/kingly`.
pub fn kingly_dir() -> PathBuf {
    target_dir().join("kingly")
}

/// The kernel ELF as cargo leaves it.
pub fn kernel_elf() -> PathBuf {
    target_dir().join("aarch64-unknown-none/release/kernel")
}

/// The raw image the firmware (and QEMU's `-kernel`) loads at 0x80000.
pub fn default_kernel8() -> PathBuf {
    kingly_dir().join("kernel8.img")
}

/// The default SD card image.
pub fn default_image() -> PathBuf {
    kingly_dir().join("sd.img")
}

/// The default SD card image with the reference model on it.
pub fn default_model_image() -> PathBuf {
    kingly_dir().join("sd-model.img")
}

/// The reference model (SmolLM2-135M-Instruct Q4_1), where
/// `scripts/fetch-model` puts it, or `KINGLY_MODEL` when set.
pub fn model_path() -> PathBuf {
    match std::env::var_os("KINGLY_MODEL") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => target_dir().join("models/smollm2-135m-instruct-q4_1.gguf"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_the_workspace() {
        let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
        assert!(manifest.contains("[workspace]"));
    }

    #[test]
    fn artifacts_live_under_the_target_dir() {
        assert!(default_image().starts_with(target_dir()));
        assert!(default_kernel8().starts_with(kingly_dir()));
    }
}
