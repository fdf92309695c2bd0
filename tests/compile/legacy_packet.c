/*
 * legacy_packet.c - NDIS 5.1 driver-style source (NDIS51 defined before
 * <ndis.h>, as legacy drivers do) that uses every packet and buffer macro
 * and routine of <ndis/packet.h>. It must compile warning-free in plain
 * C11 with gcc and clang (-Werror); it is compiled, not run.
 */
#define NDIS51 1
#include <ndis.h>

typedef struct _LEG_RSVD {
    PVOID Context;
    ULONG Sequence;
} LEG_RSVD, *PLEG_RSVD;

#define LEG_RSVD_FROM_PACKET(_P) ((PLEG_RSVD)((_P)->ProtocolReserved))

static NDIS_HANDLE LegPacketPool, LegBufferPool;
static UCHAR LegData[256];
static UCHAR LegMsi[16];

VOID LegSendComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolVcContext, PNDIS_PACKET Packet);
NDIS_STATUS LegInit(VOID);
VOID LegFini(VOID);
PNDIS_PACKET LegBuild(ULONG Sequence);

NDIS_STATUS LegInit(VOID)
{
    NDIS_STATUS Status;
    NdisAllocatePacketPoolEx(&Status, &LegPacketPool, 16, 16, sizeof(LEG_RSVD));
    if (Status != NDIS_STATUS_SUCCESS)
        return Status;
    NdisAllocateBufferPool(&Status, &LegBufferPool, 32);
    if (Status != NDIS_STATUS_SUCCESS) {
        NdisFreePacketPool(LegPacketPool);
        return Status;
    }
    NdisSetPacketPoolProtocolId(LegPacketPool, NDIS_PROTOCOL_ID_DEFAULT);
    return NDIS_STATUS_SUCCESS;
}

PNDIS_PACKET LegBuild(ULONG Sequence)
{
    NDIS_STATUS Status;
    PNDIS_PACKET Packet;
    PNDIS_BUFFER Header, Body, View;
    UINT PhysicalCount, BufferCount, TotalLength, Length, Offset;
    PNDIS_BUFFER First;
    PVOID Va;
    PUCHAR Bytes;

    NdisAllocatePacket(&Status, &Packet, LegPacketPool);
    if (Status != NDIS_STATUS_SUCCESS)
        return NULL;
    LEG_RSVD_FROM_PACKET(Packet)->Sequence = Sequence;
    LEG_RSVD_FROM_PACKET(Packet)->Context = NULL;

    NdisAllocateBuffer(&Status, &Header, LegBufferPool, LegData, 14);
    if (Status != NDIS_STATUS_SUCCESS) {
        NdisFreePacket(Packet);
        return NULL;
    }
    NdisAllocateBuffer(&Status, &Body, LegBufferPool, LegData + 14, 100);
    if (Status != NDIS_STATUS_SUCCESS) {
        NdisFreeBuffer(Header);
        NdisFreePacket(Packet);
        return NULL;
    }
    NdisCopyBuffer(&Status, &View, LegBufferPool, Body, 10, 20);
    if (Status == NDIS_STATUS_SUCCESS)
        NdisFreeBuffer(View);

    NdisChainBufferAtBack(Packet, Body);
    NdisChainBufferAtFront(Packet, Header);
    NdisRecalculatePacketCounts(Packet);
    NdisQueryPacket(Packet, &PhysicalCount, &BufferCount, &First, &TotalLength);
    NdisQueryPacket(Packet, NULL, NULL, NULL, &TotalLength);
    NdisQueryPacketLength(Packet, &TotalLength);
    if (NDIS_PACKET_FIRST_NDIS_BUFFER(Packet) != First || NDIS_PACKET_LAST_NDIS_BUFFER(Packet) == NULL ||
        !NDIS_PACKET_VALID_COUNTS(Packet))
        return Packet;

    NdisQueryBuffer(First, &Va, &Length);
    NdisQueryBuffer(First, NULL, &Length);
    NdisQueryBufferSafe(First, &Bytes, &Length, NormalPagePriority);
    NdisQueryBufferOffset(First, &Offset, &Length);
    NdisGetNextBuffer(First, &First);
    if (First != NULL && NDIS_BUFFER_LINKAGE(First) == NULL) {
        NdisAdjustBufferLength(First, NdisBufferLength(First) - 1);
        NdisGetBufferPhysicalArraySize(First, &PhysicalCount);
        PhysicalCount += NDIS_BUFFER_TO_SPAN_PAGES(First);
        Va = NdisBufferVirtualAddress(First);
        Va = NdisBufferVirtualAddressSafe(First, NormalPagePriority);
    }
    NdisGetFirstBufferFromPacket(Packet, &First, &Va, &Length, &TotalLength);
    NdisGetFirstBufferFromPacketSafe(Packet, &First, &Bytes, &Length, &TotalLength,
                                     NormalPagePriority);

    NdisSetPacketFlags(Packet, NDIS_FLAGS_DONT_LOOPBACK);
    NdisClearPacketFlags(Packet, NDIS_FLAGS_DONT_LOOPBACK);
    if (NdisGetPacketFlags(Packet) & NDIS_FLAGS_PROTOCOL_ID_MASK)
        NdisSetSendFlags(Packet, 0);
    NdisQuerySendFlags(Packet, &Length);
    if (NDIS_GET_PACKET_PROTOCOL_TYPE(Packet) != NDIS_PROTOCOL_ID_DEFAULT)
        return Packet;

    NDIS_SET_PACKET_STATUS(Packet, NDIS_STATUS_SUCCESS);
    NDIS_SET_PACKET_HEADER_SIZE(Packet, 14);
    NDIS_SET_PACKET_TIME_TO_SEND(Packet, 0);
    NDIS_SET_PACKET_TIME_SENT(Packet, 0);
    NDIS_SET_PACKET_TIME_RECEIVED(Packet, 0);
    NDIS_SET_PACKET_MEDIA_SPECIFIC_INFO(Packet, LegMsi, sizeof(LegMsi));
    if (NDIS_GET_PACKET_HEADER_SIZE(Packet) != 14 || NDIS_GET_PACKET_STATUS(Packet) != 0 ||
        NDIS_GET_PACKET_TIME_TO_SEND(Packet) + NDIS_GET_PACKET_TIME_SENT(Packet) +
                NDIS_GET_PACKET_TIME_RECEIVED(Packet) != 0)
        return Packet;
    {
        PVOID Msi;
        UINT MsiSize;
        NDIS_GET_PACKET_MEDIA_SPECIFIC_INFO(Packet, &Msi, &MsiSize);
        (void)Msi;
        (void)MsiSize;
    }
    NDIS_SET_ORIGINAL_PACKET(Packet, NULL);
    NDIS_SET_PACKET_CANCEL_ID(Packet, NULL);
    NdisSetPacketCancelId(Packet, (PVOID)(ULONG_PTR)Sequence);
    if (NDIS_GET_ORIGINAL_PACKET(Packet) != NULL || NDIS_GET_PACKET_CANCEL_ID(Packet) == NULL ||
        NdisGetPacketCancelId(Packet) == NULL)
        return Packet;
    NDIS_PER_PACKET_INFO_FROM_PACKET(Packet, TcpIpChecksumPacketInfo) = NULL;
    {
        NDIS_PACKET_8021Q_INFO Tag;
        NDIS_TCP_IP_CHECKSUM_PACKET_INFO Csum;
        PNDIS_PACKET_EXTENSION Ext = NDIS_PACKET_EXTENSION_FROM_PACKET(Packet);
        Tag.Value = Ext->NdisPacketInfo[Ieee8021QInfo];
        Csum.Value = (ULONG)(ULONG_PTR)Ext->NdisPacketInfo[TcpIpChecksumPacketInfo];
        (void)Tag;
        (void)Csum;
    }
    (void)PhysicalCount;
    (void)BufferCount;
    (void)Offset;
    (void)Va;
    (void)Bytes;
    if (NdisPacketPoolUsage(LegPacketPool) == 0 || NdisPacketSize(sizeof(LEG_RSVD)) == 0 ||
        NdisGetPoolFromPacket(Packet) != LegPacketPool)
        return Packet;
    return Packet;
}

