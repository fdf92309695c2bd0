/*
 * span.c - which pool's slab holds an address, without touching the address.
 *
 * condis finds its own bookkeeping behind every descriptor it hands out
 * (the trailer after NET_BUFFER_LIST in struct cn_nbl). A driver that
 * passes something else - a struct copy of a pool NBL on its stack, an NBL
 * it built itself - still carries a live NdisPoolHandle, and reading a
 * trailer behind it reads past the driver's object. With the verifier on,
 * condis first asks this registry whether the address is a descriptor of
 * that pool (NBL-2); only then does it look behind it.
 *
 * Every slab is entered once per 64 KiB chunk of address space it covers,
 * in a hash table keyed by chunk. A lookup hashes the chunk of the address
 * and checks the few entries with that key: O(1) whatever the number of
 * pools and slabs. Slabs come and go only when pools grow or are freed, so
 * a reader/writer lock is enough; the lookups run only with the verifier on.
 *
 * Each thread also keeps the last few slabs it found, valid while no slab
 * has been removed since (span_gen): a verified send asks about every
 * NBL, nearly always of a slab it asked about a moment ago, and the read
 * lock's two locked instructions were a tenth of a verified send.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cn_mem.h"

#define SPAN_SHIFT 16 /* 64 KiB chunks */

struct span {
    uintptr_t sp_chunk;       /* address >> SPAN_SHIFT; 0: never used */
    struct cn_span_hit sp;    /* sp.sh_start 0: deleted */
};

static void span_stride(struct span *s, size_t elem)
{
    unsigned shift = (unsigned)__builtin_ctzll(elem);
    uint64_t odd = elem >> shift, inv = odd;
    for (int i = 0; i < 5; i++)
        inv *= 2 - odd * inv; /* Newton: each step doubles the correct low bits */
    s->sp.sh_shift = shift;
    s->sp.sh_inv = inv;
    s->sp.sh_lim = UINT64_MAX / odd;
}

static pthread_rwlock_t span_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct span *span_tab;   /* (span_lock) */
static size_t span_cap;         /* a power of two, or 0 */
static size_t span_used;        /* slots with sp_chunk != 0, deleted or not */
/* Bumped when a slab is removed: every thread's cache is stale then. */
static _Atomic uint64_t span_gen = 1;

#define SPAN_CACHED 4
struct span_cache {
    uint64_t sc_gen;
    unsigned sc_next;
    struct cn_span_hit sc_span[SPAN_CACHED];
};
static _Thread_local struct span_cache span_cache;

static size_t span_hash(uintptr_t chunk, size_t cap)
{
    /* Fibonacci hashing spreads neighbouring chunks over the table. */
    return (size_t)((chunk * 0x9E3779B97F4A7C15ull) >> 17) & (cap - 1);
}

static void span_put(struct span *tab, size_t cap, const struct span *s)
{
    size_t i = span_hash(s->sp_chunk, cap);
    while (tab[i].sp_chunk != 0 && tab[i].sp.sh_start != 0)
        i = (i + 1) & (cap - 1);
    tab[i] = *s;
}

/* Room for `more` entries at a load of at most one half. Caller holds the
 * write lock. Deleted entries are dropped when the table is rebuilt. */
static int span_reserve(size_t more)
{
    if ((span_used + more) * 2 <= span_cap)
        return 0;
    size_t live = 0;
    for (size_t i = 0; i < span_cap; i++)
        live += span_tab[i].sp_chunk != 0 && span_tab[i].sp.sh_start != 0;
    size_t cap = span_cap ? span_cap : 256;
    while ((live + more) * 2 > cap)
        cap *= 2;
    struct span *tab = calloc(cap, sizeof(*tab));
    if (tab == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < span_cap; i++)
        if (span_tab[i].sp_chunk != 0 && span_tab[i].sp.sh_start != 0)
            span_put(tab, cap, &span_tab[i]);
    free(span_tab);
    span_tab = tab;
    span_cap = cap;
    span_used = live;
    return 0;
}

