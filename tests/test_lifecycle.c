/*
 * test_lifecycle.c - the CoNDIS control path end to end with the test
 * drivers: bind -> AF notify -> AF open -> VC create -> make call -> send ->
 * receive -> return -> close call -> delete VC -> close AF -> unbind ->
 * halt -> unload, with every step that may pend pended in turn, the IRQL
 * of each callback, notify-close-AF, incoming close, stale and foreign
 * handles, and bad registrations.
 *
 * Every test runs between cn_test_setup(_pend) and cn_test_teardown, so it
 * also proves that condis_fini found nothing leaked or outstanding.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tdrv_test.h"

#define PASSIVE_ONLY IRQL_BIT(PASSIVE_LEVEL)
#define UP_TO_DISPATCH (IRQL_BIT(PASSIVE_LEVEL) | IRQL_BIT(DISPATCH_LEVEL))

/* ---- the whole sequence, parameterised ----------------------------------- */

struct seq_opts {
    struct tclient_config c;
    struct tmcm_config m;
    bool condis_pends;        /* cn_test_setup_pend: NdisOpen/CloseAdapterEx pend */
};

static void finish_step_by_test(unsigned step, struct tclient_vc *vc)
{
    /* With TMCM_BY_TEST the step waits for us: check that it really
     * waits, then finish it. */
    if (step == TMCM_PEND_OPEN_AF) {
        assert_status(tclient_wait_af_open(50), TDRV_TIMEOUT);
        tmcm_complete_open_af(NDIS_STATUS_SUCCESS);
    } else if (step == TMCM_PEND_MAKE_CALL) {
        assert_status(tclient_wait_make_call(vc, 50), TDRV_TIMEOUT);
        tmcm_complete_make_call(tmcm_vc_of(vc->ndis_vc), NDIS_STATUS_SUCCESS);
    } else if (step == TMCM_PEND_CLOSE_CALL) {
        assert_status(tclient_wait_close_call(vc, 50), TDRV_TIMEOUT);
        tmcm_complete_close_call(tmcm_vc_of(vc->ndis_vc), NDIS_STATUS_SUCCESS);
    } else if (step == TMCM_PEND_CLOSE_AF) {
        assert_status(tclient_wait_af_close(50), TDRV_TIMEOUT);
        tmcm_complete_close_af();
    }
}

static bool pended(const struct seq_opts *o, unsigned step)
{
    return (o->m.pend & step) != 0;
}

