/*
 * benchcl.c - "benchcl", the NDIS 6 measurement client of `condis bench`.
 *
 * A CoNDIS client written only against <ndis.h>, like cosend (read that
 * first: this file follows it and says where it differs). It differs in
 * what it is for: cosend exercises a run end to end, benchcl sets up once
 * and then times sends, many times over, on many VCs with a bounded set of
 * descriptors. The interface the harness drives is bench_client.h.
 *
 * Who owns what, and when:
 *
 *   bind      benchcl allocates everything before it opens the adapter: an
 *             NBL pool (each NBL with its NET_BUFFER), one MDL per NBL over
 *             its own slice of one data block, the chains, and a table of
 *             cfg.vcs small VC entries. Nothing is allocated on the send
 *             path; the send path only moves chains between benchcl's free
 *             set and NDIS.
 *   chains    the set is cut into chains of cfg.chain NBLs, linked once at
 *             bind in a fixed order (ProtocolReserved[1] keeps each NBL's
 *             successor, so the link can be restored whatever a miniport
 *             did to the Next pointers). A chain is the unit of sending and
 *             of reuse: it is sent whole, and it is free again only when
 *             every one of its NBLs has come back.
 *   sending   NdisCoSendNetBufferLists takes the chain (RULES.md OWN-1);
 *             benchcl looks at none of it, not at the status either (OWN-2),
 *             until ProtocolCoSendNetBufferListsComplete.
 *   complete  benchcl owns each returned NBL again and resets it there, the
 *             way cosend does: status back to success, Next back to its
 *             successor in the chain, the NET_BUFFER's data description back
 *             if a lower layer left it changed (that is counted as an error,
 *             a miniport must give it back as sent). When the last NBL of a
 *             chain is back the chain goes on the free set.
 *   receive   indicated NBLs are counted and returned at once, or with
 *             keep_receives held and returned in batches (never those
 *             indicated with NDIS_RECEIVE_FLAGS_RESOURCES).
 *   unbind    every NBL is back (runs end only when all chains are home), so
 *             benchcl frees everything and closes the adapter.
 *
 * ProtocolReserved of each NBL (benchcl allocated them):
 *   [0] the BENCHCL_CHAIN it belongs to, | 1 while the NBL is in flight
 *   [1] the next NBL of its chain (NULL for the last)
 *   [2] its MDL            [3] its NET_BUFFER
 *
 * The free set. A multi-producer, single-consumer stack of chains: the
 * completion handlers push (a compare-exchange per group of chains finished
 * in one call), the one sending thread takes the whole stack with one
 * exchange when its private list is empty. With one consumer that only ever
 * takes everything, the stack has no ABA problem. No lock, and per chain
 * two interlocked operations on the completion side (the chain's own
 * outstanding count and the push), none per NBL.
 *
 * Inline completion. When the miniport completes inside
 * NdisCoSendNetBufferLists, the handler runs on the sender's own thread: it
 * only pushes the chain and returns, and the sender takes it with its next
 * exchange. No recursion: the completion handler never sends.
 *
 * Waiting for chains. When the free set is empty the sender spins, reading
 * the stack head with a pause instruction in between, for up to
 * BENCHCL_SPIN_NS; then it blocks on an NDIS event. Why: on a two-core box
 * the completing DPC thread runs on the other core, and a spinning reader of
 * one cache line costs that core nothing while it answers within a few
 * hundred nanoseconds, where a futex sleep and wake costs microseconds on
 * both sides (NdisMSleep(0) is a nanosleep, i.e. a syscall and the timer
 * slack, 50 us by default). The bound keeps a stalled miniport (or one
 * sharing the core) from being starved by the spinner. A completion wakes a
 * blocked sender only when SenderWaiting says it sleeps (a plain read after
 * the interlocked push); a wake-up missed through that read on a weakly
 * ordered machine costs at most the BENCHCL_WAIT_MS timeout of the wait.
 *
 * State lives in one static BENCHCL_BINDING: one binding at a time, which
 * is what the harness needs, and it keeps the completion path free of
 * reference counting: the last thing a completion touches after giving a
 * chain back is that static block, which is never freed.
 *
 * The control path (create VCs and make calls; close calls, delete VCs and
 * close the family) runs on an NDIS I/O work item at PASSIVE_LEVEL, as in
 * cosend; so do the send loops of the runs, on a second work item.
 * (Windows documents NdisAllocateIoWorkItem for miniports and filters;
 * condis accepts a protocol's driver handle, as cosend notes.)
 */
#define NDIS60 1
#include <ndis.h>

#include "bench.h"
#include "bench_client.h"

/* ======================================================================
 * Constants
 * ====================================================================== */

#define BENCHCL_TAG_OF(a, b, c, d) \
    ((ULONG)(UCHAR)(a) | ((ULONG)(UCHAR)(b) << 8) | ((ULONG)(UCHAR)(c) << 16) | \
     ((ULONG)(UCHAR)(d) << 24))
#define BENCHCL_TAG_VC BENCHCL_TAG_OF('B', 'c', 'v', 'c')
#define BENCHCL_TAG_DATA BENCHCL_TAG_OF('B', 'c', 'd', 't')
#define BENCHCL_TAG_CHAIN BENCHCL_TAG_OF('B', 'c', 'c', 'h')
#define BENCHCL_TAG_POOL BENCHCL_TAG_OF('B', 'c', 'n', 'b')

#define BENCHCL_DEFAULT_VCS 1u
#define BENCHCL_DEFAULT_CHAIN 32u
#define BENCHCL_DEFAULT_SET 4096u
#define BENCHCL_DEFAULT_SIZE 64u
#define BENCHCL_MAX_SET (1u << 22)
#define BENCHCL_MAX_SIZE 65535u

/* Make-call parameter blocks: one is lent to the call manager per call
 * being made, so the VC entries need none. Only calls that pend hold one
 * for long; a call manager that pends more at once makes setup wait. */
#define BENCHCL_CALL_SLOTS 64
/* How long the sender spins for a free chain before it blocks. */
#define BENCHCL_SPIN_NS 50000
/* Longest single block of the sender (a safety net, see the top). */
#define BENCHCL_WAIT_MS 1
#define BENCHCL_VIOLATION_MESSAGES 16
#define BENCHCL_POLL_US 100

/* ProtocolReserved[0] bit 0: in flight. */
#define BENCHCL_IN_FLIGHT ((ULONG_PTR)1)

#if defined(__x86_64__) || defined(__i386__)
#define BENCHCL_PAUSE() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define BENCHCL_PAUSE() __asm__ __volatile__("yield")
#else
#define BENCHCL_PAUSE() ((void)0)
#endif

/* ======================================================================
 * State
 * ====================================================================== */

/*
 * A VC's life; each move is made by one party only, so the state is a
 * plain interlocked word:
 *   None -> Created           setup, NdisCoCreateVc succeeded
 *   Created -> Calling        setup, before NdisClMakeCall
 *   Calling -> Active | CallFailed   make-call completion
 *   Active -> PeerClosed      ProtocolClIncomingCloseCall
 *   Active | PeerClosed -> Closing   teardown, before NdisClCloseCall
 *   Closing -> CallDown | Broken     close-call completion
 *   Created | CallFailed | CallDown -> Deleted | Broken   teardown
 */
typedef enum _BENCHCL_VC_STATE {
    BenchclVcNone,
    BenchclVcCreated,
    BenchclVcCalling,
    BenchclVcActive,
    BenchclVcCallFailed,
    BenchclVcPeerClosed,
    BenchclVcClosing,
    BenchclVcCallDown,
    BenchclVcDeleted,
    BenchclVcBroken
} BENCHCL_VC_STATE;

/* One VC: the ProtocolVcContext. 16 bytes; 100,000 VCs cost 1.6 MB. */
typedef struct _BENCHCL_VC {
    NDIS_HANDLE NdisVcHandle; /* written by setup before the call is made */
    volatile LONG State;      /* BENCHCL_VC_STATE */
    NDIS_STATUS Status;       /* the last failed call operation */
} BENCHCL_VC, *PBENCHCL_VC;

/* A chain of NBLs: the unit of sending and of reuse. */
typedef struct _BENCHCL_CHAIN {
    struct _BENCHCL_CHAIN *volatile Next; /* free-set link */
    PNET_BUFFER_LIST Head;                /* first NBL, linked through its successors */
    volatile LONG Outstanding;            /* NBLs of this chain still in flight */
    ULONG Length;                         /* NBLs in the chain */
} BENCHCL_CHAIN, *PBENCHCL_CHAIN;

/* A make-call parameter block, lent to the call manager until the make-call
 * completes (the call manager may rewrite it). */
typedef struct _BENCHCL_CALL_SLOT {
    struct _BENCHCL_CALL_SLOT *Next;
    CO_CALL_PARAMETERS CallParameters;
    CO_CALL_MANAGER_PARAMETERS CallMgrParameters;
    CO_MEDIA_PARAMETERS MediaParameters;
} BENCHCL_CALL_SLOT, *PBENCHCL_CALL_SLOT;

typedef enum _BENCHCL_AF_STATE {
    BenchclAfClosed,
    BenchclAfOpening,
    BenchclAfOpen,
    BenchclAfClosing
} BENCHCL_AF_STATE;

