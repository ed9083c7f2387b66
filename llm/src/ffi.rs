//! ggml, and the only `unsafe` in this crate.
//!
//! `sys` is what bindgen generated from ggml.h (build.rs). Above it, a small
//! safe surface:
//!
//! - [`Context`] owns a `ggml_context` and frees it on drop;
//! - [`Tensor<'a>`] is a tensor of a context that lives for `'a` (a `Copy`
//!   handle; ops of a shorter-lived context may use it, so weights and the
//!   KV cache feed every step's graph);
//! - [`TensorSet`] is a context plus its tensors by index, for what outlives
//!   one step (weights bound to the file's bytes, the KV cache);
//! - [`Context::compute`] runs the graph ending in some tensors;
//!   [`set_node_hook`] names a function every thread of it calls per node.
//!
//! ggml checks shapes with GGML_ASSERT and aborts on a mismatch: that is a
//! bug in the graph (ours), never a consequence of input data, because every
//! shape here comes from hyper-parameters checked when the model is loaded.

use alloc::vec;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicPtr, Ordering};

use crate::types::GgmlType;

#[allow(
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    dead_code,
    unsafe_op_in_unsafe_fn
)]
#[allow(clippy::all)]
mod sys {
    include!(concat!(env!("OUT_DIR"), "/ggml.rs"));
}

/// A ggml context. Tensors made in it live as long as it does.
#[derive(Debug)]
pub struct Context {
    ptr: NonNull<sys::ggml_context>,
}

/// A tensor of a context that lives for `'a`.
#[derive(Debug, Clone, Copy)]
pub struct Tensor<'a> {
    ptr: NonNull<sys::ggml_tensor>,
    _ctx: PhantomData<&'a Context>,
}

// SAFETY: a context is only ever used by one thread at a time (it is not
// Sync); ggml keeps no thread-local state tied to it, so moving it between
// threads is fine.
unsafe impl Send for Context {}

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: ptr came from ggml_init and is freed once, here; every
        // Tensor borrowing it is gone (the borrow checker sees to that).
        unsafe { sys::ggml_free(self.ptr.as_ptr()) }
    }
}

/// Bytes of context memory per tensor (its header), for sizing contexts.
pub fn tensor_overhead() -> usize {
    // SAFETY: a pure function of ggml's compile-time layout.
    unsafe { sys::ggml_tensor_overhead() }
}

/// Bytes of context memory a graph of `nodes` nodes takes.
pub fn graph_overhead(nodes: usize) -> usize {
    // SAFETY: a pure function of its argument.
    unsafe { sys::ggml_graph_overhead_custom(nodes, false) }
}

impl Context {
    /// A context of `mem_size` bytes. With `no_alloc`, tensors get headers
    /// but no data (it is bound later, see [`TensorSet::bind`]).
    pub fn new(mem_size: usize, no_alloc: bool) -> Option<Self> {
        let params = sys::ggml_init_params {
            mem_size,
            mem_buffer: core::ptr::null_mut(),
            no_alloc,
        };
        // SAFETY: ggml allocates the buffer itself (mem_buffer is null); it
        // returns null when that fails.
        NonNull::new(unsafe { sys::ggml_init(params) }).map(|ptr| Context { ptr })
    }

