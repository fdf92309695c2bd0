/*
 * tdrivers.h - the test drivers and their control API.
 *
 * Two drivers, written against <ndis.h> like any driver, with knobs a test
 * sets before it drives them:
 *
 *   tclient  a CoNDIS 6 client (NDIS 6 protocol). It binds to CoWan
 *            adapters, opens the address family it is told about, creates
 *            VCs, makes and closes calls, sends NBLs from its own pool and
 *            receives. Every callback records how often it ran, the IRQLs
 *            it ran at and a global event sequence number, so that a test
 *            can check order and context.
 *
 *   tmcm     a fake miniport call manager (NdisMediumCoWan). The test picks
 *            how sends are completed (inline, held until a flush, from a DPC,
 *            reordered, coalesced, split, failing) and which control steps
 *            pend; it records, per VC, the order in which NBLs reached
 *            MiniportCoSendNetBufferLists.
 *
 * The drivers keep one global state each: one runtime per process, one
 * tclient binding and one tmcm adapter at a time. Call the control
 * functions at PASSIVE_LEVEL from the test's own thread unless a comment
 * says otherwise. Structures whose fields are _Atomic may be read at any
 * time; the others only while the driver is quiet.
 *
 * Data layout of every NBL tclient sends: the first 8 bytes of the first
 * NET_BUFFER are { ULONG stream; ULONG seq; } (host byte order), so tmcm
 * can log (stream, seq) and a test can check per-stream FIFO order.
 */
#ifndef TDRIVERS_H
#define TDRIVERS_H

#include <stdatomic.h>
#include <stdbool.h>

#include <ndis.h>
#include <condis/host.h>

#define TDRV_AF CO_ADDRESS_FAMILY_PPP  /* the address family tmcm registers */
#define TDRV_AF_MAJOR 1
#define TDRV_WAIT_MS 10000             /* default bound of every tclient wait */
#define TDRV_TIMEOUT ((NDIS_STATUS)0xC00000B5L) /* STATUS_IO_TIMEOUT: a wait ran out */

/* A global event counter shared by both drivers: each recorded callback
 * takes the next number, so tests can compare the order of events. */
unsigned long tdrv_event(void);

/* ======================================================================
 * tclient
 * ====================================================================== */

/* Callbacks whose calls tclient records. */
enum tc_cb {
    TC_CB_SET_OPTIONS,
    TC_CB_BIND,
    TC_CB_UNBIND,
    TC_CB_OPEN_COMPLETE,   /* ProtocolOpenAdapterCompleteEx */
    TC_CB_CLOSE_COMPLETE,  /* ProtocolCloseAdapterCompleteEx */
    TC_CB_PNP,
    TC_CB_AF_NOTIFY,       /* ProtocolCoAfRegisterNotify */
    TC_CB_OPEN_AF_COMPLETE,
    TC_CB_CLOSE_AF_COMPLETE,
    TC_CB_NOTIFY_CLOSE_AF,
    TC_CB_CREATE_VC,       /* ProtocolCoCreateVc (VCs the MCM creates) */
    TC_CB_DELETE_VC,
    TC_CB_MAKE_CALL_COMPLETE,
    TC_CB_CLOSE_CALL_COMPLETE,
    TC_CB_INCOMING_CLOSE,
    TC_CB_SEND_COMPLETE,
    TC_CB_RECEIVE,
    TC_CB_STATUS,
    TC_CB_COUNT
};

struct tc_cb_rec {
    _Atomic unsigned long count;
    _Atomic unsigned irql_mask;      /* bit (1 << irql) for each IRQL seen */
    _Atomic unsigned long last_seq;  /* global event number of the last call */
};

