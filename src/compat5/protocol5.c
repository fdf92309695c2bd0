/*
 * protocol5.c - NDIS 5.x protocols over the NDIS 6 CoNDIS layer:
 * NdisRegisterProtocol / NdisDeregisterProtocol, binding (NdisOpenAdapter,
 * NdisCompleteBindAdapter, NdisCloseAdapter, NdisCompleteUnbindAdapter),
 * the co6 shims that call the 5.x handlers, and the NDIS 5.x work item.
 *
 * A 5.x protocol is an NDIS 6 protocol of co whose ProtocolDriverContext is
 * its struct cn_proto5 and whose ProtocolBindingContexts are struct
 * cn_bind5; every shim unwraps those and calls the 5.x driver with its own
 * contexts. Control-plane functions here run at PASSIVE_LEVEL; none holds a
 * lock while it calls a driver.
 */
#include "cn_proto5.h"

#include <stdlib.h>
#include <string.h>

#define CN_P5_RX_PACKETS 4096u
#define CN_P5_RX_BUFFERS 8192u
#define CN_P5_SEND_TAG 0x6e733563u /* "c5sn" */

/* The BindContext of the BindAdapterHandler running on this thread: 5.x
 * NdisOpenAdapter has no BindContext argument. */
static _Thread_local NDIS_HANDLE tls_bind_context;
static _Thread_local struct cn_proto5 *tls_bind_proto;

static PROTOCOL_BIND_ADAPTER_EX bind_shim;

/* The cn_proto5 of a co protocol, or NULL when it is an NDIS 6 protocol. */
static struct cn_proto5 *proto5_of(struct cn_driver *drv)
{
    if (drv == NULL || drv->drv_pchars.BindAdapterHandlerEx != bind_shim)
        return NULL;
    return drv->drv_context;
}

/* The cn_bind5 behind a live 5.x binding handle, or NULL. */
static struct cn_bind5 *bind5_of(NDIS_HANDLE NdisBindingHandle)
{
    struct cn_binding *b = cn_binding_get(NdisBindingHandle);
    if (b == NULL || proto5_of(b->b_protocol) == NULL)
        return NULL;
    return b->b_context;
}

/* ---- shims: co calls these as the protocol's NDIS 6 handlers ----------- */

static NDIS_STATUS bind_shim(NDIS_HANDLE ProtocolDriverContext, NDIS_HANDLE BindContext,
                             PNDIS_BIND_PARAMETERS BindParameters)
{
    struct cn_proto5 *p5 = ProtocolDriverContext;
    NDIS_HANDLE prev_ctx = tls_bind_context;
    struct cn_proto5 *prev_p5 = tls_bind_proto;
    tls_bind_context = BindContext;
    tls_bind_proto = p5;
    NDIS_STATUS st = NDIS_STATUS_FAILURE;
    p5->p5_chars.BindAdapterHandler(&st, BindContext, BindParameters->AdapterName,
                                    &p5->p5_section, NULL);
    tls_bind_context = prev_ctx;
    tls_bind_proto = prev_p5;
    return st;
}

static void bind5_free(struct cn_bind5 *b5)
{
    cn_af5_free_all(b5);
    pthread_mutex_destroy(&b5->b5_lock);
    free(b5);
}

static VOID open_complete_shim(NDIS_HANDLE ProtocolBindingContext, NDIS_STATUS Status)
{
    struct cn_bind5 *b5 = ProtocolBindingContext;
    NDIS_HANDLE ctx5 = b5->b5_ctx5;
    struct cn_proto5 *p5 = b5->b5_proto;
    if (Status == NDIS_STATUS_SUCCESS && b5->b5_handle_out)
        b5->b5_handle = *b5->b5_handle_out;
    if (Status != NDIS_STATUS_SUCCESS)
        bind5_free(b5);
    p5->p5_chars.OpenAdapterCompleteHandler(ctx5, Status, Status);
}

