/*
 * test_cosend.c - the built-in CoNDIS client "cosend".
 *
 * cosend is loaded the way `condis run --protocol cosend` loads it (through
 * the table of built-in drivers) and run over the built-in miniports: loop
 * in each of its completion styles and, when it is built in, sim. A run is
 * over when cosend has deleted every VC it created; the tests then end it
 * in order and check what cosend did through condis' own counters (VCs
 * created and deleted, NBLs sent, completed and received), through
 * CosendErrors() (the invariants cosend checks on every completion), and
 * through the lines cosend prints (its parameters at bind, its summary at
 * unbind). Every test ends by proving that nothing is left allocated or
 * outstanding, and that condis warned about nothing.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "cn_test.h"
#include "drivers/tdrivers.h" /* tmcm: a call manager whose every step a test picks */
#include <condis/builtin.h>

#include "os/cn_os.h" /* cn_log_set_sink: read what cosend prints */

ULONG CosendErrors(void);

#define CS_WAIT_MS 120000 /* generous: the sanitizer builds are slow */
#define CS_LINES 256
#define CS_LINE_BYTES 512

/* ======================================================================
 * What the drivers print
 * ====================================================================== */

static struct {
    pthread_mutex_t lock;
    char lines[CS_LINES][CS_LINE_BYTES];
    unsigned n;
} cs_log = { PTHREAD_MUTEX_INITIALIZER, { { 0 } }, 0 };

/* condis calls the sink one complete line at a time, under its log lock;
 * the lines are kept for the test and still shown on stderr. */
static void cs_sink(const char *line, void *arg)
{
    (void)arg;
    pthread_mutex_lock(&cs_log.lock);
    if (cs_log.n < CS_LINES)
        snprintf(cs_log.lines[cs_log.n++], CS_LINE_BYTES, "%s", line);
    pthread_mutex_unlock(&cs_log.lock);
    fprintf(stderr, "%s\n", line);
}

/* How many kept lines contain every one of the given strings. */
static unsigned cs_lines_with(const char *a, const char *b)
{
    unsigned found = 0;
    pthread_mutex_lock(&cs_log.lock);
    for (unsigned i = 0; i < cs_log.n; i++)
        if (strstr(cs_log.lines[i], a) && (b == NULL || strstr(cs_log.lines[i], b)))
            found++;
    pthread_mutex_unlock(&cs_log.lock);
    return found;
}

static int cs_setup(void **state)
{
    pthread_mutex_lock(&cs_log.lock);
    cs_log.n = 0;
    pthread_mutex_unlock(&cs_log.lock);
    cn_log_set_sink(cs_sink, NULL);
    return cn_test_setup(state);
}

static int cs_setup_pend(void **state)
{
    pthread_mutex_lock(&cs_log.lock);
    cs_log.n = 0;
    pthread_mutex_unlock(&cs_log.lock);
    cn_log_set_sink(cs_sink, NULL);
    return cn_test_setup_pend(state);
}

static int cs_teardown(void **state)
{
    int rc = cn_test_teardown(state);
    cn_log_set_sink(NULL, NULL);
    return rc;
}

/* ======================================================================
 * A run
 * ====================================================================== */

struct cs_param {
    const char *keyword, *value;
};

struct cs_run {
    const char *miniport;              /* built-in miniport name */
    const struct cs_param *mp_params;  /* its parameters, ending with a NULL keyword */
    const struct cs_param *cs_params;  /* cosend's, likewise */
    unsigned long vcs;                 /* what cosend should end up with */
    unsigned long long count, size;
    bool expect_received;              /* the miniport loops sends back */
    unsigned long long expect_failed;  /* completions with a failure status */
    const char *failed_text;           /* how the summary lists them, or NULL */
};

struct cs_env {
    struct condis_driver *mp, *cs;
    struct condis_adapter *adapter;
    unsigned long warnings;
};

static void cs_set_params(const char *driver, const struct cs_param *p)
{
    for (; p != NULL && p->keyword != NULL; p++)
        assert_int_equal(condis_param_set(driver, p->keyword, p->value), 0);
}

/* Load the miniport (from the table, or tmcm when tmcm_cfg is given) and
 * cosend, add an adapter and bind: cosend opens the family and starts its
 * run from there. */