typedef struct _BENCHCL_BINDING {
    /* ---- constant from bind to unbind ---- */
    BOOLEAN Bound;           /* the adapter is open */
    NDIS_HANDLE BindingHandle;
    NDIS_HANDLE NblPool;
    NDIS_HANDLE ControlWorkItem;
    NDIS_HANDLE SendWorkItem;
    ULONG VcCount, Chain, Size, ChainCount;
    BOOLEAN KeepReceives;
    ULONG KeepBatch;
    PBENCHCL_VC Vcs;         /* VcCount entries */
    PBENCHCL_CHAIN Chains;   /* ChainCount entries */
    PNET_BUFFER_LIST *Nbls;  /* ChainCount * Chain */
    PUCHAR Data;
    BENCHCL_CALL_SLOT Slots[BENCHCL_CALL_SLOTS];

    NDIS_SPIN_LOCK Lock;     /* guards the control state below */
    BENCHCL_AF_STATE AfState;
    NDIS_HANDLE AfHandle;
    NDIS_STATUS AfStatus;
    CO_ADDRESS_FAMILY Family;
    BOOLEAN AfOffered;       /* an offer came before the adapter was open */
    BOOLEAN SetupQueued;     /* one setup per binding */
    BOOLEAN SetupDone;
    BOOLEAN TornDown;
    BOOLEAN Busy;            /* a run or a teardown is under way */
    BOOLEAN Primed;          /* every chain of the set was sent once (BenchclPrime) */
    BOOLEAN NotifyClosePending;
    BOOLEAN Unbinding;
    PBENCHCL_CALL_SLOT FreeSlots;
    int SetupResult;         /* 0 or -errno, valid with SetupDone */
    int TeardownResult;

    NDIS_EVENT OpEvent;      /* open/close adapter completed */
    NDIS_STATUS OpStatus;
    NDIS_EVENT AfEvent;      /* AF open/close completed */
    NDIS_EVENT ReadyEvent;   /* setup finished (either way) */
    NDIS_EVENT CallEvent;    /* a pended make/close call completed */
    NDIS_EVENT DoneEvent;    /* a run or teardown finished */
    NDIS_EVENT IdleEvent;    /* no run or teardown (Busy FALSE) */
    volatile LONG CallsPending;

    /* ---- the send path ---- */
    DECLSPEC_ALIGN(64) PBENCHCL_CHAIN volatile FreeTop; /* pushed by completions */
    DECLSPEC_ALIGN(64) volatile LONG SenderWaiting;
    NDIS_EVENT WakeEvent;
    /* Sender-private (the send work item only; runs never overlap). */
    DECLSPEC_ALIGN(64) PBENCHCL_CHAIN Local;
    ULONG64 RunCount;
    ULONG64 RunStart, RunEnd; /* KeQueryPerformanceCounter ticks */
    ULONG64 RunReceived;
    uint64_t RunAllocs[2];   /* the allocation counter at RunStart and RunEnd */
    LONGLONG Frequency;

    /* ---- receive ---- */
    DECLSPEC_ALIGN(64) volatile LONG64 Received;
    PNET_BUFFER_LIST volatile KeptTop;
    volatile LONG KeptCount;
} BENCHCL_BINDING, *PBENCHCL_BINDING;

/* ======================================================================
 * Globals and declarations
 * ====================================================================== */

static NDIS_HANDLE g_ProtocolHandle;
static volatile LONG64 g_Errors;
static struct cn_bench_client_cfg g_Config = {
    BENCHCL_DEFAULT_VCS, BENCHCL_DEFAULT_CHAIN, BENCHCL_DEFAULT_SET, BENCHCL_DEFAULT_SIZE, false
};
static BENCHCL_BINDING g_B;

static DRIVER_UNLOAD BenchclUnload;
static PROTOCOL_SET_OPTIONS BenchclSetOptions;
static PROTOCOL_BIND_ADAPTER_EX BenchclBindAdapterEx;
static PROTOCOL_UNBIND_ADAPTER_EX BenchclUnbindAdapterEx;
static PROTOCOL_OPEN_ADAPTER_COMPLETE_EX BenchclOpenAdapterCompleteEx;
static PROTOCOL_CLOSE_ADAPTER_COMPLETE_EX BenchclCloseAdapterCompleteEx;
static PROTOCOL_NET_PNP_EVENT BenchclNetPnPEvent;
static PROTOCOL_OID_REQUEST_COMPLETE BenchclOidRequestComplete;
static PROTOCOL_STATUS_EX BenchclStatusEx;
static PROTOCOL_RECEIVE_NET_BUFFER_LISTS BenchclReceiveNetBufferLists;
static PROTOCOL_SEND_NET_BUFFER_LISTS_COMPLETE BenchclSendNetBufferListsComplete;
static PROTOCOL_CO_STATUS_EX BenchclCoStatusEx;
static PROTOCOL_CO_AF_REGISTER_NOTIFY BenchclCoAfRegisterNotify;
static PROTOCOL_CO_RECEIVE_NET_BUFFER_LISTS BenchclCoReceiveNetBufferLists;
static PROTOCOL_CO_SEND_NET_BUFFER_LISTS_COMPLETE BenchclCoSendNetBufferListsComplete;
static PROTOCOL_CO_CREATE_VC BenchclCoCreateVc;
static PROTOCOL_CO_DELETE_VC BenchclCoDeleteVc;
static PROTOCOL_CO_OID_REQUEST BenchclCoOidRequest;
static PROTOCOL_CO_OID_REQUEST_COMPLETE BenchclCoOidRequestComplete;
static PROTOCOL_CL_OPEN_AF_COMPLETE_EX BenchclClOpenAfCompleteEx;
static PROTOCOL_CL_CLOSE_AF_COMPLETE BenchclClCloseAfComplete;
static PROTOCOL_CL_REGISTER_SAP_COMPLETE BenchclClRegisterSapComplete;
static PROTOCOL_CL_DEREGISTER_SAP_COMPLETE BenchclClDeregisterSapComplete;
static PROTOCOL_CL_MAKE_CALL_COMPLETE BenchclClMakeCallComplete;
static PROTOCOL_CL_MODIFY_CALL_QOS_COMPLETE BenchclClModifyCallQoSComplete;
static PROTOCOL_CL_CLOSE_CALL_COMPLETE BenchclClCloseCallComplete;
static PROTOCOL_CL_ADD_PARTY_COMPLETE BenchclClAddPartyComplete;
static PROTOCOL_CL_DROP_PARTY_COMPLETE BenchclClDropPartyComplete;
static PROTOCOL_CL_INCOMING_CALL BenchclClIncomingCall;
static PROTOCOL_CL_INCOMING_CALL_QOS_CHANGE BenchclClIncomingCallQoSChange;
static PROTOCOL_CL_INCOMING_CLOSE_CALL BenchclClIncomingCloseCall;
static PROTOCOL_CL_INCOMING_DROP_PARTY BenchclClIncomingDropParty;
static PROTOCOL_CL_CALL_CONNECTED BenchclClCallConnected;
static PROTOCOL_CL_NOTIFY_CLOSE_AF BenchclClNotifyCloseAf;
static NDIS_IO_WORKITEM_FUNCTION BenchclSetupWorker;
static NDIS_IO_WORKITEM_FUNCTION BenchclTeardownWorker;
static NDIS_IO_WORKITEM_FUNCTION BenchclSendWorker;

/* ======================================================================
 * Small helpers
 * ====================================================================== */

/* Counts a broken invariant and says which (the first few). Any IRQL. */
static VOID BenchclError(PCSTR What, ULONG_PTR Value)
{
    LONG64 n = InterlockedIncrement64(&g_Errors);

    if (n <= BENCHCL_VIOLATION_MESSAGES)
        DbgPrint("benchcl: %s (0x%Ix)\n", What, Value);
    else if (n == BENCHCL_VIOLATION_MESSAGES + 1)
        DbgPrint("benchcl: more errors follow; they are counted, not described\n");
}

static ULONG64 BenchclNow(VOID)
{
    return (ULONG64)KeQueryPerformanceCounter(NULL).QuadPart;
}

static ULONG64 BenchclTicksToNs(ULONG64 Ticks, LONGLONG Frequency)
{
    ULONG64 f = Frequency > 0 ? (ULONG64)Frequency : 1000000000u;
    return Ticks / f * 1000000000u + Ticks % f * 1000000000u / f;
}

static ULONG BenchclClamp(ULONG Value, ULONG Minimum, ULONG Maximum, ULONG Default, PCSTR Name)
{
    if (Value == 0)
        return Default;
    if (Value < Minimum || Value > Maximum) {
        ULONG v = Value < Minimum ? Minimum : Maximum;
        DbgPrint("benchcl: %s=%lu is outside [%lu, %lu]; using %lu\n", Name, Value, Minimum,
                 Maximum, v);
        return v;
    }
    return Value;
}

static ULONG BenchclFlags(ULONG DispatchFlag)
{
    return KeGetCurrentIrql() == DISPATCH_LEVEL ? DispatchFlag : 0;
}

/* ======================================================================
 * Send resources (PASSIVE_LEVEL: bind and unbind)
 * ====================================================================== */

/* Frees what BenchclAllocate made; each NBL is back by now (runs end only
 * when all chains are home), so nothing here is NDIS's. */
static VOID BenchclFree(PBENCHCL_BINDING b)
{
    ULONG i, total = b->ChainCount * b->Chain;

    if (b->Nbls != NULL) {
        for (i = 0; i < total; i++) {
            PNET_BUFFER_LIST nbl = b->Nbls[i];
            if (nbl == NULL)
                continue;
            if ((ULONG_PTR)NET_BUFFER_LIST_PROTOCOL_RESERVED(nbl)[0] & BENCHCL_IN_FLIGHT) {
                BenchclError("unbind: an NBL never came back; leaking it", i);
                continue;
            }
            NdisFreeMdl((PMDL)NET_BUFFER_LIST_PROTOCOL_RESERVED(nbl)[2]);
            NdisFreeNetBufferList(nbl);
        }
        NdisFreeMemoryWithTagPriority(g_ProtocolHandle, b->Nbls, BENCHCL_TAG_CHAIN);
        b->Nbls = NULL;
    }
    if (b->NblPool != NULL)
        NdisFreeNetBufferListPool(b->NblPool);
    b->NblPool = NULL;
    if (b->Chains != NULL)
        NdisFreeMemoryWithTagPriority(g_ProtocolHandle, b->Chains, BENCHCL_TAG_CHAIN);
    b->Chains = NULL;
    if (b->Data != NULL)
        NdisFreeMemoryWithTagPriority(g_ProtocolHandle, b->Data, BENCHCL_TAG_DATA);
    b->Data = NULL;
    if (b->Vcs != NULL)
        NdisFreeMemoryWithTagPriority(g_ProtocolHandle, b->Vcs, BENCHCL_TAG_VC);
    b->Vcs = NULL;
    if (b->ControlWorkItem != NULL)
        NdisFreeIoWorkItem(b->ControlWorkItem);
    b->ControlWorkItem = NULL;
    if (b->SendWorkItem != NULL)
        NdisFreeIoWorkItem(b->SendWorkItem);
    b->SendWorkItem = NULL;
}

