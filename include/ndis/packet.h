/*
 * ndis/packet.h - NDIS 5.x packet descriptors (NDIS_PACKET), buffer
 * descriptors (NDIS_BUFFER, which is an MDL), their pools, the out-of-band
 * (OOB) block and per-packet information that follow every packet condis
 * allocates, and the macros legacy drivers use on them.
 *
 * Layouts, names and values are the WDK's. Which routines are macros and
 * which are functions follows the WDK's ndis.h for legacy (NDIS 5.x)
 * drivers; NdisQueryPacket is an inline function there and here. The
 * statement macros expand to do { } while (0) where the WDK uses a bare
 * block, so they also work between if and else.
 *
 * These names do not clash with NDIS 6, so they are visible whether or not
 * a driver defines NDIS50 or NDIS51.
 *
 * A packet from NdisAllocatePacket is, in memory: the NDIS_PACKET, then
 * ProtocolReservedLength bytes of ProtocolReserved, then (at
 * Private.NdisPacketOobOffset) the NDIS_PACKET_OOB_DATA block, then the
 * NDIS_PACKET_EXTENSION. condis keeps its own bookkeeping outside all of
 * these. Private belongs to condis (NDIS); drivers use the macros below.
 *
 * Windows names only; included through <ndis.h> after ndis/mdl.h.
 */
#ifndef CONDIS_NDIS_PACKET_H
#define CONDIS_NDIS_PACKET_H

#include "types.h"
#include "status.h"
#include "object.h"
#include "mdl.h"

