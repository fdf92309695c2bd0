/*
 * work.c - condis' threads: the emulated processors (one DPC thread each,
 * at DISPATCH_LEVEL) and the PASSIVE_LEVEL worker pool, with their queues.
 *
 * Each queue is a FIFO of caller-embedded struct cn_work under a mutex and
 * a condition variable; no queue is shared between processors, so work
 * deferred to different processors never contends. The worker pool is
 * elastic: when work is queued and no worker is idle, another worker is
 * started (up to CN_MAX_WORKERS), so a work item that blocks waiting for
 * another work item does not deadlock the pool.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "os_priv.h"

#define CN_MAX_CPUS 64     /* a KAFFINITY holds 64 processors */
#define CN_MAX_WORKERS 64
#define CN_START_WORKERS 2

struct cn_queue {
    pthread_mutex_t q_lock;
    pthread_cond_t q_cond;      /* work arrived, or stop */
    pthread_cond_t q_idle_cond; /* the queue became idle */
    struct cn_work *q_head;
    struct cn_work *q_tail;
    size_t q_len;               /* items waiting */
    unsigned q_running;         /* items being run */
    uint64_t q_enqueued;        /* items ever queued (for cn_work_flush) */
    bool q_stop;
};

struct cn_cpu {
    struct cn_queue c_q;
    pthread_t c_thread;
    bool c_started;
};

static pthread_mutex_t life_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic bool os_running;
static _Atomic bool queues_ready; /* set once, by the first cn_os_init */

static struct cn_queue passive_q;
static unsigned pool_workers; /* started (passive_q.q_lock) */
static unsigned pool_idle;    /* waiting for work (passive_q.q_lock) */
static pthread_t pool_threads[CN_MAX_WORKERS];

static struct cn_cpu cpu_tab[CN_MAX_CPUS];
static _Atomic unsigned ncpus;

static _Thread_local int tls_cpu = -1;
static _Thread_local bool tls_worker;

static void queue_init(struct cn_queue *q)
{
    pthread_mutex_init(&q->q_lock, NULL);
    pthread_cond_init(&q->q_cond, NULL);
    pthread_cond_init(&q->q_idle_cond, NULL);
    q->q_head = q->q_tail = NULL;
    q->q_len = 0;
    q->q_running = 0;
    q->q_stop = false;
}

/* Caller holds q_lock. */
static void queue_push_locked(struct cn_queue *q, struct cn_work *w)
{
    w->w_next = NULL;
    if (q->q_tail != NULL)
        q->q_tail->w_next = w;
    else
        q->q_head = w;
    q->q_tail = w;
    q->q_len++;
    q->q_enqueued++;
}

/* Caller holds q_lock; the queue is not empty. */
static struct cn_work *queue_pop_locked(struct cn_queue *q)
{
    struct cn_work *w = q->q_head;
    q->q_head = w->w_next;
    if (q->q_head == NULL)
        q->q_tail = NULL;
    q->q_len--;
    w->w_next = NULL;
    return w;
}

/* Runs one item from q: called with q_lock held, returns with it held. */
static void queue_run_one_locked(struct cn_queue *q, KIRQL irql, const char *kind)
{
    struct cn_work *w = queue_pop_locked(q);
    q->q_running++;
    pthread_mutex_unlock(&q->q_lock);

    w->w_fn(w); /* w may be freed or queued again from here on */
    if (cn_irql() != irql) {
        cn_warn("a %s returned at IRQL %u instead of %u", kind, (unsigned)cn_irql(),
                (unsigned)irql);
        cn_irql_set(irql);
    }
    cn_set_current_driver(NULL);

    pthread_mutex_lock(&q->q_lock);
    q->q_running--;
    if (q->q_len == 0 && q->q_running == 0)
        pthread_cond_broadcast(&q->q_idle_cond);
}

static void *pool_main(void *arg)
{
    (void)arg;
    tls_worker = true;
    cn_irql_set(PASSIVE_LEVEL);
    struct cn_queue *q = &passive_q;
    pthread_mutex_lock(&q->q_lock);
    for (;;) {
        if (q->q_head != NULL) {
            queue_run_one_locked(q, PASSIVE_LEVEL, "work item");
            continue;
        }
        if (q->q_stop)
            break;
        pool_idle++;
        pthread_cond_wait(&q->q_cond, &q->q_lock);
        pool_idle--;
    }
    pthread_mutex_unlock(&q->q_lock);
    return NULL;
}

static void *dpc_main(void *arg)
{
    unsigned index = (unsigned)(uintptr_t)arg;
    struct cn_queue *q = &cpu_tab[index].c_q;
    tls_worker = true;
    tls_cpu = (int)index;
    cn_irql_set(DISPATCH_LEVEL);
    pthread_mutex_lock(&q->q_lock);
    for (;;) {
        if (q->q_head != NULL) {
            queue_run_one_locked(q, DISPATCH_LEVEL, "DPC");
            continue;
        }
        if (q->q_stop)
            break;
        pthread_cond_wait(&q->q_cond, &q->q_lock);
    }
    pthread_mutex_unlock(&q->q_lock);
    return NULL;
}

