/*
 * runtime.c - the process-wide runtime that plays ndis.sys: start-up,
 * orderly shutdown, and the account of what is still outstanding.
 *
 * NDIS functions carry no runtime argument (NdisAllocateNetBufferListPool
 * has only a driver handle), so, as in Windows, there is one runtime per
 * process: condis_init starts it and condis_fini ends it.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cn_co.h"

struct cn_rt cn_rt = {
    .rt_lock = PTHREAD_MUTEX_INITIALIZER,
};

void cn_spin_lock_slow(struct cn_spin *s)
{
    /* A user-space thread can be preempted while it holds the lock, so spin
     * briefly and then give the CPU away instead of burning the time slice. */
    for (unsigned n = 0;; n++) {
        while (atomic_load_explicit((_Atomic _Bool *)&s->sp_flag, memory_order_relaxed)) {
            if (n++ < 64)
                __builtin_ia32_pause();
            else
                sched_yield();
        }
        if (!atomic_flag_test_and_set_explicit(&s->sp_flag, memory_order_acquire))
            return;
    }
}

/* ---- the OWN-6 watchdog (verifier on) -----------------------------------------
 * A protocol may wait for its own sends inside a handler condis calls while
 * it tears a run down (cosend waits in its pause handler): no host wait of
 * condis runs then. While a teardown step is under way, a thread takes back
 * the sends miniports have held for more than half the driver timeout. */
static _Atomic unsigned host_busy;
static _Atomic uint64_t host_busy_since;
static pthread_t watchdog_thread;
static _Atomic bool watchdog_stop;
static bool watchdog_running;

void cn_host_busy(bool enter)
{
    if (enter) {
        if (atomic_fetch_add(&host_busy, 1) == 0)
            atomic_store(&host_busy_since, cn_now_ns());
    } else {
        atomic_fetch_sub(&host_busy, 1);
    }
}

static void *watchdog_main(void *arg)
{
    (void)arg;
    uint64_t half = (uint64_t)(cn_rt.rt_opt.wait_ms / 2 ? cn_rt.rt_opt.wait_ms / 2 : 1) * 1000000u;
    while (!atomic_load(&watchdog_stop)) {
        struct timespec ts = { 0, 50 * 1000 * 1000 };
        nanosleep(&ts, NULL);
        if (atomic_load(&host_busy) != 0 && cn_now_ns() - atomic_load(&host_busy_since) >= half)
            cn_send_reclaim(half);
    }
    return NULL;
}

bool cn_host_wait(PNDIS_EVENT ev, unsigned ms)
{
    if (ms == 0)
        ms = 1;
    if (!CN_VERIFYING)
        return NdisWaitEvent(ev, ms) != FALSE;
    /* With the verifier on, a driver that does not finish in half the time
     * may be waiting for sends its miniport never completes (OWN-6): those
     * are reported and completed by condis, and the wait goes on. */
    unsigned half = ms / 2 ? ms / 2 : 1;
    if (NdisWaitEvent(ev, half))
        return true;
    if (cn_send_reclaim((uint64_t)half * 1000000u) == 0)
        return NdisWaitEvent(ev, ms - half) != FALSE;
    /* The protocol got sends back: give it the full time again. */
    return NdisWaitEvent(ev, ms) != FALSE;
}

const char *condis_version(void)
{
    return CONDIS_VERSION_STRING;
}

