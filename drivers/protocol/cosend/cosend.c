/*
 * cosend.c - "cosend", condis' built-in traffic-generating CoNDIS 6 client.
 *
 * cosend binds to every connection-oriented (NdisMediumCoWan) adapter, opens
 * the first address family a call manager offers on it, creates CosendVcs
 * VCs, makes a call on each and sends CosendCount NBLs per VC, keeping
 * CosendWindow of them in flight. Every NBL comes back through
 * ProtocolCoSendNetBufferListsComplete, where cosend checks what the layers
 * below promised, resets the NBL and sends it again. When a VC has had all
 * its NBLs back, cosend closes its call and deletes it; when every VC is
 * gone it closes the address family. That is the end of the run: condis
 * stops a run once every protocol has deleted its VCs.
 *
 * It is written only against <ndis.h>, as a third-party NDIS 6.0 protocol
 * would be, and is meant to be read as the model of a CoNDIS client's send
 * path.
 *
 * Parameters (NdisOpenConfigurationEx on the protocol's driver handle; a
 * missing keyword keeps the default, an invalid value keeps it too and says
 * why):
 *   CosendVcs     VCs per binding                          default 4
 *   CosendCount   NBLs to send on each VC                  default 250000
 *   CosendSize    bytes per NBL                            default 256
 *   CosendWindow  NBLs in flight per VC at most            default 256
 *   CosendChain   NBLs per NdisCoSendNetBufferLists call   default 8
 *                 (at most CosendWindow)
 *
 * Who owns what, and when:
 *
 *   bind      cosend allocates everything the run needs, before it opens
 *             the adapter: per VC, CosendWindow NBLs (each with its
 *             NET_BUFFER, from one NBL pool of the binding), an MDL per NBL
 *             and one data block the MDLs describe slices of. Nothing is
 *             allocated or freed again until unbind; the send path only
 *             moves descriptors between cosend's free lists and NDIS.
 *   sending   NdisCoSendNetBufferLists takes every NBL of the chain, with
 *             its NET_BUFFER, MDL and data (RULES.md OWN-1). cosend does not
 *             look at them, not even at their status (OWN-2), until
 *             ProtocolCoSendNetBufferListsComplete gives them back.
 *   complete  cosend owns the NBL again (the seed page: the NBL and all the
 *             resources attached to it). It resets it the NDIS 6 way -
 *             status back to success, the Next link cleared, the NET_BUFFER's
 *             data description restored if a lower layer left it changed -
 *             and puts it on its VC's free list; the pump sends it again.
 *   receive   an indicated NBL belongs to cosend until it passes it to
 *             NdisReturnNetBufferLists, which it does at once; with
 *             NDIS_RECEIVE_FLAGS_RESOURCES it was never cosend's to keep and
 *             is not returned (lifetime.md R1, R2).
 *   unbind    every NBL is back (the calls are closed and the VCs deleted
 *             first), so cosend frees NBLs, MDLs, data and the pool, then
 *             closes the adapter.
 *
 * ProtocolReserved of each NBL belongs to cosend, which allocated the NBL:
 *   [0]  the COSEND_VC that owns the NBL (it is only ever sent on that VC)
 *   [1]  (index of the NBL within its VC << 1) | 1 while the NBL is in flight
 *   [2]  the NBL's MDL, to restore the NET_BUFFER from
 *   [3]  the NBL's NET_BUFFER, likewise
 *
 * Concurrency. Each VC has its own NDIS spin lock, which guards its state,
 * free list and counters; nothing on the send path takes a lock or writes a
 * variable shared with another VC. The lock is never held across a call into
 * NDIS, because NDIS may call cosend back inside that call (a miniport may
 * complete a send inside NdisCoSendNetBufferLists). The binding's own spin
 * lock guards the address family and the run's control state; only the
 * control path takes it.
 *
 * Sending from the completion handler without recursion: one thread at a
 * time "pumps" a VC (COSEND_VC.Pumping). A completion that arrives while
 * another thread pumps - including one that arrives inside that thread's own
 * NdisCoSendNetBufferLists, when the miniport completes inline - only puts
 * its NBLs on the free list and returns; the pumping thread finds them when
 * its send call returns. So an inline-completing miniport turns into a loop
 * in the outermost sender, not into a recursion as deep as the run is long.
 *
 * The control path (creating VCs, making and closing calls, deleting VCs,
 * closing the address family) runs on an NDIS I/O work item at
 * PASSIVE_LEVEL, where waiting for a pended operation is allowed. Each VC's
 * sending starts on a work item of the VC's own, so that with a miniport
 * that completes inline every VC runs on its own thread and the control
 * path never carries traffic. (Windows documents NdisAllocateIoWorkItem for
 * miniports and filters only; a protocol on Windows would use a work item
 * of its own device object, or a system thread. condis accepts a
 * protocol's driver handle, which keeps this driver in the NDIS
 * vocabulary.)
 *
 * For tests the object also has, besides CosendDriverEntry:
 *   ULONG CosendErrors(void)   broken invariants seen since the driver was
 *                              loaded (0 is clean); each is also described
 *                              with DbgPrint (the first few of them).
 */
#define NDIS60 1
#include <ndis.h>

/* ======================================================================
 * Constants
 * ====================================================================== */

/* Tags read "Csnd", "Csvc" ... in condis' leak report (lowest byte first).
 * Spelled out: the value of a multi-character constant is the compiler's
 * choice. */
#define COSEND_TAG_OF(a, b, c, d) \
    ((ULONG)(UCHAR)(a) | ((ULONG)(UCHAR)(b) << 8) | ((ULONG)(UCHAR)(c) << 16) | \
     ((ULONG)(UCHAR)(d) << 24))
#define COSEND_TAG_BINDING COSEND_TAG_OF('C', 's', 'n', 'd')
#define COSEND_TAG_VC COSEND_TAG_OF('C', 's', 'v', 'c')
#define COSEND_TAG_DATA COSEND_TAG_OF('C', 's', 'd', 't')
#define COSEND_TAG_POOL COSEND_TAG_OF('C', 's', 'n', 'b')

#define COSEND_DEFAULT_VCS 4UL
#define COSEND_DEFAULT_COUNT 250000UL
#define COSEND_DEFAULT_SIZE 256UL
#define COSEND_DEFAULT_WINDOW 256UL
#define COSEND_DEFAULT_CHAIN 8UL

/* Limits that keep the run meaningful and its memory bounded: at most
 * COSEND_MAX_WINDOW * COSEND_MAX_SIZE bytes of data per VC. */
#define COSEND_MAX_VCS 1024UL
#define COSEND_MAX_COUNT 0x7fffffffUL
#define COSEND_MAX_SIZE 65535UL
#define COSEND_MAX_WINDOW 8192UL

/* Signatures let each handler check that a context NDIS passes is cosend's
 * and of the right kind. */
#define COSEND_BINDING_SIGNATURE COSEND_TAG_OF('c', 's', 'B', 'd')
#define COSEND_VC_SIGNATURE COSEND_TAG_OF('c', 's', 'V', 'c')

/* Failure statuses told apart per VC; the rest are counted together. */
#define COSEND_STATUS_SLOTS 4
/* Violations described with DbgPrint; beyond that they are only counted,
 * so that a miniport that breaks a rule on every NBL cannot flood the log. */
#define COSEND_VIOLATION_MESSAGES 16
/* Adapter name kept for the summary line, in WCHARs. */
#define COSEND_NAME_CHARS 64
/* How often unbind looks whether the last handler has left, microseconds. */
#define COSEND_POLL_US 100

/* NET_BUFFER_LIST.ProtocolReserved[1]: bit 0 says "in flight". */
#define COSEND_IN_FLIGHT ((ULONG_PTR)1)

/* ======================================================================
 * State
 * ====================================================================== */

typedef enum _COSEND_AF_STATE {
    CosendAfClosed,  /* no address family; an offer may be taken */
    CosendAfOpening, /* NdisClOpenAddressFamilyEx is under way */
    CosendAfOpen,    /* AfHandle is valid */
    CosendAfClosing  /* NdisClCloseAddressFamily is under way */
} COSEND_AF_STATE;

/*
 * A VC's life. Who moves it where:
 *   Unused -> Created            worker, NdisCoCreateVc succeeded
 *   Created -> Calling           worker, before NdisClMakeCall
 *   Calling -> Active | CallDown make-call completion
 *   Active -> Drained            whoever sees the last NBL back, or a stop
 *                                with nothing in flight
 *   Drained -> Closing           worker, before NdisClCloseCall
 *   Closing -> CallDown          close-call completion
 *   Created | CallDown -> Deleted  worker, NdisCoDeleteVc succeeded
 *   Closing | CallDown -> Broken a close or delete failed; the VC is left
 *                                as it is and reported
 * All under the VC's lock.
 */
typedef enum _COSEND_VC_STATE {
    CosendVcUnused,
    CosendVcCreated,
    CosendVcCalling,
    CosendVcActive,
    CosendVcDrained,
    CosendVcClosing,
    CosendVcCallDown,
    CosendVcDeleted,
    CosendVcBroken
} COSEND_VC_STATE;

/* Send completions with a status other than NDIS_STATUS_SUCCESS, by status. */
typedef struct _COSEND_FAILURES {
    NDIS_STATUS Status[COSEND_STATUS_SLOTS];
    ULONG Count[COSEND_STATUS_SLOTS];
    ULONG Other; /* statuses that found no slot */
} COSEND_FAILURES, *PCOSEND_FAILURES;

typedef struct _COSEND_BINDING COSEND_BINDING, *PCOSEND_BINDING;

/*
 * One VC: the ProtocolVcContext. Allocated at bind with room for its NBL
 * pointers, freed at unbind; it outlives the NDIS VC it stands for, so a
 * handler still on its way out of a VC never touches freed memory.
 */
typedef struct _COSEND_VC {
    ULONG Signature;
    ULONG Index;
    PCOSEND_BINDING Binding;

    /* The run's parameters, copied here so that the send path reads only
     * this structure. Constant after bind. */
    ULONG Count;
    ULONG Size;
    ULONG Chain;
    ULONG MaxRounds; /* chains one pump call sends while more are in flight */

    /* Written by the worker after NdisCoCreateVc, before the call is made;
     * constant while sends may flow, so the send path reads it unlocked. */
    NDIS_HANDLE NdisVcHandle;
    /* Starts (and restarts) the sending at PASSIVE_LEVEL; allocated at bind,
     * queued again whenever it is not queued already (StartQueued). */
    NDIS_HANDLE StartWorkItem;

    /* Handlers running inside this VC; unbind frees the VC only at zero. */
    volatile LONG Refs;
    /* NBLs indicated on this VC (lock-free: receives may run on several
     * processors at once). */
    volatile LONG64 Received;

    NDIS_SPIN_LOCK Lock;
    /* ---- guarded by Lock ---- */
    COSEND_VC_STATE State;
    BOOLEAN Pumping;    /* a thread is sending on this VC (see the top) */
    BOOLEAN Paused;     /* the binding is paused: start no send */
    BOOLEAN Stop;       /* send no more on this run (unbind, close requests) */
    BOOLEAN PeerClosed; /* ProtocolClIncomingCloseCall arrived */
    BOOLEAN StartQueued; /* StartWorkItem is queued and has not started */
    PNET_BUFFER_LIST FreeHead; /* NBLs cosend owns, linked through Next */
    ULONG FreeCount;
    ULONG Sent;         /* NBLs handed to NdisCoSendNetBufferLists */
    ULONG Completed;    /* NBLs given back */
    ULONG InFlight;     /* Sent - Completed */
    ULONG Restored;     /* NBLs whose NET_BUFFER came back changed */
    COSEND_FAILURES Failures;
    NDIS_STATUS CallStatus; /* result of the last failed call operation */

    /*
     * The call parameters are lent to the call manager, which may rewrite
     * them, until the make-call completes, so they live here and not on a
     * stack. CallMgrSpecific and MediaSpecific are empty (Length 0): the
     * one-byte Parameters arrays in the structures are room enough.
     */
    CO_CALL_PARAMETERS CallParameters;
    CO_CALL_MANAGER_PARAMETERS CallMgrParameters;
    CO_MEDIA_PARAMETERS MediaParameters;

    /* Send resources, from bind to unbind. */
    PUCHAR Data;        /* NblCount slices of Size bytes */
    ULONG NblCount;
    PNET_BUFFER_LIST Nbls[];
} COSEND_VC, *PCOSEND_VC;

/*
 * One binding: the ProtocolBindingContext, and also the ClientAfContext of
 * the one address family cosend opens on it. Allocated at bind, freed at
 * unbind after the adapter is closed.
 */
struct _COSEND_BINDING {
    ULONG Signature;
    NDIS_HANDLE BindingHandle;
    NDIS_HANDLE NblPool;
    /* Allocated at bind; handed to NdisQueueIoWorkItem once, after which
     * the work item routine owns (and frees) it. */
    NDIS_HANDLE WorkItem;

    /* Parameters of the run; constant after bind. */
    ULONG VcCount;
    ULONG Count;
    ULONG Size;
    ULONG Window;
    ULONG Chain;