static void cs_start_with(struct cs_env *e, const struct cs_run *r,
                          const struct tmcm_config *tmcm_cfg)
{
    memset(e, 0, sizeof(*e));
    if (tmcm_cfg == NULL)
        cs_set_params(r->miniport, r->mp_params);
    cs_set_params("cosend", r->cs_params);
    e->warnings = condis_warnings();

    const struct condis_builtin *cs = condis_builtin_find("cosend");
    assert_non_null(cs);
    assert_string_equal(cs->kind, "protocol");
    NTSTATUS st = STATUS_UNSUCCESSFUL;
    if (tmcm_cfg != NULL) {
        assert_int_equal(tmcm_load(tmcm_cfg, &e->mp), 0);
    } else {
        const struct condis_builtin *mp = condis_builtin_find(r->miniport);
        assert_non_null(mp);
        assert_int_equal(condis_driver_load(r->miniport, mp->entry, &e->mp, &st), 0);
        assert_int_equal(st, STATUS_SUCCESS);
    }
    assert_int_equal(condis_driver_load("cosend", cs->entry, &e->cs, &st), 0);
    assert_int_equal(st, STATUS_SUCCESS);
    assert_int_equal(condis_adapter_add(e->mp, NULL, &e->adapter), 0);
    assert_int_equal(condis_bind_all(), 0);
}

static void cs_start(struct cs_env *e, const struct cs_run *r)
{
    cs_start_with(e, r, NULL);
}

/* Wait until cosend has created vcs VCs and deleted them all again. */
static bool cs_wait_done(struct cs_env *e, unsigned long vcs)
{
    struct condis_driver_stats s;
    for (unsigned ms = 0; ms < CS_WAIT_MS; ms++) {
        assert_int_equal(condis_driver_stats(e->cs, &s), 0);
        if (s.vcs_created == vcs && s.vcs_live == 0)
            return true;
        NdisMSleep(1000);
    }
    return false;
}

/* The orderly end: unbind, halt, unload; then nothing may be left, and
 * condis must have had nothing to warn about (unless the test made a
 * driver misbehave on purpose: expect_warnings). */
static void cs_end_warned(struct cs_env *e, bool expect_warnings)
{
    assert_int_equal(condis_stop(), 0);
    cn_test_assert_clean();
    if (expect_warnings)
        assert_true(condis_warnings() > e->warnings);
    else
        assert_int_equal(condis_warnings(), e->warnings);
    assert_int_equal(cs_lines_with("VIOLATION", NULL), 0);
}

static void cs_end(struct cs_env *e)
{
    cs_end_warned(e, false);
}

/* After the run: check everything cosend and condis counted. */
static void cs_check_counts(struct cs_env *e, const struct cs_run *r)
{
    struct condis_driver_stats s;
    char line[160];

    assert_int_equal(CosendErrors(), 0);
    assert_int_equal(condis_driver_stats(e->cs, &s), 0);
    unsigned long long nbls = r->vcs * r->count;
    assert_int_equal(s.vcs_created, r->vcs);
    assert_int_equal(s.vcs_live, 0);
    assert_int_equal(s.nbls_sent, nbls);
    assert_int_equal(s.nbls_completed, nbls);
    assert_int_equal(s.nbls_failed, r->expect_failed);
    assert_int_equal(s.nbls_refused, 0);
    assert_int_equal(s.bytes_sent, nbls * r->size);
    assert_int_equal(s.nbls_received, r->expect_received ? nbls : 0);

    /* cosend's own summary says the same. */
    snprintf(line, sizeof(line), "VCs %lu, sent %llu, completed %llu, failed %llu", r->vcs, nbls,
             nbls, r->expect_failed);
    assert_int_equal(cs_lines_with("cosend: ", line), 1);
    snprintf(line, sizeof(line), "received %llu, violations 0", r->expect_received ? nbls : 0ULL);
    assert_int_equal(cs_lines_with("cosend: ", line), 1);
    if (r->failed_text != NULL)
        assert_int_equal(cs_lines_with("cosend: ", r->failed_text), 1);
}

/* Run cosend to its end and check everything it and condis counted. */
static void cs_check_run(const struct cs_run *r)
{
    struct cs_env e;

    cs_start(&e, r);
    assert_true(cs_wait_done(&e, r->vcs));
    cs_end(&e);
    cs_check_counts(&e, r);
}

/* ======================================================================
 * Over loop
 * ====================================================================== */

