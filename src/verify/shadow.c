/*
 * shadow.c - what the verifier remembers of each descriptor: its recent
 * history and the checksums taken when it was sent and completed; the
 * checks of a NET_BUFFER's layout; backtraces.
 *
 * Shadows come from an arena of chunks that lives until the runtime ends
 * (a descriptor's shadow pointer may be read by a late, buggy completion
 * long after its pool is gone). A descriptor gets its shadow the first time
 * the verifier looks at it and keeps it for life, so steady traffic with the
 * verifier on allocates nothing.
 */
#include <ctype.h>
#include <dlfcn.h>
#include <execinfo.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../os/cn_os.h"
#include "cn_verify.h"

/* ---- the arena ----------------------------------------------------------------- */

#define CHUNK_SHADOWS 1024

struct chunk {
    struct chunk *c_next;
    unsigned c_used;
    struct cn_vshadow c_s[CHUNK_SHADOWS];
};

static pthread_mutex_t arena_lock = PTHREAD_MUTEX_INITIALIZER;
static struct chunk *arena; /* arena_lock; the newest chunk first */

static struct cn_vshadow *shadow_alloc(void)
{
    struct cn_vshadow *s = NULL;
    pthread_mutex_lock(&arena_lock);
    if (arena == NULL || arena->c_used == CHUNK_SHADOWS) {
        struct chunk *c = calloc(1, sizeof(*c));
        if (c != NULL) {
            c->c_next = arena;
            arena = c;
        }
    }
    if (arena != NULL && arena->c_used < CHUNK_SHADOWS)
        s = &arena->c_s[arena->c_used++];
    pthread_mutex_unlock(&arena_lock);
    return s;
}

struct cn_vshadow *cn_vshadow_attach(void *_Atomic *slot)
{
    struct cn_vshadow *fresh = shadow_alloc();
    if (fresh == NULL)
        return NULL;
    void *expected = NULL;
    if (atomic_compare_exchange_strong_explicit(slot, &expected, fresh, memory_order_acq_rel,
                                                memory_order_acquire))
        return fresh;
    /* Another thread attached one first; ours stays unused in the arena. */
    return expected;
}

void cn_vshadow_fini(void)
{
    pthread_mutex_lock(&arena_lock);
    while (arena != NULL) {
        struct chunk *c = arena;
        arena = c->c_next;
        free(c);
    }
    pthread_mutex_unlock(&arena_lock);
}

/* ---- history --------------------------------------------------------------------- */

static _Atomic uint32_t thread_ids;
static _Thread_local uint32_t my_thread_id;

uint32_t cn_verify_thread(void)
{
    if (my_thread_id == 0)
        my_thread_id = atomic_fetch_add_explicit(&thread_ids, 1, memory_order_relaxed) + 1;
    return my_thread_id;
}

void cn_vhist_add(struct cn_vshadow *s, enum cn_vev ev, const char *driver)
{
    if (s != NULL)
        cn_vhist_add_at(s, ev, driver, cn_stamp(), cn_vhist_who());
}

/* The history's writer is whoever owns the descriptor, one at a time, and
 * each hands it to the next through a release and an acquire (the NBL's
 * state, the miniport's call): no lock, no locked instruction. A slot is
 * marked odd while it is written and stamped with its event number after;
 * a reader keeps only the slots whose stamp it sees the same before and
 * after reading them. A driver that completes one NBL from two threads at
 * once may lose one of the two events, never anything else (a lock here
 * was four locked instructions per verified NBL). */
uint64_t cn_vhist_who(void)
{
    return (uint64_t)cn_verify_thread() << 16 | (uint8_t)cn_irql();
}

void cn_vhist_add_at(struct cn_vshadow *s, enum cn_vev ev, const char *driver, uint64_t stamp,
                     uint64_t who)
{
    if (s == NULL)
        return;
    uint32_t n = atomic_load_explicit(&s->vs_n, memory_order_relaxed);
    struct cn_vslot *e = &s->vs_ev[n % CN_VHIST];
    uint64_t seq = 2 * ((uint64_t)n + 1);
    /* Release on every store keeps each after the odd mark (and costs
     * nothing on x86); fences would do, but TSan does not follow them. */
    atomic_store_explicit(&e->ves_seq, seq - 1, memory_order_relaxed);
    atomic_store_explicit(&e->ves_t, stamp, memory_order_release);
    atomic_store_explicit(&e->ves_driver, driver, memory_order_release);
    atomic_store_explicit(&e->ves_meta, who | (uint64_t)(uint8_t)ev << 8, memory_order_release);
    atomic_store_explicit(&e->ves_seq, seq, memory_order_release);
    atomic_store_explicit(&s->vs_n, n + 1, memory_order_release);
}

