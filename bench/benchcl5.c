/*
 * benchcl5.c - "benchcl5", the NDIS 5.1 measurement client of `condis bench`:
 * benchcl (bench/benchcl.c, read it first) with packets instead of NBLs,
 * written only against <ndis.h> with NDIS51 defined, like cosend5. The
 * interface the harness drives is bench_client.h.
 *
 * Who owns what, and when:
 *
 *   bind      benchcl5 allocates everything before it opens the adapter: one
 *             packet pool (NdisAllocatePacketPoolEx) and one buffer pool for
 *             the set, one buffer descriptor per packet (NdisAllocateBuffer)
 *             over its own slice of one data block, chained to its packet
 *             once, here, and never unchained until unbind.
 *   chains    the set is cut into chains of cfg.chain packets: each chain is
 *             a fixed slice of one packet array, which is what
 *             NdisCoSendPackets takes. A chain is free again only when all
 *             its packets are back.
 *   sending   NdisCoSendPackets takes each packet with its buffer, data and
 *             OOB block (OWN-1); benchcl5 looks at none of it, the OOB Status
 *             included (OWN-2), until ProtocolCoSendComplete. The array is
 *             only read during the call.
 *   complete  ProtocolCoSendComplete gives each packet back with everything
 *             attached (the seed page). Reuse, the documented way at the
 *             least cost: the buffer chain is kept as it is, and only the
 *             member benchcl5's sends depend on is reset with its
 *             NDIS_SET_PACKET_XXX macro (NDIS_SET_PACKET_STATUS) - the
 *             alternative the ProtocolCoSendComplete page gives to zeroing
 *             the OOB block (never the packet: PKT-2). NdisReinitializePacket
 *             is not called: its purpose is to drop the buffer chain (which
 *             is why the page asks to unchain first, PKT-1), and benchcl5
 *             sends the same chain again; the counts NDIS caches for the
 *             chain (ValidCounts) stay true because the chain did not change.
 *             If the chain or the buffer's length did come back changed, the
 *             packet is repaired the full way cosend5 does it (unchain every
 *             descriptor, NdisReinitializePacket, zero the OOB block, chain
 *             benchcl5's own descriptor again) and an error is counted.
 *   receive   counted; returned at once (CoReceivePacketHandler returns 0),
 *             or with keep_receives held (returns 1) and given back with
 *             NdisReturnPackets in batches; never a packet indicated with
 *             NDIS_STATUS_RESOURCES.
 *   unbind    every packet is back, so benchcl5 unchains and frees the
 *             buffers, frees the packets, the pools and the data.
 *
 * ProtocolReserved of each packet (BENCHCL5_RESERVED, the pool's
 * ProtocolReservedLength): the chain | 1 while in flight, the VC it was sent
 * on, its own buffer descriptor. A held receive packet's ProtocolReserved
 * (condis' receive pool gives PROTOCOL_RESERVED_SIZE_IN_PACKET bytes) links
 * it on the kept stack.
 *
 * Completion in 5.x is per packet, so the completion side costs one
 * interlocked decrement per packet (the chain's outstanding count) and one
 * push per chain; the free set, the waiting, the static state and the
 * control path are benchcl's (see the top of benchcl.c for why). The work
 * items are NDIS 5 ones (NdisScheduleWorkItem), as in cosend5; there is no
 * ProtocolClNotifyCloseAf in NDIS 5.
 */
#define NDIS51 1
#include <ndis.h>

#include "bench.h"
#include "bench_client.h"

/* ======================================================================
 * Constants
 * ====================================================================== */

#define BENCHCL5_TAG_OF(a, b, c, d) \
    ((ULONG)(UCHAR)(a) | ((ULONG)(UCHAR)(b) << 8) | ((ULONG)(UCHAR)(c) << 16) | \
     ((ULONG)(UCHAR)(d) << 24))
#define BENCHCL5_TAG_VC BENCHCL5_TAG_OF('B', '5', 'v', 'c')
#define BENCHCL5_TAG_DATA BENCHCL5_TAG_OF('B', '5', 'd', 't')
#define BENCHCL5_TAG_CHAIN BENCHCL5_TAG_OF('B', '5', 'c', 'h')

#define BENCHCL5_DEFAULT_VCS 1u
#define BENCHCL5_DEFAULT_CHAIN 32u
#define BENCHCL5_DEFAULT_SET 4096u
#define BENCHCL5_DEFAULT_SIZE 64u
#define BENCHCL5_MAX_SET 0xFFFFu /* one packet pool */
#define BENCHCL5_MAX_SIZE 65535u

#define BENCHCL5_CALL_SLOTS 64
#define BENCHCL5_SPIN_NS 50000
#define BENCHCL5_WAIT_MS 1
#define BENCHCL5_VIOLATION_MESSAGES 16
/* Held receives go back with NdisReturnPackets this many at a time. */
#define BENCHCL5_RETURN_BATCH 64

#define BENCHCL5_IN_FLIGHT ((ULONG_PTR)1)

#if defined(__x86_64__) || defined(__i386__)
#define BENCHCL5_PAUSE() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define BENCHCL5_PAUSE() __asm__ __volatile__("yield")
#else
#define BENCHCL5_PAUSE() ((void)0)
#endif

/* ======================================================================
 * State (as in benchcl)
 * ====================================================================== */

typedef enum _BENCHCL5_VC_STATE {
    Benchcl5VcNone,
    Benchcl5VcCreated,
    Benchcl5VcCalling,
    Benchcl5VcActive,
    Benchcl5VcCallFailed,
    Benchcl5VcPeerClosed,
    Benchcl5VcClosing,
    Benchcl5VcCallDown,
    Benchcl5VcDeleted,
    Benchcl5VcBroken
} BENCHCL5_VC_STATE;

typedef struct _BENCHCL5_VC {
    NDIS_HANDLE NdisVcHandle;
    volatile LONG State;
    NDIS_STATUS Status;
} BENCHCL5_VC, *PBENCHCL5_VC;

typedef struct _BENCHCL5_CHAIN {
    struct _BENCHCL5_CHAIN *volatile Next; /* free-set link */
    PPNDIS_PACKET Packets;                 /* Length packets, a slice of the set */
    volatile LONG Outstanding;
    ULONG Length;
} BENCHCL5_CHAIN, *PBENCHCL5_CHAIN;

/* benchcl5's part of each packet it allocates. */
typedef struct _BENCHCL5_RESERVED {
    ULONG_PTR Chain;     /* PBENCHCL5_CHAIN | BENCHCL5_IN_FLIGHT */
    PBENCHCL5_VC Vc;     /* the VC it was sent on */
    PNDIS_BUFFER Buffer; /* its one buffer descriptor */
} BENCHCL5_RESERVED, *PBENCHCL5_RESERVED;

#define BENCHCL5_RSVD(_Packet) ((PBENCHCL5_RESERVED)(PVOID)(_Packet)->ProtocolReserved)
/* The kept-receive link in a received packet's ProtocolReserved. */
#define BENCHCL5_RX_NEXT(_Packet) (*(PNDIS_PACKET *)(PVOID)(_Packet)->ProtocolReserved)

typedef struct _BENCHCL5_CALL_SLOT {
    struct _BENCHCL5_CALL_SLOT *Next;
    CO_CALL_PARAMETERS CallParameters;
    CO_CALL_MANAGER_PARAMETERS CallMgrParameters;
    CO_MEDIA_PARAMETERS MediaParameters;
} BENCHCL5_CALL_SLOT, *PBENCHCL5_CALL_SLOT;

typedef enum _BENCHCL5_AF_STATE {
    Benchcl5AfClosed,
    Benchcl5AfOpening,
    Benchcl5AfOpen,
    Benchcl5AfClosing
} BENCHCL5_AF_STATE;

