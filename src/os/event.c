/*
 * event.c - KEVENT and NDIS_EVENT on a futex word.
 *
 * State is the futex word: bit 0 is the signal, the bits above count the
 * threads waiting (in units of WAITER). A setter learns from its single
 * atomic OR whether anyone waits, and after that it touches the event only
 * through the futex wake system call: a waiter that saw the signal may
 * return at once and free or reuse the event (events on the stack are the
 * common case), and a wake that reaches reused memory is only a spurious
 * wake-up, which every wait loop tolerates.
 *
 * Setters wake every waiter: for a SynchronizationEvent the woken threads
 * race to take the signal and the losers sleep again, so a waiter that
 * times out at the same moment cannot swallow a wake-up meant for another.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "os_priv.h"
#include "../verify/cn_verify.h"

#define SIGNALED 1
#define WAITER 2

bool cn_os_futex_wait(LONG *word, LONG value, uint64_t deadline_ns)
{
    struct timespec ts, *tp = NULL;
    if (deadline_ns != 0) {
        ts.tv_sec = (time_t)(deadline_ns / 1000000000u);
        ts.tv_nsec = (long)(deadline_ns % 1000000000u);
        tp = &ts;
    }
    /* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline. */
    long r = syscall(SYS_futex, word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, value, tp,
                     NULL, FUTEX_BITSET_MATCH_ANY);
    return !(r == -1 && errno == ETIMEDOUT);
}

void cn_os_futex_wake(LONG *word)
{
    syscall(SYS_futex, word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, INT_MAX, NULL, NULL, 0);
}

void KeInitializeEvent(PRKEVENT Event, EVENT_TYPE Type, BOOLEAN State)
{
    __atomic_store_n(&Event->State, State ? SIGNALED : 0, __ATOMIC_SEQ_CST);
    Event->Type = (UCHAR)Type;
}

LONG KeSetEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait)
{
    (void)Increment;
    (void)Wait;
    LONG old = __atomic_fetch_or(&Event->State, SIGNALED, __ATOMIC_SEQ_CST);
    if (!(old & SIGNALED) && old >= WAITER)
        cn_os_futex_wake(&Event->State);
    return old & SIGNALED;
}

void KeClearEvent(PRKEVENT Event)
{
    __atomic_fetch_and(&Event->State, ~SIGNALED, __ATOMIC_SEQ_CST);
}

LONG KeResetEvent(PRKEVENT Event)
{
    return __atomic_fetch_and(&Event->State, ~SIGNALED, __ATOMIC_SEQ_CST) & SIGNALED;
}

LONG KeReadStateEvent(PRKEVENT Event)
{
    return __atomic_load_n(&Event->State, __ATOMIC_SEQ_CST) & SIGNALED;
}

/* Takes the signal if it is there: a notification event stays signaled, a
 * synchronization event is reset by the one waiter it releases. */
static bool event_try(PRKEVENT e)
{
    LONG v = __atomic_load_n(&e->State, __ATOMIC_SEQ_CST);
    while (v & SIGNALED) {
        if (e->Type != SynchronizationEvent)
            return true;
        if (__atomic_compare_exchange_n(&e->State, &v, v & ~SIGNALED, false,
                                        __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            return true;
    }
    return false;
}

/* deadline_ns: absolute CLOCK_MONOTONIC, 0 = forever. */
static bool event_wait(PRKEVENT e, uint64_t deadline_ns)
{
    if (event_try(e))
        return true;
    __atomic_add_fetch(&e->State, WAITER, __ATOMIC_SEQ_CST);
    bool got = false;
    for (;;) {
        if (event_try(e)) {
            got = true;
            break;
        }
        if (deadline_ns != 0 && cn_now_ns() >= deadline_ns)
            break;
        /* Sleeps only while State still holds the value seen: a set (or
         * another waiter arriving) in between makes it return at once. */
        LONG v = __atomic_load_n(&e->State, __ATOMIC_SEQ_CST);
        if (!(v & SIGNALED))
            (void)cn_os_futex_wait(&e->State, v, deadline_ns);
    }
    __atomic_sub_fetch(&e->State, WAITER, __ATOMIC_SEQ_CST);
    return got;
}

NTSTATUS KeWaitForSingleObject(PVOID Object, KWAIT_REASON WaitReason,
                               KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
                               PLARGE_INTEGER Timeout)
{
    (void)WaitReason;
    (void)WaitMode;
    (void)Alertable;
    PRKEVENT e = Object;
    if (e == NULL)
        return STATUS_INVALID_PARAMETER;
    uint64_t deadline = 0;
    if (Timeout != NULL) {
        int64_t t = Timeout->QuadPart;
        if (t > 0) /* absolute system time: make it relative */
            t = cn_os_system_time() - t;
        if (t >= 0) /* already due: poll */
            return event_try(e) ? STATUS_SUCCESS : STATUS_TIMEOUT;
        deadline = cn_now_ns() + (uint64_t)(-t) * 100u;
    }
    if (cn_irql() > APC_LEVEL)
        cn_warn("KeWaitForSingleObject with a non-zero timeout at IRQL %u; waits are "
                "allowed at PASSIVE_LEVEL and APC_LEVEL only (IRQL-2)", (unsigned)cn_irql());
    return event_wait(e, deadline) ? STATUS_SUCCESS : STATUS_TIMEOUT;
}

void NdisInitializeEvent(PNDIS_EVENT Event)
{
    KeInitializeEvent(&Event->Event, NotificationEvent, FALSE);
}

void NdisSetEvent(PNDIS_EVENT Event)
{
    (void)KeSetEvent(&Event->Event, 0, FALSE);
}

void NdisResetEvent(PNDIS_EVENT Event)
{
    KeClearEvent(&Event->Event);
}

BOOLEAN NdisWaitEvent(PNDIS_EVENT Event, UINT MsToWait)
{
    CN_IRQL_CHECK_PASSIVE("NdisWaitEvent");
    uint64_t deadline = MsToWait == 0 ? 0 : cn_now_ns() + (uint64_t)MsToWait * 1000000u;
    return event_wait(&Event->Event, deadline) ? TRUE : FALSE;
}
