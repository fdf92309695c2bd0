/*
 * sim5.c - the NDIS 5.1 counterpart of sim: a CoWan miniport call manager
 * that is a sink. It never indicates a receive; it accepts every packet
 * sent on an active call and completes it with NdisMCoSendComplete, by
 * default in the order it was sent.
 *
 * One address family (CO_ADDRESS_FAMILY_PPP 1.0), registered with
 * NdisMCmRegisterAddressFamily; calls are accepted as loop5 accepts them.
 * Parameters, read with NdisOpenConfiguration / NdisReadConfiguration,
 * carry sim's names:
 *
 *   SimQueue=N        TX queue depth (default 256): at most N packets are
 *                     taken off a completion context's queue per DPC pass.
 *   SimDpcThreads=N   completion contexts (1..processors), each a KDPC
 *                     targeted at its own processor; VCs are given to them
 *                     in turn.
 *   SimInline=1       complete inside CoSendPacketsHandler when nothing has
 *                     to wait (no latency, no reorder, nothing queued ahead).
 *   SimReorder=N      shuffle each pass's packets in windows of N with the
 *                     context's seeded generator (SimSeed and the context
 *                     number), across the VCs of that context.
 *   SimBatch=N        NdisMCoSendComplete completes one packet per call, so
 *                     a batch of completions means nothing per call here:
 *                     N instead caps the packets completed per DPC pass
 *                     (together with SimQueue; 0: SimQueue alone).
 *   SimFailEvery=N, SimFailStatus=S   every Nth accepted packet completes
 *                     with S.
 *   SimLatencyUs=N    no packet completes earlier than N us after it was
 *                     accepted; the DPC waits with an NDIS miniport timer
 *                     (millisecond resolution, so a wait is rounded up).
 *   SimEarlyComplete=1  complete each packet as the pass takes it off the
 *                     queue ("as it enters the TX queue") instead of once the
 *                     whole pass has been taken; reorder does not apply then.
 *   SimSeed=N         seed of the reorder generators (default 1).
 *   SimBug=N, SimBugEvery=K   test-only: a planted bug in one of every K
 *                     packets sim5 accepts (K default 100; N default 0: none),
 *                     so that the verifier has a miniport to catch: 1 the
 *                     packet is completed twice, 2 never, 3 with
 *                     NDIS_STATUS_PENDING, 5 on another VC's handle, 6 it is
 *                     written to after its completion, 8 it is completed with
 *                     NDIS_STATUS_RESOURCES. 4 and 7 are NDIS 6 bugs (sim's)
 *                     and plant nothing here.
 *
 * A packet longer than the call's Transmit MaxSduSize completes with
 * NDIS_STATUS_INVALID_LENGTH. PeakBandwidth is not shaped by sim5.
 *
 * A queued packet is linked through MiniportReservedEx: [0] the next
 * packet, [1] its VC with the outcome in the low bits, [2] the interrupt
 * time (100 ns units) from which it may complete. Nothing is allocated per
 * packet.
 *
 * Planted bugs: the normal paths ask once per send call and once per
 * completion whether a bug is on (the SIM5_CHOSEN bit of slot [1]). With a
 * bug on, the slots of an accepted packet are written under BugLock, and a
 * chosen packet's slot [1] is cleared before its completion: slot [1] is
 * then non-NULL exactly while sim5 holds the packet (condis hands packets
 * out zeroed). Bugs 1 (double) and 6 (touch) act after the completion,
 * and only on a packet that is not back with sim5 already, sent again from
 * the completion handler (condis reuses the packet at once): a second
 * completion would then complete the new send, and a store would land in
 * sim5's own queue link. Such a packet is counted as missed.
 */
#define NDIS51_MINIPORT 1
#include <ndis.h>

#include "../common/mcmlib.h"

#define SIM5_TAG MCMLIB_TAG('S', 'm', '5', ' ')
#define SIM5_QUEUE_MAX 65536
#define SIM5_REORDER_MAX 4096

#define SIM5_FAIL ((ULONG_PTR)1)     /* complete with FailStatus */
#define SIM5_TOO_LONG ((ULONG_PTR)2) /* complete with NDIS_STATUS_INVALID_LENGTH */
#define SIM5_CHOSEN ((ULONG_PTR)4)   /* SimBug: this one gets the planted bug */
#define SIM5_TAG_BITS ((ULONG_PTR)7) /* VCs are at least 8-byte aligned */

/* SimBug values (sim's numbers; 4 and 7 are NDIS 6 bugs). */
typedef enum _SIM5_BUG {
    Sim5BugNone = 0,
    Sim5BugDouble = 1,
    Sim5BugNever = 2,
    Sim5BugPending = 3,
    Sim5BugNbList = 4,
    Sim5BugWrongVc = 5,
    Sim5BugTouch = 6,
    Sim5BugIrql = 7,
    Sim5BugResources = 8,
} SIM5_BUG;
#define SIM5_BUG_MAX Sim5BugResources
/* What SimBug=6 stores into MiniportReserved after the completion: odd,
 * so never a packet pointer sim5 left there. */
#define SIM5_BUG_TOUCH_MARK ((PVOID)(ULONG_PTR)0x51DEBADUL)
/* What SimBug=5 completes on when the adapter has no other VC. */
#define SIM5_BUG_FAKE_VC ((NDIS_HANDLE)(ULONG_PTR)0x1234)

