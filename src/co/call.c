/*
 * call.c - calls on a VC: NdisClMakeCall -> CmMakeCall -> NdisMCmActivateVc
 * -> NdisCmMakeCallComplete -> ProtocolClMakeCallComplete, and
 * NdisClCloseCall -> CmCloseCall -> NdisMCmDeactivateVc ->
 * NdisCmCloseCallComplete -> ProtocolClCloseCallComplete; and the remote
 * close, NdisCmDispatchIncomingCloseCall -> ProtocolClIncomingCloseCall.
 *
 * A call never finishes closing while sends on its VC are outstanding: when
 * the call manager is done, the close waits for the last send completion,
 * and the completion path finishes it (cn_vc_drained). The client then gets
 * NDIS_STATUS_PENDING from NdisClCloseCall and its
 * ProtocolClCloseCallComplete after its last ProtocolCoSendNetBufferListsComplete.
 *
 * The drain hand-off between the closing thread and the completing thread
 * uses vc_close_pending and vc_inflight with sequentially consistent
 * atomics: each side publishes its own change before it reads the other's,
 * so at least one of them sees both, and a compare-exchange on
 * vc_close_pending (which holds the VC's handle) lets exactly one of them
 * finish the close, and never a completer of an earlier VC that lived in
 * the same memory.
 */
#include "cn_co.h"

static struct cn_vc *vc_get(NDIS_HANDLE h, const char *fn)
{
    struct cn_vc *vc = cn_vc_get(h);
    if (vc == NULL)
        cn_vc_bad_handle(h, fn);
    return vc;
}

NDIS_STATUS NdisClMakeCall(NDIS_HANDLE NdisVcHandle, PCO_CALL_PARAMETERS CallParameters,
                           NDIS_HANDLE ProtocolPartyContext, PNDIS_HANDLE NdisPartyHandle)
{
    struct cn_vc *vc = vc_get(NdisVcHandle, "NdisClMakeCall");
    if (vc == NULL)
        return NDIS_STATUS_INVALID_PARAMETER;
    if (CallParameters == NULL) {
        cn_warn("%s: NdisClMakeCall needs CallParameters", vc->vc_client_name);
        return NDIS_STATUS_INVALID_PARAMETER;
    }
    if (ProtocolPartyContext != NULL) {
        cn_warn("%s: point-to-multipoint calls (a ProtocolPartyContext) are not supported",
                vc->vc_client_name);
        return NDIS_STATUS_NOT_SUPPORTED;
    }
    if (NdisPartyHandle)
        *NdisPartyHandle = NULL;
    cn_spin_lock(&vc->vc_lock);
    uint32_t f = vc->vc_flags;
    bool ok = !(f & (CN_VC_CALL | CN_VC_CLOSING | CN_VC_BY_CM | CN_VC_MAKING));
    if (ok)
        vc->vc_flags |= CN_VC_MAKING;
    cn_spin_unlock(&vc->vc_lock);
    if (!ok) {
        if (f & CN_VC_BY_CM)
            cn_warn("%s: NdisClMakeCall on a VC the call manager created", vc->vc_client_name);
        return NDIS_STATUS_CALL_ACTIVE;
    }
    struct cn_driver *mcm = vc->vc_adapter->ad_miniport;
    NDIS_HANDLE cm_party = NULL;
    NDIS_STATUS st;
    CN_CALL(mcm->drv_name,
            st = mcm->drv_cm.CmMakeCallHandler(vc->vc_mp_context, CallParameters, NULL, &cm_party));
    if (st == NDIS_STATUS_PENDING)
        return NDIS_STATUS_PENDING;
    cn_spin_lock(&vc->vc_lock);
    vc->vc_flags &= ~CN_VC_MAKING;
    if (st == NDIS_STATUS_SUCCESS)
        vc->vc_flags |= CN_VC_CALL;
    bool active = (vc->vc_flags & CN_VC_ACTIVE) != 0;
    cn_spin_unlock(&vc->vc_lock);
    if (st == NDIS_STATUS_SUCCESS && !active)
        cn_warn("%s: the call was made without NdisMCmActivateVc; sends on it will fail",
                mcm->drv_name);
    return st;
}

