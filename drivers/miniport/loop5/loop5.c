/*
 * loop5.c - the NDIS 5.1 counterpart of loop: a CoWan miniport call manager
 * that indicates every packet sent on a VC back on the same VC, in order,
 * then completes the send.
 *
 * One address family (LoopAddressFamily, default CO_ADDRESS_FAMILY_PPP,
 * version 1.0) registered with NdisMCmRegisterAddressFamily. A call is
 * accepted when it sends and receives and carries no call-manager- or
 * media-specific data; a sent packet longer than the call's Transmit
 * MaxSduSize completes with NDIS_STATUS_INVALID_LENGTH.
 *
 * A receive is a packet of loop5's pool whose buffers map the sent
 * packet's buffers: no data is copied and nothing is allocated per packet
 * beyond descriptors. Without LoopResources the send completes when the
 * receive comes back (ReturnPacketHandler); with LoopResources=1 the
 * receive is indicated with NDIS_STATUS_RESOURCES and the send completes
 * as soon as the indication returns. LoopInline=1 loops back inside
 * CoSendPacketsHandler; by default a DPC does it at DISPATCH_LEVEL, taking
 * packets off one adapter-wide queue in order.
 *
 * Packets sent to loop5 are linked through MiniportReservedEx (the sent
 * packet's [0] = next in the queue, [1] = its VC); a receive packet's [0]
 * is the sent packet, [1] the VC.
 */
#define NDIS51_MINIPORT 1
#include <ndis.h>

#include "../common/mcmlib.h"

#define LOOP5_TAG MCMLIB_TAG('L', 'p', '5', ' ')
#define LOOP5_PACKETS 4096
#define LOOP5_BUFFERS 16384

typedef enum _LOOP5_VC_STATE { Loop5VcIdle, Loop5VcActive, Loop5VcClosing } LOOP5_VC_STATE;

typedef struct _LOOP5_ADAPTER {
    NDIS_HANDLE Handle;
    BOOLEAN Inline, Resources;
    BOOLEAN PendOpenAf;                 /* answer CmOpenAf later, from a work item */
    CO_ADDRESS_FAMILY AddressFamily;
    NDIS_HANDLE PacketPool, BufferPool;
    KDPC Dpc;
    NDIS_SPIN_LOCK Lock;
    BOOLEAN DpcActive;                  /* (Lock) one DPC drains at a time */
    PNDIS_PACKET QueueHead, QueueTail;  /* (Lock) sends waiting for the DPC */
} LOOP5_ADAPTER, *PLOOP5_ADAPTER;

typedef struct _LOOP5_AF {
    PLOOP5_ADAPTER Adapter;
    ULONG VcCount;                      /* (Adapter->Lock) */
    NDIS_HANDLE NdisAfHandle;
    NDIS_WORK_ITEM OpenWork;            /* completes a pended open (LoopPendOpenAf) */
} LOOP5_AF, *PLOOP5_AF;

typedef struct _LOOP5_VC {
    PLOOP5_AF Af;
    PLOOP5_ADAPTER Adapter;
    NDIS_HANDLE NdisVcHandle;
    ULONG MaxSduSize;                   /* 0: no limit; fixed while active */
    LOOP5_VC_STATE State;               /* (Adapter->Lock) */
    ULONG PendingSends;                 /* (Adapter->Lock) */
} LOOP5_VC, *PLOOP5_VC;

#define LOOP5_SLOT(_P, _i) (((PVOID *)(_P)->MiniportReservedEx)[(_i)])

static PVOID Loop5Alloc(UINT Size)
{
    PVOID p = NULL;
    if (NdisAllocateMemoryWithTag(&p, Size, LOOP5_TAG) != NDIS_STATUS_SUCCESS)
        return NULL;
    NdisZeroMemory(p, Size);
    return p;
}

/* ---- data path ------------------------------------------------------------------ */

/* Give a send back to NDIS and count it done; the last one of a closing
 * VC finishes the close. IRQL <= DISPATCH_LEVEL. */
