/*
 * test_nbl.c - the memory layer: MDLs, NET_BUFFERs, NET_BUFFER_LISTs and
 * their pools, contexts, clones, retreat/advance, NdisGetDataBuffer, the
 * refusals that keep condis alive when a driver errs, exhaustion, and a
 * two-thread stress.
 *
 * The layer needs no runtime: each test makes a fake driver handle to own
 * its pools, and ends by checking that nothing is outstanding or leaked and
 * no pool handle is live.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include <ndis.h>

#include "mem/cn_mem.h"

/* ---- helpers ---------------------------------------------------------------------- */

static int owner_obj;

static NDIS_HANDLE owner_new(void)
{
    NDIS_HANDLE h = cn_handle_alloc(CN_H_DRIVER_CONTEXT, &owner_obj, "test");
    assert_non_null(h);
    return h;
}

static void count_leak(const struct cn_pool_leak *l, void *arg)
{
    fprintf(stderr, "  leak: %s of %s tag %#x: %zu out%s\n", l->pl_kind, l->pl_owner,
            l->pl_tag, l->pl_outstanding, l->pl_pool_open ? ", pool not freed" : "");
    ++*(size_t *)arg;
}

/* Every test ends here. */
static void check_clean(NDIS_HANDLE owner)
{
    if (owner != NULL)
        cn_handle_free(owner);
    size_t n = 0;
    assert_int_equal(cn_mem_leaks(count_leak, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(cn_mem_outstanding(), 0);
    assert_int_equal(cn_handle_count(CN_H_NBL_POOL), 0);
    assert_int_equal(cn_handle_count(CN_H_NB_POOL), 0);
}

static NDIS_HANDLE nbl_pool(NDIS_HANDLE owner, BOOLEAN with_nb, USHORT ctx, ULONG data)
{
    NET_BUFFER_LIST_POOL_PARAMETERS p;
    memset(&p, 0, sizeof(p));
    p.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    p.Header.Revision = NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    p.Header.Size = NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    p.ProtocolId = NDIS_PROTOCOL_ID_DEFAULT;
    p.fAllocateNetBuffer = with_nb;
    p.ContextSize = ctx;
    p.PoolTag = 'tseT';
    p.DataSize = data;
    NDIS_HANDLE h = NdisAllocateNetBufferListPool(owner, &p);
    assert_non_null(h);
    return h;
}

static NDIS_HANDLE nb_pool(NDIS_HANDLE owner, ULONG data)
{
    NET_BUFFER_POOL_PARAMETERS p;
    memset(&p, 0, sizeof(p));
    p.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    p.Header.Revision = NET_BUFFER_POOL_PARAMETERS_REVISION_1;
    p.Header.Size = NDIS_SIZEOF_NET_BUFFER_POOL_PARAMETERS_REVISION_1;
    p.PoolTag = 'bNsT';
    p.DataSize = data;
    NDIS_HANDLE h = NdisAllocateNetBufferPool(owner, &p);
    assert_non_null(h);
    return h;
}

static bool all_zero(const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i] != 0)
            return false;
    return true;
}

/* The NB's data, gathered. */
static ULONG nb_bytes(PNET_BUFFER nb, unsigned char *out, ULONG cap)
{
    PVOID p = NdisGetDataBuffer(nb, nb->DataLength, out, 1, 0);
    assert_non_null(p);
    assert_true(nb->DataLength <= cap);
    if (p != out)
        memcpy(out, p, nb->DataLength);
    return nb->DataLength;
}

/* ---- MDLs ---------------------------------------------------------------------------- */

