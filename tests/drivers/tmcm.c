/*
 * tmcm.c - a fake miniport call manager for the tests (see tdrivers.h).
 *
 * Written against <ndis.h> like any CoNDIS miniport: NdisMRegisterMiniportDriver,
 * NDIS_MINIPORT_CO_CHARACTERISTICS and NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS
 * from MiniportSetOptions, NdisMCmRegisterAddressFamilyEx from
 * MiniportInitializeEx. It owns no hardware: sends are logged and completed
 * in the style the test chose, and receives are indicated when the test (or
 * the loopback knob) asks.
 *
 * Per-VC state lives until the adapter halts, also after the VC is deleted,
 * so that a test can read a VC's log after tearing it down and a DPC that
 * is still finishing never touches freed memory.
 */
#include <string.h>

#include "tdrivers.h"

struct tmcm_state tm;

#define TM_TAG 'mmCT'
#define TM_RX_DATA 256


static ULONG complete_flags(void)
{
    return KeGetCurrentIrql() == DISPATCH_LEVEL ? NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL : 0;
}

static bool pends(unsigned step)
{
    return (tm.cfg.pend & step) != 0;
}

/* ---- pended control steps -------------------------------------------------- */

static void finish_step(int step, struct tmcm_vc *vc)
{
    switch (step) {
    case TMCM_PEND_OPEN_AF: tmcm_complete_open_af(NDIS_STATUS_SUCCESS); break;
    case TMCM_PEND_CLOSE_AF: tmcm_complete_close_af(); break;
    case TMCM_PEND_MAKE_CALL: tmcm_complete_make_call(vc, NDIS_STATUS_SUCCESS); break;
    case TMCM_PEND_CLOSE_CALL: tmcm_complete_close_call(vc, NDIS_STATUS_SUCCESS); break;
    case TMCM_PEND_PAUSE: NdisMPauseComplete(tm.adapter); break;
    case TMCM_PEND_RESTART: NdisMRestartComplete(tm.adapter, NDIS_STATUS_SUCCESS); break;
    }
}

struct tm_work {
    int step;
    struct tmcm_vc *vc;
};

static NDIS_IO_WORKITEM_FUNCTION tm_work_fn;
static void tm_work_fn(PVOID ctx, NDIS_HANDLE wi)
{
    struct tm_work w = *(struct tm_work *)ctx;
    NdisFreeMemory(ctx, sizeof(w), 0);
    NdisFreeIoWorkItem(wi);
    finish_step(w.step, w.vc);
}

static KDEFERRED_ROUTINE tm_op_dpc;
static void tm_op_dpc(PKDPC Dpc, PVOID ctx, PVOID a1, PVOID a2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(a2);
    finish_step((int)(ULONG_PTR)a1, ctx);
}

/* Arrange for a pended step to finish, as the configuration says. */
static void schedule(int step, struct tmcm_vc *vc)
{
    bool host_waits = step == TMCM_PEND_PAUSE || step == TMCM_PEND_RESTART;
    enum tmcm_pend_by by = tm.cfg.pend_by;
    if (by == TMCM_BY_TEST && !host_waits)
        return;
    if (by == TMCM_BY_DPC && !host_waits) {
        PKDPC dpc = vc ? &vc->op_dpc : &tm.op_dpc;
        KeInsertQueueDpc(dpc, (PVOID)(ULONG_PTR)step, NULL);
        return;
    }
    struct tm_work *w = NdisAllocateMemoryWithTagPriority(tm.adapter, sizeof(*w), TM_TAG,
                                                          NormalPoolPriority);
    NDIS_HANDLE wi = NdisAllocateIoWorkItem(tm.adapter);
    if (w == NULL || wi == NULL) {
        /* Out of memory in a test: finish inline rather than hang. */
        if (w)
            NdisFreeMemory(w, sizeof(*w), 0);
        if (wi)
            NdisFreeIoWorkItem(wi);
        finish_step(step, vc);
        return;
    }
    w->step = step;
    w->vc = vc;
    NdisQueueIoWorkItem(wi, tm_work_fn, w);
}

/* ---- adapter lifecycle -------------------------------------------------------- */

static MINIPORT_INITIALIZE TmInitialize;
static NDIS_STATUS TmInitialize(NDIS_HANDLE NdisMiniportHandle, NDIS_HANDLE MiniportDriverContext,
                                PNDIS_MINIPORT_INIT_PARAMETERS MiniportInitParameters)
{
    UNREFERENCED_PARAMETER(MiniportDriverContext);
    UNREFERENCED_PARAMETER(MiniportInitParameters);
    NDIS_MINIPORT_ADAPTER_ATTRIBUTES a;
    memset(&a, 0, sizeof(a));
    a.RegistrationAttributes.Header.Type = NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES;
    a.RegistrationAttributes.Header.Revision = NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1;
    a.RegistrationAttributes.Header.Size = NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1;
    a.RegistrationAttributes.MiniportAdapterContext = &tm;
    a.RegistrationAttributes.InterfaceType = NdisInterfaceInternal;
    NDIS_STATUS st = NdisMSetMiniportAttributes(NdisMiniportHandle, &a);
    if (st != NDIS_STATUS_SUCCESS)
        return st;

    memset(&a, 0, sizeof(a));
    PNDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES g = &a.GeneralAttributes;
    g->Header.Type = NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES;
    g->Header.Revision = NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1;
    g->Header.Size = NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1;
    g->MediaType = NdisMediumCoWan;
    g->PhysicalMediumType = NdisPhysicalMediumUnspecified;
    g->MtuSize = 1500;
    g->MaxXmitLinkSpeed = g->XmitLinkSpeed = 1000000000ULL;
    g->MaxRcvLinkSpeed = g->RcvLinkSpeed = 1000000000ULL;
    g->MediaConnectState = MediaConnectStateConnected;
    g->MediaDuplexState = MediaDuplexStateFull;
    g->AccessType = NET_IF_ACCESS_POINT_TO_POINT;
    g->DirectionType = NET_IF_DIRECTION_SENDRECEIVE;
    g->ConnectionType = NET_IF_CONNECTION_DEDICATED;
    g->IfType = IF_TYPE_OTHER;
    st = NdisMSetMiniportAttributes(NdisMiniportHandle, &a);
    if (st != NDIS_STATUS_SUCCESS)
        return st;

    tm.adapter = NdisMiniportHandle;
    NET_BUFFER_LIST_POOL_PARAMETERS pp;
    memset(&pp, 0, sizeof(pp));
    pp.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    pp.Header.Revision = NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    pp.Header.Size = NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    pp.fAllocateNetBuffer = TRUE;
    pp.PoolTag = TM_TAG;
    pp.DataSize = TM_RX_DATA;
    tm.rx_pool = NdisAllocateNetBufferListPool(NdisMiniportHandle, &pp);
    if (tm.rx_pool == NULL)
        return NDIS_STATUS_RESOURCES;
    KeInitializeDpc(&tm.op_dpc, tm_op_dpc, NULL);

    CO_ADDRESS_FAMILY af = { TDRV_AF, TDRV_AF_MAJOR, 0 };
    st = NdisMCmRegisterAddressFamilyEx(NdisMiniportHandle, &af);
    if (st != NDIS_STATUS_SUCCESS) {
        NdisFreeNetBufferListPool(tm.rx_pool);
        tm.rx_pool = NULL;
        return st;
    }
    return NDIS_STATUS_SUCCESS;
}

