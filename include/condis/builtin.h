/*
 * condis/builtin.h - the drivers built into libcondis, by name.
 *
 * Built-in drivers are written only against <ndis.h>, exactly like a
 * user's driver; this table is the only thing that knows them.
 */
#ifndef CONDIS_BUILTIN_H
#define CONDIS_BUILTIN_H

#include <ndis.h>

#ifdef __cplusplus
extern "C" {
#endif

struct condis_builtin {
    const char *name;          /* "loop", ... */
    const char *kind;          /* "miniport" or "protocol" */
    const char *summary;       /* one line for --help */
    PDRIVER_INITIALIZE entry;  /* its DriverEntry */
    const char *params;        /* its parameters, a line each: NAME  default  meaning */
};

/* The built-in driver called name, or NULL. */
const struct condis_builtin *condis_builtin_find(const char *name);
/* All built-in drivers, ending with an entry whose name is NULL. */
const struct condis_builtin *condis_builtins(void);

#ifdef __cplusplus
}
#endif

#endif
