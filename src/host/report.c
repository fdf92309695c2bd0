/*
 * report.c - the report of a run, for people (a table) and for programs
 * (one JSON object, described in docs/report.md). Everything it says comes
 * from the per-VC records (co/stats.c), the leak list and the run
 * information the host passes in; new miniports feed it by doing nothing
 * but their job.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <condis/host.h>

#define TAGLEN 5

static void tag_text(ULONG tag, char out[TAGLEN])
{
    for (int i = 0; i < 4; i++) {
        char c = (char)((tag >> (8 * i)) & 0xff);
        out[i] = (c >= 32 && c < 127 && c != '"' && c != '\\') ? c : '.';
    }
    out[4] = '\0';
}

static double rate(unsigned long long n, double seconds)
{
    return seconds > 0 ? (double)n / seconds : 0.0;
}

/* ---- text ------------------------------------------------------------------- */

static void text_row(FILE *f, const char *label, unsigned vcs, const struct condis_traffic *t)
{
    char mean[16] = "-", p50[16] = "-", p99[16] = "-", max[16] = "-";
    if (t->latency_samples) {
        snprintf(mean, sizeof(mean), "%.1f", t->latency_mean_us);
        snprintf(max, sizeof(max), "%.1f", t->latency_max_us);
    }
    if (t->latency_samples && t->latency_percentiles) {
        snprintf(p50, sizeof(p50), "%.1f", t->latency_p50_us);
        snprintf(p99, sizeof(p99), "%.1f", t->latency_p99_us);
    }
    fprintf(f, "%-28s %5u %11llu %11llu %8llu %8llu %8llu %11llu %8s %8s %8s %8s\n", label, vcs,
            t->sent, t->completed, t->failed, t->refused, t->outstanding, t->received, mean, p50,
            p99, max);
}

static void text_failures(FILE *f, const char *indent, const struct condis_traffic *t)
{
    for (unsigned i = 0; i < t->nfailures; i++)
        fprintf(f, "%s%-40s %llu\n", indent, condis_status_name(t->failures[i].status),
                t->failures[i].count);
    if (t->other_failures)
        fprintf(f, "%s%-40s %llu\n", indent, "(other statuses)", t->other_failures);
}

