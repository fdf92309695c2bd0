/*
 * memory.c - tracked memory for drivers (NdisAllocateMemory* and friends).
 *
 * Each block is a header followed by the caller's bytes. Live blocks are
 * kept in hash tables keyed by address, striped over STRIPES mutexes, so
 * that a free looks the pointer up before touching it: an unknown or
 * already freed pointer is refused with a warning instead of corrupting
 * the heap, and what is still allocated can be listed by owner and tag.
 * No lock is shared by all threads: two allocations meet only when their
 * addresses hash to the same stripe.
 */
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include "os_priv.h"
#include "../verify/cn_verify.h"

#define STRIPES 64
#define MEM_ALIGN 16
#define MEM_MAGIC 0x4d4e4443u /* "CDNM" */
#define MEM_DEAD 0x44414544u  /* "DEAD" */

struct cn_mem_hdr {
    struct cn_mem_hdr *mh_next; /* hash chain (stripe lock) */
    const char *mh_owner;       /* driver name, or "?" */
    void *mh_site;              /* caller's return address */
    size_t mh_len;
    ULONG mh_tag;
    uint32_t mh_magic;
};

/* The header is padded so that the caller's bytes stay 16-byte aligned. */
#define HDR_SIZE ((sizeof(struct cn_mem_hdr) + MEM_ALIGN - 1) & ~(size_t)(MEM_ALIGN - 1))

struct stripe {
    pthread_mutex_t s_lock;
    struct cn_mem_hdr **s_buckets;
    size_t s_nbuckets; /* a power of two, or 0 before the first block */
    size_t s_count;
} __attribute__((aligned(64)));

static struct stripe stripes[STRIPES] = {
#define S1 { PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0 }
#define S4 S1, S1, S1, S1
#define S16 S4, S4, S4, S4
    S16, S16, S16, S16
#undef S16
#undef S4
#undef S1
};

static inline size_t addr_hash(const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p >> 4;
    x ^= x >> 29;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 32;
    return (size_t)x;
}

static inline struct stripe *stripe_of(size_t h)
{
    return &stripes[h % STRIPES];
}

/* Caller holds s_lock. Doubles the bucket array; false if memory is short
 * (the table then just gets longer chains). */
static bool stripe_grow_locked(struct stripe *s)
{
    size_t n = s->s_nbuckets ? s->s_nbuckets * 2 : 64;
    struct cn_mem_hdr **b = calloc(n, sizeof(*b));
    if (b == NULL)
        return false;
    for (size_t i = 0; i < s->s_nbuckets; i++) {
        struct cn_mem_hdr *h = s->s_buckets[i];
        while (h != NULL) {
            struct cn_mem_hdr *next = h->mh_next;
            size_t j = (addr_hash(h) / STRIPES) & (n - 1);
            h->mh_next = b[j];
            b[j] = h;
            h = next;
        }
    }
    free(s->s_buckets);
    s->s_buckets = b;
    s->s_nbuckets = n;
    return true;
}

static void *mem_alloc(size_t len, ULONG tag, const char *owner, void *site)
{
    if (len > SIZE_MAX - HDR_SIZE - MEM_ALIGN)
        return NULL;
    size_t total = (HDR_SIZE + len + MEM_ALIGN - 1) & ~(size_t)(MEM_ALIGN - 1);
    struct cn_mem_hdr *h = aligned_alloc(MEM_ALIGN, total);
    if (h == NULL)
        return NULL;
    h->mh_owner = owner != NULL ? owner : "?";
    h->mh_site = site;
    h->mh_len = len;
    h->mh_tag = tag;
    h->mh_magic = MEM_MAGIC;
    size_t hash = addr_hash(h);
    struct stripe *s = stripe_of(hash);
    pthread_mutex_lock(&s->s_lock);
    if (s->s_count >= s->s_nbuckets && !stripe_grow_locked(s) && s->s_nbuckets == 0) {
        pthread_mutex_unlock(&s->s_lock);
        free(h);
        return NULL;
    }
    size_t j = (hash / STRIPES) & (s->s_nbuckets - 1);
    h->mh_next = s->s_buckets[j];
    s->s_buckets[j] = h;
    s->s_count++;
    pthread_mutex_unlock(&s->s_lock);
    return (char *)h + HDR_SIZE;
}

