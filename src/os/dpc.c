/*
 * dpc.c - KDPC on condis' emulated processors.
 *
 * A KDPC lives in driver memory; condis keeps its queue link in the DPC's
 * DpcData words (a struct cn_work), so queuing allocates nothing. Inserted
 * is 1 from KeInsertQueueDpc until the DPC thread takes the DPC to run it,
 * so the routine itself may queue the DPC again.
 */
#include "os_priv.h"
#include "../verify/cn_verify.h"

_Static_assert(sizeof(((KDPC *)0)->DpcData) >= sizeof(struct cn_work),
               "KDPC.DpcData holds a struct cn_work");
_Static_assert(_Alignof(PVOID) >= _Alignof(struct cn_work),
               "KDPC.DpcData is aligned for a struct cn_work");

#define DPC_TYPE 0x13 /* the kernel's object type for a DPC */

static inline struct cn_work *dpc_work(PRKDPC Dpc)
{
    return (struct cn_work *)(void *)Dpc->DpcData;
}

static void dpc_run(struct cn_work *w)
{
    PRKDPC dpc = CONTAINING_RECORD((void *)w, KDPC, DpcData);
    /* Read everything before clearing Inserted: after that a new insert may
     * overwrite the arguments. */
    PKDEFERRED_ROUTINE routine = dpc->DeferredRoutine;
    PVOID ctx = dpc->DeferredContext;
    PVOID a1 = dpc->SystemArgument1;
    PVOID a2 = dpc->SystemArgument2;
    cn_set_current_driver(dpc->DpcOwner);
    __atomic_store_n(&dpc->Inserted, 0, __ATOMIC_SEQ_CST);
    KIRQL irql = cn_irql();
    unsigned held = cn_spin_locks_held();
    routine(dpc, ctx, a1, a2);
    cn_callback_returned("DPC routine", (const void *)routine, irql, held);
}

void KeInitializeDpc(PRKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine, PVOID DeferredContext)
{
    Dpc->Type = DPC_TYPE;
    Dpc->Importance = MediumImportance;
    Dpc->Number = 0;
    Dpc->Inserted = 0;
    Dpc->DeferredRoutine = DeferredRoutine;
    Dpc->DeferredContext = DeferredContext;
    Dpc->SystemArgument1 = NULL;
    Dpc->SystemArgument2 = NULL;
    Dpc->DpcData[0] = Dpc->DpcData[1] = NULL;
    Dpc->DpcOwner = cn_os_driver_raw();
    Dpc->DpcCpu = 0;
}

/* condis has no separate threaded-DPC context: it is an ordinary DPC. */
void KeInitializeThreadedDpc(PRKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine,
                             PVOID DeferredContext)
{
    KeInitializeDpc(Dpc, DeferredRoutine, DeferredContext);
}

BOOLEAN KeInsertQueueDpc(PRKDPC Dpc, PVOID SystemArgument1, PVOID SystemArgument2)
{
    LONG zero = 0;
    if (!__atomic_compare_exchange_n(&Dpc->Inserted, &zero, 1, false, __ATOMIC_SEQ_CST,
                                     __ATOMIC_SEQ_CST))
        return FALSE;
    Dpc->SystemArgument1 = SystemArgument1;
    Dpc->SystemArgument2 = SystemArgument2;
    unsigned cpu;
    if (Dpc->Number != 0) {
        cpu = (unsigned)(Dpc->Number - 1) % cn_cpu_count();
    } else {
        int self = cn_os_cpu_self();
        cpu = self >= 0 ? (unsigned)self : 0;
    }
    Dpc->DpcCpu = cpu;
    struct cn_work *w = dpc_work(Dpc);
    w->w_fn = dpc_run;
    cn_work_queue_dpc(w, cpu);
    return TRUE;
}

BOOLEAN KeRemoveQueueDpc(PRKDPC Dpc)
{
    if (__atomic_load_n(&Dpc->Inserted, __ATOMIC_SEQ_CST) == 0)
        return FALSE;
    if (!cn_work_cancel(dpc_work(Dpc)))
        return FALSE; /* taken by its DPC thread already */
    __atomic_store_n(&Dpc->Inserted, 0, __ATOMIC_SEQ_CST);
    return TRUE;
}

void KeSetTargetProcessorDpc(PRKDPC Dpc, CCHAR Number)
{
    Dpc->Number = (USHORT)((UCHAR)Number + 1);
}

void KeSetImportanceDpc(PRKDPC Dpc, KDPC_IMPORTANCE Importance)
{
    Dpc->Importance = (UCHAR)Importance;
}

struct flush_marker {
    struct cn_work fm_work;
    KEVENT fm_done;
};

static void flush_marker_run(struct cn_work *w)
{
    struct flush_marker *m = CONTAINING_RECORD(w, struct flush_marker, fm_work);
    KeSetEvent(&m->fm_done, 0, FALSE);
}

/* Each processor runs its DPCs in order, so a marker queued behind them on
 * every processor has run only after all of them. */
void KeFlushQueuedDpcs(void)
{
    CN_IRQL_CHECK_PASSIVE("KeFlushQueuedDpcs");
    if (cn_os_cpu_self() >= 0)
        return; /* waiting for its own processor's queue would never end */
    unsigned n = cn_cpu_count();
    for (unsigned i = 0; i < n; i++) {
        struct flush_marker m;
        m.fm_work.w_fn = flush_marker_run;
        KeInitializeEvent(&m.fm_done, NotificationEvent, FALSE);
        cn_work_queue_dpc(&m.fm_work, i);
        KeWaitForSingleObject(&m.fm_done, Executive, KernelMode, FALSE, NULL);
    }
}

/* ---- processors ------------------------------------------------------------- */

ULONG KeGetCurrentProcessorNumber(void)
{
    int self = cn_os_cpu_self();
    return self >= 0 ? (ULONG)self : 0;
}

ULONG KeGetCurrentProcessorIndex(void)
{
    return KeGetCurrentProcessorNumber();
}

ULONG KeGetCurrentProcessorNumberEx(PPROCESSOR_NUMBER ProcNumber)
{
    ULONG n = KeGetCurrentProcessorNumber();
    if (ProcNumber != NULL) {
        ProcNumber->Group = 0;
        ProcNumber->Number = (UCHAR)n;
        ProcNumber->Reserved = 0;
    }
    return n;
}

ULONG KeQueryActiveProcessorCount(PKAFFINITY ActiveProcessors)
{
    unsigned n = cn_cpu_count();
    if (ActiveProcessors != NULL)
        *ActiveProcessors = n >= 64 ? ~(KAFFINITY)0 : ((KAFFINITY)1 << n) - 1;
    return n;
}

ULONG KeQueryActiveProcessorCountEx(USHORT GroupNumber)
{
    return (GroupNumber == 0 || GroupNumber == ALL_PROCESSOR_GROUPS) ? cn_cpu_count() : 0;
}

ULONG KeQueryMaximumProcessorCount(void)
{
    return cn_cpu_count();
}

CCHAR NdisSystemProcessorCount(void)
{
    return (CCHAR)cn_cpu_count();
}

ULONG NdisGroupActiveProcessorCount(USHORT Group)
{
    return KeQueryActiveProcessorCountEx(Group);
}

ULONG NdisGroupMaxProcessorCount(USHORT Group)
{
    return KeQueryActiveProcessorCountEx(Group);
}
