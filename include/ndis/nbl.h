/*
 * ndis/nbl.h - NET_BUFFER, NET_BUFFER_LIST, their pools and the routines
 * that allocate, clone and reshape them (NDIS 6.x).
 *
 * Layouts, names and values are the WDK's (64-bit, latest NDIS version);
 * the C spelling is plain C11: the WDK's nameless members of a typedef'd
 * type are written out inline, so both  nbl->Next  and
 * nbl->NetBufferListHeader.Next  (and nb->DataLength,
 * nb->NetBufferHeader.DataLength) work, as they do for C drivers built with
 * the WDK. The accessor macros are the WDK's C forms: lvalues where the
 * WDK's are, e.g.  NET_BUFFER_LIST_STATUS(nbl) = NDIS_STATUS_SUCCESS;
 *
 * Ownership (see also RULES.md OWN-1..OWN-7, NBL-1..NBL-4):
 *  - Descriptors come only from pools (NBL-2). Whoever allocated one owns
 *    it until it is sent or indicated; it comes back through completion.
 *  - Freeing a descriptor that is in flight, twice, or to the wrong pool is
 *    refused by condis with a warning (OWN-3); freeing a pool with
 *    descriptors out is refused (RES-2) and the pool stays usable.
 *  - Every routine here may be called at IRQL <= DISPATCH_LEVEL from any
 *    thread; none blocks.
 *
 * Windows names only; included through <ndis.h> after ndis/types.h,
 * ndis/status.h, ndis/object.h and ndis/mdl.h.
 */
#ifndef CONDIS_NDIS_NBL_H
#define CONDIS_NDIS_NBL_H

#include "types.h"
#include "mdl.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef MEMORY_ALLOCATION_ALIGNMENT
#define MEMORY_ALLOCATION_ALIGNMENT 16
#endif

#ifndef PtrToUlong
#define PtrToUlong(p) ((ULONG)(ULONG_PTR)(p))
#endif
#ifndef UlongToPtr
#define UlongToPtr(u) ((PVOID)(ULONG_PTR)(ULONG)(u))
#endif

typedef struct _NET_BUFFER NET_BUFFER, *PNET_BUFFER;
typedef struct _NET_BUFFER_LIST_CONTEXT NET_BUFFER_LIST_CONTEXT, *PNET_BUFFER_LIST_CONTEXT;
typedef struct _NET_BUFFER_LIST NET_BUFFER_LIST, *PNET_BUFFER_LIST;
struct _SCATTER_GATHER_LIST;

/* ---- out-of-band information slots (NetBufferListInfo) ------------------- */
typedef enum _NDIS_NET_BUFFER_LIST_INFO {
    TcpIpChecksumNetBufferListInfo,                                       /* 0 */
    TcpOffloadBytesTransferred = TcpIpChecksumNetBufferListInfo,
    IPsecOffloadV1NetBufferListInfo,                                      /* 1 */
    IPsecOffloadV2NetBufferListInfo = IPsecOffloadV1NetBufferListInfo,
    TcpLargeSendNetBufferListInfo,                                        /* 2 */
    TcpReceiveNoPush = TcpLargeSendNetBufferListInfo,
    ClassificationHandleNetBufferListInfo,                                /* 3 */
    Ieee8021QNetBufferListInfo,                                           /* 4 */
    NetBufferListCancelId,                                                /* 5 */
    MediaSpecificInformation,                                             /* 6 */
    NetBufferListFrameType,                                               /* 7 */
    NetBufferListProtocolId = NetBufferListFrameType,
    NetBufferListHashValue,                                               /* 8 */
    NetBufferListHashInfo,                                                /* 9 */
    WfpNetBufferListInfo,                                                 /* 10 */
    IPsecOffloadV2TunnelNetBufferListInfo,                                /* 11 */
    IPsecOffloadV2HeaderNetBufferListInfo,                                /* 12 */
    NetBufferListCorrelationId,                                           /* 13 */
    NetBufferListFilteringInfo,                                           /* 14 */
    MediaSpecificInformationEx,                                           /* 15 */
    NblOriginalInterfaceIfIndex,                                          /* 16 */
    NblReAuthWfpFlowContext = NblOriginalInterfaceIfIndex,
    TcpReceiveBytesTransferred,                                           /* 17 */
    NrtNameResolutionId = TcpReceiveBytesTransferred,
    UdpRecvSegCoalesceOffloadInfo = TcpReceiveBytesTransferred,
    SwitchForwardingReserved,                                             /* 18 */
    SwitchForwardingDetail,                                               /* 19 */
    VirtualSubnetInfo,                                                    /* 20 */
    IMReserved,                                                           /* 21 */
    TcpRecvSegCoalesceInfo,                                               /* 22 */
    UdpSegmentationOffloadInfo = TcpRecvSegCoalesceInfo,
    RscTcpTimestampDelta,                                                 /* 23 */
    TcpSendOffloadsSupplementalNetBufferListInfo = RscTcpTimestampDelta,
    GftOffloadInformation,                                                /* 24 */
    GftFlowEntryId,                                                       /* 25 */
    NetBufferListInfoReserved3,                                           /* 26 */
    MaxNetBufferListInfo                                                  /* 27 */
} NDIS_NET_BUFFER_LIST_INFO, *PNDIS_NET_BUFFER_LIST_INFO;

