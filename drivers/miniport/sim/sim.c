/*
 * sim.c - "sim", condis' built-in simulated NIC: a CoNDIS miniport call
 * manager (MCM) for NdisMediumCoWan that transmits into nothing.
 *
 * sim presents one adapter per instance and registers one address family
 * (CO_ADDRESS_FAMILY_PPP 1.0). A client opens it, creates a VC and makes a
 * call; sim accepts a point-to-point call that sends and receives and
 * carries no call-manager- or media-specific data, and it honours two
 * fields of the call's Transmit flow spec:
 *   MaxSduSize     an NBL with more data completes with
 *                  NDIS_STATUS_INVALID_LENGTH (0: no limit);
 *   PeakBandwidth  bytes per second; the VC's NBLs do not leave the TX queue
 *                  faster than that (0 or QOS_NOT_SPECIFIED: no limit).
 * It never indicates a receive: it is a sink, and the interest is entirely
 * in how it completes sends, which its parameters choose.
 *
 * It is written only against <ndis.h>, like any third-party driver; its
 * sibling "loop" is the example to read first. What every built-in MCM does
 * the same way (handlers of operations sim does not offer, OID answers,
 * adapter attributes, parameter reading, the call-parameter check) is in
 * ../common/mcmlib.c.
 *
 * ---- The model --------------------------------------------------------------------
 *
 *   MiniportCoSendNetBufferLists -> the VC's software queue (never refused,
 *        | round-robin over the VCs      unbounded, FIFO)
 *        v
 *   the TX queue: SimQueue NBLs at most, for the whole adapter ("on the wire")
 *        |
 *        v
 *   leaves at its departure time -> completed
 *
 * An NBL enters the TX queue when there is room, its VC's turn has come,
 * and its VC's token bucket holds enough bytes for it. It leaves the TX
 * queue at the earliest SimLatencyUs after it was accepted, and no VC's NBLs
 * leave faster than the VC's PeakBandwidth: each VC has a token bucket
 * (one millisecond deep) that the bytes of each NBL drain, so NBLs of a
 * shaped VC wait in the software queue, not in the TX queue, and do not hold
 * up other VCs. An NBL that entered the queue leaves it at the next pass of
 * the scheduler at the earliest, so SimQueue also bounds how many NBLs
 * complete per pass.
 *
 * By default an NBL completes once it has left the TX queue ("after
 * transmission"). With SimEarlyComplete it completes as it enters it, like a
 * NIC that copies frames into its own memory; it then enters the queue only
 * once its latency has passed (sim never completes an NBL earlier than
 * SimLatencyUs), but without waiting for its VC's tokens: it waits for them
 * in the TX queue, where it holds a slot, so a shaped VC's completions come
 * at once until the TX queue is full and then at the VC's rate.
 *
 * ---- Parameters (NdisReadConfiguration; decimal or 0x-hex; an invalid value is
 * reported with DbgPrint and the default kept) ------------------------------------
 *
 *   SimQueue=N         TX queue depth, 1..65536 (default 256).
 *   SimDpcThreads=N    completion contexts, 1..number of processors (default 1):
 *                      each has a DPC targeted at its own processor, and each
 *                      VC belongs to one of them (in turn, as VCs are created).
 *   SimInline=1        the scheduler runs inside MiniportCoSendNetBufferLists,
 *                      at the caller's IRQL, and completes what it can there;
 *                      what has to wait (latency, shaping, a full TX queue, or
 *                      another thread already running the scheduler of that
 *                      context) completes from the context's DPC. A chain
 *                      with nothing ahead of it skips the scheduler's passes
 *                      (see SimExpressLane).
 *   SimReorder=N       the NBLs of a VC complete in a pseudo-random order
 *                      within windows of N consecutive NBLs (N <= 1: in order).
 *                      A window completes once all its NBLs are ready, or
 *                      with what it has when the VC has nothing else queued.
 *   SimBatch=N         at most N NBLs per NdisMCoSendNetBufferListsComplete
 *                      (default 0: everything ready for that VC). Batches mix
 *                      NBLs of different sends and split chains as they fall.
 *                      One call carries the NBLs of one VC.
 *   SimFailEvery=N     every Nth NBL accepted by the adapter completes with
 *   SimFailStatus=S    status S (default NDIS_STATUS_FAILURE) (default N 0: never).
 *   SimLatencyUs=N     each NBL completes no earlier than N us after sim
 *                      accepted it (default 0).
 *   SimEarlyComplete=1 complete as NBLs enter the TX queue (see above).
 *   SimSeed=N          seed of the reorder generator (default 1). Each VC draws
 *                      from its own generator, seeded with SimSeed and the VC's
 *                      number on the adapter, so its completion order depends
 *                      only on its own NBLs.
 *   SimBug=N           test-only: break a rule of RULES.md on purpose, so that
 *   SimBugEvery=K      the verifier has a miniport to catch (default 0: never;
 *                      K default 100). The K-th, 2K-th, ... NBL the adapter
 *                      accepts is "chosen" and, when its completion comes:
 *                      1 is completed twice (OWN-5); 2 is dropped and never
 *                      completed (OWN-6); 3 is completed with
 *                      NDIS_STATUS_PENDING (NBL-3); 4 has its NET_BUFFER
 *                      list changed (OWN-7); 5 is completed on another VC's
 *                      handle (OWN-5); 6 is written to after its completion
 *                      (OWN-4); 7 is completed with the DISPATCH_LEVEL flag
 *                      below DISPATCH_LEVEL (IRQL-1). 8 (RESOURCES) is
 *                      NDIS 5.x only. See "planted bugs" below.
 *
 * ---- Ownership of a sent NBL (rules of RULES.md) ------------------------------------
 *
 *   MiniportCoSendNetBufferLists   sim owns it (OWN-4) until it passes it to
 *                                  NdisMCoSendNetBufferListsComplete, exactly
 *                                  once; NET_BUFFER_LIST_STATUS is set on
 *                                  acceptance and not changed after.
 *   While sim owns it              MiniportReserved[0] links it in sim's
 *                                  queues, MiniportReserved[1] holds a time:
 *                                  when it was accepted, then when it leaves
 *                                  the TX queue.
 *   A refused send (the adapter is not running, or the VC has no active
 *   call) is completed inside the send call, at the caller's IRQL.
 *
 * ---- Concurrency --------------------------------------------------------------------
 *
 * Each completion context has one spin lock: it guards the queues and the
 * state of the context's VCs. One thread at a time runs a context's
 * scheduler (Servicing); another that finds it running asks it for one more
 * pass (Again) and leaves, so completions of a VC come from one thread in
 * order. The adapter-wide numbers (TX queue occupancy, sends outstanding,
 * the fail counter, the adapter state) are interlocked. The adapter's own
 * lock guards only the lists of address families and VCs, on the control
 * path. No lock is held across a call into NDIS, and nothing is allocated
 * per send: a send costs a few stores per NBL and one lock acquisition per
 * chain, and a pass of the scheduler moves whole batches.
 *
 * ---- Planted bugs (SimBug) -----------------------------------------------------------
 *
 * With SimBug=0 the send and completion paths above are all there is: each
 * asks once (per chain, per VC of a pass) whether a bug is on. With a bug on,
 * sends go through SimBugCoSend and completions through SimBugAdd instead.
 * While sim holds an NBL, its Scratch (the current owner's field) then says
 * so: the adapter's address with SIM_BUG_HELD, plus SIM_BUG_CHOSEN for the
 * NBLs that get the bug. Scratch is cleared before each completion.
 *
 * The bugs that act after a completion (1 double, 6 touch) only hit an NBL
 * that the protocol has not already sent to sim again from its completion
 * handler: after that the NBL is sim's once more, a second completion would
 * complete the new send (no violation, and sim's queues would hold the NBL
 * twice), and a store into it would land in sim's own fields. Such a chosen
 * NBL is counted as missed. A protocol can still get an NBL back from a
 * planted double completion while another thread of it is sending it again;
 * an NBL that reaches sim while sim still holds it is then not queued again
 * (the completion sim still owes covers that send). The store of SimBug=6
 * goes into MiniportReserved[1], which holds only a time: should it land in
 * an NBL sim holds again, it only makes that NBL due at once.
 */
#define NDIS60_MINIPORT 1
#include <ndis.h>

#include "../common/mcmlib.h"

/* ---- constants ------------------------------------------------------------- */

#define SIM_TAG_ADAPTER MCMLIB_TAG('S', 'm', 'A', 'd')
#define SIM_TAG_CONTEXT MCMLIB_TAG('S', 'm', 'C', 'x')
#define SIM_TAG_AF MCMLIB_TAG('S', 'm', 'A', 'f')
#define SIM_TAG_VC MCMLIB_TAG('S', 'm', 'V', 'c')
#define SIM_TAG_TIMER MCMLIB_TAG('S', 'm', 'T', 'm')

#define SIM_MTU 65535UL
#define SIM_LINK_SPEED 10000000000ULL /* bits per second, reported only */

#define SIM_QUEUE_DEFAULT 256
#define SIM_QUEUE_MAX 65536
#define SIM_REORDER_MAX 4096

/* Times are in 100 ns units (KeQueryInterruptTime). */
#define SIM_TICKS_PER_SECOND 10000000ULL
#define SIM_TICKS_PER_US 10ULL
/* Depth of a VC's token bucket, as time at its peak rate: how far a VC may
 * run ahead of its rate after a pause. */
#define SIM_BUCKET_TICKS 10000ULL

/* Work one run of the scheduler does before it leaves the rest to a fresh
 * DPC, so that a busy context neither starves its processor's other DPCs
 * nor keeps an inline sender forever. */
#define SIM_BUDGET_MIN 4096UL

#define SIM_DRIVER_MAJOR_VERSION 1
#define SIM_DRIVER_MINOR_VERSION 0

/* SimBug values. */
typedef enum _SIM_BUG {
    SimBugNone = 0,
    SimBugDouble = 1,     /* completed twice */
    SimBugNever = 2,      /* never completed */
    SimBugPending = 3,    /* completed with NDIS_STATUS_PENDING */
    SimBugNbList = 4,     /* NET_BUFFER list changed before completion */
    SimBugWrongVc = 5,    /* completed on another VC's handle */
    SimBugTouch = 6,      /* written to after completion */
    SimBugIrql = 7,       /* DISPATCH_LEVEL flag below DISPATCH_LEVEL */
    SimBugResources = 8,  /* NDIS 5.x only: not planted by sim */
} SIM_BUG;
#define SIM_BUG_MAX SimBugResources
#define SIM_BUG_EVERY_DEFAULT 100

/* Scratch of an NBL sim holds while a bug is on: the adapter's address
 * (16-byte aligned memory) with these bits. */
#define SIM_BUG_HELD ((ULONG_PTR)1)
#define SIM_BUG_CHOSEN ((ULONG_PTR)2)
#define SIM_BUG_MARK_BITS ((ULONG_PTR)3)
/* What SimBug=6 stores after the completion: odd, so never a pointer and
 * never a time sim left there. */
#define SIM_BUG_TOUCH_MARK ((PVOID)(ULONG_PTR)0x51DEBADUL)
/* What SimBug=5 completes on when the adapter has no other VC. */
#define SIM_BUG_FAKE_VC ((NDIS_HANDLE)(ULONG_PTR)0x1234)

/* ---- state ------------------------------------------------------------------- */

typedef enum _SIM_ADAPTER_STATE {
    SimAdapterPaused,   /* after MiniportInitializeEx and a finished pause */
    SimAdapterRunning,  /* after MiniportRestart: sends are accepted */
    SimAdapterPausing,  /* MiniportPause returned PENDING: everything drains */
} SIM_ADAPTER_STATE;

typedef enum _SIM_VC_STATE {
    SimVcIdle,          /* no call on the VC */
    SimVcActive,        /* call made and VC activated: sends are accepted */
    SimVcClosing,       /* CmCloseCall returned PENDING: the VC drains */
} SIM_VC_STATE;

typedef struct _SIM_ADAPTER SIM_ADAPTER, *PSIM_ADAPTER;
typedef struct _SIM_CONTEXT SIM_CONTEXT, *PSIM_CONTEXT;
typedef struct _SIM_AF SIM_AF, *PSIM_AF;
typedef struct _SIM_VC SIM_VC, *PSIM_VC;

/* A FIFO of NBLs linked through MiniportReserved[0]. */
typedef struct _SIM_QUEUE {
    PNET_BUFFER_LIST Head;
    PNET_BUFFER_LIST Tail;
    ULONG Count;
} SIM_QUEUE;

/*
 * A completion context: one DPC on one processor, its timer, and the
 * scheduler state of the VCs that belong to it. Allocated with the adapter.
 */
struct _SIM_CONTEXT {
    PSIM_ADAPTER Adapter;
    KDPC Dpc;
    NDIS_HANDLE Timer;          /* queues Dpc when the next NBL is due */
    /* Owned by the thread that runs the scheduler (Servicing). */
    ULONG64 TimerDue;           /* when Timer was set to fire; 0: not set */
    PNET_BUFFER_LIST *Window;   /* SimReorder entries, for the shuffle */
    /* Set when the TX queue was full for this context: whoever frees a
     * slot queues its DPC. Interlocked. */
    volatile LONG RingBlocked;

