/*
 * cn_mem.h - condis' internal view of MDLs, NET_BUFFERs, NET_BUFFER_LISTs
 * and their pools.
 *
 * Every NBL and NB condis hands out is the public structure followed by
 * condis' own trailing space (struct cn_nbl / struct cn_nb). Drivers own the
 * public fields the WDK gives them (ProtocolReserved, MiniportReserved, ...);
 * condis keeps its bookkeeping in the trailer, never in a driver's field.
 *
 * Pools keep their descriptors: after warm-up, allocating and freeing do not
 * call malloc (a per-thread cache in front of a per-pool free list; no lock
 * shared between pools).
 */
#ifndef CN_MEM_H
#define CN_MEM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <ndis.h>

#include "../os/cn_os.h"
#include "../verify/cn_verify.h"

#define CN_NBL_COOKIE 0x4e424c21u      /* "NBL!" while allocated */
#define CN_NBL_COOKIE_FREE 0x6e626c2du /* "nbl-" while in its pool */
#define CN_NB_COOKIE 0x4e422121u
#define CN_NB_COOKIE_FREE 0x6e622d2du

/* Where an NBL is in the data path. Written by the co layer; the mem layer
 * sets CN_NBL_IDLE at allocation and refuses to free one that is not idle. */
enum cn_nbl_state {
    CN_NBL_IDLE = 0,   /* owned by the driver that allocated or received it */
    CN_NBL_SENDING,    /* between NdisCoSend* and the protocol's completion */
    CN_NBL_INDICATED,  /* indicated up, not yet returned to the miniport */
};

struct cn_nbl_pool;
struct cn_nb_pool;

struct cn_nbl {
    NET_BUFFER_LIST nbl; /* what drivers see; first, so the cast is free */

    /* ---- mem layer ---- */
    uint32_t cookie;               /* CN_NBL_COOKIE / CN_NBL_COOKIE_FREE */
    uint32_t flags;                /* CN_NBLF_* */
    struct cn_nbl_pool *pool;      /* owning pool */
    struct cn_nbl *free_next;      /* link while in the pool's free list */

    /* ---- co layer: set when sent or indicated, cleared when back ---- */
    _Atomic uint32_t state;        /* enum cn_nbl_state */
    ULONG send_flags;              /* SendFlags of the NdisCoSend* call */
    void *vc;                      /* struct cn_vc it travels on */
    NDIS_HANDLE vc_handle;         /* that VC's handle at submission */
    struct cn_nbl *chain_next;     /* next queued chain (per-VC send queue) */
    NDIS_HANDLE rx_adapter;        /* adapter that indicated it (receive) */
    uint64_t t_submit;             /* cn_ticks() at submission, for latency */
    void *co_private;              /* compat5 / verifier */
    void *_Atomic vshadow;         /* the verifier's struct cn_vshadow, once it looked */
};

#define CN_NBLF_HAS_NB 0x1      /* pool made with fAllocateNetBuffer */
#define CN_NBLF_CLONE 0x2       /* allocated by NdisAllocateCloneNetBufferList */

#define CN_NBLF_CLONE_ORIG_MDLS 0x4 /* clone made with NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS */
#define CN_NBLF_CTX_WARNED 0x8  /* a context-size warning was given for it */
#define CN_NBLF_WRAPPER 0x10    /* compat5's NBL around a 5.x packet: the packet's
                                   own checks stand for OWN-1 */

struct cn_nb {
    NET_BUFFER nb;
    uint32_t cookie;
    uint32_t flags;                /* CN_NBF_* */
    /* Retreats that needed new memory, most recent first (bit 0): each
     * chained a new MDL in front, and when there was unused space in front
     * of the data, a condis "splice" MDL after it that stands for the rest
     * of the MDL the data started in (the original chain is kept in the
     * splice's header and comes back when the retreat is advanced away).
     * rt_n sits with the flags: a 5.x send checks both on every packet. */
    uint8_t rt_n;                  /* such retreats outstanding */
    struct cn_nb_pool *pool;       /* NULL when it is the NB built into an NBL */
    struct cn_nb *free_next;
    MDL *data_mdl;                 /* MDL condis allocated for pool DataSize */
    uint32_t rt_driver;            /* bit i: MDL i came from the driver's handler */
    uint32_t rt_splice;            /* bit i: MDL i is followed by a splice */
};