static VOID close_complete_shim(NDIS_HANDLE ProtocolBindingContext)
{
    struct cn_bind5 *b5 = ProtocolBindingContext;
    NDIS_HANDLE ctx5 = b5->b5_ctx5;
    struct cn_proto5 *p5 = b5->b5_proto;
    bind5_free(b5);
    p5->p5_chars.CloseAdapterCompleteHandler(ctx5, NDIS_STATUS_SUCCESS);
}

static NDIS_STATUS unbind_shim(NDIS_HANDLE UnbindContext, NDIS_HANDLE ProtocolBindingContext)
{
    struct cn_bind5 *b5 = ProtocolBindingContext;
    NDIS_STATUS st = NDIS_STATUS_FAILURE;
    b5->b5_proto->p5_chars.UnbindAdapterHandler(&st, b5->b5_ctx5, UnbindContext);
    return st;
}

static NDIS_STATUS pnp_shim(NDIS_HANDLE ProtocolBindingContext,
                            PNET_PNP_EVENT_NOTIFICATION NetPnPEventNotification)
{
    struct cn_bind5 *b5 = ProtocolBindingContext;
    NET_PNP_EVENT_CODE code = NetPnPEventNotification->NetPnPEvent.NetEvent;
    /* Pause and restart exist only in NDIS 6: a 5.x protocol has nothing
     * to do for them and would not understand them. */
    if (code == NetEventPause || code == NetEventRestart || b5 == NULL)
        return NDIS_STATUS_SUCCESS;
    PNP_EVENT_HANDLER fn = b5->b5_proto->p5_chars.PnPEventHandler;
    if (fn == NULL)
        return NDIS_STATUS_SUCCESS;
    return fn(b5->b5_ctx5, &NetPnPEventNotification->NetPnPEvent);
}

static VOID af_notify_shim(NDIS_HANDLE ProtocolBindingContext, PCO_ADDRESS_FAMILY AddressFamily)
{
    struct cn_bind5 *b5 = ProtocolBindingContext;
    CO_AF_REGISTER_NOTIFY_HANDLER fn = b5->b5_proto->p5_chars.CoAfRegisterNotifyHandler;
    if (fn)
        fn(b5->b5_ctx5, AddressFamily);
}

static VOID co_status_shim(NDIS_HANDLE ProtocolBindingContext, NDIS_HANDLE ProtocolVcContext,
                           PNDIS_STATUS_INDICATION StatusIndication)
{
    struct cn_bind5 *b5 = ProtocolBindingContext;
    CO_STATUS_HANDLER fn = b5->b5_proto->p5_chars.CoStatusHandler;
    if (fn && StatusIndication)
        fn(b5->b5_ctx5, ProtocolVcContext, StatusIndication->StatusCode,
           StatusIndication->StatusBuffer, StatusIndication->StatusBufferSize);
}

static NDIS_STATUS set_options_shim(NDIS_HANDLE NdisDriverHandle, NDIS_HANDLE DriverContext)
{
    struct cn_proto5 *p5 = DriverContext;
    if (p5->p5_chars.MajorNdisVersion < 5 || p5->p5_chars.CoSendCompleteHandler == NULL)
        return NDIS_STATUS_SUCCESS; /* not a CoNDIS client */
    NDIS_PROTOCOL_CO_CHARACTERISTICS *c = &p5->p5_co6;
    memset(c, 0, sizeof(*c));
    c->Header.Type = NDIS_OBJECT_TYPE_CO_PROTOCOL_CHARACTERISTICS;
    c->Header.Revision = NDIS_PROTOCOL_CO_CHARACTERISTICS_REVISION_1;
    c->Header.Size = NDIS_SIZEOF_PROTOCOL_CO_CHARACTERISTICS_REVISION_1;
    c->CoStatusHandlerEx = co_status_shim;
    c->CoAfRegisterNotifyHandler = af_notify_shim;
    c->CoReceiveNetBufferListsHandler = cn_recv5_indicate;
    c->CoSendNetBufferListsCompleteHandler = cn_send5_complete;
    return NdisSetOptionalHandlers(NdisDriverHandle, (PNDIS_DRIVER_OPTIONAL_HANDLERS)c);
}