typedef enum _SIM5_VC_STATE { Sim5VcIdle, Sim5VcActive, Sim5VcClosing } SIM5_VC_STATE;

struct _SIM5_ADAPTER;

/* One completion context: its own queue, DPC, timer and generator. */
typedef struct _SIM5_CONTEXT {
    struct _SIM5_ADAPTER *Adapter;
    NDIS_SPIN_LOCK Lock;
    KDPC Dpc;
    NDIS_MINIPORT_TIMER Timer;
    BOOLEAN TimerSet;                   /* (Lock) */
    BOOLEAN DpcActive;                  /* (Lock) one pass at a time */
    PNDIS_PACKET Head, Tail;            /* (Lock) accepted, not yet taken */
    ULONG Random;                       /* (DpcActive) reorder generator */
    PNDIS_PACKET *Pass;                 /* (DpcActive) SimQueue entries */
} SIM5_CONTEXT, *PSIM5_CONTEXT;

typedef struct _SIM5_ADAPTER {
    NDIS_HANDLE Handle;
    CO_ADDRESS_FAMILY AddressFamily;
    ULONG Queue, DpcThreads, Reorder, Batch, FailEvery, Seed;
    NDIS_STATUS FailStatus;
    BOOLEAN Inline, EarlyComplete;
    ULONG64 Latency;                    /* 100 ns units */
    LONG Accepted;                      /* interlocked: for FailEvery */
    LONG NextContext;                   /* interlocked: VCs in turn */
    NDIS_SPIN_LOCK Lock;                /* AF VC counts, VcList */
    LIST_ENTRY VcList;                  /* (Lock) SIM5_VC.Link */
    PSIM5_CONTEXT Contexts;             /* DpcThreads of them */
    /* SimBug (constant after initialization) and its counts. */
    ULONG Bug, BugEvery;
    LONG BugCounter;                    /* interlocked: accepted, for BugEvery */
    LONG BugPlanted, BugMissed;         /* interlocked */
    NDIS_SPIN_LOCK BugLock;             /* slots of accepted packets, see the top */
} SIM5_ADAPTER, *PSIM5_ADAPTER;

typedef struct _SIM5_AF {
    PSIM5_ADAPTER Adapter;
    ULONG VcCount;                      /* (Adapter->Lock) */
} SIM5_AF, *PSIM5_AF;

typedef struct _SIM5_VC {
    LIST_ENTRY Link;                    /* (Adapter->Lock) SIM5_ADAPTER.VcList */
    PSIM5_AF Af;
    PSIM5_ADAPTER Adapter;
    PSIM5_CONTEXT Context;
    NDIS_HANDLE NdisVcHandle;
    ULONG MaxSduSize;                   /* 0: no limit; fixed while active */
    SIM5_VC_STATE State;                /* (Context->Lock) */
    ULONG PendingSends;                 /* (Context->Lock) */
} SIM5_VC, *PSIM5_VC;

#define SIM5_SLOT(_P, _i) (((PVOID *)(_P)->MiniportReservedEx)[(_i)])

static PVOID Sim5Alloc(UINT Size)
{
    PVOID p = NULL;
    if (NdisAllocateMemoryWithTag(&p, Size, SIM5_TAG) != NDIS_STATUS_SUCCESS)
        return NULL;
    NdisZeroMemory(p, Size);
    return p;
}

/* ---- planted bugs (SimBug != 0 only) ---------------------------------------- */

/* Whether sim5 holds Packet (again): slot [1] is set. The packet may be
 * condis' at the time; only read. IRQL <= DISPATCH_LEVEL. */
static BOOLEAN Sim5BugHeld(PSIM5_ADAPTER Adapter, PNDIS_PACKET Packet)
{
    BOOLEAN dpr = McmLibLock(&Adapter->BugLock);
    BOOLEAN held = SIM5_SLOT(Packet, 1) != NULL;
    McmLibUnlock(&Adapter->BugLock, dpr);
    return held;
}

/* SimBug=5: the NdisVcHandle of another VC of the adapter, or a made-up
 * handle. It is only passed on, never used by sim5. */
static NDIS_HANDLE Sim5BugOtherVc(PSIM5_VC Vc)
{
    PSIM5_ADAPTER adapter = Vc->Adapter;
    NDIS_HANDLE other = SIM5_BUG_FAKE_VC;
    BOOLEAN dpr = McmLibLock(&adapter->Lock);
    for (PLIST_ENTRY e = adapter->VcList.Flink; e != &adapter->VcList; e = e->Flink) {
        PSIM5_VC x = CONTAINING_RECORD(e, SIM5_VC, Link);
        if (x != Vc && x->NdisVcHandle != Vc->NdisVcHandle) {
            other = x->NdisVcHandle;
            break;
        }
    }
    McmLibUnlock(&adapter->Lock, dpr);
    return other;
}

/*
 * The completion of a chosen packet, with the planted bug, in place of
 * Sim5Complete's NdisMCoSendComplete (which does the rest). The miniport
 * owns Packet on entry, not on return (SimBug=2: nobody does).
 * IRQL <= DISPATCH_LEVEL.
 */
