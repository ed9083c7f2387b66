//! The VideoCore mailbox property interface (channel 8, ARM → VC).
//!
//! The firmware answers questions about the board through tagged messages
//! in a 16-byte-aligned buffer whose address is written to the mailbox.
//! Tag numbers follow the Raspberry Pi firmware's "Mailbox property
//! interface" documentation; QEMU's raspi4b implements the same tags.
//!
//! The buffer is shared with the VideoCore, which does not snoop the ARM
//! caches, so it is cleaned before the request and invalidated before the
//! answer is read: with the data cache on (as it always is once the MMU is
//! up) the firmware would otherwise read stale memory.

use crate::cache;
use crate::generic_timer::Deadline;
use crate::mmio::Mmio;
use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::{register_structs, registers::ReadOnly, registers::WriteOnly};

register_structs! {
    Registers {
        (0x00 => read: ReadOnly<u32>),
        (0x04 => _reserved0),
        (0x18 => status0: ReadOnly<u32>),
        (0x1c => _reserved1),
        (0x20 => write: WriteOnly<u32>),
        (0x24 => _reserved2),
        (0x38 => status1: ReadOnly<u32>),
        (0x3c => @END),
    }
}

const STATUS_FULL: u32 = 1 << 31;
const STATUS_EMPTY: u32 = 1 << 30;
/// Property tags, ARM to VideoCore.
const CHANNEL_PROPERTY: u32 = 8;
const REQUEST: u32 = 0;
const RESPONSE_OK: u32 = 0x8000_0000;
/// Set in a tag's request/response word when the firmware has answered it.
const TAG_RESPONSE: u32 = 0x8000_0000;

/// Tags this kernel uses.
pub mod tag {
    pub const FIRMWARE_REVISION: u32 = 0x0000_0001;
    pub const BOARD_MODEL: u32 = 0x0001_0001;
    pub const BOARD_REVISION: u32 = 0x0001_0002;
    pub const BOARD_SERIAL: u32 = 0x0001_0004;
    pub const ARM_MEMORY: u32 = 0x0001_0005;
    pub const VC_MEMORY: u32 = 0x0001_0006;
    pub const POWER_STATE: u32 = 0x0002_0001;
    pub const CLOCK_RATE: u32 = 0x0003_0002;
    pub const TEMPERATURE: u32 = 0x0003_0006;
    pub const MAX_TEMPERATURE: u32 = 0x0003_000a;
    pub const THROTTLED: u32 = 0x0003_0046;
    pub const COMMAND_LINE: u32 = 0x0005_0001;
}

/// Clock identifiers for [`tag::CLOCK_RATE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Clock {
    Emmc = 1,
    Uart = 2,
    Arm = 3,
    Core = 4,
    Emmc2 = 12,
}

impl Clock {
    pub const ALL: [Clock; 5] = [
        Clock::Arm,
        Clock::Core,
        Clock::Uart,
        Clock::Emmc,
        Clock::Emmc2,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Clock::Emmc => "emmc",
            Clock::Uart => "uart",
            Clock::Arm => "arm",
            Clock::Core => "core",
            Clock::Emmc2 => "emmc2",
        }
    }
}

/// Device identifiers for [`tag::POWER_STATE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Device {
    SdCard = 0,
    Uart0 = 1,
    Uart1 = 2,
    UsbHcd = 3,
}

impl Device {
    pub const ALL: [Device; 4] = [Device::SdCard, Device::Uart0, Device::Uart1, Device::UsbHcd];

    pub fn name(self) -> &'static str {
        match self {
            Device::SdCard => "sd_card",
            Device::Uart0 => "uart0",
            Device::Uart1 => "uart1",
            Device::UsbHcd => "usb_hcd",
        }
    }
}

/// A device's power state as the firmware reports it (bit 0: on; bit 1:
/// the device does not exist).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PowerState {
    pub on: bool,
    pub exists: bool,
}

impl PowerState {
    pub fn from_word(word: u32) -> Self {
        Self {
            on: word & 1 != 0,
            exists: word & 2 == 0,
        }
    }
}

/// Words in the shared buffer: room for the longest answer we ask for (the
/// kernel command line, up to [`COMMAND_LINE_MAX`] bytes) plus headers.
const BUFFER_WORDS: usize = 288;
/// The longest kernel command line we read.
pub const COMMAND_LINE_MAX: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailboxError {
    /// The mailbox did not accept or answer the request in time.
    Timeout,
    /// The firmware answered with an error code for the whole buffer.
    Rejected(u32),
    /// The firmware did not mark the tag as answered (unknown tag).
    TagNotAnswered,
    /// The answer is longer than the buffer we provided.
    AnswerTooLong(usize),
}

