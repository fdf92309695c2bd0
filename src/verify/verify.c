/*
 * verify.c - the gate, the rules, and the findings of a run.
 *
 * A finding is built on the violating thread (its message, the object's
 * history, a backtrace) and then stored under one mutex. Violations are
 * rare and never on a correct driver's path, so the mutex costs a correct
 * run nothing; it is a pthread mutex, not a spin lock a driver could hold.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <condis/verify.h>

#include "../os/cn_os.h"
#include "cn_verify.h"

int cn_verify_mode;

struct rule {
    const char *id;
    const char *title;
    const char *fix;
};

/* The statements and fixes are condis' own words for the documented rules
 * (RULES.md, docs/verifier.md). */
static const struct rule rules[CN_RULE_COUNT] = {
    [CN_OWN1] = { "OWN-1",
                  "a protocol modified an NBL or packet (descriptors, buffers, data, OOB block) "
                  "it had sent and not yet got back",
                  "leave everything you sent alone until your send-complete handler gets it back; "
                  "keep per-send state in ProtocolReserved or outside the descriptor" },
    [CN_OWN2] = { "OWN-2",
                  "a protocol acted on the status of a send before its completion",
                  "read NET_BUFFER_LIST_STATUS / the Status argument only in the send-complete "
                  "handler; the OOB Status of a packet in flight belongs to NDIS" },
    [CN_OWN3] = { "OWN-3",
                  "an NBL or packet was sent again, freed, reinitialized, or its pool freed, "
                  "while it was in flight",
                  "resend, reinitialize or free a descriptor only after your send-complete "
                  "handler has it back" },
    [CN_OWN4] = { "OWN-4",
                  "a miniport touched an NBL or packet after completing it",
                  "finish with a send (clear your MiniportReserved state, unlink it from your "
                  "queues) before calling NdisMCoSend*Complete for it" },
    [CN_OWN5] = { "OWN-5",
                  "a miniport completed something that was never sent, was completed already, "
                  "or was sent on another VC",
                  "complete each send exactly once, with the NdisVcHandle of the VC it came on, "
                  "and drop it from your queues as you do" },
    [CN_OWN6] = { "OWN-6",
                  "a miniport did not complete a send it had accepted",
                  "complete every send you accepted, also those still queued when a VC is "
                  "deactivated or the adapter halts (with NDIS_STATUS_CLOSING or another "
                  "failure)" },
    [CN_OWN7] = { "OWN-7",
                  "a miniport changed the NET_BUFFER list of an NBL",
                  "never add, remove or reorder the NET_BUFFERs of an NBL; only NBL chains may "
                  "be split or merged when completing" },
    [CN_NBL1] = { "NBL-1",
                  "an NBL's SourceHandle is not the NdisVcHandle it was sent on",
                  "set SourceHandle to the NdisVcHandle before NdisCoSendNetBufferLists" },
    [CN_NBL2] = { "NBL-2",
                  "an NBL that did not come from an NBL pool was sent",
                  "allocate NBLs with NdisAllocateNetBufferList, "
                  "NdisAllocateNetBufferAndNetBufferList or NdisAllocateCloneNetBufferList" },
    [CN_NBL3] = { "NBL-3",
                  "a miniport completed an NBL without a final status",
                  "set NET_BUFFER_LIST_STATUS to NDIS_STATUS_SUCCESS or a failure on every NBL "
                  "before completing it; NDIS_STATUS_PENDING is never final" },
    [CN_NBL4] = { "NBL-4",
                  "a NET_BUFFER's data fields do not match its MDL chain",
                  "keep DataOffset, DataLength, CurrentMdl and CurrentMdlOffset consistent with "
                  "the MDL chain; move the data start with NdisRetreatNetBufferDataStart / "
                  "NdisAdvanceNetBufferDataStart" },
    [CN_PKT1] = { "PKT-1",
                  "a packet was reinitialized with buffer descriptors still chained to it",
                  "unchain the buffers you keep (NdisUnchainBufferAtFront/Back until the chain "
                  "is empty) before NdisReinitializePacket" },
    [CN_PKT2] = { "PKT-2",
                  "a packet's descriptor header was zeroed or overwritten",
                  "zero only the block NDIS_OOB_DATA_FROM_PACKET returns, or reset its fields "
                  "with the NDIS_SET_PACKET_XXX macros; never zero the NDIS_PACKET itself" },
    [CN_PKT3] = { "PKT-3",
                  "a miniport completed a packet with a status that is not final",
                  "pass NDIS_STATUS_SUCCESS or a failure to NdisMCoSendComplete, never "
                  "NDIS_STATUS_PENDING or NDIS_STATUS_RESOURCES" },
    [CN_PKT4] = { "PKT-4",
                  "the media-specific information of a packet in flight was freed or changed",
                  "keep the block set with NDIS_SET_PACKET_MEDIA_SPECIFIC_INFO allocated and "
                  "unchanged until the packet's send completes" },
    [CN_VC1] = { "VC-1",
                 "a send on a VC without an active call",
                 "send only between a successful call setup (ClMakeCallComplete or "
                 "ClIncomingCallComplete) and NdisClCloseCall" },
    [CN_VC2] = { "VC-2",
                 "NdisClCloseCall with sends outstanding on the VC",
                 "wait until every send on the VC is back in your send-complete handler "
                 "before closing the call" },
    [CN_VC3] = { "VC-3",
                 "NdisCoDeleteVc on a VC that is active, has sends outstanding, or is not the "
                 "caller's",
                 "close the call and wait for its completion and for every send, then delete "
                 "the VC you created with the handle you got" },
    [CN_VC4] = { "VC-4",
                 "a VC handle was used after its VC was deleted",
                 "forget a VC handle once NdisCoDeleteVc (or your CmDeleteVc) has succeeded" },
    [CN_IRQL1] = { "IRQL-1",
                   "a ..._DISPATCH_LEVEL flag was passed below DISPATCH_LEVEL",
                   "set NDIS_SEND_FLAGS_DISPATCH_LEVEL / NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL "
                   "only when the current IRQL is DISPATCH_LEVEL (test it, or pass on the flag "
                   "your handler was given)" },
    [CN_IRQL2] = { "IRQL-2",
                   "a PASSIVE_LEVEL function was called at DISPATCH_LEVEL",
                   "move the call to PASSIVE_LEVEL: queue an NDIS work item from the DPC or "
                   "completion handler and do it there" },
    [CN_IRQL3] = { "IRQL-3",
                   "a spin lock was released by the wrong thread or at the wrong IRQL, or held "
                   "when a handler returned",
                   "release every spin lock on the thread that acquired it, restoring the IRQL "
                   "it returned, before returning to NDIS" },
    [CN_RES1] = { "RES-1",
                  "a driver unloaded with pools, descriptors or memory still allocated",
                  "free every descriptor, pool and memory block in your unbind, halt or unload "
                  "handler" },
    [CN_RES2] = { "RES-2",
                  "a pool was freed with descriptors still out",
                  "return every descriptor to its pool before freeing the pool" },
};