static VOID Sim5BugComplete(PNDIS_PACKET Packet, PSIM5_VC Vc, NDIS_STATUS Status)
{
    PSIM5_ADAPTER adapter = Vc->Adapter;
    NDIS_HANDLE vcHandle = Vc->NdisVcHandle;
    BOOLEAN planted = TRUE;

    /* From here a send of this packet is a new one (Sim5BugHeld). */
    BOOLEAN dpr = McmLibLock(&adapter->BugLock);
    SIM5_SLOT(Packet, 1) = NULL;
    McmLibUnlock(&adapter->BugLock, dpr);
    switch (adapter->Bug) {
    case Sim5BugNever:
        break; /* forgotten: Sim5Complete counts it as done */
    case Sim5BugPending:
        NdisMCoSendComplete(NDIS_STATUS_PENDING, vcHandle, Packet);
        break;
    case Sim5BugResources:
        NdisMCoSendComplete(NDIS_STATUS_RESOURCES, vcHandle, Packet);
        break;
    case Sim5BugWrongVc:
        NdisMCoSendComplete(Status, Sim5BugOtherVc(Vc), Packet);
        break;
    case Sim5BugDouble:
        NdisMCoSendComplete(Status, vcHandle, Packet);
        if (Sim5BugHeld(adapter, Packet))
            planted = FALSE; /* sent again: it is a new send now */
        else
            NdisMCoSendComplete(Status, vcHandle, Packet);
        break;
    case Sim5BugTouch:
        NdisMCoSendComplete(Status, vcHandle, Packet);
        /* Under BugLock, so that a new send of the packet either has
         * written its slots (it is sim5's: no store) or will overwrite the
         * store. The packet's memory stays mapped while condis' pool lives. */
        dpr = McmLibLock(&adapter->BugLock);
        if (SIM5_SLOT(Packet, 1) != NULL)
            planted = FALSE;
        else
            SIM5_SLOT(Packet, 0) = SIM5_BUG_TOUCH_MARK;
        McmLibUnlock(&adapter->BugLock, dpr);
        break;
    default:
        /* Not reached: Sim5ReadConfiguration keeps only the bugs above. */
        NdisMCoSendComplete(Status, vcHandle, Packet);
        planted = FALSE;
        break;
    }
    InterlockedIncrement(planted ? &adapter->BugPlanted : &adapter->BugMissed);
}

/* ---- data path ------------------------------------------------------------------ */

/* Complete one packet taken off the queue (or never queued) with the
 * outcome recorded when it was accepted; the last one of a closing VC
 * finishes the close. The miniport owns Packet on entry, not on return.
 * IRQL <= DISPATCH_LEVEL. */
static VOID Sim5Complete(PNDIS_PACKET Packet)
{
    ULONG_PTR tagged = (ULONG_PTR)SIM5_SLOT(Packet, 1);
    PSIM5_VC vc = (PSIM5_VC)(tagged & ~SIM5_TAG_BITS);
    PSIM5_CONTEXT ctx = vc->Context;
    NDIS_HANDLE vcHandle = vc->NdisVcHandle;
    NDIS_STATUS status = NDIS_STATUS_SUCCESS;
    if (tagged & SIM5_TOO_LONG)
        status = NDIS_STATUS_INVALID_LENGTH;
    else if (tagged & SIM5_FAIL)
        status = vc->Adapter->FailStatus;
    BOOLEAN finishClose = FALSE;
    if (tagged & SIM5_CHOSEN)
        Sim5BugComplete(Packet, vc, status);
    else
        NdisMCoSendComplete(status, vcHandle, Packet);
    BOOLEAN dpr = McmLibLock(&ctx->Lock);
    if (--vc->PendingSends == 0 && vc->State == Sim5VcClosing) {
        vc->State = Sim5VcIdle;
        finishClose = TRUE;
    }
    McmLibUnlock(&ctx->Lock, dpr);
    if (finishClose) {
        NdisMCmDeactivateVc(vcHandle);
        NdisMCmCloseCallComplete(NDIS_STATUS_SUCCESS, vcHandle, NULL);
    }
}

static ULONG Sim5Random(PSIM5_CONTEXT Ctx)
{
    /* xorshift32: cheap, and the same sequence for the same seed. */
    ULONG x = Ctx->Random;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    Ctx->Random = x;
    return x;
}

/* Shuffle Count packets of a pass in windows of Reorder (Fisher-Yates). */
static VOID Sim5Shuffle(PSIM5_CONTEXT Ctx, PNDIS_PACKET *Pass, ULONG Count, ULONG Reorder)
{
    for (ULONG start = 0; start < Count; start += Reorder) {
        ULONG n = Count - start < Reorder ? Count - start : Reorder;
        for (ULONG i = n - 1; i > 0; i--) {
            ULONG j = Sim5Random(Ctx) % (i + 1);
            PNDIS_PACKET t = Pass[start + i];
            Pass[start + i] = Pass[start + j];
            Pass[start + j] = t;
        }
    }
}

/* One pass of a completion context: take the due packets at the head of
 * its queue (at most SimQueue, and SimBatch when set), complete them, and
 * come back by DPC while more are due, or by timer when the head is not
 * due yet. DISPATCH_LEVEL. */