typedef struct _BENCHCL5_BINDING {
    BOOLEAN Bound;
    NDIS_HANDLE BindingHandle;
    NDIS_HANDLE PacketPool;
    NDIS_HANDLE BufferPool;
    ULONG VcCount, Chain, Size, ChainCount;
    BOOLEAN KeepReceives;
    ULONG KeepBatch;
    PBENCHCL5_VC Vcs;
    PBENCHCL5_CHAIN Chains;
    PNDIS_PACKET *Packets;   /* ChainCount * Chain */
    PUCHAR Data;
    BENCHCL5_CALL_SLOT Slots[BENCHCL5_CALL_SLOTS];
    NDIS_WORK_ITEM ControlWorkItem;
    NDIS_WORK_ITEM SendWorkItem;
    NDIS_MEDIUM Medium;
    UINT SelectedMedium;
    NDIS_CLIENT_CHARACTERISTICS ClientChars;

    NDIS_SPIN_LOCK Lock;
    BENCHCL5_AF_STATE AfState;
    NDIS_HANDLE AfHandle;
    NDIS_STATUS AfStatus;
    CO_ADDRESS_FAMILY Family;
    BOOLEAN AfOffered;
    BOOLEAN SetupQueued;
    BOOLEAN SetupDone;
    BOOLEAN TornDown;
    BOOLEAN Busy;
    BOOLEAN Unbinding;
    BOOLEAN Primed;          /* every chain of the set was sent once (Benchcl5Prime) */
    PBENCHCL5_CALL_SLOT FreeSlots;
    int SetupResult;
    int TeardownResult;

    NDIS_EVENT OpEvent;
    NDIS_STATUS OpStatus;
    NDIS_EVENT AfEvent;
    NDIS_EVENT ReadyEvent;
    NDIS_EVENT CallEvent;
    NDIS_EVENT DoneEvent;
    NDIS_EVENT IdleEvent;
    volatile LONG CallsPending;

    DECLSPEC_ALIGN(64) PBENCHCL5_CHAIN volatile FreeTop;
    DECLSPEC_ALIGN(64) volatile LONG SenderWaiting;
    NDIS_EVENT WakeEvent;
    DECLSPEC_ALIGN(64) PBENCHCL5_CHAIN Local;
    ULONG64 RunCount;
    ULONG64 RunStart, RunEnd;
    ULONG64 RunReceived;
    uint64_t RunAllocs[2];   /* the allocation counter at RunStart and RunEnd */
    LONGLONG Frequency;

    DECLSPEC_ALIGN(64) volatile LONG64 Received;
    PNDIS_PACKET volatile KeptTop;
    volatile LONG KeptCount;
} BENCHCL5_BINDING, *PBENCHCL5_BINDING;

static NDIS_HANDLE g_ProtocolHandle;
static volatile LONG64 g_Errors;
static struct cn_bench_client_cfg g_Config = {
    BENCHCL5_DEFAULT_VCS, BENCHCL5_DEFAULT_CHAIN, BENCHCL5_DEFAULT_SET, BENCHCL5_DEFAULT_SIZE,
    false
};
static BENCHCL5_BINDING g_B;

static DRIVER_UNLOAD Benchcl5Unload;
static PROTOCOL_CO_AF_REGISTER_NOTIFY Benchcl5CoAfRegisterNotify;
static PROTOCOL_CO_CREATE_VC Benchcl5CoCreateVc;
static PROTOCOL_CO_DELETE_VC Benchcl5CoDeleteVc;
static PROTOCOL_CL_CLOSE_AF_COMPLETE Benchcl5ClCloseAfComplete;
static PROTOCOL_CL_REGISTER_SAP_COMPLETE Benchcl5ClRegisterSapComplete;
static PROTOCOL_CL_DEREGISTER_SAP_COMPLETE Benchcl5ClDeregisterSapComplete;
static PROTOCOL_CL_MAKE_CALL_COMPLETE Benchcl5ClMakeCallComplete;
static PROTOCOL_CL_MODIFY_CALL_QOS_COMPLETE Benchcl5ClModifyCallQoSComplete;
static PROTOCOL_CL_CLOSE_CALL_COMPLETE Benchcl5ClCloseCallComplete;
static PROTOCOL_CL_ADD_PARTY_COMPLETE Benchcl5ClAddPartyComplete;
static PROTOCOL_CL_DROP_PARTY_COMPLETE Benchcl5ClDropPartyComplete;
static PROTOCOL_CL_INCOMING_CALL Benchcl5ClIncomingCall;
static PROTOCOL_CL_INCOMING_CALL_QOS_CHANGE Benchcl5ClIncomingCallQoSChange;
static PROTOCOL_CL_INCOMING_CLOSE_CALL Benchcl5ClIncomingCloseCall;
static PROTOCOL_CL_INCOMING_DROP_PARTY Benchcl5ClIncomingDropParty;
static PROTOCOL_CL_CALL_CONNECTED Benchcl5ClCallConnected;

/* ======================================================================
 * Small helpers
 * ====================================================================== */

static VOID Benchcl5Error(PCSTR What, ULONG_PTR Value)
{
    LONG64 n = InterlockedIncrement64(&g_Errors);

    if (n <= BENCHCL5_VIOLATION_MESSAGES)
        DbgPrint("benchcl5: %s (0x%Ix)\n", What, Value);
    else if (n == BENCHCL5_VIOLATION_MESSAGES + 1)
        DbgPrint("benchcl5: more errors follow; they are counted, not described\n");
}

static ULONG64 Benchcl5Now(VOID)
{
    return (ULONG64)KeQueryPerformanceCounter(NULL).QuadPart;
}

static ULONG64 Benchcl5TicksToNs(ULONG64 Ticks, LONGLONG Frequency)
{
    ULONG64 f = Frequency > 0 ? (ULONG64)Frequency : 1000000000u;
    return Ticks / f * 1000000000u + Ticks % f * 1000000000u / f;
}

static ULONG Benchcl5Clamp(ULONG Value, ULONG Minimum, ULONG Maximum, ULONG Default, PCSTR Name)
{
    if (Value == 0)
        return Default;
    if (Value < Minimum || Value > Maximum) {
        ULONG v = Value < Minimum ? Minimum : Maximum;
        DbgPrint("benchcl5: %s=%lu is outside [%lu, %lu]; using %lu\n", Name, Value, Minimum,
                 Maximum, v);
        return v;
    }
    return Value;
}

/* ======================================================================
 * Send resources (PASSIVE_LEVEL: bind and unbind)
 * ====================================================================== */

static VOID Benchcl5Free(PBENCHCL5_BINDING b)
{
    ULONG i, total = b->ChainCount * b->Chain;

    if (b->Packets != NULL) {
        for (i = 0; i < total; i++) {
            PNDIS_PACKET packet = b->Packets[i];
            PNDIS_BUFFER buffer;

            if (packet == NULL)
                continue;
            if (BENCHCL5_RSVD(packet)->Chain & BENCHCL5_IN_FLIGHT) {
                Benchcl5Error("unbind: a packet never came back; leaking it", i);
                continue;
            }
            do {
                NdisUnchainBufferAtFront(packet, &buffer);
            } while (buffer != NULL);
            if (BENCHCL5_RSVD(packet)->Buffer != NULL)
                NdisFreeBuffer(BENCHCL5_RSVD(packet)->Buffer);
            NdisFreePacket(packet);
        }
        NdisFreeMemoryWithTagPriority(g_ProtocolHandle, b->Packets, BENCHCL5_TAG_CHAIN);
        b->Packets = NULL;
    }
    if (b->BufferPool != NULL)
        NdisFreeBufferPool(b->BufferPool);
    b->BufferPool = NULL;
    if (b->PacketPool != NULL)
        NdisFreePacketPool(b->PacketPool);
    b->PacketPool = NULL;
    if (b->Chains != NULL)
        NdisFreeMemoryWithTagPriority(g_ProtocolHandle, b->Chains, BENCHCL5_TAG_CHAIN);
    b->Chains = NULL;
    if (b->Data != NULL)
        NdisFreeMemoryWithTagPriority(g_ProtocolHandle, b->Data, BENCHCL5_TAG_DATA);
    b->Data = NULL;
    if (b->Vcs != NULL)
        NdisFreeMemoryWithTagPriority(g_ProtocolHandle, b->Vcs, BENCHCL5_TAG_VC);
    b->Vcs = NULL;
}

