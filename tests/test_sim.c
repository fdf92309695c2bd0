/*
 * test_sim.c - the built-in simulated NIC "sim" (drivers/miniport/sim).
 *
 * sim is loaded the way `condis run --miniport sim` loads it (through the
 * table of built-in drivers) and driven by the shared test client tclient
 * (tests/drivers). tclient keeps the NBLs that come back (keep_completed),
 * in completion order, so a test reads the sequence number stamped in each
 * and the status sim gave it. Calls are made here rather than with
 * tclient_make_call, because sim honours the Transmit flow spec
 * (PeakBandwidth, MaxSduSize) and each test chooses it.
 *
 * Some tests need every send to be queued before sim's scheduler first
 * runs (to see exactly how sim groups and orders a known backlog): they
 * hold the emulated processors sim's DPCs run on with a DPC of their own
 * that spins until released (cpus_hold / cpus_release).
 *
 * Every test ends in order (close the calls, delete the VCs, unbind, halt,
 * unload), checks that nothing is outstanding, and runs between
 * cn_test_setup and cn_test_teardown, which fails the test if anything
 * leaked.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cn_test.h"
#include "drivers/tdrivers.h"
#include <condis/builtin.h>

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define SIM_SLOW 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define SIM_SLOW 1
#endif
#endif
#ifndef SIM_SLOW
#define SIM_SLOW 0
#endif

#define WAIT_MS 20000
#define SIM_STATUS_RESOURCES ((NDIS_STATUS)0xC000009AL) /* NDIS_STATUS_RESOURCES */