void condis_report_text(FILE *f, const struct condis_run_info *run)
{
    size_t nb = condis_binding_reports(NULL, 0);
    size_t nv = condis_vc_reports(NULL, 0);
    struct condis_binding_report *bs = calloc(nb ? nb : 1, sizeof(*bs));
    struct condis_vc_report *vs = calloc(nv ? nv : 1, sizeof(*vs));
    if (bs == NULL || vs == NULL) {
        free(bs);
        free(vs);
        fprintf(f, "condis: not enough memory for the report\n");
        return;
    }
    nb = condis_binding_reports(bs, nb);
    nv = condis_vc_reports(vs, nv);
    struct condis_traffic tot;
    condis_total_report(&tot);

    static const char *const ends[][2] = {
        { "done", "every protocol finished" },
        { "time_limit", "time limit reached" },
        { "interrupted", "interrupted" },
        { "driver_failure", "a driver failed" },
    };
    const char *why = run->end;
    for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++)
        if (run->end && strcmp(run->end, ends[i][0]) == 0)
            why = ends[i][1];
    fprintf(f, "condis run: %.3f s (%s):", run->seconds, why ? why : "?");
    for (size_t i = 0; i < run->ndrivers; i++)
        fprintf(f, " %s%s", i ? "+ " : "", run->drivers[i]);
    fprintf(f, "\n\n");

    fprintf(f, "%-28s %5s %11s %11s %8s %8s %8s %11s %8s %8s %8s %8s\n", "binding / VC", "VCs",
            "sent", "completed", "failed", "refused", "outstand", "received", "mean us", "p50 us",
            "p99 us", "max us");
    size_t max_vcs = run->max_vc_lines ? run->max_vc_lines : 16;
    size_t shown = 0;
    for (size_t i = 0; i < nb; i++) {
        char label[64];
        snprintf(label, sizeof(label), "%s > %s", bs[i].protocol, bs[i].adapter);
        text_row(f, label, bs[i].vcs, &bs[i].traffic);
        for (size_t k = 0; k < nv; k++) {
            if (vs[k].binding != bs[i].binding)
                continue;
            if (shown++ >= max_vcs)
                continue;
            snprintf(label, sizeof(label), "  vc %u%s", vs[k].vc, vs[k].live ? " (live)" : "");
            text_row(f, label, 1, &vs[k].traffic);
        }
        if (bs[i].vcs_folded)
            fprintf(f, "  (%u VCs deleted long ago are counted in the binding's row only)\n",
                    bs[i].vcs_folded);
        text_failures(f, "    failed with ", &bs[i].traffic);
    }
    if (shown > max_vcs)
        fprintf(f, "  (%zu more VCs; --json lists every one)\n", shown - max_vcs);
    if (nb == 0)
        fprintf(f, "(no VC carried traffic)\n");

    double secs = run->seconds;
    fprintf(f, "\ntotal: %llu NBLs completed in %.3f s: %.0f NBL/s, %.3f Gbit/s sent",
            tot.completed, secs, rate(tot.completed, secs),
            rate(tot.bytes_sent, secs) * 8.0 / 1e9);
    if (tot.latency_samples)
        fprintf(f, "; latency mean %.1f us, p50 %.1f us, p99 %.1f us, max %.1f us",
                tot.latency_mean_us, tot.latency_p50_us, tot.latency_p99_us, tot.latency_max_us);
    fprintf(f, "\n");

    size_t nl = condis_leaks(NULL, 0);
    struct condis_leak *ls = calloc(nl ? nl : 1, sizeof(*ls));
    if (ls)
        nl = condis_leaks(ls, nl);
    if (nl == 0 || ls == NULL) {
        fprintf(f, "leaks: none\n");
    } else {
        fprintf(f, "leaks:\n");
        for (size_t i = 0; i < nl; i++) {
            char tag[TAGLEN];
            tag_text(ls[i].tag, tag);
            fprintf(f, "  %-14s %-12s", ls[i].kind, ls[i].owner);
            if (ls[i].tag)
                fprintf(f, " tag '%s'", tag);
            fprintf(f, " %zu%s", ls[i].count, ls[i].bytes ? "" : " left");
            if (ls[i].bytes)
                fprintf(f, " block(s), %zu bytes", ls[i].bytes);
            if (ls[i].pool_open)
                fprintf(f, ", pool not freed");
            fprintf(f, "\n");
        }
    }
    free(ls);
    fprintf(f, "warnings: %lu\n", condis_warnings());
    if (condis_verify_mode() != CONDIS_VERIFY_OFF) {
        if (condis_verify_count(NULL) == 0)
            fprintf(f, "verifier: no violations\n");
        else
            condis_verify_report_text(f);
    }
    if (run->nproblems) {
        fprintf(f, "problems:\n");
        for (size_t i = 0; i < run->nproblems; i++)
            fprintf(f, "  %s\n", run->problems[i]);
    }
    free(bs);
    free(vs);
}

/* ---- JSON ------------------------------------------------------------------- */

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void json_num(FILE *f, double v)
{
    if (!isfinite(v))
        v = 0;
    fprintf(f, "%.6g", v);
}

