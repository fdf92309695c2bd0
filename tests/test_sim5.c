/*
 * test_sim5.c - the built-in NDIS 5.1 sink sim5 under condis' 5.x miniport
 * support: the NDIS 6 client cosend and the NDIS 5.1 client cosend5, over
 * each of sim5's completion styles. Every run: every NBL/packet completed
 * once, none received, failures only where SimFailEvery asks for them, the
 * clients' own checks clean, nothing left allocated, no warning.
 */
#include "cn_test.h"
#include <condis/builtin.h>

ULONG CosendErrors(void);
ULONG Cosend5Errors(void);

#define S5_WAIT_MS 120000

struct s5_param {
    const char *driver, *keyword, *value;
};

struct s5_client {
    const char *name;
    unsigned long vcs;
    unsigned long long count, size;
    bool expect_failures;
    struct condis_driver *drv;
};

static void s5_load(const char *name, struct condis_driver **out)
{
    const struct condis_builtin *b = condis_builtin_find(name);
    assert_non_null(b);
    NTSTATUS st = STATUS_UNSUCCESSFUL;
    assert_int_equal(condis_driver_load(name, b->entry, out, &st), 0);
    assert_int_equal(st, STATUS_SUCCESS);
}

static bool s5_wait(struct s5_client *c)
{
    struct condis_driver_stats s;
    for (unsigned ms = 0; ms < S5_WAIT_MS; ms++) {
        assert_int_equal(condis_driver_stats(c->drv, &s), 0);
        if (s.vcs_created == c->vcs && s.vcs_live == 0)
            return true;
        NdisMSleep(1000);
    }
    return false;
}

static void s5_run(const struct s5_param *params, struct s5_client *clients, unsigned n)
{
    for (const struct s5_param *p = params; p->driver; p++)
        assert_int_equal(condis_param_set(p->driver, p->keyword, p->value), 0);
    unsigned long warnings = condis_warnings();
    struct condis_driver *mp = NULL;
    struct condis_adapter *adapter = NULL;
    s5_load("sim5", &mp);
    for (unsigned i = 0; i < n; i++)
        s5_load(clients[i].name, &clients[i].drv);
    assert_int_equal(condis_adapter_add(mp, NULL, &adapter), 0);
    assert_int_equal(condis_bind_all(), 0);
    for (unsigned i = 0; i < n; i++)
        assert_true(s5_wait(&clients[i]));
    assert_int_equal(condis_stop(), 0);
    cn_test_assert_clean();
    assert_int_equal(condis_warnings(), warnings);
    assert_int_equal(CosendErrors(), 0);
    assert_int_equal(Cosend5Errors(), 0);
    for (unsigned i = 0; i < n; i++) {
        struct condis_driver_stats s;
        unsigned long long nbls = clients[i].vcs * clients[i].count;
        assert_int_equal(condis_driver_stats(clients[i].drv, &s), 0);
        assert_int_equal(s.vcs_created, clients[i].vcs);
        assert_int_equal(s.vcs_live, 0);
        assert_int_equal(s.nbls_sent, nbls);
        assert_int_equal(s.nbls_completed, nbls);
        if (clients[i].expect_failures)
            assert_true(s.nbls_failed > 0 && s.nbls_failed < nbls);
        else
            assert_int_equal(s.nbls_failed, 0);
        assert_int_equal(s.nbls_refused, 0);
        assert_int_equal(s.bytes_sent, nbls * clients[i].size);
        assert_int_equal(s.nbls_received, 0);
    }
}

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
    const struct s5_param p[] = { COSEND_PARAMS, { NULL, NULL, NULL } };
    struct s5_client c[] = { { "cosend", 3, 2000, 100, failures, NULL } };
    s5_run(p, c, 1);
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
    const struct s5_param p[] = {
        { "sim5", "SimInline", inline_mode }, COSEND5_PARAMS, { NULL, NULL, NULL },
    };
    struct s5_client c[] = { { "cosend5", 2, 2000, 100, false, NULL } };
    s5_run(p, c, 1);
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