static MINIPORT_HALT TmHalt;
static VOID TmHalt(NDIS_HANDLE MiniportAdapterContext, NDIS_HALT_ACTION HaltAction)
{
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(HaltAction);
    atomic_fetch_add(&tm.halts, 1);
    KeFlushQueuedDpcs();
    NdisAcquireSpinLock(&tm.lock);
    struct tmcm_vc *vcs = tm.vcs;
    tm.vcs = NULL;
    NdisReleaseSpinLock(&tm.lock);
    while (vcs) {
        struct tmcm_vc *vc = vcs;
        vcs = vc->next;
        if (vc->log)
            NdisFreeMemory(vc->log, 0, 0);
        NdisFreeSpinLock(&vc->lock);
        NdisFreeMemory(vc, sizeof(*vc), 0);
    }
    if (tm.rx_pool)
        NdisFreeNetBufferListPool(tm.rx_pool);
    tm.rx_pool = NULL;
    tm.adapter = NULL;
}

static MINIPORT_PAUSE TmPause;
static NDIS_STATUS TmPause(NDIS_HANDLE MiniportAdapterContext,
                           PNDIS_MINIPORT_PAUSE_PARAMETERS MiniportPauseParameters)
{
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(MiniportPauseParameters);
    atomic_fetch_add(&tm.pauses, 1);
    atomic_store(&tm.running, 0);
    /* A pausing miniport completes the sends it still holds. */
    tmcm_flush(NULL, TMCM_FIFO, TMCM_COALESCE);
    if (pends(TMCM_PEND_PAUSE)) {
        schedule(TMCM_PEND_PAUSE, NULL);
        return NDIS_STATUS_PENDING;
    }
    return NDIS_STATUS_SUCCESS;
}

static MINIPORT_RESTART TmRestart;
static NDIS_STATUS TmRestart(NDIS_HANDLE MiniportAdapterContext,
                             PNDIS_MINIPORT_RESTART_PARAMETERS MiniportRestartParameters)
{
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(MiniportRestartParameters);
    atomic_fetch_add(&tm.restarts, 1);
    atomic_store(&tm.running, 1);
    if (pends(TMCM_PEND_RESTART)) {
        schedule(TMCM_PEND_RESTART, NULL);
        return NDIS_STATUS_PENDING;
    }
    return NDIS_STATUS_SUCCESS;
}

static MINIPORT_OID_REQUEST TmOidRequest;
static NDIS_STATUS TmOidRequest(NDIS_HANDLE MiniportAdapterContext, PNDIS_OID_REQUEST OidRequest)
{
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(OidRequest);
    return NDIS_STATUS_NOT_SUPPORTED;
}

static MINIPORT_SHUTDOWN TmShutdown;
static VOID TmShutdown(NDIS_HANDLE MiniportAdapterContext, NDIS_SHUTDOWN_ACTION ShutdownAction)
{
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(ShutdownAction);
}

/* ---- receive -------------------------------------------------------------------- */

static MINIPORT_RETURN_NET_BUFFER_LISTS TmReturn;
static VOID TmReturn(NDIS_HANDLE MiniportAdapterContext, PNET_BUFFER_LIST NetBufferLists,
                     ULONG ReturnFlags)
{
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(ReturnFlags);
    for (PNET_BUFFER_LIST nbl = NetBufferLists, next; nbl; nbl = next) {
        next = NET_BUFFER_LIST_NEXT_NBL(nbl);
        NET_BUFFER_LIST_NEXT_NBL(nbl) = NULL;
        NdisFreeNetBufferList(nbl);
        atomic_fetch_add(&tm.returned, 1);
    }
}

static PNET_BUFFER_LIST rx_nbl(struct tmcm_vc *vc, const void *data, ULONG len)
{
    PNET_BUFFER_LIST nbl = NdisAllocateNetBufferList(tm.rx_pool, 0, 0);
    if (nbl == NULL)
        return NULL;
    PNET_BUFFER nb = NET_BUFFER_LIST_FIRST_NB(nbl);
    PUCHAR p = MmGetSystemAddressForMdlSafe(NET_BUFFER_FIRST_MDL(nb), NormalPagePriority);
    if (len > TM_RX_DATA)
        len = TM_RX_DATA;
    memcpy(p + NET_BUFFER_DATA_OFFSET(nb), data, len);
    NET_BUFFER_DATA_LENGTH(nb) = len;
    nbl->SourceHandle = vc->ndis_vc;
    return nbl;
}

