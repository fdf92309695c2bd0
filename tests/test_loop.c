/*
 * test_loop.c - the built-in miniport call manager "loop".
 *
 * loop is loaded the way `condis run --miniport loop` loads it (through the
 * table of built-in drivers) and driven by "lpclient", a small CoNDIS 6
 * client written below against <ndis.h>. lpclient logs, per VC, the
 * sequence number stamped in the data of every receive, in the order the
 * receives arrive, and checks every byte against what it sent: that is what
 * the FIFO tests compare. (The shared test client in tests/drivers/ counts
 * receives but does not log their data, hence this one.)
 *
 * Every test ends with the orderly end (close the call, delete the VC,
 * close the AF, unbind, remove the adapter, unload) and checks that nothing
 * is left: no VC, AF, binding, NBL in flight or indicated, descriptor out
 * of a pool, pool or memory block.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "cn_test.h"
#include <condis/builtin.h>

#include "mem/cn_mem.h" /* cn_mem_set_pool_limit: run loop's receive pool dry */

/* ======================================================================
 * lpclient
 * ====================================================================== */

#define LC_VCS 4
#define LC_MAX_SEQ 16384
#define LC_MAX_LEN 4096
#define LC_HEADROOM 5            /* unused bytes before the data (DataOffset) */
#define LC_TAG 0x636c704cu       /* "Lplc" */
#define LC_NOT_DONE NDIS_STATUS_PENDING /* status_of[] before completion */
#define LC_WAIT_MS 10000

struct lc_vc {
    bool in_use;
    bool call_up;                /* a call is made and not closed */
    NDIS_HANDLE ndis_vc;
    CO_CALL_PARAMETERS params;
    CO_CALL_MANAGER_PARAMETERS cm;
    struct {
        CO_MEDIA_PARAMETERS m;
        UCHAR room[16];          /* MediaSpecific.Parameters may run on into this */
    } media;
    NDIS_EVENT close_done;
    _Atomic NDIS_STATUS close_status;

    NDIS_SPIN_LOCK lock;
    ULONG rx_log[LC_MAX_SEQ];    /* seq of each receive, in arrival order (lock) */
    unsigned long rx_n;          /* (lock) */
    PNET_BUFFER_LIST held_head, held_tail; /* kept receives (lock) */

    ULONG sent_len[LC_MAX_SEQ];  /* bytes sent with each seq */
    _Atomic NDIS_STATUS status_of[LC_MAX_SEQ];
    _Atomic unsigned long sent, completed, completed_ok, dup_completions;
    _Atomic unsigned long rx, rx_bad, rx_resources, rx_not_read_only, rx_wrong_source;
    _Atomic unsigned long rx_calls, complete_calls; /* indications, completion calls */
    _Atomic unsigned rx_irql_mask, tx_irql_mask;
    _Atomic unsigned long flag_errors; /* a ..._DISPATCH_LEVEL flag that was not true */
};

static struct lc {
    NDIS_HANDLE protocol, binding, bind_context, unbind_context, af;
    NDIS_HANDLE nbl_pool, nb_pool;
    UINT medium_index;
    NDIS_AF want_af;             /* the family lpclient opens */
    CO_ADDRESS_FAMILY af_seen;
    _Atomic int af_notified;
    _Atomic bool hold;           /* keep receives (without RESOURCES) */
    struct lc_vc vc[LC_VCS];
} lc;

static inline unsigned irql_bit(KIRQL irql)
{
    return 1u << irql;
}

/* ---- data ------------------------------------------------------------------ */

static UCHAR pattern(ULONG seq, ULONG i)
{
    return (UCHAR)(seq * 7 + i);
}

/* An NBL of len bytes stamped with seq (the first 4 bytes) and a pattern,
 * over one NET_BUFFER, or two when nbs is 2 (the second from lpclient's NB
 * pool, with its own MDL). Each NB leaves unused space before its data, so
 * DataOffset is not 0. */
static PNET_BUFFER_LIST lc_alloc(struct lc_vc *vc, ULONG seq, ULONG len, unsigned nbs)
{
    assert_true(seq < LC_MAX_SEQ && len >= 8 && len <= LC_MAX_LEN);
    PUCHAR data = NdisAllocateMemoryWithTagPriority(lc.protocol, len + 2 * LC_HEADROOM, LC_TAG,
                                                    NormalPoolPriority);
    assert_non_null(data);
    ULONG first = nbs > 1 ? len / 2 : len;
    PUCHAR d1 = data + LC_HEADROOM;
    PUCHAR d2 = data + 2 * LC_HEADROOM + first;
    for (ULONG i = 0; i < len; i++)
        (i < first ? d1 : d2 - first)[i] = pattern(seq, i);
    memcpy(d1, &seq, sizeof(seq));

    PMDL m1 = NdisAllocateMdl(lc.protocol, data, LC_HEADROOM + first);
    assert_non_null(m1);
    PNET_BUFFER_LIST nbl =
        NdisAllocateNetBufferAndNetBufferList(lc.nbl_pool, 0, 0, m1, LC_HEADROOM, first);
    assert_non_null(nbl);
    if (nbs > 1) {
        PMDL m2 = NdisAllocateMdl(lc.protocol, d2 - LC_HEADROOM, LC_HEADROOM + len - first);
        assert_non_null(m2);
        PNET_BUFFER nb2 = NdisAllocateNetBuffer(lc.nb_pool, m2, LC_HEADROOM, len - first);
        assert_non_null(nb2);
        NET_BUFFER_NEXT_NB(NET_BUFFER_LIST_FIRST_NB(nbl)) = nb2;
    }
    nbl->SourceHandle = vc->ndis_vc;
    nbl->ProtocolReserved[0] = (PVOID)(ULONG_PTR)seq;
    nbl->ProtocolReserved[1] = data;
    vc->sent_len[seq] = len;
    atomic_store(&vc->status_of[seq], LC_NOT_DONE);
    return nbl;
}

static void lc_free(PNET_BUFFER_LIST nbl)
{
    PNET_BUFFER nb1 = NET_BUFFER_LIST_FIRST_NB(nbl);
    PNET_BUFFER nb2 = NET_BUFFER_NEXT_NB(nb1);
    if (nb2 != NULL) {
        NET_BUFFER_NEXT_NB(nb1) = NULL;
        PMDL m2 = NET_BUFFER_FIRST_MDL(nb2);
        NdisFreeNetBuffer(nb2);
        NdisFreeMdl(m2);
    }
    PMDL m1 = NET_BUFFER_FIRST_MDL(nb1);
    PVOID data = nbl->ProtocolReserved[1];
    NdisFreeNetBufferList(nbl);
    NdisFreeMdl(m1);
    NdisFreeMemory(data, 0, 0);
}

/* The seq of a received NBL whose bytes all match what was sent with it,
 * or ~0 when anything differs. */