#define assert_status(got, want)                                                        \
    do {                                                                                \
        NDIS_STATUS got_ = (got), want_ = (want);                                       \
        if (got_ != want_) {                                                            \
            char g_[64];                                                                \
            snprintf(g_, sizeof(g_), "%s", condis_status_name(got_));                   \
            fail_msg("%s is %s, expected %s", #got, g_, condis_status_name(want_));     \
        }                                                                               \
    } while (0)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ======================================================================
 * Holding processors: a DPC that spins until released keeps every other
 * DPC of its processor (sim's among them) from running.
 * ====================================================================== */

#define HOLD_MAX 8
static KDPC hold_dpc[HOLD_MAX];
static _Atomic int hold_entered[HOLD_MAX];
static _Atomic int hold_release;
static unsigned hold_n;

static KDEFERRED_ROUTINE HoldDpc;
static VOID HoldDpc(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1, PVOID SystemArgument2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);
    unsigned i = (unsigned)(ULONG_PTR)DeferredContext;
    atomic_store(&hold_entered[i], 1);
    while (!atomic_load(&hold_release))
        NdisStallExecution(20);
    atomic_store(&hold_entered[i], 0);
}

/* Hold processors 0..n-1 until cpus_release. */
static void cpus_hold(unsigned n)
{
    assert_true(n <= HOLD_MAX);
    atomic_store(&hold_release, 0);
    hold_n = n;
    for (unsigned i = 0; i < n; i++) {
        KeInitializeDpc(&hold_dpc[i], HoldDpc, (PVOID)(ULONG_PTR)i);
        KeSetTargetProcessorDpc(&hold_dpc[i], (CCHAR)i);
        assert_true(KeInsertQueueDpc(&hold_dpc[i], NULL, NULL));
    }
    for (unsigned i = 0; i < n; i++)
        while (!atomic_load(&hold_entered[i]))
            NdisMSleep(100);
}

static void cpus_release(void)
{
    atomic_store(&hold_release, 1);
    for (unsigned i = 0; i < hold_n; i++)
        while (atomic_load(&hold_entered[i]))
            NdisMSleep(100);
}

/* ======================================================================
 * What sim prints (DbgPrint goes to stderr): captured into a file.
 * ====================================================================== */

static int capture_saved = -1;
static char capture_path[64];

static void capture_begin(void)
{
    fflush(stderr);
    snprintf(capture_path, sizeof(capture_path), "/tmp/test_sim.%d.XXXXXX", (int)getpid());
    int fd = mkstemp(capture_path);
    assert_true(fd >= 0);
    capture_saved = dup(2);
    assert_true(capture_saved >= 0);
    assert_true(dup2(fd, 2) >= 0);
    close(fd);
}

/* The captured text (valid until the next capture), also echoed to the
 * real stderr. */
static const char *capture_end(void)
{
    static char text[65536];
    fflush(stderr);
    dup2(capture_saved, 2);
    close(capture_saved);
    capture_saved = -1;
    FILE *f = fopen(capture_path, "r");
    assert_non_null(f);
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    unlink(capture_path);
    fputs(text, stderr);
    return text;
}

#define assert_contains(text, needle)                                                   \
    do {                                                                                \
        if (strstr((text), (needle)) == NULL)                                           \
            fail_msg("expected \"%s\" in sim's output:\n%s", (needle), (text));         \
    } while (0)

/* ======================================================================
 * The environment: sim + tclient, one adapter, the AF open.
 * ====================================================================== */

struct env {
    struct condis_driver *sim, *client;
    struct condis_adapter *adapter;
    unsigned long warnings;    /* condis_warnings() at the start */
    const char *halt_text;     /* sim's output while the adapter went (env_end) */
};

/* Set sim's parameters: "Name=Value" strings, NULL-terminated. */
static void sim_params(const char *const *params)
{
    for (; params != NULL && *params != NULL; params++) {
        char name[64];
        const char *eq = strchr(*params, '=');
        assert_non_null(eq);
        assert_true((size_t)(eq - *params) < sizeof(name));
        memcpy(name, *params, (size_t)(eq - *params));
        name[eq - *params] = '\0';
        assert_int_equal(condis_param_set("sim", name, eq + 1), 0);
    }
}

/* Load sim and tclient (payload bytes per NBL; completed NBLs kept),
 * add the adapter, bind, wait for the AF. When init_text is not NULL it
 * gets what sim printed while it initialized the adapter. */
static void env_start_ex(struct env *e, const char *const *params, ULONG payload,
                         const char **init_text)
{
    memset(e, 0, sizeof(*e));
    sim_params(params);
    e->warnings = condis_warnings();
    const struct condis_builtin *b = condis_builtin_find("sim");
    assert_non_null(b);
    assert_string_equal(b->kind, "miniport");
    NTSTATUS st = 0;
    assert_int_equal(condis_driver_load("sim", b->entry, &e->sim, &st), 0);
    struct tclient_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.payload = payload;
    cfg.keep_completed = true;
    assert_int_equal(tclient_load(&cfg, &e->client), 0);
    if (init_text != NULL)
        capture_begin();
    int rc = condis_adapter_add(e->sim, "sim0", &e->adapter);
    if (init_text != NULL)
        *init_text = capture_end();
    assert_int_equal(rc, 0);
    assert_int_equal(condis_bind_all(), 0);
    assert_status(tclient_wait_af_open(WAIT_MS), NDIS_STATUS_SUCCESS);
}

static void env_start(struct env *e, const char *const *params, ULONG payload)
{
    env_start_ex(e, params, payload, NULL);
}

/* The orderly end; sim's halt report lands in e->halt_text. */
static void env_end(struct env *e)
{
    assert_int_equal(condis_unbind_all(), 0);
    capture_begin();
    int rc = condis_adapter_remove(e->adapter);
    e->halt_text = capture_end();
    assert_int_equal(rc, 0);
    assert_int_equal(condis_driver_unload(e->client), 0);
    assert_int_equal(condis_driver_unload(e->sim), 0);
    cn_test_assert_clean();
}

/* A call on vc with the Transmit flow spec sim honours. */
static NDIS_STATUS make_call(struct tclient_vc *vc, ULONG peak, ULONG max_sdu)
{
    memset(&vc->cm_params, 0, sizeof(vc->cm_params));
    memset(&vc->media_params, 0, sizeof(vc->media_params));
    FLOWSPEC *tx = &vc->cm_params.Transmit, *rx = &vc->cm_params.Receive;
    tx->TokenRate = rx->TokenRate = QOS_NOT_SPECIFIED;
    tx->TokenBucketSize = rx->TokenBucketSize = QOS_NOT_SPECIFIED;
    tx->PeakBandwidth = peak;
    rx->PeakBandwidth = QOS_NOT_SPECIFIED;
    tx->Latency = rx->Latency = QOS_NOT_SPECIFIED;
    tx->DelayVariation = rx->DelayVariation = QOS_NOT_SPECIFIED;
    tx->ServiceType = rx->ServiceType = SERVICETYPE_BESTEFFORT;
    tx->MaxSduSize = rx->MaxSduSize = max_sdu;
    vc->media_params.Flags = TRANSMIT_VC | RECEIVE_VC;
    vc->params.Flags = 0;
    vc->params.CallMgrParameters = &vc->cm_params;
    vc->params.MediaParameters = &vc->media_params;
    NdisResetEvent(&vc->make_done);
    atomic_store(&vc->make_status, NDIS_STATUS_PENDING);
    NDIS_STATUS st = NdisClMakeCall(vc->ndis_vc, &vc->params, NULL, NULL);
    if (st == NDIS_STATUS_PENDING)
        return tclient_wait_make_call(vc, WAIT_MS);
    /* Not pended: the client completes its own call (tclient's books). */
    if (st == NDIS_STATUS_SUCCESS)
        atomic_store(&vc->call_up, true);
    atomic_store(&vc->make_status, st);
    NdisSetEvent(&vc->make_done);
    return st;
}

static struct tclient_vc *vc_open(ULONG peak, ULONG max_sdu)
{
    NDIS_STATUS st;
    struct tclient_vc *vc = tclient_create_vc(&st);
    if (vc == NULL)
        fail_msg("NdisCoCreateVc: %s", condis_status_name(st));
    assert_status(make_call(vc, peak, max_sdu), NDIS_STATUS_SUCCESS);
    return vc;
}

/* Close the call at once (sim drains what it holds), wait for the close,
 * delete the VC. */
static void vc_close_now(struct tclient_vc *vc)
{
    NDIS_STATUS st = tclient_close_call(vc);
    if (st == NDIS_STATUS_PENDING)
        st = tclient_wait_close_call(vc, WAIT_MS);
    assert_status(st, NDIS_STATUS_SUCCESS);
    assert_true(tclient_wait_sends(vc, 1)); /* all back before the close completed */
    tclient_release_completed(vc);
    assert_status(tclient_delete_vc(vc), NDIS_STATUS_SUCCESS);
}

/* Close the call (waiting for a pended close) and delete the VC. */
static void vc_close(struct tclient_vc *vc)
{
    assert_true(tclient_wait_sends(vc, WAIT_MS));
    tclient_release_completed(vc);
    NDIS_STATUS st = tclient_close_call(vc);
    if (st == NDIS_STATUS_PENDING)
        st = tclient_wait_close_call(vc, WAIT_MS);
    assert_status(st, NDIS_STATUS_SUCCESS);
    assert_status(tclient_delete_vc(vc), NDIS_STATUS_SUCCESS);
}

/* ---- reading what came back ----------------------------------------------------- */

static ULONG nbl_seq(PNET_BUFFER_LIST nbl)
{
    PUCHAR data = MmGetMdlVirtualAddress(NET_BUFFER_FIRST_MDL(NET_BUFFER_LIST_FIRST_NB(nbl)));
    ULONG seq;
    memcpy(&seq, data + 4, sizeof(seq));
    return seq;
}

/* The sequence numbers of the kept NBLs, in completion order. */
static unsigned long kept_seqs(struct tclient_vc *vc, ULONG *out, unsigned long max)
{
    unsigned long n = vc->kept_n < max ? vc->kept_n : max;
    for (unsigned long i = 0; i < n; i++)
        out[i] = nbl_seq(vc->kept[i]);
    return n;
}

/* Every NBL sent came back exactly once, to its VC, with honest flags. */
static void assert_books(struct tclient_vc *vc, unsigned long sent)
{
    assert_int_equal(atomic_load(&vc->sent), sent);
    assert_int_equal(atomic_load(&vc->completed), sent);
    assert_int_equal(atomic_load(&vc->dup_completions), 0);
    assert_int_equal(atomic_load(&vc->wrong_context), 0);
    assert_int_equal(atomic_load(&vc->foreign_completed), 0);
    assert_int_equal(atomic_load(&vc->flag_lies), 0);
    assert_int_equal(atomic_load(&vc->flag_missing), 0);
}

/* The kept NBLs are seq first.. in order (as many as were kept). */
static void assert_fifo(struct tclient_vc *vc, ULONG first)
{
    for (unsigned long i = 0; i < vc->kept_n; i++)
        if (nbl_seq(vc->kept[i]) != first + i)
            fail_msg("VC %u: completion %lu carries seq %lu, expected %lu", vc->index, i,
                     (unsigned long)nbl_seq(vc->kept[i]), (unsigned long)(first + i));
}

static void assert_all_ok(struct tclient_vc *vc)
{
    for (unsigned long i = 0; i < vc->kept_n; i++)
        assert_status(NET_BUFFER_LIST_STATUS(vc->kept[i]), NDIS_STATUS_SUCCESS);
    assert_int_equal(atomic_load(&vc->completed_ok), atomic_load(&vc->completed));
}

static void wait_sends(struct tclient_vc *vc)
{
    if (!tclient_wait_sends(vc, WAIT_MS))
        fail_msg("VC %u: %lu of %lu sends completed", vc->index, atomic_load(&vc->completed),
                 atomic_load(&vc->sent));
}

/* ======================================================================
 * Tests
 * ====================================================================== */

/* Defaults: completion from the DPC at DISPATCH_LEVEL, in order, per VC;
 * the halt report counts everything. */
static void test_sim_defaults(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, NULL, 0);
    struct tclient_vc *a = vc_open(QOS_NOT_SPECIFIED, 0), *b = vc_open(0, 0);
    for (ULONG seq = 0; seq < 3000; seq += 7) {
        unsigned n = seq + 7 <= 3000 ? 7 : 3000 - seq;
        assert_int_equal(tclient_send(a, n, 0, seq, 0), n);
        assert_int_equal(tclient_send(b, n, 0, seq, 3), n);
    }
    wait_sends(a);
    wait_sends(b);
    struct tclient_vc *vcs[] = { a, b };
    for (int i = 0; i < 2; i++) {
        assert_books(vcs[i], 3000);
        assert_int_equal(vcs[i]->kept_n, 3000);
        assert_fifo(vcs[i], 0);
        assert_all_ok(vcs[i]);
        assert_int_equal(atomic_load(&vcs[i]->completed_dispatch), 3000);
    }
    assert_int_equal(atomic_load(&a->received) + atomic_load(&b->received), 0); /* a sink */
    assert_int_equal(condis_warnings(), e.warnings);
    vc_close(a);
    vc_close(b);
    env_end(&e);
    assert_contains(e.halt_text, "accepted 6000, completed 6000, failed 0");
}

