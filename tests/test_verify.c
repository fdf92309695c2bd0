/*
 * test_verify.c - the send-path verifier (condis/verify.h) against NDIS 6
 * drivers that break the rules of RULES.md on purpose: one negative test
 * per rule (and per way of breaking it), each with the verifier on, plus
 * a clean run that must find nothing.
 *
 * Each negative test checks three things:
 *   (a) the verifier counted the rule (condis_verify_count),
 *   (b) the first kept finding of that rule names the driver that broke it
 *       and says what, where and how to fix it,
 *   (c) condis stayed consistent: every NBL came back to tclient exactly
 *       once with a status, tclient's own counters agree, and the run still
 *       ends clean (cn_test_teardown, after the test clears its findings).
 *
 * tclient and tmcm (tests/drivers) play the protocol and the miniport.
 * Where a test does the wrong thing itself from its own thread, it first
 * tells condis which driver it stands for (as_driver), the way condis
 * itself marks a driver's handler, DPC or work item: condis charges a
 * finding to the driver whose code is running, and a test thread is no
 * driver's.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tdrv_test.h"
#include <condis/verify.h>
#include "os/cn_os.h"          /* cn_set_current_driver: the test stands for a driver */
#include "verify/cn_verify.h"  /* CN_VERIFY_POISON, the in-flight status */

#if defined(__SANITIZE_THREAD__)
#define CN_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CN_TSAN 1
#endif
#endif

/* ---- helpers ------------------------------------------------------------------ */

/* Run the statement as if driver drv's code were running on this thread. */
#define as_driver(drv, ...)                                               \
    do {                                                                  \
        const char *prev_drv_ = cn_set_current_driver(drv);               \
        __VA_ARGS__;                                                      \
        cn_set_current_driver(prev_drv_);                                 \
    } while (0)

/* A test that failed inside as_driver left its driver name behind. */
static int setup_verify(void **state)
{
    cn_set_current_driver(NULL);
    return cn_test_setup_verify(state);
}

static int setup_verify_short_wait(void **state)
{
    (void)state;
    cn_set_current_driver(NULL);
    /* OWN-6: a host wait gives up on a stuck miniport after half of
     * wait_ms; 400 ms keeps the test short. */
    struct condis_options o = { .verify = CONDIS_VERIFY_ON, .wait_ms = 400 };
    return condis_init(&o);
}

#define MAX_FINDINGS 256
static struct condis_violation found[MAX_FINDINGS];

/* (a) and (b): rule was found at least once, and its first kept finding
 * names driver and says what happened (object optional when
 * object_required is false: a finding that concerns no object). Returns
 * that finding (valid until condis_verify_clear). */
static const struct condis_violation *check_finding_obj(const char *rule, const char *driver,
                                                        bool object_required)
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
    if (object_required && v->object[0] == '\0') {
        condis_verify_report_text(stderr);
        fail_msg("%s: the finding names no object", rule);
    }
    if (v->call[0] == '\0' || v->message[0] == '\0' || v->fix == NULL || v->fix[0] == '\0' ||
        v->title == NULL || v->title[0] == '\0') {
        condis_verify_report_text(stderr);
        fail_msg("%s: the finding lacks its call, message, title or fix", rule);
    }
    return v;
}

static const struct condis_violation *check_finding(const char *rule, const char *driver)
{
    return check_finding_obj(rule, driver, true);
}

/* Nothing but the rules listed (NULL-terminated) was found. */
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

/* The findings were checked: forget them so that the teardown sees any
 * new one. */
static void done_with_findings(void)
{
    condis_verify_clear();
    assert_int_equal(condis_verify_count(NULL), 0);
}

/* (c): tclient's books for a VC. */
static void assert_books(struct tclient_vc *vc, unsigned long sent)
{
    assert_int_equal(atomic_load(&vc->sent), sent);
    assert_int_equal(atomic_load(&vc->completed), sent);
    assert_int_equal(atomic_load(&vc->dup_completions), 0);
    assert_int_equal(atomic_load(&vc->wrong_context), 0);
    assert_int_equal(atomic_load(&vc->flag_lies), 0);
    assert_int_equal(atomic_load(&vc->flag_missing), 0);
}

static struct tclient_vc *start_with_vc(const struct tclient_config *c,
                                        const struct tmcm_config *m, struct tmcm_vc **mvc)
{
    struct tdrv_env env;
    assert_int_equal(tdrv_start(&env, c, m), 0);
    struct tclient_vc *vc = tdrv_vc_with_call();
    assert_non_null(vc);
    if (mvc) {
        *mvc = tmcm_vc_of(vc->ndis_vc);
        assert_non_null(*mvc);
    }
    return vc;
}

/* Take every NBL tmcm holds for mvc, unlinked, as a miniport that is about
 * to complete them itself (or never to). Returns how many. */
static unsigned take_held(struct tmcm_vc *mvc, PNET_BUFFER_LIST *out, unsigned max)
{
    unsigned k = 0;
    NdisAcquireSpinLock(&mvc->lock);
    for (PNET_BUFFER_LIST nbl = mvc->held_head; nbl; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
        if (k == max) {
            NdisReleaseSpinLock(&mvc->lock);
            fail_msg("tmcm holds more than %u NBLs", max);
        }
        out[k++] = nbl;
    }
    mvc->held_head = mvc->held_tail = NULL;
    mvc->held_n = 0;
    NdisReleaseSpinLock(&mvc->lock);
    for (unsigned i = 0; i < k; i++)
        NET_BUFFER_LIST_NEXT_NBL(out[i]) = NULL;
    return k;
}

/* The one NBL tmcm holds for mvc, still in its queue. */
static PNET_BUFFER_LIST held_one(struct tmcm_vc *mvc)
{
    NdisAcquireSpinLock(&mvc->lock);
    PNET_BUFFER_LIST nbl = mvc->held_head;
    unsigned long n = mvc->held_n;
    NdisReleaseSpinLock(&mvc->lock);
    assert_int_equal(n, 1);
    assert_non_null(nbl);
    assert_null(NET_BUFFER_LIST_NEXT_NBL(nbl));
    return nbl;
}

/* The NBL tclient kept last (keep_completed), taken out of its list. */
static PNET_BUFFER_LIST pop_kept(struct tclient_vc *vc)
{
    NdisAcquireSpinLock(&vc->lock);
    PNET_BUFFER_LIST nbl = vc->kept_n ? vc->kept[--vc->kept_n] : NULL;
    NdisReleaseSpinLock(&vc->lock);
    assert_non_null(nbl);
    return nbl;
}

static PUCHAR nbl_data(PNET_BUFFER_LIST nbl)
{
    PNET_BUFFER nb = NET_BUFFER_LIST_FIRST_NB(nbl);
    PUCHAR p = MmGetSystemAddressForMdlSafe(NET_BUFFER_CURRENT_MDL(nb), NormalPagePriority);
    assert_non_null(p);
    return p + NET_BUFFER_CURRENT_MDL_OFFSET(nb);
}

/* Run fn(arg) on a new thread (a thread other than the sender's), as drv. */
struct on_thread {
    void (*fn)(void *);
    void *arg;
    const char *drv;
};

static void *on_thread_main(void *p)
{
    struct on_thread *t = p;
    as_driver(t->drv, t->fn(t->arg));
    return NULL;
}

static void run_on_other_thread(const char *drv, void (*fn)(void *), void *arg)
{
    struct on_thread t = { fn, arg, drv };
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, on_thread_main, &t), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- a clean run finds nothing ------------------------------------------------- */

