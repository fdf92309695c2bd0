/*
 * adapter.c - miniport adapters: MiniportInitializeEx with its attributes,
 * the pause/restart state machine, address-family registration by a
 * miniport call manager, and halting.
 *
 * State (ad_state; written by the host thread that drives the adapter, read
 * anywhere):
 *   INITIALIZING -> PAUSED -> RESTARTING -> RUNNING -> PAUSING -> PAUSED -> HALTED
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cn_co.h"

static struct condis_adapter *adapter_get(NDIS_HANDLE h, const char *fn)
{
    struct condis_adapter *ad = cn_handle_get(h, CN_H_ADAPTER);
    if (ad == NULL)
        cn_warn("%s: %p is not a live miniport adapter handle", fn, h);
    return ad;
}

NDIS_STATUS NdisMSetMiniportAttributes(NDIS_HANDLE NdisMiniportHandle,
                                       PNDIS_MINIPORT_ADAPTER_ATTRIBUTES MiniportAttributes)
{
    CN_PASSIVE("NdisMSetMiniportAttributes");
    struct condis_adapter *ad = adapter_get(NdisMiniportHandle, "NdisMSetMiniportAttributes");
    if (ad == NULL)
        return NDIS_STATUS_INVALID_PARAMETER;
    if (MiniportAttributes == NULL)
        return NDIS_STATUS_INVALID_PARAMETER;
    NDIS_OBJECT_HEADER *h = &MiniportAttributes->Header;
    switch (h->Type) {
    case NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES: {
        PNDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES r = &MiniportAttributes->RegistrationAttributes;
        if (h->Size < NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1)
            return NDIS_STATUS_INVALID_PARAMETER;
        ad->ad_context = r->MiniportAdapterContext;
        ad->ad_attr_flags = r->AttributeFlags;
        ad->ad_has_registration = true;
        return NDIS_STATUS_SUCCESS;
    }
    case NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES: {
        PNDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES g = &MiniportAttributes->GeneralAttributes;
        if (!ad->ad_has_registration) {
            cn_warn("%s: set the registration attributes before the general attributes",
                    ad->ad_miniport->drv_name);
            return NDIS_STATUS_FAILURE;
        }
        if (h->Size < NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1)
            return NDIS_STATUS_INVALID_PARAMETER;
        size_t n = h->Size < sizeof(ad->ad_general) ? h->Size : sizeof(ad->ad_general);
        memcpy(&ad->ad_general, g, n);
        ad->ad_medium = g->MediaType;
        ad->ad_has_general = true;
        return NDIS_STATUS_SUCCESS;
    }
    default:
        /* Offload, power management and other attributes describe hardware
         * features condis neither emulates nor depends on; they are
         * accepted so that real miniport code runs unchanged. */
        if (!ad->ad_has_registration)
            return NDIS_STATUS_FAILURE;
        return NDIS_STATUS_SUCCESS;
    }
}

VOID NdisMPauseComplete(NDIS_HANDLE MiniportAdapterHandle)
{
    struct condis_adapter *ad = adapter_get(MiniportAdapterHandle, "NdisMPauseComplete");
    if (ad == NULL)
        return;
    if (atomic_load(&ad->ad_state) != CN_AD_PAUSING) {
        cn_warn("%s: NdisMPauseComplete without a pending MiniportPause", ad->ad_miniport->drv_name);
        return;
    }
    ad->ad_pnp_status = NDIS_STATUS_SUCCESS;
    NdisSetEvent(&ad->ad_pnp_done);
}

VOID NdisMRestartComplete(NDIS_HANDLE MiniportAdapterHandle, NDIS_STATUS Status)
{
    struct condis_adapter *ad = adapter_get(MiniportAdapterHandle, "NdisMRestartComplete");
    if (ad == NULL)
        return;
    if (atomic_load(&ad->ad_state) != CN_AD_RESTARTING) {
        cn_warn("%s: NdisMRestartComplete without a pending MiniportRestart",
                ad->ad_miniport->drv_name);
        return;
    }
    ad->ad_pnp_status = Status;
    NdisSetEvent(&ad->ad_pnp_done);
}

