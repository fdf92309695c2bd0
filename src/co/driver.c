/*
 * driver.c - driver images and registration: DriverEntry and unload,
 * NdisRegisterProtocolDriver, NdisMRegisterMiniportDriver, their
 * deregistration, and NdisSetOptionalHandlers for the CoNDIS tables.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cn_co.h"

/* Serialises DriverEntry calls, so that NdisRegisterProtocolDriver (which
 * has no DriverObject argument) knows which image is registering. */
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

/* Names live as long as the process: handles and reports refer to them even
 * after a driver leaked an object and the runtime was torn down. */
static const char *intern(const char *s)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static struct name { struct name *next; char s[]; } *names;
    pthread_mutex_lock(&lock);
    for (struct name *n = names; n; n = n->next)
        if (strcmp(n->s, s) == 0) {
            pthread_mutex_unlock(&lock);
            return n->s;
        }
    size_t len = strlen(s) + 1;
    struct name *n = malloc(sizeof(*n) + len);
    if (n == NULL) {
        pthread_mutex_unlock(&lock);
        return "?";
    }
    memcpy(n->s, s, len);
    n->next = names;
    names = n;
    pthread_mutex_unlock(&lock);
    return n->s;
}

static wchar_t *widen(const char *s)
{
    size_t n = strlen(s);
    wchar_t *w = calloc(n + 1, sizeof(wchar_t));
    if (w)
        for (size_t i = 0; i < n; i++)
            w[i] = (unsigned char)s[i];
    return w;
}

static void name_from_string(const NDIS_STRING *s, char *buf, size_t size)
{
    size_t n = 0;
    if (s && s->Buffer)
        for (size_t i = 0; i < s->Length / sizeof(WCHAR) && n + 1 < size; i++)
            buf[n++] = (s->Buffer[i] > 0 && s->Buffer[i] < 128) ? (char)s->Buffer[i] : '?';
    buf[n] = '\0';
    if (n == 0)
        snprintf(buf, size, "driver");
}

static struct condis_driver *image_new(const char *name)
{
    struct condis_driver *im = calloc(1, sizeof(*im));
    if (im == NULL)
        return NULL;
    im->im_name = strdup(intern(name));
    char path[256];
    snprintf(path, sizeof(path), "\\Registry\\Machine\\System\\CurrentControlSet\\Services\\%s", name);
    im->im_regpath_buf = widen(path);
    if (im->im_name == NULL || im->im_regpath_buf == NULL) {
        free(im->im_name);
        free(im->im_regpath_buf);
        free(im);
        return NULL;
    }
    im->im_regpath.Buffer = im->im_regpath_buf;
    im->im_regpath.Length = (USHORT)(wcslen(im->im_regpath_buf) * sizeof(WCHAR));
    im->im_regpath.MaximumLength = (USHORT)(im->im_regpath.Length + sizeof(WCHAR));
    im->im_object.Type = 4; /* IO_TYPE_DRIVER */
    im->im_object.Size = (CSHORT)sizeof(DRIVER_OBJECT);
    im->im_object.DriverName = im->im_regpath; /* only its tail is the name */
    pthread_mutex_lock(&cn_rt.rt_lock);
    InsertTailList(&cn_rt.rt_images, &im->im_link);
    pthread_mutex_unlock(&cn_rt.rt_lock);
    return im;
}

struct condis_driver *cn_image_from_object(PDRIVER_OBJECT obj)
{
    struct condis_driver *found = NULL;
    pthread_mutex_lock(&cn_rt.rt_lock);
    for (LIST_ENTRY *e = cn_rt.rt_images.Flink; e != &cn_rt.rt_images; e = e->Flink) {
        struct condis_driver *im = CONTAINING_RECORD(e, struct condis_driver, im_link);
        if (&im->im_object == obj) {
            found = im;
            break;
        }
    }
    pthread_mutex_unlock(&cn_rt.rt_lock);
    return found;
}

struct cn_driver *cn_driver_from_handle(NDIS_HANDLE h, enum cn_drv_kind kind)
{
    return cn_handle_get(h, kind == CN_DRV_PROTOCOL ? CN_H_PROTOCOL : CN_H_MINIPORT);
}