/* SimQueue: at most N NBLs in the TX queue, so a backlog completes N per
 * pass; the value may be given in hex. */
static void test_sim_queue(void **state)
{
    (void)state;
    static const char *const params[] = { "SimQueue=0x8", NULL };
    struct env e;
    env_start(&e, params, 0);
    struct tclient_vc *vc = vc_open(0, 0);
    cpus_hold(1);
    assert_int_equal(tclient_send(vc, 100, 0, 0, 10), 100);
    cpus_release();
    wait_sends(vc);
    assert_books(vc, 100);
    assert_fifo(vc, 0);
    assert_all_ok(vc);
    assert_int_equal(atomic_load(&vc->max_chain), 8);
    assert_int_equal(atomic_load(&vc->complete_calls), 13); /* 12 x 8 + 4 */
    vc_close(vc);
    env_end(&e);
    assert_contains(e.halt_text, "max queue depth 100 (most in the TX queue 8 of 8)");
}

/* Across VCs the TX queue is filled round-robin: with two slots and two
 * VCs with a backlog, each pass carries one NBL of each. */
static void test_sim_round_robin(void **state)
{
    (void)state;
    static const char *const params[] = { "SimQueue=2", NULL };
    struct env e;
    env_start(&e, params, 0);
    struct tclient_vc *a = vc_open(0, 0), *b = vc_open(0, 0);
    cpus_hold(1);
    assert_int_equal(tclient_send(a, 20, 0, 0, 0), 20);
    assert_int_equal(tclient_send(b, 20, 0, 0, 0), 20);
    cpus_release();
    wait_sends(a);
    wait_sends(b);
    struct tclient_vc *vcs[] = { a, b };
    for (int i = 0; i < 2; i++) {
        assert_books(vcs[i], 20);
        assert_fifo(vcs[i], 0);
        assert_int_equal(atomic_load(&vcs[i]->max_chain), 1);
        assert_int_equal(atomic_load(&vcs[i]->complete_calls), 20);
    }
    vc_close(a);
    vc_close(b);
    env_end(&e);
}

/* SimDpcThreads: VCs are spread over contexts whose DPCs run on different
 * processors; holding processor 0 stops only the VC on context 0. */
static void test_sim_dpc_threads(void **state)
{
    (void)state;
    static const char *const params[] = { "SimDpcThreads=2", NULL };
    struct env e;
    env_start(&e, params, 0);
    struct tclient_vc *a = vc_open(0, 0), *b = vc_open(0, 0); /* contexts 0 and 1 */
    cpus_hold(1);
    assert_int_equal(tclient_send(a, 50, 0, 0, 5), 50);
    assert_int_equal(tclient_send(b, 50, 0, 0, 5), 50);
    wait_sends(b);
    NdisMSleep(20000);
    assert_int_equal(atomic_load(&a->completed), 0);
    cpus_release();
    wait_sends(a);
    struct tclient_vc *vcs[] = { a, b };
    for (int i = 0; i < 2; i++) {
        assert_books(vcs[i], 50);
        assert_fifo(vcs[i], 0);
        assert_int_equal(atomic_load(&vcs[i]->completed_dispatch), 50);
    }
    vc_close(a);
    vc_close(b);
    env_end(&e);
}

