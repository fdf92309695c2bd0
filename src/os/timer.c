/*
 * timer.c - NDIS timer objects, run by one timer thread.
 *
 * Armed timers sit in a binary min-heap ordered by due time (monotonic
 * nanoseconds) under tm_lock. The timer thread sleeps until the earliest
 * due time, takes the timer out (re-arming a periodic one first), and calls
 * the callback at DISPATCH_LEVEL with no lock held, so the callback may set,
 * cancel or free any timer, itself included.
 *
 * A KTIMER (and so an NDIS 5.x timer) keeps the same state inside the
 * driver's KTIMER instead of an allocation; its expiry queues its DPC while
 * tm_lock is held, so that once KeCancelTimer returns the timer thread no
 * longer touches the KTIMER and the driver may free it.
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "os_priv.h"

#define NOT_ARMED SIZE_MAX

struct cn_timer {
    NDIS_HANDLE t_handle;
    const char *t_owner;
    PNDIS_TIMER_FUNCTION t_fn;
    PVOID t_default_ctx;
    PVOID t_ctx;          /* tm_lock */
    ULONG t_tag;
    uint64_t t_due;       /* tm_lock */
    uint64_t t_period;    /* ns, 0 = one-shot (tm_lock) */
    size_t t_index;       /* heap slot, or NOT_ARMED (tm_lock) */
    bool t_running;       /* the callback is running (tm_lock) */
    bool t_free_after_run; /* freed from its own callback (tm_lock) */
    bool t_ktimer;        /* embedded in a KTIMER: expiry queues t_dpc */
    bool t_signaled;      /* KTIMER: expired since last set (tm_lock) */
    PKDPC t_dpc;          /* KTIMER: the DPC to queue, or NULL (tm_lock) */
};

_Static_assert(sizeof(struct cn_timer) <= sizeof(((KTIMER *)0)->TimerData),
               "a KTIMER holds a struct cn_timer");
_Static_assert(_Alignof(ULONG_PTR) >= _Alignof(struct cn_timer),
               "KTIMER.TimerData is aligned for a struct cn_timer");

static pthread_mutex_t tm_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t tm_wake; /* the earliest due time changed, or stop */
static pthread_cond_t tm_done; /* a callback returned */
static pthread_once_t tm_once = PTHREAD_ONCE_INIT;
static struct cn_timer **heap;
static size_t heap_len, heap_cap;
static pthread_t tm_thread;
static bool tm_started, tm_stop;

/* ---- the heap (tm_lock held) ---------------------------------------------------- */

static void heap_set(size_t i, struct cn_timer *t)
{
    heap[i] = t;
    t->t_index = i;
}

static void heap_up(size_t i)
{
    struct cn_timer *t = heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (heap[parent]->t_due <= t->t_due)
            break;
        heap_set(i, heap[parent]);
        i = parent;
    }
    heap_set(i, t);
}

static void heap_down(size_t i)
{
    struct cn_timer *t = heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= heap_len)
            break;
        if (c + 1 < heap_len && heap[c + 1]->t_due < heap[c]->t_due)
            c++;
        if (t->t_due <= heap[c]->t_due)
            break;
        heap_set(i, heap[c]);
        i = c;
    }
    heap_set(i, t);
}

static bool heap_insert(struct cn_timer *t)
{
    if (heap_len == heap_cap) {
        size_t ncap = heap_cap ? heap_cap * 2 : 16;
        struct cn_timer **n = realloc(heap, ncap * sizeof(*n));
        if (n == NULL)
            return false;
        heap = n;
        heap_cap = ncap;
    }
    heap_set(heap_len++, t);
    heap_up(t->t_index);
    return true;
}

static void heap_remove(struct cn_timer *t)
{
    size_t i = t->t_index;
    t->t_index = NOT_ARMED;
    struct cn_timer *last = heap[--heap_len];
    if (i == heap_len)
        return;
    heap_set(i, last);
    heap_up(i);
    heap_down(last->t_index);
}

/* ---- the timer thread ------------------------------------------------------------ */

static void tm_init_conds(void)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&tm_wake, &a);
    pthread_condattr_destroy(&a);
    pthread_cond_init(&tm_done, NULL);
}

