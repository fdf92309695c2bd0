/*
 * send5.c - the NDIS 5.x CoNDIS data path over co's NBL path:
 * NdisCoSendPackets -> NdisCoSendNetBufferLists -> (miniport) ->
 * CoSendCompleteHandler, and NdisMCoIndicateReceiveNetBufferLists ->
 * CoReceivePacketHandler -> NdisReturnPackets -> NdisReturnNetBufferLists.
 *
 * Sending: each packet travels inside a wrapper NBL from the protocol's
 * send pool (struct cn_proto5.p5_send_pool), whose one NET_BUFFER maps the
 * packet's own buffer chain: no data is copied. condis is the NDIS 6
 * protocol of the wrappers, so their ProtocolReserved is condis':
 * [0] the packet, [1] the cn_proto5. A packet keeps its wrapper between
 * sends (struct cn_packet.co5_wrap), and the next send only sets it up
 * again (cn_nbl_rewrap): allocating, zeroing and freeing a wrapper per
 * packet was more than half the cost of a 5.x send. The wrapper goes back
 * to the pool when the packet is freed, or when the protocol deregisters
 * (cn_send5_drop_wraps), whichever comes first. The packet is the driver's until
 * NdisCoSendPackets, NDIS' (state CN_PKT_SENDING, OOB status PENDING) until
 * its completion, and the driver's again when CoSendCompleteHandler runs.
 *
 * Receiving: each NET_BUFFER of an indicated NBL becomes a packet of the
 * protocol's receive pool whose buffers (NdisCopyBuffer) map exactly the
 * NET_BUFFER's data. While condis holds an indicated NBL its
 * ProtocolReserved is condis': [0] the count of its packets not yet
 * released (plus one while they are being indicated), [1] the cn_bind5,
 * [2] non-NULL when the indication carried NDIS_RECEIVE_FLAGS_RESOURCES.
 * A packet's own count of NdisReturnPackets calls still due lives in the
 * header condis keeps in front of it (struct cn_packet.flags).
 *
 * Every function: any thread, IRQL <= DISPATCH_LEVEL, no lock held while
 * a driver runs, no allocation but from the pools.
 */
#include "cn_proto5.h"

#include <stdio.h>
#include <string.h>

/* While the receive handler runs, a packet's return count carries this
 * bias, so that a return from another thread cannot release it early. */
#define RX_BIAS 0x40000000u

static inline ULONG dispatch_flag(ULONG flag)
{
    return cn_irql() == DISPATCH_LEVEL ? flag : 0;
}

/* ---- sending ------------------------------------------------------------ */

static inline void complete5(struct cn_proto5 *p5, NDIS_HANDLE vc_ctx, PNDIS_PACKET P,
                             NDIS_STATUS st)
{
    CN_CALL(p5->p5_name, p5->p5_chars.CoSendCompleteHandler(st, vc_ctx, P));
}

/* Take an idle packet for a send (OWN-3: false if it is in flight). With
 * the verifier on this is a compare-exchange, so that even two threads
 * sending one packet at the same moment cannot both have it; without it a
 * load and a store, as for NBLs (send.c), which catch every second send of
 * a packet that is in flight but cost no locked instruction per packet. */
static inline bool take_packet(struct cn_packet *cp)
{
    if (CN_VERIFYING) {
        uint32_t idle = CN_PKT_IDLE;
        return atomic_compare_exchange_strong(&cp->state, &idle, CN_PKT_SENDING);
    }
    if (atomic_load_explicit(&cp->state, memory_order_relaxed) != CN_PKT_IDLE)
        return false;
    atomic_store_explicit(&cp->state, CN_PKT_SENDING, memory_order_relaxed);
    return true;
}

/* The wrapper for a send of P (state SENDING: the packet is condis' now),
 * mapping len bytes of its buffer chain: the one it kept, set up again,
 * or a new one from p5's pool. NULL: the pool is dry. */