#ifdef __cplusplus
extern "C" {
#endif

/* NDIS_BUFFER / PNDIS_BUFFER are defined by ndis/mdl.h (an MDL). */

/* The pool a packet came from. In the WDK it is an NDIS_HANDLE; condis
 * stores the packet pool's handle in Private.Pool. */
typedef NDIS_HANDLE PNDIS_PACKET_POOL;

/* ---- the NDIS-private part of a packet ------------------------------------------ */
typedef struct _NDIS_PACKET_PRIVATE {
    UINT PhysicalCount;         /* pages spanned by the chain (valid with ValidCounts) */
    UINT TotalLength;           /* bytes in the chain (valid with ValidCounts) */
    PNDIS_BUFFER Head;          /* first buffer descriptor; NULL: the chain is empty */
    PNDIS_BUFFER Tail;          /* last one; meaningful only while Head is not NULL */
    PNDIS_PACKET_POOL Pool;     /* the pool it goes back to */
    UINT Count;                 /* buffer descriptors (valid with ValidCounts) */
    ULONG Flags;                /* NDIS_FLAGS_* */
    BOOLEAN ValidCounts;        /* FALSE: the counts above must be recalculated */
    UCHAR NdisPacketFlags;      /* fPACKET_* */
    USHORT NdisPacketOobOffset; /* bytes from the packet to its OOB block */
} NDIS_PACKET_PRIVATE, *PNDIS_PACKET_PRIVATE;

/* Private.Flags */
#define NDIS_FLAGS_PROTOCOL_ID_MASK 0x0000000F /* the NDIS_PROTOCOL_ID_* of the packet */
#define NDIS_FLAGS_MULTICAST_PACKET 0x00000010
#define NDIS_FLAGS_RESERVED2 0x00000020
#define NDIS_FLAGS_RESERVED3 0x00000040
#define NDIS_FLAGS_DONT_LOOPBACK 0x00000080
#define NDIS_FLAGS_IS_LOOPBACK_PACKET 0x00000100
#define NDIS_FLAGS_LOOPBACK_ONLY 0x00000200
#define NDIS_FLAGS_RESERVED4 0x00000400
#define NDIS_FLAGS_DOUBLE_BUFFERED 0x00000800
#define NDIS_FLAGS_SENT_AT_DPC 0x00001000
#define NDIS_FLAGS_USES_SG_BUFFER_LIST 0x00002000
#define NDIS_FLAGS_USES_ORIGINAL_PACKET 0x00004000
#define NDIS_FLAGS_ALLOCATED_XFER_DATA_PKT 0x00008000
#define NDIS_FLAGS_PADDED 0x00010000

/* Private.NdisPacketFlags; the low six bits are NDIS' own. */
#define fPACKET_WRAPPER_RESERVED 0x3F
#define fPACKET_CONTAINS_MEDIA_SPECIFIC_INFO 0x40
#define fPACKET_ALLOCATED_BY_NDIS 0x80

/* ProtocolReservedLength for packets used in receive indications. */
#define PROTOCOL_RESERVED_SIZE_IN_PACKET (4 * sizeof(PVOID))

/* ---- media-specific information ---------------------------------------------------- */
typedef enum _NDIS_CLASS_ID {
    NdisClass802_3Priority,
    NdisClassWirelessWanMbxMailbox,
    NdisClassIrdaPacketInfo,
    NdisClassAtmAALInfo
} NDIS_CLASS_ID;

typedef struct _MEDIA_SPECIFIC_INFORMATION {
    UINT NextEntryOffset;
    NDIS_CLASS_ID ClassId;
    UINT Size;
    UCHAR ClassInformation[1];
} MEDIA_SPECIFIC_INFORMATION, *PMEDIA_SPECIFIC_INFORMATION;

/* ---- the out-of-band block ------------------------------------------------------------ */
typedef struct _NDIS_PACKET_OOB_DATA {
    union {
        ULONGLONG TimeToSend; /* sends */
        ULONGLONG TimeSent;   /* receives */
    };
    ULONGLONG TimeReceived;
    UINT HeaderSize;
    UINT SizeMediaSpecificInfo;
    PVOID MediaSpecificInformation;
    NDIS_STATUS Status;
} NDIS_PACKET_OOB_DATA, *PNDIS_PACKET_OOB_DATA;

/* ---- the packet descriptor ------------------------------------------------------------
 * The tag is declared under the guard that ndis/ndis5.h shares, so that
 * either header may come first. */
#ifndef CONDIS_NDIS_PACKET_DECLARED
#define CONDIS_NDIS_PACKET_DECLARED
typedef struct _NDIS_PACKET NDIS_PACKET, *PNDIS_PACKET, **PPNDIS_PACKET;
#endif

struct _NDIS_PACKET {
    NDIS_PACKET_PRIVATE Private;
    union {
        struct { /* connectionless miniports */
            UCHAR MiniportReserved[2 * sizeof(PVOID)];
            UCHAR WrapperReserved[2 * sizeof(PVOID)];
        };
        struct { /* deserialized and connection-oriented miniports */
            UCHAR MiniportReservedEx[3 * sizeof(PVOID)];
            UCHAR WrapperReservedEx[sizeof(PVOID)];
        };
        struct {
            UCHAR MacReserved[4 * sizeof(PVOID)];
        };
    };
    ULONG_PTR Reserved[2];
    UCHAR ProtocolReserved[1]; /* really the pool's ProtocolReservedLength bytes */
};

/* ---- per-packet information ---------------------------------------------------------
 * The NDIS 5.1 (Windows XP DDK) set. The Vista WDK adds OriginalNetBufferList,
 * CachedNetBufferList and ShortPacketPaddingInfo before MaxPerPacketInfo for
 * NDIS' own 5.x-to-6.x translation; they are left out here because no 5.x
 * driver uses them and OriginalNetBufferList would collide with the NDIS 6
 * parameter of that name. */
typedef enum _NDIS_PER_PACKET_INFO {
    TcpIpChecksumPacketInfo,
    IpSecPacketInfo,
    TcpLargeSendPacketInfo,
    ClassificationHandlePacketInfo,
    NdisReserved,
    ScatterGatherListPacketInfo,
    Ieee8021QInfo,
    OriginalPacketInfo,
    PacketCancelId,
    MaxPerPacketInfo
} NDIS_PER_PACKET_INFO, *PNDIS_PER_PACKET_INFO;

/* The old name of Ieee8021QInfo. */
#define Ieee8021pPriority Ieee8021QInfo
typedef UINT IEEE8021PPRIORITY;

typedef struct _NDIS_PACKET_EXTENSION {
    PVOID NdisPacketInfo[MaxPerPacketInfo];
} NDIS_PACKET_EXTENSION, *PNDIS_PACKET_EXTENSION;

typedef struct _NDIS_PACKET_STACK {
    ULONG_PTR IMReserved[2];
    ULONG_PTR NdisReserved[4];
} NDIS_PACKET_STACK, *PNDIS_PACKET_STACK;

/* Typed views of some per-packet slots. */
typedef struct _NDIS_TCP_IP_CHECKSUM_PACKET_INFO {
    union {
        struct {
            ULONG NdisPacketChecksumV4 : 1;
            ULONG NdisPacketChecksumV6 : 1;
            ULONG NdisPacketTcpChecksum : 1;
            ULONG NdisPacketUdpChecksum : 1;
            ULONG NdisPacketIpChecksum : 1;
        } Transmit;
        struct {
            ULONG NdisPacketTcpChecksumFailed : 1;
            ULONG NdisPacketUdpChecksumFailed : 1;
            ULONG NdisPacketIpChecksumFailed : 1;
            ULONG NdisPacketTcpChecksumSucceeded : 1;
            ULONG NdisPacketUdpChecksumSucceeded : 1;
            ULONG NdisPacketIpChecksumSucceeded : 1;
            ULONG NdisPacketLoopback : 1;
        } Receive;
        ULONG Value;
    };
} NDIS_TCP_IP_CHECKSUM_PACKET_INFO, *PNDIS_TCP_IP_CHECKSUM_PACKET_INFO;

typedef struct _NDIS_PACKET_8021Q_INFO {
    union {
        struct {
            UINT32 UserPriority : 3;
            UINT32 CanonicalFormatId : 1;
            UINT32 VlanId : 12;
            UINT32 Reserved : 16;
        } TagHeader;
        PVOID Value;
    };
} NDIS_PACKET_8021Q_INFO, *PNDIS_PACKET_8021Q_INFO;

/* ---- OOB and per-packet accessors ------------------------------------------------------ */
#define NDIS_OOB_DATA_FROM_PACKET(_p) \
    ((PNDIS_PACKET_OOB_DATA)((PUCHAR)(_p) + (_p)->Private.NdisPacketOobOffset))

#define NDIS_GET_PACKET_PROTOCOL_TYPE(_Packet_) \
    ((_Packet_)->Private.Flags & NDIS_PROTOCOL_ID_MASK)

#define NDIS_GET_PACKET_HEADER_SIZE(_Packet) (NDIS_OOB_DATA_FROM_PACKET(_Packet)->HeaderSize)
#define NDIS_GET_PACKET_STATUS(_Packet) (NDIS_OOB_DATA_FROM_PACKET(_Packet)->Status)
#define NDIS_GET_PACKET_TIME_TO_SEND(_Packet) (NDIS_OOB_DATA_FROM_PACKET(_Packet)->TimeToSend)
#define NDIS_GET_PACKET_TIME_SENT(_Packet) (NDIS_OOB_DATA_FROM_PACKET(_Packet)->TimeSent)
#define NDIS_GET_PACKET_TIME_RECEIVED(_Packet) (NDIS_OOB_DATA_FROM_PACKET(_Packet)->TimeReceived)

#define NDIS_SET_PACKET_HEADER_SIZE(_Packet, _HdrSize) \
    (NDIS_OOB_DATA_FROM_PACKET(_Packet)->HeaderSize = (_HdrSize))
#define NDIS_SET_PACKET_STATUS(_Packet, _Status) \
    (NDIS_OOB_DATA_FROM_PACKET(_Packet)->Status = (_Status))
#define NDIS_SET_PACKET_TIME_TO_SEND(_Packet, _TimeToSend) \
    (NDIS_OOB_DATA_FROM_PACKET(_Packet)->TimeToSend = (_TimeToSend))
#define NDIS_SET_PACKET_TIME_SENT(_Packet, _TimeSent) \
    (NDIS_OOB_DATA_FROM_PACKET(_Packet)->TimeSent = (_TimeSent))
#define NDIS_SET_PACKET_TIME_RECEIVED(_Packet, _TimeReceived) \
    (NDIS_OOB_DATA_FROM_PACKET(_Packet)->TimeReceived = (_TimeReceived))

/* Media-specific information is kept only on packets NDIS (condis)
 * allocated: on any other packet the setter does nothing and the getter
 * reports none, as on Windows. */
#define NDIS_GET_PACKET_MEDIA_SPECIFIC_INFO(_Packet, _pMediaSpecificInfo,              \
                                            _pSizeMediaSpecificInfo)                   \
    do {                                                                               \
        PNDIS_PACKET MsiPkt_ = (_Packet);                                              \
        if (!(MsiPkt_->Private.NdisPacketFlags & fPACKET_ALLOCATED_BY_NDIS) ||         \
            !(MsiPkt_->Private.NdisPacketFlags & fPACKET_CONTAINS_MEDIA_SPECIFIC_INFO)) { \
            *(_pMediaSpecificInfo) = NULL;                                             \
            *(_pSizeMediaSpecificInfo) = 0;                                            \
        } else {                                                                       \
            *(_pMediaSpecificInfo) =                                                   \
                NDIS_OOB_DATA_FROM_PACKET(MsiPkt_)->MediaSpecificInformation;          \
            *(_pSizeMediaSpecificInfo) =                                               \
                NDIS_OOB_DATA_FROM_PACKET(MsiPkt_)->SizeMediaSpecificInfo;             \
        }                                                                              \
    } while (0)

