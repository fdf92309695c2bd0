/*
 * nb.c - NET_BUFFER pools and NET_BUFFERs.
 *
 * A descriptor of an NB pool is struct cn_nb, then for DataSize > 0 an MDL
 * (with its struct cn_mdl header) and the data. condis' own NB pool, used
 * for clones when the caller names none, has no handle.
 *
 * Ownership: an NB returned by an allocation belongs to the caller until
 * it travels with an NBL; NdisFreeNetBuffer gives it back with whatever
 * condis hung on it (retreat and clone MDLs, the pool's data). Any thread,
 * IRQL <= DISPATCH_LEVEL.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cn_mem.h"

#define ALIGN16(x) (((x) + 15) & ~(size_t)15)

static pthread_mutex_t nb_internal_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cn_nb_pool *nb_internal; /* (nb_internal_lock) */

struct cn_nb_pool *cn_nb_pool_get(NDIS_HANDLE h, const char *fn)
{
    if (h == NULL) {
        cn_warn("%s: PoolHandle is NULL; refused", fn);
        return NULL;
    }
    struct cn_nb_pool *bp = cn_handle_get(h, CN_H_NB_POOL);
    if (bp == NULL) {
        cn_warn("%s: PoolHandle %p is not a live NET_BUFFER pool (freed, or another kind "
                "of handle); refused",
                fn, h);
        return NULL;
    }
    return bp;
}

static void nb_carve(struct cn_pool *p, void *elem)
{
    struct cn_nb_pool *bp = (struct cn_nb_pool *)p;
    struct cn_nb *b = elem;
    b->cookie = CN_NB_COOKIE_FREE;
    b->pool = bp;
    if (bp->bp_data_size != 0) {
        struct cn_mdl *h = (struct cn_mdl *)((char *)elem + bp->bp_mdl_off);
        cn_mdl_embed(h);
        b->data_mdl = &h->md_mdl;
    }
}

static void nb_reap(struct cn_pool *p, void *elem)
{
    (void)p;
    struct cn_nb *b = elem;
    if (b->cookie == CN_NB_COOKIE) {
        b->pool = NULL; /* release what hangs off it, do not return it */
        cn_nb_release(b);
    }
}

static struct cn_nb_pool *nb_pool_new(const char *owner, ULONG tag, ULONG data_size,
                                      bool internal)
{
    struct cn_nb_pool *bp = cn_pool_struct_alloc();
    if (bp == NULL)
        return NULL;
    bp->bp_data_size = data_size;
    size_t off = ALIGN16(sizeof(struct cn_nb));
    if (data_size != 0) {
        bp->bp_mdl_off = off;
        off += ALIGN16(sizeof(struct cn_mdl));
        bp->bp_data_off = off;
        off += ALIGN16(data_size);
    }
    bp->bp_pool.p_internal = internal;
    if (cn_pool_setup(&bp->bp_pool, CN_POOL_NB, owner, tag, off,
                      offsetof(struct cn_nb, free_next), nb_carve, nb_reap) != 0) {
        free(bp);
        return NULL;
    }
    return bp;
}

struct cn_nb_pool *cn_nb_pool_internal(void)
{
    pthread_mutex_lock(&nb_internal_lock);
    if (nb_internal == NULL)
        nb_internal = nb_pool_new("condis", 0, 0, true);
    struct cn_nb_pool *bp = nb_internal;
    pthread_mutex_unlock(&nb_internal_lock);
    return bp;
}

void cn_nb_pool_internal_forget(void)
{
    pthread_mutex_lock(&nb_internal_lock);
    nb_internal = NULL;
    pthread_mutex_unlock(&nb_internal_lock);
}

NDIS_HANDLE NdisAllocateNetBufferPool(NDIS_HANDLE NdisHandle,
                                      const NET_BUFFER_POOL_PARAMETERS *Parameters)
{
    const char *owner = cn_handle_owner(NdisHandle);
    if (owner == NULL) {
        cn_warn("NdisAllocateNetBufferPool: NdisHandle %p is not a live NDIS handle; "
                "returning NULL",
                NdisHandle);
        return NULL;
    }
    if (Parameters == NULL) {
        cn_warn("NdisAllocateNetBufferPool: Parameters is NULL; returning NULL");
        return NULL;
    }
    if (Parameters->Header.Type != NDIS_OBJECT_TYPE_DEFAULT ||
        Parameters->Header.Revision < NET_BUFFER_POOL_PARAMETERS_REVISION_1 ||
        Parameters->Header.Size < NDIS_SIZEOF_NET_BUFFER_POOL_PARAMETERS_REVISION_1) {
        cn_warn("NdisAllocateNetBufferPool (%s): Parameters->Header is {Type %#x, Revision "
                "%u, Size %u}; expected NDIS_OBJECT_TYPE_DEFAULT, "
                "NET_BUFFER_POOL_PARAMETERS_REVISION_1, "
                "NDIS_SIZEOF_NET_BUFFER_POOL_PARAMETERS_REVISION_1; returning NULL",
                owner, Parameters->Header.Type, Parameters->Header.Revision,
                Parameters->Header.Size);
        return NULL;
    }
    if (Parameters->DataSize > (1u << 30)) {
        cn_warn("NdisAllocateNetBufferPool (%s): DataSize %u is too large; returning NULL",
                owner, Parameters->DataSize);
        return NULL;
    }
    struct cn_nb_pool *bp = nb_pool_new(owner, Parameters->PoolTag, Parameters->DataSize,
                                        false);
    if (bp == NULL)
        return NULL;
    NDIS_HANDLE h = cn_handle_alloc(CN_H_NB_POOL, bp, owner);
    if (h == NULL) {
        cn_pool_destroy(&bp->bp_pool, true);
        return NULL;
    }
    bp->bp_pool.p_handle = h;
    return h;
}

