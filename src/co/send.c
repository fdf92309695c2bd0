/*
 * send.c - the CoNDIS send path: NdisCoSendNetBufferLists ->
 * MiniportCoSendNetBufferLists, and NdisMCoSendNetBufferListsComplete ->
 * ProtocolCoSendNetBufferListsComplete.
 *
 * Ownership (RULES.md OWN-1..OWN-7, NBL-1..NBL-3, VC-1):
 *   - NdisCoSendNetBufferLists takes every NBL of the chain from the
 *     protocol. Each comes back exactly once through the protocol's
 *     ProtocolCoSendNetBufferListsComplete, with NET_BUFFER_LIST_STATUS set:
 *     the miniport's status, or condis' own when it refuses the send
 *     (NDIS_STATUS_VC_NOT_ACTIVATED, NDIS_STATUS_CLOSING, NDIS_STATUS_PAUSED,
 *     NDIS_STATUS_INVALID_PARAMETER for an NBL that is not from a pool).
 *     A refusal is completed inside the send call, at the caller's IRQL.
 *     The one exception is a send on a handle that is not a live VC: there
 *     is no VC to complete it to, so the NBLs stay with the caller, their
 *     status set to CN_STATUS_INVALID_HANDLE, and condis warns.
 *   - The miniport owns the NBLs between MiniportCoSendNetBufferLists and
 *     its NdisMCoSendNetBufferListsComplete; it may complete them in any
 *     order, split or merged across sends, inline or from another thread.
 *   - Submission to the miniport is FIFO per VC, also with many threads
 *     sending on one VC: a sender appends its chain to the VC's queue, and
 *     whichever thread finds no submitter running becomes it and submits
 *     queued chains, in order, until the queue is empty. No lock is held
 *     while the miniport runs, so a miniport may complete inline and the
 *     protocol may send again from its completion handler: that nested send
 *     only queues, and the outer submitter sends it next.
 *   - Completion is routed by the VC recorded in each NBL's trailer at
 *     submission, never by the handle the miniport passes: each run of
 *     consecutive NBLs of one VC goes to that VC's protocol in one call.
 *
 * Cost: per chain, one VC handle lookup, two acquisitions of the VC's own
 * spin lock and a few relaxed counter updates; per run of NBLs of one pool,
 * one pool-handle lookup; per NBL, a compare with that handle and a few
 * stores into the NBL's trailer. No malloc, no global lock, and
 * nothing that grows with the number of VCs.
 */
#include <stdlib.h>

#include <time.h>

#include "cn_co.h"

static inline ULONG irql_flag(ULONG flags, ULONG dispatch_flag)
{
    /* The DISPATCH_LEVEL flag says what is true of the caller of the
     * handler: condis sets it exactly when it calls at DISPATCH_LEVEL. */
    flags &= ~dispatch_flag;
    if (cn_irql() == DISPATCH_LEVEL)
        flags |= dispatch_flag;
    return flags;
}

/* ---- the verifier's checks (only with the gate open) -------------------------- */

static const char *nbl_vc_text(PNET_BUFFER_LIST nbl, struct cn_vc *vc, char *buf, size_t len)
{
    char a[160], b[128];
    snprintf(buf, len, "%s, on %s", cn_nbl_text(nbl, a, sizeof(a)), cn_vc_text(vc, b, sizeof(b)));
    return buf;
}

/* An NBL the protocol hands to NdisCoSendNetBufferLists: NBL-4 and OWN-4
 * checks, the snapshot OWN-1 and OWN-7 compare against at completion, and
 * the in-flight status (OWN-2, NBL-3). False: condis refuses it (NBL-4). */