int condis_driver_load(const char *name, PDRIVER_INITIALIZE entry, struct condis_driver **out,
                       NTSTATUS *status)
{
    if (out)
        *out = NULL;
    if (status)
        *status = STATUS_SUCCESS;
    if (name == NULL || *name == '\0' || entry == NULL) {
        cn_log("condis_driver_load: a driver needs a name and a DriverEntry");
        return -EINVAL;
    }
    if (!cn_rt.rt_up) {
        cn_log("condis_driver_load: call condis_init first");
        return -ENODEV;
    }
    struct condis_driver *im = image_new(name);
    if (im == NULL)
        return -ENOMEM;

    pthread_mutex_lock(&load_lock);
    pthread_mutex_lock(&cn_rt.rt_lock);
    cn_rt.rt_loading = im;
    pthread_mutex_unlock(&cn_rt.rt_lock);
    NTSTATUS st;
    KIRQL irql = cn_irql();
    CN_CALL(im->im_name, st = entry(&im->im_object, &im->im_regpath));
    if (cn_irql() != irql) {
        cn_warn("%s: DriverEntry returned at IRQL %u, not %u; condis restores it",
                im->im_name, cn_irql(), irql);
        cn_irql_set(irql);
    }
    pthread_mutex_lock(&cn_rt.rt_lock);
    cn_rt.rt_loading = NULL;
    pthread_mutex_unlock(&cn_rt.rt_lock);
    pthread_mutex_unlock(&load_lock);

    if (status)
        *status = st;
    if (!NT_SUCCESS(st)) {
        cn_log("%s: DriverEntry failed with %s", im->im_name, cn_status_name(st));
        /* A driver that fails DriverEntry must undo its registrations;
         * condis removes any it left. */
        if (im->im_protocol) {
            cn_warn("%s: DriverEntry failed but left its protocol registered", im->im_name);
            NdisDeregisterProtocolDriver(im->im_protocol->drv_handle);
        }
        if (im->im_miniport) {
            cn_warn("%s: DriverEntry failed but left its miniport registered", im->im_name);
            NdisMDeregisterMiniportDriver(im->im_miniport->drv_handle);
        }
        return -EIO;
    }
    if (im->im_protocol == NULL && im->im_miniport == NULL)
        cn_warn("%s: DriverEntry succeeded but registered neither a protocol nor a miniport",
                im->im_name);
    im->im_loaded = true;
    if (out)
        *out = im;
    return 0;
}

/* A pool tag as four printable characters. */
static void tag_text(ULONG t, char out[5])
{
    for (int i = 0; i < 4; i++) {
        char c = (char)((t >> (8 * i)) & 0xff);
        out[i] = c >= 32 && c < 127 ? c : '.';
    }
    out[4] = '\0';
}

/* RES-1: what a driver left allocated when it unloaded, by pool and tag,
 * with where it was allocated. */
static void leak_pool(const struct cn_pool_leak *l, void *arg)
{
    const char *name = arg;
    if (strcmp(l->pl_owner, name) != 0)
        return;
    char site[256] = "an unknown place", obj[96];
    if (l->pl_site)
        cn_verify_symbol(l->pl_site, site, sizeof(site));
    ULONG t = l->pl_tag;
    char tag[5];
    tag_text(t, tag);
    snprintf(obj, sizeof(obj), "%s with tag '%s'", l->pl_kind, tag);
    if (l->pl_outstanding)
        cn_violation(CN_RES1, name, "unload", obj, NULL,
                     "%zu descriptor(s) not returned%s; the pool was allocated at %s",
                     l->pl_outstanding, l->pl_pool_open ? " and the pool not freed" : "", site);
    else
        cn_violation(CN_RES1, name, "unload", obj, NULL,
                     "the pool was not freed; it was allocated at %s", site);
}

static void leak_memory(const struct cn_mem_leak *l, void *arg)
{
    const char *name = arg;
    if (strcmp(l->ml_owner, name) != 0)
        return;
    char site[256] = "an unknown place", obj[64];
    if (l->ml_site)
        cn_verify_symbol(l->ml_site, site, sizeof(site));
    ULONG t = l->ml_tag;
    char tag[5];
    tag_text(t, tag);
    snprintf(obj, sizeof(obj), "memory with tag '%s'", tag);
    cn_violation(CN_RES1, name, "unload", obj, NULL,
                 "%zu block(s), %zu bytes, not freed; one was allocated at %s", l->ml_blocks,
                 l->ml_bytes, site);
}