NDIS_STATUS NdisMCmRegisterAddressFamilyEx(NDIS_HANDLE MiniportAdapterHandle,
                                           PCO_ADDRESS_FAMILY AddressFamily)
{
    CN_PASSIVE("NdisMCmRegisterAddressFamilyEx");
    struct condis_adapter *ad = adapter_get(MiniportAdapterHandle, "NdisMCmRegisterAddressFamilyEx");
    if (ad == NULL || AddressFamily == NULL)
        return NDIS_STATUS_FAILURE;
    struct cn_driver *drv = ad->ad_miniport;
    if (!drv->drv_has_cm || !drv->drv_has_mco) {
        cn_warn("%s: NdisMCmRegisterAddressFamilyEx: register NDIS_MINIPORT_CO_CHARACTERISTICS and "
                "NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS in MiniportSetOptions first", drv->drv_name);
        return NDIS_STATUS_FAILURE;
    }
    if (cn_irql() != PASSIVE_LEVEL) {
        cn_warn("%s: NdisMCmRegisterAddressFamilyEx must be called at PASSIVE_LEVEL", drv->drv_name);
        return NDIS_STATUS_FAILURE;
    }
    struct cn_afreg *ar = calloc(1, sizeof(*ar));
    if (ar == NULL)
        return NDIS_STATUS_RESOURCES;
    ar->ar_adapter = ad;
    ar->ar_af = *AddressFamily;
    pthread_mutex_lock(&cn_rt.rt_lock);
    for (LIST_ENTRY *e = ad->ad_afregs.Flink; e != &ad->ad_afregs; e = e->Flink) {
        struct cn_afreg *x = CONTAINING_RECORD(e, struct cn_afreg, ar_link);
        if (x->ar_af.AddressFamily == AddressFamily->AddressFamily) {
            pthread_mutex_unlock(&cn_rt.rt_lock);
            free(ar);
            cn_warn("%s: address family 0x%x is already registered on %s", drv->drv_name,
                    (unsigned)AddressFamily->AddressFamily, ad->ad_name);
            return NDIS_STATUS_FAILURE;
        }
    }
    InsertTailList(&ad->ad_afregs, &ar->ar_link);
    bool running = atomic_load(&ad->ad_state) == CN_AD_RUNNING;
    pthread_mutex_unlock(&cn_rt.rt_lock);
    /* Registered during MiniportInitializeEx: clients hear of it when they
     * bind. Registered later: tell the clients bound already. */
    if (running)
        cn_adapter_afs_notify(ad, ar);
    return NDIS_STATUS_SUCCESS;
}

static void adapter_free(struct condis_adapter *ad)
{
    while (!IsListEmpty(&ad->ad_afregs))
        free(CONTAINING_RECORD(RemoveHeadList(&ad->ad_afregs), struct cn_afreg, ar_link));
    cn_handle_free(ad->ad_handle);
    free(ad->ad_wname_buf);
    free(ad->ad_name);
    free(ad);
}

/* Run MiniportPause or MiniportRestart and wait for it if it pends. */
static NDIS_STATUS adapter_pnp(struct condis_adapter *ad, bool pause)
{
    struct cn_driver *drv = ad->ad_miniport;
    NDIS_STATUS st;
    NdisResetEvent(&ad->ad_pnp_done);
    if (pause) {
        NDIS_MINIPORT_PAUSE_PARAMETERS pp;
        memset(&pp, 0, sizeof(pp));
        pp.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
        pp.Header.Revision = NDIS_MINIPORT_PAUSE_PARAMETERS_REVISION_1;
        pp.Header.Size = NDIS_SIZEOF_MINIPORT_PAUSE_PARAMETERS_REVISION_1;
        pp.PauseReason = NDIS_PAUSE_NDIS_INTERNAL;
        atomic_store(&ad->ad_state, CN_AD_PAUSING);
        CN_CALL(drv->drv_name, st = drv->drv_mchars.PauseHandler(ad->ad_context, &pp));
    } else {
        NDIS_MINIPORT_RESTART_PARAMETERS rp;
        memset(&rp, 0, sizeof(rp));
        rp.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
        rp.Header.Revision = NDIS_MINIPORT_RESTART_PARAMETERS_REVISION_1;
        rp.Header.Size = NDIS_SIZEOF_MINIPORT_RESTART_PARAMETERS_REVISION_1;
        atomic_store(&ad->ad_state, CN_AD_RESTARTING);
        CN_CALL(drv->drv_name, st = drv->drv_mchars.RestartHandler(ad->ad_context, &rp));
    }
    if (st == NDIS_STATUS_PENDING) {
        if (!cn_host_wait(&ad->ad_pnp_done, cn_rt.rt_opt.wait_ms)) {
            cn_log("%s: adapter %s did not complete its %s within %u ms (stuck in Miniport%s)",
                   drv->drv_name, ad->ad_name, pause ? "pause" : "restart", cn_rt.rt_opt.wait_ms,
                   pause ? "Pause" : "Restart");
            return NDIS_STATUS_FAILURE;
        }
        st = ad->ad_pnp_status;
    }
    if (pause && st != NDIS_STATUS_SUCCESS) {
        cn_warn("%s: MiniportPause returned %s; pausing cannot fail", drv->drv_name,
                cn_status_name(st));
        st = NDIS_STATUS_SUCCESS;
    }
    atomic_store(&ad->ad_state, pause || st != NDIS_STATUS_SUCCESS ? CN_AD_PAUSED : CN_AD_RUNNING);
    return st;
}

