/*
 * test_verify5.c - the send-path verifier (condis/verify.h) against an
 * NDIS 5.x CoNDIS client: the packet rules PKT-1, PKT-2, PKT-4 and the
 * ownership rules OWN-1, OWN-2 and OWN-3 for packets, each broken on
 * purpose with the verifier on, and a clean run that must find nothing.
 * (test_verify.c has the NDIS 6 rules.)
 *
 * client5 (tests/drivers/client5.c) binds, opens the address family and
 * makes the call over tmcm, which holds every send until the test flushes
 * it. The packets that break the rules are the test's own: it allocates
 * them from its own pools, standing for client5 (as_driver), and sends them
 * on client5's VC with NdisCoSendPackets, so that it controls their
 * buffers, data and media-specific information. Their completions go to
 * client5's CoSendCompleteHandler, which counts a packet that is not one
 * of its own in dup_completions and leaves it alone: that count is how the
 * test sees its packets come back, and the packet's OOB status tells with
 * which status. ProtocolReserved is filled the way client5 reads it
 * ({ ULONG slot; ULONG vc; }, client5.c) with the last slot, which
 * client5_send never uses in these tests.
 *
 * Each test checks that (a) the rule was found, (b) its first kept finding
 * names client5 (or the miniport) and says what, where and how to fix it,
 * (c) every packet came back exactly once and the run ends clean.
 */
#define NDIS51 1 /* the NDIS 5.x protocol surface, as client5 sees it */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tdrv_test.h"
#include "drivers/client5.h"
#include <condis/verify.h>
#include "os/cn_os.h"          /* cn_set_current_driver: the test stands for a driver */
#include "verify/cn_verify.h"  /* CN_VERIFY_POISON, the in-flight status */

#define WAIT_MS 10000

/* Run the statement as if driver drv's code were running on this thread. */
#define as_driver(drv, ...)                                               \
    do {                                                                  \
        const char *prev_drv_ = cn_set_current_driver(drv);               \
        __VA_ARGS__;                                                      \
        cn_set_current_driver(prev_drv_);                                 \
    } while (0)

static int setup_verify(void **state)
{
    cn_set_current_driver(NULL);
    return cn_test_setup_verify(state);
}

/* The verifier takes sends back (OWN-6) after half the driver timeout:
 * 400 ms keeps those tests short. */
static int setup_verify_short_wait(void **state)
{
    (void)state;
    cn_set_current_driver(NULL);
    struct condis_options o = { .verify = CONDIS_VERIFY_ON, .wait_ms = 400 };
    return condis_init(&o);
}

#define MAX_FINDINGS 256
static struct condis_violation found[MAX_FINDINGS];

/* (a) and (b), as in test_verify.c. */
static const struct condis_violation *check_finding(const char *rule, const char *driver)
{
    cn_test_expect_violation(rule, 1);
    size_t n = condis_verify_findings(found, MAX_FINDINGS);
    if (n > MAX_FINDINGS)
        n = MAX_FINDINGS;
    const struct condis_violation *v = NULL;
    for (size_t i = 0; i < n && v == NULL; i++)
        if (strcmp(found[i].rule, rule) == 0)
            v = &found[i];
    if (v == NULL) {
        condis_verify_report_text(stderr);
        fail_msg("%s was counted but no finding of it was kept", rule);
    }
    if (strcmp(v->driver, driver) != 0) {
        condis_verify_report_text(stderr);
        fail_msg("%s: the finding names driver '%s', expected '%s'", rule, v->driver, driver);
    }
    if (v->object[0] == '\0' || v->call[0] == '\0' || v->message[0] == '\0' ||
        v->fix == NULL || v->fix[0] == '\0') {
        condis_verify_report_text(stderr);
        fail_msg("%s: the finding lacks its object, call, message or fix", rule);
    }
    return v;
}

