/*
 * nbl.c - NET_BUFFER_LIST pools and NET_BUFFER_LISTs.
 *
 * A descriptor of an NBL pool is, in one block: struct cn_nbl (the NBL and
 * condis' trailer), then for a pool made with fAllocateNetBuffer its
 * struct cn_nb, then the preallocated context block when ContextSize > 0,
 * then for DataSize > 0 an MDL (with its struct cn_mdl header) and the
 * data. Everything is set up once when the slab is carved; allocation
 * zeroes the public fields the way NDIS hands out a new NBL.
 *
 * Ownership: an NBL returned by an allocation belongs to the caller (with
 * the NB, MDL and data that came with it) until it is sent or indicated;
 * it may be freed only when idle (trailer state CN_NBL_IDLE). Any thread,
 * IRQL <= DISPATCH_LEVEL.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <stdio.h>

#include "cn_mem.h"

#define ALIGN16(x) (((x) + 15) & ~(size_t)15)

/* The context block in front of ContextData: a condis header (context.c)
 * and NET_BUFFER_LIST_CONTEXT. Keep in step with context.c. */
#define CTX_PREFIX 16

struct cn_nbl_pool *cn_nbl_pool_get(NDIS_HANDLE h, const char *fn)
{
    if (h == NULL) {
        cn_warn("%s: PoolHandle is NULL; refused", fn);
        return NULL;
    }
    struct cn_nbl_pool *np = cn_handle_get(h, CN_H_NBL_POOL);
    if (np == NULL) {
        cn_warn("%s: PoolHandle %p is not a live NET_BUFFER_LIST pool (freed, or another "
                "kind of handle); refused",
                fn, h);
        return NULL;
    }
    return np;
}

static inline struct cn_nb *builtin_nb(struct cn_nbl_pool *np, struct cn_nbl *c)
{
    return (struct cn_nb *)((char *)c + np->np_nb_off);
}

static void nbl_carve(struct cn_pool *p, void *elem)
{
    struct cn_nbl_pool *np = (struct cn_nbl_pool *)p;
    struct cn_nbl *c = elem;
    c->cookie = CN_NBL_COOKIE_FREE;
    c->pool = np;
    if (np->np_has_nb) {
        struct cn_nb *b = builtin_nb(np, c);
        b->cookie = CN_NB_COOKIE_FREE;
        b->flags = CN_NBF_BUILTIN;
        b->pool = NULL;
        if (np->np_data_size != 0) {
            struct cn_mdl *h = (struct cn_mdl *)((char *)elem + np->np_mdl_off);
            cn_mdl_embed(h);
            b->data_mdl = &h->md_mdl;
        }
    }
}

/* cn_mem_fini on a pool with NBLs out: release what hangs off them. */
static void nbl_reap(struct cn_pool *p, void *elem)
{
    struct cn_nbl_pool *np = (struct cn_nbl_pool *)p;
    struct cn_nbl *c = elem;
    if (c->cookie != CN_NBL_COOKIE)
        return;
    cn_ctx_detach(c, false);
    if (np->np_has_nb)
        cn_nb_release(builtin_nb(np, c));
}

