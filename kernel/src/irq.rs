//! Interrupt routing through the GIC-400. Core 0 takes UART0's receive
//! interrupt (INTID 153). The other cores keep interrupts masked and use
//! one software-generated interrupt as a doorbell: a pending interrupt ends
//! `wfi` even while masked, and unlike `wfe` (a mere yield in QEMU, so a
//! parked core would spin there) `wfi` really stops the core until then.

use crate::console;
use rpi4::board::{GICC_BASE, GICD_BASE, UART0_INTID};
use rpi4::gic400::{Gic400, Trigger};
use spin::Once;

static GIC: Once<Gic400> = Once::new();

/// Priority of the UART receive interrupt (lower is more urgent).
const UART_PRIORITY: u8 = 0x80;

pub fn init() {
    // SAFETY: the GIC-400 distributor and CPU interface of the BCM2711,
    // identity-mapped as Device memory; `Once` makes this the only instance,
    // and only core 0 ever configures the distributor.
    let gic = GIC.call_once(|| unsafe { Gic400::new(GICD_BASE, GICC_BASE) });
    gic.init_distributor();
    gic.init_cpu_interface();
    gic.enable(UART0_INTID, 0, UART_PRIORITY, Trigger::Level);
    crate::cpu::unmask_irqs();
}

/// The SGI that wakes a parked secondary core.
const DOORBELL_SGI: u32 = 0;
const DOORBELL_PRIORITY: u8 = 0x80;

/// Opens the calling secondary core's (banked) CPU interface to its
/// doorbell. Interrupts stay masked in PSTATE: the doorbell only ends `wfi`.
pub fn init_secondary() {
    let Some(gic) = GIC.get() else { return };
    gic.init_cpu_interface();
    gic.enable(
        DOORBELL_SGI,
        crate::cpu::core_id() as u32,
        DOORBELL_PRIORITY,
        Trigger::Edge,
    );
}

/// Rings `core`'s doorbell.
pub fn wake(core: usize) {
    if let Some(gic) = GIC.get() {
        gic.send_sgi(DOORBELL_SGI, core as u32);
    }
}

/// On a secondary core after `wfi`: takes the doorbell (and anything else
/// pending) off the CPU interface so the next `wfi` sleeps again.
pub fn acknowledge_all() {
    let Some(gic) = GIC.get() else { return };
    while let Some(irq) = gic.acknowledge() {
        gic.end_of_interrupt(irq);
    }
}

/// Called from the IRQ vector: serve every pending interrupt.
pub fn handle() {
    let Some(gic) = GIC.get() else { return };
    while let Some(irq) = gic.acknowledge() {
        if irq.intid() == UART0_INTID {
            console::on_receive_interrupt();
        }
        gic.end_of_interrupt(irq);
    }
}
