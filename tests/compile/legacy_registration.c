/*
 * legacy_registration.c - NDIS 5.x driver-style source that must compile
 * warning-free against include/ndis.h with gcc and clang in plain C11 (the
 * tests compile it with -Werror -fsyntax-only; it is never linked or run).
 *
 * By default it is an NDIS 5.1 protocol (#define NDIS51, as a Windows
 * driver would). The tests also compile it with -DNDIS51_MINIPORT (a
 * miniport naming only its miniport side), with -DNDIS50 -DNDIS50_MINIPORT,
 * and with -DNDIS_WRAPPER (condis' own view, which must see the 5.x and the
 * 6.x surface at once).
 *
 * It fills NDIS_PROTOCOL_CHARACTERISTICS, NDIS_CLIENT_CHARACTERISTICS,
 * NDIS_CALL_MANAGER_CHARACTERISTICS and NDIS_MINIPORT_CHARACTERISTICS with
 * handlers declared the way 5.x source declares them, and calls every
 * NDIS 5.x function so that each prototype is checked against its use.
 */
#if !defined(NDIS50) && !defined(NDIS51) && !defined(NDIS50_MINIPORT) && \
    !defined(NDIS51_MINIPORT) && !defined(NDIS_WRAPPER)
#define NDIS51 1
#endif

#include <ndis.h>

#if !NDIS_LEGACY_PROTOCOL || !NDIS_LEGACY_MINIPORT || !NDIS_LEGACY_DRIVER
#error "an NDIS 5.x build must see the legacy protocol and miniport surface"
#endif

#if defined(NDIS_WRAPPER)
/* condis' own code sees the NDIS 6 surface as well. */
static NDIS_PROTOCOL_DRIVER_CHARACTERISTICS LegacyNdis6Chars;
static NDIS_MINIPORT_CO_CHARACTERISTICS LegacyNdis6CoChars;
#define LEGACY_HAVE_51_MINIPORT 1
#elif NDIS_MINIPORT_MAJOR_VERSION == 5 && NDIS_MINIPORT_MINOR_VERSION == 1
#define LEGACY_HAVE_51_MINIPORT 1
#else
#define LEGACY_HAVE_51_MINIPORT 0
#endif

/* ---- the layouts the WDK gives these structures on 64-bit Windows ------- */
_Static_assert(FIELD_OFFSET(NDIS40_PROTOCOL_CHARACTERISTICS, OpenAdapterCompleteHandler) == 0x08,
               "NDIS40 protocol characteristics layout");
_Static_assert(FIELD_OFFSET(NDIS40_PROTOCOL_CHARACTERISTICS, Name) == 0x58,
               "NDIS40 protocol characteristics layout");
_Static_assert(sizeof(NDIS40_PROTOCOL_CHARACTERISTICS) == 0x90,
               "NDIS40 protocol characteristics size");
_Static_assert(FIELD_OFFSET(NDIS50_PROTOCOL_CHARACTERISTICS, CoSendCompleteHandler) == 0xB0,
               "NDIS50 protocol characteristics layout");
_Static_assert(sizeof(NDIS50_PROTOCOL_CHARACTERISTICS) == 0xD0,
               "NDIS50 protocol characteristics size");
_Static_assert(FIELD_OFFSET(NDIS50_MINIPORT_CHARACTERISTICS, CoCreateVcHandler) ==
                   FIELD_OFFSET(NDIS50_MINIPORT_CHARACTERISTICS, AllocateCompleteHandler) +
                       sizeof(PVOID),
               "NDIS50 miniport characteristics layout");
_Static_assert(FIELD_OFFSET(NDIS_REQUEST, DATA) == 4 * sizeof(PVOID) + sizeof(PVOID),
               "NDIS_REQUEST layout");
_Static_assert(sizeof(NDIS_WORK_ITEM) == 10 * sizeof(PVOID), "NDIS_WORK_ITEM size");

/* ---- protocol handlers, declared as 5.x source declares them ------------ */

static NDIS_HANDLE LegacyProtocolHandle;
static NDIS_HANDLE LegacyBindingHandle;
static NDIS_HANDLE LegacyAfHandle;
static NDIS_WORK_ITEM LegacyWorkItem;
static NDIS_REQUEST LegacyRequest;
static NDIS_MEDIUM LegacyMedia[] = { NdisMediumCoWan, NdisMediumAtm };

VOID LegacyOpenAdapterComplete(NDIS_HANDLE ProtocolBindingContext, NDIS_STATUS Status,
                               NDIS_STATUS OpenErrorStatus);