static __attribute__((noinline, cold)) bool verify_submit(struct cn_vc *vc, PNET_BUFFER_LIST nbl,
                                                           struct cn_nbl *c, uint64_t stamp,
                                                           uint64_t who)
{
    struct cn_vshadow *s = cn_vshadow_get(&c->vshadow);
    char obj[320];
    cn_nbl_verify_mp_fields(nbl, s, "NdisCoSendNetBufferLists");
    for (PNET_BUFFER nb = NET_BUFFER_LIST_FIRST_NB(nbl); nb; nb = NET_BUFFER_NEXT_NB(nb)) {
        const char *bad = cn_verify_nb_layout(nb);
        if (bad != NULL) {
            cn_violation(CN_NBL4, vc->vc_client_name, "NdisCoSendNetBufferLists",
                         nbl_vc_text(nbl, vc, obj, sizeof(obj)), s,
                         "NET_BUFFER %p: %s (DataOffset %u, DataLength %u, CurrentMdlOffset %u); "
                         "condis completes the NBL with NDIS_STATUS_INVALID_PARAMETER",
                         (void *)nb, bad, nb->DataOffset, nb->DataLength, nb->CurrentMdlOffset);
            return false;
        }
    }
    if (s != NULL) {
        struct cn_vsum sum;
        cn_vsum_nbl(nbl, &sum);
        s->vs_sum_list = sum.list;
        s->vs_sum_desc = sum.desc;
        s->vs_sum_data = sum.data;
        s->vs_submitter = vc->vc_client_name;
        cn_vhist_add_at(s, CN_EV_SEND, vc->vc_client_name, stamp, who);
    }
    NET_BUFFER_LIST_STATUS(nbl) = CN_VERIFY_POISON;
    return true;
}

/* An NBL the miniport completes (claimed, so it is this call's): NBL-3,
 * OWN-7 and OWN-1 against the snapshot taken at submit, then the snapshot
 * of the miniport's own fields for OWN-4. */
static __attribute__((noinline, cold)) void verify_complete(struct cn_vc *vc, PNET_BUFFER_LIST nbl,
                                                             struct cn_nbl *c, bool refused,
                                                             uint64_t stamp, uint64_t who)
{
    struct cn_vshadow *s = cn_vshadow_get(&c->vshadow);
    const char *mp = refused ? "condis" : cn_current_driver();
    cn_vhist_add_at(s, refused ? CN_EV_REFUSE : CN_EV_COMPLETE, mp, stamp, who);
    if (refused || s == NULL) {
        /* complete_run gives it back to the protocol next. */
        cn_vhist_add_at(s, CN_EV_RETURN, vc->vc_client_name, stamp, who);
        return;
    }
    char obj[320];
    NDIS_STATUS st = NET_BUFFER_LIST_STATUS(nbl);
    if (st == CN_VERIFY_POISON || st == NDIS_STATUS_PENDING) {
        cn_violation(CN_NBL3, mp, "NdisMCoSendNetBufferListsComplete",
                     nbl_vc_text(nbl, vc, obj, sizeof(obj)), s,
                     st == NDIS_STATUS_PENDING
                         ? "completed an NBL with NDIS_STATUS_PENDING; condis reports "
                           "NDIS_STATUS_FAILURE to the protocol"
                         : "completed an NBL without setting NET_BUFFER_LIST_STATUS; condis "
                           "reports NDIS_STATUS_FAILURE to the protocol");
        NET_BUFFER_LIST_STATUS(nbl) = NDIS_STATUS_FAILURE;
    }
    struct cn_vsum sum;
    cn_vsum_nbl(nbl, &sum);
    if (sum.list != s->vs_sum_list)
        cn_violation(CN_OWN7, mp, "NdisMCoSendNetBufferListsComplete",
                     nbl_vc_text(nbl, vc, obj, sizeof(obj)), s,
                     "the NBL's NET_BUFFER list is not the one it was sent with (NET_BUFFERs "
                     "added, removed or reordered)");
    else if (!(c->flags & CN_NBLF_WRAPPER) &&
             (sum.desc != s->vs_sum_desc || sum.data != s->vs_sum_data))
        cn_violation(CN_OWN1, s->vs_submitter, "NdisMCoSendNetBufferListsComplete",
                     nbl_vc_text(nbl, vc, obj, sizeof(obj)), s,
                     "the NBL's %s changed while it was in flight (between "
                     "NdisCoSendNetBufferLists and its completion)",
                     sum.desc != s->vs_sum_desc ? "NET_BUFFER fields or MDL chain" : "data");
    cn_vmp_keep(s, nbl->MiniportReserved);
    s->vs_completer = mp;
    s->vs_mp_valid = true;
    cn_vhist_add_at(s, CN_EV_RETURN, vc->vc_client_name, stamp, who);
}

