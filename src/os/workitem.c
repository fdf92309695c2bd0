/*
 * workitem.c - NDIS I/O work items on condis' PASSIVE_LEVEL worker pool.
 *
 * A work item is referenced by its handle (until NdisFreeIoWorkItem) and by
 * each queued run (until its routine returns), and freed when both are
 * gone: so the routine may free its own work item, the usual pattern.
 */
#include <stdlib.h>

#include "os_priv.h"

struct cn_io_workitem {
    struct cn_work wi_work;
    NDIS_HANDLE wi_handle;
    const char *wi_owner;
    NDIS_IO_WORKITEM_ROUTINE wi_routine; /* set by the queuer, read by the run */
    PVOID wi_context;
    _Atomic int wi_refs;
    _Atomic bool wi_queued;
};

static void workitem_put(struct cn_io_workitem *wi)
{
    if (atomic_fetch_sub(&wi->wi_refs, 1) == 1)
        free(wi);
}

static void workitem_run(struct cn_work *w)
{
    struct cn_io_workitem *wi = CONTAINING_RECORD(w, struct cn_io_workitem, wi_work);
    NDIS_IO_WORKITEM_ROUTINE routine = wi->wi_routine;
    PVOID ctx = wi->wi_context;
    NDIS_HANDLE h = wi->wi_handle;
    /* From here the driver may queue the item again. */
    atomic_store(&wi->wi_queued, false);
    cn_set_current_driver(wi->wi_owner);
    KIRQL irql = cn_irql();
    unsigned held = cn_spin_locks_held();
    routine(ctx, h);
    cn_callback_returned("I/O work item routine", (const void *)routine, irql, held);
    workitem_put(wi);
}

NDIS_HANDLE NdisAllocateIoWorkItem(NDIS_HANDLE NdisObjectHandle)
{
    const char *owner = cn_handle_owner(NdisObjectHandle);
    if (owner == NULL) {
        cn_warn("NdisAllocateIoWorkItem: %p is not a live NDIS handle", NdisObjectHandle);
        return NULL;
    }
    struct cn_io_workitem *wi = calloc(1, sizeof(*wi));
    if (wi == NULL)
        return NULL;
    wi->wi_owner = owner;
    atomic_init(&wi->wi_refs, 1);
    atomic_init(&wi->wi_queued, false);
    wi->wi_handle = cn_handle_alloc(CN_H_IO_WORKITEM, wi, owner);
    if (wi->wi_handle == NULL) {
        free(wi);
        return NULL;
    }
    return wi->wi_handle;
}

void NdisQueueIoWorkItem(NDIS_HANDLE NdisIoWorkItemHandle, NDIS_IO_WORKITEM_ROUTINE Routine,
                         PVOID WorkItemContext)
{
    struct cn_io_workitem *wi = cn_handle_get(NdisIoWorkItemHandle, CN_H_IO_WORKITEM);
    if (wi == NULL) {
        cn_warn("NdisQueueIoWorkItem: %p is not a live work item handle", NdisIoWorkItemHandle);
        return;
    }
    if (Routine == NULL) {
        cn_warn("NdisQueueIoWorkItem: no routine");
        return;
    }
    bool was = false;
    if (!atomic_compare_exchange_strong(&wi->wi_queued, &was, true)) {
        cn_warn("NdisQueueIoWorkItem: work item %p is already queued; ignored",
                NdisIoWorkItemHandle);
        return;
    }
    wi->wi_routine = Routine;
    wi->wi_context = WorkItemContext;
    atomic_fetch_add(&wi->wi_refs, 1);
    wi->wi_work.w_fn = workitem_run;
    cn_work_queue_passive(&wi->wi_work);
}

void NdisFreeIoWorkItem(NDIS_HANDLE NdisIoWorkItemHandle)
{
    struct cn_io_workitem *wi = cn_handle_get(NdisIoWorkItemHandle, CN_H_IO_WORKITEM);
    if (wi == NULL) {
        cn_warn("NdisFreeIoWorkItem: %p is not a live work item handle", NdisIoWorkItemHandle);
        return;
    }
    cn_handle_free(NdisIoWorkItemHandle);
    if (atomic_load(&wi->wi_queued) && cn_work_cancel(&wi->wi_work)) {
        /* Windows would run the routine on freed memory; condis drops it. */
        cn_warn("NdisFreeIoWorkItem: work item %p freed while queued; its routine will "
                "not run", NdisIoWorkItemHandle);
        workitem_put(wi);
    }
    workitem_put(wi);
}