VOID LegacyCloseAdapterComplete(NDIS_HANDLE ProtocolBindingContext, NDIS_STATUS Status);
VOID LegacySendComplete(NDIS_HANDLE ProtocolBindingContext, PNDIS_PACKET Packet,
                        NDIS_STATUS Status);
VOID LegacyTransferDataComplete(NDIS_HANDLE ProtocolBindingContext, PNDIS_PACKET Packet,
                                NDIS_STATUS Status, UINT BytesTransferred);
VOID LegacyResetComplete(NDIS_HANDLE ProtocolBindingContext, NDIS_STATUS Status);
VOID LegacyRequestComplete(NDIS_HANDLE ProtocolBindingContext, PNDIS_REQUEST NdisRequest,
                           NDIS_STATUS Status);
NDIS_STATUS LegacyReceive(NDIS_HANDLE ProtocolBindingContext, NDIS_HANDLE MacReceiveContext,
                          PVOID HeaderBuffer, UINT HeaderBufferSize, PVOID LookAheadBuffer,
                          UINT LookaheadBufferSize, UINT PacketSize);
VOID LegacyReceiveComplete(NDIS_HANDLE ProtocolBindingContext);
VOID LegacyStatus(NDIS_HANDLE ProtocolBindingContext, NDIS_STATUS GeneralStatus,
                  PVOID StatusBuffer, UINT StatusBufferSize);
VOID LegacyStatusComplete(NDIS_HANDLE ProtocolBindingContext);
INT LegacyReceivePacket(NDIS_HANDLE ProtocolBindingContext, PNDIS_PACKET Packet);
VOID LegacyBindAdapter(PNDIS_STATUS Status, NDIS_HANDLE BindContext, PNDIS_STRING DeviceName,
                       PVOID SystemSpecific1, PVOID SystemSpecific2);
VOID LegacyUnbindAdapter(PNDIS_STATUS Status, NDIS_HANDLE ProtocolBindingContext,
                         NDIS_HANDLE UnbindContext);
NDIS_STATUS LegacyPnPEvent(NDIS_HANDLE ProtocolBindingContext, PNET_PNP_EVENT NetPnPEvent);
VOID LegacyUnload(VOID);
VOID LegacyCoSendComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolVcContext,
                          PNDIS_PACKET Packet);
VOID LegacyCoStatus(NDIS_HANDLE ProtocolBindingContext, NDIS_HANDLE ProtocolVcContext,
                    NDIS_STATUS GeneralStatus, PVOID StatusBuffer, UINT StatusBufferSize);
UINT LegacyCoReceivePacket(NDIS_HANDLE ProtocolBindingContext, NDIS_HANDLE ProtocolVcContext,
                           PNDIS_PACKET Packet);
VOID LegacyCoAfRegisterNotify(NDIS_HANDLE ProtocolBindingContext,
                              PCO_ADDRESS_FAMILY AddressFamily);
VOID LegacyWork(PNDIS_WORK_ITEM WorkItem, PVOID Context);

VOID LegacyOpenAdapterComplete(NDIS_HANDLE ProtocolBindingContext, NDIS_STATUS Status,
                               NDIS_STATUS OpenErrorStatus)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(OpenErrorStatus);
    NdisCompleteBindAdapter(NULL, Status, OpenErrorStatus);
}

VOID LegacyCloseAdapterComplete(NDIS_HANDLE ProtocolBindingContext, NDIS_STATUS Status)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    NdisCompleteUnbindAdapter(NULL, Status);
}

VOID LegacySendComplete(NDIS_HANDLE ProtocolBindingContext, PNDIS_PACKET Packet,
                        NDIS_STATUS Status)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(Status);
    NdisFreePacket(Packet);
}

VOID LegacyTransferDataComplete(NDIS_HANDLE ProtocolBindingContext, PNDIS_PACKET Packet,
                                NDIS_STATUS Status, UINT BytesTransferred)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(Packet);
    UNREFERENCED_PARAMETER(Status);
    UNREFERENCED_PARAMETER(BytesTransferred);
}

VOID LegacyResetComplete(NDIS_HANDLE ProtocolBindingContext, NDIS_STATUS Status)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(Status);
}

VOID LegacyRequestComplete(NDIS_HANDLE ProtocolBindingContext, PNDIS_REQUEST NdisRequest,
                           NDIS_STATUS Status)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(Status);
    if (NdisRequest->RequestType == NdisRequestQueryInformation)
        NdisRequest->DATA.QUERY_INFORMATION.BytesWritten = 0;
    else
        NdisRequest->DATA.SET_INFORMATION.BytesRead = 0;
}

