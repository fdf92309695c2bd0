/*
 * handle.c - NDIS_HANDLEs with generations.
 *
 * A handle is the value  type << 56 | generation << 32 | index  (never a
 * pointer, never NULL, and never a canonical user-space address, so a driver
 * that dereferences one faults at once instead of corrupting memory). The
 * index selects a slot in a two-level table whose chunks are allocated on
 * demand and never moved, so lookups need no lock: they compare the slot's
 * tag with the handle, read the object, and compare the tag again. Freeing
 * a handle changes the tag, so every later lookup of it fails, also after
 * the slot has been reused for a new object (with a new generation).
 *
 * Allocation and freeing take one mutex; they happen when drivers create
 * and delete objects (VCs, pools, bindings), never on the send path.
 */
#include <pthread.h>
#include <stdlib.h>

#include "cn_os.h"

#define HCHUNK_SHIFT 12
#define HCHUNK_SLOTS (1u << HCHUNK_SHIFT)
#define HCHUNK_MASK (HCHUNK_SLOTS - 1)
#define HMAX_CHUNKS 4096u /* 16M live handles */
#define HGEN_MASK 0xffffffu

struct cn_hslot {
    _Atomic uint64_t hs_tag;          /* the live handle's value, or 0 */
    _Atomic(void *) hs_obj;
    _Atomic(const char *) hs_owner;
    uint32_t hs_gen;                  /* generation of the next handle (lock) */
    uint32_t hs_next_free;            /* index + 1 in the free FIFO (lock) */
};

static _Atomic(struct cn_hslot *) hchunks[HMAX_CHUNKS];
static pthread_mutex_t hlock = PTHREAD_MUTEX_INITIALIZER;
/* Freed slots are reused oldest first, which maximises the time before a
 * stale handle's index names a new object. */
static uint32_t hfree_head, hfree_tail; /* index + 1; 0 = empty */
static uint32_t hfresh;                 /* slots never used start here */
static size_t hlive[CN_H_MAX];

static inline uint64_t handle_value(enum cn_htype type, uint32_t gen, uint32_t idx)
{
    return (uint64_t)type << 56 | (uint64_t)(gen & HGEN_MASK) << 32 | idx;
}

static struct cn_hslot *slot_of(uint32_t idx)
{
    uint32_t c = idx >> HCHUNK_SHIFT;
    if (c >= HMAX_CHUNKS)
        return NULL;
    struct cn_hslot *chunk = atomic_load_explicit(&hchunks[c], memory_order_acquire);
    return chunk ? &chunk[idx & HCHUNK_MASK] : NULL;
}

NDIS_HANDLE cn_handle_alloc(enum cn_htype type, void *obj, const char *owner)
{
    if (type <= CN_H_NONE || type >= CN_H_MAX)
        return NULL;
    pthread_mutex_lock(&hlock);
    uint32_t idx;
    struct cn_hslot *s;
    if (hfree_head != 0) {
        idx = hfree_head - 1;
        s = slot_of(idx);
        hfree_head = s->hs_next_free;
        if (hfree_head == 0)
            hfree_tail = 0;
    } else {
        idx = hfresh;
        uint32_t c = idx >> HCHUNK_SHIFT;
        if (c >= HMAX_CHUNKS) {
            pthread_mutex_unlock(&hlock);
            return NULL;
        }
        if (atomic_load_explicit(&hchunks[c], memory_order_relaxed) == NULL) {
            struct cn_hslot *chunk = calloc(HCHUNK_SLOTS, sizeof(*chunk));
            if (chunk == NULL) {
                pthread_mutex_unlock(&hlock);
                return NULL;
            }
            for (uint32_t i = 0; i < HCHUNK_SLOTS; i++)
                chunk[i].hs_gen = 1;
            atomic_store_explicit(&hchunks[c], chunk, memory_order_release);
        }
        hfresh++;
        s = slot_of(idx);
    }
    uint64_t v = handle_value(type, s->hs_gen, idx);
    atomic_store_explicit(&s->hs_obj, obj, memory_order_relaxed);
    atomic_store_explicit(&s->hs_owner, owner, memory_order_relaxed);
    atomic_store_explicit(&s->hs_tag, v, memory_order_release);
    hlive[type]++;
    pthread_mutex_unlock(&hlock);
    return (NDIS_HANDLE)(uintptr_t)v;
}

