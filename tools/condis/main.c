/*
 * condis - the command line: `condis run` loads CoNDIS drivers, binds them,
 * lets them work, unloads them in order and reports what happened.
 *
 * Exit status: 0 clean; 1 leaks or outstanding sends at the end; 2 usage;
 * 3 a driver failed to load, bind or unload in time.
 */
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <condis/builtin.h>
#include <condis/host.h>

#define EXIT_LEAK 1
#define EXIT_USAGE 2
#define EXIT_DRIVER 3

static const char *prog = "condis";

static void usage_main(FILE *f)
{
    fprintf(f,
            "usage: condis <command> [options]\n"
            "\n"
            "condis runs connection-oriented NDIS (CoNDIS) drivers in user space.\n"
            "\n"
            "commands:\n"
            "  run       load drivers, bind them, let them work, unload them and report\n"
            "  help      show this text, or `condis help run` for a command\n"
            "  version   print the version\n"
            "\n"
            "Run `condis run --help` for the options of a run.\n");
}

static void usage_run(FILE *f)
{
    fprintf(f,
            "usage: condis run [--protocol NAME|PATH.so]... [--miniport NAME|PATH.so]...\n"
            "                  [--param [DRIVER.]NAME=VALUE]... [--seconds N] [--quiet]\n"
            "\n"
            "Loads each driver (calls its DriverEntry), creates one adapter per miniport,\n"
            "binds every protocol to every adapter, and lets them work until every protocol\n"
            "has closed the calls it made and deleted its VCs, or N seconds pass, or Ctrl-C.\n"
            "Then it unbinds, halts and unloads in order, checks that every pool is full and\n"
            "nothing is outstanding, and prints a report.\n"
            "\n"
            "options:\n"
            "  --protocol NAME|PATH.so   a protocol driver: a built-in name, or a shared object\n"
            "                            exporting DriverEntry (e.g. --protocol ./coclient.so)\n"
            "  --miniport NAME|PATH.so   a miniport driver (e.g. --miniport loop)\n"
            "  --param NAME=VALUE        a parameter every driver reads with NdisReadConfiguration\n"
            "  --param DRIVER.NAME=VALUE a parameter for one driver only (e.g. loop.LoopInline=1);\n"
            "                            DRIVER is a built-in name or the .so file name without .so\n"
            "  --seconds N               end the run after N seconds at the latest (default 60)\n"
            "  --quiet                   no progress line\n"
            "  -h, --help                this text\n"
            "\n"
            "built-in drivers:\n");
    for (const struct condis_builtin *b = condis_builtins(); b->name; b++)
        fprintf(f, "  %-8s %-9s %s\n", b->name, b->kind, b->summary);
    fprintf(f,
            "\n"
            "With no driver named, it runs the example client over loop.\n"
            "exit status: 0 clean, 1 leaks or outstanding sends, 2 usage, 3 a driver failed\n"
            "to load, bind or unload.\n");
}

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(EXIT_USAGE);
}

/* ---- drivers named on the command line -------------------------------- */

