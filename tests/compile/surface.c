/*
 * surface.c - driver-style source that must compile warning-free against
 * include/ndis.h with gcc and clang in plain C11 (the tests compile it with
 * -Werror). It touches the parts of the surface drivers lean on: role
 * typedefs, lvalue accessor macros, strings, lists, configuration and the
 * CoNDIS structures. It is compiled, not run.
 */
#include <ndis.h>

PROTOCOL_CO_SEND_NET_BUFFER_LISTS_COMPLETE SurfCoSendComplete;
PROTOCOL_CO_RECEIVE_NET_BUFFER_LISTS SurfCoReceive;
PROTOCOL_CL_MAKE_CALL_COMPLETE SurfMakeCallComplete;
PROTOCOL_BIND_ADAPTER_EX SurfBind;
MINIPORT_CO_SEND_NET_BUFFER_LISTS SurfMiniportSend;
DRIVER_INITIALIZE SurfDriverEntry;
DRIVER_UNLOAD SurfUnload;
NDIS_IO_WORKITEM_FUNCTION SurfWork;
NDIS_TIMER_FUNCTION SurfTimer;

static NDIS_STRING SurfName = NDIS_STRING_CONST("surf");
static LIST_ENTRY SurfList;
static NDIS_SPIN_LOCK SurfLock;

static FORCEINLINE ULONG SurfLength(PNET_BUFFER_LIST Nbl)
{
    ULONG n = 0;
    for (PNET_BUFFER nb = NET_BUFFER_LIST_FIRST_NB(Nbl); nb; nb = NET_BUFFER_NEXT_NB(nb))
        n += NET_BUFFER_DATA_LENGTH(nb);
    return n;
}

_Use_decl_annotations_
VOID SurfCoSendComplete(NDIS_HANDLE ProtocolVcContext, PNET_BUFFER_LIST NetBufferLists,
                        ULONG SendCompleteFlags)
{
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    BOOLEAN dispatch = NDIS_TEST_SEND_COMPLETE_AT_DISPATCH_LEVEL(SendCompleteFlags);
    for (PNET_BUFFER_LIST nbl = NetBufferLists; nbl; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
        if (NET_BUFFER_LIST_STATUS(nbl) != NDIS_STATUS_SUCCESS && dispatch)
            DbgPrint("failed %wZ %u\n", &SurfName, SurfLength(nbl));
        nbl->FirstNetBuffer->DataLength = nbl->FirstNetBuffer->DataLength;
    }
}

_Use_decl_annotations_
VOID SurfCoReceive(NDIS_HANDLE ProtocolBindingContext, NDIS_HANDLE ProtocolVcContext,
                   PNET_BUFFER_LIST NetBufferLists, ULONG NumberOfNetBufferLists,
                   ULONG ReceiveFlags)
{
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(NumberOfNetBufferLists);
    if (!NDIS_TEST_RECEIVE_CANNOT_PEND(ReceiveFlags))
        NdisReturnNetBufferLists(ProtocolBindingContext, NetBufferLists,
                                 NDIS_TEST_RECEIVE_AT_DISPATCH_LEVEL(ReceiveFlags)
                                     ? NDIS_RETURN_FLAGS_DISPATCH_LEVEL : 0);
}

_Use_decl_annotations_
VOID SurfMakeCallComplete(NDIS_STATUS Status, NDIS_HANDLE ProtocolVcContext,
                          NDIS_HANDLE NdisPartyHandle, PCO_CALL_PARAMETERS CallParameters)
{
    UNREFERENCED_PARAMETER(Status);
    UNREFERENCED_PARAMETER(ProtocolVcContext);
    UNREFERENCED_PARAMETER(NdisPartyHandle);
    if (CallParameters->Flags & CALL_PARAMETERS_CHANGED)
        CallParameters->CallMgrParameters->Transmit.MaxSduSize = 1500;
    CallParameters->MediaParameters->Flags |= TRANSMIT_VC | RECEIVE_VC;
}