/* Runs the sequence and checks each step; returns with everything unloaded. */
static void run_sequence(const struct seq_opts *o)
{
    struct tdrv_env env;
    struct tclient_config c = o->c;
    c.no_open_af_on_notify = false;
    assert_int_equal(tdrv_start(&env, &c, &o->m), 0);

    /* Bind and open: at PASSIVE_LEVEL, once each. */
    assert_int_equal(atomic_load(&tc.bound), 1);
    assert_int_equal(cb_count(TC_CB_BIND), 1);
    assert_cb_irql(TC_CB_BIND, PASSIVE_ONLY);
    if (o->condis_pends) {
        assert_int_equal(cb_count(TC_CB_OPEN_COMPLETE), 1);
        assert_cb_irql(TC_CB_OPEN_COMPLETE, PASSIVE_ONLY);
    } else {
        assert_int_equal(cb_count(TC_CB_OPEN_COMPLETE), 0);
    }
    assert_int_equal(tc.medium_index, 1); /* NdisMediumCoWan in tclient's array */
    assert_int_equal(atomic_load(&tm.restarts), 1);

    /* AF notify at PASSIVE_LEVEL with the AF tmcm registered. */
    assert_int_equal(cb_count(TC_CB_AF_NOTIFY), 1);
    assert_cb_irql(TC_CB_AF_NOTIFY, PASSIVE_ONLY);
    assert_int_equal(tc.af_seen.AddressFamily, TDRV_AF);
    assert_int_equal(tc.af_seen.MajorVersion, TDRV_AF_MAJOR);
    assert_true(atomic_load(&tc.cb[TC_CB_BIND].last_seq) <
                atomic_load(&tc.cb[TC_CB_AF_NOTIFY].last_seq));

    /* AF open: the completion handler runs only when the open pended. */
    if (pended(o, TMCM_PEND_OPEN_AF) && o->m.pend_by == TMCM_BY_TEST)
        finish_step_by_test(TMCM_PEND_OPEN_AF, NULL);
    assert_status(tclient_wait_af_open(TDRV_WAIT_MS), NDIS_STATUS_SUCCESS);
    assert_non_null(tc.af);
    assert_int_equal(atomic_load(&tm.af_open), 1);
    if (pended(o, TMCM_PEND_OPEN_AF)) {
        assert_int_equal(cb_count(TC_CB_OPEN_AF_COMPLETE), 1);
        /* Documented PASSIVE_LEVEL, also when the MCM completes at DISPATCH. */
        assert_cb_irql(TC_CB_OPEN_AF_COMPLETE, PASSIVE_ONLY);
    } else {
        assert_int_equal(cb_count(TC_CB_OPEN_AF_COMPLETE), 0);
    }

    /* VC create: the MCM's CmCreateVc sees the same handle. */
    NDIS_STATUS st;
    struct tclient_vc *vc = tclient_create_vc(&st);
    assert_status(st, NDIS_STATUS_SUCCESS);
    assert_non_null(vc);
    struct tmcm_vc *mvc = tmcm_vc_of(vc->ndis_vc);
    assert_non_null(mvc);
    assert_int_equal(atomic_load(&tm.create_vcs), 1);

    /* Make call. */
    st = tclient_make_call(vc);
    if (pended(o, TMCM_PEND_MAKE_CALL)) {
        assert_status(st, NDIS_STATUS_PENDING);
        if (o->m.pend_by == TMCM_BY_TEST) {
            /* A VC with a call being made cannot be deleted. */
            assert_status(NdisCoDeleteVc(vc->ndis_vc), NDIS_STATUS_NOT_ACCEPTED);
            finish_step_by_test(TMCM_PEND_MAKE_CALL, vc);
        }
    } else {
        assert_status(st, NDIS_STATUS_SUCCESS);
    }
    assert_status(tclient_wait_make_call(vc, TDRV_WAIT_MS), NDIS_STATUS_SUCCESS);
    assert_true(atomic_load(&mvc->active));
    if (pended(o, TMCM_PEND_MAKE_CALL)) {
        assert_int_equal(cb_count(TC_CB_MAKE_CALL_COMPLETE), 1);
        assert_cb_irql(TC_CB_MAKE_CALL_COMPLETE,
                       o->m.pend_by == TMCM_BY_DPC ? IRQL_BIT(DISPATCH_LEVEL) : PASSIVE_ONLY);
    } else {
        assert_int_equal(cb_count(TC_CB_MAKE_CALL_COMPLETE), 0);
    }

    /* NdisCoDeleteVc is refused while the call is up. */
    assert_status(NdisCoDeleteVc(vc->ndis_vc), NDIS_STATUS_NOT_ACCEPTED);
    assert_int_equal(atomic_load(&tm.delete_vcs), 0);

    /* Send at PASSIVE_LEVEL, then at DISPATCH_LEVEL. */
    assert_int_equal(tclient_send(vc, 8, 1, 0, 3), 8);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_int_equal(tclient_send(vc, 4, 1, 8, 0), 4);
    KeLowerIrql(old);
    if (o->m.mode == TMCM_HOLD)
        assert_int_equal(tmcm_flush(mvc, TMCM_FIFO, TMCM_COALESCE), 12);
    assert_true(tclient_wait_sends(vc, TDRV_WAIT_MS));
    assert_int_equal(atomic_load(&vc->completed), 12);
    assert_int_equal(atomic_load(&vc->completed_ok), 12);
    assert_int_equal(atomic_load(&vc->dup_completions), 0);
    assert_int_equal(atomic_load(&vc->wrong_context), 0);
    assert_int_equal(atomic_load(&vc->flag_lies), 0);
    assert_int_equal(atomic_load(&mvc->flag_lies), 0);
    assert_int_equal(atomic_load(&mvc->flag_missing), 0);
    assert_int_equal(atomic_load(&mvc->arrived), 12);
    assert_int_equal(atomic_load(&mvc->at_dispatch), 1); /* the one chain sent at DISPATCH_LEVEL */
    for (unsigned i = 0; i < 12; i++) {
        assert_int_equal(mvc->log[i].stream, 1);
        assert_int_equal(mvc->log[i].seq, i);
    }
    if (o->m.mode == TMCM_INLINE) {
        /* Inline completion runs at the sender's IRQL: 3 calls passive, 1 dispatch. */
        assert_int_equal(atomic_load(&vc->completed_passive), 8);
        assert_int_equal(atomic_load(&vc->completed_dispatch), 4);
        assert_int_equal(atomic_load(&vc->flag_missing), 0);
    }
    assert_cb_irql(TC_CB_SEND_COMPLETE, UP_TO_DISPATCH);

    /* Receive: returned at once, held, and RESOURCES. */
    assert_int_equal(tmcm_indicate(mvc, 3, 7, 0), 3);
    assert_int_equal(atomic_load(&vc->received), 3);
    assert_int_equal(atomic_load(&tm.returned), 3);
    assert_int_equal(tmcm_indicate(mvc, 2, 7, NDIS_RECEIVE_FLAGS_RESOURCES), 2);
    assert_int_equal(atomic_load(&vc->received_resources), 2);
    assert_int_equal(atomic_load(&tm.returned), 5); /* tmcm took the 2 back itself */
    tc.cfg.hold_receives = true;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_int_equal(tmcm_indicate(mvc, 4, 8, 0), 4);
    KeLowerIrql(old);
    tc.cfg.hold_receives = false;
    assert_int_equal(atomic_load(&vc->rx_held), 4);
    struct condis_outstanding out;
    condis_outstanding(&out);
    assert_int_equal(out.rx_outstanding, 4);
    assert_int_equal(atomic_load(&tm.returned), 5);
    assert_int_equal(tclient_return_held(vc), 4); /* late return */
    assert_int_equal(atomic_load(&tm.returned), 9);
    condis_outstanding(&out);
    assert_int_equal(out.rx_outstanding, 0);
    assert_int_equal(atomic_load(&vc->rx_flag_lies), 0);
    assert_int_equal(atomic_load(&vc->rx_flag_missing), 0);
    assert_int_equal(atomic_load(&vc->rx_count_mismatch), 0);
    assert_cb_irql(TC_CB_RECEIVE, UP_TO_DISPATCH);
    assert_true(atomic_load(&tc.cb[TC_CB_RECEIVE].irql_mask) & IRQL_BIT(DISPATCH_LEVEL));

    /* Close call. */
    st = tclient_close_call(vc);
    if (pended(o, TMCM_PEND_CLOSE_CALL)) {
        assert_status(st, NDIS_STATUS_PENDING);
        if (o->m.pend_by == TMCM_BY_TEST) {
            /* Deleting during the close: NDIS_STATUS_CLOSING. */
            assert_status(NdisCoDeleteVc(vc->ndis_vc), NDIS_STATUS_CLOSING);
            finish_step_by_test(TMCM_PEND_CLOSE_CALL, vc);
        }
    } else {
        assert_status(st, NDIS_STATUS_SUCCESS);
    }
    assert_status(tclient_wait_close_call(vc, TDRV_WAIT_MS), NDIS_STATUS_SUCCESS);
    assert_false(atomic_load(&mvc->active));
    assert_int_equal(cb_count(TC_CB_CLOSE_CALL_COMPLETE), pended(o, TMCM_PEND_CLOSE_CALL) ? 1 : 0);
    if (pended(o, TMCM_PEND_CLOSE_CALL))
        assert_cb_irql(TC_CB_CLOSE_CALL_COMPLETE,
                       o->m.pend_by == TMCM_BY_DPC ? IRQL_BIT(DISPATCH_LEVEL) : PASSIVE_ONLY);

    /* Delete VC. */
    assert_status(tclient_delete_vc(vc), NDIS_STATUS_SUCCESS);
    assert_int_equal(atomic_load(&tm.delete_vcs), 1);
    assert_true(atomic_load(&mvc->deleted));
    /* A second delete of the same handle is refused. */
    assert_not_success(NdisCoDeleteVc(vc->ndis_vc));

    /* Close AF. */
    st = tclient_close_af();
    if (pended(o, TMCM_PEND_CLOSE_AF)) {
        assert_status(st, NDIS_STATUS_PENDING);
        if (o->m.pend_by == TMCM_BY_TEST)
            finish_step_by_test(TMCM_PEND_CLOSE_AF, NULL);
    } else {
        assert_status(st, NDIS_STATUS_SUCCESS);
    }
    assert_status(tclient_wait_af_close(TDRV_WAIT_MS), NDIS_STATUS_SUCCESS);
    assert_int_equal(atomic_load(&tm.af_open), 0);
    assert_int_equal(cb_count(TC_CB_CLOSE_AF_COMPLETE), pended(o, TMCM_PEND_CLOSE_AF) ? 1 : 0);
    condis_outstanding(&out);
    assert_int_equal(out.vcs, 0);
    assert_int_equal(out.afs, 0);
    assert_int_equal(out.nbls_in_flight, 0);

    /* Unbind: at PASSIVE_LEVEL, paused first. */
    unsigned long pnp_before = cb_count(TC_CB_PNP);
    assert_int_equal(condis_unbind_all(), 0);
    assert_int_equal(atomic_load(&tc.bound), 0);
    assert_int_equal(cb_count(TC_CB_UNBIND), 1);
    assert_cb_irql(TC_CB_UNBIND, PASSIVE_ONLY);
    assert_true(cb_count(TC_CB_PNP) > pnp_before);
    if (o->condis_pends) {
        assert_int_equal(cb_count(TC_CB_CLOSE_COMPLETE), 1);
        assert_cb_irql(TC_CB_CLOSE_COMPLETE, PASSIVE_ONLY);
    } else {
        assert_int_equal(cb_count(TC_CB_CLOSE_COMPLETE), 0);
    }
    condis_outstanding(&out);
    assert_int_equal(out.bindings, 0);

    /* Halt and unload. */
    assert_int_equal(condis_adapter_remove(env.adapter), 0);
    assert_int_equal(atomic_load(&tm.pauses), 1);
    assert_int_equal(atomic_load(&tm.halts), 1);
    assert_int_equal(condis_driver_unload(env.client), 0);
    assert_int_equal(condis_driver_unload(env.mcm), 0);
    cn_test_assert_clean();
    /* Nothing the client saw was inconsistent. */
    assert_int_equal(atomic_load(&tc.flag_errors), 0);
}