int cn_span_add(const struct cn_pool *p, const void *first, size_t count, size_t elem)
{
    uintptr_t start = (uintptr_t)first, end = start + count * elem;
    uintptr_t c0 = start >> SPAN_SHIFT, c1 = (end - 1) >> SPAN_SHIFT;
    pthread_rwlock_wrlock(&span_lock);
    int rc = span_reserve(c1 - c0 + 1);
    if (rc == 0) {
        for (uintptr_t c = c0; c <= c1; c++) {
            struct span s = { .sp_chunk = c, .sp = { .sh_start = start, .sh_end = end, .sh_pool = p } };
            span_stride(&s, elem);
            size_t i = span_hash(c, span_cap);
            /* A deleted slot is reused; a never-used one ends the probes
             * of lookups, so it is counted when taken. */
            while (span_tab[i].sp_chunk != 0 && span_tab[i].sp.sh_start != 0)
                i = (i + 1) & (span_cap - 1);
            span_used += span_tab[i].sp_chunk == 0;
            span_tab[i] = s;
        }
    }
    pthread_rwlock_unlock(&span_lock);
    return rc;
}

void cn_span_remove(const void *first, size_t count, size_t elem)
{
    uintptr_t start = (uintptr_t)first, end = start + count * elem;
    pthread_rwlock_wrlock(&span_lock);
    for (uintptr_t c = start >> SPAN_SHIFT; span_cap != 0 && c <= (end - 1) >> SPAN_SHIFT; c++) {
        for (size_t i = span_hash(c, span_cap); span_tab[i].sp_chunk != 0;
             i = (i + 1) & (span_cap - 1)) {
            if (span_tab[i].sp_chunk == c && span_tab[i].sp.sh_start == start) {
                span_tab[i].sp.sh_start = 0; /* deleted; keeps the probe chains whole */
                atomic_fetch_add_explicit(&span_gen, 1, memory_order_release);
                break;
            }
        }
    }
    pthread_rwlock_unlock(&span_lock);
}

/* The table, under its lock; what it finds goes into this thread's cache. */
static __attribute__((noinline)) bool span_lookup(uintptr_t a, uint64_t gen,
                                                  struct cn_span_hit *out)
{
    struct span_cache *sc = &span_cache;
    uintptr_t chunk = a >> SPAN_SHIFT;
    if (sc->sc_gen != gen) {
        memset(sc, 0, sizeof(*sc));
        sc->sc_gen = gen;
    }
    bool found = false;
    pthread_rwlock_rdlock(&span_lock);
    if (span_cap != 0) {
        for (size_t i = span_hash(chunk, span_cap); span_tab[i].sp_chunk != 0;
             i = (i + 1) & (span_cap - 1)) {
            const struct span *s = &span_tab[i];
            if (s->sp_chunk == chunk && s->sp.sh_start != 0 && a >= s->sp.sh_start &&
                a < s->sp.sh_end) {
                *out = s->sp;
                sc->sc_span[sc->sc_next++ % SPAN_CACHED] = s->sp;
                found = true;
                break;
            }
        }
    }
    pthread_rwlock_unlock(&span_lock);
    return found;
}

bool cn_span_find(const void *addr, struct cn_span_hit *out)
{
    uintptr_t a = (uintptr_t)addr;
    const struct span_cache *sc = &span_cache;
    /* Read before the table: a removal after this makes the next call
     * drop what this one caches. */
    uint64_t gen = atomic_load_explicit(&span_gen, memory_order_acquire);
    if (__builtin_expect(sc->sc_gen == gen, 1)) {
        for (unsigned k = 0; k < SPAN_CACHED; k++) {
            const struct cn_span_hit *h = &sc->sc_span[k];
            if (a >= h->sh_start && a < h->sh_end) {
                *out = *h;
                return true;
            }
        }
    }
    return span_lookup(a, gen, out);
}

bool cn_span_holds(const struct cn_pool *p, const void *addr)
{
    struct cn_span_hit h;
    return cn_span_find(addr, &h) && cn_span_hit_holds(&h, p, addr);
}

void cn_span_fini(void)
{
    pthread_rwlock_wrlock(&span_lock);
    free(span_tab);
    span_tab = NULL;
    span_cap = span_used = 0;
    atomic_fetch_add_explicit(&span_gen, 1, memory_order_release);
    pthread_rwlock_unlock(&span_lock);
}