static void json_traffic(FILE *f, const struct condis_traffic *t)
{
    fprintf(f, "{\"sent\": %llu, \"bytes_sent\": %llu, \"completed\": %llu, \"failed\": %llu, "
               "\"refused\": %llu, \"outstanding\": %llu, \"received\": %llu, "
               "\"bytes_received\": %llu, \"failures\": {",
            t->sent, t->bytes_sent, t->completed, t->failed, t->refused, t->outstanding,
            t->received, t->bytes_received);
    for (unsigned i = 0; i < t->nfailures; i++) {
        fprintf(f, "%s", i ? ", " : "");
        json_str(f, condis_status_name(t->failures[i].status));
        fprintf(f, ": %llu", t->failures[i].count);
    }
    if (t->other_failures)
        fprintf(f, "%s\"other\": %llu", t->nfailures ? ", " : "", t->other_failures);
    fprintf(f, "}, \"latency_us\": {\"samples\": %llu, \"mean\": ", t->latency_samples);
    json_num(f, t->latency_mean_us);
    if (t->latency_percentiles) {
        fprintf(f, ", \"p50\": ");
        json_num(f, t->latency_p50_us);
        fprintf(f, ", \"p99\": ");
        json_num(f, t->latency_p99_us);
    } else {
        fprintf(f, ", \"p50\": null, \"p99\": null");
    }
    fprintf(f, ", \"max\": ");
    json_num(f, t->latency_max_us);
    fprintf(f, "}}");
}

/* Lines of a multi-line text as a JSON array of strings. */
static void json_lines(FILE *f, const char *text)
{
    fprintf(f, "[");
    const char *p = text;
    bool first = true;
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char *line = strndup(p, len);
        fprintf(f, "%s", first ? "" : ", ");
        json_str(f, line ? line : "");
        free(line);
        first = false;
        p += len + (nl != NULL);
    }
    fprintf(f, "]");
}

static void json_violations(FILE *f)
{
    static const char *const modes[] = { "off", "on", "stop" };
    fprintf(f, " \"verifier\": {\"mode\": \"%s\", \"violations\": %zu, \"by_rule\": {",
            modes[condis_verify_mode()], condis_verify_count(NULL));
    bool first = true;
    const char *id;
    for (size_t i = 0; (id = condis_verify_rule(i, NULL)) != NULL; i++) {
        size_t n = condis_verify_count(id);
        if (n == 0)
            continue;
        fprintf(f, "%s\"%s\": %zu", first ? "" : ", ", id, n);
        first = false;
    }
    fprintf(f, "}},\n \"violations\": [");
    size_t n = condis_verify_findings(NULL, 0);
    struct condis_violation *v = calloc(n ? n : 1, sizeof(*v));
    if (v != NULL)
        n = condis_verify_findings(v, n);
    for (size_t i = 0; v && i < n; i++) {
        fprintf(f, "%s\n  {\"rule\": ", i ? "," : "");
        json_str(f, v[i].rule);
        fprintf(f, ", \"title\": ");
        json_str(f, v[i].title);
        fprintf(f, ", \"driver\": ");
        json_str(f, v[i].driver);
        fprintf(f, ", \"object\": ");
        json_str(f, v[i].object);
        fprintf(f, ", \"call\": ");
        json_str(f, v[i].call);
        fprintf(f, ", \"message\": ");
        json_str(f, v[i].message);
        fprintf(f, ", \"fix\": ");
        json_str(f, v[i].fix);
        fprintf(f, ", \"thread\": %u, \"irql\": \"%s\", \"seconds\": ", v[i].thread,
                v[i].irql >= DISPATCH_LEVEL ? "DISPATCH_LEVEL" : "PASSIVE_LEVEL");
        json_num(f, v[i].seconds);
        fprintf(f, ", \"history\": ");
        json_lines(f, v[i].history);
        fprintf(f, ", \"backtrace\": ");
        json_lines(f, v[i].backtrace);
        fprintf(f, "}");
    }
    fprintf(f, "]");
    free(v);
}