#define CN_NBF_BUILTIN 0x1     /* the NB that comes with an NBL of its pool */
#define CN_NBF_CLONE_MDLS 0x2  /* its MDLs were allocated by a clone */
#define CN_NBF_CLONE 0x4       /* allocated by NdisAllocateCloneNetBufferList */
#define CN_NB_MAX_RETREATS 16

static inline struct cn_nbl *cn_nbl(PNET_BUFFER_LIST nbl)
{
    return (struct cn_nbl *)nbl;
}

/* The trailer of an NBL if it came from a live condis pool and is allocated,
 * else NULL (NBL-2: not from a pool, or already freed). O(1). */
struct cn_nbl *cn_nbl_check(PNET_BUFFER_LIST nbl);

/* cn_nbl_check over a chain. The NBLs of a chain nearly always come from
 * one pool, so a walk keeps the pool handle it last found live and checks
 * the next NBL against it without the handle table: same answer, but the
 * table lookup (a quarter of an inline send of chains of 32 when it was
 * made per NBL) is made once per run of one pool. The pool cannot go away
 * during the walk: freeing it while its NBLs are in a call is a bug that
 * the first lookup would not catch either. With the verifier on, every NBL
 * is also looked up in the slab registry: it must be a descriptor of the
 * pool its handle names (NBL-2). */
/* A slab the registry (span.c) found: which pool's, where, and its
 * stride as 2^sh_shift times an odd number whose inverse modulo 2^64 is
 * sh_inv, so that x is a multiple of the stride when its low sh_shift bits
 * are zero and (x >> sh_shift) * sh_inv is at most sh_lim (no division). */
struct cn_span_hit {
    uintptr_t sh_start, sh_end;        /* first descriptor, one past the last */
    unsigned sh_shift;
    uint64_t sh_inv, sh_lim;
    const struct cn_pool *sh_pool;
};

/* Whether addr is the start of a descriptor of p in the slab h. */
static inline bool cn_span_hit_holds(const struct cn_span_hit *h, const struct cn_pool *p,
                                     const void *addr)
{
    uintptr_t a = (uintptr_t)addr;
    if (a < h->sh_start || a >= h->sh_end || h->sh_pool != p)
        return false;
    uint64_t x = a - h->sh_start;
    return (x & ((UINT64_C(1) << h->sh_shift) - 1)) == 0 &&
           (x >> h->sh_shift) * h->sh_inv <= h->sh_lim;
}

struct cn_nbl_walk {
    NDIS_HANDLE w_handle;              /* the pool handle last found live */
    const void *w_pool;                /* its struct cn_nbl_pool */
    struct cn_span_hit w_span;         /* verifier: the slab of the last NBL */
};

struct cn_nbl *cn_nbl_check_walk_slow(struct cn_nbl_walk *w, PNET_BUFFER_LIST nbl);

static inline struct cn_nbl *cn_nbl_check_walk(struct cn_nbl_walk *w, PNET_BUFFER_LIST nbl)
{
    if (__builtin_expect(CN_VERIFYING || nbl == NULL || w->w_handle == NULL ||
                             nbl->NdisPoolHandle != w->w_handle, 0))
        return cn_nbl_check_walk_slow(w, nbl);
    struct cn_nbl *c = cn_nbl(nbl);
    if (__builtin_expect(c->pool != w->w_pool ||
                             __atomic_load_n(&c->cookie, __ATOMIC_ACQUIRE) != CN_NBL_COOKIE, 0))
        return NULL;
    return c;
}

/* The name of the driver that allocated the pool of an NBL, or "?". */
const char *cn_nbl_owner(PNET_BUFFER_LIST nbl);

/* "NBL 0x... of pool 'Tag' (owner)": an NBL for a verifier finding. */
const char *cn_nbl_text(PNET_BUFFER_LIST nbl, char *buf, size_t len);
/* Its shadow (created) with the verifier on, NULL when off or for an NBL
 * that is not condis'. */