static PNET_BUFFER_LIST wrap_for(struct cn_proto5 *p5, PNDIS_PACKET P, struct cn_packet *cp,
                                 UINT len)
{
    PNET_BUFFER_LIST nbl = atomic_load_explicit(&cp->co5_wrap, memory_order_relaxed);
    if (nbl != NULL) {
        if (nbl->ProtocolReserved[1] == p5 && cn_nbl_rewrap(nbl, (PMDL)P->Private.Head, len))
            return nbl;
        /* Another protocol's, or left with something only a free undoes. */
        cn_send5_unwrap(cp);
    }
    nbl = NdisAllocateNetBufferAndNetBufferList(p5->p5_send_pool, 0, 0, (PMDL)P->Private.Head, 0,
                                                len);
    if (nbl == NULL)
        return NULL;
    cn_nbl(nbl)->flags |= CN_NBLF_WRAPPER;
    nbl->ProtocolReserved[1] = p5;
    atomic_store_explicit(&cp->co5_wrap, nbl, memory_order_relaxed);
    return nbl;
}

void cn_send5_unwrap(struct cn_packet *cp)
{
    PNET_BUFFER_LIST nbl = atomic_exchange(&cp->co5_wrap, NULL);
    if (nbl != NULL)
        NdisFreeNetBufferList(nbl);
}

/* Wrappers kept with idle packets, taken off them and linked through their
 * Next (idle, so condis'). Pool lock held: only collect here. */
static void wrap_collect(struct cn_pool *p, void *elem, void *arg)
{
    (void)p;
    struct cn_nbl *c = elem;
    PNET_BUFFER_LIST *list = arg;
    if (__atomic_load_n(&c->cookie, __ATOMIC_RELAXED) != CN_NBL_COOKIE ||
        !(c->flags & CN_NBLF_WRAPPER) ||
        atomic_load_explicit(&c->state, memory_order_acquire) != CN_NBL_IDLE)
        return;
    PNDIS_PACKET P = c->nbl.ProtocolReserved[0];
    if (P == NULL)
        return; /* made for a send that has not named its packet yet */
    struct cn_packet *cp = cn_packet_of(P);
    PNET_BUFFER_LIST expected = &c->nbl;
    if (!atomic_compare_exchange_strong(&cp->co5_wrap, &expected, NULL))
        return; /* its packet is letting go of it itself */
    NET_BUFFER_LIST_NEXT_NBL(&c->nbl) = *list;
    *list = &c->nbl;
}

void cn_send5_drop_wraps(struct cn_proto5 *p5)
{
    struct cn_nbl_pool *np = p5->p5_send_pool ? cn_handle_get(p5->p5_send_pool, CN_H_NBL_POOL)
                                              : NULL;
    if (np == NULL)
        return;
    PNET_BUFFER_LIST list = NULL, next;
    cn_pool_each(&np->np_pool, wrap_collect, &list);
    for (PNET_BUFFER_LIST nbl = list; nbl; nbl = next) {
        next = NET_BUFFER_LIST_NEXT_NBL(nbl);
        NET_BUFFER_LIST_NEXT_NBL(nbl) = NULL;
        NdisFreeNetBufferList(nbl);
    }
}

void (*cn_send5_before_send_hook)(NDIS_HANDLE NdisVcHandle);