VOID NdisCmMakeCallComplete(NDIS_STATUS Status, NDIS_HANDLE NdisVcHandle, NDIS_HANDLE NdisPartyHandle,
                            NDIS_HANDLE CallMgrPartyContext, PCO_CALL_PARAMETERS CallParameters)
{
    UNREFERENCED_PARAMETER(NdisPartyHandle);
    UNREFERENCED_PARAMETER(CallMgrPartyContext);
    struct cn_vc *vc = vc_get(NdisVcHandle, "NdisCmMakeCallComplete");
    if (vc == NULL)
        return;
    if (Status == NDIS_STATUS_PENDING) {
        cn_warn("%s: NdisCmMakeCallComplete with NDIS_STATUS_PENDING; the status must be final",
                vc->vc_mp_name);
        Status = NDIS_STATUS_FAILURE;
    }
    cn_spin_lock(&vc->vc_lock);
    bool making = (vc->vc_flags & CN_VC_MAKING) != 0;
    if (making) {
        vc->vc_flags &= ~CN_VC_MAKING;
        if (Status == NDIS_STATUS_SUCCESS)
            vc->vc_flags |= CN_VC_CALL;
    }
    bool active = (vc->vc_flags & CN_VC_ACTIVE) != 0;
    cn_spin_unlock(&vc->vc_lock);
    if (!making) {
        cn_warn("%s: NdisCmMakeCallComplete for a VC with no call being made", vc->vc_mp_name);
        return;
    }
    if (Status == NDIS_STATUS_SUCCESS && !active)
        cn_warn("%s: the call completed without NdisMCmActivateVc; sends on it will fail",
                vc->vc_mp_name);
    struct cn_driver *p = vc->vc_af->af_binding->b_protocol;
    CN_CALL(p->drv_name, vc->vc_af->af_cl->ClMakeCallCompleteHandler(Status, vc->vc_client_context, NULL,
                                                             CallParameters));
}

/* The call is closed and no send is outstanding: clear the call state. */
static void close_done(struct cn_vc *vc)
{
    cn_spin_lock(&vc->vc_lock);
    bool active = (vc->vc_flags & CN_VC_ACTIVE) != 0;
    vc->vc_flags &= ~(CN_VC_CALL | CN_VC_CLOSING | CN_VC_ACTIVE);
    vc->vc_call_params = NULL;
    cn_spin_unlock(&vc->vc_lock);
    if (active)
        cn_warn("%s: the call closed without NdisMCmDeactivateVc; condis deactivated the VC",
                vc->vc_mp_name);
}

static void close_complete_client(struct cn_vc *vc, NDIS_STATUS st)
{
    struct cn_driver *p = vc->vc_af->af_binding->b_protocol;
    CN_CALL(p->drv_name, vc->vc_af->af_cl->ClCloseCallCompleteHandler(st, vc->vc_client_context, NULL));
}

/* The close no longer waits for the miniport (see vc_drain_busy). */
static void drain_unwatch(struct cn_vc *vc)
{
    if (atomic_exchange(&vc->vc_drain_busy, false))
        cn_host_busy(false);
}

void cn_vc_drained(struct cn_vc *vc)
{
    drain_unwatch(vc);
    close_done(vc);
    close_complete_client(vc, vc->vc_close_status);
}

/* The call manager finished closing with success. Returns true when the
 * close is finished now (no sends outstanding); otherwise the completion
 * of the last send finishes it. */
static bool close_or_wait(struct cn_vc *vc, NDIS_STATUS st)
{
    uintptr_t h = (uintptr_t)vc->vc_handle;
    vc->vc_close_status = st;
    /* Before the hand-off is published: the completer that finishes the
     * drain may run at once and must find the watch to end it. A miniport
     * that sits on sends of a deactivated VC (OWN-6) would otherwise keep
     * the close pending for ever while the run goes on. */
    if (CN_VERIFYING) {
        atomic_store(&vc->vc_drain_busy, true);
        cn_host_busy(true);
    }
    atomic_store(&vc->vc_close_pending, h);
    uintptr_t expected = h;
    if (atomic_load(&vc->vc_inflight) == 0 &&
        atomic_compare_exchange_strong(&vc->vc_close_pending, &expected, 0)) {
        drain_unwatch(vc);
        close_done(vc);
        return true;
    }
    return false;
}

