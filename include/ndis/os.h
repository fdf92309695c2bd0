/*
 * ndis/os.h - the operating-system services NDIS drivers use: IRQL, spin
 * locks and interlocked operations, events, DPCs, I/O work items, timers,
 * memory, time, strings, debug output and configuration (driver
 * parameters).
 *
 * Windows names, prototypes and values. condis emulates the kernel in user
 * space: the IRQL is a per-thread value, "processors" are condis' DPC
 * threads, a spin lock is a real lock that yields the CPU after a bounded
 * spin, and timers, DPCs and work items run on condis' threads at the IRQL
 * Windows documents for them.
 *
 * Included through <ndis.h> after ndis/types.h, ndis/status.h and
 * ndis/object.h.
 */
#ifndef CONDIS_NDIS_OS_H
#define CONDIS_NDIS_OS_H

#include "types.h"
#include "status.h"
#include "object.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Base types ndis/types.h does not define (C11 allows an identical typedef
 * to be repeated, should it add them). */
typedef KAFFINITY *PKAFFINITY;
typedef CHAR *PSTR;

/* ======================================================================
 * IRQL
 * ====================================================================== */

/* The calling thread's emulated IRQL. Threads condis did not create start
 * at PASSIVE_LEVEL; DPC, timer and DPC-thread callbacks run at
 * DISPATCH_LEVEL. */
KIRQL KeGetCurrentIrql(void);
/* Raise to NewIrql, which must be >= the current IRQL; returns the old one. */
KIRQL KfRaiseIrql(KIRQL NewIrql);
#define KeRaiseIrql(NewIrql, OldIrql) (*(OldIrql) = KfRaiseIrql(NewIrql))
/* Return to an IRQL saved by KeRaiseIrql; must be <= the current IRQL. */
void KeLowerIrql(KIRQL NewIrql);
KIRQL KeRaiseIrqlToDpcLevel(void);

/* ======================================================================
 * Processors: one emulated processor per condis DPC thread. A thread that
 * is not a DPC thread reports processor 0.
 * ====================================================================== */

typedef struct _PROCESSOR_NUMBER {
    USHORT Group;
    UCHAR Number;
    UCHAR Reserved;
} PROCESSOR_NUMBER, *PPROCESSOR_NUMBER;

#define ALL_PROCESSOR_GROUPS 0xffff

ULONG KeGetCurrentProcessorNumber(void);
ULONG KeGetCurrentProcessorIndex(void);
ULONG KeGetCurrentProcessorNumberEx(PPROCESSOR_NUMBER ProcNumber);
ULONG KeQueryActiveProcessorCount(PKAFFINITY ActiveProcessors);
ULONG KeQueryActiveProcessorCountEx(USHORT GroupNumber);
ULONG KeQueryMaximumProcessorCount(void);
CCHAR NdisSystemProcessorCount(void);
ULONG NdisGroupActiveProcessorCount(USHORT Group);
ULONG NdisGroupMaxProcessorCount(USHORT Group);

/* ======================================================================
 * Spin locks
 *
 * A KSPIN_LOCK word is 0 when free; while held it holds a non-zero value
 * that identifies the owning thread. Acquisition spins, then yields the
 * CPU (a user-space thread can be preempted while holding the lock).
 * ====================================================================== */

typedef struct _NDIS_SPIN_LOCK {
    KSPIN_LOCK SpinLock;
    KIRQL OldIrql;
} NDIS_SPIN_LOCK, *PNDIS_SPIN_LOCK;

void NdisAllocateSpinLock(PNDIS_SPIN_LOCK SpinLock);
void NdisFreeSpinLock(PNDIS_SPIN_LOCK SpinLock);
/* Raises to DISPATCH_LEVEL and saves the previous IRQL in the lock. */
void NdisAcquireSpinLock(PNDIS_SPIN_LOCK SpinLock);
/* Releases and returns to the IRQL saved by NdisAcquireSpinLock. */
void NdisReleaseSpinLock(PNDIS_SPIN_LOCK SpinLock);
/* For callers already at DISPATCH_LEVEL: the IRQL is not changed. */
void NdisDprAcquireSpinLock(PNDIS_SPIN_LOCK SpinLock);
void NdisDprReleaseSpinLock(PNDIS_SPIN_LOCK SpinLock);

void KeInitializeSpinLock(PKSPIN_LOCK SpinLock);
KIRQL KeAcquireSpinLockRaiseToDpc(PKSPIN_LOCK SpinLock);
#define KeAcquireSpinLock(SpinLock, OldIrql) \
    (*(OldIrql) = KeAcquireSpinLockRaiseToDpc(SpinLock))
void KeReleaseSpinLock(PKSPIN_LOCK SpinLock, KIRQL NewIrql);
void KeAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock);
void KeReleaseSpinLockFromDpcLevel(PKSPIN_LOCK SpinLock);
BOOLEAN KeTryToAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock);
BOOLEAN KeTestSpinLock(PKSPIN_LOCK SpinLock);

