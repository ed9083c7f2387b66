//! The kernel heap: `linked_list_allocator` over the ARM RAM the firmware
//! reports, from the end of the kernel image (and its stacks) upward.

use crate::board::Region;
use linked_list_allocator::LockedHeap;

#[global_allocator]
static HEAP: LockedHeap = LockedHeap::empty();

extern "C" {
    /// End of the kernel image, BSS and per-core stacks (linker/kernel.ld).
    static __kernel_end: u8;
}

/// Gives the allocator `[__kernel_end, arm_memory end)`. Core 0, once, after
/// the MMU maps that range.
pub fn init(arm_memory: Region) {
    // Only the linker symbol's address is taken, never its (absent) value.
    let start = core::ptr::addr_of!(__kernel_end) as u64;
    let end = arm_memory.base + arm_memory.size;
    assert!(
        end > start,
        "the firmware reports no RAM above the kernel image"
    );
    // SAFETY: the range lies in RAM that the mailbox reports as the ARM's,
    // above everything the linker placed, and is handed to the allocator
    // exactly once; nothing else uses it.
    unsafe { HEAP.lock().init(start as *mut u8, (end - start) as usize) };
}

/// Heap usage: (used bytes, free bytes).
pub fn usage() -> (usize, usize) {
    let heap = HEAP.lock();
    (heap.used(), heap.free())
}
