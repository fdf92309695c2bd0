/*
 * tclient.c - a test CoNDIS 6 client (see tdrivers.h).
 *
 * Written against <ndis.h> like any protocol driver: it registers with
 * NdisRegisterProtocolDriver, gives its CoNDIS tables to
 * NdisSetOptionalHandlers from ProtocolSetOptions, binds with
 * NdisOpenAdapterEx, opens the address family from
 * ProtocolCoAfRegisterNotify, and sends NBLs it allocates from its own pool
 * over buffers it describes with NdisAllocateMdl.
 *
 * Every NBL tclient sends carries, in ProtocolReserved, the VC it was sent
 * on, its state (in flight / back) and a magic value; the send-complete
 * handler checks each NBL against them, so a wrong ProtocolVcContext or a
 * second completion is counted, not trusted.
 */
#include <string.h>

#include "tdrivers.h"

struct tclient_state tc;
_Atomic unsigned long tdrv_seq;

#define TC_TAG 'ltCT'
#define TC_MAGIC ((PVOID)(ULONG_PTR)0x7c11e47cUL)
#define TC_INFLIGHT ((PVOID)(ULONG_PTR)1)
#define TC_BACK ((PVOID)(ULONG_PTR)2)
#define TC_KEEP_CAP 4096

/* What the test thread told the bind/unbind paths to do with a pended
 * open or close: wait for it, or finish the bind/unbind from its handler. */
enum { TC_OPEN_WAIT = 1, TC_OPEN_FINISH_BIND };
static _Atomic int open_mode, close_mode;
static _Atomic int notify_after_close_af; /* notify-close-AF finishes with close-AF */

unsigned long tdrv_event(void)
{
    return atomic_fetch_add(&tdrv_seq, 1) + 1;
}

static void rec(enum tc_cb cb)
{
    KIRQL irql = KeGetCurrentIrql();
    atomic_fetch_add(&tc.cb[cb].count, 1);
    atomic_fetch_or(&tc.cb[cb].irql_mask, 1u << irql);
    atomic_store(&tc.cb[cb].last_seq, tdrv_event());
}

static void count_status(struct tclient_vc *vc, NDIS_STATUS st)
{
    for (int i = 0; i < TC_NSTATUS; i++) {
        NDIS_STATUS cur = atomic_load(&vc->status[i].st);
        unsigned long n = atomic_load(&vc->status[i].n);
        if (n != 0 && cur == st) {
            atomic_fetch_add(&vc->status[i].n, 1);
            return;
        }
        if (n == 0) {
            /* Claim an empty slot; the VC's lock keeps two claimers apart. */
            NdisAcquireSpinLock(&vc->lock);
            if (atomic_load(&vc->status[i].n) == 0) {
                atomic_store(&vc->status[i].st, st);
                atomic_store(&vc->status[i].n, 1);
                NdisReleaseSpinLock(&vc->lock);
                return;
            }
            NdisReleaseSpinLock(&vc->lock);
            i--; /* look at the slot again: someone filled it */
        }
    }
}

unsigned long tclient_status_count(struct tclient_vc *vc, NDIS_STATUS st)
{
    for (int i = 0; i < TC_NSTATUS; i++)
        if (atomic_load(&vc->status[i].n) != 0 && atomic_load(&vc->status[i].st) == st)
            return atomic_load(&vc->status[i].n);
    return 0;
}

static ULONG payload(void)
{
    return tc.cfg.payload >= 8 ? tc.cfg.payload : 64;
}

/* ---- NBLs ------------------------------------------------------------------ */

PNET_BUFFER_LIST tclient_alloc_nbl(struct tclient_vc *vc, ULONG stream, ULONG seq)
{
    ULONG len = payload();
    PUCHAR buf = NdisAllocateMemoryWithTagPriority(tc.protocol, len, TC_TAG, NormalPoolPriority);
    if (buf == NULL)
        return NULL;
    memset(buf, 0, len);
    memcpy(buf, &stream, sizeof(stream));
    memcpy(buf + 4, &seq, sizeof(seq));
    PMDL mdl = NdisAllocateMdl(tc.protocol, buf, len);
    if (mdl == NULL) {
        NdisFreeMemory(buf, len, 0);
        return NULL;
    }
    PNET_BUFFER_LIST nbl = NdisAllocateNetBufferAndNetBufferList(tc.pool, 0, 0, mdl, 0, len);
    if (nbl == NULL) {
        NdisFreeMdl(mdl);
        NdisFreeMemory(buf, len, 0);
        return NULL;
    }
    nbl->SourceHandle = vc->ndis_vc;
    nbl->ProtocolReserved[0] = vc;
    nbl->ProtocolReserved[1] = TC_BACK;
    nbl->ProtocolReserved[2] = TC_MAGIC;
    return nbl;
}

void tclient_free_nbl(PNET_BUFFER_LIST nbl)
{
    PMDL mdl = NET_BUFFER_FIRST_MDL(NET_BUFFER_LIST_FIRST_NB(nbl));
    PVOID buf = MmGetMdlVirtualAddress(mdl);
    nbl->ProtocolReserved[2] = NULL;
    NdisFreeNetBufferList(nbl);
    NdisFreeMdl(mdl);
    NdisFreeMemory(buf, payload(), 0);
}

