/*
 * main.c - the condis command line: dispatch to a command, help, version.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <condis/host.h>

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
            "  help      show this text, or the options of a command: condis help run\n"
            "  version   print the version\n"
            "\n"
            "Run `condis run --help` for the options of a run.\n");
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
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        if (argc > 2 && strcmp(argv[2], "run") == 0)
            cli_usage_run(stdout);
        else if (argc > 2)
            cli_usage_error("no command called '%s'; the commands are run, help and version",
                            argv[2]);
        else
            usage_main(stdout);
        return EXIT_CLEAN;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("condis %s\n", condis_version());
        return EXIT_CLEAN;
    }
    cli_usage_error("unknown command '%s'; the commands are run, help and version "
                    "(see condis --help)", cmd);
}
