/*
 * spinlock.c - KSPIN_LOCK and NDIS_SPIN_LOCK, and the list and counter
 * routines that take one.
 *
 * The lock word is 0 when free and the owner's cn_thread_token() while
 * held. Acquisition is test-and-test-and-set with a pause; after a bounded
 * spin it yields the CPU, because unlike a kernel thread at DISPATCH_LEVEL
 * the owner may have been preempted and spinning on would only delay it.
 * Raising the IRQL is bookkeeping (irql.c): the lock itself is what makes
 * the sections exclusive.
 */
#include <sched.h>
#include <stdio.h>

#include "os_priv.h"
#include "../verify/cn_verify.h"

/* Spin locks the calling thread holds (counted with the verifier on, for
 * IRQL-3: a handler must not return to condis holding one). */
static _Thread_local unsigned tls_held;

unsigned cn_spin_locks_held(void)
{
    return tls_held;
}

_Static_assert(sizeof(KSPIN_LOCK) == sizeof(_Atomic uintptr_t) &&
                   _Alignof(KSPIN_LOCK) >= _Alignof(_Atomic uintptr_t),
               "a KSPIN_LOCK must be usable as an atomic word");

#define SPINS_BEFORE_YIELD 128

static inline _Atomic uintptr_t *word_of(PKSPIN_LOCK l)
{
    return (_Atomic uintptr_t *)(void *)l;
}

static void lock_word(PKSPIN_LOCK l)
{
    _Atomic uintptr_t *w = word_of(l);
    uintptr_t self = cn_thread_token();
    uintptr_t expected = 0;
    if (CN_VERIFYING)
        tls_held++;
    if (atomic_compare_exchange_weak_explicit(w, &expected, self, memory_order_acquire,
                                              memory_order_relaxed))
        return;
    if (expected == self)
        /* A kernel would deadlock here forever; say why before doing the same. */
        cn_warn("spin lock %p acquired again by the thread that holds it: deadlock",
                (void *)l);
    for (unsigned spins = 0;; spins++) {
        if (atomic_load_explicit(w, memory_order_relaxed) == 0) {
            expected = 0;
            if (atomic_compare_exchange_weak_explicit(w, &expected, self, memory_order_acquire,
                                                      memory_order_relaxed))
                return;
        }
        if (spins < SPINS_BEFORE_YIELD) {
            cn_os_cpu_relax();
        } else {
            sched_yield();
            spins = 0;
        }
    }
}

static bool unlock_word(PKSPIN_LOCK l, const char *fn)
{
    _Atomic uintptr_t *w = word_of(l);
    uintptr_t owner = atomic_load_explicit(w, memory_order_relaxed);
    if (owner == 0) {
        char obj[48];
        snprintf(obj, sizeof(obj), "spin lock %p", (void *)l);
        cn_violation(CN_IRQL3, NULL, fn, obj, NULL, "released a spin lock that is not held");
        return false;
    }
    if (owner != cn_thread_token()) {
        /* Released anyway: refusing would leave the lock held forever. */
        char obj[48];
        snprintf(obj, sizeof(obj), "spin lock %p", (void *)l);
        cn_violation(CN_IRQL3, NULL, fn, obj, NULL,
                     "released a spin lock that another thread holds");
    } else if (CN_VERIFYING) {
        if (tls_held > 0)
            tls_held--;
        if (cn_irql() < DISPATCH_LEVEL) {
            char obj[48];
            snprintf(obj, sizeof(obj), "spin lock %p", (void *)l);
            cn_violation(CN_IRQL3, NULL, fn, obj, NULL,
                         "released a spin lock below DISPATCH_LEVEL: the IRQL was lowered while "
                         "it was held");
        }
    }
    atomic_store_explicit(w, 0, memory_order_release);
    return true;
}

/* ---- KSPIN_LOCK ------------------------------------------------------------ */

void KeInitializeSpinLock(PKSPIN_LOCK SpinLock)
{
    atomic_init(word_of(SpinLock), 0);
}

KIRQL KeAcquireSpinLockRaiseToDpc(PKSPIN_LOCK SpinLock)
{
    KIRQL old = cn_irql_raise(DISPATCH_LEVEL);
    lock_word(SpinLock);
    return old;
}

void KeReleaseSpinLock(PKSPIN_LOCK SpinLock, KIRQL NewIrql)
{
    unlock_word(SpinLock, "KeReleaseSpinLock");
    cn_irql_lower(NewIrql);
}

void KeAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock)
{
    lock_word(SpinLock);
}

void KeReleaseSpinLockFromDpcLevel(PKSPIN_LOCK SpinLock)
{
    unlock_word(SpinLock, "KeReleaseSpinLockFromDpcLevel");
}

BOOLEAN KeTryToAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock)
{
    uintptr_t expected = 0;
    bool got = atomic_compare_exchange_strong_explicit(word_of(SpinLock), &expected,
                                                       cn_thread_token(), memory_order_acquire,
                                                       memory_order_relaxed);
    if (got && CN_VERIFYING)
        tls_held++;
    return got;
}

/* TRUE when the lock is free (a hint: it may be taken right after). */
BOOLEAN KeTestSpinLock(PKSPIN_LOCK SpinLock)
{
    return atomic_load_explicit(word_of(SpinLock), memory_order_relaxed) == 0;
}

void KeAcquireInStackQueuedSpinLock(PKSPIN_LOCK SpinLock, PKLOCK_QUEUE_HANDLE LockHandle)
{
    LockHandle->LockQueue.Next = NULL;
    LockHandle->LockQueue.Lock = SpinLock;
    LockHandle->OldIrql = KeAcquireSpinLockRaiseToDpc(SpinLock);
}

