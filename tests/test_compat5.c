/*
 * test_compat5.c - NDIS 5.x CoNDIS clients over NDIS 6 miniport call
 * managers (compat5): "client5" (tests/drivers/client5.c, an NDIS 5.1
 * client) registers with NdisRegisterProtocol, binds with NdisOpenAdapter,
 * opens the AF with NdisClOpenAddressFamily, sends with NdisCoSendPackets
 * and receives through CoReceivePacketHandler, over loop and tmcm.
 *
 * Every test ends with the orderly end (close calls, delete VCs, close the
 * AF, unbind, remove the adapter, unload both drivers) and the teardown
 * proves that nothing is left allocated or outstanding.
 */
#include <stdio.h>
#include <string.h>

#include "cn_test.h"
#include <condis/builtin.h>

#include "drivers/client5.h"
#include "drivers/tdrivers.h"
#include "compat5/cn_compat5.h" /* cn_send5_before_send_hook */

#define WAIT_MS 10000

struct env {
    struct condis_driver *mcm, *client;
    struct condis_adapter *adapter;
    unsigned long warnings;
};

static void env_start_loop(struct env *e, const char *inline_mode)
{
    memset(e, 0, sizeof(*e));
    if (inline_mode)
        assert_int_equal(condis_param_set("loop", "LoopInline", inline_mode), 0);
    e->warnings = condis_warnings();
    const struct condis_builtin *b = condis_builtin_find("loop");
    assert_non_null(b);
    NTSTATUS st;
    assert_int_equal(condis_driver_load("loop", b->entry, &e->mcm, &st), 0);
    assert_int_equal(client5_load(&e->client), 0);
    assert_int_equal(condis_adapter_add(e->mcm, "loop0", &e->adapter), 0);
    assert_int_equal(condis_bind_all(), 0);
    assert_int_equal(atomic_load(&c5.bound), 1);
    assert_int_equal(client5_wait_af(WAIT_MS), NDIS_STATUS_SUCCESS);
    assert_non_null(c5.af);
}

static void env_start_tmcm(struct env *e, const struct tmcm_config *cfg)
{
    memset(e, 0, sizeof(*e));
    e->warnings = condis_warnings();
    assert_int_equal(tmcm_load(cfg, &e->mcm), 0);
    assert_int_equal(client5_load(&e->client), 0);
    assert_int_equal(condis_adapter_add(e->mcm, "tmcm0", &e->adapter), 0);
    assert_int_equal(condis_bind_all(), 0);
    assert_int_equal(atomic_load(&c5.bound), 1);
    assert_int_equal(client5_wait_af(WAIT_MS), NDIS_STATUS_SUCCESS);
}

static void vc_end(struct c5_vc *v)
{
    assert_int_equal(client5_close_call(v), NDIS_STATUS_SUCCESS);
    assert_int_equal(client5_delete_vc(v), NDIS_STATUS_SUCCESS);
}

static void env_end(struct env *e)
{
    struct condis_outstanding o;
    condis_outstanding(&o);
    assert_int_equal(o.vcs, 0);
    assert_int_equal(o.nbls_in_flight, 0);
    assert_int_equal(o.rx_outstanding, 0);
    assert_int_equal(client5_packets_out(), 0);
    assert_int_equal(client5_close_af(), NDIS_STATUS_SUCCESS);
    assert_int_equal(condis_unbind_all(), 0);
    assert_int_equal(atomic_load(&c5.bound), 0);
    assert_int_equal(condis_adapter_remove(e->adapter), 0);
    assert_int_equal(condis_driver_unload(e->client), 0);
    assert_int_equal(condis_driver_unload(e->mcm), 0);
    cn_test_assert_clean();
}

static struct c5_vc *vc_with_call(void)
{
    NDIS_STATUS st;
    struct c5_vc *v = client5_create_vc(&st);
    assert_non_null(v);
    assert_int_equal(client5_make_call(v), NDIS_STATUS_SUCCESS);
    return v;
}