NDIS_STATUS LegacyReceive(NDIS_HANDLE ProtocolBindingContext, NDIS_HANDLE MacReceiveContext,
                          PVOID HeaderBuffer, UINT HeaderBufferSize, PVOID LookAheadBuffer,
                          UINT LookaheadBufferSize, UINT PacketSize)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(MacReceiveContext);
    UNREFERENCED_PARAMETER(HeaderBuffer);
    UNREFERENCED_PARAMETER(HeaderBufferSize);
    UNREFERENCED_PARAMETER(LookAheadBuffer);
    UNREFERENCED_PARAMETER(LookaheadBufferSize);
    UNREFERENCED_PARAMETER(PacketSize);
    return NDIS_STATUS_NOT_ACCEPTED;
}

VOID LegacyReceiveComplete(NDIS_HANDLE ProtocolBindingContext)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
}

VOID LegacyStatus(NDIS_HANDLE ProtocolBindingContext, NDIS_STATUS GeneralStatus,
                  PVOID StatusBuffer, UINT StatusBufferSize)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(GeneralStatus);
    UNREFERENCED_PARAMETER(StatusBuffer);
    UNREFERENCED_PARAMETER(StatusBufferSize);
}

VOID LegacyStatusComplete(NDIS_HANDLE ProtocolBindingContext)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
}

INT LegacyReceivePacket(NDIS_HANDLE ProtocolBindingContext, PNDIS_PACKET Packet)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(Packet);
    return 0;
}

VOID LegacyBindAdapter(PNDIS_STATUS Status, NDIS_HANDLE BindContext, PNDIS_STRING DeviceName,
                       PVOID SystemSpecific1, PVOID SystemSpecific2)
{
    NDIS_STATUS open_error;
    UINT medium;
    NDIS_HANDLE config;

    UNREFERENCED_PARAMETER(BindContext);
    UNREFERENCED_PARAMETER(SystemSpecific2);
    NdisOpenProtocolConfiguration(Status, &config, (PNDIS_STRING)SystemSpecific1);
    NdisOpenAdapter(Status, &open_error, &LegacyBindingHandle, &medium, LegacyMedia,
                    (UINT)RTL_NUMBER_OF(LegacyMedia), LegacyProtocolHandle, NULL,
                    DeviceName, 0, NULL);
}

VOID LegacyUnbindAdapter(PNDIS_STATUS Status, NDIS_HANDLE ProtocolBindingContext,
                         NDIS_HANDLE UnbindContext)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(UnbindContext);
    NdisCloseAdapter(Status, LegacyBindingHandle);
}

NDIS_STATUS LegacyPnPEvent(NDIS_HANDLE ProtocolBindingContext, PNET_PNP_EVENT NetPnPEvent)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    NdisCompletePnPEvent(NDIS_STATUS_SUCCESS, LegacyBindingHandle, NetPnPEvent);
    return NDIS_STATUS_PENDING;
}

VOID LegacyUnload(VOID)
{
    NDIS_STATUS status;
    NdisDeregisterProtocol(&status, LegacyProtocolHandle);
}

VOID LegacyCoSendComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolVcContext,
                          PNDIS_PACKET Packet)
{
    UNREFERENCED_PARAMETER(Status);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    NdisFreePacket(Packet);
}

VOID LegacyCoStatus(NDIS_HANDLE ProtocolBindingContext, NDIS_HANDLE ProtocolVcContext,
                    NDIS_STATUS GeneralStatus, PVOID StatusBuffer, UINT StatusBufferSize)
{
    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(GeneralStatus);
    UNREFERENCED_PARAMETER(StatusBuffer);
    UNREFERENCED_PARAMETER(StatusBufferSize);
}

UINT LegacyCoReceivePacket(NDIS_HANDLE ProtocolBindingContext, NDIS_HANDLE ProtocolVcContext,
                           PNDIS_PACKET Packet)
{
    PNDIS_PACKET packets[1] = { Packet };

    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    if (NDIS_GET_PACKET_STATUS(Packet) == NDIS_STATUS_RESOURCES)
        return 0;
    NdisReturnPackets(packets, 1);
    return 1;
}

/* ---- CoNDIS 5 client handlers (role types shared with NDIS 6 in co.h) ---- */

VOID LegacyClOpenAfComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolAfContext,
                            NDIS_HANDLE NdisAfHandle);