static void expect_only(const char *rule, ...)
{
    size_t listed = 0;
    va_list ap;
    va_start(ap, rule);
    for (const char *r = rule; r != NULL; r = va_arg(ap, const char *))
        listed += condis_verify_count(r);
    va_end(ap);
    size_t all = condis_verify_count(NULL);
    if (all != listed) {
        condis_verify_report_text(stderr);
        fail_msg("the verifier found %zu violation(s) beyond the %zu expected", all - listed,
                 listed);
    }
}

static void done_with_findings(void)
{
    condis_verify_clear();
    assert_int_equal(condis_verify_count(NULL), 0);
}

/* ---- the set-up: client5 over tmcm ------------------------------------------------- */

struct env {
    struct condis_driver *mcm, *client;
    struct condis_adapter *adapter;
    struct c5_vc *v;
    struct tmcm_vc *mvc;
};

static void env_start(struct env *e, enum tmcm_mode mode)
{
    memset(e, 0, sizeof(*e));
    struct tmcm_config cfg = { .mode = mode };
    assert_int_equal(tmcm_load(&cfg, &e->mcm), 0);
    assert_int_equal(client5_load(&e->client), 0);
    assert_int_equal(condis_adapter_add(e->mcm, "tmcm0", &e->adapter), 0);
    assert_int_equal(condis_bind_all(), 0);
    assert_int_equal(atomic_load(&c5.bound), 1);
    assert_int_equal(client5_wait_af(WAIT_MS), NDIS_STATUS_SUCCESS);
    NDIS_STATUS st;
    e->v = client5_create_vc(&st);
    assert_non_null(e->v);
    assert_int_equal(client5_make_call(e->v), NDIS_STATUS_SUCCESS);
    e->mvc = tmcm_vc_of(e->v->ndis_vc);
    assert_non_null(e->mvc);
}

/* The orderly end, checked step by step (as test_compat5.c does). */
static void env_end(struct env *e)
{
    assert_int_equal(client5_close_call(e->v), NDIS_STATUS_SUCCESS);
    assert_int_equal(client5_delete_vc(e->v), NDIS_STATUS_SUCCESS);
    struct condis_outstanding o;
    condis_outstanding(&o);
    assert_int_equal(o.vcs, 0);
    assert_int_equal(o.nbls_in_flight, 0);
    assert_int_equal(client5_packets_out(), 0);
    assert_int_equal(client5_close_af(), NDIS_STATUS_SUCCESS);
    assert_int_equal(condis_unbind_all(), 0);
    assert_int_equal(condis_adapter_remove(e->adapter), 0);
    assert_int_equal(condis_driver_unload(e->client), 0);
    assert_int_equal(condis_driver_unload(e->mcm), 0);
    cn_test_assert_clean();
}

/* ---- the test's own packets ----------------------------------------------------------- */

#define MY_PACKETS 4
#define MY_DATA 64

struct mine {
    NDIS_HANDLE pkt_pool, buf_pool;
    PNDIS_PACKET p[MY_PACKETS];
    PNDIS_BUFFER b[MY_PACKETS];
    UCHAR data[MY_PACKETS][MY_DATA];
};

/* Pools and packets allocated by "client5"; each packet has one buffer
 * over its data, and ProtocolReserved set for client5's handler. */