    /* Control-path handlers running (and the worker); see COSEND_VC.Refs. */
    volatile LONG Refs;
    /* Violations attributed to this binding (all of them also count in
     * CosendErrors). */
    volatile LONG Violations;

    NDIS_EVENT OpEvent;         /* open/close adapter completed */
    NDIS_STATUS OpStatus;
    NDIS_EVENT AfEvent;         /* address family open/close completed */
    NDIS_EVENT WorkEvent;       /* a VC needs the worker (drained, call closed) */
    NDIS_EVENT IdleEvent;       /* a paused VC has nothing in flight any more */
    NDIS_EVENT WorkerIdleEvent; /* no worker queued or running */

    /* NdisOpenAdapterEx reads these until the open completes. */
    NDIS_OPEN_PARAMETERS OpenParameters;
    NDIS_MEDIUM MediumArray[1];
    UINT SelectedMediumIndex;

    /* For the summary line. */
    NDIS_STRING Name;
    WCHAR NameBuffer[COSEND_NAME_CHARS];

    NDIS_SPIN_LOCK Lock;
    /* ---- guarded by Lock ---- */
    COSEND_AF_STATE AfState;
    CO_ADDRESS_FAMILY Family;   /* copy of the family taken */
    NDIS_HANDLE AfHandle;
    NDIS_STATUS AfStatus;       /* result of the last open or close */
    BOOLEAN Ready;              /* bind has finished */
    BOOLEAN AfOfferedEarly;     /* an offer came before bind finished */
    BOOLEAN RunStarted;         /* the worker was queued: one run per binding */
    BOOLEAN WorkerActive;
    BOOLEAN Stop;               /* the run must wind down */
    BOOLEAN Unbinding;
    BOOLEAN NotifyClosePending; /* ProtocolClNotifyCloseAf returned PENDING */
    /* ---- written by the worker only, read after it has finished ---- */
    ULONG VcsCreated;

    PCOSEND_VC Vcs[];           /* VcCount of them */
};

/* ======================================================================
 * Globals and declarations
 * ====================================================================== */

static NDIS_HANDLE g_ProtocolHandle;
static volatile LONG g_Errors;

DRIVER_INITIALIZE CosendDriverEntry;
ULONG CosendErrors(void);

static DRIVER_UNLOAD CosendUnload;
static PROTOCOL_SET_OPTIONS CosendSetOptions;

/* NDIS_PROTOCOL_DRIVER_CHARACTERISTICS */
static PROTOCOL_BIND_ADAPTER_EX CosendBindAdapterEx;
static PROTOCOL_UNBIND_ADAPTER_EX CosendUnbindAdapterEx;
static PROTOCOL_OPEN_ADAPTER_COMPLETE_EX CosendOpenAdapterCompleteEx;
static PROTOCOL_CLOSE_ADAPTER_COMPLETE_EX CosendCloseAdapterCompleteEx;
static PROTOCOL_NET_PNP_EVENT CosendNetPnPEvent;
static PROTOCOL_OID_REQUEST_COMPLETE CosendOidRequestComplete;
static PROTOCOL_STATUS_EX CosendStatusEx;
static PROTOCOL_RECEIVE_NET_BUFFER_LISTS CosendReceiveNetBufferLists;
static PROTOCOL_SEND_NET_BUFFER_LISTS_COMPLETE CosendSendNetBufferListsComplete;

/* NDIS_PROTOCOL_CO_CHARACTERISTICS */
static PROTOCOL_CO_STATUS_EX CosendCoStatusEx;
static PROTOCOL_CO_AF_REGISTER_NOTIFY CosendCoAfRegisterNotify;
static PROTOCOL_CO_RECEIVE_NET_BUFFER_LISTS CosendCoReceiveNetBufferLists;
static PROTOCOL_CO_SEND_NET_BUFFER_LISTS_COMPLETE CosendCoSendNetBufferListsComplete;

/* NDIS_CO_CLIENT_OPTIONAL_HANDLERS */
static PROTOCOL_CO_CREATE_VC CosendCoCreateVc;
static PROTOCOL_CO_DELETE_VC CosendCoDeleteVc;
static PROTOCOL_CO_OID_REQUEST CosendCoOidRequest;
static PROTOCOL_CO_OID_REQUEST_COMPLETE CosendCoOidRequestComplete;
static PROTOCOL_CL_OPEN_AF_COMPLETE_EX CosendClOpenAfCompleteEx;
static PROTOCOL_CL_CLOSE_AF_COMPLETE CosendClCloseAfComplete;
static PROTOCOL_CL_REGISTER_SAP_COMPLETE CosendClRegisterSapComplete;
static PROTOCOL_CL_DEREGISTER_SAP_COMPLETE CosendClDeregisterSapComplete;
static PROTOCOL_CL_MAKE_CALL_COMPLETE CosendClMakeCallComplete;
static PROTOCOL_CL_MODIFY_CALL_QOS_COMPLETE CosendClModifyCallQoSComplete;
static PROTOCOL_CL_CLOSE_CALL_COMPLETE CosendClCloseCallComplete;
static PROTOCOL_CL_ADD_PARTY_COMPLETE CosendClAddPartyComplete;
static PROTOCOL_CL_DROP_PARTY_COMPLETE CosendClDropPartyComplete;
static PROTOCOL_CL_INCOMING_CALL CosendClIncomingCall;
static PROTOCOL_CL_INCOMING_CALL_QOS_CHANGE CosendClIncomingCallQoSChange;
static PROTOCOL_CL_INCOMING_CLOSE_CALL CosendClIncomingCloseCall;
static PROTOCOL_CL_INCOMING_DROP_PARTY CosendClIncomingDropParty;
static PROTOCOL_CL_CALL_CONNECTED CosendClCallConnected;
static PROTOCOL_CL_NOTIFY_CLOSE_AF CosendClNotifyCloseAf;

/* The control path of a run, and the start of each VC's sending. */
static NDIS_IO_WORKITEM_FUNCTION CosendWorker;
static NDIS_IO_WORKITEM_FUNCTION CosendStartSending;

/* ======================================================================
 * Small helpers (any IRQL <= DISPATCH_LEVEL unless they say otherwise)
 * ====================================================================== */

/* A fenced read of a counter other threads update with Interlocked*. */
static ULONG CosendRead(volatile LONG *Value)
{
    return (ULONG)InterlockedCompareExchange(Value, 0, 0);
}

/*
 * Counts a broken invariant (against Binding too, when known) and says
 * which. Rare by definition, so its cost does not matter; it is safe at
 * DISPATCH_LEVEL and with no lock held.
 */
static VOID CosendViolation(PCOSEND_BINDING Binding, PCSTR What, ULONG_PTR Value)
{
    LONG n = InterlockedIncrement(&g_Errors);

    if (Binding != NULL)
        InterlockedIncrement(&Binding->Violations);
    if (n <= COSEND_VIOLATION_MESSAGES)
        DbgPrint("VIOLATION: %s (0x%Ix)\n", What, Value);
    else if (n == COSEND_VIOLATION_MESSAGES + 1)
        DbgPrint("more violations follow; they are counted, not described\n");
}

/* Exported for tests: broken invariants seen since the driver was loaded. */
ULONG CosendErrors(void)
{
    return CosendRead(&g_Errors);
}

/* Contexts come back from NDIS as NDIS_HANDLEs; check them before use. */
static PCOSEND_BINDING CosendBindingFromContext(NDIS_HANDLE Context, PCSTR Who)
{
    PCOSEND_BINDING b = (PCOSEND_BINDING)Context;

    if (b == NULL || b->Signature != COSEND_BINDING_SIGNATURE) {
        CosendViolation(NULL, Who, (ULONG_PTR)Context);
        return NULL;
    }
    return b;
}

static PCOSEND_VC CosendVcFromContext(NDIS_HANDLE Context, PCSTR Who)
{
    PCOSEND_VC vc = (PCOSEND_VC)Context;

    if (vc == NULL || vc->Signature != COSEND_VC_SIGNATURE) {
        CosendViolation(NULL, Who, (ULONG_PTR)Context);
        return NULL;
    }
    return vc;
}

/*
 * A handler counts itself into the object it works on and out again as its
 * very last touch of it. Unbind frees bindings and VCs only once no handler
 * is inside: a completion on another processor may still be returning from
 * cosend after the event it set has let the control path run on.
 */
static FORCEINLINE VOID CosendEnter(volatile LONG *Refs)
{
    InterlockedIncrement(Refs);
}

static FORCEINLINE VOID CosendLeave(volatile LONG *Refs)
{
    InterlockedDecrement(Refs);
}

/* The ProtocolReserved slots of an NBL (see the top of the file). */
static FORCEINLINE PCOSEND_VC CosendNblVc(PNET_BUFFER_LIST Nbl)
{
    return (PCOSEND_VC)NET_BUFFER_LIST_PROTOCOL_RESERVED(Nbl)[0];
}

static FORCEINLINE ULONG_PTR CosendNblTag(PNET_BUFFER_LIST Nbl)
{
    return (ULONG_PTR)NET_BUFFER_LIST_PROTOCOL_RESERVED(Nbl)[1];
}

static FORCEINLINE VOID CosendNblSetTag(PNET_BUFFER_LIST Nbl, ULONG_PTR Tag)
{
    NET_BUFFER_LIST_PROTOCOL_RESERVED(Nbl)[1] = (PVOID)Tag;
}

static FORCEINLINE PMDL CosendNblMdl(PNET_BUFFER_LIST Nbl)
{
    return (PMDL)NET_BUFFER_LIST_PROTOCOL_RESERVED(Nbl)[2];
}

static FORCEINLINE PNET_BUFFER CosendNblNb(PNET_BUFFER_LIST Nbl)
{
    return (PNET_BUFFER)NET_BUFFER_LIST_PROTOCOL_RESERVED(Nbl)[3];
}

