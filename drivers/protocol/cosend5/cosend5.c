/*
 * cosend5.c - "cosend5", condis' built-in traffic-generating CoNDIS 5.1
 * client: the NDIS 5.x counterpart of cosend, with packets instead of NBLs.
 *
 * cosend5 binds to every connection-oriented (NdisMediumCoWan) adapter,
 * opens the first address family a call manager offers on it, creates
 * Cosend5Vcs VCs, makes a call on each and sends Cosend5Count packets per
 * VC, keeping Cosend5Window of them in flight, Cosend5Chain packets per
 * NdisCoSendPackets call. Every packet comes back through
 * ProtocolCoSendComplete, where cosend5 checks what the layers below
 * promised, prepares the packet for reuse exactly as the documentation of
 * that handler asks, and sends it again. When a VC has had all its packets
 * back, cosend5 closes its call and deletes it; when every VC is gone it
 * closes the address family.
 *
 * It is written only against <ndis.h>, as a third-party NDIS 5.1 protocol
 * would be (NDIS51 defined before the include), and is meant to be read as
 * the model of a 5.x CoNDIS client's send path, above all of the reuse of a
 * packet in ProtocolCoSendComplete.
 *
 * Parameters (NdisOpenProtocolConfiguration with the binding's
 * SystemSpecific1, then NdisReadConfiguration; a missing keyword keeps the
 * default, an invalid one keeps it too and says why):
 *   Cosend5Vcs           VCs per binding                      default 4
 *   Cosend5Count         packets to send on each VC           default 250000
 *   Cosend5Size          bytes per packet                     default 256
 *   Cosend5Window        packets in flight per VC at most     default 256
 *   Cosend5Chain         packets per NdisCoSendPackets call   default 8
 *   Cosend5KeepReceives  1: keep received packets for a while
 *                        and give them back with
 *                        NdisReturnPackets                    default 0
 *
 * Who owns what, and when:
 *
 *   bind      cosend5 allocates everything the run needs before it opens
 *             the adapter: one packet pool and one buffer pool for the
 *             binding; per VC a data block and Cosend5Window packets, each
 *             with one buffer descriptor (NdisAllocateBuffer) that maps its
 *             own slice of the data block, chained to it. Nothing is
 *             allocated or freed again until unbind.
 *   sending   NdisCoSendPackets takes each packet of the array with its
 *             buffer descriptor, data and out-of-band block (RULES.md
 *             OWN-1). The array itself stays cosend5's (it is on the stack).
 *             cosend5 does not look at a packet, nor at its OOB Status
 *             (OWN-2), until ProtocolCoSendComplete gives it back.
 *   complete  cosend5 owns the packet again, with everything attached. It
 *             unchains every buffer descriptor with NdisUnchainBufferAtFront
 *             before NdisReinitializePacket (PKT-1), zeroes only the block
 *             NDIS_OOB_DATA_FROM_PACKET points to, never the packet
 *             (PKT-2), chains its own buffer descriptor again, and puts the
 *             packet on its VC's free list; the pump sends it again.
 *   receive   a packet indicated with NDIS_STATUS_RESOURCES is lent only for
 *             the call: cosend5 returns 0. Otherwise cosend5 returns 0 too
 *             (done with it on return) unless Cosend5KeepReceives=1; then it
 *             keeps up to COSEND5_KEEP_MAX packets per VC, returns 1, and
 *             hands them back with NdisReturnPackets from the send-complete
 *             path, or before it closes the call.
 *   unbind    every packet is back (calls closed, VCs deleted first), so
 *             cosend5 frees buffer descriptors, packets, data and pools,
 *             then closes the adapter.
 *
 * ProtocolReserved of each packet (COSEND5_RESERVED, ProtocolReservedLength
 * of the pool) belongs to cosend5, which allocated the packet: the VC that
 * owns it, the link of the VC's free list, its own buffer descriptor, and a
 * tag: (index within the VC << 1) | 1 while the packet is in flight.
 *
 * Concurrency. Each VC has its own spin lock guarding its state, free list,
 * counters and kept receives; the send path takes no other lock and writes
 * nothing shared with another VC. No lock is held across a call into NDIS:
 * NDIS may call cosend5 back inside that call (a miniport may complete a
 * send inside NdisCoSendPackets). The binding's lock guards the address
 * family and the run's control state; only the control path takes it.
 *
 * Sending from the completion handler without recursion: one thread at a
 * time pumps a VC (COSEND5_VC.Pumping). A completion that arrives while
 * another thread pumps - including one inside that thread's own
 * NdisCoSendPackets, when the miniport completes inline - only puts its
 * packet on the free list and returns; the pumping thread finds it when its
 * send returns. So an inline-completing miniport becomes a loop in the
 * outermost sender, not a recursion as deep as the run is long.
 *
 * The control path (creating VCs, making and closing calls, deleting VCs,
 * closing the address family) runs in an NDIS_WORK_ITEM routine at
 * PASSIVE_LEVEL, where waiting for pended operations is allowed. Each VC's
 * sending starts from a work item of its own, so that the thread that
 * completed a make-call never becomes the sender of a whole run.
 *
 * For tests the object also has, besides Cosend5DriverEntry:
 *   ULONG Cosend5Errors(void)  broken invariants seen since the driver was
 *                              loaded (0 is clean); the first few are also
 *                              described with DbgPrint.
 */
#define NDIS51 1
#include <ndis.h>

/* ======================================================================
 * Constants
 * ====================================================================== */

/* Tags read "C5bd", "C5vc" ... in condis' leak report (lowest byte first).
 * Spelled out: the value of a multi-character constant is the compiler's. */
#define COSEND5_TAG_OF(a, b, c, d) \
    ((ULONG)(UCHAR)(a) | ((ULONG)(UCHAR)(b) << 8) | ((ULONG)(UCHAR)(c) << 16) | \
     ((ULONG)(UCHAR)(d) << 24))
#define COSEND5_TAG_BINDING COSEND5_TAG_OF('C', '5', 'b', 'd')
#define COSEND5_TAG_VC COSEND5_TAG_OF('C', '5', 'v', 'c')
#define COSEND5_TAG_DATA COSEND5_TAG_OF('C', '5', 'd', 't')

#define COSEND5_DEFAULT_VCS 4UL
#define COSEND5_DEFAULT_COUNT 250000UL
#define COSEND5_DEFAULT_SIZE 256UL
#define COSEND5_DEFAULT_WINDOW 256UL
#define COSEND5_DEFAULT_CHAIN 8UL

#define COSEND5_MAX_VCS 1024UL
#define COSEND5_MAX_COUNT 0x7fffffffUL
#define COSEND5_MAX_SIZE 65535UL
#define COSEND5_MAX_WINDOW 8192UL
/* The packet array of one NdisCoSendPackets call lives on the stack. */
#define COSEND5_MAX_CHAIN 64UL
/* A packet pool holds at most 0xFFFF descriptors; one pool per binding. */
#define COSEND5_MAX_PACKETS 0xFFFFUL

/* Received packets one VC keeps at most with Cosend5KeepReceives=1. */
#define COSEND5_KEEP_MAX 32
/* Buffer descriptors saved from one completed packet; cosend5 chains one,
 * so more than that is already a violation and only counted. */
#define COSEND5_MAX_UNCHAINED 8

#define COSEND5_BINDING_SIGNATURE COSEND5_TAG_OF('c', '5', 'B', 'd')
#define COSEND5_VC_SIGNATURE COSEND5_TAG_OF('c', '5', 'V', 'c')

#define COSEND5_STATUS_SLOTS 4
#define COSEND5_VIOLATION_MESSAGES 16
#define COSEND5_NAME_CHARS 64
#define COSEND5_POLL_US 100

/* COSEND5_RESERVED.Tag bit 0: the packet is in flight. */
#define COSEND5_IN_FLIGHT ((ULONG_PTR)1)

/* ======================================================================
 * State
 * ====================================================================== */

typedef enum _COSEND5_AF_STATE {
    Cosend5AfClosed,
    Cosend5AfOpening, /* NdisClOpenAddressFamily is under way */
    Cosend5AfOpen,    /* AfHandle is valid */
    Cosend5AfClosing  /* NdisClCloseAddressFamily is under way */
} COSEND5_AF_STATE;

/*
 * A VC's life, all moves under the VC's lock:
 *   Unused -> Created             worker, NdisCoCreateVc succeeded
 *   Created -> Calling            worker, before NdisClMakeCall
 *   Calling -> Active | CallDown  make-call completion
 *   Active -> Drained             whoever sees the last packet back, or a
 *                                 stop with nothing in flight
 *   Drained -> Closing            worker, before NdisClCloseCall
 *   Closing -> CallDown           close-call completion
 *   Created | CallDown -> Deleted worker, NdisCoDeleteVc succeeded
 *   -> Broken                     a close or delete failed; left and reported
 */
typedef enum _COSEND5_VC_STATE {
    Cosend5VcUnused,
    Cosend5VcCreated,
    Cosend5VcCalling,
    Cosend5VcActive,
    Cosend5VcDrained,
    Cosend5VcClosing,
    Cosend5VcCallDown,
    Cosend5VcDeleted,
    Cosend5VcBroken
} COSEND5_VC_STATE;

typedef struct _COSEND5_FAILURES {
    NDIS_STATUS Status[COSEND5_STATUS_SLOTS];
    ULONG Count[COSEND5_STATUS_SLOTS];
    ULONG Other;
} COSEND5_FAILURES, *PCOSEND5_FAILURES;

typedef struct _COSEND5_BINDING COSEND5_BINDING, *PCOSEND5_BINDING;
typedef struct _COSEND5_VC COSEND5_VC, *PCOSEND5_VC;

/* cosend5's part of every packet it allocates: its ProtocolReserved. */
typedef struct _COSEND5_RESERVED {
    PCOSEND5_VC Vc;      /* the VC that owns the packet; set at bind */
    PNDIS_PACKET Next;   /* free-list link, only while cosend5 owns it */
    PNDIS_BUFFER Buffer; /* its one buffer descriptor; set at bind */
    ULONG_PTR Tag;       /* index << 1 | COSEND5_IN_FLIGHT */
} COSEND5_RESERVED, *PCOSEND5_RESERVED;

#define COSEND5_RSVD(_Packet) ((PCOSEND5_RESERVED)(PVOID)(_Packet)->ProtocolReserved)

/*
 * One VC: the ProtocolVcContext. Allocated at bind, freed at unbind; it
 * outlives the NDIS VC it stands for, so a handler on its way out never
 * touches freed memory.
 */
struct _COSEND5_VC {
    ULONG Signature;
    ULONG Index;
    PCOSEND5_BINDING Binding;

    /* Copies of the run's parameters; constant after bind. */
    ULONG Count;
    ULONG Size;
    ULONG Chain;
    ULONG MaxRounds;
    BOOLEAN KeepReceives;

    /* Written by the worker before the call is made; constant while sends
     * may flow, so the send path reads it unlocked. */
    NDIS_HANDLE NdisVcHandle;
    /* Starts the sending at PASSIVE_LEVEL; scheduled only while not
     * queued already (StartQueued), as NdisScheduleWorkItem requires. */
    NDIS_WORK_ITEM StartWorkItem;

    volatile LONG Refs;       /* handlers inside; unbind frees at zero */
    volatile LONG64 Received; /* packets indicated on this VC */

    NDIS_SPIN_LOCK Lock;
    /* ---- guarded by Lock ---- */
    COSEND5_VC_STATE State;
    BOOLEAN Pumping;
    BOOLEAN Stop;
    BOOLEAN StartQueued;
    PNDIS_PACKET FreeHead; /* packets cosend5 owns, linked through Next */
    ULONG FreeCount;
    ULONG Sent;
    ULONG Completed;
    ULONG InFlight;
    ULONG Repaired;        /* packets whose chain or buffer came back changed */
    COSEND5_FAILURES Failures;
    NDIS_STATUS CallStatus;
    ULONG KeptCount;       /* received packets held, to be returned */
    PNDIS_PACKET Kept[COSEND5_KEEP_MAX];
    ULONG64 KeptTotal;

    /* Lent to the call manager until the make-call completes. */
    CO_CALL_PARAMETERS CallParameters;
    CO_CALL_MANAGER_PARAMETERS CallMgrParameters;
    CO_MEDIA_PARAMETERS MediaParameters;