static void test_clean_run_finds_nothing(void **state)
{
    (void)state;
    struct tmcm_vc *mvc;
    struct tclient_vc *vc = start_with_vc(NULL, NULL, &mvc);
    struct tclient_vc *vc2 = tdrv_vc_with_call();
    assert_non_null(vc2);
    unsigned long n = 0, n2 = 0;

    /* Inline, coalesced and split. */
    assert_int_equal(tclient_send(vc, 30, 0, 0, 3), 30);
    n += 30;
    tmcm_set_mode(TMCM_INLINE, true);
    assert_int_equal(tclient_send(vc, 20, 0, (ULONG)n, 4), 20);
    n += 20;
    /* Inline, with resends from the completion handler. */
    atomic_store(&vc->resend, 50);
    assert_int_equal(tclient_send(vc, 1, 0, (ULONG)n, 0), 1);
    n += 1 + 50;
    /* Inline with loopback receives, returned at once and kept a while. */
    tm.cfg.loopback = true;
    assert_int_equal(tclient_send(vc, 10, 0, (ULONG)n, 2), 10);
    n += 10;
    tc.cfg.hold_receives = true;
    assert_int_equal(tclient_send(vc, 5, 0, (ULONG)n, 0), 5);
    n += 5;
    tc.cfg.hold_receives = false;
    tm.cfg.loopback = false;
    assert_int_equal(tclient_return_held(vc), 5);
    assert_int_equal(atomic_load(&vc->received), 15);
    /* Held, then completed reversed, shuffled, split; some failing. */
    tmcm_set_mode(TMCM_HOLD, false);
    assert_int_equal(tclient_send(vc, 40, 0, (ULONG)n, 5), 40);
    assert_int_equal(tclient_send(vc2, 10, 1, 0, 0), 10);
    as_driver("tmcm", assert_int_equal(tmcm_flush(mvc, TMCM_REVERSE, TMCM_COALESCE), 40));
    as_driver("tmcm", assert_int_equal(tmcm_flush(NULL, TMCM_SHUFFLE, TMCM_SPLIT), 10));
    n += 40;
    n2 += 10;
    tmcm_set_send_status(NDIS_STATUS_FAILURE);
    assert_int_equal(tclient_send(vc, 12, 0, (ULONG)n, 0), 12);
    as_driver("tmcm", assert_int_equal(tmcm_flush(mvc, TMCM_SHUFFLE, TMCM_SPLIT), 12));
    n += 12;
    tmcm_set_send_status(NDIS_STATUS_SUCCESS);
    /* From tmcm's DPC, with a sender at DISPATCH_LEVEL too. */
    tmcm_set_mode(TMCM_DPC, false);
    assert_int_equal(tclient_send(vc, 100, 0, (ULONG)n, 7), 100);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_int_equal(tclient_send(vc2, 20, 1, 10, 2), 20);
    KeLowerIrql(old);
    n += 100;
    n2 += 20;
    assert_true(tclient_wait_sends(vc, TDRV_WAIT_MS));
    assert_true(tclient_wait_sends(vc2, TDRV_WAIT_MS));
    condis_flush();

    assert_books(vc, n);
    assert_books(vc2, n2);
    assert_int_equal(tclient_status_count(vc, NDIS_STATUS_FAILURE), 12);
    assert_int_equal(atomic_load(&vc->completed_ok), n - 12);
    assert_int_equal(tdrv_vc_teardown(vc), 0);
    assert_int_equal(tdrv_vc_teardown(vc2), 0);
    if (condis_verify_count(NULL) != 0) {
        condis_verify_report_text(stderr);
        fail_msg("a clean run produced %zu finding(s)", condis_verify_count(NULL));
    }
}

/* ---- OWN-1: the protocol modifies what it sent ---------------------------------- */

static void test_own1_protocol_writes_in_flight(void **state)
{
    (void)state;
    struct tmcm_config m = { .mode = TMCM_HOLD };
    struct tmcm_vc *mvc;
    struct tclient_vc *vc = start_with_vc(NULL, &m, &mvc);

    /* A byte of the data, while tmcm holds the NBL. */
    PNET_BUFFER_LIST a = tclient_alloc_nbl(vc, 0, 0);
    assert_non_null(a);
    tclient_send_chain(vc, a, 0);
    assert_ptr_equal(held_one(mvc), a);
    nbl_data(a)[20] ^= 0x5a;
    as_driver("tmcm", assert_int_equal(tmcm_flush(mvc, TMCM_FIFO, TMCM_COALESCE), 1));
    const struct condis_violation *v = check_finding("OWN-1", "tclient");
    assert_non_null(strstr(v->message, "data"));
    assert_int_equal(condis_verify_count("OWN-1"), 1);

    /* The NET_BUFFER's DataLength. */
    PNET_BUFFER_LIST b = tclient_alloc_nbl(vc, 0, 1);
    assert_non_null(b);
    tclient_send_chain(vc, b, 0);
    assert_ptr_equal(held_one(mvc), b);
    NET_BUFFER_DATA_LENGTH(NET_BUFFER_LIST_FIRST_NB(b)) -= 4;
    as_driver("tmcm", assert_int_equal(tmcm_flush(mvc, TMCM_FIFO, TMCM_COALESCE), 1));
    assert_int_equal(condis_verify_count("OWN-1"), 2);
    expect_only("OWN-1", NULL);

    /* The protocol got both back, once each, with the miniport's status. */
    assert_books(vc, 2);
    assert_int_equal(atomic_load(&vc->completed_ok), 2);
    done_with_findings();
    assert_int_equal(tdrv_vc_teardown(vc), 0);
}

/* ---- OWN-3: resend, free, pool free while in flight ------------------------------ */

static void free_nbl_fn(void *arg)
{
    NdisFreeNetBufferList(arg);
}

static void test_own3_free_in_flight(void **state)
{
    (void)state;
    struct tmcm_config m = { .mode = TMCM_HOLD };
    struct tmcm_vc *mvc;
    struct tclient_vc *vc = start_with_vc(NULL, &m, &mvc);
    assert_int_equal(tclient_send(vc, 1, 0, 0, 0), 1);
    PNET_BUFFER_LIST nbl = held_one(mvc);

    /* tclient frees it from another thread while tmcm has it: refused. */
    run_on_other_thread("tclient", free_nbl_fn, nbl);
    const struct condis_violation *v = check_finding("OWN-3", "tclient");
    assert_string_equal(v->call, "NdisFreeNetBufferList");
    expect_only("OWN-3", NULL); /* not the same thread as the send: no OWN-2 */

    /* Still tmcm's, and it comes back once when tmcm completes it. */
    assert_int_equal(tmcm_held(mvc), 1);
    assert_int_equal(atomic_load(&vc->completed), 0);
    as_driver("tmcm", assert_int_equal(tmcm_flush(mvc, TMCM_FIFO, TMCM_COALESCE), 1));
    assert_books(vc, 1);
    assert_int_equal(atomic_load(&vc->completed_ok), 1);
    done_with_findings();
    assert_int_equal(tdrv_vc_teardown(vc), 0);
}

struct resend {
    NDIS_HANDLE vc;
    PNET_BUFFER_LIST nbl;
};

static void resend_fn(void *arg)
{
    struct resend *r = arg;
    NdisCoSendNetBufferLists(r->vc, r->nbl, 0);
}

static void test_own3_resend_in_flight(void **state)
{
    (void)state;
    struct tmcm_config m = { .mode = TMCM_HOLD };
    struct tmcm_vc *mvc;
    struct tclient_vc *vc = start_with_vc(NULL, &m, &mvc);
    assert_int_equal(tclient_send(vc, 1, 0, 0, 0), 1);
    PNET_BUFFER_LIST nbl = held_one(mvc);

    struct resend r = { vc->ndis_vc, nbl };
    run_on_other_thread("tclient", resend_fn, &r);
    const struct condis_violation *v = check_finding("OWN-3", "tclient");
    assert_string_equal(v->call, "NdisCoSendNetBufferLists");
    expect_only("OWN-3", NULL);
    /* The second send was ignored: tmcm saw one send, holds one NBL. */
    assert_int_equal(atomic_load(&mvc->arrived), 1);
    assert_int_equal(tmcm_held(mvc), 1);
    assert_int_equal(atomic_load(&vc->complete_calls), 0);

    as_driver("tmcm", assert_int_equal(tmcm_flush(mvc, TMCM_FIFO, TMCM_COALESCE), 1));
    assert_books(vc, 1);
    assert_int_equal(atomic_load(&vc->complete_calls), 1);
    done_with_findings();
    assert_int_equal(tdrv_vc_teardown(vc), 0);
}

