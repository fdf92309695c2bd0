/*
 * loop.c - "loop", condis' built-in CoNDIS miniport call manager (MCM).
 *
 * loop presents one NdisMediumCoWan adapter per instance and registers one
 * address family on it. A client opens the family, creates a VC, makes a
 * call, and every NET_BUFFER_LIST it then sends on the VC comes back to it
 * as a receive on the same VC, in the order it was sent. Nothing is copied:
 * the receive describes the sender's own MDLs, so the send is completed
 * only once the receiver is done with the data.
 *
 * It is written only against <ndis.h>, exactly as a third-party NDIS 6.0
 * driver would be, and is meant to be read as an example of one. What
 * every built-in MCM does the same way, and is not particular to loop, is
 * in ../common/mcmlib.c: the handlers of call manager operations loop does
 * not offer, the answers to the CoNDIS general OIDs, the adapter
 * attributes, the reading of parameters and the check of call parameters.
 *
 * Parameters (NdisReadConfiguration on the adapter):
 *   LoopInline         0 (default): sends are queued and looped back from
 *                      loop's DPC, at DISPATCH_LEVEL, in batches.
 *                      1: everything happens inside
 *                      MiniportCoSendNetBufferLists, at the caller's IRQL.
 *   LoopResources      0 (default): receives are indicated without
 *                      NDIS_RECEIVE_FLAGS_RESOURCES; the protocol keeps them
 *                      until it returns them, and only then is the send
 *                      completed. 1: receives are indicated with the flag
 *                      and the send is completed as soon as the indication
 *                      returns.
 *   LoopAddressFamily  the CO_ADDRESS_FAMILY_* loop registers (default
 *                      CO_ADDRESS_FAMILY_PPP), version 1.0.
 *
 * Ownership of a sent NBL (the numbers are the rules of RULES.md):
 *   MiniportCoSendNetBufferLists      loop owns it (OWN-4). loop links it
 *                                     through MiniportReserved: [0] is the
 *                                     next NBL in loop's queue or batch,
 *                                     [1] is the LOOP_VC it was sent on.
 *   refused / too long / no receive   completed at once with a failure
 *                                     status; loop is done with it.
 *   indicated                         a receive NBL from loop's own pool
 *                                     describes its data; the receive's
 *                                     MiniportReserved[0] points back to it.
 *   receive returned (or RESOURCES    loop frees the receive, then completes
 *   indication returned)              the send with NDIS_STATUS_SUCCESS and
 *                                     never touches it again.
 *
 * Concurrency: one NDIS spin lock per adapter guards loop's queue, the
 * adapter and VC states and the counts of sends not yet completed. It is
 * never held across a call into NDIS, so a protocol may send, return or
 * close from inside any callback loop makes. The work a send costs is a few
 * pointer stores and one lock acquisition per chain; nothing is allocated
 * per send but the receive descriptors, which come from loop's pools.
 */
#define NDIS60_MINIPORT 1
#include <ndis.h>

#include "../common/mcmlib.h"

/* ---- constants ------------------------------------------------------------- */

/* Pool tags: "LpAd", "LpAf" ... in a memory dump and in condis' leak report. */
#define LOOP_TAG_ADAPTER MCMLIB_TAG('L', 'p', 'A', 'd')
#define LOOP_TAG_AF MCMLIB_TAG('L', 'p', 'A', 'f')
#define LOOP_TAG_VC MCMLIB_TAG('L', 'p', 'V', 'c')
#define LOOP_TAG_RECV_NBL MCMLIB_TAG('L', 'p', 'R', 'l')
#define LOOP_TAG_RECV_NB MCMLIB_TAG('L', 'p', 'R', 'b')

/* loop copies nothing, so no size is hard for it; it reports the largest
 * frame a WAN protocol would size its buffers for. A call limits its own
 * frames with MaxSduSize. */
#define LOOP_MTU 65535UL
/* Reported link speed: 10 Gbit/s, in bits per second. */
#define LOOP_LINK_SPEED 10000000000ULL

#define LOOP_AF_MAJOR_VERSION 1
#define LOOP_AF_MINOR_VERSION 0

#define LOOP_DRIVER_MAJOR_VERSION 1
#define LOOP_DRIVER_MINOR_VERSION 0

/* ---- state ------------------------------------------------------------------- */

typedef enum _LOOP_ADAPTER_STATE {
    LoopAdapterPaused,   /* after MiniportInitializeEx and MiniportPause */
    LoopAdapterRunning,  /* after MiniportRestart: sends are accepted */
    LoopAdapterPausing,  /* MiniportPause returned PENDING; sends drain */
} LOOP_ADAPTER_STATE;

typedef enum _LOOP_VC_STATE {
    LoopVcIdle,          /* created, no call (or the call has closed) */
    LoopVcActive,        /* call made and VC activated: sends are accepted */
    LoopVcClosing,       /* CmCloseCall returned PENDING: the VC drains */
} LOOP_VC_STATE;

typedef struct _LOOP_ADAPTER LOOP_ADAPTER, *PLOOP_ADAPTER;
typedef struct _LOOP_AF LOOP_AF, *PLOOP_AF;
typedef struct _LOOP_VC LOOP_VC, *PLOOP_VC;

/*
 * One per adapter: the MiniportAdapterContext and the CallMgrBindingContext.
 * Allocated in MiniportInitializeEx, freed in MiniportHaltEx.
 */
struct _LOOP_ADAPTER {
    NDIS_HANDLE MiniportAdapterHandle;

    /* Read from the configuration in MiniportInitializeEx; constant after. */
    BOOLEAN Inline;                  /* LoopInline */
    BOOLEAN IndicateWithResources;   /* LoopResources */
    CO_ADDRESS_FAMILY AddressFamily; /* LoopAddressFamily, version 1.0 */

    /* Receive descriptors: an NBL with one NB for each sent NBL, and extra
     * NBs from the NB pool for sent NBLs that carry more than one. */
    NDIS_HANDLE RecvNblPool;
    NDIS_HANDLE RecvNbPool;

    /* Loops back the queued sends when LoopInline is 0. */
    KDPC SendDpc;

    /* Set by CmNotifyCloseAfComplete; MiniportHaltEx waits on it. */
    NDIS_EVENT NotifyCloseDone;

    NDIS_SPIN_LOCK Lock;
    /* ---- everything below is guarded by Lock ---- */
    LOOP_ADAPTER_STATE State;
    /* A DPC instance is taking work off the queue. Another instance that
     * starts meanwhile (the DPC may be queued again on another processor
     * while it runs) leaves the queue to it: one consumer keeps receives
     * in transmit order. */
    BOOLEAN DpcActive;
    /* Sends waiting for the DPC, linked through MiniportReserved[0]. */
    PNET_BUFFER_LIST QueueHead;
    PNET_BUFFER_LIST QueueTail;
    /* Sends accepted and not yet completed, on every VC. MiniportPause
     * finishes when it reaches zero. */
    ULONG PendingSends;
    /* Address families open by clients (LOOP_AF.Link). */
    LIST_ENTRY AfList;
};