    fn wrap(&self, ptr: *mut sys::ggml_tensor) -> Tensor<'_> {
        // ggml returns null only when the context is out of memory, which
        // it reports with GGML_ASSERT (abort) first; null here is a bug.
        let ptr = NonNull::new(ptr).expect("ggml returned no tensor");
        Tensor {
            ptr,
            _ctx: PhantomData,
        }
    }

    fn raw(&self) -> *mut sys::ggml_context {
        self.ptr.as_ptr()
    }

    /// A new tensor; `dims[0]` is the contiguous dimension.
    pub fn new_tensor(&self, ty: GgmlType, dims: &[i64]) -> Tensor<'_> {
        let ty = ty.id();
        // SAFETY: the context is live; ggml checks the size against its
        // remaining memory (GGML_ASSERT).
        let ptr = unsafe {
            match *dims {
                [a] => sys::ggml_new_tensor_1d(self.raw(), ty, a),
                [a, b] => sys::ggml_new_tensor_2d(self.raw(), ty, a, b),
                [a, b, c] => sys::ggml_new_tensor_3d(self.raw(), ty, a, b, c),
                _ => panic!("tensors here have 1 to 3 dimensions"),
            }
        };
        self.wrap(ptr)
    }

    /// A new I32 vector holding `values` (an input of this step's graph).
    pub fn input_i32(&self, values: &[i32]) -> Tensor<'_> {
        let t = self.new_tensor_i32(values.len());
        // SAFETY: the tensor was just allocated in this (allocating)
        // context with exactly values.len() i32 elements.
        unsafe {
            core::ptr::copy_nonoverlapping(
                values.as_ptr(),
                (*t.ptr.as_ptr()).data.cast(),
                values.len(),
            )
        };
        t
    }

    fn new_tensor_i32(&self, n: usize) -> Tensor<'_> {
        assert!(!self.no_alloc(), "inputs need an allocating context");
        // SAFETY: as in new_tensor.
        self.wrap(unsafe { sys::ggml_new_tensor_1d(self.raw(), sys::GGML_TYPE_I32, n as i64) })
    }

    /// A new F32 tensor of shape `dims` holding `values`.
    pub fn input_f32(&self, dims: &[i64], values: &[f32]) -> Tensor<'_> {
        assert!(!self.no_alloc(), "inputs need an allocating context");
        assert_eq!(dims.iter().product::<i64>(), values.len() as i64);
        let t = self.new_tensor(GgmlType::F32, dims);
        // SAFETY: a freshly allocated contiguous F32 tensor of values.len()
        // elements.
        unsafe {
            core::ptr::copy_nonoverlapping(
                values.as_ptr(),
                (*t.ptr.as_ptr()).data.cast(),
                values.len(),
            )
        };
        t
    }

    fn no_alloc(&self) -> bool {
        // SAFETY: the context is live.
        unsafe { sys::ggml_get_no_alloc(self.raw()) }
    }

    /// Runs the graph that ends in `outputs` on `n_threads` threads.
    pub fn compute(&self, outputs: &[Tensor<'_>], nodes: usize, n_threads: usize) {
        // SAFETY: the graph is made in this context (sized by the caller
        // with graph_overhead), from tensors that are all live for the
        // duration of this call; the work buffer outlives the computation.
        unsafe {
            let graph = sys::ggml_new_graph_custom(self.raw(), nodes, false);
            assert!(!graph.is_null());
            for t in outputs {
                sys::ggml_build_forward_expand(graph, t.ptr.as_ptr());
            }
            let mut plan = sys::ggml_graph_plan(graph, n_threads as i32);
            plan.abort_callback = Some(on_node);
            let mut work = vec![0u8; plan.work_size];
            if plan.work_size > 0 {
                plan.work_data = work.as_mut_ptr();
            }
            let status = sys::ggml_graph_compute(graph, &mut plan);
            assert_eq!(
                status,
                sys::GGML_STATUS_SUCCESS,
                "ggml_graph_compute failed"
            );
        }
    }
}

/// The function [`set_node_hook`] installed, as a pointer (null: none).
static NODE_HOOK: AtomicPtr<()> = AtomicPtr::new(core::ptr::null_mut());

/// Makes every thread computing a graph call `hook` before each node (and
/// a few times more), from whichever core runs the thread. The kernel feeds
/// its heartbeat watchdog with it: one graph (a batch of prompt tokens) can
/// take longer than the watchdog allows between beats. `hook` must be
/// cheap and callable from any core at once.
///
/// It cannot stop the graph: ggml b2757's abort path is only safe with one
/// thread (the thread that sees "abort" leaves the barrier without the
/// others), and an interrupted graph would leave the KV cache half written.
pub fn set_node_hook(hook: fn()) {
    NODE_HOOK.store(hook as *mut (), Ordering::Release);
}