void KeReleaseInStackQueuedSpinLock(PKLOCK_QUEUE_HANDLE LockHandle)
{
    KIRQL old = LockHandle->OldIrql;
    unlock_word(LockHandle->LockQueue.Lock, "KeReleaseInStackQueuedSpinLock");
    cn_irql_lower(old);
}

void KeAcquireInStackQueuedSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock,
                                              PKLOCK_QUEUE_HANDLE LockHandle)
{
    LockHandle->LockQueue.Next = NULL;
    LockHandle->LockQueue.Lock = SpinLock;
    lock_word(SpinLock);
}

void KeReleaseInStackQueuedSpinLockFromDpcLevel(PKLOCK_QUEUE_HANDLE LockHandle)
{
    unlock_word(LockHandle->LockQueue.Lock, "KeReleaseInStackQueuedSpinLockFromDpcLevel");
}

/* ---- NDIS_SPIN_LOCK ------------------------------------------------------- */

void NdisAllocateSpinLock(PNDIS_SPIN_LOCK SpinLock)
{
    atomic_init(word_of(&SpinLock->SpinLock), 0);
    SpinLock->OldIrql = PASSIVE_LEVEL;
}

void NdisFreeSpinLock(PNDIS_SPIN_LOCK SpinLock)
{
    if (atomic_load_explicit(word_of(&SpinLock->SpinLock), memory_order_relaxed) != 0)
        cn_warn("NdisFreeSpinLock: spin lock %p is still held", (void *)SpinLock);
}

void NdisAcquireSpinLock(PNDIS_SPIN_LOCK SpinLock)
{
    KIRQL old = cn_irql_raise(DISPATCH_LEVEL);
    lock_word(&SpinLock->SpinLock);
    SpinLock->OldIrql = old; /* written only by the holder */
}

void NdisReleaseSpinLock(PNDIS_SPIN_LOCK SpinLock)
{
    KIRQL old = SpinLock->OldIrql; /* read before another thread may take it */
    if (unlock_word(&SpinLock->SpinLock, "NdisReleaseSpinLock"))
        cn_irql_lower(old);
}

void NdisDprAcquireSpinLock(PNDIS_SPIN_LOCK SpinLock)
{
    lock_word(&SpinLock->SpinLock);
}

void NdisDprReleaseSpinLock(PNDIS_SPIN_LOCK SpinLock)
{
    unlock_word(&SpinLock->SpinLock, "NdisDprReleaseSpinLock");
}

/* ---- operations under a spin lock ------------------------------------------ */

PLIST_ENTRY ExInterlockedInsertHeadList(PLIST_ENTRY ListHead, PLIST_ENTRY ListEntry,
                                        PKSPIN_LOCK Lock)
{
    KIRQL old = KeAcquireSpinLockRaiseToDpc(Lock);
    PLIST_ENTRY first = IsListEmpty(ListHead) ? NULL : ListHead->Flink;
    InsertHeadList(ListHead, ListEntry);
    KeReleaseSpinLock(Lock, old);
    return first;
}

PLIST_ENTRY ExInterlockedInsertTailList(PLIST_ENTRY ListHead, PLIST_ENTRY ListEntry,
                                        PKSPIN_LOCK Lock)
{
    KIRQL old = KeAcquireSpinLockRaiseToDpc(Lock);
    PLIST_ENTRY first = IsListEmpty(ListHead) ? NULL : ListHead->Flink;
    InsertTailList(ListHead, ListEntry);
    KeReleaseSpinLock(Lock, old);
    return first;
}

PLIST_ENTRY ExInterlockedRemoveHeadList(PLIST_ENTRY ListHead, PKSPIN_LOCK Lock)
{
    KIRQL old = KeAcquireSpinLockRaiseToDpc(Lock);
    PLIST_ENTRY e = IsListEmpty(ListHead) ? NULL : RemoveHeadList(ListHead);
    KeReleaseSpinLock(Lock, old);
    return e;
}

PSINGLE_LIST_ENTRY ExInterlockedPushEntryList(PSINGLE_LIST_ENTRY ListHead,
                                              PSINGLE_LIST_ENTRY ListEntry, PKSPIN_LOCK Lock)
{
    KIRQL old = KeAcquireSpinLockRaiseToDpc(Lock);
    PSINGLE_LIST_ENTRY first = ListHead->Next;
    PushEntryList(ListHead, ListEntry);
    KeReleaseSpinLock(Lock, old);
    return first;
}

PSINGLE_LIST_ENTRY ExInterlockedPopEntryList(PSINGLE_LIST_ENTRY ListHead, PKSPIN_LOCK Lock)
{
    KIRQL old = KeAcquireSpinLockRaiseToDpc(Lock);
    PSINGLE_LIST_ENTRY e = PopEntryList(ListHead);
    KeReleaseSpinLock(Lock, old);
    return e;
}

ULONG ExInterlockedAddUlong(PULONG Addend, ULONG Increment, PKSPIN_LOCK Lock)
{
    KIRQL old = KeAcquireSpinLockRaiseToDpc(Lock);
    ULONG before = *Addend;
    *Addend = before + Increment;
    KeReleaseSpinLock(Lock, old);
    return before;
}

void NdisInterlockedAddUlong(PULONG Addend, ULONG Increment, PNDIS_SPIN_LOCK SpinLock)
{
    (void)ExInterlockedAddUlong(Addend, Increment, &SpinLock->SpinLock);
}
