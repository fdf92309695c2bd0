/*
 * test_cli.c - the condis command line, run the way a user runs it: the
 * built `condis` binary as a child process, with its stdout, stderr and
 * exit status captured, and every run bounded by a timeout after which the
 * child is killed and the test fails.
 *
 * What it holds the CLI to:
 *   - help, version and usage texts, and exit status 0 or 2;
 *   - one line on stderr, naming the problem, and exit status 2 for every
 *     mistake on the command line;
 *   - exit status 3 and a message naming the file for every driver that
 *     cannot be loaded (missing, not a shared object, no DriverEntry,
 *     DriverEntry failing, with the status by name);
 *   - an out-of-tree .so protocol loads, runs and unloads cleanly;
 *   - --param reaches the driver it names and no other;
 *   - --json prints exactly one JSON object with the shape docs/report.md
 *     describes (checked by the small JSON parser below);
 *   - Ctrl-C and --seconds end a run cleanly;
 *   - with the built-in sim miniport and cosend protocol (skipped when this
 *     build does not have them): the default run, and one short run per sim
 *     completion style, complete every NBL they send;
 *   - the independent clients with one protocol-side bug planted at a time
 *     (CoclientBug, Coclient5Bug) are caught by --verify under the right
 *     rule id, exit 1, and still end the run in order.
 *
 * The paths come from CMake (tests/CMakeLists.txt): CONDIS_BIN, the test
 * drivers CONDIS_SO_NOENTRY, CONDIS_SO_FAILENTRY, CONDIS_SO_PARAMDUMP (built
 * from tests/so/), CONDIS_SO_COCLIENT (examples/coclient.c),
 * CONDIS_SO_MINIMAL (examples/minimal.c) and
 * CONDIS_SO_DIR, where the test writes a file that is not a shared object.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#ifndef CONDIS_BIN
#error "CONDIS_BIN (the path of the condis binary) comes from tests/CMakeLists.txt"
#endif

extern char **environ;

#define NOTASO_PATH CONDIS_SO_DIR "/notaso.so"
#define MISSING_PATH CONDIS_SO_DIR "/no-such-driver.so"

/* Generous enough for the sanitizer builds; a run that needs longer hangs. */
#define RUN_TIMEOUT_S 60.0

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ==== running condis ===================================================== */

struct buf {
    char *data;
    size_t len, cap;
};

static void buf_add(struct buf *b, const char *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->data = realloc(b->data, cap);
        assert_non_null(b->data);
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

struct run {
    int status;      /* exit status; 128 + signal when a signal ended it */
    bool signaled;   /* ended by a signal, not by exit */
    bool timed_out;  /* killed by the test after its timeout */
    double seconds;  /* wall time from spawn to exit */
    char *out, *err; /* everything it wrote, NUL-terminated */
};

struct run_opts {
    double timeout_s;      /* 0: RUN_TIMEOUT_S */
    double signal_after_s; /* > 0: send sig this long after the start */
    int sig;
};

static void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof(*r));
}

/* Print what a run wrote, for the log of a failing test. */
static void run_dump(const char *what, const struct run *r)
{
    /* Straight to stderr: cmocka's own printing cuts long texts short. */
    fflush(stdout);
    fprintf(stderr, "---- %s: exit %d%s%s, %.2f s\n---- stdout:\n", what, r->status,
            r->signaled ? " (signal)" : "", r->timed_out ? " (TIMED OUT)" : "", r->seconds);
    fputs(r->out ? r->out : "", stderr);
    fputs("---- stderr:\n", stderr);
    fputs(r->err ? r->err : "", stderr);
    fputs("----\n", stderr);
    fflush(stderr);
}

/* Run condis with args (NULL-terminated, without argv[0]). stdin is
 * /dev/null; SIGINT and SIGTERM are at their defaults in the child whatever
 * the test runner left ignored. */
static struct run run_condis(const struct run_opts *o, const char *const *args)
{
    struct run r = { 0 };
    double timeout = o && o->timeout_s > 0 ? o->timeout_s : RUN_TIMEOUT_S;
    const char *argv[64];
    size_t argc = 0;
    argv[argc++] = CONDIS_BIN;
    for (size_t i = 0; args[i] != NULL; i++) {
        assert_true(argc < sizeof(argv) / sizeof(argv[0]) - 1);
        argv[argc++] = args[i];
    }
    argv[argc] = NULL;