/* Every packet back exactly once, with SUCCESS, and received in order. */
static void assert_loop_ok(struct c5_vc *v, unsigned long n)
{
    assert_true(client5_wait_sends(v, WAIT_MS));
    assert_int_equal(atomic_load(&v->sent), n);
    assert_int_equal(atomic_load(&v->completed), n);
    assert_int_equal(atomic_load(&v->completed_ok), n);
    assert_int_equal(atomic_load(&v->dup_completions), 0);
    assert_int_equal(atomic_load(&v->wrong_context), 0);
    assert_int_equal(atomic_load(&v->rx_bad), 0);
    for (unsigned ms = 0; ms < WAIT_MS && atomic_load(&v->rx) < n; ms++)
        NdisMSleep(1000);
    assert_int_equal(atomic_load(&v->rx), n);
    NdisAcquireSpinLock(&v->lock);
    unsigned long got = v->rx_n;
    NdisReleaseSpinLock(&v->lock);
    assert_int_equal(got, n);
    for (unsigned long i = 0; i < n; i++)
        if (v->rx_log[i] != i)
            fail_msg("receive %lu carries seq %u (not in send order)", i, v->rx_log[i]);
}

static void loop_fifo(const char *inline_mode)
{
    struct env e;
    env_start_loop(&e, inline_mode);
    struct c5_vc *v = vc_with_call();
    assert_int_equal(client5_send(v, 200, 8), 200);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    assert_int_equal(client5_send(v, 40, 5), 40);
    KeLowerIrql(old);
    assert_loop_ok(v, 240);
    vc_end(v);
    env_end(&e);
    assert_int_equal(condis_warnings(), e.warnings);
}

static void test_c5_loop_fifo_dpc(void **state)
{
    (void)state;
    loop_fifo("0");
}

/* NdisOpenAdapter and NdisCloseAdapter pend (cn_test_setup_pend): the
 * client waits for OpenAdapterComplete / CloseAdapterComplete in its bind
 * and unbind handlers. */
static void test_c5_loop_pended_open_close(void **state)
{
    (void)state;
    loop_fifo("1");
}

static void test_c5_loop_fifo_inline(void **state)
{
    (void)state;
    loop_fifo("1");
}

/* The documented reuse sequence in the completion handler, resending the
 * packets from there (ten in flight at a time): every resend arrives
 * intact and in send order. */
static void loop_reuse_resend(const char *inline_mode)
{
    struct env e;
    env_start_loop(&e, inline_mode);
    struct c5_vc *v = vc_with_call();
    atomic_store(&v->resend_left, 300);
    assert_int_equal(client5_send(v, 10, 10), 10);
    assert_true(client5_wait_sends(v, WAIT_MS));
    assert_int_equal(atomic_load(&v->resent), 300);
    assert_loop_ok(v, 310);
    vc_end(v);
    env_end(&e);
    assert_int_equal(condis_warnings(), e.warnings);
}

static void test_c5_loop_reuse_resend_dpc(void **state)
{
    (void)state;
    loop_reuse_resend("0");
}

static void test_c5_loop_reuse_resend_inline(void **state)
{
    (void)state;
    loop_reuse_resend("1");
}

/* Receives kept by the protocol (CoReceivePacketHandler returns 1) and
 * given back late with NdisReturnPackets: loop completes the sends only
 * then. */
static void test_c5_loop_kept_receives(void **state)
{
    (void)state;
    struct env e;
    env_start_loop(&e, "1");
    struct c5_vc *v = vc_with_call();
    atomic_store(&c5.hold, true);
    assert_int_equal(client5_send(v, 12, 4), 12);
    assert_int_equal(atomic_load(&v->rx), 12);
    assert_int_equal(atomic_load(&v->rx_held), 12);
    assert_int_equal(atomic_load(&v->completed), 0);
    struct condis_outstanding o;
    condis_outstanding(&o);
    assert_true(o.rx_outstanding > 0);
    atomic_store(&c5.hold, false);
    assert_int_equal(client5_return_held(v), 12);
    assert_loop_ok(v, 12);
    vc_end(v);
    env_end(&e);
    assert_int_equal(condis_warnings(), e.warnings);
}