    NDIS_SPIN_LOCK Lock;
    /* ---- everything below is guarded by Lock ---- */
    BOOLEAN Servicing;          /* a thread runs the scheduler */
    BOOLEAN Again;              /* ... and must make another pass */
    /* VCs with NBLs in their software queue, in round-robin order; with
     * NBLs on the wire (SimEarlyComplete 0); with NBLs ready to complete.
     * A VC is on each list exactly while the matching queue is not empty. */
    LIST_ENTRY WaitList;
    LIST_ENTRY WireList;
    LIST_ENTRY DoneList;
    ULONG Waiting;              /* NBLs in the software queues of its VCs */
    /* SimEarlyComplete: departure times of the NBLs it completed that are
     * still in the TX queue (a binary min-heap of SimQueue entries). */
    ULONG64 *Heap;
    ULONG HeapCount;
    ULONG64 Accepted, Completed, Failed;
    ULONG MaxTxQueue;           /* the most NBLs seen in the TX queue */
    /* SimBug: bugs planted, and chosen NBLs the bug could not hit (see
     * "Planted bugs" at the top). */
    ULONG64 BugPlanted, BugMissed;
    /* SimBug=7: NBLs the work item completes, linked through
     * MiniportReserved[0], their VC in MiniportReserved[1]. */
    PNET_BUFFER_LIST BugDeferred;
    BOOLEAN BugQueued;          /* BugWorkItem is queued and has not taken them */
    /* ---- end of what Lock guards ---- */
    NDIS_HANDLE BugWorkItem;    /* SimBug=7 only; freed with the adapter */
};

/* One per adapter: the MiniportAdapterContext and CallMgrBindingContext. */
struct _SIM_ADAPTER {
    NDIS_HANDLE MiniportAdapterHandle;

    /* The parameters; constant after MiniportInitializeEx. */
    ULONG QueueDepth;
    ULONG DpcThreads;
    BOOLEAN Inline;
    BOOLEAN EarlyComplete;
    ULONG Reorder;              /* <= 1: in order */
    ULONG Batch;                /* 0: no limit */
    ULONG FailEvery;            /* 0: never */
    NDIS_STATUS FailStatus;
    ULONG64 Latency;            /* 100 ns units */
    ULONG Seed;
    ULONG Bug;                  /* SIM_BUG; SimBugNone: the normal paths only */
    ULONG BugEvery;             /* every BugEvery-th accepted NBL gets the bug */
    ULONG Budget;               /* NBLs per run of the scheduler */
    CO_ADDRESS_FAMILY AddressFamily;

    PSIM_CONTEXT Contexts;      /* DpcThreads of them */

    /* Interlocked. */
    volatile LONG State;        /* SIM_ADAPTER_STATE */
    volatile LONG Outstanding;  /* sends accepted (or being refused), not yet done */
    volatile LONG MaxOutstanding;
    volatile LONG TxQueueUsed;  /* slots of the TX queue taken, by every context */
    volatile LONG64 FailCounter; /* NBLs accepted, for SimFailEvery */
    volatile LONG64 BugCounter; /* NBLs accepted, for SimBugEvery */
    volatile LONG NextVcNumber;
    volatile LONG Busy;         /* threads inside the scheduler (halt waits) */
    volatile LONG Shaped;       /* a call with a PeakBandwidth was made: passes
                                   need the time even with SimLatencyUs=0 */

    NDIS_EVENT NotifyCloseDone; /* CmNotifyCloseAfComplete came */

    NDIS_SPIN_LOCK Lock;        /* guards AfList and each AF's VcList */
    LIST_ENTRY AfList;
};

/* One per open of the address family: the CallMgrAfContext. */
struct _SIM_AF {
    LIST_ENTRY Link;            /* SIM_ADAPTER.AfList (adapter Lock) */
    PSIM_ADAPTER Adapter;
    NDIS_HANDLE NdisAfHandle;
    LIST_ENTRY VcList;          /* SIM_VC.AfLink (adapter Lock) */
    BOOLEAN NotifySent;         /* halt asked the client to close it (adapter Lock) */
    BOOLEAN NotifyPending;      /* ... and has no answer yet (adapter Lock) */
    BOOLEAN Closed;             /* CmCloseAf ran while NotifyPending (adapter Lock) */
};

/*
 * One per VC: the context CmCreateVc returns, which NDIS also passes to
 * MiniportCoSendNetBufferLists. Allocated in CmCreateVc, freed in CmDeleteVc.
 */
struct _SIM_VC {
    LIST_ENTRY AfLink;          /* SIM_AF.VcList (adapter Lock) */
    PSIM_AF Af;
    PSIM_ADAPTER Adapter;
    PSIM_CONTEXT Ctx;
    NDIS_HANDLE NdisVcHandle;
    ULONG Number;               /* order of creation on the adapter */

    /* From the call; written while the VC is idle, read while active. */
    ULONG MaxSduSize;           /* 0: no limit */
    ULONG PeakBandwidth;        /* bytes per second; 0: no limit */

    /* Ctx->Lock */
    SIM_VC_STATE State;
    ULONG Pending;              /* accepted, not yet completed */
    SIM_QUEUE Wait;             /* the software queue */
    SIM_QUEUE Wire;             /* in the TX queue, leaving in this order */
    SIM_QUEUE Done;             /* ready to complete */
    LIST_ENTRY WaitLink, WireLink, DoneLink;
    ULONG64 Tat;                /* token bucket: when the bucket is full again */

    /* Owned by the thread that runs the scheduler. */
    ULONG64 Rng;                /* reorder generator */
    PSIM_VC WorkNext;           /* this pass's completions ... */
    PNET_BUFFER_LIST WorkHead;
    ULONG WorkCount;
    PSIM_VC CloseNext;          /* ... and closes it finishes */
};

static NDIS_HANDLE SimDriverHandle;

/* ---- handler declarations, with the WDK's role types ------------------------- */

DRIVER_INITIALIZE SimDriverEntry;   /* named by condis' table of built-in drivers */

static MINIPORT_SET_OPTIONS SimSetOptions;
static MINIPORT_INITIALIZE SimInitializeEx;
static MINIPORT_HALT SimHaltEx;
static MINIPORT_UNLOAD SimDriverUnload;
static MINIPORT_PAUSE SimPause;
static MINIPORT_RESTART SimRestart;
static MINIPORT_OID_REQUEST SimOidRequest;

static MINIPORT_CO_ACTIVATE_VC SimCoActivateVc;
static MINIPORT_CO_SEND_NET_BUFFER_LISTS SimCoSendNetBufferLists;
static MINIPORT_CO_OID_REQUEST SimCoOidRequest;

static PROTOCOL_CO_CREATE_VC SimCmCreateVc;
static PROTOCOL_CO_DELETE_VC SimCmDeleteVc;
static PROTOCOL_CM_OPEN_AF SimCmOpenAf;
static PROTOCOL_CM_CLOSE_AF SimCmCloseAf;
static PROTOCOL_CM_MAKE_CALL SimCmMakeCall;
static PROTOCOL_CM_CLOSE_CALL SimCmCloseCall;
static PROTOCOL_CM_NOTIFY_CLOSE_AF_COMPLETE SimCmNotifyCloseAfComplete;

static KDEFERRED_ROUTINE SimDpc;
static NDIS_TIMER_FUNCTION SimTimer;

/* ---- small helpers ------------------------------------------------------------- */

/* A lone read of a variable that is changed with Interlocked* routines.
 * The WDK has ReadNoFence / ReadAcquire for this; condis' <ndis.h> does not
 * (yet), so the compiler's atomic load stands in (the Interlocked* routines
 * of <ndis.h> are built on the same). */
static inline LONG SimRead(volatile LONG *Value)
{
    return __atomic_load_n(Value, __ATOMIC_SEQ_CST);
}

static inline ULONG64 SimNow(VOID)
{
    return KeQueryInterruptTime();
}

/* The time a pass of the scheduler works with. Without latency and without
 * shaped VCs nothing waits for time: every time sim keeps is then 0 and
 * every NBL is due at once, so the clock is not read at all (a clock read
 * per pass was 7% of an inline send of chains of 32, 26% of chains of 1). */
static inline ULONG64 SimPassNow(PSIM_ADAPTER Adapter)
{
    return Adapter->Latency != 0 || SimRead(&Adapter->Shaped) != 0 ? SimNow() : 0;
}

static inline PNET_BUFFER_LIST SimNext(PNET_BUFFER_LIST Nbl)
{
    return (PNET_BUFFER_LIST)NET_BUFFER_LIST_MINIPORT_RESERVED(Nbl)[0];
}

static inline VOID SimSetNext(PNET_BUFFER_LIST Nbl, PNET_BUFFER_LIST Next)
{
    NET_BUFFER_LIST_MINIPORT_RESERVED(Nbl)[0] = Next;
}

/* A time kept in an NBL: a pointer's worth of it. Read back relative to
 * Now, so that it is right also where a pointer has 32 bits (within
 * minutes of Now). */
static inline VOID SimSetTime(PNET_BUFFER_LIST Nbl, ULONG64 Time)
{
    NET_BUFFER_LIST_MINIPORT_RESERVED(Nbl)[1] = (PVOID)(ULONG_PTR)Time;
}

static inline ULONG64 SimTimeOf(PNET_BUFFER_LIST Nbl, ULONG64 Now)
{
    ULONG_PTR t = (ULONG_PTR)NET_BUFFER_LIST_MINIPORT_RESERVED(Nbl)[1];
    return Now + (ULONG64)(LONG64)(LONG_PTR)(t - (ULONG_PTR)Now);
}

static inline VOID SimQueueAppend(SIM_QUEUE *Queue, PNET_BUFFER_LIST Head, PNET_BUFFER_LIST Tail,
                                  ULONG Count)
{
    if (Queue->Tail != NULL)
        SimSetNext(Queue->Tail, Head);
    else
        Queue->Head = Head;
    Queue->Tail = Tail;
    Queue->Count += Count;
}

static inline PNET_BUFFER_LIST SimQueuePop(SIM_QUEUE *Queue)
{
    PNET_BUFFER_LIST nbl = Queue->Head;
    Queue->Head = SimNext(nbl);
    if (Queue->Head == NULL)
        Queue->Tail = NULL;
    Queue->Count--;
    SimSetNext(nbl, NULL);
    return nbl;
}

/* Put a VC on one of its context's lists unless it is on it. */
static inline VOID SimListAdd(PLIST_ENTRY List, PLIST_ENTRY Link)
{
    if (IsListEmpty(Link))
        InsertTailList(List, Link);
}

static inline VOID SimListRemove(PLIST_ENTRY Link)
{
    RemoveEntryList(Link);
    InitializeListHead(Link);
}

