/*
 * packet.c - NDIS 5.x packet pools and packet descriptors, and the two
 * chain routines the WDK exports as functions (NdisUnchainBufferAtFront /
 * AtBack). The rest of the chain handling is macros in <ndis/packet.h>.
 *
 * A packet pool is a mem-layer descriptor pool (struct cn_pool) whose
 * descriptors are struct cn_packet, bounded to NumberOfDescriptors plus
 * the overflow descriptors: after warm-up NdisAllocatePacket and
 * NdisFreePacket are a pop and a push on the calling thread's cache.
 *
 * Ownership: a packet belongs to the driver that allocated it until it is
 * sent (the 5.x send path sets its state to CN_PKT_SENDING) and again from
 * its completion on; it may be freed only while idle (OWN-3). The buffer
 * descriptors chained to it belong to their buffer pools' owners and are
 * never freed with the packet. Every function: any thread,
 * IRQL <= DISPATCH_LEVEL, never blocks but on a pool's own mutex.
 */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "cn_compat5.h"

#define ALIGN8(x) (((x) + 7) & ~(size_t)7)

/* 0xFFFF descriptors at most per pool, as on Windows. */
#define PACKET_POOL_MAX 0xFFFFu

/* Where the OOB block starts for a given ProtocolReserved size, or 0 when
 * the offset would not fit NdisPacketOobOffset. */
static size_t oob_offset(UINT reserved)
{
    size_t off = ALIGN8((size_t)FIELD_OFFSET(NDIS_PACKET, ProtocolReserved) + reserved);
    return off > 0xFFF0u ? 0 : off;
}

static size_t packet_size(size_t oob_off)
{
    return oob_off + sizeof(NDIS_PACKET_OOB_DATA) + sizeof(NDIS_PACKET_EXTENSION);
}

struct cn_packet_pool *cn_packet_pool_get(NDIS_HANDLE h, const char *fn)
{
    if (h == NULL) {
        cn_warn("%s: PoolHandle is NULL; refused", fn);
        return NULL;
    }
    struct cn_packet_pool *pp = cn_handle_get(h, CN_H_PACKET_POOL);
    if (pp == NULL)
        cn_warn("%s: PoolHandle %p is not a live packet pool (freed, or another kind of "
                "handle); refused",
                fn, h);
    return pp;
}

static void packet_carve(struct cn_pool *p, void *elem)
{
    struct cn_packet *c = elem;
    c->cookie = CN_PACKET_COOKIE_FREE;
    c->pool = (struct cn_packet_pool *)p;
    atomic_store_explicit(&c->co5_wrap, NULL, memory_order_relaxed);
}

/* ---- pools ------------------------------------------------------------------------- */

VOID NdisAllocatePacketPoolEx(PNDIS_STATUS Status, PNDIS_HANDLE PoolHandle,
                              UINT NumberOfDescriptors, UINT NumberOfOverflowDescriptors,
                              UINT ProtocolReservedLength)
{
    static const char fn[] = "NdisAllocatePacketPoolEx";
    const char *owner = cn_current_driver();
    if (Status == NULL || PoolHandle == NULL) {
        cn_warn("%s (%s): Status or PoolHandle is NULL; nothing allocated", fn, owner);
        if (Status != NULL)
            *Status = NDIS_STATUS_FAILURE;
        return;
    }
    *PoolHandle = NULL;
    if (NumberOfDescriptors > PACKET_POOL_MAX) {
        cn_warn("%s (%s): NumberOfDescriptors %u is more than 0xFFFF; "
                "NDIS_STATUS_RESOURCES",
                fn, owner, NumberOfDescriptors);
        *Status = NDIS_STATUS_RESOURCES;
        return;
    }
    /* The overflow is cut so that the pool holds 0xFFFF at most. */
    if (NumberOfOverflowDescriptors > PACKET_POOL_MAX - NumberOfDescriptors)
        NumberOfOverflowDescriptors = PACKET_POOL_MAX - NumberOfDescriptors;
    size_t off = oob_offset(ProtocolReservedLength);
    if (off == 0) {
        cn_warn("%s (%s): ProtocolReservedLength %u is too large for a packet descriptor; "
                "NDIS_STATUS_RESOURCES",
                fn, owner, ProtocolReservedLength);
        *Status = NDIS_STATUS_RESOURCES;
        return;
    }

    struct cn_packet_pool *pp = cn_pool_struct_alloc();
    if (pp == NULL) {
        *Status = NDIS_STATUS_RESOURCES;
        return;
    }
    pp->pp_reserved = ProtocolReservedLength;
    pp->pp_oob_off = (USHORT)off;
    pp->pp_size = packet_size(off);
    pp->pp_normal = NumberOfDescriptors;
    pp->pp_overflow = NumberOfOverflowDescriptors;
    atomic_store_explicit(&pp->pp_protocol_id, 0, memory_order_relaxed);
    atomic_store_explicit(&pp->pp_irql_warned, false, memory_order_relaxed);
    if (cn_pool_setup(&pp->pp_pool, CN_POOL_PACKET, owner, 0,
                      offsetof(struct cn_packet, packet) + pp->pp_size,
                      offsetof(struct cn_packet, free_next), packet_carve, NULL) != 0) {
        free(pp); /* not registered: nothing else to undo */
        *Status = NDIS_STATUS_RESOURCES;
        return;
    }
    /* A pool of 0 descriptors can hand none out; p_max 0 would mean
     * "unbounded", so NdisAllocatePacket checks that case itself. */
    pp->pp_pool.p_max = (size_t)NumberOfDescriptors + NumberOfOverflowDescriptors;
    NDIS_HANDLE h = cn_handle_alloc(CN_H_PACKET_POOL, pp, owner);
    if (h == NULL) {
        cn_pool_destroy(&pp->pp_pool, true);
        *Status = NDIS_STATUS_RESOURCES;
        return;
    }
    pp->pp_pool.p_handle = h;
    *PoolHandle = h;
    *Status = NDIS_STATUS_SUCCESS;
}

