/*
 * coclient.c - a minimal, complete CoNDIS 6 client protocol driver.
 *
 * Build it as a shared object that condis loads (from the top of the tree):
 *
 *   gcc -std=c11 -Wall -Wextra -Wno-multichar -I include -shared -fPIC examples/coclient.c -o coclient.so
 *
 * (clang takes the same line.) The file uses nothing but <ndis.h>, the way a
 * Windows driver uses the WDK, so the same source is a template for a real
 * CoNDIS client.
 *
 * What it does, per binding to a connection-oriented adapter:
 *
 *   DriverEntry            NdisRegisterProtocolDriver; ProtocolSetOptions adds
 *                          the CoNDIS protocol and client handler sets.
 *   ProtocolBindAdapterEx  NdisOpenAdapterEx (NdisMediumCoWan), waiting for
 *                          ProtocolOpenAdapterCompleteEx if it pends; reads the
 *                          parameters; allocates an NBL pool, data buffers and
 *                          MDLs: one NBL per send slot of the window.
 *   ProtocolCoAfRegisterNotify
 *                          claims the offered address family and queues an
 *                          NDIS I/O work item; all the call setup runs there,
 *                          at PASSIVE_LEVEL, where waiting is allowed.
 *   work item              NdisClOpenAddressFamilyEx -> NdisCoCreateVc ->
 *                          NdisClMakeCall -> send CoclientCount NBLs, at most
 *                          CoclientWindow in flight -> NdisClCloseCall ->
 *                          NdisCoDeleteVc -> NdisClCloseAddressFamily. Every
 *                          step that may pend is handled the same way: when
 *                          the call returns anything but NDIS_STATUS_PENDING
 *                          the client runs its own completion handler itself,
 *                          then it waits for the event that handler sets.
 *   ProtocolCoSendNetBufferListsComplete
 *                          takes each NBL back, checks it, and reuses it for
 *                          the next sequence number (it is never freed while
 *                          the run lasts).
 *   ProtocolCoReceiveNetBufferLists
 *                          checks the sequence number and payload of what the
 *                          miniport indicates (a loopback miniport echoes the
 *                          sends) and returns the NBLs unless
 *                          NDIS_RECEIVE_FLAGS_RESOURCES says it must not.
 *   ProtocolUnbindAdapterEx
 *                          stops the run, closes whatever is still open, frees
 *                          the send resources, NdisCloseAdapterEx.
 *
 * Parameters (read with NdisOpenConfigurationEx on the binding):
 *   CoclientCount   NBLs to send            (default 1000)
 *   CoclientSize    bytes per NBL           (default 256, at least 4)
 *   CoclientWindow  NBLs in flight at most  (default 32)
 *
 * Test-only knobs: planted bugs. They exist so that `condis run --verify`
 * can be shown to catch a protocol that breaks one rule (ids as in condis'
 * RULES.md); with CoclientBug unset the client behaves exactly as described
 * above. Everything they do is in the "Planted bugs" section below, each bug
 * in its own function marked PLANTED BUG.
 *   CoclientBug=ID      break rule ID (a string):
 *     OWN-1   write a byte of the data of an NBL just sent, while in flight
 *     OWN-2   read NET_BUFFER_LIST_STATUS right after sending, take its value
 *             (not PENDING) for the result and free the NBL (condis refuses
 *             the free, so the verifier also reports OWN-3)
 *     OWN-3   the worker thread frees an NBL another thread sent, in flight
 *     NBL-1   send an NBL whose SourceHandle is NULL
 *     NBL-2   send a NET_BUFFER_LIST the client made itself (heap memory)
 *     NBL-4   send an extra NBL whose DataLength runs past its MDL
 *     VC-1    send an extra NBL on the VC after its call was closed
 *     VC-2    stop sending and NdisClCloseCall with NBLs still in flight
 *     VC-3    NdisCoDeleteVc on the VC while its call is up
 *     VC-4    send an extra NBL on the VC handle after NdisCoDeleteVc
 *     IRQL-1  send an extra NBL with NDIS_SEND_FLAGS_DISPATCH_LEVEL from
 *             the worker, at PASSIVE_LEVEL
 *     IRQL-2  NdisMSleep in the send-complete handler at DISPATCH_LEVEL
 *     IRQL-3  return from the send-complete handler holding a spin lock
 *             (released again in a later call of the handler)
 *     RES-1   leave a memory block allocated at bind unfreed at unload
 *     RES-2   NdisFreeNetBufferListPool once the run has drained, with the
 *             pool's NBLs still allocated (the pool is freed again at unbind)
 *   CoclientBugEvery=K  plant the bug again every K NBLs sent (default 0:
 *                       once). The first time is once CoclientWindow + 8
 *                       NBLs have been sent (sooner if CoclientCount is
 *                       smaller). VC-1, VC-2, VC-4, RES-1 and RES-2 can
 *                       only happen once per run.
 * An ID the client does not know is reported with DbgPrint and fails the
 * bind (NDIS_STATUS_FAILURE), so a typo cannot pass for a clean run. The
 * bugs that act on an NBL in flight (OWN-1, OWN-2, OWN-3) check under the
 * binding lock that the NBL has not come back yet, but it can still complete
 * in the moment before the bug acts; run them over a miniport that completes
 * later (sim with SimLatencyUs, as condis' tests do). Whatever condis
 * refuses or repairs, the client carries on and ends its run in order.
 *
 * Each payload starts with a 32-bit little-endian sequence number; byte i >= 4
 * holds (UCHAR)(sequence + i), so a receiver can tell a damaged packet from a
 * reordered or repeated one.
 *
 * For a test harness the .so exports, besides DriverEntry:
 *   ULONG CoclientDone(void)    1 once every VC the client created has been
 *                               deleted again (and at least one was created).
 *   ULONG CoclientErrors(void)  how many broken invariants the client saw:
 *                               an NBL completed twice, never sent, or on the
 *                               wrong VC; a final status of PENDING; a
 *                               NET_BUFFER changed by the layers below; a
 *                               ..._DISPATCH_LEVEL flag set below
 *                               DISPATCH_LEVEL; damaged or repeated received
 *                               data; a completion for an operation it never
 *                               started; a teardown step that failed.
 *
 * Locking: one NDIS spin lock per binding guards the run's state, counters and
 * free list. It is never held across an NDIS call that can call back into
 * this driver (sends, returns, the NdisCl and NdisCo operations): a miniport
 * may complete a send inside NdisCoSendNetBufferLists, a loopback may indicate
 * a receive inside it, and either handler takes the same lock. Only event
 * and debug-print calls are made with it held.
 */

/* A CoNDIS 6.0 client: the oldest NDIS 6 interface is enough. */
#define NDIS60 1
#include <ndis.h>

/* ---- constants ----------------------------------------------------------- */

/* Pool tag: shows up as "Cocl" in a pool or leak report. */
#define COCLIENT_TAG 'lcoC'

#define COCLIENT_DEFAULT_COUNT 1000
#define COCLIENT_DEFAULT_SIZE 256
#define COCLIENT_DEFAULT_WINDOW 32

#define COCLIENT_MAX_COUNT 0x01000000 /* keeps the seen-bitmap at 2 MB at most */
#define COCLIENT_MIN_SIZE 4           /* room for the sequence number */
#define COCLIENT_MAX_SIZE 65536
#define COCLIENT_MAX_WINDOW 1024

/* Signatures let every handler check that a context NDIS hands back is ours. */
#define COCLIENT_BINDING_SIGNATURE 0x444E4942 /* "BIND" */
#define COCLIENT_AF_SIGNATURE 0x46414C43      /* "CLAF" */
#define COCLIENT_VC_SIGNATURE 0x43564C43      /* "CLVC" */
#define COCLIENT_SLOT_SIGNATURE 0x544F4C53    /* "SLOT" */

/* The rule a planted bug breaks (CoclientBug); test only, see the header. */
typedef enum _COCLIENT_BUG {
    CoclientBugNone,
    CoclientBugOwn1,
    CoclientBugOwn2,
    CoclientBugOwn3,
    CoclientBugNbl1,
    CoclientBugNbl2,
    CoclientBugNbl4,
    CoclientBugVc1,
    CoclientBugVc2,
    CoclientBugVc3,
    CoclientBugVc4,
    CoclientBugIrql1,
    CoclientBugIrql2,
    CoclientBugIrql3,
    CoclientBugRes1,
    CoclientBugRes2
} COCLIENT_BUG;

/* ---- per-binding state -------------------------------------------------- */

typedef enum _COCLIENT_AF_STATE {
    CoclientAfClosed,  /* no AF; a new offer may be taken */
    CoclientAfOpening, /* an offer was taken; the open is queued or pending */
    CoclientAfOpen,    /* NdisAfHandle is valid */
    CoclientAfClosing  /* NdisClCloseAddressFamily is under way */
} COCLIENT_AF_STATE;

typedef enum _COCLIENT_VC_STATE {
    CoclientVcNone,    /* no VC */
    CoclientVcCreated, /* NdisCoCreateVc succeeded, no call on it */
    CoclientVcCalling, /* NdisClMakeCall is under way */
    CoclientVcActive,  /* the call is up: sends are allowed */
    CoclientVcClosing, /* NdisClCloseCall is under way */
    CoclientVcClosed   /* the call is down; the VC still has to be deleted */
} COCLIENT_VC_STATE;

struct _COCLIENT_BINDING;

/*
 * One send slot: an NBL with its NET_BUFFER, MDL and data buffer, allocated
 * at bind and reused for every send until unbind. The slot pointer is kept in
 * NET_BUFFER_LIST_PROTOCOL_RESERVED(nbl)[0]: ProtocolReserved belongs to the
 * protocol that allocated the NBL, so nobody below may touch it.
 */
typedef struct _COCLIENT_SLOT {
    ULONG Signature;
    struct _COCLIENT_BINDING *Binding;
    struct _COCLIENT_SLOT *NextFree; /* free-list link; batch link while sending */
    PNET_BUFFER_LIST Nbl;
    PMDL Mdl;
    PUCHAR Buffer;
    ULONG Seq;        /* sequence number stamped for the current send */
    BOOLEAN InFlight; /* TRUE from the send until its completion */
} COCLIENT_SLOT, *PCOCLIENT_SLOT;

/* The per-AF context (ProtocolAfContext / ClientAfContext). */
typedef struct _COCLIENT_AF {
    ULONG Signature;
    struct _COCLIENT_BINDING *Binding;
    COCLIENT_AF_STATE State;
    NDIS_HANDLE NdisAfHandle;
    CO_ADDRESS_FAMILY Family; /* copy of what the call manager offered */
    NDIS_STATUS Status;       /* result of the last open or close */
    BOOLEAN CloseRequested;   /* ProtocolClNotifyCloseAf returned PENDING */
} COCLIENT_AF, *PCOCLIENT_AF;

/* The per-VC context (ProtocolVcContext). */
typedef struct _COCLIENT_VC {
    ULONG Signature;
    struct _COCLIENT_BINDING *Binding;
    COCLIENT_VC_STATE State;
    NDIS_HANDLE NdisVcHandle;
    NDIS_STATUS CallStatus; /* result of the last make or close call */

    /*
     * The call parameters belong to the client but are lent to the call
     * manager, which may rewrite them, until the make-call completes; they
     * live here so they outlast NdisClMakeCall returning PENDING.
     * CallMgrSpecific and MediaSpecific are empty (Length 0), so the
     * one-byte Parameters arrays of the structures are room enough.
     */
    CO_CALL_PARAMETERS CallParameters;
    CO_CALL_MANAGER_PARAMETERS CallMgrParameters;
    CO_MEDIA_PARAMETERS MediaParameters;

    /* Send side of the current run. */
    ULONG Sent;         /* NBLs handed to NdisCoSendNetBufferLists */
    ULONG Completed;    /* NBLs given back by the completion handler */
    ULONG Failed;       /* of those, with a status other than SUCCESS */
    ULONG Inflight;     /* Sent - Completed */
    ULONG MaxInflight;  /* high-water mark of Inflight */
    ULONG FlagOmitted;  /* NBLs completed at DISPATCH_LEVEL without the flag */

    /* Receive side of the current run. */
    ULONG Received;
    ULONG OutOfOrder;   /* sequence number other than the one expected next */
    ULONG Duplicates;   /* sequence number already received */
    ULONG BadData;      /* wrong length, damaged payload, unknown number */
    ULONG NextExpected;

    BOOLEAN PeerClosed; /* ProtocolClIncomingCloseCall arrived */
    NDIS_STATUS PeerCloseStatus;
} COCLIENT_VC, *PCOCLIENT_VC;

/*
 * The per-binding context (ProtocolBindingContext). It owns the AF and VC
 * contexts (one of each: this client makes one call per binding) and every
 * resource of the binding.
 */
typedef struct _COCLIENT_BINDING {
    ULONG Signature;
    NDIS_HANDLE BindingHandle;
    NDIS_SPIN_LOCK Lock;

    /*
     * Set by whichever completion handler finishes the one operation the
     * worker (or bind/unbind) is waiting for. Operations on a binding are
     * issued one at a time, so one event serves them all.
     */
    NDIS_EVENT OpEvent;
    NDIS_STATUS OpStatus;     /* open/close adapter result */

    NDIS_EVENT DrainedEvent;  /* the run sends no more and nothing is in flight */
    NDIS_EVENT IdleEvent;     /* nothing in flight (set/reset under Lock) */
    NDIS_EVENT WorkerIdleEvent; /* no work item queued or running */

    /* NdisOpenAdapterEx reads these until the open completes. */
    NDIS_OPEN_PARAMETERS OpenParameters;
    NDIS_MEDIUM MediumArray[1];
    UINT SelectedMediumIndex;

    /* Parameters of the run. */
    ULONG Count;
    ULONG Size;
    ULONG Window;

    /* Send resources, allocated at bind, freed at unbind. */
    NDIS_HANDLE NblPool;
    PCOCLIENT_SLOT Slots;
    ULONG SlotCount;
    PCOCLIENT_SLOT FreeList;
    PUCHAR SeenBitmap;        /* one bit per sequence number received */
    ULONG SeenBitmapBytes;

    volatile LONG Pumping;    /* 1 while some thread is in CoclientPump */
    volatile LONG HandlersRunning; /* data-path handlers inside this binding */

    /* Flags, all under Lock. */
    BOOLEAN Ready;            /* bind has finished */
    BOOLEAN AfOfferedEarly;   /* an AF was offered before bind finished */
    BOOLEAN WorkerActive;     /* a run is queued or running */
    BOOLEAN Stop;             /* the run must send no more (sticky per run) */
    BOOLEAN Paused;           /* NetEventPause without NetEventRestart yet */
    BOOLEAN Unbinding;

    COCLIENT_AF Af;
    COCLIENT_VC Vc;

    /*
     * Planted bugs (test only; all zero/NULL when CoclientBug is unset).
     * BugNextAt, BugNblOut and BugFakeOut are under Lock. BugNbl is an extra
     * NBL of NblPool with its own MDL and buffer, sent only by the bugs;
     * BugFakeNbl is a NET_BUFFER_LIST in plain memory (NBL-2).
     */
    COCLIENT_BUG Bug;
    ULONG BugEvery;
    ULONG BugNextAt;          /* plant when Vc.Sent reaches this */
    ULONG BugPlanted;         /* how many times it was planted */
    BOOLEAN BugInvalid;       /* CoclientBug named no known rule */
    BOOLEAN BugNblOut;        /* BugNbl was sent and is not back */
    BOOLEAN BugFakeOut;       /* BugFakeNbl was sent and is not back */
    BOOLEAN BugLockHeld;      /* BugLock was kept across a handler return */
    NDIS_SPIN_LOCK BugLock;   /* IRQL-3 */
    PNET_BUFFER_LIST BugNbl;
    PMDL BugMdl;
    PUCHAR BugBuffer;
    PNET_BUFFER_LIST BugFakeNbl;
    ULONG BugSubmitted;       /* under Lock: every NBL with a Seq below this
                                 went through NdisCoSendNetBufferLists */
    NDIS_HANDLE BugStaleVc;   /* VC-4: the handle NdisCoDeleteVc took */
} COCLIENT_BINDING, *PCOCLIENT_BINDING;