/* In-stack queued spin locks (the lock handle lives on the caller's stack). */
typedef struct _KSPIN_LOCK_QUEUE {
    struct _KSPIN_LOCK_QUEUE *volatile Next;
    PKSPIN_LOCK volatile Lock;
} KSPIN_LOCK_QUEUE, *PKSPIN_LOCK_QUEUE;

typedef struct _KLOCK_QUEUE_HANDLE {
    KSPIN_LOCK_QUEUE LockQueue;
    KIRQL OldIrql;
} KLOCK_QUEUE_HANDLE, *PKLOCK_QUEUE_HANDLE;

void KeAcquireInStackQueuedSpinLock(PKSPIN_LOCK SpinLock, PKLOCK_QUEUE_HANDLE LockHandle);
void KeReleaseInStackQueuedSpinLock(PKLOCK_QUEUE_HANDLE LockHandle);
void KeAcquireInStackQueuedSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock,
                                              PKLOCK_QUEUE_HANDLE LockHandle);
void KeReleaseInStackQueuedSpinLockFromDpcLevel(PKLOCK_QUEUE_HANDLE LockHandle);

/* ======================================================================
 * Interlocked operations (sequentially consistent, like the kernel's).
 * ====================================================================== */

static FORCEINLINE LONG InterlockedIncrement(LONG volatile *Addend)
{
    return __atomic_add_fetch(Addend, 1, __ATOMIC_SEQ_CST);
}
static FORCEINLINE LONG InterlockedDecrement(LONG volatile *Addend)
{
    return __atomic_sub_fetch(Addend, 1, __ATOMIC_SEQ_CST);
}
static FORCEINLINE LONG InterlockedExchange(LONG volatile *Target, LONG Value)
{
    return __atomic_exchange_n(Target, Value, __ATOMIC_SEQ_CST);
}
static FORCEINLINE LONG InterlockedCompareExchange(LONG volatile *Destination, LONG ExChange,
                                            LONG Comperand)
{
    __atomic_compare_exchange_n(Destination, &Comperand, ExChange, 0, __ATOMIC_SEQ_CST,
                                __ATOMIC_SEQ_CST);
    return Comperand; /* the initial value, whether or not it was replaced */
}
static FORCEINLINE LONG InterlockedExchangeAdd(LONG volatile *Addend, LONG Value)
{
    return __atomic_fetch_add(Addend, Value, __ATOMIC_SEQ_CST);
}
static FORCEINLINE LONG InterlockedAdd(LONG volatile *Addend, LONG Value)
{
    return __atomic_add_fetch(Addend, Value, __ATOMIC_SEQ_CST);
}
static FORCEINLINE LONG InterlockedOr(LONG volatile *Destination, LONG Value)
{
    return __atomic_fetch_or(Destination, Value, __ATOMIC_SEQ_CST);
}
static FORCEINLINE LONG InterlockedAnd(LONG volatile *Destination, LONG Value)
{
    return __atomic_fetch_and(Destination, Value, __ATOMIC_SEQ_CST);
}
static FORCEINLINE LONG InterlockedXor(LONG volatile *Destination, LONG Value)
{
    return __atomic_fetch_xor(Destination, Value, __ATOMIC_SEQ_CST);
}
static FORCEINLINE LONG64 InterlockedIncrement64(LONG64 volatile *Addend)
{
    return __atomic_add_fetch(Addend, 1, __ATOMIC_SEQ_CST);
}
static FORCEINLINE LONG64 InterlockedDecrement64(LONG64 volatile *Addend)
{
    return __atomic_sub_fetch(Addend, 1, __ATOMIC_SEQ_CST);
}
static FORCEINLINE LONG64 InterlockedExchange64(LONG64 volatile *Target, LONG64 Value)
{
    return __atomic_exchange_n(Target, Value, __ATOMIC_SEQ_CST);
}
static FORCEINLINE LONG64 InterlockedCompareExchange64(LONG64 volatile *Destination,
                                                LONG64 ExChange, LONG64 Comperand)
{
    __atomic_compare_exchange_n(Destination, &Comperand, ExChange, 0, __ATOMIC_SEQ_CST,
                                __ATOMIC_SEQ_CST);
    return Comperand;
}
static FORCEINLINE LONG64 InterlockedExchangeAdd64(LONG64 volatile *Addend, LONG64 Value)
{
    return __atomic_fetch_add(Addend, Value, __ATOMIC_SEQ_CST);
}
static FORCEINLINE LONG64 InterlockedAdd64(LONG64 volatile *Addend, LONG64 Value)
{
    return __atomic_add_fetch(Addend, Value, __ATOMIC_SEQ_CST);
}
static FORCEINLINE PVOID InterlockedExchangePointer(PVOID volatile *Target, PVOID Value)
{
    return __atomic_exchange_n(Target, Value, __ATOMIC_SEQ_CST);
}
static FORCEINLINE PVOID InterlockedCompareExchangePointer(PVOID volatile *Destination,
                                                    PVOID Exchange, PVOID Comperand)
{
    __atomic_compare_exchange_n(Destination, &Comperand, Exchange, 0, __ATOMIC_SEQ_CST,
                                __ATOMIC_SEQ_CST);
    return Comperand;
}
static FORCEINLINE void InterlockedAddLargeStatistic(LONGLONG volatile *Addend, ULONG Increment)
{
    __atomic_fetch_add(Addend, (LONGLONG)Increment, __ATOMIC_SEQ_CST);
}

