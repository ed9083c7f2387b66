//! The MCP loop on core 0: UART0 frames → the `mcp` server → UART0.

use crate::transport::UartTransport;
use mcp::{Frame, Server};

pub fn run(mut server: Server) -> ! {
    let mut transport = UartTransport::new();
    loop {
        let reply = match transport.wait() {
            Frame::Line(line) => server.handle_line(&line),
            Frame::TooLong { len } => Some(Server::too_long_response(len)),
        };
        if let Some(line) = reply {
            transport.send(&line);
        }
    }
}
