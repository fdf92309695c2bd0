/*
 * test_os.c - the OS layer: IRQL, spin locks, interlocked lists, events,
 * work items, DPCs, timers, tracked memory, configuration, strings and
 * DbgPrint.
 *
 * Each test starts the layer with two emulated processors and ends by
 * flushing, stopping it, and checking that no tracked memory and no handle
 * of the kinds the test used is left.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include <ndis.h>

#include "os/cn_os.h"

#define TEST_CPUS 2
#define WAIT_MS 5000 /* a bound that only a hang reaches */

static int os_setup(void **state)
{
    (void)state;
    return cn_os_init(TEST_CPUS);
}

static int os_teardown(void **state)
{
    (void)state;
    cn_work_flush();
    cn_os_fini();
    cn_param_clear();
    static const enum cn_htype kinds[] = { CN_H_IO_WORKITEM, CN_H_TIMER, CN_H_CONFIG,
                                           CN_H_DRIVER_CONTEXT };
    int rc = 0;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (cn_handle_count(kinds[i]) != 0) {
            fprintf(stderr, "%zu handles of type %d are still live\n",
                    cn_handle_count(kinds[i]), (int)kinds[i]);
            rc = -1;
        }
    }
    if (cn_memory_outstanding() != 0) {
        fprintf(stderr, "%zu tracked blocks are still allocated\n", cn_memory_outstanding());
        rc = -1;
    }
    return rc;
}

/* A driver-level handle to hang objects on, as a driver would have. */
static int drv_obj;
static NDIS_HANDLE drv_handle(const char *name)
{
    NDIS_HANDLE h = cn_handle_alloc(CN_H_DRIVER_CONTEXT, &drv_obj, name);
    assert_non_null(h);
    return h;
}

static LARGE_INTEGER rel_ms(LONGLONG ms)
{
    LARGE_INTEGER t;
    t.QuadPart = -ms * 10000; /* 100 ns units, negative = relative */
    return t;
}

/* ---- IRQL and spin locks ------------------------------------------------------ */

static void test_irql_and_spin_locks(void **state)
{
    (void)state;
    unsigned long warns = cn_warn_count();
    KIRQL old;
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_int_equal(old, PASSIVE_LEVEL);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KeLowerIrql(old);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);

    NDIS_SPIN_LOCK a, b;
    NdisAllocateSpinLock(&a);
    NdisAllocateSpinLock(&b);
    NdisAcquireSpinLock(&a);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    assert_true(a.SpinLock == (KSPIN_LOCK)cn_thread_token());
    NdisAcquireSpinLock(&b); /* nested: b saves DISPATCH_LEVEL */
    NdisReleaseSpinLock(&b);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    NdisDprAcquireSpinLock(&b);
    NdisDprReleaseSpinLock(&b);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    NdisReleaseSpinLock(&a);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    assert_true(a.SpinLock == 0);

    KSPIN_LOCK k;
    KeInitializeSpinLock(&k);
    KeAcquireSpinLock(&k, &old);
    assert_int_equal(old, PASSIVE_LEVEL);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    assert_false(KeTryToAcquireSpinLockAtDpcLevel(&k));
    KeReleaseSpinLock(&k, old);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);

    KLOCK_QUEUE_HANDLE qh;
    KeAcquireInStackQueuedSpinLock(&k, &qh);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KeReleaseInStackQueuedSpinLock(&qh);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    assert_true(KeTestSpinLock(&k));

    NdisFreeSpinLock(&a);
    NdisFreeSpinLock(&b);
    assert_int_equal(cn_warn_count(), warns);

    /* Releasing a lock nobody holds is refused, and the IRQL is untouched. */
    NdisReleaseSpinLock(&a);
    assert_int_equal(cn_warn_count(), warns + 1);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

#define SPIN_ROUNDS 200000

struct spin_shared {
    NDIS_SPIN_LOCK s_lock;
    long s_counter;        /* plain: only the lock protects it */
    int s_inside;          /* threads inside the section */
    int s_overlap;         /* times two were seen inside at once */
};

static void *spin_thread(void *arg)
{
    struct spin_shared *s = arg;
    for (int i = 0; i < SPIN_ROUNDS; i++) {
        NdisAcquireSpinLock(&s->s_lock);
        if (__atomic_add_fetch(&s->s_inside, 1, __ATOMIC_RELAXED) != 1)
            s->s_overlap++;
        s->s_counter++;
        __atomic_sub_fetch(&s->s_inside, 1, __ATOMIC_RELAXED);
        NdisReleaseSpinLock(&s->s_lock);
        if (KeGetCurrentIrql() != PASSIVE_LEVEL)
            return (void *)1;
    }
    return NULL;
}

static void test_spin_lock_exclusion(void **state)
{
    (void)state;
    struct spin_shared s = { .s_counter = 0 };
    NdisAllocateSpinLock(&s.s_lock);
    pthread_t t1, t2;
    void *r1, *r2;
    assert_int_equal(pthread_create(&t1, NULL, spin_thread, &s), 0);
    assert_int_equal(pthread_create(&t2, NULL, spin_thread, &s), 0);
    pthread_join(t1, &r1);
    pthread_join(t2, &r2);
    assert_null(r1);
    assert_null(r2);
    assert_int_equal(s.s_counter, 2 * SPIN_ROUNDS);
    assert_int_equal(s.s_overlap, 0);
    NdisFreeSpinLock(&s.s_lock);
}