/* With one context (the default, and what an out-of-range SimDpcThreads
 * falls back to) both VCs wait for processor 0. */
static void test_sim_dpc_threads_too_many(void **state)
{
    (void)state;
    static const char *const params[] = { "SimDpcThreads=3", NULL }; /* condis emulates 2 */
    struct env e;
    const char *text;
    env_start_ex(&e, params, 0, &text);
    assert_contains(text, "SimDpcThreads=3 is out of range (1..2); sim keeps 1");
    struct tclient_vc *a = vc_open(0, 0), *b = vc_open(0, 0);
    cpus_hold(1);
    assert_int_equal(tclient_send(a, 10, 0, 0, 0), 10);
    assert_int_equal(tclient_send(b, 10, 0, 0, 0), 10);
    NdisMSleep(20000);
    assert_int_equal(atomic_load(&a->completed) + atomic_load(&b->completed), 0);
    cpus_release();
    wait_sends(a);
    wait_sends(b);
    assert_books(a, 10);
    assert_books(b, 10);
    vc_close(a);
    vc_close(b);
    env_end(&e);
}

/* SimInline: completion inside the send call, at the sender's IRQL. */
static void test_sim_inline(void **state)
{
    (void)state;
    static const char *const params[] = { "SimInline=1", NULL };
    struct env e;
    env_start(&e, params, 0);
    struct tclient_vc *vc = vc_open(0, 0);
    assert_int_equal(tclient_send(vc, 500, 0, 0, 10), 500);
    assert_int_equal(atomic_load(&vc->completed), 500); /* no waiting */
    assert_int_equal(atomic_load(&vc->completed_passive), 500);

    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    unsigned sent = tclient_send(vc, 100, 0, 500, 7);
    unsigned long completed = atomic_load(&vc->completed);
    KeLowerIrql(old);
    assert_int_equal(sent, 100);
    assert_int_equal(completed, 600);
    assert_int_equal(atomic_load(&vc->completed_dispatch), 100);
    assert_books(vc, 600);
    assert_fifo(vc, 0);
    assert_all_ok(vc);
    vc_close(vc);
    env_end(&e);
}

/* SimInline with chains longer than the TX queue: they cannot take the
 * express lane and go through the scheduler, in passes of SimQueue NBLs,
 * still inside the send call and still in order. */
static void test_sim_inline_long_chains(void **state)
{
    (void)state;
    static const char *const params[] = { "SimInline=1", "SimQueue=8", NULL };
    struct env e;
    env_start(&e, params, 0);
    struct tclient_vc *vc = vc_open(0, 0);
    assert_int_equal(tclient_send(vc, 300, 0, 0, 30), 300); /* chains of 30 */
    assert_int_equal(tclient_send(vc, 300, 0, 300, 8), 300); /* chains that just fit */
    assert_int_equal(atomic_load(&vc->completed), 600);
    assert_books(vc, 600);
    assert_fifo(vc, 0);
    assert_all_ok(vc);
    vc_close(vc);
    env_end(&e);
}

/* The completion order of one VC's backlog under SimReorder. */
static void reorder_run(const char *const *params, bool hold, unsigned chain, ULONG *order,
                        unsigned long n)
{
    struct env e;
    env_start(&e, params, 0);
    struct tclient_vc *vc = vc_open(0, 0);
    if (hold)
        cpus_hold(1);
    assert_int_equal(tclient_send(vc, (unsigned)n, 0, 0, chain), n);
    if (hold)
        cpus_release();
    wait_sends(vc);
    assert_books(vc, n);
    assert_all_ok(vc);
    assert_int_equal(kept_seqs(vc, order, n), n);
    vc_close(vc);
    env_end(&e);
}

/* Each window of 8 is a permutation of its own 8 sequence numbers. */
static void assert_windows(const ULONG *order, unsigned long n, unsigned w)
{
    for (unsigned long i = 0; i < n; i++)
        if (order[i] / w != i / w)
            fail_msg("completion %lu carries seq %lu, outside its window of %u", i,
                     (unsigned long)order[i], w);
    unsigned char seen[1024] = { 0 };
    for (unsigned long i = 0; i < n; i++) {
        assert_true(order[i] < 1024 && !seen[order[i]]);
        seen[order[i]] = 1;
    }
}

/* SimReorder: a pseudo-random order within windows, the same for the same
 * seed, another for another seed; SimReorder=1 keeps FIFO. */
static void test_sim_reorder(void **state)
{
    (void)state;
    enum { N = 400 };
    static ULONG first[N], again[N], other[N], loose[N];
    static const char *const seed1[] = { "SimReorder=8", "SimSeed=1", NULL };
    static const char *const seed2[] = { "SimSeed=0x2", NULL };

    reorder_run(seed1, true, 5, first, N);
    assert_windows(first, N, 8);
    unsigned long moved = 0;
    for (unsigned long i = 0; i < N; i++)
        moved += first[i] != i;
    assert_true(moved > N / 2);

    reorder_run(seed1, true, 3, again, N);
    assert_memory_equal(first, again, sizeof(first));
    /* Chains of whole windows: the order does not depend on when the DPC runs. */
    reorder_run(seed1, false, 16, loose, N);
    assert_memory_equal(first, loose, sizeof(first));

    reorder_run(seed2, true, 5, other, N);
    assert_windows(other, N, 8);
    assert_memory_not_equal(first, other, sizeof(first));

    static const char *const off[] = { "SimReorder=1", NULL };
    reorder_run(off, true, 5, other, N);
    for (unsigned long i = 0; i < N; i++)
        assert_int_equal(other[i], i);
}

/* SimBatch: never more than N per completion call, mixing sends and
 * splitting chains as the batches fall, in order. */