static NDIS_STATUS Benchcl5Allocate(PBENCHCL5_BINDING b)
{
    ULONG total = b->ChainCount * b->Chain;
    NDIS_STATUS status;
    ULONG c, i;

    b->Vcs = NdisAllocateMemoryWithTagPriority(g_ProtocolHandle,
                                               b->VcCount * (ULONG)sizeof(BENCHCL5_VC),
                                               BENCHCL5_TAG_VC, NormalPoolPriority);
    b->Chains = NdisAllocateMemoryWithTagPriority(g_ProtocolHandle,
                                                  b->ChainCount * (ULONG)sizeof(BENCHCL5_CHAIN),
                                                  BENCHCL5_TAG_CHAIN, NormalPoolPriority);
    b->Packets = NdisAllocateMemoryWithTagPriority(g_ProtocolHandle,
                                                   total * (ULONG)sizeof(PNDIS_PACKET),
                                                   BENCHCL5_TAG_CHAIN, NormalPoolPriority);
    b->Data = NdisAllocateMemoryWithTagPriority(g_ProtocolHandle, total * b->Size,
                                                BENCHCL5_TAG_DATA, NormalPoolPriority);
    if (b->Vcs == NULL || b->Chains == NULL || b->Packets == NULL || b->Data == NULL)
        return NDIS_STATUS_RESOURCES;
    NdisZeroMemory(b->Vcs, b->VcCount * sizeof(BENCHCL5_VC));
    NdisZeroMemory(b->Chains, b->ChainCount * sizeof(BENCHCL5_CHAIN));
    NdisZeroMemory(b->Packets, total * sizeof(PNDIS_PACKET));
    for (i = 0; i < total * b->Size; i++)
        b->Data[i] = (UCHAR)(i % b->Size);

    NdisAllocatePacketPoolEx(&status, &b->PacketPool, total, 0, sizeof(BENCHCL5_RESERVED));
    if (status != NDIS_STATUS_SUCCESS) {
        b->PacketPool = NULL;
        return NDIS_STATUS_RESOURCES;
    }
    NdisAllocateBufferPool(&status, &b->BufferPool, total);
    if (status != NDIS_STATUS_SUCCESS) {
        b->BufferPool = NULL;
        return NDIS_STATUS_RESOURCES;
    }

    for (c = 0; c < b->ChainCount; c++) {
        PBENCHCL5_CHAIN chain = &b->Chains[c];

        chain->Length = b->Chain;
        chain->Packets = &b->Packets[c * b->Chain];
        for (i = 0; i < b->Chain; i++) {
            ULONG k = c * b->Chain + i;
            PNDIS_PACKET packet = NULL;
            PNDIS_BUFFER buffer = NULL;
            PBENCHCL5_RESERVED r;

            NdisAllocatePacket(&status, &packet, b->PacketPool);
            if (status != NDIS_STATUS_SUCCESS || packet == NULL)
                return NDIS_STATUS_RESOURCES;
            b->Packets[k] = packet;
            r = BENCHCL5_RSVD(packet);
            r->Chain = (ULONG_PTR)chain;
            r->Vc = NULL;
            r->Buffer = NULL;
            NdisAllocateBuffer(&status, &buffer, b->BufferPool, b->Data + (SIZE_T)k * b->Size,
                               b->Size);
            if (status != NDIS_STATUS_SUCCESS || buffer == NULL)
                return NDIS_STATUS_RESOURCES;
            r->Buffer = buffer;
            NdisChainBufferAtFront(packet, buffer); /* once, for the whole run */
        }
        chain->Next = b->Local;
        b->Local = chain;
    }
    return NDIS_STATUS_SUCCESS;
}

/* ======================================================================
 * The send path
 * ====================================================================== */

static FORCEINLINE VOID Benchcl5PushChain(PBENCHCL5_BINDING b, PBENCHCL5_CHAIN Chain)
{
    PBENCHCL5_CHAIN top;

    do {
        top = b->FreeTop;
        Chain->Next = top;
    } while (InterlockedCompareExchangePointer((PVOID volatile *)&b->FreeTop, Chain, top) != top);
    if (b->SenderWaiting)
        NdisSetEvent(&b->WakeEvent);
}

/*
 * IRQL <= DISPATCH_LEVEL. The full repair of a packet whose buffer chain
 * came back changed, in the order the ProtocolCoSendComplete page asks:
 * unchain every descriptor first (PKT-1), then NdisReinitializePacket,
 * then zero the OOB block (never the packet, PKT-2), then chain
 * benchcl5's own descriptor again, at its own length.
 */
static VOID Benchcl5Repair(PBENCHCL5_BINDING b, PNDIS_PACKET Packet)
{
    PBENCHCL5_RESERVED r = BENCHCL5_RSVD(Packet);
    PNDIS_BUFFER buffer;

    do {
        NdisUnchainBufferAtFront(Packet, &buffer);
    } while (buffer != NULL);
    NdisReinitializePacket(Packet);
    NdisZeroMemory(NDIS_OOB_DATA_FROM_PACKET(Packet), sizeof(NDIS_PACKET_OOB_DATA));
    NdisAdjustBufferLength(r->Buffer, b->Size);
    NDIS_BUFFER_LINKAGE(r->Buffer) = NULL;
    NdisChainBufferAtFront(Packet, r->Buffer);
}

/*
 * ProtocolCoSendComplete, IRQL <= DISPATCH_LEVEL, once per packet, in any
 * order, possibly inside NdisCoSendPackets on the sender's thread. On
 * entry benchcl5 owns the packet again with its buffer, data and OOB block;
 * Status is final. Checks (its own, in flight: exactly once, this VC,
 * success), the reuse reset (see the top), and the chain goes to the free
 * set with its last packet. Never sends.
 */
static VOID Benchcl5CoSendComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolVcContext,
                                   PNDIS_PACKET Packet)
{
    PBENCHCL5_BINDING b = &g_B;
    PBENCHCL5_RESERVED r;
    PBENCHCL5_CHAIN chain;
    ULONG_PTR tag;

    if (Packet == NULL || b->Chains == NULL) {
        Benchcl5Error("send complete without a packet of benchcl5's", (ULONG_PTR)Packet);
        return;
    }
    r = BENCHCL5_RSVD(Packet);
    tag = r->Chain;
    chain = (PBENCHCL5_CHAIN)(tag & ~BENCHCL5_IN_FLIGHT);
    if (chain < b->Chains || chain >= b->Chains + b->ChainCount) {
        Benchcl5Error("send complete: a packet that is not benchcl5's", (ULONG_PTR)Packet);
        return;
    }
    if (!(tag & BENCHCL5_IN_FLIGHT)) {
        Benchcl5Error("send complete: a packet that is not in flight (completed twice?)",
                      (ULONG_PTR)Packet);
        return;
    }
    r->Chain = (ULONG_PTR)chain;
    if (Status != NDIS_STATUS_SUCCESS || r->Vc != (PBENCHCL5_VC)ProtocolVcContext)
        Benchcl5Error(Status != NDIS_STATUS_SUCCESS
                          ? "send complete: a failure status"
                          : "send complete: a packet completed on a VC it was not sent on",
                      Status != NDIS_STATUS_SUCCESS ? (ULONG_PTR)Status
                                                    : (ULONG_PTR)ProtocolVcContext);

    NDIS_SET_PACKET_STATUS(Packet, NDIS_STATUS_SUCCESS);
    if (Packet->Private.Head != r->Buffer || NDIS_BUFFER_LINKAGE(r->Buffer) != NULL ||
        NdisBufferLength(r->Buffer) != b->Size) {
        Benchcl5Error("send complete: the packet's buffer chain came back changed (repaired)",
                      (ULONG_PTR)Packet);
        Benchcl5Repair(b, Packet);
    }
    if (InterlockedDecrement(&chain->Outstanding) == 0)
        Benchcl5PushChain(b, chain);
}

/* Any thread, IRQL <= DISPATCH_LEVEL. Returns every held receive. */
static VOID Benchcl5FlushKept(PBENCHCL5_BINDING b)
{
    PNDIS_PACKET list, packet;
    PNDIS_PACKET batch[BENCHCL5_RETURN_BATCH];
    UINT n = 0;
    LONG total = 0;

    list = (PNDIS_PACKET)InterlockedExchangePointer((PVOID volatile *)&b->KeptTop, NULL);
    while (list != NULL) {
        packet = list;
        list = BENCHCL5_RX_NEXT(packet);
        batch[n++] = packet;
        total++;
        if (n == BENCHCL5_RETURN_BATCH || list == NULL) {
            NdisReturnPackets(batch, n);
            n = 0;
        }
    }
    if (total != 0)
        InterlockedAdd(&b->KeptCount, -total);
}

static VOID Benchcl5WaitFree(PBENCHCL5_BINDING b)
{
    ULONG64 start = 0;
    ULONG spins = 0;

    for (;;) {
        if (b->FreeTop != NULL)
            return;
        if (b->KeptTop != NULL)
            Benchcl5FlushKept(b);
        BENCHCL5_PAUSE();
        if ((++spins & 63) != 0)
            continue;
        if (start == 0) {
            start = Benchcl5Now();
            continue;
        }
        if (Benchcl5TicksToNs(Benchcl5Now() - start, b->Frequency) < BENCHCL5_SPIN_NS)
            continue;
        NdisResetEvent(&b->WakeEvent);
        InterlockedExchange(&b->SenderWaiting, 1);
        if (b->FreeTop == NULL)
            NdisWaitEvent(&b->WakeEvent, BENCHCL5_WAIT_MS);
        InterlockedExchange(&b->SenderWaiting, 0);
    }
}

