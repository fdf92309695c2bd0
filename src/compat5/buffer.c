/*
 * buffer.c - NDIS 5.x buffer pools and buffer descriptors (NDIS_BUFFER,
 * an MDL): NdisAllocateBufferPool, NdisAllocateBuffer, NdisCopyBuffer,
 * NdisFreeBuffer, NdisFreeBufferPool.
 *
 * A buffer pool is a mem-layer descriptor pool of struct cn_mdl (the same
 * header every condis MDL has, of kind CN_MDL_BUFFER with md_pool naming
 * the pool), bounded to NumberOfDescriptors. Its descriptors are counted
 * per pool for the leak report ("buffer pool") and in cn_mem_outstanding.
 *
 * Ownership: a descriptor belongs to the driver that allocated it until
 * NdisFreeBuffer; the memory it maps stays the caller's throughout. Every
 * function: any thread, IRQL <= DISPATCH_LEVEL, never blocks but on a
 * pool's own mutex.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cn_compat5.h"

struct cn_buffer_pool *cn_buffer_pool_get(NDIS_HANDLE h, const char *fn)
{
    if (h == NULL) {
        cn_warn("%s: PoolHandle is NULL; refused", fn);
        return NULL;
    }
    struct cn_buffer_pool *bp = cn_handle_get(h, CN_H_BUFFER_POOL);
    if (bp == NULL)
        cn_warn("%s: PoolHandle %p is not a live buffer pool (freed, or another kind of "
                "handle); refused",
                fn, h);
    return bp;
}

static void buffer_carve(struct cn_pool *p, void *elem)
{
    struct cn_mdl *h = elem;
    h->md_cookie = CN_MDL_COOKIE_FREE;
    h->md_kind = CN_MDL_BUFFER;
    h->md_pool = p;
}

/* ---- pools ------------------------------------------------------------------------- */

VOID NdisAllocateBufferPool(PNDIS_STATUS Status, PNDIS_HANDLE PoolHandle,
                            UINT NumberOfDescriptors)
{
    static const char fn[] = "NdisAllocateBufferPool";
    const char *owner = cn_current_driver();
    if (Status == NULL || PoolHandle == NULL) {
        cn_warn("%s (%s): Status or PoolHandle is NULL; nothing allocated", fn, owner);
        if (Status != NULL)
            *Status = NDIS_STATUS_FAILURE;
        return;
    }
    *PoolHandle = NULL;
    struct cn_buffer_pool *bp = cn_pool_struct_alloc();
    if (bp == NULL) {
        *Status = NDIS_STATUS_RESOURCES;
        return;
    }
    bp->bp_count = NumberOfDescriptors;
    if (cn_pool_setup(&bp->bp_pool, CN_POOL_BUFFER, owner, 0, sizeof(struct cn_mdl),
                      offsetof(struct cn_mdl, md_free_next), buffer_carve, NULL) != 0) {
        free(bp); /* not registered: nothing else to undo */
        *Status = NDIS_STATUS_RESOURCES;
        return;
    }
    /* 0 descriptors: nothing can be allocated (checked at allocation, as
     * p_max 0 means unbounded to the pool). */
    bp->bp_pool.p_max = NumberOfDescriptors;
    NDIS_HANDLE h = cn_handle_alloc(CN_H_BUFFER_POOL, bp, owner);
    if (h == NULL) {
        cn_pool_destroy(&bp->bp_pool, true);
        *Status = NDIS_STATUS_RESOURCES;
        return;
    }
    bp->bp_pool.p_handle = h;
    *PoolHandle = h;
    *Status = NDIS_STATUS_SUCCESS;
}

VOID NdisFreeBufferPool(NDIS_HANDLE PoolHandle)
{
    struct cn_buffer_pool *bp = cn_buffer_pool_get(PoolHandle, "NdisFreeBufferPool");
    if (bp == NULL)
        return;
    size_t out = atomic_load_explicit(&bp->bp_pool.p_out, memory_order_acquire);
    if (cn_pool_destroy(&bp->bp_pool, false) == -EBUSY)
        cn_warn("NdisFreeBufferPool (%s): RES-2: %zu buffer descriptor(s) of pool %p are "
                "still out; free them with NdisFreeBuffer first. The pool was not freed.",
                bp->bp_pool.p_owner, out ? out : (size_t)1, PoolHandle);
}

/* ---- descriptors --------------------------------------------------------------------- */

/* A descriptor for len bytes at va from bp, or NULL when the pool is
 * exhausted. Owner on return: the caller. */
static PNDIS_BUFFER buffer_get(struct cn_buffer_pool *bp, void *va, UINT len, void *site)
{
    if (bp->bp_count == 0)
        return NULL;
    struct cn_mdl *h = cn_pool_get(&bp->bp_pool);
    if (h == NULL)
        return NULL;
    h->md_owner = NULL;
    h->md_buf = NULL;
    h->md_saved_head = NULL;
    h->md_saved_offset = 0;
    h->md_site = site;
    PMDL m = &h->md_mdl;
    MmInitializeMdl(m, va, len);
    m->Size = (CSHORT)sizeof(MDL); /* no PFN array behind condis' MDLs */
    MmBuildMdlForNonPagedPool(m);
    __atomic_store_n(&h->md_cookie, CN_MDL_COOKIE, __ATOMIC_RELEASE);
    return m;
}

