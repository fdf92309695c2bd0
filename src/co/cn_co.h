/*
 * cn_co.h - condis' CoNDIS layer: drivers, adapters, bindings, address
 * families, VCs and calls, and the send / complete / receive path.
 *
 * Locking, from outer to inner (never the other way round):
 *   cn_rt.rt_lock   control plane: lists of drivers, adapters, bindings, AFs,
 *                   VCs and their state changes. Never held across a call
 *                   into a driver; never taken on the send/complete path.
 *   vc->vc_lock     one VC's send queue and state word. Never held across a
 *                   call into a driver.
 * The send/complete path takes only the VC lock of the VC it works on.
 */
#ifndef CN_CO_H
#define CN_CO_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <ndis.h>
#include <condis/host.h>

#include "../mem/cn_mem.h"
#include "../os/cn_os.h"
#include "../verify/cn_verify.h"

/* ---- a tiny spin lock for per-VC state (not exposed to drivers) -------- */
struct cn_spin {
    atomic_flag sp_flag;
};
#define CN_SPIN_INIT { ATOMIC_FLAG_INIT }
void cn_spin_lock_slow(struct cn_spin *s);
static inline void cn_spin_lock(struct cn_spin *s)
{
    if (__builtin_expect(atomic_flag_test_and_set_explicit(&s->sp_flag, memory_order_acquire), 0))
        cn_spin_lock_slow(s);
}
static inline void cn_spin_unlock(struct cn_spin *s)
{
    atomic_flag_clear_explicit(&s->sp_flag, memory_order_release);
}

/* ---- loaded driver images (what DriverEntry was called for) ------------ */
struct cn_driver;

struct condis_driver {
    LIST_ENTRY im_link;
    char *im_name;              /* kept until the runtime ends (owner names) */
    DRIVER_OBJECT im_object;
    UNICODE_STRING im_regpath;
    wchar_t *im_regpath_buf;
    struct cn_driver *im_protocol; /* registered protocol, if any */
    struct cn_driver *im_miniport; /* registered miniport, if any */
    bool im_loaded;             /* DriverEntry succeeded, not yet unloaded */
};

/* ---- registered drivers -------------------------------------------------- */
enum cn_drv_kind { CN_DRV_PROTOCOL = 1, CN_DRV_MINIPORT };

struct cn_driver {
    LIST_ENTRY drv_link;        /* cn_rt.rt_protocols or rt_miniports */
    enum cn_drv_kind drv_kind;
    struct condis_driver *drv_image;
    const char *drv_name;       /* == drv_image->im_name */
    NDIS_HANDLE drv_handle;     /* NdisProtocolHandle / NdisMiniportDriverHandle */
    NDIS_HANDLE drv_context;    /* ProtocolDriverContext / MiniportDriverContext */
    LIST_ENTRY drv_objs;        /* bindings (protocol) or adapters (miniport) */

    /* protocol */
    NDIS_PROTOCOL_DRIVER_CHARACTERISTICS drv_pchars;
    NDIS_PROTOCOL_CO_CHARACTERISTICS drv_pco;
    NDIS_CO_CLIENT_OPTIONAL_HANDLERS drv_cl;
    bool drv_has_pco, drv_has_cl;

    /* miniport */
    NDIS_MINIPORT_DRIVER_CHARACTERISTICS drv_mchars;
    NDIS_MINIPORT_CO_CHARACTERISTICS drv_mco;
    NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS drv_cm;
    bool drv_has_mco, drv_has_cm;
    /* Set by compat5 for an NDIS 5 call manager, NULL otherwise: when its
     * CmOpenAf pended, turns the context the completion carries into the
     * CallMgrAfContext co keeps (the wrapper compat5's handlers expect).
     * The completion may come before CmOpenAf has even returned. */
    NDIS_HANDLE (*drv_cm_af_complete_ctx)(NDIS_HANDLE NdisAfHandle, NDIS_HANDLE completed);
    /* Set by compat5 for an NDIS 5 miniport, NULL otherwise: the verifier
     * is taking nbl back from the miniport (OWN-6) and returns it to the
     * protocol next; whatever the miniport still holds of it (5.x packets)
     * must stop pointing at it. */
    void (*drv_send_reclaimed)(NDIS_HANDLE MiniportVcContext, PNET_BUFFER_LIST nbl);
};