static ULONG lc_check(struct lc_vc *vc, PNET_BUFFER_LIST nbl)
{
    static _Thread_local UCHAR buf[LC_MAX_LEN];
    ULONG total = 0, seq;
    for (PNET_BUFFER nb = NET_BUFFER_LIST_FIRST_NB(nbl); nb; nb = NET_BUFFER_NEXT_NB(nb)) {
        ULONG len = NET_BUFFER_DATA_LENGTH(nb);
        if (len == 0)
            continue;
        if (total + len > LC_MAX_LEN)
            return ~0u;
        PUCHAR p = NdisGetDataBuffer(nb, len, buf + total, 1, 0);
        if (p == NULL)
            return ~0u;
        if (p != buf + total)
            memcpy(buf + total, p, len);
        total += len;
    }
    if (total < 4)
        return ~0u;
    memcpy(&seq, buf, sizeof(seq));
    if (seq >= LC_MAX_SEQ || total != vc->sent_len[seq])
        return ~0u;
    for (ULONG i = 4; i < total; i++)
        if (buf[i] != pattern(seq, i))
            return ~0u;
    return seq;
}

/* ---- send and receive handlers ---------------------------------------------- */

static PROTOCOL_CO_SEND_NET_BUFFER_LISTS_COMPLETE LcSendComplete;
static VOID LcSendComplete(NDIS_HANDLE ProtocolVcContext, PNET_BUFFER_LIST NetBufferLists,
                           ULONG SendCompleteFlags)
{
    struct lc_vc *vc = ProtocolVcContext;
    KIRQL irql = KeGetCurrentIrql();
    atomic_fetch_or(&vc->tx_irql_mask, irql_bit(irql));
    atomic_fetch_add(&vc->complete_calls, 1);
    if (((SendCompleteFlags & NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL) != 0) !=
        (irql == DISPATCH_LEVEL))
        atomic_fetch_add(&vc->flag_errors, 1);
    for (PNET_BUFFER_LIST nbl = NetBufferLists, next; nbl; nbl = next) {
        next = NET_BUFFER_LIST_NEXT_NBL(nbl);
        NET_BUFFER_LIST_NEXT_NBL(nbl) = NULL;
        ULONG seq = (ULONG)(ULONG_PTR)nbl->ProtocolReserved[0];
        NDIS_STATUS st = NET_BUFFER_LIST_STATUS(nbl);
        if (atomic_exchange(&vc->status_of[seq], st) != LC_NOT_DONE)
            atomic_fetch_add(&vc->dup_completions, 1);
        if (st == NDIS_STATUS_SUCCESS)
            atomic_fetch_add(&vc->completed_ok, 1);
        lc_free(nbl);
        atomic_fetch_add(&vc->completed, 1); /* after the free: the pool is full again */
    }
}

static PROTOCOL_CO_RECEIVE_NET_BUFFER_LISTS LcReceive;
static VOID LcReceive(NDIS_HANDLE ProtocolBindingContext, NDIS_HANDLE ProtocolVcContext,
                      PNET_BUFFER_LIST NetBufferLists, ULONG NumberOfNetBufferLists,
                      ULONG ReceiveFlags)
{
    struct lc_vc *vc = ProtocolVcContext;
    KIRQL irql = KeGetCurrentIrql();
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    atomic_fetch_or(&vc->rx_irql_mask, irql_bit(irql));
    atomic_fetch_add(&vc->rx_calls, 1);
    if (((ReceiveFlags & NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL) != 0) != (irql == DISPATCH_LEVEL))
        atomic_fetch_add(&vc->flag_errors, 1);

    ULONG n = 0;
    PNET_BUFFER_LIST tail = NULL;
    for (PNET_BUFFER_LIST nbl = NetBufferLists; nbl; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
        ULONG seq = lc_check(vc, nbl);
        if (seq == ~0u)
            atomic_fetch_add(&vc->rx_bad, 1);
        if (!NdisTestNblFlag(nbl, NDIS_NBL_FLAGS_RECV_READ_ONLY))
            atomic_fetch_add(&vc->rx_not_read_only, 1);
        if (nbl->SourceHandle != vc->ndis_vc)
            atomic_fetch_add(&vc->rx_wrong_source, 1);
        NdisAcquireSpinLock(&vc->lock);
        if (vc->rx_n < LC_MAX_SEQ)
            vc->rx_log[vc->rx_n++] = seq;
        NdisReleaseSpinLock(&vc->lock);
        tail = nbl;
        n++;
    }
    if (n != NumberOfNetBufferLists)
        atomic_fetch_add(&vc->flag_errors, 1);
    atomic_fetch_add(&vc->rx, n);

    if (ReceiveFlags & NDIS_RECEIVE_FLAGS_RESOURCES) {
        atomic_fetch_add(&vc->rx_resources, n); /* loop's again when we return */
        return;
    }
    if (atomic_load(&lc.hold)) {
        NdisAcquireSpinLock(&vc->lock);
        if (vc->held_tail)
            NET_BUFFER_LIST_NEXT_NBL(vc->held_tail) = NetBufferLists;
        else
            vc->held_head = NetBufferLists;
        vc->held_tail = tail;
        NdisReleaseSpinLock(&vc->lock);
        return;
    }
    NdisReturnNetBufferLists(lc.binding, NetBufferLists,
                             irql == DISPATCH_LEVEL ? NDIS_RETURN_FLAGS_DISPATCH_LEVEL : 0);
}

/* Give kept receives back, at the caller's IRQL. */
static unsigned long lc_return_held(struct lc_vc *vc)
{
    NdisAcquireSpinLock(&vc->lock);
    PNET_BUFFER_LIST chain = vc->held_head;
    vc->held_head = vc->held_tail = NULL;
    NdisReleaseSpinLock(&vc->lock);
    unsigned long n = 0;
    for (PNET_BUFFER_LIST nbl = chain; nbl; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl))
        n++;
    if (chain)
        NdisReturnNetBufferLists(lc.binding, chain,
                                 KeGetCurrentIrql() == DISPATCH_LEVEL
                                     ? NDIS_RETURN_FLAGS_DISPATCH_LEVEL : 0);
    return n;
}

/* Send count NBLs, seq first.., in chains of chain_len, each of len bytes;
 * every third NBL of an nbs-2 send has two NET_BUFFERs. */
static void lc_send(struct lc_vc *vc, ULONG first, unsigned count, unsigned chain_len, ULONG len,
                    unsigned nbs)
{
    ULONG flags = KeGetCurrentIrql() == DISPATCH_LEVEL ? NDIS_SEND_FLAGS_DISPATCH_LEVEL : 0;
    for (unsigned done = 0; done < count;) {
        PNET_BUFFER_LIST head = NULL, tail = NULL;
        unsigned k;
        for (k = 0; k < chain_len && done + k < count; k++) {
            ULONG seq = first + done + k;
            PNET_BUFFER_LIST nbl = lc_alloc(vc, seq, len, nbs > 1 && seq % 3 == 0 ? 2 : 1);
            if (tail)
                NET_BUFFER_LIST_NEXT_NBL(tail) = nbl;
            else
                head = nbl;
            tail = nbl;
        }
        atomic_fetch_add(&vc->sent, k); /* before: completion may come inside the call */
        NdisCoSendNetBufferLists(vc->ndis_vc, head, flags);
        done += k;
    }
}