/* Adds one failure to a table. */
static VOID CosendCountFailure(PCOSEND_FAILURES Failures, NDIS_STATUS Status, ULONG Count)
{
    ULONG i;

    for (i = 0; i < COSEND_STATUS_SLOTS; i++) {
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

static VOID CosendMergeFailures(PCOSEND_FAILURES Into, const COSEND_FAILURES *From)
{
    ULONG i;

    for (i = 0; i < COSEND_STATUS_SLOTS && From->Count[i] != 0; i++)
        CosendCountFailure(Into, From->Status[i], From->Count[i]);
    Into->Other += From->Other;
}

static ULONGLONG CosendFailureTotal(const COSEND_FAILURES *Failures)
{
    ULONGLONG total = Failures->Other;
    ULONG i;

    for (i = 0; i < COSEND_STATUS_SLOTS; i++)
        total += Failures->Count[i];
    return total;
}

/* A line of text built without the C library (driver code has none). */
typedef struct _COSEND_TEXT {
    CHAR Buffer[256];
    ULONG Length;
} COSEND_TEXT, *PCOSEND_TEXT;

static VOID CosendTextAppend(PCOSEND_TEXT Text, PCSTR String)
{
    while (*String != '\0' && Text->Length + 1 < sizeof(Text->Buffer))
        Text->Buffer[Text->Length++] = *String++;
    Text->Buffer[Text->Length] = '\0';
}

static VOID CosendTextAppendNumber(PCOSEND_TEXT Text, ULONGLONG Value, ULONG Base)
{
    CHAR digits[24];
    ULONG n = 0;

    if (Base == 16)
        CosendTextAppend(Text, "0x");
    do {
        ULONG digit = (ULONG)(Value % Base);
        digits[n++] = (CHAR)(digit < 10 ? '0' + digit : 'a' + digit - 10);
        Value /= Base;
    } while (Value != 0 && n < sizeof(digits) - 1);
    while (n > 0 && Text->Length + 1 < sizeof(Text->Buffer))
        Text->Buffer[Text->Length++] = digits[--n];
    Text->Buffer[Text->Length] = '\0';
}

/* ======================================================================
 * Parameters (PASSIVE_LEVEL: configuration reads are)
 * ====================================================================== */

/*
 * One integer keyword. Missing: the default, silently. Present but not a
 * number, or outside [Minimum, Maximum]: the default, and a line that says
 * why, so that a typo does not quietly change the run.
 */
static ULONG CosendReadParameter(NDIS_HANDLE Config, PCWSTR Name, ULONG Default,
                                 ULONG Minimum, ULONG Maximum)
{
    NDIS_STRING keyword;
    PNDIS_CONFIGURATION_PARAMETER value = NULL;
    NDIS_STATUS status;
    NDIS_STATUS stringStatus;
    ULONG result;

    NdisInitUnicodeString(&keyword, Name);
    NdisReadConfiguration(&status, &value, Config, &keyword, NdisParameterInteger);
    if (status == NDIS_STATUS_SUCCESS && value != NULL &&
        (value->ParameterType == NdisParameterInteger ||
         value->ParameterType == NdisParameterHexInteger)) {
        result = value->ParameterData.IntegerData;
        if (result >= Minimum && result <= Maximum)
            return result;
        DbgPrint("%ws=%lu is outside [%lu, %lu]; keeping the default %lu\n", Name, result,
                 Minimum, Maximum, Default);
        return Default;
    }

    /* Tell "not given" from "given but not a number". */
    value = NULL;
    NdisReadConfiguration(&stringStatus, &value, Config, &keyword, NdisParameterString);
    if (stringStatus == NDIS_STATUS_SUCCESS && value != NULL &&
        value->ParameterType == NdisParameterString)
        DbgPrint("%ws=%wZ is not a number; keeping the default %lu\n", Name,
                 &value->ParameterData.StringData, Default);
    return Default;
}

typedef struct _COSEND_PARAMETERS {
    ULONG Vcs;
    ULONG Count;
    ULONG Size;
    ULONG Window;
    ULONG Chain;
} COSEND_PARAMETERS, *PCOSEND_PARAMETERS;

/*
 * PASSIVE_LEVEL, from bind, before the adapter is opened: the parameters
 * belong to the protocol, so they are read through its driver handle, and
 * knowing them first lets bind allocate everything before it opens.
 */
static VOID CosendReadParameters(PCOSEND_PARAMETERS Parameters)
{
    NDIS_CONFIGURATION_OBJECT object;
    NDIS_HANDLE config = NULL;
    NDIS_STATUS status;

    Parameters->Vcs = COSEND_DEFAULT_VCS;
    Parameters->Count = COSEND_DEFAULT_COUNT;
    Parameters->Size = COSEND_DEFAULT_SIZE;
    Parameters->Window = COSEND_DEFAULT_WINDOW;
    Parameters->Chain = COSEND_DEFAULT_CHAIN;

    NdisZeroMemory(&object, sizeof(object));
    object.Header.Type = NDIS_OBJECT_TYPE_CONFIGURATION_OBJECT;
    object.Header.Revision = NDIS_CONFIGURATION_OBJECT_REVISION_1;
    object.Header.Size = NDIS_SIZEOF_CONFIGURATION_OBJECT_REVISION_1;
    object.NdisHandle = g_ProtocolHandle;
    object.Flags = 0;

    status = NdisOpenConfigurationEx(&object, &config);
    if (status != NDIS_STATUS_SUCCESS) {
        DbgPrint("NdisOpenConfigurationEx failed (0x%08lx); using the defaults\n",
                 (ULONG)status);
        return;
    }
    Parameters->Vcs = CosendReadParameter(config, L"CosendVcs", COSEND_DEFAULT_VCS, 1,
                                          COSEND_MAX_VCS);
    Parameters->Count = CosendReadParameter(config, L"CosendCount", COSEND_DEFAULT_COUNT, 1,
                                            COSEND_MAX_COUNT);
    Parameters->Size = CosendReadParameter(config, L"CosendSize", COSEND_DEFAULT_SIZE, 1,
                                           COSEND_MAX_SIZE);
    Parameters->Window = CosendReadParameter(config, L"CosendWindow", COSEND_DEFAULT_WINDOW, 1,
                                             COSEND_MAX_WINDOW);
    Parameters->Chain = CosendReadParameter(config, L"CosendChain", COSEND_DEFAULT_CHAIN, 1,
                                            COSEND_MAX_WINDOW);
    NdisCloseConfiguration(config);

    /* A window larger than the run would only hold NBLs that never move. */
    if (Parameters->Window > Parameters->Count)
        Parameters->Window = Parameters->Count;
    /* A chain longer than the window could never be filled. */
    if (Parameters->Chain > Parameters->Window) {
        DbgPrint("CosendChain=%lu is more than the window of %lu; sending chains of %lu\n",
                 Parameters->Chain, Parameters->Window, Parameters->Window);
        Parameters->Chain = Parameters->Window;
    }
}

/* ======================================================================
 * Send resources (PASSIVE_LEVEL: bind and unbind)
 * ====================================================================== */

/*
 * Frees what CosendAllocateVc made. An NBL still in flight is left alone:
 * it is not cosend's to free (OWN-3), and leaking it is the lesser evil; it
 * has already been reported. Returns FALSE when something had to be left.
 */
static BOOLEAN CosendFreeVc(PCOSEND_BINDING b, PCOSEND_VC Vc)
{
    BOOLEAN allBack = TRUE;
    ULONG i;

    for (i = 0; i < Vc->NblCount; i++) {
        PNET_BUFFER_LIST nbl = Vc->Nbls[i];
        PMDL mdl = CosendNblMdl(nbl);

        if (CosendNblTag(nbl) & COSEND_IN_FLIGHT) {
            CosendViolation(b, "unbind: an NBL never came back; leaking it", i);
            allBack = FALSE;
            continue;
        }
        NdisFreeNetBufferList(nbl); /* with the NET_BUFFER it came with */
        NdisFreeMdl(mdl);
    }
    if (!allBack)
        return FALSE;
    if (Vc->StartWorkItem != NULL)
        NdisFreeIoWorkItem(Vc->StartWorkItem);
    if (Vc->Data != NULL)
        NdisFreeMemoryWithTagPriority(g_ProtocolHandle, Vc->Data, COSEND_TAG_DATA);
    NdisFreeSpinLock(&Vc->Lock);
    Vc->Signature = 0;
    NdisFreeMemoryWithTagPriority(g_ProtocolHandle, Vc, COSEND_TAG_VC);
    return TRUE;
}

/*
 * One VC's context and send resources: Window NBLs, each with one
 * NET_BUFFER describing all Size bytes of its slice of the data block
 * through its own MDL. Everything is charged to the driver handle, which
 * outlives the binding handle. All or nothing.
 */
static PCOSEND_VC CosendAllocateVc(PCOSEND_BINDING b, ULONG Index)
{
    ULONG bytes = (ULONG)FIELD_OFFSET(COSEND_VC, Nbls) + b->Window * (ULONG)sizeof(PNET_BUFFER_LIST);
    PCOSEND_VC vc;
    ULONG i;

    vc = NdisAllocateMemoryWithTagPriority(g_ProtocolHandle, bytes, COSEND_TAG_VC,
                                           NormalPoolPriority);
    if (vc == NULL)
        return NULL;
    NdisZeroMemory(vc, bytes);
    vc->Signature = COSEND_VC_SIGNATURE;
    vc->Index = Index;
    vc->Binding = b;
    vc->Count = b->Count;
    vc->Size = b->Size;
    vc->Chain = b->Chain;
    vc->MaxRounds = (b->Window + b->Chain - 1) / b->Chain;
    vc->State = CosendVcUnused;
    vc->Paused = TRUE; /* a binding starts paused; NetEventRestart lets it send */
    NdisAllocateSpinLock(&vc->Lock);

    vc->StartWorkItem = NdisAllocateIoWorkItem(g_ProtocolHandle);
    if (vc->StartWorkItem == NULL)
        goto fail;
    vc->Data = NdisAllocateMemoryWithTagPriority(g_ProtocolHandle, b->Window * b->Size,
                                                 COSEND_TAG_DATA, NormalPoolPriority);
    if (vc->Data == NULL)
        goto fail;
    /* Something recognisable on the wire: the byte's offset in the NBL,
     * plus the VC's index. */
    for (i = 0; i < b->Window * b->Size; i++)
        vc->Data[i] = (UCHAR)(i % b->Size + Index);

    for (i = 0; i < b->Window; i++) {
        PMDL mdl = NdisAllocateMdl(g_ProtocolHandle, vc->Data + (SIZE_T)i * b->Size, b->Size);
        PNET_BUFFER_LIST nbl;

        if (mdl == NULL)
            goto fail;
        nbl = NdisAllocateNetBufferAndNetBufferList(b->NblPool, 0, 0, mdl, 0, b->Size);
        if (nbl == NULL) {
            NdisFreeMdl(mdl);
            goto fail;
        }
        NET_BUFFER_LIST_PROTOCOL_RESERVED(nbl)[0] = vc;
        CosendNblSetTag(nbl, (ULONG_PTR)i << 1);
        NET_BUFFER_LIST_PROTOCOL_RESERVED(nbl)[2] = mdl;
        NET_BUFFER_LIST_PROTOCOL_RESERVED(nbl)[3] = NET_BUFFER_LIST_FIRST_NB(nbl);
        NET_BUFFER_LIST_STATUS(nbl) = NDIS_STATUS_SUCCESS;
        vc->Nbls[vc->NblCount++] = nbl;

        NET_BUFFER_LIST_NEXT_NBL(nbl) = vc->FreeHead;
        vc->FreeHead = nbl;
        vc->FreeCount++;
    }
    return vc;

fail:
    CosendFreeVc(b, vc);
    return NULL;
}

/* PASSIVE_LEVEL. Frees every VC's resources and the pool; TRUE if all. */
static BOOLEAN CosendFreeResources(PCOSEND_BINDING b)
{
    BOOLEAN allBack = TRUE;
    ULONG i;

    for (i = 0; i < b->VcCount; i++) {
        if (b->Vcs[i] == NULL)
            continue;
        if (CosendFreeVc(b, b->Vcs[i]))
            b->Vcs[i] = NULL;
        else
            allBack = FALSE;
    }
    /* A pool with descriptors out cannot be freed (RES-2). */
    if (allBack && b->NblPool != NULL) {
        NdisFreeNetBufferListPool(b->NblPool);
        b->NblPool = NULL;
    }
    return allBack;
}

/* PASSIVE_LEVEL, from bind. The NBL pool and every VC. All or nothing. */
static NDIS_STATUS CosendAllocateResources(PCOSEND_BINDING b)
{
    NET_BUFFER_LIST_POOL_PARAMETERS pool;
    ULONG i;

    NdisZeroMemory(&pool, sizeof(pool));
    pool.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    pool.Header.Revision = NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    pool.Header.Size = NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    pool.ProtocolId = NDIS_PROTOCOL_ID_DEFAULT;
    pool.fAllocateNetBuffer = TRUE; /* each NBL comes with its NET_BUFFER */
    pool.ContextSize = 0;
    pool.PoolTag = COSEND_TAG_POOL;
    pool.DataSize = 0; /* the data is cosend's own, described by its MDLs */

    b->NblPool = NdisAllocateNetBufferListPool(g_ProtocolHandle, &pool);
    if (b->NblPool == NULL)
        return NDIS_STATUS_RESOURCES;

    for (i = 0; i < b->VcCount; i++) {
        b->Vcs[i] = CosendAllocateVc(b, i);
        if (b->Vcs[i] == NULL) {
            CosendFreeResources(b);
            return NDIS_STATUS_RESOURCES;
        }
    }
    return NDIS_STATUS_SUCCESS;
}

/* ======================================================================
 * The send path
 * ====================================================================== */

/*
 * Caller holds Vc->Lock. Moves an active VC whose sending is over - every
 * NBL sent and back, or a stop with nothing in flight - to Drained, and
 * returns TRUE when it did: the caller then wakes the worker, which closes
 * the call (NdisClCloseCall may not be called with sends outstanding).
 */
static BOOLEAN CosendCheckDrainedLocked(PCOSEND_VC Vc)
{
    if (Vc->State == CosendVcActive && Vc->InFlight == 0 &&
        (Vc->Sent >= Vc->Count || Vc->Stop)) {
        Vc->State = CosendVcDrained;
        return TRUE;
    }
    return FALSE;
}

/* Caller holds Vc->Lock. How many NBLs the next chain may carry. */
static FORCEINLINE ULONG CosendSendableLocked(const COSEND_VC *Vc)
{
    ULONG n;

    if (Vc->State != CosendVcActive || Vc->Stop || Vc->Paused)
        return 0;
    n = MIN(Vc->FreeCount, Vc->Chain);
    return MIN(n, Vc->Count - Vc->Sent);
}

/*
 * The pump. IRQL <= DISPATCH_LEVEL; entered with Vc->Lock held, returns
 * with it released. Sends chains of up to Chain NBLs from the free list
 * while the VC may send. The NBLs of each chain belong to NDIS from the
 * send call on; cosend touches them again only in its completion handler.
 *
 * Only one thread pumps a VC at a time (Pumping). A completion that finds
 * another thread pumping leaves its NBLs on the free list, and the pumping
 * thread takes them when its send returns; the check and the hand-over are
 * both under the lock, so no NBL is stranded. A pump call stops after
 * MaxRounds chains as long as NBLs are in flight - their completions will
 * pump again - so one thread does not keep one VC to itself; with nothing
 * in flight it must go on, because no completion would come to do it.
 */
static VOID CosendPumpAndUnlock(PCOSEND_VC Vc)
{
    NDIS_HANDLE vcHandle = Vc->NdisVcHandle;
    ULONG rounds = 0;

    if (Vc->Pumping) {
        NdisReleaseSpinLock(&Vc->Lock);
        return;
    }
    Vc->Pumping = TRUE;
    for (;;) {
        ULONG n = CosendSendableLocked(Vc);
        PNET_BUFFER_LIST head, tail, nbl;
        ULONG i;

        if (n == 0 || (rounds >= Vc->MaxRounds && Vc->InFlight != 0))
            break;

        /* Take n NBLs off the free list; they are counted as in flight
         * before the lock is dropped, so no one can see the VC drained
         * while they are on their way. */
        head = Vc->FreeHead;
        tail = head;
        for (i = 1; i < n; i++)
            tail = NET_BUFFER_LIST_NEXT_NBL(tail);
        Vc->FreeHead = NET_BUFFER_LIST_NEXT_NBL(tail);
        Vc->FreeCount -= n;
        Vc->Sent += n;
        Vc->InFlight += n;
        NdisReleaseSpinLock(&Vc->Lock);

        /* Off the free list the NBLs are this thread's alone. */
        NET_BUFFER_LIST_NEXT_NBL(tail) = NULL;
        for (nbl = head; nbl != NULL; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
            nbl->SourceHandle = vcHandle; /* NDIS routes the completion by it */
            CosendNblSetTag(nbl, CosendNblTag(nbl) | COSEND_IN_FLIGHT);
        }
        /* Say DISPATCH_LEVEL only when it is true (IRQL-1); the lock is
         * released, so this is the caller's own IRQL. */
        NdisCoSendNetBufferLists(vcHandle, head,
                                 KeGetCurrentIrql() == DISPATCH_LEVEL
                                     ? NDIS_SEND_FLAGS_DISPATCH_LEVEL
                                     : 0);
        rounds++;
        NdisAcquireSpinLock(&Vc->Lock);
    }
    Vc->Pumping = FALSE;
    NdisReleaseSpinLock(&Vc->Lock);
}

/*
 * IRQL <= DISPATCH_LEVEL; entered with Vc->Lock held, returns with it
 * released. Has the VC's start work item fill the window, unless it is
 * queued already or the VC may not send now.
 *
 * Why a work item and not a pump right here: the first send of a VC starts
 * from a make-call completion or a restart, that is from the worker, a call
 * manager's thread or NDIS's PnP thread. With a miniport that completes
 * inline, whoever primes a VC goes on sending until the VC's run is over
 * (nothing else ever gets an NBL back), which none of those threads should
 * do. On a work item of its own, each VC of an inline miniport runs on its
 * own thread, in parallel with the others.
 */
static VOID CosendQueueStartAndUnlock(PCOSEND_VC Vc)
{
    BOOLEAN queue = !Vc->StartQueued && CosendSendableLocked(Vc) != 0;

    if (queue) {
        Vc->StartQueued = TRUE;
        CosendEnter(&Vc->Refs); /* the work item's; it leaves when it has run */
    }
    NdisReleaseSpinLock(&Vc->Lock);
    if (queue)
        NdisQueueIoWorkItem(Vc->StartWorkItem, CosendStartSending, Vc);
}

/*
 * NDIS_IO_WORKITEM_FUNCTION, PASSIVE_LEVEL: fills a VC's window; the
 * completions keep it full from then on.
 */
_Use_decl_annotations_
static VOID CosendStartSending(PVOID WorkItemContext, NDIS_HANDLE NdisIoWorkItemHandle)
{
    PCOSEND_VC vc = (PCOSEND_VC)WorkItemContext;

    UNREFERENCED_PARAMETER(NdisIoWorkItemHandle); /* the VC's; freed at unbind */
    NdisAcquireSpinLock(&vc->Lock);
    vc->StartQueued = FALSE; /* from here a new start may be queued */
    CosendPumpAndUnlock(vc);
    CosendLeave(&vc->Refs);
}

/*
 * IRQL <= DISPATCH_LEVEL. Takes back a list of n NBLs of Vc, already
 * checked and reset by the caller, which owns them: they go on the free
 * list and the counters, and the pump sends them again. Wakes the worker
 * when the VC has drained and a pause when it has nothing in flight.
 */
static VOID CosendReclaim(PCOSEND_VC Vc, PNET_BUFFER_LIST Head, PNET_BUFFER_LIST Tail, ULONG N,
                          const COSEND_FAILURES *Failures, ULONG Restored)
{
    PCOSEND_BINDING b = Vc->Binding;
    BOOLEAN drained;
    BOOLEAN idle;

    NdisAcquireSpinLock(&Vc->Lock);
    NET_BUFFER_LIST_NEXT_NBL(Tail) = Vc->FreeHead;
    Vc->FreeHead = Head;
    Vc->FreeCount += N;
    Vc->Completed += N;
    Vc->InFlight -= N; /* each was in flight: its tag said so */
    if (Failures != NULL)
        CosendMergeFailures(&Vc->Failures, Failures);
    Vc->Restored += Restored;
    drained = CosendCheckDrainedLocked(Vc);
    idle = Vc->Paused && Vc->InFlight == 0;
    CosendPumpAndUnlock(Vc);

    if (drained)
        NdisSetEvent(&b->WorkEvent);
    if (idle)
        NdisSetEvent(&b->IdleEvent);
}

/*
 * IRQL <= DISPATCH_LEVEL. Puts the NET_BUFFER of a completed NBL back the
 * way cosend built it, if a layer below left it changed: the NDIS 6 form
 * of "reinitialize the descriptor, keep the buffers". Returns TRUE if
 * anything had to be restored.
 */
static FORCEINLINE BOOLEAN CosendRestoreNb(const COSEND_VC *Vc, PNET_BUFFER_LIST Nbl)
{
    PNET_BUFFER nb = CosendNblNb(Nbl);
    PMDL mdl = CosendNblMdl(Nbl);

    if (NET_BUFFER_LIST_FIRST_NB(Nbl) == nb && NET_BUFFER_NEXT_NB(nb) == NULL &&
        NET_BUFFER_FIRST_MDL(nb) == mdl && NET_BUFFER_CURRENT_MDL(nb) == mdl &&
        NET_BUFFER_CURRENT_MDL_OFFSET(nb) == 0 && NET_BUFFER_DATA_OFFSET(nb) == 0 &&
        NET_BUFFER_DATA_LENGTH(nb) == Vc->Size)
        return FALSE;

    if (NET_BUFFER_LIST_FIRST_NB(Nbl) != nb || NET_BUFFER_NEXT_NB(nb) != NULL)
        CosendViolation(Vc->Binding, "send complete: the NBL's NET_BUFFER list was changed "
                        "(OWN-7)", Vc->Index);
    NET_BUFFER_LIST_FIRST_NB(Nbl) = nb;
    NET_BUFFER_NEXT_NB(nb) = NULL;
    NDIS_MDL_LINKAGE(mdl) = NULL;
    NET_BUFFER_FIRST_MDL(nb) = mdl;
    NET_BUFFER_CURRENT_MDL(nb) = mdl;
    NET_BUFFER_CURRENT_MDL_OFFSET(nb) = 0;
    NET_BUFFER_DATA_OFFSET(nb) = 0;
    NET_BUFFER_DATA_LENGTH(nb) = Vc->Size;
    return TRUE;
}

/*
 * IRQL <= DISPATCH_LEVEL. An NBL completed on a VC of binding b other than
 * its own: a broken invariant (reported by the caller), but if the NBL is
 * one of b's it is still cosend's, so it goes back to the VC that owns it,
 * which can then finish its run. The owner is looked up among b's VCs, not
 * trusted from ProtocolReserved, so a foreign NBL is never followed into
 * memory that is not cosend's; an NBL that is not b's is dropped.
 */
static VOID CosendReturnStray(PCOSEND_BINDING b, PNET_BUFFER_LIST Nbl)
{
    PCOSEND_VC owner = NULL;
    ULONG_PTR tag;
    ULONG index;
    COSEND_FAILURES failures;
    NDIS_STATUS status;
    ULONG restored;
    ULONG i;

    for (i = 0; i < b->VcCount && owner == NULL; i++) {
        if (b->Vcs[i] == CosendNblVc(Nbl))
            owner = b->Vcs[i];
    }
    if (owner == NULL)
        return; /* not one of this binding's NBLs: nothing to give it back to */
    tag = CosendNblTag(Nbl);
    index = (ULONG)(tag >> 1);
    if (index >= owner->NblCount || owner->Nbls[index] != Nbl || !(tag & COSEND_IN_FLIGHT))
        return; /* not in flight: already reported by the caller's checks */

    CosendEnter(&owner->Refs);
    CosendNblSetTag(Nbl, tag & ~COSEND_IN_FLIGHT);
    NdisZeroMemory(&failures, sizeof(failures));
    status = NET_BUFFER_LIST_STATUS(Nbl);
    if (status != NDIS_STATUS_SUCCESS)
        CosendCountFailure(&failures, status, 1);
    NET_BUFFER_LIST_STATUS(Nbl) = NDIS_STATUS_SUCCESS;
    NET_BUFFER_LIST_NEXT_NBL(Nbl) = NULL;
    restored = CosendRestoreNb(owner, Nbl) ? 1 : 0;
    CosendReclaim(owner, Nbl, Nbl, 1, status != NDIS_STATUS_SUCCESS ? &failures : NULL,
                  restored);
    CosendLeave(&owner->Refs);
}

/*
 * ProtocolCoSendNetBufferListsComplete, IRQL <= DISPATCH_LEVEL, for every
 * NBL cosend gave NdisCoSendNetBufferLists, in any order and grouping,
 * possibly inside the send call. On entry cosend owns the NBLs again, with
 * everything attached (the seed page); each final status is in
 * NET_BUFFER_LIST_STATUS.
 *
 * For each NBL: the checks cosend can make cheaply (its own VC, in flight
 * and so completed exactly once, a final status), a count of its status,
 * the reset for reuse, and onto a local list. Then one locked hand-over of
 * the whole list to the VC, and the pump sends the NBLs again, batched into
 * chains. Nothing here allocates or frees.
 */
_Use_decl_annotations_
static VOID CosendCoSendNetBufferListsComplete(NDIS_HANDLE ProtocolVcContext,
                                               PNET_BUFFER_LIST NetBufferLists,
                                               ULONG SendCompleteFlags)
{
    PCOSEND_VC vc = CosendVcFromContext(ProtocolVcContext,
                                        "send complete: a ProtocolVcContext that is not "
                                        "cosend's; its NBLs are lost");
    PNET_BUFFER_LIST nbl, next;
    PNET_BUFFER_LIST head = NULL, tail = NULL;
    ULONG n = 0;
    ULONG restored = 0;
    BOOLEAN failed = FALSE;
    COSEND_FAILURES failures;

    if (vc == NULL)
        return; /* without a VC there is no binding whose NBLs these could be */
    CosendEnter(&vc->Refs);

    /* The flag may say DISPATCH_LEVEL only when that is true; left clear
     * it only means the caller did not say (allowed). */
    if (NDIS_TEST_SEND_COMPLETE_AT_DISPATCH_LEVEL(SendCompleteFlags) &&
        KeGetCurrentIrql() != DISPATCH_LEVEL)
        CosendViolation(vc->Binding, "send complete: NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL "
                        "below DISPATCH_LEVEL (IRQL-1)", KeGetCurrentIrql());

    for (nbl = NetBufferLists; nbl != NULL; nbl = next) {
        ULONG_PTR tag;
        NDIS_STATUS status;

        next = NET_BUFFER_LIST_NEXT_NBL(nbl);

        if (CosendNblVc(nbl) != vc) {
            CosendViolation(vc->Binding, "send complete: an NBL completed on a VC it was "
                            "not sent on (OWN-5)", vc->Index);
            CosendReturnStray(vc->Binding, nbl);
            continue;
        }
        tag = CosendNblTag(nbl);
        if (!(tag & COSEND_IN_FLIGHT)) {
            /* Completed twice, or never sent: it is on the free list or in
             * another completion already, so it must not be touched. */
            CosendViolation(vc->Binding, "send complete: an NBL that is not in flight "
                            "(completed twice?) (OWN-5)", tag >> 1);
            continue;
        }
        CosendNblSetTag(nbl, tag & ~COSEND_IN_FLIGHT);

        status = NET_BUFFER_LIST_STATUS(nbl);
        if (status != NDIS_STATUS_SUCCESS) {
            if (status == NDIS_STATUS_PENDING)
                CosendViolation(vc->Binding, "send complete: NDIS_STATUS_PENDING as a final "
                                "status (NBL-3)", tag >> 1);
            if (!failed) {
                NdisZeroMemory(&failures, sizeof(failures));
                failed = TRUE;
            }
            CosendCountFailure(&failures, status, 1);
        }

        /* Reset for reuse: a clean status, the data as cosend built it,
         * and Next no longer NDIS's chain but the link of cosend's own
         * list (the pump cuts it when it sends the NBL again). */
        NET_BUFFER_LIST_STATUS(nbl) = NDIS_STATUS_SUCCESS;
        NET_BUFFER_LIST_NEXT_NBL(nbl) = head;
        if (CosendRestoreNb(vc, nbl))
            restored++;
        head = nbl;
        if (tail == NULL)
            tail = nbl;
        n++;
    }

    if (n != 0)
        CosendReclaim(vc, head, tail, n, failed ? &failures : NULL, restored);
    CosendLeave(&vc->Refs);
}

/*
 * ProtocolCoReceiveNetBufferLists, IRQL <= DISPATCH_LEVEL, possibly on
 * several processors at once. On entry cosend owns the chain, unless
 * ReceiveFlags has NDIS_RECEIVE_FLAGS_RESOURCES: then the miniport needs the
 * NBLs back as soon as this returns, and they must be neither kept nor
 * returned. cosend counts them and gives them back at once.
 */
_Use_decl_annotations_
static VOID CosendCoReceiveNetBufferLists(NDIS_HANDLE ProtocolBindingContext,
                                          NDIS_HANDLE ProtocolVcContext,
                                          PNET_BUFFER_LIST NetBufferLists,
                                          ULONG NumberOfNetBufferLists, ULONG ReceiveFlags)
{
    PCOSEND_BINDING b = CosendBindingFromContext(ProtocolBindingContext,
                                                 "receive: a ProtocolBindingContext that is "
                                                 "not cosend's");
    PCOSEND_VC vc;
    PNET_BUFFER_LIST nbl;
    ULONG count = 0;
    KIRQL irql = KeGetCurrentIrql();

    if (b == NULL)
        return; /* without the binding there is no handle to return them with */
    vc = CosendVcFromContext(ProtocolVcContext, "receive: a ProtocolVcContext that is not "
                             "cosend's");
    if (vc != NULL && vc->Binding != b) {
        CosendViolation(b, "receive: the VC belongs to another binding", vc->Index);
        vc = NULL;
    }
    CosendEnter(vc != NULL ? &vc->Refs : &b->Refs);

    if (NDIS_TEST_RECEIVE_AT_DISPATCH_LEVEL(ReceiveFlags) && irql != DISPATCH_LEVEL)
        CosendViolation(b, "receive: NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL below DISPATCH_LEVEL "
                        "(IRQL-1)", irql);
    for (nbl = NetBufferLists; nbl != NULL; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl))
        count++;
    if (count != NumberOfNetBufferLists)
        CosendViolation(b, "receive: NumberOfNetBufferLists does not match the chain", count);
    if (vc != NULL)
        InterlockedAdd64(&vc->Received, count);

    if (!NDIS_TEST_RECEIVE_CANNOT_PEND(ReceiveFlags) && NetBufferLists != NULL)
        NdisReturnNetBufferLists(b->BindingHandle, NetBufferLists,
                                 irql == DISPATCH_LEVEL ? NDIS_RETURN_FLAGS_DISPATCH_LEVEL : 0);
    CosendLeave(vc != NULL ? &vc->Refs : &b->Refs);
}

/* ======================================================================
 * Stopping, pausing and restarting (the binding's VCs, one lock at a time)
 * ====================================================================== */

/* IRQL <= DISPATCH_LEVEL. Ends sending on every VC of the run. */
static VOID CosendStopAll(PCOSEND_BINDING b)
{
    BOOLEAN wake = FALSE;
    ULONG i;

    for (i = 0; i < b->VcCount; i++) {
        PCOSEND_VC vc = b->Vcs[i];

        NdisAcquireSpinLock(&vc->Lock);
        vc->Stop = TRUE;
        if (CosendCheckDrainedLocked(vc))
            wake = TRUE;
        NdisReleaseSpinLock(&vc->Lock);
    }
    if (wake)
        NdisSetEvent(&b->WorkEvent);
}

/*
 * PASSIVE_LEVEL, from NetEventPause. A paused binding starts no send, and
 * the pause is not over until every send is back: wait for each VC to have
 * nothing in flight. The event is reset before the VCs are looked at, so a
 * completion that empties a VC in between is not missed.
 */
static VOID CosendPause(PCOSEND_BINDING b)
{
    ULONG i;

    for (i = 0; i < b->VcCount; i++) {
        NdisAcquireSpinLock(&b->Vcs[i]->Lock);
        b->Vcs[i]->Paused = TRUE;
        NdisReleaseSpinLock(&b->Vcs[i]->Lock);
    }
    for (;;) {
        BOOLEAN busy = FALSE;

        NdisResetEvent(&b->IdleEvent);
        for (i = 0; i < b->VcCount && !busy; i++) {
            NdisAcquireSpinLock(&b->Vcs[i]->Lock);
            busy = b->Vcs[i]->InFlight != 0;
            NdisReleaseSpinLock(&b->Vcs[i]->Lock);
        }
        if (!busy)
            return;
        NdisWaitEvent(&b->IdleEvent, 0);
    }
}

/* PASSIVE_LEVEL, from NetEventRestart: sending may go on where it stopped
 * (on each VC's start work item, not on NDIS's PnP thread). */
static VOID CosendRestart(PCOSEND_BINDING b)
{
    ULONG i;

    for (i = 0; i < b->VcCount; i++) {
        NdisAcquireSpinLock(&b->Vcs[i]->Lock);
        b->Vcs[i]->Paused = FALSE;
        CosendQueueStartAndUnlock(b->Vcs[i]);
    }
}

/* ======================================================================
 * Calls: completions and requests from the call manager side
 * ====================================================================== */

/*
 * ProtocolClMakeCallComplete, IRQL <= DISPATCH_LEVEL; cosend calls it
 * itself when NdisClMakeCall did not return PENDING. CallParameters is
 * cosend's own structure back; the call manager may have changed it
 * (CALL_PARAMETERS_CHANGED). On success the VC becomes active and its
 * start work item fills the window; a call that cannot carry CosendSize
 * bytes is closed at once, without a send.
 */
_Use_decl_annotations_
static VOID CosendClMakeCallComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolVcContext,
                                     NDIS_HANDLE NdisPartyHandle,
                                     PCO_CALL_PARAMETERS CallParameters)
{
    PCOSEND_VC vc = CosendVcFromContext(ProtocolVcContext,
                                        "make call complete: a ProtocolVcContext that is not "
                                        "cosend's");
    PCOSEND_BINDING b;
    BOOLEAN unexpected = FALSE;
    BOOLEAN tooSmall = FALSE;
    BOOLEAN wake = FALSE;
    BOOLEAN active = FALSE;
    ULONG sdu = 0;

    if (vc == NULL)
        return;
    b = vc->Binding;
    CosendEnter(&vc->Refs);

    if (CallParameters != &vc->CallParameters)
        CosendViolation(b, "make call complete: CallParameters is not cosend's", vc->Index);
    if (NdisPartyHandle != NULL)
        CosendViolation(b, "make call complete: a party handle for a point-to-point call",
                        vc->Index);
    if (Status == NDIS_STATUS_SUCCESS &&
        (vc->CallParameters.Flags & CALL_PARAMETERS_CHANGED) &&
        vc->CallParameters.CallMgrParameters != NULL) {
        sdu = vc->CallParameters.CallMgrParameters->Transmit.MaxSduSize;
        tooSmall = sdu != QOS_NOT_SPECIFIED && sdu != 0 && sdu < vc->Size;
    }

    NdisAcquireSpinLock(&vc->Lock);
    if (vc->State != CosendVcCalling) {
        unexpected = TRUE;
    } else if (Status == NDIS_STATUS_SUCCESS) {
        vc->State = CosendVcActive;
        if (tooSmall)
            vc->Stop = TRUE;
        wake = CosendCheckDrainedLocked(vc); /* stopped while calling */
        active = !wake;
    } else {
        vc->State = CosendVcCallDown; /* the VC is still there to delete */
        vc->CallStatus = Status;
        wake = TRUE;
    }
    if (active)
        CosendQueueStartAndUnlock(vc); /* fill the window */
    else
        NdisReleaseSpinLock(&vc->Lock);

    if (unexpected)
        CosendViolation(b, "make call complete without a call being made", vc->Index);
    else if (Status != NDIS_STATUS_SUCCESS)
        DbgPrint("%wZ: VC %lu: NdisClMakeCall failed (0x%08lx)\n", &b->Name, vc->Index,
                 (ULONG)Status);
    else if (tooSmall)
        DbgPrint("%wZ: VC %lu: the call manager lowered Transmit.MaxSduSize to %lu, less than "
                 "CosendSize=%lu; closing the call\n", &b->Name, vc->Index, sdu, vc->Size);
    if (wake)
        NdisSetEvent(&b->WorkEvent);
    CosendLeave(&vc->Refs);
}

