/*
 * cn_compat5.h - condis' internal view of NDIS 5.x packet descriptors,
 * buffer descriptors and their pools (compat5/packet.c, compat5/buffer.c).
 *
 * Both kinds of pool are generic descriptor pools of the mem layer
 * (struct cn_pool: slabs, per-thread caches, the registry that leak
 * reports and cn_mem_outstanding walk), bounded by the number of
 * descriptors the driver asked for (p_max).
 *
 * A packet descriptor is a struct cn_packet: condis' header, then the
 * NDIS_PACKET with the pool's ProtocolReservedLength bytes of
 * ProtocolReserved, then the OOB block and the per-packet information at
 * Private.NdisPacketOobOffset. condis' bookkeeping lives only in the header,
 * never in a field a driver owns (ProtocolReserved, MiniportReserved...), so
 * a driver that overruns a field it owns cannot reach it either. Private
 * is NDIS' (condis'): Private.Pool holds the pool's handle.
 *
 * A buffer descriptor (NDIS_BUFFER) is an MDL with the mem layer's struct
 * cn_mdl header, of kind CN_MDL_BUFFER, whose md_pool is its buffer pool.
 */
#ifndef CN_COMPAT5_H
#define CN_COMPAT5_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <ndis.h>

#include "../mem/cn_mem.h"

#define CN_PACKET_COOKIE 0x504b5421u      /* "PKT!" while allocated */
#define CN_PACKET_COOKIE_FREE 0x706b742du /* "pkt-" while in its pool */

/* Where a packet is in the data path; the same values and meaning as
 * enum cn_nbl_state. Written by the 5.x send path; the pool refuses to
 * free a packet that is not idle (OWN-3). */
enum cn_packet_state {
    CN_PKT_IDLE = CN_NBL_IDLE,           /* owned by the driver that allocated it */
    CN_PKT_SENDING = CN_NBL_SENDING,     /* between NdisCoSendPackets and completion */
    CN_PKT_INDICATED = CN_NBL_INDICATED, /* indicated up, not yet returned */
};

struct cn_packet_pool;

struct cn_packet {
    uint32_t cookie;                /* CN_PACKET_COOKIE / CN_PACKET_COOKIE_FREE */
    uint32_t flags;                 /* reserved for the 5.x send path */
    struct cn_packet_pool *pool;    /* owning pool */
    struct cn_packet *free_next;    /* link while in the pool's free list */
    _Atomic uint32_t state;         /* enum cn_packet_state */
    uint32_t pad;
    void *co5_private;              /* the 5.x send path's (its NBL, ...) */
    /* The wrapper NBL the 5.x send path keeps with the packet between its
     * sends (NULL: none yet); released with the packet (send5.c). */
    PNET_BUFFER_LIST _Atomic co5_wrap;
    void *_Atomic vshadow;          /* the verifier's struct cn_vshadow, once it looked */
    NDIS_PACKET packet;             /* what drivers see; last: ProtocolReserved runs on */
};

struct cn_packet_pool {
    struct cn_pool pp_pool;
    UINT pp_reserved;               /* ProtocolReservedLength */
    USHORT pp_oob_off;              /* Private.NdisPacketOobOffset of its packets */
    size_t pp_size;                 /* bytes from the NDIS_PACKET to the end of
                                       its per-packet information */
    UINT pp_normal;                 /* NumberOfDescriptors */
    UINT pp_overflow;               /* NumberOfOverflowDescriptors (after capping) */
    _Atomic UINT pp_protocol_id;    /* NdisSetPacketPoolProtocolId */
    _Atomic bool pp_irql_warned;    /* a Dpr-at-PASSIVE warning was given */
};

struct cn_buffer_pool {
    struct cn_pool bp_pool;
    UINT bp_count;                  /* NumberOfDescriptors */
};

_Static_assert(sizeof(struct cn_packet_pool) <= sizeof(struct cn_pool) + CN_POOL_EXTRA_MAX,
               "packet pool fits cn_pool_struct_alloc");
_Static_assert(sizeof(struct cn_buffer_pool) <= sizeof(struct cn_pool) + CN_POOL_EXTRA_MAX,
               "buffer pool fits cn_pool_struct_alloc");