/* Indicate a chain; with RESOURCES the NBLs are ours again on return. */
static void indicate(struct tmcm_vc *vc, PNET_BUFFER_LIST chain, ULONG n, ULONG flags)
{
    flags &= ~(ULONG)NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL;
    if (KeGetCurrentIrql() == DISPATCH_LEVEL)
        flags |= NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL;
    atomic_fetch_add(&vc->indicated, n);
    NdisMCoIndicateReceiveNetBufferLists(vc->ndis_vc, chain, n, flags);
    if (flags & NDIS_RECEIVE_FLAGS_RESOURCES)
        TmReturn(&tm, chain, 0);
}

unsigned tmcm_indicate(struct tmcm_vc *vc, unsigned count, ULONG stream, ULONG flags)
{
    PNET_BUFFER_LIST head = NULL, tail = NULL;
    unsigned n = 0;
    for (; n < count; n++) {
        ULONG data[2] = { stream, n };
        PNET_BUFFER_LIST nbl = rx_nbl(vc, data, sizeof(data));
        if (nbl == NULL)
            break;
        if (tail)
            NET_BUFFER_LIST_NEXT_NBL(tail) = nbl;
        else
            head = nbl;
        tail = nbl;
    }
    if (head)
        indicate(vc, head, n, flags);
    return n;
}

/* ---- send ------------------------------------------------------------------------ */

static void read_stamp(PNET_BUFFER_LIST nbl, struct tmcm_rec *r)
{
    r->stream = r->seq = ~0u;
    PNET_BUFFER nb = NET_BUFFER_LIST_FIRST_NB(nbl);
    if (nb == NULL || NET_BUFFER_DATA_LENGTH(nb) < 8 || NET_BUFFER_CURRENT_MDL(nb) == NULL)
        return;
    PUCHAR p = MmGetSystemAddressForMdlSafe(NET_BUFFER_CURRENT_MDL(nb), NormalPagePriority);
    if (p == NULL)
        return;
    p += NET_BUFFER_CURRENT_MDL_OFFSET(nb);
    memcpy(&r->stream, p, 4);
    memcpy(&r->seq, p + 4, 4);
}

/* Hand NBLs back to NDIS, all in one call or one per call. The NBLs are not
 * ours once the call starts. */
static void complete_chain(struct tmcm_vc *vc, PNET_BUFFER_LIST chain, bool split)
{
    if (chain == NULL)
        return;
    ULONG flags = complete_flags();
    NDIS_STATUS st = tm.cfg.send_status;
    unsigned long n = 0;
    NdisAcquireSpinLock(&vc->lock);
    vc->last_n = 0;
    for (PNET_BUFFER_LIST nbl = chain; nbl; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
        NET_BUFFER_LIST_STATUS(nbl) = st;
        if (vc->last_n < 64)
            vc->last[vc->last_n++] = nbl;
        n++;
    }
    NdisReleaseSpinLock(&vc->lock);
    atomic_fetch_add(&vc->completed, n);
    if (!split) {
        NdisMCoSendNetBufferListsComplete(vc->ndis_vc, chain, flags);
        return;
    }
    for (PNET_BUFFER_LIST nbl = chain, next; nbl; nbl = next) {
        next = NET_BUFFER_LIST_NEXT_NBL(nbl);
        NET_BUFFER_LIST_NEXT_NBL(nbl) = NULL;
        NdisMCoSendNetBufferListsComplete(vc->ndis_vc, nbl, flags);
    }
}

void tmcm_complete_again(struct tmcm_vc *vc)
{
    PNET_BUFFER_LIST head = NULL, tail = NULL;
    NdisAcquireSpinLock(&vc->lock);
    for (unsigned i = 0; i < vc->last_n; i++) {
        PNET_BUFFER_LIST nbl = vc->last[i];
        NET_BUFFER_LIST_NEXT_NBL(nbl) = NULL;
        if (tail)
            NET_BUFFER_LIST_NEXT_NBL(tail) = nbl;
        else
            head = nbl;
        tail = nbl;
    }
    NdisReleaseSpinLock(&vc->lock);
    if (head)
        NdisMCoSendNetBufferListsComplete(vc->ndis_vc, head, complete_flags());
}

static void queue_held(struct tmcm_vc *vc, PNET_BUFFER_LIST chain, PNET_BUFFER_LIST tail,
                       unsigned long n)
{
    NdisAcquireSpinLock(&vc->lock);
    if (vc->held_tail)
        NET_BUFFER_LIST_NEXT_NBL(vc->held_tail) = chain;
    else
        vc->held_head = chain;
    vc->held_tail = tail;
    vc->held_n += n;
    NdisReleaseSpinLock(&vc->lock);
}

static PNET_BUFFER_LIST take_held(struct tmcm_vc *vc, unsigned long *n)
{
    NdisAcquireSpinLock(&vc->lock);
    PNET_BUFFER_LIST chain = vc->held_head;
    *n = vc->held_n;
    vc->held_head = vc->held_tail = NULL;
    vc->held_n = 0;
    NdisReleaseSpinLock(&vc->lock);
    return chain;
}

static KDEFERRED_ROUTINE tm_send_dpc;
static void tm_send_dpc(PKDPC Dpc, PVOID ctx, PVOID a1, PVOID a2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(a1);
    UNREFERENCED_PARAMETER(a2);
    struct tmcm_vc *vc = ctx;
    for (;;) {
        unsigned long n;
        PNET_BUFFER_LIST chain = take_held(vc, &n);
        if (chain == NULL)
            return;
        complete_chain(vc, chain, tm.cfg.split);
    }
}