VOID NdisCoSendPackets(NDIS_HANDLE NdisVcHandle, PPNDIS_PACKET PacketArray, UINT NumberOfPackets)
{
    if (PacketArray == NULL || NumberOfPackets == 0)
        return;
    struct cn_vc *vc = cn_vc_get(NdisVcHandle);
    struct cn_bind5 *b5 = vc ? vc->vc_binding_context : NULL;
    if (vc == NULL || vc->vc_send_complete != cn_send5_complete || b5 == NULL) {
        /* Nobody to complete them to: the packets stay with the caller,
         * each marked, as co does with NBLs. */
        if (vc == NULL && cn_handle_was(NdisVcHandle, CN_H_VC)) {
            char obj[64];
            snprintf(obj, sizeof(obj), "VC handle %p", NdisVcHandle);
            cn_violation(CN_VC4, NULL, "NdisCoSendPackets", obj, NULL,
                         "sent on a VC that has been deleted; the packets stay with the caller");
        } else {
            cn_warn("%s: NdisCoSendPackets on %p, which is not a live VC of an NDIS 5.x "
                    "client; the packets stay with the caller", cn_current_driver(),
                    NdisVcHandle);
        }
        for (UINT i = 0; i < NumberOfPackets; i++)
            if (cn_packet_check(PacketArray[i]))
                NDIS_SET_PACKET_STATUS(PacketArray[i], CN_STATUS_INVALID_HANDLE);
        return;
    }
    struct cn_proto5 *p5 = b5->b5_proto;
    NDIS_HANDLE vc_ctx = vc->vc_client_context;
    PNET_BUFFER_LIST head = NULL, *tail = &head;
    struct cn_packet_walk walk = { 0 };
    /* With the verifier off, the wrappers go straight to the VC's queue:
     * condis made them and has just checked them itself (cn_nbl_rewrap),
     * so NdisCoSendNetBufferLists' checks of a protocol's NBLs would only
     * repeat that. With it on, they take the whole path, verify_submit's
     * snapshot included. */
    bool direct = !CN_VERIFYING;
    uint64_t now = cn_ticks();
    unsigned long n = 0, bytes = 0;
    for (UINT i = 0; i < NumberOfPackets; i++) {
        PNDIS_PACKET P = PacketArray[i];
        struct cn_packet *cp = cn_packet_check_walk(&walk, P);
        if (cp == NULL && CN_VERIFYING)
            cp = cn_packet_recover(P, "NdisCoSendPackets");
        if (cp == NULL) {
            char obj[160];
            cn_violation(CN_PKT2, p5->p5_name, "NdisCoSendPackets",
                         cn_packet_text(P, obj, sizeof(obj)), NULL,
                         "sent a packet that is not an allocated packet of a packet pool, or "
                         "whose header was overwritten; completed with "
                         "NDIS_STATUS_INVALID_PARAMETER");
            complete5(p5, vc_ctx, P, NDIS_STATUS_INVALID_PARAMETER);
            continue;
        }
        if (!take_packet(cp)) {
            char obj[160];
            cn_packet_text(P, obj, sizeof(obj));
            cn_violation(CN_OWN3, p5->p5_name, "NdisCoSendPackets", obj,
                         CN_VERIFYING ? cn_packet_shadow(cp) : NULL,
                         "sent a packet again while it is still in flight; condis ignores the "
                         "second send");
            if (CN_VERIFYING)
                cn_verify_acted_early(cn_packet_shadow(cp), "NdisCoSendPackets", obj);
            continue;
        }
        NDIS_SET_PACKET_STATUS(P, CN_VERIFYING ? CN_VERIFY_POISON : NDIS_STATUS_PENDING);
        if (CN_VERIFYING)
            cn_verify_send5(P, cp, p5->p5_name);
        UINT len = 0;
        NdisQueryPacket(P, NULL, NULL, NULL, &len);
        PNET_BUFFER_LIST nbl = wrap_for(p5, P, cp, len);
        if (nbl == NULL) {
            NDIS_SET_PACKET_STATUS(P, NDIS_STATUS_RESOURCES);
            atomic_store(&cp->state, CN_PKT_IDLE);
            if (CN_VERIFYING)
                cn_verify_complete5(P, cp, "NdisCoSendPackets");
            complete5(p5, vc_ctx, P, NDIS_STATUS_RESOURCES);
            continue;
        }
        nbl->ProtocolReserved[0] = P;
        nbl->SourceHandle = NdisVcHandle;
        cp->co5_private = nbl;
        if (direct)
            cn_send_take(cn_nbl(nbl), vc, NdisVcHandle, now);
        n++;
        bytes += len;
        *tail = nbl;
        tail = &NET_BUFFER_LIST_NEXT_NBL(nbl);
    }
    if (head == NULL)
        return;
    ULONG flags = dispatch_flag(NDIS_SEND_FLAGS_DISPATCH_LEVEL);
    PNET_BUFFER_LIST left;
    if (__builtin_expect(cn_send5_before_send_hook != NULL, 0))
        cn_send5_before_send_hook(NdisVcHandle);
    if (direct)
        left = cn_send_taken(vc, NdisVcHandle, head, n, bytes, flags) ? NULL : head;
    else
        left = cn_send_nbls(vc, NdisVcHandle, head, flags);
    /* The VC was deleted since it was looked up: these packets stay with the
     * caller, marked, as when the handle was stale from the start. */
    for (PNET_BUFFER_LIST nbl = left, next; nbl; nbl = next) {
        next = NET_BUFFER_LIST_NEXT_NBL(nbl);
        NET_BUFFER_LIST_NEXT_NBL(nbl) = NULL;
        PNDIS_PACKET P = nbl->ProtocolReserved[0];
        struct cn_packet *cp = cn_packet_of(P);
        cp->co5_private = NULL;
        if (CN_VERIFYING)
            cn_verify_complete5(P, cp, "NdisCoSendPackets");
        NDIS_SET_PACKET_STATUS(P, CN_STATUS_INVALID_HANDLE);
        atomic_store_explicit(&cp->state, CN_PKT_IDLE, memory_order_release);
    }
}