    /* Send resources, bind to unbind. */
    PUCHAR Data;
    ULONG DataLength;
    ULONG PacketCount;
    ULONG Bytes;           /* size of this allocation */
    PNDIS_PACKET Packets[];
};

/* One binding: the ProtocolBindingContext and the ClientAfContext. */
struct _COSEND5_BINDING {
    ULONG Signature;
    ULONG Bytes;
    NDIS_HANDLE BindingHandle;
    NDIS_HANDLE PacketPool;
    NDIS_HANDLE BufferPool;

    ULONG VcCount;
    ULONG Count;
    ULONG Size;
    ULONG Window;
    ULONG Chain;
    BOOLEAN KeepReceives;

    volatile LONG Refs;
    volatile LONG Violations;

    NDIS_EVENT OpEvent;   /* open/close adapter completed */
    NDIS_STATUS OpStatus;
    NDIS_EVENT AfEvent;   /* AF open/close completed */
    NDIS_EVENT WorkEvent; /* a VC needs the worker */
    NDIS_EVENT WorkerIdleEvent;

    /* The control path's work item; scheduled once per binding. */
    NDIS_WORK_ITEM WorkItem;

    /* NdisOpenAdapter may write SelectedMediumIndex until it completes. */
    NDIS_MEDIUM MediumArray[1];
    UINT SelectedMediumIndex;
    /* NdisClOpenAddressFamily copies it; kept here all the same, so that
     * it is valid however long the open takes. */
    NDIS_CLIENT_CHARACTERISTICS ClientChars;

    NDIS_STRING Name;
    WCHAR NameBuffer[COSEND5_NAME_CHARS];

    NDIS_SPIN_LOCK Lock;
    /* ---- guarded by Lock ---- */
    COSEND5_AF_STATE AfState;
    CO_ADDRESS_FAMILY Family;
    NDIS_HANDLE AfHandle;
    NDIS_STATUS AfStatus;
    BOOLEAN Ready;
    BOOLEAN AfOfferedEarly;
    BOOLEAN RunStarted;
    BOOLEAN WorkerActive;
    BOOLEAN Stop;
    BOOLEAN Unbinding;
    /* ---- written by the worker only, read after it has finished ---- */
    ULONG VcsCreated;

    PCOSEND5_VC Vcs[];
};

/* ======================================================================
 * Globals and declarations
 * ====================================================================== */

static NDIS_HANDLE g_ProtocolHandle;
static volatile LONG g_Errors;

DRIVER_INITIALIZE Cosend5DriverEntry;
ULONG Cosend5Errors(void);

static DRIVER_UNLOAD Cosend5Unload;

/* NDIS50_PROTOCOL_CHARACTERISTICS. The WDK gives 5.x handlers only pointer
 * types, so these are declared by hand with the same signatures. */
static VOID Cosend5OpenAdapterComplete(NDIS_HANDLE ProtocolBindingContext, NDIS_STATUS Status,
                                       NDIS_STATUS OpenErrorStatus);
static VOID Cosend5CloseAdapterComplete(NDIS_HANDLE ProtocolBindingContext, NDIS_STATUS Status);
static VOID Cosend5SendComplete(NDIS_HANDLE ProtocolBindingContext, PNDIS_PACKET Packet,
                                NDIS_STATUS Status);
static VOID Cosend5TransferDataComplete(NDIS_HANDLE ProtocolBindingContext, PNDIS_PACKET Packet,
                                        NDIS_STATUS Status, UINT BytesTransferred);
static VOID Cosend5ResetComplete(NDIS_HANDLE ProtocolBindingContext, NDIS_STATUS Status);
static VOID Cosend5RequestComplete(NDIS_HANDLE ProtocolBindingContext, PNDIS_REQUEST NdisRequest,
                                   NDIS_STATUS Status);
static NDIS_STATUS Cosend5Receive(NDIS_HANDLE ProtocolBindingContext,
                                  NDIS_HANDLE MacReceiveContext, PVOID HeaderBuffer,
                                  UINT HeaderBufferSize, PVOID LookAheadBuffer,
                                  UINT LookaheadBufferSize, UINT PacketSize);
static VOID Cosend5ReceiveComplete(NDIS_HANDLE ProtocolBindingContext);
static VOID Cosend5Status(NDIS_HANDLE ProtocolBindingContext, NDIS_STATUS GeneralStatus,
                          PVOID StatusBuffer, UINT StatusBufferSize);
static VOID Cosend5StatusComplete(NDIS_HANDLE ProtocolBindingContext);
static INT Cosend5ReceivePacket(NDIS_HANDLE ProtocolBindingContext, PNDIS_PACKET Packet);
static VOID Cosend5BindAdapter(PNDIS_STATUS Status, NDIS_HANDLE BindContext,
                               PNDIS_STRING DeviceName, PVOID SystemSpecific1,
                               PVOID SystemSpecific2);
static VOID Cosend5UnbindAdapter(PNDIS_STATUS Status, NDIS_HANDLE ProtocolBindingContext,
                                 NDIS_HANDLE UnbindContext);
static NDIS_STATUS Cosend5PnPEvent(NDIS_HANDLE ProtocolBindingContext,
                                   PNET_PNP_EVENT NetPnPEvent);
static VOID Cosend5UnloadProtocol(VOID);
static VOID Cosend5CoSendComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolVcContext,
                                  PNDIS_PACKET Packet);
static VOID Cosend5CoStatus(NDIS_HANDLE ProtocolBindingContext, NDIS_HANDLE ProtocolVcContext,
                            NDIS_STATUS GeneralStatus, PVOID StatusBuffer,
                            UINT StatusBufferSize);
static UINT Cosend5CoReceivePacket(NDIS_HANDLE ProtocolBindingContext,
                                   NDIS_HANDLE ProtocolVcContext, PNDIS_PACKET Packet);
static PROTOCOL_CO_AF_REGISTER_NOTIFY Cosend5CoAfRegisterNotify;

/* NDIS_CLIENT_CHARACTERISTICS */
static PROTOCOL_CO_CREATE_VC Cosend5CoCreateVc;
static PROTOCOL_CO_DELETE_VC Cosend5CoDeleteVc;
static NDIS_STATUS Cosend5CoRequest(NDIS_HANDLE ProtocolAfContext, NDIS_HANDLE ProtocolVcContext,
                                    NDIS_HANDLE ProtocolPartyContext, PNDIS_REQUEST NdisRequest);
static VOID Cosend5CoRequestComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolAfContext,
                                     NDIS_HANDLE ProtocolVcContext,
                                     NDIS_HANDLE ProtocolPartyContext, PNDIS_REQUEST NdisRequest);
static VOID Cosend5ClOpenAfComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolAfContext,
                                    NDIS_HANDLE NdisAfHandle);
static PROTOCOL_CL_CLOSE_AF_COMPLETE Cosend5ClCloseAfComplete;
static PROTOCOL_CL_REGISTER_SAP_COMPLETE Cosend5ClRegisterSapComplete;
static PROTOCOL_CL_DEREGISTER_SAP_COMPLETE Cosend5ClDeregisterSapComplete;
static PROTOCOL_CL_MAKE_CALL_COMPLETE Cosend5ClMakeCallComplete;
static PROTOCOL_CL_MODIFY_CALL_QOS_COMPLETE Cosend5ClModifyCallQoSComplete;
static PROTOCOL_CL_CLOSE_CALL_COMPLETE Cosend5ClCloseCallComplete;
static PROTOCOL_CL_ADD_PARTY_COMPLETE Cosend5ClAddPartyComplete;
static PROTOCOL_CL_DROP_PARTY_COMPLETE Cosend5ClDropPartyComplete;
static PROTOCOL_CL_INCOMING_CALL Cosend5ClIncomingCall;
static PROTOCOL_CL_INCOMING_CALL_QOS_CHANGE Cosend5ClIncomingCallQoSChange;
static PROTOCOL_CL_INCOMING_CLOSE_CALL Cosend5ClIncomingCloseCall;
static PROTOCOL_CL_INCOMING_DROP_PARTY Cosend5ClIncomingDropParty;
static PROTOCOL_CL_CALL_CONNECTED Cosend5ClCallConnected;

/* NDIS_PROC work item routines, PASSIVE_LEVEL. */
static VOID Cosend5Worker(PNDIS_WORK_ITEM WorkItem, PVOID Context);
static VOID Cosend5StartSending(PNDIS_WORK_ITEM WorkItem, PVOID Context);

/* ======================================================================
 * Small helpers (any IRQL <= DISPATCH_LEVEL unless they say otherwise)
 * ====================================================================== */

static ULONG Cosend5Read(volatile LONG *Value)
{
    return (ULONG)InterlockedCompareExchange(Value, 0, 0);
}

/* Counts a broken invariant and describes the first few. Safe at
 * DISPATCH_LEVEL with no lock held. */
static VOID Cosend5Violation(PCOSEND5_BINDING Binding, PCSTR What, ULONG_PTR Value)
{
    LONG n = InterlockedIncrement(&g_Errors);

    if (Binding != NULL)
        InterlockedIncrement(&Binding->Violations);
    if (n <= COSEND5_VIOLATION_MESSAGES)
        DbgPrint("cosend5 VIOLATION: %s (0x%Ix)\n", What, Value);
    else if (n == COSEND5_VIOLATION_MESSAGES + 1)
        DbgPrint("cosend5: more violations follow; counted, not described\n");
}

/* Exported for tests: broken invariants seen since the driver was loaded. */
ULONG Cosend5Errors(void)
{
    return Cosend5Read(&g_Errors);
}

static PCOSEND5_BINDING Cosend5BindingFromContext(NDIS_HANDLE Context, PCSTR Who)
{
    PCOSEND5_BINDING b = (PCOSEND5_BINDING)Context;

    if (b == NULL || b->Signature != COSEND5_BINDING_SIGNATURE) {
        Cosend5Violation(NULL, Who, (ULONG_PTR)Context);
        return NULL;
    }
    return b;
}

static PCOSEND5_VC Cosend5VcFromContext(NDIS_HANDLE Context, PCSTR Who)
{
    PCOSEND5_VC vc = (PCOSEND5_VC)Context;

    if (vc == NULL || vc->Signature != COSEND5_VC_SIGNATURE) {
        Cosend5Violation(NULL, Who, (ULONG_PTR)Context);
        return NULL;
    }
    return vc;
}

/* A handler counts itself into the object it works on and out again as its
 * very last touch of it; unbind frees objects only with nobody inside. */
static FORCEINLINE VOID Cosend5Enter(volatile LONG *Refs)
{
    InterlockedIncrement(Refs);
}

static FORCEINLINE VOID Cosend5Leave(volatile LONG *Refs)
{
    InterlockedDecrement(Refs);
}

static VOID Cosend5CountFailure(PCOSEND5_FAILURES Failures, NDIS_STATUS Status, ULONG Count)
{
    ULONG i;

    for (i = 0; i < COSEND5_STATUS_SLOTS; i++) {
        if (Failures->Count[i] != 0 && Failures->Status[i] == Status) {
            Failures->Count[i] += Count;
            return;
        }
        if (Failures->Count[i] == 0) {
            Failures->Status[i] = Status;
            Failures->Count[i] = Count;
            return;
        }
    }
    Failures->Other += Count;
}

static ULONGLONG Cosend5FailureTotal(const COSEND5_FAILURES *Failures)
{
    ULONGLONG total = Failures->Other;
    ULONG i;

    for (i = 0; i < COSEND5_STATUS_SLOTS; i++)
        total += Failures->Count[i];
    return total;
}

/* ======================================================================
 * Parameters (PASSIVE_LEVEL: configuration reads are)
 * ====================================================================== */

static ULONG Cosend5ReadParameter(NDIS_HANDLE Config, PCWSTR Name, ULONG Default, ULONG Minimum,
                                  ULONG Maximum)
{
    NDIS_STRING keyword;
    PNDIS_CONFIGURATION_PARAMETER value = NULL;
    NDIS_STATUS status;
    ULONG result;

    NdisInitUnicodeString(&keyword, Name);
    NdisReadConfiguration(&status, &value, Config, &keyword, NdisParameterInteger);
    if (status != NDIS_STATUS_SUCCESS || value == NULL)
        return Default; /* not given (or not a number: condis fails the read) */
    if (value->ParameterType != NdisParameterInteger &&
        value->ParameterType != NdisParameterHexInteger) {
        DbgPrint("cosend5: %ws is not a number; keeping the default %lu\n", Name, Default);
        return Default;
    }
    result = value->ParameterData.IntegerData;
    if (result >= Minimum && result <= Maximum)
        return result;
    DbgPrint("cosend5: %ws=%lu is outside [%lu, %lu]; keeping the default %lu\n", Name, result,
             Minimum, Maximum, Default);
    return Default;
}

