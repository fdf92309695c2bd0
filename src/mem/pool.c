/*
 * pool.c - the descriptor pool under every NBL pool, NB pool and condis'
 * MDL pool: slabs, a locked free list per pool, per-thread caches in
 * front of it, the registry of pools for leak reports, and the limit used
 * to test exhaustion.
 *
 * After warm-up an allocation is a pop from the calling thread's cache and
 * a free a push to it; the pool's lock is taken once per CN_PCACHE_BATCH
 * descriptors, and no lock is ever shared between pools. Slabs are freed
 * only when their pool is.
 *
 * Concurrency: every function may be called from any thread at any
 * emulated IRQL; none blocks other than on a pool's own mutex (held for a
 * few pointer moves) or the registry mutex (pool create/destroy, reports).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cn_mem.h"

/* A slab: this header, then p_slab_count descriptors of p_elem_size. */
struct cn_slab {
    struct cn_slab *sl_next;
    size_t sl_count;
    char sl_pad[48];
};
_Static_assert(sizeof(struct cn_slab) == 64, "descriptors start on a cache line");

union cn_any_pool {
    struct cn_nbl_pool ap_nbl;
    struct cn_nb_pool ap_nb;
    char ap_other[sizeof(struct cn_pool) + CN_POOL_EXTRA_MAX]; /* compat5's pools */
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cn_pool *reg_head;  /* live pools (reg_lock) */
static void *reg_spare;           /* destroyed pool structs, for reuse (reg_lock) */
static _Atomic size_t pool_limit; /* 0: unlimited */

/* ---- descriptor links ----------------------------------------------------- */

static inline void **link_of(struct cn_pool *p, void *elem)
{
    return (void **)((char *)elem + p->p_link_off);
}

static inline void *slab_elem(struct cn_pool *p, struct cn_slab *s, size_t i)
{
    return (char *)(s + 1) + i * p->p_elem_size;
}

/* Carve one more slab into the free list. Caller holds p_lock. */
static bool grow_locked(struct cn_pool *p)
{
    void *mem = NULL;
    if (posix_memalign(&mem, 64, sizeof(struct cn_slab) + p->p_slab_count * p->p_elem_size) != 0)
        return false;
    struct cn_slab *s = mem;
    memset(s, 0, sizeof(*s) + p->p_slab_count * p->p_elem_size);
    s->sl_count = p->p_slab_count;
    if (cn_span_add(p, slab_elem(p, s, 0), s->sl_count, p->p_elem_size) != 0) {
        free(mem);
        return false;
    }
    s->sl_next = p->p_slabs;
    p->p_slabs = s;
    /* Link in reverse so that the first descriptors of the slab come out
     * first (addresses then grow with allocation order, kinder to caches). */
    for (size_t i = s->sl_count; i-- > 0;) {
        void *e = slab_elem(p, s, i);
        p->p_carve(p, e);
        *link_of(p, e) = p->p_free;
        p->p_free = e;
    }
    p->p_nfree += s->sl_count;
    p->p_carved += s->sl_count;
    return true;
}

/* ---- registry ------------------------------------------------------------------- */

void *cn_pool_struct_alloc(void)
{
    void *m;
    pthread_mutex_lock(&reg_lock);
    m = reg_spare;
    if (m != NULL)
        reg_spare = *(void **)m;
    pthread_mutex_unlock(&reg_lock);
    if (m == NULL && posix_memalign(&m, 64, sizeof(union cn_any_pool)) != 0)
        return NULL;
    memset(m, 0, sizeof(union cn_any_pool));
    return m;
}

/* Give a pool struct back for reuse. Its first word links the spare list;
 * p_magic (the first field) is overwritten, so a racing lookup that still
 * reaches it sees no live pool. */
static void pool_struct_release(struct cn_pool *p)
{
    pthread_mutex_lock(&reg_lock);
    *(void **)p = reg_spare;
    reg_spare = p;
    pthread_mutex_unlock(&reg_lock);
}

int cn_pool_setup(struct cn_pool *p, enum cn_pool_kind kind, const char *owner, ULONG tag,
                  size_t elem_size, size_t link_off, cn_pool_carve_fn *carve,
                  cn_pool_reap_fn *reap)
{
    p->p_kind = kind;
    p->p_owner = owner ? owner : "?";
    p->p_tag = tag;
    p->p_elem_size = (elem_size + 63) & ~(size_t)63;
    p->p_link_off = link_off;
    /* Up to CN_SLAB_MAX descriptors, but about 1 MiB per slab at most when
     * descriptors carry large data buffers. */
    size_t n = ((size_t)1 << 20) / p->p_elem_size;
    p->p_slab_count = n < 1 ? 1 : n > CN_SLAB_MAX ? CN_SLAB_MAX : n;
    p->p_carve = carve;
    p->p_reap = reap;
    if (pthread_mutex_init(&p->p_lock, NULL) != 0)
        return -ENOMEM;
    p->p_free = NULL;
    p->p_nfree = p->p_carved = 0;
    p->p_slabs = NULL;
    atomic_store_explicit(&p->p_out, 0, memory_order_relaxed);
    p->p_max = 0;
    p->p_site = NULL;
    for (unsigned i = 0; i < CN_MAX_THREAD_SLOTS; i++)
        p->p_cache[i].pc_n = 0;
    p->p_magic = CN_POOL_MAGIC;
    pthread_mutex_lock(&reg_lock);
    p->p_next = reg_head;
    reg_head = p;
    pthread_mutex_unlock(&reg_lock);
    return 0;
}

/* ---- allocate and free ----------------------------------------------------------- */

void *cn_pool_get(struct cn_pool *p)
{
    size_t lim = atomic_load_explicit(&pool_limit, memory_order_relaxed);
    size_t was = atomic_fetch_add_explicit(&p->p_out, 1, memory_order_relaxed);
    /* p_out counts what is handed out, not what sits in thread caches, so
     * the pool's own bound (NDIS 5 pools have a fixed number of
     * descriptors) is exact whichever thread allocates. */
    if ((lim != 0 && was >= lim) || (p->p_max != 0 && was >= p->p_max)) {
        atomic_fetch_sub_explicit(&p->p_out, 1, memory_order_relaxed);
        return NULL; /* exhausted, as a pool on Windows can be */
    }

    unsigned slot = cn_thread_slot();
    if (slot < CN_MAX_THREAD_SLOTS) {
        struct cn_pcache *c = &p->p_cache[slot];
        if (c->pc_n == 0) {
            /* Refill a batch from the free list, carving a slab if it is
             * short: the only place allocation takes the lock. */
            pthread_mutex_lock(&p->p_lock);
            if (p->p_nfree < CN_PCACHE_BATCH)
                grow_locked(p); /* failure is fine while some are left */
            while (c->pc_n < CN_PCACHE_BATCH && p->p_free != NULL) {
                void *e = p->p_free;
                p->p_free = *link_of(p, e);
                p->p_nfree--;
                c->pc_elem[c->pc_n++] = e;
            }
            pthread_mutex_unlock(&p->p_lock);
        }
        if (c->pc_n != 0)
            return c->pc_elem[--c->pc_n];
    } else {
        pthread_mutex_lock(&p->p_lock);
        if (p->p_free == NULL)
            grow_locked(p);
        void *e = p->p_free;
        if (e != NULL) {
            p->p_free = *link_of(p, e);
            p->p_nfree--;
        }
        pthread_mutex_unlock(&p->p_lock);
        if (e != NULL)
            return e;
    }
    atomic_fetch_sub_explicit(&p->p_out, 1, memory_order_relaxed);
    return NULL; /* out of memory */
}

void cn_pool_put(struct cn_pool *p, void *elem)
{
    unsigned slot = cn_thread_slot();
    if (slot < CN_MAX_THREAD_SLOTS) {
        struct cn_pcache *c = &p->p_cache[slot];
        if (c->pc_n == CN_PCACHE_MAX) {
            /* Flush the older half back so the cache keeps room both ways. */
            pthread_mutex_lock(&p->p_lock);
            for (uint32_t i = 0; i < CN_PCACHE_BATCH; i++) {
                void *e = c->pc_elem[i];
                *link_of(p, e) = p->p_free;
                p->p_free = e;
            }
            p->p_nfree += CN_PCACHE_BATCH;
            pthread_mutex_unlock(&p->p_lock);
            memmove(&c->pc_elem[0], &c->pc_elem[CN_PCACHE_BATCH],
                    (CN_PCACHE_MAX - CN_PCACHE_BATCH) * sizeof(void *));
            c->pc_n -= CN_PCACHE_BATCH;
        }
        c->pc_elem[c->pc_n++] = elem;
    } else {
        pthread_mutex_lock(&p->p_lock);
        *link_of(p, elem) = p->p_free;
        p->p_free = elem;
        p->p_nfree++;
        pthread_mutex_unlock(&p->p_lock);
    }
    atomic_fetch_sub_explicit(&p->p_out, 1, memory_order_release);
}

/* ---- teardown ---------------------------------------------------------------------- */

void cn_pool_each(struct cn_pool *p, void (*fn)(struct cn_pool *p, void *elem, void *arg),
                  void *arg)
{
    pthread_mutex_lock(&p->p_lock);
    for (struct cn_slab *s = p->p_slabs; s != NULL; s = s->sl_next)
        for (size_t i = 0; i < s->sl_count; i++)
            fn(p, slab_elem(p, s, i), arg);
    pthread_mutex_unlock(&p->p_lock);
}

void cn_mem_each_pool(enum cn_pool_kind kind, void (*fn)(struct cn_pool *p, void *arg), void *arg)
{
    pthread_mutex_lock(&reg_lock);
    for (struct cn_pool *p = reg_head; p != NULL; p = p->p_next)
        if (p->p_kind == kind)
            fn(p, arg);
    pthread_mutex_unlock(&reg_lock);
}

int cn_pool_destroy(struct cn_pool *p, bool force)
{
    pthread_mutex_lock(&reg_lock);
    if (atomic_load_explicit(&p->p_out, memory_order_acquire) != 0 && !force) {
        pthread_mutex_unlock(&reg_lock);
        return -EBUSY;
    }
    for (struct cn_pool **pp = &reg_head; *pp != NULL; pp = &(*pp)->p_next) {
        if (*pp == p) {
            *pp = p->p_next;
            break;
        }
    }
    pthread_mutex_unlock(&reg_lock);

    /* Lookups fail from here on; the struct itself stays readable. */
    if (p->p_handle != NULL)
        cn_handle_free(p->p_handle);
    p->p_handle = NULL;
    p->p_magic = 0;

    pthread_mutex_lock(&p->p_lock);
    struct cn_slab *s = p->p_slabs;
    p->p_slabs = NULL;
    p->p_free = NULL;
    p->p_nfree = 0;
    for (unsigned i = 0; i < CN_MAX_THREAD_SLOTS; i++)
        p->p_cache[i].pc_n = 0;
    pthread_mutex_unlock(&p->p_lock);

    while (s != NULL) {
        struct cn_slab *next = s->sl_next;
        if (force && p->p_reap != NULL) {
            for (size_t i = 0; i < s->sl_count; i++)
                p->p_reap(p, slab_elem(p, s, i));
        }
        cn_span_remove(slab_elem(p, s, 0), s->sl_count, p->p_elem_size);
        free(s);
        s = next;
    }
    pthread_mutex_destroy(&p->p_lock);
    pool_struct_release(p);
    return 0;
}

/* ---- the API of cn_mem.h ------------------------------------------------------------- */

void cn_mem_set_pool_limit(size_t max)
{
    atomic_store_explicit(&pool_limit, max, memory_order_relaxed);
}

size_t cn_mem_outstanding(void)
{
    size_t n = 0;
    pthread_mutex_lock(&reg_lock);
    for (struct cn_pool *p = reg_head; p != NULL; p = p->p_next)
        n += atomic_load_explicit(&p->p_out, memory_order_acquire);
    pthread_mutex_unlock(&reg_lock);
    return n;
}

static const char *kind_name(enum cn_pool_kind k)
{
    switch (k) {
    case CN_POOL_NBL:
        return "NBL pool";
    case CN_POOL_NB:
        return "NB pool";
    case CN_POOL_PACKET:
        return "packet pool";
    case CN_POOL_BUFFER:
        return "buffer pool";
    default:
        return "MDL";
    }
}

size_t cn_mem_leaks(void (*fn)(const struct cn_pool_leak *l, void *arg), void *arg)
{
    /* Collect under the lock, report after it: fn may call back into us. */
    struct cn_pool_leak *v = NULL;
    size_t n = 0, cap = 0;
    pthread_mutex_lock(&reg_lock);
    for (struct cn_pool *p = reg_head; p != NULL; p = p->p_next) {
        size_t out = atomic_load_explicit(&p->p_out, memory_order_acquire);
        /* The MDL pool's drivers' MDLs are reported per owner below; its
         * other MDLs hang off NBs that are reported with their pools. */
        if (p->p_kind == CN_POOL_MDL)
            continue;
        if (out == 0 && p->p_internal)
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct cn_pool_leak *nv = realloc(v, ncap * sizeof(*v));
            if (nv == NULL)
                break;
            v = nv;
            cap = ncap;
        }
        v[n++] = (struct cn_pool_leak){
            .pl_site = p->p_site,
            .pl_kind = kind_name(p->p_kind),
            .pl_owner = p->p_owner,
            .pl_tag = p->p_tag,
            .pl_outstanding = out,
            .pl_pool_open = !p->p_internal,
        };
    }
    pthread_mutex_unlock(&reg_lock);
    for (size_t i = 0; i < n; i++) {
        if (fn != NULL)
            fn(&v[i], arg);
    }
    free(v);
    return n + cn_mdl_leaks(fn, arg);
}

void cn_mem_fini(void)
{
    /* Pools first (their descriptors may hold MDLs), the MDL pool last. */
    cn_nb_pool_internal_forget();
    for (;;) {
        pthread_mutex_lock(&reg_lock);
        struct cn_pool *p = reg_head;
        while (p != NULL && p->p_kind == CN_POOL_MDL)
            p = p->p_next;
        pthread_mutex_unlock(&reg_lock);
        if (p == NULL)
            break;
        cn_pool_destroy(p, true);
    }
    struct cn_pool *mp = cn_mdl_pool_peek();
    cn_mdl_fini();
    if (mp != NULL)
        cn_pool_destroy(mp, true);

    pthread_mutex_lock(&reg_lock);
    void *m = reg_spare;
    reg_spare = NULL;
    pthread_mutex_unlock(&reg_lock);
    while (m != NULL) {
        void *next = *(void **)m;
        free(m);
        m = next;
    }
    cn_span_fini();
}