/* ---- adapters (miniport instances) ---------------------------------------- */
enum cn_ad_state {
    CN_AD_INITIALIZING = 1,
    CN_AD_PAUSED,
    CN_AD_RESTARTING,
    CN_AD_RUNNING,
    CN_AD_PAUSING,
    CN_AD_HALTED,
};

struct condis_adapter {
    LIST_ENTRY ad_link;          /* cn_rt.rt_adapters */
    LIST_ENTRY ad_drv_link;      /* drv_objs of its miniport */
    struct cn_driver *ad_miniport;
    NDIS_HANDLE ad_handle;       /* MiniportAdapterHandle */
    NDIS_HANDLE ad_context;      /* MiniportAdapterContext */
    _Atomic int ad_state;        /* enum cn_ad_state */
    NDIS_MEDIUM ad_medium;
    bool ad_has_registration, ad_has_general;
    ULONG ad_attr_flags;
    NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES ad_general;
    char *ad_name;
    NDIS_STRING ad_wname;
    wchar_t *ad_wname_buf;
    NET_LUID ad_luid;
    ULONG ad_ifindex;
    LIST_ENTRY ad_bindings;      /* struct cn_binding.b_ad_link */
    LIST_ENTRY ad_afregs;        /* struct cn_afreg.ar_link */
    _Atomic long ad_rx_outstanding; /* indicated, not yet returned */
    NDIS_EVENT ad_pnp_done;      /* pause / restart completion */
    NDIS_STATUS ad_pnp_status;
};

/* An address family an MCM registered on one of its adapters. */
struct cn_afreg {
    LIST_ENTRY ar_link;
    struct condis_adapter *ar_adapter;
    CO_ADDRESS_FAMILY ar_af;
};

/* ---- bindings -------------------------------------------------------------- */
enum cn_b_state {
    CN_B_BINDING = 1,  /* inside ProtocolBindAdapterEx (NdisOpenAdapterEx legal) */
    CN_B_OPEN,         /* bound */
    CN_B_UNBINDING,    /* inside ProtocolUnbindAdapterEx */
    CN_B_CLOSED,       /* NdisCloseAdapterEx done */
    CN_B_FAILED,
};

struct cn_binding {
    LIST_ENTRY b_ad_link;          /* ad_bindings */
    LIST_ENTRY b_drv_link;         /* protocol's drv_objs */
    struct cn_driver *b_protocol;
    struct condis_adapter *b_adapter;
    NDIS_HANDLE b_handle;          /* NdisBindingHandle (live after open) */
    NDIS_HANDLE b_bind_context;    /* BindContext handle */
    NDIS_HANDLE b_unbind_context;  /* UnbindContext handle */
    NDIS_HANDLE b_context;         /* ProtocolBindingContext */
    int b_state;                   /* enum cn_b_state, under rt_lock */
    bool b_opened;                 /* NdisOpenAdapterEx succeeded */
    LIST_ENTRY b_afs;              /* struct cn_af.af_b_link */
    /* NdisOpenAdapterEx that pended: where its results go. Only the
     * variables the pointers name must outlive the call; the
     * NDIS_OPEN_PARAMETERS itself is often on the caller's stack. */
    PUINT b_open_selected;
    PNDIS_HANDLE b_open_out;
    UINT b_selected_medium;
    struct cn_work b_work;
    /* host waits */
    NDIS_EVENT b_bind_done;
    NDIS_STATUS b_bind_status;
    NDIS_EVENT b_unbind_done;
    NDIS_BIND_PARAMETERS b_bind_params;
    unsigned b_ordinal;            /* for the report */
    unsigned b_vcs;                /* VCs created on it so far */
    struct cn_bindrec *b_rec;      /* its statistics, made with its first VC */
};

/* ---- address families (a client's open of a registered AF) ------------- */
enum cn_af_state { CN_AF_OPENING = 1, CN_AF_OPEN, CN_AF_CLOSING, CN_AF_CLOSED };

