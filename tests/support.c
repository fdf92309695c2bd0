/*
 * support.c - setup and teardown shared by the tests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cn_test.h"

#include <condis/builtin.h>

ULONG CosendErrors(void);
ULONG Cosend5Errors(void);

#define CLIENT_WAIT_MS 120000

int cn_test_setup(void **state)
{
    (void)state;
    return condis_init(NULL);
}

int cn_test_setup_pend(void **state)
{
    (void)state;
    struct condis_options o = { .pend_open_close = true };
    return condis_init(&o);
}

int cn_test_setup_verify(void **state)
{
    (void)state;
    struct condis_options o = { .verify = CONDIS_VERIFY_ON };
    return condis_init(&o);
}

void cn_test_expect_violation(const char *rule, size_t at_least)
{
    size_t n = condis_verify_count(rule);
    if (n < at_least) {
        condis_verify_report_text(stderr);
        fail_msg("expected at least %zu %s finding(s), got %zu", at_least, rule, n);
    }
}

void cn_test_assert_clean(void)
{
    condis_flush();
    if (!condis_clean()) {
        condis_report_leaks();
        fail_msg("condis is not clean: something is outstanding or leaked (listed above)");
    }
}

int cn_test_teardown(void **state)
{
    (void)state;
    /* A test that provokes findings on purpose clears them when it has
     * checked them; any other finding is a failure. */
    condis_stop();
    size_t found = condis_verify_count(NULL);
    if (found != 0) {
        condis_verify_report_text(stderr);
        fprintf(stderr, "the verifier found %zu violation(s) the test did not expect\n", found);
        condis_fini();
        return -1;
    }
    int rc = condis_fini();
    if (rc != 0) {
        fprintf(stderr, "condis_fini returned %d: the run did not end clean\n", rc);
        return -1; /* cmocka fails the test when teardown fails */
    }
    return 0;
}

void cn_test_load_builtin(const char *name, struct condis_driver **out)
{
    const struct condis_builtin *b = condis_builtin_find(name);
    assert_non_null(b);
    NTSTATUS st = STATUS_UNSUCCESSFUL;
    assert_int_equal(condis_driver_load(name, b->entry, out, &st), 0);
    assert_int_equal(st, STATUS_SUCCESS);
}

static bool client_wait(struct cn_test_client *c)
{
    struct condis_driver_stats s;
    for (unsigned ms = 0; ms < CLIENT_WAIT_MS; ms++) {
        assert_int_equal(condis_driver_stats(c->drv, &s), 0);
        if (s.vcs_created == c->vcs && s.vcs_live == 0)
            return true;
        NdisMSleep(1000);
    }
    return false;
}

void cn_test_run_builtins(const char *miniport, const struct cn_test_param *params,
                          struct cn_test_client *clients, unsigned n)
{
    for (const struct cn_test_param *p = params; p->driver; p++)
        assert_int_equal(condis_param_set(p->driver, p->keyword, p->value), 0);
    unsigned long warnings = condis_warnings();
    struct condis_driver *mp = NULL;
    struct condis_adapter *adapter = NULL;
    cn_test_load_builtin(miniport, &mp);
    for (unsigned i = 0; i < n; i++)
        cn_test_load_builtin(clients[i].name, &clients[i].drv);
    assert_int_equal(condis_adapter_add(mp, NULL, &adapter), 0);
    assert_int_equal(condis_bind_all(), 0);
    for (unsigned i = 0; i < n; i++)
        assert_true(client_wait(&clients[i]));
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
        assert_int_equal(s.nbls_received, clients[i].expect_received ? nbls : 0);
    }
}