/* Send one chain of NBLs with the given lengths, seq first... */
static void lc_send_lens(struct lc_vc *vc, ULONG first, const ULONG *lens, const unsigned *nbs,
                         unsigned n)
{
    PNET_BUFFER_LIST head = NULL, tail = NULL;
    for (unsigned i = 0; i < n; i++) {
        PNET_BUFFER_LIST nbl = lc_alloc(vc, first + i, lens[i], nbs ? nbs[i] : 1);
        if (tail)
            NET_BUFFER_LIST_NEXT_NBL(tail) = nbl;
        else
            head = nbl;
        tail = nbl;
    }
    atomic_fetch_add(&vc->sent, n);
    NdisCoSendNetBufferLists(vc->ndis_vc, head, 0);
}

static bool lc_wait(_Atomic unsigned long *counter, unsigned long target)
{
    for (unsigned ms = 0; ms < LC_WAIT_MS; ms++) {
        if (atomic_load(counter) >= target)
            return true;
        NdisMSleep(1000);
    }
    return atomic_load(counter) >= target;
}

static bool lc_wait_sends(struct lc_vc *vc)
{
    return lc_wait(&vc->completed, atomic_load(&vc->sent));
}

/* ---- VCs and calls ------------------------------------------------------------- */

static struct lc_vc *lc_create_vc(void)
{
    struct lc_vc *vc = NULL;
    for (int i = 0; i < LC_VCS && vc == NULL; i++)
        if (!lc.vc[i].in_use)
            vc = &lc.vc[i];
    assert_non_null(vc);
    memset(vc, 0, sizeof(*vc));
    NdisAllocateSpinLock(&vc->lock);
    NdisInitializeEvent(&vc->close_done);
    vc->in_use = true;
    NDIS_HANDLE h = NULL;
    NDIS_STATUS st = NdisCoCreateVc(lc.binding, lc.af, vc, &h);
    if (st != NDIS_STATUS_SUCCESS) {
        vc->in_use = false;
        fail_msg("NdisCoCreateVc: %s", condis_status_name(st));
    }
    vc->ndis_vc = h;
    return vc;
}

/* Fill vc's call parameters as loop accepts them. */
static PCO_CALL_PARAMETERS lc_params(struct lc_vc *vc, ULONG max_sdu)
{
    memset(&vc->cm, 0, sizeof(vc->cm));
    memset(&vc->media, 0, sizeof(vc->media));
    vc->cm.Transmit.ServiceType = vc->cm.Receive.ServiceType = SERVICETYPE_BESTEFFORT;
    vc->cm.Transmit.MaxSduSize = vc->cm.Receive.MaxSduSize = max_sdu;
    vc->media.m.Flags = TRANSMIT_VC | RECEIVE_VC;
    vc->params.Flags = 0;
    vc->params.CallMgrParameters = &vc->cm;
    vc->params.MediaParameters = &vc->media.m;
    return &vc->params;
}

/* A call on vc. loop answers at once, so the status is final (the client
 * would call its own completion handler with it). */
static void lc_make_call(struct lc_vc *vc, ULONG max_sdu)
{
    NDIS_STATUS st = NdisClMakeCall(vc->ndis_vc, lc_params(vc, max_sdu), NULL, NULL);
    if (st != NDIS_STATUS_SUCCESS)
        fail_msg("NdisClMakeCall: %s", condis_status_name(st));
    vc->call_up = true;
}

static NDIS_STATUS lc_close_call(struct lc_vc *vc)
{
    NdisResetEvent(&vc->close_done);
    atomic_store(&vc->close_status, LC_NOT_DONE);
    NDIS_STATUS st = NdisClCloseCall(vc->ndis_vc, NULL, NULL, 0);
    if (st != NDIS_STATUS_PENDING) {
        if (st == NDIS_STATUS_SUCCESS)
            vc->call_up = false;
        atomic_store(&vc->close_status, st);
        NdisSetEvent(&vc->close_done);
    }
    return st;
}

static NDIS_STATUS lc_wait_close(struct lc_vc *vc)
{
    if (!NdisWaitEvent(&vc->close_done, LC_WAIT_MS))
        return LC_NOT_DONE;
    return atomic_load(&vc->close_status);
}

static void lc_delete_vc(struct lc_vc *vc)
{
    NDIS_STATUS st = NdisCoDeleteVc(vc->ndis_vc);
    if (st != NDIS_STATUS_SUCCESS)
        fail_msg("NdisCoDeleteVc: %s", condis_status_name(st));
    NdisFreeSpinLock(&vc->lock);
    vc->in_use = false;
}

/* Close the call (waiting for a pended close) and delete the VC. */
static void lc_end_vc(struct lc_vc *vc)
{
    NDIS_STATUS st = lc_close_call(vc);
    assert_true(st == NDIS_STATUS_SUCCESS || st == NDIS_STATUS_PENDING);
    assert_int_equal(lc_wait_close(vc), NDIS_STATUS_SUCCESS);
    lc_delete_vc(vc);
}

/* ---- client handlers ------------------------------------------------------------- */

static PROTOCOL_CL_MAKE_CALL_COMPLETE LcMakeCallComplete;
static VOID LcMakeCallComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolVcContext,
                               NDIS_HANDLE NdisPartyHandle, PCO_CALL_PARAMETERS CallParameters)
{
    /* loop never pends a call, so NDIS never calls this. */
    UNREFERENCED_PARAMETER(Status);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(NdisPartyHandle);
    UNREFERENCED_PARAMETER(CallParameters);
    fail_msg("ProtocolClMakeCallComplete: loop answers calls at once");
}

static PROTOCOL_CL_CLOSE_CALL_COMPLETE LcCloseCallComplete;
static VOID LcCloseCallComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolVcContext,
                                NDIS_HANDLE ProtocolPartyContext)
{
    struct lc_vc *vc = ProtocolVcContext;
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    if (Status == NDIS_STATUS_SUCCESS)
        vc->call_up = false;
    atomic_store(&vc->close_status, Status);
    NdisSetEvent(&vc->close_done);
}

static PROTOCOL_CL_INCOMING_CLOSE_CALL LcIncomingClose;
static VOID LcIncomingClose(NDIS_STATUS CloseStatus, NDIS_HANDLE ProtocolVcContext,
                            PVOID CloseData, UINT Size)
{
    UNREFERENCED_PARAMETER(CloseStatus);
    UNREFERENCED_PARAMETER(CloseData);
    UNREFERENCED_PARAMETER(Size);
    lc_close_call(ProtocolVcContext);
}

static PROTOCOL_CO_CREATE_VC LcCreateVc;
static NDIS_STATUS LcCreateVc(NDIS_HANDLE ProtocolAfContext, NDIS_HANDLE NdisVcHandle,
                              PNDIS_HANDLE ProtocolVcContext)
{
    UNREFERENCED_PARAMETER(ProtocolAfContext);
    UNREFERENCED_PARAMETER(NdisVcHandle);
    *ProtocolVcContext = NULL;
    return NDIS_STATUS_NOT_SUPPORTED; /* no incoming calls */
}

