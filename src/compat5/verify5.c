/*
 * verify5.c - the verifier's checks on NDIS 5.x packets: OWN-1 and PKT-4
 * (the packet, its buffer chain, data, OOB block and media-specific block
 * unchanged while in flight), PKT-2 (a zeroed descriptor found and
 * repaired at its next use), OWN-4 for the packets condis hands a 5.x
 * miniport. Only reached with the gate open (CN_VERIFYING).
 */
#include <stdio.h>
#include <string.h>

#include "cn_proto5.h"

const char *cn_packet_text(PNDIS_PACKET P, char *buf, size_t len)
{
    struct cn_packet *cp = cn_packet_check(P);
    if (cp == NULL)
        snprintf(buf, len, "packet %p (not an allocated packet of a live pool)", (void *)P);
    else
        snprintf(buf, len, "packet %p of a packet pool of %s", (void *)P,
                 cp->pool->pp_pool.p_owner);
    return buf;
}

struct cn_vshadow *cn_packet_shadow(struct cn_packet *cp)
{
    return cp ? cn_vshadow_get(&cp->vshadow) : NULL;
}

/* ---- PKT-2 ------------------------------------------------------------------------- */

struct find {
    PNDIS_PACKET f_packet;
    struct cn_packet *f_found;
};

static void find_in_pool(struct cn_pool *p, void *elem, void *arg)
{
    (void)p;
    struct find *f = arg;
    struct cn_packet *cp = elem;
    if (&cp->packet == f->f_packet)
        f->f_found = cp;
}

static void find_pool(struct cn_pool *p, void *arg)
{
    struct find *f = arg;
    if (f->f_found == NULL)
        cn_pool_each(p, find_in_pool, arg);
}

struct cn_packet *cn_packet_recover(PNDIS_PACKET P, const char *call)
{
    if (!CN_VERIFYING || P == NULL)
        return NULL;
    /* Only a pointer that is a descriptor of a live packet pool is looked
     * at: anything else is not condis' and is never dereferenced. */
    struct find f = { .f_packet = P };
    cn_mem_each_pool(CN_POOL_PACKET, find_pool, &f);
    struct cn_packet *cp = f.f_found;
    if (cp == NULL || __atomic_load_n(&cp->cookie, __ATOMIC_ACQUIRE) != CN_PACKET_COOKIE)
        return NULL;
    struct cn_packet_pool *pp = cp->pool;
    char obj[160];
    snprintf(obj, sizeof(obj), "packet %p of a packet pool of %s", (void *)P,
             pp->pp_pool.p_owner);
    cn_violation(CN_PKT2, NULL, call, obj, cn_packet_shadow(cp),
                 "the packet's NDIS_PACKET header was zeroed or overwritten (Private.Pool %p, "
                 "NdisPacketOobOffset %u); its buffer chain is lost. condis restores the "
                 "header it needs",
                 P->Private.Pool, (unsigned)P->Private.NdisPacketOobOffset);
    P->Private.Pool = pp->pp_pool.p_handle;
    P->Private.NdisPacketOobOffset = pp->pp_oob_off;
    P->Private.NdisPacketFlags |= fPACKET_ALLOCATED_BY_NDIS;
    P->Private.ValidCounts = FALSE;
    if (P->Private.Head == NULL)
        P->Private.Tail = NULL;
    return cp;
}

/* ---- OWN-1 and PKT-4 ----------------------------------------------------------------- */

/* The packet as its protocol described it: chain and buffer fields, OOB
 * block without Status (NDIS' while in flight); the bytes; the media block. */
static void sum_packet(PNDIS_PACKET P, struct cn_vsum *out, uint64_t *media)
{
    uint64_t data = 1;
    uint64_t desc = cn_vsum_mdls(P->Private.Head, &data);
    PNDIS_PACKET_OOB_DATA oob = NDIS_OOB_DATA_FROM_PACKET(P);
    desc = cn_vsum_bytes(desc, &P->Private.Head, sizeof(P->Private.Head));
    desc = cn_vsum_bytes(desc, &oob->TimeToSend, sizeof(oob->TimeToSend));
    desc = cn_vsum_bytes(desc, &oob->TimeSent, sizeof(oob->TimeSent));
    desc = cn_vsum_bytes(desc, &oob->HeaderSize, sizeof(oob->HeaderSize));
    desc = cn_vsum_bytes(desc, &oob->SizeMediaSpecificInfo, sizeof(oob->SizeMediaSpecificInfo));
    desc = cn_vsum_bytes(desc, &oob->MediaSpecificInformation,
                         sizeof(oob->MediaSpecificInformation));
    out->list = 0;
    out->desc = desc;
    out->data = data;
    *media = 1;
    if (oob->MediaSpecificInformation != NULL && oob->SizeMediaSpecificInfo != 0)
        *media = cn_vsum_bytes(1, oob->MediaSpecificInformation, oob->SizeMediaSpecificInfo);
}