NDIS_HANDLE NdisAllocateNetBufferListPool(NDIS_HANDLE NdisHandle,
                                          const NET_BUFFER_LIST_POOL_PARAMETERS *Parameters)
{
    const char *owner = cn_handle_owner(NdisHandle);
    if (owner == NULL) {
        cn_warn("NdisAllocateNetBufferListPool: NdisHandle %p is not a live NDIS handle; "
                "returning NULL",
                NdisHandle);
        return NULL;
    }
    if (Parameters == NULL) {
        cn_warn("NdisAllocateNetBufferListPool: Parameters is NULL; returning NULL");
        return NULL;
    }
    if (Parameters->Header.Type != NDIS_OBJECT_TYPE_DEFAULT ||
        Parameters->Header.Revision < NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1 ||
        Parameters->Header.Size < NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1) {
        cn_warn("NdisAllocateNetBufferListPool (%s): Parameters->Header is {Type %#x, "
                "Revision %u, Size %u}; expected NDIS_OBJECT_TYPE_DEFAULT, "
                "NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1, "
                "NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1; returning NULL",
                owner, Parameters->Header.Type, Parameters->Header.Revision,
                Parameters->Header.Size);
        return NULL;
    }
    if (Parameters->DataSize != 0 && !Parameters->fAllocateNetBuffer) {
        cn_warn("NdisAllocateNetBufferListPool (%s): DataSize %u needs fAllocateNetBuffer "
                "TRUE; returning NULL",
                owner, Parameters->DataSize);
        return NULL;
    }
    if (Parameters->DataSize > (1u << 30)) {
        cn_warn("NdisAllocateNetBufferListPool (%s): DataSize %u is too large; returning NULL",
                owner, Parameters->DataSize);
        return NULL;
    }
    size_t ctx = Parameters->ContextSize;
    if (ctx % MEMORY_ALLOCATION_ALIGNMENT != 0) {
        cn_warn("NdisAllocateNetBufferListPool (%s): ContextSize %zu is not a multiple of "
                "MEMORY_ALLOCATION_ALIGNMENT (%d); rounded up",
                owner, ctx, MEMORY_ALLOCATION_ALIGNMENT);
        ctx = ALIGN16(ctx);
        if (ctx > 0xfff0)
            ctx = 0xfff0;
    }

    struct cn_nbl_pool *np = cn_pool_struct_alloc();
    if (np == NULL)
        return NULL;
    np->np_protocol_id = Parameters->ProtocolId;
    np->np_has_nb = Parameters->fAllocateNetBuffer != FALSE;
    np->np_ctx_size = (USHORT)ctx;
    np->np_data_size = Parameters->DataSize;

    size_t off = ALIGN16(sizeof(struct cn_nbl));
    if (np->np_has_nb) {
        np->np_nb_off = off;
        off += ALIGN16(sizeof(struct cn_nb));
    }
    if (ctx != 0) {
        np->np_ctx_off = off;
        off += CTX_PREFIX + sizeof(NET_BUFFER_LIST_CONTEXT) + ctx;
    }
    if (np->np_data_size != 0) {
        np->np_mdl_off = off;
        off += ALIGN16(sizeof(struct cn_mdl));
        np->np_data_off = off;
        off += ALIGN16(np->np_data_size);
    }

    if (cn_pool_setup(&np->np_pool, CN_POOL_NBL, owner, Parameters->PoolTag, off,
                      offsetof(struct cn_nbl, free_next), nbl_carve, nbl_reap) != 0) {
        free(np);
        return NULL;
    }
    NDIS_HANDLE h = cn_handle_alloc(CN_H_NBL_POOL, np, owner);
    if (h == NULL) {
        cn_pool_destroy(&np->np_pool, true);
        return NULL;
    }
    np->np_pool.p_handle = h;
    np->np_pool.p_site = __builtin_return_address(0);
    return h;
}

/* ---- the verifier's view of NBLs ------------------------------------------------ */

/* The live pool nbl is a descriptor of, allocated or not, or NULL. Without
 * the verifier, the trailer is trusted to be there; with it, the slab
 * registry first makes sure that nbl is a descriptor at all, so that a
 * driver's own copy of an NBL (NBL-2) is never read past its end. */
static struct cn_nbl_pool *nbl_pool_of(PNET_BUFFER_LIST nbl)
{
    struct cn_nbl_pool *np = nbl ? cn_handle_get(nbl->NdisPoolHandle, CN_H_NBL_POOL) : NULL;
    if (np == NULL || (CN_VERIFYING && !cn_span_holds(&np->np_pool, nbl)))
        return NULL;
    return cn_nbl(nbl)->pool == np ? np : NULL;
}

const char *cn_nbl_text(PNET_BUFFER_LIST nbl, char *buf, size_t len)
{
    struct cn_nbl_pool *np = nbl_pool_of(nbl);
    if (np == NULL) {
        snprintf(buf, len, "NBL %p (not from a live NBL pool)", (void *)nbl);
        return buf;
    }
    ULONG t = np->np_pool.p_tag;
    char tag[5] = { (char)(t & 0xff), (char)((t >> 8) & 0xff), (char)((t >> 16) & 0xff),
                    (char)(t >> 24), 0 };
    for (int i = 0; i < 4; i++)
        if (tag[i] < 32 || tag[i] > 126)
            tag[i] = '.';
    snprintf(buf, len, "NBL %p of pool '%s' (%s)", (void *)nbl, tag, np->np_pool.p_owner);
    return buf;
}

