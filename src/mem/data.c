/*
 * data.c - the data space of a NET_BUFFER: retreat and advance of the data
 * start, NdisGetDataBuffer, copies between NBs, page counts.
 *
 * A retreat that finds enough unused space only moves DataOffset. One that
 * does not chains a new MDL of DataOffsetDelta + DataBackFill bytes in
 * front (the driver's NetAllocateMdl, or condis' own MDL and buffer) with
 * the new bytes at its end, so the new header space is contiguous. When
 * there was unused space in front of the data, the chain must skip it: a
 * condis "splice" MDL stands in for the rest of the MDL the data started
 * in, and remembers the original chain, which comes back unchanged when the
 * new MDL is advanced away. struct cn_nb records these retreats (rt_*).
 *
 * Ownership: the caller owns the NB (and may reshape it) while it owns the
 * NBL it is on. Any thread, IRQL <= DISPATCH_LEVEL. Only a retreat beyond
 * the unused space allocates.
 */
#include <string.h>

#include "cn_mem.h"

/* An NB condis handed out and nobody freed: the trailer is ours. */
static struct cn_nb *nb_check(PNET_BUFFER nb, const char *fn)
{
    if (nb == NULL) {
        cn_warn("%s: NetBuffer is NULL; ignored", fn);
        return NULL;
    }
    struct cn_nb *b = (struct cn_nb *)nb;
    if (__atomic_load_n(&b->cookie, __ATOMIC_ACQUIRE) != CN_NB_COOKIE) {
        cn_warn("%s: NB %p is not an allocated NET_BUFFER from a condis pool; ignored", fn,
                (void *)nb);
        return NULL;
    }
    return b;
}

static inline PUCHAR mdl_va(PMDL m)
{
    return MmGetSystemAddressForMdlSafe(m, NormalPagePriority);
}

/* ---- retreat and advance -------------------------------------------------------------- */

NDIS_STATUS NdisRetreatNetBufferDataStart(PNET_BUFFER NetBuffer, ULONG DataOffsetDelta,
                                          ULONG DataBackFill,
                                          NET_BUFFER_ALLOCATE_MDL_HANDLER AllocateMdlHandler)
{
    static const char fn[] = "NdisRetreatNetBufferDataStart";
    struct cn_nb *b = nb_check(NetBuffer, fn);
    if (b == NULL)
        return NDIS_STATUS_FAILURE;
    PNET_BUFFER nb = NetBuffer;
    if (DataOffsetDelta == 0)
        return NDIS_STATUS_SUCCESS;
    if (nb->DataLength + DataOffsetDelta < DataOffsetDelta) {
        cn_warn("%s: NB %p: DataLength %u + DataOffsetDelta %u overflows", fn, (void *)nb,
                nb->DataLength, DataOffsetDelta);
        return NDIS_STATUS_FAILURE;
    }

    if (nb->DataOffset >= DataOffsetDelta) {
        /* Enough unused space: only the offsets move. */
        nb->DataOffset -= DataOffsetDelta;
        nb->DataLength += DataOffsetDelta;
        cn_nb_seek(nb);
        return NDIS_STATUS_SUCCESS;
    }

    if (b->rt_n >= CN_NB_MAX_RETREATS) {
        cn_warn("%s: NB %p already has %d retreats with new memory outstanding; advance "
                "some first",
                fn, (void *)nb, CN_NB_MAX_RETREATS);
        return NDIS_STATUS_RESOURCES;
    }
    ULONG size = DataOffsetDelta + DataBackFill;
    if (size < DataOffsetDelta) {
        cn_warn("%s: NB %p: DataOffsetDelta %u + DataBackFill %u overflows", fn, (void *)nb,
                DataOffsetDelta, DataBackFill);
        return NDIS_STATUS_FAILURE;
    }

    /* The splice first: it is condis', so failing after it is easy to undo,
     * while an MDL from the driver's handler could not be given back. */
    PMDL splice = NULL;
    if (nb->DataOffset != 0) {
        PMDL cur = nb->CurrentMdl;
        ULONG coff = nb->CurrentMdlOffset;
        if (cur == NULL || coff > cur->ByteCount) {
            cn_warn("%s: NB %p: CurrentMdl/CurrentMdlOffset do not describe the data start "
                    "(NBL-4)",
                    fn, (void *)nb);
            return NDIS_STATUS_FAILURE;
        }
        splice = cn_mdl_alloc(CN_MDL_SPLICE, mdl_va(cur) + coff, cur->ByteCount - coff);
        if (splice == NULL)
            return NDIS_STATUS_RESOURCES;
        splice->MdlFlags |= MDL_PARTIAL;
        splice->Next = cur->Next;
        struct cn_mdl *h = cn_mdl_hdr(splice);
        h->md_saved_head = nb->MdlChain;
        h->md_saved_offset = nb->DataOffset;
    }

    PMDL m;
    if (AllocateMdlHandler != NULL) {
        ULONG got = size;
        m = AllocateMdlHandler(&got);
        if (m != NULL && m->ByteCount < DataOffsetDelta) {
            cn_warn("%s: NB %p: the NetAllocateMdl handler returned an MDL of %u bytes for "
                    "a request of %u; it is not used (and not freed)",
                    fn, (void *)nb, m->ByteCount, size);
            m = NULL;
        }
    } else {
        m = cn_mdl_alloc(CN_MDL_RETREAT, NULL, size);
    }
    if (m == NULL) {
        if (splice != NULL)
            cn_mdl_release(splice);
        return NDIS_STATUS_RESOURCES;
    }

    ULONG start = m->ByteCount - DataOffsetDelta;
    m->Next = splice != NULL ? splice : nb->MdlChain;
    nb->MdlChain = nb->CurrentMdl = m;
    nb->DataOffset = nb->CurrentMdlOffset = start;
    nb->DataLength += DataOffsetDelta;
    b->rt_driver = (b->rt_driver << 1) | (AllocateMdlHandler != NULL);
    b->rt_splice = (b->rt_splice << 1) | (splice != NULL);
    b->rt_n++;
    return NDIS_STATUS_SUCCESS;
}