static void mine_alloc(struct mine *m, struct c5_vc *v)
{
    memset(m, 0, sizeof(*m));
    NDIS_STATUS st;
    as_driver("client5", {
        NdisAllocatePacketPool(&st, &m->pkt_pool, MY_PACKETS, 16);
        assert_int_equal(st, NDIS_STATUS_SUCCESS);
        NdisAllocateBufferPool(&st, &m->buf_pool, MY_PACKETS);
        assert_int_equal(st, NDIS_STATUS_SUCCESS);
        for (unsigned i = 0; i < MY_PACKETS; i++) {
            NdisAllocatePacket(&st, &m->p[i], m->pkt_pool);
            assert_int_equal(st, NDIS_STATUS_SUCCESS);
            for (unsigned k = 0; k < MY_DATA; k++)
                m->data[i][k] = (UCHAR)(i * 16 + k);
            NdisAllocateBuffer(&st, &m->b[i], m->buf_pool, m->data[i], MY_DATA);
            assert_int_equal(st, NDIS_STATUS_SUCCESS);
            NdisChainBufferAtBack(m->p[i], m->b[i]);
        }
    });
    for (unsigned i = 0; i < MY_PACKETS; i++) {
        ULONG *pr = (ULONG *)(void *)m->p[i]->ProtocolReserved;
        pr[0] = C5_PACKETS - 1; /* client5's slot: never in flight here */
        pr[1] = v->index;
    }
}

/* Unchain and free everything (the packets must be idle). */
static void mine_free(struct mine *m)
{
    as_driver("client5", {
        for (unsigned i = 0; i < MY_PACKETS; i++) {
            PNDIS_BUFFER b;
            do
                NdisUnchainBufferAtFront(m->p[i], &b);
            while (b != NULL);
            NdisFreeBuffer(m->b[i]);
            NdisFreePacket(m->p[i]);
        }
        NdisFreeBufferPool(m->buf_pool);
        NdisFreePacketPool(m->pkt_pool);
    });
}

static void send_one(struct c5_vc *v, PNDIS_PACKET P)
{
    as_driver("client5", NdisCoSendPackets(v->ndis_vc, &P, 1));
}

/* Complete what tmcm holds, as tmcm. */
static unsigned long flush(struct env *e)
{
    unsigned long n;
    as_driver("tmcm", n = tmcm_flush(e->mvc, TMCM_FIFO, TMCM_SPLIT));
    return n;
}

/* How many of the test's packets came back to client5. */
static unsigned long mine_back(struct env *e)
{
    return atomic_load(&e->v->dup_completions);
}

struct on_thread {
    void (*fn)(void *);
    void *arg;
};

static void *on_thread_main(void *p)
{
    struct on_thread *t = p;
    as_driver("client5", t->fn(t->arg));
    return NULL;
}

static void run_on_other_thread(void (*fn)(void *), void *arg)
{
    struct on_thread t = { fn, arg };
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, on_thread_main, &t), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
}

/* ---- a clean run finds nothing ------------------------------------------------------- */

static void test5_clean_run_finds_nothing(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, TMCM_HOLD);
    struct c5_vc *v = e.v;

    /* client5's own packets, with its documented reuse sequence. */
    assert_int_equal(client5_send(v, 20, 4), 20);
    as_driver("tmcm", assert_int_equal(tmcm_flush(e.mvc, TMCM_REVERSE, TMCM_SPLIT), 20));
    atomic_store(&v->resend_left, 30);
    tmcm_set_mode(TMCM_INLINE, false);
    assert_int_equal(client5_send(v, 5, 5), 5);
    tmcm_set_mode(TMCM_DPC, true);
    assert_int_equal(client5_send(v, 25, 3), 25);
    assert_true(client5_wait_sends(v, WAIT_MS));
    condis_flush();
    tmcm_set_mode(TMCM_HOLD, false);

    /* One of the test's with media-specific information, freed only after
     * the packet is back. */
    struct mine m;
    mine_alloc(&m, v);
    PVOID media = NULL;
    as_driver("client5", assert_int_equal(NdisAllocateMemoryWithTag(&media, 24, 'aidM'),
                                          NDIS_STATUS_SUCCESS));
    memset(media, 0x3c, 24);
    NDIS_SET_PACKET_MEDIA_SPECIFIC_INFO(m.p[0], media, 24);
    send_one(v, m.p[0]);
    assert_int_equal(flush(&e), 1);
    assert_int_equal(mine_back(&e), 1);
    assert_int_equal(NDIS_GET_PACKET_STATUS(m.p[0]), NDIS_STATUS_SUCCESS);
    NDIS_SET_PACKET_MEDIA_SPECIFIC_INFO(m.p[0], NULL, 0);
    as_driver("client5", NdisFreeMemory(media, 24, 0));
    mine_free(&m);

    assert_int_equal(atomic_load(&v->sent), 50 + 30);
    assert_int_equal(atomic_load(&v->completed), 50 + 30);
    assert_int_equal(atomic_load(&v->completed_ok), 50 + 30);
    assert_int_equal(atomic_load(&v->wrong_context), 0);
    assert_int_equal(atomic_load(&v->rx_bad), 0);
    if (condis_verify_count(NULL) != 0) {
        condis_verify_report_text(stderr);
        fail_msg("a clean run produced %zu finding(s)", condis_verify_count(NULL));
    }
    env_end(&e);
}

