/*
 * miniport5.c - NDIS 5.x miniport call managers over the NDIS 6 CoNDIS
 * layer: NdisInitializeWrapper, NdisMRegisterMiniport, NdisMSetAttributesEx,
 * NdisMCmRegisterAddressFamily (5.x form), NdisMCoSendComplete,
 * NdisMCoIndicateReceivePacket and the shims co calls as the miniport's
 * NDIS 6 handlers.
 *
 * A 5.x miniport is an NDIS 6 miniport of co whose MiniportDriverContext is
 * its struct cn_mini5 and whose MiniportAdapterContext is a struct cn_ad5;
 * the call manager contexts co sees are struct cn_maf5 (AF) and struct
 * cn_mvc5 (VC), which lead back to the 5.x driver's own contexts. Control
 * functions run at PASSIVE_LEVEL and hold no lock while they call the
 * driver; the data path allocates nothing but descriptors from the
 * adapter's pools.
 *
 * Limits: VCs a 5.x MCM creates itself with NdisMCmCreateVc (incoming
 * calls) reach co with the driver's own VC context, not a cn_mvc5, so
 * condis cannot send on them; CmRequest (NDIS_REQUEST) is not translated.
 */
#include "cn_proto5.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CN_M5_PACKETS 4096u
#define CN_M5_BUFFERS 8192u
#define CN_M5_RX_NBLS 4096u
#define CN_M5_BATCH 16u

struct cn_mini5 {
    NDIS51_MINIPORT_CHARACTERISTICS m5_chars; /* the driver's (5.0: zero-padded) */
    NDIS_MINIPORT_DRIVER_CHARACTERISTICS m5_chars6;
    NDIS_MINIPORT_CO_CHARACTERISTICS m5_co6;
    NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS m5_cm6;
    NDIS_HANDLE m5_wrapper;         /* NdisWrapperHandle */
    PDRIVER_OBJECT m5_object;
    PUNICODE_STRING m5_registry;
    PDRIVER_UNLOAD m5_unload;       /* NdisMRegisterUnloadHandler */
    NDIS_HANDLE m5_handle;          /* co's NdisMiniportDriverHandle */
    const char *m5_name;
};

/* MiniportAdapterContext condis gives co for a 5.x adapter. */
struct cn_ad5 {
    struct cn_mini5 *ad5_mini;
    NDIS_HANDLE ad5_ctx5;           /* the driver's MiniportAdapterContext */
    NDIS_HANDLE ad5_handle;         /* MiniportAdapterHandle */
    NDIS_MEDIUM ad5_medium;
    bool ad5_has_cm;
    NDIS_CALL_MANAGER_CHARACTERISTICS ad5_cm5; /* from NdisMCmRegisterAddressFamily */
    CO_ADDRESS_FAMILY ad5_af;
    NDIS_HANDLE ad5_packets, ad5_buffers, ad5_rx_nbls;
    pthread_mutex_t ad5_lock;
    LIST_ENTRY ad5_afs;             /* struct cn_maf5 (ad5_lock) */
};

/* CallMgrAfContext condis gives co. */
struct cn_maf5 {
    LIST_ENTRY maf_link;
    struct cn_ad5 *maf_ad;
    NDIS_HANDLE maf_ctx5;
    NDIS_HANDLE maf_afh;            /* NdisAfHandle */
};

/* CallMgrVcContext (and MiniportVcContext) condis gives co. */
struct cn_mvc5 {
    struct cn_ad5 *mvc_ad;
    NDIS_HANDLE mvc_ctx5;
    NDIS_HANDLE mvc_handle;         /* NdisVcHandle */
};

static NDIS_MEDIUM all_media[] = {
    NdisMedium802_3, NdisMedium802_5, NdisMediumFddi, NdisMediumWan, NdisMediumLocalTalk,
    NdisMediumDix, NdisMediumArcnetRaw, NdisMediumArcnet878_2, NdisMediumAtm,
    NdisMediumWirelessWan, NdisMediumIrda, NdisMediumBpc, NdisMediumCoWan, NdisMedium1394,
};

/* The adapter whose 5.x InitializeHandler runs on this thread: the 5.x
 * calls made from it carry only the MiniportAdapterHandle. */
static _Thread_local struct cn_ad5 *tls_init_ad;

static inline ULONG dispatch_flag(ULONG flag)
{
    return cn_irql() == DISPATCH_LEVEL ? flag : 0;
}

/* ---- wrapper ------------------------------------------------------------------ */

VOID NdisInitializeWrapper(PNDIS_HANDLE NdisWrapperHandle, PVOID SystemSpecific1,
                           PVOID SystemSpecific2, PVOID SystemSpecific3)
{
    CN_PASSIVE("NdisInitializeWrapper");
    UNREFERENCED_PARAMETER(SystemSpecific3);
    if (NdisWrapperHandle == NULL)
        return;
    *NdisWrapperHandle = NULL;
    struct cn_mini5 *m5 = calloc(1, sizeof(*m5));
    if (m5 == NULL)
        return;
    m5->m5_object = SystemSpecific1;
    m5->m5_registry = SystemSpecific2;
    m5->m5_wrapper = cn_handle_alloc(CN_H_DRIVER_CONTEXT, m5, cn_current_driver());
    if (m5->m5_wrapper == NULL) {
        free(m5);
        return;
    }
    *NdisWrapperHandle = m5->m5_wrapper;
}

static struct cn_mini5 *mini5_get(NDIS_HANDLE h, const char *fn)
{
    struct cn_mini5 *m5 = cn_handle_get(h, CN_H_DRIVER_CONTEXT);
    if (m5 == NULL)
        cn_warn("%s: %p is not a wrapper handle from NdisInitializeWrapper", fn, h);
    return m5;
}

static void mini5_free(struct cn_mini5 *m5)
{
    cn_handle_free(m5->m5_wrapper);
    free(m5);
}

VOID NdisTerminateWrapper(NDIS_HANDLE NdisWrapperHandle, PVOID SystemSpecific)
{
    CN_PASSIVE("NdisTerminateWrapper");
    UNREFERENCED_PARAMETER(SystemSpecific);
    struct cn_mini5 *m5 = mini5_get(NdisWrapperHandle, "NdisTerminateWrapper");
    if (m5 == NULL)
        return;
    /* Registered: the unload shim deregisters and frees it. */
    if (m5->m5_handle == NULL)
        mini5_free(m5);
}