typedef struct _COSEND5_PARAMETERS {
    ULONG Vcs;
    ULONG Count;
    ULONG Size;
    ULONG Window;
    ULONG Chain;
    ULONG KeepReceives;
} COSEND5_PARAMETERS, *PCOSEND5_PARAMETERS;

/*
 * PASSIVE_LEVEL, from bind: SystemSpecific1 is the registry path NDIS gives
 * ProtocolBindAdapter for exactly this call, and nothing else.
 */
static VOID Cosend5ReadParameters(PVOID SystemSpecific1, PCOSEND5_PARAMETERS P)
{
    NDIS_HANDLE config = NULL;
    NDIS_STATUS status;

    P->Vcs = COSEND5_DEFAULT_VCS;
    P->Count = COSEND5_DEFAULT_COUNT;
    P->Size = COSEND5_DEFAULT_SIZE;
    P->Window = COSEND5_DEFAULT_WINDOW;
    P->Chain = COSEND5_DEFAULT_CHAIN;
    P->KeepReceives = 0;

    NdisOpenProtocolConfiguration(&status, &config, (PNDIS_STRING)SystemSpecific1);
    if (status != NDIS_STATUS_SUCCESS) {
        DbgPrint("cosend5: NdisOpenProtocolConfiguration failed (0x%08lx); using the "
                 "defaults\n", (ULONG)status);
    } else {
        P->Vcs = Cosend5ReadParameter(config, L"Cosend5Vcs", COSEND5_DEFAULT_VCS, 1,
                                      COSEND5_MAX_VCS);
        P->Count = Cosend5ReadParameter(config, L"Cosend5Count", COSEND5_DEFAULT_COUNT, 1,
                                        COSEND5_MAX_COUNT);
        P->Size = Cosend5ReadParameter(config, L"Cosend5Size", COSEND5_DEFAULT_SIZE, 1,
                                       COSEND5_MAX_SIZE);
        P->Window = Cosend5ReadParameter(config, L"Cosend5Window", COSEND5_DEFAULT_WINDOW, 1,
                                         COSEND5_MAX_WINDOW);
        P->Chain = Cosend5ReadParameter(config, L"Cosend5Chain", COSEND5_DEFAULT_CHAIN, 1,
                                        COSEND5_MAX_CHAIN);
        P->KeepReceives = Cosend5ReadParameter(config, L"Cosend5KeepReceives", 0, 0, 1);
        NdisCloseConfiguration(config);
    }

    if (P->Window > P->Count)
        P->Window = P->Count;
    /* All packets of a binding come from one pool, which has a ceiling. */
    if ((ULONGLONG)P->Window * P->Vcs > COSEND5_MAX_PACKETS) {
        ULONG window = COSEND5_MAX_PACKETS / P->Vcs;

        DbgPrint("cosend5: %lu VCs x window %lu exceed one packet pool; window %lu\n", P->Vcs,
                 P->Window, window);
        P->Window = window;
    }
    if (P->Chain > P->Window)
        P->Chain = P->Window;
}

/* ======================================================================
 * Send resources (PASSIVE_LEVEL: bind and unbind)
 * ====================================================================== */

/*
 * Frees what Cosend5AllocateVc made. A packet still in flight is NDIS's and
 * is left alone (OWN-3); leaking it is the lesser evil and it is reported.
 * Returns FALSE when something had to be left.
 */
static BOOLEAN Cosend5FreeVc(PCOSEND5_BINDING b, PCOSEND5_VC Vc)
{
    BOOLEAN allBack = TRUE;
    ULONG i;

    for (i = 0; i < Vc->PacketCount; i++) {
        PNDIS_PACKET packet = Vc->Packets[i];
        PCOSEND5_RESERVED r = COSEND5_RSVD(packet);
        PNDIS_BUFFER buffer;

        if (packet == NULL)
            continue;
        if (r->Tag & COSEND5_IN_FLIGHT) {
            Cosend5Violation(b, "unbind: a packet never came back; leaking it", i);
            allBack = FALSE;
            continue;
        }
        /* Take every descriptor off before freeing the packet; only cosend5's
         * own goes back to its pool. */
        do {
            NdisUnchainBufferAtFront(packet, &buffer);
        } while (buffer != NULL);
        if (r->Buffer != NULL)
            NdisFreeBuffer(r->Buffer);
        r->Buffer = NULL;
        NdisFreePacket(packet);
        Vc->Packets[i] = NULL;
    }
    if (!allBack)
        return FALSE;
    if (Vc->Data != NULL)
        NdisFreeMemory(Vc->Data, Vc->DataLength, 0);
    NdisFreeSpinLock(&Vc->Lock);
    Vc->Signature = 0;
    NdisFreeMemory(Vc, Vc->Bytes, 0);
    return TRUE;
}

/*
 * One VC's context and send resources: Window packets from the binding's
 * pool, each with one buffer descriptor from the binding's buffer pool
 * mapping Size bytes of the VC's data block. All or nothing.
 */
static PCOSEND5_VC Cosend5AllocateVc(PCOSEND5_BINDING b, ULONG Index)
{
    ULONG bytes = (ULONG)FIELD_OFFSET(COSEND5_VC, Packets) + b->Window * (ULONG)sizeof(PNDIS_PACKET);
    PCOSEND5_VC vc = NULL;
    PVOID data = NULL;
    NDIS_STATUS status;
    ULONG i;

    if (NdisAllocateMemoryWithTag((PVOID *)&vc, bytes, COSEND5_TAG_VC) != NDIS_STATUS_SUCCESS ||
        vc == NULL)
        return NULL;
    NdisZeroMemory(vc, bytes);
    vc->Signature = COSEND5_VC_SIGNATURE;
    vc->Bytes = bytes;
    vc->Index = Index;
    vc->Binding = b;
    vc->Count = b->Count;
    vc->Size = b->Size;
    vc->Chain = b->Chain;
    vc->MaxRounds = (b->Window + b->Chain - 1) / b->Chain;
    vc->KeepReceives = b->KeepReceives;
    vc->State = Cosend5VcUnused;
    NdisAllocateSpinLock(&vc->Lock);

    vc->DataLength = b->Window * b->Size;
    if (NdisAllocateMemoryWithTag(&data, vc->DataLength, COSEND5_TAG_DATA) !=
            NDIS_STATUS_SUCCESS ||
        data == NULL)
        goto fail;
    vc->Data = data;
    for (i = 0; i < vc->DataLength; i++)
        vc->Data[i] = (UCHAR)(i % b->Size + Index);

    for (i = 0; i < b->Window; i++) {
        PNDIS_PACKET packet = NULL;
        PNDIS_BUFFER buffer = NULL;
        PCOSEND5_RESERVED r;

        NdisAllocatePacket(&status, &packet, b->PacketPool);
        if (status != NDIS_STATUS_SUCCESS || packet == NULL)
            goto fail;
        r = COSEND5_RSVD(packet);
        r->Vc = vc;
        r->Next = NULL;
        r->Buffer = NULL;
        r->Tag = (ULONG_PTR)i << 1;
        vc->Packets[vc->PacketCount++] = packet;

        NdisAllocateBuffer(&status, &buffer, b->BufferPool, vc->Data + (SIZE_T)i * b->Size,
                           b->Size);
        if (status != NDIS_STATUS_SUCCESS || buffer == NULL)
            goto fail;
        r->Buffer = buffer;
        NdisChainBufferAtFront(packet, buffer);

        r->Next = vc->FreeHead;
        vc->FreeHead = packet;
        vc->FreeCount++;
    }
    return vc;

fail:
    Cosend5FreeVc(b, vc);
    return NULL;
}

/* PASSIVE_LEVEL. Frees every VC and then the pools; TRUE if all of it. */
static BOOLEAN Cosend5FreeResources(PCOSEND5_BINDING b)
{
    BOOLEAN allBack = TRUE;
    ULONG i;

    for (i = 0; i < b->VcCount; i++) {
        if (b->Vcs[i] == NULL)
            continue;
        if (Cosend5FreeVc(b, b->Vcs[i]))
            b->Vcs[i] = NULL;
        else
            allBack = FALSE;
    }
    /* A pool with descriptors out cannot be freed (RES-2). */
    if (allBack) {
        if (b->BufferPool != NULL)
            NdisFreeBufferPool(b->BufferPool);
        if (b->PacketPool != NULL)
            NdisFreePacketPool(b->PacketPool);
        b->BufferPool = NULL;
        b->PacketPool = NULL;
    }
    return allBack;
}

/* PASSIVE_LEVEL, from bind. Pools, then every VC. All or nothing. */
static NDIS_STATUS Cosend5AllocateResources(PCOSEND5_BINDING b)
{
    UINT total = b->VcCount * b->Window;
    NDIS_STATUS status;
    ULONG i;

    NdisAllocatePacketPool(&status, &b->PacketPool, total, sizeof(COSEND5_RESERVED));
    if (status != NDIS_STATUS_SUCCESS) {
        b->PacketPool = NULL;
        return NDIS_STATUS_RESOURCES;
    }
    NdisAllocateBufferPool(&status, &b->BufferPool, total);
    if (status != NDIS_STATUS_SUCCESS) {
        b->BufferPool = NULL;
        Cosend5FreeResources(b);
        return NDIS_STATUS_RESOURCES;
    }
    for (i = 0; i < b->VcCount; i++) {
        b->Vcs[i] = Cosend5AllocateVc(b, i);
        if (b->Vcs[i] == NULL) {
            Cosend5FreeResources(b);
            return NDIS_STATUS_RESOURCES;
        }
    }
    return NDIS_STATUS_SUCCESS;
}

/* ======================================================================
 * The send path
 * ====================================================================== */

/* Caller holds Vc->Lock. An active VC whose sending is over becomes
 * Drained; TRUE tells the caller to wake the worker, which closes the call
 * (never with sends outstanding: VC-2). */
static BOOLEAN Cosend5CheckDrainedLocked(PCOSEND5_VC Vc)
{
    if (Vc->State == Cosend5VcActive && Vc->InFlight == 0 &&
        (Vc->Sent >= Vc->Count || Vc->Stop)) {
        Vc->State = Cosend5VcDrained;
        return TRUE;
    }
    return FALSE;
}

/* Caller holds Vc->Lock. Packets the next NdisCoSendPackets may carry. */
static FORCEINLINE ULONG Cosend5SendableLocked(const COSEND5_VC *Vc)
{
    ULONG n;

    if (Vc->State != Cosend5VcActive || Vc->Stop)
        return 0;
    n = MIN(Vc->FreeCount, Vc->Chain);
    return MIN(n, Vc->Count - Vc->Sent);
}

/*
 * The pump. IRQL <= DISPATCH_LEVEL; entered with Vc->Lock held, returns
 * with it released. Sends arrays of up to Chain packets from the free list.
 * From NdisCoSendPackets on, each packet is NDIS's until cosend5's
 * ProtocolCoSendComplete gets it back; the array is cosend5's stack.
 * One thread pumps a VC at a time; a pump stops after MaxRounds arrays
 * while packets are in flight (their completions pump again), but goes on
 * with nothing in flight, since no completion would come to do it.
 */
static VOID Cosend5PumpAndUnlock(PCOSEND5_VC Vc)
{
    NDIS_HANDLE vcHandle = Vc->NdisVcHandle;
    PNDIS_PACKET array[COSEND5_MAX_CHAIN];
    ULONG rounds = 0;

    if (Vc->Pumping) {
        NdisReleaseSpinLock(&Vc->Lock);
        return;
    }
    Vc->Pumping = TRUE;
    for (;;) {
        ULONG n = Cosend5SendableLocked(Vc);
        ULONG i;

        if (n == 0 || (rounds >= Vc->MaxRounds && Vc->InFlight != 0))
            break;
        /* Counted as in flight before the lock drops, so nobody sees the
         * VC drained while these are on their way. */
        for (i = 0; i < n; i++) {
            PNDIS_PACKET packet = Vc->FreeHead;
            PCOSEND5_RESERVED r = COSEND5_RSVD(packet);

            Vc->FreeHead = r->Next;
            r->Next = NULL;
            r->Tag |= COSEND5_IN_FLIGHT;
            array[i] = packet;
        }
        Vc->FreeCount -= n;
        Vc->Sent += n;
        Vc->InFlight += n;
        NdisReleaseSpinLock(&Vc->Lock);

        NdisCoSendPackets(vcHandle, array, n);
        rounds++;
        NdisAcquireSpinLock(&Vc->Lock);
    }
    Vc->Pumping = FALSE;
    NdisReleaseSpinLock(&Vc->Lock);
}

