/*
 * recv.c - the CoNDIS receive path: NdisMCoIndicateReceiveNetBufferLists ->
 * ProtocolCoReceiveNetBufferLists, and NdisReturnNetBufferLists ->
 * MiniportReturnNetBufferLists.
 *
 * Ownership:
 *   - Without NDIS_RECEIVE_FLAGS_RESOURCES the protocol owns the indicated
 *     NBLs until it passes them to NdisReturnNetBufferLists (in any
 *     grouping, from any thread, at <= DISPATCH_LEVEL); condis then gives
 *     them to the MiniportReturnNetBufferLists of the adapter that indicated
 *     them, recorded in each NBL's trailer.
 *   - With NDIS_RECEIVE_FLAGS_RESOURCES the miniport owns them again as soon
 *     as NdisMCoIndicateReceiveNetBufferLists returns; the protocol must copy
 *     what it needs and must not return them.
 *   - An indication on a VC that is not active, or that condis cannot
 *     deliver, is returned to the miniport at once (not dropped).
 */
#include "cn_co.h"

static inline ULONG return_flags(ULONG flags)
{
    flags &= ~(ULONG)NDIS_RETURN_FLAGS_DISPATCH_LEVEL;
    if (cn_irql() == DISPATCH_LEVEL)
        flags |= NDIS_RETURN_FLAGS_DISPATCH_LEVEL;
    return flags;
}

/* Give NBLs back to an adapter's miniport (they are no longer indicated). */
static void return_to_miniport(struct condis_adapter *ad, PNET_BUFFER_LIST chain, ULONG flags)
{
    MINIPORT_RETURN_NET_BUFFER_LISTS *ret = ad->ad_miniport->drv_mchars.ReturnNetBufferListsHandler;
    if (ret == NULL)
        return;
    CN_CALL(ad->ad_miniport->drv_name, ret(ad->ad_context, chain, return_flags(flags)));
}

VOID NdisMCoIndicateReceiveNetBufferLists(NDIS_HANDLE NdisVcHandle, PNET_BUFFER_LIST NetBufferLists,
                                          ULONG NumberOfNetBufferLists, ULONG CoReceiveFlags)
{
    if (NetBufferLists == NULL)
        return;
    struct cn_vc *vc = cn_vc_get(NdisVcHandle);
    if (vc == NULL) {
        /* The NBLs stay with the miniport. */
        cn_vc_bad_handle(NdisVcHandle, "NdisMCoIndicateReceiveNetBufferLists");
        return;
    }
    struct condis_adapter *ad = vc->vc_adapter;
    ULONG flags = CoReceiveFlags;
    if ((flags & NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL) && cn_irql() != DISPATCH_LEVEL) {
        char obj[128];
        cn_violation(CN_IRQL1, vc->vc_mp_name, "NdisMCoIndicateReceiveNetBufferLists",
                     cn_vc_text(vc, obj, sizeof(obj)), NULL,
                     "NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL set below DISPATCH_LEVEL; condis "
                     "clears it");
        flags &= ~(ULONG)NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL;
    }
    bool resources = (flags & NDIS_RECEIVE_FLAGS_RESOURCES) != 0;
    if (!resources && ad->ad_miniport->drv_mchars.ReturnNetBufferListsHandler == NULL) {
        CN_WARN_ONCE("%s: indicates receives without NDIS_RECEIVE_FLAGS_RESOURCES but has no "
                     "ReturnNetBufferListsHandler; condis treats them as RESOURCES",
                     vc->vc_mp_name);
        flags |= NDIS_RECEIVE_FLAGS_RESOURCES;
        resources = true;
    }

    cn_spin_lock(&vc->vc_lock);
    bool active = (vc->vc_flags & CN_VC_ACTIVE) && vc->vc_handle == NdisVcHandle;
    cn_spin_unlock(&vc->vc_lock);
    if (!active) {
        CN_WARN_ONCE("%s: receive indication on a VC that is not active; condis returns the "
                     "NBLs to the miniport", vc->vc_mp_name);
        if (!resources)
            return_to_miniport(ad, NetBufferLists, 0);
        return;
    }

    unsigned long n = 0, bytes = 0;
    struct cn_nbl_walk walk = { 0 };
    for (PNET_BUFFER_LIST nbl = NetBufferLists; nbl; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
        if (!resources) {
            struct cn_nbl *c = cn_nbl_check_walk(&walk, nbl);
            if (c) {
                atomic_store_explicit(&c->state, CN_NBL_INDICATED, memory_order_relaxed);
                c->rx_adapter = ad->ad_handle;
            }
        }
        for (PNET_BUFFER nb = NET_BUFFER_LIST_FIRST_NB(nbl); nb; nb = NET_BUFFER_NEXT_NB(nb))
            bytes += NET_BUFFER_DATA_LENGTH(nb);
        n++;
    }
    if (n != NumberOfNetBufferLists)
        CN_WARN_ONCE("%s: NumberOfNetBufferLists %u does not match the %lu NBLs indicated",
                     vc->vc_mp_name, NumberOfNetBufferLists, n);
    if (!resources)
        atomic_fetch_add_explicit(&ad->ad_rx_outstanding, (long)n, memory_order_relaxed);
    atomic_fetch_add_explicit(&vc->vc_rec->r_received, n, memory_order_relaxed);
    atomic_fetch_add_explicit(&vc->vc_rec->r_received_bytes, bytes, memory_order_relaxed);
    CN_CALL(vc->vc_client_name, vc->vc_receive(vc->vc_binding_context, vc->vc_client_context,
                                               NetBufferLists, (ULONG)n, flags));
}