VOID NdisMRegisterUnloadHandler(NDIS_HANDLE NdisWrapperHandle, PDRIVER_UNLOAD UnloadHandler)
{
    CN_PASSIVE("NdisMRegisterUnloadHandler");
    struct cn_mini5 *m5 = mini5_get(NdisWrapperHandle, "NdisMRegisterUnloadHandler");
    if (m5)
        m5->m5_unload = UnloadHandler;
}

/* ---- packets the miniport never completed (OWN-6) ------------------------------------ */

/* When the verifier takes an NBL back from a 5.x miniport that never
 * completed its packets, those packets stay with the miniport, which may
 * still complete them late. Their co5_private (their NBL) is swapped for
 * this mark: a late completion then frees the packet and touches no NBL,
 * and the adapter frees the ones never completed when it goes. */
static char orphan_mark;
#define CN_M5_ORPHAN ((void *)&orphan_mark)

struct orphan_scan {
    void *os_match;             /* NBL to orphan the packets of, or CN_M5_ORPHAN */
    PNDIS_PACKET os_found[64];  /* orphans to free (os_match == CN_M5_ORPHAN) */
    size_t os_n, os_more;
};

static void orphan_one(struct cn_pool *p, void *elem, void *arg)
{
    (void)p;
    struct cn_packet *cp = elem;
    struct orphan_scan *o = arg;
    if (__atomic_load_n(&cp->cookie, __ATOMIC_RELAXED) != CN_PACKET_COOKIE)
        return;
    if (o->os_match != CN_M5_ORPHAN) {
        void *expected = o->os_match;
        if (__atomic_compare_exchange_n(&cp->co5_private, &expected, CN_M5_ORPHAN, false,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            o->os_n++;
    } else if (__atomic_load_n(&cp->co5_private, __ATOMIC_ACQUIRE) == CN_M5_ORPHAN) {
        if (o->os_n < sizeof(o->os_found) / sizeof(o->os_found[0]))
            o->os_found[o->os_n++] = &cp->packet;
        else
            o->os_more++;
    }
}

static struct cn_pool *packet_pool_of(NDIS_HANDLE h)
{
    struct cn_packet_pool *pp = cn_packet_pool_get(h, "condis");
    return pp ? &pp->pp_pool : NULL;
}

static void packet_free(PNDIS_PACKET P);

/* co's drv_send_reclaimed: the verifier's watchdog is about to give nbl
 * back to the protocol. */
static void send_reclaimed(NDIS_HANDLE MiniportVcContext, PNET_BUFFER_LIST nbl)
{
    struct cn_mvc5 *vc = MiniportVcContext;
    struct cn_pool *p = vc && vc->mvc_ad ? packet_pool_of(vc->mvc_ad->ad5_packets) : NULL;
    if (p != NULL) {
        struct orphan_scan o = { .os_match = nbl };
        cn_pool_each(p, orphan_one, &o);
    }
    nbl->MiniportReserved[0] = nbl->MiniportReserved[1] = NULL;
}

/* The adapter goes: its miniport will never complete its orphans now. */
static void free_orphans(struct cn_ad5 *ad)
{
    struct cn_pool *p = ad->ad5_packets ? packet_pool_of(ad->ad5_packets) : NULL;
    for (bool more = p != NULL; more;) {
        struct orphan_scan o = { .os_match = CN_M5_ORPHAN };
        cn_pool_each(p, orphan_one, &o);
        for (size_t i = 0; i < o.os_n; i++)
            packet_free(o.os_found[i]);
        more = o.os_more != 0;
    }
}

/* ---- control shims -------------------------------------------------------------- */

static VOID free_adapter(struct cn_ad5 *ad)
{
    free_orphans(ad);
    while (!IsListEmpty(&ad->ad5_afs)) {
        PLIST_ENTRY e = RemoveHeadList(&ad->ad5_afs);
        free(CONTAINING_RECORD(e, struct cn_maf5, maf_link));
    }
    if (ad->ad5_packets)
        NdisFreePacketPool(ad->ad5_packets);
    if (ad->ad5_buffers)
        NdisFreeBufferPool(ad->ad5_buffers);
    if (ad->ad5_rx_nbls)
        NdisFreeNetBufferListPool(ad->ad5_rx_nbls);
    pthread_mutex_destroy(&ad->ad5_lock);
    free(ad);
}

static NDIS_STATUS initialize_shim(NDIS_HANDLE MiniportAdapterHandle,
                                   NDIS_HANDLE MiniportDriverContext,
                                   PNDIS_MINIPORT_INIT_PARAMETERS MiniportInitParameters)
{
    UNREFERENCED_PARAMETER(MiniportInitParameters);
    struct cn_mini5 *m5 = MiniportDriverContext;
    struct cn_ad5 *ad = calloc(1, sizeof(*ad));
    if (ad == NULL)
        return NDIS_STATUS_RESOURCES;
    ad->ad5_mini = m5;
    ad->ad5_handle = MiniportAdapterHandle;
    pthread_mutex_init(&ad->ad5_lock, NULL);
    InitializeListHead(&ad->ad5_afs);

    NDIS_STATUS st;
    NdisAllocatePacketPoolEx(&st, &ad->ad5_packets, CN_M5_PACKETS, 0, 0);
    if (st == NDIS_STATUS_SUCCESS)
        NdisAllocateBufferPool(&st, &ad->ad5_buffers, CN_M5_BUFFERS);
    if (st == NDIS_STATUS_SUCCESS) {
        NET_BUFFER_LIST_POOL_PARAMETERS pp;
        memset(&pp, 0, sizeof(pp));
        pp.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
        pp.Header.Revision = NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
        pp.Header.Size = NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
        pp.fAllocateNetBuffer = TRUE;
        pp.PoolTag = 0x35706d63; /* "cmp5" */
        ad->ad5_rx_nbls = NdisAllocateNetBufferListPool(MiniportAdapterHandle, &pp);
        if (ad->ad5_rx_nbls == NULL)
            st = NDIS_STATUS_RESOURCES;
    }
    if (st != NDIS_STATUS_SUCCESS) {
        free_adapter(ad);
        return NDIS_STATUS_RESOURCES;
    }

    NDIS_STATUS open_err = NDIS_STATUS_SUCCESS;
    UINT sel = 0;
    struct cn_ad5 *prev = tls_init_ad;
    tls_init_ad = ad;
    /* The MiniportAdapterHandle is also the WrapperConfigurationContext:
     * NdisOpenConfiguration takes any live handle of the driver. */
    CN_CALL(m5->m5_name, st = m5->m5_chars.InitializeHandler(
                             &open_err, &sel, all_media, ARRAYSIZE(all_media),
                             MiniportAdapterHandle, MiniportAdapterHandle));
    tls_init_ad = prev;
    if (st != NDIS_STATUS_SUCCESS) {
        free_adapter(ad);
        return st;
    }
    if (ad->ad5_ctx5 == NULL && sel >= ARRAYSIZE(all_media)) {
        cn_warn("%s: InitializeHandler succeeded without NdisMSetAttributesEx or with a medium "
                "index out of range", m5->m5_name);
        CN_CALL(m5->m5_name, m5->m5_chars.HaltHandler(ad->ad5_ctx5));
        free_adapter(ad);
        return NDIS_STATUS_FAILURE;
    }
    ad->ad5_medium = all_media[sel < ARRAYSIZE(all_media) ? sel : 0];

    NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES g;
    memset(&g, 0, sizeof(g));
    g.Header.Type = NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES;
    g.Header.Revision = NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1;
    g.Header.Size = NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1;
    g.MediaType = ad->ad5_medium;
    g.PhysicalMediumType = NdisPhysicalMediumUnspecified;
    g.MtuSize = 65535;
    g.MaxXmitLinkSpeed = g.XmitLinkSpeed = 1000000000ULL;
    g.MaxRcvLinkSpeed = g.RcvLinkSpeed = 1000000000ULL;
    g.MediaConnectState = MediaConnectStateConnected;
    g.MediaDuplexState = MediaDuplexStateFull;
    g.AccessType = NET_IF_ACCESS_POINT_TO_POINT;
    g.DirectionType = NET_IF_DIRECTION_SENDRECEIVE;
    g.ConnectionType = NET_IF_CONNECTION_DEDICATED;
    g.IfType = IF_TYPE_OTHER;
    g.SupportedPauseFunctions = NdisPauseFunctionsUnsupported;
    st = NdisMSetMiniportAttributes(MiniportAdapterHandle, (PNDIS_MINIPORT_ADAPTER_ATTRIBUTES)&g);
    if (st != NDIS_STATUS_SUCCESS) {
        CN_CALL(m5->m5_name, m5->m5_chars.HaltHandler(ad->ad5_ctx5));
        free_adapter(ad);
    }
    return st;
}

VOID NdisMSetAttributesEx(NDIS_HANDLE MiniportAdapterHandle, NDIS_HANDLE MiniportAdapterContext,
                          UINT CheckForHangTimeInSeconds, ULONG AttributeFlags,
                          NDIS_INTERFACE_TYPE AdapterType)
{
    CN_PASSIVE("NdisMSetAttributesEx");
    UNREFERENCED_PARAMETER(AttributeFlags);
    struct cn_ad5 *ad = tls_init_ad;
    if (ad == NULL || ad->ad5_handle != MiniportAdapterHandle) {
        cn_warn("%s: NdisMSetAttributesEx outside the InitializeHandler of adapter %p",
                cn_current_driver(), MiniportAdapterHandle);
        return;
    }
    ad->ad5_ctx5 = MiniportAdapterContext;
    NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES r;
    memset(&r, 0, sizeof(r));
    r.Header.Type = NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES;
    r.Header.Revision = NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1;
    r.Header.Size = NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1;
    r.MiniportAdapterContext = ad;
    r.AttributeFlags = NDIS_MINIPORT_ATTRIBUTES_SURPRISE_REMOVE_OK;
    r.CheckForHangTimeInSeconds = CheckForHangTimeInSeconds;
    r.InterfaceType = AdapterType;
    if (NdisMSetMiniportAttributes(MiniportAdapterHandle, (PNDIS_MINIPORT_ADAPTER_ATTRIBUTES)&r) !=
        NDIS_STATUS_SUCCESS)
        cn_warn("%s: NdisMSetAttributesEx: co refused the registration attributes",
                cn_current_driver());
}

NDIS_STATUS NdisMCmRegisterAddressFamily(NDIS_HANDLE MiniportAdapterHandle,
                                         PCO_ADDRESS_FAMILY AddressFamily,
                                         PNDIS_CALL_MANAGER_CHARACTERISTICS CmCharacteristics,
                                         UINT SizeOfCmCharacteristics)
{
    CN_PASSIVE("NdisMCmRegisterAddressFamily");
    struct cn_ad5 *ad = tls_init_ad;
    if (ad == NULL || ad->ad5_handle != MiniportAdapterHandle || AddressFamily == NULL ||
        CmCharacteristics == NULL || SizeOfCmCharacteristics < sizeof(*CmCharacteristics)) {
        cn_warn("%s: NdisMCmRegisterAddressFamily outside InitializeHandler or with bad "
                "arguments", cn_current_driver());
        return NDIS_STATUS_FAILURE;
    }
    if (ad->ad5_has_cm) {
        cn_warn("%s: condis runs one address family per NDIS 5.x adapter", cn_current_driver());
        return NDIS_STATUS_FAILURE;
    }
    ad->ad5_cm5 = *CmCharacteristics;
    ad->ad5_af = *AddressFamily;
    ad->ad5_has_cm = true;
    NDIS_STATUS st = NdisMCmRegisterAddressFamilyEx(MiniportAdapterHandle, &ad->ad5_af);
    if (st != NDIS_STATUS_SUCCESS)
        ad->ad5_has_cm = false;
    return st;
}

static VOID halt_shim(NDIS_HANDLE MiniportAdapterContext, NDIS_HALT_ACTION HaltAction)
{
    UNREFERENCED_PARAMETER(HaltAction);
    struct cn_ad5 *ad = MiniportAdapterContext;
    CN_CALL(ad->ad5_mini->m5_name, ad->ad5_mini->m5_chars.HaltHandler(ad->ad5_ctx5));
    free_adapter(ad);
}

/* A 5.x miniport has no paused state: it is always ready. */
static NDIS_STATUS pause_shim(NDIS_HANDLE MiniportAdapterContext,
                              PNDIS_MINIPORT_PAUSE_PARAMETERS PauseParameters)
{
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(PauseParameters);
    return NDIS_STATUS_SUCCESS;
}

static NDIS_STATUS restart_shim(NDIS_HANDLE MiniportAdapterContext,
                                PNDIS_MINIPORT_RESTART_PARAMETERS RestartParameters)
{
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(RestartParameters);
    return NDIS_STATUS_SUCCESS;
}

static NDIS_STATUS oid_shim(NDIS_HANDLE MiniportAdapterContext, PNDIS_OID_REQUEST OidRequest)
{
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(OidRequest);
    return NDIS_STATUS_NOT_SUPPORTED;
}

static NDIS_STATUS co_oid_shim(NDIS_HANDLE MiniportAdapterContext, NDIS_HANDLE MiniportVcContext,
                               PNDIS_OID_REQUEST NdisRequest)
{
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(MiniportVcContext);
    UNREFERENCED_PARAMETER(NdisRequest);
    return NDIS_STATUS_NOT_SUPPORTED;
}

/* co calls this from condis_driver_unload in place of DriverUnload: the
 * driver's own unload runs first (NdisMRegisterUnloadHandler's, else the
 * DriverObject's), then condis deregisters what NDIS 5 never asked the
 * driver to deregister. */
static VOID unload_shim(PDRIVER_OBJECT DriverObject)
{
    struct cn_mini5 *m5 = NULL;
    struct cn_driver *drv = NULL;
    pthread_mutex_lock(&cn_rt.rt_lock);
    for (PLIST_ENTRY e = cn_rt.rt_miniports.Flink; e != &cn_rt.rt_miniports; e = e->Flink) {
        drv = CONTAINING_RECORD(e, struct cn_driver, drv_link);
        struct cn_mini5 *c = drv->drv_context;
        if (drv->drv_mchars.UnloadHandler == unload_shim && c && c->m5_object == DriverObject) {
            m5 = c;
            break;
        }
    }
    pthread_mutex_unlock(&cn_rt.rt_lock);
    if (m5 == NULL)
        return;
    if (m5->m5_unload)
        CN_CALL(m5->m5_name, m5->m5_unload(DriverObject));
    else if (DriverObject->DriverUnload)
        CN_CALL(m5->m5_name, DriverObject->DriverUnload(DriverObject));
    NdisMDeregisterMiniportDriver(m5->m5_handle);
    mini5_free(m5);
}

static VOID return_shim(NDIS_HANDLE MiniportAdapterContext, PNET_BUFFER_LIST NetBufferLists,
                        ULONG ReturnFlags)
{
    UNREFERENCED_PARAMETER(ReturnFlags);
    struct cn_ad5 *ad = MiniportAdapterContext;
    PNET_BUFFER_LIST next;
    for (PNET_BUFFER_LIST nbl = NetBufferLists; nbl; nbl = next) {
        next = NET_BUFFER_LIST_NEXT_NBL(nbl);
        NET_BUFFER_LIST_NEXT_NBL(nbl) = NULL;
        PNDIS_PACKET P = nbl->MiniportReserved[0];
        NdisFreeNetBufferList(nbl);
        CN_CALL(ad->ad5_mini->m5_name, ad->ad5_mini->m5_chars.ReturnPacketHandler(ad->ad5_ctx5, P));
    }
}

/* ---- call manager shims ---------------------------------------------------------- */

static NDIS_STATUS cm_open_af_shim(NDIS_HANDLE CallMgrBindingContext,
                                   PCO_ADDRESS_FAMILY AddressFamily, NDIS_HANDLE NdisAfHandle,
                                   PNDIS_HANDLE CallMgrAfContext)
{
    struct cn_ad5 *ad = CallMgrBindingContext;
    if (!ad->ad5_has_cm)
        return NDIS_STATUS_FAILURE;
    struct cn_maf5 *af = calloc(1, sizeof(*af));
    if (af == NULL)
        return NDIS_STATUS_RESOURCES;
    af->maf_ad = ad;
    af->maf_afh = NdisAfHandle;
    /* Listed before the call: a pended open may complete (and look the
     * wrapper up by its NdisAfHandle) before the handler returns. */
    pthread_mutex_lock(&ad->ad5_lock);
    InsertTailList(&ad->ad5_afs, &af->maf_link);
    pthread_mutex_unlock(&ad->ad5_lock);
    NDIS_HANDLE ctx5 = NULL;
    NDIS_STATUS st;
    CN_CALL(ad->ad5_mini->m5_name,
            st = ad->ad5_cm5.CmOpenAfHandler(ad->ad5_ctx5, AddressFamily, NdisAfHandle, &ctx5));
    if (st != NDIS_STATUS_SUCCESS && st != NDIS_STATUS_PENDING) {
        pthread_mutex_lock(&ad->ad5_lock);
        RemoveEntryList(&af->maf_link);
        pthread_mutex_unlock(&ad->ad5_lock);
        free(af);
        return st;
    }
    if (st == NDIS_STATUS_SUCCESS)
        af->maf_ctx5 = ctx5; /* pended: the completion carries it */
    *CallMgrAfContext = af;
    return st;
}

/* co's drv_cm_af_complete_ctx: a 5.x call manager whose CmOpenAf pended
 * completes with its own context; co must keep the wrapper cm_open_af_shim
 * made, now holding that context. */
static NDIS_HANDLE cm_af_complete_ctx(NDIS_HANDLE NdisAfHandle, NDIS_HANDLE completed)
{
    struct cn_af *caf = cn_handle_get(NdisAfHandle, CN_H_AF);
    if (caf == NULL)
        return completed;
    struct cn_ad5 *ad = caf->af_binding->b_adapter->ad_context;
    struct cn_maf5 *found = NULL;
    pthread_mutex_lock(&ad->ad5_lock);
    for (LIST_ENTRY *e = ad->ad5_afs.Flink; e != &ad->ad5_afs; e = e->Flink) {
        struct cn_maf5 *af = CONTAINING_RECORD(e, struct cn_maf5, maf_link);
        if (af->maf_afh == NdisAfHandle)
            found = af;
    }
    if (found)
        found->maf_ctx5 = completed;
    pthread_mutex_unlock(&ad->ad5_lock);
    return found ? (NDIS_HANDLE)found : completed;
}

static NDIS_STATUS cm_close_af_shim(NDIS_HANDLE CallMgrAfContext)
{
    struct cn_maf5 *af = CallMgrAfContext;
    struct cn_ad5 *ad = af->maf_ad;
    NDIS_STATUS st;
    CN_CALL(ad->ad5_mini->m5_name, st = ad->ad5_cm5.CmCloseAfHandler(af->maf_ctx5));
    /* Pended: the wrapper stays on the adapter's list until halt. */
    if (st == NDIS_STATUS_SUCCESS) {
        pthread_mutex_lock(&ad->ad5_lock);
        RemoveEntryList(&af->maf_link);
        pthread_mutex_unlock(&ad->ad5_lock);
        free(af);
    }
    return st;
}

/* NDIS calls an MCM's call manager CreateVcHandler for a client's VC; the
 * miniport's CoCreateVcHandler is the driver's own business. */
static NDIS_STATUS cm_create_vc_shim(NDIS_HANDLE ProtocolAfContext, NDIS_HANDLE NdisVcHandle,
                                     PNDIS_HANDLE ProtocolVcContext)
{
    struct cn_maf5 *af = ProtocolAfContext;
    struct cn_ad5 *ad = af->maf_ad;
    struct cn_mvc5 *vc = calloc(1, sizeof(*vc));
    if (vc == NULL)
        return NDIS_STATUS_RESOURCES;
    vc->mvc_ad = ad;
    vc->mvc_handle = NdisVcHandle;
    NDIS_STATUS st;
    CN_CALL(ad->ad5_mini->m5_name,
            st = ad->ad5_cm5.CmCreateVcHandler(af->maf_ctx5, NdisVcHandle, &vc->mvc_ctx5));
    if (st != NDIS_STATUS_SUCCESS) {
        free(vc);
        return st;
    }
    *ProtocolVcContext = vc;
    return st;
}

static NDIS_STATUS cm_delete_vc_shim(NDIS_HANDLE ProtocolVcContext)
{
    struct cn_mvc5 *vc = ProtocolVcContext;
    struct cn_ad5 *ad = vc->mvc_ad;
    NDIS_STATUS st;
    CN_CALL(ad->ad5_mini->m5_name, st = ad->ad5_cm5.CmDeleteVcHandler(vc->mvc_ctx5));
    if (st == NDIS_STATUS_SUCCESS)
        free(vc);
    return st;
}

static NDIS_STATUS cm_reg_sap_shim(NDIS_HANDLE CallMgrAfContext, PCO_SAP Sap,
                                   NDIS_HANDLE NdisSapHandle, PNDIS_HANDLE CallMgrSapContext)
{
    struct cn_maf5 *af = CallMgrAfContext;
    CM_REG_SAP_HANDLER fn = af->maf_ad->ad5_cm5.CmRegisterSapHandler;
    return fn ? fn(af->maf_ctx5, Sap, NdisSapHandle, CallMgrSapContext)
              : NDIS_STATUS_NOT_SUPPORTED;
}

/* The SAP context is the driver's own: co passes it through unchanged,
 * but does not say which adapter it belongs to, so deregistration cannot
 * be routed; 5.x MCMs that register SAPs are not supported. */
static NDIS_STATUS cm_dereg_sap_shim(NDIS_HANDLE CallMgrSapContext)
{
    UNREFERENCED_PARAMETER(CallMgrSapContext);
    return NDIS_STATUS_NOT_SUPPORTED;
}

static NDIS_STATUS cm_make_call_shim(NDIS_HANDLE CallMgrVcContext,
                                     PCO_CALL_PARAMETERS CallParameters,
                                     NDIS_HANDLE NdisPartyHandle,
                                     PNDIS_HANDLE CallMgrPartyContext)
{
    struct cn_mvc5 *vc = CallMgrVcContext;
    NDIS_STATUS st;
    CN_CALL(vc->mvc_ad->ad5_mini->m5_name,
            st = vc->mvc_ad->ad5_cm5.CmMakeCallHandler(vc->mvc_ctx5, CallParameters,
                                                       NdisPartyHandle, CallMgrPartyContext));
    return st;
}

static NDIS_STATUS cm_close_call_shim(NDIS_HANDLE CallMgrVcContext,
                                      NDIS_HANDLE CallMgrPartyContext, PVOID CloseData,
                                      UINT Size)
{
    struct cn_mvc5 *vc = CallMgrVcContext;
    NDIS_STATUS st;
    CN_CALL(vc->mvc_ad->ad5_mini->m5_name,
            st = vc->mvc_ad->ad5_cm5.CmCloseCallHandler(vc->mvc_ctx5, CallMgrPartyContext,
                                                        CloseData, Size));
    return st;
}

static VOID cm_incoming_complete_shim(NDIS_STATUS Status, NDIS_HANDLE CallMgrVcContext,
                                      PCO_CALL_PARAMETERS CallParameters)
{
    struct cn_mvc5 *vc = CallMgrVcContext;
    CM_INCOMING_CALL_COMPLETE_HANDLER fn = vc->mvc_ad->ad5_cm5.CmIncomingCallCompleteHandler;
    if (fn)
        fn(Status, vc->mvc_ctx5, CallParameters);
}

static NDIS_STATUS cm_add_party_shim(NDIS_HANDLE CallMgrVcContext,
                                     PCO_CALL_PARAMETERS CallParameters,
                                     NDIS_HANDLE NdisPartyHandle,
                                     PNDIS_HANDLE CallMgrPartyContext)
{
    struct cn_mvc5 *vc = CallMgrVcContext;
    CM_ADD_PARTY_HANDLER fn = vc->mvc_ad->ad5_cm5.CmAddPartyHandler;
    return fn ? fn(vc->mvc_ctx5, CallParameters, NdisPartyHandle, CallMgrPartyContext)
              : NDIS_STATUS_NOT_SUPPORTED;
}

static NDIS_STATUS cm_drop_party_shim(NDIS_HANDLE CallMgrPartyContext, PVOID CloseData,
                                      UINT Size)
{
    UNREFERENCED_PARAMETER(CallMgrPartyContext);
    UNREFERENCED_PARAMETER(CloseData);
    UNREFERENCED_PARAMETER(Size);
    return NDIS_STATUS_NOT_SUPPORTED;
}

/* NDIS never calls an MCM's activate/deactivate completion handlers. */
static VOID cm_activate_complete_shim(NDIS_STATUS Status, NDIS_HANDLE CallMgrVcContext,
                                      PCO_CALL_PARAMETERS CallParameters)
{
    UNREFERENCED_PARAMETER(Status);
    UNREFERENCED_PARAMETER(CallMgrVcContext);
    UNREFERENCED_PARAMETER(CallParameters);
}

static VOID cm_deactivate_complete_shim(NDIS_STATUS Status, NDIS_HANDLE CallMgrVcContext)
{
    UNREFERENCED_PARAMETER(Status);
    UNREFERENCED_PARAMETER(CallMgrVcContext);
}

static NDIS_STATUS cm_modify_qos_shim(NDIS_HANDLE CallMgrVcContext,
                                      PCO_CALL_PARAMETERS CallParameters)
{
    struct cn_mvc5 *vc = CallMgrVcContext;
    CM_MODIFY_CALL_QOS_HANDLER fn = vc->mvc_ad->ad5_cm5.CmModifyCallQoSHandler;
    return fn ? fn(vc->mvc_ctx5, CallParameters) : NDIS_STATUS_NOT_SUPPORTED;
}

/* NDIS_OID_REQUEST to NDIS_REQUEST translation is not done yet. */
static NDIS_STATUS cm_oid_shim(NDIS_HANDLE ProtocolAfContext, NDIS_HANDLE ProtocolVcContext,
                               NDIS_HANDLE ProtocolPartyContext, PNDIS_OID_REQUEST OidRequest)
{
    UNREFERENCED_PARAMETER(ProtocolAfContext);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    UNREFERENCED_PARAMETER(OidRequest);
    return NDIS_STATUS_NOT_SUPPORTED;
}

static VOID cm_oid_complete_shim(NDIS_HANDLE ProtocolAfContext, NDIS_HANDLE ProtocolVcContext,
                                 NDIS_HANDLE ProtocolPartyContext, PNDIS_OID_REQUEST OidRequest,
                                 NDIS_STATUS Status)
{
    UNREFERENCED_PARAMETER(ProtocolAfContext);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    UNREFERENCED_PARAMETER(OidRequest);
    UNREFERENCED_PARAMETER(Status);
}

/* NDIS 5 has no NdisMCmNotifyCloseAddressFamily: never asked for. */
static VOID cm_notify_close_af_complete_shim(NDIS_HANDLE CallMgrAfContext, NDIS_STATUS Status)
{
    UNREFERENCED_PARAMETER(CallMgrAfContext);
    UNREFERENCED_PARAMETER(Status);
}

/* ---- data path --------------------------------------------------------------------- */

/* The miniport activates/deactivates through NdisMCmActivateVc in its own
 * call manager; co does not call these for an MCM. */
static NDIS_STATUS co_activate_shim(NDIS_HANDLE MiniportVcContext,
                                    PCO_CALL_PARAMETERS CallParameters)
{
    UNREFERENCED_PARAMETER(MiniportVcContext);
    UNREFERENCED_PARAMETER(CallParameters);
    return NDIS_STATUS_SUCCESS;
}

static NDIS_STATUS co_deactivate_shim(NDIS_HANDLE MiniportVcContext)
{
    UNREFERENCED_PARAMETER(MiniportVcContext);
    return NDIS_STATUS_SUCCESS;
}

static NDIS_STATUS co_create_vc_shim(NDIS_HANDLE MiniportAdapterContext, NDIS_HANDLE NdisVcHandle,
                                     PNDIS_HANDLE MiniportVcContext)
{
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(NdisVcHandle);
    UNREFERENCED_PARAMETER(MiniportVcContext);
    return NDIS_STATUS_NOT_SUPPORTED;
}

static NDIS_STATUS co_delete_vc_shim(NDIS_HANDLE MiniportVcContext)
{
    UNREFERENCED_PARAMETER(MiniportVcContext);
    return NDIS_STATUS_SUCCESS;
}

/* Per NBL: MiniportReserved[0] counts its packets still with the miniport
 * (plus one while the shim is still submitting them); [1] is the VC handle.
 * MiniportReserved is condis' here: condis is the NDIS 6 miniport. */
static void send_nbl_release(PNET_BUFFER_LIST nbl, ULONG n)
{
    uintptr_t *count = (uintptr_t *)&nbl->MiniportReserved[0];
    if (__atomic_sub_fetch(count, n, __ATOMIC_ACQ_REL) != 0)
        return;
    NDIS_HANDLE vh = nbl->MiniportReserved[1];
    nbl->MiniportReserved[0] = nbl->MiniportReserved[1] = NULL;
    NdisMCoSendNetBufferListsComplete(vh, nbl,
                                      dispatch_flag(NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL));
}

static void send_fail(PNET_BUFFER_LIST nbl, NDIS_STATUS st)
{
    NDIS_STATUS ok = NDIS_STATUS_SUCCESS;
    __atomic_compare_exchange_n(&NET_BUFFER_LIST_STATUS(nbl), &ok, st, false, __ATOMIC_ACQ_REL,
                                __ATOMIC_ACQUIRE);
}

static void packet_free(PNDIS_PACKET P)
{
    PNDIS_BUFFER buf;
    for (;;) {
        NdisUnchainBufferAtFront(P, &buf);
        if (buf == NULL)
            break;
        NdisFreeBuffer(buf);
    }
    cn_packet_of(P)->co5_private = NULL;
    NdisFreePacket(P);
}

static PNDIS_PACKET packet_for(struct cn_ad5 *ad, PNET_BUFFER nb)
{
    NDIS_STATUS st;
    PNDIS_PACKET P = NULL;
    NdisAllocatePacket(&st, &P, ad->ad5_packets);
    if (st != NDIS_STATUS_SUCCESS)
        return NULL;
    PMDL mdl = NET_BUFFER_CURRENT_MDL(nb);
    ULONG off = NET_BUFFER_CURRENT_MDL_OFFSET(nb);
    ULONG left = NET_BUFFER_DATA_LENGTH(nb);
    for (; left > 0 && mdl; mdl = mdl->Next, off = 0) {
        ULONG avail = MmGetMdlByteCount(mdl) > off ? MmGetMdlByteCount(mdl) - off : 0;
        ULONG take = avail < left ? avail : left;
        if (take == 0)
            continue;
        PNDIS_BUFFER buf = NULL;
        NdisCopyBuffer(&st, &buf, ad->ad5_buffers, mdl, off, take);
        if (st != NDIS_STATUS_SUCCESS) {
            packet_free(P);
            return NULL;
        }
        NdisChainBufferAtBack(P, buf);
        left -= take;
    }
    return P;
}

/* co's MiniportCoSendNetBufferLists for every 5.x MCM. On entry condis
 * owns the chain as the miniport; each NBL goes back through
 * NdisMCoSendNetBufferListsComplete once its last packet is completed. */
static VOID co_send_shim(NDIS_HANDLE MiniportVcContext, PNET_BUFFER_LIST NetBufferLists,
                         ULONG SendFlags)
{
    UNREFERENCED_PARAMETER(SendFlags);
    struct cn_mvc5 *vc = MiniportVcContext;
    struct cn_ad5 *ad = vc->mvc_ad;
    W_CO_SEND_PACKETS_HANDLER send = ad->ad5_mini->m5_chars.CoSendPacketsHandler;
    PNET_BUFFER_LIST next;
    for (PNET_BUFFER_LIST nbl = NetBufferLists; nbl; nbl = next) {
        next = NET_BUFFER_LIST_NEXT_NBL(nbl);
        NET_BUFFER_LIST_NEXT_NBL(nbl) = NULL;
        uintptr_t n = 1;
        for (PNET_BUFFER nb = NET_BUFFER_LIST_FIRST_NB(nbl); nb; nb = NET_BUFFER_NEXT_NB(nb))
            n++;
        NET_BUFFER_LIST_STATUS(nbl) = NDIS_STATUS_SUCCESS;
        nbl->MiniportReserved[0] = (PVOID)n;
        nbl->MiniportReserved[1] = vc->mvc_handle;
        PNDIS_PACKET batch[CN_M5_BATCH];
        UINT nb_in = 0;
        ULONG undone = 1; /* the submission's own reference */
        for (PNET_BUFFER nb = NET_BUFFER_LIST_FIRST_NB(nbl); nb; nb = NET_BUFFER_NEXT_NB(nb)) {
            PNDIS_PACKET P = packet_for(ad, nb);
            if (P == NULL) {
                send_fail(nbl, NDIS_STATUS_RESOURCES);
                undone++;
                continue;
            }
            cn_packet_of(P)->co5_private = nbl;
            NDIS_SET_PACKET_STATUS(P, NDIS_STATUS_SUCCESS);
            batch[nb_in++] = P;
            if (nb_in == CN_M5_BATCH) {
                CN_CALL(ad->ad5_mini->m5_name, send(vc->mvc_ctx5, batch, nb_in));
                nb_in = 0;
            }
        }
        if (nb_in)
            CN_CALL(ad->ad5_mini->m5_name, send(vc->mvc_ctx5, batch, nb_in));
        send_nbl_release(nbl, undone);
    }
}

VOID NdisMCoSendComplete(NDIS_STATUS Status, NDIS_HANDLE NdisVcHandle, PNDIS_PACKET Packet)
{
    struct cn_packet *cp = cn_packet_check(Packet);
    PNET_BUFFER_LIST nbl = cp ? __atomic_load_n((void **)&cp->co5_private, __ATOMIC_ACQUIRE) : NULL;
    if (nbl == CN_M5_ORPHAN) {
        /* Late: its NBL went back to the protocol (OWN-6, reported then). */
        packet_free(Packet);
        return;
    }
    if (nbl == NULL) {
        char obj[160];
        snprintf(obj, sizeof(obj), "packet %p", (void *)Packet);
        cn_violation(CN_OWN5, NULL, "NdisMCoSendComplete", obj, NULL,
                     "completed a packet that is not in flight to it (completed already, or "
                     "never sent); condis ignores the completion");
        return;
    }
    if (NdisVcHandle != nbl->MiniportReserved[1]) {
        char obj[160];
        snprintf(obj, sizeof(obj), "packet %p", (void *)Packet);
        cn_violation(CN_OWN5, NULL, "NdisMCoSendComplete", obj,
                     CN_VERIFYING ? cn_packet_shadow(cp) : NULL,
                     "completed a packet with NdisVcHandle %p, but it was sent on %p; condis "
                     "returns it to the VC it was sent on",
                     NdisVcHandle, nbl->MiniportReserved[1]);
    }
    if (Status == NDIS_STATUS_PENDING || Status == NDIS_STATUS_RESOURCES) {
        char obj[160];
        snprintf(obj, sizeof(obj), "packet %p", (void *)Packet);
        cn_violation(CN_PKT3, NULL, "NdisMCoSendComplete", obj,
                     CN_VERIFYING ? cn_packet_shadow(cp) : NULL,
                     "completed a packet with %s, which is not a final status; condis reports "
                     "NDIS_STATUS_FAILURE",
                     Status == NDIS_STATUS_PENDING ? "NDIS_STATUS_PENDING"
                                                   : "NDIS_STATUS_RESOURCES");
        Status = NDIS_STATUS_FAILURE;
    }
    if (Status != NDIS_STATUS_SUCCESS)
        send_fail(nbl, Status);
    if (CN_VERIFYING)
        cn_verify_mp5_completed(Packet, cp, cn_current_driver());
    packet_free(Packet);
    send_nbl_release(nbl, 1);
}

VOID NdisMCoIndicateReceivePacket(NDIS_HANDLE NdisVcHandle, PPNDIS_PACKET PacketArray,
                                  UINT NumberOfPackets)
{
    struct cn_vc *cvc = cn_vc_get(NdisVcHandle);
    if (cvc == NULL || cvc->vc_adapter == NULL || PacketArray == NULL) {
        cn_warn("%s: NdisMCoIndicateReceivePacket on %p, which is not a live VC",
                cn_current_driver(), NdisVcHandle);
        return;
    }
    struct cn_ad5 *ad = cvc->vc_adapter->ad_context;
    ULONG flags = dispatch_flag(NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL);
    for (UINT i = 0; i < NumberOfPackets; i++) {
        PNDIS_PACKET P = PacketArray[i];
        UINT len = 0;
        NdisQueryPacket(P, NULL, NULL, NULL, &len);
        bool resources = NDIS_GET_PACKET_STATUS(P) == NDIS_STATUS_RESOURCES;
        PNET_BUFFER_LIST nbl = NdisAllocateNetBufferAndNetBufferList(
            ad->ad5_rx_nbls, 0, 0, (PMDL)P->Private.Head, 0, len);
        if (nbl == NULL) {
            /* Dropped; the miniport gets the packet back as if a protocol
             * had returned it (with RESOURCES it is the miniport's anyway). */
            CN_WARN_ONCE("%s: condis' receive NBL pool is empty; a packet is dropped",
                         ad->ad5_mini->m5_name);
            if (!resources)
                CN_CALL(ad->ad5_mini->m5_name,
                        ad->ad5_mini->m5_chars.ReturnPacketHandler(ad->ad5_ctx5, P));
            continue;
        }
        nbl->MiniportReserved[0] = P;
        nbl->SourceHandle = NdisVcHandle;
        /* Without RESOURCES the packet is the protocols' from here until
         * ReturnPacketHandler, which may run before the indication returns:
         * P is not touched after it. */
        if (!resources)
            NDIS_SET_PACKET_STATUS(P, NDIS_STATUS_PENDING);
        NdisMCoIndicateReceiveNetBufferLists(
            NdisVcHandle, nbl, 1, flags | (resources ? NDIS_RECEIVE_FLAGS_RESOURCES : 0));
        if (resources)
            NdisFreeNetBufferList(nbl);
    }
}

/* Receives are indicated one by one and synchronously; co has no
 * receive-complete notification in NDIS 6, so there is nothing to flush. */
VOID NdisMCoReceiveComplete(NDIS_HANDLE MiniportAdapterHandle)
{
    UNREFERENCED_PARAMETER(MiniportAdapterHandle);
}

/* ---- registration ----------------------------------------------------------------- */

static NDIS_STATUS set_options_shim(NDIS_HANDLE NdisDriverHandle, NDIS_HANDLE DriverContext)
{
    struct cn_mini5 *m5 = DriverContext;
    NDIS_MINIPORT_CO_CHARACTERISTICS *co = &m5->m5_co6;
    memset(co, 0, sizeof(*co));
    co->Header.Type = NDIS_OBJECT_TYPE_CO_MINIPORT_CHARACTERISTICS;
    co->Header.Revision = NDIS_MINIPORT_CO_CHARACTERISTICS_REVISION_1;
    co->Header.Size = NDIS_SIZEOF_MINIPORT_CO_CHARACTERISTICS_REVISION_1;
    co->CoCreateVcHandler = co_create_vc_shim;
    co->CoDeleteVcHandler = co_delete_vc_shim;
    co->CoActivateVcHandler = co_activate_shim;
    co->CoDeactivateVcHandler = co_deactivate_shim;
    co->CoSendNetBufferListsHandler = co_send_shim;
    co->CoOidRequestHandler = co_oid_shim;
    NDIS_STATUS st = NdisSetOptionalHandlers(NdisDriverHandle, (PNDIS_DRIVER_OPTIONAL_HANDLERS)co);
    if (st != NDIS_STATUS_SUCCESS)
        return st;
    NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS *cm = &m5->m5_cm6;
    memset(cm, 0, sizeof(*cm));
    cm->Header.Type = NDIS_OBJECT_TYPE_CO_CALL_MANAGER_OPTIONAL_HANDLERS;
    cm->Header.Revision = NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS_REVISION_1;
    cm->Header.Size = NDIS_SIZEOF_CO_CALL_MANAGER_OPTIONAL_HANDLERS_REVISION_1;
    cm->CmCreateVcHandler = cm_create_vc_shim;
    cm->CmDeleteVcHandler = cm_delete_vc_shim;
    cm->CmOpenAfHandler = cm_open_af_shim;
    cm->CmCloseAfHandler = cm_close_af_shim;
    cm->CmRegisterSapHandler = cm_reg_sap_shim;
    cm->CmDeregisterSapHandler = cm_dereg_sap_shim;
    cm->CmMakeCallHandler = cm_make_call_shim;
    cm->CmCloseCallHandler = cm_close_call_shim;
    cm->CmIncomingCallCompleteHandler = cm_incoming_complete_shim;
    cm->CmAddPartyHandler = cm_add_party_shim;
    cm->CmDropPartyHandler = cm_drop_party_shim;
    cm->CmActivateVcCompleteHandler = cm_activate_complete_shim;
    cm->CmDeactivateVcCompleteHandler = cm_deactivate_complete_shim;
    cm->CmModifyCallQoSHandler = cm_modify_qos_shim;
    cm->CmOidRequestHandler = cm_oid_shim;
    cm->CmOidRequestCompleteHandler = cm_oid_complete_shim;
    cm->CmNotifyCloseAfCompleteHandler = cm_notify_close_af_complete_shim;
    return NdisSetOptionalHandlers(NdisDriverHandle, (PNDIS_DRIVER_OPTIONAL_HANDLERS)cm);
}

NDIS_STATUS NdisMRegisterMiniport(NDIS_HANDLE NdisWrapperHandle,
                                  PNDIS_MINIPORT_CHARACTERISTICS MiniportCharacteristics,
                                  UINT CharacteristicsLength)
{
    CN_PASSIVE("NdisMRegisterMiniport");
    struct cn_mini5 *m5 = mini5_get(NdisWrapperHandle, "NdisMRegisterMiniport");
    if (m5 == NULL || MiniportCharacteristics == NULL)
        return NDIS_STATUS_FAILURE;
    const NDIS50_MINIPORT_CHARACTERISTICS *c = (const void *)MiniportCharacteristics;
    size_t want = c->MinorNdisVersion >= 1 ? sizeof(NDIS51_MINIPORT_CHARACTERISTICS)
                                           : sizeof(NDIS50_MINIPORT_CHARACTERISTICS);
    if (c->MajorNdisVersion != 5) {
        cn_warn("NdisMRegisterMiniport: MajorNdisVersion %u; condis runs NDIS 5.x miniports "
                "here", c->MajorNdisVersion);
        return NDIS_STATUS_BAD_VERSION;
    }
    if (CharacteristicsLength < want) {
        cn_warn("NdisMRegisterMiniport: CharacteristicsLength %u is smaller than the NDIS 5.%u "
                "structure (%zu)", CharacteristicsLength, c->MinorNdisVersion, want);
        return NDIS_STATUS_BAD_CHARACTERISTICS;
    }
    if (c->InitializeHandler == NULL || c->HaltHandler == NULL ||
        c->CoSendPacketsHandler == NULL || c->ReturnPacketHandler == NULL) {
        cn_warn("NdisMRegisterMiniport: condis runs NDIS 5.x miniport call managers: the "
                "initialize, halt, return-packet and CoSendPackets handlers are required");
        return NDIS_STATUS_BAD_CHARACTERISTICS;
    }
    if (m5->m5_handle != NULL)
        return NDIS_STATUS_FAILURE;
    memset(&m5->m5_chars, 0, sizeof(m5->m5_chars));
    memcpy(&m5->m5_chars, c, want);
    NDIS_MINIPORT_DRIVER_CHARACTERISTICS *c6 = &m5->m5_chars6;
    memset(c6, 0, sizeof(*c6));
    c6->Header.Type = NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS;
    c6->Header.Revision = NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1;
    c6->Header.Size = NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1;
    c6->MajorNdisVersion = 6;
    c6->MinorNdisVersion = 0;
    c6->MajorDriverVersion = 5;
    c6->MinorDriverVersion = c->MinorNdisVersion;
    c6->SetOptionsHandler = set_options_shim;
    c6->InitializeHandlerEx = initialize_shim;
    c6->HaltHandlerEx = halt_shim;
    c6->UnloadHandler = unload_shim;
    c6->PauseHandler = pause_shim;
    c6->RestartHandler = restart_shim;
    c6->OidRequestHandler = oid_shim;
    c6->ReturnNetBufferListsHandler = return_shim;
    NDIS_HANDLE h = NULL;
    NDIS_STATUS st = NdisMRegisterMiniportDriver(m5->m5_object, m5->m5_registry, m5, c6, &h);
    if (st == NDIS_STATUS_SUCCESS) {
        m5->m5_handle = h;
        m5->m5_name = cn_current_driver();
        struct cn_driver *drv = cn_driver_from_handle(h, CN_DRV_MINIPORT);
        drv->drv_cm_af_complete_ctx = cm_af_complete_ctx;
        drv->drv_send_reclaimed = send_reclaimed;
    }
    return st;
}