/* The whole set, the chains and the VC table. All or nothing. */
static NDIS_STATUS BenchclAllocate(PBENCHCL_BINDING b)
{
    NET_BUFFER_LIST_POOL_PARAMETERS pool;
    ULONG total = b->ChainCount * b->Chain;
    ULONG c, i;

    b->ControlWorkItem = NdisAllocateIoWorkItem(g_ProtocolHandle);
    b->SendWorkItem = NdisAllocateIoWorkItem(g_ProtocolHandle);
    b->Vcs = NdisAllocateMemoryWithTagPriority(g_ProtocolHandle,
                                               b->VcCount * (ULONG)sizeof(BENCHCL_VC),
                                               BENCHCL_TAG_VC, NormalPoolPriority);
    b->Chains = NdisAllocateMemoryWithTagPriority(g_ProtocolHandle,
                                                  b->ChainCount * (ULONG)sizeof(BENCHCL_CHAIN),
                                                  BENCHCL_TAG_CHAIN, NormalPoolPriority);
    b->Nbls = NdisAllocateMemoryWithTagPriority(g_ProtocolHandle,
                                                total * (ULONG)sizeof(PNET_BUFFER_LIST),
                                                BENCHCL_TAG_CHAIN, NormalPoolPriority);
    b->Data = NdisAllocateMemoryWithTagPriority(g_ProtocolHandle, total * b->Size,
                                                BENCHCL_TAG_DATA, NormalPoolPriority);
    if (b->ControlWorkItem == NULL || b->SendWorkItem == NULL || b->Vcs == NULL ||
        b->Chains == NULL || b->Nbls == NULL || b->Data == NULL)
        return NDIS_STATUS_RESOURCES;
    NdisZeroMemory(b->Vcs, b->VcCount * sizeof(BENCHCL_VC));
    NdisZeroMemory(b->Chains, b->ChainCount * sizeof(BENCHCL_CHAIN));
    NdisZeroMemory(b->Nbls, total * sizeof(PNET_BUFFER_LIST));
    for (i = 0; i < total * b->Size; i++)
        b->Data[i] = (UCHAR)(i % b->Size);

    NdisZeroMemory(&pool, sizeof(pool));
    pool.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    pool.Header.Revision = NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    pool.Header.Size = NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    pool.ProtocolId = NDIS_PROTOCOL_ID_DEFAULT;
    pool.fAllocateNetBuffer = TRUE;
    pool.ContextSize = 0;
    pool.PoolTag = BENCHCL_TAG_POOL;
    pool.DataSize = 0; /* the data is benchcl's own, described by its MDLs */
    b->NblPool = NdisAllocateNetBufferListPool(g_ProtocolHandle, &pool);
    if (b->NblPool == NULL)
        return NDIS_STATUS_RESOURCES;

    for (c = 0; c < b->ChainCount; c++) {
        PBENCHCL_CHAIN chain = &b->Chains[c];
        PNET_BUFFER_LIST prev = NULL;

        chain->Length = b->Chain;
        for (i = 0; i < b->Chain; i++) {
            ULONG k = c * b->Chain + i;
            PMDL mdl = NdisAllocateMdl(g_ProtocolHandle, b->Data + (SIZE_T)k * b->Size, b->Size);
            PNET_BUFFER_LIST nbl;

            if (mdl == NULL)
                return NDIS_STATUS_RESOURCES;
            nbl = NdisAllocateNetBufferAndNetBufferList(b->NblPool, 0, 0, mdl, 0, b->Size);
            if (nbl == NULL) {
                NdisFreeMdl(mdl);
                return NDIS_STATUS_RESOURCES;
            }
            b->Nbls[k] = nbl;
            NET_BUFFER_LIST_PROTOCOL_RESERVED(nbl)[0] = chain;
            NET_BUFFER_LIST_PROTOCOL_RESERVED(nbl)[1] = NULL;
            NET_BUFFER_LIST_PROTOCOL_RESERVED(nbl)[2] = mdl;
            NET_BUFFER_LIST_PROTOCOL_RESERVED(nbl)[3] = NET_BUFFER_LIST_FIRST_NB(nbl);
            NET_BUFFER_LIST_STATUS(nbl) = NDIS_STATUS_SUCCESS;
            if (prev == NULL) {
                chain->Head = nbl;
            } else {
                NET_BUFFER_LIST_PROTOCOL_RESERVED(prev)[1] = nbl;
                NET_BUFFER_LIST_NEXT_NBL(prev) = nbl;
            }
            prev = nbl;
        }
        /* All chains start on the sender's private list. */
        chain->Next = b->Local;
        b->Local = chain;
    }
    return NDIS_STATUS_SUCCESS;
}

/* ======================================================================
 * The send path
 * ====================================================================== */

/*
 * Any thread, IRQL <= DISPATCH_LEVEL, no lock held. Puts a list of chains,
 * every NBL of them back and reset, on the free set (First..Last linked
 * through Next), and wakes a blocked sender. The static binding block is
 * all this touches after the push.
 */
static FORCEINLINE VOID BenchclPushChains(PBENCHCL_BINDING b, PBENCHCL_CHAIN First,
                                          PBENCHCL_CHAIN Last)
{
    PBENCHCL_CHAIN top;

    do {
        top = b->FreeTop;
        Last->Next = top;
    } while (InterlockedCompareExchangePointer((PVOID volatile *)&b->FreeTop, First, top) != top);
    if (b->SenderWaiting)
        NdisSetEvent(&b->WakeEvent);
}

/* IRQL <= DISPATCH_LEVEL. Restores an NBL's NET_BUFFER if a lower layer
 * left it changed; TRUE when it had to (the caller counts the error). */
static FORCEINLINE BOOLEAN BenchclRestoreNb(const BENCHCL_BINDING *b, PNET_BUFFER_LIST Nbl)
{
    PNET_BUFFER nb = (PNET_BUFFER)NET_BUFFER_LIST_PROTOCOL_RESERVED(Nbl)[3];
    PMDL mdl = (PMDL)NET_BUFFER_LIST_PROTOCOL_RESERVED(Nbl)[2];

    if (NET_BUFFER_LIST_FIRST_NB(Nbl) == nb && NET_BUFFER_NEXT_NB(nb) == NULL &&
        NET_BUFFER_FIRST_MDL(nb) == mdl && NET_BUFFER_CURRENT_MDL(nb) == mdl &&
        NET_BUFFER_CURRENT_MDL_OFFSET(nb) == 0 && NET_BUFFER_DATA_OFFSET(nb) == 0 &&
        NET_BUFFER_DATA_LENGTH(nb) == b->Size)
        return FALSE;
    NET_BUFFER_LIST_FIRST_NB(Nbl) = nb;
    NET_BUFFER_NEXT_NB(nb) = NULL;
    NDIS_MDL_LINKAGE(mdl) = NULL;
    NET_BUFFER_FIRST_MDL(nb) = mdl;
    NET_BUFFER_CURRENT_MDL(nb) = mdl;
    NET_BUFFER_CURRENT_MDL_OFFSET(nb) = 0;
    NET_BUFFER_DATA_OFFSET(nb) = 0;
    NET_BUFFER_DATA_LENGTH(nb) = b->Size;
    return TRUE;
}

/*
 * ProtocolCoSendNetBufferListsComplete, IRQL <= DISPATCH_LEVEL, in any
 * order and grouping, possibly inside the send call on the sender's thread.
 * On entry benchcl owns the NBLs again with everything attached (the seed
 * page); each final status is in NET_BUFFER_LIST_STATUS.
 *
 * Per NBL: the in-flight bit (exactly once), the status, the VC (its
 * SourceHandle must be this VC's handle, NBL-1: it was sent here), then the
 * reset. Per run of NBLs of one chain: one interlocked subtraction from the
 * chain's outstanding count; the chains that are complete go to the free set
 * together, with one push. Never sends, so inline completion cannot recurse.
 */
_Use_decl_annotations_
static VOID BenchclCoSendNetBufferListsComplete(NDIS_HANDLE ProtocolVcContext,
                                                PNET_BUFFER_LIST NetBufferLists,
                                                ULONG SendCompleteFlags)
{
    PBENCHCL_BINDING b = &g_B;
    PBENCHCL_VC vc = (PBENCHCL_VC)ProtocolVcContext;
    NDIS_HANDLE vcHandle;
    PBENCHCL_CHAIN run = NULL, doneFirst = NULL, doneLast = NULL;
    LONG runCount = 0;
    ULONG bad = 0, notOurs = 0, twice = 0, restored = 0;
    PNET_BUFFER_LIST nbl, next;

    UNREFERENCED_PARAMETER(SendCompleteFlags);
    if (b->Vcs == NULL || vc < b->Vcs || vc >= b->Vcs + b->VcCount) {
        BenchclError("send complete: a ProtocolVcContext that is not benchcl's; its NBLs are "
                     "lost", (ULONG_PTR)ProtocolVcContext);
        return;
    }
    vcHandle = vc->NdisVcHandle;

    for (nbl = NetBufferLists; nbl != NULL; nbl = next) {
        ULONG_PTR tag = (ULONG_PTR)NET_BUFFER_LIST_PROTOCOL_RESERVED(nbl)[0];
        PBENCHCL_CHAIN chain = (PBENCHCL_CHAIN)(tag & ~BENCHCL_IN_FLIGHT);

        next = NET_BUFFER_LIST_NEXT_NBL(nbl);
        if (chain < b->Chains || chain >= b->Chains + b->ChainCount) {
            notOurs++; /* not benchcl's: nothing to give it back to */
            continue;
        }
        if (!(tag & BENCHCL_IN_FLIGHT)) {
            twice++; /* on the free set or in another completion: hands off */
            continue;
        }
        NET_BUFFER_LIST_PROTOCOL_RESERVED(nbl)[0] = chain;
        if (NET_BUFFER_LIST_STATUS(nbl) != NDIS_STATUS_SUCCESS || nbl->SourceHandle != vcHandle)
            bad++;
        NET_BUFFER_LIST_STATUS(nbl) = NDIS_STATUS_SUCCESS;
        NET_BUFFER_LIST_NEXT_NBL(nbl) = (PNET_BUFFER_LIST)NET_BUFFER_LIST_PROTOCOL_RESERVED(nbl)[1];
        if (BenchclRestoreNb(b, nbl))
            restored++;

        if (chain != run) {
            if (run != NULL && InterlockedAdd(&run->Outstanding, -runCount) == 0) {
                run->Next = doneFirst;
                doneFirst = run;
                if (doneLast == NULL)
                    doneLast = run;
            }
            run = chain;
            runCount = 0;
        }
        runCount++;
    }
    if (run != NULL && InterlockedAdd(&run->Outstanding, -runCount) == 0) {
        run->Next = doneFirst;
        doneFirst = run;
        if (doneLast == NULL)
            doneLast = run;
    }
    if (doneFirst != NULL)
        BenchclPushChains(b, doneFirst, doneLast);

    if (bad != 0)
        BenchclError("send complete: NBLs with a failure status or completed on a VC they were "
                     "not sent on", bad);
    if (twice != 0)
        BenchclError("send complete: NBLs that were not in flight (completed twice?)", twice);
    if (notOurs != 0)
        BenchclError("send complete: NBLs that are not benchcl's", notOurs);
    if (restored != 0)
        BenchclError("send complete: NET_BUFFERs came back changed (restored)", restored);
}