static MINIPORT_CO_SEND_NET_BUFFER_LISTS TmCoSend;
static VOID TmCoSend(NDIS_HANDLE MiniportVcContext, PNET_BUFFER_LIST NetBufferLists, ULONG SendFlags)
{
    struct tmcm_vc *vc = MiniportVcContext;
    KIRQL irql = KeGetCurrentIrql();
    bool flag = (SendFlags & NDIS_SEND_FLAGS_DISPATCH_LEVEL) != 0;
    if (flag && irql != DISPATCH_LEVEL)
        atomic_fetch_add(&vc->flag_lies, 1);
    if (!flag && irql == DISPATCH_LEVEL)
        atomic_fetch_add(&vc->flag_missing, 1);
    if (irql == DISPATCH_LEVEL)
        atomic_fetch_add(&vc->at_dispatch, 1);
    atomic_fetch_add(&vc->send_calls, 1);
    if (atomic_fetch_add(&vc->in_send, 1) != 0)
        atomic_fetch_add(&vc->concurrent_sends, 1); /* NDIS submitted on one VC twice at once */

    ULONG cap = tm.cfg.log_capacity ? tm.cfg.log_capacity : (1u << 18);
    unsigned long n = 0;
    PNET_BUFFER_LIST tail = NULL;
    NdisAcquireSpinLock(&vc->lock);
    for (PNET_BUFFER_LIST nbl = NetBufferLists; nbl; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
        struct tmcm_rec r;
        read_stamp(nbl, &r);
        unsigned long i = atomic_load(&vc->logged);
        if (vc->log && i < cap) {
            vc->log[i] = r;
            atomic_store(&vc->logged, i + 1);
        }
        tail = nbl;
        n++;
    }
    NdisReleaseSpinLock(&vc->lock);
    atomic_fetch_add(&vc->arrived, n);
    atomic_fetch_sub(&vc->in_send, 1);

    if (tm.cfg.loopback) {
        for (PNET_BUFFER_LIST nbl = NetBufferLists; nbl; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
            struct tmcm_rec r;
            read_stamp(nbl, &r);
            PNET_BUFFER_LIST rx = rx_nbl(vc, &r, sizeof(r));
            if (rx)
                indicate(vc, rx, 1, tm.cfg.loopback_resources ? NDIS_RECEIVE_FLAGS_RESOURCES : 0);
        }
    }

    switch (tm.cfg.mode) {
    case TMCM_INLINE:
        complete_chain(vc, NetBufferLists, tm.cfg.split);
        if (tm.cfg.double_complete)
            tmcm_complete_again(vc);
        break;
    case TMCM_HOLD:
        queue_held(vc, NetBufferLists, tail, n);
        break;
    case TMCM_DPC:
        queue_held(vc, NetBufferLists, tail, n);
        KeInsertQueueDpc(&vc->dpc, NULL, NULL);
        break;
    }
}

unsigned long tmcm_held(struct tmcm_vc *vc)
{
    NdisAcquireSpinLock(&vc->lock);
    unsigned long n = vc->held_n;
    NdisReleaseSpinLock(&vc->lock);
    return n;
}

/* A small deterministic generator, so a failing shuffle can be replayed. */
static ULONG shuffle_state = 12345;
static ULONG next_rand(void)
{
    shuffle_state = shuffle_state * 1103515245u + 12345u;
    return shuffle_state >> 8;
}

static void order_array(PNET_BUFFER_LIST *a, unsigned long n, enum tmcm_order order)
{
    if (order == TMCM_REVERSE) {
        for (unsigned long i = 0; i < n / 2; i++) {
            PNET_BUFFER_LIST t = a[i];
            a[i] = a[n - 1 - i];
            a[n - 1 - i] = t;
        }
    } else if (order == TMCM_SHUFFLE) {
        for (unsigned long i = n; i > 1; i--) {
            unsigned long j = next_rand() % i;
            PNET_BUFFER_LIST t = a[i - 1];
            a[i - 1] = a[j];
            a[j] = t;
        }
    }
}

static PNET_BUFFER_LIST link_array(PNET_BUFFER_LIST *a, unsigned long n)
{
    for (unsigned long i = 0; i < n; i++)
        NET_BUFFER_LIST_NEXT_NBL(a[i]) = i + 1 < n ? a[i + 1] : NULL;
    return n ? a[0] : NULL;
}

/* Take vc's held NBLs into a new array (NULL when none or out of memory,
 * in which case they are completed as they are). */
static PNET_BUFFER_LIST *take_array(struct tmcm_vc *vc, unsigned long *n)
{
    PNET_BUFFER_LIST chain = take_held(vc, n);
    if (chain == NULL)
        return NULL;
    PNET_BUFFER_LIST *a = NdisAllocateMemoryWithTagPriority(tm.adapter, (UINT)(*n * sizeof(*a)),
                                                            TM_TAG, NormalPoolPriority);
    if (a == NULL) {
        complete_chain(vc, chain, false);
        *n = 0;
        return NULL;
    }
    unsigned long k = 0;
    for (PNET_BUFFER_LIST nbl = chain; nbl; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl))
        a[k++] = nbl;
    return a;
}

