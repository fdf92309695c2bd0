/*
 * mcmlib.c - the shared part of condis' built-in miniport call managers
 * (see mcmlib.h). Written only against <ndis.h>, like the drivers; the
 * contract of each function is at its declaration in mcmlib.h.
 */
#define NDIS60_MINIPORT 1
#include <ndis.h>

#include "mcmlib.h"

/* NdisMediaStateConnected, the first value of NDIS_MEDIA_STATE. */
#define MCMLIB_MEDIA_STATE_CONNECTED 0UL

/* What McmLibQueryOid answers; also reported in the general attributes.
 * Not const only because NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES takes a
 * PNDIS_OID; nothing writes it. */
static NDIS_OID McmLibSupportedOids[] = {
    OID_GEN_CO_SUPPORTED_LIST,
    OID_GEN_CO_MEDIA_SUPPORTED,
    OID_GEN_CO_MEDIA_IN_USE,
    OID_GEN_CO_LINK_SPEED,
    OID_GEN_CO_MEDIA_CONNECT_STATUS,
};

/* ---- small helpers ---------------------------------------------------------- */

BOOLEAN McmLibLock(PNDIS_SPIN_LOCK Lock)
{
    if (KeGetCurrentIrql() == DISPATCH_LEVEL) {
        NdisDprAcquireSpinLock(Lock);
        return TRUE;
    }
    NdisAcquireSpinLock(Lock);
    return FALSE;
}

VOID McmLibUnlock(PNDIS_SPIN_LOCK Lock, BOOLEAN Dpr)
{
    if (Dpr)
        NdisDprReleaseSpinLock(Lock);
    else
        NdisReleaseSpinLock(Lock);
}

ULONG McmLibSendCompleteFlags(VOID)
{
    return KeGetCurrentIrql() == DISPATCH_LEVEL ? NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL : 0;
}

PVOID McmLibAllocateZeroed(NDIS_HANDLE Handle, SIZE_T Size, ULONG Tag)
{
    if (Size > 0xFFFFFFFFUL)
        return NULL;
    PVOID p = NdisAllocateMemoryWithTagPriority(Handle, (UINT)Size, Tag, NormalPoolPriority);
    if (p != NULL)
        NdisZeroMemory(p, Size);
    return p;
}

VOID McmLibRefuseSends(NDIS_HANDLE NdisVcHandle, PNET_BUFFER_LIST Chain, NDIS_STATUS Status)
{
    for (PNET_BUFFER_LIST nbl = Chain; nbl != NULL; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl))
        NET_BUFFER_LIST_STATUS(nbl) = Status;
    NdisMCoSendNetBufferListsComplete(NdisVcHandle, Chain, McmLibSendCompleteFlags());
}

/* ---- call parameters ------------------------------------------------------------ */

NDIS_STATUS McmLibCheckCallParameters(PCO_CALL_PARAMETERS CallParameters,
                                      PMCMLIB_CALL_LIMITS Limits)
{
    if (CallParameters == NULL || CallParameters->CallMgrParameters == NULL ||
        CallParameters->MediaParameters == NULL)
        return NDIS_STATUS_NOT_SUPPORTED;
    if (CallParameters->Flags & (PERMANENT_VC | BROADCAST_VC | MULTIPOINT_VC))
        return NDIS_STATUS_NOT_SUPPORTED;

    PCO_CALL_MANAGER_PARAMETERS cm = CallParameters->CallMgrParameters;
    PCO_MEDIA_PARAMETERS media = CallParameters->MediaParameters;
    if (cm->CallMgrSpecific.Length != 0 || media->MediaSpecific.Length != 0)
        return NDIS_STATUS_INVALID_DATA;
    if ((media->Flags & (TRANSMIT_VC | RECEIVE_VC)) != (TRANSMIT_VC | RECEIVE_VC))
        return NDIS_STATUS_INVALID_DATA;
    Limits->MaxSduSize = cm->Transmit.MaxSduSize;
    Limits->PeakBandwidth =
        cm->Transmit.PeakBandwidth == QOS_NOT_SPECIFIED ? 0 : cm->Transmit.PeakBandwidth;
    return NDIS_STATUS_SUCCESS;
}

/* ---- OID requests and adapter attributes ------------------------------------------ */

