//! Links every program at the user window with `apps/user.ld` (an absolute
//! path: rustc's working directory is not the crate's). Only for the
//! kernel's target: on the host these binaries are not built.

fn main() {
    let manifest = std::path::PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    let script = manifest
        .join("../user.ld")
        .canonicalize()
        .expect("apps/user.ld exists");
    println!("cargo:rerun-if-changed={}", script.display());
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("none") {
        println!("cargo:rustc-link-arg-bins=-T{}", script.display());
        // The card carries the code, not the debug info (which would be
        // most of the file and is read from the card on every app_run).
        println!("cargo:rustc-link-arg-bins=--strip-debug");
    }
}