static void test_own3_free_pool_in_flight(void **state)
{
    (void)state;
    struct tmcm_config m = { .mode = TMCM_HOLD };
    struct tmcm_vc *mvc;
    struct tclient_vc *vc = start_with_vc(NULL, &m, &mvc);
    assert_int_equal(tclient_send(vc, 2, 0, 0, 0), 2);

    as_driver("tclient", NdisFreeNetBufferListPool(tc.pool));
    const struct condis_violation *v = check_finding("OWN-3", "tclient");
    assert_string_equal(v->call, "NdisFreeNetBufferListPool");
    expect_only("OWN-3", NULL);

    /* The pool was not freed: the NBLs come back, and it still serves. */
    as_driver("tmcm", assert_int_equal(tmcm_flush(mvc, TMCM_REVERSE, TMCM_SPLIT), 2));
    assert_books(vc, 2);
    assert_int_equal(tclient_send(vc, 1, 0, 2, 0), 1);
    as_driver("tmcm", assert_int_equal(tmcm_flush(mvc, TMCM_FIFO, TMCM_COALESCE), 1));
    assert_books(vc, 3);
    assert_int_equal(atomic_load(&vc->completed_ok), 3);
    done_with_findings();
    assert_int_equal(tdrv_vc_teardown(vc), 0);
}

/* ---- OWN-2: acting on a send right after submitting it --------------------------- */

static void test_own2_free_right_after_send(void **state)
{
    (void)state;
    struct tmcm_config m = { .mode = TMCM_HOLD };
    struct tmcm_vc *mvc;
    struct tclient_vc *vc = start_with_vc(NULL, &m, &mvc);
    PNET_BUFFER_LIST nbl = tclient_alloc_nbl(vc, 0, 0);
    assert_non_null(nbl);
    tclient_send_chain(vc, nbl, 0);
    /* What a protocol that reads the status after the send sees. */
    assert_int_equal((unsigned)NET_BUFFER_LIST_STATUS(nbl), (unsigned)CN_VERIFY_POISON);
    /* ... and, taking it for final, frees the NBL on the same thread. */
    as_driver("tclient", NdisFreeNetBufferList(nbl));
    check_finding("OWN-3", "tclient");
    const struct condis_violation *v = check_finding("OWN-2", "tclient");
    assert_non_null(strstr(v->message, "0xc0de0bad"));
    expect_only("OWN-2", "OWN-3", NULL);

    as_driver("tmcm", assert_int_equal(tmcm_flush(mvc, TMCM_FIFO, TMCM_COALESCE), 1));
    assert_books(vc, 1);
    assert_int_equal(atomic_load(&vc->completed_ok), 1);
    done_with_findings();
    assert_int_equal(tdrv_vc_teardown(vc), 0);
}

/* ---- OWN-4: the miniport touches an NBL after completing it ---------------------- */

static void test_own4_miniport_writes_after_completion(void **state)
{
    (void)state;
    struct tclient_config c = { .keep_completed = true };
    struct tmcm_config m = { .mode = TMCM_INLINE };
    struct tmcm_vc *mvc;
    struct tclient_vc *vc = start_with_vc(&c, &m, &mvc);

    /* Completed inline by tmcm, kept by tclient; tmcm writes into it
     * afterwards; tclient resends it. */
    assert_int_equal(tclient_send(vc, 1, 0, 0, 0), 1);
    PNET_BUFFER_LIST nbl = pop_kept(vc);
    as_driver("tmcm", nbl->MiniportReserved[0] = (PVOID)(ULONG_PTR)0x5eed);
    tclient_send_chain(vc, nbl, 0);
    const struct condis_violation *v = check_finding("OWN-4", "tmcm");
    assert_string_equal(v->call, "NdisCoSendNetBufferLists");
    assert_int_equal(condis_verify_count("OWN-4"), 1);

    /* Completed again, kept again; tmcm writes into the other
     * MiniportReserved slot this time; tclient frees it. (The NET_BUFFERs'
     * MiniportReserved is not compared: once the NBL is back its protocol
     * may change its NET_BUFFER list.) */
    PNET_BUFFER_LIST again = pop_kept(vc);
    assert_ptr_equal(again, nbl);
    as_driver("tmcm", nbl->MiniportReserved[1] = (PVOID)(ULONG_PTR)7);
    tclient_free_nbl(nbl);
    assert_int_equal(condis_verify_count("OWN-4"), 2);
    expect_only("OWN-4", NULL);
    assert_books(vc, 2);
    assert_int_equal(atomic_load(&vc->completed_ok), 2);
    done_with_findings();
    assert_int_equal(tdrv_vc_teardown(vc), 0);
}

/* ---- OWN-5: completions that are not the miniport's to make ---------------------- */

static void test_own5_double_completion(void **state)
{
    (void)state;
    struct tclient_config c = { .keep_completed = true };
    struct tmcm_config m = { .mode = TMCM_HOLD };
    struct tmcm_vc *mvc;
    struct tclient_vc *vc = start_with_vc(&c, &m, &mvc);
    assert_int_equal(tclient_send(vc, 3, 0, 0, 0), 3);
    as_driver("tmcm", assert_int_equal(tmcm_flush(mvc, TMCM_SHUFFLE, TMCM_COALESCE), 3));
    unsigned long calls = atomic_load(&vc->complete_calls);
    as_driver("tmcm", tmcm_complete_again(mvc));
    const struct condis_violation *v = check_finding("OWN-5", "tmcm");
    assert_string_equal(v->call, "NdisMCoSendNetBufferListsComplete");
    /* condis stops at the first NBL that is not in flight: its Next link is
     * not the miniport's to follow. */
    assert_int_equal(condis_verify_count("OWN-5"), 1);
    expect_only("OWN-5", NULL);
    /* Dropped by condis: tclient saw each NBL once. */
    assert_int_equal(atomic_load(&vc->complete_calls), calls);
    assert_books(vc, 3);
    assert_int_equal(tclient_release_completed(vc), 3);
    done_with_findings();
    assert_int_equal(tdrv_vc_teardown(vc), 0);
}

static void test_own5_completion_of_unsent(void **state)
{
    (void)state;
    struct tmcm_vc *mvc;
    struct tclient_vc *vc = start_with_vc(NULL, NULL, &mvc);
    /* A pool NBL never sent, and an NBL that is no pool's. */
    PNET_BUFFER_LIST nbl = tclient_alloc_nbl(vc, 0, 0);
    assert_non_null(nbl);
    NET_BUFFER_LIST_STATUS(nbl) = NDIS_STATUS_SUCCESS;
    as_driver("tmcm", NdisMCoSendNetBufferListsComplete(mvc->ndis_vc, nbl, 0));
    const struct condis_violation *v = check_finding("OWN-5", "tmcm");
    assert_non_null(strstr(v->object, "NBL"));
    NET_BUFFER_LIST stray;
    memset(&stray, 0, sizeof(stray));
    as_driver("tmcm", NdisMCoSendNetBufferListsComplete(mvc->ndis_vc, &stray, 0));
    assert_int_equal(condis_verify_count("OWN-5"), 2);
    expect_only("OWN-5", NULL);
    /* Neither reached tclient. */
    assert_int_equal(atomic_load(&vc->complete_calls), 0);
    assert_int_equal(atomic_load(&vc->foreign_completed), 0);
    tclient_free_nbl(nbl);
    assert_books(vc, 0);
    done_with_findings();
    assert_int_equal(tdrv_vc_teardown(vc), 0);
}

static void test_own5_completion_on_other_vc(void **state)
{
    (void)state;
    struct tmcm_config m = { .mode = TMCM_HOLD };
    struct tmcm_vc *ma, *mb;
    struct tclient_vc *a = start_with_vc(NULL, &m, &ma);
    struct tclient_vc *b = tdrv_vc_with_call();
    assert_non_null(b);
    mb = tmcm_vc_of(b->ndis_vc);
    assert_non_null(mb);

    /* One NBL sent on a, completed with b's handle. */
    assert_int_equal(tclient_send(a, 1, 0, 0, 0), 1);
    PNET_BUFFER_LIST nbl[1];
    assert_int_equal(take_held(ma, nbl, 1), 1);
    NET_BUFFER_LIST_STATUS(nbl[0]) = NDIS_STATUS_SUCCESS;
    as_driver("tmcm", NdisMCoSendNetBufferListsComplete(mb->ndis_vc, nbl[0], 0));
    const struct condis_violation *v = check_finding("OWN-5", "tmcm");
    assert_non_null(strstr(v->message, "sent on"));
    assert_int_equal(condis_verify_count("OWN-5"), 1);
    /* condis gave it back to the VC it was sent on. */
    assert_books(a, 1);
    assert_books(b, 0);
    assert_int_equal(atomic_load(&a->completed_ok), 1);

    /* tmcm's mixed completion: every VC's NBLs in one call, one handle. */
    assert_int_equal(tclient_send(a, 3, 0, 1, 0), 3);
    assert_int_equal(tclient_send(b, 2, 1, 0, 0), 2);
    as_driver("tmcm", assert_int_equal(tmcm_flush(NULL, TMCM_FIFO, TMCM_MIXED), 5));
    assert_true(condis_verify_count("OWN-5") >= 1 + 2);
    expect_only("OWN-5", NULL);
    assert_books(a, 4);
    assert_books(b, 2);
    done_with_findings();
    assert_int_equal(tdrv_vc_teardown(a), 0);
    assert_int_equal(tdrv_vc_teardown(b), 0);
}

