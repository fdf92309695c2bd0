/*
 * test_sim5.c - the built-in NDIS 5.1 sink sim5 under condis' 5.x miniport
 * support: the NDIS 6 client cosend and the NDIS 5.1 client cosend5, over
 * each of sim5's completion styles. Every run: every NBL/packet completed
 * once, none received, failures only where SimFailEvery asks for them, the
 * clients' own checks clean, nothing left allocated, no warning.
 */
#include "cn_test.h"
#include <condis/builtin.h>

#define COSEND_PARAMS                                                                         \
    { "cosend", "CosendVcs", "3" }, { "cosend", "CosendCount", "2000" },                      \
        { "cosend", "CosendSize", "100" }, { "cosend", "CosendWindow", "32" },                \
        { "cosend", "CosendChain", "4" }
#define COSEND5_PARAMS                                                                        \
    { "cosend5", "Cosend5Vcs", "2" }, { "cosend5", "Cosend5Count", "2000" },                  \
        { "cosend5", "Cosend5Size", "100" }, { "cosend5", "Cosend5Window", "16" },            \
        { "cosend5", "Cosend5Chain", "4" }

/* cosend over sim5 with up to two sim5 parameters set (NULL: none). */
static void cosend_body(const char *k1, const char *v1, const char *k2, const char *v2,
                        bool failures)
{
    if (k1)
        assert_int_equal(condis_param_set("sim5", k1, v1), 0);
    if (k2)
        assert_int_equal(condis_param_set("sim5", k2, v2), 0);
    const struct cn_test_param p[] = { COSEND_PARAMS, { NULL, NULL, NULL } };
    struct cn_test_client c[] = { { "cosend", 3, 2000, 100, failures, false, NULL } };
    cn_test_run_builtins("sim5", p, c, 1);
}

static void test_sim5_cosend_default(void **state)
{
    (void)state;
    cosend_body(NULL, NULL, NULL, NULL, false);
}

static void test_sim5_cosend_inline(void **state)
{
    (void)state;
    cosend_body("SimInline", "1", NULL, NULL, false);
}

static void test_sim5_cosend_reorder(void **state)
{
    (void)state;
    cosend_body("SimReorder", "8", "SimDpcThreads", "2", false);
}

static void test_sim5_cosend_fail(void **state)
{
    (void)state;
    cosend_body("SimFailEvery", "7", NULL, NULL, true);
}

static void test_sim5_cosend_latency(void **state)
{
    (void)state;
    cosend_body("SimLatencyUs", "50", NULL, NULL, false);
}

static void test_sim5_cosend_early(void **state)
{
    (void)state;
    cosend_body("SimEarlyComplete", "1", NULL, NULL, false);
}

static void cosend5_body(const char *inline_mode)
{
    const struct cn_test_param p[] = {
        { "sim5", "SimInline", inline_mode }, COSEND5_PARAMS, { NULL, NULL, NULL },
    };
    struct cn_test_client c[] = { { "cosend5", 2, 2000, 100, false, false, NULL } };
    cn_test_run_builtins("sim5", p, c, 1);
}

static void test_sim5_cosend5_default(void **state)
{
    (void)state;
    cosend5_body("0");
}

static void test_sim5_cosend5_inline(void **state)
{
    (void)state;
    cosend5_body("1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sim5_cosend_default, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_sim5_cosend_inline, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_sim5_cosend_reorder, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_sim5_cosend_fail, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_sim5_cosend_latency, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_sim5_cosend_early, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_sim5_cosend5_default, cn_test_setup,
                                        cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_sim5_cosend5_inline, cn_test_setup,
                                        cn_test_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