struct cn_vshadow *cn_nbl_shadow(PNET_BUFFER_LIST nbl)
{
    if (!CN_VERIFYING || nbl_pool_of(nbl) == NULL)
        return NULL;
    return cn_vshadow_get(&cn_nbl(nbl)->vshadow);
}

/* A fresh NBL: its history starts here. */
static PNET_BUFFER_LIST verify_alloc(PNET_BUFFER_LIST nbl, void *site)
{
    if (nbl != NULL) {
        struct cn_vshadow *s = cn_vshadow_get(&cn_nbl(nbl)->vshadow);
        if (s != NULL) {
            s->vs_site = site;
            s->vs_mp_valid = false;
            cn_vhist_add(s, CN_EV_ALLOC, cn_current_driver());
        }
    }
    return nbl;
}

/* OWN-4: the miniport that completed an NBL last must have left its own
 * fields alone since. Checked whenever the NBL's owner hands it on. */
void cn_nbl_verify_mp_fields(PNET_BUFFER_LIST nbl, struct cn_vshadow *s, const char *call)
{
    if (s == NULL || !s->vs_mp_valid)
        return;
    s->vs_mp_valid = false;
    if (cn_vmp_same(s, nbl->MiniportReserved))
        return;
    char obj[160];
    cn_violation(CN_OWN4, s->vs_completer, call, cn_nbl_text(nbl, obj, sizeof(obj)), s,
                 "the MiniportReserved fields of an NBL (or of its NET_BUFFERs) changed after "
                 "%s completed it", s->vs_completer ? s->vs_completer : "the miniport");
}

/* One NBL still in flight in a pool being freed (OWN-3), counted. */
static void pool_inflight(struct cn_pool *p, void *elem, void *arg)
{
    (void)p;
    struct cn_nbl *c = elem;
    if (c->cookie == CN_NBL_COOKIE &&
        atomic_load_explicit(&c->state, memory_order_relaxed) == CN_NBL_SENDING)
        ++*(size_t *)arg;
}

VOID NdisFreeNetBufferListPool(NDIS_HANDLE PoolHandle)
{
    struct cn_nbl_pool *np = cn_nbl_pool_get(PoolHandle, "NdisFreeNetBufferListPool");
    if (np == NULL)
        return;
    size_t out = atomic_load_explicit(&np->np_pool.p_out, memory_order_acquire);
    if (out == 0 && cn_pool_destroy(&np->np_pool, false) == 0)
        return;
    size_t inflight = 0;
    if (CN_VERIFYING)
        cn_pool_each(&np->np_pool, pool_inflight, &inflight);
    char obj[96];
    snprintf(obj, sizeof(obj), "NBL pool %p (%s)", PoolHandle, np->np_pool.p_owner);
    if (inflight)
        cn_violation(CN_OWN3, np->np_pool.p_owner, "NdisFreeNetBufferListPool", obj, NULL,
                     "freed an NBL pool while %zu of its NBLs are in flight; the pool was not "
                     "freed", inflight);
    else
        cn_violation(CN_RES2, np->np_pool.p_owner, "NdisFreeNetBufferListPool", obj, NULL,
                     "freed an NBL pool with %zu NBL(s) still allocated; the pool was not freed",
                     out ? out : (size_t)1);
}

NDIS_HANDLE NdisGetPoolFromNetBufferList(const NET_BUFFER_LIST *NetBufferList)
{
    if (NetBufferList == NULL) {
        cn_warn("NdisGetPoolFromNetBufferList: NetBufferList is NULL");
        return NULL;
    }
    return NetBufferList->NdisPoolHandle;
}

/* ---- allocation --------------------------------------------------------------------- */