/*
 * One per open of the address family by a client: the CallMgrAfContext.
 * Allocated in CmOpenAf, freed in CmCloseAf (or, while a notify-close is
 * outstanding, by whichever of CmCloseAf and the notify's completion comes
 * last).
 */
struct _LOOP_AF {
    LIST_ENTRY Link;            /* LOOP_ADAPTER.AfList (Lock) */
    PLOOP_ADAPTER Adapter;
    NDIS_HANDLE NdisAfHandle;
    LIST_ENTRY VcList;          /* LOOP_VC.Link (Lock) */
    BOOLEAN NotifySent;         /* MiniportHaltEx asked the client to close (Lock) */
    BOOLEAN NotifyPending;      /* ... and the client has not answered yet (Lock) */
    BOOLEAN Closed;             /* CmCloseAf ran; kept only while NotifyPending (Lock) */
};

/*
 * One per VC a client creates on the family: the context CmCreateVc returns,
 * which NDIS passes both to the call manager handlers and, as
 * MiniportVcContext, to MiniportCoSendNetBufferLists. Allocated in
 * CmCreateVc, freed in CmDeleteVc.
 */
struct _LOOP_VC {
    LIST_ENTRY Link;            /* LOOP_AF.VcList (Lock) */
    PLOOP_AF Af;
    PLOOP_ADAPTER Adapter;
    NDIS_HANDLE NdisVcHandle;
    /* From the call's Transmit flow spec; 0 means no limit. Written before
     * the VC becomes active and not changed while it is, so the send path
     * reads it without the lock. */
    ULONG MaxSduSize;
    LOOP_VC_STATE State;        /* (Lock) */
    ULONG PendingSends;         /* accepted, not yet completed (Lock) */
};

static NDIS_HANDLE LoopDriverHandle;

/* ---- handler declarations, with the WDK's role types ---------------------------- */

DRIVER_INITIALIZE LoopDriverEntry;   /* named by condis' table of built-in drivers */

static MINIPORT_SET_OPTIONS LoopSetOptions;
static MINIPORT_INITIALIZE LoopInitializeEx;
static MINIPORT_HALT LoopHaltEx;
static MINIPORT_UNLOAD LoopDriverUnload;
static MINIPORT_PAUSE LoopPause;
static MINIPORT_RESTART LoopRestart;
static MINIPORT_OID_REQUEST LoopOidRequest;
static MINIPORT_RETURN_NET_BUFFER_LISTS LoopReturnNetBufferLists;

static MINIPORT_CO_ACTIVATE_VC LoopCoActivateVc;
static MINIPORT_CO_SEND_NET_BUFFER_LISTS LoopCoSendNetBufferLists;
static MINIPORT_CO_OID_REQUEST LoopCoOidRequest;

static PROTOCOL_CO_CREATE_VC LoopCmCreateVc;
static PROTOCOL_CO_DELETE_VC LoopCmDeleteVc;
static PROTOCOL_CM_OPEN_AF LoopCmOpenAf;
static PROTOCOL_CM_CLOSE_AF LoopCmCloseAf;
static PROTOCOL_CM_MAKE_CALL LoopCmMakeCall;
static PROTOCOL_CM_CLOSE_CALL LoopCmCloseCall;
static PROTOCOL_CM_NOTIFY_CLOSE_AF_COMPLETE LoopCmNotifyCloseAfComplete;

static KDEFERRED_ROUTINE LoopSendDpc;

/* ---- small helpers ------------------------------------------------------------- */

/* A sent NBL's link in loop's queue or batch, and its VC (MiniportReserved
 * belongs to the miniport while it owns the NBL). */
static inline PNET_BUFFER_LIST LoopSendNext(PNET_BUFFER_LIST Nbl)
{
    return (PNET_BUFFER_LIST)NET_BUFFER_LIST_MINIPORT_RESERVED(Nbl)[0];
}

static inline VOID LoopSetSendNext(PNET_BUFFER_LIST Nbl, PNET_BUFFER_LIST Next)
{
    NET_BUFFER_LIST_MINIPORT_RESERVED(Nbl)[0] = Next;
}

static inline PLOOP_VC LoopSendVc(PNET_BUFFER_LIST Nbl)
{
    return (PLOOP_VC)NET_BUFFER_LIST_MINIPORT_RESERVED(Nbl)[1];
}

static inline VOID LoopSetSendVc(PNET_BUFFER_LIST Nbl, PLOOP_VC Vc)
{
    NET_BUFFER_LIST_MINIPORT_RESERVED(Nbl)[1] = Vc;
}

/* The sent NBL whose data a receive NBL of loop's pool describes. */
static inline PNET_BUFFER_LIST LoopRecvOriginal(PNET_BUFFER_LIST Recv)
{
    return (PNET_BUFFER_LIST)NET_BUFFER_LIST_MINIPORT_RESERVED(Recv)[0];
}

/* ---- receive descriptors ------------------------------------------------------- */

/*
 * Give a receive NBL back to loop's pools, with the extra NET_BUFFERs loop
 * chained on it (NdisFreeNetBufferList frees only the NB that came with the
 * NBL). The sender's MDLs it described are not touched.
 * Any IRQL <= DISPATCH_LEVEL. On entry loop owns Recv; on return it is gone.
 */
static VOID LoopFreeReceive(PNET_BUFFER_LIST Recv)
{
    PNET_BUFFER first = NET_BUFFER_LIST_FIRST_NB(Recv);
    if (first != NULL) {
        PNET_BUFFER nb = NET_BUFFER_NEXT_NB(first);
        NET_BUFFER_NEXT_NB(first) = NULL;
        while (nb != NULL) {
            PNET_BUFFER next = NET_BUFFER_NEXT_NB(nb);
            NET_BUFFER_NEXT_NB(nb) = NULL;
            NdisFreeNetBuffer(nb);
            nb = next;
        }
    }
    NdisFreeNetBufferList(Recv);
}

/*
 * A receive NBL that describes, without copying, the data of the sent NBL
 * Original: one NET_BUFFER per sent NET_BUFFER, over the same MDL chain,
 * offset and length. NULL when loop's pools are exhausted.
 * Any IRQL <= DISPATCH_LEVEL. loop owns Original throughout and owns the
 * receive it returns.
 */