void cn_send_refuse(struct cn_vc *vc, PNET_BUFFER_LIST chain, NDIS_STATUS status)
{
    unsigned long n = 0;
    for (PNET_BUFFER_LIST nbl = chain; nbl; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
        NET_BUFFER_LIST_STATUS(nbl) = status;
        if (CN_VERIFYING)
            cn_vhist_add(cn_nbl_shadow(nbl), CN_EV_REFUSE, "condis");
        n++;
    }
    atomic_fetch_add_explicit(&vc->vc_rec->r_refused, n, memory_order_relaxed);
    cn_stats_count_status(vc->vc_rec, status, n);
    ULONG flags = irql_flag(0, NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL);
    CN_CALL(vc->vc_client_name, vc->vc_send_complete(vc->vc_client_context, chain, flags));
}

/* Hand one queued chain to the miniport. The chain is the miniport's from
 * the call on: read everything needed before it. */
static inline void submit(struct cn_vc *vc, struct cn_nbl *c)
{
    ULONG flags = irql_flag(c->send_flags, NDIS_SEND_FLAGS_DISPATCH_LEVEL);
    if (CN_VERIFYING) {
        uint64_t stamp = cn_stamp(), who = cn_vhist_who();
        for (PNET_BUFFER_LIST nbl = &c->nbl; nbl; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl))
            cn_vhist_add_at(cn_vshadow_peek(&cn_nbl(nbl)->vshadow), CN_EV_ACCEPT, vc->vc_mp_name,
                            stamp, who);
    }
    CN_CALL(vc->vc_mp_name, vc->vc_mp_send(vc->vc_mp_context, &c->nbl, flags));
}

static void complete_chain(PNET_BUFFER_LIST NetBufferLists, ULONG flags, NDIS_HANDLE NdisVcHandle,
                           bool refused);

static void undo_sending(PNET_BUFFER_LIST chain)
{
    for (PNET_BUFFER_LIST nbl = chain; nbl; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl))
        atomic_store_explicit(&cn_nbl(nbl)->state, CN_NBL_IDLE, memory_order_relaxed);
}

VOID NdisCoSendNetBufferLists(NDIS_HANDLE NdisVcHandle, PNET_BUFFER_LIST NetBufferLists, ULONG SendFlags)
{
    if (NetBufferLists == NULL)
        return;
    struct cn_vc *vc = cn_vc_get(NdisVcHandle);
    if (__builtin_expect(vc == NULL, 0)) {
        for (PNET_BUFFER_LIST nbl = NetBufferLists; nbl; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl))
            NET_BUFFER_LIST_STATUS(nbl) = CN_STATUS_INVALID_HANDLE;
        if (cn_handle_was(NdisVcHandle, CN_H_VC)) {
            char obj[64];
            snprintf(obj, sizeof(obj), "VC handle %p", NdisVcHandle);
            cn_violation(CN_VC4, NULL, "NdisCoSendNetBufferLists", obj, NULL,
                         "sent on a VC that has been deleted; the NBLs stay with the caller, "
                         "their status NDIS_STATUS_INVALID_HANDLE");
        } else {
            cn_warn("%s: NdisCoSendNetBufferLists on %p, which is not a VC handle; the NBLs "
                    "stay with the caller", cn_current_driver(), NdisVcHandle);
        }
        return;
    }
    if ((SendFlags & NDIS_SEND_FLAGS_DISPATCH_LEVEL) && cn_irql() != DISPATCH_LEVEL) {
        char obj[320];
        cn_violation(CN_IRQL1, vc->vc_client_name, "NdisCoSendNetBufferLists",
                     nbl_vc_text(NetBufferLists, vc, obj, sizeof(obj)), NULL,
                     "NDIS_SEND_FLAGS_DISPATCH_LEVEL set below DISPATCH_LEVEL");
    }
    (void)cn_send_nbls(vc, NdisVcHandle, NetBufferLists, SendFlags);
}