int condis_adapter_add(struct condis_driver *im, const char *name, struct condis_adapter **out)
{
    if (out)
        *out = NULL;
    if (im == NULL || im->im_miniport == NULL) {
        cn_log("condis_adapter_add: %s is not a loaded miniport driver", im ? im->im_name : "NULL");
        return -EINVAL;
    }
    struct cn_driver *drv = im->im_miniport;
    struct condis_adapter *ad = calloc(1, sizeof(*ad));
    if (ad == NULL)
        return -ENOMEM;
    char buf[128];
    if (name == NULL || *name == '\0') {
        unsigned n = 0;
        pthread_mutex_lock(&cn_rt.rt_lock);
        for (LIST_ENTRY *e = drv->drv_objs.Flink; e != &drv->drv_objs; e = e->Flink)
            n++;
        pthread_mutex_unlock(&cn_rt.rt_lock);
        snprintf(buf, sizeof(buf), "%s%u", drv->drv_name, n);
        name = buf;
    }
    ad->ad_name = strdup(name);
    size_t len = strlen(name);
    ad->ad_wname_buf = calloc(len + 1, sizeof(wchar_t));
    if (ad->ad_name == NULL || ad->ad_wname_buf == NULL) {
        free(ad->ad_name);
        free(ad->ad_wname_buf);
        free(ad);
        return -ENOMEM;
    }
    for (size_t i = 0; i < len; i++)
        ad->ad_wname_buf[i] = (unsigned char)name[i];
    ad->ad_wname.Buffer = ad->ad_wname_buf;
    ad->ad_wname.Length = (USHORT)(len * sizeof(WCHAR));
    ad->ad_wname.MaximumLength = (USHORT)((len + 1) * sizeof(WCHAR));
    ad->ad_miniport = drv;
    ad->ad_medium = NdisMediumMax;
    atomic_store(&ad->ad_state, CN_AD_INITIALIZING);
    InitializeListHead(&ad->ad_bindings);
    InitializeListHead(&ad->ad_afregs);
    NdisInitializeEvent(&ad->ad_pnp_done);
    pthread_mutex_lock(&cn_rt.rt_lock);
    ad->ad_ifindex = cn_rt.rt_next_ifindex++;
    pthread_mutex_unlock(&cn_rt.rt_lock);
    ad->ad_luid.Info.IfType = 1; /* IF_TYPE_OTHER */
    ad->ad_luid.Info.NetLuidIndex = ad->ad_ifindex;
    ad->ad_handle = cn_handle_alloc(CN_H_ADAPTER, ad, drv->drv_name);
    if (ad->ad_handle == NULL) {
        adapter_free(ad);
        return -ENOMEM;
    }

    NDIS_MINIPORT_INIT_PARAMETERS ip;
    memset(&ip, 0, sizeof(ip));
    ip.Header.Type = NDIS_OBJECT_TYPE_MINIPORT_INIT_PARAMETERS;
    ip.Header.Revision = NDIS_MINIPORT_INIT_PARAMETERS_REVISION_1;
    ip.Header.Size = NDIS_SIZEOF_MINIPORT_INIT_PARAMETERS_REVISION_1;
    ip.IfIndex = ad->ad_ifindex;
    ip.NetLuid = ad->ad_luid;
    NDIS_STATUS st;
    CN_CALL(drv->drv_name,
            st = drv->drv_mchars.InitializeHandlerEx(ad->ad_handle, drv->drv_context, &ip));
    if (cn_irql() != PASSIVE_LEVEL)
        cn_irql_set(PASSIVE_LEVEL);
    if (st != NDIS_STATUS_SUCCESS) {
        cn_log("%s: MiniportInitializeEx for %s failed with %s", drv->drv_name, ad->ad_name,
               cn_status_name(st));
        adapter_free(ad);
        return -EIO;
    }
    if (!ad->ad_has_registration) {
        cn_log("%s: MiniportInitializeEx succeeded without NdisMSetMiniportAttributes "
               "(registration attributes); condis halts the adapter", drv->drv_name);
        CN_CALL(drv->drv_name, drv->drv_mchars.HaltHandlerEx(ad->ad_context, NdisHaltDeviceInitializationFailed));
        adapter_free(ad);
        return -EPROTO;
    }
    atomic_store(&ad->ad_state, CN_AD_PAUSED);
    pthread_mutex_lock(&cn_rt.rt_lock);
    InsertTailList(&cn_rt.rt_adapters, &ad->ad_link);
    InsertTailList(&drv->drv_objs, &ad->ad_drv_link);
    pthread_mutex_unlock(&cn_rt.rt_lock);

    st = adapter_pnp(ad, false);
    if (st != NDIS_STATUS_SUCCESS) {
        cn_log("%s: MiniportRestart for %s failed with %s", drv->drv_name, ad->ad_name,
               cn_status_name(st));
        cn_adapter_halt(ad);
        return -EIO;
    }
    if (out)
        *out = ad;
    return 0;
}