static int condis_driver_unload_body(struct condis_driver *im)
{
    if (im == NULL || !im->im_loaded)
        return -EINVAL;
    int rc = 0;
    /* Adapters and bindings go first, as Windows removes devices and
     * unbinds before it unloads a driver. */
    if (im->im_miniport) {
        for (;;) {
            struct condis_adapter *ad = NULL;
            pthread_mutex_lock(&cn_rt.rt_lock);
            if (im->im_miniport && !IsListEmpty(&im->im_miniport->drv_objs))
                ad = CONTAINING_RECORD(im->im_miniport->drv_objs.Blink, struct condis_adapter,
                                       ad_drv_link);
            pthread_mutex_unlock(&cn_rt.rt_lock);
            if (ad == NULL)
                break;
            if (condis_adapter_remove(ad) != 0)
                rc = -EBUSY;
        }
    }
    if (im->im_protocol) {
        for (;;) {
            struct cn_binding *b = NULL;
            pthread_mutex_lock(&cn_rt.rt_lock);
            if (im->im_protocol && !IsListEmpty(&im->im_protocol->drv_objs))
                b = CONTAINING_RECORD(im->im_protocol->drv_objs.Blink, struct cn_binding,
                                      b_drv_link);
            pthread_mutex_unlock(&cn_rt.rt_lock);
            if (b == NULL)
                break;
            if (cn_binding_unbind(b) != 0)
                rc = -EBUSY;
        }
    }

    KIRQL irql = cn_irql();
    if (im->im_miniport && im->im_miniport->drv_mchars.UnloadHandler) {
        MINIPORT_UNLOAD *unload = im->im_miniport->drv_mchars.UnloadHandler;
        CN_CALL(im->im_name, unload(&im->im_object));
    } else if (im->im_object.DriverUnload) {
        CN_CALL(im->im_name, im->im_object.DriverUnload(&im->im_object));
    } else {
        cn_warn("%s: the driver has no unload routine (set DriverObject->DriverUnload "
                "or the miniport's UnloadHandler); condis deregisters it", im->im_name);
    }
    if (cn_irql() != irql)
        cn_irql_set(irql);
    cn_work_flush();
    if (im->im_protocol) {
        cn_warn("%s: unload did not call NdisDeregisterProtocolDriver; condis does", im->im_name);
        NdisDeregisterProtocolDriver(im->im_protocol->drv_handle);
        rc = -EBUSY;
    }
    if (im->im_miniport) {
        cn_warn("%s: unload did not call NdisMDeregisterMiniportDriver; condis does", im->im_name);
        NdisMDeregisterMiniportDriver(im->im_miniport->drv_handle);
        rc = -EBUSY;
    }
    im->im_loaded = false;
    if (CN_VERIFYING) {
        cn_mem_leaks(leak_pool, im->im_name);
        cn_memory_leaks(leak_memory, im->im_name);
    }
    return rc;
}

int condis_driver_unload(struct condis_driver *im)
{
    cn_host_busy(true);
    int rc = condis_driver_unload_body(im);
    cn_host_busy(false);
    return rc;
}

/* The image registering now: the one whose DriverEntry runs, or a new
 * anonymous one for a registration made outside DriverEntry (a test that
 * registers a driver directly). */
static struct condis_driver *registering_image(const NDIS_STRING *name)
{
    pthread_mutex_lock(&cn_rt.rt_lock);
    struct condis_driver *im = cn_rt.rt_loading;
    pthread_mutex_unlock(&cn_rt.rt_lock);
    if (im)
        return im;
    char buf[64];
    name_from_string(name, buf, sizeof(buf));
    im = image_new(buf);
    if (im)
        im->im_loaded = true;
    return im;
}