/* ---- OWN-1 ------------------------------------------------------------------------------- */

static void test5_own1_packet_changed_in_flight(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, TMCM_HOLD);
    struct mine m;
    mine_alloc(&m, e.v);

    /* A byte of the data, then the OOB block, while tmcm holds them. */
    send_one(e.v, m.p[0]);
    m.data[0][10] ^= 0xff;
    assert_int_equal(flush(&e), 1);
    const struct condis_violation *v = check_finding("OWN-1", "client5");
    assert_non_null(strstr(v->message, "data"));
    send_one(e.v, m.p[1]);
    NDIS_SET_PACKET_HEADER_SIZE(m.p[1], 14);
    assert_int_equal(flush(&e), 1);
    assert_int_equal(condis_verify_count("OWN-1"), 2);
    expect_only("OWN-1", NULL);

    /* Both back, once, with the miniport's status. */
    assert_int_equal(mine_back(&e), 2);
    assert_int_equal(NDIS_GET_PACKET_STATUS(m.p[0]), NDIS_STATUS_SUCCESS);
    assert_int_equal(NDIS_GET_PACKET_STATUS(m.p[1]), NDIS_STATUS_SUCCESS);
    done_with_findings();
    mine_free(&m);
    env_end(&e);
}

/* ---- OWN-3 and OWN-2 ---------------------------------------------------------------------- */

struct misuse {
    struct c5_vc *v;
    struct mine *m;
};

static void misuse_fn(void *arg)
{
    struct misuse *u = arg;
    PNDIS_PACKET P = u->m->p[0];
    NdisFreePacket(P);
    NdisReinitializePacket(P);
    NdisCoSendPackets(u->v->ndis_vc, &P, 1);
    NdisFreePacketPool(u->m->pkt_pool);
}

static void test5_own3_packet_in_flight(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, TMCM_HOLD);
    struct mine m;
    mine_alloc(&m, e.v);
    send_one(e.v, m.p[0]);

    /* From another thread: free it, reinitialize it, send it again, free
     * its pool. Each is refused. */
    struct misuse u = { e.v, &m };
    run_on_other_thread(misuse_fn, &u);
    check_finding("OWN-3", "client5");
    assert_int_equal(condis_verify_count("OWN-3"), 4);
    expect_only("OWN-3", NULL);
    size_t n = condis_verify_findings(found, MAX_FINDINGS);
    assert_int_equal(n, 4);
    assert_string_equal(found[0].call, "NdisFreePacket");
    assert_string_equal(found[1].call, "NdisReinitializePacket");
    assert_string_equal(found[2].call, "NdisCoSendPackets");
    assert_string_equal(found[3].call, "NdisFreePacketPool");

    /* Untouched: its chain is there, tmcm got it once, it comes back once. */
    assert_ptr_equal(m.p[0]->Private.Head, m.b[0]);
    assert_int_equal(atomic_load(&e.mvc->arrived), 1);
    assert_int_equal(flush(&e), 1);
    assert_int_equal(mine_back(&e), 1);
    assert_int_equal(NDIS_GET_PACKET_STATUS(m.p[0]), NDIS_STATUS_SUCCESS);
    done_with_findings();
    mine_free(&m);
    env_end(&e);
}