/* The slot of a live handle, with its object, or NULL. Lock-free. */
static struct cn_hslot *lookup(NDIS_HANDLE h, void **obj)
{
    uint64_t v = (uint64_t)(uintptr_t)h;
    uint64_t type = v >> 56;
    if (type == CN_H_NONE || type >= CN_H_MAX)
        return NULL;
    struct cn_hslot *s = slot_of((uint32_t)v);
    if (s == NULL || atomic_load_explicit(&s->hs_tag, memory_order_acquire) != v)
        return NULL;
    *obj = atomic_load_explicit(&s->hs_obj, memory_order_acquire);
    /* A free and reuse between the two tag reads changes the tag. */
    if (atomic_load_explicit(&s->hs_tag, memory_order_acquire) != v)
        return NULL;
    return s;
}

void *cn_handle_get(NDIS_HANDLE h, enum cn_htype type)
{
    void *obj;
    if (((uint64_t)(uintptr_t)h >> 56) != (uint64_t)type)
        return NULL;
    return lookup(h, &obj) ? obj : NULL;
}

void *cn_handle_get_any(NDIS_HANDLE h, enum cn_htype *type)
{
    void *obj;
    if (lookup(h, &obj) == NULL) {
        if (type)
            *type = CN_H_NONE;
        return NULL;
    }
    if (type)
        *type = (enum cn_htype)((uint64_t)(uintptr_t)h >> 56);
    return obj;
}

enum cn_htype cn_handle_type(NDIS_HANDLE h)
{
    enum cn_htype t;
    cn_handle_get_any(h, &t);
    return t;
}

const char *cn_handle_owner(NDIS_HANDLE h)
{
    void *obj;
    struct cn_hslot *s = lookup(h, &obj);
    return s ? atomic_load_explicit(&s->hs_owner, memory_order_relaxed) : NULL;
}

void cn_handle_free(NDIS_HANDLE h)
{
    uint64_t v = (uint64_t)(uintptr_t)h;
    uint64_t type = v >> 56;
    if (type == CN_H_NONE || type >= CN_H_MAX)
        return;
    pthread_mutex_lock(&hlock);
    struct cn_hslot *s = slot_of((uint32_t)v);
    if (s == NULL || atomic_load_explicit(&s->hs_tag, memory_order_relaxed) != v) {
        pthread_mutex_unlock(&hlock);
        return; /* not live: freed already, or never ours */
    }
    atomic_store_explicit(&s->hs_tag, 0, memory_order_release);
    atomic_store_explicit(&s->hs_obj, NULL, memory_order_relaxed);
    s->hs_gen = (s->hs_gen + 1) & HGEN_MASK;
    if (s->hs_gen == 0)
        s->hs_gen = 1;
    s->hs_next_free = 0;
    uint32_t idx = (uint32_t)v;
    if (hfree_tail != 0)
        slot_of(hfree_tail - 1)->hs_next_free = idx + 1;
    else
        hfree_head = idx + 1;
    hfree_tail = idx + 1;
    hlive[type]--;
    pthread_mutex_unlock(&hlock);
}

size_t cn_handle_count(enum cn_htype type)
{
    if (type <= CN_H_NONE || type >= CN_H_MAX)
        return 0;
    pthread_mutex_lock(&hlock);
    size_t n = hlive[type];
    pthread_mutex_unlock(&hlock);
    return n;
}

bool cn_handle_was(NDIS_HANDLE h, enum cn_htype type)
{
    uint64_t v = (uint64_t)(uintptr_t)h;
    if (h == NULL || (enum cn_htype)(v >> 56) != type)
        return false;
    uint32_t idx = (uint32_t)v, gen = (uint32_t)(v >> 32) & HGEN_MASK;
    struct cn_hslot *s = slot_of(idx);
    if (s == NULL)
        return false;
    /* Shaped like a handle of this type in a slot condis has used, and
     * not the live handle of that slot: an old generation. */
    uint64_t live = atomic_load_explicit(&s->hs_tag, memory_order_acquire);
    return live != v && gen != 0;
}