/*
 * IRQL <= DISPATCH_LEVEL; entered with Vc->Lock held, returns with it
 * released. Has the VC's own work item fill the window, so that whoever
 * activated the VC (the worker, a call manager's thread) does not become
 * the sender of the whole run with a miniport that completes inline.
 */
static VOID Cosend5QueueStartAndUnlock(PCOSEND5_VC Vc)
{
    BOOLEAN queue = !Vc->StartQueued && Cosend5SendableLocked(Vc) != 0;

    if (queue) {
        Vc->StartQueued = TRUE;
        Cosend5Enter(&Vc->Refs); /* the work item's, until it has run */
        NdisInitializeWorkItem(&Vc->StartWorkItem, Cosend5StartSending, Vc);
    }
    NdisReleaseSpinLock(&Vc->Lock);
    if (queue && NdisScheduleWorkItem(&Vc->StartWorkItem) != NDIS_STATUS_SUCCESS) {
        Cosend5Violation(Vc->Binding, "NdisScheduleWorkItem failed; the VC does not start",
                         Vc->Index);
        NdisAcquireSpinLock(&Vc->Lock);
        Vc->StartQueued = FALSE;
        Vc->Stop = TRUE;
        if (Cosend5CheckDrainedLocked(Vc))
            NdisSetEvent(&Vc->Binding->WorkEvent);
        NdisReleaseSpinLock(&Vc->Lock);
        Cosend5Leave(&Vc->Refs);
    }
}

/* NDIS_PROC, PASSIVE_LEVEL: fills a VC's window; completions keep it full. */
static VOID Cosend5StartSending(PNDIS_WORK_ITEM WorkItem, PVOID Context)
{
    PCOSEND5_VC vc = (PCOSEND5_VC)Context;

    UNREFERENCED_PARAMETER(WorkItem); /* the VC's own; nothing to free */
    NdisAcquireSpinLock(&vc->Lock);
    vc->StartQueued = FALSE; /* the routine has started: it may be scheduled again */
    Cosend5PumpAndUnlock(vc);
    Cosend5Leave(&vc->Refs);
}

/*
 * IRQL <= DISPATCH_LEVEL, with no lock held. Gives every received packet
 * Vc holds back to NDIS (and so to the miniport that indicated it). After
 * NdisReturnPackets cosend5 does not touch them.
 */
static VOID Cosend5ReturnKept(PCOSEND5_VC Vc)
{
    PNDIS_PACKET kept[COSEND5_KEEP_MAX];
    ULONG n;

    NdisAcquireSpinLock(&Vc->Lock);
    n = Vc->KeptCount;
    NdisMoveMemory(kept, Vc->Kept, n * sizeof(PNDIS_PACKET));
    Vc->KeptCount = 0;
    NdisReleaseSpinLock(&Vc->Lock);
    if (n != 0)
        NdisReturnPackets(kept, n);
}

/*
 * IRQL <= DISPATCH_LEVEL. Prepares a completed packet for the next send,
 * the way the ProtocolCoSendComplete documentation asks:
 *   1. unchain every buffer descriptor (NdisUnchainBufferAtFront until it
 *      gives NULL), saving them, BEFORE NdisReinitializePacket, which
 *      would otherwise drop the chain and lose them (PKT-1);
 *   2. NdisReinitializePacket;
 *   3. zero the out-of-band block that NDIS_OOB_DATA_FROM_PACKET points
 *      to - never the packet itself, which would destroy the descriptor
 *      (PKT-2);
 *   4. chain cosend5's own buffer descriptor again.
 * cosend5 chained exactly one descriptor, its own, describing Size bytes;
 * anything else it finds was changed while the packet was not its own
 * (OWN-1) and is reported. Descriptors that are not cosend5's are not
 * freed (they are someone else's) and not chained again. Returns TRUE if
 * anything had to be repaired.
 */
static BOOLEAN Cosend5ReinitializeForReuse(PCOSEND5_VC Vc, PNDIS_PACKET Packet)
{
    PCOSEND5_RESERVED r = COSEND5_RSVD(Packet);
    PNDIS_BUFFER saved[COSEND5_MAX_UNCHAINED];
    PNDIS_BUFFER buffer;
    ULONG count = 0;
    BOOLEAN ownFound = FALSE;
    BOOLEAN repaired = FALSE;
    ULONG i;

    for (;;) {
        NdisUnchainBufferAtFront(Packet, &buffer);
        if (buffer == NULL)
            break;
        if (count < COSEND5_MAX_UNCHAINED)
            saved[count] = buffer;
        count++;
    }
    for (i = 0; i < count && i < COSEND5_MAX_UNCHAINED; i++) {
        if (saved[i] == r->Buffer)
            ownFound = TRUE;
    }
    if (count != 1 || !ownFound) {
        Cosend5Violation(Vc->Binding, "send complete: the packet's buffer chain was changed "
                         "while in flight (OWN-1)", count);
        repaired = TRUE;
    }

    NdisReinitializePacket(Packet);
    NdisZeroMemory(NDIS_OOB_DATA_FROM_PACKET(Packet), sizeof(NDIS_PACKET_OOB_DATA));

    buffer = r->Buffer;
    if (NdisBufferLength(buffer) != Vc->Size) {
        Cosend5Violation(Vc->Binding, "send complete: the buffer descriptor's length was "
                         "changed while in flight (OWN-1)", NdisBufferLength(buffer));
        NdisAdjustBufferLength(buffer, Vc->Size);
        repaired = TRUE;
    }
    NDIS_BUFFER_LINKAGE(buffer) = NULL; /* one descriptor, not a chain */
    NdisChainBufferAtFront(Packet, buffer);
    return repaired;
}

/*
 * IRQL <= DISPATCH_LEVEL, with no lock held. Takes back one packet of Vc,
 * already checked and prepared for reuse by the caller, which owns it: it
 * goes on the free list and the pump sends it again. Kept receives go back
 * on the way out.
 */
static VOID Cosend5Reclaim(PCOSEND5_VC Vc, PNDIS_PACKET Packet, NDIS_STATUS Status,
                           BOOLEAN Repaired)
{
    PCOSEND5_BINDING b = Vc->Binding;
    BOOLEAN drained;
    BOOLEAN kept;

    NdisAcquireSpinLock(&Vc->Lock);
    COSEND5_RSVD(Packet)->Next = Vc->FreeHead;
    Vc->FreeHead = Packet;
    Vc->FreeCount++;
    Vc->Completed++;
    Vc->InFlight--; /* it was in flight: its tag said so */
    if (Status != NDIS_STATUS_SUCCESS)
        Cosend5CountFailure(&Vc->Failures, Status, 1);
    if (Repaired)
        Vc->Repaired++;
    drained = Cosend5CheckDrainedLocked(Vc);
    kept = Vc->KeptCount != 0;
    Cosend5PumpAndUnlock(Vc);

    if (kept)
        Cosend5ReturnKept(Vc);
    if (drained)
        NdisSetEvent(&b->WorkEvent);
}

/*
 * A packet completed on a VC other than its own: reported by the caller.
 * If it is one of this binding's packets it is still cosend5's, so it goes
 * back to its owner, found among the binding's VCs (never trusted from
 * ProtocolReserved alone, so a foreign packet is not followed into memory
 * that is not cosend5's).
 */
static VOID Cosend5ReturnStray(PCOSEND5_BINDING b, NDIS_STATUS Status, PNDIS_PACKET Packet)
{
    PCOSEND5_RESERVED r = COSEND5_RSVD(Packet);
    PCOSEND5_VC owner = NULL;
    ULONG index;
    ULONG i;

    for (i = 0; i < b->VcCount && owner == NULL; i++) {
        if (b->Vcs[i] == r->Vc)
            owner = b->Vcs[i];
    }
    if (owner == NULL)
        return;
    index = (ULONG)(r->Tag >> 1);
    if (index >= owner->PacketCount || owner->Packets[index] != Packet ||
        !(r->Tag & COSEND5_IN_FLIGHT))
        return;
    Cosend5Enter(&owner->Refs);
    r->Tag &= ~COSEND5_IN_FLIGHT;
    Cosend5Reclaim(owner, Packet, Status, Cosend5ReinitializeForReuse(owner, Packet));
    Cosend5Leave(&owner->Refs);
}

/*
 * ProtocolCoSendComplete, IRQL <= DISPATCH_LEVEL, once for every packet
 * cosend5 gave NdisCoSendPackets, in any order, possibly inside the send
 * call. On entry cosend5 owns Packet again with its buffer descriptor, data
 * and out-of-band block; Status is its final status.
 *
 * The checks cost little and cover what the layers below promised: the
 * packet is cosend5's and comes back on the VC it was sent on (OWN-5),
 * exactly once (its in-flight bit), with a final status (PKT-3). Then the
 * status is counted, the packet prepared for reuse as documented, and
 * handed to the VC, whose pump sends it again. Nothing allocates or frees.
 */
static VOID Cosend5CoSendComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolVcContext,
                                  PNDIS_PACKET Packet)
{
    PCOSEND5_VC vc = Cosend5VcFromContext(ProtocolVcContext,
                                          "send complete: a ProtocolVcContext that is not "
                                          "cosend5's; the packet is lost");
    PCOSEND5_RESERVED r;
    ULONG_PTR tag;
    BOOLEAN repaired;

    if (vc == NULL)
        return;
    Cosend5Enter(&vc->Refs);
    if (Packet == NULL) {
        Cosend5Violation(vc->Binding, "send complete without a packet", vc->Index);
        goto out;
    }
    r = COSEND5_RSVD(Packet);
    if (r->Vc != vc) {
        Cosend5Violation(vc->Binding, "send complete: a packet completed on a VC it was not "
                         "sent on (OWN-5)", vc->Index);
        Cosend5ReturnStray(vc->Binding, Status, Packet);
        goto out;
    }
    tag = r->Tag;
    if ((tag >> 1) >= vc->PacketCount || vc->Packets[tag >> 1] != Packet) {
        Cosend5Violation(vc->Binding, "send complete: a packet that is not cosend5's",
                         (ULONG_PTR)Packet);
        goto out;
    }
    if (!(tag & COSEND5_IN_FLIGHT)) {
        /* Completed twice or never sent: it is on the free list or in
         * another completion, so it must not be touched. */
        Cosend5Violation(vc->Binding, "send complete: a packet that is not in flight "
                         "(completed twice?) (OWN-5)", tag >> 1);
        goto out;
    }
    r->Tag = tag & ~COSEND5_IN_FLIGHT;
    if (Status == NDIS_STATUS_PENDING)
        Cosend5Violation(vc->Binding, "send complete: NDIS_STATUS_PENDING as a final status "
                         "(PKT-3)", tag >> 1);

    repaired = Cosend5ReinitializeForReuse(vc, Packet);
    Cosend5Reclaim(vc, Packet, Status, repaired);
out:
    Cosend5Leave(&vc->Refs);
}

/*
 * ProtocolCoReceivePacket, IRQL <= DISPATCH_LEVEL, possibly on several
 * processors at once. Returns how many NdisReturnPackets calls will follow
 * for Packet: 0 means cosend5 is done with it on return. A packet whose
 * OOB status is NDIS_STATUS_RESOURCES is only lent for this call and gets
 * 0 whatever the parameter says.
 */