#define NDIS_SET_PACKET_MEDIA_SPECIFIC_INFO(_Packet, _MediaSpecificInfo,               \
                                            _SizeMediaSpecificInfo)                    \
    do {                                                                               \
        PNDIS_PACKET MsiPkt_ = (_Packet);                                              \
        if (MsiPkt_->Private.NdisPacketFlags & fPACKET_ALLOCATED_BY_NDIS) {            \
            MsiPkt_->Private.NdisPacketFlags |= fPACKET_CONTAINS_MEDIA_SPECIFIC_INFO;  \
            NDIS_OOB_DATA_FROM_PACKET(MsiPkt_)->MediaSpecificInformation =             \
                (_MediaSpecificInfo);                                                  \
            NDIS_OOB_DATA_FROM_PACKET(MsiPkt_)->SizeMediaSpecificInfo =                \
                (_SizeMediaSpecificInfo);                                              \
        }                                                                              \
    } while (0)

#define NDIS_PACKET_EXTENSION_FROM_PACKET(_P)                                          \
    ((PNDIS_PACKET_EXTENSION)((PUCHAR)(_P) + (_P)->Private.NdisPacketOobOffset +       \
                              sizeof(NDIS_PACKET_OOB_DATA)))
#define NDIS_PER_PACKET_INFO_FROM_PACKET(_P, _Id) \
    (NDIS_PACKET_EXTENSION_FROM_PACKET(_P)->NdisPacketInfo[(_Id)])
