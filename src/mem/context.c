/*
 * context.c - NET_BUFFER_LIST_CONTEXT space.
 *
 * Every context block condis makes has a 16-byte header in front of its
 * NET_BUFFER_LIST_CONTEXT saying where it came from:
 *   CTX_BUILTIN  the block preallocated in the NBL's descriptor (pool
 *                ContextSize); never freed on its own;
 *   CTX_ALLOC    allocated because the NBL's allocation asked for more
 *                context than the pool preallocates; freed with the NBL;
 *   CTX_DRIVER   allocated by NdisAllocateNetBufferListContext; freed by
 *                NdisFreeNetBufferListContext once all its space is given
 *                back, or (with a warning) with the NBL.
 * Blocks chain through NET_BUFFER_LIST_CONTEXT::Next, newest first.
 *
 * Ownership: the context belongs to whoever owns the NBL. Any thread,
 * IRQL <= DISPATCH_LEVEL. Only the slow paths (more context than the pool
 * preallocates) call malloc.
 */
#include <stdlib.h>
#include <string.h>

#include "cn_mem.h"

#define CTX_MAGIC 0x43545821u /* "CTX!" */

enum { CTX_BUILTIN = 1, CTX_ALLOC, CTX_DRIVER };

struct cn_ctx_hdr {
    uint32_t ch_magic;
    uint32_t ch_kind;
    uint64_t ch_pad;
};
_Static_assert(sizeof(struct cn_ctx_hdr) == 16, "nbl.c reserves 16 bytes for it");

static inline struct cn_ctx_hdr *hdr_of(PNET_BUFFER_LIST_CONTEXT ctx)
{
    return (struct cn_ctx_hdr *)ctx - 1;
}

static PNET_BUFFER_LIST_CONTEXT ctx_new(uint32_t kind, size_t size, size_t backfill)
{
    size_t total = sizeof(struct cn_ctx_hdr) + sizeof(NET_BUFFER_LIST_CONTEXT) + size + backfill;
    void *mem = NULL;
    if (posix_memalign(&mem, MEMORY_ALLOCATION_ALIGNMENT, total) != 0)
        return NULL;
    memset(mem, 0, total);
    struct cn_ctx_hdr *h = mem;
    h->ch_magic = CTX_MAGIC;
    h->ch_kind = kind;
    PNET_BUFFER_LIST_CONTEXT ctx = (PNET_BUFFER_LIST_CONTEXT)(h + 1);
    ctx->Size = (USHORT)(size + backfill);
    ctx->Offset = (USHORT)backfill;
    return ctx;
}

static size_t round_up(size_t v, size_t a)
{
    return (v + a - 1) & ~(a - 1);
}

bool cn_ctx_attach(struct cn_nbl *c, USHORT size, USHORT backfill)
{
    struct cn_nbl_pool *np = c->pool;
    size_t sz = round_up(size, MEMORY_ALLOCATION_ALIGNMENT);
    size_t bf = round_up(backfill, MEMORY_ALLOCATION_ALIGNMENT);
    if ((sz != size || bf != backfill) && !atomic_exchange(&np->np_warned, true))
        cn_warn("NdisAllocateNetBufferList (%s): ContextSize %u / ContextBackFill %u are "
                "not multiples of MEMORY_ALLOCATION_ALIGNMENT (%d); rounded up",
                np->np_pool.p_owner, size, backfill, MEMORY_ALLOCATION_ALIGNMENT);
    if (sz + bf > 0xfff0) {
        cn_warn("NdisAllocateNetBufferList (%s): ContextSize %u + ContextBackFill %u is too "
                "large; returning NULL",
                np->np_pool.p_owner, size, backfill);
        return false;
    }
    PNET_BUFFER_LIST_CONTEXT ctx;
    if (np->np_ctx_size != 0 && sz + bf <= np->np_ctx_size) {
        /* The whole preallocated block, with the used space at its end:
         * what is left in front is there for NdisAllocateNetBufferListContext
         * without allocating. */
        struct cn_ctx_hdr *h = (struct cn_ctx_hdr *)((char *)c + np->np_ctx_off);
        h->ch_magic = CTX_MAGIC;
        h->ch_kind = CTX_BUILTIN;
        ctx = (PNET_BUFFER_LIST_CONTEXT)(h + 1);
        ctx->Next = NULL;
        ctx->Size = np->np_ctx_size;
        ctx->Offset = (USHORT)(np->np_ctx_size - sz);
        memset(ctx->ContextData, 0, np->np_ctx_size);
    } else if (sz + bf == 0) {
        ctx = NULL;
    } else {
        ctx = ctx_new(CTX_ALLOC, sz, bf);
        if (ctx == NULL)
            return false;
    }
    c->nbl.Context = ctx;
    return true;
}

