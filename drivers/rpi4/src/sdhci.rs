//! SD Host Controller (SDHCI) for the BCM2711's two SD controllers: EMMC2
//! at 0xFE340000 (the Pi 4's card slot) and the legacy Arasan EMMC at
//! 0xFE300000 (the Wi-Fi SDIO on a Pi 4; where QEMU 10's raspi4b attaches
//! `-drive if=sd`). Both follow the SD Host Controller Simplified
//! Specification (v3.00) register map, so one driver serves both.
//!
//! What it does: card detection (present-state register), full SD
//! initialisation (CMD0, CMD8, ACMD41 with HCS, CMD2/3/9/7, ACMD6 for the
//! 4-bit bus, CMD16 on byte-addressed cards), the SD clock derived from the
//! controller's base clock by the divisor, SDSC (byte addresses) and
//! SDHC/SDXC (block addresses), single- and multi-block reads and writes
//! (CMD17/18/24/25, multi-block stopped by auto-CMD12). Data moves by
//! ADMA2 when the capabilities register offers it and the caller enabled it
//! ([`Sdhci::enable_dma`], which checks it against a PIO read), with cache
//! clean/invalidate around the buffers; otherwise, and for buffers ADMA2
//! cannot address, by programmed I/O through the 32-bit buffer data port.
//! QEMU's model offers no DMA, so there the PIO path is the one used.
//!
//! Every wait is bounded by a [`Deadline`], and every error interrupt is an
//! [`SdError`]: a missing card, a removed card or a failing command never
//! hangs the caller. Registers are only accessed 32 bits at a time (the
//! BCM2835's Arasan block drops narrower writes).

use crate::cache;
use crate::generic_timer::Deadline;
use crate::mmio::Mmio;
use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::{register_structs, registers::ReadOnly, registers::ReadWrite};

register_structs! {
    Registers {
        (0x00 => sdma_address: ReadWrite<u32>),
        /// Block size (bits 0–11) and block count (bits 16–31).
        (0x04 => block_size_count: ReadWrite<u32>),
        (0x08 => argument: ReadWrite<u32>),
        /// Transfer mode (bits 0–15) and command (bits 16–31); writing the
        /// command's top byte issues it.
        (0x0c => command_transfer: ReadWrite<u32>),
        (0x10 => response: [ReadOnly<u32>; 4]),
        (0x20 => buffer_data_port: ReadWrite<u32>),
        (0x24 => present_state: ReadOnly<u32>),
        /// Host control 1 (bits 0–7), power control (8–15), block gap
        /// (16–23), wake-up (24–31).
        (0x28 => host_control: ReadWrite<u32>),
        /// Clock control (bits 0–15), timeout control (16–23), software
        /// reset (24–31).
        (0x2c => clock_control: ReadWrite<u32>),
        /// Normal (bits 0–15) and error (16–31) interrupt status; write 1 to
        /// clear.
        (0x30 => interrupt_status: ReadWrite<u32>),
        (0x34 => interrupt_status_enable: ReadWrite<u32>),
        (0x38 => interrupt_signal_enable: ReadWrite<u32>),
        (0x3c => auto_cmd_error_host_control2: ReadWrite<u32>),
        (0x40 => capabilities: [ReadOnly<u32>; 2]),
        (0x48 => _reserved0),
        (0x58 => adma_address: ReadWrite<u32>),
        (0x5c => adma_address_high: ReadWrite<u32>),
        (0x60 => _reserved1),
        /// Slot interrupt status (bits 0–15), host controller version (16–23).
        (0xfc => slot_interrupt_version: ReadOnly<u32>),
        (0x100 => @END),
    }
}

// Present state.
const STATE_CMD_INHIBIT: u32 = 1 << 0;
const STATE_DAT_INHIBIT: u32 = 1 << 1;
const STATE_CARD_INSERTED: u32 = 1 << 16;

// Host control 1 and power control.
const HOST_4BIT: u32 = 1 << 1;
/// DMA select (bits 3–4): 0b10 = ADMA2 with 32-bit addresses.
const HOST_DMA_MASK: u32 = 0b11 << 3;
const HOST_ADMA2_32: u32 = 0b10 << 3;
/// 3.3 V (0b111 in bits 9–11) and bus power on (bit 8).
const POWER_3V3_ON: u32 = 0b1111 << 8;

// Clock control and software reset.
const CLOCK_INTERNAL_ENABLE: u32 = 1 << 0;
const CLOCK_INTERNAL_STABLE: u32 = 1 << 1;
const CLOCK_SD_ENABLE: u32 = 1 << 2;
/// Data timeout counter: TMCLK × 2^27, the largest.
const DATA_TIMEOUT_MAX: u32 = 0xe << 16;
const RESET_ALL: u32 = 1 << 24;
const RESET_CMD: u32 = 1 << 25;
const RESET_DAT: u32 = 1 << 26;

