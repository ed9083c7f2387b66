//! `kingly`: build Kingly OS, run it in QEMU as an MCP stdio server, talk to it.

mod chat;
mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kingly: {e}");
            ExitCode::FAILURE
        }
    }
}