static void *tm_main(void *arg)
{
    (void)arg;
    cn_os_mark_worker();
    cn_irql_set(DISPATCH_LEVEL);
    pthread_mutex_lock(&tm_lock);
    while (!tm_stop) {
        if (heap_len == 0) {
            pthread_cond_wait(&tm_wake, &tm_lock);
            continue;
        }
        struct cn_timer *t = heap[0];
        uint64_t now = cn_now_ns();
        if (t->t_due > now) {
            struct timespec ts = { (time_t)(t->t_due / 1000000000u),
                                   (long)(t->t_due % 1000000000u) };
            pthread_cond_timedwait(&tm_wake, &tm_lock, &ts);
            continue;
        }
        heap_remove(t);
        if (t->t_period != 0) {
            /* Keep the period's phase unless the thread fell behind. */
            t->t_due += t->t_period;
            if (t->t_due <= now)
                t->t_due = now + t->t_period;
            if (!heap_insert(t))
                cn_warn("periodic timer %p could not be re-armed: out of memory",
                        t->t_handle);
        }
        if (t->t_ktimer) {
            /* Queuing a DPC only takes its processor's queue lock. */
            t->t_signaled = true;
            if (t->t_dpc != NULL)
                KeInsertQueueDpc(t->t_dpc, NULL, NULL);
            continue;
        }
        PNDIS_TIMER_FUNCTION fn = t->t_fn;
        PVOID ctx = t->t_ctx;
        t->t_running = true;
        pthread_mutex_unlock(&tm_lock);

        cn_set_current_driver(t->t_owner);
        unsigned held = cn_spin_locks_held();
        fn(NULL, ctx, NULL, NULL);
        cn_callback_returned("timer function", (const void *)fn, DISPATCH_LEVEL, held);
        cn_set_current_driver(NULL);

        pthread_mutex_lock(&tm_lock);
        t->t_running = false;
        if (t->t_free_after_run)
            free(t);
        pthread_cond_broadcast(&tm_done);
    }
    pthread_mutex_unlock(&tm_lock);
    return NULL;
}

int cn_timer_start(void)
{
    pthread_once(&tm_once, tm_init_conds);
    pthread_mutex_lock(&tm_lock);
    tm_stop = false;
    int err = pthread_create(&tm_thread, NULL, tm_main, NULL);
    if (err == 0) {
        pthread_setname_np(tm_thread, "cn-timer");
        tm_started = true;
    }
    pthread_mutex_unlock(&tm_lock);
    return -err;
}

void cn_timer_stop(void)
{
    pthread_mutex_lock(&tm_lock);
    if (!tm_started) {
        pthread_mutex_unlock(&tm_lock);
        return;
    }
    tm_stop = true;
    pthread_cond_broadcast(&tm_wake);
    pthread_mutex_unlock(&tm_lock);
    pthread_join(tm_thread, NULL);
    pthread_mutex_lock(&tm_lock);
    tm_started = false;
    /* A timer left set would fire into the next run, perhaps after its
     * driver (and the memory of a KTIMER) is gone. */
    if (heap_len != 0)
        cn_warn("%zu timers were still set when condis stopped; cancelled", heap_len);
    while (heap_len != 0)
        heap_remove(heap[heap_len - 1]);
    pthread_mutex_unlock(&tm_lock);
}

static bool on_timer_thread(void)
{
    return tm_started && pthread_equal(pthread_self(), tm_thread);
}

/* The monotonic due time of a Windows DueTime (100 ns units; negative =
 * relative, positive = absolute system time). */
static uint64_t due_of(LARGE_INTEGER DueTime)
{
    int64_t rel = DueTime.QuadPart;
    if (rel > 0)
        rel = cn_os_system_time() - rel;
    uint64_t now = cn_now_ns();
    return rel < 0 ? now + (uint64_t)(-rel) * 100u : now;
}

/* (Re)arms t; returns whether it was armed. Caller holds tm_lock. */
static bool timer_arm_locked(struct cn_timer *t, uint64_t due, uint64_t period_ns)
{
    bool was_armed = t->t_index != NOT_ARMED;
    if (was_armed)
        heap_remove(t);
    t->t_due = due;
    t->t_period = period_ns;
    if (!heap_insert(t))
        cn_warn("out of memory: timer %p not set", (void *)t);
    else if (t->t_index == 0)
        pthread_cond_signal(&tm_wake);
    return was_armed;
}