static VOID Sim5Pass(PSIM5_CONTEXT Ctx)
{
    PSIM5_ADAPTER adapter = Ctx->Adapter;
    ULONG limit = adapter->Queue;
    if (adapter->Batch != 0 && adapter->Batch < limit)
        limit = adapter->Batch;
    NdisDprAcquireSpinLock(&Ctx->Lock);
    if (Ctx->DpcActive) {
        NdisDprReleaseSpinLock(&Ctx->Lock);
        return;
    }
    Ctx->DpcActive = TRUE;
    ULONG64 now = adapter->Latency != 0 ? KeQueryInterruptTime() : 0;
    ULONG count = 0;
    while (count < limit && Ctx->Head != NULL &&
           (ULONG64)(ULONG_PTR)SIM5_SLOT(Ctx->Head, 2) <= now) {
        PNDIS_PACKET p = Ctx->Head;
        Ctx->Head = SIM5_SLOT(p, 0);
        if (Ctx->Head == NULL)
            Ctx->Tail = NULL;
        if (adapter->EarlyComplete) {
            NdisDprReleaseSpinLock(&Ctx->Lock);
            Sim5Complete(p);
            NdisDprAcquireSpinLock(&Ctx->Lock);
            count++;
        } else {
            Ctx->Pass[count++] = p;
        }
    }
    NdisDprReleaseSpinLock(&Ctx->Lock);
    if (!adapter->EarlyComplete) {
        if (adapter->Reorder > 1)
            Sim5Shuffle(Ctx, Ctx->Pass, count, adapter->Reorder);
        for (ULONG i = 0; i < count; i++)
            Sim5Complete(Ctx->Pass[i]);
    }
    NdisDprAcquireSpinLock(&Ctx->Lock);
    Ctx->DpcActive = FALSE;
    BOOLEAN again = FALSE;
    UINT waitMs = 0;
    if (Ctx->Head != NULL) {
        ULONG64 due = (ULONG64)(ULONG_PTR)SIM5_SLOT(Ctx->Head, 2);
        now = adapter->Latency != 0 ? KeQueryInterruptTime() : 0;
        if (due <= now) {
            again = TRUE;
        } else if (!Ctx->TimerSet) {
            Ctx->TimerSet = TRUE;
            waitMs = (UINT)((due - now + 9999) / 10000);
        }
    }
    NdisDprReleaseSpinLock(&Ctx->Lock);
    if (again)
        KeInsertQueueDpc(&Ctx->Dpc, NULL, NULL);
    else if (waitMs != 0)
        NdisMSetTimer(&Ctx->Timer, waitMs);
}

static VOID Sim5Dpc(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1,
                    PVOID SystemArgument2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);
    Sim5Pass(DeferredContext);
}

/* The latency timer: DISPATCH_LEVEL. Hands over to the context's DPC so
 * that completions come from the context's own processor. */
static VOID Sim5Timer(PVOID SystemSpecific1, PVOID FunctionContext, PVOID SystemSpecific2,
                      PVOID SystemSpecific3)
{
    PSIM5_CONTEXT ctx = FunctionContext;
    UNREFERENCED_PARAMETER(SystemSpecific1);
    UNREFERENCED_PARAMETER(SystemSpecific2);
    UNREFERENCED_PARAMETER(SystemSpecific3);
    NdisDprAcquireSpinLock(&ctx->Lock);
    ctx->TimerSet = FALSE;
    NdisDprReleaseSpinLock(&ctx->Lock);
    KeInsertQueueDpc(&ctx->Dpc, NULL, NULL);
}

/* The send path; Bug is a constant at each call, so that the normal path
 * is compiled without the planted bugs. */
static FORCEINLINE VOID Sim5Send(PSIM5_VC vc, PPNDIS_PACKET PacketArray, UINT NumberOfPackets,
                                 const BOOLEAN Bug)
{
    PSIM5_ADAPTER adapter = vc->Adapter;
    PSIM5_CONTEXT ctx = vc->Context;
    ULONG64 due = adapter->Latency != 0 ? KeQueryInterruptTime() + adapter->Latency : 0;
    BOOLEAN dpr = McmLibLock(&ctx->Lock);
    if (vc->State != Sim5VcActive) {
        McmLibUnlock(&ctx->Lock, dpr);
        for (UINT i = 0; i < NumberOfPackets; i++)
            NdisMCoSendComplete(NDIS_STATUS_FAILURE, vc->NdisVcHandle, PacketArray[i]);
        return;
    }
    vc->PendingSends += NumberOfPackets;
    McmLibUnlock(&ctx->Lock, dpr);
    BOOLEAN bugDpr = FALSE;
    if (Bug)
        bugDpr = McmLibLock(&adapter->BugLock); /* see "Planted bugs" at the top */
    for (UINT i = 0; i < NumberOfPackets; i++) {
        ULONG_PTR tagged = (ULONG_PTR)vc;
        UINT length = 0;
        NdisQueryPacket(PacketArray[i], NULL, NULL, NULL, &length);
        if (vc->MaxSduSize != 0 && length > vc->MaxSduSize)
            tagged |= SIM5_TOO_LONG;
        else if (adapter->FailEvery != 0 &&
                 (ULONG)InterlockedIncrement(&adapter->Accepted) % adapter->FailEvery == 0)
            tagged |= SIM5_FAIL;
        if (Bug && (ULONG)InterlockedIncrement(&adapter->BugCounter) % adapter->BugEvery == 0)
            tagged |= SIM5_CHOSEN;
        SIM5_SLOT(PacketArray[i], 0) = NULL;
        SIM5_SLOT(PacketArray[i], 1) = (PVOID)tagged;
        SIM5_SLOT(PacketArray[i], 2) = (PVOID)(ULONG_PTR)due;
    }
    if (Bug)
        McmLibUnlock(&adapter->BugLock, bugDpr);
    dpr = McmLibLock(&ctx->Lock);
    /* Inline only when nothing queued ahead could be overtaken. */
    BOOLEAN now = adapter->Inline && adapter->Latency == 0 && adapter->Reorder <= 1 &&
                  ctx->Head == NULL && !ctx->DpcActive;
    if (!now) {
        for (UINT i = 0; i < NumberOfPackets; i++) {
            if (ctx->Tail != NULL)
                SIM5_SLOT(ctx->Tail, 0) = PacketArray[i];
            else
                ctx->Head = PacketArray[i];
            ctx->Tail = PacketArray[i];
        }
    }
    McmLibUnlock(&ctx->Lock, dpr);
    if (!now) {
        KeInsertQueueDpc(&ctx->Dpc, NULL, NULL);
        return;
    }
    for (UINT i = 0; i < NumberOfPackets; i++)
        Sim5Complete(PacketArray[i]);
}