/* ---- NET_BUFFER ------------------------------------------------------------ */

/* Shared memory segments of a NET_BUFFER (NDIS 6.20 VM queues). */
typedef struct _NET_BUFFER_SHARED_MEMORY NET_BUFFER_SHARED_MEMORY, *PNET_BUFFER_SHARED_MEMORY;
struct _NET_BUFFER_SHARED_MEMORY {
    PNET_BUFFER_SHARED_MEMORY NextSharedMemorySegment;
    ULONG SharedMemoryFlags;
    NDIS_HANDLE SharedMemoryHandle;
    ULONG SharedMemoryOffset;
    ULONG SharedMemoryLength;
};

typedef union _NET_BUFFER_DATA_LENGTH {
    ULONG DataLength;
    SIZE_T stDataLength;
} NET_BUFFER_DATA_LENGTH, *PNET_BUFFER_DATA_LENGTH;

/* The data-describing head of a NET_BUFFER. The WDK names the length union
 * only for C++ (NbDataLength); in C its members are reached directly. */
typedef struct _NET_BUFFER_DATA {
    PNET_BUFFER Next;
    PMDL CurrentMdl;
    ULONG CurrentMdlOffset;
    union {
        ULONG DataLength;
        SIZE_T stDataLength;
    };
    PMDL MdlChain;
    ULONG DataOffset;
} NET_BUFFER_DATA, *PNET_BUFFER_DATA;

typedef union _NET_BUFFER_HEADER {
    struct {
        PNET_BUFFER Next;
        PMDL CurrentMdl;
        ULONG CurrentMdlOffset;
        union {
            ULONG DataLength;
            SIZE_T stDataLength;
        };
        PMDL MdlChain;
        ULONG DataOffset;
    };
    NET_BUFFER_DATA NetBufferData; /* the C++ spelling of the same fields */
    SLIST_HEADER Link;
} NET_BUFFER_HEADER, *PNET_BUFFER_HEADER;

struct _NET_BUFFER {
    union {
        struct {
            PNET_BUFFER Next;           /* next NB of the same NBL */
            PMDL CurrentMdl;            /* MDL holding the first used byte */
            ULONG CurrentMdlOffset;     /* offset of that byte in CurrentMdl */
            union {
                ULONG DataLength;       /* used data space, bytes */
                SIZE_T stDataLength;
            };
            PMDL MdlChain;              /* first MDL of the chain */
            ULONG DataOffset;           /* unused data space before the data */
        };
        SLIST_HEADER Link;
        NET_BUFFER_HEADER NetBufferHeader;
    };
    USHORT ChecksumBias;
    USHORT Reserved;
    NDIS_HANDLE NdisPoolHandle;
    DECLSPEC_ALIGN(MEMORY_ALLOCATION_ALIGNMENT) PVOID NdisReserved[2];
    DECLSPEC_ALIGN(MEMORY_ALLOCATION_ALIGNMENT) PVOID ProtocolReserved[6];
    DECLSPEC_ALIGN(MEMORY_ALLOCATION_ALIGNMENT) PVOID MiniportReserved[4];
    PHYSICAL_ADDRESS DataPhysicalAddress;
    union {
        PNET_BUFFER_SHARED_MEMORY SharedMemoryInfo;
        struct _SCATTER_GATHER_LIST *ScatterGatherList;
    };
};

/* ---- NET_BUFFER_LIST --------------------------------------------------------- */

/* Context space of an NBL: Size bytes of ContextData, of which the first
 * Offset bytes are unused (backfill) and the rest is in use. */
struct _NET_BUFFER_LIST_CONTEXT {
    PNET_BUFFER_LIST_CONTEXT Next;
    USHORT Size;
    USHORT Offset;
    DECLSPEC_ALIGN(MEMORY_ALLOCATION_ALIGNMENT) UCHAR ContextData[];
};

typedef struct _NET_BUFFER_LIST_DATA {
    PNET_BUFFER_LIST Next;       /* next NBL of the chain */
    PNET_BUFFER FirstNetBuffer;  /* first NB of this NBL */
} NET_BUFFER_LIST_DATA, *PNET_BUFFER_LIST_DATA;

typedef union _NET_BUFFER_LIST_HEADER {
    struct {
        PNET_BUFFER_LIST Next;
        PNET_BUFFER FirstNetBuffer;
    };
    NET_BUFFER_LIST_DATA NetBufferListData; /* the C++ spelling */
    SLIST_HEADER Link;
} NET_BUFFER_LIST_HEADER, *PNET_BUFFER_LIST_HEADER;