static struct cn_driver *driver_new(struct condis_driver *im, enum cn_drv_kind kind,
                                    NDIS_HANDLE context)
{
    struct cn_driver *drv = calloc(1, sizeof(*drv));
    if (drv == NULL)
        return NULL;
    drv->drv_kind = kind;
    drv->drv_image = im;
    drv->drv_name = intern(im->im_name);
    drv->drv_context = context;
    InitializeListHead(&drv->drv_objs);
    drv->drv_handle = cn_handle_alloc(kind == CN_DRV_PROTOCOL ? CN_H_PROTOCOL : CN_H_MINIPORT,
                                      drv, drv->drv_name);
    if (drv->drv_handle == NULL) {
        free(drv);
        return NULL;
    }
    return drv;
}

void cn_driver_destroy(struct cn_driver *drv)
{
    pthread_mutex_lock(&cn_rt.rt_lock);
    RemoveEntryList(&drv->drv_link);
    if (drv->drv_kind == CN_DRV_PROTOCOL)
        drv->drv_image->im_protocol = NULL;
    else
        drv->drv_image->im_miniport = NULL;
    pthread_mutex_unlock(&cn_rt.rt_lock);
    cn_handle_free(drv->drv_handle);
    /* The verifier's watchdog may have just completed this driver's last
     * send or close, and still be on its way out of condis' code around
     * the handler. */
    cn_send_reclaim_quiesce();
    free(drv);
}

/* ---- protocols --------------------------------------------------------- */

NDIS_STATUS NdisRegisterProtocolDriver(NDIS_HANDLE ProtocolDriverContext,
                                       PNDIS_PROTOCOL_DRIVER_CHARACTERISTICS ProtocolCharacteristics,
                                       PNDIS_HANDLE NdisProtocolHandle)
{
    CN_PASSIVE("NdisRegisterProtocolDriver");
    PNDIS_PROTOCOL_DRIVER_CHARACTERISTICS pc = ProtocolCharacteristics;
    if (pc == NULL || NdisProtocolHandle == NULL) {
        cn_warn("NdisRegisterProtocolDriver: characteristics and the handle pointer are required");
        return NDIS_STATUS_INVALID_PARAMETER;
    }
    *NdisProtocolHandle = NULL;
    if (pc->Header.Type != NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS ||
        pc->Header.Revision < NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1 ||
        pc->Header.Size < NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1) {
        cn_warn("NdisRegisterProtocolDriver: Header must be NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_"
                "CHARACTERISTICS, revision 1 or later, with the matching size");
        return NDIS_STATUS_BAD_CHARACTERISTICS;
    }
    if (pc->MajorNdisVersion != 6) {
        cn_warn("NdisRegisterProtocolDriver: MajorNdisVersion %u; NDIS 6 protocols say 6 "
                "(NDIS 5 protocols call NdisRegisterProtocol)", pc->MajorNdisVersion);
        return NDIS_STATUS_BAD_VERSION;
    }
    if (pc->BindAdapterHandlerEx == NULL || pc->UnbindAdapterHandlerEx == NULL ||
        pc->OpenAdapterCompleteHandlerEx == NULL || pc->CloseAdapterCompleteHandlerEx == NULL) {
        cn_warn("NdisRegisterProtocolDriver: the bind, unbind, open-complete and close-complete "
                "handlers are required");
        return NDIS_STATUS_BAD_CHARACTERISTICS;
    }
    struct condis_driver *im = registering_image(&pc->Name);
    if (im == NULL)
        return NDIS_STATUS_RESOURCES;
    if (im->im_protocol) {
        cn_warn("%s: NdisRegisterProtocolDriver called twice", im->im_name);
        return NDIS_STATUS_FAILURE;
    }
    struct cn_driver *drv = driver_new(im, CN_DRV_PROTOCOL, ProtocolDriverContext);
    if (drv == NULL)
        return NDIS_STATUS_RESOURCES;
    size_t n = pc->Header.Size < sizeof(drv->drv_pchars) ? pc->Header.Size : sizeof(drv->drv_pchars);
    memcpy(&drv->drv_pchars, pc, n);
    pthread_mutex_lock(&cn_rt.rt_lock);
    im->im_protocol = drv;
    InsertTailList(&cn_rt.rt_protocols, &drv->drv_link);
    pthread_mutex_unlock(&cn_rt.rt_lock);

    if (pc->SetOptionsHandler) {
        NDIS_STATUS st;
        CN_CALL(drv->drv_name, st = pc->SetOptionsHandler(drv->drv_handle, ProtocolDriverContext));
        if (st != NDIS_STATUS_SUCCESS) {
            cn_driver_destroy(drv);
            return st;
        }
    }
    *NdisProtocolHandle = drv->drv_handle;
    return NDIS_STATUS_SUCCESS;
}