/* Unlinks the block whose caller pointer is p; NULL if condis did not give
 * it out (or it was freed already). p itself is never dereferenced unless
 * it is found. */
static struct cn_mem_hdr *mem_lookup(void *p, bool unlink)
{
    if ((uintptr_t)p < HDR_SIZE)
        return NULL;
    struct cn_mem_hdr *want = (struct cn_mem_hdr *)(void *)((char *)p - HDR_SIZE);
    size_t hash = addr_hash(want);
    struct stripe *s = stripe_of(hash);
    struct cn_mem_hdr *found = NULL;
    pthread_mutex_lock(&s->s_lock);
    if (s->s_nbuckets != 0) {
        struct cn_mem_hdr **link = &s->s_buckets[(hash / STRIPES) & (s->s_nbuckets - 1)];
        for (; *link != NULL; link = &(*link)->mh_next) {
            if (*link == want) {
                found = want;
                if (unlink) {
                    *link = want->mh_next;
                    s->s_count--;
                }
                break;
            }
        }
    }
    pthread_mutex_unlock(&s->s_lock);
    return found;
}

static void mem_free(void *p, const char *fn, bool check_tag, ULONG tag)
{
    if (p == NULL) {
        cn_warn("%s(NULL) ignored", fn);
        return;
    }
    if (CN_VERIFYING) {
        /* PKT-4: a block a packet in flight still points at is freed when
         * that packet completes, not now. */
        struct cn_mem_hdr *held = mem_lookup(p, false);
        if (held != NULL && cn_verify_free_held(p, held->mh_len, fn))
            return;
    }
    struct cn_mem_hdr *h = mem_lookup(p, true);
    if (h == NULL) {
        cn_warn("%s(%p): not a block condis allocated, or already freed; ignored", fn, p);
        return;
    }
    if (h->mh_magic != MEM_MAGIC)
        cn_warn("%s(%p): the block's header was overwritten (an underrun?)", fn, p);
    if (check_tag && h->mh_tag != tag)
        cn_warn("%s(%p): tag 0x%08x does not match the allocation's tag 0x%08x", fn, p,
                (unsigned)tag, (unsigned)h->mh_tag);
    h->mh_magic = MEM_DEAD;
    free(h);
}

/* The driver an allocation is charged to: the handle's owner, else the
 * driver whose code is running. */
static const char *mem_owner(NDIS_HANDLE h)
{
    const char *owner = h != NULL ? cn_handle_owner(h) : NULL;
    if (owner == NULL)
        owner = cn_os_driver_raw();
    return owner;
}

size_t cn_memory_outstanding(void)
{
    size_t n = 0;
    for (unsigned i = 0; i < STRIPES; i++) {
        pthread_mutex_lock(&stripes[i].s_lock);
        n += stripes[i].s_count;
        pthread_mutex_unlock(&stripes[i].s_lock);
    }
    return n;
}

size_t cn_memory_leaks(void (*fn)(const struct cn_mem_leak *l, void *arg), void *arg)
{
    struct cn_mem_leak *groups = NULL;
    size_t ngroups = 0, cap = 0;
    for (unsigned i = 0; i < STRIPES; i++) {
        struct stripe *s = &stripes[i];
        pthread_mutex_lock(&s->s_lock);
        for (size_t b = 0; b < s->s_nbuckets; b++) {
            for (struct cn_mem_hdr *h = s->s_buckets[b]; h != NULL; h = h->mh_next) {
                size_t g;
                for (g = 0; g < ngroups; g++)
                    if (groups[g].ml_tag == h->mh_tag &&
                        strcmp(groups[g].ml_owner, h->mh_owner) == 0)
                        break;
                if (g == ngroups) {
                    if (ngroups == cap) {
                        size_t ncap = cap ? cap * 2 : 16;
                        struct cn_mem_leak *ng = realloc(groups, ncap * sizeof(*ng));
                        if (ng == NULL)
                            continue; /* report what fits */
                        groups = ng;
                        cap = ncap;
                    }
                    groups[g] = (struct cn_mem_leak){ h->mh_tag, h->mh_owner, 0, 0,
                                                      h->mh_site };
                    ngroups++;
                }
                groups[g].ml_bytes += h->mh_len;
                groups[g].ml_blocks++;
            }
        }
        pthread_mutex_unlock(&s->s_lock);
    }
    /* Called without any lock held: fn may allocate or free. */
    if (fn != NULL)
        for (size_t g = 0; g < ngroups; g++)
            fn(&groups[g], arg);
    free(groups);
    return ngroups;
}

