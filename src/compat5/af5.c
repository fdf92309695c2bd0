/*
 * af5.c - NdisClOpenAddressFamily for NDIS 5.x clients: the 5.x client
 * characteristics become an NDIS_CO_CLIENT_OPTIONAL_HANDLERS table that co
 * uses for the AF and its VCs. Where NDIS 5 and 6 share a handler type the
 * table points at the client's handler itself (delete-VC, make-call-complete,
 * close-call-complete, incoming-close-call, SAP, party and QoS handlers:
 * their contexts are the client's VC/SAP/party contexts, which co passes
 * unchanged); where the AF context or the argument order differs, at a shim.
 *
 * The struct cn_af5 is the ClientAfContext co sees. It lives on its
 * binding's list until the client's close-AF completion has run or, for a
 * close that completed at once, until the adapter is closed (co refuses
 * NdisCloseAdapterEx while an AF is open, so no co AF outlives its table).
 */
#include "cn_proto5.h"

#include <stdlib.h>
#include <string.h>

static void af5_unlink_free(struct cn_af5 *a5)
{
    struct cn_bind5 *b5 = a5->a5_bind;
    pthread_mutex_lock(&b5->b5_lock);
    RemoveEntryList(&a5->a5_link);
    pthread_mutex_unlock(&b5->b5_lock);
    free(a5);
}

void cn_af5_free_all(struct cn_bind5 *b5)
{
    pthread_mutex_lock(&b5->b5_lock);
    while (!IsListEmpty(&b5->b5_afs)) {
        LIST_ENTRY *e = RemoveHeadList(&b5->b5_afs);
        free(CONTAINING_RECORD(e, struct cn_af5, a5_link));
    }
    pthread_mutex_unlock(&b5->b5_lock);
}

static NDIS_STATUS create_vc_shim(NDIS_HANDLE ProtocolAfContext, NDIS_HANDLE NdisVcHandle,
                                  PNDIS_HANDLE ProtocolVcContext)
{
    struct cn_af5 *a5 = ProtocolAfContext;
    return a5->a5_cl5.ClCreateVcHandler(a5->a5_ctx5, NdisVcHandle, ProtocolVcContext);
}

/* NDIS 5: (Status, ProtocolAfContext, NdisAfHandle); NDIS 6 reordered it. */
static VOID open_af_complete_shim(NDIS_HANDLE ProtocolAfContext, NDIS_HANDLE NdisAfHandle,
                                  NDIS_STATUS Status)
{
    struct cn_af5 *a5 = ProtocolAfContext;
    CL_OPEN_AF_COMPLETE_HANDLER fn = a5->a5_cl5.ClOpenAfCompleteHandler;
    NDIS_HANDLE ctx5 = a5->a5_ctx5;
    if (Status != NDIS_STATUS_SUCCESS)
        af5_unlink_free(a5); /* co has freed its AF already */
    fn(Status, ctx5, NdisAfHandle);
}

static VOID close_af_complete_shim(NDIS_STATUS Status, NDIS_HANDLE ProtocolAfContext)
{
    struct cn_af5 *a5 = ProtocolAfContext;
    CL_CLOSE_AF_COMPLETE_HANDLER fn = a5->a5_cl5.ClCloseAfCompleteHandler;
    NDIS_HANDLE ctx5 = a5->a5_ctx5;
    af5_unlink_free(a5);
    fn(Status, ctx5);
}

/* NDIS 5.x clients have no notify-close-AF handler: a call manager that
 * goes away reaches them through the unbind of its adapter, after which
 * they close the AF themselves. Refuse, as a 6.x client that cannot close
 * at once would. */
static NDIS_STATUS notify_close_af_shim(NDIS_HANDLE ClientAfContext)
{
    struct cn_af5 *a5 = ClientAfContext;
    cn_warn("%s: the call manager asked an NDIS 5.x client to close its address family; 5.x "
            "clients have no ProtocolClNotifyCloseAf, so condis refuses (the client closes it "
            "when it is unbound)", a5->a5_bind->b5_proto->p5_name);
    return NDIS_STATUS_NOT_SUPPORTED;
}

