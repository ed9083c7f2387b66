//! Interrupt routing through the GIC-400. Core 0 takes UART0's receive
//! interrupt (INTID 153); the other cores keep interrupts masked.

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
