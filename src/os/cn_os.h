/*
 * cn_os.h - condis' internal OS layer: emulated IRQL, handles with
 * generations, thread slots, emulated processors (DPC threads), PASSIVE
 * worker threads, driver parameters, tracked memory and diagnostics.
 *
 * This is the bottom layer: it depends on nothing but libc and pthreads.
 * Everything here may be called from any thread; each function says at which
 * IRQL.
 */
#ifndef CN_OS_H
#define CN_OS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <ndis.h>

/* ---- emulated IRQL ------------------------------------------------------
 * Every thread has an emulated IRQL, PASSIVE_LEVEL at birth: threads condis
 * did not create (an application above a protocol) run at PASSIVE_LEVEL.
 * DPC threads and timer threads run their callbacks at DISPATCH_LEVEL.
 */
KIRQL cn_irql(void);
/* Raise to NewIrql (>= current) and return the previous IRQL. */
KIRQL cn_irql_raise(KIRQL NewIrql);
/* Return to an IRQL saved by cn_irql_raise. */
void cn_irql_lower(KIRQL OldIrql);
/* Set the IRQL unconditionally (condis' own threads at start-up). */
void cn_irql_set(KIRQL Irql);

/* ---- thread slots --------------------------------------------------------
 * A small dense id per live thread, for per-thread caches in pools. At most
 * CN_MAX_THREAD_SLOTS threads hold one at a time; others get CN_NO_SLOT and
 * use the shared path. A slot is released when its thread exits and may be
 * given to a later thread, which then inherits the caches (they hold only
 * free descriptors, so this is harmless).
 */
#define CN_MAX_THREAD_SLOTS 64
#define CN_NO_SLOT (~0u)
unsigned cn_thread_slot(void);

/* ---- handles -------------------------------------------------------------
 * Every NDIS_HANDLE condis gives out (drivers, adapters, bindings, AFs, VCs,
 * pools, work items, timers, configuration) is an encoded (type, generation,
 * index) triple, never a pointer. Lookup is O(1) and lock-free; a stale
 * handle (its object freed, the slot possibly reused) or a handle of another
 * type yields NULL and is never dereferenced.
 *
 * The object memory behind a handle must stay readable until the runtime is
 * torn down if lookups may race with the free (VCs do this: see vc.c).
 */
enum cn_htype {
    CN_H_NONE = 0,
    CN_H_PROTOCOL,      /* NdisProtocolHandle (protocol driver) */
    CN_H_MINIPORT,      /* NdisMiniportDriverHandle */
    CN_H_ADAPTER,       /* MiniportAdapterHandle */
    CN_H_BINDING,       /* NdisBindingHandle */
    CN_H_AFREG,         /* registered address family (MCM side) */
    CN_H_AF,            /* NdisAfHandle */
    CN_H_VC,            /* NdisVcHandle */
    CN_H_NBL_POOL,
    CN_H_NB_POOL,
    CN_H_IO_WORKITEM,
    CN_H_TIMER,
    CN_H_CONFIG,
    CN_H_PACKET_POOL,
    CN_H_BUFFER_POOL,
    CN_H_BIND_CONTEXT,  /* BindContext given to ProtocolBindAdapterEx */
    CN_H_UNBIND_CONTEXT,
    CN_H_DRIVER_CONTEXT, /* NdisDriverHandle / driver-level object handle */
    CN_H_MAX
};

/* owner: the name of the driver the object belongs to (for messages and leak
 * reports); the string must outlive the handle (driver names are kept until
 * the runtime ends). */
NDIS_HANDLE cn_handle_alloc(enum cn_htype type, void *obj, const char *owner); /* NULL: out of slots */
void *cn_handle_get(NDIS_HANDLE h, enum cn_htype type);     /* NULL: stale/foreign */
enum cn_htype cn_handle_type(NDIS_HANDLE h);                 /* CN_H_NONE: not live */
void *cn_handle_get_any(NDIS_HANDLE h, enum cn_htype *type); /* any live type */
void cn_handle_free(NDIS_HANDLE h);                          /* later gets fail */
size_t cn_handle_count(enum cn_htype type);                  /* live handles of a type */
/* True when h is not live but has the shape of a handle of this type that
 * condis gave out earlier: a stale handle (VC-4), not a made-up value. */
bool cn_handle_was(NDIS_HANDLE h, enum cn_htype type);

/* ---- deferred work -------------------------------------------------------
 * struct cn_work is embedded by the caller (no allocation). A work item may
 * be queued again only after its function has started.
 */
struct cn_work {
    struct cn_work *w_next;
    void (*w_fn)(struct cn_work *w);
};

/* Run w->w_fn at PASSIVE_LEVEL on a condis worker thread. A worker that
 * blocks (NdisWaitEvent) does not stall other work: more workers are started
 * while all are busy, up to a large cap. */
void cn_work_queue_passive(struct cn_work *w);

/* Emulated processors: each has a DPC thread at DISPATCH_LEVEL. */
unsigned cn_cpu_count(void);
/* Run w->w_fn at DISPATCH_LEVEL on processor cpu's DPC thread (mod count). */
void cn_work_queue_dpc(struct cn_work *w, unsigned cpu);

/* Wait until every queued PASSIVE and DPC work item has run and the queues
 * are idle (used at shutdown and by tests). Call at PASSIVE_LEVEL from a
 * thread that is not a condis worker. */