    int outp[2], errp[2];
    assert_int_equal(pipe2(outp, O_CLOEXEC), 0);
    assert_int_equal(pipe2(errp, O_CLOEXEC), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
    posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
    posix_spawnattr_t sa;
    posix_spawnattr_init(&sa);
    sigset_t def, none;
    sigemptyset(&def);
    sigaddset(&def, SIGINT);
    sigaddset(&def, SIGTERM);
    sigaddset(&def, SIGPIPE);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&sa, &def);
    posix_spawnattr_setsigmask(&sa, &none);
    posix_spawnattr_setflags(&sa, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

    double t0 = now_s();
    pid_t pid;
    int err = posix_spawn(&pid, CONDIS_BIN, &fa, &sa, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&sa);
    close(outp[1]);
    close(errp[1]);
    if (err != 0) {
        close(outp[0]);
        close(errp[0]);
        fail_msg("cannot start %s: %s", CONDIS_BIN, strerror(err));
    }

    struct buf out = { 0 }, errb = { 0 };
    buf_add(&out, "", 0);
    buf_add(&errb, "", 0);
    struct pollfd pf[2] = { { outp[0], POLLIN, 0 }, { errp[0], POLLIN, 0 } };
    bool signalled = false, killed = false;
    int open_fds = 2;
    while (open_fds > 0) {
        double t = now_s() - t0;
        if (!killed && t >= timeout) {
            kill(pid, SIGKILL);
            killed = true;
            r.timed_out = true;
        }
        if (o && o->signal_after_s > 0 && !signalled && t >= o->signal_after_s) {
            kill(pid, o->sig);
            signalled = true;
        }
        double next = killed ? 1.0 : timeout - t;
        if (o && o->signal_after_s > 0 && !signalled && o->signal_after_s - t < next)
            next = o->signal_after_s - t;
        int ms = (int)(next * 1000) + 1;
        int n = poll(pf, 2, ms < 1 ? 1 : ms);
        if (n < 0 && errno == EINTR)
            continue;
        assert_true(n >= 0);
        for (int i = 0; i < 2; i++) {
            if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char chunk[8192];
            ssize_t got = read(pf[i].fd, chunk, sizeof(chunk));
            if (got > 0) {
                buf_add(i == 0 ? &out : &errb, chunk, (size_t)got);
            } else if (got == 0 || errno != EINTR) {
                close(pf[i].fd);
                pf[i].fd = -1;
                open_fds--;
            }
        }
    }
    /* Both pipes are closed: the child has exited or is about to. */
    int st;
    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            break;
        assert_true(w == 0 || (w < 0 && errno == EINTR));
        if (!killed && now_s() - t0 >= timeout) {
            kill(pid, SIGKILL);
            killed = true;
            r.timed_out = true;
        }
        struct timespec ts = { 0, 5 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    r.seconds = now_s() - t0;
    if (WIFEXITED(st)) {
        r.status = WEXITSTATUS(st);
    } else {
        r.signaled = true;
        r.status = 128 + WTERMSIG(st);
    }
    r.out = out.data;
    r.err = errb.data;
    if (r.timed_out)
        run_dump("timed out", &r);
    assert_false(r.timed_out);
    return r;
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define CLI(...) run_condis(NULL, ARGS(__VA_ARGS__))

/* Lines in s (a last line without '\n' counts). */
static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (const char *p = s; *p; p++)
        n += *p == '\n';
    if (*s && s[strlen(s) - 1] != '\n')
        n++;
    return n;
}

static void expect_contains(const struct run *r, const char *text, const char *needle)
{
    if (strstr(text, needle) == NULL) {
        run_dump("missing text", r);
        fail_msg("expected to find \"%s\"", needle);
    }
}

static void expect_lacks(const struct run *r, const char *text, const char *needle)
{
    if (strstr(text, needle) != NULL) {
        run_dump("unexpected text", r);
        fail_msg("did not expect \"%s\"", needle);
    }
}

static void expect_status(const struct run *r, int status)
{
    if (r->status != status || r->signaled) {
        run_dump("unexpected exit status", r);
        fail_msg("expected exit status %d, got %d", status, r->status);
    }
}

/* ==== a small JSON parser ================================================
 * Strict RFC 8259 grammar, into a tree; enough to check a report's shape. */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
    enum jtype t;
    bool b;
    double num;
    char *str;
    size_t n;        /* items of an array or members of an object */
    struct jv *v;    /* their values */
    char **k;        /* an object's keys */
};

struct jparser {
    const char *p;
    const char *err;
};

static void jv_free(struct jv *v)
{
    free(v->str);
    for (size_t i = 0; i < v->n; i++) {
        jv_free(&v->v[i]);
        if (v->k)
            free(v->k[i]);
    }
    free(v->v);
    free(v->k);
    memset(v, 0, sizeof(*v));
}

static void jskip(struct jparser *jp)
{
    while (*jp->p == ' ' || *jp->p == '\t' || *jp->p == '\n' || *jp->p == '\r')
        jp->p++;
}

static bool jfail(struct jparser *jp, const char *why)
{
    if (jp->err == NULL)
        jp->err = why;
    return false;
}

static void jutf8(struct buf *b, unsigned cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else {
        u[0] = (char)(0xe0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    }
    buf_add(b, u, n);
}

static bool jstring(struct jparser *jp, char **out)
{
    if (*jp->p != '"')
        return jfail(jp, "expected a string");
    struct buf b = { 0 };
    buf_add(&b, "", 0);
    jp->p++;
    for (;;) {
        unsigned char c = (unsigned char)*jp->p;
        if (c == '\0' || c < 0x20) {
            free(b.data);
            return jfail(jp, "unterminated string or raw control character in a string");
        }
        jp->p++;
        if (c == '"')
            break;
        if (c != '\\') {
            buf_add(&b, (const char *)&c, 1);
            continue;
        }
        char e = *jp->p++;
        const char *simple = strchr("\"\\/bfnrt", e);
        if (e != '\0' && simple != NULL) {
            static const char map[] = "\"\\/\b\f\n\r\t";
            buf_add(&b, &map[simple - "\"\\/bfnrt"], 1);
        } else if (e == 'u') {
            unsigned cp = 0;
            for (int i = 0; i < 4; i++) {
                char h = *jp->p++;
                int d = h >= '0' && h <= '9' ? h - '0'
                        : h >= 'a' && h <= 'f' ? h - 'a' + 10
                        : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
                if (d < 0) {
                    free(b.data);
                    return jfail(jp, "bad \\u escape");
                }
                cp = cp * 16 + (unsigned)d;
            }
            jutf8(&b, cp);
        } else {
            free(b.data);
            return jfail(jp, "bad escape in a string");
        }
    }
    *out = b.data;
    return true;
}

static bool jnumber(struct jparser *jp, double *out)
{
    const char *s = jp->p, *q = s;
    if (*q == '-')
        q++;
    if (*q == '0')
        q++;
    else if (*q >= '1' && *q <= '9')
        while (*q >= '0' && *q <= '9')
            q++;
    else
        return jfail(jp, "bad number");
    if (*q == '.') {
        q++;
        if (!(*q >= '0' && *q <= '9'))
            return jfail(jp, "bad fraction");
        while (*q >= '0' && *q <= '9')
            q++;
    }
    if (*q == 'e' || *q == 'E') {
        q++;
        if (*q == '+' || *q == '-')
            q++;
        if (!(*q >= '0' && *q <= '9'))
            return jfail(jp, "bad exponent");
        while (*q >= '0' && *q <= '9')
            q++;
    }
    char tmp[64];
    size_t n = (size_t)(q - s);
    if (n >= sizeof(tmp))
        return jfail(jp, "number too long");
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    *out = strtod(tmp, NULL);
    jp->p = q;
    return true;
}

static bool jvalue(struct jparser *jp, struct jv *v, int depth);

static bool jpush(struct jv *v, size_t *cap)
{
    if (v->n == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        struct jv *nv = realloc(v->v, *cap * sizeof(*nv));
        if (nv == NULL)
            return false;
        v->v = nv;
        if (v->t == J_OBJ) {
            char **nk = realloc(v->k, *cap * sizeof(*nk));
            if (nk == NULL)
                return false;
            v->k = nk;
        }
    }
    memset(&v->v[v->n], 0, sizeof(v->v[0]));
    return true;
}

static bool jcontainer(struct jparser *jp, struct jv *v, int depth)
{
    bool obj = *jp->p == '{';
    char close = obj ? '}' : ']';
    size_t cap = 0;
    v->t = obj ? J_OBJ : J_ARR;
    jp->p++;
    jskip(jp);
    if (*jp->p == close) {
        jp->p++;
        return true;
    }
    for (;;) {
        jskip(jp);
        if (!jpush(v, &cap))
            return jfail(jp, "out of memory");
        if (obj) {
            char *key = NULL;
            if (!jstring(jp, &key))
                return false;
            for (size_t i = 0; i < v->n; i++)
                if (strcmp(v->k[i], key) == 0) {
                    free(key);
                    return jfail(jp, "duplicate key in an object");
                }
            v->k[v->n] = key;
            jskip(jp);
            if (*jp->p != ':') {
                free(key);
                return jfail(jp, "expected ':'");
            }
            jp->p++;
        }
        v->n++; /* counted now, so that jv_free frees a half-parsed member */
        if (!jvalue(jp, &v->v[v->n - 1], depth + 1))
            return false;
        jskip(jp);
        if (*jp->p == ',') {
            jp->p++;
            continue;
        }
        if (*jp->p == close) {
            jp->p++;
            return true;
        }
        return jfail(jp, obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static bool jvalue(struct jparser *jp, struct jv *v, int depth)
{
    if (depth > 64)
        return jfail(jp, "nested too deeply");
    jskip(jp);
    switch (*jp->p) {
    case '{':
    case '[':
        return jcontainer(jp, v, depth);
    case '"':
        v->t = J_STR;
        return jstring(jp, &v->str);
    case 't':
    case 'f':
    case 'n': {
        static const struct { const char *w; enum jtype t; bool b; } lit[] = {
            { "true", J_BOOL, true }, { "false", J_BOOL, false }, { "null", J_NULL, false } };
        for (size_t i = 0; i < 3; i++)
            if (strncmp(jp->p, lit[i].w, strlen(lit[i].w)) == 0) {
                v->t = lit[i].t;
                v->b = lit[i].b;
                jp->p += strlen(lit[i].w);
                return true;
            }
        return jfail(jp, "bad literal");
    }
    default:
        v->t = J_NUM;
        return jnumber(jp, &v->num);
    }
}

/* Parse text that must hold exactly one JSON value and nothing but white
 * space around it. */
static bool json_parse(const char *text, struct jv *out, const char **err)
{
    struct jparser jp = { text, NULL };
    memset(out, 0, sizeof(*out));
    bool ok = jvalue(&jp, out, 0);
    if (ok) {
        jskip(&jp);
        if (*jp.p != '\0')
            ok = jfail(&jp, "text after the JSON value");
    }
    if (!ok) {
        jv_free(out);
        *err = jp.err;
    }
    return ok;
}

static const struct jv *jget(const struct jv *o, const char *key)
{
    if (o == NULL || o->t != J_OBJ)
        return NULL;
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->k[i], key) == 0)
            return &o->v[i];
    return NULL;
}

/* o[key] of type t; fails the test, naming where, when it is missing. */
static const struct jv *jneed(const struct jv *o, const char *where, const char *key, enum jtype t)
{
    static const char *const names[] = { "null", "boolean", "number", "string", "array",
                                         "object" };
    const struct jv *v = jget(o, key);
    if (v == NULL)
        fail_msg("report: %s has no \"%s\"", where, key);
    if (v->t != t)
        fail_msg("report: %s.%s is a %s, not a %s", where, key, names[v->t], names[t]);
    return v;
}

static double jnum(const struct jv *o, const char *where, const char *key)
{
    return jneed(o, where, key, J_NUM)->num;
}

static bool is_count(double v)
{
    return v >= 0 && v == floor(v);
}

/* ==== the report's shape (docs/report.md) ================================ */

/* percentiles: a binding's or the run's traffic (a VC's has p50 and p99
 * null, and no failures by status). */
static void check_traffic(const struct jv *t, const char *where, bool percentiles)
{
    static const char *const counts[] = { "sent", "bytes_sent", "completed", "failed",
                                          "refused", "outstanding", "received",
                                          "bytes_received" };
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
        assert_true(is_count(jnum(t, where, counts[i])));
    double sent = jnum(t, where, "sent"), completed = jnum(t, where, "completed");
    assert_true(jnum(t, where, "failed") <= completed);
    assert_true(completed + jnum(t, where, "outstanding") == sent);
    const struct jv *f = jneed(t, where, "failures", J_OBJ);
    double nfail = 0;
    for (size_t i = 0; i < f->n; i++) {
        assert_int_equal(f->v[i].t, J_NUM);
        assert_true(is_count(f->v[i].num) && f->v[i].num > 0);
        assert_true(strncmp(f->k[i], "NDIS_STATUS_", 12) == 0 ||
                    strncmp(f->k[i], "STATUS_", 7) == 0 || strncmp(f->k[i], "0x", 2) == 0 ||
                    strcmp(f->k[i], "other") == 0);
        nfail += f->v[i].num;
    }
    /* Completions that failed and sends condis refused, by status. */
    assert_true(nfail <= jnum(t, where, "failed") + jnum(t, where, "refused"));
    const struct jv *l = jneed(t, where, "latency_us", J_OBJ);
    double samples = jnum(l, "latency_us", "samples");
    assert_true(is_count(samples) && samples <= completed + jnum(t, where, "refused"));
    double mean = jnum(l, "latency_us", "mean"), max = jnum(l, "latency_us", "max");
    assert_true(mean >= 0 && mean <= max);
    if (percentiles) {
        double p50 = jnum(l, "latency_us", "p50"), p99 = jnum(l, "latency_us", "p99");
        assert_true(p50 >= 0 && p50 <= p99 && p99 <= max);
    } else {
        jneed(l, "latency_us", "p50", J_NULL);
        jneed(l, "latency_us", "p99", J_NULL);
        assert_int_equal(f->n, 0);
    }
    if (samples == 0)
        assert_true(max == 0 && mean == 0);
}

/* Checks every field docs/report.md lists; returns nothing, fails loudly. */
static void check_report(const struct jv *r)
{
    assert_int_equal(r->t, J_OBJ);
    assert_true(strlen(jneed(r, "report", "condis", J_STR)->str) > 0);
    assert_true(jnum(r, "report", "duration_s") >= 0);
    const char *end = jneed(r, "report", "end", J_STR)->str;
    assert_true(strcmp(end, "done") == 0 || strcmp(end, "time_limit") == 0 ||
                strcmp(end, "interrupted") == 0 || strcmp(end, "driver_failure") == 0 ||
                strcmp(end, "verify_stop") == 0);
    double es = jnum(r, "report", "exit_status");
    assert_true(es == 0 || es == 1 || es == 3);

    const struct jv *d = jneed(r, "report", "drivers", J_ARR);
    for (size_t i = 0; i < d->n; i++) {
        assert_true(strlen(jneed(&d->v[i], "drivers[]", "name", J_STR)->str) > 0);
        const char *kind = jneed(&d->v[i], "drivers[]", "kind", J_STR)->str;
        assert_true(strcmp(kind, "protocol") == 0 || strcmp(kind, "miniport") == 0);
    }
    const struct jv *b = jneed(r, "report", "bindings", J_ARR);
    for (size_t i = 0; i < b->n; i++) {
        const struct jv *x = &b->v[i];
        assert_true(is_count(jnum(x, "bindings[]", "binding")));
        jneed(x, "bindings[]", "protocol", J_STR);
        jneed(x, "bindings[]", "miniport", J_STR);
        jneed(x, "bindings[]", "adapter", J_STR);
        assert_true(is_count(jnum(x, "bindings[]", "vcs")));
        assert_true(is_count(jnum(x, "bindings[]", "vcs_folded")));
        assert_true(jnum(x, "bindings[]", "vcs_folded") <= jnum(x, "bindings[]", "vcs"));
        check_traffic(jneed(x, "bindings[]", "traffic", J_OBJ), "bindings[].traffic", true);
    }
    const struct jv *v = jneed(r, "report", "vcs", J_ARR);
    for (size_t i = 0; i < v->n; i++) {
        const struct jv *x = &v->v[i];
        assert_true(is_count(jnum(x, "vcs[]", "binding")));
        assert_true(is_count(jnum(x, "vcs[]", "vc")));
        jneed(x, "vcs[]", "protocol", J_STR);
        jneed(x, "vcs[]", "miniport", J_STR);
        jneed(x, "vcs[]", "adapter", J_STR);
        jneed(x, "vcs[]", "live", J_BOOL);
        assert_true(jnum(x, "vcs[]", "seconds") >= 0);
        check_traffic(jneed(x, "vcs[]", "traffic", J_OBJ), "vcs[].traffic", false);
    }
    const struct jv *t = jneed(r, "report", "totals", J_OBJ);
    check_traffic(jneed(t, "totals", "traffic", J_OBJ), "totals.traffic", true);
    assert_true(jnum(t, "totals", "nbls_per_s") >= 0);
    assert_true(jnum(t, "totals", "gbit_per_s") >= 0);
    const struct jv *l = jneed(r, "report", "leaks", J_ARR);
    for (size_t i = 0; i < l->n; i++) {
        const struct jv *x = &l->v[i];
        jneed(x, "leaks[]", "kind", J_STR);
        jneed(x, "leaks[]", "owner", J_STR);
        jneed(x, "leaks[]", "tag", J_STR);
        assert_true(is_count(jnum(x, "leaks[]", "count")));
        assert_true(is_count(jnum(x, "leaks[]", "bytes")));
        jneed(x, "leaks[]", "pool_open", J_BOOL);
    }
    const struct jv *p = jneed(r, "report", "problems", J_ARR);
    for (size_t i = 0; i < p->n; i++)
        assert_int_equal(p->v[i].t, J_STR);
    assert_true(is_count(jnum(r, "report", "warnings")));
    jneed(r, "report", "violations", J_ARR);
}

/* The run's stdout as one checked report; the caller frees it. */
static struct jv parse_report(const struct run *r)
{
    struct jv v;
    const char *err = NULL;
    if (!json_parse(r->out, &v, &err)) {
        run_dump("stdout is not one JSON value", r);
        fail_msg("JSON: %s", err);
    }
    if (v.t != J_OBJ) {
        run_dump("stdout is not a JSON object", r);
        fail();
    }
    check_report(&v);
    return v;
}

static const struct jv *totals_traffic(const struct jv *rep)
{
    return jget(jget(rep, "totals"), "traffic");
}

static bool has_driver(const struct jv *rep, const char *name, const char *kind)
{
    const struct jv *d = jget(rep, "drivers");
    for (size_t i = 0; d && i < d->n; i++)
        if (strcmp(jget(&d->v[i], "name")->str, name) == 0 &&
            strcmp(jget(&d->v[i], "kind")->str, kind) == 0)
            return true;
    return false;
}

/* ==== the parser itself ================================================== */

static void test_json_parser(void **state)
{
    (void)state;
    static const char *const good[] = {
        "{}", " [1, -2.5e3, 0.25, true, false, null] ", "{\"a\": {\"b\": [\"\\u0041\\n\"]}}",
        "\"x\"", "0",
    };
    static const char *const bad[] = {
        "", "{", "{\"a\" 1}", "{\"a\": 1,}", "[1 2]", "01", "1.", "{} {}", "\"a", "tru",
        "{\"a\": 1, \"a\": 2}", "\"\\x\"", "[\"\t\"]", "-", ".5",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct jv v;
        const char *err = NULL;
        if (!json_parse(good[i], &v, &err))
            fail_msg("rejected %s: %s", good[i], err);
        jv_free(&v);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct jv v;
        const char *err = NULL;
        if (json_parse(bad[i], &v, &err))
            fail_msg("accepted %s", bad[i]);
        assert_non_null(err);
    }
    struct jv v;
    const char *err = NULL;
    assert_true(json_parse("{\"s\": \"a\\\"b\\u00e9\", \"n\": 12}", &v, &err));
    assert_string_equal(jget(&v, "s")->str, "a\"b\xc3\xa9");
    assert_true(jget(&v, "n")->num == 12);
    assert_null(jget(&v, "missing"));
    jv_free(&v);
}

/* ==== help, version, usage =============================================== */

static void test_no_command(void **state)
{
    (void)state;
    struct run r = run_condis(NULL, ARGS(NULL));
    expect_status(&r, 2);
    expect_contains(&r, r.err, "usage: condis <command>");
    assert_string_equal(r.out, "");
    run_free(&r);
}

static void test_help(void **state)
{
    (void)state;
    static const char *const forms[] = { "help", "--help", "-h" };
    for (size_t i = 0; i < 3; i++) {
        struct run r = run_condis(NULL, ARGS(forms[i]));
        expect_status(&r, 0);
        expect_contains(&r, r.out, "usage: condis <command>");
        expect_contains(&r, r.out, "\n  run ");
        expect_contains(&r, r.out, "\n  help ");
        expect_contains(&r, r.out, "\n  version ");
        assert_string_equal(r.err, "");
        run_free(&r);
    }
}

/* Every flag of `condis run` has a line of its own with an explanation
 * after it. */
static void test_run_help(void **state)
{
    (void)state;
    static const char *const flags[] = { "--protocol", "--miniport", "--param", "--seconds",
                                         "--json", "--quiet", "--verify", "--driver-timeout", "--help" };
    const char *const *forms[] = { ARGS("run", "--help"), ARGS("run", "-h"),
                                   ARGS("help", "run") };
    for (size_t f = 0; f < 3; f++) {
        struct run r = run_condis(NULL, forms[f]);
        expect_status(&r, 0);
        assert_string_equal(r.err, "");
        expect_contains(&r, r.out, "usage: condis run");
        for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
            /* A line that starts with the flag (after "-h, " for --help)
             * and goes on with words after it. */
            bool found = false;
            for (const char *line = r.out; line && *line && !found;) {
                const char *eol = strchr(line, '\n');
                size_t len = eol ? (size_t)(eol - line) : strlen(line);
                const char *p = line;
                while (p < line + len && *p == ' ')
                    p++;
                if (strncmp(p, "-h, ", 4) == 0)
                    p += 4;
                size_t fl = strlen(flags[i]);
                if (p > line && strncmp(p, flags[i], fl) == 0 &&
                    (p[fl] == ' ' || p[fl] == '[' || p[fl] == '=')) {
                    /* The explanation column: after the flag and its value
                     * spelling, a gap of two spaces or more, then words. */
                    const char *q = p + fl;
                    while (q + 1 < line + len && !(q[0] == ' ' && q[1] == ' '))
                        q++;
                    while (q < line + len && *q == ' ')
                        q++;
                    found = line + len - q >= 4;
                }
                line = eol ? eol + 1 : NULL;
            }
            if (!found) {
                run_dump("run --help", &r);
                fail_msg("run --help does not explain %s", flags[i]);
            }
        }
        expect_contains(&r, r.out, "built-in drivers:");
        expect_contains(&r, r.out, "\n  loop ");
        expect_contains(&r, r.out, "Exit status");
        run_free(&r);
    }
}

static void test_version(void **state)
{
    (void)state;
    static const char *const forms[] = { "version", "--version" };
    for (size_t i = 0; i < 2; i++) {
        struct run r = run_condis(NULL, ARGS(forms[i]));
        expect_status(&r, 0);
        unsigned a, b, c;
        char nl;
        if (sscanf(r.out, "condis %u.%u.%u%c", &a, &b, &c, &nl) != 4 || nl != '\n' ||
            count_lines(r.out) != 1) {
            run_dump("version", &r);
            fail_msg("expected \"condis X.Y.Z\"");
        }
        assert_string_equal(r.err, "");
        run_free(&r);
    }
}

/* ==== mistakes on the command line: one line, exit 2 ====================== */

struct usage_case {
    const char *args[10];
    const char *names; /* what the one line must mention */
};

static void test_usage_errors(void **state)
{
    (void)state;
    static const struct usage_case cases[] = {
        { { "bogus" }, "unknown command 'bogus'" },
        { { "help", "bogus" }, "'bogus'" },
        { { "run", "--bogus" }, "unknown option '--bogus'" },
        { { "run", "-x" }, "unknown option '-x'" },
        { { "run", "--json=1" }, "--json takes no value" },
        { { "run", "--seconds" }, "--seconds needs a value" },
        { { "run", "--protocol" }, "--protocol needs a value" },
        { { "run", "--param" }, "--param needs a value" },
        { { "run", "--seconds", "0" }, "--seconds 0:" },
        { { "run", "--seconds", "-1" }, "--seconds -1:" },
        { { "run", "--seconds", "abc" }, "--seconds abc:" },
        { { "run", "--seconds", "1e9" }, "at most" },
        { { "run", "--param", "CosendVcs" }, "--param CosendVcs: write NAME=VALUE" },
        { { "run", "--param", "=8" }, "parameter name before '=' is empty" },
        { { "run", "--param", ".x=1" }, "both the driver and the parameter name" },
        { { "run", "--miniport", "loop", "--param", "loop.=1" },
          "both the driver and the parameter name" },
        { { "run", "--miniport", "loop", "--param", "nosuch.X=1" },
          "no driver in this run is called 'nosuch'" },
        { { "run", "--miniport", "loop", "--protocol", CONDIS_SO_PARAMDUMP, "--param",
            "coclient.ParamB=9" },
          "no driver in this run is called 'coclient'" },
        { { "run", "--protocol", "nosuch" }, "--protocol nosuch: no built-in driver" },
        { { "run", "--miniport", "nosuch" }, "--miniport nosuch: no built-in driver" },
        { { "run", "--protocol", "loop" }, "'loop' is a miniport driver" },
        { { "run", "--miniport", "loop", "--miniport", "loop" }, "'loop' is named twice" },
        { { "run", "--protocol", CONDIS_SO_PARAMDUMP, "--protocol", CONDIS_SO_PARAMDUMP },
          "'paramdump' is named twice" },
        { { "run", "extra" }, "unexpected argument 'extra'" },
        { { "run", "--miniport", "loop", "extra" }, "unexpected argument 'extra'" },
        { { "run", "--verify=bogus" }, "--verify=bogus" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct run r = run_condis(NULL, cases[i].args);
        char what[256];
        size_t w = 0;
        for (size_t k = 0; cases[i].args[k] && w < sizeof(what) - 1; k++)
            w += (size_t)snprintf(what + w, sizeof(what) - w, " %s", cases[i].args[k]);
        if (r.status != 2 || r.signaled || count_lines(r.err) != 1 ||
            strncmp(r.err, "condis: ", 8) != 0 || strstr(r.err, cases[i].names) == NULL ||
            r.out[0] != '\0') {
            run_dump(what, &r);
            fail_msg("condis%s: expected exit 2 and one line on stderr mentioning \"%s\"",
                     what, cases[i].names);
        }
        run_free(&r);
    }
}

/* ==== drivers that cannot be loaded: exit 3, the file named =============== */

static void expect_load_failure(const char *path, const char *why)
{
    struct run r = CLI("run", "--miniport", "loop", "--protocol", path, "--seconds", "5");
    expect_status(&r, 3);
    char line[1024];
    snprintf(line, sizeof(line), "driver %s", path);
    expect_contains(&r, r.err, line);
    expect_contains(&r, r.err, why);
    run_free(&r);
}

static void test_load_missing(void **state)
{
    (void)state;
    unlink(MISSING_PATH);
    expect_load_failure(MISSING_PATH, "No such file or directory");
}

static void test_load_not_shared_object(void **state)
{
    (void)state;
    FILE *f = fopen(NOTASO_PATH, "w");
    assert_non_null(f);
    fputs("this is a text file, not a driver\n", f);
    fclose(f);
    expect_load_failure(NOTASO_PATH, "not a shared object");
    /* An empty file too. */
    f = fopen(NOTASO_PATH, "w");
    assert_non_null(f);
    fclose(f);
    expect_load_failure(NOTASO_PATH, "not a shared object");
    assert_int_equal(unlink(NOTASO_PATH), 0);
}

static void test_load_no_driver_entry(void **state)
{
    (void)state;
    expect_load_failure(CONDIS_SO_NOENTRY, "does not export DriverEntry");
}

static void test_load_driver_entry_fails(void **state)
{
    (void)state;
    expect_load_failure(CONDIS_SO_FAILENTRY, "NDIS_STATUS_RESOURCES");

    /* The report still comes, says why the run ended, and the miniport that
     * did load is unloaded without leaks. */
    struct run r = CLI("run", "--miniport", "loop", "--protocol", CONDIS_SO_FAILENTRY, "--json");
    expect_status(&r, 3);
    struct jv rep = parse_report(&r);
    assert_string_equal(jget(&rep, "end")->str, "driver_failure");
    assert_true(jget(&rep, "exit_status")->num == 3);
    assert_true(has_driver(&rep, "loop", "miniport"));
    assert_false(has_driver(&rep, "failentry", "protocol"));
    assert_int_equal(jget(&rep, "leaks")->n, 0);
    jv_free(&rep);
    run_free(&r);
}

/* ==== an out-of-tree protocol ============================================ */

static void test_external_protocol(void **state)
{
    (void)state;
    struct run r = CLI("run", "--miniport", "loop", "--protocol", CONDIS_SO_COCLIENT, "--quiet");
    expect_status(&r, 0);
    expect_contains(&r, r.out, "every protocol finished");
    expect_contains(&r, r.out, "coclient > loop0");
    expect_contains(&r, r.out, "leaks: none");
    expect_contains(&r, r.err, "coclient: unloaded: VCs created 1 deleted 1, errors 0");
    run_free(&r);

    r = CLI("run", "--miniport", "loop", "--protocol", CONDIS_SO_COCLIENT, "--json", "--param",
            "coclient.CoclientCount=500");
    expect_status(&r, 0);
    struct jv rep = parse_report(&r);
    assert_string_equal(jget(&rep, "end")->str, "done");
    assert_true(jget(&rep, "exit_status")->num == 0);
    assert_true(has_driver(&rep, "coclient", "protocol"));
    assert_true(has_driver(&rep, "loop", "miniport"));
    /* Load order: the miniport first, so the protocol finds an adapter. */
    assert_string_equal(jget(&jget(&rep, "drivers")->v[0], "name")->str, "loop");
    const struct jv *t = totals_traffic(&rep);
    assert_true(jget(t, "sent")->num == 500);
    assert_true(jget(t, "completed")->num == 500);
    assert_true(jget(t, "received")->num == 500);
    assert_true(jget(t, "outstanding")->num == 0);
    assert_int_equal(jget(&rep, "bindings")->n, 1);
    assert_int_equal(jget(&rep, "vcs")->n, 1);
    assert_false(jget(&jget(&rep, "vcs")->v[0], "live")->b);
    assert_int_equal(jget(&rep, "leaks")->n, 0);
    assert_int_equal(jget(&rep, "problems")->n, 0);
    assert_true(jget(&rep, "warnings")->num == 0);
    jv_free(&rep);
    run_free(&r);
}

/* The minimal example client: every NBL it sends comes back, nothing leaks. */
static void test_minimal_protocol(void **state)
{
    (void)state;
    struct run r = CLI("run", "--miniport", "loop", "--protocol", CONDIS_SO_MINIMAL, "--json",
                       "--param", "minimal.MinimalCount=250");
    expect_status(&r, 0);
    expect_contains(&r, r.err, "minimal: sent 250, completed 250, received 250");
    struct jv rep = parse_report(&r);
    assert_string_equal(jget(&rep, "end")->str, "done");
    assert_true(has_driver(&rep, "minimal", "protocol"));
    const struct jv *t = totals_traffic(&rep);
    assert_true(jget(t, "sent")->num == 250);
    assert_true(jget(t, "completed")->num == 250);
    assert_true(jget(t, "outstanding")->num == 0);
    assert_int_equal(jget(&rep, "vcs")->n, 1);
    assert_int_equal(jget(&rep, "leaks")->n, 0);
    assert_true(jget(&rep, "warnings")->num == 0);
    jv_free(&rep);
    run_free(&r);
}

/* ==== parameters reach the driver they name ============================== */

static void test_params(void **state)
{
    (void)state;
    /* A global parameter, and one for paramdump only. */
    struct run r = CLI("run", "--miniport", "loop", "--protocol", CONDIS_SO_PARAMDUMP,
                       "--seconds", "0.3", "--quiet", "--param", "ParamA=x", "--param",
                       "paramdump.ParamB=7", "--param", "ParamC=two words");
    expect_status(&r, 0);
    expect_contains(&r, r.err, "paramdump: ParamA=x\n");
    expect_contains(&r, r.err, "paramdump: ParamB=7\n");
    expect_contains(&r, r.err, "paramdump: ParamC=two words\n");
    expect_contains(&r, r.err, "paramdump: unloaded");
    expect_contains(&r, r.out, "leaks: none");
    run_free(&r);

    /* The driver's own value wins over the global one, whatever the order. */
    r = CLI("run", "--miniport", "loop", "--protocol", CONDIS_SO_PARAMDUMP, "--seconds", "0.3",
            "--param", "paramdump.ParamB=7", "--param", "ParamB=1");
    expect_status(&r, 0);
    expect_contains(&r, r.err, "paramdump: ParamB=7\n");
    expect_lacks(&r, r.err, "ParamB=1");
    run_free(&r);

    /* A parameter for another driver does not reach paramdump. */
    r = CLI("run", "--miniport", "loop", "--protocol", CONDIS_SO_COCLIENT, "--protocol",
            CONDIS_SO_PARAMDUMP, "--seconds", "0.5", "--param", "coclient.ParamB=9", "--param",
            "coclient.CoclientCount=10", "--param", "loop.ParamA=y");
    expect_status(&r, 0);
    expect_contains(&r, r.err, "paramdump: ParamB is not set");
    expect_contains(&r, r.err, "paramdump: ParamA is not set");
    expect_lacks(&r, r.err, "ParamB=9");
    expect_contains(&r, r.out, "leaks: none");
    run_free(&r);
}

/* ==== JSON, --seconds and Ctrl-C ======================================== */

static void test_json_time_limit(void **state)
{
    (void)state;
    struct run r = CLI("run", "--miniport", "loop", "--protocol", CONDIS_SO_PARAMDUMP,
                       "--seconds", "0.3", "--json");
    expect_status(&r, 0);
    struct jv rep = parse_report(&r);
    assert_string_equal(jget(&rep, "end")->str, "time_limit");
    double secs = jget(&rep, "duration_s")->num;
    assert_true(secs >= 0.3 && secs < 0.3 + 10);
    assert_true(has_driver(&rep, "paramdump", "protocol"));
    assert_int_equal(jget(&rep, "bindings")->n, 0);
    assert_int_equal(jget(&rep, "vcs")->n, 0);
    assert_int_equal(jget(&rep, "leaks")->n, 0);
    /* Nothing but the JSON object on stdout: DbgPrint goes to stderr. */
    expect_lacks(&r, r.out, "paramdump:");
    jv_free(&rep);
    run_free(&r);

    /* The text report says the same in words. */
    r = CLI("run", "--miniport", "loop", "--protocol", CONDIS_SO_PARAMDUMP, "--seconds", "0.3");
    expect_status(&r, 0);
    expect_contains(&r, r.out, "time limit reached");
    run_free(&r);
}

/* A driver that never finishes its unbind: condis gives up after its
 * driver timeout, names the driver and the step, ends the run, and exits 3. */
static void test_stuck_driver(void **state)
{
    (void)state;
    struct run r = CLI("run", "--miniport", "loop", "--protocol", CONDIS_SO_STUCKUNBIND,
                       "--seconds", "0.2", "--driver-timeout", "0.3", "--json");
    expect_status(&r, 3);
    struct jv rep = parse_report(&r);
    assert_string_equal(jget(&rep, "end")->str, "driver_failure");
    assert_true(jget(&rep, "exit_status")->num == 3);
    const struct jv *p = jget(&rep, "problems");
    assert_true(p->n >= 1);
    expect_contains(&r, r.out, "stuckunbind: unbinding from loop0 is stuck");
    expect_contains(&r, r.out, "NdisCompleteUnbindAdapterEx did not come");
    jv_free(&rep);
    run_free(&r);

    r = CLI("run", "--driver-timeout", "0");
    expect_status(&r, 2);
    expect_contains(&r, r.err, "--driver-timeout 0");
    run_free(&r);
}

static void test_ctrl_c(void **state)
{
    (void)state;
    const struct run_opts o = { .timeout_s = 30, .signal_after_s = 0.5, .sig = SIGINT };
    struct run r = run_condis(&o, ARGS("run", "--protocol", CONDIS_SO_PARAMDUMP, "--miniport",
                                       "loop", "--seconds", "30"));
    expect_status(&r, 0);
    expect_contains(&r, r.out, "interrupted");
    expect_contains(&r, r.out, "leaks: none");
    expect_contains(&r, r.err, "paramdump: unloaded");
    /* Ended within a few seconds of the signal, not by the time limit. */
    assert_true(r.seconds < 0.5 + 5);
    run_free(&r);

    /* The same in JSON, and with SIGTERM. */
    const struct run_opts t = { .timeout_s = 30, .signal_after_s = 0.5, .sig = SIGTERM };
    r = run_condis(&t, ARGS("run", "--protocol", CONDIS_SO_PARAMDUMP, "--miniport", "loop",
                            "--seconds", "30", "--json"));
    expect_status(&r, 0);
    struct jv rep = parse_report(&r);
    assert_string_equal(jget(&rep, "end")->str, "interrupted");
    assert_int_equal(jget(&rep, "leaks")->n, 0);
    jv_free(&rep);
    assert_true(r.seconds < 0.5 + 5);
    run_free(&r);
}

/* ==== the built-in sim miniport and cosend protocol ====================== */

/* Whether this build has both; the tests that need them skip otherwise. */
static bool have_sim_cosend(void)
{
    static int have = -1;
    if (have < 0) {
        struct run r = CLI("run", "--help");
        have = strstr(r.out, "\n  sim ") != NULL && strstr(r.out, "\n  cosend ") != NULL;
        run_free(&r);
    }
    return have;
}

#define NEED_SIM_COSEND()                                                                   \
    do {                                                                                    \
        if (!have_sim_cosend()) {                                                           \
            print_message("SKIPPED: `condis run --help` lists no built-in sim miniport "    \
                          "and cosend protocol in this build\n");                           \
            skip();                                                                         \
        }                                                                                   \
    } while (0)

static void test_default_run(void **state)
{
    (void)state;
    NEED_SIM_COSEND();
    struct run r = CLI("run", "--quiet");
    expect_status(&r, 0);
    expect_contains(&r, r.out, "cosend > ");
    expect_contains(&r, r.out, "leaks: none");
    run_free(&r);

    r = CLI("run", "--quiet", "--json");
    expect_status(&r, 0);
    struct jv rep = parse_report(&r);
    assert_true(has_driver(&rep, "sim", "miniport"));
    assert_true(has_driver(&rep, "cosend", "protocol"));
    const struct jv *t = totals_traffic(&rep);
    assert_true(jget(t, "sent")->num > 0);
    assert_true(jget(t, "completed")->num == jget(t, "sent")->num);
    assert_int_equal(jget(&rep, "leaks")->n, 0);
    jv_free(&rep);
    run_free(&r);
}

/* One short sim run; returns its checked report. */
static struct jv sim_run(const char *p1, const char *p2, const char *p3, struct run *r)
{
    const char *args[20] = { "run", "--json", "--quiet", "--param", "CosendCount=2000" };
    size_t n = 5;
    const char *ps[] = { p1, p2, p3 };
    for (size_t i = 0; i < 3; i++)
        if (ps[i]) {
            args[n++] = "--param";
            args[n++] = ps[i];
        }
    args[n] = NULL;
    *r = run_condis(NULL, args);
    expect_status(r, 0);
    struct jv rep = parse_report(r);
    const struct jv *t = totals_traffic(&rep);
    if (!(jget(t, "sent")->num > 0 && jget(t, "completed")->num == jget(t, "sent")->num &&
          jget(t, "outstanding")->num == 0 && jget(&rep, "leaks")->n == 0 &&
          strcmp(jget(&rep, "end")->str, "done") == 0)) {
        run_dump("sim run", r);
        fail_msg("sim run with %s %s %s: expected every sent NBL completed, no leaks",
                 p1 ? p1 : "", p2 ? p2 : "", p3 ? p3 : "");
    }
    return rep;
}

static void test_sim_styles(void **state)
{
    (void)state;
    NEED_SIM_COSEND();
    static const char *const styles[][3] = {
        { NULL, NULL, NULL },
        { "sim.SimInline=1", NULL, NULL },
        { "sim.SimReorder=16", NULL, NULL },
        { "sim.SimBatch=8", NULL, NULL },
        { "sim.SimDpcThreads=2", NULL, NULL },
        { "sim.SimLatencyUs=50", NULL, NULL },
        { "sim.SimEarlyComplete=1", NULL, NULL },
        { "sim.SimReorder=16", "sim.SimBatch=8", "sim.SimDpcThreads=2" },
        { "sim.SimInline=1", "sim.SimBatch=8", "sim.SimReorder=4" },
    };
    for (size_t i = 0; i < sizeof(styles) / sizeof(styles[0]); i++) {
        struct run r;
        struct jv rep = sim_run(styles[i][0], styles[i][1], styles[i][2], &r);
        assert_true(jget(totals_traffic(&rep), "failed")->num == 0);
        jv_free(&rep);
        run_free(&r);
    }
}

/* Failed completions are the miniport's answer, not a leak: counted and
 * listed by status, exit status 0. */
static void test_sim_failures(void **state)
{
    (void)state;
    NEED_SIM_COSEND();
    static const char *const styles[][2] = {
        { "sim.SimFailEvery=10", NULL },
        { "sim.SimFailEvery=10", "sim.SimReorder=16" },
    };
    for (size_t i = 0; i < sizeof(styles) / sizeof(styles[0]); i++) {
        struct run r;
        struct jv rep = sim_run(styles[i][0], styles[i][1], NULL, &r);
        const struct jv *t = totals_traffic(&rep);
        assert_true(jget(t, "failed")->num > 0);
        const struct jv *f = jget(jget(t, "failures"), "NDIS_STATUS_FAILURE");
        if (f == NULL) {
            run_dump("SimFailEvery", &r);
            fail_msg("no NDIS_STATUS_FAILURE in totals.traffic.failures");
        }
        assert_true(f->num > 0 && f->num <= jget(t, "failed")->num);
        assert_true(jget(&rep, "exit_status")->num == 0);
        expect_contains(&r, r.out, "\"NDIS_STATUS_FAILURE\"");
        jv_free(&rep);
        run_free(&r);
    }
}

/* The independent client (written from Microsoft's documentation only)
 * passes its own checks over sim in every completion style, alone and
 * combined. */
static void test_coclient_over_sim(void **state)
{
    (void)state;
    NEED_SIM_COSEND();
    static const char *const styles[][7] = {
        { NULL },
        { "sim.SimInline=1", NULL },
        { "sim.SimReorder=16", "sim.SimBatch=4", "sim.SimDpcThreads=2", NULL },
        { "sim.SimFailEvery=10", NULL },
        { "sim.SimEarlyComplete=1", NULL },
        { "sim.SimLatencyUs=50", NULL },
        { "sim.SimReorder=8", "sim.SimBatch=3", "sim.SimDpcThreads=2", "sim.SimFailEvery=7",
          "sim.SimEarlyComplete=1", "sim.SimLatencyUs=20", NULL },
        { "sim.SimReorder=8", "sim.SimBatch=3", "sim.SimInline=1", "sim.SimFailEvery=7", NULL },
    };
    for (size_t i = 0; i < sizeof(styles) / sizeof(styles[0]); i++) {
        const char *args[40] = { "run", "--json", "--quiet", "--protocol", CONDIS_SO_COCLIENT,
                                 "--miniport", "sim", "--param", "coclient.CoclientCount=2000" };
        size_t n = 9;
        for (size_t k = 0; k < 7 && styles[i][k]; k++) {
            args[n++] = "--param";
            args[n++] = styles[i][k];
        }
        args[n] = NULL;
        struct run r = run_condis(NULL, args);
        expect_status(&r, 0);
        expect_contains(&r, r.err, "coclient: unloaded: VCs created 1 deleted 1, errors 0");
        struct jv rep = parse_report(&r);
        const struct jv *t = totals_traffic(&rep);
        if (!(jget(t, "sent")->num == 2000 && jget(t, "completed")->num == 2000 &&
              jget(&rep, "leaks")->n == 0)) {
            run_dump("coclient over sim", &r);
            fail_msg("coclient over sim (style %zu): expected 2000 sent and completed, no leaks", i);
        }
        jv_free(&rep);
        run_free(&r);
    }
}

/* The NDIS 5.1 client through the 5.x translation: over loop (receives
 * returned at once and kept), over sim in several completion styles, and
 * beside the NDIS 6 client on one adapter. Each run: exit 0, every packet
 * completed, cosend5's own checks clean, nothing leaked. */
static void test_cosend5(void **state)
{
    (void)state;
    NEED_SIM_COSEND();
    static const char *const runs[][9] = {
        { "--miniport", "loop", NULL },
        { "--miniport", "loop", "--param", "loop.LoopInline=1", "--param",
          "Cosend5KeepReceives=1", NULL },
        { "--miniport", "loop", "--param", "Cosend5KeepReceives=1", NULL },
        { "--miniport", "sim", "--param", "sim.SimReorder=16", "--param", "sim.SimBatch=4",
          "--param", "sim.SimDpcThreads=2", NULL },
        { "--miniport", "sim", "--param", "sim.SimInline=1", "--param", "sim.SimFailEvery=7",
          NULL },
        { "--miniport", "sim", "--param", "sim.SimEarlyComplete=1", "--param",
          "sim.SimLatencyUs=30", NULL },
        { "--miniport", "sim", "--protocol", "cosend", "--param", "CosendCount=2000", NULL },
    };
    for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
        const char *args[32] = { "run", "--json", "--quiet", "--protocol", "cosend5", "--param",
                                 "Cosend5Count=2000" };
        size_t n = 7;
        for (size_t k = 0; k < 9 && runs[i][k]; k++)
            args[n++] = runs[i][k];
        args[n] = NULL;
        struct run r = run_condis(NULL, args);
        expect_status(&r, 0);
        expect_contains(&r, r.err, "violations 0");
        expect_lacks(&r, r.err, "violations 1");
        struct jv rep = parse_report(&r);
        const struct jv *t = totals_traffic(&rep);
        if (!(jget(t, "sent")->num > 0 && jget(t, "completed")->num == jget(t, "sent")->num &&
              jget(t, "outstanding")->num == 0 && jget(&rep, "leaks")->n == 0 &&
              strcmp(jget(&rep, "end")->str, "done") == 0)) {
            run_dump("cosend5 run", &r);
            fail_msg("cosend5 run %zu: expected every packet completed, no leaks", i);
        }
        jv_free(&rep);
        run_free(&r);
    }
}

/* The independent NDIS 6 client over the NDIS 5.x miniports: its NBLs
 * reach them as packets and come back with their statuses. */
static void test_coclient_over_ndis5_miniports(void **state)
{
    (void)state;
    NEED_SIM_COSEND();
    static const char *const runs[][7] = {
        { "loop5", NULL },
        { "loop5", "loop5.LoopInline=1", NULL },
        { "sim5", NULL },
        { "sim5", "sim5.SimReorder=8", "sim5.SimDpcThreads=2", "sim5.SimFailEvery=7", NULL },
        { "sim5", "sim5.SimInline=1", NULL },
    };
    for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
        const char *args[32] = { "run", "--json", "--quiet", "--protocol", CONDIS_SO_COCLIENT,
                                 "--param", "coclient.CoclientCount=2000", "--miniport",
                                 runs[i][0] };
        size_t n = 9;
        for (size_t k = 1; k < 7 && runs[i][k]; k++) {
            args[n++] = "--param";
            args[n++] = runs[i][k];
        }
        args[n] = NULL;
        struct run r = run_condis(NULL, args);
        expect_status(&r, 0);
        expect_contains(&r, r.err, "coclient: unloaded: VCs created 1 deleted 1, errors 0");
        struct jv rep = parse_report(&r);
        const struct jv *t = totals_traffic(&rep);
        if (!(jget(t, "sent")->num == 2000 && jget(t, "completed")->num == 2000 &&
              jget(&rep, "leaks")->n == 0)) {
            run_dump("coclient over an NDIS 5 miniport", &r);
            fail_msg("coclient over %s (run %zu): expected 2000 sent and completed, no leaks",
                     runs[i][0], i);
        }
        jv_free(&rep);
        run_free(&r);
    }
}

/* Issue 4's acceptance run: the independent NDIS 5.1 client (written from
 * Microsoft's documentation only) passes its own checks over both NDIS 6
 * and both NDIS 5.x miniports in several completion styles, also under
 * the verifier, which must find nothing. */
static void test_coclient5_everywhere(void **state)
{
    (void)state;
    NEED_SIM_COSEND();
    static const char *const runs[][8] = {
        { "loop", NULL },
        { "loop", "loop.LoopInline=1", "coclient5.Coclient5KeepEvery=3", NULL },
        { "loop", "loop.LoopResources=1", NULL },
        { "sim", NULL },
        { "sim", "sim.SimInline=1", "sim.SimFailEvery=7", NULL },
        { "sim", "sim.SimReorder=16", "sim.SimBatch=8", "sim.SimDpcThreads=2", NULL },
        { "sim", "sim.SimEarlyComplete=1", "sim.SimLatencyUs=20", NULL },
        { "loop5", NULL },
        { "loop5", "loop5.LoopInline=1", "coclient5.Coclient5KeepEvery=2", NULL },
        { "sim5", NULL },
        { "sim5", "sim5.SimInline=1", NULL },
        { "sim5", "sim5.SimReorder=8", "sim5.SimBatch=4", "sim5.SimDpcThreads=2",
          "sim5.SimFailEvery=7", NULL },
    };
    for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
        for (int verify = 0; verify < 2; verify++) {
            const char *args[40] = { "run", "--json", "--quiet", "--protocol", CONDIS_SO_COCLIENT5,
                                     "--param", "coclient5.Coclient5Count=2000", "--miniport",
                                     runs[i][0] };
            size_t n = 9;
            if (verify)
                args[n++] = "--verify";
            for (size_t k = 1; k < 8 && runs[i][k]; k++) {
                args[n++] = "--param";
                args[n++] = runs[i][k];
            }
            args[n] = NULL;
            struct run r = run_condis(NULL, args);
            expect_status(&r, 0);
            expect_contains(&r, r.err, "coclient5: unloaded: VCs created 1 deleted 1, errors 0");
            struct jv rep = parse_report(&r);
            const struct jv *t = totals_traffic(&rep);
            if (!(jget(t, "sent")->num == 2000 && jget(t, "completed")->num == 2000 &&
                  jget(&rep, "leaks")->n == 0 && jget(&rep, "violations")->n == 0 &&
                  jget(&rep, "problems")->n == 0)) {
                run_dump("coclient5", &r);
                fail_msg("coclient5 over %s (run %zu%s): expected 2000 sent and completed, no "
                         "leaks, no violations, no problems",
                         runs[i][0], i, verify ? ", --verify" : "");
            }
            jv_free(&rep);
            run_free(&r);
        }
    }
}