/* The reuse sequence of ProtocolCoSendComplete. */
VOID LegSendComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolVcContext, PNDIS_PACKET Packet)
{
    PNDIS_BUFFER Buffer;
    PNDIS_PACKET_OOB_DATA Oob;
    (void)Status;
    (void)ProtocolVcContext;
    for (;;) {
        NdisUnchainBufferAtFront(Packet, &Buffer);
        if (Buffer == NULL)
            break;
        NdisFreeBuffer(Buffer);
    }
    NdisUnchainBufferAtBack(Packet, &Buffer);
    NdisReinitializePacket(Packet);
    Oob = NDIS_OOB_DATA_FROM_PACKET(Packet);
    NdisZeroMemory(Oob, sizeof(NDIS_PACKET_OOB_DATA));
    if (Packet->Private.ValidCounts)
        NdisFreePacket(Packet);
    else
        NdisDprFreePacket(Packet);
}

VOID LegFini(VOID)
{
    NDIS_STATUS Status;
    PNDIS_PACKET Packet;
    NdisDprAllocatePacket(&Status, &Packet, LegPacketPool);
    if (Status == NDIS_STATUS_SUCCESS)
        NdisFreePacket(Packet);
    NdisFreeBufferPool(LegBufferPool);
    NdisFreePacketPool(LegPacketPool);
    {
        NDIS_PACKET_STACK Stack;
        MEDIA_SPECIFIC_INFORMATION Info;
        Stack.IMReserved[0] = 0;
        Info.ClassId = NdisClass802_3Priority;
        (void)Stack;
        (void)Info;
    }
    (void)(PROTOCOL_RESERVED_SIZE_IN_PACKET + fPACKET_WRAPPER_RESERVED + MaxPerPacketInfo +
           Ieee8021pPriority);
}
