/*
 * naive_1t: what a straightforward implementation of "take a descriptor, write it, hand it over, get
 * it back" costs: one malloc and one free per object and a send queue guarded by a pthread mutex.
 * It exists so that `condis bench` can show how far condis is from the obvious design; it is
 * deliberately not clever, but it must really do the work it claims to do (see "keeping the work").
 */
#include "baseline.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The object: the link lives in the first cache line, next to the bytes we write, the way an
 * NBL's Next field shares its first cache line with the fields a sender fills in. */
struct naive_obj {
    struct naive_obj *no_next;
    unsigned char no_data[CN_BENCH_OBJ_SIZE - sizeof(struct naive_obj *)];
};

/* The "send queue". Static, so its address (and through it every queued object) is visible to
 * pthread_mutex_lock/unlock, which the compiler cannot see into. */
static struct {
    pthread_mutex_t nq_lock;
    struct naive_obj *nq_head;
} naive_queue = { PTHREAD_MUTEX_INITIALIZER, NULL };

/*
 * Keeping the work: gcc and clang delete a malloc/free pair, and stores into memory that is freed
 * right after, when the pointer provably does not escape. Here every object is published in
 * naive_queue across an opaque call (so both the allocation and the stores are observable), and one
 * byte of every object is read back before free and folded into this volatile sink, so the write of
 * the cache line has a consumer the compiler must honour.
 */
static volatile unsigned naive_sink;

static uint64_t naive_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Producer half of one bulk: allocate, write the first cache line, enqueue under the lock, one
 * object at a time. Returns 0, or -ENOMEM with the objects allocated so far left on the queue
 * (the caller drains it). */
static int naive_send_bulk(unsigned n, unsigned seq)
{
    unsigned i;

    for (i = 0; i < n; i++) {
        struct naive_obj *o = malloc(sizeof(*o));

        if (o == NULL)
            return -ENOMEM;
        /* The first 64 bytes: the link plus 56 bytes of "header". */
        memset(o->no_data, (int)(seq + i), CN_BENCH_OBJ_WRITE - sizeof(o->no_next));
        pthread_mutex_lock(&naive_queue.nq_lock);
        o->no_next = naive_queue.nq_head;
        naive_queue.nq_head = o;
        pthread_mutex_unlock(&naive_queue.nq_lock);
    }
    return 0;
}

/* Consumer half: take the whole queue in one locked step, then free outside the lock.
 * Returns a checksum of one written byte per object (see naive_sink). */
static unsigned naive_complete_all(void)
{
    struct naive_obj *o, *next;
    unsigned sum = 0;

    pthread_mutex_lock(&naive_queue.nq_lock);
    o = naive_queue.nq_head;
    naive_queue.nq_head = NULL;
    pthread_mutex_unlock(&naive_queue.nq_lock);
    for (; o != NULL; o = next) {
        next = o->no_next;
        sum += o->no_data[CN_BENCH_OBJ_WRITE - sizeof(o->no_next) - 1];
        free(o);
    }
    return sum;
}

int cn_bench_naive_run(unsigned chain, uint64_t objects, uint64_t *elapsed_ns, char *err, size_t errlen)
{
    uint64_t done = 0, t0;
    unsigned sum = 0, seq = 0;
    int rc = 0;

    if (chain < CN_BENCH_CHAIN_MIN || chain > CN_BENCH_CHAIN_MAX || objects == 0 || elapsed_ns == NULL) {
        snprintf(err, errlen, "naive baseline: chain must be %u..%u and objects > 0 (got chain %u, objects %llu)",
             CN_BENCH_CHAIN_MIN, CN_BENCH_CHAIN_MAX, chain, (unsigned long long)objects);
        return -EINVAL;
    }
    t0 = naive_now_ns();
    while (done < objects) {
        /* The last bulk is short when objects is not a multiple of chain, so exactly
         * `objects` objects are moved and ns/object stays exact. */
        unsigned n = objects - done < chain ? (unsigned)(objects - done) : chain;

        rc = naive_send_bulk(n, seq++);
        sum += naive_complete_all();
        if (rc != 0)
            break;
        done += n;
    }
    *elapsed_ns = naive_now_ns() - t0;
    naive_sink += sum;
    if (rc != 0)
        snprintf(err, errlen, "naive baseline: malloc(%zu) failed after %llu objects",
             sizeof(struct naive_obj), (unsigned long long)done);
    return rc;
}
