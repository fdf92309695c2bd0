/*
 * test_packet.c - NDIS 5.x packet and buffer descriptors and their pools
 * (compat5): allocation and exhaustion (overflow descriptors included),
 * the chain routines and macros with their edge cases (empty chain, stale
 * tail, reinitialized packet whose buffers are lost), the reuse sequence
 * of ProtocolCoSendComplete, the OOB and per-packet macros, NdisCopyBuffer
 * views, the refusals (double free, in-flight free, pool freed with
 * descriptors out), the leak report, and a two-thread stress.
 *
 * The layer needs no runtime. Each test ends by checking that nothing is
 * outstanding or leaked and no pool handle is live.
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

#include "compat5/cn_compat5.h"

/* ---- helpers ---------------------------------------------------------------------- */

static const char *saved_driver;

static int setup(void **state)
{
    (void)state;
    saved_driver = cn_set_current_driver("tpkt");
    return 0;
}

static void count_leak(const struct cn_pool_leak *l, void *arg)
{
    fprintf(stderr, "  leak: %s of %s tag %#x: %zu out%s\n", l->pl_kind, l->pl_owner,
            l->pl_tag, l->pl_outstanding, l->pl_pool_open ? ", pool not freed" : "");
    ++*(size_t *)arg;
}

/* Every test ends here. */
static int teardown(void **state)
{
    (void)state;
    cn_set_current_driver(saved_driver);
    size_t n = 0;
    assert_int_equal(cn_mem_leaks(count_leak, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(cn_mem_outstanding(), 0);
    assert_int_equal(cn_handle_count(CN_H_PACKET_POOL), 0);
    assert_int_equal(cn_handle_count(CN_H_BUFFER_POOL), 0);
    return 0;
}

static NDIS_HANDLE packet_pool(UINT n, UINT overflow, UINT reserved)
{
    NDIS_STATUS st = NDIS_STATUS_FAILURE;
    NDIS_HANDLE h = NULL;
    if (overflow == 0)
        NdisAllocatePacketPool(&st, &h, n, reserved);
    else
        NdisAllocatePacketPoolEx(&st, &h, n, overflow, reserved);
    assert_int_equal(st, NDIS_STATUS_SUCCESS);
    assert_non_null(h);
    return h;
}

static NDIS_HANDLE buffer_pool(UINT n)
{
    NDIS_STATUS st = NDIS_STATUS_FAILURE;
    NDIS_HANDLE h = NULL;
    NdisAllocateBufferPool(&st, &h, n);
    assert_int_equal(st, NDIS_STATUS_SUCCESS);
    assert_non_null(h);
    return h;
}

static PNDIS_PACKET packet(NDIS_HANDLE pool)
{
    NDIS_STATUS st = NDIS_STATUS_FAILURE;
    PNDIS_PACKET p = NULL;
    NdisAllocatePacket(&st, &p, pool);
    assert_int_equal(st, NDIS_STATUS_SUCCESS);
    assert_non_null(p);
    return p;
}

static PNDIS_BUFFER buffer(NDIS_HANDLE pool, void *va, UINT len)
{
    NDIS_STATUS st = NDIS_STATUS_FAILURE;
    PNDIS_BUFFER b = NULL;
    NdisAllocateBuffer(&st, &b, pool, va, len);
    assert_int_equal(st, NDIS_STATUS_SUCCESS);
    assert_non_null(b);
    return b;
}

static bool all_zero(const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i] != 0)
            return false;
    return true;
}

static UINT q_count(PNDIS_PACKET p, UINT *len, UINT *pages)
{
    UINT count = 0;
    NdisQueryPacket(p, pages, &count, NULL, len);
    return count;
}

/* ---- pools and packets ------------------------------------------------------------- */

