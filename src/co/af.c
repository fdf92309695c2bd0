/*
 * af.c - a client's opens of the address families an MCM registered:
 * NdisClOpenAddressFamilyEx / NdisCmOpenAddressFamilyComplete,
 * NdisClCloseAddressFamily / NdisCmCloseAddressFamilyComplete, and the
 * call-manager-initiated close: NdisCmNotifyCloseAddressFamily ->
 * ProtocolClNotifyCloseAf -> NdisClNotifyCloseAddressFamilyComplete.
 *
 * As Windows documents for the Cl* requests: when the call manager answers
 * at once, the status is returned and the client calls its own completion
 * handler; condis calls the client's completion handler only for a request
 * that returned NDIS_STATUS_PENDING.
 */
#include <stdlib.h>
#include <string.h>

#include "cn_co.h"

static struct cn_af *af_get(NDIS_HANDLE h, const char *fn)
{
    struct cn_af *af = cn_handle_get(h, CN_H_AF);
    if (af == NULL)
        cn_warn("%s: %p is not a live NdisAfHandle", fn, h);
    return af;
}

static void af_free(struct cn_af *af)
{
    pthread_mutex_lock(&cn_rt.rt_lock);
    RemoveEntryList(&af->af_b_link);
    af->af_state = CN_AF_CLOSED;
    pthread_mutex_unlock(&cn_rt.rt_lock);
    cn_handle_free(af->af_handle);
    free(af);
}

static struct cn_driver *af_mcm(struct cn_af *af)
{
    return af->af_binding->b_adapter->ad_miniport;
}

static void open_complete_work(struct cn_work *w)
{
    struct cn_af *af = CONTAINING_RECORD(w, struct cn_af, af_work);
    struct cn_driver *p = af->af_binding->b_protocol;
    NDIS_STATUS st = af->af_work_status;
    NDIS_HANDLE ctx = af->af_client_context;
    NDIS_HANDLE h = st == NDIS_STATUS_SUCCESS ? af->af_handle : NULL;
    const NDIS_CO_CLIENT_OPTIONAL_HANDLERS *cl = af->af_cl;
    if (st != NDIS_STATUS_SUCCESS)
        af_free(af); /* before the call: the client may unbind from it */
    CN_CALL(p->drv_name, cl->ClOpenAfCompleteHandlerEx(ctx, h, st));
}

NDIS_STATUS NdisClOpenAddressFamilyEx(NDIS_HANDLE NdisBindingHandle, PCO_ADDRESS_FAMILY AddressFamily,
                                      NDIS_HANDLE ClientAfContext, PNDIS_HANDLE NdisAfHandle)
{
    CN_PASSIVE("NdisClOpenAddressFamilyEx");
    struct cn_binding *b = cn_binding_get(NdisBindingHandle);
    if (b == NULL) {
        cn_warn("NdisClOpenAddressFamilyEx: %p is not a live binding handle", NdisBindingHandle);
        return NDIS_STATUS_INVALID_PARAMETER;
    }
    struct cn_driver *p = b->b_protocol;
    if (!p->drv_has_cl) {
        cn_warn("%s: NdisClOpenAddressFamilyEx: register NDIS_CO_CLIENT_OPTIONAL_HANDLERS first",
                p->drv_name);
        return NDIS_STATUS_FAILURE;
    }
    return cn_af_open(NdisBindingHandle, AddressFamily, ClientAfContext, &p->drv_cl, NdisAfHandle);
}

