/*
 * binding.c - binding protocols to adapters and unbinding them:
 * ProtocolBindAdapterEx -> NdisOpenAdapterEx -> (ProtocolOpenAdapterCompleteEx)
 * -> NdisCompleteBindAdapterEx, and ProtocolUnbindAdapterEx ->
 * NdisCloseAdapterEx -> (ProtocolCloseAdapterCompleteEx) ->
 * NdisCompleteUnbindAdapterEx; and telling bound CoNDIS clients about the
 * address families of their adapter (ProtocolCoAfRegisterNotify).
 *
 * The host thread drives a bind or unbind and waits when the protocol pends
 * it; the completion may come from any thread, including condis' workers,
 * so a driver that waits in its bind handler for its own open never
 * deadlocks.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cn_co.h"

struct cn_binding *cn_binding_get(NDIS_HANDLE NdisBindingHandle)
{
    return cn_handle_get(NdisBindingHandle, CN_H_BINDING);
}

static void binding_free(struct cn_binding *b)
{
    pthread_mutex_lock(&cn_rt.rt_lock);
    RemoveEntryList(&b->b_ad_link);
    RemoveEntryList(&b->b_drv_link);
    pthread_mutex_unlock(&cn_rt.rt_lock);
    cn_handle_free(b->b_bind_context);
    cn_handle_free(b->b_unbind_context);
    cn_handle_free(b->b_handle);
    free(b);
}

static NDIS_STATUS pnp_event(struct cn_binding *b, NET_PNP_EVENT_CODE code)
{
    PROTOCOL_NET_PNP_EVENT *fn = b->b_protocol->drv_pchars.NetPnPEventHandler;
    if (fn == NULL)
        return NDIS_STATUS_SUCCESS;
    NDIS_PROTOCOL_PAUSE_PARAMETERS pause;
    NDIS_PROTOCOL_RESTART_PARAMETERS restart;
    NET_PNP_EVENT_NOTIFICATION n;
    memset(&n, 0, sizeof(n));
    n.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    n.Header.Revision = NET_PNP_EVENT_NOTIFICATION_REVISION_1;
    n.Header.Size = NDIS_SIZEOF_NET_PNP_EVENT_NOTIFICATION_REVISION_1;
    n.PortNumber = NDIS_DEFAULT_PORT_NUMBER;
    n.NetPnPEvent.NetEvent = code;
    if (code == NetEventPause) {
        memset(&pause, 0, sizeof(pause));
        pause.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
        pause.Header.Revision = NDIS_PROTOCOL_PAUSE_PARAMETERS_REVISION_1;
        pause.Header.Size = NDIS_SIZEOF_PROTOCOL_PAUSE_PARAMETERS_REVISION_1;
        pause.PauseReason = NDIS_PAUSE_UNBIND_PROTOCOL;
        n.NetPnPEvent.Buffer = &pause;
        n.NetPnPEvent.BufferLength = sizeof(pause);
    } else if (code == NetEventRestart) {
        memset(&restart, 0, sizeof(restart));
        restart.Header.Type = NDIS_OBJECT_TYPE_PROTOCOL_RESTART_PARAMETERS;
        restart.Header.Revision = NDIS_PROTOCOL_RESTART_PARAMETERS_REVISION_1;
        restart.Header.Size = NDIS_SIZEOF_PROTOCOL_RESTART_PARAMETERS_REVISION_1;
        n.NetPnPEvent.Buffer = &restart;
        n.NetPnPEvent.BufferLength = sizeof(restart);
    }
    NDIS_STATUS st;
    CN_CALL(b->b_protocol->drv_name, st = fn(b->b_context, &n));
    return st;
}

/* Tell one bound client about one registered address family, at
 * PASSIVE_LEVEL, from the calling (host or MCM) thread. */
static void af_notify(struct cn_binding *b, struct cn_afreg *ar)
{
    struct cn_driver *p = b->b_protocol;
    if (!p->drv_has_pco)
        return;
    CO_ADDRESS_FAMILY af = ar->ar_af;
    KIRQL irql = cn_irql();
    CN_CALL(p->drv_name, p->drv_pco.CoAfRegisterNotifyHandler(b->b_context, &af));
    if (cn_irql() != irql) {
        cn_warn("%s: ProtocolCoAfRegisterNotify returned at IRQL %u", p->drv_name, cn_irql());
        cn_irql_set(irql);
    }
}