struct _NET_BUFFER_LIST {
    union {
        struct {
            PNET_BUFFER_LIST Next;       /* next NBL of the chain */
            PNET_BUFFER FirstNetBuffer;  /* first NB of this NBL */
        };
        SLIST_HEADER Link;
        NET_BUFFER_LIST_HEADER NetBufferListHeader;
    };
    PNET_BUFFER_LIST_CONTEXT Context;
    PNET_BUFFER_LIST ParentNetBufferList;
    NDIS_HANDLE NdisPoolHandle;
    DECLSPEC_ALIGN(MEMORY_ALLOCATION_ALIGNMENT) PVOID NdisReserved[2];
    DECLSPEC_ALIGN(MEMORY_ALLOCATION_ALIGNMENT) PVOID ProtocolReserved[4];
    DECLSPEC_ALIGN(MEMORY_ALLOCATION_ALIGNMENT) PVOID MiniportReserved[2];
    PVOID Scratch;
    NDIS_HANDLE SourceHandle;
    ULONG NblFlags;       /* NDIS_NBL_FLAGS_* */
    LONG ChildRefCount;
    ULONG Flags;          /* NBL_FLAGS_* ranges */
    union {
        NDIS_STATUS Status;
        ULONG NdisReserved2;
    };
    PVOID NetBufferListInfo[MaxNetBufferListInfo];
};

/* ---- flags ----------------------------------------------------------------- */

/* Who owns which bits of NET_BUFFER_LIST::Flags (NDIS 6.30 and later). */
#define NBL_FLAGS_PROTOCOL_RESERVED 0xFFF00003
#define NBL_FLAGS_MINIPORT_RESERVED 0x0000F000
#define NBL_FLAGS_SCRATCH 0x000F0000
#define NBL_FLAGS_NDIS_RESERVED 0x00000FFC

/* NET_BUFFER_LIST::NblFlags */
#define NDIS_NBL_FLAGS_SEND_READ_ONLY 0x00000001
#define NDIS_NBL_FLAGS_RECV_READ_ONLY 0x00000002
#define NDIS_NBL_FLAGS_HD_SPLIT 0x00000100
#define NDIS_NBL_FLAGS_IS_IPV4 0x00000200
#define NDIS_NBL_FLAGS_IS_IPV6 0x00000400
#define NDIS_NBL_FLAGS_IS_TCP 0x00000800
#define NDIS_NBL_FLAGS_IS_UDP 0x00001000
#define NDIS_NBL_FLAGS_SPLIT_AT_UPPER_LAYER_PROTOCOL_HEADER 0x00002000
#define NDIS_NBL_FLAGS_SPLIT_AT_UPPER_LAYER_PROTOCOL_PAYLOAD 0x00004000
#define NDIS_NBL_FLAGS_IS_LOOPBACK_PACKET 0x00008000
#define NDIS_NBL_FLAGS_CAPTURE_TIMESTAMP_ON_TRANSMIT 0x00010000

/* ---- NET_BUFFER accessors ----------------------------------------------------- */
#define NET_BUFFER_NEXT_NB(_NB) ((_NB)->Next)
#define NET_BUFFER_FIRST_MDL(_NB) ((_NB)->MdlChain)
#define NET_BUFFER_DATA_LENGTH(_NB) ((_NB)->DataLength)
#define NET_BUFFER_DATA_OFFSET(_NB) ((_NB)->DataOffset)
#define NET_BUFFER_CURRENT_MDL(_NB) ((_NB)->CurrentMdl)
#define NET_BUFFER_CURRENT_MDL_OFFSET(_NB) ((_NB)->CurrentMdlOffset)
#define NET_BUFFER_PROTOCOL_RESERVED(_NB) ((_NB)->ProtocolReserved)
#define NET_BUFFER_MINIPORT_RESERVED(_NB) ((_NB)->MiniportReserved)
#define NET_BUFFER_CHECKSUM_BIAS(_NB) ((_NB)->ChecksumBias)
#define NET_BUFFER_DATA_PHYSICAL_ADDRESS(_NB) ((_NB)->DataPhysicalAddress)
#define NET_BUFFER_FIRST_SHARED_MEM_INFO(_NB) ((_NB)->SharedMemoryInfo)
#define NET_BUFFER_SHARED_MEM_NEXT_SEGMENT(_SHI) ((_SHI)->NextSharedMemorySegment)
#define NET_BUFFER_SHARED_MEM_FLAGS(_SHI) ((_SHI)->SharedMemoryFlags)
#define NET_BUFFER_SHARED_MEM_HANDLE(_SHI) ((_SHI)->SharedMemoryHandle)
#define NET_BUFFER_SHARED_MEM_OFFSET(_SHI) ((_SHI)->SharedMemoryOffset)
#define NET_BUFFER_SHARED_MEM_LENGTH(_SHI) ((_SHI)->SharedMemoryLength)
#define NET_BUFFER_SCATTER_GATHER_LIST(_NB) ((_NB)->ScatterGatherList)