const char *cn_rule_id(enum cn_rule r)
{
    return (unsigned)r < CN_RULE_COUNT ? rules[r].id : "?";
}

const char *condis_verify_rule(size_t i, const char **title)
{
    if (i >= CN_RULE_COUNT)
        return NULL;
    if (title)
        *title = rules[i].title;
    return rules[i].id;
}

/* ---- findings ---------------------------------------------------------------- */

static pthread_mutex_t found_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic unsigned long found_count[CN_RULE_COUNT];
static struct condis_violation kept[CN_RULE_COUNT][CONDIS_VERIFY_KEEP]; /* found_lock */
static unsigned nkept[CN_RULE_COUNT];                                    /* found_lock */
static _Atomic bool stop_requested;
/* With the verifier off, each rule is warned about this many times, then
 * once more to say the rest is not shown: a miniport that breaks a rule on
 * every NBL must not drown the run in warnings. */
#define OFF_WARNINGS 20
static _Atomic unsigned warned_off[CN_RULE_COUNT];
static uint64_t t_init;


void cn_verify_init(int mode)
{
    cn_verify_mode = mode;
    cn_os_callback_hook = mode != 0 ? cn_verify_after_callback : NULL;
    t_init = cn_now_ns();
    (void)cn_stamp_ns(cn_stamp()); /* the stamps' rate is measured from here */
    atomic_store(&stop_requested, false);
    for (int r = 0; r < CN_RULE_COUNT; r++)
        atomic_store(&warned_off[r], 0);
}