/* ---- globals ------------------------------------------------------------- */

static NDIS_HANDLE g_ProtocolHandle;
static volatile LONG g_Errors;
static volatile LONG g_VcsCreated;
static volatile LONG g_VcsDeleted;

/* ---- exported entry points ----------------------------------------------- */

DRIVER_INITIALIZE DriverEntry;
ULONG CoclientDone(void);
ULONG CoclientErrors(void);

/* ---- handlers, each declared with its role type ---------------------------- */

static DRIVER_UNLOAD CoclientUnload;
static PROTOCOL_SET_OPTIONS CoclientSetOptions;

/* NDIS_PROTOCOL_DRIVER_CHARACTERISTICS */
static PROTOCOL_BIND_ADAPTER_EX CoclientBindAdapterEx;
static PROTOCOL_UNBIND_ADAPTER_EX CoclientUnbindAdapterEx;
static PROTOCOL_OPEN_ADAPTER_COMPLETE_EX CoclientOpenAdapterCompleteEx;
static PROTOCOL_CLOSE_ADAPTER_COMPLETE_EX CoclientCloseAdapterCompleteEx;
static PROTOCOL_NET_PNP_EVENT CoclientNetPnPEvent;
static PROTOCOL_OID_REQUEST_COMPLETE CoclientOidRequestComplete;
static PROTOCOL_STATUS_EX CoclientStatusEx;
static PROTOCOL_RECEIVE_NET_BUFFER_LISTS CoclientReceiveNetBufferLists;
static PROTOCOL_SEND_NET_BUFFER_LISTS_COMPLETE CoclientSendNetBufferListsComplete;

/* NDIS_PROTOCOL_CO_CHARACTERISTICS */
static PROTOCOL_CO_STATUS_EX CoclientCoStatusEx;
static PROTOCOL_CO_AF_REGISTER_NOTIFY CoclientCoAfRegisterNotify;
static PROTOCOL_CO_RECEIVE_NET_BUFFER_LISTS CoclientCoReceiveNetBufferLists;
static PROTOCOL_CO_SEND_NET_BUFFER_LISTS_COMPLETE CoclientCoSendNetBufferListsComplete;

/* NDIS_CO_CLIENT_OPTIONAL_HANDLERS */
static PROTOCOL_CO_CREATE_VC CoclientCoCreateVc;
static PROTOCOL_CO_DELETE_VC CoclientCoDeleteVc;
static PROTOCOL_CO_OID_REQUEST CoclientCoOidRequest;
static PROTOCOL_CO_OID_REQUEST_COMPLETE CoclientCoOidRequestComplete;
static PROTOCOL_CL_OPEN_AF_COMPLETE_EX CoclientClOpenAfCompleteEx;
static PROTOCOL_CL_CLOSE_AF_COMPLETE CoclientClCloseAfComplete;
static PROTOCOL_CL_REGISTER_SAP_COMPLETE CoclientClRegisterSapComplete;
static PROTOCOL_CL_DEREGISTER_SAP_COMPLETE CoclientClDeregisterSapComplete;
static PROTOCOL_CL_MAKE_CALL_COMPLETE CoclientClMakeCallComplete;
static PROTOCOL_CL_MODIFY_CALL_QOS_COMPLETE CoclientClModifyCallQoSComplete;
static PROTOCOL_CL_CLOSE_CALL_COMPLETE CoclientClCloseCallComplete;
static PROTOCOL_CL_ADD_PARTY_COMPLETE CoclientClAddPartyComplete;
static PROTOCOL_CL_DROP_PARTY_COMPLETE CoclientClDropPartyComplete;
static PROTOCOL_CL_INCOMING_CALL CoclientClIncomingCall;
static PROTOCOL_CL_INCOMING_CALL_QOS_CHANGE CoclientClIncomingCallQoSChange;
static PROTOCOL_CL_INCOMING_CLOSE_CALL CoclientClIncomingCloseCall;
static PROTOCOL_CL_INCOMING_DROP_PARTY CoclientClIncomingDropParty;
static PROTOCOL_CL_CALL_CONNECTED CoclientClCallConnected;
static PROTOCOL_CL_NOTIFY_CLOSE_AF CoclientClNotifyCloseAf;

/* The run, on an NDIS I/O work item. */
static NDIS_IO_WORKITEM_FUNCTION CoclientWorker;

/* Planted bugs (test only), defined at the end of the run's section. */
static VOID CoclientReadBugParameters(PCOCLIENT_BINDING b, NDIS_HANDLE Config);
static NDIS_STATUS CoclientBugSetup(PCOCLIENT_BINDING b);
static VOID CoclientBugFreeResources(PCOCLIENT_BINDING b);
static VOID CoclientBugStamp(PCOCLIENT_BINDING b, PCOCLIENT_SLOT Slot);
static VOID CoclientBugAfterSend(PCOCLIENT_BINDING b, PCOCLIENT_SLOT Last, ULONG LastSeq);
static BOOLEAN CoclientBugNblBack(PCOCLIENT_BINDING b, PNET_BUFFER_LIST Nbl);
static VOID CoclientBugInCompletion(PCOCLIENT_BINDING b, KIRQL Irql);
static VOID CoclientBugDrain(PCOCLIENT_BINDING b);
static VOID CoclientBugAfterCloseCall(PCOCLIENT_BINDING b);
static VOID CoclientBugAfterDeleteVc(PCOCLIENT_BINDING b);

/* ======================================================================
 * Small helpers
 * ====================================================================== */

/* Any IRQL. Counts a broken invariant and says which. */
static VOID CoclientViolation(PCSTR What, ULONG Value)
{
    InterlockedIncrement(&g_Errors);
    DbgPrint("coclient: VIOLATION: %s (0x%08lx)\n", What, Value);
}

static ULONG CoclientRead(volatile LONG *Value)
{
    /* A compare-exchange that never changes anything is a fenced read. */
    return (ULONG)InterlockedCompareExchange(Value, 0, 0);
}

/*
 * Exported for a test harness; any thread, any time. A VC counts as deleted
 * only once NdisCoDeleteVc has succeeded, which the worker does after the
 * call is closed and every NBL is back.
 */
ULONG CoclientDone(void)
{
    ULONG created = CoclientRead(&g_VcsCreated);
    return (created != 0 && CoclientRead(&g_VcsDeleted) == created) ? 1 : 0;
}

/* Exported for a test harness: broken invariants seen so far (0 is clean). */
ULONG CoclientErrors(void)
{
    return CoclientRead(&g_Errors);
}

/* Contexts come back from NDIS as NDIS_HANDLEs; check them before use. */
static PCOCLIENT_BINDING CoclientBindingFromContext(NDIS_HANDLE Context, PCSTR Who)
{
    PCOCLIENT_BINDING b = (PCOCLIENT_BINDING)Context;

    if (b == NULL || b->Signature != COCLIENT_BINDING_SIGNATURE) {
        CoclientViolation(Who, 0);
        return NULL;
    }
    return b;
}

static PCOCLIENT_AF CoclientAfFromContext(NDIS_HANDLE Context, PCSTR Who)
{
    PCOCLIENT_AF af = (PCOCLIENT_AF)Context;

    if (af == NULL || af->Signature != COCLIENT_AF_SIGNATURE) {
        CoclientViolation(Who, 0);
        return NULL;
    }
    return af;
}

static PCOCLIENT_VC CoclientVcFromContext(NDIS_HANDLE Context, PCSTR Who)
{
    PCOCLIENT_VC vc = (PCOCLIENT_VC)Context;

    if (vc == NULL || vc->Signature != COCLIENT_VC_SIGNATURE) {
        CoclientViolation(Who, 0);
        return NULL;
    }
    return vc;
}

/* Byte Index of the payload of sequence number Seq. */
static UCHAR CoclientPatternByte(ULONG Seq, ULONG Index)
{
    if (Index < sizeof(ULONG))
        return (UCHAR)(Seq >> (8 * Index)); /* little-endian sequence number */
    return (UCHAR)(Seq + Index);
}

/*
 * Caller holds b->Lock. The run is over for the sender once it may send no
 * more and every NBL is back; from then on both stay true, so the event,
 * once set, stays set for the rest of the run.
 */
static VOID CoclientCheckDrainedLocked(PCOCLIENT_BINDING b)
{
    if (b->Vc.Inflight == 0 && (b->Vc.Sent >= b->Count || b->Stop))
        NdisSetEvent(&b->DrainedEvent);
}

/* Caller holds b->Lock. */
static BOOLEAN CoclientCanSendLocked(const COCLIENT_BINDING *b)
{
    return b->Vc.State == CoclientVcActive && !b->Stop && !b->Paused &&
           b->Vc.Sent < b->Count && b->FreeList != NULL;
}

/* PASSIVE_LEVEL. Sets b->Stop so the run winds down, and wakes its worker. */
static VOID CoclientRequestStop(PCOCLIENT_BINDING b)
{
    NdisAcquireSpinLock(&b->Lock);
    b->Stop = TRUE;
    CoclientCheckDrainedLocked(b);
    NdisReleaseSpinLock(&b->Lock);
}

/*
 * The send-complete and receive handlers run on NDIS's threads and may still
 * be executing (in CoclientPump, say) after another thread's completion has
 * let the run end. They count themselves in and out, and unbind frees the
 * binding only once none is left inside. Leaving is a handler's last touch
 * of the binding.
 */
static VOID CoclientEnterHandler(PCOCLIENT_BINDING b)
{
    InterlockedIncrement(&b->HandlersRunning);
}

static VOID CoclientLeaveHandler(PCOCLIENT_BINDING b)
{
    InterlockedDecrement(&b->HandlersRunning);
}

/* ======================================================================
 * Parameters
 * ====================================================================== */

/*
 * PASSIVE_LEVEL (configuration reads are). Reads one integer keyword; a
 * missing or unreadable keyword gives the default, a value out of range is
 * clamped so the run still means something.
 */
static ULONG CoclientReadParameter(NDIS_HANDLE Config, PCWSTR Name, ULONG Default,
                                   ULONG Minimum, ULONG Maximum)
{
    NDIS_STRING keyword;
    PNDIS_CONFIGURATION_PARAMETER value = NULL;
    NDIS_STATUS status;
    ULONG result = Default;

    NdisInitUnicodeString(&keyword, Name);
    NdisReadConfiguration(&status, &value, Config, &keyword, NdisParameterInteger);
    if (status == NDIS_STATUS_SUCCESS && value != NULL &&
        (value->ParameterType == NdisParameterInteger ||
         value->ParameterType == NdisParameterHexInteger))
        result = value->ParameterData.IntegerData;

    if (result < Minimum || result > Maximum) {
        DbgPrint("coclient: %ws=%lu is out of range [%lu, %lu], clamped\n", Name, result,
                 Minimum, Maximum);
        result = result < Minimum ? Minimum : Maximum;
    }
    return result;
}

/* PASSIVE_LEVEL, from bind once the binding handle exists. */
static VOID CoclientReadParameters(PCOCLIENT_BINDING b)
{
    NDIS_CONFIGURATION_OBJECT configObject;
    NDIS_HANDLE config = NULL;
    NDIS_STATUS status;

    b->Count = COCLIENT_DEFAULT_COUNT;
    b->Size = COCLIENT_DEFAULT_SIZE;
    b->Window = COCLIENT_DEFAULT_WINDOW;

    NdisZeroMemory(&configObject, sizeof(configObject));
    configObject.Header.Type = NDIS_OBJECT_TYPE_CONFIGURATION_OBJECT;
    configObject.Header.Revision = NDIS_CONFIGURATION_OBJECT_REVISION_1;
    configObject.Header.Size = NDIS_SIZEOF_CONFIGURATION_OBJECT_REVISION_1;
    configObject.NdisHandle = b->BindingHandle; /* this binding's parameters */
    configObject.Flags = 0;

    status = NdisOpenConfigurationEx(&configObject, &config);
    if (status == NDIS_STATUS_SUCCESS) {
        b->Count = CoclientReadParameter(config, L"CoclientCount", COCLIENT_DEFAULT_COUNT, 1,
                                         COCLIENT_MAX_COUNT);
        b->Size = CoclientReadParameter(config, L"CoclientSize", COCLIENT_DEFAULT_SIZE,
                                        COCLIENT_MIN_SIZE, COCLIENT_MAX_SIZE);
        b->Window = CoclientReadParameter(config, L"CoclientWindow", COCLIENT_DEFAULT_WINDOW, 1,
                                          COCLIENT_MAX_WINDOW);
        CoclientReadBugParameters(b, config); /* test only */
        NdisCloseConfiguration(config);
    } else {
        DbgPrint("coclient: NdisOpenConfigurationEx failed (0x%08lx), using defaults\n",
                 (ULONG)status);
    }

    /* More slots than NBLs to send would only sit idle. */
    if (b->Window > b->Count)
        b->Window = b->Count;
}

/* ======================================================================
 * Send resources
 * ====================================================================== */

/*
 * PASSIVE_LEVEL, from bind (or unbind, or a failed bind). Gives every NBL,
 * MDL and buffer back, then the pool. A slot still in flight is left alone:
 * freeing it would take it from under the miniport, so leaking it is the
 * lesser evil (and it has been counted).
 */
static VOID CoclientFreeSendResources(PCOCLIENT_BINDING b)
{
    ULONG i;
    BOOLEAN allBack = TRUE;

    CoclientBugFreeResources(b); /* test only: what a planted bug added */
    if (b->Slots != NULL) {
        for (i = 0; i < b->SlotCount; i++) {
            PCOCLIENT_SLOT slot = &b->Slots[i];

            if (slot->InFlight) {
                CoclientViolation("unbind: NBL still in flight, leaked", slot->Seq);
                allBack = FALSE;
                continue;
            }
            if (slot->Nbl != NULL)
                NdisFreeNetBufferList(slot->Nbl); /* its NET_BUFFER goes with it */
            if (slot->Mdl != NULL)
                NdisFreeMdl(slot->Mdl);
            if (slot->Buffer != NULL)
                NdisFreeMemoryWithTagPriority(g_ProtocolHandle, slot->Buffer, COCLIENT_TAG);
            slot->Nbl = NULL;
            slot->Mdl = NULL;
            slot->Buffer = NULL;
        }
        if (allBack) {
            NdisFreeMemoryWithTagPriority(g_ProtocolHandle, b->Slots, COCLIENT_TAG);
            b->Slots = NULL;
            b->SlotCount = 0;
        }
    }
    b->FreeList = NULL;

    if (allBack && b->NblPool != NULL) {
        NdisFreeNetBufferListPool(b->NblPool);
        b->NblPool = NULL;
    }
}

/*
 * PASSIVE_LEVEL, from bind. One NBL pool for the binding; per slot a data
 * buffer, an MDL over it, and an NBL with one NET_BUFFER describing the
 * whole buffer. Everything is charged to the driver handle, which outlives
 * the binding handle, so it can still be freed after NdisCloseAdapterEx. All
 * or nothing: on failure the caller frees what was made.
 */