/* Any thread, IRQL <= DISPATCH_LEVEL. Returns every kept receive. */
static VOID BenchclFlushKept(PBENCHCL_BINDING b)
{
    PNET_BUFFER_LIST list, nbl;
    LONG n = 0;

    list = (PNET_BUFFER_LIST)InterlockedExchangePointer((PVOID volatile *)&b->KeptTop, NULL);
    if (list == NULL)
        return;
    for (nbl = list; nbl != NULL; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl))
        n++;
    InterlockedAdd(&b->KeptCount, -n);
    NdisReturnNetBufferLists(b->BindingHandle, list,
                             BenchclFlags(NDIS_RETURN_FLAGS_DISPATCH_LEVEL));
}

/* The sender, PASSIVE_LEVEL. Waits until the free set has something; spins
 * first, then blocks (see the top). Kept receives go back while it waits:
 * a miniport such as loop completes a send only once its receive is back. */
static VOID BenchclWaitFree(PBENCHCL_BINDING b)
{
    ULONG64 start = 0;
    ULONG spins = 0;

    for (;;) {
        if (b->FreeTop != NULL)
            return;
        if (b->KeptTop != NULL)
            BenchclFlushKept(b);
        BENCHCL_PAUSE();
        if ((++spins & 63) != 0)
            continue;
        if (start == 0) {
            start = BenchclNow();
            continue;
        }
        if (BenchclTicksToNs(BenchclNow() - start, b->Frequency) < BENCHCL_SPIN_NS)
            continue;
        NdisResetEvent(&b->WakeEvent);
        InterlockedExchange(&b->SenderWaiting, 1);
        if (b->FreeTop == NULL)
            NdisWaitEvent(&b->WakeEvent, BENCHCL_WAIT_MS);
        InterlockedExchange(&b->SenderWaiting, 0);
    }
}

/* The sender: the next free chain, waiting for one if need be. */
static FORCEINLINE PBENCHCL_CHAIN BenchclTakeChain(PBENCHCL_BINDING b)
{
    PBENCHCL_CHAIN c, got;

    /* The most recently completed chain first, as a pool's free list hands
     * out its most recently freed descriptor: the NBLs that are reused are
     * the ones still in the cache, and the working set is what is in flight,
     * not the whole set. (Cycling through all of it would measure cache
     * misses on the client's own NBLs, which no pool-based sender makes.) */
    while (b->FreeTop != NULL || b->Local == NULL) {
        got = (PBENCHCL_CHAIN)InterlockedExchangePointer((PVOID volatile *)&b->FreeTop, NULL);
        if (got == NULL) {
            if (b->Local != NULL)
                break;
            BenchclWaitFree(b);
            continue;
        }
        for (c = got; c->Next != NULL; c = c->Next)
            ;
        c->Next = b->Local;
        b->Local = got;
        break;
    }
    c = b->Local;
    b->Local = c->Next;
    return c;
}

/* Send the first n NBLs of chain c, which is off the free set and so this
 * thread's alone, on vcHandle. */
static FORCEINLINE VOID BenchclSendChain(PBENCHCL_CHAIN c, ULONG n, NDIS_HANDLE vcHandle)
{
    PNET_BUFFER_LIST nbl = c->Head, last = NULL;
    ULONG i;

    for (i = 0; i < n; i++) {
        nbl->SourceHandle = vcHandle; /* NBL-1: NDIS routes the completion by it */
        NET_BUFFER_LIST_PROTOCOL_RESERVED(nbl)[0] = (PVOID)((ULONG_PTR)c | BENCHCL_IN_FLIGHT);
        last = nbl;
        nbl = NET_BUFFER_LIST_NEXT_NBL(nbl);
    }
    if (n < c->Length)
        NET_BUFFER_LIST_NEXT_NBL(last) = NULL; /* the completion restores the link */
    c->Outstanding = (LONG)n;
    NdisCoSendNetBufferLists(vcHandle, c->Head, 0); /* PASSIVE_LEVEL: no flag */
}

static VOID BenchclWaitHome(PBENCHCL_BINDING b);

/*
 * Once, before the first run is timed: send every chain of the set once,
 * in order. Whatever condis and the miniport keep per NBL (a verifier
 * shadow, a pool grown to what is in flight) then exists before anything
 * is timed; after that, reuse of the most recently completed chain touches
 * only a few of them, and only a run that keeps more in flight than this
 * pass did could need more.
 */
static VOID BenchclPrime(PBENCHCL_BINDING b)
{
    PBENCHCL_CHAIN all = b->Local, c, next;
    ULONG v = 0;

    b->Local = NULL;
    for (c = all; c != NULL; c = next) {
        next = c->Next;
        BenchclSendChain(c, c->Length, b->Vcs[v].NdisVcHandle);
        if (++v == b->VcCount)
            v = 0;
    }
    BenchclWaitHome(b);
    b->Primed = TRUE;
}

/*
 * NDIS_IO_WORKITEM_FUNCTION, PASSIVE_LEVEL: one run. Sends RunCount NBLs,
 * chain k on VC k % VcCount, then takes every chain back; the run ends when
 * all of them are home, so nothing is in flight between runs.
 */
_Use_decl_annotations_
static VOID BenchclSendWorker(PVOID WorkItemContext, NDIS_HANDLE NdisIoWorkItemHandle)
{
    PBENCHCL_BINDING b = (PBENCHCL_BINDING)WorkItemContext;
    ULONG64 left = b->RunCount;
    ULONG64 received0;
    ULONG v = 0;

    UNREFERENCED_PARAMETER(NdisIoWorkItemHandle);
    if (!b->Primed)
        BenchclPrime(b);
    received0 = (ULONG64)InterlockedExchangeAdd64(&b->Received, 0);
    cn_bench_alloc_count(&b->RunAllocs[0]);
    b->RunStart = BenchclNow();
    while (left != 0) {
        ULONG n = left < b->Chain ? (ULONG)left : b->Chain;
        NDIS_HANDLE vcHandle = b->Vcs[v].NdisVcHandle;

        if (++v == b->VcCount)
            v = 0;
        BenchclSendChain(BenchclTakeChain(b), n, vcHandle);
        left -= n;
    }
    BenchclWaitHome(b);
    b->RunEnd = BenchclNow();
    cn_bench_alloc_count(&b->RunAllocs[1]);
    BenchclFlushKept(b); /* a receive kept without a send waiting for it */
    b->RunReceived = (ULONG64)InterlockedExchangeAdd64(&b->Received, 0) - received0;
    NdisSetEvent(&b->DoneEvent);
}

/* Every chain home: count the private list, then collect the rest. */
static VOID BenchclWaitHome(PBENCHCL_BINDING b)
{
    ULONG home = 0;
    PBENCHCL_CHAIN c;

    for (c = b->Local; c != NULL; c = c->Next)
        home++;
    while (home < b->ChainCount) {
        PBENCHCL_CHAIN got =
            (PBENCHCL_CHAIN)InterlockedExchangePointer((PVOID volatile *)&b->FreeTop, NULL);
        if (got == NULL) {
            BenchclWaitFree(b);
            continue;
        }
        for (c = got;; c = c->Next) {
            home++;
            if (c->Next == NULL)
                break;
        }
        c->Next = b->Local;
        b->Local = got;
    }
}

/* ======================================================================
 * Receive
 * ====================================================================== */

/*
 * ProtocolCoReceiveNetBufferLists, IRQL <= DISPATCH_LEVEL, possibly on
 * several processors at once. benchcl owns the chain on entry unless
 * NDIS_RECEIVE_FLAGS_RESOURCES: then it is only lent for the call. Counted;
 * returned at once, or kept (pushed on a lock-free stack, as the free set)
 * and returned KeepBatch at a time.
 */
_Use_decl_annotations_
static VOID BenchclCoReceiveNetBufferLists(NDIS_HANDLE ProtocolBindingContext,
                                           NDIS_HANDLE ProtocolVcContext,
                                           PNET_BUFFER_LIST NetBufferLists,
                                           ULONG NumberOfNetBufferLists, ULONG ReceiveFlags)
{
    PBENCHCL_BINDING b = &g_B;
    PNET_BUFFER_LIST tail, top;

    UNREFERENCED_PARAMETER(ProtocolVcContext);
    if (ProtocolBindingContext != b || NetBufferLists == NULL) {
        BenchclError("receive: a ProtocolBindingContext that is not benchcl's",
                     (ULONG_PTR)ProtocolBindingContext);
        return;
    }
    InterlockedAdd64(&b->Received, NumberOfNetBufferLists);
    if (NDIS_TEST_RECEIVE_CANNOT_PEND(ReceiveFlags))
        return;
    if (!b->KeepReceives) {
        NdisReturnNetBufferLists(b->BindingHandle, NetBufferLists,
                                 BenchclFlags(NDIS_RETURN_FLAGS_DISPATCH_LEVEL));
        return;
    }
    for (tail = NetBufferLists; NET_BUFFER_LIST_NEXT_NBL(tail) != NULL;
         tail = NET_BUFFER_LIST_NEXT_NBL(tail))
        ;
    do {
        top = b->KeptTop;
        NET_BUFFER_LIST_NEXT_NBL(tail) = top;
    } while (InterlockedCompareExchangePointer((PVOID volatile *)&b->KeptTop, NetBufferLists,
                                               top) != top);
    if (InterlockedAdd(&b->KeptCount, (LONG)NumberOfNetBufferLists) >= (LONG)b->KeepBatch)
        BenchclFlushKept(b);
}

/* ======================================================================
 * Calls (the control path)
 * ====================================================================== */

/* Point to point, both directions, Size bytes; the rest is the call
 * manager's choice. Reset before each use: the call manager may have
 * rewritten the block. */
static VOID BenchclInitCallParameters(PBENCHCL_BINDING b, PBENCHCL_CALL_SLOT s)
{
    FLOWSPEC flow;

    flow.TokenRate = QOS_NOT_SPECIFIED;
    flow.TokenBucketSize = QOS_NOT_SPECIFIED;
    flow.PeakBandwidth = QOS_NOT_SPECIFIED;
    flow.Latency = QOS_NOT_SPECIFIED;
    flow.DelayVariation = QOS_NOT_SPECIFIED;
    flow.ServiceType = SERVICETYPE_BESTEFFORT;
    flow.MaxSduSize = b->Size;
    flow.MinimumPolicedSize = QOS_NOT_SPECIFIED;

    NdisZeroMemory(&s->CallMgrParameters, sizeof(s->CallMgrParameters));
    s->CallMgrParameters.Transmit = flow;
    s->CallMgrParameters.Receive = flow;
    NdisZeroMemory(&s->MediaParameters, sizeof(s->MediaParameters));
    s->MediaParameters.Flags = TRANSMIT_VC | RECEIVE_VC;
    s->MediaParameters.ReceiveSizeHint = b->Size;
    NdisZeroMemory(&s->CallParameters, sizeof(s->CallParameters));
    s->CallParameters.CallMgrParameters = &s->CallMgrParameters;
    s->CallParameters.MediaParameters = &s->MediaParameters;
}