#define NdisInterlockedIncrement(Addend) InterlockedIncrement(Addend)
#define NdisInterlockedDecrement(Addend) InterlockedDecrement(Addend)
#define NdisInterlockedAddLargeStatistic(_Addend, _Increment) \
    InterlockedAddLargeStatistic((LONGLONG volatile *)&(_Addend)->QuadPart, (_Increment))
#define NdisInitializeListHead(ListHead) InitializeListHead(ListHead)

/* List operations under a caller-supplied spin lock, at any IRQL. The
 * insert routines return the entry that was first before the insertion,
 * the remove/pop routines the entry removed; NULL when the list was empty. */
PLIST_ENTRY ExInterlockedInsertHeadList(PLIST_ENTRY ListHead, PLIST_ENTRY ListEntry,
                                        PKSPIN_LOCK Lock);
PLIST_ENTRY ExInterlockedInsertTailList(PLIST_ENTRY ListHead, PLIST_ENTRY ListEntry,
                                        PKSPIN_LOCK Lock);
PLIST_ENTRY ExInterlockedRemoveHeadList(PLIST_ENTRY ListHead, PKSPIN_LOCK Lock);
PSINGLE_LIST_ENTRY ExInterlockedPushEntryList(PSINGLE_LIST_ENTRY ListHead,
                                              PSINGLE_LIST_ENTRY ListEntry, PKSPIN_LOCK Lock);
PSINGLE_LIST_ENTRY ExInterlockedPopEntryList(PSINGLE_LIST_ENTRY ListHead, PKSPIN_LOCK Lock);
/* Adds under the lock and returns the value before the addition. */
ULONG ExInterlockedAddUlong(PULONG Addend, ULONG Increment, PKSPIN_LOCK Lock);

#define NdisInterlockedInsertHeadList(_ListHead, _ListEntry, _SpinLock) \
    ExInterlockedInsertHeadList(_ListHead, _ListEntry, &(_SpinLock)->SpinLock)
#define NdisInterlockedInsertTailList(_ListHead, _ListEntry, _SpinLock) \
    ExInterlockedInsertTailList(_ListHead, _ListEntry, &(_SpinLock)->SpinLock)
#define NdisInterlockedRemoveHeadList(_ListHead, _SpinLock) \
    ExInterlockedRemoveHeadList(_ListHead, &(_SpinLock)->SpinLock)
#define NdisInterlockedPushEntryList(_ListHead, _ListEntry, _Lock) \
    ExInterlockedPushEntryList(_ListHead, _ListEntry, &(_Lock)->SpinLock)
#define NdisInterlockedPopEntryList(_ListHead, _Lock) \
    ExInterlockedPopEntryList(_ListHead, &(_Lock)->SpinLock)
void NdisInterlockedAddUlong(PULONG Addend, ULONG Increment, PNDIS_SPIN_LOCK SpinLock);

/* ======================================================================
 * Events and waits
 * ====================================================================== */

typedef enum _EVENT_TYPE {
    NotificationEvent,
    SynchronizationEvent
} EVENT_TYPE;

typedef enum _KWAIT_REASON {
    Executive,
    FreePage,
    PageIn,
    PoolAllocation,
    DelayExecution,
    Suspended,
    UserRequest
} KWAIT_REASON;

typedef enum _MODE {
    KernelMode,
    UserMode,
    MaximumMode
} MODE;

/* condis' layout: a futex word and no allocation, so an event may be
 * declared anywhere and needs no cleanup. Drivers treat it as opaque. */
typedef struct _KEVENT {
    LONG State;      /* the futex word: bit 0 signaled, bits 1.. waiters */
    UCHAR Type;      /* EVENT_TYPE */
    UCHAR Reserved[11];
} KEVENT, *PKEVENT, *PRKEVENT;

typedef struct _NDIS_EVENT {
    KEVENT Event;
} NDIS_EVENT, *PNDIS_EVENT;

void KeInitializeEvent(PRKEVENT Event, EVENT_TYPE Type, BOOLEAN State);
/* Signals; returns the previous state. A NotificationEvent wakes every
 * waiter and stays signaled; a SynchronizationEvent lets one waiter through
 * and resets itself. */
LONG KeSetEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait);
void KeClearEvent(PRKEVENT Event);
LONG KeResetEvent(PRKEVENT Event);
LONG KeReadStateEvent(PRKEVENT Event);
/* Waits for a KEVENT. Timeout: NULL = forever; negative = relative, in
 * 100 ns units; positive = absolute system time. Returns STATUS_SUCCESS or
 * STATUS_TIMEOUT. */
NTSTATUS KeWaitForSingleObject(PVOID Object, KWAIT_REASON WaitReason,
                               KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
                               PLARGE_INTEGER Timeout);

