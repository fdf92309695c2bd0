/*
 * mdl.c - MDLs: the NDIS and Io routines drivers call, and the MDLs condis
 * itself hangs on NET_BUFFERs (retreat, clone, splice).
 *
 * Every MDL condis allocates comes from one internal descriptor pool and
 * has a struct cn_mdl header in front of it, so a free can tell a double
 * free, an MDL condis owns, or a pointer it never gave out, without
 * touching freed memory. MDLs a driver allocates are counted per driver for
 * the leak report ("MDL").
 *
 * All functions: any thread, IRQL <= DISPATCH_LEVEL, never block.
 */
#include <stdlib.h>
#include <string.h>

#include "cn_mem.h"

/* A driver that allocated MDLs; the list only grows (until cn_mem_fini), so
 * it is read without a lock. */
struct cn_mdl_owner {
    const char *mo_name;
    _Atomic size_t mo_count;
    struct cn_mdl_owner *mo_next;
};

static pthread_mutex_t mdl_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(struct cn_pool *) mdl_pool;
static _Atomic(struct cn_mdl_owner *) mdl_owners;

static void mdl_carve(struct cn_pool *p, void *elem)
{
    (void)p;
    struct cn_mdl *h = elem;
    h->md_cookie = CN_MDL_COOKIE_FREE;
}

/* cn_mem_fini: buffers of MDLs nobody freed. */
static void mdl_reap(struct cn_pool *p, void *elem)
{
    (void)p;
    struct cn_mdl *h = elem;
    if (h->md_cookie == CN_MDL_COOKIE && h->md_buf != NULL) {
        free(h->md_buf);
        h->md_buf = NULL;
    }
}

static struct cn_pool *pool(void)
{
    struct cn_pool *p = atomic_load_explicit(&mdl_pool, memory_order_acquire);
    if (p != NULL)
        return p;
    pthread_mutex_lock(&mdl_lock);
    p = atomic_load_explicit(&mdl_pool, memory_order_relaxed);
    if (p == NULL) {
        p = cn_pool_struct_alloc();
        if (p != NULL) {
            p->p_internal = true;
            if (cn_pool_setup(p, CN_POOL_MDL, "condis", 0, sizeof(struct cn_mdl),
                              offsetof(struct cn_mdl, md_free_next), mdl_carve, mdl_reap) != 0) {
                free(p);
                p = NULL;
            } else {
                atomic_store_explicit(&mdl_pool, p, memory_order_release);
            }
        }
    }
    pthread_mutex_unlock(&mdl_lock);
    return p;
}

struct cn_pool *cn_mdl_pool_peek(void)
{
    return atomic_load_explicit(&mdl_pool, memory_order_acquire);
}

static struct cn_mdl_owner *owner_of(const char *name)
{
    for (struct cn_mdl_owner *o = atomic_load_explicit(&mdl_owners, memory_order_acquire);
         o != NULL; o = o->mo_next) {
        if (o->mo_name == name || strcmp(o->mo_name, name) == 0)
            return o;
    }
    pthread_mutex_lock(&mdl_lock);
    struct cn_mdl_owner *o;
    for (o = atomic_load_explicit(&mdl_owners, memory_order_relaxed); o != NULL; o = o->mo_next) {
        if (o->mo_name == name || strcmp(o->mo_name, name) == 0)
            break;
    }
    if (o == NULL && (o = calloc(1, sizeof(*o))) != NULL) {
        o->mo_name = name;
        o->mo_next = atomic_load_explicit(&mdl_owners, memory_order_relaxed);
        atomic_store_explicit(&mdl_owners, o, memory_order_release);
    }
    pthread_mutex_unlock(&mdl_lock);
    return o;
}

/* ---- internal MDLs --------------------------------------------------------------- */

void cn_mdl_describe(PMDL m, void *va, ULONG len)
{
    MmInitializeMdl(m, va, len);
    /* condis allocates no PFN array behind its MDLs. */
    m->Size = (CSHORT)sizeof(MDL);
    MmBuildMdlForNonPagedPool(m);
}