static void test_interlocked(void **state)
{
    (void)state;
    LONG v = 5;
    assert_int_equal(NdisInterlockedIncrement(&v), 6);
    assert_int_equal(NdisInterlockedDecrement(&v), 5);
    assert_int_equal(InterlockedExchange(&v, 9), 5);
    assert_int_equal(InterlockedCompareExchange(&v, 1, 8), 9); /* no swap */
    assert_int_equal(InterlockedCompareExchange(&v, 1, 9), 9); /* swap */
    assert_int_equal(v, 1);
    assert_int_equal(InterlockedExchangeAdd(&v, 10), 1);
    assert_int_equal(v, 11);
    PVOID p = NULL;
    assert_null(InterlockedCompareExchangePointer(&p, &v, NULL));
    assert_ptr_equal(p, &v);
    LARGE_INTEGER big = { .QuadPart = 0xfffffffeLL };
    NdisInterlockedAddLargeStatistic(&big, 3);
    assert_true(big.QuadPart == 0x100000001LL);

    NDIS_SPIN_LOCK lock;
    NdisAllocateSpinLock(&lock);
    ULONG u = 1;
    NdisInterlockedAddUlong(&u, 41, &lock);
    assert_int_equal(u, 42);

    LIST_ENTRY head, e1, e2, e3;
    NdisInitializeListHead(&head);
    assert_null(NdisInterlockedInsertTailList(&head, &e1, &lock));
    assert_ptr_equal(NdisInterlockedInsertTailList(&head, &e2, &lock), &e1);
    assert_ptr_equal(NdisInterlockedInsertHeadList(&head, &e3, &lock), &e1);
    assert_ptr_equal(NdisInterlockedRemoveHeadList(&head, &lock), &e3);
    assert_ptr_equal(NdisInterlockedRemoveHeadList(&head, &lock), &e1);
    assert_ptr_equal(NdisInterlockedRemoveHeadList(&head, &lock), &e2);
    assert_null(NdisInterlockedRemoveHeadList(&head, &lock));
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    NdisFreeSpinLock(&lock);
}

static void *slot_thread(void *arg)
{
    unsigned *out = arg;
    out[0] = cn_thread_slot();
    out[1] = cn_thread_slot(); /* stable within a thread */
    return NULL;
}

static void test_thread_slots(void **state)
{
    (void)state;
    unsigned mine = cn_thread_slot();
    assert_true(mine < CN_MAX_THREAD_SLOTS);
    assert_int_equal(cn_thread_slot(), mine);
    unsigned theirs[2];
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, slot_thread, theirs), 0);
    pthread_join(t, NULL);
    assert_true(theirs[0] < CN_MAX_THREAD_SLOTS);
    assert_int_equal(theirs[0], theirs[1]);
    assert_int_not_equal(theirs[0], mine);
    /* Slots are given back at thread exit: many short threads never run out. */
    for (int i = 0; i < 3 * CN_MAX_THREAD_SLOTS; i++) {
        assert_int_equal(pthread_create(&t, NULL, slot_thread, theirs), 0);
        pthread_join(t, NULL);
        assert_true(theirs[0] < CN_MAX_THREAD_SLOTS);
    }
    assert_true(cn_thread_token() != 0);
}

/* ---- events -------------------------------------------------------------------- */

static void *set_later(void *arg)
{
    NdisMSleep(20000);
    NdisSetEvent(arg);
    return NULL;
}

static void test_events(void **state)
{
    (void)state;
    NDIS_EVENT e;
    NdisInitializeEvent(&e);
    uint64_t t0 = cn_now_ns();
    assert_false(NdisWaitEvent(&e, 50));
    assert_true(cn_now_ns() - t0 >= 45 * 1000000ull);

    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, set_later, &e), 0);
    assert_true(NdisWaitEvent(&e, 0)); /* 0 = forever */
    pthread_join(t, NULL);
    assert_true(NdisWaitEvent(&e, 1)); /* a notification event stays signaled */
    NdisResetEvent(&e);
    assert_false(NdisWaitEvent(&e, 1));

    /* A synchronization event lets one wait through and resets itself. */
    KEVENT s;
    KeInitializeEvent(&s, SynchronizationEvent, FALSE);
    assert_int_equal(KeSetEvent(&s, 0, FALSE), 0);
    LARGE_INTEGER timeout = rel_ms(10);
    assert_int_equal(KeWaitForSingleObject(&s, Executive, KernelMode, FALSE, &timeout),
                     STATUS_SUCCESS);
    assert_int_equal(KeReadStateEvent(&s), 0);
    assert_int_equal(KeWaitForSingleObject(&s, Executive, KernelMode, FALSE, &timeout),
                     STATUS_TIMEOUT);
    LARGE_INTEGER zero = { .QuadPart = 0 };
    assert_int_equal(KeWaitForSingleObject(&s, Executive, KernelMode, FALSE, &zero),
                     STATUS_TIMEOUT);
}

/* ---- work items ------------------------------------------------------------------ */

struct wi_probe {
    NDIS_EVENT p_done;
    KIRQL p_irql;
    pthread_t p_thread;
    char p_driver[16];
    NDIS_HANDLE p_seen_handle;
};

static NDIS_IO_WORKITEM_FUNCTION probe_routine;
static void probe_routine(PVOID WorkItemContext, NDIS_HANDLE NdisIoWorkItemHandle)
{
    struct wi_probe *p = WorkItemContext;
    p->p_irql = KeGetCurrentIrql();
    p->p_thread = pthread_self();
    snprintf(p->p_driver, sizeof(p->p_driver), "%s", cn_current_driver());
    p->p_seen_handle = NdisIoWorkItemHandle;
    NdisSetEvent(&p->p_done);
}