NDIS_STATUS cn_af_open(NDIS_HANDLE NdisBindingHandle, PCO_ADDRESS_FAMILY AddressFamily,
                       NDIS_HANDLE ClientAfContext, const NDIS_CO_CLIENT_OPTIONAL_HANDLERS *cl,
                       PNDIS_HANDLE NdisAfHandle)
{
    struct cn_binding *b = cn_binding_get(NdisBindingHandle);
    if (b == NULL || AddressFamily == NULL || NdisAfHandle == NULL || cl == NULL) {
        cn_warn("NdisClOpenAddressFamilyEx: a live binding handle, an address family and "
                "NdisAfHandle are required");
        return NDIS_STATUS_INVALID_PARAMETER;
    }
    struct cn_driver *p = b->b_protocol;
    *NdisAfHandle = NULL;
    if (cn_irql() != PASSIVE_LEVEL)
        cn_warn("%s: NdisClOpenAddressFamilyEx must be called at PASSIVE_LEVEL", p->drv_name);
    struct condis_adapter *ad = b->b_adapter;
    struct cn_af *af = calloc(1, sizeof(*af));
    if (af == NULL)
        return NDIS_STATUS_RESOURCES;
    af->af_cl = cl;
    af->af_binding = b;
    af->af_client_context = ClientAfContext;
    af->af_state = CN_AF_OPENING;
    InitializeListHead(&af->af_vcs);

    pthread_mutex_lock(&cn_rt.rt_lock);
    for (LIST_ENTRY *e = ad->ad_afregs.Flink; e != &ad->ad_afregs; e = e->Flink) {
        struct cn_afreg *ar = CONTAINING_RECORD(e, struct cn_afreg, ar_link);
        if (ar->ar_af.AddressFamily == AddressFamily->AddressFamily &&
            ar->ar_af.MajorVersion == AddressFamily->MajorVersion)
            af->af_reg = ar;
    }
    bool open = b->b_state == CN_B_OPEN;
    if (af->af_reg && open)
        InsertTailList(&b->b_afs, &af->af_b_link);
    pthread_mutex_unlock(&cn_rt.rt_lock);
    if (af->af_reg == NULL || !open) {
        free(af);
        if (!open)
            return NDIS_STATUS_CLOSING;
        cn_warn("%s: NdisClOpenAddressFamilyEx: address family 0x%x version %u is not "
                "registered on %s", p->drv_name, (unsigned)AddressFamily->AddressFamily,
                AddressFamily->MajorVersion, ad->ad_name);
        return NDIS_STATUS_FAILURE;
    }
    af->af_handle = cn_handle_alloc(CN_H_AF, af, p->drv_name);
    if (af->af_handle == NULL) {
        pthread_mutex_lock(&cn_rt.rt_lock);
        RemoveEntryList(&af->af_b_link);
        pthread_mutex_unlock(&cn_rt.rt_lock);
        free(af);
        return NDIS_STATUS_RESOURCES;
    }
    struct cn_driver *mcm = ad->ad_miniport;
    NDIS_HANDLE cm_ctx = NULL;
    NDIS_STATUS st;
    CN_CALL(mcm->drv_name, st = mcm->drv_cm.CmOpenAfHandler(ad->ad_context, AddressFamily,
                                                            af->af_handle, &cm_ctx));
    if (st == NDIS_STATUS_PENDING)
        return NDIS_STATUS_PENDING;
    if (st != NDIS_STATUS_SUCCESS) {
        af_free(af);
        return st;
    }
    af->af_cm_context = cm_ctx;
    pthread_mutex_lock(&cn_rt.rt_lock);
    af->af_state = CN_AF_OPEN;
    pthread_mutex_unlock(&cn_rt.rt_lock);
    *NdisAfHandle = af->af_handle;
    return NDIS_STATUS_SUCCESS;
}

