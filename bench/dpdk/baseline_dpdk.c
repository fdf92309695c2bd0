/*
 * dpdk_1t / dpdk_2t: DPDK's own answer to "take a descriptor, write its first cache line, hand it
 * over, get it back": rte_mempool get/put with a per-lcore cache and an rte_ring between sender and
 * completer, all in bulks of `chain`. This is the reference condis is held against, so it uses the
 * fastest shape DPDK offers that still does the same work: per-lcore mempool caches, a
 * single-producer/single-consumer ring, and single-producer/single-consumer flags on the pool's own
 * backing ring (only one thread ever gets from it and only one ever puts to it, see pool_create).
 *
 * Built as a MODULE (condis-bench-dpdk.so) and loaded with dlopen by the CLI; nothing else in condis
 * links DPDK. The EAL runs without hugepages, PCI, shared files or telemetry, so it needs no root
 * and leaves nothing behind in /dev/hugepages or /var/run/dpdk.
 */
#include "../baseline.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mempool.h>
#include <rte_pause.h>
#include <rte_ring.h>

/*
 * Pool size. The producer stops only when the hand-over ring is full, never because the pool ran
 * dry: the pool must hold the ring's capacity, both lcores' caches at their flush threshold
 * (1.5 x cache size), a bulk in each thread's hands, and more. 2^13 - 1 (the size the ring-backed
 * mempool likes best) is ~2.5x that, and costs ~2.6 MB.
 */
#define DPDK_POOL_SIZE ((1u << 13) - 1)
/* Per-lcore cache: large enough that a 256-object bulk is served from it (put flushes only past
 * 1.5 x 256 = 384 objects), at most RTE_MEMPOOL_CACHE_MAX_SIZE (512). */
#define DPDK_POOL_CACHE 256u
/* Hand-over ring: four maximal bulks, so a producer at full speed is rarely blocked by a consumer
 * one bulk behind, while the pointers in flight stay within a few KB. Power of two, as rte_ring needs. */
#define DPDK_RING_SIZE 1024u

/* Everything init sets up; the module is a singleton because the EAL is one per process. */
static struct {
    int dp_init_rc;             /* 1: init not called yet; else the result of the first init */
    char dp_init_err[256];      /* the message that went with a failed init, replayed on later calls */
    int dp_eal_up;              /* rte_eal_init succeeded and rte_eal_cleanup not yet called */
    unsigned dp_worker;         /* lcore id of the consumer for dpdk_2t, RTE_MAX_LCORE if none */
    struct rte_mempool *dp_pool;
    struct rte_ring *dp_ring;
} dp = { .dp_init_rc = 1, .dp_worker = RTE_MAX_LCORE };

/* What the consumer lcore is told to do for one dpdk_2t run. */
struct dpdk_consumer_job {
    unsigned dj_chain;
    uint64_t dj_objects;
};

static uint64_t dpdk_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The first cache line of every object in the bulk: the work a sender does filling a descriptor. */
static inline void dpdk_write_bulk(void **objs, unsigned n, unsigned seq)
{
    unsigned i;

    for (i = 0; i < n; i++)
        memset(objs[i], (int)(seq + i), CN_BENCH_OBJ_WRITE);
}

static inline unsigned dpdk_bulk_len(uint64_t done, uint64_t objects, unsigned chain)
{
    return objects - done < chain ? (unsigned)(objects - done) : chain;
}

/*
 * Picks the EAL's CPUs from the caller's affinity mask rather than hard-coding "-l 0,1": the bench
 * may run under taskset or in a container that does not own CPU 0. Writes the -l argument and
 * returns the number of CPUs chosen (1 or 2).
 */
static int dpdk_pick_cpus(const cpu_set_t *allowed, char *arg, size_t arglen)
{
    int cpu, found = 0, first = -1;

    for (cpu = 0; cpu < CPU_SETSIZE && found < 2; cpu++) {
        if (!CPU_ISSET(cpu, allowed))
            continue;
        if (found++ == 0)
            first = cpu;
        else
            snprintf(arg, arglen, "%d,%d", first, cpu);
    }
    if (found == 1)
        snprintf(arg, arglen, "%d", first);
    return found;
}