VOID NdisDeregisterProtocolDriver(NDIS_HANDLE NdisProtocolHandle)
{
    CN_PASSIVE("NdisDeregisterProtocolDriver");
    struct cn_driver *drv = cn_driver_from_handle(NdisProtocolHandle, CN_DRV_PROTOCOL);
    if (drv == NULL) {
        cn_warn("NdisDeregisterProtocolDriver: %p is not a registered protocol handle",
                NdisProtocolHandle);
        return;
    }
    /* Windows unbinds every binding before deregistration returns. */
    for (;;) {
        struct cn_binding *b = NULL;
        pthread_mutex_lock(&cn_rt.rt_lock);
        if (!IsListEmpty(&drv->drv_objs))
            b = CONTAINING_RECORD(drv->drv_objs.Blink, struct cn_binding, b_drv_link);
        pthread_mutex_unlock(&cn_rt.rt_lock);
        if (b == NULL)
            break;
        cn_binding_unbind(b);
    }
    cn_driver_destroy(drv);
}

/* ---- miniports ---------------------------------------------------------- */

NDIS_STATUS NdisMRegisterMiniportDriver(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath,
                                        NDIS_HANDLE MiniportDriverContext,
                                        PNDIS_MINIPORT_DRIVER_CHARACTERISTICS MiniportDriverCharacteristics,
                                        PNDIS_HANDLE NdisMiniportDriverHandle)
{
    CN_PASSIVE("NdisMRegisterMiniportDriver");
    PNDIS_MINIPORT_DRIVER_CHARACTERISTICS mc = MiniportDriverCharacteristics;
    UNREFERENCED_PARAMETER(RegistryPath);
    if (mc == NULL || NdisMiniportDriverHandle == NULL) {
        cn_warn("NdisMRegisterMiniportDriver: characteristics and the handle pointer are required");
        return NDIS_STATUS_INVALID_PARAMETER;
    }
    *NdisMiniportDriverHandle = NULL;
    struct condis_driver *im = cn_image_from_object(DriverObject);
    if (im == NULL) {
        cn_warn("NdisMRegisterMiniportDriver: DriverObject %p is not one condis passed to a "
                "DriverEntry", (void *)DriverObject);
        return NDIS_STATUS_FAILURE;
    }
    if (mc->Header.Type != NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS ||
        mc->Header.Revision < NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1 ||
        mc->Header.Size < NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1) {
        cn_warn("%s: NdisMRegisterMiniportDriver: Header must be NDIS_OBJECT_TYPE_MINIPORT_"
                "DRIVER_CHARACTERISTICS, revision 1 or later, with the matching size", im->im_name);
        return NDIS_STATUS_BAD_CHARACTERISTICS;
    }
    if (mc->MajorNdisVersion != 6) {
        cn_warn("%s: NdisMRegisterMiniportDriver: MajorNdisVersion %u; NDIS 6 miniports say 6",
                im->im_name, mc->MajorNdisVersion);
        return NDIS_STATUS_BAD_VERSION;
    }
    if (mc->InitializeHandlerEx == NULL || mc->HaltHandlerEx == NULL || mc->PauseHandler == NULL ||
        mc->RestartHandler == NULL || mc->UnloadHandler == NULL) {
        cn_warn("%s: NdisMRegisterMiniportDriver: the initialize, halt, pause, restart and "
                "unload handlers are required", im->im_name);
        return NDIS_STATUS_BAD_CHARACTERISTICS;
    }
    if (im->im_miniport) {
        cn_warn("%s: NdisMRegisterMiniportDriver called twice", im->im_name);
        return NDIS_STATUS_FAILURE;
    }
    struct cn_driver *drv = driver_new(im, CN_DRV_MINIPORT, MiniportDriverContext);
    if (drv == NULL)
        return NDIS_STATUS_RESOURCES;
    size_t n = mc->Header.Size < sizeof(drv->drv_mchars) ? mc->Header.Size : sizeof(drv->drv_mchars);
    memcpy(&drv->drv_mchars, mc, n);
    pthread_mutex_lock(&cn_rt.rt_lock);
    im->im_miniport = drv;
    InsertTailList(&cn_rt.rt_miniports, &drv->drv_link);
    pthread_mutex_unlock(&cn_rt.rt_lock);

    if (mc->SetOptionsHandler) {
        NDIS_STATUS st;
        CN_CALL(drv->drv_name, st = mc->SetOptionsHandler(drv->drv_handle, MiniportDriverContext));
        if (st != NDIS_STATUS_SUCCESS) {
            cn_driver_destroy(drv);
            return st;
        }
    }
    *NdisMiniportDriverHandle = drv->drv_handle;
    return NDIS_STATUS_SUCCESS;
}