/// ggml's `abort_callback`: calls the node hook, and always answers "go on".
unsafe extern "C" fn on_node(_data: *mut c_void) -> bool {
    let hook = NODE_HOOK.load(Ordering::Acquire);
    if !hook.is_null() {
        // SAFETY: the only non-null value stored is a `fn()` (set_node_hook),
        // and function and data pointers have the same size here.
        let hook = unsafe { core::mem::transmute::<*mut (), fn()>(hook) };
        hook();
    }
    false
}

/// The graph operations the llama graph uses, named as in ggml.
macro_rules! op {
    ($(#[$doc:meta])* $name:ident($($arg:ident: $ty:ty),*) => $sys:ident($($val:expr),*)) => {
        $(#[$doc])*
        #[allow(clippy::too_many_arguments)]
        pub fn $name<'a>(&'a self, $($arg: $ty),*) -> Tensor<'a> {
            // SAFETY: the context and every argument tensor are live for 'a
            // (tensors of longer-lived contexts included); ggml checks shapes.
            self.wrap(unsafe { sys::$sys(self.raw(), $($val),*) })
        }
    };
}

impl Context {
    op!(get_rows(a: Tensor<'a>, rows: Tensor<'a>) => ggml_get_rows(a.raw(), rows.raw()));
    op!(rms_norm(a: Tensor<'a>, eps: f32) => ggml_rms_norm(a.raw(), eps));
    op!(mul(a: Tensor<'a>, b: Tensor<'a>) => ggml_mul(a.raw(), b.raw()));
    op!(add(a: Tensor<'a>, b: Tensor<'a>) => ggml_add(a.raw(), b.raw()));
    op!(
        /// `a` is [k, m] (weights), `b` is [k, n]: the result is [m, n].
        mul_mat(a: Tensor<'a>, b: Tensor<'a>) => ggml_mul_mat(a.raw(), b.raw())
    );
    op!(cont(a: Tensor<'a>) => ggml_cont(a.raw()));
    op!(transpose(a: Tensor<'a>) => ggml_transpose(a.raw()));
    op!(cpy(a: Tensor<'a>, into: Tensor<'a>) => ggml_cpy(a.raw(), into.raw()));
    op!(reshape_2d(a: Tensor<'a>, n0: i64, n1: i64) => ggml_reshape_2d(a.raw(), n0, n1));
    op!(reshape_3d(a: Tensor<'a>, n0: i64, n1: i64, n2: i64) => ggml_reshape_3d(a.raw(), n0, n1, n2));
    op!(cont_2d(a: Tensor<'a>, n0: i64, n1: i64) => ggml_cont_2d(a.raw(), n0, n1));
    op!(permute(a: Tensor<'a>, p0: i32, p1: i32, p2: i32, p3: i32) => ggml_permute(a.raw(), p0, p1, p2, p3));
    op!(view_1d(a: Tensor<'a>, n0: i64, offset: usize) => ggml_view_1d(a.raw(), n0, offset));
    op!(view_2d(a: Tensor<'a>, n0: i64, n1: i64, nb1: usize, offset: usize)
        => ggml_view_2d(a.raw(), n0, n1, nb1, offset));
    op!(view_3d(a: Tensor<'a>, n0: i64, n1: i64, n2: i64, nb1: usize, nb2: usize, offset: usize)
        => ggml_view_3d(a.raw(), n0, n1, n2, nb1, nb2, offset));
    op!(
        /// x * sigmoid(x), computed in f32 (`crate::vecmath::silu_row`).
        silu(a: Tensor<'a>) => ggml_map_custom1(a.raw(), Some(silu_rows), GGML_N_TASKS_MAX, core::ptr::null_mut())
    );
    op!(
        /// softmax(a * scale + mask) along dim 0, in f32 (`crate::vecmath::soft_max_row`).
        /// The scale travels in the userdata pointer's bits (a plain value,
        /// never dereferenced), so no storage has to outlive the graph.
        soft_max_ext(a: Tensor<'a>, mask: Tensor<'a>, scale: f32)
            => ggml_map_custom2(a.raw(), mask.raw(), Some(soft_max_rows), GGML_N_TASKS_MAX,
                                scale.to_bits() as usize as *mut c_void)
    );
    op!(
        /// RoPE with YaRN off (ext_factor 0), as llama.cpp calls it for a
        /// model without rope scaling.
        rope(a: Tensor<'a>, pos: Tensor<'a>, n_dims: i32, mode: i32, n_orig_ctx: i32, freq_base: f32)
            => ggml_rope_custom(a.raw(), pos.raw(), n_dims, mode, 0, n_orig_ctx, freq_base, 1.0, 0.0, 1.0, 32.0, 1.0)
    );
}

/// ggml's "as many tasks as threads".
const GGML_N_TASKS_MAX: i32 = -1;

// ggml b2757's own silu and soft_max round through f16 lookup tables;
// these run crate::vecmath's f32 versions (rounded as llama.cpp rounds
// today) as custom ops: thread `ith` of `nth` takes every nth row.

extern "C" {
    // From the C library ggml links against anyway (libm; picolibc on the
    // kernel).
    #[link_name = "expf"]
    fn c_expf(x: f32) -> f32;
}

/// The C library's `expf`.
pub(crate) fn expf(x: f32) -> f32 {
    // SAFETY: a pure libm function, defined for every input.
    unsafe { c_expf(x) }
}

impl Context {
    /// `a` (F16, [k, m, ha], rows contiguous) times `b` (F32, [k, n, hb],
    /// rows contiguous, hb a multiple of ha) = [m, n, hb], each element as
    /// llama.cpp's tinyBLAS computes it ([`crate::vecmath::dot_f16`]); ggml
    /// b2757 sums in another order. Used for attention over the KV cache.
    /// ggml's custom ops take their result's shape from their first
    /// operand, so that is an unused tensor of the result's shape.
    pub fn mul_mat_f16<'a>(&'a self, a: Tensor<'a>, b: Tensor<'a>) -> Tensor<'a> {
        let (an, bn) = (a.ne(), b.ne());
        assert!(an[0] == bn[0] && an[3] == 1 && bn[3] == 1 && bn[2] % an[2] == 0);
        let shape = self.new_tensor(GgmlType::F32, &[an[1], bn[1], bn[2]]);
        // SAFETY: all three tensors are live for 'a; mul_mat_f16_rows checks
        // types and strides before reading.
        self.wrap(unsafe {
            sys::ggml_map_custom3(
                self.raw(),
                shape.raw(),
                a.raw(),
                b.raw(),
                Some(mul_mat_f16_rows),
                GGML_N_TASKS_MAX,
                core::ptr::null_mut(),
            )
        })
    }
}

unsafe extern "C" fn mul_mat_f16_rows(
    dst: *mut sys::ggml_tensor,
    _shape: *const sys::ggml_tensor,
    a: *const sys::ggml_tensor,
    b: *const sys::ggml_tensor,
    ith: i32,
    nth: i32,
    _userdata: *mut c_void,
) {
    use crate::vecmath::{dot_f16, dot_f16_single, f16_to_f32, f32_to_f16};
    // SAFETY: ggml passes the live operands of the op built by
    // Context::mul_mat_f16. The asserts establish that rows along dim 0
    // are contiguous and that every row read lies inside its tensor's
    // ne/nb extent; the destination is contiguous [m, n, h], and thread ith
    // writes only the (column, head) pairs p with p % nth == ith.
    unsafe {
        let (d, a, b) = (&*dst, &*a, &*b);
        assert!(
            a.type_ == sys::GGML_TYPE_F16
                && b.type_ == sys::GGML_TYPE_F32
                && d.type_ == sys::GGML_TYPE_F32
        );
        assert!(a.nb[0] == 2 && b.nb[0] == 4 && sys::ggml_is_contiguous(d));
        let (k, m, ha) = (a.ne[0] as usize, a.ne[1] as usize, a.ne[2] as usize);
        let (n, hb) = (b.ne[1] as usize, b.ne[2] as usize);
        assert!(
            b.ne[0] as usize == k
                && d.ne[0] as usize == m
                && d.ne[1] as usize == n
                && d.ne[2] as usize == hb
        );
        let group = hb / ha;
        // llama.cpp takes tinyBLAS for products of several columns,
        // ggml_vec_dot_f16 for one. Both round b to f16; it is rounded
        // here once per column and kept as f32.
        let dot = if n >= 2 { dot_f16 } else { dot_f16_single };
        let mut b_row = vec![0f32; k];
        for p in (ith as usize..n * hb).step_by(nth.max(1) as usize) {
            let (j, h) = (p % n, p / n);
            let b_src = core::slice::from_raw_parts(
                (b.data as *const u8).add(j * b.nb[1] + h * b.nb[2]) as *const f32,
                k,
            );
            for (o, &x) in b_row.iter_mut().zip(b_src) {
                *o = f16_to_f32(f32_to_f16(x));
            }
            let out = core::slice::from_raw_parts_mut((d.data as *mut f32).add((h * n + j) * m), m);
            for (i, o) in out.iter_mut().enumerate() {
                let a_src =
                    (a.data as *const u8).add(i * a.nb[1] + (h / group) * a.nb[2]) as *const u16;
                *o = dot(core::slice::from_raw_parts(a_src, k), &b_row);
            }
        }
    }
}

/// The rows of a contiguous F32 tensor that thread `ith` of `nth` handles,
/// as (row index, input row, output row).
///
/// # Safety
/// `dst` and `a` are contiguous F32 tensors of the same shape, with live
/// data, and no other thread touches the rows this one is given.
unsafe fn rows<'t>(
    dst: *mut sys::ggml_tensor,
    a: *const sys::ggml_tensor,
    ith: i32,
    nth: i32,
) -> impl Iterator<Item = (usize, &'t [f32], &'t mut [f32])> {
    // SAFETY: per this function's contract.
    unsafe {
        let (d, a) = (&*dst, &*a);
        assert!(
            a.type_ == sys::GGML_TYPE_F32
                && sys::ggml_is_contiguous(a)
                && sys::ggml_is_contiguous(d)
        );
        assert!(d.type_ == sys::GGML_TYPE_F32 && sys::ggml_nelements(a) == sys::ggml_nelements(d));
        let n = a.ne[0] as usize;
        let n_rows = (sys::ggml_nelements(a) as usize) / n;
        let (src, out) = (a.data as *const f32, d.data as *mut f32);
        (ith as usize..n_rows)
            .step_by(nth.max(1) as usize)
            .map(move |r| {
                (
                    r,
                    core::slice::from_raw_parts(src.add(r * n), n),
                    core::slice::from_raw_parts_mut(out.add(r * n), n),
                )
            })
    }
}

unsafe extern "C" fn silu_rows(
    dst: *mut sys::ggml_tensor,
    a: *const sys::ggml_tensor,
    ith: i32,
    nth: i32,
    _userdata: *mut c_void,
) {
    // SAFETY: ggml calls a custom1 op with dst shaped like a (checked in
    // rows) and splits the work by ith/nth.
    for (_, x, y) in unsafe { rows(dst, a, ith, nth) } {
        crate::vecmath::silu_row(x, y);
    }
}

unsafe extern "C" fn soft_max_rows(
    dst: *mut sys::ggml_tensor,
    a: *const sys::ggml_tensor,
    mask: *const sys::ggml_tensor,
    ith: i32,
    nth: i32,
    userdata: *mut c_void,
) {
    let scale = f32::from_bits(userdata as usize as u32);
    // SAFETY: as in silu_rows; the mask is a contiguous F32 matrix with
    // rows as long as a's (checked), built by Session::eval_batch.
    unsafe {
        let mask = &*mask;
        assert!(
            mask.type_ == sys::GGML_TYPE_F32
                && mask.ne[0] == (*a).ne[0]
                && sys::ggml_is_contiguous(mask)
        );
        let (n, mask_rows) = (mask.ne[0] as usize, mask.ne[1] as usize);
        let mask_data = core::slice::from_raw_parts(mask.data as *const f32, n * mask_rows);
        let a_rows = (*a).ne[1] as usize;
        for (r, x, y) in rows(dst, a, ith, nth) {
            // Row r of a is (i1 = r % ne1, i2 = r / ne1); the mask has one
            // row per i1 and is shared by all heads.
            let m = &mask_data[(r % a_rows % mask_rows) * n..][..n];
            crate::vecmath::soft_max_row(x, m, scale, y);
        }
    }
}

impl<'a> Tensor<'a> {
    fn raw(self) -> *mut sys::ggml_tensor {
        self.ptr.as_ptr()
    }

    fn header(&self) -> &sys::ggml_tensor {
        // SAFETY: the tensor's context is live for 'a, and we only read.
        unsafe { self.ptr.as_ref() }
    }

    pub fn ne(&self) -> [i64; 4] {
        self.header().ne
    }

    /// Stride in bytes of each dimension.
    pub fn nb(&self) -> [usize; 4] {
        self.header().nb
    }

    pub fn n_bytes(&self) -> usize {
        // SAFETY: reads the live header.
        unsafe { sys::ggml_nbytes(self.ptr.as_ptr()) }
    }

    pub fn element_size(&self) -> usize {
        // SAFETY: reads the live header.
        unsafe { sys::ggml_element_size(self.ptr.as_ptr()) }
    }

    /// Row size in bytes of `n` elements of this tensor's type.
    pub fn row_size(&self, n: i64) -> usize {
        // SAFETY: a pure function of the type and count.
        unsafe { sys::ggml_row_size(self.header().type_, n) }
    }

    /// A computed contiguous F32 tensor's values.
    pub fn to_f32_vec(&self) -> Vec<f32> {
        let h = self.header();
        assert_eq!(h.type_, sys::GGML_TYPE_F32);
        // SAFETY: contiguous (checked) F32 data of ggml_nelements elements,
        // allocated in a context live for 'a and written by compute.
        unsafe {
            assert!(sys::ggml_is_contiguous(self.ptr.as_ptr()));
            let n = sys::ggml_nelements(self.ptr.as_ptr()) as usize;
            assert!(!h.data.is_null());
            core::slice::from_raw_parts(h.data.cast::<f32>(), n).to_vec()
        }
    }
}

/// A context with a fixed set of tensors, by index. `'data` is the lifetime
/// of the bytes tensors are bound to (the model file), or `'static` for a
/// set that allocates its own.
#[derive(Debug)]
pub struct TensorSet<'data> {
    ctx: Context,
    tensors: Vec<NonNull<sys::ggml_tensor>>,
    _data: PhantomData<&'data [u8]>,
}

// SAFETY: the tensor pointers point into the set's own context (moved with
// it, Send above) and to data borrowed for 'data; the set hands out tensors
// only through &self, and nothing in ggml ties them to a thread. The kernel
// keeps its model behind a lock and moves it between requests.
unsafe impl Send for TensorSet<'_> {}

impl<'data> TensorSet<'data> {
    /// Tensors whose data stays where it is, in `bytes` (the weight arena).
    /// Each (type, dims, bytes) must agree in size; data must be aligned to
    /// the element's alignment (GGUF aligns tensors to 32 bytes).
    pub fn bind(specs: &[(GgmlType, Vec<i64>, &'data [u8])]) -> Option<Self> {
        let ctx = Context::new(specs.len() * tensor_overhead() + 1024, true)?;
        let mut tensors = Vec::with_capacity(specs.len());
        for (ty, dims, bytes) in specs {
            let t = ctx.new_tensor(*ty, dims);
            if t.n_bytes() != bytes.len() || !(bytes.as_ptr() as usize).is_multiple_of(32) {
                return None;
            }
            // SAFETY: the header is ours (no_alloc context, data unset).
            // The data pointer stays valid for 'data, which this set cannot
            // outlive; ggml only reads tensors that are operands (weights
            // are never the destination of an op or a cpy here), so the
            // const-to-mut cast is never written through.
            unsafe { (*t.raw()).data = bytes.as_ptr() as *mut c_void };
            tensors.push(t.ptr);
        }
        Some(TensorSet {
            ctx,
            tensors,
            _data: PhantomData,
        })
    }
}

impl TensorSet<'static> {
    /// Tensors allocated (zeroed) in their own context: the KV cache.
    pub fn alloc(specs: &[(GgmlType, Vec<i64>)]) -> Option<Self> {
        let mut size = specs.len() * tensor_overhead() + 1024;
        for (ty, dims) in specs {
            size += ty.n_bytes(&dims.iter().map(|&d| d as u64).collect::<Vec<_>>())? as usize;
        }
        let ctx = Context::new(size, false)?;
        let mut tensors = Vec::with_capacity(specs.len());
        for (ty, dims) in specs {
            let t = ctx.new_tensor(*ty, dims);
            // SAFETY: freshly allocated data of n_bytes in this context.
            unsafe { core::ptr::write_bytes((*t.raw()).data.cast::<u8>(), 0, t.n_bytes()) };
            tensors.push(t.ptr);
        }
        Some(TensorSet {
            ctx,
            tensors,
            _data: PhantomData,
        })
    }
}

impl TensorSet<'_> {
    pub fn get(&self, index: usize) -> Tensor<'_> {
        Tensor {
            ptr: self.tensors[index],
            _ctx: PhantomData,
        }
    }

    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    /// The context's own memory (headers, and data unless bound).
    pub fn context_bytes(&self) -> usize {
        // SAFETY: the context is live.
        unsafe { sys::ggml_get_mem_size(self.ctx.raw()) }
    }
}

/// Checks our type table against ggml's own.
pub fn ggml_type_layout(ty: GgmlType) -> (u64, u64) {
    // SAFETY: pure functions of the type id, which is one of ggml's.
    unsafe {
        (
            sys::ggml_blck_size(ty.id()) as u64,
            sys::ggml_type_size(ty.id()) as u64,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_table_matches_ggml() {
        for ty in GgmlType::ALL {
            assert_eq!(
                ggml_type_layout(ty),
                (ty.block_len(), ty.block_bytes()),
                "{}",
                ty.name()
            );
        }
    }

    #[test]
    fn a_small_graph_computes() {
        let ctx = Context::new(1 << 20, false).unwrap();
        // a = [[1,2],[3,4],[5,6]] as 3 rows of 2; b = [1, 1]
        let a = ctx.input_f32(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let b = ctx.input_f32(&[2, 1], &[1.0, 1.0]);
        let y = ctx.mul_mat(a, b);
        ctx.compute(&[y], 64, 1);
        assert_eq!(y.to_f32_vec(), [3.0, 7.0, 11.0]);
    }

    #[test]
    fn the_node_hook_runs_during_a_graph() {
        use core::sync::atomic::AtomicUsize;
        static CALLS: AtomicUsize = AtomicUsize::new(0);
        set_node_hook(|| {
            CALLS.fetch_add(1, Ordering::Relaxed);
        });
        let ctx = Context::new(1 << 20, false).unwrap();
        let a = ctx.input_f32(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let b = ctx.input_f32(&[2, 1], &[1.0, 1.0]);
        let y = ctx.add(ctx.mul_mat(a, b), ctx.mul_mat(a, b));
        let before = CALLS.load(Ordering::Relaxed);
        ctx.compute(&[y], 64, 2);
        // Three nodes on two threads; other tests' graphs may add calls.
        assert!(CALLS.load(Ordering::Relaxed) >= before + 2);
        assert_eq!(y.to_f32_vec(), [6.0, 14.0, 22.0]);
    }
}