/* ---- NET_BUFFER_LIST accessors --------------------------------------------------- */
#define NET_BUFFER_LIST_NEXT_NBL(_NBL) ((_NBL)->Next)
#define NET_BUFFER_LIST_FIRST_NB(_NBL) ((_NBL)->FirstNetBuffer)
#define NET_BUFFER_LIST_FLAGS(_NBL) ((_NBL)->Flags)
#define NET_BUFFER_LIST_NBL_FLAGS(_NBL) ((_NBL)->NblFlags)
#define NET_BUFFER_LIST_PROTOCOL_RESERVED(_NBL) ((_NBL)->ProtocolReserved)
#define NET_BUFFER_LIST_MINIPORT_RESERVED(_NBL) ((_NBL)->MiniportReserved)
#define NET_BUFFER_LIST_STATUS(_NBL) ((_NBL)->Status)
#define NET_BUFFER_LIST_INFO(_NBL, _Id) ((_NBL)->NetBufferListInfo[(_Id)])

/* The used part of the first context block, and the block's whole size. */
#define NET_BUFFER_LIST_CONTEXT_DATA_START(_NBL) \
    ((PUCHAR)(((_NBL)->Context) + 1) + (_NBL)->Context->Offset)
#define NET_BUFFER_LIST_CONTEXT_DATA_SIZE(_NBL) (((_NBL)->Context)->Size)

#define NBL_TEST_FLAG(_NBL, _F) (((_NBL)->Flags & (_F)) != 0)
#define NBL_TEST_FLAGS(_NBL, _F) (((_NBL)->Flags & (_F)) == (_F))
#define NBL_SET_FLAG(_NBL, _F) ((_NBL)->Flags |= (_F))
#define NBL_CLEAR_FLAG(_NBL, _F) ((_NBL)->Flags &= ~(_F))

#define NBL_SET_PROTOCOL_RSVD_FLAG(_NBL, _F) \
    ((_NBL)->Flags |= ((_F) & NBL_FLAGS_PROTOCOL_RESERVED))
#define NBL_CLEAR_PROTOCOL_RSVD_FLAG(_NBL, _F) \
    ((_NBL)->Flags &= ~((_F) & NBL_FLAGS_PROTOCOL_RESERVED))
#define NBL_TEST_PROTOCOL_RSVD_FLAG(_NBL, _F) \
    (((_NBL)->Flags & ((_F) & NBL_FLAGS_PROTOCOL_RESERVED)) != 0)
#define NBL_PROT_RSVD_FLAGS NBL_FLAGS_PROTOCOL_RESERVED
#define NBL_SET_PROT_RSVD_FLAG(_NBL, _F) NBL_SET_PROTOCOL_RSVD_FLAG(_NBL, _F)
#define NBL_CLEAR_PROT_RSVD_FLAG(_NBL, _F) NBL_CLEAR_PROTOCOL_RSVD_FLAG(_NBL, _F)
#define NBL_TEST_PROT_RSVD_FLAG(_NBL, _F) NBL_TEST_PROTOCOL_RSVD_FLAG(_NBL, _F)

#define NdisTestNblFlag(_NBL, _F) (((_NBL)->NblFlags & (_F)) != 0)
#define NdisTestNblFlags(_NBL, _F) (((_NBL)->NblFlags & (_F)) == (_F))
#define NdisSetNblFlag(_NBL, _F) ((_NBL)->NblFlags |= (_F))
#define NdisClearNblFlag(_NBL, _F) ((_NBL)->NblFlags &= ~(_F))

#define NdisSetNetBufferListProtocolId(_NBL, _ProtocolId) \
    (*((PUCHAR)(&NET_BUFFER_LIST_INFO(_NBL, NetBufferListProtocolId))) = (_ProtocolId))

#define NDIS_GET_NET_BUFFER_LIST_CANCEL_ID(_NBL) \
    (NET_BUFFER_LIST_INFO(_NBL, NetBufferListCancelId))
#define NDIS_SET_NET_BUFFER_LIST_CANCEL_ID(_NBL, _CancelId) \
    (NET_BUFFER_LIST_INFO(_NBL, NetBufferListCancelId) = (_CancelId))

#define NDIS_GET_NET_BUFFER_LIST_IM_RESERVED(_NBL) \
    (NET_BUFFER_LIST_INFO(_NBL, IMReserved))
#define NDIS_SET_NET_BUFFER_LIST_IM_RESERVED(_NBL, _Val) \
    (NET_BUFFER_LIST_INFO(_NBL, IMReserved) = (_Val))