/* ==== planted protocol bugs under the verifier (issue 5) ==================
 * Each independent client has a test-only knob (CoclientBug /
 * Coclient5Bug, see the header of examples/coclient.c and coclient5.c) that
 * breaks one protocol-side rule. Each such run must exit 1 with that rule
 * id, attributed to the client, and nothing else; condis refuses or
 * repairs what it catches, so the run still ends in order: `done`, no
 * problems, every NBL it counted as sent completed, and the client unloads
 * having deleted its VC. The bugs that act on a send in flight need it to
 * stay in flight a while, hence SimLatencyUs: 20 ms, and 100 ms for the
 * bugs that touch a send they only just saw in flight (in_flight), so that
 * a loaded machine cannot complete it under the bug's feet. */

struct bug_case {
    const char *id;    /* the rule the client breaks */
    const char *also;  /* a second rule the same act legitimately breaks, or NULL */
    bool other_driver; /* findings of the same rule may name the miniport too */
    bool in_flight;    /* the bug acts on a send it saw in flight a moment ago */
};

/* Rules a planted bug breaks, with the findings each must produce. */
static const struct bug_case coclient_bugs[] = {
    { "OWN-1", NULL, false, true },
    /* The OWN-2 bug takes the in-flight status for the result and frees the
     * NBL at once: the free itself breaks OWN-3, and acting on the status is
     * only visible through it (docs/verifier.md, OWN-2). */
    { "OWN-2", "OWN-3", false, true },
    { "OWN-3", NULL, false, true },
    { "NBL-1", NULL, false },
    { "NBL-2", NULL, false },
    { "NBL-4", NULL, false },
    { "VC-1", NULL, false },
    { "VC-2", NULL, false },
    { "VC-3", NULL, false },
    { "VC-4", NULL, false },
    { "IRQL-1", NULL, false },
    { "IRQL-2", NULL, false },
    /* The lock kept across the send-complete handler is found once, at
     * the handler's return, not again when sim's DPC routine returns. */
    { "IRQL-3", NULL, false },
    { "RES-1", NULL, false },
    { "RES-2", NULL, false },
};