static NDIS_STATUS CoclientAllocateSendResources(PCOCLIENT_BINDING b)
{
    NET_BUFFER_LIST_POOL_PARAMETERS poolParameters;
    ULONG i;

    NdisZeroMemory(&poolParameters, sizeof(poolParameters));
    poolParameters.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    poolParameters.Header.Revision = NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    poolParameters.Header.Size = NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    poolParameters.ProtocolId = NDIS_PROTOCOL_ID_DEFAULT;
    poolParameters.fAllocateNetBuffer = TRUE; /* each NBL comes with one NET_BUFFER */
    poolParameters.ContextSize = 0;
    poolParameters.PoolTag = COCLIENT_TAG;
    poolParameters.DataSize = 0; /* the data buffers are ours, described by our MDLs */

    b->NblPool = NdisAllocateNetBufferListPool(g_ProtocolHandle, &poolParameters);
    if (b->NblPool == NULL)
        return NDIS_STATUS_RESOURCES;

    b->SeenBitmapBytes = (b->Count + 7) / 8;
    b->SeenBitmap = NdisAllocateMemoryWithTagPriority(g_ProtocolHandle, b->SeenBitmapBytes,
                                                      COCLIENT_TAG, NormalPoolPriority);
    if (b->SeenBitmap == NULL)
        return NDIS_STATUS_RESOURCES;

    b->Slots = NdisAllocateMemoryWithTagPriority(
        g_ProtocolHandle, (UINT)(b->Window * sizeof(COCLIENT_SLOT)), COCLIENT_TAG,
        NormalPoolPriority);
    if (b->Slots == NULL)
        return NDIS_STATUS_RESOURCES;
    NdisZeroMemory(b->Slots, b->Window * sizeof(COCLIENT_SLOT));
    b->SlotCount = b->Window;

    for (i = 0; i < b->SlotCount; i++) {
        PCOCLIENT_SLOT slot = &b->Slots[i];

        slot->Signature = COCLIENT_SLOT_SIGNATURE;
        slot->Binding = b;
        slot->Buffer = NdisAllocateMemoryWithTagPriority(g_ProtocolHandle, b->Size,
                                                         COCLIENT_TAG, NormalPoolPriority);
        if (slot->Buffer == NULL)
            return NDIS_STATUS_RESOURCES;
        slot->Mdl = NdisAllocateMdl(g_ProtocolHandle, slot->Buffer, b->Size);
        if (slot->Mdl == NULL)
            return NDIS_STATUS_RESOURCES;
        slot->Nbl = NdisAllocateNetBufferAndNetBufferList(b->NblPool, 0, 0, slot->Mdl, 0,
                                                          b->Size);
        if (slot->Nbl == NULL)
            return NDIS_STATUS_RESOURCES;
        NET_BUFFER_LIST_PROTOCOL_RESERVED(slot->Nbl)[0] = slot;

        slot->NextFree = b->FreeList;
        b->FreeList = slot;
    }
    return NDIS_STATUS_SUCCESS;
}

/* ======================================================================
 * The send path
 * ====================================================================== */

/*
 * Any IRQL <= DISPATCH_LEVEL. The slot was taken off the free list by the
 * caller, so the client owns its NBL, NET_BUFFER, MDL and data: write the
 * payload and fill in what NdisCoSendNetBufferLists needs.
 */
static VOID CoclientPrepareNbl(PCOCLIENT_BINDING b, PCOCLIENT_SLOT Slot, NDIS_HANDLE VcHandle)
{
    PNET_BUFFER_LIST nbl = Slot->Nbl;
    ULONG i;

    for (i = 0; i < b->Size; i++)
        Slot->Buffer[i] = CoclientPatternByte(Slot->Seq, i);

    NET_BUFFER_LIST_NEXT_NBL(nbl) = NULL;
    /* NDIS routes the completion back to this VC from SourceHandle. */
    nbl->SourceHandle = VcHandle;
    /* Only the miniport's final value counts; start from a clean one. */
    NET_BUFFER_LIST_STATUS(nbl) = NDIS_STATUS_SUCCESS;
}

/*
 * Any IRQL <= DISPATCH_LEVEL: from the worker (PASSIVE_LEVEL), from the
 * send-complete handler (often DISPATCH_LEVEL) and from NetEventRestart
 * (PASSIVE_LEVEL). SendFlags carries NDIS_SEND_FLAGS_DISPATCH_LEVEL only when
 * the caller knows it runs at DISPATCH_LEVEL.
 *
 * Takes every free slot it may send, stamps the next sequence numbers and
 * sends them as one chain. Only one thread pumps at a time (Pumping), which
 * keeps the sequence numbers in submission order and, more important, stops
 * recursion: when the miniport completes inline, the completion handler
 * inside NdisCoSendNetBufferLists finds Pumping taken, leaves its NBLs on the
 * free list and returns; the pumping thread picks them up when its send call
 * returns. Ownership: the slots' NBLs belong to NDIS from the send call on;
 * this function does not touch them afterwards.
 */
static VOID CoclientPump(PCOCLIENT_BINDING b, ULONG SendFlags)
{
    for (;;) {
        PCOCLIENT_SLOT batch = NULL;
        PCOCLIENT_SLOT *batchTail = &batch;
        PCOCLIENT_SLOT slot;
        PNET_BUFFER_LIST head = NULL;
        PNET_BUFFER_LIST *tail = &head;
        PCOCLIENT_SLOT last = NULL;
        NDIS_HANDLE vcHandle;
        BOOLEAN more;

        if (InterlockedCompareExchange(&b->Pumping, 1, 0) != 0)
            return; /* the thread that pumps will see our free slots */

        NdisAcquireSpinLock(&b->Lock);
        vcHandle = b->Vc.NdisVcHandle;
        while (CoclientCanSendLocked(b)) {
            slot = b->FreeList;
            b->FreeList = slot->NextFree;
            slot->NextFree = NULL;
            *batchTail = slot;
            batchTail = &slot->NextFree;

            slot->Seq = b->Vc.Sent++;
            slot->InFlight = TRUE;
            if (b->Vc.Inflight++ == 0)
                NdisResetEvent(&b->IdleEvent);
            if (b->Vc.Inflight > b->Vc.MaxInflight)
                b->Vc.MaxInflight = b->Vc.Inflight;
            if (b->Vc.Inflight > b->Window)
                CoclientViolation("more NBLs in flight than CoclientWindow", b->Vc.Inflight);
        }
        NdisReleaseSpinLock(&b->Lock);

        /* Stamp outside the lock: nobody else can reach these slots yet. */
        for (slot = batch; slot != NULL; slot = slot->NextFree) {
            CoclientPrepareNbl(b, slot, vcHandle);
            CoclientBugStamp(b, slot); /* test only */
            *tail = slot->Nbl;
            tail = &NET_BUFFER_LIST_NEXT_NBL(slot->Nbl);
            last = slot;
        }

        if (head != NULL) {
            ULONG lastSeq = last->Seq;

            NdisCoSendNetBufferLists(vcHandle, head, SendFlags);
            /* From here the chain is NDIS's; it comes back through the handler. */
            CoclientBugAfterSend(b, last, lastSeq); /* test only */
        }

        InterlockedExchange(&b->Pumping, 0);

        /*
         * A completion that ran while Pumping was taken may have freed a slot
         * and gone away; look once more now that the claim is released.
         */
        NdisAcquireSpinLock(&b->Lock);
        more = CoclientCanSendLocked(b);
        NdisReleaseSpinLock(&b->Lock);
        if (!more)
            return;
    }
}

/*
 * Any IRQL <= DISPATCH_LEVEL. Takes one completed NBL back into its owner's
 * free list. The caller has checked that the slot is a slot; Owner is the
 * binding it belongs to. TRUE if the NBL was in flight (so it is free now).
 */
static BOOLEAN CoclientReclaimSlot(PCOCLIENT_BINDING Owner, PCOCLIENT_SLOT Slot,
                                   NDIS_STATUS Status, BOOLEAN FlagOmitted)
{
    NdisAcquireSpinLock(&Owner->Lock);
    if (!Slot->InFlight) {
        NdisReleaseSpinLock(&Owner->Lock);
        return FALSE;
    }
    Slot->InFlight = FALSE;
    Owner->Vc.Completed++;
    if (Status != NDIS_STATUS_SUCCESS)
        Owner->Vc.Failed++;
    if (FlagOmitted)
        Owner->Vc.FlagOmitted++;
    if (--Owner->Vc.Inflight == 0)
        NdisSetEvent(&Owner->IdleEvent);
    Slot->NextFree = Owner->FreeList;
    Owner->FreeList = Slot;
    NdisReleaseSpinLock(&Owner->Lock);
    return TRUE;
}

/*
 * Any IRQL <= DISPATCH_LEVEL. After slots came back: reuse them, then let
 * the worker go on if the run is over. Signalling comes last so that the
 * worker (and, after it, unbind) never races this thread for the binding.
 */
static VOID CoclientAfterReclaim(PCOCLIENT_BINDING b, ULONG SendFlags)
{
    CoclientPump(b, SendFlags);
    NdisAcquireSpinLock(&b->Lock);
    CoclientCheckDrainedLocked(b);
    NdisReleaseSpinLock(&b->Lock);
}

/*
 * ProtocolCoSendNetBufferListsComplete, IRQL <= DISPATCH_LEVEL, for every NBL
 * given to NdisCoSendNetBufferLists, in any order and grouping, possibly
 * inside the send call itself. On entry the client owns the NBLs again with
 * everything attached; their final status is in NET_BUFFER_LIST_STATUS.
 *
 * Each NBL is checked (ours, sent, not yet completed, on this VC, a final
 * status, its NET_BUFFER untouched), put back on the free list, and the pump
 * reuses it for the next sequence number: the descriptors are recycled, never
 * freed and reallocated, for the whole run.
 */
_Use_decl_annotations_
static VOID CoclientCoSendNetBufferListsComplete(NDIS_HANDLE ProtocolVcContext,
                                                 PNET_BUFFER_LIST NetBufferLists,
                                                 ULONG SendCompleteFlags)
{
    PCOCLIENT_VC vc = CoclientVcFromContext(ProtocolVcContext,
                                            "send complete: unknown ProtocolVcContext");
    PCOCLIENT_BINDING b = (vc != NULL) ? vc->Binding : NULL;
    PNET_BUFFER_LIST nbl;
    PNET_BUFFER_LIST next;
    KIRQL irql = KeGetCurrentIrql();
    BOOLEAN atDispatch = NDIS_TEST_SEND_COMPLETE_AT_DISPATCH_LEVEL(SendCompleteFlags);
    ULONG sendFlags;

    /*
     * The flag may only be set at DISPATCH_LEVEL. Left clear, it says only
     * that the caller did not know its IRQL, which is allowed (Dispatch IRQL
     * Tracking); that case is counted, not reported as a violation.
     */
    if (atDispatch && irql != DISPATCH_LEVEL)
        CoclientViolation("send complete: DISPATCH_LEVEL flag set below DISPATCH_LEVEL", irql);
    if (irql > DISPATCH_LEVEL)
        CoclientViolation("send complete: called above DISPATCH_LEVEL", irql);

    /*
     * Sends made from here pass on what the caller told us; a flag caught
     * lying (reported above) is not passed on.
     */
    sendFlags = (atDispatch && irql == DISPATCH_LEVEL) ? NDIS_SEND_FLAGS_DISPATCH_LEVEL : 0;

    if (b != NULL)
        CoclientEnterHandler(b);

    for (nbl = NetBufferLists; nbl != NULL; nbl = next) {
        PCOCLIENT_SLOT slot = (PCOCLIENT_SLOT)NET_BUFFER_LIST_PROTOCOL_RESERVED(nbl)[0];
        PCOCLIENT_BINDING owner;
        PNET_BUFFER nb;
        NDIS_STATUS status;

        next = NET_BUFFER_LIST_NEXT_NBL(nbl);
        if (CoclientBugNblBack(b, nbl))
            continue; /* test only: a planted bug's own NBL */

        /* ProtocolReserved is ours, so the slot pointer in it can be trusted
         * unless something below wrote there, which the checks catch. */
        if (slot == NULL || slot->Signature != COCLIENT_SLOT_SIGNATURE || slot->Nbl != nbl ||
            slot->Binding == NULL || slot->Binding->Signature != COCLIENT_BINDING_SIGNATURE) {
            CoclientViolation("send complete: an NBL coclient never sent", 0);
            continue;
        }
        owner = slot->Binding;
        if (b != NULL && owner != b)
            CoclientViolation("send complete: NBL completed on a VC it was not sent on",
                              slot->Seq);
        if (owner != b)
            CoclientEnterHandler(owner);

        NET_BUFFER_LIST_NEXT_NBL(nbl) = NULL;
        status = NET_BUFFER_LIST_STATUS(nbl);
        nb = NET_BUFFER_LIST_FIRST_NB(nbl);

        /* Check before giving it back: afterwards the pump may resend it. */
        if (status == NDIS_STATUS_PENDING)
            CoclientViolation("send complete: NDIS_STATUS_PENDING as a final status", slot->Seq);
        if (nb == NULL || NET_BUFFER_NEXT_NB(nb) != NULL || NET_BUFFER_FIRST_MDL(nb) != slot->Mdl ||
            NET_BUFFER_DATA_OFFSET(nb) != 0 || NET_BUFFER_DATA_LENGTH(nb) != owner->Size)
            CoclientViolation("send complete: the NET_BUFFER came back changed", slot->Seq);

        if (!CoclientReclaimSlot(owner, slot, status, !atDispatch && irql == DISPATCH_LEVEL))
            CoclientViolation("send complete: NBL completed twice (or never sent)", slot->Seq);

        if (owner != b) {
            /* Take it back anyway, to its real owner, so that run can end. */
            CoclientAfterReclaim(owner, sendFlags);
            CoclientLeaveHandler(owner);
        }
    }

    if (b != NULL) {
        CoclientAfterReclaim(b, sendFlags);
        CoclientBugInCompletion(b, irql); /* test only */
        CoclientLeaveHandler(b);
    }
}

/* PASSIVE_LEVEL, from the worker once the run has drained. */
static VOID CoclientCheckSendsBack(PCOCLIENT_BINDING b)
{
    ULONG i;
    ULONG freeSlots = 0;
    PCOCLIENT_SLOT slot;

    NdisAcquireSpinLock(&b->Lock);
    for (slot = b->FreeList; slot != NULL && freeSlots <= b->SlotCount; slot = slot->NextFree)
        freeSlots++;
    for (i = 0; i < b->SlotCount; i++) {
        if (b->Slots[i].InFlight)
            CoclientViolation("run end: NBL never completed", b->Slots[i].Seq);
    }
    if (b->Vc.Completed != b->Vc.Sent)
        CoclientViolation("run end: completions differ from sends", b->Vc.Completed);
    if (freeSlots != b->SlotCount)
        CoclientViolation("run end: free list does not hold every slot", freeSlots);
    NdisReleaseSpinLock(&b->Lock);
}

/* ======================================================================
 * The receive path
 * ====================================================================== */

/*
 * Any IRQL <= DISPATCH_LEVEL. Walks the NET_BUFFER's data the way any
 * consumer must: from CurrentMdl at CurrentMdlOffset, DataLength bytes,
 * across however many MDLs the indicating driver used.
 */
static BOOLEAN CoclientPayloadIntact(PNET_BUFFER Nb, ULONG Seq, ULONG Length)
{
    PMDL mdl = NET_BUFFER_CURRENT_MDL(Nb);
    ULONG offset = NET_BUFFER_CURRENT_MDL_OFFSET(Nb);
    ULONG index = 0;

    while (index < Length) {
        PVOID va = NULL;
        PUCHAR data;
        ULONG mdlLength = 0;
        ULONG run;
        ULONG i;

        if (mdl == NULL)
            return FALSE;
        NdisQueryMdl(mdl, &va, &mdlLength, NormalPagePriority);
        if (va == NULL || offset > mdlLength)
            return FALSE;
        data = (PUCHAR)va + offset;
        run = MIN(mdlLength - offset, Length - index);
        for (i = 0; i < run; i++) {
            if (data[i] != CoclientPatternByte(Seq, index + i))
                return FALSE;
        }
        index += run;
        mdl = NDIS_MDL_LINKAGE(mdl);
        offset = 0;
    }
    return TRUE;
}

/*
 * Any IRQL <= DISPATCH_LEVEL. Checks one received NET_BUFFER. The sequence
 * number is read through NdisGetDataBuffer, which copies it into local
 * storage when its four bytes are not contiguous in the MDL chain.
 */