struct cn_nbl *cn_nbl_get(struct cn_nbl_pool *np)
{
    struct cn_nbl *c = cn_pool_get(&np->np_pool);
    if (c == NULL)
        return NULL;
    memset(&c->nbl, 0, sizeof(c->nbl));
    c->nbl.NdisPoolHandle = np->np_pool.p_handle;
    c->flags = np->np_has_nb ? CN_NBLF_HAS_NB : 0;
    atomic_store_explicit(&c->state, CN_NBL_IDLE, memory_order_relaxed);
    c->send_flags = 0;
    c->vc = NULL;
    c->vc_handle = NULL;
    c->chain_next = NULL;
    c->t_submit = 0;
    c->co_private = NULL;
    __atomic_store_n(&c->cookie, CN_NBL_COOKIE, __ATOMIC_RELEASE);
    return c;
}

/* Hand out the built-in NB of a fresh NBL. */
static PNET_BUFFER builtin_nb_init(struct cn_nbl_pool *np, struct cn_nbl *c)
{
    struct cn_nb *b = builtin_nb(np, c);
    memset(&b->nb, 0, sizeof(b->nb));
    b->nb.NdisPoolHandle = np->np_pool.p_handle;
    b->flags = CN_NBF_BUILTIN;
    b->rt_n = 0;
    b->rt_driver = b->rt_splice = 0;
    __atomic_store_n(&b->cookie, CN_NB_COOKIE, __ATOMIC_RELAXED);
    if (np->np_data_size != 0) {
        /* The driver may have shortened or chained the data MDL last time. */
        PMDL m = b->data_mdl;
        cn_mdl_describe(m, (char *)c + np->np_data_off, np->np_data_size);
        b->nb.MdlChain = b->nb.CurrentMdl = m;
        b->nb.DataLength = np->np_data_size;
    }
    return &b->nb;
}

static PNET_BUFFER_LIST nbl_alloc(struct cn_nbl_pool *np, USHORT ContextSize,
                                  USHORT ContextBackFill)
{
    struct cn_nbl *c = cn_nbl_get(np);
    if (c == NULL)
        return NULL;
    if ((ContextSize != 0 || ContextBackFill != 0 || np->np_ctx_size != 0) &&
        !cn_ctx_attach(c, ContextSize, ContextBackFill)) {
        __atomic_store_n(&c->cookie, CN_NBL_COOKIE_FREE, __ATOMIC_RELAXED);
        cn_pool_put(&np->np_pool, c);
        return NULL;
    }
    if (np->np_has_nb)
        c->nbl.FirstNetBuffer = builtin_nb_init(np, c);
    return &c->nbl;
}

PNET_BUFFER_LIST NdisAllocateNetBufferList(NDIS_HANDLE PoolHandle, USHORT ContextSize,
                                           USHORT ContextBackFill)
{
    struct cn_nbl_pool *np = cn_nbl_pool_get(PoolHandle, "NdisAllocateNetBufferList");
    if (np == NULL)
        return NULL;
    PNET_BUFFER_LIST nbl = nbl_alloc(np, ContextSize, ContextBackFill);
    if (CN_VERIFYING)
        verify_alloc(nbl, __builtin_return_address(0));
    return nbl;
}