static void test_sim_batch(void **state)
{
    (void)state;
    static const char *const params[] = { "SimBatch=5", NULL };
    struct env e;
    env_start(&e, params, 0);
    struct tclient_vc *vc = vc_open(0, 0);
    cpus_hold(1);
    assert_int_equal(tclient_send(vc, 102, 0, 0, 3), 102); /* 34 sends of 3 */
    cpus_release();
    wait_sends(vc);
    assert_int_equal(atomic_load(&vc->max_chain), 5);  /* > 3: sends mixed */
    assert_int_equal(atomic_load(&vc->complete_calls), 21);
    /* One chain of 12: split 5, 5, 2. */
    assert_int_equal(tclient_send(vc, 12, 0, 102, 0), 12);
    wait_sends(vc);
    assert_int_equal(atomic_load(&vc->complete_calls), 24);
    assert_int_equal(atomic_load(&vc->max_chain), 5);
    assert_books(vc, 114);
    assert_fifo(vc, 0);
    assert_all_ok(vc);
    vc_close(vc);
    env_end(&e);
}

/* SimFailEvery / SimFailStatus: the Nth NBL the adapter accepts fails,
 * counted over every VC; the default status is NDIS_STATUS_FAILURE. */
static void fail_body(const char *const *params, unsigned every, NDIS_STATUS want)
{
    struct env e;
    env_start(&e, params, 0);
    struct tclient_vc *vc[2] = { vc_open(0, 0), vc_open(0, 0) };
    static bool expect_fail[2][64];
    ULONG next[2] = { 0, 0 };
    unsigned long k = 0, failures = 0;
    for (int round = 0; round < 10; round++)
        for (int v = 0; v < 2; v++) {
            unsigned n = v == 0 ? 4 : 5;
            for (unsigned i = 0; i < n; i++) {
                bool f = ++k % every == 0;
                expect_fail[v][next[v] + i] = f;
                failures += f;
            }
            assert_int_equal(tclient_send(vc[v], n, 0, next[v], 0), n);
            next[v] += n;
        }
    unsigned long got = 0;
    for (int v = 0; v < 2; v++) {
        wait_sends(vc[v]);
        assert_books(vc[v], next[v]);
        assert_fifo(vc[v], 0);
        for (unsigned long i = 0; i < vc[v]->kept_n; i++) {
            NDIS_STATUS st = NET_BUFFER_LIST_STATUS(vc[v]->kept[i]);
            if (expect_fail[v][i])
                assert_status(st, want);
            else
                assert_status(st, NDIS_STATUS_SUCCESS);
        }
        got += tclient_status_count(vc[v], want);
    }
    assert_int_equal(got, failures);
    vc_close(vc[0]);
    vc_close(vc[1]);
    env_end(&e);
    char line[128];
    snprintf(line, sizeof(line), "accepted 90, completed 90, failed %lu", failures);
    assert_contains(e.halt_text, line);
}

static void test_sim_fail_every(void **state)
{
    (void)state;
    static const char *const custom[] = { "SimFailEvery=3", "SimFailStatus=0xC000009A", NULL };
    fail_body(custom, 3, SIM_STATUS_RESOURCES);
}

static void test_sim_fail_every_default_status(void **state)
{
    (void)state;
    static const char *const dflt[] = { "SimFailEvery=4", NULL };
    fail_body(dflt, 4, NDIS_STATUS_FAILURE);
}

/* Build a chain of count NBLs from seq first; odd ones keep the payload
 * (200 bytes), even ones are cut to 50. */
static PNET_BUFFER_LIST mixed_chain(struct tclient_vc *vc, ULONG first, unsigned count)
{
    PNET_BUFFER_LIST head = NULL, tail = NULL;
    for (unsigned i = 0; i < count; i++) {
        PNET_BUFFER_LIST nbl = tclient_alloc_nbl(vc, 0, first + i);
        assert_non_null(nbl);
        if ((first + i) % 2 == 0)
            NET_BUFFER_DATA_LENGTH(NET_BUFFER_LIST_FIRST_NB(nbl)) = 50;
        if (tail)
            NET_BUFFER_LIST_NEXT_NBL(tail) = nbl;
        else
            head = nbl;
        tail = nbl;
    }
    return head;
}

/* MaxSduSize: longer NBLs complete with NDIS_STATUS_INVALID_LENGTH, in
 * their place; 0 means no limit; the limit itself is allowed. */
static void test_sim_max_sdu(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, NULL, 200);
    struct tclient_vc *small = vc_open(0, 100), *none = vc_open(0, 0), *exact = vc_open(0, 200);
    tclient_send_chain(small, mixed_chain(small, 0, 20), 0);
    tclient_send_chain(none, mixed_chain(none, 0, 20), 0);
    tclient_send_chain(exact, mixed_chain(exact, 0, 20), 0);
    wait_sends(small);
    wait_sends(none);
    wait_sends(exact);
    assert_books(small, 20);
    assert_books(none, 20);
    assert_books(exact, 20);
    assert_fifo(small, 0);
    for (unsigned long i = 0; i < small->kept_n; i++)
        assert_status(NET_BUFFER_LIST_STATUS(small->kept[i]),
                      i % 2 ? NDIS_STATUS_INVALID_LENGTH : NDIS_STATUS_SUCCESS);
    assert_int_equal(tclient_status_count(small, NDIS_STATUS_INVALID_LENGTH), 10);
    assert_all_ok(none);
    assert_all_ok(exact);
    vc_close(small);
    vc_close(none);
    vc_close(exact);
    env_end(&e);
    assert_contains(e.halt_text, "failed 10");
}

/* PeakBandwidth: 1 MiB at 4 MB/s takes at least 0.2 s (0.26 nominally),
 * and at no moment has the VC run ahead of its rate; an unshaped VC beside
 * it is not held up. */