/* ---- the Windows names -------------------------------------------------------------- */

NDIS_STATUS NdisAllocateTimerObject(NDIS_HANDLE NdisHandle,
                                    PNDIS_TIMER_CHARACTERISTICS TimerCharacteristics,
                                    PNDIS_HANDLE pTimerObject)
{
    if (pTimerObject == NULL || TimerCharacteristics == NULL)
        return NDIS_STATUS_FAILURE;
    *pTimerObject = NULL;
    const NDIS_TIMER_CHARACTERISTICS *tc = TimerCharacteristics;
    if (tc->Header.Type != NDIS_OBJECT_TYPE_TIMER_CHARACTERISTICS ||
        tc->Header.Revision < NDIS_TIMER_CHARACTERISTICS_REVISION_1 ||
        tc->Header.Size < NDIS_SIZEOF_TIMER_CHARACTERISTICS_REVISION_1 ||
        tc->TimerFunction == NULL) {
        cn_warn("NdisAllocateTimerObject: bad NDIS_TIMER_CHARACTERISTICS (header or "
                "TimerFunction)");
        return NDIS_STATUS_FAILURE;
    }
    const char *owner = cn_handle_owner(NdisHandle);
    if (owner == NULL) {
        cn_warn("NdisAllocateTimerObject: %p is not a live NDIS handle", NdisHandle);
        return NDIS_STATUS_FAILURE;
    }
    struct cn_timer *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NDIS_STATUS_RESOURCES;
    t->t_owner = owner;
    t->t_fn = tc->TimerFunction;
    t->t_default_ctx = tc->FunctionContext;
    t->t_ctx = tc->FunctionContext;
    t->t_tag = tc->AllocationTag;
    t->t_index = NOT_ARMED;
    t->t_handle = cn_handle_alloc(CN_H_TIMER, t, owner);
    if (t->t_handle == NULL) {
        free(t);
        return NDIS_STATUS_RESOURCES;
    }
    *pTimerObject = t->t_handle;
    return NDIS_STATUS_SUCCESS;
}

BOOLEAN NdisSetTimerObject(NDIS_HANDLE TimerObject, LARGE_INTEGER DueTime,
                           LONG MillisecondsPeriod, PVOID FunctionContext)
{
    struct cn_timer *t = cn_handle_get(TimerObject, CN_H_TIMER);
    if (t == NULL) {
        cn_warn("NdisSetTimerObject: %p is not a live timer object", TimerObject);
        return FALSE;
    }
    if (MillisecondsPeriod < 0) {
        cn_warn("NdisSetTimerObject: negative period %ld treated as one-shot",
                (long)MillisecondsPeriod);
        MillisecondsPeriod = 0;
    }
    uint64_t due = due_of(DueTime);
    pthread_mutex_lock(&tm_lock);
    t->t_ctx = FunctionContext != NULL ? FunctionContext : t->t_default_ctx;
    bool was_armed = timer_arm_locked(t, due, (uint64_t)MillisecondsPeriod * 1000000u);
    pthread_mutex_unlock(&tm_lock);
    return was_armed ? TRUE : FALSE;
}

/* Coalescing is a power optimisation; the timer fires on time here. */
BOOLEAN NdisSetCoalescableTimerObject(NDIS_HANDLE TimerObject, LARGE_INTEGER DueTime,
                                      LONG MillisecondsPeriod, PVOID FunctionContext,
                                      ULONG Tolerance)
{
    (void)Tolerance;
    return NdisSetTimerObject(TimerObject, DueTime, MillisecondsPeriod, FunctionContext);
}

BOOLEAN NdisCancelTimerObject(NDIS_HANDLE TimerObject)
{
    struct cn_timer *t = cn_handle_get(TimerObject, CN_H_TIMER);
    if (t == NULL) {
        cn_warn("NdisCancelTimerObject: %p is not a live timer object", TimerObject);
        return FALSE;
    }
    pthread_mutex_lock(&tm_lock);
    bool was_armed = t->t_index != NOT_ARMED;
    if (was_armed)
        heap_remove(t);
    pthread_mutex_unlock(&tm_lock);
    return was_armed ? TRUE : FALSE;
}