VOID NdisReturnNetBufferLists(NDIS_HANDLE NdisBindingHandle, PNET_BUFFER_LIST NetBufferLists,
                              ULONG ReturnFlags)
{
    if (cn_binding_get(NdisBindingHandle) == NULL)
        CN_WARN_ONCE("%s: NdisReturnNetBufferLists with %p, which is not a live binding handle; "
                     "condis returns the NBLs to the adapters that indicated them",
                     cn_current_driver(), NdisBindingHandle);
    PNET_BUFFER_LIST nbl = NetBufferLists;
    struct cn_nbl_walk walk = { 0 };
    while (nbl) {
        NDIS_HANDLE ad_handle = NULL;
        PNET_BUFFER_LIST head = NULL, tail = NULL;
        long n = 0;
        while (nbl) {
            PNET_BUFFER_LIST next = NET_BUFFER_LIST_NEXT_NBL(nbl);
            struct cn_nbl *c = cn_nbl_check_walk(&walk, nbl);
            if (c == NULL ||
                atomic_load_explicit(&c->state, memory_order_relaxed) != CN_NBL_INDICATED) {
                CN_WARN_ONCE("%s: NdisReturnNetBufferLists with an NBL that is not an "
                             "outstanding indication (returned twice, or never indicated); "
                             "condis drops it from the return", cn_current_driver());
                nbl = next;
                continue;
            }
            if (ad_handle != NULL && c->rx_adapter != ad_handle)
                break;
            ad_handle = c->rx_adapter;
            atomic_store_explicit(&c->state, CN_NBL_IDLE, memory_order_relaxed);
            if (tail)
                NET_BUFFER_LIST_NEXT_NBL(tail) = nbl;
            else
                head = nbl;
            tail = nbl;
            n++;
            nbl = next;
        }
        if (n == 0)
            continue;
        NET_BUFFER_LIST_NEXT_NBL(tail) = NULL;
        struct condis_adapter *ad = cn_handle_get(ad_handle, CN_H_ADAPTER);
        if (ad == NULL) {
            cn_warn("%s: %ld NBL(s) returned after their adapter was halted", cn_current_driver(), n);
            continue;
        }
        atomic_fetch_sub_explicit(&ad->ad_rx_outstanding, n, memory_order_relaxed);
        return_to_miniport(ad, head, ReturnFlags);
    }
}