static UINT Cosend5CoReceivePacket(NDIS_HANDLE ProtocolBindingContext,
                                   NDIS_HANDLE ProtocolVcContext, PNDIS_PACKET Packet)
{
    PCOSEND5_BINDING b = Cosend5BindingFromContext(ProtocolBindingContext,
                                                   "receive: a ProtocolBindingContext that is "
                                                   "not cosend5's");
    PCOSEND5_VC vc;
    UINT keep = 0;

    if (b == NULL || Packet == NULL)
        return 0;
    vc = Cosend5VcFromContext(ProtocolVcContext, "receive: a ProtocolVcContext that is not "
                              "cosend5's");
    if (vc != NULL && vc->Binding != b) {
        Cosend5Violation(b, "receive: the VC belongs to another binding", vc->Index);
        vc = NULL;
    }
    if (vc == NULL)
        return 0;
    Cosend5Enter(&vc->Refs);
    InterlockedAdd64(&vc->Received, 1);

    if (vc->KeepReceives && NDIS_GET_PACKET_STATUS(Packet) != NDIS_STATUS_RESOURCES) {
        /* Only while the call is up: the packets go back before it closes.
         * And only while another send is in flight that does not wait for a
         * kept packet: kept packets go back when a send completes, and a
         * miniport that completes a send only after its loopback receive is
         * returned (loop) would otherwise wait for us while we wait for it. */
        NdisAcquireSpinLock(&vc->Lock);
        if (vc->State == Cosend5VcActive && !vc->Stop && vc->KeptCount < COSEND5_KEEP_MAX &&
            vc->InFlight > vc->KeptCount + 1) {
            vc->Kept[vc->KeptCount++] = Packet;
            vc->KeptTotal++;
            keep = 1;
        }
        NdisReleaseSpinLock(&vc->Lock);
    }
    Cosend5Leave(&vc->Refs);
    return keep;
}

/* ======================================================================
 * Stopping (the binding's VCs, one lock at a time)
 * ====================================================================== */

/* IRQL <= DISPATCH_LEVEL. Ends sending on every VC of the run. */
static VOID Cosend5StopAll(PCOSEND5_BINDING b)
{
    BOOLEAN wake = FALSE;
    ULONG i;

    for (i = 0; i < b->VcCount; i++) {
        PCOSEND5_VC vc = b->Vcs[i];

        NdisAcquireSpinLock(&vc->Lock);
        vc->Stop = TRUE;
        if (Cosend5CheckDrainedLocked(vc))
            wake = TRUE;
        NdisReleaseSpinLock(&vc->Lock);
    }
    if (wake)
        NdisSetEvent(&b->WorkEvent);
}

/* ======================================================================
 * Calls
 * ====================================================================== */

/*
 * ProtocolClMakeCallComplete, IRQL <= DISPATCH_LEVEL; cosend5 calls it
 * itself when NdisClMakeCall did not pend. CallParameters is cosend5's own
 * structure back. On success the VC's work item fills the window; a call
 * that cannot carry Cosend5Size bytes is closed without a send.
 */
_Use_decl_annotations_
static VOID Cosend5ClMakeCallComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolVcContext,
                                      NDIS_HANDLE NdisPartyHandle,
                                      PCO_CALL_PARAMETERS CallParameters)
{
    PCOSEND5_VC vc = Cosend5VcFromContext(ProtocolVcContext,
                                          "make call complete: a ProtocolVcContext that is "
                                          "not cosend5's");
    PCOSEND5_BINDING b;
    BOOLEAN unexpected = FALSE;
    BOOLEAN tooSmall = FALSE;
    BOOLEAN wake = FALSE;
    BOOLEAN active = FALSE;
    ULONG sdu = 0;

    if (vc == NULL)
        return;
    b = vc->Binding;
    Cosend5Enter(&vc->Refs);
    if (CallParameters != &vc->CallParameters)
        Cosend5Violation(b, "make call complete: CallParameters is not cosend5's", vc->Index);
    if (NdisPartyHandle != NULL)
        Cosend5Violation(b, "make call complete: a party handle for a point-to-point call",
                         vc->Index);
    if (Status == NDIS_STATUS_SUCCESS && (vc->CallParameters.Flags & CALL_PARAMETERS_CHANGED) &&
        vc->CallParameters.CallMgrParameters != NULL) {
        sdu = vc->CallParameters.CallMgrParameters->Transmit.MaxSduSize;
        tooSmall = sdu != QOS_NOT_SPECIFIED && sdu != 0 && sdu < vc->Size;
    }

    NdisAcquireSpinLock(&vc->Lock);
    if (vc->State != Cosend5VcCalling) {
        unexpected = TRUE;
    } else if (Status == NDIS_STATUS_SUCCESS) {
        vc->State = Cosend5VcActive;
        if (tooSmall)
            vc->Stop = TRUE;
        wake = Cosend5CheckDrainedLocked(vc);
        active = !wake;
    } else {
        vc->State = Cosend5VcCallDown; /* the VC is still there to delete */
        vc->CallStatus = Status;
        wake = TRUE;
    }
    if (active)
        Cosend5QueueStartAndUnlock(vc);
    else
        NdisReleaseSpinLock(&vc->Lock);

    if (unexpected)
        Cosend5Violation(b, "make call complete without a call being made", vc->Index);
    else if (Status != NDIS_STATUS_SUCCESS)
        DbgPrint("cosend5 %wZ: VC %lu: NdisClMakeCall failed (0x%08lx)\n", &b->Name, vc->Index,
                 (ULONG)Status);
    else if (tooSmall)
        DbgPrint("cosend5 %wZ: VC %lu: Transmit.MaxSduSize %lu is below Cosend5Size=%lu; "
                 "closing the call\n", &b->Name, vc->Index, sdu, vc->Size);
    if (wake)
        NdisSetEvent(&b->WorkEvent);
    Cosend5Leave(&vc->Refs);
}

/* ProtocolClCloseCallComplete, IRQL <= DISPATCH_LEVEL; also called by
 * cosend5 when NdisClCloseCall did not pend. The worker deletes the VC. */
_Use_decl_annotations_
static VOID Cosend5ClCloseCallComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolVcContext,
                                       NDIS_HANDLE ProtocolPartyContext)
{
    PCOSEND5_VC vc = Cosend5VcFromContext(ProtocolVcContext,
                                          "close call complete: a ProtocolVcContext that is "
                                          "not cosend5's");
    PCOSEND5_BINDING b;
    BOOLEAN unexpected = FALSE;

    if (vc == NULL)
        return;
    b = vc->Binding;
    Cosend5Enter(&vc->Refs);
    if (ProtocolPartyContext != NULL)
        Cosend5Violation(b, "close call complete: a party context for a point-to-point call",
                         vc->Index);
    NdisAcquireSpinLock(&vc->Lock);
    if (vc->State != Cosend5VcClosing) {
        unexpected = TRUE;
    } else if (Status == NDIS_STATUS_SUCCESS) {
        vc->State = Cosend5VcCallDown;
    } else {
        vc->State = Cosend5VcBroken;
        vc->CallStatus = Status;
    }
    NdisReleaseSpinLock(&vc->Lock);
    if (unexpected)
        Cosend5Violation(b, "close call complete without a close being made", vc->Index);
    else if (Status != NDIS_STATUS_SUCCESS)
        Cosend5Violation(b, "NdisClCloseCall failed; the VC cannot be deleted", (ULONG)Status);
    NdisSetEvent(&b->WorkEvent);
    Cosend5Leave(&vc->Refs);
}

/*
 * ProtocolClIncomingCloseCall, IRQL <= DISPATCH_LEVEL: the far end or the
 * call manager ended the call. cosend5 answers with NdisClCloseCall, but
 * not while sends are outstanding, so it only stops sending here; the
 * worker closes the call once the VC has drained.
 */
_Use_decl_annotations_
static VOID Cosend5ClIncomingCloseCall(NDIS_STATUS CloseStatus, NDIS_HANDLE ProtocolVcContext,
                                       PVOID CloseData, UINT Size)
{
    PCOSEND5_VC vc = Cosend5VcFromContext(ProtocolVcContext,
                                          "incoming close call: a ProtocolVcContext that is "
                                          "not cosend5's");
    PCOSEND5_BINDING b;
    COSEND5_VC_STATE state;
    BOOLEAN wake = FALSE;

    UNREFERENCED_PARAMETER(CloseData);
    UNREFERENCED_PARAMETER(Size);
    if (vc == NULL)
        return;
    b = vc->Binding;
    Cosend5Enter(&vc->Refs);
    NdisAcquireSpinLock(&vc->Lock);
    state = vc->State;
    if (state == Cosend5VcActive || state == Cosend5VcCalling) {
        vc->Stop = TRUE;
        wake = Cosend5CheckDrainedLocked(vc);
    }
    NdisReleaseSpinLock(&vc->Lock);
    if (state == Cosend5VcActive || state == Cosend5VcCalling)
        DbgPrint("cosend5 %wZ: VC %lu: the call was closed from the far end (0x%08lx)\n",
                 &b->Name, vc->Index, (ULONG)CloseStatus);
    else if (state != Cosend5VcDrained && state != Cosend5VcClosing)
        Cosend5Violation(b, "incoming close call on a VC with no call", state);
    if (wake)
        NdisSetEvent(&b->WorkEvent);
    Cosend5Leave(&vc->Refs);
}

/* ======================================================================
 * Address family
 * ====================================================================== */

/*
 * ProtocolClOpenAfComplete (the NDIS 5.x argument order: status first).
 * Runs at the IRQL its caller is at, PASSIVE_LEVEL when cosend5 calls it
 * itself after a synchronous open; it only takes a spin lock, schedules a
 * work item and sets an event, which are all fine up to DISPATCH_LEVEL.
 * On success the worker starts the run.
 */
static VOID Cosend5ClOpenAfComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolAfContext,
                                    NDIS_HANDLE NdisAfHandle)
{
    PCOSEND5_BINDING b = Cosend5BindingFromContext(ProtocolAfContext,
                                                   "open AF complete: a ProtocolAfContext that "
                                                   "is not cosend5's");
    BOOLEAN unexpected = FALSE;
    BOOLEAN opened = FALSE;
    BOOLEAN run = FALSE;

    if (b == NULL)
        return;
    Cosend5Enter(&b->Refs);
    if (Status == NDIS_STATUS_SUCCESS && NdisAfHandle == NULL) {
        Cosend5Violation(b, "open AF complete: success without an NdisAfHandle", 0);
        Status = NDIS_STATUS_FAILURE;
    }
    NdisAcquireSpinLock(&b->Lock);
    if (b->AfState != Cosend5AfOpening) {
        unexpected = TRUE;
    } else if (Status == NDIS_STATUS_SUCCESS) {
        b->AfHandle = NdisAfHandle;
        b->AfState = Cosend5AfOpen;
        opened = TRUE;
        if (!b->Unbinding && !b->Stop && !b->RunStarted) {
            run = TRUE;
            b->RunStarted = TRUE;
            b->WorkerActive = TRUE;
            NdisResetEvent(&b->WorkerIdleEvent); /* under the lock: unbind cannot miss it */
            Cosend5Enter(&b->Refs);              /* the worker's reference */
        }
    } else {
        b->AfState = Cosend5AfClosed;
    }
    b->AfStatus = Status;
    NdisReleaseSpinLock(&b->Lock);

    if (unexpected) {
        Cosend5Violation(b, "open AF complete without an open being made", (ULONG)Status);
    } else {
        if (!opened)
            DbgPrint("cosend5 %wZ: NdisClOpenAddressFamily(0x%lx) failed (0x%08lx)\n",
                     &b->Name, b->Family.AddressFamily, (ULONG)Status);
        if (run) {
            /* Scheduled once per binding; the routine frees nothing, the
             * item lives in the binding. */
            NdisInitializeWorkItem(&b->WorkItem, Cosend5Worker, b);
            if (NdisScheduleWorkItem(&b->WorkItem) != NDIS_STATUS_SUCCESS) {
                Cosend5Violation(b, "NdisScheduleWorkItem failed; no run", 0);
                NdisAcquireSpinLock(&b->Lock);
                b->WorkerActive = FALSE;
                NdisReleaseSpinLock(&b->Lock);
                NdisSetEvent(&b->WorkerIdleEvent);
                Cosend5Leave(&b->Refs);
            }
        }
        NdisSetEvent(&b->AfEvent);
    }
    Cosend5Leave(&b->Refs);
}

/* ProtocolClCloseAfComplete, IRQL <= DISPATCH_LEVEL; also called by
 * cosend5 when NdisClCloseAddressFamily did not pend. */