struct tclient_config {
    bool pend_bind;          /* bind returns PENDING; a work item opens and calls
                                NdisCompleteBindAdapterEx */
    bool pend_unbind;        /* unbind returns PENDING; a work item tears down and
                                calls NdisCompleteUnbindAdapterEx */
    bool wait_open_in_bind;  /* a pended NdisOpenAdapterEx is waited for in the
                                bind handler with NdisWaitEvent (ndisprot style);
                                otherwise bind returns PENDING and the
                                open-complete handler completes the bind */
    bool wait_close_in_unbind; /* same for a pended NdisCloseAdapterEx */
    bool pend_notify_close_af; /* ProtocolClNotifyCloseAf returns PENDING; a work
                                  item closes everything and calls
                                  NdisClNotifyCloseAddressFamilyComplete */
    bool no_open_af_on_notify; /* do not open the AF from the notify handler */
    bool no_close_on_incoming_close; /* do not NdisClCloseCall from
                                        ProtocolClIncomingCloseCall */
    bool hold_receives;      /* keep indications (without RESOURCES) until
                                tclient_return_held */
    bool keep_completed;     /* keep completed NBLs (not freed) until
                                tclient_release_completed */
    ULONG payload;           /* bytes per sent NBL, >= 8; 0 means 64 */
};

struct tclient_vc {
    /* Set by tclient; stable while the VC lives. */
    NDIS_HANDLE ndis_vc;     /* NdisVcHandle (kept after deletion: a stale handle) */
    unsigned index;          /* creation order, from 0 */
    bool deleted;

    /* Call state. */
    NDIS_EVENT make_done, close_done;
    _Atomic NDIS_STATUS make_status, close_status;
    _Atomic bool call_up;
    CO_CALL_PARAMETERS params;
    CO_CALL_MANAGER_PARAMETERS cm_params;
    CO_MEDIA_PARAMETERS media_params;

    /* Sends. */
    _Atomic unsigned long sent;          /* NBLs handed to NdisCoSendNetBufferLists */
    _Atomic unsigned long completed;     /* pool NBLs back through send-complete */
    _Atomic unsigned long completed_ok;  /* ... with NDIS_STATUS_SUCCESS */
    _Atomic unsigned long completed_passive, completed_dispatch; /* IRQL seen */
    _Atomic unsigned long dup_completions;   /* an NBL that was not in flight */
    _Atomic unsigned long wrong_context;     /* ProtocolVcContext != the send's VC */
    _Atomic unsigned long flag_lies;         /* DISPATCH flag set below DISPATCH */
    _Atomic unsigned long flag_missing;      /* at DISPATCH without the flag */
    _Atomic unsigned long foreign_completed; /* NBLs not from tclient's pool */
    _Atomic NDIS_STATUS foreign_status;      /* status of the last of those */
    _Atomic unsigned long complete_calls;    /* send-complete invocations */
    _Atomic unsigned long max_chain;         /* longest chain in one invocation */
    _Atomic unsigned long last_complete_seq; /* event number of the last one */
    _Atomic unsigned long close_complete_seq; /* event number of close-call-complete */
    _Atomic long resend;                     /* resend this many from the
                                                completion handler */
    _Atomic unsigned long resent;
    _Atomic unsigned long alloc_failures;    /* pool (or memory) exhausted */
#define TC_NSTATUS 8
    struct { _Atomic NDIS_STATUS st; _Atomic unsigned long n; } status[TC_NSTATUS];

    /* Receives. */
    _Atomic unsigned long received, received_resources, rx_calls, rx_count_mismatch;
    _Atomic unsigned long rx_flag_lies, rx_flag_missing, rx_held, rx_returned;

    /* tclient's own. */
    NDIS_SPIN_LOCK lock;
    PNET_BUFFER_LIST held_head;      /* held receives */
    PNET_BUFFER_LIST *kept;          /* completed NBLs (keep_completed) */
    unsigned long kept_n, kept_cap;
    ULONG next_seq;                  /* tclient_send's seq for stream 0 */
    struct tclient_vc *next;
};

/* The whole client, for assertions. */
struct tclient_state {
    struct tclient_config cfg;
    NDIS_HANDLE protocol;            /* NdisProtocolHandle */
    struct tc_cb_rec cb[TC_CB_COUNT];
    _Atomic unsigned long flag_errors; /* other flag/IRQL inconsistencies */

    /* Binding (one at a time). */
    _Atomic int bound;               /* 1 after a successful bind, 0 after unbind */
    NDIS_HANDLE binding;             /* NdisBindingHandle */
    NDIS_HANDLE bind_context, unbind_context;
    NDIS_STATUS open_status;
    UINT medium_index;
    NDIS_EVENT open_done, close_done, bind_done;
    _Atomic NDIS_STATUS bind_status;
    NDIS_HANDLE pool;                /* NBL pool (fAllocateNetBuffer, DataSize 0) */

