/*
 * coclient5.c - an independent CoNDIS 5.1 client protocol driver.
 *
 * Build it as a shared object that condis loads (from the top of the tree):
 *
 *   gcc -std=c11 -Wall -Wextra -Wno-multichar -I include -shared -fPIC examples/coclient5.c -o coclient5.so
 *
 * (clang takes the same line.) It is written against <ndis.h> and Microsoft's
 * NDIS 5.x documentation only, the way a Windows XP-era CoNDIS client is
 * written against the DDK: packets (NDIS_PACKET), buffer descriptors
 * (NDIS_BUFFER) and the NDIS 5 protocol and client entry points, not NBLs.
 *
 * What it does, per binding to a connection-oriented adapter:
 *
 *   DriverEntry            NdisRegisterProtocol with the NDIS 5.x protocol
 *                          characteristics; DriverUnload deregisters.
 *   ProtocolBindAdapter    reads the parameters (NdisOpenProtocolConfiguration
 *                          on SystemSpecific1), allocates a packet pool, a
 *                          buffer pool and one data buffer per send slot, then
 *                          NdisOpenAdapter (NdisMediumCoWan). If the open pends,
 *                          the bind pends too and ProtocolOpenAdapterComplete
 *                          finishes it with NdisCompleteBindAdapter.
 *   ProtocolCoAfRegisterNotify
 *                          claims the first address family offered and
 *                          schedules an NDIS_WORK_ITEM; the call setup runs
 *                          there, at PASSIVE_LEVEL, where waiting is allowed.
 *   work item              NdisClOpenAddressFamily -> NdisCoCreateVc ->
 *                          NdisClMakeCall -> Coclient5Count packets with
 *                          NdisCoSendPackets, at most Coclient5Window in
 *                          flight -> wait until all are back -> NdisClCloseCall
 *                          -> NdisCoDeleteVc -> NdisClCloseAddressFamily.
 *                          Each step that may pend is handled the same way:
 *                          if the call returns anything but NDIS_STATUS_PENDING
 *                          the client runs its own completion handler, then it
 *                          waits for the NDIS_EVENT that handler sets.
 *   ProtocolCoSendComplete checks the packet that came back, then prepares it
 *                          for reuse the way the ProtocolCoSendComplete page
 *                          says: buffer descriptors unchained first,
 *                          NdisReinitializePacket, the OOB block (and only it)
 *                          zeroed, the buffer chained again; the next sequence
 *                          number is written and the packet sent again while
 *                          packets remain.
 *   ProtocolCoReceivePacket
 *                          checks the sequence number and payload of what a
 *                          loopback miniport indicates. It keeps nothing
 *                          unless Coclient5KeepEvery asks it to, and never a
 *                          packet whose status is NDIS_STATUS_RESOURCES; kept
 *                          packets go back with NdisReturnPackets from a work
 *                          item.
 *   ProtocolUnbindAdapter  stops the run, waits for the work items, returns
 *                          kept packets, frees packets, buffers, memory and
 *                          pools, NdisCloseAdapter; a pended close finishes in
 *                          ProtocolCloseAdapterComplete with
 *                          NdisCompleteUnbindAdapter.
 *
 * Parameters (NdisReadConfiguration on the protocol's configuration):
 *   Coclient5Count      packets to send              (default 1000)
 *   Coclient5Size       bytes per packet             (default 256, at least 4)
 *   Coclient5Window     packets in flight at most    (default 32)
 *   Coclient5KeepEvery  keep every Nth received packet and return it later
 *                       from a work item             (default 0: never)
 *
 * Test-only knobs: planted bugs. They exist so that `condis run --verify`
 * can be shown to catch a protocol that breaks one rule (ids as in condis'
 * RULES.md); with Coclient5Bug unset the client behaves exactly as
 * described above. Everything they do is in the "Planted bugs" section
 * below, each bug marked PLANTED BUG.
 *   Coclient5Bug=ID     break rule ID (a string):
 *     OWN-1   write a byte of the data of a packet just sent, in flight
 *     OWN-2   read NDIS_GET_PACKET_STATUS right after NdisCoSendPackets,
 *             take its value (not PENDING) for the result and free the
 *             packet (condis refuses the free: the verifier also reports
 *             OWN-3)
 *     OWN-3   the worker thread NdisFreePackets a packet another thread
 *             sent, in flight
 *     PKT-1   NdisReinitializePacket in the send-complete handler without
 *             unchaining the buffer first (it is chained again after)
 *     PKT-2   NdisZeroMemory on the NDIS_PACKET in the send-complete handler
 *     PKT-4   lend a packet a media-specific block and free the block with
 *             NdisFreeMemory while the packet is in flight
 *     VC-1    send one more packet on the VC after its call was closed
 *     VC-2    stop sending and NdisClCloseCall with packets still in flight
 *     VC-3    NdisCoDeleteVc on the VC while its call is up
 *     VC-4    send a packet on the VC handle after NdisCoDeleteVc
 *     IRQL-2  NdisMSleep in the send-complete handler at DISPATCH_LEVEL
 *     IRQL-3  return from the send-complete handler holding a spin lock
 *             (released again in a later call of the handler)
 *     RES-1   leave a memory block allocated at bind unfreed at unload
 *     RES-2   NdisFreePacketPool once the run has drained, with the pool's
 *             packets still allocated (the pool is freed again at unbind)
 *     (IRQL-1 is not here: no NDIS 5.x protocol call takes a
 *     ..._DISPATCH_LEVEL flag.)
 *   Coclient5BugEvery=K plant the bug again every K packets sent (default 0:
 *                       once). The first time is once Coclient5Window + 8
 *                       packets have been sent (sooner if Coclient5Count is
 *                       smaller). VC-1, VC-2, VC-4, RES-1 and RES-2 can only
 *                       happen once per run.
 * An ID the client does not know is reported with DbgPrint and fails the
 * bind (NDIS_STATUS_FAILURE), so a typo cannot pass for a clean run. The
 * bugs that act on a packet in flight (OWN-1, OWN-2, OWN-3, PKT-4) check
 * under the binding lock that it has not come back yet, but it can still
 * complete in the moment before the bug acts; run them over a miniport that
 * completes later (sim with SimLatencyUs, as condis' tests do). Whatever
 * condis refuses or repairs, the client carries on and ends its run in
 * order.
 *
 * Each payload starts with a 32-bit little-endian sequence number; byte i >= 4
 * holds (UCHAR)(sequence + i), so a receiver can tell a damaged packet from a
 * reordered or repeated one.
 *
 * For a test harness the .so exports, besides DriverEntry:
 *   ULONG Coclient5Done(void)    1 once every VC the client created has been
 *                                deleted again (and at least one was created).
 *   ULONG Coclient5Errors(void)  how many broken invariants the client saw: a
 *                                packet completed twice, never sent, or on the
 *                                wrong VC; a final status of PENDING; a buffer
 *                                chain or payload changed by the layers below;
 *                                damaged or repeated received data; a
 *                                completion for an operation it never started;
 *                                a teardown step that failed.
 * Sends that complete with a failure status are counted ("failed"), not
 * errors: a miniport may fail sends on purpose.
 *
 * Locking: one NDIS spin lock per binding guards the run state, the counters,
 * the free-slot stack and the kept-packet list. It is never held across an
 * NDIS call that can call back into this driver (NdisCoSendPackets,
 * NdisReturnPackets, the NdisCl and NdisCo operations, work-item scheduling):
 * a miniport may complete a send inside NdisCoSendPackets, a loopback may
 * indicate a receive inside it, and both handlers take the same lock.
 *
 * Not used, because condis does not provide them and a minimal client does
 * not need them: NdisRequest, NdisCoRequest, NdisReset, NdisCompletePnPEvent,
 * the SAP, party and QoS functions, NdisCoGetTapiCallId.
 */

/* The NDIS 5.1 protocol surface of <ndis.h>. */
#define NDIS51 1
#include <ndis.h>

/* ---- constants ----------------------------------------------------------- */

/* Pool tag: reads "Col5" in a pool or leak report. */
#define COCLIENT5_TAG '5loC'

#define COCLIENT5_DEFAULT_COUNT 1000
#define COCLIENT5_DEFAULT_SIZE 256
#define COCLIENT5_DEFAULT_WINDOW 32
#define COCLIENT5_DEFAULT_KEEP_EVERY 0

#define COCLIENT5_MAX_COUNT 0x01000000 /* keeps the seen-bitmap at 2 MB at most */
#define COCLIENT5_MIN_SIZE 4           /* room for the sequence number */
#define COCLIENT5_MAX_SIZE 65536
#define COCLIENT5_MAX_WINDOW 1024      /* far below a packet pool's 0xFFFF */

/* Packets per NdisCoSendPackets call at most; exercises multi-packet arrays. */
#define COCLIENT5_BATCH 8
/* Kept packets returned per NdisReturnPackets call at most. */
#define COCLIENT5_RETURN_BATCH 32
/* Bindings the driver can tell apart when a packet comes back. */
#define COCLIENT5_MAX_BINDINGS 16

/* NDIS 5.1 protocol; client characteristics of CoNDIS 5.0 (see DriverEntry). */
#define COCLIENT5_NDIS_MAJOR 5
#define COCLIENT5_NDIS_MINOR 1
#define COCLIENT5_CLIENT_MAJOR 5
#define COCLIENT5_CLIENT_MINOR 0

/* Signatures let every handler check that a context NDIS hands back is ours. */
#define COCLIENT5_BINDING_SIGNATURE 0x35444E42 /* "BND5" */
#define COCLIENT5_AF_SIGNATURE 0x35464143      /* "CAF5" */
#define COCLIENT5_VC_SIGNATURE 0x35435643      /* "CVC5" */
#define COCLIENT5_PACKET_SIGNATURE 0x35544B50  /* "PKT5" */

/* The rule a planted bug breaks (Coclient5Bug); test only, see the header. */
typedef enum _COCLIENT5_BUG {
    Coclient5BugNone,
    Coclient5BugOwn1,
    Coclient5BugOwn2,
    Coclient5BugOwn3,
    Coclient5BugPkt1,
    Coclient5BugPkt2,
    Coclient5BugPkt4,
    Coclient5BugVc1,
    Coclient5BugVc2,
    Coclient5BugVc3,
    Coclient5BugVc4,
    Coclient5BugIrql2,
    Coclient5BugIrql3,
    Coclient5BugRes1,
    Coclient5BugRes2
} COCLIENT5_BUG;

/* ---- per-binding state -------------------------------------------------- */

typedef enum _COCLIENT5_ADAPTER_STATE {
    Coclient5AdapterOpening, /* NdisOpenAdapter called, not finished */
    Coclient5AdapterOpen,    /* the binding handle is valid */
    Coclient5AdapterClosing  /* NdisCloseAdapter called, not finished */
} COCLIENT5_ADAPTER_STATE;

typedef enum _COCLIENT5_AF_STATE {
    Coclient5AfClosed,  /* no AF open */
    Coclient5AfOpening, /* NdisClOpenAddressFamily is under way */
    Coclient5AfOpen,    /* NdisAfHandle is valid */
    Coclient5AfClosing  /* NdisClCloseAddressFamily is under way */
} COCLIENT5_AF_STATE;

typedef enum _COCLIENT5_VC_STATE {
    Coclient5VcNone,    /* no VC */
    Coclient5VcCreated, /* NdisCoCreateVc succeeded, no call on it */
    Coclient5VcCalling, /* NdisClMakeCall is under way */
    Coclient5VcActive,  /* the call is up: sends are allowed */
    Coclient5VcClosing, /* NdisClCloseCall is under way */
    Coclient5VcClosed   /* the call is down; the VC still has to be deleted */
} COCLIENT5_VC_STATE;

struct _COCLIENT5_BINDING;
struct _COCLIENT5_VC;

/*
 * What the client keeps in each send packet's ProtocolReserved area (the
 * pool is created with exactly this ProtocolReservedLength). ProtocolReserved
 * belongs to the protocol that allocated the packet, so no layer below may
 * touch it. It is written again after every NdisReinitializePacket, because
 * some NDIS documentation says that call clears ProtocolReserved.
 */
typedef struct _COCLIENT5_RESERVED {
    ULONG Signature;
    ULONG Index;                       /* into the binding's Slots */
    struct _COCLIENT5_BINDING *Binding;
} COCLIENT5_RESERVED, *PCOCLIENT5_RESERVED;

/*
 * One send slot: a packet descriptor with its one buffer descriptor and the
 * data it maps, allocated at bind and reused for every send until unbind.
 * Seq, SentOn and InFlight are guarded by the binding's lock.
 */
typedef struct _COCLIENT5_SLOT {
    PNDIS_PACKET Packet;
    PNDIS_BUFFER Buffer;
    PUCHAR Data;
    struct _COCLIENT5_VC *SentOn; /* the VC of the current send */
    ULONG Seq;                    /* sequence number of the current send */
    BOOLEAN InFlight;             /* TRUE from the send until its completion */
    BOOLEAN Broken;               /* its chain was lost: never sent again */
} COCLIENT5_SLOT, *PCOCLIENT5_SLOT;

/* The per-AF context (ProtocolAfContext). */
typedef struct _COCLIENT5_AF {
    ULONG Signature;
    struct _COCLIENT5_BINDING *Binding;
    COCLIENT5_AF_STATE State;
    NDIS_HANDLE NdisAfHandle;
    CO_ADDRESS_FAMILY Family; /* copy of what the call manager offered */
    NDIS_STATUS Status;       /* result of the last open or close */
} COCLIENT5_AF, *PCOCLIENT5_AF;

/* The per-VC context (ProtocolVcContext). */
typedef struct _COCLIENT5_VC {
    ULONG Signature;
    struct _COCLIENT5_BINDING *Binding;
    COCLIENT5_VC_STATE State;
    NDIS_HANDLE NdisVcHandle;
    NDIS_STATUS CallStatus; /* result of the last make or close call */
    BOOLEAN PeerClosed;     /* ProtocolClIncomingCloseCall arrived */
    NDIS_STATUS PeerCloseStatus;

    /*
     * The call parameters are lent to NDIS and the call manager, which may
     * rewrite them, until the make-call completes; they live here so that
     * they outlast NdisClMakeCall returning PENDING. CallMgrSpecific and
     * MediaSpecific are empty (Length 0), so the one-byte Parameters arrays
     * of the structures are room enough.
     */
    CO_CALL_PARAMETERS CallParameters;
    CO_CALL_MANAGER_PARAMETERS CallMgrParameters;
    CO_MEDIA_PARAMETERS MediaParameters;
} COCLIENT5_VC, *PCOCLIENT5_VC;

/*
 * The per-binding context (ProtocolBindingContext). It owns one AF context
 * and one VC context (this client makes one call per binding) and every
 * resource of the binding.
 */