static PROTOCOL_CO_DELETE_VC LcDeleteVc;
static NDIS_STATUS LcDeleteVc(NDIS_HANDLE ProtocolVcContext)
{
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    return NDIS_STATUS_SUCCESS;
}

static PROTOCOL_CL_OPEN_AF_COMPLETE_EX LcOpenAfComplete;
static VOID LcOpenAfComplete(NDIS_HANDLE ProtocolAfContext, NDIS_HANDLE NdisAfHandle,
                             NDIS_STATUS Status)
{
    UNREFERENCED_PARAMETER(ProtocolAfContext);
    if (Status == NDIS_STATUS_SUCCESS)
        lc.af = NdisAfHandle;
}

static PROTOCOL_CL_CLOSE_AF_COMPLETE LcCloseAfComplete;
static VOID LcCloseAfComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolAfContext)
{
    UNREFERENCED_PARAMETER(ProtocolAfContext);
    if (Status == NDIS_STATUS_SUCCESS)
        lc.af = NULL;
}

static NDIS_STATUS lc_close_af(void)
{
    NDIS_STATUS st = NdisClCloseAddressFamily(lc.af);
    if (st == NDIS_STATUS_SUCCESS)
        lc.af = NULL;
    return st;
}

static PROTOCOL_CL_NOTIFY_CLOSE_AF LcNotifyCloseAf;
static NDIS_STATUS LcNotifyCloseAf(NDIS_HANDLE ClientAfContext)
{
    UNREFERENCED_PARAMETER(ClientAfContext);
    return lc_close_af();
}

static PROTOCOL_CO_AF_REGISTER_NOTIFY LcAfNotify;
static VOID LcAfNotify(NDIS_HANDLE ProtocolBindingContext, PCO_ADDRESS_FAMILY AddressFamily)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    lc.af_seen = *AddressFamily;
    atomic_fetch_add(&lc.af_notified, 1);
    if (AddressFamily->AddressFamily != lc.want_af)
        return;
    NDIS_HANDLE h = NULL;
    NDIS_STATUS st = NdisClOpenAddressFamilyEx(lc.binding, AddressFamily, &lc, &h);
    if (st == NDIS_STATUS_SUCCESS)
        lc.af = h;
}

static PROTOCOL_CO_STATUS_EX LcCoStatus;
static VOID LcCoStatus(NDIS_HANDLE ProtocolBindingContext, NDIS_HANDLE ProtocolVcContext,
                       PNDIS_STATUS_INDICATION StatusIndication)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(StatusIndication);
}

/* ---- binding ----------------------------------------------------------------------- */

static PROTOCOL_BIND_ADAPTER_EX LcBind;
static NDIS_STATUS LcBind(NDIS_HANDLE ProtocolDriverContext, NDIS_HANDLE BindContext,
                          PNDIS_BIND_PARAMETERS BindParameters)
{
    static NDIS_MEDIUM media[] = { NdisMediumCoWan };
    UNREFERENCED_PARAMETER(ProtocolDriverContext);
    NDIS_OPEN_PARAMETERS op;
    memset(&op, 0, sizeof(op));
    op.Header.Type = NDIS_OBJECT_TYPE_OPEN_PARAMETERS;
    op.Header.Revision = NDIS_OPEN_PARAMETERS_REVISION_1;
    op.Header.Size = NDIS_SIZEOF_OPEN_PARAMETERS_REVISION_1;
    op.AdapterName = BindParameters->AdapterName;
    op.MediumArray = media;
    op.MediumArraySize = 1;
    op.SelectedMediumIndex = &lc.medium_index;
    lc.bind_context = BindContext;
    /* PENDING: LcOpenComplete completes the bind. */
    return NdisOpenAdapterEx(lc.protocol, &lc, &op, BindContext, &lc.binding);
}

static PROTOCOL_OPEN_ADAPTER_COMPLETE_EX LcOpenComplete;
static VOID LcOpenComplete(NDIS_HANDLE ProtocolBindingContext, NDIS_STATUS Status)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    NdisCompleteBindAdapterEx(lc.bind_context, Status);
}

/* Take down what a test left (it may have failed half way), then close. */
static PROTOCOL_UNBIND_ADAPTER_EX LcUnbind;
static NDIS_STATUS LcUnbind(NDIS_HANDLE UnbindContext, NDIS_HANDLE ProtocolBindingContext)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    lc.unbind_context = UnbindContext;
    atomic_store(&lc.hold, false);
    for (int i = 0; i < LC_VCS; i++) {
        struct lc_vc *vc = &lc.vc[i];
        if (!vc->in_use)
            continue;
        lc_return_held(vc);
        lc_wait_sends(vc);
        if (vc->call_up && lc_close_call(vc) == NDIS_STATUS_PENDING)
            lc_wait_close(vc);
        NdisCoDeleteVc(vc->ndis_vc);
        NdisFreeSpinLock(&vc->lock);
        vc->in_use = false;
    }
    if (lc.af != NULL)
        lc_close_af();
    /* PENDING: LcCloseComplete completes the unbind. */
    return NdisCloseAdapterEx(lc.binding);
}

static PROTOCOL_CLOSE_ADAPTER_COMPLETE_EX LcCloseComplete;
static VOID LcCloseComplete(NDIS_HANDLE ProtocolBindingContext)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    NdisCompleteUnbindAdapterEx(lc.unbind_context);
}

static PROTOCOL_NET_PNP_EVENT LcPnp;
static NDIS_STATUS LcPnp(NDIS_HANDLE ProtocolBindingContext,
                         PNET_PNP_EVENT_NOTIFICATION NetPnPEventNotification)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(NetPnPEventNotification);
    return NDIS_STATUS_SUCCESS;
}

/* ---- registration --------------------------------------------------------------------- */

static PROTOCOL_SET_OPTIONS LcSetOptions;
static NDIS_STATUS LcSetOptions(NDIS_HANDLE NdisDriverHandle, NDIS_HANDLE DriverContext)
{
    UNREFERENCED_PARAMETER(DriverContext);
    NDIS_PROTOCOL_CO_CHARACTERISTICS co;
    memset(&co, 0, sizeof(co));
    co.Header.Type = NDIS_OBJECT_TYPE_CO_PROTOCOL_CHARACTERISTICS;
    co.Header.Revision = NDIS_PROTOCOL_CO_CHARACTERISTICS_REVISION_1;
    co.Header.Size = NDIS_SIZEOF_PROTOCOL_CO_CHARACTERISTICS_REVISION_1;
    co.CoStatusHandlerEx = LcCoStatus;
    co.CoAfRegisterNotifyHandler = LcAfNotify;
    co.CoReceiveNetBufferListsHandler = LcReceive;
    co.CoSendNetBufferListsCompleteHandler = LcSendComplete;
    NDIS_STATUS st = NdisSetOptionalHandlers(NdisDriverHandle, (PNDIS_DRIVER_OPTIONAL_HANDLERS)&co);
    if (st != NDIS_STATUS_SUCCESS)
        return st;

    NDIS_CO_CLIENT_OPTIONAL_HANDLERS cl;
    memset(&cl, 0, sizeof(cl));
    cl.Header.Type = NDIS_OBJECT_TYPE_CO_CLIENT_OPTIONAL_HANDLERS;
    cl.Header.Revision = NDIS_CO_CLIENT_OPTIONAL_HANDLERS_REVISION_1;
    cl.Header.Size = NDIS_SIZEOF_CO_CLIENT_OPTIONAL_HANDLERS_REVISION_1;
    cl.ClCreateVcHandler = LcCreateVc;
    cl.ClDeleteVcHandler = LcDeleteVc;
    cl.ClOpenAfCompleteHandlerEx = LcOpenAfComplete;
    cl.ClCloseAfCompleteHandler = LcCloseAfComplete;
    cl.ClMakeCallCompleteHandler = LcMakeCallComplete;
    cl.ClCloseCallCompleteHandler = LcCloseCallComplete;
    cl.ClIncomingCloseCallHandler = LcIncomingClose;
    cl.ClNotifyCloseAfHandler = LcNotifyCloseAf;
    return NdisSetOptionalHandlers(NdisDriverHandle, (PNDIS_DRIVER_OPTIONAL_HANDLERS)&cl);
}