/// Writes a single-tag property request into `buf` and returns the word index
/// where the tag's value area starts. `value_bytes` is the size of the value
/// buffer (the larger of request and expected response).
pub fn encode(buf: &mut [u32], tag: u32, request: &[u32], value_bytes: usize) -> usize {
    let value_words = value_bytes.div_ceil(4).max(request.len());
    let total_words = 2 + 3 + value_words + 1;
    buf[0] = (total_words * 4) as u32;
    buf[1] = REQUEST;
    buf[2] = tag;
    buf[3] = (value_words * 4) as u32;
    buf[4] = REQUEST;
    buf[5..5 + value_words].fill(0);
    buf[5..5 + request.len()].copy_from_slice(request);
    buf[5 + value_words] = 0; // end tag
    5
}

/// Checks the firmware's answer to a message built by [`encode`] and returns
/// the response length in bytes.
pub fn decode(buf: &[u32]) -> Result<usize, MailboxError> {
    if buf[1] != RESPONSE_OK {
        return Err(MailboxError::Rejected(buf[1]));
    }
    if buf[4] & TAG_RESPONSE == 0 {
        return Err(MailboxError::TagNotAnswered);
    }
    let len = (buf[4] & !TAG_RESPONSE) as usize;
    if len > buf[3] as usize {
        return Err(MailboxError::AnswerTooLong(len));
    }
    Ok(len)
}

#[repr(C, align(64))]
struct Buffer([u32; BUFFER_WORDS]);

pub struct Mailbox {
    regs: Mmio<Registers>,
    buffer: Buffer,
}

impl Mailbox {
    /// # Safety
    /// `base` must be the identity-mapped VideoCore mailbox
    /// ([`crate::board::MAILBOX_BASE`]), only one `Mailbox` may exist, and the
    /// `Mailbox` value itself must live in RAM the VideoCore can address (the
    /// low gigabyte, where the kernel image and its statics are).
    pub const unsafe fn new(base: usize) -> Self {
        // SAFETY: forwarded from this function's contract.
        let regs = unsafe { Mmio::new(base) };
        Self {
            regs,
            buffer: Buffer([0; BUFFER_WORDS]),
        }
    }

    /// Sends one tag and returns the answered value words and the response
    /// length in bytes.
    pub fn property(
        &mut self,
        tag: u32,
        request: &[u32],
        value_bytes: usize,
    ) -> Result<(&[u32], usize), MailboxError> {
        let start = encode(&mut self.buffer.0, tag, request, value_bytes);
        let addr = self.buffer.0.as_ptr() as usize;
        let bytes = core::mem::size_of::<Buffer>();
        cache::clean_invalidate(addr, bytes);

        let deadline = Deadline::after_ms(1000);
        while self.regs.status1.get() & STATUS_FULL != 0 {
            if deadline.expired() {
                return Err(MailboxError::Timeout);
            }
        }
        // The low four bits carry the channel; the buffer is 16-byte aligned.
        self.regs.write.set(addr as u32 | CHANNEL_PROPERTY);
        loop {
            while self.regs.status0.get() & STATUS_EMPTY != 0 {
                if deadline.expired() {
                    return Err(MailboxError::Timeout);
                }
            }
            if self.regs.read.get() & 0xf == CHANNEL_PROPERTY {
                break;
            }
        }
        cache::clean_invalidate(addr, bytes);
        let len = decode(&self.buffer.0)?;
        let words = &self.buffer.0[start..start + (self.buffer.0[3] as usize) / 4];
        Ok((words, len))
    }

    fn words<const N: usize>(
        &mut self,
        tag: u32,
        request: &[u32],
    ) -> Result<[u32; N], MailboxError> {
        let (words, _) = self.property(tag, request, N * 4)?;
        let mut out = [0; N];
        out.copy_from_slice(&words[..N]);
        Ok(out)
    }

    pub fn firmware_revision(&mut self) -> Result<u32, MailboxError> {
        Ok(self.words::<1>(tag::FIRMWARE_REVISION, &[])?[0])
    }

    pub fn board_revision(&mut self) -> Result<u32, MailboxError> {
        Ok(self.words::<1>(tag::BOARD_REVISION, &[])?[0])
    }

