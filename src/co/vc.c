/*
 * vc.c - virtual connections: NdisCoCreateVc / NdisCoDeleteVc (client),
 * NdisMCmCreateVc / NdisMCmDeleteVc (miniport call manager), and
 * NdisMCmActivateVc / NdisMCmDeactivateVc.
 *
 * For a miniport call manager, Windows calls only the call manager's
 * CmCreateVc/CmDeleteVc handlers when a client creates or deletes a VC (the
 * MCM's MiniportCoCreateVc/DeleteVc are not called); the context the MCM
 * returns there is the MiniportVcContext of every later send. Client and
 * MCM see the same NdisVcHandle.
 *
 * VC memory is type-stable: VCs are carved from slabs that live until the
 * runtime ends, and a deleted VC goes back to a free list. A lookup racing
 * with a delete therefore reads a valid struct, whose vc_handle no longer
 * matches the handle it was looked up by.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cn_co.h"

#define VC_SLAB 64

struct vc_slab {
    struct vc_slab *next;
    struct cn_vc vcs[VC_SLAB];
};

static struct vc_slab *slabs;
static struct cn_vc *vc_free;
static pthread_mutex_t vc_lock = PTHREAD_MUTEX_INITIALIZER;

struct cn_vc *cn_vc_alloc(void)
{
    pthread_mutex_lock(&vc_lock);
    if (vc_free == NULL) {
        /* C11 aligned_alloc wants a size that is a multiple of the
         * alignment (TSan enforces it). */
        struct vc_slab *s = aligned_alloc(64, (sizeof(*s) + 63) & ~(size_t)63);
        if (s == NULL) {
            pthread_mutex_unlock(&vc_lock);
            return NULL;
        }
        memset(s, 0, sizeof(*s));
        s->next = slabs;
        slabs = s;
        for (int i = VC_SLAB - 1; i >= 0; i--) {
            s->vcs[i].vc_free_next = vc_free;
            vc_free = &s->vcs[i];
        }
    }
    struct cn_vc *vc = vc_free;
    vc_free = vc->vc_free_next;
    pthread_mutex_unlock(&vc_lock);

    /* Field by field, not memset: a stale lookup may read the struct
     * concurrently, and must only ever see a handle that does not match. */
    vc->vc_handle = NULL;
    vc->vc_flags = 0;
    atomic_flag_clear(&vc->vc_lock.sp_flag);
    vc->vc_draining = false;
    vc->vc_q_head = vc->vc_q_tail = NULL;
    atomic_store(&vc->vc_inflight, 0);
    atomic_store(&vc->vc_unreturned, 0);
    vc->vc_mp_send = NULL;
    vc->vc_mp_context = NULL;
    vc->vc_send_complete = NULL;
    vc->vc_receive = NULL;
    vc->vc_client_context = vc->vc_binding_context = NULL;
    vc->vc_client_name = vc->vc_mp_name = NULL;
    vc->vc_adapter = NULL;
    vc->vc_af = NULL;
    vc->vc_free_next = NULL;
    vc->vc_party = vc->vc_cm_party = NULL;
    vc->vc_call_params = NULL;
    atomic_store(&vc->vc_close_pending, 0);
    atomic_store(&vc->vc_drain_busy, false);
    vc->vc_close_status = NDIS_STATUS_SUCCESS;
    vc->vc_rec = NULL;
    return vc;
}

void cn_vc_release(struct cn_vc *vc)
{
    pthread_mutex_lock(&vc_lock);
    vc->vc_handle = NULL;
    vc->vc_free_next = vc_free;
    vc_free = vc;
    pthread_mutex_unlock(&vc_lock);
}

void cn_vc_fini(void)
{
    pthread_mutex_lock(&vc_lock);
    while (slabs) {
        struct vc_slab *s = slabs;
        slabs = s->next;
        free(s);
    }
    vc_free = NULL;
    pthread_mutex_unlock(&vc_lock);
}

struct cn_vc *cn_vc_get(NDIS_HANDLE NdisVcHandle)
{
    return cn_handle_get(NdisVcHandle, CN_H_VC);
}

const char *cn_vc_text(struct cn_vc *vc, char *buf, size_t len)
{
    struct cn_vcrec *r = vc->vc_rec;
    if (r != NULL)
        snprintf(buf, len, "VC %u of binding %u (%s > %s, handle %p)", r->r_vc,
                 r->r_bind->br_binding, vc->vc_client_name, r->r_bind->br_adapter, vc->vc_handle);
    else
        snprintf(buf, len, "VC %p (%s > %s)", vc->vc_handle, vc->vc_client_name,
                 vc->vc_mp_name);
    return buf;
}