static inline struct cn_packet *cn_packet_of(PNDIS_PACKET p)
{
    return CONTAINING_RECORD(p, struct cn_packet, packet);
}

/* The header of a packet if it came from a live condis packet pool and is
 * allocated, else NULL (never allocated by condis, already freed, or its
 * Private.Pool overwritten, e.g. by zeroing the packet: PKT-2). O(1); reads
 * nothing in front of Packet unless Private.Pool is a live packet pool. */
struct cn_packet *cn_packet_check(PNDIS_PACKET Packet);

/* cn_packet_check over an array of packets: as cn_nbl_check_walk, the
 * last pool handle found live stands for the next packet of that pool. */
struct cn_packet_walk {
    NDIS_HANDLE pw_handle;
    const void *pw_pool;
};

static inline struct cn_packet *cn_packet_check_walk(struct cn_packet_walk *w, PNDIS_PACKET P)
{
    if (__builtin_expect(P == NULL || w->pw_handle == NULL || P->Private.Pool != w->pw_handle, 0)) {
        struct cn_packet *c = cn_packet_check(P);
        if (c != NULL) {
            w->pw_handle = P->Private.Pool;
            w->pw_pool = c->pool;
        }
        return c;
    }
    struct cn_packet *c = cn_packet_of(P);
    if (__builtin_expect(c->pool != w->pw_pool ||
                             __atomic_load_n(&c->cookie, __ATOMIC_ACQUIRE) != CN_PACKET_COOKIE, 0))
        return NULL;
    return c;
}

/* The 5.x send path lets go of the wrapper NBL it kept with a packet that is
 * being freed (send5.c). */
void cn_send5_unwrap(struct cn_packet *cp);

/* Tests only: when set, NdisCoSendPackets calls it once its VC is looked up
 * and its packets are wrapped, just before it hands them on; a test deletes
 * the VC there, as another thread could at that moment. */
extern void (*cn_send5_before_send_hook)(NDIS_HANDLE NdisVcHandle);

/* The driver that allocated the packet's pool, or "?". */
const char *cn_packet_owner(PNDIS_PACKET Packet);

/* The pool of a handle, or NULL with a warning naming fn. */
struct cn_packet_pool *cn_packet_pool_get(NDIS_HANDLE h, const char *fn);
struct cn_buffer_pool *cn_buffer_pool_get(NDIS_HANDLE h, const char *fn);

/* ---- the verifier's view of packets (verify5.c; gate open only) --------- */

/* "packet 0x... of pool (owner)" for a finding. */
const char *cn_packet_text(PNDIS_PACKET P, char *buf, size_t len);
/* PKT-2: P is not a live packet by its header (cn_packet_check failed).
 * If it is an allocated condis packet whose NDIS_PACKET was zeroed or
 * overwritten, report it, repair the header condis needs (Private.Pool,
 * the OOB offset; the chain is lost) and return it; else NULL. */
struct cn_packet *cn_packet_recover(PNDIS_PACKET P, const char *call);
/* The shadow of a packet, created. */
struct cn_vshadow *cn_packet_shadow(struct cn_packet *cp);
/* NdisCoSendPackets is taking P (state already SENDING): snapshot for
 * OWN-1/PKT-4, the in-flight status, the media block held. */
void cn_verify_send5(PNDIS_PACKET P, struct cn_packet *cp, const char *client);
/* P is going back to its protocol: OWN-1/PKT-4 against the snapshot, the
 * media block released (and freed if the protocol freed it meanwhile). */
void cn_verify_complete5(PNDIS_PACKET P, struct cn_packet *cp, const char *call);
/* After the protocol's CoSendCompleteHandler returned: a packet it kept
 * must still have its header (PKT-2, caught where it happens). */
void cn_verify_after_complete5(PNDIS_PACKET P, struct cn_packet *cp, const char *client);
/* OWN-4 for packets condis gives a 5.x miniport: the miniport's fields at
 * completion, checked when the packet is handed out again. */
void cn_verify_mp5_completed(PNDIS_PACKET P, struct cn_packet *cp, const char *miniport);
void cn_verify_mp5_reused(PNDIS_PACKET P, struct cn_packet *cp);

#endif /* CN_COMPAT5_H */