/* The reorder generator: splitmix64. */
static ULONG64 SimRandom(ULONG64 *State)
{
    ULONG64 z = (*State += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static inline VOID SimNoteMax(volatile LONG *Max, LONG Value)
{
    LONG seen = SimRead(Max);
    while (Value > seen) {
        LONG prev = InterlockedCompareExchange(Max, Value, seen);
        if (prev == seen)
            break;
        seen = prev;
    }
}

/* ---- the early-completion heap (Ctx->Lock) ----------------------------------------- */

static VOID SimHeapPush(PSIM_CONTEXT Ctx, ULONG64 Time)
{
    ULONG64 *h = Ctx->Heap;
    ULONG i = Ctx->HeapCount++;
    while (i > 0 && h[(i - 1) / 2] > Time) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = Time;
}

static VOID SimHeapPop(PSIM_CONTEXT Ctx)
{
    ULONG64 *h = Ctx->Heap;
    ULONG n = --Ctx->HeapCount;
    ULONG64 last = h[n];
    ULONG i = 0;
    for (;;) {
        ULONG c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && h[c + 1] < h[c])
            c++;
        if (last <= h[c])
            break;
        h[i] = h[c];
        i = c;
    }
    if (n != 0)
        h[i] = last;
}

/* ---- completion ------------------------------------------------------------------- */

/*
 * Sends of the adapter are done (completed, or refused): finish a pause
 * that waited for the last of them. Any IRQL <= DISPATCH_LEVEL. Once the
 * pause completes the adapter may be halted: this is the caller's last
 * touch of it.
 */
static VOID SimSendsDone(PSIM_ADAPTER Adapter, ULONG Count)
{
    NDIS_HANDLE handle = Adapter->MiniportAdapterHandle;
    if (InterlockedExchangeAdd(&Adapter->Outstanding, -(LONG)Count) == (LONG)Count &&
        SimRead(&Adapter->State) == SimAdapterPausing &&
        InterlockedCompareExchange(&Adapter->State, SimAdapterPaused, SimAdapterPausing) ==
            SimAdapterPausing)
        NdisMPauseComplete(handle);
}

/* A completion call being filled: NBLs of one VC, linked through
 * NET_BUFFER_LIST_NEXT_NBL as NDIS wants them. */
typedef struct _SIM_BATCH {
    PSIM_VC Vc;
    ULONG Limit;                /* 0: none */
    ULONG Flags;
    PNET_BUFFER_LIST Head, Tail;
    ULONG Count;
    ULONG Failed;               /* over every call of this batch */
    /* SimBug only, over every call of this batch: */
    ULONG Dropped;              /* forgotten, not completed (SimBug=2) */
    ULONG Deferred;             /* handed to the work item (SimBug=7) */
    ULONG Planted, Missed;
} SIM_BATCH;

static VOID SimBatchFlush(SIM_BATCH *Batch)
{
    if (Batch->Count == 0)
        return;
    NdisMCoSendNetBufferListsComplete(Batch->Vc->NdisVcHandle, Batch->Head, Batch->Flags);
    Batch->Head = Batch->Tail = NULL;
    Batch->Count = 0;
}

/* Add an NBL; the call goes out when it is full. The NBL may be gone on
 * return. */
static VOID SimBatchAdd(SIM_BATCH *Batch, PNET_BUFFER_LIST Nbl)
{
    NET_BUFFER_LIST_NEXT_NBL(Nbl) = NULL;
    if (NET_BUFFER_LIST_STATUS(Nbl) != NDIS_STATUS_SUCCESS)
        Batch->Failed++;
    if (Batch->Tail != NULL)
        NET_BUFFER_LIST_NEXT_NBL(Batch->Tail) = Nbl;
    else
        Batch->Head = Nbl;
    Batch->Tail = Nbl;
    if (++Batch->Count == Batch->Limit)
        SimBatchFlush(Batch);
}

/* ---- planted bugs: the completion side (SimBug != 0 only) -------------------------- */

static NDIS_IO_WORKITEM_FUNCTION SimBugWorkItem;

/* Whether sim holds Nbl (again): its Scratch carries this adapter's mark.
 * Only reads the NBL, which may be the protocol's. Any IRQL <= DISPATCH_LEVEL. */
static inline BOOLEAN SimBugHeld(PSIM_ADAPTER Adapter, PNET_BUFFER_LIST Nbl)
{
    ULONG_PTR mark = (ULONG_PTR)__atomic_load_n(&Nbl->Scratch, __ATOMIC_ACQUIRE);
    return (mark & SIM_BUG_HELD) != 0 && (mark & ~SIM_BUG_MARK_BITS) == (ULONG_PTR)Adapter;
}

/* SimBug=4: reverse the NET_BUFFER list, or empty it when it has one
 * NET_BUFFER. sim owns the NBL. FALSE: it has none, nothing to change. */
static BOOLEAN SimBugChangeNbList(PNET_BUFFER_LIST Nbl)
{
    PNET_BUFFER nb = NET_BUFFER_LIST_FIRST_NB(Nbl);
    if (nb == NULL)
        return FALSE;
    if (NET_BUFFER_NEXT_NB(nb) == NULL) {
        NET_BUFFER_LIST_FIRST_NB(Nbl) = NULL;
        return TRUE;
    }
    PNET_BUFFER reversed = NULL;
    while (nb != NULL) {
        PNET_BUFFER next = NET_BUFFER_NEXT_NB(nb);
        NET_BUFFER_NEXT_NB(nb) = reversed;
        reversed = nb;
        nb = next;
    }
    NET_BUFFER_LIST_FIRST_NB(Nbl) = reversed;
    return TRUE;
}

/* SimBug=5: the NdisVcHandle of another VC of the adapter, or a made-up
 * handle when there is none. The VC may be deleted as soon as the lock is
 * dropped; its handle is only passed on, never used by sim. */
static NDIS_HANDLE SimBugOtherVc(PSIM_VC Vc)
{
    PSIM_ADAPTER adapter = Vc->Adapter;
    NDIS_HANDLE other = SIM_BUG_FAKE_VC;
    BOOLEAN dpr = McmLibLock(&adapter->Lock);
    for (PLIST_ENTRY a = adapter->AfList.Flink; a != &adapter->AfList && other == SIM_BUG_FAKE_VC;
         a = a->Flink) {
        PSIM_AF af = CONTAINING_RECORD(a, SIM_AF, Link);
        for (PLIST_ENTRY v = af->VcList.Flink; v != &af->VcList; v = v->Flink) {
            PSIM_VC x = CONTAINING_RECORD(v, SIM_VC, AfLink);
            if (x != Vc && x->NdisVcHandle != Vc->NdisVcHandle) {
                other = x->NdisVcHandle;
                break;
            }
        }
    }
    McmLibUnlock(&adapter->Lock, dpr);
    return other;
}

/* SimBug=7 at DISPATCH_LEVEL: give a chosen NBL to the context's work
 * item, which completes it at PASSIVE_LEVEL. It stays sim's (and counted
 * as pending) until then. */
static VOID SimBugDefer(PSIM_VC Vc, PNET_BUFFER_LIST Nbl)
{
    PSIM_CONTEXT ctx = Vc->Ctx;
    NET_BUFFER_LIST_MINIPORT_RESERVED(Nbl)[1] = Vc;
    BOOLEAN dpr = McmLibLock(&ctx->Lock);
    SimSetNext(Nbl, ctx->BugDeferred);
    ctx->BugDeferred = Nbl;
    BOOLEAN queue = !ctx->BugQueued;
    ctx->BugQueued = TRUE;
    McmLibUnlock(&ctx->Lock, dpr);
    if (queue)
        NdisQueueIoWorkItem(ctx->BugWorkItem, SimBugWorkItem, ctx);
}

/*
 * SimBugAdd replaces SimBatchAdd while a bug is on: the NBL is no longer
 * marked as sim's, and a chosen one gets the bug. Called by the thread
 * that runs the scheduler, without the lock, at its IRQL. sim owns Nbl on
 * entry; on return the protocol does (or nobody: SimBug=2 forgets it; or
 * the work item: SimBug=7 at DISPATCH_LEVEL).
 */
static VOID SimBugAdd(SIM_BATCH *Batch, PNET_BUFFER_LIST Nbl)
{
    PSIM_VC vc = Batch->Vc;
    PSIM_ADAPTER adapter = vc->Adapter;
    ULONG_PTR mark = (ULONG_PTR)Nbl->Scratch;
    /* From here a send of this NBL is a new one (SimBugCoSend). */
    __atomic_store_n(&Nbl->Scratch, NULL, __ATOMIC_RELEASE);
    if (!(mark & SIM_BUG_CHOSEN)) {
        SimBatchAdd(Batch, Nbl);
        return;
    }

    switch (adapter->Bug) {
    case SimBugNever:
        /* Off sim's books as if completed, but nobody gets it back. */
        Batch->Dropped++;
        Batch->Planted++;
        return;
    case SimBugPending:
        NET_BUFFER_LIST_STATUS(Nbl) = NDIS_STATUS_PENDING;
        Batch->Planted++;
        SimBatchAdd(Batch, Nbl);
        return;
    case SimBugNbList:
        if (SimBugChangeNbList(Nbl))
            Batch->Planted++;
        else
            Batch->Missed++;
        SimBatchAdd(Batch, Nbl);
        return;
    default:
        break;
    }

    /* The rest need a completion call of the NBL's own. */
    SimBatchFlush(Batch);
    NET_BUFFER_LIST_NEXT_NBL(Nbl) = NULL;
    NDIS_HANDLE handle = vc->NdisVcHandle;
    BOOLEAN failed = NET_BUFFER_LIST_STATUS(Nbl) != NDIS_STATUS_SUCCESS;
    if (adapter->Bug == SimBugIrql && KeGetCurrentIrql() == DISPATCH_LEVEL) {
        /* The flag would be true here: say it from PASSIVE_LEVEL instead. */
        SimBugDefer(vc, Nbl);
        Batch->Deferred++;
        return;
    }
    if (failed)
        Batch->Failed++;
    switch (adapter->Bug) {
    case SimBugDouble:
        NdisMCoSendNetBufferListsComplete(handle, Nbl, Batch->Flags);
        /* Sent to sim again from the completion handler: it is a new send
         * now, not a completed one (see "Planted bugs" at the top). */
        if (SimBugHeld(adapter, Nbl)) {
            Batch->Missed++;
            return;
        }
        NdisMCoSendNetBufferListsComplete(handle, Nbl, Batch->Flags);
        Batch->Planted++;
        return;
    case SimBugWrongVc:
        NdisMCoSendNetBufferListsComplete(SimBugOtherVc(vc), Nbl, Batch->Flags);
        Batch->Planted++;
        return;
    case SimBugTouch:
        NdisMCoSendNetBufferListsComplete(handle, Nbl, Batch->Flags);
        if (SimBugHeld(adapter, Nbl)) {
            Batch->Missed++;
            return;
        }
        /* The bug: the NBL is not sim's any more. Its memory stays mapped
         * while its pool lives, which outlives the completion. */
        NET_BUFFER_LIST_MINIPORT_RESERVED(Nbl)[1] = SIM_BUG_TOUCH_MARK;
        Batch->Planted++;
        return;
    case SimBugIrql:
        /* Below DISPATCH_LEVEL (SimInline from a PASSIVE_LEVEL sender). */
        NdisMCoSendNetBufferListsComplete(handle, Nbl,
                                          Batch->Flags | NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL);
        Batch->Planted++;
        return;
    default:
        /* Not reached: SimReadConfiguration keeps only the bugs above. */
        NdisMCoSendNetBufferListsComplete(handle, Nbl, Batch->Flags);
        return;
    }
}

/*
 * SimBug=7: the context's work item, PASSIVE_LEVEL. Completes each NBL
 * SimBugDefer gave it, one per call, flagged NDIS_SEND_COMPLETE_FLAGS_
 * DISPATCH_LEVEL (the planted lie), then does for them what
 * SimCompleteWork does: counts them, finishes a close that waited for
 * them and, last, the pause.
 */
static VOID SimBugWorkItem(PVOID WorkItemContext, NDIS_HANDLE NdisIoWorkItemHandle)
{
    PSIM_CONTEXT ctx = (PSIM_CONTEXT)WorkItemContext;
    PSIM_ADAPTER adapter = ctx->Adapter;
    UNREFERENCED_PARAMETER(NdisIoWorkItemHandle);

    /* The NBLs still on the list keep the adapter from pausing, so it is
     * alive here; Busy keeps the halt waiting until this returns. */
    InterlockedIncrement(&adapter->Busy);
    BOOLEAN dpr = McmLibLock(&ctx->Lock);
    PNET_BUFFER_LIST list = ctx->BugDeferred;
    ctx->BugDeferred = NULL;
    ctx->BugQueued = FALSE;
    McmLibUnlock(&ctx->Lock, dpr);

    ULONG done = 0;
    while (list != NULL) {
        PNET_BUFFER_LIST nbl = list;
        list = SimNext(nbl);
        PSIM_VC vc = (PSIM_VC)NET_BUFFER_LIST_MINIPORT_RESERVED(nbl)[1];
        NDIS_HANDLE vcHandle = vc->NdisVcHandle;
        BOOLEAN failed = NET_BUFFER_LIST_STATUS(nbl) != NDIS_STATUS_SUCCESS;
        NET_BUFFER_LIST_NEXT_NBL(nbl) = NULL;
        NdisMCoSendNetBufferListsComplete(vcHandle, nbl, NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL);

        BOOLEAN close = FALSE;
        dpr = McmLibLock(&ctx->Lock);
        ctx->Completed++;
        if (failed)
            ctx->Failed++;
        ctx->BugPlanted++;
        if (--vc->Pending == 0 && vc->State == SimVcClosing) {
            vc->State = SimVcIdle;
            close = TRUE;
        }
        McmLibUnlock(&ctx->Lock, dpr);
        if (close) {
            NdisMCmDeactivateVc(vcHandle);
            NdisMCmCloseCallComplete(NDIS_STATUS_SUCCESS, vcHandle, NULL);
        }
        done++;
    }
    if (done != 0)
        SimSendsDone(adapter, done);
    InterlockedDecrement(&adapter->Busy); /* the last touch of the adapter */
}

/*
 * Complete the NBLs a pass took off one VC's Done queue (Vc->WorkHead),
 * in order or shuffled by SimReorder, in batches. Bug is a constant at each
 * call, so the normal path is compiled without the planted bugs.
 */
static FORCEINLINE VOID SimCompleteVc(PSIM_CONTEXT Ctx, PSIM_VC Vc, SIM_BATCH *Batch,
                                      const BOOLEAN Bug)
{
    PSIM_ADAPTER adapter = Ctx->Adapter;
    PNET_BUFFER_LIST nbl = Vc->WorkHead;
    ULONG left = Vc->WorkCount;
    if (adapter->Reorder <= 1) {
        while (nbl != NULL) {
            PNET_BUFFER_LIST next = SimNext(nbl);
            if (Bug)
                SimBugAdd(Batch, nbl);
            else
                SimBatchAdd(Batch, nbl);
            nbl = next;
        }
    } else {
        /* Each window goes out in a random order of its own (Fisher-Yates). */
        while (left != 0) {
            ULONG w = left < adapter->Reorder ? left : adapter->Reorder;
            for (ULONG i = 0; i < w; i++) {
                Ctx->Window[i] = nbl;
                nbl = SimNext(nbl);
            }
            for (ULONG i = w - 1; i > 0; i--) {
                ULONG j = (ULONG)(SimRandom(&Vc->Rng) % (i + 1));
                PNET_BUFFER_LIST t = Ctx->Window[i];
                Ctx->Window[i] = Ctx->Window[j];
                Ctx->Window[j] = t;
            }
            for (ULONG i = 0; i < w; i++) {
                if (Bug)
                    SimBugAdd(Batch, Ctx->Window[i]);
                else
                    SimBatchAdd(Batch, Ctx->Window[i]);
            }
            left -= w;
        }
    }
    SimBatchFlush(Batch);
}

/*
 * Complete what a pass of the scheduler took off the VCs' Done queues
 * (Work, linked through WorkNext), then count it, finish the closes and the
 * pause that waited for it. Called by the thread that runs the scheduler,
 * without the lock, at its IRQL (DISPATCH_LEVEL from the DPC; the sender's
 * with SimInline). Returns how many NBLs left sim's hands (completed, or
 * forgotten by SimBug=2; not those SimBug=7 handed to its work item).
 */
static ULONG SimCompleteWork(PSIM_CONTEXT Ctx, PSIM_VC Work)
{
    PSIM_ADAPTER adapter = Ctx->Adapter;
    ULONG flags = McmLibSendCompleteFlags();
    ULONG total = 0, failed = 0, dropped = 0, planted = 0, missed = 0;

    for (PSIM_VC vc = Work; vc != NULL; vc = vc->WorkNext) {
        SIM_BATCH batch = { vc, adapter->Batch, flags, NULL, NULL, 0, 0, 0, 0, 0, 0 };
        if (adapter->Bug == SimBugNone) {
            SimCompleteVc(Ctx, vc, &batch, FALSE);
        } else {
            SimCompleteVc(Ctx, vc, &batch, TRUE);
            /* Those the work item completes are still sim's: it counts them. */
            vc->WorkCount -= batch.Deferred;
            dropped += batch.Dropped;
            planted += batch.Planted;
            missed += batch.Missed;
        }
        total += vc->WorkCount;
        failed += batch.Failed;
    }

    /* Only now, with the protocol holding its NBLs again, are they done:
     * a close or a pause must not finish before. */
    PSIM_VC closed = NULL;
    BOOLEAN dpr = McmLibLock(&Ctx->Lock);
    Ctx->Completed += total - dropped;
    Ctx->Failed += failed;
    Ctx->BugPlanted += planted;
    Ctx->BugMissed += missed;
    for (PSIM_VC vc = Work; vc != NULL; vc = vc->WorkNext) {
        vc->Pending -= vc->WorkCount;
        if (vc->State == SimVcClosing && vc->Pending == 0) {
            vc->State = SimVcIdle;
            vc->CloseNext = closed;
            closed = vc;
        }
    }
    McmLibUnlock(&Ctx->Lock, dpr);

    while (closed != NULL) {
        PSIM_VC next = closed->CloseNext;
        NDIS_HANDLE vcHandle = closed->NdisVcHandle;
        /* The client may delete the VC as soon as its close completes. */
        NdisMCmDeactivateVc(vcHandle);
        NdisMCmCloseCallComplete(NDIS_STATUS_SUCCESS, vcHandle, NULL);
        closed = next;
    }
    /* The closes first: once the pause completes the adapter may go. */
    SimSendsDone(adapter, total);
    return total;
}

/* ---- the scheduler -------------------------------------------------------------------- */

typedef struct _SIM_PASS {
    ULONG64 Now;
    ULONG64 NextDue;            /* the earliest time something waits for; 0: none */
    BOOLEAN Progress;           /* something moved: make another pass */
    LONG Released;              /* TX queue slots freed by NBLs that left */
    BOOLEAN Wake;               /* slots were given back: other contexts may go on */
    PSIM_VC Work;               /* VCs with NBLs to complete */
} SIM_PASS;

static inline VOID SimDue(SIM_PASS *Pass, ULONG64 Time)
{
    if (Pass->NextDue == 0 || Time < Pass->NextDue)
        Pass->NextDue = Time;
}

/* Take up to Want free slots of the TX queue; how many it got. */
static LONG SimTakeSlots(PSIM_ADAPTER Adapter, ULONG Want)
{
    LONG used = SimRead(&Adapter->TxQueueUsed);
    for (;;) {
        LONG room = (LONG)Adapter->QueueDepth - used;
        if (room <= 0)
            return 0;
        LONG take = Want < (ULONG)room ? (LONG)Want : room;
        LONG seen = InterlockedCompareExchange(&Adapter->TxQueueUsed, used + take, used);
        if (seen == used)
            return take;
        used = seen;
    }
}

/* Move a VC's NBLs, all of them, straight to its Done queue: its call is
 * closing or the adapter is pausing, and nothing waits for time. */
static VOID SimFlushVc(PSIM_CONTEXT Ctx, PSIM_VC Vc, SIM_PASS *Pass)
{
    if (Vc->Wire.Count != 0) {
        Pass->Released += (LONG)Vc->Wire.Count;
        SimQueueAppend(&Vc->Done, Vc->Wire.Head, Vc->Wire.Tail, Vc->Wire.Count);
        Vc->Wire.Head = Vc->Wire.Tail = NULL;
        Vc->Wire.Count = 0;
        SimListRemove(&Vc->WireLink);
    }
    if (Vc->Wait.Count != 0) {
        Ctx->Waiting -= Vc->Wait.Count;
        SimQueueAppend(&Vc->Done, Vc->Wait.Head, Vc->Wait.Tail, Vc->Wait.Count);
        Vc->Wait.Head = Vc->Wait.Tail = NULL;
        Vc->Wait.Count = 0;
        SimListRemove(&Vc->WaitLink);
    }
    if (Vc->Done.Count != 0)
        SimListAdd(&Ctx->DoneList, &Vc->DoneLink);
    Pass->Progress = TRUE;
}

/*
 * Let the head NBL of a VC's software queue into the TX queue, if its time
 * has come; returns FALSE (and notes when it will have) if not. The caller
 * has a slot for it. Ctx->Lock held.
 */
static BOOLEAN SimAdmitOne(PSIM_CONTEXT Ctx, PSIM_VC Vc, SIM_PASS *Pass, BOOLEAN *NeedSlot,
                           LONG *Slots)
{
    PSIM_ADAPTER adapter = Ctx->Adapter;
    PNET_BUFFER_LIST nbl = Vc->Wait.Head;
    ULONG64 now = Pass->Now;
    ULONG64 ready = adapter->Latency != 0 ? SimTimeOf(nbl, now) + adapter->Latency : 0;

    if (adapter->EarlyComplete) {
        /* It completes as it enters: not before its latency has passed. */
        if (ready > now) {
            SimDue(Pass, ready);
            return FALSE;
        }
    } else if (Vc->PeakBandwidth != 0 && Vc->Tat > now + SIM_BUCKET_TICKS) {
        /* Not enough tokens yet: wait here, not in the TX queue. */
        SimDue(Pass, Vc->Tat - SIM_BUCKET_TICKS);
        return FALSE;
    }
    if (*Slots == 0) {
        *NeedSlot = TRUE;
        return FALSE;
    }
    (*Slots)--;

    /* When it leaves the TX queue: after its latency, and (early mode) when
     * its VC's bucket holds its bytes. */
    ULONG64 leave = now;
    if (!adapter->EarlyComplete && ready > leave)
        leave = ready;
    if (Vc->PeakBandwidth != 0) {
        if (Vc->Tat > leave + SIM_BUCKET_TICKS)
            leave = Vc->Tat - SIM_BUCKET_TICKS;
        /* An NBL sim fails for its length is not transmitted. */
        ULONG64 bytes = NET_BUFFER_LIST_STATUS(nbl) == NDIS_STATUS_INVALID_LENGTH
                            ? 0
                            : McmLibNblDataLength(nbl);
        Vc->Tat = (Vc->Tat > leave ? Vc->Tat : leave) +
                  bytes * SIM_TICKS_PER_SECOND / Vc->PeakBandwidth;
    }

    SimQueuePop(&Vc->Wait);
    Ctx->Waiting--;
    if (adapter->EarlyComplete) {
        SimHeapPush(Ctx, leave);
        SimQueueAppend(&Vc->Done, nbl, nbl, 1);
        SimListAdd(&Ctx->DoneList, &Vc->DoneLink);
    } else {
        SimSetTime(nbl, leave);
        SimQueueAppend(&Vc->Wire, nbl, nbl, 1);
        SimListAdd(&Ctx->WireList, &Vc->WireLink);
    }
    return TRUE;
}

/* Whether Vc's NBLs take no time on the wire: no latency, no shaping, not
 * completed early. Each then leaves the TX queue at the pass after the one
 * that let it in, in order, so the scheduler moves them in runs. */
static inline BOOLEAN SimUntimed(const SIM_ADAPTER *Adapter, const SIM_VC *Vc)
{
    return Adapter->Latency == 0 && !Adapter->EarlyComplete && Vc->PeakBandwidth == 0;
}

/* An untimed VC's first Max waiting NBLs (at most) into the TX queue at
 * once, as SimAdmitOne would let them in one by one; how many. */
static ULONG SimAdmitRun(PSIM_CONTEXT Ctx, PSIM_VC Vc, ULONG Max, ULONG64 Now)
{
    ULONG k = Vc->Wait.Count < Max ? Vc->Wait.Count : Max;
    PNET_BUFFER_LIST first = Vc->Wait.Head, last = first;
    SimSetTime(first, Now);
    for (ULONG i = 1; i < k; i++) {
        last = SimNext(last);
        SimSetTime(last, Now);
    }
    Vc->Wait.Head = SimNext(last);
    if (Vc->Wait.Head == NULL)
        Vc->Wait.Tail = NULL;
    Vc->Wait.Count -= k;
    SimSetNext(last, NULL);
    Ctx->Waiting -= k;
    SimQueueAppend(&Vc->Wire, first, last, k);
    SimListAdd(&Ctx->WireList, &Vc->WireLink);
    return k;
}

/*
 * One pass of the scheduler over a context, Ctx->Lock held: free the TX
 * queue slots of NBLs that left it, let waiting NBLs in (round-robin over
 * the VCs, one NBL per VC per turn), and take off what is ready to
 * complete. Fills Pass.
 */
static VOID SimSchedule(PSIM_CONTEXT Ctx, SIM_PASS *Pass)
{
    PSIM_ADAPTER adapter = Ctx->Adapter;
    ULONG64 now = Pass->Now;
    /* Pausing (or paused): everything drains at once, nothing waits. */
    BOOLEAN drain = SimRead(&adapter->State) != SimAdapterRunning;

    /* 1. What has left the TX queue. */
    if (adapter->EarlyComplete) {
        while (Ctx->HeapCount != 0 && (drain || Ctx->Heap[0] <= now)) {
            SimHeapPop(Ctx);
            Pass->Released++;
        }
        if (Ctx->HeapCount != 0)
            SimDue(Pass, Ctx->Heap[0]);
    }
    for (PLIST_ENTRY e = Ctx->WireList.Flink, next; e != &Ctx->WireList; e = next) {
        next = e->Flink;
        PSIM_VC vc = CONTAINING_RECORD(e, SIM_VC, WireLink);
        if (drain || vc->State == SimVcClosing) {
            SimFlushVc(Ctx, vc, Pass);
            continue;
        }
        if (SimUntimed(adapter, vc) && vc->Wire.Head != NULL) {
            /* All of it left: it entered at an earlier pass. */
            Pass->Released += (LONG)vc->Wire.Count;
            SimQueueAppend(&vc->Done, vc->Wire.Head, vc->Wire.Tail, vc->Wire.Count);
            vc->Wire.Head = vc->Wire.Tail = NULL;
            vc->Wire.Count = 0;
        }
        while (vc->Wire.Head != NULL && SimTimeOf(vc->Wire.Head, now) <= now) {
            PNET_BUFFER_LIST nbl = SimQueuePop(&vc->Wire);
            SimQueueAppend(&vc->Done, nbl, nbl, 1);
            Pass->Released++;
        }
        if (vc->Done.Count != 0)
            SimListAdd(&Ctx->DoneList, &vc->DoneLink);
        if (vc->Wire.Head != NULL)
            SimDue(Pass, SimTimeOf(vc->Wire.Head, now));
        else
            SimListRemove(&vc->WireLink);
    }
    LONG released = Pass->Released;
    if (released != 0) {
        InterlockedExchangeAdd(&adapter->TxQueueUsed, -released);
        Pass->Progress = Pass->Wake = TRUE;
    }

    /* 2. Into the TX queue. A VC alone in the list takes all it can in its
     * turn; VCs that must wait for time sit out this pass. */
    LIST_ENTRY sitting;
    InitializeListHead(&sitting);
    LONG slots = 0, taken = 0;
    BOOLEAN full = FALSE;
    while (!IsListEmpty(&Ctx->WaitList)) {
        PLIST_ENTRY e = Ctx->WaitList.Flink;
        PSIM_VC vc = CONTAINING_RECORD(e, SIM_VC, WaitLink);
        if (drain || vc->State == SimVcClosing) {
            SimFlushVc(Ctx, vc, Pass);
            continue;
        }
        BOOLEAN alone = e->Flink == &Ctx->WaitList;
        for (;;) {
            if (slots == 0 && !full) {
                slots = SimTakeSlots(adapter, Ctx->Waiting);
                taken += slots;
                full = slots == 0;
            }
            if (alone && slots > 0 && SimUntimed(adapter, vc)) {
                /* Alone, it takes all it can in its turn anyway. */
                slots -= (LONG)SimAdmitRun(Ctx, vc, (ULONG)slots, now);
                Pass->Progress = TRUE;
                if (vc->Wait.Head == NULL) {
                    SimListRemove(&vc->WaitLink);
                    break;
                }
                continue;
            }
            BOOLEAN needSlot = FALSE;
            if (!SimAdmitOne(Ctx, vc, Pass, &needSlot, &slots)) {
                if (!needSlot) {
                    SimListRemove(&vc->WaitLink);
                    InsertTailList(&sitting, &vc->WaitLink);
                }
                break;
            }
            Pass->Progress = TRUE;
            if (vc->Wait.Head == NULL) {
                SimListRemove(&vc->WaitLink);
                break;
            }
            if (!alone) {
                /* Its turn is over: to the back of the line. */
                RemoveEntryList(&vc->WaitLink);
                InsertTailList(&Ctx->WaitList, &vc->WaitLink);
                break;
            }
        }
        if (full)
            break;
    }
    /* Those that sat out go first next time, in their order. */
    while (!IsListEmpty(&sitting))
        InsertHeadList(&Ctx->WaitList, RemoveTailList(&sitting));
    /* Slots taken and not used go back (flushes in this step free none). */
    if (Pass->Released != released) {
        InterlockedExchangeAdd(&adapter->TxQueueUsed, released - Pass->Released);
        Pass->Wake = TRUE;
    }
    if (slots != 0)
        Pass->Wake = TRUE;
    LONG used = slots != 0 ? InterlockedExchangeAdd(&adapter->TxQueueUsed, -slots) - slots
                           : SimRead(&adapter->TxQueueUsed);
    if (taken != 0 && (ULONG)used > Ctx->MaxTxQueue)
        Ctx->MaxTxQueue = (ULONG)used;
    if (full) {
        /* Another context may free a slot at any time: say so before
         * looking again, so that either it sees the flag or we see the slot. */
        InterlockedExchange(&Ctx->RingBlocked, 1);
        if (SimRead(&adapter->TxQueueUsed) < (LONG)adapter->QueueDepth) {
            InterlockedExchange(&Ctx->RingBlocked, 0);
            Pass->Progress = TRUE;
        }
    }

    /* 3. What is ready to complete. With SimReorder only whole windows go,
     * unless nothing else of the VC is coming soon. */
    PSIM_VC *workTail = &Pass->Work;
    for (PLIST_ENTRY e = Ctx->DoneList.Flink, next; e != &Ctx->DoneList; e = next) {
        next = e->Flink;
        PSIM_VC vc = CONTAINING_RECORD(e, SIM_VC, DoneLink);
        ULONG take = vc->Done.Count;
        if (adapter->Reorder > 1 && !drain && vc->State != SimVcClosing &&
            (vc->Wait.Count != 0 || vc->Wire.Count != 0))
            take -= take % adapter->Reorder;
        if (take == 0)
            continue;
        vc->WorkHead = vc->Done.Head;
        vc->WorkCount = take;
        if (take == vc->Done.Count) {
            vc->Done.Head = vc->Done.Tail = NULL;
            vc->Done.Count = 0;
            SimListRemove(&vc->DoneLink);
        } else {
            PNET_BUFFER_LIST last = vc->Done.Head;
            for (ULONG i = 1; i < take; i++)
                last = SimNext(last);
            vc->Done.Head = SimNext(last);
            vc->Done.Count -= take;
            SimSetNext(last, NULL);
        }
        vc->WorkNext = NULL;
        *workTail = vc;
        workTail = &vc->WorkNext;
        Pass->Progress = TRUE;
    }
}

/* Queue the DPC of every other context that waits for a TX queue slot. */
static VOID SimWakeBlocked(PSIM_ADAPTER Adapter, PSIM_CONTEXT Self)
{
    for (ULONG i = 0; i < Adapter->DpcThreads; i++) {
        PSIM_CONTEXT ctx = &Adapter->Contexts[i];
        if (ctx != Self && SimRead(&ctx->RingBlocked) != 0 &&
            InterlockedExchange(&ctx->RingBlocked, 0) != 0)
            KeInsertQueueDpc(&ctx->Dpc, NULL, NULL);
    }
}

/* Set the context's timer for Due unless it is set for earlier. Only the
 * thread that runs the scheduler calls this. */
static VOID SimArmTimer(PSIM_CONTEXT Ctx, ULONG64 Now, ULONG64 Due)
{
    if (Ctx->TimerDue != 0 && Ctx->TimerDue > Now && Ctx->TimerDue <= Due)
        return;
    LARGE_INTEGER dueTime;
    dueTime.QuadPart = -(LONGLONG)(Due > Now ? Due - Now : 1);
    Ctx->TimerDue = Due;
    NdisSetTimerObject(Ctx->Timer, dueTime, 0, NULL);
}

/*
 * Run a context's scheduler until nothing is left to do now, then set its
 * timer for what waits for time. From the DPC (DISPATCH_LEVEL) or, with
 * SimInline, from MiniportCoSendNetBufferLists at the sender's IRQL. If
 * another thread runs it already, that one makes another pass instead.
 */
static VOID SimService(PSIM_CONTEXT Ctx)
{
    PSIM_ADAPTER adapter = Ctx->Adapter;
    BOOLEAN requeue = FALSE;
    ULONG done = 0;

    InterlockedIncrement(&adapter->Busy);
    BOOLEAN dpr = McmLibLock(&Ctx->Lock);
    if (Ctx->Servicing) {
        Ctx->Again = TRUE;
        McmLibUnlock(&Ctx->Lock, dpr);
        InterlockedDecrement(&adapter->Busy);
        return;
    }
    Ctx->Servicing = TRUE;
    for (;;) {
        SIM_PASS pass = { SimPassNow(adapter), 0, FALSE, 0, FALSE, NULL };
        Ctx->Again = FALSE;
        SimSchedule(Ctx, &pass);
        McmLibUnlock(&Ctx->Lock, dpr);

        if (pass.Wake && adapter->DpcThreads > 1)
            SimWakeBlocked(adapter, Ctx);
        if (pass.Work != NULL)
            done += SimCompleteWork(Ctx, pass.Work);
        if (!pass.Progress && pass.NextDue != 0)
            SimArmTimer(Ctx, pass.Now, pass.NextDue);

        dpr = McmLibLock(&Ctx->Lock);
        if (!pass.Progress && !Ctx->Again)
            break;
        if (done >= adapter->Budget) {
            requeue = TRUE;
            break;
        }
    }
    Ctx->Servicing = FALSE;
    McmLibUnlock(&Ctx->Lock, dpr);
    if (requeue)
        KeInsertQueueDpc(&Ctx->Dpc, NULL, NULL);
    InterlockedDecrement(&adapter->Busy); /* the last touch of the adapter */
}

/* The context's DPC: DISPATCH_LEVEL, on the context's processor. */
static VOID SimDpc(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1, PVOID SystemArgument2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);
    SimService((PSIM_CONTEXT)DeferredContext);
}