static void test_work_item_passive(void **state)
{
    (void)state;
    NDIS_HANDLE drv = drv_handle("wdrv");
    NDIS_HANDLE wi = NdisAllocateIoWorkItem(drv);
    assert_non_null(wi);
    struct wi_probe p;
    memset(&p, 0, sizeof(p));
    NdisInitializeEvent(&p.p_done);
    p.p_irql = 0xff;
    NdisQueueIoWorkItem(wi, probe_routine, &p);
    assert_true(NdisWaitEvent(&p.p_done, WAIT_MS));
    assert_int_equal(p.p_irql, PASSIVE_LEVEL);
    assert_false(pthread_equal(p.p_thread, pthread_self()));
    assert_string_equal(p.p_driver, "wdrv");
    assert_ptr_equal(p.p_seen_handle, wi);
    cn_work_flush();
    NdisFreeIoWorkItem(wi);
    assert_int_equal(cn_handle_count(CN_H_IO_WORKITEM), 0);

    /* A handle that is no longer live gets no work item. */
    cn_handle_free(drv);
    unsigned long warns = cn_warn_count();
    assert_null(NdisAllocateIoWorkItem(drv));
    assert_int_equal(cn_warn_count(), warns + 1);
}

struct chain {
    NDIS_EVENT c_gate;    /* set by the second work item */
    NDIS_EVENT c_done;    /* set by the first when the gate opened */
    BOOLEAN c_gate_seen;
};

static NDIS_IO_WORKITEM_FUNCTION chain_waiter, chain_setter;
static void chain_waiter(PVOID WorkItemContext, NDIS_HANDLE NdisIoWorkItemHandle)
{
    struct chain *c = WorkItemContext;
    c->c_gate_seen = NdisWaitEvent(&c->c_gate, WAIT_MS);
    NdisFreeIoWorkItem(NdisIoWorkItemHandle); /* freeing itself is allowed */
    NdisSetEvent(&c->c_done);
}

static void chain_setter(PVOID WorkItemContext, NDIS_HANDLE NdisIoWorkItemHandle)
{
    struct chain *c = WorkItemContext;
    NdisMSleep(10000);
    NdisSetEvent(&c->c_gate);
    NdisFreeIoWorkItem(NdisIoWorkItemHandle);
}

/* A work item that blocks on one queued after it must not deadlock the
 * pool: more workers start while all are busy. Run it with more blockers
 * than the pool starts with. */
static void test_work_item_waits_for_another(void **state)
{
    (void)state;
    NDIS_HANDLE drv = drv_handle("wdrv");
    enum { N = 6 };
    struct chain c[N];
    for (int i = 0; i < N; i++) {
        NdisInitializeEvent(&c[i].c_gate);
        NdisInitializeEvent(&c[i].c_done);
        c[i].c_gate_seen = FALSE;
        NdisQueueIoWorkItem(NdisAllocateIoWorkItem(drv), chain_waiter, &c[i]);
    }
    for (int i = 0; i < N; i++)
        NdisQueueIoWorkItem(NdisAllocateIoWorkItem(drv), chain_setter, &c[i]);
    for (int i = 0; i < N; i++) {
        assert_true(NdisWaitEvent(&c[i].c_done, WAIT_MS));
        assert_true(c[i].c_gate_seen);
    }
    cn_work_flush();
    assert_int_equal(cn_handle_count(CN_H_IO_WORKITEM), 0);
    cn_handle_free(drv);
}

/* ---- DPCs ------------------------------------------------------------------------ */

struct dpc_probe {
    _Atomic int d_runs;
    KIRQL d_irql;
    ULONG d_cpu;
    void *d_arg1;
    KDPC d_inner; /* queued from the DPC, without a target */
    _Atomic int d_inner_runs;
    ULONG d_inner_cpu;
};

static _Atomic int dpc_gate; /* 1 holds the blocker */
static KDEFERRED_ROUTINE blocker_dpc, probe_dpc, inner_dpc;

/* Keeps its processor busy until the test opens the gate, so that DPCs
 * queued meanwhile stay queued. Spins: a DPC may not wait. */
static void blocker_dpc(PKDPC Dpc, PVOID Ctx, PVOID A1, PVOID A2)
{
    (void)Dpc, (void)Ctx, (void)A1, (void)A2;
    while (atomic_load(&dpc_gate))
        sched_yield();
}

static void inner_dpc(PKDPC Dpc, PVOID Ctx, PVOID A1, PVOID A2)
{
    (void)Dpc, (void)A1, (void)A2;
    struct dpc_probe *p = Ctx;
    p->d_inner_cpu = KeGetCurrentProcessorNumber();
    atomic_fetch_add(&p->d_inner_runs, 1);
}

static void probe_dpc(PKDPC Dpc, PVOID Ctx, PVOID A1, PVOID A2)
{
    (void)Dpc, (void)A2;
    struct dpc_probe *p = Ctx;
    p->d_irql = KeGetCurrentIrql();
    p->d_cpu = KeGetCurrentProcessorNumber();
    p->d_arg1 = A1;
    KeInsertQueueDpc(&p->d_inner, NULL, NULL);
    atomic_fetch_add(&p->d_runs, 1);
}