static VOID CoclientCheckReceived(PCOCLIENT_BINDING b, PNET_BUFFER Nb)
{
    UCHAR storage[sizeof(ULONG)];
    PUCHAR p;
    ULONG seq = 0;
    ULONG length = NET_BUFFER_DATA_LENGTH(Nb);
    BOOLEAN intact = FALSE;
    BOOLEAN duplicate = FALSE;

    if (length == b->Size) {
        p = (PUCHAR)NdisGetDataBuffer(Nb, sizeof(ULONG), storage, 1, 0);
        if (p != NULL) {
            seq = (ULONG)p[0] | ((ULONG)p[1] << 8) | ((ULONG)p[2] << 16) | ((ULONG)p[3] << 24);
            intact = seq < b->Count && CoclientPayloadIntact(Nb, seq, length);
        }
    }

    NdisAcquireSpinLock(&b->Lock);
    b->Vc.Received++;
    if (!intact) {
        b->Vc.BadData++;
    } else {
        UCHAR bit = (UCHAR)(1u << (seq % 8));

        if (b->SeenBitmap[seq / 8] & bit) {
            b->Vc.Duplicates++;
            duplicate = TRUE;
        } else {
            b->SeenBitmap[seq / 8] |= bit;
        }
        if (seq != b->Vc.NextExpected)
            b->Vc.OutOfOrder++; /* a statistic: NDIS does not order receives */
        b->Vc.NextExpected = seq + 1;
    }
    NdisReleaseSpinLock(&b->Lock);

    if (!intact)
        CoclientViolation("receive: wrong length, damaged payload or unknown sequence", length);
    if (duplicate)
        CoclientViolation("receive: sequence number received twice", seq);
}

/*
 * ProtocolCoReceiveNetBufferLists, IRQL <= DISPATCH_LEVEL, possibly on
 * several processors at once. On entry the client owns the NBL chain; it
 * gives it back with NdisReturnNetBufferLists, unless ReceiveFlags has
 * NDIS_RECEIVE_FLAGS_RESOURCES: then the miniport needs the NBLs back as
 * soon as this returns and they must not be returned (nor kept).
 */
_Use_decl_annotations_
static VOID CoclientCoReceiveNetBufferLists(NDIS_HANDLE ProtocolBindingContext,
                                            NDIS_HANDLE ProtocolVcContext,
                                            PNET_BUFFER_LIST NetBufferLists,
                                            ULONG NumberOfNetBufferLists, ULONG ReceiveFlags)
{
    PCOCLIENT_BINDING b = CoclientBindingFromContext(
        ProtocolBindingContext, "receive: unknown ProtocolBindingContext");
    KIRQL irql = KeGetCurrentIrql();
    BOOLEAN atDispatch = NDIS_TEST_RECEIVE_AT_DISPATCH_LEVEL(ReceiveFlags);
    PNET_BUFFER_LIST nbl;
    ULONG count = 0;
    BOOLEAN ours;
    COCLIENT_VC_STATE state;

    if (atDispatch && irql != DISPATCH_LEVEL)
        CoclientViolation("receive: DISPATCH_LEVEL flag set below DISPATCH_LEVEL", irql);
    if (irql > DISPATCH_LEVEL)
        CoclientViolation("receive: called above DISPATCH_LEVEL", irql);
    if (b == NULL)
        return; /* without our binding there is no handle to return them with */
    CoclientEnterHandler(b);

    ours = (ProtocolVcContext == (NDIS_HANDLE)&b->Vc);
    if (!ours)
        CoclientViolation("receive: ProtocolVcContext is not this binding's VC", 0);

    NdisAcquireSpinLock(&b->Lock);
    state = b->Vc.State;
    NdisReleaseSpinLock(&b->Lock);
    if (ours && state != CoclientVcActive && state != CoclientVcCalling &&
        state != CoclientVcClosing) {
        CoclientViolation("receive: indication on a VC with no call", state);
        ours = FALSE; /* count it, return it, but do not look inside */
    }

    for (nbl = NetBufferLists; nbl != NULL; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
        PNET_BUFFER nb;

        count++;
        if (!ours)
            continue;
        for (nb = NET_BUFFER_LIST_FIRST_NB(nbl); nb != NULL; nb = NET_BUFFER_NEXT_NB(nb))
            CoclientCheckReceived(b, nb);
    }
    if (count != NumberOfNetBufferLists)
        CoclientViolation("receive: NumberOfNetBufferLists does not match the chain", count);

    if (!NDIS_TEST_RECEIVE_CANNOT_PEND(ReceiveFlags))
        NdisReturnNetBufferLists(b->BindingHandle, NetBufferLists,
                                 atDispatch ? NDIS_RETURN_FLAGS_DISPATCH_LEVEL : 0);
    CoclientLeaveHandler(b);
}

/* ======================================================================
 * Completion handlers of the client operations. Each records the result
 * and wakes the thread waiting for it; when an operation does not pend,
 * the caller runs the same handler itself, so both paths are one.
 * ====================================================================== */

/* PASSIVE_LEVEL (documented so; the client's own call is at PASSIVE too). */
_Use_decl_annotations_
static VOID CoclientClOpenAfCompleteEx(NDIS_HANDLE ProtocolAfContext, NDIS_HANDLE NdisAfHandle,
                                       NDIS_STATUS Status)
{
    PCOCLIENT_AF af = CoclientAfFromContext(ProtocolAfContext,
                                            "open AF complete: unknown ProtocolAfContext");
    PCOCLIENT_BINDING b;
    BOOLEAN unexpected = FALSE;

    if (af == NULL)
        return;
    b = af->Binding;

    NdisAcquireSpinLock(&b->Lock);
    if (af->State != CoclientAfOpening) {
        unexpected = TRUE;
    } else if (Status == NDIS_STATUS_SUCCESS && NdisAfHandle != NULL) {
        af->NdisAfHandle = NdisAfHandle; /* the handle for every later call */
        af->State = CoclientAfOpen;
    } else {
        af->NdisAfHandle = NULL;
        af->State = CoclientAfClosed;
    }
    af->Status = Status;
    NdisReleaseSpinLock(&b->Lock);

    if (unexpected) {
        CoclientViolation("open AF complete without an open in progress", (ULONG)Status);
        return;
    }
    if (Status == NDIS_STATUS_SUCCESS && NdisAfHandle == NULL)
        CoclientViolation("open AF complete: SUCCESS with a NULL NdisAfHandle", 0);
    NdisSetEvent(&b->OpEvent);
}

/* IRQL <= DISPATCH_LEVEL. */
_Use_decl_annotations_
static VOID CoclientClCloseAfComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolAfContext)
{
    PCOCLIENT_AF af = CoclientAfFromContext(ProtocolAfContext,
                                            "close AF complete: unknown ProtocolAfContext");
    PCOCLIENT_BINDING b;
    BOOLEAN unexpected = FALSE;

    if (af == NULL)
        return;
    b = af->Binding;

    NdisAcquireSpinLock(&b->Lock);
    if (af->State != CoclientAfClosing) {
        unexpected = TRUE;
    } else if (Status == NDIS_STATUS_SUCCESS) {
        af->State = CoclientAfClosed; /* NdisAfHandle is kept for a pended notify */
    } else {
        af->State = CoclientAfOpen; /* still open: VCs or SAPs left on it */
    }
    af->Status = Status;
    NdisReleaseSpinLock(&b->Lock);

    if (unexpected) {
        CoclientViolation("close AF complete without a close in progress", (ULONG)Status);
        return;
    }
    NdisSetEvent(&b->OpEvent);
}

/*
 * IRQL <= DISPATCH_LEVEL. CallParameters is the client's own structure back;
 * the call manager may have rewritten it (CALL_PARAMETERS_CHANGED). A failed
 * call leaves the VC created but idle; the worker deletes it.
 */
_Use_decl_annotations_
static VOID CoclientClMakeCallComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolVcContext,
                                       NDIS_HANDLE NdisPartyHandle,
                                       PCO_CALL_PARAMETERS CallParameters)
{
    PCOCLIENT_VC vc = CoclientVcFromContext(ProtocolVcContext,
                                            "make call complete: unknown ProtocolVcContext");
    PCOCLIENT_BINDING b;
    BOOLEAN unexpected = FALSE;
    BOOLEAN unacceptable = FALSE;
    ULONG sdu = 0;

    if (vc == NULL)
        return;
    b = vc->Binding;

    if (CallParameters != &vc->CallParameters)
        CoclientViolation("make call complete: CallParameters is not the client's", 0);
    if (NdisPartyHandle != NULL)
        CoclientViolation("make call complete: a party handle for a point-to-point call", 0);

    /* Accept changed parameters only if the VC still carries our packets. */
    if (Status == NDIS_STATUS_SUCCESS && (vc->CallParameters.Flags & CALL_PARAMETERS_CHANGED) &&
        vc->CallParameters.CallMgrParameters != NULL) {
        sdu = vc->CallParameters.CallMgrParameters->Transmit.MaxSduSize;
        unacceptable = (sdu != QOS_NOT_SPECIFIED && sdu < b->Size);
    }

    NdisAcquireSpinLock(&b->Lock);
    if (vc->State != CoclientVcCalling) {
        unexpected = TRUE;
    } else if (Status == NDIS_STATUS_SUCCESS) {
        vc->State = CoclientVcActive;
        if (unacceptable)
            b->Stop = TRUE; /* the worker closes the call without sending */
    } else {
        vc->State = CoclientVcCreated;
    }
    vc->CallStatus = Status;
    NdisReleaseSpinLock(&b->Lock);

    if (unexpected) {
        CoclientViolation("make call complete without a call in progress", (ULONG)Status);
        return;
    }
    if (unacceptable)
        DbgPrint("coclient: call manager lowered Transmit.MaxSduSize to %lu (< %lu); "
                 "closing the call\n", sdu, b->Size);
    NdisSetEvent(&b->OpEvent);
}

/* IRQL <= DISPATCH_LEVEL. */
_Use_decl_annotations_
static VOID CoclientClCloseCallComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolVcContext,
                                        NDIS_HANDLE ProtocolPartyContext)
{
    PCOCLIENT_VC vc = CoclientVcFromContext(ProtocolVcContext,
                                            "close call complete: unknown ProtocolVcContext");
    PCOCLIENT_BINDING b;
    BOOLEAN unexpected = FALSE;

    if (vc == NULL)
        return;
    b = vc->Binding;
    if (ProtocolPartyContext != NULL)
        CoclientViolation("close call complete: a party context for a point-to-point call", 0);

    NdisAcquireSpinLock(&b->Lock);
    if (vc->State != CoclientVcClosing)
        unexpected = TRUE;
    else
        vc->State = (Status == NDIS_STATUS_SUCCESS) ? CoclientVcClosed : CoclientVcActive;
    vc->CallStatus = Status;
    NdisReleaseSpinLock(&b->Lock);

    if (unexpected) {
        CoclientViolation("close call complete without a close in progress", (ULONG)Status);
        return;
    }
    NdisSetEvent(&b->OpEvent);
}

/* ======================================================================
 * Requests from the call manager side
 * ====================================================================== */

/*
 * ProtocolClIncomingCloseCall, IRQL <= DISPATCH_LEVEL: the peer or the
 * network ended the call. The client must acknowledge with NdisClCloseCall,
 * but NdisClCloseCall may not be called with sends outstanding, so the
 * handler only stops the sender; the worker calls NdisClCloseCall once every
 * NBL is back, then deletes the VC it created.
 */
_Use_decl_annotations_
static VOID CoclientClIncomingCloseCall(NDIS_STATUS CloseStatus, NDIS_HANDLE ProtocolVcContext,
                                        PVOID CloseData, UINT Size)
{
    PCOCLIENT_VC vc = CoclientVcFromContext(ProtocolVcContext,
                                            "incoming close call: unknown ProtocolVcContext");
    PCOCLIENT_BINDING b;
    COCLIENT_VC_STATE state;

    UNREFERENCED_PARAMETER(CloseData);
    UNREFERENCED_PARAMETER(Size);
    if (vc == NULL)
        return;
    b = vc->Binding;

    NdisAcquireSpinLock(&b->Lock);
    state = vc->State;
    if (state == CoclientVcActive || state == CoclientVcCalling) {
        vc->PeerClosed = TRUE;
        vc->PeerCloseStatus = CloseStatus;
        b->Stop = TRUE;
        CoclientCheckDrainedLocked(b);
    }
    NdisReleaseSpinLock(&b->Lock);

    if (state == CoclientVcActive || state == CoclientVcCalling)
        DbgPrint("coclient: call closed by the peer (0x%08lx)\n", (ULONG)CloseStatus);
    else if (state != CoclientVcClosing) /* crossing our own close is fine */
        CoclientViolation("incoming close call on a VC with no call", state);
}

/*
 * ProtocolClNotifyCloseAf, IRQL <= DISPATCH_LEVEL: the call manager wants
 * the AF closed. Closing means closing the call, deleting the VC and then
 * the AF, which needs waits; so the handler pends, tells the worker to wind
 * down, and the worker calls NdisClNotifyCloseAddressFamilyComplete after
 * its NdisClCloseAddressFamily has completed.
 */
_Use_decl_annotations_
static NDIS_STATUS CoclientClNotifyCloseAf(NDIS_HANDLE ClientAfContext)
{
    PCOCLIENT_AF af = CoclientAfFromContext(ClientAfContext,
                                            "notify close AF: unknown ClientAfContext");
    PCOCLIENT_BINDING b;
    NDIS_STATUS status = NDIS_STATUS_SUCCESS;

    if (af == NULL)
        return NDIS_STATUS_FAILURE;
    b = af->Binding;

    NdisAcquireSpinLock(&b->Lock);
    if ((af->State == CoclientAfOpen || af->State == CoclientAfOpening) && b->WorkerActive) {
        /* The worker closes the AF on its way out and completes this. */
        af->CloseRequested = TRUE;
        b->Stop = TRUE;
        CoclientCheckDrainedLocked(b);
        status = NDIS_STATUS_PENDING;
    } else if (af->State == CoclientAfOpen) {
        /*
         * Open with no run left: an earlier NdisClCloseAddressFamily failed
         * (already reported) and this client has nothing more to try.
         */
        status = NDIS_STATUS_FAILURE;
    }
    /* Otherwise our own close is already under way: nothing left to do. */
    NdisReleaseSpinLock(&b->Lock);
    return status;
}

/* IRQL <= DISPATCH_LEVEL. Nothing in a status indication changes the run. */
_Use_decl_annotations_
static VOID CoclientCoStatusEx(NDIS_HANDLE ProtocolBindingContext, NDIS_HANDLE ProtocolVcContext,
                               PNDIS_STATUS_INDICATION StatusIndication)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(StatusIndication);
}

/*
 * ProtocolCoCreateVc / ProtocolCoDeleteVc, IRQL <= DISPATCH_LEVEL: only used
 * when a call manager creates a VC for an incoming call. This client
 * registers no SAP, so it declines.
 */
_Use_decl_annotations_
static NDIS_STATUS CoclientCoCreateVc(NDIS_HANDLE ProtocolAfContext, NDIS_HANDLE NdisVcHandle,
                                      PNDIS_HANDLE ProtocolVcContext)
{
    UNREFERENCED_PARAMETER(ProtocolAfContext);
    UNREFERENCED_PARAMETER(NdisVcHandle);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    return NDIS_STATUS_NOT_SUPPORTED;
}

_Use_decl_annotations_
static NDIS_STATUS CoclientCoDeleteVc(NDIS_HANDLE ProtocolVcContext)
{
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    return NDIS_STATUS_NOT_SUPPORTED;
}