/* ---- OWN-6: a send the miniport never completes ----------------------------------- */

/* tmcm accepts one send and forgets it (the test takes it out of tmcm's
 * queue, so that tmcm does not complete it when it pauses). tclient
 * unbinds from a work item (pend_unbind) and waits there for its sends;
 * condis' host wait for the unbind gives up on the miniport after half of
 * wait_ms, reports OWN-6 and completes the send to tclient with
 * NDIS_STATUS_REQUEST_ABORTED, and the unbind then finishes. */
static void test_own6_reclaimed_when_the_run_ends(void **state)
{
    (void)state;
    struct tclient_config c = { .pend_unbind = true };
    struct tmcm_config m = { .mode = TMCM_HOLD };
    struct tmcm_vc *mvc;
    struct tclient_vc *vc = start_with_vc(&c, &m, &mvc);
    assert_int_equal(tclient_send(vc, 1, 0, 0, 0), 1);
    PNET_BUFFER_LIST lost[1];
    assert_int_equal(take_held(mvc, lost, 1), 1);

    double t0 = now_s();
    assert_int_equal(condis_unbind_all(), 0);
    double took = now_s() - t0;
    const struct condis_violation *v = check_finding("OWN-6", "tmcm");
    assert_non_null(strstr(v->object, "VC"));
    assert_non_null(strstr(v->message, "NDIS_STATUS_REQUEST_ABORTED"));
    expect_only("OWN-6", NULL);
    /* tclient got it back once, aborted, and could close and delete. */
    assert_books(vc, 1);
    assert_int_equal(tclient_status_count(vc, NDIS_STATUS_REQUEST_ABORTED), 1);
    assert_true(vc->deleted);
    assert_int_equal(atomic_load(&tc.bound), 0);
    assert_true(took < 5.0);
    done_with_findings();
}

/* RULES.md OWN-6 also covers a VC deactivated with sends outstanding:
 * condis reports VC-2 for the close, the close waits for the drain, and
 * with the verifier on that wait counts as condis waiting on the miniport:
 * after half the driver timeout the watchdog takes the send back (OWN-6)
 * and the close finishes while the run goes on. */
static void test_own6_vc_deactivated_with_send_outstanding(void **state)
{
    (void)state;
    struct tmcm_config m = { .mode = TMCM_HOLD };
    struct tmcm_vc *mvc;
    struct tclient_vc *vc = start_with_vc(NULL, &m, &mvc);
    assert_int_equal(tclient_send(vc, 1, 0, 0, 0), 1);
    PNET_BUFFER_LIST lost[1];
    assert_int_equal(take_held(mvc, lost, 1), 1);
    assert_status(tclient_close_call(vc), NDIS_STATUS_PENDING);
    assert_false(atomic_load(&mvc->active)); /* tmcm deactivated the VC */
    check_finding("VC-2", "tclient");
    /* The run's driver timeout is 400 ms: the watchdog acts after 200. */
    NDIS_STATUS st = tclient_wait_close_call(vc, 2000);
    size_t own6 = condis_verify_count("OWN-6");
    /* Finish the run cleanly whatever happened: tmcm completes it late. */
    if (atomic_load(&vc->completed) == 0) {
        NET_BUFFER_LIST_STATUS(lost[0]) = NDIS_STATUS_SUCCESS;
        as_driver("tmcm", NdisMCoSendNetBufferListsComplete(mvc->ndis_vc, lost[0], 0));
        st = tclient_wait_close_call(vc, TDRV_WAIT_MS);
    }
    assert_status(st, NDIS_STATUS_SUCCESS);
    assert_books(vc, 1);
    condis_verify_clear();
    assert_status(tclient_delete_vc(vc), NDIS_STATUS_SUCCESS);
    if (own6 == 0)
        fail_msg("no OWN-6 for a send outstanding when its VC was deactivated");
}

/* OWN-6: tclient unbinds synchronously and waits inside its handler for
 * a send tmcm never completes; no host wait of condis runs meanwhile, so
 * the verifier's watchdog takes the send back once the teardown has run
 * half the driver timeout, and the run ends clean. */
static void test_own6_run_end_sync_unbind(void **state)
{
    (void)state;
    struct tmcm_config m = { .mode = TMCM_HOLD };
    struct tmcm_vc *mvc;
    struct tclient_vc *vc = start_with_vc(NULL, &m, &mvc);
    assert_int_equal(tclient_send(vc, 1, 0, 0, 0), 1);
    PNET_BUFFER_LIST lost[1];
    assert_int_equal(take_held(mvc, lost, 1), 1);
    double t0 = now_s();
    int rc = condis_unbind_all();
    fprintf(stderr, "condis_unbind_all returned %d after %.1f s; findings:\n", rc, now_s() - t0);
    condis_verify_report_text(stderr);
    size_t own6 = condis_verify_count("OWN-6");
    unsigned long back = atomic_load(&vc->completed);
    condis_verify_clear();
    assert_int_equal(back, 1);
    assert_true(own6 >= 1);
}

/* ---- OWN-7: the miniport changes an NBL's NET_BUFFER list ----------------------- */

static void test_own7_nb_list_changed(void **state)
{
    (void)state;
    struct tclient_config c = { .keep_completed = true };
    struct tmcm_config m = { .mode = TMCM_HOLD };
    struct tmcm_vc *mvc;
    struct tclient_vc *vc = start_with_vc(&c, &m, &mvc);

    /* An NBL with two NET_BUFFERs: the second from tclient's own NB pool. */
    NET_BUFFER_POOL_PARAMETERS bp;
    memset(&bp, 0, sizeof(bp));
    bp.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    bp.Header.Revision = NET_BUFFER_POOL_PARAMETERS_REVISION_1;
    bp.Header.Size = NDIS_SIZEOF_NET_BUFFER_POOL_PARAMETERS_REVISION_1;
    bp.PoolTag = 'bNvT';
    NDIS_HANDLE nbpool = NdisAllocateNetBufferPool(tc.protocol, &bp);
    assert_non_null(nbpool);
    static UCHAR second[32];
    PMDL mdl2 = NdisAllocateMdl(tc.protocol, second, sizeof(second));
    assert_non_null(mdl2);
    PNET_BUFFER nb2 = NdisAllocateNetBuffer(nbpool, mdl2, 0, sizeof(second));
    assert_non_null(nb2);
    PNET_BUFFER_LIST a = tclient_alloc_nbl(vc, 0, 0);
    assert_non_null(a);
    PNET_BUFFER nb1 = NET_BUFFER_LIST_FIRST_NB(a);
    NET_BUFFER_NEXT_NB(nb1) = nb2;
    PNET_BUFFER_LIST b = tclient_alloc_nbl(vc, 0, 1);
    assert_non_null(b);
    PNET_BUFFER bnb = NET_BUFFER_LIST_FIRST_NB(b);
    NET_BUFFER_LIST_NEXT_NBL(a) = b;
    tclient_send_chain(vc, a, 0);

    /* tmcm reverses a's two NET_BUFFERs and drops b's only one. */
    PNET_BUFFER_LIST held[2];
    assert_int_equal(take_held(mvc, held, 2), 2);
    assert_ptr_equal(held[0], a);
    NET_BUFFER_LIST_FIRST_NB(a) = nb2;
    NET_BUFFER_NEXT_NB(nb2) = nb1;
    NET_BUFFER_NEXT_NB(nb1) = NULL;
    NET_BUFFER_LIST_FIRST_NB(b) = NULL;
    NET_BUFFER_LIST_STATUS(a) = NET_BUFFER_LIST_STATUS(b) = NDIS_STATUS_SUCCESS;
    NET_BUFFER_LIST_NEXT_NBL(a) = b;
    as_driver("tmcm", NdisMCoSendNetBufferListsComplete(mvc->ndis_vc, a, 0));
    check_finding("OWN-7", "tmcm");
    assert_int_equal(condis_verify_count("OWN-7"), 2);
    expect_only("OWN-7", NULL);
    assert_books(vc, 2);
    assert_int_equal(atomic_load(&vc->completed_ok), 2);

    done_with_findings();

    /* tclient, which owns both NBLs again, puts its NET_BUFFERs back in
     * order and frees everything: no finding may follow (not OWN-4). */
    NET_BUFFER_LIST_FIRST_NB(a) = nb1;
    NET_BUFFER_NEXT_NB(nb1) = NULL;
    NET_BUFFER_NEXT_NB(nb2) = NULL;
    NET_BUFFER_LIST_FIRST_NB(b) = bnb;
    NdisFreeNetBuffer(nb2);
    NdisFreeMdl(mdl2);
    NdisFreeNetBufferPool(nbpool);
    assert_int_equal(tclient_release_completed(vc), 2);
    done_with_findings();
    assert_int_equal(tdrv_vc_teardown(vc), 0);
}