VOID NdisAllocatePacketPool(PNDIS_STATUS Status, PNDIS_HANDLE PoolHandle,
                            UINT NumberOfDescriptors, UINT ProtocolReservedLength)
{
    NdisAllocatePacketPoolEx(Status, PoolHandle, NumberOfDescriptors, 0, ProtocolReservedLength);
}

/* A packet in flight in a pool being freed (OWN-3), counted. */
static void pool_inflight(struct cn_pool *p, void *elem, void *arg)
{
    (void)p;
    struct cn_packet *c = elem;
    if (__atomic_load_n(&c->cookie, __ATOMIC_RELAXED) == CN_PACKET_COOKIE &&
        atomic_load_explicit(&c->state, memory_order_relaxed) == CN_PKT_SENDING)
        ++*(size_t *)arg;
}

VOID NdisFreePacketPool(NDIS_HANDLE PoolHandle)
{
    struct cn_packet_pool *pp = cn_packet_pool_get(PoolHandle, "NdisFreePacketPool");
    if (pp == NULL)
        return;
    size_t out = atomic_load_explicit(&pp->pp_pool.p_out, memory_order_acquire);
    if (out == 0 && cn_pool_destroy(&pp->pp_pool, false) == 0)
        return;
    size_t inflight = 0;
    if (CN_VERIFYING)
        cn_pool_each(&pp->pp_pool, pool_inflight, &inflight);
    char obj[96];
    snprintf(obj, sizeof(obj), "packet pool %p (%s)", PoolHandle, pp->pp_pool.p_owner);
    if (inflight)
        cn_violation(CN_OWN3, pp->pp_pool.p_owner, "NdisFreePacketPool", obj, NULL,
                     "freed a packet pool while %zu of its packets are in flight; the pool was "
                     "not freed", inflight);
    else
        cn_violation(CN_RES2, pp->pp_pool.p_owner, "NdisFreePacketPool", obj, NULL,
                     "freed a packet pool with %zu packet(s) still allocated; free them with "
                     "NdisFreePacket first. The pool was not freed", out ? out : (size_t)1);
}

UINT NdisPacketPoolUsage(NDIS_HANDLE PoolHandle)
{
    struct cn_packet_pool *pp = cn_packet_pool_get(PoolHandle, "NdisPacketPoolUsage");
    if (pp == NULL)
        return 0;
    return (UINT)atomic_load_explicit(&pp->pp_pool.p_out, memory_order_acquire);
}

UINT NdisPacketSize(UINT ProtocolReservedSize)
{
    size_t off = oob_offset(ProtocolReservedSize);
    if (off == 0) {
        cn_warn("NdisPacketSize: ProtocolReservedSize %u is too large for a packet "
                "descriptor; returning 0",
                ProtocolReservedSize);
        return 0;
    }
    return (UINT)packet_size(off);
}

VOID NdisSetPacketPoolProtocolId(NDIS_HANDLE PacketPoolHandle, UINT ProtocolId)
{
    struct cn_packet_pool *pp = cn_packet_pool_get(PacketPoolHandle,
                                                   "NdisSetPacketPoolProtocolId");
    if (pp == NULL)
        return;
    atomic_store_explicit(&pp->pp_protocol_id, ProtocolId & NDIS_FLAGS_PROTOCOL_ID_MASK,
                          memory_order_relaxed);
}