unsigned long tmcm_flush(struct tmcm_vc *only, enum tmcm_order order, enum tmcm_batch batch)
{
    struct tmcm_vc *vcs[256];
    unsigned nv = 0;
    NdisAcquireSpinLock(&tm.lock);
    for (struct tmcm_vc *vc = tm.vcs; vc && nv < 256; vc = vc->next)
        if (only == NULL || vc == only)
            vcs[nv++] = vc;
    NdisReleaseSpinLock(&tm.lock);

    unsigned long total = 0;
    if (batch != TMCM_MIXED) {
        for (unsigned v = nv; v-- > 0;) { /* oldest VC first */
            unsigned long n;
            PNET_BUFFER_LIST *a = take_array(vcs[v], &n);
            if (a == NULL)
                continue;
            order_array(a, n, order);
            complete_chain(vcs[v], link_array(a, n), batch == TMCM_SPLIT);
            NdisFreeMemory(a, 0, 0);
            total += n;
        }
        return total;
    }

    /* One call with the NBLs of every VC; NDIS must route each one back to
     * the VC it was sent on, whatever handle the call names. */
    PNET_BUFFER_LIST *all[256];
    unsigned long cnt[256];
    struct tmcm_vc *first = NULL;
    for (unsigned v = 0; v < nv; v++) {
        all[v] = take_array(vcs[v], &cnt[v]);
        if (all[v]) {
            total += cnt[v];
            first = vcs[v];
        }
    }
    if (total == 0)
        return 0;
    PNET_BUFFER_LIST *a = NdisAllocateMemoryWithTagPriority(tm.adapter, (UINT)(total * sizeof(*a)),
                                                            TM_TAG, NormalPoolPriority);
    unsigned long k = 0;
    for (unsigned v = 0; v < nv; v++) {
        if (all[v] == NULL)
            continue;
        for (unsigned long i = 0; i < cnt[v]; i++) {
            NET_BUFFER_LIST_STATUS(all[v][i]) = tm.cfg.send_status;
            if (a)
                a[k++] = all[v][i];
        }
        if (a)
            atomic_fetch_add(&vcs[v]->completed, cnt[v]);
        else /* no memory for the mix: complete per VC */
            complete_chain(vcs[v], link_array(all[v], cnt[v]), false);
        NdisFreeMemory(all[v], 0, 0);
    }
    if (a) {
        order_array(a, total, order);
        NdisMCoSendNetBufferListsComplete(first->ndis_vc, link_array(a, total), complete_flags());
        NdisFreeMemory(a, 0, 0);
    }
    return total;
}

/* ---- call manager --------------------------------------------------------------- */

static PROTOCOL_CM_OPEN_AF TmCmOpenAf;
static NDIS_STATUS TmCmOpenAf(NDIS_HANDLE CallMgrBindingContext, PCO_ADDRESS_FAMILY AddressFamily,
                              NDIS_HANDLE NdisAfHandle, PNDIS_HANDLE CallMgrAfContext)
{
    atomic_fetch_add(&tm.opens, 1);
    if (CallMgrBindingContext != &tm || AddressFamily->AddressFamily != TDRV_AF)
        return NDIS_STATUS_FAILURE;
    tm.af = NdisAfHandle;
    *CallMgrAfContext = &tm;
    if (pends(TMCM_PEND_OPEN_AF)) {
        atomic_store(&tm.op_pending, TMCM_PEND_OPEN_AF);
        schedule(TMCM_PEND_OPEN_AF, NULL);
        return NDIS_STATUS_PENDING;
    }
    atomic_store(&tm.af_open, 1);
    return NDIS_STATUS_SUCCESS;
}

void tmcm_complete_open_af(NDIS_STATUS st)
{
    atomic_store(&tm.op_pending, 0);
    if (st == NDIS_STATUS_SUCCESS)
        atomic_store(&tm.af_open, 1);
    NdisMCmOpenAddressFamilyComplete(st, tm.af, &tm);
}

static PROTOCOL_CM_CLOSE_AF TmCmCloseAf;
static NDIS_STATUS TmCmCloseAf(NDIS_HANDLE CallMgrAfContext)
{
    UNREFERENCED_PARAMETER(CallMgrAfContext);
    atomic_fetch_add(&tm.closes, 1);
    if (pends(TMCM_PEND_CLOSE_AF)) {
        atomic_store(&tm.op_pending, TMCM_PEND_CLOSE_AF);
        schedule(TMCM_PEND_CLOSE_AF, NULL);
        return NDIS_STATUS_PENDING;
    }
    atomic_store(&tm.af_open, 0);
    return NDIS_STATUS_SUCCESS;
}

void tmcm_complete_close_af(void)
{
    atomic_store(&tm.op_pending, 0);
    atomic_store(&tm.af_open, 0);
    NdisMCmCloseAddressFamilyComplete(NDIS_STATUS_SUCCESS, tm.af);
}

static PROTOCOL_CO_CREATE_VC TmCmCreateVc;
static NDIS_STATUS TmCmCreateVc(NDIS_HANDLE ProtocolAfContext, NDIS_HANDLE NdisVcHandle,
                                PNDIS_HANDLE ProtocolVcContext)
{
    if (ProtocolAfContext != &tm)
        return NDIS_STATUS_FAILURE;
    struct tmcm_vc *vc = NdisAllocateMemoryWithTagPriority(tm.adapter, sizeof(*vc), TM_TAG,
                                                           NormalPoolPriority);
    if (vc == NULL)
        return NDIS_STATUS_RESOURCES;
    memset(vc, 0, sizeof(*vc));
    ULONG cap = tm.cfg.log_capacity ? tm.cfg.log_capacity : (1u << 18);
    vc->log = NdisAllocateMemoryWithTagPriority(tm.adapter, cap * (UINT)sizeof(struct tmcm_rec),
                                                TM_TAG, NormalPoolPriority);
    if (vc->log == NULL) {
        NdisFreeMemory(vc, sizeof(*vc), 0);
        return NDIS_STATUS_RESOURCES;
    }
    NdisAllocateSpinLock(&vc->lock);
    KeInitializeDpc(&vc->dpc, tm_send_dpc, vc);
    KeInitializeDpc(&vc->op_dpc, tm_op_dpc, vc);
    vc->ndis_vc = NdisVcHandle;
    NdisAcquireSpinLock(&tm.lock);
    vc->index = tm.nvcs++;
    vc->next = tm.vcs;
    tm.vcs = vc;
    NdisReleaseSpinLock(&tm.lock);
    atomic_fetch_add(&tm.create_vcs, 1);
    *ProtocolVcContext = vc;
    return NDIS_STATUS_SUCCESS;
}

static PROTOCOL_CO_DELETE_VC TmCmDeleteVc;
static NDIS_STATUS TmCmDeleteVc(NDIS_HANDLE ProtocolVcContext)
{
    struct tmcm_vc *vc = ProtocolVcContext;
    atomic_store(&vc->deleted, true);
    atomic_fetch_add(&tm.delete_vcs, 1);
    return NDIS_STATUS_SUCCESS;
}