struct cn_af {
    LIST_ENTRY af_b_link;          /* b_afs */
    struct cn_binding *af_binding;
    struct cn_afreg *af_reg;
    NDIS_HANDLE af_handle;         /* NdisAfHandle */
    NDIS_HANDLE af_client_context; /* ClientAfContext */
    NDIS_HANDLE af_cm_context;     /* CallMgrAfContext */
    /* The client's handlers for this AF and its VCs: the protocol's
     * NDIS_CO_CLIENT_OPTIONAL_HANDLERS for an NDIS 6 client, a table built
     * from NDIS_CLIENT_CHARACTERISTICS for an NDIS 5 one (compat5). */
    const NDIS_CO_CLIENT_OPTIONAL_HANDLERS *af_cl;
    int af_state;                  /* enum cn_af_state, under rt_lock */
    bool af_notify_pending;        /* ProtocolClNotifyCloseAf returned PENDING */
    PNDIS_HANDLE af_open_out;      /* client's NdisAfHandle, for a pended open */
    LIST_ENTRY af_vcs;             /* struct cn_vc.vc_af_link */
    struct cn_work af_work;
    NDIS_STATUS af_work_status;
};

/* ---- virtual connections --------------------------------------------------
 * VC memory is type-stable: a deleted VC goes back to a free list and is
 * never returned to malloc while the runtime lives, so a racing lookup of a
 * stale handle reads a valid struct whose vc_handle no longer matches.
 *
 * vc_flags (under vc_lock; read without it on the send path as a hint only):
 *   CN_VC_ACTIVE    set by NdisMCmActivateVc, cleared by NdisMCmDeactivateVc
 *                   and when a call finishes closing.
 *   CN_VC_CALL      set when a call is made or dispatched (the client may
 *                   send), cleared when the close completes.
 *   CN_VC_CLOSING   set by NdisClCloseCall, cleared when the close completes
 *                   or the call manager refuses it.
 *   CN_VC_MAKING    set by NdisClMakeCall, cleared when the call manager
 *                   answers (at once or by NdisCmMakeCallComplete).
 *   CN_VC_DELETED   set by NdisCoDeleteVc / NdisMCmDeleteVc.
 */
#define CN_VC_ACTIVE 0x1u
#define CN_VC_CALL 0x2u
#define CN_VC_CLOSING 0x4u
#define CN_VC_DELETED 0x8u
#define CN_VC_BY_CM 0x10u     /* created by the MCM (NdisMCmCreateVc) */
#define CN_VC_MAKING 0x20u    /* NdisClMakeCall pending at the call manager */

struct cn_vc {
    /* Read on every send and completion. */
    NDIS_HANDLE vc_handle;
    uint32_t vc_flags;
    struct cn_spin vc_lock;
    bool vc_draining;                 /* a thread is submitting the queue */
    struct cn_nbl *vc_q_head, *vc_q_tail; /* chains waiting to be submitted */
    _Atomic long vc_inflight;         /* NBLs submitted, not yet returned */
    /* NBLs submitted and not yet handed to the protocol's completion
     * handler. Unlike vc_inflight, which drops only once that handler has
     * returned, this is what the protocol itself can know is outstanding:
     * NdisClCloseCall's VC-2 check reads it. */
    _Atomic long vc_unreturned;
    MINIPORT_CO_SEND_NET_BUFFER_LISTS *vc_mp_send;
    NDIS_HANDLE vc_mp_context;        /* MiniportVcContext (the MCM's VC context) */
    PROTOCOL_CO_SEND_NET_BUFFER_LISTS_COMPLETE *vc_send_complete;
    PROTOCOL_CO_RECEIVE_NET_BUFFER_LISTS *vc_receive;
    NDIS_HANDLE vc_client_context;    /* ProtocolVcContext of the client */
    NDIS_HANDLE vc_binding_context;   /* ProtocolBindingContext of the client */
    const char *vc_client_name, *vc_mp_name;
    struct condis_adapter *vc_adapter;