/*
 * The pool: CN_BENCH_OBJ_SIZE-byte objects with a per-lcore cache. SP_PUT/SC_GET choose the
 * single-producer/single-consumer backing ring, which is correct for both shapes: in dpdk_1t one
 * thread does everything; in dpdk_2t only the producer (main lcore) gets and only the consumer
 * (worker lcore) puts, and the two runs never overlap.
 */
static int dpdk_pool_create(char *err, size_t errlen)
{
    dp.dp_pool = rte_mempool_create("cn_bench_pool", DPDK_POOL_SIZE, CN_BENCH_OBJ_SIZE, DPDK_POOL_CACHE,
                    0, NULL, NULL, NULL, NULL, SOCKET_ID_ANY,
                    RTE_MEMPOOL_F_SP_PUT | RTE_MEMPOOL_F_SC_GET);
    if (dp.dp_pool == NULL) {
        snprintf(err, errlen, "DPDK baseline: rte_mempool_create(%u x %u bytes) failed: %s",
             DPDK_POOL_SIZE, CN_BENCH_OBJ_SIZE, rte_strerror(rte_errno));
        return -(rte_errno ? rte_errno : ENOMEM);
    }
    dp.dp_ring = rte_ring_create("cn_bench_ring", DPDK_RING_SIZE, SOCKET_ID_ANY,
                     RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (dp.dp_ring == NULL) {
        snprintf(err, errlen, "DPDK baseline: rte_ring_create(%u) failed: %s",
             DPDK_RING_SIZE, rte_strerror(rte_errno));
        return -(rte_errno ? rte_errno : ENOMEM);
    }
    return 0;
}

static int dpdk_init_once(char *err, size_t errlen)
{
    char lcores[32], prog[] = "condis-bench", *argv[16];
    /* Why each argument: no hugepages (none configured, no root needed); no PCI scan (we drive no
     * device); --no-shconf: no shared config file and no multi-process socket (--in-memory would
     * say the same but is refused with --no-huge, which implies legacy memory); -m: the pool and
     * ring need ~3 MB, EAL's own heap some more; no telemetry thread or socket; errors only, so the
     * bench's output stays the bench's. */
    char *fixed[] = { "--no-huge", "--no-pci", "--no-shconf", "-m", "64", "--no-telemetry",
              "--log-level=error" };
    char *logbuf = NULL, *cause = NULL;
    size_t logsize = 0;
    FILE *log;
    cpu_set_t saved;
    int argc = 0, ncpu, rc, erc;
    unsigned i;

    /* rte_eal_init pins the calling thread to the main lcore's CPU, and threads created later
     * inherit that; condis starts its own threads in this process afterwards, so the affinity
     * is put back as it was. The thread keeps its lcore id (and so its mempool cache). */
    rc = pthread_getaffinity_np(pthread_self(), sizeof(saved), &saved);
    if (rc != 0) {
        snprintf(err, errlen, "DPDK baseline: cannot read this thread's CPU affinity: %s", strerror(rc));
        return -rc;
    }
    ncpu = dpdk_pick_cpus(&saved, lcores, sizeof(lcores));
    if (ncpu == 0) {
        snprintf(err, errlen, "DPDK baseline: this thread may run on no CPU");
        return -EINVAL;
    }
    argv[argc++] = prog;
    argv[argc++] = "-l";
    argv[argc++] = lcores;
    for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        argv[argc++] = fixed[i];
    argv[argc] = NULL;

    /* Set before rte_eal_init as well, so nothing below "error" is logged while the
     * command line is still being parsed. */
    rte_log_set_global_level(RTE_LOG_ERR);
    /* The EAL logs its errors to stderr (and syslog) line by line; the bench owns the terminal,
     * so catch them and hand back the first one, the root cause, in err instead. (A fatal
     * failure still prints one "EAL: FATAL: ..." line: the EAL writes it to stderr directly.) */
    log = open_memstream(&logbuf, &logsize);
    if (log != NULL)
        rte_openlog_stream(log);
    rc = rte_eal_init(argc, argv);
    erc = rte_errno;
    rte_openlog_stream(NULL);
    pthread_setaffinity_np(pthread_self(), sizeof(saved), &saved);
    if (log != NULL) {
        fclose(log);
        if (logbuf != NULL && logbuf[0] != '\0') {
            cause = logbuf;
            cause[strcspn(cause, "\n")] = '\0';
        }
    }
    if (rc < 0) {
        snprintf(err, errlen, "DPDK baseline: the EAL did not start (%s%s%s)%s; the dpdk_* baselines are skipped",
             rte_strerror(erc), cause != NULL ? ": " : "", cause != NULL ? cause : "",
             erc == EACCES || erc == EPERM ? ": no permission to lock memory or open devices" : "");
        free(logbuf);
        return -(erc > 0 ? erc : EINVAL);
    }
    free(logbuf);
    dp.dp_eal_up = 1;
    /* The 1-thread run relies on the caller being the main lcore, which owns a mempool cache. */
    if (rte_lcore_id() != rte_get_main_lcore()) {
        snprintf(err, errlen, "DPDK baseline: the EAL did not make this thread its main lcore");
        return -EPROTO;
    }
    dp.dp_worker = ncpu > 1 ? rte_get_next_lcore(-1, 1, 0) : RTE_MAX_LCORE;
    return dpdk_pool_create(err, errlen);
}

static int dpdk_init(char *err, size_t errlen)
{
    if (dp.dp_init_rc == 1)
        dp.dp_init_rc = dpdk_init_once(dp.dp_init_err, sizeof(dp.dp_init_err));
    if (dp.dp_init_rc != 0)
        snprintf(err, errlen, "%s", dp.dp_init_err);
    return dp.dp_init_rc;
}

/* dpdk_1t: every step on the calling thread, which must be the main lcore (init made it so). */
static void dpdk_run_1t(unsigned chain, uint64_t objects)
{
    void *objs[CN_BENCH_CHAIN_MAX];
    uint64_t done = 0;
    unsigned seq = 0;

    while (done < objects) {
        unsigned n = dpdk_bulk_len(done, objects, chain);

        /* Cannot fail: nothing else holds objects, and the pool is far larger than a bulk. */
        while (rte_mempool_get_bulk(dp.dp_pool, objs, n) != 0)
            rte_pause();
        dpdk_write_bulk(objs, n, seq++);
        /* Cannot fail either: the ring is empty here and larger than a bulk. */
        rte_ring_sp_enqueue_bulk(dp.dp_ring, objs, n, NULL);
        rte_ring_sc_dequeue_bulk(dp.dp_ring, objs, n, NULL);
        rte_mempool_put_bulk(dp.dp_pool, objs, n);
        done += n;
    }
}

/* dpdk_2t consumer, on the worker lcore: take each bulk off the ring and put it back in the pool.
 * The producer enqueues exactly chain objects at a time (the last bulk shorter), so dequeuing the
 * same amount keeps the bulks the consumer sees equal to the producer's. */
static int dpdk_consumer(void *arg)
{
    const struct dpdk_consumer_job *job = arg;
    void *objs[CN_BENCH_CHAIN_MAX];
    uint64_t done = 0;

    while (done < job->dj_objects) {
        unsigned n = dpdk_bulk_len(done, job->dj_objects, job->dj_chain);

        while (rte_ring_sc_dequeue_bulk(dp.dp_ring, objs, n, NULL) == 0)
            rte_pause();
        rte_mempool_put_bulk(dp.dp_pool, objs, n);
        done += n;
    }
    /* Hand this lcore's cached objects back to the pool, so every run starts from the same state
     * and the producer can never starve on objects parked here between runs. */
    rte_mempool_cache_flush(rte_mempool_default_cache(dp.dp_pool, rte_lcore_id()), dp.dp_pool);
    return 0;
}

/* dpdk_2t producer, on the calling thread (main lcore): get, write, enqueue; spin while the ring
 * is full, which is the only back-pressure (the pool is sized so it never runs dry first). */
static void dpdk_produce(unsigned chain, uint64_t objects)
{
    void *objs[CN_BENCH_CHAIN_MAX];
    uint64_t done = 0;
    unsigned seq = 0;

    while (done < objects) {
        unsigned n = dpdk_bulk_len(done, objects, chain);

        while (rte_mempool_get_bulk(dp.dp_pool, objs, n) != 0)
            rte_pause();
        dpdk_write_bulk(objs, n, seq++);
        while (rte_ring_sp_enqueue_bulk(dp.dp_ring, objs, n, NULL) == 0)
            rte_pause();
        done += n;
    }
}

static int dpdk_run_2t(unsigned chain, uint64_t objects, uint64_t *elapsed_ns, char *err, size_t errlen)
{
    struct dpdk_consumer_job job = { .dj_chain = chain, .dj_objects = objects };
    cpu_set_t saved, main_cpu;
    uint64_t t0;
    int rc;

    if (dp.dp_worker >= RTE_MAX_LCORE) {
        snprintf(err, errlen, "DPDK baseline: dpdk_2t needs two CPUs and this thread may use only one; skipped");
        return -ENOTSUP;
    }
    /* DPDK's reference shape has the producer pinned to its own core, apart from the consumer;
     * init gave that pinning back to the caller, so take it again for the run only. */
    main_cpu = rte_lcore_cpuset(rte_get_main_lcore());
    pthread_getaffinity_np(pthread_self(), sizeof(saved), &saved);
    pthread_setaffinity_np(pthread_self(), sizeof(main_cpu), &main_cpu);
    t0 = dpdk_now_ns();
    rc = rte_eal_remote_launch(dpdk_consumer, &job, dp.dp_worker);
    if (rc == 0) {
        dpdk_produce(chain, objects);
        rte_eal_wait_lcore(dp.dp_worker);
    }
    *elapsed_ns = dpdk_now_ns() - t0;
    pthread_setaffinity_np(pthread_self(), sizeof(saved), &saved);
    if (rc != 0) {
        snprintf(err, errlen, "DPDK baseline: cannot start the consumer on lcore %u: %s",
             dp.dp_worker, strerror(-rc));
        return rc;
    }
    return 0;
}

static int dpdk_run(unsigned threads, unsigned chain, uint64_t objects, uint64_t *elapsed_ns,
            char *err, size_t errlen)
{
    uint64_t t0;

    if (dp.dp_init_rc != 0 || dp.dp_pool == NULL) {
        snprintf(err, errlen, "DPDK baseline: not initialised%s%s",
             dp.dp_init_rc == 1 ? "" : ": ", dp.dp_init_rc == 1 ? "" : dp.dp_init_err);
        return -ENODEV;
    }
    if (chain < CN_BENCH_CHAIN_MIN || chain > CN_BENCH_CHAIN_MAX || objects == 0 || elapsed_ns == NULL ||
        (threads != 1 && threads != 2)) {
        snprintf(err, errlen, "DPDK baseline: threads must be 1 or 2, chain %u..%u, objects > 0 "
             "(got threads %u, chain %u, objects %llu)", CN_BENCH_CHAIN_MIN, CN_BENCH_CHAIN_MAX,
             threads, chain, (unsigned long long)objects);
        return -EINVAL;
    }
    /* Without an lcore id the mempool has no cache for this thread and every get/put would go to
     * the shared ring: a slower, unfair baseline. Refuse rather than report a wrong number. */
    if (rte_lcore_id() != rte_get_main_lcore()) {
        snprintf(err, errlen, "DPDK baseline: run must be called from the thread that called init");
        return -EPERM;
    }
    if (threads == 2)
        return dpdk_run_2t(chain, objects, elapsed_ns, err, errlen);
    t0 = dpdk_now_ns();
    dpdk_run_1t(chain, objects);
    *elapsed_ns = dpdk_now_ns() - t0;
    return 0;
}

static void dpdk_fini(void)
{
    rte_ring_free(dp.dp_ring);
    dp.dp_ring = NULL;
    rte_mempool_free(dp.dp_pool);
    dp.dp_pool = NULL;
    if (dp.dp_eal_up)
        rte_eal_cleanup();
    dp.dp_eal_up = 0;
    /* The EAL cannot be started again in this process: make a later init say so. */
    if (dp.dp_init_rc == 0 || dp.dp_init_rc == 1) {
        dp.dp_init_rc = -EALREADY;
        snprintf(dp.dp_init_err, sizeof(dp.dp_init_err),
             "DPDK baseline: the EAL was shut down and cannot be restarted in this process");
    }
}

static const struct cn_bench_dpdk_api dpdk_api = {
    .api_version = CN_BENCH_DPDK_API_VERSION,
    .init = dpdk_init,
    .run = dpdk_run,
    .fini = dpdk_fini,
};

/* The module's only exported symbol (CN_BENCH_DPDK_SYM); the build hides everything else. */
__attribute__((visibility("default"))) const struct cn_bench_dpdk_api *condis_bench_dpdk(void)
{
    return &dpdk_api;
}
