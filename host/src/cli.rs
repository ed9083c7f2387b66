//! Command-line interface: argument parsing and the `qemu`, `serial`, `image`,
//! `bench` and `chat` commands.

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use kingly::error::{Error, Result};
use kingly::image::{self, ImageSpec, DEFAULT_CMDLINE};
use kingly::{bench, bridge, kernel, qemu, workspace};

#[derive(Debug, Parser)]
#[command(
    name = "kingly",
    version,
    about = "Build Kingly OS, run it in QEMU as an MCP stdio server, talk to it"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Boot Kingly OS in QEMU as an MCP stdio server (point an MCP client's
    /// config at this command). Only MCP goes to stdout, QEMU's own messages
    /// to stderr; when stdin closes, QEMU is stopped and this exits.
    Qemu {
        /// SD card image to boot with (default: target/kingly/sd-model.img, the
        /// default card with the reference model, built when missing or stale).
        #[arg(long)]
        image: Option<PathBuf>,
        /// Kernel command line words, added after those in qemu/raspi4b.args
        /// (QEMU -append; log_uart=mini comes first).
        #[arg(long, value_name = "CMDLINE")]
        append: Option<String>,
        /// Count instructions instead of following the host clock, for
        /// repeatable timings.
        #[arg(long)]
        icount: bool,
    },
    /// Build kernel8.img and a bootable SD card image.
    Image {
        /// Where to write the image.
        #[arg(short, long, value_name = "PATH")]
        output: Option<PathBuf>,
        /// Contents of cmdline.txt.
        #[arg(long, default_value = DEFAULT_CMDLINE)]
        cmdline: String,
        /// A directory whose files are copied onto the card too: the Pi
        /// firmware (start4.elf, fixup4.dat, bcm2711-rpi-4-b.dtb) for real hardware.
        #[arg(long, value_name = "DIR")]
        boot_files: Option<PathBuf>,
        /// Copy a host file onto the card as DEST (a path on the card, e.g.
        /// notes/todo.txt); repeatable. The kernel opens files by their FAT
        /// short (8.3) name: the summary shows the one each file got.
        #[arg(long = "add", value_name = "SRC:DEST")]
        add: Vec<String>,
        /// Put a GGUF model on the card as models/<its file name>; repeatable.
        #[arg(long = "model", value_name = "PATH.gguf")]
        model: Vec<PathBuf>,
    },
    /// Bridge stdio to a real Pi 4's UART0 (GPIO 14/15) through a serial
    /// adapter: the same MCP stdio server as `kingly qemu`, for the board.
    /// Raw 8N1, no flow control; exits when stdin closes.
    Serial {
        /// The serial device, e.g. /dev/ttyUSB0.
        device: String,
        /// Must match the kernel's (cmdline.txt `baud=`, default 115200).
        #[arg(long, default_value_t = 115_200)]
        baud: u32,
    },
    /// Boot QEMU under -icount and print the kernel's measurements in guest
    /// instructions: boot to ready, MCP dispatch (JSON and postcard).
    Bench {
        /// SD card image to boot with (default: target/kingly/sd-model.img, the
        /// default card with the reference model, built when missing or stale).
        #[arg(long)]
        image: Option<PathBuf>,
        /// One JSON object (figure name → value, unit, goal) instead of a table.
        #[arg(long)]
        json: bool,
        /// Also draw guest instructions against tokens generated (one core
        /// and four) as a PNG chart here (needs a model on the card).
        #[arg(long, value_name = "FILE.png")]
        plot: Option<PathBuf>,
        /// Leave out the agent's figures (agent_ask's fixed prompt alone
        /// takes minutes of QEMU time).
        #[arg(long)]
        no_agent: bool,
    },
    /// Chat with the model on the board and call its tools, in a REPL
    /// (`/help` lists its commands). Boots QEMU, or talks to a real Pi over
    /// a serial adapter with --serial; loads the model on the card.
    Chat {
        /// SD card image to boot in QEMU (default: target/kingly/sd-model.img,
        /// the default card with the reference model).
        #[arg(long, conflicts_with = "serial")]
        image: Option<PathBuf>,
        /// A real board's serial device (e.g. /dev/ttyUSB0) instead of QEMU.
        #[arg(long, value_name = "DEVICE")]
        serial: Option<String>,
        /// With --serial: must match the kernel's (cmdline.txt `baud=`).
        #[arg(long, default_value_t = 115_200)]
        baud: u32,
        /// The longest reply, in tokens (`/max N` changes it).
        #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u32).range(1..))]
        max_tokens: u32,
    },
}

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Cmd::Qemu {
            image,
            append,
            icount,
        } => {
            let (kernel8, image) = artifacts(image)?;
            let mut extra = Vec::new();
            if icount {
                extra.extend(qemu::ICOUNT_ARGS);
            }
            if let Some(cmdline) = &append {
                extra.extend(qemu::append_args(cmdline));
            }
            let status = bridge::serve_qemu(qemu::qemu_command(&kernel8, &image, &extra))?;
            // Stopped by us after stdin closed (SIGTERM) is a clean end.
            std::process::exit(status.code().unwrap_or(0))
        }
        Cmd::Serial { device, baud } => bridge::serve_serial(&device, baud),
        Cmd::Bench {
            image,
            json,
            plot,
            no_agent,
        } => {
            let (kernel8, image) = artifacts(image)?;
            let report = bench::measure(&kernel8, &image, !no_agent)?;
            if json {
                println!("{}", bench::to_json(&report.figures));
            } else {
                print!("{}", bench::table(&report.figures));
            }
            if let Some(path) = plot {
                if report.tokens.is_empty() {
                    return Err(Error::Plot(format!(
                        "nothing to draw: no model in /MODELS on {}",
                        image.display()
                    )));
                }
                let title = "Kingly OS: SmolLM2-135M in the kernel, guest instructions per token";
                kingly::plot::tokens_chart(&path, title, &report.tokens)?;
                eprintln!("kingly: wrote {}", path.display());
            }
            Ok(())
        }
        Cmd::Image {
            output,
            cmdline,
            boot_files,
            add,
            model,
        } => {
            let kernel8 = kernel::build_kernel()?;
            let output = output.unwrap_or_else(workspace::default_image);
            let mut spec = ImageSpec::new(kernel8);
            spec.cmdline = cmdline;
            if let Some(dir) = boot_files {
                spec.extra_files = image::files_in_dir(&dir)?;
            }
            kingly::apps::add_apps(&mut spec)?;
            for arg in &add {
                spec.host_files.push(image::parse_add(arg)?);
            }
            for path in &model {
                spec.host_files.push(image::model_entry(path)?);
            }
            image::build_image(&output, &spec)?;
            print_summary(&output)?;
            let added: Vec<String> = spec.host_files.iter().map(|(n, _)| n.clone()).collect();
            for (name, short) in image::short_paths(&output, &added)? {
                println!("  added      {name:<24} kernel path {short}");
            }
            Ok(())
        }
        Cmd::Chat {
            image,
            serial,
            baud,
            max_tokens,
        } => {
            let target = match serial {
                Some(device) => crate::chat::Target::Serial { device, baud },
                None => crate::chat::Target::Qemu { image },
            };
            crate::chat::run(target, max_tokens)
        }
    }
}

/// kernel8.img, built or refreshed, and the image to boot: the one given, or
/// the default card with the reference model, built when missing or stale.
fn artifacts(image: Option<PathBuf>) -> Result<(PathBuf, PathBuf)> {
    match image {
        None => kingly::ensure_model_artifacts(),
        Some(image) if image.is_file() => Ok((kernel::build_kernel()?, image)),
        Some(image) => Err(Error::Image(format!("{} does not exist", image.display()))),
    }
}

fn print_summary(path: &Path) -> Result<()> {
    let s = image::inspect(path)?;
    let p = &s.partition;
    println!("{}", path.display());
    println!("  size       {} MiB ({} bytes)", s.size >> 20, s.size);
    println!(
        "  partition  type {:#04x}{}, sectors {}..{}",
        p.sys,
        if p.is_active() { ", bootable" } else { "" },
        p.starting_lba,
        u64::from(p.starting_lba) + u64::from(p.sectors)
    );
    println!(
        "  volume     {} ({:?}, {}-byte clusters)",
        s.volume_label, s.fat_type, s.cluster_bytes
    );
    for (name, size) in &s.files {
        println!("  file       {name:<24} {size:>10} bytes");
    }
    Ok(())
}
