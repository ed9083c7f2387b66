//! Interrupt routing through the GIC-400. Core 0 takes UART0's receive
//! interrupt (INTID 153) and its own EL1 physical timer (INTID 30, see
//! `timer`). The other cores keep interrupts masked and use
//! one software-generated interrupt as a doorbell: a pending interrupt ends
//! `wfi` even while masked, and unlike `wfe` (a mere yield in QEMU, so a
//! parked core would spin there) `wfi` really stops the core until then.

use crate::{console, timer};
use rpi4::board::{GICC_BASE, GICD_BASE, TIMER_EL1_PHYS_INTID, UART0_INTID};
use rpi4::gic400::{Gic400, Trigger};
use spin::Once;

static GIC: Once<Gic400> = Once::new();

/// Priority of the UART receive interrupt (lower is more urgent).
const UART_PRIORITY: u8 = 0x80;
/// The timer is as urgent as the UART: neither preempts the other (the
/// kernel does not nest interrupts).
const TIMER_PRIORITY: u8 = 0x80;

pub fn init() {
    // SAFETY: the GIC-400 distributor and CPU interface of the BCM2711,
    // identity-mapped as Device memory; `Once` makes this the only instance,
    // and only core 0 ever configures the distributor.
    let gic = GIC.call_once(|| unsafe { Gic400::new(GICD_BASE, GICC_BASE) });
    gic.init_distributor();
    gic.init_cpu_interface();
    gic.enable(UART0_INTID, 0, UART_PRIORITY, Trigger::Level);
    // A PPI: the enable and priority are core 0's banked copies.
    gic.enable(TIMER_EL1_PHYS_INTID, 0, TIMER_PRIORITY, Trigger::Level);
    timer::start();
    crate::cpu::unmask_irqs();
}

/// Whether `intid` is pending at the distributor (see `Gic400::is_pending`).
pub fn is_pending(intid: u32) -> bool {
    GIC.get().is_some_and(|gic| gic.is_pending(intid))
}

pub fn clear_pending(intid: u32) {
    if let Some(gic) = GIC.get() {
        gic.clear_pending(intid);
    }
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
        match irq.intid() {
            UART0_INTID => console::on_receive_interrupt(),
            TIMER_EL1_PHYS_INTID => timer::on_interrupt(),
            _ => {}
        }
        gic.end_of_interrupt(irq);
    }
}