static PROTOCOL_CM_MAKE_CALL TmCmMakeCall;
static NDIS_STATUS TmCmMakeCall(NDIS_HANDLE CallMgrVcContext, PCO_CALL_PARAMETERS CallParameters,
                                NDIS_HANDLE NdisPartyHandle, PNDIS_HANDLE CallMgrPartyContext)
{
    struct tmcm_vc *vc = CallMgrVcContext;
    UNREFERENCED_PARAMETER(NdisPartyHandle);
    atomic_fetch_add(&tm.make_calls, 1);
    if (CallMgrPartyContext)
        *CallMgrPartyContext = NULL;
    vc->make_params = CallParameters;
    if (pends(TMCM_PEND_MAKE_CALL)) {
        atomic_store(&vc->op_pending, TMCM_PEND_MAKE_CALL);
        schedule(TMCM_PEND_MAKE_CALL, vc);
        return NDIS_STATUS_PENDING;
    }
    NDIS_STATUS st = NdisMCmActivateVc(vc->ndis_vc, CallParameters);
    if (st != NDIS_STATUS_SUCCESS)
        return st;
    atomic_store(&vc->active, true);
    return NDIS_STATUS_SUCCESS;
}

void tmcm_complete_make_call(struct tmcm_vc *vc, NDIS_STATUS st)
{
    atomic_store(&vc->op_pending, 0);
    if (st == NDIS_STATUS_SUCCESS) {
        st = NdisMCmActivateVc(vc->ndis_vc, vc->make_params);
        if (st == NDIS_STATUS_SUCCESS)
            atomic_store(&vc->active, true);
    }
    NdisMCmMakeCallComplete(st, vc->ndis_vc, NULL, NULL, vc->make_params);
}

static PROTOCOL_CM_CLOSE_CALL TmCmCloseCall;
static NDIS_STATUS TmCmCloseCall(NDIS_HANDLE CallMgrVcContext, NDIS_HANDLE CallMgrPartyContext,
                                 PVOID CloseData, UINT Size)
{
    struct tmcm_vc *vc = CallMgrVcContext;
    UNREFERENCED_PARAMETER(CallMgrPartyContext);
    UNREFERENCED_PARAMETER(CloseData);
    UNREFERENCED_PARAMETER(Size);
    atomic_fetch_add(&tm.close_calls, 1);
    if (pends(TMCM_PEND_CLOSE_CALL)) {
        atomic_store(&vc->op_pending, TMCM_PEND_CLOSE_CALL);
        schedule(TMCM_PEND_CLOSE_CALL, vc);
        return NDIS_STATUS_PENDING;
    }
    NdisMCmDeactivateVc(vc->ndis_vc);
    atomic_store(&vc->active, false);
    return NDIS_STATUS_SUCCESS;
}

void tmcm_complete_close_call(struct tmcm_vc *vc, NDIS_STATUS st)
{
    atomic_store(&vc->op_pending, 0);
    if (st == NDIS_STATUS_SUCCESS) {
        NdisMCmDeactivateVc(vc->ndis_vc);
        atomic_store(&vc->active, false);
    }
    NdisMCmCloseCallComplete(st, vc->ndis_vc, NULL);
}

NDIS_STATUS tmcm_notify_close_af(void)
{
    return NdisMCmNotifyCloseAddressFamily(tm.af);
}

void tmcm_incoming_close(struct tmcm_vc *vc, NDIS_STATUS close_status)
{
    NdisMCmDispatchIncomingCloseCall(close_status, vc->ndis_vc, NULL, 0);
}

static PROTOCOL_CM_NOTIFY_CLOSE_AF_COMPLETE TmCmNotifyCloseAfComplete;
static VOID TmCmNotifyCloseAfComplete(NDIS_HANDLE CallMgrAfContext, NDIS_STATUS Status)
{
    UNREFERENCED_PARAMETER(CallMgrAfContext);
    atomic_store(&tm.notify_close_status, Status);
    atomic_fetch_add(&tm.notify_close_complete, 1);
}

