//! Everything the OS offers, registered with the MCP server: the registry
//! that serves UART0 is the only service interface there is.
//!
//! - [`tools`]: `sys_info`, `mem_test`, `bench_mcp_dispatch`
//! - [`resources`]: `kingly://log`, `kingly://board`, `kingly://metrics`,
//!   and the template `kingly://log/{level}`
//! - [`fs`]: `fs_list`, `fs_stat`, `fs_read`, `fs_write`, `fs_delete`,
//!   `fs_mkdir`, `bench_sd_read` and the template `file:///{path}`
//! - [`prompts`]: `board_report`, `explain_fault`

pub mod bench;
pub mod fs;
pub mod prompts;
pub mod resources;
pub mod tools;

use mcp::{Server, ServerInfo};

pub const KERNEL_VERSION: &str = env!("CARGO_PKG_VERSION");

pub fn registry() -> Server {
    let mut server = Server::new(ServerInfo {
        name: "kingly-os",
        title: "Kingly OS",
        version: KERNEL_VERSION,
        instructions: Some(
            "Kingly OS is a bare-metal OS on a Raspberry Pi 4 (or QEMU raspi4b). Every OS service is an MCP tool, \
             resource or prompt: call sys_info for the board, read kingly://log for the kernel log and \
             kingly://metrics for counters, run mem_test to check RAM.",
        ),
    });
    for tool in tools::all() {
        server.add_tool(tool);
    }
    for resource in resources::all() {
        server.add_resource(resource);
    }
    server.add_resource_template(resources::log_by_level());
    for tool in fs::all() {
        server.add_tool(tool);
    }
    server.add_resource_template(fs::file_template());
    for prompt in prompts::all() {
        server.add_prompt(prompt);
    }
    server
}