static void test_sim_peak_bandwidth(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, NULL, 1024);
    const ULONG rate = 4000000;
    struct tclient_vc *shaped = vc_open(rate, 0), *free_vc = vc_open(QOS_NOT_SPECIFIED, 0);
    double t0 = now_s();
    assert_int_equal(tclient_send(shaped, 1024, 0, 0, 16), 1024);
    assert_int_equal(tclient_send(free_vc, 1024, 0, 0, 16), 1024);
    wait_sends(free_vc);
    double t_free = now_s() - t0;
    unsigned long done_then = atomic_load(&shaped->completed);
    for (int i = 0; i < 5; i++) {
        NdisMSleep(30000);
        unsigned long c = atomic_load(&shaped->completed);
        double t = now_s() - t0;
        /* bytes completed <= rate * time + the bucket (1 ms) + one NBL */
        if ((double)c * 1024 > rate * t + rate / 1000.0 + 1024)
            fail_msg("%lu KiB completed after %.3f s: faster than %lu B/s", c, t,
                     (unsigned long)rate);
    }
    wait_sends(shaped);
    double t_shaped = now_s() - t0;
    print_message("1 MiB at 4 MB/s: %.3f s; unshaped VC done after %.3f s (%lu shaped done then)\n",
                  t_shaped, t_free, done_then);
    assert_true(t_shaped >= 0.2);
    assert_true(t_shaped < (SIM_SLOW ? 10.0 : 2.0));
    assert_true(t_free < t_shaped);
    assert_true(done_then < 1024);
    assert_books(shaped, 1024);
    assert_books(free_vc, 1024);
    assert_fifo(shaped, 0);
    assert_fifo(free_vc, 0);
    assert_all_ok(shaped);
    vc_close(shaped);
    vc_close(free_vc);
    env_end(&e);
}

/* SimEarlyComplete: a shaped VC's first SimQueue NBLs complete at once (the
 * "NIC" holds them), the rest at the VC's rate; without it, completions
 * come at the rate from the start. */
static void early_body(bool early, double *t_total, unsigned long *done_early)
{
    static const char *const early_params[] = { "SimEarlyComplete=1", "SimQueue=16", NULL };
    static const char *const late_params[] = { "SimEarlyComplete=0", "SimQueue=16", NULL };
    struct env e;
    env_start(&e, early ? early_params : late_params, 1000);
    struct tclient_vc *vc = vc_open(64000, 0); /* 15.6 ms per NBL */
    double t0 = now_s();
    assert_int_equal(tclient_send(vc, 40, 0, 0, 0), 40);
    NdisMSleep(40000);
    *done_early = atomic_load(&vc->completed);
    wait_sends(vc);
    *t_total = now_s() - t0;
    assert_books(vc, 40);
    assert_fifo(vc, 0);
    assert_all_ok(vc);
    vc_close(vc);
    env_end(&e);
}

static void test_sim_early_complete(void **state)
{
    (void)state;
    double t_early, t_late;
    unsigned long early_done, late_done;
    early_body(true, &t_early, &early_done);
    early_body(false, &t_late, &late_done);
    print_message("early: %lu done at 40 ms, all in %.3f s; late: %lu, %.3f s\n", early_done,
                  t_early, late_done, t_late);
    assert_true(early_done >= 16);
    assert_true(late_done <= 6);
    /* 40 NBLs at 15.6 ms: the last 24 leave (and free slots) at the rate. */
    assert_true(t_early >= 0.3);
    assert_true(t_late >= 0.55);
}

/* SimLatencyUs: nothing completes before its latency has passed, in each
 * completion style. */
static void latency_body(const char *const *params, bool passive_ok)
{
    struct env e;
    env_start(&e, params, 0);
    struct tclient_vc *vc = vc_open(0, 0);
    double t0 = now_s();
    assert_int_equal(tclient_send(vc, 30, 0, 0, 0), 30);
    assert_int_equal(atomic_load(&vc->completed), 0);
    NdisMSleep(20000);
    unsigned long c = atomic_load(&vc->completed);
    if (now_s() - t0 < 0.05) /* read before the time: a bound that holds */
        assert_int_equal(c, 0);
    assert_int_equal(tclient_send(vc, 30, 0, 30, 0), 30);
    wait_sends(vc);
    assert_true(now_s() - t0 >= 0.05);
    assert_books(vc, 60);
    assert_fifo(vc, 0);
    if (!passive_ok)
        assert_int_equal(atomic_load(&vc->completed_dispatch), 60);
    vc_close(vc);
    env_end(&e);
}

static void test_sim_latency(void **state)
{
    (void)state;
    static const char *const late[] = { "SimLatencyUs=50000", NULL };
    static const char *const early[] = { "SimLatencyUs=50000", "SimEarlyComplete=1", NULL };
    static const char *const inl[] = { "SimLatencyUs=50000", "SimInline=1", NULL };
    latency_body(late, false);
    latency_body(early, false);
    latency_body(inl, true);
}

/* Per NBL: a send made later completes later by at least the latency. */
static void test_sim_latency_per_nbl(void **state)
{
    (void)state;
    static const char *const params[] = { "SimLatencyUs=30000", NULL };
    struct env e;
    env_start(&e, params, 0);
    struct tclient_vc *vc = vc_open(0, 0);
    for (int i = 0; i < 5; i++) {
        unsigned long before = atomic_load(&vc->completed);
        double t0 = now_s();
        assert_int_equal(tclient_send(vc, 10, 0, (ULONG)(10 * i), 3), 10);
        wait_sends(vc);
        double dt = now_s() - t0;
        assert_int_equal(atomic_load(&vc->completed), before + 10);
        assert_true(dt >= 0.03);
    }
    assert_books(vc, 50);
    assert_fifo(vc, 0);
    vc_close(vc);
    env_end(&e);
}

/* CmCloseCall drains: what the VC still holds completes at once, with its
 * normal status, not after its shaping or latency; the close completes
 * after the last of it. */