/* Protocol identifiers (NET_BUFFER_LIST_POOL_PARAMETERS::ProtocolId). */
#ifndef NDIS_PROTOCOL_ID_DEFAULT
#define NDIS_PROTOCOL_ID_DEFAULT 0x00
#define NDIS_PROTOCOL_ID_TCP_IP 0x02
#define NDIS_PROTOCOL_ID_IPX 0x06
#define NDIS_PROTOCOL_ID_NBF 0x07
#define NDIS_PROTOCOL_ID_MAX 0x0F
#define NDIS_PROTOCOL_ID_MASK 0x0F
#endif

/* ---- typed views of some info slots ------------------------------------------ */

/* Ieee8021QNetBufferListInfo: the 802.1Q tag, kept in the slot itself. */
typedef struct _NDIS_NET_BUFFER_LIST_8021Q_INFO {
    union {
        struct {
            UINT32 UserPriority : 3;
            UINT32 CanonicalFormatId : 1;
            UINT32 VlanId : 12;
            UINT32 Reserved : 16;
        } TagHeader;
        struct {
            UINT32 UserPriority : 3;
            UINT32 CanonicalFormatId : 1;
            UINT32 VlanId : 12;
            UINT32 WMMInfo : 4;
            UINT32 Reserved : 12;
        } WLanTagHeader;
        PVOID Value;
    };
} NDIS_NET_BUFFER_LIST_8021Q_INFO, *PNDIS_NET_BUFFER_LIST_8021Q_INFO;

#define NDIS_GET_NET_BUFFER_LIST_VLAN_ID(_NBL)                                 \
    (((NDIS_NET_BUFFER_LIST_8021Q_INFO *)&NET_BUFFER_LIST_INFO(                \
          (_NBL), Ieee8021QNetBufferListInfo))->TagHeader.VlanId)
#define NDIS_SET_NET_BUFFER_LIST_VLAN_ID(_NBL, _VlanId)                        \
    (((NDIS_NET_BUFFER_LIST_8021Q_INFO *)&NET_BUFFER_LIST_INFO(                \
          (_NBL), Ieee8021QNetBufferListInfo))->TagHeader.VlanId = (_VlanId))

/* MediaSpecificInformation: a list of tagged blocks. */
typedef struct _NDIS_NET_BUFFER_LIST_MEDIA_SPECIFIC_INFO {
    union {
        PVOID MediaSpecificInfo;
        PVOID NativeWifiSpecificInfo;
        PVOID Value;
    };
} NDIS_NET_BUFFER_LIST_MEDIA_SPECIFIC_INFO, *PNDIS_NET_BUFFER_LIST_MEDIA_SPECIFIC_INFO;

typedef struct _NDIS_NBL_MEDIA_MEDIA_SPECIFIC_INFORMATION NDIS_NBL_MEDIA_SPECIFIC_INFORMATION,
    *PNDIS_NBL_MEDIA_SPECIFIC_INFORMATION;
struct _NDIS_NBL_MEDIA_MEDIA_SPECIFIC_INFORMATION {
    PNDIS_NBL_MEDIA_SPECIFIC_INFORMATION NextEntry;
    ULONG Tag;
    DECLSPEC_ALIGN(MEMORY_ALLOCATION_ALIGNMENT) UCHAR Data[1];
};

/* Push _MediaSpecificInfo on the NBL's list. */
#define NDIS_NBL_ADD_MEDIA_SPECIFIC_INFO(_NBL, _MediaSpecificInfo)                    \
    do {                                                                              \
        (_MediaSpecificInfo)->NextEntry = (PNDIS_NBL_MEDIA_SPECIFIC_INFORMATION)      \
            NET_BUFFER_LIST_INFO((_NBL), MediaSpecificInformation);                   \
        NET_BUFFER_LIST_INFO((_NBL), MediaSpecificInformation) = (_MediaSpecificInfo); \
    } while (0)

/* Unlink the first entry with the tag of _MediaSpecificInfo. */
#define NDIS_NBL_REMOVE_MEDIA_SPECIFIC_INFO(_NBL, _MediaSpecificInfo)                 \
    do {                                                                              \
        PNDIS_NBL_MEDIA_SPECIFIC_INFORMATION *Link_ =                                 \
            (PNDIS_NBL_MEDIA_SPECIFIC_INFORMATION *)&NET_BUFFER_LIST_INFO(            \
                (_NBL), MediaSpecificInformation);                                    \
        while (*Link_ != NULL && (*Link_)->Tag != (_MediaSpecificInfo)->Tag)          \
            Link_ = &(*Link_)->NextEntry;                                             \
        if (*Link_ != NULL)                                                           \
            *Link_ = (*Link_)->NextEntry;                                             \
    } while (0)