/* ---- registration --------------------------------------------------------- */

static void proto5_free_pools(struct cn_proto5 *p5)
{
    if (p5->p5_send_pool) {
        cn_send5_drop_wraps(p5);
        NdisFreeNetBufferListPool(p5->p5_send_pool);
    }
    if (p5->p5_rx_packets)
        NdisFreePacketPool(p5->p5_rx_packets);
    if (p5->p5_rx_buffers)
        NdisFreeBufferPool(p5->p5_rx_buffers);
}

VOID NdisRegisterProtocol(PNDIS_STATUS Status, PNDIS_HANDLE NdisProtocolHandle,
                          PNDIS_PROTOCOL_CHARACTERISTICS ProtocolCharacteristics,
                          UINT CharacteristicsLength)
{
    CN_PASSIVE("NdisRegisterProtocol");
    if (Status == NULL || NdisProtocolHandle == NULL || ProtocolCharacteristics == NULL) {
        cn_warn("NdisRegisterProtocol: Status, NdisProtocolHandle and the characteristics are "
                "required");
        if (Status)
            *Status = NDIS_STATUS_FAILURE;
        return;
    }
    *NdisProtocolHandle = NULL;
    const NDIS50_PROTOCOL_CHARACTERISTICS *pc = ProtocolCharacteristics;
    size_t want;
    if (pc->MajorNdisVersion == 5)
        want = sizeof(NDIS50_PROTOCOL_CHARACTERISTICS);
    else if (pc->MajorNdisVersion == 4)
        want = sizeof(NDIS40_PROTOCOL_CHARACTERISTICS);
    else {
        cn_warn("NdisRegisterProtocol: MajorNdisVersion %u; condis runs NDIS 4.0 and 5.x "
                "protocols here (NDIS 6 ones call NdisRegisterProtocolDriver)",
                pc->MajorNdisVersion);
        *Status = NDIS_STATUS_BAD_VERSION;
        return;
    }
    if (CharacteristicsLength < want) {
        cn_warn("NdisRegisterProtocol: CharacteristicsLength %u is smaller than the NDIS %u.x "
                "structure (%zu)", CharacteristicsLength, pc->MajorNdisVersion, want);
        *Status = NDIS_STATUS_BAD_CHARACTERISTICS;
        return;
    }
    if (pc->BindAdapterHandler == NULL || pc->UnbindAdapterHandler == NULL ||
        pc->OpenAdapterCompleteHandler == NULL || pc->CloseAdapterCompleteHandler == NULL) {
        cn_warn("NdisRegisterProtocol: the bind, unbind, open-complete and close-complete "
                "handlers are required");
        *Status = NDIS_STATUS_BAD_CHARACTERISTICS;
        return;
    }
    if (pc->MajorNdisVersion == 5 && pc->CoSendCompleteHandler &&
        (pc->CoReceivePacketHandler == NULL || pc->CoStatusHandler == NULL ||
         pc->CoAfRegisterNotifyHandler == NULL)) {
        cn_warn("NdisRegisterProtocol: a CoNDIS client needs the CoSendComplete, CoStatus, "
                "CoReceivePacket and CoAfRegisterNotify handlers");
        *Status = NDIS_STATUS_BAD_CHARACTERISTICS;
        return;
    }
    struct cn_proto5 *p5 = calloc(1, sizeof(*p5));
    if (p5 == NULL) {
        *Status = NDIS_STATUS_RESOURCES;
        return;
    }
    memcpy(&p5->p5_chars, pc, want);

    NDIS_PROTOCOL_DRIVER_CHARACTERISTICS *c6 = &p5->p5_chars6;
    c6->Header.Type = NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS;
    c6->Header.Revision = NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1;
    c6->Header.Size = NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1;
    c6->MajorNdisVersion = 6;
    c6->MinorNdisVersion = 0;
    c6->Name = pc->Name;
    c6->SetOptionsHandler = set_options_shim;
    c6->BindAdapterHandlerEx = bind_shim;
    c6->UnbindAdapterHandlerEx = unbind_shim;
    c6->OpenAdapterCompleteHandlerEx = open_complete_shim;
    c6->CloseAdapterCompleteHandlerEx = close_complete_shim;
    c6->NetPnPEventHandler = pnp_shim;

    NDIS_HANDLE h = NULL;
    NDIS_STATUS st = NdisRegisterProtocolDriver(p5, c6, &h);
    if (st != NDIS_STATUS_SUCCESS) {
        free(p5);
        *Status = st;
        return;
    }
    struct cn_driver *drv = cn_driver_from_handle(h, CN_DRV_PROTOCOL);
    p5->p5_handle = h;
    p5->p5_name = drv->drv_name;
    /* Its last component is the driver's name, which is what
     * NdisOpenProtocolConfiguration takes from it. */
    p5->p5_section = drv->drv_image->im_regpath;

    /* condis is the NDIS 6 protocol of the send wrappers; the pools belong
     * to the driver, so that a leak names it. */
    NET_BUFFER_LIST_POOL_PARAMETERS pp;
    memset(&pp, 0, sizeof(pp));
    pp.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    pp.Header.Revision = NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    pp.Header.Size = NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    pp.ProtocolId = NDIS_PROTOCOL_ID_DEFAULT;
    pp.fAllocateNetBuffer = TRUE;
    pp.PoolTag = CN_P5_SEND_TAG;
    p5->p5_send_pool = NdisAllocateNetBufferListPool(h, &pp);
    NDIS_STATUS st1 = NDIS_STATUS_FAILURE, st2 = NDIS_STATUS_FAILURE;
    NdisAllocatePacketPoolEx(&st1, &p5->p5_rx_packets, CN_P5_RX_PACKETS, 0,
                             PROTOCOL_RESERVED_SIZE_IN_PACKET);
    NdisAllocateBufferPool(&st2, &p5->p5_rx_buffers, CN_P5_RX_BUFFERS);
    if (p5->p5_send_pool == NULL || st1 != NDIS_STATUS_SUCCESS || st2 != NDIS_STATUS_SUCCESS) {
        if (st1 != NDIS_STATUS_SUCCESS)
            p5->p5_rx_packets = NULL;
        if (st2 != NDIS_STATUS_SUCCESS)
            p5->p5_rx_buffers = NULL;
        proto5_free_pools(p5);
        NdisDeregisterProtocolDriver(h);
        free(p5);
        *Status = NDIS_STATUS_RESOURCES;
        return;
    }
    *NdisProtocolHandle = h;
    *Status = NDIS_STATUS_SUCCESS;
}