/* The context's timer: DISPATCH_LEVEL on NDIS' timer thread. The work
 * belongs on the context's processor. */
static VOID SimTimer(PVOID SystemSpecific1, PVOID FunctionContext, PVOID SystemSpecific2,
                     PVOID SystemSpecific3)
{
    UNREFERENCED_PARAMETER(SystemSpecific1);
    UNREFERENCED_PARAMETER(SystemSpecific2);
    UNREFERENCED_PARAMETER(SystemSpecific3);
    KeInsertQueueDpc(&((PSIM_CONTEXT)FunctionContext)->Dpc, NULL, NULL);
}

/* ---- MiniportCoSendNetBufferLists ------------------------------------------------------ */

/*
 * The express lane of SimInline. A chain that finds its context idle (no
 * scheduler running, nothing queued, on the wire or ready), nothing timed
 * (no latency, its VC not shaped), the NBLs in order (no SimReorder, no
 * SimBatch limit), and room in the TX queue for all of it would enter the TX
 * queue at this pass and leave it at the next: with nothing in between, sim
 * completes it at once instead of making both passes. The result is the
 * same, NBL for NBL, and the counts are the same; only the two passes over
 * sim's queues are saved. Ctx->Lock held, the chain already counted in
 * Accepted and Pending; on TRUE the caller runs SimExpress after unlocking,
 * as the thread that runs the scheduler.
 */