VOID NdisAllocateBuffer(PNDIS_STATUS Status, PNDIS_BUFFER *Buffer, NDIS_HANDLE PoolHandle,
                        PVOID VirtualAddress, UINT Length)
{
    static const char fn[] = "NdisAllocateBuffer";
    if (Status == NULL || Buffer == NULL) {
        cn_warn("%s: Status or Buffer is NULL; nothing allocated", fn);
        if (Status != NULL)
            *Status = NDIS_STATUS_FAILURE;
        return;
    }
    *Buffer = NULL;
    struct cn_buffer_pool *bp = cn_buffer_pool_get(PoolHandle, fn);
    if (bp == NULL) {
        *Status = NDIS_STATUS_FAILURE;
        return;
    }
    if (VirtualAddress == NULL && Length != 0) {
        cn_warn("%s (%s): VirtualAddress is NULL with Length %u; NDIS_STATUS_FAILURE", fn,
                bp->bp_pool.p_owner, Length);
        *Status = NDIS_STATUS_FAILURE;
        return;
    }
    *Buffer = buffer_get(bp, VirtualAddress, Length, __builtin_return_address(0));
    *Status = *Buffer != NULL ? NDIS_STATUS_SUCCESS : NDIS_STATUS_RESOURCES;
}

VOID NdisCopyBuffer(PNDIS_STATUS Status, PNDIS_BUFFER *Buffer, NDIS_HANDLE PoolHandle,
                    PVOID MemoryDescriptor, UINT Offset, UINT Length)
{
    static const char fn[] = "NdisCopyBuffer";
    if (Status == NULL || Buffer == NULL) {
        cn_warn("%s: Status or Buffer is NULL; nothing allocated", fn);
        if (Status != NULL)
            *Status = NDIS_STATUS_FAILURE;
        return;
    }
    *Buffer = NULL;
    struct cn_buffer_pool *bp = cn_buffer_pool_get(PoolHandle, fn);
    if (bp == NULL) {
        *Status = NDIS_STATUS_FAILURE;
        return;
    }
    PMDL src = MemoryDescriptor;
    if (src == NULL) {
        cn_warn("%s (%s): MemoryDescriptor is NULL; NDIS_STATUS_FAILURE", fn,
                bp->bp_pool.p_owner);
        *Status = NDIS_STATUS_FAILURE;
        return;
    }
    /* The view must lie inside what the source descriptor maps: condis
     * would otherwise hand out a descriptor of memory nobody owns. */
    if ((uint64_t)Offset + Length > MmGetMdlByteCount(src)) {
        cn_warn("%s (%s): Offset %u + Length %u lie beyond the %u byte(s) that "
                "MemoryDescriptor %p maps; NDIS_STATUS_FAILURE",
                fn, bp->bp_pool.p_owner, Offset, Length, MmGetMdlByteCount(src), (void *)src);
        *Status = NDIS_STATUS_FAILURE;
        return;
    }
    char *va = (char *)MmGetSystemAddressForMdlSafe(src, NormalPagePriority) + Offset;
    PNDIS_BUFFER b = buffer_get(bp, va, Length, __builtin_return_address(0));
    if (b == NULL) {
        *Status = NDIS_STATUS_RESOURCES;
        return;
    }
    b->MdlFlags |= MDL_PARTIAL;
    *Buffer = b;
    *Status = NDIS_STATUS_SUCCESS;
}

/* Owner on entry: the caller; on return the buffer pool, unless refused. */
VOID NdisFreeBuffer(PNDIS_BUFFER Buffer)
{
    static const char fn[] = "NdisFreeBuffer";
    if (Buffer == NULL) {
        cn_warn("%s: Buffer is NULL; ignored", fn);
        return;
    }
    struct cn_mdl *h = cn_mdl_hdr(Buffer);
    uint32_t cookie = __atomic_load_n(&h->md_cookie, __ATOMIC_ACQUIRE);
    if (cookie == CN_MDL_COOKIE && h->md_kind == CN_MDL_DRIVER) {
        /* On Windows NdisFreeBuffer is IoFreeMdl: an MDL from IoAllocateMdl
         * or NdisAllocateMdl chained to a packet may be freed this way. */
        IoFreeMdl(Buffer);
        return;
    }
    if (cookie == CN_MDL_COOKIE_FREE) {
        cn_warn("%s: buffer descriptor %p is already free (double free); ignored", fn,
                (void *)Buffer);
        return;
    }
    if (cookie != CN_MDL_COOKIE) {
        cn_warn("%s: %p is not a buffer descriptor from NdisAllocateBuffer/NdisCopyBuffer; "
                "ignored",
                fn, (void *)Buffer);
        return;
    }
    if (h->md_kind != CN_MDL_BUFFER) {
        cn_warn("%s: MDL %p belongs to condis (it came with a NET_BUFFER, a clone or a "
                "retreat); ignored",
                fn, (void *)Buffer);
        return;
    }
    struct cn_pool *p = h->md_pool;
    uint32_t want = CN_MDL_COOKIE;
    if (!__atomic_compare_exchange_n(&h->md_cookie, &want, CN_MDL_COOKIE_FREE, false,
                                     __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
        cn_warn("%s: buffer descriptor %p is already free (double free); ignored", fn,
                (void *)Buffer);
        return;
    }
    memset(&h->md_mdl, 0, sizeof(h->md_mdl));
    cn_pool_put(p, h);
}