/* IRQL <= DISPATCH_LEVEL. The client answers no OIDs. */
_Use_decl_annotations_
static NDIS_STATUS CoclientCoOidRequest(NDIS_HANDLE ProtocolAfContext,
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

/* IRQL <= DISPATCH_LEVEL. Declines incoming calls (no SAP registered). */
_Use_decl_annotations_
static NDIS_STATUS CoclientClIncomingCall(NDIS_HANDLE ProtocolSapContext,
                                          NDIS_HANDLE ProtocolVcContext,
                                          PCO_CALL_PARAMETERS CallParameters)
{
    UNREFERENCED_PARAMETER(ProtocolSapContext);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(CallParameters);
    CoclientViolation("incoming call, but coclient registered no SAP", 0);
    return NDIS_STATUS_NOT_SUPPORTED;
}

/* IRQL <= DISPATCH_LEVEL. Any QoS the peer settles on carries this traffic. */
_Use_decl_annotations_
static VOID CoclientClIncomingCallQoSChange(NDIS_HANDLE ProtocolVcContext,
                                            PCO_CALL_PARAMETERS CallParameters)
{
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(CallParameters);
    DbgPrint("coclient: call parameters changed by the peer; accepted\n");
}

/*
 * Completions of operations this client never starts (SAPs, QoS changes,
 * parties, CoNDIS OID requests) and events of calls it never accepts. Each
 * must still be registered; being called at all is a broken invariant.
 * All at IRQL <= DISPATCH_LEVEL.
 */
_Use_decl_annotations_
static VOID CoclientCoOidRequestComplete(NDIS_HANDLE ProtocolAfContext,
                                         NDIS_HANDLE ProtocolVcContext,
                                         NDIS_HANDLE ProtocolPartyContext,
                                         PNDIS_OID_REQUEST OidRequest, NDIS_STATUS Status)
{
    UNREFERENCED_PARAMETER(ProtocolAfContext);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    UNREFERENCED_PARAMETER(OidRequest);
    CoclientViolation("CoNDIS OID request completed, but coclient issued none", (ULONG)Status);
}

_Use_decl_annotations_
static VOID CoclientClRegisterSapComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolSapContext,
                                          PCO_SAP Sap, NDIS_HANDLE NdisSapHandle)
{
    UNREFERENCED_PARAMETER(ProtocolSapContext);
    UNREFERENCED_PARAMETER(Sap);
    UNREFERENCED_PARAMETER(NdisSapHandle);
    CoclientViolation("register SAP completed, but coclient registered none", (ULONG)Status);
}

_Use_decl_annotations_
static VOID CoclientClDeregisterSapComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolSapContext)
{
    UNREFERENCED_PARAMETER(ProtocolSapContext);
    CoclientViolation("deregister SAP completed, but coclient registered none", (ULONG)Status);
}

_Use_decl_annotations_
static VOID CoclientClModifyCallQoSComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolVcContext,
                                            PCO_CALL_PARAMETERS CallParameters)
{
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(CallParameters);
    CoclientViolation("modify QoS completed, but coclient asked for none", (ULONG)Status);
}

_Use_decl_annotations_
static VOID CoclientClAddPartyComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolPartyContext,
                                       NDIS_HANDLE NdisPartyHandle,
                                       PCO_CALL_PARAMETERS CallParameters)
{
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    UNREFERENCED_PARAMETER(NdisPartyHandle);
    UNREFERENCED_PARAMETER(CallParameters);
    CoclientViolation("add party completed, but coclient added none", (ULONG)Status);
}

_Use_decl_annotations_
static VOID CoclientClDropPartyComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolPartyContext)
{
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    CoclientViolation("drop party completed, but coclient has no parties", (ULONG)Status);
}

_Use_decl_annotations_
static VOID CoclientClIncomingDropParty(NDIS_STATUS DropStatus, NDIS_HANDLE ProtocolPartyContext,
                                        PVOID CloseData, UINT Size)
{
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    UNREFERENCED_PARAMETER(CloseData);
    UNREFERENCED_PARAMETER(Size);
    CoclientViolation("incoming drop party, but coclient has no parties", (ULONG)DropStatus);
}

_Use_decl_annotations_
static VOID CoclientClCallConnected(NDIS_HANDLE ProtocolVcContext)
{
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    CoclientViolation("call connected, but coclient accepts no incoming calls", 0);
}

/* ======================================================================
 * The run, on an NDIS I/O work item (PASSIVE_LEVEL: it may wait)
 * ====================================================================== */

/* Worker. Opens the offered AF; TRUE if it is open. */
static BOOLEAN CoclientOpenAf(PCOCLIENT_BINDING b)
{
    NDIS_HANDLE afHandle = NULL;
    NDIS_STATUS status;
    BOOLEAN open;

    NdisAcquireSpinLock(&b->Lock);
    if (b->Stop) {
        /* Unbinding before the open was issued: give up the offer. */
        b->Af.State = CoclientAfClosed;
        NdisReleaseSpinLock(&b->Lock);
        return FALSE;
    }
    NdisReleaseSpinLock(&b->Lock);

    NdisResetEvent(&b->OpEvent);
    status = NdisClOpenAddressFamilyEx(b->BindingHandle, &b->Af.Family, &b->Af, &afHandle);
    if (status != NDIS_STATUS_PENDING)
        CoclientClOpenAfCompleteEx(&b->Af, afHandle, status);
    NdisWaitEvent(&b->OpEvent, 0);

    NdisAcquireSpinLock(&b->Lock);
    open = (b->Af.State == CoclientAfOpen);
    status = b->Af.Status;
    NdisReleaseSpinLock(&b->Lock);
    if (!open)
        DbgPrint("coclient: NdisClOpenAddressFamilyEx(AF 0x%lx) failed (0x%08lx)\n",
                 b->Af.Family.AddressFamily, (ULONG)status);
    return open;
}

/* Worker. NdisCoCreateVc is synchronous: the VC exists when it returns. */
static BOOLEAN CoclientCreateVc(PCOCLIENT_BINDING b)
{
    NDIS_HANDLE vcHandle = NULL; /* must be NULL on input */
    NDIS_STATUS status;

    status = NdisCoCreateVc(b->BindingHandle, b->Af.NdisAfHandle, &b->Vc, &vcHandle);
    if (status != NDIS_STATUS_SUCCESS) {
        DbgPrint("coclient: NdisCoCreateVc failed (0x%08lx)\n", (ULONG)status);
        return FALSE;
    }
    NdisAcquireSpinLock(&b->Lock);
    b->Vc.NdisVcHandle = vcHandle;
    b->Vc.State = CoclientVcCreated;
    NdisReleaseSpinLock(&b->Lock);
    InterlockedIncrement(&g_VcsCreated);
    return TRUE;
}

/*
 * Worker. A bidirectional point-to-point call that leaves everything but
 * the packet size to the call manager: every FLOWSPEC member it need not
 * know is QOS_NOT_SPECIFIED, and neither call-manager- nor media-specific
 * parameters are passed.
 */
static VOID CoclientInitCallParameters(PCOCLIENT_BINDING b)
{
    PCOCLIENT_VC vc = &b->Vc;
    FLOWSPEC flow;

    flow.TokenRate = QOS_NOT_SPECIFIED;
    flow.TokenBucketSize = QOS_NOT_SPECIFIED;
    flow.PeakBandwidth = QOS_NOT_SPECIFIED;
    flow.Latency = QOS_NOT_SPECIFIED;
    flow.DelayVariation = QOS_NOT_SPECIFIED;
    flow.ServiceType = SERVICETYPE_BESTEFFORT;
    flow.MaxSduSize = b->Size;
    flow.MinimumPolicedSize = QOS_NOT_SPECIFIED;

    NdisZeroMemory(&vc->CallMgrParameters, sizeof(vc->CallMgrParameters));
    vc->CallMgrParameters.Transmit = flow;
    vc->CallMgrParameters.Receive = flow;
    vc->CallMgrParameters.CallMgrSpecific.ParamType = 0;
    vc->CallMgrParameters.CallMgrSpecific.Length = 0;

    NdisZeroMemory(&vc->MediaParameters, sizeof(vc->MediaParameters));
    vc->MediaParameters.Flags = TRANSMIT_VC | RECEIVE_VC;
    vc->MediaParameters.ReceivePriority = 0;
    vc->MediaParameters.ReceiveSizeHint = b->Size;
    vc->MediaParameters.MediaSpecific.ParamType = 0;
    vc->MediaParameters.MediaSpecific.Length = 0;

    NdisZeroMemory(&vc->CallParameters, sizeof(vc->CallParameters));
    vc->CallParameters.Flags = 0;
    vc->CallParameters.CallMgrParameters = &vc->CallMgrParameters;
    vc->CallParameters.MediaParameters = &vc->MediaParameters;
}

/* Worker. TRUE if the call is up (the VC is active). */
static BOOLEAN CoclientMakeCall(PCOCLIENT_BINDING b)
{
    NDIS_STATUS status;
    NDIS_HANDLE vcHandle;
    BOOLEAN active;

    CoclientInitCallParameters(b);

    NdisAcquireSpinLock(&b->Lock);
    b->Vc.State = CoclientVcCalling;
    vcHandle = b->Vc.NdisVcHandle;
    NdisReleaseSpinLock(&b->Lock);

    NdisResetEvent(&b->OpEvent);
    status = NdisClMakeCall(vcHandle, &b->Vc.CallParameters, NULL, NULL);
    if (status != NDIS_STATUS_PENDING)
        CoclientClMakeCallComplete(status, &b->Vc, NULL, &b->Vc.CallParameters);
    NdisWaitEvent(&b->OpEvent, 0);

    NdisAcquireSpinLock(&b->Lock);
    active = (b->Vc.State == CoclientVcActive);
    status = b->Vc.CallStatus;
    NdisReleaseSpinLock(&b->Lock);
    if (!active)
        DbgPrint("coclient: NdisClMakeCall failed (0x%08lx)\n", (ULONG)status);
    return active;
}

/*
 * Worker. Primes the window and waits until the run has drained: every NBL
 * sent and back, or a stop requested and every NBL back. The sending itself
 * mostly happens in the completion handler, which reuses each NBL.
 */
static VOID CoclientSendAll(PCOCLIENT_BINDING b)
{
    NdisAcquireSpinLock(&b->Lock);
    CoclientCheckDrainedLocked(b); /* a stop may already have been requested */
    NdisReleaseSpinLock(&b->Lock);

    CoclientPump(b, 0); /* PASSIVE_LEVEL here, so no DISPATCH flag */
    CoclientBugDrain(b); /* test only: plants the worker's bugs meanwhile */
    NdisWaitEvent(&b->DrainedEvent, 0);
    CoclientCheckSendsBack(b);
}

/* Worker. Only once no send is outstanding (NdisClCloseCall requires it). */
static VOID CoclientCloseCall(PCOCLIENT_BINDING b)
{
    NDIS_STATUS status;
    NDIS_HANDLE vcHandle;
    BOOLEAN closed;

    NdisAcquireSpinLock(&b->Lock);
    if (b->Vc.State != CoclientVcActive) {
        NdisReleaseSpinLock(&b->Lock);
        return;
    }
    b->Vc.State = CoclientVcClosing;
    vcHandle = b->Vc.NdisVcHandle;
    NdisReleaseSpinLock(&b->Lock);

    NdisResetEvent(&b->OpEvent);
    status = NdisClCloseCall(vcHandle, NULL, NULL, 0);
    if (status != NDIS_STATUS_PENDING)
        CoclientClCloseCallComplete(status, &b->Vc, NULL);
    NdisWaitEvent(&b->OpEvent, 0);

    NdisAcquireSpinLock(&b->Lock);
    closed = (b->Vc.State == CoclientVcClosed);
    status = b->Vc.CallStatus;
    NdisReleaseSpinLock(&b->Lock);
    if (!closed)
        CoclientViolation("NdisClCloseCall failed; the VC cannot be deleted", (ULONG)status);
}

/* Worker or unbind. Deletes the VC if it has no call (never had, or closed). */
static VOID CoclientDeleteVc(PCOCLIENT_BINDING b)
{
    NDIS_STATUS status;
    NDIS_HANDLE vcHandle;

    NdisAcquireSpinLock(&b->Lock);
    if (b->Vc.State != CoclientVcCreated && b->Vc.State != CoclientVcClosed) {
        NdisReleaseSpinLock(&b->Lock);
        return;
    }
    vcHandle = b->Vc.NdisVcHandle;
    NdisReleaseSpinLock(&b->Lock);

    status = NdisCoDeleteVc(vcHandle);
    if (status != NDIS_STATUS_SUCCESS) {
        CoclientViolation("NdisCoDeleteVc failed", (ULONG)status);
        return;
    }
    /* The handle is dead from here on: forget it. */
    NdisAcquireSpinLock(&b->Lock);
    b->Vc.NdisVcHandle = NULL;
    b->Vc.State = CoclientVcNone;
    NdisReleaseSpinLock(&b->Lock);
    InterlockedIncrement(&g_VcsDeleted);
}

/*
 * Worker or unbind. Closes the AF if it is open, then, if the call manager
 * asked for the close and we pended that request, completes it. The close
 * is waited for before the notification completes: this thread is not the
 * one NDIS called ProtocolClNotifyCloseAf on, so waiting cannot hold up the
 * call manager.
 */
static VOID CoclientCloseAf(PCOCLIENT_BINDING b)
{
    NDIS_STATUS status;
    NDIS_HANDLE afHandle;
    BOOLEAN notify;

    NdisAcquireSpinLock(&b->Lock);
    if (b->Af.State != CoclientAfOpen) {
        NdisReleaseSpinLock(&b->Lock);
        return;
    }
    b->Af.State = CoclientAfClosing;
    afHandle = b->Af.NdisAfHandle;
    NdisReleaseSpinLock(&b->Lock);

    NdisResetEvent(&b->OpEvent);
    status = NdisClCloseAddressFamily(afHandle);
    if (status != NDIS_STATUS_PENDING)
        CoclientClCloseAfComplete(status, &b->Af);
    NdisWaitEvent(&b->OpEvent, 0);

    NdisAcquireSpinLock(&b->Lock);
    status = b->Af.Status;
    notify = b->Af.CloseRequested;
    b->Af.CloseRequested = FALSE;
    if (b->Af.State == CoclientAfClosed)
        b->Af.NdisAfHandle = NULL;
    NdisReleaseSpinLock(&b->Lock);

    if (status != NDIS_STATUS_SUCCESS)
        CoclientViolation("NdisClCloseAddressFamily failed", (ULONG)status);
    if (notify)
        NdisClNotifyCloseAddressFamilyComplete(afHandle, status);
}

/* Worker. One line a test log can be grepped for. */
static VOID CoclientReport(PCOCLIENT_BINDING b)
{
    COCLIENT_VC vc;

    NdisAcquireSpinLock(&b->Lock);
    vc = b->Vc;
    NdisReleaseSpinLock(&b->Lock);

    DbgPrint("coclient: result: count %lu size %lu window %lu: sent %lu completed %lu "
             "failed %lu received %lu out-of-order %lu duplicates %lu bad %lu "
             "max-in-flight %lu unflagged-dispatch-completions %lu errors %lu%s\n",
             b->Count, b->Size, b->Window, vc.Sent, vc.Completed, vc.Failed, vc.Received,
             vc.OutOfOrder, vc.Duplicates, vc.BadData, vc.MaxInflight, vc.FlagOmitted,
             CoclientErrors(), vc.PeerClosed ? " (closed by peer)" : "");
}

/*
 * The run: NDIS_IO_WORKITEM_FUNCTION, PASSIVE_LEVEL on an NDIS worker
 * thread. Each step checks b->Stop first, so an unbind, an AF close request
 * or a peer close at any point skips what is left and goes straight to the
 * teardown of what was set up.
 */
_Use_decl_annotations_
static VOID CoclientWorker(PVOID WorkItemContext, NDIS_HANDLE NdisIoWorkItemHandle)
{
    PCOCLIENT_BINDING b = (PCOCLIENT_BINDING)WorkItemContext;
    BOOLEAN stop;

    /* The work item was allocated for this run alone; its routine may free it. */
    NdisFreeIoWorkItem(NdisIoWorkItemHandle);

    if (CoclientOpenAf(b)) {
        NdisAcquireSpinLock(&b->Lock);
        stop = b->Stop;
        NdisReleaseSpinLock(&b->Lock);

        if (!stop && CoclientCreateVc(b)) {
            NdisAcquireSpinLock(&b->Lock);
            stop = b->Stop;
            NdisReleaseSpinLock(&b->Lock);

            if (!stop && CoclientMakeCall(b))
                CoclientSendAll(b);
            CoclientCloseCall(b); /* no-op unless the call is up */
            CoclientBugAfterCloseCall(b); /* test only */
            CoclientDeleteVc(b);  /* no-op unless the VC has no call */
            CoclientBugAfterDeleteVc(b); /* test only */
        }
        CoclientCloseAf(b);
        CoclientReport(b);
    }

    NdisAcquireSpinLock(&b->Lock);
    b->WorkerActive = FALSE;
    NdisReleaseSpinLock(&b->Lock);
    /*
     * Last touch of the binding: once WorkerIdleEvent is set, unbind may
     * free it, so nothing (not even the lock) is used after this.
     */
    NdisSetEvent(&b->WorkerIdleEvent);
}

