/* Kingly OS: forced into ggml's translation units (clang -include, from
 * llm/build.rs, aarch64-unknown-none only) so that ggml's waits between
 * graph nodes sleep instead of spinning.
 *
 * In ggml b2757 every `atomic_load` in ggml.c sits in one of the two polling
 * loops of its thread barrier (ggml_graph_compute_thread_sync_node and
 * _sync_task: "load the shared counter until it changes"); nothing else in
 * ggml calls it. Those loops call sched_yield only on one path, so hooking
 * sched_yield alone would leave most waits spinning. Routing the load
 * through the kernel's kingly_ggml_poll (kernel/src/llm_shim.rs) lets a core
 * that sees the same value again wait in `wfe` until another core stores to
 * it. The value returned is an acquire load of the object, as before: only
 * the time between polls changes, never what ggml sees. */
#ifndef KINGLY_GGML_WAIT_H
#define KINGLY_GGML_WAIT_H

#include <stdatomic.h>

int kingly_ggml_poll(const atomic_int *object);

#undef atomic_load
#define atomic_load(object) kingly_ggml_poll(object)

#endif