/* The miniport completed correctly; afterwards the protocol, which owns
 * the NBL again, changes its NET_BUFFER list and resends it. That is not
 * OWN-4: only the NBL's own MiniportReserved is compared across a
 * completion. */
static void test_own4_protocol_changes_nb_list_after_completion(void **state)
{
    (void)state;
    struct tclient_config c = { .keep_completed = true };
    struct tmcm_vc *mvc;
    struct tclient_vc *vc = start_with_vc(&c, NULL, &mvc);
    NET_BUFFER_POOL_PARAMETERS bp;
    memset(&bp, 0, sizeof(bp));
    bp.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    bp.Header.Revision = NET_BUFFER_POOL_PARAMETERS_REVISION_1;
    bp.Header.Size = NDIS_SIZEOF_NET_BUFFER_POOL_PARAMETERS_REVISION_1;
    bp.PoolTag = 'bNvT';
    NDIS_HANDLE nbpool = NdisAllocateNetBufferPool(tc.protocol, &bp);
    assert_non_null(nbpool);
    static UCHAR second[32];
    PMDL mdl2 = NdisAllocateMdl(tc.protocol, second, sizeof(second));
    assert_non_null(mdl2);
    PNET_BUFFER nb2 = NdisAllocateNetBuffer(nbpool, mdl2, 0, sizeof(second));
    assert_non_null(nb2);
    PNET_BUFFER_LIST nbl = tclient_alloc_nbl(vc, 0, 0);
    assert_non_null(nbl);
    NET_BUFFER_NEXT_NB(NET_BUFFER_LIST_FIRST_NB(nbl)) = nb2;
    tclient_send_chain(vc, nbl, 0); /* tmcm completes it inline, correctly */
    assert_ptr_equal(pop_kept(vc), nbl);
    assert_int_equal(condis_verify_count(NULL), 0);
    NET_BUFFER_NEXT_NB(NET_BUFFER_LIST_FIRST_NB(nbl)) = NULL;
    NdisFreeNetBuffer(nb2);
    NdisFreeMdl(mdl2);
    NdisFreeNetBufferPool(nbpool);
    tclient_free_nbl(nbl);
    size_t n = condis_verify_count(NULL);
    if (n != 0)
        condis_verify_report_text(stderr);
    condis_verify_clear();
    assert_books(vc, 1);
    assert_int_equal(tdrv_vc_teardown(vc), 0);
    if (n != 0)
        fail_msg("a correct run produced %zu finding(s)", n);
}

/* ---- NBL-1 .. NBL-4 ------------------------------------------------------------------ */

static void test_nbl1_wrong_source_handle(void **state)
{
    (void)state;
    struct tmcm_vc *mvc;
    struct tclient_vc *vc = start_with_vc(NULL, NULL, &mvc);
    struct tclient_vc *other = tdrv_vc_with_call();
    assert_non_null(other);
    PNET_BUFFER_LIST nbl = tclient_alloc_nbl(vc, 0, 0);
    assert_non_null(nbl);
    nbl->SourceHandle = other->ndis_vc;
    tclient_send_chain(vc, nbl, 0);
    const struct condis_violation *v = check_finding("NBL-1", "tclient");
    assert_string_equal(v->call, "NdisCoSendNetBufferLists");
    expect_only("NBL-1", NULL);
    /* Sent anyway, on the VC it was given to, and back once. */
    assert_int_equal(atomic_load(&mvc->arrived), 1);
    assert_books(vc, 1);
    assert_books(other, 0);
    assert_int_equal(atomic_load(&vc->completed_ok), 1);
    done_with_findings();
    assert_int_equal(tdrv_vc_teardown(vc), 0);
    assert_int_equal(tdrv_vc_teardown(other), 0);
}

static void test_nbl2_nbl_not_from_a_pool(void **state)
{
    (void)state;
    struct tmcm_vc *mvc;
    struct tclient_vc *vc = start_with_vc(NULL, NULL, &mvc);
    NET_BUFFER_LIST stack_nbl;
    memset(&stack_nbl, 0, sizeof(stack_nbl));
    stack_nbl.SourceHandle = vc->ndis_vc;
    PNET_BUFFER_LIST a = tclient_alloc_nbl(vc, 0, 0), b = tclient_alloc_nbl(vc, 0, 1);
    assert_non_null(a);
    assert_non_null(b);
    NET_BUFFER_LIST_NEXT_NBL(a) = &stack_nbl;
    NET_BUFFER_LIST_NEXT_NBL(&stack_nbl) = b;
    tclient_send_chain(vc, a, 0);
    const struct condis_violation *v = check_finding("NBL-2", "tclient");
    assert_non_null(strstr(v->message, "NDIS_STATUS_INVALID_PARAMETER"));
    expect_only("NBL-2", NULL);
    /* The stack NBL came back refused; the pool NBLs went through. */
    assert_int_equal(atomic_load(&vc->foreign_completed), 1);
    assert_status(atomic_load(&vc->foreign_status), NDIS_STATUS_INVALID_PARAMETER);
    assert_int_equal(atomic_load(&mvc->arrived), 2);
    assert_books(vc, 2);
    assert_int_equal(atomic_load(&vc->completed_ok), 2);
    done_with_findings();
    assert_int_equal(tdrv_vc_teardown(vc), 0);
}

/* A NET_BUFFER_LIST on the stack that is a copy of a pool NBL (so its
 * NdisPoolHandle names a live pool). condis must tell it from a pool NBL
 * without reading past the driver's NET_BUFFER_LIST (the slab registry,
 * src/mem/span.c): under AddressSanitizer a read of the trailer behind the
 * copy would be a stack-buffer-overflow. */
static void test_nbl2_copied_descriptor(void **state)
{
    (void)state;
    struct tmcm_vc *mvc;
    struct tclient_vc *vc = start_with_vc(NULL, NULL, &mvc);
    PNET_BUFFER_LIST real = tclient_alloc_nbl(vc, 0, 0);
    assert_non_null(real);
    NET_BUFFER_LIST copy = *real;
    copy.ProtocolReserved[2] = NULL; /* not tclient's: counted as foreign */
    NET_BUFFER_LIST_NEXT_NBL(&copy) = NULL;
    tclient_send_chain(vc, &copy, 0);
    check_finding("NBL-2", "tclient");
    expect_only("NBL-2", NULL);
    assert_int_equal(atomic_load(&vc->foreign_completed), 1);
    assert_status(atomic_load(&vc->foreign_status), NDIS_STATUS_INVALID_PARAMETER);
    assert_int_equal(atomic_load(&mvc->arrived), 0);
    tclient_free_nbl(real);
    done_with_findings();
    assert_int_equal(tdrv_vc_teardown(vc), 0);
}

