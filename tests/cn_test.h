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
/* End the run in order and fail the test unless everything came back:
 * condis_fini must return 0 (nothing leaked, nothing outstanding). */
int cn_test_teardown(void **state);
/* Fail the test unless nothing is outstanding right now. */
void cn_test_assert_clean(void);

#endif
