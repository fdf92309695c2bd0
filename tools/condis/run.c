/*
 * run.c - `condis run`: the main job. Load drivers, create an adapter per
 * miniport, bind every protocol to every adapter, let them work until every
 * protocol has deleted the VCs it made (or the time limit, or Ctrl-C), then
 * unbind, halt and unload in order and report.
 */
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <condis/builtin.h>
#include <condis/host.h>

#include "cli.h"

#define MAX_DRIVERS 32
#define MAX_PARAMS 256
#define MAX_PROBLEMS 64

void cli_usage_run(FILE *f)
{
    fprintf(f,
            "usage: condis run [--protocol NAME|PATH.so]... [--miniport NAME|PATH.so]...\n"
            "                  [--param [DRIVER.]NAME=VALUE]... [--seconds N] [--json]\n"
            "                  [--quiet] [--verify[=stop]]\n"
            "\n"
            "Loads each driver (calls its DriverEntry), creates one adapter per miniport,\n"
            "binds every protocol to every adapter, and lets them work until every protocol\n"
            "has closed the calls it made and deleted its VCs, or N seconds pass, or Ctrl-C.\n"
            "Then it unbinds, halts and unloads in order, checks that every pool is full and\n"
            "nothing is outstanding, and reports per binding and VC.\n"
            "\n"
            "options:\n"
            "  --protocol NAME|PATH.so    a protocol driver: a built-in name, or a shared\n"
            "                             object exporting DriverEntry (--protocol ./my.so)\n"
            "  --miniport NAME|PATH.so    a miniport driver (--miniport sim)\n"
            "  --param NAME=VALUE         a parameter every driver can read with\n"
            "                             NdisReadConfiguration (--param CosendVcs=8)\n"
            "  --param DRIVER.NAME=VALUE  a parameter for one driver only; DRIVER is a\n"
            "                             built-in name or the .so file name without .so\n"
            "                             (--param sim.SimReorder=16)\n"
            "  --seconds N                end the run after N seconds at the latest\n"
            "                             (default 60; --seconds 2.5)\n"
            "  --json                     print the report as one JSON object on stdout\n"
            "                             (its shape: docs/report.md)\n"
            "  --quiet                    no progress line\n"
            "  --driver-timeout N         seconds to wait for a driver that pended a bind,\n"
            "                             unbind, pause or restart before reporting it stuck\n"
            "                             (default 10)\n"
            "  --verify[=stop]            check the drivers against the send-path rules\n"
            "                             (docs/verifier.md) and report every violation;\n"
            "                             =stop ends the run at the first one. Exit status 1\n"
            "                             when anything was found\n"
            "  -h, --help                 this text\n"
            "\n"
            "built-in drivers:\n");
    for (const struct condis_builtin *b = condis_builtins(); b->name; b++)
        fprintf(f, "  %-8s %-9s %s\n", b->name, b->kind, b->summary);
    fprintf(f,
            "\n"
            "A built-in driver's parameters: condis help DRIVER (condis help sim).\n"
            "With no driver named: condis run --protocol cosend --miniport sim.\n"
            "Exit status: 0 clean; 1 verifier violations, leaks or sends left outstanding;\n"
            "2 bad usage; 3 a driver failed to load, bind or unload in time.\n");
}

/* ---- drivers named on the command line ---------------------------------- */

struct drv_spec {
    const char *arg;   /* as given */
    char name[64];     /* built-in name, or .so file name without .so */
    bool miniport;
    PDRIVER_INITIALIZE entry;
    void *dl;
    struct condis_driver *drv;
};

static bool is_path(const char *s)
{
    size_t n = strlen(s);
    return strchr(s, '/') != NULL || (n > 3 && strcmp(s + n - 3, ".so") == 0);
}

/* dlerror's words for a file that is not an object at all ("file too short",
 * "invalid ELF header") do not tell a user what is wrong; the magic does. */
static bool is_elf(const char *path)
{
    unsigned char magic[4] = { 0 };
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return true; /* let dlopen say why */
    size_t n = fread(magic, 1, sizeof(magic), f);
    bool unreadable = ferror(f) != 0; /* a directory, say: dlopen says why */
    fclose(f);
    return unreadable || (n == sizeof(magic) && memcmp(magic, "\177ELF", 4) == 0);
}