static void test_nbl3_pending_status_from_dpc(void **state)
{
    (void)state;
    struct tmcm_config m = { .mode = TMCM_DPC, .send_status = NDIS_STATUS_PENDING };
    struct tclient_vc *vc = start_with_vc(NULL, &m, NULL);
    assert_int_equal(tclient_send(vc, 3, 0, 0, 0), 3);
    assert_true(tclient_wait_sends(vc, TDRV_WAIT_MS));
    condis_flush();
    /* tmcm's DPC completed them: the finding is tmcm's. */
    const struct condis_violation *v = check_finding("NBL-3", "tmcm");
    assert_non_null(strstr(v->message, "NDIS_STATUS_PENDING"));
    assert_int_equal(condis_verify_count("NBL-3"), 3);
    expect_only("NBL-3", NULL);
    assert_books(vc, 3);
    assert_int_equal(tclient_status_count(vc, NDIS_STATUS_PENDING), 0);
    assert_int_equal(tclient_status_count(vc, NDIS_STATUS_FAILURE), 3);
    tmcm_set_send_status(NDIS_STATUS_SUCCESS);
    done_with_findings();
    assert_int_equal(tdrv_vc_teardown(vc), 0);
}

static void test_nbl3_status_never_set(void **state)
{
    (void)state;
    struct tmcm_config m = { .mode = TMCM_HOLD };
    struct tmcm_vc *mvc;
    struct tclient_vc *vc = start_with_vc(NULL, &m, &mvc);
    assert_int_equal(tclient_send(vc, 2, 0, 0, 0), 2);
    PNET_BUFFER_LIST nbl[2];
    assert_int_equal(take_held(mvc, nbl, 2), 2);
    /* tmcm completes them without setting NET_BUFFER_LIST_STATUS. */
    for (int i = 0; i < 2; i++)
        assert_int_equal((unsigned)NET_BUFFER_LIST_STATUS(nbl[i]), (unsigned)CN_VERIFY_POISON);
    NET_BUFFER_LIST_NEXT_NBL(nbl[0]) = nbl[1];
    as_driver("tmcm", NdisMCoSendNetBufferListsComplete(mvc->ndis_vc, nbl[0], 0));
    const struct condis_violation *v = check_finding("NBL-3", "tmcm");
    assert_non_null(strstr(v->message, "without setting"));
    assert_int_equal(condis_verify_count("NBL-3"), 2);
    expect_only("NBL-3", NULL);
    assert_books(vc, 2);
    assert_int_equal(tclient_status_count(vc, CN_VERIFY_POISON), 0);
    assert_int_equal(tclient_status_count(vc, NDIS_STATUS_FAILURE), 2);
    done_with_findings();
    assert_int_equal(tdrv_vc_teardown(vc), 0);
}

static void test_nbl4_bad_net_buffer_layout(void **state)
{
    (void)state;
    struct tmcm_vc *mvc;
    struct tclient_vc *vc = start_with_vc(NULL, NULL, &mvc);
    /* DataOffset says 4 bytes in, CurrentMdlOffset says 0. */
    PNET_BUFFER_LIST a = tclient_alloc_nbl(vc, 0, 0);
    assert_non_null(a);
    NET_BUFFER_DATA_OFFSET(NET_BUFFER_LIST_FIRST_NB(a)) = 4;
    tclient_send_chain(vc, a, 0);
    const struct condis_violation *v = check_finding("NBL-4", "tclient");
    assert_non_null(strstr(v->message, "DataOffset"));
    /* DataLength runs past the MDL chain. */
    PNET_BUFFER_LIST b = tclient_alloc_nbl(vc, 0, 1);
    assert_non_null(b);
    NET_BUFFER_DATA_LENGTH(NET_BUFFER_LIST_FIRST_NB(b)) += 100;
    tclient_send_chain(vc, b, 0);
    assert_int_equal(condis_verify_count("NBL-4"), 2);
    expect_only("NBL-4", NULL);
    /* Both refused at submit, each back once with INVALID_PARAMETER. */
    assert_int_equal(atomic_load(&mvc->arrived), 0);
    assert_books(vc, 2);
    assert_int_equal(tclient_status_count(vc, NDIS_STATUS_INVALID_PARAMETER), 2);
    done_with_findings();
    assert_int_equal(tdrv_vc_teardown(vc), 0);
}

/* ---- VC-1 .. VC-4 -------------------------------------------------------------------- */

static void test_vc1_send_without_call(void **state)
{
    (void)state;
    struct tdrv_env env;
    struct tmcm_config m = { .pend = TMCM_PEND_CLOSE_CALL, .pend_by = TMCM_BY_TEST };
    assert_int_equal(tdrv_start(&env, NULL, &m), 0);
    NDIS_STATUS st;
    struct tclient_vc *vc = tclient_create_vc(&st);
    assert_non_null(vc);
    assert_int_equal(tclient_send(vc, 2, 0, 0, 0), 2);
    const struct condis_violation *v = check_finding("VC-1", "tclient");
    assert_non_null(strstr(v->message, "NDIS_STATUS_VC_NOT_ACTIVATED"));
    assert_int_equal(tclient_status_count(vc, NDIS_STATUS_VC_NOT_ACTIVATED), 2);
    /* And on a call that is closing. */
    tclient_make_call(vc);
    assert_status(tclient_wait_make_call(vc, TDRV_WAIT_MS), NDIS_STATUS_SUCCESS);
    assert_status(tclient_close_call(vc), NDIS_STATUS_PENDING);
    assert_int_equal(tclient_send(vc, 1, 0, 2, 0), 1);
    assert_int_equal(tclient_status_count(vc, NDIS_STATUS_CLOSING), 1);
    assert_int_equal(condis_verify_count("VC-1"), 2);
    expect_only("VC-1", NULL);
    tmcm_complete_close_call(tmcm_vc_of(vc->ndis_vc), NDIS_STATUS_SUCCESS);
    assert_status(tclient_wait_close_call(vc, TDRV_WAIT_MS), NDIS_STATUS_SUCCESS);
    assert_books(vc, 3);
    assert_int_equal(atomic_load(&tmcm_vc_of(vc->ndis_vc)->arrived), 0);
    done_with_findings();
    assert_status(tclient_delete_vc(vc), NDIS_STATUS_SUCCESS);
}

static void test_vc2_close_with_sends_outstanding(void **state)
{
    (void)state;
    struct tmcm_config m = { .mode = TMCM_HOLD };
    struct tmcm_vc *mvc;
    struct tclient_vc *vc = start_with_vc(NULL, &m, &mvc);
    assert_int_equal(tclient_send(vc, 2, 0, 0, 0), 2);
    assert_status(tclient_close_call(vc), NDIS_STATUS_PENDING);
    const struct condis_violation *v = check_finding("VC-2", "tclient");
    assert_string_equal(v->call, "NdisClCloseCall");
    expect_only("VC-2", NULL);
    /* condis drains: the close finishes with the last completion. */
    assert_status(tclient_wait_close_call(vc, 20), TDRV_TIMEOUT);
    as_driver("tmcm", assert_int_equal(tmcm_flush(mvc, TMCM_FIFO, TMCM_SPLIT), 2));
    assert_status(tclient_wait_close_call(vc, TDRV_WAIT_MS), NDIS_STATUS_SUCCESS);
    assert_true(atomic_load(&vc->close_complete_seq) > atomic_load(&vc->last_complete_seq));
    assert_books(vc, 2);
    assert_int_equal(atomic_load(&vc->completed_ok), 2);
    done_with_findings();
    assert_status(tclient_delete_vc(vc), NDIS_STATUS_SUCCESS);
}

static void test_vc3_delete_vc_with_call(void **state)
{
    (void)state;
    struct tclient_vc *vc = start_with_vc(NULL, NULL, NULL);
    NDIS_STATUS st;
    as_driver("tclient", st = NdisCoDeleteVc(vc->ndis_vc));
    assert_not_success(st);
    const struct condis_violation *v = check_finding("VC-3", "tclient");
    assert_string_equal(v->call, "NdisCoDeleteVc");
    expect_only("VC-3", NULL);
    /* The VC and its call still work. */
    assert_int_equal(tclient_send(vc, 2, 0, 0, 0), 2);
    assert_books(vc, 2);
    assert_int_equal(atomic_load(&vc->completed_ok), 2);
    done_with_findings();
    assert_int_equal(tdrv_vc_teardown(vc), 0);
}

/* VC-4: a send on a deleted VC's handle is reported (the handle's
 * generation no longer matches); the NBLs stay with the caller, their
 * status STATUS_INVALID_HANDLE. */