PNET_BUFFER_LIST cn_send_nbls(struct cn_vc *vc, NDIS_HANDLE NdisVcHandle, PNET_BUFFER_LIST NetBufferLists,
                              ULONG SendFlags)
{
    /* Take the NBLs: mark each as sending and record its VC. NBLs condis
     * cannot take are set aside and completed with a failure. */
    PNET_BUFFER_LIST head = NULL, *tailp = &head, bad = NULL, *badp = &bad;
    unsigned long n = 0, bytes = 0;
    uint64_t now = cn_ticks(), who = CN_VERIFYING ? cn_vhist_who() : 0;
    struct cn_nbl_walk walk = { 0 };
    for (PNET_BUFFER_LIST nbl = NetBufferLists, next; nbl; nbl = next) {
        next = NET_BUFFER_LIST_NEXT_NBL(nbl);
        struct cn_nbl *c = cn_nbl_check_walk(&walk, nbl);
        if (__builtin_expect(c == NULL, 0)) {
            char obj[320];
            cn_violation(CN_NBL2, vc->vc_client_name, "NdisCoSendNetBufferLists",
                         nbl_vc_text(nbl, vc, obj, sizeof(obj)), NULL,
                         "sent an NBL that is not an allocated NBL of an NBL pool; condis "
                         "completes it with NDIS_STATUS_INVALID_PARAMETER");
            NET_BUFFER_LIST_NEXT_NBL(nbl) = NULL;
            *badp = nbl;
            badp = &NET_BUFFER_LIST_NEXT_NBL(nbl);
            continue;
        }
        if (__builtin_expect(atomic_load_explicit(&c->state, memory_order_relaxed) != CN_NBL_IDLE, 0)) {
            /* Still in flight (or indicated): it is not the caller's to send,
             * and it will come back through its first send. */
            char obj[320];
            nbl_vc_text(nbl, vc, obj, sizeof(obj));
            cn_violation(CN_OWN3, vc->vc_client_name, "NdisCoSendNetBufferLists", obj,
                         cn_nbl_shadow(nbl),
                         "sent an NBL again while it is still in flight; condis ignores the "
                         "second send");
            cn_verify_acted_early(cn_nbl_shadow(nbl), "NdisCoSendNetBufferLists", obj);
            continue;
        }
        if (__builtin_expect(nbl->SourceHandle != NdisVcHandle, 0)) {
            char obj[320];
            cn_violation(CN_NBL1, vc->vc_client_name, "NdisCoSendNetBufferLists",
                         nbl_vc_text(nbl, vc, obj, sizeof(obj)), cn_nbl_shadow(nbl),
                         "SourceHandle is %p, not the NdisVcHandle %p it is sent on",
                         nbl->SourceHandle, NdisVcHandle);
        }
        if (CN_VERIFYING && !verify_submit(vc, nbl, c, now, who)) {
            NET_BUFFER_LIST_NEXT_NBL(nbl) = NULL;
            *badp = nbl;
            badp = &NET_BUFFER_LIST_NEXT_NBL(nbl);
            continue;
        }
        cn_send_take(c, vc, NdisVcHandle, now);
        for (PNET_BUFFER nb = NET_BUFFER_LIST_FIRST_NB(nbl); nb; nb = NET_BUFFER_NEXT_NB(nb))
            bytes += NET_BUFFER_DATA_LENGTH(nb);
        *tailp = nbl;
        tailp = &NET_BUFFER_LIST_NEXT_NBL(nbl);
        n++;
    }
    *tailp = NULL;
    if (bad)
        cn_send_refuse(vc, bad, NDIS_STATUS_INVALID_PARAMETER);
    if (head != NULL && !cn_send_taken(vc, NdisVcHandle, head, n, bytes, SendFlags))
        return head;
    return NULL;
}

