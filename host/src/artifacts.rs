//! The default artifacts every runner boots: kernel8.img and sd.img.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::image::{build_image, ImageSpec};
use crate::{kernel, workspace};

/// Builds the kernel (cargo decides what is stale) and, when it is missing or
/// older than kernel8.img, the default SD image. Returns (kernel8.img, sd.img).
/// Progress goes to stderr.
pub fn ensure_default_artifacts() -> Result<(PathBuf, PathBuf)> {
    let kernel8 = kernel::build_kernel()?;
    let image = workspace::default_image();
    if is_stale(&image, &kernel8) {
        eprintln!("kingly: building {}", image.display());
        build_image(&image, &ImageSpec::new(&kernel8))?;
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
