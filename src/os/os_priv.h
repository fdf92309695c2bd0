/*
 * os_priv.h - what the files of the OS layer share among themselves and
 * nobody else uses. The layer's API is cn_os.h.
 */
#ifndef CN_OS_PRIV_H
#define CN_OS_PRIV_H

#include "cn_os.h"
#include "../verify/cn_verify.h" /* CN_VERIFYING, IRQL-2 findings */

/* The emulated processor whose DPC thread is calling, or -1 for any other
 * thread (work.c). */
int cn_os_cpu_self(void);
/* True on a condis worker or DPC thread, where a flush would deadlock. */
bool cn_os_on_worker(void);
/* Marks the calling thread as one of condis' own (the timer thread). */
void cn_os_mark_worker(void);

/* The driver set with cn_set_current_driver, or NULL (debug.c). */
const char *cn_os_driver_raw(void);

/* Timer thread start and stop, called by cn_os_init / cn_os_fini. */
int cn_timer_start(void);
void cn_timer_stop(void);

/* Wall-clock time in 100 ns units since 1601-01-01 (time.c). */
int64_t cn_os_system_time(void);

/* Blocks until *word != value or the absolute CLOCK_MONOTONIC deadline
 * (ns; 0 = none) passes. Returns false on timeout (event.c). */
bool cn_os_futex_wait(LONG *word, LONG value, uint64_t deadline_ns);
void cn_os_futex_wake(LONG *word);

/* A spin-wait hint to the CPU. */
static inline void cn_os_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

/* A function documented PASSIVE_LEVEL only: called above it, the verifier
 * reports IRQL-2 (once, as a finding); with the verifier off, condis warns. */
#define CN_IRQL_CHECK_PASSIVE(fn)                                              \
    do {                                                                       \
        if (cn_irql() > PASSIVE_LEVEL) {                                       \
            if (CN_VERIFYING)                                                  \
                cn_verify_passive(fn);                                         \
            else                                                               \
                cn_warn("%s called at IRQL %u; it must be called at "          \
                        "PASSIVE_LEVEL (IRQL-2)", (fn), (unsigned)cn_irql());  \
        }                                                                      \
    } while (0)

#endif /* CN_OS_PRIV_H */
