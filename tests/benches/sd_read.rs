//! Guest instructions per byte for large sequential SD card reads, measured
//! inside the real kernel under `qemu -icount shift=0,align=off,sleep=off`
//! (one guest instruction = one virtual nanosecond, so the kernel's
//! `bench_sd_read` figure `ns_per_byte` is instructions per byte), and
//! wall-clock MB/s of the same reads in QEMU without icount, for reference.
//!
//! - raw: blocks from the start of the card through the SDHCI driver's PIO
//!   path, in multi-block transfers of the given size (512 = one CMD17 per
//!   block).
//! - file: a 32 MiB file through embedded-sdmmc in 1 MiB pieces (what
//!   `fs_read` does), which reads one block at a time through its cache.
//!
//!     cargo bench -p kingly-tests --bench sd_read

use std::time::Instant;

use kingly::client::{QemuMcp, PROTOCOL_VERSION};
use kingly::image::{self, ImageSpec};
use kingly::qemu::ICOUNT_ARGS;
use serde_json::{json, Value};

const FILE_BYTES: usize = 32 << 20;
const RAW_BYTES: u64 = 32 << 20;

fn main() {
    let (kernel8, _) = kingly_tests::artifacts();
    let dir = tempfile::tempdir().expect("temporary directory");
    let img = dir.path().join("sd.img");
    let mut spec = ImageSpec::new(kernel8);
    spec.extra_files = vec![("BIG.BIN".into(), vec![0x5a; FILE_BYTES])];
    image::build_image(&img, &spec).expect("build the image");

    let runs: [(&str, Value); 4] = [
        (
            "raw, 1 MiB transfers",
            json!({"bytes": RAW_BYTES, "chunk_bytes": 1 << 20}),
        ),
        (
            "raw, 64 KiB transfers",
            json!({"bytes": RAW_BYTES, "chunk_bytes": 64 << 10}),
        ),
        (
            "raw, 512 B (CMD17 each)",
            json!({"bytes": 8u64 << 20, "chunk_bytes": 512}),
        ),
        (
            "file via embedded-sdmmc",
            json!({"bytes": FILE_BYTES, "path": "/BIG.BIN"}),
        ),
    ];

    println!("SD card reads (qemu {} {})", ICOUNT_ARGS[0], ICOUNT_ARGS[1]);
    println!(
        "{:<26} {:>10} {:>14} {:>6}",
        "read", "MiB", "instr/byte", "goal"
    );
    let mut qemu = boot(kernel8, &img, &ICOUNT_ARGS);
    for (what, args) in &runs {
        let m = measure(&mut qemu, args);
        let goal = if what.starts_with("raw, 1") { "2" } else { "-" };
        println!(
            "{what:<26} {:>10.1} {:>14.2} {goal:>6}",
            m["bytes"].as_f64().unwrap() / f64::from(1 << 20),
            m["ns_per_byte"].as_f64().unwrap()
        );
    }
    drop(qemu);

    println!();
    println!("wall clock in QEMU without icount (host time around the tool call)");
    println!("{:<26} {:>10} {:>10}", "read", "MiB", "MB/s");
    let mut qemu = boot(kernel8, &img, &[]);
    for (what, args) in &runs {
        let start = Instant::now();
        let m = measure(&mut qemu, args);
        let secs = start.elapsed().as_secs_f64();
        let bytes = m["bytes"].as_f64().unwrap();
        println!(
            "{what:<26} {:>10.1} {:>10.1}",
            bytes / f64::from(1 << 20),
            bytes / secs / 1e6
        );
    }
}

fn boot(kernel8: &std::path::Path, img: &std::path::Path, extra: &[&str]) -> QemuMcp {
    let mut qemu = QemuMcp::boot(kernel8, img, extra).expect("start QEMU");
    qemu.set_response_timeout(std::time::Duration::from_secs(600));
    qemu.initialize(PROTOCOL_VERSION, "sd-read-bench")
        .expect("initialize");
    qemu
}

fn measure(qemu: &mut QemuMcp, args: &Value) -> Value {
    let result = qemu
        .call_tool("bench_sd_read", args.clone())
        .expect("bench_sd_read");
    assert_eq!(result["isError"], false, "{result}");
    result["structuredContent"].clone()
}
