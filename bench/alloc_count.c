/*
 * alloc_count.c - count every heap allocation the condis CLI makes.
 *
 * The benchmark reports how many allocations each scenario made while it
 * was being timed: the send and completion path must make none. The CLI
 * is linked with its symbols exported, so these definitions take the
 * place of the C library's for the whole process - libcondis, the drivers
 * and the DPDK module included - and pass each call on to glibc's own
 * entry points. The count is one relaxed atomic add per allocation.
 *
 * Sanitizers replace malloc themselves; there, nothing is defined and the
 * benchmark says it could not count.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>

#include "bench.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CN_NO_ALLOC_COUNT 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define CN_NO_ALLOC_COUNT 1
#endif
#endif

#ifndef CN_NO_ALLOC_COUNT

/* glibc's allocator under its own names. */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t align, size_t size);
extern void __libc_free(void *p);

static atomic_ullong allocs;

static inline void counted(void)
{
    atomic_fetch_add_explicit(&allocs, 1, memory_order_relaxed);
}

/* These are the C library's names on purpose: the prototypes come from
 * <stdlib.h> semantics, declared here to keep -Wmissing-prototypes quiet. */
void *malloc(size_t size);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t size);
void free(void *p);
int posix_memalign(void **out, size_t align, size_t size);
void *aligned_alloc(size_t align, size_t size);
void *memalign(size_t align, size_t size);

void *malloc(size_t size)
{
    counted();
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
    counted();
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
    counted();
    return __libc_realloc(p, size);
}

void free(void *p)
{
    __libc_free(p);
}

int posix_memalign(void **out, size_t align, size_t size)
{
    if (align < sizeof(void *) || (align & (align - 1)) != 0)
        return EINVAL;
    counted();
    void *p = __libc_memalign(align, size);
    if (p == NULL)
        return ENOMEM;
    *out = p;
    return 0;
}

void *aligned_alloc(size_t align, size_t size)
{
    counted();
    return __libc_memalign(align, size);
}

void *memalign(size_t align, size_t size)
{
    counted();
    return __libc_memalign(align, size);
}

bool cn_bench_alloc_count(uint64_t *count)
{
    *count = atomic_load_explicit(&allocs, memory_order_relaxed);
    return true;
}

#else

bool cn_bench_alloc_count(uint64_t *count)
{
    *count = 0;
    return false;
}

#endif
