//! The kernel's measurements in guest instructions, as `kingly bench` takes
//! them (`kingly::bench`): boot to ready and the MCP dispatch of a trivial
//! `tools/call` in JSON and postcard, inside the real kernel under
//! `qemu -icount shift=0,align=off,sleep=off`, where one guest instruction is
//! one nanosecond of virtual time, exactly, run after run.
//!
//!     cargo bench -p kingly-tests --bench guest_dispatch

fn main() {
    let (kernel8, image) = kingly_tests::artifacts();
    let report = kingly::bench::measure(kernel8, image, true).expect("measure in QEMU");
    print!("{}", kingly::bench::table(&report.figures));
}