NDIS_STATUS McmLibQueryOid(PNDIS_OID_REQUEST Request, NDIS_MEDIUM Medium, ULONG64 LinkSpeed)
{
    if (Request->RequestType != NdisRequestQueryInformation &&
        Request->RequestType != NdisRequestQueryStatistics)
        return NDIS_STATUS_NOT_SUPPORTED;

    union {
        NDIS_MEDIUM Medium;
        NDIS_CO_LINK_SPEED Speed;
        ULONG State;
    } answer;
    const VOID *data = &answer;
    ULONG length;
    switch (Request->DATA.QUERY_INFORMATION.Oid) {
    case OID_GEN_CO_SUPPORTED_LIST:
        data = McmLibSupportedOids;
        length = sizeof(McmLibSupportedOids);
        break;
    case OID_GEN_CO_MEDIA_SUPPORTED:
    case OID_GEN_CO_MEDIA_IN_USE:
        answer.Medium = Medium;
        length = sizeof(answer.Medium);
        break;
    case OID_GEN_CO_LINK_SPEED:
        /* In units of 100 bit/s, each way. */
        answer.Speed.Outbound = answer.Speed.Inbound = (ULONG)(LinkSpeed / 100);
        length = sizeof(answer.Speed);
        break;
    case OID_GEN_CO_MEDIA_CONNECT_STATUS:
        answer.State = MCMLIB_MEDIA_STATE_CONNECTED;
        length = sizeof(answer.State);
        break;
    default:
        return NDIS_STATUS_NOT_SUPPORTED;
    }

    if (Request->DATA.QUERY_INFORMATION.InformationBufferLength < length) {
        Request->DATA.QUERY_INFORMATION.BytesWritten = 0;
        Request->DATA.QUERY_INFORMATION.BytesNeeded = length;
        return NDIS_STATUS_BUFFER_TOO_SHORT;
    }
    NdisMoveMemory(Request->DATA.QUERY_INFORMATION.InformationBuffer, data, length);
    Request->DATA.QUERY_INFORMATION.BytesWritten = length;
    Request->DATA.QUERY_INFORMATION.BytesNeeded = 0;
    return NDIS_STATUS_SUCCESS;
}

NDIS_STATUS McmLibSetCoWanAttributes(NDIS_HANDLE MiniportAdapterHandle,
                                     NDIS_HANDLE MiniportAdapterContext, ULONG MtuSize,
                                     ULONG64 LinkSpeed, NET_IFTYPE IfType)
{
    /* Registration first: it names the context of every later call. */
    NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES registration;
    NdisZeroMemory(&registration, sizeof(registration));
    registration.Header.Type = NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES;
    registration.Header.Revision = NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1;
    registration.Header.Size = NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1;
    registration.MiniportAdapterContext = MiniportAdapterContext;
    /* A virtual adapter: no hardware that could vanish under it, and no
     * hang to check for. NOT_CO_NDIS stays clear: the adapter is CoNDIS. */
    registration.AttributeFlags = NDIS_MINIPORT_ATTRIBUTES_SURPRISE_REMOVE_OK;
    registration.CheckForHangTimeInSeconds = 0;
    registration.InterfaceType = NdisInterfaceInternal;
    NDIS_STATUS status = NdisMSetMiniportAttributes(
        MiniportAdapterHandle, (PNDIS_MINIPORT_ADAPTER_ATTRIBUTES)&registration);
    if (status != NDIS_STATUS_SUCCESS)
        return status;

    NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES general;
    NdisZeroMemory(&general, sizeof(general));
    general.Header.Type = NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES;
    general.Header.Revision = NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1;
    general.Header.Size = NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1;
    general.MediaType = NdisMediumCoWan;
    general.PhysicalMediumType = NdisPhysicalMediumUnspecified;
    general.MtuSize = MtuSize;
    general.MaxXmitLinkSpeed = general.XmitLinkSpeed = LinkSpeed;
    general.MaxRcvLinkSpeed = general.RcvLinkSpeed = LinkSpeed;
    general.MediaConnectState = MediaConnectStateConnected; /* nothing to unplug */
    general.MediaDuplexState = MediaDuplexStateFull;
    general.LookaheadSize = 0;      /* connectionless lookahead: not used on CoNDIS */
    general.MacOptions = 0;
    general.SupportedPacketFilters = 0;
    general.MaxMulticastListSize = 0;
    general.MacAddressLength = 0;   /* VCs, not MAC addresses, name the far end */
    general.AccessType = NET_IF_ACCESS_POINT_TO_POINT;
    general.DirectionType = NET_IF_DIRECTION_SENDRECEIVE;
    general.ConnectionType = NET_IF_CONNECTION_DEDICATED;
    general.IfType = IfType;
    general.IfConnectorPresent = FALSE; /* no physical connector */
    general.SupportedStatistics = 0;
    general.SupportedPauseFunctions = NdisPauseFunctionsUnsupported;
    general.DataBackFillSize = 0;
    general.ContextBackFillSize = 0;
    general.SupportedOidList = McmLibSupportedOids;
    general.SupportedOidListLength = sizeof(McmLibSupportedOids);
    general.AutoNegotiationFlags = 0;
    return NdisMSetMiniportAttributes(MiniportAdapterHandle,
                                      (PNDIS_MINIPORT_ADAPTER_ATTRIBUTES)&general);
}