/* ---- the Windows names --------------------------------------------------- */

PVOID NdisAllocateMemoryWithTagPriority(NDIS_HANDLE NdisHandle, UINT Length, ULONG Tag,
                                        EX_POOL_PRIORITY Priority)
{
    (void)Priority;
    return mem_alloc(Length, Tag, mem_owner(NdisHandle), __builtin_return_address(0));
}

void NdisFreeMemoryWithTagPriority(NDIS_HANDLE NdisHandle, PVOID VirtualAddress, ULONG Tag)
{
    (void)NdisHandle;
    mem_free(VirtualAddress, "NdisFreeMemoryWithTagPriority", true, Tag);
}

NDIS_STATUS NdisAllocateMemoryWithTag(PVOID *VirtualAddress, UINT Length, ULONG Tag)
{
    *VirtualAddress = mem_alloc(Length, Tag, mem_owner(NULL), __builtin_return_address(0));
    return *VirtualAddress != NULL ? NDIS_STATUS_SUCCESS : NDIS_STATUS_FAILURE;
}

/* Contiguity, caching and the highest acceptable address mean nothing in
 * user space; the block is ordinary memory. */
NDIS_STATUS NdisAllocateMemory(PVOID *VirtualAddress, UINT Length, UINT MemoryFlags,
                               NDIS_PHYSICAL_ADDRESS HighestAcceptableAddress)
{
    (void)MemoryFlags;
    (void)HighestAcceptableAddress;
    *VirtualAddress = mem_alloc(Length, 0, mem_owner(NULL), __builtin_return_address(0));
    return *VirtualAddress != NULL ? NDIS_STATUS_SUCCESS : NDIS_STATUS_FAILURE;
}

void NdisFreeMemory(PVOID VirtualAddress, UINT Length, UINT MemoryFlags)
{
    (void)Length;
    (void)MemoryFlags;
    mem_free(VirtualAddress, "NdisFreeMemory", false, 0);
}

PVOID ExAllocatePoolWithTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
    (void)PoolType;
    return mem_alloc(NumberOfBytes, Tag, mem_owner(NULL), __builtin_return_address(0));
}

void ExFreePoolWithTag(PVOID P, ULONG Tag)
{
    mem_free(P, "ExFreePoolWithTag", true, Tag);
}

void ExFreePool(PVOID P)
{
    mem_free(P, "ExFreePool", false, 0);
}

SIZE_T RtlCompareMemory(const void *Source1, const void *Source2, SIZE_T Length)
{
    const unsigned char *a = Source1, *b = Source2;
    SIZE_T i = 0;
    while (i < Length && a[i] == b[i])
        i++;
    return i;
}

void cn_memory_fini(void)
{
    /* After the leak report: what drivers left is freed, so that the next
     * run in this process starts with nothing allocated. */
    for (unsigned i = 0; i < STRIPES; i++) {
        struct stripe *s = &stripes[i];
        pthread_mutex_lock(&s->s_lock);
        for (size_t b = 0; b < s->s_nbuckets; b++) {
            struct cn_mem_hdr *h = s->s_buckets[b];
            while (h != NULL) {
                struct cn_mem_hdr *next = h->mh_next;
                h->mh_magic = MEM_DEAD;
                free(h);
                h = next;
            }
            s->s_buckets[b] = NULL;
        }
        s->s_count = 0;
        pthread_mutex_unlock(&s->s_lock);
    }
}
