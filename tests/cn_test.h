/*
 * cn_test.h - what every condis test includes: cmocka, the NDIS surface,
 * the host API, and setup/teardown that start the runtime and, at the end,
 * check that every pool is full and nothing is outstanding.
 */
#ifndef CN_TEST_H
#define CN_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ndis.h>
#include <condis/host.h>

/* Start the runtime with the defaults. */
int cn_test_setup(void **state);
/* Start it with NdisOpenAdapterEx/NdisCloseAdapterEx pending. */
int cn_test_setup_pend(void **state);
/* Start it with the verifier on (condis/verify.h). */
int cn_test_setup_verify(void **state);
/* Fail the test unless the verifier found rule ("OWN-1") at least n times. */
void cn_test_expect_violation(const char *rule, size_t at_least);
/* End the run in order and fail the test unless everything came back:
 * condis_fini must return 0 (nothing leaked, nothing outstanding), and the
 * verifier (when on) found nothing the test did not clear. */
int cn_test_teardown(void **state);
/* Fail the test unless nothing is outstanding right now. */
void cn_test_assert_clean(void);

/* ---- built-in clients over a built-in miniport ------------------------ */

struct cn_test_param {
    const char *driver, *keyword, *value;
};

struct cn_test_client {
    const char *name;          /* built-in protocol: "cosend" or "cosend5" */
    unsigned long vcs;
    unsigned long long count, size;
    bool expect_failures;      /* some completions fail (SimFailEvery) */
    bool expect_received;      /* every NBL comes back as a receive (loop, loop5) */
    struct condis_driver *drv; /* filled in */
};

/* Load a built-in driver, failing the test if it does not load. */
void cn_test_load_builtin(const char *name, struct condis_driver **out);

/* Set params (ended by a NULL driver), load the built-in miniport and the
 * clients, bind, wait until every client has deleted its VCs, stop, and
 * fail the test unless: nothing is left outstanding or leaked, no new
 * warning, cosend's and cosend5's own checks are clean, and each client's
 * NBLs were all sent and completed once (failing only if expected),
 * none refused, received back exactly if expected. */
void cn_test_run_builtins(const char *miniport, const struct cn_test_param *params,
                          struct cn_test_client *clients, unsigned n);

#endif