static void test_packet_alloc_fields(void **state)
{
    (void)state;
    NDIS_HANDLE pool = packet_pool(4, 0, 24);
    assert_int_equal(NdisPacketPoolUsage(pool), 0);
    PNDIS_PACKET p = packet(pool);
    assert_int_equal(NdisPacketPoolUsage(pool), 1);

    assert_ptr_equal(p->Private.Pool, pool);
    assert_ptr_equal(NdisGetPoolFromPacket(p), pool);
    assert_null(p->Private.Head);
    assert_false(p->Private.ValidCounts);
    assert_int_equal(p->Private.NdisPacketFlags, fPACKET_ALLOCATED_BY_NDIS);
    assert_int_equal(NdisGetPacketFlags(p), 0);
    /* The OOB block follows the 24 reserved bytes, aligned, and is zeroed,
     * as is the per-packet information after it. */
    assert_true(p->Private.NdisPacketOobOffset >=
                FIELD_OFFSET(NDIS_PACKET, ProtocolReserved) + 24);
    assert_int_equal(p->Private.NdisPacketOobOffset % 8, 0);
    PNDIS_PACKET_OOB_DATA oob = NDIS_OOB_DATA_FROM_PACKET(p);
    assert_ptr_equal(oob, (PUCHAR)p + p->Private.NdisPacketOobOffset);
    assert_true(all_zero(oob, sizeof(*oob)));
    PNDIS_PACKET_EXTENSION ext = NDIS_PACKET_EXTENSION_FROM_PACKET(p);
    assert_ptr_equal(ext, (PUCHAR)oob + sizeof(NDIS_PACKET_OOB_DATA));
    assert_true(all_zero(ext, sizeof(*ext)));
    assert_true(all_zero(p->ProtocolReserved, 24));
    assert_true(all_zero(p->MiniportReserved, sizeof(p->MiniportReserved)));
    assert_int_equal(NdisPacketSize(24),
                     p->Private.NdisPacketOobOffset + sizeof(NDIS_PACKET_OOB_DATA) +
                         sizeof(NDIS_PACKET_EXTENSION));

    /* ProtocolReserved is the driver's for its whole length; condis' header
     * is elsewhere and the packet stays valid. */
    memset(p->ProtocolReserved, 0xA5, 24);
    memset(p->MiniportReservedEx, 0x5A, sizeof(p->MiniportReservedEx));
    struct cn_packet *c = cn_packet_check(p);
    assert_non_null(c);
    assert_int_equal(atomic_load(&c->state), CN_PKT_IDLE);
    assert_null(c->co5_private);
    assert_string_equal(cn_packet_owner(p), "tpkt");

    NdisFreePacket(p);
    assert_null(cn_packet_check(p)); /* freed */
    assert_int_equal(NdisPacketPoolUsage(pool), 0);

    /* The next packet is handed out clean again. */
    p = packet(pool);
    assert_true(all_zero(p->ProtocolReserved, 24));
    assert_true(all_zero(p->MiniportReservedEx, sizeof(p->MiniportReservedEx)));
    NdisFreePacket(p);
    NdisFreePacketPool(pool);
}

static void test_packet_pool_exhaustion(void **state)
{
    (void)state;
    NDIS_HANDLE pool = packet_pool(2, 0, 0);
    PNDIS_PACKET a = packet(pool), b = packet(pool);
    NDIS_STATUS st = NDIS_STATUS_SUCCESS;
    PNDIS_PACKET c = (PNDIS_PACKET)&st; /* must be overwritten */
    NdisAllocatePacket(&st, &c, pool);
    assert_int_equal(st, NDIS_STATUS_RESOURCES);
    assert_null(c);
    NdisDprAllocatePacket(&st, &c, pool);
    assert_int_equal(st, NDIS_STATUS_RESOURCES);
    assert_null(c);
    NdisFreePacket(a);
    c = packet(pool); /* one came back */
    NdisFreePacket(b);
    NdisFreePacket(c);
    NdisFreePacketPool(pool);

    /* More than 0xFFFF descriptors are refused. */
    NDIS_HANDLE h = (NDIS_HANDLE)&st;
    NdisAllocatePacketPool(&st, &h, 0x10000, 16);
    assert_int_equal(st, NDIS_STATUS_RESOURCES);
    assert_null(h);

    /* A pool of none hands none out. */
    pool = packet_pool(0, 0, 0);
    NdisAllocatePacket(&st, &c, pool);
    assert_int_equal(st, NDIS_STATUS_RESOURCES);
    assert_null(c);
    NdisFreePacketPool(pool);
}

static void test_packet_pool_overflow(void **state)
{
    (void)state;
    NDIS_HANDLE pool = packet_pool(2, 3, 8);
    PNDIS_PACKET p[6];
    for (int round = 0; round < 2; round++) {
        /* The 2 normal descriptors, then the 3 overflow ones, then none. */
        for (int i = 0; i < 5; i++)
            p[i] = packet(pool);
        assert_int_equal(NdisPacketPoolUsage(pool), 5);
        NDIS_STATUS st;
        NdisAllocatePacket(&st, &p[5], pool);
        assert_int_equal(st, NDIS_STATUS_RESOURCES);
        assert_null(p[5]);
        /* Overflow descriptors go back like the others. */
        for (int i = 4; i >= 0; i--)
            NdisFreePacket(p[i]);
        assert_int_equal(NdisPacketPoolUsage(pool), 0);
    }
    NdisFreePacketPool(pool);

    /* The overflow is capped so that the pool holds 0xFFFF. */
    pool = packet_pool(0xFFF0, 0x100, 0);
    size_t n = 0xFFFF;
    PNDIS_PACKET *v = calloc(n, sizeof(*v));
    assert_non_null(v);
    for (size_t i = 0; i < n; i++)
        v[i] = packet(pool);
    NDIS_STATUS st;
    PNDIS_PACKET extra;
    NdisAllocatePacket(&st, &extra, pool);
    assert_int_equal(st, NDIS_STATUS_RESOURCES);
    for (size_t i = 0; i < n; i++)
        NdisFreePacket(v[i]);
    free(v);
    NdisFreePacketPool(pool);
}