void NdisInitializeEvent(PNDIS_EVENT Event);
void NdisSetEvent(PNDIS_EVENT Event);
void NdisResetEvent(PNDIS_EVENT Event);
/* MsToWait 0 waits forever. TRUE if the event was signaled. PASSIVE_LEVEL. */
BOOLEAN NdisWaitEvent(PNDIS_EVENT Event, UINT MsToWait);

/* ======================================================================
 * DPCs: a DPC runs at DISPATCH_LEVEL on an emulated processor's DPC thread
 * (the target set with KeSetTargetProcessorDpc; else the current processor
 * when queued from a DPC thread, else processor 0). Each processor runs
 * its DPCs one at a time in FIFO order.
 * ====================================================================== */

typedef struct _KDPC KDPC, *PKDPC, *PRKDPC;

typedef void KDEFERRED_ROUTINE(struct _KDPC *Dpc, PVOID DeferredContext,
                               PVOID SystemArgument1, PVOID SystemArgument2);
typedef KDEFERRED_ROUTINE *PKDEFERRED_ROUTINE;

typedef enum _KDPC_IMPORTANCE {
    LowImportance,
    MediumImportance,
    HighImportance,
    MediumHighImportance
} KDPC_IMPORTANCE;

/* condis' layout; drivers only use it through the Ke*Dpc routines. */
struct _KDPC {
    UCHAR Type;
    UCHAR Importance;
    volatile USHORT Number;        /* target processor + 1; 0 = none */
    LONG Inserted;                 /* 1 while queued */
    PKDEFERRED_ROUTINE DeferredRoutine;
    PVOID DeferredContext;
    PVOID SystemArgument1;
    PVOID SystemArgument2;
    PVOID DpcData[2];              /* condis: the queue link */
    PCSTR DpcOwner;                /* condis: driver that initialized it */
    ULONG DpcCpu;                  /* condis: processor it is queued on */
};

void KeInitializeDpc(PRKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine, PVOID DeferredContext);
void KeInitializeThreadedDpc(PRKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine,
                             PVOID DeferredContext);
/* FALSE when the DPC is already queued (the arguments are then ignored). */
BOOLEAN KeInsertQueueDpc(PRKDPC Dpc, PVOID SystemArgument1, PVOID SystemArgument2);
/* TRUE when the DPC was queued and is now removed without having run. */
BOOLEAN KeRemoveQueueDpc(PRKDPC Dpc);
void KeSetTargetProcessorDpc(PRKDPC Dpc, CCHAR Number);
void KeSetImportanceDpc(PRKDPC Dpc, KDPC_IMPORTANCE Importance);
/* Returns when every DPC queued before the call has run. PASSIVE_LEVEL. */
void KeFlushQueuedDpcs(void);

/* ======================================================================
 * I/O work items: the routine runs at PASSIVE_LEVEL on a condis worker
 * thread. A routine that blocks does not hold up other work items.
 * ====================================================================== */

typedef void(NDIS_IO_WORKITEM_FUNCTION)(PVOID WorkItemContext,
                                        NDIS_HANDLE NdisIoWorkItemHandle);
typedef NDIS_IO_WORKITEM_FUNCTION(*NDIS_IO_WORKITEM_ROUTINE);

/* NdisObjectHandle: any live handle condis gave the driver (driver,
 * adapter, binding, ...). NULL when it is not live or memory is short. */
NDIS_HANDLE NdisAllocateIoWorkItem(NDIS_HANDLE NdisObjectHandle);
void NdisQueueIoWorkItem(NDIS_HANDLE NdisIoWorkItemHandle, NDIS_IO_WORKITEM_ROUTINE Routine,
                         PVOID WorkItemContext);
/* May be called from the work item's own routine. */
void NdisFreeIoWorkItem(NDIS_HANDLE NdisIoWorkItemHandle);

/* ======================================================================
 * Timers (NDIS 6): callbacks run at DISPATCH_LEVEL on condis' timer thread.
 * ====================================================================== */

typedef void(NDIS_TIMER_FUNCTION)(PVOID SystemSpecific1, PVOID FunctionContext,
                                  PVOID SystemSpecific2, PVOID SystemSpecific3);
typedef NDIS_TIMER_FUNCTION(*PNDIS_TIMER_FUNCTION);

typedef struct _NDIS_TIMER_CHARACTERISTICS {
    NDIS_OBJECT_HEADER Header;
    ULONG AllocationTag;
    PNDIS_TIMER_FUNCTION TimerFunction;
    PVOID FunctionContext;
} NDIS_TIMER_CHARACTERISTICS, *PNDIS_TIMER_CHARACTERISTICS;

#define NDIS_TIMER_CHARACTERISTICS_REVISION_1 1
#define NDIS_SIZEOF_TIMER_CHARACTERISTICS_REVISION_1 \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_TIMER_CHARACTERISTICS, FunctionContext)

NDIS_STATUS NdisAllocateTimerObject(NDIS_HANDLE NdisHandle,
                                    PNDIS_TIMER_CHARACTERISTICS TimerCharacteristics,
                                    PNDIS_HANDLE pTimerObject);