static VOID Loop5SendDone(PLOOP5_VC Vc, PNDIS_PACKET Packet, NDIS_STATUS Status)
{
    PLOOP5_ADAPTER adapter = Vc->Adapter;
    NDIS_HANDLE vcHandle = Vc->NdisVcHandle;
    BOOLEAN finishClose = FALSE;
    NdisMCoSendComplete(Status, vcHandle, Packet);
    BOOLEAN dpr = McmLibLock(&adapter->Lock);
    if (--Vc->PendingSends == 0 && Vc->State == Loop5VcClosing) {
        Vc->State = Loop5VcIdle;
        finishClose = TRUE;
    }
    McmLibUnlock(&adapter->Lock, dpr);
    if (finishClose) {
        NdisMCmDeactivateVc(vcHandle);
        NdisMCmCloseCallComplete(NDIS_STATUS_SUCCESS, vcHandle, NULL);
    }
}

static VOID Loop5FreeReceive(PNDIS_PACKET Recv)
{
    PNDIS_BUFFER buffer;
    for (;;) {
        NdisUnchainBufferAtFront(Recv, &buffer);
        if (buffer == NULL)
            break;
        NdisFreeBuffer(buffer);
    }
    NdisFreePacket(Recv);
}

/* A receive packet mapping Sent's data, or NULL when the pools are dry. */
static PNDIS_PACKET Loop5AllocateReceive(PLOOP5_ADAPTER Adapter, PNDIS_PACKET Sent)
{
    NDIS_STATUS status;
    PNDIS_PACKET recv = NULL;
    NdisAllocatePacket(&status, &recv, Adapter->PacketPool);
    if (status != NDIS_STATUS_SUCCESS)
        return NULL;
    PNDIS_BUFFER first = NULL;
    NdisQueryPacket(Sent, NULL, NULL, &first, NULL);
    for (PNDIS_BUFFER b = first; b != NULL; b = b->Next) {
        UINT length = MmGetMdlByteCount(b);
        if (length == 0)
            continue;
        PNDIS_BUFFER copy = NULL;
        NdisCopyBuffer(&status, &copy, Adapter->BufferPool, b, 0, length);
        if (status != NDIS_STATUS_SUCCESS) {
            Loop5FreeReceive(recv);
            return NULL;
        }
        NdisChainBufferAtBack(recv, copy);
    }
    return recv;
}

/* Loop one accepted send back on its VC. */
static VOID Loop5Loopback(PLOOP5_VC Vc, PNDIS_PACKET Sent)
{
    PLOOP5_ADAPTER adapter = Vc->Adapter;
    UINT length = 0;
    NdisQueryPacket(Sent, NULL, NULL, NULL, &length);
    if (Vc->MaxSduSize != 0 && length > Vc->MaxSduSize) {
        Loop5SendDone(Vc, Sent, NDIS_STATUS_INVALID_LENGTH);
        return;
    }
    PNDIS_PACKET recv = Loop5AllocateReceive(adapter, Sent);
    if (recv == NULL) {
        Loop5SendDone(Vc, Sent, NDIS_STATUS_RESOURCES);
        return;
    }
    LOOP5_SLOT(recv, 0) = Sent;
    LOOP5_SLOT(recv, 1) = Vc;
    NDIS_SET_PACKET_HEADER_SIZE(recv, 0);
    NDIS_SET_PACKET_STATUS(recv, adapter->Resources ? NDIS_STATUS_RESOURCES : NDIS_STATUS_SUCCESS);
    NdisMCoIndicateReceivePacket(Vc->NdisVcHandle, &recv, 1);
    if (adapter->Resources) {
        /* Ours again: nobody reads the sent data any more. */
        Loop5FreeReceive(recv);
        Loop5SendDone(Vc, Sent, NDIS_STATUS_SUCCESS);
    }
    /* Otherwise recv may already be back (Loop5ReturnPacket): not touched. */
}

static VOID Loop5ReturnPacket(NDIS_HANDLE MiniportAdapterContext, PNDIS_PACKET Packet)
{
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    PNDIS_PACKET sent = LOOP5_SLOT(Packet, 0);
    PLOOP5_VC vc = LOOP5_SLOT(Packet, 1);
    Loop5FreeReceive(Packet);
    Loop5SendDone(vc, sent, NDIS_STATUS_SUCCESS);
}