VOID NdisDeregisterProtocol(PNDIS_STATUS Status, NDIS_HANDLE NdisProtocolHandle)
{
    CN_PASSIVE("NdisDeregisterProtocol");
    struct cn_proto5 *p5 = proto5_of(cn_driver_from_handle(NdisProtocolHandle, CN_DRV_PROTOCOL));
    if (p5 == NULL) {
        cn_warn("NdisDeregisterProtocol: %p is not the handle of an NDIS 5.x protocol",
                NdisProtocolHandle);
        if (Status)
            *Status = NDIS_STATUS_FAILURE;
        return;
    }
    NdisDeregisterProtocolDriver(NdisProtocolHandle);
    proto5_free_pools(p5);
    free(p5);
    if (Status)
        *Status = NDIS_STATUS_SUCCESS;
}

/* ---- binding ------------------------------------------------------------------ */

/* The BindContext of a bind of p5 to AdapterName that is in progress: the
 * one of this thread's BindAdapterHandler, else (the driver opens from
 * another thread, e.g. a work item of a pended bind) co's binding of p5
 * to that adapter that is still binding and not yet open. */
static NDIS_HANDLE find_bind_context(NDIS_HANDLE NdisProtocolHandle, PNDIS_STRING AdapterName)
{
    if (tls_bind_proto && tls_bind_proto->p5_handle == NdisProtocolHandle)
        return tls_bind_context;
    struct cn_driver *drv = cn_driver_from_handle(NdisProtocolHandle, CN_DRV_PROTOCOL);
    if (drv == NULL || AdapterName == NULL)
        return NULL;
    NDIS_HANDLE found = NULL;
    pthread_mutex_lock(&cn_rt.rt_lock);
    for (LIST_ENTRY *e = drv->drv_objs.Flink; e != &drv->drv_objs && !found; e = e->Flink) {
        struct cn_binding *b = CONTAINING_RECORD(e, struct cn_binding, b_drv_link);
        if (b->b_state == CN_B_BINDING && !b->b_opened && b->b_bind_context &&
            NdisEqualString(AdapterName, &b->b_adapter->ad_wname, TRUE))
            found = b->b_bind_context;
    }
    pthread_mutex_unlock(&cn_rt.rt_lock);
    return found;
}