static const struct cs_param cs_small[] = {
    { "CosendVcs", "3" },
    { "CosendCount", "2000" },
    { "CosendSize", "100" },
    { "CosendWindow", "32" },
    { "CosendChain", "4" },
    { NULL, NULL },
};

static void loop_body(const char *inline_mode, const char *resources)
{
    const struct cs_param mp[] = {
        { "LoopInline", inline_mode },
        { "LoopResources", resources },
        { NULL, NULL },
    };
    const struct cs_run r = {
        .miniport = "loop", .mp_params = mp, .cs_params = cs_small,
        .vcs = 3, .count = 2000, .size = 100, .expect_received = true,
    };
    cs_check_run(&r);
    /* The parameters reached cosend (the counts above say so for three of
     * them; the bind line says so for all five). */
    assert_int_equal(cs_lines_with("3 VCs, count 2000, size 100, window 32, chain 4", NULL), 1);
}

/* loop completes from its DPC, at DISPATCH_LEVEL, after the receive is
 * returned: cosend resends from its completion handler at DISPATCH_LEVEL. */
static void test_cosend_loop_dpc(void **state)
{
    (void)state;
    loop_body("0", "0");
}

/* loop completes inside NdisCoSendNetBufferLists: the pump must turn this
 * into a loop, not a recursion as deep as the run. */
static void test_cosend_loop_inline(void **state)
{
    (void)state;
    loop_body("1", "0");
}

/* Receives indicated with NDIS_RECEIVE_FLAGS_RESOURCES: cosend must not
 * return them (condis would complain, and count them outstanding). */
static void test_cosend_loop_resources_dpc(void **state)
{
    (void)state;
    loop_body("0", "1");
}

static void test_cosend_loop_resources_inline(void **state)
{
    (void)state;
    loop_body("1", "1");
}

/* The open and the close of the adapter pend; cosend waits for both. */
static void test_cosend_loop_pended_open_close(void **state)
{
    (void)state;
    loop_body("0", "0");
}

/* One VC, a window of one, chains of one: the slowest legal run still ends. */
static void test_cosend_window_of_one(void **state)
{
    (void)state;
    static const struct cs_param cp[] = {
        { "CosendVcs", "1" }, { "CosendCount", "500" }, { "CosendSize", "1" },
        { "CosendWindow", "1" }, { "CosendChain", "1" }, { NULL, NULL },
    };
    static const struct cs_param mp[] = { { "LoopInline", "0" }, { NULL, NULL } };
    const struct cs_run r = {
        .miniport = "loop", .mp_params = mp, .cs_params = cp,
        .vcs = 1, .count = 500, .size = 1, .expect_received = true,
    };
    cs_check_run(&r);
}

/* Left alone, each parameter has its documented default (the count is
 * lowered to keep the test short). */
static void test_cosend_defaults(void **state)
{
    (void)state;
    static const struct cs_param cp[] = { { "CosendCount", "300" }, { NULL, NULL } };
    const struct cs_run r = {
        .miniport = "loop", .cs_params = cp,
        .vcs = 4, .count = 300, .size = 256, .expect_received = true,
    };
    cs_check_run(&r);
    assert_int_equal(cs_lines_with("4 VCs, count 300, size 256, window 256, chain 8", NULL), 1);
}

/* Values that are not numbers, or out of range, keep the default and say
 * why; a chain longer than the window is cut to the window. */
static void test_cosend_bad_parameters(void **state)
{
    (void)state;
    static const struct cs_param cp[] = {
        { "CosendVcs", "0" },        /* out of range: 4 */
        { "CosendCount", "400" },
        { "CosendSize", "lots" },    /* not a number: 256 */
        { "CosendWindow", "16" },
        { "CosendChain", "100" },    /* more than the window: 16 */
        { NULL, NULL },
    };
    const struct cs_run r = {
        .miniport = "loop", .cs_params = cp,
        .vcs = 4, .count = 400, .size = 256, .expect_received = true,
    };
    cs_check_run(&r);
    assert_int_equal(cs_lines_with("CosendVcs=0 is outside", "keeping the default 4"), 1);
    assert_int_equal(cs_lines_with("CosendSize=lots is not a number", "keeping the default 256"),
                     1);
    assert_int_equal(cs_lines_with("CosendChain=100 is more than the window of 16", NULL), 1);
    assert_int_equal(cs_lines_with("4 VCs, count 400, size 256, window 16, chain 16", NULL), 1);
}