/* Find the entry with tag _Tag, or NULL. */
#define NDIS_NBL_GET_MEDIA_SPECIFIC_INFO(_NBL, _Tag, _MediaSpecificInfo)              \
    do {                                                                              \
        PNDIS_NBL_MEDIA_SPECIFIC_INFORMATION Entry_ =                                 \
            (PNDIS_NBL_MEDIA_SPECIFIC_INFORMATION)NET_BUFFER_LIST_INFO(               \
                (_NBL), MediaSpecificInformation);                                    \
        while (Entry_ != NULL && Entry_->Tag != (ULONG)(_Tag))                        \
            Entry_ = Entry_->NextEntry;                                               \
        (_MediaSpecificInfo) = Entry_;                                                \
    } while (0)

/* TcpRecvSegCoalesceInfo: receive segment coalescing counters. */
typedef union _NDIS_RSC_NBL_INFO {
    struct {
        USHORT CoalescedSegCount;
        USHORT DupAckCount;
    } Info;
    PVOID Value;
} NDIS_RSC_NBL_INFO, *PNDIS_RSC_NBL_INFO;

#define NET_BUFFER_LIST_COALESCED_SEG_COUNT(_NBL)                              \
    (((PNDIS_RSC_NBL_INFO)&NET_BUFFER_LIST_INFO((_NBL), TcpRecvSegCoalesceInfo)) \
         ->Info.CoalescedSegCount)
#define NET_BUFFER_LIST_DUP_ACK_COUNT(_NBL)                                    \
    (((PNDIS_RSC_NBL_INFO)&NET_BUFFER_LIST_INFO((_NBL), TcpRecvSegCoalesceInfo)) \
         ->Info.DupAckCount)

/* NetBufferListHashValue / NetBufferListHashInfo (receive-side scaling). */
#ifndef NDIS_HASH_FUNCTION_MASK
#define NDIS_HASH_FUNCTION_MASK 0x000000FF
#define NDIS_HASH_TYPE_MASK 0x00FFFF00
#endif

static inline void NET_BUFFER_LIST_SET_HASH_TYPE(PNET_BUFFER_LIST _NBL, ULONG _HashType)
{
    NET_BUFFER_LIST_INFO(_NBL, NetBufferListHashInfo) = UlongToPtr(
        (PtrToUlong(NET_BUFFER_LIST_INFO(_NBL, NetBufferListHashInfo)) & ~NDIS_HASH_TYPE_MASK) |
        (_HashType & NDIS_HASH_TYPE_MASK));
}

static inline void NET_BUFFER_LIST_SET_HASH_FUNCTION(PNET_BUFFER_LIST _NBL, ULONG _HashFunction)
{
    NET_BUFFER_LIST_INFO(_NBL, NetBufferListHashInfo) = UlongToPtr(
        (PtrToUlong(NET_BUFFER_LIST_INFO(_NBL, NetBufferListHashInfo)) & ~NDIS_HASH_FUNCTION_MASK) |
        (_HashFunction & NDIS_HASH_FUNCTION_MASK));
}

#define NET_BUFFER_LIST_SET_HASH_VALUE(_NBL, _HashValue) \
    (NET_BUFFER_LIST_INFO(_NBL, NetBufferListHashValue) = UlongToPtr(_HashValue))
#define NET_BUFFER_LIST_GET_HASH_TYPE(_NBL) \
    (PtrToUlong(NET_BUFFER_LIST_INFO(_NBL, NetBufferListHashInfo)) & (NDIS_HASH_TYPE_MASK))
#define NET_BUFFER_LIST_GET_HASH_FUNCTION(_NBL) \
    (PtrToUlong(NET_BUFFER_LIST_INFO(_NBL, NetBufferListHashInfo)) & (NDIS_HASH_FUNCTION_MASK))
#define NET_BUFFER_LIST_GET_HASH_VALUE(_NBL) \
    (PtrToUlong(NET_BUFFER_LIST_INFO(_NBL, NetBufferListHashValue)))

/* ---- pools --------------------------------------------------------------------- */
#define NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1 1

typedef struct _NET_BUFFER_LIST_POOL_PARAMETERS {
    NDIS_OBJECT_HEADER Header; /* NDIS_OBJECT_TYPE_DEFAULT, REVISION_1, SIZEOF_..._REVISION_1 */
    UCHAR ProtocolId;          /* NDIS_PROTOCOL_ID_* */
    BOOLEAN fAllocateNetBuffer; /* each NBL comes with one NET_BUFFER */
    USHORT ContextSize;        /* preallocated context bytes per NBL, a
                                  multiple of MEMORY_ALLOCATION_ALIGNMENT */
    ULONG PoolTag;
    ULONG DataSize;            /* with fAllocateNetBuffer: an MDL and a data
                                  buffer of this size come with the NB */
} NET_BUFFER_LIST_POOL_PARAMETERS, *PNET_BUFFER_LIST_POOL_PARAMETERS;

#define NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1 \
    RTL_SIZEOF_THROUGH_FIELD(NET_BUFFER_LIST_POOL_PARAMETERS, DataSize)

#define NET_BUFFER_POOL_PARAMETERS_REVISION_1 1