static VOID Loop5Dpc(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1,
                     PVOID SystemArgument2)
{
    PLOOP5_ADAPTER adapter = DeferredContext;
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);
    NdisDprAcquireSpinLock(&adapter->Lock);
    if (adapter->DpcActive) {
        NdisDprReleaseSpinLock(&adapter->Lock);
        return;
    }
    adapter->DpcActive = TRUE;
    for (;;) {
        PNDIS_PACKET work = adapter->QueueHead;
        adapter->QueueHead = adapter->QueueTail = NULL;
        if (work == NULL)
            break;
        NdisDprReleaseSpinLock(&adapter->Lock);
        while (work != NULL) {
            PNDIS_PACKET next = LOOP5_SLOT(work, 0);
            Loop5Loopback(LOOP5_SLOT(work, 1), work);
            work = next;
        }
        NdisDprAcquireSpinLock(&adapter->Lock);
    }
    adapter->DpcActive = FALSE;
    NdisDprReleaseSpinLock(&adapter->Lock);
}

static VOID Loop5CoSendPackets(NDIS_HANDLE MiniportVcContext, PPNDIS_PACKET PacketArray,
                               UINT NumberOfPackets)
{
    PLOOP5_VC vc = MiniportVcContext;
    PLOOP5_ADAPTER adapter = vc->Adapter;
    BOOLEAN dpr = McmLibLock(&adapter->Lock);
    if (vc->State != Loop5VcActive) {
        McmLibUnlock(&adapter->Lock, dpr);
        for (UINT i = 0; i < NumberOfPackets; i++)
            NdisMCoSendComplete(NDIS_STATUS_FAILURE, vc->NdisVcHandle, PacketArray[i]);
        return;
    }
    vc->PendingSends += NumberOfPackets;
    if (!adapter->Inline) {
        for (UINT i = 0; i < NumberOfPackets; i++) {
            LOOP5_SLOT(PacketArray[i], 0) = NULL;
            LOOP5_SLOT(PacketArray[i], 1) = vc;
            if (adapter->QueueTail != NULL)
                LOOP5_SLOT(adapter->QueueTail, 0) = PacketArray[i];
            else
                adapter->QueueHead = PacketArray[i];
            adapter->QueueTail = PacketArray[i];
        }
    }
    McmLibUnlock(&adapter->Lock, dpr);
    if (!adapter->Inline) {
        KeInsertQueueDpc(&adapter->Dpc, NULL, NULL);
        return;
    }
    for (UINT i = 0; i < NumberOfPackets; i++)
        Loop5Loopback(vc, PacketArray[i]);
}

/* ---- call manager ------------------------------------------------------------------ */

/* PASSIVE_LEVEL, on a worker: finish an open of the AF that pended. */
static VOID Loop5OpenAfWork(PNDIS_WORK_ITEM WorkItem, PVOID Context)
{
    PLOOP5_AF af = Context;
    UNREFERENCED_PARAMETER(WorkItem);
    NdisMCmOpenAddressFamilyComplete(NDIS_STATUS_SUCCESS, af->NdisAfHandle, af);
}

static NDIS_STATUS Loop5CmOpenAf(NDIS_HANDLE CallMgrBindingContext,
                                 PCO_ADDRESS_FAMILY AddressFamily, NDIS_HANDLE NdisAfHandle,
                                 PNDIS_HANDLE CallMgrAfContext)
{
    PLOOP5_ADAPTER adapter = CallMgrBindingContext;
    if (AddressFamily->AddressFamily != adapter->AddressFamily.AddressFamily ||
        AddressFamily->MajorVersion != adapter->AddressFamily.MajorVersion)
        return NDIS_STATUS_FAILURE;
    PLOOP5_AF af = Loop5Alloc(sizeof(*af));
    if (af == NULL)
        return NDIS_STATUS_RESOURCES;
    af->Adapter = adapter;
    af->NdisAfHandle = NdisAfHandle;
    if (adapter->PendOpenAf) {
        /* As a call manager that must ask its network first would: the
         * open completes later, at PASSIVE_LEVEL, with the AF's context. */
        NdisInitializeWorkItem(&af->OpenWork, Loop5OpenAfWork, af);
        NdisScheduleWorkItem(&af->OpenWork);
        return NDIS_STATUS_PENDING;
    }
    *CallMgrAfContext = af;
    return NDIS_STATUS_SUCCESS;
}

static NDIS_STATUS Loop5CmCloseAf(NDIS_HANDLE CallMgrAfContext)
{
    PLOOP5_AF af = CallMgrAfContext;
    BOOLEAN dpr = McmLibLock(&af->Adapter->Lock);
    ULONG vcs = af->VcCount;
    McmLibUnlock(&af->Adapter->Lock, dpr);
    if (vcs != 0)
        return NDIS_STATUS_NOT_ACCEPTED;
    NdisFreeMemory(af, 0, 0);
    return NDIS_STATUS_SUCCESS;
}