void cn_mdl_embed(struct cn_mdl *h)
{
    h->md_cookie = CN_MDL_COOKIE;
    h->md_kind = CN_MDL_DATA;
    h->md_owner = NULL;
    h->md_buf = NULL;
}

static struct cn_mdl *mdl_get(enum cn_mdl_kind kind)
{
    struct cn_pool *p = pool();
    if (p == NULL)
        return NULL;
    struct cn_mdl *h = cn_pool_get(p);
    if (h == NULL)
        return NULL;
    h->md_kind = kind;
    h->md_owner = NULL;
    h->md_buf = NULL;
    h->md_saved_head = NULL;
    h->md_saved_offset = 0;
    h->md_pool = NULL;
    __atomic_store_n(&h->md_cookie, CN_MDL_COOKIE, __ATOMIC_RELEASE);
    return h;
}

static void mdl_put(struct cn_mdl *h)
{
    if (h->md_buf != NULL) {
        free(h->md_buf);
        h->md_buf = NULL;
    }
    memset(&h->md_mdl, 0, sizeof(h->md_mdl));
    cn_pool_put(atomic_load_explicit(&mdl_pool, memory_order_acquire), h);
}

PMDL cn_mdl_alloc(enum cn_mdl_kind kind, void *va, ULONG len)
{
    struct cn_mdl *h = mdl_get(kind);
    if (h == NULL)
        return NULL;
    if (va == NULL) {
        /* At least one byte so that the buffer has an address of its own. */
        h->md_buf = malloc(len ? len : 1);
        if (h->md_buf == NULL) {
            __atomic_store_n(&h->md_cookie, CN_MDL_COOKIE_FREE, __ATOMIC_RELAXED);
            mdl_put(h);
            return NULL;
        }
        va = h->md_buf;
    }
    cn_mdl_describe(&h->md_mdl, va, len);
    return &h->md_mdl;
}