/* DueTime: negative = relative, positive = absolute system time, both in
 * 100 ns units. MillisecondsPeriod 0 = one-shot. FunctionContext NULL = the
 * one given at allocation. TRUE if the timer was already queued. */
BOOLEAN NdisSetTimerObject(NDIS_HANDLE TimerObject, LARGE_INTEGER DueTime,
                           LONG MillisecondsPeriod, PVOID FunctionContext);
BOOLEAN NdisSetCoalescableTimerObject(NDIS_HANDLE TimerObject, LARGE_INTEGER DueTime,
                                      LONG MillisecondsPeriod, PVOID FunctionContext,
                                      ULONG Tolerance);
/* TRUE if the timer was queued and is now removed. A callback already
 * running is not waited for. */
BOOLEAN NdisCancelTimerObject(NDIS_HANDLE TimerObject);
/* Cancels the timer and frees it; waits for a running callback to return
 * unless called from that callback. */
void NdisFreeTimerObject(NDIS_HANDLE TimerObject);

/* ======================================================================
 * Kernel timers and NDIS 5.x timers. A KTIMER's expiry queues its DPC (the
 * NDIS 5.x timer functions run as that DPC, at DISPATCH_LEVEL on a DPC
 * thread). Nothing is allocated: the state lives in the KTIMER, which must
 * not be freed while the timer is set. Waiting on a KTIMER is not supported.
 * ====================================================================== */

typedef enum _TIMER_TYPE {
    NotificationTimer,
    SynchronizationTimer
} TIMER_TYPE;

/* condis' layout; drivers only use it through the routines below. */
typedef struct _KTIMER {
    ULONG_PTR TimerData[16];
} KTIMER, *PKTIMER, *PRKTIMER;

void KeInitializeTimer(PKTIMER Timer);
void KeInitializeTimerEx(PKTIMER Timer, TIMER_TYPE Type);
/* DueTime as for NdisSetTimerObject; Dpc (optional) is queued at expiry.
 * TRUE if the timer was already set. */
BOOLEAN KeSetTimer(PKTIMER Timer, LARGE_INTEGER DueTime, PKDPC Dpc);
BOOLEAN KeSetTimerEx(PKTIMER Timer, LARGE_INTEGER DueTime, LONG Period, PKDPC Dpc);
/* TRUE if the timer was set (it is now not). */
BOOLEAN KeCancelTimer(PKTIMER Timer);
/* TRUE once the timer has expired since it was last set. */
BOOLEAN KeReadStateTimer(PKTIMER Timer);

typedef struct _NDIS_TIMER {
    KTIMER Timer;
    KDPC Dpc;
} NDIS_TIMER, *PNDIS_TIMER;

void NdisInitializeTimer(PNDIS_TIMER Timer, PNDIS_TIMER_FUNCTION TimerFunction,
                         PVOID FunctionContext);
void NdisSetTimer(PNDIS_TIMER Timer, UINT MillisecondsToDelay);
void NdisSetPeriodicTimer(PNDIS_TIMER NdisTimer, UINT MillisecondsPeriod);
/* *TimerCancelled: TRUE if the timer function will not run for the last
 * setting (the timer was set, or its DPC was still queued). */
void NdisCancelTimer(PNDIS_TIMER Timer, PBOOLEAN TimerCancelled);

typedef struct _NDIS_MINIPORT_TIMER {
    KTIMER Timer;
    KDPC Dpc;
    PNDIS_TIMER_FUNCTION MiniportTimerFunction;
    PVOID MiniportTimerContext;
    PVOID Miniport; /* the WDK's PNDIS_MINIPORT_BLOCK: condis' adapter handle */
    struct _NDIS_MINIPORT_TIMER *NextTimer;
} NDIS_MINIPORT_TIMER, *PNDIS_MINIPORT_TIMER;

void NdisMInitializeTimer(PNDIS_MINIPORT_TIMER Timer, NDIS_HANDLE MiniportAdapterHandle,
                          PNDIS_TIMER_FUNCTION TimerFunction, PVOID FunctionContext);
void NdisMSetTimer(PNDIS_MINIPORT_TIMER Timer, UINT MillisecondsToDelay);
void NdisMSetPeriodicTimer(PNDIS_MINIPORT_TIMER Timer, UINT MillisecondPeriod);
void NdisMCancelTimer(PNDIS_MINIPORT_TIMER Timer, PBOOLEAN TimerCancelled);

/* ======================================================================
 * Memory
 *
 * Every block carries a header (tag, length, owning driver) so that condis
 * can list what a driver leaked at unload. Freeing a pointer condis did
 * not give out, or freeing twice, is refused with a warning.
 * ====================================================================== */

#define NDIS_MEMORY_CONTIGUOUS 0x00000001
#define NDIS_MEMORY_NONCACHED 0x00000002

/* Blocks are aligned to 16 bytes; the contents are not initialized. */
PVOID NdisAllocateMemoryWithTagPriority(NDIS_HANDLE NdisHandle, UINT Length, ULONG Tag,
                                        EX_POOL_PRIORITY Priority);