bool cn_send_taken(struct cn_vc *vc, NDIS_HANDLE NdisVcHandle, PNET_BUFFER_LIST head,
                   unsigned long n, unsigned long bytes, ULONG SendFlags)
{
    struct cn_nbl *c = cn_nbl(head);
    c->send_flags = SendFlags;
    c->chain_next = NULL;

    cn_spin_lock(&vc->vc_lock);
    uint32_t f = vc->vc_flags;
    NDIS_STATUS refuse = NDIS_STATUS_SUCCESS;
    if (__builtin_expect(vc->vc_handle != NdisVcHandle || (f & CN_VC_DELETED), 0))
        refuse = CN_STATUS_INVALID_HANDLE; /* deleted while we looked */
    else if (f & CN_VC_CLOSING)
        refuse = NDIS_STATUS_CLOSING;
    else if (!(f & CN_VC_ACTIVE))
        refuse = NDIS_STATUS_VC_NOT_ACTIVATED;
    else if (atomic_load_explicit(&vc->vc_adapter->ad_state, memory_order_relaxed) != CN_AD_RUNNING)
        refuse = NDIS_STATUS_PAUSED;
    if (__builtin_expect(refuse != NDIS_STATUS_SUCCESS, 0)) {
        cn_spin_unlock(&vc->vc_lock);
        undo_sending(head);
        if (refuse == CN_STATUS_INVALID_HANDLE) {
            for (PNET_BUFFER_LIST nbl = head; nbl; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl))
                NET_BUFFER_LIST_STATUS(nbl) = refuse;
            cn_warn("%s: a send raced with the deletion of its VC; what it sent "
                    "stays with the caller, marked STATUS_INVALID_HANDLE", vc->vc_client_name);
            return false;
        }
        if (refuse == NDIS_STATUS_VC_NOT_ACTIVATED || refuse == NDIS_STATUS_CLOSING) {
            char obj[128];
            cn_violation(CN_VC1, vc->vc_client_name, "NdisCoSendNetBufferLists",
                         cn_vc_text(vc, obj, sizeof(obj)), NULL,
                         "sent on a VC %s; condis completes the NBLs with %s",
                         refuse == NDIS_STATUS_CLOSING ? "whose call is closing"
                                                       : "without an active call",
                         condis_status_name(refuse));
        }
        cn_send_refuse(vc, head, refuse);
        return true;
    }
    atomic_fetch_add_explicit(&vc->vc_inflight, (long)n, memory_order_relaxed);
    atomic_fetch_add_explicit(&vc->vc_unreturned, (long)n, memory_order_relaxed);
    atomic_fetch_add_explicit(&vc->vc_rec->r_sent, n, memory_order_relaxed);
    atomic_fetch_add_explicit(&vc->vc_rec->r_sent_bytes, bytes, memory_order_relaxed);

    if (vc->vc_draining) {
        /* Another thread (or an outer frame of this one) is submitting:
         * queue behind what it has, and it will submit this too. */
        if (vc->vc_q_tail)
            vc->vc_q_tail->chain_next = c;
        else
            vc->vc_q_head = c;
        vc->vc_q_tail = c;
        cn_spin_unlock(&vc->vc_lock);
        return true;
    }
    vc->vc_draining = true;
    cn_spin_unlock(&vc->vc_lock);

    for (;;) {
        if (c != NULL)
            submit(vc, c);
        cn_spin_lock(&vc->vc_lock);
        c = vc->vc_q_head;
        if (c == NULL) {
            vc->vc_draining = false;
            cn_spin_unlock(&vc->vc_lock);
            return true;
        }
        vc->vc_q_head = c->chain_next;
        if (vc->vc_q_head == NULL)
            vc->vc_q_tail = NULL;
        f = vc->vc_flags;
        cn_spin_unlock(&vc->vc_lock);
        if (__builtin_expect(!(f & CN_VC_ACTIVE), 0)) {
            /* Queued while the VC was active, but the call manager has
             * deactivated it since: the miniport must not get it. condis
             * completes it itself, which also counts it out of the drain. */
            NDIS_STATUS st = (f & CN_VC_CLOSING) ? NDIS_STATUS_CLOSING : NDIS_STATUS_VC_NOT_ACTIVATED;
            for (PNET_BUFFER_LIST nbl = &c->nbl; nbl; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl))
                NET_BUFFER_LIST_STATUS(nbl) = st;
            complete_chain(&c->nbl, irql_flag(0, NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL),
                           NdisVcHandle, true);
            c = NULL;
        }
    }
}

/* Give a run of NBLs of one VC back to its protocol. refused: condis
 * completed them itself (they never reached the miniport). */
static inline void complete_run(struct cn_vc *vc, PNET_BUFFER_LIST head, unsigned long n,
                                unsigned long failed, ULONG flags, bool refused)
{
    struct cn_vcrec *r = vc->vc_rec;
    if (refused) {
        atomic_fetch_add_explicit(&r->r_refused, n, memory_order_relaxed);
    } else {
        atomic_fetch_add_explicit(&r->r_completed, n, memory_order_relaxed);
        if (failed)
            atomic_fetch_add_explicit(&r->r_failed, failed, memory_order_relaxed);
    }
    /* The VC cannot be deleted while these sends are outstanding, so its
     * handle read here names this VC, not a later one in the same memory. */
    uintptr_t h = (uintptr_t)vc->vc_handle;
    /* With the verifier on, each NBL's history got its "returned" event
     * from verify_complete (or, taken back, from send_reclaim). */
    /* The protocol owns these from the call on: it may close the call
     * inside its handler, or from a thread the handler wakes. */
    atomic_fetch_sub_explicit(&vc->vc_unreturned, (long)n, memory_order_relaxed);
    CN_CALL(vc->vc_client_name, vc->vc_send_complete(vc->vc_client_context, head, flags));
    /* Only now are these sends no longer outstanding: a closing call must
     * not finish before the protocol has its last NBL back. */
    if (atomic_fetch_sub(&vc->vc_inflight, (long)n) == (long)n &&
        atomic_load(&vc->vc_close_pending) == h) {
        uintptr_t expected = h;
        if (atomic_compare_exchange_strong(&vc->vc_close_pending, &expected, 0))
            cn_vc_drained(vc);
    }
}