// Interrupt status.
const INT_CMD_DONE: u32 = 1 << 0;
const INT_DATA_DONE: u32 = 1 << 1;
const INT_WRITE_READY: u32 = 1 << 4;
const INT_READ_READY: u32 = 1 << 5;
const INT_ERROR: u32 = 1 << 15;
const INT_ERROR_MASK: u32 = 0xffff_0000;
/// Normal status bits 0–7 (not card interrupt) and the standard error bits.
const INT_ENABLE_ALL: u32 = 0x03ff_00ff;

// Transfer mode (low half of command_transfer).
const TM_DMA: u32 = 1 << 0;
const TM_BLOCK_COUNT_ENABLE: u32 = 1 << 1;
const TM_AUTO_CMD12: u32 = 1 << 2;
const TM_READ: u32 = 1 << 4;
const TM_MULTI_BLOCK: u32 = 1 << 5;

// Command register (high half of command_transfer), before the shift.
const RESP_NONE: u32 = 0b00;
const RESP_136: u32 = 0b01;
const RESP_48: u32 = 0b10;
const RESP_48_BUSY: u32 = 0b11;
const CMD_CRC_CHECK: u32 = 1 << 3;
const CMD_INDEX_CHECK: u32 = 1 << 4;
const CMD_DATA: u32 = 1 << 5;

// Capabilities (low word).
const CAP_SDMA: u32 = 1 << 22;
const CAP_ADMA2: u32 = 1 << 19;

// ADMA2 descriptor (32-bit addressing): attribute bits, length in bits
// 16–31 (0 = 65536), address in bits 32–63.
const ADMA_VALID: u64 = 1 << 0;
const ADMA_END: u64 = 1 << 1;
const ADMA_TRANSFER: u64 = 0b10 << 4;
const ADMA_MAX_LENGTH: usize = 65536;
/// Descriptors in the table: 4 MiB per ADMA2 transfer.
const ADMA_DESCRIPTORS: usize = 64;
const ADMA_MAX_TRANSFER: usize = ADMA_DESCRIPTORS * ADMA_MAX_LENGTH;

pub const BLOCK_BYTES: usize = 512;
const BLOCK_WORDS: usize = BLOCK_BYTES / 4;
/// The block-count field is 16 bits wide.
pub const MAX_BLOCKS_PER_TRANSFER: usize = 0xffff;

const IDENTIFICATION_HZ: u32 = 400_000;
/// Default speed: every SD card supports it without a CMD6 switch.
const TRANSFER_HZ: u32 = 25_000_000;

const COMMAND_TIMEOUT_MS: u64 = 500;
const RESET_TIMEOUT_MS: u64 = 200;
/// ACMD41: cards must finish powering up within one second.
const POWER_UP_TIMEOUT_MS: u64 = 1000;
/// A data transfer's deadline: a fixed allowance plus time per block.
const DATA_TIMEOUT_MS: u64 = 1000;
const DATA_TIMEOUT_MS_PER_64_BLOCKS: u64 = 100;

/// The command that failed, or what was being waited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdError {
    /// The present-state register reports no card in the slot.
    NoCard,
    /// A software reset or the internal clock did not settle.
    ControllerTimeout,
    /// A command did not complete in time.
    CommandTimeout { cmd: u8 },
    /// The controller raised error interrupts (bits 16–31 of the status)
    /// for a command.
    CommandError { cmd: u8, status: u32 },
    /// A data transfer raised error interrupts or did not finish in time
    /// (`status` is 0 for a timeout).
    DataError { cmd: u8, status: u32 },
    /// The card answered CMD8 with the wrong check pattern, never finished
    /// powering up, or described itself in a way this driver does not read.
    UnusableCard(&'static str),
    /// A request past the end of the card or not a whole number of blocks.
    OutOfRange,
}

impl core::fmt::Display for SdError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SdError::NoCard => write!(f, "no SD card in the slot"),
            SdError::ControllerTimeout => write!(f, "the SD controller did not come out of reset"),
            SdError::CommandTimeout { cmd } => write!(f, "SD command CMD{cmd} timed out"),
            SdError::CommandError { cmd, status } => {
                write!(
                    f,
                    "SD command CMD{cmd} failed (interrupt status {status:#010x})"
                )
            }
            SdError::DataError { cmd, status: 0 } => {
                write!(f, "SD data transfer (CMD{cmd}) timed out")
            }
            SdError::DataError { cmd, status } => {
                write!(
                    f,
                    "SD data transfer (CMD{cmd}) failed (interrupt status {status:#010x})"
                )
            }
            SdError::UnusableCard(why) => write!(f, "unusable SD card: {why}"),
            SdError::OutOfRange => write!(f, "block range outside the SD card"),
        }
    }
}

impl core::error::Error for SdError {}