    /* Control plane. */
    struct cn_af *vc_af;
    LIST_ENTRY vc_af_link;
    struct cn_vc *vc_free_next;
    NDIS_HANDLE vc_party;             /* NdisPartyHandle of a multipoint call */
    NDIS_HANDLE vc_cm_party;          /* CallMgrPartyContext */
    PCO_CALL_PARAMETERS vc_call_params;
    /* The handle of this VC while its call manager has finished closing
     * the call and the close waits for the last send completion; else 0.
     * Holding the handle, not a flag, lets a late completer of a VC that
     * was since deleted and reused never finish the new VC's close. */
    _Atomic uintptr_t vc_close_pending;
    NDIS_STATUS vc_close_status;
    /* With the verifier on: this close counts as condis waiting on the
     * miniport (cn_host_busy), so that the watchdog takes back sends it
     * never completes (OWN-6) and the close can finish. */
    _Atomic bool vc_drain_busy;

    struct cn_vcrec *vc_rec;          /* counters for the report (stats.c) */
};

/* ---- statistics (stats.c) -------------------------------------------------
 * One record per VC, kept after the VC is deleted until the runtime ends,
 * so that a run's report covers every VC, and one per binding that had a
 * VC. The send path adds to them per chain or per completion run (relaxed
 * atomics; the only contention is between completion threads of the same
 * VC or binding).
 *
 * Latency is measured from the NdisCoSendNetBufferLists call to the
 * ProtocolCoSendNetBufferListsComplete call, in CPU ticks. A VC keeps its
 * count, sum and maximum; its binding keeps the distribution, a histogram
 * with two buckets per power of two (within 25 %). A histogram per VC
 * would cost three times the rest of the VC: with 100,000 VCs, the
 * percentiles of one binding are what a report can use.
 */
#define CN_LAT_BUCKETS 96
#define CN_REC_STATUSES 6

/* What VCs carried, summed (not atomic: under rt_lock or a reader's own). */
struct cn_vcsum {
    unsigned long long sent, sent_bytes, completed, failed, refused, received, received_bytes;
    unsigned long long lat_n, lat_sum, lat_max; /* ticks */
};

struct cn_bindrec {
    LIST_ENTRY br_link;              /* cn_rt.rt_bindrecs */
    const char *br_protocol, *br_miniport;
    struct condis_driver *br_image;  /* the protocol's image */
    char br_adapter[48];
    unsigned br_binding;             /* the binding's ordinal in the run */
    /* Completions other than NDIS_STATUS_SUCCESS, by status; the rest of
     * the failures go to br_other_status. */
    struct {
        _Atomic int st_status;
        _Atomic unsigned long long st_count;
    } br_status[CN_REC_STATUSES];
    _Atomic unsigned long long br_other_status;
    _Atomic unsigned long long br_lat[CN_LAT_BUCKETS];
    /* VCs deleted long ago, whose records were folded into this one (under
     * rt_lock): how many, and what they carried. */
    unsigned br_folded;
    struct cn_vcsum br_fsum;
};

struct cn_vcrec {
    LIST_ENTRY r_link;               /* cn_rt.rt_vcrecs (self-linked if not listed) */
    LIST_ENTRY r_dead_link;          /* cn_rt.rt_deadrecs, once the VC is deleted */
    struct cn_bindrec *r_bind;
    unsigned r_vc;                   /* the VC's ordinal within its binding */
    bool r_live;
    uint64_t r_created_ns, r_deleted_ns;
    _Atomic unsigned long long r_sent, r_sent_bytes, r_completed, r_failed, r_refused,
        r_received, r_received_bytes;
    _Atomic unsigned long long r_lat_n, r_lat_sum, r_lat_max; /* ticks */
};

struct cn_vcrec *cn_stats_vc_new(struct cn_vc *vc, struct cn_binding *b);
void cn_stats_vc_deleted(struct cn_vcrec *r);
void cn_stats_vc_discard(struct cn_vcrec *r); /* the VC was never created */
void cn_stats_fini(void);
void cn_stats_count_status(struct cn_vcrec *r, NDIS_STATUS st, unsigned long n);