static VOID BenchclPutSlot(PBENCHCL_BINDING b, PBENCHCL_CALL_SLOT s)
{
    NdisAcquireSpinLock(&b->Lock);
    s->Next = b->FreeSlots;
    b->FreeSlots = s;
    NdisReleaseSpinLock(&b->Lock);
}

/* Setup, PASSIVE_LEVEL: a free parameter block, waiting for a pended
 * make-call to give one back if all are lent. */
static PBENCHCL_CALL_SLOT BenchclTakeSlot(PBENCHCL_BINDING b)
{
    for (;;) {
        PBENCHCL_CALL_SLOT s;

        NdisResetEvent(&b->CallEvent);
        NdisAcquireSpinLock(&b->Lock);
        s = b->FreeSlots;
        if (s != NULL)
            b->FreeSlots = s->Next;
        NdisReleaseSpinLock(&b->Lock);
        if (s != NULL)
            return s;
        NdisWaitEvent(&b->CallEvent, 10);
    }
}

/* The end of a make-call, pended or not: the VC is active or not, and the
 * parameter block goes back. Pended: one fewer to wait for. */
static VOID BenchclMakeCallDone(PBENCHCL_VC Vc, PCO_CALL_PARAMETERS CallParameters,
                                NDIS_STATUS Status, BOOLEAN Pended)
{
    PBENCHCL_BINDING b = &g_B;

    if (Status == NDIS_STATUS_SUCCESS) {
        InterlockedExchange(&Vc->State, BenchclVcActive);
    } else {
        Vc->Status = Status;
        InterlockedExchange(&Vc->State, BenchclVcCallFailed);
    }
    if (CallParameters != NULL)
        BenchclPutSlot(b, CONTAINING_RECORD(CallParameters, BENCHCL_CALL_SLOT, CallParameters));
    if (Pended) {
        InterlockedDecrement(&b->CallsPending);
        NdisSetEvent(&b->CallEvent);
    }
}

/* ProtocolClMakeCallComplete, IRQL <= DISPATCH_LEVEL: only after a make-call
 * that returned NDIS_STATUS_PENDING (the setup handles the others). */
_Use_decl_annotations_
static VOID BenchclClMakeCallComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolVcContext,
                                      NDIS_HANDLE NdisPartyHandle,
                                      PCO_CALL_PARAMETERS CallParameters)
{
    PBENCHCL_BINDING b = &g_B;
    PBENCHCL_VC vc = (PBENCHCL_VC)ProtocolVcContext;
    PBENCHCL_CALL_SLOT s;

    UNREFERENCED_PARAMETER(NdisPartyHandle);
    if (b->Vcs == NULL || vc < b->Vcs || vc >= b->Vcs + b->VcCount ||
        vc->State != BenchclVcCalling) {
        BenchclError("make call complete for no call being made", (ULONG_PTR)ProtocolVcContext);
        return;
    }
    s = CallParameters == NULL ? NULL
                               : CONTAINING_RECORD(CallParameters, BENCHCL_CALL_SLOT,
                                                   CallParameters);
    if (s < b->Slots || s >= b->Slots + BENCHCL_CALL_SLOTS) {
        BenchclError("make call complete: CallParameters are not benchcl's", (ULONG_PTR)s);
        CallParameters = NULL; /* the block is lost; setup may run short of them */
    }
    BenchclMakeCallDone(vc, CallParameters, Status, TRUE);
}

static VOID BenchclCloseCallDone(PBENCHCL_VC Vc, NDIS_STATUS Status, BOOLEAN Pended)
{
    PBENCHCL_BINDING b = &g_B;

    if (Status == NDIS_STATUS_SUCCESS) {
        InterlockedExchange(&Vc->State, BenchclVcCallDown);
    } else {
        Vc->Status = Status;
        InterlockedExchange(&Vc->State, BenchclVcBroken);
        BenchclError("NdisClCloseCall failed; the VC cannot be deleted", (ULONG)Status);
    }
    if (Pended) {
        InterlockedDecrement(&b->CallsPending);
        NdisSetEvent(&b->CallEvent);
    }
}

_Use_decl_annotations_
static VOID BenchclClCloseCallComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolVcContext,
                                       NDIS_HANDLE ProtocolPartyContext)
{
    PBENCHCL_BINDING b = &g_B;
    PBENCHCL_VC vc = (PBENCHCL_VC)ProtocolVcContext;

    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    if (b->Vcs == NULL || vc < b->Vcs || vc >= b->Vcs + b->VcCount ||
        vc->State != BenchclVcClosing) {
        BenchclError("close call complete for no close being made", (ULONG_PTR)ProtocolVcContext);
        return;
    }
    BenchclCloseCallDone(vc, Status, TRUE);
}

/* The far end or the call manager ended a call: sends on it now fail (and
 * count as errors); teardown answers with NdisClCloseCall. */
_Use_decl_annotations_
static VOID BenchclClIncomingCloseCall(NDIS_STATUS CloseStatus, NDIS_HANDLE ProtocolVcContext,
                                       PVOID CloseData, UINT Size)
{
    PBENCHCL_BINDING b = &g_B;
    PBENCHCL_VC vc = (PBENCHCL_VC)ProtocolVcContext;

    UNREFERENCED_PARAMETER(CloseData);
    UNREFERENCED_PARAMETER(Size);
    if (b->Vcs == NULL || vc < b->Vcs || vc >= b->Vcs + b->VcCount)
        return;
    if (InterlockedCompareExchange(&vc->State, BenchclVcPeerClosed, BenchclVcActive) ==
        BenchclVcActive)
        BenchclError("the call manager closed a call", (ULONG)CloseStatus);
}

/* Setup, PASSIVE_LEVEL: waits until no make/close call is pending. */
static VOID BenchclWaitCalls(PBENCHCL_BINDING b)
{
    for (;;) {
        NdisResetEvent(&b->CallEvent);
        if (InterlockedCompareExchange(&b->CallsPending, 0, 0) == 0)
            return;
        NdisWaitEvent(&b->CallEvent, 10);
    }
}

/* NDIS_IO_WORKITEM_FUNCTION, PASSIVE_LEVEL, once per binding, when the
 * family is open: creates the VCs and makes a call on each. */
_Use_decl_annotations_
static VOID BenchclSetupWorker(PVOID WorkItemContext, NDIS_HANDLE NdisIoWorkItemHandle)
{
    PBENCHCL_BINDING b = (PBENCHCL_BINDING)WorkItemContext;
    int result = 0;
    ULONG i, active = 0;

    UNREFERENCED_PARAMETER(NdisIoWorkItemHandle);
    for (i = 0; i < b->VcCount && !b->Unbinding; i++) {
        PBENCHCL_VC vc = &b->Vcs[i];
        NDIS_HANDLE vcHandle = NULL;
        PBENCHCL_CALL_SLOT s;
        NDIS_STATUS status;

        status = NdisCoCreateVc(b->BindingHandle, b->AfHandle, vc, &vcHandle);
        if (status != NDIS_STATUS_SUCCESS) {
            DbgPrint("benchcl: NdisCoCreateVc for VC %lu failed (0x%08lx)\n", i, (ULONG)status);
            result = -EIO;
            break;
        }
        vc->NdisVcHandle = vcHandle;
        s = BenchclTakeSlot(b);
        BenchclInitCallParameters(b, s);
        InterlockedExchange(&vc->State, BenchclVcCalling);
        InterlockedIncrement(&b->CallsPending);
        status = NdisClMakeCall(vcHandle, &s->CallParameters, NULL, NULL);
        if (status != NDIS_STATUS_PENDING) {
            InterlockedDecrement(&b->CallsPending);
            BenchclMakeCallDone(vc, &s->CallParameters, status, FALSE);
        }
    }
    BenchclWaitCalls(b);
    for (i = 0; i < b->VcCount; i++) {
        if (b->Vcs[i].State == BenchclVcActive) {
            active++;
        } else if (b->Vcs[i].State == BenchclVcCallFailed) {
            if (result == 0)
                DbgPrint("benchcl: NdisClMakeCall on VC %lu failed (0x%08lx)\n", i,
                         (ULONG)b->Vcs[i].Status);
            result = -EIO;
        }
    }
    if (result == 0 && active != b->VcCount)
        result = -EIO;
    NdisAcquireSpinLock(&b->Lock);
    b->SetupResult = result;
    b->SetupDone = TRUE;
    NdisReleaseSpinLock(&b->Lock);
    NdisSetEvent(&b->ReadyEvent);
}

/* PASSIVE_LEVEL. Closes the family if it is open, waiting if that pends,
 * and answers a pended close request of the call manager. */
static NDIS_STATUS BenchclCloseAf(PBENCHCL_BINDING b)
{
    NDIS_HANDLE afHandle;
    NDIS_STATUS status;
    BOOLEAN notify;

    NdisAcquireSpinLock(&b->Lock);
    if (b->AfState != BenchclAfOpen) {
        NdisReleaseSpinLock(&b->Lock);
        return NDIS_STATUS_SUCCESS;
    }
    b->AfState = BenchclAfClosing;
    afHandle = b->AfHandle;
    NdisResetEvent(&b->AfEvent);
    NdisReleaseSpinLock(&b->Lock);

    status = NdisClCloseAddressFamily(afHandle);
    if (status != NDIS_STATUS_PENDING)
        BenchclClCloseAfComplete(status, b);
    NdisWaitEvent(&b->AfEvent, 0);

    NdisAcquireSpinLock(&b->Lock);
    status = b->AfStatus;
    notify = b->NotifyClosePending;
    b->NotifyClosePending = FALSE;
    if (b->AfState == BenchclAfClosed)
        b->AfHandle = NULL;
    NdisReleaseSpinLock(&b->Lock);
    if (status != NDIS_STATUS_SUCCESS)
        BenchclError("NdisClCloseAddressFamily failed", (ULONG)status);
    if (notify)
        NdisClNotifyCloseAddressFamilyComplete(afHandle, status);
    return status;
}

/* PASSIVE_LEVEL (teardown work item or unbind). Closes every call, deletes
 * every VC, closes the family. Returns 0 or -EIO. */