/* A VC without a call: each packet comes back through CoSendComplete with
 * NDIS_STATUS_VC_NOT_ACTIVATED. A dead handle: the packets stay with the
 * caller marked STATUS_INVALID_HANDLE. */
static void test_c5_inactive_and_dead_vc(void **state)
{
    (void)state;
    struct env e;
    env_start_tmcm(&e, NULL);
    NDIS_STATUS st;
    struct c5_vc *v = client5_create_vc(&st);
    assert_non_null(v);
    assert_int_equal(client5_send(v, 7, 3), 7);
    assert_true(client5_wait_sends(v, WAIT_MS));
    assert_int_equal(client5_status_count(v, NDIS_STATUS_VC_NOT_ACTIVATED), 7);
    assert_int_equal(atomic_load(&v->dup_completions), 0);
    NDIS_HANDLE dead = v->ndis_vc;
    assert_int_equal(client5_delete_vc(v), NDIS_STATUS_SUCCESS);
    unsigned long w = condis_warnings();
    assert_int_equal(client5_send_on_handle(dead, 4), 4);
    assert_true(condis_warnings() > w);
    e.warnings = condis_warnings();
    env_end(&e);
}

/* The VC is deleted after NdisCoSendPackets looked it up but before the
 * packets reach its queue (cn_send5_before_send_hook stands for the other
 * thread): every packet stays with the caller, marked STATUS_INVALID_HANDLE,
 * none is left in flight. With the verifier off the wrappers go straight to
 * the VC's queue; with it on they take NdisCoSendNetBufferLists' whole path:
 * the test runs both ways. */
static struct c5_vc *deleted_in_send;
static NDIS_STATUS deleted_in_send_status;

static void delete_vc_in_send(NDIS_HANDLE NdisVcHandle)
{
    (void)NdisVcHandle;
    cn_send5_before_send_hook = NULL;
    deleted_in_send_status = client5_delete_vc(deleted_in_send);
}

static void test_c5_vc_deleted_during_send(void **state)
{
    (void)state;
    struct env e;
    env_start_tmcm(&e, NULL);
    NDIS_STATUS st;
    struct c5_vc *v = client5_create_vc(&st);
    assert_non_null(v);
    NDIS_HANDLE h = v->ndis_vc;
    deleted_in_send = v;
    deleted_in_send_status = NDIS_STATUS_FAILURE;
    cn_send5_before_send_hook = delete_vc_in_send;
    unsigned long w = condis_warnings();
    assert_int_equal(client5_send_on_handle(h, 5), 5);
    assert_null(cn_send5_before_send_hook); /* it ran */
    assert_int_equal(deleted_in_send_status, NDIS_STATUS_SUCCESS);
    assert_true(condis_warnings() > w);
    e.warnings = condis_warnings();
    env_end(&e);
}

/* tmcm holds the sends and completes them in reverse or shuffled order,
 * some with a failure: each packet comes back once with the miniport's
 * status, and the packets reached the miniport in send order. */