static DRIVER_UNLOAD LcUnload;
static VOID LcUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    NdisDeregisterProtocolDriver(lc.protocol);
    NdisFreeNetBufferPool(lc.nb_pool);
    NdisFreeNetBufferListPool(lc.nbl_pool);
    lc.protocol = NULL;
}

static DRIVER_INITIALIZE LcDriverEntry;
static NTSTATUS LcDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    NDIS_PROTOCOL_DRIVER_CHARACTERISTICS pc;
    memset(&pc, 0, sizeof(pc));
    pc.Header.Type = NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS;
    pc.Header.Revision = NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1;
    pc.Header.Size = NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1;
    pc.MajorNdisVersion = 6;
    pc.MinorNdisVersion = 0;
    RtlInitUnicodeString(&pc.Name, L"lpclient");
    pc.SetOptionsHandler = LcSetOptions;
    pc.BindAdapterHandlerEx = LcBind;
    pc.UnbindAdapterHandlerEx = LcUnbind;
    pc.OpenAdapterCompleteHandlerEx = LcOpenComplete;
    pc.CloseAdapterCompleteHandlerEx = LcCloseComplete;
    pc.NetPnPEventHandler = LcPnp;
    NDIS_STATUS st = NdisRegisterProtocolDriver(NULL, &pc, &lc.protocol);
    if (st != NDIS_STATUS_SUCCESS)
        return st;

    NET_BUFFER_LIST_POOL_PARAMETERS pp;
    memset(&pp, 0, sizeof(pp));
    pp.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    pp.Header.Revision = NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    pp.Header.Size = NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    pp.ProtocolId = NDIS_PROTOCOL_ID_DEFAULT;
    pp.fAllocateNetBuffer = TRUE;
    pp.PoolTag = LC_TAG;
    lc.nbl_pool = NdisAllocateNetBufferListPool(lc.protocol, &pp);
    NET_BUFFER_POOL_PARAMETERS bp;
    memset(&bp, 0, sizeof(bp));
    bp.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    bp.Header.Revision = NET_BUFFER_POOL_PARAMETERS_REVISION_1;
    bp.Header.Size = NDIS_SIZEOF_NET_BUFFER_POOL_PARAMETERS_REVISION_1;
    bp.PoolTag = LC_TAG;
    lc.nb_pool = NdisAllocateNetBufferPool(lc.protocol, &bp);
    if (lc.nbl_pool == NULL || lc.nb_pool == NULL) {
        if (lc.nbl_pool)
            NdisFreeNetBufferListPool(lc.nbl_pool);
        if (lc.nb_pool)
            NdisFreeNetBufferPool(lc.nb_pool);
        NdisDeregisterProtocolDriver(lc.protocol);
        return NDIS_STATUS_RESOURCES;
    }
    DriverObject->DriverUnload = LcUnload;
    return STATUS_SUCCESS;
}

/* ======================================================================
 * The environment of a test
 * ====================================================================== */

struct env {
    struct condis_driver *loop, *client;
    struct condis_adapter *adapter;
    unsigned long warnings; /* condis_warnings() at the start */
};

/* Set loop's parameters (NULL: leave the default), load loop from the
 * table of built-in drivers and lpclient, add an adapter and bind: the
 * client opens the family from its AF-notify handler. */
static void env_start(struct env *e, const char *inline_mode, const char *resources)
{
    memset(e, 0, sizeof(*e));
    memset(&lc, 0, sizeof(lc));
    lc.want_af = CO_ADDRESS_FAMILY_PPP;
    if (inline_mode)
        assert_int_equal(condis_param_set("loop", "LoopInline", inline_mode), 0);
    if (resources)
        assert_int_equal(condis_param_set("loop", "LoopResources", resources), 0);
    e->warnings = condis_warnings();

    const struct condis_builtin *b = condis_builtin_find("loop");
    assert_non_null(b);
    assert_string_equal(b->kind, "miniport");
    NTSTATUS st = STATUS_UNSUCCESSFUL;
    assert_int_equal(condis_driver_load("loop", b->entry, &e->loop, &st), 0);
    assert_int_equal(st, STATUS_SUCCESS);
    assert_int_equal(condis_driver_load("lpclient", LcDriverEntry, &e->client, &st), 0);
    assert_int_equal(condis_adapter_add(e->loop, "loop0", &e->adapter), 0);
    assert_int_equal(condis_bind_all(), 0);
    assert_int_equal(atomic_load(&lc.af_notified), 1);
    assert_non_null(lc.af);
}

/* The orderly end, step by step, checking at each step that what the step
 * takes down is gone, and at the end that nothing at all is left. Calls
 * and VCs must already be closed and deleted. */
static void env_end(struct env *e)
{
    struct condis_outstanding o;
    condis_outstanding(&o);
    assert_int_equal(o.vcs, 0);
    assert_int_equal(o.nbls_in_flight, 0);
    assert_int_equal(o.rx_outstanding, 0);

    assert_int_equal(lc_close_af(), NDIS_STATUS_SUCCESS);
    condis_outstanding(&o);
    assert_int_equal(o.afs, 0);

    assert_int_equal(condis_unbind_all(), 0);
    condis_outstanding(&o);
    assert_int_equal(o.bindings, 0);

    assert_int_equal(condis_adapter_remove(e->adapter), 0);
    condis_outstanding(&o);
    assert_int_equal(o.adapters, 0);

    assert_int_equal(condis_driver_unload(e->client), 0);
    assert_int_equal(condis_driver_unload(e->loop), 0);
    cn_test_assert_clean();
}

/* Every receive of vc arrived intact, in transmit order: want[0..n). */
static void assert_rx_order(struct lc_vc *vc, const ULONG *want, unsigned long n)
{
    assert_int_equal(atomic_load(&vc->rx_bad), 0);
    assert_int_equal(atomic_load(&vc->rx_not_read_only), 0);
    assert_int_equal(atomic_load(&vc->rx_wrong_source), 0);
    NdisAcquireSpinLock(&vc->lock);
    unsigned long got = vc->rx_n;
    NdisReleaseSpinLock(&vc->lock);
    assert_int_equal(got, n);
    for (unsigned long i = 0; i < n; i++)
        if (vc->rx_log[i] != want[i])
            fail_msg("receive %lu carries seq %u, expected %u (not in transmit order)", i,
                     vc->rx_log[i], want[i]);
}