static int BenchclTearDown(PBENCHCL_BINDING b)
{
    int result = 0;
    ULONG i;

    if (b->Vcs != NULL) {
        for (i = 0; i < b->VcCount; i++) {
            PBENCHCL_VC vc = &b->Vcs[i];
            LONG state = vc->State;
            NDIS_STATUS status;

            if (state != BenchclVcActive && state != BenchclVcPeerClosed)
                continue;
            InterlockedExchange(&vc->State, BenchclVcClosing);
            InterlockedIncrement(&b->CallsPending);
            status = NdisClCloseCall(vc->NdisVcHandle, NULL, NULL, 0);
            if (status != NDIS_STATUS_PENDING) {
                InterlockedDecrement(&b->CallsPending);
                BenchclCloseCallDone(vc, status, FALSE);
            }
        }
        BenchclWaitCalls(b);
        for (i = 0; i < b->VcCount; i++) {
            PBENCHCL_VC vc = &b->Vcs[i];
            LONG state = vc->State;
            NDIS_STATUS status;

            if (state == BenchclVcBroken)
                result = -EIO;
            if (state != BenchclVcCreated && state != BenchclVcCallFailed &&
                state != BenchclVcCallDown)
                continue;
            status = NdisCoDeleteVc(vc->NdisVcHandle);
            if (status == NDIS_STATUS_SUCCESS) {
                vc->NdisVcHandle = NULL;
                InterlockedExchange(&vc->State, BenchclVcDeleted);
            } else {
                vc->Status = status;
                InterlockedExchange(&vc->State, BenchclVcBroken);
                BenchclError("NdisCoDeleteVc failed", (ULONG)status);
                result = -EIO;
            }
        }
    }
    if (BenchclCloseAf(b) != NDIS_STATUS_SUCCESS)
        result = -EIO;
    return result;
}

_Use_decl_annotations_
static VOID BenchclTeardownWorker(PVOID WorkItemContext, NDIS_HANDLE NdisIoWorkItemHandle)
{
    PBENCHCL_BINDING b = (PBENCHCL_BINDING)WorkItemContext;

    UNREFERENCED_PARAMETER(NdisIoWorkItemHandle);
    b->TeardownResult = BenchclTearDown(b);
    /* The work item releases the binding itself: whoever queued it may
     * have stopped waiting (a timeout, or a call manager's request). */
    NdisAcquireSpinLock(&b->Lock);
    b->TornDown = TRUE;
    b->Busy = FALSE;
    NdisReleaseSpinLock(&b->Lock);
    NdisSetEvent(&b->DoneEvent);
    NdisSetEvent(&b->IdleEvent);
}

/* ======================================================================
 * Address family
 * ====================================================================== */

_Use_decl_annotations_
static VOID BenchclClOpenAfCompleteEx(NDIS_HANDLE ProtocolAfContext, NDIS_HANDLE NdisAfHandle,
                                      NDIS_STATUS Status)
{
    PBENCHCL_BINDING b = &g_B;
    BOOLEAN setup = FALSE;

    if (ProtocolAfContext != b) {
        BenchclError("open AF complete: not benchcl's family", (ULONG_PTR)ProtocolAfContext);
        return;
    }
    NdisAcquireSpinLock(&b->Lock);
    b->AfStatus = Status;
    if (Status == NDIS_STATUS_SUCCESS && NdisAfHandle != NULL) {
        b->AfHandle = NdisAfHandle;
        b->AfState = BenchclAfOpen;
        setup = !b->SetupQueued && !b->Unbinding;
        b->SetupQueued = TRUE;
    } else {
        b->AfState = BenchclAfClosed;
        b->SetupResult = -EIO;
        b->SetupDone = TRUE;
    }
    NdisReleaseSpinLock(&b->Lock);
    if (Status != NDIS_STATUS_SUCCESS) {
        DbgPrint("benchcl: NdisClOpenAddressFamilyEx failed (0x%08lx)\n", (ULONG)Status);
        NdisSetEvent(&b->ReadyEvent);
    } else if (setup) {
        NdisQueueIoWorkItem(b->ControlWorkItem, BenchclSetupWorker, b);
    }
    NdisSetEvent(&b->AfEvent);
}

_Use_decl_annotations_
static VOID BenchclClCloseAfComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolAfContext)
{
    PBENCHCL_BINDING b = &g_B;

    if (ProtocolAfContext != b) {
        BenchclError("close AF complete: not benchcl's family", (ULONG_PTR)ProtocolAfContext);
        return;
    }
    NdisAcquireSpinLock(&b->Lock);
    b->AfState = Status == NDIS_STATUS_SUCCESS ? BenchclAfClosed : BenchclAfOpen;
    b->AfStatus = Status;
    NdisReleaseSpinLock(&b->Lock);
    NdisSetEvent(&b->AfEvent);
}

/* The call manager wants the family closed (it is going away). Closing
 * takes closing the calls first, which waits: pend, and let the teardown
 * (queued here unless the harness or unbind runs it) answer. */
_Use_decl_annotations_
static NDIS_STATUS BenchclClNotifyCloseAf(NDIS_HANDLE ClientAfContext)
{
    PBENCHCL_BINDING b = &g_B;
    BOOLEAN queue = FALSE;

    if (ClientAfContext != b)
        return NDIS_STATUS_FAILURE;
    NdisAcquireSpinLock(&b->Lock);
    if (b->AfState != BenchclAfOpen) {
        NdisReleaseSpinLock(&b->Lock);
        return NDIS_STATUS_SUCCESS; /* our own close is under way */
    }
    b->NotifyClosePending = TRUE;
    if (!b->Busy && !b->TornDown && b->SetupDone) {
        b->Busy = TRUE;
        NdisResetEvent(&b->IdleEvent);
        NdisResetEvent(&b->DoneEvent);
        queue = TRUE;
    }
    NdisReleaseSpinLock(&b->Lock);
    if (queue)
        NdisQueueIoWorkItem(b->ControlWorkItem, BenchclTeardownWorker, b);
    return NDIS_STATUS_PENDING;
}

static VOID BenchclOpenAf(PBENCHCL_BINDING b)
{
    NDIS_HANDLE afHandle = NULL;
    NDIS_STATUS status;

    status = NdisClOpenAddressFamilyEx(b->BindingHandle, &b->Family, b, &afHandle);
    if (status != NDIS_STATUS_PENDING)
        BenchclClOpenAfCompleteEx(b, afHandle, status);
}

/* ProtocolCoAfRegisterNotify, PASSIVE_LEVEL: the first family offered is
 * taken (opened now, or by bind once the adapter is open). */
_Use_decl_annotations_
static VOID BenchclCoAfRegisterNotify(NDIS_HANDLE ProtocolBindingContext,
                                      PCO_ADDRESS_FAMILY AddressFamily)
{
    PBENCHCL_BINDING b = &g_B;
    BOOLEAN open = FALSE;

    if (ProtocolBindingContext != b || AddressFamily == NULL)
        return;
    NdisAcquireSpinLock(&b->Lock);
    if (b->AfState == BenchclAfClosed && !b->SetupQueued && !b->AfOffered && !b->Unbinding) {
        b->Family = *AddressFamily;
        if (b->Bound) {
            b->AfState = BenchclAfOpening;
            open = TRUE;
        } else {
            b->AfOffered = TRUE;
        }
    }
    NdisReleaseSpinLock(&b->Lock);
    if (open)
        BenchclOpenAf(b);
}

/* ======================================================================
 * The host's interface (bench_client.h); host threads, PASSIVE_LEVEL
 * ====================================================================== */

void benchcl_configure(const struct cn_bench_client_cfg *cfg)
{
    if (cfg != NULL)
        g_Config = *cfg;
}

uint64_t benchcl_errors(void)
{
    return (uint64_t)InterlockedExchangeAdd64(&g_Errors, 0);
}

size_t benchcl_bytes_per_vc(void)
{
    return sizeof(BENCHCL_VC);
}

int benchcl_wait_ready(unsigned ms)
{
    PBENCHCL_BINDING b = &g_B;
    int result;

    if (!b->Bound)
        return -ENOTCONN;
    if (!NdisWaitEvent(&b->ReadyEvent, ms))
        return -ETIMEDOUT;
    NdisAcquireSpinLock(&b->Lock);
    result = b->SetupDone ? b->SetupResult : -EIO;
    NdisReleaseSpinLock(&b->Lock);
    return result;
}

/* Claims the binding for a run or a teardown. */
static int BenchclClaim(PBENCHCL_BINDING b, BOOLEAN NeedCalls)
{
    int result = 0;

    if (!b->Bound)
        return -ENOTCONN;
    NdisAcquireSpinLock(&b->Lock);
    if (b->Busy || b->Unbinding)
        result = -EBUSY;
    else if (!b->SetupDone && NeedCalls)
        result = -ENOTCONN;
    else if (NeedCalls && (b->SetupResult != 0 || b->TornDown))
        result = -ENOTCONN;
    if (result == 0) {
        b->Busy = TRUE;
        NdisResetEvent(&b->IdleEvent);
        NdisResetEvent(&b->DoneEvent);
    }
    NdisReleaseSpinLock(&b->Lock);
    return result;
}

static VOID BenchclRelease(PBENCHCL_BINDING b)
{
    NdisAcquireSpinLock(&b->Lock);
    b->Busy = FALSE;
    NdisReleaseSpinLock(&b->Lock);
    NdisSetEvent(&b->IdleEvent);
}

int benchcl_run(uint64_t count, uint64_t *elapsed_ns, uint64_t *received, uint64_t *allocs)
{
    PBENCHCL_BINDING b = &g_B;
    LONG64 errors;
    int result;

    if (count == 0)
        return -EINVAL;
    result = BenchclClaim(b, TRUE);
    if (result != 0)
        return result;
    errors = InterlockedExchangeAdd64(&g_Errors, 0);
    b->RunCount = count;
    NdisQueueIoWorkItem(b->SendWorkItem, BenchclSendWorker, b);
    NdisWaitEvent(&b->DoneEvent, 0);
    if (elapsed_ns != NULL)
        *elapsed_ns = BenchclTicksToNs(b->RunEnd - b->RunStart, b->Frequency);
    if (received != NULL)
        *received = b->RunReceived;
    if (allocs != NULL)
        *allocs = b->RunAllocs[1] - b->RunAllocs[0];
    BenchclRelease(b);
    return InterlockedExchangeAdd64(&g_Errors, 0) != errors ? -EIO : 0;
}

int benchcl_teardown(unsigned ms)
{
    PBENCHCL_BINDING b = &g_B;
    int result;

    /* Setup must have finished: it owns the VC table until then. */
    if (b->Bound && !NdisWaitEvent(&b->ReadyEvent, ms))
        return -ETIMEDOUT;
    result = BenchclClaim(b, FALSE);
    if (result != 0)
        return result;
    if (b->TornDown) {
        BenchclRelease(b);
        return b->TeardownResult;
    }
    NdisQueueIoWorkItem(b->ControlWorkItem, BenchclTeardownWorker, b);
    if (!NdisWaitEvent(&b->DoneEvent, ms))
        return -ETIMEDOUT; /* the work item goes on; unbind waits for it */
    return b->TeardownResult;
}