void tclient_send_chain(struct tclient_vc *vc, PNET_BUFFER_LIST chain, ULONG SendFlags)
{
    unsigned long n = 0;
    for (PNET_BUFFER_LIST nbl = chain; nbl; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl))
        if (nbl->ProtocolReserved[2] == TC_MAGIC) {
            nbl->ProtocolReserved[0] = vc;
            nbl->ProtocolReserved[1] = TC_INFLIGHT;
            n++;
        }
    /* Counted before the call: the completion may come inside it. */
    atomic_fetch_add(&vc->sent, n);
    NdisCoSendNetBufferLists(vc->ndis_vc, chain, SendFlags);
}

static ULONG send_flags_now(void)
{
    return KeGetCurrentIrql() == DISPATCH_LEVEL ? NDIS_SEND_FLAGS_DISPATCH_LEVEL : 0;
}

unsigned tclient_send(struct tclient_vc *vc, unsigned count, ULONG stream, ULONG first_seq,
                      unsigned chain_len)
{
    unsigned sent = 0;
    if (chain_len == 0)
        chain_len = count;
    while (sent < count) {
        PNET_BUFFER_LIST head = NULL, tail = NULL;
        unsigned k = 0;
        for (; k < chain_len && sent + k < count; k++) {
            PNET_BUFFER_LIST nbl = tclient_alloc_nbl(vc, stream, first_seq + sent + k);
            if (nbl == NULL) {
                atomic_fetch_add(&vc->alloc_failures, 1);
                break;
            }
            if (tail)
                NET_BUFFER_LIST_NEXT_NBL(tail) = nbl;
            else
                head = nbl;
            tail = nbl;
        }
        if (head)
            tclient_send_chain(vc, head, send_flags_now());
        sent += k;
        if (k < chain_len && sent < count)
            break; /* the pool ran dry: send what we have, report the rest */
    }
    return sent;
}

bool tclient_wait_sends(struct tclient_vc *vc, unsigned ms)
{
    for (unsigned waited = 0;; waited++) {
        if (atomic_load(&vc->completed) >= atomic_load(&vc->sent))
            return true;
        if (waited >= ms * 10)
            return false;
        NdisMSleep(100);
    }
}

/* Keep an NBL aside (keep_completed); false when there is no room. */
static bool keep(struct tclient_vc *vc, PNET_BUFFER_LIST nbl)
{
    bool ok = false;
    NdisAcquireSpinLock(&vc->lock);
    if (vc->kept && vc->kept_n < vc->kept_cap) {
        vc->kept[vc->kept_n++] = nbl;
        ok = true;
    }
    NdisReleaseSpinLock(&vc->lock);
    return ok;
}

unsigned long tclient_release_completed(struct tclient_vc *vc)
{
    unsigned long n = 0;
    for (;;) {
        PNET_BUFFER_LIST nbl = NULL;
        NdisAcquireSpinLock(&vc->lock);
        if (vc->kept_n)
            nbl = vc->kept[--vc->kept_n];
        NdisReleaseSpinLock(&vc->lock);
        if (nbl == NULL)
            return n;
        tclient_free_nbl(nbl);
        n++;
    }
}

static PROTOCOL_CO_SEND_NET_BUFFER_LISTS_COMPLETE TcSendComplete;
static VOID TcSendComplete(NDIS_HANDLE ProtocolVcContext, PNET_BUFFER_LIST NetBufferLists,
                           ULONG SendCompleteFlags)
{
    struct tclient_vc *vc = ProtocolVcContext;
    KIRQL irql = KeGetCurrentIrql();
    rec(TC_CB_SEND_COMPLETE);
    bool flag = (SendCompleteFlags & NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL) != 0;
    if (flag && irql != DISPATCH_LEVEL)
        atomic_fetch_add(&vc->flag_lies, 1);
    if (!flag && irql == DISPATCH_LEVEL)
        atomic_fetch_add(&vc->flag_missing, 1);
    atomic_fetch_add(&vc->complete_calls, 1);

    unsigned long n = 0, resend = 0;
    for (PNET_BUFFER_LIST nbl = NetBufferLists, next; nbl; nbl = next) {
        next = NET_BUFFER_LIST_NEXT_NBL(nbl);
        NET_BUFFER_LIST_NEXT_NBL(nbl) = NULL;
        n++;
        NDIS_STATUS st = NET_BUFFER_LIST_STATUS(nbl);
        if (nbl->ProtocolReserved[2] != TC_MAGIC) {
            /* Not one of ours: a foreign NBL a test slipped into a chain. */
            atomic_store(&vc->foreign_status, st);
            atomic_fetch_add(&vc->foreign_completed, 1);
            continue;
        }
        if (nbl->ProtocolReserved[0] != vc)
            atomic_fetch_add(&vc->wrong_context, 1);
        if (nbl->ProtocolReserved[1] != TC_INFLIGHT) {
            atomic_fetch_add(&vc->dup_completions, 1);
            continue; /* not ours to free again */
        }
        nbl->ProtocolReserved[1] = TC_BACK;
        count_status(vc, st);
        if (st == NDIS_STATUS_SUCCESS)
            atomic_fetch_add(&vc->completed_ok, 1);
        if (irql == DISPATCH_LEVEL)
            atomic_fetch_add(&vc->completed_dispatch, 1);
        else
            atomic_fetch_add(&vc->completed_passive, 1);
        if (!(tc.cfg.keep_completed && keep(vc, nbl)))
            tclient_free_nbl(nbl);
        /* Counted after the free, so a test that sees every send back also
         * finds every descriptor back in the pool. */
        atomic_fetch_add(&vc->completed, 1);
        long r = atomic_load(&vc->resend);
        while (r > 0 && !atomic_compare_exchange_weak(&vc->resend, &r, r - 1))
            ;
        if (r > 0)
            resend++;
    }
    unsigned long m = atomic_load(&vc->max_chain);
    while (n > m && !atomic_compare_exchange_weak(&vc->max_chain, &m, n))
        ;
    /* Resend from inside the completion handler, as protocols that recycle
     * their NBLs do; with an inline-completing miniport this nests. */
    for (unsigned long i = 0; i < resend; i++) {
        unsigned long seq = atomic_fetch_add(&vc->resent, 1);
        if (tclient_send(vc, 1, 0, (ULONG)(1000000 + seq), 1) != 1)
            atomic_fetch_add(&vc->resend, 1);
    }
    atomic_store(&vc->last_complete_seq, tdrv_event());
}