/* The latency of a run of n completions of one VC: their sum and maximum
 * in ticks. (Their histogram buckets go to r->r_bind->br_lat.) */
static inline void cn_stats_lat(struct cn_vcrec *r, unsigned long n, uint64_t sum, uint64_t max)
{
    atomic_fetch_add_explicit(&r->r_lat_n, n, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->r_lat_sum, sum, memory_order_relaxed);
    unsigned long long cur = atomic_load_explicit(&r->r_lat_max, memory_order_relaxed);
    while (max > cur && !atomic_compare_exchange_weak_explicit(&r->r_lat_max, &cur, max,
                                                               memory_order_relaxed,
                                                               memory_order_relaxed))
        ;
}

/* CPU ticks for latency (the time-stamp counter where there is one). */
static inline uint64_t cn_ticks(void)
{
    return cn_stamp();
}

static inline unsigned cn_lat_bucket(uint64_t ticks)
{
    if (ticks < 2)
        return 0;
    unsigned msb = 63u - (unsigned)__builtin_clzll(ticks);
    unsigned b = 2 * msb + (unsigned)((ticks >> (msb - 1)) & 1);
    return b < CN_LAT_BUCKETS ? b : CN_LAT_BUCKETS - 1;
}

/* ---- the runtime ----------------------------------------------------------- */
struct cn_rt {
    pthread_mutex_t rt_lock;
    bool rt_up;
    struct condis_options rt_opt;
    LIST_ENTRY rt_images, rt_protocols, rt_miniports, rt_adapters;
    struct condis_driver *rt_loading; /* image whose DriverEntry runs now */
    unsigned rt_next_ifindex;
    unsigned rt_next_binding;
    LIST_ENTRY rt_vcrecs;             /* struct cn_vcrec, every VC of the run */
    LIST_ENTRY rt_bindrecs;           /* struct cn_bindrec, every binding with a VC */
    LIST_ENTRY rt_deadrecs;           /* records of deleted VCs, oldest deletion first */
    unsigned long rt_ndead;           /* ... how many */
};
extern struct cn_rt cn_rt;