#define NDIS_GET_ORIGINAL_PACKET(_P) NDIS_PER_PACKET_INFO_FROM_PACKET(_P, OriginalPacketInfo)
#define NDIS_SET_ORIGINAL_PACKET(_P, _OP) \
    (NDIS_PER_PACKET_INFO_FROM_PACKET(_P, OriginalPacketInfo) = (_OP))
#define NDIS_GET_PACKET_CANCEL_ID(_P) NDIS_PER_PACKET_INFO_FROM_PACKET(_P, PacketCancelId)
#define NDIS_SET_PACKET_CANCEL_ID(_P, _cId) \
    (NDIS_PER_PACKET_INFO_FROM_PACKET(_P, PacketCancelId) = (_cId))
#define NdisSetPacketCancelId(_Packet, _CancelId) NDIS_SET_PACKET_CANCEL_ID(_Packet, _CancelId)
#define NdisGetPacketCancelId(_Packet) NDIS_GET_PACKET_CANCEL_ID(_Packet)

/* ---- packet flags and chain ends ----------------------------------------------------- */
#define NdisGetPacketFlags(_Packet) ((_Packet)->Private.Flags)
#define NdisSetPacketFlags(_Packet, _Flags) ((_Packet)->Private.Flags |= (_Flags))
#define NdisClearPacketFlags(_Packet, _Flags) ((_Packet)->Private.Flags &= ~(_Flags))
#define NdisSetSendFlags(_Packet, _Flags) ((_Packet)->Private.Flags = (_Flags))
#define NdisQuerySendFlags(_Packet, _Flags) (*(_Flags) = (_Packet)->Private.Flags)