/* ======================================================================
 * Binding (PASSIVE_LEVEL)
 * ====================================================================== */

_Use_decl_annotations_
static VOID BenchclOpenAdapterCompleteEx(NDIS_HANDLE ProtocolBindingContext, NDIS_STATUS Status)
{
    PBENCHCL_BINDING b = &g_B;

    if (ProtocolBindingContext != b)
        return;
    b->OpStatus = Status;
    NdisSetEvent(&b->OpEvent);
}

_Use_decl_annotations_
static VOID BenchclCloseAdapterCompleteEx(NDIS_HANDLE ProtocolBindingContext)
{
    PBENCHCL_BINDING b = &g_B;

    if (ProtocolBindingContext != b)
        return;
    b->OpStatus = NDIS_STATUS_SUCCESS;
    NdisSetEvent(&b->OpEvent);
}

/* Everything of the binding block but the send-path fields is set here;
 * those start empty. */
static VOID BenchclInitBinding(PBENCHCL_BINDING b)
{
    struct cn_bench_client_cfg cfg = g_Config;
    LARGE_INTEGER frequency;
    ULONG set;

    NdisZeroMemory(b, sizeof(*b));
    b->VcCount = BenchclClamp(cfg.vcs, 1, BENCH_CLIENT_MAX_VCS, BENCHCL_DEFAULT_VCS, "vcs");
    b->Chain = BenchclClamp(cfg.chain, 1, BENCH_CLIENT_MAX_CHAIN, BENCHCL_DEFAULT_CHAIN, "chain");
    set = BenchclClamp(cfg.set, 2 * b->Chain, BENCHCL_MAX_SET, BENCHCL_DEFAULT_SET, "set");
    if (set < 2 * b->Chain)
        set = 2 * b->Chain;
    b->ChainCount = set / b->Chain;
    b->Size = BenchclClamp(cfg.size, 1, BENCHCL_MAX_SIZE, BENCHCL_DEFAULT_SIZE, "size");
    b->KeepReceives = cfg.keep_receives ? TRUE : FALSE;
    b->KeepBatch = MIN(MAX(b->Chain, 16u), b->ChainCount * b->Chain / 2);
    b->AfState = BenchclAfClosed;
    KeQueryPerformanceCounter(&frequency);
    b->Frequency = frequency.QuadPart;
    NdisAllocateSpinLock(&b->Lock);
    NdisInitializeEvent(&b->OpEvent);
    NdisInitializeEvent(&b->AfEvent);
    NdisInitializeEvent(&b->ReadyEvent);
    NdisInitializeEvent(&b->CallEvent);
    NdisInitializeEvent(&b->DoneEvent);
    NdisInitializeEvent(&b->IdleEvent);
    NdisInitializeEvent(&b->WakeEvent);
    NdisSetEvent(&b->IdleEvent);
    for (ULONG i = 0; i < BENCHCL_CALL_SLOTS; i++)
        BenchclPutSlot(b, &b->Slots[i]);
}

/*
 * ProtocolBindAdapterEx: allocates everything, then opens the adapter,
 * waiting if the open pends. One binding at a time: a second adapter is
 * declined.
 */
_Use_decl_annotations_
static NDIS_STATUS BenchclBindAdapterEx(NDIS_HANDLE ProtocolDriverContext, NDIS_HANDLE BindContext,
                                        PNDIS_BIND_PARAMETERS BindParameters)
{
    PBENCHCL_BINDING b = &g_B;
    NDIS_OPEN_PARAMETERS open;
    NDIS_MEDIUM medium = NdisMediumCoWan;
    UINT selected = 0;
    NDIS_STATUS status;
    BOOLEAN offered;

    UNREFERENCED_PARAMETER(ProtocolDriverContext);
    if (b->Bound || b->Vcs != NULL) {
        DbgPrint("benchcl: bound already; declining a second adapter\n");
        return NDIS_STATUS_FAILURE;
    }
    BenchclInitBinding(b);
    status = BenchclAllocate(b);
    if (status != NDIS_STATUS_SUCCESS) {
        DbgPrint("benchcl: not enough memory for %lu VCs and %lu NBLs of %lu bytes\n",
                 b->VcCount, b->ChainCount * b->Chain, b->Size);
        BenchclFree(b);
        NdisFreeSpinLock(&b->Lock);
        return status;
    }

    NdisZeroMemory(&open, sizeof(open));
    open.Header.Type = NDIS_OBJECT_TYPE_OPEN_PARAMETERS;
    open.Header.Revision = NDIS_OPEN_PARAMETERS_REVISION_1;
    open.Header.Size = NDIS_SIZEOF_OPEN_PARAMETERS_REVISION_1;
    open.AdapterName = BindParameters->AdapterName;
    open.MediumArray = &medium;
    open.MediumArraySize = 1;
    open.SelectedMediumIndex = &selected;
    open.FrameTypeArray = NULL;
    open.FrameTypeArraySize = 0;

    NdisResetEvent(&b->OpEvent);
    status = NdisOpenAdapterEx(g_ProtocolHandle, b, &open, BindContext, &b->BindingHandle);
    if (status == NDIS_STATUS_PENDING) {
        NdisWaitEvent(&b->OpEvent, 0); /* open stays valid: this frame waits */
        status = b->OpStatus;
    }
    if (status != NDIS_STATUS_SUCCESS) {
        if (status != NDIS_STATUS_UNSUPPORTED_MEDIA)
            DbgPrint("benchcl: NdisOpenAdapterEx failed (0x%08lx)\n", (ULONG)status);
        BenchclFree(b);
        NdisFreeSpinLock(&b->Lock);
        return status;
    }

    NdisAcquireSpinLock(&b->Lock);
    b->Bound = TRUE;
    offered = b->AfOffered;
    b->AfOffered = FALSE;
    if (offered)
        b->AfState = BenchclAfOpening;
    NdisReleaseSpinLock(&b->Lock);
    if (offered)
        BenchclOpenAf(b);
    return NDIS_STATUS_SUCCESS;
}

/*
 * ProtocolUnbindAdapterEx. Lets setup and any run or teardown finish (each
 * ends by itself: every send comes back), tears down what is left, frees
 * everything and closes the adapter.
 */
_Use_decl_annotations_
static NDIS_STATUS BenchclUnbindAdapterEx(NDIS_HANDLE UnbindContext,
                                          NDIS_HANDLE ProtocolBindingContext)
{
    PBENCHCL_BINDING b = &g_B;
    BOOLEAN setupQueued, tornDown;
    NDIS_STATUS status;

    UNREFERENCED_PARAMETER(UnbindContext);
    if (ProtocolBindingContext != b)
        return NDIS_STATUS_SUCCESS;

    NdisAcquireSpinLock(&b->Lock);
    b->Unbinding = TRUE;
    setupQueued = b->SetupQueued;
    NdisReleaseSpinLock(&b->Lock);
    if (b->AfState == BenchclAfOpening)
        NdisWaitEvent(&b->AfEvent, 0);
    if (setupQueued)
        NdisWaitEvent(&b->ReadyEvent, 0);
    NdisWaitEvent(&b->IdleEvent, 0);

    NdisAcquireSpinLock(&b->Lock);
    tornDown = b->TornDown;
    NdisReleaseSpinLock(&b->Lock);
    if (!tornDown)
        BenchclTearDown(b);
    /* Teardown returns with every call closed and so every send back;
     * the handlers that gave them back touch only g_B after that. */
    BenchclFree(b);

    NdisResetEvent(&b->OpEvent);
    status = NdisCloseAdapterEx(b->BindingHandle);
    if (status == NDIS_STATUS_PENDING)
        NdisWaitEvent(&b->OpEvent, 0);
    else if (status != NDIS_STATUS_SUCCESS)
        BenchclError("NdisCloseAdapterEx failed", (ULONG)status);
    b->Bound = FALSE;
    b->BindingHandle = NULL;
    NdisFreeSpinLock(&b->Lock);
    return NDIS_STATUS_SUCCESS;
}

/* A pause waits for a run under way to end (each does by itself). */
_Use_decl_annotations_
static NDIS_STATUS BenchclNetPnPEvent(NDIS_HANDLE ProtocolBindingContext,
                                      PNET_PNP_EVENT_NOTIFICATION NetPnPEventNotification)
{
    PBENCHCL_BINDING b = &g_B;

    if (ProtocolBindingContext == b && NetPnPEventNotification != NULL &&
        NetPnPEventNotification->NetPnPEvent.NetEvent == NetEventPause && b->Bound)
        NdisWaitEvent(&b->IdleEvent, 0);
    return NDIS_STATUS_SUCCESS;
}

/* ======================================================================
 * Handlers for what benchcl never asks for
 * ====================================================================== */

_Use_decl_annotations_
static VOID BenchclReceiveNetBufferLists(NDIS_HANDLE ProtocolBindingContext,
                                         PNET_BUFFER_LIST NetBufferLists,
                                         NDIS_PORT_NUMBER PortNumber,
                                         ULONG NumberOfNetBufferLists, ULONG ReceiveFlags)
{
    UNREFERENCED_PARAMETER(PortNumber);
    UNREFERENCED_PARAMETER(NumberOfNetBufferLists);
    if (ProtocolBindingContext == &g_B && NetBufferLists != NULL &&
        !NDIS_TEST_RECEIVE_CANNOT_PEND(ReceiveFlags))
        NdisReturnNetBufferLists(g_B.BindingHandle, NetBufferLists,
                                 BenchclFlags(NDIS_RETURN_FLAGS_DISPATCH_LEVEL));
}

_Use_decl_annotations_
static VOID BenchclSendNetBufferListsComplete(NDIS_HANDLE ProtocolBindingContext,
                                              PNET_BUFFER_LIST NetBufferList,
                                              ULONG SendCompleteFlags)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(SendCompleteFlags);
    BenchclError("connectionless send complete, but benchcl sends only on VCs",
                 (ULONG_PTR)NetBufferList);
}

_Use_decl_annotations_
static VOID BenchclOidRequestComplete(NDIS_HANDLE ProtocolBindingContext,
                                      PNDIS_OID_REQUEST OidRequest, NDIS_STATUS Status)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(OidRequest);
    BenchclError("OID request complete, but benchcl made none", (ULONG)Status);
}

_Use_decl_annotations_
static VOID BenchclStatusEx(NDIS_HANDLE ProtocolBindingContext,
                            PNDIS_STATUS_INDICATION StatusIndication)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(StatusIndication);
}

_Use_decl_annotations_
static VOID BenchclCoStatusEx(NDIS_HANDLE ProtocolBindingContext, NDIS_HANDLE ProtocolVcContext,
                              PNDIS_STATUS_INDICATION StatusIndication)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(StatusIndication);
}