struct drv_spec {
    const char *arg;    /* as given */
    char name[64];      /* built-in name, or .so file name without extension */
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

/* Resolve a driver argument to a DriverEntry; exits 2 or 3 on failure. */
static void resolve(struct drv_spec *d)
{
    if (!is_path(d->arg)) {
        const struct condis_builtin *b = condis_builtin_find(d->arg);
        if (b == NULL)
            usage_error("no built-in driver called '%s'; see `condis run --help` for the list, "
                        "or give a path to a .so", d->arg);
        const char *want = d->miniport ? "miniport" : "protocol";
        if (strcmp(b->kind, want) != 0)
            usage_error("'%s' is a %s driver; use --%s %s", b->name, b->kind, b->kind, b->name);
        snprintf(d->name, sizeof(d->name), "%s", b->name);
        d->entry = b->entry;
        return;
    }
    const char *base = strrchr(d->arg, '/');
    base = base ? base + 1 : d->arg;
    snprintf(d->name, sizeof(d->name), "%s", base);
    char *dot = strrchr(d->name, '.');
    if (dot && strcmp(dot, ".so") == 0)
        *dot = '\0';
    if (access(d->arg, R_OK) != 0) {
        fprintf(stderr, "%s: cannot load driver %s: %s\n", prog, d->arg, strerror(errno));
        exit(EXIT_DRIVER);
    }
    d->dl = dlopen(d->arg, RTLD_NOW | RTLD_LOCAL);
    if (d->dl == NULL) {
        fprintf(stderr, "%s: cannot load driver %s: %s\n", prog, d->arg, dlerror());
        exit(EXIT_DRIVER);
    }
    d->entry = (PDRIVER_INITIALIZE)dlsym(d->dl, "DriverEntry");
    if (d->entry == NULL) {
        fprintf(stderr, "%s: driver %s does not export DriverEntry(PDRIVER_OBJECT, "
                        "PUNICODE_STRING)\n", prog, d->arg);
        exit(EXIT_DRIVER);
    }
}

/* The example client next to this executable (build/examples/coclient.so). */
static char *default_example(void)
{
    static char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
    if (n <= 0)
        return NULL;
    path[n] = '\0';
    char *slash = strrchr(path, '/');
    if (slash == NULL)
        return NULL;
    snprintf(slash + 1, sizeof(path) - (size_t)(slash + 1 - path), "examples/coclient.so");
    return access(path, R_OK) == 0 ? path : NULL;
}

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmd_run(int argc, char **argv)
{
    enum { OPT_PROTOCOL = 1, OPT_MINIPORT, OPT_PARAM, OPT_SECONDS, OPT_QUIET };
    static const struct option opts[] = {
        { "protocol", required_argument, NULL, OPT_PROTOCOL },
        { "miniport", required_argument, NULL, OPT_MINIPORT },
        { "param", required_argument, NULL, OPT_PARAM },
        { "seconds", required_argument, NULL, OPT_SECONDS },
        { "quiet", no_argument, NULL, OPT_QUIET },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct drv_spec drivers[32];
    size_t ndrivers = 0;
    struct { char *driver, *name, *value; } params[128];
    size_t nparams = 0;
    double seconds = 60;
    bool quiet = false;

    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_PROTOCOL:
        case OPT_MINIPORT:
            if (ndrivers == sizeof(drivers) / sizeof(drivers[0]))
                usage_error("too many drivers (at most %zu)", sizeof(drivers) / sizeof(drivers[0]));
            memset(&drivers[ndrivers], 0, sizeof(drivers[0]));
            drivers[ndrivers].arg = optarg;
            drivers[ndrivers].miniport = c == OPT_MINIPORT;
            ndrivers++;
            break;
        case OPT_PARAM: {
            char *eq = strchr(optarg, '=');
            if (eq == NULL || eq == optarg)
                usage_error("--param %s: write NAME=VALUE or DRIVER.NAME=VALUE, e.g. "
                            "--param loop.LoopInline=1", optarg);
            if (nparams == sizeof(params) / sizeof(params[0]))
                usage_error("too many --param (at most %zu)", sizeof(params) / sizeof(params[0]));
            *eq = '\0';
            char *dot = strchr(optarg, '.');
            params[nparams].driver = dot ? optarg : NULL;
            params[nparams].name = dot ? dot + 1 : optarg;
            if (dot)
                *dot = '\0';
            if (*params[nparams].name == '\0' || (dot && *optarg == '\0'))
                usage_error("--param: the parameter name is empty; write NAME=VALUE");
            params[nparams].value = eq + 1;
            nparams++;
            break;
        }
        case OPT_SECONDS: {
            char *end;
            errno = 0;
            seconds = strtod(optarg, &end);
            if (errno || end == optarg || *end != '\0' || !(seconds > 0) || seconds > 1e6)
                usage_error("--seconds %s: give a number of seconds above 0, e.g. --seconds 10",
                            optarg);
            break;
        }
        case OPT_QUIET:
            quiet = true;
            break;
        case 'h':
            usage_run(stdout);
            return 0;
        case ':':
            usage_error("%s needs a value; see `condis run --help`", argv[optind - 1]);
            break;
        default:
            usage_error("unknown option '%s'; see `condis run --help`", argv[optind - 1]);
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'; drivers are named with --protocol or --miniport",
                    argv[optind]);

    if (ndrivers == 0) {
        char *example = default_example();
        if (example == NULL) {
            fprintf(stderr, "%s: the example client examples/coclient.so is not next to this "
                            "program; name drivers with --protocol and --miniport\n", prog);
            return EXIT_DRIVER;
        }
        drivers[0] = (struct drv_spec){ .arg = "loop", .miniport = true };
        drivers[1] = (struct drv_spec){ .arg = example, .miniport = false };
        ndrivers = 2;
    }
    for (size_t i = 0; i < ndrivers; i++)
        resolve(&drivers[i]);
    for (size_t i = 0; i < ndrivers; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(drivers[i].name, drivers[j].name) == 0)
                usage_error("driver '%s' is named twice", drivers[i].name);

    if (condis_init(NULL) != 0)
        return EXIT_DRIVER;
    for (size_t i = 0; i < nparams; i++)
        if (condis_param_set(params[i].driver, params[i].name, params[i].value) != 0)
            return EXIT_USAGE;

    signal(SIGINT, on_sigint);
    signal(SIGTERM, on_sigint);
    int rc = 0;
    double t0 = now_s();
    /* Miniports first, so that protocols find adapters to bind to. */
    for (int pass = 0; pass < 2 && rc == 0; pass++)
        for (size_t i = 0; i < ndrivers && rc == 0; i++) {
            struct drv_spec *d = &drivers[i];
            if (d->miniport != (pass == 0))
                continue;
            NTSTATUS st;
            if (condis_driver_load(d->name, d->entry, &d->drv, &st) != 0) {
                fprintf(stderr, "%s: driver %s failed to load: DriverEntry returned %s\n", prog,
                        d->arg, condis_status_name(st));
                rc = EXIT_DRIVER;
            } else if (d->miniport && condis_adapter_add(d->drv, NULL, NULL) != 0) {
                fprintf(stderr, "%s: miniport %s failed to initialize an adapter\n", prog, d->name);
                rc = EXIT_DRIVER;
            }
        }
    if (rc == 0 && condis_bind_all() != 0) {
        fprintf(stderr, "%s: binding failed (see above)\n", prog);
        rc = EXIT_DRIVER;
    }

    bool tty = isatty(STDOUT_FILENO) && !quiet;
    bool timed_out = false;
    while (rc == 0 && !interrupted) {
        double t = now_s() - t0;
        bool all_done = true, any_protocol = false;
        unsigned long long sent = 0, completed = 0;
        for (size_t i = 0; i < ndrivers; i++) {
            if (drivers[i].miniport)
                continue;
            struct condis_driver_stats s;
            condis_driver_stats(drivers[i].drv, &s);
            any_protocol = true;
            sent += s.nbls_sent;
            completed += s.nbls_completed + s.nbls_refused;
            if (s.vcs_created == 0 || s.vcs_live != 0)
                all_done = false;
        }
        if (any_protocol && all_done)
            break;
        if (t >= seconds) {
            timed_out = true;
            break;
        }
        if (tty) {
            printf("\r%8.1fs  sent %llu  completed %llu  %.0f NBL/s   ", t, sent, completed,
                   t > 0 ? (double)completed / t : 0.0);
            fflush(stdout);
        }
        struct timespec ts = { 0, 50 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    if (tty)
        printf("\r%60s\r", "");
    double work = now_s() - t0;

    if (condis_stop() != 0 && rc == 0)
        rc = EXIT_DRIVER;
    printf("condis run: %.3f s%s%s\n", work, timed_out ? " (time limit reached)" : "",
           interrupted ? " (interrupted)" : "");
    printf("%-16s %6s %12s %12s %10s %10s %12s %12s\n", "protocol", "VCs", "sent", "completed",
           "failed", "refused", "received", "NBL/s");
    for (size_t i = 0; i < ndrivers; i++) {
        if (drivers[i].miniport || drivers[i].drv == NULL)
            continue;
        struct condis_driver_stats s;
        condis_driver_stats(drivers[i].drv, &s);
        printf("%-16s %6lu %12llu %12llu %10llu %10llu %12llu %12.0f\n", drivers[i].name,
               s.vcs_created, s.nbls_sent, s.nbls_completed, s.nbls_failed, s.nbls_refused,
               s.nbls_received, work > 0 ? (double)s.nbls_completed / work : 0.0);
    }
    size_t leaks = condis_clean() ? 0 : condis_report_leaks();
    unsigned long warnings = condis_warnings();
    printf("leaks: %zu   warnings: %lu\n", leaks, warnings);
    if (condis_fini() != 0 && rc == 0)
        rc = EXIT_LEAK;
    if (leaks && rc == 0)
        rc = EXIT_LEAK;
    for (size_t i = 0; i < ndrivers; i++)
        if (drivers[i].dl)
            dlclose(drivers[i].dl);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage_main(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        if (argc > 2 && strcmp(argv[2], "run") == 0)
            usage_run(stdout);
        else
            usage_main(stdout);
        return 0;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("condis %s\n", CONDIS_VERSION);
        return 0;
    }
    fprintf(stderr, "%s: unknown command '%s'; the commands are run, help and version\n", prog, cmd);
    return EXIT_USAGE;
}