void NdisFreeMemoryWithTagPriority(NDIS_HANDLE NdisHandle, PVOID VirtualAddress, ULONG Tag);
NDIS_STATUS NdisAllocateMemoryWithTag(PVOID *VirtualAddress, UINT Length, ULONG Tag);
NDIS_STATUS NdisAllocateMemory(PVOID *VirtualAddress, UINT Length, UINT MemoryFlags,
                               NDIS_PHYSICAL_ADDRESS HighestAcceptableAddress);
/* Frees a block from any of the allocators above. */
void NdisFreeMemory(PVOID VirtualAddress, UINT Length, UINT MemoryFlags);

typedef enum _POOL_TYPE {
    NonPagedPool = 0,
    NonPagedPoolExecute = NonPagedPool,
    PagedPool = 1,
    NonPagedPoolMustSucceed = 2,
    DontUseThisType = 3,
    NonPagedPoolCacheAligned = 4,
    PagedPoolCacheAligned = 5,
    NonPagedPoolCacheAlignedMustS = 6,
    MaxPoolType = 7,
    NonPagedPoolNx = 512
} POOL_TYPE;

PVOID ExAllocatePoolWithTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
void ExFreePoolWithTag(PVOID P, ULONG Tag);
void ExFreePool(PVOID P);

#define RtlCopyMemory(Destination, Source, Length) memcpy((Destination), (Source), (Length))
#define RtlMoveMemory(Destination, Source, Length) memmove((Destination), (Source), (Length))
#define RtlFillMemory(Destination, Length, Fill) memset((Destination), (Fill), (Length))
#define RtlZeroMemory(Destination, Length) memset((Destination), 0, (Length))
#define RtlEqualMemory(Source1, Source2, Length) (!memcmp((Source1), (Source2), (Length)))
/* The number of leading bytes that are equal. */
SIZE_T RtlCompareMemory(const void *Source1, const void *Source2, SIZE_T Length);

/* NdisMoveMemory tolerates overlap here (the WDK's does not promise it). */
#define NdisMoveMemory(Destination, Source, Length) memmove((Destination), (Source), (Length))
#define NdisMoveMappedMemory(Destination, Source, Length) NdisMoveMemory(Destination, Source, Length)
#define NdisZeroMemory(Destination, Length) memset((Destination), 0, (Length))
#define NdisZeroMappedMemory(Destination, Length) NdisZeroMemory(Destination, Length)
#define NdisFillMemory(Destination, Length, Fill) memset((Destination), (Fill), (Length))
#define NdisEqualMemory(Source1, Source2, Length) RtlEqualMemory(Source1, Source2, Length)
/* Unaligned ULONG load and store. */
#define NdisRetrieveUlong(DestinationAddress, SrcAddress) \
    memcpy((DestinationAddress), (SrcAddress), sizeof(ULONG))
#define NdisStoreUlong(DestinationAddress, Value)                 \
    do {                                                          \
        ULONG NdisStoreUlongValue_ = (ULONG)(Value);              \
        memcpy((DestinationAddress), &NdisStoreUlongValue_, sizeof(ULONG)); \
    } while (0)

/* ======================================================================
 * Time
 * ====================================================================== */

/* Sleeps the calling thread. PASSIVE_LEVEL. */
void NdisMSleep(ULONG MicrosecondsToSleep);
/* Busy-waits (any IRQL); meant for a few microseconds. */
void NdisStallExecution(UINT MicrosecondsToStall);
void KeStallExecutionProcessor(ULONG MicroSeconds);
/* Relative (negative, 100 ns units) or absolute interval. PASSIVE_LEVEL. */
NTSTATUS KeDelayExecutionThread(KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
                                PLARGE_INTEGER Interval);
/* 100 ns units since 1601-01-01 (UTC). */
void NdisGetCurrentSystemTime(PLARGE_INTEGER pSystemTime);
void KeQuerySystemTime(PLARGE_INTEGER CurrentTime);
void KeQuerySystemTimePrecise(PLARGE_INTEGER CurrentTime);
/* A monotonic counter; *PerformanceFrequency (if non-NULL) gets its rate. */
LARGE_INTEGER KeQueryPerformanceCounter(PLARGE_INTEGER PerformanceFrequency);
/* Milliseconds since start-up (of the machine). */
void NdisGetSystemUpTime(PULONG pSystemUpTime);
void NdisGetSystemUpTimeEx(PLARGE_INTEGER pSystemUpTime);
/* 100 ns units since start-up. */
ULONGLONG KeQueryInterruptTime(void);
void KeQueryTickCount(PLARGE_INTEGER CurrentCount);
/* 100 ns units per tick of KeQueryTickCount. */
ULONG KeQueryTimeIncrement(void);

/* ======================================================================
 * Strings. WCHAR is wchar_t (32 bits on Linux); lengths are in bytes.
 * ANSI strings are read and written as UTF-8.
 * ====================================================================== */

typedef const STRING *PCANSI_STRING, *PCSTRING;