typedef struct _NET_BUFFER_POOL_PARAMETERS {
    NDIS_OBJECT_HEADER Header; /* NDIS_OBJECT_TYPE_DEFAULT, REVISION_1, SIZEOF_..._REVISION_1 */
    ULONG PoolTag;
    ULONG DataSize;            /* for NdisAllocateNetBufferMdlAndData */
} NET_BUFFER_POOL_PARAMETERS, *PNET_BUFFER_POOL_PARAMETERS;

#define NDIS_SIZEOF_NET_BUFFER_POOL_PARAMETERS_REVISION_1 \
    RTL_SIZEOF_THROUGH_FIELD(NET_BUFFER_POOL_PARAMETERS, DataSize)

/*
 * Pools. NdisHandle is a live handle condis gave the caller (driver,
 * binding, adapter ...): the pool belongs to that handle's driver for the
 * leak report. NULL when NdisHandle is not live, the parameters are wrong
 * (header, DataSize without fAllocateNetBuffer) or memory is short.
 * Freeing a pool with descriptors out is refused with a warning (RES-2).
 */
NDIS_HANDLE NdisAllocateNetBufferListPool(NDIS_HANDLE NdisHandle,
                                          const NET_BUFFER_LIST_POOL_PARAMETERS *Parameters);
VOID NdisFreeNetBufferListPool(NDIS_HANDLE PoolHandle);
NDIS_HANDLE NdisAllocateNetBufferPool(NDIS_HANDLE NdisHandle,
                                      const NET_BUFFER_POOL_PARAMETERS *Parameters);
VOID NdisFreeNetBufferPool(NDIS_HANDLE PoolHandle);

NDIS_HANDLE NdisGetPoolFromNetBufferList(const NET_BUFFER_LIST *NetBufferList);
NDIS_HANDLE NdisGetPoolFromNetBuffer(const NET_BUFFER *NetBuffer);

/* ---- NET_BUFFER_LIST allocation --------------------------------------------------
 * On return the caller owns the NBL (and the NB, MDL and data that came with
 * it). Public fields are zero except NdisPoolHandle, Context (when context
 * space was asked for) and, for a pool made with fAllocateNetBuffer,
 * FirstNetBuffer. NULL on exhaustion or a bad pool handle.
 */
PNET_BUFFER_LIST NdisAllocateNetBufferList(NDIS_HANDLE PoolHandle, USHORT ContextSize,
                                           USHORT ContextBackFill);
/* Only from a pool made with fAllocateNetBuffer and DataSize 0: the NB is
 * initialized with MdlChain (may be NULL), DataOffset and DataLength. */
PNET_BUFFER_LIST NdisAllocateNetBufferAndNetBufferList(NDIS_HANDLE PoolHandle,
                                                       USHORT ContextSize,
                                                       USHORT ContextBackFill,
                                                       PMDL MdlChain, ULONG DataOffset,
                                                       SIZE_T DataLength);
/* Give an NBL back to its pool with the NB/MDL/data that came with it; NBs
 * the driver queued on it itself are not freed. Refused (warning) if the NBL
 * is in flight (sent or indicated and not yet completed/returned), already
 * free, or not from a pool. */
VOID NdisFreeNetBufferList(PNET_BUFFER_LIST NetBufferList);

/* ---- NET_BUFFER allocation --------------------------------------------------------- */
PNET_BUFFER NdisAllocateNetBuffer(NDIS_HANDLE PoolHandle, PMDL MdlChain, ULONG DataOffset,
                                  SIZE_T DataLength);
/* From a pool with DataSize > 0: an NB with its own MDL and DataSize bytes. */
PNET_BUFFER NdisAllocateNetBufferMdlAndData(NDIS_HANDLE PoolHandle);
VOID NdisFreeNetBuffer(PNET_BUFFER NetBuffer);

/* ---- context space ------------------------------------------------------------------ */
NDIS_STATUS NdisAllocateNetBufferListContext(PNET_BUFFER_LIST NetBufferList, USHORT ContextSize,
                                             USHORT ContextBackFill, ULONG PoolTag);
VOID NdisFreeNetBufferListContext(PNET_BUFFER_LIST NetBufferList, USHORT ContextSize);

/* ---- clones ------------------------------------------------------------------------ */
#define NDIS_CLONE_FLAGS_RESERVED 0x00000001
#define NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS 0x00000002

#define NDIS_TEST_CLONE_FLAG(_Flags, _Fl) (((_Flags) & (_Fl)) == (_Fl))
#define NDIS_SET_CLONE_FLAG(_Flags, _Fl) ((_Flags) |= (_Fl))
#define NDIS_CLEAR_CLONE_FLAG(_Flags, _Fl) ((_Flags) &= ~(_Fl))