unsigned cn_vhist_copy(struct cn_vshadow *s, struct cn_vevent out[CN_VHIST])
{
    uint32_t n = atomic_load_explicit(&s->vs_n, memory_order_acquire);
    uint32_t first = n > CN_VHIST ? n - CN_VHIST : 0;
    unsigned k = 0;
    for (uint32_t i = first; i < n; i++) {
        struct cn_vslot *e = &s->vs_ev[i % CN_VHIST];
        uint64_t want = 2 * ((uint64_t)i + 1);
        if (atomic_load_explicit(&e->ves_seq, memory_order_acquire) != want)
            continue; /* being rewritten */
        uint64_t t = atomic_load_explicit(&e->ves_t, memory_order_acquire);
        const char *driver = atomic_load_explicit(&e->ves_driver, memory_order_acquire);
        uint64_t meta = atomic_load_explicit(&e->ves_meta, memory_order_acquire);
        if (atomic_load_explicit(&e->ves_seq, memory_order_relaxed) != want)
            continue;
        out[k++] = (struct cn_vevent){ .ve_t = t,
                                       .ve_driver = driver,
                                       .ve_thread = (uint32_t)(meta >> 16),
                                       .ve_kind = (uint8_t)(meta >> 8),
                                       .ve_irql = (uint8_t)meta };
    }
    return k;
}

const char *cn_vev_name(unsigned kind)
{
    static const char *const names[] = {
        [CN_EV_ALLOC] = "allocated",   [CN_EV_FREE] = "freed",
        [CN_EV_SEND] = "sent",         [CN_EV_ACCEPT] = "accepted",
        [CN_EV_COMPLETE] = "completed", [CN_EV_RETURN] = "returned",
        [CN_EV_REFUSE] = "refused",    [CN_EV_RECLAIM] = "reclaimed",
        [CN_EV_REINIT] = "reinitialized", [CN_EV_INDICATE] = "indicated",
        [CN_EV_RX_RETURN] = "rx-returned",
    };
    return kind < sizeof(names) / sizeof(names[0]) && names[kind] ? names[kind] : "?";
}

/* ---- checksums ------------------------------------------------------------------------
 * Not cryptographic: a mix good enough that a changed field or byte shows. */

static inline uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + UINT64_C(0x9e3779b97f4a7c15) + (h << 6) + (h >> 2);
    h *= UINT64_C(0xff51afd7ed558ccd);
    return h ^ (h >> 33);
}

/* A Fletcher-style sum over 64-bit words: a running sum and the sum of
 * the running sums, so that a word moved counts as well as a word changed,
 * folded into one word at the end by a multiply and a rotation (a
 * bijection of the second sum, so a change that leaves the first sum
 * alone still shows). It only has to notice a driver writing into a
 * descriptor or data in flight, not resist an adversary; a full mix per
 * word was a quarter of a verified send of 64-byte NBLs, and two at the
 * end of each sum a tenth. */
struct fsum {
    uint64_t s1, s2; /* s1 starts at 1: a word added or dropped also shows in s2 */
};

static inline void fsum_word(struct fsum *f, uint64_t v)
{
    f->s1 += v;
    f->s2 += f->s1;
}

static inline void fsum_bytes(struct fsum *f, const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t left = n;
    while (left >= 8) {
        uint64_t v;
        memcpy(&v, b, 8);
        fsum_word(f, v);
        b += 8;
        left -= 8;
    }
    if (left != 0) {
        /* Byte by byte: memcpy of a length not known here is a call. */
        uint64_t tail = (uint64_t)left << 56;
        for (size_t i = 0; i < left; i++)
            tail ^= (uint64_t)b[i] << (8 * i);
        fsum_word(f, tail);
    }
}

static inline uint64_t fsum_end(const struct fsum *f)
{
    uint64_t m = f->s2 * UINT64_C(0x9e3779b97f4a7c15);
    return f->s1 ^ (m << 31 | m >> 33);
}

uint64_t cn_vsum_bytes(uint64_t h, const void *p, size_t n)
{
    struct fsum f = { h | 1, 0 };
    fsum_bytes(&f, p, n);
    return fsum_end(&f);
}

/* A chain longer than this is treated as cyclic. */
#define MAX_CHAIN 65536

uint64_t cn_vsum_mdls(PMDL mdl, uint64_t *data)
{
    uint64_t h = 1, d = 1;
    for (unsigned i = 0; mdl != NULL && i < MAX_CHAIN; mdl = mdl->Next, i++) {
        h = mix(h, (uintptr_t)mdl);
        h = mix(h, (uintptr_t)mdl->MappedSystemVa);
        h = mix(h, ((uint64_t)mdl->ByteCount << 32) | mdl->ByteOffset);
        if (data && mdl->MappedSystemVa)
            d = cn_vsum_bytes(d, mdl->MappedSystemVa, mdl->ByteCount);
    }
    if (data)
        *data = d;
    return h;
}