NDIS_STATUS LegacyClRequest(NDIS_HANDLE ProtocolAfContext, NDIS_HANDLE ProtocolVcContext,
                            NDIS_HANDLE ProtocolPartyContext, PNDIS_REQUEST NdisRequest);
VOID LegacyClRequestComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolAfContext,
                             NDIS_HANDLE ProtocolVcContext, NDIS_HANDLE ProtocolPartyContext,
                             PNDIS_REQUEST NdisRequest);
PROTOCOL_CO_CREATE_VC LegacyClCreateVc;
PROTOCOL_CO_DELETE_VC LegacyClDeleteVc;
PROTOCOL_CL_MAKE_CALL_COMPLETE LegacyClMakeCallComplete;
PROTOCOL_CL_INCOMING_CLOSE_CALL LegacyClIncomingCloseCall;

VOID LegacyCoAfRegisterNotify(NDIS_HANDLE ProtocolBindingContext,
                              PCO_ADDRESS_FAMILY AddressFamily)
{
    static NDIS_CLIENT_CHARACTERISTICS cl;

    UNREFERENCED_PARAMETER(ProtocolBindingContext);
    NdisZeroMemory(&cl, sizeof(cl));
    cl.MajorVersion = 5;
    cl.MinorVersion = 0;
    cl.ClCreateVcHandler = LegacyClCreateVc;
    cl.ClDeleteVcHandler = LegacyClDeleteVc;
    cl.ClRequestHandler = LegacyClRequest;
    cl.ClRequestCompleteHandler = LegacyClRequestComplete;
    cl.ClOpenAfCompleteHandler = LegacyClOpenAfComplete;
    cl.ClMakeCallCompleteHandler = LegacyClMakeCallComplete;
    cl.ClIncomingCloseCallHandler = LegacyClIncomingCloseCall;
    (void)NdisClOpenAddressFamily(LegacyBindingHandle, AddressFamily, NULL, &cl,
                                  sizeof(cl), &LegacyAfHandle);
}

VOID LegacyClOpenAfComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolAfContext,
                            NDIS_HANDLE NdisAfHandle)
{
    UNREFERENCED_PARAMETER(Status);
    UNREFERENCED_PARAMETER(ProtocolAfContext);
    LegacyAfHandle = NdisAfHandle;
}

NDIS_STATUS LegacyClRequest(NDIS_HANDLE ProtocolAfContext, NDIS_HANDLE ProtocolVcContext,
                            NDIS_HANDLE ProtocolPartyContext, PNDIS_REQUEST NdisRequest)
{
    UNREFERENCED_PARAMETER(ProtocolAfContext);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    NdisCoRequestComplete(NDIS_STATUS_SUCCESS, LegacyAfHandle, NULL, NULL, NdisRequest);
    return NDIS_STATUS_PENDING;
}

VOID LegacyClRequestComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolAfContext,
                             NDIS_HANDLE ProtocolVcContext, NDIS_HANDLE ProtocolPartyContext,
                             PNDIS_REQUEST NdisRequest)
{
    UNREFERENCED_PARAMETER(Status);
    UNREFERENCED_PARAMETER(ProtocolAfContext);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    UNREFERENCED_PARAMETER(NdisRequest);
}

NDIS_STATUS LegacyClCreateVc(NDIS_HANDLE ProtocolAfContext, NDIS_HANDLE NdisVcHandle,
                             PNDIS_HANDLE ProtocolVcContext)
{
    UNREFERENCED_PARAMETER(ProtocolAfContext);
    *ProtocolVcContext = NdisVcHandle;
    return NDIS_STATUS_SUCCESS;
}

NDIS_STATUS LegacyClDeleteVc(NDIS_HANDLE ProtocolVcContext)
{
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    return NDIS_STATUS_SUCCESS;
}

VOID LegacyClMakeCallComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolVcContext,
                              NDIS_HANDLE NdisPartyHandle, PCO_CALL_PARAMETERS CallParameters)
{
    PNDIS_PACKET packet = NULL;

    UNREFERENCED_PARAMETER(Status);
    UNREFERENCED_PARAMETER(NdisPartyHandle);
    UNREFERENCED_PARAMETER(CallParameters);
    NdisCoSendPackets((NDIS_HANDLE)ProtocolVcContext, &packet, 1);
}

VOID LegacyClIncomingCloseCall(NDIS_STATUS CloseStatus, NDIS_HANDLE ProtocolVcContext,
                               PVOID CloseData, UINT Size)
{
    UNREFERENCED_PARAMETER(CloseStatus);
    UNREFERENCED_PARAMETER(CloseData);
    UNREFERENCED_PARAMETER(Size);
    (void)NdisClCloseCall(ProtocolVcContext, NULL, NULL, 0);
}

