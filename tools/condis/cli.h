/*
 * cli.h - what the parts of the condis command line share.
 */
#ifndef CONDIS_CLI_H
#define CONDIS_CLI_H

#include <stdio.h>

/* Exit statuses of every command. */
#define EXIT_CLEAN 0
#define EXIT_LEAK 1   /* verifier violations, leaks or sends left outstanding */
#define EXIT_USAGE 2  /* a bad flag or value */
#define EXIT_DRIVER 3 /* a driver failed to load, bind or unload in time */

extern const char *cli_prog;

/* Print "condis: <message>" and exit with EXIT_USAGE. */
void cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

void cli_usage_run(FILE *f);
int cli_run(int argc, char **argv);

#endif