/* ---- receive ------------------------------------------------------------------- */

static PROTOCOL_CO_RECEIVE_NET_BUFFER_LISTS TcReceive;
static VOID TcReceive(NDIS_HANDLE ProtocolBindingContext, NDIS_HANDLE ProtocolVcContext,
                      PNET_BUFFER_LIST NetBufferLists, ULONG NumberOfNetBufferLists,
                      ULONG ReceiveFlags)
{
    struct tclient_vc *vc = ProtocolVcContext;
    KIRQL irql = KeGetCurrentIrql();
    rec(TC_CB_RECEIVE);
    if (ProtocolBindingContext != &tc)
        atomic_fetch_add(&tc.flag_errors, 1);
    atomic_fetch_add(&vc->rx_calls, 1);
    bool flag = (ReceiveFlags & NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL) != 0;
    if (flag && irql != DISPATCH_LEVEL)
        atomic_fetch_add(&vc->rx_flag_lies, 1);
    if (!flag && irql == DISPATCH_LEVEL)
        atomic_fetch_add(&vc->rx_flag_missing, 1);
    unsigned long n = 0;
    PNET_BUFFER_LIST tail = NULL;
    for (PNET_BUFFER_LIST nbl = NetBufferLists; nbl; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
        tail = nbl;
        n++;
    }
    if (n != NumberOfNetBufferLists)
        atomic_fetch_add(&vc->rx_count_mismatch, 1);
    atomic_fetch_add(&vc->received, n);
    if (ReceiveFlags & NDIS_RECEIVE_FLAGS_RESOURCES) {
        /* Ours only for the duration of the call: nothing to keep. */
        atomic_fetch_add(&vc->received_resources, n);
        return;
    }
    if (tc.cfg.hold_receives) {
        NdisAcquireSpinLock(&vc->lock);
        NET_BUFFER_LIST_NEXT_NBL(tail) = vc->held_head;
        vc->held_head = NetBufferLists;
        NdisReleaseSpinLock(&vc->lock);
        atomic_fetch_add(&vc->rx_held, n);
        return;
    }
    NdisReturnNetBufferLists(tc.binding, NetBufferLists,
                             irql == DISPATCH_LEVEL ? NDIS_RETURN_FLAGS_DISPATCH_LEVEL : 0);
    atomic_fetch_add(&vc->rx_returned, n);
}

unsigned long tclient_return_held(struct tclient_vc *vc)
{
    NdisAcquireSpinLock(&vc->lock);
    PNET_BUFFER_LIST chain = vc->held_head;
    vc->held_head = NULL;
    NdisReleaseSpinLock(&vc->lock);
    unsigned long n = 0;
    for (PNET_BUFFER_LIST nbl = chain; nbl; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl))
        n++;
    if (chain) {
        NdisReturnNetBufferLists(tc.binding, chain,
                                 KeGetCurrentIrql() == DISPATCH_LEVEL
                                     ? NDIS_RETURN_FLAGS_DISPATCH_LEVEL : 0);
        atomic_fetch_add(&vc->rx_returned, n);
    }
    return n;
}

/* ---- address family ---------------------------------------------------------- */

static void af_open_finish(NDIS_STATUS st, NDIS_HANDLE h)
{
    if (st == NDIS_STATUS_SUCCESS) {
        tc.af = h;
        atomic_store(&tc.af_open, 1);
    }
    atomic_store(&tc.af_open_status, st);
    NdisSetEvent(&tc.af_open_done);
}

NDIS_STATUS tclient_open_af(void)
{
    CO_ADDRESS_FAMILY af = { TDRV_AF, TDRV_AF_MAJOR, 0 };
    NDIS_HANDLE h = NULL;
    NdisResetEvent(&tc.af_open_done);
    atomic_store(&tc.af_open_status, NDIS_STATUS_PENDING);
    NDIS_STATUS st = NdisClOpenAddressFamilyEx(tc.binding, &af, &tc, &h);
    if (st != NDIS_STATUS_PENDING)
        af_open_finish(st, h); /* the client completes its own open */
    return st;
}

NDIS_STATUS tclient_wait_af_open(unsigned ms)
{
    if (!NdisWaitEvent(&tc.af_open_done, ms ? ms : TDRV_WAIT_MS))
        return TDRV_TIMEOUT;
    return atomic_load(&tc.af_open_status);
}

/* from_callback: NDIS called TcCloseAfComplete (the close had pended), so a
 * notify-close-AF that waits for this close can be completed now. */