static const struct bug_case coclient5_bugs[] = {
    { "OWN-1", NULL, false, true },
    /* As for coclient: the status taken for the result leads to an
     * NdisFreePacket of the packet in flight, which is OWN-3. */
    { "OWN-2", "OWN-3", false, true },
    { "OWN-3", NULL, false, true },
    { "PKT-1", NULL, false },
    { "PKT-2", NULL, false },
    { "PKT-4", NULL, false, true },
    { "VC-1", NULL, false },
    { "VC-2", NULL, false },
    { "VC-3", NULL, false },
    { "VC-4", NULL, false },
    { "IRQL-2", NULL, false },
    /* Found once, after CoSendCompleteHandler: not again after condis'
     * own NDIS 6 completion wrapper nor after the miniport's DPC routine. */
    { "IRQL-3", NULL, false },
    { "RES-1", NULL, false },
    { "RES-2", NULL, false },
};

static const struct bug_case *bug_case_find(const struct bug_case *cases, size_t n,
                                            const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(cases[i].id, id) == 0)
            return &cases[i];
    fail_msg("no bug case %s", id);
    return NULL;
}

/*
 * One run of client drv (its .so so, its parameters prefixed with prefix)
 * over miniport mp with bug c planted, every `every` sends (NULL: once),
 * under `verify` ("--verify" or "--verify=stop"). Checks what the comment
 * above says; returns the report, the caller frees it and r.
 */