/* co6 CoSendNetBufferListsCompleteHandler of every 5.x client. On entry
 * condis owns the wrappers again; each packet goes back to the driver. */
VOID cn_send5_complete(NDIS_HANDLE ProtocolVcContext, PNET_BUFFER_LIST NetBufferLists,
                       ULONG SendCompleteFlags)
{
    UNREFERENCED_PARAMETER(SendCompleteFlags);
    PNET_BUFFER_LIST next;
    for (PNET_BUFFER_LIST nbl = NetBufferLists; nbl; nbl = next) {
        next = NET_BUFFER_LIST_NEXT_NBL(nbl);
        NET_BUFFER_LIST_NEXT_NBL(nbl) = NULL;
        PNDIS_PACKET P = nbl->ProtocolReserved[0];
        struct cn_proto5 *p5 = nbl->ProtocolReserved[1];
        NDIS_STATUS st = NET_BUFFER_LIST_STATUS(nbl);
        /* The wrapper stays with the packet for its next send, unless the
         * send failed: a miniport may still hold an NBL condis took back
         * from it (OWN-6), and such a wrapper must never carry a new send. */
        struct cn_packet *cp = cn_packet_of(P);
        if (st != NDIS_STATUS_SUCCESS)
            cn_send5_unwrap(cp);
        cp->co5_private = NULL;
        if (CN_VERIFYING)
            cn_verify_complete5(P, cp, "the send completion");
        NDIS_SET_PACKET_STATUS(P, st);
        atomic_store_explicit(&cp->state, CN_PKT_IDLE, memory_order_release);
        complete5(p5, ProtocolVcContext, P, st);
        if (CN_VERIFYING)
            cn_verify_after_complete5(P, cp, p5->p5_name);
    }
}

/* ---- receiving ------------------------------------------------------------ */

