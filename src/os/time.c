/*
 * time.c - clocks, sleeps and stalls.
 *
 * System time is the wall clock in Windows units (100 ns since
 * 1601-01-01 UTC); up time and interrupt time come from CLOCK_MONOTONIC,
 * which on Linux counts from boot, as Windows' do.
 */
#include <errno.h>
#include <time.h>

#include "os_priv.h"
#include "../verify/cn_verify.h"

/* Seconds from 1601-01-01 to 1970-01-01. */
#define EPOCH_DIFF_SECONDS 11644473600LL
/* The tick KeQueryTickCount counts, in 100 ns units (15.625 ms). */
#define TICK_100NS 156250u

uint64_t cn_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#if defined(__x86_64__) || defined(__i386__)
/* The pair of readings the rate of the counter is measured from: the first
 * conversion takes it; each conversion measures from it to now. */
static _Atomic uint64_t stamp_base_ns, stamp_base_ticks;

static void stamp_pair(uint64_t *ns, uint64_t *ticks)
{
    /* Read the counter between two clock reads and take the closest pair:
     * a preemption between the reads would skew the rate. */
    uint64_t best = UINT64_MAX;
    *ns = *ticks = 0;
    for (int i = 0; i < 3; i++) {
        uint64_t a = cn_now_ns(), t = cn_stamp(), b = cn_now_ns();
        if (b - a < best) {
            best = b - a;
            *ns = a + (b - a) / 2;
            *ticks = t;
        }
    }
}

uint64_t cn_stamp_ns(uint64_t stamp)
{
    uint64_t now_ns, now_ticks;
    stamp_pair(&now_ns, &now_ticks);
    uint64_t base_ticks = atomic_load_explicit(&stamp_base_ticks, memory_order_acquire);
    if (base_ticks == 0) {
        uint64_t zero = 0;
        atomic_store_explicit(&stamp_base_ns, now_ns, memory_order_relaxed);
        if (!atomic_compare_exchange_strong(&stamp_base_ticks, &zero, now_ticks))
            base_ticks = zero;
        else
            base_ticks = now_ticks;
    }
    uint64_t base_ns = atomic_load_explicit(&stamp_base_ns, memory_order_relaxed);
    /* Until the counter has run a millisecond from the base, take 1 GHz;
     * then what it has run against the clock. */
    double ns_per_tick = 1.0;
    if (now_ticks > base_ticks + 1000000 && now_ns > base_ns)
        ns_per_tick = (double)(now_ns - base_ns) / (double)(now_ticks - base_ticks);
    double back = (double)(int64_t)(now_ticks - stamp) * ns_per_tick;
    return back >= (double)now_ns ? 0 : now_ns - (uint64_t)back;
}
#else
uint64_t cn_stamp_ns(uint64_t stamp)
{
    return stamp;
}
#endif

int64_t cn_os_system_time(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ((int64_t)ts.tv_sec + EPOCH_DIFF_SECONDS) * 10000000 + ts.tv_nsec / 100;
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void NdisMSleep(ULONG MicrosecondsToSleep)
{
    CN_IRQL_CHECK_PASSIVE("NdisMSleep");
    sleep_ns((uint64_t)MicrosecondsToSleep * 1000u);
}

void NdisStallExecution(UINT MicrosecondsToStall)
{
    uint64_t end = cn_now_ns() + (uint64_t)MicrosecondsToStall * 1000u;
    while (cn_now_ns() < end)
        cn_os_cpu_relax();
}

void KeStallExecutionProcessor(ULONG MicroSeconds)
{
    NdisStallExecution(MicroSeconds);
}

NTSTATUS KeDelayExecutionThread(KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
                                PLARGE_INTEGER Interval)
{
    (void)WaitMode;
    (void)Alertable;
    CN_IRQL_CHECK_PASSIVE("KeDelayExecutionThread");
    if (Interval == NULL)
        return STATUS_INVALID_PARAMETER;
    int64_t t = Interval->QuadPart;
    if (t > 0) /* absolute system time */
        t = cn_os_system_time() - t;
    if (t < 0)
        sleep_ns((uint64_t)(-t) * 100u);
    return STATUS_SUCCESS;
}

void NdisGetCurrentSystemTime(PLARGE_INTEGER pSystemTime)
{
    pSystemTime->QuadPart = cn_os_system_time();
}

void KeQuerySystemTime(PLARGE_INTEGER CurrentTime)
{
    CurrentTime->QuadPart = cn_os_system_time();
}

void KeQuerySystemTimePrecise(PLARGE_INTEGER CurrentTime)
{
    CurrentTime->QuadPart = cn_os_system_time();
}

LARGE_INTEGER KeQueryPerformanceCounter(PLARGE_INTEGER PerformanceFrequency)
{
    LARGE_INTEGER v;
    if (PerformanceFrequency != NULL)
        PerformanceFrequency->QuadPart = 1000000000; /* nanoseconds */
    v.QuadPart = (LONGLONG)cn_now_ns();
    return v;
}

void NdisGetSystemUpTime(PULONG pSystemUpTime)
{
    *pSystemUpTime = (ULONG)(cn_now_ns() / 1000000u);
}

void NdisGetSystemUpTimeEx(PLARGE_INTEGER pSystemUpTime)
{
    pSystemUpTime->QuadPart = (LONGLONG)(cn_now_ns() / 1000000u);
}

ULONGLONG KeQueryInterruptTime(void)
{
    return cn_now_ns() / 100u;
}

void KeQueryTickCount(PLARGE_INTEGER CurrentCount)
{
    CurrentCount->QuadPart = (LONGLONG)(cn_now_ns() / 100u / TICK_100NS);
}

ULONG KeQueryTimeIncrement(void)
{
    return TICK_100NS;
}
