//! A Rust panic is reported over MCP, then the core halts.

use crate::{cpu, report};
use core::fmt::Write;
use core::panic::PanicInfo;

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    report::emergency(|w| {
        write!(
            w,
            r#""event":"panic","core":{},"message":""#,
            cpu::core_id()
        )?;
        write!(report::JsonEscaped(w), "{}", info.message())?;
        w.write_str("\"")?;
        if let Some(loc) = info.location() {
            w.write_str(r#","location":""#)?;
            write!(
                report::JsonEscaped(w),
                "{}:{}:{}",
                loc.file(),
                loc.line(),
                loc.column()
            )?;
            w.write_str("\"")?;
        }
        Ok(())
    });
    cpu::halt()
}
