//! The C runtime ggml needs that picolibc cannot give a bare-metal kernel:
//! memory, abort, time, stdout/stderr and threads. Everything else ggml
//! references (string, printf family, qsort, math) comes from picolibc's
//! libc.a/libm.a (kernel/build.rs). A symbol that neither provides fails the
//! kernel's link; nothing here is a stand-in that pretends to succeed.
//!
//! - `malloc` & co. allocate from the kernel heap (spin-locked, so cores 1–3
//!   may call them too). Each block starts with a [`Header`] recording the
//!   Rust layout, so `free`/`realloc` need only the pointer.
//! - `abort` is a kernel panic, reported over MCP like any other.
//! - `clock_gettime`/`clock` read the generic timer (CNTPCT_EL0).
//! - `stdout`/`stderr` are tinystdio streams whose lines go to the kernel log.
//! - `kingly_ggml_poll` is the load in ggml's barrier, waiting in `wfe`
//!   (`llm/shim-include/ggml-wait.h`).
//! - `pthread_create`/`pthread_join` run the thread on a parked core (1–3)
//!   through `smp`'s job slots; with no free core, `pthread_create` returns
//!   EAGAIN (ggml asserts on it, which is `abort`, a reported panic).

use crate::{cpu, klog, smp};
use alloc::boxed::Box;
use core::alloc::Layout;
use core::cell::UnsafeCell;
use core::ffi::{c_char, c_int, c_long, c_void};
use core::ptr;
use core::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use rpi4::generic_timer;
use spin::Mutex;

// ---------------------------------------------------------------- memory --

/// What precedes every block handed to C: the layout it was allocated with
/// and the offset from the allocation's start to the pointer C holds.
#[repr(C)]
struct Header {
    size: usize,
    align: usize,
}

/// malloc's guarantee on AArch64 (alignof(max_align_t)); the header fits in it.
const MIN_ALIGN: usize = 16;
const _: () = assert!(core::mem::size_of::<Header>() <= MIN_ALIGN);

/// Allocates `size` bytes aligned to `align` (a power of two), with the
/// header in the `max(align, 16)` bytes before the returned pointer.
fn allocate(size: usize, align: usize, zeroed: bool) -> *mut c_void {
    let align = align.max(MIN_ALIGN);
    let Some(total) = size.checked_add(align) else {
        return ptr::null_mut();
    };
    let Ok(layout) = Layout::from_size_align(total, align) else {
        return ptr::null_mut();
    };
    // SAFETY: `layout` has a non-zero size (at least `align` bytes).
    let base = unsafe {
        if zeroed {
            alloc::alloc::alloc_zeroed(layout)
        } else {
            alloc::alloc::alloc(layout)
        }
    };
    if base.is_null() {
        return ptr::null_mut();
    }
    // SAFETY: `base + align` is inside the block (total = size + align) and
    // aligned to `align` ≥ 16, so the header's 16 bytes just before it are
    // inside the block too and aligned for `Header`.
    unsafe {
        let user = base.add(align);
        ptr::write(user.cast::<Header>().sub(1), Header { size: total, align });
        user.cast()
    }
}

/// The header of a block from [`allocate`].
///
/// # Safety
/// `p` must have come from [`allocate`] and not been freed.
unsafe fn header(p: *mut c_void) -> Header {
    // SAFETY: per the contract, the header sits just before `p`.
    unsafe { ptr::read(p.cast::<Header>().sub(1)) }
}

#[no_mangle]
extern "C" fn malloc(size: usize) -> *mut c_void {
    allocate(size, MIN_ALIGN, false)
}

#[no_mangle]
extern "C" fn calloc(n: usize, size: usize) -> *mut c_void {
    match n.checked_mul(size) {
        Some(bytes) => allocate(bytes, MIN_ALIGN, true),
        None => ptr::null_mut(),
    }
}

/// # Safety
/// `p` is null or a live pointer from this module's allocators (C's contract).
#[no_mangle]
unsafe extern "C" fn free(p: *mut c_void) {
    if p.is_null() {
        return;
    }
    // SAFETY: C hands back what malloc & co. returned; the header gives the
    // layout the block was allocated with and where it starts.
    unsafe {
        let h = header(p);
        let layout = Layout::from_size_align_unchecked(h.size, h.align);
        alloc::alloc::dealloc(p.cast::<u8>().sub(h.align), layout);
    }
}