void NdisFreeTimerObject(NDIS_HANDLE TimerObject)
{
    struct cn_timer *t = cn_handle_get(TimerObject, CN_H_TIMER);
    if (t == NULL) {
        cn_warn("NdisFreeTimerObject: %p is not a live timer object", TimerObject);
        return;
    }
    cn_handle_free(TimerObject);
    pthread_mutex_lock(&tm_lock);
    if (t->t_index != NOT_ARMED)
        heap_remove(t);
    if (t->t_running && on_timer_thread()) {
        /* Freed from its own callback: the timer thread frees it after. */
        t->t_free_after_run = true;
        pthread_mutex_unlock(&tm_lock);
        return;
    }
    while (t->t_running)
        pthread_cond_wait(&tm_done, &tm_lock);
    pthread_mutex_unlock(&tm_lock);
    free(t);
}

/* ---- KTIMER ------------------------------------------------------------------------ */

static inline struct cn_timer *ktimer_state(PKTIMER Timer)
{
    return (struct cn_timer *)(void *)Timer->TimerData;
}

void KeInitializeTimerEx(PKTIMER Timer, TIMER_TYPE Type)
{
    (void)Type;
    memset(Timer, 0, sizeof(*Timer));
    struct cn_timer *t = ktimer_state(Timer);
    t->t_ktimer = true;
    t->t_index = NOT_ARMED;
    t->t_owner = cn_os_driver_raw();
}

void KeInitializeTimer(PKTIMER Timer)
{
    KeInitializeTimerEx(Timer, NotificationTimer);
}

BOOLEAN KeSetTimerEx(PKTIMER Timer, LARGE_INTEGER DueTime, LONG Period, PKDPC Dpc)
{
    struct cn_timer *t = ktimer_state(Timer);
    if (!t->t_ktimer) {
        cn_warn("KeSetTimer: timer %p was not initialized with KeInitializeTimer",
                (void *)Timer);
        return FALSE;
    }
    if (Period < 0)
        Period = 0;
    uint64_t due = due_of(DueTime);
    pthread_mutex_lock(&tm_lock);
    t->t_dpc = Dpc;
    t->t_signaled = false;
    bool was_armed = timer_arm_locked(t, due, (uint64_t)Period * 1000000u);
    pthread_mutex_unlock(&tm_lock);
    return was_armed ? TRUE : FALSE;
}

BOOLEAN KeSetTimer(PKTIMER Timer, LARGE_INTEGER DueTime, PKDPC Dpc)
{
    return KeSetTimerEx(Timer, DueTime, 0, Dpc);
}

BOOLEAN KeCancelTimer(PKTIMER Timer)
{
    struct cn_timer *t = ktimer_state(Timer);
    pthread_mutex_lock(&tm_lock);
    bool was_armed = t->t_index != NOT_ARMED;
    if (was_armed)
        heap_remove(t);
    pthread_mutex_unlock(&tm_lock);
    return was_armed ? TRUE : FALSE;
}

BOOLEAN KeReadStateTimer(PKTIMER Timer)
{
    struct cn_timer *t = ktimer_state(Timer);
    pthread_mutex_lock(&tm_lock);
    bool s = t->t_signaled;
    pthread_mutex_unlock(&tm_lock);
    return s ? TRUE : FALSE;
}

/* ---- NDIS 5.x timers: a KTIMER whose DPC calls the timer function ------------------- */

_Static_assert(offsetof(NDIS_TIMER, Dpc) == offsetof(NDIS_MINIPORT_TIMER, Dpc) &&
                   offsetof(NDIS_TIMER, Timer) == offsetof(NDIS_MINIPORT_TIMER, Timer),
               "NDIS_TIMER and NDIS_MINIPORT_TIMER start alike");

static void ndis_timer_dpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    NDIS_TIMER *nt = CONTAINING_RECORD(Dpc, NDIS_TIMER, Dpc);
    PNDIS_TIMER_FUNCTION fn = ktimer_state(&nt->Timer)->t_fn;
    fn(Dpc, Context, Arg1, Arg2);
}