static void test_packet_refusals(void **state)
{
    (void)state;
    NDIS_HANDLE pool = packet_pool(4, 0, 16);
    PNDIS_PACKET p = packet(pool);
    unsigned long w;

    /* Double free. */
    NdisFreePacket(p);
    w = cn_warn_count();
    NdisFreePacket(p);
    assert_int_equal(cn_warn_count(), w + 1);
    assert_int_equal(NdisPacketPoolUsage(pool), 0);

    /* A packet in flight is not freed (OWN-3); once back it is. */
    p = packet(pool);
    struct cn_packet *c = cn_packet_check(p);
    atomic_store(&c->state, CN_PKT_SENDING);
    w = cn_warn_count();
    NdisFreePacket(p);
    NdisDprFreePacket(p);
    assert_true(cn_warn_count() >= w + 2);
    assert_int_equal(NdisPacketPoolUsage(pool), 1);
    assert_non_null(cn_packet_check(p));
    atomic_store(&c->state, CN_PKT_IDLE);

    /* The pool is not freed with a packet out (RES-2) and stays usable. */
    w = cn_warn_count();
    NdisFreePacketPool(pool);
    assert_int_equal(cn_warn_count(), w + 1);
    assert_int_equal(cn_handle_type(pool), CN_H_PACKET_POOL);
    PNDIS_PACKET q = packet(pool);
    NdisFreePacket(q);

    /* A zeroed packet (PKT-2) is no longer recognised and its free is
     * refused; put its header back and it frees. */
    NDIS_PACKET_PRIVATE saved = p->Private;
    NdisZeroMemory(p, sizeof(NDIS_PACKET));
    assert_null(cn_packet_check(p));
    w = cn_warn_count();
    NdisFreePacket(p);
    assert_int_equal(cn_warn_count(), w + 1);
    assert_int_equal(NdisPacketPoolUsage(pool), 1);
    p->Private = saved;
    assert_non_null(cn_packet_check(p));
    NdisFreePacket(p);

    /* Garbage and NULL are refused without being freed. */
    NDIS_PACKET fake;
    memset(&fake, 0, sizeof(fake));
    assert_null(cn_packet_check(&fake));
    assert_null(cn_packet_check(NULL));
    w = cn_warn_count();
    NdisFreePacket(&fake);
    NdisFreePacket(NULL);
    assert_int_equal(cn_warn_count(), w + 2);

    NdisFreePacketPool(pool);
    assert_int_equal(cn_handle_type(pool), CN_H_NONE);
    /* A dead pool handle is refused. */
    NDIS_STATUS st;
    w = cn_warn_count();
    NdisAllocatePacket(&st, &p, pool);
    assert_int_equal(st, NDIS_STATUS_FAILURE);
    assert_null(p);
    NdisFreePacketPool(pool);
    assert_int_equal(NdisPacketPoolUsage(pool), 0);
    assert_true(cn_warn_count() >= w + 3);
}

static void test_dpr_forms(void **state)
{
    (void)state;
    NDIS_HANDLE pool = packet_pool(2, 0, 0);
    NDIS_STATUS st;
    PNDIS_PACKET p;
    KIRQL old = cn_irql_raise(DISPATCH_LEVEL);
    unsigned long w = cn_warn_count();
    NdisDprAllocatePacket(&st, &p, pool);
    assert_int_equal(st, NDIS_STATUS_SUCCESS);
    NdisDprFreePacket(p);
    NdisDprAllocatePacketNonInterlocked(&st, &p, pool);
    assert_int_equal(st, NDIS_STATUS_SUCCESS);
    NdisDprFreePacketNonInterlocked(p);
    assert_int_equal(cn_warn_count(), w);
    cn_irql_lower(old);
    /* Below DISPATCH_LEVEL it works but warns (once per pool). */
    NdisDprAllocatePacket(&st, &p, pool);
    assert_int_equal(st, NDIS_STATUS_SUCCESS);
    NdisDprFreePacket(p);
    assert_int_equal(cn_warn_count(), w + 1);
    NdisFreePacketPool(pool);
}

/* ---- chains ---------------------------------------------------------------------------- */