void cn_ctx_detach(struct cn_nbl *c, bool warn)
{
    PNET_BUFFER_LIST_CONTEXT ctx = c->nbl.Context;
    unsigned leaked = 0;
    while (ctx != NULL) {
        PNET_BUFFER_LIST_CONTEXT next = ctx->Next;
        struct cn_ctx_hdr *h = hdr_of(ctx);
        if (h->ch_magic != CTX_MAGIC) {
            if (warn)
                cn_warn("NdisFreeNetBufferList (%s): NBL %p has a Context condis did not "
                        "allocate (%p); left alone",
                        c->pool->np_pool.p_owner, (void *)&c->nbl, (void *)ctx);
            break;
        }
        if (h->ch_kind == CTX_DRIVER)
            leaked++;
        if (h->ch_kind != CTX_BUILTIN) {
            h->ch_magic = 0;
            free(h);
        }
        ctx = next;
    }
    if (leaked != 0 && warn)
        cn_warn("NdisFreeNetBufferList (%s): NBL %p still had %u context block(s) from "
                "NdisAllocateNetBufferListContext; call NdisFreeNetBufferListContext before "
                "freeing the NBL. Freed.",
                c->pool->np_pool.p_owner, (void *)&c->nbl, leaked);
    c->nbl.Context = NULL;
}

NDIS_STATUS NdisAllocateNetBufferListContext(PNET_BUFFER_LIST NetBufferList, USHORT ContextSize,
                                             USHORT ContextBackFill, ULONG PoolTag)
{
    (void)PoolTag;
    static const char fn[] = "NdisAllocateNetBufferListContext";
    if (cn_nbl_check(NetBufferList) == NULL) {
        cn_warn("%s: NBL %p is not an allocated NBL from a live pool; refused", fn,
                (void *)NetBufferList);
        return NDIS_STATUS_INVALID_PARAMETER;
    }
    /* Context space is kept aligned to a pointer. */
    size_t sz = round_up(ContextSize, sizeof(void *));
    size_t bf = round_up(ContextBackFill, sizeof(void *));
    if (sz == 0)
        return NDIS_STATUS_SUCCESS;
    PNET_BUFFER_LIST_CONTEXT ctx = NetBufferList->Context;
    if (ctx != NULL && ctx->Offset >= sz) {
        ctx->Offset = (USHORT)(ctx->Offset - sz);
        return NDIS_STATUS_SUCCESS;
    }
    if (sz + bf > 0xfff0) {
        cn_warn("%s (%s): ContextSize %u + ContextBackFill %u is too large", fn,
                cn_nbl_owner(NetBufferList), ContextSize, ContextBackFill);
        return NDIS_STATUS_RESOURCES;
    }
    PNET_BUFFER_LIST_CONTEXT n = ctx_new(CTX_DRIVER, sz, bf);
    if (n == NULL)
        return NDIS_STATUS_RESOURCES;
    n->Next = ctx;
    NetBufferList->Context = n;
    return NDIS_STATUS_SUCCESS;
}

VOID NdisFreeNetBufferListContext(PNET_BUFFER_LIST NetBufferList, USHORT ContextSize)
{
    static const char fn[] = "NdisFreeNetBufferListContext";
    if (cn_nbl_check(NetBufferList) == NULL) {
        cn_warn("%s: NBL %p is not an allocated NBL from a live pool; ignored", fn,
                (void *)NetBufferList);
        return;
    }
    size_t sz = round_up(ContextSize, sizeof(void *));
    PNET_BUFFER_LIST_CONTEXT ctx = NetBufferList->Context;
    if (ctx == NULL) {
        cn_warn("%s (%s): NBL %p has no context; ignored", fn, cn_nbl_owner(NetBufferList),
                (void *)NetBufferList);
        return;
    }
    if ((size_t)ctx->Offset + sz > ctx->Size) {
        cn_warn("%s (%s): freeing %u bytes but only %u are in use in NBL %p's context; "
                "ignored",
                fn, cn_nbl_owner(NetBufferList), ContextSize,
                (unsigned)(ctx->Size - ctx->Offset), (void *)NetBufferList);
        return;
    }
    ctx->Offset = (USHORT)(ctx->Offset + sz);
    struct cn_ctx_hdr *h = hdr_of(ctx);
    if (ctx->Offset == ctx->Size && h->ch_magic == CTX_MAGIC && h->ch_kind == CTX_DRIVER) {
        NetBufferList->Context = ctx->Next;
        h->ch_magic = 0;
        free(h);
    }
}