void cn_binding_notify_afs(struct cn_binding *b)
{
    /* The AF list of an adapter only grows while it runs, and this runs on
     * the thread that drives the binding, so a snapshot by count is safe. */
    for (size_t i = 0;; i++) {
        struct cn_afreg *ar = NULL;
        pthread_mutex_lock(&cn_rt.rt_lock);
        size_t k = 0;
        for (LIST_ENTRY *e = b->b_adapter->ad_afregs.Flink; e != &b->b_adapter->ad_afregs;
             e = e->Flink, k++)
            if (k == i) {
                ar = CONTAINING_RECORD(e, struct cn_afreg, ar_link);
                break;
            }
        bool open = b->b_state == CN_B_OPEN;
        pthread_mutex_unlock(&cn_rt.rt_lock);
        if (ar == NULL || !open)
            return;
        af_notify(b, ar);
    }
}

void cn_adapter_afs_notify(struct condis_adapter *ad, struct cn_afreg *ar)
{
    for (size_t i = 0;; i++) {
        struct cn_binding *b = NULL;
        pthread_mutex_lock(&cn_rt.rt_lock);
        size_t k = 0;
        for (LIST_ENTRY *e = ad->ad_bindings.Flink; e != &ad->ad_bindings; e = e->Flink, k++)
            if (k == i) {
                b = CONTAINING_RECORD(e, struct cn_binding, b_ad_link);
                break;
            }
        bool open = b && b->b_state == CN_B_OPEN;
        pthread_mutex_unlock(&cn_rt.rt_lock);
        if (b == NULL)
            return;
        if (open)
            af_notify(b, ar);
    }
}

static void fill_bind_params(struct cn_binding *b)
{
    struct condis_adapter *ad = b->b_adapter;
    NDIS_BIND_PARAMETERS *p = &b->b_bind_params;
    const NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES *g = &ad->ad_general;
    memset(p, 0, sizeof(*p));
    p->Header.Type = NDIS_OBJECT_TYPE_BIND_PARAMETERS;
    p->Header.Revision = NDIS_BIND_PARAMETERS_REVISION_1;
    p->Header.Size = NDIS_SIZEOF_BIND_PARAMETERS_REVISION_1;
    p->ProtocolSection = NULL;
    p->AdapterName = &ad->ad_wname;
    p->BoundAdapterName = &ad->ad_wname;
    p->MediaType = ad->ad_medium;
    p->BoundIfIndex = p->LowestIfIndex = ad->ad_ifindex;
    p->BoundIfNetluid = p->LowestIfNetluid = ad->ad_luid;
    if (ad->ad_has_general) {
        p->MtuSize = g->MtuSize;
        p->MaxXmitLinkSpeed = g->MaxXmitLinkSpeed;
        p->XmitLinkSpeed = g->XmitLinkSpeed;
        p->MaxRcvLinkSpeed = g->MaxRcvLinkSpeed;
        p->RcvLinkSpeed = g->RcvLinkSpeed;
        p->MediaConnectState = g->MediaConnectState;
        p->MediaDuplexState = g->MediaDuplexState;
        p->LookaheadSize = g->LookaheadSize;
        p->SupportedPacketFilters = g->SupportedPacketFilters;
        p->MaxMulticastListSize = g->MaxMulticastListSize;
        p->MacAddressLength = g->MacAddressLength;
        memcpy(p->CurrentMacAddress, g->CurrentMacAddress, sizeof(p->CurrentMacAddress));
        p->PhysicalMediumType = g->PhysicalMediumType;
        p->AccessType = g->AccessType;
        p->DirectionType = g->DirectionType;
        p->ConnectionType = g->ConnectionType;
        p->IfType = g->IfType;
        p->IfConnectorPresent = g->IfConnectorPresent;
        p->DataBackFillSize = g->DataBackFillSize;
        p->ContextBackFillSize = g->ContextBackFillSize;
        p->MacOptions = g->MacOptions;
    }
}