VOID NdisFreeNetBufferPool(NDIS_HANDLE PoolHandle)
{
    struct cn_nb_pool *bp = cn_nb_pool_get(PoolHandle, "NdisFreeNetBufferPool");
    if (bp == NULL)
        return;
    size_t out = atomic_load_explicit(&bp->bp_pool.p_out, memory_order_acquire);
    if (cn_pool_destroy(&bp->bp_pool, false) == -EBUSY) {
        cn_warn("NdisFreeNetBufferPool (%s): RES-2: %zu NET_BUFFER(s) of pool %p are still "
                "out; free them first. The pool was not freed.",
                bp->bp_pool.p_owner, out ? out : (size_t)1, PoolHandle);
    }
}

NDIS_HANDLE NdisGetPoolFromNetBuffer(const NET_BUFFER *NetBuffer)
{
    if (NetBuffer == NULL) {
        cn_warn("NdisGetPoolFromNetBuffer: NetBuffer is NULL");
        return NULL;
    }
    return NetBuffer->NdisPoolHandle;
}

/* ---- allocation ----------------------------------------------------------------------- */

struct cn_nb *cn_nb_get(struct cn_nb_pool *bp)
{
    struct cn_nb *b = cn_pool_get(&bp->bp_pool);
    if (b == NULL)
        return NULL;
    memset(&b->nb, 0, sizeof(b->nb));
    b->nb.NdisPoolHandle = bp->bp_pool.p_handle;
    b->flags = 0;
    b->rt_n = 0;
    b->rt_driver = b->rt_splice = 0;
    __atomic_store_n(&b->cookie, CN_NB_COOKIE, __ATOMIC_RELEASE);
    return b;
}

bool cn_nb_seek(PNET_BUFFER nb)
{
    PMDL m = nb->MdlChain;
    ULONG off = nb->DataOffset;
    if (m == NULL) {
        if (off != 0)
            return false;
        nb->CurrentMdl = NULL;
        nb->CurrentMdlOffset = 0;
        return true;
    }
    /* The data starts in the first MDL that has bytes at the offset; at a
     * boundary that is the next MDL, unless there is none. */
    while (off >= m->ByteCount && m->Next != NULL) {
        off -= m->ByteCount;
        m = m->Next;
    }
    if (off > m->ByteCount)
        return false;
    nb->CurrentMdl = m;
    nb->CurrentMdlOffset = off;
    return true;
}

PNET_BUFFER NdisAllocateNetBuffer(NDIS_HANDLE PoolHandle, PMDL MdlChain, ULONG DataOffset,
                                  SIZE_T DataLength)
{
    static const char fn[] = "NdisAllocateNetBuffer";
    struct cn_nb_pool *bp = cn_nb_pool_get(PoolHandle, fn);
    if (bp == NULL)
        return NULL;
    if (bp->bp_data_size != 0 && !atomic_exchange(&bp->bp_warned, true))
        cn_warn("%s (%s): the pool has DataSize %u; use NdisAllocateNetBufferMdlAndData "
                "with it (the pool's data buffer is not used here)",
                fn, bp->bp_pool.p_owner, bp->bp_data_size);
    if (MdlChain == NULL && (DataOffset != 0 || DataLength != 0)) {
        cn_warn("%s (%s): MdlChain is NULL but DataOffset %u / DataLength %zu are not 0; "
                "returning NULL",
                fn, bp->bp_pool.p_owner, DataOffset, (size_t)DataLength);
        return NULL;
    }
    if (DataLength > MAXULONG) {
        cn_warn("%s (%s): DataLength %zu does not fit a ULONG; returning NULL", fn,
                bp->bp_pool.p_owner, (size_t)DataLength);
        return NULL;
    }
    struct cn_nb *b = cn_nb_get(bp);
    if (b == NULL)
        return NULL;
    b->nb.MdlChain = MdlChain;
    b->nb.DataOffset = DataOffset;
    b->nb.DataLength = (ULONG)DataLength;
    if (!cn_nb_seek(&b->nb)) {
        cn_warn("%s (%s): DataOffset %u lies beyond the MDL chain; returning NULL", fn,
                bp->bp_pool.p_owner, DataOffset);
        __atomic_store_n(&b->cookie, CN_NB_COOKIE_FREE, __ATOMIC_RELAXED);
        cn_pool_put(&bp->bp_pool, b);
        return NULL;
    }
    return &b->nb;
}

