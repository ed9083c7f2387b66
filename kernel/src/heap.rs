//! The kernel heap: `linked_list_allocator` over the ARM RAM the firmware
//! reports, from the end of the kernel image (and its stacks) upward, with a
//! small-block cache in front of it.
//!
//! Why the cache: `linked_list_allocator` is first-fit over an address-ordered
//! hole list, so every allocation and every free walks that list. An MCP
//! request allocates and frees a handful of small blocks (the response line,
//! a `serde_json` map node, a key), and those walks were a tenth of the
//! instructions of a whole `tools/call` dispatch (docs/performance.md). Freed
//! blocks of up to [`MAX_CACHED`] bytes are kept on one LIFO list per
//! power-of-two size class and handed out again in a few instructions; each
//! list is capped ([`CACHE_DEPTH`]), so at most a few hundred KiB ever sit in
//! the cache, and everything else goes straight to the list allocator.

use crate::board::Region;
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{self, NonNull};
use linked_list_allocator::Heap;
use spin::Mutex;

#[global_allocator]
static HEAP: CachedHeap = CachedHeap(Mutex::new(Inner::empty()));

extern "C" {
    /// End of the kernel image, BSS and per-core stacks (linker/kernel.ld).
    static __kernel_end: u8;
}

/// Size classes: 16, 32, … `MAX_CACHED` bytes.
const MIN_CLASS_SHIFT: u32 = 4;
const MAX_CACHED: usize = 1024;
const CLASSES: usize = (MAX_CACHED.trailing_zeros() - MIN_CLASS_SHIFT + 1) as usize;
/// Alignment every cached block has (the size of the smallest class).
const CLASS_ALIGN: usize = 1 << MIN_CLASS_SHIFT;
/// Freed blocks kept per class before frees go back to the list allocator.
const CACHE_DEPTH: u16 = 64;

/// The size class of `layout`, if it is small enough to be cached.
fn class_of(layout: Layout) -> Option<usize> {
    if layout.size() > MAX_CACHED || layout.align() > CLASS_ALIGN {
        return None;
    }
    let size = layout.size().max(CLASS_ALIGN).next_power_of_two();
    Some((size.trailing_zeros() - MIN_CLASS_SHIFT) as usize)
}

/// The layout every block of `class` has in the list allocator.
fn class_layout(class: usize) -> Layout {
    // Sizes are powers of two from 16 to MAX_CACHED, aligned to 16: valid.
    Layout::from_size_align(CLASS_ALIGN << class, CLASS_ALIGN).unwrap_or(Layout::new::<u128>())
}

/// A free cached block; its first word links to the next one.
struct FreeBlock {
    next: Option<NonNull<FreeBlock>>,
}

struct Inner {
    heap: Heap,
    free: [Option<NonNull<FreeBlock>>; CLASSES],
    depth: [u16; CLASSES],
    /// Bytes sitting in the cache (allocated from `heap`, free to Rust).
    cached_bytes: usize,
}

// SAFETY: the free-list pointers point into heap memory owned by `Inner`
// alone; `Inner` is only reached through the mutex.
unsafe impl Send for Inner {}

impl Inner {
    const fn empty() -> Self {
        Inner {
            heap: Heap::empty(),
            free: [None; CLASSES],
            depth: [0; CLASSES],
            cached_bytes: 0,
        }
    }

    fn alloc(&mut self, layout: Layout) -> *mut u8 {
        let Some(class) = class_of(layout) else {
            return self.alloc_from_list(layout);
        };
        match self.free[class] {
            Some(block) => {
                // SAFETY: `block` was pushed by `dealloc` below: a live,
                // aligned block of this class that nothing else references.
                self.free[class] = unsafe { block.as_ref().next };
                self.depth[class] -= 1;
                self.cached_bytes -= CLASS_ALIGN << class;
                block.as_ptr().cast()
            }
            None => self.alloc_from_list(class_layout(class)),
        }
    }

    fn alloc_from_list(&mut self, layout: Layout) -> *mut u8 {
        self.heap
            .allocate_first_fit(layout)
            .map_or(ptr::null_mut(), NonNull::as_ptr)
    }

    /// # Safety
    /// `block` came from [`Self::alloc`] with `layout` and is not used again.
    unsafe fn dealloc(&mut self, block: *mut u8, layout: Layout) {
        let Some(block) = NonNull::new(block) else {
            return;
        };
        match class_of(layout) {
            Some(class) if self.depth[class] < CACHE_DEPTH => {
                let block = block.cast::<FreeBlock>();
                // SAFETY: the block is at least 16 bytes, 16-aligned (its
                // class), and ours again: its first word holds the link.
                unsafe {
                    block.as_ptr().write(FreeBlock {
                        next: self.free[class],
                    })
                };
                self.free[class] = Some(block);
                self.depth[class] += 1;
                self.cached_bytes += CLASS_ALIGN << class;
            }
            // SAFETY: allocated from `heap` with this layout (its class's
            // layout for cacheable sizes), per this function's contract.
            Some(class) => unsafe { self.heap.deallocate(block, class_layout(class)) },
            // SAFETY: allocated from `heap` with exactly this layout (too
            // big or too aligned to be cached), per this function's contract.
            None => unsafe { self.heap.deallocate(block, layout) },
        }
    }
}

/// The global allocator: [`Inner`] behind a spin lock (every core allocates).
struct CachedHeap(Mutex<Inner>);

// SAFETY: `Inner::alloc` returns null or a block of at least `layout.size()`
// bytes aligned to `layout.align()` (a class block is a power of two ≥ the
// size, 16-aligned, and only used for align ≤ 16); blocks are handed out
// once until freed; the lock serializes all cores.
unsafe impl GlobalAlloc for CachedHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.0.lock().alloc(layout)
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: the caller's GlobalAlloc contract is Inner::dealloc's.
        unsafe { self.0.lock().dealloc(block, layout) }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // A block that stays in its size class already has room: growing a
        // short string or vector costs nothing.
        if let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) {
            if class_of(layout).is_some() && class_of(layout) == class_of(new_layout) {
                return block;
            }
        }
        // SAFETY: the caller's GlobalAlloc contract: a fresh block, the
        // smaller of the two sizes copied, the old block freed.
        unsafe {
            let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
            let fresh = self.alloc(new_layout);
            if !fresh.is_null() {
                ptr::copy_nonoverlapping(block, fresh, layout.size().min(new_size));
                self.dealloc(block, layout);
            }
            fresh
        }
    }
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
    unsafe {
        HEAP.0
            .lock()
            .heap
            .init(start as *mut u8, (end - start) as usize)
    };
}

/// Heap usage: (used bytes, free bytes). Blocks in the small-block cache
/// count as free.
pub fn usage() -> (usize, usize) {
    let inner = HEAP.0.lock();
    (
        inner.heap.used() - inner.cached_bytes,
        inner.heap.free() + inner.cached_bytes,
    )
}