/* The protocol gives the packets to sim5; each goes back with one
 * NdisMCoSendComplete, here (refused, or SimInline) or from the DPC.
 * IRQL <= DISPATCH_LEVEL. */
static VOID Sim5CoSendPackets(NDIS_HANDLE MiniportVcContext, PPNDIS_PACKET PacketArray,
                              UINT NumberOfPackets)
{
    PSIM5_VC vc = MiniportVcContext;
    if (vc->Adapter->Bug == Sim5BugNone)
        Sim5Send(vc, PacketArray, NumberOfPackets, FALSE);
    else
        Sim5Send(vc, PacketArray, NumberOfPackets, TRUE);
}

/* ---- call manager ------------------------------------------------------------------ */

static NDIS_STATUS Sim5CmOpenAf(NDIS_HANDLE CallMgrBindingContext,
                                PCO_ADDRESS_FAMILY AddressFamily, NDIS_HANDLE NdisAfHandle,
                                PNDIS_HANDLE CallMgrAfContext)
{
    PSIM5_ADAPTER adapter = CallMgrBindingContext;
    UNREFERENCED_PARAMETER(NdisAfHandle);
    if (AddressFamily->AddressFamily != adapter->AddressFamily.AddressFamily ||
        AddressFamily->MajorVersion != adapter->AddressFamily.MajorVersion)
        return NDIS_STATUS_FAILURE;
    PSIM5_AF af = Sim5Alloc(sizeof(*af));
    if (af == NULL)
        return NDIS_STATUS_RESOURCES;
    af->Adapter = adapter;
    *CallMgrAfContext = af;
    return NDIS_STATUS_SUCCESS;
}

static NDIS_STATUS Sim5CmCloseAf(NDIS_HANDLE CallMgrAfContext)
{
    PSIM5_AF af = CallMgrAfContext;
    BOOLEAN dpr = McmLibLock(&af->Adapter->Lock);
    ULONG vcs = af->VcCount;
    McmLibUnlock(&af->Adapter->Lock, dpr);
    if (vcs != 0)
        return NDIS_STATUS_NOT_ACCEPTED;
    NdisFreeMemory(af, 0, 0);
    return NDIS_STATUS_SUCCESS;
}

static NDIS_STATUS Sim5CmCreateVc(NDIS_HANDLE ProtocolAfContext, NDIS_HANDLE NdisVcHandle,
                                  PNDIS_HANDLE ProtocolVcContext)
{
    PSIM5_AF af = ProtocolAfContext;
    PSIM5_ADAPTER adapter = af->Adapter;
    PSIM5_VC vc = Sim5Alloc(sizeof(*vc));
    if (vc == NULL)
        return NDIS_STATUS_RESOURCES;
    vc->Af = af;
    vc->Adapter = adapter;
    vc->NdisVcHandle = NdisVcHandle;
    vc->State = Sim5VcIdle;
    ULONG turn = (ULONG)InterlockedIncrement(&adapter->NextContext) - 1;
    vc->Context = &adapter->Contexts[turn % adapter->DpcThreads];
    BOOLEAN dpr = McmLibLock(&adapter->Lock);
    af->VcCount++;
    InsertTailList(&adapter->VcList, &vc->Link);
    McmLibUnlock(&adapter->Lock, dpr);
    *ProtocolVcContext = vc;
    return NDIS_STATUS_SUCCESS;
}

static NDIS_STATUS Sim5CmDeleteVc(NDIS_HANDLE ProtocolVcContext)
{
    PSIM5_VC vc = ProtocolVcContext;
    PSIM5_ADAPTER adapter = vc->Adapter;
    BOOLEAN dpr = McmLibLock(&vc->Context->Lock);
    BOOLEAN busy = vc->State != Sim5VcIdle || vc->PendingSends != 0;
    McmLibUnlock(&vc->Context->Lock, dpr);
    if (busy)
        return NDIS_STATUS_NOT_ACCEPTED;
    dpr = McmLibLock(&adapter->Lock);
    vc->Af->VcCount--;
    RemoveEntryList(&vc->Link);
    McmLibUnlock(&adapter->Lock, dpr);
    NdisFreeMemory(vc, 0, 0);
    return NDIS_STATUS_SUCCESS;
}