void RtlInitUnicodeString(PUNICODE_STRING DestinationString, PCWSTR SourceString);
void RtlInitAnsiString(PANSI_STRING DestinationString, PCSZ SourceString);
void RtlInitString(PSTRING DestinationString, PCSZ SourceString);
BOOLEAN RtlEqualUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
                              BOOLEAN CaseInSensitive);
LONG RtlCompareUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
                             BOOLEAN CaseInSensitive);
void RtlCopyUnicodeString(PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString);
/* AllocateDestinationString: the buffer comes from the tracked allocator
 * and is freed with RtlFreeUnicodeString / RtlFreeAnsiString. */
NTSTATUS RtlAnsiStringToUnicodeString(PUNICODE_STRING DestinationString,
                                      PCANSI_STRING SourceString,
                                      BOOLEAN AllocateDestinationString);
NTSTATUS RtlUnicodeStringToAnsiString(PANSI_STRING DestinationString,
                                      PCUNICODE_STRING SourceString,
                                      BOOLEAN AllocateDestinationString);
void RtlFreeUnicodeString(PUNICODE_STRING UnicodeString);
void RtlFreeAnsiString(PANSI_STRING AnsiString);
NTSTATUS RtlUpcaseUnicodeString(PUNICODE_STRING DestinationString,
                                PCUNICODE_STRING SourceString,
                                BOOLEAN AllocateDestinationString);
/* Base 0 accepts 0x, 0o and 0b prefixes and defaults to 10. */
NTSTATUS RtlUnicodeStringToInteger(PCUNICODE_STRING String, ULONG Base, PULONG Value);
NTSTATUS RtlIntegerToUnicodeString(ULONG Value, ULONG Base, PUNICODE_STRING String);

void NdisInitUnicodeString(PNDIS_STRING Destination, PCWSTR Source);
void NdisInitAnsiString(PNDIS_ANSI_STRING Destination, PCSTR Source);
BOOLEAN NdisEqualString(PNDIS_STRING String1, PNDIS_STRING String2, BOOLEAN CaseInsensitive);
/* The destination's buffer is the caller's: NDIS_STATUS_BUFFER_OVERFLOW
 * when MaximumLength is too small. */
NDIS_STATUS NdisAnsiStringToUnicodeString(PNDIS_STRING DestinationString,
                                          PNDIS_ANSI_STRING SourceString);
NDIS_STATUS NdisUnicodeStringToAnsiString(PNDIS_ANSI_STRING DestinationString,
                                          PNDIS_STRING SourceString);
NDIS_STATUS NdisUpcaseUnicodeString(PUNICODE_STRING DestinationString,
                                    PUNICODE_STRING SourceString);
/* Frees a string NDIS allocated for the driver. */
#define NdisFreeString(_String) NdisFreeMemory((_String).Buffer, (_String).MaximumLength, 0)

/* ======================================================================
 * Debug output: one line on stderr, prefixed with the driver's name. The
 * Windows format extensions are understood: %wZ (PUNICODE_STRING), %Z
 * (PANSI_STRING), %ws / %S / %ls (wide string), %wc / %C (wide char),
 * %I64d, %I32d, %Id (pointer size) and the usual C conversions; %l is 32
 * bits, as on Windows.
 * ====================================================================== */

typedef enum _DPFLTR_TYPE {
    DPFLTR_SYSTEM_ID = 0,
    DPFLTR_IHVDRIVER_ID = 77,
    DPFLTR_IHVVIDEO_ID = 78,
    DPFLTR_IHVAUDIO_ID = 79,
    DPFLTR_IHVNETWORK_ID = 80,
    DPFLTR_IHVSTREAMING_ID = 81,
    DPFLTR_IHVBUS_ID = 82,
    DPFLTR_DEFAULT_ID = 101
} DPFLTR_TYPE;

#define DPFLTR_ERROR_LEVEL 0
#define DPFLTR_WARNING_LEVEL 1
#define DPFLTR_TRACE_LEVEL 2
#define DPFLTR_INFO_LEVEL 3
#define DPFLTR_MASK 0x80000000

ULONG DbgPrint(PCSTR Format, ...);
ULONG DbgPrintEx(ULONG ComponentId, ULONG Level, PCSTR Format, ...);
#define KdPrint(_x_) DbgPrint _x_
#define KdPrintEx(_x_) DbgPrintEx _x_
/* Logs that a breakpoint was hit and continues. */
void DbgBreakPoint(void);
#define KdBreakPoint() DbgBreakPoint()
/* Logs the failed assertion with file and line, then aborts. */
void RtlAssert(PVOID VoidFailedAssertion, PVOID VoidFileName, ULONG LineNumber,
               PSTR MutableMessage);