static BOOLEAN SimExpressLane(PSIM_CONTEXT Ctx, PSIM_VC Vc, ULONG Count)
{
    PSIM_ADAPTER adapter = Ctx->Adapter;
    if (Ctx->Servicing || Ctx->Waiting != 0 || !IsListEmpty(&Ctx->WireList) ||
        !IsListEmpty(&Ctx->DoneList) || adapter->Latency != 0 || adapter->EarlyComplete ||
        Vc->PeakBandwidth != 0 || adapter->Reorder > 1 || adapter->Batch != 0)
        return FALSE;
    LONG got = SimTakeSlots(adapter, Count);
    if ((ULONG)got != Count) {
        if (got != 0)
            InterlockedExchangeAdd(&adapter->TxQueueUsed, -got);
        return FALSE;
    }
    LONG used = SimRead(&adapter->TxQueueUsed);
    if ((ULONG)used > Ctx->MaxTxQueue)
        Ctx->MaxTxQueue = (ULONG)used;
    Ctx->Servicing = TRUE;
    return TRUE;
}

/* The rest of the express lane, without the lock: the chain (linked
 * through SimNext) leaves the TX queue and completes; then whatever other
 * threads queued meanwhile gets the scheduler. */
static VOID SimExpress(PSIM_CONTEXT Ctx, PSIM_VC Vc, PNET_BUFFER_LIST Chain, ULONG Count)
{
    PSIM_ADAPTER adapter = Ctx->Adapter;
    InterlockedIncrement(&adapter->Busy);
    InterlockedExchangeAdd(&adapter->TxQueueUsed, -(LONG)Count);
    if (adapter->DpcThreads > 1)
        SimWakeBlocked(adapter, Ctx);
    Vc->WorkHead = Chain;
    Vc->WorkCount = Count;
    Vc->WorkNext = NULL;
    SimCompleteWork(Ctx, Vc);
    BOOLEAN dpr = McmLibLock(&Ctx->Lock);
    Ctx->Servicing = FALSE;
    BOOLEAN again = Ctx->Again;
    McmLibUnlock(&Ctx->Lock, dpr);
    if (again)
        SimService(Ctx);
    InterlockedDecrement(&adapter->Busy); /* the last touch of the adapter */
}

/*
 * MiniportCoSendNetBufferLists while a bug is on (SimCoSendNetBufferLists
 * calls it; same IRQL, ownership and refusals). Besides what the normal
 * path does, it marks each NBL it accepts as held in Scratch, and every
 * SimBugEvery-th as chosen, all under the context's lock. An NBL sim
 * still holds is not queued a second time: only a protocol that got it
 * back from a planted double completion can send it, and the completion
 * sim owes covers this send as well.
 */
static VOID SimBugCoSend(PSIM_VC Vc, PNET_BUFFER_LIST NetBufferLists)
{
    PSIM_ADAPTER adapter = Vc->Adapter;
    PSIM_CONTEXT ctx = Vc->Ctx;
    ULONG64 now = adapter->Latency != 0 ? SimNow() : 0;
    ULONG total = 0, count = 0;
    for (PNET_BUFFER_LIST nbl = NetBufferLists; nbl != NULL; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl))
        total++;
    if (total == 0)
        return;

    SimNoteMax(&adapter->MaxOutstanding,
               InterlockedExchangeAdd(&adapter->Outstanding, (LONG)total) + (LONG)total);
    NDIS_STATUS refuse = NDIS_STATUS_SUCCESS;
    BOOLEAN service = FALSE, kick = FALSE;
    if (SimRead(&adapter->State) != SimAdapterRunning) {
        refuse = NDIS_STATUS_PAUSED;
    } else {
        BOOLEAN dpr = McmLibLock(&ctx->Lock);
        if (Vc->State != SimVcActive) {
            refuse = Vc->State == SimVcClosing ? NDIS_STATUS_CLOSING : NDIS_STATUS_VC_NOT_ACTIVATED;
        } else {
            /* Link what is new through sim's own field; the chain's own
             * links stay as NDIS made them. */
            PNET_BUFFER_LIST head = NULL, last = NULL;
            for (PNET_BUFFER_LIST nbl = NetBufferLists; nbl != NULL;
                 nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
                if (SimBugHeld(adapter, nbl))
                    continue;
                if (last != NULL)
                    SimSetNext(last, nbl);
                else
                    head = nbl;
                last = nbl;
                count++;
            }
            if (count != 0) {
                SimSetNext(last, NULL);
                ULONG64 n = (ULONG64)InterlockedExchangeAdd64(&adapter->BugCounter, count);
                ULONG64 f = adapter->FailEvery != 0
                                ? (ULONG64)InterlockedExchangeAdd64(&adapter->FailCounter, count)
                                : 0;
                for (PNET_BUFFER_LIST nbl = head; nbl != NULL; nbl = SimNext(nbl)) {
                    NDIS_STATUS status =
                        Vc->MaxSduSize != 0 && McmLibNblDataLength(nbl) > Vc->MaxSduSize
                            ? NDIS_STATUS_INVALID_LENGTH
                            : NDIS_STATUS_SUCCESS;
                    if (adapter->FailEvery != 0 && ++f % adapter->FailEvery == 0 &&
                        status == NDIS_STATUS_SUCCESS)
                        status = adapter->FailStatus;
                    NET_BUFFER_LIST_STATUS(nbl) = status;
                    SimSetTime(nbl, now);
                    ULONG_PTR mark = (ULONG_PTR)adapter | SIM_BUG_HELD;
                    if (++n % adapter->BugEvery == 0)
                        mark |= SIM_BUG_CHOSEN;
                    __atomic_store_n(&nbl->Scratch, (PVOID)mark, __ATOMIC_RELEASE);
                }
                BOOLEAN wasEmpty = Vc->Wait.Count == 0;
                SimQueueAppend(&Vc->Wait, head, last, count);
                SimListAdd(&ctx->WaitList, &Vc->WaitLink);
                ctx->Waiting += count;
                ctx->Accepted += count;
                Vc->Pending += count;
                if (ctx->Servicing)
                    ctx->Again = TRUE;
                else if (adapter->Inline)
                    service = TRUE;
                else
                    kick = wasEmpty;
            }
        }
        McmLibUnlock(&ctx->Lock, dpr);
    }

    if (refuse != NDIS_STATUS_SUCCESS) {
        McmLibRefuseSends(Vc->NdisVcHandle, NetBufferLists, refuse);
        SimSendsDone(adapter, total);
        return;
    }
    /* Held ones are not outstanding twice. With count != 0 this cannot
     * finish a pause: what was accepted is still outstanding. */
    if (count != total)
        SimSendsDone(adapter, total - count);
    if (service)
        SimService(ctx);
    else if (kick)
        KeInsertQueueDpc(&ctx->Dpc, NULL, NULL);
}