int cn_binding_bind(struct cn_driver *proto, struct condis_adapter *ad)
{
    struct cn_binding *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return -ENOMEM;
    b->b_protocol = proto;
    b->b_adapter = ad;
    b->b_state = CN_B_BINDING;
    InitializeListHead(&b->b_afs);
    NdisInitializeEvent(&b->b_bind_done);
    NdisInitializeEvent(&b->b_unbind_done);
    b->b_bind_context = cn_handle_alloc(CN_H_BIND_CONTEXT, b, proto->drv_name);
    if (b->b_bind_context == NULL) {
        free(b);
        return -ENOMEM;
    }
    fill_bind_params(b);
    pthread_mutex_lock(&cn_rt.rt_lock);
    b->b_ordinal = cn_rt.rt_next_binding++;
    InsertTailList(&ad->ad_bindings, &b->b_ad_link);
    InsertTailList(&proto->drv_objs, &b->b_drv_link);
    pthread_mutex_unlock(&cn_rt.rt_lock);

    NDIS_STATUS st;
    CN_CALL(proto->drv_name, st = proto->drv_pchars.BindAdapterHandlerEx(
                                 proto->drv_context, b->b_bind_context, &b->b_bind_params));
    if (cn_irql() != PASSIVE_LEVEL) {
        cn_warn("%s: ProtocolBindAdapterEx returned at IRQL %u", proto->drv_name, cn_irql());
        cn_irql_set(PASSIVE_LEVEL);
    }
    if (st == NDIS_STATUS_PENDING) {
        if (!cn_host_wait(&b->b_bind_done, cn_rt.rt_opt.wait_ms)) {
            cn_log("%s: binding to %s is stuck: ProtocolBindAdapterEx returned "
                   "NDIS_STATUS_PENDING and NdisCompleteBindAdapterEx did not come within %u ms",
                   proto->drv_name, ad->ad_name, cn_rt.rt_opt.wait_ms);
            return -ETIMEDOUT;
        }
        st = b->b_bind_status;
    }
    /* The BindContext is only good until the bind completes. */
    cn_handle_free(b->b_bind_context);
    b->b_bind_context = NULL;

    if (st != NDIS_STATUS_SUCCESS || !b->b_opened) {
        int rc = 0;
        if (st == NDIS_STATUS_SUCCESS) {
            cn_log("%s: ProtocolBindAdapterEx succeeded without opening %s (NdisOpenAdapterEx)",
                   proto->drv_name, ad->ad_name);
            rc = -EPROTO;
        } else if (st != NDIS_STATUS_UNSUPPORTED_MEDIA) {
            cn_log("%s: binding to %s failed with %s", proto->drv_name, ad->ad_name,
                   cn_status_name(st));
            rc = -EIO;
        }
        if (b->b_opened) {
            cn_warn("%s: the failed bind left %s open; close it with NdisCloseAdapterEx before "
                    "failing the bind", proto->drv_name, ad->ad_name);
            rc = -EPROTO;
        }
        binding_free(b);
        return rc;
    }
    pthread_mutex_lock(&cn_rt.rt_lock);
    b->b_state = CN_B_OPEN;
    pthread_mutex_unlock(&cn_rt.rt_lock);
    pnp_event(b, NetEventRestart);
    cn_binding_notify_afs(b);
    return 0;
}

VOID NdisCompleteBindAdapterEx(NDIS_HANDLE BindContext, NDIS_STATUS Status)
{
    struct cn_binding *b = cn_handle_get(BindContext, CN_H_BIND_CONTEXT);
    if (b == NULL) {
        cn_warn("NdisCompleteBindAdapterEx: %p is not a pending bind's BindContext", BindContext);
        return;
    }
    if (Status == NDIS_STATUS_PENDING) {
        cn_warn("%s: NdisCompleteBindAdapterEx with NDIS_STATUS_PENDING; the status must be final",
                b->b_protocol->drv_name);
        Status = NDIS_STATUS_FAILURE;
    }
    b->b_bind_status = Status;
    NdisSetEvent(&b->b_bind_done);
}