static void test_dpc(void **state)
{
    (void)state;
    static struct dpc_probe p;
    memset(&p, 0, sizeof(p));
    KDPC blocker, dpc;
    KeInitializeDpc(&blocker, blocker_dpc, NULL);
    KeSetTargetProcessorDpc(&blocker, 1);
    KeInitializeDpc(&dpc, probe_dpc, &p);
    KeSetTargetProcessorDpc(&dpc, 1);
    KeInitializeDpc(&p.d_inner, inner_dpc, &p);

    atomic_store(&dpc_gate, 1);
    assert_true(KeInsertQueueDpc(&blocker, NULL, NULL));
    assert_true(KeInsertQueueDpc(&dpc, &p, NULL));
    assert_false(KeInsertQueueDpc(&dpc, NULL, NULL)); /* already queued */
    atomic_store(&dpc_gate, 0);
    KeFlushQueuedDpcs();
    assert_int_equal(atomic_load(&p.d_runs), 1);
    assert_int_equal(p.d_irql, DISPATCH_LEVEL);
    assert_int_equal(p.d_cpu, 1);
    assert_ptr_equal(p.d_arg1, &p); /* the first insert's argument */
    KeFlushQueuedDpcs();
    assert_int_equal(atomic_load(&p.d_inner_runs), 1);
    assert_int_equal(p.d_inner_cpu, 1); /* no target: the queuing processor */

    /* A queued DPC can be removed before it runs. */
    atomic_store(&dpc_gate, 1);
    assert_true(KeInsertQueueDpc(&blocker, NULL, NULL));
    assert_true(KeInsertQueueDpc(&dpc, NULL, NULL));
    assert_true(KeRemoveQueueDpc(&dpc));
    assert_false(KeRemoveQueueDpc(&dpc));
    atomic_store(&dpc_gate, 0);
    KeFlushQueuedDpcs();
    assert_int_equal(atomic_load(&p.d_runs), 1);

    /* Without a target, from a thread that is no DPC thread: processor 0. */
    KeInitializeDpc(&dpc, probe_dpc, &p);
    assert_true(KeInsertQueueDpc(&dpc, NULL, NULL));
    KeFlushQueuedDpcs();
    KeFlushQueuedDpcs();
    assert_int_equal(atomic_load(&p.d_runs), 2);
    assert_int_equal(p.d_cpu, 0);
    assert_int_equal(KeGetCurrentProcessorNumber(), 0);
    assert_int_equal(NdisSystemProcessorCount(), TEST_CPUS);
}

/* ---- timers ---------------------------------------------------------------------- */

struct tm_probe {
    _Atomic int t_fires;
    KIRQL t_irql;
    PVOID t_ctx_seen;
    NDIS_EVENT t_fired;
    NDIS_HANDLE t_self; /* freed from its own callback when set */
};

static NDIS_TIMER_FUNCTION tm_callback;
static void tm_callback(PVOID S1, PVOID FunctionContext, PVOID S2, PVOID S3)
{
    (void)S1, (void)S2, (void)S3;
    struct tm_probe *p = FunctionContext;
    p->t_irql = KeGetCurrentIrql();
    p->t_ctx_seen = FunctionContext;
    if (p->t_self != NULL) {
        NdisFreeTimerObject(p->t_self);
        p->t_self = NULL;
    }
    atomic_fetch_add(&p->t_fires, 1);
    NdisSetEvent(&p->t_fired);
}

static NDIS_HANDLE make_timer(NDIS_HANDLE drv, struct tm_probe *p)
{
    NDIS_TIMER_CHARACTERISTICS tc;
    memset(&tc, 0, sizeof(tc));
    tc.Header.Type = NDIS_OBJECT_TYPE_TIMER_CHARACTERISTICS;
    tc.Header.Revision = NDIS_TIMER_CHARACTERISTICS_REVISION_1;
    tc.Header.Size = NDIS_SIZEOF_TIMER_CHARACTERISTICS_REVISION_1;
    tc.AllocationTag = 'mTsO';
    tc.TimerFunction = tm_callback;
    tc.FunctionContext = p;
    NDIS_HANDLE t = NULL;
    assert_int_equal(NdisAllocateTimerObject(drv, &tc, &t), NDIS_STATUS_SUCCESS);
    assert_non_null(t);
    memset(p, 0, sizeof(*p));
    NdisInitializeEvent(&p->t_fired);
    return t;
}

static void test_timer_one_shot(void **state)
{
    (void)state;
    NDIS_HANDLE drv = drv_handle("tdrv");
    struct tm_probe p;
    NDIS_HANDLE t = make_timer(drv, &p);
    uint64_t t0 = cn_now_ns();
    assert_false(NdisSetTimerObject(t, rel_ms(1000), 0, NULL));
    assert_true(NdisSetTimerObject(t, rel_ms(20), 0, NULL)); /* was queued: reset */
    assert_true(NdisWaitEvent(&p.t_fired, WAIT_MS));
    assert_true(cn_now_ns() - t0 >= 19 * 1000000ull);
    assert_int_equal(p.t_irql, DISPATCH_LEVEL);
    assert_ptr_equal(p.t_ctx_seen, &p); /* NULL context: the default */
    NdisMSleep(50000);
    assert_int_equal(atomic_load(&p.t_fires), 1);
    assert_false(NdisCancelTimerObject(t)); /* fired: no longer queued */

    /* An absolute due time in the past fires at once. */
    NdisResetEvent(&p.t_fired);
    LARGE_INTEGER now;
    NdisGetCurrentSystemTime(&now);
    assert_false(NdisSetTimerObject(t, now, 0, NULL));
    assert_true(NdisWaitEvent(&p.t_fired, WAIT_MS));
    NdisFreeTimerObject(t);
    cn_handle_free(drv);
}