typedef struct _COCLIENT5_BINDING {
    ULONG Signature;
    NDIS_SPIN_LOCK Lock;

    /* Adapter. BindContext and UnbindContext are kept for a pended open or
     * close; MediumIndex must outlast a pended NdisOpenAdapter. */
    NDIS_HANDLE BindingHandle;
    UINT MediumIndex;
    COCLIENT5_ADAPTER_STATE AdapterState;
    NDIS_HANDLE BindContext;
    NDIS_HANDLE UnbindContext;

    /* Parameters, read once at bind. */
    ULONG Count;
    ULONG Size;
    ULONG Window;
    ULONG KeepEvery;

    /* Send resources: Window slots, each with its packet, buffer and data. */
    NDIS_HANDLE PacketPool;
    NDIS_HANDLE BufferPool;
    PCOCLIENT5_SLOT Slots;
    PULONG FreeStack;      /* indices of the slots that are not in flight */
    ULONG FreeCount;
    PUCHAR Seen;           /* one bit per sequence number received */
    PNDIS_PACKET *Kept;    /* received packets kept for a later return */
    ULONG KeptCount;
    ULONG KeptCapacity;

    /*
     * Run control. Stopping is set by unbind and never cleared. Pumping is
     * TRUE while one thread is in the send loop; others only queue their
     * packets on the free stack and leave the sending to it, so an inline
     * completion never recurses into NdisCoSendPackets.
     */
    BOOLEAN Stopping;
    BOOLEAN AfClaimed;        /* an offer was taken (one per binding) */
    BOOLEAN OfferPending;     /* taken before the open finished */
    BOOLEAN ReturnItemQueued; /* ReturnItem scheduled, routine not started */
    BOOLEAN Pumping;
    BOOLEAN SlotsLeaked;      /* unbind found packets in flight: reported once */

    /*
     * Work items scheduled and not yet finished. The last thing each
     * routine does is decrement it, so unbind frees the binding only once
     * no routine can touch it any more.
     */
    volatile LONG WorkRefs;
    NDIS_WORK_ITEM RunItem;
    NDIS_WORK_ITEM ReturnItem;

    /*
     * Handlers running that may touch the binding after the run worker can
     * already see that it is done (a completion between its lock release
     * and its return). Unbind frees the binding only once this is 0 too.
     */
    volatile LONG ActiveCallbacks;

    /* Set by whichever completion finishes the one NdisCl/NdisCo operation
     * the run worker is waiting for (it issues them one at a time). */
    NDIS_EVENT OpEvent;
    /* Set when the run may have drained, a packet was kept, or a stop was
     * requested: the run worker looks again. */
    NDIS_EVENT RunEvent;

    /* Counters of the run (under Lock). */
    ULONG NextSeq;     /* next sequence number to send = packets sent */
    ULONG Completed;   /* packets given back by the completion handler */
    ULONG Failed;      /* of those, with a status other than SUCCESS */
    ULONG Inflight;    /* NextSeq - Completed */
    ULONG MaxInflight; /* high-water mark of Inflight */
    ULONG Received;
    ULONG OutOfOrder;  /* sequence number other than the one expected next */
    ULONG NextExpected;
    ULONG ResourcesIndications; /* receives with NDIS_STATUS_RESOURCES */
    ULONG KeptTotal;
    ULONG Returned;
    ULONG ReturnedByItem; /* of those, by the return work item */

    COCLIENT5_AF Af;
    COCLIENT5_VC Vc;

    /*
     * Planted bugs (test only; all zero/NULL when Coclient5Bug is unset).
     * BugNextAt, BugMedia, BugMediaSlot and BugLockHeld are under Lock.
     */
    COCLIENT5_BUG Bug;
    ULONG BugEvery;
    ULONG BugNextAt;          /* plant when NextSeq reaches this */
    ULONG BugPlanted;         /* how many times it was planted */
    BOOLEAN BugInvalid;       /* Coclient5Bug named no known rule */
    BOOLEAN BugCallClosed;    /* VC-2 closed the call already */
    ULONG BugSubmitted;       /* under Lock: every packet with a Seq below this
                                 went through NdisCoSendPackets */
    BOOLEAN BugLockHeld;      /* BugLock was kept across a handler return */
    NDIS_SPIN_LOCK BugLock;   /* IRQL-3 */
    PVOID BugMedia;           /* PKT-4: the block lent to BugMediaSlot's packet */
    PCOCLIENT5_SLOT BugMediaSlot;
    NDIS_HANDLE BugStaleVc;   /* VC-4: the handle NdisCoDeleteVc took */
} COCLIENT5_BINDING, *PCOCLIENT5_BINDING;

/* ---- globals -------------------------------------------------------------- */

static NDIS_HANDLE g_ProtocolHandle;
static NDIS_MEDIUM g_MediumArray[1] = { NdisMediumCoWan };
static NDIS_CLIENT_CHARACTERISTICS g_ClientChars;

/* Bindings that exist, so a packet's owner can be checked before use. */
static PVOID volatile g_Bindings[COCLIENT5_MAX_BINDINGS];

static volatile LONG g_Errors;
static volatile LONG g_VcsCreated;
static volatile LONG g_VcsDeleted;
static volatile LONG g_Sent;
static volatile LONG g_Completed;
static volatile LONG g_Failed;
static volatile LONG g_Received;

/* ---- exported entry points ----------------------------------------------- */

DRIVER_INITIALIZE DriverEntry;
ULONG Coclient5Done(void);
ULONG Coclient5Errors(void);

/* ---- handlers ------------------------------------------------------------------
 * The NDIS 5.x entry points have only pointer types in the WDK, so they are
 * declared by hand; the ones NDIS 6 kept unchanged use their role types. */

static DRIVER_UNLOAD Coclient5Unload;

/* NDIS_PROTOCOL_CHARACTERISTICS */
static VOID Coclient5OpenAdapterComplete(NDIS_HANDLE ProtocolBindingContext, NDIS_STATUS Status,
                                         NDIS_STATUS OpenErrorStatus);
static VOID Coclient5CloseAdapterComplete(NDIS_HANDLE ProtocolBindingContext,
                                          NDIS_STATUS Status);
static VOID Coclient5SendComplete(NDIS_HANDLE ProtocolBindingContext, PNDIS_PACKET Packet,
                                  NDIS_STATUS Status);
static VOID Coclient5ResetComplete(NDIS_HANDLE ProtocolBindingContext, NDIS_STATUS Status);
static VOID Coclient5RequestComplete(NDIS_HANDLE ProtocolBindingContext,
                                     PNDIS_REQUEST NdisRequest, NDIS_STATUS Status);
static VOID Coclient5ReceiveComplete(NDIS_HANDLE ProtocolBindingContext);
static VOID Coclient5Status(NDIS_HANDLE ProtocolBindingContext, NDIS_STATUS GeneralStatus,
                            PVOID StatusBuffer, UINT StatusBufferSize);
static VOID Coclient5StatusComplete(NDIS_HANDLE ProtocolBindingContext);
static VOID Coclient5BindAdapter(PNDIS_STATUS Status, NDIS_HANDLE BindContext,
                                 PNDIS_STRING DeviceName, PVOID SystemSpecific1,
                                 PVOID SystemSpecific2);
static VOID Coclient5UnbindAdapter(PNDIS_STATUS Status, NDIS_HANDLE ProtocolBindingContext,
                                   NDIS_HANDLE UnbindContext);
static NDIS_STATUS Coclient5PnPEvent(NDIS_HANDLE ProtocolBindingContext,
                                     PNET_PNP_EVENT NetPnPEvent);
static VOID Coclient5CoSendComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolVcContext,
                                    PNDIS_PACKET Packet);
static VOID Coclient5CoStatus(NDIS_HANDLE ProtocolBindingContext, NDIS_HANDLE ProtocolVcContext,
                              NDIS_STATUS GeneralStatus, PVOID StatusBuffer,
                              UINT StatusBufferSize);
static UINT Coclient5CoReceivePacket(NDIS_HANDLE ProtocolBindingContext,
                                     NDIS_HANDLE ProtocolVcContext, PNDIS_PACKET Packet);
static PROTOCOL_CO_AF_REGISTER_NOTIFY Coclient5CoAfRegisterNotify;

/* NDIS_CLIENT_CHARACTERISTICS */
static PROTOCOL_CO_CREATE_VC Coclient5ClCreateVc;
static PROTOCOL_CO_DELETE_VC Coclient5ClDeleteVc;
static NDIS_STATUS Coclient5ClRequest(NDIS_HANDLE ProtocolAfContext, NDIS_HANDLE ProtocolVcContext,
                                      NDIS_HANDLE ProtocolPartyContext,
                                      PNDIS_REQUEST NdisRequest);
static VOID Coclient5ClRequestComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolAfContext,
                                       NDIS_HANDLE ProtocolVcContext,
                                       NDIS_HANDLE ProtocolPartyContext,
                                       PNDIS_REQUEST NdisRequest);
static VOID Coclient5ClOpenAfComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolAfContext,
                                      NDIS_HANDLE NdisAfHandle);
static PROTOCOL_CL_CLOSE_AF_COMPLETE Coclient5ClCloseAfComplete;
static PROTOCOL_CL_REGISTER_SAP_COMPLETE Coclient5ClRegisterSapComplete;
static PROTOCOL_CL_DEREGISTER_SAP_COMPLETE Coclient5ClDeregisterSapComplete;
static PROTOCOL_CL_MAKE_CALL_COMPLETE Coclient5ClMakeCallComplete;
static PROTOCOL_CL_MODIFY_CALL_QOS_COMPLETE Coclient5ClModifyCallQoSComplete;
static PROTOCOL_CL_CLOSE_CALL_COMPLETE Coclient5ClCloseCallComplete;
static PROTOCOL_CL_ADD_PARTY_COMPLETE Coclient5ClAddPartyComplete;
static PROTOCOL_CL_DROP_PARTY_COMPLETE Coclient5ClDropPartyComplete;
static PROTOCOL_CL_INCOMING_CALL Coclient5ClIncomingCall;
static PROTOCOL_CL_INCOMING_CALL_QOS_CHANGE Coclient5ClIncomingCallQoSChange;
static PROTOCOL_CL_INCOMING_CLOSE_CALL Coclient5ClIncomingCloseCall;
static PROTOCOL_CL_INCOMING_DROP_PARTY Coclient5ClIncomingDropParty;
static PROTOCOL_CL_CALL_CONNECTED Coclient5ClCallConnected;

/* NDIS_WORK_ITEM routines, PASSIVE_LEVEL. */
static VOID Coclient5RunWorker(PNDIS_WORK_ITEM WorkItem, PVOID Context);
static VOID Coclient5ReturnWorker(PNDIS_WORK_ITEM WorkItem, PVOID Context);

static VOID Coclient5Pump(PCOCLIENT5_BINDING b);
static VOID Coclient5CloseCall(PCOCLIENT5_BINDING b);

/* Planted bugs (test only), defined before the driver entry points. */
static VOID Coclient5ReadBugParameters(PCOCLIENT5_BINDING b, NDIS_HANDLE Config);
static VOID Coclient5BugSetup(PCOCLIENT5_BINDING b);
static VOID Coclient5BugFree(PCOCLIENT5_BINDING b);
static VOID Coclient5BugBeforeSend(PCOCLIENT5_BINDING b, PCOCLIENT5_SLOT Slot);
static VOID Coclient5BugAfterSend(PCOCLIENT5_BINDING b, PCOCLIENT5_SLOT Last);
static BOOLEAN Coclient5BugReinitChained(PCOCLIENT5_BINDING b, PNDIS_PACKET Packet);
static VOID Coclient5BugZeroPacket(PCOCLIENT5_BINDING b, PNDIS_PACKET Packet);
static VOID Coclient5BugInCompletion(PCOCLIENT5_BINDING b);
static BOOLEAN Coclient5BugWait(PCOCLIENT5_BINDING b);
static VOID Coclient5BugAfterRun(PCOCLIENT5_BINDING b);
static VOID Coclient5BugAfterCloseCall(PCOCLIENT5_BINDING b);
static VOID Coclient5BugAfterDeleteVc(PCOCLIENT5_BINDING b);

/* ======================================================================
 * Small helpers
 * ====================================================================== */

/* Any IRQL. Counts a broken invariant and says which. */
static VOID Coclient5Violation(PCSTR What, ULONG Value)
{
    InterlockedIncrement(&g_Errors);
    DbgPrint("coclient5: VIOLATION: %s (0x%08lx)\n", What, Value);
}

static ULONG Coclient5Read(volatile LONG *Value)
{
    /* A compare-exchange that never changes anything is a fenced read. */
    return (ULONG)InterlockedCompareExchange(Value, 0, 0);
}

/* Any IRQL. Brackets a handler's use of a binding it does not keep alive. */
static VOID Coclient5Enter(PCOCLIENT5_BINDING b)
{
    InterlockedIncrement(&b->ActiveCallbacks);
}

static VOID Coclient5Leave(PCOCLIENT5_BINDING b)
{
    InterlockedDecrement(&b->ActiveCallbacks); /* the last touch of b */
}

/* Any IRQL. Wakes the run worker; once it runs on, b may be freed at any
 * time, so the wake is bracketed. */
static VOID Coclient5Signal(PCOCLIENT5_BINDING b, PNDIS_EVENT Event)
{
    Coclient5Enter(b);
    NdisSetEvent(Event);
    Coclient5Leave(b);
}

/*
 * Exported for a test harness; any thread, any time. A VC counts as deleted
 * only once NdisCoDeleteVc has succeeded, which the run worker does after the
 * call is closed and every packet is back.
 */
ULONG Coclient5Done(void)
{
    ULONG created = Coclient5Read(&g_VcsCreated);
    return (created != 0 && Coclient5Read(&g_VcsDeleted) == created) ? 1 : 0;
}

/* Exported for a test harness: broken invariants seen so far (0 is clean). */
ULONG Coclient5Errors(void)
{
    return Coclient5Read(&g_Errors);
}

/* ---- the binding registry ---------------------------------------------------
 * Entries go from NULL to a binding at bind and back at the binding's free,
 * after every packet of it is back, so a lock-free scan is enough. */

static BOOLEAN Coclient5Register(PCOCLIENT5_BINDING b)
{
    ULONG i;

    for (i = 0; i < COCLIENT5_MAX_BINDINGS; i++) {
        if (InterlockedCompareExchangePointer(&g_Bindings[i], b, NULL) == NULL)
            return TRUE;
    }
    return FALSE;
}

static VOID Coclient5Deregister(PCOCLIENT5_BINDING b)
{
    ULONG i;

    for (i = 0; i < COCLIENT5_MAX_BINDINGS; i++) {
        if (InterlockedCompareExchangePointer(&g_Bindings[i], NULL, b) == b)
            return;
    }
}

static BOOLEAN Coclient5IsRegistered(PVOID Candidate)
{
    ULONG i;

    if (Candidate == NULL)
        return FALSE;
    for (i = 0; i < COCLIENT5_MAX_BINDINGS; i++) {
        if (InterlockedCompareExchangePointer(&g_Bindings[i], NULL, NULL) == Candidate)
            return TRUE;
    }
    return FALSE;
}