static void test_c5_tmcm_reordered_failing(void **state)
{
    (void)state;
    struct tmcm_config cfg = { .mode = TMCM_HOLD };
    struct env e;
    env_start_tmcm(&e, &cfg);
    struct c5_vc *v = vc_with_call();
    struct tmcm_vc *mvc = tmcm_vc_of(v->ndis_vc);
    assert_non_null(mvc);

    assert_int_equal(client5_send(v, 30, 7), 30);
    assert_int_equal(atomic_load(&v->completed), 0);
    tmcm_set_send_status(NDIS_STATUS_FAILURE);
    assert_int_equal(tmcm_flush(mvc, TMCM_REVERSE, TMCM_SPLIT), 30);
    assert_int_equal(client5_send(v, 20, 20), 20);
    tmcm_set_send_status(NDIS_STATUS_SUCCESS);
    assert_int_equal(tmcm_flush(mvc, TMCM_SHUFFLE, TMCM_COALESCE), 20);
    assert_true(client5_wait_sends(v, WAIT_MS));
    assert_int_equal(atomic_load(&v->completed), 50);
    assert_int_equal(client5_status_count(v, NDIS_STATUS_FAILURE), 30);
    assert_int_equal(client5_status_count(v, NDIS_STATUS_SUCCESS), 20);
    assert_int_equal(atomic_load(&v->dup_completions), 0);
    assert_int_equal(atomic_load(&v->wrong_context), 0);
    assert_int_equal(atomic_load(&v->rx_bad), 0); /* OOB status == completion status */
    assert_int_equal(atomic_load(&mvc->logged), 50);
    for (unsigned i = 0; i < 50; i++) {
        assert_int_equal(mvc->log[i].stream, v->index);
        assert_int_equal(mvc->log[i].seq, i);
    }
    vc_end(v);
    env_end(&e);
    assert_int_equal(condis_warnings(), e.warnings);
}

/* A packet keeps its wrapper NBL between sends. Whatever the miniport wrote
 * into the wrapper's per-NBL information, flags or Scratch on completion
 * (an LSO miniport writes the payload it sent there) is gone when the
 * packet is sent again: the miniport sees a wrapper as fresh as a new one,
 * and its NET_BUFFER maps the packet's data afresh. */
static void test_c5_wrapper_reuse_is_fresh(void **state)
{
    (void)state;
    struct tmcm_config cfg = { .mode = TMCM_HOLD };
    struct env e;
    env_start_tmcm(&e, &cfg);
    struct c5_vc *v = vc_with_call();
    struct tmcm_vc *mvc = tmcm_vc_of(v->ndis_vc);
    assert_non_null(mvc);

    enum { N = 8 };
    PNET_BUFFER_LIST first[N];
    unsigned n = 0;
    assert_int_equal(client5_send(v, N, N), N);
    NdisAcquireSpinLock(&mvc->lock);
    for (PNET_BUFFER_LIST nbl = mvc->held_head; nbl && n < N; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
        first[n++] = nbl;
        NET_BUFFER_LIST_INFO(nbl, TcpLargeSendNetBufferListInfo) = (PVOID)(ULONG_PTR)1448;
        nbl->NblFlags |= NDIS_NBL_FLAGS_IS_IPV4;
        nbl->Scratch = nbl;
    }
    NdisReleaseSpinLock(&mvc->lock);
    assert_int_equal(n, N);
    assert_int_equal(tmcm_flush(mvc, TMCM_FIFO, TMCM_COALESCE), N);
    assert_true(client5_wait_sends(v, WAIT_MS));

    /* client5 reuses its packets: the same wrappers carry the new sends. */
    assert_int_equal(client5_send(v, N, N), N);
    /* tmcm holds them until the flush: look at them outside its lock, so
     * that a failed assertion does not leave the lock taken. */
    PNET_BUFFER_LIST second[N];
    unsigned m = 0, reused = 0;
    NdisAcquireSpinLock(&mvc->lock);
    for (PNET_BUFFER_LIST nbl = mvc->held_head; nbl && m < N; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl))
        second[m++] = nbl;
    NdisReleaseSpinLock(&mvc->lock);
    assert_int_equal(m, N);
    for (unsigned k = 0; k < N; k++) {
        PNET_BUFFER_LIST nbl = second[k];
        for (unsigned i = 0; i < N; i++)
            if (first[i] == nbl)
                reused++;
        assert_null(NET_BUFFER_LIST_INFO(nbl, TcpLargeSendNetBufferListInfo));
        assert_int_equal(nbl->NblFlags, 0);
        assert_null(nbl->Scratch);
        assert_int_equal(NET_BUFFER_DATA_OFFSET(NET_BUFFER_LIST_FIRST_NB(nbl)), 0);
        assert_non_null(NET_BUFFER_CURRENT_MDL(NET_BUFFER_LIST_FIRST_NB(nbl)));
    }
    assert_int_equal(reused, N);
    assert_int_equal(tmcm_flush(mvc, TMCM_FIFO, TMCM_COALESCE), N);
    assert_true(client5_wait_sends(v, WAIT_MS));
    assert_int_equal(atomic_load(&v->completed_ok), 2 * N);
    /* The arrivals carry the data of each send, in order. */
    assert_int_equal(atomic_load(&mvc->logged), 2 * N);
    for (unsigned i = 0; i < 2 * N; i++)
        assert_int_equal(mvc->log[i].seq, i);
    vc_end(v);
    env_end(&e);
    assert_int_equal(condis_warnings(), e.warnings);
}