static NDIS_STATUS Loop5CmCreateVc(NDIS_HANDLE ProtocolAfContext, NDIS_HANDLE NdisVcHandle,
                                   PNDIS_HANDLE ProtocolVcContext)
{
    PLOOP5_AF af = ProtocolAfContext;
    PLOOP5_VC vc = Loop5Alloc(sizeof(*vc));
    if (vc == NULL)
        return NDIS_STATUS_RESOURCES;
    vc->Af = af;
    vc->Adapter = af->Adapter;
    vc->NdisVcHandle = NdisVcHandle;
    vc->State = Loop5VcIdle;
    BOOLEAN dpr = McmLibLock(&af->Adapter->Lock);
    af->VcCount++;
    McmLibUnlock(&af->Adapter->Lock, dpr);
    *ProtocolVcContext = vc;
    return NDIS_STATUS_SUCCESS;
}

static NDIS_STATUS Loop5CmDeleteVc(NDIS_HANDLE ProtocolVcContext)
{
    PLOOP5_VC vc = ProtocolVcContext;
    PLOOP5_ADAPTER adapter = vc->Adapter;
    BOOLEAN dpr = McmLibLock(&adapter->Lock);
    if (vc->State != Loop5VcIdle || vc->PendingSends != 0) {
        McmLibUnlock(&adapter->Lock, dpr);
        return NDIS_STATUS_NOT_ACCEPTED;
    }
    vc->Af->VcCount--;
    McmLibUnlock(&adapter->Lock, dpr);
    NdisFreeMemory(vc, 0, 0);
    return NDIS_STATUS_SUCCESS;
}

static NDIS_STATUS Loop5CmMakeCall(NDIS_HANDLE CallMgrVcContext,
                                   PCO_CALL_PARAMETERS CallParameters,
                                   NDIS_HANDLE NdisPartyHandle, PNDIS_HANDLE CallMgrPartyContext)
{
    PLOOP5_VC vc = CallMgrVcContext;
    PLOOP5_ADAPTER adapter = vc->Adapter;
    if (CallMgrPartyContext != NULL)
        *CallMgrPartyContext = NULL;
    if (NdisPartyHandle != NULL)
        return NDIS_STATUS_NOT_SUPPORTED;
    MCMLIB_CALL_LIMITS limits;
    NDIS_STATUS status = McmLibCheckCallParameters(CallParameters, &limits);
    if (status != NDIS_STATUS_SUCCESS)
        return status;
    BOOLEAN dpr = McmLibLock(&adapter->Lock);
    if (vc->State != Loop5VcIdle) {
        McmLibUnlock(&adapter->Lock, dpr);
        return NDIS_STATUS_CALL_ACTIVE;
    }
    vc->MaxSduSize = limits.MaxSduSize;
    vc->State = Loop5VcActive;
    McmLibUnlock(&adapter->Lock, dpr);
    status = NdisMCmActivateVc(vc->NdisVcHandle, CallParameters);
    if (status != NDIS_STATUS_SUCCESS) {
        dpr = McmLibLock(&adapter->Lock);
        vc->State = Loop5VcIdle;
        McmLibUnlock(&adapter->Lock, dpr);
    }
    return status;
}

/* Sends already taken still loop back; the close completes with the last. */
static NDIS_STATUS Loop5CmCloseCall(NDIS_HANDLE CallMgrVcContext,
                                    NDIS_HANDLE CallMgrPartyContext, PVOID CloseData, UINT Size)
{
    PLOOP5_VC vc = CallMgrVcContext;
    PLOOP5_ADAPTER adapter = vc->Adapter;
    NDIS_STATUS status;
    UNREFERENCED_PARAMETER(CallMgrPartyContext);
    UNREFERENCED_PARAMETER(CloseData);
    UNREFERENCED_PARAMETER(Size);
    BOOLEAN dpr = McmLibLock(&adapter->Lock);
    if (vc->State == Loop5VcClosing) {
        status = NDIS_STATUS_CLOSING;
    } else if (vc->State != Loop5VcActive) {
        status = NDIS_STATUS_FAILURE;
    } else if (vc->PendingSends != 0) {
        vc->State = Loop5VcClosing;
        status = NDIS_STATUS_PENDING;
    } else {
        vc->State = Loop5VcIdle;
        status = NDIS_STATUS_SUCCESS;
    }
    McmLibUnlock(&adapter->Lock, dpr);
    if (status == NDIS_STATUS_SUCCESS)
        NdisMCmDeactivateVc(vc->NdisVcHandle);
    return status;
}