/* ---- contexts come back from NDIS as NDIS_HANDLEs; check them before use ---- */

static PCOCLIENT5_BINDING Coclient5BindingFromContext(NDIS_HANDLE Context, PCSTR Who)
{
    PCOCLIENT5_BINDING b = (PCOCLIENT5_BINDING)Context;

    if (b == NULL || b->Signature != COCLIENT5_BINDING_SIGNATURE) {
        Coclient5Violation(Who, 0);
        return NULL;
    }
    return b;
}

static PCOCLIENT5_AF Coclient5AfFromContext(NDIS_HANDLE Context, PCSTR Who)
{
    PCOCLIENT5_AF af = (PCOCLIENT5_AF)Context;

    if (af == NULL || af->Signature != COCLIENT5_AF_SIGNATURE) {
        Coclient5Violation(Who, 0);
        return NULL;
    }
    return af;
}

static PCOCLIENT5_VC Coclient5VcFromContext(NDIS_HANDLE Context, PCSTR Who)
{
    PCOCLIENT5_VC vc = (PCOCLIENT5_VC)Context;

    if (vc == NULL || vc->Signature != COCLIENT5_VC_SIGNATURE) {
        Coclient5Violation(Who, 0);
        return NULL;
    }
    return vc;
}

/* ---- payload ---------------------------------------------------------------- */

/* The owner of Data (the client, before a send) writes one payload. */
static VOID Coclient5Stamp(PUCHAR Data, ULONG Size, ULONG Seq)
{
    ULONG i;

    Data[0] = (UCHAR)Seq;
    Data[1] = (UCHAR)(Seq >> 8);
    Data[2] = (UCHAR)(Seq >> 16);
    Data[3] = (UCHAR)(Seq >> 24);
    for (i = 4; i < Size; i++)
        Data[i] = (UCHAR)(Seq + i);
}

/* TRUE if Data still holds the payload Coclient5Stamp wrote for Seq. */
static BOOLEAN Coclient5StampIntact(const UCHAR *Data, ULONG Size, ULONG Seq)
{
    ULONG i;
    ULONG got = (ULONG)Data[0] | ((ULONG)Data[1] << 8) | ((ULONG)Data[2] << 16) |
                ((ULONG)Data[3] << 24);

    if (got != Seq)
        return FALSE;
    for (i = 4; i < Size; i++) {
        if (Data[i] != (UCHAR)(Seq + i))
            return FALSE;
    }
    return TRUE;
}

/*
 * <= DISPATCH_LEVEL. Reads (never writes) a received packet's buffer chain,
 * which may split the payload anywhere, and checks its length and pattern.
 * TRUE with *Seq set if the payload is well formed.
 */
static BOOLEAN Coclient5CheckReceived(PCOCLIENT5_BINDING b, PNDIS_PACKET Packet, PULONG Seq)
{
    PNDIS_BUFFER buffer;
    PUCHAR va;
    UINT firstLength, totalLength, length;
    ULONG pos = 0, seq = 0, i;

    NdisGetFirstBufferFromPacketSafe(Packet, &buffer, &va, &firstLength, &totalLength,
                                     NormalPagePriority);
    if (buffer == NULL || totalLength != b->Size)
        return FALSE;

    length = firstLength;
    for (;;) {
        if (length != 0 && va == NULL)
            return FALSE;
        for (i = 0; i < length; i++, pos++) {
            if (pos < 4)
                seq |= (ULONG)va[i] << (8 * pos);
            else if (va[i] != (UCHAR)(seq + pos))
                return FALSE;
        }
        NdisGetNextBuffer(buffer, &buffer);
        if (buffer == NULL)
            break;
        {
            PVOID next = NULL;

            NdisQueryBufferSafe(buffer, &next, &length, NormalPagePriority);
            va = (PUCHAR)next;
        }
    }
    if (pos != b->Size)
        return FALSE;
    *Seq = seq;
    return TRUE;
}

/* ======================================================================
 * Parameters
 * ====================================================================== */

/*
 * PASSIVE_LEVEL (configuration reads are). Reads one integer keyword; a
 * missing or unreadable keyword gives the default, a value out of range is
 * clamped so the run still means something.
 */
static ULONG Coclient5ReadParameter(NDIS_HANDLE Config, PCWSTR Name, ULONG Default,
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
        DbgPrint("coclient5: %ws=%lu is out of range [%lu, %lu], clamped\n", Name, result,
                 Minimum, Maximum);
        result = result < Minimum ? Minimum : Maximum;
    }
    return result;
}

/* PASSIVE_LEVEL, from bind. ProtocolSection is SystemSpecific1 of the bind. */
static VOID Coclient5ReadParameters(PCOCLIENT5_BINDING b, PNDIS_STRING ProtocolSection)
{
    NDIS_HANDLE config = NULL;
    NDIS_STATUS status = NDIS_STATUS_FAILURE;

    b->Count = COCLIENT5_DEFAULT_COUNT;
    b->Size = COCLIENT5_DEFAULT_SIZE;
    b->Window = COCLIENT5_DEFAULT_WINDOW;
    b->KeepEvery = COCLIENT5_DEFAULT_KEEP_EVERY;

    if (ProtocolSection != NULL)
        NdisOpenProtocolConfiguration(&status, &config, ProtocolSection);
    if (status == NDIS_STATUS_SUCCESS) {
        b->Count = Coclient5ReadParameter(config, L"Coclient5Count", COCLIENT5_DEFAULT_COUNT, 1,
                                          COCLIENT5_MAX_COUNT);
        b->Size = Coclient5ReadParameter(config, L"Coclient5Size", COCLIENT5_DEFAULT_SIZE,
                                         COCLIENT5_MIN_SIZE, COCLIENT5_MAX_SIZE);
        b->Window = Coclient5ReadParameter(config, L"Coclient5Window", COCLIENT5_DEFAULT_WINDOW,
                                           1, COCLIENT5_MAX_WINDOW);
        b->KeepEvery = Coclient5ReadParameter(config, L"Coclient5KeepEvery",
                                              COCLIENT5_DEFAULT_KEEP_EVERY, 0,
                                              COCLIENT5_MAX_COUNT);
        Coclient5ReadBugParameters(b, config); /* test only */
        NdisCloseConfiguration(config);
    } else {
        DbgPrint("coclient5: NdisOpenProtocolConfiguration failed (0x%08lx), using defaults\n",
                 (ULONG)status);
    }

    /* More slots than packets to send would only sit idle. */
    if (b->Window > b->Count)
        b->Window = b->Count;
}

/* ======================================================================
 * Send resources
 * ====================================================================== */

/*
 * PASSIVE_LEVEL (bind, unbind, a failed open). Gives every buffer
 * descriptor, packet and data buffer back, then the pools. A slot still in
 * flight is left alone: freeing it would take it from under the miniport, so
 * leaking it is the lesser evil (and it has been counted).
 */
static VOID Coclient5FreeSendResources(PCOCLIENT5_BINDING b)
{
    ULONG i;
    BOOLEAN allBack = TRUE;

    if (b->Slots != NULL) {
        for (i = 0; i < b->Window; i++) {
            PCOCLIENT5_SLOT slot = &b->Slots[i];

            if (slot->InFlight) {
                allBack = FALSE;
                continue;
            }
            if (slot->Packet != NULL) {
                PNDIS_BUFFER buffer;

                /* Unchain first: freeing a packet does not free its buffers. */
                do {
                    NdisUnchainBufferAtFront(slot->Packet, &buffer);
                    if (buffer != NULL && buffer != slot->Buffer)
                        Coclient5Violation("foreign buffer descriptor on a send packet", i);
                } while (buffer != NULL);
                NdisFreePacket(slot->Packet);
                slot->Packet = NULL;
            }
            if (slot->Buffer != NULL) {
                NdisFreeBuffer(slot->Buffer);
                slot->Buffer = NULL;
            }
            if (slot->Data != NULL) {
                NdisFreeMemory(slot->Data, b->Size, 0);
                slot->Data = NULL;
            }
        }
    }
    if (!allBack) {
        if (!b->SlotsLeaked)
            Coclient5Violation("send packets still in flight at unbind; leaked", 0);
        b->SlotsLeaked = TRUE;
        return;
    }
    if (b->BufferPool != NULL) {
        NdisFreeBufferPool(b->BufferPool);
        b->BufferPool = NULL;
    }
    if (b->PacketPool != NULL) {
        NdisFreePacketPool(b->PacketPool);
        b->PacketPool = NULL;
    }
    if (b->Slots != NULL) {
        NdisFreeMemory(b->Slots, b->Window * sizeof(COCLIENT5_SLOT), 0);
        b->Slots = NULL;
    }
    if (b->FreeStack != NULL) {
        NdisFreeMemory(b->FreeStack, b->Window * sizeof(ULONG), 0);
        b->FreeStack = NULL;
    }
    if (b->Seen != NULL) {
        NdisFreeMemory(b->Seen, (b->Count + 7) / 8, 0);
        b->Seen = NULL;
    }
    if (b->Kept != NULL) {
        NdisFreeMemory(b->Kept, b->KeptCapacity * sizeof(PNDIS_PACKET), 0);
        b->Kept = NULL;
    }
}

/*
 * PASSIVE_LEVEL, from bind. All or nothing: on failure everything allocated
 * so far is freed again. Each packet leaves here with its one buffer
 * descriptor chained and its ProtocolReserved filled in.
 */
static NDIS_STATUS Coclient5AllocateSendResources(PCOCLIENT5_BINDING b)
{
    NDIS_STATUS status;
    ULONG i;
    PVOID memory;

    status = NdisAllocateMemoryWithTag(&memory, b->Window * sizeof(COCLIENT5_SLOT),
                                       COCLIENT5_TAG);
    if (status != NDIS_STATUS_SUCCESS)
        goto fail;
    b->Slots = (PCOCLIENT5_SLOT)memory;
    NdisZeroMemory(b->Slots, b->Window * sizeof(COCLIENT5_SLOT));

    status = NdisAllocateMemoryWithTag(&memory, b->Window * sizeof(ULONG), COCLIENT5_TAG);
    if (status != NDIS_STATUS_SUCCESS)
        goto fail;
    b->FreeStack = (PULONG)memory;

    status = NdisAllocateMemoryWithTag(&memory, (b->Count + 7) / 8, COCLIENT5_TAG);
    if (status != NDIS_STATUS_SUCCESS)
        goto fail;
    b->Seen = (PUCHAR)memory;
    NdisZeroMemory(b->Seen, (b->Count + 7) / 8);

    /* A loopback keeps at most a window's worth of receives lent to us. */
    b->KeptCapacity = b->Window + 64;
    status = NdisAllocateMemoryWithTag(&memory, b->KeptCapacity * sizeof(PNDIS_PACKET),
                                       COCLIENT5_TAG);
    if (status != NDIS_STATUS_SUCCESS)
        goto fail;
    b->Kept = (PNDIS_PACKET *)memory;

    NdisAllocatePacketPoolEx(&status, &b->PacketPool, b->Window, 0,
                             sizeof(COCLIENT5_RESERVED));
    if (status != NDIS_STATUS_SUCCESS) {
        b->PacketPool = NULL;
        goto fail;
    }
    NdisAllocateBufferPool(&status, &b->BufferPool, b->Window);
    if (status != NDIS_STATUS_SUCCESS) {
        b->BufferPool = NULL;
        goto fail;
    }

    for (i = 0; i < b->Window; i++) {
        PCOCLIENT5_SLOT slot = &b->Slots[i];
        PCOCLIENT5_RESERVED rsvd;

        status = NdisAllocateMemoryWithTag(&memory, b->Size, COCLIENT5_TAG);
        if (status != NDIS_STATUS_SUCCESS)
            goto fail;
        slot->Data = (PUCHAR)memory;
        NdisZeroMemory(slot->Data, b->Size);

        NdisAllocateBuffer(&status, &slot->Buffer, b->BufferPool, slot->Data, b->Size);
        if (status != NDIS_STATUS_SUCCESS) {
            slot->Buffer = NULL;
            goto fail;
        }
        NdisAllocatePacket(&status, &slot->Packet, b->PacketPool);
        if (status != NDIS_STATUS_SUCCESS) {
            slot->Packet = NULL;
            goto fail;
        }
        rsvd = (PCOCLIENT5_RESERVED)slot->Packet->ProtocolReserved;
        rsvd->Signature = COCLIENT5_PACKET_SIGNATURE;
        rsvd->Index = i;
        rsvd->Binding = b;
        NdisChainBufferAtFront(slot->Packet, slot->Buffer);
        b->FreeStack[i] = i;
    }
    b->FreeCount = b->Window;
    return NDIS_STATUS_SUCCESS;

fail:
    DbgPrint("coclient5: out of resources for %lu slots of %lu bytes (0x%08lx)\n", b->Window,
             b->Size, (ULONG)status);
    Coclient5FreeSendResources(b);
    return NDIS_STATUS_RESOURCES;
}

/* ======================================================================
 * The binding's lifetime
 * ====================================================================== */

/* PASSIVE_LEVEL. Adds the binding's totals to the driver's and frees it. */
static VOID Coclient5FreeBinding(PCOCLIENT5_BINDING b)
{
    InterlockedExchangeAdd(&g_Sent, (LONG)b->NextSeq);
    InterlockedExchangeAdd(&g_Completed, (LONG)b->Completed);
    InterlockedExchangeAdd(&g_Failed, (LONG)b->Failed);
    InterlockedExchangeAdd(&g_Received, (LONG)b->Received);

    Coclient5FreeSendResources(b);
    Coclient5BugFree(b); /* test only */
    Coclient5Deregister(b);
    b->Signature = 0;
    NdisFreeSpinLock(&b->Lock);
    NdisFreeMemory(b, sizeof(*b), 0);
}

/*
 * Any IRQL <= DISPATCH_LEVEL, lock not held. Queues the run worker; the
 * caller has already counted it in WorkRefs.
 */
static VOID Coclient5ScheduleRun(PCOCLIENT5_BINDING b)
{
    NDIS_STATUS status;

    NdisInitializeWorkItem(&b->RunItem, Coclient5RunWorker, b);
    status = NdisScheduleWorkItem(&b->RunItem);
    if (status != NDIS_STATUS_SUCCESS) {
        DbgPrint("coclient5: NdisScheduleWorkItem failed (0x%08lx); no run\n", (ULONG)status);
        InterlockedDecrement(&b->WorkRefs);
    }
}

/*
 * PASSIVE_LEVEL: from bind when NdisOpenAdapter did not pend, else from
 * ProtocolOpenAdapterComplete. On success the binding is open and an address
 * family offered meanwhile gets its run; on failure the binding is freed.
 * Returns Status.
 */