#define NDIS_PACKET_FIRST_NDIS_BUFFER(_Packet) ((_Packet)->Private.Head)
#define NDIS_PACKET_LAST_NDIS_BUFFER(_Packet) ((_Packet)->Private.Tail)
#define NDIS_PACKET_VALID_COUNTS(_Packet) ((_Packet)->Private.ValidCounts)

/* ---- buffer descriptors ------------------------------------------------------------------ */
#define NDIS_BUFFER_LINKAGE(Buffer) ((Buffer)->Next)

#define NDIS_BUFFER_TO_SPAN_PAGES(_Buffer)                                             \
    (MmGetMdlByteCount(_Buffer) == 0                                                   \
         ? 1                                                                           \
         : (ADDRESS_AND_SIZE_TO_SPAN_PAGES(MmGetMdlVirtualAddress(_Buffer),            \
                                           MmGetMdlByteCount(_Buffer))))

#define NdisGetBufferPhysicalArraySize(Buffer, ArraySize) \
    (*(ArraySize) = NDIS_BUFFER_TO_SPAN_PAGES(Buffer))

#define NdisBufferLength(Buffer) MmGetMdlByteCount(Buffer)
#define NdisBufferVirtualAddress(_Buffer) MmGetSystemAddressForMdl(_Buffer)
#define NdisBufferVirtualAddressSafe(_Buffer, _Priority) \
    MmGetSystemAddressForMdlSafe((_Buffer), (_Priority))

/* VirtualAddress may be NULL (only the length is wanted). */
#define NdisQueryBuffer(_Buffer, _VirtualAddress, _Length)                             \
    do {                                                                               \
        if (ARGUMENT_PRESENT(_VirtualAddress)) {                                       \
            *(PVOID *)(_VirtualAddress) = MmGetSystemAddressForMdl(_Buffer);           \
        }                                                                              \
        *(_Length) = MmGetMdlByteCount(_Buffer);                                       \
    } while (0)

#define NdisQueryBufferSafe(_Buffer, _VirtualAddress, _Length, _Priority)              \
    do {                                                                               \
        if (ARGUMENT_PRESENT(_VirtualAddress)) {                                       \
            *(PVOID *)(_VirtualAddress) =                                              \
                MmGetSystemAddressForMdlSafe((_Buffer), (_Priority));                  \
        }                                                                              \
        *(_Length) = MmGetMdlByteCount(_Buffer);                                       \
    } while (0)

