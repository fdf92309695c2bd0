/*
 * clone.c - NdisAllocateCloneNetBufferList / NdisFreeCloneNetBufferList.
 *
 * A clone is an NBL of the given (or the original's) NBL pool with one new
 * NB per NB of the original, each describing the original's used data
 * space: through the original MDLs (NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS) or
 * through new condis MDLs over the same buffers. Nothing is copied.
 *
 * Ownership: the caller owns the clone; the original and its buffers must
 * stay valid until the clone is freed. The caller keeps the parent's
 * ChildRefCount. Any thread, IRQL <= DISPATCH_LEVEL.
 */
#include <string.h>

#include "cn_mem.h"

/* The NBs of a clone under construction or being freed. */
static void clone_nbs_free(PNET_BUFFER nb)
{
    while (nb != NULL) {
        PNET_BUFFER next = nb->Next;
        struct cn_nb *b = (struct cn_nb *)nb;
        uint32_t want = CN_NB_COOKIE;
        if ((b->flags & CN_NBF_CLONE) &&
            __atomic_compare_exchange_n(&b->cookie, &want, CN_NB_COOKIE_FREE, false,
                                        __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
            cn_nb_release(b);
        else
            cn_warn("NdisFreeCloneNetBufferList: NB %p on the clone is not one the clone "
                    "came with (or was freed already); left alone",
                    (void *)nb);
        nb = next;
    }
}

/* New MDLs describing DataLength bytes from (CurrentMdl, CurrentMdlOffset). */
static PMDL clone_mdls(PNET_BUFFER orig, bool *ok)
{
    PMDL head = NULL, *tail = &head;
    PMDL m = orig->CurrentMdl;
    ULONG off = orig->CurrentMdlOffset;
    ULONG left = orig->DataLength;
    *ok = true;
    while (left != 0 && m != NULL) {
        if (off < m->ByteCount) {
            ULONG take = m->ByteCount - off;
            if (take > left)
                take = left;
            PMDL n = cn_mdl_alloc(CN_MDL_CLONE,
                                  (char *)MmGetSystemAddressForMdlSafe(m, NormalPagePriority) + off,
                                  take);
            if (n == NULL)
                goto fail;
            n->MdlFlags |= MDL_PARTIAL;
            *tail = n;
            tail = &n->Next;
            left -= take;
        }
        off = 0;
        m = m->Next;
    }
    if (left == 0)
        return head;
    cn_warn("NdisAllocateCloneNetBufferList: an NB of the original has DataLength %u but its "
            "MDL chain holds %u byte(s) fewer (NBL-4); returning NULL",
            orig->DataLength, left);
fail:
    while (head != NULL) {
        PMDL next = head->Next;
        cn_mdl_release(head);
        head = next;
    }
    *ok = false;
    return NULL;
}

PNET_BUFFER_LIST NdisAllocateCloneNetBufferList(PNET_BUFFER_LIST OriginalNetBufferList,
                                                NDIS_HANDLE NetBufferListPoolHandle,
                                                NDIS_HANDLE NetBufferPoolHandle,
                                                ULONG AllocateCloneFlags)
{
    static const char fn[] = "NdisAllocateCloneNetBufferList";
    struct cn_nbl *orig = cn_nbl_check(OriginalNetBufferList);
    if (orig == NULL) {
        cn_warn("%s: the original NBL %p is not an allocated NBL from a live pool; returning "
                "NULL",
                fn, (void *)OriginalNetBufferList);
        return NULL;
    }
    struct cn_nbl_pool *np = orig->pool;
    if (NetBufferListPoolHandle != NULL &&
        (np = cn_nbl_pool_get(NetBufferListPoolHandle, fn)) == NULL)
        return NULL;
    struct cn_nb_pool *bp = NetBufferPoolHandle != NULL ? cn_nb_pool_get(NetBufferPoolHandle, fn)
                                                        : cn_nb_pool_internal();
    if (bp == NULL)
        return NULL;
    bool orig_mdls = (AllocateCloneFlags & NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS) != 0;

    struct cn_nbl *c = cn_nbl_get(np);
    if (c == NULL)
        return NULL;
    c->flags = CN_NBLF_CLONE | (orig_mdls ? CN_NBLF_CLONE_ORIG_MDLS : 0);
    c->nbl.ParentNetBufferList = OriginalNetBufferList;

    PNET_BUFFER *tail = &c->nbl.FirstNetBuffer;
    for (PNET_BUFFER o = OriginalNetBufferList->FirstNetBuffer; o != NULL; o = o->Next) {
        struct cn_nb *b = cn_nb_get(bp);
        if (b == NULL)
            goto fail;
        b->flags = CN_NBF_CLONE;
        PNET_BUFFER nb = &b->nb;
        *tail = nb;
        tail = &nb->Next;
        nb->DataLength = o->DataLength;
        nb->ChecksumBias = o->ChecksumBias;
        nb->DataPhysicalAddress = o->DataPhysicalAddress;
        if (orig_mdls) {
            /* Start at the MDL the data starts in; the bytes in front of it
             * in that MDL are the clone's unused space. */
            nb->MdlChain = nb->CurrentMdl = o->CurrentMdl;
            nb->DataOffset = nb->CurrentMdlOffset = o->CurrentMdlOffset;
        } else {
            bool ok;
            PMDL chain = clone_mdls(o, &ok);
            if (!ok)
                goto fail;
            b->flags |= CN_NBF_CLONE_MDLS;
            nb->MdlChain = nb->CurrentMdl = chain;
        }
    }
    return &c->nbl;

fail:
    clone_nbs_free(c->nbl.FirstNetBuffer);
    c->nbl.FirstNetBuffer = NULL;
    __atomic_store_n(&c->cookie, CN_NBL_COOKIE_FREE, __ATOMIC_RELEASE);
    c->flags = 0;
    cn_pool_put(&np->np_pool, c);
    return NULL;
}

void cn_clone_put(struct cn_nbl *c)
{
    clone_nbs_free(c->nbl.FirstNetBuffer);
    c->nbl.FirstNetBuffer = NULL;
    cn_ctx_detach(c, true);
    c->flags = 0;
    cn_pool_put(&c->pool->np_pool, c);
}

VOID NdisFreeCloneNetBufferList(PNET_BUFFER_LIST CloneNetBufferList, ULONG FreeCloneFlags)
{
    static const char fn[] = "NdisFreeCloneNetBufferList";
    struct cn_nbl *c = cn_nbl_take_for_free(CloneNetBufferList, fn);
    if (c == NULL)
        return;
    if (!(c->flags & CN_NBLF_CLONE)) {
        cn_warn("%s (%s): NBL %p is not a clone; free it with NdisFreeNetBufferList. Freed "
                "as an ordinary NBL.",
                fn, c->pool->np_pool.p_owner, (void *)CloneNetBufferList);
        cn_nbl_put(c);
        return;
    }
    bool orig_mdls = (c->flags & CN_NBLF_CLONE_ORIG_MDLS) != 0;
    if (orig_mdls != ((FreeCloneFlags & NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS) != 0))
        cn_warn("%s (%s): FreeCloneFlags %#x differ from the flags the clone %p was allocated "
                "with; condis frees what the clone really holds",
                fn, c->pool->np_pool.p_owner, FreeCloneFlags, (void *)CloneNetBufferList);
    cn_clone_put(c);
}