VOID NdisMDeregisterMiniportDriver(NDIS_HANDLE NdisMiniportDriverHandle)
{
    CN_PASSIVE("NdisMDeregisterMiniportDriver");
    struct cn_driver *drv = cn_driver_from_handle(NdisMiniportDriverHandle, CN_DRV_MINIPORT);
    if (drv == NULL) {
        cn_warn("NdisMDeregisterMiniportDriver: %p is not a registered miniport handle",
                NdisMiniportDriverHandle);
        return;
    }
    for (;;) {
        struct condis_adapter *ad = NULL;
        pthread_mutex_lock(&cn_rt.rt_lock);
        if (!IsListEmpty(&drv->drv_objs))
            ad = CONTAINING_RECORD(drv->drv_objs.Blink, struct condis_adapter, ad_drv_link);
        pthread_mutex_unlock(&cn_rt.rt_lock);
        if (ad == NULL)
            break;
        cn_warn("%s: deregistering with adapter %s still present; condis halts it",
                drv->drv_name, ad->ad_name);
        condis_adapter_remove(ad);
    }
    cn_driver_destroy(drv);
}

/* ---- optional handlers ----------------------------------------------- */

static bool all_set(const void *first, const void *end)
{
    for (const PVOID *p = first; (const void *)p < end; p++)
        if (*p == NULL)
            return false;
    return true;
}