static void af_close_finish(NDIS_STATUS st, bool from_callback)
{
    NDIS_HANDLE af = tc.af;
    if (st == NDIS_STATUS_SUCCESS) {
        atomic_store(&tc.af_open, 0);
        tc.af = NULL;
    }
    atomic_store(&tc.af_close_status, st);
    NdisSetEvent(&tc.af_close_done);
    if (from_callback && atomic_exchange(&notify_after_close_af, 0)) {
        atomic_store(&tc.notify_close_result, st);
        NdisClNotifyCloseAddressFamilyComplete(af, st);
        NdisSetEvent(&tc.notify_done);
    }
}

NDIS_STATUS tclient_close_af(void)
{
    NdisResetEvent(&tc.af_close_done);
    atomic_store(&tc.af_close_status, NDIS_STATUS_PENDING);
    NDIS_STATUS st = NdisClCloseAddressFamily(tc.af);
    if (st != NDIS_STATUS_PENDING)
        af_close_finish(st, false);
    return st;
}

NDIS_STATUS tclient_wait_af_close(unsigned ms)
{
    if (!NdisWaitEvent(&tc.af_close_done, ms ? ms : TDRV_WAIT_MS))
        return TDRV_TIMEOUT;
    return atomic_load(&tc.af_close_status);
}

NDIS_STATUS tclient_wait_notify_close(unsigned ms)
{
    if (!NdisWaitEvent(&tc.notify_done, ms ? ms : TDRV_WAIT_MS))
        return TDRV_TIMEOUT;
    return atomic_load(&tc.notify_close_result);
}

static PROTOCOL_CO_AF_REGISTER_NOTIFY TcAfNotify;
static VOID TcAfNotify(NDIS_HANDLE ProtocolBindingContext, PCO_ADDRESS_FAMILY AddressFamily)
{
    rec(TC_CB_AF_NOTIFY);
    if (ProtocolBindingContext != &tc)
        atomic_fetch_add(&tc.flag_errors, 1);
    tc.af_seen = *AddressFamily;
    if (AddressFamily->AddressFamily != TDRV_AF || tc.cfg.no_open_af_on_notify)
        return;
    tclient_open_af();
}

static PROTOCOL_CL_OPEN_AF_COMPLETE_EX TcOpenAfComplete;
static VOID TcOpenAfComplete(NDIS_HANDLE ProtocolAfContext, NDIS_HANDLE NdisAfHandle,
                             NDIS_STATUS Status)
{
    rec(TC_CB_OPEN_AF_COMPLETE);
    if (ProtocolAfContext != &tc)
        atomic_fetch_add(&tc.flag_errors, 1);
    af_open_finish(Status, NdisAfHandle);
}

static PROTOCOL_CL_CLOSE_AF_COMPLETE TcCloseAfComplete;
static VOID TcCloseAfComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolAfContext)
{
    rec(TC_CB_CLOSE_AF_COMPLETE);
    if (ProtocolAfContext != &tc)
        atomic_fetch_add(&tc.flag_errors, 1);
    af_close_finish(Status, true);
}

/* ---- VCs and calls ------------------------------------------------------------- */

struct tclient_vc *tclient_create_vc(NDIS_STATUS *status)
{
    struct tclient_vc *vc = NdisAllocateMemoryWithTagPriority(tc.protocol, sizeof(*vc), TC_TAG,
                                                              NormalPoolPriority);
    if (vc == NULL) {
        *status = NDIS_STATUS_RESOURCES;
        return NULL;
    }
    memset(vc, 0, sizeof(*vc));
    NdisAllocateSpinLock(&vc->lock);
    NdisInitializeEvent(&vc->make_done);
    NdisInitializeEvent(&vc->close_done);
    vc->kept_cap = TC_KEEP_CAP;
    vc->kept = NdisAllocateMemoryWithTagPriority(tc.protocol, TC_KEEP_CAP * sizeof(PVOID), TC_TAG,
                                                 NormalPoolPriority);
    NDIS_HANDLE h = NULL;
    NDIS_STATUS st = NdisCoCreateVc(tc.binding, tc.af, vc, &h);
    *status = st;
    if (st != NDIS_STATUS_SUCCESS) {
        if (vc->kept)
            NdisFreeMemory(vc->kept, 0, 0);
        NdisFreeSpinLock(&vc->lock);
        NdisFreeMemory(vc, sizeof(*vc), 0);
        return NULL;
    }
    vc->ndis_vc = h;
    NdisAcquireSpinLock(&tc.lock);
    vc->index = tc.nvcs++;
    vc->next = tc.vcs;
    tc.vcs = vc;
    NdisReleaseSpinLock(&tc.lock);
    return vc;
}

NDIS_STATUS tclient_delete_vc(struct tclient_vc *vc)
{
    NDIS_STATUS st = NdisCoDeleteVc(vc->ndis_vc);
    if (st == NDIS_STATUS_SUCCESS)
        vc->deleted = true; /* ndis_vc stays: tests use it as a stale handle */
    return st;
}

static void make_finish(struct tclient_vc *vc, NDIS_STATUS st)
{
    if (st == NDIS_STATUS_SUCCESS)
        atomic_store(&vc->call_up, true);
    atomic_store(&vc->make_status, st);
    NdisSetEvent(&vc->make_done);
}