/// What the capabilities and version registers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    pub raw: u64,
    /// SD Host Controller specification: 1, 2 or 3.
    pub spec_version: u8,
    pub sdma: bool,
    pub adma2: bool,
    /// Base clock in Hz from bits 8–15 (0 if the controller does not say).
    pub base_clock_hz: u32,
}

impl Capabilities {
    pub fn from_registers(low: u32, high: u32, version: u32) -> Self {
        let spec_version = ((version >> 16) & 0xff) as u8 + 1;
        let base_mask = if spec_version >= 3 { 0xff } else { 0x3f };
        Self {
            raw: u64::from(high) << 32 | u64::from(low),
            spec_version,
            sdma: low & CAP_SDMA != 0,
            adma2: low & CAP_ADMA2 != 0,
            base_clock_hz: ((low >> 8) & base_mask) * 1_000_000,
        }
    }
}

/// The initialised card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardInfo {
    /// SDHC/SDXC: commands take block numbers; SDSC: byte addresses.
    pub block_addressed: bool,
    pub blocks: u32,
    pub rca: u16,
    /// The card's CID register (manufacturer, product name, serial).
    pub cid: [u32; 4],
    /// The SD clock after initialisation.
    pub clock_hz: u32,
    pub bus_width: u8,
}

/// The SD clock divisor field of the clock-control register (bits 6–15)
/// for at most `target_hz` from `base_hz`: a 10-bit divided-clock N with
/// SD clock = base / 2N (N = 0: the base clock itself) on v3 controllers, a
/// power of two up to 256 on older ones. Returns (field, resulting Hz).
pub fn clock_divider(base_hz: u32, target_hz: u32, spec_version: u8) -> (u32, u32) {
    if base_hz <= target_hz {
        return (0, base_hz);
    }
    if spec_version >= 3 {
        let n = base_hz.div_ceil(2 * target_hz).min(0x3ff);
        let field = ((n & 0xff) << 8) | ((n >> 8) << 6);
        (field, base_hz / (2 * n))
    } else {
        let mut div = 2;
        while div < 256 && base_hz / div > target_hz {
            div *= 2;
        }
        ((div / 2) << 8, base_hz / div)
    }
}

/// Bits `hi..=lo` of a card's 128-bit CSD, given the four response
/// registers of an R2 answer (which hold CSD bits 127–8; the CRC byte is
/// not stored).
pub fn csd_bits(response: [u32; 4], hi: u32, lo: u32) -> u32 {
    let raw = u128::from(response[0])
        | u128::from(response[1]) << 32
        | u128::from(response[2]) << 64
        | u128::from(response[3]) << 96;
    let csd = raw << 8;
    ((csd >> lo) & ((1u128 << (hi - lo + 1)) - 1)) as u32
}

/// The card's size in 512-byte blocks from its CSD (versions 1.0 and 2.0).
pub fn csd_blocks(response: [u32; 4]) -> Result<u32, SdError> {
    match csd_bits(response, 127, 126) {
        0 => {
            let c_size = csd_bits(response, 73, 62) as u64;
            let mult = csd_bits(response, 49, 47);
            let read_bl_len = csd_bits(response, 83, 80);
            let bytes = (c_size + 1) << (mult + 2) << read_bl_len;
            Ok((bytes / BLOCK_BYTES as u64) as u32)
        }
        1 => {
            let c_size = u64::from(csd_bits(response, 69, 48));
            Ok(((c_size + 1) * 1024).min(u64::from(u32::MAX)) as u32)
        }
        _ => Err(SdError::UnusableCard("unknown CSD structure version")),
    }
}

/// The ADMA2 descriptor table; the controller reads it from memory.
#[repr(C, align(64))]
struct DescriptorTable([u64; ADMA_DESCRIPTORS]);

pub struct Sdhci {
    regs: Mmio<Registers>,
    card: Option<CardInfo>,
    /// Added to an ARM physical address to get the address the controller
    /// uses on its bus; `None` = PIO only.
    dma_bus_offset: Option<u64>,
    table: DescriptorTable,
}

/// A block-sized buffer ADMA2 can use (32-bit ADMA2 wants 4-byte
/// alignment; a cache line keeps the maintenance to this buffer).
#[repr(C, align(64))]
struct AlignedBlock([u8; BLOCK_BYTES]);

impl Sdhci {
    /// # Safety
    /// `base` must be an identity-mapped SDHCI register block that answers
    /// reads (EMMC2 [`crate::board::EMMC2_BASE`] or the legacy EMMC
    /// [`crate::board::EMMC_BASE`]), and only one `Sdhci` may exist per
    /// controller.
    pub const unsafe fn new(base: usize) -> Self {
        // SAFETY: forwarded from this function's contract.
        let regs = unsafe { Mmio::new(base) };
        Self {
            regs,
            card: None,
            dma_bus_offset: None,
            table: DescriptorTable([0; ADMA_DESCRIPTORS]),
        }
    }

    /// Whether transfers use ADMA2.
    pub fn dma_enabled(&self) -> bool {
        self.dma_bus_offset.is_some()
    }