static struct jv bug_run(const char *so, const char *drv, const char *prefix, const char *mp,
                         const struct bug_case *c, const char *every, const char *verify,
                         struct run *r)
{
    char count[64], window[64], latency[64], bug[64], everyp[64];
    snprintf(count, sizeof(count), "%s.%sCount=64", drv, prefix);
    snprintf(window, sizeof(window), "%s.%sWindow=8", drv, prefix);
    snprintf(latency, sizeof(latency), "%s.SimLatencyUs=%d", mp,
             c->in_flight ? 100000 : 20000);
    snprintf(bug, sizeof(bug), "%s.%sBug=%s", drv, prefix, c->id);
    const char *args[40] = { "run",     "--json", "--quiet", verify,  "--protocol", so,
                             "--miniport", mp,    "--param", count,   "--param",    window,
                             "--param", latency,  "--param", bug };
    size_t n = 16;
    if (every != NULL) {
        snprintf(everyp, sizeof(everyp), "%s.%sBugEvery=%s", drv, prefix, every);
        args[n++] = "--param";
        args[n++] = everyp;
    }
    args[n] = NULL;
    *r = run_condis(NULL, args);
    expect_status(r, 1);
    struct jv rep = parse_report(r);
    char what[160];
    snprintf(what, sizeof(what), "%s with %s planted over %s%s%s", drv, c->id, mp,
             every ? ", every " : "", every ? every : "");

