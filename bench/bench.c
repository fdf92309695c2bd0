/*
 * bench.c - `condis bench`: condis' send path measured side by side with
 * what the hardware allows (DPDK's mempool and ring) and with what a
 * straightforward implementation costs (malloc and a locked list).
 *
 * A scenario is a real CoNDIS client (bench/benchcl.c, benchcl5.c) over a
 * built-in miniport, set up through the host API like any run: condis is
 * started, the drivers load and bind, every VC gets its call, and only
 * then is the send phase timed - the client's own clock, from its first
 * send to its last completion. Then the run is torn down and must end
 * clean (condis_fini: nothing leaked). Each repetition sets up afresh, so
 * no scenario inherits another's warm caches or pools.
 *
 * Every scenario and baseline runs once per round, in the same order,
 * after one warm-up round that is not counted: slow phases of the machine
 * (another process, frequency changes) then fall on every candidate alike,
 * and the ratios printed at the end compare numbers taken minutes apart at
 * most. The median of the rounds is a candidate's result; min and max show
 * the spread. A target is judged on the median of the rounds' own ratios,
 * round against round (paired_median).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <condis/builtin.h>
#include <condis/host.h>
#include <condis/verify.h>

#include "baseline.h"
#include "bench.h"
#include "bench_client.h"

#define MAX_REPS 64

/* ---- what is measured ------------------------------------------------------------- */

/* The client a scenario runs: one of the two bench clients. */
struct client_ops {
    const char *name;
    PDRIVER_INITIALIZE entry;
    void (*configure)(const struct cn_bench_client_cfg *cfg);
    int (*wait_ready)(unsigned ms);
    int (*run)(uint64_t count, uint64_t *elapsed_ns, uint64_t *received, uint64_t *allocs);
    int (*teardown)(unsigned ms);
    uint64_t (*errors)(void);
};

static const struct client_ops client6 = { "benchcl", BenchclDriverEntry, benchcl_configure,
                                           benchcl_wait_ready, benchcl_run, benchcl_teardown,
                                           benchcl_errors };
static const struct client_ops client5 = { "benchcl5", Benchcl5DriverEntry, benchcl5_configure,
                                           benchcl5_wait_ready, benchcl5_run,
                                           benchcl5_teardown, benchcl5_errors };

struct scenario {
    const char *name;
    const char *what;                /* one line for the table */
    const struct client_ops *client;
    const char *miniport;            /* a built-in miniport */
    const char *params[4];           /* "DRIVER.NAME=VALUE" */
    unsigned vcs, chain;
    bool verify;
    bool recv;                       /* every NBL also comes back as a receive */
    double count_scale;              /* of the per-round NBL count; at least two chains per VC */
};

static const struct scenario scenarios[] = {
    { "send6_inline_c1", "NDIS 6, miniport completes inline, chains of 1", &client6, "sim",
      { "sim.SimInline=1" }, 1, 1, false, false, 0.5 },
    { "send6_inline_c32", "NDIS 6, miniport completes inline, chains of 32", &client6, "sim",
      { "sim.SimInline=1" }, 1, 32, false, false, 1 },
    { "send6_dpc_c32", "NDIS 6, sender thread + the miniport's DPC thread, chains of 32", &client6,
      "sim", { "sim.SimDpcThreads=1" }, 1, 32, false, false, 1 },
    { "send5_inline_c32", "NDIS 5.x packets through the translation, inline, chains of 32",
      &client5, "sim", { "sim.SimInline=1" }, 1, 32, false, false, 1 },
    { "send6_verify_c32", "send6_inline_c32 with the verifier on", &client6, "sim",
      { "sim.SimInline=1" }, 1, 32, true, false, 0.25 },
    { "send6_inline_c32_100kvc", "send6_inline_c32 spread over 100,000 VCs", &client6, "sim",
      { "sim.SimInline=1" }, 100000, 32, false, false, 1 },
    { "recv6_loop_c32", "NDIS 6 send + loopback receive and return, chains of 32", &client6,
      "loop", { "loop.LoopInline=1" }, 1, 32, false, true, 0.5 },
};
#define NSCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

enum base_kind { BASE_NAIVE, BASE_DPDK1, BASE_DPDK2 };

struct baseline {
    const char *name;
    const char *what;
    enum base_kind kind;
    unsigned chain;
};

static const struct baseline baselines[] = {
    { "dpdk_1t_c32", "DPDK mempool get/put + ring enqueue/dequeue, bulks of 32, one thread",
      BASE_DPDK1, 32 },
    { "dpdk_2t_c32", "the same across two threads (producer, consumer)", BASE_DPDK2, 32 },
    { "naive_1t_c32", "malloc/free per packet and a mutex-protected list, one thread",
      BASE_NAIVE, 32 },
};
#define NBASELINES (sizeof(baselines) / sizeof(baselines[0]))

