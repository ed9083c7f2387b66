//! Builds ggml (llama.cpp release b2757) from the sources of the crates.io
//! package `ggml-sys-bleedingedge` and generates its Rust bindings.
//!
//! That package is an optional dependency of this crate that nothing enables:
//! Cargo pins it in Cargo.lock and downloads it, but never builds it (its own
//! build script would run CMake for the host). We ask `cargo metadata` where
//! the package was unpacked — the same answer Cargo itself uses, so it
//! follows CARGO_HOME, source replacement and vendoring — and compile the
//! four C files of ggml's CPU path with the `cc` crate. No ggml source is
//! kept in this repository.
//!
//! Targets: the host (for `cargo test`) and `aarch64-unknown-none` (the
//! kernel: [`bare_metal_flags`]); everything else is shared.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The package whose `ggml-src/` directory holds ggml's C sources.
const GGML_PACKAGE: &str = "ggml-sys-bleedingedge";

/// ggml's CPU path in b2757. `ggml.c` includes `sgemm.h`, but the llamafile
/// sgemm (C++) is only used with GGML_USE_LLAMAFILE, which we never define.
const GGML_C_FILES: &[&str] = &["ggml.c", "ggml-quants.c", "ggml-alloc.c", "ggml-backend.c"];

/// What the Rust side calls. bindgen emits only these (and the types they
/// reach), so the binding stays small enough to read.
const GGML_FUNCTIONS: &[&str] = &[
    "ggml_init",
    "ggml_free",
    "ggml_tensor_overhead",
    "ggml_graph_overhead_custom",
    "ggml_new_tensor_1d",
    "ggml_new_tensor_2d",
    "ggml_new_tensor_3d",
    "ggml_nbytes",
    "ggml_nelements",
    "ggml_element_size",
    "ggml_is_contiguous",
    "ggml_get_no_alloc",
    "ggml_get_mem_size",
    "ggml_row_size",
    "ggml_blck_size",
    "ggml_type_size",
    "ggml_get_rows",
    "ggml_rms_norm",
    "ggml_mul",
    "ggml_add",
    "ggml_mul_mat",
    "ggml_rope_custom",
    "ggml_soft_max_ext",
    "ggml_map_custom1",
    "ggml_map_custom2",
    "ggml_map_custom3",
    "ggml_scale",
    "ggml_view_1d",
    "ggml_view_2d",
    "ggml_view_3d",
    "ggml_permute",
    "ggml_cpy",
    "ggml_cont",
    "ggml_cont_2d",
    "ggml_transpose",
    "ggml_reshape_2d",
    "ggml_reshape_3d",
    "ggml_new_graph_custom",
    "ggml_build_forward_expand",
    "ggml_graph_plan",
    "ggml_graph_compute",
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let src = ggml_source_dir();
    let target = env::var("TARGET").expect("cargo sets TARGET");

    let mut build = cc::Build::new();
    build
        .files(GGML_C_FILES.iter().map(|f| src.join(f)))
        .include(&src)
        .std("c11")
        // ggml's release builds: asserts off (GGML_ASSERT stays on), always
        // optimized, even in a debug profile, or the tests would crawl.
        .define("NDEBUG", None)
        .opt_level(3)
        .warnings(false);
    let mut clang_args = vec![format!("-I{}", src.display())];
    if target == "aarch64-unknown-none" {
        bare_metal_flags(&mut build, &mut clang_args);
    } else {
        host_flags(&mut build, &target);
    }
    build.compile("ggml");

    bindings(&src, &clang_args);
}