PNET_BUFFER NdisAllocateNetBufferMdlAndData(NDIS_HANDLE PoolHandle)
{
    static const char fn[] = "NdisAllocateNetBufferMdlAndData";
    struct cn_nb_pool *bp = cn_nb_pool_get(PoolHandle, fn);
    if (bp == NULL)
        return NULL;
    if (bp->bp_data_size == 0) {
        cn_warn("%s (%s): the pool was made with DataSize 0; returning NULL", fn,
                bp->bp_pool.p_owner);
        return NULL;
    }
    struct cn_nb *b = cn_nb_get(bp);
    if (b == NULL)
        return NULL;
    PMDL m = b->data_mdl;
    cn_mdl_describe(m, (char *)b + bp->bp_data_off, bp->bp_data_size);
    b->nb.MdlChain = b->nb.CurrentMdl = m;
    b->nb.DataLength = bp->bp_data_size;
    return &b->nb;
}

/* ---- free -------------------------------------------------------------------------------- */

void cn_nb_release(struct cn_nb *b)
{
    if (b->rt_n != 0)
        cn_nb_unwind(b, NULL, true);
    if (b->flags & CN_NBF_CLONE_MDLS) {
        PMDL m = b->nb.MdlChain;
        while (m != NULL) {
            PMDL next = m->Next;
            struct cn_mdl *h = cn_mdl_hdr(m);
            if (h->md_cookie == CN_MDL_COOKIE && h->md_kind == CN_MDL_CLONE)
                cn_mdl_release(m);
            m = next;
        }
        b->nb.MdlChain = b->nb.CurrentMdl = NULL;
    }
    struct cn_nb_pool *bp = b->pool;
    b->flags &= CN_NBF_BUILTIN;
    if (bp == NULL) {
        /* The NB of an NBL descriptor: it goes back with its NBL. */
        __atomic_store_n(&b->cookie, CN_NB_COOKIE_FREE, __ATOMIC_RELEASE);
        return;
    }
    cn_pool_put(&bp->bp_pool, b);
}

VOID NdisFreeNetBuffer(PNET_BUFFER NetBuffer)
{
    static const char fn[] = "NdisFreeNetBuffer";
    if (NetBuffer == NULL) {
        cn_warn("%s: NetBuffer is NULL; ignored", fn);
        return;
    }
    struct cn_nb *b = (struct cn_nb *)NetBuffer;
    struct cn_nb_pool *bp = cn_handle_get(NetBuffer->NdisPoolHandle, CN_H_NB_POOL);
    if (bp == NULL) {
        if (cn_handle_get(NetBuffer->NdisPoolHandle, CN_H_NBL_POOL) != NULL &&
            (b->flags & CN_NBF_BUILTIN))
            cn_warn("%s: NB %p came with its NET_BUFFER_LIST and is freed by "
                    "NdisFreeNetBufferList; ignored",
                    fn, (void *)NetBuffer);
        else if (NetBuffer->NdisPoolHandle == NULL && (b->flags & CN_NBF_CLONE))
            cn_warn("%s: NB %p belongs to a clone and is freed by NdisFreeCloneNetBufferList; "
                    "ignored",
                    fn, (void *)NetBuffer);
        else
            cn_warn("%s: NB %p does not come from a live NET_BUFFER pool (never allocated "
                    "from one, its pool was freed, or NdisPoolHandle was overwritten); ignored",
                    fn, (void *)NetBuffer);
        return;
    }
    if (b->pool != bp) {
        cn_warn("%s (%s): NB %p names pool %p but belongs to another pool; ignored", fn,
                bp->bp_pool.p_owner, (void *)NetBuffer, NetBuffer->NdisPoolHandle);
        return;
    }
    if (b->flags & CN_NBF_CLONE) {
        cn_warn("%s (%s): NB %p belongs to a clone and is freed by NdisFreeCloneNetBufferList; "
                "ignored",
                fn, bp->bp_pool.p_owner, (void *)NetBuffer);
        return;
    }
    uint32_t want = CN_NB_COOKIE;
    if (!__atomic_compare_exchange_n(&b->cookie, &want, CN_NB_COOKIE_FREE, false,
                                     __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
        if (want == CN_NB_COOKIE_FREE)
            cn_warn("%s (%s): NB %p is already free (double free); ignored", fn,
                    bp->bp_pool.p_owner, (void *)NetBuffer);
        else
            cn_warn("%s (%s): NB %p has a corrupted condis header (cookie %#x); ignored", fn,
                    bp->bp_pool.p_owner, (void *)NetBuffer, want);
        return;
    }
    cn_nb_release(b);
}