/*
 * Free the retreat MDLs at the front of the chain: those the data no longer
 * uses, or all of them (the NB is being freed). Each splice found behind
 * one gives the original chain back.
 */
static void unwind(struct cn_nb *b, bool all, NET_BUFFER_FREE_MDL_HANDLER free_handler,
                   bool warn)
{
    PNET_BUFFER nb = &b->nb;
    while (b->rt_n != 0) {
        PMDL m = nb->MdlChain;
        if (m == NULL)
            goto lost;
        if (!all && nb->DataOffset < m->ByteCount)
            break; /* still holds data */
        bool drv = b->rt_driver & 1, spl = b->rt_splice & 1;
        if (!drv) {
            struct cn_mdl *h = cn_mdl_hdr(m);
            if (h->md_cookie != CN_MDL_COOKIE || h->md_kind != CN_MDL_RETREAT)
                goto lost;
        }
        PMDL next = m->Next;
        if (spl) {
            struct cn_mdl *sh = next != NULL ? cn_mdl_hdr(next) : NULL;
            if (sh == NULL || sh->md_cookie != CN_MDL_COOKIE || sh->md_kind != CN_MDL_SPLICE)
                goto lost;
        }
        nb->MdlChain = next;
        nb->DataOffset = nb->DataOffset > m->ByteCount ? nb->DataOffset - m->ByteCount : 0;
        b->rt_driver >>= 1;
        b->rt_splice >>= 1;
        b->rt_n--;
        if (!drv) {
            cn_mdl_release(m);
        } else if (free_handler != NULL) {
            m->Next = NULL;
            free_handler(m);
        } else if (warn) {
            cn_warn("NB %p: an MDL from the driver's NetAllocateMdl handler was advanced "
                    "away (or the NB freed) without a NetFreeMdl handler; it is dropped, "
                    "not freed",
                    (void *)nb);
        }
        if (spl) {
            /* The data offset in the splice is the same distance past the
             * point where the data started before the retreat. */
            struct cn_mdl *sh = cn_mdl_hdr(next);
            nb->MdlChain = sh->md_saved_head;
            nb->DataOffset += sh->md_saved_offset;
            cn_mdl_release(next);
        }
    }
    return;

lost:
    if (warn)
        cn_warn("NB %p: the MDL chain was changed while %u retreat(s) with new memory were "
                "outstanding; condis forgets them",
                (void *)nb, b->rt_n);
    b->rt_n = 0;
    b->rt_driver = b->rt_splice = 0;
}

void cn_nb_unwind(struct cn_nb *b, NET_BUFFER_FREE_MDL_HANDLER free_handler, bool warn)
{
    unwind(b, true, free_handler, warn);
}