static unsigned char data[3 * PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

static void test_chain_and_counts(void **state)
{
    (void)state;
    NDIS_HANDLE pp = packet_pool(2, 0, 0), bp = buffer_pool(8);
    PNDIS_PACKET p = packet(pp);
    PNDIS_BUFFER b1 = buffer(bp, data, 100);
    PNDIS_BUFFER b2 = buffer(bp, data + 200, 300);
    PNDIS_BUFFER b3 = buffer(bp, data + PAGE_SIZE - 10, 20); /* spans two pages */

    /* Empty chain. */
    UINT len = 99, pages = 99;
    PNDIS_BUFFER first = b1;
    assert_int_equal(q_count(p, &len, &pages), 0);
    assert_int_equal(len, 0);
    assert_int_equal(pages, 0);
    assert_true(p->Private.ValidCounts);
    NdisQueryPacket(p, NULL, NULL, &first, NULL);
    assert_null(first);
    NdisQueryPacketLength(p, &len);
    assert_int_equal(len, 0);

    NdisChainBufferAtBack(p, b2);
    assert_false(p->Private.ValidCounts);
    NdisChainBufferAtFront(p, b1);
    NdisChainBufferAtBack(p, b3);
    assert_ptr_equal(NDIS_PACKET_FIRST_NDIS_BUFFER(p), b1);
    assert_ptr_equal(NDIS_PACKET_LAST_NDIS_BUFFER(p), b3);
    assert_false(NDIS_PACKET_VALID_COUNTS(p));
    NdisQueryPacketLength(p, &len); /* recalculates */
    assert_int_equal(len, 420);
    assert_true(p->Private.ValidCounts);
    assert_int_equal(q_count(p, &len, &pages), 3);
    assert_int_equal(pages, 4);
    NdisQueryPacket(p, NULL, NULL, &first, NULL);
    assert_ptr_equal(first, b1);

    /* NdisGetNextBuffer / NDIS_BUFFER_LINKAGE walk it. */
    PNDIS_BUFFER n;
    NdisGetNextBuffer(b1, &n);
    assert_ptr_equal(n, b2);
    assert_ptr_equal(NDIS_BUFFER_LINKAGE(b2), b3);
    NdisGetNextBuffer(b3, &n);
    assert_null(n);

    /* NdisGetFirstBufferFromPacket(Safe). */
    PVOID va;
    UINT flen, tlen;
    NdisGetFirstBufferFromPacket(p, &first, &va, &flen, &tlen);
    assert_ptr_equal(first, b1);
    assert_ptr_equal(va, data);
    assert_int_equal(flen, 100);
    assert_int_equal(tlen, 420);
    PUCHAR uva;
    NdisGetFirstBufferFromPacketSafe(p, &first, &uva, &flen, &tlen, HighPagePriority);
    assert_ptr_equal(uva, data);
    assert_int_equal(tlen, 420);

    /* Unchain at back, then at front. */
    NdisUnchainBufferAtBack(p, &n);
    assert_ptr_equal(n, b3);
    assert_null(n->Next);
    assert_ptr_equal(p->Private.Tail, b2);
    assert_false(p->Private.ValidCounts);
    assert_int_equal(q_count(p, &len, NULL), 2);
    assert_int_equal(len, 400);
    NdisUnchainBufferAtFront(p, &n);
    assert_ptr_equal(n, b1);
    assert_null(n->Next);
    assert_int_equal(q_count(p, &len, NULL), 1);
    assert_int_equal(len, 300);

    /* Unchain at front of a one-buffer chain leaves Head NULL and Tail stale:
     * the chain is empty for every routine. */
    NdisUnchainBufferAtFront(p, &n);
    assert_ptr_equal(n, b2);
    assert_null(p->Private.Head);
    assert_ptr_equal(p->Private.Tail, b2); /* stale, as on Windows */
    NdisUnchainBufferAtBack(p, &n);
    assert_null(n);
    NdisUnchainBufferAtFront(p, &n);
    assert_null(n);
    assert_int_equal(q_count(p, &len, NULL), 0);
    assert_int_equal(len, 0);
    NdisGetFirstBufferFromPacket(p, &first, &va, &flen, &tlen);
    assert_null(first);
    assert_null(va);
    assert_int_equal(tlen, 0);

    /* Chaining at back onto an empty chain with a stale tail does not touch it. */
    NdisChainBufferAtBack(p, b3);
    assert_null(b2->Next);
    assert_ptr_equal(p->Private.Head, b3);
    assert_ptr_equal(p->Private.Tail, b3);

    /* A chain chained in one go, and one linked by hand then recalculated. */
    NdisUnchainBufferAtBack(p, &n);
    assert_null(p->Private.Head);
    b1->Next = b2;
    NdisChainBufferAtFront(p, b1);
    assert_ptr_equal(p->Private.Tail, b2);
    NDIS_BUFFER_LINKAGE(b2) = b3;
    NdisRecalculatePacketCounts(p);
    assert_ptr_equal(p->Private.Tail, b3);
    assert_int_equal(q_count(p, &len, NULL), 3);
    /* Unchain at back finds the real end even if Tail lags behind. */
    b3->Next = NULL;
    p->Private.Tail = b2;
    NdisUnchainBufferAtBack(p, &n);
    assert_ptr_equal(n, b3);
    assert_ptr_equal(p->Private.Tail, b2);

    for (;;) {
        NdisUnchainBufferAtFront(p, &n);
        if (n == NULL)
            break;
        NdisFreeBuffer(n);
    }
    NdisFreeBuffer(b3);
    NdisFreePacket(p);
    NdisFreePacketPool(pp);
    NdisFreeBufferPool(bp);
}

static void test_reinitialize_loses_buffers(void **state)
{
    (void)state;
    NDIS_HANDLE pp = packet_pool(1, 0, 0), bp = buffer_pool(4);
    PNDIS_PACKET p = packet(pp);
    PNDIS_BUFFER b1 = buffer(bp, data, 10), b2 = buffer(bp, data + 10, 20);
    NdisChainBufferAtBack(p, b1);
    NdisChainBufferAtBack(p, b2);
    UINT len;
    assert_int_equal(q_count(p, &len, NULL), 2);
    p->Private.Flags = NDIS_FLAGS_DONT_LOOPBACK;
    NDIS_SET_PACKET_STATUS(p, NDIS_STATUS_PENDING);

    /* Head NULL and counts stale; nothing else changes (PKT-1: b1 and b2 are
     * lost to the packet, still allocated from their pool). */
    NdisReinitializePacket(p);
    assert_null(p->Private.Head);
    assert_false(p->Private.ValidCounts);
    assert_ptr_equal(p->Private.Tail, b2);
    assert_int_equal(p->Private.Flags, NDIS_FLAGS_DONT_LOOPBACK);
    assert_int_equal(NDIS_GET_PACKET_STATUS(p), NDIS_STATUS_PENDING);
    assert_ptr_equal(b1->Next, b2);
    PNDIS_BUFFER n;
    NdisUnchainBufferAtFront(p, &n);
    assert_null(n);
    assert_int_equal(q_count(p, &len, NULL), 0);
    assert_int_equal(cn_mem_outstanding(), 3); /* the packet and both buffers */

    /* Only the test still knows them. */
    NdisFreeBuffer(b1);
    NdisFreeBuffer(b2);
    NdisFreePacket(p);
    NdisFreePacketPool(pp);
    NdisFreeBufferPool(bp);
}

/* The reuse sequence a protocol follows in ProtocolCoSendComplete. */
static void test_reuse_sequence(void **state)
{
    (void)state;
    NDIS_HANDLE pp = packet_pool(1, 0, 32), bp = buffer_pool(4);
    static unsigned char msi[16];
    PNDIS_PACKET p = packet(pp);
    memset(p->ProtocolReserved, 0x77, 32);
    for (int round = 0; round < 3; round++) {
        PNDIS_BUFFER h = buffer(bp, data, 14), d = buffer(bp, data + 64, 1000);
        NdisChainBufferAtBack(p, h);
        NdisChainBufferAtBack(p, d);
        NDIS_SET_PACKET_HEADER_SIZE(p, 14);
        NDIS_SET_PACKET_STATUS(p, NDIS_STATUS_SUCCESS);
        NDIS_SET_PACKET_MEDIA_SPECIFIC_INFO(p, msi, sizeof(msi));
        NDIS_SET_PACKET_TIME_TO_SEND(p, 12345);
        UINT len;
        assert_int_equal(q_count(p, &len, NULL), 2);
        assert_int_equal(len, 1014);

        /* ... the send completes and the protocol owns it all again ... */

        /* 1. Unchain every buffer descriptor, keeping the pointers. */
        PNDIS_BUFFER saved[4];
        int ns = 0;
        for (;;) {
            PNDIS_BUFFER b;
            NdisUnchainBufferAtFront(p, &b);
            if (b == NULL)
                break;
            saved[ns++] = b;
        }
        assert_int_equal(ns, 2);
        assert_ptr_equal(saved[0], h);
        assert_ptr_equal(saved[1], d);
        /* 2. Reinitialize the packet. */
        NdisReinitializePacket(p);
        /* 3. Zero the OOB block through NDIS_OOB_DATA_FROM_PACKET, never the packet. */
        NdisZeroMemory(NDIS_OOB_DATA_FROM_PACKET(p), sizeof(NDIS_PACKET_OOB_DATA));
        assert_int_equal(NDIS_GET_PACKET_HEADER_SIZE(p), 0);
        assert_int_equal(NDIS_GET_PACKET_TIME_TO_SEND(p), 0);

        /* The packet is intact and usable. */
        struct cn_packet *c = cn_packet_check(p);
        assert_non_null(c);
        assert_ptr_equal(p->Private.Pool, pp);
        assert_int_equal(p->ProtocolReserved[0], 0x77); /* the driver's bytes are untouched */
        assert_int_equal(p->ProtocolReserved[31], 0x77);

        /* 4. Rechain (reversed this time) and the counts are right. */
        NdisChainBufferAtFront(p, saved[0]);
        NdisChainBufferAtFront(p, saved[1]);
        assert_int_equal(q_count(p, &len, NULL), 2);
        assert_int_equal(len, 1014);
        PNDIS_BUFFER f;
        NdisQueryPacket(p, NULL, NULL, &f, NULL);
        assert_ptr_equal(f, d);
        assert_ptr_equal(p->Private.Tail, h);

        /* Take them off again for the next round and free them. */
        NdisUnchainBufferAtFront(p, &f);
        NdisFreeBuffer(f);
        NdisUnchainBufferAtBack(p, &f);
        NdisFreeBuffer(f);
        NdisReinitializePacket(p);
    }
    NdisFreePacket(p);
    NdisFreePacketPool(pp);
    NdisFreeBufferPool(bp);
}

/* ---- OOB and per-packet macros --------------------------------------------------------- */

static void test_oob_and_info_macros(void **state)
{
    (void)state;
    NDIS_HANDLE pp = packet_pool(2, 0, 8);
    PNDIS_PACKET p = packet(pp), o = packet(pp);
    static unsigned char msi[8];

    NDIS_SET_PACKET_STATUS(p, NDIS_STATUS_RESOURCES);
    assert_int_equal(NDIS_GET_PACKET_STATUS(p), NDIS_STATUS_RESOURCES);
    NDIS_SET_PACKET_HEADER_SIZE(p, 54);
    assert_int_equal(NDIS_GET_PACKET_HEADER_SIZE(p), 54);
    NDIS_SET_PACKET_TIME_TO_SEND(p, 1000);
    assert_int_equal(NDIS_GET_PACKET_TIME_TO_SEND(p), 1000);
    assert_int_equal(NDIS_GET_PACKET_TIME_SENT(p), 1000); /* the same slot */
    NDIS_SET_PACKET_TIME_SENT(p, 2000);
    NDIS_SET_PACKET_TIME_RECEIVED(p, 3000);
    assert_int_equal(NDIS_GET_PACKET_TIME_TO_SEND(p), 2000);
    assert_int_equal(NDIS_GET_PACKET_TIME_RECEIVED(p), 3000);
    assert_int_equal(NDIS_OOB_DATA_FROM_PACKET(p)->TimeReceived, 3000);

    /* Media-specific information: none until set, then what was set. */
    PVOID mp = msi;
    UINT ms = 7;
    NDIS_GET_PACKET_MEDIA_SPECIFIC_INFO(p, &mp, &ms);
    assert_null(mp);
    assert_int_equal(ms, 0);
    NDIS_SET_PACKET_MEDIA_SPECIFIC_INFO(p, msi, sizeof(msi));
    assert_true(p->Private.NdisPacketFlags & fPACKET_CONTAINS_MEDIA_SPECIFIC_INFO);
    NDIS_GET_PACKET_MEDIA_SPECIFIC_INFO(p, &mp, &ms);
    assert_ptr_equal(mp, msi);
    assert_int_equal(ms, sizeof(msi));
    assert_ptr_equal(NDIS_OOB_DATA_FROM_PACKET(p)->MediaSpecificInformation, msi);

    /* On a packet condis did not allocate it has no effect. */
    struct {
        NDIS_PACKET pkt;
        NDIS_PACKET_OOB_DATA oob;
        NDIS_PACKET_EXTENSION ext;
    } own;
    memset(&own, 0, sizeof(own));
    own.pkt.Private.NdisPacketOobOffset = (USHORT)offsetof(__typeof__(own), oob);
    NDIS_SET_PACKET_MEDIA_SPECIFIC_INFO(&own.pkt, msi, sizeof(msi));
    assert_null(own.oob.MediaSpecificInformation);
    assert_int_equal(own.pkt.Private.NdisPacketFlags, 0);
    own.oob.MediaSpecificInformation = msi;
    own.oob.SizeMediaSpecificInfo = 8;
    own.pkt.Private.NdisPacketFlags = fPACKET_CONTAINS_MEDIA_SPECIFIC_INFO;
    NDIS_GET_PACKET_MEDIA_SPECIFIC_INFO(&own.pkt, &mp, &ms);
    assert_null(mp);
    assert_int_equal(ms, 0);
    NDIS_SET_PACKET_STATUS(&own.pkt, NDIS_STATUS_FAILURE); /* plain OOB macros work */
    assert_int_equal(own.oob.Status, NDIS_STATUS_FAILURE);

    /* Per-packet information. */
    NDIS_SET_ORIGINAL_PACKET(o, p);
    assert_ptr_equal(NDIS_GET_ORIGINAL_PACKET(o), p);
    assert_ptr_equal(NDIS_PACKET_EXTENSION_FROM_PACKET(o)->NdisPacketInfo[OriginalPacketInfo], p);
    NDIS_SET_PACKET_CANCEL_ID(o, (PVOID)(uintptr_t)0x42);
    assert_ptr_equal(NDIS_GET_PACKET_CANCEL_ID(o), (PVOID)(uintptr_t)0x42);
    NdisSetPacketCancelId(o, (PVOID)(uintptr_t)0x43);
    assert_ptr_equal(NdisGetPacketCancelId(o), (PVOID)(uintptr_t)0x43);
    NDIS_PER_PACKET_INFO_FROM_PACKET(o, TcpIpChecksumPacketInfo) = (PVOID)(uintptr_t)1;
    assert_ptr_equal(NDIS_PACKET_EXTENSION_FROM_PACKET(o)->NdisPacketInfo[0], (PVOID)(uintptr_t)1);

    /* Flags. */
    NdisSetPacketFlags(p, NDIS_FLAGS_DONT_LOOPBACK);
    NdisSetPacketFlags(p, NDIS_FLAGS_LOOPBACK_ONLY);
    assert_int_equal(NdisGetPacketFlags(p), NDIS_FLAGS_DONT_LOOPBACK | NDIS_FLAGS_LOOPBACK_ONLY);
    NdisClearPacketFlags(p, NDIS_FLAGS_DONT_LOOPBACK);
    assert_int_equal(NdisGetPacketFlags(p), NDIS_FLAGS_LOOPBACK_ONLY);
    NdisSetSendFlags(p, 0);
    UINT sf = 9;
    NdisQuerySendFlags(p, &sf);
    assert_int_equal(sf, 0);

    /* Protocol id of a pool. */
    NdisFreePacket(o);
    NdisSetPacketPoolProtocolId(pp, NDIS_PROTOCOL_ID_TCP_IP);
    o = packet(pp);
    assert_int_equal(NDIS_GET_PACKET_PROTOCOL_TYPE(o), NDIS_PROTOCOL_ID_TCP_IP);

    NdisFreePacket(o);
    NdisFreePacket(p);
    NdisFreePacketPool(pp);
}

/* ---- buffers -------------------------------------------------------------------------------- */

static void test_buffers(void **state)
{
    (void)state;
    NDIS_HANDLE bp = buffer_pool(3);
    PNDIS_BUFFER b = buffer(bp, data + 100, 500);
    PVOID va = NULL;
    UINT len = 0, off = 0;

    NdisQueryBuffer(b, &va, &len);
    assert_ptr_equal(va, data + 100);
    assert_int_equal(len, 500);
    len = 0;
    NdisQueryBuffer(b, NULL, &len);
    assert_int_equal(len, 500);
    PUCHAR uva = NULL;
    NdisQueryBufferSafe(b, &uva, &len, NormalPagePriority);
    assert_ptr_equal(uva, data + 100);
    NdisQueryBufferOffset(b, &off, &len);
    assert_int_equal(off, BYTE_OFFSET(data + 100));
    assert_int_equal(len, 500);
    assert_int_equal(NdisBufferLength(b), 500);
    assert_ptr_equal(NdisBufferVirtualAddress(b), data + 100);
    assert_ptr_equal(NdisBufferVirtualAddressSafe(b, NormalPagePriority), data + 100);
    UINT pages;
    NdisGetBufferPhysicalArraySize(b, &pages);
    assert_int_equal(pages, NDIS_BUFFER_TO_SPAN_PAGES(b));
    assert_null(b->Next);
    NdisAdjustBufferLength(b, 200);
    assert_int_equal(NdisBufferLength(b), 200);

    /* NdisCopyBuffer: partial views of b, and of a view. */
    NDIS_STATUS st;
    PNDIS_BUFFER v1 = NULL, v2 = NULL, v3 = NULL;
    NdisCopyBuffer(&st, &v1, bp, b, 50, 100);
    assert_int_equal(st, NDIS_STATUS_SUCCESS);
    NdisQueryBuffer(v1, &va, &len);
    assert_ptr_equal(va, data + 150);
    assert_int_equal(len, 100);
    assert_true(v1->MdlFlags & MDL_PARTIAL);
    NdisQueryBufferOffset(v1, &off, &len);
    assert_int_equal(off, BYTE_OFFSET(data + 150));
    NdisCopyBuffer(&st, &v2, bp, v1, 99, 1);
    assert_int_equal(st, NDIS_STATUS_SUCCESS);
    NdisQueryBuffer(v2, &va, &len);
    assert_ptr_equal(va, data + 249);
    assert_int_equal(len, 1);

    /* Beyond the source: refused. Pool exhausted: NDIS_STATUS_RESOURCES. */
    NdisCopyBuffer(&st, &v3, bp, b, 150, 51);
    assert_int_equal(st, NDIS_STATUS_FAILURE);
    assert_null(v3);
    NdisCopyBuffer(&st, &v3, bp, v1, 0, 0); /* would be the 4th of 3 */
    assert_int_equal(st, NDIS_STATUS_RESOURCES);
    assert_null(v3);
    NdisAllocateBuffer(&st, &v3, bp, data, 1);
    assert_int_equal(st, NDIS_STATUS_RESOURCES);
    assert_null(v3);

    /* The pool is not freed with descriptors out and stays usable. */
    unsigned long w = cn_warn_count();
    NdisFreeBufferPool(bp);
    assert_int_equal(cn_warn_count(), w + 1);
    assert_int_equal(cn_handle_type(bp), CN_H_BUFFER_POOL);
    NdisFreeBuffer(v2);
    v2 = buffer(bp, data, 1);

    /* Double free; IoFreeMdl on a pool descriptor is refused. */
    NdisFreeBuffer(v2);
    w = cn_warn_count();
    NdisFreeBuffer(v2);
    IoFreeMdl(v1);
    NdisFreeBuffer(NULL);
    assert_int_equal(cn_warn_count(), w + 3);

    /* NdisFreeBuffer takes an IoAllocateMdl MDL, as the WDK's macro does. */
    PMDL m = IoAllocateMdl(data, 64, FALSE, FALSE, NULL);
    assert_non_null(m);
    w = cn_warn_count();
    NdisFreeBuffer(m);
    assert_int_equal(cn_warn_count(), w);

    NdisFreeBuffer(v1);
    NdisFreeBuffer(b);
    NdisFreeBufferPool(bp);
    assert_int_equal(cn_handle_type(bp), CN_H_NONE);
    NdisAllocateBuffer(&st, &v1, bp, data, 1);
    assert_int_equal(st, NDIS_STATUS_FAILURE);
    assert_null(v1);

    /* A pool of none. */
    bp = buffer_pool(0);
    NdisAllocateBuffer(&st, &v1, bp, data, 1);
    assert_int_equal(st, NDIS_STATUS_RESOURCES);
    NdisFreeBufferPool(bp);
}

/* ---- leak report ---------------------------------------------------------------------------- */

struct leak_seen {
    int packet, buffer;
};

static void see_leak(const struct cn_pool_leak *l, void *arg)
{
    struct leak_seen *s = arg;
    assert_string_equal(l->pl_owner, "tpkt");
    assert_int_equal(l->pl_tag, 0);
    assert_int_equal(l->pl_outstanding, 1);
    assert_true(l->pl_pool_open);
    if (strcmp(l->pl_kind, "packet pool") == 0)
        s->packet++;
    else if (strcmp(l->pl_kind, "buffer pool") == 0)
        s->buffer++;
    else
        fail_msg("unexpected leak kind %s", l->pl_kind);
}

static void test_leak_report(void **state)
{
    (void)state;
    NDIS_HANDLE pp = packet_pool(2, 0, 0), bp = buffer_pool(2);
    PNDIS_PACKET p = packet(pp);
    PNDIS_BUFFER b = buffer(bp, data, 4);
    assert_int_equal(cn_mem_outstanding(), 2);
    struct leak_seen s = { 0, 0 };
    assert_int_equal(cn_mem_leaks(see_leak, &s), 2);
    assert_int_equal(s.packet, 1);
    assert_int_equal(s.buffer, 1);
    NdisFreeBuffer(b);
    NdisFreePacket(p);
    /* Empty but open pools are still reported (RES-1). */
    assert_int_equal(cn_mem_leaks(NULL, NULL), 2);
    NdisFreePacketPool(pp);
    NdisFreeBufferPool(bp);

    /* Teardown reclaims pools left behind with descriptors out. */
    pp = packet_pool(2, 0, 0);
    bp = buffer_pool(2);
    p = packet(pp);
    b = buffer(bp, data, 4);
    NdisChainBufferAtBack(p, b);
    cn_mem_fini();
    assert_int_equal(cn_mem_outstanding(), 0);
    assert_int_equal(cn_handle_count(CN_H_PACKET_POOL), 0);
    assert_int_equal(cn_handle_count(CN_H_BUFFER_POOL), 0);
}

/* ---- two threads ------------------------------------------------------------------------------ */

struct stress {
    NDIS_HANDLE pp, bp;
    _Atomic unsigned long short_of;
};

static void *stress_thread(void *arg)
{
    struct stress *s = arg;
    PNDIS_PACKET held[8] = { 0 };
    for (int i = 0; i < 20000; i++) {
        int k = i % 8;
        if (held[k] != NULL) {
            PNDIS_BUFFER b;
            for (;;) {
                NdisUnchainBufferAtFront(held[k], &b);
                if (b == NULL)
                    break;
                NdisFreeBuffer(b);
            }
            NdisFreePacket(held[k]);
            held[k] = NULL;
        }
        NDIS_STATUS st;
        PNDIS_PACKET p;
        NdisAllocatePacket(&st, &p, s->pp);
        if (st != NDIS_STATUS_SUCCESS) {
            atomic_fetch_add(&s->short_of, 1);
            continue;
        }
        PNDIS_BUFFER b;
        NdisAllocateBuffer(&st, &b, s->bp, data + k, 64);
        if (st == NDIS_STATUS_SUCCESS)
            NdisChainBufferAtBack(p, b);
        else
            atomic_fetch_add(&s->short_of, 1);
        held[k] = p;
    }
    for (int k = 0; k < 8; k++) {
        if (held[k] == NULL)
            continue;
        PNDIS_BUFFER b;
        NdisUnchainBufferAtFront(held[k], &b);
        if (b != NULL)
            NdisFreeBuffer(b);
        NdisFreePacket(held[k]);
    }
    return NULL;
}

static void test_two_thread_stress(void **state)
{
    (void)state;
    struct stress s = { packet_pool(12, 2, 16), buffer_pool(12), 0 };
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, stress_thread, &s), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(NdisPacketPoolUsage(s.pp), 0);
    NdisFreePacketPool(s.pp);
    NdisFreeBufferPool(s.bp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_packet_alloc_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_packet_pool_exhaustion, setup, teardown),
        cmocka_unit_test_setup_teardown(test_packet_pool_overflow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_packet_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dpr_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_and_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reinitialize_loses_buffers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reuse_sequence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oob_and_info_macros, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buffers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leak_report, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_thread_stress, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