/*
 * A clone describes the used data of every NB of the original without
 * copying it: either through the original MDLs or through new MDLs over the
 * same buffers. The pool handles are optional (condis' own pools are used
 * for NULL). The clone has no context. condis sets ParentNetBufferList to
 * the original; ChildRefCount is the caller's to keep. The original must
 * stay valid until the clone is freed with NdisFreeCloneNetBufferList.
 */
PNET_BUFFER_LIST NdisAllocateCloneNetBufferList(PNET_BUFFER_LIST OriginalNetBufferList,
                                                NDIS_HANDLE NetBufferListPoolHandle,
                                                NDIS_HANDLE NetBufferPoolHandle,
                                                ULONG AllocateCloneFlags);
VOID NdisFreeCloneNetBufferList(PNET_BUFFER_LIST CloneNetBufferList, ULONG FreeCloneFlags);

/* ---- data space ---------------------------------------------------------------------- */

/* Allocates an MDL and *BufferSize bytes for NdisRetreatNetBufferDataStart;
 * may raise *BufferSize to what it allocated. */
typedef PMDL(NET_BUFFER_ALLOCATE_MDL)(PULONG BufferSize);
typedef NET_BUFFER_ALLOCATE_MDL *NET_BUFFER_ALLOCATE_MDL_HANDLER;
/* Frees an MDL (and its memory) that a NET_BUFFER_ALLOCATE_MDL allocated. */
typedef VOID(NET_BUFFER_FREE_MDL)(PMDL Mdl);
typedef NET_BUFFER_FREE_MDL *NET_BUFFER_FREE_MDL_HANDLER;

/*
 * Make DataOffsetDelta more bytes in front of the data "used": from the
 * unused space when there is enough, else in a new MDL of DataOffsetDelta +
 * DataBackFill bytes (from AllocateMdlHandler, or condis' own) chained in
 * front. NDIS_STATUS_SUCCESS or NDIS_STATUS_RESOURCES.
 */
NDIS_STATUS NdisRetreatNetBufferDataStart(PNET_BUFFER NetBuffer, ULONG DataOffsetDelta,
                                          ULONG DataBackFill,
                                          NET_BUFFER_ALLOCATE_MDL_HANDLER AllocateMdlHandler);
/* Give back DataOffsetDelta bytes at the front. With FreeMdl, MDLs a
 * retreat allocated that become unused are freed (through FreeMdlHandler
 * for those its allocate handler made). */
VOID NdisAdvanceNetBufferDataStart(PNET_BUFFER NetBuffer, ULONG DataOffsetDelta, BOOLEAN FreeMdl,
                                   NET_BUFFER_FREE_MDL_HANDLER FreeMdlHandler);
/* The same for every NB of an NBL; all or nothing. */
NDIS_STATUS NdisRetreatNetBufferListDataStart(PNET_BUFFER_LIST NetBufferList,
                                              ULONG DataOffsetDelta, ULONG DataBackFill,
                                              NET_BUFFER_ALLOCATE_MDL_HANDLER AllocateMdlHandler,
                                              NET_BUFFER_FREE_MDL_HANDLER FreeMdlHandler);
VOID NdisAdvanceNetBufferListDataStart(PNET_BUFFER_LIST NetBufferList, ULONG DataOffsetDelta,
                                       BOOLEAN FreeMdl,
                                       NET_BUFFER_FREE_MDL_HANDLER FreeMdlMdlHandler);
/* Recompute CurrentMdl/CurrentMdlOffset from MdlChain and DataOffset. */
VOID NdisAdjustNetBufferCurrentMdl(PNET_BUFFER NetBuffer);

/*
 * The first BytesNeeded bytes of the data: a pointer into the MDL when they
 * are contiguous there and the address is AlignOffset modulo AlignMultiple
 * (a power of two), else a copy in Storage. NULL when Storage is NULL and a
 * copy would be needed, or when the NB holds fewer than BytesNeeded bytes.
 */
PVOID NdisGetDataBuffer(PNET_BUFFER NetBuffer, ULONG BytesNeeded, PVOID Storage,
                        UINT AlignMultiple, UINT AlignOffset);

/* Copy up to BytesToCopy bytes from Source's data (from SourceOffset past
 * its data start) into Destination's MDLs (from DestinationOffset past its
 * data start); stops early when the source data or the destination MDLs run
 * out, and *BytesCopied says how many. Destination's fields are not
 * changed. NDIS_STATUS_SUCCESS (NDIS_STATUS_FAILURE for NULL arguments). */
NDIS_STATUS NdisCopyFromNetBufferToNetBuffer(PNET_BUFFER Destination, ULONG DestinationOffset,
                                             ULONG BytesToCopy, const NET_BUFFER *Source,
                                             ULONG SourceOffset, PULONG BytesCopied);

/* Pages spanned by the data of an NB (what a scatter/gather list would need). */
ULONG NdisQueryNetBufferPhysicalCount(PNET_BUFFER NetBuffer);

#ifdef __cplusplus
}
#endif

#endif /* CONDIS_NDIS_NBL_H */