VOID NdisAdvanceNetBufferDataStart(PNET_BUFFER NetBuffer, ULONG DataOffsetDelta, BOOLEAN FreeMdl,
                                   NET_BUFFER_FREE_MDL_HANDLER FreeMdlHandler)
{
    static const char fn[] = "NdisAdvanceNetBufferDataStart";
    struct cn_nb *b = nb_check(NetBuffer, fn);
    if (b == NULL)
        return;
    PNET_BUFFER nb = NetBuffer;
    if (DataOffsetDelta > nb->DataLength) {
        cn_warn("%s: NB %p: DataOffsetDelta %u is more than DataLength %u; ignored", fn,
                (void *)nb, DataOffsetDelta, nb->DataLength);
        return;
    }
    nb->DataOffset += DataOffsetDelta;
    nb->DataLength -= DataOffsetDelta;
    if (FreeMdl && b->rt_n != 0)
        unwind(b, false, FreeMdlHandler, true);
    if (!cn_nb_seek(nb))
        cn_warn("%s: NB %p: DataOffset %u lies beyond the MDL chain (NBL-4)", fn, (void *)nb,
                nb->DataOffset);
}

NDIS_STATUS NdisRetreatNetBufferListDataStart(PNET_BUFFER_LIST NetBufferList,
                                              ULONG DataOffsetDelta, ULONG DataBackFill,
                                              NET_BUFFER_ALLOCATE_MDL_HANDLER AllocateMdlHandler,
                                              NET_BUFFER_FREE_MDL_HANDLER FreeMdlHandler)
{
    if (NetBufferList == NULL) {
        cn_warn("NdisRetreatNetBufferListDataStart: NetBufferList is NULL");
        return NDIS_STATUS_FAILURE;
    }
    for (PNET_BUFFER nb = NetBufferList->FirstNetBuffer; nb != NULL; nb = nb->Next) {
        NDIS_STATUS st = NdisRetreatNetBufferDataStart(nb, DataOffsetDelta, DataBackFill,
                                                       AllocateMdlHandler);
        if (st != NDIS_STATUS_SUCCESS) {
            /* All or nothing: give back what the NBs before this one got. */
            for (PNET_BUFFER u = NetBufferList->FirstNetBuffer; u != nb; u = u->Next)
                NdisAdvanceNetBufferDataStart(u, DataOffsetDelta, TRUE, FreeMdlHandler);
            return st;
        }
    }
    return NDIS_STATUS_SUCCESS;
}

VOID NdisAdvanceNetBufferListDataStart(PNET_BUFFER_LIST NetBufferList, ULONG DataOffsetDelta,
                                       BOOLEAN FreeMdl,
                                       NET_BUFFER_FREE_MDL_HANDLER FreeMdlMdlHandler)
{
    if (NetBufferList == NULL) {
        cn_warn("NdisAdvanceNetBufferListDataStart: NetBufferList is NULL; ignored");
        return;
    }
    for (PNET_BUFFER nb = NetBufferList->FirstNetBuffer; nb != NULL; nb = nb->Next)
        NdisAdvanceNetBufferDataStart(nb, DataOffsetDelta, FreeMdl, FreeMdlMdlHandler);
}

VOID NdisAdjustNetBufferCurrentMdl(PNET_BUFFER NetBuffer)
{
    if (NetBuffer == NULL) {
        cn_warn("NdisAdjustNetBufferCurrentMdl: NetBuffer is NULL; ignored");
        return;
    }
    if (!cn_nb_seek(NetBuffer))
        cn_warn("NdisAdjustNetBufferCurrentMdl: NB %p: DataOffset %u lies beyond the MDL "
                "chain (NBL-4)",
                (void *)NetBuffer, NetBuffer->DataOffset);
}

/* ---- reading the data ------------------------------------------------------------------ */

/* The position `skip` bytes past the data start: MDL and offset in it, with
 * the offset inside the MDL (never at its end unless it is the last). */
static PMDL data_pos(const NET_BUFFER *nb, ULONG skip, ULONG *off)
{
    PMDL m = nb->CurrentMdl;
    ULONG o = nb->CurrentMdlOffset + skip;
    while (m != NULL && o >= m->ByteCount) {
        if (m->Next == NULL && o == m->ByteCount)
            break;
        o -= m->ByteCount;
        m = m->Next;
    }
    *off = o;
    return m;
}

/* Copy len bytes starting at (m, off) to dst; the bytes copied. */
static ULONG gather(PMDL m, ULONG off, PUCHAR dst, ULONG len)
{
    ULONG done = 0;
    while (m != NULL && done < len) {
        if (off < m->ByteCount) {
            ULONG n = m->ByteCount - off;
            if (n > len - done)
                n = len - done;
            memcpy(dst + done, mdl_va(m) + off, n);
            done += n;
        }
        off = 0;
        m = m->Next;
    }
    return done;
}