static void open_complete_work(struct cn_work *w)
{
    struct cn_binding *b = CONTAINING_RECORD(w, struct cn_binding, b_work);
    *b->b_open_selected = b->b_selected_medium;
    *b->b_open_out = b->b_handle;
    CN_CALL(b->b_protocol->drv_name,
            b->b_protocol->drv_pchars.OpenAdapterCompleteHandlerEx(b->b_context, NDIS_STATUS_SUCCESS));
}

NDIS_STATUS NdisOpenAdapterEx(NDIS_HANDLE NdisProtocolHandle, NDIS_HANDLE ProtocolBindingContext,
                              PNDIS_OPEN_PARAMETERS OpenParameters, NDIS_HANDLE BindContext,
                              PNDIS_HANDLE NdisBindingHandle)
{
    CN_PASSIVE("NdisOpenAdapterEx");
    struct cn_binding *b = cn_handle_get(BindContext, CN_H_BIND_CONTEXT);
    if (b == NULL) {
        cn_warn("NdisOpenAdapterEx: BindContext %p is not live; open adapters only from "
                "ProtocolBindAdapterEx with the BindContext it received", BindContext);
        return NDIS_STATUS_FAILURE;
    }
    struct cn_driver *p = b->b_protocol;
    if (NdisProtocolHandle != p->drv_handle) {
        cn_warn("%s: NdisOpenAdapterEx: NdisProtocolHandle %p is not this protocol's handle",
                p->drv_name, NdisProtocolHandle);
        return NDIS_STATUS_FAILURE;
    }
    if (OpenParameters == NULL || NdisBindingHandle == NULL ||
        OpenParameters->SelectedMediumIndex == NULL || OpenParameters->MediumArray == NULL) {
        cn_warn("%s: NdisOpenAdapterEx: OpenParameters with MediumArray and SelectedMediumIndex, "
                "and NdisBindingHandle, are required", p->drv_name);
        return NDIS_STATUS_INVALID_PARAMETER;
    }
    if (b->b_state != CN_B_BINDING || b->b_opened) {
        cn_warn("%s: NdisOpenAdapterEx called twice in one bind", p->drv_name);
        return NDIS_STATUS_FAILURE;
    }
    struct condis_adapter *ad = b->b_adapter;
    if (OpenParameters->AdapterName == NULL ||
        !NdisEqualString(OpenParameters->AdapterName, &ad->ad_wname, TRUE))
        return NDIS_STATUS_ADAPTER_NOT_FOUND;
    UINT i;
    for (i = 0; i < OpenParameters->MediumArraySize; i++)
        if (OpenParameters->MediumArray[i] == ad->ad_medium)
            break;
    if (i == OpenParameters->MediumArraySize)
        return NDIS_STATUS_UNSUPPORTED_MEDIA;

    b->b_handle = cn_handle_alloc(CN_H_BINDING, b, p->drv_name);
    if (b->b_handle == NULL)
        return NDIS_STATUS_RESOURCES;
    b->b_context = ProtocolBindingContext;
    b->b_opened = true;
    if (cn_rt.rt_opt.pend_open_close) {
        b->b_open_selected = OpenParameters->SelectedMediumIndex;
        b->b_open_out = NdisBindingHandle;
        b->b_selected_medium = i;
        b->b_work.w_fn = open_complete_work;
        cn_work_queue_passive(&b->b_work);
        return NDIS_STATUS_PENDING;
    }
    *OpenParameters->SelectedMediumIndex = i;
    *NdisBindingHandle = b->b_handle;
    return NDIS_STATUS_SUCCESS;
}

static void close_complete_work(struct cn_work *w)
{
    struct cn_binding *b = CONTAINING_RECORD(w, struct cn_binding, b_work);
    CN_CALL(b->b_protocol->drv_name,
            b->b_protocol->drv_pchars.CloseAdapterCompleteHandlerEx(b->b_context));
}