/* Caller holds passive_q.q_lock. */
static int pool_spawn_locked(void)
{
    if (pool_workers >= CN_MAX_WORKERS)
        return -EAGAIN;
    int err = pthread_create(&pool_threads[pool_workers], NULL, pool_main, NULL);
    if (err != 0)
        return -err;
    char name[16];
    snprintf(name, sizeof(name), "cn-work%u", pool_workers);
    pthread_setname_np(pool_threads[pool_workers], name);
    pool_workers++;
    return 0;
}

int cn_os_cpu_self(void)
{
    return tls_cpu;
}

bool cn_os_on_worker(void)
{
    return tls_worker;
}

void cn_os_mark_worker(void)
{
    tls_worker = true;
}

unsigned cn_cpu_count(void)
{
    unsigned n = atomic_load_explicit(&ncpus, memory_order_relaxed);
    return n != 0 ? n : 1;
}

/* Without threads (before cn_os_init or after cn_os_fini) work runs inline,
 * at the IRQL it expects, so that nothing is lost; this is a host bug. */
static void run_inline(struct cn_work *w, KIRQL irql)
{
    cn_warn("work queued while the OS layer is not running; running it inline");
    KIRQL old = cn_irql();
    cn_irql_set(irql);
    w->w_fn(w);
    cn_irql_set(old);
}

void cn_work_queue_passive(struct cn_work *w)
{
    if (!atomic_load_explicit(&os_running, memory_order_acquire)) {
        run_inline(w, PASSIVE_LEVEL);
        return;
    }
    struct cn_queue *q = &passive_q;
    pthread_mutex_lock(&q->q_lock);
    if (q->q_stop) { /* cn_os_fini is under way */
        pthread_mutex_unlock(&q->q_lock);
        run_inline(w, PASSIVE_LEVEL);
        return;
    }
    queue_push_locked(q, w);
    /* Idle workers already woken still count as idle until they take an
     * item, so compare them with everything that waits. */
    if (q->q_len > pool_idle && pool_workers < CN_MAX_WORKERS) {
        int err = pool_spawn_locked();
        if (err != 0 && pool_workers == 0)
            cn_warn("cannot start a worker thread (%d); work item waits", err);
    }
    pthread_cond_signal(&q->q_cond);
    pthread_mutex_unlock(&q->q_lock);
}

void cn_work_queue_dpc(struct cn_work *w, unsigned cpu)
{
    if (!atomic_load_explicit(&os_running, memory_order_acquire)) {
        run_inline(w, DISPATCH_LEVEL);
        return;
    }
    struct cn_queue *q = &cpu_tab[cpu % cn_cpu_count()].c_q;
    pthread_mutex_lock(&q->q_lock);
    if (q->q_stop) {
        pthread_mutex_unlock(&q->q_lock);
        run_inline(w, DISPATCH_LEVEL);
        return;
    }
    queue_push_locked(q, w);
    pthread_cond_signal(&q->q_cond);
    pthread_mutex_unlock(&q->q_lock);
}

static bool queue_remove(struct cn_queue *q, struct cn_work *w)
{
    bool found = false;
    pthread_mutex_lock(&q->q_lock);
    struct cn_work *prev = NULL;
    for (struct cn_work *it = q->q_head; it != NULL; prev = it, it = it->w_next) {
        if (it != w)
            continue;
        if (prev != NULL)
            prev->w_next = it->w_next;
        else
            q->q_head = it->w_next;
        if (q->q_tail == it)
            q->q_tail = prev;
        q->q_len--;
        it->w_next = NULL;
        if (q->q_len == 0 && q->q_running == 0)
            pthread_cond_broadcast(&q->q_idle_cond);
        found = true;
        break;
    }
    pthread_mutex_unlock(&q->q_lock);
    return found;
}

bool cn_work_cancel(struct cn_work *w)
{
    if (!atomic_load(&queues_ready))
        return false;
    if (queue_remove(&passive_q, w))
        return true;
    unsigned n = cn_cpu_count();
    for (unsigned i = 0; i < n; i++)
        if (queue_remove(&cpu_tab[i].c_q, w))
            return true;
    return false;
}

/* Waits until q is idle; returns whether it already was, and its count of
 * items ever queued. */
static bool queue_wait_idle(struct cn_queue *q, uint64_t *enqueued)
{
    bool was_idle = true;
    pthread_mutex_lock(&q->q_lock);
    while (q->q_len != 0 || q->q_running != 0) {
        was_idle = false;
        pthread_cond_wait(&q->q_idle_cond, &q->q_lock);
    }
    *enqueued += q->q_enqueued;
    pthread_mutex_unlock(&q->q_lock);
    return was_idle;
}