#define NdisQueryBufferOffset(_Buffer, _Offset, _Length)                               \
    do {                                                                               \
        *(_Offset) = MmGetMdlByteOffset(_Buffer);                                      \
        *(_Length) = MmGetMdlByteCount(_Buffer);                                       \
    } while (0)

#define NdisGetNextBuffer(CurrentBuffer, NextBuffer) \
    do {                                             \
        *(NextBuffer) = (CurrentBuffer)->Next;       \
    } while (0)

/* The length only: the descriptor must still describe memory that exists. */
#define NdisAdjustBufferLength(Buffer, Length) (((Buffer)->ByteCount) = (Length))

/* ---- chains ------------------------------------------------------------------------------ */

/* Drop the chain and mark the counts stale; nothing else. The buffer
 * descriptors still chained are lost to the packet: unchain every one you
 * want to keep first (PKT-1). A macro in the WDK; a function here, so that
 * the verifier can check it - source that calls it compiles the same. */
VOID NdisReinitializePacket(PNDIS_PACKET Packet);

/* After the driver relinked the chain by hand: find the tail again and
 * mark the counts stale. */
#define NdisRecalculatePacketCounts(Packet)                        \
    do {                                                           \
        PNDIS_BUFFER RcBuf_ = (Packet)->Private.Head;              \
        if (RcBuf_ != NULL) {                                      \
            while (RcBuf_->Next != NULL)                           \
                RcBuf_ = RcBuf_->Next;                             \
            (Packet)->Private.Tail = RcBuf_;                       \
        }                                                          \
        (Packet)->Private.ValidCounts = FALSE;                     \
    } while (0)

/* Buffer may itself be a chain; all of it goes in front. */
#define NdisChainBufferAtFront(Packet, Buffer)                     \
    do {                                                           \
        PNDIS_BUFFER CfBuf_ = (Buffer);                            \
        while (CfBuf_->Next != NULL)                               \
            CfBuf_ = CfBuf_->Next;                                 \
        if ((Packet)->Private.Head == NULL)                        \
            (Packet)->Private.Tail = CfBuf_;                       \
        CfBuf_->Next = (Packet)->Private.Head;                     \
        (Packet)->Private.Head = (Buffer);                         \
        (Packet)->Private.ValidCounts = FALSE;                     \
    } while (0)

#define NdisChainBufferAtBack(Packet, Buffer)                      \
    do {                                                           \
        PNDIS_BUFFER CbBuf_ = (Buffer);                            \
        while (CbBuf_->Next != NULL)                               \
            CbBuf_ = CbBuf_->Next;                                 \
        if ((Packet)->Private.Head != NULL)                        \
            (Packet)->Private.Tail->Next = (Buffer);               \
        else                                                       \
            (Packet)->Private.Head = (Buffer);                     \
        (Packet)->Private.Tail = CbBuf_;                           \
        (Packet)->Private.ValidCounts = FALSE;                     \
    } while (0)

/* Take the first (last) buffer descriptor off the chain; *Buffer is NULL
 * when the chain is empty (Head NULL, whatever Tail says). The descriptor
 * comes back with Next NULL. Any IRQL <= DISPATCH_LEVEL. */
VOID NdisUnchainBufferAtFront(PNDIS_PACKET Packet, PNDIS_BUFFER *Buffer);
VOID NdisUnchainBufferAtBack(PNDIS_PACKET Packet, PNDIS_BUFFER *Buffer);

/* Any out-parameter may be NULL. Recalculates the counts when they are
 * stale (ValidCounts FALSE) and one of them is asked for. */