void condis_report_json(FILE *f, const struct condis_run_info *run)
{
    size_t nb = condis_binding_reports(NULL, 0);
    size_t nv = condis_vc_reports(NULL, 0);
    struct condis_binding_report *bs = calloc(nb ? nb : 1, sizeof(*bs));
    struct condis_vc_report *vs = calloc(nv ? nv : 1, sizeof(*vs));
    size_t nl = condis_leaks(NULL, 0);
    struct condis_leak *ls = calloc(nl ? nl : 1, sizeof(*ls));
    if (bs == NULL || vs == NULL || ls == NULL) {
        free(bs);
        free(vs);
        free(ls);
        fprintf(f, "{\"error\": \"not enough memory for the report\"}\n");
        return;
    }
    nb = condis_binding_reports(bs, nb);
    nv = condis_vc_reports(vs, nv);
    nl = condis_leaks(ls, nl);
    struct condis_traffic tot;
    condis_total_report(&tot);

    fprintf(f, "{\"condis\": ");
    json_str(f, CONDIS_VERSION_STRING);
    fprintf(f, ", \"duration_s\": ");
    json_num(f, run->seconds);
    fprintf(f, ", \"end\": ");
    json_str(f, run->end ? run->end : "");
    fprintf(f, ", \"exit_status\": %d,\n \"drivers\": [", run->exit_status);
    for (size_t i = 0; i < run->ndrivers; i++) {
        fprintf(f, "%s{\"name\": ", i ? ", " : "");
        json_str(f, run->drivers[i]);
        fprintf(f, ", \"kind\": ");
        json_str(f, run->kinds ? run->kinds[i] : "");
        fprintf(f, "}");
    }
    fprintf(f, "],\n \"bindings\": [");
    for (size_t i = 0; i < nb; i++) {
        fprintf(f, "%s\n  {\"binding\": %u, \"protocol\": ", i ? "," : "", bs[i].binding);
        json_str(f, bs[i].protocol);
        fprintf(f, ", \"miniport\": ");
        json_str(f, bs[i].miniport);
        fprintf(f, ", \"adapter\": ");
        json_str(f, bs[i].adapter);
        fprintf(f, ", \"vcs\": %u, \"vcs_folded\": %u, \"traffic\": ", bs[i].vcs,
                bs[i].vcs_folded);
        json_traffic(f, &bs[i].traffic);
        fprintf(f, "}");
    }
    fprintf(f, "],\n \"vcs\": [");
    for (size_t i = 0; i < nv; i++) {
        fprintf(f, "%s\n  {\"binding\": %u, \"vc\": %u, \"protocol\": ", i ? "," : "",
                vs[i].binding, vs[i].vc);
        json_str(f, vs[i].protocol);
        fprintf(f, ", \"miniport\": ");
        json_str(f, vs[i].miniport);
        fprintf(f, ", \"adapter\": ");
        json_str(f, vs[i].adapter);
        fprintf(f, ", \"live\": %s, \"seconds\": ", vs[i].live ? "true" : "false");
        json_num(f, vs[i].seconds);
        fprintf(f, ", \"traffic\": ");
        json_traffic(f, &vs[i].traffic);
        fprintf(f, "}");
    }
    fprintf(f, "],\n \"totals\": {\"traffic\": ");
    json_traffic(f, &tot);
    fprintf(f, ", \"nbls_per_s\": ");
    json_num(f, rate(tot.completed, run->seconds));
    fprintf(f, ", \"gbit_per_s\": ");
    json_num(f, rate(tot.bytes_sent, run->seconds) * 8.0 / 1e9);
    fprintf(f, "},\n \"leaks\": [");
    for (size_t i = 0; i < nl; i++) {
        char tag[TAGLEN];
        tag_text(ls[i].tag, tag);
        fprintf(f, "%s{\"kind\": ", i ? ", " : "");
        json_str(f, ls[i].kind);
        fprintf(f, ", \"owner\": ");
        json_str(f, ls[i].owner);
        fprintf(f, ", \"tag\": ");
        json_str(f, ls[i].tag ? tag : "");
        fprintf(f, ", \"count\": %zu, \"bytes\": %zu, \"pool_open\": %s}", ls[i].count,
                ls[i].bytes, ls[i].pool_open ? "true" : "false");
    }
    fprintf(f, "],\n \"problems\": [");
    for (size_t i = 0; i < run->nproblems; i++) {
        fprintf(f, "%s", i ? ", " : "");
        json_str(f, run->problems[i]);
    }
    fprintf(f, "],\n \"warnings\": %lu,\n", condis_warnings());
    json_violations(f);
    fprintf(f, "}\n");
    free(bs);
    free(vs);
    free(ls);
}