static NDIS_STATUS Coclient5OpenDone(PCOCLIENT5_BINDING b, NDIS_STATUS Status)
{
    BOOLEAN run = FALSE;

    if (Status != NDIS_STATUS_SUCCESS) {
        DbgPrint("coclient5: NdisOpenAdapter failed (0x%08lx)\n", (ULONG)Status);
        Coclient5FreeBinding(b);
        return Status;
    }

    NdisAcquireSpinLock(&b->Lock);
    b->AdapterState = Coclient5AdapterOpen;
    if (b->OfferPending && !b->Stopping) {
        run = TRUE;
        InterlockedIncrement(&b->WorkRefs);
    }
    b->OfferPending = FALSE;
    NdisReleaseSpinLock(&b->Lock);

    if (run)
        Coclient5ScheduleRun(b);
    return Status;
}

/*
 * ProtocolBindAdapter, PASSIVE_LEVEL. Allocates the binding and its send
 * resources, then opens the adapter. If the open pends, so does the bind:
 * ProtocolOpenAdapterComplete calls NdisCompleteBindAdapter.
 */
static VOID Coclient5BindAdapter(PNDIS_STATUS Status, NDIS_HANDLE BindContext,
                                 PNDIS_STRING DeviceName, PVOID SystemSpecific1,
                                 PVOID SystemSpecific2)
{
    PCOCLIENT5_BINDING b;
    PVOID memory;
    NDIS_STATUS status, openErrorStatus = NDIS_STATUS_SUCCESS;

    UNREFERENCED_PARAMETER(SystemSpecific2);

    status = NdisAllocateMemoryWithTag(&memory, sizeof(COCLIENT5_BINDING), COCLIENT5_TAG);
    if (status != NDIS_STATUS_SUCCESS) {
        *Status = NDIS_STATUS_RESOURCES;
        return;
    }
    b = (PCOCLIENT5_BINDING)memory;
    NdisZeroMemory(b, sizeof(*b));
    b->Signature = COCLIENT5_BINDING_SIGNATURE;
    NdisAllocateSpinLock(&b->Lock);
    NdisInitializeEvent(&b->OpEvent);
    NdisInitializeEvent(&b->RunEvent);
    b->AdapterState = Coclient5AdapterOpening;
    b->BindContext = BindContext;
    b->Af.Signature = COCLIENT5_AF_SIGNATURE;
    b->Af.Binding = b;
    b->Af.State = Coclient5AfClosed;
    b->Vc.Signature = COCLIENT5_VC_SIGNATURE;
    b->Vc.Binding = b;
    b->Vc.State = Coclient5VcNone;

    if (!Coclient5Register(b)) {
        DbgPrint("coclient5: more than %d bindings; refused\n", COCLIENT5_MAX_BINDINGS);
        b->Signature = 0;
        NdisFreeSpinLock(&b->Lock);
        NdisFreeMemory(b, sizeof(*b), 0);
        *Status = NDIS_STATUS_RESOURCES;
        return;
    }

    Coclient5ReadParameters(b, (PNDIS_STRING)SystemSpecific1);
    if (b->BugInvalid) {
        /* Test only: a Coclient5Bug this client does not know fails the bind. */
        Coclient5FreeBinding(b);
        *Status = NDIS_STATUS_FAILURE;
        return;
    }
    status = Coclient5AllocateSendResources(b);
    if (status != NDIS_STATUS_SUCCESS) {
        Coclient5FreeBinding(b);
        *Status = status;
        return;
    }
    Coclient5BugSetup(b); /* test only */

    DbgPrint("coclient5: binding to %wZ: count %lu size %lu window %lu keep-every %lu\n",
             DeviceName, b->Count, b->Size, b->Window, b->KeepEvery);

    NdisOpenAdapter(&status, &openErrorStatus, &b->BindingHandle, &b->MediumIndex,
                    g_MediumArray, sizeof(g_MediumArray) / sizeof(g_MediumArray[0]),
                    g_ProtocolHandle, b, DeviceName, 0, NULL);
    if (status == NDIS_STATUS_PENDING) {
        *Status = NDIS_STATUS_PENDING;
        return;
    }
    *Status = Coclient5OpenDone(b, status);
}

/* ProtocolOpenAdapterComplete: finishes a bind whose open pended. */
static VOID Coclient5OpenAdapterComplete(NDIS_HANDLE ProtocolBindingContext, NDIS_STATUS Status,
                                         NDIS_STATUS OpenErrorStatus)
{
    PCOCLIENT5_BINDING b =
        Coclient5BindingFromContext(ProtocolBindingContext, "open-adapter completion, bad context");
    NDIS_HANDLE bindContext;
    BOOLEAN opening;

    if (b == NULL)
        return;
    NdisAcquireSpinLock(&b->Lock);
    opening = (b->AdapterState == Coclient5AdapterOpening);
    bindContext = b->BindContext;
    NdisReleaseSpinLock(&b->Lock);
    if (!opening) {
        Coclient5Violation("open-adapter completion without a pending open", (ULONG)Status);
        return;
    }
    if (Status == NDIS_STATUS_PENDING) {
        Coclient5Violation("open-adapter completion with NDIS_STATUS_PENDING", (ULONG)Status);
        Status = NDIS_STATUS_FAILURE;
    }
    /* On failure this frees b; bindContext was saved before. */
    Status = Coclient5OpenDone(b, Status);
    NdisCompleteBindAdapter(bindContext, Status, OpenErrorStatus);
}

/* PASSIVE_LEVEL, lock not held. Gives back every received packet still kept;
 * FromItem says whether the return work item is the caller. */
static VOID Coclient5ReturnKept(PCOCLIENT5_BINDING b, BOOLEAN FromItem)
{
    PNDIS_PACKET batch[COCLIENT5_RETURN_BATCH];
    ULONG n, i;

    for (;;) {
        NdisAcquireSpinLock(&b->Lock);
        n = b->KeptCount < COCLIENT5_RETURN_BATCH ? b->KeptCount : COCLIENT5_RETURN_BATCH;
        for (i = 0; i < n; i++)
            batch[i] = b->Kept[i];
        for (i = n; i < b->KeptCount; i++)
            b->Kept[i - n] = b->Kept[i];
        b->KeptCount -= n;
        b->Returned += n;
        if (FromItem)
            b->ReturnedByItem += n;
        NdisReleaseSpinLock(&b->Lock);
        if (n == 0)
            break;
        /* The packets are the miniport's again once this returns. */
        NdisReturnPackets(batch, n);
    }
}

/*
 * PASSIVE_LEVEL, from unbind and a failed bind. Closes the adapter; if the
 * close pends, ProtocolCloseAdapterComplete frees the binding.
 */
static NDIS_STATUS Coclient5CloseAdapterDone(PCOCLIENT5_BINDING b, NDIS_STATUS Status)
{
    if (Status != NDIS_STATUS_SUCCESS)
        Coclient5Violation("NdisCloseAdapter failed", (ULONG)Status);
    Coclient5FreeBinding(b);
    return Status;
}

/*
 * ProtocolUnbindAdapter, PASSIVE_LEVEL. Stops the run and waits until no
 * work item of the binding runs any more (the run worker closes the call,
 * deletes the VC and closes the AF on its way out), returns kept packets,
 * frees the send resources, then closes the adapter. If the close pends,
 * so does the unbind: ProtocolCloseAdapterComplete calls
 * NdisCompleteUnbindAdapter.
 */
static VOID Coclient5UnbindAdapter(PNDIS_STATUS Status, NDIS_HANDLE ProtocolBindingContext,
                                   NDIS_HANDLE UnbindContext)
{
    PCOCLIENT5_BINDING b =
        Coclient5BindingFromContext(ProtocolBindingContext, "unbind, bad context");
    NDIS_STATUS status;
    ULONG waited = 0;

    if (b == NULL) {
        *Status = NDIS_STATUS_FAILURE;
        return;
    }

    NdisAcquireSpinLock(&b->Lock);
    b->Stopping = TRUE;
    b->OfferPending = FALSE;
    NdisReleaseSpinLock(&b->Lock);

    /* Polling is fine here: unbinding is rare, and the decrement is the
     * last thing a work item does with the binding. */
    while (Coclient5Read(&b->WorkRefs) != 0 || Coclient5Read(&b->ActiveCallbacks) != 0) {
        NdisSetEvent(&b->RunEvent);
        NdisMSleep(1000);
        if (++waited % 5000 == 0)
            DbgPrint("coclient5: unbind still waiting for %lu work item(s)\n",
                     Coclient5Read(&b->WorkRefs));
    }
    Coclient5ReturnKept(b, FALSE);

    NdisAcquireSpinLock(&b->Lock);
    b->AdapterState = Coclient5AdapterClosing;
    b->UnbindContext = UnbindContext;
    NdisReleaseSpinLock(&b->Lock);

    /* Nothing is outstanding on the binding any more: free before closing. */
    Coclient5FreeSendResources(b);

    NdisCloseAdapter(&status, b->BindingHandle);
    if (status == NDIS_STATUS_PENDING) {
        *Status = NDIS_STATUS_PENDING;
        return;
    }
    *Status = Coclient5CloseAdapterDone(b, status);
}

/* ProtocolCloseAdapterComplete: finishes an unbind whose close pended. */
static VOID Coclient5CloseAdapterComplete(NDIS_HANDLE ProtocolBindingContext,
                                          NDIS_STATUS Status)
{
    PCOCLIENT5_BINDING b =
        Coclient5BindingFromContext(ProtocolBindingContext, "close-adapter completion, bad context");
    NDIS_HANDLE unbindContext;
    BOOLEAN closing;

    if (b == NULL)
        return;
    NdisAcquireSpinLock(&b->Lock);
    closing = (b->AdapterState == Coclient5AdapterClosing);
    unbindContext = b->UnbindContext;
    NdisReleaseSpinLock(&b->Lock);
    if (!closing) {
        Coclient5Violation("close-adapter completion without a pending close", (ULONG)Status);
        return;
    }
    if (Status == NDIS_STATUS_PENDING) {
        Coclient5Violation("close-adapter completion with NDIS_STATUS_PENDING", (ULONG)Status);
        Status = NDIS_STATUS_FAILURE;
    }
    Status = Coclient5CloseAdapterDone(b, Status);
    NdisCompleteUnbindAdapter(unbindContext, Status);
}

/* ProtocolPnPEvent, PASSIVE_LEVEL. Nothing to veto or prepare. */
static NDIS_STATUS Coclient5PnPEvent(NDIS_HANDLE ProtocolBindingContext,
                                     PNET_PNP_EVENT NetPnPEvent)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(NetPnPEvent);
    return NDIS_STATUS_SUCCESS;
}

/* ======================================================================
 * Address family offers
 * ====================================================================== */

/*
 * ProtocolCoAfRegisterNotify, PASSIVE_LEVEL. Takes the first offer on the
 * binding, whatever the family, and hands it to the run worker; later
 * offers are ignored (one call per binding is all this client makes).
 */
_Use_decl_annotations_
static VOID Coclient5CoAfRegisterNotify(NDIS_HANDLE ProtocolBindingContext,
                                        PCO_ADDRESS_FAMILY AddressFamily)
{
    PCOCLIENT5_BINDING b =
        Coclient5BindingFromContext(ProtocolBindingContext, "AF notification, bad context");
    BOOLEAN run = FALSE, taken = FALSE;

    if (b == NULL || AddressFamily == NULL)
        return;

    NdisAcquireSpinLock(&b->Lock);
    if (!b->Stopping && !b->AfClaimed) {
        taken = TRUE;
        b->AfClaimed = TRUE;
        b->Af.Family = *AddressFamily;
        if (b->AdapterState == Coclient5AdapterOpen) {
            run = TRUE;
            InterlockedIncrement(&b->WorkRefs);
        } else {
            /* Offered before our open finished: run once it has. */
            b->OfferPending = TRUE;
        }
    }
    NdisReleaseSpinLock(&b->Lock);

    if (!taken) {
        DbgPrint("coclient5: AF 0x%lx v%lu.%lu offered while busy or stopping; ignored\n",
                 (ULONG)AddressFamily->AddressFamily, AddressFamily->MajorVersion,
                 AddressFamily->MinorVersion);
        return;
    }
    DbgPrint("coclient5: claimed AF 0x%lx v%lu.%lu\n", (ULONG)AddressFamily->AddressFamily,
             AddressFamily->MajorVersion, AddressFamily->MinorVersion);
    if (run)
        Coclient5ScheduleRun(b);
}

/* ======================================================================
 * Client completions (any IRQL <= DISPATCH_LEVEL). Each checks that the
 * operation it finishes was started, records the outcome, and wakes the run
 * worker. The worker also calls them itself when an operation did not pend.
 * ====================================================================== */

static VOID Coclient5ClOpenAfComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolAfContext,
                                      NDIS_HANDLE NdisAfHandle)
{
    PCOCLIENT5_AF af = Coclient5AfFromContext(ProtocolAfContext, "open-AF completion, bad context");
    PCOCLIENT5_BINDING b;
    BOOLEAN expected;

    if (af == NULL)
        return;
    b = af->Binding;
    if (Status == NDIS_STATUS_PENDING) {
        Coclient5Violation("open-AF completion with NDIS_STATUS_PENDING", (ULONG)Status);
        Status = NDIS_STATUS_FAILURE;
    }
    NdisAcquireSpinLock(&b->Lock);
    expected = (af->State == Coclient5AfOpening);
    if (expected) {
        af->Status = Status;
        if (Status == NDIS_STATUS_SUCCESS) {
            af->State = Coclient5AfOpen;
            af->NdisAfHandle = NdisAfHandle;
        } else {
            af->State = Coclient5AfClosed;
        }
    }
    NdisReleaseSpinLock(&b->Lock);
    if (!expected) {
        Coclient5Violation("open-AF completion without a pending open", (ULONG)Status);
        return;
    }
    Coclient5Signal(b, &b->OpEvent);
}

_Use_decl_annotations_
static VOID Coclient5ClCloseAfComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolAfContext)
{
    PCOCLIENT5_AF af =
        Coclient5AfFromContext(ProtocolAfContext, "close-AF completion, bad context");
    PCOCLIENT5_BINDING b;
    BOOLEAN expected;

    if (af == NULL)
        return;
    b = af->Binding;
    NdisAcquireSpinLock(&b->Lock);
    expected = (af->State == Coclient5AfClosing);
    if (expected) {
        af->Status = Status;
        af->State = Coclient5AfClosed;
        af->NdisAfHandle = NULL;
    }
    NdisReleaseSpinLock(&b->Lock);
    if (!expected) {
        Coclient5Violation("close-AF completion without a pending close", (ULONG)Status);
        return;
    }
    Coclient5Signal(b, &b->OpEvent);
}