    /// Uses ADMA2 from now on if the controller offers it, with
    /// `bus_offset` added to ARM physical addresses (the controller's view
    /// of RAM; identity-mapped RAM means virtual = physical). Checked by
    /// reading block 0 both ways after [`Self::init`]: on any difference or
    /// error DMA stays off. Returns whether it is on.
    pub fn enable_dma(&mut self, bus_offset: u64) -> bool {
        self.dma_bus_offset = None;
        if !self.capabilities().adma2 || self.card.is_none() {
            return false;
        }
        let mut pio = AlignedBlock([0; BLOCK_BYTES]);
        let mut dma = AlignedBlock([0xa5; BLOCK_BYTES]);
        if self.read_blocks(0, &mut pio.0).is_err() {
            return false;
        }
        let host = self.regs.host_control.get() & !HOST_DMA_MASK;
        self.regs.host_control.set(host | HOST_ADMA2_32);
        self.dma_bus_offset = Some(bus_offset);
        if self.read_blocks(0, &mut dma.0).is_err() || dma.0 != pio.0 {
            self.dma_bus_offset = None;
        }
        self.dma_bus_offset.is_some()
    }

    /// The bus address of `[addr, addr + len)` if ADMA2 can reach it.
    fn dma_address(&self, addr: usize, len: usize) -> Option<u32> {
        let offset = self.dma_bus_offset?;
        let bus = (addr as u64).checked_add(offset)?;
        let aligned = addr.is_multiple_of(4);
        (aligned && bus + len as u64 <= u64::from(u32::MAX)).then_some(bus as u32)
    }

    pub fn base(&self) -> usize {
        self.regs.base()
    }

    pub fn capabilities(&self) -> Capabilities {
        Capabilities::from_registers(
            self.regs.capabilities[0].get(),
            self.regs.capabilities[1].get(),
            self.regs.slot_interrupt_version.get(),
        )
    }

    /// Whether the card-detect logic reports a card.
    pub fn card_present(&self) -> bool {
        self.regs.present_state.get() & STATE_CARD_INSERTED != 0
    }

    pub fn card(&self) -> Option<CardInfo> {
        self.card
    }

    /// Resets the controller and brings up the card. `base_clock_hz` is the
    /// controller's input clock (the firmware's EMMC clock); 0 means use
    /// what the capabilities register says.
    pub fn init(&mut self, base_clock_hz: u32) -> Result<CardInfo, SdError> {
        self.card = None;
        self.regs.clock_control.set(RESET_ALL);
        self.wait_clear(|r| r.clock_control.get() & RESET_ALL, RESET_TIMEOUT_MS)?;
        if !self.card_present() {
            return Err(SdError::NoCard);
        }
        let caps = self.capabilities();
        let base = if base_clock_hz != 0 {
            base_clock_hz
        } else {
            caps.base_clock_hz
        };
        if base == 0 {
            return Err(SdError::UnusableCard(
                "the controller's base clock is unknown",
            ));
        }
        self.regs.host_control.set(POWER_3V3_ON);
        // Status bits are latched only when enabled; nothing is signalled
        // to the GIC: the driver polls.
        self.regs.interrupt_status_enable.set(INT_ENABLE_ALL);
        self.regs.interrupt_signal_enable.set(0);
        self.set_clock(base, IDENTIFICATION_HZ, caps.spec_version)?;
        self.regs.interrupt_status.set(0xffff_ffff);

        self.command(0, 0, RESP_NONE)?;
        // CMD8 (SEND_IF_COND): 2.7–3.6 V, check pattern 0xAA. Version 1
        // cards do not answer; they cannot be high capacity either.
        let v2 = match self.command(8, 0x1aa, RESP_48 | CMD_CRC_CHECK | CMD_INDEX_CHECK) {
            Ok(r) if r[0] & 0xfff == 0x1aa => true,
            Ok(_) => return Err(SdError::UnusableCard("CMD8 check pattern mismatch")),
            Err(SdError::CommandTimeout { .. } | SdError::CommandError { .. }) => {
                self.reset_lines(RESET_CMD);
                false
            }
            Err(e) => return Err(e),
        };
        let ocr = self.power_up(v2)?;
        let block_addressed = ocr & (1 << 30) != 0;
        let cid = self.command(2, 0, RESP_136 | CMD_CRC_CHECK)?;
        let rca = (self.command(3, 0, RESP_48 | CMD_CRC_CHECK | CMD_INDEX_CHECK)?[0] >> 16) as u16;
        let csd = self.command(9, u32::from(rca) << 16, RESP_136 | CMD_CRC_CHECK)?;
        let blocks = csd_blocks(csd)?;
        self.command(
            7,
            u32::from(rca) << 16,
            RESP_48_BUSY | CMD_CRC_CHECK | CMD_INDEX_CHECK,
        )?;
        // ACMD6: 4-bit bus on both ends.
        self.app_command(rca, 6, 2, RESP_48 | CMD_CRC_CHECK | CMD_INDEX_CHECK)?;
        let host = self.regs.host_control.get();
        self.regs.host_control.set(host | HOST_4BIT);
        if !block_addressed {
            // CMD16: byte-addressed cards get an explicit 512-byte block.
            self.command(
                16,
                BLOCK_BYTES as u32,
                RESP_48 | CMD_CRC_CHECK | CMD_INDEX_CHECK,
            )?;
        }
        let clock_hz = self.set_clock(base, TRANSFER_HZ, caps.spec_version)?;
        let info = CardInfo {
            block_addressed,
            blocks,
            rca,
            cid,
            clock_hz,
            bus_width: 4,
        };
        self.card = Some(info);
        Ok(info)
    }

