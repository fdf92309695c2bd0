/*
 * ndis/mdl.h - memory descriptor lists (MDLs) as NDIS 6 drivers see them.
 *
 * In condis an MDL describes a buffer in the process' own address space:
 * StartVa is the page that holds the first byte, ByteOffset the offset of
 * that byte in the page, ByteCount the length, and, once the MDL is built
 * for "nonpaged pool" (MmBuildMdlForNonPagedPool, NdisAllocateMdl),
 * MappedSystemVa is the buffer address itself with MDL_SOURCE_IS_NONPAGED_POOL
 * set. There are no physical pages: an MDL carries no PFN array, and
 * "mapping" an MDL is the identity.
 *
 * Windows names only; included through <ndis.h> after ndis/types.h,
 * ndis/status.h and ndis/object.h (NDIS_HANDLE).
 */
#ifndef CONDIS_NDIS_MDL_H
#define CONDIS_NDIS_MDL_H

#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef ARGUMENT_PRESENT
#define ARGUMENT_PRESENT(ArgumentPointer) \
    ((CHAR *)((ULONG_PTR)(ArgumentPointer)) != (CHAR *)NULL)
#endif

/* A page frame number; an MDL built by condis has no array of them. */
typedef ULONG_PTR PFN_NUMBER, *PPFN_NUMBER;

/* ---- the MDL ------------------------------------------------------------- */
typedef struct _MDL {
    struct _MDL *Next;          /* next MDL of a chain (NDIS_MDL_LINKAGE) */
    CSHORT Size;                /* bytes of this MDL, header and PFN array */
    CSHORT MdlFlags;            /* MDL_* */
    struct _EPROCESS *Process;
    PVOID MappedSystemVa;       /* valid with MDL_MAPPED_TO_SYSTEM_VA or
                                   MDL_SOURCE_IS_NONPAGED_POOL */
    PVOID StartVa;              /* page-aligned start of the buffer's first page */
    ULONG ByteCount;            /* length of the buffer */
    ULONG ByteOffset;           /* offset of the buffer in its first page */
} MDL, *PMDL;

typedef MDL *PMDLX;

/* NDIS 5 called an MDL a buffer descriptor; the types are the same. */
typedef MDL NDIS_BUFFER, *PNDIS_BUFFER;

#define MDL_MAPPED_TO_SYSTEM_VA 0x0001
#define MDL_PAGES_LOCKED 0x0002
#define MDL_SOURCE_IS_NONPAGED_POOL 0x0004
#define MDL_ALLOCATED_FIXED_SIZE 0x0008
#define MDL_PARTIAL 0x0010
#define MDL_PARTIAL_HAS_BEEN_MAPPED 0x0020
#define MDL_IO_PAGE_READ 0x0040
#define MDL_WRITE_OPERATION 0x0080
#define MDL_LOCKED_PAGE_TABLES 0x0100
#define MDL_PARENT_MAPPED_SYSTEM_VA MDL_LOCKED_PAGE_TABLES
#define MDL_FREE_EXTRA_PTES 0x0200
#define MDL_DESCRIBES_AWE 0x0400
#define MDL_IO_SPACE 0x0800
#define MDL_NETWORK_HEADER 0x1000
#define MDL_MAPPING_CAN_FAIL 0x2000
#define MDL_PAGE_CONTENTS_INVARIANT 0x4000
#define MDL_ALLOCATED_MUST_SUCCEED MDL_PAGE_CONTENTS_INVARIANT
#define MDL_INTERNAL 0x8000

/* ---- accessors (wdm.h) ---------------------------------------------------- */
#define MmGetMdlVirtualAddress(Mdl) \
    ((PVOID)((PCHAR)((Mdl)->StartVa) + (Mdl)->ByteOffset))
#define MmGetMdlByteCount(Mdl) ((Mdl)->ByteCount)
#define MmGetMdlByteOffset(Mdl) ((Mdl)->ByteOffset)
#define MmGetMdlBaseVa(Mdl) ((Mdl)->StartVa)

/* Bytes an MDL for Length bytes at Base takes with its PFN array. */
#define MmSizeOfMdl(Base, Length)                              \
    ((SIZE_T)(sizeof(MDL) + sizeof(PFN_NUMBER) *               \
                                ADDRESS_AND_SIZE_TO_SPAN_PAGES((Base), (Length))))

/* Initialize a caller-allocated MDL for Length bytes at BaseVa. */
#define MmInitializeMdl(MemoryDescriptorList, BaseVa, Length)                    \
    do {                                                                         \
        (MemoryDescriptorList)->Next = (PMDL)NULL;                               \
        (MemoryDescriptorList)->Size = (CSHORT)(sizeof(MDL) +                    \
            (sizeof(PFN_NUMBER) * ADDRESS_AND_SIZE_TO_SPAN_PAGES((BaseVa), (Length)))); \
        (MemoryDescriptorList)->MdlFlags = 0;                                    \
        (MemoryDescriptorList)->Process = NULL;                                  \
        (MemoryDescriptorList)->MappedSystemVa = NULL;                           \
        (MemoryDescriptorList)->StartVa = (PVOID)PAGE_ALIGN((BaseVa));           \
        (MemoryDescriptorList)->ByteOffset = BYTE_OFFSET((BaseVa));              \
        (MemoryDescriptorList)->ByteCount = (ULONG)(Length);                     \
    } while (0)