static void test5_own2_free_right_after_send(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, TMCM_HOLD);
    struct mine m;
    mine_alloc(&m, e.v);
    send_one(e.v, m.p[0]);
    /* The status a protocol reads right after the send ... */
    assert_int_equal((unsigned)NDIS_GET_PACKET_STATUS(m.p[0]), (unsigned)CN_VERIFY_POISON);
    /* ... and then frees the packet on the same thread. */
    as_driver("client5", NdisFreePacket(m.p[0]));
    check_finding("OWN-3", "client5");
    const struct condis_violation *v = check_finding("OWN-2", "client5");
    assert_non_null(strstr(v->message, "0xc0de0bad"));
    expect_only("OWN-2", "OWN-3", NULL);
    assert_int_equal(flush(&e), 1);
    assert_int_equal(mine_back(&e), 1);
    assert_int_equal(NDIS_GET_PACKET_STATUS(m.p[0]), NDIS_STATUS_SUCCESS);
    done_with_findings();
    mine_free(&m);
    env_end(&e);
}

/* ---- PKT-1 -------------------------------------------------------------------------------- */

static void test5_pkt1_reinitialize_with_buffers_chained(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, TMCM_HOLD);
    struct mine m;
    mine_alloc(&m, e.v);

    /* The documented sequence first: unchain, then reinitialize. */
    PNDIS_BUFFER b;
    as_driver("client5", {
        NdisUnchainBufferAtFront(m.p[1], &b);
        NdisReinitializePacket(m.p[1]);
        NdisChainBufferAtBack(m.p[1], b);
    });
    assert_int_equal(condis_verify_count(NULL), 0);

    /* Then without unchaining: the buffer is lost to the packet. */
    as_driver("client5", NdisReinitializePacket(m.p[0]));
    const struct condis_violation *v = check_finding("PKT-1", "client5");
    assert_string_equal(v->call, "NdisReinitializePacket");
    assert_non_null(strstr(v->message, "1 buffer descriptor"));
    expect_only("PKT-1", NULL);
    assert_null(m.p[0]->Private.Head);

    /* The packet still works; the test still has the buffer to free. */
    NdisChainBufferAtBack(m.p[0], m.b[0]);
    send_one(e.v, m.p[0]);
    assert_int_equal(flush(&e), 1);
    assert_int_equal(mine_back(&e), 1);
    done_with_findings();
    mine_free(&m);
    env_end(&e);
}

/* ---- PKT-2 -------------------------------------------------------------------------------- */

static void test5_pkt2_zeroed_packet_freed(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, TMCM_HOLD);
    struct mine m;
    mine_alloc(&m, e.v);
    PNDIS_PACKET P = m.p[0];
    NdisZeroMemory(P, sizeof(NDIS_PACKET));
    as_driver("client5", NdisFreePacket(P));
    const struct condis_violation *v = check_finding("PKT-2", "client5");
    assert_string_equal(v->call, "NdisFreePacket");
    expect_only("PKT-2", NULL);
    /* Recovered and freed: one packet fewer out of the pool. */
    assert_int_equal(NdisPacketPoolUsage(m.pkt_pool), MY_PACKETS - 1);
    m.p[0] = NULL;
    done_with_findings();
    /* Its buffer was lost to it: freed here. The rest as usual. */
    as_driver("client5", {
        NdisFreeBuffer(m.b[0]);
        for (unsigned i = 1; i < MY_PACKETS; i++) {
            PNDIS_BUFFER b;
            NdisUnchainBufferAtFront(m.p[i], &b);
            NdisFreeBuffer(m.b[i]);
            NdisFreePacket(m.p[i]);
        }
        NdisFreeBufferPool(m.buf_pool);
        NdisFreePacketPool(m.pkt_pool);
    });
    env_end(&e);
}