static void close_body(const char *const *params, ULONG peak, unsigned count)
{
    struct env e;
    env_start(&e, params, 1000);
    struct tclient_vc *vc = vc_open(peak, 0);
    struct tclient_vc *other = vc_open(peak, 0); /* untouched by the close */
    assert_int_equal(tclient_send(vc, count, 0, 0, 4), count);
    assert_int_equal(tclient_send(other, 3, 0, 0, 0), 3);
    NdisMSleep(10000);
    assert_true(atomic_load(&vc->completed) < count);
    double t0 = now_s();
    NDIS_STATUS st = tclient_close_call(vc); /* condis warns: sends outstanding */
    assert_status(st, NDIS_STATUS_PENDING);
    assert_status(tclient_wait_close_call(vc, WAIT_MS), NDIS_STATUS_SUCCESS);
    double dt = now_s() - t0;
    print_message("close drained %u NBLs in %.3f s\n", count, dt);
    assert_true(dt < (SIM_SLOW ? 3.0 : 1.0));
    assert_books(vc, count);
    assert_all_ok(vc);
    assert_true(atomic_load(&vc->close_complete_seq) > atomic_load(&vc->last_complete_seq));
    tclient_release_completed(vc);
    assert_status(tclient_delete_vc(vc), NDIS_STATUS_SUCCESS);
    vc_close_now(other);
    assert_books(other, 3);
    env_end(&e);
}

static void test_sim_close_drains(void **state)
{
    (void)state;
    static const char *const shaped[] = { "SimQueue=4", NULL };
    static const char *const delayed[] = { "SimLatencyUs=5000000", "SimReorder=8", NULL };
    static const char *const early[] = { "SimEarlyComplete=1", "SimQueue=2", "SimBatch=3",
                                         "SimLatencyUs=0", "SimReorder=0", NULL };
    static const char *const inl[] = { "SimInline=1", "SimLatencyUs=0", "SimEarlyComplete=0",
                                       "SimReorder=0", "SimBatch=0", "SimQueue=256", NULL };
    close_body(shaped, 10000, 50);       /* 5 s at its rate */
    close_body(delayed, 0, 13);          /* 5 s latency, a partial reorder window */
    close_body(early, 10000, 50);
    close_body(inl, 10000, 50);
}

/* A close with nothing outstanding finishes at once. */
static void test_sim_close_idle(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, NULL, 0);
    struct tclient_vc *vc = vc_open(0, 0);
    assert_int_equal(tclient_send(vc, 10, 0, 0, 0), 10);
    wait_sends(vc);
    tclient_release_completed(vc);
    assert_status(tclient_close_call(vc), NDIS_STATUS_SUCCESS);
    /* The VC can carry another call. */
    assert_status(make_call(vc, 0, 0), NDIS_STATUS_SUCCESS);
    assert_int_equal(tclient_send(vc, 10, 0, 10, 0), 10);
    vc_close(vc);
    assert_books(vc, 20);
    assert_int_equal(condis_warnings(), e.warnings);
    env_end(&e);
}

/* Everything together: reorder and batch with two contexts and failures,
 * then inline, early completion, latency, and all of those at once. Each
 * NBL completes once, to its VC, within its reorder window, in batches of
 * at most SimBatch, with the status its place in the adapter's count says. */
enum { COMBO_VCS = 4, COMBO_ROUNDS = 60, COMBO_MAX = COMBO_ROUNDS * 5 };

static void combined_body(const char *const *extra, double min_s)
{
    static const char *const base[] = { "SimReorder=6", "SimBatch=4", "SimDpcThreads=2",
                                         "SimFailEvery=5", "SimInline=0", "SimEarlyComplete=0",
                                         "SimLatencyUs=0", NULL };
    sim_params(base);
    struct env e;
    env_start(&e, extra, 0);
    struct tclient_vc *vc[COMBO_VCS];
    for (int v = 0; v < COMBO_VCS; v++)
        vc[v] = vc_open(0, 0);
    static bool expect_fail[COMBO_VCS][COMBO_MAX];
    ULONG next[COMBO_VCS] = { 0 };
    unsigned long k = 0;
    double t0 = now_s();
    for (int r = 0; r < COMBO_ROUNDS; r++)
        for (int v = 0; v < COMBO_VCS; v++) {
            unsigned n = (unsigned)(r + v) % 5 + 1;
            for (unsigned i = 0; i < n; i++)
                expect_fail[v][next[v] + i] = ++k % 5 == 0;
            assert_int_equal(tclient_send(vc[v], n, 0, next[v], 0), n);
            next[v] += n;
        }
    for (int v = 0; v < COMBO_VCS; v++)
        wait_sends(vc[v]);
    double dt = now_s() - t0;
    assert_true(dt >= min_s);
    for (int v = 0; v < COMBO_VCS; v++) {
        assert_books(vc[v], next[v]);
        assert_true(atomic_load(&vc[v]->max_chain) <= 4);
        static bool seen[COMBO_MAX];
        memset(seen, 0, sizeof(seen));
        assert_int_equal(vc[v]->kept_n, next[v]);
        for (unsigned long i = 0; i < vc[v]->kept_n; i++) {
            ULONG seq = nbl_seq(vc[v]->kept[i]);
            assert_true(seq < next[v] && !seen[seq]);
            seen[seq] = true;
            long d = (long)seq - (long)i;
            if (d <= -6 || d >= 6)
                fail_msg("VC %d: seq %lu completed %lu-th, outside a window of 6", v,
                         (unsigned long)seq, i);
            assert_status(NET_BUFFER_LIST_STATUS(vc[v]->kept[i]),
                          expect_fail[v][seq] ? NDIS_STATUS_FAILURE : NDIS_STATUS_SUCCESS);
        }
    }
    for (int v = 0; v < COMBO_VCS; v++)
        vc_close(vc[v]);
    env_end(&e);
}

static void test_sim_combined(void **state)
{
    (void)state;
    static const char *const plain[] = { NULL };
    static const char *const inl[] = { "SimInline=1", NULL };
    static const char *const early[] = { "SimEarlyComplete=1", NULL };
    static const char *const latency[] = { "SimLatencyUs=3000", NULL };
    static const char *const all[] = { "SimInline=1", "SimEarlyComplete=1", "SimLatencyUs=3000",
                                       "SimQueue=5", NULL };
    combined_body(plain, 0);
    combined_body(inl, 0);
    combined_body(early, 0);
    combined_body(latency, 0.003);
    combined_body(all, 0.003);
}