int cn_adapter_halt(struct condis_adapter *ad)
{
    struct cn_driver *drv = ad->ad_miniport;
    int rc = 0;
    if (atomic_load(&ad->ad_state) == CN_AD_RUNNING)
        adapter_pnp(ad, true);
    long rx = atomic_load(&ad->ad_rx_outstanding);
    if (rx != 0) {
        cn_warn("%s: halting %s with %ld received NBL(s) not returned by the protocols",
                drv->drv_name, ad->ad_name, rx);
        rc = -EBUSY;
    }
    CN_CALL(drv->drv_name, drv->drv_mchars.HaltHandlerEx(ad->ad_context, NdisHaltDeviceDisabled));
    if (cn_irql() != PASSIVE_LEVEL)
        cn_irql_set(PASSIVE_LEVEL);
    cn_work_flush();
    atomic_store(&ad->ad_state, CN_AD_HALTED);
    pthread_mutex_lock(&cn_rt.rt_lock);
    RemoveEntryList(&ad->ad_link);
    RemoveEntryList(&ad->ad_drv_link);
    pthread_mutex_unlock(&cn_rt.rt_lock);
    adapter_free(ad);
    return rc;
}

static int condis_adapter_remove_body(struct condis_adapter *ad)
{
    if (ad == NULL)
        return -EINVAL;
    int rc = 0;
    for (;;) {
        struct cn_binding *b = NULL;
        pthread_mutex_lock(&cn_rt.rt_lock);
        if (!IsListEmpty(&ad->ad_bindings))
            b = CONTAINING_RECORD(ad->ad_bindings.Blink, struct cn_binding, b_ad_link);
        pthread_mutex_unlock(&cn_rt.rt_lock);
        if (b == NULL)
            break;
        if (cn_binding_unbind(b) != 0)
            rc = -EBUSY;
    }
    if (cn_adapter_halt(ad) != 0)
        rc = -EBUSY;
    return rc;
}

int condis_adapter_remove(struct condis_adapter *ad)
{
    cn_host_busy(true);
    int rc = condis_adapter_remove_body(ad);
    cn_host_busy(false);
    return rc;
}
