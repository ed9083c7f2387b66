//! A typed view of a block of memory-mapped registers.

use core::marker::PhantomData;
use core::ops::Deref;

/// Dereferences to the register block `T` at a fixed physical address.
///
/// The only unsafe step is [`Mmio::new`]; after that, every access goes through
/// tock-registers' volatile accessors.
pub(crate) struct Mmio<T> {
    base: usize,
    _regs: PhantomData<fn() -> T>,
}

impl<T> Mmio<T> {
    /// # Safety
    /// `base` must be the address of a live, identity-mapped (Device memory)
    /// register block laid out as `T`, valid for the rest of the program, and
    /// the caller must not create a second driver instance for the same block
    /// that could race with this one.
    pub(crate) const unsafe fn new(base: usize) -> Self {
        Self {
            base,
            _regs: PhantomData,
        }
    }

    pub(crate) fn base(&self) -> usize {
        self.base
    }
}

impl<T> Deref for Mmio<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: `new`'s contract guarantees that `base` points at a valid,
        // permanently mapped register block of type `T`; tock-registers types
        // only ever perform volatile accesses through this reference.
        unsafe { &*(self.base as *const T) }
    }
}