/* Receives 0..n-1, in order. */
static void assert_rx_fifo(struct lc_vc *vc, unsigned long n)
{
    static ULONG want[LC_MAX_SEQ];
    for (unsigned long i = 0; i < n; i++)
        want[i] = (ULONG)i;
    assert_rx_order(vc, want, n);
}

/* Every send came back exactly once with NDIS_STATUS_SUCCESS, with honest
 * flags. */
static void assert_sends_ok(struct lc_vc *vc)
{
    assert_true(lc_wait_sends(vc));
    assert_int_equal(atomic_load(&vc->completed), atomic_load(&vc->sent));
    assert_int_equal(atomic_load(&vc->completed_ok), atomic_load(&vc->sent));
    assert_int_equal(atomic_load(&vc->dup_completions), 0);
    assert_int_equal(atomic_load(&vc->flag_errors), 0);
}

/* ======================================================================
 * Tests
 * ====================================================================== */

/* Default mode: receives come from loop's DPC, at DISPATCH_LEVEL, in
 * transmit order per VC, also with two VCs interleaved, chains of every
 * length, NBLs with two NET_BUFFERs, and sends made at DISPATCH_LEVEL. */
static void test_loop_fifo_dpc(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, NULL, NULL);
    struct lc_vc *a = lc_create_vc(), *b = lc_create_vc();
    lc_make_call(a, 0);
    lc_make_call(b, 0);

    ULONG seq_a = 0, seq_b = 0;
    static const unsigned chains[] = { 1, 7, 50, 3, 1, 128 };
    for (unsigned i = 0; i < sizeof(chains) / sizeof(chains[0]); i++) {
        lc_send(a, seq_a, 100, chains[i], 64 + 16 * i, 2);
        seq_a += 100;
        lc_send(b, seq_b, 60, chains[i], 200, 1);
        seq_b += 60;
    }
    /* A big frame: with MaxSduSize 0 the call has no limit. */
    lc_send(a, seq_a++, 1, 1, LC_MAX_LEN, 1);
    /* Sends from DISPATCH_LEVEL (loop takes its lock without raising). */
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    lc_send(a, seq_a, 40, 8, 100, 2);
    lc_send(b, seq_b, 40, 1, 100, 1);
    KeLowerIrql(old);
    seq_a += 40;
    seq_b += 40;

    assert_sends_ok(a);
    assert_sends_ok(b);
    assert_rx_fifo(a, seq_a);
    assert_rx_fifo(b, seq_b);
    /* From the DPC; the client returned each receive inside the indication,
     * so the completions ran there too. */
    assert_int_equal(atomic_load(&a->rx_irql_mask), irql_bit(DISPATCH_LEVEL));
    assert_int_equal(atomic_load(&a->tx_irql_mask), irql_bit(DISPATCH_LEVEL));
    assert_int_equal(atomic_load(&a->rx_resources), 0);

    lc_end_vc(a);
    lc_end_vc(b);
    env_end(&e);
    assert_int_equal(condis_warnings(), e.warnings);
}

/* Without NDIS_RECEIVE_FLAGS_RESOURCES the receiver reads the sender's own
 * buffers, so no send may complete while its receive is held. */
static void test_loop_send_waits_for_return(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, NULL, NULL);
    struct lc_vc *vc = lc_create_vc();
    lc_make_call(vc, 0);

    atomic_store(&lc.hold, true);
    lc_send(vc, 0, 30, 4, 64, 2);
    assert_true(lc_wait(&vc->rx, 30));
    condis_flush();
    assert_int_equal(atomic_load(&vc->completed), 0);
    assert_rx_fifo(vc, 30);

    atomic_store(&lc.hold, false);
    assert_int_equal(lc_return_held(vc), 30);
    assert_sends_ok(vc);
    /* One return of 30 receives, one completion of their 30 sends. */
    assert_int_equal(atomic_load(&vc->complete_calls), 1);

    lc_end_vc(vc);
    env_end(&e);
    assert_int_equal(condis_warnings(), e.warnings);
}

/* LoopInline=1: everything happens inside NdisCoSendNetBufferLists, at the
 * sender's IRQL; the client returns inline, so each send is back before
 * the send call returns. */
static void test_loop_fifo_inline(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, "1", NULL);
    struct lc_vc *vc = lc_create_vc();
    lc_make_call(vc, 0);

    lc_send(vc, 0, 200, 9, 96, 2);
    assert_int_equal(atomic_load(&vc->completed), 200);
    assert_int_equal(atomic_load(&vc->rx_irql_mask), irql_bit(PASSIVE_LEVEL));
    assert_int_equal(atomic_load(&vc->tx_irql_mask), irql_bit(PASSIVE_LEVEL));

    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    lc_send(vc, 200, 20, 3, 64, 1);
    KeLowerIrql(old);
    assert_int_equal(atomic_load(&vc->completed), 220);
    assert_int_equal(atomic_load(&vc->rx_irql_mask),
                     irql_bit(PASSIVE_LEVEL) | irql_bit(DISPATCH_LEVEL));

    /* Held receives keep their sends; the return completes them inline. */
    atomic_store(&lc.hold, true);
    lc_send(vc, 220, 5, 5, 64, 1);
    assert_int_equal(atomic_load(&vc->rx), 225);
    assert_int_equal(atomic_load(&vc->completed), 220);
    atomic_store(&lc.hold, false);
    assert_int_equal(lc_return_held(vc), 5);
    assert_int_equal(atomic_load(&vc->completed), 225);

    assert_sends_ok(vc);
    assert_rx_fifo(vc, 225);
    lc_end_vc(vc);
    env_end(&e);
    assert_int_equal(condis_warnings(), e.warnings);
}

/* LoopResources=1: receives are indicated with NDIS_RECEIVE_FLAGS_RESOURCES
 * (a client cannot keep them) and sends complete as soon as the indication
 * returns; from the DPC by default, inline with LoopInline=1. */
static void resources_body(const char *inline_mode)
{
    struct env e;
    env_start(&e, inline_mode, "1");
    struct lc_vc *vc = lc_create_vc();
    lc_make_call(vc, 0);

    atomic_store(&lc.hold, true); /* has no effect on RESOURCES indications */
    lc_send(vc, 0, 150, 10, 80, 2);
    if (inline_mode != NULL)
        assert_int_equal(atomic_load(&vc->completed), 150);
    assert_sends_ok(vc);
    assert_int_equal(atomic_load(&vc->rx), 150);
    assert_int_equal(atomic_load(&vc->rx_resources), 150);
    assert_null(vc->held_head);
    assert_rx_fifo(vc, 150);
    /* Each chain of 10 is queued as a whole, so it goes up in one
     * indication and back in one completion, or joins others in theirs. */
    assert_true(atomic_load(&vc->rx_calls) <= 15);
    assert_true(atomic_load(&vc->complete_calls) <= 15);
    if (inline_mode != NULL) {
        assert_int_equal(atomic_load(&vc->rx_calls), 15);
        assert_int_equal(atomic_load(&vc->complete_calls), 15);
    }

    lc_end_vc(vc);
    env_end(&e);
    assert_int_equal(condis_warnings(), e.warnings);
}

