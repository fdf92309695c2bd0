/*
 * test_compat5_mp.c - NDIS 5.x miniport call managers under condis
 * (compat5/miniport5.c) with the built-in loop5: the NDIS 6 client cosend,
 * the NDIS 5.1 client cosend5, and both at once on one loop5 adapter.
 * Every run: every NBL/packet completed once, received back, no failure,
 * the drivers' own checks clean, nothing left allocated, no warning.
 */
#include "cn_test.h"
#include <condis/builtin.h>
#include "drivers/tdrivers.h"

#define COSEND_PARAMS                                                                         \
    { "cosend", "CosendVcs", "3" }, { "cosend", "CosendCount", "2000" },                      \
        { "cosend", "CosendSize", "100" }, { "cosend", "CosendWindow", "32" },                \
        { "cosend", "CosendChain", "4" }
#define COSEND5_PARAMS                                                                        \
    { "cosend5", "Cosend5Vcs", "2" }, { "cosend5", "Cosend5Count", "2000" },                  \
        { "cosend5", "Cosend5Size", "100" }, { "cosend5", "Cosend5Window", "16" },            \
        { "cosend5", "Cosend5Chain", "4" }

static void cosend_body(const char *inline_mode, const char *resources)
{
    const struct cn_test_param p[] = {
        { "loop5", "LoopInline", inline_mode }, { "loop5", "LoopResources", resources },
        COSEND_PARAMS, { NULL, NULL, NULL },
    };
    struct cn_test_client c[] = { { "cosend", 3, 2000, 100, false, true, NULL } };
    cn_test_run_builtins("loop5", p, c, 1);
}

static void test_mp5_cosend_dpc(void **state)
{
    (void)state;
    cosend_body("0", "0");
}

static void test_mp5_cosend_inline(void **state)
{
    (void)state;
    cosend_body("1", "0");
}

static void test_mp5_cosend_resources(void **state)
{
    (void)state;
    cosend_body("0", "1");
    cosend_body("1", "1");
}

static void cosend5_body(const char *inline_mode)
{
    const struct cn_test_param p[] = {
        { "loop5", "LoopInline", inline_mode }, COSEND5_PARAMS, { NULL, NULL, NULL },
    };
    struct cn_test_client c[] = { { "cosend5", 2, 2000, 100, false, true, NULL } };
    cn_test_run_builtins("loop5", p, c, 1);
}

static void test_mp5_cosend5_dpc(void **state)
{
    (void)state;
    cosend5_body("0");
}

static void test_mp5_cosend5_inline(void **state)
{
    (void)state;
    cosend5_body("1");
}

/* A 5.x call manager whose CmOpenAf pends and completes later with its
 * own AF context: both clients' calls and traffic still reach it. */
static void test_mp5_pended_open_af(void **state)
{
    (void)state;
    const struct cn_test_param p[] = {
        { "loop5", "LoopPendOpenAf", "1" }, COSEND_PARAMS, COSEND5_PARAMS, { NULL, NULL, NULL },
    };
    struct cn_test_client c[] = { { "cosend", 3, 2000, 100, false, true, NULL }, { "cosend5", 2, 2000, 100, false, true, NULL } };
    cn_test_run_builtins("loop5", p, c, 2);
}

/* Both clients on one loop5 adapter at once. */
static void test_mp5_both(void **state)
{
    (void)state;
    const struct cn_test_param p[] = {
        { "loop5", "LoopInline", "0" }, COSEND_PARAMS, COSEND5_PARAMS, { NULL, NULL, NULL },
    };
    struct cn_test_client c[] = {
        { "cosend", 3, 2000, 100, false, true, NULL },
        { "cosend5", 2, 2000, 100, false, true, NULL },
    };
    cn_test_run_builtins("loop5", p, c, 2);
}

/* ======================================================================
 * tclient over loop5: receives in send order, MaxSduSize enforced
 * ====================================================================== */

#define TC_WAIT_MS 10000

struct tc_env {
    struct condis_driver *mp, *client;
    struct condis_adapter *adapter;
    struct tclient_vc *vc;
    unsigned long warnings;
};

static void tc_start(struct tc_env *e, const char *inline_mode, ULONG payload)
{
    memset(e, 0, sizeof(*e));
    assert_int_equal(condis_param_set("loop5", "LoopInline", inline_mode), 0);
    e->warnings = condis_warnings();
    cn_test_load_builtin("loop5", &e->mp);
    struct tclient_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.hold_receives = true;
    cfg.payload = payload;
    assert_int_equal(tclient_load(&cfg, &e->client), 0);
    assert_int_equal(condis_adapter_add(e->mp, NULL, &e->adapter), 0);
    assert_int_equal(condis_bind_all(), 0);
    assert_int_equal(tclient_wait_af_open(TC_WAIT_MS), NDIS_STATUS_SUCCESS);
    NDIS_STATUS st = NDIS_STATUS_FAILURE;
    e->vc = tclient_create_vc(&st);
    assert_non_null(e->vc);
    st = tclient_make_call(e->vc);
    if (st == NDIS_STATUS_PENDING)
        st = tclient_wait_make_call(e->vc, TC_WAIT_MS);
    assert_int_equal(st, NDIS_STATUS_SUCCESS);
}