VOID NdisOpenAdapter(PNDIS_STATUS Status, PNDIS_STATUS OpenErrorStatus,
                     PNDIS_HANDLE NdisBindingHandle, PUINT SelectedMediumIndex,
                     PNDIS_MEDIUM MediumArray, UINT MediumArraySize,
                     NDIS_HANDLE NdisProtocolHandle, NDIS_HANDLE ProtocolBindingContext,
                     PNDIS_STRING AdapterName, UINT OpenOptions,
                     PSTRING AddressingInformation)
{
    CN_PASSIVE("NdisOpenAdapter");
    UNREFERENCED_PARAMETER(OpenOptions);
    UNREFERENCED_PARAMETER(AddressingInformation);
    if (Status == NULL || OpenErrorStatus == NULL) {
        cn_warn("NdisOpenAdapter: Status and OpenErrorStatus are required");
        return;
    }
    *OpenErrorStatus = NDIS_STATUS_SUCCESS;
    struct cn_proto5 *p5 = proto5_of(cn_driver_from_handle(NdisProtocolHandle, CN_DRV_PROTOCOL));
    if (p5 == NULL) {
        cn_warn("NdisOpenAdapter: %p is not the handle of an NDIS 5.x protocol",
                NdisProtocolHandle);
        *Status = NDIS_STATUS_FAILURE;
        return;
    }
    NDIS_HANDLE bind_context = find_bind_context(NdisProtocolHandle, AdapterName);
    if (bind_context == NULL) {
        cn_warn("%s: NdisOpenAdapter outside a bind of this protocol to that adapter; open "
                "adapters from BindAdapterHandler (or before NdisCompleteBindAdapter)",
                p5->p5_name);
        *Status = NDIS_STATUS_FAILURE;
        return;
    }
    struct cn_bind5 *b5 = calloc(1, sizeof(*b5));
    if (b5 == NULL) {
        *Status = NDIS_STATUS_RESOURCES;
        return;
    }
    b5->b5_ctx5 = ProtocolBindingContext;
    b5->b5_proto = p5;
    b5->b5_handle_out = NdisBindingHandle;
    InitializeListHead(&b5->b5_afs);
    pthread_mutex_init(&b5->b5_lock, NULL);

    NDIS_OPEN_PARAMETERS op;
    memset(&op, 0, sizeof(op));
    op.Header.Type = NDIS_OBJECT_TYPE_OPEN_PARAMETERS;
    op.Header.Revision = NDIS_OPEN_PARAMETERS_REVISION_1;
    op.Header.Size = NDIS_SIZEOF_OPEN_PARAMETERS_REVISION_1;
    op.AdapterName = AdapterName;
    op.MediumArray = MediumArray;
    op.MediumArraySize = MediumArraySize;
    op.SelectedMediumIndex = SelectedMediumIndex;
    NDIS_STATUS st = NdisOpenAdapterEx(NdisProtocolHandle, b5, &op, bind_context,
                                       NdisBindingHandle);
    if (st == NDIS_STATUS_SUCCESS) {
        b5->b5_handle = *NdisBindingHandle;
    } else if (st != NDIS_STATUS_PENDING) {
        *OpenErrorStatus = st;
        bind5_free(b5);
    }
    *Status = st;
}