PNET_BUFFER_LIST NdisAllocateNetBufferAndNetBufferList(NDIS_HANDLE PoolHandle,
                                                       USHORT ContextSize,
                                                       USHORT ContextBackFill,
                                                       PMDL MdlChain, ULONG DataOffset,
                                                       SIZE_T DataLength)
{
    static const char fn[] = "NdisAllocateNetBufferAndNetBufferList";
    struct cn_nbl_pool *np = cn_nbl_pool_get(PoolHandle, fn);
    if (np == NULL)
        return NULL;
    if (!np->np_has_nb) {
        cn_warn("%s (%s): the pool was not made with fAllocateNetBuffer TRUE; returning NULL",
                fn, np->np_pool.p_owner);
        return NULL;
    }
    if (np->np_data_size != 0 && !atomic_exchange(&np->np_warned, true))
        cn_warn("%s (%s): the pool has DataSize %u; NdisAllocateNetBufferAndNetBufferList "
                "wants DataSize 0 (the pool's data buffer is not used)",
                fn, np->np_pool.p_owner, np->np_data_size);
    if (MdlChain == NULL && (DataOffset != 0 || DataLength != 0)) {
        cn_warn("%s (%s): MdlChain is NULL but DataOffset %u / DataLength %zu are not 0; "
                "returning NULL",
                fn, np->np_pool.p_owner, DataOffset, (size_t)DataLength);
        return NULL;
    }
    if (DataLength > MAXULONG) {
        cn_warn("%s (%s): DataLength %zu does not fit a ULONG; returning NULL", fn,
                np->np_pool.p_owner, (size_t)DataLength);
        return NULL;
    }
    PNET_BUFFER_LIST nbl = nbl_alloc(np, ContextSize, ContextBackFill);
    if (nbl == NULL)
        return NULL;
    PNET_BUFFER nb = nbl->FirstNetBuffer;
    nb->MdlChain = MdlChain;
    nb->CurrentMdl = MdlChain;
    nb->CurrentMdlOffset = 0;
    nb->DataOffset = DataOffset;
    nb->DataLength = (ULONG)DataLength;
    if (MdlChain != NULL && !cn_nb_seek(nb)) {
        cn_warn("%s (%s): DataOffset %u lies beyond the MDL chain; returning NULL", fn,
                np->np_pool.p_owner, DataOffset);
        nb->MdlChain = nb->CurrentMdl = NULL;
        nb->DataOffset = nb->DataLength = 0;
        struct cn_nbl *c = cn_nbl_take_for_free(nbl, fn);
        if (c != NULL)
            cn_nbl_put(c);
        return NULL;
    }
    if (CN_VERIFYING)
        verify_alloc(nbl, __builtin_return_address(0));
    return nbl;
}

/* ---- free ---------------------------------------------------------------------------- */