static void nbl_release(PNET_BUFFER_LIST nbl)
{
    uintptr_t *count = (uintptr_t *)&nbl->ProtocolReserved[0];
    if (__atomic_sub_fetch(count, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    struct cn_bind5 *b5 = nbl->ProtocolReserved[1];
    bool resources = nbl->ProtocolReserved[2] != NULL;
    nbl->ProtocolReserved[0] = nbl->ProtocolReserved[1] = nbl->ProtocolReserved[2] = NULL;
    if (!resources)
        NdisReturnNetBufferLists(b5->b5_handle, nbl,
                                 dispatch_flag(NDIS_RETURN_FLAGS_DISPATCH_LEVEL));
}

/* The protocol is done with P: its buffers and itself go back to the
 * receive pools, and its NBL goes back when it was the last packet. */
static void packet_release(PNDIS_PACKET P)
{
    struct cn_packet *cp = cn_packet_of(P);
    PNET_BUFFER_LIST nbl = cp->co5_private;
    PNDIS_BUFFER buf;
    for (;;) {
        NdisUnchainBufferAtFront(P, &buf);
        if (buf == NULL)
            break;
        NdisFreeBuffer(buf);
    }
    cp->co5_private = NULL;
    atomic_store(&cp->state, CN_PKT_IDLE);
    NdisFreePacket(P);
    nbl_release(nbl);
}

/* A packet of p5's receive pool mapping nb's data, or NULL (pools dry). */
static PNDIS_PACKET packet_for(struct cn_proto5 *p5, PNET_BUFFER nb)
{
    NDIS_STATUS st;
    PNDIS_PACKET P = NULL;
    NdisAllocatePacket(&st, &P, p5->p5_rx_packets);
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
        NdisCopyBuffer(&st, &buf, p5->p5_rx_buffers, mdl, off, take);
        if (st != NDIS_STATUS_SUCCESS) {
            for (;;) {
                NdisUnchainBufferAtFront(P, &buf);
                if (buf == NULL)
                    break;
                NdisFreeBuffer(buf);
            }
            NdisFreePacket(P);
            return NULL;
        }
        NdisChainBufferAtBack(P, buf);
        left -= take;
    }
    return P;
}

/* co6 CoReceiveNetBufferListsHandler of every 5.x client. */
VOID cn_recv5_indicate(NDIS_HANDLE ProtocolBindingContext, NDIS_HANDLE ProtocolVcContext,
                       PNET_BUFFER_LIST NetBufferLists, ULONG NumberOfNetBufferLists,
                       ULONG ReceiveFlags)
{
    UNREFERENCED_PARAMETER(NumberOfNetBufferLists);
    struct cn_bind5 *b5 = ProtocolBindingContext;
    struct cn_proto5 *p5 = b5->b5_proto;
    bool resources = (ReceiveFlags & NDIS_RECEIVE_FLAGS_RESOURCES) != 0;
    PNET_BUFFER_LIST next;
    for (PNET_BUFFER_LIST nbl = NetBufferLists; nbl; nbl = next) {
        next = NET_BUFFER_LIST_NEXT_NBL(nbl);
        /* Without RESOURCES each NBL goes back on its own, whenever its
         * last packet does; with RESOURCES the chain stays the miniport's
         * and intact. */
        if (!resources)
            NET_BUFFER_LIST_NEXT_NBL(nbl) = NULL;
        /* One reference for the indication itself, dropped at the end, so
         * that early returns of its packets cannot give the NBL back. */
        nbl->ProtocolReserved[0] = (PVOID)(uintptr_t)1;
        nbl->ProtocolReserved[1] = b5;
        nbl->ProtocolReserved[2] = resources ? (PVOID)(uintptr_t)1 : NULL;
        for (PNET_BUFFER nb = NET_BUFFER_LIST_FIRST_NB(nbl); nb; nb = NET_BUFFER_NEXT_NB(nb)) {
            PNDIS_PACKET P = packet_for(p5, nb);
            if (P == NULL) {
                atomic_fetch_add(&p5->p5_rx_dropped, 1);
                CN_WARN_ONCE("%s: condis' receive packet or buffer pool is empty; the rest of "
                             "an indication is returned to the miniport undelivered",
                             p5->p5_name);
                break;
            }
            struct cn_packet *cp = cn_packet_of(P);
            NDIS_SET_PACKET_HEADER_SIZE(P, 0);
            NDIS_SET_PACKET_STATUS(P, resources ? NDIS_STATUS_RESOURCES : NDIS_STATUS_SUCCESS);
            cp->co5_private = nbl;
            cp->flags = RX_BIAS;
            atomic_store(&cp->state, CN_PKT_INDICATED);
            __atomic_add_fetch((uintptr_t *)&nbl->ProtocolReserved[0], 1, __ATOMIC_ACQ_REL);
            UINT keep;
            CN_CALL(p5->p5_name,
                    keep = p5->p5_chars.CoReceivePacketHandler(b5->b5_ctx5, ProtocolVcContext, P));
            if (resources && keep != 0) {
                CN_WARN_ONCE("%s: CoReceivePacketHandler kept a packet indicated with "
                             "NDIS_STATUS_RESOURCES; it must copy the data and return 0",
                             p5->p5_name);
                keep = 0;
            }
            /* Swap the bias for the count the protocol announced. */
            if (__atomic_sub_fetch(&cp->flags, RX_BIAS - keep, __ATOMIC_ACQ_REL) == 0)
                packet_release(P);
        }
        nbl_release(nbl);
    }
}

VOID NdisReturnPackets(PNDIS_PACKET *PacketsToReturn, UINT NumberOfPackets)
{
    if (PacketsToReturn == NULL)
        return;
    for (UINT i = 0; i < NumberOfPackets; i++) {
        PNDIS_PACKET P = PacketsToReturn[i];
        struct cn_packet *cp = cn_packet_check(P);
        if (cp == NULL || atomic_load(&cp->state) != CN_PKT_INDICATED || cp->co5_private == NULL) {
            cn_warn("%s: NdisReturnPackets with %p, which is not a packet indicated to it and "
                    "not yet returned; condis skips it", cn_current_driver(), (void *)P);
            continue;
        }
        uint32_t left = __atomic_sub_fetch(&cp->flags, 1, __ATOMIC_ACQ_REL);
        if (left == 0)
            packet_release(P);
        else if (left > RX_BIAS * 2u)
            cn_warn("%s: NdisReturnPackets more often than CoReceivePacketHandler announced",
                    cn_current_driver());
    }
}
