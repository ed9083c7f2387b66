//! The QEMU command line. Its flags live in `qemu/raspi4b.args`, one place for
//! `kingly qemu`, `kingly shell` and the integration tests.

use std::path::Path;
use std::process::Command;

/// `qemu/raspi4b.args`: one argument a line, `#` comments, `{kernel}` and
/// `{image}` placeholders. The first argument is the QEMU program.
pub const ARGS_FILE: &str = include_str!("../../qemu/raspi4b.args");

/// Environment variable naming another QEMU binary to run.
pub const QEMU_ENV: &str = "KINGLY_QEMU";

/// Instruction counting instead of the host clock: one instruction is one
/// virtual nanosecond, and the guest never waits for real time, so timings
/// measured by the kernel repeat from run to run.
pub const ICOUNT_ARGS: [&str; 2] = ["-icount", "shift=0,align=off,sleep=off"];

/// The arguments of [`ARGS_FILE`], placeholders not yet expanded, program first.
pub fn template() -> Vec<&'static str> {
    ARGS_FILE
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
}

/// `-append CMDLINE`: QEMU hands it to the kernel through the firmware
/// mailbox's command-line tag, where `cmdline.txt` would come from on a Pi.
pub fn append_args(cmdline: &str) -> [&str; 2] {
    ["-append", cmdline]
}

/// The QEMU command that boots `kernel` (a raw kernel8.img) with `image` as
/// its SD card, UART0 on stdio, then `extra` arguments. Stdio is left to the
/// caller.
pub fn qemu_command(kernel: &Path, image: &Path, extra: &[&str]) -> Command {
    let kernel = kernel.to_string_lossy();
    // The image sits inside a `-drive` option string, where a comma separates
    // options; QEMU reads a doubled comma as a literal one.
    let image = image.to_string_lossy().replace(',', ",,");
    let mut args = template()
        .into_iter()
        .map(|arg| arg.replace("{kernel}", &kernel).replace("{image}", &image));
    let program = args
        .next()
        .expect("qemu/raspi4b.args names the QEMU program");
    let program = std::env::var_os(QEMU_ENV)
        .filter(|p| !p.is_empty())
        .unwrap_or(program.into());
    let mut cmd = Command::new(program);
    cmd.args(args).args(extra);
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(cmd: &Command) -> Vec<String> {
        std::iter::once(cmd.get_program())
            .chain(cmd.get_args())
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn base_arguments_are_exact() {
        // Only meaningful when the environment does not override the program.
        if std::env::var_os(QEMU_ENV).is_some() {
            return;
        }
        let cmd = qemu_command(Path::new("/k/kernel8.img"), Path::new("/i/sd.img"), &[]);
        assert_eq!(
            argv(&cmd).join(" "),
            "qemu-system-aarch64 -M raspi4b -kernel /k/kernel8.img -drive if=sd,format=raw,file=/i/sd.img \
             -serial stdio -display none -monitor none"
        );
    }

    #[test]
    fn extras_follow_and_commas_are_escaped() {
        let mut extra = ICOUNT_ARGS.to_vec();
        extra.extend(append_args("console=uart0 a=1"));
        let cmd = qemu_command(
            Path::new("/k,1/kernel8.img"),
            Path::new("/i,2/sd.img"),
            &extra,
        );
        let args = argv(&cmd);
        assert!(
            args.contains(&"/k,1/kernel8.img".to_string()),
            "-kernel takes the path as is"
        );
        assert!(args.contains(&"if=sd,format=raw,file=/i,,2/sd.img".to_string()));
        assert_eq!(
            args[args.len() - 4..],
            [
                "-icount",
                "shift=0,align=off,sleep=off",
                "-append",
                "console=uart0 a=1"
            ]
        );
    }

    #[test]
    fn the_mcp_channel_gets_no_monitor_or_escape_character() {
        let args = template();
        assert!(!args.contains(&"-nographic"));
        assert!(!args.iter().any(|a| a.starts_with("mon:")));
        let serial = args.iter().position(|&a| a == "-serial").unwrap();
        assert_eq!(args[serial + 1], "stdio");
    }
}