/* Work on one queue may queue work on another, so a single pass over the
 * queues proves nothing. Two consecutive passes that find every queue idle
 * with the same number of items ever queued do: each queue then stayed idle
 * between its two checks, and those intervals overlap. */
void cn_work_flush(void)
{
    if (tls_worker) {
        cn_warn("cn_work_flush called from a condis thread; it would deadlock");
        return;
    }
    if (!atomic_load(&os_running))
        return;
    uint64_t prev = UINT64_MAX;
    for (;;) {
        uint64_t sum = 0;
        bool idle = queue_wait_idle(&passive_q, &sum);
        unsigned n = cn_cpu_count();
        for (unsigned i = 0; i < n; i++)
            idle = queue_wait_idle(&cpu_tab[i].c_q, &sum) && idle;
        if (idle && sum == prev)
            return;
        prev = sum;
    }
}

static void stop_queue(struct cn_queue *q)
{
    pthread_mutex_lock(&q->q_lock);
    q->q_stop = true;
    pthread_cond_broadcast(&q->q_cond);
    pthread_mutex_unlock(&q->q_lock);
}

static void os_stop_threads(void)
{
    /* The timer thread goes first: it queues DPCs (under its lock, which
     * must never happen inline). */
    cn_timer_stop();
    atomic_store(&os_running, false);
    unsigned n = atomic_load(&ncpus);
    for (unsigned i = 0; i < n; i++) {
        if (!cpu_tab[i].c_started)
            continue;
        stop_queue(&cpu_tab[i].c_q);
        pthread_join(cpu_tab[i].c_thread, NULL);
        cpu_tab[i].c_started = false;
    }
    stop_queue(&passive_q);
    /* No worker is started once os_running is false, so the count is final. */
    pthread_mutex_lock(&passive_q.q_lock);
    unsigned workers = pool_workers;
    pthread_mutex_unlock(&passive_q.q_lock);
    for (unsigned i = 0; i < workers; i++)
        pthread_join(pool_threads[i], NULL);
    pool_workers = 0;
    pool_idle = 0;
    atomic_store(&ncpus, 0);
}

int cn_os_init(unsigned cpus)
{
    pthread_mutex_lock(&life_lock);
    if (atomic_load(&os_running)) {
        pthread_mutex_unlock(&life_lock);
        return -EBUSY;
    }
    if (cpus == 0) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        cpus = online > 0 ? (unsigned)online : 1;
    }
    if (cpus > CN_MAX_CPUS)
        cpus = CN_MAX_CPUS;
    if (!atomic_load(&queues_ready)) {
        queue_init(&passive_q);
        for (unsigned i = 0; i < CN_MAX_CPUS; i++)
            queue_init(&cpu_tab[i].c_q);
        atomic_store(&queues_ready, true);
    } else {
        passive_q.q_stop = false;
        for (unsigned i = 0; i < CN_MAX_CPUS; i++)
            cpu_tab[i].c_q.q_stop = false;
    }
    atomic_store(&ncpus, cpus);
    int err = 0;
    for (unsigned i = 0; i < cpus && err == 0; i++) {
        err = -pthread_create(&cpu_tab[i].c_thread, NULL, dpc_main, (void *)(uintptr_t)i);
        if (err == 0) {
            char name[16];
            snprintf(name, sizeof(name), "cn-dpc%u", i);
            pthread_setname_np(cpu_tab[i].c_thread, name);
            cpu_tab[i].c_started = true;
        }
    }
    pthread_mutex_lock(&passive_q.q_lock);
    for (unsigned i = 0; i < CN_START_WORKERS && err == 0; i++)
        err = pool_spawn_locked();
    pthread_mutex_unlock(&passive_q.q_lock);
    if (err == 0)
        err = cn_timer_start();
    if (err == 0) {
        atomic_store(&os_running, true);
    } else {
        os_stop_threads();
    }
    pthread_mutex_unlock(&life_lock);
    return err;
}

void cn_os_fini(void)
{
    pthread_mutex_lock(&life_lock);
    if (atomic_load(&os_running)) {
        size_t left = 0;
        for (unsigned i = 0; i <= cn_cpu_count(); i++) {
            struct cn_queue *q = i == 0 ? &passive_q : &cpu_tab[i - 1].c_q;
            pthread_mutex_lock(&q->q_lock);
            left += q->q_len;
            pthread_mutex_unlock(&q->q_lock);
        }
        if (left != 0)
            cn_warn("cn_os_fini: %zu work items still queued; they run before the "
                    "threads stop", left);
        os_stop_threads();
    }
    pthread_mutex_unlock(&life_lock);
}