static void test_mdl(void **state)
{
    (void)state;
    NDIS_HANDLE owner = owner_new();
    static unsigned char buf[3 * PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
    unsigned char *va = buf + PAGE_SIZE - 100; /* crosses a page boundary */

    PMDL m = NdisAllocateMdl(owner, va, 300);
    assert_non_null(m);
    assert_null(m->Next);
    assert_ptr_equal(m->StartVa, PAGE_ALIGN(va));
    assert_int_equal(m->ByteOffset, BYTE_OFFSET(va));
    assert_int_equal(m->ByteCount, 300);
    assert_true(m->MdlFlags & MDL_SOURCE_IS_NONPAGED_POOL);
    assert_ptr_equal(m->MappedSystemVa, va);
    assert_ptr_equal(MmGetSystemAddressForMdlSafe(m, NormalPagePriority), va);
    assert_ptr_equal(MmGetMdlVirtualAddress(m), va);
    assert_int_equal(MmGetMdlByteCount(m), 300);
    assert_int_equal(MmGetMdlByteOffset(m), BYTE_OFFSET(va));
    assert_int_equal(NDIS_MDL_TO_SPAN_PAGES(m), 2);

    PVOID q = NULL;
    UINT len = 0;
    NdisQueryMdl(m, &q, &len, NormalPagePriority);
    assert_ptr_equal(q, va);
    assert_int_equal(len, 300);
    NdisQueryMdl(m, NULL, &len, HighPagePriority);
    ULONG off = 0;
    NdisQueryMdlOffset(m, &off, &len);
    assert_int_equal(off, BYTE_OFFSET(va));

    PMDL m2 = NdisAllocateMdl(owner, buf, 10);
    NDIS_MDL_LINKAGE(m) = m2;
    PMDL n = NULL;
    NdisGetNextMdl(m, &n);
    assert_ptr_equal(n, m2);
    NDIS_MDL_LINKAGE(m) = NULL;

    /* Counted against the driver until freed. */
    size_t leaks = 0;
    assert_int_equal(cn_mem_leaks(count_leak, &leaks), 1);
    assert_int_equal(cn_mem_outstanding(), 2);

    NdisFreeMdl(m2);
    NdisFreeMdl(m);
    unsigned long w = cn_warn_count();
    NdisFreeMdl(m); /* double free: refused */
    assert_int_equal(cn_warn_count(), w + 1);
    NdisFreeMdl(NULL);
    assert_int_equal(cn_warn_count(), w + 2);

    /* A handle that is not live is refused. */
    NDIS_HANDLE dead = cn_handle_alloc(CN_H_DRIVER_CONTEXT, &owner_obj, "dead");
    cn_handle_free(dead);
    assert_null(NdisAllocateMdl(dead, buf, 10));

    /* IoAllocateMdl is not built; the system address still works. */
    PMDL io = IoAllocateMdl(va, 64, FALSE, FALSE, NULL);
    assert_non_null(io);
    assert_false(io->MdlFlags & MDL_SOURCE_IS_NONPAGED_POOL);
    assert_ptr_equal(MmGetSystemAddressForMdlSafe(io, NormalPagePriority), va);
    MmBuildMdlForNonPagedPool(io);
    assert_ptr_equal(io->MappedSystemVa, va);
    IoFreeMdl(io);

    /* A driver's own MDL storage. */
    MDL local;
    MmInitializeMdl(&local, va, 50);
    assert_int_equal(local.Size, (CSHORT)MmSizeOfMdl(va, 50));
    assert_ptr_equal(MmGetSystemAddressForMdlSafe(&local, NormalPagePriority), va);

    check_clean(owner);
}

/* ---- pools and NBLs ------------------------------------------------------------------- */

static void test_nbl_pool_plain(void **state)
{
    (void)state;
    NDIS_HANDLE owner = owner_new();
    NDIS_HANDLE pool = nbl_pool(owner, FALSE, 0, 0);

    PNET_BUFFER_LIST nbl = NdisAllocateNetBufferList(pool, 0, 0);
    assert_non_null(nbl);
    assert_ptr_equal(nbl->NdisPoolHandle, pool);
    assert_ptr_equal(NdisGetPoolFromNetBufferList(nbl), pool);
    assert_null(nbl->Next);
    assert_null(nbl->FirstNetBuffer);
    assert_null(nbl->Context);
    assert_null(nbl->ParentNetBufferList);
    assert_null(nbl->SourceHandle);
    assert_int_equal(nbl->Status, 0);
    assert_true(all_zero(nbl->NetBufferListInfo, sizeof(nbl->NetBufferListInfo)));
    assert_true(all_zero(nbl->ProtocolReserved, sizeof(nbl->ProtocolReserved)));
    assert_ptr_equal(cn_nbl_check(nbl), cn_nbl(nbl));
    assert_string_equal(cn_nbl_owner(nbl), "test");
    assert_int_equal(cn_mem_outstanding(), 1);

    /* Dirty it; the next allocation of the same descriptor is clean again. */
    nbl->ProtocolReserved[0] = nbl;
    nbl->Scratch = nbl;
    NET_BUFFER_LIST_STATUS(nbl) = NDIS_STATUS_FAILURE;
    NdisFreeNetBufferList(nbl);
    assert_null(cn_nbl_check(nbl));
    PNET_BUFFER_LIST again = NdisAllocateNetBufferList(pool, 0, 0);
    assert_ptr_equal(again, nbl); /* per-thread cache: last in, first out */
    assert_null(again->ProtocolReserved[0]);
    assert_null(again->Scratch);
    assert_int_equal(again->Status, 0);
    NdisFreeNetBufferList(again);

    /* Bad parameters are refused. */
    NET_BUFFER_LIST_POOL_PARAMETERS p;
    memset(&p, 0, sizeof(p));
    assert_null(NdisAllocateNetBufferListPool(owner, &p)); /* no header */
    p.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    p.Header.Revision = NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    p.Header.Size = NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    p.DataSize = 100; /* without fAllocateNetBuffer */
    assert_null(NdisAllocateNetBufferListPool(owner, &p));
    assert_null(NdisAllocateNetBufferListPool(owner, NULL));

    NdisFreeNetBufferListPool(pool);
    check_clean(owner);
}

static void test_nbl_pool_with_nb(void **state)
{
    (void)state;
    NDIS_HANDLE owner = owner_new();
    NDIS_HANDLE pool = nbl_pool(owner, TRUE, 0, 0);
    static unsigned char b1[64], b2[64];
    for (int i = 0; i < 64; i++) {
        b1[i] = (unsigned char)i;
        b2[i] = (unsigned char)(64 + i);
    }

    /* NdisAllocateNetBufferList from such a pool: an NB without an MDL. */
    PNET_BUFFER_LIST nbl = NdisAllocateNetBufferList(pool, 0, 0);
    assert_non_null(nbl);
    PNET_BUFFER nb = NET_BUFFER_LIST_FIRST_NB(nbl);
    assert_non_null(nb);
    assert_null(nb->Next);
    assert_null(NET_BUFFER_FIRST_MDL(nb));
    assert_int_equal(NET_BUFFER_DATA_LENGTH(nb), 0);
    assert_ptr_equal(NdisGetPoolFromNetBuffer(nb), pool);
    /* Freeing the NB that came with the NBL on its own is refused. */
    unsigned long w = cn_warn_count();
    NdisFreeNetBuffer(nb);
    assert_int_equal(cn_warn_count(), w + 1);
    NdisFreeNetBufferList(nbl);

    /* With an MDL chain and a data offset that lands in the second MDL. */
    PMDL m1 = NdisAllocateMdl(owner, b1, 64);
    PMDL m2 = NdisAllocateMdl(owner, b2, 64);
    m1->Next = m2;
    nbl = NdisAllocateNetBufferAndNetBufferList(pool, 0, 0, m1, 70, 50);
    assert_non_null(nbl);
    nb = nbl->FirstNetBuffer;
    assert_ptr_equal(nb->MdlChain, m1);
    assert_ptr_equal(nb->CurrentMdl, m2);
    assert_int_equal(nb->CurrentMdlOffset, 6);
    assert_int_equal(nb->DataOffset, 70);
    assert_int_equal(nb->DataLength, 50);
    unsigned char *p = NdisGetDataBuffer(nb, 50, NULL, 1, 0);
    assert_ptr_equal(p, b2 + 6);
    NdisFreeNetBufferList(nbl);

    /* At an MDL boundary the data starts in the next MDL. */
    nbl = NdisAllocateNetBufferAndNetBufferList(pool, 0, 0, m1, 64, 10);
    assert_ptr_equal(nbl->FirstNetBuffer->CurrentMdl, m2);
    assert_int_equal(nbl->FirstNetBuffer->CurrentMdlOffset, 0);
    NdisFreeNetBufferList(nbl);

    /* Offsets beyond the chain, or without a chain, are refused. */
    assert_null(NdisAllocateNetBufferAndNetBufferList(pool, 0, 0, m1, 200, 0));
    assert_null(NdisAllocateNetBufferAndNetBufferList(pool, 0, 0, NULL, 4, 0));
    /* A pool without NBs cannot do it. */
    NDIS_HANDLE plain = nbl_pool(owner, FALSE, 0, 0);
    assert_null(NdisAllocateNetBufferAndNetBufferList(plain, 0, 0, m1, 0, 10));
    NdisFreeNetBufferListPool(plain);

    /* NBs the driver queues itself are not freed with the NBL. */
    NDIS_HANDLE nbp = nb_pool(owner, 0);
    nbl = NdisAllocateNetBufferAndNetBufferList(pool, 0, 0, m1, 0, 128);
    PNET_BUFFER extra = NdisAllocateNetBuffer(nbp, m2, 0, 64);
    assert_non_null(extra);
    nbl->FirstNetBuffer->Next = extra;
    NdisFreeNetBufferList(nbl);
    assert_int_equal(cn_mem_outstanding(), 3); /* extra + 2 MDLs */
    NdisFreeNetBuffer(extra);

    m1->Next = NULL;
    NdisFreeMdl(m1);
    NdisFreeMdl(m2);
    NdisFreeNetBufferPool(nbp);
    NdisFreeNetBufferListPool(pool);
    check_clean(owner);
}

static void test_nbl_pool_data(void **state)
{
    (void)state;
    NDIS_HANDLE owner = owner_new();
    NDIS_HANDLE pool = nbl_pool(owner, TRUE, 0, 1514);

    PNET_BUFFER_LIST a = NdisAllocateNetBufferList(pool, 0, 0);
    PNET_BUFFER_LIST b = NdisAllocateNetBufferList(pool, 0, 0);
    assert_non_null(a);
    assert_non_null(b);
    PNET_BUFFER nb = a->FirstNetBuffer;
    PMDL m = nb->MdlChain;
    assert_non_null(m);
    assert_ptr_equal(nb->CurrentMdl, m);
    assert_int_equal(m->ByteCount, 1514);
    assert_int_equal(nb->DataLength, 1514);
    assert_int_equal(nb->DataOffset, 0);
    unsigned char *d = MmGetSystemAddressForMdlSafe(m, NormalPagePriority);
    assert_non_null(d);
    assert_int_equal((ULONG_PTR)d % MEMORY_ALLOCATION_ALIGNMENT, 0);
    memset(d, 0xab, 1514); /* the whole buffer is ours to write */
    unsigned char *e = MmGetSystemAddressForMdlSafe(b->FirstNetBuffer->MdlChain, 0);
    assert_true(e + 1514 <= d || d + 1514 <= e); /* buffers do not overlap */

    /* The data MDL is condis'; the driver cannot free it. */
    unsigned long w = cn_warn_count();
    NdisFreeMdl(m);
    assert_int_equal(cn_warn_count(), w + 1);

    /* A miniport shortens the MDL to what it received; the next owner
     * gets the full buffer again. */
    m->ByteCount = 60;
    NdisFreeNetBufferList(a);
    PNET_BUFFER_LIST c = NdisAllocateNetBufferList(pool, 0, 0);
    assert_int_equal(c->FirstNetBuffer->MdlChain->ByteCount, 1514);
    assert_int_equal(c->FirstNetBuffer->DataLength, 1514);
    NdisFreeNetBufferList(b);
    NdisFreeNetBufferList(c);
    NdisFreeNetBufferListPool(pool);
    check_clean(owner);
}

static void test_nbl_context(void **state)
{
    (void)state;
    NDIS_HANDLE owner = owner_new();
    NDIS_HANDLE pool = nbl_pool(owner, FALSE, 64, 0);

    /* Fits the preallocated block: the used space at its end, the rest in
     * front of it free for NdisAllocateNetBufferListContext. */
    PNET_BUFFER_LIST nbl = NdisAllocateNetBufferList(pool, 32, 16);
    assert_non_null(nbl->Context);
    assert_int_equal(NET_BUFFER_LIST_CONTEXT_DATA_SIZE(nbl), 64);
    assert_int_equal(nbl->Context->Offset, 32);
    PUCHAR start = NET_BUFFER_LIST_CONTEXT_DATA_START(nbl);
    assert_ptr_equal(start, nbl->Context->ContextData + 32);
    assert_int_equal((ULONG_PTR)start % MEMORY_ALLOCATION_ALIGNMENT, 0);
    assert_true(all_zero(start, 32));
    memset(start, 0x5a, 32);

    /* More context from the backfill, then from a new block. */
    assert_int_equal(NdisAllocateNetBufferListContext(nbl, 16, 0, 'xtcT'), NDIS_STATUS_SUCCESS);
    assert_int_equal(nbl->Context->Offset, 16);
    PNET_BUFFER_LIST_CONTEXT first = nbl->Context;
    assert_int_equal(NdisAllocateNetBufferListContext(nbl, 24, 8, 'xtcT'), NDIS_STATUS_SUCCESS);
    assert_ptr_not_equal(nbl->Context, first);
    assert_ptr_equal(nbl->Context->Next, first);
    assert_int_equal(nbl->Context->Offset, 8);
    memset(NET_BUFFER_LIST_CONTEXT_DATA_START(nbl), 1, 24);
    NdisFreeNetBufferListContext(nbl, 24);
    assert_ptr_equal(nbl->Context, first);
    NdisFreeNetBufferListContext(nbl, 16);
    assert_int_equal(nbl->Context->Offset, 32);
    unsigned long w = cn_warn_count();
    NdisFreeNetBufferListContext(nbl, 64); /* more than is in use */
    assert_int_equal(cn_warn_count(), w + 1);
    NdisFreeNetBufferList(nbl);

    /* More than the pool preallocates, and an NBL without context. */
    nbl = NdisAllocateNetBufferList(pool, 128, 32);
    assert_int_equal(NET_BUFFER_LIST_CONTEXT_DATA_SIZE(nbl), 160);
    memset(NET_BUFFER_LIST_CONTEXT_DATA_START(nbl), 2, 128);
    NdisFreeNetBufferList(nbl);
    nbl = NdisAllocateNetBufferList(pool, 0, 0);
    assert_non_null(nbl->Context);
    assert_int_equal(nbl->Context->Offset, nbl->Context->Size);
    /* Taken from the preallocated block: no new memory. */
    assert_int_equal(NdisAllocateNetBufferListContext(nbl, 40, 0, 0), NDIS_STATUS_SUCCESS);
    assert_int_equal(nbl->Context->Offset, 24);
    NdisFreeNetBufferListContext(nbl, 40);
    /* A context the driver forgets to free is freed with the NBL (warned). */
    assert_int_equal(NdisAllocateNetBufferListContext(nbl, 128, 0, 0), NDIS_STATUS_SUCCESS);
    w = cn_warn_count();
    NdisFreeNetBufferList(nbl);
    assert_int_equal(cn_warn_count(), w + 1);

    NdisFreeNetBufferListPool(pool);

    /* A pool without context space: none unless asked for. */
    pool = nbl_pool(owner, FALSE, 0, 0);
    nbl = NdisAllocateNetBufferList(pool, 0, 0);
    assert_null(nbl->Context);
    NdisFreeNetBufferList(nbl);
    nbl = NdisAllocateNetBufferList(pool, 16, 0);
    assert_int_equal(NET_BUFFER_LIST_CONTEXT_DATA_SIZE(nbl), 16);
    assert_int_equal(nbl->Context->Offset, 0);
    NdisFreeNetBufferList(nbl);
    NdisFreeNetBufferListPool(pool);
    check_clean(owner);
}

static void test_nb_pool(void **state)
{
    (void)state;
    NDIS_HANDLE owner = owner_new();
    NDIS_HANDLE plain = nb_pool(owner, 0);
    NDIS_HANDLE data = nb_pool(owner, 2048);
    static unsigned char buf[256];

    PMDL m = NdisAllocateMdl(owner, buf, sizeof(buf));
    PNET_BUFFER nb = NdisAllocateNetBuffer(plain, m, 14, 100);
    assert_non_null(nb);
    assert_ptr_equal(nb->NdisPoolHandle, plain);
    assert_ptr_equal(nb->CurrentMdl, m);
    assert_int_equal(nb->CurrentMdlOffset, 14);
    assert_int_equal(NET_BUFFER_DATA_OFFSET(nb), 14);
    assert_int_equal(nb->stDataLength, 100);
    PNET_BUFFER empty = NdisAllocateNetBuffer(plain, NULL, 0, 0);
    assert_non_null(empty);
    assert_null(NdisAllocateNetBuffer(plain, NULL, 0, 10));
    /* NdisAllocateNetBufferMdlAndData needs a pool with DataSize. */
    assert_null(NdisAllocateNetBufferMdlAndData(plain));

    PNET_BUFFER d = NdisAllocateNetBufferMdlAndData(data);
    assert_non_null(d);
    assert_int_equal(d->DataLength, 2048);
    assert_int_equal(d->MdlChain->ByteCount, 2048);
    memset(MmGetSystemAddressForMdlSafe(d->MdlChain, 0), 7, 2048);

    /* Both kinds on an NBL from a plain NBL pool. */
    NDIS_HANDLE lp = nbl_pool(owner, FALSE, 0, 0);
    PNET_BUFFER_LIST nbl = NdisAllocateNetBufferList(lp, 0, 0);
    NET_BUFFER_LIST_FIRST_NB(nbl) = nb;
    NET_BUFFER_NEXT_NB(nb) = d;
    NdisFreeNetBufferList(nbl);

    NdisFreeNetBuffer(nb);
    NdisFreeNetBuffer(d);
    NdisFreeNetBuffer(empty);
    unsigned long w = cn_warn_count();
    NdisFreeNetBuffer(d); /* double free */
    assert_int_equal(cn_warn_count(), w + 1);
    NdisFreeMdl(m);
    NdisFreeNetBufferListPool(lp);
    NdisFreeNetBufferPool(plain);
    NdisFreeNetBufferPool(data);
    check_clean(owner);
}

/* ---- retreat and advance -------------------------------------------------------------- */

static int h_allocs, h_frees;

static PMDL test_alloc_mdl(PULONG size)
{
    h_allocs++;
    void *mem = malloc(*size + 8); /* hand back a little more than asked */
    *size += 8;
    PMDL m = IoAllocateMdl(mem, *size, FALSE, FALSE, NULL);
    MmBuildMdlForNonPagedPool(m);
    return m;
}

static VOID test_free_mdl(PMDL m)
{
    h_frees++;
    free(MmGetMdlVirtualAddress(m));
    IoFreeMdl(m);
}

static void test_retreat_advance(void **state)
{
    (void)state;
    NDIS_HANDLE owner = owner_new();
    NDIS_HANDLE nbp = nb_pool(owner, 0);
    static unsigned char buf[100];
    for (int i = 0; i < 100; i++)
        buf[i] = (unsigned char)i;
    PMDL m = NdisAllocateMdl(owner, buf, sizeof(buf));
    PNET_BUFFER nb = NdisAllocateNetBuffer(nbp, m, 20, 50);
    unsigned char got[256], want[256];

    /* Inside the unused space: only the offsets move. */
    assert_int_equal(NdisRetreatNetBufferDataStart(nb, 10, 0, NULL), NDIS_STATUS_SUCCESS);
    assert_ptr_equal(nb->MdlChain, m);
    assert_int_equal(nb->DataOffset, 10);
    assert_int_equal(nb->CurrentMdlOffset, 10);
    assert_int_equal(nb->DataLength, 60);
    NdisAdvanceNetBufferDataStart(nb, 10, TRUE, NULL);
    assert_int_equal(nb->DataOffset, 20);
    assert_int_equal(nb->DataLength, 50);
    assert_int_equal(cn_mem_outstanding(), 2);

    /* Beyond it: a new MDL in front, the new bytes contiguous, the old
     * data right behind them. */
    assert_int_equal(NdisRetreatNetBufferDataStart(nb, 30, 16, NULL), NDIS_STATUS_SUCCESS);
    assert_ptr_not_equal(nb->MdlChain, m);
    assert_int_equal(nb->DataLength, 80);
    assert_int_equal(nb->DataOffset, 16);
    assert_ptr_equal(nb->CurrentMdl, nb->MdlChain);
    unsigned char *hdr = NdisGetDataBuffer(nb, 30, NULL, 1, 0);
    assert_non_null(hdr);
    memset(hdr, 0xee, 30);
    memset(want, 0xee, 30);
    memcpy(want + 30, buf + 20, 50);
    assert_int_equal(nb_bytes(nb, got, sizeof(got)), 80);
    assert_memory_equal(got, want, 80);
    assert_int_equal(NdisQueryNetBufferPhysicalCount(nb) >= 2, 1);
    /* Retreating again uses the backfill of the new MDL. */
    PMDL front = nb->MdlChain;
    assert_int_equal(NdisRetreatNetBufferDataStart(nb, 16, 0, NULL), NDIS_STATUS_SUCCESS);
    assert_ptr_equal(nb->MdlChain, front);
    assert_int_equal(nb->DataOffset, 0);
    NdisAdvanceNetBufferDataStart(nb, 16, TRUE, NULL);
    /* Advancing past it frees it and gives the original chain back. */
    NdisAdvanceNetBufferDataStart(nb, 30, TRUE, NULL);
    assert_ptr_equal(nb->MdlChain, m);
    assert_null(m->Next);
    assert_ptr_equal(nb->CurrentMdl, m);
    assert_int_equal(nb->DataOffset, 20);
    assert_int_equal(nb->DataLength, 50);
    assert_int_equal(nb_bytes(nb, got, sizeof(got)), 50);
    assert_memory_equal(got, buf + 20, 50);
    assert_int_equal(cn_mem_outstanding(), 2);

    /* With no unused space there is nothing to splice. */
    PNET_BUFFER nb0 = NdisAllocateNetBuffer(nbp, m, 0, 100);
    assert_int_equal(NdisRetreatNetBufferDataStart(nb0, 8, 0, NULL), NDIS_STATUS_SUCCESS);
    assert_ptr_equal(nb0->MdlChain->Next, m);
    NdisAdvanceNetBufferDataStart(nb0, 8, TRUE, NULL);
    assert_ptr_equal(nb0->MdlChain, m);
    assert_int_equal(nb0->DataOffset, 0);

    /* The driver's NetAllocateMdl / NetFreeMdl. */
    h_allocs = h_frees = 0;
    assert_int_equal(NdisRetreatNetBufferDataStart(nb0, 20, 4, test_alloc_mdl),
                     NDIS_STATUS_SUCCESS);
    assert_int_equal(h_allocs, 1);
    assert_int_equal(nb0->DataOffset, 12); /* 20 + 4 + 8 extra - 20 */
    NdisAdvanceNetBufferDataStart(nb0, 20, TRUE, test_free_mdl);
    assert_int_equal(h_frees, 1);
    assert_ptr_equal(nb0->MdlChain, m);

    /* FreeMdl FALSE keeps the MDL for later retreats; freeing the NB frees
     * it and the splice. */
    assert_int_equal(NdisRetreatNetBufferDataStart(nb, 40, 0, NULL), NDIS_STATUS_SUCCESS);
    NdisAdvanceNetBufferDataStart(nb, 45, FALSE, NULL);
    assert_int_equal(nb->DataLength, 45);
    assert_int_equal(nb_bytes(nb, got, sizeof(got)), 45);
    assert_memory_equal(got, buf + 25, 45);
    assert_int_equal(NdisRetreatNetBufferDataStart(nb, 45, 0, NULL), NDIS_STATUS_SUCCESS);
    assert_int_equal(nb->DataLength, 90);
    assert_true(cn_mem_outstanding() > 3);

    /* Whole NBLs: all NBs or none. */
    NDIS_HANDLE lp = nbl_pool(owner, FALSE, 0, 0);
    PNET_BUFFER_LIST nbl = NdisAllocateNetBufferList(lp, 0, 0);
    nbl->FirstNetBuffer = nb0;
    assert_int_equal(NdisRetreatNetBufferListDataStart(nbl, 14, 0, NULL, NULL),
                     NDIS_STATUS_SUCCESS);
    assert_int_equal(nb0->DataLength, 114);
    NdisAdvanceNetBufferListDataStart(nbl, 14, TRUE, NULL);
    assert_int_equal(nb0->DataLength, 100);
    assert_ptr_equal(nb0->MdlChain, m);
    NdisFreeNetBufferList(nbl);
    NdisFreeNetBufferListPool(lp);

    /* Advancing more than there is, is refused. */
    unsigned long w = cn_warn_count();
    NdisAdvanceNetBufferDataStart(nb0, 1000, TRUE, NULL);
    assert_int_equal(cn_warn_count(), w + 1);
    assert_int_equal(nb0->DataLength, 100);

    NdisFreeNetBuffer(nb);
    NdisFreeNetBuffer(nb0);
    NdisFreeMdl(m);
    NdisFreeNetBufferPool(nbp);
    check_clean(owner);
}

/* ---- NdisGetDataBuffer -------------------------------------------------------------- */

static void test_get_data_buffer(void **state)
{
    (void)state;
    NDIS_HANDLE owner = owner_new();
    NDIS_HANDLE nbp = nb_pool(owner, 0);
    static unsigned char a[32] __attribute__((aligned(16)));
    static unsigned char b[32];
    for (int i = 0; i < 32; i++) {
        a[i] = (unsigned char)i;
        b[i] = (unsigned char)(32 + i);
    }
    PMDL ma = NdisAllocateMdl(owner, a, 32);
    PMDL mb = NdisAllocateMdl(owner, b, 32);
    ma->Next = mb;
    PNET_BUFFER nb = NdisAllocateNetBuffer(nbp, ma, 4, 50);
    unsigned char storage[64];

    /* Contiguous in the first MDL: a pointer into it. */
    assert_ptr_equal(NdisGetDataBuffer(nb, 20, storage, 1, 0), a + 4);
    assert_ptr_equal(NdisGetDataBuffer(nb, 20, NULL, 4, 0), a + 4);
    /* Contiguous but misaligned: copied. */
    assert_ptr_equal(NdisGetDataBuffer(nb, 20, storage, 8, 0), storage);
    assert_ptr_equal(NdisGetDataBuffer(nb, 20, storage, 8, 4), a + 4);
    assert_null(NdisGetDataBuffer(nb, 20, NULL, 8, 0));
    /* Across the two MDLs: copied into Storage, or NULL without it. */
    unsigned char *p = NdisGetDataBuffer(nb, 40, storage, 1, 0);
    assert_ptr_equal(p, storage);
    for (int i = 0; i < 40; i++)
        assert_int_equal(storage[i], 4 + i);
    assert_null(NdisGetDataBuffer(nb, 40, NULL, 1, 0));
    /* More than the NB holds. */
    assert_null(NdisGetDataBuffer(nb, 51, storage, 1, 0));

    /* Copy between NBs. */
    static unsigned char dst[64];
    PMDL md = NdisAllocateMdl(owner, dst, sizeof(dst));
    PNET_BUFFER nd = NdisAllocateNetBuffer(nbp, md, 0, 0);
    ULONG copied = 0;
    assert_int_equal(NdisCopyFromNetBufferToNetBuffer(nd, 2, 100, nb, 10, &copied),
                     NDIS_STATUS_SUCCESS);
    assert_int_equal(copied, 40);
    for (int i = 0; i < 40; i++)
        assert_int_equal(dst[2 + i], 14 + i);

    NdisFreeNetBuffer(nd);
    NdisFreeNetBuffer(nb);
    ma->Next = NULL;
    NdisFreeMdl(ma);
    NdisFreeMdl(mb);
    NdisFreeMdl(md);
    NdisFreeNetBufferPool(nbp);
    check_clean(owner);
}

/* ---- clones ------------------------------------------------------------------------------ */

static void test_clone(void **state)
{
    (void)state;
    NDIS_HANDLE owner = owner_new();
    NDIS_HANDLE lp = nbl_pool(owner, FALSE, 32, 0);
    NDIS_HANDLE bp = nb_pool(owner, 0);
    NDIS_HANDLE clp = nbl_pool(owner, FALSE, 0, 0);
    static unsigned char x[40], y[40], z[40];
    for (int i = 0; i < 40; i++)
        x[i] = y[i] = z[i] = (unsigned char)i;
    PMDL mx = NdisAllocateMdl(owner, x, 40);
    PMDL my = NdisAllocateMdl(owner, y, 40);
    PMDL mz = NdisAllocateMdl(owner, z, 40);
    mx->Next = my;

    PNET_BUFFER_LIST orig = NdisAllocateNetBufferList(lp, 16, 0);
    PNET_BUFFER n1 = NdisAllocateNetBuffer(bp, mx, 10, 50); /* spans x and y */
    PNET_BUFFER n2 = NdisAllocateNetBuffer(bp, mz, 0, 40);
    orig->FirstNetBuffer = n1;
    n1->Next = n2;

    /* Over the original MDLs. */
    PNET_BUFFER_LIST c1 = NdisAllocateCloneNetBufferList(orig, clp, bp,
                                                         NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS);
    assert_non_null(c1);
    assert_ptr_equal(c1->ParentNetBufferList, orig);
    assert_null(c1->Context);
    assert_ptr_equal(c1->NdisPoolHandle, clp);
    PNET_BUFFER k1 = c1->FirstNetBuffer, k2 = k1->Next;
    assert_null(k2->Next);
    assert_ptr_equal(k1->MdlChain, mx);
    assert_int_equal(k1->DataLength, 50);
    assert_ptr_equal(NdisGetDataBuffer(k1, 30, NULL, 1, 0), x + 10);
    assert_ptr_equal(k2->MdlChain, mz);

    /* Over new MDLs describing the same bytes; default pools. */
    PNET_BUFFER_LIST c2 = NdisAllocateCloneNetBufferList(orig, NULL, NULL, 0);
    assert_non_null(c2);
    assert_ptr_equal(c2->NdisPoolHandle, lp);
    PNET_BUFFER j1 = c2->FirstNetBuffer;
    assert_ptr_not_equal(j1->MdlChain, mx);
    assert_int_equal(j1->DataOffset, 0);
    assert_int_equal(j1->MdlChain->ByteCount, 30);
    assert_ptr_equal(MmGetSystemAddressForMdlSafe(j1->MdlChain, 0), x + 10);
    assert_ptr_equal(MmGetSystemAddressForMdlSafe(j1->MdlChain->Next, 0), y);
    assert_int_equal(j1->MdlChain->Next->ByteCount, 20);
    unsigned char got[64];
    assert_ptr_equal(NdisGetDataBuffer(j1, 50, got, 1, 0), got);
    assert_memory_equal(got, x + 10, 30);
    assert_memory_equal(got + 30, y, 20);

    /* The clone's NBs are not the driver's to free. */
    unsigned long w = cn_warn_count();
    NdisFreeNetBuffer(k1);
    NdisFreeNetBuffer(j1);
    assert_int_equal(cn_warn_count(), w + 2);

    /* The original's pool cannot go while clones hold its descriptors. */
    w = cn_warn_count();
    NdisFreeNetBufferListPool(lp);
    assert_int_equal(cn_warn_count(), w + 1);

    NdisFreeCloneNetBufferList(c1, NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS);
    /* Freed with the wrong routine: warned, freed as a clone. */
    w = cn_warn_count();
    NdisFreeNetBufferList(c2);
    assert_int_equal(cn_warn_count(), w + 1);

    orig->FirstNetBuffer = NULL;
    NdisFreeNetBufferList(orig);
    NdisFreeNetBuffer(n1);
    NdisFreeNetBuffer(n2);
    mx->Next = NULL;
    NdisFreeMdl(mx);
    NdisFreeMdl(my);
    NdisFreeMdl(mz);
    NdisFreeNetBufferListPool(lp);
    NdisFreeNetBufferListPool(clp);
    NdisFreeNetBufferPool(bp);
    check_clean(owner);
}

/* ---- exhaustion, refusals, stale handles ------------------------------------------------------ */

static void test_exhaustion(void **state)
{
    (void)state;
    NDIS_HANDLE owner = owner_new();
    NDIS_HANDLE pool = nbl_pool(owner, TRUE, 0, 128);
    PNET_BUFFER_LIST v[5];

    cn_mem_set_pool_limit(4);
    for (int i = 0; i < 4; i++) {
        v[i] = NdisAllocateNetBufferList(pool, 0, 0);
        assert_non_null(v[i]);
    }
    assert_null(NdisAllocateNetBufferList(pool, 0, 0));
    assert_null(NdisAllocateNetBufferList(pool, 0, 0));
    /* Everything else keeps working: another pool, MDLs. */
    NDIS_HANDLE other = nbl_pool(owner, FALSE, 0, 0);
    PNET_BUFFER_LIST o = NdisAllocateNetBufferList(other, 0, 0);
    assert_non_null(o);
    NdisFreeNetBufferList(o);
    NdisFreeNetBufferListPool(other);

    NdisFreeNetBufferList(v[2]);
    v[2] = NdisAllocateNetBufferList(pool, 0, 0);
    assert_non_null(v[2]);
    assert_null(NdisAllocateNetBufferList(pool, 0, 0));

    cn_mem_set_pool_limit(0);
    v[4] = NdisAllocateNetBufferList(pool, 0, 0);
    assert_non_null(v[4]);
    for (int i = 0; i < 5; i++)
        NdisFreeNetBufferList(v[i]);
    NdisFreeNetBufferListPool(pool);
    check_clean(owner);
}

static void test_refusals(void **state)
{
    (void)state;
    NDIS_HANDLE owner = owner_new();
    NDIS_HANDLE pool = nbl_pool(owner, TRUE, 0, 0);
    NDIS_HANDLE pool2 = nbl_pool(owner, FALSE, 0, 0);
    PNET_BUFFER_LIST nbl = NdisAllocateNetBufferList(pool, 0, 0);
    unsigned long w;

    /* In flight: refused, and the NBL stays usable. */
    atomic_store(&cn_nbl(nbl)->state, CN_NBL_SENDING);
    w = cn_warn_count();
    NdisFreeNetBufferList(nbl);
    assert_int_equal(cn_warn_count(), w + 1);
    assert_non_null(cn_nbl_check(nbl));
    atomic_store(&cn_nbl(nbl)->state, CN_NBL_INDICATED);
    NdisFreeNetBufferList(nbl);
    assert_int_equal(cn_warn_count(), w + 2);
    atomic_store(&cn_nbl(nbl)->state, CN_NBL_IDLE);

    /* Its pool cannot be freed meanwhile (RES-2) and stays usable. */
    w = cn_warn_count();
    NdisFreeNetBufferListPool(pool);
    assert_int_equal(cn_warn_count(), w + 1);
    PNET_BUFFER_LIST more = NdisAllocateNetBufferList(pool, 0, 0);
    assert_non_null(more);
    NdisFreeNetBufferList(more);

    /* To the wrong pool: NdisPoolHandle overwritten with another pool's. */
    nbl->NdisPoolHandle = pool2;
    w = cn_warn_count();
    NdisFreeNetBufferList(nbl);
    assert_int_equal(cn_warn_count(), w + 1);
    assert_null(cn_nbl_check(nbl));
    nbl->NdisPoolHandle = pool;

    /* Double free. */
    NdisFreeNetBufferList(nbl);
    assert_int_equal(cn_mem_outstanding(), 0);
    w = cn_warn_count();
    NdisFreeNetBufferList(nbl);
    NdisFreeNetBufferList(NULL);
    assert_int_equal(cn_warn_count(), w + 2);
    assert_int_equal(cn_mem_outstanding(), 0);

    /* Not from a pool at all (NBL-2). */
    struct cn_nbl fake;
    memset(&fake, 0, sizeof(fake));
    assert_null(cn_nbl_check(&fake.nbl));
    w = cn_warn_count();
    NdisFreeNetBufferList(&fake.nbl);
    assert_int_equal(cn_warn_count(), w + 1);
    assert_string_equal(cn_nbl_owner(&fake.nbl), "?");

    NdisFreeNetBufferListPool(pool);
    NdisFreeNetBufferListPool(pool2);
    check_clean(owner);
}

static void test_stale_handles(void **state)
{
    (void)state;
    NDIS_HANDLE owner = owner_new();
    NDIS_HANDLE pool = nbl_pool(owner, FALSE, 0, 0);
    NDIS_HANDLE nbp = nb_pool(owner, 0);
    NdisFreeNetBufferListPool(pool);

    unsigned long w = cn_warn_count();
    assert_null(NdisAllocateNetBufferList(pool, 0, 0));     /* stale */
    assert_null(NdisAllocateNetBufferList(NULL, 0, 0));     /* NULL */
    assert_null(NdisAllocateNetBufferList(nbp, 0, 0));      /* an NB pool */
    assert_null(NdisAllocateNetBuffer(pool, NULL, 0, 0));   /* an NBL pool, stale */
    NdisFreeNetBufferListPool(pool);                        /* twice */
    NdisFreeNetBufferPool(NULL);
    assert_int_equal(cn_warn_count(), w + 6);

    /* A pool needs a live handle of its driver. */
    NDIS_HANDLE dead = cn_handle_alloc(CN_H_DRIVER_CONTEXT, &owner_obj, "dead");
    cn_handle_free(dead);
    NET_BUFFER_LIST_POOL_PARAMETERS p;
    memset(&p, 0, sizeof(p));
    p.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    p.Header.Revision = NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    p.Header.Size = NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    assert_null(NdisAllocateNetBufferListPool(dead, &p));
    assert_null(NdisAllocateNetBufferListPool(NULL, &p));

    /* Handles are not reused as the same value. */
    NDIS_HANDLE pool2 = nbl_pool(owner, FALSE, 0, 0);
    assert_ptr_not_equal(pool2, pool);
    assert_null(NdisAllocateNetBufferList(pool, 0, 0));
    NdisFreeNetBufferListPool(pool2);
    NdisFreeNetBufferPool(nbp);
    check_clean(owner);
}

/* ---- teardown with leaks ------------------------------------------------------------------- */

static void test_leaks_and_fini(void **state)
{
    (void)state;
    NDIS_HANDLE owner = owner_new();
    NDIS_HANDLE pool = nbl_pool(owner, TRUE, 16, 64);
    NDIS_HANDLE nbp = nb_pool(owner, 0);
    static unsigned char buf[32];

    /* Leave an NBL with a driver context and a retreat, an NB, an MDL. */
    PNET_BUFFER_LIST nbl = NdisAllocateNetBufferList(pool, 16, 0);
    assert_int_equal(NdisAllocateNetBufferListContext(nbl, 64, 0, 0), NDIS_STATUS_SUCCESS);
    assert_int_equal(NdisRetreatNetBufferDataStart(nbl->FirstNetBuffer, 32, 0, NULL),
                     NDIS_STATUS_SUCCESS);
    PMDL m = NdisAllocateMdl(owner, buf, sizeof(buf));
    PNET_BUFFER nb = NdisAllocateNetBuffer(nbp, m, 4, 8);
    (void)nb;

    size_t n = 0;
    assert_int_equal(cn_mem_leaks(count_leak, &n), 3); /* NBL pool, NB pool, MDL */
    assert_int_equal(n, 3);
    assert_true(cn_mem_outstanding() >= 3);

    /* The runtime's teardown reclaims everything. */
    cn_mem_fini();
    assert_int_equal(cn_mem_outstanding(), 0);
    assert_int_equal(cn_handle_count(CN_H_NBL_POOL), 0);
    assert_int_equal(cn_handle_count(CN_H_NB_POOL), 0);
    check_clean(owner);
}

/* ---- speed: descriptors are recycled ------------------------------------------------------ */

static void test_recycling(void **state)
{
    (void)state;
    NDIS_HANDLE owner = owner_new();
    NDIS_HANDLE pool = nbl_pool(owner, TRUE, 32, 256);
    struct cn_pool *p = cn_handle_get(pool, CN_H_NBL_POOL);
    assert_non_null(p);
    PNET_BUFFER_LIST v[100];
    for (int i = 0; i < 100; i++)
        v[i] = NdisAllocateNetBufferList(pool, 16, 16);
    for (int i = 0; i < 100; i++)
        NdisFreeNetBufferList(v[i]);
    size_t carved = p->p_carved;
    for (int round = 0; round < 1000; round++) {
        for (int i = 0; i < 100; i++)
            v[i] = NdisAllocateNetBufferList(pool, 16, 16);
        for (int i = 0; i < 100; i++)
            NdisFreeNetBufferList(v[i]);
    }
    assert_int_equal(p->p_carved, carved); /* no new slab after warm-up */
    NdisFreeNetBufferListPool(pool);
    check_clean(owner);
}

/* ---- two threads ----------------------------------------------------------------------------- */

#define STRESS_ROUNDS 200000
#define RING 256

struct ring {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    PNET_BUFFER_LIST q[RING];
    unsigned head, tail;
    bool done;
};

struct stress {
    NDIS_HANDLE pool;
    struct ring *to_other;   /* NBLs this thread allocated, freed by the other */
    struct ring *from_other;
    unsigned long bad;
};

static void ring_push(struct ring *r, PNET_BUFFER_LIST nbl)
{
    pthread_mutex_lock(&r->lock);
    while (r->tail - r->head == RING)
        pthread_cond_wait(&r->cond, &r->lock);
    r->q[r->tail++ % RING] = nbl;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

/* One NBL, or NULL when the ring is empty (and, if wait, closed). */
static PNET_BUFFER_LIST ring_pop(struct ring *r, bool wait)
{
    pthread_mutex_lock(&r->lock);
    while (wait && r->head == r->tail && !r->done)
        pthread_cond_wait(&r->cond, &r->lock);
    PNET_BUFFER_LIST nbl = NULL;
    if (r->head != r->tail) {
        nbl = r->q[r->head++ % RING];
        pthread_cond_broadcast(&r->cond);
    }
    pthread_mutex_unlock(&r->lock);
    return nbl;
}

static void *stress_main(void *arg)
{
    struct stress *s = arg;
    PNET_BUFFER_LIST mine[8];
    for (unsigned i = 0; i < STRESS_ROUNDS; i++) {
        /* Local allocate/free, the common case. */
        unsigned k = 1 + i % 8;
        for (unsigned j = 0; j < k; j++) {
            mine[j] = NdisAllocateNetBufferList(s->pool, 0, 0);
            if (mine[j] == NULL || mine[j]->FirstNetBuffer == NULL)
                s->bad++;
            else
                mine[j]->ProtocolReserved[0] = s;
        }
        for (unsigned j = 0; j < k; j++)
            if (mine[j] != NULL)
                NdisFreeNetBufferList(mine[j]);
        /* Every 4th round one crosses to the other thread to be freed there. */
        if (i % 4 == 0) {
            PNET_BUFFER_LIST x = NdisAllocateNetBufferList(s->pool, 0, 0);
            if (x == NULL)
                s->bad++;
            else
                ring_push(s->to_other, x);
        }
        PNET_BUFFER_LIST y;
        while ((y = ring_pop(s->from_other, false)) != NULL) {
            if (cn_nbl_check(y) == NULL)
                s->bad++;
            NdisFreeNetBufferList(y);
        }
    }
    pthread_mutex_lock(&s->to_other->lock);
    s->to_other->done = true;
    pthread_cond_broadcast(&s->to_other->cond);
    pthread_mutex_unlock(&s->to_other->lock);
    PNET_BUFFER_LIST y;
    while ((y = ring_pop(s->from_other, true)) != NULL)
        NdisFreeNetBufferList(y);
    return NULL;
}

static void test_two_thread_stress(void **state)
{
    (void)state;
    NDIS_HANDLE owner = owner_new();
    NDIS_HANDLE pool = nbl_pool(owner, TRUE, 0, 0);
    struct ring ab = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
    struct ring ba = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
    struct stress a = { .pool = pool, .to_other = &ab, .from_other = &ba };
    struct stress b = { .pool = pool, .to_other = &ba, .from_other = &ab };
    pthread_t ta, tb;
    unsigned long w = cn_warn_count();
    assert_int_equal(pthread_create(&ta, NULL, stress_main, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, stress_main, &b), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(a.bad + b.bad, 0);
    assert_int_equal(cn_warn_count(), w);
    assert_int_equal(cn_mem_outstanding(), 0);
    NdisFreeNetBufferListPool(pool);
    check_clean(owner);
}

/* ---- the accessor macros are lvalues where the WDK's are ------------------------------------ */

static void test_accessors(void **state)
{
    (void)state;
    NDIS_HANDLE owner = owner_new();
    NDIS_HANDLE pool = nbl_pool(owner, TRUE, 0, 0);
    PNET_BUFFER_LIST a = NdisAllocateNetBufferList(pool, 0, 0);
    PNET_BUFFER_LIST b = NdisAllocateNetBufferList(pool, 0, 0);
    PNET_BUFFER nb = NET_BUFFER_LIST_FIRST_NB(a);

    NET_BUFFER_LIST_NEXT_NBL(a) = b;
    assert_ptr_equal(a->Next, b);
    assert_ptr_equal(a->NetBufferListHeader.Next, b);
    assert_ptr_equal(a->NetBufferListHeader.NetBufferListData.Next, b);
    NET_BUFFER_LIST_NEXT_NBL(a) = NULL;
    NET_BUFFER_LIST_STATUS(a) = NDIS_STATUS_SUCCESS;
    NET_BUFFER_LIST_STATUS(b) = NDIS_STATUS_RESOURCES;
    assert_int_equal(b->Status, NDIS_STATUS_RESOURCES);
    NET_BUFFER_LIST_FLAGS(a) |= 0x00100000;
    assert_true(NBL_TEST_FLAG(a, 0x00100000));
    NBL_CLEAR_FLAG(a, 0x00100000);
    NET_BUFFER_LIST_NBL_FLAGS(a) = NDIS_NBL_FLAGS_IS_IPV4;
    NdisSetNblFlag(a, NDIS_NBL_FLAGS_IS_TCP);
    assert_true(NdisTestNblFlags(a, NDIS_NBL_FLAGS_IS_IPV4 | NDIS_NBL_FLAGS_IS_TCP));
    NdisClearNblFlag(a, NDIS_NBL_FLAGS_IS_TCP);
    assert_false(NdisTestNblFlag(a, NDIS_NBL_FLAGS_IS_TCP));
    NET_BUFFER_LIST_PROTOCOL_RESERVED(a)[3] = a;
    NET_BUFFER_LIST_MINIPORT_RESERVED(a)[1] = b;
    assert_ptr_equal(a->MiniportReserved[1], b);
    NET_BUFFER_LIST_INFO(a, Ieee8021QNetBufferListInfo) = NULL;
    NDIS_SET_NET_BUFFER_LIST_VLAN_ID(a, 42);
    assert_int_equal(NDIS_GET_NET_BUFFER_LIST_VLAN_ID(a), 42);
    NDIS_SET_NET_BUFFER_LIST_CANCEL_ID(a, (PVOID)(ULONG_PTR)0x12);
    assert_ptr_equal(NDIS_GET_NET_BUFFER_LIST_CANCEL_ID(a), (PVOID)(ULONG_PTR)0x12);
    NET_BUFFER_LIST_INFO(a, MediaSpecificInformation) = b;
    assert_ptr_equal(a->NetBufferListInfo[6], b);
    NET_BUFFER_LIST_COALESCED_SEG_COUNT(a) = 5;
    NET_BUFFER_LIST_DUP_ACK_COUNT(a) = 2;
    assert_int_equal(NET_BUFFER_LIST_COALESCED_SEG_COUNT(a), 5);
    NET_BUFFER_LIST_SET_HASH_VALUE(a, 0x1234);
    NET_BUFFER_LIST_SET_HASH_TYPE(a, 0x100);
    NET_BUFFER_LIST_SET_HASH_FUNCTION(a, 1);
    assert_int_equal(NET_BUFFER_LIST_GET_HASH_VALUE(a), 0x1234);
    assert_int_equal(NET_BUFFER_LIST_GET_HASH_TYPE(a), 0x100);
    assert_int_equal(NET_BUFFER_LIST_GET_HASH_FUNCTION(a), 1);
    NdisSetNetBufferListProtocolId(a, NDIS_PROTOCOL_ID_TCP_IP);
    assert_int_equal((ULONG_PTR)NET_BUFFER_LIST_INFO(a, NetBufferListProtocolId) & 0xff,
                     NDIS_PROTOCOL_ID_TCP_IP);

    static unsigned char buf[16];
    PMDL m = NdisAllocateMdl(owner, buf, sizeof(buf));
    NET_BUFFER_FIRST_MDL(nb) = m;
    NET_BUFFER_CURRENT_MDL(nb) = m;
    NET_BUFFER_CURRENT_MDL_OFFSET(nb) = 2;
    NET_BUFFER_DATA_OFFSET(nb) = 2;
    NET_BUFFER_DATA_LENGTH(nb) = 10;
    assert_int_equal(nb->NetBufferHeader.DataLength, 10);
    assert_int_equal(nb->NetBufferHeader.NetBufferData.DataOffset, 2);
    NET_BUFFER_NEXT_NB(nb) = NULL;
    NET_BUFFER_PROTOCOL_RESERVED(nb)[5] = nb;
    NET_BUFFER_MINIPORT_RESERVED(nb)[3] = nb;
    NET_BUFFER_CHECKSUM_BIAS(nb) = 4;
    assert_int_equal(nb->ChecksumBias, 4);
    assert_ptr_equal(NdisGetDataBuffer(nb, 10, NULL, 1, 0), buf + 2);

    /* Layout as on 64-bit Windows. */
    assert_int_equal(sizeof(NET_BUFFER), 0xb0);
    assert_int_equal(offsetof(NET_BUFFER_LIST, NetBufferListInfo), 0x90);
    assert_int_equal(MaxNetBufferListInfo, 27);
    assert_int_equal(sizeof(MDL), 48);

    NET_BUFFER_FIRST_MDL(nb) = NULL;
    NET_BUFFER_CURRENT_MDL(nb) = NULL;
    NdisFreeMdl(m);
    NdisFreeNetBufferList(a);
    NdisFreeNetBufferList(b);
    NdisFreeNetBufferListPool(pool);
    check_clean(owner);
}

/* The slab registry finds exactly the descriptors' first bytes, for
 * strides of every shape (its divisibility test has no division), also
 * after another slab was removed and when the address is another pool's. */
static void test_span_strides(void **state)
{
    (void)state;
    static const size_t strides[] = { 1, 7, 24, 96, 224, 464, 1000, 4096, 4104, 65600 };
    struct cn_pool p, q;
    for (size_t k = 0; k < sizeof(strides) / sizeof(strides[0]); k++) {
        size_t elem = strides[k], count = 40;
        char *slab = malloc(count * elem + 64), *other = malloc(4 * elem);
        assert_non_null(slab);
        assert_non_null(other);
        assert_int_equal(cn_span_add(&q, other, 4, elem), 0);
        assert_int_equal(cn_span_add(&p, slab, count, elem), 0);
        cn_span_remove(other, 4, elem);
        for (size_t off = 0; off < count * elem + 64; off++) {
            bool want = off < count * elem && off % elem == 0;
            if (cn_span_holds(&p, slab + off) != want)
                fail_msg("stride %zu, offset %zu: expected %d", elem, off, want);
            if (want)
                assert_false(cn_span_holds(&q, slab + off));
        }
        assert_false(cn_span_holds(&q, other));
        cn_span_remove(slab, count, elem);
        assert_false(cn_span_holds(&p, slab));
        free(slab);
        free(other);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mdl),
        cmocka_unit_test(test_span_strides),
        cmocka_unit_test(test_nbl_pool_plain),
        cmocka_unit_test(test_nbl_pool_with_nb),
        cmocka_unit_test(test_nbl_pool_data),
        cmocka_unit_test(test_nbl_context),
        cmocka_unit_test(test_nb_pool),
        cmocka_unit_test(test_retreat_advance),
        cmocka_unit_test(test_get_data_buffer),
        cmocka_unit_test(test_clone),
        cmocka_unit_test(test_exhaustion),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_stale_handles),
        cmocka_unit_test(test_leaks_and_fini),
        cmocka_unit_test(test_recycling),
        cmocka_unit_test(test_two_thread_stress),
        cmocka_unit_test(test_accessors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