NDIS_STATUS NdisCloseAdapterEx(NDIS_HANDLE NdisBindingHandle)
{
    CN_PASSIVE("NdisCloseAdapterEx");
    struct cn_binding *b = cn_binding_get(NdisBindingHandle);
    if (b == NULL) {
        cn_warn("NdisCloseAdapterEx: %p is not a live binding handle", NdisBindingHandle);
        return NDIS_STATUS_INVALID_PARAMETER;
    }
    struct cn_driver *p = b->b_protocol;
    pthread_mutex_lock(&cn_rt.rt_lock);
    bool afs_open = !IsListEmpty(&b->b_afs);
    bool in_context = b->b_state == CN_B_BINDING || b->b_state == CN_B_UNBINDING;
    if (!afs_open && in_context) {
        b->b_opened = false;
        b->b_state = CN_B_CLOSED;
    }
    pthread_mutex_unlock(&cn_rt.rt_lock);
    if (!in_context) {
        cn_warn("%s: NdisCloseAdapterEx outside ProtocolBindAdapterEx/ProtocolUnbindAdapterEx; "
                "condis unbinds protocols itself", p->drv_name);
        return NDIS_STATUS_NOT_ACCEPTED;
    }
    if (afs_open) {
        cn_warn("%s: NdisCloseAdapterEx with address families still open; close them with "
                "NdisClCloseAddressFamily first", p->drv_name);
        return NDIS_STATUS_NOT_ACCEPTED;
    }
    /* The binding handle is invalid from now on. */
    cn_handle_free(b->b_handle);
    b->b_handle = NULL;
    if (cn_rt.rt_opt.pend_open_close) {
        b->b_work.w_fn = close_complete_work;
        cn_work_queue_passive(&b->b_work);
        return NDIS_STATUS_PENDING;
    }
    return NDIS_STATUS_SUCCESS;
}

VOID NdisCompleteUnbindAdapterEx(NDIS_HANDLE UnbindContext)
{
    struct cn_binding *b = cn_handle_get(UnbindContext, CN_H_UNBIND_CONTEXT);
    if (b == NULL) {
        cn_warn("NdisCompleteUnbindAdapterEx: %p is not a pending unbind's UnbindContext",
                UnbindContext);
        return;
    }
    NdisSetEvent(&b->b_unbind_done);
}

int cn_binding_unbind(struct cn_binding *b)
{
    struct cn_driver *p = b->b_protocol;
    struct condis_adapter *ad = b->b_adapter;
    pthread_mutex_lock(&cn_rt.rt_lock);
    int state = b->b_state;
    if (state == CN_B_OPEN)
        b->b_state = CN_B_UNBINDING;
    pthread_mutex_unlock(&cn_rt.rt_lock);
    if (state != CN_B_OPEN) {
        /* Stuck in a bind or unbind that never completed: take it off the
         * lists so that the run can end, and leave it for the leak report. */
        cn_log("%s: binding to %s is stuck in an earlier step and cannot be unbound",
               p->drv_name, ad->ad_name);
        pthread_mutex_lock(&cn_rt.rt_lock);
        RemoveEntryList(&b->b_ad_link);
        InitializeListHead(&b->b_ad_link);
        RemoveEntryList(&b->b_drv_link);
        InitializeListHead(&b->b_drv_link);
        pthread_mutex_unlock(&cn_rt.rt_lock);
        return -EBUSY;
    }
    int rc = 0;
    /* Windows pauses a binding before it unbinds it. The binding is already
     * UNBINDING, so nothing else starts an unbind of it meanwhile. */
    pnp_event(b, NetEventPause);
    b->b_unbind_context = cn_handle_alloc(CN_H_UNBIND_CONTEXT, b, p->drv_name);
    if (b->b_unbind_context == NULL)
        return -ENOMEM;
    NdisResetEvent(&b->b_unbind_done);
    NDIS_STATUS st;
    CN_CALL(p->drv_name, st = p->drv_pchars.UnbindAdapterHandlerEx(b->b_unbind_context, b->b_context));
    if (cn_irql() != PASSIVE_LEVEL) {
        cn_warn("%s: ProtocolUnbindAdapterEx returned at IRQL %u", p->drv_name, cn_irql());
        cn_irql_set(PASSIVE_LEVEL);
    }
    if (st == NDIS_STATUS_PENDING) {
        if (!cn_host_wait(&b->b_unbind_done, cn_rt.rt_opt.wait_ms)) {
            cn_log("%s: unbinding from %s is stuck: ProtocolUnbindAdapterEx returned "
                   "NDIS_STATUS_PENDING and NdisCompleteUnbindAdapterEx did not come within %u ms",
                   p->drv_name, ad->ad_name, cn_rt.rt_opt.wait_ms);
            return -ETIMEDOUT;
        }
    } else if (st != NDIS_STATUS_SUCCESS) {
        cn_warn("%s: ProtocolUnbindAdapterEx returned %s; unbinding cannot fail", p->drv_name,
                cn_status_name(st));
    }
    cn_work_flush(); /* a pended close completes on a worker */
    if (b->b_state != CN_B_CLOSED) {
        cn_log("%s: ProtocolUnbindAdapterEx finished without closing %s (NdisCloseAdapterEx)",
               p->drv_name, ad->ad_name);
        /* Leave the binding and what hangs off it for the leak report. */
        pthread_mutex_lock(&cn_rt.rt_lock);
        b->b_state = CN_B_FAILED;
        RemoveEntryList(&b->b_ad_link);
        InitializeListHead(&b->b_ad_link);
        RemoveEntryList(&b->b_drv_link);
        InitializeListHead(&b->b_drv_link);
        pthread_mutex_unlock(&cn_rt.rt_lock);
        return -EPROTO;
    }
    binding_free(b);
    return rc;
}