    /* Address family. */
    NDIS_HANDLE af;                  /* NdisAfHandle, NULL when not open */
    CO_ADDRESS_FAMILY af_seen;       /* the last AF notified */
    _Atomic int af_open;             /* 1 while open */
    NDIS_EVENT af_open_done, af_close_done, notify_done;
    _Atomic NDIS_STATUS af_open_status, af_close_status;
    _Atomic NDIS_STATUS notify_close_result; /* what tclient passed to
                                                NdisClNotifyCloseAddressFamilyComplete */
    _Atomic unsigned long incoming_close_status; /* CloseStatus of the last one */

    struct tclient_vc *vcs;          /* every VC created, newest first */
    unsigned nvcs;
    NDIS_SPIN_LOCK lock;
};
extern struct tclient_state tc;

/* DriverEntry of tclient; tclient_load calls it through condis. */
NTSTATUS tclient_driver_entry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);

/* Load tclient with cfg (NULL: defaults). Returns 0 or -errno. */
int tclient_load(const struct tclient_config *cfg, struct condis_driver **out);

/* Wait until the AF open that the notify handler started is done; returns
 * its status (TDRV_TIMEOUT when it did not finish within ms). */
NDIS_STATUS tclient_wait_af_open(unsigned ms);
/* Open the AF by hand (after no_open_af_on_notify). Returns what
 * NdisClOpenAddressFamilyEx returned; a non-PENDING status is also recorded
 * as the open's result (the client completes itself, as Windows says). */
NDIS_STATUS tclient_open_af(void);
/* NdisClCloseAddressFamily; returns its status. */
NDIS_STATUS tclient_close_af(void);
NDIS_STATUS tclient_wait_af_close(unsigned ms);
/* Wait for a pended ProtocolClNotifyCloseAf to be finished by tclient. */
NDIS_STATUS tclient_wait_notify_close(unsigned ms);

/* NdisCoCreateVc; NULL with *status set on failure. */
struct tclient_vc *tclient_create_vc(NDIS_STATUS *status);
/* NdisCoDeleteVc; on success the tclient_vc stays readable (deleted = true). */
NDIS_STATUS tclient_delete_vc(struct tclient_vc *vc);
/* NdisClMakeCall / NdisClCloseCall: return what NDIS returned; a final
 * status is also recorded as the result. */
NDIS_STATUS tclient_make_call(struct tclient_vc *vc);
NDIS_STATUS tclient_wait_make_call(struct tclient_vc *vc, unsigned ms);
NDIS_STATUS tclient_close_call(struct tclient_vc *vc);
NDIS_STATUS tclient_wait_close_call(struct tclient_vc *vc, unsigned ms);

/* Allocate count NBLs (stamped stream/seq from first_seq on), chain them in
 * chains of chain_len (0: one chain) and send each chain with
 * NdisCoSendNetBufferLists. SendFlags gets NDIS_SEND_FLAGS_DISPATCH_LEVEL
 * when called at DISPATCH_LEVEL. Any IRQL <= DISPATCH_LEVEL, any thread.
 * Returns how many NBLs were sent (fewer when the pool ran dry). */
unsigned tclient_send(struct tclient_vc *vc, unsigned count, ULONG stream, ULONG first_seq,
                      unsigned chain_len);
/* One pool NBL with payload bytes, stamped, SourceHandle set, not sent. */
PNET_BUFFER_LIST tclient_alloc_nbl(struct tclient_vc *vc, ULONG stream, ULONG seq);
/* Send a chain the test built (pool NBLs from tclient_alloc_nbl and others):
 * marks tclient's NBLs in flight, counts them, NdisCoSendNetBufferLists. */
void tclient_send_chain(struct tclient_vc *vc, PNET_BUFFER_LIST chain, ULONG SendFlags);
/* Free a pool NBL tclient_alloc_nbl made that was never sent (or that
 * NDIS refused without completing it). */
void tclient_free_nbl(PNET_BUFFER_LIST nbl);
/* Wait until completed >= sent on vc; false on timeout. */
bool tclient_wait_sends(struct tclient_vc *vc, unsigned ms);
/* How many completions carried status st. */
unsigned long tclient_status_count(struct tclient_vc *vc, NDIS_STATUS st);

