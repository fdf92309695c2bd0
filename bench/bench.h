/*
 * bench.h - `condis bench`: the scenarios, the baselines and the harness
 * that runs them side by side (bench.c), the allocation counter
 * (alloc_count.c).
 */
#ifndef CONDIS_BENCH_H
#define CONDIS_BENCH_H

#include <stdbool.h>
#include <stdint.h>

/* `condis bench [--quick] [--json] [--only NAME] [--reps N] [--plot FILE]`;
 * returns the exit status. */
int cn_bench_main(int argc, char **argv);

/* Calls to malloc, calloc, realloc and the aligned allocators since the
 * process started, all threads together; false when the build cannot count
 * them (sanitizer builds, which own malloc). */
bool cn_bench_alloc_count(uint64_t *count);

#endif