/* Add a run of latency samples in one bucket to the VC's binding's
 * histogram. */
static inline void lat_flush(struct cn_vc *vc, unsigned bucket, uint32_t count)
{
    if (count)
        atomic_fetch_add_explicit(&vc->vc_rec->r_bind->br_lat[bucket], count,
                                  memory_order_relaxed);
}

/* Claim an NBL the miniport completes (its state was SENDING a moment
 * ago). With the verifier on, a compare-exchange: a miniport that completes
 * one NBL twice from two threads at once still has it delivered once
 * (OWN-5). Without it, a store: the load before it already stops every
 * second completion that comes after the first, and the locked instruction
 * per NBL was the largest single cost of the completion path. */
static inline bool claim(struct cn_nbl *c)
{
    if (CN_VERIFYING) {
        uint32_t sending = CN_NBL_SENDING;
        return atomic_compare_exchange_strong_explicit(&c->state, &sending, CN_NBL_IDLE,
                                                       memory_order_acq_rel,
                                                       memory_order_relaxed);
    }
    atomic_store_explicit(&c->state, CN_NBL_IDLE, memory_order_release);
    return true;
}

/* The completion path proper: claim each NBL that is in flight, and give
 * each run of one VC's NBLs back to that VC's protocol. */
static void complete_chain(PNET_BUFFER_LIST NetBufferLists, ULONG flags, NDIS_HANDLE NdisVcHandle,
                           bool refused)
{
    uint64_t now = cn_ticks(), who = CN_VERIFYING ? cn_vhist_who() : 0;
    struct cn_nbl_walk walk = { 0 };
    PNET_BUFFER_LIST nbl = NetBufferLists;
    while (nbl) {
        struct cn_vc *vc = NULL;
        PNET_BUFFER_LIST head = NULL, tail = NULL;
        unsigned long n = 0, failed = 0;
        /* Latency: NBLs sent by one call share their submit time, so it is
         * worked out once per such group (cur_*), and the histogram gets
         * one add per run of one bucket. */
        unsigned lat_bucket = 0;
        uint32_t lat_count = 0;
        uint64_t lat_sum = 0, lat_max = 0, cur_t = UINT64_MAX, cur_lat = 0;
        while (nbl) {
            PNET_BUFFER_LIST next = NET_BUFFER_LIST_NEXT_NBL(nbl);
            struct cn_nbl *c = cn_nbl_check_walk(&walk, nbl);
            if (__builtin_expect(c == NULL ||
                                     atomic_load_explicit(&c->state, memory_order_relaxed) !=
                                         CN_NBL_SENDING, 0)) {
                /* Never sent, or completed already: not delivered again. */
                char obj[160];
                cn_violation(CN_OWN5, NULL, "NdisMCoSendNetBufferListsComplete",
                             cn_nbl_text(nbl, obj, sizeof(obj)), c ? cn_nbl_shadow(nbl) : NULL,
                             c == NULL ? "completed an NBL that is not an allocated NBL of any "
                                         "pool; condis drops it and the rest of the chain"
                                       : "completed an NBL that is not in flight (completed "
                                         "already, or never sent); condis drops it and the rest "
                                         "of the chain");
                /* Its Next link is not the miniport's to give: it may run
                 * into the protocol's own lists. Whatever followed it and
                 * was in flight is taken back later (OWN-6). */
                nbl = NULL;
                break;
            }
            if (vc != NULL && c->vc != vc)
                break; /* the next run starts here */
            if (__builtin_expect(!claim(c), 0)) {
                char obj[160];
                cn_violation(CN_OWN5, NULL, "NdisMCoSendNetBufferListsComplete",
                             cn_nbl_text(nbl, obj, sizeof(obj)), cn_nbl_shadow(nbl),
                             "completed an NBL that another thread is completing at the same "
                             "time; condis delivers it once and drops the rest of this chain");
                nbl = NULL;
                break;
            }
            vc = c->vc;
            if (__builtin_expect(c->vc_handle != NdisVcHandle, 0)) {
                char obj[320];
                cn_violation(CN_OWN5, vc->vc_mp_name, "NdisMCoSendNetBufferListsComplete",
                             nbl_vc_text(nbl, vc, obj, sizeof(obj)), cn_nbl_shadow(nbl),
                             "completed an NBL with NdisVcHandle %p, but it was sent on %p; "
                             "condis returns it to the VC it was sent on",
                             NdisVcHandle, c->vc_handle);
            }
            if (CN_VERIFYING)
                verify_complete(vc, nbl, c, refused, now, who);
            NDIS_STATUS st = NET_BUFFER_LIST_STATUS(nbl);
            if (__builtin_expect(st != NDIS_STATUS_SUCCESS, 0)) {
                if (st == NDIS_STATUS_PENDING) {
                    char obj[320];
                    cn_violation(CN_NBL3, vc->vc_mp_name, "NdisMCoSendNetBufferListsComplete",
                                 nbl_vc_text(nbl, vc, obj, sizeof(obj)), NULL,
                                 "completed an NBL with NDIS_STATUS_PENDING; condis reports "
                                 "NDIS_STATUS_FAILURE");
                    st = NET_BUFFER_LIST_STATUS(nbl) = NDIS_STATUS_FAILURE;
                }
                cn_stats_count_status(vc->vc_rec, st, 1);
                failed++;
            }
            if (c->t_submit != cur_t) {
                /* now was read before this NBL was claimed: with counters
                 * not quite in step across CPUs it may be a little behind. */
                cur_t = c->t_submit;
                cur_lat = now > cur_t ? now - cur_t : 0;
                lat_max = cur_lat > lat_max ? cur_lat : lat_max;
                unsigned b = cn_lat_bucket(cur_lat);
                if (b != lat_bucket) {
                    lat_flush(vc, lat_bucket, lat_count);
                    lat_bucket = b;
                    lat_count = 0;
                }
            }
            lat_sum += cur_lat;
            lat_count++;
            if (tail)
                NET_BUFFER_LIST_NEXT_NBL(tail) = nbl;
            else
                head = nbl;
            tail = nbl;
            n++;
            nbl = next;
        }
        if (n) {
            NET_BUFFER_LIST_NEXT_NBL(tail) = NULL;
            lat_flush(vc, lat_bucket, lat_count);
            cn_stats_lat(vc->vc_rec, n, lat_sum, lat_max);
            complete_run(vc, head, n, failed, flags, refused);
        }
    }
}