NDIS_STATUS NdisClOpenAddressFamily(NDIS_HANDLE NdisBindingHandle, PCO_ADDRESS_FAMILY AddressFamily,
                                    NDIS_HANDLE ClientAfContext,
                                    PNDIS_CLIENT_CHARACTERISTICS ClCharacteristics,
                                    UINT SizeOfClCharacteristics, PNDIS_HANDLE NdisAfHandle)
{
    CN_PASSIVE("NdisClOpenAddressFamily");
    struct cn_binding *b = cn_binding_get(NdisBindingHandle);
    /* A 5.x client's co protocol completes sends to compat5's shim. */
    struct cn_proto5 *p5 = NULL;
    if (b && b->b_protocol->drv_has_pco &&
        b->b_protocol->drv_pco.CoSendNetBufferListsCompleteHandler == cn_send5_complete)
        p5 = b->b_protocol->drv_context;
    if (p5 == NULL) {
        cn_warn("NdisClOpenAddressFamily: %p is not a live binding handle of an NDIS 5.x "
                "CoNDIS client", NdisBindingHandle);
        return NDIS_STATUS_INVALID_PARAMETER;
    }
    struct cn_bind5 *b5 = b->b_context;
    PNDIS_CLIENT_CHARACTERISTICS c = ClCharacteristics;
    if (c == NULL || SizeOfClCharacteristics < sizeof(*c) || AddressFamily == NULL ||
        NdisAfHandle == NULL) {
        cn_warn("%s: NdisClOpenAddressFamily: an address family, NdisAfHandle and "
                "NDIS_CLIENT_CHARACTERISTICS of at least %zu bytes are required", p5->p5_name,
                sizeof(*c));
        return NDIS_STATUS_INVALID_PARAMETER;
    }
    if (c->ClCreateVcHandler == NULL || c->ClDeleteVcHandler == NULL ||
        c->ClOpenAfCompleteHandler == NULL || c->ClCloseAfCompleteHandler == NULL ||
        c->ClMakeCallCompleteHandler == NULL || c->ClCloseCallCompleteHandler == NULL ||
        c->ClIncomingCloseCallHandler == NULL) {
        cn_warn("%s: NdisClOpenAddressFamily: the create-VC, delete-VC, open/close-AF-complete, "
                "make/close-call-complete and incoming-close-call handlers are required",
                p5->p5_name);
        return NDIS_STATUS_INVALID_PARAMETER;
    }
    struct cn_af5 *a5 = calloc(1, sizeof(*a5));
    if (a5 == NULL)
        return NDIS_STATUS_RESOURCES;
    a5->a5_cl5 = *c;
    a5->a5_ctx5 = ClientAfContext;
    a5->a5_bind = b5;
    NDIS_CO_CLIENT_OPTIONAL_HANDLERS *t = &a5->a5_cl6;
    t->Header.Type = NDIS_OBJECT_TYPE_CO_CLIENT_OPTIONAL_HANDLERS;
    t->Header.Revision = NDIS_CO_CLIENT_OPTIONAL_HANDLERS_REVISION_1;
    t->Header.Size = NDIS_SIZEOF_CO_CLIENT_OPTIONAL_HANDLERS_REVISION_1;
    t->ClCreateVcHandler = create_vc_shim;
    t->ClDeleteVcHandler = c->ClDeleteVcHandler;
    t->ClOpenAfCompleteHandlerEx = open_af_complete_shim;
    t->ClCloseAfCompleteHandler = close_af_complete_shim;
    t->ClRegisterSapCompleteHandler = c->ClRegisterSapCompleteHandler;
    t->ClDeregisterSapCompleteHandler = c->ClDeregisterSapCompleteHandler;
    t->ClMakeCallCompleteHandler = c->ClMakeCallCompleteHandler;
    t->ClModifyCallQoSCompleteHandler = c->ClModifyCallQoSCompleteHandler;
    t->ClCloseCallCompleteHandler = c->ClCloseCallCompleteHandler;
    t->ClAddPartyCompleteHandler = c->ClAddPartyCompleteHandler;
    t->ClDropPartyCompleteHandler = c->ClDropPartyCompleteHandler;
    t->ClIncomingCallHandler = c->ClIncomingCallHandler;
    t->ClIncomingCallQoSChangeHandler = c->ClIncomingCallQoSChangeHandler;
    t->ClIncomingCloseCallHandler = c->ClIncomingCloseCallHandler;
    t->ClIncomingDropPartyHandler = c->ClIncomingDropPartyHandler;
    t->ClCallConnectedHandler = c->ClCallConnectedHandler;
    t->ClNotifyCloseAfHandler = notify_close_af_shim;
    /* The 5.x NDIS_REQUEST handlers have other types than the OID-request
     * ones; NdisCoRequest is not bridged yet, so these stay NULL. */

    pthread_mutex_lock(&b5->b5_lock);
    InsertTailList(&b5->b5_afs, &a5->a5_link);
    pthread_mutex_unlock(&b5->b5_lock);
    NDIS_STATUS st = cn_af_open(NdisBindingHandle, AddressFamily, a5, t, NdisAfHandle);
    if (st != NDIS_STATUS_SUCCESS && st != NDIS_STATUS_PENDING)
        af5_unlink_free(a5);
    return st;
}
