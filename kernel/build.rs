//! Passes the linker script by absolute path (rustc's working directory is
//! not the crate's, so a relative `-T` in .cargo/config.toml would be fragile).

fn main() {
    let manifest = std::path::PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    let script = manifest.join("../linker/kernel.ld");
    let script = script.canonicalize().expect("linker/kernel.ld exists");
    println!("cargo:rerun-if-changed={}", script.display());
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("none") {
        println!("cargo:rustc-link-arg-bins=-T{}", script.display());
    }
}