/* condis' speed targets (docs/bench.md): candidate <= factor x reference (or, with
 * faster_by, reference >= factor x candidate). */
struct target {
    const char *candidate, *reference;
    double factor;
    bool faster_by;
};

static const struct target targets[] = {
    { "send6_inline_c32", "dpdk_1t_c32", 8.0, false },
    { "send6_inline_c32", "naive_1t_c32", 3.0, true },
    { "send5_inline_c32", "send6_inline_c32", 1.3, false },
    { "send6_dpc_c32", "dpdk_2t_c32", 2.0, false },
    { "send6_inline_c32_100kvc", "send6_inline_c32", 1.3, false },
    { "send6_verify_c32", "send6_inline_c32", 5.0, false },
};

/* ---- results ---------------------------------------------------------------------- */

struct result {
    const char *name;
    bool selected, skipped;
    char why[256];                 /* why it was skipped or failed */
    unsigned n;
    double ns[MAX_REPS];           /* ns per NBL, per round */
    uint64_t allocs;               /* allocations while timed, all rounds (scenarios) */
    bool allocs_known;
    double setup_s;                /* seconds of setup in the last round (scenarios) */
    /* Heap in use once every call was up, last round (scenarios): all of
     * it, and what the drivers hold through NdisAllocateMemory*. */
    size_t heap_up, drivers_up;
    double median, min, max;
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void summarize(struct result *r)
{
    if (r->n == 0)
        return;
    double v[MAX_REPS];
    memcpy(v, r->ns, r->n * sizeof(double));
    qsort(v, r->n, sizeof(double), cmp_double);
    r->min = v[0];
    r->max = v[r->n - 1];
    r->median = r->n % 2 ? v[r->n / 2] : (v[r->n / 2 - 1] + v[r->n / 2]) / 2;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- driver chatter ----------------------------------------------------------------- */

/* Drivers and condis write their progress to stderr; a benchmark prints
 * only its table. The chatter of a scenario goes to a temporary file, and
 * is shown only when the scenario fails. */
static int quiet_fd = -1, saved_stderr = -1;

static void chatter_begin(void)
{
    char path[] = "/tmp/condis-bench-XXXXXX";
    fflush(stderr);
    quiet_fd = mkstemp(path);
    if (quiet_fd < 0)
        return;
    unlink(path);
    saved_stderr = dup(STDERR_FILENO);
    dup2(quiet_fd, STDERR_FILENO);
}

/* Ends the redirection; with show, copies what was said to stderr. */
static void chatter_end(bool show)
{
    if (quiet_fd < 0)
        return;
    fflush(stderr);
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    if (show) {
        char buf[4096];
        ssize_t n;
        off_t size = lseek(quiet_fd, 0, SEEK_END);
        /* The end says why; a long run's beginning is noise. */
        lseek(quiet_fd, size > 16384 ? size - 16384 : 0, SEEK_SET);
        while ((n = read(quiet_fd, buf, sizeof(buf))) > 0)
            fwrite(buf, 1, (size_t)n, stderr);
    }
    close(quiet_fd);
    quiet_fd = -1;
}

/* ---- one scenario, one round ---------------------------------------------------------- */

struct measured {
    double ns_per_nbl;
    uint64_t allocs;
    bool allocs_known;
    double setup_s;
    size_t heap_up, drivers_up;
};

/* Bytes of heap in use now, the whole process (glibc). */
static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

/* Bytes the drivers hold now through NdisAllocateMemory*, as condis
 * counts them for its leak report. */
static size_t driver_memory(void)
{
    size_t n = condis_leaks(NULL, 0), bytes = 0;
    struct condis_leak *l = calloc(n ? n : 1, sizeof(*l));
    if (l == NULL)
        return 0;
    n = condis_leaks(l, n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(l[i].kind, "memory") == 0)
            bytes += l[i].bytes;
    free(l);
    return bytes;
}

/* Sets up the run, times `count` NBLs through it, tears it down; 0, or
 * -1 with why filled in. The run must end clean. */
static int run_scenario(const struct scenario *s, uint64_t count, struct measured *m, char *why,
                        size_t whylen)
{
    double t0 = now_s();
    struct condis_options o = { .verify = s->verify ? CONDIS_VERIFY_ON : CONDIS_VERIFY_OFF };
    if (condis_init(&o) != 0) {
        snprintf(why, whylen, "condis_init failed");
        return -1;
    }
    int rc = -1;
    bool up = false;
    for (size_t i = 0; i < 4 && s->params[i]; i++) {
        char drv[64], key[64];
        const char *dot = strchr(s->params[i], '.'), *eq = strchr(s->params[i], '=');
        snprintf(drv, sizeof(drv), "%.*s", (int)(dot - s->params[i]), s->params[i]);
        snprintf(key, sizeof(key), "%.*s", (int)(eq - dot - 1), dot + 1);
        condis_param_set(drv, key, eq + 1);
    }
    struct cn_bench_client_cfg cfg = { .vcs = s->vcs, .chain = s->chain, .set = 4096,
                                       .size = 64 };
    s->client->configure(&cfg);
    struct condis_driver *mp = NULL, *cl = NULL;
    struct condis_adapter *ad = NULL;
    const struct condis_builtin *b = condis_builtin_find(s->miniport);
    if (b == NULL || condis_driver_load(b->name, b->entry, &mp, NULL) != 0 ||
        condis_driver_load(s->client->name, s->client->entry, &cl, NULL) != 0 ||
        condis_adapter_add(mp, NULL, &ad) != 0 || condis_bind_all() != 0) {
        snprintf(why, whylen, "the drivers did not load or bind");
        goto out;
    }
    int w = s->client->wait_ready(60000);
    if (w != 0) {
        snprintf(why, whylen, "the calls were not up (%s)", strerror(-w));
        goto out;
    }
    up = true;
    m->setup_s = now_s() - t0;
    m->heap_up = heap_in_use();
    m->drivers_up = driver_memory();
    /* Warm the client's set, the pools' caches and the branch predictors. */
    uint64_t ns = 0, received = 0, allocs = 0, a0 = 0;
    uint64_t warm = count / 10 > 1000 ? count / 10 : 1000;
    if (s->client->run(warm, &ns, &received, &allocs) != 0) {
        snprintf(why, whylen, "the warm-up send failed");
        goto out;
    }
    /* Counted by the client from its first send to its last chain back:
     * not what the host's call to start the run may allocate (a worker
     * thread the work queue adds when the last run's is not idle yet). */
    m->allocs_known = cn_bench_alloc_count(&a0);
    w = s->client->run(count, &ns, &received, &allocs);
    if (w != 0) {
        snprintf(why, whylen, "the send phase failed (%s)", strerror(-w));
        goto out;
    }
    if (s->recv && received != count) {
        snprintf(why, whylen, "%llu of %llu NBLs came back as receives",
                 (unsigned long long)received, (unsigned long long)count);
        goto out;
    }
    if (s->client->errors() != 0) {
        snprintf(why, whylen, "the client found %llu wrong completions",
                 (unsigned long long)s->client->errors());
        goto out;
    }
    m->ns_per_nbl = (double)ns / (double)count;
    m->allocs = allocs;
    rc = 0;
out:
    if (up && s->client->teardown(60000) != 0 && rc == 0) {
        snprintf(why, whylen, "the calls did not close");
        rc = -1;
    }
    condis_stop();
    if (s->verify && condis_verify_count(NULL) != 0 && rc == 0) {
        snprintf(why, whylen, "the verifier found %zu violation(s)", condis_verify_count(NULL));
        rc = -1;
    }
    if (condis_fini() != 0 && rc == 0) {
        snprintf(why, whylen, "the run did not end clean (leaks)");
        rc = -1;
    }
    return rc;
}

/* ---- the baselines -------------------------------------------------------------------- */

static const struct cn_bench_dpdk_api *dpdk;
static char dpdk_why[256];

/* The DPDK module, loaded once; NULL with dpdk_why set when unavailable. */
static const struct cn_bench_dpdk_api *dpdk_load(void)
{
    static bool tried;
    if (tried)
        return dpdk;
    tried = true;
    const char *paths[3] = { getenv("CONDIS_BENCH_DPDK"), NULL, NULL };
#ifdef CONDIS_BENCH_DPDK_BUILD_PATH
    paths[1] = CONDIS_BENCH_DPDK_BUILD_PATH;
#endif
#ifdef CONDIS_BENCH_DPDK_INSTALL_PATH
    paths[2] = CONDIS_BENCH_DPDK_INSTALL_PATH;
#endif
    void *h = NULL;
    for (int i = 0; i < 3 && h == NULL; i++)
        if (paths[i] != NULL && access(paths[i], F_OK) == 0 &&
            (h = dlopen(paths[i], RTLD_NOW | RTLD_LOCAL)) == NULL)
            snprintf(dpdk_why, sizeof(dpdk_why), "%s", dlerror());
    if (h == NULL) {
        if (dpdk_why[0] == 0)
            snprintf(dpdk_why, sizeof(dpdk_why),
                     "%s not found (condis was built without libdpdk-dev: install it and "
                     "rebuild)", CN_BENCH_DPDK_SO);
        return NULL;
    }
    const struct cn_bench_dpdk_api *(*get)(void) =
        (const struct cn_bench_dpdk_api *(*)(void))dlsym(h, CN_BENCH_DPDK_SYM);
    const struct cn_bench_dpdk_api *api = get ? get() : NULL;
    if (api == NULL || api->api_version != CN_BENCH_DPDK_API_VERSION) {
        snprintf(dpdk_why, sizeof(dpdk_why), "%s is from another version of condis",
                 CN_BENCH_DPDK_SO);
        return NULL;
    }
    chatter_begin();
    int rc = api->init(dpdk_why, sizeof(dpdk_why));
    chatter_end(rc != 0);
    if (rc != 0)
        return NULL;
    dpdk = api;
    return dpdk;
}

static int run_baseline(enum base_kind kind, unsigned chain, uint64_t count, double *ns_per,
                        char *why, size_t whylen)
{
    uint64_t ns = 0;
    int rc;
    if (kind == BASE_NAIVE) {
        rc = cn_bench_naive_run(chain, count, &ns, why, whylen);
    } else {
        if (dpdk_load() == NULL) {
            snprintf(why, whylen, "%s", dpdk_why);
            return -ENOENT;
        }
        rc = dpdk->run(kind == BASE_DPDK1 ? 1 : 2, chain, count, &ns, why, whylen);
    }
    if (rc == 0)
        *ns_per = (double)ns / (double)count;
    return rc;
}

/* ---- the machine ---------------------------------------------------------------------- */

struct machine {
    char cpu[128];
    long cpus;
    char kernel[160];
    char compiler[64];
};

static void machine_read(struct machine *m)
{
    snprintf(m->cpu, sizeof(m->cpu), "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "model name", 10) == 0) {
            const char *c = strchr(line, ':');
            if (c) {
                snprintf(m->cpu, sizeof(m->cpu), "%s", c + 2);
                m->cpu[strcspn(m->cpu, "\n")] = 0;
            }
            break;
        }
    if (f)
        fclose(f);
    m->cpus = sysconf(_SC_NPROCESSORS_ONLN);
    struct utsname u;
    if (uname(&u) == 0)
        snprintf(m->kernel, sizeof(m->kernel), "%s %s", u.sysname, u.release);
#ifdef __VERSION__
    snprintf(m->compiler, sizeof(m->compiler), "%s", __VERSION__);
#endif
}

/* ---- output ----------------------------------------------------------------------------- */

static const struct result *find_result(const struct result *r, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(r[i].name, name) == 0)
            return r[i].n ? &r[i] : NULL;
    return NULL;
}

/* The median of the rounds' own ratios num/den, round k against round k.
 * Both ran in every round, seconds apart, so a phase of the machine that
 * slowed one mostly slowed the other: on the 2-core development VM, whose
 * speed changes by up to 1.6x from one phase to the next, the ratio of two
 * medians moved between 1.16 and 1.83 over three runs where this moved
 * between 1.44 and 1.64 (send5_inline_c32 / send6_inline_c32). */
static double paired_median(const struct result *num, const struct result *den)
{
    unsigned n = num->n < den->n ? num->n : den->n;
    double v[MAX_REPS];
    for (unsigned k = 0; k < n; k++)
        v[k] = num->ns[k] / den->ns[k];
    qsort(v, n, sizeof(double), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* A target of this run, three ways; false when either side did not run. */
struct verdict {
    double ratio;   /* the median of the rounds' own ratios: the judge */
    double medians; /* of the two medians */
    double fastest; /* of the two fastest rounds (noise only ever slows a round down) */
    bool met;
};

static bool target_eval(const struct target *t, const struct result *sr, const struct result *br,
                        struct verdict *v)
{
    const struct result *c = find_result(sr, NSCENARIOS, t->candidate);
    const struct result *r = find_result(sr, NSCENARIOS, t->reference);
    if (r == NULL)
        r = find_result(br, NBASELINES, t->reference);
    if (c == NULL || r == NULL)
        return false;
    const struct result *num = t->faster_by ? r : c, *den = t->faster_by ? c : r;
    v->ratio = paired_median(num, den);
    v->medians = num->median / den->median;
    v->fastest = num->min / den->min;
    v->met = t->faster_by ? v->ratio >= t->factor : v->ratio <= t->factor;
    return true;
}

/* What one VC costs, from the heap in use once the calls were up in the
 * many-VC scenario and in its one-VC twin: the difference divided by the
 * VCs added. The drivers' share is what they hold through
 * NdisAllocateMemory* (the client's and the miniport's VC state); the
 * rest is condis'. Pools are the same size in both, so they cancel. */
#define VC_BYTES_LIMIT 512.0
static const char *const vc_cost_pair[2] = { "send6_inline_c32_100kvc", "send6_inline_c32" };

static bool vc_cost(const struct result *sr, double *condis_b, double *drivers_b)
{
    const struct result *many = NULL, *one = NULL;
    unsigned vmany = 0, vone = 0;
    for (size_t i = 0; i < NSCENARIOS; i++) {
        if (sr[i].n == 0)
            continue;
        if (strcmp(sr[i].name, vc_cost_pair[0]) == 0)
            many = &sr[i], vmany = scenarios[i].vcs;
        else if (strcmp(sr[i].name, vc_cost_pair[1]) == 0)
            one = &sr[i], vone = scenarios[i].vcs;
    }
    /* Where the heap is not glibc's (sanitizers), it cannot be measured. */
    if (many == NULL || one == NULL || vmany <= vone || !many->allocs_known || !one->allocs_known)
        return false;
    double added = (double)(vmany - vone);
    double drv = ((double)many->drivers_up - (double)one->drivers_up) / added;
    double all = ((double)many->heap_up - (double)one->heap_up) / added;
    *drivers_b = drv;
    *condis_b = all - drv;
    return true;
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", *s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

static void json_result(FILE *f, const struct result *r)
{
    json_string(f, r->name);
    if (r->n == 0) {
        fprintf(f, ": {\"skipped\": ");
        json_string(f, r->why);
        fprintf(f, "}");
        return;
    }
    fprintf(f, ": {\"ns_per_nbl\": %.3f, \"mpps\": %.3f, \"min\": %.3f, \"max\": %.3f, "
               "\"reps\": %u",
            r->median, 1000.0 / r->median, r->min, r->max, r->n);
    if (r->allocs_known)
        fprintf(f, ", \"allocs_timed\": %llu", (unsigned long long)r->allocs);
    if (r->setup_s > 0)
        fprintf(f, ", \"setup_s\": %.3f", r->setup_s);
    fprintf(f, "}");
}

static void print_json(FILE *f, const struct result *sr, const struct result *br,
                       const struct machine *m, bool quick)
{
    fprintf(f, "{\"scenarios\": {");
    bool first = true;
    for (size_t i = 0; i < NSCENARIOS; i++) {
        if (!sr[i].selected)
            continue;
        fprintf(f, "%s", first ? "" : ", ");
        first = false;
        json_result(f, &sr[i]);
    }
    fprintf(f, "}, \"baselines\": {");
    first = true;
    for (size_t i = 0; i < NBASELINES; i++) {
        if (!br[i].selected)
            continue;
        fprintf(f, "%s", first ? "" : ", ");
        first = false;
        json_result(f, &br[i]);
    }
    fprintf(f, "}, \"ratios\": {");
    first = true;
    for (size_t i = 0; i < NSCENARIOS; i++) {
        if (sr[i].n == 0)
            continue;
        for (size_t k = 0; k < NBASELINES; k++) {
            if (br[k].n == 0)
                continue;
            fprintf(f, "%s\"%s/%s\": %.3f", first ? "" : ", ", sr[i].name, br[k].name,
                    sr[i].median / br[k].median);
            first = false;
        }
    }
    fprintf(f, "}, \"targets\": [");
    first = true;
    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
        const struct target *t = &targets[i];
        struct verdict v;
        if (!target_eval(t, sr, br, &v))
            continue;
        fprintf(f, "%s{\"candidate\": \"%s\", \"reference\": \"%s\", \"%s\": %.3f, "
                   "\"limit\": %.2f, \"met\": %s, \"medians\": %.3f, \"fastest_rounds\": %.3f}",
                first ? "" : ", ", t->candidate, t->reference,
                t->faster_by ? "times_faster" : "ratio", v.ratio, t->factor,
                v.met ? "true" : "false", v.medians, v.fastest);
        first = false;
    }
    fprintf(f, "]");
    double vc_condis, vc_drivers;
    if (vc_cost(sr, &vc_condis, &vc_drivers))
        fprintf(f, ", \"vc_bytes\": {\"condis\": %.0f, \"drivers\": %.0f, \"limit\": %.0f, "
                   "\"met\": %s}",
                vc_condis, vc_drivers, VC_BYTES_LIMIT, vc_condis <= VC_BYTES_LIMIT ? "true" : "false");
    fprintf(f, ", \"machine\": {\"cpu\": ");
    json_string(f, m->cpu);
    fprintf(f, ", \"cpus\": %ld, \"kernel\": ", m->cpus);
    json_string(f, m->kernel);
    fprintf(f, ", \"compiler\": ");
    json_string(f, m->compiler);
    fprintf(f, ", \"condis\": ");
    json_string(f, condis_version());
    fprintf(f, ", \"quick\": %s}}\n", quick ? "true" : "false");
}

static void print_row(FILE *f, const struct result *r, const struct result *ref1,
                      const struct result *ref2)
{
    if (r->n == 0) {
        fprintf(f, "  %-25s skipped: %s\n", r->name, r->why);
        return;
    }
    fprintf(f, "  %-25s %8.2f %8.2f %8.2f %8.2f", r->name, r->median, r->min, r->max,
            1000.0 / r->median);
    if (ref1)
        fprintf(f, " %8.2fx", r->median / ref1->median);
    else
        fprintf(f, " %9s", "-");
    if (ref2)
        fprintf(f, " %8.2fx", r->median / ref2->median);
    else
        fprintf(f, " %9s", "-");
    if (r->allocs_known)
        fprintf(f, " %8llu", (unsigned long long)r->allocs);
    fputc('\n', f);
}

static void print_text(FILE *f, const struct result *sr, const struct result *br,
                       const struct machine *m, unsigned rounds)
{
    const struct result *d1 = find_result(br, NBASELINES, "dpdk_1t_c32");
    const struct result *nv = find_result(br, NBASELINES, "naive_1t_c32");
    fprintf(f, "condis bench: %s, %ld CPUs, %s; median of %u rounds after a warm-up\n\n", m->cpu,
            m->cpus, m->kernel, rounds);
    fprintf(f, "  %-25s %8s %8s %8s %8s %9s %9s %8s\n", "scenario", "ns/NBL", "min", "max",
            "M/s", "/dpdk_1t", "/naive", "allocs");
    for (size_t i = 0; i < NSCENARIOS; i++)
        if (sr[i].selected)
            print_row(f, &sr[i], d1, nv);
    fprintf(f, "\n  %-25s %8s %8s %8s %8s\n", "baseline", "ns/obj", "min", "max", "M/s");
    for (size_t i = 0; i < NBASELINES; i++)
        if (br[i].selected)
            print_row(f, &br[i], NULL, NULL);
    bool any = false;
    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
        const struct target *t = &targets[i];
        struct verdict v;
        if (!target_eval(t, sr, br, &v))
            continue;
        if (!any)
            fprintf(f, "\ntargets (this run):\n");
        any = true;
        if (t->faster_by)
            fprintf(f, "  %-4s %s / %s = %.2f: it is %.2fx as fast (wanted: at least %.1fx; "
                       "medians %.2fx, fastest rounds %.2fx)\n",
                    v.met ? "met" : "MISS", t->reference, t->candidate, v.ratio, v.ratio, t->factor,
                    v.medians, v.fastest);
        else
            fprintf(f, "  %-4s %s = %.2fx %s (wanted: at most %.1fx; medians %.2fx, fastest "
                       "rounds %.2fx)\n",
                    v.met ? "met" : "MISS", t->candidate, v.ratio, t->reference, t->factor,
                    v.medians, v.fastest);
    }
    double vc_condis, vc_drivers;
    if (vc_cost(sr, &vc_condis, &vc_drivers)) {
        if (!any)
            fprintf(f, "\ntargets (this run):\n");
        fprintf(f, "  %-4s a VC costs %.0f bytes in condis (wanted: at most %.0f); the drivers add "
                   "%.0f\n",
                vc_condis <= VC_BYTES_LIMIT ? "met" : "MISS", vc_condis, VC_BYTES_LIMIT,
                vc_drivers);
    }
    if (any)
        fprintf(f, "  (judged on the median of the rounds' own ratios, round against round; "
                   "'medians' compares\n   the two medians, 'fastest rounds' the two minimums, "
                   "which noise cannot lower)\n");
    fprintf(f, "\nallocs: heap allocations made while the send phase was timed, all rounds "
               "together (0: none per NBL).\n");
}

/* ---- the chain sweep and its plot -------------------------------------------------------- */

static const unsigned sweep_chains[] = { 1, 2, 4, 8, 16, 32, 64, 128 };
#define NSWEEP (sizeof(sweep_chains) / sizeof(sweep_chains[0]))

/* ns per NBL of send6_inline and of the three baselines, for each chain
 * length; the medians of `rounds`. Written as a table gnuplot reads. */
static int sweep(const char *png, uint64_t count, unsigned rounds)
{
    char dat[4096];
    snprintf(dat, sizeof(dat), "%s.dat", png);
    FILE *f = fopen(dat, "w");
    if (f == NULL) {
        fprintf(stderr, "condis bench: cannot write %s: %s\n", dat, strerror(errno));
        return -1;
    }
    fprintf(f, "# chain condis_send6_inline dpdk_1t dpdk_2t naive_1t (ns per NBL or object)\n");
    for (size_t c = 0; c < NSWEEP; c++) {
        struct scenario s = scenarios[1];
        s.chain = sweep_chains[c];
        double v[4][MAX_REPS];
        unsigned n[4] = { 0 };
        for (unsigned r = 0; r < rounds; r++) {
            struct measured m = { 0 };
            char why[256];
            chatter_begin();
            int rc = run_scenario(&s, count, &m, why, sizeof(why));
            chatter_end(rc != 0);
            if (rc == 0)
                v[0][n[0]++] = m.ns_per_nbl;
            for (int k = 1; k < 4; k++) {
                double ns;
                enum base_kind kind = k == 1 ? BASE_DPDK1 : k == 2 ? BASE_DPDK2 : BASE_NAIVE;
                if (run_baseline(kind, sweep_chains[c], count * 2, &ns, why, sizeof(why)) == 0)
                    v[k][n[k]++] = ns;
            }
        }
        fprintf(f, "%u", sweep_chains[c]);
        for (int k = 0; k < 4; k++) {
            if (n[k] == 0) {
                fprintf(f, " NaN");
                continue;
            }
            qsort(v[k], n[k], sizeof(double), cmp_double);
            fprintf(f, " %.3f", v[k][n[k] / 2]);
        }
        fputc('\n', f);
        fprintf(stderr, "condis bench: sweep chain %u done\n", sweep_chains[c]);
    }
    fclose(f);

    if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
        fprintf(stderr, "condis bench: gnuplot is not installed; the sweep is in %s "
                        "(apt-get install gnuplot-nox to get %s)\n", dat, png);
        return 0;
    }
    char script[3 * 4096];
    snprintf(script, sizeof(script),
             "gnuplot -e \"set terminal png size 900,560; set output '%s'; "
             "set title 'condis send path vs baselines'; set logscale x 2; set logscale y; "
             "set xlabel 'chain length (NBLs per send call / objects per bulk)'; "
             "set ylabel 'ns per NBL (object)'; set grid; set key top right; "
             "plot '%s' using 1:2 with linespoints title 'condis send6 inline', "
             "'' using 1:3 with linespoints title 'dpdk 1 thread', "
             "'' using 1:4 with linespoints title 'dpdk 2 threads', "
             "'' using 1:5 with linespoints title 'naive (malloc + mutex)'\"",
             png, dat);
    if (system(script) != 0) {
        fprintf(stderr, "condis bench: gnuplot failed; the sweep is in %s\n", dat);
        return -1;
    }
    fprintf(stderr, "condis bench: wrote %s\n", png);
    return 0;
}

/* ---- the command ------------------------------------------------------------------------ */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: condis bench [--quick] [--json] [--only NAME]... [--rounds N] [--plot FILE.png]\n"
            "\n"
            "Runs every scenario (a CoNDIS client and a built-in miniport through the public\n"
            "API) and every baseline in one process, interleaved, one warm-up round and then\n"
            "N rounds, and reports per scenario the median, min and max ns per NBL (packet),\n"
            "millions per second, its ratio to the baselines of the same run, condis' speed\n"
            "targets, and the heap allocations made while the send phase was timed.\n"
            "\n"
            "options:\n"
            "  --quick          fewer NBLs and rounds: done in under a minute\n"
            "  --json           one JSON object on stdout (docs/bench.md)\n"
            "  --only NAME      run only this scenario or baseline (repeatable)\n"
            "  --rounds N       rounds after the warm-up (default 7, --quick 3; at most %d)\n"
            "  --plot FILE.png  also sweep chain lengths 1..128 for send6_inline and the\n"
            "                   baselines, and plot ns/NBL against chain length (gnuplot)\n"
            "  -h, --help       this text\n"
            "\n"
            "scenarios:\n",
            MAX_REPS);
    for (size_t i = 0; i < NSCENARIOS; i++)
        fprintf(f, "  %-25s %s\n", scenarios[i].name, scenarios[i].what);
    fprintf(f, "baselines:\n");
    for (size_t i = 0; i < NBASELINES; i++)
        fprintf(f, "  %-25s %s\n", baselines[i].name, baselines[i].what);
}