    /* The findings: the planted rule (and its companion), by the client. */
    const struct jv *v = jget(&rep, "violations");
    bool seen = false, seen_also = c->also == NULL;
    for (size_t i = 0; i < v->n; i++) {
        const char *rule = jneed(&v->v[i], "violations[]", "rule", J_STR)->str;
        const char *driver = jneed(&v->v[i], "violations[]", "driver", J_STR)->str;
        bool is_main = strcmp(rule, c->id) == 0;
        bool is_also = c->also != NULL && strcmp(rule, c->also) == 0;
        bool ours = strcmp(driver, drv) == 0;
        if (!(is_main || is_also) || !(ours || (c->other_driver && strcmp(driver, mp) == 0))) {
            run_dump(what, r);
            fail_msg("%s: unexpected finding %s against %s", what, rule, driver);
        }
        seen |= is_main && ours;
        seen_also |= is_also && ours;
    }
    if (!seen || !seen_also) {
        run_dump(what, r);
        fail_msg("%s: no %s%s%s finding against %s", what, c->id, c->also ? " and " : "",
                 c->also ? c->also : "", drv);
    }

    /* The run still ended in order. */
    const struct jv *t = totals_traffic(&rep);
    bool res1 = strcmp(c->id, "RES-1") == 0;
    if (!(jget(&rep, "problems")->n == 0 && jget(t, "sent")->num > 0 &&
          jget(t, "completed")->num == jget(t, "sent")->num &&
          jget(t, "outstanding")->num == 0 && (jget(&rep, "leaks")->n == 0) != res1 &&
          jget(&rep, "exit_status")->num == 1 && !r->timed_out)) {
        run_dump(what, r);
        fail_msg("%s: expected no problems, every send completed, %s", what,
                 res1 ? "the planted leak listed" : "no leaks");
    }
    char unloaded[96];
    snprintf(unloaded, sizeof(unloaded), "%s: unloaded: VCs created 1 deleted 1", drv);
    expect_contains(r, r->err, unloaded);
    return rep;
}