/*
 * PASSIVE_LEVEL, from ProtocolCoAfRegisterNotify or the end of bind. The AF
 * was already claimed (Af.State == Opening). Resets the run and queues the
 * worker. Unbind waits for WorkerIdleEvent, so the binding outlives the
 * work item.
 */
static VOID CoclientStartRun(PCOCLIENT_BINDING b)
{
    NDIS_HANDLE workItem;
    ULONG slot;

    /*
     * A previous run clears WorkerActive a moment before it sets
     * WorkerIdleEvent; wait for the event too, or its late set could undo
     * the reset below.
     */
    NdisWaitEvent(&b->WorkerIdleEvent, 0);

    workItem = NdisAllocateIoWorkItem(b->BindingHandle);
    NdisAcquireSpinLock(&b->Lock);
    if (workItem == NULL || b->WorkerActive || b->Unbinding) {
        if (!b->WorkerActive)
            b->Af.State = CoclientAfClosed; /* release the claim on the offer */
        NdisReleaseSpinLock(&b->Lock);
        if (workItem != NULL)
            NdisFreeIoWorkItem(workItem);
        else
            DbgPrint("coclient: NdisAllocateIoWorkItem failed; AF offer dropped\n");
        return;
    }
    b->WorkerActive = TRUE;
    NdisResetEvent(&b->WorkerIdleEvent); /* under the lock, so unbind cannot miss it */
    NdisResetEvent(&b->DrainedEvent);
    b->Stop = FALSE;
    b->Af.CloseRequested = FALSE;

    /* Keep what the VC context must keep; zero the counters of the run. */
    b->Vc.Sent = b->Vc.Completed = b->Vc.Failed = 0;
    b->Vc.Inflight = b->Vc.MaxInflight = b->Vc.FlagOmitted = 0;
    b->Vc.Received = b->Vc.OutOfOrder = b->Vc.Duplicates = b->Vc.BadData = 0;
    b->Vc.NextExpected = 0;
    b->Vc.PeerClosed = FALSE;
    b->Vc.PeerCloseStatus = NDIS_STATUS_SUCCESS;
    for (slot = 0; slot < b->SlotCount; slot++)
        b->Slots[slot].Seq = 0;
    NdisReleaseSpinLock(&b->Lock);

    /* No VC exists, so no receive handler can be reading the bitmap. */
    NdisZeroMemory(b->SeenBitmap, b->SeenBitmapBytes);
    NdisQueueIoWorkItem(workItem, CoclientWorker, b);
}

/*
 * ProtocolCoAfRegisterNotify, PASSIVE_LEVEL: a call manager offers an AF on
 * this binding. The client takes the first one it is offered (a real client
 * would check AddressFamily->AddressFamily and the version first) and does
 * the work on a work item rather than here, so this handler returns at once
 * and the waits in the run block no NDIS thread.
 */
_Use_decl_annotations_
static VOID CoclientCoAfRegisterNotify(NDIS_HANDLE ProtocolBindingContext,
                                       PCO_ADDRESS_FAMILY AddressFamily)
{
    PCOCLIENT_BINDING b = CoclientBindingFromContext(
        ProtocolBindingContext, "AF register notify: unknown ProtocolBindingContext");
    BOOLEAN ready;

    if (b == NULL || AddressFamily == NULL)
        return;

    NdisAcquireSpinLock(&b->Lock);
    if (b->Unbinding || b->WorkerActive || b->Af.State != CoclientAfClosed) {
        NdisReleaseSpinLock(&b->Lock);
        DbgPrint("coclient: AF 0x%lx offered while busy; ignored\n",
                 AddressFamily->AddressFamily);
        return;
    }
    /* The pointer is only good during this call: keep a copy. */
    b->Af.Family = *AddressFamily;
    b->Af.State = CoclientAfOpening;
    ready = b->Ready;
    if (!ready)
        b->AfOfferedEarly = TRUE; /* bind starts the run when it finishes */
    NdisReleaseSpinLock(&b->Lock);

    if (ready)
        CoclientStartRun(b);
}

/* ======================================================================
 * Planted bugs (test only: CoclientBug / CoclientBugEvery)
 *
 * Each function marked PLANTED BUG breaks one rule on purpose, so that a
 * test can show condis' verifier catching it. With CoclientBug unset
 * (b->Bug == CoclientBugNone) every hook below returns at once and changes
 * nothing. Whatever condis refuses or repairs, the client goes on and ends
 * its run in order.
 * ====================================================================== */

static const struct {
    PCWSTR Id;
    COCLIENT_BUG Bug;
} g_CoclientBugIds[] = {
    { L"OWN-1", CoclientBugOwn1 },   { L"OWN-2", CoclientBugOwn2 },
    { L"OWN-3", CoclientBugOwn3 },   { L"NBL-1", CoclientBugNbl1 },
    { L"NBL-2", CoclientBugNbl2 },   { L"NBL-4", CoclientBugNbl4 },
    { L"VC-1", CoclientBugVc1 },     { L"VC-2", CoclientBugVc2 },
    { L"VC-3", CoclientBugVc3 },     { L"VC-4", CoclientBugVc4 },
    { L"IRQL-1", CoclientBugIrql1 }, { L"IRQL-2", CoclientBugIrql2 },
    { L"IRQL-3", CoclientBugIrql3 }, { L"RES-1", CoclientBugRes1 },
    { L"RES-2", CoclientBugRes2 },
};

/* The memory block RES-1 leaves behind; never freed, on purpose. */
static PVOID g_CoclientBugLeak;

/* Any IRQL. The name of the bug, for DbgPrint. */
static PCWSTR CoclientBugName(COCLIENT_BUG Bug)
{
    ULONG i;

    for (i = 0; i < RTL_NUMBER_OF(g_CoclientBugIds); i++) {
        if (g_CoclientBugIds[i].Bug == Bug)
            return g_CoclientBugIds[i].Id;
    }
    return L"none";
}

/*
 * PASSIVE_LEVEL, from CoclientReadParameters. Reads CoclientBug (a string)
 * and CoclientBugEvery. A missing CoclientBug is no bug; one that names no
 * rule below sets BugInvalid, and bind fails.
 */
static VOID CoclientReadBugParameters(PCOCLIENT_BINDING b, NDIS_HANDLE Config)
{
    NDIS_STRING keyword;
    PNDIS_CONFIGURATION_PARAMETER value = NULL;
    NDIS_STATUS status;
    ULONG i;

    b->Bug = CoclientBugNone;
    NdisInitUnicodeString(&keyword, L"CoclientBug");
    NdisReadConfiguration(&status, &value, Config, &keyword, NdisParameterString);
    if (status != NDIS_STATUS_SUCCESS || value == NULL)
        return;
    if (value->ParameterType == NdisParameterString) {
        for (i = 0; i < RTL_NUMBER_OF(g_CoclientBugIds); i++) {
            NDIS_STRING id;

            NdisInitUnicodeString(&id, g_CoclientBugIds[i].Id);
            if (NdisEqualString(&id, &value->ParameterData.StringData, TRUE)) {
                b->Bug = g_CoclientBugIds[i].Bug;
                break;
            }
        }
    }
    if (b->Bug == CoclientBugNone) {
        b->BugInvalid = TRUE;
        if (value->ParameterType == NdisParameterString)
            DbgPrint("coclient: error: CoclientBug=%wZ names no rule this client can break\n",
                     &value->ParameterData.StringData);
        else
            DbgPrint("coclient: error: CoclientBug is not a string\n");
        return;
    }
    b->BugEvery = CoclientReadParameter(Config, L"CoclientBugEvery", 0, 0, COCLIENT_MAX_COUNT);
}

/*
 * PASSIVE_LEVEL, from bind once the parameters and send resources are
 * there. Allocates what the bug needs beyond the clean client's resources.
 */
static NDIS_STATUS CoclientBugSetup(PCOCLIENT_BINDING b)
{
    ULONG i;

    if (b->Bug == CoclientBugNone)
        return NDIS_STATUS_SUCCESS;

    /* The first time: in full flow, a few sends after the window was primed. */
    b->BugNextAt = b->Window + 8;
    if (b->BugNextAt >= b->Count)
        b->BugNextAt = b->Count / 2;
    NdisAllocateSpinLock(&b->BugLock);

    switch (b->Bug) {
    case CoclientBugNbl4:
    case CoclientBugVc1:
    case CoclientBugVc4:
    case CoclientBugIrql1:
        b->BugBuffer = NdisAllocateMemoryWithTagPriority(g_ProtocolHandle, b->Size, COCLIENT_TAG,
                                                         NormalPoolPriority);
        if (b->BugBuffer == NULL)
            return NDIS_STATUS_RESOURCES;
        for (i = 0; i < b->Size; i++)
            b->BugBuffer[i] = (UCHAR)i;
        b->BugMdl = NdisAllocateMdl(g_ProtocolHandle, b->BugBuffer, b->Size);
        if (b->BugMdl == NULL)
            return NDIS_STATUS_RESOURCES;
        b->BugNbl = NdisAllocateNetBufferAndNetBufferList(b->NblPool, 0, 0, b->BugMdl, 0,
                                                          b->Size);
        if (b->BugNbl == NULL)
            return NDIS_STATUS_RESOURCES;
        NET_BUFFER_LIST_PROTOCOL_RESERVED(b->BugNbl)[0] = NULL; /* not a slot */
        break;
    case CoclientBugNbl2:
        b->BugFakeNbl = NdisAllocateMemoryWithTagPriority(
            g_ProtocolHandle, sizeof(NET_BUFFER_LIST), COCLIENT_TAG, NormalPoolPriority);
        if (b->BugFakeNbl == NULL)
            return NDIS_STATUS_RESOURCES;
        NdisZeroMemory(b->BugFakeNbl, sizeof(NET_BUFFER_LIST));
        break;
    case CoclientBugRes1:
        /* PLANTED BUG (RES-1): allocated here, never freed. */
        g_CoclientBugLeak = NdisAllocateMemoryWithTagPriority(g_ProtocolHandle, 64, COCLIENT_TAG,
                                                              NormalPoolPriority);
        DbgPrint("coclient: planted bug RES-1: 64 bytes allocated that unload will not free\n");
        break;
    default:
        break;
    }
    return NDIS_STATUS_SUCCESS;
}

/* PASSIVE_LEVEL, from CoclientFreeSendResources, before the pool goes. */
static VOID CoclientBugFreeResources(PCOCLIENT_BINDING b)
{
    if (b->Bug == CoclientBugNone)
        return;
    if (b->BugNbl != NULL && !b->BugNblOut) {
        NdisFreeNetBufferList(b->BugNbl);
        b->BugNbl = NULL;
    }
    if (b->BugNbl == NULL && b->BugMdl != NULL) {
        NdisFreeMdl(b->BugMdl);
        b->BugMdl = NULL;
    }
    if (b->BugNbl == NULL && b->BugBuffer != NULL) {
        NdisFreeMemoryWithTagPriority(g_ProtocolHandle, b->BugBuffer, COCLIENT_TAG);
        b->BugBuffer = NULL;
    }
    if (b->BugFakeNbl != NULL && !b->BugFakeOut) {
        NdisFreeMemoryWithTagPriority(g_ProtocolHandle, b->BugFakeNbl, COCLIENT_TAG);
        b->BugFakeNbl = NULL;
    }
    if (b->BugLockHeld) {
        /* IRQL-3 left it held by a thread that is gone; see CoclientBugDrain. */
        b->BugLockHeld = FALSE;
    }
    NdisFreeSpinLock(&b->BugLock);
    b->Bug = CoclientBugNone;
}

/*
 * Caller holds b->Lock. TRUE if bug Bug is due now (it is this binding's
 * bug and enough NBLs have been sent). The caller checks its own
 * precondition, then calls CoclientBugPlantedLocked if it plants the bug.
 */
static BOOLEAN CoclientBugDueLocked(const COCLIENT_BINDING *b, COCLIENT_BUG Bug)
{
    return b->Bug == Bug && b->BugNextAt != MAXULONG && b->Vc.Sent >= b->BugNextAt;
}

/* Caller holds b->Lock: the bug was planted; schedule the next one. */
static VOID CoclientBugPlantedLocked(PCOCLIENT_BINDING b)
{
    b->BugPlanted++;
    b->BugNextAt = (b->BugEvery != 0) ? b->Vc.Sent + b->BugEvery : MAXULONG;
}

/* Lock not held, any IRQL <= DISPATCH_LEVEL. Due and planted in one step. */
static BOOLEAN CoclientBugTake(PCOCLIENT_BINDING b, COCLIENT_BUG Bug)
{
    BOOLEAN due;

    if (b->Bug != Bug)
        return FALSE;
    NdisAcquireSpinLock(&b->Lock);
    due = CoclientBugDueLocked(b, Bug);
    if (due)
        CoclientBugPlantedLocked(b);
    NdisReleaseSpinLock(&b->Lock);
    return due;
}

/*
 * PLANTED BUG (NBL-1). From the pump, once the NBL is prepared and still
 * the client's: its SourceHandle is not the VC it goes out on.
 */
static VOID CoclientBugStamp(PCOCLIENT_BINDING b, PCOCLIENT_SLOT Slot)
{
    if (!CoclientBugTake(b, CoclientBugNbl1))
        return;
    Slot->Nbl->SourceHandle = NULL;
    DbgPrint("coclient: planted bug NBL-1: NBL %lu sent with SourceHandle NULL\n", Slot->Seq);
}

/*
 * From the pump, on the thread that just sent: Last is the last slot of the
 * chain, which is NDIS's now. The bugs look at it only while the client's
 * own InFlight flag says it has not come back; b->Lock is held meanwhile so
 * that the completion handler cannot reclaim (and the pump reuse) it.
 */
static VOID CoclientBugAfterSend(PCOCLIENT_BINDING b, PCOCLIENT_SLOT Last, ULONG LastSeq)
{
    NDIS_STATUS status;

    if (b->Bug == CoclientBugOwn3) {
        /* Pumps take turns, so every Seq up to LastSeq has been sent: the
         * OWN-3 victim is chosen among those only, never among NBLs a pump
         * has marked InFlight but not handed to NDIS yet. */
        NdisAcquireSpinLock(&b->Lock);
        if (LastSeq + 1 > b->BugSubmitted)
            b->BugSubmitted = LastSeq + 1;
        NdisReleaseSpinLock(&b->Lock);
        return;
    }
    if (b->Bug != CoclientBugOwn1 && b->Bug != CoclientBugOwn2)
        return;
    NdisAcquireSpinLock(&b->Lock);
    if (!CoclientBugDueLocked(b, b->Bug) || !Last->InFlight) {
        NdisReleaseSpinLock(&b->Lock);
        return;
    }
    CoclientBugPlantedLocked(b);
    if (b->Bug == CoclientBugOwn1) {
        /* PLANTED BUG (OWN-1): the data of an NBL in flight changes. */
        Last->Buffer[b->Size - 1] ^= 0xFF;
    } else {
        /*
         * PLANTED BUG (OWN-2): the status of an NBL in flight is read right
         * after the send and taken for its result: anything but PENDING
         * "means" the send is over, so the NBL is freed. condis refuses
         * the free and completes the NBL later as usual.
         */
        status = NET_BUFFER_LIST_STATUS(Last->Nbl);
        if (status != NDIS_STATUS_PENDING)
            NdisFreeNetBufferList(Last->Nbl);
    }
    NdisReleaseSpinLock(&b->Lock);
    DbgPrint("coclient: planted bug %ws on NBL %lu, in flight\n", CoclientBugName(b->Bug),
             Last->Seq);
}

/*
 * From the send-complete handler, before the NBL is taken for a slot: TRUE
 * if it is one of the bugs' own NBLs, which it takes back here.
 */
