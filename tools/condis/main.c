/*
 * main.c - the condis command line: dispatch to a command, help, version.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <condis/builtin.h>
#include <condis/host.h>

#include "bench.h"
#include "cli.h"

const char *cli_prog = "condis";

static void usage_main(FILE *f)
{
    fprintf(f,
            "usage: condis <command> [options]\n"
            "\n"
            "condis runs connection-oriented NDIS (CoNDIS) drivers in user space.\n"
            "\n"
            "commands:\n"
            "  run       load drivers, bind them, let them work, unload them and report\n"
            "            (example: condis run --protocol cosend --miniport sim)\n"
            "  bench     measure the send path against DPDK and naive baselines\n"
            "            (condis bench --quick)\n"
            "  help      show this text, the options of a command (condis help run)\n"
            "            or a built-in driver's parameters (condis help sim)\n"
            "  version   print the version\n"
            "\n"
            "Run `condis run --help` for the options of a run.\n");
}

/* A built-in driver's parameters, as its --param lines would set them. */
static void usage_driver(FILE *f, const struct condis_builtin *b)
{
    fprintf(f, "%s (built-in %s): %s\n\n", b->name, b->kind, b->summary);
    fprintf(f, "parameters (--param NAME=VALUE, or --param %s.NAME=VALUE for this driver only):\n",
            b->name);
    for (const char *line = b->params; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        fprintf(f, "  %.*s\n", (int)n, line);
        line += n + (end != NULL);
    }
    fprintf(f, "\nThe full tables: docs/sim.md.\n");
}

void cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", cli_prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(EXIT_USAGE);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage_main(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "run") == 0)
        return cli_run(argc - 1, argv + 1);
    if (strcmp(cmd, "bench") == 0)
        return cn_bench_main(argc - 1, argv + 1);
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        const struct condis_builtin *b = argc > 2 ? condis_builtin_find(argv[2]) : NULL;
        if (argc > 2 && strcmp(argv[2], "run") == 0)
            cli_usage_run(stdout);
        else if (argc > 2 && strcmp(argv[2], "bench") == 0)
            return cn_bench_main(2, (char *[]){ "bench", "--help", NULL });
        else if (b != NULL)
            usage_driver(stdout, b);
        else if (argc > 2)
            cli_usage_error("no command or built-in driver called '%s'; the commands are run, "
                            "help and version, the drivers are listed by condis help run",
                            argv[2]);
        else
            usage_main(stdout);
        return EXIT_CLEAN;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("condis %s\n", condis_version());
        return EXIT_CLEAN;
    }
    cli_usage_error("unknown command '%s'; the commands are run, bench, help and version "
                    "(see condis --help)", cmd);
}