VOID NdisCmOpenAddressFamilyComplete(NDIS_STATUS Status, NDIS_HANDLE NdisAfHandle,
                                     NDIS_HANDLE CallMgrAfContext)
{
    struct cn_af *af = af_get(NdisAfHandle, "NdisCmOpenAddressFamilyComplete");
    if (af == NULL)
        return;
    pthread_mutex_lock(&cn_rt.rt_lock);
    bool opening = af->af_state == CN_AF_OPENING;
    if (opening && Status == NDIS_STATUS_SUCCESS)
        af->af_state = CN_AF_OPEN;
    pthread_mutex_unlock(&cn_rt.rt_lock);
    if (!opening) {
        cn_warn("%s: NdisCmOpenAddressFamilyComplete for an AF that is not being opened",
                af_mcm(af)->drv_name);
        return;
    }
    if (Status == NDIS_STATUS_PENDING) {
        cn_warn("%s: NdisCmOpenAddressFamilyComplete with NDIS_STATUS_PENDING; the status must "
                "be final", af_mcm(af)->drv_name);
        Status = NDIS_STATUS_FAILURE;
    }
    struct cn_driver *mcm = af_mcm(af);
    af->af_cm_context = mcm->drv_cm_af_complete_ctx
                            ? mcm->drv_cm_af_complete_ctx(NdisAfHandle, CallMgrAfContext)
                            : CallMgrAfContext;
    af->af_work_status = Status;
    /* ProtocolClOpenAfCompleteEx runs at PASSIVE_LEVEL. */
    af->af_work.w_fn = open_complete_work;
    if (cn_irql() == PASSIVE_LEVEL)
        open_complete_work(&af->af_work);
    else
        cn_work_queue_passive(&af->af_work);
}

/* The AF is gone for the client; tell it, unless a notify-close is still
 * pending, in which case the handle stays live until the client completes
 * it. */
static void close_finish(struct cn_af *af, NDIS_STATUS st, bool call_client)
{
    struct cn_driver *p = af->af_binding->b_protocol;
    NDIS_HANDLE ctx = af->af_client_context;
    const NDIS_CO_CLIENT_OPTIONAL_HANDLERS *cl = af->af_cl;
    pthread_mutex_lock(&cn_rt.rt_lock);
    bool keep = af->af_notify_pending;
    af->af_state = CN_AF_CLOSED;
    if (keep) {
        RemoveEntryList(&af->af_b_link);
        InitializeListHead(&af->af_b_link);
    }
    pthread_mutex_unlock(&cn_rt.rt_lock);
    if (!keep)
        af_free(af);
    if (call_client)
        CN_CALL(p->drv_name, cl->ClCloseAfCompleteHandler(st, ctx));
}

NDIS_STATUS NdisClCloseAddressFamily(NDIS_HANDLE NdisAfHandle)
{
    struct cn_af *af = af_get(NdisAfHandle, "NdisClCloseAddressFamily");
    if (af == NULL)
        return NDIS_STATUS_INVALID_PARAMETER;
    struct cn_driver *p = af->af_binding->b_protocol;
    pthread_mutex_lock(&cn_rt.rt_lock);
    int state = af->af_state;
    bool vcs = !IsListEmpty(&af->af_vcs);
    if (state == CN_AF_OPEN && !vcs)
        af->af_state = CN_AF_CLOSING;
    pthread_mutex_unlock(&cn_rt.rt_lock);
    if (state != CN_AF_OPEN) {
        cn_warn("%s: NdisClCloseAddressFamily on an AF that is %s", p->drv_name,
                state == CN_AF_OPENING ? "still opening" : "already closing");
        return NDIS_STATUS_FAILURE;
    }
    if (vcs) {
        cn_warn("%s: NdisClCloseAddressFamily with VCs still on the AF; close their calls and "
                "delete them first", p->drv_name);
        return NDIS_STATUS_FAILURE;
    }
    struct cn_driver *mcm = af_mcm(af);
    NDIS_STATUS st;
    CN_CALL(mcm->drv_name, st = mcm->drv_cm.CmCloseAfHandler(af->af_cm_context));
    if (st == NDIS_STATUS_PENDING)
        return NDIS_STATUS_PENDING;
    if (st != NDIS_STATUS_SUCCESS) {
        pthread_mutex_lock(&cn_rt.rt_lock);
        af->af_state = CN_AF_OPEN;
        pthread_mutex_unlock(&cn_rt.rt_lock);
        return st;
    }
    close_finish(af, st, false);
    return NDIS_STATUS_SUCCESS;
}

