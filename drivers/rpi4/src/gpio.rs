//! BCM2711 GPIO: function select, output set/clear, level, event detect
//! status and pull-up/down ("BCM2711 ARM Peripherals" §5.2).
//!
//! The BCM2711 replaced the BCM2835's GPPUD/GPPUDCLK sequence with direct
//! two-bit pull fields (GPIO_PUP_PDN_CNTRL_REG0..3), which can also be read
//! back. Which pins the OS must not hand out is the kernel's business, not
//! this driver's.

use crate::mmio::Mmio;
use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::{
    register_structs, registers::ReadOnly, registers::ReadWrite, registers::WriteOnly,
};

register_structs! {
    Registers {
        (0x00 => gpfsel: [ReadWrite<u32>; 6]),
        (0x18 => _reserved0),
        (0x1c => gpset: [WriteOnly<u32>; 2]),
        (0x24 => _reserved1),
        (0x28 => gpclr: [WriteOnly<u32>; 2]),
        (0x30 => _reserved2),
        (0x34 => gplev: [ReadOnly<u32>; 2]),
        (0x3c => _reserved3),
        (0x40 => gpeds: [ReadWrite<u32>; 2]),
        (0x48 => _reserved4),
        (0xe4 => gpio_pup_pdn_cntrl: [ReadWrite<u32>; 4]),
        (0xf4 => @END),
    }
}

/// The highest GPIO number on the BCM2711.
pub const MAX_PIN: u32 = 57;

/// A pin's function (GPFSELn field values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Input = 0b000,
    Output = 0b001,
    Alt0 = 0b100,
    Alt1 = 0b101,
    Alt2 = 0b110,
    Alt3 = 0b111,
    Alt4 = 0b011,
    Alt5 = 0b010,
}

impl Function {
    /// Decodes a GPFSELn field (every 3-bit value is a function).
    pub fn from_bits(bits: u32) -> Self {
        match bits & 0b111 {
            0b000 => Function::Input,
            0b001 => Function::Output,
            0b100 => Function::Alt0,
            0b101 => Function::Alt1,
            0b110 => Function::Alt2,
            0b111 => Function::Alt3,
            0b011 => Function::Alt4,
            _ => Function::Alt5,
        }
    }
}

/// Pull resistor (GPIO_PUP_PDN_CNTRL field values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pull {
    None = 0b00,
    Up = 0b01,
    Down = 0b10,
}