_Use_decl_annotations_
NDIS_STATUS SurfBind(NDIS_HANDLE ProtocolDriverContext, NDIS_HANDLE BindContext,
                     PNDIS_BIND_PARAMETERS BindParameters)
{
    NDIS_MEDIUM media[] = { NdisMediumCoWan };
    UINT selected = 0;
    NDIS_HANDLE binding = NULL;
    NDIS_OPEN_PARAMETERS op;
    NdisZeroMemory(&op, sizeof(op));
    op.Header.Type = NDIS_OBJECT_TYPE_OPEN_PARAMETERS;
    op.Header.Revision = NDIS_OPEN_PARAMETERS_REVISION_1;
    op.Header.Size = NDIS_SIZEOF_OPEN_PARAMETERS_REVISION_1;
    op.AdapterName = BindParameters->AdapterName;
    op.MediumArray = media;
    op.MediumArraySize = sizeof(media) / sizeof(media[0]);
    op.SelectedMediumIndex = &selected;
    return NdisOpenAdapterEx(ProtocolDriverContext, NULL, &op, BindContext, &binding);
}

_Use_decl_annotations_
VOID SurfMiniportSend(NDIS_HANDLE MiniportVcContext, PNET_BUFFER_LIST NetBufferLists,
                      ULONG SendFlags)
{
    for (PNET_BUFFER_LIST nbl = NetBufferLists; nbl; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
        NET_BUFFER_LIST_STATUS(nbl) = NDIS_STATUS_SUCCESS;
        NET_BUFFER_LIST_MINIPORT_RESERVED(nbl)[0] = MiniportVcContext;
        NET_BUFFER_LIST_INFO(nbl, Ieee8021QNetBufferListInfo) = NULL;
    }
    NdisMCoSendNetBufferListsComplete(MiniportVcContext, NetBufferLists,
                                      NDIS_TEST_SEND_AT_DISPATCH_LEVEL(SendFlags)
                                          ? NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL : 0);
}

_Use_decl_annotations_
VOID SurfWork(PVOID WorkItemContext, NDIS_HANDLE NdisIoWorkItemHandle)
{
    UNREFERENCED_PARAMETER(WorkItemContext);
    NdisFreeIoWorkItem(NdisIoWorkItemHandle);
}

_Use_decl_annotations_
VOID SurfTimer(PVOID SystemSpecific1, PVOID FunctionContext, PVOID SystemSpecific2,
               PVOID SystemSpecific3)
{
    UNREFERENCED_PARAMETER(SystemSpecific1);
    UNREFERENCED_PARAMETER(FunctionContext);
    UNREFERENCED_PARAMETER(SystemSpecific2);
    UNREFERENCED_PARAMETER(SystemSpecific3);
    NdisDprAcquireSpinLock(&SurfLock);
    NdisDprReleaseSpinLock(&SurfLock);
}

_Use_decl_annotations_
VOID SurfUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    NdisFreeSpinLock(&SurfLock);
}

_Use_decl_annotations_
NTSTATUS SurfDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NDIS_STRING keyword;
    NDIS_CONFIGURATION_OBJECT co;
    NDIS_HANDLE config = NULL;
    PNDIS_CONFIGURATION_PARAMETER value = NULL;
    NDIS_STATUS status;
    UNREFERENCED_PARAMETER(RegistryPath);

    InitializeListHead(&SurfList);
    NdisAllocateSpinLock(&SurfLock);
    NdisInitUnicodeString(&keyword, L"SurfCount");
    NdisZeroMemory(&co, sizeof(co));
    co.Header.Type = NDIS_OBJECT_TYPE_CONFIGURATION_OBJECT;
    co.Header.Revision = NDIS_CONFIGURATION_OBJECT_REVISION_1;
    co.Header.Size = NDIS_SIZEOF_CONFIGURATION_OBJECT_REVISION_1;
    co.NdisHandle = NULL;
    if (NdisOpenConfigurationEx(&co, &config) == NDIS_STATUS_SUCCESS) {
        NdisReadConfiguration(&status, &value, config, &keyword, NdisParameterInteger);
        if (status == NDIS_STATUS_SUCCESS && value->ParameterData.IntegerData > 3)
            DbgPrint("count %u\n", value->ParameterData.IntegerData);
        NdisCloseConfiguration(config);
    }
    DriverObject->DriverUnload = SurfUnload;
    return IsListEmpty(&SurfList) ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL;
}