/*
 * ProtocolClCloseCallComplete, IRQL <= DISPATCH_LEVEL; cosend calls it
 * itself when NdisClCloseCall did not return PENDING. The VC has no call
 * any more and the worker deletes it.
 */
_Use_decl_annotations_
static VOID CosendClCloseCallComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolVcContext,
                                      NDIS_HANDLE ProtocolPartyContext)
{
    PCOSEND_VC vc = CosendVcFromContext(ProtocolVcContext,
                                        "close call complete: a ProtocolVcContext that is not "
                                        "cosend's");
    PCOSEND_BINDING b;
    BOOLEAN unexpected = FALSE;

    if (vc == NULL)
        return;
    b = vc->Binding;
    CosendEnter(&vc->Refs);
    if (ProtocolPartyContext != NULL)
        CosendViolation(b, "close call complete: a party context for a point-to-point call",
                        vc->Index);

    NdisAcquireSpinLock(&vc->Lock);
    if (vc->State != CosendVcClosing) {
        unexpected = TRUE;
    } else if (Status == NDIS_STATUS_SUCCESS) {
        vc->State = CosendVcCallDown;
    } else {
        vc->State = CosendVcBroken; /* a call that will not close cannot be deleted */
        vc->CallStatus = Status;
    }
    NdisReleaseSpinLock(&vc->Lock);

    if (unexpected)
        CosendViolation(b, "close call complete without a close being made", vc->Index);
    else if (Status != NDIS_STATUS_SUCCESS)
        CosendViolation(b, "NdisClCloseCall failed; the VC cannot be deleted", (ULONG)Status);
    NdisSetEvent(&b->WorkEvent);
    CosendLeave(&vc->Refs);
}