/* Over sim, every rule; over sim5 (the 5.x translation in between) and
 * with CoclientBugEvery, the ones whose path differs. Then --verify=stop,
 * and a rule id the client does not know. */
static void bug_runs(const char *so, const char *drv, const char *prefix,
                          const struct bug_case *cases, size_t ncases,
                          const char *const *on_sim5, const char *const *repeated)
{
    for (size_t i = 0; i < ncases; i++) {
        struct run r;
        struct jv rep = bug_run(so, drv, prefix, "sim", &cases[i], NULL, "--verify", &r);
        jv_free(&rep);
        run_free(&r);
    }
    for (size_t i = 0; on_sim5[i] != NULL; i++) {
        struct run r;
        struct jv rep = bug_run(so, drv, prefix, "sim5", bug_case_find(cases, ncases, on_sim5[i]),
                                NULL, "--verify", &r);
        jv_free(&rep);
        run_free(&r);
    }
    for (size_t i = 0; repeated[i] != NULL; i++) {
        struct run r;
        const struct bug_case *c = bug_case_find(cases, ncases, repeated[i]);
        struct jv rep = bug_run(so, drv, prefix, "sim", c, "5", "--verify", &r);
        /* Planted again every 5 sends: found more than once. */
        const struct jv *n = jget(jget(jget(&rep, "verifier"), "by_rule"), c->id);
        if (n == NULL || n->num < 2) {
            run_dump("planted every 5 sends", &r);
            fail_msg("%s with %s every 5 sends: expected several findings", drv, c->id);
        }
        jv_free(&rep);
        run_free(&r);
    }

    /* --verify=stop: the run ends at the first finding, in order. */
    struct run r;
    struct jv rep = bug_run(so, drv, prefix, "sim", bug_case_find(cases, ncases, "OWN-3"), NULL,
                            "--verify=stop", &r);
    assert_string_equal(jget(&rep, "end")->str, "verify_stop");
    jv_free(&rep);
    run_free(&r);

    /* An unknown rule id fails the bind, loudly. */
    char bug[64], msg[96];
    snprintf(bug, sizeof(bug), "%s.%sBug=NOPE-1", drv, prefix);
    snprintf(msg, sizeof(msg), "%s: error: %sBug=NOPE-1", drv, prefix);
    r = CLI("run", "--quiet", "--verify", "--protocol", so, "--miniport", "sim", "--param", bug);
    expect_status(&r, 3);
    expect_contains(&r, r.err, msg);
    run_free(&r);
}