/// Finds `ggml-src/` of the locked `ggml-sys-bleedingedge` through
/// `cargo metadata`, which also downloads the package if `cargo fetch` has
/// not. Searching CARGO_HOME/registry/src by hand would miss vendored or
/// replaced sources and guess at the registry's directory name.
fn ggml_source_dir() -> PathBuf {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap()).join("Cargo.toml");
    let out = Command::new(&cargo)
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(&manifest)
        // An optional dependency is only listed when its feature is on. The
        // feature is named for this query alone; the build never enables it.
        .args(["--features", &format!("llm/{GGML_PACKAGE}")])
        .output()
        .unwrap_or_else(|e| panic!("running `{cargo} metadata`: {e}"));
    if !out.status.success() {
        panic!(
            "`cargo metadata` failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("`cargo metadata` printed invalid JSON");
    let package = metadata["packages"]
        .as_array()
        .and_then(|packages| packages.iter().find(|p| p["name"] == GGML_PACKAGE))
        .unwrap_or_else(|| panic!("`cargo metadata` does not list {GGML_PACKAGE}"));
    let manifest_path = package["manifest_path"]
        .as_str()
        .expect("manifest_path is a string");
    let dir = Path::new(manifest_path).parent().unwrap().join("ggml-src");
    for file in GGML_C_FILES.iter().chain(&["ggml.h"]) {
        assert!(
            dir.join(file).is_file(),
            "{} is missing",
            dir.join(file).display()
        );
    }
    dir
}

/// A native build for host tests. SIMD is chosen explicitly rather than with
/// `-march=native`: these machines advertise AMX (and AVX-512) that ggml
/// would use but that fault here, so only AVX2/FMA/F16C are switched on,
/// and only when the build machine (which runs the tests) has them.
fn host_flags(build: &mut cc::Build, target: &str) {
    build.define("_GNU_SOURCE", None).flag("-pthread");
    #[cfg(target_arch = "x86_64")]
    if target.starts_with("x86_64")
        && std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("fma")
        && std::arch::is_x86_feature_detected!("f16c")
    {
        build.flag("-mavx2").flag("-mfma").flag("-mf16c");
    }
    let _ = target;
    println!("cargo:rustc-link-lib=m");
    println!("cargo:rustc-link-lib=pthread");
}

/// Where Debian's picolibc-aarch64-linux-gnu keeps the headers of its
/// release build, whose libc.a/libm.a the kernel links (kernel/build.rs).
const PICOLIBC_INCLUDE: &str = "/usr/lib/picolibc/aarch64-linux-gnu/include/release";

/// The kernel's build of ggml: clang for bare-metal AArch64 on the Pi 4's
/// Cortex-A72, picolibc's headers, and `shim-include/` for the one header
/// picolibc lacks (`pthread.h`, implemented by the kernel's shim).
///
/// No `-ffreestanding`: it makes clang treat every libc call as opaque, and
/// ggml's fp16 loads (`memcpy` of two bytes) become real `memcpy` calls in
/// the hottest loops. Without it the builtins are inlined; the symbols that
/// remain are resolved by picolibc or the shim at the kernel's link, and a
/// missing one fails that link.
fn bare_metal_flags(build: &mut cc::Build, clang_args: &mut Vec<String>) {
    assert!(
        Path::new(PICOLIBC_INCLUDE).join("stdio.h").is_file(),
        "{PICOLIBC_INCLUDE} is missing: run scripts/setup (Debian package picolibc-aarch64-linux-gnu)"
    );
    let shim = Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap()).join("shim-include");
    println!("cargo:rerun-if-changed={}", shim.display());
    let common = [
        "--target=aarch64-unknown-none".to_string(),
        "-mcpu=cortex-a72".to_string(),
        format!("-isystem{}", shim.display()),
        format!("-isystem{PICOLIBC_INCLUDE}"),
    ];
    build.compiler("clang").archiver("llvm-ar").flag("-O3");
    // ggml's thread barrier polls through the kernel's waiting load (see the
    // header); the host build keeps ggml's own spin.
    build.flag("-include").flag(shim.join("ggml-wait.h"));
    // Like the kernel's Rust code: no PIC, and atomics inline (outline
    // atomics call libgcc helpers that probe the CPU through the OS).
    build.flag("-fno-pic").flag("-mno-outline-atomics");
    // POSIX and BSD names under -std=c11 (CLOCK_MONOTONIC, M_PI), as the
    // host build gets them from glibc.
    build
        .define("_DEFAULT_SOURCE", None)
        .define("_POSIX_C_SOURCE", "200809L");
    // picolibc declares CLOCK_MONOTONIC only where the platform claims a
    // monotonic clock; ours is the shim's clock_gettime over CNTPCT_EL0.
    build.define("_POSIX_MONOTONIC_CLOCK", "200809L");
    for flag in &common {
        build.flag(flag);
    }
    clang_args.extend(common);
}

fn bindings(src: &Path, clang_args: &[String]) {
    let mut builder = bindgen::Builder::default()
        .header(src.join("ggml.h").to_string_lossy())
        .clang_args(clang_args)
        .use_core()
        .allowlist_type("ggml_type")
        .allowlist_type("ggml_tensor")
        .allowlist_type("ggml_cplan")
        .allowlist_type("ggml_status")
        .prepend_enum_name(false)
        .layout_tests(false)
        .generate_comments(false);
    for f in GGML_FUNCTIONS {
        builder = builder.allowlist_function(f);
    }
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("ggml.rs");
    builder
        .generate()
        .expect("bindgen could not read ggml.h (is libclang installed? scripts/setup)")
        .write_to_file(&out)
        .expect("writing the ggml bindings");
}