NDIS_HANDLE NdisGetPoolFromPacket(PNDIS_PACKET Packet)
{
    if (Packet == NULL) {
        cn_warn("NdisGetPoolFromPacket: Packet is NULL");
        return NULL;
    }
    return Packet->Private.Pool;
}

/* ---- packets ----------------------------------------------------------------------- */

/* Owner on return: the caller, with an empty chain. */
static void packet_alloc(PNDIS_STATUS Status, PNDIS_PACKET *Packet, NDIS_HANDLE PoolHandle,
                         const char *fn, bool dpr, void *site)
{
    if (Status == NULL || Packet == NULL) {
        cn_warn("%s: Status or Packet is NULL; nothing allocated", fn);
        if (Status != NULL)
            *Status = NDIS_STATUS_FAILURE;
        return;
    }
    *Packet = NULL;
    struct cn_packet_pool *pp = cn_packet_pool_get(PoolHandle, fn);
    if (pp == NULL) {
        *Status = NDIS_STATUS_FAILURE;
        return;
    }
    if (dpr && cn_irql() < DISPATCH_LEVEL &&
        !atomic_exchange_explicit(&pp->pp_irql_warned, true, memory_order_relaxed))
        cn_warn("%s (%s): called below DISPATCH_LEVEL; the Dpr forms are for callers "
                "at DISPATCH_LEVEL (use NdisAllocatePacket/NdisFreePacket). Served anyway.",
                fn, pp->pp_pool.p_owner);
    if (pp->pp_normal + pp->pp_overflow == 0) {
        *Status = NDIS_STATUS_RESOURCES;
        return;
    }
    struct cn_packet *c = cn_pool_get(&pp->pp_pool);
    if (c == NULL) {
        *Status = NDIS_STATUS_RESOURCES; /* every descriptor, overflow included, is out */
        return;
    }
    if (CN_VERIFYING)
        cn_verify_mp5_reused(&c->packet, c); /* before the zeroing below */
    /* The whole public part, OOB block and per-packet information included,
     * is handed out zeroed. */
    memset(&c->packet, 0, pp->pp_size);
    PNDIS_PACKET p = &c->packet;
    p->Private.Pool = pp->pp_pool.p_handle;
    p->Private.Flags = atomic_load_explicit(&pp->pp_protocol_id, memory_order_relaxed);
    p->Private.ValidCounts = FALSE;
    p->Private.NdisPacketFlags = fPACKET_ALLOCATED_BY_NDIS;
    p->Private.NdisPacketOobOffset = pp->pp_oob_off;
    c->flags = 0;
    c->co5_private = NULL;
    atomic_store_explicit(&c->state, CN_PKT_IDLE, memory_order_relaxed);
    __atomic_store_n(&c->cookie, CN_PACKET_COOKIE, __ATOMIC_RELEASE);
    if (CN_VERIFYING) {
        struct cn_vshadow *s = cn_packet_shadow(c);
        if (s != NULL) {
            s->vs_site = site;
            cn_vhist_add(s, CN_EV_ALLOC, cn_current_driver());
        }
    }
    *Packet = p;
    *Status = NDIS_STATUS_SUCCESS;
}

VOID NdisAllocatePacket(PNDIS_STATUS Status, PNDIS_PACKET *Packet, NDIS_HANDLE PoolHandle)
{
    packet_alloc(Status, Packet, PoolHandle, "NdisAllocatePacket", false, __builtin_return_address(0));
}

VOID NdisDprAllocatePacket(PNDIS_STATUS Status, PNDIS_PACKET *Packet, NDIS_HANDLE PoolHandle)
{
    packet_alloc(Status, Packet, PoolHandle, "NdisDprAllocatePacket", true, __builtin_return_address(0));
}

VOID NdisDprAllocatePacketNonInterlocked(PNDIS_STATUS Status, PNDIS_PACKET *Packet,
                                         NDIS_HANDLE PoolHandle)
{
    packet_alloc(Status, Packet, PoolHandle, "NdisDprAllocatePacketNonInterlocked", true, __builtin_return_address(0));
}

