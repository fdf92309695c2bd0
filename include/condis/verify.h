/*
 * condis/verify.h - the verifier's API: turn it on for a run, read what it
 * found.
 *
 * The verifier checks the drivers of a run against the send-path rules
 * (docs/verifier.md lists them with their ids: OWN-1 ... RES-2). Turn it on
 * with condis_options.verify before condis_init; `condis run --verify` does
 * that. A violation never corrupts condis: an operation the verifier
 * refuses (freeing an in-flight NBL, sending it twice, completing one never
 * sent) is not carried out, sends still outstanding are completed, and the
 * run reaches its orderly end; with CONDIS_VERIFY_STOP the host is asked
 * to end the run at the first finding (condis_verify_stop_requested).
 *
 * Every finding is counted; the first CONDIS_VERIFY_KEEP of each rule are
 * kept in full. Strings stay valid until condis_verify_clear or
 * condis_fini. Any thread may call these functions.
 */
#ifndef CONDIS_VERIFY_H
#define CONDIS_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <ndis.h>

#ifdef __cplusplus
extern "C" {
#endif

enum condis_verify_mode {
    CONDIS_VERIFY_OFF = 0,
    CONDIS_VERIFY_ON = 1,   /* report, and let the run go on to its end */
    CONDIS_VERIFY_STOP = 2, /* report, and ask the host to end the run */
};

#define CONDIS_VERIFY_KEEP 5

struct condis_violation {
    const char *rule;      /* "OWN-1" */
    const char *title;     /* the rule in one line */
    const char *driver;    /* the driver that broke it */
    const char *object;    /* "NBL 0x7f.. of pool 'Cosd' (cosend)", "" when none */
    const char *call;      /* where it was seen: "NdisMCoSendNetBufferListsComplete" */
    const char *message;   /* what happened */
    const char *fix;       /* what the documentation says to do instead */
    const char *history;   /* the object's last events, one per line; "" when none */
    const char *backtrace; /* the stack at the time, one frame per line; "" when none */
    unsigned thread;       /* condis' number for the thread (as in histories) */
    KIRQL irql;            /* the emulated IRQL of that thread */
    double seconds;        /* since condis_init */
};

/* The mode of this run. */
enum condis_verify_mode condis_verify_mode(void);

/* Findings of one rule ("OWN-1"), or of every rule when rule is NULL. */
size_t condis_verify_count(const char *rule);

/* The kept findings, rule by rule in the order of docs/verifier.md, each
 * rule's in the order they happened. Fills up to max, returns how many are
 * kept. */
size_t condis_verify_findings(struct condis_violation *out, size_t max);

/* Forget every finding (a test that provoked some on purpose). */
void condis_verify_clear(void);

/* CONDIS_VERIFY_STOP: true once a finding asked the run to end. */
bool condis_verify_stop_requested(void);

/* Every rule id and its one-line statement, in order; NULL past the end. */
const char *condis_verify_rule(size_t i, const char **title);

/* The findings for people: grouped by rule, with counts, the kept
 * occurrences in full. Prints nothing when there are none. */
void condis_verify_report_text(FILE *f);

#ifdef __cplusplus
}
#endif

#endif /* CONDIS_VERIFY_H */