/* Handlers an MCM must supply but tmcm does not use. */
static PROTOCOL_CM_REG_SAP TmCmRegSap;
static NDIS_STATUS TmCmRegSap(NDIS_HANDLE a, PCO_SAP s, NDIS_HANDLE h, PNDIS_HANDLE c)
{
    UNREFERENCED_PARAMETER(a); UNREFERENCED_PARAMETER(s);
    UNREFERENCED_PARAMETER(h); UNREFERENCED_PARAMETER(c);
    return NDIS_STATUS_NOT_SUPPORTED;
}
static PROTOCOL_CM_DEREGISTER_SAP TmCmDeregSap;
static NDIS_STATUS TmCmDeregSap(NDIS_HANDLE c)
{
    UNREFERENCED_PARAMETER(c);
    return NDIS_STATUS_NOT_SUPPORTED;
}
static PROTOCOL_CM_INCOMING_CALL_COMPLETE TmCmIncomingCallComplete;
static VOID TmCmIncomingCallComplete(NDIS_STATUS s, NDIS_HANDLE c, PCO_CALL_PARAMETERS p)
{
    UNREFERENCED_PARAMETER(s); UNREFERENCED_PARAMETER(c); UNREFERENCED_PARAMETER(p);
}
static PROTOCOL_CM_ADD_PARTY TmCmAddParty;
static NDIS_STATUS TmCmAddParty(NDIS_HANDLE c, PCO_CALL_PARAMETERS p, NDIS_HANDLE h, PNDIS_HANDLE pc)
{
    UNREFERENCED_PARAMETER(c); UNREFERENCED_PARAMETER(p);
    UNREFERENCED_PARAMETER(h); UNREFERENCED_PARAMETER(pc);
    return NDIS_STATUS_NOT_SUPPORTED;
}
static PROTOCOL_CM_DROP_PARTY TmCmDropParty;
static NDIS_STATUS TmCmDropParty(NDIS_HANDLE c, PVOID d, UINT n)
{
    UNREFERENCED_PARAMETER(c); UNREFERENCED_PARAMETER(d); UNREFERENCED_PARAMETER(n);
    return NDIS_STATUS_NOT_SUPPORTED;
}
static PROTOCOL_CM_ACTIVATE_VC_COMPLETE TmCmActivateVcComplete;
static VOID TmCmActivateVcComplete(NDIS_STATUS s, NDIS_HANDLE c, PCO_CALL_PARAMETERS p)
{
    UNREFERENCED_PARAMETER(s); UNREFERENCED_PARAMETER(c); UNREFERENCED_PARAMETER(p);
}
static PROTOCOL_CM_DEACTIVATE_VC_COMPLETE TmCmDeactivateVcComplete;
static VOID TmCmDeactivateVcComplete(NDIS_STATUS s, NDIS_HANDLE c)
{
    UNREFERENCED_PARAMETER(s); UNREFERENCED_PARAMETER(c);
}
static PROTOCOL_CM_MODIFY_QOS_CALL TmCmModifyQos;
static NDIS_STATUS TmCmModifyQos(NDIS_HANDLE c, PCO_CALL_PARAMETERS p)
{
    UNREFERENCED_PARAMETER(c); UNREFERENCED_PARAMETER(p);
    return NDIS_STATUS_NOT_SUPPORTED;
}
static PROTOCOL_CO_OID_REQUEST TmCmOid;
static NDIS_STATUS TmCmOid(NDIS_HANDLE a, NDIS_HANDLE v, NDIS_HANDLE p, PNDIS_OID_REQUEST r)
{
    UNREFERENCED_PARAMETER(a); UNREFERENCED_PARAMETER(v);
    UNREFERENCED_PARAMETER(p); UNREFERENCED_PARAMETER(r);
    return NDIS_STATUS_NOT_SUPPORTED;
}
static PROTOCOL_CO_OID_REQUEST_COMPLETE TmCmOidComplete;
static VOID TmCmOidComplete(NDIS_HANDLE a, NDIS_HANDLE v, NDIS_HANDLE p, PNDIS_OID_REQUEST r,
                            NDIS_STATUS s)
{
    UNREFERENCED_PARAMETER(a); UNREFERENCED_PARAMETER(v); UNREFERENCED_PARAMETER(p);
    UNREFERENCED_PARAMETER(r); UNREFERENCED_PARAMETER(s);
}
static MINIPORT_CO_ACTIVATE_VC TmCoActivateVc;
static NDIS_STATUS TmCoActivateVc(NDIS_HANDLE c, PCO_CALL_PARAMETERS p)
{
    UNREFERENCED_PARAMETER(c); UNREFERENCED_PARAMETER(p);
    return NDIS_STATUS_SUCCESS;
}
static MINIPORT_CO_DEACTIVATE_VC TmCoDeactivateVc;
static NDIS_STATUS TmCoDeactivateVc(NDIS_HANDLE c)
{
    UNREFERENCED_PARAMETER(c);
    return NDIS_STATUS_SUCCESS;
}
static MINIPORT_CO_OID_REQUEST TmCoOid;
static NDIS_STATUS TmCoOid(NDIS_HANDLE a, NDIS_HANDLE v, PNDIS_OID_REQUEST r)
{
    UNREFERENCED_PARAMETER(a); UNREFERENCED_PARAMETER(v); UNREFERENCED_PARAMETER(r);
    return NDIS_STATUS_NOT_SUPPORTED;
}

/* ---- registration ----------------------------------------------------------------- */

static MINIPORT_SET_OPTIONS TmSetOptions;
static NDIS_STATUS TmSetOptions(NDIS_HANDLE NdisDriverHandle, NDIS_HANDLE DriverContext)
{
    UNREFERENCED_PARAMETER(DriverContext);
    NDIS_MINIPORT_CO_CHARACTERISTICS co;
    memset(&co, 0, sizeof(co));
    co.Header.Type = NDIS_OBJECT_TYPE_CO_MINIPORT_CHARACTERISTICS;
    co.Header.Revision = NDIS_MINIPORT_CO_CHARACTERISTICS_REVISION_1;
    co.Header.Size = NDIS_SIZEOF_MINIPORT_CO_CHARACTERISTICS_REVISION_1;
    /* An MCM leaves CoCreateVc/CoDeleteVc NULL: NDIS uses the CM's. */
    co.CoActivateVcHandler = TmCoActivateVc;
    co.CoDeactivateVcHandler = TmCoDeactivateVc;
    co.CoSendNetBufferListsHandler = TmCoSend;
    co.CoOidRequestHandler = TmCoOid;
    NDIS_STATUS st = NdisSetOptionalHandlers(NdisDriverHandle, (PNDIS_DRIVER_OPTIONAL_HANDLERS)&co);
    if (st != NDIS_STATUS_SUCCESS)
        return st;

    NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS cm;
    memset(&cm, 0, sizeof(cm));
    cm.Header.Type = NDIS_OBJECT_TYPE_CO_CALL_MANAGER_OPTIONAL_HANDLERS;
    cm.Header.Revision = NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS_REVISION_1;
    cm.Header.Size = NDIS_SIZEOF_CO_CALL_MANAGER_OPTIONAL_HANDLERS_REVISION_1;
    cm.CmCreateVcHandler = TmCmCreateVc;
    cm.CmDeleteVcHandler = TmCmDeleteVc;
    cm.CmOpenAfHandler = TmCmOpenAf;
    cm.CmCloseAfHandler = TmCmCloseAf;
    cm.CmRegisterSapHandler = TmCmRegSap;
    cm.CmDeregisterSapHandler = TmCmDeregSap;
    cm.CmMakeCallHandler = TmCmMakeCall;
    cm.CmCloseCallHandler = TmCmCloseCall;
    cm.CmIncomingCallCompleteHandler = TmCmIncomingCallComplete;
    cm.CmAddPartyHandler = TmCmAddParty;
    cm.CmDropPartyHandler = TmCmDropParty;
    cm.CmActivateVcCompleteHandler = TmCmActivateVcComplete;
    cm.CmDeactivateVcCompleteHandler = TmCmDeactivateVcComplete;
    cm.CmModifyCallQoSHandler = TmCmModifyQos;
    cm.CmOidRequestHandler = TmCmOid;
    cm.CmOidRequestCompleteHandler = TmCmOidComplete;
    cm.CmNotifyCloseAfCompleteHandler = TmCmNotifyCloseAfComplete;
    return NdisSetOptionalHandlers(NdisDriverHandle, (PNDIS_DRIVER_OPTIONAL_HANDLERS)&cm);
}