NDIS_STATUS tclient_make_call(struct tclient_vc *vc)
{
    memset(&vc->cm_params, 0, sizeof(vc->cm_params));
    memset(&vc->media_params, 0, sizeof(vc->media_params));
    vc->cm_params.Transmit.TokenRate = vc->cm_params.Receive.TokenRate = 125000;
    vc->cm_params.Transmit.PeakBandwidth = vc->cm_params.Receive.PeakBandwidth = 125000;
    vc->cm_params.Transmit.MaxSduSize = vc->cm_params.Receive.MaxSduSize = 1500;
    vc->cm_params.Transmit.ServiceType = vc->cm_params.Receive.ServiceType = SERVICETYPE_BESTEFFORT;
    vc->media_params.Flags = TRANSMIT_VC | RECEIVE_VC;
    vc->params.Flags = 0;
    vc->params.CallMgrParameters = &vc->cm_params;
    vc->params.MediaParameters = &vc->media_params;
    NdisResetEvent(&vc->make_done);
    atomic_store(&vc->make_status, NDIS_STATUS_PENDING);
    NDIS_STATUS st = NdisClMakeCall(vc->ndis_vc, &vc->params, NULL, NULL);
    if (st != NDIS_STATUS_PENDING)
        make_finish(vc, st);
    return st;
}

NDIS_STATUS tclient_wait_make_call(struct tclient_vc *vc, unsigned ms)
{
    if (!NdisWaitEvent(&vc->make_done, ms ? ms : TDRV_WAIT_MS))
        return TDRV_TIMEOUT;
    return atomic_load(&vc->make_status);
}

static void close_finish(struct tclient_vc *vc, NDIS_STATUS st)
{
    atomic_store(&vc->close_complete_seq, tdrv_event());
    if (st == NDIS_STATUS_SUCCESS)
        atomic_store(&vc->call_up, false);
    atomic_store(&vc->close_status, st);
    NdisSetEvent(&vc->close_done);
}

NDIS_STATUS tclient_close_call(struct tclient_vc *vc)
{
    NdisResetEvent(&vc->close_done);
    atomic_store(&vc->close_status, NDIS_STATUS_PENDING);
    NDIS_STATUS st = NdisClCloseCall(vc->ndis_vc, NULL, NULL, 0);
    if (st != NDIS_STATUS_PENDING)
        close_finish(vc, st);
    return st;
}

NDIS_STATUS tclient_wait_close_call(struct tclient_vc *vc, unsigned ms)
{
    if (!NdisWaitEvent(&vc->close_done, ms ? ms : TDRV_WAIT_MS))
        return TDRV_TIMEOUT;
    return atomic_load(&vc->close_status);
}

static PROTOCOL_CL_MAKE_CALL_COMPLETE TcMakeCallComplete;
static VOID TcMakeCallComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolVcContext,
                               NDIS_HANDLE NdisPartyHandle, PCO_CALL_PARAMETERS CallParameters)
{
    struct tclient_vc *vc = ProtocolVcContext;
    UNREFERENCED_PARAMETER(NdisPartyHandle);
    rec(TC_CB_MAKE_CALL_COMPLETE);
    if (CallParameters != &vc->params)
        atomic_fetch_add(&tc.flag_errors, 1);
    make_finish(vc, Status);
}

static PROTOCOL_CL_CLOSE_CALL_COMPLETE TcCloseCallComplete;
static VOID TcCloseCallComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolVcContext,
                                NDIS_HANDLE ProtocolPartyContext)
{
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    rec(TC_CB_CLOSE_CALL_COMPLETE);
    close_finish(ProtocolVcContext, Status);
}

static PROTOCOL_CL_INCOMING_CLOSE_CALL TcIncomingClose;
static VOID TcIncomingClose(NDIS_STATUS CloseStatus, NDIS_HANDLE ProtocolVcContext,
                            PVOID CloseData, UINT Size)
{
    UNREFERENCED_PARAMETER(CloseData);
    UNREFERENCED_PARAMETER(Size);
    rec(TC_CB_INCOMING_CLOSE);
    atomic_store(&tc.incoming_close_status, (unsigned long)(ULONG)CloseStatus);
    if (!tc.cfg.no_close_on_incoming_close)
        tclient_close_call(ProtocolVcContext); /* must not block here */
}

static PROTOCOL_CO_CREATE_VC TcCreateVc;
static NDIS_STATUS TcCreateVc(NDIS_HANDLE ProtocolAfContext, NDIS_HANDLE NdisVcHandle,
                              PNDIS_HANDLE ProtocolVcContext)
{
    UNREFERENCED_PARAMETER(ProtocolAfContext);
    UNREFERENCED_PARAMETER(NdisVcHandle);
    rec(TC_CB_CREATE_VC);
    *ProtocolVcContext = NULL;
    return NDIS_STATUS_NOT_SUPPORTED; /* tclient takes no incoming calls */
}

static PROTOCOL_CO_DELETE_VC TcDeleteVc;
static NDIS_STATUS TcDeleteVc(NDIS_HANDLE ProtocolVcContext)
{
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    rec(TC_CB_DELETE_VC);
    return NDIS_STATUS_SUCCESS;
}

