//! Passes the linker script by absolute path (rustc's working directory is
//! not the crate's, so a relative `-T` in .cargo/config.toml would be fragile).

/// Where Debian's picolibc-aarch64-linux-gnu puts its release-built libc.
const PICOLIBC: &str = "/usr/lib/picolibc/aarch64-linux-gnu/lib/release";

fn main() {
    let manifest = std::path::PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    let script = manifest.join("../linker/kernel.ld");
    let script = script.canonicalize().expect("linker/kernel.ld exists");
    println!("cargo:rerun-if-changed={}", script.display());
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("none") {
        println!("cargo:rustc-link-arg-bins=-T{}", script.display());
        // picolibc (Debian's picolibc-aarch64-linux-gnu, scripts/setup
        // installs it) supplies memcpy/memmove/memset/memcmp: ARM's
        // optimized AArch64 routines, which the linker takes before
        // compiler_builtins' portable ones. A dispatch makes dozens of small
        // copies; the portable memcpy spent ~70 instructions on each
        // (docs/performance.md). Only the members the kernel needs are linked.
        let picolibc = std::path::Path::new(PICOLIBC);
        assert!(
            picolibc.join("libc.a").exists(),
            "{PICOLIBC}/libc.a is missing: run scripts/setup (Debian package picolibc-aarch64-linux-gnu)"
        );
        println!("cargo:rustc-link-search=native={PICOLIBC}");
        println!("cargo:rustc-link-lib=static=c");
        // ggml (the llm crate) also needs picolibc's libm (expf, tanhf, …)
        // and the rest of libc it references (printf family, qsort, str*);
        // its runtime is kernel/src/llm_shim.rs.
        println!("cargo:rustc-link-lib=static=m");
    }
}