/*
 * ProtocolClIncomingCloseCall, IRQL <= DISPATCH_LEVEL: the far end or the
 * call manager ended the call. cosend must answer with NdisClCloseCall, but
 * not while sends are outstanding; so it only stops sending here, and the
 * worker closes the call once the VC has drained (possibly at once), then
 * deletes the VC it created.
 */
_Use_decl_annotations_
static VOID CosendClIncomingCloseCall(NDIS_STATUS CloseStatus, NDIS_HANDLE ProtocolVcContext,
                                      PVOID CloseData, UINT Size)
{
    PCOSEND_VC vc = CosendVcFromContext(ProtocolVcContext,
                                        "incoming close call: a ProtocolVcContext that is not "
                                        "cosend's");
    PCOSEND_BINDING b;
    COSEND_VC_STATE state;
    BOOLEAN wake = FALSE;

    UNREFERENCED_PARAMETER(CloseData);
    UNREFERENCED_PARAMETER(Size);
    if (vc == NULL)
        return;
    b = vc->Binding;
    CosendEnter(&vc->Refs);

    NdisAcquireSpinLock(&vc->Lock);
    state = vc->State;
    if (state == CosendVcActive || state == CosendVcCalling) {
        vc->PeerClosed = TRUE;
        vc->Stop = TRUE;
        wake = CosendCheckDrainedLocked(vc);
    }
    NdisReleaseSpinLock(&vc->Lock);

    if (state == CosendVcActive || state == CosendVcCalling)
        DbgPrint("%wZ: VC %lu: the call was closed from the far end (0x%08lx)\n", &b->Name,
                 vc->Index, (ULONG)CloseStatus);
    else if (state != CosendVcDrained && state != CosendVcClosing)
        CosendViolation(b, "incoming close call on a VC with no call", state);
    if (wake)
        NdisSetEvent(&b->WorkEvent);
    CosendLeave(&vc->Refs);
}

/* ======================================================================
 * Address family: completions and requests
 * ====================================================================== */

/*
 * ProtocolClOpenAfCompleteEx, PASSIVE_LEVEL; cosend calls it itself when
 * NdisClOpenAddressFamilyEx did not return PENDING. On success the run
 * starts: the worker creates the VCs and makes the calls.
 */
_Use_decl_annotations_
static VOID CosendClOpenAfCompleteEx(NDIS_HANDLE ProtocolAfContext, NDIS_HANDLE NdisAfHandle,
                                     NDIS_STATUS Status)
{
    PCOSEND_BINDING b = CosendBindingFromContext(ProtocolAfContext,
                                                 "open AF complete: a ProtocolAfContext that "
                                                 "is not cosend's");
    NDIS_HANDLE workItem = NULL;
    BOOLEAN unexpected = FALSE;
    BOOLEAN opened = FALSE;

    if (b == NULL)
        return;
    CosendEnter(&b->Refs);
    if (Status == NDIS_STATUS_SUCCESS && NdisAfHandle == NULL) {
        CosendViolation(b, "open AF complete: success without an NdisAfHandle", 0);
        Status = NDIS_STATUS_FAILURE;
    }

    NdisAcquireSpinLock(&b->Lock);
    if (b->AfState != CosendAfOpening) {
        unexpected = TRUE;
    } else if (Status == NDIS_STATUS_SUCCESS) {
        b->AfHandle = NdisAfHandle;
        b->AfState = CosendAfOpen;
        opened = TRUE;
        /* An unbind under way closes the family itself; no run then. */
        if (!b->Unbinding && !b->Stop && b->WorkItem != NULL) {
            workItem = b->WorkItem;
            b->WorkItem = NULL;
            b->RunStarted = TRUE;
            b->WorkerActive = TRUE;
            NdisResetEvent(&b->WorkerIdleEvent); /* under the lock: unbind cannot miss it */
            CosendEnter(&b->Refs);               /* the worker's reference */
        }
    } else {
        b->AfState = CosendAfClosed;
    }
    b->AfStatus = Status;
    NdisReleaseSpinLock(&b->Lock);

    if (unexpected) {
        CosendViolation(b, "open AF complete without an open being made", (ULONG)Status);
    } else {
        if (!opened)
            DbgPrint("%wZ: NdisClOpenAddressFamilyEx(0x%lx) failed (0x%08lx)\n", &b->Name,
                     b->Family.AddressFamily, (ULONG)Status);
        if (workItem != NULL)
            NdisQueueIoWorkItem(workItem, CosendWorker, b);
        NdisSetEvent(&b->AfEvent);
    }
    CosendLeave(&b->Refs);
}