static NDIS_STATUS Sim5CmMakeCall(NDIS_HANDLE CallMgrVcContext, PCO_CALL_PARAMETERS CallParameters,
                                  NDIS_HANDLE NdisPartyHandle, PNDIS_HANDLE CallMgrPartyContext)
{
    PSIM5_VC vc = CallMgrVcContext;
    PSIM5_CONTEXT ctx = vc->Context;
    if (CallMgrPartyContext != NULL)
        *CallMgrPartyContext = NULL;
    if (NdisPartyHandle != NULL)
        return NDIS_STATUS_NOT_SUPPORTED;
    MCMLIB_CALL_LIMITS limits;
    NDIS_STATUS status = McmLibCheckCallParameters(CallParameters, &limits);
    if (status != NDIS_STATUS_SUCCESS)
        return status;
    BOOLEAN dpr = McmLibLock(&ctx->Lock);
    if (vc->State != Sim5VcIdle) {
        McmLibUnlock(&ctx->Lock, dpr);
        return NDIS_STATUS_CALL_ACTIVE;
    }
    vc->MaxSduSize = limits.MaxSduSize;
    vc->State = Sim5VcActive;
    McmLibUnlock(&ctx->Lock, dpr);
    status = NdisMCmActivateVc(vc->NdisVcHandle, CallParameters);
    if (status != NDIS_STATUS_SUCCESS) {
        dpr = McmLibLock(&ctx->Lock);
        vc->State = Sim5VcIdle;
        McmLibUnlock(&ctx->Lock, dpr);
    }
    return status;
}

/* Sends already accepted still complete; the close completes with the last. */
static NDIS_STATUS Sim5CmCloseCall(NDIS_HANDLE CallMgrVcContext, NDIS_HANDLE CallMgrPartyContext,
                                   PVOID CloseData, UINT Size)
{
    PSIM5_VC vc = CallMgrVcContext;
    PSIM5_CONTEXT ctx = vc->Context;
    NDIS_STATUS status;
    UNREFERENCED_PARAMETER(CallMgrPartyContext);
    UNREFERENCED_PARAMETER(CloseData);
    UNREFERENCED_PARAMETER(Size);
    BOOLEAN dpr = McmLibLock(&ctx->Lock);
    if (vc->State == Sim5VcClosing) {
        status = NDIS_STATUS_CLOSING;
    } else if (vc->State != Sim5VcActive) {
        status = NDIS_STATUS_FAILURE;
    } else if (vc->PendingSends != 0) {
        vc->State = Sim5VcClosing;
        status = NDIS_STATUS_PENDING;
    } else {
        vc->State = Sim5VcIdle;
        status = NDIS_STATUS_SUCCESS;
    }
    McmLibUnlock(&ctx->Lock, dpr);
    if (status == NDIS_STATUS_SUCCESS)
        NdisMCmDeactivateVc(vc->NdisVcHandle);
    return status;
}

static NDIS_STATUS Sim5CmRequest(NDIS_HANDLE ProtocolAfContext, NDIS_HANDLE ProtocolVcContext,
                                 NDIS_HANDLE ProtocolPartyContext, PNDIS_REQUEST NdisRequest)
{
    UNREFERENCED_PARAMETER(ProtocolAfContext);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    UNREFERENCED_PARAMETER(NdisRequest);
    return NDIS_STATUS_NOT_SUPPORTED;
}

static VOID Sim5CmRequestComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolAfContext,
                                  NDIS_HANDLE ProtocolVcContext, NDIS_HANDLE ProtocolPartyContext,
                                  PNDIS_REQUEST NdisRequest)
{
    UNREFERENCED_PARAMETER(Status);
    UNREFERENCED_PARAMETER(ProtocolAfContext);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    UNREFERENCED_PARAMETER(NdisRequest);
}

/* ---- miniport ------------------------------------------------------------------------ */

static NDIS_STATUS Sim5CoRequest(NDIS_HANDLE MiniportAdapterContext,
                                 NDIS_HANDLE MiniportVcContext, PNDIS_REQUEST NdisRequest)
{
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(MiniportVcContext);
    UNREFERENCED_PARAMETER(NdisRequest);
    return NDIS_STATUS_NOT_SUPPORTED;
}

/* sim5 indicates no receives, so nothing ever comes back here; condis
 * still requires the handler of every 5.x miniport call manager. */
static VOID Sim5ReturnPacket(NDIS_HANDLE MiniportAdapterContext, PNDIS_PACKET Packet)
{
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(Packet);
}

/* Frees the contexts set up so far (Ready of them) and the adapter.
 * PASSIVE_LEVEL; no DPC of the adapter may still be pending. */
static VOID Sim5FreeAdapter(PSIM5_ADAPTER Adapter, ULONG Ready)
{
    for (ULONG i = 0; i < Ready; i++) {
        PSIM5_CONTEXT ctx = &Adapter->Contexts[i];
        BOOLEAN cancelled = FALSE;
        NdisMCancelTimer(&ctx->Timer, &cancelled);
        NdisFreeMemory(ctx->Pass, 0, 0);
        NdisFreeSpinLock(&ctx->Lock);
    }
    if (Adapter->Contexts != NULL)
        NdisFreeMemory(Adapter->Contexts, 0, 0);
    NdisFreeSpinLock(&Adapter->BugLock);
    NdisFreeSpinLock(&Adapter->Lock);
    NdisFreeMemory(Adapter, 0, 0);
}