static void test_timer_periodic_and_cancel(void **state)
{
    (void)state;
    NDIS_HANDLE drv = drv_handle("tdrv");
    struct tm_probe p;
    NDIS_HANDLE t = make_timer(drv, &p);
    assert_false(NdisSetTimerObject(t, rel_ms(5), 5, NULL));
    uint64_t deadline = cn_now_ns() + WAIT_MS * 1000000ull;
    while (atomic_load(&p.t_fires) < 3 && cn_now_ns() < deadline)
        NdisMSleep(1000);
    assert_true(atomic_load(&p.t_fires) >= 3);
    assert_true(NdisCancelTimerObject(t)); /* a periodic timer stays queued */
    NdisMSleep(5000);                      /* a callback in flight finishes */
    int fires = atomic_load(&p.t_fires);
    NdisMSleep(30000);
    assert_int_equal(atomic_load(&p.t_fires), fires);
    assert_false(NdisCancelTimerObject(t));

    /* Cancel before it fires; then free a queued timer. */
    assert_false(NdisSetTimerObject(t, rel_ms(10000), 0, NULL));
    assert_true(NdisCancelTimerObject(t));
    assert_false(NdisSetTimerObject(t, rel_ms(10000), 0, NULL));
    NdisFreeTimerObject(t);

    /* A timer freed from its own callback. */
    NDIS_HANDLE t2 = make_timer(drv, &p);
    p.t_self = t2;
    NdisSetTimerObject(t2, rel_ms(1), 0, NULL);
    assert_true(NdisWaitEvent(&p.t_fired, WAIT_MS));
    deadline = cn_now_ns() + WAIT_MS * 1000000ull;
    while (cn_handle_count(CN_H_TIMER) != 0 && cn_now_ns() < deadline)
        NdisMSleep(1000);
    assert_int_equal(cn_handle_count(CN_H_TIMER), 0);
    cn_handle_free(drv);
}

struct tm5_probe {
    _Atomic int f_fires;
    KIRQL f_irql;
    PVOID f_sys1;
    PVOID f_ctx;
    char f_driver[16];
    NDIS_EVENT f_fired;
};

static NDIS_TIMER_FUNCTION tm5_callback;
static void tm5_callback(PVOID S1, PVOID FunctionContext, PVOID S2, PVOID S3)
{
    (void)S2, (void)S3;
    struct tm5_probe *p = FunctionContext;
    p->f_irql = KeGetCurrentIrql();
    p->f_sys1 = S1;
    p->f_ctx = FunctionContext;
    snprintf(p->f_driver, sizeof(p->f_driver), "%s", cn_current_driver());
    atomic_fetch_add(&p->f_fires, 1);
    NdisSetEvent(&p->f_fired);
}

static void test_timer_ndis5(void **state)
{
    (void)state;
    static struct tm5_probe p;
    memset(&p, 0, sizeof(p));
    NdisInitializeEvent(&p.f_fired);
    NDIS_TIMER nt;
    BOOLEAN cancelled = TRUE;
    NdisInitializeTimer(&nt, tm5_callback, &p);
    NdisCancelTimer(&nt, &cancelled);
    assert_false(cancelled);
    NdisSetTimer(&nt, 10);
    assert_true(NdisWaitEvent(&p.f_fired, WAIT_MS));
    assert_int_equal(p.f_irql, DISPATCH_LEVEL);
    assert_ptr_equal(p.f_sys1, &nt.Dpc);
    assert_ptr_equal(p.f_ctx, &p);
    KeFlushQueuedDpcs();
    NdisCancelTimer(&nt, &cancelled);
    assert_false(cancelled); /* it fired */

    NdisSetPeriodicTimer(&nt, 5);
    uint64_t deadline = cn_now_ns() + WAIT_MS * 1000000ull;
    while (atomic_load(&p.f_fires) < 4 && cn_now_ns() < deadline)
        NdisMSleep(1000);
    NdisCancelTimer(&nt, &cancelled);
    assert_true(cancelled);
    KeFlushQueuedDpcs();
    int fires = atomic_load(&p.f_fires);
    NdisMSleep(20000);
    assert_int_equal(atomic_load(&p.f_fires), fires);

    /* A miniport timer runs as its adapter's driver. */
    NDIS_HANDLE adapter = drv_handle("mp5");
    NDIS_MINIPORT_TIMER mt;
    NdisMInitializeTimer(&mt, adapter, tm5_callback, &p);
    NdisResetEvent(&p.f_fired);
    NdisMSetTimer(&mt, 1);
    assert_true(NdisWaitEvent(&p.f_fired, WAIT_MS));
    assert_string_equal(p.f_driver, "mp5");
    KeFlushQueuedDpcs();
    NdisMCancelTimer(&mt, &cancelled);
    assert_false(cancelled);

    /* A plain KTIMER with a DPC. */
    KTIMER kt;
    KeInitializeTimer(&kt);
    NdisResetEvent(&p.f_fired);
    NdisSetTimer(&nt, 100000); /* set, then cancelled below */
    assert_false(KeSetTimer(&kt, rel_ms(1), &nt.Dpc));
    assert_true(NdisWaitEvent(&p.f_fired, WAIT_MS));
    assert_true(KeReadStateTimer(&kt));
    assert_false(KeCancelTimer(&kt));
    KeFlushQueuedDpcs();
    NdisCancelTimer(&nt, &cancelled);
    assert_true(cancelled);
    cn_handle_free(adapter);
}