void cn_vsum_nbl(PNET_BUFFER_LIST nbl, struct cn_vsum *out)
{
    struct fsum list = { 1, 0 }, desc = { 1, 0 }, data = { 1, 0 };
    unsigned i = 0;
    for (PNET_BUFFER nb = NET_BUFFER_LIST_FIRST_NB(nbl); nb && i < MAX_CHAIN;
         nb = NET_BUFFER_NEXT_NB(nb), i++) {
        fsum_word(&list, (uintptr_t)nb);
        fsum_word(&desc, (uintptr_t)nb->CurrentMdl);
        fsum_word(&desc, ((uint64_t)nb->CurrentMdlOffset << 32) | nb->DataLength);
        fsum_word(&desc, (uint64_t)nb->DataOffset);
        fsum_word(&desc, (uintptr_t)nb->MdlChain);
        /* The bytes the NET_BUFFER uses, from its current position. */
        ULONG left = NET_BUFFER_DATA_LENGTH(nb), off = nb->CurrentMdlOffset;
        unsigned j = 0;
        for (PMDL m = nb->CurrentMdl; m && left && j < MAX_CHAIN; m = m->Next, off = 0, j++) {
            fsum_word(&desc, (uintptr_t)m->MappedSystemVa);
            fsum_word(&desc, m->ByteCount);
            if (m->MappedSystemVa == NULL || off >= m->ByteCount)
                continue;
            ULONG take = m->ByteCount - off < left ? m->ByteCount - off : left;
            fsum_bytes(&data, (const char *)m->MappedSystemVa + off, take);
            left -= take;
        }
    }
    out->list = fsum_end(&list);
    out->desc = fsum_end(&desc);
    out->data = fsum_end(&data);
}

_Static_assert(sizeof(((NET_BUFFER_LIST *)0)->MiniportReserved) ==
                   sizeof(((struct cn_vshadow *)0)->vs_mp),
               "OWN-4 keeps an NBL's MiniportReserved whole");

const char *cn_verify_nb_layout(PNET_BUFFER nb)
{
    ULONG before = 0;
    bool found = false;
    unsigned i = 0;
    PMDL m = nb->MdlChain;
    for (; m && i < MAX_CHAIN; m = m->Next, i++) {
        if (m == nb->CurrentMdl) {
            found = true;
            break;
        }
        before += m->ByteCount;
    }
    if (i == MAX_CHAIN)
        return "its MDL chain does not end (a cycle)";
    if (nb->DataLength == 0 && nb->CurrentMdl == NULL)
        return NULL; /* an empty NET_BUFFER */
    if (!found)
        return nb->CurrentMdl ? "CurrentMdl is not in the MDL chain that MdlChain starts"
                              : "CurrentMdl is NULL but DataLength is not 0";
    if (nb->CurrentMdlOffset > nb->CurrentMdl->ByteCount)
        return "CurrentMdlOffset lies beyond the end of CurrentMdl";
    if (nb->DataOffset != before + nb->CurrentMdlOffset)
        return "DataOffset does not equal the bytes of the MDLs before CurrentMdl plus "
               "CurrentMdlOffset";
    ULONGLONG avail = (ULONGLONG)nb->CurrentMdl->ByteCount - nb->CurrentMdlOffset;
    unsigned j = 0;
    for (PMDL n = nb->CurrentMdl->Next; n && avail < nb->DataLength && j < MAX_CHAIN;
         n = n->Next, j++)
        avail += n->ByteCount;
    if (avail < nb->DataLength)
        return "DataLength runs past the end of the MDL chain";
    for (PMDL n = nb->CurrentMdl; n && j < MAX_CHAIN; n = n->Next, j++)
        if (n->ByteCount && n->MappedSystemVa == NULL)
            return "an MDL of the data has no system address (MappedSystemVa is NULL)";
    return NULL;
}

/* ---- backtraces ---------------------------------------------------------------------- */

const char *cn_verify_symbol(const void *pc, char *buf, size_t len)
{
    Dl_info info;
    if (dladdr(pc, &info) == 0 || info.dli_fname == NULL) {
        snprintf(buf, len, "%p", pc);
        return buf;
    }
    const char *file = strrchr(info.dli_fname, '/');
    file = file ? file + 1 : info.dli_fname;
    if (info.dli_sname != NULL)
        snprintf(buf, len, "%s+0x%lx (%s)", info.dli_sname,
                 (unsigned long)((const char *)pc - (const char *)info.dli_saddr), file);
    else
        snprintf(buf, len, "%s+0x%lx", file,
                 (unsigned long)((const char *)pc - (const char *)info.dli_fbase));
    return buf;
}

#define MAX_FRAMES 24
#define SHOWN_FRAMES 12