int condis_init(const struct condis_options *opt)
{
    pthread_mutex_lock(&cn_rt.rt_lock);
    if (cn_rt.rt_up) {
        pthread_mutex_unlock(&cn_rt.rt_lock);
        cn_log("condis_init: the runtime is already running; call condis_fini first");
        return -EALREADY;
    }
    memset(&cn_rt.rt_opt, 0, sizeof(cn_rt.rt_opt));
    if (opt)
        cn_rt.rt_opt = *opt;
    if (cn_rt.rt_opt.cpus == 0)
        cn_rt.rt_opt.cpus = 2;
    if (cn_rt.rt_opt.wait_ms == 0)
        cn_rt.rt_opt.wait_ms = 10000;
    if (cn_rt.rt_opt.deleted_vcs_kept == 0)
        cn_rt.rt_opt.deleted_vcs_kept = 65536;
    InitializeListHead(&cn_rt.rt_images);
    InitializeListHead(&cn_rt.rt_protocols);
    InitializeListHead(&cn_rt.rt_miniports);
    InitializeListHead(&cn_rt.rt_adapters);
    InitializeListHead(&cn_rt.rt_vcrecs);
    InitializeListHead(&cn_rt.rt_bindrecs);
    InitializeListHead(&cn_rt.rt_deadrecs);
    cn_rt.rt_ndead = 0;
    cn_rt.rt_next_binding = 0;
    cn_rt.rt_loading = NULL;
    cn_rt.rt_next_ifindex = 1;
    if ((unsigned)cn_rt.rt_opt.verify > CONDIS_VERIFY_STOP) {
        pthread_mutex_unlock(&cn_rt.rt_lock);
        cn_log("condis_init: verify must be CONDIS_VERIFY_OFF, _ON or _STOP");
        return -EINVAL;
    }
    /* Before any thread or driver: the gate is read-only from here on. */
    cn_verify_init((int)cn_rt.rt_opt.verify);
    int rc = cn_os_init(cn_rt.rt_opt.cpus);
    if (rc == 0)
        cn_rt.rt_up = true;
    if (rc == 0 && CN_VERIFYING) {
        atomic_store(&watchdog_stop, false);
        atomic_store(&host_busy, 0);
        watchdog_running = pthread_create(&watchdog_thread, NULL, watchdog_main, NULL) == 0;
    }
    pthread_mutex_unlock(&cn_rt.rt_lock);
    if (rc != 0)
        cn_log("condis_init: could not start condis' threads (%s)", strerror(-rc));
    return rc;
}

int condis_param_set(const char *driver, const char *keyword, const char *value)
{
    if (keyword == NULL || *keyword == '\0' || value == NULL) {
        cn_log("condis_param_set: a parameter needs a keyword and a value");
        return -EINVAL;
    }
    return cn_param_set(driver, keyword, value);
}

void condis_flush(void)
{
    cn_work_flush();
}

void condis_outstanding(struct condis_outstanding *o)
{
    memset(o, 0, sizeof(*o));
    pthread_mutex_lock(&cn_rt.rt_lock);
    if (cn_rt.rt_up) {
        for (LIST_ENTRY *e = cn_rt.rt_adapters.Flink; e != &cn_rt.rt_adapters; e = e->Flink) {
            struct condis_adapter *ad = CONTAINING_RECORD(e, struct condis_adapter, ad_link);
            o->rx_outstanding += (size_t)atomic_load(&ad->ad_rx_outstanding);
            for (LIST_ENTRY *be = ad->ad_bindings.Flink; be != &ad->ad_bindings; be = be->Flink) {
                struct cn_binding *b = CONTAINING_RECORD(be, struct cn_binding, b_ad_link);
                for (LIST_ENTRY *ae = b->b_afs.Flink; ae != &b->b_afs; ae = ae->Flink) {
                    struct cn_af *af = CONTAINING_RECORD(ae, struct cn_af, af_b_link);
                    for (LIST_ENTRY *ve = af->af_vcs.Flink; ve != &af->af_vcs; ve = ve->Flink) {
                        struct cn_vc *vc = CONTAINING_RECORD(ve, struct cn_vc, vc_af_link);
                        o->nbls_in_flight += (size_t)atomic_load(&vc->vc_inflight);
                    }
                }
            }
        }
    }
    pthread_mutex_unlock(&cn_rt.rt_lock);
    o->pool_descriptors = cn_mem_outstanding();
    o->pools = cn_handle_count(CN_H_NBL_POOL) + cn_handle_count(CN_H_NB_POOL) +
               cn_handle_count(CN_H_PACKET_POOL) + cn_handle_count(CN_H_BUFFER_POOL);
    o->memory_blocks = cn_memory_outstanding();
    o->vcs = cn_handle_count(CN_H_VC);
    o->afs = cn_handle_count(CN_H_AF);
    o->bindings = cn_handle_count(CN_H_BINDING);
    o->adapters = cn_handle_count(CN_H_ADAPTER);
    o->drivers = cn_handle_count(CN_H_PROTOCOL) + cn_handle_count(CN_H_MINIPORT);
    o->other_handles = cn_handle_count(CN_H_IO_WORKITEM) + cn_handle_count(CN_H_TIMER) +
                       cn_handle_count(CN_H_CONFIG);
}

