/*
 * bench_client.h - the two measurement clients of `condis bench`.
 *
 * benchcl (NDIS 6, bench/benchcl.c) and benchcl5 (NDIS 5.1, bench/benchcl5.c)
 * are CoNDIS protocol drivers written only against <ndis.h>, like
 * drivers/protocol/cosend and cosend5, but built for timing: everything is
 * set up first (descriptors at bind, VCs and calls by wait_ready), and a run
 * times only the send phase. Each registers a protocol (benchcl, benchcl5)
 * that binds to one NdisMediumCoWan adapter at a time, opens the first
 * address family offered there, creates cfg.vcs VCs and makes a call on
 * each.
 *
 * Use from a host thread (PASSIVE_LEVEL, a thread condis did not create):
 *   benchcl_configure(&cfg);
 *   condis_driver_load("benchcl", BenchclDriverEntry, ...);
 *   condis_adapter_add(...); condis_bind_all();
 *   benchcl_wait_ready(ms);
 *   benchcl_run(count, &ns, &rx);  ... as often as wanted
 *   benchcl_teardown(ms);
 *   condis_stop(); condis_fini();
 * (benchcl5_* likewise.) Unbinding without teardown is allowed: the client
 * then closes the calls, deletes the VCs and closes the family itself.
 *
 * The drivers keep their state in static storage: one binding per client at a
 * time, one process-wide instance of each. Functions return 0 or a negative
 * errno value.
 */
#ifndef CONDIS_BENCH_CLIENT_H
#define CONDIS_BENCH_CLIENT_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include <ndis.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cn_bench_client_cfg {
    unsigned vcs;       /* VCs on the binding, 1 .. BENCH_CLIENT_MAX_VCS */
    unsigned chain;     /* NBLs (packets) per NdisCoSendNetBufferLists
                           (NdisCoSendPackets) call, 1 .. 256 */
    unsigned set;       /* descriptors the client owns in all, shared by every VC;
                           at least 2 * chain (raised to it), at most 65535 for
                           benchcl5 (one packet pool); rounded down to whole
                           chains */
    unsigned size;      /* bytes of data per NBL/packet, 1 .. 65535 */
    bool keep_receives; /* hold indicated NBLs (packets) and return them in
                           batches instead of at once */
};

#define BENCH_CLIENT_MAX_VCS 4000000u
#define BENCH_CLIENT_MAX_CHAIN 256u

/* ---- benchcl: NDIS 6.0 ------------------------------------------------------------ */

/* Registers the protocol "benchcl". */
DRIVER_INITIALIZE BenchclDriverEntry;

/* Before condis_driver_load (read at bind). Values out of range are clamped,
 * with a DbgPrint saying so at bind. */
void benchcl_configure(const struct cn_bench_client_cfg *cfg);

/* After condis_bind_all: waits up to ms (0: forever) until every VC has an
 * active call. 0; -ETIMEDOUT; -EIO when the bind, the address family, a VC
 * or a call failed (a DbgPrint said why); -ENOTCONN when nothing bound. */
int benchcl_wait_ready(unsigned ms);

/* Sends count NBLs in chains of cfg.chain, chain k of the run on VC
 * k % vcs, from an NDIS I/O work item of the driver at PASSIVE_LEVEL, and
 * returns once every one has completed. *elapsed_ns: from just before the
 * first NdisCoSendNetBufferLists to the moment the last chain was seen back
 * (KeQueryPerformanceCounter, which condis implements with
 * CLOCK_MONOTONIC at ns resolution). *received: NBLs indicated to the client
 * during the run. *allocs: heap allocations the whole process made in that
 * same time (cn_bench_alloc_count). Before its first run the client sends
 * every NBL of its set once, untimed. 0; -EIO when something came back
 * wrong during the run (see benchcl_errors; the numbers are still filled
 * in); -EINVAL for count 0; -ENOTCONN when not ready; -EBUSY when a run or
 * teardown is under way. */
int benchcl_run(uint64_t count, uint64_t *elapsed_ns, uint64_t *received, uint64_t *allocs);

/* Closes every call, deletes every VC and closes the address family, waiting
 * up to ms (0: forever). 0; -ETIMEDOUT; -EIO when a close or delete failed;
 * -ENOTCONN when nothing is bound; -EBUSY during a run. */
int benchcl_teardown(unsigned ms);

/* Broken invariants the client saw since it was loaded: a completion with a
 * failure status, of an NBL not in flight (twice), on another VC, with its
 * NET_BUFFER changed; failed control operations. */
uint64_t benchcl_errors(void);

/* Memory the client allocated per VC, in bytes (its VC table entry). */
size_t benchcl_bytes_per_vc(void);

/* ---- benchcl5: NDIS 5.1 (packets) ------------------------------------------------- */

DRIVER_INITIALIZE Benchcl5DriverEntry;   /* registers "benchcl5" */
void benchcl5_configure(const struct cn_bench_client_cfg *cfg);
int benchcl5_wait_ready(unsigned ms);
int benchcl5_run(uint64_t count, uint64_t *elapsed_ns, uint64_t *received, uint64_t *allocs);
int benchcl5_teardown(unsigned ms);
uint64_t benchcl5_errors(void);
size_t benchcl5_bytes_per_vc(void);

#ifdef __cplusplus
}
#endif

#endif /* CONDIS_BENCH_CLIENT_H */