    /// ACMD41 until the card reports power-up done; returns the OCR.
    fn power_up(&mut self, v2: bool) -> Result<u32, SdError> {
        // HCS (bit 30) if the card answered CMD8; 3.2–3.4 V window.
        let arg = if v2 { 1 << 30 } else { 0 } | 0x00ff_8000;
        let deadline = Deadline::after_ms(POWER_UP_TIMEOUT_MS);
        loop {
            // R3 carries no CRC or index.
            let ocr = self.app_command(0, 41, arg, RESP_48)?[0];
            if ocr & (1 << 31) != 0 {
                return Ok(ocr);
            }
            if deadline.expired() {
                return Err(SdError::UnusableCard(
                    "ACMD41: the card never finished powering up",
                ));
            }
            let pause = Deadline::after_ms(2);
            while !pause.expired() {
                core::hint::spin_loop();
            }
        }
    }

    fn app_command(
        &mut self,
        rca: u16,
        cmd: u8,
        arg: u32,
        flags: u32,
    ) -> Result<[u32; 4], SdError> {
        self.command(
            55,
            u32::from(rca) << 16,
            RESP_48 | CMD_CRC_CHECK | CMD_INDEX_CHECK,
        )?;
        self.command(cmd, arg, flags)
    }

    /// Sets the SD clock to at most `target_hz`; returns the rate set.
    fn set_clock(
        &mut self,
        base_hz: u32,
        target_hz: u32,
        spec_version: u8,
    ) -> Result<u32, SdError> {
        let (field, hz) = clock_divider(base_hz, target_hz, spec_version);
        // The SD clock must be off while the divisor changes.
        self.regs.clock_control.set(DATA_TIMEOUT_MAX);
        self.regs
            .clock_control
            .set(DATA_TIMEOUT_MAX | field | CLOCK_INTERNAL_ENABLE);
        let deadline = Deadline::after_ms(RESET_TIMEOUT_MS);
        while self.regs.clock_control.get() & CLOCK_INTERNAL_STABLE == 0 {
            if deadline.expired() {
                return Err(SdError::ControllerTimeout);
            }
        }
        self.regs
            .clock_control
            .set(DATA_TIMEOUT_MAX | field | CLOCK_INTERNAL_ENABLE | CLOCK_SD_ENABLE);
        Ok(hz)
    }

    fn wait_clear(&self, bits: impl Fn(&Registers) -> u32, ms: u64) -> Result<(), SdError> {
        let deadline = Deadline::after_ms(ms);
        while bits(&self.regs) != 0 {
            if deadline.expired() {
                return Err(SdError::ControllerTimeout);
            }
        }
        Ok(())
    }

    /// Software reset of the command and/or data line after an error.
    fn reset_lines(&self, which: u32) {
        let clock = self.regs.clock_control.get() & 0x00ff_ffff;
        self.regs.clock_control.set(clock | which);
        let _ = self.wait_clear(|r| r.clock_control.get() & which, RESET_TIMEOUT_MS);
        self.regs.interrupt_status.set(0xffff_ffff);
    }

    /// Issues a command without data and returns the response registers.
    fn command(&mut self, cmd: u8, arg: u32, flags: u32) -> Result<[u32; 4], SdError> {
        self.issue(cmd, arg, flags, 0)?;
        if flags & 0b11 == RESP_48_BUSY {
            // The card holds DAT0 low while busy; the controller reports the
            // end as "transfer complete".
            self.wait_interrupt(cmd, INT_DATA_DONE, COMMAND_TIMEOUT_MS, false)?;
        }
        Ok(self.response())
    }

    fn response(&self) -> [u32; 4] {
        [
            self.regs.response[0].get(),
            self.regs.response[1].get(),
            self.regs.response[2].get(),
            self.regs.response[3].get(),
        ]
    }