/* ---- internal functions ---------------------------------------------------- */
/* Call into a driver: set the DbgPrint identity, restore it afterwards. */
#define CN_CALL(name, expr)                                            \
    do {                                                               \
        const char *cn_prev_drv_ = cn_set_current_driver(name);        \
        if (CN_VERIFYING) {                                            \
            KIRQL cn_irql_ = cn_irql();                                \
            unsigned cn_locks_ = cn_spin_locks_held();                 \
            expr;                                                      \
            cn_verify_after_handler(name, #expr, cn_irql_, cn_locks_); \
        } else {                                                       \
            expr;                                                      \
        }                                                              \
        cn_set_current_driver(cn_prev_drv_);                           \
    } while (0)

struct cn_driver *cn_driver_from_handle(NDIS_HANDLE h, enum cn_drv_kind kind);
struct condis_driver *cn_image_from_object(PDRIVER_OBJECT obj);
void cn_driver_destroy(struct cn_driver *drv);

/* "VC 1 of binding 2 (cosend > sim0, handle ...)" for messages. */
const char *cn_vc_text(struct cn_vc *vc, char *buf, size_t len);
/* A VC handle that is not live: VC-4 when it is a deleted VC's, else a
 * warning. */
void cn_vc_bad_handle(NDIS_HANDLE h, const char *fn);
struct cn_binding *cn_binding_get(NDIS_HANDLE NdisBindingHandle);
void cn_binding_notify_afs(struct cn_binding *b);
int cn_binding_bind(struct cn_driver *proto, struct condis_adapter *ad);
int cn_binding_unbind(struct cn_binding *b);

void cn_adapter_afs_notify(struct condis_adapter *ad, struct cn_afreg *ar);

/* NdisClOpenAddressFamilyEx with the client's handler table given
 * explicitly (it must outlive the AF); NDIS 5 clients open AFs this way. */
NDIS_STATUS cn_af_open(NDIS_HANDLE NdisBindingHandle, PCO_ADDRESS_FAMILY AddressFamily,
                       NDIS_HANDLE ClientAfContext, const NDIS_CO_CLIENT_OPTIONAL_HANDLERS *cl,
                       PNDIS_HANDLE NdisAfHandle);
int cn_adapter_halt(struct condis_adapter *ad);

struct cn_vc *cn_vc_get(NDIS_HANDLE NdisVcHandle);
struct cn_vc *cn_vc_alloc(void);
void cn_vc_release(struct cn_vc *vc);
void cn_vc_fini(void);
/* Called on the completion path when vc_inflight reached zero. */
void cn_vc_drained(struct cn_vc *vc);
void cn_call_finish_close(struct cn_vc *vc, NDIS_STATUS status);

/* Complete NBLs that condis itself refuses, to the protocol of vc, with
 * status set on each; at the caller's IRQL. */
void cn_send_refuse(struct cn_vc *vc, PNET_BUFFER_LIST chain, NDIS_STATUS status);
/* The send path after its checks, for NBLs condis made and checked itself
 * (compat5's wrappers, verifier off): each NBL of the chain taken with
 * cn_send_take, n of them carrying bytes; the rest is NdisCoSendNetBufferLists'
 * (the VC's state, its queue, the miniport's call). false: the VC was
 * deleted under the caller's feet, and the chain is the caller's again,
 * untaken, each status CN_STATUS_INVALID_HANDLE; else every NBL comes back
 * through the VC's send-complete handler. */
static inline void cn_send_take(struct cn_nbl *c, struct cn_vc *vc, NDIS_HANDLE NdisVcHandle,
                                uint64_t now)
{
    atomic_store_explicit(&c->state, CN_NBL_SENDING, memory_order_relaxed);
    c->vc = vc;
    c->vc_handle = NdisVcHandle;
    c->t_submit = now;
}
bool cn_send_taken(struct cn_vc *vc, NDIS_HANDLE NdisVcHandle, PNET_BUFFER_LIST head,
                   unsigned long n, unsigned long bytes, ULONG SendFlags);
/* NdisCoSendNetBufferLists after its VC lookup and flag check, every check
 * of each NBL included, on vc (cn_vc_get(NdisVcHandle) of a moment ago).
 * Returns NULL when every NBL went to the miniport or was completed, or the
 * chain that stays with the caller, untaken, each status
 * CN_STATUS_INVALID_HANDLE, when the VC was deleted since its lookup. */
PNET_BUFFER_LIST cn_send_nbls(struct cn_vc *vc, NDIS_HANDLE NdisVcHandle, PNET_BUFFER_LIST NetBufferLists,
                              ULONG SendFlags);

/* Wait for an NDIS event from a host (non-driver) thread, bounded. */
bool cn_host_wait(PNDIS_EVENT ev, unsigned ms);
/* OWN-6 (verifier on): complete every send a miniport accepted at least
 * min_age_ns ago and still holds, to its protocol, with
 * NDIS_STATUS_REQUEST_ABORTED, reporting each. Returns how many. A host
 * thread at PASSIVE_LEVEL. */
size_t cn_send_reclaim(uint64_t min_age_ns);
/* Returns once no cn_send_reclaim is running (its completions may still be
 * inside a driver's handlers, or reading the driver's state after them). */
void cn_send_reclaim_quiesce(void);
/* The host is tearing something down (unbind, pause, halt, unload): with
 * the verifier on, a watchdog reclaims sends held too long meanwhile. */
void cn_host_busy(bool enter);

/* What a send on a handle that is not a live VC gets (the NTSTATUS; NDIS
 * has no NDIS_STATUS_ name for it). */
#define CN_STATUS_INVALID_HANDLE ((NDIS_STATUS)STATUS_INVALID_HANDLE)

/* Status names for messages. */
const char *cn_status_name(NDIS_STATUS s);

/* Warn once per (site) while letting the count grow. */
#define CN_WARN_ONCE(...)                                              \
    do {                                                               \
        static _Atomic int cn_once_;                                   \
        if (atomic_exchange_explicit(&cn_once_, 1, memory_order_relaxed) == 0) \
            cn_warn(__VA_ARGS__);                                      \
    } while (0)

#endif /* CN_CO_H */
