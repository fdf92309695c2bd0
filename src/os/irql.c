/*
 * irql.c - the emulated IRQL: one thread-local value per thread.
 *
 * Nothing masks anything here: the IRQL is bookkeeping that lets condis
 * call each handler at the level Windows documents, tell a driver which
 * level it runs at, and let the verifier check the rules that depend on it
 * (IRQL-1, IRQL-2). Raising above DISPATCH_LEVEL is accepted and recorded.
 */
#include "os_priv.h"

static _Thread_local KIRQL tls_irql = PASSIVE_LEVEL;

KIRQL cn_irql(void)
{
    return tls_irql;
}

KIRQL cn_irql_raise(KIRQL NewIrql)
{
    KIRQL old = tls_irql;
    if (NewIrql < old) {
        /* Windows bugchecks (IRQL_NOT_GREATER_OR_EQUAL); condis keeps the
         * current level so that the matching lower restores it. */
        cn_warn("KeRaiseIrql to %u from the higher IRQL %u", (unsigned)NewIrql,
                (unsigned)old);
        return old;
    }
    tls_irql = NewIrql;
    return old;
}

void cn_irql_lower(KIRQL OldIrql)
{
    if (OldIrql > tls_irql) {
        cn_warn("KeLowerIrql to %u from the lower IRQL %u", (unsigned)OldIrql,
                (unsigned)tls_irql);
        return;
    }
    tls_irql = OldIrql;
}

void cn_irql_set(KIRQL Irql)
{
    tls_irql = Irql;
}

/* ---- the Windows names --------------------------------------------------- */

KIRQL KeGetCurrentIrql(void)
{
    return tls_irql;
}

KIRQL KfRaiseIrql(KIRQL NewIrql)
{
    return cn_irql_raise(NewIrql);
}

void KeLowerIrql(KIRQL NewIrql)
{
    cn_irql_lower(NewIrql);
}

KIRQL KeRaiseIrqlToDpcLevel(void)
{
    return cn_irql_raise(DISPATCH_LEVEL);
}

void (*cn_os_callback_hook)(const char *driver, const char *call, const void *routine,
                            KIRQL irql, unsigned locks_before);

void cn_callback_returned(const char *call, const void *routine, KIRQL irql,
                          unsigned locks_before)
{
    if (cn_os_callback_hook != NULL) {
        cn_os_callback_hook(cn_current_driver(), call, routine, irql, locks_before);
        return;
    }
    if (cn_irql() != irql) {
        cn_warn("%s: a %s returned at IRQL %u instead of %u", cn_current_driver(), call,
                (unsigned)cn_irql(), (unsigned)irql);
        cn_irql_set(irql);
    }
}