/*
 * Sends on a VC. IRQL <= DISPATCH_LEVEL. On entry sim owns every NBL of the
 * chain; each comes back exactly once through
 * NdisMCoSendNetBufferListsComplete: at once (at this IRQL) when the adapter
 * or the VC takes no sends, else as the model at the top of the file says.
 * SendFlags is not needed: sim asks KeGetCurrentIrql() itself.
 */
static VOID SimCoSendNetBufferLists(NDIS_HANDLE MiniportVcContext, PNET_BUFFER_LIST NetBufferLists,
                                    ULONG SendFlags)
{
    PSIM_VC vc = (PSIM_VC)MiniportVcContext;
    PSIM_ADAPTER adapter = vc->Adapter;
    PSIM_CONTEXT ctx = vc->Ctx;
    UNREFERENCED_PARAMETER(SendFlags);

    if (adapter->Bug != SimBugNone) {
        SimBugCoSend(vc, NetBufferLists);
        return;
    }

    /* Link the chain through sim's own field; the status is final from here. */
    ULONG64 now = adapter->Latency != 0 ? SimNow() : 0;
    PNET_BUFFER_LIST last = NULL;
    ULONG count = 0;
    for (PNET_BUFFER_LIST nbl = NetBufferLists; nbl != NULL; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
        SimSetNext(nbl, NET_BUFFER_LIST_NEXT_NBL(nbl));
        SimSetTime(nbl, now);
        NET_BUFFER_LIST_STATUS(nbl) =
            vc->MaxSduSize != 0 && McmLibNblDataLength(nbl) > vc->MaxSduSize
                ? NDIS_STATUS_INVALID_LENGTH
                : NDIS_STATUS_SUCCESS;
        last = nbl;
        count++;
    }
    if (count == 0)
        return;

    /* Counted before the state is read, so that a pause either sees these
     * or is seen (SimPause). */
    SimNoteMax(&adapter->MaxOutstanding,
               InterlockedExchangeAdd(&adapter->Outstanding, (LONG)count) + (LONG)count);
    NDIS_STATUS refuse = NDIS_STATUS_SUCCESS;
    BOOLEAN service = FALSE, kick = FALSE, express = FALSE;
    if (SimRead(&adapter->State) != SimAdapterRunning) {
        refuse = NDIS_STATUS_PAUSED;
    } else {
        BOOLEAN dpr = McmLibLock(&ctx->Lock);
        if (vc->State != SimVcActive) {
            refuse = vc->State == SimVcClosing ? NDIS_STATUS_CLOSING : NDIS_STATUS_VC_NOT_ACTIVATED;
        } else {
            if (adapter->FailEvery != 0) {
                ULONG64 n = (ULONG64)InterlockedExchangeAdd64(&adapter->FailCounter, count);
                for (PNET_BUFFER_LIST nbl = NetBufferLists; nbl != NULL; nbl = SimNext(nbl))
                    if (++n % adapter->FailEvery == 0 &&
                        NET_BUFFER_LIST_STATUS(nbl) == NDIS_STATUS_SUCCESS)
                        NET_BUFFER_LIST_STATUS(nbl) = adapter->FailStatus;
            }
            ctx->Accepted += count;
            vc->Pending += count;
            if (adapter->Inline && SimExpressLane(ctx, vc, count)) {
                express = TRUE;
            } else {
                BOOLEAN wasEmpty = vc->Wait.Count == 0;
                SimQueueAppend(&vc->Wait, NetBufferLists, last, count);
                SimListAdd(&ctx->WaitList, &vc->WaitLink);
                ctx->Waiting += count;
                if (ctx->Servicing)
                    ctx->Again = TRUE;
                else if (adapter->Inline)
                    service = TRUE;
                else
                    /* Behind other waiting NBLs these cannot move before
                     * them, and whatever holds those up will run the
                     * scheduler. */
                    kick = wasEmpty;
            }
        }
        McmLibUnlock(&ctx->Lock, dpr);
    }

    if (refuse != NDIS_STATUS_SUCCESS) {
        McmLibRefuseSends(vc->NdisVcHandle, NetBufferLists, refuse);
        SimSendsDone(adapter, count);
    } else if (express) {
        SimExpress(ctx, vc, NetBufferLists, count);
    } else if (service) {
        SimService(ctx);
    } else if (kick) {
        KeInsertQueueDpc(&ctx->Dpc, NULL, NULL); /* FALSE: queued already, fine */
    }
}

/* ---- calls ------------------------------------------------------------------------------ */

/*
 * CmMakeCall: IRQL <= DISPATCH_LEVEL. sim has no far end, so it answers at
 * once: activated and SUCCESS, or a failure. It accepts the calls
 * McmLibCheckCallParameters accepts (point-to-point, sending and receiving,
 * no call-manager- or media-specific data). The parameters are the
 * client's; sim keeps copies of the two flow-spec fields it honours.
 */
static NDIS_STATUS SimCmMakeCall(NDIS_HANDLE CallMgrVcContext, PCO_CALL_PARAMETERS CallParameters,
                                 NDIS_HANDLE NdisPartyHandle, PNDIS_HANDLE CallMgrPartyContext)
{
    PSIM_VC vc = (PSIM_VC)CallMgrVcContext;
    PSIM_CONTEXT ctx = vc->Ctx;
    if (CallMgrPartyContext != NULL)
        *CallMgrPartyContext = NULL;
    if (NdisPartyHandle != NULL)
        return NDIS_STATUS_NOT_SUPPORTED;
    MCMLIB_CALL_LIMITS limits;
    NDIS_STATUS status = McmLibCheckCallParameters(CallParameters, &limits);
    if (status != NDIS_STATUS_SUCCESS)
        return status;

    BOOLEAN dpr = McmLibLock(&ctx->Lock);
    if (vc->State != SimVcIdle) {
        McmLibUnlock(&ctx->Lock, dpr);
        return NDIS_STATUS_CALL_ACTIVE;
    }
    vc->MaxSduSize = limits.MaxSduSize;
    vc->PeakBandwidth = limits.PeakBandwidth;
    vc->Tat = 0;
    if (limits.PeakBandwidth != 0 && SimRead(&vc->Adapter->Shaped) == 0)
        InterlockedExchange(&vc->Adapter->Shaped, 1);
    /* Each call starts its VC's reorder sequence afresh. */
    vc->Rng = ((ULONG64)vc->Adapter->Seed << 32) ^ vc->Number;
    vc->State = SimVcActive;
    McmLibUnlock(&ctx->Lock, dpr);

    status = NdisMCmActivateVc(vc->NdisVcHandle, CallParameters);
    if (status != NDIS_STATUS_SUCCESS) {
        dpr = McmLibLock(&ctx->Lock);
        vc->State = SimVcIdle;
        McmLibUnlock(&ctx->Lock, dpr);
    }
    return status;
}

/*
 * CmCloseCall: IRQL <= DISPATCH_LEVEL. No new sends from here on. With
 * nothing outstanding the VC is deactivated and the close is done; else
 * everything of the VC completes at once, without waiting for time, and
 * whoever completes the last NBL deactivates the VC and completes the
 * close (SimCompleteWork): PENDING.
 */
static NDIS_STATUS SimCmCloseCall(NDIS_HANDLE CallMgrVcContext, NDIS_HANDLE CallMgrPartyContext,
                                  PVOID CloseData, UINT Size)
{
    PSIM_VC vc = (PSIM_VC)CallMgrVcContext;
    PSIM_CONTEXT ctx = vc->Ctx;
    NDIS_STATUS status;
    UNREFERENCED_PARAMETER(CallMgrPartyContext);
    UNREFERENCED_PARAMETER(CloseData);
    UNREFERENCED_PARAMETER(Size);

    BOOLEAN dpr = McmLibLock(&ctx->Lock);
    if (vc->State == SimVcClosing) {
        status = NDIS_STATUS_CLOSING;
    } else if (vc->State != SimVcActive) {
        status = NDIS_STATUS_FAILURE;
    } else if (vc->Pending != 0) {
        /* The DPC queued below drains the VC, a partial reorder window
         * included. */
        vc->State = SimVcClosing;
        status = NDIS_STATUS_PENDING;
    } else {
        vc->State = SimVcIdle;
        status = NDIS_STATUS_SUCCESS;
    }
    McmLibUnlock(&ctx->Lock, dpr);

    if (status == NDIS_STATUS_SUCCESS)
        NdisMCmDeactivateVc(vc->NdisVcHandle);
    else if (status == NDIS_STATUS_PENDING)
        KeInsertQueueDpc(&ctx->Dpc, NULL, NULL);
    return status;
}

/*
 * MiniportCoActivateVc: IRQL <= DISPATCH_LEVEL. NDIS does not call this
 * for an MCM, which activates its VCs itself; it answers what activation
 * would mean to sim (deactivation, McmLibCoDeactivateVc, means nothing).
 */
static NDIS_STATUS SimCoActivateVc(NDIS_HANDLE MiniportVcContext, PCO_CALL_PARAMETERS CallParameters)
{
    MCMLIB_CALL_LIMITS limits;
    UNREFERENCED_PARAMETER(MiniportVcContext);
    return McmLibCheckCallParameters(CallParameters, &limits);
}

/* ---- VCs ---------------------------------------------------------------------------------- */

/*
 * CmCreateVc: IRQL <= DISPATCH_LEVEL; cannot pend. The VC belongs to the
 * next completion context in turn.
 */
static NDIS_STATUS SimCmCreateVc(NDIS_HANDLE ProtocolAfContext, NDIS_HANDLE NdisVcHandle,
                                 PNDIS_HANDLE ProtocolVcContext)
{
    PSIM_AF af = (PSIM_AF)ProtocolAfContext;
    PSIM_ADAPTER adapter = af->Adapter;
    PSIM_VC vc = McmLibAllocateZeroed(adapter->MiniportAdapterHandle, sizeof(*vc), SIM_TAG_VC);
    if (vc == NULL)
        return NDIS_STATUS_RESOURCES;
    vc->Af = af;
    vc->Adapter = adapter;
    vc->NdisVcHandle = NdisVcHandle;
    vc->Number = (ULONG)InterlockedIncrement(&adapter->NextVcNumber) - 1;
    vc->Ctx = &adapter->Contexts[vc->Number % adapter->DpcThreads];
    vc->State = SimVcIdle;
    InitializeListHead(&vc->WaitLink);
    InitializeListHead(&vc->WireLink);
    InitializeListHead(&vc->DoneLink);

    BOOLEAN dpr = McmLibLock(&adapter->Lock);
    InsertTailList(&af->VcList, &vc->AfLink);
    McmLibUnlock(&adapter->Lock, dpr);
    *ProtocolVcContext = vc;
    return NDIS_STATUS_SUCCESS;
}

/* CmDeleteVc: IRQL <= DISPATCH_LEVEL; cannot pend. Refused while a call is
 * on the VC or a send is outstanding; otherwise the VC is freed. */
static NDIS_STATUS SimCmDeleteVc(NDIS_HANDLE ProtocolVcContext)
{
    PSIM_VC vc = (PSIM_VC)ProtocolVcContext;
    PSIM_ADAPTER adapter = vc->Adapter;

    BOOLEAN dpr = McmLibLock(&vc->Ctx->Lock);
    BOOLEAN busy = vc->State != SimVcIdle || vc->Pending != 0;
    McmLibUnlock(&vc->Ctx->Lock, dpr);
    if (busy)
        return NDIS_STATUS_NOT_ACCEPTED;
    dpr = McmLibLock(&adapter->Lock);
    RemoveEntryList(&vc->AfLink);
    McmLibUnlock(&adapter->Lock, dpr);
    NdisFreeMemory(vc, 0, 0);
    return NDIS_STATUS_SUCCESS;
}