/* Unbinding in the middle of a long run: cosend stops sending, waits for
 * what is in flight, closes its calls, deletes its VCs, closes the family
 * and frees everything; every NBL it sent came back. */
static void midrun_body(const char *inline_mode)
{
    static const struct cs_param cp[] = {
        { "CosendVcs", "2" }, { "CosendCount", "100000000" }, { "CosendSize", "64" },
        { NULL, NULL },
    };
    const struct cs_param mp[] = { { "LoopInline", inline_mode }, { NULL, NULL } };
    const struct cs_run r = { .miniport = "loop", .mp_params = mp, .cs_params = cp };
    struct cs_env e;
    struct condis_driver_stats s;

    cs_start(&e, &r);
    /* Let traffic flow on both VCs. */
    for (unsigned ms = 0; ms < CS_WAIT_MS; ms++) {
        assert_int_equal(condis_driver_stats(e.cs, &s), 0);
        if (s.vcs_created == 2 && s.nbls_completed >= 20000)
            break;
        NdisMSleep(1000);
    }
    assert_int_equal(s.vcs_created, 2);
    cs_end(&e);

    assert_int_equal(CosendErrors(), 0);
    assert_int_equal(condis_driver_stats(e.cs, &s), 0);
    assert_int_equal(s.vcs_live, 0);
    assert_true(s.nbls_sent > 0 && s.nbls_sent < 200000000ULL);
    assert_int_equal(s.nbls_completed, s.nbls_sent);
    assert_int_equal(s.nbls_received, s.nbls_sent);
    assert_int_equal(cs_lines_with("cosend: ", "VCs 2, sent"), 1);
}

static void test_cosend_unbind_midrun_dpc(void **state)
{
    (void)state;
    midrun_body("0");
}

/* Inline: the run goes on in the thread that primed it (the worker), and
 * unbind must still stop it. */
static void test_cosend_unbind_midrun_inline(void **state)
{
    (void)state;
    midrun_body("1");
}

/* ======================================================================
 * Over sim (when it is built in), in each of its completion styles
 * ====================================================================== */

static void sim_body(const struct cs_param *mp, unsigned long long failed, const char *failed_text)
{
    if (condis_builtin_find("sim") == NULL) {
        fprintf(stderr, "test_cosend: the built-in miniport \"sim\" is not there; skipped\n");
        skip();
    }
    const struct cs_run r = {
        .miniport = "sim", .mp_params = mp, .cs_params = cs_small,
        .vcs = 3, .count = 2000, .size = 100, .expect_received = false,
        .expect_failed = failed, .failed_text = failed_text,
    };
    cs_check_run(&r);
}

/* Completions from sim's DPC, after transmission, in order. */
static void test_cosend_sim_default(void **state)
{
    (void)state;
    sim_body(NULL, 0, NULL);
}

/* sim completes what it can inside the send call. */
static void test_cosend_sim_inline(void **state)
{
    (void)state;
    static const struct cs_param mp[] = { { "SimInline", "1" }, { NULL, NULL } };
    sim_body(mp, 0, NULL);
}

/* Out of order, in batches of three that split cosend's chains, from two
 * processors. */
static void test_cosend_sim_reorder_batch(void **state)
{
    (void)state;
    static const struct cs_param mp[] = {
        { "SimReorder", "8" }, { "SimBatch", "3" }, { "SimDpcThreads", "2" }, { NULL, NULL },
    };
    sim_body(mp, 0, NULL);
}

/* A short TX queue, latency, and completion before transmission. */
static void test_cosend_sim_latency_early(void **state)
{
    (void)state;
    static const struct cs_param mp[] = {
        { "SimQueue", "16" }, { "SimLatencyUs", "50" }, { "SimEarlyComplete", "1" },
        { NULL, NULL },
    };
    sim_body(mp, 0, NULL);
}

/* Every 7th NBL fails: cosend counts the failures by status, resends the
 * NBLs all the same, and the run still ends after CosendCount each. */
static void test_cosend_sim_failures(void **state)
{
    (void)state;
    static const struct cs_param mp[] = {
        { "SimFailEvery", "7" }, { "SimFailStatus", "0xC0010014" }, { NULL, NULL },
    };
    /* 6000 NBLs: 857 of them fail, with NDIS_STATUS_INVALID_LENGTH. */
    sim_body(mp, 857, "failed 857 (0xc0010014 x 857)");
}