/* Find a driver's DriverEntry; exit 2 for a bad name, 3 for a bad file. */
static void resolve(struct drv_spec *d)
{
    const char *want = d->miniport ? "miniport" : "protocol";
    if (!is_path(d->arg)) {
        const struct condis_builtin *b = condis_builtin_find(d->arg);
        if (b == NULL)
            cli_usage_error("--%s %s: no built-in driver has that name; see `condis run --help` "
                            "for the list, or give the path of a .so (./%s.so)",
                            want, d->arg, d->arg);
        if (strcmp(b->kind, want) != 0)
            cli_usage_error("--%s %s: '%s' is a %s driver; write --%s %s", want, d->arg, b->name,
                            b->kind, b->kind, b->name);
        snprintf(d->name, sizeof(d->name), "%s", b->name);
        d->entry = b->entry;
        return;
    }
    const char *base = strrchr(d->arg, '/');
    base = base ? base + 1 : d->arg;
    snprintf(d->name, sizeof(d->name), "%s", base);
    char *dot = strrchr(d->name, '.');
    if (dot && dot != d->name)
        *dot = '\0';
    if (access(d->arg, R_OK) != 0) {
        fprintf(stderr, "%s: cannot load driver %s: %s\n", cli_prog, d->arg, strerror(errno));
        exit(EXIT_DRIVER);
    }
    if (!is_elf(d->arg)) {
        fprintf(stderr, "%s: cannot load driver %s: it is not a shared object (no ELF header); "
                        "build it with cc -shared -fPIC\n", cli_prog, d->arg);
        exit(EXIT_DRIVER);
    }
    d->dl = dlopen(d->arg, RTLD_NOW | RTLD_LOCAL);
    if (d->dl == NULL) {
        fprintf(stderr, "%s: cannot load driver %s: %s\n", cli_prog, d->arg, dlerror());
        exit(EXIT_DRIVER);
    }
    d->entry = (PDRIVER_INITIALIZE)dlsym(d->dl, "DriverEntry");
    if (d->entry == NULL) {
        fprintf(stderr, "%s: cannot load driver %s: it does not export "
                        "DriverEntry(PDRIVER_OBJECT, PUNICODE_STRING)\n", cli_prog, d->arg);
        exit(EXIT_DRIVER);
    }
}

/* ---- messages: printed, and condis' own errors kept for the report -------- */

static pthread_mutex_t problems_lock = PTHREAD_MUTEX_INITIALIZER;
static char *problems[MAX_PROBLEMS];
static size_t nproblems;

static void log_line(const char *line, void *arg)
{
    (void)arg;
    fprintf(stderr, "%s\n", line);
    static const char prefix[] = "condis: ";
    /* Warnings and verifier findings have their own places in the report. */
    if (strncmp(line, prefix, sizeof(prefix) - 1) != 0 ||
        strncmp(line + sizeof(prefix) - 1, "warning:", 8) == 0 ||
        strncmp(line + sizeof(prefix) - 1, "violation:", 10) == 0)
        return;
    pthread_mutex_lock(&problems_lock);
    if (nproblems < MAX_PROBLEMS)
        problems[nproblems++] = strdup(line + sizeof(prefix) - 1);
    pthread_mutex_unlock(&problems_lock);
}

/* ---- Ctrl-C --------------------------------------------------------------- */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    if (interrupted) {
        /* A second Ctrl-C while the run ends: stop waiting for drivers. */
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    interrupted = 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the run -------------------------------------------------------------- */

struct params {
    char *driver, *name, *value;
};

static double parse_seconds(const char *flag, const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !(v > 0) || v > 1e7)
        cli_usage_error("%s %s: give a number of seconds above 0 and at most "
                        "10000000, for example %s 10", flag, s, flag);
    return v;
}

static void parse_param(char *arg, struct params *p)
{
    char *eq = strchr(arg, '=');
    if (eq == arg)
        cli_usage_error("--param %s: the parameter name before '=' is empty; write NAME=VALUE, "
                        "for example --param CosendVcs=8", arg);
    if (eq == NULL)
        cli_usage_error("--param %s: write NAME=VALUE or DRIVER.NAME=VALUE, for example "
                        "--param sim.SimQueue=64", arg);
    *eq = '\0';
    char *dot = strchr(arg, '.');
    if (dot) {
        *dot = '\0';
        p->driver = arg;
        p->name = dot + 1;
        if (*p->driver == '\0' || *p->name == '\0')
            cli_usage_error("--param %s.%s=%s: both the driver and the parameter name are "
                            "needed around the dot", arg, dot + 1, eq + 1);
    } else {
        p->driver = NULL;
        p->name = arg;
    }
    p->value = eq + 1;
}