/* Owner on entry: the caller; on return the pool, unless refused. */
static void packet_free(PNDIS_PACKET Packet, const char *fn, bool dpr)
{
    if (Packet == NULL) {
        cn_warn("%s: Packet is NULL; ignored", fn);
        return;
    }
    struct cn_packet_pool *pp = cn_handle_get(Packet->Private.Pool, CN_H_PACKET_POOL);
    if (pp == NULL && CN_VERIFYING && cn_packet_recover(Packet, fn) != NULL)
        pp = cn_handle_get(Packet->Private.Pool, CN_H_PACKET_POOL);
    if (pp == NULL) {
        cn_warn("%s: packet %p does not come from a live packet pool (never allocated by "
                "NdisAllocatePacket, its pool was freed, or its Private header was "
                "overwritten - PKT-2: zero the OOB block, never the packet); ignored",
                fn, (void *)Packet);
        return;
    }
    struct cn_packet *c = cn_packet_of(Packet);
    if (c->pool != pp) {
        cn_warn("%s (%s): packet %p names pool %p in Private.Pool but belongs to another "
                "pool (Private was overwritten?); ignored",
                fn, pp->pp_pool.p_owner, (void *)Packet, Packet->Private.Pool);
        return;
    }
    if (dpr && cn_irql() < DISPATCH_LEVEL &&
        !atomic_exchange_explicit(&pp->pp_irql_warned, true, memory_order_relaxed))
        cn_warn("%s (%s): called below DISPATCH_LEVEL; the Dpr forms are for callers "
                "at DISPATCH_LEVEL (use NdisFreePacket). Served anyway.",
                fn, pp->pp_pool.p_owner);
    uint32_t cookie = __atomic_load_n(&c->cookie, __ATOMIC_ACQUIRE);
    if (cookie == CN_PACKET_COOKIE_FREE) {
        cn_warn("%s (%s): packet %p is already free (double free); ignored", fn,
                pp->pp_pool.p_owner, (void *)Packet);
        return;
    }
    if (cookie != CN_PACKET_COOKIE) {
        cn_warn("%s (%s): packet %p has a corrupted condis header (cookie %#x); ignored", fn,
                pp->pp_pool.p_owner, (void *)Packet, cookie);
        return;
    }
    uint32_t st = atomic_load_explicit(&c->state, memory_order_acquire);
    if (st == CN_PKT_SENDING) {
        char obj[160];
        cn_packet_text(Packet, obj, sizeof(obj));
        cn_violation(CN_OWN3, NULL, fn, obj, CN_VERIFYING ? cn_packet_shadow(c) : NULL,
                     "freed a packet that is in flight (sent, not yet completed); condis did "
                     "not free it");
        if (CN_VERIFYING)
            cn_verify_acted_early(cn_packet_shadow(c), fn, obj);
        return;
    }
    if (st != CN_PKT_IDLE) {
        cn_warn("%s (%s): OWN-3: packet %p is in flight (%s); it is not yours to free "
                "until it comes back through %s. Ignored.",
                fn, pp->pp_pool.p_owner, (void *)Packet,
                st == CN_PKT_SENDING ? "sent, not yet completed" : "indicated, not yet returned",
                st == CN_PKT_SENDING ? "ProtocolCoSendComplete" : "NdisReturnPackets");
        return;
    }
    uint32_t want = CN_PACKET_COOKIE;
    if (!__atomic_compare_exchange_n(&c->cookie, &want, CN_PACKET_COOKIE_FREE, false,
                                     __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
        cn_warn("%s (%s): packet %p is already free (double free); ignored", fn,
                pp->pp_pool.p_owner, (void *)Packet);
        return;
    }
    /* Private.Pool is left as it is, so that a later free of the same
     * pointer is recognised as a double free. */
    if (CN_VERIFYING)
        cn_vhist_add(cn_packet_shadow(c), CN_EV_FREE, cn_current_driver());
    c->co5_private = NULL;
    cn_send5_unwrap(c);
    cn_pool_put(&pp->pp_pool, c);
}

VOID NdisFreePacket(PNDIS_PACKET Packet)
{
    packet_free(Packet, "NdisFreePacket", false);
}

VOID NdisDprFreePacket(PNDIS_PACKET Packet)
{
    packet_free(Packet, "NdisDprFreePacket", true);
}

VOID NdisDprFreePacketNonInterlocked(PNDIS_PACKET Packet)
{
    packet_free(Packet, "NdisDprFreePacketNonInterlocked", true);
}

/* ---- chains -------------------------------------------------------------------------- */

/* The WDK's macro, as a function so that the verifier sees it: drop the
 * chain and mark the counts stale, nothing else. Owner: the caller, which
 * must own the packet (OWN-3) and should have unchained what it keeps
 * (PKT-1). */
VOID NdisReinitializePacket(PNDIS_PACKET Packet)
{
    if (Packet == NULL) {
        cn_warn("NdisReinitializePacket: Packet is NULL; ignored");
        return;
    }
    if (CN_VERIFYING) {
        static const char fn[] = "NdisReinitializePacket";
        struct cn_packet *c = cn_packet_check(Packet);
        if (c == NULL)
            c = cn_packet_recover(Packet, fn);
        if (c != NULL) {
            struct cn_vshadow *s = cn_packet_shadow(c);
            char obj[160];
            cn_packet_text(Packet, obj, sizeof(obj));
            if (atomic_load_explicit(&c->state, memory_order_acquire) == CN_PKT_SENDING) {
                cn_violation(CN_OWN3, NULL, fn, obj, s,
                             "reinitialized a packet that is in flight; condis did not do it");
                cn_verify_acted_early(s, fn, obj);
                return;
            }
            if (Packet->Private.Head != NULL) {
                unsigned n = 0;
                char first[256] = "an unknown place";
                for (PNDIS_BUFFER b = Packet->Private.Head; b && n < 65536; b = b->Next, n++)
                    if (n == 0 && cn_mdl_hdr(b)->md_cookie == CN_MDL_COOKIE &&
                        cn_mdl_hdr(b)->md_site != NULL)
                        cn_verify_symbol(cn_mdl_hdr(b)->md_site, first, sizeof(first));
                cn_violation(CN_PKT1, NULL, fn, obj, s,
                             "reinitialized a packet with %u buffer descriptor(s) still chained: "
                             "they are lost to the packet (the first was allocated at %s)",
                             n, first);
            }
            cn_vhist_add(s, CN_EV_REINIT, cn_current_driver());
        }
    }
    Packet->Private.Head = NULL;
    Packet->Private.ValidCounts = FALSE;
}

/* Owner: the caller owns the packet and gets the descriptor back. */
VOID NdisUnchainBufferAtFront(PNDIS_PACKET Packet, PNDIS_BUFFER *Buffer)
{
    if (Packet == NULL || Buffer == NULL) {
        cn_warn("NdisUnchainBufferAtFront: Packet or Buffer is NULL; ignored");
        if (Buffer != NULL)
            *Buffer = NULL;
        return;
    }
    /* The chain is empty exactly when Head is NULL; Tail may be stale. */
    PNDIS_BUFFER b = Packet->Private.Head;
    if (b != NULL) {
        Packet->Private.Head = b->Next;
        b->Next = NULL;
        Packet->Private.ValidCounts = FALSE;
    }
    *Buffer = b;
}

VOID NdisUnchainBufferAtBack(PNDIS_PACKET Packet, PNDIS_BUFFER *Buffer)
{
    if (Packet == NULL || Buffer == NULL) {
        cn_warn("NdisUnchainBufferAtBack: Packet or Buffer is NULL; ignored");
        if (Buffer != NULL)
            *Buffer = NULL;
        return;
    }
    PNDIS_BUFFER b = Packet->Private.Head;
    if (b == NULL) {
        *Buffer = NULL; /* empty: a stale Tail is not looked at */
        return;
    }
    /* Walk the chain rather than trust Tail: a driver may have linked
     * descriptors by hand (NDIS_BUFFER_LINKAGE) without
     * NdisRecalculatePacketCounts. On a consistent packet both agree. */
    PNDIS_BUFFER prev = NULL;
    while (b->Next != NULL) {
        prev = b;
        b = b->Next;
    }
    if (prev == NULL) {
        Packet->Private.Head = NULL;
    } else {
        prev->Next = NULL;
        Packet->Private.Tail = prev;
    }
    Packet->Private.ValidCounts = FALSE;
    *Buffer = b;
}

/* ---- checks for the other layers ------------------------------------------------------- */

struct cn_packet *cn_packet_check(PNDIS_PACKET Packet)
{
    if (Packet == NULL)
        return NULL;
    struct cn_packet_pool *pp = cn_handle_get(Packet->Private.Pool, CN_H_PACKET_POOL);
    if (pp == NULL)
        return NULL;
    struct cn_packet *c = cn_packet_of(Packet);
    if (c->pool != pp || __atomic_load_n(&c->cookie, __ATOMIC_ACQUIRE) != CN_PACKET_COOKIE)
        return NULL;
    return c;
}

const char *cn_packet_owner(PNDIS_PACKET Packet)
{
    if (Packet == NULL || cn_handle_type(Packet->Private.Pool) != CN_H_PACKET_POOL)
        return "?";
    const char *o = cn_handle_owner(Packet->Private.Pool);
    return o ? o : "?";
}