VOID NdisCmCloseAddressFamilyComplete(NDIS_STATUS Status, NDIS_HANDLE NdisAfHandle)
{
    struct cn_af *af = af_get(NdisAfHandle, "NdisCmCloseAddressFamilyComplete");
    if (af == NULL)
        return;
    pthread_mutex_lock(&cn_rt.rt_lock);
    bool closing = af->af_state == CN_AF_CLOSING;
    pthread_mutex_unlock(&cn_rt.rt_lock);
    if (!closing) {
        cn_warn("%s: NdisCmCloseAddressFamilyComplete for an AF that is not being closed",
                af_mcm(af)->drv_name);
        return;
    }
    if (Status != NDIS_STATUS_SUCCESS) {
        cn_warn("%s: NdisCmCloseAddressFamilyComplete with %s; closing an AF completes with "
                "NDIS_STATUS_SUCCESS", af_mcm(af)->drv_name, cn_status_name(Status));
        Status = NDIS_STATUS_SUCCESS;
    }
    close_finish(af, Status, true);
}

NDIS_STATUS NdisCmNotifyCloseAddressFamily(NDIS_HANDLE NdisAfHandle)
{
    CN_PASSIVE("NdisCmNotifyCloseAddressFamily");
    struct cn_af *af = af_get(NdisAfHandle, "NdisCmNotifyCloseAddressFamily");
    if (af == NULL)
        return NDIS_STATUS_INVALID_PARAMETER;
    struct cn_driver *p = af->af_binding->b_protocol;
    pthread_mutex_lock(&cn_rt.rt_lock);
    bool ok = af->af_state == CN_AF_OPEN && !af->af_notify_pending;
    if (ok)
        af->af_notify_pending = true;
    pthread_mutex_unlock(&cn_rt.rt_lock);
    if (!ok) {
        cn_warn("%s: NdisCmNotifyCloseAddressFamily on an AF that is not open, or twice",
                af_mcm(af)->drv_name);
        return NDIS_STATUS_FAILURE;
    }
    NDIS_STATUS st;
    CN_CALL(p->drv_name, st = af->af_cl->ClNotifyCloseAfHandler(af->af_client_context));
    if (st == NDIS_STATUS_PENDING)
        return NDIS_STATUS_PENDING;
    /* Answered at once: the client closed the AF in its handler, or
     * refused. Either way the notify is over. */
    pthread_mutex_lock(&cn_rt.rt_lock);
    af->af_notify_pending = false;
    bool closed = af->af_state == CN_AF_CLOSED;
    pthread_mutex_unlock(&cn_rt.rt_lock);
    if (closed)
        af_free(af);
    return st;
}

VOID NdisClNotifyCloseAddressFamilyComplete(NDIS_HANDLE NdisAfHandle, NDIS_STATUS Status)
{
    struct cn_af *af = af_get(NdisAfHandle, "NdisClNotifyCloseAddressFamilyComplete");
    if (af == NULL)
        return;
    pthread_mutex_lock(&cn_rt.rt_lock);
    bool pending = af->af_notify_pending;
    af->af_notify_pending = false;
    bool closed = af->af_state == CN_AF_CLOSED;
    pthread_mutex_unlock(&cn_rt.rt_lock);
    if (!pending) {
        cn_warn("%s: NdisClNotifyCloseAddressFamilyComplete without a pending "
                "ProtocolClNotifyCloseAf", af->af_binding->b_protocol->drv_name);
        return;
    }
    struct cn_driver *mcm = af_mcm(af);
    NDIS_HANDLE cm_ctx = af->af_cm_context;
    if (closed)
        af_free(af);
    CN_CALL(mcm->drv_name, mcm->drv_cm.CmNotifyCloseAfCompleteHandler(cm_ctx, Status));
}
