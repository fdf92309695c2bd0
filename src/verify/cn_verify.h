/*
 * cn_verify.h - the verifier: the send-path rules of RULES.md checked
 * against the drivers of a run, and the findings they produce.
 *
 * The verifier observes; nothing depends on it being on. Every check in the
 * other layers sits behind the one gate CN_VERIFYING, a single predictable
 * branch on a word that is written once, before any driver runs. When the
 * gate is closed the layers keep only the checks condis needs for its own
 * safety (a second send of an in-flight NBL is ignored, a completion of
 * something never sent is dropped), and report those as warnings.
 *
 * A finding names the rule, the driver that broke it, the object (VC, NBL,
 * packet, pool, lock, memory block), the call in which it was seen, what
 * happened, the fix, the object's recent history and a backtrace. The first
 * few occurrences of each rule are kept in full, the rest are counted.
 *
 * Shadows: every descriptor the verifier watches (NBLs, packets) gets a
 * struct cn_vshadow the first time it is looked at with the gate open. It
 * holds the descriptor's recent events and the checksums taken when it
 * was sent and when it was completed. Shadows come from the verifier's own
 * arena, allocated a chunk at a time: after warm-up, a run with the
 * verifier on allocates nothing per NBL either.
 *
 * Dependencies: libc, pthreads and the os layer (IRQL, time). Other layers
 * format the object text themselves, so that this one knows nothing of
 * their structures.
 */
#ifndef CN_VERIFY_H
#define CN_VERIFY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <ndis.h>

struct cn_vshadow;

/* The rules of RULES.md marked "detect", in its order. */
enum cn_rule {
    CN_OWN1, CN_OWN2, CN_OWN3, CN_OWN4, CN_OWN5, CN_OWN6, CN_OWN7,
    CN_NBL1, CN_NBL2, CN_NBL3, CN_NBL4,
    CN_PKT1, CN_PKT2, CN_PKT3, CN_PKT4,
    CN_VC1, CN_VC2, CN_VC3, CN_VC4,
    CN_IRQL1, CN_IRQL2, CN_IRQL3,
    CN_RES1, CN_RES2,
    CN_RULE_COUNT
};

/* 0: off, 1: on, 2: on, and the first finding asks the run to end.
 * Written by cn_verify_init before any driver runs, read-only after. */
extern int cn_verify_mode;
#define CN_VERIFYING (__builtin_expect(cn_verify_mode != 0, 0))

void cn_verify_init(int mode);
/* Frees the findings and the shadow arena (runtime teardown). */
void cn_verify_fini(void);

/* "OWN-1" */
const char *cn_rule_id(enum cn_rule r);

/* Report a broken rule. With the verifier on it becomes a finding (and
 * with --verify=stop the run is asked to end); with it off, condis warns
 * once per rule, so that a driver mistake condis survived is still said.
 * driver: who broke the rule; call: the NDIS function or handler in which
 * it was seen; object: what it concerns, formatted by the caller (NULL:
 * none); shadow: the object's history, or NULL. Any thread, any IRQL; it
 * takes no lock a driver could hold. */