impl Pull {
    /// Decodes a pull field; 0b11 is reserved in the datasheet.
    pub fn from_bits(bits: u32) -> Option<Self> {
        match bits & 0b11 {
            0b00 => Some(Pull::None),
            0b01 => Some(Pull::Up),
            0b10 => Some(Pull::Down),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoSuchPin(pub u32);

pub struct Gpio {
    regs: Mmio<Registers>,
}

/// (register index, bit shift) of a pin's field when each register holds
/// `per_register` fields of `width` bits.
fn field(pin: u32, per_register: u32, width: u32) -> (usize, u32) {
    ((pin / per_register) as usize, (pin % per_register) * width)
}

fn replace(value: u32, shift: u32, width: u32, new: u32) -> u32 {
    let mask = ((1 << width) - 1) << shift;
    (value & !mask) | ((new << shift) & mask)
}

impl Gpio {
    /// # Safety
    /// `base` must be the identity-mapped GPIO block ([`crate::board::GPIO_BASE`])
    /// and only one `Gpio` may exist.
    pub const unsafe fn new(base: usize) -> Self {
        // SAFETY: forwarded from this function's contract.
        let regs = unsafe { Mmio::new(base) };
        Self { regs }
    }

    pub fn set_function(&mut self, pin: u32, function: Function) -> Result<(), NoSuchPin> {
        check(pin)?;
        let (i, shift) = field(pin, 10, 3);
        let r = &self.regs.gpfsel[i];
        r.set(replace(r.get(), shift, 3, function as u32));
        Ok(())
    }

    pub fn set_pull(&mut self, pin: u32, pull: Pull) -> Result<(), NoSuchPin> {
        check(pin)?;
        let (i, shift) = field(pin, 16, 2);
        let r = &self.regs.gpio_pup_pdn_cntrl[i];
        r.set(replace(r.get(), shift, 2, pull as u32));
        Ok(())
    }

    pub fn function(&self, pin: u32) -> Result<Function, NoSuchPin> {
        check(pin)?;
        let (i, shift) = field(pin, 10, 3);
        Ok(Function::from_bits(self.regs.gpfsel[i].get() >> shift))
    }

    /// The pull as programmed (`None` for the reserved encoding).
    pub fn pull(&self, pin: u32) -> Result<Option<Pull>, NoSuchPin> {
        check(pin)?;
        let (i, shift) = field(pin, 16, 2);
        Ok(Pull::from_bits(
            self.regs.gpio_pup_pdn_cntrl[i].get() >> shift,
        ))
    }

    /// Drives an output pin high (GPSETn) or low (GPCLRn). Writing a 1 bit
    /// affects only that pin, so no read-modify-write is needed; on a pin
    /// that is not an output the value waits in the output latch.
    pub fn write(&mut self, pin: u32, high: bool) -> Result<(), NoSuchPin> {
        check(pin)?;
        let (i, bit) = field(pin, 32, 1);
        if high {
            self.regs.gpset[i].set(1 << bit);
        } else {
            self.regs.gpclr[i].set(1 << bit);
        }
        Ok(())
    }

    pub fn level(&self, pin: u32) -> Result<bool, NoSuchPin> {
        check(pin)?;
        let (i, bit) = field(pin, 32, 1);
        Ok(self.regs.gplev[i].get() & (1 << bit) != 0)
    }

    /// Whether an enabled edge/level detector has fired for `pin` (GPEDSn).
    pub fn event_detected(&self, pin: u32) -> Result<bool, NoSuchPin> {
        check(pin)?;
        let (i, bit) = field(pin, 32, 1);
        Ok(self.regs.gpeds[i].get() & (1 << bit) != 0)
    }

    /// Clears `pin`'s event status (GPEDSn is write-1-to-clear).
    pub fn clear_event(&mut self, pin: u32) -> Result<(), NoSuchPin> {
        check(pin)?;
        let (i, bit) = field(pin, 32, 1);
        self.regs.gpeds[i].set(1 << bit);
        Ok(())
    }
}

fn check(pin: u32) -> Result<(), NoSuchPin> {
    if pin > MAX_PIN {
        Err(NoSuchPin(pin))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uart_pins_fields() {
        // GPIO 14/15 live in GPFSEL1 bits 12..14 and 15..17.
        assert_eq!(field(14, 10, 3), (1, 12));
        assert_eq!(field(15, 10, 3), (1, 15));
        // and in GPIO_PUP_PDN_CNTRL_REG0 bits 28..29 and 30..31.
        assert_eq!(field(15, 16, 2), (0, 30));
    }

    #[test]
    fn replace_touches_only_the_field() {
        assert_eq!(
            replace(0xffff_ffff, 12, 3, Function::Alt0 as u32),
            0xffff_cfff
        );
        assert_eq!(replace(0, 30, 2, Pull::Up as u32), 0x4000_0000);
    }

    #[test]
    fn function_fields_decode_every_value() {
        for f in [
            Function::Input,
            Function::Output,
            Function::Alt0,
            Function::Alt1,
            Function::Alt2,
            Function::Alt3,
            Function::Alt4,
            Function::Alt5,
        ] {
            assert_eq!(Function::from_bits(f as u32), f);
        }
        assert_eq!(Pull::from_bits(0b11), None);
        assert_eq!(Pull::from_bits(Pull::Down as u32), Some(Pull::Down));
    }

    #[test]
    fn register_offsets() {
        use core::mem::offset_of;
        assert_eq!(offset_of!(Registers, gpset), 0x1c);
        assert_eq!(offset_of!(Registers, gpclr), 0x28);
        assert_eq!(offset_of!(Registers, gplev), 0x34);
        assert_eq!(offset_of!(Registers, gpeds), 0x40);
        assert_eq!(offset_of!(Registers, gpio_pup_pdn_cntrl), 0xe4);
    }
}