struct cn_vshadow *cn_nbl_shadow(PNET_BUFFER_LIST nbl);
/* OWN-4: report when the MiniportReserved fields changed since the NBL's
 * last completion (s: its shadow, or NULL). */
void cn_nbl_verify_mp_fields(PNET_BUFFER_LIST nbl, struct cn_vshadow *s, const char *call);

/* ---- leak check ----------------------------------------------------------- */
struct cn_pool_leak {
    void *pl_site;        /* where the pool was allocated, or NULL */
    const char *pl_kind;  /* "NBL pool", "NB pool", "MDL", "packet pool", "buffer pool" */
    const char *pl_owner; /* driver name */
    ULONG pl_tag;
    size_t pl_outstanding; /* descriptors not returned */
    bool pl_pool_open;     /* the pool itself was not freed */
};
/* Call fn for each pool with descriptors out, or not freed; returns count. */
size_t cn_mem_leaks(void (*fn)(const struct cn_pool_leak *l, void *arg), void *arg);
/* Descriptors (NBLs, NBs, MDLs, and the NDIS 5 packets and buffer
 * descriptors of compat5) currently allocated from all pools. */
size_t cn_mem_outstanding(void);
/* Free every pool and descriptor (runtime teardown; after the leak report). */
void cn_mem_fini(void);

/* ---- limits (tests and fault injection) ---------------------------------
 * Every pool has at most `max` descriptors out at a time (0: unlimited, the
 * default); an allocation past it returns NULL as an exhausted pool does on
 * Windows. Applies at once to existing pools. */
void cn_mem_set_pool_limit(size_t max);

/* ======================================================================
 * Internals of the layer (pool.c, mdl.c, nbl.c, nb.c, context.c, clone.c,
 * data.c). Other layers use what is above this line.
 * ====================================================================== */
#include <pthread.h>

/* ---- generic descriptor pool (pool.c) -----------------------------------
 * Descriptors live in slabs that are carved once and never freed before
 * the pool is. A free descriptor sits either in the pool's free list
 * (p_lock) or in the per-thread cache of the thread slot that freed it (no
 * lock: only that thread touches it). Allocation and free move descriptors
 * between the two in batches, so the lock is taken once per batch.
 */
#define CN_PCACHE_MAX 32
#define CN_PCACHE_BATCH 16
#define CN_SLAB_MAX 64

enum cn_pool_kind {
    CN_POOL_NBL = 1,
    CN_POOL_NB,
    CN_POOL_MDL,
    CN_POOL_PACKET, /* NDIS 5 packet pool (compat5/packet.c) */
    CN_POOL_BUFFER, /* NDIS 5 buffer pool (compat5/buffer.c) */
};

/* A pool struct of a kind not known here (compat5's) is a struct cn_pool
 * followed by at most this many bytes of its own: cn_pool_struct_alloc
 * hands out storage of one size for every kind. */
#define CN_POOL_EXTRA_MAX 128

struct cn_pcache {
    uint32_t pc_n;
    void *pc_elem[CN_PCACHE_MAX];
} __attribute__((aligned(64)));

struct cn_slab;
struct cn_pool;

/* Called once for every descriptor when its slab is carved (memory zeroed). */
typedef void cn_pool_carve_fn(struct cn_pool *p, void *elem);
/* Called by cn_mem_fini for every descriptor of a pool torn down with
 * descriptors out: release what hangs off an allocated one. */
typedef void cn_pool_reap_fn(struct cn_pool *p, void *elem);

struct cn_pool {
    uint32_t p_magic;             /* CN_POOL_MAGIC while open */
    enum cn_pool_kind p_kind;
    NDIS_HANDLE p_handle;         /* CN_H_NBL_POOL / CN_H_NB_POOL, or NULL */
    const char *p_owner;          /* driver name, or "condis" */
    ULONG p_tag;
    bool p_internal;              /* condis' own: never "not freed" */
    size_t p_elem_size;           /* bytes per descriptor, a multiple of 64 */
    size_t p_link_off;            /* offset of the free-list link in one */
    size_t p_slab_count;          /* descriptors per slab */
    cn_pool_carve_fn *p_carve;
    cn_pool_reap_fn *p_reap;
    pthread_mutex_t p_lock;
    void *p_free;                 /* free list (p_lock) */
    size_t p_nfree;               /* (p_lock) */
    size_t p_carved;              /* (p_lock) */
    struct cn_slab *p_slabs;      /* (p_lock) */
    _Atomic size_t p_out;         /* allocated and not returned */
    size_t p_max;                 /* most descriptors out at once; 0: no bound
                                     (set after cn_pool_setup, before use) */
    void *p_site;                 /* where the driver allocated it (leak reports) */
    struct cn_pool *p_next;       /* registry (reg lock) */
    struct cn_pcache p_cache[CN_MAX_THREAD_SLOTS];
};