static PNET_BUFFER_LIST LoopAllocateReceive(PLOOP_ADAPTER Adapter, PLOOP_VC Vc,
                                            PNET_BUFFER_LIST Original)
{
    PNET_BUFFER sent = NET_BUFFER_LIST_FIRST_NB(Original);
    PNET_BUFFER_LIST recv = NdisAllocateNetBufferAndNetBufferList(
        Adapter->RecvNblPool, 0, 0, sent != NULL ? NET_BUFFER_FIRST_MDL(sent) : NULL,
        sent != NULL ? NET_BUFFER_DATA_OFFSET(sent) : 0,
        sent != NULL ? NET_BUFFER_DATA_LENGTH(sent) : 0);
    if (recv == NULL)
        return NULL;

    PNET_BUFFER tail = NET_BUFFER_LIST_FIRST_NB(recv);
    for (sent = sent != NULL ? NET_BUFFER_NEXT_NB(sent) : NULL; sent != NULL;
         sent = NET_BUFFER_NEXT_NB(sent)) {
        PNET_BUFFER nb = NdisAllocateNetBuffer(Adapter->RecvNbPool, NET_BUFFER_FIRST_MDL(sent),
                                               NET_BUFFER_DATA_OFFSET(sent),
                                               NET_BUFFER_DATA_LENGTH(sent));
        if (nb == NULL) {
            LoopFreeReceive(recv);
            return NULL;
        }
        NET_BUFFER_NEXT_NB(tail) = nb;
        tail = nb;
    }

    /* NDIS routes the return by SourceHandle; the data is the sender's,
     * lent to the receiver, who must not write it. */
    recv->SourceHandle = Vc->NdisVcHandle;
    NET_BUFFER_LIST_STATUS(recv) = NDIS_STATUS_SUCCESS;
    NdisSetNblFlag(recv, NDIS_NBL_FLAGS_RECV_READ_ONLY);
    NET_BUFFER_LIST_MINIPORT_RESERVED(recv)[0] = Original;
    return recv;
}

/* ---- completing sends ------------------------------------------------------------- */

/*
 * Count sends of one VC as completed, and finish what was waiting for them:
 * a close of the VC's call, a pause of the adapter. Called after the NBLs
 * went back to NDIS. Any IRQL <= DISPATCH_LEVEL. Vc may be deleted by the
 * time this returns; the adapter may be halted once the pause completes.
 */
static VOID LoopSendsDone(PLOOP_ADAPTER Adapter, PLOOP_VC Vc, ULONG Count)
{
    BOOLEAN finishClose = FALSE, finishPause = FALSE;
    NDIS_HANDLE vcHandle = Vc->NdisVcHandle;
    NDIS_HANDLE adapterHandle = Adapter->MiniportAdapterHandle;

    BOOLEAN dpr = McmLibLock(&Adapter->Lock);
    Vc->PendingSends -= Count;
    Adapter->PendingSends -= Count;
    if (Vc->State == LoopVcClosing && Vc->PendingSends == 0) {
        Vc->State = LoopVcIdle;
        finishClose = TRUE;
    }
    if (Adapter->State == LoopAdapterPausing && Adapter->PendingSends == 0) {
        Adapter->State = LoopAdapterPaused;
        finishPause = TRUE;
    }
    McmLibUnlock(&Adapter->Lock, dpr);

    /* The close first: once the pause completes the adapter may be halted,
     * and the close must not come after that. */
    if (finishClose) {
        NdisMCmDeactivateVc(vcHandle);
        NdisMCmCloseCallComplete(NDIS_STATUS_SUCCESS, vcHandle, NULL);
    }
    if (finishPause)
        NdisMPauseComplete(adapterHandle);
}

/*
 * Give a chain of sends of one VC back to NDIS, each with its status set.
 * Any IRQL <= DISPATCH_LEVEL. On entry loop owns the chain (linked through
 * NET_BUFFER_LIST_NEXT_NBL, Count NBLs); on return it owns none of it.
 */
static VOID LoopCompleteSends(PLOOP_VC Vc, PNET_BUFFER_LIST Chain, ULONG Count)
{
    PLOOP_ADAPTER adapter = Vc->Adapter;
    NdisMCoSendNetBufferListsComplete(Vc->NdisVcHandle, Chain, McmLibSendCompleteFlags());
    LoopSendsDone(adapter, Vc, Count);
}

/* ---- the loopback ------------------------------------------------------------------- */

/*
 * Loop back a run of accepted sends of one VC, in order: each is either
 * indicated back as a receive on the VC or completed with a failure (too
 * long for the call's MaxSduSize, or no receive descriptor left). The
 * receives of the run go up in one indication, the sends finished here go
 * back in one completion.
 *
 * Runs at the caller's IRQL: DISPATCH_LEVEL from loop's DPC, or whatever
 * MiniportCoSendNetBufferLists was called at with LoopInline. On entry loop
 * owns the run (linked through MiniportReserved[0]); on return it still
 * owns only the sends whose receives the protocol has not returned yet.
 */
static VOID LoopLoopbackRun(PLOOP_VC Vc, PNET_BUFFER_LIST Run)
{
    PLOOP_ADAPTER adapter = Vc->Adapter;
    PNET_BUFFER_LIST recvHead = NULL, *recvTail = &recvHead;
    PNET_BUFFER_LIST doneHead = NULL, *doneTail = &doneHead;
    ULONG recvCount = 0, doneCount = 0;

    for (PNET_BUFFER_LIST nbl = Run, next; nbl != NULL; nbl = next) {
        next = LoopSendNext(nbl);
        PNET_BUFFER_LIST recv = NULL;
        NDIS_STATUS status;
        /* MaxSduSize is ULONG, so QOS_NOT_SPECIFIED (all ones) is no limit
         * in practice, like 0. */
        if (Vc->MaxSduSize != 0 && McmLibNblDataLength(nbl) > Vc->MaxSduSize) {
            status = NDIS_STATUS_INVALID_LENGTH;
        } else {
            recv = LoopAllocateReceive(adapter, Vc, nbl);
            status = recv != NULL ? NDIS_STATUS_SUCCESS : NDIS_STATUS_RESOURCES;
        }
        if (recv != NULL) {
            *recvTail = recv;
            recvTail = &NET_BUFFER_LIST_NEXT_NBL(recv);
            recvCount++;
        } else {
            NET_BUFFER_LIST_STATUS(nbl) = status;
            *doneTail = nbl;
            doneTail = &NET_BUFFER_LIST_NEXT_NBL(nbl);
            doneCount++;
        }
    }
    *recvTail = NULL;

    if (recvCount != 0) {
        ULONG flags = KeGetCurrentIrql() == DISPATCH_LEVEL ? NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL : 0;
        if (adapter->IndicateWithResources)
            flags |= NDIS_RECEIVE_FLAGS_RESOURCES;
        NdisMCoIndicateReceiveNetBufferLists(Vc->NdisVcHandle, recvHead, recvCount, flags);
        if (adapter->IndicateWithResources) {
            /* The receives are loop's again: nobody reads the sent data
             * any more, so the sends are done. */
            for (PNET_BUFFER_LIST recv = recvHead, next; recv != NULL; recv = next) {
                next = NET_BUFFER_LIST_NEXT_NBL(recv);
                PNET_BUFFER_LIST original = LoopRecvOriginal(recv);
                LoopFreeReceive(recv);
                NET_BUFFER_LIST_STATUS(original) = NDIS_STATUS_SUCCESS;
                *doneTail = original;
                doneTail = &NET_BUFFER_LIST_NEXT_NBL(original);
                doneCount++;
            }
        }
        /* Otherwise the receives are the protocol's until it returns them
         * (possibly already, from inside the indication): loop may not
         * even follow their links now. LoopReturnNetBufferLists completes
         * their sends. */
    }

    if (doneCount != 0) {
        *doneTail = NULL;
        LoopCompleteSends(Vc, doneHead, doneCount);
    }
}