/* ---- memory ---------------------------------------------------------------------- */

struct leak_seen {
    size_t l_groups;
    size_t l_bytes;
    size_t l_blocks;
    ULONG l_tag;
    char l_owner[16];
};

static void on_leak(const struct cn_mem_leak *l, void *arg)
{
    struct leak_seen *s = arg;
    s->l_groups++;
    s->l_bytes = l->ml_bytes;
    s->l_blocks = l->ml_blocks;
    s->l_tag = l->ml_tag;
    snprintf(s->l_owner, sizeof(s->l_owner), "%s", l->ml_owner);
}

static void test_memory_tracking(void **state)
{
    (void)state;
    NDIS_HANDLE drv = drv_handle("mdrv");
    size_t base = cn_memory_outstanding();
    PUCHAR a = NdisAllocateMemoryWithTagPriority(drv, 100, 'kaeL', NormalPoolPriority);
    PUCHAR b = NdisAllocateMemoryWithTagPriority(drv, 28, 'kaeL', NormalPoolPriority);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal((uintptr_t)a % 16, 0);
    assert_int_equal((uintptr_t)b % 16, 0);
    NdisFillMemory(a, 100, 0xab);
    assert_int_equal(cn_memory_outstanding(), base + 2);

    struct leak_seen s;
    memset(&s, 0, sizeof(s));
    assert_int_equal(cn_memory_leaks(on_leak, &s), 1);
    assert_int_equal(s.l_groups, 1);
    assert_int_equal(s.l_blocks, 2);
    assert_int_equal(s.l_bytes, 128);
    assert_int_equal(s.l_tag, 'kaeL');
    assert_string_equal(s.l_owner, "mdrv");

    unsigned long warns = cn_warn_count();
    NdisFreeMemoryWithTagPriority(drv, a, 'kaeL');
    NdisFreeMemoryWithTagPriority(drv, a, 'kaeL'); /* twice: refused */
    assert_int_equal(cn_warn_count(), warns + 1);
    int local;
    NdisFreeMemory(&local, sizeof(local), 0); /* never allocated: refused */
    assert_int_equal(cn_warn_count(), warns + 2);
    NdisFreeMemoryWithTagPriority(drv, b, 'gnrW'); /* freed, with a warning */
    assert_int_equal(cn_warn_count(), warns + 3);

    PVOID c = NULL;
    assert_int_equal(NdisAllocateMemoryWithTag(&c, 0, 'oreZ'), NDIS_STATUS_SUCCESS);
    assert_non_null(c);
    NDIS_PHYSICAL_ADDRESS highest = NDIS_PHYSICAL_ADDRESS_CONST(-1, -1);
    PVOID d = NULL;
    assert_int_equal(NdisAllocateMemory(&d, 64, 0, highest), NDIS_STATUS_SUCCESS);
    assert_int_equal(cn_memory_outstanding(), base + 2);
    NdisFreeMemory(c, 0, 0);
    NdisFreeMemory(d, 64, 0);
    assert_int_equal(cn_memory_outstanding(), base);
    assert_int_equal(cn_memory_leaks(NULL, NULL), 0);

    UCHAR x[4] = { 1, 2, 3, 4 }, y[4] = { 1, 2, 9, 4 };
    assert_int_equal(NdisEqualMemory(x, x, 4), 1);
    assert_int_equal(NdisEqualMemory(x, y, 4), 0);
    assert_int_equal(RtlCompareMemory(x, y, 4), 2);
    ULONG u;
    NdisStoreUlong(&x[0], 0x01020304);
    NdisRetrieveUlong(&u, &x[0]);
    assert_int_equal(u, 0x01020304);
    cn_handle_free(drv);
}

/* ---- configuration ---------------------------------------------------------------- */

static NDIS_HANDLE open_config(NDIS_HANDLE owner)
{
    NDIS_CONFIGURATION_OBJECT co;
    memset(&co, 0, sizeof(co));
    co.Header.Type = NDIS_OBJECT_TYPE_CONFIGURATION_OBJECT;
    co.Header.Revision = NDIS_CONFIGURATION_OBJECT_REVISION_1;
    co.Header.Size = NDIS_SIZEOF_CONFIGURATION_OBJECT_REVISION_1;
    co.NdisHandle = owner;
    NDIS_HANDLE cfg = NULL;
    assert_int_equal(NdisOpenConfigurationEx(&co, &cfg), NDIS_STATUS_SUCCESS);
    assert_non_null(cfg);
    return cfg;
}

/* The parameter's value, or NULL with *status set. */
static PNDIS_CONFIGURATION_PARAMETER read_param(NDIS_HANDLE cfg, PCWSTR name,
                                                NDIS_PARAMETER_TYPE type, NDIS_STATUS *status)
{
    NDIS_STRING kw;
    NdisInitUnicodeString(&kw, name);
    PNDIS_CONFIGURATION_PARAMETER v = NULL;
    NdisReadConfiguration(status, &v, cfg, &kw, type);
    return *status == NDIS_STATUS_SUCCESS ? v : NULL;
}

static ULONG read_int(NDIS_HANDLE cfg, PCWSTR name, NDIS_PARAMETER_TYPE type)
{
    NDIS_STATUS st;
    PNDIS_CONFIGURATION_PARAMETER v = read_param(cfg, name, type, &st);
    assert_int_equal(st, NDIS_STATUS_SUCCESS);
    assert_int_equal(v->ParameterType, type);
    return v->ParameterData.IntegerData;
}