#if defined(DBG) && DBG
#define ASSERT(exp) \
    ((void)((exp) ? 0 : (RtlAssert((PVOID)#exp, (PVOID)__FILE__, __LINE__, NULL), 0)))
#define ASSERTMSG(msg, exp) \
    ((void)((exp) ? 0 : (RtlAssert((PVOID)#exp, (PVOID)__FILE__, __LINE__, (PSTR)(msg)), 0)))
#define NT_ASSERT(exp) ASSERT(exp)
#define NT_ASSERTMSG(msg, exp) ASSERTMSG(msg, exp)
#define NT_VERIFY(exp) \
    ((exp) ? TRUE : (RtlAssert((PVOID)#exp, (PVOID)__FILE__, __LINE__, NULL), FALSE))
#else
#define ASSERT(exp) ((void)0)
#define ASSERTMSG(msg, exp) ((void)0)
#define NT_ASSERT(exp) ((void)0)
#define NT_ASSERTMSG(msg, exp) ((void)0)
#define NT_VERIFY(exp) ((exp) ? TRUE : FALSE)
#endif

/* ======================================================================
 * Configuration: driver parameters, read the way the registry is read.
 * condis takes them from the host (condis run --param Name=Value).
 * ====================================================================== */

typedef struct _NDIS_CONFIGURATION_OBJECT {
    NDIS_OBJECT_HEADER Header;
    NDIS_HANDLE NdisHandle;
    ULONG Flags;
} NDIS_CONFIGURATION_OBJECT, *PNDIS_CONFIGURATION_OBJECT;

#define NDIS_CONFIGURATION_OBJECT_REVISION_1 1
#define NDIS_SIZEOF_CONFIGURATION_OBJECT_REVISION_1 \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_CONFIGURATION_OBJECT, Flags)
#define NDIS_CONFIG_FLAG_FILTER_INSTANCE_CONFIGURATION 0x00000001

typedef enum _NDIS_PARAMETER_TYPE {
    NdisParameterInteger,
    NdisParameterHexInteger,
    NdisParameterString,
    NdisParameterMultiString,
    NdisParameterBinary
} NDIS_PARAMETER_TYPE, *PNDIS_PARAMETER_TYPE;

typedef struct {
    USHORT Length;
    PVOID Buffer;
} BINARY_DATA;

typedef struct _NDIS_CONFIGURATION_PARAMETER {
    NDIS_PARAMETER_TYPE ParameterType;
    union {
        ULONG IntegerData;
        NDIS_STRING StringData;
        BINARY_DATA BinaryData;
    } ParameterData;
} NDIS_CONFIGURATION_PARAMETER, *PNDIS_CONFIGURATION_PARAMETER;

/* ConfigObject->NdisHandle: any live handle of the driver (driver,
 * adapter, binding). PASSIVE_LEVEL. */
NDIS_STATUS NdisOpenConfigurationEx(PNDIS_CONFIGURATION_OBJECT ConfigObject,
                                    PNDIS_HANDLE ConfigurationHandle);
/* NDIS 5.x forms: WrapperConfigurationContext is any live handle of the
 * driver; ProtocolSection names the protocol (its last path component is
 * taken as the driver name). */
void NdisOpenConfiguration(PNDIS_STATUS Status, PNDIS_HANDLE ConfigurationHandle,
                           NDIS_HANDLE WrapperConfigurationContext);
void NdisOpenProtocolConfiguration(PNDIS_STATUS Status, PNDIS_HANDLE ConfigurationHandle,
                                   PNDIS_STRING ProtocolSection);
/* *ParameterValue stays valid until NdisCloseConfiguration. Integers parse
 * decimal or 0x-hex (NdisParameterHexInteger: hex, 0x optional);
 * NDIS_STATUS_FAILURE when the keyword is missing or does not parse. */
void NdisReadConfiguration(PNDIS_STATUS Status, PNDIS_CONFIGURATION_PARAMETER *ParameterValue,
                           NDIS_HANDLE ConfigurationHandle, PNDIS_STRING Keyword,
                           NDIS_PARAMETER_TYPE ParameterType);
void NdisWriteConfiguration(PNDIS_STATUS Status, NDIS_HANDLE ConfigurationHandle,
                            PNDIS_STRING Keyword,
                            PNDIS_CONFIGURATION_PARAMETER ParameterValue);
void NdisCloseConfiguration(NDIS_HANDLE ConfigurationHandle);
/* A subkey reads keywords named "SubKeyName\Keyword". */
void NdisOpenConfigurationKeyByName(PNDIS_STATUS Status, NDIS_HANDLE ConfigurationHandle,
                                    PNDIS_STRING SubKeyName, PNDIS_HANDLE SubKeyHandle);
/* Not supported: NDIS_STATUS_FAILURE. */
void NdisOpenConfigurationKeyByIndex(PNDIS_STATUS Status, NDIS_HANDLE ConfigurationHandle,
                                     ULONG Index, PNDIS_STRING KeyName,
                                     PNDIS_HANDLE KeyHandle);
/* The NetworkAddress parameter as bytes (hex digits, optionally separated
 * by '-' or ':'); NDIS_STATUS_FAILURE when there is none. The bytes belong
 * to the configuration handle. */
void NdisReadNetworkAddress(PNDIS_STATUS Status, PVOID *NetworkAddress,
                            PUINT NetworkAddressLength, NDIS_HANDLE ConfigurationHandle);

#ifdef __cplusplus
}
#endif

#endif /* CONDIS_NDIS_OS_H */