VOID NdisMCoSendNetBufferListsComplete(NDIS_HANDLE NdisVcHandle, PNET_BUFFER_LIST NetBufferLists,
                                       ULONG SendCompleteFlags)
{
    ULONG flags = SendCompleteFlags;
    if (__builtin_expect((flags & NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL) &&
                             cn_irql() != DISPATCH_LEVEL, 0)) {
        char obj[320];
        struct cn_vc *vc = cn_vc_get(NdisVcHandle);
        cn_violation(CN_IRQL1, NULL, "NdisMCoSendNetBufferListsComplete",
                     vc ? nbl_vc_text(NetBufferLists, vc, obj, sizeof(obj))
                        : cn_nbl_text(NetBufferLists, obj, sizeof(obj)),
                     NULL,
                     "NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL set below DISPATCH_LEVEL; condis "
                     "clears it");
        flags &= ~(ULONG)NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL;
    }
    complete_chain(NetBufferLists, flags, NdisVcHandle, false);
}

/* ---- OWN-6: sends a miniport never completed ------------------------------------- */

struct reclaim {
    uint64_t r_now, r_min_age;
    struct cn_nbl **r_v;
    size_t r_n, r_cap;
};

/* One descriptor of an NBL pool: claim it if the miniport accepted it long
 * enough ago and still has it. Pool lock held: only collect here. */