void cn_vc_bad_handle(NDIS_HANDLE h, const char *fn)
{
    if (cn_handle_was(h, CN_H_VC)) {
        char obj[64];
        snprintf(obj, sizeof(obj), "VC handle %p", h);
        cn_violation(CN_VC4, NULL, fn, obj, NULL, "used the handle of a VC that was deleted");
    } else {
        cn_warn("%s: %s: %p is not a VC handle", cn_current_driver(), fn, h);
    }
}

/* Fill a VC for an AF and publish its handle. Returns false on exhaustion. */
static bool vc_setup(struct cn_vc *vc, struct cn_af *af, NDIS_HANDLE client_ctx, uint32_t flags)
{
    struct cn_binding *b = af->af_binding;
    struct cn_driver *p = b->b_protocol, *mcm = b->b_adapter->ad_miniport;
    vc->vc_af = af;
    vc->vc_adapter = b->b_adapter;
    vc->vc_flags = flags;
    vc->vc_client_context = client_ctx;
    vc->vc_binding_context = b->b_context;
    vc->vc_send_complete = p->drv_pco.CoSendNetBufferListsCompleteHandler;
    vc->vc_receive = p->drv_pco.CoReceiveNetBufferListsHandler;
    vc->vc_mp_send = mcm->drv_mco.CoSendNetBufferListsHandler;
    vc->vc_client_name = p->drv_name;
    vc->vc_mp_name = mcm->drv_name;
    vc->vc_handle = cn_handle_alloc(CN_H_VC, vc, p->drv_name);
    if (vc->vc_handle == NULL)
        return false;
    /* Before any driver sees the handle: even a refused send counts. */
    vc->vc_rec = cn_stats_vc_new(vc, b);
    return true;
}

/* Undo vc_setup after the other side refused the VC. */
static void vc_unsetup(struct cn_vc *vc)
{
    cn_stats_vc_discard(vc->vc_rec);
    cn_handle_free(vc->vc_handle);
    cn_vc_release(vc);
}

static void vc_link(struct cn_vc *vc)
{
    pthread_mutex_lock(&cn_rt.rt_lock);
    InsertTailList(&vc->vc_af->af_vcs, &vc->vc_af_link);
    pthread_mutex_unlock(&cn_rt.rt_lock);
}

static void vc_destroy(struct cn_vc *vc)
{
    pthread_mutex_lock(&cn_rt.rt_lock);
    RemoveEntryList(&vc->vc_af_link);
    pthread_mutex_unlock(&cn_rt.rt_lock);
    cn_stats_vc_deleted(vc->vc_rec);
    cn_handle_free(vc->vc_handle);
    cn_vc_release(vc);
}

/* The open AF a client names, checked against its binding. */
static struct cn_af *client_af(NDIS_HANDLE NdisBindingHandle, NDIS_HANDLE NdisAfHandle,
                               const char *fn)
{
    struct cn_binding *b = cn_binding_get(NdisBindingHandle);
    struct cn_af *af = cn_handle_get(NdisAfHandle, CN_H_AF);
    if (b == NULL || af == NULL || af->af_binding != b) {
        cn_warn("%s: a live binding handle and an AF opened on it are required "
                "(binding %p, AF %p)", fn, NdisBindingHandle, NdisAfHandle);
        return NULL;
    }
    return af;
}

NDIS_STATUS NdisCoCreateVc(NDIS_HANDLE NdisBindingHandle, NDIS_HANDLE NdisAfHandle,
                           NDIS_HANDLE ProtocolVcContext, PNDIS_HANDLE NdisVcHandle)
{
    if (NdisVcHandle == NULL)
        return NDIS_STATUS_INVALID_PARAMETER;
    if (NdisAfHandle == NULL) {
        cn_warn("NdisCoCreateVc without an AF handle creates a call manager's own VC; condis "
                "supports miniport call managers, which use NdisMCmCreateVc");
        return NDIS_STATUS_FAILURE;
    }
    struct cn_af *af = client_af(NdisBindingHandle, NdisAfHandle, "NdisCoCreateVc");
    if (af == NULL)
        return NDIS_STATUS_FAILURE;
    pthread_mutex_lock(&cn_rt.rt_lock);
    bool open = af->af_state == CN_AF_OPEN;
    pthread_mutex_unlock(&cn_rt.rt_lock);
    if (!open)
        return NDIS_STATUS_CLOSING;
    struct cn_vc *vc = cn_vc_alloc();
    if (vc == NULL)
        return NDIS_STATUS_RESOURCES;
    if (!vc_setup(vc, af, ProtocolVcContext, 0)) {
        cn_vc_release(vc);
        return NDIS_STATUS_RESOURCES;
    }
    struct cn_driver *mcm = vc->vc_adapter->ad_miniport;
    NDIS_HANDLE mp_ctx = NULL;
    NDIS_STATUS st;
    CN_CALL(mcm->drv_name, st = mcm->drv_cm.CmCreateVcHandler(af->af_cm_context, vc->vc_handle, &mp_ctx));
    if (st == NDIS_STATUS_PENDING) {
        cn_warn("%s: its CmCreateVc handler returned NDIS_STATUS_PENDING; creating a VC cannot "
                "pend", mcm->drv_name);
        st = NDIS_STATUS_FAILURE;
    }
    if (st != NDIS_STATUS_SUCCESS) {
        vc_unsetup(vc);
        return st;
    }
    vc->vc_mp_context = mp_ctx;
    vc_link(vc);
    *NdisVcHandle = vc->vc_handle;
    return NDIS_STATUS_SUCCESS;
}