static BOOLEAN CoclientBugNblBack(PCOCLIENT_BINDING b, PNET_BUFFER_LIST Nbl)
{
    PNET_BUFFER nb;

    if (b == NULL || b->Bug == CoclientBugNone || (Nbl != b->BugNbl && Nbl != b->BugFakeNbl))
        return FALSE;
    NET_BUFFER_LIST_NEXT_NBL(Nbl) = NULL;
    nb = NET_BUFFER_LIST_FIRST_NB(Nbl);
    if (Nbl == b->BugNbl && nb != NULL)
        NET_BUFFER_DATA_LENGTH(nb) = b->Size; /* undo NBL-4 */
    DbgPrint("coclient: planted bug %ws: the extra NBL is back (0x%08lx)\n",
             CoclientBugName(b->Bug), (ULONG)NET_BUFFER_LIST_STATUS(Nbl));
    NdisAcquireSpinLock(&b->Lock);
    if (Nbl == b->BugNbl)
        b->BugNblOut = FALSE;
    else
        b->BugFakeOut = FALSE;
    NdisReleaseSpinLock(&b->Lock);
    return TRUE;
}

/*
 * At the end of the send-complete handler, at the IRQL it runs at. The
 * IRQL bugs need DISPATCH_LEVEL, where sim's completions come from.
 */
static VOID CoclientBugInCompletion(PCOCLIENT_BINDING b, KIRQL Irql)
{
    BOOLEAN release = FALSE;

    if (b == NULL || (b->Bug != CoclientBugIrql2 && b->Bug != CoclientBugIrql3) ||
        Irql != DISPATCH_LEVEL)
        return;
    if (b->Bug == CoclientBugIrql2) {
        if (CoclientBugTake(b, CoclientBugIrql2)) {
            /* PLANTED BUG (IRQL-2): a PASSIVE_LEVEL-only call at DISPATCH_LEVEL. */
            NdisMSleep(1);
            DbgPrint("coclient: planted bug IRQL-2: NdisMSleep at DISPATCH_LEVEL\n");
        }
        return;
    }

    /* IRQL-3: the lock an earlier call kept is released first. */
    NdisAcquireSpinLock(&b->Lock);
    release = b->BugLockHeld;
    b->BugLockHeld = FALSE;
    NdisReleaseSpinLock(&b->Lock);
    if (release) {
        /* Not planted again in this call: the verifier would see no change. */
        NdisDprReleaseSpinLock(&b->BugLock);
        return;
    }
    if (CoclientBugTake(b, CoclientBugIrql3)) {
        /* PLANTED BUG (IRQL-3): the handler returns with a spin lock held. */
        NdisDprAcquireSpinLock(&b->BugLock);
        NdisAcquireSpinLock(&b->Lock);
        b->BugLockHeld = TRUE;
        NdisReleaseSpinLock(&b->Lock);
        DbgPrint("coclient: planted bug IRQL-3: returning from send complete with a spin "
                 "lock held\n");
    }
}

/*
 * Worker, PASSIVE_LEVEL. Sends one of the bugs' own NBLs on VcHandle with
 * SendFlags and says whether it is out; it comes back through
 * CoclientBugNblBack (or, on a deleted VC, stays with the client).
 */
static VOID CoclientBugSendExtra(PCOCLIENT_BINDING b, PNET_BUFFER_LIST Nbl, NDIS_HANDLE VcHandle,
                                 ULONG SendFlags)
{
    NdisAcquireSpinLock(&b->Lock);
    if (Nbl == b->BugNbl)
        b->BugNblOut = TRUE;
    else
        b->BugFakeOut = TRUE;
    NdisReleaseSpinLock(&b->Lock);
    NET_BUFFER_LIST_NEXT_NBL(Nbl) = NULL;
    Nbl->SourceHandle = VcHandle;
    NET_BUFFER_LIST_STATUS(Nbl) = NDIS_STATUS_SUCCESS;
    NdisCoSendNetBufferLists(VcHandle, Nbl, SendFlags);
}

/* Worker, PASSIVE_LEVEL. Waits until the bugs' own NBLs are back. */
static VOID CoclientBugWaitExtra(PCOCLIENT_BINDING b)
{
    BOOLEAN out;

    for (;;) {
        NdisAcquireSpinLock(&b->Lock);
        out = b->BugNblOut || b->BugFakeOut;
        NdisReleaseSpinLock(&b->Lock);
        if (!out)
            return;
        NdisMSleep(1000);
    }
}

/*
 * Worker, PASSIVE_LEVEL, about every millisecond while the run goes on:
 * plants the bugs that the worker thread commits.
 */
static VOID CoclientBugWorkerStep(PCOCLIENT_BINDING b)
{
    NDIS_HANDLE vcHandle;
    NDIS_STATUS status;
    PCOCLIENT_SLOT victim = NULL;
    BOOLEAN due;
    ULONG i;

    NdisAcquireSpinLock(&b->Lock);
    due = CoclientBugDueLocked(b, b->Bug) && b->Vc.State == CoclientVcActive && !b->Stop;
    vcHandle = b->Vc.NdisVcHandle;
    if (!due) {
        NdisReleaseSpinLock(&b->Lock);
        return;
    }
    switch (b->Bug) {
    case CoclientBugOwn3:
        /*
         * PLANTED BUG (OWN-3): free an NBL that is in flight. The victim
         * is the newest one a completion handler sent (not the worker's
         * first window), so the free comes from another thread than its
         * send, long after it.
         */
        for (i = 0; i < b->SlotCount; i++) {
            PCOCLIENT_SLOT slot = &b->Slots[i];

            if (slot->InFlight && slot->Seq >= b->Window && slot->Seq < b->BugSubmitted &&
                (victim == NULL || slot->Seq > victim->Seq))
                victim = slot;
        }
        if (victim != NULL) {
            CoclientBugPlantedLocked(b);
            NdisFreeNetBufferList(victim->Nbl); /* condis refuses: it is in flight */
            DbgPrint("coclient: planted bug OWN-3: freed NBL %lu in flight\n", victim->Seq);
        }
        NdisReleaseSpinLock(&b->Lock);
        return;

    case CoclientBugVc2:
        if (b->Vc.Inflight == 0)
            break;
        CoclientBugPlantedLocked(b);
        b->Stop = TRUE; /* no new sends: only the ones in flight */
        NdisReleaseSpinLock(&b->Lock);
        /* A pump that took its slots before the stop is still sending them. */
        while (CoclientRead(&b->Pumping) != 0)
            NdisMSleep(100);
        /* PLANTED BUG (VC-2): close the call with NBLs still in flight. */
        DbgPrint("coclient: planted bug VC-2: NdisClCloseCall with NBLs in flight\n");
        CoclientCloseCall(b);
        return;

    case CoclientBugVc3:
        CoclientBugPlantedLocked(b);
        NdisReleaseSpinLock(&b->Lock);
        /* PLANTED BUG (VC-3): delete the VC while its call is up. */
        status = NdisCoDeleteVc(vcHandle);
        DbgPrint("coclient: planted bug VC-3: NdisCoDeleteVc on the active VC: 0x%08lx\n",
                 (ULONG)status);
        return;

    case CoclientBugIrql1:
    case CoclientBugNbl4:
    case CoclientBugNbl2:
        if (b->BugNblOut || b->BugFakeOut)
            break;
        CoclientBugPlantedLocked(b);
        NdisReleaseSpinLock(&b->Lock);
        if (b->Bug == CoclientBugIrql1) {
            /* PLANTED BUG (IRQL-1): the DISPATCH_LEVEL flag, sent at PASSIVE_LEVEL. */
            CoclientBugSendExtra(b, b->BugNbl, vcHandle, NDIS_SEND_FLAGS_DISPATCH_LEVEL);
        } else if (b->Bug == CoclientBugNbl4) {
            /* PLANTED BUG (NBL-4): DataLength past the end of the MDL chain. */
            NET_BUFFER_DATA_LENGTH(NET_BUFFER_LIST_FIRST_NB(b->BugNbl)) = b->Size + 16;
            CoclientBugSendExtra(b, b->BugNbl, vcHandle, 0);
        } else {
            /* PLANTED BUG (NBL-2): an NBL that no NBL pool allocated. */
            CoclientBugSendExtra(b, b->BugFakeNbl, vcHandle, 0);
        }
        DbgPrint("coclient: planted bug %ws: extra NBL sent\n", CoclientBugName(b->Bug));
        return;

    default:
        break;
    }
    NdisReleaseSpinLock(&b->Lock);
}

/*
 * Worker, PASSIVE_LEVEL, instead of a plain wait for the run to drain when
 * a bug is planted: wakes every millisecond to plant the worker's bugs.
 * The bugs' own NBLs are back when it returns.
 */
static VOID CoclientBugDrain(PCOCLIENT_BINDING b)
{
    BOOLEAN release;

    if (b->Bug == CoclientBugNone)
        return;
    while (!NdisWaitEvent(&b->DrainedEvent, 1))
        CoclientBugWorkerStep(b);
    CoclientBugWaitExtra(b);

    /*
     * IRQL-3: a lock the last completion kept is released here, on another
     * thread (itself an IRQL-3 finding, and the lock is free again).
     */
    NdisAcquireSpinLock(&b->Lock);
    release = b->BugLockHeld;
    b->BugLockHeld = FALSE;
    NdisReleaseSpinLock(&b->Lock);
    if (release)
        NdisDprReleaseSpinLock(&b->BugLock);

    if (b->Bug == CoclientBugRes2) {
        /* PLANTED BUG (RES-2): free the pool while its NBLs are allocated. */
        NdisFreeNetBufferListPool(b->NblPool);
        DbgPrint("coclient: planted bug RES-2: NdisFreeNetBufferListPool with NBLs "
                 "allocated\n");
    }
}

/* Worker, PASSIVE_LEVEL, once the call is closed and before the VC goes. */
static VOID CoclientBugAfterCloseCall(PCOCLIENT_BINDING b)
{
    NDIS_HANDLE vcHandle;
    BOOLEAN closed;

    if (b->Bug != CoclientBugVc1 && b->Bug != CoclientBugVc4)
        return;
    NdisAcquireSpinLock(&b->Lock);
    closed = (b->Vc.State == CoclientVcClosed);
    vcHandle = b->Vc.NdisVcHandle;
    NdisReleaseSpinLock(&b->Lock);
    if (!closed)
        return;
    if (b->Bug == CoclientBugVc4) {
        b->BugStaleVc = vcHandle; /* kept past NdisCoDeleteVc: the bug */
        return;
    }
    /* PLANTED BUG (VC-1): send on a VC whose call is closed. */
    b->BugPlanted++;
    CoclientBugSendExtra(b, b->BugNbl, vcHandle, 0);
    DbgPrint("coclient: planted bug VC-1: NBL sent after the call was closed\n");
    CoclientBugWaitExtra(b);
}

/* Worker, PASSIVE_LEVEL, after NdisCoDeleteVc. */
static VOID CoclientBugAfterDeleteVc(PCOCLIENT_BINDING b)
{
    if (b->Bug != CoclientBugVc4 || b->BugStaleVc == NULL)
        return;
    NdisAcquireSpinLock(&b->Lock);
    if (b->Vc.State != CoclientVcNone) { /* the delete failed: the handle is good */
        NdisReleaseSpinLock(&b->Lock);
        return;
    }
    NdisReleaseSpinLock(&b->Lock);
    /*
     * PLANTED BUG (VC-4): the deleted VC's handle used for a send. condis
     * leaves the NBL with the caller, so it is not out afterwards.
     */
    b->BugPlanted++;
    CoclientBugSendExtra(b, b->BugNbl, b->BugStaleVc, 0);
    NdisAcquireSpinLock(&b->Lock);
    b->BugNblOut = FALSE;
    NdisReleaseSpinLock(&b->Lock);
    b->BugStaleVc = NULL;
    DbgPrint("coclient: planted bug VC-4: NBL sent on a deleted VC's handle\n");
}

/* ======================================================================
 * Binding and unbinding
 * ====================================================================== */

/* PASSIVE_LEVEL. Only called when NdisOpenAdapterEx returned PENDING. */
_Use_decl_annotations_
static VOID CoclientOpenAdapterCompleteEx(NDIS_HANDLE ProtocolBindingContext, NDIS_STATUS Status)
{
    PCOCLIENT_BINDING b = CoclientBindingFromContext(
        ProtocolBindingContext, "open adapter complete: unknown ProtocolBindingContext");

    if (b == NULL)
        return;
    b->OpStatus = Status;
    NdisSetEvent(&b->OpEvent);
}

/* PASSIVE_LEVEL. Only called when NdisCloseAdapterEx returned PENDING. */
_Use_decl_annotations_
static VOID CoclientCloseAdapterCompleteEx(NDIS_HANDLE ProtocolBindingContext)
{
    PCOCLIENT_BINDING b = CoclientBindingFromContext(
        ProtocolBindingContext, "close adapter complete: unknown ProtocolBindingContext");

    if (b == NULL)
        return;
    b->OpStatus = NDIS_STATUS_SUCCESS;
    NdisSetEvent(&b->OpEvent);
}

/* PASSIVE_LEVEL. Waits until no data-path handler is inside the binding. */
static VOID CoclientWaitForHandlers(PCOCLIENT_BINDING b)
{
    while (CoclientRead(&b->HandlersRunning) != 0)
        NdisMSleep(100);
}

/* PASSIVE_LEVEL. Closes the adapter, waiting if the close pends. */
static VOID CoclientCloseAdapter(PCOCLIENT_BINDING b)
{
    NDIS_STATUS status;

    NdisResetEvent(&b->OpEvent);
    status = NdisCloseAdapterEx(b->BindingHandle);
    if (status == NDIS_STATUS_PENDING)
        NdisWaitEvent(&b->OpEvent, 0);
    else if (status != NDIS_STATUS_SUCCESS)
        CoclientViolation("NdisCloseAdapterEx failed", (ULONG)status);
    /* The binding handle is invalid from the NdisCloseAdapterEx call on. */
    b->BindingHandle = NULL;
}

/*
 * PASSIVE_LEVEL. Frees the binding context itself, last of all, with the
 * seen-bitmap the receive path uses (receives may arrive until the adapter
 * is closed, after the send resources are gone).
 */
static VOID CoclientFreeBinding(PCOCLIENT_BINDING b)
{
    if (b->SeenBitmap != NULL)
        NdisFreeMemoryWithTagPriority(g_ProtocolHandle, b->SeenBitmap, COCLIENT_TAG);
    b->SeenBitmap = NULL;
    NdisFreeSpinLock(&b->Lock);
    b->Signature = 0;
    NdisFreeMemoryWithTagPriority(g_ProtocolHandle, b, COCLIENT_TAG);
}

/*
 * ProtocolBindAdapterEx, PASSIVE_LEVEL. Opens the adapter and waits for the
 * open to finish if it pends (the ndisprot way: simpler than returning
 * PENDING and completing the bind later), then sets up everything the run
 * will need, so nothing on the data path ever allocates.
 */