static FORCEINLINE VOID NdisQueryPacket(PNDIS_PACKET _Packet, PUINT _PhysicalBufferCount,
                                        PUINT _BufferCount, PNDIS_BUFFER *_FirstBuffer,
                                        PUINT _TotalPacketLength)
{
    if (_FirstBuffer != NULL)
        *_FirstBuffer = _Packet->Private.Head;
    if (_TotalPacketLength == NULL && _BufferCount == NULL && _PhysicalBufferCount == NULL)
        return;
    if (!_Packet->Private.ValidCounts) {
        UINT Total = 0, Pages = 0, Count = 0;
        for (PNDIS_BUFFER B = _Packet->Private.Head; B != NULL; B = B->Next) {
            Total += MmGetMdlByteCount(B);
            Pages += (UINT)NDIS_BUFFER_TO_SPAN_PAGES(B);
            Count++;
        }
        _Packet->Private.Count = Count;
        _Packet->Private.TotalLength = Total;
        _Packet->Private.PhysicalCount = Pages;
        _Packet->Private.ValidCounts = TRUE;
    }
    if (_PhysicalBufferCount != NULL)
        *_PhysicalBufferCount = _Packet->Private.PhysicalCount;
    if (_BufferCount != NULL)
        *_BufferCount = _Packet->Private.Count;
    if (_TotalPacketLength != NULL)
        *_TotalPacketLength = _Packet->Private.TotalLength;
}

#define NdisQueryPacketLength(_Packet, _TotalPacketLength)                          \
    do {                                                                            \
        if (!(_Packet)->Private.ValidCounts)                                        \
            NdisQueryPacket((_Packet), NULL, NULL, NULL, (_TotalPacketLength));     \
        else                                                                        \
            *(_TotalPacketLength) = (_Packet)->Private.TotalLength;                 \
    } while (0)

/* The first buffer descriptor, its address and length, and the length of
 * the whole chain (all 0/NULL for an empty chain). */
#define NdisGetFirstBufferFromPacket(_Packet, _FirstBuffer, _FirstBufferVA,            \
                                     _FirstBufferLength, _TotalBufferLength)           \
    NdisGetFirstBufferFromPacketSafe(_Packet, _FirstBuffer, _FirstBufferVA,            \
                                     _FirstBufferLength, _TotalBufferLength,           \
                                     NormalPagePriority)

#define NdisGetFirstBufferFromPacketSafe(_Packet, _FirstBuffer, _FirstBufferVA,        \
                                         _FirstBufferLength, _TotalBufferLength,       \
                                         _Priority)                                    \
    do {                                                                               \
        PNDIS_BUFFER FbBuf_ = (_Packet)->Private.Head;                                 \
        *(_FirstBuffer) = FbBuf_;                                                      \
        if (FbBuf_ != NULL) {                                                          \
            *(_FirstBufferVA) = MmGetSystemAddressForMdlSafe(FbBuf_, (_Priority));     \
            *(_FirstBufferLength) = *(_TotalBufferLength) = MmGetMdlByteCount(FbBuf_); \
            for (FbBuf_ = FbBuf_->Next; FbBuf_ != NULL; FbBuf_ = FbBuf_->Next)         \
                *(_TotalBufferLength) += MmGetMdlByteCount(FbBuf_);                    \
        } else {                                                                       \
            *(_FirstBufferVA) = 0;                                                     \
            *(_FirstBufferLength) = 0;                                                 \
            *(_TotalBufferLength) = 0;                                                 \
        }                                                                              \
    } while (0)

/* ---- packet pools and packets ------------------------------------------------------------
 * A pool has NumberOfDescriptors packets (at most 0xFFFF; more is refused
 * with NDIS_STATUS_RESOURCES), plus for the Ex form NumberOfOverflowDescriptors
 * more once those are out (the sum is capped at 0xFFFF). Each packet has
 * ProtocolReservedLength bytes of ProtocolReserved. The pool belongs to the
 * driver whose code is running. IRQL <= DISPATCH_LEVEL.
 */
VOID NdisAllocatePacketPool(PNDIS_STATUS Status, PNDIS_HANDLE PoolHandle,
                            UINT NumberOfDescriptors, UINT ProtocolReservedLength);
