/* Kingly OS: the part of <pthread.h> that ggml b2757 uses (ggml.c includes
 * it on every non-Windows target; picolibc ships none). The definitions are
 * the kernel's no_std shim (kernel/src/llm_shim.rs). Only create and join
 * are declared, so any other pthread call in ggml fails to compile here
 * rather than linking against a silent stand-in. */
#ifndef KINGLY_PTHREAD_H
#define KINGLY_PTHREAD_H

#include <stdint.h>

typedef uintptr_t pthread_t;
typedef struct kingly_pthread_attr pthread_attr_t; /* never defined: ggml passes NULL */

int pthread_create(pthread_t *thread, const pthread_attr_t *attr,
                   void *(*start)(void *), void *arg);
int pthread_join(pthread_t thread, void **ret);

#endif