bool condis_clean(void)
{
    struct condis_outstanding o;
    condis_outstanding(&o);
    return o.nbls_in_flight == 0 && o.rx_outstanding == 0 && o.pool_descriptors == 0 &&
           o.pools == 0 && o.memory_blocks == 0 && o.vcs == 0 && o.afs == 0 &&
           o.bindings == 0 && o.adapters == 0 && o.drivers == 0 && o.other_handles == 0;
}

static void print_pool_leak(const struct cn_pool_leak *l, void *arg)
{
    size_t *n = arg;
    char tag[5] = { 0 };
    for (int i = 0; i < 4; i++) {
        char c = (char)((l->pl_tag >> (8 * i)) & 0xff);
        tag[i] = (c >= 32 && c < 127) ? c : '.';
    }
    fprintf(stderr, "condis: leak: %s of %s (tag '%s'): %zu descriptor(s) not returned%s\n",
            l->pl_kind, l->pl_owner ? l->pl_owner : "?", tag, l->pl_outstanding,
            l->pl_pool_open ? ", pool not freed" : "");
    (*n)++;
}

static void print_mem_leak(const struct cn_mem_leak *l, void *arg)
{
    size_t *n = arg;
    char tag[5] = { 0 };
    for (int i = 0; i < 4; i++) {
        char c = (char)((l->ml_tag >> (8 * i)) & 0xff);
        tag[i] = (c >= 32 && c < 127) ? c : '.';
    }
    fprintf(stderr, "condis: leak: memory of %s (tag '%s'): %zu block(s), %zu bytes not freed\n",
            l->ml_owner ? l->ml_owner : "?", tag, l->ml_blocks, l->ml_bytes);
    (*n)++;
}

size_t condis_report_leaks(void)
{
    size_t n = 0;
    struct condis_outstanding o;
    condis_outstanding(&o);
    cn_mem_leaks(print_pool_leak, &n);
    cn_memory_leaks(print_mem_leak, &n);
#define LEAK(field, what)                                                       \
    if (o.field) {                                                              \
        fprintf(stderr, "condis: leak: %zu %s\n", o.field, what);               \
        n++;                                                                    \
    }
    LEAK(nbls_in_flight, "NBL(s) sent and never completed by the miniport");
    LEAK(rx_outstanding, "received NBL(s) never returned by the protocol");
    LEAK(vcs, "VC(s) not deleted");
    LEAK(afs, "address family open(s) not closed");
    LEAK(bindings, "binding(s) not closed");
    LEAK(adapters, "adapter(s) not halted");
    LEAK(drivers, "driver registration(s) not deregistered");
    LEAK(other_handles, "timer, work item or configuration handle(s) not freed");
#undef LEAK
    return n;
}

void condis_set_log_sink(void (*sink)(const char *line, void *arg), void *arg)
{
    cn_log_set_sink(sink, arg);
}

unsigned long condis_warnings(void)
{
    return cn_warn_count();
}

static const struct {
    NDIS_STATUS st;
    const char *name;
} status_names[] = {
#define X(n) { n, #n },
    CONDIS_NDIS_STATUS_LIST(X)
    X(STATUS_INVALID_HANDLE)
#undef X
};

const char *cn_status_name(NDIS_STATUS s)
{
    for (size_t i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++)
        if (status_names[i].st == s)
            return status_names[i].name;
    static _Thread_local char buf[16];
    snprintf(buf, sizeof(buf), "0x%08x", (unsigned)s);
    return buf;
}

const char *condis_status_name(NDIS_STATUS status)
{
    return cn_status_name(status);
}