static FORCEINLINE PBENCHCL5_CHAIN Benchcl5TakeChain(PBENCHCL5_BINDING b)
{
    PBENCHCL5_CHAIN c, got;

    /* The most recently completed chain first, as a pool's free list hands
     * out its most recently freed descriptor: the packets that are reused are
     * the ones still in the cache, and the working set is what is in flight,
     * not the whole set. (Cycling through all of it would measure cache
     * misses on the client's own packets, which no pool-based sender makes.) */
    while (b->FreeTop != NULL || b->Local == NULL) {
        got = (PBENCHCL5_CHAIN)InterlockedExchangePointer((PVOID volatile *)&b->FreeTop, NULL);
        if (got == NULL) {
            if (b->Local != NULL)
                break;
            Benchcl5WaitFree(b);
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

/* Send the first n packets of chain c (off the free set: this thread's). */
static FORCEINLINE VOID Benchcl5SendChain(PBENCHCL5_CHAIN c, ULONG n, PBENCHCL5_VC vc)
{
    ULONG i;

    for (i = 0; i < n; i++) {
        PBENCHCL5_RESERVED r = BENCHCL5_RSVD(c->Packets[i]);
        r->Chain = (ULONG_PTR)c | BENCHCL5_IN_FLIGHT;
        r->Vc = vc;
    }
    c->Outstanding = (LONG)n;
    NdisCoSendPackets(vc->NdisVcHandle, c->Packets, n);
}

static VOID Benchcl5WaitHome(PBENCHCL5_BINDING b);

/* Once, before the first run is timed: every chain of the set sent once,
 * so that condis' wrapper NBL of each packet (and, verified, its shadow)
 * exists before anything is timed (see BenchclPrime). */
static VOID Benchcl5Prime(PBENCHCL5_BINDING b)
{
    PBENCHCL5_CHAIN all = b->Local, c, next;
    ULONG v = 0;

    b->Local = NULL;
    for (c = all; c != NULL; c = next) {
        next = c->Next;
        Benchcl5SendChain(c, c->Length, &b->Vcs[v]);
        if (++v == b->VcCount)
            v = 0;
    }
    Benchcl5WaitHome(b);
    b->Primed = TRUE;
}

/* NDIS_PROC, PASSIVE_LEVEL: one run (see BenchclSendWorker). */
static VOID Benchcl5SendWorker(PNDIS_WORK_ITEM WorkItem, PVOID Context)
{
    PBENCHCL5_BINDING b = (PBENCHCL5_BINDING)Context;
    ULONG64 left = b->RunCount;
    ULONG64 received0;
    ULONG v = 0;

    UNREFERENCED_PARAMETER(WorkItem);
    if (!b->Primed)
        Benchcl5Prime(b);
    received0 = (ULONG64)InterlockedExchangeAdd64(&b->Received, 0);
    cn_bench_alloc_count(&b->RunAllocs[0]);
    b->RunStart = Benchcl5Now();
    while (left != 0) {
        ULONG n = left < b->Chain ? (ULONG)left : b->Chain;
        PBENCHCL5_VC vc = &b->Vcs[v];

        if (++v == b->VcCount)
            v = 0;
        Benchcl5SendChain(Benchcl5TakeChain(b), n, vc);
        left -= n;
    }
    Benchcl5WaitHome(b);
    b->RunEnd = Benchcl5Now();
    cn_bench_alloc_count(&b->RunAllocs[1]);
    Benchcl5FlushKept(b);
    b->RunReceived = (ULONG64)InterlockedExchangeAdd64(&b->Received, 0) - received0;
    NdisSetEvent(&b->DoneEvent);
}

/* Every chain home: count the private list, then collect the rest. */
static VOID Benchcl5WaitHome(PBENCHCL5_BINDING b)
{
    ULONG home = 0;
    PBENCHCL5_CHAIN c;

    for (c = b->Local; c != NULL; c = c->Next)
        home++;
    while (home < b->ChainCount) {
        PBENCHCL5_CHAIN got =
            (PBENCHCL5_CHAIN)InterlockedExchangePointer((PVOID volatile *)&b->FreeTop, NULL);
        if (got == NULL) {
            Benchcl5WaitFree(b);
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
 * ProtocolCoReceivePacket, IRQL <= DISPATCH_LEVEL, possibly on several
 * processors at once. Returns how many NdisReturnPackets calls follow for
 * Packet: 0 (done with it on return) or, holding it, 1. A packet with
 * NDIS_STATUS_RESOURCES is only lent for the call: 0.
 */
static UINT Benchcl5CoReceivePacket(NDIS_HANDLE ProtocolBindingContext,
                                    NDIS_HANDLE ProtocolVcContext, PNDIS_PACKET Packet)
{
    PBENCHCL5_BINDING b = &g_B;
    PNDIS_PACKET top;

    UNREFERENCED_PARAMETER(ProtocolVcContext);
    if (ProtocolBindingContext != b || Packet == NULL)
        return 0;
    InterlockedIncrement64(&b->Received);
    if (!b->KeepReceives || NDIS_GET_PACKET_STATUS(Packet) == NDIS_STATUS_RESOURCES)
        return 0;
    do {
        top = b->KeptTop;
        BENCHCL5_RX_NEXT(Packet) = top;
    } while (InterlockedCompareExchangePointer((PVOID volatile *)&b->KeptTop, Packet, top) != top);
    /* Returning it from here is allowed: NdisReturnPackets may be called
     * before this handler returns the count. */
    if (InterlockedIncrement(&b->KeptCount) >= (LONG)b->KeepBatch)
        Benchcl5FlushKept(b);
    return 1;
}

/* ======================================================================
 * Calls (the control path, as in benchcl)
 * ====================================================================== */

static VOID Benchcl5InitCallParameters(PBENCHCL5_BINDING b, PBENCHCL5_CALL_SLOT s)
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

static VOID Benchcl5PutSlot(PBENCHCL5_BINDING b, PBENCHCL5_CALL_SLOT s)
{
    NdisAcquireSpinLock(&b->Lock);
    s->Next = b->FreeSlots;
    b->FreeSlots = s;
    NdisReleaseSpinLock(&b->Lock);
}

static PBENCHCL5_CALL_SLOT Benchcl5TakeSlot(PBENCHCL5_BINDING b)
{
    for (;;) {
        PBENCHCL5_CALL_SLOT s;

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

static BOOLEAN Benchcl5IsVc(PBENCHCL5_BINDING b, PBENCHCL5_VC Vc)
{
    return b->Vcs != NULL && Vc >= b->Vcs && Vc < b->Vcs + b->VcCount;
}

static VOID Benchcl5MakeCallDone(PBENCHCL5_VC Vc, PCO_CALL_PARAMETERS CallParameters,
                                 NDIS_STATUS Status, BOOLEAN Pended)
{
    PBENCHCL5_BINDING b = &g_B;

    if (Status == NDIS_STATUS_SUCCESS) {
        InterlockedExchange(&Vc->State, Benchcl5VcActive);
    } else {
        Vc->Status = Status;
        InterlockedExchange(&Vc->State, Benchcl5VcCallFailed);
    }
    if (CallParameters != NULL)
        Benchcl5PutSlot(b, CONTAINING_RECORD(CallParameters, BENCHCL5_CALL_SLOT, CallParameters));
    if (Pended) {
        InterlockedDecrement(&b->CallsPending);
        NdisSetEvent(&b->CallEvent);
    }
}

_Use_decl_annotations_
static VOID Benchcl5ClMakeCallComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolVcContext,
                                       NDIS_HANDLE NdisPartyHandle,
                                       PCO_CALL_PARAMETERS CallParameters)
{
    PBENCHCL5_BINDING b = &g_B;
    PBENCHCL5_VC vc = (PBENCHCL5_VC)ProtocolVcContext;
    PBENCHCL5_CALL_SLOT s;

    UNREFERENCED_PARAMETER(NdisPartyHandle);
    if (!Benchcl5IsVc(b, vc) || vc->State != Benchcl5VcCalling) {
        Benchcl5Error("make call complete for no call being made", (ULONG_PTR)ProtocolVcContext);
        return;
    }
    s = CallParameters == NULL ? NULL
                               : CONTAINING_RECORD(CallParameters, BENCHCL5_CALL_SLOT,
                                                   CallParameters);
    if (s < b->Slots || s >= b->Slots + BENCHCL5_CALL_SLOTS) {
        Benchcl5Error("make call complete: CallParameters are not benchcl5's", (ULONG_PTR)s);
        CallParameters = NULL;
    }
    Benchcl5MakeCallDone(vc, CallParameters, Status, TRUE);
}

static VOID Benchcl5CloseCallDone(PBENCHCL5_VC Vc, NDIS_STATUS Status, BOOLEAN Pended)
{
    PBENCHCL5_BINDING b = &g_B;

    if (Status == NDIS_STATUS_SUCCESS) {
        InterlockedExchange(&Vc->State, Benchcl5VcCallDown);
    } else {
        Vc->Status = Status;
        InterlockedExchange(&Vc->State, Benchcl5VcBroken);
        Benchcl5Error("NdisClCloseCall failed; the VC cannot be deleted", (ULONG)Status);
    }
    if (Pended) {
        InterlockedDecrement(&b->CallsPending);
        NdisSetEvent(&b->CallEvent);
    }
}

_Use_decl_annotations_
static VOID Benchcl5ClCloseCallComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolVcContext,
                                        NDIS_HANDLE ProtocolPartyContext)
{
    PBENCHCL5_VC vc = (PBENCHCL5_VC)ProtocolVcContext;

    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    if (!Benchcl5IsVc(&g_B, vc) || vc->State != Benchcl5VcClosing) {
        Benchcl5Error("close call complete for no close being made",
                      (ULONG_PTR)ProtocolVcContext);
        return;
    }
    Benchcl5CloseCallDone(vc, Status, TRUE);
}

_Use_decl_annotations_
static VOID Benchcl5ClIncomingCloseCall(NDIS_STATUS CloseStatus, NDIS_HANDLE ProtocolVcContext,
                                        PVOID CloseData, UINT Size)
{
    PBENCHCL5_VC vc = (PBENCHCL5_VC)ProtocolVcContext;

    UNREFERENCED_PARAMETER(CloseData);
    UNREFERENCED_PARAMETER(Size);
    if (!Benchcl5IsVc(&g_B, vc))
        return;
    if (InterlockedCompareExchange(&vc->State, Benchcl5VcPeerClosed, Benchcl5VcActive) ==
        Benchcl5VcActive)
        Benchcl5Error("the call manager closed a call", (ULONG)CloseStatus);
}

static VOID Benchcl5WaitCalls(PBENCHCL5_BINDING b)
{
    for (;;) {
        NdisResetEvent(&b->CallEvent);
        if (InterlockedCompareExchange(&b->CallsPending, 0, 0) == 0)
            return;
        NdisWaitEvent(&b->CallEvent, 10);
    }
}

/* NDIS_PROC, PASSIVE_LEVEL, once per binding: the VCs and their calls. */
static VOID Benchcl5SetupWorker(PNDIS_WORK_ITEM WorkItem, PVOID Context)
{
    PBENCHCL5_BINDING b = (PBENCHCL5_BINDING)Context;
    int result = 0;
    ULONG i, active = 0;

    UNREFERENCED_PARAMETER(WorkItem);
    for (i = 0; i < b->VcCount && !b->Unbinding; i++) {
        PBENCHCL5_VC vc = &b->Vcs[i];
        NDIS_HANDLE vcHandle = NULL;
        PBENCHCL5_CALL_SLOT s;
        NDIS_STATUS status;

        status = NdisCoCreateVc(b->BindingHandle, b->AfHandle, vc, &vcHandle);
        if (status != NDIS_STATUS_SUCCESS) {
            DbgPrint("benchcl5: NdisCoCreateVc for VC %lu failed (0x%08lx)\n", i,
                     (ULONG)status);
            result = -EIO;
            break;
        }
        vc->NdisVcHandle = vcHandle;
        s = Benchcl5TakeSlot(b);
        Benchcl5InitCallParameters(b, s);
        InterlockedExchange(&vc->State, Benchcl5VcCalling);
        InterlockedIncrement(&b->CallsPending);
        status = NdisClMakeCall(vcHandle, &s->CallParameters, NULL, NULL);
        if (status != NDIS_STATUS_PENDING) {
            InterlockedDecrement(&b->CallsPending);
            Benchcl5MakeCallDone(vc, &s->CallParameters, status, FALSE);
        }
    }
    Benchcl5WaitCalls(b);
    for (i = 0; i < b->VcCount; i++) {
        if (b->Vcs[i].State == Benchcl5VcActive) {
            active++;
        } else if (b->Vcs[i].State == Benchcl5VcCallFailed) {
            if (result == 0)
                DbgPrint("benchcl5: NdisClMakeCall on VC %lu failed (0x%08lx)\n", i,
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

static NDIS_STATUS Benchcl5CloseAf(PBENCHCL5_BINDING b)
{
    NDIS_HANDLE afHandle;
    NDIS_STATUS status;

    NdisAcquireSpinLock(&b->Lock);
    if (b->AfState != Benchcl5AfOpen) {
        NdisReleaseSpinLock(&b->Lock);
        return NDIS_STATUS_SUCCESS;
    }
    b->AfState = Benchcl5AfClosing;
    afHandle = b->AfHandle;
    NdisResetEvent(&b->AfEvent);
    NdisReleaseSpinLock(&b->Lock);

    status = NdisClCloseAddressFamily(afHandle);
    if (status != NDIS_STATUS_PENDING)
        Benchcl5ClCloseAfComplete(status, b);
    NdisWaitEvent(&b->AfEvent, 0);

    NdisAcquireSpinLock(&b->Lock);
    status = b->AfStatus;
    if (b->AfState == Benchcl5AfClosed)
        b->AfHandle = NULL;
    NdisReleaseSpinLock(&b->Lock);
    if (status != NDIS_STATUS_SUCCESS)
        Benchcl5Error("NdisClCloseAddressFamily failed", (ULONG)status);
    return status;
}

static int Benchcl5TearDown(PBENCHCL5_BINDING b)
{
    int result = 0;
    ULONG i;

    if (b->Vcs != NULL) {
        for (i = 0; i < b->VcCount; i++) {
            PBENCHCL5_VC vc = &b->Vcs[i];
            LONG state = vc->State;
            NDIS_STATUS status;

            if (state != Benchcl5VcActive && state != Benchcl5VcPeerClosed)
                continue;
            InterlockedExchange(&vc->State, Benchcl5VcClosing);
            InterlockedIncrement(&b->CallsPending);
            status = NdisClCloseCall(vc->NdisVcHandle, NULL, NULL, 0);
            if (status != NDIS_STATUS_PENDING) {
                InterlockedDecrement(&b->CallsPending);
                Benchcl5CloseCallDone(vc, status, FALSE);
            }
        }
        Benchcl5WaitCalls(b);
        for (i = 0; i < b->VcCount; i++) {
            PBENCHCL5_VC vc = &b->Vcs[i];
            LONG state = vc->State;
            NDIS_STATUS status;

            if (state == Benchcl5VcBroken)
                result = -EIO;
            if (state != Benchcl5VcCreated && state != Benchcl5VcCallFailed &&
                state != Benchcl5VcCallDown)
                continue;
            status = NdisCoDeleteVc(vc->NdisVcHandle);
            if (status == NDIS_STATUS_SUCCESS) {
                vc->NdisVcHandle = NULL;
                InterlockedExchange(&vc->State, Benchcl5VcDeleted);
            } else {
                vc->Status = status;
                InterlockedExchange(&vc->State, Benchcl5VcBroken);
                Benchcl5Error("NdisCoDeleteVc failed", (ULONG)status);
                result = -EIO;
            }
        }
    }
    if (Benchcl5CloseAf(b) != NDIS_STATUS_SUCCESS)
        result = -EIO;
    return result;
}

static VOID Benchcl5TeardownWorker(PNDIS_WORK_ITEM WorkItem, PVOID Context)
{
    PBENCHCL5_BINDING b = (PBENCHCL5_BINDING)Context;

    UNREFERENCED_PARAMETER(WorkItem);
    b->TeardownResult = Benchcl5TearDown(b);
    NdisAcquireSpinLock(&b->Lock);
    b->TornDown = TRUE;
    b->Busy = FALSE;
    NdisReleaseSpinLock(&b->Lock);
    NdisSetEvent(&b->DoneEvent);
    NdisSetEvent(&b->IdleEvent);
}

/* Schedules one of the binding's two NDIS_WORK_ITEMs (each is used by one
 * thing at a time: setup then teardown, and runs). */
static BOOLEAN Benchcl5Schedule(PNDIS_WORK_ITEM WorkItem, NDIS_PROC Routine, PVOID Context)
{
    NdisInitializeWorkItem(WorkItem, Routine, Context);
    if (NdisScheduleWorkItem(WorkItem) != NDIS_STATUS_SUCCESS) {
        Benchcl5Error("NdisScheduleWorkItem failed", 0);
        return FALSE;
    }
    return TRUE;
}

/* ======================================================================
 * Address family
 * ====================================================================== */

/* ProtocolClOpenAfComplete (NDIS 5 argument order: status first). */
static VOID Benchcl5ClOpenAfComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolAfContext,
                                     NDIS_HANDLE NdisAfHandle)
{
    PBENCHCL5_BINDING b = &g_B;
    BOOLEAN setup = FALSE;

    if (ProtocolAfContext != b) {
        Benchcl5Error("open AF complete: not benchcl5's family", (ULONG_PTR)ProtocolAfContext);
        return;
    }
    NdisAcquireSpinLock(&b->Lock);
    b->AfStatus = Status;
    if (Status == NDIS_STATUS_SUCCESS && NdisAfHandle != NULL) {
        b->AfHandle = NdisAfHandle;
        b->AfState = Benchcl5AfOpen;
        setup = !b->SetupQueued && !b->Unbinding;
        b->SetupQueued = TRUE;
    } else {
        b->AfState = Benchcl5AfClosed;
        b->SetupResult = -EIO;
        b->SetupDone = TRUE;
    }
    NdisReleaseSpinLock(&b->Lock);
    if (Status != NDIS_STATUS_SUCCESS) {
        DbgPrint("benchcl5: NdisClOpenAddressFamily failed (0x%08lx)\n", (ULONG)Status);
        NdisSetEvent(&b->ReadyEvent);
    } else if (setup && !Benchcl5Schedule(&b->ControlWorkItem, Benchcl5SetupWorker, b)) {
        NdisAcquireSpinLock(&b->Lock);
        b->SetupResult = -EIO;
        b->SetupDone = TRUE;
        NdisReleaseSpinLock(&b->Lock);
        NdisSetEvent(&b->ReadyEvent);
    }
    NdisSetEvent(&b->AfEvent);
}

_Use_decl_annotations_
static VOID Benchcl5ClCloseAfComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolAfContext)
{
    PBENCHCL5_BINDING b = &g_B;

    if (ProtocolAfContext != b) {
        Benchcl5Error("close AF complete: not benchcl5's family", (ULONG_PTR)ProtocolAfContext);
        return;
    }
    NdisAcquireSpinLock(&b->Lock);
    b->AfState = Status == NDIS_STATUS_SUCCESS ? Benchcl5AfClosed : Benchcl5AfOpen;
    b->AfStatus = Status;
    NdisReleaseSpinLock(&b->Lock);
    NdisSetEvent(&b->AfEvent);
}

static NDIS_STATUS Benchcl5CoRequest(NDIS_HANDLE ProtocolAfContext, NDIS_HANDLE ProtocolVcContext,
                                     NDIS_HANDLE ProtocolPartyContext, PNDIS_REQUEST NdisRequest);
static VOID Benchcl5CoRequestComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolAfContext,
                                      NDIS_HANDLE ProtocolVcContext,
                                      NDIS_HANDLE ProtocolPartyContext, PNDIS_REQUEST NdisRequest);

static VOID Benchcl5OpenAf(PBENCHCL5_BINDING b)
{
    PNDIS_CLIENT_CHARACTERISTICS cc = &b->ClientChars;
    NDIS_HANDLE afHandle = NULL;
    NDIS_STATUS status;

    NdisZeroMemory(cc, sizeof(*cc));
    cc->MajorVersion = 5;
    cc->MinorVersion = 0;
    cc->ClCreateVcHandler = Benchcl5CoCreateVc;
    cc->ClDeleteVcHandler = Benchcl5CoDeleteVc;
    cc->ClRequestHandler = Benchcl5CoRequest;
    cc->ClRequestCompleteHandler = Benchcl5CoRequestComplete;
    cc->ClOpenAfCompleteHandler = Benchcl5ClOpenAfComplete;
    cc->ClCloseAfCompleteHandler = Benchcl5ClCloseAfComplete;
    cc->ClRegisterSapCompleteHandler = Benchcl5ClRegisterSapComplete;
    cc->ClDeregisterSapCompleteHandler = Benchcl5ClDeregisterSapComplete;
    cc->ClMakeCallCompleteHandler = Benchcl5ClMakeCallComplete;
    cc->ClModifyCallQoSCompleteHandler = Benchcl5ClModifyCallQoSComplete;
    cc->ClCloseCallCompleteHandler = Benchcl5ClCloseCallComplete;
    cc->ClAddPartyCompleteHandler = Benchcl5ClAddPartyComplete;
    cc->ClDropPartyCompleteHandler = Benchcl5ClDropPartyComplete;
    cc->ClIncomingCallHandler = Benchcl5ClIncomingCall;
    cc->ClIncomingCallQoSChangeHandler = Benchcl5ClIncomingCallQoSChange;
    cc->ClIncomingCloseCallHandler = Benchcl5ClIncomingCloseCall;
    cc->ClIncomingDropPartyHandler = Benchcl5ClIncomingDropParty;
    cc->ClCallConnectedHandler = Benchcl5ClCallConnected;

    status = NdisClOpenAddressFamily(b->BindingHandle, &b->Family, b, cc, sizeof(*cc), &afHandle);
    if (status != NDIS_STATUS_PENDING)
        Benchcl5ClOpenAfComplete(status, b, afHandle);
}

_Use_decl_annotations_
static VOID Benchcl5CoAfRegisterNotify(NDIS_HANDLE ProtocolBindingContext,
                                       PCO_ADDRESS_FAMILY AddressFamily)
{
    PBENCHCL5_BINDING b = &g_B;
    BOOLEAN open = FALSE;

    if (ProtocolBindingContext != b || AddressFamily == NULL)
        return;
    NdisAcquireSpinLock(&b->Lock);
    if (b->AfState == Benchcl5AfClosed && !b->SetupQueued && !b->AfOffered && !b->Unbinding) {
        b->Family = *AddressFamily;
        if (b->Bound) {
            b->AfState = Benchcl5AfOpening;
            open = TRUE;
        } else {
            b->AfOffered = TRUE;
        }
    }
    NdisReleaseSpinLock(&b->Lock);
    if (open)
        Benchcl5OpenAf(b);
}

/* ======================================================================
 * The host's interface (bench_client.h)
 * ====================================================================== */

void benchcl5_configure(const struct cn_bench_client_cfg *cfg)
{
    if (cfg != NULL)
        g_Config = *cfg;
}

uint64_t benchcl5_errors(void)
{
    return (uint64_t)InterlockedExchangeAdd64(&g_Errors, 0);
}

size_t benchcl5_bytes_per_vc(void)
{
    return sizeof(BENCHCL5_VC);
}

int benchcl5_wait_ready(unsigned ms)
{
    PBENCHCL5_BINDING b = &g_B;
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

static int Benchcl5Claim(PBENCHCL5_BINDING b, BOOLEAN NeedCalls)
{
    int result = 0;

    if (!b->Bound)
        return -ENOTCONN;
    NdisAcquireSpinLock(&b->Lock);
    if (b->Busy || b->Unbinding)
        result = -EBUSY;
    else if (NeedCalls && (!b->SetupDone || b->SetupResult != 0 || b->TornDown))
        result = -ENOTCONN;
    if (result == 0) {
        b->Busy = TRUE;
        NdisResetEvent(&b->IdleEvent);
        NdisResetEvent(&b->DoneEvent);
    }
    NdisReleaseSpinLock(&b->Lock);
    return result;
}

static VOID Benchcl5Release(PBENCHCL5_BINDING b)
{
    NdisAcquireSpinLock(&b->Lock);
    b->Busy = FALSE;
    NdisReleaseSpinLock(&b->Lock);
    NdisSetEvent(&b->IdleEvent);
}

int benchcl5_run(uint64_t count, uint64_t *elapsed_ns, uint64_t *received, uint64_t *allocs)
{
    PBENCHCL5_BINDING b = &g_B;
    LONG64 errors;
    int result;

    if (count == 0)
        return -EINVAL;
    result = Benchcl5Claim(b, TRUE);
    if (result != 0)
        return result;
    errors = InterlockedExchangeAdd64(&g_Errors, 0);
    b->RunCount = count;
    if (!Benchcl5Schedule(&b->SendWorkItem, Benchcl5SendWorker, b)) {
        Benchcl5Release(b);
        return -EIO;
    }
    NdisWaitEvent(&b->DoneEvent, 0);
    if (elapsed_ns != NULL)
        *elapsed_ns = Benchcl5TicksToNs(b->RunEnd - b->RunStart, b->Frequency);
    if (received != NULL)
        *received = b->RunReceived;
    if (allocs != NULL)
        *allocs = b->RunAllocs[1] - b->RunAllocs[0];
    Benchcl5Release(b);
    return InterlockedExchangeAdd64(&g_Errors, 0) != errors ? -EIO : 0;
}

int benchcl5_teardown(unsigned ms)
{
    PBENCHCL5_BINDING b = &g_B;
    int result;

    if (b->Bound && !NdisWaitEvent(&b->ReadyEvent, ms))
        return -ETIMEDOUT;
    result = Benchcl5Claim(b, FALSE);
    if (result != 0)
        return result;
    if (b->TornDown) {
        Benchcl5Release(b);
        return b->TeardownResult;
    }
    if (!Benchcl5Schedule(&b->ControlWorkItem, Benchcl5TeardownWorker, b)) {
        Benchcl5Release(b);
        return -EIO;
    }
    if (!NdisWaitEvent(&b->DoneEvent, ms))
        return -ETIMEDOUT;
    return b->TeardownResult;
}

/* ======================================================================
 * Binding (PASSIVE_LEVEL)
 * ====================================================================== */

static VOID Benchcl5OpenAdapterComplete(NDIS_HANDLE ProtocolBindingContext, NDIS_STATUS Status,
                                        NDIS_STATUS OpenErrorStatus)
{
    UNREFERENCED_PARAMETER(OpenErrorStatus);
    if (ProtocolBindingContext != &g_B)
        return;
    g_B.OpStatus = Status;
    NdisSetEvent(&g_B.OpEvent);
}

static VOID Benchcl5CloseAdapterComplete(NDIS_HANDLE ProtocolBindingContext, NDIS_STATUS Status)
{
    if (ProtocolBindingContext != &g_B)
        return;
    g_B.OpStatus = Status;
    NdisSetEvent(&g_B.OpEvent);
}

static VOID Benchcl5InitBinding(PBENCHCL5_BINDING b)
{
    struct cn_bench_client_cfg cfg = g_Config;
    LARGE_INTEGER frequency;
    ULONG set;

    NdisZeroMemory(b, sizeof(*b));
    b->VcCount = Benchcl5Clamp(cfg.vcs, 1, BENCH_CLIENT_MAX_VCS, BENCHCL5_DEFAULT_VCS, "vcs");
    b->Chain = Benchcl5Clamp(cfg.chain, 1, BENCH_CLIENT_MAX_CHAIN, BENCHCL5_DEFAULT_CHAIN,
                             "chain");
    set = Benchcl5Clamp(cfg.set, 2 * b->Chain, BENCHCL5_MAX_SET, BENCHCL5_DEFAULT_SET, "set");
    if (set < 2 * b->Chain)
        set = 2 * b->Chain;
    b->ChainCount = set / b->Chain;
    b->Size = Benchcl5Clamp(cfg.size, 1, BENCHCL5_MAX_SIZE, BENCHCL5_DEFAULT_SIZE, "size");
    b->KeepReceives = cfg.keep_receives ? TRUE : FALSE;
    b->KeepBatch = MIN(MAX(b->Chain, 16u), b->ChainCount * b->Chain / 2);
    b->AfState = Benchcl5AfClosed;
    b->Medium = NdisMediumCoWan;
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
    for (ULONG i = 0; i < BENCHCL5_CALL_SLOTS; i++)
        Benchcl5PutSlot(b, &b->Slots[i]);
}

/* ProtocolBindAdapter: allocates everything, then opens the adapter. */
static VOID Benchcl5BindAdapter(PNDIS_STATUS Status, NDIS_HANDLE BindContext,
                                PNDIS_STRING DeviceName, PVOID SystemSpecific1,
                                PVOID SystemSpecific2)
{
    PBENCHCL5_BINDING b = &g_B;
    NDIS_STATUS status, openError = NDIS_STATUS_SUCCESS;
    BOOLEAN offered;

    UNREFERENCED_PARAMETER(BindContext);
    UNREFERENCED_PARAMETER(SystemSpecific1);
    UNREFERENCED_PARAMETER(SystemSpecific2);
    if (b->Bound || b->Vcs != NULL) {
        DbgPrint("benchcl5: bound already; declining a second adapter\n");
        *Status = NDIS_STATUS_FAILURE;
        return;
    }
    Benchcl5InitBinding(b);
    status = Benchcl5Allocate(b);
    if (status != NDIS_STATUS_SUCCESS) {
        DbgPrint("benchcl5: not enough memory for %lu VCs and %lu packets of %lu bytes\n",
                 b->VcCount, b->ChainCount * b->Chain, b->Size);
        Benchcl5Free(b);
        NdisFreeSpinLock(&b->Lock);
        *Status = status;
        return;
    }

    NdisResetEvent(&b->OpEvent);
    NdisOpenAdapter(&status, &openError, &b->BindingHandle, &b->SelectedMedium, &b->Medium, 1,
                    g_ProtocolHandle, b, DeviceName, 0, NULL);
    if (status == NDIS_STATUS_PENDING) {
        NdisWaitEvent(&b->OpEvent, 0);
        status = b->OpStatus;
    }
    if (status != NDIS_STATUS_SUCCESS) {
        if (status != NDIS_STATUS_UNSUPPORTED_MEDIA)
            DbgPrint("benchcl5: NdisOpenAdapter failed (0x%08lx, 0x%08lx)\n", (ULONG)status,
                     (ULONG)openError);
        Benchcl5Free(b);
        NdisFreeSpinLock(&b->Lock);
        *Status = status;
        return;
    }

    NdisAcquireSpinLock(&b->Lock);
    b->Bound = TRUE;
    offered = b->AfOffered;
    b->AfOffered = FALSE;
    if (offered)
        b->AfState = Benchcl5AfOpening;
    NdisReleaseSpinLock(&b->Lock);
    if (offered)
        Benchcl5OpenAf(b);
    *Status = NDIS_STATUS_SUCCESS;
}

static VOID Benchcl5UnbindAdapter(PNDIS_STATUS Status, NDIS_HANDLE ProtocolBindingContext,
                                  NDIS_HANDLE UnbindContext)
{
    PBENCHCL5_BINDING b = &g_B;
    BOOLEAN setupQueued, tornDown;
    NDIS_STATUS status;

    UNREFERENCED_PARAMETER(UnbindContext);
    *Status = NDIS_STATUS_SUCCESS;
    if (ProtocolBindingContext != b)
        return;

    NdisAcquireSpinLock(&b->Lock);
    b->Unbinding = TRUE;
    setupQueued = b->SetupQueued;
    NdisReleaseSpinLock(&b->Lock);
    if (b->AfState == Benchcl5AfOpening)
        NdisWaitEvent(&b->AfEvent, 0);
    if (setupQueued)
        NdisWaitEvent(&b->ReadyEvent, 0);
    NdisWaitEvent(&b->IdleEvent, 0);

    NdisAcquireSpinLock(&b->Lock);
    tornDown = b->TornDown;
    NdisReleaseSpinLock(&b->Lock);
    if (!tornDown)
        Benchcl5TearDown(b);
    Benchcl5Free(b);

    NdisResetEvent(&b->OpEvent);
    NdisCloseAdapter(&status, b->BindingHandle);
    if (status == NDIS_STATUS_PENDING) {
        NdisWaitEvent(&b->OpEvent, 0);
        status = b->OpStatus;
    }
    if (status != NDIS_STATUS_SUCCESS)
        Benchcl5Error("NdisCloseAdapter failed", (ULONG)status);
    b->Bound = FALSE;
    b->BindingHandle = NULL;
    NdisFreeSpinLock(&b->Lock);
}

static NDIS_STATUS Benchcl5PnPEvent(NDIS_HANDLE ProtocolBindingContext, PNET_PNP_EVENT NetPnPEvent)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(NetPnPEvent);
    return NDIS_STATUS_SUCCESS;
}

/* ======================================================================
 * Handlers for what benchcl5 never asks for
 * ====================================================================== */

static VOID Benchcl5UnloadProtocol(VOID)
{
}

static VOID Benchcl5SendComplete(NDIS_HANDLE ProtocolBindingContext, PNDIS_PACKET Packet,
                                 NDIS_STATUS Status)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(Status);
    Benchcl5Error("connectionless send complete, but benchcl5 sends only on VCs",
                  (ULONG_PTR)Packet);
}

static VOID Benchcl5TransferDataComplete(NDIS_HANDLE ProtocolBindingContext, PNDIS_PACKET Packet,
                                         NDIS_STATUS Status, UINT BytesTransferred)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(Packet);
    UNREFERENCED_PARAMETER(Status);
    UNREFERENCED_PARAMETER(BytesTransferred);
}

static VOID Benchcl5ResetComplete(NDIS_HANDLE ProtocolBindingContext, NDIS_STATUS Status)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(Status);
}

static VOID Benchcl5RequestComplete(NDIS_HANDLE ProtocolBindingContext, PNDIS_REQUEST NdisRequest,
                                    NDIS_STATUS Status)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(NdisRequest);
    Benchcl5Error("request complete, but benchcl5 made none", (ULONG)Status);
}

static NDIS_STATUS Benchcl5Receive(NDIS_HANDLE ProtocolBindingContext,
                                   NDIS_HANDLE MacReceiveContext, PVOID HeaderBuffer,
                                   UINT HeaderBufferSize, PVOID LookAheadBuffer,
                                   UINT LookaheadBufferSize, UINT PacketSize)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(MacReceiveContext);
    UNREFERENCED_PARAMETER(HeaderBuffer);
    UNREFERENCED_PARAMETER(HeaderBufferSize);
    UNREFERENCED_PARAMETER(LookAheadBuffer);
    UNREFERENCED_PARAMETER(LookaheadBufferSize);
    UNREFERENCED_PARAMETER(PacketSize);
    return NDIS_STATUS_NOT_ACCEPTED;
}

static VOID Benchcl5ReceiveComplete(NDIS_HANDLE ProtocolBindingContext)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
}

static VOID Benchcl5Status(NDIS_HANDLE ProtocolBindingContext, NDIS_STATUS GeneralStatus,
                           PVOID StatusBuffer, UINT StatusBufferSize)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(GeneralStatus);
    UNREFERENCED_PARAMETER(StatusBuffer);
    UNREFERENCED_PARAMETER(StatusBufferSize);
}