static void test_vc4_send_on_deleted_vc(void **state)
{
    (void)state;
    struct tdrv_env env;
    assert_int_equal(tdrv_start(&env, NULL, NULL), 0);
    NDIS_STATUS st;
    struct tclient_vc *vc = tclient_create_vc(&st);
    assert_non_null(vc);
    PNET_BUFFER_LIST nbl = tclient_alloc_nbl(vc, 0, 0);
    assert_non_null(nbl);
    assert_status(tclient_delete_vc(vc), NDIS_STATUS_SUCCESS);
    as_driver("tclient", NdisCoSendNetBufferLists(vc->ndis_vc, nbl, 0));
    /* Not taken: it stays with the caller, marked. */
    NDIS_STATUS left = NET_BUFFER_LIST_STATUS(nbl);
    unsigned long calls = atomic_load(&vc->complete_calls);
    size_t on_send = condis_verify_count("VC-4");
    const char *drv = NULL, *call = NULL;
    if (on_send != 0) {
        size_t n = condis_verify_findings(found, MAX_FINDINGS);
        for (size_t i = 0; i < n && i < MAX_FINDINGS && drv == NULL; i++)
            if (strcmp(found[i].rule, "VC-4") == 0) {
                drv = found[i].driver;
                call = found[i].call;
            }
    }
    bool right = drv != NULL && strcmp(drv, "tclient") == 0 &&
                 strcmp(call, "NdisCoSendNetBufferLists") == 0;
    /* Another use of the stale handle. */
    as_driver("tclient", st = NdisCoDeleteVc(vc->ndis_vc));
    assert_not_success(st);
    size_t total = condis_verify_count("VC-4");
    tclient_free_nbl(nbl);
    condis_verify_clear();
    assert_status(left, (NDIS_STATUS)STATUS_INVALID_HANDLE);
    assert_int_equal(calls, 0);
    if (on_send == 0 || !right)
        fail_msg("a send on a deleted VC's handle: %zu VC-4 finding(s)%s", on_send,
                 on_send ? " charged to the wrong driver or call" : "");
    assert_int_equal(total, 2);
}

/* ---- IRQL-1 .. IRQL-3 ------------------------------------------------------------------ */

static void test_irql1_dispatch_flags_at_passive(void **state)
{
    (void)state;
    struct tmcm_config m = { .mode = TMCM_HOLD };
    struct tmcm_vc *mvc;
    struct tclient_vc *vc = start_with_vc(NULL, &m, &mvc);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    PNET_BUFFER_LIST nbl = tclient_alloc_nbl(vc, 0, 0);
    assert_non_null(nbl);
    tclient_send_chain(vc, nbl, NDIS_SEND_FLAGS_DISPATCH_LEVEL);
    check_finding_obj("IRQL-1", "tclient", false);
    assert_int_equal(condis_verify_count("IRQL-1"), 1);
    /* The miniport was told the truth. */
    assert_int_equal(atomic_load(&mvc->flag_lies), 0);
    PNET_BUFFER_LIST held[1];
    assert_int_equal(take_held(mvc, held, 1), 1);
    NET_BUFFER_LIST_STATUS(held[0]) = NDIS_STATUS_SUCCESS;
    as_driver("tmcm", NdisMCoSendNetBufferListsComplete(mvc->ndis_vc, held[0],
                                                        NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL));
    assert_int_equal(condis_verify_count("IRQL-1"), 2);
    expect_only("IRQL-1", NULL);
    /* condis cleared the lie before tclient saw it. */
    assert_books(vc, 1);
    size_t n = condis_verify_findings(found, MAX_FINDINGS);
    assert_int_equal(n, 2);
    assert_string_equal(found[1].driver, "tmcm");
    done_with_findings();
    assert_int_equal(tdrv_vc_teardown(vc), 0);
}

/* Every finding names its object: the IRQL-1 finding of a send names the
 * NBL and its VC. */
static void test_irql1_finding_names_its_vc(void **state)
{
    (void)state;
    struct tmcm_vc *mvc;
    struct tclient_vc *vc = start_with_vc(NULL, NULL, &mvc);
    PNET_BUFFER_LIST nbl = tclient_alloc_nbl(vc, 0, 0);
    assert_non_null(nbl);
    tclient_send_chain(vc, nbl, NDIS_SEND_FLAGS_DISPATCH_LEVEL);
    assert_books(vc, 1);
    size_t n = condis_verify_findings(found, MAX_FINDINGS);
    bool named = n >= 1 && strcmp(found[0].rule, "IRQL-1") == 0 && strstr(found[0].object, "VC");
    condis_verify_clear();
    assert_int_equal(tdrv_vc_teardown(vc), 0);
    if (!named)
        fail_msg("the IRQL-1 finding of a send does not name the VC");
}

static void test_irql2_passive_calls_at_dispatch(void **state)
{
    (void)state;
    struct tclient_vc *vc = start_with_vc(NULL, NULL, NULL);
    NDIS_EVENT ev;
    NdisInitializeEvent(&ev);
    KIRQL old;
    as_driver("tclient", {
        KeRaiseIrql(DISPATCH_LEVEL, &old);
        NdisMSleep(10);
        (void)NdisWaitEvent(&ev, 1);
        KeLowerIrql(old);
    });
    const struct condis_violation *v = check_finding_obj("IRQL-2", "tclient", false);
    assert_string_equal(v->call, "NdisMSleep");
    assert_int_equal(v->irql, DISPATCH_LEVEL);
    assert_int_equal(condis_verify_count("IRQL-2"), 2);
    expect_only("IRQL-2", NULL);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    assert_int_equal(tclient_send(vc, 2, 0, 0, 0), 2);
    assert_books(vc, 2);
    done_with_findings();
    assert_int_equal(tdrv_vc_teardown(vc), 0);
}

static void release_lock_fn(void *arg)
{
    NdisReleaseSpinLock(arg);
}

static void test_irql3_spin_lock_misuse(void **state)
{
    (void)state;
    struct tclient_vc *vc = start_with_vc(NULL, NULL, NULL);
    NDIS_SPIN_LOCK lock;
    NdisAllocateSpinLock(&lock);

    /* Released while nobody holds it. */
    as_driver("tclient", NdisReleaseSpinLock(&lock));
    const struct condis_violation *v = check_finding("IRQL-3", "tclient");
    assert_non_null(strstr(v->message, "not held"));
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);

    /* Acquired here, released by another thread. */
    as_driver("tclient", NdisAcquireSpinLock(&lock));
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    run_on_other_thread("tclient", release_lock_fn, &lock);
    assert_int_equal(condis_verify_count("IRQL-3"), 2);
    KeLowerIrql(PASSIVE_LEVEL); /* the acquirer's IRQL is its own to restore */
    assert_true(KeTestSpinLock(&lock.SpinLock)); /* released all the same */

    /* The Dpr forms at PASSIVE_LEVEL: released below DISPATCH_LEVEL. */
    as_driver("tclient", {
        NdisDprAcquireSpinLock(&lock);
        NdisDprReleaseSpinLock(&lock);
    });
    assert_int_equal(condis_verify_count("IRQL-3"), 3);
    expect_only("IRQL-3", NULL);
    NdisFreeSpinLock(&lock);

    assert_int_equal(tclient_send(vc, 2, 0, 0, 0), 2);
    assert_books(vc, 2);
    done_with_findings();
    assert_int_equal(tdrv_vc_teardown(vc), 0);
}

/* A work item (a handler that must return with no spin lock held and at
 * the IRQL it was called at) returns holding a spin lock at DISPATCH_LEVEL.
 * condis checks what every DPC, I/O work item and timer routine leaves
 * behind (cn_callback_returned, src/os/irql.c), as it does for handlers. */
static NDIS_SPIN_LOCK wi_lock;
static NDIS_EVENT wi_done;

static NDIS_IO_WORKITEM_FUNCTION bad_work;
static void bad_work(PVOID ctx, NDIS_HANDLE wi)
{
    (void)ctx;
    NdisFreeIoWorkItem(wi);
    NdisAcquireSpinLock(&wi_lock);
    NdisSetEvent(&wi_done);
}