/* ======================================================================
 * Over tmcm: completion styles and control steps a test chooses
 * ====================================================================== */

static const struct cs_run tm_small = {
    .miniport = "tmcm", .cs_params = cs_small, .vcs = 3, .count = 2000, .size = 100,
};

/* TMCM_HOLD: complete what tmcm holds, in the given style, until cosend is
 * done (cosend sends the next NBLs from inside each flush). */
static bool tm_flush_until_done(struct cs_env *e, unsigned long vcs, enum tmcm_order order,
                                enum tmcm_batch batch)
{
    struct condis_driver_stats s;
    for (unsigned i = 0; i < CS_WAIT_MS * 10; i++) {
        tmcm_flush(NULL, order, batch);
        assert_int_equal(condis_driver_stats(e->cs, &s), 0);
        if (s.vcs_created == vcs && s.vcs_live == 0)
            return true;
        NdisMSleep(100);
    }
    return false;
}

static void tm_hold_body(enum tmcm_order order, enum tmcm_batch batch)
{
    struct tmcm_config cfg = { .mode = TMCM_HOLD, .send_status = NDIS_STATUS_SUCCESS };
    struct cs_env e;
    cs_start_with(&e, &tm_small, &cfg);
    assert_true(tm_flush_until_done(&e, tm_small.vcs, order, batch));
    /* A mixed completion names the wrong VC for most of its NBLs: a
     * miniport bug condis reports (OWN-5) and repairs, so that cosend
     * still gets each NBL on its own VC and sees nothing wrong. */
    cs_end_warned(&e, batch == TMCM_MIXED);
    if (batch == TMCM_MIXED)
        assert_true(cs_lines_with("but it was sent on", "(OWN-5)") >= 1);
    cs_check_counts(&e, &tm_small);
}

/* Completed last first, one NBL per call. */
static void test_cosend_tmcm_reverse_split(void **state)
{
    (void)state;
    tm_hold_body(TMCM_REVERSE, TMCM_SPLIT);
}

/* Shuffled, and the NBLs of every VC in one completion call, which names
 * one VC: each NBL must still reach the VC it was sent on (condis routes
 * by the VC it recorded at the send, and cosend checks it got its own). */
static void test_cosend_tmcm_shuffle_mixed(void **state)
{
    (void)state;
    tm_hold_body(TMCM_SHUFFLE, TMCM_MIXED);
}

/* Completions from a DPC, one per call; every control step cosend asks
 * for pends and completes from a work item (or, below, from a DPC). */
static void tm_pend_body(enum tmcm_pend_by by)
{
    struct tmcm_config cfg = {
        .mode = TMCM_DPC, .split = true, .send_status = NDIS_STATUS_SUCCESS,
        .pend = TMCM_PEND_OPEN_AF | TMCM_PEND_MAKE_CALL | TMCM_PEND_CLOSE_CALL |
                TMCM_PEND_CLOSE_AF,
        .pend_by = by,
    };
    struct cs_env e;
    cs_start_with(&e, &tm_small, &cfg);
    assert_true(cs_wait_done(&e, tm_small.vcs));
    cs_end(&e);
    cs_check_counts(&e, &tm_small);
}

static void test_cosend_tmcm_pended_by_workitem(void **state)
{
    (void)state;
    tm_pend_body(TMCM_BY_WORKITEM);
}

static void test_cosend_tmcm_pended_by_dpc(void **state)
{
    (void)state;
    tm_pend_body(TMCM_BY_DPC);
}

/* Every send fails: cosend counts each failure and still ends its run. */
static void test_cosend_tmcm_all_fail(void **state)
{
    (void)state;
    struct tmcm_config cfg = { .mode = TMCM_INLINE, .send_status = NDIS_STATUS_RESOURCES };
    struct cs_run r = tm_small;
    r.expect_failed = r.vcs * r.count;
    r.failed_text = "failed 6000 (0xc000009a x 6000)";
    struct cs_env e;
    cs_start_with(&e, &r, &cfg);
    assert_true(cs_wait_done(&e, r.vcs));
    cs_end(&e);
    cs_check_counts(&e, &r);
}