static void test_configuration(void **state)
{
    (void)state;
    assert_int_equal(cn_param_set(NULL, "Speed", "100"), 0);
    assert_int_equal(cn_param_set("cdrv", "Speed", "200"), 0);
    assert_int_equal(cn_param_set(NULL, "Mask", "0x1f"), 0);
    assert_int_equal(cn_param_set(NULL, "HexVal", "ff"), 0);
    assert_int_equal(cn_param_set(NULL, "Name", "hello"), 0);
    assert_int_equal(cn_param_set(NULL, "Bad", "12abc"), 0);
    assert_int_equal(cn_param_set("cdrv", "NetworkAddress", "02-00-4C-4F-4F-50"), 0);
    assert_int_equal(cn_param_set("cdrv", "Ndi\\Depth", "7"), 0);

    NDIS_HANDLE drv = drv_handle("cdrv");
    NDIS_HANDLE other = drv_handle("odrv");
    NDIS_HANDLE cfg = open_config(drv);
    NDIS_HANDLE ocfg = open_config(other);
    NDIS_STATUS st;

    assert_int_equal(read_int(cfg, L"Speed", NdisParameterInteger), 200); /* specific wins */
    assert_int_equal(read_int(ocfg, L"Speed", NdisParameterInteger), 100); /* global */
    assert_int_equal(read_int(cfg, L"sPEED", NdisParameterInteger), 200); /* any case */
    assert_int_equal(read_int(cfg, L"Mask", NdisParameterInteger), 0x1f);
    assert_int_equal(read_int(cfg, L"HexVal", NdisParameterHexInteger), 0xff);
    assert_int_equal(read_int(cfg, L"Speed", NdisParameterHexInteger), 0x200);
    assert_null(read_param(cfg, L"HexVal", NdisParameterInteger, &st)); /* not decimal */
    assert_int_equal(st, NDIS_STATUS_FAILURE);
    assert_null(read_param(cfg, L"Bad", NdisParameterInteger, &st));
    assert_int_equal(st, NDIS_STATUS_FAILURE);
    assert_null(read_param(cfg, L"Missing", NdisParameterInteger, &st));
    assert_int_equal(st, NDIS_STATUS_FAILURE);

    PNDIS_CONFIGURATION_PARAMETER v = read_param(cfg, L"Name", NdisParameterString, &st);
    assert_non_null(v);
    assert_int_equal(v->ParameterType, NdisParameterString);
    NDIS_STRING hello;
    NdisInitUnicodeString(&hello, L"hello");
    assert_int_equal(v->ParameterData.StringData.Length, 5 * sizeof(WCHAR));
    assert_true(NdisEqualString(&v->ParameterData.StringData, &hello, FALSE));

    /* Written values are read back, by this driver only. */
    NDIS_CONFIGURATION_PARAMETER w;
    memset(&w, 0, sizeof(w));
    w.ParameterType = NdisParameterInteger;
    w.ParameterData.IntegerData = 4242;
    NDIS_STRING kw;
    NdisInitUnicodeString(&kw, L"Written");
    NdisWriteConfiguration(&st, cfg, &kw, &w);
    assert_int_equal(st, NDIS_STATUS_SUCCESS);
    assert_int_equal(read_int(cfg, L"Written", NdisParameterInteger), 4242);
    assert_null(read_param(ocfg, L"Written", NdisParameterInteger, &st));

    /* A subkey. */
    NDIS_STRING ndi;
    NdisInitUnicodeString(&ndi, L"Ndi");
    NDIS_HANDLE sub = NULL;
    NdisOpenConfigurationKeyByName(&st, cfg, &ndi, &sub);
    assert_int_equal(st, NDIS_STATUS_SUCCESS);
    assert_int_equal(read_int(sub, L"Depth", NdisParameterInteger), 7);
    NdisCloseConfiguration(sub);

    PVOID addr;
    UINT len;
    NdisReadNetworkAddress(&st, &addr, &len, cfg);
    assert_int_equal(st, NDIS_STATUS_SUCCESS);
    assert_int_equal(len, 6);
    static const UCHAR mac[6] = { 0x02, 0x00, 0x4c, 0x4f, 0x4f, 0x50 };
    assert_memory_equal(addr, mac, 6);
    NdisReadNetworkAddress(&st, &addr, &len, ocfg);
    assert_int_equal(st, NDIS_STATUS_FAILURE);

    NdisCloseConfiguration(cfg);
    NdisCloseConfiguration(ocfg);
    assert_int_equal(cn_handle_count(CN_H_CONFIG), 0);

    /* A handle that is not live opens nothing. */
    cn_handle_free(other);
    NDIS_CONFIGURATION_OBJECT co;
    memset(&co, 0, sizeof(co));
    co.Header.Type = NDIS_OBJECT_TYPE_CONFIGURATION_OBJECT;
    co.Header.Revision = NDIS_CONFIGURATION_OBJECT_REVISION_1;
    co.Header.Size = NDIS_SIZEOF_CONFIGURATION_OBJECT_REVISION_1;
    co.NdisHandle = other;
    NDIS_HANDLE dead = (NDIS_HANDLE)1;
    assert_int_equal(NdisOpenConfigurationEx(&co, &dead), NDIS_STATUS_FAILURE);
    assert_null(dead);
    cn_handle_free(drv);
}