/* ---- parameters ---------------------------------------------------------------------- */

NDIS_STATUS McmLibOpenConfiguration(NDIS_HANDLE MiniportAdapterHandle,
                                    PNDIS_HANDLE Configuration)
{
    NDIS_CONFIGURATION_OBJECT object;
    NdisZeroMemory(&object, sizeof(object));
    object.Header.Type = NDIS_OBJECT_TYPE_CONFIGURATION_OBJECT;
    object.Header.Revision = NDIS_CONFIGURATION_OBJECT_REVISION_1;
    object.Header.Size = NDIS_SIZEOF_CONFIGURATION_OBJECT_REVISION_1;
    object.NdisHandle = MiniportAdapterHandle;
    object.Flags = 0;
    *Configuration = NULL;
    return NdisOpenConfigurationEx(&object, Configuration);
}

ULONG McmLibReadUlong(NDIS_HANDLE Configuration, PCWSTR Name, ULONG Default, ULONG Min, ULONG Max,
                      const char *Driver)
{
    NDIS_STRING keyword;
    NdisInitUnicodeString(&keyword, Name);
    NDIS_STATUS status;
    PNDIS_CONFIGURATION_PARAMETER value = NULL;
    NdisReadConfiguration(&status, &value, Configuration, &keyword, NdisParameterInteger);
    if (status != NDIS_STATUS_SUCCESS || value == NULL) {
        /* Missing, or there but not a number: the string form tells which. */
        NdisReadConfiguration(&status, &value, Configuration, &keyword, NdisParameterString);
        if (status == NDIS_STATUS_SUCCESS && value != NULL)
            DbgPrint("%wZ=%wZ is not a number (decimal, or hex with 0x); %s keeps %lu",
                     &keyword, &value->ParameterData.StringData, Driver, Default);
        return Default;
    }
    ULONG v = value->ParameterData.IntegerData;
    if (v < Min || v > Max) {
        DbgPrint("%wZ=%lu is out of range (%lu..%lu); %s keeps %lu", &keyword, v, Min, Max,
                 Driver, Default);
        return Default;
    }
    return v;
}

/* ---- what a point-to-point MCM does not offer --------------------------------------- */

NDIS_STATUS McmLibCmRegisterSap(NDIS_HANDLE CallMgrAfContext, PCO_SAP Sap,
                                NDIS_HANDLE NdisSapHandle, PNDIS_HANDLE CallMgrSapContext)
{
    UNREFERENCED_PARAMETER(CallMgrAfContext);
    UNREFERENCED_PARAMETER(Sap);
    UNREFERENCED_PARAMETER(NdisSapHandle);
    UNREFERENCED_PARAMETER(CallMgrSapContext);
    return NDIS_STATUS_NOT_SUPPORTED;
}

NDIS_STATUS McmLibCmDeregisterSap(NDIS_HANDLE CallMgrSapContext)
{
    UNREFERENCED_PARAMETER(CallMgrSapContext);
    return NDIS_STATUS_NOT_SUPPORTED;
}

VOID McmLibCmIncomingCallComplete(NDIS_STATUS Status, NDIS_HANDLE CallMgrVcContext,
                                  PCO_CALL_PARAMETERS CallParameters)
{
    UNREFERENCED_PARAMETER(Status);
    UNREFERENCED_PARAMETER(CallMgrVcContext);
    UNREFERENCED_PARAMETER(CallParameters);
}

NDIS_STATUS McmLibCmAddParty(NDIS_HANDLE CallMgrVcContext, PCO_CALL_PARAMETERS CallParameters,
                             NDIS_HANDLE NdisPartyHandle, PNDIS_HANDLE CallMgrPartyContext)
{
    UNREFERENCED_PARAMETER(CallMgrVcContext);
    UNREFERENCED_PARAMETER(CallParameters);
    UNREFERENCED_PARAMETER(NdisPartyHandle);
    UNREFERENCED_PARAMETER(CallMgrPartyContext);
    return NDIS_STATUS_NOT_SUPPORTED;
}