/*
 * The send DPC: loop back every queued send, in queue order, one run of
 * consecutive sends of the same VC at a time.
 * DISPATCH_LEVEL. DeferredContext is the adapter. On entry the queue's
 * NBLs are loop's; they leave as described for LoopLoopbackRun.
 */
static VOID LoopSendDpc(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1,
                        PVOID SystemArgument2)
{
    PLOOP_ADAPTER adapter = (PLOOP_ADAPTER)DeferredContext;
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);

    NdisDprAcquireSpinLock(&adapter->Lock);
    if (adapter->DpcActive) {
        /* Another processor is draining the queue and will see what was
         * added: taking some of it here could reorder a VC's receives. */
        NdisDprReleaseSpinLock(&adapter->Lock);
        return;
    }
    adapter->DpcActive = TRUE;
    for (;;) {
        PNET_BUFFER_LIST work = adapter->QueueHead;
        adapter->QueueHead = adapter->QueueTail = NULL;
        if (work == NULL) {
            adapter->DpcActive = FALSE;
            break;
        }
        NdisDprReleaseSpinLock(&adapter->Lock);

        while (work != NULL) {
            /* Every queued send holds its VC open (its PendingSends count
             * keeps a close from finishing), so Vc is valid here. */
            PLOOP_VC vc = LoopSendVc(work);
            PNET_BUFFER_LIST run = work, last = work;
            while (LoopSendNext(last) != NULL && LoopSendVc(LoopSendNext(last)) == vc)
                last = LoopSendNext(last);
            work = LoopSendNext(last);
            LoopSetSendNext(last, NULL);
            LoopLoopbackRun(vc, run);
        }

        NdisDprAcquireSpinLock(&adapter->Lock);
    }
    NdisDprReleaseSpinLock(&adapter->Lock);
}

/* ---- MiniportCoSendNetBufferLists and MiniportReturnNetBufferLists ------------------- */

/*
 * Sends on a VC. IRQL <= DISPATCH_LEVEL (SendFlags says which). On entry loop
 * owns every NBL of the chain until it completes it, exactly once, through
 * NdisMCoSendNetBufferListsComplete: at once when the VC or adapter takes no
 * sends, else after the loopback (see the top of the file).
 */
static VOID LoopCoSendNetBufferLists(NDIS_HANDLE MiniportVcContext,
                                     PNET_BUFFER_LIST NetBufferLists, ULONG SendFlags)
{
    PLOOP_VC vc = (PLOOP_VC)MiniportVcContext;
    PLOOP_ADAPTER adapter = vc->Adapter;
    UNREFERENCED_PARAMETER(SendFlags); /* loop asks KeGetCurrentIrql() itself */

    /* Link the chain through loop's own field, so that the protocol's
     * links are free to be reused when loop builds completion chains. */
    PNET_BUFFER_LIST last = NULL;
    ULONG count = 0;
    for (PNET_BUFFER_LIST nbl = NetBufferLists; nbl != NULL; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
        LoopSetSendNext(nbl, NET_BUFFER_LIST_NEXT_NBL(nbl));
        LoopSetSendVc(nbl, vc);
        last = nbl;
        count++;
    }
    if (count == 0)
        return;

    NDIS_STATUS status = NDIS_STATUS_SUCCESS;
    BOOLEAN queueDpc = FALSE;
    BOOLEAN dpr = McmLibLock(&adapter->Lock);
    if (adapter->State != LoopAdapterRunning)
        status = NDIS_STATUS_PAUSED;
    else if (vc->State == LoopVcClosing)
        status = NDIS_STATUS_CLOSING;
    else if (vc->State != LoopVcActive)
        status = NDIS_STATUS_VC_NOT_ACTIVATED;
    if (status == NDIS_STATUS_SUCCESS) {
        adapter->PendingSends += count;
        vc->PendingSends += count;
        if (!adapter->Inline) {
            if (adapter->QueueTail != NULL)
                LoopSetSendNext(adapter->QueueTail, NetBufferLists);
            else
                adapter->QueueHead = NetBufferLists;
            adapter->QueueTail = last;
            /* A DPC that is draining will find these before it stops. */
            queueDpc = !adapter->DpcActive;
        }
    }
    McmLibUnlock(&adapter->Lock, dpr);

    if (status != NDIS_STATUS_SUCCESS) {
        /* Not accepted (nor counted as pending): the chain is still linked
         * as the protocol gave it. */
        McmLibRefuseSends(vc->NdisVcHandle, NetBufferLists, status);
        return;
    }
    if (adapter->Inline)
        LoopLoopbackRun(vc, NetBufferLists);
    else if (queueDpc)
        KeInsertQueueDpc(&adapter->SendDpc, NULL, NULL); /* FALSE: already queued, fine */
}

/*
 * Receives the protocols have finished with, from any number of
 * indications and VCs. IRQL <= DISPATCH_LEVEL (ReturnFlags says which). On
 * entry loop owns the receive NBLs again; it frees each and completes the
 * send whose data it described, batching consecutive sends of one VC into
 * one completion.
 */
static VOID LoopReturnNetBufferLists(NDIS_HANDLE MiniportAdapterContext,
                                     PNET_BUFFER_LIST NetBufferLists, ULONG ReturnFlags)
{
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(ReturnFlags); /* loop asks KeGetCurrentIrql() itself */

    PLOOP_VC runVc = NULL;
    PNET_BUFFER_LIST runHead = NULL, *runTail = &runHead;
    ULONG runCount = 0;
    for (PNET_BUFFER_LIST recv = NetBufferLists, next; recv != NULL; recv = next) {
        next = NET_BUFFER_LIST_NEXT_NBL(recv);
        PNET_BUFFER_LIST original = LoopRecvOriginal(recv);
        PLOOP_VC vc = LoopSendVc(original);
        /* Drop loop's view of the sender's buffers before the sender gets
         * them back. */
        LoopFreeReceive(recv);

        if (runCount != 0 && vc != runVc) {
            *runTail = NULL;
            LoopCompleteSends(runVc, runHead, runCount);
            runHead = NULL;
            runTail = &runHead;
            runCount = 0;
        }
        /* A send not yet completed keeps its VC alive, so vc is valid. */
        runVc = vc;
        NET_BUFFER_LIST_STATUS(original) = NDIS_STATUS_SUCCESS;
        *runTail = original;
        runTail = &NET_BUFFER_LIST_NEXT_NBL(original);
        runCount++;
    }
    if (runCount != 0) {
        *runTail = NULL;
        LoopCompleteSends(runVc, runHead, runCount);
    }
}

/* ---- calls ------------------------------------------------------------------------------ */

/*
 * CmMakeCall: a client calls out on a VC it created. IRQL <= DISPATCH_LEVEL.
 * CallParameters belong to the client; loop reads them and lends them to
 * NdisMCmActivateVc. loop has no far end to negotiate with, so it answers
 * at once: activated and SUCCESS, or a failure. It accepts a point-to-point
 * call that sends and receives and carries no call-manager- or
 * media-specific data (McmLibCheckCallParameters), and honours its
 * MaxSduSize.
 */