/* Return held receives with NdisReturnNetBufferLists (at the caller's IRQL,
 * <= DISPATCH_LEVEL). Returns how many NBLs were returned. */
unsigned long tclient_return_held(struct tclient_vc *vc);
/* Free the NBLs kept by keep_completed. */
unsigned long tclient_release_completed(struct tclient_vc *vc);

/* ======================================================================
 * tmcm
 * ====================================================================== */

enum tmcm_mode {
    TMCM_INLINE = 0,   /* complete inside MiniportCoSendNetBufferLists */
    TMCM_HOLD,         /* keep until tmcm_flush */
    TMCM_DPC,          /* complete from the VC's DPC at DISPATCH_LEVEL */
};

enum tmcm_order { TMCM_FIFO = 0, TMCM_REVERSE, TMCM_SHUFFLE };

enum tmcm_batch {
    TMCM_COALESCE = 0, /* every NBL of a VC in one completion call */
    TMCM_SPLIT,        /* one NBL per completion call */
    TMCM_MIXED,        /* (tmcm_flush with vc NULL) NBLs of all VCs in one call */
};

/* Which control steps pend (bits). */
#define TMCM_PEND_OPEN_AF    0x01
#define TMCM_PEND_MAKE_CALL  0x02
#define TMCM_PEND_CLOSE_CALL 0x04
#define TMCM_PEND_CLOSE_AF   0x08
#define TMCM_PEND_PAUSE      0x10
#define TMCM_PEND_RESTART    0x20

enum tmcm_pend_by {
    TMCM_BY_TEST = 0,  /* the test calls tmcm_complete_* (pause and restart:
                          a work item, since the host thread waits for them) */
    TMCM_BY_WORKITEM,  /* an NDIS I/O work item (PASSIVE_LEVEL, condis worker) */
    TMCM_BY_DPC,       /* a DPC (DISPATCH_LEVEL); pause/restart by work item */
};

struct tmcm_config {
    enum tmcm_mode mode;
    bool split;              /* INLINE/DPC: one NBL per completion call */
    NDIS_STATUS send_status; /* status tmcm sets on every completed NBL */
    bool double_complete;    /* INLINE: complete every chain twice */
    unsigned pend;           /* TMCM_PEND_* */
    enum tmcm_pend_by pend_by;
    bool loopback;           /* indicate a copy of each sent NBL back on its VC */
    bool loopback_resources; /* ... with NDIS_RECEIVE_FLAGS_RESOURCES */
    ULONG log_capacity;      /* per-VC arrival log entries; 0 means 1 << 18 */
};

struct tmcm_rec {
    ULONG stream, seq;
};

struct tmcm_vc {
    NDIS_HANDLE ndis_vc;           /* NdisVcHandle */
    unsigned index;
    _Atomic bool deleted;
    _Atomic bool active;
    PCO_CALL_PARAMETERS make_params; /* of a pended make call */

    /* Arrival log: what reached MiniportCoSendNetBufferLists, in order. */
    struct tmcm_rec *log;
    _Atomic unsigned long logged;   /* entries written (<= log capacity) */
    _Atomic unsigned long arrived;  /* NBLs that arrived (may exceed the log) */
    _Atomic unsigned long send_calls;
    _Atomic unsigned long flag_lies, flag_missing; /* SendFlags vs IRQL */
    _Atomic unsigned long at_dispatch;             /* sends seen at DISPATCH_LEVEL */
    _Atomic unsigned long concurrent_sends;        /* MiniportCoSend entered twice at once */
    _Atomic int in_send;
    _Atomic unsigned long completed;               /* NBLs tmcm completed */
    _Atomic unsigned long indicated;               /* loopback receives indicated */

    NDIS_SPIN_LOCK lock;
    PNET_BUFFER_LIST held_head, held_tail; /* HOLD and DPC queues */
    unsigned long held_n;
    PNET_BUFFER_LIST last[64];     /* the last NBLs completed (double-complete) */
    unsigned last_n;
    KDPC dpc;
    KDPC op_dpc;                   /* pended make/close call completion */
    _Atomic int op_pending;        /* 0, TMCM_PEND_MAKE_CALL or _CLOSE_CALL */
    struct tmcm_vc *next;
};