/* Close every call and delete every VC, waiting for each step (PASSIVE). */
static void teardown_vcs(void)
{
    for (struct tclient_vc *vc = tc.vcs; vc; vc = vc->next) {
        if (vc->deleted)
            continue;
        tclient_return_held(vc);
        tclient_release_completed(vc);
        tclient_wait_sends(vc, TDRV_WAIT_MS);
        if (atomic_load(&vc->call_up)) {
            if (tclient_close_call(vc) == NDIS_STATUS_PENDING)
                tclient_wait_close_call(vc, TDRV_WAIT_MS);
        }
        tclient_release_completed(vc);
        tclient_delete_vc(vc);
    }
}

static void teardown_af(void)
{
    if (!atomic_load(&tc.af_open))
        return;
    if (tclient_close_af() == NDIS_STATUS_PENDING)
        tclient_wait_af_close(TDRV_WAIT_MS);
}

static NDIS_IO_WORKITEM_FUNCTION notify_close_worker;
static void notify_close_worker(PVOID ctx, NDIS_HANDLE wi)
{
    UNREFERENCED_PARAMETER(ctx);
    NDIS_HANDLE af = tc.af;
    teardown_vcs();
    teardown_af();
    NDIS_STATUS st = atomic_load(&tc.af_open) ? NDIS_STATUS_FAILURE : NDIS_STATUS_SUCCESS;
    atomic_store(&tc.notify_close_result, st);
    NdisFreeIoWorkItem(wi);
    NdisClNotifyCloseAddressFamilyComplete(af, st);
    NdisSetEvent(&tc.notify_done);
}

static PROTOCOL_CL_NOTIFY_CLOSE_AF TcNotifyCloseAf;
static NDIS_STATUS TcNotifyCloseAf(NDIS_HANDLE ClientAfContext)
{
    rec(TC_CB_NOTIFY_CLOSE_AF);
    if (ClientAfContext != &tc)
        atomic_fetch_add(&tc.flag_errors, 1);
    NdisResetEvent(&tc.notify_done);
    bool live_vcs = false;
    for (struct tclient_vc *vc = tc.vcs; vc; vc = vc->next)
        if (!vc->deleted)
            live_vcs = true;
    if (tc.cfg.pend_notify_close_af || live_vcs) {
        /* Closing calls may pend; a handler must not block for them. */
        NDIS_HANDLE wi = NdisAllocateIoWorkItem(tc.protocol);
        if (wi == NULL)
            return NDIS_STATUS_RESOURCES;
        NdisQueueIoWorkItem(wi, notify_close_worker, NULL);
        return NDIS_STATUS_PENDING;
    }
    atomic_store(&notify_after_close_af, 1);
    NDIS_STATUS st = tclient_close_af();
    if (st == NDIS_STATUS_PENDING)
        return NDIS_STATUS_PENDING; /* finished by TcCloseAfComplete */
    /* Answered at once: the notify is answered by our return value. */
    atomic_store(&notify_after_close_af, 0);
    atomic_store(&tc.notify_close_result, st);
    NdisSetEvent(&tc.notify_done);
    return st;
}

/* ---- binding ---------------------------------------------------------------------- */

static void bind_finish(NDIS_STATUS st)
{
    if (st == NDIS_STATUS_SUCCESS) {
        NET_BUFFER_LIST_POOL_PARAMETERS pp;
        memset(&pp, 0, sizeof(pp));
        pp.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
        pp.Header.Revision = NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
        pp.Header.Size = NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
        pp.ProtocolId = NDIS_PROTOCOL_ID_DEFAULT;
        pp.fAllocateNetBuffer = TRUE;
        pp.PoolTag = TC_TAG;
        tc.pool = NdisAllocateNetBufferListPool(tc.protocol, &pp);
        atomic_store(&tc.bound, 1);
    }
    atomic_store(&tc.bind_status, st);
    NdisSetEvent(&tc.bind_done);
}

/* Open the adapter; wait for a pended open when told to (or when we are a
 * work item), else leave the bind to finish in the open-complete handler. */
static NDIS_STATUS bind_open(PNDIS_BIND_PARAMETERS bp, bool may_wait)
{
    static NDIS_MEDIUM media[] = { NdisMedium802_3, NdisMediumCoWan };
    NDIS_OPEN_PARAMETERS op;
    memset(&op, 0, sizeof(op));
    op.Header.Type = NDIS_OBJECT_TYPE_OPEN_PARAMETERS;
    op.Header.Revision = NDIS_OPEN_PARAMETERS_REVISION_1;
    op.Header.Size = NDIS_SIZEOF_OPEN_PARAMETERS_REVISION_1;
    op.AdapterName = bp->AdapterName;
    op.MediumArray = media;
    op.MediumArraySize = 2;
    op.SelectedMediumIndex = &tc.medium_index;
    NdisResetEvent(&tc.open_done);
    bool wait = may_wait && (tc.cfg.wait_open_in_bind || tc.cfg.pend_bind);
    atomic_store(&open_mode, wait ? TC_OPEN_WAIT : TC_OPEN_FINISH_BIND);
    NDIS_STATUS st = NdisOpenAdapterEx(tc.protocol, &tc, &op, tc.bind_context, &tc.binding);
    if (st == NDIS_STATUS_PENDING) {
        if (!wait)
            return NDIS_STATUS_PENDING;
        NdisWaitEvent(&tc.open_done, 0);
        st = tc.open_status;
    }
    return st;
}

static PNDIS_BIND_PARAMETERS pended_bind_params;