NDIS_STATUS NdisSetOptionalHandlers(NDIS_HANDLE NdisHandle,
                                    PNDIS_DRIVER_OPTIONAL_HANDLERS OptionalHandlers)
{
    CN_PASSIVE("NdisSetOptionalHandlers");
    enum cn_htype type;
    void *obj = cn_handle_get_any(NdisHandle, &type);
    struct cn_driver *drv = NULL;
    if (type == CN_H_PROTOCOL || type == CN_H_MINIPORT)
        drv = obj;
    else if (type == CN_H_BINDING)
        drv = ((struct cn_binding *)obj)->b_protocol;
    if (drv == NULL) {
        cn_warn("NdisSetOptionalHandlers: %p is not a driver or binding handle", NdisHandle);
        return NDIS_STATUS_INVALID_PARAMETER;
    }
    if (OptionalHandlers == NULL) {
        cn_warn("%s: NdisSetOptionalHandlers: no handlers given", drv->drv_name);
        return NDIS_STATUS_INVALID_PARAMETER;
    }
    NDIS_OBJECT_HEADER *h = &OptionalHandlers->Header;
    bool proto = drv->drv_kind == CN_DRV_PROTOCOL;

    switch (h->Type) {
    case NDIS_OBJECT_TYPE_CO_PROTOCOL_CHARACTERISTICS: {
        PNDIS_PROTOCOL_CO_CHARACTERISTICS c = (PNDIS_PROTOCOL_CO_CHARACTERISTICS)OptionalHandlers;
        if (!proto || h->Size < NDIS_SIZEOF_PROTOCOL_CO_CHARACTERISTICS_REVISION_1)
            break;
        if (c->CoSendNetBufferListsCompleteHandler == NULL ||
            c->CoReceiveNetBufferListsHandler == NULL || c->CoAfRegisterNotifyHandler == NULL ||
            c->CoStatusHandlerEx == NULL) {
            cn_warn("%s: NDIS_PROTOCOL_CO_CHARACTERISTICS needs the status, AF-register-notify, "
                    "receive and send-complete handlers", drv->drv_name);
            return NDIS_STATUS_FAILURE;
        }
        drv->drv_pco = *c;
        drv->drv_has_pco = true;
        return NDIS_STATUS_SUCCESS;
    }
    case NDIS_OBJECT_TYPE_CO_CLIENT_OPTIONAL_HANDLERS: {
        PNDIS_CO_CLIENT_OPTIONAL_HANDLERS c = (PNDIS_CO_CLIENT_OPTIONAL_HANDLERS)OptionalHandlers;
        if (!proto || h->Size < NDIS_SIZEOF_CO_CLIENT_OPTIONAL_HANDLERS_REVISION_1)
            break;
        if (c->ClCreateVcHandler == NULL || c->ClDeleteVcHandler == NULL ||
            c->ClOpenAfCompleteHandlerEx == NULL || c->ClCloseAfCompleteHandler == NULL ||
            c->ClMakeCallCompleteHandler == NULL || c->ClCloseCallCompleteHandler == NULL ||
            c->ClIncomingCloseCallHandler == NULL || c->ClNotifyCloseAfHandler == NULL) {
            cn_warn("%s: NDIS_CO_CLIENT_OPTIONAL_HANDLERS needs at least the create-VC, delete-VC, "
                    "open/close-AF-complete, make/close-call-complete, incoming-close-call and "
                    "notify-close-AF handlers", drv->drv_name);
            return NDIS_STATUS_FAILURE;
        }
        drv->drv_cl = *c;
        drv->drv_has_cl = true;
        return NDIS_STATUS_SUCCESS;
    }
    case NDIS_OBJECT_TYPE_CO_MINIPORT_CHARACTERISTICS: {
        PNDIS_MINIPORT_CO_CHARACTERISTICS c = (PNDIS_MINIPORT_CO_CHARACTERISTICS)OptionalHandlers;
        if (proto || h->Size < NDIS_SIZEOF_MINIPORT_CO_CHARACTERISTICS_REVISION_1)
            break;
        if (c->CoSendNetBufferListsHandler == NULL) {
            cn_warn("%s: NDIS_MINIPORT_CO_CHARACTERISTICS needs CoSendNetBufferListsHandler",
                    drv->drv_name);
            return NDIS_STATUS_FAILURE;
        }
        drv->drv_mco = *c;
        drv->drv_has_mco = true;
        return NDIS_STATUS_SUCCESS;
    }
    case NDIS_OBJECT_TYPE_CO_CALL_MANAGER_OPTIONAL_HANDLERS: {
        PNDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS c =
            (PNDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS)OptionalHandlers;
        if (proto) {
            cn_warn("%s: stand-alone call managers are not supported; condis supports miniport "
                    "call managers (register the table from MiniportSetOptions)", drv->drv_name);
            return NDIS_STATUS_NOT_SUPPORTED;
        }
        if (h->Size < NDIS_SIZEOF_CO_CALL_MANAGER_OPTIONAL_HANDLERS_REVISION_1)
            break;
        /* Every entry is required; unsupported ones are stubs that fail. */
        if (!all_set(&c->CmCreateVcHandler, (const char *)c + sizeof(*c))) {
            cn_warn("%s: every handler in NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS must be set "
                    "(give unsupported ones a stub returning NDIS_STATUS_NOT_SUPPORTED)",
                    drv->drv_name);
            return NDIS_STATUS_FAILURE;
        }
        drv->drv_cm = *c;
        drv->drv_has_cm = true;
        return NDIS_STATUS_SUCCESS;
    }
    default:
        cn_warn("%s: NdisSetOptionalHandlers: object type 0x%x is not supported",
                drv->drv_name, h->Type);
        return NDIS_STATUS_NOT_SUPPORTED;
    }
    cn_warn("%s: NdisSetOptionalHandlers: object type 0x%x does not fit a %s, or its Size %u is "
            "too small", drv->drv_name, h->Type, proto ? "protocol" : "miniport", h->Size);
    return NDIS_STATUS_INVALID_PARAMETER;
}