NDIS_STATUS NdisClCloseCall(NDIS_HANDLE NdisVcHandle, NDIS_HANDLE NdisPartyHandle, PVOID Buffer,
                            UINT Size)
{
    UNREFERENCED_PARAMETER(NdisPartyHandle);
    struct cn_vc *vc = vc_get(NdisVcHandle, "NdisClCloseCall");
    if (vc == NULL)
        return NDIS_STATUS_INVALID_PARAMETER;
    cn_spin_lock(&vc->vc_lock);
    uint32_t f = vc->vc_flags;
    if ((f & CN_VC_CALL) && !(f & CN_VC_CLOSING))
        vc->vc_flags |= CN_VC_CLOSING; /* from here on, sends get NDIS_STATUS_CLOSING */
    long inflight = atomic_load(&vc->vc_unreturned);
    cn_spin_unlock(&vc->vc_lock);
    if (f & CN_VC_CLOSING)
        return NDIS_STATUS_CLOSING;
    if (!(f & CN_VC_CALL)) {
        cn_warn("%s: NdisClCloseCall on a VC with no call", vc->vc_client_name);
        return NDIS_STATUS_FAILURE;
    }
    if (inflight != 0) {
        char obj[128];
        cn_violation(CN_VC2, vc->vc_client_name, "NdisClCloseCall",
                     cn_vc_text(vc, obj, sizeof(obj)), NULL,
                     "closed the call with %ld send(s) outstanding on the VC (condis drains "
                     "them before the call closes)", inflight);
    }
    struct cn_driver *mcm = vc->vc_adapter->ad_miniport;
    NDIS_STATUS st;
    CN_CALL(mcm->drv_name, st = mcm->drv_cm.CmCloseCallHandler(vc->vc_mp_context, vc->vc_cm_party,
                                                               Buffer, Size));
    if (st == NDIS_STATUS_PENDING)
        return NDIS_STATUS_PENDING;
    if (st != NDIS_STATUS_SUCCESS) {
        cn_spin_lock(&vc->vc_lock);
        vc->vc_flags &= ~CN_VC_CLOSING;
        cn_spin_unlock(&vc->vc_lock);
        return st;
    }
    return close_or_wait(vc, st) ? NDIS_STATUS_SUCCESS : NDIS_STATUS_PENDING;
}

VOID NdisCmCloseCallComplete(NDIS_STATUS Status, NDIS_HANDLE NdisVcHandle, NDIS_HANDLE NdisPartyHandle)
{
    UNREFERENCED_PARAMETER(NdisPartyHandle);
    struct cn_vc *vc = vc_get(NdisVcHandle, "NdisCmCloseCallComplete");
    if (vc == NULL)
        return;
    cn_spin_lock(&vc->vc_lock);
    bool closing = (vc->vc_flags & CN_VC_CLOSING) != 0 && atomic_load(&vc->vc_close_pending) == 0;
    if (closing && Status != NDIS_STATUS_SUCCESS)
        vc->vc_flags &= ~CN_VC_CLOSING;
    cn_spin_unlock(&vc->vc_lock);
    if (!closing) {
        cn_warn("%s: NdisCmCloseCallComplete for a VC whose call is not being closed",
                vc->vc_mp_name);
        return;
    }
    if (Status == NDIS_STATUS_PENDING) {
        cn_warn("%s: NdisCmCloseCallComplete with NDIS_STATUS_PENDING; the status must be final",
                vc->vc_mp_name);
        Status = NDIS_STATUS_FAILURE;
    }
    if (Status != NDIS_STATUS_SUCCESS) {
        close_complete_client(vc, Status);
        return;
    }
    if (close_or_wait(vc, Status))
        close_complete_client(vc, Status);
}

VOID NdisCmDispatchIncomingCloseCall(NDIS_STATUS CloseStatus, NDIS_HANDLE NdisVcHandle, PVOID Buffer,
                                     UINT Size)
{
    struct cn_vc *vc = vc_get(NdisVcHandle, "NdisCmDispatchIncomingCloseCall");
    if (vc == NULL)
        return;
    cn_spin_lock(&vc->vc_lock);
    bool call = (vc->vc_flags & CN_VC_CALL) != 0;
    cn_spin_unlock(&vc->vc_lock);
    if (!call) {
        cn_warn("%s: NdisCmDispatchIncomingCloseCall on a VC with no call", vc->vc_mp_name);
        return;
    }
    struct cn_driver *p = vc->vc_af->af_binding->b_protocol;
    CN_CALL(p->drv_name, vc->vc_af->af_cl->ClIncomingCloseCallHandler(CloseStatus, vc->vc_client_context,
                                                              Buffer, Size));
}