    /// Writes argument, transfer mode and command, and waits for the
    /// command to complete.
    fn issue(&mut self, cmd: u8, arg: u32, flags: u32, transfer_mode: u32) -> Result<(), SdError> {
        let inhibit = if flags & CMD_DATA != 0 || flags & 0b11 == RESP_48_BUSY {
            STATE_CMD_INHIBIT | STATE_DAT_INHIBIT
        } else {
            STATE_CMD_INHIBIT
        };
        if self
            .wait_clear(|r| r.present_state.get() & inhibit, COMMAND_TIMEOUT_MS)
            .is_err()
        {
            self.reset_lines(RESET_CMD | RESET_DAT);
            return Err(SdError::CommandTimeout { cmd });
        }
        self.regs.interrupt_status.set(0xffff_ffff);
        self.regs.argument.set(arg);
        let command = (u32::from(cmd) << 8) | flags;
        self.regs
            .command_transfer
            .set(command << 16 | transfer_mode);
        self.wait_interrupt(cmd, INT_CMD_DONE, COMMAND_TIMEOUT_MS, false)
    }

    /// Waits for `bit` in the interrupt status and clears it. An error
    /// interrupt or the deadline resets the lines and is returned.
    fn wait_interrupt(&self, cmd: u8, bit: u32, ms: u64, data: bool) -> Result<(), SdError> {
        let deadline = Deadline::after_ms(ms);
        loop {
            let status = self.regs.interrupt_status.get();
            if status & INT_ERROR != 0 {
                self.reset_lines(RESET_CMD | RESET_DAT);
                return Err(if data {
                    SdError::DataError { cmd, status }
                } else {
                    SdError::CommandError {
                        cmd,
                        status: status & INT_ERROR_MASK,
                    }
                });
            }
            if status & bit != 0 {
                self.regs.interrupt_status.set(bit);
                return Ok(());
            }
            if deadline.expired() {
                self.reset_lines(RESET_CMD | RESET_DAT);
                return Err(if data {
                    SdError::DataError { cmd, status: 0 }
                } else {
                    SdError::CommandTimeout { cmd }
                });
            }
        }
    }

    fn checked(&self, start: u32, bytes: usize) -> Result<CardInfo, SdError> {
        let card = self.card.ok_or(SdError::NoCard)?;
        if !self.card_present() {
            return Err(SdError::NoCard);
        }
        let blocks = bytes / BLOCK_BYTES;
        if !bytes.is_multiple_of(BLOCK_BYTES)
            || u64::from(start) + blocks as u64 > u64::from(card.blocks)
        {
            return Err(SdError::OutOfRange);
        }
        Ok(card)
    }

    /// The command argument for block `block`: its number or, on SDSC
    /// cards, its byte address.
    fn address(card: &CardInfo, block: u32) -> u32 {
        if card.block_addressed {
            block
        } else {
            block * BLOCK_BYTES as u32
        }
    }

    /// Reads whole blocks starting at `start` into `buf` (a multiple of 512
    /// bytes), in multi-block transfers of up to 65535 blocks.
    pub fn read_blocks(&mut self, start: u32, buf: &mut [u8]) -> Result<(), SdError> {
        let card = self.checked(start, buf.len())?;
        let mut block = start;
        for chunk in buf.chunks_mut(self.max_transfer()) {
            self.read_transfer(&card, block, chunk)?;
            block += (chunk.len() / BLOCK_BYTES) as u32;
        }
        Ok(())
    }

    fn max_transfer(&self) -> usize {
        if self.dma_enabled() {
            ADMA_MAX_TRANSFER
        } else {
            MAX_BLOCKS_PER_TRANSFER * BLOCK_BYTES
        }
    }

    fn read_transfer(
        &mut self,
        card: &CardInfo,
        block: u32,
        buf: &mut [u8],
    ) -> Result<(), SdError> {
        let count = buf.len() / BLOCK_BYTES;
        let (cmd, mode) = if count == 1 {
            (17, TM_READ)
        } else {
            (
                18,
                TM_READ | TM_MULTI_BLOCK | TM_BLOCK_COUNT_ENABLE | TM_AUTO_CMD12,
            )
        };
        self.regs
            .block_size_count
            .set((count as u32) << 16 | BLOCK_BYTES as u32);
        let flags = RESP_48 | CMD_CRC_CHECK | CMD_INDEX_CHECK | CMD_DATA;
        let addr = buf.as_mut_ptr() as usize;
        if let Some(bus) = self.dma_address(addr, buf.len()) {
            // Nothing dirty may be written back over what the card delivers.
            cache::clean_invalidate(addr, buf.len());
            let result = self.dma_transfer(card, cmd, block, bus, buf.len(), mode);
            // Lines fetched speculatively during the transfer are stale.
            cache::clean_invalidate(addr, buf.len());
            return result;
        }
        self.issue(cmd, Self::address(card, block), flags, mode)?;
        let deadline = Deadline::after_ms(data_timeout_ms(count));
        for out in buf.chunks_exact_mut(BLOCK_BYTES) {
            self.wait_data(cmd, INT_READ_READY, &deadline)?;
            self.read_fifo_block(out);
        }
        self.wait_data(cmd, INT_DATA_DONE, &deadline)
    }