/* Checks common to both deletes, under the VC lock. */
static NDIS_STATUS vc_deletable(struct cn_vc *vc, bool by_cm, const char *fn)
{
    NDIS_STATUS st = NDIS_STATUS_SUCCESS;
    cn_spin_lock(&vc->vc_lock);
    uint32_t f = vc->vc_flags;
    long inflight = atomic_load(&vc->vc_inflight);
    cn_spin_unlock(&vc->vc_lock);
    const char *who = by_cm ? vc->vc_mp_name : vc->vc_client_name;
    const char *why = NULL;
    char extra[64] = "";
    if (((f & CN_VC_BY_CM) != 0) != by_cm) {
        why = "only the creator of a VC may delete it";
        st = NDIS_STATUS_NOT_ACCEPTED;
    } else if (f & CN_VC_CLOSING) {
        why = "its call is still closing";
        st = NDIS_STATUS_CLOSING;
    } else if (f & (CN_VC_ACTIVE | CN_VC_CALL | CN_VC_MAKING)) {
        why = "it has a call or is still active; close the call first";
        st = NDIS_STATUS_NOT_ACCEPTED;
    } else if (inflight != 0) {
        snprintf(extra, sizeof(extra), "it has %ld send(s) outstanding", inflight);
        why = extra;
        st = NDIS_STATUS_NOT_ACCEPTED;
    }
    if (why == NULL)
        return st;
    char obj[128];
    cn_vc_text(vc, obj, sizeof(obj));
    if (by_cm)
        cn_warn("%s: %s refused on %s: %s", who, fn, obj, why);
    else
        cn_violation(CN_VC3, who, fn, obj, NULL, "refused with %s: %s",
                     condis_status_name(st), why);
    return st;
}

/* Claim the delete, so that a second delete racing with this one is
 * refused instead of calling the other side's delete handler twice. */
static bool vc_claim_delete(struct cn_vc *vc)
{
    cn_spin_lock(&vc->vc_lock);
    bool ok = !(vc->vc_flags & CN_VC_DELETED);
    vc->vc_flags |= CN_VC_DELETED;
    cn_spin_unlock(&vc->vc_lock);
    return ok;
}

static void vc_unclaim_delete(struct cn_vc *vc)
{
    cn_spin_lock(&vc->vc_lock);
    vc->vc_flags &= ~CN_VC_DELETED;
    cn_spin_unlock(&vc->vc_lock);
}

NDIS_STATUS NdisCoDeleteVc(NDIS_HANDLE NdisVcHandle)
{
    struct cn_vc *vc = cn_vc_get(NdisVcHandle);
    if (vc == NULL) {
        cn_vc_bad_handle(NdisVcHandle, "NdisCoDeleteVc");
        return NDIS_STATUS_INVALID_PARAMETER;
    }
    NDIS_STATUS st = vc_deletable(vc, false, "NdisCoDeleteVc");
    if (st != NDIS_STATUS_SUCCESS)
        return st;
    if (!vc_claim_delete(vc))
        return NDIS_STATUS_CLOSING;
    struct cn_driver *mcm = vc->vc_adapter->ad_miniport;
    CN_CALL(mcm->drv_name, st = mcm->drv_cm.CmDeleteVcHandler(vc->vc_mp_context));
    if (st != NDIS_STATUS_SUCCESS) {
        vc_unclaim_delete(vc);
        return st;
    }
    vc_destroy(vc);
    return NDIS_STATUS_SUCCESS;
}

