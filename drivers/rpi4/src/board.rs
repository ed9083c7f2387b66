//! The BCM2711 memory map, in one place.
//!
//! Addresses are ARM physical addresses in "low peripheral" mode, the mode
//! the Pi 4 firmware and QEMU's raspi4b both use (peripherals at
//! 0xFE00_0000, the ARM-local block with the GIC-400 at 0xFF80_0000).

/// Start of the peripheral window; everything from here up is mapped as
/// Device-nGnRnE memory.
pub const PERIPHERAL_BASE: usize = 0xFC00_0000;
/// BCM system timer: a free-running 1 MHz counter and four compare
/// registers.
pub const SYSTEM_TIMER_BASE: usize = 0xFE00_3000;
/// Power management: the watchdog (PM_WDOG) and reset control (PM_RSTC).
pub const PM_BASE: usize = 0xFE10_0000;
/// The BCM2711's RNG200 hardware random number generator.
pub const RNG200_BASE: usize = 0xFE10_4000;
/// VideoCore mailbox 0 (the ARM→VC property channel lives here).
pub const MAILBOX_BASE: usize = 0xFE00_B880;
/// GPIO function select, level and pull registers.
pub const GPIO_BASE: usize = 0xFE20_0000;
/// PL011 UART0, the MCP channel.
pub const UART0_BASE: usize = 0xFE20_1000;
/// EMMC2, the Pi 4's SD card slot (SDHCI).
pub const EMMC2_BASE: usize = 0xFE34_0000;
/// The legacy Arasan EMMC (SDHCI): Wi-Fi SDIO on a Pi 4; QEMU's raspi4b
/// attaches `-drive if=sd` here.
pub const EMMC_BASE: usize = 0xFE30_0000;
/// The extra PL011s of the BCM2711 (UART2..UART5), 0x200 apart.
pub const UART2_BASE: usize = 0xFE20_1400;
pub const UART3_BASE: usize = 0xFE20_1600;
pub const UART4_BASE: usize = 0xFE20_1800;
pub const UART5_BASE: usize = 0xFE20_1A00;
/// The auxiliary peripherals block; the mini UART (UART1) is in it.
pub const AUX_BASE: usize = 0xFE21_5000;
/// GIC-400 distributor.
pub const GICD_BASE: usize = 0xFF84_1000;
/// GIC-400 CPU interface.
pub const GICC_BASE: usize = 0xFF84_2000;

/// GIC interrupt ID of UART0: VideoCore peripheral IRQ 57, which the
/// BCM2711 routes to GIC SPI 96 + 57 = 121, i.e. INTID 32 + 121.
pub const UART0_INTID: u32 = 153;
/// GIC interrupt ID of the EL1 non-secure physical generic timer (PPI 14).
pub const TIMER_EL1_PHYS_INTID: u32 = 30;

/// GIC interrupt ID of the system timer's compare 1 (VideoCore IRQ 1 → SPI
/// 96 + 1). QEMU's raspi4b wires the system timer to the legacy interrupt
/// controller only, so this interrupt never reaches its GIC.
pub const SYSTEM_TIMER_C1_INTID: u32 = 129;

/// GPIO pins that carry UART0 in alternate function 0.
pub const UART0_TX_PIN: u32 = 14;
pub const UART0_RX_PIN: u32 = 15;

/// Spin-table release addresses the firmware's (and QEMU's) secondary-core
/// stub polls: core N reads its entry point from `SPIN_TABLE[N]`.
pub const SPIN_TABLE: [usize; 4] = [0xd8, 0xe0, 0xe8, 0xf0];