void cn_verify_send5(PNDIS_PACKET P, struct cn_packet *cp, const char *client)
{
    struct cn_vshadow *s = cn_packet_shadow(cp);
    if (s == NULL)
        return;
    struct cn_vsum sum;
    uint64_t media;
    sum_packet(P, &sum, &media);
    s->vs_sum_desc = sum.desc;
    s->vs_sum_data = sum.data;
    s->vs_sum_list = media; /* a packet has no NET_BUFFER list: the slot keeps the media sum */
    s->vs_submitter = client;
    cn_vhist_add(s, CN_EV_SEND, client);
    PNDIS_PACKET_OOB_DATA oob = NDIS_OOB_DATA_FROM_PACKET(P);
    if (oob->MediaSpecificInformation != NULL && oob->SizeMediaSpecificInfo != 0) {
        char obj[160];
        cn_verify_hold(oob->MediaSpecificInformation, oob->SizeMediaSpecificInfo,
                       cn_packet_text(P, obj, sizeof(obj)));
    }
}

void cn_verify_complete5(PNDIS_PACKET P, struct cn_packet *cp, const char *call)
{
    struct cn_vshadow *s = cn_packet_shadow(cp);
    if (s == NULL)
        return;
    struct cn_vsum sum;
    uint64_t media;
    PNDIS_PACKET_OOB_DATA oob = NDIS_OOB_DATA_FROM_PACKET(P);
    void *held = oob->MediaSpecificInformation;
    bool held_valid = held != NULL && oob->SizeMediaSpecificInfo != 0;
    char obj[160];
    cn_packet_text(P, obj, sizeof(obj));
    /* Sum first: the media block may be freed just below. */
    sum_packet(P, &sum, &media);
    void *freed = NULL;
    if (held_valid && cn_verify_release(held, &freed)) {
        /* Freed by the protocol while in flight (reported then, and its
         * bytes not compared): the free is carried out now. */
        NdisFreeMemory(freed, 0, 0);
        held_valid = false;
    }
    if (sum.desc != s->vs_sum_desc || sum.data != s->vs_sum_data)
        cn_violation(CN_OWN1, s->vs_submitter, call, obj, s,
                     "the packet's %s changed while it was in flight (between NdisCoSendPackets "
                     "and its completion)",
                     sum.desc != s->vs_sum_desc ? "buffer chain, buffer descriptors or OOB block"
                                                : "data");
    else if (held_valid && media != s->vs_sum_list)
        cn_violation(CN_PKT4, s->vs_submitter, call, obj, s,
                     "the packet's media-specific information changed while it was in flight");
    cn_vhist_add(s, CN_EV_RETURN, s->vs_submitter);
}

void cn_verify_after_complete5(PNDIS_PACKET P, struct cn_packet *cp, const char *client)
{
    /* Freed in the handler: nothing to check. Still allocated: its header
     * must be intact. */
    if (__atomic_load_n(&cp->cookie, __ATOMIC_ACQUIRE) != CN_PACKET_COOKIE)
        return;
    if (cn_packet_check(P) == NULL) {
        const char *prev = cn_set_current_driver(client);
        cn_packet_recover(P, "CoSendCompleteHandler");
        cn_set_current_driver(prev);
    }
}

/* ---- OWN-4 for a 5.x miniport ------------------------------------------------------ */

_Static_assert(sizeof(((NDIS_PACKET *)0)->MiniportReserved) ==
                   sizeof(((struct cn_vshadow *)0)->vs_mp),
               "OWN-4 keeps a packet's MiniportReserved whole");

void cn_verify_mp5_completed(PNDIS_PACKET P, struct cn_packet *cp, const char *miniport)
{
    struct cn_vshadow *s = cn_packet_shadow(cp);
    if (s == NULL)
        return;
    cn_vhist_add(s, CN_EV_COMPLETE, miniport);
    cn_vmp_keep(s, P->MiniportReserved);
    s->vs_completer = miniport;
    s->vs_mp_valid = true;
}

void cn_verify_mp5_reused(PNDIS_PACKET P, struct cn_packet *cp)
{
    struct cn_vshadow *s = cn_packet_shadow(cp);
    if (s == NULL || !s->vs_mp_valid)
        return;
    s->vs_mp_valid = false;
    if (cn_vmp_same(s, P->MiniportReserved))
        return;
    char obj[160];
    snprintf(obj, sizeof(obj), "packet %p of condis' send pool for %s", (void *)P,
             s->vs_completer ? s->vs_completer : "?");
    cn_violation(CN_OWN4, s->vs_completer, "NdisMCoSendComplete", obj, s,
                 "the packet's MiniportReserved changed after the miniport completed it with "
                 "NdisMCoSendComplete");
}