static void test_sequence_sync(void **state)
{
    (void)state;
    struct seq_opts o = { 0 };
    run_sequence(&o);
}

static void test_sequence_hold_mode(void **state)
{
    (void)state;
    struct seq_opts o = { 0 };
    o.m.mode = TMCM_HOLD;
    run_sequence(&o);
}

#define ALL_CM_STEPS (TMCM_PEND_OPEN_AF | TMCM_PEND_MAKE_CALL | TMCM_PEND_CLOSE_CALL | \
                      TMCM_PEND_CLOSE_AF | TMCM_PEND_PAUSE | TMCM_PEND_RESTART)

/* Every protocol and MCM step pends and condis pends its open/close; the
 * MCM steps are finished by the test. */
static void test_sequence_all_pending_by_test(void **state)
{
    (void)state;
    struct seq_opts o = { 0 };
    o.condis_pends = true;
    o.c.pend_bind = true;
    o.c.pend_unbind = true;
    o.m.pend = ALL_CM_STEPS;
    o.m.pend_by = TMCM_BY_TEST;
    run_sequence(&o);
}

static void test_sequence_all_pending_by_workitem(void **state)
{
    (void)state;
    struct seq_opts o = { 0 };
    o.condis_pends = true;
    o.c.pend_bind = true;
    o.c.pend_unbind = true;
    o.m.pend = ALL_CM_STEPS;
    o.m.pend_by = TMCM_BY_WORKITEM;
    run_sequence(&o);
}

static void test_sequence_all_pending_by_dpc(void **state)
{
    (void)state;
    struct seq_opts o = { 0 };
    o.condis_pends = true;
    o.m.pend = ALL_CM_STEPS;
    o.m.pend_by = TMCM_BY_DPC;
    run_sequence(&o);
}

/* ndisprot style: the bind handler waits for its pended open with
 * NdisWaitEvent, the unbind handler for its pended close. */
static void test_sequence_wait_in_bind_unbind(void **state)
{
    (void)state;
    struct seq_opts o = { 0 };
    o.condis_pends = true;
    o.c.wait_open_in_bind = true;
    o.c.wait_close_in_unbind = true;
    run_sequence(&o);
}

/* Pended open completes the bind from ProtocolOpenAdapterCompleteEx, pended
 * close completes the unbind from ProtocolCloseAdapterCompleteEx. */
static void test_sequence_finish_in_completion_handlers(void **state)
{
    (void)state;
    struct seq_opts o = { 0 };
    o.condis_pends = true;
    run_sequence(&o);
}

/* Each pending knob alone. */
static void test_sequence_each_step_pending(void **state)
{
    (void)state;
    static const unsigned steps[] = { TMCM_PEND_OPEN_AF, TMCM_PEND_MAKE_CALL, TMCM_PEND_CLOSE_CALL,
                                      TMCM_PEND_CLOSE_AF, TMCM_PEND_PAUSE, TMCM_PEND_RESTART };
    for (unsigned by = TMCM_BY_TEST; by <= TMCM_BY_DPC; by++)
        for (unsigned i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
            struct seq_opts o = { 0 };
            o.m.pend = steps[i];
            o.m.pend_by = by;
            run_sequence(&o);
            /* The next round starts a new runtime of its own. */
            assert_int_equal(condis_fini(), 0);
            assert_int_equal(condis_init(NULL), 0);
        }
    struct seq_opts o = { 0 };
    o.c.pend_bind = true;
    run_sequence(&o);
    assert_int_equal(condis_fini(), 0);
    assert_int_equal(condis_init(NULL), 0);
    o.c.pend_bind = false;
    o.c.pend_unbind = true;
    run_sequence(&o);
}

/* ---- condis' own teardown of what a client leaves ---------------------- */

/* The client leaves a call up, a VC and the AF open: unbinding (from
 * condis_fini in the teardown) makes it close everything in its unbind
 * handler, with the close-call step pended by a work item. */