_Use_decl_annotations_
static VOID Cosend5ClCloseAfComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolAfContext)
{
    PCOSEND5_BINDING b = Cosend5BindingFromContext(ProtocolAfContext,
                                                   "close AF complete: a ProtocolAfContext "
                                                   "that is not cosend5's");
    BOOLEAN unexpected = FALSE;

    if (b == NULL)
        return;
    Cosend5Enter(&b->Refs);
    NdisAcquireSpinLock(&b->Lock);
    if (b->AfState != Cosend5AfClosing)
        unexpected = TRUE;
    else
        b->AfState = Status == NDIS_STATUS_SUCCESS ? Cosend5AfClosed : Cosend5AfOpen;
    b->AfStatus = Status;
    NdisReleaseSpinLock(&b->Lock);
    if (unexpected)
        Cosend5Violation(b, "close AF complete without a close being made", (ULONG)Status);
    else
        NdisSetEvent(&b->AfEvent);
    Cosend5Leave(&b->Refs);
}

/* ======================================================================
 * The control path of a run: NDIS_WORK_ITEM, PASSIVE_LEVEL
 * ====================================================================== */

/* Point to point, both directions, at least Cosend5Size bytes per SDU;
 * no call-manager- or media-specific parameters (Length 0). */
static VOID Cosend5InitCallParameters(PCOSEND5_VC Vc)
{
    FLOWSPEC flow;

    flow.TokenRate = QOS_NOT_SPECIFIED;
    flow.TokenBucketSize = QOS_NOT_SPECIFIED;
    flow.PeakBandwidth = QOS_NOT_SPECIFIED;
    flow.Latency = QOS_NOT_SPECIFIED;
    flow.DelayVariation = QOS_NOT_SPECIFIED;
    flow.ServiceType = SERVICETYPE_BESTEFFORT;
    flow.MaxSduSize = Vc->Size;
    flow.MinimumPolicedSize = QOS_NOT_SPECIFIED;

    NdisZeroMemory(&Vc->CallMgrParameters, sizeof(Vc->CallMgrParameters));
    Vc->CallMgrParameters.Transmit = flow;
    Vc->CallMgrParameters.Receive = flow;
    Vc->CallMgrParameters.CallMgrSpecific.ParamType = 0;
    Vc->CallMgrParameters.CallMgrSpecific.Length = 0;

    NdisZeroMemory(&Vc->MediaParameters, sizeof(Vc->MediaParameters));
    Vc->MediaParameters.Flags = TRANSMIT_VC | RECEIVE_VC;
    Vc->MediaParameters.ReceivePriority = 0;
    Vc->MediaParameters.ReceiveSizeHint = Vc->Size;
    Vc->MediaParameters.MediaSpecific.ParamType = 0;
    Vc->MediaParameters.MediaSpecific.Length = 0;

    NdisZeroMemory(&Vc->CallParameters, sizeof(Vc->CallParameters));
    Vc->CallParameters.Flags = 0;
    Vc->CallParameters.CallMgrParameters = &Vc->CallMgrParameters;
    Vc->CallParameters.MediaParameters = &Vc->MediaParameters;
}

static BOOLEAN Cosend5RunGoesOn(PCOSEND5_BINDING b)
{
    BOOLEAN stop;

    NdisAcquireSpinLock(&b->Lock);
    stop = b->Stop;
    NdisReleaseSpinLock(&b->Lock);
    return !stop;
}

/* Worker. Creates the VCs and makes a call on each; a pended make-call is
 * not waited for (its completion starts the sending). */
static VOID Cosend5StartCalls(PCOSEND5_BINDING b)
{
    NDIS_HANDLE afHandle;
    ULONG i;

    NdisAcquireSpinLock(&b->Lock);
    afHandle = b->AfHandle;
    NdisReleaseSpinLock(&b->Lock);

    for (i = 0; i < b->VcCount && Cosend5RunGoesOn(b); i++) {
        PCOSEND5_VC vc = b->Vcs[i];
        NDIS_HANDLE vcHandle = NULL; /* must be NULL on entry */
        NDIS_STATUS status;
        BOOLEAN call;

        /* Synchronous: the call manager knows the VC when this returns. */
        status = NdisCoCreateVc(b->BindingHandle, afHandle, vc, &vcHandle);
        if (status != NDIS_STATUS_SUCCESS) {
            DbgPrint("cosend5 %wZ: NdisCoCreateVc for VC %lu failed (0x%08lx); going on "
                     "with %lu VCs\n", &b->Name, i, (ULONG)status, i);
            break;
        }
        b->VcsCreated++;
        Cosend5InitCallParameters(vc);

        NdisAcquireSpinLock(&vc->Lock);
        vc->NdisVcHandle = vcHandle;
        vc->State = Cosend5VcCreated;
        call = !vc->Stop;
        if (call)
            vc->State = Cosend5VcCalling;
        NdisReleaseSpinLock(&vc->Lock);
        if (!call)
            continue; /* stopped meanwhile: teardown deletes it */

        status = NdisClMakeCall(vcHandle, &vc->CallParameters, NULL, NULL);
        if (status != NDIS_STATUS_PENDING)
            Cosend5ClMakeCallComplete(status, vc, NULL, &vc->CallParameters);
    }
}

/* Worker or unbind. Closes the call of a drained VC, after giving back the
 * received packets it still holds. */
static VOID Cosend5CloseCall(PCOSEND5_VC Vc)
{
    NDIS_STATUS status;

    NdisAcquireSpinLock(&Vc->Lock);
    if (Vc->State != Cosend5VcDrained) {
        NdisReleaseSpinLock(&Vc->Lock);
        return;
    }
    Vc->State = Cosend5VcClosing; /* from here the receive path keeps nothing */
    NdisReleaseSpinLock(&Vc->Lock);
    Cosend5ReturnKept(Vc);

    /* Every send is back (Drained says so), as NdisClCloseCall requires. */
    status = NdisClCloseCall(Vc->NdisVcHandle, NULL, NULL, 0);
    if (status != NDIS_STATUS_PENDING)
        Cosend5ClCloseCallComplete(status, Vc, NULL);
}

/* Worker or unbind. Deletes a VC that has no call. */
static VOID Cosend5DeleteVc(PCOSEND5_VC Vc)
{
    NDIS_STATUS status;

    NdisAcquireSpinLock(&Vc->Lock);
    if (Vc->State != Cosend5VcCreated && Vc->State != Cosend5VcCallDown) {
        NdisReleaseSpinLock(&Vc->Lock);
        return;
    }
    NdisReleaseSpinLock(&Vc->Lock);
    Cosend5ReturnKept(Vc); /* a failed make-call may leave none; cheap anyway */

    status = NdisCoDeleteVc(Vc->NdisVcHandle);

    NdisAcquireSpinLock(&Vc->Lock);
    if (status == NDIS_STATUS_SUCCESS) {
        Vc->State = Cosend5VcDeleted;
        Vc->NdisVcHandle = NULL;
    } else {
        Vc->State = Cosend5VcBroken;
    }
    NdisReleaseSpinLock(&Vc->Lock);
    if (status != NDIS_STATUS_SUCCESS)
        Cosend5Violation(Vc->Binding, "NdisCoDeleteVc failed", (ULONG)status);
}

/*
 * Worker or unbind, PASSIVE_LEVEL. Closes each drained call and deletes
 * each VC without a call as they come, until none is left. WorkEvent is
 * reset before the VCs are looked at, so no change is missed.
 */
static VOID Cosend5TearDown(PCOSEND5_BINDING b)
{
    for (;;) {
        ULONG waiting = 0;
        ULONG i;

        NdisResetEvent(&b->WorkEvent);
        for (i = 0; i < b->VcCount; i++) {
            PCOSEND5_VC vc = b->Vcs[i];
            COSEND5_VC_STATE state;

            Cosend5CloseCall(vc);
            Cosend5DeleteVc(vc);
            NdisAcquireSpinLock(&vc->Lock);
            state = vc->State;
            NdisReleaseSpinLock(&vc->Lock);
            if (state != Cosend5VcUnused && state != Cosend5VcDeleted &&
                state != Cosend5VcBroken)
                waiting++;
        }
        if (waiting == 0)
            return;
        NdisWaitEvent(&b->WorkEvent, 0);
    }
}

/* Worker or unbind, PASSIVE_LEVEL. Closes the family if open, waiting if
 * the close pends. */
static VOID Cosend5CloseAf(PCOSEND5_BINDING b)
{
    NDIS_HANDLE afHandle;
    NDIS_STATUS status;

    NdisAcquireSpinLock(&b->Lock);
    if (b->AfState != Cosend5AfOpen) {
        NdisReleaseSpinLock(&b->Lock);
        return;
    }
    b->AfState = Cosend5AfClosing;
    afHandle = b->AfHandle;
    NdisResetEvent(&b->AfEvent);
    NdisReleaseSpinLock(&b->Lock);

    status = NdisClCloseAddressFamily(afHandle);
    if (status != NDIS_STATUS_PENDING)
        Cosend5ClCloseAfComplete(status, b);
    NdisWaitEvent(&b->AfEvent, 0);

    NdisAcquireSpinLock(&b->Lock);
    status = b->AfStatus;
    if (b->AfState == Cosend5AfClosed)
        b->AfHandle = NULL;
    NdisReleaseSpinLock(&b->Lock);
    if (status != NDIS_STATUS_SUCCESS)
        Cosend5Violation(b, "NdisClCloseAddressFamily failed", (ULONG)status);
}

/*
 * The run's control path: NDIS_PROC, PASSIVE_LEVEL on a condis worker
 * thread, scheduled once per binding when the family is open. Sets up the
 * calls, then closes and deletes each VC as its sending ends, then closes
 * the family. The sending happens in the completion handlers.
 */
static VOID Cosend5Worker(PNDIS_WORK_ITEM WorkItem, PVOID Context)
{
    PCOSEND5_BINDING b = (PCOSEND5_BINDING)Context;

    UNREFERENCED_PARAMETER(WorkItem); /* lives in the binding */
    Cosend5StartCalls(b);
    Cosend5TearDown(b);
    Cosend5CloseAf(b);

    NdisAcquireSpinLock(&b->Lock);
    b->WorkerActive = FALSE;
    NdisReleaseSpinLock(&b->Lock);
    NdisSetEvent(&b->WorkerIdleEvent);
    Cosend5Leave(&b->Refs); /* last touch: unbind may free the binding now */
}

/* PASSIVE_LEVEL. Opens the offered family; the completion starts the run.
 * The client characteristics name every handler, used or not. */
static VOID Cosend5OpenAf(PCOSEND5_BINDING b)
{
    PNDIS_CLIENT_CHARACTERISTICS cc = &b->ClientChars;
    NDIS_HANDLE afHandle = NULL;
    NDIS_STATUS status;

    NdisZeroMemory(cc, sizeof(*cc));
    cc->MajorVersion = 5;
    cc->MinorVersion = 0;
    cc->ClCreateVcHandler = Cosend5CoCreateVc;
    cc->ClDeleteVcHandler = Cosend5CoDeleteVc;
    cc->ClRequestHandler = Cosend5CoRequest;
    cc->ClRequestCompleteHandler = Cosend5CoRequestComplete;
    cc->ClOpenAfCompleteHandler = Cosend5ClOpenAfComplete;
    cc->ClCloseAfCompleteHandler = Cosend5ClCloseAfComplete;
    cc->ClRegisterSapCompleteHandler = Cosend5ClRegisterSapComplete;
    cc->ClDeregisterSapCompleteHandler = Cosend5ClDeregisterSapComplete;
    cc->ClMakeCallCompleteHandler = Cosend5ClMakeCallComplete;
    cc->ClModifyCallQoSCompleteHandler = Cosend5ClModifyCallQoSComplete;
    cc->ClCloseCallCompleteHandler = Cosend5ClCloseCallComplete;
    cc->ClAddPartyCompleteHandler = Cosend5ClAddPartyComplete;
    cc->ClDropPartyCompleteHandler = Cosend5ClDropPartyComplete;
    cc->ClIncomingCallHandler = Cosend5ClIncomingCall;
    cc->ClIncomingCallQoSChangeHandler = Cosend5ClIncomingCallQoSChange;
    cc->ClIncomingCloseCallHandler = Cosend5ClIncomingCloseCall;
    cc->ClIncomingDropPartyHandler = Cosend5ClIncomingDropParty;
    cc->ClCallConnectedHandler = Cosend5ClCallConnected;

    status = NdisClOpenAddressFamily(b->BindingHandle, &b->Family, b, cc, sizeof(*cc),
                                     &afHandle);
    if (status != NDIS_STATUS_PENDING)
        Cosend5ClOpenAfComplete(status, b, afHandle);
}