static NDIS_STATUS LoopCmMakeCall(NDIS_HANDLE CallMgrVcContext, PCO_CALL_PARAMETERS CallParameters,
                                  NDIS_HANDLE NdisPartyHandle, PNDIS_HANDLE CallMgrPartyContext)
{
    PLOOP_VC vc = (PLOOP_VC)CallMgrVcContext;
    PLOOP_ADAPTER adapter = vc->Adapter;

    if (CallMgrPartyContext != NULL)
        *CallMgrPartyContext = NULL;
    if (NdisPartyHandle != NULL)
        return NDIS_STATUS_NOT_SUPPORTED; /* point-to-multipoint */

    MCMLIB_CALL_LIMITS limits;
    NDIS_STATUS status = McmLibCheckCallParameters(CallParameters, &limits);
    if (status != NDIS_STATUS_SUCCESS)
        return status;

    BOOLEAN dpr = McmLibLock(&adapter->Lock);
    if (vc->State != LoopVcIdle) {
        McmLibUnlock(&adapter->Lock, dpr);
        return NDIS_STATUS_CALL_ACTIVE;
    }
    /* Active before the activation returns: NDIS lets the client send only
     * after this handler returns, and a failed activation undoes it. */
    vc->MaxSduSize = limits.MaxSduSize;
    vc->State = LoopVcActive;
    McmLibUnlock(&adapter->Lock, dpr);

    status = NdisMCmActivateVc(vc->NdisVcHandle, CallParameters);
    if (status != NDIS_STATUS_SUCCESS) {
        dpr = McmLibLock(&adapter->Lock);
        vc->State = LoopVcIdle;
        McmLibUnlock(&adapter->Lock, dpr);
    }
    return status;
}

/*
 * CmCloseCall: the client closes its call. IRQL <= DISPATCH_LEVEL. loop
 * stops taking sends on the VC; sends it already took still loop back and
 * complete. When none is left the VC is deactivated and the close is
 * complete: SUCCESS now, or PENDING and NdisMCmCloseCallComplete from
 * whichever thread completes the last send (LoopSendsDone). loop has no
 * far end to pass close data to, so CloseData is ignored.
 */
static NDIS_STATUS LoopCmCloseCall(NDIS_HANDLE CallMgrVcContext, NDIS_HANDLE CallMgrPartyContext,
                                   PVOID CloseData, UINT Size)
{
    PLOOP_VC vc = (PLOOP_VC)CallMgrVcContext;
    PLOOP_ADAPTER adapter = vc->Adapter;
    NDIS_STATUS status;
    UNREFERENCED_PARAMETER(CallMgrPartyContext);
    UNREFERENCED_PARAMETER(CloseData);
    UNREFERENCED_PARAMETER(Size);

    BOOLEAN dpr = McmLibLock(&adapter->Lock);
    if (vc->State == LoopVcClosing) {
        status = NDIS_STATUS_CLOSING;
    } else if (vc->State != LoopVcActive) {
        status = NDIS_STATUS_FAILURE; /* no call on this VC */
    } else if (vc->PendingSends != 0) {
        vc->State = LoopVcClosing;
        status = NDIS_STATUS_PENDING;
    } else {
        vc->State = LoopVcIdle;
        status = NDIS_STATUS_SUCCESS;
    }
    McmLibUnlock(&adapter->Lock, dpr);

    if (status == NDIS_STATUS_SUCCESS)
        NdisMCmDeactivateVc(vc->NdisVcHandle);
    return status;
}

/*
 * MiniportCoActivateVc. IRQL <= DISPATCH_LEVEL. An MCM activates its VCs
 * itself (NdisMCmActivateVc from CmMakeCall), so NDIS does not call this
 * for loop; it says what activation means to it should anyone ask: the
 * parameters must be ones loop accepts, and there is no hardware to
 * program (nor, in McmLibCoDeactivateVc, to release).
 */
static NDIS_STATUS LoopCoActivateVc(NDIS_HANDLE MiniportVcContext,
                                    PCO_CALL_PARAMETERS CallParameters)
{
    PLOOP_VC vc = (PLOOP_VC)MiniportVcContext;
    MCMLIB_CALL_LIMITS limits;
    NDIS_STATUS status = McmLibCheckCallParameters(CallParameters, &limits);
    if (status == NDIS_STATUS_SUCCESS) {
        BOOLEAN dpr = McmLibLock(&vc->Adapter->Lock);
        if (vc->State == LoopVcIdle)
            vc->MaxSduSize = limits.MaxSduSize;
        else
            status = NDIS_STATUS_NOT_ACCEPTED; /* no change of parameters mid-call */
        McmLibUnlock(&vc->Adapter->Lock, dpr);
    }
    return status;
}

/* ---- VCs ---------------------------------------------------------------------------------- */

/*
 * CmCreateVc: a client creates a VC on its open of the family.
 * IRQL <= DISPATCH_LEVEL; cannot pend. ProtocolAfContext is loop's LOOP_AF.
 * The LOOP_VC it returns is loop's until CmDeleteVc.
 */
static NDIS_STATUS LoopCmCreateVc(NDIS_HANDLE ProtocolAfContext, NDIS_HANDLE NdisVcHandle,
                                  PNDIS_HANDLE ProtocolVcContext)
{
    PLOOP_AF af = (PLOOP_AF)ProtocolAfContext;
    PLOOP_ADAPTER adapter = af->Adapter;
    PLOOP_VC vc = McmLibAllocateZeroed(adapter->MiniportAdapterHandle, sizeof(*vc), LOOP_TAG_VC);
    if (vc == NULL)
        return NDIS_STATUS_RESOURCES;
    vc->Af = af;
    vc->Adapter = adapter;
    vc->NdisVcHandle = NdisVcHandle;
    vc->State = LoopVcIdle;

    BOOLEAN dpr = McmLibLock(&adapter->Lock);
    InsertTailList(&af->VcList, &vc->Link);
    McmLibUnlock(&adapter->Lock, dpr);
    *ProtocolVcContext = vc;
    return NDIS_STATUS_SUCCESS;
}

/*
 * CmDeleteVc: the client deletes its VC. IRQL <= DISPATCH_LEVEL; cannot pend.
 * Refused while a call is on it or a send is outstanding; otherwise the
 * LOOP_VC is freed and its handle is not used again.
 */
static NDIS_STATUS LoopCmDeleteVc(NDIS_HANDLE ProtocolVcContext)
{
    PLOOP_VC vc = (PLOOP_VC)ProtocolVcContext;
    PLOOP_ADAPTER adapter = vc->Adapter;

    BOOLEAN dpr = McmLibLock(&adapter->Lock);
    if (vc->State != LoopVcIdle || vc->PendingSends != 0) {
        McmLibUnlock(&adapter->Lock, dpr);
        return NDIS_STATUS_NOT_ACCEPTED;
    }
    RemoveEntryList(&vc->Link);
    McmLibUnlock(&adapter->Lock, dpr);
    NdisFreeMemory(vc, 0, 0);
    return NDIS_STATUS_SUCCESS;
}