static void test_unbind_with_call_up(void **state)
{
    (void)state;
    struct tdrv_env env;
    struct tmcm_config m = { .pend = TMCM_PEND_CLOSE_CALL | TMCM_PEND_CLOSE_AF,
                             .pend_by = TMCM_BY_WORKITEM };
    assert_int_equal(tdrv_start(&env, NULL, &m), 0);
    struct tclient_vc *vc = tdrv_vc_with_call();
    assert_non_null(vc);
    assert_int_equal(tclient_send(vc, 5, 0, 0, 0), 5);
    assert_true(tclient_wait_sends(vc, TDRV_WAIT_MS));
    assert_int_equal(condis_unbind_all(), 0);
    assert_true(vc->deleted);
    assert_int_equal(cb_count(TC_CB_CLOSE_CALL_COMPLETE), 1);
    assert_int_equal(cb_count(TC_CB_CLOSE_AF_COMPLETE), 1);
}

/* ---- delete refused while the call is up --------------------------------- */

static void test_delete_vc_refused_while_active(void **state)
{
    (void)state;
    struct tdrv_env env;
    assert_int_equal(tdrv_start(&env, NULL, NULL), 0);
    struct tclient_vc *vc = tdrv_vc_with_call();
    assert_non_null(vc);
    for (int i = 0; i < 3; i++)
        assert_status(NdisCoDeleteVc(vc->ndis_vc), NDIS_STATUS_NOT_ACCEPTED);
    /* A second call on the same VC is refused too. */
    assert_status(NdisClMakeCall(vc->ndis_vc, &vc->params, NULL, NULL), NDIS_STATUS_CALL_ACTIVE);
    /* Closing the AF with a VC on it fails. */
    assert_status(NdisClCloseAddressFamily(tc.af), NDIS_STATUS_FAILURE);
    assert_int_equal(atomic_load(&tm.delete_vcs), 0);
    assert_int_equal(atomic_load(&tm.closes), 0);
    assert_int_equal(tdrv_vc_teardown(vc), 0);
    assert_int_equal(atomic_load(&tm.delete_vcs), 1);
    /* The VC can be deleted once; a VC without a call can be deleted at once. */
    NDIS_STATUS st;
    struct tclient_vc *vc2 = tclient_create_vc(&st);
    assert_non_null(vc2);
    assert_status(tclient_delete_vc(vc2), NDIS_STATUS_SUCCESS);
    assert_int_equal(atomic_load(&tm.delete_vcs), 2);
}

/* A failed make call leaves the VC deletable. */
static void test_make_call_failure(void **state)
{
    (void)state;
    struct tdrv_env env;
    struct tmcm_config m = { .pend = TMCM_PEND_MAKE_CALL, .pend_by = TMCM_BY_TEST };
    assert_int_equal(tdrv_start(&env, NULL, &m), 0);
    NDIS_STATUS st;
    struct tclient_vc *vc = tclient_create_vc(&st);
    assert_non_null(vc);
    assert_status(tclient_make_call(vc), NDIS_STATUS_PENDING);
    tmcm_complete_make_call(tmcm_vc_of(vc->ndis_vc), NDIS_STATUS_RESOURCES);
    assert_status(tclient_wait_make_call(vc, TDRV_WAIT_MS), NDIS_STATUS_RESOURCES);
    assert_false(atomic_load(&vc->call_up));
    /* No call: sends are refused. */
    assert_int_equal(tclient_send(vc, 2, 0, 0, 0), 2);
    assert_int_equal(tclient_status_count(vc, NDIS_STATUS_VC_NOT_ACTIVATED), 2);
    assert_status(tclient_delete_vc(vc), NDIS_STATUS_SUCCESS);
}

/* ---- notify-close-AF ---------------------------------------------------- */

/* The MCM asks the client to close the AF while a call is up; the client
 * pends and finishes from a work item. */
static void test_notify_close_af_pended(void **state)
{
    (void)state;
    struct tdrv_env env;
    struct tclient_config c = { .pend_notify_close_af = true };
    assert_int_equal(tdrv_start(&env, &c, NULL), 0);
    struct tclient_vc *vc = tdrv_vc_with_call();
    assert_non_null(vc);
    assert_int_equal(tclient_send(vc, 4, 0, 0, 0), 4);
    assert_true(tclient_wait_sends(vc, TDRV_WAIT_MS));
    assert_status(tmcm_notify_close_af(), NDIS_STATUS_PENDING);
    assert_status(tclient_wait_notify_close(TDRV_WAIT_MS), NDIS_STATUS_SUCCESS);
    condis_flush();
    assert_int_equal(cb_count(TC_CB_NOTIFY_CLOSE_AF), 1);
    assert_cb_irql(TC_CB_NOTIFY_CLOSE_AF, UP_TO_DISPATCH);
    assert_int_equal(atomic_load(&tm.notify_close_complete), 1);
    assert_status(atomic_load(&tm.notify_close_status), NDIS_STATUS_SUCCESS);
    assert_true(vc->deleted);
    assert_int_equal(atomic_load(&tc.af_open), 0);
    assert_int_equal(atomic_load(&tm.af_open), 0);
    struct condis_outstanding out;
    condis_outstanding(&out);
    assert_int_equal(out.afs, 0);
    assert_int_equal(out.vcs, 0);
    /* The AF handle is dead now. */
    assert_not_success(NdisCmNotifyCloseAddressFamily(tm.af));
}

/* Same, with the client's close-AF pended at the MCM: the client returns
 * PENDING from its notify handler and completes the notify when its
 * close-AF completes. */
static void test_notify_close_af_close_af_pended(void **state)
{
    (void)state;
    struct tdrv_env env;
    struct tmcm_config m = { .pend = TMCM_PEND_CLOSE_AF, .pend_by = TMCM_BY_TEST };
    assert_int_equal(tdrv_start(&env, NULL, &m), 0);
    assert_status(tmcm_notify_close_af(), NDIS_STATUS_PENDING);
    assert_int_equal(atomic_load(&tm.notify_close_complete), 0);
    assert_status(tclient_wait_notify_close(50), TDRV_TIMEOUT);
    tmcm_complete_close_af();
    assert_status(tclient_wait_notify_close(TDRV_WAIT_MS), NDIS_STATUS_SUCCESS);
    assert_int_equal(cb_count(TC_CB_CLOSE_AF_COMPLETE), 1);
    assert_int_equal(atomic_load(&tm.notify_close_complete), 1);
    struct condis_outstanding out;
    condis_outstanding(&out);
    assert_int_equal(out.afs, 0);
}