PVOID NdisGetDataBuffer(PNET_BUFFER NetBuffer, ULONG BytesNeeded, PVOID Storage,
                        UINT AlignMultiple, UINT AlignOffset)
{
    if (NetBuffer == NULL) {
        cn_warn("NdisGetDataBuffer: NetBuffer is NULL");
        return NULL;
    }
    if (BytesNeeded > NetBuffer->DataLength)
        return NULL;
    if (AlignMultiple == 0 || (AlignMultiple & (AlignMultiple - 1)) != 0) {
        cn_warn("NdisGetDataBuffer: AlignMultiple %u is not a power of two; taken as 1",
                AlignMultiple);
        AlignMultiple = 1;
    }
    ULONG off;
    PMDL m = data_pos(NetBuffer, 0, &off);
    if (m == NULL)
        return BytesNeeded == 0 ? Storage : NULL;
    PUCHAR p = mdl_va(m) + off;
    if (m->ByteCount - off >= BytesNeeded &&
        ((ULONG_PTR)p & (AlignMultiple - 1)) == (AlignOffset & (AlignMultiple - 1)))
        return p;
    if (Storage == NULL)
        return NULL;
    if (gather(m, off, Storage, BytesNeeded) != BytesNeeded) {
        cn_warn("NdisGetDataBuffer: NB %p: DataLength %u is more than its MDL chain holds "
                "(NBL-4)",
                (void *)NetBuffer, NetBuffer->DataLength);
        return NULL;
    }
    return Storage;
}

NDIS_STATUS NdisCopyFromNetBufferToNetBuffer(PNET_BUFFER Destination, ULONG DestinationOffset,
                                             ULONG BytesToCopy, const NET_BUFFER *Source,
                                             ULONG SourceOffset, PULONG BytesCopied)
{
    if (BytesCopied == NULL) {
        cn_warn("NdisCopyFromNetBufferToNetBuffer: BytesCopied is NULL");
        return NDIS_STATUS_FAILURE;
    }
    *BytesCopied = 0;
    if (Destination == NULL || Source == NULL) {
        cn_warn("NdisCopyFromNetBufferToNetBuffer: a NET_BUFFER is NULL");
        return NDIS_STATUS_FAILURE;
    }
    if (SourceOffset >= Source->DataLength)
        return NDIS_STATUS_SUCCESS;
    ULONG left = Source->DataLength - SourceOffset;
    if (BytesToCopy > left)
        BytesToCopy = left;

    ULONG soff, doff;
    PMDL s = data_pos(Source, SourceOffset, &soff);
    PMDL d = data_pos(Destination, DestinationOffset, &doff);
    ULONG done = 0;
    /* The destination's room is its MDL chain, not its DataLength: the
     * caller sets the destination's lengths afterwards. */
    while (done < BytesToCopy && s != NULL && d != NULL) {
        if (soff >= s->ByteCount) {
            s = s->Next;
            soff = 0;
            continue;
        }
        if (doff >= d->ByteCount) {
            d = d->Next;
            doff = 0;
            continue;
        }
        ULONG n = s->ByteCount - soff;
        if (n > d->ByteCount - doff)
            n = d->ByteCount - doff;
        if (n > BytesToCopy - done)
            n = BytesToCopy - done;
        memmove(mdl_va(d) + doff, mdl_va(s) + soff, n);
        soff += n;
        doff += n;
        done += n;
    }
    *BytesCopied = done;
    return NDIS_STATUS_SUCCESS;
}

ULONG NdisQueryNetBufferPhysicalCount(PNET_BUFFER NetBuffer)
{
    if (NetBuffer == NULL) {
        cn_warn("NdisQueryNetBufferPhysicalCount: NetBuffer is NULL");
        return 0;
    }
    ULONG pages = 0, left = NetBuffer->DataLength;
    PMDL m = NetBuffer->CurrentMdl;
    ULONG off = NetBuffer->CurrentMdlOffset;
    while (m != NULL && left != 0) {
        if (off < m->ByteCount) {
            ULONG n = m->ByteCount - off;
            if (n > left)
                n = left;
            pages += ADDRESS_AND_SIZE_TO_SPAN_PAGES(mdl_va(m) + off, n);
            left -= n;
        }
        off = 0;
        m = m->Next;
    }
    return pages;
}