char *cn_verify_backtrace(void)
{
    void *pc[MAX_FRAMES];
    int n = backtrace(pc, MAX_FRAMES);
    /* Frame 0 is this function, 1 cn_violation: the first that matters is
     * the check's site, in the NDIS function the driver called. */
    int first = 2;
    if (n <= first)
        return NULL;
    size_t cap = SHOWN_FRAMES * 160, used = 0;
    char *out = malloc(cap);
    if (out == NULL)
        return NULL;
    out[0] = '\0';
    for (int i = first; i < n && i < first + SHOWN_FRAMES; i++) {
        char sym[256];
        int w = snprintf(out + used, cap - used, "%s#%d %s", used ? "\n" : "", i - first,
                         cn_verify_symbol(pc[i], sym, sizeof(sym)));
        if (w < 0 || (size_t)w >= cap - used)
            break;
        used += (size_t)w;
    }
    return out;
}

void cn_verify_acted_early(struct cn_vshadow *s, const char *call, const char *object)
{
    if (s == NULL || !CN_VERIFYING)
        return;
    struct cn_vevent ev[CN_VHIST];
    unsigned n = cn_vhist_copy(s, ev);
    if (n == 0)
        return;
    const struct cn_vevent *last = &ev[n - 1];
    if ((last->ve_kind != CN_EV_SEND && last->ve_kind != CN_EV_ACCEPT) ||
        last->ve_thread != cn_verify_thread())
        return;
    cn_violation(CN_OWN2, NULL, call, object, s,
                 "treated a send as finished right after submitting it, on the same thread, "
                 "before its completion; while a send is in flight its status reads %#x "
                 "(condis' in-flight marker), not a final status",
                 (unsigned)CN_VERIFY_POISON);
}

/* ---- handlers and IRQL --------------------------------------------------------------- */

bool cn_verify_passive(const char *fn)
{
    if (cn_irql() < DISPATCH_LEVEL)
        return true;
    cn_violation(CN_IRQL2, NULL, fn, NULL, NULL,
                 "%s is documented for PASSIVE_LEVEL and was called at DISPATCH_LEVEL", fn);
    return false;
}

/* "vc->vc_send_complete(ctx, chain, flags)" -> "vc_send_complete": the
 * handler's name out of the expression condis called it with. */
static const char *handler_name(const char *expr, char *buf, size_t len)
{
    const char *paren = strchr(expr, '(');
    const char *end = paren ? paren : expr + strlen(expr);
    const char *start = end;
    while (start > expr && (isalnum((unsigned char)start[-1]) || start[-1] == '_'))
        start--;
    snprintf(buf, len, "%.*s", (int)(end - start), start);
    return buf;
}

/* IRQL-3: what a driver's code left behind when it returned to condis. */
/* Locks of this thread already reported as held on a return: the handler
 * that kept one returned through condis code that called it (a DPC, a
 * wrapper) and each of those returns would find it again. Found once, at
 * the innermost return, against the driver that kept it. */
static _Thread_local unsigned locks_reported;

static void check_return(const char *driver, const char *call, KIRQL irql_before,
                         unsigned locks_before)
{
    unsigned locks = cn_spin_locks_held();
    KIRQL irql = cn_irql();
    if (locks_reported > locks)
        locks_reported = locks; /* released since */
    if (locks > locks_before + locks_reported) {
        unsigned extra = locks - locks_before - locks_reported;
        locks_reported += extra;
        cn_violation(CN_IRQL3, driver, call, NULL, NULL,
                     "returned to condis holding %u spin lock%s it acquired", extra,
                     extra == 1 ? "" : "s");
    } else if (locks <= locks_before && irql != irql_before)
        cn_violation(CN_IRQL3, driver, call, NULL, NULL,
                     "returned to condis at %s, but was called at %s",
                     irql >= DISPATCH_LEVEL ? "DISPATCH_LEVEL" : "PASSIVE_LEVEL",
                     irql_before >= DISPATCH_LEVEL ? "DISPATCH_LEVEL" : "PASSIVE_LEVEL");
    if (irql != irql_before)
        cn_irql_set(irql_before); /* so that condis itself goes on at the right level */
}

void cn_verify_after_handler(const char *driver, const char *expr, KIRQL irql_before,
                             unsigned locks_before)
{
    char name[96];
    check_return(driver, handler_name(expr, name, sizeof(name)), irql_before, locks_before);
}

/* The os layer's hook for DPC, work item and timer routines. */
void cn_verify_after_callback(const char *driver, const char *call, const void *routine,
                              KIRQL irql_before, unsigned locks_before)
{
    char sym[128], name[176];
    snprintf(name, sizeof(name), "%s %s", call, cn_verify_symbol(routine, sym, sizeof(sym)));
    check_return(driver, name, irql_before, locks_before);
}