/* No VCs, nothing pends: the client closes the AF inside its handler and
 * answers SUCCESS; NDIS does not call CmNotifyCloseAfComplete. */
static void test_notify_close_af_sync(void **state)
{
    (void)state;
    struct tdrv_env env;
    assert_int_equal(tdrv_start(&env, NULL, NULL), 0);
    assert_status(tmcm_notify_close_af(), NDIS_STATUS_SUCCESS);
    assert_int_equal(cb_count(TC_CB_NOTIFY_CLOSE_AF), 1);
    assert_int_equal(atomic_load(&tm.notify_close_complete), 0);
    assert_int_equal(atomic_load(&tc.af_open), 0);
    struct condis_outstanding out;
    condis_outstanding(&out);
    assert_int_equal(out.afs, 0);
    /* Twice is refused: the AF is gone. */
    assert_not_success(tmcm_notify_close_af());
}

/* ---- incoming close call -------------------------------------------------- */

static void test_incoming_close_call(void **state)
{
    (void)state;
    struct tdrv_env env;
    assert_int_equal(tdrv_start(&env, NULL, NULL), 0);
    struct tclient_vc *vc = tdrv_vc_with_call();
    assert_non_null(vc);
    struct tmcm_vc *mvc = tmcm_vc_of(vc->ndis_vc);
    tmcm_incoming_close(mvc, NDIS_STATUS_SUCCESS);
    assert_int_equal(cb_count(TC_CB_INCOMING_CLOSE), 1);
    /* The client closed the call from its handler; it completed at once. */
    assert_status(tclient_wait_close_call(vc, TDRV_WAIT_MS), NDIS_STATUS_SUCCESS);
    assert_false(atomic_load(&vc->call_up));
    assert_false(atomic_load(&mvc->active));
    assert_int_equal(atomic_load(&tm.close_calls), 1);
    /* Sends after the close are refused with a status. */
    assert_int_equal(tclient_send(vc, 3, 0, 0, 0), 3);
    assert_int_equal(tclient_status_count(vc, NDIS_STATUS_VC_NOT_ACTIVATED), 3);
    /* An incoming close on a VC with no call does not reach the client. */
    tmcm_incoming_close(mvc, NDIS_STATUS_SUCCESS);
    assert_int_equal(cb_count(TC_CB_INCOMING_CLOSE), 1);
    assert_status(tclient_delete_vc(vc), NDIS_STATUS_SUCCESS);
}

/* The remote side closes with a failure status, at DISPATCH_LEVEL, and the
 * client closes the call later, from the test thread; the close pends at
 * the MCM and is finished by a DPC. */
static void test_incoming_close_call_deferred(void **state)
{
    (void)state;
    struct tdrv_env env;
    struct tclient_config c = { .no_close_on_incoming_close = true };
    struct tmcm_config m = { .pend = TMCM_PEND_CLOSE_CALL, .pend_by = TMCM_BY_DPC };
    assert_int_equal(tdrv_start(&env, &c, &m), 0);
    struct tclient_vc *vc = tdrv_vc_with_call();
    assert_non_null(vc);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    tmcm_incoming_close(tmcm_vc_of(vc->ndis_vc), NDIS_STATUS_FAILURE);
    KeLowerIrql(old);
    assert_int_equal(cb_count(TC_CB_INCOMING_CLOSE), 1);
    assert_cb_irql(TC_CB_INCOMING_CLOSE, IRQL_BIT(DISPATCH_LEVEL));
    assert_int_equal((NDIS_STATUS)atomic_load(&tc.incoming_close_status), NDIS_STATUS_FAILURE);
    assert_true(atomic_load(&vc->call_up));
    assert_status(tclient_close_call(vc), NDIS_STATUS_PENDING);
    assert_status(tclient_wait_close_call(vc, TDRV_WAIT_MS), NDIS_STATUS_SUCCESS);
    assert_int_equal(cb_count(TC_CB_CLOSE_CALL_COMPLETE), 1);
    assert_status(tclient_delete_vc(vc), NDIS_STATUS_SUCCESS);
}

/* ---- stale and foreign handles ------------------------------------------- */

static NDIS_HANDLE garbage[6];

static void fill_garbage(NDIS_HANDLE stale_vc, NDIS_HANDLE af_as_vc)
{
    static int local;
    garbage[0] = NULL;
    garbage[1] = (NDIS_HANDLE)(ULONG_PTR)0xdeadbeef;
    garbage[2] = (NDIS_HANDLE)&local;
    garbage[3] = (NDIS_HANDLE)~(ULONG_PTR)0;
    garbage[4] = stale_vc;
    garbage[5] = af_as_vc;
}