static void test5_pkt2_zeroed_packet_sent(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, TMCM_HOLD);
    struct mine m;
    mine_alloc(&m, e.v);
    PNDIS_PACKET P = m.p[0];
    NdisZeroMemory(P, sizeof(NDIS_PACKET));
    /* The protocol sets up its own reserved area again, and sends. */
    ULONG *pr = (ULONG *)(void *)P->ProtocolReserved;
    pr[0] = C5_PACKETS - 1;
    pr[1] = e.v->index;
    send_one(e.v, P);
    const struct condis_violation *v = check_finding("PKT-2", "client5");
    assert_string_equal(v->call, "NdisCoSendPackets");
    expect_only("PKT-2", NULL);
    /* condis repaired the header and sent it (with the chain it had left:
     * none); it comes back once. */
    assert_int_equal(atomic_load(&e.mvc->arrived), 1);
    assert_int_equal(flush(&e), 1);
    assert_int_equal(mine_back(&e), 1);
    assert_int_equal(NDIS_GET_PACKET_STATUS(P), NDIS_STATUS_SUCCESS);
    done_with_findings();
    NdisChainBufferAtBack(P, m.b[0]); /* so that mine_free finds it */
    mine_free(&m);
    env_end(&e);
}

/* ---- PKT-3 -------------------------------------------------------------------------------- */

/* A 5.x miniport completing with NDIS_STATUS_PENDING or
 * NDIS_STATUS_RESOURCES: sim5's planted bugs 3 and 8 under cosend5. A test
 * cannot reach the packets condis hands a 5.x miniport, so the built-in
 * pair runs: every 50th packet sim5 accepts is completed with the bad
 * status; condis reports PKT-3 against sim5 and gives cosend5 a failure. */
static void pkt3_body(const char *bug, const char *word)
{
    assert_int_equal(condis_param_set("sim5", "SimBug", bug), 0);
    assert_int_equal(condis_param_set("sim5", "SimBugEvery", "50"), 0);
    assert_int_equal(condis_param_set("cosend5", "Cosend5Vcs", "2"), 0);
    assert_int_equal(condis_param_set("cosend5", "Cosend5Count", "500"), 0);
    struct condis_driver *mp = NULL, *cl = NULL;
    struct condis_adapter *ad = NULL;
    cn_test_load_builtin("sim5", &mp);
    cn_test_load_builtin("cosend5", &cl);
    assert_int_equal(condis_adapter_add(mp, NULL, &ad), 0);
    assert_int_equal(condis_bind_all(), 0);
    struct condis_driver_stats st;
    for (unsigned ms = 0; ms < 10000; ms++) {
        assert_int_equal(condis_driver_stats(cl, &st), 0);
        if (st.vcs_created == 2 && st.vcs_live == 0)
            break;
        NdisMSleep(1000);
    }
    assert_int_equal(condis_stop(), 0);
    /* 1000 packets, every 50th bad: 20 findings, each a failed send. */
    assert_int_equal(st.nbls_sent, 1000);
    assert_int_equal(st.nbls_completed, 1000);
    assert_int_equal(st.nbls_failed, 20);
    assert_int_equal(condis_verify_count("PKT-3"), 20);
    const struct condis_violation *v = check_finding("PKT-3", "sim5");
    assert_non_null(strstr(v->message, word));
    expect_only("PKT-3", NULL);
    done_with_findings();
}

static void test5_pkt3_pending_completion(void **state)
{
    (void)state;
    pkt3_body("3", "NDIS_STATUS_PENDING");
}

static void test5_pkt3_resources_completion(void **state)
{
    (void)state;
    pkt3_body("8", "NDIS_STATUS_RESOURCES");
}

/* ---- OWN-6 with a 5.x miniport ------------------------------------------------------------ */