/*
 * ProtocolCoAfRegisterNotify, PASSIVE_LEVEL: a call manager offers an
 * address family on this binding. cosend5 takes the first one (it needs
 * nothing from a family but calls that carry data); one run per binding.
 */
_Use_decl_annotations_
static VOID Cosend5CoAfRegisterNotify(NDIS_HANDLE ProtocolBindingContext,
                                      PCO_ADDRESS_FAMILY AddressFamily)
{
    PCOSEND5_BINDING b = Cosend5BindingFromContext(ProtocolBindingContext,
                                                   "AF register notify: a "
                                                   "ProtocolBindingContext that is not "
                                                   "cosend5's");
    BOOLEAN take;
    BOOLEAN ready = FALSE;

    if (b == NULL || AddressFamily == NULL)
        return;
    Cosend5Enter(&b->Refs);
    NdisAcquireSpinLock(&b->Lock);
    take = !b->Unbinding && !b->RunStarted && b->AfState == Cosend5AfClosed;
    if (take) {
        b->Family = *AddressFamily; /* the pointer is good only during this call */
        b->AfState = Cosend5AfOpening;
        NdisResetEvent(&b->AfEvent);
        ready = b->Ready;
        if (!ready)
            b->AfOfferedEarly = TRUE; /* bind opens it when it has finished */
    }
    NdisReleaseSpinLock(&b->Lock);
    if (!take)
        DbgPrint("cosend5 %wZ: address family 0x%lx offered; one is taken already\n",
                 &b->Name, AddressFamily->AddressFamily);
    else if (ready)
        Cosend5OpenAf(b);
    Cosend5Leave(&b->Refs);
}

/* ======================================================================
 * Binding and unbinding (PASSIVE_LEVEL)
 * ====================================================================== */

/* ProtocolOpenAdapterComplete, after a pended NdisOpenAdapter; it only
 * records the status and wakes bind, so any IRQL <= DISPATCH_LEVEL is fine. */
static VOID Cosend5OpenAdapterComplete(NDIS_HANDLE ProtocolBindingContext, NDIS_STATUS Status,
                                       NDIS_STATUS OpenErrorStatus)
{
    PCOSEND5_BINDING b = Cosend5BindingFromContext(ProtocolBindingContext,
                                                   "open adapter complete: a "
                                                   "ProtocolBindingContext that is not "
                                                   "cosend5's");

    UNREFERENCED_PARAMETER(OpenErrorStatus);
    if (b == NULL)
        return;
    Cosend5Enter(&b->Refs);
    b->OpStatus = Status;
    NdisSetEvent(&b->OpEvent);
    Cosend5Leave(&b->Refs);
}

/* ProtocolCloseAdapterComplete, after a pended NdisCloseAdapter. */
static VOID Cosend5CloseAdapterComplete(NDIS_HANDLE ProtocolBindingContext, NDIS_STATUS Status)
{
    PCOSEND5_BINDING b = Cosend5BindingFromContext(ProtocolBindingContext,
                                                   "close adapter complete: a "
                                                   "ProtocolBindingContext that is not "
                                                   "cosend5's");

    if (b == NULL)
        return;
    Cosend5Enter(&b->Refs);
    b->OpStatus = Status;
    NdisSetEvent(&b->OpEvent);
    Cosend5Leave(&b->Refs);
}

/* PASSIVE_LEVEL. Waits until no handler is inside the binding or a VC. */
static VOID Cosend5WaitForHandlers(PCOSEND5_BINDING b)
{
    ULONG i;

    for (i = 0; i < b->VcCount; i++) {
        while (b->Vcs[i] != NULL && Cosend5Read(&b->Vcs[i]->Refs) != 0)
            NdisMSleep(COSEND5_POLL_US);
    }
    while (Cosend5Read(&b->Refs) != 0)
        NdisMSleep(COSEND5_POLL_US);
}

static VOID Cosend5FreeBinding(PCOSEND5_BINDING b)
{
    NdisFreeSpinLock(&b->Lock);
    b->Signature = 0;
    NdisFreeMemory(b, b->Bytes, 0);
}

/* PASSIVE_LEVEL. Closes the adapter, waiting if the close pends. */
static VOID Cosend5CloseAdapter(PCOSEND5_BINDING b)
{
    NDIS_STATUS status;

    NdisResetEvent(&b->OpEvent);
    NdisCloseAdapter(&status, b->BindingHandle);
    if (status == NDIS_STATUS_PENDING) {
        NdisWaitEvent(&b->OpEvent, 0);
        status = b->OpStatus;
    }
    if (status != NDIS_STATUS_SUCCESS)
        Cosend5Violation(b, "NdisCloseAdapter failed", (ULONG)status);
    b->BindingHandle = NULL;
}

/* PASSIVE_LEVEL, at unbind: the binding's one summary line. */
static VOID Cosend5Report(PCOSEND5_BINDING b)
{
    ULONGLONG sent = 0, completed = 0, received = 0, repaired = 0, kept = 0, failed = 0;
    ULONG i;

    for (i = 0; i < b->VcCount; i++) {
        PCOSEND5_VC vc = b->Vcs[i];

        if (vc == NULL)
            continue;
        NdisAcquireSpinLock(&vc->Lock);
        sent += vc->Sent;
        completed += vc->Completed;
        repaired += vc->Repaired;
        kept += vc->KeptTotal;
        failed += Cosend5FailureTotal(&vc->Failures);
        NdisReleaseSpinLock(&vc->Lock);
        received += (ULONGLONG)InterlockedExchangeAdd64(&vc->Received, 0);
    }
    DbgPrint("cosend5 %wZ: VCs %lu, sent %I64u, completed %I64u, failed %I64u, received "
             "%I64u (kept %I64u), repaired %I64u, violations %lu (count %lu size %lu window "
             "%lu chain %lu)\n",
             &b->Name, b->VcsCreated, sent, completed, failed, received, kept, repaired,
             Cosend5Read(&b->Violations), b->Count, b->Size, b->Window, b->Chain);
}

/*
 * ProtocolBindAdapter, PASSIVE_LEVEL. Reads the parameters, allocates
 * everything the run needs, then opens the adapter, waiting if the open
 * pends (simpler than pending the bind and calling NdisCompleteBindAdapter).
 * *Status is never PENDING.
 */
static VOID Cosend5BindAdapter(PNDIS_STATUS Status, NDIS_HANDLE BindContext,
                               PNDIS_STRING DeviceName, PVOID SystemSpecific1,
                               PVOID SystemSpecific2)
{
    COSEND5_PARAMETERS p;
    PCOSEND5_BINDING b = NULL;
    ULONG bytes;
    NDIS_STATUS status;
    NDIS_STATUS openError = NDIS_STATUS_SUCCESS;
    BOOLEAN early;

    UNREFERENCED_PARAMETER(BindContext);
    UNREFERENCED_PARAMETER(SystemSpecific2);

    Cosend5ReadParameters(SystemSpecific1, &p);
    bytes = (ULONG)FIELD_OFFSET(COSEND5_BINDING, Vcs) + p.Vcs * (ULONG)sizeof(PCOSEND5_VC);
    if (NdisAllocateMemoryWithTag((PVOID *)&b, bytes, COSEND5_TAG_BINDING) !=
            NDIS_STATUS_SUCCESS ||
        b == NULL) {
        *Status = NDIS_STATUS_RESOURCES;
        return;
    }
    NdisZeroMemory(b, bytes);
    b->Signature = COSEND5_BINDING_SIGNATURE;
    b->Bytes = bytes;
    b->VcCount = p.Vcs;
    b->Count = p.Count;
    b->Size = p.Size;
    b->Window = p.Window;
    b->Chain = p.Chain;
    b->KeepReceives = p.KeepReceives != 0;
    b->AfState = Cosend5AfClosed;
    NdisAllocateSpinLock(&b->Lock);
    NdisInitializeEvent(&b->OpEvent);
    NdisInitializeEvent(&b->AfEvent);
    NdisInitializeEvent(&b->WorkEvent);
    NdisInitializeEvent(&b->WorkerIdleEvent);
    NdisSetEvent(&b->WorkerIdleEvent); /* no worker yet */

    b->Name.Buffer = b->NameBuffer;
    b->Name.MaximumLength = (USHORT)sizeof(b->NameBuffer);
    b->Name.Length = 0;
    if (DeviceName != NULL && DeviceName->Buffer != NULL) {
        b->Name.Length = (USHORT)MIN(DeviceName->Length, (USHORT)sizeof(b->NameBuffer));
        NdisMoveMemory(b->NameBuffer, DeviceName->Buffer, b->Name.Length);
    }

    status = Cosend5AllocateResources(b);
    if (status != NDIS_STATUS_SUCCESS) {
        DbgPrint("cosend5 %wZ: not enough memory for %lu VCs of %lu packets of %lu bytes\n",
                 &b->Name, b->VcCount, b->Window, b->Size);
        Cosend5FreeBinding(b);
        *Status = status;
        return;
    }

    b->MediumArray[0] = NdisMediumCoWan;
    NdisResetEvent(&b->OpEvent);
    NdisOpenAdapter(&status, &openError, &b->BindingHandle, &b->SelectedMediumIndex,
                    b->MediumArray, RTL_NUMBER_OF(b->MediumArray), g_ProtocolHandle, b,
                    DeviceName, 0, NULL);
    if (status == NDIS_STATUS_PENDING) {
        NdisWaitEvent(&b->OpEvent, 0);
        status = b->OpStatus;
    }
    if (status != NDIS_STATUS_SUCCESS) {
        if (status != NDIS_STATUS_UNSUPPORTED_MEDIA) /* not a CoNDIS adapter: not ours */
            DbgPrint("cosend5 %wZ: NdisOpenAdapter failed (0x%08lx, 0x%08lx)\n", &b->Name,
                     (ULONG)status, (ULONG)openError);
        Cosend5WaitForHandlers(b);
        Cosend5FreeResources(b);
        Cosend5FreeBinding(b);
        *Status = status;
        return;
    }

    NdisAcquireSpinLock(&b->Lock);
    b->Ready = TRUE;
    early = b->AfOfferedEarly;
    b->AfOfferedEarly = FALSE;
    NdisReleaseSpinLock(&b->Lock);
    if (early)
        Cosend5OpenAf(b);

    DbgPrint("cosend5 bound to %wZ: %lu VCs, count %lu, size %lu, window %lu, chain %lu%s\n",
             &b->Name, b->VcCount, b->Count, b->Size, b->Window, b->Chain,
             b->KeepReceives ? ", keeping receives" : "");
    *Status = NDIS_STATUS_SUCCESS;
}

/*
 * ProtocolUnbindAdapter, PASSIVE_LEVEL. Stops the run and waits for the
 * worker (which closes calls, deletes VCs and closes the family), closes
 * whatever is still open, reports, frees the send resources - every packet
 * is back by now - closes the adapter and frees the binding last.
 * *Status is never PENDING.
 */
static VOID Cosend5UnbindAdapter(PNDIS_STATUS Status, NDIS_HANDLE ProtocolBindingContext,
                                 NDIS_HANDLE UnbindContext)
{
    PCOSEND5_BINDING b = Cosend5BindingFromContext(ProtocolBindingContext,
                                                   "unbind: a ProtocolBindingContext that is "
                                                   "not cosend5's");
    BOOLEAN opening;

    UNREFERENCED_PARAMETER(UnbindContext);
    *Status = NDIS_STATUS_SUCCESS;
    if (b == NULL)
        return;

    NdisAcquireSpinLock(&b->Lock);
    b->Unbinding = TRUE;
    b->Stop = TRUE;
    opening = b->AfState == Cosend5AfOpening;
    NdisReleaseSpinLock(&b->Lock);
    Cosend5StopAll(b);

    if (opening)
        NdisWaitEvent(&b->AfEvent, 0);
    NdisWaitEvent(&b->WorkerIdleEvent, 0);

    Cosend5TearDown(b);
    Cosend5CloseAf(b);
    /* Normally nothing is kept by now; a VC left Broken may still hold some. */
    for (ULONG i = 0; i < b->VcCount; i++)
        Cosend5ReturnKept(b->Vcs[i]);

    Cosend5Report(b);
    Cosend5WaitForHandlers(b);
    Cosend5FreeResources(b);
    Cosend5CloseAdapter(b);
    Cosend5WaitForHandlers(b); /* a pended close's completion on its way out */
    Cosend5FreeBinding(b);
}

