/*
 * slot.c - small dense per-thread ids (for per-thread pool caches) and
 * per-thread tokens (for spin lock ownership).
 *
 * Slots are taken from a 64-bit map on a thread's first call and given back
 * by a thread-specific-data destructor when the thread exits. A thread that
 * finds the map full gets CN_NO_SLOT and tries again on its next call.
 */
#include <pthread.h>

#include "os_priv.h"

_Static_assert(CN_MAX_THREAD_SLOTS == 64, "the slot map is one 64-bit word");

static _Atomic uint64_t slot_map;
static pthread_key_t slot_key;
static pthread_once_t slot_once = PTHREAD_ONCE_INIT;
static _Thread_local unsigned tls_slot_plus1; /* 0: none held */

static void slot_release(void *v)
{
    unsigned slot = (unsigned)(uintptr_t)v - 1;
    atomic_fetch_and(&slot_map, ~(UINT64_C(1) << slot));
}

static void slot_init(void)
{
    (void)pthread_key_create(&slot_key, slot_release);
}

unsigned cn_thread_slot(void)
{
    if (tls_slot_plus1 != 0)
        return tls_slot_plus1 - 1;
    pthread_once(&slot_once, slot_init);
    uint64_t map = atomic_load(&slot_map);
    while (map != ~UINT64_C(0)) {
        unsigned slot = (unsigned)__builtin_ctzll(~map);
        if (atomic_compare_exchange_weak(&slot_map, &map, map | UINT64_C(1) << slot)) {
            tls_slot_plus1 = slot + 1;
            /* The destructor runs only for a non-NULL value. */
            pthread_setspecific(slot_key, (void *)(uintptr_t)(slot + 1));
            return slot;
        }
    }
    return CN_NO_SLOT;
}

/* The address of a thread-local object is unique among live threads and
 * never 0, which is all a lock owner needs. */
static _Thread_local char tls_token;

uintptr_t cn_thread_token(void)
{
    return (uintptr_t)&tls_token;
}