/*
 * The system address of the buffer an MDL describes. On Windows this maps
 * the pages when the MDL is not mapped yet; in condis every buffer is
 * already addressable, so the address is the MDL's virtual address. Never
 * NULL for an MDL that describes a buffer. Priority (an MM_PAGE_PRIORITY,
 * possibly OR-ed with MdlMappingNoExecute/NoWrite) is accepted and ignored.
 */
static inline PVOID MmGetSystemAddressForMdlSafe(PMDL Mdl, ULONG Priority)
{
    (void)Priority;
    if (Mdl->MdlFlags & (MDL_MAPPED_TO_SYSTEM_VA | MDL_SOURCE_IS_NONPAGED_POOL))
        return Mdl->MappedSystemVa;
    return MmGetMdlVirtualAddress(Mdl);
}

/* Old name of the same; may not fail in condis either. */
#define MmGetSystemAddressForMdl(Mdl) \
    MmGetSystemAddressForMdlSafe((Mdl), NormalPagePriority)

/* Mark an initialized MDL as describing resident memory: sets MappedSystemVa
 * to the buffer address and MDL_SOURCE_IS_NONPAGED_POOL. */
VOID MmBuildMdlForNonPagedPool(PMDL MemoryDescriptorList);

/*
 * IoAllocateMdl / IoFreeMdl. Irp must be NULL in condis (there are no IRPs);
 * SecondaryBuffer and ChargeQuota are ignored. The MDL is not built: call
 * MmBuildMdlForNonPagedPool (MmGetSystemAddressForMdlSafe works either way).
 * The MDL is counted for the leak report against the driver that is running.
 */
PMDL IoAllocateMdl(PVOID VirtualAddress, ULONG Length, BOOLEAN SecondaryBuffer,
                   BOOLEAN ChargeQuota, PIRP Irp);
VOID IoFreeMdl(PMDL Mdl);

/* ---- NDIS MDL routines ------------------------------------------------------ */

/*
 * NdisAllocateMdl: an MDL for Length bytes at VirtualAddress, built for
 * nonpaged pool. NdisHandle is any live handle condis gave the driver (its
 * driver, binding, adapter, pool ...); the MDL is counted against that
 * driver until NdisFreeMdl. NULL when NdisHandle is not live or on
 * exhaustion. IRQL <= DISPATCH_LEVEL.
 */
PMDL NdisAllocateMdl(NDIS_HANDLE NdisHandle, PVOID VirtualAddress, UINT Length);

/* Free an MDL from NdisAllocateMdl. The buffer it describes is the caller's
 * and is not touched. A second free, or freeing an MDL condis owns (one of a
 * NET_BUFFER's preallocated data MDLs), is refused with a warning. */
VOID NdisFreeMdl(PMDL Mdl);

#define NdisQueryMdl(_Mdl, _VirtualAddress, _Length, _Priority)                \
    do {                                                                       \
        if (ARGUMENT_PRESENT(_VirtualAddress)) {                               \
            *(PVOID *)(_VirtualAddress) = MmGetSystemAddressForMdlSafe(        \
                (_Mdl), (ULONG)(_Priority) | MdlMappingNoExecute);             \
        }                                                                      \
        *(_Length) = MmGetMdlByteCount(_Mdl);                                  \
    } while (0)

#define NdisQueryMdlOffset(_Mdl, _Offset, _Length)                             \
    do {                                                                       \
        *(_Offset) = MmGetMdlByteOffset(_Mdl);                                 \
        *(_Length) = MmGetMdlByteCount(_Mdl);                                  \
    } while (0)

#define NDIS_MDL_TO_SPAN_PAGES(_Mdl)                                           \
    (MmGetMdlByteCount(_Mdl) == 0                                              \
         ? 1                                                                   \
         : (ADDRESS_AND_SIZE_TO_SPAN_PAGES(MmGetMdlVirtualAddress(_Mdl),       \
                                           MmGetMdlByteCount(_Mdl))))

#define NdisGetMdlPhysicalArraySize(_Mdl, _ArraySize) \
    (*(_ArraySize) = NDIS_MDL_TO_SPAN_PAGES(_Mdl))

#define NDIS_MDL_LINKAGE(_Mdl) ((_Mdl)->Next)

#define NdisGetNextMdl(_CurrentMdl, _NextMdl) \
    do {                                      \
        *(_NextMdl) = (_CurrentMdl)->Next;    \
    } while (0)

#ifdef __cplusplus
}
#endif

#endif /* CONDIS_NDIS_MDL_H */