/* ---- a CoNDIS 5 call manager's characteristics -------------------------- */

PROTOCOL_CM_OPEN_AF LegacyCmOpenAf;

NDIS_STATUS LegacyCmOpenAf(NDIS_HANDLE CallMgrBindingContext, PCO_ADDRESS_FAMILY AddressFamily,
                           NDIS_HANDLE NdisAfHandle, PNDIS_HANDLE CallMgrAfContext)
{
    UNREFERENCED_PARAMETER(AddressFamily);
    UNREFERENCED_PARAMETER(NdisAfHandle);
    *CallMgrAfContext = CallMgrBindingContext;
    return NDIS_STATUS_SUCCESS;
}

static NDIS_STATUS LegacyRegisterCallManager(PCO_ADDRESS_FAMILY Af)
{
    NDIS_CALL_MANAGER_CHARACTERISTICS cm;

    NdisZeroMemory(&cm, sizeof(cm));
    cm.MajorVersion = 5;
    cm.CmCreateVcHandler = LegacyClCreateVc;
    cm.CmDeleteVcHandler = LegacyClDeleteVc;
    cm.CmOpenAfHandler = LegacyCmOpenAf;
    cm.CmRequestHandler = LegacyClRequest;
    cm.CmRequestCompleteHandler = LegacyClRequestComplete;
    return NdisCmRegisterAddressFamily(LegacyBindingHandle, Af, &cm, sizeof(cm));
}

/* ---- the protocol's DriverEntry ----------------------------------------- */

DRIVER_INITIALIZE LegacyProtocolEntry;

NTSTATUS LegacyProtocolEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NDIS_PROTOCOL_CHARACTERISTICS pc;
    NDIS_STRING name = NDIS_STRING_CONST("legacy");
    NDIS_STATUS status;
    CO_ADDRESS_FAMILY af = { CO_ADDRESS_FAMILY_PPP, 5, 0 };

    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);

    NdisZeroMemory(&pc, sizeof(pc));
    pc.MajorNdisVersion = 5;
    pc.MinorNdisVersion = 0;
    pc.Flags = 0;
    pc.OpenAdapterCompleteHandler = LegacyOpenAdapterComplete;
    pc.CloseAdapterCompleteHandler = LegacyCloseAdapterComplete;
    pc.SendCompleteHandler = LegacySendComplete;
    pc.TransferDataCompleteHandler = LegacyTransferDataComplete;
    pc.ResetCompleteHandler = LegacyResetComplete;
    pc.RequestCompleteHandler = LegacyRequestComplete;
    pc.ReceiveHandler = LegacyReceive;
    pc.ReceiveCompleteHandler = LegacyReceiveComplete;
    pc.StatusHandler = LegacyStatus;
    pc.StatusCompleteHandler = LegacyStatusComplete;
    pc.Name = name;
    pc.ReceivePacketHandler = LegacyReceivePacket;
    pc.BindAdapterHandler = LegacyBindAdapter;
    pc.UnbindAdapterHandler = LegacyUnbindAdapter;
    pc.PnPEventHandler = LegacyPnPEvent;
    pc.UnloadHandler = LegacyUnload;
    pc.CoSendCompleteHandler = LegacyCoSendComplete;
    pc.CoStatusHandler = LegacyCoStatus;
    pc.CoReceivePacketHandler = LegacyCoReceivePacket;
    pc.CoAfRegisterNotifyHandler = LegacyCoAfRegisterNotify;

    NdisRegisterProtocol(&status, &LegacyProtocolHandle, &pc, sizeof(pc));
    if (status != NDIS_STATUS_SUCCESS)
        return (NTSTATUS)status;

    LegacyRequest.RequestType = NdisRequestQueryInformation;
    LegacyRequest.DATA.QUERY_INFORMATION.Oid = 0x00010101; /* OID_GEN_SUPPORTED_LIST */
    NdisRequest(&status, LegacyBindingHandle, &LegacyRequest);
    NdisReset(&status, LegacyBindingHandle);
    status = NdisCoRequest(LegacyBindingHandle, LegacyAfHandle, NULL, NULL, &LegacyRequest);

    NdisInitializeWorkItem(&LegacyWorkItem, LegacyWork, NULL);
    status = NdisScheduleWorkItem(&LegacyWorkItem);
    status = LegacyRegisterCallManager(&af);
    return (NTSTATUS)status;
}