static NDIS_IO_WORKITEM_FUNCTION bind_worker;
static void bind_worker(PVOID ctx, NDIS_HANDLE wi)
{
    UNREFERENCED_PARAMETER(ctx);
    NdisFreeIoWorkItem(wi);
    NDIS_STATUS st = bind_open(pended_bind_params, true);
    bind_finish(st);
    NdisCompleteBindAdapterEx(tc.bind_context, st);
}

static PROTOCOL_BIND_ADAPTER_EX TcBind;
static NDIS_STATUS TcBind(NDIS_HANDLE ProtocolDriverContext, NDIS_HANDLE BindContext,
                          PNDIS_BIND_PARAMETERS BindParameters)
{
    UNREFERENCED_PARAMETER(ProtocolDriverContext);
    rec(TC_CB_BIND);
    NdisResetEvent(&tc.bind_done);
    tc.bind_context = BindContext;
    if (BindParameters->MediaType != NdisMediumCoWan)
        return NDIS_STATUS_UNSUPPORTED_MEDIA;
    if (tc.cfg.pend_bind) {
        NDIS_HANDLE wi = NdisAllocateIoWorkItem(tc.protocol);
        if (wi == NULL)
            return NDIS_STATUS_RESOURCES;
        pended_bind_params = BindParameters; /* NDIS keeps them until the bind completes */
        NdisQueueIoWorkItem(wi, bind_worker, NULL);
        return NDIS_STATUS_PENDING;
    }
    NDIS_STATUS st = bind_open(BindParameters, true);
    if (st != NDIS_STATUS_PENDING)
        bind_finish(st);
    return st;
}

static PROTOCOL_OPEN_ADAPTER_COMPLETE_EX TcOpenComplete;
static VOID TcOpenComplete(NDIS_HANDLE ProtocolBindingContext, NDIS_STATUS Status)
{
    rec(TC_CB_OPEN_COMPLETE);
    if (ProtocolBindingContext != &tc)
        atomic_fetch_add(&tc.flag_errors, 1);
    tc.open_status = Status;
    if (atomic_load(&open_mode) == TC_OPEN_WAIT) {
        NdisSetEvent(&tc.open_done);
        return;
    }
    bind_finish(Status);
    NdisCompleteBindAdapterEx(tc.bind_context, Status);
}

/* Everything an unbind does; returns PENDING when the close completes later
 * (TcCloseComplete then completes the unbind). */
static NDIS_STATUS unbind_work(bool may_wait)
{
    teardown_vcs();
    teardown_af();
    if (tc.pool) {
        NdisFreeNetBufferListPool(tc.pool);
        tc.pool = NULL;
    }
    NdisResetEvent(&tc.close_done);
    bool wait = may_wait && (tc.cfg.wait_close_in_unbind || tc.cfg.pend_unbind);
    atomic_store(&close_mode, wait ? TC_OPEN_WAIT : TC_OPEN_FINISH_BIND);
    NDIS_STATUS st = NdisCloseAdapterEx(tc.binding);
    if (st == NDIS_STATUS_PENDING) {
        if (!wait)
            return NDIS_STATUS_PENDING;
        NdisWaitEvent(&tc.close_done, 0);
    }
    tc.binding = NULL;
    atomic_store(&tc.bound, 0);
    return NDIS_STATUS_SUCCESS;
}

static NDIS_IO_WORKITEM_FUNCTION unbind_worker;
static void unbind_worker(PVOID ctx, NDIS_HANDLE wi)
{
    UNREFERENCED_PARAMETER(ctx);
    NdisFreeIoWorkItem(wi);
    unbind_work(true);
    NdisCompleteUnbindAdapterEx(tc.unbind_context);
}

static PROTOCOL_UNBIND_ADAPTER_EX TcUnbind;
static NDIS_STATUS TcUnbind(NDIS_HANDLE UnbindContext, NDIS_HANDLE ProtocolBindingContext)
{
    rec(TC_CB_UNBIND);
    if (ProtocolBindingContext != &tc)
        atomic_fetch_add(&tc.flag_errors, 1);
    tc.unbind_context = UnbindContext;
    if (tc.cfg.pend_unbind) {
        NDIS_HANDLE wi = NdisAllocateIoWorkItem(tc.protocol);
        if (wi != NULL) {
            NdisQueueIoWorkItem(wi, unbind_worker, NULL);
            return NDIS_STATUS_PENDING;
        }
    }
    return unbind_work(true);
}

static PROTOCOL_CLOSE_ADAPTER_COMPLETE_EX TcCloseComplete;
static VOID TcCloseComplete(NDIS_HANDLE ProtocolBindingContext)
{
    rec(TC_CB_CLOSE_COMPLETE);
    if (ProtocolBindingContext != &tc)
        atomic_fetch_add(&tc.flag_errors, 1);
    if (atomic_load(&close_mode) == TC_OPEN_WAIT) {
        NdisSetEvent(&tc.close_done);
        return;
    }
    tc.binding = NULL;
    atomic_store(&tc.bound, 0);
    NdisCompleteUnbindAdapterEx(tc.unbind_context);
}

static PROTOCOL_NET_PNP_EVENT TcPnp;
static NDIS_STATUS TcPnp(NDIS_HANDLE ProtocolBindingContext,
                         PNET_PNP_EVENT_NOTIFICATION NetPnPEventNotification)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(NetPnPEventNotification);
    rec(TC_CB_PNP);
    return NDIS_STATUS_SUCCESS;
}

