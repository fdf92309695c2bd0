/*
 * debug.c - condis' diagnostics (cn_log, cn_warn) and the drivers' debug
 * output (DbgPrint and friends).
 *
 * Every message is one line, written with one call so that lines from
 * different threads never interleave. DbgPrint understands the format
 * extensions Windows drivers use (see ndis/os.h) by formatting one
 * conversion at a time: the argument types differ from glibc's (%ld is 32
 * bits on Windows; %wZ takes a UNICODE_STRING), so the format string cannot
 * be handed to vsnprintf as it is.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "os_priv.h"

#define LINE_MAX_BYTES 2048

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static void (*log_sink)(const char *line, void *arg);
static void *log_sink_arg;
static _Atomic unsigned long warn_count;
_Thread_local const char *cn_tls_driver CN_TLS_IE;

void cn_log_set_sink(void (*sink)(const char *line, void *arg), void *arg)
{
    pthread_mutex_lock(&log_lock);
    log_sink = sink;
    log_sink_arg = arg;
    pthread_mutex_unlock(&log_lock);
}

/* Emits text as lines: each line of it (split at '\n'; trailing newlines
 * dropped, as drivers end their messages with one) is prefixed with prefix. */
static void emit(const char *prefix, const char *text)
{
    char line[LINE_MAX_BYTES + 128];
    size_t n = strlen(text);
    while (n > 0 && text[n - 1] == '\n')
        n--;
    pthread_mutex_lock(&log_lock);
    const char *p = text, *end = text + n;
    do {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        int w = snprintf(line, sizeof(line) - 1, "%s%.*s", prefix, (int)len, p);
        size_t used = w < 0 ? 0 : ((size_t)w < sizeof(line) - 1 ? (size_t)w : sizeof(line) - 2);
        if (log_sink != NULL) {
            log_sink(line, log_sink_arg);
        } else {
            line[used] = '\n';
            fwrite(line, 1, used + 1, stderr);
        }
        p = nl ? nl + 1 : end;
    } while (p < end);
    pthread_mutex_unlock(&log_lock);
}

void cn_log(const char *fmt, ...)
{
    char msg[LINE_MAX_BYTES];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    emit("condis: ", msg);
}

