//! The default artifacts: kernel8.img, sd.img (what the tests boot) and
//! sd-model.img (sd.img's contents plus the reference model: what
//! `kingly qemu`, `kingly chat` and `kingly bench` boot by default). Both
//! cards carry the EL0 programs in /APPS ([`crate::apps`]).

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::image::{build_image, model_entry, ImageSpec};
use crate::{apps, kernel, workspace};

/// Builds the kernel (cargo decides what is stale) and, when it is missing or
/// older than kernel8.img, the default SD image. Returns (kernel8.img, sd.img).
/// Progress goes to stderr.
pub fn ensure_default_artifacts() -> Result<(PathBuf, PathBuf)> {
    let kernel8 = kernel::build_kernel()?;
    let image = workspace::default_image();
    let mut spec = ImageSpec::new(&kernel8);
    let programs = apps::add_apps(&mut spec)?;
    if is_stale(&image, &kernel8) || programs.iter().any(|elf| is_stale(&image, elf)) {
        eprintln!("kingly: building {}", image.display());
        build_image(&image, &spec)?;
    }
    Ok((kernel8, image))
}

/// Like [`ensure_default_artifacts`], with the reference model on the card
/// (`/models/<file name>`): the card people chat with, built when missing.
/// When the model has not been fetched (`scripts/fetch-model`), says so and
/// returns the plain card.
pub fn ensure_model_artifacts() -> Result<(PathBuf, PathBuf)> {
    let model = workspace::model_path();
    if !model.is_file() {
        eprintln!(
            "kingly: no model at {} (scripts/fetch-model fetches it): the card has none",
            model.display()
        );
        return ensure_default_artifacts();
    }
    let kernel8 = kernel::build_kernel()?;
    let image = workspace::default_model_image();
    // Rebuilt for a new model only: QEMU boots kernel8.img itself
    // (`-kernel`), so the card's copy may lag, and what people wrote to the
    // card survives kernel rebuilds.
    if is_stale(&image, &model) {
        eprintln!(
            "kingly: building {} with {}",
            image.display(),
            model.display()
        );
        let mut spec = ImageSpec::new(&kernel8);
        apps::add_apps(&mut spec)?;
        spec.host_files.push(model_entry(&model)?);
        build_image(&image, &spec)?;
    }
    Ok((kernel8, image))
}

/// True when `output` is missing or older than `input`.
fn is_stale(output: &Path, input: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    match (modified(output), modified(input)) {
        (Some(out), Some(inp)) => out < inp,
        (None, _) => true,
        (Some(_), None) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_or_older_outputs_are_stale() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in");
        let output = dir.path().join("out");
        std::fs::write(&input, b"x").unwrap();
        assert!(is_stale(&output, &input));
        std::fs::write(&output, b"y").unwrap();
        let past = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        std::fs::File::options()
            .write(true)
            .open(&output)
            .unwrap()
            .set_modified(past)
            .unwrap();
        assert!(is_stale(&output, &input));
        std::fs::File::options()
            .write(true)
            .open(&input)
            .unwrap()
            .set_modified(past - std::time::Duration::from_secs(60))
            .unwrap();
        assert!(!is_stale(&output, &input));
    }
}