static void test_loop_resources_dpc(void **state)
{
    (void)state;
    resources_body(NULL);
}

static void test_loop_resources_inline(void **state)
{
    (void)state;
    resources_body("1");
}

/* A call's MaxSduSize (Transmit flow spec) limits each NBL's data, summed
 * over its NET_BUFFERs: longer NBLs fail with NDIS_STATUS_INVALID_LENGTH
 * and are not looped back; the rest still arrive in order. */
static void max_sdu_body(const char *inline_mode)
{
    struct env e;
    env_start(&e, inline_mode, NULL);
    struct lc_vc *vc = lc_create_vc();
    lc_make_call(vc, 100);

    static const ULONG lens[] = { 50, 150, 100, 101, 10, 100, 120, 64 };
    static const unsigned nbs[] = { 1, 1, 1, 1, 1, 2, 2, 2 };
    static const bool fits[] = { true, false, true, false, true, true, false, true };
    const unsigned n = sizeof(lens) / sizeof(lens[0]);
    lc_send_lens(vc, 0, lens, nbs, n);
    assert_true(lc_wait_sends(vc));

    ULONG want[8];
    unsigned long nwant = 0;
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(atomic_load(&vc->status_of[i]),
                         fits[i] ? NDIS_STATUS_SUCCESS : NDIS_STATUS_INVALID_LENGTH);
        if (fits[i])
            want[nwant++] = i;
    }
    assert_rx_order(vc, want, nwant);
    assert_int_equal(atomic_load(&vc->flag_errors), 0);

    lc_end_vc(vc);
    env_end(&e);
    assert_int_equal(condis_warnings(), e.warnings);
}

static void test_loop_max_sdu_dpc(void **state)
{
    (void)state;
    max_sdu_body(NULL);
}

static void test_loop_max_sdu_inline(void **state)
{
    (void)state;
    max_sdu_body("1");
}

/* loop accepts only a plain point-to-point call: media- or call-manager-
 * specific data are refused with NDIS_STATUS_INVALID_DATA, so is a call
 * that does not both send and receive; a kind of call loop does not offer
 * is NDIS_STATUS_NOT_SUPPORTED. A refused call leaves the VC usable. */
static void test_loop_call_parameters_refused(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, NULL, NULL);
    struct lc_vc *vc = lc_create_vc();

    PCO_CALL_PARAMETERS p = lc_params(vc, 0);
    vc->media.m.MediaSpecific.ParamType = 1;
    vc->media.m.MediaSpecific.Length = 4;
    assert_int_equal(NdisClMakeCall(vc->ndis_vc, p, NULL, NULL), NDIS_STATUS_INVALID_DATA);

    p = lc_params(vc, 0);
    vc->cm.CallMgrSpecific.Length = 1;
    assert_int_equal(NdisClMakeCall(vc->ndis_vc, p, NULL, NULL), NDIS_STATUS_INVALID_DATA);

    p = lc_params(vc, 0);
    vc->media.m.Flags = TRANSMIT_VC;
    assert_int_equal(NdisClMakeCall(vc->ndis_vc, p, NULL, NULL), NDIS_STATUS_INVALID_DATA);

    p = lc_params(vc, 0);
    p->MediaParameters = NULL;
    assert_int_equal(NdisClMakeCall(vc->ndis_vc, p, NULL, NULL), NDIS_STATUS_NOT_SUPPORTED);

    p = lc_params(vc, 0);
    p->Flags = MULTIPOINT_VC;
    assert_int_equal(NdisClMakeCall(vc->ndis_vc, p, NULL, NULL), NDIS_STATUS_NOT_SUPPORTED);

    /* Nothing of the refused calls stuck: the VC is idle and deletable... */
    assert_int_equal(NdisCoDeleteVc(vc->ndis_vc), NDIS_STATUS_SUCCESS);
    NdisFreeSpinLock(&vc->lock);
    vc->in_use = false;

    /* ... and a new VC takes a good call and carries data. */
    vc = lc_create_vc();
    lc_make_call(vc, 0);
    lc_send(vc, 0, 3, 3, 64, 1);
    assert_sends_ok(vc);
    assert_rx_fifo(vc, 3);

    lc_end_vc(vc);
    env_end(&e);
    assert_int_equal(condis_warnings(), e.warnings);
}

/* Closing a call while loop still holds sends on its VC: loop stops taking
 * sends, lets those it has loop back and complete (their receives
 * returned), and only then deactivates the VC and completes the close. */
static void test_loop_close_drains_held(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, NULL, NULL);
    struct lc_vc *vc = lc_create_vc();
    lc_make_call(vc, 0);

    atomic_store(&lc.hold, true);
    lc_send(vc, 0, 20, 6, 64, 2);
    assert_true(lc_wait(&vc->rx, 20));

    /* The client breaks rule VC-2 on purpose (condis warns about it). */
    assert_int_equal(lc_close_call(vc), NDIS_STATUS_PENDING);
    condis_flush();
    assert_int_equal(atomic_load(&vc->close_status), LC_NOT_DONE);
    assert_int_equal(atomic_load(&vc->completed), 0);

    atomic_store(&lc.hold, false);
    assert_int_equal(lc_return_held(vc), 20);
    assert_int_equal(lc_wait_close(vc), NDIS_STATUS_SUCCESS);
    assert_sends_ok(vc); /* drained, not aborted */
    assert_rx_fifo(vc, 20);
    lc_delete_vc(vc);
    env_end(&e);
}

/* The same with the sends still in loop's DPC queue when the close comes
 * (or already through it: either way nothing is lost or refused). */
static void close_drains_body(const char *inline_mode, const char *resources)
{
    struct env e;
    env_start(&e, inline_mode, resources);
    struct lc_vc *vc = lc_create_vc();
    lc_make_call(vc, 0);

    lc_send(vc, 0, 500, 10, 64, 2);
    NDIS_STATUS st = lc_close_call(vc);
    assert_true(st == NDIS_STATUS_SUCCESS || st == NDIS_STATUS_PENDING);
    assert_int_equal(lc_wait_close(vc), NDIS_STATUS_SUCCESS);
    /* The close finished only after the last send came back. */
    assert_int_equal(atomic_load(&vc->completed), 500);
    assert_sends_ok(vc);
    assert_rx_fifo(vc, 500);
    lc_delete_vc(vc);
    env_end(&e);
}

static void test_loop_close_drains_queue(void **state)
{
    (void)state;
    close_drains_body(NULL, NULL);
}

static void test_loop_close_drains_queue_resources(void **state)
{
    (void)state;
    close_drains_body(NULL, "1");
}