static void test_coclient_bugs(void **state)
{
    (void)state;
    NEED_SIM_COSEND();
    static const char *const on_sim5[] = { "OWN-1", "OWN-3", "NBL-4", "VC-2", "IRQL-3", NULL };
    static const char *const repeated[] = { "OWN-3", "NBL-1", "VC-3", "IRQL-2", NULL };
    bug_runs(CONDIS_SO_COCLIENT, "coclient", "Coclient", coclient_bugs,
                  sizeof(coclient_bugs) / sizeof(coclient_bugs[0]), on_sim5, repeated);
}

static void test_coclient5_bugs(void **state)
{
    (void)state;
    NEED_SIM_COSEND();
    static const char *const on_sim5[] = { "OWN-1", "OWN-3", "PKT-2", "PKT-4", "VC-2", NULL };
    static const char *const repeated[] = { "OWN-3", "PKT-1", "PKT-4", "IRQL-3", NULL };
    bug_runs(CONDIS_SO_COCLIENT5, "coclient5", "Coclient5", coclient5_bugs,
                  sizeof(coclient5_bugs) / sizeof(coclient5_bugs[0]), on_sim5, repeated);
}

/* ==== condis bench ======================================================== */

/* A number of the bench's JSON, or fail. */
static double bench_num(const struct run *r, const struct jv *o, const char *key)
{
    const struct jv *v = jget(o, key);
    if (v == NULL || v->t != J_NUM) {
        run_dump("condis bench --json", r);
        fail_msg("bench JSON: no number \"%s\"", key);
    }
    return v->num;
}

/* One measured result: median within [min, max], rate consistent. */
static void bench_check_result(const struct run *r, const struct jv *res, bool scenario)
{
    double ns = bench_num(r, res, "ns_per_nbl"), lo = bench_num(r, res, "min"),
           hi = bench_num(r, res, "max"), mpps = bench_num(r, res, "mpps");
    assert_true(ns > 0 && lo <= ns && ns <= hi);
    /* mpps = 1000 / ns, each printed to 3 decimals: the product is off by
     * at most 0.0005 * (mpps + ns). */
    assert_true(fabs(mpps * ns - 1000.0) <= 0.001 * (mpps + ns));
    assert_int_equal((int)bench_num(r, res, "reps"), 1);
    /* The send path allocates nothing; sanitizer builds cannot count. */
    const struct jv *a = jget(res, "allocs_timed");
    if (scenario && a != NULL)
        assert_int_equal((long long)a->num, 0);
}

/* `condis bench` with args (a --json run), which must exit 0; its JSON
 * into *v. */
static struct run bench_json(const char *const *args, struct jv *v)
{
    struct run_opts o = { .timeout_s = 240 };
    struct run r = run_condis(&o, args);
    expect_status(&r, 0);
    const char *err = NULL;
    if (!json_parse(r.out, v, &err)) {
        run_dump("condis bench --json", &r);
        fail_msg("JSON: %s", err);
    }
    return r;
}

static void test_bench(void **state)
{
    (void)state;
    const char *args[] = { "bench", "--json", "--quick", "--rounds", "1",
                           "--only", "send6_inline_c1", "--only", "send5_inline_c32",
                           "--only", "recv6_loop_c32", "--only", "send6_verify_c32",
                           "--only", "naive_1t_c32", "--only", "dpdk_1t_c32", NULL };
    struct jv v;
    struct run r = bench_json(args, &v);
    const struct jv *sc = jget(&v, "scenarios"), *bl = jget(&v, "baselines");
    assert_non_null(sc);
    assert_non_null(bl);
    assert_int_equal(sc->n, 4); /* only what --only named */
    assert_int_equal(bl->n, 2);
    static const char *const names[] = { "send6_inline_c1", "send5_inline_c32",
                                         "recv6_loop_c32", "send6_verify_c32" };
    for (size_t i = 0; i < 4; i++) {
        const struct jv *res = jget(sc, names[i]);
        if (res == NULL || jget(res, "skipped") != NULL) {
            run_dump("condis bench --json", &r);
            fail_msg("scenario %s did not run", names[i]);
        }
        bench_check_result(&r, res, true);
    }
    bench_check_result(&r, jget(bl, "naive_1t_c32"), false);
    /* DPDK may be missing: then the baseline says why. */
    const struct jv *d = jget(bl, "dpdk_1t_c32");
    assert_non_null(d);
    if (jget(d, "skipped") != NULL)
        assert_int_equal(jget(d, "skipped")->t, J_STR);
    else
        bench_check_result(&r, d, false);
    assert_true(bench_num(&r, jget(&v, "machine"), "cpus") >= 1);
    assert_non_null(jget(&v, "targets"));
    jv_free(&v);
    run_free(&r);

    /* Bad usage says so, with exit status 2. */
    static const char *const bad[][4] = {
        { "bench", "--rounds", "0", NULL },
        { "bench", "--only", "send7_warp", NULL },
        { "bench", "--quick", "extra", NULL },
        { "bench", "--only", NULL },
        { "bench", "--bogus", NULL },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct run b = run_condis(NULL, bad[i]);
        expect_status(&b, 2);
        expect_contains(&b, b.err, "condis: ");
        run_free(&b);
    }
    const char *help[] = { "help", "bench", NULL };
    struct run h = run_condis(NULL, help);
    expect_status(&h, 0);
    expect_contains(&h, h.out, "send6_inline_c32_100kvc");
    expect_contains(&h, h.out, "dpdk_2t_c32");
    run_free(&h);
}

/* What a VC costs: measured from the heap of the 100,000-VC scenario and
 * its one-VC twin, wherever the heap can be measured (not under the
 * sanitizers, which also cannot count allocations). Memory, unlike speed,
 * does not depend on the machine's load: the limit is checked here. */
static void test_bench_vc_bytes(void **state)
{
    (void)state;
    const char *args[] = { "bench", "--json", "--quick", "--rounds", "1",
                           "--only", "send6_inline_c32", "--only", "send6_inline_c32_100kvc",
                           NULL };
    struct jv v;
    struct run r = bench_json(args, &v);
    const struct jv *one = jget(jget(&v, "scenarios"), "send6_inline_c32");
    assert_non_null(one);
    const struct jv *vb = jget(&v, "vc_bytes");
    if (jget(one, "allocs_timed") == NULL) {
        assert_null(vb);
    } else {
        assert_non_null(vb);
        double limit = jnum(vb, "vc_bytes", "limit"), cn = jnum(vb, "vc_bytes", "condis");
        assert_true(limit == 512);
        assert_true(cn > 0 && cn <= limit);
        assert_true(jnum(vb, "vc_bytes", "drivers") > 0);
        assert_int_equal(jneed(vb, "vc_bytes", "met", J_BOOL)->b, true);
    }
    /* The one target these two make: in one round, the three ways of
     * taking the ratio agree, and the verdict follows the judged one. */
    const struct jv *t = jneed(&v, "bench", "targets", J_ARR);
    assert_int_equal(t->n, 1);
    const struct jv *t0 = &t->v[0];
    assert_string_equal(jneed(t0, "targets[]", "candidate", J_STR)->str, "send6_inline_c32_100kvc");
    assert_string_equal(jneed(t0, "targets[]", "reference", J_STR)->str, "send6_inline_c32");
    double many = bench_num(&r, jget(jget(&v, "scenarios"), "send6_inline_c32_100kvc"), "ns_per_nbl");
    double ratio = jnum(t0, "targets[]", "ratio"), want = many / bench_num(&r, one, "ns_per_nbl");
    assert_true(fabs(ratio - want) <= 0.002 * want + 0.001);
    assert_true(fabs(jnum(t0, "targets[]", "medians") - ratio) <= 0.001);
    assert_true(fabs(jnum(t0, "targets[]", "fastest_rounds") - ratio) <= 0.001);
    assert_true(jnum(t0, "targets[]", "limit") == 1.3);
    if (fabs(ratio - 1.3) > 0.001) /* the printed ratio is rounded */
        assert_int_equal(jneed(t0, "targets[]", "met", J_BOOL)->b, ratio <= 1.3);
    jv_free(&v);
    run_free(&r);
}

/* ==== the end: nothing left behind ======================================= */

static void test_nothing_left(void **state)
{
    (void)state;
    /* Every child was reaped, and the file the test wrote is gone. */
    errno = 0;
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
    assert_int_not_equal(access(NOTASO_PATH, F_OK), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_parser),
        cmocka_unit_test(test_no_command),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_run_help),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_load_missing),
        cmocka_unit_test(test_load_not_shared_object),
        cmocka_unit_test(test_load_no_driver_entry),
        cmocka_unit_test(test_load_driver_entry_fails),
        cmocka_unit_test(test_external_protocol),
        cmocka_unit_test(test_minimal_protocol),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_json_time_limit),
        cmocka_unit_test(test_stuck_driver),
        cmocka_unit_test(test_ctrl_c),
        cmocka_unit_test(test_default_run),
        cmocka_unit_test(test_sim_styles),
        cmocka_unit_test(test_sim_failures),
        cmocka_unit_test(test_coclient_over_sim),
        cmocka_unit_test(test_cosend5),
        cmocka_unit_test(test_coclient_over_ndis5_miniports),
        cmocka_unit_test(test_coclient5_everywhere),
        cmocka_unit_test(test_coclient_bugs),
        cmocka_unit_test(test_coclient5_bugs),
        cmocka_unit_test(test_bench),
        cmocka_unit_test(test_bench_vc_bytes),
        cmocka_unit_test(test_nothing_left),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