static void ndis_timer_init(PKTIMER Timer, PKDPC Dpc, PNDIS_TIMER_FUNCTION TimerFunction,
                            PVOID FunctionContext, const char *owner)
{
    KeInitializeTimer(Timer);
    ktimer_state(Timer)->t_fn = TimerFunction;
    KeInitializeDpc(Dpc, ndis_timer_dpc, FunctionContext);
    if (owner != NULL) {
        ktimer_state(Timer)->t_owner = owner;
        Dpc->DpcOwner = owner;
    }
}

static void ndis_timer_set(PKTIMER Timer, PKDPC Dpc, UINT ms, UINT period_ms)
{
    LARGE_INTEGER due;
    due.QuadPart = -(LONGLONG)ms * 10000;
    if (period_ms > (UINT)MAXLONG)
        period_ms = (UINT)MAXLONG;
    (void)KeSetTimerEx(Timer, due, (LONG)period_ms, Dpc);
}

static BOOLEAN ndis_timer_cancel(PKTIMER Timer, PKDPC Dpc)
{
    BOOLEAN was_set = KeCancelTimer(Timer);
    /* An expiry whose DPC has not started yet is cancelled too. */
    BOOLEAN dpc_removed = KeRemoveQueueDpc(Dpc);
    return (was_set || dpc_removed) ? TRUE : FALSE;
}

void NdisInitializeTimer(PNDIS_TIMER Timer, PNDIS_TIMER_FUNCTION TimerFunction,
                         PVOID FunctionContext)
{
    ndis_timer_init(&Timer->Timer, &Timer->Dpc, TimerFunction, FunctionContext, NULL);
}

void NdisSetTimer(PNDIS_TIMER Timer, UINT MillisecondsToDelay)
{
    ndis_timer_set(&Timer->Timer, &Timer->Dpc, MillisecondsToDelay, 0);
}

void NdisSetPeriodicTimer(PNDIS_TIMER NdisTimer, UINT MillisecondsPeriod)
{
    ndis_timer_set(&NdisTimer->Timer, &NdisTimer->Dpc, MillisecondsPeriod, MillisecondsPeriod);
}

void NdisCancelTimer(PNDIS_TIMER Timer, PBOOLEAN TimerCancelled)
{
    BOOLEAN c = ndis_timer_cancel(&Timer->Timer, &Timer->Dpc);
    if (TimerCancelled != NULL)
        *TimerCancelled = c;
}

void NdisMInitializeTimer(PNDIS_MINIPORT_TIMER Timer, NDIS_HANDLE MiniportAdapterHandle,
                          PNDIS_TIMER_FUNCTION TimerFunction, PVOID FunctionContext)
{
    const char *owner = cn_handle_owner(MiniportAdapterHandle);
    if (owner == NULL)
        cn_warn("NdisMInitializeTimer: %p is not a live adapter handle", MiniportAdapterHandle);
    ndis_timer_init(&Timer->Timer, &Timer->Dpc, TimerFunction, FunctionContext, owner);
    Timer->MiniportTimerFunction = TimerFunction;
    Timer->MiniportTimerContext = FunctionContext;
    Timer->Miniport = MiniportAdapterHandle;
    Timer->NextTimer = NULL;
}

void NdisMSetTimer(PNDIS_MINIPORT_TIMER Timer, UINT MillisecondsToDelay)
{
    ndis_timer_set(&Timer->Timer, &Timer->Dpc, MillisecondsToDelay, 0);
}

void NdisMSetPeriodicTimer(PNDIS_MINIPORT_TIMER Timer, UINT MillisecondPeriod)
{
    ndis_timer_set(&Timer->Timer, &Timer->Dpc, MillisecondPeriod, MillisecondPeriod);
}

void NdisMCancelTimer(PNDIS_MINIPORT_TIMER Timer, PBOOLEAN TimerCancelled)
{
    BOOLEAN c = ndis_timer_cancel(&Timer->Timer, &Timer->Dpc);
    if (TimerCancelled != NULL)
        *TimerCancelled = c;
}