    pub fn board_serial(&mut self) -> Result<u64, MailboxError> {
        let [lo, hi] = self.words::<2>(tag::BOARD_SERIAL, &[])?;
        Ok(u64::from(hi) << 32 | u64::from(lo))
    }

    /// The ARM's share of RAM below the VideoCore split: (base, size).
    pub fn arm_memory(&mut self) -> Result<(u32, u32), MailboxError> {
        let [base, size] = self.words::<2>(tag::ARM_MEMORY, &[])?;
        Ok((base, size))
    }

    /// The VideoCore's share of RAM: (base, size).
    pub fn vc_memory(&mut self) -> Result<(u32, u32), MailboxError> {
        let [base, size] = self.words::<2>(tag::VC_MEMORY, &[])?;
        Ok((base, size))
    }

    pub fn clock_rate_hz(&mut self, clock: Clock) -> Result<u32, MailboxError> {
        Ok(self.words::<2>(tag::CLOCK_RATE, &[clock as u32])?[1])
    }

    /// SoC temperature in thousandths of a degree Celsius.
    pub fn temperature_millicelsius(&mut self) -> Result<u32, MailboxError> {
        Ok(self.words::<2>(tag::TEMPERATURE, &[0])?[1])
    }

    pub fn max_temperature_millicelsius(&mut self) -> Result<u32, MailboxError> {
        Ok(self.words::<2>(tag::MAX_TEMPERATURE, &[0])?[1])
    }

    /// The firmware's throttling flags (tag 0x00030046): bit 0 under-voltage,
    /// 1 ARM frequency capped, 2 throttled, 3 soft temperature limit; bits
    /// 16..19 say the same conditions have occurred since boot.
    pub fn throttled(&mut self) -> Result<u32, MailboxError> {
        Ok(self.words::<1>(tag::THROTTLED, &[0])?[0])
    }

    pub fn power_state(&mut self, device: Device) -> Result<PowerState, MailboxError> {
        let [_, state] = self.words::<2>(tag::POWER_STATE, &[device as u32])?;
        Ok(PowerState::from_word(state))
    }

    /// Copies the kernel command line (config/cmdline.txt on the board,
    /// QEMU's `-append`) into `out` and returns its length. The firmware
    /// writes no terminator.
    pub fn command_line(
        &mut self,
        out: &mut [u8; COMMAND_LINE_MAX],
    ) -> Result<usize, MailboxError> {
        let (words, len) = self.property(tag::COMMAND_LINE, &[], COMMAND_LINE_MAX)?;
        let len = len.min(COMMAND_LINE_MAX);
        for (i, byte) in out.iter_mut().take(len).enumerate() {
            *byte = (words[i / 4] >> ((i % 4) * 8)) as u8;
        }
        // Some firmware versions count a trailing NUL; drop it.
        let mut len = len;
        while len > 0 && out[len - 1] == 0 {
            len -= 1;
        }
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_a_clock_rate_request() {
        let mut buf = [0xdead_beef_u32; 16];
        let start = encode(&mut buf, tag::CLOCK_RATE, &[Clock::Uart as u32], 8);
        assert_eq!(start, 5);
        assert_eq!(&buf[..8], &[32, 0, tag::CLOCK_RATE, 8, 0, 2, 0, 0]);
    }

    #[test]
    fn power_state_bits() {
        assert_eq!(
            PowerState::from_word(1),
            PowerState {
                on: true,
                exists: true
            }
        );
        assert_eq!(
            PowerState::from_word(2),
            PowerState {
                on: false,
                exists: false
            }
        );
    }

    #[test]
    fn decodes_answers_and_errors() {
        let mut buf = [0u32; 8];
        encode(&mut buf, tag::BOARD_REVISION, &[], 4);
        assert_eq!(decode(&buf), Err(MailboxError::Rejected(0)));
        buf[1] = RESPONSE_OK;
        assert_eq!(decode(&buf), Err(MailboxError::TagNotAnswered));
        buf[4] = TAG_RESPONSE | 4;
        assert_eq!(decode(&buf), Ok(4));
        buf[4] = TAG_RESPONSE | 64;
        assert_eq!(decode(&buf), Err(MailboxError::AnswerTooLong(64)));
    }

    #[test]
    fn register_offsets() {
        use core::mem::offset_of;
        assert_eq!(offset_of!(Registers, status0), 0x18);
        assert_eq!(offset_of!(Registers, write), 0x20);
        assert_eq!(offset_of!(Registers, status1), 0x38);
    }
}
