/*
 * Baselines for `condis bench`: what "take a descriptor, write its first cache line, hand it over,
 * get it back" costs without condis, measured in the same process as the condis scenarios.
 *
 *   naive_1t_cN   malloc/free per object and a pthread-mutex-protected list: what a straightforward
 *                 implementation costs (compiled into the CLI, no dependency).
 *   dpdk_1t_cN    DPDK rte_mempool get/put plus rte_ring enqueue/dequeue in bulks of N, one thread.
 *   dpdk_2t_cN    the same split across a producer (the calling thread) and a consumer (an EAL worker
 *                 lcore): the nearest thing to the hardware limit for handing descriptors across threads.
 *
 * DPDK lives in a separate MODULE (CN_BENCH_DPDK_SO) that the CLI loads with dlopen, so neither the
 * condis library nor the CLI ever links DPDK; when the module is missing the benchmark skips those
 * baselines and says so.
 *
 * All functions return 0 or a negative errno value; on failure they write a message a person can act
 * on into err (always NUL-terminated when errlen > 0). None of them is thread-safe: the benchmark
 * calls them from one thread, one run at a time.
 */
#ifndef CONDIS_BENCH_BASELINE_H
#define CONDIS_BENCH_BASELINE_H

#include <stddef.h>
#include <stdint.h>

/* Size of one object: roughly an NBL + NET_BUFFER + MDL, so every baseline allocates what condis does. */
#define CN_BENCH_OBJ_SIZE 256u
/* Bytes written into every object per round trip: its first cache line. */
#define CN_BENCH_OBJ_WRITE 64u
/* Chains (bulk sizes) every baseline accepts. */
#define CN_BENCH_CHAIN_MIN 1u
#define CN_BENCH_CHAIN_MAX 256u

/*
 * Moves `objects` objects, `chain` at a time, through: malloc(CN_BENCH_OBJ_SIZE), write the first
 * cache line, push onto a mutex-protected linked list (one lock per object, as a naive send queue
 * does); then pop the whole list under the mutex and free each object. One thread.
 * On success stores the elapsed wall-clock ns in *elapsed_ns and returns 0; returns -EINVAL for a
 * chain outside [CN_BENCH_CHAIN_MIN, CN_BENCH_CHAIN_MAX] or objects == 0, -ENOMEM if malloc fails.
 */
int cn_bench_naive_run(unsigned chain, uint64_t objects, uint64_t *elapsed_ns, char *err, size_t errlen);

/* ---- DPDK module ---------------------------------------------------------------------------- */

/* File name of the module; the CLI looks for it next to itself (build tree: ${CMAKE_BINARY_DIR}/bench/)
 * and in ${libdir}/condis/. */
#define CN_BENCH_DPDK_SO "condis-bench-dpdk.so"
/* Symbol the module exports (see condis_bench_dpdk below); the CLI finds it with dlsym. */
#define CN_BENCH_DPDK_SYM "condis_bench_dpdk"
/* Bumped whenever struct cn_bench_dpdk_api changes, so a stale installed module is refused
 * instead of being called through the wrong layout. */
#define CN_BENCH_DPDK_API_VERSION 1u

struct cn_bench_dpdk_api {
    /* Must equal CN_BENCH_DPDK_API_VERSION; check it before touching anything else. */
    unsigned api_version;
    /*
     * Starts the EAL (no hugepages, no PCI, in memory, no telemetry, log level error) on at most
     * two of the CPUs the calling thread may run on, and creates the mempool and ring. The caller's
     * CPU affinity is restored afterwards, so threads created later are not pinned. Call it once per
     * process from the thread that will call run; a second call returns the first call's result
     * (the EAL cannot be started twice, not even after fini).
     */
    int (*init)(char *err, size_t errlen);
    /*
     * One measurement: threads is 1 (dpdk_1t) or 2 (dpdk_2t), chain in [1, 256]. Returns -ENOTSUP
     * with a message for threads == 2 when the EAL got only one CPU, -EINVAL for bad arguments,
     * -ENODEV when init did not succeed, -EPERM when called from another thread than init's (only
     * that thread has an lcore id, hence a mempool cache). May be called any number of times.
     * dpdk_2t pins the calling thread to the main lcore's CPU for the run and restores its
     * affinity afterwards; the consumer is the EAL worker thread, idle (blocked) between runs.
     */
    int (*run)(unsigned threads, unsigned chain, uint64_t objects, uint64_t *elapsed_ns,
           char *err, size_t errlen);
    /* Frees the pool and ring and calls rte_eal_cleanup. After it, init fails; do not dlclose the
     * module (DPDK's libraries are not written to be unloaded). */
    void (*fini)(void);
};

/* The module's only export. Declared here so the module is checked against it; the CLI never
 * calls it directly (that would link DPDK) but through dlsym(handle, CN_BENCH_DPDK_SYM). */
const struct cn_bench_dpdk_api *condis_bench_dpdk(void);

#endif