/* ---- address families ---------------------------------------------------------------------- */

/* CmOpenAf: IRQL <= DISPATCH_LEVEL. CallMgrBindingContext is the adapter. */
static NDIS_STATUS SimCmOpenAf(NDIS_HANDLE CallMgrBindingContext, PCO_ADDRESS_FAMILY AddressFamily,
                               NDIS_HANDLE NdisAfHandle, PNDIS_HANDLE CallMgrAfContext)
{
    PSIM_ADAPTER adapter = (PSIM_ADAPTER)CallMgrBindingContext;
    if (AddressFamily->AddressFamily != adapter->AddressFamily.AddressFamily ||
        AddressFamily->MajorVersion != adapter->AddressFamily.MajorVersion)
        return NDIS_STATUS_FAILURE;
    PSIM_AF af = McmLibAllocateZeroed(adapter->MiniportAdapterHandle, sizeof(*af), SIM_TAG_AF);
    if (af == NULL)
        return NDIS_STATUS_RESOURCES;
    af->Adapter = adapter;
    af->NdisAfHandle = NdisAfHandle;
    InitializeListHead(&af->VcList);
    BOOLEAN dpr = McmLibLock(&adapter->Lock);
    InsertTailList(&adapter->AfList, &af->Link);
    McmLibUnlock(&adapter->Lock, dpr);
    *CallMgrAfContext = af;
    return NDIS_STATUS_SUCCESS;
}

/* CmCloseAf: IRQL <= DISPATCH_LEVEL. Refused while VCs remain. While the
 * halt waits for this client's answer to its notify-close, the SIM_AF
 * stays until that answer. */
static NDIS_STATUS SimCmCloseAf(NDIS_HANDLE CallMgrAfContext)
{
    PSIM_AF af = (PSIM_AF)CallMgrAfContext;
    PSIM_ADAPTER adapter = af->Adapter;
    BOOLEAN dpr = McmLibLock(&adapter->Lock);
    if (!IsListEmpty(&af->VcList)) {
        McmLibUnlock(&adapter->Lock, dpr);
        return NDIS_STATUS_NOT_ACCEPTED;
    }
    SimListRemove(&af->Link);
    BOOLEAN keep = af->NotifyPending;
    af->Closed = TRUE;
    McmLibUnlock(&adapter->Lock, dpr);
    if (!keep)
        NdisFreeMemory(af, 0, 0);
    return NDIS_STATUS_SUCCESS;
}

/* The client answered a notify-close (now, or late): free the SIM_AF if
 * it closed meanwhile. */
static VOID SimNotifyAnswered(PSIM_AF Af)
{
    PSIM_ADAPTER adapter = Af->Adapter;
    BOOLEAN dpr = McmLibLock(&adapter->Lock);
    Af->NotifyPending = FALSE;
    BOOLEAN release = Af->Closed;
    McmLibUnlock(&adapter->Lock, dpr);
    if (release)
        NdisFreeMemory(Af, 0, 0);
}

/* CmNotifyCloseAfComplete: IRQL <= DISPATCH_LEVEL. */
static VOID SimCmNotifyCloseAfComplete(NDIS_HANDLE CallMgrAfContext, NDIS_STATUS Status)
{
    PSIM_AF af = (PSIM_AF)CallMgrAfContext;
    PSIM_ADAPTER adapter = af->Adapter;
    UNREFERENCED_PARAMETER(Status); /* what the client leaves, the halt frees */
    SimNotifyAnswered(af);
    NdisSetEvent(&adapter->NotifyCloseDone);
}

/*
 * Ask each client that still has the family open to close it, one at a
 * time, waiting for each answer. PASSIVE_LEVEL, from MiniportHaltEx; NDIS
 * unbinds clients before it halts, so normally there is none.
 */
static VOID SimNotifyCloseAfs(PSIM_ADAPTER Adapter)
{
    for (;;) {
        PSIM_AF af = NULL;
        NdisAcquireSpinLock(&Adapter->Lock);
        for (PLIST_ENTRY e = Adapter->AfList.Flink; e != &Adapter->AfList; e = e->Flink) {
            PSIM_AF x = CONTAINING_RECORD(e, SIM_AF, Link);
            if (!x->NotifySent) {
                af = x;
                af->NotifySent = af->NotifyPending = TRUE;
                break;
            }
        }
        NdisReleaseSpinLock(&Adapter->Lock);
        if (af == NULL)
            return;
        NdisResetEvent(&Adapter->NotifyCloseDone);
        /* If it pends, SimCmNotifyCloseAfComplete owns af from here. An
         * open the client kept stays listed, for SimFreeAdapter. */
        if (NdisMCmNotifyCloseAddressFamily(af->NdisAfHandle) == NDIS_STATUS_PENDING)
            NdisWaitEvent(&Adapter->NotifyCloseDone, 0);
        else
            SimNotifyAnswered(af);
    }
}

/* ---- OID requests --------------------------------------------------------------------------- */

/* MiniportOidRequest / MiniportCoOidRequest: IRQL <= DISPATCH_LEVEL. sim
 * answers the few CoNDIS queries it knows at once (McmLibQueryOid), the
 * same for every VC; anything else is NDIS_STATUS_NOT_SUPPORTED. */
static NDIS_STATUS SimOidRequest(NDIS_HANDLE MiniportAdapterContext, PNDIS_OID_REQUEST OidRequest)
{
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    return McmLibQueryOid(OidRequest, NdisMediumCoWan, SIM_LINK_SPEED);
}

static NDIS_STATUS SimCoOidRequest(NDIS_HANDLE MiniportAdapterContext, NDIS_HANDLE MiniportVcContext,
                                   PNDIS_OID_REQUEST OidRequest)
{
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(MiniportVcContext);
    return McmLibQueryOid(OidRequest, NdisMediumCoWan, SIM_LINK_SPEED);
}

/* ---- parameters ------------------------------------------------------------------------------ */

/* Read sim's parameters into the adapter. PASSIVE_LEVEL. */
static VOID SimReadConfiguration(PSIM_ADAPTER Adapter)
{
    ULONG cpus = KeQueryActiveProcessorCount(NULL);
    Adapter->QueueDepth = SIM_QUEUE_DEFAULT;
    Adapter->DpcThreads = 1;
    Adapter->FailStatus = NDIS_STATUS_FAILURE;
    Adapter->Seed = 1;
    Adapter->BugEvery = SIM_BUG_EVERY_DEFAULT;

    /* Out-of-range or unreadable values are reported and the default kept. */
    const ULONG any = 0xFFFFFFFFUL;
    NDIS_HANDLE config;
    if (McmLibOpenConfiguration(Adapter->MiniportAdapterHandle, &config) == NDIS_STATUS_SUCCESS) {
        Adapter->QueueDepth =
            McmLibReadUlong(config, L"SimQueue", SIM_QUEUE_DEFAULT, 1, SIM_QUEUE_MAX, "sim");
        Adapter->DpcThreads = McmLibReadUlong(config, L"SimDpcThreads", 1, 1, cpus, "sim");
        Adapter->Inline = McmLibReadUlong(config, L"SimInline", 0, 0, 1, "sim") != 0;
        Adapter->Reorder = McmLibReadUlong(config, L"SimReorder", 0, 0, SIM_REORDER_MAX, "sim");
        Adapter->Batch = McmLibReadUlong(config, L"SimBatch", 0, 0, any, "sim");
        Adapter->FailEvery = McmLibReadUlong(config, L"SimFailEvery", 0, 0, any, "sim");
        Adapter->FailStatus = (NDIS_STATUS)McmLibReadUlong(
            config, L"SimFailStatus", (ULONG)NDIS_STATUS_FAILURE, 1, any, "sim");
        if (Adapter->FailStatus == NDIS_STATUS_PENDING) {
            DbgPrint("SimFailStatus=0x%lx is NDIS_STATUS_PENDING, which is never a final status; "
                     "sim keeps 0x%lx", (ULONG)NDIS_STATUS_PENDING, (ULONG)NDIS_STATUS_FAILURE);
            Adapter->FailStatus = NDIS_STATUS_FAILURE;
        }
        Adapter->Latency = (ULONG64)McmLibReadUlong(config, L"SimLatencyUs", 0, 0, any, "sim") *
                           SIM_TICKS_PER_US;
        Adapter->EarlyComplete =
            McmLibReadUlong(config, L"SimEarlyComplete", 0, 0, 1, "sim") != 0;
        Adapter->Seed = McmLibReadUlong(config, L"SimSeed", 1, 0, any, "sim");
        /* Test-only. A value sim does not know is reported and kept at 0. */
        Adapter->Bug = McmLibReadUlong(config, L"SimBug", SimBugNone, SimBugNone, SIM_BUG_MAX,
                                       "sim");
        Adapter->BugEvery = McmLibReadUlong(config, L"SimBugEvery", SIM_BUG_EVERY_DEFAULT, 1, any,
                                            "sim");
        NdisCloseConfiguration(config);
    }
    if (Adapter->Bug == SimBugResources) {
        DbgPrint("SimBug=%lu (complete with NDIS_STATUS_RESOURCES) applies to NDIS 5.x "
                 "miniports only; sim plants no bug", Adapter->Bug);
        Adapter->Bug = SimBugNone;
    } else if (Adapter->Bug != SimBugNone) {
        static const char *const what[] = {
            NULL,
            "it is completed twice (OWN-5)",
            "it is never completed (OWN-6)",
            "it is completed with NDIS_STATUS_PENDING (NBL-3)",
            "its NET_BUFFER list is changed before its completion (OWN-7)",
            "it is completed on another VC's handle (OWN-5)",
            "it is written to after its completion (OWN-4)",
            "it is completed flagged DISPATCH_LEVEL below DISPATCH_LEVEL (IRQL-1)",
        };
        DbgPrint("SimBug=%lu: a planted bug in one of every %lu NBLs sim accepts: %s",
                 Adapter->Bug, Adapter->BugEvery, what[Adapter->Bug]);
    }
    Adapter->Budget = 4 * Adapter->QueueDepth > SIM_BUDGET_MIN ? 4 * Adapter->QueueDepth
                                                                : SIM_BUDGET_MIN;
    Adapter->AddressFamily.AddressFamily = CO_ADDRESS_FAMILY_PPP;
    Adapter->AddressFamily.MajorVersion = 1;
    Adapter->AddressFamily.MinorVersion = 0;
}

/* ---- adapter life cycle ----------------------------------------------------------------------- */

/* Free an adapter and all it holds. PASSIVE_LEVEL, when nothing of it runs
 * any more (no send, DPC, timer callback or scheduler). */
static VOID SimFreeAdapter(PSIM_ADAPTER Adapter)
{
    while (!IsListEmpty(&Adapter->AfList)) {
        PSIM_AF af = CONTAINING_RECORD(RemoveHeadList(&Adapter->AfList), SIM_AF, Link);
        while (!IsListEmpty(&af->VcList)) {
            DbgPrint("halt: a VC was never deleted; sim frees it");
            NdisFreeMemory(CONTAINING_RECORD(RemoveHeadList(&af->VcList), SIM_VC, AfLink), 0, 0);
        }
        DbgPrint("halt: an address family was never closed; sim frees it");
        NdisFreeMemory(af, 0, 0);
    }
    if (Adapter->Contexts != NULL) {
        for (ULONG i = 0; i < Adapter->DpcThreads; i++) {
            PSIM_CONTEXT ctx = &Adapter->Contexts[i];
            if (ctx->Timer != NULL)
                NdisFreeTimerObject(ctx->Timer);
            if (ctx->BugWorkItem != NULL)
                NdisFreeIoWorkItem(ctx->BugWorkItem);
            if (ctx->Heap != NULL)
                NdisFreeMemory(ctx->Heap, 0, 0);
            if (ctx->Window != NULL)
                NdisFreeMemory(ctx->Window, 0, 0);
            NdisFreeSpinLock(&ctx->Lock);
        }
        NdisFreeMemory(Adapter->Contexts, 0, 0);
    }
    NdisFreeSpinLock(&Adapter->Lock);
    NdisFreeMemory(Adapter, 0, 0);
}

/* The completion contexts: lock, lists, DPC on their processor, timer and
 * the scratch the mode needs. PASSIVE_LEVEL. */