static void tc_end(struct tc_env *e)
{
    /* Flags that promise an IRQL must tell the truth; each send back once,
     * to its own VC. */
    assert_int_equal(atomic_load(&e->vc->flag_lies), 0);
    assert_int_equal(atomic_load(&e->vc->flag_missing), 0);
    assert_int_equal(atomic_load(&e->vc->rx_flag_lies), 0);
    assert_int_equal(atomic_load(&e->vc->rx_flag_missing), 0);
    assert_int_equal(atomic_load(&e->vc->dup_completions), 0);
    assert_int_equal(atomic_load(&e->vc->wrong_context), 0);
    assert_int_equal(atomic_load(&e->vc->foreign_completed), 0);
    NDIS_STATUS st = tclient_close_call(e->vc);
    if (st == NDIS_STATUS_PENDING)
        st = tclient_wait_close_call(e->vc, TC_WAIT_MS);
    assert_int_equal(st, NDIS_STATUS_SUCCESS);
    assert_int_equal(tclient_delete_vc(e->vc), NDIS_STATUS_SUCCESS);
    assert_int_equal(condis_unbind_all(), 0);
    assert_int_equal(condis_adapter_remove(e->adapter), 0);
    assert_int_equal(condis_driver_unload(e->client), 0);
    assert_int_equal(condis_driver_unload(e->mp), 0);
    cn_test_assert_clean();
    assert_int_equal(condis_warnings(), e->warnings);
}

/* The seq stamped in a received NBL's first 8 bytes. */
static ULONG tc_seq(PNET_BUFFER_LIST nbl)
{
    UCHAR storage[8];
    PUCHAR p = NdisGetDataBuffer(NET_BUFFER_LIST_FIRST_NB(nbl), 8, storage, 1, 0);
    assert_non_null(p);
    ULONG seq;
    memcpy(&seq, p + 4, sizeof(seq));
    return seq;
}

static void tc_fifo_body(const char *inline_mode)
{
    enum { N = 300 };
    struct tc_env e;
    tc_start(&e, inline_mode, 64);
    assert_int_equal(tclient_send(e.vc, N, 0, 0, 4), N);
    for (unsigned ms = 0; ms < TC_WAIT_MS && atomic_load(&e.vc->rx_held) < N; ms++)
        NdisMSleep(1000);
    assert_int_equal(atomic_load(&e.vc->rx_held), N);
    /* A send completes only once its receive is back. */
    assert_int_equal(atomic_load(&e.vc->completed), 0);
    /* tclient holds the newest receive first. */
    NdisAcquireSpinLock(&e.vc->lock);
    ULONG expect = N;
    for (PNET_BUFFER_LIST nbl = e.vc->held_head; nbl; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl))
        assert_int_equal(tc_seq(nbl), --expect);
    NdisReleaseSpinLock(&e.vc->lock);
    assert_int_equal(expect, 0);
    assert_int_equal(tclient_return_held(e.vc), N);
    assert_true(tclient_wait_sends(e.vc, TC_WAIT_MS));
    assert_int_equal(atomic_load(&e.vc->completed_ok), N);
    tc_end(&e);
}

static void test_mp5_tclient_fifo_dpc(void **state)
{
    (void)state;
    tc_fifo_body("0");
}

static void test_mp5_tclient_fifo_inline(void **state)
{
    (void)state;
    tc_fifo_body("1");
}

/* tclient's calls have Transmit.MaxSduSize 1500. */
static void tc_max_sdu_body(const char *inline_mode)
{
    enum { N = 20 };
    struct tc_env e;
    tc_start(&e, inline_mode, 1501);
    assert_int_equal(tclient_send(e.vc, N, 0, 0, 2), N);
    assert_true(tclient_wait_sends(e.vc, TC_WAIT_MS));
    assert_int_equal(tclient_status_count(e.vc, NDIS_STATUS_INVALID_LENGTH), N);
    assert_int_equal(atomic_load(&e.vc->received), 0);
    tc_end(&e);
}

static void test_mp5_max_sdu_dpc(void **state)
{
    (void)state;
    tc_max_sdu_body("0");
}

static void test_mp5_max_sdu_inline(void **state)
{
    (void)state;
    tc_max_sdu_body("1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mp5_cosend_dpc, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_mp5_cosend_inline, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_mp5_cosend_resources, cn_test_setup,
                                        cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_mp5_cosend5_dpc, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_mp5_cosend5_inline, cn_test_setup,
                                        cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_mp5_both, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_mp5_pended_open_af, cn_test_setup,
                                        cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_mp5_tclient_fifo_dpc, cn_test_setup,
                                        cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_mp5_tclient_fifo_inline, cn_test_setup,
                                        cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_mp5_max_sdu_dpc, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_mp5_max_sdu_inline, cn_test_setup,
                                        cn_test_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