static VOID Benchcl5StatusComplete(NDIS_HANDLE ProtocolBindingContext)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
}

static INT Benchcl5ReceivePacket(NDIS_HANDLE ProtocolBindingContext, PNDIS_PACKET Packet)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(Packet);
    return 0;
}

static VOID Benchcl5CoStatus(NDIS_HANDLE ProtocolBindingContext, NDIS_HANDLE ProtocolVcContext,
                             NDIS_STATUS GeneralStatus, PVOID StatusBuffer, UINT StatusBufferSize)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(GeneralStatus);
    UNREFERENCED_PARAMETER(StatusBuffer);
    UNREFERENCED_PARAMETER(StatusBufferSize);
}

_Use_decl_annotations_
static NDIS_STATUS Benchcl5CoCreateVc(NDIS_HANDLE ProtocolAfContext, NDIS_HANDLE NdisVcHandle,
                                      PNDIS_HANDLE ProtocolVcContext)
{
    UNREFERENCED_PARAMETER(ProtocolAfContext);
    UNREFERENCED_PARAMETER(NdisVcHandle);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    return NDIS_STATUS_NOT_SUPPORTED;
}

_Use_decl_annotations_
static NDIS_STATUS Benchcl5CoDeleteVc(NDIS_HANDLE ProtocolVcContext)
{
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    return NDIS_STATUS_NOT_SUPPORTED;
}