NDIS_STATUS McmLibCmDropParty(NDIS_HANDLE CallMgrPartyContext, PVOID CloseData, UINT Size)
{
    UNREFERENCED_PARAMETER(CallMgrPartyContext);
    UNREFERENCED_PARAMETER(CloseData);
    UNREFERENCED_PARAMETER(Size);
    return NDIS_STATUS_NOT_SUPPORTED;
}

VOID McmLibCmActivateVcComplete(NDIS_STATUS Status, NDIS_HANDLE CallMgrVcContext,
                                PCO_CALL_PARAMETERS CallParameters)
{
    UNREFERENCED_PARAMETER(Status);
    UNREFERENCED_PARAMETER(CallMgrVcContext);
    UNREFERENCED_PARAMETER(CallParameters);
}

VOID McmLibCmDeactivateVcComplete(NDIS_STATUS Status, NDIS_HANDLE CallMgrVcContext)
{
    UNREFERENCED_PARAMETER(Status);
    UNREFERENCED_PARAMETER(CallMgrVcContext);
}

NDIS_STATUS McmLibCmModifyCallQoS(NDIS_HANDLE CallMgrVcContext, PCO_CALL_PARAMETERS CallParameters)
{
    UNREFERENCED_PARAMETER(CallMgrVcContext);
    UNREFERENCED_PARAMETER(CallParameters);
    return NDIS_STATUS_NOT_SUPPORTED;
}

NDIS_STATUS McmLibCmOidRequest(NDIS_HANDLE ProtocolAfContext, NDIS_HANDLE ProtocolVcContext,
                               NDIS_HANDLE ProtocolPartyContext, PNDIS_OID_REQUEST OidRequest)
{
    UNREFERENCED_PARAMETER(ProtocolAfContext);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    UNREFERENCED_PARAMETER(OidRequest);
    return NDIS_STATUS_NOT_SUPPORTED;
}

VOID McmLibCmOidRequestComplete(NDIS_HANDLE ProtocolAfContext, NDIS_HANDLE ProtocolVcContext,
                                NDIS_HANDLE ProtocolPartyContext, PNDIS_OID_REQUEST OidRequest,
                                NDIS_STATUS Status)
{
    UNREFERENCED_PARAMETER(ProtocolAfContext);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(ProtocolPartyContext);
    UNREFERENCED_PARAMETER(OidRequest);
    UNREFERENCED_PARAMETER(Status);
}

VOID McmLibInitCallManagerHandlers(PNDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS Cm)
{
    NdisZeroMemory(Cm, sizeof(*Cm));
    Cm->Header.Type = NDIS_OBJECT_TYPE_CO_CALL_MANAGER_OPTIONAL_HANDLERS;
    Cm->Header.Revision = NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS_REVISION_1;
    Cm->Header.Size = NDIS_SIZEOF_CO_CALL_MANAGER_OPTIONAL_HANDLERS_REVISION_1;
    Cm->CmRegisterSapHandler = McmLibCmRegisterSap;
    Cm->CmDeregisterSapHandler = McmLibCmDeregisterSap;
    Cm->CmIncomingCallCompleteHandler = McmLibCmIncomingCallComplete;
    Cm->CmAddPartyHandler = McmLibCmAddParty;
    Cm->CmDropPartyHandler = McmLibCmDropParty;
    Cm->CmActivateVcCompleteHandler = McmLibCmActivateVcComplete;
    Cm->CmDeactivateVcCompleteHandler = McmLibCmDeactivateVcComplete;
    Cm->CmModifyCallQoSHandler = McmLibCmModifyCallQoS;
    /* Not MiniportCoOidRequest: NDIS wants a handler of the call manager's
     * own for requests on the family. */
    Cm->CmOidRequestHandler = McmLibCmOidRequest;
    Cm->CmOidRequestCompleteHandler = McmLibCmOidRequestComplete;
}

/* ---- miniport handlers with nothing to do for a virtual adapter ---------------------- */

NDIS_STATUS McmLibCoDeactivateVc(NDIS_HANDLE MiniportVcContext)
{
    UNREFERENCED_PARAMETER(MiniportVcContext);
    return NDIS_STATUS_SUCCESS;
}

VOID McmLibCancelOidRequest(NDIS_HANDLE MiniportAdapterContext, PVOID RequestId)
{
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(RequestId);
}

VOID McmLibDevicePnPEventNotify(NDIS_HANDLE MiniportAdapterContext,
                                PNET_DEVICE_PNP_EVENT NetDevicePnPEvent)
{
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(NetDevicePnPEvent);
}

VOID McmLibShutdownEx(NDIS_HANDLE MiniportAdapterContext, NDIS_SHUTDOWN_ACTION ShutdownAction)
{
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(ShutdownAction);
}