static NDIS_STATUS Loop5CmRequest(NDIS_HANDLE ProtocolAfContext, NDIS_HANDLE ProtocolVcContext,
                                  NDIS_HANDLE ProtocolPartyContext, PNDIS_REQUEST NdisRequest)
{
    UNREFERENCED_PARAMETER(ProtocolAfContext);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    UNREFERENCED_PARAMETER(NdisRequest);
    return NDIS_STATUS_NOT_SUPPORTED;
}

static VOID Loop5CmRequestComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolAfContext,
                                   NDIS_HANDLE ProtocolVcContext,
                                   NDIS_HANDLE ProtocolPartyContext, PNDIS_REQUEST NdisRequest)
{
    UNREFERENCED_PARAMETER(Status);
    UNREFERENCED_PARAMETER(ProtocolAfContext);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    UNREFERENCED_PARAMETER(NdisRequest);
}

/* ---- miniport ------------------------------------------------------------------------ */

static NDIS_STATUS Loop5CoRequest(NDIS_HANDLE MiniportAdapterContext,
                                  NDIS_HANDLE MiniportVcContext, PNDIS_REQUEST NdisRequest)
{
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(MiniportVcContext);
    UNREFERENCED_PARAMETER(NdisRequest);
    return NDIS_STATUS_NOT_SUPPORTED;
}

static VOID Loop5FreeAdapter(PLOOP5_ADAPTER Adapter)
{
    if (Adapter->PacketPool != NULL)
        NdisFreePacketPool(Adapter->PacketPool);
    if (Adapter->BufferPool != NULL)
        NdisFreeBufferPool(Adapter->BufferPool);
    NdisFreeSpinLock(&Adapter->Lock);
    NdisFreeMemory(Adapter, 0, 0);
}

static VOID Loop5Halt(NDIS_HANDLE MiniportAdapterContext)
{
    /* Every send is complete and every receive returned by now; a DPC
     * that found the queue empty may still be leaving. */
    KeFlushQueuedDpcs();
    Loop5FreeAdapter(MiniportAdapterContext);
}

static VOID Loop5ReadConfiguration(PLOOP5_ADAPTER Adapter, NDIS_HANDLE WrapperConfigurationContext)
{
    Adapter->AddressFamily.AddressFamily = CO_ADDRESS_FAMILY_PPP;
    Adapter->AddressFamily.MajorVersion = 1;
    Adapter->AddressFamily.MinorVersion = 0;
    NDIS_STATUS status;
    NDIS_HANDLE configuration = NULL;
    NdisOpenConfiguration(&status, &configuration, WrapperConfigurationContext);
    if (status != NDIS_STATUS_SUCCESS)
        return;
    Adapter->Inline = McmLibReadUlong(configuration, L"LoopInline", 0, 0, 1, "loop5") != 0;
    Adapter->Resources = McmLibReadUlong(configuration, L"LoopResources", 0, 0, 1, "loop5") != 0;
    Adapter->PendOpenAf = McmLibReadUlong(configuration, L"LoopPendOpenAf", 0, 0, 1, "loop5") != 0;
    ULONG af = McmLibReadUlong(configuration, L"LoopAddressFamily", CO_ADDRESS_FAMILY_PPP, 1,
                               0xFFFFFFFFUL, "loop5");
    Adapter->AddressFamily.AddressFamily = af;
    NdisCloseConfiguration(configuration);
}

