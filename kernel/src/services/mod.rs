//! Everything the OS offers, registered with the MCP server: the registry
//! that serves UART0 is the only service interface there is.
//!
//! - [`tools`]: `sys_info`, `mem_test`, `bench_mcp_dispatch`
//! - [`gpio`]: `gpio_mode`, `gpio_read`, `gpio_write`
//! - [`system`]: `time_now`, `sleep_ms`, `random_bytes`, `sys_reboot` (and
//!   `debug_hang` with `test_tools=1`)
//! - [`resources`]: `kingly://log`, `kingly://board`, `kingly://metrics`,
//!   and the template `kingly://log/{level}`
//! - [`fs`]: `fs_list`, `fs_stat`, `fs_read`, `fs_write`, `fs_delete`,
//!   `fs_mkdir`, `bench_sd_read` and the template `file:///{path}`
//! - [`llm`]: `llm_load`, `llm_info`, `llm_tokenize`, `llm_generate`,
//!   `llm_chat` (and `llm_selftest` with `test_tools=1`)
//! - [`agent`]: `agent_ask`, the on-device agent: the model chooses and
//!   calls a tool
//! - [`context`]: `kingly://context` and the template
//!   `kingly://context/{tokens}`, `memory_add`, `memory_list`,
//!   `memory_clear`, `bench_context`
//! - [`prompts`]: `board_report`, `explain_fault`
//! - [`apps`]: `app_run`, `app_list` (EL0 programs from /APPS; and
//!   `app_echo` with `test_tools=1`)
//!
//! Every tool is registered through [`crate::usage::counted`], which counts
//! its calls for `kingly://context` and the state saved on the card.

pub mod agent;
pub mod apps;
pub mod bench;
pub mod context;
pub mod fs;
pub mod gpio;
pub mod llm;
pub mod prompts;
pub mod resources;
pub mod system;
pub mod tools;

use mcp::{Server, ServerInfo};

pub const KERNEL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Every tool, resource and prompt; `test_tools` adds the test-only tools.
pub fn registry(test_tools: bool) -> Server {
    let mut server = Server::new(ServerInfo {
        name: "kingly-os",
        title: "Kingly OS",
        version: KERNEL_VERSION,
        instructions: Some(
            "Kingly OS is a bare-metal OS on a Raspberry Pi 4 (or QEMU raspi4b). Every OS service is an MCP tool, \
             resource or prompt: call sys_info for the board, read kingly://log for the kernel log and \
             kingly://metrics for counters, run mem_test to check RAM, gpio_* for the pins, time_now and \
             sleep_ms for time, random_bytes for hardware randomness, sys_reboot to reset the board, fs_* for \
             the SD card's files (8.3 names), llm_* for the on-board language model, app_run/app_list for EL0 \
             programs in /APPS; read kingly://context for a summary within a token budget and memory_add to keep \
             notes across reboots.",
        ),
    });
    let tools = tools::all()
        .into_iter()
        .chain(gpio::all())
        .chain(system::all(test_tools))
        .chain(fs::all())
        .chain(llm::all(test_tools))
        .chain(context::all())
        .chain(apps::all(test_tools))
        .chain(agent::all());
    for tool in tools {
        server.add_tool(crate::usage::counted(tool));
    }
    for resource in resources::all() {
        server.add_resource(resource);
    }
    server.add_resource(context::resource());
    server.add_resource_template(resources::log_by_level());
    server.add_resource_template(fs::file_template());
    server.add_resource_template(context::by_budget());
    for prompt in prompts::all() {
        server.add_prompt(prompt);
    }
    server
}