static void free_violation(struct condis_violation *v)
{
    free((char *)v->object);
    free((char *)v->call);
    free((char *)v->driver);
    free((char *)v->message);
    free((char *)v->history);
    free((char *)v->backtrace);
    memset(v, 0, sizeof(*v));
}

void condis_verify_clear(void)
{
    pthread_mutex_lock(&found_lock);
    for (int r = 0; r < CN_RULE_COUNT; r++) {
        for (unsigned i = 0; i < nkept[r]; i++)
            free_violation(&kept[r][i]);
        nkept[r] = 0;
        atomic_store(&found_count[r], 0);
    }
    pthread_mutex_unlock(&found_lock);
    atomic_store(&stop_requested, false);
}

void cn_verify_fini(void)
{
    condis_verify_clear();
    cn_vshadow_fini();
    cn_verify_held_fini();
    cn_verify_mode = 0;
}

static char *dup_or_empty(const char *s)
{
    char *d = strdup(s ? s : "");
    return d;
}

/* The history of a shadow as text, oldest event first. */
static char *history_text(struct cn_vshadow *s)
{
    if (s == NULL)
        return NULL;
    struct cn_vevent ev[CN_VHIST];
    unsigned n = cn_vhist_copy(s, ev);
    size_t cap = 128 * (size_t)(n + 1), len = 0;
    char *out = malloc(cap);
    if (out == NULL)
        return NULL;
    out[0] = '\0';
    for (unsigned i = 0; i < n; i++) {
        int w = snprintf(out + len, cap - len, "%s%+.6f s  %-10s by %s, thread %u, %s",
                         len ? "\n" : "", (double)((int64_t)(cn_stamp_ns(ev[i].ve_t) - t_init)) / 1e9,
                         cn_vev_name(ev[i].ve_kind), ev[i].ve_driver ? ev[i].ve_driver : "?",
                         ev[i].ve_thread, ev[i].ve_irql >= DISPATCH_LEVEL ? "DISPATCH_LEVEL"
                                                                          : "PASSIVE_LEVEL");
        if (w < 0 || (size_t)w >= cap - len)
            break;
        len += (size_t)w;
    }
    return out;
}