static NDIS_STATUS Benchcl5CoRequest(NDIS_HANDLE ProtocolAfContext, NDIS_HANDLE ProtocolVcContext,
                                     NDIS_HANDLE ProtocolPartyContext, PNDIS_REQUEST NdisRequest)
{
    UNREFERENCED_PARAMETER(ProtocolAfContext);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    UNREFERENCED_PARAMETER(NdisRequest);
    return NDIS_STATUS_NOT_SUPPORTED;
}

static VOID Benchcl5CoRequestComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolAfContext,
                                      NDIS_HANDLE ProtocolVcContext,
                                      NDIS_HANDLE ProtocolPartyContext, PNDIS_REQUEST NdisRequest)
{
    UNREFERENCED_PARAMETER(ProtocolAfContext);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    UNREFERENCED_PARAMETER(NdisRequest);
    Benchcl5Error("CoNDIS request complete, but benchcl5 made none", (ULONG)Status);
}

_Use_decl_annotations_
static VOID Benchcl5ClRegisterSapComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolSapContext,
                                          PCO_SAP Sap, NDIS_HANDLE NdisSapHandle)
{
    UNREFERENCED_PARAMETER(ProtocolSapContext);
    UNREFERENCED_PARAMETER(Sap);
    UNREFERENCED_PARAMETER(NdisSapHandle);
    Benchcl5Error("register SAP complete, but benchcl5 registered none", (ULONG)Status);
}