static bool parse_uint(const char *s, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        return false;
    *out = v;
    return true;
}

int cn_bench_main(int argc, char **argv)
{
    bool quick = false, json = false;
    const char *only[32];
    size_t nonly = 0;
    unsigned long rounds = 0;
    const char *plot = NULL;
    enum { OPT_QUICK = 256, OPT_JSON, OPT_ONLY, OPT_ROUNDS, OPT_PLOT };
    static const struct option opts[] = {
        { "quick", no_argument, NULL, OPT_QUICK },   { "json", no_argument, NULL, OPT_JSON },
        { "only", required_argument, NULL, OPT_ONLY }, { "rounds", required_argument, NULL, OPT_ROUNDS },
        { "plot", required_argument, NULL, OPT_PLOT }, { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_QUICK: quick = true; break;
        case OPT_JSON: json = true; break;
        case OPT_ONLY:
            if (nonly == sizeof(only) / sizeof(only[0])) {
                fprintf(stderr, "condis: too many --only\n");
                return 2;
            }
            only[nonly++] = optarg;
            break;
        case OPT_ROUNDS:
            if (!parse_uint(optarg, &rounds) || rounds < 1 || rounds > MAX_REPS) {
                fprintf(stderr, "condis: --rounds takes a number from 1 to %d, not '%s'\n",
                        MAX_REPS, optarg);
                return 2;
            }
            break;
        case OPT_PLOT: plot = optarg; break;
        case 'h': usage(stdout); return 0;
        case ':':
            fprintf(stderr, "condis: %s needs a value; see `condis bench --help`\n",
                    argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "condis: unknown option '%s'; see `condis bench --help`\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "condis: unexpected argument '%s'; see `condis bench --help`\n",
                argv[optind]);
        return 2;
    }
    if (rounds == 0)
        rounds = quick ? 3 : 7;
    uint64_t count = quick ? 400000 : 2000000;

    struct result sr[NSCENARIOS], br[NBASELINES];
    memset(sr, 0, sizeof(sr));
    memset(br, 0, sizeof(br));
    size_t selected = 0;
    for (size_t i = 0; i < NSCENARIOS + NBASELINES; i++) {
        struct result *r = i < NSCENARIOS ? &sr[i] : &br[i - NSCENARIOS];
        r->name = i < NSCENARIOS ? scenarios[i].name : baselines[i - NSCENARIOS].name;
        r->selected = nonly == 0;
        for (size_t k = 0; k < nonly; k++)
            r->selected |= strcmp(only[k], r->name) == 0;
        selected += r->selected;
    }
    for (size_t k = 0; k < nonly; k++) {
        bool known = false;
        for (size_t i = 0; i < NSCENARIOS; i++)
            known |= strcmp(only[k], sr[i].name) == 0;
        for (size_t i = 0; i < NBASELINES; i++)
            known |= strcmp(only[k], br[i].name) == 0;
        if (!known) {
            fprintf(stderr, "condis: --only %s: no scenario or baseline has that name; "
                            "see `condis bench --help`\n", only[k]);
            return 2;
        }
    }

    struct machine m = { 0 };
    machine_read(&m);
    if (!json)
        fprintf(stderr, "condis bench: %zu candidates, 1 warm-up round + %lu rounds%s\n",
                selected, rounds, quick ? " (quick)" : "");

    int status = 0;
    for (unsigned long round = 0; round <= rounds; round++) {
        bool counted = round > 0; /* round 0 warms up */
        for (size_t i = 0; i < NSCENARIOS; i++) {
            struct result *r = &sr[i];
            if (!r->selected || r->skipped)
                continue;
            const struct scenario *s = &scenarios[i];
            struct measured me = { 0 };
            uint64_t n = (uint64_t)((double)count * s->count_scale);
            /* Every VC gets at least two chains: spread means all of them. */
            if (n < 2ull * s->vcs * s->chain)
                n = 2ull * s->vcs * s->chain;
            chatter_begin();
            int rc = run_scenario(s, n, &me, r->why, sizeof(r->why));
            chatter_end(rc != 0);
            if (rc != 0) {
                fprintf(stderr, "condis bench: %s: %s\n", r->name, r->why);
                r->skipped = true;
                r->n = 0;
                status = 1;
                continue;
            }
            if (counted) {
                r->ns[r->n++] = me.ns_per_nbl;
                r->allocs += me.allocs;
                r->allocs_known = me.allocs_known;
                r->setup_s = me.setup_s;
                r->heap_up = me.heap_up;
                r->drivers_up = me.drivers_up;
            }
        }
        for (size_t i = 0; i < NBASELINES; i++) {
            struct result *r = &br[i];
            if (!r->selected || r->skipped)
                continue;
            double ns;
            int rc = run_baseline(baselines[i].kind, baselines[i].chain, count * 4, &ns, r->why,
                                  sizeof(r->why));
            if (rc != 0) {
                if (!json)
                    fprintf(stderr, "condis bench: %s skipped: %s\n", r->name, r->why);
                r->skipped = true;
                continue;
            }
            if (counted)
                r->ns[r->n++] = ns;
        }
        if (!json)
            fprintf(stderr, "condis bench: %s done\n",
                    counted ? "round" : "warm-up");
    }
    for (size_t i = 0; i < NSCENARIOS; i++)
        summarize(&sr[i]);
    for (size_t i = 0; i < NBASELINES; i++)
        summarize(&br[i]);

    if (json)
        print_json(stdout, sr, br, &m, quick);
    else
        print_text(stdout, sr, br, &m, (unsigned)rounds);
    fflush(stdout);

    if (plot != NULL && sweep(plot, quick ? count / 2 : count, quick ? 1 : 3) != 0)
        status = 1;
    if (dpdk != NULL)
        dpdk->fini();
    return status;
}