/// # Safety
/// As for [`free`].
#[no_mangle]
unsafe extern "C" fn realloc(p: *mut c_void, size: usize) -> *mut c_void {
    if p.is_null() {
        return malloc(size);
    }
    // SAFETY: `p` is live (C's contract); its usable size is the block's
    // size less the header space, and the new block does not overlap it.
    unsafe {
        let h = header(p);
        let new = allocate(size, h.align, false);
        if !new.is_null() {
            let old_size = h.size - h.align;
            ptr::copy_nonoverlapping(p.cast::<u8>(), new.cast::<u8>(), old_size.min(size));
            free(p);
        }
        new
    }
}

/// # Safety
/// `out` must be writable (C's contract).
#[no_mangle]
unsafe extern "C" fn posix_memalign(out: *mut *mut c_void, align: usize, size: usize) -> c_int {
    const EINVAL: c_int = 22;
    const ENOMEM: c_int = 12;
    if !align.is_power_of_two() || align < core::mem::size_of::<usize>() {
        return EINVAL;
    }
    let p = allocate(size, align, false);
    if p.is_null() {
        return ENOMEM;
    }
    // SAFETY: `out` is writable per the contract.
    unsafe { *out = p };
    0
}

#[no_mangle]
extern "C" fn aligned_alloc(align: usize, size: usize) -> *mut c_void {
    if !align.is_power_of_two() {
        return ptr::null_mut();
    }
    allocate(size, align, false)
}

// ----------------------------------------------------------------- abort --

/// ggml prints its failed assertion to stderr (the kernel log) first; the
/// panic is reported over MCP and halts this core.
#[no_mangle]
extern "C" fn abort() -> ! {
    stderr_flush();
    panic!("ggml called abort() (its message is in kingly://log)");
}

// ------------------------------------------------------------------ time --

#[repr(C)]
struct Timespec {
    tv_sec: i64,
    tv_nsec: c_long,
}

/// Every clock is the generic timer: monotonic since reset, which is what
/// ggml asks for (CLOCK_MONOTONIC, for its timings only).
///
/// # Safety
/// `ts` must be writable (C's contract).
#[no_mangle]
unsafe extern "C" fn clock_gettime(_clock: c_int, ts: *mut Timespec) -> c_int {
    let ticks = generic_timer::ticks();
    let freq = generic_timer::frequency_hz().max(1);
    let nanos = (u128::from(ticks % freq) * 1_000_000_000 / u128::from(freq)) as c_long;
    // SAFETY: per the contract.
    unsafe {
        *ts = Timespec {
            tv_sec: (ticks / freq) as i64,
            tv_nsec: nanos,
        };
    }
    0
}

/// picolibc's CLOCKS_PER_SEC on AArch64.
const CLOCKS_PER_SEC: u64 = 100;

/// Processor time; the kernel does not account it per thread, so it is the
/// time since reset (picolibc's own `clock` would need `times`).
#[no_mangle]
extern "C" fn clock() -> c_long {
    let freq = generic_timer::frequency_hz().max(1);
    (u128::from(generic_timer::ticks()) * u128::from(CLOCKS_PER_SEC) / u128::from(freq)) as c_long
}

/// ggml calls this on one path of its barrier, right before polling
/// through [`kingly_ggml_poll`], which does the waiting; each thread owns a
/// core, so there is nothing to yield to.
#[no_mangle]
extern "C" fn sched_yield() -> c_int {
    core::hint::spin_loop();
    0
}

// --------------------------------------------------------------- waiting --

/// What a core's last [`kingly_ggml_poll`] read, and from where. One cache
/// line per core: only that core touches it.
#[repr(align(64))]
struct LastPoll {
    object: AtomicUsize,
    value: AtomicI32,
}

static LAST_POLL: [LastPoll; smp::CORES] = [const {
    LastPoll {
        object: AtomicUsize::new(0),
        value: AtomicI32::new(0),
    }
}; smp::CORES];