/* Wait until tmcm holds a full window of NBLs on each of vcs VCs. */
static void tm_wait_primed(unsigned vcs, unsigned long window)
{
    for (unsigned ms = 0; ms < CS_WAIT_MS; ms++) {
        unsigned primed = 0;
        NdisAcquireSpinLock(&tm.lock);
        for (struct tmcm_vc *vc = tm.vcs; vc; vc = vc->next)
            if (tmcm_held(vc) == window)
                primed++;
        NdisReleaseSpinLock(&tm.lock);
        if (primed == vcs)
            return;
        NdisMSleep(1000);
    }
    fail_msg("cosend did not fill its window on %u VCs", vcs);
}

/* The far end closes every call while a window of NBLs is in flight:
 * cosend sends no more, and closes each call only once its NBLs are back. */
static void test_cosend_tmcm_incoming_close(void **state)
{
    (void)state;
    struct tmcm_config cfg = { .mode = TMCM_HOLD, .send_status = NDIS_STATUS_SUCCESS };
    struct cs_env e;
    struct condis_driver_stats s;
    struct tmcm_vc *vcs[3];
    unsigned n = 0;

    cs_start_with(&e, &tm_small, &cfg);
    tm_wait_primed(3, 32);
    NdisAcquireSpinLock(&tm.lock);
    for (struct tmcm_vc *vc = tm.vcs; vc && n < 3; vc = vc->next)
        vcs[n++] = vc;
    NdisReleaseSpinLock(&tm.lock);
    for (unsigned i = 0; i < n; i++)
        tmcm_incoming_close(vcs[i], NDIS_STATUS_SUCCESS);
    /* No call may close while its NBLs are still with the miniport. */
    assert_int_equal(atomic_load(&tm.close_calls), 0);
    assert_true(tm_flush_until_done(&e, 3, TMCM_FIFO, TMCM_COALESCE));
    assert_int_equal(atomic_load(&tm.close_calls), 3);
    cs_end(&e);

    assert_int_equal(CosendErrors(), 0);
    assert_int_equal(condis_driver_stats(e.cs, &s), 0);
    assert_int_equal(s.vcs_created, 3);
    assert_int_equal(s.vcs_live, 0);
    assert_int_equal(s.nbls_sent, 3 * 32);
    assert_int_equal(s.nbls_completed, 3 * 32);
    assert_int_equal(cs_lines_with("the call was closed from the far end", NULL), 3);
}

/* The call manager asks for the family back mid-run: cosend pends, winds
 * the run down, closes the family and then completes the request. */
static void test_cosend_tmcm_notify_close_af(void **state)
{
    (void)state;
    struct tmcm_config cfg = { .mode = TMCM_HOLD, .send_status = NDIS_STATUS_SUCCESS };
    struct cs_env e;
    struct condis_driver_stats s;

    cs_start_with(&e, &tm_small, &cfg);
    tm_wait_primed(3, 32);
    assert_int_equal(tmcm_notify_close_af(), NDIS_STATUS_PENDING);
    assert_true(tm_flush_until_done(&e, 3, TMCM_FIFO, TMCM_COALESCE));
    for (unsigned ms = 0; ms < CS_WAIT_MS && atomic_load(&tm.notify_close_complete) == 0; ms++)
        NdisMSleep(1000);
    assert_int_equal(atomic_load(&tm.notify_close_complete), 1);
    assert_int_equal(atomic_load(&tm.notify_close_status), NDIS_STATUS_SUCCESS);
    assert_int_equal(atomic_load(&tm.af_open), 0);
    cs_end(&e);

    assert_int_equal(CosendErrors(), 0);
    assert_int_equal(condis_driver_stats(e.cs, &s), 0);
    assert_int_equal(s.vcs_live, 0);
    assert_int_equal(s.nbls_sent, 3 * 32);
    assert_int_equal(s.nbls_completed, 3 * 32);
}

/* The call manager refuses every call: cosend deletes the VCs it created
 * and sends nothing. */