/* When loop's receive pool is exhausted, a send fails with
 * NDIS_STATUS_RESOURCES; the others still arrive in order. */
static void test_loop_receive_pool_exhausted(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, NULL, NULL);
    struct lc_vc *vc = lc_create_vc();
    lc_make_call(vc, 0);

    /* The client's NBLs first, then a limit that leaves loop 2 receives. */
    PNET_BUFFER_LIST chain = NULL;
    for (int i = 3; i >= 0; i--) {
        PNET_BUFFER_LIST nbl = lc_alloc(vc, (ULONG)i, 64, 1);
        NET_BUFFER_LIST_NEXT_NBL(nbl) = chain;
        chain = nbl;
    }
    atomic_store(&lc.hold, true);
    cn_mem_set_pool_limit(2);
    atomic_fetch_add(&vc->sent, 4);
    NdisCoSendNetBufferLists(vc->ndis_vc, chain, 0);
    assert_true(lc_wait(&vc->rx, 2));
    assert_true(lc_wait(&vc->completed, 2));
    condis_flush();
    cn_mem_set_pool_limit(0);
    assert_int_equal(atomic_load(&vc->completed), 2);
    assert_int_equal(atomic_load(&vc->status_of[2]), NDIS_STATUS_RESOURCES);
    assert_int_equal(atomic_load(&vc->status_of[3]), NDIS_STATUS_RESOURCES);

    atomic_store(&lc.hold, false);
    assert_int_equal(lc_return_held(vc), 2);
    assert_true(lc_wait_sends(vc));
    assert_int_equal(atomic_load(&vc->status_of[0]), NDIS_STATUS_SUCCESS);
    assert_int_equal(atomic_load(&vc->status_of[1]), NDIS_STATUS_SUCCESS);
    assert_rx_fifo(vc, 2);

    lc_end_vc(vc);
    env_end(&e);
}

static int pool_limit_teardown(void **state)
{
    cn_mem_set_pool_limit(0); /* also when the test failed half way */
    return cn_test_teardown(state);
}

/* LoopAddressFamily names the family loop registers (version 1.0); a
 * switch with a value other than 0 or 1 keeps its default. */
static void test_loop_parameters(void **state)
{
    (void)state;
    assert_int_equal(condis_param_set("loop", "LoopAddressFamily", "0x800"), 0);
    struct env e;
    memset(&lc, 0, sizeof(lc));
    /* env_start wants PPP; open TAPI instead. */
    lc.want_af = CO_ADDRESS_FAMILY_TAPI;
    assert_int_equal(condis_param_set("loop", "LoopInline", "7"), 0);
    memset(&e, 0, sizeof(e));
    const struct condis_builtin *b = condis_builtin_find("loop");
    assert_non_null(b);
    assert_int_equal(condis_driver_load("loop", b->entry, &e.loop, NULL), 0);
    assert_int_equal(condis_driver_load("lpclient", LcDriverEntry, &e.client, NULL), 0);
    assert_int_equal(condis_adapter_add(e.loop, NULL, &e.adapter), 0);
    assert_int_equal(condis_bind_all(), 0);
    assert_int_equal(lc.af_seen.AddressFamily, CO_ADDRESS_FAMILY_TAPI);
    assert_int_equal(lc.af_seen.MajorVersion, 1);
    assert_int_equal(lc.af_seen.MinorVersion, 0);
    assert_non_null(lc.af);

    /* LoopInline=7 is not a switch value: loop stays in DPC mode. */
    struct lc_vc *vc = lc_create_vc();
    lc_make_call(vc, 0);
    lc_send(vc, 0, 10, 10, 64, 1);
    assert_sends_ok(vc);
    assert_rx_fifo(vc, 10);
    assert_int_equal(atomic_load(&vc->rx_irql_mask), irql_bit(DISPATCH_LEVEL));

    lc_end_vc(vc);
    env_end(&e);
}

/* Senders on several threads, each on its own VC: per-VC order holds,
 * through loop's one DPC queue or inline. */
struct sender {
    pthread_t thread;
    struct lc_vc *vc;
    unsigned count;
};

static void *sender_main(void *arg)
{
    struct sender *s = arg;
    for (unsigned done = 0; done < s->count; done += 100)
        lc_send(s->vc, done, 100, 1 + done % 7, 64, 2);
    return NULL;
}

static void concurrent_body(const char *inline_mode)
{
    struct env e;
    env_start(&e, inline_mode, NULL);
    struct sender s[3];
    for (int i = 0; i < 3; i++) {
        s[i].vc = lc_create_vc();
        s[i].count = 3000;
        lc_make_call(s[i].vc, 0);
    }
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&s[i].thread, NULL, sender_main, &s[i]), 0);
    for (int i = 0; i < 3; i++)
        pthread_join(s[i].thread, NULL);
    for (int i = 0; i < 3; i++) {
        assert_sends_ok(s[i].vc);
        assert_rx_fifo(s[i].vc, s[i].count);
        lc_end_vc(s[i].vc);
    }
    env_end(&e);
    assert_int_equal(condis_warnings(), e.warnings);
}

static void test_loop_concurrent_dpc(void **state)
{
    (void)state;
    concurrent_body(NULL);
}

static void test_loop_concurrent_inline(void **state)
{
    (void)state;
    concurrent_body("1");
}

/* A VC keeps working across calls: close, make again, send again. */
static void test_loop_call_again(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, NULL, NULL);
    struct lc_vc *vc = lc_create_vc();
    lc_make_call(vc, 0);
    lc_send(vc, 0, 10, 5, 64, 1);
    assert_sends_ok(vc);
    NDIS_STATUS st = lc_close_call(vc);
    assert_true(st == NDIS_STATUS_SUCCESS || st == NDIS_STATUS_PENDING);
    assert_int_equal(lc_wait_close(vc), NDIS_STATUS_SUCCESS);
    lc_make_call(vc, 0);
    lc_send(vc, 10, 10, 5, 64, 1);
    assert_sends_ok(vc);
    assert_rx_fifo(vc, 20);
    lc_end_vc(vc);
    env_end(&e);
    assert_int_equal(condis_warnings(), e.warnings);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_loop_fifo_dpc, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_loop_send_waits_for_return, cn_test_setup,
                                        cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_loop_fifo_inline, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_loop_resources_dpc, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_loop_resources_inline, cn_test_setup,
                                        cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_loop_max_sdu_dpc, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_loop_max_sdu_inline, cn_test_setup,
                                        cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_loop_call_parameters_refused, cn_test_setup,
                                        cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_loop_close_drains_held, cn_test_setup,
                                        cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_loop_close_drains_queue, cn_test_setup,
                                        cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_loop_close_drains_queue_resources, cn_test_setup,
                                        cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_loop_receive_pool_exhausted, cn_test_setup,
                                        pool_limit_teardown),
        cmocka_unit_test_setup_teardown(test_loop_parameters, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_loop_concurrent_dpc, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_loop_concurrent_inline, cn_test_setup,
                                        cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_loop_call_again, cn_test_setup, cn_test_teardown),
    };
    return cmocka_run_group_tests_name("loop", tests, NULL, NULL);
}