static void reclaim_one(struct cn_pool *p, void *elem, void *arg)
{
    (void)p;
    struct reclaim *r = arg;
    struct cn_nbl *c = elem;
    if (__atomic_load_n(&c->cookie, __ATOMIC_RELAXED) != CN_NBL_COOKIE ||
        atomic_load_explicit(&c->state, memory_order_acquire) != CN_NBL_SENDING)
        return;
    struct cn_vshadow *s = cn_vshadow_peek(&c->vshadow);
    if (s == NULL)
        return;
    /* Only what reached the miniport: an NBL still queued for submission
     * is condis' to send, not the miniport's to complete. */
    struct cn_vevent ev[CN_VHIST];
    unsigned n = cn_vhist_copy(s, ev);
    if (n == 0 || ev[n - 1].ve_kind != CN_EV_ACCEPT ||
        r->r_now - cn_stamp_ns(ev[n - 1].ve_t) < r->r_min_age)
        return;
    if (r->r_n == r->r_cap) {
        size_t cap = r->r_cap ? r->r_cap * 2 : 64;
        struct cn_nbl **v = realloc(r->r_v, cap * sizeof(*v));
        if (v == NULL)
            return;
        r->r_v = v;
        r->r_cap = cap;
    }
    uint32_t sending = CN_NBL_SENDING;
    if (atomic_compare_exchange_strong(&c->state, &sending, CN_NBL_IDLE))
        r->r_v[r->r_n++] = c;
}

static void reclaim_pool(struct cn_pool *p, void *arg)
{
    cn_pool_each(p, reclaim_one, arg);
}

/* Reclaims under way: a driver is not freed while one still runs in its
 * handlers (cn_send_reclaim_quiesce). */
static _Atomic unsigned reclaiming;

void cn_send_reclaim_quiesce(void)
{
    while (atomic_load(&reclaiming) != 0) {
        struct timespec ts = { 0, 100 * 1000 };
        nanosleep(&ts, NULL);
    }
}

static size_t send_reclaim(uint64_t min_age_ns);

size_t cn_send_reclaim(uint64_t min_age_ns)
{
    if (!CN_VERIFYING)
        return 0;
    atomic_fetch_add(&reclaiming, 1);
    size_t n = send_reclaim(min_age_ns);
    atomic_fetch_sub(&reclaiming, 1);
    return n;
}

static size_t send_reclaim(uint64_t min_age_ns)
{
    struct reclaim r = { .r_now = cn_now_ns(), .r_min_age = min_age_ns };
    cn_mem_each_pool(CN_POOL_NBL, reclaim_pool, &r);
    for (size_t i = 0; i < r.r_n; i++) {
        struct cn_nbl *c = r.r_v[i];
        struct cn_vc *vc = c->vc;
        PNET_BUFFER_LIST nbl = &c->nbl;
        struct cn_vshadow *s = cn_vshadow_peek(&c->vshadow);
        struct cn_vevent ev[CN_VHIST];
        unsigned n = cn_vhist_copy(s, ev);
        double age = n ? (double)(int64_t)(r.r_now - cn_stamp_ns(ev[n - 1].ve_t)) / 1e9 : 0.0;
        char obj[320];
        cn_violation(CN_OWN6, vc->vc_mp_name, "(condis waiting for the miniport)",
                     nbl_vc_text(nbl, vc, obj, sizeof(obj)), s,
                     "accepted an NBL %.3f s ago and never completed it; condis completes it "
                     "to the protocol with NDIS_STATUS_REQUEST_ABORTED so that the run can end",
                     age);
        cn_vhist_add(s, CN_EV_RECLAIM, "condis");
        cn_vhist_add(s, CN_EV_RETURN, vc->vc_client_name);
        struct cn_driver *mp = vc->vc_adapter ? vc->vc_adapter->ad_miniport : NULL;
        if (mp != NULL && mp->drv_send_reclaimed != NULL)
            mp->drv_send_reclaimed(vc->vc_mp_context, nbl);
        /* The miniport may still hold it in its own queue through the
         * link; the protocol owns it from here on. */
        NET_BUFFER_LIST_NEXT_NBL(nbl) = NULL;
        NET_BUFFER_LIST_STATUS(nbl) = NDIS_STATUS_REQUEST_ABORTED;
        cn_stats_count_status(vc->vc_rec, NDIS_STATUS_REQUEST_ABORTED, 1);
        complete_run(vc, nbl, 1, 0, irql_flag(0, NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL), true);
    }
    free(r.r_v);
    return r.r_n;
}
