/*
 * condis/host.h - the host API: start the runtime, load drivers, create
 * adapters, bind, unbind, unload, and check that nothing leaked.
 *
 * This is what `condis run`, the tests and embedding programs use; drivers
 * never call it (they see only <ndis.h>). Functions return 0 or a negative
 * errno value; each failure is also described on stderr in one line that
 * says what to do.
 *
 * All host functions must be called at PASSIVE_LEVEL from a thread condis
 * did not create (the program's own threads), because they wait for
 * drivers that may complete their part from condis' worker threads.
 */
#ifndef CONDIS_HOST_H
#define CONDIS_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <ndis.h>

#include <condis/verify.h>

#ifdef __cplusplus
extern "C" {
#endif

struct condis_options {
    /* Emulated processors, each with a DPC thread at DISPATCH_LEVEL
     * (KeInsertQueueDpc, timers). 0 means 2. */
    unsigned cpus;
    /* NdisOpenAdapterEx and NdisCloseAdapterEx return NDIS_STATUS_PENDING
     * and complete from a worker thread, as Windows may; exercises the
     * drivers' completion handlers. */
    bool pend_open_close;
    /* How long a host call waits for a driver to finish a pended bind,
     * unbind, pause or restart before it reports the driver stuck.
     * 0 means 10000 ms. */
    unsigned wait_ms;
    /* The send-path verifier (condis/verify.h); off by default. */
    enum condis_verify_mode verify;
    /* Deleted VCs whose own record the report keeps (condis_vc_reports);
     * older ones are counted into their binding's record only, so that a
     * run that creates and deletes VCs forever does not grow. 0 means
     * 65536. */
    unsigned long deleted_vcs_kept;
};

struct condis_driver;   /* a loaded driver image */
struct condis_adapter;  /* a miniport adapter instance */

/* condis' version, "0.1.0". */
const char *condis_version(void);

/* Start the runtime. opt may be NULL for the defaults. */
int condis_init(const struct condis_options *opt);

/* Orderly end: unbind every binding, halt every adapter, unload every
 * driver still loaded, then free condis' own state. Returns 0 when that
 * went cleanly and nothing leaked, -EBUSY when something was left over
 * (listed on stderr by condis_report_leaks first). */
int condis_fini(void);

/* Driver parameters, read by drivers with NdisReadConfiguration. driver is
 * a driver name, or NULL for every driver. */
int condis_param_set(const char *driver, const char *keyword, const char *value);

/* Load a driver: call its DriverEntry at PASSIVE_LEVEL with a fresh
 * DRIVER_OBJECT. name identifies it in messages, reports and parameters.
 * On failure *status (if not NULL) holds what DriverEntry returned. */
int condis_driver_load(const char *name, PDRIVER_INITIALIZE entry,
                       struct condis_driver **out, NTSTATUS *status);

/* Unload: its adapters are removed and its bindings unbound first, then
 * its unload routine runs. Returns -EBUSY when the driver left
 * registrations behind (condis removes them). */
int condis_driver_unload(struct condis_driver *drv);

/* Create an adapter of a loaded miniport driver: MiniportInitializeEx, then
 * MiniportRestart; protocols are not bound yet (condis_bind_all). */
int condis_adapter_add(struct condis_driver *miniport, const char *name,
                       struct condis_adapter **out);

/* Remove an adapter: unbind every protocol from it, pause and halt it. */
int condis_adapter_remove(struct condis_adapter *ad);

/* Bind every registered protocol to every running adapter it is not bound
 * to yet, and tell each bound CoNDIS client about the adapter's address
 * families. Returns 0, or the first error (the others are still tried). */
int condis_bind_all(void);

/* Unbind every binding, most recent first. */
int condis_unbind_all(void);

/* The orderly end of a run without freeing the runtime: unbind everything,
 * halt every adapter, unload every driver. condis_fini does this too;
 * calling it first lets a host read statistics and leaks in between. */
int condis_stop(void);

/* What one driver image's protocol did on its VCs (created, or given by a
 * call manager), live or deleted. Valid until condis_fini. */
struct condis_driver_stats {
    unsigned long vcs_created, vcs_live;
    unsigned long long nbls_sent, bytes_sent;   /* accepted by condis for a miniport */
    unsigned long long nbls_completed;          /* completed by the miniport */
    unsigned long long nbls_failed;             /* ... with a status other than success */
    unsigned long long nbls_refused;            /* completed by condis (inactive VC, ...) */
    unsigned long long nbls_received, bytes_received;
};
int condis_driver_stats(struct condis_driver *drv, struct condis_driver_stats *out);
/* Traffic on a VC, a binding or the whole run. Latencies run from the
 * NdisCoSendNetBufferLists call to the ProtocolCoSendNetBufferListsComplete
 * call; 0 when nothing completed. Mean and maximum are exact. The
 * percentiles come from a histogram kept per binding (upper bounds of its
 * buckets, within 25 %): a binding's and the run's traffic have them
 * (latency_percentiles), a VC's has not, and the failures by status are
 * also counted per binding only. */
struct condis_traffic {
    unsigned long long sent, bytes_sent;      /* accepted for the miniport */
    unsigned long long completed;             /* completed by the miniport, any status */
    unsigned long long failed;                /* ... with a status other than success */
    unsigned long long refused;               /* completed by condis itself */
    unsigned long long received, bytes_received;
    unsigned long long outstanding;           /* sent and not completed */
    struct {
        NDIS_STATUS status;
        unsigned long long count;
    } failures[8];                            /* completions by failure status */
    unsigned nfailures;
    unsigned long long other_failures;        /* failures beyond those listed */
    unsigned long long latency_samples;
    double latency_mean_us, latency_max_us;
    bool latency_percentiles;                 /* latency_p50_us, latency_p99_us are set */
    double latency_p50_us, latency_p99_us;
};

struct condis_vc_report {
    const char *protocol, *miniport, *adapter;
    unsigned binding;     /* ordinal of the binding in the run */
    unsigned vc;          /* ordinal of the VC on its binding */
    bool live;            /* not deleted yet */
    double seconds;       /* how long it existed */
    struct condis_traffic traffic;
};

struct condis_binding_report {
    const char *protocol, *miniport, *adapter;
    unsigned binding;
    unsigned vcs;         /* VCs created on it */
    unsigned vcs_folded;  /* ... of them deleted long ago: counted here, not listed */
    struct condis_traffic traffic;
};

/* Fill up to max reports, one per VC (or binding) of the run, in creation
 * order; return how many there are. Valid until condis_fini. The VCs are
 * the live ones and the last deleted_vcs_kept deleted ones. */
size_t condis_vc_reports(struct condis_vc_report *out, size_t max);
size_t condis_binding_reports(struct condis_binding_report *out, size_t max);
int condis_total_report(struct condis_traffic *out);

/* ---- the report of a run --------------------------------------------------
 * What the host knows of the run beyond condis' own counters. */
struct condis_run_info {
    double seconds;           /* from the first bind to the end of the work */
    const char *end;          /* "done", "time_limit", "interrupted" or "driver_failure" */
    int exit_status;
    const char *const *drivers;   /* names of the drivers loaded, in load order */
    const char *const *kinds;     /* "protocol" or "miniport", per driver */
    size_t ndrivers;
    size_t max_vc_lines;      /* VCs listed in the text report (0: 16) */
    const char *const *problems;  /* condis' error messages during the run */
    size_t nproblems;
};
/* The report as a table for people, or as one JSON object (docs/report.md).
 * Call after condis_stop and before condis_fini. */
void condis_report_text(FILE *f, const struct condis_run_info *run);
void condis_report_json(FILE *f, const struct condis_run_info *run);

/* The name a driver was loaded under. */
const char *condis_driver_name(const struct condis_driver *drv);

/* Wait until condis' DPC and worker threads are idle. */
void condis_flush(void);

/* What is still allocated or outstanding: descriptors out of pools, pools
 * not freed, memory blocks, NBLs in flight, live VCs, AFs, bindings. */
struct condis_outstanding {
    size_t nbls_in_flight;     /* sent, not yet completed to the protocol */
    size_t rx_outstanding;     /* indicated, not yet returned to the miniport */
    size_t pool_descriptors;   /* NBLs, NBs and MDLs not returned */
    size_t pools;              /* pools not freed */
    size_t memory_blocks;      /* NdisAllocateMemory* blocks not freed */
    size_t vcs, afs, bindings, adapters, drivers;
    size_t other_handles;      /* timers, work items, configuration handles */
};
void condis_outstanding(struct condis_outstanding *out);
/* True when every field of condis_outstanding is zero. */
bool condis_clean(void);
/* Print what is outstanding, by owner and tag, to stderr; returns how many
 * lines it printed. */
size_t condis_report_leaks(void);

/* What is left over, one entry per pool, memory tag or kind of object.
 * kind is "NBL pool", "NB pool", "MDL", "memory", "VC", "address family",
 * "binding", "adapter", "driver", "handle", "in flight" or "indicated". */
struct condis_leak {
    const char *kind;
    const char *owner;    /* driver name, or "?" */
    ULONG tag;            /* pool or memory tag, 0 when not applicable */
    size_t count;         /* descriptors, blocks or objects */
    size_t bytes;         /* memory only */
    bool pool_open;       /* a pool that was not freed */
};
/* Fill up to max entries; return how many there are. */
size_t condis_leaks(struct condis_leak *out, size_t max);

/* Where condis' messages and drivers' DbgPrint lines go: sink gets each
 * line without its newline ("condis: ..." for condis' errors, "condis:
 * warning: ..." for driver mistakes it survived, "<driver>: ..." for
 * DbgPrint). NULL restores stderr. */
void condis_set_log_sink(void (*sink)(const char *line, void *arg), void *arg);

/* Warnings condis printed about driver mistakes it survived. */
unsigned long condis_warnings(void);

/* The name of a status, "NDIS_STATUS_RESOURCES", or a hex string. */
const char *condis_status_name(NDIS_STATUS status);

#ifdef __cplusplus
}
#endif

#endif /* CONDIS_HOST_H */