/* ---- address families ---------------------------------------------------------------------- */

/*
 * CmOpenAf: a client bound to the adapter opens the family loop registered.
 * IRQL <= DISPATCH_LEVEL (PASSIVE_LEVEL in practice). CallMgrBindingContext
 * is the adapter. The LOOP_AF returned is loop's until CmCloseAf.
 */
static NDIS_STATUS LoopCmOpenAf(NDIS_HANDLE CallMgrBindingContext, PCO_ADDRESS_FAMILY AddressFamily,
                                NDIS_HANDLE NdisAfHandle, PNDIS_HANDLE CallMgrAfContext)
{
    PLOOP_ADAPTER adapter = (PLOOP_ADAPTER)CallMgrBindingContext;
    if (AddressFamily->AddressFamily != adapter->AddressFamily.AddressFamily ||
        AddressFamily->MajorVersion != adapter->AddressFamily.MajorVersion)
        return NDIS_STATUS_FAILURE;

    PLOOP_AF af = McmLibAllocateZeroed(adapter->MiniportAdapterHandle, sizeof(*af), LOOP_TAG_AF);
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

/*
 * CmCloseAf: the client closes its open of the family.
 * IRQL <= DISPATCH_LEVEL. Refused while VCs remain on it. If MiniportHaltEx
 * is waiting for this client to answer a notify-close, the LOOP_AF stays
 * until that answer (CmNotifyCloseAfComplete) comes.
 */
static NDIS_STATUS LoopCmCloseAf(NDIS_HANDLE CallMgrAfContext)
{
    PLOOP_AF af = (PLOOP_AF)CallMgrAfContext;
    PLOOP_ADAPTER adapter = af->Adapter;

    BOOLEAN dpr = McmLibLock(&adapter->Lock);
    if (!IsListEmpty(&af->VcList)) {
        McmLibUnlock(&adapter->Lock, dpr);
        return NDIS_STATUS_NOT_ACCEPTED;
    }
    RemoveEntryList(&af->Link);
    InitializeListHead(&af->Link);
    BOOLEAN keep = af->NotifyPending;
    af->Closed = TRUE;
    McmLibUnlock(&adapter->Lock, dpr);
    if (!keep)
        NdisFreeMemory(af, 0, 0);
    return NDIS_STATUS_SUCCESS;
}

/*
 * CmNotifyCloseAfComplete: a client answers, late, the notify-close
 * MiniportHaltEx sent it. IRQL <= DISPATCH_LEVEL.
 */
static VOID LoopCmNotifyCloseAfComplete(NDIS_HANDLE CallMgrAfContext, NDIS_STATUS Status)
{
    PLOOP_AF af = (PLOOP_AF)CallMgrAfContext;
    PLOOP_ADAPTER adapter = af->Adapter;
    UNREFERENCED_PARAMETER(Status); /* halt frees what the client left either way */

    BOOLEAN dpr = McmLibLock(&adapter->Lock);
    af->NotifyPending = FALSE;
    BOOLEAN release = af->Closed;
    McmLibUnlock(&adapter->Lock, dpr);
    if (release)
        NdisFreeMemory(af, 0, 0);
    NdisSetEvent(&adapter->NotifyCloseDone);
}

/*
 * Ask every client that still has the family open to close it, and wait
 * for each answer. PASSIVE_LEVEL, from MiniportHaltEx. NDIS normally
 * unbinds the clients before it halts the adapter, so there is none.
 */
static VOID LoopNotifyCloseAfs(PLOOP_ADAPTER Adapter)
{
    for (;;) {
        PLOOP_AF af = NULL;
        NDIS_HANDLE afHandle = NULL;
        NdisAcquireSpinLock(&Adapter->Lock);
        for (PLIST_ENTRY e = Adapter->AfList.Flink; e != &Adapter->AfList; e = e->Flink) {
            PLOOP_AF x = CONTAINING_RECORD(e, LOOP_AF, Link);
            if (!x->NotifySent) {
                af = x;
                break;
            }
        }
        if (af != NULL) {
            af->NotifySent = TRUE;
            af->NotifyPending = TRUE;
            afHandle = af->NdisAfHandle;
        }
        NdisReleaseSpinLock(&Adapter->Lock);
        if (af == NULL)
            return;

        NdisResetEvent(&Adapter->NotifyCloseDone);
        NDIS_STATUS status = NdisMCmNotifyCloseAddressFamily(afHandle);
        if (status == NDIS_STATUS_PENDING) {
            /* CmNotifyCloseAfComplete will come, and owns af now. */
            NdisWaitEvent(&Adapter->NotifyCloseDone, 0);
            continue;
        }
        NdisAcquireSpinLock(&Adapter->Lock);
        af->NotifyPending = FALSE;
        BOOLEAN release = af->Closed;
        NdisReleaseSpinLock(&Adapter->Lock);
        if (release)
            NdisFreeMemory(af, 0, 0);
    }
}

/* ---- OID requests --------------------------------------------------------------------------- */

/* MiniportOidRequest: requests for the adapter as a whole. IRQL <= DISPATCH_LEVEL.
 * loop answers the few CoNDIS queries it knows at once (McmLibQueryOid);
 * every other request is NDIS_STATUS_NOT_SUPPORTED. */
static NDIS_STATUS LoopOidRequest(NDIS_HANDLE MiniportAdapterContext, PNDIS_OID_REQUEST OidRequest)
{
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    return McmLibQueryOid(OidRequest, NdisMediumCoWan, LOOP_LINK_SPEED);
}

/* MiniportCoOidRequest: the same, possibly about one VC; loop's answers do
 * not depend on the VC. IRQL <= DISPATCH_LEVEL. */
static NDIS_STATUS LoopCoOidRequest(NDIS_HANDLE MiniportAdapterContext, NDIS_HANDLE MiniportVcContext,
                                    PNDIS_OID_REQUEST OidRequest)
{
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(MiniportVcContext);
    return McmLibQueryOid(OidRequest, NdisMediumCoWan, LOOP_LINK_SPEED);
}

/* ---- adapter life cycle ----------------------------------------------------------------------- */

/* Read loop's parameters; defaults for what is missing or invalid (which
 * is reported). PASSIVE_LEVEL. */
static VOID LoopReadConfiguration(PLOOP_ADAPTER Adapter)
{
    Adapter->Inline = FALSE;
    Adapter->IndicateWithResources = FALSE;
    Adapter->AddressFamily.AddressFamily = CO_ADDRESS_FAMILY_PPP;
    Adapter->AddressFamily.MajorVersion = LOOP_AF_MAJOR_VERSION;
    Adapter->AddressFamily.MinorVersion = LOOP_AF_MINOR_VERSION;

    NDIS_HANDLE configuration;
    if (McmLibOpenConfiguration(Adapter->MiniportAdapterHandle, &configuration) !=
        NDIS_STATUS_SUCCESS)
        return; /* no parameters at all: the defaults stand */

    Adapter->Inline = McmLibReadUlong(configuration, L"LoopInline", 0, 0, 1, "loop") != 0;
    Adapter->IndicateWithResources =
        McmLibReadUlong(configuration, L"LoopResources", 0, 0, 1, "loop") != 0;
    ULONG af = McmLibReadUlong(configuration, L"LoopAddressFamily", CO_ADDRESS_FAMILY_PPP, 0,
                               0xFFFFFFFFUL, "loop");
    if (af == 0)
        DbgPrint("LoopAddressFamily 0 names no address family; loop registers 0x%lx",
                 (ULONG)CO_ADDRESS_FAMILY_PPP);
    else
        Adapter->AddressFamily.AddressFamily = af;
    NdisCloseConfiguration(configuration);
}

/* Free an adapter and everything hanging off it. PASSIVE_LEVEL, when no
 * send, receive or DPC of it is outstanding. */
static VOID LoopFreeAdapter(PLOOP_ADAPTER Adapter)
{
    /* Clients normally close their VCs and families before NDIS halts the
     * adapter; what a client left behind is freed here all the same. */
    while (!IsListEmpty(&Adapter->AfList)) {
        PLOOP_AF af = CONTAINING_RECORD(RemoveHeadList(&Adapter->AfList), LOOP_AF, Link);
        while (!IsListEmpty(&af->VcList)) {
            PLOOP_VC vc = CONTAINING_RECORD(RemoveHeadList(&af->VcList), LOOP_VC, Link);
            DbgPrint("halt: a VC of a client was never deleted; loop frees it");
            NdisFreeMemory(vc, 0, 0);
        }
        DbgPrint("halt: a client never closed its address family; loop frees it");
        NdisFreeMemory(af, 0, 0);
    }
    if (Adapter->RecvNbPool != NULL)
        NdisFreeNetBufferPool(Adapter->RecvNbPool);
    if (Adapter->RecvNblPool != NULL)
        NdisFreeNetBufferListPool(Adapter->RecvNblPool);
    NdisFreeSpinLock(&Adapter->Lock);
    NdisFreeMemory(Adapter, 0, 0);
}

/* The receive pools. PASSIVE_LEVEL, from MiniportInitializeEx. */
static NDIS_STATUS LoopAllocatePools(PLOOP_ADAPTER Adapter)
{
    NET_BUFFER_LIST_POOL_PARAMETERS nblPool;
    NdisZeroMemory(&nblPool, sizeof(nblPool));
    nblPool.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    nblPool.Header.Revision = NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    nblPool.Header.Size = NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    nblPool.ProtocolId = NDIS_PROTOCOL_ID_DEFAULT;
    /* Each receive NBL comes with its NET_BUFFER, and no data of its own
     * (DataSize 0): the NB is pointed at the sender's MDLs. */
    nblPool.fAllocateNetBuffer = TRUE;
    nblPool.ContextSize = 0;
    nblPool.PoolTag = LOOP_TAG_RECV_NBL;
    nblPool.DataSize = 0;
    Adapter->RecvNblPool = NdisAllocateNetBufferListPool(Adapter->MiniportAdapterHandle, &nblPool);
    if (Adapter->RecvNblPool == NULL)
        return NDIS_STATUS_RESOURCES;

    /* The second and later NET_BUFFERs of a sent NBL need NBs of their own. */
    NET_BUFFER_POOL_PARAMETERS nbPool;
    NdisZeroMemory(&nbPool, sizeof(nbPool));
    nbPool.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    nbPool.Header.Revision = NET_BUFFER_POOL_PARAMETERS_REVISION_1;
    nbPool.Header.Size = NDIS_SIZEOF_NET_BUFFER_POOL_PARAMETERS_REVISION_1;
    nbPool.PoolTag = LOOP_TAG_RECV_NB;
    nbPool.DataSize = 0;
    Adapter->RecvNbPool = NdisAllocateNetBufferPool(Adapter->MiniportAdapterHandle, &nbPool);
    if (Adapter->RecvNbPool == NULL)
        return NDIS_STATUS_RESOURCES;
    return NDIS_STATUS_SUCCESS;
}

/*
 * MiniportInitializeEx: a new adapter. PASSIVE_LEVEL; cannot pend. On
 * success the adapter is Paused (NDIS restarts it) and its address family
 * is registered; on failure loop has freed everything it allocated.
 */
static NDIS_STATUS LoopInitializeEx(NDIS_HANDLE NdisMiniportHandle, NDIS_HANDLE MiniportDriverContext,
                                    PNDIS_MINIPORT_INIT_PARAMETERS MiniportInitParameters)
{
    UNREFERENCED_PARAMETER(MiniportDriverContext);
    UNREFERENCED_PARAMETER(MiniportInitParameters);

    PLOOP_ADAPTER adapter = NdisAllocateMemoryWithTagPriority(
        NdisMiniportHandle, sizeof(*adapter), LOOP_TAG_ADAPTER, NormalPoolPriority);
    if (adapter == NULL)
        return NDIS_STATUS_RESOURCES;
    NdisZeroMemory(adapter, sizeof(*adapter));
    adapter->MiniportAdapterHandle = NdisMiniportHandle;
    adapter->State = LoopAdapterPaused;
    NdisAllocateSpinLock(&adapter->Lock);
    InitializeListHead(&adapter->AfList);
    KeInitializeDpc(&adapter->SendDpc, LoopSendDpc, adapter);
    NdisInitializeEvent(&adapter->NotifyCloseDone);

    LoopReadConfiguration(adapter);

    /* A virtual CoWan adapter; the interface type says what it does. */
    NDIS_STATUS status = McmLibSetCoWanAttributes(NdisMiniportHandle, adapter, LOOP_MTU,
                                                  LOOP_LINK_SPEED, IF_TYPE_SOFTWARE_LOOPBACK);
    if (status == NDIS_STATUS_SUCCESS)
        status = LoopAllocatePools(adapter);
    /* Last: clients may be told of the family as soon as it is registered. */
    if (status == NDIS_STATUS_SUCCESS)
        status = NdisMCmRegisterAddressFamilyEx(NdisMiniportHandle, &adapter->AddressFamily);
    if (status != NDIS_STATUS_SUCCESS) {
        LoopFreeAdapter(adapter);
        return status;
    }
    return NDIS_STATUS_SUCCESS;
}

/*
 * MiniportHaltEx: the adapter goes away. PASSIVE_LEVEL. NDIS has paused it,
 * so every send is completed and every receive returned; a client that
 * still has the family open is asked to close it first.
 */
static VOID LoopHaltEx(NDIS_HANDLE MiniportAdapterContext, NDIS_HALT_ACTION HaltAction)
{
    PLOOP_ADAPTER adapter = (PLOOP_ADAPTER)MiniportAdapterContext;
    UNREFERENCED_PARAMETER(HaltAction);

    LoopNotifyCloseAfs(adapter);
    /* The DPC that completed the last send may still be unwinding on its
     * processor; it touches the adapter until it returns. */
    KeFlushQueuedDpcs();
    LoopFreeAdapter(adapter);
}

/*
 * MiniportPause: PASSIVE_LEVEL. New sends are refused from now on; the
 * pause is over when every accepted send is completed (which, by default,
 * also means every receive is back): SUCCESS now, or PENDING and
 * NdisMPauseComplete from the thread that completes the last send.
 */
static NDIS_STATUS LoopPause(NDIS_HANDLE MiniportAdapterContext,
                             PNDIS_MINIPORT_PAUSE_PARAMETERS PauseParameters)
{
    PLOOP_ADAPTER adapter = (PLOOP_ADAPTER)MiniportAdapterContext;
    NDIS_STATUS status;
    UNREFERENCED_PARAMETER(PauseParameters);

    NdisAcquireSpinLock(&adapter->Lock);
    if (adapter->PendingSends == 0) {
        adapter->State = LoopAdapterPaused;
        status = NDIS_STATUS_SUCCESS;
    } else {
        adapter->State = LoopAdapterPausing;
        status = NDIS_STATUS_PENDING;
    }
    NdisReleaseSpinLock(&adapter->Lock);
    return status;
}

/* MiniportRestart: PASSIVE_LEVEL. Sends are accepted again. */
static NDIS_STATUS LoopRestart(NDIS_HANDLE MiniportAdapterContext,
                               PNDIS_MINIPORT_RESTART_PARAMETERS RestartParameters)
{
    PLOOP_ADAPTER adapter = (PLOOP_ADAPTER)MiniportAdapterContext;
    UNREFERENCED_PARAMETER(RestartParameters);

    NdisAcquireSpinLock(&adapter->Lock);
    adapter->State = LoopAdapterRunning;
    NdisReleaseSpinLock(&adapter->Lock);
    return NDIS_STATUS_SUCCESS;
}

/* ---- driver life cycle ----------------------------------------------------------------------- */

/*
 * MiniportSetOptions: PASSIVE_LEVEL, inside NdisMRegisterMiniportDriver.
 * An MCM registers two tables: its CoNDIS miniport handlers and its call
 * manager handlers. NDIS copies both.
 */
static NDIS_STATUS LoopSetOptions(NDIS_HANDLE NdisDriverHandle, NDIS_HANDLE DriverContext)
{
    UNREFERENCED_PARAMETER(DriverContext);

    NDIS_MINIPORT_CO_CHARACTERISTICS co;
    NdisZeroMemory(&co, sizeof(co));
    co.Header.Type = NDIS_OBJECT_TYPE_CO_MINIPORT_CHARACTERISTICS;
    co.Header.Revision = NDIS_MINIPORT_CO_CHARACTERISTICS_REVISION_1;
    co.Header.Size = NDIS_SIZEOF_MINIPORT_CO_CHARACTERISTICS_REVISION_1;
    co.Flags = 0;
    /* An MCM's VCs are created and deleted through its call manager
     * handlers (CmCreateVc / CmDeleteVc); NDIS would ignore these. */
    co.CoCreateVcHandler = NULL;
    co.CoDeleteVcHandler = NULL;
    co.CoActivateVcHandler = LoopCoActivateVc;
    co.CoDeactivateVcHandler = McmLibCoDeactivateVc;
    co.CoSendNetBufferListsHandler = LoopCoSendNetBufferLists;
    co.CoOidRequestHandler = LoopCoOidRequest;
    NDIS_STATUS status = NdisSetOptionalHandlers(NdisDriverHandle,
                                                 (PNDIS_DRIVER_OPTIONAL_HANDLERS)&co);
    if (status != NDIS_STATUS_SUCCESS)
        return status;

    /* NDIS requires every entry of the call manager table. loop has no
     * incoming calls (so no SAPs), no multipoint calls, no QoS changes and
     * no signalling OIDs: McmLibInitCallManagerHandlers fills those entries
     * with handlers that refuse, and loop sets the ones it implements. */
    NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS cm;
    McmLibInitCallManagerHandlers(&cm);
    cm.CmCreateVcHandler = LoopCmCreateVc;
    cm.CmDeleteVcHandler = LoopCmDeleteVc;
    cm.CmOpenAfHandler = LoopCmOpenAf;
    cm.CmCloseAfHandler = LoopCmCloseAf;
    cm.CmMakeCallHandler = LoopCmMakeCall;
    cm.CmCloseCallHandler = LoopCmCloseCall;
    cm.CmNotifyCloseAfCompleteHandler = LoopCmNotifyCloseAfComplete;
    return NdisSetOptionalHandlers(NdisDriverHandle, (PNDIS_DRIVER_OPTIONAL_HANDLERS)&cm);
}

/* MiniportDriverUnload: PASSIVE_LEVEL, after every adapter is halted. */
static VOID LoopDriverUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    NdisMDeregisterMiniportDriver(LoopDriverHandle);
    LoopDriverHandle = NULL;
}

