//! UART0 as an MCP transport: received bytes are cut into frames by
//! `mcp::LineFramer`; replies go out as whole lines through `console`.

use crate::{console, timer, watchdog};
use mcp::{Frame, LineFramer};
use rpi4::generic_timer;

/// Bytes taken from the receive ring but not yet framed.
const CHUNK: usize = 512;

pub struct UartTransport {
    framer: LineFramer,
    chunk: [u8; CHUNK],
    pos: usize,
    len: usize,
}

impl UartTransport {
    pub const fn new() -> Self {
        Self {
            framer: LineFramer::new(),
            chunk: [0; CHUNK],
            pos: 0,
            len: 0,
        }
    }

    /// The next frame from the client, if its last byte has arrived. Every
    /// poll is a heartbeat: the loop (or a tool checking for cancellation)
    /// is alive.
    pub fn poll(&mut self) -> Option<Frame> {
        watchdog::beat();
        loop {
            while self.pos < self.len {
                let (used, frame) = self.framer.feed(&self.chunk[self.pos..self.len]);
                self.pos += used;
                if frame.is_some() {
                    return frame;
                }
            }
            self.len = console::try_read(&mut self.chunk);
            self.pos = 0;
            if self.len == 0 {
                return None;
            }
        }
    }

    /// Blocks (in `wfi`) until a whole frame has arrived, or until the
    /// generic counter reaches `deadline` (`None`). The timer tick is off
    /// meanwhile (see `timer`); the timer wakes the core for the deadline.
    pub fn wait_until(&mut self, deadline: Option<u64>) -> Option<Frame> {
        timer::set_wake(deadline);
        let frame = loop {
            if let Some(frame) = self.poll() {
                break Some(frame);
            }
            if deadline.is_some_and(|at| generic_timer::ticks() >= at) {
                break None;
            }
            timer::set_idle(true);
            console::wait_for_input();
        };
        timer::set_idle(false);
        timer::set_wake(None);
        frame
    }
}

impl mcp::Transport for UartTransport {
    fn poll_frame(&mut self) -> Option<Frame> {
        self.poll()
    }

    fn send_line(&mut self, line: &str) {
        console::write_line(line);
    }
}