#define CN_POOL_MAGIC 0x504f4f4cu /* "POOL" */

/* The slab registry (span.c): which pool's slab holds an address, found
 * without reading at the address. Slabs are entered when carved and
 * removed when freed. */
int cn_span_add(const struct cn_pool *p, const void *first, size_t count, size_t elem);
void cn_span_remove(const void *first, size_t count, size_t elem);
/* Whether addr is the start of a descriptor of one of p's slabs. */
bool cn_span_holds(const struct cn_pool *p, const void *addr);
/* The slab that holds addr, into *out; false when none does. */
bool cn_span_find(const void *addr, struct cn_span_hit *out);
void cn_span_fini(void);

/* Zeroed, type-stable storage for a pool of either kind (never returned to
 * malloc before cn_mem_fini, so a lookup racing with a free reads memory). */
void *cn_pool_struct_alloc(void);
/* Set up the generic part and register it; 0 or -errno. */
int cn_pool_setup(struct cn_pool *p, enum cn_pool_kind kind, const char *owner, ULONG tag,
                  size_t elem_size, size_t link_off, cn_pool_carve_fn *carve,
                  cn_pool_reap_fn *reap);
/* A free descriptor, counted as out; NULL past the limit or without memory. */
void *cn_pool_get(struct cn_pool *p);
/* Give back a descriptor that cn_pool_get returned. */
void cn_pool_put(struct cn_pool *p, void *elem);
/* Call fn for every descriptor carved in p, free or not (the verifier's
 * scans; p_lock held, so fn must not use the pool). */
void cn_pool_each(struct cn_pool *p, void (*fn)(struct cn_pool *p, void *elem, void *arg),
                  void *arg);
/* Call fn for every live pool of a kind (registry lock held). */
void cn_mem_each_pool(enum cn_pool_kind kind, void (*fn)(struct cn_pool *p, void *arg),
                      void *arg);
/* Tear a pool down: -EBUSY (nothing done) while descriptors are out unless
 * force; frees the slabs, the handle and the struct. */
int cn_pool_destroy(struct cn_pool *p, bool force);

/* ---- NBL and NB pools (nbl.c, nb.c) ------------------------------------ */
struct cn_nbl_pool {
    struct cn_pool np_pool;
    UCHAR np_protocol_id;
    bool np_has_nb;
    USHORT np_ctx_size;           /* preallocated context bytes (rounded) */
    ULONG np_data_size;
    size_t np_nb_off, np_ctx_off, np_mdl_off, np_data_off; /* in a descriptor */
    _Atomic bool np_warned;       /* a usage warning was given once */
};

/* Set up an NBL that NdisAllocateNetBufferAndNetBufferList made, and that
 * is idle again, to map DataLength bytes of MdlChain from offset 0, as a
 * fresh one would (inline: a 5.x send does it per packet): Next, Status,
 * Scratch and the flags are cleared, and so
 * is the per-NBL information a miniport writes on completion (LSO's
 * payload count for one, which must not read as a request next time); with
 * the verifier on, all of the per-NBL information.
 * The Miniport/ProtocolReserved areas are left alone: they are their
 * owners', and OWN-4 compares the miniport's. false, and the NBL untouched,
 * if a driver left on it what only a free undoes (an NBL context, a
 * retreat, a NET_BUFFER list other than the one built in). */