/* No SAP, so no incoming calls and no VCs the call manager creates. */
_Use_decl_annotations_
static NDIS_STATUS BenchclCoCreateVc(NDIS_HANDLE ProtocolAfContext, NDIS_HANDLE NdisVcHandle,
                                     PNDIS_HANDLE ProtocolVcContext)
{
    UNREFERENCED_PARAMETER(ProtocolAfContext);
    UNREFERENCED_PARAMETER(NdisVcHandle);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    return NDIS_STATUS_NOT_SUPPORTED;
}

_Use_decl_annotations_
static NDIS_STATUS BenchclCoDeleteVc(NDIS_HANDLE ProtocolVcContext)
{
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    return NDIS_STATUS_NOT_SUPPORTED;
}

_Use_decl_annotations_
static NDIS_STATUS BenchclCoOidRequest(NDIS_HANDLE ProtocolAfContext,
                                       NDIS_HANDLE ProtocolVcContext,
                                       NDIS_HANDLE ProtocolPartyContext,
                                       PNDIS_OID_REQUEST OidRequest)
{
    UNREFERENCED_PARAMETER(ProtocolAfContext);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    UNREFERENCED_PARAMETER(OidRequest);
    return NDIS_STATUS_NOT_SUPPORTED;
}

_Use_decl_annotations_
static VOID BenchclCoOidRequestComplete(NDIS_HANDLE ProtocolAfContext,
                                        NDIS_HANDLE ProtocolVcContext,
                                        NDIS_HANDLE ProtocolPartyContext,
                                        PNDIS_OID_REQUEST OidRequest, NDIS_STATUS Status)
{
    UNREFERENCED_PARAMETER(ProtocolAfContext);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    UNREFERENCED_PARAMETER(OidRequest);
    BenchclError("CoNDIS OID request complete, but benchcl made none", (ULONG)Status);
}

_Use_decl_annotations_
static VOID BenchclClRegisterSapComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolSapContext,
                                         PCO_SAP Sap, NDIS_HANDLE NdisSapHandle)
{
    UNREFERENCED_PARAMETER(ProtocolSapContext);
    UNREFERENCED_PARAMETER(Sap);
    UNREFERENCED_PARAMETER(NdisSapHandle);
    BenchclError("register SAP complete, but benchcl registered none", (ULONG)Status);
}

_Use_decl_annotations_
static VOID BenchclClDeregisterSapComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolSapContext)
{
    UNREFERENCED_PARAMETER(ProtocolSapContext);
    BenchclError("deregister SAP complete, but benchcl registered none", (ULONG)Status);
}

_Use_decl_annotations_
static VOID BenchclClModifyCallQoSComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolVcContext,
                                           PCO_CALL_PARAMETERS CallParameters)
{
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(CallParameters);
    BenchclError("modify call QoS complete, but benchcl asked for none", (ULONG)Status);
}

_Use_decl_annotations_
static VOID BenchclClAddPartyComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolPartyContext,
                                      NDIS_HANDLE NdisPartyHandle,
                                      PCO_CALL_PARAMETERS CallParameters)
{
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    UNREFERENCED_PARAMETER(NdisPartyHandle);
    UNREFERENCED_PARAMETER(CallParameters);
    BenchclError("add party complete, but benchcl added none", (ULONG)Status);
}

_Use_decl_annotations_
static VOID BenchclClDropPartyComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolPartyContext)
{
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    BenchclError("drop party complete, but benchcl has no parties", (ULONG)Status);
}

_Use_decl_annotations_
static NDIS_STATUS BenchclClIncomingCall(NDIS_HANDLE ProtocolSapContext,
                                         NDIS_HANDLE ProtocolVcContext,
                                         PCO_CALL_PARAMETERS CallParameters)
{
    UNREFERENCED_PARAMETER(ProtocolSapContext);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(CallParameters);
    return NDIS_STATUS_NOT_SUPPORTED;
}

_Use_decl_annotations_
static VOID BenchclClIncomingCallQoSChange(NDIS_HANDLE ProtocolVcContext,
                                           PCO_CALL_PARAMETERS CallParameters)
{
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(CallParameters);
}

_Use_decl_annotations_
static VOID BenchclClIncomingDropParty(NDIS_STATUS DropStatus, NDIS_HANDLE ProtocolPartyContext,
                                       PVOID CloseData, UINT Size)
{
    UNREFERENCED_PARAMETER(DropStatus);
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    UNREFERENCED_PARAMETER(CloseData);
    UNREFERENCED_PARAMETER(Size);
}

_Use_decl_annotations_
static VOID BenchclClCallConnected(NDIS_HANDLE ProtocolVcContext)
{
    UNREFERENCED_PARAMETER(ProtocolVcContext);
}

/* ======================================================================
 * Registration (PASSIVE_LEVEL)
 * ====================================================================== */

_Use_decl_annotations_
static NDIS_STATUS BenchclSetOptions(NDIS_HANDLE NdisDriverHandle, NDIS_HANDLE DriverContext)
{
    NDIS_PROTOCOL_CO_CHARACTERISTICS co;
    NDIS_CO_CLIENT_OPTIONAL_HANDLERS client;
    NDIS_STATUS status;

    UNREFERENCED_PARAMETER(DriverContext);
    NdisZeroMemory(&co, sizeof(co));
    co.Header.Type = NDIS_OBJECT_TYPE_CO_PROTOCOL_CHARACTERISTICS;
    co.Header.Revision = NDIS_PROTOCOL_CO_CHARACTERISTICS_REVISION_1;
    co.Header.Size = NDIS_SIZEOF_PROTOCOL_CO_CHARACTERISTICS_REVISION_1;
    co.CoStatusHandlerEx = BenchclCoStatusEx;
    co.CoAfRegisterNotifyHandler = BenchclCoAfRegisterNotify;
    co.CoReceiveNetBufferListsHandler = BenchclCoReceiveNetBufferLists;
    co.CoSendNetBufferListsCompleteHandler = BenchclCoSendNetBufferListsComplete;
    status = NdisSetOptionalHandlers(NdisDriverHandle, (PNDIS_DRIVER_OPTIONAL_HANDLERS)&co);
    if (status != NDIS_STATUS_SUCCESS)
        return status;

    NdisZeroMemory(&client, sizeof(client));
    client.Header.Type = NDIS_OBJECT_TYPE_CO_CLIENT_OPTIONAL_HANDLERS;
    client.Header.Revision = NDIS_CO_CLIENT_OPTIONAL_HANDLERS_REVISION_1;
    client.Header.Size = NDIS_SIZEOF_CO_CLIENT_OPTIONAL_HANDLERS_REVISION_1;
    client.ClCreateVcHandler = BenchclCoCreateVc;
    client.ClDeleteVcHandler = BenchclCoDeleteVc;
    client.ClOidRequestHandler = BenchclCoOidRequest;
    client.ClOidRequestCompleteHandler = BenchclCoOidRequestComplete;
    client.ClOpenAfCompleteHandlerEx = BenchclClOpenAfCompleteEx;
    client.ClCloseAfCompleteHandler = BenchclClCloseAfComplete;
    client.ClRegisterSapCompleteHandler = BenchclClRegisterSapComplete;
    client.ClDeregisterSapCompleteHandler = BenchclClDeregisterSapComplete;
    client.ClMakeCallCompleteHandler = BenchclClMakeCallComplete;
    client.ClModifyCallQoSCompleteHandler = BenchclClModifyCallQoSComplete;
    client.ClCloseCallCompleteHandler = BenchclClCloseCallComplete;
    client.ClAddPartyCompleteHandler = BenchclClAddPartyComplete;
    client.ClDropPartyCompleteHandler = BenchclClDropPartyComplete;
    client.ClIncomingCallHandler = BenchclClIncomingCall;
    client.ClIncomingCallQoSChangeHandler = BenchclClIncomingCallQoSChange;
    client.ClIncomingCloseCallHandler = BenchclClIncomingCloseCall;
    client.ClIncomingDropPartyHandler = BenchclClIncomingDropParty;
    client.ClCallConnectedHandler = BenchclClCallConnected;
    client.ClNotifyCloseAfHandler = BenchclClNotifyCloseAf;
    return NdisSetOptionalHandlers(NdisDriverHandle, (PNDIS_DRIVER_OPTIONAL_HANDLERS)&client);
}

_Use_decl_annotations_
static VOID BenchclUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    if (g_ProtocolHandle != NULL) {
        NdisDeregisterProtocolDriver(g_ProtocolHandle);
        g_ProtocolHandle = NULL;
    }
}

_Use_decl_annotations_
NTSTATUS BenchclDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NDIS_PROTOCOL_DRIVER_CHARACTERISTICS pc;
    NDIS_STRING name = NDIS_STRING_CONST("benchcl");
    NDIS_STATUS status;

    UNREFERENCED_PARAMETER(RegistryPath);
    InterlockedExchange64(&g_Errors, 0);
    NdisZeroMemory(&g_B, sizeof(g_B));

    NdisZeroMemory(&pc, sizeof(pc));
    pc.Header.Type = NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS;
    pc.Header.Revision = NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1;
    pc.Header.Size = NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1;
    pc.MajorNdisVersion = NDIS_PROTOCOL_MAJOR_VERSION;
    pc.MinorNdisVersion = NDIS_PROTOCOL_MINOR_VERSION;
    pc.MajorDriverVersion = 1;
    pc.MinorDriverVersion = 0;
    pc.Name = name;
    pc.SetOptionsHandler = BenchclSetOptions;
    pc.BindAdapterHandlerEx = BenchclBindAdapterEx;
    pc.UnbindAdapterHandlerEx = BenchclUnbindAdapterEx;
    pc.OpenAdapterCompleteHandlerEx = BenchclOpenAdapterCompleteEx;
    pc.CloseAdapterCompleteHandlerEx = BenchclCloseAdapterCompleteEx;
    pc.NetPnPEventHandler = BenchclNetPnPEvent;
    pc.OidRequestCompleteHandler = BenchclOidRequestComplete;
    pc.StatusHandlerEx = BenchclStatusEx;
    pc.ReceiveNetBufferListsHandler = BenchclReceiveNetBufferLists;
    pc.SendNetBufferListsCompleteHandler = BenchclSendNetBufferListsComplete;

    status = NdisRegisterProtocolDriver(NULL, &pc, &g_ProtocolHandle);
    if (status != NDIS_STATUS_SUCCESS) {
        DbgPrint("benchcl: NdisRegisterProtocolDriver failed (0x%08lx)\n", (ULONG)status);
        g_ProtocolHandle = NULL;
        return (NTSTATUS)status;
    }
    DriverObject->DriverUnload = BenchclUnload;
    return STATUS_SUCCESS;
}