void cn_mdl_release(PMDL m)
{
    struct cn_mdl *h = cn_mdl_hdr(m);
    uint32_t want = CN_MDL_COOKIE;
    if (!__atomic_compare_exchange_n(&h->md_cookie, &want, CN_MDL_COOKIE_FREE, false,
                                     __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
        cn_warn("condis: internal MDL %p released twice (cookie %#x); ignored", (void *)m,
                want);
        return;
    }
    mdl_put(h);
}

/* ---- Windows routines ------------------------------------------------------------ */

VOID MmBuildMdlForNonPagedPool(PMDL MemoryDescriptorList)
{
    if (MemoryDescriptorList == NULL) {
        cn_warn("MmBuildMdlForNonPagedPool: MDL is NULL; ignored");
        return;
    }
    MemoryDescriptorList->MappedSystemVa = MmGetMdlVirtualAddress(MemoryDescriptorList);
    MemoryDescriptorList->MdlFlags |= MDL_SOURCE_IS_NONPAGED_POOL;
}

/* A driver's MDL: counted against owner until freed. */
static PMDL driver_mdl_alloc(const char *owner, PVOID va, ULONG len, bool build)
{
    struct cn_mdl_owner *o = owner_of(owner);
    if (o == NULL)
        return NULL;
    struct cn_mdl *h = mdl_get(CN_MDL_DRIVER);
    if (h == NULL)
        return NULL;
    h->md_owner = o;
    atomic_fetch_add_explicit(&o->mo_count, 1, memory_order_relaxed);
    PMDL m = &h->md_mdl;
    MmInitializeMdl(m, va, len);
    m->Size = (CSHORT)sizeof(MDL);
    m->MdlFlags = MDL_ALLOCATED_FIXED_SIZE;
    if (build)
        MmBuildMdlForNonPagedPool(m);
    return m;
}

static void driver_mdl_free(PMDL Mdl, const char *fn)
{
    if (Mdl == NULL) {
        cn_warn("%s: MDL is NULL; ignored", fn);
        return;
    }
    struct cn_mdl *h = cn_mdl_hdr(Mdl);
    uint32_t cookie = __atomic_load_n(&h->md_cookie, __ATOMIC_ACQUIRE);
    if (cookie == CN_MDL_COOKIE_FREE) {
        cn_warn("%s: MDL %p was already freed; ignored", fn, (void *)Mdl);
        return;
    }
    if (cookie != CN_MDL_COOKIE) {
        cn_warn("%s: MDL %p was not allocated by NdisAllocateMdl/IoAllocateMdl; ignored", fn,
                (void *)Mdl);
        return;
    }
    if (h->md_kind == CN_MDL_BUFFER) {
        cn_warn("%s: MDL %p is an NDIS buffer descriptor from NdisAllocateBuffer/"
                "NdisCopyBuffer; free it with NdisFreeBuffer. Ignored.",
                fn, (void *)Mdl);
        return;
    }
    if (h->md_kind != CN_MDL_DRIVER) {
        cn_warn("%s: MDL %p belongs to condis (it came with a NET_BUFFER, a clone or a "
                "retreat) and is freed with it; ignored",
                fn, (void *)Mdl);
        return;
    }
    uint32_t want = CN_MDL_COOKIE;
    if (!__atomic_compare_exchange_n(&h->md_cookie, &want, CN_MDL_COOKIE_FREE, false,
                                     __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
        cn_warn("%s: MDL %p was already freed; ignored", fn, (void *)Mdl);
        return;
    }
    if (h->md_owner != NULL)
        atomic_fetch_sub_explicit(&h->md_owner->mo_count, 1, memory_order_relaxed);
    mdl_put(h);
}

PMDL NdisAllocateMdl(NDIS_HANDLE NdisHandle, PVOID VirtualAddress, UINT Length)
{
    const char *owner = cn_handle_owner(NdisHandle);
    if (owner == NULL) {
        cn_warn("NdisAllocateMdl: NdisHandle %p is not a live NDIS handle; returning NULL",
                NdisHandle);
        return NULL;
    }
    return driver_mdl_alloc(owner, VirtualAddress, Length, true);
}

VOID NdisFreeMdl(PMDL Mdl)
{
    driver_mdl_free(Mdl, "NdisFreeMdl");
}

PMDL IoAllocateMdl(PVOID VirtualAddress, ULONG Length, BOOLEAN SecondaryBuffer,
                   BOOLEAN ChargeQuota, PIRP Irp)
{
    (void)SecondaryBuffer;
    (void)ChargeQuota;
    if (Irp != NULL)
        cn_warn("IoAllocateMdl: condis has no IRPs; the MDL is not chained to Irp %p",
                (void *)Irp);
    const char *owner = cn_current_driver();
    return driver_mdl_alloc(owner ? owner : "?", VirtualAddress, Length, false);
}

VOID IoFreeMdl(PMDL Mdl)
{
    driver_mdl_free(Mdl, "IoFreeMdl");
}

/* ---- leaks and teardown ------------------------------------------------------------ */

size_t cn_mdl_leaks(void (*fn)(const struct cn_pool_leak *l, void *arg), void *arg)
{
    size_t n = 0;
    for (struct cn_mdl_owner *o = atomic_load_explicit(&mdl_owners, memory_order_acquire);
         o != NULL; o = o->mo_next) {
        size_t c = atomic_load_explicit(&o->mo_count, memory_order_acquire);
        if (c == 0)
            continue;
        n++;
        if (fn != NULL) {
            struct cn_pool_leak l = {
                .pl_kind = "MDL",
                .pl_owner = o->mo_name,
                .pl_tag = 0,
                .pl_outstanding = c,
                .pl_pool_open = false,
            };
            fn(&l, arg);
        }
    }
    return n;
}

void cn_mdl_fini(void)
{
    pthread_mutex_lock(&mdl_lock);
    struct cn_mdl_owner *o = atomic_exchange_explicit(&mdl_owners, NULL, memory_order_acq_rel);
    atomic_store_explicit(&mdl_pool, NULL, memory_order_release);
    pthread_mutex_unlock(&mdl_lock);
    while (o != NULL) {
        struct cn_mdl_owner *next = o->mo_next;
        free(o);
        o = next;
    }
}