static VOID Sim5Halt(NDIS_HANDLE MiniportAdapterContext)
{
    PSIM5_ADAPTER adapter = MiniportAdapterContext;
    /* Every send is complete by now, so no timer waits for a packet; a
     * timer or DPC that found its queue empty may still be leaving. */
    for (ULONG i = 0; i < adapter->DpcThreads; i++) {
        BOOLEAN cancelled = FALSE;
        NdisMCancelTimer(&adapter->Contexts[i].Timer, &cancelled);
    }
    KeFlushQueuedDpcs();
    if (adapter->Bug != Sim5BugNone) {
        LONG missed = InterlockedCompareExchange(&adapter->BugMissed, 0, 0);
        if (missed != 0)
            DbgPrint("halt: planted bugs %ld (SimBug=%lu; %ld more chosen packets were sent to "
                     "sim5 again before the bug could hit them)\n",
                     InterlockedCompareExchange(&adapter->BugPlanted, 0, 0), adapter->Bug, missed);
        else
            DbgPrint("halt: planted bugs %ld (SimBug=%lu)\n",
                     InterlockedCompareExchange(&adapter->BugPlanted, 0, 0), adapter->Bug);
    }
    Sim5FreeAdapter(adapter, adapter->DpcThreads);
}

static VOID Sim5ReadConfiguration(PSIM5_ADAPTER Adapter, NDIS_HANDLE WrapperConfigurationContext)
{
    const ULONG any = 0xFFFFFFFFUL;
    Adapter->AddressFamily.AddressFamily = CO_ADDRESS_FAMILY_PPP;
    Adapter->AddressFamily.MajorVersion = 1;
    Adapter->AddressFamily.MinorVersion = 0;
    Adapter->Queue = 256;
    Adapter->DpcThreads = 1;
    Adapter->FailStatus = NDIS_STATUS_FAILURE;
    Adapter->Seed = 1;
    Adapter->BugEvery = 100;
    NDIS_STATUS status;
    NDIS_HANDLE config = NULL;
    NdisOpenConfiguration(&status, &config, WrapperConfigurationContext);
    if (status != NDIS_STATUS_SUCCESS)
        return;
    ULONG cpus = KeQueryActiveProcessorCount(NULL);
    if (cpus == 0)
        cpus = 1;
    Adapter->Queue = McmLibReadUlong(config, L"SimQueue", 256, 1, SIM5_QUEUE_MAX, "sim5");
    Adapter->DpcThreads = McmLibReadUlong(config, L"SimDpcThreads", 1, 1, cpus, "sim5");
    Adapter->Inline = McmLibReadUlong(config, L"SimInline", 0, 0, 1, "sim5") != 0;
    Adapter->Reorder = McmLibReadUlong(config, L"SimReorder", 0, 0, SIM5_REORDER_MAX, "sim5");
    Adapter->Batch = McmLibReadUlong(config, L"SimBatch", 0, 0, any, "sim5");
    Adapter->FailEvery = McmLibReadUlong(config, L"SimFailEvery", 0, 0, any, "sim5");
    Adapter->FailStatus = (NDIS_STATUS)McmLibReadUlong(config, L"SimFailStatus",
                                                       (ULONG)NDIS_STATUS_FAILURE, 1, any, "sim5");
    if (Adapter->FailStatus == NDIS_STATUS_PENDING) {
        DbgPrint("SimFailStatus=0x%lx is NDIS_STATUS_PENDING, never a final status; "
                 "sim5 keeps NDIS_STATUS_FAILURE\n",
                 (unsigned long)NDIS_STATUS_PENDING);
        Adapter->FailStatus = NDIS_STATUS_FAILURE;
    }
    Adapter->Latency = (ULONG64)McmLibReadUlong(config, L"SimLatencyUs", 0, 0, any, "sim5") * 10;
    Adapter->EarlyComplete = McmLibReadUlong(config, L"SimEarlyComplete", 0, 0, 1, "sim5") != 0;
    Adapter->Seed = McmLibReadUlong(config, L"SimSeed", 1, 0, any, "sim5");
    /* Test-only. A value sim5 does not know is reported and kept at 0. */
    Adapter->Bug = McmLibReadUlong(config, L"SimBug", Sim5BugNone, Sim5BugNone, SIM5_BUG_MAX, "sim5");
    Adapter->BugEvery = McmLibReadUlong(config, L"SimBugEvery", 100, 1, any, "sim5");
    NdisCloseConfiguration(config);
    if (Adapter->Bug == Sim5BugNbList || Adapter->Bug == Sim5BugIrql) {
        DbgPrint("SimBug=%lu is a bug of NDIS 6 completions (NET_BUFFER lists, "
                 "NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL) and does not apply to sim5; sim5 "
                 "plants no bug\n",
                 Adapter->Bug);
        Adapter->Bug = Sim5BugNone;
    } else if (Adapter->Bug != Sim5BugNone) {
        static const char *const what[] = {
            NULL,
            "it is completed twice (OWN-5)",
            "it is never completed (OWN-6)",
            "it is completed with NDIS_STATUS_PENDING (PKT-3)",
            NULL,
            "it is completed on another VC's handle (OWN-5)",
            "it is written to after its completion (OWN-4)",
            NULL,
            "it is completed with NDIS_STATUS_RESOURCES (PKT-3)",
        };
        DbgPrint("SimBug=%lu: a planted bug in one of every %lu packets sim5 accepts: %s\n",
                 Adapter->Bug, Adapter->BugEvery, what[Adapter->Bug]);
    }
}