struct tmcm_state {
    struct tmcm_config cfg;
    NDIS_HANDLE driver;            /* NdisMiniportDriverHandle */
    NDIS_HANDLE adapter;           /* MiniportAdapterHandle, NULL when halted */
    _Atomic int running;
    NDIS_HANDLE af;                /* NdisAfHandle of the open AF */
    _Atomic int af_open;
    _Atomic int op_pending;        /* TMCM_PEND_OPEN_AF / _CLOSE_AF in progress */
    KDPC op_dpc;
    NDIS_HANDLE rx_pool;
    struct tmcm_vc *vcs;           /* every VC ever created, newest first */
    unsigned nvcs;
    _Atomic unsigned long returned;  /* NBLs back via MiniportReturnNetBufferLists */
    _Atomic unsigned long notify_close_complete; /* CmNotifyCloseAfComplete calls */
    _Atomic NDIS_STATUS notify_close_status;
    _Atomic unsigned long pauses, restarts, halts, opens, closes;
    _Atomic unsigned long create_vcs, delete_vcs, make_calls, close_calls;
    NDIS_SPIN_LOCK lock;
};
extern struct tmcm_state tm;

NTSTATUS tmcm_driver_entry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);
/* Load tmcm with cfg (NULL: defaults). */
int tmcm_load(const struct tmcm_config *cfg, struct condis_driver **out);
/* Change knobs later (at a quiet moment, or only send_status/mode between
 * sends). */
void tmcm_set_send_status(NDIS_STATUS st);
void tmcm_set_mode(enum tmcm_mode mode, bool split);
void tmcm_set_pend(unsigned pend, enum tmcm_pend_by by);

/* The tmcm VC behind an NdisVcHandle (also after deletion, until halt). */
struct tmcm_vc *tmcm_vc_of(NDIS_HANDLE ndis_vc);

/* Complete held NBLs: of vc, or of every VC when vc is NULL, in the order
 * and batching asked for, with the configured send_status. Any IRQL <=
 * DISPATCH_LEVEL; the completion runs on the caller's thread. Returns the
 * number completed. */
unsigned long tmcm_flush(struct tmcm_vc *vc, enum tmcm_order order, enum tmcm_batch batch);
unsigned long tmcm_held(struct tmcm_vc *vc);
/* Complete again the last NBLs tmcm completed on vc (a miniport bug). */
void tmcm_complete_again(struct tmcm_vc *vc);

/* Finish pended control steps (for TMCM_BY_TEST). */
void tmcm_complete_open_af(NDIS_STATUS st);
void tmcm_complete_close_af(void);
void tmcm_complete_make_call(struct tmcm_vc *vc, NDIS_STATUS st);
void tmcm_complete_close_call(struct tmcm_vc *vc, NDIS_STATUS st);

/* NdisMCmNotifyCloseAddressFamily on the open AF; returns its status. */
NDIS_STATUS tmcm_notify_close_af(void);
/* NdisMCmDispatchIncomingCloseCall on vc. */
void tmcm_incoming_close(struct tmcm_vc *vc, NDIS_STATUS close_status);
/* Indicate count receives on vc (stream/seq stamped), with flags
 * (NDIS_RECEIVE_FLAGS_RESOURCES or 0; DISPATCH added at DISPATCH_LEVEL). */
unsigned tmcm_indicate(struct tmcm_vc *vc, unsigned count, ULONG stream, ULONG flags);

/* ======================================================================
 * Common set-ups
 * ====================================================================== */

struct tdrv_env {
    struct condis_driver *client, *mcm;
    struct condis_adapter *adapter;
};

/* Load tmcm and tclient, add an adapter, bind, and (unless the client does
 * not open the AF on notify) wait for the AF to be open. Returns 0 or -1
 * with a message on stderr. */
int tdrv_start(struct tdrv_env *env, const struct tclient_config *ccfg,
               const struct tmcm_config *mcfg);
/* VC + call on it; NULL on failure. */
struct tclient_vc *tdrv_vc_with_call(void);
/* Close the call (waiting), delete the VC. Returns 0 or -1. */
int tdrv_vc_teardown(struct tclient_vc *vc);

#endif /* TDRIVERS_H */