/*
 * DriverEntry: PASSIVE_LEVEL. Registers loop as an NDIS 6.0 miniport; its
 * SetOptions handler, called from inside the registration, makes it a
 * CoNDIS miniport call manager.
 *
 * loop leaves the connectionless entry points (MiniportSendNetBufferLists,
 * MiniportCancelSend) empty: NDIS sends a CoNDIS adapter's data through
 * MiniportCoSendNetBufferLists only. There is no hardware to check for
 * hangs or to reset either.
 */
NTSTATUS LoopDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NDIS_MINIPORT_DRIVER_CHARACTERISTICS characteristics;
    NdisZeroMemory(&characteristics, sizeof(characteristics));
    characteristics.Header.Type = NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS;
    characteristics.Header.Revision = NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1;
    characteristics.Header.Size = NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1;
    characteristics.MajorNdisVersion = NDIS_MINIPORT_MAJOR_VERSION;
    characteristics.MinorNdisVersion = NDIS_MINIPORT_MINOR_VERSION;
    characteristics.MajorDriverVersion = LOOP_DRIVER_MAJOR_VERSION;
    characteristics.MinorDriverVersion = LOOP_DRIVER_MINOR_VERSION;
    characteristics.Flags = 0;
    characteristics.SetOptionsHandler = LoopSetOptions;
    characteristics.InitializeHandlerEx = LoopInitializeEx;
    characteristics.HaltHandlerEx = LoopHaltEx;
    characteristics.UnloadHandler = LoopDriverUnload;
    characteristics.PauseHandler = LoopPause;
    characteristics.RestartHandler = LoopRestart;
    characteristics.OidRequestHandler = LoopOidRequest;
    characteristics.SendNetBufferListsHandler = NULL;
    characteristics.ReturnNetBufferListsHandler = LoopReturnNetBufferLists;
    characteristics.CancelSendHandler = NULL;
    characteristics.CheckForHangHandlerEx = NULL;
    characteristics.ResetHandlerEx = NULL;
    /* No device: nothing to do on PnP events or at shutdown, and every OID
     * request is answered at once, so there is none to cancel. */
    characteristics.DevicePnPEventNotifyHandler = McmLibDevicePnPEventNotify;
    characteristics.ShutdownHandlerEx = McmLibShutdownEx;
    characteristics.CancelOidRequestHandler = McmLibCancelOidRequest;

    return NdisMRegisterMiniportDriver(DriverObject, RegistryPath, NULL, &characteristics,
                                       &LoopDriverHandle);
}