_Use_decl_annotations_
static VOID Coclient5ClMakeCallComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolVcContext,
                                        NDIS_HANDLE NdisPartyHandle,
                                        PCO_CALL_PARAMETERS CallParameters)
{
    PCOCLIENT5_VC vc =
        Coclient5VcFromContext(ProtocolVcContext, "make-call completion, bad context");
    PCOCLIENT5_BINDING b;
    BOOLEAN expected;

    UNREFERENCED_PARAMETER(NdisPartyHandle);
    UNREFERENCED_PARAMETER(CallParameters);
    if (vc == NULL)
        return;
    b = vc->Binding;
    if (Status == NDIS_STATUS_PENDING) {
        Coclient5Violation("make-call completion with NDIS_STATUS_PENDING", (ULONG)Status);
        Status = NDIS_STATUS_FAILURE;
    }
    NdisAcquireSpinLock(&b->Lock);
    expected = (vc->State == Coclient5VcCalling);
    if (expected) {
        vc->CallStatus = Status;
        vc->State = (Status == NDIS_STATUS_SUCCESS) ? Coclient5VcActive : Coclient5VcCreated;
    }
    NdisReleaseSpinLock(&b->Lock);
    if (!expected) {
        Coclient5Violation("make-call completion without a pending make-call", (ULONG)Status);
        return;
    }
    Coclient5Signal(b, &b->OpEvent);
}

_Use_decl_annotations_
static VOID Coclient5ClCloseCallComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolVcContext,
                                         NDIS_HANDLE ProtocolPartyContext)
{
    PCOCLIENT5_VC vc =
        Coclient5VcFromContext(ProtocolVcContext, "close-call completion, bad context");
    PCOCLIENT5_BINDING b;
    BOOLEAN expected;

    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    if (vc == NULL)
        return;
    b = vc->Binding;
    NdisAcquireSpinLock(&b->Lock);
    expected = (vc->State == Coclient5VcClosing);
    if (expected) {
        vc->CallStatus = Status;
        vc->State = Coclient5VcClosed;
    }
    NdisReleaseSpinLock(&b->Lock);
    if (!expected) {
        Coclient5Violation("close-call completion without a pending close-call", (ULONG)Status);
        return;
    }
    Coclient5Signal(b, &b->OpEvent);
}

/*
 * ProtocolClIncomingCloseCall: the call manager or the peer tore the call
 * down. The client stops sending; its run worker still calls NdisClCloseCall
 * (which the client must do) and deletes the VC it created.
 */
_Use_decl_annotations_
static VOID Coclient5ClIncomingCloseCall(NDIS_STATUS CloseStatus, NDIS_HANDLE ProtocolVcContext,
                                         PVOID CloseData, UINT Size)
{
    PCOCLIENT5_VC vc =
        Coclient5VcFromContext(ProtocolVcContext, "incoming close-call, bad context");
    PCOCLIENT5_BINDING b;

    UNREFERENCED_PARAMETER(CloseData);
    UNREFERENCED_PARAMETER(Size);
    if (vc == NULL)
        return;
    b = vc->Binding;
    Coclient5Enter(b);
    NdisAcquireSpinLock(&b->Lock);
    vc->PeerClosed = TRUE;
    vc->PeerCloseStatus = CloseStatus;
    NdisReleaseSpinLock(&b->Lock);
    DbgPrint("coclient5: call closed by the call manager (0x%08lx)\n", (ULONG)CloseStatus);
    NdisSetEvent(&b->RunEvent);
    Coclient5Leave(b);
}

/* Operations this client never starts: a completion for one is a violation. */

static VOID Coclient5ClRequestComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolAfContext,
                                       NDIS_HANDLE ProtocolVcContext,
                                       NDIS_HANDLE ProtocolPartyContext,
                                       PNDIS_REQUEST NdisRequest)
{
    UNREFERENCED_PARAMETER(ProtocolAfContext);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    UNREFERENCED_PARAMETER(NdisRequest);
    Coclient5Violation("NdisCoRequest completion, but none was issued", (ULONG)Status);
}

_Use_decl_annotations_
static VOID Coclient5ClRegisterSapComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolSapContext,
                                           PCO_SAP Sap, NDIS_HANDLE NdisSapHandle)
{
    UNREFERENCED_PARAMETER(ProtocolSapContext);
    UNREFERENCED_PARAMETER(Sap);
    UNREFERENCED_PARAMETER(NdisSapHandle);
    Coclient5Violation("register-SAP completion, but no SAP was registered", (ULONG)Status);
}

_Use_decl_annotations_
static VOID Coclient5ClDeregisterSapComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolSapContext)
{
    UNREFERENCED_PARAMETER(ProtocolSapContext);
    Coclient5Violation("deregister-SAP completion, but no SAP was registered", (ULONG)Status);
}

_Use_decl_annotations_
static VOID Coclient5ClModifyCallQoSComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolVcContext,
                                             PCO_CALL_PARAMETERS CallParameters)
{
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(CallParameters);
    Coclient5Violation("modify-QoS completion, but no change was asked", (ULONG)Status);
}

_Use_decl_annotations_
static VOID Coclient5ClAddPartyComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolPartyContext,
                                        NDIS_HANDLE NdisPartyHandle,
                                        PCO_CALL_PARAMETERS CallParameters)
{
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    UNREFERENCED_PARAMETER(NdisPartyHandle);
    UNREFERENCED_PARAMETER(CallParameters);
    Coclient5Violation("add-party completion, but no party was added", (ULONG)Status);
}

_Use_decl_annotations_
static VOID Coclient5ClDropPartyComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolPartyContext)
{
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    Coclient5Violation("drop-party completion, but no party was dropped", (ULONG)Status);
}

/* Handlers for what the other side may start; this client declines. */

/* ProtocolCoCreateVc: a VC for an incoming call. This client takes none
 * (it registers no SAP), so there is nothing to create a context for. */
_Use_decl_annotations_
static NDIS_STATUS Coclient5ClCreateVc(NDIS_HANDLE ProtocolAfContext, NDIS_HANDLE NdisVcHandle,
                                       PNDIS_HANDLE ProtocolVcContext)
{
    UNREFERENCED_PARAMETER(ProtocolAfContext);
    UNREFERENCED_PARAMETER(NdisVcHandle);
    if (ProtocolVcContext != NULL)
        *ProtocolVcContext = NULL;
    return NDIS_STATUS_FAILURE;
}

/* ProtocolCoDeleteVc is called only for VCs the other side created through
 * ProtocolCoCreateVc, and this client accepts none. */
_Use_decl_annotations_
static NDIS_STATUS Coclient5ClDeleteVc(NDIS_HANDLE ProtocolVcContext)
{
    Coclient5Violation("delete-VC for a VC this client never accepted",
                       (ULONG)(ULONG_PTR)ProtocolVcContext);
    return NDIS_STATUS_FAILURE;
}

static NDIS_STATUS Coclient5ClRequest(NDIS_HANDLE ProtocolAfContext, NDIS_HANDLE ProtocolVcContext,
                                      NDIS_HANDLE ProtocolPartyContext,
                                      PNDIS_REQUEST NdisRequest)
{
    UNREFERENCED_PARAMETER(ProtocolAfContext);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    UNREFERENCED_PARAMETER(NdisRequest);
    return NDIS_STATUS_NOT_SUPPORTED;
}

_Use_decl_annotations_
static NDIS_STATUS Coclient5ClIncomingCall(NDIS_HANDLE ProtocolSapContext,
                                           NDIS_HANDLE ProtocolVcContext,
                                           PCO_CALL_PARAMETERS CallParameters)
{
    UNREFERENCED_PARAMETER(ProtocolSapContext);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(CallParameters);
    return NDIS_STATUS_NOT_SUPPORTED;
}

/* The peer asks for other QoS: accepting is returning. */
_Use_decl_annotations_
static VOID Coclient5ClIncomingCallQoSChange(NDIS_HANDLE ProtocolVcContext,
                                             PCO_CALL_PARAMETERS CallParameters)
{
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(CallParameters);
}

_Use_decl_annotations_
static VOID Coclient5ClIncomingDropParty(NDIS_STATUS DropStatus, NDIS_HANDLE ProtocolPartyContext,
                                         PVOID CloseData, UINT Size)
{
    UNREFERENCED_PARAMETER(DropStatus);
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    UNREFERENCED_PARAMETER(CloseData);
    UNREFERENCED_PARAMETER(Size);
}

_Use_decl_annotations_
static VOID Coclient5ClCallConnected(NDIS_HANDLE ProtocolVcContext)
{
    UNREFERENCED_PARAMETER(ProtocolVcContext);
}

/* ======================================================================
 * Connectionless and status entry points. This client only binds to
 * connection-oriented adapters: nothing arrives here in a correct run
 * except status indications, which are only logged.
 * ====================================================================== */

static VOID Coclient5SendComplete(NDIS_HANDLE ProtocolBindingContext, PNDIS_PACKET Packet,
                                  NDIS_STATUS Status)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(Packet);
    Coclient5Violation("connectionless send completion, but only NdisCoSendPackets is used",
                       (ULONG)Status);
}

static VOID Coclient5ResetComplete(NDIS_HANDLE ProtocolBindingContext, NDIS_STATUS Status)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    Coclient5Violation("reset completion, but no reset was asked", (ULONG)Status);
}

static VOID Coclient5RequestComplete(NDIS_HANDLE ProtocolBindingContext,
                                     PNDIS_REQUEST NdisRequest, NDIS_STATUS Status)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(NdisRequest);
    Coclient5Violation("NdisRequest completion, but none was issued", (ULONG)Status);
}

static VOID Coclient5ReceiveComplete(NDIS_HANDLE ProtocolBindingContext)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
}

static VOID Coclient5Status(NDIS_HANDLE ProtocolBindingContext, NDIS_STATUS GeneralStatus,
                            PVOID StatusBuffer, UINT StatusBufferSize)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(StatusBuffer);
    UNREFERENCED_PARAMETER(StatusBufferSize);
    DbgPrint("coclient5: adapter status 0x%08lx\n", (ULONG)GeneralStatus);
}

static VOID Coclient5StatusComplete(NDIS_HANDLE ProtocolBindingContext)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
}

/* ProtocolCoStatus: ProtocolVcContext NULL means the whole adapter. */
static VOID Coclient5CoStatus(NDIS_HANDLE ProtocolBindingContext, NDIS_HANDLE ProtocolVcContext,
                              NDIS_STATUS GeneralStatus, PVOID StatusBuffer,
                              UINT StatusBufferSize)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(StatusBuffer);
    UNREFERENCED_PARAMETER(StatusBufferSize);
    DbgPrint("coclient5: %s status 0x%08lx\n", ProtocolVcContext != NULL ? "VC" : "adapter",
             (ULONG)GeneralStatus);
}

/* ======================================================================
 * Sending
 * ====================================================================== */

/* Lock held. TRUE if another packet may go out now. */
static BOOLEAN Coclient5CanSendLocked(PCOCLIENT5_BINDING b)
{
    return !b->Stopping && b->Vc.State == Coclient5VcActive && !b->Vc.PeerClosed &&
           b->NextSeq < b->Count && b->FreeCount > 0 && b->Inflight < b->Window;
}

/* Lock held. TRUE once nothing is in flight and nothing more will be sent. */
static BOOLEAN Coclient5DrainedLocked(PCOCLIENT5_BINDING b)
{
    if (b->Inflight != 0)
        return FALSE;
    return b->NextSeq >= b->Count || b->Stopping || b->Vc.State != Coclient5VcActive ||
           b->Vc.PeerClosed || b->FreeCount == 0;
}

/*
 * Any IRQL <= DISPATCH_LEVEL, lock not held: from the run worker, and from
 * the completion handler after it put a packet back on the free stack.
 * Only one thread sends at a time (Pumping); it keeps going as long as
 * packets are free and remain to be sent, so packets freed by completions
 * that arrive meanwhile (inline, or on other threads) are not stranded.
 *
 * A packet taken here is owned by the client until NdisCoSendPackets; from
 * that call until ProtocolCoSendComplete gives it back it is not touched
 * (not even its OOB status).
 */
static VOID Coclient5Pump(PCOCLIENT5_BINDING b)
{
    PNDIS_PACKET packets[COCLIENT5_BATCH];
    PCOCLIENT5_SLOT slots[COCLIENT5_BATCH];
    ULONG seqs[COCLIENT5_BATCH];
    NDIS_HANDLE vcHandle;
    UINT n, i;

    NdisAcquireSpinLock(&b->Lock);
    if (b->Pumping) {
        NdisReleaseSpinLock(&b->Lock);
        return;
    }
    b->Pumping = TRUE;
    for (;;) {
        n = 0;
        while (n < COCLIENT5_BATCH && Coclient5CanSendLocked(b)) {
            PCOCLIENT5_SLOT slot = &b->Slots[b->FreeStack[--b->FreeCount]];

            slot->InFlight = TRUE;
            slot->SentOn = &b->Vc;
            slot->Seq = b->NextSeq++;
            b->Inflight++;
            if (b->Inflight > b->MaxInflight)
                b->MaxInflight = b->Inflight;
            slots[n] = slot;
            seqs[n] = slot->Seq;
            packets[n] = slot->Packet;
            n++;
        }
        if (n == 0)
            break;
        vcHandle = b->Vc.NdisVcHandle;
        NdisReleaseSpinLock(&b->Lock);

        /* Still ours: the completion cannot come before the send. */
        for (i = 0; i < n; i++) {
            Coclient5Stamp(slots[i]->Data, b->Size, seqs[i]);
            Coclient5BugBeforeSend(b, slots[i]); /* test only */
        }
        NdisCoSendPackets(vcHandle, packets, n);
        Coclient5BugAfterSend(b, slots[n - 1]); /* test only */

        NdisAcquireSpinLock(&b->Lock);
        /* Pumps take turns: every Seq up to this batch's last is sent. The
         * OWN-3 planted bug picks its victim among those only. */
        if (seqs[n - 1] + 1 > b->BugSubmitted)
            b->BugSubmitted = seqs[n - 1] + 1;
    }
    b->Pumping = FALSE;
    NdisReleaseSpinLock(&b->Lock);
}

/*
 * Any IRQL <= DISPATCH_LEVEL. Finds the binding and slot of a packet that
 * came back, without trusting its ProtocolReserved more than it must: the
 * binding named there has to exist and the slot has to hold this packet.
 */
static PCOCLIENT5_BINDING Coclient5OwnerOfPacket(PNDIS_PACKET Packet, PULONG Index)
{
    PCOCLIENT5_RESERVED rsvd = (PCOCLIENT5_RESERVED)Packet->ProtocolReserved;
    PCOCLIENT5_BINDING b;

    if (rsvd->Signature != COCLIENT5_PACKET_SIGNATURE || !Coclient5IsRegistered(rsvd->Binding))
        return NULL;
    b = rsvd->Binding;
    if (b->Slots == NULL || rsvd->Index >= b->Window || b->Slots[rsvd->Index].Packet != Packet)
        return NULL;
    *Index = rsvd->Index;
    return b;
}

