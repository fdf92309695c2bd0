/*
 * tdrv_test.h - assertions the CoNDIS tests share (header only).
 */
#ifndef TDRV_TEST_H
#define TDRV_TEST_H

#include "cn_test.h"
#include "drivers/tdrivers.h"

/* Compare two statuses and name both on failure. */
#define assert_status(got, want)                                                        \
    do {                                                                                \
        NDIS_STATUS got_ = (got), want_ = (want);                                       \
        if (got_ != want_) {                                                            \
            char g_[64];                                                                \
            snprintf(g_, sizeof(g_), "%s", condis_status_name(got_));                   \
            fail_msg("%s is %s, expected %s", #got, g_, condis_status_name(want_));     \
        }                                                                               \
    } while (0)

#define assert_not_success(got)                                                         \
    do {                                                                                \
        NDIS_STATUS got_ = (got);                                                       \
        if (got_ == NDIS_STATUS_SUCCESS || got_ == NDIS_STATUS_PENDING)                 \
            fail_msg("%s is %s, expected a refusal", #got, condis_status_name(got_));   \
    } while (0)

#define IRQL_BIT(l) (1u << (l))

/* The callback ran at least once, and only at the IRQLs in mask. */
#define assert_cb_irql(which, mask)                                                     \
    do {                                                                                \
        unsigned m_ = atomic_load(&tc.cb[which].irql_mask);                             \
        if (atomic_load(&tc.cb[which].count) == 0)                                      \
            fail_msg("callback %s never ran", #which);                                  \
        if ((m_ & ~(unsigned)(mask)) != 0)                                              \
            fail_msg("callback %s ran at IRQL mask 0x%x, allowed 0x%x", #which, m_,     \
                     (unsigned)(mask));                                                 \
    } while (0)

#define cb_count(which) atomic_load(&tc.cb[which].count)

#endif
