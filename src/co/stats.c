/*
 * stats.c - what every VC carried: one record per VC and one per binding,
 * kept for the whole run, and their sums per binding, per protocol and for
 * the run.
 *
 * Records are created and marked deleted on the control plane (VC create
 * and delete); the data path only adds to their counters. Reading them for
 * a report takes rt_lock to walk the list, never a lock the data path uses.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cn_co.h"

/* Nanoseconds per tick of cn_ticks(), measured once per process. */
static double ns_per_tick;
static pthread_once_t calibrate_once = PTHREAD_ONCE_INIT;

static void calibrate(void)
{
#if defined(__x86_64__) || defined(__i386__)
    uint64_t n0 = cn_now_ns(), t0 = cn_ticks();
    struct timespec ts = { 0, 5 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    uint64_t n1 = cn_now_ns(), t1 = cn_ticks();
    ns_per_tick = t1 > t0 ? (double)(n1 - n0) / (double)(t1 - t0) : 1.0;
#else
    ns_per_tick = 1.0;
#endif
}

/* Where the counters of a VC (or a binding) go when no record could be
 * allocated: the data path always has a record to add to, and these are
 * never listed. */
static struct cn_bindrec overflow_bind = { .br_protocol = "?", .br_miniport = "?" };
static struct cn_vcrec overflow_rec = { .r_link = { &overflow_rec.r_link, &overflow_rec.r_link },
                                        .r_bind = &overflow_bind };

/* The record of b, made with its first VC. rt_lock held. */
static struct cn_bindrec *bindrec_of(struct cn_binding *b, struct cn_vc *vc)
{
    if (b->b_rec != NULL)
        return b->b_rec;
    struct cn_bindrec *br = calloc(1, sizeof(*br));
    if (br == NULL)
        return NULL;
    br->br_protocol = vc->vc_client_name;
    br->br_miniport = vc->vc_mp_name;
    br->br_image = b->b_protocol->drv_image;
    snprintf(br->br_adapter, sizeof(br->br_adapter), "%s", b->b_adapter->ad_name);
    br->br_binding = b->b_ordinal;
    InsertTailList(&cn_rt.rt_bindrecs, &br->br_link);
    b->b_rec = br;
    return br;
}

struct cn_vcrec *cn_stats_vc_new(struct cn_vc *vc, struct cn_binding *b)
{
    pthread_once(&calibrate_once, calibrate);
    struct cn_vcrec *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return &overflow_rec;
    r->r_live = true;
    r->r_created_ns = cn_now_ns();
    pthread_mutex_lock(&cn_rt.rt_lock);
    r->r_bind = bindrec_of(b, vc);
    if (r->r_bind == NULL) {
        pthread_mutex_unlock(&cn_rt.rt_lock);
        free(r);
        return &overflow_rec;
    }
    r->r_vc = b->b_vcs++;
    InsertTailList(&cn_rt.rt_vcrecs, &r->r_link);
    pthread_mutex_unlock(&cn_rt.rt_lock);
    return r;
}

void cn_stats_vc_discard(struct cn_vcrec *r)
{
    if (r == &overflow_rec)
        return;
    pthread_mutex_lock(&cn_rt.rt_lock);
    RemoveEntryList(&r->r_link);
    pthread_mutex_unlock(&cn_rt.rt_lock);
    free(r);
}

/* Add what one VC carried, or a sum of such, to a sum. */
static void sum_rec(struct cn_vcsum *s, struct cn_vcrec *r)
{
    s->sent += atomic_load_explicit(&r->r_sent, memory_order_relaxed);
    s->sent_bytes += atomic_load_explicit(&r->r_sent_bytes, memory_order_relaxed);
    s->completed += atomic_load_explicit(&r->r_completed, memory_order_relaxed);
    s->failed += atomic_load_explicit(&r->r_failed, memory_order_relaxed);
    s->refused += atomic_load_explicit(&r->r_refused, memory_order_relaxed);
    s->received += atomic_load_explicit(&r->r_received, memory_order_relaxed);
    s->received_bytes += atomic_load_explicit(&r->r_received_bytes, memory_order_relaxed);
    s->lat_n += atomic_load_explicit(&r->r_lat_n, memory_order_relaxed);
    s->lat_sum += atomic_load_explicit(&r->r_lat_sum, memory_order_relaxed);
    unsigned long long max = atomic_load_explicit(&r->r_lat_max, memory_order_relaxed);
    if (max > s->lat_max)
        s->lat_max = max;
}

static void sum_merge(struct cn_vcsum *s, const struct cn_vcsum *o)
{
    s->sent += o->sent;
    s->sent_bytes += o->sent_bytes;
    s->completed += o->completed;
    s->failed += o->failed;
    s->refused += o->refused;
    s->received += o->received;
    s->received_bytes += o->received_bytes;
    s->lat_n += o->lat_n;
    s->lat_sum += o->lat_sum;
    if (o->lat_max > s->lat_max)
        s->lat_max = o->lat_max;
}

/* Count the record of a VC deleted long ago into its binding's record
 * and free it. rt_lock held. The VC's memory was reused long since: no
 * send path can still hold this record. */
static void fold(struct cn_vcrec *r)
{
    struct cn_bindrec *br = r->r_bind;
    RemoveEntryList(&r->r_link);
    RemoveEntryList(&r->r_dead_link);
    br->br_folded++;
    sum_rec(&br->br_fsum, r);
    free(r);
}

void cn_stats_vc_deleted(struct cn_vcrec *r)
{
    if (r == &overflow_rec)
        return;
    pthread_mutex_lock(&cn_rt.rt_lock);
    r->r_live = false;
    r->r_deleted_ns = cn_now_ns();
    InsertTailList(&cn_rt.rt_deadrecs, &r->r_dead_link);
    if (++cn_rt.rt_ndead > cn_rt.rt_opt.deleted_vcs_kept) {
        fold(CONTAINING_RECORD(cn_rt.rt_deadrecs.Flink, struct cn_vcrec, r_dead_link));
        cn_rt.rt_ndead--;
    }
    pthread_mutex_unlock(&cn_rt.rt_lock);
}

void cn_stats_fini(void)
{
    pthread_mutex_lock(&cn_rt.rt_lock);
    while (!IsListEmpty(&cn_rt.rt_vcrecs))
        free(CONTAINING_RECORD(RemoveHeadList(&cn_rt.rt_vcrecs), struct cn_vcrec, r_link));
    while (!IsListEmpty(&cn_rt.rt_bindrecs))
        free(CONTAINING_RECORD(RemoveHeadList(&cn_rt.rt_bindrecs), struct cn_bindrec, br_link));
    InitializeListHead(&cn_rt.rt_deadrecs);
    cn_rt.rt_ndead = 0;
    pthread_mutex_unlock(&cn_rt.rt_lock);
}

void cn_stats_count_status(struct cn_vcrec *vr, NDIS_STATUS st, unsigned long n)
{
    struct cn_bindrec *r = vr->r_bind;
    for (int i = 0; i < CN_REC_STATUSES; i++) {
        int cur = atomic_load_explicit(&r->br_status[i].st_status, memory_order_relaxed);
        if (cur == 0) {
            /* Claim a free slot for this status (0 is NDIS_STATUS_SUCCESS,
             * which is never counted here). */
            int expected = 0;
            if (atomic_compare_exchange_strong(&r->br_status[i].st_status, &expected, st) ||
                expected == st) {
                atomic_fetch_add_explicit(&r->br_status[i].st_count, n, memory_order_relaxed);
                return;
            }
            continue;
        }
        if (cur == st) {
            atomic_fetch_add_explicit(&r->br_status[i].st_count, n, memory_order_relaxed);
            return;
        }
    }
    atomic_fetch_add_explicit(&r->br_other_status, n, memory_order_relaxed);
}

/* ---- sums ------------------------------------------------------------------ */

struct acc {
    struct condis_traffic t;  /* failures by status; the rest comes from s */
    struct cn_vcsum s;
    bool hist;                /* a binding's or the run's: lat is filled */
    unsigned long long lat[CN_LAT_BUCKETS];
};

static void acc_add(struct acc *a, struct cn_vcrec *r)
{
    sum_rec(&a->s, r);
}

/* A binding's failures by status, its latency histogram, and the VCs
 * folded into it. rt_lock held. */
static void acc_add_bind(struct acc *a, struct cn_bindrec *br)
{
    struct condis_traffic *t = &a->t;
    sum_merge(&a->s, &br->br_fsum);
    for (int i = 0; i < CN_REC_STATUSES; i++) {
        NDIS_STATUS st = atomic_load(&br->br_status[i].st_status);
        unsigned long long n = atomic_load(&br->br_status[i].st_count);
        if (st == 0 || n == 0)
            continue;
        unsigned k;
        for (k = 0; k < t->nfailures; k++)
            if (t->failures[k].status == st)
                break;
        if (k == t->nfailures) {
            if (k == sizeof(t->failures) / sizeof(t->failures[0])) {
                t->other_failures += n;
                continue;
            }
            t->nfailures++;
            t->failures[k].status = st;
        }
        t->failures[k].count += n;
    }
    t->other_failures += atomic_load(&br->br_other_status);
    for (int i = 0; i < CN_LAT_BUCKETS; i++)
        a->lat[i] += atomic_load_explicit(&br->br_lat[i], memory_order_relaxed);
    a->hist = true;
}

/* The upper edge of bucket b, in microseconds. */
static double bucket_us(unsigned b)
{
    if (b < 2)
        return 2.0 * ns_per_tick / 1000.0;
    unsigned msb = b / 2;
    double lo = ldexp(1.0, (int)msb) * (b & 1 ? 1.5 : 1.0);
    double hi = lo + ldexp(1.0, (int)msb - 1);
    return hi * ns_per_tick / 1000.0;
}

static void acc_finish(struct acc *a)
{
    struct condis_traffic *t = &a->t;
    const struct cn_vcsum *s = &a->s;
    t->sent = s->sent;
    t->bytes_sent = s->sent_bytes;
    t->completed = s->completed;
    t->failed = s->failed;
    t->refused = s->refused;
    t->received = s->received;
    t->bytes_received = s->received_bytes;
    t->outstanding = t->sent - t->completed;
    t->latency_percentiles = a->hist;
    t->latency_samples = s->lat_n;
    if (s->lat_n == 0)
        return;
    t->latency_mean_us = (double)s->lat_sum / (double)s->lat_n * ns_per_tick / 1000.0;
    t->latency_max_us = (double)s->lat_max * ns_per_tick / 1000.0;
    unsigned long long n = 0;
    for (int i = 0; i < CN_LAT_BUCKETS; i++)
        n += a->lat[i];
    if (!a->hist || n == 0)
        return;
    /* A bucket's upper edge, but never above the largest sample seen. */
    unsigned long long p50 = (n + 1) / 2, p99 = n - n / 100, seen = 0;
    for (unsigned i = 0; i < CN_LAT_BUCKETS; i++) {
        if (a->lat[i] == 0)
            continue;
        seen += a->lat[i];
        double edge = fmin(bucket_us(i), t->latency_max_us);
        if (t->latency_p50_us == 0 && seen >= p50)
            t->latency_p50_us = edge;
        if (t->latency_p99_us == 0 && seen >= p99)
            t->latency_p99_us = edge;
    }
}

int condis_driver_stats(struct condis_driver *drv, struct condis_driver_stats *out)
{
    if (drv == NULL || out == NULL)
        return -EINVAL;
    struct acc *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return -ENOMEM;
    unsigned long created = 0, live = 0;
    pthread_mutex_lock(&cn_rt.rt_lock);
    for (LIST_ENTRY *e = cn_rt.rt_vcrecs.Flink; e != &cn_rt.rt_vcrecs; e = e->Flink) {
        struct cn_vcrec *r = CONTAINING_RECORD(e, struct cn_vcrec, r_link);
        if (r->r_bind->br_image != drv)
            continue;
        created++;
        live += r->r_live;
        acc_add(a, r);
    }
    for (LIST_ENTRY *e = cn_rt.rt_bindrecs.Flink; e != &cn_rt.rt_bindrecs; e = e->Flink) {
        struct cn_bindrec *br = CONTAINING_RECORD(e, struct cn_bindrec, br_link);
        if (br->br_image != drv)
            continue;
        created += br->br_folded;
        acc_add_bind(a, br);
    }
    pthread_mutex_unlock(&cn_rt.rt_lock);
    acc_finish(a);
    memset(out, 0, sizeof(*out));
    out->vcs_created = created;
    out->vcs_live = live;
    out->nbls_sent = a->t.sent;
    out->bytes_sent = a->t.bytes_sent;
    out->nbls_completed = a->t.completed;
    out->nbls_failed = a->t.failed;
    out->nbls_refused = a->t.refused;
    out->nbls_received = a->t.received;
    out->bytes_received = a->t.bytes_received;
    free(a);
    return 0;
}

static void fill_ids(struct cn_bindrec *br, const char **protocol, const char **miniport,
                     const char **adapter)
{
    *protocol = br->br_protocol;
    *miniport = br->br_miniport;
    *adapter = br->br_adapter;
}

size_t condis_vc_reports(struct condis_vc_report *out, size_t max)
{
    size_t n = 0;
    struct acc *a = malloc(sizeof(*a));
    if (a == NULL)
        return 0;
    pthread_mutex_lock(&cn_rt.rt_lock);
    for (LIST_ENTRY *e = cn_rt.rt_vcrecs.Flink; e != &cn_rt.rt_vcrecs; e = e->Flink, n++) {
        if (n >= max)
            continue;
        struct cn_vcrec *r = CONTAINING_RECORD(e, struct cn_vcrec, r_link);
        struct condis_vc_report *v = &out[n];
        memset(v, 0, sizeof(*v));
        memset(a, 0, sizeof(*a));
        fill_ids(r->r_bind, &v->protocol, &v->miniport, &v->adapter);
        v->binding = r->r_bind->br_binding;
        v->vc = r->r_vc;
        v->live = r->r_live;
        v->seconds = (double)((r->r_live ? cn_now_ns() : r->r_deleted_ns) - r->r_created_ns) / 1e9;
        acc_add(a, r);
        acc_finish(a);
        v->traffic = a->t;
    }
    pthread_mutex_unlock(&cn_rt.rt_lock);
    free(a);
    return n;
}

size_t condis_binding_reports(struct condis_binding_report *out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&cn_rt.rt_lock);
    /* Bindings are numbered densely from 0 in the order they were made. */
    unsigned nb = cn_rt.rt_next_binding;
    struct acc *a = calloc(nb ? nb : 1, sizeof(*a));
    struct condis_binding_report *tmp = calloc(nb ? nb : 1, sizeof(*tmp));
    if (a == NULL || tmp == NULL) {
        pthread_mutex_unlock(&cn_rt.rt_lock);
        free(a);
        free(tmp);
        return 0;
    }
    for (LIST_ENTRY *e = cn_rt.rt_bindrecs.Flink; e != &cn_rt.rt_bindrecs; e = e->Flink) {
        struct cn_bindrec *br = CONTAINING_RECORD(e, struct cn_bindrec, br_link);
        if (br->br_binding >= nb)
            continue;
        struct condis_binding_report *b = &tmp[br->br_binding];
        fill_ids(br, &b->protocol, &b->miniport, &b->adapter);
        b->binding = br->br_binding;
        b->vcs = b->vcs_folded = br->br_folded;
        acc_add_bind(&a[br->br_binding], br);
    }
    for (LIST_ENTRY *e = cn_rt.rt_vcrecs.Flink; e != &cn_rt.rt_vcrecs; e = e->Flink) {
        struct cn_vcrec *r = CONTAINING_RECORD(e, struct cn_vcrec, r_link);
        if (r->r_bind->br_binding >= nb)
            continue;
        tmp[r->r_bind->br_binding].vcs++;
        acc_add(&a[r->r_bind->br_binding], r);
    }
    pthread_mutex_unlock(&cn_rt.rt_lock);
    for (unsigned i = 0; i < nb; i++) {
        if (tmp[i].vcs == 0)
            continue;
        acc_finish(&a[i]);
        tmp[i].traffic = a[i].t;
        if (n < max)
            out[n] = tmp[i];
        n++;
    }
    free(a);
    free(tmp);
    return n;
}

int condis_total_report(struct condis_traffic *out)
{
    if (out == NULL)
        return -EINVAL;
    struct acc *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return -ENOMEM;
    a->hist = true;
    pthread_mutex_lock(&cn_rt.rt_lock);
    for (LIST_ENTRY *e = cn_rt.rt_vcrecs.Flink; e != &cn_rt.rt_vcrecs; e = e->Flink)
        acc_add(a, CONTAINING_RECORD(e, struct cn_vcrec, r_link));
    for (LIST_ENTRY *e = cn_rt.rt_bindrecs.Flink; e != &cn_rt.rt_bindrecs; e = e->Flink)
        acc_add_bind(a, CONTAINING_RECORD(e, struct cn_bindrec, br_link));
    pthread_mutex_unlock(&cn_rt.rt_lock);
    acc_finish(a);
    *out = a->t;
    free(a);
    return 0;
}