void cn_violation(enum cn_rule r, const char *driver, const char *call, const char *object,
                  struct cn_vshadow *shadow, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* ---- shadows and history --------------------------------------------------- */
enum cn_vev {
    CN_EV_ALLOC = 1,  /* allocated from its pool */
    CN_EV_FREE,       /* returned to its pool */
    CN_EV_SEND,       /* given to NdisCoSend* by the protocol */
    CN_EV_ACCEPT,     /* handed to the miniport's send handler */
    CN_EV_COMPLETE,   /* completed by the miniport */
    CN_EV_RETURN,     /* given back to the protocol's send-complete handler */
    CN_EV_REFUSE,     /* completed by condis without reaching the miniport */
    CN_EV_RECLAIM,    /* never completed: condis took it back (OWN-6) */
    CN_EV_REINIT,     /* NdisReinitializePacket */
    CN_EV_INDICATE,   /* indicated up by a miniport */
    CN_EV_RX_RETURN,  /* returned to the miniport after an indication */
};

#define CN_VHIST 8

struct cn_vevent {
    uint64_t ve_t;           /* cn_stamp() (cn_stamp_ns: when) */
    const char *ve_driver;   /* who caused it */
    uint32_t ve_thread;      /* cn_verify_thread() */
    uint8_t ve_kind;         /* enum cn_vev */
    uint8_t ve_irql;
};

/* One slot of a history ring, each word written on its own; ves_seq
 * tells a reader whether the other words belong together (shadow.c). */
struct cn_vslot {
    _Atomic uint64_t ves_seq;           /* 2 * (event number + 1); odd while written */
    _Atomic uint64_t ves_t;
    _Atomic(const char *) ves_driver;
    _Atomic uint64_t ves_meta;          /* thread << 16 | kind << 8 | irql */
};

/* What the verifier knows of one descriptor. Fields other than the
 * history are written by the party that owns the descriptor at the time
 * (the send path between submit and completion), so they need no lock of
 * their own. So is the history, but it is also read by others (the
 * watchdog, a report) and written by a driver that breaks the rules from
 * two threads at once: it is a ring of slots that a reader checks with
 * their sequence numbers, without a lock. */
struct cn_vshadow {
    _Atomic uint32_t vs_n;              /* events recorded so far */
    struct cn_vslot vs_ev[CN_VHIST];    /* ring: the last CN_VHIST events */

    /* Taken at submit (OWN-1, OWN-7, PKT-4). */
    uint64_t vs_sum_list;               /* the NET_BUFFER list itself */
    uint64_t vs_sum_desc;               /* descriptors, MDLs/buffers, OOB */
    uint64_t vs_sum_data;               /* the bytes they describe */
    const char *vs_submitter;
    /* Taken at completion (OWN-4): the miniport's fields as it left them,
     * the NBL's or packet's MiniportReserved (16 bytes in both; the NET_BUFFERs'
     * are not compared: once the NBL is back, its protocol may change its
     * NET_BUFFER list). A copy, not a sum: it is as small as one. */
    unsigned char vs_mp[16];
    const char *vs_completer;
    bool vs_mp_valid;
    void *vs_site;                      /* where it was allocated */
};

/* The shadow of a descriptor, created on first use: *slot is the
 * descriptor's shadow pointer (zero when it was carved). NULL only when
 * memory ran out (the checks then skip it). */
struct cn_vshadow *cn_vshadow_attach(void *_Atomic *slot); /* the first time */
static inline struct cn_vshadow *cn_vshadow_get(void *_Atomic *slot)
{
    struct cn_vshadow *s = atomic_load_explicit(slot, memory_order_acquire);
    return __builtin_expect(s != NULL, 1) ? s : cn_vshadow_attach(slot);
}
/* The shadow if one exists, without creating it. */
static inline struct cn_vshadow *cn_vshadow_peek(void *_Atomic *slot)
{
    return atomic_load_explicit(slot, memory_order_acquire);
}
void cn_vhist_add(struct cn_vshadow *s, enum cn_vev ev, const char *driver);
/* The same with a cn_stamp() the caller took: the send path takes one per
 * chain, not one per NBL (a stamp per event was most of a history entry). */
void cn_vhist_add_at(struct cn_vshadow *s, enum cn_vev ev, const char *driver, uint64_t stamp,
                     uint64_t who);
/* The thread and IRQL of an event, for cn_vhist_add_at: the send path
 * takes them once per chain too. */
uint64_t cn_vhist_who(void);
/* Copy the history out, oldest first; returns how many events. */
unsigned cn_vhist_copy(struct cn_vshadow *s, struct cn_vevent out[CN_VHIST]);
const char *cn_vev_name(unsigned kind);
/* Free the shadow arena (cn_verify_fini; no descriptor is in use). */
void cn_vshadow_fini(void);

/* A small number naming the calling thread in histories (1, 2, ...). */
uint32_t cn_verify_thread(void);

/* ---- checksums ------------------------------------------------------------- */
struct cn_vsum {
    uint64_t list;  /* the NBL's NET_BUFFERs, in order */
    uint64_t desc;  /* each NET_BUFFER's data fields and its MDL chain */
    uint64_t data;  /* the bytes the NET_BUFFERs describe */
};
void cn_vsum_nbl(PNET_BUFFER_LIST nbl, struct cn_vsum *out);
/* OWN-4's snapshot of a MiniportReserved area: keep it, compare with it. */
static inline void cn_vmp_keep(struct cn_vshadow *s, const void *mp)
{
    memcpy(s->vs_mp, mp, sizeof(s->vs_mp));
}
static inline bool cn_vmp_same(const struct cn_vshadow *s, const void *mp)
{
    return memcmp(s->vs_mp, mp, sizeof(s->vs_mp)) == 0;
}
/* Any byte range, and a chain of MDLs (fields, then the bytes). */
uint64_t cn_vsum_bytes(uint64_t h, const void *p, size_t n);
uint64_t cn_vsum_mdls(PMDL mdl, uint64_t *data);

/* NBL-4: a NET_BUFFER's DataOffset, DataLength, CurrentMdl and
 * CurrentMdlOffset describe bytes its MDL chain has. NULL when they do,
 * else what is wrong. */
const char *cn_verify_nb_layout(PNET_BUFFER nb);

/* The status a send carries while it is in flight (OWN-2, NBL-3): a
 * failure code no miniport returns, so that a protocol that acts on it
 * fails visibly, and a miniport that never sets a status is caught. */
#define CN_VERIFY_POISON ((NDIS_STATUS)0xC0DE0BADL)

/* OWN-2: a protocol resends, frees or reuses a descriptor it has just sent,
 * on the same thread, before any completion: it acted as if the send were
 * over, which is what reading the (poisoned) status right after the send
 * leads to. Reported as OWN-2 when the history shows exactly that. */
void cn_verify_acted_early(struct cn_vshadow *s, const char *call, const char *object);

/* PKT-4: memory a packet in flight points at (its media-specific
 * information). hold: one more packet points at [ptr, ptr+len); release:
 * one fewer, true when the block was freed meanwhile and must be freed
 * now (*free_block: the address the driver freed, which may be the start
 * of a larger block holding ptr); free_held: a free of [block, block+len) - true (reported, and the
 * free deferred) when a packet in flight points into it. */
void cn_verify_hold(const void *ptr, size_t len, const char *object);
bool cn_verify_release(const void *ptr, void **free_block);
bool cn_verify_free_held(const void *block, size_t len, const char *fn);
void cn_verify_held_fini(void);

/* ---- backtraces ------------------------------------------------------------ */
/* The caller's stack as text, one frame per line, condis' own frames left
 * out; malloc'd (free()), NULL when none can be had. */
char *cn_verify_backtrace(void);
/* "function+0x1c (cosend.so)" for a code address, into buf. */
const char *cn_verify_symbol(const void *pc, char *buf, size_t len);

/* ---- the run ------------------------------------------------------------------ */
/* IRQL-3: what a handler left behind. Called after a driver's handler
 * returns, with what was true before the call. */
void cn_verify_after_handler(const char *driver, const char *handler, KIRQL irql_before,
                             unsigned locks_before);
/* The same for a DPC, I/O work item or timer routine (cn_os_callback_hook). */
void cn_verify_after_callback(const char *driver, const char *call, const void *routine,
                              KIRQL irql_before, unsigned locks_before);
/* IRQL-2: the caller must be below DISPATCH_LEVEL (fn is documented
 * PASSIVE_LEVEL). True when it is. */
bool cn_verify_passive(const char *fn);
#define CN_PASSIVE(fn)                \
    do {                              \
        if (CN_VERIFYING)             \
            cn_verify_passive(fn);    \
    } while (0)

#endif /* CN_VERIFY_H */