_Use_decl_annotations_
static VOID Benchcl5ClDeregisterSapComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolSapContext)
{
    UNREFERENCED_PARAMETER(ProtocolSapContext);
    Benchcl5Error("deregister SAP complete, but benchcl5 registered none", (ULONG)Status);
}

_Use_decl_annotations_
static VOID Benchcl5ClModifyCallQoSComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolVcContext,
                                            PCO_CALL_PARAMETERS CallParameters)
{
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(CallParameters);
    Benchcl5Error("modify call QoS complete, but benchcl5 asked for none", (ULONG)Status);
}

_Use_decl_annotations_
static VOID Benchcl5ClAddPartyComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolPartyContext,
                                       NDIS_HANDLE NdisPartyHandle,
                                       PCO_CALL_PARAMETERS CallParameters)
{
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    UNREFERENCED_PARAMETER(NdisPartyHandle);
    UNREFERENCED_PARAMETER(CallParameters);
    Benchcl5Error("add party complete, but benchcl5 added none", (ULONG)Status);
}

_Use_decl_annotations_
static VOID Benchcl5ClDropPartyComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolPartyContext)
{
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    Benchcl5Error("drop party complete, but benchcl5 has no parties", (ULONG)Status);
}

_Use_decl_annotations_
static NDIS_STATUS Benchcl5ClIncomingCall(NDIS_HANDLE ProtocolSapContext,
                                          NDIS_HANDLE ProtocolVcContext,
                                          PCO_CALL_PARAMETERS CallParameters)
{
    UNREFERENCED_PARAMETER(ProtocolSapContext);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(CallParameters);
    return NDIS_STATUS_NOT_SUPPORTED;
}