void cn_violation(enum cn_rule r, const char *driver, const char *call, const char *object,
                  struct cn_vshadow *shadow, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (driver == NULL)
        driver = cn_current_driver();
    if (!CN_VERIFYING) {
        /* condis survived it; say so, a bounded number of times. */
        unsigned nth = atomic_fetch_add(&warned_off[r], 1);
        if (nth < OFF_WARNINGS)
            cn_warn("%s: %s: %s (%s)%s%s", driver, call ? call : "?", msg, rules[r].id,
                    object ? ": " : "", object ? object : "");
        else if (nth == OFF_WARNINGS)
            cn_warn("%s: more %s warnings are not shown; run with the verifier on "
                    "(condis run --verify) to have every one counted", driver, rules[r].id);
        return;
    }

    unsigned long nth = atomic_fetch_add(&found_count[r], 1) + 1;
    if (nth <= CONDIS_VERIFY_KEEP) {
        struct condis_violation v = {
            .rule = rules[r].id,
            .title = rules[r].title,
            .fix = rules[r].fix,
            .driver = dup_or_empty(driver),
            .object = dup_or_empty(object),
            .call = dup_or_empty(call),
            .message = dup_or_empty(msg),
            .thread = cn_verify_thread(),
            .irql = cn_irql(),
            .seconds = (double)(cn_now_ns() - t_init) / 1e9,
        };
        char *h = history_text(shadow);
        v.history = h ? h : dup_or_empty(NULL);
        char *bt = cn_verify_backtrace();
        v.backtrace = bt ? bt : dup_or_empty(NULL);
        pthread_mutex_lock(&found_lock);
        if (nkept[r] < CONDIS_VERIFY_KEEP)
            kept[r][nkept[r]++] = v;
        else
            free_violation(&v);
        pthread_mutex_unlock(&found_lock);

        char line[1400];
        snprintf(line, sizeof(line), "%s [%s] in %s: %s%s%s", rules[r].id, driver,
                 call ? call : "?", msg, object ? " -- " : "", object ? object : "");
        cn_log_violation(line);
    }
    if (cn_verify_mode == CONDIS_VERIFY_STOP)
        atomic_store(&stop_requested, true);
}

/* ---- the public side ----------------------------------------------------------- */

enum condis_verify_mode condis_verify_mode(void)
{
    return (enum condis_verify_mode)cn_verify_mode;
}

size_t condis_verify_count(const char *rule)
{
    size_t n = 0;
    for (int r = 0; r < CN_RULE_COUNT; r++)
        if (rule == NULL || strcmp(rule, rules[r].id) == 0)
            n += atomic_load(&found_count[r]);
    return n;
}

size_t condis_verify_findings(struct condis_violation *out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&found_lock);
    for (int r = 0; r < CN_RULE_COUNT; r++)
        for (unsigned i = 0; i < nkept[r]; i++, n++)
            if (out && n < max)
                out[n] = kept[r][i];
    pthread_mutex_unlock(&found_lock);
    return n;
}

bool condis_verify_stop_requested(void)
{
    return atomic_load(&stop_requested);
}

static void indent(FILE *f, const char *label, const char *text)
{
    if (text == NULL || text[0] == '\0')
        return;
    fprintf(f, "      %s\n", label);
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p) : (int)strlen(p);
        fprintf(f, "        %.*s\n", len, p);
        p += len + (nl != NULL);
    }
}

void condis_verify_report_text(FILE *f)
{
    size_t total = condis_verify_count(NULL);
    if (total == 0)
        return;
    fprintf(f, "verifier: %zu violation%s\n", total, total == 1 ? "" : "s");
    pthread_mutex_lock(&found_lock);
    for (int r = 0; r < CN_RULE_COUNT; r++) {
        unsigned long n = atomic_load(&found_count[r]);
        if (n == 0)
            continue;
        fprintf(f, "  %-7s x%-6lu %s\n", rules[r].id, n, rules[r].title);
        fprintf(f, "          fix: %s\n", rules[r].fix);
        for (unsigned i = 0; i < nkept[r]; i++) {
            const struct condis_violation *v = &kept[r][i];
            fprintf(f, "    #%u  %s, in %s, thread %u at %s, %.6f s\n", i + 1, v->driver,
                    v->call, v->thread, v->irql >= DISPATCH_LEVEL ? "DISPATCH_LEVEL"
                                                                   : "PASSIVE_LEVEL",
                    v->seconds);
            fprintf(f, "      %s\n", v->message);
            if (v->object[0])
                fprintf(f, "      object: %s\n", v->object);
            indent(f, "history:", v->history);
            indent(f, "backtrace:", v->backtrace);
        }
        if (n > nkept[r])
            fprintf(f, "    ... and %lu more\n", n - nkept[r]);
    }
    pthread_mutex_unlock(&found_lock);
}