_Use_decl_annotations_
static NDIS_STATUS CoclientBindAdapterEx(NDIS_HANDLE ProtocolDriverContext,
                                         NDIS_HANDLE BindContext,
                                         PNDIS_BIND_PARAMETERS BindParameters)
{
    PCOCLIENT_BINDING b;
    NDIS_STATUS status;
    BOOLEAN early;

    UNREFERENCED_PARAMETER(ProtocolDriverContext);

    b = NdisAllocateMemoryWithTagPriority(g_ProtocolHandle, sizeof(*b), COCLIENT_TAG,
                                          NormalPoolPriority);
    if (b == NULL)
        return NDIS_STATUS_RESOURCES;
    NdisZeroMemory(b, sizeof(*b));
    b->Signature = COCLIENT_BINDING_SIGNATURE;
    NdisAllocateSpinLock(&b->Lock);
    NdisInitializeEvent(&b->OpEvent);
    NdisInitializeEvent(&b->DrainedEvent);
    NdisInitializeEvent(&b->IdleEvent);
    NdisSetEvent(&b->IdleEvent); /* nothing in flight yet */
    NdisInitializeEvent(&b->WorkerIdleEvent);
    NdisSetEvent(&b->WorkerIdleEvent); /* no worker yet */
    b->Af.Signature = COCLIENT_AF_SIGNATURE;
    b->Af.Binding = b;
    b->Af.State = CoclientAfClosed;
    b->Vc.Signature = COCLIENT_VC_SIGNATURE;
    b->Vc.Binding = b;
    b->Vc.State = CoclientVcNone;

    /* A CoNDIS client speaks to connection-oriented WAN-style adapters. */
    b->MediumArray[0] = NdisMediumCoWan;
    b->OpenParameters.Header.Type = NDIS_OBJECT_TYPE_OPEN_PARAMETERS;
    b->OpenParameters.Header.Revision = NDIS_OPEN_PARAMETERS_REVISION_1;
    b->OpenParameters.Header.Size = NDIS_SIZEOF_OPEN_PARAMETERS_REVISION_1;
    b->OpenParameters.AdapterName = BindParameters->AdapterName;
    b->OpenParameters.MediumArray = b->MediumArray;
    b->OpenParameters.MediumArraySize = RTL_NUMBER_OF(b->MediumArray);
    b->OpenParameters.SelectedMediumIndex = &b->SelectedMediumIndex;
    b->OpenParameters.FrameTypeArray = NULL; /* no frame types on a VC */
    b->OpenParameters.FrameTypeArraySize = 0;

    NdisResetEvent(&b->OpEvent);
    status = NdisOpenAdapterEx(g_ProtocolHandle, b, &b->OpenParameters, BindContext,
                               &b->BindingHandle);
    if (status == NDIS_STATUS_PENDING) {
        /* BindingHandle and SelectedMediumIndex are valid only after this. */
        NdisWaitEvent(&b->OpEvent, 0);
        status = b->OpStatus;
    }
    if (status != NDIS_STATUS_SUCCESS) {
        DbgPrint("coclient: NdisOpenAdapterEx(%wZ) failed (0x%08lx)\n",
                 BindParameters->AdapterName, (ULONG)status);
        CoclientFreeBinding(b);
        return status;
    }
    if (b->SelectedMediumIndex != 0)
        CoclientViolation("open adapter: SelectedMediumIndex outside MediumArray",
                          b->SelectedMediumIndex);

    CoclientReadParameters(b);
    if (b->BugInvalid) {
        /* Test only: a CoclientBug this client does not know fails the bind. */
        CoclientCloseAdapter(b);
        CoclientFreeBinding(b);
        return NDIS_STATUS_FAILURE;
    }
    status = CoclientAllocateSendResources(b);
    if (status == NDIS_STATUS_SUCCESS)
        status = CoclientBugSetup(b); /* test only */
    if (status != NDIS_STATUS_SUCCESS) {
        DbgPrint("coclient: out of memory for %lu slots of %lu bytes\n", b->Window, b->Size);
        CoclientFreeSendResources(b);
        CoclientCloseAdapter(b);
        CoclientFreeBinding(b);
        return status;
    }

    NdisAcquireSpinLock(&b->Lock);
    b->Ready = TRUE;
    early = b->AfOfferedEarly;
    b->AfOfferedEarly = FALSE;
    NdisReleaseSpinLock(&b->Lock);
    if (early)
        CoclientStartRun(b);

    DbgPrint("coclient: bound to %wZ: count %lu size %lu window %lu\n",
             BindParameters->AdapterName, b->Count, b->Size, b->Window);
    return NDIS_STATUS_SUCCESS;
}

/*
 * ProtocolUnbindAdapterEx, PASSIVE_LEVEL; an unbind cannot fail. Stops the
 * run and waits for its worker, which closes the call, deletes the VC and
 * closes the AF on its way out; closes whatever that left open; frees the
 * send resources; closes the adapter, waiting if that pends; frees the
 * binding. Receive indications may still arrive until the close completes,
 * so the binding context goes last.
 */
_Use_decl_annotations_
static NDIS_STATUS CoclientUnbindAdapterEx(NDIS_HANDLE UnbindContext,
                                           NDIS_HANDLE ProtocolBindingContext)
{
    PCOCLIENT_BINDING b = CoclientBindingFromContext(
        ProtocolBindingContext, "unbind: unknown ProtocolBindingContext");

    UNREFERENCED_PARAMETER(UnbindContext);
    if (b == NULL)
        return NDIS_STATUS_SUCCESS;

    NdisAcquireSpinLock(&b->Lock);
    b->Unbinding = TRUE;
    NdisReleaseSpinLock(&b->Lock);
    CoclientRequestStop(b);
    NdisWaitEvent(&b->WorkerIdleEvent, 0);

    /* Normally nothing is left; these are no-ops then. */
    CoclientDeleteVc(b);
    CoclientCloseAf(b);

    /* A completion that let the run end may still be leaving its handler. */
    CoclientWaitForHandlers(b);
    CoclientFreeSendResources(b);
    CoclientCloseAdapter(b);

    /*
     * No indication starts after the close has completed, but one that
     * started before may still be on its way out.
     */
    CoclientWaitForHandlers(b);
    CoclientFreeBinding(b);
    return NDIS_STATUS_SUCCESS;
}

/*
 * ProtocolNetPnPEvent, PASSIVE_LEVEL. A paused binding may start no send,
 * and the pause is not finished until every send is back; a restart lets
 * the run go on from where it stopped. Everything else needs no action.
 */
_Use_decl_annotations_
static NDIS_STATUS CoclientNetPnPEvent(NDIS_HANDLE ProtocolBindingContext,
                                       PNET_PNP_EVENT_NOTIFICATION NetPnPEventNotification)
{
    PCOCLIENT_BINDING b;

    if (ProtocolBindingContext == NULL || NetPnPEventNotification == NULL)
        return NDIS_STATUS_SUCCESS; /* events about the driver as a whole */
    b = CoclientBindingFromContext(ProtocolBindingContext,
                                   "PnP event: unknown ProtocolBindingContext");
    if (b == NULL)
        return NDIS_STATUS_SUCCESS;

    switch (NetPnPEventNotification->NetPnPEvent.NetEvent) {
    case NetEventPause:
        NdisAcquireSpinLock(&b->Lock);
        b->Paused = TRUE;
        NdisReleaseSpinLock(&b->Lock);
        NdisWaitEvent(&b->IdleEvent, 0);
        break;
    case NetEventRestart:
        NdisAcquireSpinLock(&b->Lock);
        b->Paused = FALSE;
        NdisReleaseSpinLock(&b->Lock);
        CoclientPump(b, 0); /* resumes a run the pause interrupted */
        break;
    default:
        break;
    }
    return NDIS_STATUS_SUCCESS;
}

/*
 * The connectionless handlers every NDIS 6 protocol registers. On a CoNDIS
 * binding data moves on VCs, so these should stay silent; the receive one
 * still gives back anything it is handed. IRQL <= DISPATCH_LEVEL.
 */
_Use_decl_annotations_
static VOID CoclientReceiveNetBufferLists(NDIS_HANDLE ProtocolBindingContext,
                                          PNET_BUFFER_LIST NetBufferLists,
                                          NDIS_PORT_NUMBER PortNumber,
                                          ULONG NumberOfNetBufferLists, ULONG ReceiveFlags)
{
    PCOCLIENT_BINDING b = CoclientBindingFromContext(
        ProtocolBindingContext, "connectionless receive: unknown ProtocolBindingContext");

    UNREFERENCED_PARAMETER(PortNumber);
    UNREFERENCED_PARAMETER(NumberOfNetBufferLists);
    if (b == NULL)
        return;
    CoclientEnterHandler(b);
    if (!NDIS_TEST_RECEIVE_CANNOT_PEND(ReceiveFlags))
        NdisReturnNetBufferLists(b->BindingHandle, NetBufferLists,
                                 NDIS_TEST_RECEIVE_AT_DISPATCH_LEVEL(ReceiveFlags)
                                     ? NDIS_RETURN_FLAGS_DISPATCH_LEVEL
                                     : 0);
    CoclientLeaveHandler(b);
}

_Use_decl_annotations_
static VOID CoclientSendNetBufferListsComplete(NDIS_HANDLE ProtocolBindingContext,
                                               PNET_BUFFER_LIST NetBufferList,
                                               ULONG SendCompleteFlags)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(NetBufferList);
    UNREFERENCED_PARAMETER(SendCompleteFlags);
    CoclientViolation("connectionless send complete, but coclient sends only on VCs", 0);
}

_Use_decl_annotations_
static VOID CoclientOidRequestComplete(NDIS_HANDLE ProtocolBindingContext,
                                       PNDIS_OID_REQUEST OidRequest, NDIS_STATUS Status)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(OidRequest);
    CoclientViolation("OID request completed, but coclient issued none", (ULONG)Status);
}

_Use_decl_annotations_
static VOID CoclientStatusEx(NDIS_HANDLE ProtocolBindingContext,
                             PNDIS_STATUS_INDICATION StatusIndication)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(StatusIndication);
}

/* ======================================================================
 * Registration
 * ====================================================================== */

/*
 * ProtocolSetOptions, PASSIVE_LEVEL, called from inside
 * NdisRegisterProtocolDriver. This is the only place a protocol can add
 * optional handler sets: here the CoNDIS protocol handlers and the client
 * handlers. NDIS copies both structures, so they may live on the stack.
 */
_Use_decl_annotations_
static NDIS_STATUS CoclientSetOptions(NDIS_HANDLE NdisDriverHandle, NDIS_HANDLE DriverContext)
{
    NDIS_PROTOCOL_CO_CHARACTERISTICS co;
    NDIS_CO_CLIENT_OPTIONAL_HANDLERS client;
    NDIS_STATUS status;

    UNREFERENCED_PARAMETER(DriverContext);

    NdisZeroMemory(&co, sizeof(co));
    co.Header.Type = NDIS_OBJECT_TYPE_CO_PROTOCOL_CHARACTERISTICS;
    co.Header.Revision = NDIS_PROTOCOL_CO_CHARACTERISTICS_REVISION_1;
    co.Header.Size = NDIS_SIZEOF_PROTOCOL_CO_CHARACTERISTICS_REVISION_1;
    co.Flags = 0;
    co.CoStatusHandlerEx = CoclientCoStatusEx;
    co.CoAfRegisterNotifyHandler = CoclientCoAfRegisterNotify;
    co.CoReceiveNetBufferListsHandler = CoclientCoReceiveNetBufferLists;
    co.CoSendNetBufferListsCompleteHandler = CoclientCoSendNetBufferListsComplete;
    status = NdisSetOptionalHandlers(NdisDriverHandle, (PNDIS_DRIVER_OPTIONAL_HANDLERS)&co);
    if (status != NDIS_STATUS_SUCCESS)
        return status;

    /* Every member must be set, even for what the client does not support. */
    NdisZeroMemory(&client, sizeof(client));
    client.Header.Type = NDIS_OBJECT_TYPE_CO_CLIENT_OPTIONAL_HANDLERS;
    client.Header.Revision = NDIS_CO_CLIENT_OPTIONAL_HANDLERS_REVISION_1;
    client.Header.Size = NDIS_SIZEOF_CO_CLIENT_OPTIONAL_HANDLERS_REVISION_1;
    client.Reserved = 0;
    client.ClCreateVcHandler = CoclientCoCreateVc;
    client.ClDeleteVcHandler = CoclientCoDeleteVc;
    client.ClOidRequestHandler = CoclientCoOidRequest;
    client.ClOidRequestCompleteHandler = CoclientCoOidRequestComplete;
    client.ClOpenAfCompleteHandlerEx = CoclientClOpenAfCompleteEx;
    client.ClCloseAfCompleteHandler = CoclientClCloseAfComplete;
    client.ClRegisterSapCompleteHandler = CoclientClRegisterSapComplete;
    client.ClDeregisterSapCompleteHandler = CoclientClDeregisterSapComplete;
    client.ClMakeCallCompleteHandler = CoclientClMakeCallComplete;
    client.ClModifyCallQoSCompleteHandler = CoclientClModifyCallQoSComplete;
    client.ClCloseCallCompleteHandler = CoclientClCloseCallComplete;
    client.ClAddPartyCompleteHandler = CoclientClAddPartyComplete;
    client.ClDropPartyCompleteHandler = CoclientClDropPartyComplete;
    client.ClIncomingCallHandler = CoclientClIncomingCall;
    client.ClIncomingCallQoSChangeHandler = CoclientClIncomingCallQoSChange;
    client.ClIncomingCloseCallHandler = CoclientClIncomingCloseCall;
    client.ClIncomingDropPartyHandler = CoclientClIncomingDropParty;
    client.ClCallConnectedHandler = CoclientClCallConnected;
    client.ClNotifyCloseAfHandler = CoclientClNotifyCloseAf;
    return NdisSetOptionalHandlers(NdisDriverHandle, (PNDIS_DRIVER_OPTIONAL_HANDLERS)&client);
}

/*
 * DriverUnload, PASSIVE_LEVEL. Deregistering makes NDIS unbind every
 * binding that is still open (each through ProtocolUnbindAdapterEx) before
 * it returns; after it, no handler of this driver runs again.
 */
_Use_decl_annotations_
static VOID CoclientUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    if (g_ProtocolHandle != NULL) {
        NdisDeregisterProtocolDriver(g_ProtocolHandle);
        g_ProtocolHandle = NULL;
    }
    DbgPrint("coclient: unloaded: VCs created %lu deleted %lu, errors %lu\n",
             CoclientRead(&g_VcsCreated), CoclientRead(&g_VcsDeleted), CoclientErrors());
}

/*
 * DriverEntry, PASSIVE_LEVEL: registers the protocol. NDIS calls
 * ProtocolSetOptions before NdisRegisterProtocolDriver returns, and starts
 * binding (ProtocolBindAdapterEx) as soon as it has.
 */
_Use_decl_annotations_
NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NDIS_PROTOCOL_DRIVER_CHARACTERISTICS pc;
    NDIS_STRING name = NDIS_STRING_CONST("coclient");
    NDIS_STATUS status;

    UNREFERENCED_PARAMETER(RegistryPath);

    InterlockedExchange(&g_Errors, 0);
    InterlockedExchange(&g_VcsCreated, 0);
    InterlockedExchange(&g_VcsDeleted, 0);

    NdisZeroMemory(&pc, sizeof(pc));
    pc.Header.Type = NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS;
    pc.Header.Revision = NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1;
    pc.Header.Size = NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1;
    pc.MajorNdisVersion = NDIS_PROTOCOL_MAJOR_VERSION;
    pc.MinorNdisVersion = NDIS_PROTOCOL_MINOR_VERSION;
    pc.MajorDriverVersion = 1;
    pc.MinorDriverVersion = 0;
    pc.Flags = 0;
    pc.Name = name;
    pc.SetOptionsHandler = CoclientSetOptions;
    pc.BindAdapterHandlerEx = CoclientBindAdapterEx;
    pc.UnbindAdapterHandlerEx = CoclientUnbindAdapterEx;
    pc.OpenAdapterCompleteHandlerEx = CoclientOpenAdapterCompleteEx;
    pc.CloseAdapterCompleteHandlerEx = CoclientCloseAdapterCompleteEx;
    pc.NetPnPEventHandler = CoclientNetPnPEvent;
    pc.UninstallHandler = NULL;
    pc.OidRequestCompleteHandler = CoclientOidRequestComplete;
    pc.StatusHandlerEx = CoclientStatusEx;
    pc.ReceiveNetBufferListsHandler = CoclientReceiveNetBufferLists;
    pc.SendNetBufferListsCompleteHandler = CoclientSendNetBufferListsComplete;

    status = NdisRegisterProtocolDriver(NULL, &pc, &g_ProtocolHandle);
    if (status != NDIS_STATUS_SUCCESS) {
        DbgPrint("coclient: NdisRegisterProtocolDriver failed (0x%08lx)\n", (ULONG)status);
        g_ProtocolHandle = NULL;
        return (NTSTATUS)status;
    }
    DriverObject->DriverUnload = CoclientUnload;
    return STATUS_SUCCESS;
}