/* ---- strings and DbgPrint ------------------------------------------------------------ */

static void test_strings(void **state)
{
    (void)state;
    NDIS_STRING a, b;
    NdisInitUnicodeString(&a, L"Condis");
    NdisInitUnicodeString(&b, L"CONDIS");
    assert_int_equal(a.Length, 6 * sizeof(WCHAR));
    assert_int_equal(a.MaximumLength, 7 * sizeof(WCHAR));
    assert_true(NdisEqualString(&a, &b, TRUE));
    assert_false(NdisEqualString(&a, &b, FALSE));

    ANSI_STRING as;
    NdisInitAnsiString(&as, "h\xc3\xa9llo"); /* UTF-8 */
    WCHAR wbuf[16];
    NDIS_STRING w = { 0, sizeof(wbuf), wbuf };
    assert_int_equal(NdisAnsiStringToUnicodeString(&w, &as), NDIS_STATUS_SUCCESS);
    assert_int_equal(w.Length, 5 * sizeof(WCHAR));
    assert_int_equal(wbuf[1], 0xe9);
    char cbuf[16];
    ANSI_STRING back = { 0, sizeof(cbuf), cbuf };
    assert_int_equal(NdisUnicodeStringToAnsiString(&back, &w), NDIS_STATUS_SUCCESS);
    assert_int_equal(back.Length, 6);
    assert_memory_equal(cbuf, "h\xc3\xa9llo", 6);
    NDIS_STRING tiny = { 0, 2 * sizeof(WCHAR), wbuf };
    assert_int_equal(NdisAnsiStringToUnicodeString(&tiny, &as), NDIS_STATUS_BUFFER_OVERFLOW);

    UNICODE_STRING num;
    ULONG v = 0;
    RtlInitUnicodeString(&num, L"0x1F");
    assert_int_equal(RtlUnicodeStringToInteger(&num, 0, &v), STATUS_SUCCESS);
    assert_int_equal(v, 31);

    UNICODE_STRING alloc;
    assert_int_equal(RtlAnsiStringToUnicodeString(&alloc, &as, TRUE), STATUS_SUCCESS);
    assert_int_equal(cn_memory_outstanding(), 1);
    RtlFreeUnicodeString(&alloc);
    assert_int_equal(cn_memory_outstanding(), 0);
}

static char captured[512];
static void capture(const char *line, void *arg)
{
    (void)arg;
    snprintf(captured, sizeof(captured), "%s", line);
}

static void test_dbgprint(void **state)
{
    (void)state;
    cn_log_set_sink(capture, NULL);
    const char *prev = cn_set_current_driver("pdrv");
    UNICODE_STRING us;
    RtlInitUnicodeString(&us, L"adapter0");
    ANSI_STRING as;
    RtlInitAnsiString(&as, "ansi");
    DbgPrint("x=%wZ z=%Z n=%I64d u=%I64x p=%Iu c=%wc s=%ws S=%S ld=%ld lu=%lu w=%-4s|\n", &us,
             &as, (LONG64)-5, (ULONG64)0xabcULL, (SIZE_T)7, (WCHAR)L'Z', L"wide", L"big",
             (LONG)-3, (ULONG)4000000000u, "ab");
    assert_string_equal(captured,
                        "pdrv: x=adapter0 z=ansi n=-5 u=abc p=7 c=Z s=wide S=big ld=-3 "
                        "lu=4000000000 w=ab  |");
    KdPrint(("%s %d%%\n", "kd", 50));
    assert_string_equal(captured, "pdrv: kd 50%");
    DbgPrintEx(DPFLTR_IHVNETWORK_ID, DPFLTR_INFO_LEVEL, "null=%wZ\n", (PUNICODE_STRING)NULL);
    assert_string_equal(captured, "pdrv: null=(null)");
    cn_set_current_driver(prev);
    DbgPrint("plain\n");
    assert_string_equal(captured, "condis: plain");
    DbgPrint("first\nsecond\n\n"); /* one line each; the sink keeps the last */
    assert_string_equal(captured, "condis: second");
    cn_log_set_sink(NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_irql_and_spin_locks, os_setup, os_teardown),
        cmocka_unit_test_setup_teardown(test_spin_lock_exclusion, os_setup, os_teardown),
        cmocka_unit_test_setup_teardown(test_interlocked, os_setup, os_teardown),
        cmocka_unit_test_setup_teardown(test_thread_slots, os_setup, os_teardown),
        cmocka_unit_test_setup_teardown(test_events, os_setup, os_teardown),
        cmocka_unit_test_setup_teardown(test_work_item_passive, os_setup, os_teardown),
        cmocka_unit_test_setup_teardown(test_work_item_waits_for_another, os_setup,
                                        os_teardown),
        cmocka_unit_test_setup_teardown(test_dpc, os_setup, os_teardown),
        cmocka_unit_test_setup_teardown(test_timer_one_shot, os_setup, os_teardown),
        cmocka_unit_test_setup_teardown(test_timer_periodic_and_cancel, os_setup, os_teardown),
        cmocka_unit_test_setup_teardown(test_timer_ndis5, os_setup, os_teardown),
        cmocka_unit_test_setup_teardown(test_memory_tracking, os_setup, os_teardown),
        cmocka_unit_test_setup_teardown(test_configuration, os_setup, os_teardown),
        cmocka_unit_test_setup_teardown(test_strings, os_setup, os_teardown),
        cmocka_unit_test_setup_teardown(test_dbgprint, os_setup, os_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