/* True when every protocol has made VCs and deleted them all. */
static bool all_done(struct drv_spec *d, size_t n, unsigned long long *completed)
{
    bool any = false, done = true;
    *completed = 0;
    for (size_t i = 0; i < n; i++) {
        if (d[i].miniport || d[i].drv == NULL)
            continue;
        struct condis_driver_stats s;
        condis_driver_stats(d[i].drv, &s);
        *completed += s.nbls_completed + s.nbls_refused;
        any = true;
        if (s.vcs_created == 0 || s.vcs_live != 0)
            done = false;
    }
    return any && done;
}

int cli_run(int argc, char **argv)
{
    enum { OPT_PROTOCOL = 1, OPT_MINIPORT, OPT_PARAM, OPT_SECONDS, OPT_JSON, OPT_QUIET, OPT_VERIFY,
           OPT_DRIVER_TIMEOUT };
    static const struct option opts[] = {
        { "protocol", required_argument, NULL, OPT_PROTOCOL },
        { "miniport", required_argument, NULL, OPT_MINIPORT },
        { "param", required_argument, NULL, OPT_PARAM },
        { "seconds", required_argument, NULL, OPT_SECONDS },
        { "json", no_argument, NULL, OPT_JSON },
        { "quiet", no_argument, NULL, OPT_QUIET },
        { "verify", optional_argument, NULL, OPT_VERIFY },
        { "driver-timeout", required_argument, NULL, OPT_DRIVER_TIMEOUT },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    static struct drv_spec drivers[MAX_DRIVERS];
    static struct params params[MAX_PARAMS];
    size_t ndrivers = 0, nparams = 0;
    double seconds = 60, driver_timeout = 10;
    bool json = false, quiet = false;
    enum condis_verify_mode verify = CONDIS_VERIFY_OFF;

    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_PROTOCOL:
        case OPT_MINIPORT:
            if (ndrivers == MAX_DRIVERS)
                cli_usage_error("too many drivers: at most %d", MAX_DRIVERS);
            memset(&drivers[ndrivers], 0, sizeof(drivers[0]));
            drivers[ndrivers].arg = optarg;
            drivers[ndrivers].miniport = c == OPT_MINIPORT;
            ndrivers++;
            break;
        case OPT_PARAM:
            if (nparams == MAX_PARAMS)
                cli_usage_error("too many --param: at most %d", MAX_PARAMS);
            parse_param(optarg, &params[nparams++]);
            break;
        case OPT_SECONDS:
            seconds = parse_seconds("--seconds", optarg);
            break;
        case OPT_JSON:
            json = true;
            break;
        case OPT_DRIVER_TIMEOUT:
            driver_timeout = parse_seconds("--driver-timeout", optarg);
            break;
        case OPT_QUIET:
            quiet = true;
            break;
        case OPT_VERIFY:
            if (optarg && strcmp(optarg, "stop") != 0)
                cli_usage_error("--verify=%s: write --verify, or --verify=stop to end the run "
                                "at the first violation", optarg);
            verify = optarg ? CONDIS_VERIFY_STOP : CONDIS_VERIFY_ON;
            break;
        case 'h':
            cli_usage_run(stdout);
            return EXIT_CLEAN;
        case ':':
            cli_usage_error("%s needs a value; see `condis run --help`", argv[optind - 1]);
        default:
            /* A known flag that takes no value was given one (--json=1). */
            if (optopt == OPT_JSON || optopt == OPT_QUIET || optopt == 'h')
                cli_usage_error("%s takes no value; see `condis run --help`",
                                optopt == OPT_JSON ? "--json"
                                : optopt == OPT_QUIET ? "--quiet" : "--help");
            /* An unknown short flag may sit inside a cluster (-qx), where
             * argv[optind - 1] is not the word that holds it. */
            if (optopt > ' ' && optopt < 127)
                cli_usage_error("unknown option '-%c'; see `condis run --help`", optopt);
            cli_usage_error("unknown option '%s'; see `condis run --help`", argv[optind - 1]);
        }
    }
    if (optind < argc)
        cli_usage_error("unexpected argument '%s'; name drivers with --protocol or --miniport",
                        argv[optind]);
    if (ndrivers == 0) {
        drivers[0] = (struct drv_spec){ .arg = "sim", .miniport = true };
        drivers[1] = (struct drv_spec){ .arg = "cosend", .miniport = false };
        ndrivers = 2;
    }
    for (size_t i = 0; i < ndrivers; i++)
        resolve(&drivers[i]);
    for (size_t i = 0; i < ndrivers; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(drivers[i].name, drivers[j].name) == 0)
                cli_usage_error("driver '%s' is named twice", drivers[i].name);
    for (size_t i = 0; i < nparams; i++) {
        if (params[i].driver == NULL)
            continue;
        bool known = false;
        for (size_t k = 0; k < ndrivers; k++)
            known |= strcmp(params[i].driver, drivers[k].name) == 0;
        if (!known)
            cli_usage_error("--param %s.%s: no driver in this run is called '%s'",
                            params[i].driver, params[i].name, params[i].driver);
    }

    condis_set_log_sink(log_line, NULL);
    struct condis_options opt = { .wait_ms = (unsigned)(driver_timeout * 1000.0),
                                  .verify = verify };
    if (opt.wait_ms == 0)
        opt.wait_ms = 1;
    if (condis_init(&opt) != 0)
        return EXIT_DRIVER;
    for (size_t i = 0; i < nparams; i++)
        if (condis_param_set(params[i].driver, params[i].name, params[i].value) != 0)
            cli_usage_error("--param %s: condis could not store it", params[i].name);

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    int rc = EXIT_CLEAN;
    const char *end = "done";
    /* Miniports first, so that protocols find adapters to bind to. */
    for (int pass = 0; pass < 2 && rc == EXIT_CLEAN; pass++)
        for (size_t i = 0; i < ndrivers && rc == EXIT_CLEAN; i++) {
            struct drv_spec *d = &drivers[i];
            if (d->miniport != (pass == 0))
                continue;
            NTSTATUS st;
            if (condis_driver_load(d->name, d->entry, &d->drv, &st) != 0) {
                fprintf(stderr, "%s: driver %s failed to load: DriverEntry returned %s\n",
                        cli_prog, d->arg, condis_status_name(st));
                rc = EXIT_DRIVER;
            } else if (d->miniport && condis_adapter_add(d->drv, NULL, NULL) != 0) {
                fprintf(stderr, "%s: miniport %s could not initialize its adapter (see above)\n",
                        cli_prog, d->name);
                rc = EXIT_DRIVER;
            }
        }
    double t0 = now_s();
    if (rc == EXIT_CLEAN && condis_bind_all() != 0) {
        fprintf(stderr, "%s: binding failed (see above)\n", cli_prog);
        rc = EXIT_DRIVER;
    }

    bool progress = !quiet && !json && isatty(STDOUT_FILENO);
    double next_progress = 0;
    while (rc == EXIT_CLEAN) {
        unsigned long long completed;
        bool done = all_done(drivers, ndrivers, &completed);
        double t = now_s() - t0;
        if (done)
            break;
        if (interrupted) {
            end = "interrupted";
            break;
        }
        if (condis_verify_stop_requested()) {
            end = "verify_stop";
            break;
        }
        if (t >= seconds) {
            end = "time_limit";
            break;
        }
        if (progress && t >= next_progress) {
            printf("\r  %7.1f s   %llu NBLs completed   %.0f NBL/s      ", t, completed,
                   t > 0 ? (double)completed / t : 0.0);
            fflush(stdout);
            next_progress = t + 0.25;
        }
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    double work = now_s() - t0;
    if (progress)
        printf("\r%70s\r", "");
    if (rc != EXIT_CLEAN)
        end = "driver_failure";

    /* The orderly end; a driver stuck in unbind, halt or unload is named on
     * stderr and in the report's problems. */
    if (condis_stop() != 0 && rc == EXIT_CLEAN) {
        rc = EXIT_DRIVER;
        end = "driver_failure";
    }
    if (rc == EXIT_CLEAN && (!condis_clean() || condis_verify_count(NULL) != 0))
        rc = EXIT_LEAK;

    /* In load order, as the report promises: miniports, then protocols. */
    const char *names[MAX_DRIVERS], *kinds[MAX_DRIVERS];
    size_t nnames = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < ndrivers; i++)
            if (drivers[i].drv && drivers[i].miniport == (pass == 0)) {
                names[nnames] = drivers[i].name;
                kinds[nnames++] = drivers[i].miniport ? "miniport" : "protocol";
            }
    pthread_mutex_lock(&problems_lock);
    struct condis_run_info run = {
        .seconds = work,
        .end = end,
        .exit_status = rc,
        .drivers = names,
        .kinds = kinds,
        .ndrivers = nnames,
        .problems = (const char *const *)problems,
        .nproblems = nproblems,
    };
    if (json)
        condis_report_json(stdout, &run);
    else
        condis_report_text(stdout, &run);
    pthread_mutex_unlock(&problems_lock);
    fflush(stdout);

    if (condis_fini() != 0 && rc == EXIT_CLEAN)
        rc = EXIT_LEAK;
    condis_set_log_sink(NULL, NULL);
    for (size_t i = 0; i < ndrivers; i++)
        if (drivers[i].dl)
            dlclose(drivers[i].dl);
    for (size_t i = 0; i < nproblems; i++)
        free(problems[i]);
    return rc;
}