/*
 * ProtocolClCloseAfComplete, IRQL <= DISPATCH_LEVEL; cosend calls it itself
 * when NdisClCloseAddressFamily did not return PENDING.
 */
_Use_decl_annotations_
static VOID CosendClCloseAfComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolAfContext)
{
    PCOSEND_BINDING b = CosendBindingFromContext(ProtocolAfContext,
                                                 "close AF complete: a ProtocolAfContext that "
                                                 "is not cosend's");
    BOOLEAN unexpected = FALSE;

    if (b == NULL)
        return;
    CosendEnter(&b->Refs);
    NdisAcquireSpinLock(&b->Lock);
    if (b->AfState != CosendAfClosing)
        unexpected = TRUE;
    else
        b->AfState = Status == NDIS_STATUS_SUCCESS ? CosendAfClosed : CosendAfOpen;
    b->AfStatus = Status;
    NdisReleaseSpinLock(&b->Lock);

    if (unexpected)
        CosendViolation(b, "close AF complete without a close being made", (ULONG)Status);
    else
        NdisSetEvent(&b->AfEvent);
    CosendLeave(&b->Refs);
}

/*
 * ProtocolClNotifyCloseAf, IRQL <= DISPATCH_LEVEL: the call manager wants
 * the family closed. That takes closing calls and deleting VCs first, which
 * means waiting, so cosend stops the run and pends; the worker closes the
 * family on its way out and then completes the notification.
 */
_Use_decl_annotations_
static NDIS_STATUS CosendClNotifyCloseAf(NDIS_HANDLE ClientAfContext)
{
    PCOSEND_BINDING b = CosendBindingFromContext(ClientAfContext,
                                                 "notify close AF: a ClientAfContext that is "
                                                 "not cosend's");
    NDIS_STATUS status = NDIS_STATUS_SUCCESS;

    if (b == NULL)
        return NDIS_STATUS_FAILURE;
    CosendEnter(&b->Refs);
    NdisAcquireSpinLock(&b->Lock);
    if (b->AfState == CosendAfOpen && b->WorkerActive) {
        b->NotifyClosePending = TRUE;
        b->Stop = TRUE;
        status = NDIS_STATUS_PENDING;
    } else if (b->AfState == CosendAfOpen) {
        /* Open with no run to close it: an earlier close failed (and was
         * reported); cosend has nothing more to try. */
        status = NDIS_STATUS_FAILURE;
    }
    /* Otherwise cosend's own close is already under way. */
    NdisReleaseSpinLock(&b->Lock);

    if (status == NDIS_STATUS_PENDING)
        CosendStopAll(b);
    CosendLeave(&b->Refs);
    return status;
}

/* ======================================================================
 * The control path of a run: NDIS I/O work item, PASSIVE_LEVEL
 * ====================================================================== */

/* Worker. The call: point to point, both directions, CosendSize bytes at
 * least; everything else is left to the call manager. */
static VOID CosendInitCallParameters(PCOSEND_VC Vc)
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

/* Worker. TRUE while the run has not been told to stop. */
static BOOLEAN CosendRunGoesOn(PCOSEND_BINDING b)
{
    BOOLEAN stop;

    NdisAcquireSpinLock(&b->Lock);
    stop = b->Stop;
    NdisReleaseSpinLock(&b->Lock);
    return !stop;
}

/*
 * Worker. Creates the VCs and makes a call on each. A make-call that pends
 * is not waited for: its completion handler starts the sending, and
 * CosendTearDown waits for whatever comes next.
 */
static VOID CosendStartCalls(PCOSEND_BINDING b)
{
    NDIS_HANDLE afHandle;
    ULONG i;

    NdisAcquireSpinLock(&b->Lock);
    afHandle = b->AfHandle;
    NdisReleaseSpinLock(&b->Lock);

    for (i = 0; i < b->VcCount && CosendRunGoesOn(b); i++) {
        PCOSEND_VC vc = b->Vcs[i];
        NDIS_HANDLE vcHandle = NULL; /* must be NULL on entry */
        NDIS_STATUS status;
        BOOLEAN call;

        /* Synchronous: the call manager has the VC when this returns. */
        status = NdisCoCreateVc(b->BindingHandle, afHandle, vc, &vcHandle);
        if (status != NDIS_STATUS_SUCCESS) {
            DbgPrint("%wZ: NdisCoCreateVc for VC %lu failed (0x%08lx); the run goes on with "
                     "%lu VCs\n", &b->Name, i, (ULONG)status, i);
            break;
        }
        b->VcsCreated++;
        CosendInitCallParameters(vc);

        NdisAcquireSpinLock(&vc->Lock);
        vc->NdisVcHandle = vcHandle;
        vc->State = CosendVcCreated;
        call = !vc->Stop;
        if (call)
            vc->State = CosendVcCalling;
        NdisReleaseSpinLock(&vc->Lock);
        if (!call)
            continue; /* stopped meanwhile: CosendTearDown deletes it */

        status = NdisClMakeCall(vcHandle, &vc->CallParameters, NULL, NULL);
        if (status != NDIS_STATUS_PENDING)
            CosendClMakeCallComplete(status, vc, NULL, &vc->CallParameters);
    }
}

/* Worker or unbind. Closes the call of a drained VC. */
static VOID CosendCloseCall(PCOSEND_VC Vc)
{
    NDIS_STATUS status;

    NdisAcquireSpinLock(&Vc->Lock);
    if (Vc->State != CosendVcDrained) {
        NdisReleaseSpinLock(&Vc->Lock);
        return;
    }
    Vc->State = CosendVcClosing;
    NdisReleaseSpinLock(&Vc->Lock);

    /* Every send is back (Drained says so), as NdisClCloseCall requires. */
    status = NdisClCloseCall(Vc->NdisVcHandle, NULL, NULL, 0);
    if (status != NDIS_STATUS_PENDING)
        CosendClCloseCallComplete(status, Vc, NULL);
}

/* Worker or unbind. Deletes a VC that has no call. */
static VOID CosendDeleteVc(PCOSEND_VC Vc)
{
    NDIS_STATUS status;

    NdisAcquireSpinLock(&Vc->Lock);
    if (Vc->State != CosendVcCreated && Vc->State != CosendVcCallDown) {
        NdisReleaseSpinLock(&Vc->Lock);
        return;
    }
    NdisReleaseSpinLock(&Vc->Lock);

    status = NdisCoDeleteVc(Vc->NdisVcHandle);

    NdisAcquireSpinLock(&Vc->Lock);
    if (status == NDIS_STATUS_SUCCESS) {
        Vc->State = CosendVcDeleted;
        Vc->NdisVcHandle = NULL; /* dead from here on */
    } else {
        Vc->State = CosendVcBroken;
    }
    NdisReleaseSpinLock(&Vc->Lock);
    if (status != NDIS_STATUS_SUCCESS)
        CosendViolation(Vc->Binding, "NdisCoDeleteVc failed", (ULONG)status);
}

/*
 * Worker or unbind, PASSIVE_LEVEL. Closes each call whose VC has drained
 * and deletes each VC without a call, as they come, until no VC is left
 * (or only broken ones). Sleeps on WorkEvent in between; the event is reset
 * before the VCs are looked at, so a change made while it looks is not
 * missed.
 */
static VOID CosendTearDown(PCOSEND_BINDING b)
{
    for (;;) {
        ULONG waiting = 0;
        ULONG i;

        NdisResetEvent(&b->WorkEvent);
        for (i = 0; i < b->VcCount; i++) {
            PCOSEND_VC vc = b->Vcs[i];
            COSEND_VC_STATE state;

            CosendCloseCall(vc);
            CosendDeleteVc(vc);

            NdisAcquireSpinLock(&vc->Lock);
            state = vc->State;
            NdisReleaseSpinLock(&vc->Lock);
            if (state != CosendVcUnused && state != CosendVcDeleted && state != CosendVcBroken)
                waiting++;
        }
        if (waiting == 0)
            return;
        NdisWaitEvent(&b->WorkEvent, 0);
    }
}

/*
 * Worker or unbind, PASSIVE_LEVEL. Closes the family if it is open, waiting
 * if the close pends (this thread is not the one NDIS called
 * ProtocolClNotifyCloseAf on, so the wait holds up no one), then completes
 * a pended close request of the call manager.
 */
static VOID CosendCloseAf(PCOSEND_BINDING b)
{
    NDIS_HANDLE afHandle;
    NDIS_STATUS status;
    BOOLEAN notify;

    NdisAcquireSpinLock(&b->Lock);
    if (b->AfState != CosendAfOpen) {
        NdisReleaseSpinLock(&b->Lock);
        return;
    }
    b->AfState = CosendAfClosing;
    afHandle = b->AfHandle;
    NdisResetEvent(&b->AfEvent);
    NdisReleaseSpinLock(&b->Lock);

    status = NdisClCloseAddressFamily(afHandle);
    if (status != NDIS_STATUS_PENDING)
        CosendClCloseAfComplete(status, b);
    NdisWaitEvent(&b->AfEvent, 0);

    NdisAcquireSpinLock(&b->Lock);
    status = b->AfStatus;
    notify = b->NotifyClosePending;
    b->NotifyClosePending = FALSE;
    if (b->AfState == CosendAfClosed)
        b->AfHandle = NULL;
    NdisReleaseSpinLock(&b->Lock);

    if (status != NDIS_STATUS_SUCCESS)
        CosendViolation(b, "NdisClCloseAddressFamily failed", (ULONG)status);
    /* The handle stays valid for this while the notification is pending. */
    if (notify)
        NdisClNotifyCloseAddressFamilyComplete(afHandle, status);
}

/*
 * The run's control path: NDIS_IO_WORKITEM_FUNCTION, PASSIVE_LEVEL on an
 * NDIS worker thread, queued once per binding when the family is open. It
 * sets up the calls, then closes and deletes each VC as its sending ends,
 * then closes the family. The sending itself happens in the completion
 * handlers; this thread only waits in between.
 */
_Use_decl_annotations_
static VOID CosendWorker(PVOID WorkItemContext, NDIS_HANDLE NdisIoWorkItemHandle)
{
    PCOSEND_BINDING b = (PCOSEND_BINDING)WorkItemContext;

    /* The work item served this one run; its routine may free it. */
    NdisFreeIoWorkItem(NdisIoWorkItemHandle);

    CosendStartCalls(b);
    CosendTearDown(b);
    CosendCloseAf(b);

    NdisAcquireSpinLock(&b->Lock);
    b->WorkerActive = FALSE;
    NdisReleaseSpinLock(&b->Lock);
    NdisSetEvent(&b->WorkerIdleEvent);
    CosendLeave(&b->Refs); /* last touch: unbind may free the binding now */
}

/* PASSIVE_LEVEL. Opens the offered family; the completion starts the run. */
static VOID CosendOpenAf(PCOSEND_BINDING b)
{
    NDIS_HANDLE afHandle = NULL;
    NDIS_STATUS status;

    status = NdisClOpenAddressFamilyEx(b->BindingHandle, &b->Family, b, &afHandle);
    if (status != NDIS_STATUS_PENDING)
        CosendClOpenAfCompleteEx(b, afHandle, status);
}

/*
 * ProtocolCoAfRegisterNotify, PASSIVE_LEVEL: a call manager offers an
 * address family on this binding. cosend takes the first one it is offered
 * (it needs nothing from a family but calls that carry data) and opens it
 * from here, as the documentation suggests; one run per binding.
 */
_Use_decl_annotations_
static VOID CosendCoAfRegisterNotify(NDIS_HANDLE ProtocolBindingContext,
                                     PCO_ADDRESS_FAMILY AddressFamily)
{
    PCOSEND_BINDING b = CosendBindingFromContext(ProtocolBindingContext,
                                                 "AF register notify: a ProtocolBindingContext "
                                                 "that is not cosend's");
    BOOLEAN take;
    BOOLEAN ready = FALSE;

    if (b == NULL || AddressFamily == NULL)
        return;
    CosendEnter(&b->Refs);

    NdisAcquireSpinLock(&b->Lock);
    take = !b->Unbinding && !b->RunStarted && b->AfState == CosendAfClosed;
    if (take) {
        b->Family = *AddressFamily; /* the pointer is good only during this call */
        b->AfState = CosendAfOpening;
        NdisResetEvent(&b->AfEvent);
        ready = b->Ready;
        if (!ready)
            b->AfOfferedEarly = TRUE; /* bind opens it when it has finished */
    }
    NdisReleaseSpinLock(&b->Lock);

    if (!take)
        DbgPrint("%wZ: address family 0x%lx offered; cosend already has one, ignored\n",
                 &b->Name, AddressFamily->AddressFamily);
    else if (ready)
        CosendOpenAf(b);
    CosendLeave(&b->Refs);
}