NDIS_STATUS NdisMCmCreateVc(NDIS_HANDLE MiniportAdapterHandle, NDIS_HANDLE NdisAfHandle,
                            NDIS_HANDLE MiniportVcContext, PNDIS_HANDLE NdisVcHandle)
{
    struct condis_adapter *ad = cn_handle_get(MiniportAdapterHandle, CN_H_ADAPTER);
    struct cn_af *af = cn_handle_get(NdisAfHandle, CN_H_AF);
    if (ad == NULL || af == NULL || af->af_binding->b_adapter != ad || NdisVcHandle == NULL) {
        cn_warn("NdisMCmCreateVc: a live adapter handle, an AF open on that adapter and "
                "NdisVcHandle are required");
        return NDIS_STATUS_FAILURE;
    }
    struct cn_vc *vc = cn_vc_alloc();
    if (vc == NULL)
        return NDIS_STATUS_RESOURCES;
    if (!vc_setup(vc, af, NULL, CN_VC_BY_CM)) {
        cn_vc_release(vc);
        return NDIS_STATUS_RESOURCES;
    }
    vc->vc_mp_context = MiniportVcContext;
    struct cn_driver *p = af->af_binding->b_protocol;
    NDIS_HANDLE client_ctx = NULL;
    NDIS_STATUS st;
    CN_CALL(p->drv_name, st = af->af_cl->ClCreateVcHandler(af->af_client_context, vc->vc_handle, &client_ctx));
    if (st == NDIS_STATUS_PENDING) {
        cn_warn("%s: ProtocolCoCreateVc returned NDIS_STATUS_PENDING; it cannot pend", p->drv_name);
        st = NDIS_STATUS_FAILURE;
    }
    if (st != NDIS_STATUS_SUCCESS) {
        vc_unsetup(vc);
        return st;
    }
    vc->vc_client_context = client_ctx;
    vc_link(vc);
    *NdisVcHandle = vc->vc_handle;
    return NDIS_STATUS_SUCCESS;
}

NDIS_STATUS NdisMCmDeleteVc(NDIS_HANDLE NdisVcHandle)
{
    struct cn_vc *vc = cn_vc_get(NdisVcHandle);
    if (vc == NULL) {
        cn_vc_bad_handle(NdisVcHandle, "NdisMCmDeleteVc");
        return NDIS_STATUS_INVALID_PARAMETER;
    }
    NDIS_STATUS st = vc_deletable(vc, true, "NdisMCmDeleteVc");
    if (st != NDIS_STATUS_SUCCESS)
        return st;
    if (!vc_claim_delete(vc))
        return NDIS_STATUS_CLOSING;
    struct cn_driver *p = vc->vc_af->af_binding->b_protocol;
    CN_CALL(p->drv_name, st = vc->vc_af->af_cl->ClDeleteVcHandler(vc->vc_client_context));
    if (st != NDIS_STATUS_SUCCESS) {
        vc_unclaim_delete(vc);
        return st;
    }
    vc_destroy(vc);
    return NDIS_STATUS_SUCCESS;
}

NDIS_STATUS NdisMCmActivateVc(NDIS_HANDLE NdisVcHandle, PCO_CALL_PARAMETERS CallParameters)
{
    struct cn_vc *vc = cn_vc_get(NdisVcHandle);
    if (vc == NULL) {
        cn_vc_bad_handle(NdisVcHandle, "NdisMCmActivateVc");
        return NDIS_STATUS_INVALID_PARAMETER;
    }
    if (CallParameters == NULL)
        return NDIS_STATUS_INVALID_PARAMETER;
    /* Activating an active VC changes its call parameters; either way the
     * VC carries data from now on. Windows completes this at once for an
     * MCM: there is no activate-complete call. */
    cn_spin_lock(&vc->vc_lock);
    vc->vc_flags |= CN_VC_ACTIVE;
    vc->vc_call_params = CallParameters;
    cn_spin_unlock(&vc->vc_lock);
    return NDIS_STATUS_SUCCESS;
}

NDIS_STATUS NdisMCmDeactivateVc(NDIS_HANDLE NdisVcHandle)
{
    struct cn_vc *vc = cn_vc_get(NdisVcHandle);
    if (vc == NULL) {
        cn_vc_bad_handle(NdisVcHandle, "NdisMCmDeactivateVc");
        return NDIS_STATUS_INVALID_PARAMETER;
    }
    cn_spin_lock(&vc->vc_lock);
    bool active = (vc->vc_flags & CN_VC_ACTIVE) != 0;
    vc->vc_flags &= ~CN_VC_ACTIVE;
    vc->vc_call_params = NULL;
    cn_spin_unlock(&vc->vc_lock);
    /* New sends are refused from here on; those still with the miniport
     * drain before the call finishes closing (call.c). */
    return active ? NDIS_STATUS_SUCCESS : NDIS_STATUS_NOT_ACCEPTED;
}

const char *condis_driver_name(const struct condis_driver *drv)
{
    return drv ? drv->im_name : "?";
}