/* ProtocolPnPEvent, PASSIVE_LEVEL. Nothing in a 5.x PnP or power event
 * needs anything from cosend5. */
static NDIS_STATUS Cosend5PnPEvent(NDIS_HANDLE ProtocolBindingContext,
                                   PNET_PNP_EVENT NetPnPEvent)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(NetPnPEvent);
    return NDIS_STATUS_SUCCESS;
}

/* ProtocolUnload, PASSIVE_LEVEL. Deregistration is DriverUnload's job;
 * nothing is left to do here. */
static VOID Cosend5UnloadProtocol(VOID)
{
}

/* ======================================================================
 * Handlers for what cosend5 never asks for (IRQL <= DISPATCH_LEVEL).
 * NDIS 5.x wants them registered; being called is harmless or a broken
 * invariant, as each says.
 * ====================================================================== */

static VOID Cosend5SendComplete(NDIS_HANDLE ProtocolBindingContext, PNDIS_PACKET Packet,
                                NDIS_STATUS Status)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(Status);
    Cosend5Violation(NULL, "connectionless send complete, but cosend5 sends only on VCs",
                     (ULONG_PTR)Packet);
}

static VOID Cosend5TransferDataComplete(NDIS_HANDLE ProtocolBindingContext, PNDIS_PACKET Packet,
                                        NDIS_STATUS Status, UINT BytesTransferred)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(Status);
    UNREFERENCED_PARAMETER(BytesTransferred);
    Cosend5Violation(NULL, "transfer data complete, but cosend5 asked for none",
                     (ULONG_PTR)Packet);
}

static VOID Cosend5ResetComplete(NDIS_HANDLE ProtocolBindingContext, NDIS_STATUS Status)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(Status);
}

static VOID Cosend5RequestComplete(NDIS_HANDLE ProtocolBindingContext, PNDIS_REQUEST NdisRequest,
                                   NDIS_STATUS Status)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(NdisRequest);
    Cosend5Violation(NULL, "request complete, but cosend5 made none", (ULONG)Status);
}

/* Connectionless lookahead receive: not for cosend5. */
static NDIS_STATUS Cosend5Receive(NDIS_HANDLE ProtocolBindingContext,
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

/* Follows NdisMCoReceiveComplete too; cosend5 queues nothing to process. */
static VOID Cosend5ReceiveComplete(NDIS_HANDLE ProtocolBindingContext)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
}

static VOID Cosend5Status(NDIS_HANDLE ProtocolBindingContext, NDIS_STATUS GeneralStatus,
                          PVOID StatusBuffer, UINT StatusBufferSize)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(GeneralStatus);
    UNREFERENCED_PARAMETER(StatusBuffer);
    UNREFERENCED_PARAMETER(StatusBufferSize);
}

static VOID Cosend5StatusComplete(NDIS_HANDLE ProtocolBindingContext)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
}

/* Connectionless packet receive: done with it on return. */
static INT Cosend5ReceivePacket(NDIS_HANDLE ProtocolBindingContext, PNDIS_PACKET Packet)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(Packet);
    return 0;
}

static VOID Cosend5CoStatus(NDIS_HANDLE ProtocolBindingContext, NDIS_HANDLE ProtocolVcContext,
                            NDIS_STATUS GeneralStatus, PVOID StatusBuffer,
                            UINT StatusBufferSize)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(GeneralStatus);
    UNREFERENCED_PARAMETER(StatusBuffer);
    UNREFERENCED_PARAMETER(StatusBufferSize);
}

/* A call manager creating a VC for an incoming call: cosend5 registered no
 * SAP and takes no calls. */
_Use_decl_annotations_
static NDIS_STATUS Cosend5CoCreateVc(NDIS_HANDLE ProtocolAfContext, NDIS_HANDLE NdisVcHandle,
                                     PNDIS_HANDLE ProtocolVcContext)
{
    UNREFERENCED_PARAMETER(ProtocolAfContext);
    UNREFERENCED_PARAMETER(NdisVcHandle);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    return NDIS_STATUS_NOT_SUPPORTED;
}

_Use_decl_annotations_
static NDIS_STATUS Cosend5CoDeleteVc(NDIS_HANDLE ProtocolVcContext)
{
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    return NDIS_STATUS_NOT_SUPPORTED;
}

static NDIS_STATUS Cosend5CoRequest(NDIS_HANDLE ProtocolAfContext, NDIS_HANDLE ProtocolVcContext,
                                    NDIS_HANDLE ProtocolPartyContext, PNDIS_REQUEST NdisRequest)
{
    UNREFERENCED_PARAMETER(ProtocolAfContext);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    UNREFERENCED_PARAMETER(NdisRequest);
    return NDIS_STATUS_NOT_SUPPORTED;
}

static VOID Cosend5CoRequestComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolAfContext,
                                     NDIS_HANDLE ProtocolVcContext,
                                     NDIS_HANDLE ProtocolPartyContext, PNDIS_REQUEST NdisRequest)
{
    UNREFERENCED_PARAMETER(ProtocolAfContext);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    UNREFERENCED_PARAMETER(NdisRequest);
    Cosend5Violation(NULL, "CoNDIS request complete, but cosend5 made none", (ULONG)Status);
}

_Use_decl_annotations_
static VOID Cosend5ClRegisterSapComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolSapContext,
                                         PCO_SAP Sap, NDIS_HANDLE NdisSapHandle)
{
    UNREFERENCED_PARAMETER(ProtocolSapContext);
    UNREFERENCED_PARAMETER(Sap);
    UNREFERENCED_PARAMETER(NdisSapHandle);
    Cosend5Violation(NULL, "register SAP complete, but cosend5 registered none",
                     (ULONG)Status);
}

_Use_decl_annotations_
static VOID Cosend5ClDeregisterSapComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolSapContext)
{
    UNREFERENCED_PARAMETER(ProtocolSapContext);
    Cosend5Violation(NULL, "deregister SAP complete, but cosend5 registered none",
                     (ULONG)Status);
}

_Use_decl_annotations_
static VOID Cosend5ClModifyCallQoSComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolVcContext,
                                           PCO_CALL_PARAMETERS CallParameters)
{
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(CallParameters);
    Cosend5Violation(NULL, "modify call QoS complete, but cosend5 asked for none",
                     (ULONG)Status);
}

_Use_decl_annotations_
static VOID Cosend5ClAddPartyComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolPartyContext,
                                      NDIS_HANDLE NdisPartyHandle,
                                      PCO_CALL_PARAMETERS CallParameters)
{
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    UNREFERENCED_PARAMETER(NdisPartyHandle);
    UNREFERENCED_PARAMETER(CallParameters);
    Cosend5Violation(NULL, "add party complete, but cosend5 added none", (ULONG)Status);
}

_Use_decl_annotations_
static VOID Cosend5ClDropPartyComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolPartyContext)
{
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    Cosend5Violation(NULL, "drop party complete, but cosend5 has no parties", (ULONG)Status);
}

_Use_decl_annotations_
static NDIS_STATUS Cosend5ClIncomingCall(NDIS_HANDLE ProtocolSapContext,
                                         NDIS_HANDLE ProtocolVcContext,
                                         PCO_CALL_PARAMETERS CallParameters)
{
    UNREFERENCED_PARAMETER(ProtocolSapContext);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(CallParameters);
    Cosend5Violation(NULL, "incoming call, but cosend5 registered no SAP", 0);
    return NDIS_STATUS_NOT_SUPPORTED;
}

/* Whatever QoS the far end settles on carries this traffic. */
_Use_decl_annotations_
static VOID Cosend5ClIncomingCallQoSChange(NDIS_HANDLE ProtocolVcContext,
                                           PCO_CALL_PARAMETERS CallParameters)
{
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(CallParameters);
}

_Use_decl_annotations_
static VOID Cosend5ClIncomingDropParty(NDIS_STATUS DropStatus, NDIS_HANDLE ProtocolPartyContext,
                                       PVOID CloseData, UINT Size)
{
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    UNREFERENCED_PARAMETER(CloseData);
    UNREFERENCED_PARAMETER(Size);
    Cosend5Violation(NULL, "incoming drop party, but cosend5 has no parties",
                     (ULONG)DropStatus);
}

_Use_decl_annotations_
static VOID Cosend5ClCallConnected(NDIS_HANDLE ProtocolVcContext)
{
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    Cosend5Violation(NULL, "call connected, but cosend5 accepts no incoming calls", 0);
}

/* ======================================================================
 * Registration (PASSIVE_LEVEL)
 * ====================================================================== */

/*
 * DriverUnload, PASSIVE_LEVEL. NdisDeregisterProtocol unbinds every binding
 * still open (each through ProtocolUnbindAdapter) before it returns; no
 * handler of cosend5 runs after it.
 */
_Use_decl_annotations_
static VOID Cosend5Unload(PDRIVER_OBJECT DriverObject)
{
    NDIS_STATUS status;

    UNREFERENCED_PARAMETER(DriverObject);
    if (g_ProtocolHandle != NULL) {
        NdisDeregisterProtocol(&status, g_ProtocolHandle);
        if (status != NDIS_STATUS_SUCCESS)
            DbgPrint("cosend5: NdisDeregisterProtocol failed (0x%08lx)\n", (ULONG)status);
        g_ProtocolHandle = NULL;
    }
}

/*
 * DriverEntry, PASSIVE_LEVEL: registers an NDIS 5.1 protocol with the 5.0
 * characteristics structure (there is no 5.1 one). NDIS copies the
 * structure and may start binding as soon as NdisRegisterProtocol returns.
 */
_Use_decl_annotations_
NTSTATUS Cosend5DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NDIS50_PROTOCOL_CHARACTERISTICS pc;
    NDIS_STRING name = NDIS_STRING_CONST("cosend5");
    NDIS_STATUS status;

    UNREFERENCED_PARAMETER(RegistryPath);
    InterlockedExchange(&g_Errors, 0);

    NdisZeroMemory(&pc, sizeof(pc));
    pc.MajorNdisVersion = NDIS_PROTOCOL_MAJOR_VERSION; /* 5, from NDIS51 */
    pc.MinorNdisVersion = NDIS_PROTOCOL_MINOR_VERSION; /* 1 */
    pc.Reserved = 0;
    pc.OpenAdapterCompleteHandler = Cosend5OpenAdapterComplete;
    pc.CloseAdapterCompleteHandler = Cosend5CloseAdapterComplete;
    pc.SendCompleteHandler = Cosend5SendComplete;
    pc.TransferDataCompleteHandler = Cosend5TransferDataComplete;
    pc.ResetCompleteHandler = Cosend5ResetComplete;
    pc.RequestCompleteHandler = Cosend5RequestComplete;
    pc.ReceiveHandler = Cosend5Receive;
    pc.ReceiveCompleteHandler = Cosend5ReceiveComplete;
    pc.StatusHandler = Cosend5Status;
    pc.StatusCompleteHandler = Cosend5StatusComplete;
    pc.Name = name;
    pc.ReceivePacketHandler = Cosend5ReceivePacket;
    pc.BindAdapterHandler = Cosend5BindAdapter;
    pc.UnbindAdapterHandler = Cosend5UnbindAdapter;
    pc.PnPEventHandler = Cosend5PnPEvent;
    pc.UnloadHandler = Cosend5UnloadProtocol;
    pc.CoSendCompleteHandler = Cosend5CoSendComplete;
    pc.CoStatusHandler = Cosend5CoStatus;
    pc.CoReceivePacketHandler = Cosend5CoReceivePacket;
    pc.CoAfRegisterNotifyHandler = Cosend5CoAfRegisterNotify;

    NdisRegisterProtocol(&status, &g_ProtocolHandle, &pc, sizeof(pc));
    if (status != NDIS_STATUS_SUCCESS) {
        DbgPrint("cosend5: NdisRegisterProtocol failed (0x%08lx)\n", (ULONG)status);
        g_ProtocolHandle = NULL;
        return (NTSTATUS)status;
    }
    DriverObject->DriverUnload = Cosend5Unload;
    return STATUS_SUCCESS;
}