/* sim5 drops every 100th packet and never completes it (SimBug=2). cosend
 * cannot finish; at the end of the run the verifier takes each dropped
 * send back (OWN-6) and the run ends without a leak: the packets condis
 * made for sim5 are freed with its adapter, and none of sim5's late
 * completions could reach an NBL that went back to cosend. */
static void test5_own6_packets_never_completed(void **state)
{
    (void)state;
    assert_int_equal(condis_param_set("sim5", "SimBug", "2"), 0);
    assert_int_equal(condis_param_set("cosend", "CosendVcs", "2"), 0);
    assert_int_equal(condis_param_set("cosend", "CosendCount", "500"), 0);
    assert_int_equal(condis_param_set("cosend", "CosendChain", "4"), 0);
    struct condis_driver *mp = NULL, *cl = NULL;
    struct condis_adapter *ad = NULL;
    cn_test_load_builtin("sim5", &mp);
    cn_test_load_builtin("cosend", &cl);
    assert_int_equal(condis_adapter_add(mp, NULL, &ad), 0);
    assert_int_equal(condis_bind_all(), 0);
    struct condis_driver_stats st;
    for (unsigned ms = 0; ms < 10000; ms++) {
        assert_int_equal(condis_driver_stats(cl, &st), 0);
        if (st.nbls_sent == 1000 && st.nbls_completed == 990)
            break;
        NdisMSleep(1000);
    }
    assert_int_equal(st.nbls_completed, 990);
    assert_int_equal(condis_stop(), 0);
    assert_int_equal(condis_driver_stats(cl, &st), 0);
    assert_int_equal(st.nbls_sent, 1000);
    assert_int_equal(condis_verify_count("OWN-6"), 10);
    check_finding("OWN-6", "sim5");
    expect_only("OWN-6", NULL);
    done_with_findings();
}

/* ---- PKT-4 -------------------------------------------------------------------------------- */

static void test5_pkt4_media_info_changed_in_flight(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, TMCM_HOLD);
    struct mine m;
    mine_alloc(&m, e.v);
    PVOID media = NULL;
    as_driver("client5", assert_int_equal(NdisAllocateMemoryWithTag(&media, 16, 'aidM'),
                                          NDIS_STATUS_SUCCESS));
    memset(media, 0x22, 16);
    NDIS_SET_PACKET_MEDIA_SPECIFIC_INFO(m.p[1], media, 16);
    send_one(e.v, m.p[1]);
    ((PUCHAR)media)[3] = 0x99;
    assert_int_equal(flush(&e), 1);
    const struct condis_violation *v = check_finding("PKT-4", "client5");
    assert_non_null(strstr(v->message, "changed"));
    assert_int_equal(condis_verify_count("PKT-4"), 1);
    expect_only("PKT-4", NULL);
    assert_int_equal(mine_back(&e), 1);
    assert_int_equal(NDIS_GET_PACKET_STATUS(m.p[1]), NDIS_STATUS_SUCCESS);
    NDIS_SET_PACKET_MEDIA_SPECIFIC_INFO(m.p[1], NULL, 0);
    as_driver("client5", NdisFreeMemory(media, 16, 0));
    done_with_findings();
    mine_free(&m);
    env_end(&e);
}

/* PKT-4: the protocol frees the media-specific block while its packet is
 * in flight: reported, and the free is carried out when the packet
 * completes (no leak, no use after free). */