/// ggml's barrier loads through this (`llm/shim-include/ggml-wait.h`): it
/// reloads a shared counter until another thread changes it. Seeing the
/// value this core saw last time means it is waiting, so it sleeps in `wfe`
/// before reading again. The load that found the old value was exclusive
/// (`ldaxr`), arming this core's exclusive monitor on the counter's cache
/// line; the store that ends the wait clears the monitor, and clearing it
/// is an event that wakes `wfe` (Arm ARM, "Wait for Event mechanism"). A
/// store that lands between the load and the `wfe` leaves the event set, so
/// `wfe` returns at once: no wake-up is lost. The generic timer's event
/// stream (on all cores, `cpu::enable_event_stream`) bounds any sleep to
/// about a millisecond whatever happens.
///
/// Under QEMU's TCG, `wfe` does not sleep: with one thread for all vCPUs
/// (-icount) it ends this vCPU's turn so the others run; with a thread per
/// vCPU it is a no-op. Either way the result is the same load.
///
/// # Safety
/// `object` points to a live, aligned `atomic_int` (ggml's barrier state,
/// on the stack of the thread that runs the graph until all threads join).
#[no_mangle]
unsafe extern "C" fn kingly_ggml_poll(object: *const AtomicI32) -> c_int {
    let Some(last) = LAST_POLL.get(cpu::core_id()) else {
        // SAFETY: per the contract.
        return unsafe { (*object).load(Ordering::SeqCst) };
    };
    let value: i32;
    // SAFETY: an acquire load of a live, aligned atomic int (the contract);
    // the exclusive monitor it arms is this core's own and is cleared below.
    unsafe {
        core::arch::asm!("ldaxr {v:w}, [{p}]", v = out(reg) value, p = in(reg) object,
            options(nostack, preserves_flags));
    }
    let waiting = last.object.load(Ordering::Relaxed) == object as usize
        && last.value.load(Ordering::Relaxed) == value;
    let value = if waiting {
        cpu::wait_for_event();
        // SAFETY: per the contract.
        unsafe { (*object).load(Ordering::SeqCst) }
    } else {
        value
    };
    // SAFETY: `clrex` only resets this core's exclusive monitor.
    unsafe { core::arch::asm!("clrex", options(nomem, nostack, preserves_flags)) };
    last.object.store(object as usize, Ordering::Relaxed);
    last.value.store(value, Ordering::Relaxed);
    value
}

// ------------------------------------------------------- stdout / stderr --

/// tinystdio's `struct __file` (picolibc's stdio.h, release build:
/// `__PICOLIBC_UNGETC_SIZE` 2).
#[repr(C)]
struct File {
    unget: u16,
    flags: u8,
    put: Option<extern "C" fn(c_char, *mut File) -> c_int>,
    get: Option<extern "C" fn(*mut File) -> c_int>,
    flush: Option<extern "C" fn(*mut File) -> c_int>,
}

/// tinystdio's `__SWR`: the stream may be written.
const SWR: u8 = 0x02;

/// A stream tinystdio may write its flags into, hence the cell.
struct CFile(UnsafeCell<File>);
// SAFETY: tinystdio only touches `flags` (error/EOF bits) and calls `put`;
// a racing flag update at worst loses an error bit.
unsafe impl Sync for CFile {}

/// What the C side links against: `FILE *const stdout`.
#[repr(transparent)]
pub struct FilePtr(*mut File);
// SAFETY: the pointer is to a `CFile` static, which is Sync.
unsafe impl Sync for FilePtr {}

static STDOUT_FILE: CFile = CFile(UnsafeCell::new(File {
    unget: 0,
    flags: SWR,
    put: Some(put_stdout),
    get: None,
    flush: Some(flush_stdout),
}));
static STDERR_FILE: CFile = CFile(UnsafeCell::new(File {
    unget: 0,
    flags: SWR,
    put: Some(put_stderr),
    get: None,
    flush: Some(flush_stderr),
}));

#[no_mangle]
#[used]
static stdout: FilePtr = FilePtr(STDOUT_FILE.0.get());
#[no_mangle]
#[used]
static stderr: FilePtr = FilePtr(STDERR_FILE.0.get());