static void test_stale_and_foreign_handles(void **state)
{
    (void)state;
    struct tdrv_env env;
    assert_int_equal(tdrv_start(&env, NULL, NULL), 0);
    struct tclient_vc *dead = tdrv_vc_with_call();
    assert_non_null(dead);
    assert_int_equal(tdrv_vc_teardown(dead), 0);
    /* A live VC, created after the dead one (it may reuse its slot). */
    struct tclient_vc *live = tdrv_vc_with_call();
    assert_non_null(live);
    assert_ptr_not_equal(live->ndis_vc, dead->ndis_vc);
    struct tmcm_vc *mlive = tmcm_vc_of(live->ndis_vc);
    fill_garbage(dead->ndis_vc, tc.af);

    unsigned long cb_before[TC_CB_COUNT];
    for (int i = 0; i < TC_CB_COUNT; i++)
        cb_before[i] = cb_count(i);
    unsigned long warn_before = condis_warnings();
    CO_CALL_PARAMETERS params = live->params;

    for (unsigned g = 0; g < sizeof(garbage) / sizeof(garbage[0]); g++) {
        NDIS_HANDLE h = garbage[g];
        /* Functions that take a VC handle. */
        assert_not_success(NdisCoDeleteVc(h));
        assert_not_success(NdisClMakeCall(h, &params, NULL, NULL));
        assert_not_success(NdisClCloseCall(h, NULL, NULL, 0));
        assert_not_success(NdisMCmActivateVc(h, &params));
        assert_not_success(NdisMCmDeactivateVc(h));
        assert_not_success(NdisMCmDeleteVc(h));
        NdisCmMakeCallComplete(NDIS_STATUS_SUCCESS, h, NULL, NULL, &params);
        NdisCmCloseCallComplete(NDIS_STATUS_SUCCESS, h, NULL);
        NdisCmDispatchIncomingCloseCall(NDIS_STATUS_SUCCESS, h, NULL, 0);

        /* Send on it: the NBLs stay with the caller, marked. */
        PNET_BUFFER_LIST nbl = tclient_alloc_nbl(live, 9, g);
        assert_non_null(nbl);
        NET_BUFFER_LIST_STATUS(nbl) = NDIS_STATUS_SUCCESS;
        NdisCoSendNetBufferLists(h, nbl, 0);
        assert_not_success(NET_BUFFER_LIST_STATUS(nbl));
        /* Completing it there, or indicating on it, reaches nobody. */
        NdisMCoSendNetBufferListsComplete(h, nbl, 0);
        tclient_free_nbl(nbl);
        NdisMCoSendNetBufferListsComplete(h, NULL, 0);
        NdisMCoIndicateReceiveNetBufferLists(h, NULL, 0, 0);
        /* Indicating a real NBL on it: it stays with the miniport, which
         * can free it at once; returning it there reaches nobody. */
        PNET_BUFFER_LIST rx = NdisAllocateNetBufferList(tm.rx_pool, 0, 0);
        assert_non_null(rx);
        rx->SourceHandle = h;
        NdisMCoIndicateReceiveNetBufferLists(h, rx, 1, 0);
        NdisReturnNetBufferLists(h, rx, 0);
        NdisReturnNetBufferLists(tc.binding, rx, 0);
        NdisFreeNetBufferList(rx);
        NDIS_OBJECT_HEADER hdr = { NDIS_OBJECT_TYPE_CO_CLIENT_OPTIONAL_HANDLERS, 1, 8 };
        assert_not_success(NdisSetOptionalHandlers(h, (PNDIS_DRIVER_OPTIONAL_HANDLERS)&hdr));

        /* Functions that take an AF handle (the dead VC's handle, garbage). */
        if (h != tc.af) {
            assert_not_success(NdisClCloseAddressFamily(h));
            assert_not_success(NdisCmNotifyCloseAddressFamily(h));
            NdisCmOpenAddressFamilyComplete(NDIS_STATUS_SUCCESS, h, NULL);
            NdisCmCloseAddressFamilyComplete(NDIS_STATUS_SUCCESS, h);
            NdisClNotifyCloseAddressFamilyComplete(h, NDIS_STATUS_SUCCESS);
            NDIS_HANDLE vch = NULL;
            assert_not_success(NdisCoCreateVc(tc.binding, h, live, &vch));
            assert_null(vch);
            assert_not_success(NdisMCmCreateVc(tm.adapter, h, NULL, &vch));
        }
        /* Functions that take a binding or adapter handle. */
        NDIS_HANDLE vch = NULL;
        assert_not_success(NdisCoCreateVc(h, tc.af, live, &vch));
        assert_null(vch);
        CO_ADDRESS_FAMILY af = { TDRV_AF, TDRV_AF_MAJOR, 0 };
        NDIS_HANDLE afh = NULL;
        assert_not_success(NdisClOpenAddressFamilyEx(h, &af, &tc, &afh));
        assert_not_success(NdisCloseAdapterEx(h));
        NdisReturnNetBufferLists(h, NULL, 0);
        NdisCompleteBindAdapterEx(h, NDIS_STATUS_SUCCESS);
        NdisCompleteUnbindAdapterEx(h);
        NdisMPauseComplete(h);
        NdisMRestartComplete(h, NDIS_STATUS_SUCCESS);
        assert_not_success(NdisMCmRegisterAddressFamilyEx(h, &af));
    }
    /* Handles of the wrong kind where a VC handle belongs. */
    assert_not_success(NdisCoDeleteVc(tc.binding));
    assert_not_success(NdisClMakeCall(tm.adapter, &params, NULL, NULL));
    assert_not_success(NdisClCloseAddressFamily(live->ndis_vc));
    assert_not_success(NdisClCloseAddressFamily(tc.binding));

    /* Nothing reached the client, and everything was noticed. */
    for (int i = 0; i < TC_CB_COUNT; i++)
        if (cb_count(i) != cb_before[i])
            fail_msg("callback %d ran %lu time(s) because of a bad handle", i,
                     cb_count(i) - cb_before[i]);
    assert_true(condis_warnings() > warn_before);
    assert_int_equal(atomic_load(&mlive->arrived), 0);
    assert_int_equal(atomic_load(&tm.returned), 0);
    struct condis_outstanding out;
    condis_outstanding(&out);
    assert_int_equal(out.rx_outstanding, 0);
    assert_int_equal(out.nbls_in_flight, 0);

    /* The live VC still works. */
    assert_true(atomic_load(&live->call_up));
    assert_int_equal(tclient_send(live, 3, 0, 0, 0), 3);
    assert_true(tclient_wait_sends(live, TDRV_WAIT_MS));
    assert_int_equal(atomic_load(&live->completed_ok), 3);
    assert_int_equal(atomic_load(&mlive->arrived), 3);
    assert_int_equal(tdrv_vc_teardown(live), 0);
}

/* ---- bad registrations ------------------------------------------------------ */

static PROTOCOL_BIND_ADAPTER_EX BadBind;
static NDIS_STATUS BadBind(NDIS_HANDLE a, NDIS_HANDLE b, PNDIS_BIND_PARAMETERS p)
{
    (void)a; (void)b; (void)p;
    return NDIS_STATUS_FAILURE;
}
static PROTOCOL_UNBIND_ADAPTER_EX BadUnbind;
static NDIS_STATUS BadUnbind(NDIS_HANDLE a, NDIS_HANDLE b)
{
    (void)a; (void)b;
    return NDIS_STATUS_SUCCESS;
}
static PROTOCOL_OPEN_ADAPTER_COMPLETE_EX BadOpenComplete;
static VOID BadOpenComplete(NDIS_HANDLE a, NDIS_STATUS s)
{
    (void)a; (void)s;
}
static PROTOCOL_CLOSE_ADAPTER_COMPLETE_EX BadCloseComplete;
static VOID BadCloseComplete(NDIS_HANDLE a)
{
    (void)a;
}