VOID LegacyWork(PNDIS_WORK_ITEM WorkItem, PVOID Context)
{
    UNREFERENCED_PARAMETER(WorkItem);
    UNREFERENCED_PARAMETER(Context);
}

/* ---- a CoNDIS 5 miniport -------------------------------------------------- */

static NDIS_HANDLE LegacyWrapperHandle;
static NDIS_HANDLE LegacyAdapterHandle;

NDIS_STATUS LegacyMpInitialize(PNDIS_STATUS OpenErrorStatus, PUINT SelectedMediumIndex,
                               PNDIS_MEDIUM MediumArray, UINT MediumArraySize,
                               NDIS_HANDLE MiniportAdapterContext,
                               NDIS_HANDLE WrapperConfigurationContext);
VOID LegacyMpHalt(NDIS_HANDLE MiniportAdapterContext);
NDIS_STATUS LegacyMpQuery(NDIS_HANDLE MiniportAdapterContext, NDIS_OID Oid,
                          PVOID InformationBuffer, ULONG InformationBufferLength,
                          PULONG BytesWritten, PULONG BytesNeeded);
NDIS_STATUS LegacyMpSet(NDIS_HANDLE MiniportAdapterContext, NDIS_OID Oid,
                        PVOID InformationBuffer, ULONG InformationBufferLength,
                        PULONG BytesRead, PULONG BytesNeeded);
NDIS_STATUS LegacyMpReset(PBOOLEAN AddressingReset, NDIS_HANDLE MiniportAdapterContext);
BOOLEAN LegacyMpCheckForHang(NDIS_HANDLE MiniportAdapterContext);
VOID LegacyMpReturnPacket(NDIS_HANDLE MiniportAdapterContext, PNDIS_PACKET Packet);
VOID LegacyMpSendPackets(NDIS_HANDLE MiniportAdapterContext, PPNDIS_PACKET PacketArray,
                         UINT NumberOfPackets);
VOID LegacyMpCoSendPackets(NDIS_HANDLE MiniportVcContext, PPNDIS_PACKET PacketArray,
                           UINT NumberOfPackets);
NDIS_STATUS LegacyMpCoRequest(NDIS_HANDLE MiniportAdapterContext,
                              NDIS_HANDLE MiniportVcContext, PNDIS_REQUEST NdisRequest);
VOID LegacyMpShutdown(PVOID ShutdownContext);
MINIPORT_CO_CREATE_VC LegacyMpCoCreateVc;
MINIPORT_CO_DELETE_VC LegacyMpCoDeleteVc;
MINIPORT_CO_ACTIVATE_VC LegacyMpCoActivateVc;
MINIPORT_CO_DEACTIVATE_VC LegacyMpCoDeactivateVc;
#if LEGACY_HAVE_51_MINIPORT
VOID LegacyMpCancelSendPackets(NDIS_HANDLE MiniportAdapterContext, PVOID CancelId);
VOID LegacyMpPnPEventNotify(NDIS_HANDLE MiniportAdapterContext,
                            NDIS_DEVICE_PNP_EVENT DevicePnPEvent, PVOID InformationBuffer,
                            ULONG InformationBufferLength);
VOID LegacyMpAdapterShutdown(NDIS_HANDLE MiniportAdapterContext);
#endif

NDIS_STATUS LegacyMpInitialize(PNDIS_STATUS OpenErrorStatus, PUINT SelectedMediumIndex,
                               PNDIS_MEDIUM MediumArray, UINT MediumArraySize,
                               NDIS_HANDLE MiniportAdapterContext,
                               NDIS_HANDLE WrapperConfigurationContext)
{
    NDIS_STATUS status;
    NDIS_HANDLE config;
    CO_ADDRESS_FAMILY af = { CO_ADDRESS_FAMILY_PPP, 5, 0 };
    NDIS_CALL_MANAGER_CHARACTERISTICS cm;

    *OpenErrorStatus = NDIS_STATUS_SUCCESS;
    for (UINT i = 0; i < MediumArraySize; i++)
        if (MediumArray[i] == NdisMediumCoWan)
            *SelectedMediumIndex = i;
    LegacyAdapterHandle = MiniportAdapterContext;
    NdisOpenConfiguration(&status, &config, WrapperConfigurationContext);
    NdisMSetAttributesEx(LegacyAdapterHandle, &LegacyAdapterHandle, 0,
                         NDIS_ATTRIBUTE_DESERIALIZE | NDIS_ATTRIBUTE_NO_HALT_ON_SUSPEND,
                         NdisInterfaceInternal);
    NdisMRegisterAdapterShutdownHandler(LegacyAdapterHandle, NULL, LegacyMpShutdown);
    NdisZeroMemory(&cm, sizeof(cm));
    cm.CmOpenAfHandler = LegacyCmOpenAf;
    return NdisMCmRegisterAddressFamily(LegacyAdapterHandle, &af, &cm, sizeof(cm));
}