static PROTOCOL_CO_STATUS_EX TcCoStatus;
static VOID TcCoStatus(NDIS_HANDLE ProtocolBindingContext, NDIS_HANDLE ProtocolVcContext,
                       PNDIS_STATUS_INDICATION StatusIndication)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(StatusIndication);
    rec(TC_CB_STATUS);
}

/* ---- registration ------------------------------------------------------------------ */

static PROTOCOL_SET_OPTIONS TcSetOptions;
static NDIS_STATUS TcSetOptions(NDIS_HANDLE NdisDriverHandle, NDIS_HANDLE DriverContext)
{
    UNREFERENCED_PARAMETER(DriverContext);
    rec(TC_CB_SET_OPTIONS);
    NDIS_PROTOCOL_CO_CHARACTERISTICS co;
    memset(&co, 0, sizeof(co));
    co.Header.Type = NDIS_OBJECT_TYPE_CO_PROTOCOL_CHARACTERISTICS;
    co.Header.Revision = NDIS_PROTOCOL_CO_CHARACTERISTICS_REVISION_1;
    co.Header.Size = NDIS_SIZEOF_PROTOCOL_CO_CHARACTERISTICS_REVISION_1;
    co.CoStatusHandlerEx = TcCoStatus;
    co.CoAfRegisterNotifyHandler = TcAfNotify;
    co.CoReceiveNetBufferListsHandler = TcReceive;
    co.CoSendNetBufferListsCompleteHandler = TcSendComplete;
    NDIS_STATUS st = NdisSetOptionalHandlers(NdisDriverHandle, (PNDIS_DRIVER_OPTIONAL_HANDLERS)&co);
    if (st != NDIS_STATUS_SUCCESS)
        return st;

    NDIS_CO_CLIENT_OPTIONAL_HANDLERS cl;
    memset(&cl, 0, sizeof(cl));
    cl.Header.Type = NDIS_OBJECT_TYPE_CO_CLIENT_OPTIONAL_HANDLERS;
    cl.Header.Revision = NDIS_CO_CLIENT_OPTIONAL_HANDLERS_REVISION_1;
    cl.Header.Size = NDIS_SIZEOF_CO_CLIENT_OPTIONAL_HANDLERS_REVISION_1;
    cl.ClCreateVcHandler = TcCreateVc;
    cl.ClDeleteVcHandler = TcDeleteVc;
    cl.ClOpenAfCompleteHandlerEx = TcOpenAfComplete;
    cl.ClCloseAfCompleteHandler = TcCloseAfComplete;
    cl.ClMakeCallCompleteHandler = TcMakeCallComplete;
    cl.ClCloseCallCompleteHandler = TcCloseCallComplete;
    cl.ClIncomingCloseCallHandler = TcIncomingClose;
    cl.ClNotifyCloseAfHandler = TcNotifyCloseAf;
    return NdisSetOptionalHandlers(NdisDriverHandle, (PNDIS_DRIVER_OPTIONAL_HANDLERS)&cl);
}

static DRIVER_UNLOAD TcUnload;
static VOID TcUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    /* Deregistering unbinds what is still bound; then the VC records go. */
    NdisDeregisterProtocolDriver(tc.protocol);
    tc.protocol = NULL;
    while (tc.vcs) {
        struct tclient_vc *vc = tc.vcs;
        tc.vcs = vc->next;
        if (vc->kept)
            NdisFreeMemory(vc->kept, 0, 0);
        NdisFreeSpinLock(&vc->lock);
        NdisFreeMemory(vc, sizeof(*vc), 0);
    }
}

NTSTATUS tclient_driver_entry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    NDIS_PROTOCOL_DRIVER_CHARACTERISTICS pc;
    memset(&pc, 0, sizeof(pc));
    pc.Header.Type = NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS;
    pc.Header.Revision = NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1;
    pc.Header.Size = NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1;
    pc.MajorNdisVersion = 6;
    pc.MinorNdisVersion = 0;
    RtlInitUnicodeString(&pc.Name, L"tclient");
    pc.SetOptionsHandler = TcSetOptions;
    pc.BindAdapterHandlerEx = TcBind;
    pc.UnbindAdapterHandlerEx = TcUnbind;
    pc.OpenAdapterCompleteHandlerEx = TcOpenComplete;
    pc.CloseAdapterCompleteHandlerEx = TcCloseComplete;
    pc.NetPnPEventHandler = TcPnp;
    NDIS_STATUS st = NdisRegisterProtocolDriver(NULL, &pc, &tc.protocol);
    if (st != NDIS_STATUS_SUCCESS)
        return st;
    DriverObject->DriverUnload = TcUnload;
    return STATUS_SUCCESS;
}

int tclient_load(const struct tclient_config *cfg, struct condis_driver **out)
{
    /* The memory of a previous run's VCs was freed by its unload. */
    memset(&tc, 0, sizeof(tc));
    if (cfg)
        tc.cfg = *cfg;
    NdisAllocateSpinLock(&tc.lock);
    NdisInitializeEvent(&tc.open_done);
    NdisInitializeEvent(&tc.close_done);
    NdisInitializeEvent(&tc.bind_done);
    NdisInitializeEvent(&tc.af_open_done);
    NdisInitializeEvent(&tc.af_close_done);
    NdisInitializeEvent(&tc.notify_done);
    atomic_store(&notify_after_close_af, 0);
    NTSTATUS st;
    return condis_driver_load("tclient", tclient_driver_entry, out, &st);
}