/* Receives from tmcm: returned at once, kept and returned late, and with
 * NDIS_RECEIVE_FLAGS_RESOURCES (never kept, never returned to tmcm). */
static void test_c5_tmcm_receives(void **state)
{
    (void)state;
    struct env e;
    env_start_tmcm(&e, NULL);
    struct c5_vc *v = vc_with_call();
    struct tmcm_vc *mvc = tmcm_vc_of(v->ndis_vc);
    assert_non_null(mvc);

    assert_int_equal(tmcm_indicate(mvc, 5, 0, 0), 5);
    assert_int_equal(atomic_load(&v->rx), 5);
    assert_int_equal(atomic_load(&tm.returned), 5);

    atomic_store(&c5.hold, true);
    assert_int_equal(tmcm_indicate(mvc, 6, 0, 0), 6);
    assert_int_equal(atomic_load(&v->rx_held), 6);
    assert_int_equal(atomic_load(&tm.returned), 5);
    assert_int_equal(tmcm_indicate(mvc, 3, 0, NDIS_RECEIVE_FLAGS_RESOURCES), 3);
    assert_int_equal(atomic_load(&v->rx_resources), 3);
    assert_int_equal(atomic_load(&v->rx_held), 6);
    /* tmcm takes RESOURCES indications back itself, not through a return. */
    assert_int_equal(atomic_load(&tm.returned), 8);
    struct condis_outstanding o;
    condis_outstanding(&o);
    assert_int_equal(o.rx_outstanding, 6);
    atomic_store(&c5.hold, false);
    assert_int_equal(client5_return_held(v), 6);
    assert_int_equal(atomic_load(&tm.returned), 14);
    assert_int_equal(atomic_load(&v->rx), 14);
    assert_int_equal(atomic_load(&v->rx_bad), 0);

    vc_end(v);
    env_end(&e);
    assert_int_equal(condis_warnings(), e.warnings);
}

static void test_c5_work_item(void **state)
{
    (void)state;
    struct env e;
    env_start_tmcm(&e, NULL);
    assert_true(client5_run_work_item(WAIT_MS));
    condis_flush();
    assert_int_equal(atomic_load(&c5.work_items), 1);
    env_end(&e);
    assert_int_equal(condis_warnings(), e.warnings);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_c5_loop_fifo_dpc, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_c5_loop_fifo_inline, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_c5_loop_pended_open_close, cn_test_setup_pend,
                                        cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_c5_loop_reuse_resend_dpc, cn_test_setup,
                                        cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_c5_loop_reuse_resend_inline, cn_test_setup,
                                        cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_c5_loop_kept_receives, cn_test_setup,
                                        cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_c5_inactive_and_dead_vc, cn_test_setup,
                                        cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_c5_vc_deleted_during_send, cn_test_setup,
                                        cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_c5_vc_deleted_during_send, cn_test_setup_verify,
                                        cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_c5_tmcm_reordered_failing, cn_test_setup,
                                        cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_c5_tmcm_receives, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_c5_wrapper_reuse_is_fresh, cn_test_setup,
                                        cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_c5_work_item, cn_test_setup, cn_test_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
