/*
 * support.c - setup and teardown shared by the tests.
 */
#include <stdio.h>

#include "cn_test.h"

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
    int rc = condis_fini();
    if (rc != 0) {
        fprintf(stderr, "condis_fini returned %d: the run did not end clean\n", rc);
        return -1; /* cmocka fails the test when teardown fails */
    }
    return 0;
}