static void test_irql3_work_item_returns_holding_lock(void **state)
{
    (void)state;
    struct tclient_vc *vc = start_with_vc(NULL, NULL, NULL);
    NdisAllocateSpinLock(&wi_lock);
    NdisInitializeEvent(&wi_done);
    NDIS_HANDLE wi = NdisAllocateIoWorkItem(tc.protocol);
    assert_non_null(wi);
    NdisQueueIoWorkItem(wi, bad_work, NULL);
    assert_true(NdisWaitEvent(&wi_done, TDRV_WAIT_MS));
    condis_flush();
    size_t n = condis_verify_count("IRQL-3");
    const char *drv = NULL;
    if (n) {
        size_t k = condis_verify_findings(found, MAX_FINDINGS);
        for (size_t i = 0; i < k && drv == NULL; i++)
            if (strcmp(found[i].rule, "IRQL-3") == 0)
                drv = found[i].driver;
    }
    bool right = drv != NULL && strcmp(drv, "tclient") == 0;
    /* Let the lock go (from this thread: one more IRQL-3). */
    NdisReleaseSpinLock(&wi_lock);
    KeLowerIrql(PASSIVE_LEVEL);
    NdisFreeSpinLock(&wi_lock);
    condis_verify_clear();
    assert_int_equal(tdrv_vc_teardown(vc), 0);
    if (!right)
        fail_msg("a work item returned holding a spin lock: %zu IRQL-3 finding(s)", n);
}

/* ---- RES-1, RES-2 -------------------------------------------------------------------- */

static void test_res2_pool_freed_with_nbl_allocated(void **state)
{
    (void)state;
    struct tclient_vc *vc = start_with_vc(NULL, NULL, NULL);
    PNET_BUFFER_LIST nbl = tclient_alloc_nbl(vc, 0, 0);
    assert_non_null(nbl);
    as_driver("tclient", NdisFreeNetBufferListPool(tc.pool));
    const struct condis_violation *v = check_finding("RES-2", "tclient");
    assert_string_equal(v->call, "NdisFreeNetBufferListPool");
    expect_only("RES-2", NULL);
    /* Not freed: the NBL goes back to it, and it still serves. */
    tclient_free_nbl(nbl);
    assert_int_equal(tclient_send(vc, 2, 0, 0, 0), 2);
    assert_books(vc, 2);
    done_with_findings();
    assert_int_equal(tdrv_vc_teardown(vc), 0);
}

static void test_res1_unload_with_pool_and_memory(void **state)
{
    (void)state;
    struct tdrv_env env;
    assert_int_equal(tdrv_start(&env, NULL, NULL), 0);
    NET_BUFFER_LIST_POOL_PARAMETERS pp;
    memset(&pp, 0, sizeof(pp));
    pp.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    pp.Header.Revision = NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    pp.Header.Size = NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    pp.ProtocolId = NDIS_PROTOCOL_ID_DEFAULT;
    pp.fAllocateNetBuffer = TRUE;
    pp.PoolTag = 'kaeL';
    NDIS_HANDLE pool = NdisAllocateNetBufferListPool(tc.protocol, &pp);
    assert_non_null(pool);
    PNET_BUFFER_LIST nbl = NdisAllocateNetBufferList(pool, 0, 0);
    assert_non_null(nbl);
    PVOID mem = NdisAllocateMemoryWithTagPriority(tc.protocol, 100, 'kaeL', NormalPoolPriority);
    assert_non_null(mem);

    /* tclient unloads (unbinding first) with all three still allocated. */
    assert_int_equal(condis_driver_unload(env.client), 0);
    const struct condis_violation *v = check_finding("RES-1", "tclient");
    assert_string_equal(v->call, "unload");
    assert_true(condis_verify_count("RES-1") >= 2);
    expect_only("RES-1", NULL);
    bool pool_named = false, mem_named = false;
    size_t n = condis_verify_findings(found, MAX_FINDINGS);
    for (size_t i = 0; i < n && i < MAX_FINDINGS; i++) {
        if (strstr(found[i].object, "NBL pool") && strstr(found[i].object, "Leak"))
            pool_named = true;
        if (strstr(found[i].object, "memory") && strstr(found[i].object, "Leak"))
            mem_named = true;
    }
    assert_true(pool_named);
    assert_true(mem_named);

    /* What the unloaded driver left can still be given back. */
    NdisFreeNetBufferList(nbl);
    NdisFreeNetBufferListPool(pool);
    NdisFreeMemory(mem, 100, 0);
    done_with_findings();
}

/* RES-1: a driver unloads with an untagged MDL (NdisAllocateMdl) not
 * freed; the finding names it with the tag printed as dots. */
static void test_res1_untagged_leak_named(void **state)
{
    (void)state;
    struct tdrv_env env;
    assert_int_equal(tdrv_start(&env, NULL, NULL), 0);
    static UCHAR buf[16];
    PMDL mdl = NdisAllocateMdl(tc.protocol, buf, sizeof(buf));
    assert_non_null(mdl);
    assert_int_equal(condis_driver_unload(env.client), 0);
    size_t n = condis_verify_findings(found, MAX_FINDINGS);
    bool whole = false;
    for (size_t i = 0; i < n && i < MAX_FINDINGS; i++)
        if (strcmp(found[i].rule, "RES-1") == 0 && strstr(found[i].object, "MDL")) {
            const char *tag = strstr(found[i].object, "tag '");
            whole = tag != NULL && strlen(tag) == strlen("tag '....'");
            if (!whole)
                fprintf(stderr, "RES-1 object: \"%s\"\n", found[i].object);
        }
    NdisFreeMdl(mdl);
    condis_verify_clear();
    if (!whole)
        fail_msg("the RES-1 finding for an untagged MDL does not name it whole");
}

/* A run ends with a driver's memory block not freed: condis_fini reports
 * it and frees it, so that the next run in the process starts clean. */
static void test_run_after_a_leaky_run_starts_clean(void **state)
{
    (void)state;
    PVOID block = NULL;
    as_driver("leaky", assert_int_equal(NdisAllocateMemoryWithTag(&block, 40, 'ykaL'),
                                        NDIS_STATUS_SUCCESS));
    assert_int_not_equal(condis_fini(), 0); /* the leak is reported */
    assert_int_equal(setup_verify(NULL), 0);
    struct condis_outstanding o;
    condis_outstanding(&o);
    size_t left = o.memory_blocks;
    if (left != 0)
        as_driver("leaky", NdisFreeMemory(block, 40, 0)); /* so that this run ends clean */
    assert_int_equal(left, 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_verify, cn_test_teardown)
    const struct CMUnitTest tests[] = {
        T(test_clean_run_finds_nothing),
        T(test_own1_protocol_writes_in_flight),
        T(test_own2_free_right_after_send),
        T(test_own3_free_in_flight),
        T(test_own3_resend_in_flight),
        T(test_own3_free_pool_in_flight),
        T(test_own4_miniport_writes_after_completion),
        T(test_own5_double_completion),
        T(test_own5_completion_of_unsent),
        T(test_own5_completion_on_other_vc),
        cmocka_unit_test_setup_teardown(test_own6_reclaimed_when_the_run_ends,
                                        setup_verify_short_wait, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_own6_vc_deactivated_with_send_outstanding,
                                        setup_verify_short_wait, cn_test_teardown),
        T(test_own6_run_end_sync_unbind),
        T(test_own7_nb_list_changed),
        T(test_own4_protocol_changes_nb_list_after_completion),
        T(test_nbl1_wrong_source_handle),
        T(test_nbl2_nbl_not_from_a_pool),
        T(test_nbl2_copied_descriptor),
        T(test_nbl3_pending_status_from_dpc),
        T(test_nbl3_status_never_set),
        T(test_nbl4_bad_net_buffer_layout),
        T(test_vc1_send_without_call),
        T(test_vc2_close_with_sends_outstanding),
        T(test_vc3_delete_vc_with_call),
        T(test_vc4_send_on_deleted_vc),
        T(test_irql1_dispatch_flags_at_passive),
        T(test_irql1_finding_names_its_vc),
        T(test_irql2_passive_calls_at_dispatch),
        T(test_irql3_spin_lock_misuse),
        T(test_irql3_work_item_returns_holding_lock),
        T(test_res2_pool_freed_with_nbl_allocated),
        T(test_res1_unload_with_pool_and_memory),
        T(test_res1_untagged_leak_named),
        T(test_run_after_a_leaky_run_starts_clean),
    };
#undef T
    if (getenv("CN_TEST_FILTER"))
        cmocka_set_test_filter(getenv("CN_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
