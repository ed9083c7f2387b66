//! The MCP loop on core 0: UART0 bytes → lines → the `mcp` server → UART0.

use crate::console;
use mcp::{Frame, LineFramer, Server};

pub fn run(mut server: Server) -> ! {
    let mut framer = LineFramer::new();
    let mut buf = [0u8; 512];
    loop {
        let n = console::read(&mut buf);
        for &byte in &buf[..n] {
            let reply = match framer.push(byte) {
                Some(Frame::Line(line)) => server.handle_line(&line),
                Some(Frame::TooLong { len }) => Some(Server::too_long_response(len)),
                None => None,
            };
            if let Some(line) = reply {
                console::write_line(&line);
            }
        }
    }
}
