//! A program's memory: the 2 MiB that back the user window while it runs,
//! taken from the kernel heap, with each page's access. The kernel reaches
//! it through its identity map (EL1-only), the program through the window
//! (`mmu::map_user`); checks here decide which user addresses a system call
//! may name.

use super::abi::{ARGS_MAX, STACK_BASE, USER_END};
use super::elf::Program;
use crate::mmu::{self, UserAccess, PAGE_BYTES, USER_BASE, USER_PAGES};
use alloc::alloc::{alloc_zeroed, dealloc, Layout};
use alloc::format;
use alloc::string::String;
use core::ptr::NonNull;

const WINDOW_BYTES: usize = USER_PAGES * PAGE_BYTES as usize;

/// `AddressSpace::permissions` bits.
const READ: u8 = 1;
const WRITE: u8 = 2;

fn permission_bits(access: UserAccess) -> u8 {
    match access {
        UserAccess::None => 0,
        UserAccess::Read | UserAccess::ReadExecute => READ,
        UserAccess::ReadWrite => READ | WRITE,
    }
}

pub struct AddressSpace {
    backing: NonNull<u8>,
    access: [UserAccess; USER_PAGES],
    /// `access` as READ/WRITE bits: what system-call pointer checks test.
    permissions: [u8; USER_PAGES],
    pub entry: u64,
    /// Where the call's `args` JSON was put (x0/x1 at entry).
    pub args: (u64, u64),
    /// The initial SP_EL0: 16-byte aligned, below the args.
    pub stack_pointer: u64,
}

// SAFETY: the backing memory is owned by the AddressSpace (allocated in
// `load`, freed in `drop`); handing it to the core that runs the program
// moves that ownership for the run, and core 0 waits for the run to end.
unsafe impl Send for AddressSpace {}
// SAFETY: shared references only read fields; the backing is written
// only through `&mut self`.
unsafe impl Sync for AddressSpace {}

fn layout() -> Layout {
    // A constant, page-aligned, non-zero layout.
    Layout::from_size_align(WINDOW_BYTES, PAGE_BYTES as usize).expect("valid layout")
}

fn page_of(address: u64) -> usize {
    ((address - USER_BASE) / PAGE_BYTES) as usize
}

impl AddressSpace {
    /// Lays out `program` and `args` in fresh zeroed memory. Refuses
    /// segments that share a page (their access could not both hold).
    pub fn load(program: &Program<'_>, args: &[u8]) -> Result<Self, String> {
        if args.len() > ARGS_MAX {
            return Err(format!(
                "args are {} bytes of JSON, the limit is {ARGS_MAX}",
                args.len()
            ));
        }
        // SAFETY: a non-zero-sized layout; a null result is handled.
        let raw = unsafe { alloc_zeroed(layout()) };
        let backing =
            NonNull::new(raw).ok_or_else(|| String::from("out of memory for the program"))?;
        let mut space = AddressSpace {
            backing,
            access: [UserAccess::None; USER_PAGES],
            permissions: [0; USER_PAGES],
            entry: program.entry,
            args: (0, 0),
            stack_pointer: 0,
        };
        for segment in &program.segments {
            let first = page_of(segment.address);
            let last = page_of(segment.address + segment.mem_size - 1);
            for page in first..=last {
                if space.access[page] != UserAccess::None {
                    return Err(format!(
                        "the segment at {:#x} shares the page {:#x} with another segment (W^X needs one access per page)",
                        segment.address,
                        USER_BASE + page as u64 * PAGE_BYTES
                    ));
                }
                space.access[page] = segment.access;
            }
            let offset = (segment.address - USER_BASE) as usize;
            space.window_mut()[offset..offset + segment.data.len()].copy_from_slice(segment.data);
        }
        for page in page_of(STACK_BASE)..USER_PAGES {
            space.access[page] = UserAccess::ReadWrite;
        }
        for (bits, access) in space.permissions.iter_mut().zip(space.access) {
            *bits = permission_bits(access);
        }
        let args_at = (USER_END - args.len() as u64) & !15;
        let offset = (args_at - USER_BASE) as usize;
        space.window_mut()[offset..offset + args.len()].copy_from_slice(args);
        space.args = (args_at, args.len() as u64);
        space.stack_pointer = args_at - 16;
        Ok(space)
    }

    fn window_mut(&mut self) -> &mut [u8] {
        // SAFETY: `backing` is WINDOW_BYTES long, owned by self, and this
        // borrow is tied to `&mut self`.
        unsafe { core::slice::from_raw_parts_mut(self.backing.as_ptr(), WINDOW_BYTES) }
    }

    /// Maps the window for the program and makes its code visible to every
    /// core's instruction fetches.
    pub fn map(&self) {
        for (page, access) in self.access.iter().enumerate() {
            if *access == UserAccess::ReadExecute {
                let offset = page * PAGE_BYTES as usize;
                // SAFETY: a page inside the backing, only read here.
                let code = unsafe {
                    core::slice::from_raw_parts(
                        self.backing.as_ptr().add(offset),
                        PAGE_BYTES as usize,
                    )
                };
                mmu::sync_code(code);
            }
        }
        mmu::map_user(self.backing.as_ptr() as u64, &self.access);
    }

    /// Whether the program may access `len` bytes at `address` (all of them
    /// in pages it may read, and write if `write`).
    pub fn allows(&self, address: u64, len: u64, write: bool) -> bool {
        let window = USER_PAGES as u64 * PAGE_BYTES;
        let offset = address.wrapping_sub(USER_BASE);
        if offset > window || len > window - offset {
            return false;
        }
        if len == 0 {
            return true;
        }
        let first = (offset / PAGE_BYTES) as usize;
        let last = ((offset + len - 1) / PAGE_BYTES) as usize;
        let need = if write { WRITE } else { READ };
        self.permissions[first..=last]
            .iter()
            .all(|bits| bits & need != 0)
    }

    /// The bytes at user `address`, if [`allows`](Self::allows) says the
    /// program may access them. (The kernel only runs on the program's core
    /// while the program is stopped, so it cannot change them meanwhile.)
    pub fn user_bytes(&mut self, address: u64, len: u64, write: bool) -> Option<&mut [u8]> {
        if !self.allows(address, len, write) {
            return None;
        }
        // SAFETY: checked just above.
        Some(unsafe { self.bytes_at(address, len) })
    }

    /// The bytes at user `address`, unchecked.
    ///
    /// # Safety
    /// [`allows`](Self::allows) must have accepted the range (or a larger
    /// one).
    pub unsafe fn bytes_at(&mut self, address: u64, len: u64) -> &mut [u8] {
        let offset = (address - USER_BASE) as usize;
        // SAFETY: the range lies inside the backing (the caller checked it),
        // which `&mut self` borrows exclusively.
        unsafe { core::slice::from_raw_parts_mut(self.backing.as_ptr().add(offset), len as usize) }
    }
}

impl Drop for AddressSpace {
    fn drop(&mut self) {
        // SAFETY: allocated in `load` with this layout; the window is
        // unmapped before an AddressSpace is dropped (`el0::run`).
        unsafe { dealloc(self.backing.as_ptr(), layout()) };
    }
}