/*
 * ProtocolCoSendComplete, <= DISPATCH_LEVEL. On entry the client owns
 * Packet again, with its buffer descriptor, data and OOB block; Status is
 * the final status of this packet. The packet is checked, prepared for
 * reuse as the ProtocolCoSendComplete documentation describes, put back on
 * the free stack, and the send loop is kicked.
 */
static VOID Coclient5CoSendComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolVcContext,
                                    PNDIS_PACKET Packet)
{
    PCOCLIENT5_VC vc = (PCOCLIENT5_VC)ProtocolVcContext;
    PCOCLIENT5_BINDING b;
    PCOCLIENT5_SLOT slot;
    PCOCLIENT5_RESERVED rsvd;
    PNDIS_BUFFER first, buffer;
    PVOID va = NULL;
    UINT count = 0, total = 0, length = 0;
    ULONG index = 0, seq;
    BOOLEAN wasInFlight, ownBufferFound = FALSE, drained;

    if (Packet == NULL) {
        Coclient5Violation("send completion with a NULL packet", (ULONG)Status);
        return;
    }
    b = Coclient5OwnerOfPacket(Packet, &index);
    if (b == NULL) {
        Coclient5Violation("send completion of a packet this client never sent", (ULONG)Status);
        return;
    }
    /* Its binding is alive: the packet was in flight (or we say it was not). */
    Coclient5Enter(b);
    slot = &b->Slots[index];

    /* Claim the completion: only one may take the slot out of flight. */
    NdisAcquireSpinLock(&b->Lock);
    wasInFlight = slot->InFlight;
    slot->InFlight = FALSE;
    seq = slot->Seq;
    NdisReleaseSpinLock(&b->Lock);
    if (!wasInFlight) {
        Coclient5Violation("packet completed twice, or completed while not sent", index);
        Coclient5Leave(b);
        return;
    }

    if (vc == NULL || vc->Signature != COCLIENT5_VC_SIGNATURE || vc != slot->SentOn)
        Coclient5Violation("packet completed on a VC it was not sent on", seq);
    if (Status == NDIS_STATUS_PENDING)
        Coclient5Violation("send completed with NDIS_STATUS_PENDING as final status", seq);

    /* The chain must be exactly as it was sent: our one buffer, its data. */
    NdisQueryPacket(Packet, NULL, &count, &first, &total);
    if (first != slot->Buffer || count != 1 || total != b->Size) {
        Coclient5Violation("buffer chain of a send packet changed below", seq);
    } else {
        NdisQueryBufferSafe(first, &va, &length, NormalPagePriority);
        if (va != slot->Data || length != b->Size)
            Coclient5Violation("buffer descriptor of a send packet changed below", seq);
        else if (!Coclient5StampIntact(slot->Data, b->Size, seq))
            Coclient5Violation("payload of a send packet changed below", seq);
    }

    /*
     * Reuse, in the documented order. Unchain every buffer descriptor
     * first: NdisReinitializePacket drops the chain, and what is still
     * chained would be lost. Then reset the OOB block through
     * NDIS_OOB_DATA_FROM_PACKET; the packet descriptor itself is never
     * zeroed.
     */
    if (Coclient5BugReinitChained(b, Packet)) /* test only */
        ownBufferFound = TRUE;
    for (;;) {
        NdisUnchainBufferAtFront(Packet, &buffer);
        if (buffer == NULL)
            break;
        if (buffer == slot->Buffer)
            ownBufferFound = TRUE;
    }
    NdisReinitializePacket(Packet);
    NdisZeroMemory(NDIS_OOB_DATA_FROM_PACKET(Packet), sizeof(NDIS_PACKET_OOB_DATA));
    Coclient5BugZeroPacket(b, Packet); /* test only */
    rsvd = (PCOCLIENT5_RESERVED)Packet->ProtocolReserved;
    rsvd->Signature = COCLIENT5_PACKET_SIGNATURE;
    rsvd->Index = index;
    rsvd->Binding = b;
    if (ownBufferFound) {
        NDIS_BUFFER_LINKAGE(slot->Buffer) = NULL;
        NdisChainBufferAtFront(Packet, slot->Buffer);
    } else {
        Coclient5Violation("buffer descriptor of a send packet lost below; slot retired", seq);
    }

    NdisAcquireSpinLock(&b->Lock);
    b->Completed++;
    b->Inflight--;
    if (Status != NDIS_STATUS_SUCCESS)
        b->Failed++;
    if (ownBufferFound)
        b->FreeStack[b->FreeCount++] = index;
    else
        slot->Broken = TRUE;
    drained = Coclient5DrainedLocked(b);
    NdisReleaseSpinLock(&b->Lock);

    if (drained)
        NdisSetEvent(&b->RunEvent);
    else
        Coclient5Pump(b);
    Coclient5BugInCompletion(b); /* test only */
    Coclient5Leave(b);
}

/* ======================================================================
 * Receiving
 * ====================================================================== */

/*
 * ProtocolCoReceivePacket, <= DISPATCH_LEVEL. Checks the payload; returns
 * 0 (the packet is the miniport's again on return) unless Coclient5KeepEvery
 * asks to keep this one, in which case it returns 1 and NdisReturnPackets
 * gives it back later. A packet indicated with NDIS_STATUS_RESOURCES is
 * never kept.
 */
static UINT Coclient5CoReceivePacket(NDIS_HANDLE ProtocolBindingContext,
                                     NDIS_HANDLE ProtocolVcContext, PNDIS_PACKET Packet)
{
    PCOCLIENT5_BINDING b =
        Coclient5BindingFromContext(ProtocolBindingContext, "receive, bad binding context");
    PCOCLIENT5_VC vc;
    NDIS_STATUS packetStatus;
    ULONG seq = 0;
    BOOLEAN wellFormed, repeated = FALSE, keep = FALSE, schedule = FALSE;

    if (b == NULL || Packet == NULL)
        return 0;
    Coclient5Enter(b);
    vc = Coclient5VcFromContext(ProtocolVcContext, "receive, bad VC context");
    if (vc != NULL && vc->Binding != b)
        Coclient5Violation("receive on a VC of another binding", 0);

    /* Read once per packet, as the documentation asks. */
    packetStatus = NDIS_GET_PACKET_STATUS(Packet);
    wellFormed = Coclient5CheckReceived(b, Packet, &seq) && seq < b->Count;

    NdisAcquireSpinLock(&b->Lock);
    b->Received++;
    if (packetStatus == NDIS_STATUS_RESOURCES)
        b->ResourcesIndications++;
    if (wellFormed) {
        UCHAR bit = (UCHAR)(1u << (seq & 7));

        if (b->Seen[seq >> 3] & bit)
            repeated = TRUE;
        b->Seen[seq >> 3] |= bit;
        if (seq != b->NextExpected)
            b->OutOfOrder++;
        b->NextExpected = seq + 1;
    }
    if (b->KeepEvery != 0 && packetStatus != NDIS_STATUS_RESOURCES && !b->Stopping &&
        b->Received % b->KeepEvery == 0 && b->KeptCount < b->KeptCapacity) {
        keep = TRUE;
        b->Kept[b->KeptCount++] = Packet;
        b->KeptTotal++;
        if (!b->ReturnItemQueued) {
            b->ReturnItemQueued = TRUE;
            InterlockedIncrement(&b->WorkRefs);
            schedule = TRUE;
        }
    }
    NdisReleaseSpinLock(&b->Lock);

    if (!wellFormed)
        Coclient5Violation("received packet damaged (length, pattern or sequence)", seq);
    if (repeated)
        Coclient5Violation("received sequence number twice", seq);

    if (schedule) {
        NdisInitializeWorkItem(&b->ReturnItem, Coclient5ReturnWorker, b);
        if (NdisScheduleWorkItem(&b->ReturnItem) != NDIS_STATUS_SUCCESS) {
            /* The run worker or unbind returns the packet instead. */
            NdisAcquireSpinLock(&b->Lock);
            b->ReturnItemQueued = FALSE;
            NdisReleaseSpinLock(&b->Lock);
            InterlockedDecrement(&b->WorkRefs);
        }
    }
    if (keep)
        NdisSetEvent(&b->RunEvent);
    Coclient5Leave(b);
    return keep ? 1 : 0;
}

/* NDIS_WORK_ITEM routine, PASSIVE_LEVEL: returns the kept packets. */
static VOID Coclient5ReturnWorker(PNDIS_WORK_ITEM WorkItem, PVOID Context)
{
    PCOCLIENT5_BINDING b = (PCOCLIENT5_BINDING)Context;

    UNREFERENCED_PARAMETER(WorkItem);
    NdisAcquireSpinLock(&b->Lock);
    b->ReturnItemQueued = FALSE; /* from here the item may be queued again */
    NdisReleaseSpinLock(&b->Lock);
    Coclient5ReturnKept(b, TRUE);
    InterlockedDecrement(&b->WorkRefs); /* the last touch of b */
}

/* ======================================================================
 * The run, on an NDIS_WORK_ITEM at PASSIVE_LEVEL
 * ====================================================================== */

/* Worker. TRUE if the address family is open. */
static BOOLEAN Coclient5OpenAf(PCOCLIENT5_BINDING b)
{
    NDIS_HANDLE afHandle = NULL;
    NDIS_STATUS status;

    NdisAcquireSpinLock(&b->Lock);
    b->Af.State = Coclient5AfOpening;
    NdisReleaseSpinLock(&b->Lock);

    NdisResetEvent(&b->OpEvent);
    status = NdisClOpenAddressFamily(b->BindingHandle, &b->Af.Family, &b->Af, &g_ClientChars,
                                     sizeof(g_ClientChars), &afHandle);
    if (status != NDIS_STATUS_PENDING)
        Coclient5ClOpenAfComplete(status, &b->Af, afHandle);
    NdisWaitEvent(&b->OpEvent, 0);

    if (b->Af.State != Coclient5AfOpen) {
        DbgPrint("coclient5: NdisClOpenAddressFamily(AF 0x%lx) failed (0x%08lx)\n",
                 (ULONG)b->Af.Family.AddressFamily, (ULONG)b->Af.Status);
        return FALSE;
    }
    return TRUE;
}

/* Worker. Closes the AF; a failure is a failed teardown step. */
static VOID Coclient5CloseAf(PCOCLIENT5_BINDING b)
{
    NDIS_STATUS status;
    NDIS_HANDLE afHandle;

    NdisAcquireSpinLock(&b->Lock);
    b->Af.State = Coclient5AfClosing;
    afHandle = b->Af.NdisAfHandle;
    NdisReleaseSpinLock(&b->Lock);

    NdisResetEvent(&b->OpEvent);
    status = NdisClCloseAddressFamily(afHandle);
    if (status != NDIS_STATUS_PENDING)
        Coclient5ClCloseAfComplete(status, &b->Af);
    NdisWaitEvent(&b->OpEvent, 0);
    if (b->Af.Status != NDIS_STATUS_SUCCESS)
        Coclient5Violation("NdisClCloseAddressFamily failed", (ULONG)b->Af.Status);
}

/* Worker. TRUE if the VC exists. */
static BOOLEAN Coclient5CreateVc(PCOCLIENT5_BINDING b)
{
    NDIS_HANDLE vcHandle = NULL; /* must be NULL going in */
    NDIS_STATUS status;

    status = NdisCoCreateVc(b->BindingHandle, b->Af.NdisAfHandle, &b->Vc, &vcHandle);
    if (status != NDIS_STATUS_SUCCESS) {
        DbgPrint("coclient5: NdisCoCreateVc failed (0x%08lx)\n", (ULONG)status);
        return FALSE;
    }
    NdisAcquireSpinLock(&b->Lock);
    b->Vc.NdisVcHandle = vcHandle;
    b->Vc.State = Coclient5VcCreated;
    NdisReleaseSpinLock(&b->Lock);
    InterlockedIncrement(&g_VcsCreated);
    return TRUE;
}

/* Worker. Deletes the VC (it does not pend); a failure is a failed teardown. */
static VOID Coclient5DeleteVc(PCOCLIENT5_BINDING b)
{
    NDIS_STATUS status = NdisCoDeleteVc(b->Vc.NdisVcHandle);

    if (status != NDIS_STATUS_SUCCESS) {
        Coclient5Violation("NdisCoDeleteVc failed", (ULONG)status);
        return;
    }
    NdisAcquireSpinLock(&b->Lock);
    b->Vc.State = Coclient5VcNone;
    b->Vc.NdisVcHandle = NULL;
    NdisReleaseSpinLock(&b->Lock);
    InterlockedIncrement(&g_VcsDeleted);
}

/*
 * Worker. A bidirectional point-to-point call that leaves everything but
 * the packet size to the call manager: every FLOWSPEC member the client need
 * not fix is QOS_NOT_SPECIFIED, and neither call-manager- nor media-specific
 * parameters are passed.
 */