static inline bool cn_nbl_rewrap(PNET_BUFFER_LIST nbl, PMDL MdlChain, ULONG DataLength)
{
    struct cn_nbl *c = cn_nbl(nbl);
    struct cn_nbl_pool *np = c->pool;
    if (!np->np_has_nb || np->np_data_size != 0 || nbl->Context != NULL ||
        nbl->ParentNetBufferList != NULL || nbl->ChildRefCount != 0 ||
        atomic_load_explicit(&c->state, memory_order_relaxed) != CN_NBL_IDLE)
        return false;
    struct cn_nb *b = (struct cn_nb *)((char *)c + np->np_nb_off);
    if (nbl->FirstNetBuffer != &b->nb || b->nb.Next != NULL || b->rt_n != 0 ||
        b->flags != CN_NBF_BUILTIN)
        return false;
    nbl->Next = NULL;
    nbl->Scratch = NULL;
    nbl->NblFlags = 0;
    nbl->Flags = 0;
    nbl->Status = NDIS_STATUS_SUCCESS;
    /* The per-NBL information is the sender's, and condis, the wrapper's
     * sender, sets none. What a miniport writes on completion lives in the
     * first three entries (TcpOffloadBytesTransferred, the IPsec offload
     * result, LSO's TcpPayload), which share a cache line with Status:
     * those are cleared every time. The rest is only looked at with the
     * verifier on: reading all 27 entries, four cache lines nobody else
     * touches, cost 3 ns a packet (10% of a 5.x send). */
    nbl->NetBufferListInfo[TcpOffloadBytesTransferred] = NULL;
    nbl->NetBufferListInfo[IPsecOffloadV1NetBufferListInfo] = NULL;
    nbl->NetBufferListInfo[TcpLargeSendNetBufferListInfo] = NULL;
    if (CN_VERIFYING) {
        uintptr_t any = 0;
        for (unsigned i = 0; i < MaxNetBufferListInfo; i++)
            any |= (uintptr_t)nbl->NetBufferListInfo[i];
        if (any != 0)
            memset(nbl->NetBufferListInfo, 0, sizeof(nbl->NetBufferListInfo));
    }
    b->nb.MdlChain = b->nb.CurrentMdl = MdlChain;
    b->nb.CurrentMdlOffset = 0;
    b->nb.DataOffset = 0;
    b->nb.DataLength = DataLength;
    return true;
}

struct cn_nb_pool {
    struct cn_pool bp_pool;
    ULONG bp_data_size;
    size_t bp_mdl_off, bp_data_off;
    _Atomic bool bp_warned;
};

/* The pool of a pool handle, or NULL with a warning naming fn. */
struct cn_nbl_pool *cn_nbl_pool_get(NDIS_HANDLE h, const char *fn);
struct cn_nb_pool *cn_nb_pool_get(NDIS_HANDLE h, const char *fn);
/* condis' own NB pool, for clones given no NB pool (no handle). */
struct cn_nb_pool *cn_nb_pool_internal(void);
/* Forget it (cn_mem_fini destroys it with the other pools). */
void cn_nb_pool_internal_forget(void);

/* An NBL ready to be handed out: public fields zeroed, NdisPoolHandle set,
 * no NB attached (FirstNetBuffer NULL) and no context. */
struct cn_nbl *cn_nbl_get(struct cn_nbl_pool *np);
/* Check that a driver may free nbl now (allocated, from its pool, idle) and
 * mark it free; NULL with a warning naming fn otherwise. */
struct cn_nbl *cn_nbl_take_for_free(PNET_BUFFER_LIST nbl, const char *fn);
/* Return an NBL marked free by cn_nbl_take_for_free (contexts released). */
void cn_nbl_put(struct cn_nbl *c);

/* A zeroed NB from a pool, NdisPoolHandle set. */
struct cn_nb *cn_nb_get(struct cn_nb_pool *bp);
/* Undo what condis hung on an NB (retreat and clone MDLs) and, for a pool
 * NB, give it back. For the NB built into an NBL only the first part. */
void cn_nb_release(struct cn_nb *c);
/* Free the MDLs retreats left on an NB and give its original chain back
 * (data.c); MDLs from a driver's handler go to free_handler if given. */