int condis_stop(void)
{
    pthread_mutex_lock(&cn_rt.rt_lock);
    bool up = cn_rt.rt_up;
    pthread_mutex_unlock(&cn_rt.rt_lock);
    if (!up)
        return -ENODEV;
    cn_host_busy(true);
    int rc = 0;
    if (condis_unbind_all() != 0)
        rc = -EBUSY;
    /* Adapters go before the drivers that own them. */
    for (;;) {
        pthread_mutex_lock(&cn_rt.rt_lock);
        struct condis_adapter *ad = NULL;
        if (!IsListEmpty(&cn_rt.rt_adapters))
            ad = CONTAINING_RECORD(cn_rt.rt_adapters.Blink, struct condis_adapter, ad_link);
        pthread_mutex_unlock(&cn_rt.rt_lock);
        if (ad == NULL)
            break;
        if (condis_adapter_remove(ad) != 0)
            rc = -EBUSY;
    }
    for (;;) {
        pthread_mutex_lock(&cn_rt.rt_lock);
        struct condis_driver *im = NULL;
        for (LIST_ENTRY *e = cn_rt.rt_images.Blink; e != &cn_rt.rt_images; e = e->Blink) {
            struct condis_driver *x = CONTAINING_RECORD(e, struct condis_driver, im_link);
            if (x->im_loaded) {
                im = x;
                break;
            }
        }
        pthread_mutex_unlock(&cn_rt.rt_lock);
        if (im == NULL)
            break;
        if (condis_driver_unload(im) != 0)
            rc = -EBUSY;
    }
    cn_work_flush();
    cn_host_busy(false);
    return rc;
}

int condis_fini(void)
{
    pthread_mutex_lock(&cn_rt.rt_lock);
    bool up = cn_rt.rt_up;
    pthread_mutex_unlock(&cn_rt.rt_lock);
    if (!up)
        return 0;

    int rc = condis_stop();
    if (!condis_clean()) {
        condis_report_leaks();
        rc = -EBUSY;
    }

    if (watchdog_running) {
        atomic_store(&watchdog_stop, true);
        pthread_join(watchdog_thread, NULL);
        watchdog_running = false;
    }
    /* Free condis' own state, whatever drivers left behind. */
    cn_os_fini();
    cn_mem_fini();
    cn_memory_fini();
    cn_vc_fini();
    cn_stats_fini();
    cn_verify_fini();
    pthread_mutex_lock(&cn_rt.rt_lock);
    while (!IsListEmpty(&cn_rt.rt_images)) {
        struct condis_driver *im =
            CONTAINING_RECORD(RemoveHeadList(&cn_rt.rt_images), struct condis_driver, im_link);
        free(im->im_regpath_buf);
        free(im->im_name);
        free(im);
    }
    cn_rt.rt_up = false;
    pthread_mutex_unlock(&cn_rt.rt_lock);
    cn_param_clear();
    return rc;
}

struct leak_fill {
    struct condis_leak *out;
    size_t max, n;
};

static void leak_add(struct leak_fill *f, const char *kind, const char *owner, ULONG tag,
                     size_t count, size_t bytes, bool pool_open)
{
    if (f->n < f->max)
        f->out[f->n] = (struct condis_leak){ kind, owner ? owner : "?", tag, count, bytes, pool_open };
    f->n++;
}

static void fill_pool_leak(const struct cn_pool_leak *l, void *arg)
{
    leak_add(arg, l->pl_kind, l->pl_owner, l->pl_tag, l->pl_outstanding, 0, l->pl_pool_open);
}

static void fill_mem_leak(const struct cn_mem_leak *l, void *arg)
{
    leak_add(arg, "memory", l->ml_owner, l->ml_tag, l->ml_blocks, l->ml_bytes, false);
}

size_t condis_leaks(struct condis_leak *out, size_t max)
{
    struct leak_fill f = { out, max, 0 };
    struct condis_outstanding o;
    condis_outstanding(&o);
    cn_mem_leaks(fill_pool_leak, &f);
    cn_memory_leaks(fill_mem_leak, &f);
    if (o.nbls_in_flight)
        leak_add(&f, "in flight", NULL, 0, o.nbls_in_flight, 0, false);
    if (o.rx_outstanding)
        leak_add(&f, "indicated", NULL, 0, o.rx_outstanding, 0, false);
    if (o.vcs)
        leak_add(&f, "VC", NULL, 0, o.vcs, 0, false);
    if (o.afs)
        leak_add(&f, "address family", NULL, 0, o.afs, 0, false);
    if (o.bindings)
        leak_add(&f, "binding", NULL, 0, o.bindings, 0, false);
    if (o.adapters)
        leak_add(&f, "adapter", NULL, 0, o.adapters, 0, false);
    if (o.drivers)
        leak_add(&f, "driver", NULL, 0, o.drivers, 0, false);
    if (o.other_handles)
        leak_add(&f, "handle", NULL, 0, o.other_handles, 0, false);
    return f.n;
}