static void test_cosend_tmcm_calls_refused(void **state)
{
    (void)state;
    struct tmcm_config cfg = {
        .mode = TMCM_INLINE, .send_status = NDIS_STATUS_SUCCESS,
        .pend = TMCM_PEND_MAKE_CALL, .pend_by = TMCM_BY_TEST,
    };
    struct cs_env e;
    struct condis_driver_stats s;
    struct tmcm_vc *vcs[3];
    unsigned n = 0;

    cs_start_with(&e, &tm_small, &cfg);
    /* Wait for each make-call to be pending at tmcm (op_pending is set
     * after tmcm has kept the call parameters it completes with). */
    for (unsigned ms = 0; ms < CS_WAIT_MS; ms++) {
        n = 0;
        NdisAcquireSpinLock(&tm.lock);
        for (struct tmcm_vc *vc = tm.vcs; vc && n < 3; vc = vc->next)
            if (atomic_load(&vc->op_pending) == TMCM_PEND_MAKE_CALL)
                vcs[n++] = vc;
        NdisReleaseSpinLock(&tm.lock);
        if (n == 3)
            break;
        NdisMSleep(1000);
    }
    assert_int_equal(n, 3);
    for (unsigned i = 0; i < n; i++)
        tmcm_complete_make_call(vcs[i], NDIS_STATUS_NOT_ACCEPTED);
    assert_true(cs_wait_done(&e, 3));
    cs_end(&e);

    assert_int_equal(CosendErrors(), 0);
    assert_int_equal(condis_driver_stats(e.cs, &s), 0);
    assert_int_equal(s.vcs_live, 0);
    assert_int_equal(s.nbls_sent, 0);
    assert_int_equal(cs_lines_with("NdisClMakeCall failed", NULL), 3);
    assert_int_equal(cs_lines_with("cosend: ", "VCs 3, sent 0, completed 0, failed 0"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cosend_loop_dpc, cs_setup, cs_teardown),
        cmocka_unit_test_setup_teardown(test_cosend_loop_inline, cs_setup, cs_teardown),
        cmocka_unit_test_setup_teardown(test_cosend_loop_resources_dpc, cs_setup, cs_teardown),
        cmocka_unit_test_setup_teardown(test_cosend_loop_resources_inline, cs_setup,
                                        cs_teardown),
        cmocka_unit_test_setup_teardown(test_cosend_loop_pended_open_close, cs_setup_pend,
                                        cs_teardown),
        cmocka_unit_test_setup_teardown(test_cosend_window_of_one, cs_setup, cs_teardown),
        cmocka_unit_test_setup_teardown(test_cosend_defaults, cs_setup, cs_teardown),
        cmocka_unit_test_setup_teardown(test_cosend_bad_parameters, cs_setup, cs_teardown),
        cmocka_unit_test_setup_teardown(test_cosend_unbind_midrun_dpc, cs_setup, cs_teardown),
        cmocka_unit_test_setup_teardown(test_cosend_unbind_midrun_inline, cs_setup,
                                        cs_teardown),
        cmocka_unit_test_setup_teardown(test_cosend_sim_default, cs_setup, cs_teardown),
        cmocka_unit_test_setup_teardown(test_cosend_sim_inline, cs_setup, cs_teardown),
        cmocka_unit_test_setup_teardown(test_cosend_sim_reorder_batch, cs_setup, cs_teardown),
        cmocka_unit_test_setup_teardown(test_cosend_sim_latency_early, cs_setup, cs_teardown),
        cmocka_unit_test_setup_teardown(test_cosend_sim_failures, cs_setup, cs_teardown),
        cmocka_unit_test_setup_teardown(test_cosend_tmcm_reverse_split, cs_setup, cs_teardown),
        cmocka_unit_test_setup_teardown(test_cosend_tmcm_shuffle_mixed, cs_setup, cs_teardown),
        cmocka_unit_test_setup_teardown(test_cosend_tmcm_pended_by_workitem, cs_setup,
                                        cs_teardown),
        cmocka_unit_test_setup_teardown(test_cosend_tmcm_pended_by_dpc, cs_setup, cs_teardown),
        cmocka_unit_test_setup_teardown(test_cosend_tmcm_all_fail, cs_setup, cs_teardown),
        cmocka_unit_test_setup_teardown(test_cosend_tmcm_incoming_close, cs_setup, cs_teardown),
        cmocka_unit_test_setup_teardown(test_cosend_tmcm_notify_close_af, cs_setup,
                                        cs_teardown),
        cmocka_unit_test_setup_teardown(test_cosend_tmcm_calls_refused, cs_setup, cs_teardown),
    };
    return cmocka_run_group_tests_name("cosend", tests, NULL, NULL);
}