static NDIS_STATUS Sim5Initialize(PNDIS_STATUS OpenErrorStatus, PUINT SelectedMediumIndex,
                                  PNDIS_MEDIUM MediumArray, UINT MediumArraySize,
                                  NDIS_HANDLE MiniportAdapterHandle,
                                  NDIS_HANDLE WrapperConfigurationContext)
{
    static NDIS_CALL_MANAGER_CHARACTERISTICS cm = {
        .MajorVersion = 5,
        .MinorVersion = 1,
        .CmCreateVcHandler = Sim5CmCreateVc,
        .CmDeleteVcHandler = Sim5CmDeleteVc,
        .CmOpenAfHandler = Sim5CmOpenAf,
        .CmCloseAfHandler = Sim5CmCloseAf,
        .CmRegisterSapHandler = McmLibCmRegisterSap,
        .CmDeregisterSapHandler = McmLibCmDeregisterSap,
        .CmMakeCallHandler = Sim5CmMakeCall,
        .CmCloseCallHandler = Sim5CmCloseCall,
        .CmIncomingCallCompleteHandler = McmLibCmIncomingCallComplete,
        .CmAddPartyHandler = McmLibCmAddParty,
        .CmDropPartyHandler = McmLibCmDropParty,
        .CmActivateVcCompleteHandler = McmLibCmActivateVcComplete,
        .CmDeactivateVcCompleteHandler = McmLibCmDeactivateVcComplete,
        .CmModifyCallQoSHandler = McmLibCmModifyCallQoS,
        .CmRequestHandler = Sim5CmRequest,
        .CmRequestCompleteHandler = Sim5CmRequestComplete,
    };
    *OpenErrorStatus = NDIS_STATUS_SUCCESS;
    UINT i;
    for (i = 0; i < MediumArraySize && MediumArray[i] != NdisMediumCoWan; i++)
        ;
    if (i == MediumArraySize)
        return NDIS_STATUS_UNSUPPORTED_MEDIA;
    *SelectedMediumIndex = i;

    PSIM5_ADAPTER adapter = Sim5Alloc(sizeof(*adapter));
    if (adapter == NULL)
        return NDIS_STATUS_RESOURCES;
    adapter->Handle = MiniportAdapterHandle;
    NdisAllocateSpinLock(&adapter->Lock);
    NdisAllocateSpinLock(&adapter->BugLock);
    InitializeListHead(&adapter->VcList);
    Sim5ReadConfiguration(adapter, WrapperConfigurationContext);
    adapter->Contexts = Sim5Alloc(adapter->DpcThreads * sizeof(SIM5_CONTEXT));
    if (adapter->Contexts == NULL) {
        Sim5FreeAdapter(adapter, 0);
        return NDIS_STATUS_RESOURCES;
    }
    for (ULONG c = 0; c < adapter->DpcThreads; c++) {
        PSIM5_CONTEXT ctx = &adapter->Contexts[c];
        ctx->Pass = Sim5Alloc(adapter->Queue * sizeof(PNDIS_PACKET));
        if (ctx->Pass == NULL) {
            Sim5FreeAdapter(adapter, c);
            return NDIS_STATUS_RESOURCES;
        }
        ctx->Adapter = adapter;
        ctx->Random = (adapter->Seed ^ (c * 0x9E3779B9UL)) | 1;
        NdisAllocateSpinLock(&ctx->Lock);
        KeInitializeDpc(&ctx->Dpc, Sim5Dpc, ctx);
        KeSetTargetProcessorDpc(&ctx->Dpc, (CCHAR)c);
        NdisMInitializeTimer(&ctx->Timer, MiniportAdapterHandle, Sim5Timer, ctx);
    }
    NdisMSetAttributesEx(MiniportAdapterHandle, adapter, 0,
                         NDIS_ATTRIBUTE_DESERIALIZE | NDIS_ATTRIBUTE_SURPRISE_REMOVE_OK,
                         NdisInterfaceInternal);
    NDIS_STATUS status = NdisMCmRegisterAddressFamily(MiniportAdapterHandle,
                                                      &adapter->AddressFamily, &cm, sizeof(cm));
    if (status != NDIS_STATUS_SUCCESS)
        Sim5FreeAdapter(adapter, adapter->DpcThreads);
    return status;
}

/* Nothing of the driver's own outlives its adapters. */
static VOID Sim5Unload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
}

DRIVER_INITIALIZE Sim5DriverEntry;

NTSTATUS Sim5DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NDIS_HANDLE wrapper = NULL;
    NdisMInitializeWrapper(&wrapper, DriverObject, RegistryPath, NULL);
    if (wrapper == NULL)
        return STATUS_UNSUCCESSFUL;
    NDIS_MINIPORT_CHARACTERISTICS chars;
    NdisZeroMemory(&chars, sizeof(chars));
    chars.MajorNdisVersion = 5;
    chars.MinorNdisVersion = 1;
    chars.InitializeHandler = Sim5Initialize;
    chars.HaltHandler = Sim5Halt;
    chars.ReturnPacketHandler = Sim5ReturnPacket;
    chars.CoSendPacketsHandler = Sim5CoSendPackets;
    chars.CoRequestHandler = Sim5CoRequest;
    NDIS_STATUS status = NdisMRegisterMiniport(wrapper, &chars, sizeof(chars));
    if (status != NDIS_STATUS_SUCCESS) {
        NdisTerminateWrapper(wrapper, NULL);
        return STATUS_UNSUCCESSFUL;
    }
    NdisMRegisterUnloadHandler(wrapper, Sim5Unload);
    return STATUS_SUCCESS;
}