/* ======================================================================
 * Binding and unbinding (PASSIVE_LEVEL)
 * ====================================================================== */

/* ProtocolOpenAdapterCompleteEx, PASSIVE_LEVEL: only after a pended open. */
_Use_decl_annotations_
static VOID CosendOpenAdapterCompleteEx(NDIS_HANDLE ProtocolBindingContext, NDIS_STATUS Status)
{
    PCOSEND_BINDING b = CosendBindingFromContext(ProtocolBindingContext,
                                                 "open adapter complete: a "
                                                 "ProtocolBindingContext that is not cosend's");

    if (b == NULL)
        return;
    CosendEnter(&b->Refs);
    b->OpStatus = Status;
    NdisSetEvent(&b->OpEvent);
    CosendLeave(&b->Refs);
}

/* ProtocolCloseAdapterCompleteEx, PASSIVE_LEVEL: only after a pended close. */
_Use_decl_annotations_
static VOID CosendCloseAdapterCompleteEx(NDIS_HANDLE ProtocolBindingContext)
{
    PCOSEND_BINDING b = CosendBindingFromContext(ProtocolBindingContext,
                                                 "close adapter complete: a "
                                                 "ProtocolBindingContext that is not cosend's");

    if (b == NULL)
        return;
    CosendEnter(&b->Refs);
    b->OpStatus = NDIS_STATUS_SUCCESS;
    NdisSetEvent(&b->OpEvent);
    CosendLeave(&b->Refs);
}

/* PASSIVE_LEVEL. Waits until no handler is inside the binding or a VC. */
static VOID CosendWaitForHandlers(PCOSEND_BINDING b)
{
    ULONG i;

    for (i = 0; i < b->VcCount; i++) {
        while (b->Vcs[i] != NULL && CosendRead(&b->Vcs[i]->Refs) != 0)
            NdisMSleep(COSEND_POLL_US);
    }
    while (CosendRead(&b->Refs) != 0)
        NdisMSleep(COSEND_POLL_US);
}

/* PASSIVE_LEVEL. Frees the binding context itself, last of all. */
static VOID CosendFreeBinding(PCOSEND_BINDING b)
{
    if (b->WorkItem != NULL)
        NdisFreeIoWorkItem(b->WorkItem);
    NdisFreeSpinLock(&b->Lock);
    b->Signature = 0;
    NdisFreeMemoryWithTagPriority(g_ProtocolHandle, b, COSEND_TAG_BINDING);
}

/* PASSIVE_LEVEL. Closes the adapter, waiting if the close pends. */
static VOID CosendCloseAdapter(PCOSEND_BINDING b)
{
    NDIS_STATUS status;

    NdisResetEvent(&b->OpEvent);
    status = NdisCloseAdapterEx(b->BindingHandle);
    if (status == NDIS_STATUS_PENDING)
        NdisWaitEvent(&b->OpEvent, 0);
    else if (status != NDIS_STATUS_SUCCESS)
        CosendViolation(b, "NdisCloseAdapterEx failed", (ULONG)status);
}

/* PASSIVE_LEVEL, at unbind: the binding's one summary line. */
static VOID CosendReport(PCOSEND_BINDING b)
{
    ULONGLONG sent = 0, completed = 0, received = 0, restored = 0, failed;
    COSEND_FAILURES failures;
    COSEND_TEXT byStatus;
    COSEND_TEXT extra;
    ULONG i;

    NdisZeroMemory(&failures, sizeof(failures));
    for (i = 0; i < b->VcCount; i++) {
        PCOSEND_VC vc = b->Vcs[i];

        NdisAcquireSpinLock(&vc->Lock);
        sent += vc->Sent;
        completed += vc->Completed;
        restored += vc->Restored;
        CosendMergeFailures(&failures, &vc->Failures);
        NdisReleaseSpinLock(&vc->Lock);
        received += (ULONGLONG)InterlockedExchangeAdd64(&vc->Received, 0);
    }
    failed = CosendFailureTotal(&failures);

    byStatus.Length = 0;
    byStatus.Buffer[0] = '\0';
    if (failed != 0) {
        CosendTextAppend(&byStatus, " (");
        for (i = 0; i < COSEND_STATUS_SLOTS && failures.Count[i] != 0; i++) {
            if (i != 0)
                CosendTextAppend(&byStatus, ", ");
            CosendTextAppendNumber(&byStatus, (ULONG)failures.Status[i], 16);
            CosendTextAppend(&byStatus, " x ");
            CosendTextAppendNumber(&byStatus, failures.Count[i], 10);
        }
        if (failures.Other != 0) {
            CosendTextAppend(&byStatus, ", other x ");
            CosendTextAppendNumber(&byStatus, failures.Other, 10);
        }
        CosendTextAppend(&byStatus, ")");
    }
    extra.Length = 0;
    extra.Buffer[0] = '\0';
    if (restored != 0) {
        CosendTextAppend(&extra, ", NET_BUFFERs restored ");
        CosendTextAppendNumber(&extra, restored, 10);
    }

    DbgPrint("%wZ: VCs %lu, sent %I64u, completed %I64u, failed %I64u%s, received %I64u, "
             "violations %lu%s (count %lu size %lu window %lu chain %lu)\n",
             &b->Name, b->VcsCreated, sent, completed, failed, byStatus.Buffer, received,
             CosendRead(&b->Violations), extra.Buffer, b->Count, b->Size, b->Window, b->Chain);
}

/*
 * ProtocolBindAdapterEx, PASSIVE_LEVEL. Reads the parameters, allocates
 * everything the run will need, then opens the adapter, waiting if the open
 * pends (simpler than pending the bind). Resources first: then the binding
 * is complete the moment the open is, and a failed allocation has nothing
 * to close.
 */
_Use_decl_annotations_
static NDIS_STATUS CosendBindAdapterEx(NDIS_HANDLE ProtocolDriverContext, NDIS_HANDLE BindContext,
                                       PNDIS_BIND_PARAMETERS BindParameters)
{
    COSEND_PARAMETERS parameters;
    PCOSEND_BINDING b;
    ULONG bytes;
    NDIS_STATUS status;
    BOOLEAN early;

    UNREFERENCED_PARAMETER(ProtocolDriverContext);

    CosendReadParameters(&parameters);
    bytes = (ULONG)FIELD_OFFSET(COSEND_BINDING, Vcs) + parameters.Vcs * (ULONG)sizeof(PCOSEND_VC);
    b = NdisAllocateMemoryWithTagPriority(g_ProtocolHandle, bytes, COSEND_TAG_BINDING,
                                          NormalPoolPriority);
    if (b == NULL)
        return NDIS_STATUS_RESOURCES;
    NdisZeroMemory(b, bytes);
    b->Signature = COSEND_BINDING_SIGNATURE;
    b->VcCount = parameters.Vcs;
    b->Count = parameters.Count;
    b->Size = parameters.Size;
    b->Window = parameters.Window;
    b->Chain = parameters.Chain;
    b->AfState = CosendAfClosed;
    NdisAllocateSpinLock(&b->Lock);
    NdisInitializeEvent(&b->OpEvent);
    NdisInitializeEvent(&b->AfEvent);
    NdisInitializeEvent(&b->WorkEvent);
    NdisInitializeEvent(&b->IdleEvent);
    NdisInitializeEvent(&b->WorkerIdleEvent);
    NdisSetEvent(&b->WorkerIdleEvent); /* no worker yet */

    /* The adapter's name, for messages; the original is good only now. */
    b->Name.Buffer = b->NameBuffer;
    b->Name.MaximumLength = (USHORT)sizeof(b->NameBuffer);
    b->Name.Length = 0;
    if (BindParameters->AdapterName != NULL) {
        b->Name.Length = (USHORT)MIN(BindParameters->AdapterName->Length,
                                     (USHORT)sizeof(b->NameBuffer));
        NdisMoveMemory(b->NameBuffer, BindParameters->AdapterName->Buffer, b->Name.Length);
    }

    status = CosendAllocateResources(b);
    if (status == NDIS_STATUS_SUCCESS) {
        b->WorkItem = NdisAllocateIoWorkItem(g_ProtocolHandle);
        if (b->WorkItem == NULL)
            status = NDIS_STATUS_RESOURCES;
    }
    if (status != NDIS_STATUS_SUCCESS) {
        DbgPrint("%wZ: not enough memory for %lu VCs of %lu NBLs of %lu bytes\n", &b->Name,
                 b->VcCount, b->Window, b->Size);
        CosendFreeResources(b);
        CosendFreeBinding(b);
        return status;
    }

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
        /* BindingHandle and SelectedMediumIndex are written before this. */
        NdisWaitEvent(&b->OpEvent, 0);
        status = b->OpStatus;
    }
    if (status != NDIS_STATUS_SUCCESS) {
        /* Not a connection-oriented adapter is no error: it is not cosend's. */
        if (status != NDIS_STATUS_UNSUPPORTED_MEDIA)
            DbgPrint("%wZ: NdisOpenAdapterEx failed (0x%08lx)\n", &b->Name, (ULONG)status);
        CosendWaitForHandlers(b);
        CosendFreeResources(b);
        CosendFreeBinding(b);
        return status;
    }

    NdisAcquireSpinLock(&b->Lock);
    b->Ready = TRUE;
    early = b->AfOfferedEarly;
    b->AfOfferedEarly = FALSE;
    NdisReleaseSpinLock(&b->Lock);
    if (early)
        CosendOpenAf(b);

    DbgPrint("bound to %wZ: %lu VCs, count %lu, size %lu, window %lu, chain %lu\n", &b->Name,
             b->VcCount, b->Count, b->Size, b->Window, b->Chain);
    return NDIS_STATUS_SUCCESS;
}

/*
 * ProtocolUnbindAdapterEx, PASSIVE_LEVEL; it cannot fail. NDIS has paused
 * the binding first. Stops the run and waits for the worker, which closes
 * the calls, deletes the VCs and closes the family on its way out; closes
 * whatever is left itself (normally nothing); reports; frees the send
 * resources - every NBL is back by now - and closes the adapter. The
 * binding context goes last: handlers may be on their way out until then.
 */
_Use_decl_annotations_
static NDIS_STATUS CosendUnbindAdapterEx(NDIS_HANDLE UnbindContext,
                                         NDIS_HANDLE ProtocolBindingContext)
{
    PCOSEND_BINDING b = CosendBindingFromContext(ProtocolBindingContext,
                                                 "unbind: a ProtocolBindingContext that is "
                                                 "not cosend's");
    BOOLEAN opening;

    UNREFERENCED_PARAMETER(UnbindContext);
    if (b == NULL)
        return NDIS_STATUS_SUCCESS;

    NdisAcquireSpinLock(&b->Lock);
    b->Unbinding = TRUE;
    b->Stop = TRUE;
    opening = b->AfState == CosendAfOpening;
    NdisReleaseSpinLock(&b->Lock);
    CosendStopAll(b);

    /* An open of the family still on its way: let it land (the completion
     * sees Unbinding and starts no run), then close it below. */
    if (opening)
        NdisWaitEvent(&b->AfEvent, 0);
    NdisWaitEvent(&b->WorkerIdleEvent, 0);

    /* Normally the worker has left nothing; these are no-ops then. */
    CosendTearDown(b);
    CosendCloseAf(b);

    CosendReport(b);
    CosendWaitForHandlers(b);
    CosendFreeResources(b);
    CosendCloseAdapter(b);
    CosendWaitForHandlers(b); /* a pended close's completion on its way out */
    CosendFreeBinding(b);
    return NDIS_STATUS_SUCCESS;
}

/*
 * ProtocolNetPnPEvent, PASSIVE_LEVEL. A pause stops the sending and is not
 * over until every send is back; a restart lets it go on. Other events need
 * nothing from cosend.
 */
_Use_decl_annotations_
static NDIS_STATUS CosendNetPnPEvent(NDIS_HANDLE ProtocolBindingContext,
                                     PNET_PNP_EVENT_NOTIFICATION NetPnPEventNotification)
{
    PCOSEND_BINDING b;

    if (ProtocolBindingContext == NULL || NetPnPEventNotification == NULL)
        return NDIS_STATUS_SUCCESS; /* events about the driver as a whole */
    b = CosendBindingFromContext(ProtocolBindingContext,
                                 "PnP event: a ProtocolBindingContext that is not cosend's");
    if (b == NULL)
        return NDIS_STATUS_SUCCESS;

    switch (NetPnPEventNotification->NetPnPEvent.NetEvent) {
    case NetEventPause:
        CosendPause(b);
        break;
    case NetEventRestart:
        CosendRestart(b);
        break;
    default:
        break;
    }
    return NDIS_STATUS_SUCCESS;
}

/* ======================================================================
 * Handlers for what cosend never asks for (IRQL <= DISPATCH_LEVEL). Each
 * must still be registered; being called is either harmless or a broken
 * invariant, as each says.
 * ====================================================================== */