    /// Copies one block from the buffer data port: 128 32-bit reads, the
    /// loop the whole PIO read path's speed depends on.
    #[inline(always)]
    fn read_fifo_block(&self, out: &mut [u8]) {
        let port = &self.regs.buffer_data_port;
        for word in out.chunks_exact_mut(16) {
            let a = port.get();
            let b = port.get();
            let c = port.get();
            let d = port.get();
            word[0..4].copy_from_slice(&a.to_le_bytes());
            word[4..8].copy_from_slice(&b.to_le_bytes());
            word[8..12].copy_from_slice(&c.to_le_bytes());
            word[12..16].copy_from_slice(&d.to_le_bytes());
        }
        debug_assert_eq!(out.len(), BLOCK_WORDS * 4);
    }

    /// Writes `buf` (a multiple of 512 bytes) to the card from block
    /// `start`. Returns once the controller reports the transfer complete,
    /// which includes the card's busy signal after the last block.
    pub fn write_blocks(&mut self, start: u32, buf: &[u8]) -> Result<(), SdError> {
        let card = self.checked(start, buf.len())?;
        let mut block = start;
        for chunk in buf.chunks(self.max_transfer()) {
            self.write_transfer(&card, block, chunk)?;
            block += (chunk.len() / BLOCK_BYTES) as u32;
        }
        Ok(())
    }

    fn write_transfer(&mut self, card: &CardInfo, block: u32, buf: &[u8]) -> Result<(), SdError> {
        let count = buf.len() / BLOCK_BYTES;
        let (cmd, mode) = if count == 1 {
            (24, 0)
        } else {
            (25, TM_MULTI_BLOCK | TM_BLOCK_COUNT_ENABLE | TM_AUTO_CMD12)
        };
        self.regs
            .block_size_count
            .set((count as u32) << 16 | BLOCK_BYTES as u32);
        let flags = RESP_48 | CMD_CRC_CHECK | CMD_INDEX_CHECK | CMD_DATA;
        let addr = buf.as_ptr() as usize;
        if let Some(bus) = self.dma_address(addr, buf.len()) {
            // The controller reads memory, not the cache.
            cache::clean(addr, buf.len());
            return self.dma_transfer(card, cmd, block, bus, buf.len(), mode);
        }
        self.issue(cmd, Self::address(card, block), flags, mode)?;
        let deadline = Deadline::after_ms(data_timeout_ms(count));
        let port = &self.regs.buffer_data_port;
        for data in buf.chunks_exact(BLOCK_BYTES) {
            self.wait_data(cmd, INT_WRITE_READY, &deadline)?;
            for word in data.chunks_exact(4) {
                port.set(u32::from_le_bytes([word[0], word[1], word[2], word[3]]));
            }
        }
        self.wait_data(cmd, INT_DATA_DONE, &deadline)
    }

    /// One ADMA2 transfer of `len` bytes (at most [`ADMA_MAX_TRANSFER`])
    /// at bus address `bus`; the caller does the cache maintenance.
    fn dma_transfer(
        &mut self,
        card: &CardInfo,
        cmd: u8,
        block: u32,
        bus: u32,
        len: usize,
        mode: u32,
    ) -> Result<(), SdError> {
        let pieces = len.div_ceil(ADMA_MAX_LENGTH);
        for (i, entry) in self.table.0.iter_mut().enumerate().take(pieces) {
            *entry = adma2_descriptor(bus, len, i);
        }
        let table = self.table.0.as_ptr() as usize;
        cache::clean(table, pieces * 8);
        let table_bus = self
            .dma_address(table, pieces * 8)
            .ok_or(SdError::OutOfRange)?;
        self.regs.adma_address.set(table_bus);
        self.regs.adma_address_high.set(0);
        let flags = RESP_48 | CMD_CRC_CHECK | CMD_INDEX_CHECK | CMD_DATA;
        self.issue(cmd, Self::address(card, block), flags, mode | TM_DMA)?;
        let deadline = Deadline::after_ms(data_timeout_ms(len / BLOCK_BYTES));
        self.wait_data(cmd, INT_DATA_DONE, &deadline)
    }

    /// Like [`Self::wait_interrupt`] with a deadline shared by the whole
    /// transfer, checked only while the bit is not yet set.
    #[inline(always)]
    fn wait_data(&self, cmd: u8, bit: u32, deadline: &Deadline) -> Result<(), SdError> {
        loop {
            let status = self.regs.interrupt_status.get();
            if status & (bit | INT_ERROR) == bit {
                self.regs.interrupt_status.set(bit);
                return Ok(());
            }
            if status & INT_ERROR != 0 || deadline.expired() {
                let status = if status & INT_ERROR != 0 { status } else { 0 };
                self.reset_lines(RESET_CMD | RESET_DAT);
                // Multi-block transfers stop with CMD12 so the card leaves
                // the data state; its own failure changes nothing here.
                if cmd == 18 || cmd == 25 {
                    let _ = self.stop();
                }
                return Err(SdError::DataError { cmd, status });
            }
        }
    }