int condis_bind_all(void)
{
    /* Snapshot the (protocol, adapter) pairs that have no binding yet. */
    size_t cap = 16, n = 0;
    struct pair { struct cn_driver *p; struct condis_adapter *ad; } *pairs = malloc(cap * sizeof(*pairs));
    if (pairs == NULL)
        return -ENOMEM;
    pthread_mutex_lock(&cn_rt.rt_lock);
    for (LIST_ENTRY *ae = cn_rt.rt_adapters.Flink; ae != &cn_rt.rt_adapters; ae = ae->Flink) {
        struct condis_adapter *ad = CONTAINING_RECORD(ae, struct condis_adapter, ad_link);
        if (atomic_load(&ad->ad_state) != CN_AD_RUNNING)
            continue;
        for (LIST_ENTRY *pe = cn_rt.rt_protocols.Flink; pe != &cn_rt.rt_protocols; pe = pe->Flink) {
            struct cn_driver *p = CONTAINING_RECORD(pe, struct cn_driver, drv_link);
            bool bound = false;
            for (LIST_ENTRY *be = ad->ad_bindings.Flink; be != &ad->ad_bindings; be = be->Flink)
                if (CONTAINING_RECORD(be, struct cn_binding, b_ad_link)->b_protocol == p)
                    bound = true;
            if (bound)
                continue;
            if (n == cap) {
                struct pair *np = realloc(pairs, 2 * cap * sizeof(*pairs));
                if (np == NULL)
                    break;
                pairs = np;
                cap *= 2;
            }
            pairs[n].p = p;
            pairs[n].ad = ad;
            n++;
        }
    }
    pthread_mutex_unlock(&cn_rt.rt_lock);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        int r = cn_binding_bind(pairs[i].p, pairs[i].ad);
        if (r != 0 && rc == 0)
            rc = r;
    }
    free(pairs);
    return rc;
}

static int condis_unbind_all_body(void)
{
    int rc = 0;
    for (;;) {
        struct cn_binding *b = NULL;
        pthread_mutex_lock(&cn_rt.rt_lock);
        if (cn_rt.rt_up)
            for (LIST_ENTRY *ae = cn_rt.rt_adapters.Blink; ae != &cn_rt.rt_adapters && !b;
                 ae = ae->Blink) {
                struct condis_adapter *ad = CONTAINING_RECORD(ae, struct condis_adapter, ad_link);
                for (LIST_ENTRY *be = ad->ad_bindings.Blink; be != &ad->ad_bindings; be = be->Blink) {
                    struct cn_binding *x = CONTAINING_RECORD(be, struct cn_binding, b_ad_link);
                    if (x->b_state == CN_B_OPEN) {
                        b = x;
                        break;
                    }
                }
            }
        pthread_mutex_unlock(&cn_rt.rt_lock);
        if (b == NULL)
            break;
        if (cn_binding_unbind(b) != 0)
            rc = -EBUSY;
    }
    return rc;
}

int condis_unbind_all(void)
{
    cn_host_busy(true);
    int rc = condis_unbind_all_body();
    cn_host_busy(false);
    return rc;
}