_Use_decl_annotations_
static VOID Benchcl5ClIncomingCallQoSChange(NDIS_HANDLE ProtocolVcContext,
                                            PCO_CALL_PARAMETERS CallParameters)
{
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(CallParameters);
}

_Use_decl_annotations_
static VOID Benchcl5ClIncomingDropParty(NDIS_STATUS DropStatus, NDIS_HANDLE ProtocolPartyContext,
                                        PVOID CloseData, UINT Size)
{
    UNREFERENCED_PARAMETER(DropStatus);
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    UNREFERENCED_PARAMETER(CloseData);
    UNREFERENCED_PARAMETER(Size);
}

_Use_decl_annotations_
static VOID Benchcl5ClCallConnected(NDIS_HANDLE ProtocolVcContext)
{
    UNREFERENCED_PARAMETER(ProtocolVcContext);
}

/* ======================================================================
 * Registration (PASSIVE_LEVEL)
 * ====================================================================== */

_Use_decl_annotations_
static VOID Benchcl5Unload(PDRIVER_OBJECT DriverObject)
{
    NDIS_STATUS status;

    UNREFERENCED_PARAMETER(DriverObject);
    if (g_ProtocolHandle != NULL) {
        NdisDeregisterProtocol(&status, g_ProtocolHandle);
        if (status != NDIS_STATUS_SUCCESS)
            DbgPrint("benchcl5: NdisDeregisterProtocol failed (0x%08lx)\n", (ULONG)status);
        g_ProtocolHandle = NULL;
    }
}

/* DriverEntry: an NDIS 5.1 protocol with the 5.0 characteristics
 * structure (there is no 5.1 one), as cosend5. */
_Use_decl_annotations_
NTSTATUS Benchcl5DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NDIS50_PROTOCOL_CHARACTERISTICS pc;
    NDIS_STRING name = NDIS_STRING_CONST("benchcl5");
    NDIS_STATUS status;

    UNREFERENCED_PARAMETER(RegistryPath);
    InterlockedExchange64(&g_Errors, 0);
    NdisZeroMemory(&g_B, sizeof(g_B));

    NdisZeroMemory(&pc, sizeof(pc));
    pc.MajorNdisVersion = NDIS_PROTOCOL_MAJOR_VERSION; /* 5, from NDIS51 */
    pc.MinorNdisVersion = NDIS_PROTOCOL_MINOR_VERSION; /* 1 */
    pc.OpenAdapterCompleteHandler = Benchcl5OpenAdapterComplete;
    pc.CloseAdapterCompleteHandler = Benchcl5CloseAdapterComplete;
    pc.SendCompleteHandler = Benchcl5SendComplete;
    pc.TransferDataCompleteHandler = Benchcl5TransferDataComplete;
    pc.ResetCompleteHandler = Benchcl5ResetComplete;
    pc.RequestCompleteHandler = Benchcl5RequestComplete;
    pc.ReceiveHandler = Benchcl5Receive;
    pc.ReceiveCompleteHandler = Benchcl5ReceiveComplete;
    pc.StatusHandler = Benchcl5Status;
    pc.StatusCompleteHandler = Benchcl5StatusComplete;
    pc.Name = name;
    pc.ReceivePacketHandler = Benchcl5ReceivePacket;
    pc.BindAdapterHandler = Benchcl5BindAdapter;
    pc.UnbindAdapterHandler = Benchcl5UnbindAdapter;
    pc.PnPEventHandler = Benchcl5PnPEvent;
    pc.UnloadHandler = Benchcl5UnloadProtocol;
    pc.CoSendCompleteHandler = Benchcl5CoSendComplete;
    pc.CoStatusHandler = Benchcl5CoStatus;
    pc.CoReceivePacketHandler = Benchcl5CoReceivePacket;
    pc.CoAfRegisterNotifyHandler = Benchcl5CoAfRegisterNotify;

    NdisRegisterProtocol(&status, &g_ProtocolHandle, &pc, sizeof(pc));
    if (status != NDIS_STATUS_SUCCESS) {
        DbgPrint("benchcl5: NdisRegisterProtocol failed (0x%08lx)\n", (ULONG)status);
        g_ProtocolHandle = NULL;
        return (NTSTATUS)status;
    }
    DriverObject->DriverUnload = Benchcl5Unload;
    return STATUS_SUCCESS;
}