static MINIPORT_UNLOAD TmUnload;
static VOID TmUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    NdisMDeregisterMiniportDriver(tm.driver);
    tm.driver = NULL;
}

NTSTATUS tmcm_driver_entry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NDIS_MINIPORT_DRIVER_CHARACTERISTICS mc;
    memset(&mc, 0, sizeof(mc));
    mc.Header.Type = NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS;
    mc.Header.Revision = NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1;
    mc.Header.Size = NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1;
    mc.MajorNdisVersion = 6;
    mc.MinorNdisVersion = 0;
    mc.SetOptionsHandler = TmSetOptions;
    mc.InitializeHandlerEx = TmInitialize;
    mc.HaltHandlerEx = TmHalt;
    mc.UnloadHandler = TmUnload;
    mc.PauseHandler = TmPause;
    mc.RestartHandler = TmRestart;
    mc.OidRequestHandler = TmOidRequest;
    mc.ReturnNetBufferListsHandler = TmReturn;
    mc.ShutdownHandlerEx = TmShutdown;
    return NdisMRegisterMiniportDriver(DriverObject, RegistryPath, &tm, &mc, &tm.driver);
}

int tmcm_load(const struct tmcm_config *cfg, struct condis_driver **out)
{
    memset(&tm, 0, sizeof(tm));
    if (cfg)
        tm.cfg = *cfg;
    NdisAllocateSpinLock(&tm.lock);
    NTSTATUS st;
    return condis_driver_load("tmcm", tmcm_driver_entry, out, &st);
}

void tmcm_set_send_status(NDIS_STATUS st)
{
    tm.cfg.send_status = st;
}

void tmcm_set_mode(enum tmcm_mode mode, bool split)
{
    tm.cfg.mode = mode;
    tm.cfg.split = split;
}

void tmcm_set_pend(unsigned pend, enum tmcm_pend_by by)
{
    tm.cfg.pend = pend;
    tm.cfg.pend_by = by;
}

struct tmcm_vc *tmcm_vc_of(NDIS_HANDLE ndis_vc)
{
    struct tmcm_vc *found = NULL;
    NdisAcquireSpinLock(&tm.lock);
    for (struct tmcm_vc *vc = tm.vcs; vc; vc = vc->next)
        if (vc->ndis_vc == ndis_vc)
            found = vc;
    NdisReleaseSpinLock(&tm.lock);
    return found;
}

/* ---- common set-ups ----------------------------------------------------------------- */

#include <stdio.h>

int tdrv_start(struct tdrv_env *env, const struct tclient_config *ccfg,
               const struct tmcm_config *mcfg)
{
    memset(env, 0, sizeof(*env));
    if (tmcm_load(mcfg, &env->mcm) != 0) {
        fprintf(stderr, "tdrv_start: tmcm did not load\n");
        return -1;
    }
    if (tclient_load(ccfg, &env->client) != 0) {
        fprintf(stderr, "tdrv_start: tclient did not load\n");
        return -1;
    }
    if (condis_adapter_add(env->mcm, "tmcm0", &env->adapter) != 0) {
        fprintf(stderr, "tdrv_start: the tmcm adapter did not start\n");
        return -1;
    }
    if (condis_bind_all() != 0) {
        fprintf(stderr, "tdrv_start: binding failed\n");
        return -1;
    }
    if (ccfg && ccfg->no_open_af_on_notify)
        return 0;
    if ((mcfg && (mcfg->pend & TMCM_PEND_OPEN_AF) && mcfg->pend_by == TMCM_BY_TEST))
        return 0;
    NDIS_STATUS st = tclient_wait_af_open(TDRV_WAIT_MS);
    if (st != NDIS_STATUS_SUCCESS) {
        fprintf(stderr, "tdrv_start: the AF did not open: %s\n", condis_status_name(st));
        return -1;
    }
    return 0;
}

struct tclient_vc *tdrv_vc_with_call(void)
{
    NDIS_STATUS st;
    struct tclient_vc *vc = tclient_create_vc(&st);
    if (vc == NULL) {
        fprintf(stderr, "tdrv_vc_with_call: NdisCoCreateVc: %s\n", condis_status_name(st));
        return NULL;
    }
    tclient_make_call(vc);
    st = tclient_wait_make_call(vc, TDRV_WAIT_MS);
    if (st != NDIS_STATUS_SUCCESS) {
        fprintf(stderr, "tdrv_vc_with_call: the call failed: %s\n", condis_status_name(st));
        return NULL;
    }
    return vc;
}

int tdrv_vc_teardown(struct tclient_vc *vc)
{
    if (atomic_load(&vc->call_up)) {
        tclient_close_call(vc);
        NDIS_STATUS st = tclient_wait_close_call(vc, TDRV_WAIT_MS);
        if (st != NDIS_STATUS_SUCCESS) {
            fprintf(stderr, "tdrv_vc_teardown: close call: %s\n", condis_status_name(st));
            return -1;
        }
    }
    NDIS_STATUS st = tclient_delete_vc(vc);
    if (st != NDIS_STATUS_SUCCESS) {
        fprintf(stderr, "tdrv_vc_teardown: NdisCoDeleteVc: %s\n", condis_status_name(st));
        return -1;
    }
    return 0;
}