static void test5_pkt4_media_info_freed_in_flight(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, TMCM_HOLD);
    struct mine m;
    mine_alloc(&m, e.v);
    struct condis_outstanding before, after;
    condis_outstanding(&before);
    PVOID media = NULL;
    as_driver("client5", assert_int_equal(NdisAllocateMemoryWithTag(&media, 32, 'aidM'),
                                          NDIS_STATUS_SUCCESS));
    memset(media, 0x11, 32);
    NDIS_SET_PACKET_MEDIA_SPECIFIC_INFO(m.p[0], media, 32);
    send_one(e.v, m.p[0]);
    as_driver("client5", NdisFreeMemory(media, 32, 0));
    const struct condis_violation *v = check_finding("PKT-4", "client5");
    assert_string_equal(v->call, "NdisFreeMemory");
    condis_outstanding(&after);
    assert_int_equal(after.memory_blocks, before.memory_blocks + 1); /* not freed yet */
    assert_int_equal(flush(&e), 1); /* ASan: heap-use-after-free in here */
    assert_int_equal(mine_back(&e), 1);
    assert_int_equal(NDIS_GET_PACKET_STATUS(m.p[0]), NDIS_STATUS_SUCCESS);
    condis_outstanding(&after);
    assert_int_equal(after.memory_blocks, before.memory_blocks); /* freed at completion */
    assert_int_equal(condis_verify_count("PKT-4"), 1);
    expect_only("PKT-4", NULL);
    NDIS_SET_PACKET_MEDIA_SPECIFIC_INFO(m.p[0], NULL, 0);
    done_with_findings();
    mine_free(&m);
    env_end(&e);
}

/* PKT-4: the media-specific information lies inside a larger block that
 * the protocol frees while the packet is in flight: the whole block is
 * freed when the packet completes. */
static void test5_pkt4_media_info_inside_freed_block(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, TMCM_HOLD);
    struct mine m;
    mine_alloc(&m, e.v);
    struct condis_outstanding before, after;
    condis_outstanding(&before);
    unsigned long warnings = condis_warnings();
    PUCHAR block = NULL;
    as_driver("client5", assert_int_equal(NdisAllocateMemoryWithTag((PVOID *)&block, 48, 'aidM'),
                                          NDIS_STATUS_SUCCESS));
    memset(block, 0x44, 48);
    NDIS_SET_PACKET_MEDIA_SPECIFIC_INFO(m.p[0], block + 16, 32);
    send_one(e.v, m.p[0]);
    as_driver("client5", NdisFreeMemory(block, 48, 0));
    check_finding("PKT-4", "client5");
    expect_only("PKT-4", NULL);
    assert_int_equal(flush(&e), 1);
    assert_int_equal(mine_back(&e), 1);
    condis_outstanding(&after);
    unsigned long new_warnings = condis_warnings() - warnings;
    NDIS_SET_PACKET_MEDIA_SPECIFIC_INFO(m.p[0], NULL, 0);
    done_with_findings();
    mine_free(&m);
    if (after.memory_blocks != before.memory_blocks) {
        /* Free the leaked block so that the run can end clean. */
        as_driver("client5", NdisFreeMemory(block, 48, 0));
        env_end(&e);
        fail_msg("the block freed while its packet was in flight was never freed (%zu block(s) "
                 "left, %lu warning(s))",
                 after.memory_blocks - before.memory_blocks, new_warnings);
    }
    env_end(&e);
    assert_int_equal(new_warnings, 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_verify, cn_test_teardown)
    const struct CMUnitTest tests[] = {
        T(test5_clean_run_finds_nothing),
        T(test5_own1_packet_changed_in_flight),
        T(test5_own2_free_right_after_send),
        T(test5_own3_packet_in_flight),
        T(test5_pkt1_reinitialize_with_buffers_chained),
        T(test5_pkt2_zeroed_packet_freed),
        T(test5_pkt2_zeroed_packet_sent),
        T(test5_pkt3_pending_completion),
        T(test5_pkt3_resources_completion),
        cmocka_unit_test_setup_teardown(test5_own6_packets_never_completed,
                                        setup_verify_short_wait, cn_test_teardown),
        T(test5_pkt4_media_info_changed_in_flight),
        T(test5_pkt4_media_info_freed_in_flight),
        T(test5_pkt4_media_info_inside_freed_block),
    };
#undef T
    if (getenv("CN_TEST_FILTER"))
        cmocka_set_test_filter(getenv("CN_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