static NDIS_STATUS Loop5Initialize(PNDIS_STATUS OpenErrorStatus, PUINT SelectedMediumIndex,
                                   PNDIS_MEDIUM MediumArray, UINT MediumArraySize,
                                   NDIS_HANDLE MiniportAdapterHandle,
                                   NDIS_HANDLE WrapperConfigurationContext)
{
    static NDIS_CALL_MANAGER_CHARACTERISTICS cm = {
        .MajorVersion = 5,
        .MinorVersion = 1,
        .CmCreateVcHandler = Loop5CmCreateVc,
        .CmDeleteVcHandler = Loop5CmDeleteVc,
        .CmOpenAfHandler = Loop5CmOpenAf,
        .CmCloseAfHandler = Loop5CmCloseAf,
        .CmRegisterSapHandler = McmLibCmRegisterSap,
        .CmDeregisterSapHandler = McmLibCmDeregisterSap,
        .CmMakeCallHandler = Loop5CmMakeCall,
        .CmCloseCallHandler = Loop5CmCloseCall,
        .CmIncomingCallCompleteHandler = McmLibCmIncomingCallComplete,
        .CmAddPartyHandler = McmLibCmAddParty,
        .CmDropPartyHandler = McmLibCmDropParty,
        .CmActivateVcCompleteHandler = McmLibCmActivateVcComplete,
        .CmDeactivateVcCompleteHandler = McmLibCmDeactivateVcComplete,
        .CmModifyCallQoSHandler = McmLibCmModifyCallQoS,
        .CmRequestHandler = Loop5CmRequest,
        .CmRequestCompleteHandler = Loop5CmRequestComplete,
    };
    *OpenErrorStatus = NDIS_STATUS_SUCCESS;
    UINT i;
    for (i = 0; i < MediumArraySize && MediumArray[i] != NdisMediumCoWan; i++)
        ;
    if (i == MediumArraySize)
        return NDIS_STATUS_UNSUPPORTED_MEDIA;
    *SelectedMediumIndex = i;

    PLOOP5_ADAPTER adapter = Loop5Alloc(sizeof(*adapter));
    if (adapter == NULL)
        return NDIS_STATUS_RESOURCES;
    adapter->Handle = MiniportAdapterHandle;
    NdisAllocateSpinLock(&adapter->Lock);
    KeInitializeDpc(&adapter->Dpc, Loop5Dpc, adapter);
    Loop5ReadConfiguration(adapter, WrapperConfigurationContext);

    NDIS_STATUS status;
    NdisAllocatePacketPool(&status, &adapter->PacketPool, LOOP5_PACKETS, 0);
    if (status == NDIS_STATUS_SUCCESS)
        NdisAllocateBufferPool(&status, &adapter->BufferPool, LOOP5_BUFFERS);
    if (status != NDIS_STATUS_SUCCESS) {
        Loop5FreeAdapter(adapter);
        return NDIS_STATUS_RESOURCES;
    }
    NdisMSetAttributesEx(MiniportAdapterHandle, adapter, 0,
                         NDIS_ATTRIBUTE_DESERIALIZE | NDIS_ATTRIBUTE_SURPRISE_REMOVE_OK,
                         NdisInterfaceInternal);
    status = NdisMCmRegisterAddressFamily(MiniportAdapterHandle, &adapter->AddressFamily, &cm,
                                          sizeof(cm));
    if (status != NDIS_STATUS_SUCCESS)
        Loop5FreeAdapter(adapter);
    return status;
}

/* Nothing of the driver's own outlives its adapters. */
static VOID Loop5Unload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
}

DRIVER_INITIALIZE Loop5DriverEntry;

NTSTATUS Loop5DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NDIS_HANDLE wrapper = NULL;
    NdisMInitializeWrapper(&wrapper, DriverObject, RegistryPath, NULL);
    if (wrapper == NULL)
        return STATUS_UNSUCCESSFUL;
    NDIS_MINIPORT_CHARACTERISTICS chars;
    NdisZeroMemory(&chars, sizeof(chars));
    chars.MajorNdisVersion = 5;
    chars.MinorNdisVersion = 1;
    chars.InitializeHandler = Loop5Initialize;
    chars.HaltHandler = Loop5Halt;
    chars.ReturnPacketHandler = Loop5ReturnPacket;
    chars.CoSendPacketsHandler = Loop5CoSendPackets;
    chars.CoRequestHandler = Loop5CoRequest;
    NDIS_STATUS status = NdisMRegisterMiniport(wrapper, &chars, sizeof(chars));
    if (status != NDIS_STATUS_SUCCESS) {
        NdisTerminateWrapper(wrapper, NULL);
        return STATUS_UNSUCCESSFUL;
    }
    NdisMRegisterUnloadHandler(wrapper, Loop5Unload);
    return STATUS_SUCCESS;
}