struct cn_nbl *cn_nbl_take_for_free(PNET_BUFFER_LIST nbl, const char *fn)
{
    if (nbl == NULL) {
        cn_warn("%s: NetBufferList is NULL; ignored", fn);
        return NULL;
    }
    struct cn_nbl_pool *np = cn_handle_get(nbl->NdisPoolHandle, CN_H_NBL_POOL);
    if (np == NULL) {
        cn_warn("%s: NBL %p does not come from a live NET_BUFFER_LIST pool (NBL-2: never "
                "allocated from a pool, its pool was freed, or NdisPoolHandle was "
                "overwritten); ignored",
                fn, (void *)nbl);
        return NULL;
    }
    struct cn_nbl *c = cn_nbl(nbl);
    if (c->pool != np) {
        cn_warn("%s (%s): NBL %p names pool %p in NdisPoolHandle but belongs to another "
                "pool (NdisPoolHandle was overwritten?); ignored",
                fn, np->np_pool.p_owner, (void *)nbl, nbl->NdisPoolHandle);
        return NULL;
    }
    uint32_t cookie = __atomic_load_n(&c->cookie, __ATOMIC_ACQUIRE);
    if (cookie == CN_NBL_COOKIE_FREE) {
        cn_warn("%s (%s): NBL %p is already free (double free); ignored", fn,
                np->np_pool.p_owner, (void *)nbl);
        return NULL;
    }
    if (cookie != CN_NBL_COOKIE) {
        cn_warn("%s (%s): NBL %p has a corrupted condis header (cookie %#x); ignored", fn,
                np->np_pool.p_owner, (void *)nbl, cookie);
        return NULL;
    }
    uint32_t st = atomic_load_explicit(&c->state, memory_order_acquire);
    if (st == CN_NBL_SENDING) {
        char obj[160];
        cn_nbl_text(nbl, obj, sizeof(obj));
        struct cn_vshadow *s = cn_nbl_shadow(nbl);
        cn_violation(CN_OWN3, NULL, fn, obj, s,
                     "freed an NBL that is in flight (sent, not yet completed); condis did not "
                     "free it");
        cn_verify_acted_early(s, fn, obj);
        return NULL;
    }
    if (st != CN_NBL_IDLE) {
        cn_warn("%s (%s): OWN-3: NBL %p is in flight (%s); it is not yours to free until it "
                "comes back through %s. Ignored.",
                fn, np->np_pool.p_owner, (void *)nbl,
                st == CN_NBL_SENDING ? "sent, not yet completed" : "indicated, not yet returned",
                st == CN_NBL_SENDING ? "send completion" : "NdisReturnNetBufferLists");
        return NULL;
    }
    if (CN_VERIFYING) {
        struct cn_vshadow *s = cn_vshadow_get(&c->vshadow);
        cn_nbl_verify_mp_fields(nbl, s, fn);
        cn_vhist_add(s, CN_EV_FREE, cn_current_driver());
    }
    uint32_t want = CN_NBL_COOKIE;
    if (!__atomic_compare_exchange_n(&c->cookie, &want, CN_NBL_COOKIE_FREE, false,
                                     __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
        cn_warn("%s (%s): NBL %p is already free (double free); ignored", fn,
                np->np_pool.p_owner, (void *)nbl);
        return NULL;
    }
    return c;
}

void cn_nbl_put(struct cn_nbl *c)
{
    struct cn_nbl_pool *np = c->pool;
    cn_ctx_detach(c, true);
    if (np->np_has_nb)
        cn_nb_release(builtin_nb(np, c));
    c->flags = 0;
    cn_pool_put(&np->np_pool, c);
}

VOID NdisFreeNetBufferList(PNET_BUFFER_LIST NetBufferList)
{
    struct cn_nbl *c = cn_nbl_take_for_free(NetBufferList, "NdisFreeNetBufferList");
    if (c == NULL)
        return;
    if (c->flags & CN_NBLF_CLONE) {
        cn_warn("NdisFreeNetBufferList (%s): NBL %p is a clone; free it with "
                "NdisFreeCloneNetBufferList. Freed as a clone.",
                c->pool->np_pool.p_owner, (void *)NetBufferList);
        cn_clone_put(c);
        return;
    }
    cn_nbl_put(c);
}

/* ---- checks for the other layers ------------------------------------------------------ */

struct cn_nbl *cn_nbl_check(PNET_BUFFER_LIST nbl)
{
    if (nbl_pool_of(nbl) == NULL)
        return NULL;
    struct cn_nbl *c = cn_nbl(nbl);
    if (__atomic_load_n(&c->cookie, __ATOMIC_ACQUIRE) != CN_NBL_COOKIE)
        return NULL;
    return c;
}

struct cn_nbl *cn_nbl_check_walk_slow(struct cn_nbl_walk *w, PNET_BUFFER_LIST nbl)
{
    if (CN_VERIFYING && nbl != NULL && w->w_handle != NULL && nbl->NdisPoolHandle == w->w_handle) {
        /* The same pool as the NBL before: the slab registry alone proves
         * this one is a descriptor of it, and the slab of the NBL before
         * nearly always holds it too. */
        struct cn_nbl_pool *np = (struct cn_nbl_pool *)w->w_pool;
        struct cn_nbl *c = cn_nbl(nbl);
        uintptr_t a = (uintptr_t)nbl;
        if ((a < w->w_span.sh_start || a >= w->w_span.sh_end) && !cn_span_find(nbl, &w->w_span))
            return NULL;
        if (!cn_span_hit_holds(&w->w_span, &np->np_pool, nbl) || c->pool != np ||
            __atomic_load_n(&c->cookie, __ATOMIC_ACQUIRE) != CN_NBL_COOKIE)
            return NULL;
        return c;
    }
    struct cn_nbl *c = cn_nbl_check(nbl);
    if (c != NULL) {
        w->w_handle = nbl->NdisPoolHandle;
        w->w_pool = c->pool;
    }
    return c;
}

const char *cn_nbl_owner(PNET_BUFFER_LIST nbl)
{
    if (nbl == NULL)
        return "?";
    if (cn_handle_type(nbl->NdisPoolHandle) != CN_H_NBL_POOL)
        return "?";
    const char *o = cn_handle_owner(nbl->NdisPoolHandle);
    return o ? o : "?";
}