VOID LegacyMpHalt(NDIS_HANDLE MiniportAdapterContext)
{
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    NdisMDeregisterAdapterShutdownHandler(LegacyAdapterHandle);
}

NDIS_STATUS LegacyMpQuery(NDIS_HANDLE MiniportAdapterContext, NDIS_OID Oid,
                          PVOID InformationBuffer, ULONG InformationBufferLength,
                          PULONG BytesWritten, PULONG BytesNeeded)
{
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(Oid);
    UNREFERENCED_PARAMETER(InformationBuffer);
    UNREFERENCED_PARAMETER(InformationBufferLength);
    *BytesWritten = 0;
    *BytesNeeded = 0;
    return NDIS_STATUS_INVALID_OID;
}

NDIS_STATUS LegacyMpSet(NDIS_HANDLE MiniportAdapterContext, NDIS_OID Oid,
                        PVOID InformationBuffer, ULONG InformationBufferLength,
                        PULONG BytesRead, PULONG BytesNeeded)
{
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(Oid);
    UNREFERENCED_PARAMETER(InformationBuffer);
    UNREFERENCED_PARAMETER(InformationBufferLength);
    *BytesRead = 0;
    *BytesNeeded = 0;
    return NDIS_STATUS_INVALID_OID;
}

NDIS_STATUS LegacyMpReset(PBOOLEAN AddressingReset, NDIS_HANDLE MiniportAdapterContext)
{
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    *AddressingReset = FALSE;
    return NDIS_STATUS_SUCCESS;
}

BOOLEAN LegacyMpCheckForHang(NDIS_HANDLE MiniportAdapterContext)
{
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    return FALSE;
}

VOID LegacyMpReturnPacket(NDIS_HANDLE MiniportAdapterContext, PNDIS_PACKET Packet)
{
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    NdisFreePacket(Packet);
}

VOID LegacyMpSendPackets(NDIS_HANDLE MiniportAdapterContext, PPNDIS_PACKET PacketArray,
                         UINT NumberOfPackets)
{
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(PacketArray);
    UNREFERENCED_PARAMETER(NumberOfPackets);
}

VOID LegacyMpCoSendPackets(NDIS_HANDLE MiniportVcContext, PPNDIS_PACKET PacketArray,
                           UINT NumberOfPackets)
{
    NDIS_HANDLE vc = MiniportVcContext;

    /* Loop every packet back as a receive, then complete the send. */
    for (UINT i = 0; i < NumberOfPackets; i++)
        NDIS_SET_PACKET_STATUS(PacketArray[i], NDIS_STATUS_RESOURCES);
    NdisMCoIndicateReceivePacket(vc, PacketArray, NumberOfPackets);
    NdisMCoReceiveComplete(LegacyAdapterHandle);
    for (UINT i = 0; i < NumberOfPackets; i++)
        NdisMCoSendComplete(NDIS_STATUS_SUCCESS, vc, PacketArray[i]);
    NdisMCoIndicateStatus(LegacyAdapterHandle, vc, NDIS_STATUS_MEDIA_CONNECT, NULL, 0);
}

NDIS_STATUS LegacyMpCoRequest(NDIS_HANDLE MiniportAdapterContext,
                              NDIS_HANDLE MiniportVcContext, PNDIS_REQUEST NdisRequest)
{
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(MiniportVcContext);
    NdisMCoRequestComplete(NDIS_STATUS_SUCCESS, LegacyAdapterHandle, NdisRequest);
    (void)NdisMCmRequest(LegacyAfHandle, NULL, NULL, NdisRequest);
    NdisMCmRequestComplete(NDIS_STATUS_SUCCESS, LegacyAfHandle, NULL, NULL, NdisRequest);
    return NDIS_STATUS_PENDING;
}

VOID LegacyMpShutdown(PVOID ShutdownContext)
{
    UNREFERENCED_PARAMETER(ShutdownContext);
}

NDIS_STATUS LegacyMpCoCreateVc(NDIS_HANDLE MiniportAdapterContext, NDIS_HANDLE NdisVcHandle,
                               PNDIS_HANDLE MiniportVcContext)
{
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    *MiniportVcContext = NdisVcHandle;
    return NDIS_STATUS_SUCCESS;
}