    fn stop(&self) -> Result<(), SdError> {
        self.regs.interrupt_status.set(0xffff_ffff);
        self.regs.argument.set(0);
        let command = (12u32 << 8) | RESP_48_BUSY | CMD_CRC_CHECK | CMD_INDEX_CHECK;
        self.regs.command_transfer.set(command << 16);
        self.wait_interrupt(12, INT_CMD_DONE, COMMAND_TIMEOUT_MS, false)
    }
}

/// Descriptor `i` of an ADMA2 (32-bit) table moving `len` bytes at bus
/// address `bus` in pieces of up to 64 KiB; the last one ends the table.
pub fn adma2_descriptor(bus: u32, len: usize, i: usize) -> u64 {
    let at = i * ADMA_MAX_LENGTH;
    // A length field of 0 means 65536.
    let length = ((len - at).min(ADMA_MAX_LENGTH) & 0xffff) as u64;
    let end = if at + ADMA_MAX_LENGTH >= len {
        ADMA_END
    } else {
        0
    };
    ((u64::from(bus) + at as u64) << 32) | (length << 16) | ADMA_TRANSFER | ADMA_VALID | end
}

fn data_timeout_ms(blocks: usize) -> u64 {
    DATA_TIMEOUT_MS + (blocks as u64 / 64 + 1) * DATA_TIMEOUT_MS_PER_64_BLOCKS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_offsets() {
        use core::mem::offset_of;
        assert_eq!(offset_of!(Registers, command_transfer), 0x0c);
        assert_eq!(offset_of!(Registers, buffer_data_port), 0x20);
        assert_eq!(offset_of!(Registers, present_state), 0x24);
        assert_eq!(offset_of!(Registers, interrupt_status), 0x30);
        assert_eq!(offset_of!(Registers, capabilities), 0x40);
        assert_eq!(offset_of!(Registers, slot_interrupt_version), 0xfc);
    }

    #[test]
    fn clock_divisors() {
        // v3: 10-bit N, SD clock = base / 2N.
        assert_eq!(clock_divider(50_000_000, 400_000, 3), ((63 << 8), 396_825));
        assert_eq!(
            clock_divider(50_000_000, 25_000_000, 3),
            (1 << 8, 25_000_000)
        );
        assert_eq!(clock_divider(20_000_000, 25_000_000, 3), (0, 20_000_000));
        let (field, hz) = clock_divider(250_000_000, 400_000, 3);
        assert_eq!((field >> 8 & 0xff) | (field >> 6 & 0x3) << 8, 313);
        assert!(hz <= 400_000);
        // v2: powers of two.
        assert_eq!(clock_divider(50_000_000, 400_000, 2), (64 << 8, 390_625));
    }

    #[test]
    fn capabilities_of_qemus_bcm2835_sdhc() {
        // QEMU's BCM2835_SDHC_CAPAREG with a v3 version register.
        let caps = Capabilities::from_registers(0x0521_34b4, 0, 2 << 16);
        assert_eq!(caps.spec_version, 3);
        assert!(!caps.sdma && !caps.adma2);
        assert_eq!(caps.base_clock_hz, 52_000_000);
    }

    #[test]
    fn adma2_descriptors() {
        // 70 KiB at 0x100000: 64 KiB (length field 0), then 6 KiB, ending.
        let first = adma2_descriptor(0x10_0000, 70 << 10, 0);
        assert_eq!(first, 0x0010_0000_0000_0021);
        let last = adma2_descriptor(0x10_0000, 70 << 10, 1);
        assert_eq!(last, 0x0011_0000_1800_0023);
        assert_eq!(adma2_descriptor(0x2000, 512, 0), 0x0000_2000_0200_0023);
    }

    /// An R2 response as the controller stores it: CSD bits 127..8.
    fn r2(csd: u128) -> [u32; 4] {
        let r = csd >> 8;
        [
            r as u32,
            (r >> 32) as u32,
            (r >> 64) as u32,
            (r >> 96) as u32,
        ]
    }

    #[test]
    fn csd_v1_capacity() {
        // 64 MiB: READ_BL_LEN 9, C_SIZE_MULT 7 (×512), C_SIZE 255.
        let csd = (9u128 << 80) | (255u128 << 62) | (7u128 << 47);
        assert_eq!(csd_blocks(r2(csd)), Ok(64 << 11));
    }

    #[test]
    fn csd_v2_capacity() {
        // 8 GiB: C_SIZE + 1 = 16384 (units of 512 KiB).
        let csd = (1u128 << 126) | (16383u128 << 48);
        assert_eq!(csd_blocks(r2(csd)), Ok(16 << 20));
        assert!(csd_blocks(r2(3u128 << 126)).is_err());
    }
}