static NDIS_STATUS SimAllocateContexts(PSIM_ADAPTER Adapter)
{
    NDIS_HANDLE h = Adapter->MiniportAdapterHandle;
    Adapter->Contexts = McmLibAllocateZeroed(h, (SIZE_T)Adapter->DpcThreads * sizeof(SIM_CONTEXT),
                                             SIM_TAG_CONTEXT);
    if (Adapter->Contexts == NULL)
        return NDIS_STATUS_RESOURCES;
    for (ULONG i = 0; i < Adapter->DpcThreads; i++) {
        PSIM_CONTEXT ctx = &Adapter->Contexts[i];
        ctx->Adapter = Adapter;
        NdisAllocateSpinLock(&ctx->Lock);
        InitializeListHead(&ctx->WaitList);
        InitializeListHead(&ctx->WireList);
        InitializeListHead(&ctx->DoneList);
        KeInitializeDpc(&ctx->Dpc, SimDpc, ctx);
        KeSetTargetProcessorDpc(&ctx->Dpc, (CCHAR)i);

        NDIS_TIMER_CHARACTERISTICS timer;
        NdisZeroMemory(&timer, sizeof(timer));
        timer.Header.Type = NDIS_OBJECT_TYPE_TIMER_CHARACTERISTICS;
        timer.Header.Revision = NDIS_TIMER_CHARACTERISTICS_REVISION_1;
        timer.Header.Size = NDIS_SIZEOF_TIMER_CHARACTERISTICS_REVISION_1;
        timer.AllocationTag = SIM_TAG_TIMER;
        timer.TimerFunction = SimTimer;
        timer.FunctionContext = ctx;
        if (NdisAllocateTimerObject(h, &timer, &ctx->Timer) != NDIS_STATUS_SUCCESS) {
            ctx->Timer = NULL;
            return NDIS_STATUS_RESOURCES;
        }
        if (Adapter->EarlyComplete) {
            ctx->Heap = McmLibAllocateZeroed(h, (SIZE_T)Adapter->QueueDepth * sizeof(ULONG64),
                                             SIM_TAG_CONTEXT);
            if (ctx->Heap == NULL)
                return NDIS_STATUS_RESOURCES;
        }
        if (Adapter->Bug == SimBugIrql) {
            ctx->BugWorkItem = NdisAllocateIoWorkItem(h);
            if (ctx->BugWorkItem == NULL)
                return NDIS_STATUS_RESOURCES;
        }
        if (Adapter->Reorder > 1) {
            ctx->Window = McmLibAllocateZeroed(
                h, (SIZE_T)Adapter->Reorder * sizeof(PNET_BUFFER_LIST), SIM_TAG_CONTEXT);
            if (ctx->Window == NULL)
                return NDIS_STATUS_RESOURCES;
        }
    }
    return NDIS_STATUS_SUCCESS;
}

/*
 * MiniportInitializeEx: PASSIVE_LEVEL; cannot pend. On success the adapter
 * is Paused and its address family registered; on failure sim has freed
 * what it allocated.
 */
static NDIS_STATUS SimInitializeEx(NDIS_HANDLE NdisMiniportHandle, NDIS_HANDLE MiniportDriverContext,
                                   PNDIS_MINIPORT_INIT_PARAMETERS MiniportInitParameters)
{
    UNREFERENCED_PARAMETER(MiniportDriverContext);
    UNREFERENCED_PARAMETER(MiniportInitParameters);

    PSIM_ADAPTER adapter = McmLibAllocateZeroed(NdisMiniportHandle, sizeof(*adapter), SIM_TAG_ADAPTER);
    if (adapter == NULL)
        return NDIS_STATUS_RESOURCES;
    adapter->MiniportAdapterHandle = NdisMiniportHandle;
    adapter->State = SimAdapterPaused;
    NdisAllocateSpinLock(&adapter->Lock);
    InitializeListHead(&adapter->AfList);
    NdisInitializeEvent(&adapter->NotifyCloseDone);
    SimReadConfiguration(adapter);

    /* A virtual CoWan adapter of no particular interface type. */
    NDIS_STATUS status = McmLibSetCoWanAttributes(NdisMiniportHandle, adapter, SIM_MTU,
                                                  SIM_LINK_SPEED, IF_TYPE_OTHER);
    if (status == NDIS_STATUS_SUCCESS)
        status = SimAllocateContexts(adapter);
    /* Last: clients may hear of the family as soon as it is registered. */
    if (status == NDIS_STATUS_SUCCESS)
        status = NdisMCmRegisterAddressFamilyEx(NdisMiniportHandle, &adapter->AddressFamily);
    if (status != NDIS_STATUS_SUCCESS)
        SimFreeAdapter(adapter);
    return status;
}

/* Wait until no DPC, timer-queued DPC or scheduler of the adapter runs.
 * PASSIVE_LEVEL. */
static VOID SimQuiesce(PSIM_ADAPTER Adapter)
{
    KeFlushQueuedDpcs();
    while (SimRead(&Adapter->Busy) != 0)
        NdisMSleep(100);
}

/*
 * MiniportHaltEx: PASSIVE_LEVEL. NDIS paused the adapter first, so every
 * send is completed. Clients still holding the family are asked to close
 * it; then sim stops its timers, waits for its DPCs and frees everything.
 */
static VOID SimHaltEx(NDIS_HANDLE MiniportAdapterContext, NDIS_HALT_ACTION HaltAction)
{
    PSIM_ADAPTER adapter = (PSIM_ADAPTER)MiniportAdapterContext;
    UNREFERENCED_PARAMETER(HaltAction);

    SimNotifyCloseAfs(adapter);
    /* Paused, the scheduler sets no timer; one set before may still fire
     * and queue a DPC, which then finds nothing to do. */
    SimQuiesce(adapter);
    for (ULONG i = 0; i < adapter->DpcThreads; i++) {
        NdisFreeTimerObject(adapter->Contexts[i].Timer);
        adapter->Contexts[i].Timer = NULL;
    }
    SimQuiesce(adapter);

    ULONG64 accepted = 0, completed = 0, failed = 0, planted = 0, missed = 0;
    ULONG maxTx = 0;
    for (ULONG i = 0; i < adapter->DpcThreads; i++) {
        PSIM_CONTEXT ctx = &adapter->Contexts[i];
        NdisAcquireSpinLock(&ctx->Lock);
        accepted += ctx->Accepted;
        completed += ctx->Completed;
        failed += ctx->Failed;
        planted += ctx->BugPlanted;
        missed += ctx->BugMissed;
        if (ctx->MaxTxQueue > maxTx)
            maxTx = ctx->MaxTxQueue;
        NdisReleaseSpinLock(&ctx->Lock);
    }
    /* One line; the planted bugs only when a bug is on. */
#define SIM_HALT_FORMAT                                                                        \
    "halt: accepted %llu, completed %llu, failed %llu, max queue depth %ld (most in the TX " \
    "queue %lu of %lu)"
#define SIM_HALT_ARGUMENTS                                                                     \
    (unsigned long long)accepted, (unsigned long long)completed, (unsigned long long)failed,  \
        SimRead(&adapter->MaxOutstanding), maxTx, adapter->QueueDepth
    if (adapter->Bug == SimBugNone)
        DbgPrint(SIM_HALT_FORMAT, SIM_HALT_ARGUMENTS);
    else if (missed == 0)
        DbgPrint(SIM_HALT_FORMAT ", planted bugs %llu (SimBug=%lu)", SIM_HALT_ARGUMENTS,
                 (unsigned long long)planted, adapter->Bug);
    else
        DbgPrint(SIM_HALT_FORMAT ", planted bugs %llu (SimBug=%lu; %llu more chosen NBLs were "
                 "sent to sim again before the bug could hit them)",
                 SIM_HALT_ARGUMENTS, (unsigned long long)planted, adapter->Bug,
                 (unsigned long long)missed);
#undef SIM_HALT_FORMAT
#undef SIM_HALT_ARGUMENTS
    SimFreeAdapter(adapter);
}

/*
 * MiniportPause: PASSIVE_LEVEL. Sends are refused from now on, and what sim
 * holds completes at once, without waiting for time: SUCCESS when nothing
 * is left, else PENDING and NdisMPauseComplete from whoever completes the
 * last NBL (SimSendsDone).
 */
static NDIS_STATUS SimPause(NDIS_HANDLE MiniportAdapterContext,
                            PNDIS_MINIPORT_PAUSE_PARAMETERS MiniportPauseParameters)
{
    PSIM_ADAPTER adapter = (PSIM_ADAPTER)MiniportAdapterContext;
    UNREFERENCED_PARAMETER(MiniportPauseParameters);

    InterlockedExchange(&adapter->State, SimAdapterPausing);
    for (ULONG i = 0; i < adapter->DpcThreads; i++)
        KeInsertQueueDpc(&adapter->Contexts[i].Dpc, NULL, NULL);
    /* A sender counts itself before it reads the state, and the last
     * completer reads the state after it counts down: one of us sees the
     * other, and the compare-exchange lets one of us finish. */
    if (SimRead(&adapter->Outstanding) == 0 &&
        InterlockedCompareExchange(&adapter->State, SimAdapterPaused, SimAdapterPausing) ==
            SimAdapterPausing)
        return NDIS_STATUS_SUCCESS;
    return NDIS_STATUS_PENDING;
}

/* MiniportRestart: PASSIVE_LEVEL. Sends are accepted again. */
static NDIS_STATUS SimRestart(NDIS_HANDLE MiniportAdapterContext,
                              PNDIS_MINIPORT_RESTART_PARAMETERS MiniportRestartParameters)
{
    PSIM_ADAPTER adapter = (PSIM_ADAPTER)MiniportAdapterContext;
    UNREFERENCED_PARAMETER(MiniportRestartParameters);
    InterlockedExchange(&adapter->State, SimAdapterRunning);
    return NDIS_STATUS_SUCCESS;
}

/* ---- driver life cycle ----------------------------------------------------------------------- */

/*
 * MiniportSetOptions: PASSIVE_LEVEL, inside NdisMRegisterMiniportDriver.
 * Registers the CoNDIS miniport table and the call manager table.
 */
static NDIS_STATUS SimSetOptions(NDIS_HANDLE NdisDriverHandle, NDIS_HANDLE DriverContext)
{
    UNREFERENCED_PARAMETER(DriverContext);

    NDIS_MINIPORT_CO_CHARACTERISTICS co;
    NdisZeroMemory(&co, sizeof(co));
    co.Header.Type = NDIS_OBJECT_TYPE_CO_MINIPORT_CHARACTERISTICS;
    co.Header.Revision = NDIS_MINIPORT_CO_CHARACTERISTICS_REVISION_1;
    co.Header.Size = NDIS_SIZEOF_MINIPORT_CO_CHARACTERISTICS_REVISION_1;
    /* CoCreateVc/CoDeleteVc stay NULL: an MCM's VCs come and go through its
     * call manager handlers. */
    co.CoActivateVcHandler = SimCoActivateVc;
    co.CoDeactivateVcHandler = McmLibCoDeactivateVc;
    co.CoSendNetBufferListsHandler = SimCoSendNetBufferLists;
    co.CoOidRequestHandler = SimCoOidRequest;
    NDIS_STATUS status = NdisSetOptionalHandlers(NdisDriverHandle, (PNDIS_DRIVER_OPTIONAL_HANDLERS)&co);
    if (status != NDIS_STATUS_SUCCESS)
        return status;

    /* sim has no incoming calls (no SAPs), no parties, no QoS changes and
     * no signalling OIDs: those entries refuse (McmLibInitCallManagerHandlers). */
    NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS cm;
    McmLibInitCallManagerHandlers(&cm);
    cm.CmCreateVcHandler = SimCmCreateVc;
    cm.CmDeleteVcHandler = SimCmDeleteVc;
    cm.CmOpenAfHandler = SimCmOpenAf;
    cm.CmCloseAfHandler = SimCmCloseAf;
    cm.CmMakeCallHandler = SimCmMakeCall;
    cm.CmCloseCallHandler = SimCmCloseCall;
    cm.CmNotifyCloseAfCompleteHandler = SimCmNotifyCloseAfComplete;
    return NdisSetOptionalHandlers(NdisDriverHandle, (PNDIS_DRIVER_OPTIONAL_HANDLERS)&cm);
}

/* MiniportDriverUnload: PASSIVE_LEVEL, after every adapter is halted. */
static VOID SimDriverUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    NdisMDeregisterMiniportDriver(SimDriverHandle);
    SimDriverHandle = NULL;
}

/*
 * DriverEntry: PASSIVE_LEVEL. Registers sim as an NDIS 6.0 miniport; its
 * SetOptions handler makes it a CoNDIS miniport call manager. It never
 * indicates receives, so it has no ReturnNetBufferLists handler, and no
 * connectionless send path.
 */
NTSTATUS SimDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NDIS_MINIPORT_DRIVER_CHARACTERISTICS characteristics;
    NdisZeroMemory(&characteristics, sizeof(characteristics));
    characteristics.Header.Type = NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS;
    characteristics.Header.Revision = NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1;
    characteristics.Header.Size = NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1;
    characteristics.MajorNdisVersion = NDIS_MINIPORT_MAJOR_VERSION;
    characteristics.MinorNdisVersion = NDIS_MINIPORT_MINOR_VERSION;
    characteristics.MajorDriverVersion = SIM_DRIVER_MAJOR_VERSION;
    characteristics.MinorDriverVersion = SIM_DRIVER_MINOR_VERSION;
    characteristics.SetOptionsHandler = SimSetOptions;
    characteristics.InitializeHandlerEx = SimInitializeEx;
    characteristics.HaltHandlerEx = SimHaltEx;
    characteristics.UnloadHandler = SimDriverUnload;
    characteristics.PauseHandler = SimPause;
    characteristics.RestartHandler = SimRestart;
    characteristics.OidRequestHandler = SimOidRequest;
    /* No device, and no OID request that waits: nothing to do for these. */
    characteristics.DevicePnPEventNotifyHandler = McmLibDevicePnPEventNotify;
    characteristics.ShutdownHandlerEx = McmLibShutdownEx;
    characteristics.CancelOidRequestHandler = McmLibCancelOidRequest;
    return NdisMRegisterMiniportDriver(DriverObject, RegistryPath, NULL, &characteristics,
                                       &SimDriverHandle);
}