static VOID Coclient5InitCallParameters(PCOCLIENT5_BINDING b)
{
    PCOCLIENT5_VC vc = &b->Vc;
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
static BOOLEAN Coclient5MakeCall(PCOCLIENT5_BINDING b)
{
    NDIS_STATUS status;
    NDIS_HANDLE vcHandle;
    BOOLEAN active;

    Coclient5InitCallParameters(b);

    NdisAcquireSpinLock(&b->Lock);
    b->Vc.State = Coclient5VcCalling;
    vcHandle = b->Vc.NdisVcHandle;
    NdisReleaseSpinLock(&b->Lock);

    NdisResetEvent(&b->OpEvent);
    status = NdisClMakeCall(vcHandle, &b->Vc.CallParameters, NULL, NULL);
    if (status != NDIS_STATUS_PENDING)
        Coclient5ClMakeCallComplete(status, &b->Vc, NULL, &b->Vc.CallParameters);
    NdisWaitEvent(&b->OpEvent, 0);

    NdisAcquireSpinLock(&b->Lock);
    active = (b->Vc.State == Coclient5VcActive);
    status = b->Vc.CallStatus;
    NdisReleaseSpinLock(&b->Lock);
    if (!active) {
        DbgPrint("coclient5: NdisClMakeCall failed (0x%08lx)\n", (ULONG)status);
        return FALSE;
    }
    if (b->Vc.CallMgrParameters.Transmit.MaxSduSize < b->Size)
        DbgPrint("coclient5: call manager lowered Transmit.MaxSduSize to %lu (< %lu)\n",
                 b->Vc.CallMgrParameters.Transmit.MaxSduSize, b->Size);
    return TRUE;
}

/* Worker. Closes the call; a failure is a failed teardown step. */
static VOID Coclient5CloseCall(PCOCLIENT5_BINDING b)
{
    NDIS_STATUS status;
    NDIS_HANDLE vcHandle;

    NdisAcquireSpinLock(&b->Lock);
    b->Vc.State = Coclient5VcClosing;
    vcHandle = b->Vc.NdisVcHandle;
    NdisReleaseSpinLock(&b->Lock);

    NdisResetEvent(&b->OpEvent);
    status = NdisClCloseCall(vcHandle, NULL, NULL, 0);
    if (status != NDIS_STATUS_PENDING)
        Coclient5ClCloseCallComplete(status, &b->Vc, NULL);
    NdisWaitEvent(&b->OpEvent, 0);
    if (b->Vc.CallStatus != NDIS_STATUS_SUCCESS)
        Coclient5Violation("NdisClCloseCall failed", (ULONG)b->Vc.CallStatus);
}

/*
 * Worker. Primes the window and waits until the run has drained: every
 * packet sent and back, or a stop and every packet back. The resending
 * itself happens in the completion handler. Kept receives are returned here
 * too, so the run never depends on the return work item getting a thread.
 */
static VOID Coclient5SendAll(PCOCLIENT5_BINDING b)
{
    BOOLEAN drained;

    Coclient5Pump(b);
    for (;;) {
        Coclient5ReturnKept(b, FALSE);
        NdisAcquireSpinLock(&b->Lock);
        drained = Coclient5DrainedLocked(b);
        NdisReleaseSpinLock(&b->Lock);
        if (drained)
            break;
        if (!Coclient5BugWait(b)) /* test only: plants the worker's bugs meanwhile */
            NdisWaitEvent(&b->RunEvent, 0);
        NdisResetEvent(&b->RunEvent); /* the loop looks again after this */
    }
    Coclient5ReturnKept(b, FALSE);
    Coclient5BugAfterRun(b); /* test only */
}

/* NDIS_WORK_ITEM routine, PASSIVE_LEVEL: the whole life of one call. */
static VOID Coclient5RunWorker(PNDIS_WORK_ITEM WorkItem, PVOID Context)
{
    PCOCLIENT5_BINDING b = (PCOCLIENT5_BINDING)Context;
    BOOLEAN stopping, callUp = FALSE;

    UNREFERENCED_PARAMETER(WorkItem);

    NdisAcquireSpinLock(&b->Lock);
    stopping = b->Stopping;
    NdisReleaseSpinLock(&b->Lock);

    if (!stopping && Coclient5OpenAf(b)) {
        if (Coclient5CreateVc(b)) {
            callUp = Coclient5MakeCall(b);
            if (callUp)
                Coclient5SendAll(b);
            if (callUp && !b->BugCallClosed) /* a planted VC-2 closed it already */
                Coclient5CloseCall(b);
            Coclient5BugAfterCloseCall(b); /* test only */
            Coclient5DeleteVc(b);
            Coclient5BugAfterDeleteVc(b); /* test only */
        }
        Coclient5CloseAf(b);
    }

    /* The return work item may still be running: read the counters under
     * the lock, print without it. */
    {
        ULONG sent, completed, failed, maxInflight, received, outOfOrder, resources, kept,
            returned, byItem;
        BOOLEAN peerClosed;
        NdisAcquireSpinLock(&b->Lock);
        sent = b->NextSeq;
        completed = b->Completed;
        failed = b->Failed;
        maxInflight = b->MaxInflight;
        received = b->Received;
        outOfOrder = b->OutOfOrder;
        resources = b->ResourcesIndications;
        kept = b->KeptTotal;
        returned = b->Returned;
        byItem = b->ReturnedByItem;
        peerClosed = b->Vc.PeerClosed;
        NdisReleaseSpinLock(&b->Lock);
        DbgPrint("coclient5: run: sent %lu completed %lu failed %lu (max in flight %lu), "
                 "received %lu (out of order %lu, lent with RESOURCES %lu, kept %lu, returned "
                 "%lu, %lu of them by the return work item)%s\n",
                 sent, completed, failed, maxInflight, received, outOfOrder, resources, kept,
                 returned, byItem, peerClosed ? " (closed by the call manager)" : "");
    }

    InterlockedDecrement(&b->WorkRefs); /* the last touch of b */
}

/* ======================================================================
 * Planted bugs (test only: Coclient5Bug / Coclient5BugEvery)
 *
 * Each function or block marked PLANTED BUG breaks one rule on purpose, so
 * that a test can show condis' verifier catching it. With Coclient5Bug
 * unset (b->Bug == Coclient5BugNone) every hook below returns at once and
 * changes nothing. Whatever condis refuses or repairs, the client goes on
 * and ends its run in order.
 * ====================================================================== */

static const struct {
    PCWSTR Id;
    COCLIENT5_BUG Bug;
} g_Coclient5BugIds[] = {
    { L"OWN-1", Coclient5BugOwn1 },   { L"OWN-2", Coclient5BugOwn2 },
    { L"OWN-3", Coclient5BugOwn3 },   { L"PKT-1", Coclient5BugPkt1 },
    { L"PKT-2", Coclient5BugPkt2 },   { L"PKT-4", Coclient5BugPkt4 },
    { L"VC-1", Coclient5BugVc1 },     { L"VC-2", Coclient5BugVc2 },
    { L"VC-3", Coclient5BugVc3 },     { L"VC-4", Coclient5BugVc4 },
    { L"IRQL-2", Coclient5BugIrql2 }, { L"IRQL-3", Coclient5BugIrql3 },
    { L"RES-1", Coclient5BugRes1 },   { L"RES-2", Coclient5BugRes2 },
};

/* The memory block RES-1 leaves behind; never freed, on purpose. */
static PVOID g_Coclient5BugLeak;

#define COCLIENT5_BUG_MEDIA_SIZE 64

static PCWSTR Coclient5BugName(COCLIENT5_BUG Bug)
{
    ULONG i;

    for (i = 0; i < RTL_NUMBER_OF(g_Coclient5BugIds); i++) {
        if (g_Coclient5BugIds[i].Bug == Bug)
            return g_Coclient5BugIds[i].Id;
    }
    return L"none";
}

/*
 * PASSIVE_LEVEL, from Coclient5ReadParameters. Reads Coclient5Bug (a
 * string) and Coclient5BugEvery. A missing Coclient5Bug is no bug; one that
 * names no rule below sets BugInvalid, and bind fails.
 */
static VOID Coclient5ReadBugParameters(PCOCLIENT5_BINDING b, NDIS_HANDLE Config)
{
    NDIS_STRING keyword;
    PNDIS_CONFIGURATION_PARAMETER value = NULL;
    NDIS_STATUS status;
    ULONG i;

    b->Bug = Coclient5BugNone;
    NdisInitUnicodeString(&keyword, L"Coclient5Bug");
    NdisReadConfiguration(&status, &value, Config, &keyword, NdisParameterString);
    if (status != NDIS_STATUS_SUCCESS || value == NULL)
        return;
    if (value->ParameterType == NdisParameterString) {
        for (i = 0; i < RTL_NUMBER_OF(g_Coclient5BugIds); i++) {
            NDIS_STRING id;

            NdisInitUnicodeString(&id, g_Coclient5BugIds[i].Id);
            if (NdisEqualString(&id, &value->ParameterData.StringData, TRUE)) {
                b->Bug = g_Coclient5BugIds[i].Bug;
                break;
            }
        }
    }
    if (b->Bug == Coclient5BugNone) {
        b->BugInvalid = TRUE;
        if (value->ParameterType == NdisParameterString)
            DbgPrint("coclient5: error: Coclient5Bug=%wZ names no rule this client can break\n",
                     &value->ParameterData.StringData);
        else
            DbgPrint("coclient5: error: Coclient5Bug is not a string\n");
        return;
    }
    b->BugEvery = Coclient5ReadParameter(Config, L"Coclient5BugEvery", 0, 0,
                                         COCLIENT5_MAX_COUNT);
}

/* PASSIVE_LEVEL, from bind once the send resources are there. */
static VOID Coclient5BugSetup(PCOCLIENT5_BINDING b)
{
    NDIS_STATUS status;

    if (b->Bug == Coclient5BugNone)
        return;
    /* The first time: in full flow, a few sends after the window was primed. */
    b->BugNextAt = b->Window + 8;
    if (b->BugNextAt >= b->Count)
        b->BugNextAt = b->Count / 2;
    NdisAllocateSpinLock(&b->BugLock);
    if (b->Bug == Coclient5BugRes1) {
        /* PLANTED BUG (RES-1): allocated here, never freed. */
        status = NdisAllocateMemoryWithTag(&g_Coclient5BugLeak, 64, COCLIENT5_TAG);
        DbgPrint("coclient5: planted bug RES-1: 64 bytes allocated that unload will not free "
                 "(0x%08lx)\n", (ULONG)status);
    }
}

/* PASSIVE_LEVEL, from Coclient5FreeBinding. */
static VOID Coclient5BugFree(PCOCLIENT5_BINDING b)
{
    if (b->Bug == Coclient5BugNone)
        return;
    NdisFreeSpinLock(&b->BugLock);
    b->Bug = Coclient5BugNone;
}

/* Lock held. TRUE if bug Bug is due (enough packets sent since the last). */
static BOOLEAN Coclient5BugDueLocked(const COCLIENT5_BINDING *b, COCLIENT5_BUG Bug)
{
    return b->Bug == Bug && b->BugNextAt != MAXULONG && b->NextSeq >= b->BugNextAt;
}

/* Lock held: the bug was planted; schedule the next one. */
static VOID Coclient5BugPlantedLocked(PCOCLIENT5_BINDING b)
{
    b->BugPlanted++;
    b->BugNextAt = (b->BugEvery != 0) ? b->NextSeq + b->BugEvery : MAXULONG;
}

/* Lock not held, <= DISPATCH_LEVEL. Due and planted in one step. */
static BOOLEAN Coclient5BugTake(PCOCLIENT5_BINDING b, COCLIENT5_BUG Bug)
{
    BOOLEAN due;

    if (b->Bug != Bug)
        return FALSE;
    NdisAcquireSpinLock(&b->Lock);
    due = Coclient5BugDueLocked(b, Bug);
    if (due)
        Coclient5BugPlantedLocked(b);
    NdisReleaseSpinLock(&b->Lock);
    return due;
}

/*
 * From the pump, before NdisCoSendPackets, while Slot is still the
 * client's. PKT-4 lends the packet a media-specific block here, which
 * Coclient5BugAfterSend then frees while the packet is in flight.
 */
static VOID Coclient5BugBeforeSend(PCOCLIENT5_BINDING b, PCOCLIENT5_SLOT Slot)
{
    PVOID media = NULL;

    if (!Coclient5BugTake(b, Coclient5BugPkt4))
        return;
    if (NdisAllocateMemoryWithTag(&media, COCLIENT5_BUG_MEDIA_SIZE, COCLIENT5_TAG) !=
        NDIS_STATUS_SUCCESS)
        return;
    NdisZeroMemory(media, COCLIENT5_BUG_MEDIA_SIZE);
    NDIS_SET_PACKET_MEDIA_SPECIFIC_INFO(Slot->Packet, media, COCLIENT5_BUG_MEDIA_SIZE);
    NdisAcquireSpinLock(&b->Lock);
    b->BugMedia = media;
    b->BugMediaSlot = Slot;
    NdisReleaseSpinLock(&b->Lock);
}

/*
 * From the pump, on the thread that just sent: Last is the last packet of
 * the array, which is NDIS's now. The bugs look at it only while the
 * client's own InFlight flag says it has not come back; b->Lock is held
 * meanwhile so that the completion handler cannot reclaim it.
 */
static VOID Coclient5BugAfterSend(PCOCLIENT5_BINDING b, PCOCLIENT5_SLOT Last)
{
    NDIS_STATUS status;
    PVOID media;

    if (b->Bug == Coclient5BugPkt4) {
        NdisAcquireSpinLock(&b->Lock);
        media = b->BugMedia;
        if (media == NULL || !b->BugMediaSlot->InFlight) {
            /* Back already: no bug this time; the block is not lent any more. */
            b->BugMedia = NULL;
            NdisReleaseSpinLock(&b->Lock);
            if (media != NULL)
                NdisFreeMemory(media, COCLIENT5_BUG_MEDIA_SIZE, 0);
            return;
        }
        /*
         * PLANTED BUG (PKT-4): the media-specific block of a packet in
         * flight is freed (condis defers the free to the completion).
         */
        b->BugMedia = NULL;
        NdisFreeMemory(media, COCLIENT5_BUG_MEDIA_SIZE, 0);
        NdisReleaseSpinLock(&b->Lock);
        DbgPrint("coclient5: planted bug PKT-4: media-specific block freed in flight\n");
        return;
    }
    if (b->Bug != Coclient5BugOwn1 && b->Bug != Coclient5BugOwn2)
        return;
    NdisAcquireSpinLock(&b->Lock);
    if (!Coclient5BugDueLocked(b, b->Bug) || !Last->InFlight) {
        NdisReleaseSpinLock(&b->Lock);
        return;
    }
    Coclient5BugPlantedLocked(b);
    if (b->Bug == Coclient5BugOwn1) {
        /* PLANTED BUG (OWN-1): the data of a packet in flight changes. */
        Last->Data[b->Size - 1] ^= 0xFF;
    } else {
        /*
         * PLANTED BUG (OWN-2): the OOB status of a packet in flight is read
         * right after NdisCoSendPackets and taken for its result, the way
         * NdisSend's is: not PENDING "means" done, so the packet is freed.
         * condis refuses the free and completes the packet later as usual.
         */
        status = NDIS_GET_PACKET_STATUS(Last->Packet);
        if (status != NDIS_STATUS_PENDING)
            NdisFreePacket(Last->Packet);
    }
    NdisReleaseSpinLock(&b->Lock);
    DbgPrint("coclient5: planted bug %ws on packet %lu, in flight\n", Coclient5BugName(b->Bug),
             Last->Seq);
}

/*
 * From the send-complete handler, instead of unchaining the buffer before
 * NdisReinitializePacket. TRUE if the bug was planted: the client then
 * chains its one buffer again as usual (it knows which it is).
 */
static BOOLEAN Coclient5BugReinitChained(PCOCLIENT5_BINDING b, PNDIS_PACKET Packet)
{
    if (!Coclient5BugTake(b, Coclient5BugPkt1))
        return FALSE;
    /* PLANTED BUG (PKT-1): reinitialized with its buffer still chained. */
    NdisReinitializePacket(Packet);
    DbgPrint("coclient5: planted bug PKT-1: NdisReinitializePacket with a buffer chained\n");
    return TRUE;
}

/* From the send-complete handler, after the OOB block was reset. */
static VOID Coclient5BugZeroPacket(PCOCLIENT5_BINDING b, PNDIS_PACKET Packet)
{
    if (!Coclient5BugTake(b, Coclient5BugPkt2))
        return;
    /*
     * PLANTED BUG (PKT-2): the descriptor itself is zeroed. condis repairs
     * the header when the handler returns; the client writes its
     * ProtocolReserved and chains its buffer again as usual.
     */
    NdisZeroMemory(Packet, sizeof(NDIS_PACKET));
    DbgPrint("coclient5: planted bug PKT-2: NdisZeroMemory on the packet\n");
}

/* At the end of the send-complete handler; the IRQL bugs need DISPATCH_LEVEL. */
static VOID Coclient5BugInCompletion(PCOCLIENT5_BINDING b)
{
    BOOLEAN release;

    if ((b->Bug != Coclient5BugIrql2 && b->Bug != Coclient5BugIrql3) ||
        KeGetCurrentIrql() != DISPATCH_LEVEL)
        return;
    if (b->Bug == Coclient5BugIrql2) {
        if (Coclient5BugTake(b, Coclient5BugIrql2)) {
            /* PLANTED BUG (IRQL-2): a PASSIVE_LEVEL-only call at DISPATCH_LEVEL. */
            NdisMSleep(1);
            DbgPrint("coclient5: planted bug IRQL-2: NdisMSleep at DISPATCH_LEVEL\n");
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
    if (Coclient5BugTake(b, Coclient5BugIrql3)) {
        /* PLANTED BUG (IRQL-3): the handler returns with a spin lock held. */
        NdisDprAcquireSpinLock(&b->BugLock);
        NdisAcquireSpinLock(&b->Lock);
        b->BugLockHeld = TRUE;
        NdisReleaseSpinLock(&b->Lock);
        DbgPrint("coclient5: planted bug IRQL-3: returning from send complete with a spin "
                 "lock held\n");
    }
}

/* Worker, PASSIVE_LEVEL. Waits until no packet is in flight. */
static VOID Coclient5BugWaitIdle(PCOCLIENT5_BINDING b)
{
    ULONG inflight;

    for (;;) {
        NdisAcquireSpinLock(&b->Lock);
        inflight = b->Inflight;
        NdisReleaseSpinLock(&b->Lock);
        if (inflight == 0)
            return;
        NdisMSleep(1000);
    }
}

/* Worker, PASSIVE_LEVEL, every millisecond of the run: the worker's bugs. */
static VOID Coclient5BugWorkerStep(PCOCLIENT5_BINDING b)
{
    PCOCLIENT5_SLOT victim = NULL;
    NDIS_HANDLE vcHandle;
    NDIS_STATUS status;
    BOOLEAN pumping;
    ULONG i;

    NdisAcquireSpinLock(&b->Lock);
    vcHandle = b->Vc.NdisVcHandle;
    if (!Coclient5BugDueLocked(b, b->Bug) || b->Vc.State != Coclient5VcActive || b->Stopping) {
        NdisReleaseSpinLock(&b->Lock);
        return;
    }
    switch (b->Bug) {
    case Coclient5BugOwn3:
        /*
         * PLANTED BUG (OWN-3): free a packet that is in flight. The victim
         * is the newest one a completion handler sent (not the worker's
         * first window), so the free comes from another thread than its
         * send, long after it.
         */
        for (i = 0; i < b->Window; i++) {
            PCOCLIENT5_SLOT slot = &b->Slots[i];

            if (slot->InFlight && slot->Seq >= b->Window && slot->Seq < b->BugSubmitted &&
                (victim == NULL || slot->Seq > victim->Seq))
                victim = slot;
        }
        if (victim != NULL) {
            Coclient5BugPlantedLocked(b);
            NdisFreePacket(victim->Packet); /* condis refuses: it is in flight */
            DbgPrint("coclient5: planted bug OWN-3: freed packet %lu in flight\n", victim->Seq);
        }
        NdisReleaseSpinLock(&b->Lock);
        return;

    case Coclient5BugVc2:
        if (b->Inflight == 0)
            break;
        Coclient5BugPlantedLocked(b);
        b->Vc.State = Coclient5VcClosing; /* no new sends: only the ones in flight */
        b->BugCallClosed = TRUE;
        NdisReleaseSpinLock(&b->Lock);
        /* A pump that took its packets before is still sending them. */
        do {
            NdisAcquireSpinLock(&b->Lock);
            pumping = b->Pumping;
            NdisReleaseSpinLock(&b->Lock);
            if (pumping)
                NdisMSleep(100);
        } while (pumping);
        /* PLANTED BUG (VC-2): close the call with packets still in flight. */
        DbgPrint("coclient5: planted bug VC-2: NdisClCloseCall with packets in flight\n");
        Coclient5CloseCall(b);
        NdisSetEvent(&b->RunEvent);
        return;

    case Coclient5BugVc3:
        Coclient5BugPlantedLocked(b);
        NdisReleaseSpinLock(&b->Lock);
        /* PLANTED BUG (VC-3): delete the VC while its call is up. */
        status = NdisCoDeleteVc(vcHandle);
        DbgPrint("coclient5: planted bug VC-3: NdisCoDeleteVc on the active VC: 0x%08lx\n",
                 (ULONG)status);
        return;

    default:
        break;
    }
    NdisReleaseSpinLock(&b->Lock);
}

/*
 * Worker, from the run's wait loop. FALSE when no bug is planted (the
 * caller then waits as usual); else waits a millisecond for RunEvent,
 * plants the worker's bugs, and returns TRUE.
 */
static BOOLEAN Coclient5BugWait(PCOCLIENT5_BINDING b)
{
    if (b->Bug == Coclient5BugNone)
        return FALSE;
    if (!NdisWaitEvent(&b->RunEvent, 1))
        Coclient5BugWorkerStep(b);
    return TRUE;
}

/* Worker, once the run has drained (every packet back). */
static VOID Coclient5BugAfterRun(PCOCLIENT5_BINDING b)
{
    BOOLEAN release;

    if (b->Bug == Coclient5BugNone)
        return;
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

    if (b->Bug == Coclient5BugRes2) {
        /* PLANTED BUG (RES-2): free the pool while its packets are allocated. */
        NdisFreePacketPool(b->PacketPool);
        DbgPrint("coclient5: planted bug RES-2: NdisFreePacketPool with packets allocated\n");
    }
}

/*
 * Worker, once the call is closed and before the VC goes. VC-1 sends one
 * more packet on the VC; VC-4 keeps the handle for after the delete.
 */
static VOID Coclient5BugAfterCloseCall(PCOCLIENT5_BINDING b)
{
    PCOCLIENT5_SLOT slot;
    NDIS_HANDLE vcHandle;
    ULONG seq;

    if (b->Bug != Coclient5BugVc1 && b->Bug != Coclient5BugVc4)
        return;
    NdisAcquireSpinLock(&b->Lock);
    vcHandle = b->Vc.NdisVcHandle;
    if (b->Vc.State != Coclient5VcClosed || b->FreeCount == 0) {
        NdisReleaseSpinLock(&b->Lock);
        return;
    }
    if (b->Bug == Coclient5BugVc4) {
        b->BugStaleVc = vcHandle; /* kept past NdisCoDeleteVc: the bug */
        NdisReleaseSpinLock(&b->Lock);
        return;
    }
    /* Taken and counted the way the pump does it. */
    slot = &b->Slots[b->FreeStack[--b->FreeCount]];
    slot->InFlight = TRUE;
    slot->SentOn = &b->Vc;
    seq = slot->Seq = b->NextSeq++;
    b->Inflight++;
    b->BugPlanted++;
    NdisReleaseSpinLock(&b->Lock);
    Coclient5Stamp(slot->Data, b->Size, seq);
    /* PLANTED BUG (VC-1): send on a VC whose call is closed. */
    NdisCoSendPackets(vcHandle, &slot->Packet, 1);
    DbgPrint("coclient5: planted bug VC-1: packet sent after the call was closed\n");
    Coclient5BugWaitIdle(b);
}

/* Worker, after NdisCoDeleteVc. */
static VOID Coclient5BugAfterDeleteVc(PCOCLIENT5_BINDING b)
{
    PNDIS_PACKET packet;

    if (b->Bug != Coclient5BugVc4 || b->BugStaleVc == NULL)
        return;
    NdisAcquireSpinLock(&b->Lock);
    if (b->Vc.State != Coclient5VcNone || b->FreeCount == 0) {
        NdisReleaseSpinLock(&b->Lock);
        return;
    }
    /* Not taken off the free stack: condis leaves the packet with the caller. */
    packet = b->Slots[b->FreeStack[b->FreeCount - 1]].Packet;
    b->BugPlanted++;
    NdisReleaseSpinLock(&b->Lock);
    /* PLANTED BUG (VC-4): the deleted VC's handle used for a send. */
    NdisCoSendPackets(b->BugStaleVc, &packet, 1);
    b->BugStaleVc = NULL;
    DbgPrint("coclient5: planted bug VC-4: packet sent on a deleted VC's handle\n");
}

/* ======================================================================
 * Driver entry and unload
 * ====================================================================== */

/*
 * DriverUnload, PASSIVE_LEVEL. condis has unbound every binding by now;
 * deregistering would otherwise have NDIS close what is still open.
 */
_Use_decl_annotations_
static VOID Coclient5Unload(PDRIVER_OBJECT DriverObject)
{
    NDIS_STATUS status = NDIS_STATUS_SUCCESS;

    UNREFERENCED_PARAMETER(DriverObject);
    if (g_ProtocolHandle != NULL) {
        NdisDeregisterProtocol(&status, g_ProtocolHandle);
        g_ProtocolHandle = NULL;
        if (status != NDIS_STATUS_SUCCESS)
            Coclient5Violation("NdisDeregisterProtocol failed", (ULONG)status);
    }
    DbgPrint("coclient5: unloaded: VCs created %lu deleted %lu, errors %lu, sent %lu, "
             "completed %lu, failed %lu, received %lu\n",
             Coclient5Read(&g_VcsCreated), Coclient5Read(&g_VcsDeleted), Coclient5Errors(),
             Coclient5Read(&g_Sent), Coclient5Read(&g_Completed), Coclient5Read(&g_Failed),
             Coclient5Read(&g_Received));
}

/*
 * DriverEntry, PASSIVE_LEVEL: registers the protocol; binding starts once it
 * has (ProtocolBindAdapter per adapter).
 */
_Use_decl_annotations_
NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NDIS_PROTOCOL_CHARACTERISTICS pc;
    NDIS_STRING name = NDIS_STRING_CONST("coclient5");
    NDIS_STATUS status;
    ULONG i;

    UNREFERENCED_PARAMETER(RegistryPath);

    InterlockedExchange(&g_Errors, 0);
    InterlockedExchange(&g_VcsCreated, 0);
    InterlockedExchange(&g_VcsDeleted, 0);
    InterlockedExchange(&g_Sent, 0);
    InterlockedExchange(&g_Completed, 0);
    InterlockedExchange(&g_Failed, 0);
    InterlockedExchange(&g_Received, 0);
    for (i = 0; i < COCLIENT5_MAX_BINDINGS; i++)
        InterlockedExchangePointer(&g_Bindings[i], NULL);

    /*
     * The client entry points of every AF this driver opens. The CoNDIS
     * client interface is version 5.0 in NDIS 5.0 and 5.1 alike.
     */
    NdisZeroMemory(&g_ClientChars, sizeof(g_ClientChars));
    g_ClientChars.MajorVersion = COCLIENT5_CLIENT_MAJOR;
    g_ClientChars.MinorVersion = COCLIENT5_CLIENT_MINOR;
    g_ClientChars.ClCreateVcHandler = Coclient5ClCreateVc;
    g_ClientChars.ClDeleteVcHandler = Coclient5ClDeleteVc;
    g_ClientChars.ClRequestHandler = Coclient5ClRequest;
    g_ClientChars.ClRequestCompleteHandler = Coclient5ClRequestComplete;
    g_ClientChars.ClOpenAfCompleteHandler = Coclient5ClOpenAfComplete;
    g_ClientChars.ClCloseAfCompleteHandler = Coclient5ClCloseAfComplete;
    g_ClientChars.ClRegisterSapCompleteHandler = Coclient5ClRegisterSapComplete;
    g_ClientChars.ClDeregisterSapCompleteHandler = Coclient5ClDeregisterSapComplete;
    g_ClientChars.ClMakeCallCompleteHandler = Coclient5ClMakeCallComplete;
    g_ClientChars.ClModifyCallQoSCompleteHandler = Coclient5ClModifyCallQoSComplete;
    g_ClientChars.ClCloseCallCompleteHandler = Coclient5ClCloseCallComplete;
    g_ClientChars.ClAddPartyCompleteHandler = Coclient5ClAddPartyComplete;
    g_ClientChars.ClDropPartyCompleteHandler = Coclient5ClDropPartyComplete;
    g_ClientChars.ClIncomingCallHandler = Coclient5ClIncomingCall;
    g_ClientChars.ClIncomingCallQoSChangeHandler = Coclient5ClIncomingCallQoSChange;
    g_ClientChars.ClIncomingCloseCallHandler = Coclient5ClIncomingCloseCall;
    g_ClientChars.ClIncomingDropPartyHandler = Coclient5ClIncomingDropParty;
    g_ClientChars.ClCallConnectedHandler = Coclient5ClCallConnected;

    /*
     * The documentation asks for the structure to be zeroed first. There is
     * no NDIS51_PROTOCOL_CHARACTERISTICS: an NDIS 5.1 protocol fills the 5.0
     * structure with version 5.1. The connectionless receive entry points
     * stay NULL, which is allowed for a protocol that binds only to
     * connection-oriented miniports.
     */
    NdisZeroMemory(&pc, sizeof(pc));
    pc.MajorNdisVersion = COCLIENT5_NDIS_MAJOR;
    pc.MinorNdisVersion = COCLIENT5_NDIS_MINOR;
    pc.OpenAdapterCompleteHandler = Coclient5OpenAdapterComplete;
    pc.CloseAdapterCompleteHandler = Coclient5CloseAdapterComplete;
    pc.SendCompleteHandler = Coclient5SendComplete;
    pc.TransferDataCompleteHandler = NULL;
    pc.ResetCompleteHandler = Coclient5ResetComplete;
    pc.RequestCompleteHandler = Coclient5RequestComplete;
    pc.ReceiveHandler = NULL;
    pc.ReceiveCompleteHandler = Coclient5ReceiveComplete;
    pc.StatusHandler = Coclient5Status;
    pc.StatusCompleteHandler = Coclient5StatusComplete;
    pc.Name = name;
    pc.ReceivePacketHandler = NULL;
    pc.BindAdapterHandler = Coclient5BindAdapter;
    pc.UnbindAdapterHandler = Coclient5UnbindAdapter;
    pc.PnPEventHandler = Coclient5PnPEvent;
    pc.UnloadHandler = NULL;
    pc.CoSendCompleteHandler = Coclient5CoSendComplete;
    pc.CoStatusHandler = Coclient5CoStatus;
    pc.CoReceivePacketHandler = Coclient5CoReceivePacket;
    pc.CoAfRegisterNotifyHandler = Coclient5CoAfRegisterNotify;

    NdisRegisterProtocol(&status, &g_ProtocolHandle, &pc, sizeof(pc));
    if (status != NDIS_STATUS_SUCCESS) {
        DbgPrint("coclient5: NdisRegisterProtocol failed (0x%08lx)\n", (ULONG)status);
        g_ProtocolHandle = NULL;
        return (NTSTATUS)status;
    }
    DriverObject->DriverUnload = Coclient5Unload;
    return STATUS_SUCCESS;
}