void cn_nb_unwind(struct cn_nb *b, NET_BUFFER_FREE_MDL_HANDLER free_handler, bool warn);
/* Free a clone's NBs and condis MDLs and the clone (clone.c); the clone was
 * marked free by cn_nbl_take_for_free. */
void cn_clone_put(struct cn_nbl *c);
/* CurrentMdl/CurrentMdlOffset from MdlChain and DataOffset; false when
 * DataOffset lies beyond the chain (fields left as they were). */
bool cn_nb_seek(PNET_BUFFER nb);

/* ---- contexts (context.c) --------------------------------------------- */
/* Give an NBL its context at allocation: the pool's preallocated block
 * (ContextSize bytes in use at its end) when ContextSize + ContextBackFill
 * fit in it, else a block of that size; none when the pool preallocates
 * none and nothing is asked. false without memory. */
bool cn_ctx_attach(struct cn_nbl *c, USHORT size, USHORT backfill);
/* Free every context block condis allocated for an NBL; warn about blocks
 * from NdisAllocateNetBufferListContext the driver did not free. */
void cn_ctx_detach(struct cn_nbl *c, bool warn);

/* ---- MDLs (mdl.c) ---------------------------------------------------------- */
enum cn_mdl_kind {
    CN_MDL_DRIVER = 1, /* NdisAllocateMdl / IoAllocateMdl: the driver's to free */
    CN_MDL_DATA,       /* built into a pool descriptor for DataSize */
    CN_MDL_RETREAT,    /* NdisRetreatNetBufferDataStart's own, with its buffer */
    CN_MDL_CLONE,      /* a clone's view of the original data */
    CN_MDL_SPLICE,     /* retreat: stands for the rest of an MDL, see cn_nb */
    CN_MDL_BUFFER,     /* NDIS 5 buffer descriptor from a buffer pool (md_pool) */
};

struct cn_mdl_owner;

/* Every MDL condis allocates has this header in front of it. */
struct cn_mdl {
    uint32_t md_cookie;             /* CN_MDL_COOKIE / CN_MDL_COOKIE_FREE */
    uint32_t md_kind;               /* enum cn_mdl_kind */
    struct cn_mdl_owner *md_owner;  /* CN_MDL_DRIVER: counted against it */
    struct cn_mdl *md_free_next;
    void *md_buf;                   /* buffer condis allocated for it */
    /* CN_MDL_SPLICE: the chain as it was before the retreat */
    MDL *md_saved_head;
    ULONG md_saved_offset;          /* DataOffset then */
    ULONG md_pad;
    struct cn_pool *md_pool;        /* CN_MDL_BUFFER: its buffer pool */
    void *md_site;                  /* CN_MDL_BUFFER, verifier on: where it was allocated */
    MDL md_mdl;
};

#define CN_MDL_COOKIE 0x4d444c21u      /* "MDL!" */
#define CN_MDL_COOKIE_FREE 0x6d646c2du /* "mdl-" */

static inline struct cn_mdl *cn_mdl_hdr(PMDL m)
{
    return CONTAINING_RECORD(m, struct cn_mdl, md_mdl);
}

/* Describe len bytes at va (built for nonpaged pool). */
void cn_mdl_describe(PMDL m, void *va, ULONG len);
/* An MDL of the given kind describing len bytes at va, or, when va is NULL,
 * a fresh buffer of len bytes that is freed with the MDL. NULL without
 * memory. Counted in cn_mem_outstanding. */
PMDL cn_mdl_alloc(enum cn_mdl_kind kind, void *va, ULONG len);
/* Free an MDL from cn_mdl_alloc (and its buffer). */
void cn_mdl_release(PMDL m);
/* Set up the header of an MDL built into a descriptor (CN_MDL_DATA). */
void cn_mdl_embed(struct cn_mdl *h);
/* Leak groups for MDLs the drivers allocated (pool.c calls it). */
size_t cn_mdl_leaks(void (*fn)(const struct cn_pool_leak *l, void *arg), void *arg);
/* Forget the MDL owners (cn_mem_fini). */
void cn_mdl_fini(void);
/* The MDL pool, if it exists (cn_mem_fini). */
struct cn_pool *cn_mdl_pool_peek(void);

#endif /* CN_MEM_H */