static void good_protocol_chars(NDIS_PROTOCOL_DRIVER_CHARACTERISTICS *pc)
{
    memset(pc, 0, sizeof(*pc));
    pc->Header.Type = NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS;
    pc->Header.Revision = NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1;
    pc->Header.Size = NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1;
    pc->MajorNdisVersion = 6;
    RtlInitUnicodeString(&pc->Name, L"bad");
    pc->BindAdapterHandlerEx = BadBind;
    pc->UnbindAdapterHandlerEx = BadUnbind;
    pc->OpenAdapterCompleteHandlerEx = BadOpenComplete;
    pc->CloseAdapterCompleteHandlerEx = BadCloseComplete;
}

/* What the bad drivers' DriverEntry saw, for the test to check. */
static NDIS_STATUS bad_results[16];
static unsigned bad_n;
static int bad_which;

static MINIPORT_INITIALIZE BadInit;
static NDIS_STATUS BadInit(NDIS_HANDLE a, NDIS_HANDLE b, PNDIS_MINIPORT_INIT_PARAMETERS p)
{
    (void)a; (void)b; (void)p;
    return NDIS_STATUS_FAILURE;
}
static MINIPORT_HALT BadHalt;
static VOID BadHalt(NDIS_HANDLE a, NDIS_HALT_ACTION h)
{
    (void)a; (void)h;
}
static MINIPORT_UNLOAD BadUnload;
static VOID BadUnload(PDRIVER_OBJECT d)
{
    (void)d;
}
static MINIPORT_PAUSE BadPause;
static NDIS_STATUS BadPause(NDIS_HANDLE a, PNDIS_MINIPORT_PAUSE_PARAMETERS p)
{
    (void)a; (void)p;
    return NDIS_STATUS_SUCCESS;
}
static MINIPORT_RESTART BadRestart;
static NDIS_STATUS BadRestart(NDIS_HANDLE a, PNDIS_MINIPORT_RESTART_PARAMETERS p)
{
    (void)a; (void)p;
    return NDIS_STATUS_SUCCESS;
}

/* A CoNDIS table with a wrong header, given from SetOptions. */
static PROTOCOL_SET_OPTIONS BadSetOptions;
static NDIS_STATUS BadSetOptions(NDIS_HANDLE h, NDIS_HANDLE ctx)
{
    (void)ctx;
    NDIS_PROTOCOL_CO_CHARACTERISTICS co;
    memset(&co, 0, sizeof(co));
    co.Header.Type = NDIS_OBJECT_TYPE_CO_PROTOCOL_CHARACTERISTICS;
    co.Header.Revision = NDIS_PROTOCOL_CO_CHARACTERISTICS_REVISION_1;
    co.Header.Size = 8; /* too small */
    NDIS_STATUS st = NdisSetOptionalHandlers(h, (PNDIS_DRIVER_OPTIONAL_HANDLERS)&co);
    bad_results[bad_n++] = st;
    /* A client table announced as a call manager's, from a protocol. */
    NDIS_CO_CLIENT_OPTIONAL_HANDLERS cl;
    memset(&cl, 0, sizeof(cl));
    cl.Header.Type = NDIS_OBJECT_TYPE_CO_MINIPORT_CHARACTERISTICS;
    cl.Header.Revision = 1;
    cl.Header.Size = sizeof(cl);
    bad_results[bad_n++] = NdisSetOptionalHandlers(h, (PNDIS_DRIVER_OPTIONAL_HANDLERS)&cl);
    /* A client table with its required handlers missing. */
    cl.Header.Type = NDIS_OBJECT_TYPE_CO_CLIENT_OPTIONAL_HANDLERS;
    cl.Header.Revision = NDIS_CO_CLIENT_OPTIONAL_HANDLERS_REVISION_1;
    cl.Header.Size = NDIS_SIZEOF_CO_CLIENT_OPTIONAL_HANDLERS_REVISION_1;
    bad_results[bad_n++] = NdisSetOptionalHandlers(h, (PNDIS_DRIVER_OPTIONAL_HANDLERS)&cl);
    /* An unknown object type. */
    NDIS_OBJECT_HEADER junk = { 0x7f, 1, sizeof(junk) };
    bad_results[bad_n++] = NdisSetOptionalHandlers(h, (PNDIS_DRIVER_OPTIONAL_HANDLERS)&junk);
    return NDIS_STATUS_FAILURE; /* so the registration fails */
}

static DRIVER_INITIALIZE BadEntry;
static NTSTATUS BadEntry(PDRIVER_OBJECT d, PUNICODE_STRING rp)
{
    NDIS_HANDLE h = (NDIS_HANDLE)(ULONG_PTR)0x1234;
    if (bad_which == 0) {
        NDIS_MINIPORT_DRIVER_CHARACTERISTICS mc;
        memset(&mc, 0, sizeof(mc));
        mc.Header.Type = NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS;
        mc.Header.Revision = NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1;
        mc.Header.Size = NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1;
        mc.MajorNdisVersion = 6;
        mc.InitializeHandlerEx = BadInit;
        mc.HaltHandlerEx = BadHalt;
        mc.UnloadHandler = BadUnload;
        mc.PauseHandler = BadPause;
        mc.RestartHandler = BadRestart;
        NDIS_MINIPORT_DRIVER_CHARACTERISTICS x = mc;
        x.Header.Type = NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS;
        bad_results[bad_n++] = NdisMRegisterMiniportDriver(d, rp, NULL, &x, &h);
        bad_results[bad_n++] = h == NULL ? NDIS_STATUS_SUCCESS : NDIS_STATUS_FAILURE;
        x = mc;
        x.Header.Size = 4;
        bad_results[bad_n++] = NdisMRegisterMiniportDriver(d, rp, NULL, &x, &h);
        x = mc;
        x.Header.Revision = 0;
        bad_results[bad_n++] = NdisMRegisterMiniportDriver(d, rp, NULL, &x, &h);
        x = mc;
        x.MajorNdisVersion = 5;
        bad_results[bad_n++] = NdisMRegisterMiniportDriver(d, rp, NULL, &x, &h);
        x = mc;
        x.HaltHandlerEx = NULL;
        bad_results[bad_n++] = NdisMRegisterMiniportDriver(d, rp, NULL, &x, &h);
        bad_results[bad_n++] = NdisMRegisterMiniportDriver(d, rp, NULL, NULL, &h);
        return STATUS_UNSUCCESSFUL;
    }
    /* A protocol whose SetOptions fails on its bad tables. */
    NDIS_PROTOCOL_DRIVER_CHARACTERISTICS pc;
    good_protocol_chars(&pc);
    pc.SetOptionsHandler = BadSetOptions;
    NDIS_STATUS st = NdisRegisterProtocolDriver(NULL, &pc, &h);
    bad_results[bad_n++] = st;
    bad_results[bad_n++] = h == NULL ? NDIS_STATUS_SUCCESS : NDIS_STATUS_FAILURE;
    return st == NDIS_STATUS_SUCCESS ? STATUS_UNSUCCESSFUL : st;
}