void cn_work_flush(void);

/* ---- runtime lifetime -------------------------------------------------- */
int cn_os_init(unsigned cpus); /* 0 or -errno; starts DPC and worker threads */
void cn_os_fini(void);         /* stops threads; call after cn_work_flush */

/* ---- driver parameters ---------------------------------------------------
 * Parameters the host supplies: (driver name or NULL for every driver,
 * keyword, value). Keywords are matched case-insensitively, as the registry
 * does. Read by NdisReadConfiguration through a configuration handle, which
 * knows its driver's name.
 */
int cn_param_set(const char *driver, const char *keyword, const char *value);
/* The value for a driver (a driver-specific value wins over a global one),
 * or NULL. The string stays valid until cn_param_clear. */
const char *cn_param_get(const char *driver, const char *keyword);
void cn_param_clear(void);

/* The owner given to cn_handle_alloc for a live handle, or NULL. */
const char *cn_handle_owner(NDIS_HANDLE h);

/* ---- tracked memory ------------------------------------------------------
 * NdisAllocateMemoryWithTagPriority and friends put a header in front of
 * every block so that leaks can be listed by tag and owner at unload.
 */
struct cn_mem_leak {
    ULONG ml_tag;
    const char *ml_owner; /* driver name, or "?" */
    size_t ml_bytes;
    size_t ml_blocks;
    void *ml_site;        /* where one of the blocks was allocated */
};
/* Call fn for each (owner, tag) with blocks still allocated; returns the
 * number of such groups. */
size_t cn_memory_leaks(void (*fn)(const struct cn_mem_leak *l, void *arg), void *arg);
size_t cn_memory_outstanding(void); /* blocks still allocated */
/* Free every block still allocated (runtime teardown, after the report). */
void cn_memory_fini(void);

/* ---- diagnostics ----------------------------------------------------------
 * One line per message to stderr, prefixed with "condis:" or the driver's
 * name. cn_warn is for driver mistakes that condis survives (refused calls,
 * stale handles); each is also counted so a run's report can show them. */
void cn_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cn_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
unsigned long cn_warn_count(void);
/* A verifier finding's one-line summary ("condis: violation: ..."). */
void cn_log_violation(const char *msg);
/* The name of the driver whose code this thread is running (for DbgPrint). */
const char *cn_current_driver(void);
/* Initial-exec: libcondis is linked, not loaded late, and a general-dynamic
 * access is a call; CN_CALL sets the driver twice per call into one, and
 * a 5.x send makes such a call per packet. */
#define CN_TLS_IE __attribute__((tls_model("initial-exec")))
extern _Thread_local const char *cn_tls_driver CN_TLS_IE;
static inline const char *cn_set_current_driver(const char *name) /* returns previous */
{
    const char *old = cn_tls_driver;
    cn_tls_driver = name;
    return old;
}

/* Monotonic time in nanoseconds. */
uint64_t cn_now_ns(void);

/* A time stamp for events that are many and looked at rarely (the
 * verifier's history): the CPU's time-stamp counter where there is one,
 * a few cycles, against about 20 ns for cn_now_ns (the verifier's clock
 * reads were 39% of a verified send). cn_stamp_ns says when a stamp was,
 * on cn_now_ns' scale, to well within a microsecond over the last seconds. */
static inline uint64_t cn_stamp(void)
{
#if defined(__x86_64__) || defined(__i386__)
    return __builtin_ia32_rdtsc();
#else
    return cn_now_ns();
#endif
}
uint64_t cn_stamp_ns(uint64_t stamp);


/* ---- additions by the OS layer ------------------------------------------ */

/* A non-zero value identifying the calling thread while it lives; a held
 * KSPIN_LOCK contains its owner's token (for IRQL-3 checks). */
uintptr_t cn_thread_token(void);
/* Driver-visible spin locks the calling thread holds (counted only while
 * the verifier is on; 0 otherwise). */
unsigned cn_spin_locks_held(void);

/* A driver's DPC, I/O work item or timer routine (call: its kind; routine:
 * its address) returned to condis, which had called it at irql with
 * locks_before locks held.
 * Puts the IRQL back if the routine left it changed; with the verifier on,
 * a changed IRQL or a lock still held is an IRQL-3 finding against the
 * routine's driver (the verifier installs cn_os_callback_hook). */
extern void (*cn_os_callback_hook)(const char *driver, const char *call, const void *routine,
                                   KIRQL irql, unsigned locks_before);
void cn_callback_returned(const char *call, const void *routine, KIRQL irql,
                          unsigned locks_before);

/* Remove w from the PASSIVE or DPC queue it waits in. True if it was
 * queued and will not run; false if it is not queued (it may be running). */
bool cn_work_cancel(struct cn_work *w);

/* Wide string <-> UTF-8, both malloc'd (free() them); NULL when memory is
 * short. nchars counts WCHARs without a terminator; the results are
 * NUL-terminated. Invalid UTF-8 bytes decode as U+FFFD. */
char *cn_wide_to_utf8(const WCHAR *s, size_t nchars);
WCHAR *cn_utf8_to_wide(const char *s, size_t *nchars);

/* Where log lines go (cn_log, cn_warn, DbgPrint): each call of sink gets
 * one complete line without its newline. NULL restores stderr. */
void cn_log_set_sink(void (*sink)(const char *line, void *arg), void *arg);

#endif /* CN_OS_H */
