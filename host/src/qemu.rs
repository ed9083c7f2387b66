//! The QEMU command line. Its flags live in `qemu/raspi4b.args`, one place for
//! `kingly qemu` (which `kingly chat` runs) and the integration tests.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `qemu/raspi4b.args`: one argument a line, `#` comments, `{kernel}`,
/// `{image}` and `{log_uart}` placeholders. The first argument is the QEMU
/// program.
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
/// [`qemu_command`] adds these words after the command line in
/// `raspi4b.args` (QEMU itself would keep only the last `-append`).
pub fn append_args(cmdline: &str) -> [&str; 2] {
    ["-append", cmdline]
}

/// The file that receives the kernel log mirror (QEMU's second serial port,
/// the mini UART) when booting `image`: beside the image, so each boot of
/// its own copy of an image (as the tests make) has its own log.
pub fn log_uart_path(image: &Path) -> PathBuf {
    image.with_file_name("log-uart.txt")
}

/// The QEMU command that boots `kernel` (a raw kernel8.img) with `image` as
/// its SD card, UART0 on stdio, the log mirror in [`log_uart_path`], then
/// `extra` arguments. An `-append` in `extra` adds to the template's kernel
/// command line instead of replacing it. Stdio is left to the caller.
pub fn qemu_command(kernel: &Path, image: &Path, extra: &[&str]) -> Command {
    qemu_command_with_uart0(kernel, image, "stdio", extra)
}

/// [`qemu_command`] with UART0 on another QEMU character device than stdio:
/// `pty` makes QEMU stand in for a board on a serial adapter (it prints
/// "char device redirected to /dev/pts/N (label serial0)" on stdout), which
/// is how `kingly serial` is tested.
pub fn qemu_command_with_uart0(
    kernel: &Path,
    image: &Path,
    uart0: &str,
    extra: &[&str],
) -> Command {
    let log = log_uart_path(image).to_string_lossy().into_owned();
    let kernel = kernel.to_string_lossy();
    // The image sits inside a `-drive` option string, where a comma separates
    // options; QEMU reads a doubled comma as a literal one.
    let image = image.to_string_lossy().replace(',', ",,");
    let (appended, extra) = split_appends(extra);
    let mut args: Vec<String> = template()
        .into_iter()
        .map(|arg| {
            arg.replace("{kernel}", &kernel)
                .replace("{image}", &image)
                .replace("{log_uart}", &log)
        })
        .collect();
    if let Some(at) = args.iter().position(|a| a == "-serial") {
        if let Some(backend) = args.get_mut(at + 1) {
            *backend = uart0.to_string();
        }
    }
    if let Some(at) = args.iter().position(|a| a == "-append") {
        if let Some(cmdline) = args.get_mut(at + 1) {
            for words in &appended {
                cmdline.push(' ');
                cmdline.push_str(words);
            }
        }
    }
    let mut args = args.into_iter();
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

/// Takes the values of `-append` out of `extra`: (their words, the rest).
fn split_appends<'a>(extra: &[&'a str]) -> (Vec<&'a str>, Vec<&'a str>) {
    let mut appended = Vec::new();
    let mut rest = Vec::new();
    let mut args = extra.iter();
    while let Some(&arg) = args.next() {
        match (arg, args.as_slice().first()) {
            ("-append", Some(&words)) => {
                appended.push(words);
                args.next();
            }
            _ => rest.push(arg),
        }
    }
    (appended, rest)
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
             -serial stdio -display none -monitor none -serial file:/i/log-uart.txt -append log_uart=mini"
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
                "-append",
                "log_uart=mini console=uart0 a=1",
                "-icount",
                "shift=0,align=off,sleep=off",
            ]
        );
        assert_eq!(
            args.iter().filter(|a| *a == "-append").count(),
            1,
            "one -append, or QEMU keeps only the last"
        );
    }

    #[test]
    fn the_mcp_channel_gets_no_monitor_or_escape_character() {
        let args = template();
        assert!(!args.contains(&"-nographic"));
        assert!(!args.iter().any(|a| a.starts_with("mon:")));
        let serial = args.iter().position(|&a| a == "-serial").unwrap();
        assert_eq!(args[serial + 1], "stdio", "the first serial port is UART0");
        let second = args.iter().rposition(|&a| a == "-serial").unwrap();
        assert!(
            args[second + 1].starts_with("file:"),
            "the log mirror goes to a file, never stdio"
        );
    }
}