NDIS_STATUS LegacyMpCoDeleteVc(NDIS_HANDLE MiniportVcContext)
{
    UNREFERENCED_PARAMETER(MiniportVcContext);
    return NDIS_STATUS_SUCCESS;
}

NDIS_STATUS LegacyMpCoActivateVc(NDIS_HANDLE MiniportVcContext,
                                 PCO_CALL_PARAMETERS CallParameters)
{
    NdisMCoActivateVcComplete(NDIS_STATUS_SUCCESS, MiniportVcContext, CallParameters);
    return NDIS_STATUS_PENDING;
}

NDIS_STATUS LegacyMpCoDeactivateVc(NDIS_HANDLE MiniportVcContext)
{
    NdisMCoDeactivateVcComplete(NDIS_STATUS_SUCCESS, MiniportVcContext);
    return NDIS_STATUS_PENDING;
}

#if LEGACY_HAVE_51_MINIPORT
VOID LegacyMpCancelSendPackets(NDIS_HANDLE MiniportAdapterContext, PVOID CancelId)
{
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(CancelId);
}

VOID LegacyMpPnPEventNotify(NDIS_HANDLE MiniportAdapterContext,
                            NDIS_DEVICE_PNP_EVENT DevicePnPEvent, PVOID InformationBuffer,
                            ULONG InformationBufferLength)
{
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(DevicePnPEvent);
    UNREFERENCED_PARAMETER(InformationBuffer);
    UNREFERENCED_PARAMETER(InformationBufferLength);
}

VOID LegacyMpAdapterShutdown(NDIS_HANDLE MiniportAdapterContext)
{
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
}
#endif

DRIVER_INITIALIZE LegacyMiniportEntry;
DRIVER_UNLOAD LegacyMiniportUnload;

VOID LegacyMiniportUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
}

NTSTATUS LegacyMiniportEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NDIS_MINIPORT_CHARACTERISTICS mc;
    NDIS_STATUS status;

    NdisMInitializeWrapper(&LegacyWrapperHandle, DriverObject, RegistryPath, NULL);
    if (LegacyWrapperHandle == NULL)
        return NDIS_STATUS_FAILURE;

    NdisZeroMemory(&mc, sizeof(mc));
    mc.MajorNdisVersion = NDIS_MINIPORT_MAJOR_VERSION;
    mc.MinorNdisVersion = NDIS_MINIPORT_MINOR_VERSION;
    mc.InitializeHandler = LegacyMpInitialize;
    mc.HaltHandler = LegacyMpHalt;
    mc.QueryInformationHandler = LegacyMpQuery;
    mc.SetInformationHandler = LegacyMpSet;
    mc.ResetHandler = LegacyMpReset;
    mc.CheckForHangHandler = LegacyMpCheckForHang;
    mc.ReturnPacketHandler = LegacyMpReturnPacket;
    mc.SendPacketsHandler = LegacyMpSendPackets;
    mc.CoCreateVcHandler = LegacyMpCoCreateVc;
    mc.CoDeleteVcHandler = LegacyMpCoDeleteVc;
    mc.CoActivateVcHandler = LegacyMpCoActivateVc;
    mc.CoDeactivateVcHandler = LegacyMpCoDeactivateVc;
    mc.CoSendPacketsHandler = LegacyMpCoSendPackets;
    mc.CoRequestHandler = LegacyMpCoRequest;
#if LEGACY_HAVE_51_MINIPORT
    mc.CancelSendPacketsHandler = LegacyMpCancelSendPackets;
    mc.PnPEventNotifyHandler = LegacyMpPnPEventNotify;
    mc.AdapterShutdownHandler = LegacyMpAdapterShutdown;
#endif

    status = NdisMRegisterMiniport(LegacyWrapperHandle, &mc, sizeof(mc));
    if (status != NDIS_STATUS_SUCCESS) {
        NdisTerminateWrapper(LegacyWrapperHandle, NULL);
        return (NTSTATUS)status;
    }
    NdisMRegisterUnloadHandler(LegacyWrapperHandle, LegacyMiniportUnload);
    NdisMSetAttributes(LegacyAdapterHandle, NULL, FALSE, NdisInterfacePci);
#if defined(NDIS_WRAPPER)
    UNREFERENCED_PARAMETER(LegacyNdis6Chars);
    UNREFERENCED_PARAMETER(LegacyNdis6CoChars);
#endif
    return NDIS_STATUS_SUCCESS;
}