VOID NdisCloseAdapter(PNDIS_STATUS Status, NDIS_HANDLE NdisBindingHandle)
{
    CN_PASSIVE("NdisCloseAdapter");
    struct cn_bind5 *b5 = bind5_of(NdisBindingHandle);
    if (b5 == NULL) {
        cn_warn("NdisCloseAdapter: %p is not a live binding handle of an NDIS 5.x protocol",
                NdisBindingHandle);
        if (Status)
            *Status = NDIS_STATUS_INVALID_PARAMETER;
        return;
    }
    NDIS_STATUS st = NdisCloseAdapterEx(NdisBindingHandle);
    /* A pended close frees the wrapper in its completion shim. */
    if (st == NDIS_STATUS_SUCCESS)
        bind5_free(b5);
    if (Status)
        *Status = st;
}

VOID NdisCompleteBindAdapter(NDIS_HANDLE BindAdapterContext, NDIS_STATUS Status,
                             NDIS_STATUS OpenStatus)
{
    UNREFERENCED_PARAMETER(OpenStatus);
    NdisCompleteBindAdapterEx(BindAdapterContext, Status);
}

VOID NdisCompleteUnbindAdapter(NDIS_HANDLE UnbindAdapterContext, NDIS_STATUS Status)
{
    if (Status != NDIS_STATUS_SUCCESS)
        cn_warn("%s: NdisCompleteUnbindAdapter with %s; unbinding cannot fail",
                cn_current_driver(), cn_status_name(Status));
    NdisCompleteUnbindAdapterEx(UnbindAdapterContext);
}

/* ---- the NDIS 5.x work item -------------------------------------------- */

_Static_assert(sizeof(struct cn_work) <= sizeof(((NDIS_WORK_ITEM *)0)->WrapperReserved),
               "struct cn_work fits NDIS_WORK_ITEM.WrapperReserved");
_Static_assert(_Alignof(struct cn_work) <= sizeof(PVOID),
               "WrapperReserved is pointer-aligned");

/* WrapperReserved holds the queue link, then the name of the driver that
 * scheduled the item: its routine runs as that driver (DbgPrint prefix,
 * ownership of what it allocates, the verifier's attribution). */
struct work5 {
    struct cn_work w5_work;
    const char *w5_driver;
};
_Static_assert(sizeof(struct work5) <= sizeof(((NDIS_WORK_ITEM *)0)->WrapperReserved),
               "struct work5 fits NDIS_WORK_ITEM.WrapperReserved");

static void work_item_run(struct cn_work *w)
{
    NDIS_WORK_ITEM *wi = CONTAINING_RECORD((UCHAR *)w, NDIS_WORK_ITEM, WrapperReserved);
    const char *driver = ((struct work5 *)(void *)w)->w5_driver;
    CN_CALL(driver, wi->Routine(wi, wi->Context));
}

NDIS_STATUS NdisScheduleWorkItem(PNDIS_WORK_ITEM WorkItem)
{
    if (WorkItem == NULL || WorkItem->Routine == NULL) {
        cn_warn("%s: NdisScheduleWorkItem without a work item or routine "
                "(NdisInitializeWorkItem first)", cn_current_driver());
        return NDIS_STATUS_FAILURE;
    }
    /* The work item is the driver's; condis keeps its queue link in
     * WrapperReserved, which is NDIS' (condis') until the routine starts. */
    struct work5 *w = (struct work5 *)(void *)WorkItem->WrapperReserved;
    memset(w, 0, sizeof(*w));
    w->w5_work.w_fn = work_item_run;
    w->w5_driver = cn_current_driver();
    cn_work_queue_passive(&w->w5_work);
    return NDIS_STATUS_SUCCESS;
}