VOID NdisAllocatePacketPoolEx(PNDIS_STATUS Status, PNDIS_HANDLE PoolHandle,
                              UINT NumberOfDescriptors, UINT NumberOfOverflowDescriptors,
                              UINT ProtocolReservedLength);
/* Refused (with a warning; the pool stays usable) while packets are out. */
VOID NdisFreePacketPool(NDIS_HANDLE PoolHandle);
/* Packets currently allocated from the pool. */
UINT NdisPacketPoolUsage(NDIS_HANDLE PoolHandle);
/* Bytes of a packet descriptor with that much ProtocolReserved space. */
UINT NdisPacketSize(UINT ProtocolReservedSize);
/* Packets allocated from the pool from now on carry ProtocolId in the low
 * bits of Private.Flags. */
VOID NdisSetPacketPoolProtocolId(NDIS_HANDLE PacketPoolHandle, UINT ProtocolId);
NDIS_HANDLE NdisGetPoolFromPacket(PNDIS_PACKET Packet);

/* A fresh packet: empty chain, OOB block and per-packet information zeroed,
 * fPACKET_ALLOCATED_BY_NDIS set. NDIS_STATUS_RESOURCES and *Packet NULL
 * when the pool is exhausted. The Dpr form is for callers at DISPATCH_LEVEL. */
VOID NdisAllocatePacket(PNDIS_STATUS Status, PNDIS_PACKET *Packet, NDIS_HANDLE PoolHandle);
VOID NdisDprAllocatePacket(PNDIS_STATUS Status, PNDIS_PACKET *Packet, NDIS_HANDLE PoolHandle);
VOID NdisDprAllocatePacketNonInterlocked(PNDIS_STATUS Status, PNDIS_PACKET *Packet,
                                         NDIS_HANDLE PoolHandle);
/* Give a packet back. Buffer descriptors still chained are not freed (they
 * belong to their own pools). Refused while the packet is in flight
 * (OWN-3), and for a packet already free. */
VOID NdisFreePacket(PNDIS_PACKET Packet);
VOID NdisDprFreePacket(PNDIS_PACKET Packet);
VOID NdisDprFreePacketNonInterlocked(PNDIS_PACKET Packet);

/* ---- buffer pools and buffer descriptors --------------------------------------------------
 * A buffer pool has NumberOfDescriptors buffer descriptors; past them
 * NdisAllocateBuffer and NdisCopyBuffer return NDIS_STATUS_RESOURCES. The
 * pool belongs to the driver whose code is running. IRQL <= DISPATCH_LEVEL.
 */
VOID NdisAllocateBufferPool(PNDIS_STATUS Status, PNDIS_HANDLE PoolHandle,
                            UINT NumberOfDescriptors);
/* Refused (with a warning; the pool stays usable) while descriptors are out. */
VOID NdisFreeBufferPool(NDIS_HANDLE PoolHandle);
/* A buffer descriptor for Length bytes at VirtualAddress (the memory stays
 * the caller's). */
VOID NdisAllocateBuffer(PNDIS_STATUS Status, PNDIS_BUFFER *Buffer, NDIS_HANDLE PoolHandle,
                        PVOID VirtualAddress, UINT Length);
/* Free a descriptor from NdisAllocateBuffer/NdisCopyBuffer (an MDL from
 * IoAllocateMdl is passed on to IoFreeMdl, as the WDK's macro does). */
VOID NdisFreeBuffer(PNDIS_BUFFER Buffer);
/* A new descriptor for Length bytes at Offset into the memory that the
 * descriptor MemoryDescriptor maps (a partial view; nothing is copied). */
VOID NdisCopyBuffer(PNDIS_STATUS Status, PNDIS_BUFFER *Buffer, NDIS_HANDLE PoolHandle,
                    PVOID MemoryDescriptor, UINT Offset, UINT Length);

#ifdef __cplusplus
}
#endif

#endif /* CONDIS_NDIS_PACKET_H */