static void test_bad_registration(void **state)
{
    (void)state;
    NDIS_PROTOCOL_DRIVER_CHARACTERISTICS pc, x;
    NDIS_HANDLE h;
    good_protocol_chars(&pc);

    x = pc;
    x.Header.Type = NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS;
    h = (NDIS_HANDLE)1;
    assert_status(NdisRegisterProtocolDriver(NULL, &x, &h), NDIS_STATUS_BAD_CHARACTERISTICS);
    assert_null(h);
    x = pc;
    x.Header.Revision = 0;
    assert_status(NdisRegisterProtocolDriver(NULL, &x, &h), NDIS_STATUS_BAD_CHARACTERISTICS);
    x = pc;
    x.Header.Size = 8;
    assert_status(NdisRegisterProtocolDriver(NULL, &x, &h), NDIS_STATUS_BAD_CHARACTERISTICS);
    x = pc;
    x.MajorNdisVersion = 5;
    assert_status(NdisRegisterProtocolDriver(NULL, &x, &h), NDIS_STATUS_BAD_VERSION);
    x = pc;
    x.MajorNdisVersion = 7;
    assert_status(NdisRegisterProtocolDriver(NULL, &x, &h), NDIS_STATUS_BAD_VERSION);
    x = pc;
    x.BindAdapterHandlerEx = NULL;
    assert_status(NdisRegisterProtocolDriver(NULL, &x, &h), NDIS_STATUS_BAD_CHARACTERISTICS);
    assert_null(h);
    assert_not_success(NdisRegisterProtocolDriver(NULL, NULL, &h));
    assert_not_success(NdisRegisterProtocolDriver(NULL, &pc, NULL));

    /* Miniport registrations, from a DriverEntry (they need its object). */
    struct condis_driver *drv = NULL;
    NTSTATUS nst;
    bad_n = 0;
    bad_which = 0;
    assert_int_not_equal(condis_driver_load("badmp", BadEntry, &drv, &nst), 0);
    assert_null(drv);
    assert_int_equal(bad_n, 7);
    assert_status(bad_results[0], NDIS_STATUS_BAD_CHARACTERISTICS);
    assert_status(bad_results[1], NDIS_STATUS_SUCCESS); /* handle left NULL */
    assert_status(bad_results[2], NDIS_STATUS_BAD_CHARACTERISTICS);
    assert_status(bad_results[3], NDIS_STATUS_BAD_CHARACTERISTICS);
    assert_status(bad_results[4], NDIS_STATUS_BAD_VERSION);
    assert_status(bad_results[5], NDIS_STATUS_BAD_CHARACTERISTICS);
    assert_not_success(bad_results[6]);
    /* A miniport registration outside any DriverEntry is refused. */
    DRIVER_OBJECT fake;
    memset(&fake, 0, sizeof(fake));
    NDIS_MINIPORT_DRIVER_CHARACTERISTICS mc;
    memset(&mc, 0, sizeof(mc));
    assert_not_success(NdisMRegisterMiniportDriver(&fake, NULL, NULL, &mc, &h));

    /* A protocol whose optional tables are bad. */
    bad_n = 0;
    bad_which = 1;
    assert_int_not_equal(condis_driver_load("badproto", BadEntry, &drv, &nst), 0);
    assert_int_equal(bad_n, 6);
    assert_not_success(bad_results[0]); /* CO characteristics too small */
    assert_not_success(bad_results[1]); /* miniport table from a protocol */
    assert_not_success(bad_results[2]); /* client table without handlers */
    assert_not_success(bad_results[3]); /* unknown type */
    assert_status(bad_results[4], NDIS_STATUS_FAILURE); /* what SetOptions returned */
    assert_status(bad_results[5], NDIS_STATUS_SUCCESS); /* handle left NULL */
    struct condis_outstanding out;
    condis_outstanding(&out);
    assert_int_equal(out.drivers, 0);
    /* The good drivers still load and run after all that. */
    struct tdrv_env env;
    assert_int_equal(tdrv_start(&env, NULL, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sequence_sync, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_sequence_hold_mode, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_sequence_all_pending_by_test, cn_test_setup_pend,
                                        cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_sequence_all_pending_by_workitem, cn_test_setup_pend,
                                        cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_sequence_all_pending_by_dpc, cn_test_setup_pend,
                                        cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_sequence_wait_in_bind_unbind, cn_test_setup_pend,
                                        cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_sequence_finish_in_completion_handlers,
                                        cn_test_setup_pend, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_sequence_each_step_pending, cn_test_setup,
                                        cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_unbind_with_call_up, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_delete_vc_refused_while_active, cn_test_setup,
                                        cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_make_call_failure, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_notify_close_af_pended, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_notify_close_af_close_af_pended, cn_test_setup,
                                        cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_notify_close_af_sync, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_incoming_close_call, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_incoming_close_call_deferred, cn_test_setup,
                                        cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_stale_and_foreign_handles, cn_test_setup,
                                        cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_bad_registration, cn_test_setup, cn_test_teardown),
    };
    if (getenv("CN_TEST_FILTER"))
        cmocka_set_test_filter(getenv("CN_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