/* Several threads send on their own VCs at once, over two contexts. */
struct sender {
    pthread_t thread;
    struct tclient_vc *vc;
    unsigned count;
};

static void *sender_main(void *arg)
{
    struct sender *s = arg;
    for (unsigned seq = 0; seq < s->count; seq += 8)
        tclient_send(s->vc, 8, 0, seq, 0);
    return NULL;
}

static void concurrent_body(const char *const *params)
{
    enum { SENDERS = 4, COUNT = SIM_SLOW ? 4000 : 20000 };
    struct env e;
    env_start(&e, params, 0);
    struct sender s[SENDERS];
    for (int i = 0; i < SENDERS; i++) {
        s[i].vc = vc_open(0, 0);
        s[i].count = COUNT;
    }
    for (int i = 0; i < SENDERS; i++)
        assert_int_equal(pthread_create(&s[i].thread, NULL, sender_main, &s[i]), 0);
    for (int i = 0; i < SENDERS; i++)
        pthread_join(s[i].thread, NULL);
    for (int i = 0; i < SENDERS; i++) {
        wait_sends(s[i].vc);
        assert_books(s[i].vc, COUNT);
        assert_fifo(s[i].vc, 0); /* the first 4096 kept */
        assert_all_ok(s[i].vc);
    }
    assert_int_equal(condis_warnings(), e.warnings);
    for (int i = 0; i < SENDERS; i++)
        vc_close(s[i].vc);
    env_end(&e);
}

static void test_sim_concurrent(void **state)
{
    (void)state;
    static const char *const dpc[] = { "SimDpcThreads=2", "SimQueue=64", NULL };
    static const char *const inl[] = { "SimInline=1", NULL };
    /* Room for one chain of 8 at a time: a sender that finds the other's
     * chain in the TX queue leaves the express lane for the scheduler. */
    static const char *const inl_tight[] = { "SimInline=1", "SimQueue=12", NULL };
    concurrent_body(dpc);
    concurrent_body(inl);
    concurrent_body(inl_tight);
}

/* Invalid values are reported and the defaults kept: one context, a TX
 * queue of 256, completion from the DPC. */
static void test_sim_invalid_parameters(void **state)
{
    (void)state;
    static const char *const params[] = { "SimQueue=0", "SimInline=2", "SimReorder=abc",
                                          "SimFailStatus=0x103", "SimEarlyComplete=-1",
                                          "SimBatch=12x", NULL };
    struct env e;
    const char *text;
    env_start_ex(&e, params, 0, &text);
    assert_contains(text, "SimQueue=0 is out of range (1..65536); sim keeps 256");
    assert_contains(text, "SimInline=2 is out of range (0..1); sim keeps 0");
    assert_contains(text, "SimReorder=abc is not a number");
    assert_contains(text, "SimFailStatus=0x103 is NDIS_STATUS_PENDING");
    assert_contains(text, "SimEarlyComplete=4294967295 is out of range");
    assert_contains(text, "SimBatch=12x is not a number");

    struct tclient_vc *vc = vc_open(0, 0);
    cpus_hold(1);
    assert_int_equal(tclient_send(vc, 300, 0, 0, 10), 300);
    assert_int_equal(atomic_load(&vc->completed), 0); /* not inline */
    cpus_release();
    wait_sends(vc);
    assert_int_equal(atomic_load(&vc->max_chain), 256);
    assert_int_equal(atomic_load(&vc->complete_calls), 2);
    assert_books(vc, 300);
    assert_fifo(vc, 0);
    assert_int_equal(atomic_load(&vc->completed_dispatch), 300);
    vc_close(vc);
    env_end(&e);
}

/* Call parameters sim cannot honour are refused. */
static void test_sim_call_refused(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, NULL, 0);
    NDIS_STATUS st;
    struct tclient_vc *vc = tclient_create_vc(&st);
    assert_non_null(vc);
    assert_status(make_call(vc, 0, 0), NDIS_STATUS_SUCCESS);
    assert_status(tclient_close_call(vc), NDIS_STATUS_SUCCESS);
    /* Receive only: sim sends. */
    memset(&vc->media_params, 0, sizeof(vc->media_params));
    vc->media_params.Flags = RECEIVE_VC;
    assert_status(NdisClMakeCall(vc->ndis_vc, &vc->params, NULL, NULL), NDIS_STATUS_INVALID_DATA);
    vc->media_params.Flags = TRANSMIT_VC | RECEIVE_VC;
    vc->params.Flags = MULTIPOINT_VC;
    assert_status(NdisClMakeCall(vc->ndis_vc, &vc->params, NULL, NULL), NDIS_STATUS_NOT_SUPPORTED);
    vc->params.Flags = 0;
    vc->cm_params.CallMgrSpecific.Length = 4;
    assert_status(NdisClMakeCall(vc->ndis_vc, &vc->params, NULL, NULL), NDIS_STATUS_INVALID_DATA);
    atomic_store(&vc->call_up, false);
    assert_status(tclient_delete_vc(vc), NDIS_STATUS_SUCCESS);
    env_end(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sim_defaults, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_sim_queue, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_sim_round_robin, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_sim_dpc_threads, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_sim_dpc_threads_too_many, cn_test_setup,
                                        cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_sim_inline, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_sim_inline_long_chains, cn_test_setup,
                                        cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_sim_reorder, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_sim_batch, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_sim_fail_every, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_sim_fail_every_default_status, cn_test_setup,
                                        cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_sim_max_sdu, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_sim_peak_bandwidth, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_sim_early_complete, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_sim_latency, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_sim_latency_per_nbl, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_sim_close_drains, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_sim_close_idle, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_sim_combined, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_sim_concurrent, cn_test_setup, cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_sim_invalid_parameters, cn_test_setup,
                                        cn_test_teardown),
        cmocka_unit_test_setup_teardown(test_sim_call_refused, cn_test_setup, cn_test_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