/* Connectionless receive: give back whatever arrives. */
_Use_decl_annotations_
static VOID CosendReceiveNetBufferLists(NDIS_HANDLE ProtocolBindingContext,
                                        PNET_BUFFER_LIST NetBufferLists,
                                        NDIS_PORT_NUMBER PortNumber,
                                        ULONG NumberOfNetBufferLists, ULONG ReceiveFlags)
{
    PCOSEND_BINDING b = CosendBindingFromContext(ProtocolBindingContext,
                                                 "connectionless receive: a "
                                                 "ProtocolBindingContext that is not cosend's");

    UNREFERENCED_PARAMETER(PortNumber);
    UNREFERENCED_PARAMETER(NumberOfNetBufferLists);
    if (b == NULL)
        return;
    CosendEnter(&b->Refs);
    if (!NDIS_TEST_RECEIVE_CANNOT_PEND(ReceiveFlags) && NetBufferLists != NULL)
        NdisReturnNetBufferLists(b->BindingHandle, NetBufferLists,
                                 KeGetCurrentIrql() == DISPATCH_LEVEL
                                     ? NDIS_RETURN_FLAGS_DISPATCH_LEVEL
                                     : 0);
    CosendLeave(&b->Refs);
}

_Use_decl_annotations_
static VOID CosendSendNetBufferListsComplete(NDIS_HANDLE ProtocolBindingContext,
                                             PNET_BUFFER_LIST NetBufferList,
                                             ULONG SendCompleteFlags)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(SendCompleteFlags);
    CosendViolation(NULL, "connectionless send complete, but cosend sends only on VCs",
                    (ULONG_PTR)NetBufferList);
}

_Use_decl_annotations_
static VOID CosendOidRequestComplete(NDIS_HANDLE ProtocolBindingContext,
                                     PNDIS_OID_REQUEST OidRequest, NDIS_STATUS Status)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(OidRequest);
    CosendViolation(NULL, "OID request complete, but cosend made none", (ULONG)Status);
}

_Use_decl_annotations_
static VOID CosendStatusEx(NDIS_HANDLE ProtocolBindingContext,
                           PNDIS_STATUS_INDICATION StatusIndication)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(StatusIndication);
}

_Use_decl_annotations_
static VOID CosendCoStatusEx(NDIS_HANDLE ProtocolBindingContext, NDIS_HANDLE ProtocolVcContext,
                             PNDIS_STATUS_INDICATION StatusIndication)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(StatusIndication);
}

/* A call manager creating a VC for an incoming call: cosend registered no
 * SAP and takes no calls, so it declines. */
_Use_decl_annotations_
static NDIS_STATUS CosendCoCreateVc(NDIS_HANDLE ProtocolAfContext, NDIS_HANDLE NdisVcHandle,
                                    PNDIS_HANDLE ProtocolVcContext)
{
    UNREFERENCED_PARAMETER(ProtocolAfContext);
    UNREFERENCED_PARAMETER(NdisVcHandle);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    return NDIS_STATUS_NOT_SUPPORTED;
}

_Use_decl_annotations_
static NDIS_STATUS CosendCoDeleteVc(NDIS_HANDLE ProtocolVcContext)
{
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    return NDIS_STATUS_NOT_SUPPORTED;
}

_Use_decl_annotations_
static NDIS_STATUS CosendCoOidRequest(NDIS_HANDLE ProtocolAfContext,
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
static VOID CosendCoOidRequestComplete(NDIS_HANDLE ProtocolAfContext,
                                       NDIS_HANDLE ProtocolVcContext,
                                       NDIS_HANDLE ProtocolPartyContext,
                                       PNDIS_OID_REQUEST OidRequest, NDIS_STATUS Status)
{
    UNREFERENCED_PARAMETER(ProtocolAfContext);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    UNREFERENCED_PARAMETER(OidRequest);
    CosendViolation(NULL, "CoNDIS OID request complete, but cosend made none", (ULONG)Status);
}

_Use_decl_annotations_
static VOID CosendClRegisterSapComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolSapContext,
                                        PCO_SAP Sap, NDIS_HANDLE NdisSapHandle)
{
    UNREFERENCED_PARAMETER(ProtocolSapContext);
    UNREFERENCED_PARAMETER(Sap);
    UNREFERENCED_PARAMETER(NdisSapHandle);
    CosendViolation(NULL, "register SAP complete, but cosend registered none", (ULONG)Status);
}

_Use_decl_annotations_
static VOID CosendClDeregisterSapComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolSapContext)
{
    UNREFERENCED_PARAMETER(ProtocolSapContext);
    CosendViolation(NULL, "deregister SAP complete, but cosend registered none",
                    (ULONG)Status);
}

_Use_decl_annotations_
static VOID CosendClModifyCallQoSComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolVcContext,
                                          PCO_CALL_PARAMETERS CallParameters)
{
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(CallParameters);
    CosendViolation(NULL, "modify call QoS complete, but cosend asked for none",
                    (ULONG)Status);
}

_Use_decl_annotations_
static VOID CosendClAddPartyComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolPartyContext,
                                     NDIS_HANDLE NdisPartyHandle,
                                     PCO_CALL_PARAMETERS CallParameters)
{
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    UNREFERENCED_PARAMETER(NdisPartyHandle);
    UNREFERENCED_PARAMETER(CallParameters);
    CosendViolation(NULL, "add party complete, but cosend added none", (ULONG)Status);
}

_Use_decl_annotations_
static VOID CosendClDropPartyComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolPartyContext)
{
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    CosendViolation(NULL, "drop party complete, but cosend has no parties", (ULONG)Status);
}

_Use_decl_annotations_
static NDIS_STATUS CosendClIncomingCall(NDIS_HANDLE ProtocolSapContext,
                                        NDIS_HANDLE ProtocolVcContext,
                                        PCO_CALL_PARAMETERS CallParameters)
{
    UNREFERENCED_PARAMETER(ProtocolSapContext);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(CallParameters);
    CosendViolation(NULL, "incoming call, but cosend registered no SAP", 0);
    return NDIS_STATUS_NOT_SUPPORTED;
}

/* Whatever QoS the far end settles on carries this traffic. */
_Use_decl_annotations_
static VOID CosendClIncomingCallQoSChange(NDIS_HANDLE ProtocolVcContext,
                                          PCO_CALL_PARAMETERS CallParameters)
{
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(CallParameters);
}

_Use_decl_annotations_
static VOID CosendClIncomingDropParty(NDIS_STATUS DropStatus, NDIS_HANDLE ProtocolPartyContext,
                                      PVOID CloseData, UINT Size)
{
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    UNREFERENCED_PARAMETER(CloseData);
    UNREFERENCED_PARAMETER(Size);
    CosendViolation(NULL, "incoming drop party, but cosend has no parties", (ULONG)DropStatus);
}

_Use_decl_annotations_
static VOID CosendClCallConnected(NDIS_HANDLE ProtocolVcContext)
{
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    CosendViolation(NULL, "call connected, but cosend accepts no incoming calls", 0);
}

/* ======================================================================
 * Registration (PASSIVE_LEVEL)
 * ====================================================================== */

/*
 * ProtocolSetOptions, called inside NdisRegisterProtocolDriver: the only
 * place a protocol adds the CoNDIS handler sets. NDIS copies both
 * structures, so they live on the stack.
 */
_Use_decl_annotations_
static NDIS_STATUS CosendSetOptions(NDIS_HANDLE NdisDriverHandle, NDIS_HANDLE DriverContext)
{
    NDIS_PROTOCOL_CO_CHARACTERISTICS co;
    NDIS_CO_CLIENT_OPTIONAL_HANDLERS client;
    NDIS_STATUS status;

    UNREFERENCED_PARAMETER(DriverContext);

    NdisZeroMemory(&co, sizeof(co));
    co.Header.Type = NDIS_OBJECT_TYPE_CO_PROTOCOL_CHARACTERISTICS;
    co.Header.Revision = NDIS_PROTOCOL_CO_CHARACTERISTICS_REVISION_1;
    co.Header.Size = NDIS_SIZEOF_PROTOCOL_CO_CHARACTERISTICS_REVISION_1;
    co.CoStatusHandlerEx = CosendCoStatusEx;
    co.CoAfRegisterNotifyHandler = CosendCoAfRegisterNotify;
    co.CoReceiveNetBufferListsHandler = CosendCoReceiveNetBufferLists;
    co.CoSendNetBufferListsCompleteHandler = CosendCoSendNetBufferListsComplete;
    status = NdisSetOptionalHandlers(NdisDriverHandle, (PNDIS_DRIVER_OPTIONAL_HANDLERS)&co);
    if (status != NDIS_STATUS_SUCCESS)
        return status;

    /* Every member is set, also for what cosend never does. */
    NdisZeroMemory(&client, sizeof(client));
    client.Header.Type = NDIS_OBJECT_TYPE_CO_CLIENT_OPTIONAL_HANDLERS;
    client.Header.Revision = NDIS_CO_CLIENT_OPTIONAL_HANDLERS_REVISION_1;
    client.Header.Size = NDIS_SIZEOF_CO_CLIENT_OPTIONAL_HANDLERS_REVISION_1;
    client.ClCreateVcHandler = CosendCoCreateVc;
    client.ClDeleteVcHandler = CosendCoDeleteVc;
    client.ClOidRequestHandler = CosendCoOidRequest;
    client.ClOidRequestCompleteHandler = CosendCoOidRequestComplete;
    client.ClOpenAfCompleteHandlerEx = CosendClOpenAfCompleteEx;
    client.ClCloseAfCompleteHandler = CosendClCloseAfComplete;
    client.ClRegisterSapCompleteHandler = CosendClRegisterSapComplete;
    client.ClDeregisterSapCompleteHandler = CosendClDeregisterSapComplete;
    client.ClMakeCallCompleteHandler = CosendClMakeCallComplete;
    client.ClModifyCallQoSCompleteHandler = CosendClModifyCallQoSComplete;
    client.ClCloseCallCompleteHandler = CosendClCloseCallComplete;
    client.ClAddPartyCompleteHandler = CosendClAddPartyComplete;
    client.ClDropPartyCompleteHandler = CosendClDropPartyComplete;
    client.ClIncomingCallHandler = CosendClIncomingCall;
    client.ClIncomingCallQoSChangeHandler = CosendClIncomingCallQoSChange;
    client.ClIncomingCloseCallHandler = CosendClIncomingCloseCall;
    client.ClIncomingDropPartyHandler = CosendClIncomingDropParty;
    client.ClCallConnectedHandler = CosendClCallConnected;
    client.ClNotifyCloseAfHandler = CosendClNotifyCloseAf;
    return NdisSetOptionalHandlers(NdisDriverHandle, (PNDIS_DRIVER_OPTIONAL_HANDLERS)&client);
}

/*
 * DriverUnload, PASSIVE_LEVEL. Deregistering unbinds every binding still
 * open (each through ProtocolUnbindAdapterEx) before it returns; no
 * handler of cosend runs after it.
 */
_Use_decl_annotations_
static VOID CosendUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    if (g_ProtocolHandle != NULL) {
        NdisDeregisterProtocolDriver(g_ProtocolHandle);
        g_ProtocolHandle = NULL;
    }
}

/*
 * DriverEntry, PASSIVE_LEVEL: registers the protocol. NDIS calls
 * ProtocolSetOptions before NdisRegisterProtocolDriver returns and may
 * start binding as soon as it has.
 */
_Use_decl_annotations_
NTSTATUS CosendDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NDIS_PROTOCOL_DRIVER_CHARACTERISTICS pc;
    NDIS_STRING name = NDIS_STRING_CONST("cosend");
    NDIS_STATUS status;

    UNREFERENCED_PARAMETER(RegistryPath);
    InterlockedExchange(&g_Errors, 0);

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
    pc.SetOptionsHandler = CosendSetOptions;
    pc.BindAdapterHandlerEx = CosendBindAdapterEx;
    pc.UnbindAdapterHandlerEx = CosendUnbindAdapterEx;
    pc.OpenAdapterCompleteHandlerEx = CosendOpenAdapterCompleteEx;
    pc.CloseAdapterCompleteHandlerEx = CosendCloseAdapterCompleteEx;
    pc.NetPnPEventHandler = CosendNetPnPEvent;
    pc.UninstallHandler = NULL;
    pc.OidRequestCompleteHandler = CosendOidRequestComplete;
    pc.StatusHandlerEx = CosendStatusEx;
    pc.ReceiveNetBufferListsHandler = CosendReceiveNetBufferLists;
    pc.SendNetBufferListsCompleteHandler = CosendSendNetBufferListsComplete;

    status = NdisRegisterProtocolDriver(NULL, &pc, &g_ProtocolHandle);
    if (status != NDIS_STATUS_SUCCESS) {
        DbgPrint("NdisRegisterProtocolDriver failed (0x%08lx)\n", (ULONG)status);
        g_ProtocolHandle = NULL;
        return (NTSTATUS)status;
    }
    DriverObject->DriverUnload = CosendUnload;
    return STATUS_SUCCESS;
}