void cn_warn(const char *fmt, ...)
{
    char msg[LINE_MAX_BYTES];
    char prefix[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    atomic_fetch_add(&warn_count, 1);
    if (cn_tls_driver != NULL)
        snprintf(prefix, sizeof(prefix), "condis: warning: [%s] ", cn_tls_driver);
    else
        snprintf(prefix, sizeof(prefix), "condis: warning: ");
    emit(prefix, msg);
}

void cn_log_violation(const char *msg)
{
    emit("condis: violation: ", msg);
}

unsigned long cn_warn_count(void)
{
    return atomic_load(&warn_count);
}

const char *cn_current_driver(void)
{
    return cn_tls_driver != NULL ? cn_tls_driver : "condis";
}

const char *cn_os_driver_raw(void)
{
    return cn_tls_driver;
}


/* ---- DbgPrint's formatter ------------------------------------------------- */

struct out {
    char *o_buf;
    size_t o_cap; /* including the terminator */
    size_t o_len;
};

static void out_bytes(struct out *o, const char *s, size_t n)
{
    size_t room = o->o_cap - 1 - o->o_len;
    if (n > room)
        n = room;
    memcpy(o->o_buf + o->o_len, s, n);
    o->o_len += n;
    o->o_buf[o->o_len] = '\0';
}

static void out_fmt(struct out *o, const char *spec, ...)
{
    va_list ap;
    va_start(ap, spec);
    size_t room = o->o_cap - o->o_len;
    int n = vsnprintf(o->o_buf + o->o_len, room, spec, ap);
    va_end(ap);
    if (n > 0)
        o->o_len += (size_t)n < room ? (size_t)n : room - 1;
}

enum argsize { SZ_DEFAULT, SZ_HH, SZ_H, SZ_L32, SZ_LL, SZ_PTR, SZ_WIDE, SZ_LDBL };

/* Formats a string argument (already UTF-8) with the spec's flags and width. */
static void out_str(struct out *o, const char *flags, int width, const char *s)
{
    char spec[32];
    if (width >= 0)
        snprintf(spec, sizeof(spec), "%%%s%ds", flags, width);
    else
        snprintf(spec, sizeof(spec), "%%%ss", flags);
    out_fmt(o, spec, s);
}

static void out_wide(struct out *o, const char *flags, int width, int prec, const WCHAR *w,
                     size_t n)
{
    if (w == NULL) {
        out_str(o, flags, width, "(null)");
        return;
    }
    if (prec >= 0 && (size_t)prec < n)
        n = (size_t)prec;
    char *u = cn_wide_to_utf8(w, n);
    out_str(o, flags, width, u != NULL ? u : "(?)");
    free(u);
}

static size_t dbg_vformat(char *buf, size_t cap, const char *fmt, va_list ap)
{
    struct out o = { buf, cap, 0 };
    buf[0] = '\0';
    const char *p = fmt;
    while (*p != '\0') {
        if (*p != '%') {
            const char *q = strchr(p, '%');
            size_t n = q ? (size_t)(q - p) : strlen(p);
            out_bytes(&o, p, n);
            p += n;
            continue;
        }
        const char *start = p++;
        if (*p == '%') {
            out_bytes(&o, "%", 1);
            p++;
            continue;
        }
        char flags[8];
        size_t nflags = 0;
        while (*p != '\0' && strchr("-+ #0", *p) != NULL) {
            if (nflags < sizeof(flags) - 1)
                flags[nflags++] = *p;
            p++;
        }
        flags[nflags] = '\0';
        int width = -1, prec = -1;
        if (*p == '*') {
            width = va_arg(ap, int);
            if (width < 0) { /* a negative width means left-justified */
                width = -width;
                if (nflags < sizeof(flags) - 1) {
                    flags[nflags++] = '-';
                    flags[nflags] = '\0';
                }
            }
            p++;
        } else if (*p >= '0' && *p <= '9') {
            width = (int)strtol(p, (char **)&p, 10);
        }
        if (*p == '.') {
            p++;
            if (*p == '*') {
                prec = va_arg(ap, int);
                p++;
            } else {
                prec = (int)strtol(p, (char **)&p, 10);
            }
            if (prec < 0)
                prec = -1;
        }
        enum argsize sz = SZ_DEFAULT;
        if (p[0] == 'I' && p[1] == '6' && p[2] == '4') {
            sz = SZ_LL;
            p += 3;
        } else if (p[0] == 'I' && p[1] == '3' && p[2] == '2') {
            sz = SZ_L32;
            p += 3;
        } else if (p[0] == 'h' && p[1] == 'h') {
            sz = SZ_HH;
            p += 2;
        } else if (p[0] == 'l' && p[1] == 'l') {
            sz = SZ_LL;
            p += 2;
        } else {
            switch (*p) {
            case 'I': case 'z': case 't': case 'j':
                sz = *p == 'j' ? SZ_LL : SZ_PTR;
                p++;
                break;
            case 'h': sz = SZ_H; p++; break;
            case 'l': sz = SZ_L32; p++; break; /* 'l' is 32 bits on Windows */
            case 'w': sz = SZ_WIDE; p++; break;
            case 'q': sz = SZ_LL; p++; break;
            case 'L': sz = SZ_LDBL; p++; break;
            default: break;
            }
        }
        char conv = *p;
        if (conv == '\0') {
            out_bytes(&o, start, strlen(start));
            break;
        }
        p++;
        char spec[48];
        char wbuf[16] = "", pbuf[16] = "";
        if (width >= 0)
            snprintf(wbuf, sizeof(wbuf), "%d", width);
        if (prec >= 0)
            snprintf(pbuf, sizeof(pbuf), ".%d", prec);
        switch (conv) {
        case 'd':
        case 'i': {
            long long v;
            switch (sz) {
            case SZ_HH: v = (signed char)va_arg(ap, int); break;
            case SZ_H: v = (short)va_arg(ap, int); break;
            case SZ_LL: v = va_arg(ap, long long); break;
            case SZ_PTR: v = (long long)va_arg(ap, intptr_t); break;
            default: v = va_arg(ap, int); break;
            }
            snprintf(spec, sizeof(spec), "%%%s%s%slld", flags, wbuf, pbuf);
            out_fmt(&o, spec, v);
            break;
        }
        case 'u':
        case 'o':
        case 'x':
        case 'X': {
            unsigned long long v;
            switch (sz) {
            case SZ_HH: v = (unsigned char)va_arg(ap, unsigned); break;
            case SZ_H: v = (unsigned short)va_arg(ap, unsigned); break;
            case SZ_LL: v = va_arg(ap, unsigned long long); break;
            case SZ_PTR: v = (unsigned long long)va_arg(ap, uintptr_t); break;
            default: v = va_arg(ap, unsigned); break;
            }
            snprintf(spec, sizeof(spec), "%%%s%s%sll%c", flags, wbuf, pbuf, conv);
            out_fmt(&o, spec, v);
            break;
        }
        case 'c':
        case 'C': {
            bool wide = (conv == 'C') ? sz != SZ_H : (sz == SZ_WIDE || sz == SZ_L32);
            int c = va_arg(ap, int);
            if (wide) {
                WCHAR w = (WCHAR)c;
                out_wide(&o, flags, width, -1, &w, 1);
            } else {
                char s[2] = { (char)c, '\0' };
                out_str(&o, flags, width, s);
            }
            break;
        }
        case 's':
        case 'S': {
            bool wide = (conv == 'S') ? sz != SZ_H : (sz == SZ_WIDE || sz == SZ_L32);
            if (wide) {
                const WCHAR *w = va_arg(ap, const WCHAR *);
                out_wide(&o, flags, width, prec, w, w ? wcslen(w) : 0);
            } else {
                const char *s = va_arg(ap, const char *);
                snprintf(spec, sizeof(spec), "%%%s%s%ss", flags, wbuf, pbuf);
                out_fmt(&o, spec, s != NULL ? s : "(null)");
            }
            break;
        }
        case 'Z':
            if (sz == SZ_WIDE || sz == SZ_L32) {
                const UNICODE_STRING *us = va_arg(ap, const UNICODE_STRING *);
                if (us == NULL || us->Buffer == NULL)
                    out_str(&o, flags, width, "(null)");
                else
                    out_wide(&o, flags, width, prec, us->Buffer, us->Length / sizeof(WCHAR));
            } else {
                const STRING *as = va_arg(ap, const STRING *);
                if (as == NULL || as->Buffer == NULL) {
                    out_str(&o, flags, width, "(null)");
                } else {
                    int n = as->Length;
                    if (prec >= 0 && prec < n)
                        n = prec;
                    snprintf(spec, sizeof(spec), "%%%s%s.*s", flags, wbuf);
                    out_fmt(&o, spec, n, as->Buffer);
                }
            }
            break;
        case 'p':
            snprintf(spec, sizeof(spec), "%%%s%sp", flags, wbuf);
            out_fmt(&o, spec, va_arg(ap, void *));
            break;
        case 'e': case 'E': case 'f': case 'F': case 'g': case 'G': case 'a': case 'A':
            if (sz == SZ_LDBL) {
                snprintf(spec, sizeof(spec), "%%%s%s%sL%c", flags, wbuf, pbuf, conv);
                out_fmt(&o, spec, va_arg(ap, long double));
            } else {
                snprintf(spec, sizeof(spec), "%%%s%s%s%c", flags, wbuf, pbuf, conv);
                out_fmt(&o, spec, va_arg(ap, double));
            }
            break;
        case 'n':
            /* Writing through a format argument is refused. */
            (void)va_arg(ap, void *);
            break;
        default:
            /* Unknown conversion: print it as written, consume nothing. */
            out_bytes(&o, start, (size_t)(p - start));
            break;
        }
    }
    return o.o_len;
}

static ULONG dbg_vprint(const char *fmt, va_list ap)
{
    char msg[LINE_MAX_BYTES];
    char prefix[128];
    if (fmt == NULL)
        return (ULONG)STATUS_INVALID_PARAMETER;
    dbg_vformat(msg, sizeof(msg), fmt, ap);
    snprintf(prefix, sizeof(prefix), "%s: ", cn_current_driver());
    emit(prefix, msg);
    return (ULONG)STATUS_SUCCESS;
}

ULONG DbgPrint(PCSTR Format, ...)
{
    va_list ap;
    va_start(ap, Format);
    ULONG r = dbg_vprint(Format, ap);
    va_end(ap);
    return r;
}

/* Every component and level is printed: condis has no debugger filter. */
ULONG DbgPrintEx(ULONG ComponentId, ULONG Level, PCSTR Format, ...)
{
    (void)ComponentId;
    (void)Level;
    va_list ap;
    va_start(ap, Format);
    ULONG r = dbg_vprint(Format, ap);
    va_end(ap);
    return r;
}

void DbgBreakPoint(void)
{
    cn_log("%s hit a breakpoint (DbgBreakPoint); continuing", cn_current_driver());
}

void RtlAssert(PVOID VoidFailedAssertion, PVOID VoidFileName, ULONG LineNumber,
               PSTR MutableMessage)
{
    cn_log("%s: %s:%lu: assertion failed: %s%s%s", cn_current_driver(),
           VoidFileName ? (const char *)VoidFileName : "?", (unsigned long)LineNumber,
           VoidFailedAssertion ? (const char *)VoidFailedAssertion : "?",
           MutableMessage ? " - " : "", MutableMessage ? MutableMessage : "");
    abort();
}