/// A line being assembled; it goes to the log at `\n` or when full.
type Line = heapless::Vec<u8, 200>;
static OUT_LINE: Mutex<Line> = Mutex::new(Line::new());
static ERR_LINE: Mutex<Line> = Mutex::new(Line::new());

fn put(line: &Mutex<Line>, err: bool, c: c_char) -> c_int {
    // c_char is u8 on AArch64 (the cast is for the type's sake).
    #[allow(clippy::unnecessary_cast)]
    let byte = c as u8;
    let mut line = line.lock();
    if byte != b'\n' && line.push(byte).is_ok() {
        return c_int::from(byte);
    }
    emit(&mut line, err);
    if byte != b'\n' {
        let _ = line.push(byte);
    }
    c_int::from(byte)
}

fn emit(line: &mut Line, err: bool) {
    if line.is_empty() {
        return;
    }
    let text = core::str::from_utf8(line).unwrap_or("(ggml wrote non-UTF-8)");
    if err {
        klog!(Warning, "ggml: {}", text);
    } else {
        klog!(Info, "ggml: {}", text);
    }
    line.clear();
}

fn stderr_flush() {
    emit(&mut ERR_LINE.lock(), true);
}

extern "C" fn put_stdout(c: c_char, _: *mut File) -> c_int {
    put(&OUT_LINE, false, c)
}
extern "C" fn put_stderr(c: c_char, _: *mut File) -> c_int {
    put(&ERR_LINE, true, c)
}
extern "C" fn flush_stdout(_: *mut File) -> c_int {
    emit(&mut OUT_LINE.lock(), false);
    0
}
extern "C" fn flush_stderr(_: *mut File) -> c_int {
    stderr_flush();
    0
}

// --------------------------------------------------------------- threads --

/// A C thread: its entry point and argument, boxed for the core that runs it.
struct Thread {
    start: extern "C" fn(*mut c_void) -> *mut c_void,
    arg: *mut c_void,
}

/// Runs a boxed [`Thread`] on a parked core; the result is C's return value.
fn run_thread(boxed: usize) -> usize {
    // SAFETY: `boxed` is the `Box<Thread>` pthread_create leaked for this
    // job; the job runs once, so it is reclaimed exactly once.
    let thread = unsafe { Box::from_raw(boxed as *mut Thread) };
    (thread.start)(thread.arg) as usize
}

/// Starts `start(arg)` on the first free parked core; the `pthread_t` is the
/// core's number. Attributes are not supported (ggml passes NULL).
///
/// # Safety
/// `out` must be writable (C's contract).
#[no_mangle]
unsafe extern "C" fn pthread_create(
    out: *mut usize,
    attr: *const c_void,
    start: extern "C" fn(*mut c_void) -> *mut c_void,
    arg: *mut c_void,
) -> c_int {
    const EAGAIN: c_int = 11;
    const EINVAL: c_int = 22;
    if !attr.is_null() {
        return EINVAL;
    }
    for core in 1..smp::CORES {
        let boxed = Box::into_raw(Box::new(Thread { start, arg })) as usize;
        match smp::post(
            core,
            smp::Job {
                run: run_thread,
                arg: boxed,
            },
        ) {
            Ok(()) => {
                // SAFETY: per the contract.
                unsafe { *out = core };
                return 0;
            }
            // SAFETY: the job was not posted, so the box is still ours.
            Err(_) => drop(unsafe { Box::from_raw(boxed as *mut Thread) }),
        }
    }
    EAGAIN
}

/// Waits for the thread on core `thread`; its return value goes to `ret`.
///
/// # Safety
/// `ret` is null or writable (C's contract).
#[no_mangle]
unsafe extern "C" fn pthread_join(thread: usize, ret: *mut *mut c_void) -> c_int {
    const ESRCH: c_int = 3;
    if thread == 0 || thread >= smp::CORES {
        return ESRCH;
    }
    // The thread runs until ggml's graph is done; no timeout is right here.
    let value = loop {
        if let Some(value) = smp::wait(thread, 1000) {
            break value;
        }
    };
    if !ret.is_null() {
        // SAFETY: per the contract.
        unsafe { *ret = value as *mut c_void };
    }
    0
}
